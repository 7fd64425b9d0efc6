"""The ``key-delivery-probe`` record a simulated bundle carries: what ``evaltool probe etsi-014``
writes against the simulated module pair's ETSI GS QKD 014 interface.

The record is synthesised, not captured: it follows the probe's plan (``docs/kme.md``, "The
probe"; :func:`evaltool.kdi.probe.run_plan`) step by step with the answers a KME gives that
behaves as GS QKD 014 V1.1.1 requires (clauses 4 to 6), or as the scenario's fault makes it.
Times are fixed (no clock is read) and keys are drawn from the bundle's seeded stream, so the
record is byte-reproducible. Key values appear only as SHA-256 and length, as the probe writes
them without ``--keep-keys``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from evaltool.simulate._generate import stream

SAE_A, SAE_B, SAE_C = "sae-tx-0001", "sae-rx-0001", "sae-other-0001"
KME_A, KME_B = "https://kme-tx.example:8443", "https://kme-rx.example:8443"
KEY_BITS = 256
PER_REQUEST = 16
STORED_KEYS = 320
KEYS = 200
ELAPSED_S = 0.004
"""Fixed response delay of every answered request (the record must not depend on a clock)."""
INPUT_CASES = (
    "number-above-max", "number-zero", "number-negative", "number-not-integer", "size-above-max",
    "size-not-multiple-of-8", "size-zero", "extension-mandatory-unknown", "slaves-duplicate",
    "slaves-empty-id", "slaves-master", "slaves-slave", "wrong-field-name", "body-not-object",
    "malformed-json", "get-number-not-integer", "dec-empty-ids", "dec-unknown-id",
    "dec-wrong-field-name",
)  # fmt: skip
FAULTS = ("isolation-broken",)
"""Faults of the simulated KME (``evaltool kme serve``'s switch of the same name)."""


def _path(sae: str, op: str) -> str:
    return f"/api/v1/keys/{sae}/{op}"


class _Record:
    """Lines of the record, with the simulated key store behind them."""

    def __init__(self, seed: int, fault: str | None) -> None:
        self.rng = stream(seed, "kdi-probe.jsonl")
        self.fault = fault
        self.lines: list[dict[str, Any]] = []
        self.stock = STORED_KEYS
        self.pending: dict[str, dict[str, Any]] = {}

    def _t(self) -> float:
        return round(0.01 * len(self.lines), 6)

    def call(self, step: str, kme: str, sae: str | None, method: str, path: str,
             status: int | None, response: Any = None, *, request: Any = None,
             outcome: str = "response", error: str | None = None, **meta: Any) -> None:
        role = {SAE_A: "a", SAE_B: "b", SAE_C: "c"}.get(sae or "")
        rec: dict[str, Any] = {
            "record": "exchange", "seq": len(self.lines), "step": step, "kme": kme, "sae": role,
            "sae_id": sae, "method": method, "path": path, **meta, "request": request,
            "t_s": self._t(), "outcome": outcome,
            "elapsed_s": ELAPSED_S if outcome == "response" else 0.0, "status": status,
            "response": response}
        if error:
            rec["error"] = error
        self.lines.append(rec)

    def issue(self, n: int) -> dict[str, Any] | None:
        """A Key container of ``n`` fresh keys (redacted), or None when the store is short."""
        if n > self.stock:
            return None
        self.stock -= n
        keys = []
        for _ in range(n):
            raw = self.rng.bytes(16 + KEY_BITS // 8)
            kid = raw[:16].hex()
            kid = f"{kid[:8]}-{kid[8:12]}-4{kid[13:16]}-8{kid[17:20]}-{kid[20:32]}"
            key = {"key_ID": kid, "key_bits": KEY_BITS,
                   "key_sha256": hashlib.sha256(raw[16:]).hexdigest()}
            self.pending[kid] = key
            keys.append(key)
        return {"keys": keys}

    def deliver(self, caller: str, ids: list[str]) -> dict[str, Any] | None:
        """The keys ``ids`` for ``caller`` (a key goes to the slave once), or None (401/400)."""
        if caller != SAE_B and self.fault != "isolation-broken":
            return None
        if any(k not in self.pending for k in ids):
            return None
        return {"keys": [self.pending.pop(k) for k in ids]}

    def status(self) -> dict[str, Any]:
        return {"source_KME_ID": "KME-TX", "target_KME_ID": "KME-RX", "master_SAE_ID": SAE_A,
                "slave_SAE_ID": SAE_B, "key_size": KEY_BITS, "stored_key_count": self.stock,
                "max_key_count": STORED_KEYS, "max_key_per_request": PER_REQUEST,
                "max_key_size": 1024, "min_key_size": 64, "max_SAE_ID_count": 2}


def _error(message: str) -> dict[str, Any]:
    return {"message": message}


def probe_record(seed: int, fault: str | None = None) -> bytes:
    """The JSON-lines record of the probe's plan against the simulated KME pair."""
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown KME fault {fault!r}")
    r = _Record(seed, fault)
    r.lines.append({
        "record": "header", "format": "key-delivery-probe", "format_version": 1,
        "standard": "ETSI GS QKD 014 V1.1.1", "tool": "evaltool simulate (synthesised record)",
        "started_at": "2026-11-02T09:00:00Z", "kme_a": KME_A, "kme_b": KME_B,
        "sae_ids": {"a": SAE_A, "b": SAE_B, "c": SAE_C, "expired": SAE_A},
        "sae_id_source": "client certificate subject CN", "keys_requested": KEYS,
        "keep_keys": False, "timeout_s": 5.0, "deadline_s": 600.0, "max_drain_requests": 2000,
        "fuzz": 0})
    status, enc, dec = _path(SAE_B, "status"), _path(SAE_B, "enc_keys"), _path(SAE_A, "dec_keys")
    r.call("preflight.status", "A", SAE_A, "GET", status, 200, r.status())
    for step in ("tls.no-client-cert", "tls.foreign-ca", "tls.expired", "tls.tls1.0",
                 "tls.tls1.1"):
        r.call(step, "A", None if step == "tls.no-client-cert" else SAE_A, "GET", status, None,
               outcome="tls-refused", error="the server refused the TLS handshake")
    req = {"number": 1, "size": KEY_BITS}
    body = r.issue(1)
    r.call("tls.identity.enc", "A", SAE_A, "POST", enc, 200, body, request=req)
    kid = body["keys"][0]["key_ID"] if body else ""
    # The SAE id comes from the certificate: SAE_ID in the body is not a field of the Key IDs
    # request (clause 6.4), so the request is refused before any key is looked up.
    claim = {"key_IDs": [{"key_ID": kid}], "SAE_ID": SAE_B}
    r.call("tls.identity.claim", "B", SAE_C, "POST", dec, 400,
           _error("unknown field SAE_ID"), request=claim)

    r.call("status.before", "A", SAE_A, "GET", status, 200, r.status())
    done, batch = 0, 0
    while done < KEYS:
        n = 1 if batch == 0 else min(PER_REQUEST, KEYS - done)
        body = r.issue(n)
        if batch == 0:
            r.call("same-key.enc", "A", SAE_A, "GET", f"{enc}?number=1&size={KEY_BITS}", 200,
                   body, batch=0, number=1, size=KEY_BITS)
        else:
            r.call("same-key.enc", "A", SAE_A, "POST", enc, 200, body, batch=batch, number=n,
                   size=KEY_BITS, request={"number": n, "size": KEY_BITS})
        ids = [k["key_ID"] for k in (body or {}).get("keys", [])]
        got = r.deliver(SAE_B, ids)
        r.call("same-key.dec", "B", SAE_B, "POST", dec, 200 if got else 400, got, batch=batch,
               request={"key_IDs": [{"key_ID": k} for k in ids]})
        done += n
        batch += 1
    r.call("status.after", "A", SAE_A, "GET", status, 200, r.status())

    body = r.issue(1)
    r.call("redelivery.enc", "A", SAE_A, "POST", enc, 200, body, request=req)
    kid = body["keys"][0]["key_ID"] if body else ""
    ask = {"key_IDs": [{"key_ID": kid}]}
    for step in ("redelivery.dec", "redelivery.again"):
        got = r.deliver(SAE_B, [kid])
        r.call(step, "B", SAE_B, "POST", dec, 200 if got else 400,
               got or _error("unknown key_ID"), request=ask)

    body = r.issue(1)
    r.call("isolation.enc", "A", SAE_A, "POST", enc, 200, body, request=req)
    kid = body["keys"][0]["key_ID"] if body else ""
    ask = {"key_IDs": [{"key_ID": kid}]}
    for step, kme, who, path in (("isolation.third", "B", SAE_C, dec),
                                 ("isolation.master-own", "A", SAE_A, _path(SAE_A, "dec_keys")),
                                 ("isolation.master-peer", "B", SAE_A, dec),
                                 ("isolation.slave", "B", SAE_B, dec)):
        got = r.deliver(who, [kid])
        r.call(step, kme, who, "POST", path, 200 if got else 401,
               got or _error("not authorised for this key"), request=ask)

    for case in INPUT_CASES:
        kme, who = ("B", SAE_B) if case.startswith("dec-") else ("A", SAE_A)
        r.call(f"input.{case}", kme, who, "POST", dec if kme == "B" else enc, 400,
               _error(f"invalid request ({case})"), expect=400)

    r.call("exhaustion.status", "A", SAE_A, "GET", status, 200, r.status())
    while r.stock > PER_REQUEST:
        n = min(PER_REQUEST, r.stock - 1)
        r.call("exhaustion.drain", "A", SAE_A, "POST", enc, 200, r.issue(n), number=n,
               size=KEY_BITS, request={"number": n, "size": KEY_BITS})
    left = r.stock
    r.call("exhaustion.over", "A", SAE_A, "POST", enc, 503, _error("not enough keys"),
           number=left + 1, size=KEY_BITS, expect=503,
           request={"number": left + 1, "size": KEY_BITS})
    r.call("exhaustion.rest", "A", SAE_A, "POST", enc, 200, r.issue(left), number=left,
           size=KEY_BITS, request={"number": left, "size": KEY_BITS})
    r.call("exhaustion.empty", "A", SAE_A, "POST", enc, 503, _error("not enough keys"),
           number=1, size=KEY_BITS, expect=503, request=req)
    r.call("exhaustion.status-after", "A", SAE_A, "GET", status, 200, r.status())
    return "".join(json.dumps(x, sort_keys=True) + "\n" for x in r.lines).encode()


__all__ = ["FAULTS", "probe_record"]
