"""Monitor statistics: dark counts, efficiency mismatch, dead time, afterpulsing, pattern effect."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evaltool.engines.leakage import (
    afterpulse_excess,
    dark_count_test,
    dead_time_violations,
    efficiency_mismatch,
    pattern_effect,
)
from evaltool.errors import InsufficientDataError


def test_dark_count_lower_tail_by_hand() -> None:
    # P(X = 0) for Binomial(1000, 0.001) is 0.999^1000.
    assert dark_count_test(0, 1000, 0.001).pvalue == pytest.approx(0.999**1000, rel=1e-12)
    # P(X <= 2) for Binomial(10000, 0.001), summed exactly term by term.
    exact = sum(math.comb(10000, k) * 0.001**k * 0.999 ** (10000 - k) for k in range(3))
    res = dark_count_test(2, 10000, 0.001)
    assert res.pvalue == pytest.approx(exact, rel=1e-10) and res.pvalue < 0.003


def test_dark_count_input_checks() -> None:
    with pytest.raises(ValueError):
        dark_count_test(5, 3, 0.1)
    with pytest.raises(InsufficientDataError):
        dark_count_test(0, 0, 0.1)


def test_efficiency_mismatch_by_hand_and_homogeneity_against_scipy() -> None:
    clicks = np.array([[10, 20, 30], [20, 20, 29]])
    res = efficiency_mismatch(clicks, 100)
    # η = [[.1, .2, .3], [.2, .2, .29]] → δ = [0.5, 0, 1 − .29/.3].
    np.testing.assert_allclose(res.mismatch, [0.5, 0.0, 1 - 0.29 / 0.3], rtol=1e-12)
    assert res.statistic == pytest.approx(0.5)
    ref = stats.chi2_contingency(clicks, correction=False)
    assert res.homogeneity.statistic == pytest.approx(ref.statistic, rel=1e-12)


def test_dead_time_violations_count_only_other_detectors() -> None:
    res = dead_time_violations([0.0, 10.0, 100.0, 105.0, 300.0], [0, 1, 0, 0, 1], dead_time_ps=20.0)
    # 0→10 ps is another detector inside 20 ps (counted); 100→105 ps is the same detector.
    assert (res.statistic, res.n) == (1, 5) and res.fraction == pytest.approx(0.2)
    with pytest.raises(ValueError, match="sorted"):
        dead_time_violations([5.0, 1.0], [0, 1], dead_time_ps=1.0)


def _poisson_clicks(rng: np.random.Generator, n: int, rate_per_ps: float) -> np.ndarray:
    return np.cumsum(rng.exponential(1.0 / rate_per_ps, n))


def test_afterpulse_excess_recovers_the_injected_probability() -> None:
    rng = np.random.default_rng(5)
    base = _poisson_clicks(rng, 200_000, 1e-6)  # 1 MHz dark/click rate
    clean = afterpulse_excess(base, window_ps=10_000.0)
    assert clean.pvalue > 1e-3 and abs(clean.excess_probability) < 0.003
    # 5 % of clicks followed by an afterpulse within 10 ns.
    pick = rng.random(base.size) < 0.05
    after = base[pick] + rng.uniform(0.0, 10_000.0, pick.sum())
    res = afterpulse_excess(np.sort(np.concatenate([base, after])), window_ps=10_000.0)
    assert res.pvalue < 1e-12
    assert res.excess_probability == pytest.approx(0.05 / 1.05, abs=0.01)


def test_pattern_effect_detects_dependence_on_the_previous_setting() -> None:
    rng = np.random.default_rng(6)
    n = 40_000
    s = rng.integers(0, 2, n)
    prev = np.concatenate([[0], s[:-1]])
    mu = 1.0 + 0.02 * prev + rng.normal(0, 0.05, n)
    res = pattern_effect(mu, s, n_settings=2)
    assert all(t is not None and t.pvalue[0] < 1e-10 for t in res.tests)
    # Conditional means 1.00 and 1.02 around a mean near 1.01: relative deviation ≈ 0.01.
    assert res.max_relative_deviation == pytest.approx(0.01, abs=0.002)
    flat = pattern_effect(1.0 + rng.normal(0, 0.05, n), s, n_settings=2)
    assert all(t is not None and t.pvalue[0] > 1e-4 for t in flat.tests)
