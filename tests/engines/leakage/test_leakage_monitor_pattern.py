"""Streaming pattern-effect cells, the mismatch interval test and the counts-based afterpulse
estimate, against direct computations (pandas group-by, scipy binomial tails, and the
array-based :func:`afterpulse_excess`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaltool.engines.leakage import (
    PatternEffectAccumulator,
    afterpulse_excess,
    afterpulse_from_counts,
    interval_excess_z,
    mismatch_interval_test,
    pattern_cells,
)
from evaltool.errors import InsufficientDataError

MU = np.array([0.5, 0.15, 0.0002])


def _pulses(n: int, rel: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Intensities with 1 % noise and ``rel`` more after a class-0 pulse (as the simulator's
    pattern-effect scenario, evaltool/simulate/_generate.py, pulse_window)."""
    rng = np.random.default_rng(seed)
    s = rng.choice(3, size=n + 1, p=[0.6, 0.3, 0.1])
    x = MU[s[1:]] * (1 + rel * (s[:-1] == 0)) * (1 + 0.01 * rng.standard_normal(n))
    return x, s[1:]


def test_cells_match_a_group_by() -> None:
    x, s = _pulses(50_000, 0.03, 1)
    res = pattern_cells(x, s, n_settings=3, lags=2)
    df = pd.DataFrame({"x": x, "k": s, "j1": np.r_[-1, s[:-1]], "j2": np.r_[-1, -1, s[:-2]]})
    for lag, col in ((0, "j1"), (1, "j2")):
        sub = df[df[col] >= 0]
        g = sub.groupby(["k", col])["x"]
        for (k, j), mean in g.mean().items():
            assert res.mean[lag, k, j] == pytest.approx(mean, rel=1e-12)
            assert res.n[lag, k, j] == g.size()[(k, j)]
            assert res.variance[lag, k, j] == pytest.approx(g.var()[(k, j)], rel=1e-9)
        level = sub.groupby("k")["x"].mean()
        for k in range(3):
            assert res.level[lag, k] == pytest.approx(level[k], rel=1e-12)
    # Planted: after class 0 the intensity is 3 % up; P(class 0) = 0.6, so relative to the
    # class mean: 1.03 / 1.018 - 1 after class 0 and 1 / 1.018 - 1 otherwise.
    assert res.relative_deviation[0, 0, 0] == pytest.approx(1.03 / 1.018 - 1, abs=5e-4)
    assert res.relative_deviation[0, 1, 2] == pytest.approx(1 / 1.018 - 1, abs=1e-3)
    assert np.nanmax(np.abs(res.relative_deviation[1])) < 1e-3  # no effect at lag 2


def test_chunking_does_not_change_a_bit() -> None:
    x, s = _pulses(30_001, 0.01, 2)
    whole = pattern_cells(x, s, n_settings=3, lags=3)
    acc = PatternEffectAccumulator(3, 3)
    for lo, hi in ((0, 1), (1, 3), (3, 1000), (1000, 1001), (1001, 30_001)):
        acc.update(x[lo:hi], s[lo:hi])
    parts = acc.result()
    np.testing.assert_array_equal(whole.n, parts.n)
    np.testing.assert_array_equal(whole.mean, parts.mean)
    np.testing.assert_array_equal(whole.se, parts.se)


def test_standard_errors_are_calibrated() -> None:
    """Without a pattern effect, δ / se over 40 simulated tables is close to N(0, 1)."""
    z = []
    for seed in range(40):
        x, s = _pulses(20_000, 0.0, 100 + seed)
        r = pattern_cells(x, s, n_settings=3, lags=1)
        z.append((r.relative_deviation / r.se).ravel())
    zz = np.concatenate(z)
    assert abs(zz.mean()) < 0.15
    assert 0.8 < zz.std() < 1.2


def test_interval_excess() -> None:
    z = interval_excess_z([0.01, -0.01, 0.002, np.nan], [0.001, 0.001, 0.0, 0.1], 0.005)
    np.testing.assert_allclose(z[:2], [5.0, 5.0])
    assert z[2] == -np.inf and np.isnan(z[3])


def test_too_few_pulses() -> None:
    acc = PatternEffectAccumulator(3, 2)
    acc.update([0.5, 0.1], [0, 1])
    with pytest.raises(InsufficientDataError, match="more than 2 pulses"):
        acc.result()


def test_mismatch_interval_against_binomial_tails() -> None:
    """δ <= 0.03 with design share 1/2 is the share interval [0.97/1.97, 1/1.97]."""
    a, b = np.array([5300, 5000, 0]), np.array([4700, 5000, 0])
    r = mismatch_interval_test(a, b, max_mismatch=0.03, alpha=0.001)
    s_lo, s_hi = 0.97 / 1.97, 1 / 1.97
    p0 = min(1.0, 2 * min(stats.binom.sf(5299, 10000, s_hi), stats.binom.cdf(5300, 10000, s_lo)))
    assert r.pvalue[0] == pytest.approx(p0, rel=1e-12)
    assert r.pvalue[2] == 1.0 and r.mde[2] == 1.0
    assert r.mismatch[0] == pytest.approx(1 - 4700 / 5300)
    assert r.mismatch[1] == 0.0
    # Design share 0.8 (passive basis splitter): the ratio is taken relative to 4:1.
    r = mismatch_interval_test([8000], [2000], max_mismatch=0.03, expected_share=0.8)
    assert r.mismatch[0] == pytest.approx(0.0, abs=1e-12) and r.pvalue[0] == 1.0


def test_afterpulse_counts_equal_the_array_estimate() -> None:
    rng = np.random.default_rng(9)
    # A 50 ns dead time, then Poisson clicks (mean gap 700 ns); an afterpulse 60 ns after
    # every 50th click: 400 extra short gaps among 20,400.
    t = np.cumsum(5e4 + rng.exponential(6.5e5, 20_000))
    t = np.sort(np.concatenate([t, t[::50] + 6e4]))
    ref = afterpulse_excess(t, window_ps=1e5, dead_time_ps=5e4)
    g = np.diff(t)
    short = int(np.sum((g >= 5e4) & (g < 1.5e5)))
    live = float(np.sum(np.maximum(g - 5e4, 0)))
    r = afterpulse_from_counts([g.size], [short], [live], window_ps=1e5)
    assert (r.statistic, r.expected, r.excess_probability, r.pvalue) == pytest.approx(
        (ref.statistic, ref.expected, ref.excess_probability, ref.pvalue), rel=1e-12)
    assert r.excess_probability == pytest.approx(1 / 51, abs=0.004)
