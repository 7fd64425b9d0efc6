"""Compiled leaf kernels: exact-shift, two-pass central sums of fixed-size row blocks.

A *leaf* is a block of consecutive rows (the canonical merge tree's unit, see ``_tree``). For
each leaf and each feature the kernels subtract a reference value taken from the leaf's first row
(``x - K`` is exact by Sterbenz's lemma when ``K/2 <= x <= 2K``, which holds for time tags that
share a large offset), compute per-class means of the shifted values, then the central sums of
the deviations from those means (a two-pass computation inside the leaf, as SCALib and
Schneider & Moradi 2015 recommend). The mean is kept as ``shift + residual`` so that a large
common offset never rounds away a small class difference.

The loops run over rows in their stored order and vectorise across features only, so no
floating-point reduction is ever re-associated: the same rows give the same bits.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True, nogil=True)
def leaf_moments(
    x: NDArray[np.floating],
    labels: NDArray[np.intp],
    n_classes: int,
    max_moment: int,
    leaf_rows: int,
    out_n: NDArray[np.int64],
    out_shift: NDArray[np.float64],
    out_resid: NDArray[np.float64],
    out_cs: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """Fill per-leaf counts, shifts, mean residuals and central sums of orders 2..max_moment.

    ``x`` is (rows, features); leaf ``i`` covers rows ``[i*leaf_rows, (i+1)*leaf_rows)`` (the last
    one may be shorter). Outputs are (leaves, classes), (leaves, classes, features) and
    (leaves, max_moment - 1, classes, features).
    """
    n_rows, n_feat = x.shape
    n_leaves = out_n.shape[0]
    mean = np.empty((n_classes, n_feat), dtype=np.float64)
    dsum = np.empty((n_classes, n_feat), dtype=np.float64)
    ref = np.empty(n_feat, dtype=np.float64)
    for leaf in range(n_leaves):
        r0 = leaf * leaf_rows
        r1 = min(r0 + leaf_rows, n_rows)
        for j in range(n_feat):
            ref[j] = np.float64(x[r0, j])
        mean[:, :] = 0.0
        dsum[:, :] = 0.0
        cnt = np.zeros(n_classes, dtype=np.int64)
        # Pass 1: per-class sums of the exactly shifted values.
        for r in range(r0, r1):
            c = labels[r]
            cnt[c] += 1
            for j in range(n_feat):
                mean[c, j] += np.float64(x[r, j]) - ref[j]
        for c in range(n_classes):
            out_n[leaf, c] = cnt[c]
            for j in range(n_feat):
                if cnt[c] > 0:
                    mean[c, j] = mean[c, j] / cnt[c]
                out_shift[leaf, c, j] = ref[j]
        # Pass 2: central sums about the pass-1 mean.
        cs = out_cs[leaf]
        cs[:, :, :] = 0.0
        if max_moment == 2:
            for r in range(r0, r1):
                c = labels[r]
                for j in range(n_feat):
                    d = (np.float64(x[r, j]) - ref[j]) - mean[c, j]
                    dsum[c, j] += d
                    cs[0, c, j] += d * d
        elif max_moment == 4:
            for r in range(r0, r1):
                c = labels[r]
                for j in range(n_feat):
                    d = (np.float64(x[r, j]) - ref[j]) - mean[c, j]
                    d2 = d * d
                    dsum[c, j] += d
                    cs[0, c, j] += d2
                    cs[1, c, j] += d2 * d
                    cs[2, c, j] += d2 * d2
        elif max_moment == 6:
            for r in range(r0, r1):
                c = labels[r]
                for j in range(n_feat):
                    d = (np.float64(x[r, j]) - ref[j]) - mean[c, j]
                    d2 = d * d
                    d3 = d2 * d
                    dsum[c, j] += d
                    cs[0, c, j] += d2
                    cs[1, c, j] += d3
                    cs[2, c, j] += d2 * d2
                    cs[3, c, j] += d2 * d3
                    cs[4, c, j] += d3 * d3
        else:
            for r in range(r0, r1):
                c = labels[r]
                for j in range(n_feat):
                    d = (np.float64(x[r, j]) - ref[j]) - mean[c, j]
                    dsum[c, j] += d
                    p = d
                    for k in range(max_moment - 1):
                        p = p * d
                        cs[k, c, j] += p
        # Corrected two-pass mean (Chan, Golub & LeVeque 1983): the deviations' sum removes the
        # rounding error of pass 1 from the stored residual.
        for c in range(n_classes):
            for j in range(n_feat):
                if cnt[c] > 0:
                    out_resid[leaf, c, j] = mean[c, j] + dsum[c, j] / cnt[c]
                else:
                    out_resid[leaf, c, j] = 0.0


@numba.njit(cache=True, nogil=True)
def leaf_comoments(
    a: NDArray[np.floating],
    b: NDArray[np.floating],
    labels: NDArray[np.intp],
    n_classes: int,
    leaf_rows: int,
    out_n: NDArray[np.int64],
    out_shift: NDArray[np.float64],
    out_resid: NDArray[np.float64],
    out_m: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """Per-leaf mixed central sums ``M[p, q] = sum (a - mean_a)^p (b - mean_b)^q`` for p, q <= 2.

    ``out_shift`` and ``out_resid`` are (leaves, 2, classes, features): index 0 for ``a``, 1 for
    ``b``. ``out_m`` is (leaves, 3, 3, classes, features); entries (0, 0), (1, 0) and (0, 1) are
    left at zero (the count is in ``out_n``).
    """
    n_rows, n_feat = a.shape
    n_leaves = out_n.shape[0]
    mean = np.empty((2, n_classes, n_feat), dtype=np.float64)
    dsum = np.empty((2, n_classes, n_feat), dtype=np.float64)
    ref = np.empty((2, n_feat), dtype=np.float64)
    for leaf in range(n_leaves):
        r0 = leaf * leaf_rows
        r1 = min(r0 + leaf_rows, n_rows)
        for j in range(n_feat):
            ref[0, j] = np.float64(a[r0, j])
            ref[1, j] = np.float64(b[r0, j])
        mean[:, :, :] = 0.0
        dsum[:, :, :] = 0.0
        cnt = np.zeros(n_classes, dtype=np.int64)
        for r in range(r0, r1):
            c = labels[r]
            cnt[c] += 1
            for j in range(n_feat):
                mean[0, c, j] += np.float64(a[r, j]) - ref[0, j]
                mean[1, c, j] += np.float64(b[r, j]) - ref[1, j]
        for c in range(n_classes):
            out_n[leaf, c] = cnt[c]
            for j in range(n_feat):
                for v in range(2):
                    if cnt[c] > 0:
                        mean[v, c, j] = mean[v, c, j] / cnt[c]
                    out_shift[leaf, v, c, j] = ref[v, j]
        m = out_m[leaf]
        m[:, :, :, :] = 0.0
        for r in range(r0, r1):
            c = labels[r]
            for j in range(n_feat):
                da = (np.float64(a[r, j]) - ref[0, j]) - mean[0, c, j]
                db = (np.float64(b[r, j]) - ref[1, j]) - mean[1, c, j]
                dsum[0, c, j] += da
                dsum[1, c, j] += db
                da2 = da * da
                db2 = db * db
                m[2, 0, c, j] += da2
                m[0, 2, c, j] += db2
                m[1, 1, c, j] += da * db
                m[2, 1, c, j] += da2 * db
                m[1, 2, c, j] += da * db2
                m[2, 2, c, j] += da2 * db2
        for c in range(n_classes):
            for j in range(n_feat):
                for v in range(2):
                    if cnt[c] > 0:
                        out_resid[leaf, v, c, j] = mean[v, c, j] + dsum[v, c, j] / cnt[c]
                    else:
                        out_resid[leaf, v, c, j] = 0.0
