"""Welch's t-test between two label classes: univariate orders 1–3 and the centred product.

The d-th order univariate test applies Welch's t to the preprocessed values
``y = x`` (d = 1), ``y = (x − μ)²`` (d = 2) and ``y = ((x − μ)/σ)^d`` (d ≥ 3), whose class means
and variances follow from the central moments (Schneider & Moradi 2015, higher-order
univariate test):

- d = 1: mean μ, variance ``CS_2 / (n − 1)`` (the unbiased sample variance, as in
  ``scipy.stats.ttest_ind(equal_var=False)``);
- d = 2: mean ``CM_2``, variance ``CM_4 − CM_2²``;
- d ≥ 3: mean ``CM_d / CM_2^{d/2}``, variance ``(CM_2d − CM_d²) / CM_2^d``.

The bivariate test uses ``y = (a − μ_a)(b − μ_b)``: mean ``M_11 / n``, variance
``M_22 / n − (M_11 / n)²`` (Schneider & Moradi 2015, multivariate test).

Welch's statistic is ``t = (ȳ_1 − ȳ_0) / sqrt(v_1/n_1 + v_0/n_0)`` with Welch–Satterthwaite degrees
of freedom and a two-sided p-value (Welch 1947; ISO/IEC 17825:2016 for its use in TVLA).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from evaltool.engines.leakage._moments import (
    ClassCoMoments,
    ClassMoments,
    LaggedPairAccumulator,
    MomentAccumulator,
)
from evaltool.errors import InsufficientDataError


@dataclass(frozen=True, slots=True, eq=False)
class WelchTResult:
    """Welch's t-test per feature, class ``classes[1]`` minus class ``classes[0]``.

    Attributes
    ----------
    statistic, pvalue, df:
        Per-feature t, two-sided p-value and Welch–Satterthwaite degrees of freedom.
    se:
        Per-feature standard error of the difference of the preprocessed means (the denominator).
    order:
        Test order (1, 2, 3, ...); 0 denotes the bivariate centred-product test.
    classes:
        The two class codes compared, (reference, other).
    n:
        Rows in each of the two classes, in the order of ``classes``.
    """

    statistic: NDArray[np.float64]
    pvalue: NDArray[np.float64]
    df: NDArray[np.float64]
    se: NDArray[np.float64]
    order: int
    classes: tuple[int, int]
    n: tuple[int, int]


def _welch(
    diff: NDArray[np.float64],
    var0: NDArray[np.float64],
    var1: NDArray[np.float64],
    n0: int,
    n1: int,
) -> tuple[NDArray[np.float64], ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        q0 = var0 / n0
        q1 = var1 / n1
        se2 = q0 + q1
        se = np.sqrt(se2)
        t = diff / se
        # Welch–Satterthwaite degrees of freedom (Welch 1947).
        df = se2 * se2 / (q0 * q0 / (n0 - 1) + q1 * q1 / (n1 - 1))
        pvalue = 2.0 * special.stdtr(df, -np.abs(t))
    return t, pvalue, df, se


def _require_two(n: NDArray[np.int64], classes: tuple[int, int], test: str) -> tuple[int, int]:
    c0, c1 = classes
    if c0 == c1:
        raise ValueError("the two classes compared must differ")
    for c in (c0, c1):
        if not 0 <= c < n.shape[0]:
            raise ValueError(f"class {c} is not among the {n.shape[0]} classes")
    n0, n1 = int(n[c0]), int(n[c1])
    if min(n0, n1) < 2:
        raise InsufficientDataError(
            f"{test} needs at least 2 rows in each class, got {n0} and {n1}"
        )
    return n0, n1


def preprocessed_class_stats(
    moments: ClassMoments, order: int, *, reference: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-class mean and variance of the order-``order`` preprocessed values, (classes, features).

    For order 1 the means are relative to class ``reference`` (so a large common offset cancels
    exactly) and the variance is the unbiased ``CS_2 / (n − 1)``; for higher orders they follow
    Schneider & Moradi 2015, higher-order univariate test (population moments).
    """
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    if moments.max_moment < 2 * order:
        raise ValueError(
            f"an order-{order} t-test needs central moments up to {2 * order}, "
            f"the accumulator kept {moments.max_moment}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        if order == 1:
            mean_y = np.stack(
                [moments.mean_difference(c, reference) for c in range(moments.n_classes)]
            )
            return mean_y, moments.variance(ddof=1)
        cm2 = moments.central_moment(2)
        cmd = moments.central_moment(order)
        cm2d = moments.central_moment(2 * order)
        if order == 2:
            return cm2, np.asarray(cm2d - cm2 * cm2)
        scale = cm2 ** (order / 2.0)
        return np.asarray(cmd / scale), np.asarray((cm2d - cmd * cmd) / (scale * scale))


def welch_t_from_moments(
    moments: ClassMoments, /, *, order: int = 1, classes: tuple[int, int] = (0, 1)
) -> WelchTResult:
    """Welch's t-test of order ``order`` from accumulated class moments.

    Parameters
    ----------
    moments:
        Output of :meth:`MomentAccumulator.moments`; needs ``max_moment >= 2·order``.
    order:
        1 (means), 2 (variances) or higher (standardised moments).
    classes:
        ``(c0, c1)``; the statistic is class ``c1`` minus class ``c0``.

    References
    ----------
    Schneider & Moradi 2015 (higher-order univariate test); Welch 1947.
    """
    n0, n1 = _require_two(moments.n, classes, f"order-{order} Welch t-test")
    c0, c1 = classes
    mean_y, var_y = preprocessed_class_stats(moments, order, reference=c0)
    diff = mean_y[c1] - mean_y[c0]
    v0, v1 = var_y[c0], var_y[c1]
    t, p, df, se = _welch(diff, v0, v1, n0, n1)
    return WelchTResult(t, p, df, se, order, (c0, c1), (n0, n1))


def centred_product_t(
    comoments: ClassCoMoments, /, *, classes: tuple[int, int] = (0, 1)
) -> WelchTResult:
    """Bivariate Welch t-test on the centred product ``(a − μ_a)(b − μ_b)``.

    References
    ----------
    Schneider & Moradi 2015 (multivariate higher-order test, centred product).
    """
    n0, n1 = _require_two(comoments.n, classes, "centred-product t-test")
    c0, c1 = classes
    m11 = comoments.comoment(1, 1)
    m22 = comoments.comoment(2, 2)
    with np.errstate(invalid="ignore"):
        var_y = m22 - m11 * m11
    t, p, df, se = _welch(m11[c1] - m11[c0], var_y[c0], var_y[c1], n0, n1)
    return WelchTResult(t, p, df, se, 0, (c0, c1), (n0, n1))


def welch_t(
    x: ArrayLike,
    labels: ArrayLike,
    /,
    *,
    order: int = 1,
    classes: tuple[int, int] = (0, 1),
    leaf_rows: int | None = None,
) -> WelchTResult:
    """One-shot Welch's t-test of ``order`` on in-memory rows (rows × features or 1-D).

    ``labels`` are integer class codes; codes other than the two in ``classes`` are ignored.
    """
    lab = np.asarray(labels)
    n_classes = int(lab.max()) + 1 if lab.size else 2
    n_classes = max(n_classes, max(classes) + 1)
    arr = np.asarray(x)
    acc = MomentAccumulator(
        1 if arr.ndim == 1 else arr.shape[1],
        n_classes,
        max_moment=max(2, 2 * order),
        leaf_rows=leaf_rows,
    )
    acc.update(arr, lab)
    return welch_t_from_moments(acc.moments(), order=order, classes=classes)


def lagged_centred_product_t(
    x: ArrayLike,
    labels: ArrayLike,
    /,
    *,
    lag: int = 1,
    classes: tuple[int, int] = (0, 1),
    leaf_rows: int | None = None,
) -> WelchTResult:
    """One-shot centred-product test between pulse ``n`` and pulse ``n − lag``.

    The class of each product is the label of pulse ``n``.
    """
    lab = np.asarray(labels)
    arr = np.asarray(x)
    n_classes = max(int(lab.max()) + 1 if lab.size else 2, max(classes) + 1)
    acc = LaggedPairAccumulator(
        1 if arr.ndim == 1 else arr.shape[1], n_classes, lag=lag, leaf_rows=leaf_rows
    )
    acc.update(arr, lab)
    return centred_product_t(acc.comoments(), classes=classes)
