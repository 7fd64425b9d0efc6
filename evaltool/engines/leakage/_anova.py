"""Multi-class statistics from accumulated class moments: SNR and Welch's heteroscedastic ANOVA.

Both weight classes by their own counts, so imbalanced classes (decoy-state intensity classes,
e.g. 70/20/10) are handled correctly — the defect lascar fixed in 2022 for its SNR/NICV.

- SNR (Mangard, Oswald & Popp, Power Analysis Attacks, 2007, ch. 4, SNR):
  ``Var_c(μ_c) / E_c(σ²_c)`` with class probabilities ``n_c / N`` as weights.
- Welch's ANOVA (Welch, "On the comparison of several mean values", Biometrika 38, 1951):
  ``w_c = n_c / s²_c``, ``W = Σ w_c``, ``μ_w = Σ w_c μ_c / W``,
  ``A = Σ w_c (μ_c − μ_w)² / (k − 1)``, ``λ = Σ (1 − w_c/W)² / (n_c − 1)``,
  ``F = A / (1 + 2 (k − 2) λ / (k² − 1))``, ``ν_1 = k − 1``, ``ν_2 = (k² − 1) / (3 λ)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from evaltool.engines.leakage._moments import ClassMoments
from evaltool.engines.leakage._ttest import preprocessed_class_stats
from evaltool.errors import InsufficientDataError


@dataclass(frozen=True, slots=True, eq=False)
class SNRResult:
    """Signal-to-noise ratio per feature (a power ratio, not in dB).

    Attributes
    ----------
    statistic:
        ``Var(E[X | class]) / E[Var(X | class)]`` per feature.
    n:
        Rows per class.
    """

    statistic: NDArray[np.float64]
    n: NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class WelchANOVAResult:
    """Welch's heteroscedastic one-way ANOVA per feature.

    Attributes
    ----------
    statistic, pvalue:
        F statistic and upper-tail p-value per feature.
    df_num, df_den:
        Numerator (k − 1) and per-feature denominator degrees of freedom.
    n:
        Rows per class (classes with no rows are left out of the test).
    """

    statistic: NDArray[np.float64]
    pvalue: NDArray[np.float64]
    df_num: int
    df_den: NDArray[np.float64]
    n: NDArray[np.int64]


def _centred_means(m: ClassMoments, present: NDArray[np.intp]) -> NDArray[np.float64]:
    """Class means relative to the first present class (no large-offset cancellation)."""
    ref = int(present[0])
    return np.stack([m.mean_difference(int(c), ref) for c in present])


def snr(moments: ClassMoments, /) -> SNRResult:
    """Signal-to-noise ratio of each feature for a (possibly imbalanced) multi-class label.

    References
    ----------
    Mangard, Oswald & Popp, Power Analysis Attacks, Springer 2007, ch. 4 (SNR).
    """
    present = np.flatnonzero(moments.n > 0)
    if present.size < 2:
        raise InsufficientDataError(f"SNR needs rows in at least 2 classes, got {present.size}")
    n = moments.n[present].astype(np.float64)
    w = (n / n.sum())[:, None]
    mu = _centred_means(moments, present)
    grand = (w * mu).sum(axis=0)
    signal = (w * (mu - grand) ** 2).sum(axis=0)
    noise = (w * moments.central_moment(2)[present]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = signal / noise
    return SNRResult(stat, moments.n.copy())


def welch_anova(moments: ClassMoments, /, *, order: int = 1) -> WelchANOVAResult:
    """Welch's ANOVA F-test of equal class means without assuming equal variances.

    With ``order`` > 1 the test is applied to the preprocessed values of the order-``order``
    t-test (Schneider & Moradi 2015, higher-order univariate test): the multi-class
    counterpart of that test.

    References
    ----------
    B. L. Welch, Biometrika 38 (1951), pp. 330–336.
    """
    present = np.flatnonzero(moments.n > 0)
    if present.size < 2:
        raise InsufficientDataError(
            f"Welch's ANOVA needs rows in at least 2 classes, got {present.size}"
        )
    n = moments.n[present]
    if int(n.min()) < 2:
        raise InsufficientDataError(
            f"Welch's ANOVA needs at least 2 rows in every class present, got {n.tolist()}"
        )
    k = present.size
    nf = n.astype(np.float64)[:, None]
    mean_y, var_y = preprocessed_class_stats(moments, order, reference=int(present[0]))
    var = var_y[present]
    mu = mean_y[present]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = nf / var
        W = w.sum(axis=0)
        mw = (w * mu).sum(axis=0) / W
        A = (w * (mu - mw) ** 2).sum(axis=0) / (k - 1)
        lam = ((1.0 - w / W) ** 2 / (nf - 1.0)).sum(axis=0)
        F = A / (1.0 + 2.0 * (k - 2) * lam / (k * k - 1.0))
        df_den = (k * k - 1.0) / (3.0 * lam)
        pvalue = special.fdtrc(k - 1, df_den, F)
    return WelchANOVAResult(F, pvalue, k - 1, df_den, moments.n.copy())
