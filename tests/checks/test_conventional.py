"""The checks of the conventional functions (``evaltool/checks/conventional.py``) on small
hand-written logs: each rule passes, fails and stays inconclusive where it should."""

from __future__ import annotations

import json
from pathlib import Path

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.conventional import GENESIS, record_digest
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import csv_bytes, make_bundle


def _jsonl(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _run(kind: str, root: Path, **params: object) -> tuple[Verdict, str, dict[str, float | None]]:
    ct = get(kind)
    o = ct.run(ct.params.model_validate(params), CheckContext(load_bundle(root), {}, 1))
    return o.verdict, o.reason, {m.name: m.value for m in o.measurements}


def _deliveries(times: list[float]) -> tuple[str, str, str, bytes]:
    rows: list[list[object]] = [[t, f"k{i}"] for i, t in enumerate(times)]
    return ("key-delivery-log", "csv", "kd.csv", csv_bytes(["time_s", "key_id"], rows))


def _log(kind: str, rows: list[dict[str, object]]) -> tuple[str, str, str, bytes]:
    return (kind, "jsonl", f"{kind}.jsonl", _jsonl(rows))


# --- selftest.delivery-gating ----------------------------------------------------------------


def _gating(tmp: Path, tests: list[tuple[float, str]], times: list[float]) -> Path:
    return make_bundle(tmp, {
        "self_tests": _log("self-test-log", [{"time_s": t, "event": "periodic-self-test",
                                              "result": r} for t, r in tests]),
        "key_delivery": _deliveries(times)})


def test_gating_passes_when_delivery_waits_for_the_retest(tmp_path: Path) -> None:
    root = _gating(tmp_path, [(0.0, "pass"), (5.0, "fail"), (6.0, "pass")], [1.0, 4.9, 6.5])
    v, reason, m = _run("selftest.delivery-gating", root)
    assert v is Verdict.PASS, reason
    assert m == {"failed_self_tests": 1, "keys_delivered": 3,
                 "keys_delivered_in_failed_state": 0}


def test_gating_fails_on_a_key_delivered_in_the_failed_state(tmp_path: Path) -> None:
    root = _gating(tmp_path, [(0.0, "pass"), (5.0, "fail"), (6.0, "pass"), (8.0, "fail")],
                   [1.0, 5.0, 5.5, 6.5, 9.0])
    v, reason, m = _run("selftest.delivery-gating", root)
    assert v is Verdict.FAIL
    assert m["keys_delivered_in_failed_state"] == 3
    assert "key k1 delivered at 5 s after the self-test failure at 5 s (the next pass at 6 s)" \
        in reason
    assert "key k4 delivered at 9 s after the self-test failure at 8 s (no passing self-test " \
        "after it)" in reason


def test_gating_is_inconclusive_without_a_failure(tmp_path: Path) -> None:
    root = _gating(tmp_path / "a", [(0.0, "pass")], [1.0])
    v, reason, _ = _run("selftest.delivery-gating", root)
    assert v is Verdict.INCONCLUSIVE and "not exercised" in reason
    assert _run("selftest.delivery-gating", root, require_failure=False)[0] is Verdict.PASS
    root = _gating(tmp_path / "b", [], [1.0])
    assert _run("selftest.delivery-gating", root)[0] is Verdict.INCONCLUSIVE


# --- keys.destruction ------------------------------------------------------------------------


def _destruction(tmp: Path, destroyed: list[tuple[float, str]], blocks_destroyed: list[int]
                 ) -> Path:
    audit = [{"time_s": t, "event": "key-destroyed", "key_id": k} for t, k in destroyed]
    audit += [{"time_s": 3.1, "event": "block-destroyed", "block_id": b}
              for b in blocks_destroyed]
    blocks = csv_bytes(["block_id", "time_s", "ec_leakage_bits", "pa_output_bits", "aborted"],
                       [[0, 1.0, 10, 5, 0], [1, 2.0, 10, 5, 0], [2, 3.0, 10, 0, 1]])
    return make_bundle(tmp, {
        "audit_log": _log("audit-log", audit), "key_delivery": _deliveries([1.01, 2.01]),
        "blocks": ("block-records", "csv", "blocks.csv", blocks)})


def test_destruction_of_every_key_and_aborted_block(tmp_path: Path) -> None:
    root = _destruction(tmp_path / "ok", [(1.02, "k0"), (2.02, "k1")], [2])
    v, reason, m = _run("keys.destruction", root)
    assert (v, reason) == (Verdict.PASS, "all 2 delivered keys and 1 aborted blocks have a "
                           "destruction record")
    assert m["keys_without_destruction"] == 0
    # Destroyed before it was delivered does not count; neither does one too late.
    root = _destruction(tmp_path / "early", [(0.5, "k0"), (2.02, "k1")], [])
    v, reason, m = _run("keys.destruction", root)
    assert v is Verdict.FAIL
    assert m == {"keys_delivered": 2, "blocks_aborted": 1, "keys_without_destruction": 1,
                 "aborted_blocks_without_destruction": 1}
    assert "1 delivered key(s) without a 'key-destroyed' record (first k0, delivered at " \
        "1.01 s)" in reason
    assert "1 aborted block(s) without a 'block-destroyed' record (first block 2)" in reason
    root = _destruction(tmp_path / "late", [(1.5, "k0"), (2.02, "k1")], [2])
    assert _run("keys.destruction", root, max_delay_s=0.1)[0] is Verdict.FAIL
    assert _run("keys.destruction", root)[0] is Verdict.PASS


# --- audit.record-fields ---------------------------------------------------------------------


def test_record_fields(tmp_path: Path) -> None:
    full = {"time_s": 0.0, "event": "abort", "subject": "block 1", "outcome": "success",
            "user": "tsf"}
    root = make_bundle(tmp_path / "ok", {"audit_log": _log("audit-log", [full, full])})
    assert _run("audit.record-fields", root)[:2] == (
        Verdict.PASS, "all 2 records carry time_s, event, subject, outcome, user")
    rows = [full, {**full, "user": ""}, {k: v for k, v in full.items() if k != "outcome"}]
    root = make_bundle(tmp_path / "bad", {"audit_log": _log("audit-log", rows)})
    v, reason, m = _run("audit.record-fields", root)
    assert v is Verdict.FAIL and m["missing_fields"] == 2
    assert "user in 1, outcome in 1 record(s) (first: record 2 has no 'user')" in reason
    # Only the listed fields, only the listed events.
    assert _run("audit.record-fields", root, fields=["time_s", "event"])[0] is Verdict.PASS
    assert _run("audit.record-fields", root, events=["reboot"])[0] is Verdict.INCONCLUSIVE


# --- audit.trail-integrity -------------------------------------------------------------------


def _chained(n: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    prev = GENESIS
    for i in range(n):
        r: dict[str, object] = {"time_s": float(i), "event": "e", "seq": i, "prev_sha256": prev}
        prev = record_digest(r)
        out.append(r)
    return out


def test_trail_integrity(tmp_path: Path) -> None:
    rows = _chained(5)
    root = make_bundle(tmp_path / "ok", {"audit_log": _log("audit-log", rows)})
    assert _run("audit.trail-integrity", root)[:2] == (
        Verdict.PASS, "5 records, sequence numbers without gaps, hash chain intact")
    deleted = rows[:2] + rows[3:]
    root = make_bundle(tmp_path / "del", {"audit_log": _log("audit-log", deleted)})
    v, reason, m = _run("audit.trail-integrity", root)
    assert v is Verdict.FAIL and (m["sequence_gaps"], m["chain_breaks"]) == (1, 1)
    assert "record 3 has seq 3, 2 expected" in reason
    altered = [dict(r) for r in rows]
    altered[1]["event"] = "other"
    root = make_bundle(tmp_path / "alt", {"audit_log": _log("audit-log", altered)})
    v, reason, m = _run("audit.trail-integrity", root)
    assert v is Verdict.FAIL and (m["sequence_gaps"], m["chain_breaks"]) == (0, 1)
    assert "record 3 (seq 2): prev_sha256 does not match" in reason
    plain = make_bundle(tmp_path / "plain", {"audit_log": _log("audit-log", [{"event": "e"}])})
    assert _run("audit.trail-integrity", plain)[0] is Verdict.INCONCLUSIVE


# --- audit.lockout and audit.admin-only ------------------------------------------------------


def _auth(events: list[tuple[str, str]]) -> list[dict[str, object]]:
    return [{"time_s": float(i), "event": e, "user": u} for i, (e, u) in enumerate(events)]


def test_lockout(tmp_path: Path) -> None:
    ok = _auth([("auth-failure", "u"), ("auth-success", "u"), ("auth-failure", "u"),
                ("auth-failure", "u"), ("auth-failure", "u"), ("account-locked", "u"),
                ("auth-failure", "u"), ("account-unlocked", "u"), ("auth-success", "u")])
    root = make_bundle(tmp_path / "ok", {"audit_log": _log("audit-log", ok)})
    v, reason, m = _run("audit.lockout", root, limit=3)
    assert v is Verdict.PASS, reason
    assert m["lockouts_exercised"] == 1
    # One failure fewer than the limit exercises nothing.
    assert _run("audit.lockout", root, limit=4)[0] is Verdict.INCONCLUSIVE
    no_lock = _auth([("auth-failure", "u")] * 3 + [("auth-success", "u")])
    root = make_bundle(tmp_path / "nolock", {"audit_log": _log("audit-log", no_lock)})
    v, reason, _ = _run("audit.lockout", root, limit=3)
    assert v is Verdict.FAIL
    assert "u: 3 consecutive failures without lock-out, then auth-success at record 4" in reason
    while_locked = _auth([("auth-failure", "u")] * 2 + [("account-locked", "u"),
                                                        ("auth-success", "u")])
    root = make_bundle(tmp_path / "locked", {"audit_log": _log("audit-log", while_locked)})
    v, reason, _ = _run("audit.lockout", root, limit=2)
    assert v is Verdict.FAIL and "u: authenticated at record 4 while locked out" in reason


def test_admin_only(tmp_path: Path) -> None:
    def rec(role: str, outcome: str) -> dict[str, object]:
        return {"time_s": 0.0, "event": "threshold-changed", "subject": "qber", "user": role,
                "role": role, "outcome": outcome}

    root = make_bundle(tmp_path / "ok", {"audit_log": _log(
        "audit-log", [rec("admin", "success"), rec("operator", "failure")])})
    v, reason, m = _run("audit.admin-only", root, events=["threshold-changed"])
    assert (v, reason) == (Verdict.PASS, "1 action(s) by admin; 1 attempt(s) by other roles "
                           "refused")
    root = make_bundle(tmp_path / "bad", {"audit_log": _log(
        "audit-log", [rec("admin", "success"), rec("operator", "success")])})
    v, reason, m = _run("audit.admin-only", root, events=["threshold-changed"])
    assert v is Verdict.FAIL and m["actions_by_other_roles"] == 1
    assert "by 'operator' in role 'operator' took effect (record 2)" in reason
    assert _run("audit.admin-only", root, events=["monitor-changed"])[0] is \
        Verdict.INCONCLUSIVE


# --- tamper.response -------------------------------------------------------------------------


def test_tamper_response(tmp_path: Path) -> None:
    audit = [{"time_s": 5.0, "event": "tamper-detected"}, {"time_s": 5.0, "event": "tamper-alarm"},
             {"time_s": 5.3, "event": "zeroisation"}]
    root = make_bundle(tmp_path / "ok", {"audit_log": _log("audit-log", audit),
                                         "key_delivery": _deliveries([1.0, 4.9])})
    both = {"delivery_slot": "key_delivery", "response_events": ["tamper-alarm", "zeroisation"]}
    assert _run("tamper.response", root, **both)[0] is Verdict.PASS
    assert _run("tamper.response", root, **both, within_s=0.2)[0] is Verdict.FAIL
    root = make_bundle(tmp_path / "late", {"audit_log": _log("audit-log", audit[:2]),
                                           "key_delivery": _deliveries([1.0, 6.0])})
    v, reason, m = _run("tamper.response", root, **both)
    assert v is Verdict.FAIL and m["keys_delivered_after_tamper"] == 1
    assert "no 'zeroisation' within 1 s of the tamper event at 5 s" in reason
    assert "1 key(s) delivered after the tamper event at 5 s (first k1 at 6 s)" in reason
    # The alarm alone (FPT_PHP.2) is there.
    assert _run("tamper.response", root)[0] is Verdict.PASS
    quiet = make_bundle(tmp_path / "quiet", {"audit_log": _log("audit-log", [{"time_s": 0.0,
                                                                              "event": "x"}])})
    assert _run("tamper.response", quiet)[0] is Verdict.INCONCLUSIVE
