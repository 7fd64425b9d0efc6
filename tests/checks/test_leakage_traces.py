"""The ``leakage.traces`` check on bundles carrying a lab trace array with planted leaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.outcome import Outcome
from evaltool.checks.registry import parse_params
from evaltool.errors import EvidenceError, InsufficientDataError, ProfileError
from evaltool.io import traces as trace_io
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.io.test_traces import trace_bundle

N, SAMPLES = 16_000, 12


def _capture(leak: dict[int, float], seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """float32 traces around 200 (sd 1); ``leak`` adds ``size × bit`` to the named samples."""
    rng = np.random.default_rng(seed)
    bit = rng.integers(0, 2, N)
    traces = rng.normal(200.0, 1.0, (N, SAMPLES))
    for j, size in leak.items():
        traces[:, j] += size * bit
    return traces.astype(np.float32), bit


def _run(bundle: Path, check_tables: bool = True, **params: Any) -> Outcome:
    ctype = get("leakage.traces")
    assert ctype.run is not None
    p = {"slot": "em_traces", "label": "bit", "mde_tolerance_sd": 0.1, **params}
    ctx = CheckContext(load_bundle(bundle, check_tables=check_tables), {}, seed=1)
    return ctype.run(parse_params(ctype, p), ctx)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 0.15 sd leak of the bit at samples 3 and 7 (|t| about 0.15 sqrt(16000)/2 = 9.5)."""
    traces, bit = _capture({3: 0.15, 7: -0.15})
    root = tmp_path_factory.mktemp("traces") / "leaky"
    return trace_bundle(root, traces, bit), traces, bit


def test_planted_leak_fails_naming_its_samples(leaky) -> None:
    bundle, traces, bit = leaky
    out = _run(bundle)
    assert out.verdict is Verdict.FAIL
    assert out.reason.endswith("; leaking samples: 3, 7"), out.reason
    m = {x.name: x.value for x in out.measurements}
    # Family: 12 samples × (orders 1, 2 + χ² sweep) = 36 tests.
    assert m["tests"] == 36 and m["traces"] == N and m["samples"] == SAMPLES
    assert m["leaking_samples"] == 2
    s = {x.name: x for x in out.series}
    t1 = s["|t|, order 1"]
    assert t1.x == tuple(float(j) for j in range(SAMPLES)) and t1.style == "line"
    assert t1.threshold == m["critical_t"] and t1.passes_if == "<="
    for j in range(SAMPLES):
        x = traces[:, j].astype(np.float64)
        ref = stats.ttest_ind(x[bit == 1], x[bit == 0], equal_var=False).statistic
        assert t1.values[j] == pytest.approx(abs(ref), rel=1e-9)
    assert {j for j, v in enumerate(t1.values) if v > t1.threshold} == {3, 7}


def test_a_sample_range_tests_only_those_samples(leaky) -> None:
    bundle, _, _ = leaky
    out = _run(bundle, samples=[5, 12])
    assert out.verdict is Verdict.FAIL and out.reason.endswith("; leaking samples: 7")
    assert out.series[0].x == tuple(float(j) for j in range(5, 12))
    with pytest.raises(EvidenceError, match="samples 5:13 outside 0:12"):
        _run(bundle, samples=[5, 13])
    with pytest.raises(ProfileError, match="first < stop"):
        parse_params(get("leakage.traces"), {"slot": "s", "label": "bit", "samples": [4, 4]})


def test_results_do_not_depend_on_the_chunk_size(leaky, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, _, _ = leaky
    whole = _run(bundle)
    monkeypatch.setattr(trace_io, "CHUNK_BYTES", 8 * SAMPLES * 999)  # 999 traces per chunk
    assert trace_io.chunk_rows(SAMPLES) == 999
    chunked = _run(bundle)
    assert chunked.measurements == whole.measurements and chunked.series == whole.series


def test_honest_capture_passes(tmp_path: Path) -> None:
    traces, bit = _capture({})
    out = _run(trace_bundle(tmp_path / "b", traces, bit))
    assert out.verdict is Verdict.PASS, out.reason
    assert "leaking samples" not in out.reason
    m = {x.name: x.value for x in out.measurements}
    assert m["leaking_samples"] == 0 and m["max_abs_t"] < m["critical_t"]


def test_too_few_traces_are_inconclusive_with_the_mde(tmp_path: Path) -> None:
    traces, bit = _capture({})
    out = _run(trace_bundle(tmp_path / "b", traces[:2000], bit[:2000]))
    assert out.verdict is Verdict.INCONCLUSIVE and "minimum detectable effect" in out.reason


def test_labels_come_from_the_named_column(tmp_path: Path) -> None:
    traces, bit = _capture({})
    b = trace_bundle(tmp_path / "b", traces[:100], bit[:100])
    with pytest.raises(EvidenceError, match="labels slot 'em_labels' has no column 'basis'"):
        _run(b, label="basis")
    const = trace_bundle(tmp_path / "c", traces[:100], np.zeros(100, dtype=int))
    with pytest.raises(InsufficientDataError, match="label column 'bit'"):
        _run(const)


def test_unvalidated_bundle_still_refuses_a_label_mismatch(tmp_path: Path) -> None:
    """The check repeats the loader's count check when a bundle was loaded without it."""
    traces, bit = _capture({})
    b = trace_bundle(tmp_path / "b", traces[:100], bit[:99])
    with pytest.raises(EvidenceError, match="99 label rows in slot 'em_labels' for 100 traces"):
        _run(b, check_tables=False)


def test_only_trace_arrays_are_accepted(tmp_path: Path) -> None:
    traces, bit = _capture({})
    b = trace_bundle(tmp_path / "b", traces[:100], bit[:100])
    with pytest.raises(EvidenceError, match="holds 'pulse-events', this check needs trace-array"):
        _run(b, slot="em_labels")
