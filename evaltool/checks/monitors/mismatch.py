"""Detector efficiency mismatch and time-shift attacks (Makarov et al., PRA 74, 022313 (2006);
Qi et al., QIC 7, 73 (2007)): the two detectors (or bases) share the clicks as designed in
every time bin of the gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from evaltool.checks.monitors._common import (
    DEFAULT_ALPHA,
    DEFAULT_POWER,
    key_basis,
)
from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.engines.decision import sidak_level
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.leakage import MismatchIntervalResult

QUANTILE_ROWS = 1_000_000
"""Rows of the first chunk that fix the equal-count time bins of the mismatch test."""


# --- monitor.efficiency-mismatch -----------------------------------------------------------------


class EfficiencyMismatchParams(CheckParams):
    """Parameters of ``monitor.efficiency-mismatch``."""

    slot: str = Field(description="detection events (basis, bit, gate time offset)")
    max_mismatch: float = Field(ge=0, lt=1, description="largest mismatch δ the proof allows")
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1, description="family-wise false-alarm rate")
    by: Literal["detector", "basis"] = Field(
        "detector", description="compare the two detectors of each basis, or the two bases")
    bins: int = Field(8, ge=1, le=256, description="equal-count time bins across the gate")
    time_column: str = Field("gate_offset_ps", description="arrival time within the gate")
    expected_share: float | None = Field(
        None, gt=0, lt=1, description="design share of the first group (default: 0.5 for "
        "detectors, the key-basis probability for bases)")
    detectable_mismatch: float = Field(0.25, gt=0, lt=1, description="mismatch each bin's "
                                       "test must detect")
    power: float = Field(DEFAULT_POWER, gt=0, lt=1, description="power for that detection")


def _mismatch_counts(p: EfficiencyMismatchParams, ctx: CheckContext
                     ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Detections per (basis, bit, time bin), the inner bin edges and the mean arrival time of
    the detections in each bin."""
    edges: NDArray[np.float64] | None = None
    counts = np.zeros((2, 2, p.bins), dtype=np.int64)
    t_sum = np.zeros(p.bins, dtype=np.float64)
    for chunk in ctx.iter_table(p.slot, [p.time_column, "basis", "bit"]):
        t = chunk[p.time_column].astype(np.float64, copy=False)
        if not t.size:
            continue
        basis = chunk["basis"]
        bit = chunk["bit"]
        if not (np.isin(basis, (0, 1)).all() and np.isin(bit, (0, 1)).all()):
            raise EvidenceError(f"slot {p.slot!r}: basis and bit must be 0 or 1")
        if not np.all(np.isfinite(t)):
            raise EvidenceError(f"slot {p.slot!r}: {p.time_column} has non-finite values")
        if edges is None:
            head = t[:QUANTILE_ROWS]
            edges = np.unique(np.quantile(head, np.arange(1, p.bins) / p.bins))
        b = np.searchsorted(edges, t, side="right")
        code = (basis.astype(np.int64) * 2 + bit.astype(np.int64)) * p.bins + b
        counts += np.bincount(code, minlength=4 * p.bins).reshape(2, 2, p.bins)
        t_sum += np.bincount(b, weights=t, minlength=p.bins)
    if edges is None:
        raise InsufficientDataError(f"slot {p.slot!r} has no detections")
    k = edges.size + 1
    counts = counts[:, :, :k]
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = t_sum[:k] / counts.sum(axis=(0, 1))
    return counts, edges, centre


@dataclass(frozen=True, slots=True)
class MismatchStats:
    """What the efficiency-mismatch rule decides on: the bin tests of every compared pair."""

    tests: int
    """Bins tested over all pairs (the Šidák family)."""
    level: float
    results: tuple[tuple[str, MismatchIntervalResult], ...]
    """Per compared pair (two detectors of a basis, or the two bases): its bin tests."""
    inner_edges: NDArray[np.float64]
    """Inner edges of the equal-count time bins."""
    min_p: float
    worst_delta: float
    worst_mde: float

    def where(self, j: int, column: str) -> str:
        """Bin ``j`` as an interval of ``column``."""
        bounds = np.concatenate(([-math.inf], self.inner_edges, [math.inf]))
        lo, hi = bounds[j], bounds[j + 1]
        if not math.isfinite(lo):
            return f"{column} < {fmt(float(hi))}"
        if not math.isfinite(hi):
            return f"{column} >= {fmt(float(lo))}"
        return f"{column} in [{fmt(float(lo))}, {fmt(float(hi))})"


@check("monitor.efficiency-mismatch", params=EfficiencyMismatchParams,
       ref="Makarov et al., PRA 74, 022313 (2006); Qi et al., QIC 7, 73 (2007)")
def efficiency_mismatch(p: EfficiencyMismatchParams, ctx: CheckContext) -> Outcome:
    """Detector efficiencies agree within the mismatch bound in every time bin of the gate.

    The detections are split into equal-count bins of the arrival time within the gate; in
    each bin the share of one group (bit-0 detector of a basis, or the key basis) estimates the
    efficiency ratio against the design share, and a binomial test rejects ``δ <= max_mismatch``
    (:func:`evaltool.engines.leakage.mismatch_interval_test`). Fail if any bin's p-value is below
    the Šidák level over all bins and pairs; inconclusive if some bin cannot detect a mismatch of
    ``detectable_mismatch`` with ``power``.
    """
    from evaltool.engines.leakage import (
        mismatch_interval_test,
        mismatch_lower_bound,
        mutual_information,
    )

    counts, edges, centre = _mismatch_counts(p, ctx)
    if p.by == "detector":
        share = 0.5 if p.expected_share is None else p.expected_share
        pairs = [(f"basis {b}", counts[b, 0], counts[b, 1]) for b in (0, 1)
                 if counts[b].sum() > 0]
    else:
        share = key_basis(ctx) if p.expected_share is None else p.expected_share
        pairs = [("bases", counts[0].sum(axis=0), counts[1].sum(axis=0))]
    if not pairs:
        raise InsufficientDataError(f"slot {p.slot!r} has no detections to compare")
    m = sum(int(np.count_nonzero(x + y)) for _, x, y in pairs)
    a = sidak_level(p.alpha, m)
    results = [(name, mismatch_interval_test(x, y, max_mismatch=p.max_mismatch,
                                             expected_share=share, alpha=a, power=p.power))
               for name, x, y in pairs]
    min_p = min(float(r.pvalue.min()) for _, r in results)
    worst_delta = max(r.statistic for _, r in results)
    worst_mde = max(float(r.mde.max()) for _, r in results)
    ms = [
        Measurement(name="tests", value=m),
        # The point estimate is informative only: the decision is the test against the bound.
        Measurement(name="max_mismatch", value=worst_delta),
        Measurement(name="min_pvalue", value=min_p, threshold=a, passes_if=">="),
        Measurement(name="max_mde", value=worst_mde, threshold=p.detectable_mismatch,
                    passes_if="<="),
    ]
    if p.by == "detector":
        # Time-shift leakage: I(bit; time bin) per detection, bias-corrected, both bases
        # pooled: the time-shift attack reads the bit from the arrival time (Qi et al., QIC 7,
        # 73 (2007)).
        table = counts.sum(axis=0)
        if np.count_nonzero(table.sum(axis=0)) >= 2 and np.all(table.sum(axis=1) > 0):
            mi = mutual_information(table, rng=ctx.seed, n_resamples=200)
            ms += [Measurement(name="bit_time_mi", value=mi.value, unit="bit"),
                   Measurement(name="bit_time_mi_upper", value=mi.ci[1], unit="bit")]
    # Per pair, at the bins' mean arrival time: the estimated mismatch against the bound, and
    # its lower confidence bound at the per-bin level, which exceeds the bound exactly when the
    # bin fails (one plot per pair).
    x_unit = "ps" if p.time_column.endswith("_ps") else None
    plots: list[Series] = []
    for name, r in results:
        for label, values, passes_if in (
            ("mismatch estimate", r.mismatch, None),
            ("mismatch lower bound", mismatch_lower_bound(r, a), "<="),
        ):
            plots.append(Series(
                name=f"{label}, {name}", values=tuple(values.tolist()),
                x=tuple(centre.tolist()), x_name=f"{p.time_column} (bin mean)", x_unit=x_unit,
                threshold=p.max_mismatch, passes_if=passes_if, style="points",
                group=f"efficiency mismatch, {name}"))
    stats = MismatchStats(m, a, tuple(results), edges, min_p, worst_delta, worst_mde)
    return _mismatch_outcome(p, stats, ms).with_series(*plots)


def _mismatch_outcome(p: EfficiencyMismatchParams, s: MismatchStats,
                      ms: list[Measurement]) -> Outcome:
    m, a, results = s.tests, s.level, s.results
    min_p, worst_delta, worst_mde = s.min_p, s.worst_delta, s.worst_mde

    def where(j: int) -> str:
        return s.where(j, p.time_column)

    hits = [(float(r.pvalue[j]), name, j, r) for name, r in results
            for j in np.flatnonzero(r.pvalue < a).tolist()]
    if hits:
        pv, name, j, r = min(hits, key=lambda h: h[0])
        return Outcome.failed(
            f"efficiency mismatch above {fmt(p.max_mismatch)} in {len(hits)} of {m} time bins "
            f"({name}, {where(j)}: mismatch {fmt(float(r.mismatch[j]))}, "
            f"{int(r.clicks_a[j])} against {int(r.clicks_b[j])} clicks, p = {fmt(pv)} < "
            f"{fmt(a)}, family-wise α {fmt(p.alpha)})", ms)
    if worst_mde > p.detectable_mismatch:
        name, r = max(results, key=lambda nr: float(nr[1].mde.max()))
        j = int(np.argmax(r.mde))
        return Outcome.inconclusive(
            f"no bin exceeds the mismatch bound, but the data are underpowered: the smallest "
            f"detectable mismatch is {fmt(float(r.mde[j]))} ({name}, {where(j)}, "
            f"{int(r.clicks_a[j] + r.clicks_b[j])} clicks) > {fmt(p.detectable_mismatch)}", ms)
    return Outcome.passed(
        f"mismatch within {fmt(p.max_mismatch)} in all {m} time bins (largest estimate "
        f"{fmt(worst_delta)}, smallest p-value {fmt(min_p)} >= {fmt(a)}; a mismatch of "
        f"{fmt(worst_mde)} would be detected)", ms)
