"""``kdi.log-consistency``: the offline key-delivery logs decided by the live checks' rules."""

from __future__ import annotations

import json
from pathlib import Path

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import csv_bytes, make_bundle

REPO = Path(__file__).resolve().parents[2]


def _run(root: Path, **params: object) -> tuple[Verdict, str]:
    ct = get("kdi.log-consistency")
    o = ct.run(ct.params.model_validate(params), CheckContext(load_bundle(root), {}, 1))
    return o.verdict, o.reason


def _jsonl(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_the_simulated_log_has_unique_ids() -> None:
    verdict, reason = _run(REPO / "test_vectors" / "scenarios" / "honest")
    assert verdict is Verdict.PASS
    assert reason == "19 keys logged, no key id repeats"


def test_repeated_ids_and_disagreeing_ends_fail(tmp_path: Path) -> None:
    a = [{"time_s": i, "key_id": f"k{i}", "key_sha256": f"{i:064x}"} for i in range(4)]
    b = [dict(r) for r in a]
    root = make_bundle(tmp_path / "same", {
        "key_delivery": ("key-delivery-log", "jsonl", "a.jsonl", _jsonl(a)),
        "peer": ("key-delivery-log", "jsonl", "b.jsonl", _jsonl(b))})
    assert _run(root, peer_slot="peer") == (
        Verdict.PASS, "4 keys logged, no key id repeats and 'peer' agree")
    b[2]["key_sha256"] = "f" * 64
    root = make_bundle(tmp_path / "digest", {
        "key_delivery": ("key-delivery-log", "jsonl", "a.jsonl", _jsonl(a)),
        "peer": ("key-delivery-log", "jsonl", "b.jsonl", _jsonl(b))})
    verdict, reason = _run(root, peer_slot="peer")
    assert verdict is Verdict.FAIL
    assert "1 key ids or digests differ between 'key_delivery' and 'peer' (first k2)" in reason
    rows = [[0.5, "k0"], [1.5, "k1"], [2.5, "k0"]]
    root = make_bundle(tmp_path / "dup", {"key_delivery": (
        "key-delivery-log", "csv", "kd.csv", csv_bytes(["time_s", "key_id"], rows))})
    verdict, reason = _run(root)
    assert verdict is Verdict.FAIL
    assert "1 key ids delivered more than once in 'key_delivery' (first k0)" in reason
