"""Estimates with their standard errors, and a test of uniformity on the circle, for the checks
of the optical source and of the basis-dependent error rate.

- Mean with its standard error (the sample standard deviation over sqrt(n)).
- Difference of two binomial proportions with the unpooled standard error
  sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2) (the Wald interval, e.g. Agresti, *Categorical Data
  Analysis*, 3rd ed., §1.4 and §3.1.2); used with large counts only.
- Pearson's chi-squared test of uniformity of angles over equal bins of [0, 2 pi), with the
  Rayleigh statistic of the mean resultant length (Mardia & Jupp, *Directional Statistics*,
  2000, §6.3.1: 2 n R^2 is asymptotically chi-squared with 2 degrees of freedom under
  uniformity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its standard error, from ``n`` observations."""

    value: float
    se: float
    n: int


def mean_estimate(x: ArrayLike) -> Estimate:
    """Sample mean and its standard error (ddof 1); NaN when fewer than two values."""
    a = np.asarray(x, dtype=np.float64)
    if a.size < 2:
        return Estimate(float(a.mean()) if a.size else float("nan"), float("nan"), int(a.size))
    return Estimate(float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size)), int(a.size))


def proportion_difference(k1: float, n1: float, k2: float, n2: float) -> Estimate:
    """p2 - p1 for k1 of n1 and k2 of n2, with its unpooled (Wald) standard error; NaN when a
    sample is empty. ``n`` is n1 + n2."""
    if n1 <= 0 or n2 <= 0:
        return Estimate(float("nan"), float("nan"), int(max(n1, 0) + max(n2, 0)))
    p1, p2 = k1 / n1, k2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return Estimate(p2 - p1, se, int(n1 + n2))


@dataclass(frozen=True, slots=True)
class CircularUniformity:
    """Pearson's chi-squared over ``bins`` equal bins of [0, 2 pi) and the Rayleigh test."""

    n: int
    bins: int
    chi2: float
    chi2_p: float
    resultant: float
    """Mean resultant length R (0 for a uniform sample, 1 for a constant one)."""
    rayleigh_p: float


def circular_uniformity(angles_rad: ArrayLike, bins: int = 64) -> CircularUniformity:
    """Uniformity of ``angles_rad`` (taken modulo 2 pi) on the circle.

    The chi-squared statistic sum (O - E)^2 / E with E = n / bins has bins - 1 degrees of
    freedom; the Rayleigh p-value is exp(-n R^2) (the large-n form of Mardia & Jupp §6.3.1).
    NaN statistics for an empty sample."""
    from scipy import stats

    a = np.mod(np.asarray(angles_rad, dtype=np.float64), 2.0 * np.pi)
    n = int(a.size)
    if n == 0:
        nan = float("nan")
        return CircularUniformity(0, bins, nan, nan, nan, nan)
    idx = np.minimum((a * (bins / (2.0 * np.pi))).astype(np.int64), bins - 1)
    observed = np.bincount(idx, minlength=bins).astype(np.float64)
    expected = n / bins
    chi2 = float(((observed - expected) ** 2).sum() / expected)
    r = float(math.hypot(np.cos(a).mean(), np.sin(a).mean()))
    return CircularUniformity(n, bins, chi2, float(stats.chi2.sf(chi2, bins - 1)), r,
                              float(math.exp(-n * r * r)))


__all__ = ["CircularUniformity", "Estimate", "circular_uniformity", "mean_estimate",
           "proportion_difference"]
