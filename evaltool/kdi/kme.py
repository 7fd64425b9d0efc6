"""The reference KME pair: GS QKD 014 V1.1.1 over HTTPS with mutual TLS, one shared key store.

Two HTTPS servers (KME-A and KME-B) on the standard library's ``ThreadingHTTPServer`` and ``ssl``
(TLS >= 1.2, client certificates required and verified against the configured CA). The caller's
SAE id is the common name (CN) of its client certificate's subject, never a value from the
request. Key material and key ids come from a generator seeded by the configuration, so a run is
reproducible. Bounds: ``max_connections`` connections at once (more are closed at accept), a socket
timeout per connection (the TLS handshake included), request bodies of at most 1 MiB. Fault
switches (:class:`~evaltool.kdi.config.Faults`) make it deviate on purpose. See ``docs/kme.md``.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import ssl
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from evaltool.errors import UsageError
from evaltool.kdi import api
from evaltool.kdi.api import RequestError
from evaltool.kdi.config import Endpoint, Faults, KmeConfig


@dataclass(slots=True)
class _Pending:
    master: str
    slaves: frozenset[str]
    key: bytes


@dataclass
class KeyStore:
    """The keys shared by the pair: a stock of bits, and the keys issued but not yet delivered.

    ``stock_bits`` is what enc_keys may still draw; an issued key waits in ``pending`` until its
    slave fetches it with dec_keys, which removes it (GS QKD 014 clause 5.3).
    """

    seed: int
    stock_bits: int
    faults: Faults = field(default_factory=Faults)
    pending: dict[str, _Pending] = field(default_factory=dict)
    _delivered: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _new_id(self) -> str:
        if self.faults.duplicate_key_ids and self._delivered:
            return self._delivered.pop()
        return str(uuid.UUID(bytes=self._rng.randbytes(16), version=4))

    def issue(self, master: str, slaves: frozenset[str], number: int, size: int
              ) -> list[tuple[str, bytes]]:
        """Draw ``number`` keys of ``size`` bits for ``master`` and ``slaves``; 503 if short."""
        with self._lock:
            if number * size > self.stock_bits:
                if not self.faults.short_keys_on_exhaustion or self.stock_bits < size:
                    raise RequestError(503, "not enough key material in the key store",
                                       [{"requested_bits": number * size,
                                         "available_bits": self.stock_bits}])
                number = self.stock_bits // size
            self.stock_bits -= number * size
            out = []
            for _ in range(number):
                kid = self._new_id()
                key = self._rng.randbytes(size // 8)
                self.pending[kid] = _Pending(master, slaves, key)
                out.append((kid, key))
            return out

    def deliver(self, caller: str, master: str, ids: list[str]) -> list[tuple[str, bytes]]:
        """The keys ``ids`` issued by ``master`` for ``caller``; all or none (400 / 401)."""
        with self._lock:
            found = []
            for kid in ids:
                p = self.pending.get(kid)
                if p is None or p.master != master:
                    raise api.bad(f"key {kid} is not available for master SAE {master}",
                                  key_ID=kid)
                if caller not in p.slaves and not self.faults.isolation_broken:
                    raise RequestError(401, f"key {kid} was not issued for SAE {caller}")
                found.append((kid, p.key))
            if not self.faults.redelivery:
                for kid in ids:
                    del self.pending[kid]
                self._delivered.extend(ids)
            if self.faults.mismatched_keys:
                found = [(kid, bytes([key[0] ^ 1]) + key[1:]) for kid, key in found]
            return found


class Kme:
    """The GS QKD 014 logic of one KME (no I/O): decides every request of an identified SAE."""

    def __init__(self, me: Endpoint, peer: Endpoint, cfg: KmeConfig, store: KeyStore) -> None:
        self.me, self.peer, self.cfg, self.store = me, peer, cfg, store
        self.limits = api.Limits(cfg.key_size, cfg.min_key_size, cfg.max_key_size,
                                 cfg.max_key_per_request, cfg.max_sae_id_count)

    def _kme_of(self, sae: str) -> Endpoint | None:
        return next((e for e in (self.me, self.peer) if sae in e.saes), None)

    def handle(self, method: str, caller: str, sae: str, op: str, query: Mapping[str, list[str]],
               body: Any) -> dict[str, Any]:
        """The 200 response body of a request, or a :class:`RequestError`."""
        if caller not in self.me.saes:
            raise RequestError(401, f"SAE {caller} is not attached to {self.me.kme_id}")
        if op == "dec_keys":
            return self._dec(method, caller, sae, query, body)
        target = self._kme_of(sae)
        if target is None or sae == caller:
            raise api.bad(f"unknown slave SAE {sae}")
        if op == "status":
            if method != "GET":
                raise RequestError(405, "status is read with GET")
            return self._status(caller, sae, target)
        return self._enc(method, caller, sae, query, body)

    def _status(self, master: str, slave: str, target: Endpoint) -> dict[str, Any]:
        c = self.cfg
        return {"source_KME_ID": self.me.kme_id, "target_KME_ID": target.kme_id,
                "master_SAE_ID": master, "slave_SAE_ID": slave, "key_size": c.key_size,
                "stored_key_count": self.store.stock_bits // c.key_size,
                "max_key_count": c.stored_keys, "max_key_per_request": c.max_key_per_request,
                "max_key_size": c.max_key_size, "min_key_size": c.min_key_size,
                "max_SAE_ID_count": c.max_sae_id_count}

    def _enc(self, method: str, master: str, slave: str, query: Mapping[str, list[str]],
             body: Any) -> dict[str, Any]:
        if method == "GET":
            body = {"number": api.query_int(query, "number", 1),
                    "size": api.query_int(query, "size", self.cfg.key_size)}
        elif not isinstance(body, dict):
            raise api.bad("the key request must be a JSON object")
        if self.store.faults.error_500_on_bad_size:
            size = body.get("size", self.cfg.key_size)
            if isinstance(size, int):
                try:
                    api.check_size(size, self.limits)
                except RequestError as exc:
                    raise RequestError(500, exc.message) from None
        req = api.key_request(body, self.limits, master=master, slave=slave)
        keys = self.store.issue(master, frozenset({slave, *req.additional_slaves}), req.number,
                                req.size)
        return _container(keys)

    def _dec(self, method: str, slave: str, master: str, query: Mapping[str, list[str]],
             body: Any) -> dict[str, Any]:
        if method == "GET":
            ids = query.get("key_ID", [])
            if len(ids) != 1 or not ids[0]:
                raise api.bad("GET dec_keys takes exactly one key_ID")
        elif not isinstance(body, dict):
            raise api.bad("the key IDs must be a JSON object")
        else:
            ids = api.key_ids(body)
        return _container(self.store.deliver(slave, master, ids))


_QUERY_NAMES = {("GET", "enc_keys"): {"number", "size"}, ("GET", "dec_keys"): {"key_ID"}}
"""Query parameters each method accepts (clause 5.2, 5.3); any other is a 400."""


def _query(text: str, method: str, op: str) -> dict[str, list[str]]:
    """The query of a request; malformed, or naming a parameter the method lacks, is a 400."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True) if text else []
    except ValueError:
        raise api.bad("malformed query string") from None
    allowed = _QUERY_NAMES.get((method, op), set())
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in allowed:
            raise api.bad(f"unknown query parameter {name!r}", parameter=name)
        out.setdefault(name, []).append(value)
    return out


def _container(keys: list[tuple[str, bytes]]) -> dict[str, Any]:
    """The Key container data format (clause 6.3), keys in base64."""
    return {"keys": [{"key_ID": kid, "key": base64.b64encode(k).decode()} for kid, k in keys]}


def common_name(cert: Mapping[str, Any] | None) -> str | None:
    """The CN of a certificate's subject as ``ssl.SSLSocket.getpeercert`` returns it."""
    for rdn in (cert or {}).get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "evaltool-reference-kme"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the probe records the exchanges."""

    def do_GET(self) -> None:
        """GET status, enc_keys or dec_keys."""
        self._serve("GET")

    def do_POST(self) -> None:
        """POST enc_keys or dec_keys."""
        self._serve("POST")

    def _serve(self, method: str) -> None:
        try:
            status, payload = 200, self._answer(method)
        except RequestError as exc:
            status, payload = exc.status, exc.body()
        except Exception as exc:  # the KME answers every request with a 014 body
            status, payload = 503, {"message": f"internal error: {type(exc).__name__}"}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, method: str) -> dict[str, Any]:
        parts = urlsplit(self.path)
        m = api.PATH_RE.match(parts.path)
        body: Any = None
        if method == "POST":
            body = self._body()
        if m is None:
            raise RequestError(404, "no such resource")
        if method == "POST" and m["op"] == "status":
            raise RequestError(405, "status is read with GET")
        caller = self.server.caller(self.connection)
        if self.server.kme.store.faults.sae_id_from_body and isinstance(body, dict):
            claimed = body.pop("SAE_ID", None)
            if isinstance(claimed, str):
                caller = claimed
        if caller is None:
            raise RequestError(401, "no authenticated SAE")
        query = _query(parts.query, method, m["op"])
        return self.server.kme.handle(method, caller, unquote(m["sae"]), m["op"], query, body)

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            raise api.bad("Content-Length is required") from None
        if not 0 <= length <= api.MAX_BODY_BYTES:
            self.close_connection = True
            raise api.bad(f"request body above {api.MAX_BODY_BYTES} bytes")
        return api.parse_json(self.rfile.read(length))


class _Server(ThreadingHTTPServer):
    """Accepts plain sockets; the TLS handshake runs in the connection's thread, under its
    timeout, so a client that never completes it holds one connection slot, not the server."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, endpoint: Endpoint, kme: Kme, ctx: ssl.SSLContext, cfg: KmeConfig) -> None:
        self.kme, self.ctx, self.cfg = kme, ctx, cfg
        self._slots = threading.BoundedSemaphore(cfg.max_connections)
        super().__init__((endpoint.host, endpoint.port), _Handler)

    def caller(self, conn: socket.socket) -> str | None:
        """The SAE id of the connection: its client certificate's CN (first attached SAE when the
        no_client_auth fault lets a client in without one)."""
        cert = conn.getpeercert() if isinstance(conn, ssl.SSLSocket) else None
        if not cert and self.kme.store.faults.no_client_auth:
            return self.kme.me.saes[0]
        return common_name(cert)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(self.cfg.timeout_s)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            return
        try:
            _Handler(tls, client_address, self)
        except OSError:
            pass
        finally:
            tls.close()


def server_context(endpoint: Endpoint, cfg: KmeConfig) -> ssl.SSLContext:
    """TLS >= 1.2, the KME's certificate, client certificates verified against ``cfg.ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(endpoint.cert, endpoint.key)
        ctx.load_verify_locations(cafile=cfg.ca)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"{endpoint.kme_id}: cannot load the TLS certificate, key or CA: "
                         f"{exc}") from None
    ctx.verify_mode = ssl.CERT_OPTIONAL if cfg.faults.no_client_auth else ssl.CERT_REQUIRED
    return ctx


class KmePair:
    """KME-A and KME-B serving in background threads; ``close()`` stops both."""

    def __init__(self, cfg: KmeConfig) -> None:
        self.store = KeyStore(cfg.seed, cfg.stored_keys * cfg.key_size, cfg.faults)
        self.servers: list[_Server] = []
        try:
            for me, peer in ((cfg.kme_a, cfg.kme_b), (cfg.kme_b, cfg.kme_a)):
                kme = Kme(me, peer, cfg, self.store)
                try:
                    srv = _Server(me, kme, server_context(me, cfg), cfg)
                except OSError as exc:
                    raise UsageError(f"{me.kme_id}: cannot listen on {me.host}:{me.port}: "
                                     f"{exc.strerror or exc}") from None
                self.servers.append(srv)
        except BaseException:
            self.close()
            raise
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                          daemon=True, name=f"kme-{i}")
                         for i, s in enumerate(self.servers)]
        for t in self._threads:
            t.start()

    @property
    def urls(self) -> tuple[str, str]:
        """``https://host:port`` of KME-A and KME-B."""
        a, b = (f"https://{s.server_address[0]!s}:{s.server_address[1]}" for s in self.servers)
        return a, b

    def close(self) -> None:
        """Stop serving and close the listening sockets."""
        for s in self.servers:
            if getattr(self, "_threads", None):
                s.shutdown()
            s.server_close()

    def __enter__(self) -> KmePair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["KeyStore", "Kme", "KmePair", "common_name", "server_context"]
