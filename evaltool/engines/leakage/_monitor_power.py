"""Critical values, detection power and pooled families of the quantum-hacking monitor tests.

The tests themselves are in :mod:`._monitors` and :mod:`._decoy`; these functions turn their
results into what a decision rule compares with its bounds:

- the lower-tail binomial test of dark counts (a blinded detector suppresses them; Lydersen et
  al., Nat. Photon. 4, 686 (2010)): the critical ratio of errors to the floor, the minimum
  detectable relative suppression and the gates needed to detect one;
- the efficiency-mismatch bin test: the smallest mismatch consistent with a bin's clicks, from
  the Clopper–Pearson bounds (Clopper & Pearson, Biometrika 26, 404 (1934));
- the decoy linear-loss fit over blocks: per-block one-sided p-values and the pooled Stouffer
  statistic (three classes) or the summed χ² (more classes);
- the afterpulse bound: the upper-tail Poisson p-value at the boundary of ``H0`` and the
  minimum detectable excess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from evaltool.engines.decision import upper_normal_quantile as _z
from evaltool.engines.leakage._decoy import DecoyConsistencyResult
from evaltool.engines.leakage._monitors import AfterpulseResult, MismatchIntervalResult


def binomial_critical_ratio(gates: NDArray[np.int64], floor: NDArray[np.float64], a: float
                            ) -> float | None:
    """The largest ratio of errors to their floor that fails some block's lower-tail test.

    Per block the test fails for a count ``m <= c_b``, ``c_b`` the largest count with
    ``P(X <= c_b) < a`` for ``X ~ Binomial(n_b, q_b)``; a block whose ratio is above every
    ``c_b / (n_b q_b)`` passes. None when no count can fail any block (underpowered).
    """
    worst: float | None = None
    for n, q in zip(gates.tolist(), floor.tolist(), strict=True):
        c = int(stats.binom.ppf(a, n, q))
        if stats.binom.cdf(c, n, q) >= a:
            c -= 1
        if c >= 0 and n * q > 0:
            ratio = c / (n * q)
            worst = ratio if worst is None else max(worst, ratio)
    return worst


def suppression_mde(gates: float, p: float, a: float, power: float) -> float:
    """Smallest relative suppression ρ of the rate ``p`` detected with ``power`` by the
    level-``a`` lower-tail binomial test on ``gates`` trials, by bisection (inf when even ρ = 1
    is not detected)."""
    crit = int(stats.binom.ppf(a, gates, p))
    if stats.binom.cdf(crit, gates, p) > a:
        crit -= 1
    if crit < 0:
        return math.inf
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if stats.binom.cdf(crit, gates, p * (1.0 - mid)) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def suppression_trials_needed(rate: float, a: float, power: float, suppression: float) -> float:
    """Trials at ``rate`` that let a level-``a`` one-sided test detect a relative suppression
    ``suppression`` with ``power`` (normal approximation: ``((z_a + z_β sqrt(1 − ρ)) / ρ)² /
    rate``)."""
    z = _z(a) + _z(1.0 - power) * math.sqrt(1.0 - suppression)
    return (z / suppression) ** 2 / rate


def mismatch_lower_bound(r: MismatchIntervalResult, a: float) -> NDArray[np.float64]:
    """Per bin, the smallest mismatch consistent with the clicks at level ``a``.

    The Clopper–Pearson bounds at ``a/2`` on the share of group a are mapped to the mismatch;
    0 when they enclose the design share. A bin's test of ``δ <= max_mismatch``
    (:func:`mismatch_interval_test`, each side at ``a/2``) rejects exactly when this bound
    exceeds ``max_mismatch``. Empty bins are NaN.
    """
    ca = r.clicks_a.astype(np.float64)
    cb = r.clicks_b.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_lo = np.where(ca > 0, stats.beta.ppf(a / 2.0, ca, cb + 1.0), 0.0)
        s_hi = np.where(cb > 0, stats.beta.isf(a / 2.0, ca + 1.0, cb), 1.0)
        odds0 = r.expected_share / (1.0 - r.expected_share)
        above = 1.0 - odds0 * (1.0 - s_lo) / s_lo
        below = 1.0 - s_hi / (1.0 - s_hi) / odds0
    out = np.where(s_lo > r.expected_share, above,
                   np.where(s_hi < r.expected_share, below, 0.0))
    result: NDArray[np.float64] = np.where(ca + cb > 0, out, np.nan)
    return result


@dataclass(frozen=True, slots=True)
class DecoyFamily:
    """The decoy fits of all blocks as one family of tests."""

    per_block: NDArray[np.float64]
    """One-sided p-value of each block's fit (three classes) or its χ² p-value."""
    z: NDArray[np.float64] | None
    """Signed root of each block's fit (three classes only)."""
    pooled_z: float
    """Stouffer ``Σ z / sqrt(B)`` (NaN with more than three classes)."""
    pooled_p: float
    shift: float
    """Non-centrality of the pooled statistic under the deviation ``lam`` was computed for."""


def decoy_family(fits: Sequence[DecoyConsistencyResult], lam: NDArray[np.float64],
                 n_classes: int) -> DecoyFamily:
    """Per-block and pooled tests of the linear-loss fits; ``lam`` are the blocks'
    non-centralities under the deviation to detect (:func:`decoy_noncentrality`)."""
    B = len(fits)
    if n_classes == 3:
        z = np.array([f.z for f in fits])
        per_block = stats.norm.sf(z)
        pooled_z = float(z.sum() / math.sqrt(B))
        return DecoyFamily(per_block, z, pooled_z, float(stats.norm.sf(pooled_z)),
                           float(np.sqrt(lam).sum() / math.sqrt(B)))
    chi2 = np.array([f.statistic for f in fits])
    per_block = np.array([f.pvalue for f in fits])
    pooled_p = float(stats.chi2.sf(chi2.sum(), B * (n_classes - 2)))
    return DecoyFamily(per_block, None, math.nan, pooled_p, float(math.sqrt(lam.sum())))


@dataclass(frozen=True, slots=True)
class AfterpulseBoundTest:
    """The test of ``H0: p_ap <= max_probability`` on the short inter-arrival gaps."""

    boundary: float
    """Expected short gaps at the bound: Poisson expectation + ``max_probability · gaps``."""
    pvalue: float
    """``P(X >= observed)`` for ``X ~ Poisson(boundary)``."""
    mde: float
    """Smallest excess probability detected with the requested power (normal approximation)."""


def afterpulse_bound_test(res: AfterpulseResult, gaps: int, max_probability: float,
                          alpha: float, power: float) -> AfterpulseBoundTest:
    """One-sided test of the afterpulse probability against ``max_probability``."""
    boundary = res.expected + max_probability * gaps
    pvalue = float(stats.poisson.sf(res.statistic - 1, boundary))
    mde = (_z(alpha) + _z(1.0 - power)) * math.sqrt(boundary) / gaps
    return AfterpulseBoundTest(boundary, pvalue, mde)
