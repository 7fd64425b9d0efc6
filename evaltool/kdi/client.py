"""One HTTPS exchange with a KME, bounded in time, classified and never raising.

Every exchange opens its own TLS connection (``http.client`` over ``ssl``): the certificate the
client presents and the TLS versions it offers differ between steps of the probe's plan. Each
socket operation (connect, handshake, send, receive) times out after ``timeout_s``; responses are
read up to :data:`MAX_RESPONSE_BYTES`.
"""

from __future__ import annotations

import http.client
import ssl
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class Result:
    """What came back: a response (``status``, raw ``body``) or why not (``outcome``, ``error``)."""

    outcome: str
    """``response``, ``tls-refused``, ``connection-closed``, ``connection-error``, ``timeout``,
    ``server-cert-invalid`` (the KME's certificate does not verify against the CA given) or
    ``client-unsupported`` (this client's TLS library cannot offer what the step needs)."""
    elapsed_s: float
    status: int | None = None
    body: bytes | None = None
    error: str | None = None


def client_context(ca: Path, cert: tuple[Path, Path] | None, *,
                   legacy: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context trusting ``ca``, presenting ``cert`` (certificate, key) if given.

    ``legacy`` restricts the context to that one old TLS version (1.0 or 1.1), to see whether the
    KME refuses it; ``ssl.SSLError`` or ``OSError`` when the files do not load.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ca)
    if cert is not None:
        ctx.load_cert_chain(cert[0], cert[1])
    if legacy is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = legacy
            ctx.maximum_version = legacy
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _classify_ssl(exc: ssl.SSLError) -> str:
    reason = (exc.reason or "").upper()
    if reason in ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"):
        return "client-unsupported"
    return "tls-refused"


def exchange(url: str, ctx: ssl.SSLContext, method: str, path: str, body: bytes | None,
             timeout_s: float) -> Result:
    """Send one request and read its response; every failure is a classified :class:`Result`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    headers = {"Accept": "application/json", "Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    t0 = time.perf_counter()
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout_s)

    def done(outcome: str, error: str, **kw: Any) -> Result:
        return Result(outcome, time.perf_counter() - t0, error=error[:300], **kw)

    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read(MAX_RESPONSE_BYTES)
        return Result("response", time.perf_counter() - t0, status=resp.status, body=data)
    except TimeoutError as exc:
        return done("timeout", f"no answer within {timeout_s:g} s ({exc or 'timed out'})")
    except ssl.SSLCertVerificationError as exc:
        return done("server-cert-invalid", f"{exc.verify_message or exc.reason}: {exc}")
    except ssl.SSLError as exc:
        return done(_classify_ssl(exc), f"{exc.reason or type(exc).__name__}: {exc}")
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
        return done("connection-closed", f"{type(exc).__name__}: {exc}")
    except (OSError, http.client.HTTPException) as exc:
        return done("connection-error", f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


__all__ = ["MAX_RESPONSE_BYTES", "Result", "client_context", "exchange"]
