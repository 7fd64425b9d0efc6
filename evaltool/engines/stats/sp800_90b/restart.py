"""Restart tests of SP 800-90B §3.1.4: the restart matrix, sanity check and validation.

The restart data are 1,000 restarts of the noise source with 1,000 consecutive samples each:
row ``i`` of the 1000 x 1000 matrix holds the samples of restart ``i`` (§3.1.4.1). The row data
set is the matrix read row by row, the column data set the matrix read column by column
(§3.1.4.2).

Sanity check (§3.1.4.3): the largest count of one value in any row or column must not exceed
the ``1 - alpha`` quantile, ``alpha = 1 - 0.99^(1/2000)``, of the largest count in 1,000 draws
from the "inverted near-uniform" distribution with most-likely probability ``p = 2^-H_I``
(``floor(1/p)`` values of probability ``p``, one value with the rest). The NIST
SP800-90B_EntropyAssessment tool estimates that quantile from 5,000,000 simulated rounds; here it
is computed exactly by Poissonisation (the multinomial law conditioned on the total), so it may
differ from the tool's simulated cutoff by one count when the quantile sits on a boundary.

Validation (§3.1.4.3): the row and column data sets are assessed like the original samples (the
IID track's MCV estimate, or the non-IID estimators on the samples, without the bit-string
track); the test passes when ``min(H_r, H_c) >= H_I / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evaltool.engines.stats.sp800_90b._common import prepare_samples
from evaltool.engines.stats.sp800_90b._entropic import most_common_value
from evaltool.engines.stats.sp800_90b.iid import (
    ALPHA as IID_ALPHA,
)
from evaltool.engines.stats.sp800_90b.iid import (
    chi_square_goodness_of_fit,
    chi_square_independence,
    lrs_test,
    permutation_tests,
)
from evaltool.engines.stats.sp800_90b.non_iid import _run_all

ROWS = 1000
COLUMNS = 1000


@dataclass(frozen=True, slots=True)
class RestartResult:
    """Outcome of the §3.1.4 restart tests.

    Attributes
    ----------
    h_initial:
        ``H_I``, the initial entropy estimate being validated (bits per sample).
    alpha:
        ``1 - 0.99^(1/2000)``.
    cutoff:
        Sanity-check cutoff on the largest row/column count.
    max_row_count, max_column_count:
        Largest count of one value within a row / a column.
    sanity_passed:
        ``max(max_row_count, max_column_count) <= cutoff``.
    h_row, h_column:
        Min-entropy of the row and column data sets (``None`` when the sanity check failed and
        validation was not run).
    validation_passed:
        ``min(H_r, H_c) >= H_I / 2``.
    passed:
        Sanity check and validation both passed.
    h_final:
        ``min(H_I, H_r, H_c)`` when passed, else 0.
    iid:
        Whether the IID track was used.
    iid_tests_passed:
        On the IID track, whether the permutation, chi-square and LRS tests pass on both the row
        and the column data set (reported; the entropy validation does not depend on it).
    """

    h_initial: float
    alpha: float
    cutoff: int
    max_row_count: int
    max_column_count: int
    sanity_passed: bool
    h_row: float | None
    h_column: float | None
    validation_passed: bool
    passed: bool
    h_final: float
    iid: bool
    iid_tests_passed: bool | None = None


def _poisson_block(mean: float, upto: int, length: int) -> NDArray[np.float64]:
    out = np.zeros(length)
    k = np.arange(min(upto, length - 1) + 1)
    out[: k.size] = stats.poisson.pmf(k, mean)
    return out


def _convolve(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.convolve(a, b)[: a.size]


def max_count_cdf(x: int, p: float, n: int = 1000) -> float:
    """``P[max count <= x]`` for ``n`` draws from the inverted near-uniform law with top ``p``.

    The distribution has ``floor(1/p)`` values of probability ``p`` and, when ``1/p`` is not an
    integer, one more value with the remaining probability (included in the maximum, as the
    reference tool counts it). Exact up to rounding: with independent ``Y_i ~ Poisson(n p_i)``,
    the multinomial counts are the ``Y_i`` conditioned on ``sum Y_i = n``.
    """
    m = math.floor(1.0 / p)
    rest = 1.0 - m * p
    if rest < 1e-12:
        rest = 0.0
    length = n + 1
    single = _poisson_block(n * p, x, length)
    acc = np.zeros(length)
    acc[0] = 1.0
    power = single
    e = m
    while e:
        if e & 1:
            acc = _convolve(acc, power)
        e >>= 1
        if e:
            power = _convolve(power, power)
    if rest > 0.0:
        acc = _convolve(acc, _poisson_block(n * rest, x, length))
    return float(acc[n] / stats.poisson.pmf(n, n))


def sanity_cutoff(h_initial: float, *, alpha: float | None = None, n: int = 1000) -> int:
    """Restart sanity-check cutoff (§3.1.4.3): the ``1 - alpha`` quantile of the max count."""
    if not 0.0 < h_initial <= 8.0:
        raise ValueError(f"H_I must lie in (0, 8], got {h_initial!r}")
    a = 1.0 - math.exp(math.log(0.99) / (ROWS + COLUMNS)) if alpha is None else float(alpha)
    p: float = 2.0**-h_initial
    lo = max(1, math.floor(n * p))
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if max_count_cdf(mid, p, n) >= 1.0 - a:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _max_line_count(matrix: NDArray[np.uint8], k: int) -> int:
    best = 0
    for v in range(k):
        eq = matrix == v
        best = max(best, int(eq.sum(axis=1).max()))
    return best


def restart_tests(
    samples: ArrayLike,
    bits_per_sample: int,
    h_initial: float,
    *,
    iid: bool = False,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> RestartResult:
    """Run the restart tests of SP 800-90B §3.1.4 on a 1000 x 1000 restart matrix.

    Parameters
    ----------
    samples:
        1,000,000 samples, restart by restart (row-major), or a (1000, 1000) array.
    bits_per_sample:
        Sample width.
    h_initial:
        ``H_I``, the entropy per sample the restart data must support.
    iid:
        Validate with the IID track (MCV estimate and IID tests) instead of the non-IID
        estimators.
    n_permutations, seed:
        Permutation-test settings on the IID track.
    """
    arr = np.asarray(samples)
    if arr.size != ROWS * COLUMNS:
        raise ValueError(f"restart data must hold {ROWS} x {COLUMNS} samples, got {arr.size}")
    if not 0.0 <= h_initial <= bits_per_sample:
        raise ValueError(f"H_I must lie in [0, {bits_per_sample}], got {h_initial!r}")
    prepared = prepare_samples(arr.ravel(), bits_per_sample)
    k = prepared.alphabet_size
    rows = prepared.symbols.reshape(ROWS, COLUMNS)
    cols = np.ascontiguousarray(rows.T)
    alpha = 1.0 - math.exp(math.log(0.99) / (ROWS + COLUMNS))
    cutoff = sanity_cutoff(h_initial, alpha=alpha) if h_initial > 0 else COLUMNS
    x_r = _max_line_count(rows, k)
    x_c = _max_line_count(cols, k)
    sanity = max(x_r, x_c) <= cutoff and k > 1
    if not sanity:
        return RestartResult(
            float(h_initial),
            alpha,
            cutoff,
            x_r,
            x_c,
            False,
            None,
            None,
            False,
            False,
            0.0,
            iid,
            None,
        )
    width = prepared.bits_per_sample
    h_vals: list[float] = []
    iid_ok: bool | None = True if iid else None
    raw_rows = np.asarray(arr, dtype=np.uint8).reshape(ROWS, COLUMNS)
    views = ((rows, raw_rows), (cols, np.ascontiguousarray(raw_rows.T)))
    for sym_matrix, raw_matrix in views:
        seq = np.ascontiguousarray(sym_matrix).ravel()
        if iid:
            h = min(float(width), most_common_value(seq).min_entropy)
            chi1 = chi_square_independence(seq, k)
            chi2 = chi_square_goodness_of_fit(seq, k)
            lrs = lrs_test(seq, k)
            perm = permutation_tests(
                seq,
                np.ascontiguousarray(raw_matrix).ravel(),
                k,
                n_permutations=n_permutations,
                seed=seed,
            )
            iid_ok = bool(
                iid_ok
                and perm.passed
                and lrs.passed
                and chi1.pvalue >= IID_ALPHA
                and chi2.pvalue >= IID_ALPHA
            )
        else:
            res = _run_all(seq, k, binary_estimates=(k == 2))
            h = float(width)
            for r in res.values():
                if r is not None:
                    h = min(h, r.min_entropy)
        h_vals.append(h)
    h_r, h_c = h_vals
    validation = min(h_r, h_c) >= h_initial / 2.0
    passed = sanity and validation
    h_final = min(h_initial, h_r, h_c) if passed else 0.0
    return RestartResult(
        float(h_initial),
        alpha,
        cutoff,
        x_r,
        x_c,
        True,
        h_r,
        h_c,
        bool(validation),
        bool(passed),
        float(h_final),
        iid,
        iid_ok,
    )
