"""The ais31.* checks on hand-made bundles: the procedures on known inputs (too little data named,
the repetition recorded) and the class requirements read from self-test and health-test logs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evaltool.checks.ais31  # noqa: F401  (registers the ais31.* kinds)
from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.engines.stats.ais31 import PROCEDURE_A_BITS, PROCEDURE_B_MIN_BITS
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import csv_bytes, make_bundle


def run(kind: str, params: dict[str, Any], bundle: Path) -> Any:
    ctype = get(kind)
    ctx = CheckContext(load_bundle(bundle), {}, seed=1)
    return ctype.run(parse_params(ctype, params), ctx)


def log(kind: str, name: str, records: list[dict[str, Any]]) -> tuple[str, str, str, bytes]:
    return (kind, "jsonl", name, "".join(json.dumps(r) + "\n" for r in records).encode())


def measurement(outcome: Any, name: str) -> float:
    return next(m.value for m in outcome.measurements if m.name == name)


IDEAL = hashlib.shake_256(b"evaltool ais31 checks").digest(2_100_000)


@pytest.fixture(scope="module")
def ideal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("ideal"),
                       {"rng": ("rng-raw", "binary", "rng.bin", IDEAL)})


@pytest.mark.parametrize("kind", ["ais31.procedure-a", "ais31.procedure-b"])
def test_ideal_output_passes_with_a_measurement_per_basic_test(ideal: Path, kind: str) -> None:
    out = run(kind, {"slot": "rng", "rng_class": "AIS31-PTG.3"}, ideal)
    assert out.verdict is Verdict.PASS, out.reason
    names = {m.name for m in out.measurements}
    assert measurement(out, "repeated") == 0
    if kind.endswith("-a"):
        assert {f"attempt1.T{i}.failed" for i in range(6)} <= names
        assert measurement(out, "bits_used") == PROCEDURE_A_BITS
        assert "1286 basic tests per attempt" in out.reason and "PTG.3 (as PTG.2.6)" in out.reason
    else:
        assert {"attempt1.T6.failed", "attempt1.T6.pairs.failed", "attempt1.T7.h3.failed",
                "attempt1.T7.h4.failed", "attempt1.T8.failed"} <= names
        t8 = next(m for m in out.measurements if m.name == "attempt1.T8.f_C")
        assert (t8.threshold, t8.passes_if) == (7.976, ">")
        assert abs(t8.value - 8.0) < 0.02


def test_too_little_data_is_inconclusive_naming_the_bits_needed(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, {"rng": ("rng-raw", "binary", "rng.bin", IDEAL[:500_000])})
    out = run("ais31.procedure-b", {"slot": "rng"}, bundle)
    assert out.verdict is Verdict.INCONCLUSIVE
    assert f"needs at least {PROCEDURE_B_MIN_BITS} bits" in out.reason
    assert "holds 4000000 bits" in out.reason
    assert measurement(out, "bits_needed") == PROCEDURE_B_MIN_BITS


def test_one_failed_basic_test_repeats_and_the_repetition_is_recorded(tmp_path: Path) -> None:
    # The first T0 block (3,145,728 bits) made of one 48-bit word repeated fails T0 only; the
    # repetition on the following ideal bits passes.
    bits = np.unpackbits(np.frombuffer(IDEAL, dtype=np.uint8))[: 2 * PROCEDURE_A_BITS].copy()
    bits[: 3 * 48] = np.tile(bits[:48], 3)
    bundle = make_bundle(tmp_path, {"rng": ("rng-raw", "binary", "rng.bin",
                                            np.packbits(bits).tobytes())})
    out = run("ais31.procedure-a", {"slot": "rng"}, bundle)
    assert out.verdict is Verdict.PASS, out.reason
    assert measurement(out, "repeated") == 1
    assert measurement(out, "attempt1.T0.failed") == 1
    assert measurement(out, "attempt2.failed_basic_tests") == 0
    assert "the repetition passed" in out.reason
    no_repeat = run("ais31.procedure-a", {"slot": "rng", "repeat": False}, bundle)
    assert no_repeat.verdict is Verdict.FAIL
    assert "T0 disjointness (1/1)" in no_repeat.reason


def test_the_class_decides_what_applies(ideal: Path) -> None:
    ntg = run("ais31.procedure-b", {"slot": "rng", "rng_class": "AIS31-NTG.1"}, ideal)
    assert ntg.verdict is Verdict.NOT_APPLICABLE
    assert "does not require test procedure B" in ntg.reason
    other = run("ais31.procedure-a", {"slot": "rng", "rng_class": "SP800-90B-IID"}, ideal)
    assert other.verdict is Verdict.NOT_APPLICABLE
    drg = run("ais31.procedure-a", {"slot": "rng", "rng_class": "AIS31-DRG.4"}, ideal)
    assert drg.verdict is Verdict.FAIL and "deterministic" in drg.reason


# -- logs ---------------------------------------------------------------------------------

ENABLED = {"time_s": 0.0, "event": "health-tests-enabled",
           "tests": ["repetition-count", "adaptive-proportion", "total-failure"]}


def alarm(t: float, i: int) -> dict[str, Any]:
    return {"time_s": t, "event": "health-test-alarm", "test": "repetition-count",
            "sample_index": i}


def blocked(t: float, i: int) -> dict[str, Any]:
    return {"time_s": t, "event": "rng-output-blocked", "sample_index": i}


def resumed(t: float, i: int) -> dict[str, Any]:
    return {"time_s": t, "event": "rng-output-resumed", "sample_index": i}


SELF_TESTS = [{"time_s": 0.0, "event": "power-on-self-test", "result": "pass"},
              {"time_s": 0.01, "event": "rng-startup-test", "result": "pass"},
              {"time_s": 0.02, "event": "rng-output-enabled"}]


def log_bundle(root: Path, health: list[dict[str, Any]],
               self_tests: list[dict[str, Any]] = SELF_TESTS,
               deliveries: tuple[float, ...] = (1.0, 2.0)) -> Path:
    return make_bundle(root, {
        "rng_health": log("health-test-log", "health.jsonl", health),
        "self_tests": log("self-test-log", "self.jsonl", self_tests),
        "key_delivery": ("key-delivery-log", "csv", "kd.csv",
                         csv_bytes(["time_s", "key_id"], [[t, f"k{i}"]
                                                          for i, t in enumerate(deliveries)])),
    })


ONLINE = {"health_slot": "rng_health", "self_test_slot": "self_tests",
          "rng_class": "AIS31-PTG.2"}


def test_online_alarms_answered_by_blocking_pass(tmp_path: Path) -> None:
    b = log_bundle(tmp_path, [ENABLED, alarm(1.5, 100), blocked(1.5, 100), resumed(1.6, 1124)])
    out = run("ais31.online-test", ONLINE, b)
    assert out.verdict is Verdict.PASS, out.reason
    assert "1 alarm(s), each followed by blocking the output (AIS31-PTG.2: PTG.2.3" in out.reason


def test_an_unanswered_online_alarm_fails(tmp_path: Path) -> None:
    b = log_bundle(tmp_path, [ENABLED, alarm(1.5, 100), blocked(1.5, 100), alarm(2.5, 900)])
    out = run("ais31.online-test", ONLINE, b)
    assert out.verdict is Verdict.FAIL
    assert "1 of 2 online-test alarm(s) not followed by 'rng-output-blocked'" in out.reason
    assert "t = 2.5 s (sample 900)" in out.reason
    assert measurement(out, "alarms_without_reaction") == 1


def test_an_online_test_started_after_the_output_fails(tmp_path: Path) -> None:
    late = {**ENABLED, "time_s": 0.5}
    out = run("ais31.online-test", ONLINE, log_bundle(tmp_path / "a", [late]))
    assert out.verdict is Verdict.FAIL and "after the first output at t = 0.02 s" in out.reason
    none = run("ais31.online-test", ONLINE, log_bundle(tmp_path / "b", []))
    assert none.verdict is Verdict.FAIL and "records no online test" in none.reason


TOTAL = {"health_slot": "rng_health", "delivery_slot": "key_delivery",
         "rng_class": "AIS31-PTG.3"}


def failure(t: float, i: int) -> dict[str, Any]:
    return {"time_s": t, "event": "total-failure", "test": "total-failure", "sample_index": i}


def test_a_total_failure_acted_on_passes(tmp_path: Path) -> None:
    b = log_bundle(tmp_path, [ENABLED, failure(1.5, 700), blocked(1.5, 700)],
                   deliveries=(1.0,))
    out = run("ais31.total-failure", TOTAL, b)
    assert out.verdict is Verdict.PASS, out.reason
    assert "output is blocked and stays blocked" in out.reason


def test_output_after_a_total_failure_fails(tmp_path: Path) -> None:
    b = log_bundle(tmp_path, [ENABLED, failure(1.5, 700), blocked(1.5, 700),
                              resumed(1.6, 800)], deliveries=(1.0, 2.0, 3.0))
    out = run("ais31.total-failure", TOTAL, b)
    assert out.verdict is Verdict.FAIL
    assert ("total failure at t = 1.5 s (sample 700) not acted on: the output resumes at "
            "t = 1.6 s; 2 key(s) are delivered afterwards, the first at t = 2 s") in out.reason
    assert measurement(out, "keys_delivered_after_failure") == 2


def test_no_total_failure_test_fails_and_ntg1_does_not_need_one(tmp_path: Path) -> None:
    b = log_bundle(tmp_path, [{**ENABLED, "tests": ["adaptive-proportion"]}])
    assert run("ais31.total-failure", TOTAL, b).verdict is Verdict.FAIL
    ntg = run("ais31.total-failure", {**TOTAL, "rng_class": "AIS31-NTG.1"}, b)
    assert ntg.verdict is Verdict.NOT_APPLICABLE


def test_startup_test_before_each_output_start(tmp_path: Path) -> None:
    params = {"self_test_slot": "self_tests", "rng_class": "AIS31-PTG.3"}
    ok = run("ais31.startup", params, log_bundle(tmp_path / "ok", [ENABLED]))
    assert ok.verdict is Verdict.PASS, ok.reason
    missing = SELF_TESTS[:1] + SELF_TESTS[2:]
    out = run("ais31.startup", params, log_bundle(tmp_path / "no", [ENABLED], missing))
    assert out.verdict is Verdict.FAIL
    assert "1 of 1 output start(s) without a passed 'rng-startup-test'" in out.reason
    restart = [*SELF_TESTS, {"time_s": 5.0, "event": "rng-output-enabled"}]
    out = run("ais31.startup", params, log_bundle(tmp_path / "re", [ENABLED], restart))
    assert out.verdict is Verdict.FAIL and "the first at t = 5 s" in out.reason
    failed = [{**SELF_TESTS[1], "result": "fail"}, SELF_TESTS[2]]
    out = run("ais31.startup", params, log_bundle(tmp_path / "f", [ENABLED], failed))
    assert out.verdict is Verdict.FAIL
    unknown = run("ais31.startup", params, log_bundle(tmp_path / "u", [ENABLED], SELF_TESTS[:2]))
    assert unknown.verdict is Verdict.INCONCLUSIVE


def test_each_basic_test_is_plotted_against_its_bounds(ideal: Path) -> None:
    from evaltool.report.plots import group_series, plot_series

    a = run("ais31.procedure-a", {"slot": "rng"}, ideal)
    t1 = next(s for s in a.series if s.name == "T1 ones")
    assert len(t1.values) == 257 and (t1.threshold, t1.passes_if) == (10346, "<")
    lower = a.series[a.series.index(t1) + 1]
    assert lower.group == t1.group and set(lower.values) == {9654}
    assert {s.name for s in a.series} == {"T1 ones", "T2 T2", "T4 longest run", "T5 Z(tau0)",
                                          "lower bound 9654", "lower bound 1.03",
                                          "lower bound 2326"}
    b = run("ais31.procedure-b", {"slot": "rng"}, ideal)
    assert [(len(s.values), s.threshold, s.x_labels[0]) for s in b.series] == [
        (2, 15.13, "TF(0,0) vs TF(1,0)"), (4, 15.13, "TF(0,0,0) vs TF(1,0,0)")]
    for group in group_series((*a.series, *b.series)):
        svg, _ = plot_series(group)
        assert svg.startswith("data:image/svg+xml")
