"""One-pass, mergeable per-class central moments (univariate and bivariate co-moments).

Each leaf of the canonical merge tree (``_tree``) is summarised by a two-pass computation on
exactly shifted values (``_kernels``); summaries are merged with the pairwise update formulas of
Pébay (2008) for central sums, written here in their binomial form: for a block ``X = A ∪ B``
with ``n = n_A + n_B`` and ``Δ = μ_B − μ_A``, the deviations of the block means from the merged
mean are ``δ_A = −n_B Δ / n`` and ``δ_B = n_A Δ / n`` and

    CS_p(X) = Σ_{k=0..p} C(p, k) [CS_k(A) δ_A^{p−k} + CS_k(B) δ_B^{p−k}],   CS_0 = n, CS_1 = 0,

which is Pébay 2008's arbitrary-order pairwise update (the one Schneider & Moradi 2015 use)
after the terms with ``CS_1 = 0`` are dropped. The bivariate version expands both factors:

    M_pq(X) = Σ_{i≤p, j≤q} C(p, i) C(q, j) [M_ij(A) δ_{A,a}^{p−i} δ_{A,b}^{q−j} + (same for B)],

Pébay 2008's co-moment update, as used for the one-pass centred-product test of
Schneider & Moradi 2015 (multivariate test).

References
----------
P. Pébay, "Formulas for robust, one-pass parallel computation of covariances and arbitrary-order
statistical moments", Sandia Report SAND2008-6212, 2008.
T. Schneider and A. Moradi, "Leakage assessment methodology — a clear roadmap for side-channel
evaluations", CHES 2015 (LNCS 9293), pp. 495-513.
T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample variance:
analysis and recommendations", The American Statistician 37(3), 1983.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines.leakage._kernels import leaf_comoments, leaf_moments
from evaltool.engines.leakage._tree import Arrays, CanonicalTree


def default_leaf_rows(n_features: int) -> int:
    """Rows per leaf of the canonical merge tree for ``n_features`` features.

    About 2^19 values per leaf (a power of two between 1024 and 65536 rows): large enough that
    merges cost little next to the leaf pass, small enough that a leaf of float32 traces stays in
    cache. It depends only on the feature count, so results never depend on chunking.
    """
    if n_features < 1:
        raise ValueError("n_features must be >= 1")
    rows = 1 << max(0, (2**19 // n_features).bit_length() - 1)
    return min(max(rows, 1024), 65536)


_UniNode = tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
_CoNode = tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]

# Mixed moments kept by the bivariate accumulator: enough for the centred product's mean (1, 1)
# and variance (2, 2) (Schneider & Moradi 2015, multivariate test).
_CO_ORDERS: tuple[tuple[int, int], ...] = ((2, 0), (0, 2), (1, 1), (2, 1), (1, 2), (2, 2))


def _as_rows(x: ArrayLike, name: str) -> NDArray[np.floating]:
    arr = np.asarray(x)
    if arr.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D (rows) or 2-D (rows x features), got {arr.ndim}-D")
    return np.ascontiguousarray(arr)


def _as_labels(labels: ArrayLike, n_rows: int, n_classes: int) -> NDArray[np.intp]:
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n_rows:
        raise ValueError(f"labels must be 1-D with one entry per row ({n_rows}), got {lab.shape}")
    if lab.dtype == np.bool_:
        lab = lab.astype(np.intp)
    if not np.issubdtype(lab.dtype, np.integer):
        raise TypeError(f"labels must be integer class codes, got dtype {lab.dtype}")
    if lab.size and (int(lab.min()) < 0 or int(lab.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got [{lab.min()}, {lab.max()}]")
    return np.ascontiguousarray(lab, dtype=np.intp)


def _check_finite(*arrays: NDArray[np.float64]) -> None:
    for arr in arrays:
        if not np.all(np.isfinite(arr)):
            raise ValueError("input contains NaN or infinite values")


@dataclass(frozen=True, slots=True, eq=False)
class ClassMoments:
    """Per-class count, mean and central sums of orders 2..``max_moment`` for every feature.

    The mean of class ``c`` and feature ``j`` is ``shift[c, j] + resid[c, j]``: ``shift`` is a
    value of the data itself and ``resid`` a small correction, so differences of class means are
    formed without cancelling a large common offset (see :meth:`mean_difference`).

    Attributes
    ----------
    n:
        Rows per class, shape (classes,).
    shift, resid:
        Mean decomposition, shape (classes, features).
    central_sums:
        ``central_sums[k - 2, c, j] = Σ (x − mean)^k`` over the rows of class ``c``, shape
        (max_moment − 1, classes, features).
    max_moment:
        Highest central-sum order kept.
    """

    n: NDArray[np.int64]
    shift: NDArray[np.float64]
    resid: NDArray[np.float64]
    central_sums: NDArray[np.float64]
    max_moment: int

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return int(self.n.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features (samples per trace)."""
        return int(self.shift.shape[1])

    def mean(self) -> NDArray[np.float64]:
        """Class means, shape (classes, features) (rounded to float64 absolute values)."""
        return np.asarray(self.shift + self.resid)

    def mean_difference(self, first: int, second: int) -> NDArray[np.float64]:
        """``mean[first] − mean[second]`` without cancelling a common offset, shape (features,)."""
        diff = (self.shift[first] - self.shift[second]) + (self.resid[first] - self.resid[second])
        return np.asarray(diff)

    def central_moment(self, k: int) -> NDArray[np.float64]:
        """Population central moment ``CM_k = CS_k / n`` per class and feature."""
        if not 2 <= k <= self.max_moment:
            raise ValueError(f"central moments 2..{self.max_moment} are kept, asked for {k}")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.central_sums[k - 2] / self.n[:, None])

    def variance(self, *, ddof: int = 1) -> NDArray[np.float64]:
        """Per-class variance ``CS_2 / (n − ddof)``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.central_sums[0] / (self.n[:, None] - ddof))


@dataclass(frozen=True, slots=True, eq=False)
class ClassCoMoments:
    """Per-class mixed central sums of a pair of features (a, b), orders (p, q) with p, q <= 2.

    Attributes
    ----------
    n:
        Rows per class, shape (classes,).
    shift, resid:
        Mean decomposition of ``a`` (index 0) and ``b`` (index 1), shape (2, classes, features).
    sums:
        ``sums[p, q, c, j] = Σ (a − mean_a)^p (b − mean_b)^q``, shape (3, 3, classes, features);
        entries (0, 0), (1, 0) and (0, 1) are zero.
    """

    n: NDArray[np.int64]
    shift: NDArray[np.float64]
    resid: NDArray[np.float64]
    sums: NDArray[np.float64]

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return int(self.n.shape[0])

    def comoment(self, p: int, q: int) -> NDArray[np.float64]:
        """Population mixed central moment ``M_pq / n`` per class and feature."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.sums[p, q] / self.n[:, None])


def _merge_uni(left: _UniNode, right: _UniNode, max_moment: int) -> _UniNode:
    nA, sA, rA, cA = left
    nB, sB, rB, cB = right
    n = nA + nB
    safe = np.maximum(n, 1).astype(np.float64)
    fa = (nA / safe)[:, None]
    fb = (nB / safe)[:, None]
    delta = (sB - sA) + (rB - rA)
    resid = rA + delta * fb
    dA = -fb * delta  # μ_A − μ (Pébay 2008 notation: −n_B Δ / n)
    dB = fa * delta  # μ_B − μ (n_A Δ / n)
    powA = [np.ones_like(delta), dA]
    powB = [np.ones_like(delta), dB]
    for _ in range(2, max_moment + 1):
        powA.append(powA[-1] * dA)
        powB.append(powB[-1] * dB)
    nAf = nA.astype(np.float64)[:, None]
    nBf = nB.astype(np.float64)[:, None]
    cs = np.empty_like(cA)
    for p in range(2, max_moment + 1):
        acc = cA[p - 2] + cB[p - 2]
        for k in range(2, p):
            acc = acc + comb(p, k) * (cA[k - 2] * powA[p - k] + cB[k - 2] * powB[p - k])
        acc = acc + (nAf * powA[p] + nBf * powB[p])
        cs[p - 2] = acc
    # An empty side contributes nothing: keep the other side's summary exactly.
    emptyA = (nA == 0)[:, None]
    emptyB = (nB == 0)[:, None]
    shift = np.where(emptyA, sB, sA)
    resid = np.where(emptyA, rB, np.where(emptyB, rA, resid))
    cs = np.where(emptyA[None], cB, np.where(emptyB[None], cA, cs))
    return n, shift, resid, cs


def _merge_co(left: _CoNode, right: _CoNode) -> _CoNode:
    nA, sA, rA, mA = left
    nB, sB, rB, mB = right
    n = nA + nB
    safe = np.maximum(n, 1).astype(np.float64)
    fa = (nA / safe)[None, :, None]
    fb = (nB / safe)[None, :, None]
    delta = (sB - sA) + (rB - rA)  # (2, classes, features)
    resid = rA + delta * fb
    dA = -fb * delta
    dB = fa * delta
    ones = np.ones_like(delta[0])
    powA = [[ones, dA[v], dA[v] * dA[v]] for v in range(2)]
    powB = [[ones, dB[v], dB[v] * dB[v]] for v in range(2)]
    full_a = mA.copy()
    full_b = mB.copy()
    full_a[0, 0] = nA.astype(np.float64)[:, None]
    full_b[0, 0] = nB.astype(np.float64)[:, None]
    m = np.zeros_like(mA)
    for p, q in _CO_ORDERS:
        acc = mA[p, q] + mB[p, q]
        for i in range(p + 1):
            for j in range(q + 1):
                if (i, j) in ((p, q), (1, 0), (0, 1)):
                    continue
                w = comb(p, i) * comb(q, j)
                acc = acc + w * (
                    full_a[i, j] * powA[0][p - i] * powA[1][q - j]
                    + full_b[i, j] * powB[0][p - i] * powB[1][q - j]
                )
        m[p, q] = acc
    emptyA = (nA == 0)[None, :, None]
    emptyB = (nB == 0)[None, :, None]
    shift = np.where(emptyA, sB, sA)
    resid = np.where(emptyA, rB, np.where(emptyB, rA, resid))
    m = np.where(emptyA[None], mB, np.where(emptyB[None], mA, m))
    return n, shift, resid, m


class MomentAccumulator(CanonicalTree[_UniNode]):
    """Streaming per-class central moments of many features, mergeable and order-independent.

    Parameters
    ----------
    n_features:
        Features (samples) per row.
    n_classes:
        Number of label classes; labels are integer codes in ``[0, n_classes)``.
    max_moment:
        Highest central sum kept (``2·d`` for a d-th order t-test; 2 to 8).
    leaf_rows:
        Rows per leaf of the canonical merge tree (default: :func:`default_leaf_rows`).
    start_row:
        Global index of the first row (for accumulators built on separate parts of one data set).

    Notes
    -----
    Results are bitwise identical for any chunking of the rows passed to :meth:`update` and any
    order of :meth:`merge` calls between accumulators on disjoint row ranges (see ``_tree``).
    Float32 input is read as is and promoted to float64 inside the leaf kernel.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int = 2,
        *,
        max_moment: int = 2,
        leaf_rows: int | None = None,
        start_row: int = 0,
    ) -> None:
        if n_features < 1 or n_classes < 1:
            raise ValueError("n_features and n_classes must be >= 1")
        leaf = default_leaf_rows(n_features) if leaf_rows is None else leaf_rows
        super().__init__(leaf_rows=leaf, start_row=start_row)
        if not 2 <= max_moment <= 8:
            raise ValueError(f"max_moment must be in 2..8, got {max_moment}")
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.max_moment = int(max_moment)

    def _config(self) -> tuple[object, ...]:
        return (self.n_features, self.n_classes, self.max_moment, self._leaf_rows)

    def update(self, x: ArrayLike, labels: ArrayLike) -> None:
        """Add rows ``x`` (rows × features, or 1-D for one feature) with their class codes."""
        arr = _as_rows(x, "x")
        if arr.shape[1] != self.n_features:
            raise ValueError(f"x has {arr.shape[1]} features, expected {self.n_features}")
        lab = _as_labels(labels, arr.shape[0], self.n_classes)
        self._ingest((arr, lab))

    def merge(self, other: MomentAccumulator) -> None:
        """Fold the rows of ``other`` (a disjoint row range) into this accumulator."""
        self._merge_from(other)

    def _leaves(self, arrays: Arrays) -> list[_UniNode]:
        x, lab = arrays
        L = self._leaf_rows
        count = -(-x.shape[0] // L)
        C, F, P = self.n_classes, self.n_features, self.max_moment
        out_n = np.empty((count, C), dtype=np.int64)
        out_shift = np.empty((count, C, F), dtype=np.float64)
        out_resid = np.empty((count, C, F), dtype=np.float64)
        out_cs = np.empty((count, P - 1, C, F), dtype=np.float64)
        leaf_moments(x, lab, C, P, L, out_n, out_shift, out_resid, out_cs)
        _check_finite(out_resid, out_cs)
        return [(out_n[i], out_shift[i], out_resid[i], out_cs[i]) for i in range(count)]

    def _merge(self, left: _UniNode, right: _UniNode) -> _UniNode:
        return _merge_uni(left, right, self.max_moment)

    def moments(self) -> ClassMoments:
        """The per-class moments of every row seen so far (the accumulator stays usable)."""
        node = self._summary()
        C, F, P = self.n_classes, self.n_features, self.max_moment
        if node is None:
            zeros = np.zeros((C, F))
            return ClassMoments(
                np.zeros(C, dtype=np.int64), zeros, zeros.copy(), np.zeros((P - 1, C, F)), P
            )
        n, shift, resid, cs = node
        return ClassMoments(n.copy(), shift.copy(), resid.copy(), cs.copy(), P)


class CoMomentAccumulator(CanonicalTree[_CoNode]):
    """Streaming per-class mixed central sums of feature pairs (a, b), for centred products.

    Parameters are as for :class:`MomentAccumulator`; :meth:`update` takes two arrays of the same
    shape, the first and second factor of each product.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int = 2,
        *,
        leaf_rows: int | None = None,
        start_row: int = 0,
    ) -> None:
        if n_features < 1 or n_classes < 1:
            raise ValueError("n_features and n_classes must be >= 1")
        leaf = default_leaf_rows(n_features) if leaf_rows is None else leaf_rows
        super().__init__(leaf_rows=leaf, start_row=start_row)
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)

    def _config(self) -> tuple[object, ...]:
        return (self.n_features, self.n_classes, self._leaf_rows)

    def update(self, a: ArrayLike, b: ArrayLike, labels: ArrayLike) -> None:
        """Add rows of the pairs ``(a, b)`` (rows × features each) with their class codes."""
        arr_a = _as_rows(a, "a")
        arr_b = _as_rows(b, "b")
        if arr_a.shape != arr_b.shape or arr_a.shape[1] != self.n_features:
            raise ValueError(
                f"a and b must both be (rows, {self.n_features}), got {arr_a.shape}, {arr_b.shape}"
            )
        if arr_a.dtype != arr_b.dtype:
            arr_a = arr_a.astype(np.float64)
            arr_b = arr_b.astype(np.float64)
        lab = _as_labels(labels, arr_a.shape[0], self.n_classes)
        self._ingest((arr_a, arr_b, lab))

    def merge(self, other: CoMomentAccumulator) -> None:
        """Fold the rows of ``other`` (a disjoint row range) into this accumulator."""
        self._merge_from(other)

    def _leaves(self, arrays: Arrays) -> list[_CoNode]:
        a, b, lab = arrays
        L = self._leaf_rows
        count = -(-a.shape[0] // L)
        C, F = self.n_classes, self.n_features
        out_n = np.empty((count, C), dtype=np.int64)
        out_shift = np.empty((count, 2, C, F), dtype=np.float64)
        out_resid = np.empty((count, 2, C, F), dtype=np.float64)
        out_m = np.empty((count, 3, 3, C, F), dtype=np.float64)
        leaf_comoments(a, b, lab, C, L, out_n, out_shift, out_resid, out_m)
        _check_finite(out_resid, out_m)
        return [(out_n[i], out_shift[i], out_resid[i], out_m[i]) for i in range(count)]

    def _merge(self, left: _CoNode, right: _CoNode) -> _CoNode:
        return _merge_co(left, right)

    def comoments(self) -> ClassCoMoments:
        """The per-class mixed moments of every pair seen so far."""
        node = self._summary()
        C, F = self.n_classes, self.n_features
        if node is None:
            return ClassCoMoments(
                np.zeros(C, dtype=np.int64),
                np.zeros((2, C, F)),
                np.zeros((2, C, F)),
                np.zeros((3, 3, C, F)),
            )
        n, shift, resid, m = node
        return ClassCoMoments(n.copy(), shift.copy(), resid.copy(), m.copy())


class LaggedPairAccumulator:
    """Centred-product co-moments of pulse ``n`` and pulse ``n − lag`` over a row stream.

    Rows must arrive in order (one stream); the last ``lag`` rows of each chunk are carried to the
    next so that pairs straddling chunk boundaries are counted. The class of a pair is the label
    of pulse ``n``.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int = 2,
        *,
        lag: int = 1,
        leaf_rows: int | None = None,
    ) -> None:
        if lag < 1:
            raise ValueError(f"lag must be >= 1, got {lag}")
        self.lag = int(lag)
        self._acc = CoMomentAccumulator(n_features, n_classes, leaf_rows=leaf_rows)
        self._tail: NDArray[np.floating] | None = None

    def update(self, x: ArrayLike, labels: ArrayLike) -> None:
        """Add the next rows of the stream with their class codes."""
        arr = _as_rows(x, "x")
        lab = np.asarray(labels)
        if lab.shape[0] != arr.shape[0]:
            raise ValueError("labels must have one entry per row")
        joined = arr if self._tail is None else np.concatenate([self._tail, arr])
        k = self.lag
        n_prev = 0 if self._tail is None else self._tail.shape[0]
        if joined.shape[0] > k:
            # Pairs end at the new rows only: rows of the carried tail were paired before.
            first = max(k, n_prev)
            a = joined[first:]
            b = joined[first - k : joined.shape[0] - k]
            self._acc.update(a, b, lab[first - n_prev :])
        self._tail = np.array(joined[-k:], copy=True)

    def comoments(self) -> ClassCoMoments:
        """The per-class mixed moments of all pairs so far."""
        return self._acc.comoments()
