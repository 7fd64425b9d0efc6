"""The generic telemetry checks on small, hand-made bundles with known answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.errors import InsufficientDataError
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import csv_bytes, make_bundle


def run(kind: str, params: dict[str, Any], bundle: Path):
    ctype = get(kind)
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(bundle), {}, seed=1)
    return ctype.run(parse_params(ctype, params), ctx), ctx


def monitors(rows: list[list[object]]) -> tuple[str, str, str, bytes]:
    return ("monitor", "csv", "mon.csv", csv_bytes(["time_s", "ingress_dbm"], rows))


def blocks(rows: list[list[object]]) -> tuple[str, str, str, bytes]:
    header = ["block_id", "time_s", "ec_leakage_bits", "pa_output_bits", "aborted"]
    return ("block-records", "csv", "blocks.csv", csv_bytes(header, rows))


class TestRange:
    def test_counts_violations_and_names_the_first(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {"mon": monitors(
            [[0.0, -70], [0.1, -69], [0.2, -40], [0.3, -71], [0.4, -35]])})
        out, ctx = run("telemetry.range", {"slot": "mon", "column": "ingress_dbm",
                                           "max": -50.0}, b)
        assert out.verdict is Verdict.FAIL
        assert "2 of 5 samples" in out.reason and "sample 3" in out.reason
        m = {x.name: x.value for x in out.measurements}
        assert m["observed_max"] == -35 and m["observed_min"] == -71 and m["violations"] == 2
        assert [e.slot for e in ctx.evidence_used] == ["mon"]

    def test_tolerated_violations_pass(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {"mon": monitors([[0.0, -70], [0.1, -40]])})
        out, _ = run("telemetry.range", {"slot": "mon", "column": "ingress_dbm", "max": -50,
                                         "max_violations": 1}, b)
        assert out.verdict is Verdict.PASS

    def test_params_need_a_bound(self) -> None:
        from evaltool.errors import ProfileError

        with pytest.raises(ProfileError, match="give min, max or both"):
            parse_params(get("telemetry.range"), {"slot": "x", "column": "y"})

    def test_unknown_parameter_is_rejected(self) -> None:
        from evaltool.errors import ProfileError

        with pytest.raises(ProfileError, match="unknown parameter"):
            parse_params(get("telemetry.range"), {"slot": "x", "column": "y", "max": 1, "mx": 2})


class TestRate:
    def _events(self, times_ps: list[int]) -> tuple[str, str, str, bytes]:
        rows = [[t, 0] for t in times_ps]
        return ("detection-events", "csv", "det.csv", csv_bytes(["time_ps", "detector"], rows))

    def test_rate_per_window(self, tmp_path: Path) -> None:
        # 10 events per 1 s window for 3 windows, then a fourth, incomplete window.
        times = [int((w + i / 10) * 1e12) for w in range(3) for i in range(10)] + [int(3.05e12)]
        b = make_bundle(tmp_path / "b", {"det": self._events(times)})
        out, _ = run("telemetry.rate", {"slot": "det", "window_s": 1.0, "min_hz": 9,
                                        "max_hz": 11}, b)
        assert out.verdict is Verdict.PASS, out.reason
        assert {m.name: m.value for m in out.measurements}["windows"] == 3

    def test_low_rate_fails(self, tmp_path: Path) -> None:
        times = [int(i * 1e11) for i in range(10)] + [int(1.5e12), int(2.5e12)]
        b = make_bundle(tmp_path / "b", {"det": self._events(times)})
        out, _ = run("telemetry.rate", {"slot": "det", "window_s": 1.0, "min_hz": 5}, b)
        assert out.verdict is Verdict.FAIL
        assert "1 of 2 windows" in out.reason

    def test_too_short_capture_is_insufficient(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {"det": self._events([0, 1000])})
        with pytest.raises(InsufficientDataError, match="complete window"):
            run("telemetry.rate", {"slot": "det", "window_s": 1.0, "min_hz": 1}, b)


class TestThresholdEvents:
    PARAMS = {"monitor_slot": "mon", "column": "ingress_dbm", "threshold": -50.0,
              "response_slot": "blocks", "within_s": 1.5}

    def test_alarm_followed_by_abort_passes(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {
            "mon": monitors([[0.5, -70], [1.2, -40], [1.3, -41], [1.6, -70], [2.5, -70]]),
            "blocks": blocks([[0, 1.0, 10, 100, 0], [1, 2.0, 10, 0, 1], [2, 3.0, 10, 90, 0]]),
        })
        out, _ = run("telemetry.threshold-events", self.PARAMS, b)
        assert out.verdict is Verdict.PASS, out.reason
        assert {m.name: m.value for m in out.measurements}["alarms"] == 1

    def test_alarm_with_key_output_fails(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {
            "mon": monitors([[0.5, -70], [1.2, -40], [1.6, -70], [2.2, -30], [2.4, -70]]),
            "blocks": blocks([[0, 1.0, 10, 100, 0], [1, 2.0, 10, 0, 1], [2, 3.0, 10, 90, 0]]),
        })
        out, _ = run("telemetry.threshold-events", self.PARAMS, b)
        assert out.verdict is Verdict.FAIL
        assert "1 of 2 alarms" in out.reason and "t = 2.2 s" in out.reason

    def test_log_response(self, tmp_path: Path) -> None:
        log = b"".join(json.dumps(r).encode() + b"\n" for r in [
            {"time_s": 0.1, "event": "start"}, {"time_s": 1.25, "event": "abort"}])
        b = make_bundle(tmp_path / "b", {
            "mon": monitors([[0.5, -70], [1.2, -40], [1.6, -70]]),
            "log": ("audit-log", "jsonl", "audit.jsonl", log),
        })
        out, _ = run("telemetry.threshold-events", {**self.PARAMS, "response_slot": "log"}, b)
        assert out.verdict is Verdict.PASS, out.reason


class TestCompleteness:
    def test_gaps_and_missing_slots_fail(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {
            "mon": monitors([[0.0, -70], [0.1, -70], [5.0, -70]]),
            "blocks": blocks([[0, 1.0, 1, 1, 0], [1, 2.0, 1, 1, 0], [3, 3.0, 1, 1, 0]]),
        })
        out, _ = run("telemetry.completeness", {
            "required_slots": ["mon", "blocks", "rng"], "block_slot": "blocks",
            "required_columns": {"blocks": ["qber_key"]}, "max_time_gap_s": {"mon": 1.0}}, b)
        assert out.verdict is Verdict.FAIL
        assert "slot 'rng' missing" in out.reason
        assert "lacks column(s) qber_key" in out.reason
        assert "1 gap(s) in block ids (first after block 1)" in out.reason
        assert "4.9 s gap at t = 0.1 s" in out.reason

    def test_complete_evidence_passes(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {
            "mon": monitors([[0.0, -70], [0.5, -70]]),
            "blocks": blocks([[0, 1.0, 1, 1, 0], [1, 2.0, 1, 1, 0]]),
        })
        out, _ = run("telemetry.completeness", {"required_slots": ["mon", "blocks"],
                                                "block_slot": "blocks",
                                                "max_time_gap_s": {"mon": 1.0}}, b)
        assert out.verdict is Verdict.PASS
