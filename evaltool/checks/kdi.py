"""Key-delivery interface checks deciding from the record of ``evaltool probe etsi-014``.

The record (evidence kind ``key-delivery-probe``, ``docs/kme.md``) holds every request of the
probe's plan against a KME pair and what came back. Each check reads the steps of its part of the
plan (ETSI GS QKD 014 V1.1.1 clauses 5 and 6; TLS and mutual authentication, clause 4) and
decides: a deviation is a fail; a step that timed out, was skipped or could not be run makes the
check inconclusive with the reason; otherwise it passes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from evaltool.checks.outcome import Findings, Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.errors import EvidenceError
from evaltool.model.results import Measurement
from evaltool.model.verdict import Verdict

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext

REF_014 = "ETSI GS QKD 014 V1.1.1"
NO_ANSWER = frozenset({"timeout", "skipped", "connection-error", "connection-closed",
                       "tls-refused", "server-cert-invalid"})
"""Outcomes that leave a step undecided (in the TLS refusal steps, a refusal is the answer)."""
SPEC_STATUSES = frozenset({200, 400, 401, 503})
"""Statuses GS QKD 014 V1.1.1 defines (clause 5): a valid request may get any of them."""
REFUSED = frozenset({"tls-refused", "connection-closed"})
"""Outcomes of a connection the KME refused (at or right after the TLS handshake)."""


class ProbeParams(CheckParams):
    """Parameters shared by the ``kdi.*`` checks."""

    slot: str = Field("kdi_probe", description="slot of the key-delivery-probe record")


@dataclass(frozen=True, slots=True)
class ProbeRecord:
    """The record's header, its exchanges and its notes (steps not run), in file order."""

    header: Mapping[str, Any]
    exchanges: tuple[Mapping[str, Any], ...]
    notes: tuple[Mapping[str, Any], ...]

    def steps(self, prefix: str) -> list[Mapping[str, Any]]:
        """The exchanges whose step is ``prefix`` or starts with ``prefix.``."""
        return [e for e in self.exchanges
                if e.get("step") == prefix or str(e.get("step", "")).startswith(prefix + ".")]

    def step(self, name: str) -> Mapping[str, Any] | None:
        """The first exchange of step ``name``."""
        return next((e for e in self.exchanges if e.get("step") == name), None)

    def note(self, name: str) -> str | None:
        """The note recorded for step ``name`` (why it was not run)."""
        return next((str(n.get("note")) for n in self.notes if n.get("step") == name), None)


def read_record(ctx: CheckContext, slot: str) -> ProbeRecord:
    """The probe record bound to ``slot``; a file that is not one is an evidence error."""
    from evaltool.model.bundle import EvidenceKind

    ctx.file(slot, kinds=[EvidenceKind.KEY_DELIVERY_PROBE])
    lines = list(ctx.log(slot).records())
    if not lines or lines[0].get("record") != "header" \
            or lines[0].get("format") != "key-delivery-probe":
        raise EvidenceError(f"slot {slot!r}: the first line is not a key-delivery-probe header")
    return ProbeRecord(lines[0], tuple(r for r in lines[1:] if r.get("record") == "exchange"),
                       tuple(r for r in lines[1:] if r.get("record") == "note"))


def keys_of(e: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The keys of an exchange's Key container response (empty when there is none)."""
    body = e.get("response") if e else None
    if isinstance(body, Mapping) and isinstance(body.get("keys"), list):
        return [k for k in body["keys"] if isinstance(k, Mapping)]
    return []


def delivered(e: Mapping[str, Any] | None) -> bool:
    """Whether the exchange was answered 200 (or handed out keys)."""
    return e is not None and (e.get("status") == 200 or bool(keys_of(e)))


def _where(e: Mapping[str, Any]) -> str:
    return f"{e.get('step')} (request {e.get('seq')})"


def _undecided(e: Mapping[str, Any]) -> str | None:
    """Why an exchange decides nothing, or None when it does."""
    if e.get("outcome") in NO_ANSWER:
        return f"{_where(e)}: {e.get('outcome')}: {e.get('error', '')}".rstrip(": ")
    if e.get("outcome") == "client-unsupported":
        return f"{_where(e)}: the probe's TLS library cannot run it ({e.get('error', '')})"
    return None


def _count(name: str, value: int, threshold: int = 0) -> Measurement:
    return Measurement(name=name, value=value, unit="count", threshold=threshold,
                       passes_if="<=")


# --- shared decision rules (also for offline key-delivery logs) ---------------------------


def repeated(values: Iterable[str]) -> list[str]:
    """The values that occur more than once, in first-occurrence order."""
    counts = Counter(values)
    return [v for v, n in counts.items() if n > 1]


def key_mismatches(sent: Sequence[Mapping[str, Any]], received: Sequence[Mapping[str, Any]]
                   ) -> list[str]:
    """Key ids whose value (``key_sha256``, ``key_bits``) differs between the two ends, or that
    one end lacks (GS QKD 014 clause 5.3: dec_keys returns the keys enc_keys issued)."""
    a = {str(k.get("key_ID")): (k.get("key_sha256"), k.get("key_bits")) for k in sent}
    b = {str(k.get("key_ID")): (k.get("key_sha256"), k.get("key_bits")) for k in received}
    return [kid for kid in dict.fromkeys([*a, *b]) if a.get(kid) != b.get(kid)]


# --- kdi.log-consistency (offline key-delivery logs) ---------------------------------------


class LogParams(CheckParams):
    """Parameters of ``kdi.log-consistency``."""

    slot: str = Field("key_delivery", description="key-delivery-log slot of one module")
    peer_slot: str | None = Field(None, description="key-delivery-log slot of the other module "
                                  "(its key ids, and digests when both logs have key_sha256, "
                                  "must match)")
    id_column: str = Field("key_id", description="column or field holding the key id")
    digest_column: str = Field("key_sha256", description="column or field holding the SHA-256 "
                               "of the key, when the log records it")
    length_column: str | None = Field(None, description="column or field holding the key's "
                                      "length; when given, the (key id, length) pairs of both "
                                      "logs must be equal")


def _log_keys(ctx: CheckContext, slot: str, p: LogParams) -> list[dict[str, Any]]:
    """The log's keys as ``{key_ID, key_sha256}`` (digest None when the log has none)."""
    from evaltool.model.bundle import EvidenceFormat, EvidenceKind

    bf = ctx.file(slot, kinds=[EvidenceKind.KEY_DELIVERY_LOG])
    if bf.entry.format is EvidenceFormat.JSONL:
        out = []
        for i, r in enumerate(ctx.log(slot).records(), 1):
            if p.id_column not in r:
                raise EvidenceError(f"slot {slot!r}: record {i} has no {p.id_column!r}")
            if p.length_column is not None and p.length_column not in r:
                raise EvidenceError(f"slot {slot!r}: record {i} has no {p.length_column!r}")
            out.append({"key_ID": str(r[p.id_column]), "key_sha256": r.get(p.digest_column),
                        "key_bits": None if p.length_column is None else r[p.length_column]})
        return out
    cols = ctx.columns(slot)
    for c in (p.id_column, p.length_column):
        if c is not None and c not in cols:
            raise EvidenceError(f"slot {slot!r} has no column {c!r}")
    wanted = [p.id_column] + ([p.digest_column] if p.digest_column in cols else []) + (
        [p.length_column] if p.length_column is not None else [])
    out = []
    for chunk in ctx.iter_table(slot, wanted):
        digests = chunk[p.digest_column] if p.digest_column in cols else None
        lengths = chunk[p.length_column] if p.length_column is not None else None
        for j, kid in enumerate(chunk[p.id_column]):
            out.append({"key_ID": str(kid),
                        "key_sha256": None if digests is None else str(digests[j]),
                        "key_bits": None if lengths is None else int(lengths[j])})
    return out


@check("kdi.log-consistency", params=LogParams, ref=f"{REF_014} clauses 5.2, 5.3, 6.3; "
       "CC:2022 Part 2 FDP_ETC.2")
def kdi_log_consistency(p: LogParams, ctx: CheckContext) -> Outcome:
    """Offline key-delivery logs: no key id repeats, and both modules list the same keys.

    The decision rules are those of ``kdi.uniqueness`` and ``kdi.same-key`` applied to the logs;
    key digests are compared only when both logs record them."""
    mine = _log_keys(ctx, p.slot, p)
    f = Findings("key-delivery log consistency")
    dup = repeated(k["key_ID"] for k in mine)
    f.measurements += [Measurement(name="keys_logged", value=len(mine), unit="count"),
                       _count("repeated_key_ids", len(dup))]
    if dup:
        f.failures.append(f"{len(dup)} key ids delivered more than once in {p.slot!r} (first "
                          f"{dup[0]})")
    if p.peer_slot is not None:
        peer = _log_keys(ctx, p.peer_slot, p)
        pdup = repeated(k["key_ID"] for k in peer)
        if pdup:
            f.failures.append(f"{len(pdup)} key ids delivered more than once in "
                              f"{p.peer_slot!r} (first {pdup[0]})")
        with_digests = all(k["key_sha256"] for k in (*mine, *peer))
        keep = ["key_ID"] + (["key_sha256"] if with_digests else []) + (
            ["key_bits"] if p.length_column is not None else [])

        def strip(k: dict[str, Any]) -> dict[str, Any]:
            return {name: k[name] for name in keep}

        diff = key_mismatches([strip(k) for k in mine], [strip(k) for k in peer])
        f.measurements.append(_count("keys_differing_between_logs", len(diff)))
        if diff:
            what = "key ids" + (" or digests" if with_digests else "") + (
                " or lengths" if p.length_column is not None else "")
            f.failures.append(f"{len(diff)} {what} differ between {p.slot!r} and "
                              f"{p.peer_slot!r} (first {diff[0]})")
    if not mine:
        f.undecided.append(f"slot {p.slot!r} lists no key")
    both = f" and {p.peer_slot!r} agree" if p.peer_slot else ""
    return f.outcome(f"{len(mine)} keys logged, no key id repeats{both}")


# --- kdi.tls --------------------------------------------------------------------------------

_TLS_REFUSALS = (
    ("tls.no-client-cert", "a client without certificate"),
    ("tls.foreign-ca", "a certificate from another CA"),
    ("tls.expired", "an expired certificate"),
    ("tls.tls1.0", "TLS 1.0"),
    ("tls.tls1.1", "TLS 1.1"),
)


@check("kdi.tls", params=ProbeParams, ref=f"{REF_014} clause 4 (TLS >= 1.2, mutual "
       "authentication); RFC 8446, RFC 5246")
def kdi_tls(p: ProbeParams, ctx: CheckContext) -> Outcome:
    """TLS >= 1.2 with a valid client certificate of the KME's CA; the SAE id is the certificate's.

    Refused: no client certificate, one from another CA, an expired one, TLS 1.0 and 1.1; a SAE
    naming another SAE in the request body obtains nothing."""
    rec = read_record(ctx, p.slot)
    f = Findings("TLS and SAE authentication")
    pre = rec.step("preflight.status")
    if pre is None or pre.get("status") != 200:
        got = "not in the record" if pre is None else (
            f"{pre.get('outcome')} {pre.get('status') or ''} {pre.get('error') or ''}".strip())
        return Outcome.inconclusive("the probe's own authenticated status request did not "
                                    f"succeed ({got}), so refusals prove nothing")
    for step, what in _TLS_REFUSALS:
        e = rec.step(step)
        if e is None:
            f.undecided.append(f"{step} not run ({rec.note(step) or 'not in the record'})")
        elif e.get("outcome") in REFUSED or e.get("status") in (401, 403):
            continue
        elif (why := _undecided(e)) is not None:
            f.undecided.append(why)
        else:
            f.failures.append(f"{what} was answered {e.get('status')} at {_where(e)}")
    claim = rec.step("tls.identity.claim")
    if claim is None:
        f.undecided.append("tls.identity.claim not run (no key issued for it)")
    elif (why := _undecided(claim)) is not None:
        f.undecided.append(why)
    elif delivered(claim):
        f.failures.append(f"SAE {claim.get('sae_id')} obtained a key for another SAE by naming "
                          f"it in the request body at {_where(claim)}")
    f.measurements.append(_count("tls_failures", len(f.failures)))
    return f.outcome("refused without a certificate, with a foreign CA's, an expired one and on "
                     "TLS 1.0/1.1; the SAE id is not taken from the request")


# --- kdi.same-key -----------------------------------------------------------------------------


class SameKeyParams(ProbeParams):
    """Parameters of ``kdi.same-key``."""

    min_keys: int = Field(1, ge=1, description="keys that must be compared to decide")


def _same_key_pairs(rec: ProbeRecord) -> list[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    decs = {e.get("batch"): e for e in rec.steps("same-key.dec")}
    return [(e, decs.get(e.get("batch"))) for e in rec.steps("same-key.enc")]


@check("kdi.same-key", params=SameKeyParams, ref=f"{REF_014} clauses 5.2, 5.3")
def kdi_same_key(p: SameKeyParams, ctx: CheckContext) -> Outcome:
    """Keys from enc_keys at KME-A equal those from dec_keys at KME-B, byte for byte (SHA-256)."""
    rec = read_record(ctx, p.slot)
    f = Findings("same key at both ends")
    compared = bad = 0
    for enc, dec in _same_key_pairs(rec):
        for e in (enc, dec):
            if e is not None and (why := _undecided(e)) is not None:
                f.undecided.append(why)
        if not delivered(enc):
            if enc.get("outcome") == "response":
                f.undecided.append(f"{_where(enc)}: enc_keys answered {enc.get('status')}")
            continue
        sent = keys_of(enc)
        if dec is None or _undecided(dec) is not None:
            continue
        if not delivered(dec):
            f.failures.append(f"dec_keys at KME-B answered {dec.get('status')} for keys issued "
                              f"at KME-A ({_where(dec)})")
            bad += len(sent)
            continue
        diff = key_mismatches(sent, keys_of(dec))
        compared += len(sent)
        bad += len(diff)
        if diff:
            f.failures.append(f"{len(diff)} of {len(sent)} keys differ between the ends at "
                              f"{_where(dec)} (first {diff[0]})")
    f.measurements += [Measurement(name="keys_compared", value=compared, unit="count",
                                   threshold=p.min_keys, passes_if=">="),
                       _count("keys_differing", bad)]
    if not f.failures and compared < p.min_keys:
        f.undecided.append(f"{compared} keys compared, fewer than {p.min_keys}")
    return f.outcome(f"{compared} keys identical at KME-A (enc_keys) and KME-B (dec_keys)")


# --- kdi.uniqueness ---------------------------------------------------------------------------


class UniquenessParams(ProbeParams):
    """Parameters of ``kdi.uniqueness``."""

    min_keys: int = Field(100, ge=1, description="keys issued needed to decide")
    randomness: Literal["auto", "required", "off"] = Field(
        "auto", description="SP 800-22 battery on the delivered key values (recorded with "
        "--keep-keys): auto runs it when there are enough bits, required makes the check "
        "inconclusive without them")
    sp800_22_n: int = Field(1_000_000, ge=387_840, description="bits per SP 800-22 sequence "
                            "(at least the universal test's minimum)")
    sp800_22_min_sequences: int = Field(10, ge=3, description="sequences needed to run the "
                                        "battery (below 3 no family-wise result can fail; "
                                        "uniformity needs 10)")


@check("kdi.uniqueness", params=UniquenessParams, ref=f"{REF_014} clause 6.3 (key_ID); "
       "CC:2022 Part 2 FCS_CKM")
def kdi_uniqueness(p: UniquenessParams, ctx: CheckContext) -> Outcome:
    """No key id and no key value repeats among the keys the KME issued in the record.

    With the key values recorded (``--keep-keys``) and enough bits, the delivered key material
    also goes through the SP 800-22 battery (``sp800-22.battery``'s family-wise decision)."""
    rec = read_record(ctx, p.slot)
    issued = [k for e in rec.exchanges if str(e.get("path", "")).split("?")[0].endswith(
        "/enc_keys") and e.get("status") == 200 for k in keys_of(e)]
    ids = repeated(str(k.get("key_ID")) for k in issued)
    values = repeated(str(k.get("key_sha256")) for k in issued if k.get("key_sha256"))
    f = Findings("key uniqueness", measurements=[
        Measurement(name="keys_issued", value=len(issued), unit="count", threshold=p.min_keys,
                    passes_if=">="),
        _count("repeated_key_ids", len(ids)), _count("repeated_key_values", len(values))])
    if ids:
        f.failures.append(f"{len(ids)} key ids issued more than once (first {ids[0]})")
    if values:
        f.failures.append(f"{len(values)} key values issued more than once")
    if not f.failures and len(issued) < p.min_keys:
        f.undecided.append(f"{len(issued)} keys issued, fewer than {p.min_keys}")
    extra = ""
    if p.randomness != "off":
        battery, why = _key_battery(issued, p)
        if battery is None:
            extra = f"; SP 800-22 not run: {why}"
            if p.randomness == "required":
                f.undecided.append(f"SP 800-22 not run: {why}")
        else:
            f.measurements += battery.measurements
            extra = f"; {battery.reason}"
            if battery.verdict is Verdict.FAIL:
                f.failures.append(f"the delivered key material fails {battery.reason}")
            elif battery.verdict is not Verdict.PASS:
                f.undecided.append(battery.reason)
    return f.outcome(f"{len(issued)} keys issued, no key id or key value repeats{extra}")


def _key_battery(issued: Sequence[Mapping[str, Any]], p: UniquenessParams
                 ) -> tuple[Outcome | None, str]:
    """The SP 800-22 battery on the key values in record order, or why it cannot run."""
    import base64
    import binascii

    import numpy as np

    from evaltool.checks.sp800_22 import decide_bits

    values = [k.get("key") for k in issued]
    if not values or not all(isinstance(v, str) for v in values):
        return None, "the record holds no key values (probe with --keep-keys)"
    try:
        raw = b"".join(base64.b64decode(str(v), validate=True) for v in values)
    except (binascii.Error, ValueError):
        return None, "a recorded key value is not base64"
    m = 8 * len(raw) // p.sp800_22_n
    if m < p.sp800_22_min_sequences:
        return None, (f"{8 * len(raw)} bits of key material, fewer than "
                      f"{p.sp800_22_min_sequences} sequences of {p.sp800_22_n}")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
    return decide_bits(iter([bits]), n=p.sp800_22_n, m=m), ""


# --- kdi.no-redelivery ------------------------------------------------------------------------


def _stored(e: Mapping[str, Any] | None) -> int | None:
    body = e.get("response") if e else None
    if e is None or e.get("status") != 200 or not isinstance(body, Mapping):
        return None
    v = body.get("stored_key_count")
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@check("kdi.no-redelivery", params=ProbeParams, ref=f"{REF_014} clause 5.3; clause 6.1 "
       "(stored_key_count)")
def kdi_no_redelivery(p: ProbeParams, ctx: CheckContext) -> Outcome:
    """A key is delivered once: a second dec_keys for it fails; stored_key_count falls.

    stored_key_count must fall by at least the keys issued between the two status requests (a
    KME that replenishes its store during the probe can hide a fall)."""
    rec = read_record(ctx, p.slot)
    f = Findings("no re-delivery")
    first, again = rec.step("redelivery.dec"), rec.step("redelivery.again")
    for e in (first, again):
        if e is not None and (why := _undecided(e)) is not None:
            f.undecided.append(why)
    if first is None or again is None:
        f.undecided.append("the re-delivery steps are not in the record")
    elif _undecided(first) is None and not delivered(first):
        f.undecided.append(f"the first dec_keys was answered {first.get('status')}")
    elif _undecided(again) is None and delivered(again):
        f.failures.append(f"the key was delivered a second time at {_where(again)}")
    before, after = _stored(rec.step("status.before")), _stored(rec.step("status.after"))
    status = (rec.step("status.before") or {}).get("response")
    key_size = status.get("key_size") if isinstance(status, Mapping) else None
    issued_bits = sum(int(k.get("key_bits", 0)) for e in rec.steps("same-key.enc")
                      for k in keys_of(e) if e.get("status") == 200)
    if before is None or after is None or not isinstance(key_size, int) or key_size <= 0:
        f.undecided.append("no stored_key_count before and after the same-key requests")
    else:
        fall, issued = before - after, issued_bits // key_size
        f.measurements.append(Measurement(name="stored_key_count_fall", value=fall,
                                          unit="count", threshold=issued, passes_if=">="))
        if fall < issued:
            f.failures.append(f"stored_key_count fell by {fmt(fall)} while {fmt(issued)} keys "
                              "were issued")
    return f.outcome("a second dec_keys for a delivered key failed; stored_key_count fell by "
                     "the keys issued")


# --- kdi.isolation ----------------------------------------------------------------------------

_INTRUDERS = (("isolation.third", "a third SAE"),
              ("isolation.master-own", "the master SAE at its own KME"),
              ("isolation.master-peer", "the master SAE at the slave's KME"))


@check("kdi.isolation", params=ProbeParams, ref=f"{REF_014} clause 5.3 (only the slave SAEs "
       "named in the key request obtain the key)")
def kdi_isolation(p: ProbeParams, ctx: CheckContext) -> Outcome:
    """Neither a third SAE nor the master itself obtains a key issued for the slave."""
    rec = read_record(ctx, p.slot)
    f = Findings("key isolation")
    if rec.step("isolation.enc") is None or not delivered(rec.step("isolation.enc")):
        return Outcome.inconclusive("no key was issued for the isolation steps")
    for step, who in _INTRUDERS:
        e = rec.step(step)
        if e is None:
            f.undecided.append(f"{step} not run ({rec.note(step) or 'not in the record'})")
        elif (why := _undecided(e)) is not None:
            f.undecided.append(why)
        elif delivered(e):
            f.failures.append(f"{who} ({e.get('sae_id')}) obtained the slave's key at "
                              f"{_where(e)}")
    slave = rec.step("isolation.slave")
    if not f.failures and (slave is None or not delivered(slave)):
        f.undecided.append("the slave itself did not obtain the key afterwards, so the refusals "
                           "may not be isolation")
    f.measurements.append(_count("keys_obtained_by_other_saes", len(f.failures)))
    return f.outcome("a third SAE and the master were refused the slave's key; the slave "
                     "obtained it")


# --- kdi.input-validation ---------------------------------------------------------------------


def _has_message(e: Mapping[str, Any]) -> bool:
    body = e.get("response")
    return isinstance(body, Mapping) and isinstance(body.get("message"), str)


@check("kdi.input-validation", params=ProbeParams, ref=f"{REF_014} clauses 5.2, 5.3, 6.2, "
       "6.4, 6.5 (400 with an Error body)")
def kdi_input_validation(p: ProbeParams, ctx: CheckContext) -> Outcome:
    """Every invalid request is answered 400 with an Error message, never 5xx or keys.

    Valid requests get exactly the number and size of keys they asked for; requests generated by
    ``--fuzz`` get 400 when the 014 schema refuses them and a status 014 defines otherwise."""
    rec = read_record(ctx, p.slot)
    f = Findings("input validation")
    cases = rec.steps("input")
    for e in cases:
        if (why := _undecided(e)) is not None:
            f.undecided.append(why)
        elif keys_of(e) or e.get("status") == 200:
            f.failures.append(f"{e.get('step')} was accepted ({e.get('status')})")
        elif e.get("status") != 400:
            f.failures.append(f"{e.get('step')} was answered {e.get('status')}, not 400")
        elif not _has_message(e):
            f.failures.append(f"{e.get('step')}: the 400 has no Error message")
    fuzzed = rec.steps("fuzz")
    for e in fuzzed:
        if (why := _undecided(e)) is not None:
            f.undecided.append(why)
        elif e.get("expect") == 400:
            if keys_of(e) or e.get("status") != 400 or not _has_message(e):
                f.failures.append(f"{_where(e)}: a request the 014 schema refuses was answered "
                                  f"{e.get('status')}" + (" with keys" if keys_of(e) else ""))
        elif e.get("status") not in SPEC_STATUSES:
            f.failures.append(f"{_where(e)}: a valid request was answered {e.get('status')}")
    for e in rec.steps("same-key.enc"):
        want, got = e.get("number"), len(keys_of(e))
        if e.get("status") == 200 and isinstance(want, int) and got != want:
            f.failures.append(f"{_where(e)} asked {want} keys and got {got}")
        sizes = {k.get("key_bits") for k in keys_of(e)} - {e.get("size")}
        if e.get("status") == 200 and sizes:
            f.failures.append(f"{_where(e)} asked {e.get('size')}-bit keys and got {sizes}")
    if not cases:
        f.undecided.append("no input-validation steps in the record")
    f.measurements += [Measurement(name="invalid_requests", value=len(cases), unit="count"),
                       Measurement(name="fuzzed_requests", value=len(fuzzed), unit="count"),
                       _count("requests_mishandled", len(f.failures))]
    extra = f"; {len(fuzzed)} generated requests answered as 014 defines" if fuzzed else ""
    return f.outcome(f"{len(cases)} invalid requests answered 400 with a message{extra}")


# --- kdi.exhaustion ---------------------------------------------------------------------------


@check("kdi.exhaustion", params=ProbeParams, ref=f"{REF_014} clause 5.2 (503 when the keys "
       "cannot be supplied)")
def kdi_exhaustion(p: ProbeParams, ctx: CheckContext) -> Outcome:
    """Requests beyond the keys left in the store are answered 503, never with short key sets.

    Both a request for one key more than is left and one on the empty store are tested."""
    rec = read_record(ctx, p.slot)
    skipped = rec.note("exhaustion.skipped")
    if skipped:
        return Outcome.inconclusive(f"the key store was not emptied: {skipped}")
    f = Findings("key store exhaustion")
    steps = [e for e in (rec.step("exhaustion.over"), rec.step("exhaustion.empty")) if e]
    if rec.step("exhaustion.empty") is None:
        f.undecided.append("the request on the empty store is not in the record")
    for e in steps:
        want, got = e.get("number"), len(keys_of(e))
        if (why := _undecided(e)) is not None:
            f.undecided.append(why)
        elif got or e.get("status") == 200:
            f.failures.append(f"{_where(e)} asked {want} keys and got {got} "
                              f"(status {e.get('status')}), 503 expected")
        elif e.get("status") != 503:
            f.failures.append(f"{_where(e)} was answered {e.get('status')}, 503 expected")
    f.measurements.append(_count("short_or_wrong_answers", len(f.failures)))
    return f.outcome("requests beyond the keys left were answered 503 without keys")


# --- kdi.qos ----------------------------------------------------------------------------------


class QosParams(ProbeParams):
    """Parameters of ``kdi.qos`` (security-target assignments, ITU-T Y.3807)."""

    max_median_delay_s: float = Field(1.0, gt=0, description="median key response delay")
    max_p99_delay_s: float = Field(5.0, gt=0, description="99th percentile of the delay")
    max_delay_std_s: float | None = Field(None, gt=0, description="delay variation (standard "
                                          "deviation), unchecked when null")
    max_error_ratio: float = Field(0.0, ge=0, le=1, description="share of key requests "
                                   "(enc_keys and dec_keys) not answered 200")
    max_loss_ratio: float = Field(0.0, ge=0, le=1, description="share of keys issued at KME-A "
                                  "that KME-B did not deliver (their values are kdi.same-key's)")
    min_samples: int = Field(10, ge=1, description="answered key requests needed to decide")


@check("kdi.qos", params=QosParams, ref="ITU-T Y.3807 (QKDN QoS: key supply delay, variation, "
       f"error and loss); {REF_014} clauses 5.2, 5.3")
def kdi_qos(p: QosParams, ctx: CheckContext) -> Outcome:
    """Key response delay (median, p99, deviation), error and loss ratios are within the ST's.

    Computed over the same-key requests (enc_keys at KME-A, dec_keys at KME-B)."""
    from evaltool.engines.stats.delays import delay_summary

    rec = read_record(ctx, p.slot)
    reqs = rec.steps("same-key")
    answered = [e for e in reqs if e.get("outcome") == "response"]
    errors = sum(1 for e in reqs if e.get("status") != 200)
    issued = lost = 0
    for enc, dec in _same_key_pairs(rec):
        sent = keys_of(enc) if enc.get("status") == 200 else []
        issued += len(sent)
        ok = dec is not None and dec.get("status") == 200
        got = {str(k.get("key_ID")) for k in keys_of(dec)} if ok else set()
        lost += sum(1 for k in sent if str(k.get("key_ID")) not in got)
    s = delay_summary([float(e.get("elapsed_s", 0.0)) for e in answered])
    err_ratio = errors / len(reqs) if reqs else float("nan")
    loss_ratio = lost / issued if issued else float("nan")
    ms = [Measurement(name="median_delay_s", value=s.median, unit="s",
                      threshold=p.max_median_delay_s, passes_if="<="),
          Measurement(name="p99_delay_s", value=s.p99, unit="s", threshold=p.max_p99_delay_s,
                      passes_if="<="),
          Measurement(name="delay_std_s", value=s.std, unit="s", threshold=p.max_delay_std_s,
                      passes_if="<=" if p.max_delay_std_s is not None else None),
          Measurement(name="error_ratio", value=err_ratio, unit="ratio",
                      threshold=p.max_error_ratio, passes_if="<="),
          Measurement(name="loss_ratio", value=loss_ratio, unit="ratio",
                      threshold=p.max_loss_ratio, passes_if="<=")]
    f = Findings("key delivery QoS", measurements=ms)
    if s.n < p.min_samples or not issued:
        return Outcome.inconclusive(f"{s.n} answered key requests, {p.min_samples} needed", ms)
    limits = [("median delay", s.median, p.max_median_delay_s, " s"),
              ("p99 delay", s.p99, p.max_p99_delay_s, " s"),
              ("delay standard deviation", s.std, p.max_delay_std_s, " s"),
              ("error ratio", err_ratio, p.max_error_ratio, ""),
              ("loss ratio", loss_ratio, p.max_loss_ratio, "")]
    for name, value, limit, unit in limits:
        if limit is not None and value > limit:
            f.failures.append(f"{name} {fmt(value)}{unit} above {fmt(limit)}{unit}")
    return f.outcome(f"{s.n} key requests: median delay {fmt(s.median)} s, p99 {fmt(s.p99)} s, "
                     f"error ratio {fmt(err_ratio)}, loss ratio {fmt(loss_ratio)}")


__all__ = ["ProbeRecord", "key_mismatches", "read_record", "repeated"]
