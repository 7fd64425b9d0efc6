"""Family-wise and false-discovery error control over many leakage tests.

TVLA's fixed |t| > 4.5 is a per-test rule: with 10⁴ independent points the chance of at least one
false alarm under H0 is already about 7 % (Whitnall & Oswald, ASIACRYPT 2019). These functions
turn per-test p-values into adjusted p-values (compare them with the family α) and give the
matching |t| threshold.

References
----------
S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6, 1979.
Z. Šidák, "Rectangular confidence regions for the means of multivariate normal distributions",
JASA 62, 1967.
Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate", JRSS B 57, 1995.
G. Goodwill, B. Jun, J. Jaffe and P. Rohatgi, "A testing methodology for side-channel resistance
validation", NIST NIAT 2011 (the two-independent-datasets rule).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from evaltool.engines.decision import sidak_level

TVLA_THRESHOLD = 4.5
"""The per-test |t| threshold of TVLA (Goodwill et al. 2011; ISO/IEC 17825:2016)."""


def _pvalues(pvalues: ArrayLike) -> NDArray[np.float64]:
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        p = p.ravel()
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1] and not be NaN")
    return p


def holm(pvalues: ArrayLike, /) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values (strong family-wise error control), in input order."""
    p = _pvalues(pvalues)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    # Holm 1979: p_(i) · (m − i + 1), made monotone non-decreasing, capped at 1.
    scaled = p[order] * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def sidak(pvalues: ArrayLike, /) -> NDArray[np.float64]:
    """Šidák single-step adjusted p-values ``1 − (1 − p)^m`` (exact for independent tests)."""
    p = _pvalues(pvalues)
    # -expm1(m·log1p(−p)) keeps precision for tiny p (where 1 − (1 − p)^m ≈ m·p).
    return np.asarray(-np.expm1(p.size * np.log1p(-p)))


def benjamini_hochberg(pvalues: ArrayLike, /) -> NDArray[np.float64]:
    """Benjamini–Hochberg step-up adjusted p-values (false-discovery rate), in input order."""
    p = _pvalues(pvalues)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def sidak_t_threshold(n_tests: int, family_alpha: float) -> float:
    """Two-sided |t| threshold (normal approximation) giving family-wise α over ``n_tests``
    independent tests: ``Φ⁻¹(1 − a/2)`` with ``a = 1 − (1 − α)^{1/m}``."""
    if n_tests < 1:
        raise ValueError("n_tests must be >= 1")
    if not 0 < family_alpha < 1:
        raise ValueError("family_alpha must lie in (0, 1)")
    per_test = sidak_level(family_alpha, n_tests)
    return float(-special.ndtri(per_test / 2.0))


def tvla_family_alpha() -> float:
    """The two-sided normal tail probability of |t| > 4.5 (≈ 6.8·10⁻⁶)."""
    return float(2.0 * special.ndtr(-TVLA_THRESHOLD))


def confirm_two_datasets(
    t_first: ArrayLike,
    t_second: ArrayLike,
    /,
    *,
    threshold: float = TVLA_THRESHOLD,
    same_sign: bool = True,
) -> NDArray[np.bool_]:
    """TVLA confirmation rule: leakage at an index only if |t| exceeds ``threshold`` there in
    two independently acquired data sets (Goodwill et al. 2011), by default with the same
    sign."""
    a = np.asarray(t_first, dtype=np.float64)
    b = np.asarray(t_second, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the two t arrays must have the same shape, got {a.shape}, {b.shape}")
    hit = (np.abs(a) > threshold) & (np.abs(b) > threshold)
    if same_sign:
        hit &= np.sign(a) == np.sign(b)
    return np.asarray(hit)
