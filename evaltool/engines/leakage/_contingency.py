"""Label × binned-feature contingency tables: χ² and G-tests, bin-width sweep, MI and TVD.

A :class:`ContingencyAccumulator` counts, for one feature, how often each class falls in each
bin of width ``bin_width`` starting at ``origin`` (bins are ``floor((x − origin)/bin_width)``).
Counts are integers, so accumulation is exact and order-independent. Coarser widths
``m · bin_width`` are obtained afterwards by pooling ``m`` adjacent fine bins, which gives exactly
the bins ``floor((x − origin)/(m · bin_width))``: one pass yields the whole bin-width sweep that
timing features need (Pahalı, Tefek & Durak, arXiv:2203.03250: leakage through time tags is not
monotonic in the bin width).

The r×c test of independence follows Moradi, Richter, Schneider & Standaert, "Leakage detection
with the χ²-test", TCHES 2018(1): ``E_ij = R_i C_j / N``, ``x² = Σ (F_ij − E_ij)² / E_ij``,
``ν = (r − 1)(c − 1)``; the G statistic is ``2 Σ F_ij ln(F_ij / E_ij)`` (Sokal & Rohlf, Biometry,
ch. 17). Adjacent sparse bins are pooled first so that every expected count is at least 5
(Cochran 1954's rule for the χ² approximation).

Mutual information is the plug-in estimate with the Miller–Madow bias correction
(Miller 1955; Paninski, Neural Computation 15, 2003):
``Î_MM = Î_plugin + (m_X + m_Y − m_XY − 1) / (2N)`` nats, with ``m`` the non-empty cells of each
marginal and of the joint table. Total-variation distance between two class-conditional
distributions is ``½ Σ_j |p_1j − p_0j|`` (for more classes, the largest pairwise value); its
upward small-sample bias is removed with the bootstrap bias estimate. Confidence intervals are the
percentile spread of a class-stratified multinomial bootstrap placed around the bias-corrected
estimate (Efron & Tibshirani, An Introduction to the Bootstrap, 1993, ch. 10 and 13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from evaltool.engines.leakage._multiple import holm
from evaltool.errors import EvidenceError, InsufficientDataError

DEFAULT_SWEEP: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
"""Bin-width multiples of the finest width examined by :func:`chi2_sweep`."""

MAX_BINS = 1 << 16
"""Most distinct fine bins a feature may occupy (a bound on memory for hostile or drifting data)."""


def suggest_binning(sample: ArrayLike, /, *, bins_per_iqr: int = 64) -> tuple[float, float]:
    """Return ``(origin, bin_width)`` for a feature from a calibration sample.

    The origin is the sample's first value (so bin edges sit at a data-defined phase) and the
    finest width is the interquartile range divided by ``bins_per_iqr``; the default sweep then
    reaches about one bin per IQR. Constant samples get the smallest spacing between distinct
    values, or 1.
    """
    arr = np.asarray(sample, dtype=np.float64).ravel()
    if arr.size == 0:
        raise InsufficientDataError("binning needs at least one calibration value, got 0")
    if not np.all(np.isfinite(arr)):
        raise ValueError("calibration sample contains NaN or infinite values")
    q75, q25 = np.percentile(arr, [75.0, 25.0])
    width = float(q75 - q25) / bins_per_iqr
    if not width > 0:
        uniq = np.unique(arr)
        width = float(np.min(np.diff(uniq))) if uniq.size > 1 else 1.0
    return float(arr[0]), width


class ContingencyAccumulator:
    """Exact streaming counts of (class, bin) for one feature.

    Parameters
    ----------
    n_classes:
        Number of label classes (integer codes ``0..n_classes−1``).
    bin_width, origin:
        Finest bin width and the edge phase (see :func:`suggest_binning`).
    """

    def __init__(
        self, n_classes: int, *, bin_width: float, origin: float = 0.0, max_bins: int = MAX_BINS
    ) -> None:
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        if not (np.isfinite(bin_width) and bin_width > 0):
            raise ValueError(f"bin_width must be a positive finite number, got {bin_width}")
        if not np.isfinite(origin):
            raise ValueError("origin must be finite")
        self.n_classes = int(n_classes)
        self.bin_width = float(bin_width)
        self.origin = float(origin)
        self.max_bins = int(max_bins)
        self._counts: dict[int, NDArray[np.int64]] = {}

    def update(self, x: ArrayLike, labels: ArrayLike) -> None:
        """Count the values ``x`` (1-D) with their class codes."""
        arr = np.asarray(x, dtype=np.float64).ravel()
        lab = np.asarray(labels).ravel()
        if lab.shape != arr.shape:
            raise ValueError("labels must have one entry per value")
        if not np.issubdtype(lab.dtype, np.integer) and lab.dtype != np.bool_:
            raise TypeError(f"labels must be integer class codes, got dtype {lab.dtype}")
        if arr.size == 0:
            return
        if not np.all(np.isfinite(arr)):
            raise ValueError("x contains NaN or infinite values")
        if int(lab.min()) < 0 or int(lab.max()) >= self.n_classes:
            raise ValueError(f"labels must lie in [0, {self.n_classes})")
        scaled = np.floor((arr - self.origin) / self.bin_width)
        if np.max(np.abs(scaled)) > 2.0**62:
            raise EvidenceError(
                f"values lie more than 2^62 bins of width {self.bin_width:g} from the origin"
            )
        bins = scaled.astype(np.int64)
        lo = int(bins.min())
        span = (int(bins.max()) - lo + 1) * self.n_classes
        if span <= 4 * bins.size + 1024:
            # Dense range: one bincount instead of a sort (the common case for stationary data).
            dense = np.bincount((bins - lo) * self.n_classes + lab, minlength=span)
            keys = np.flatnonzero(dense)
            cnt = dense[keys]
            ub = keys // self.n_classes + lo
            uc = keys % self.n_classes
        else:
            keys, cnt = np.unique(bins * self.n_classes + lab.astype(np.int64), return_counts=True)
            ub = keys // self.n_classes
            uc = keys - ub * self.n_classes
        for b, c, k in zip(ub.tolist(), uc.tolist(), cnt.tolist(), strict=True):
            row = self._counts.get(b)
            if row is None:
                row = self._counts[b] = np.zeros(self.n_classes, dtype=np.int64)
            row[c] += k
        if len(self._counts) > self.max_bins:
            raise EvidenceError(
                f"the feature occupies more than {self.max_bins} bins of width "
                f"{self.bin_width:g}: it drifts (e.g. an absolute time stamp) or its spread "
                "changed after calibration; use a stationary feature such as an offset"
            )

    def merge(self, other: ContingencyAccumulator) -> None:
        """Add the counts of ``other`` (same classes, width and origin)."""
        if (other.n_classes, other.bin_width, other.origin) != (
            self.n_classes,
            self.bin_width,
            self.origin,
        ):
            raise ValueError("contingency accumulators with different binning cannot be merged")
        for b, row in other._counts.items():
            mine = self._counts.get(b)
            if mine is None:
                self._counts[b] = row.copy()
            else:
                mine += row

    def table(self, multiple: int = 1) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``(bins, counts)``: sorted bin indices at width ``multiple · bin_width`` and the
        (classes × bins) count table."""
        if multiple < 1:
            raise ValueError("multiple must be >= 1")
        if not self._counts:
            return np.zeros(0, dtype=np.int64), np.zeros((self.n_classes, 0), dtype=np.int64)
        fine = np.fromiter(self._counts.keys(), dtype=np.int64, count=len(self._counts))
        rows = np.stack([self._counts[b] for b in fine.tolist()], axis=1)
        coarse = np.floor_divide(fine, multiple)
        uniq, inverse = np.unique(coarse, return_inverse=True)
        out = np.zeros((self.n_classes, uniq.size), dtype=np.int64)
        np.add.at(out.T, inverse, rows.T)
        return uniq, out


def pool_sparse_bins(table: ArrayLike, /, *, min_expected: float = 5.0) -> NDArray[np.int64]:
    """Merge adjacent columns (bins) of a classes × bins table until every expected count
    ``R_i C_j / N`` is at least ``min_expected`` (left to right; a short remainder joins the last
    pooled column). Classes with no rows are dropped."""
    tab = np.asarray(table, dtype=np.int64)
    tab = tab[tab.sum(axis=1) > 0]
    if tab.size == 0:
        return np.asarray(tab.reshape(tab.shape[0], 0), dtype=np.int64)
    total = int(tab.sum())
    need = min_expected * total / float(tab.sum(axis=1).min())
    cols: list[NDArray[np.int64]] = []
    acc = np.zeros(tab.shape[0], dtype=np.int64)
    for j in range(tab.shape[1]):
        acc = acc + tab[:, j]
        if acc.sum() >= need:
            cols.append(acc)
            acc = np.zeros(tab.shape[0], dtype=np.int64)
    if acc.sum() > 0:
        if cols:
            cols[-1] = cols[-1] + acc
        else:
            cols.append(acc)
    return np.asarray(np.stack(cols, axis=1), dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class IndependenceTestResult:
    """χ² (Pearson) or G test of independence between label and binned feature.

    Attributes
    ----------
    statistic, pvalue, dof:
        Test statistic, upper-tail p-value and degrees of freedom ``(r − 1)(c − 1)``.
    method:
        ``"chi2"`` or ``"g"``.
    bin_width:
        Bin width of the table before pooling.
    n_bins:
        Columns after pooling sparse bins.
    n:
        Total count.
    """

    statistic: float
    pvalue: float
    dof: int
    method: str
    bin_width: float
    n_bins: int
    n: int


def independence_test(
    table: ArrayLike,
    /,
    *,
    method: str = "chi2",
    bin_width: float = float("nan"),
    min_expected: float = 5.0,
) -> IndependenceTestResult:
    """χ² or G test of independence on a classes × bins count table (sparse bins pooled first).

    A feature whose values all fall in one pooled bin carries no evidence of dependence: the
    result is then ``statistic = 0, pvalue = 1, dof = 0``.

    References
    ----------
    Moradi et al., TCHES 2018(1) (χ² leakage detection); Sokal & Rohlf, Biometry, ch. 17 (G).
    """
    if method not in ("chi2", "g"):
        raise ValueError(f"method must be 'chi2' or 'g', got {method!r}")
    raw = np.asarray(table, dtype=np.int64)
    if raw.ndim != 2:
        raise ValueError("table must be 2-D (classes × bins)")
    filled = int((raw.sum(axis=1) > 0).sum())
    if filled < 2:
        raise InsufficientDataError(
            f"an independence test needs observations in at least 2 classes, got {filled}"
        )
    tab = pool_sparse_bins(raw, min_expected=min_expected)
    n = int(tab.sum())
    r, c = tab.shape
    if c < 2:
        return IndependenceTestResult(0.0, 1.0, 0, method, bin_width, c, n)
    obs = tab.astype(np.float64)
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / n
    if method == "chi2":
        stat = float(np.sum((obs - expected) ** 2 / expected))
    else:
        stat = float(2.0 * np.sum(special.xlogy(obs, obs / expected)))
    dof = (r - 1) * (c - 1)
    return IndependenceTestResult(
        stat, float(special.chdtrc(dof, stat)), dof, method, bin_width, c, n
    )


@dataclass(frozen=True, slots=True, eq=False)
class SweepResult:
    """Independence tests over a bin-width sweep.

    Attributes
    ----------
    tests:
        One :class:`IndependenceTestResult` per width, finest first.
    pvalues_holm:
        Holm-adjusted p-values across the sweep (the widths form one family).
    best:
        Index of the smallest adjusted p-value (the coarsest width on ties).
    """

    tests: tuple[IndependenceTestResult, ...]
    pvalues_holm: NDArray[np.float64]
    best: int

    @property
    def statistic(self) -> float:
        """Statistic at the most significant width."""
        return self.tests[self.best].statistic

    @property
    def pvalue(self) -> float:
        """Holm-adjusted p-value at the most significant width."""
        return float(self.pvalues_holm[self.best])

    @property
    def bin_width(self) -> float:
        """The most significant width."""
        return self.tests[self.best].bin_width


def chi2_sweep(
    acc: ContingencyAccumulator,
    /,
    *,
    multiples: tuple[int, ...] = DEFAULT_SWEEP,
    method: str = "chi2",
    min_expected: float = 5.0,
) -> SweepResult:
    """Run :func:`independence_test` at every bin width ``m · acc.bin_width`` of the sweep.

    The p-values are Holm-adjusted across the widths, so reporting the most significant width
    does not inflate the false-alarm rate.
    """
    if not multiples:
        raise ValueError("multiples must not be empty")
    tests = tuple(
        independence_test(
            acc.table(m)[1], method=method, bin_width=m * acc.bin_width, min_expected=min_expected
        )
        for m in multiples
    )
    adjusted = holm(np.array([t.pvalue for t in tests]))
    # On ties (typically all adjusted p-values at 1) the coarsest width wins: fewer bins give the
    # leakage bounds computed at this width less small-sample bias.
    best = len(tests) - 1 - int(np.argmin(adjusted[::-1]))
    return SweepResult(tests, adjusted, best)


@dataclass(frozen=True, slots=True, eq=False)
class LeakageBoundResult:
    """A bias-corrected leakage measure with a bootstrap confidence interval.

    Attributes
    ----------
    value:
        Bias-corrected point estimate (clipped at 0).
    plugin:
        Plug-in estimate from the observed table.
    ci:
        ``(low, high)`` bootstrap interval at ``confidence_level`` (clipped at 0).
    confidence_level:
        Two-sided coverage of ``ci``.
    unit:
        ``"bit"`` for mutual information, ``""`` for total-variation distance.
    n_resamples, seed:
        Bootstrap size and the seed that reproduces it.
    """

    value: float
    plugin: float
    ci: tuple[float, float]
    confidence_level: float
    unit: str
    n_resamples: int
    seed: int | None


def _mi_plugin_bits(tab: NDArray[np.float64]) -> NDArray[np.float64]:
    """Plug-in MI in bits of one or many tables (..., classes, bins)."""
    n = tab.sum(axis=(-2, -1), keepdims=True)
    pxy = tab / n
    px = pxy.sum(axis=-1, keepdims=True)
    py = pxy.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = special.xlogy(pxy, pxy) - special.xlogy(pxy, px * py)
    return np.asarray(terms.sum(axis=(-2, -1)) / np.log(2.0))


def _mi_miller_madow_bits(tab: NDArray[np.float64]) -> NDArray[np.float64]:
    n = tab.sum(axis=(-2, -1))
    m_xy = (tab > 0).sum(axis=(-2, -1))
    m_x = (tab.sum(axis=-1) > 0).sum(axis=-1)
    m_y = (tab.sum(axis=-2) > 0).sum(axis=-1)
    # Miller 1955: H_MM = H_plugin + (m − 1)/(2N) nats, applied to H(X) + H(Y) − H(X, Y).
    correction = (m_x + m_y - m_xy - 1) / (2.0 * n * np.log(2.0))
    return np.asarray(_mi_plugin_bits(tab) + correction, dtype=np.float64)


def _tvd(tab: NDArray[np.float64]) -> NDArray[np.float64]:
    """Largest pairwise TVD between class-conditional bin distributions, (..., classes, bins)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = tab / tab.sum(axis=-1, keepdims=True)
    k = tab.shape[-2]
    best = np.zeros(tab.shape[:-2])
    for i in range(k):
        for j in range(i + 1, k):
            best = np.maximum(best, 0.5 * np.abs(p[..., i, :] - p[..., j, :]).sum(axis=-1))
    return np.asarray(best, dtype=np.float64)


def _bootstrap(tab: NDArray[np.int64], n_resamples: int, rng: np.random.Generator) -> NDArray:
    """Class-stratified multinomial resamples of a table: (n_resamples, classes, bins)."""
    out = np.empty((n_resamples, *tab.shape), dtype=np.float64)
    for i, row in enumerate(tab):
        total = int(row.sum())
        out[:, i, :] = rng.multinomial(total, row / total, size=n_resamples)
    return out


def _shifted_interval(
    value: float, boot: NDArray[np.float64], confidence_level: float
) -> tuple[float, float]:
    """``value`` plus the bootstrap percentile spread about the bootstrap mean.

    Both estimators are biased upwards by an amount of the order of their spread on sparse tables,
    where the BC percentile interval degenerates (its bias constant z₀ runs off to ±∞). Centring
    the bootstrap distribution on its own mean and moving it to the bias-corrected estimate keeps
    the interval's width and shape (Efron & Tibshirani 1993, ch. 10 and 13).
    """
    half = (1.0 - confidence_level) / 2.0
    lo, hi = np.quantile(boot, [half, 1.0 - half])
    centre = float(boot.mean())
    return value + float(lo) - centre, value + float(hi) - centre


def _prepare(table: ArrayLike) -> NDArray[np.int64]:
    tab = np.asarray(table, dtype=np.int64)
    if tab.ndim != 2:
        raise ValueError("table must be 2-D (classes × bins)")
    tab = tab[tab.sum(axis=1) > 0]
    if tab.shape[0] < 2:
        raise InsufficientDataError("a leakage bound needs observations in at least 2 classes")
    return np.asarray(tab[:, tab.sum(axis=0) > 0], dtype=np.int64)


def mutual_information(
    table: ArrayLike,
    /,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 1000,
    rng: np.random.Generator | int | None = 0,
) -> LeakageBoundResult:
    """Mutual information I(label; binned feature) in bits, Miller–Madow corrected, with a
    bootstrap interval.

    References
    ----------
    G. A. Miller, "Note on the bias of information estimates", 1955; L. Paninski, "Estimation of
    entropy and mutual information", Neural Computation 15, 2003.
    """
    tab = _prepare(table)
    gen, seed = _generator(rng)
    plugin = float(_mi_plugin_bits(tab.astype(np.float64)))
    value = float(_mi_miller_madow_bits(tab.astype(np.float64)))
    boot = _mi_miller_madow_bits(_bootstrap(tab, n_resamples, gen))
    lo, hi = _shifted_interval(value, boot, confidence_level)
    return LeakageBoundResult(
        max(value, 0.0),
        plugin,
        (max(lo, 0.0), max(hi, 0.0)),
        confidence_level,
        "bit",
        n_resamples,
        seed,
    )


def total_variation_distance(
    table: ArrayLike,
    /,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 1000,
    rng: np.random.Generator | int | None = 0,
) -> LeakageBoundResult:
    """Total-variation distance between class-conditional binned distributions (largest pair),
    bootstrap bias-corrected, with a bootstrap interval.

    References
    ----------
    Efron & Tibshirani, An Introduction to the Bootstrap, 1993, ch. 10 (bias correction) and
    ch. 13 (percentile interval).
    """
    tab = _prepare(table)
    gen, seed = _generator(rng)
    plugin = float(_tvd(tab.astype(np.float64)))
    boot = _tvd(_bootstrap(tab, n_resamples, gen))
    # Bootstrap bias correction (Efron & Tibshirani 1993, ch. 10): 2θ̂ − mean(θ*).
    value = 2.0 * plugin - float(boot.mean())
    lo, hi = _shifted_interval(value, boot, confidence_level)
    return LeakageBoundResult(
        max(value, 0.0),
        plugin,
        (max(lo, 0.0), max(hi, 0.0)),
        confidence_level,
        "",
        n_resamples,
        seed,
    )


def _generator(rng: np.random.Generator | int | None) -> tuple[np.random.Generator, int | None]:
    if isinstance(rng, np.random.Generator):
        return rng, None
    return np.random.default_rng(rng), rng
