"""SP 800-90B §3.1.4 restart tests.

Reference: ``test_vectors/sp800_90b/restart-reference.json`` (NIST SP800-90B_EntropyAssessment
1.1.7, ``ea_restart -v FILE B H_I``; see its provenance block). The tool estimates the sanity-check
cutoff from 5,000,000 simulated rounds, so its cutoff may differ by one count from the exact
quantile computed here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from evaltool.engines.stats.sp800_90b import max_count_cdf, restart_tests, sanity_cutoff

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "test_vectors" / "sp800_90b"
REFERENCE_FILE = VECTORS / "restart-reference.json"


def _sources() -> Any:
    spec = importlib.util.spec_from_file_location("sp800_90b_sources_rs", VECTORS / "sources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCES = _sources()
REFERENCE: dict[str, Any] = (
    json.loads(REFERENCE_FILE.read_text())["results"] if REFERENCE_FILE.exists() else {}
)


def test_max_count_cdf_binary_is_a_binomial_interval() -> None:
    """p = 1/2: two values, max count <= x  <=>  n - x <= X <= x with X ~ Binomial(1000, 1/2)."""
    for x in (510, 530, 560):
        expected = stats.binom.cdf(x, 1000, 0.5) - stats.binom.cdf(999 - x, 1000, 0.5)
        assert max_count_cdf(x, 0.5) == pytest.approx(expected, rel=1e-9)


def test_max_count_cdf_single_value_residual() -> None:
    """p = 0.75: one value of 3/4 and a residual of 1/4, both counted in the maximum."""
    x = 780
    expected = stats.binom.cdf(x, 1000, 0.75) - stats.binom.cdf(999 - x, 1000, 0.75)
    assert max_count_cdf(x, 0.75) == pytest.approx(expected, rel=1e-9)


def test_sanity_cutoff_is_the_quantile() -> None:
    alpha = 1 - math.exp(math.log(0.99) / 2000)
    c = sanity_cutoff(1.0)
    assert 1 - max_count_cdf(c, 0.5) <= alpha < 1 - max_count_cdf(c - 1, 0.5)


def _slow_if_wide(key: str) -> Any:
    wide = REFERENCE[key]["bits_per_sample"] > 1
    return pytest.param(key, marks=pytest.mark.slow) if wide else key


@pytest.mark.parametrize("key", [_slow_if_wide(k) for k in sorted(REFERENCE)])
def test_matches_reference_tool(key: str) -> None:
    """ea_restart: cutoff (within one count of its simulation), X_max, H_r, H_c and outcome."""
    ref = REFERENCE[key]
    gen, bits, _ = SOURCES.RESTART_SOURCES[ref["source"]]
    data = gen()
    assert hashlib.sha256(data.tobytes()).hexdigest() == ref["input_sha256"]
    h_i = ref["h_initial"]
    assert abs(sanity_cutoff(h_i) - ref["x_cutoff"]) <= 1  # tool: simulated quantile
    if ref["sanity_passed"]:
        res = restart_tests(data, bits, h_i)
        assert max(res.max_row_count, res.max_column_count) == ref["x_max"]
        assert res.sanity_passed
        assert res.h_row == pytest.approx(ref["H_r"], abs=1e-6)
        assert res.h_column == pytest.approx(ref["H_c"], abs=1e-6)
        assert res.validation_passed == ref["validation_passed"]
    else:
        rows = data.reshape(1000, 1000)
        x_max = max(
            max(int(np.bincount(r).max()) for r in rows),
            max(int(np.bincount(c).max()) for c in rows.T),
        )
        assert x_max == ref["x_max"]
        res = restart_tests(data, bits, h_i)
        assert not res.sanity_passed and not res.passed and res.h_final == 0.0


def test_restart_matrix_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="1000 x 1000"):
        restart_tests(np.zeros(999_999, dtype=np.uint8), 1, 0.5)
