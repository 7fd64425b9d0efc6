"""The leakage battery on a per-pulse table: every statistic of one pass over label + features.

For each feature (a numeric column of per-pulse telemetry) the battery runs, in one streaming
pass (the choice of statistic per label is explained in ``docs/methods/leakage.md``; TVLA,
Goodwill et al., NIST NIAT 2011, extended after Schneider & Moradi, CHES 2015 and Moradi et al.,
TCHES 2018(1)):

- Welch's t-test of the asked orders between the two label classes, or Welch's ANOVA on the same
  preprocessed values when the label has more than two classes;
- the χ²/G test of independence between the label and the binned feature over a bin-width sweep;
- the mutual information and total-variation distance between label and binned feature, with
  bias-corrected bootstrap intervals (at the sweep's most significant width);
- optionally, conditioning on an earlier pulse: with ``lag = K`` each pulse is classified by the
  label of pulse ``n − K`` (does pulse ``n`` depend on an earlier setting?), and the centred-product
  test between pulse ``n`` and pulse ``n − K`` (classified by the label of pulse ``n``) is added.

Bins are calibrated on the first ``calibration_rows`` rows (a fixed count, so the result never
depends on how the stream was chunked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines.leakage._anova import WelchANOVAResult, welch_anova
from evaltool.engines.leakage._contingency import (
    DEFAULT_SWEEP,
    ContingencyAccumulator,
    LeakageBoundResult,
    SweepResult,
    chi2_sweep,
    mutual_information,
    pool_sparse_bins,
    suggest_binning,
    total_variation_distance,
)
from evaltool.engines.leakage._moments import (
    LaggedPairAccumulator,
    MomentAccumulator,
)
from evaltool.engines.leakage._ttest import WelchTResult, centred_product_t, welch_t_from_moments
from evaltool.errors import InsufficientDataError

DEFAULT_CALIBRATION_ROWS = 4096
"""Rows used to choose each feature's bin origin and finest width."""


@dataclass(frozen=True, slots=True, eq=False)
class FeatureBatteryResult:
    """All leakage statistics of a per-pulse table, vectorised over its features.

    Attributes
    ----------
    features:
        Feature names, in column order of every per-feature array.
    n:
        Rows per class (after dropping the first ``lag`` rows when conditioning).
    orders:
        Univariate test orders run.
    lag:
        0, or the K of "conditioned on pulse n − K".
    t:
        Welch t-tests by order (two classes only; class 1 minus class 0).
    anova:
        Welch's ANOVA by order (more than two classes only).
    bivariate:
        Centred-product test between pulse n and n − lag (two classes and ``lag > 0`` only).
    sweeps, mi, tvd:
        Per feature: χ² sweep, mutual information (bits) and total-variation distance.
    pooled_sd:
        Per-feature pooled within-class standard deviation.
    se:
        Per-feature standard error of the first-order difference of means (for two classes; for
        more, of the two smallest classes, the least sensitive comparison).
    """

    features: tuple[str, ...]
    n: NDArray[np.int64]
    orders: tuple[int, ...]
    lag: int
    t: Mapping[int, WelchTResult]
    anova: Mapping[int, WelchANOVAResult]
    bivariate: WelchTResult | None
    sweeps: tuple[SweepResult, ...]
    mi: tuple[LeakageBoundResult, ...]
    tvd: tuple[LeakageBoundResult, ...]
    pooled_sd: NDArray[np.float64]
    se: NDArray[np.float64]


class FeatureBatteryAccumulator:
    """Streaming accumulator of :class:`FeatureBatteryResult` over the rows of a table.

    Parameters
    ----------
    features:
        Names of the feature columns (their order is the column order of ``update``'s ``x``).
    n_classes:
        Number of label classes (codes ``0..n_classes−1``).
    orders:
        Univariate orders to test (each in 1..4).
    lag:
        0 for no conditioning, else K >= 1 (see the module docstring).
    calibration_rows, leaf_rows, sweep:
        Bin calibration size, merge-tree leaf size and bin-width multiples.
    n_resamples, seed:
        Bootstrap size and seed of the MI/TVD intervals.
    """

    def __init__(
        self,
        features: Sequence[str],
        n_classes: int,
        *,
        orders: Sequence[int] = (1,),
        lag: int = 0,
        calibration_rows: int = DEFAULT_CALIBRATION_ROWS,
        leaf_rows: int | None = None,
        sweep: tuple[int, ...] = DEFAULT_SWEEP,
        n_resamples: int = 1000,
        seed: int = 0,
    ) -> None:
        if not features:
            raise ValueError("at least one feature is needed")
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        if not orders or any(not 1 <= o <= 4 for o in orders):
            raise ValueError(f"orders must be in 1..4, got {list(orders)}")
        if lag < 0:
            raise ValueError(f"lag must be >= 0, got {lag}")
        if calibration_rows < 1:
            raise ValueError("calibration_rows must be >= 1")
        self.features = tuple(features)
        self.n_classes = int(n_classes)
        self.orders = tuple(sorted({int(o) for o in orders}))
        self.lag = int(lag)
        self.calibration_rows = int(calibration_rows)
        self.sweep = tuple(sweep)
        self.n_resamples = int(n_resamples)
        self.seed = int(seed)
        F = len(self.features)
        self._moments = MomentAccumulator(
            F, self.n_classes, max_moment=2 * max(self.orders), leaf_rows=leaf_rows
        )
        self._pairs = (
            LaggedPairAccumulator(F, self.n_classes, lag=self.lag, leaf_rows=leaf_rows)
            if self.lag
            else None
        )
        self._label_tail = np.zeros(0, dtype=np.intp)
        self._calib_x: list[NDArray[np.float64]] = []
        self._calib_lab: list[NDArray[np.intp]] = []
        self._calib_count = 0
        self._tables: list[ContingencyAccumulator] | None = None

    def update(self, x: ArrayLike, labels: ArrayLike) -> None:
        """Add the next rows of the table: ``x`` (rows × features) and their label codes."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        lab = np.asarray(labels)
        if arr.ndim != 2 or arr.shape[1] != len(self.features) or lab.shape != (arr.shape[0],):
            raise ValueError(
                f"x must be (rows, {len(self.features)}) with one label per row, "
                f"got {arr.shape} and {lab.shape}"
            )
        if not np.issubdtype(lab.dtype, np.integer):
            raise TypeError(f"labels must be integer class codes, got dtype {lab.dtype}")
        lab = lab.astype(np.intp)
        if self._pairs is not None:
            self._pairs.update(arr, lab)
        if self.lag:
            # Pulse n is classified by the label of pulse n − lag.
            joined = np.concatenate([self._label_tail, lab])
            usable = max(0, joined.shape[0] - self.lag)
            cls = joined[:usable]
            keep = arr[arr.shape[0] - usable :]
            self._label_tail = joined[usable:].copy()
        else:
            cls, keep = lab, arr
        if keep.shape[0] == 0:
            return
        self._moments.update(keep, cls)
        self._count(keep, cls)

    def _count(self, x: NDArray[np.float64], lab: NDArray[np.intp]) -> None:
        if self._tables is None:
            need = self.calibration_rows - self._calib_count
            self._calib_x.append(np.array(x[:need], copy=True))
            self._calib_lab.append(np.array(lab[:need], copy=True))
            self._calib_count += min(need, x.shape[0])
            if self._calib_count < self.calibration_rows:
                return
            self._tables = self._calibrate()
            x, lab = x[need:], lab[need:]
        for j, table in enumerate(self._tables):
            table.update(x[:, j], lab)

    def _calibrate(self) -> list[ContingencyAccumulator]:
        cx = np.concatenate(self._calib_x)
        cl = np.concatenate(self._calib_lab)
        tables = []
        for j in range(len(self.features)):
            origin, width = suggest_binning(cx[:, j])
            acc = ContingencyAccumulator(self.n_classes, bin_width=width, origin=origin)
            acc.update(cx[:, j], cl)
            tables.append(acc)
        return tables

    def result(self) -> FeatureBatteryResult:
        """Every statistic for the rows so far (the accumulator stays usable)."""
        moments = self._moments.moments()
        present = np.flatnonzero(moments.n > 0)
        if present.size < 2:
            raise InsufficientDataError(
                f"the label takes {present.size} value(s) in the data; leakage tests need 2"
            )
        if self._calib_count == 0:
            raise InsufficientDataError("no rows to test")
        tables = self._tables if self._tables is not None else self._calibrate()
        two = self.n_classes == 2
        t = {o: welch_t_from_moments(moments, order=o) for o in self.orders} if two else {}
        anova = {} if two else {o: welch_anova(moments, order=o) for o in self.orders}
        bivariate = None
        if two and self._pairs is not None:
            bivariate = centred_product_t(self._pairs.comoments())
        sweeps, mis, tvds = [], [], []
        for table in tables:
            sweep = chi2_sweep(table, multiples=self.sweep)
            best = pool_sparse_bins(table.table(self.sweep[sweep.best])[1])
            mis.append(mutual_information(best, n_resamples=self.n_resamples, rng=self.seed))
            tvds.append(total_variation_distance(best, n_resamples=self.n_resamples, rng=self.seed))
            sweeps.append(sweep)
        n = moments.n
        var = moments.variance(ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = np.sqrt(
                ((n[present, None] - 1) * var[present]).sum(axis=0) / (n[present].sum() - 1)
            )
            small = present[np.argsort(n[present], kind="stable")[:2]]
            se = np.sqrt(var[small[0]] / n[small[0]] + var[small[1]] / n[small[1]])
        return FeatureBatteryResult(
            self.features,
            n.copy(),
            self.orders,
            self.lag,
            t,
            anova,
            bivariate,
            tuple(sweeps),
            tuple(mis),
            tuple(tvds),
            np.asarray(pooled),
            np.asarray(se),
        )
