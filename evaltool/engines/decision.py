"""Small statistical building blocks shared by every engine family and by the decision rules.

- :func:`sidak_level`: the per-test level of ``m`` independent tests at family-wise ``α``,
  ``a = 1 − (1 − α)^{1/m}`` (Z. Šidák, "Rectangular confidence regions for the means of
  multivariate normal distributions", JASA 62 (1967) 626–633), computed as
  ``−expm1(log1p(−α) / m)`` so that it keeps full precision when ``α`` is tiny;
- :func:`upper_normal_quantile`: ``Φ⁻¹(1 − p)``, the one-sided critical value of a z-test at
  level ``p`` (and, at ``p = 1 − power``, the shift a test needs for that power);
- :func:`binomial_upper_tail`: ``P(X >= k)`` for ``X ~ Binomial(n, p)``.

This module is family-neutral (``engines.stats``, ``engines.leakage`` and ``engines.protocol``
stay independent of each other and may all import it).
"""

from __future__ import annotations

import numpy as np

# scipy is imported inside the functions: the check registry imports this module to validate
# profiles and must not pay for scipy's start-up.


def sidak_level(alpha: float, m: int) -> float:
    """Per-test level of ``m >= 1`` independent tests at family-wise ``alpha`` (Šidák 1967)."""
    if m < 1:
        raise ValueError("the number of tests must be >= 1")
    return float(-np.expm1(np.log1p(-alpha) / m))


def upper_normal_quantile(p: float) -> float:
    """``Φ⁻¹(1 − p)`` for ``0 < p < 1``."""
    from scipy import special

    return float(-special.ndtri(p))


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)`` (1 for ``k <= 0``)."""
    from scipy import stats

    return float(stats.binom.sf(k - 1, n, p))


__all__ = ["binomial_upper_tail", "sidak_level", "upper_normal_quantile"]
