"""The sp800-90b.* checks on hand-made bundles with known answers.

Reference: ``test_vectors/sp800_90b/reference.json`` (NIST SP800-90B_EntropyAssessment 1.1.7 on
the ``sources.py`` inputs; see its provenance block).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evaltool.checks.sp800_90b  # noqa: F401  (registers the sp800-90b.* kinds)
from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.engines.stats.sp800_90b import ESTIMATORS
from evaltool.errors import InsufficientDataError
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import make_bundle

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "test_vectors" / "sp800_90b"
REFERENCE: dict[str, Any] = json.loads((VECTORS / "reference.json").read_text())["results"]


def _sources() -> Any:
    spec = importlib.util.spec_from_file_location("sp800_90b_sources_chk", VECTORS / "sources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCES = _sources()


def run(kind: str, params: dict[str, Any], bundle: Path) -> Any:
    ctype = get(kind)
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(bundle), {}, seed=1)
    return ctype.run(parse_params(ctype, params), ctx)


def rng_file(bits: np.ndarray) -> tuple[str, str, str, bytes]:
    return ("rng-raw", "binary", "rng.bin", np.packbits(bits).tobytes())


def health_log(records: list[dict[str, Any]]) -> tuple[str, str, str, bytes]:
    text = "".join(json.dumps(r) + "\n" for r in records)
    return ("health-test-log", "jsonl", "health.jsonl", text.encode())


@pytest.fixture(scope="module")
def uniform_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("b90b") / "bundle"
    return make_bundle(root, {"rng": rng_file(SOURCES.uniform_1bit())})


class TestMinEntropy:
    H = REFERENCE["uniform-1bit@1000000"]["non_iid"]["h_assessed"]  # ea_non_iid 1.1.7

    def test_passes_at_or_below_the_assessed_value(self, uniform_bundle: Path) -> None:
        out = run("sp800-90b.min-entropy",
                  {"slot": "rng", "bits_per_symbol": 1, "claimed_min_entropy": 0.85},
                  uniform_bundle)
        assert out.verdict is Verdict.PASS
        m = {x.name: x.value for x in out.measurements}
        assert m["h_assessed"] == pytest.approx(self.H, abs=1e-6)

    def test_plots_each_estimator_against_the_claim(self, uniform_bundle: Path) -> None:
        """One bar per §6.3.x estimator with ea_non_iid 1.1.7's min-entropy for it
        (reference.json, uniform-1bit@1000000), the claim as the line; the assessed value is
        the smallest bar (compression, §6.3.4)."""
        out = run("sp800-90b.min-entropy",
                  {"slot": "rng", "bits_per_symbol": 1, "claimed_min_entropy": 0.85},
                  uniform_bundle)
        (s,) = out.series
        ref = REFERENCE["uniform-1bit@1000000"]["non_iid"]["original"]
        assert s.x == tuple(float(i) for i in range(1, 11)) and s.style == "bars"
        # SP 800-90B §6.3.1-§6.3.10, in section order
        assert s.x_labels == ("mcv", "collision", "markov", "compression", "t-tuple", "lrs",
                              "multi-mcw", "lag", "multi-mmc", "lz78y")
        assert s.threshold == 0.85 and s.passes_if == ">=" and s.unit == "bits"
        for value, name in zip(s.values, ESTIMATORS, strict=True):
            assert value == pytest.approx(ref[name]["min entropy"], abs=1e-6), name
        assert min(v for v in s.values if v is not None) == pytest.approx(self.H, abs=1e-6)
        assert s.values[3] == min(v for v in s.values if v is not None)

    def test_fails_above_the_assessed_value(self, uniform_bundle: Path) -> None:
        out = run("sp800-90b.min-entropy",
                  {"slot": "rng", "bits_per_symbol": 1, "claimed_min_entropy": 0.9},
                  uniform_bundle)
        assert out.verdict is Verdict.FAIL
        assert "is not >= 0.9" in out.reason

    def test_too_few_samples_is_insufficient(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {"rng": rng_file(SOURCES.uniform_1bit(80_000))})
        with pytest.raises(InsufficientDataError):
            run("sp800-90b.min-entropy", {"slot": "rng", "claimed_min_entropy": 0.5}, b)

    def test_rejects_unknown_parameters(self) -> None:
        with pytest.raises(Exception, match="bogus"):
            parse_params(get("sp800-90b.min-entropy"),
                         {"slot": "rng", "claimed_min_entropy": 0.5, "bogus": 1})


class TestHealthTests:
    def test_stuck_output_without_logged_alarm_fails(self, tmp_path: Path) -> None:
        bits = SOURCES.uniform_1bit(64_000)
        bits[10_000:10_100] = 1  # 100 equal bits: the repetition count test fires (cutoff 21)
        b = make_bundle(tmp_path / "b", {
            "rng": rng_file(bits),
            "health": health_log([{"time_s": 0.0, "event": "health-tests-enabled"}]),
        })
        out = run("sp800-90b.health-tests",
                  {"slot": "rng", "health_slot": "health", "claimed_min_entropy": 1.0}, b)
        assert out.verdict is Verdict.FAIL
        m = {x.name: x.value for x in out.measurements}
        assert m["rct_alarms"] >= 1 and m["device_rct_alarms"] == 0
        assert m["rct_cutoff"] == 21  # SP 800-90B §4.4.1: 1 + ceil(20 / 1)

    def test_alarm_logged_by_the_device_passes(self, tmp_path: Path) -> None:
        bits = SOURCES.uniform_1bit(64_000)
        bits[10_000:10_100] = 1
        b = make_bundle(tmp_path / "b", {
            "rng": rng_file(bits),
            "health": health_log([{"time_s": 0.0, "event": "health-tests-enabled"},
                                  {"time_s": 1.2, "event": "rct-alarm"}]),
        })
        out = run("sp800-90b.health-tests",
                  {"slot": "rng", "health_slot": "health", "claimed_min_entropy": 1.0}, b)
        assert out.verdict is Verdict.PASS

    def test_alarms_are_matched_by_sample_index(self, tmp_path: Path) -> None:
        """Device records in the simulator's format: an alarm inside the stuck run covers it; an
        alarm logged elsewhere does not."""
        bits = SOURCES.uniform_1bit(64_000)
        bits[10_000:10_100] = 1
        rec = {"event": "health-test-alarm", "test": "repetition-count", "cutoff": 21}
        for index, verdict in ((10_020, Verdict.PASS), (30_000, Verdict.FAIL)):
            b = make_bundle(tmp_path / f"b{index}", {
                "rng": rng_file(bits),
                "health": health_log([{"time_s": 0.0, "event": "health-tests-enabled",
                                       "tests": ["repetition-count", "adaptive-proportion"]},
                                      {**rec, "sample_index": index, "time_s": 0.5}]),
            })
            out = run("sp800-90b.health-tests",
                      {"slot": "rng", "health_slot": "health", "claimed_min_entropy": 1.0}, b)
            assert out.verdict is verdict, out.reason

    def test_healthy_output_passes(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {
            "rng": rng_file(SOURCES.uniform_1bit(64_000)),
            "health": health_log([{"time_s": 0.0, "event": "health-tests-enabled"}]),
        })
        out = run("sp800-90b.health-tests",
                  {"slot": "rng", "health_slot": "health", "claimed_min_entropy": 0.8}, b)
        assert out.verdict is Verdict.PASS
        assert "no health-test alarm" in out.reason


class TestRestart:
    def test_constant_rows_fail_the_sanity_check(self, tmp_path: Path) -> None:
        rows = np.repeat(SOURCES.uniform_1bit(1000)[:, None], 1000, axis=1)  # each restart stuck
        b = make_bundle(tmp_path / "b", {"rng": rng_file(rows.ravel())})
        out = run("sp800-90b.restart",
                  {"slot": "rng", "bits_per_symbol": 1, "claimed_min_entropy": 0.8}, b)
        assert out.verdict is Verdict.FAIL
        assert "sanity check failed" in out.reason

    def test_independent_restarts_pass(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {"rng": rng_file(SOURCES.uniform_1bit())})
        out = run("sp800-90b.restart",
                  {"slot": "rng", "bits_per_symbol": 1, "claimed_min_entropy": 0.8}, b)
        assert out.verdict is Verdict.PASS, out.reason

    def test_short_restart_data_is_insufficient(self, tmp_path: Path) -> None:
        b = make_bundle(tmp_path / "b", {"rng": rng_file(SOURCES.uniform_1bit(500_000))})
        with pytest.raises(InsufficientDataError):
            run("sp800-90b.restart", {"slot": "rng", "claimed_min_entropy": 0.8}, b)


@pytest.mark.slow
def test_iid_check_agrees_with_the_reference_tool(tmp_path: Path) -> None:
    """uniform-8bit@1000000: ea_iid's verdict (reference.json)."""
    ref = REFERENCE["uniform-8bit@1000000"]["iid"]
    expected = ref["permutation_passed"] and ref["chi_square"]["passed"] and ref["lrs"]["passed"]
    bits = np.unpackbits(SOURCES.uniform_8bit())
    b = make_bundle(tmp_path / "b", {"rng": rng_file(bits)})
    out = run("sp800-90b.iid", {"slot": "rng", "bits_per_symbol": 8}, b)
    assert (out.verdict is Verdict.PASS) == expected
