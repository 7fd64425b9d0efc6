"""Second-level analysis of SP 800-22 p-values over m sequences (rev. 1a §4.2).

Two checks per p-value column: the proportion of sequences passing at level α must lie in
(1 − α) ± 3·√(α(1 − α)/m) (§4.2.1), and the p-values must be uniform: 10-bin χ² with 9 degrees of
freedom, passing when its p-value is >= 0.0001 (§4.2.2). The random excursion tests count only the
sequences where they apply.

``mode="reference"`` (default) reproduces the reference suite's final analysis report
(sts-2.1.2 ``computeMetrics``): p-values as written to its results files (6 decimals, read back
as single-precision floats), the expected bin count ``m // 10`` in integer arithmetic, and the
proportion bounds truncated to integer counts (so 96/100 passes at α = 0.01). A random excursion
p-value that rounds to 0.000000 is not counted there, as in the reference.
``mode="document"`` uses the exact p-values, the expected count m/10 and the real interval of
§4.2.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Mode = Literal["reference", "document"]

UNIFORMITY_ALPHA = 0.0001
"""Uniformity of p-values passes when its χ² p-value is at least this (§4.2.2)."""


@dataclass(frozen=True, slots=True)
class SecondLevel:
    """Second-level outcome for one p-value column (one test, or one template / state x).

    ``proportion``, ``proportion_range`` and ``passed`` are None when no sequence applies;
    ``uniformity_pvalue`` is None with fewer than 10 applicable sequences (no bins to fill).
    ``proportion_range`` is the accepted interval of the proportion: in reference mode the
    integer count bounds divided by the sample size.
    """

    label: str
    sample_size: int
    passed_count: int
    proportion: float | None
    proportion_range: tuple[float, float] | None
    histogram: tuple[int, ...]
    uniformity_pvalue: float | None
    proportion_ok: bool | None
    uniformity_ok: bool | None

    @property
    def passed(self) -> bool | None:
        """Both checks pass (uniformity only when it could be computed); None if no sample."""
        if self.proportion_ok is None:
            return None
        return bool(self.proportion_ok and self.uniformity_ok is not False)


def _as_reference_read(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """p-values as the reference reads them back: printed with %f, scanned as a C float."""
    out = np.array([float(f"{v:.6f}") for v in p], dtype=np.float64)
    return out.astype(np.float32).astype(np.float64)


def second_level(
    pvalues: ArrayLike,
    *,
    alpha: float = 0.01,
    mode: Mode = "reference",
    excursion: bool = False,
    label: str = "",
) -> SecondLevel:
    """Proportion and uniformity analysis of one column of per-sequence p-values.

    Parameters
    ----------
    pvalues:
        One p-value per sequence; NaN marks a sequence where the test does not apply.
    alpha:
        Significance level of the first-level tests.
    mode:
        ``"reference"`` (sts-2.1.2 arithmetic) or ``"document"`` (§4.2 as written).
    excursion:
        The column belongs to a random excursion test (reference mode also drops p-values that
        print as 0.000000, as the suite does).
    label:
        Column label carried into the result.
    """
    from scipy.special import gammaincc  # imported here: the package is read for TEST_NAMES

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if mode not in ("reference", "document"):
        raise ValueError(f"mode must be 'reference' or 'document', got {mode!r}")
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    p = p[~np.isnan(p)]
    if mode == "reference":
        p = _as_reference_read(p)
        if excursion:
            p = p[p > 0.0]
    s = int(p.size)
    failed = int(np.count_nonzero(p < alpha))
    passed_count = s - failed
    pos = np.minimum(np.floor(p * 10).astype(np.int64), 9)
    hist = np.bincount(pos, minlength=10)[:10]
    if s == 0:
        return SecondLevel(label, 0, 0, None, None, tuple(int(h) for h in hist), None, None, None)
    p_hat = 1.0 - alpha
    half = 3.0 * math.sqrt(p_hat * alpha / s)
    if mode == "reference":
        lo_count = int((p_hat - half) * s)
        hi_count = int((p_hat + half) * s)
        prop_ok = lo_count <= passed_count <= hi_count
        prange = (lo_count / s, hi_count / s)
        exp = s // 10
        if exp == 0:
            unif = None
        else:
            chi2 = float(np.sum((hist - exp) ** 2 / exp))
            unif = float(gammaincc(4.5, chi2 / 2.0)) if chi2 > 0 else 1.0
    else:
        prange = (p_hat - half, p_hat + half)
        prop_ok = prange[0] <= passed_count / s <= prange[1]
        if s < 10:
            unif = None
        else:
            expf = s / 10.0
            chi2 = float(np.sum((hist - expf) ** 2 / expf))
            unif = float(gammaincc(4.5, chi2 / 2.0)) if chi2 > 0 else 1.0
    return SecondLevel(
        label=label,
        sample_size=s,
        passed_count=passed_count,
        proportion=passed_count / s,
        proportion_range=prange,
        histogram=tuple(int(h) for h in hist),
        uniformity_pvalue=unif,
        proportion_ok=bool(prop_ok),
        uniformity_ok=None if unif is None else bool(unif >= UNIFORMITY_ALPHA),
    )
