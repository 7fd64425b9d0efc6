"""``evaltool probe etsi-014``: a stateful GS QKD 014 test plan against a pair of KMEs, recorded.

The plan (``docs/kme.md``, "The probe") runs its steps in a fixed order, each request bounded by a
socket timeout and the whole run by a deadline; loops are bounded in count. Every request and its
response (or why there was none) becomes one JSON line of the ``key-delivery-probe`` evidence
kind; key values are replaced by their SHA-256 unless ``keep_keys``. The record and a bundle
manifest are written to a new folder atomically, so the ``kdi.*`` checks decide from the record
as from any other evidence.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from evaltool import __version__
from evaltool.errors import EvidenceError, UsageError
from evaltool.kdi import api
from evaltool.kdi.client import Result, client_context, exchange

RECORD_NAME = "probe.jsonl"
RECORD_SLOT = "kdi_probe"
RECORD_VERSION = 1
UNKNOWN_EXTENSION = "urn:evaltool:probe:unsupported-extension"
TLS_REFUSAL_STEPS = frozenset({"tls.no-client-cert", "tls.foreign-ca", "tls.expired",
                               "tls.tls1.0", "tls.tls1.1"})
"""Steps whose connection the KME should refuse."""
MAX_CONNECTION_FAILURES = 3
"""Connections a KME may close, refuse or fail in a row (outside the TLS refusal steps) before
the probe stops sending to it."""


@dataclass(frozen=True, slots=True)
class Sae:
    """One SAE the probe acts as: its role (a, b, c), certificate and key; the id is the CN."""

    role: str
    cert: Path
    key: Path
    sae_id: str


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """What ``evaltool probe etsi-014`` was given."""

    kme_a: str
    kme_b: str
    sae_a: Sae
    sae_b: Sae
    ca: Path
    out: Path
    sae_c: Sae | None = None
    sae_expired: Sae | None = None
    keys: int = 1000
    keep_keys: bool = False
    timeout_s: float = 5.0
    deadline_s: float = 600.0
    max_drain_requests: int = 2000
    toe: Path | None = None
    force: bool = False
    fuzz: int = 0


# --- input --------------------------------------------------------------------------------


def _common_name(pem: bytes) -> str | None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(pem)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def load_sae(role: str, spec: str, ca: Path) -> Sae:
    """``CERT,KEY`` of an SAE, checked to load as a TLS client identity; its id is the CN."""
    parts = spec.split(",")
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"--sae-{role} takes CERT,KEY (two file names separated by a comma)")
    cert, key = Path(parts[0]), Path(parts[1])
    for p in (cert, key):
        if not p.is_file():
            raise EvidenceError(f"--sae-{role}: file not found or unreadable", path=p)
    try:
        client_context(ca, (cert, key))
        cn = _common_name(cert.read_bytes())
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise EvidenceError(f"--sae-{role}: certificate and key do not load as a TLS client "
                            f"identity ({exc})", path=cert) from None
    if not cn:
        raise EvidenceError(f"--sae-{role}: the certificate has no subject common name (CN), "
                            "which is the SAE id", path=cert)
    return Sae(role, cert, key, cn)


def check_ca(ca: Path) -> None:
    """The CA file must hold at least one PEM certificate that ``ssl`` loads."""
    if not ca.is_file():
        raise EvidenceError("--ca: file not found or unreadable", path=ca)
    try:
        text = ca.read_bytes()
        if b"-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError("no PEM certificate")
        ssl.create_default_context(cafile=str(ca))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise EvidenceError(f"--ca: not a PEM CA certificate ({exc})", path=ca) from None


def check_url(option: str, url: str) -> str:
    """A KME URL: ``https://host[:port]`` without a path; the trailing slash is dropped."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise UsageError(f"{option}: {url!r} is not an https:// URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"{option}: give the KME's base URL (https://host:port), without a path")
    try:
        _ = parts.port
    except ValueError:
        raise UsageError(f"{option}: {url!r} has an invalid port") from None
    return url.rstrip("/")


# --- the record ---------------------------------------------------------------------------


def redact(body: Any, keep_keys: bool) -> Any:
    """A Key container with each key value replaced by ``key_sha256`` and ``key_bits``."""
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        return body
    keys = []
    for item in body["keys"]:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            keys.append(item)
            continue
        out = {k: v for k, v in item.items() if k != "key" or keep_keys}
        try:
            raw = base64.b64decode(item["key"], validate=True)
            out["key_sha256"] = hashlib.sha256(raw).hexdigest()
            out["key_bits"] = 8 * len(raw)
        except (binascii.Error, ValueError):
            out["key_sha256"] = hashlib.sha256(item["key"].encode()).hexdigest()
            out["key_decode_error"] = True
        keys.append(out)
    return {**body, "keys": keys}


@dataclass
class Recorder:
    """Runs exchanges under the plan's bounds and keeps their records."""

    opts: ProbeOptions
    lines: list[dict[str, Any]] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)
    silent: dict[str, str] = field(default_factory=dict)
    """KME -> why it is given up (a timeout, or connections closed in a row); later steps to it
    are skipped."""
    _failures: dict[str, int] = field(default_factory=dict)
    progress: Callable[[str], None] | None = None
    _contexts: dict[tuple[str, str], ssl.SSLContext] = field(default_factory=dict)

    def context(self, sae: Sae | None, variant: str = "") -> ssl.SSLContext:
        """The client TLS context of ``sae`` (cached)."""
        key = (sae.role if sae else "-", variant)
        if key not in self._contexts:
            legacy = {"tls1.0": ssl.TLSVersion.TLSv1, "tls1.1": ssl.TLSVersion.TLSv1_1}
            self._contexts[key] = client_context(
                self.opts.ca, (sae.cert, sae.key) if sae else None, legacy=legacy.get(variant))
        return self._contexts[key]

    def call(self, step: str, kme: str, sae: Sae | None, method: str, path: str,
             body: Any = None, *, raw: bytes | None = None, ctx: ssl.SSLContext | None = None,
             **meta: Any) -> tuple[Result | None, Any]:
        """One recorded exchange; the parsed JSON response (or None)."""
        url = self.opts.kme_a if kme == "A" else self.opts.kme_b
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        rec: dict[str, Any] = {
            "record": "exchange", "seq": len(self.lines), "step": step, "kme": kme,
            "sae": sae.role if sae else None, "sae_id": sae.sae_id if sae else None,
            "method": method, "path": path, **meta,
            "request": body if raw is None else {"raw": raw.decode("utf-8", "replace")},
            "t_s": round(time.perf_counter() - self.t0, 6),
        }
        if self.progress:
            self.progress(step)
        why = self._skip(kme)
        if why:
            rec.update(outcome="skipped", error=why, elapsed_s=0.0, status=None, response=None)
            self.lines.append(rec)
            return None, None
        res = exchange(url, ctx or self.context(sae), method, path, data, self.opts.timeout_s)
        parsed: Any = None
        rec.update(outcome=res.outcome, elapsed_s=round(res.elapsed_s, 6), status=res.status)
        if res.error:
            rec["error"] = res.error
        if res.body is not None:
            try:
                parsed = json.loads(res.body.decode("utf-8"))
                rec["response"] = redact(parsed, self.opts.keep_keys)
            except (UnicodeDecodeError, json.JSONDecodeError):
                rec["response"] = None
                rec["response_not_json_sha256"] = hashlib.sha256(res.body).hexdigest()
        else:
            rec["response"] = None
        if res.outcome == "timeout":
            self.silent.setdefault(kme, f"timed out at step {step} ({res.error})")
        if step not in TLS_REFUSAL_STEPS:
            broken = res.outcome in ("connection-closed", "connection-error", "tls-refused")
            self._failures[kme] = self._failures.get(kme, 0) + 1 if broken else 0
            if self._failures[kme] >= MAX_CONNECTION_FAILURES:
                self.silent.setdefault(kme, f"failed {MAX_CONNECTION_FAILURES} connections in a "
                                       f"row (last at step {step}: {res.error})")
        self.lines.append(rec)
        return res, parsed

    def unanswered(self, kme: str) -> str | None:
        """Why requests to ``kme`` are no longer sent (it timed out, or the deadline passed)."""
        return self._skip(kme)

    def _skip(self, kme: str) -> str | None:
        if kme in self.silent:
            return f"KME-{kme} {self.silent[kme]}"
        if time.perf_counter() - self.t0 > self.opts.deadline_s:
            return f"probe deadline of {self.opts.deadline_s:g} s reached"
        return None

    def note(self, step: str, text: str, **meta: Any) -> None:
        """A line that is not an exchange: why a part of the plan was not run."""
        self.lines.append({"record": "note", "seq": len(self.lines), "step": step,
                           "note": text, **meta})


def _keys_of(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("keys"), list):
        return [k for k in body["keys"] if isinstance(k, dict)]
    return []


def _ids(body: Any) -> list[str]:
    return [str(k.get("key_ID")) for k in _keys_of(body)]


# --- the plan -----------------------------------------------------------------------------


@contextmanager
def _foreign_identity(sae_id: str) -> Iterator[tuple[Path, Path]]:
    """A certificate with ``sae_id`` as CN from a throw-away CA the KME does not trust."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sae_id)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    with tempfile.TemporaryDirectory(prefix="evaltool-probe-") as tmp:
        c, k = Path(tmp) / "foreign.pem", Path(tmp) / "foreign.key"
        c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        yield c, k


def _p(sae_id: str, op: str) -> str:
    return f"{api.PREFIX}{quote(sae_id, safe='')}/{op}"


def run_plan(rec: Recorder) -> None:
    """The test plan, in order: preflight, TLS, same key, re-delivery, isolation, input
    validation, exhaustion (which empties the store, so it comes last)."""
    o = rec.opts
    a, b, c = o.sae_a, o.sae_b, o.sae_c
    status_ab = _p(b.sae_id, "status")
    enc_ab, dec_ba = _p(b.sae_id, "enc_keys"), _p(a.sae_id, "dec_keys")
    res, st = rec.call("preflight.status", "A", a, "GET", status_ab)
    if res is not None and res.outcome == "server-cert-invalid":
        raise EvidenceError(f"KME-A's server certificate does not verify against --ca "
                            f"({res.error})", path=o.ca)
    limits = st if res is not None and res.status == 200 and isinstance(st, dict) else None
    if res is not None and res.outcome == "response" and limits is None:
        msg = st.get("message") if isinstance(st, dict) else None
        raise EvidenceError(f"KME-A answered {res.status} to SAE {a.sae_id}'s status request "
                            f"for SAE {b.sae_id}" + (f": {msg}" if msg else "")
                            + " (unknown SAE, or SAEs and KMEs swapped?)")
    ks = int(limits.get("key_size", 256)) if limits else 256
    per = max(1, int(limits.get("max_key_per_request", 1))) if limits else 1

    # TLS: refused without a certificate, with one from another CA, expired, TLS 1.0/1.1.
    rec.call("tls.no-client-cert", "A", None, "GET", status_ab, ctx=rec.context(None))
    with _foreign_identity(a.sae_id) as (fc, fk):
        rec.call("tls.foreign-ca", "A", a, "GET", status_ab,
                 ctx=client_context(o.ca, (fc, fk)))
    if o.sae_expired is not None:
        rec.call("tls.expired", "A", o.sae_expired, "GET", status_ab)
    else:
        rec.note("tls.expired", "no expired certificate given (--sae-expired)")
    for v in ("tls1.0", "tls1.1"):
        rec.call(f"tls.{v}", "A", a, "GET", status_ab, ctx=rec.context(a, v))
    # The SAE id comes from the certificate: a third SAE claiming to be B in the body gets nothing.
    claimant = c or a
    _, body = rec.call("tls.identity.enc", "A", a, "POST", enc_ab, {"number": 1, "size": ks})
    ids = _ids(body)
    if ids:
        rec.call("tls.identity.claim", "B", claimant, "POST", dec_ba,
                 {"key_IDs": [{"key_ID": ids[0]}], "SAE_ID": b.sae_id})

    # Same key at both ends, N keys in bounded batches (the first with GET, the rest POST).
    rec.call("status.before", "A", a, "GET", status_ab)
    batches = 1 + math.ceil((o.keys - 1) / per)  # the first batch is one key (GET)
    done = 0
    for i in range(batches):
        if done >= o.keys:
            break
        if i > 0 and (why := rec.unanswered("A") or rec.unanswered("B")):
            rec.note("same-key.stopped", f"{done} keys requested: {why}")
            break
        n = min(per, o.keys - done)
        if i == 0:
            _, body = rec.call("same-key.enc", "A", a, "GET", f"{enc_ab}?number=1&size={ks}",
                               batch=i, number=1, size=ks)
            ids = _ids(body)
            if ids:
                rec.call("same-key.dec", "B", b, "GET", f"{dec_ba}?key_ID={quote(ids[0])}",
                         batch=i)
            done += 1
            continue
        _, body = rec.call("same-key.enc", "A", a, "POST", enc_ab, {"number": n, "size": ks},
                           batch=i, number=n, size=ks)
        ids = _ids(body)
        done += n
        if ids:
            rec.call("same-key.dec", "B", b, "POST", dec_ba,
                     {"key_IDs": [{"key_ID": k} for k in ids]}, batch=i)
    rec.call("status.after", "A", a, "GET", status_ab)

    # No re-delivery: the second dec_keys for the same id fails.
    _, body = rec.call("redelivery.enc", "A", a, "POST", enc_ab, {"number": 1, "size": ks})
    ids = _ids(body)
    if ids:
        kid = {"key_IDs": [{"key_ID": ids[0]}]}
        rec.call("redelivery.dec", "B", b, "POST", dec_ba, kid)
        rec.call("redelivery.again", "B", b, "POST", dec_ba, kid)

    # Isolation: a third SAE and the master itself cannot obtain a key meant for B.
    _, body = rec.call("isolation.enc", "A", a, "POST", enc_ab, {"number": 1, "size": ks})
    ids = _ids(body)
    if ids:
        kid = {"key_IDs": [{"key_ID": ids[0]}]}
        if c is not None:
            rec.call("isolation.third", "B", c, "POST", dec_ba, kid)
        else:
            rec.note("isolation.third", "no third SAE given (--sae-c)")
        rec.call("isolation.master-own", "A", a, "POST", _p(a.sae_id, "dec_keys"), kid)
        rec.call("isolation.master-peer", "B", a, "POST", dec_ba, kid)
        rec.call("isolation.slave", "B", b, "POST", dec_ba, kid)

    _input_validation(rec, limits or {}, enc_ab, dec_ba, ks)
    if o.fuzz:
        from evaltool.kdi.fuzz import fuzz

        fuzz(rec, o.fuzz)
    _exhaustion(rec, per, ks, status_ab, enc_ab)


def _input_validation(rec: Recorder, limits: dict[str, Any], enc: str, dec: str, ks: int) -> None:
    """Invalid requests: each must be answered 400 with a message, never 5xx, never keys."""
    o = rec.opts
    a, b = o.sae_a, o.sae_b
    c_id = o.sae_c.sae_id if o.sae_c else "SAE-that-does-not-exist"
    mx = int(limits.get("max_key_per_request", 1))
    lo, hi = int(limits.get("min_key_size", 8)), int(limits.get("max_key_size", ks))
    cases: list[tuple[str, Any]] = [
        ("number-above-max", {"number": mx + 1, "size": ks}),
        ("number-zero", {"number": 0, "size": ks}),
        ("number-negative", {"number": -1, "size": ks}),
        ("number-not-integer", {"number": "1", "size": ks}),
        ("size-above-max", {"number": 1, "size": hi + 8}),
        ("size-not-multiple-of-8", {"number": 1, "size": ks + 1}),
        ("size-zero", {"number": 1, "size": 0}),
        ("extension-mandatory-unknown",
         {"number": 1, "size": ks, "extension_mandatory": [{UNKNOWN_EXTENSION: True}]}),
        ("slaves-duplicate", {"number": 1, "size": ks, "additional_slave_SAE_IDs": [c_id, c_id]}),
        ("slaves-empty-id", {"number": 1, "size": ks, "additional_slave_SAE_IDs": [""]}),
        ("slaves-master", {"number": 1, "size": ks, "additional_slave_SAE_IDs": [a.sae_id]}),
        ("slaves-slave", {"number": 1, "size": ks, "additional_slave_SAE_IDs": [b.sae_id]}),
        ("wrong-field-name", {"numbr": 1, "size": ks}),
        ("body-not-object", [1, 2]),
    ]
    if lo > 8:
        cases.append(("size-below-min", {"number": 1, "size": lo - 8}))
    for name, body in cases:
        rec.call(f"input.{name}", "A", a, "POST", enc, body, expect=400)
    rec.call("input.malformed-json", "A", a, "POST", enc, raw=b'{"number": 1,', expect=400)
    rec.call("input.get-number-not-integer", "A", a, "GET", f"{enc}?number=abc", expect=400)
    rec.call("input.dec-empty-ids", "B", b, "POST", dec, {"key_IDs": []}, expect=400)
    rec.call("input.dec-unknown-id", "B", b, "POST", dec,
             {"key_IDs": [{"key_ID": "00000000-0000-4000-8000-000000000000"}]}, expect=400)
    rec.call("input.dec-wrong-field-name", "B", b, "POST", dec, {"keyIDs": []}, expect=400)


def _exhaustion(rec: Recorder, per: int, ks: int, status: str, enc: str) -> None:
    """Empty the store in bounded steps; a request above what is left, and one on the empty
    store, must be answered 503 without keys."""
    a = rec.opts.sae_a
    res, st = rec.call("exhaustion.status", "A", a, "GET", status)
    if res is None or res.status != 200 or not isinstance(st, dict):
        rec.note("exhaustion.skipped", "no status before the exhaustion test")
        return
    left = int(st.get("stored_key_count", 0))
    needed = math.ceil(left / per) + 3
    if needed > rec.opts.max_drain_requests:
        rec.note("exhaustion.skipped", f"emptying {left} keys needs {needed} requests, above "
                 f"the bound of {rec.opts.max_drain_requests}")
        return
    for _ in range(needed):
        n = min(per, left - 1)  # leave at least one key, for the request above what is left
        if left < per or n <= 0:
            break
        res, body = rec.call("exhaustion.drain", "A", a, "POST", enc, {"number": n, "size": ks},
                             number=n, size=ks)
        if res is None or res.status != 200:
            break
        left -= len(_keys_of(body))
    if left >= 1 and left + 1 <= per:
        rec.call("exhaustion.over", "A", a, "POST", enc, {"number": left + 1, "size": ks},
                 number=left + 1, size=ks, expect=503)
        rec.call("exhaustion.rest", "A", a, "POST", enc, {"number": left, "size": ks},
                 number=left, size=ks)
    elif left >= 1:
        rec.call("exhaustion.rest", "A", a, "POST", enc, {"number": left, "size": ks},
                 number=left, size=ks)
    rec.call("exhaustion.empty", "A", a, "POST", enc, {"number": 1, "size": ks}, number=1,
             size=ks, expect=503)
    rec.call("exhaustion.status-after", "A", a, "GET", status)


# --- the bundle ---------------------------------------------------------------------------


def _header(o: ProbeOptions, started: datetime) -> dict[str, Any]:
    saes = {s.role: s.sae_id for s in (o.sae_a, o.sae_b, o.sae_c, o.sae_expired) if s}
    return {"record": "header", "format": "key-delivery-probe", "format_version": RECORD_VERSION,
            "standard": api.STANDARD, "tool": f"evaltool {__version__}",
            "started_at": started.isoformat().replace("+00:00", "Z"), "kme_a": o.kme_a,
            "kme_b": o.kme_b, "sae_ids": saes, "sae_id_source": "client certificate subject CN",
            "keys_requested": o.keys, "keep_keys": o.keep_keys, "timeout_s": o.timeout_s,
            "deadline_s": o.deadline_s, "max_drain_requests": o.max_drain_requests,
            "fuzz": o.fuzz}


def _toe_yaml(toe: Path | None) -> str:
    if toe is None:
        return ""
    from evaltool.io.yaml import load_yaml, to_plain

    doc = to_plain(load_yaml(toe, error=EvidenceError).data)
    if not isinstance(doc, dict) or "toe" not in doc or "claims" not in doc:
        raise EvidenceError("--toe: needs the 'toe' and 'claims' sections of the device's "
                            "bundle manifest", path=toe)
    return (f"toe: {json.dumps(doc['toe'], sort_keys=True)}\n"
            f"claims: {json.dumps(doc['claims'], sort_keys=True)}\n")


def manifest(o: ProbeOptions, digest: str, size: int, started: datetime, ended: datetime) -> str:
    """``bundle.yaml`` of the probe's record; TOE and claims from ``--toe`` when given."""
    def ts(d: datetime) -> str:
        return d.isoformat(timespec="seconds").replace("+00:00", "Z")

    return (f"# Evidence bundle written by evaltool probe etsi-014 ({__version__}).\n"
            "schema_version: 1\n" + _toe_yaml(o.toe)
            + f"capture:\n  start: {ts(started)}\n  end: {ts(ended)}\n"
            "  lab: evaltool probe\n"
            f"  notes: {json.dumps(f'{api.STANDARD} probe of {o.kme_a} and {o.kme_b}')}\n"
            f"evidence:\n  - slot: {RECORD_SLOT}\n    kind: key-delivery-probe\n"
            f"    format: jsonl\n    path: {RECORD_NAME}\n    sha256: {digest}\n"
            f"    size_bytes: {size}\n"
            "    description: \"every request and response of the probe, key values as SHA-256"
            + (" and in clear (--keep-keys)" if o.keep_keys else "") + "\"\n")


def write_folder(out: Path, files: dict[str, bytes], *, force: bool) -> None:
    """Write ``files`` into ``out`` through a temporary folder renamed into place."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise UsageError("--out exists and is not an empty folder (use --force to replace it)",
                         path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def probe(o: ProbeOptions, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the plan against the two KMEs and write the record and manifest to ``o.out``."""
    if o.out.exists() and (not o.out.is_dir() or (any(o.out.iterdir()) and not o.force)):
        raise UsageError("--out exists and is not an empty folder (use --force to replace it)",
                         path=o.out)
    _toe_yaml(o.toe)  # a bad --toe, or --fuzz without schemathesis, fails before any request
    if o.fuzz:
        from evaltool.kdi.fuzz import require

        require()
    started = datetime.now(UTC)
    rec = Recorder(o, progress=progress)
    rec.lines.append(_header(o, started))
    run_plan(rec)
    ended = datetime.now(UTC)
    data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rec.lines).encode()
    digest = hashlib.sha256(data).hexdigest()
    man = manifest(o, digest, len(data), started, ended)
    write_folder(o.out, {RECORD_NAME: data, "bundle.yaml": man.encode()}, force=o.force)
    exchanges = [r for r in rec.lines if r["record"] == "exchange"]
    return {"out": str(o.out), "record": str(o.out / RECORD_NAME), "sha256": digest,
            "exchanges": len(exchanges),
            "timeouts": sum(1 for r in exchanges if r["outcome"] == "timeout"),
            "skipped": sum(1 for r in exchanges if r["outcome"] == "skipped"),
            "elapsed_s": round(time.perf_counter() - rec.t0, 3)}


__all__ = ["RECORD_NAME", "RECORD_SLOT", "ProbeOptions", "Recorder", "Sae", "check_ca",
           "check_url", "load_sae", "manifest", "probe", "redact", "run_plan"]
