"""The monitors' decide functions take the parameters, one frozen statistics object and the
measurements, and decide from them alone (no evidence access)."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from evaltool.checks.monitors import blinding, decoy, detector_timing, mismatch, pattern, trojan
from evaltool.checks.monitors.detector_timing import DeadTimeParams, DeadTimeStats
from evaltool.checks.monitors.trojan import TrojanHorseParams, TrojanStats
from evaltool.model.verdict import Verdict

DECIDE = [
    blinding._detector_blinding_outcome, mismatch._mismatch_outcome, trojan._trojan_outcome,
    decoy._decoy_outcome, pattern._pattern_outcome, detector_timing._dead_time_outcome,
    detector_timing._afterpulse_outcome,
]


@pytest.mark.parametrize("fn", DECIDE, ids=lambda f: f.__name__)
def test_decide_takes_one_frozen_statistics_object(fn: typing.Callable[..., object]) -> None:
    params = list(inspect.signature(fn).parameters)
    assert params == ["p", "s", "ms"]
    stats = typing.get_type_hints(fn, vars(inspect.getmodule(fn)))["s"]
    assert dataclasses.is_dataclass(stats)
    assert stats.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_dead_time_decision_from_its_statistics() -> None:
    p = DeadTimeParams(slot="d", dead_time_ns=50.0, max_violations=1)
    out = detector_timing._dead_time_outcome(p, DeadTimeStats(1000, 2, 1, 3.5), [])
    assert out.verdict is Verdict.FAIL
    assert out.reason.startswith("2 of 1000 detections accepted within 50 ns")
    assert "1 after another detector's click; first at t = 3.5 s" in out.reason
    ok = detector_timing._dead_time_outcome(p, DeadTimeStats(1000, 1, 0, 3.5), [])
    assert ok.verdict is Verdict.PASS


def test_trojan_decision_from_its_statistics() -> None:
    p = TrojanHorseParams(monitor_slot="m", column="ingress_dbm", threshold_dbm=-50.0,
                          response_slot="b", within_s=1.0)
    quiet = trojan._trojan_outcome(p, TrojanStats((), (), 100, 0.1, -70.0), [])
    assert quiet.verdict is Verdict.PASS and "in 100 samples (peak -70 dBm" in quiet.reason
    missed = trojan._trojan_outcome(
        p, TrojanStats(((2.0, 2.1, -40.0),), ("-40 dBm at t = 2 s not followed",), 100, 0.1,
                       -40.0), [])
    assert missed.verdict is Verdict.FAIL
    assert missed.reason == "Trojan-horse probe not answered: -40 dBm at t = 2 s not followed"
