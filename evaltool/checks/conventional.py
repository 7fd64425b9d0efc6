"""Checks of the modules' conventional security functions, decided from their logs: self-test
gating of key delivery, key destruction, audit-record content and integrity, lock-out after
failed authentications, management restricted to the administrator, and the response to
tampering.

Each rule is the observable consequence of a CC:2022 Part 2 component as the profile words it
(FPT_FLS.1, FPT_TST.1, FCS_CKM.6, FAU_GEN.1/2, FAU_STG.2, FIA_AFL.1, FMT_MTD.1, FMT_MOF.1,
FPT_PHP.2/3). The records these checks read are described in ``docs/bundle-format.md``
("Logs of the conventional functions"). A rule the capture does not exercise (no failed
self-test, no tamper event, nobody reaching the lock-out limit) is inconclusive, never a pass:
the lab then induces the event (the profile's manual activities).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from evaltool.checks.outcome import Findings, Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.errors import EvidenceError
from evaltool.model.results import Measurement

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext

CC2 = "CC:2022 Part 2"
GENESIS = "0" * 64
"""``prev_sha256`` of the first record of a hash-chained audit log."""




def _count(name: str, value: int, threshold: int | None = 0) -> Measurement:
    return Measurement(name=name, value=value, unit="count", threshold=threshold,
                       passes_if="<=" if threshold is not None else None)


def _time(rec: Mapping[str, Any], slot: str, i: int) -> float:
    t = rec.get("time_s")
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise EvidenceError(f"slot {slot!r}: record {i} has no numeric time_s")
    return float(t)


def _records(ctx: CheckContext, slot: str) -> list[Mapping[str, Any]]:
    return list(ctx.log(slot).records())


def _deliveries(ctx: CheckContext, slot: str) -> list[tuple[float, str]]:
    """(time_s, key_id) of every key a key-delivery log lists, in file order."""
    from evaltool.model.bundle import EvidenceFormat, EvidenceKind

    bf = ctx.file(slot, kinds=[EvidenceKind.KEY_DELIVERY_LOG])
    out: list[tuple[float, str]] = []
    if bf.entry.format is EvidenceFormat.JSONL:
        for i, r in enumerate(ctx.log(slot).records(), 1):
            if "key_id" not in r:
                raise EvidenceError(f"slot {slot!r}: record {i} has no 'key_id'")
            out.append((_time(r, slot, i), str(r["key_id"])))
        return out
    for chunk in ctx.iter_table(slot, ["time_s", "key_id"]):
        out += [(float(t), str(k)) for t, k in zip(chunk["time_s"], chunk["key_id"],
                                                   strict=True)]
    return out


# --- selftest.delivery-gating ----------------------------------------------------------------


class GatingParams(CheckParams):
    """Parameters of ``selftest.delivery-gating``."""

    self_test_slot: str = Field("self_tests", description="self-test-log slot (records with "
                                "time_s and a result)")
    delivery_slot: str = Field("key_delivery", description="key-delivery-log slot")
    result_field: str = Field("result", description="field holding a self-test's result")
    fail_values: tuple[str, ...] = Field(("fail",), description="results that are a failure")
    pass_values: tuple[str, ...] = Field(("pass",), description="results that are a pass")
    require_failure: bool = Field(True, description="without a failed self-test in the log the "
                                  "gating is not exercised: inconclusive (false: pass)")


@check("selftest.delivery-gating", params=GatingParams,
       ref=f"{CC2} FPT_FLS.1.1, FPT_TST.1.1")
def selftest_delivery_gating(p: GatingParams, ctx: CheckContext) -> Outcome:
    """No key is delivered after a failed self-test until a self-test passes again.

    A delivery at or after a failed self-test's time and before the next passing self-test is a
    delivery in a failed state (FPT_FLS.1: the secure state is kept on failure)."""
    tests: list[tuple[float, bool]] = []
    for i, r in enumerate(_records(ctx, p.self_test_slot), 1):
        res = r.get(p.result_field)
        if res in p.fail_values or res in p.pass_values:
            tests.append((_time(r, p.self_test_slot, i), res in p.pass_values))
    if not tests:
        return Outcome.inconclusive(f"slot {p.self_test_slot!r} holds no self-test result")
    tests.sort(key=lambda x: x[0])
    windows: list[tuple[float, float]] = []
    start: float | None = None
    for t, ok in tests:
        if not ok and start is None:
            start = t
        elif ok and start is not None:
            windows.append((start, t))
            start = None
    if start is not None:
        windows.append((start, float("inf")))
    keys = _deliveries(ctx, p.delivery_slot)
    bad = [(t, k) for t, k in keys if any(a <= t < b for a, b in windows)]
    f = Findings("key delivery in a failed state", measurements=[
        Measurement(name="failed_self_tests", value=len(windows), unit="count"),
        Measurement(name="keys_delivered", value=len(keys), unit="count"),
        _count("keys_delivered_in_failed_state", len(bad))])
    for t, k in bad[:3]:
        a, b = next((a, b) for a, b in windows if a <= t < b)
        until = "no passing self-test after it" if b == float("inf") else (
            f"the next pass at {fmt(b)} s")
        f.failures.append(f"key {k} delivered at {fmt(t)} s after the self-test failure at "
                          f"{fmt(a)} s ({until})")
    if len(bad) > 3:
        f.failures.append(f"{len(bad)} such keys in all")
    if not windows and p.require_failure:
        f.undecided.append("no self-test failed in the capture, so the gating is not exercised "
                           "(induce a failure)")
    return f.outcome(f"{len(windows)} self-test failure(s); no key delivered until a self-test "
                     f"passed again ({len(keys)} keys delivered)")


# --- keys.destruction ------------------------------------------------------------------------


class DestructionParams(CheckParams):
    """Parameters of ``keys.destruction``."""

    audit_slot: str = Field("audit_log", description="audit-log slot with the destruction "
                            "records")
    delivery_slot: str = Field("key_delivery", description="key-delivery-log slot")
    blocks_slot: str | None = Field("blocks", description="block-records slot: every aborted "
                                    "block needs a destruction record (null: not checked)")
    key_event: str = Field("key-destroyed", description="event of a delivered key's "
                           "destruction (names the key in key_id)")
    block_event: str = Field("block-destroyed", description="event of an aborted block's "
                             "key material being destroyed (names the block in block_id)")
    max_delay_s: float | None = Field(None, ge=0, description="longest time from the delivery "
                                      "or abort to the destruction (null: any later time)")


def _match(due: Sequence[tuple[float, str]], done: Mapping[str, list[float]],
           max_delay: float | None) -> list[tuple[float, str]]:
    """The items of ``due`` (time, id) without a destruction record of the same id at or after
    their time (within ``max_delay``); each record answers one item."""
    left = {k: sorted(v) for k, v in done.items()}
    missing = []
    for t, k in sorted(due):
        times = left.get(k, [])
        hit = next((x for x in times if x >= t and (max_delay is None or x - t <= max_delay)),
                   None)
        if hit is None:
            missing.append((t, k))
        else:
            times.remove(hit)
    return missing


@check("keys.destruction", params=DestructionParams,
       ref=f"{CC2} FCS_CKM.6.1")
def keys_destruction(p: DestructionParams, ctx: CheckContext) -> Outcome:
    """Every delivered key and the key material of every aborted block is destroyed, and the
    destruction is recorded."""
    destroyed: dict[str, list[float]] = {}
    blocks_done: dict[str, list[float]] = {}
    for i, r in enumerate(_records(ctx, p.audit_slot), 1):
        if r.get("event") == p.key_event and "key_id" in r:
            destroyed.setdefault(str(r["key_id"]), []).append(_time(r, p.audit_slot, i))
        elif r.get("event") == p.block_event and "block_id" in r:
            blocks_done.setdefault(str(r["block_id"]), []).append(_time(r, p.audit_slot, i))
    keys = _deliveries(ctx, p.delivery_slot)
    aborted: list[tuple[float, str]] = []
    if p.blocks_slot is not None:
        b = ctx.blocks(p.blocks_slot)
        aborted = [(float(t), str(i)) for t, i, a in zip(b.time_s, b.block_id, b.aborted,
                                                          strict=True) if a]
    miss_keys = _match(keys, destroyed, p.max_delay_s)
    miss_blocks = _match(aborted, blocks_done, p.max_delay_s)
    f = Findings("key destruction", measurements=[
        Measurement(name="keys_delivered", value=len(keys), unit="count"),
        Measurement(name="blocks_aborted", value=len(aborted), unit="count"),
        _count("keys_without_destruction", len(miss_keys)),
        _count("aborted_blocks_without_destruction", len(miss_blocks))])
    within = "" if p.max_delay_s is None else f" within {fmt(p.max_delay_s)} s"
    if miss_keys:
        f.failures.append(f"{len(miss_keys)} delivered key(s) without a {p.key_event!r} record"
                          f"{within} (first {miss_keys[0][1]}, delivered at "
                          f"{fmt(miss_keys[0][0])} s)")
    if miss_blocks:
        f.failures.append(f"{len(miss_blocks)} aborted block(s) without a {p.block_event!r} "
                          f"record{within} (first block {miss_blocks[0][1]})")
    if not keys and not aborted:
        f.undecided.append("no key delivered and no block aborted")
    return f.outcome(f"all {len(keys)} delivered keys and {len(aborted)} aborted blocks have a "
                     "destruction record")


# --- audit.record-fields ---------------------------------------------------------------------


class FieldsParams(CheckParams):
    """Parameters of ``audit.record-fields``."""

    slot: str = Field("audit_log", description="audit-log slot")
    fields: tuple[str, ...] = Field(("time_s", "event", "subject", "outcome", "user"),
                                    min_length=1, description="fields every record must carry "
                                    "(not null, not empty)")
    events: tuple[str, ...] | None = Field(None, description="only records of these events "
                                           "(null: every record)")


@check("audit.record-fields", params=FieldsParams,
       ref=f"{CC2} FAU_GEN.1.2, FAU_GEN.2.1")
def audit_record_fields(p: FieldsParams, ctx: CheckContext) -> Outcome:
    """Every audit record carries its time, event type, subject, outcome and user."""
    n = 0
    missing: dict[str, int] = {}
    first: tuple[int, str] | None = None
    for i, r in enumerate(_records(ctx, p.slot), 1):
        if p.events is not None and r.get("event") not in p.events:
            continue
        n += 1
        for name in p.fields:
            v = r.get(name)
            if v is None or (isinstance(v, str) and not v.strip()):
                missing[name] = missing.get(name, 0) + 1
                if first is None:
                    first = (i, name)
    bad = sum(missing.values())
    f = Findings("audit record content", measurements=[
        Measurement(name="records", value=n, unit="count"),
        _count("missing_fields", bad)])
    if missing:
        which = ", ".join(f"{k} in {v}" for k, v in missing.items())
        assert first is not None
        f.failures.append(f"fields missing: {which} record(s) (first: record {first[0]} has no "
                          f"{first[1]!r})")
    if n == 0:
        f.undecided.append(f"slot {p.slot!r} holds no record to check")
    return f.outcome(f"all {n} records carry {', '.join(p.fields)}")


# --- audit.trail-integrity -------------------------------------------------------------------


class TrailParams(CheckParams):
    """Parameters of ``audit.trail-integrity``."""

    slot: str = Field("audit_log", description="audit-log slot (records with seq and "
                      "prev_sha256)")


def record_digest(rec: Mapping[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON: keys sorted, separators ``,`` and ``:``, UTF-8."""
    text = json.dumps(dict(rec), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@check("audit.trail-integrity", params=TrailParams, ref=f"{CC2} FAU_STG.2.1, FAU_STG.2.2")
def audit_trail_integrity(p: TrailParams, ctx: CheckContext) -> Outcome:
    """The audit trail is complete and unaltered: sequence numbers run on without a gap and
    each record's ``prev_sha256`` is the SHA-256 of the record before it.

    Detects records deleted from or altered in the exported trail; an unkeyed chain cannot show
    that the whole trail was not rewritten (the profile's manual activity covers that)."""
    f = Findings("audit trail integrity")
    prev, expect_seq, n, gaps, breaks = GENESIS, 0, 0, 0, 0
    for i, r in enumerate(_records(ctx, p.slot), 1):
        n += 1
        seq, link = r.get("seq"), r.get("prev_sha256")
        if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(link, str):
            return Outcome.inconclusive(f"record {i} has no seq or prev_sha256: the trail is "
                                        "not chained", tuple(f.measurements))
        if seq != expect_seq:
            gaps += 1
            f.failures.append(f"record {i} has seq {seq}, {expect_seq} expected (records "
                              "missing or reordered)")
        if link != prev:
            breaks += 1
            f.failures.append(f"record {i} (seq {seq}): prev_sha256 does not match the record "
                              "before it")
        prev, expect_seq = record_digest(r), seq + 1
    f.measurements += [Measurement(name="records", value=n, unit="count"),
                       _count("sequence_gaps", gaps), _count("chain_breaks", breaks)]
    if n == 0:
        f.undecided.append(f"slot {p.slot!r} is empty")
    return f.outcome(f"{n} records, sequence numbers without gaps, hash chain intact")


# --- audit.lockout ---------------------------------------------------------------------------


class LockoutParams(CheckParams):
    """Parameters of ``audit.lockout``."""

    slot: str = Field("audit_log", description="audit-log slot")
    limit: int = Field(ge=1, description="consecutive failed authentications after which the "
                       "account is locked (the ST's assignment)")
    failure_event: str = Field("auth-failure", description="event of a failed authentication")
    success_event: str = Field("auth-success", description="event of a successful one")
    lock_event: str = Field("account-locked", description="event of the lock-out")
    unlock_event: str = Field("account-unlocked", description="event of an administrator "
                              "unlocking the account")
    user_field: str = Field("user", description="field naming the account")


@check("audit.lockout", params=LockoutParams, ref=f"{CC2} FIA_AFL.1.1, FIA_AFL.1.2")
def audit_lockout(p: LockoutParams, ctx: CheckContext) -> Outcome:
    """After the assigned number of consecutive failed authentications the account is locked,
    and no authentication succeeds until it is unlocked.

    The records are read in file order; per account: failures are counted, a success resets
    the count; once the limit is met the lock-out record must come before the account's next
    attempt; a success while locked, or an attempt past the limit without lock-out, fails."""
    f = Findings("authentication failure handling")
    fails: dict[str, int] = {}
    locked: set[str] = set()
    exercised = 0
    auth = {p.failure_event, p.success_event, p.lock_event, p.unlock_event}
    for i, r in enumerate(_records(ctx, p.slot), 1):
        ev = r.get("event")
        if ev not in auth:
            continue
        user = r.get(p.user_field)
        if not isinstance(user, str) or not user:
            f.undecided.append(f"record {i} ({ev}) names no account in {p.user_field!r}")
            continue
        n = fails.get(user, 0)
        if ev == p.lock_event:
            locked.add(user)
            exercised += n >= p.limit
        elif ev == p.unlock_event:
            locked.discard(user)
            fails[user] = 0
        elif user not in locked and n >= p.limit:
            f.failures.append(f"{user}: {n} consecutive failures without lock-out, then "
                              f"{ev} at record {i}")
            exercised += 1
            fails[user] = 0 if ev == p.success_event else n + 1
        elif ev == p.success_event:
            if user in locked:
                f.failures.append(f"{user}: authenticated at record {i} while locked out")
            fails[user] = 0
        else:
            fails[user] = n + 1
    f.measurements += [Measurement(name="limit", value=p.limit, unit="count"),
                       Measurement(name="lockouts_exercised", value=exercised, unit="count",
                                   threshold=1, passes_if=">="),
                       _count("lockout_violations", len(f.failures))]
    if not f.failures and not exercised:
        f.undecided.insert(0, f"no account reached {p.limit} consecutive failures, so the "
                           "lock-out is not exercised")
    return f.outcome(f"{exercised} account(s) locked after {p.limit} consecutive failures; no "
                     "authentication while locked")


# --- audit.admin-only ------------------------------------------------------------------------


class AdminOnlyParams(CheckParams):
    """Parameters of ``audit.admin-only``."""

    slot: str = Field("audit_log", description="audit-log slot")
    events: tuple[str, ...] = Field(min_length=1, description="management events only the "
                                    "administrator may perform")
    admin_roles: tuple[str, ...] = Field(("admin",), min_length=1,
                                         description="roles allowed to perform them")
    role_field: str = Field("role", description="field naming the role of the record's user")
    success_values: tuple[str, ...] = Field(("success",), description="outcomes meaning the "
                                            "action took effect")


@check("audit.admin-only", params=AdminOnlyParams, ref=f"{CC2} FMT_MTD.1.1, FMT_MOF.1.1, "
       "FMT_SMR.1")
def audit_admin_only(p: AdminOnlyParams, ctx: CheckContext) -> Outcome:
    """Only the administrator role changes thresholds or monitors: every such action that took
    effect was performed in an administrator role."""
    f = Findings("management restricted to the administrator")
    done = refused = 0
    for i, r in enumerate(_records(ctx, p.slot), 1):
        if r.get("event") not in p.events:
            continue
        role = r.get(p.role_field)
        if r.get("outcome") not in p.success_values:
            refused += role not in p.admin_roles
            continue
        done += 1
        if not isinstance(role, str) or not role:
            f.undecided.append(f"record {i} ({r.get('event')}) names no role")
        elif role not in p.admin_roles:
            f.failures.append(f"{r.get('event')} of {r.get('subject')!r} by {r.get('user')!r} in "
                              f"role {role!r} took effect (record {i})")
    f.measurements += [Measurement(name="actions", value=done, unit="count"),
                       Measurement(name="refused_non_admin_attempts", value=refused,
                                   unit="count"),
                       _count("actions_by_other_roles", len(f.failures))]
    if done == 0 and not f.failures:
        f.undecided.append(f"no {', '.join(p.events)} record took effect")
    return f.outcome(f"{done} action(s) by {', '.join(p.admin_roles)}; {refused} attempt(s) by "
                     "other roles refused")


# --- tamper.response -------------------------------------------------------------------------


class TamperParams(CheckParams):
    """Parameters of ``tamper.response``."""

    audit_slot: str = Field("audit_log", description="audit-log slot")
    delivery_slot: str | None = Field(None, description="key-delivery-log slot: no key may be "
                                      "delivered after a tamper event (null: not checked)")
    tamper_event: str = Field("tamper-detected", description="event of a detected tamper")
    response_events: tuple[str, ...] = Field(("tamper-alarm",), description="events that must "
                                             "follow each tamper event")
    within_s: float = Field(1.0, ge=0, description="longest time from the tamper event to each "
                            "response")


@check("tamper.response", params=TamperParams, ref=f"{CC2} FPT_PHP.2.3, FPT_PHP.3.1")
def tamper_response(p: TamperParams, ctx: CheckContext) -> Outcome:
    """A tamper event is followed by the alarm and zeroisation, and no key is delivered after it.

    Which responses are required (alarm, zeroisation) and whether deliveries are checked are
    parameters, so one activity can decide notification (FPT_PHP.2) and another the automatic
    response (FPT_PHP.3)."""
    events: list[tuple[float, str]] = [
        (_time(r, p.audit_slot, i), str(r.get("event")))
        for i, r in enumerate(_records(ctx, p.audit_slot), 1)
        if r.get("event") == p.tamper_event or r.get("event") in p.response_events]
    tampers = [t for t, e in events if e == p.tamper_event]
    f = Findings("response to tampering")
    for t in tampers:
        for want in p.response_events:
            if not any(e == want and t <= x <= t + p.within_s for x, e in events):
                f.failures.append(f"no {want!r} within {fmt(p.within_s)} s of the tamper event "
                                  f"at {fmt(t)} s")
    after = 0
    if p.delivery_slot is not None and tampers:
        first = min(tampers)
        late = [(t, k) for t, k in _deliveries(ctx, p.delivery_slot) if t > first]
        after = len(late)
        if late:
            f.failures.append(f"{after} key(s) delivered after the tamper event at {fmt(first)} "
                              f"s (first {late[0][1]} at {fmt(late[0][0])} s)")
    f.measurements += [Measurement(name="tamper_events", value=len(tampers), unit="count",
                                   threshold=1, passes_if=">="),
                       _count("keys_delivered_after_tamper", after)]
    if not tampers:
        f.undecided.append("no tamper event in the capture (open an enclosure to exercise the "
                           "response)")
    done = ", ".join(p.response_events) + (
        ", no key delivered afterwards" if p.delivery_slot else "")
    return f.outcome(f"{len(tampers)} tamper event(s) answered by {done}")


__all__ = ["record_digest"]
