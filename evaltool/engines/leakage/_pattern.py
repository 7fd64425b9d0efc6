"""Streaming pattern-effect statistics: a per-pulse feature conditioned on earlier settings.

For every lag ``l = 1..L`` the rows are classified by (current setting ``k``, setting ``l``
pulses earlier ``j``) and the count, mean and variance of the feature are kept per cell. The
relative deviation of a conditional mean from the mean of its current setting,

    δ_{l,k,j} = (μ(k | s_{n−l} = j) − μ(k)) / μ(k),

is the pattern-effect size of Yoshino et al. (npj Quantum Inf. 4, 8, 2018): conditional means
μ(k | prev = j), whose largest relative deviation a check compares with a bound. ``μ(k)`` is
taken over the same rows as the cells of that lag, so ``δ`` sums to zero over ``j`` with weights
``n_{kj}``.

The accumulator reads the table in chunks and carries the last ``L`` settings across chunk
boundaries; one compiled pass per chunk updates every lag. Sums are of ``x − c_k`` with ``c_k``
the first value seen of setting ``k`` (a value of the data, so the residuals are small and the
sum of squares keeps its precision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.errors import InsufficientDataError

FloatArray = NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def _first_invalid(x: NDArray[np.floating], s: NDArray[np.integer], n_settings: int
                   ) -> tuple[int, int]:  # pragma: no cover - compiled
    """First row with a setting outside [0, n_settings) (kind 1) or a non-finite x (kind 2)."""
    for i in range(x.shape[0]):
        k = s[i]
        if k < 0 or k >= n_settings:
            return i, 1
        if not np.isfinite(x[i]):
            return i, 2
    return -1, 0


@numba.njit(cache=True, nogil=True)
def _accumulate(
    x: NDArray[np.floating],
    s: NDArray[np.integer],
    history: NDArray[np.int64],
    shift: NDArray[np.float64],
    shift_set: NDArray[np.bool_],
    counts: NDArray[np.int64],
    sums: NDArray[np.float64],
    squares: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    lags = history.shape[0]
    n = x.shape[0]
    for i in range(n):
        k = s[i]
        if not shift_set[k]:
            shift[k] = x[i]
            shift_set[k] = True
        d = np.float64(x[i]) - shift[k]
        dd = d * d
        for lag in range(1, lags + 1):
            if i >= lag:
                j = np.int64(s[i - lag])
            else:
                j = history[lag - i - 1]
            if j >= 0:
                counts[lag - 1, k, j] += 1
                sums[lag - 1, k, j] += d
                squares[lag - 1, k, j] += dd
    # New history: history[l-1] is the setting l pulses before the next row (longest lag
    # first, so that the entries it reads are not yet overwritten).
    for lag in range(lags, 0, -1):
        if n >= lag:
            history[lag - 1] = s[n - lag]
        else:
            history[lag - 1] = history[lag - n - 1]


@dataclass(frozen=True, slots=True, eq=False)
class PatternCellsResult:
    """Conditional means of a feature given the current and an earlier setting, per lag.

    Attributes
    ----------
    n:
        Rows per (lag, current, earlier) cell, shape ``(L, K, K)``.
    mean, variance:
        Feature mean and variance (ddof 1; NaN below 2 rows) per cell.
    level:
        Mean of the current setting over the rows of each lag, ``(L, K)``.
    relative_deviation:
        ``δ = (mean − level) / level`` per cell (NaN where the cell is empty or the level is not
        positive).
    se:
        Standard error of ``δ``: ``sqrt(var_k (1/n_kj − 1/n_k)) / level`` with ``var_k`` the
        pooled within-setting variance (the cell is part of its setting's rows).
    """

    n: NDArray[np.int64]
    mean: FloatArray
    variance: FloatArray
    level: FloatArray
    relative_deviation: FloatArray
    se: FloatArray


class PatternEffectAccumulator:
    """Streaming conditional means of a per-pulse feature given the settings 1..``lags`` back.

    Parameters
    ----------
    n_settings:
        Number of settings ``K``; settings are integer codes in ``[0, K)``.
    lags:
        Largest lag ``L`` (>= 1).

    Notes
    -----
    Rows must be passed in emission order; the first ``l`` pulses have no setting ``l`` back
    and do not enter the cells of lag ``l``.
    """

    def __init__(self, n_settings: int, lags: int) -> None:
        if n_settings < 2:
            raise ValueError("n_settings must be >= 2")
        if lags < 1:
            raise ValueError("lags must be >= 1")
        self.n_settings = int(n_settings)
        self.lags = int(lags)
        self._history = np.full(self.lags, -1, dtype=np.int64)
        self._shift = np.zeros(self.n_settings)
        self._shift_set = np.zeros(self.n_settings, dtype=np.bool_)
        shape = (self.lags, self.n_settings, self.n_settings)
        self._counts = np.zeros(shape, dtype=np.int64)
        self._sums = np.zeros(shape)
        self._squares = np.zeros(shape)
        self.rows = 0

    def update(self, x: ArrayLike, settings: ArrayLike) -> None:
        """Add consecutive pulses: feature values ``x`` and their settings."""
        v = np.asarray(x)
        if v.dtype not in (np.float32, np.float64):
            v = v.astype(np.float64)
        v = np.ascontiguousarray(v.ravel())
        s = np.ascontiguousarray(np.asarray(settings).ravel())
        if v.shape != s.shape:
            raise ValueError("x and settings must have the same length")
        if not v.size:
            return
        if not np.issubdtype(s.dtype, np.integer):
            raise TypeError(f"settings must be integer codes, got dtype {s.dtype}")
        row, kind = _first_invalid(v, s, self.n_settings)
        if kind == 1:
            raise ValueError(f"settings must lie in [0, {self.n_settings}), found {s[row]} at "
                             f"row {self.rows + row}")
        if kind == 2:
            raise ValueError(f"x contains NaN or infinite values (row {self.rows + row})")
        _accumulate(v, s, self._history, self._shift, self._shift_set, self._counts,
                    self._sums, self._squares)
        self.rows += int(v.size)

    def result(self) -> PatternCellsResult:
        """Cell means, levels, relative deviations and their standard errors."""
        if self.rows <= self.lags:
            raise InsufficientDataError(
                f"pattern effect at lag {self.lags} needs more than {self.lags} pulses, "
                f"got {self.rows}"
            )
        n = self._counts
        shift = self._shift[None, :, None]
        nf = n.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_resid = np.where(n > 0, self._sums / nf, np.nan)
            css = self._squares - nf * np.where(n > 0, mean_resid, 0.0) ** 2
            variance = np.where(n > 1, np.maximum(css, 0.0) / (nf - 1.0), np.nan)
            n_k = nf.sum(axis=2)
            level_resid = self._sums.sum(axis=2) / n_k
            within = np.maximum(css, 0.0).sum(axis=2)
            cells = (n > 0).sum(axis=2)
            var_k = within / (n_k - cells)
            level = level_resid + shift[:, :, 0]
            mean = mean_resid + shift
            ok = (n > 0) & (level[:, :, None] > 0)
            rel = np.where(ok, (mean_resid - level_resid[:, :, None]) / level[:, :, None], np.nan)
            se = np.where(
                ok,
                np.sqrt(var_k[:, :, None] * np.maximum(1.0 / nf - 1.0 / n_k[:, :, None], 0.0))
                / level[:, :, None],
                np.nan,
            )
        return PatternCellsResult(n.copy(), mean, variance, level, rel, se)


def pattern_cells(
    x: ArrayLike, settings: ArrayLike, /, *, n_settings: int, lags: int
) -> PatternCellsResult:
    """:class:`PatternEffectAccumulator` over whole arrays (one chunk)."""
    acc = PatternEffectAccumulator(n_settings, lags)
    acc.update(x, settings)
    return acc.result()


def interval_excess_z(
    estimate: ArrayLike, se: ArrayLike, bound: float
) -> FloatArray:
    """``(|estimate| − bound) / se``: the standardised excess of ``|estimate|`` over ``bound``.

    Large values reject ``|true value| <= bound``; at the boundary each side is a one-sided
    normal test, so a test at level ``a`` uses ``Φ⁻¹(1 − a/2)``.
    """
    e = np.asarray(estimate, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    excess = np.abs(e) - bound
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, excess / s, np.where(excess > 0, math.inf, -math.inf))
    return np.where(np.isnan(e) | np.isnan(s), np.nan, z)
