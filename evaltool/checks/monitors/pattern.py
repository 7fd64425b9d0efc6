"""Pattern effect (Yoshino et al., npj Quantum Inf. 4, 8 (2018)): the emitted intensity does not
depend on the settings of earlier pulses beyond the allowed deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from evaltool.checks.monitors._common import (
    DEFAULT_ALPHA,
    DEFAULT_POWER,
)
from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.engines.decision import sidak_level
from evaltool.engines.decision import upper_normal_quantile as _z
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.leakage import PatternCellsResult

PULSE_CHUNK_ROWS = 1 << 20
"""Rows per chunk of per-pulse tables (two narrow columns: about 13 MB per chunk)."""
PLOTTED_LAGS = 3
"""Lags of the pattern-effect rule recorded as plot series (two series per lag)."""


# --- monitor.pattern-effect ----------------------------------------------------------------------


class PatternEffectParams(CheckParams):
    """Parameters of ``monitor.pattern-effect``."""

    slot: str = Field(description="per-pulse table in emission order")
    max_relative_deviation: float = Field(gt=0, description="largest allowed relative change "
                                          "of the intensity given earlier settings (ST)")
    lags: int = Field(1, ge=1, le=16, description="condition on the settings 1..lags back")
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1, description="family-wise false-alarm rate")
    label: str = Field("intensity", description="setting column")
    feature: str | None = Field(None, description="measured intensity column; default: the "
                                "column whose name starts with 'mu_measured'")
    n_settings: int | None = Field(None, ge=2, description="number of settings; default: the "
                                   "claimed intensity classes")
    power: float = Field(DEFAULT_POWER, gt=0, lt=1, description="power for the MDE")


@dataclass(frozen=True, slots=True)
class PatternStats:
    """What the pattern-effect rule decides on: per (lag, setting, earlier setting) cell."""

    cells: PatternCellsResult
    tested: NDArray[np.bool_]
    """Cells with a relative deviation and at least 2 pulses."""
    excess_z: NDArray[np.float64]
    """``(|δ̂| − bound) / se`` per cell (−inf where untested)."""
    critical: float
    """``Φ⁻¹(1 − a/2)`` at the Šidák level ``a`` over the tested cells."""
    tests: int
    mde_excess: NDArray[np.float64]
    """Deviation beyond the bound each cell detects with the requested power."""
    worst_deviation: float
    worst_mde: float
    pulses: int


@check("monitor.pattern-effect", params=PatternEffectParams,
       ref="Yoshino et al., npj Quantum Inf. 4, 8 (2018)")
def pattern_effect(p: PatternEffectParams, ctx: CheckContext) -> Outcome:
    """The intensity does not depend on earlier pulses' settings beyond the allowed deviation.

    For each lag ``l`` and pair (current setting ``k``, setting ``l`` back ``j``), the relative
    deviation ``δ`` of the conditional mean from the setting's mean is tested against
    ``H0: |δ| <= max_relative_deviation`` with ``(|δ̂| − bound) / se > Φ⁻¹(1 − a/2)`` at the
    Šidák level ``a`` over all cells. Settings with a non-positive mean (a true vacuum) have no
    relative deviation and are left out. Inconclusive when some cell cannot detect a deviation
    of twice the bound with ``power``.
    """
    from evaltool.engines.leakage import PatternEffectAccumulator, interval_excess_z

    columns = ctx.columns(p.slot)
    feature = p.feature
    if feature is None:
        named = [c for c in columns if c.startswith("mu_measured")]
        if not named:
            raise InsufficientDataError(
                f"slot {p.slot!r} has no measured-intensity column (mu_measured_<unit>)")
        feature = named[0]
    for col in (p.label, feature):
        if col not in columns:
            raise InsufficientDataError(f"slot {p.slot!r} has no column {col!r}")
    K = p.n_settings or (len(ctx.manifest.claims.intensities or ()) if p.label == "intensity"
                         else 2)
    if K < 2:
        raise EvidenceError("the number of settings is not known: give n_settings")
    acc = PatternEffectAccumulator(K, p.lags)
    for chunk in ctx.iter_table(p.slot, [p.label, feature], chunk_rows=PULSE_CHUNK_ROWS):
        try:
            acc.update(chunk[feature], chunk[p.label])
        except (ValueError, TypeError) as exc:
            raise EvidenceError(f"slot {p.slot!r}: {exc}") from None
    res = acc.result()
    tested = np.isfinite(res.se) & (res.n >= 2)
    m = int(tested.sum())
    if m == 0:
        raise InsufficientDataError(
            f"no (setting, earlier setting) cell of {p.slot!r} has 2 pulses and a positive mean")
    a = sidak_level(p.alpha, m)
    crit = _z(a / 2.0)
    z = interval_excess_z(res.relative_deviation, res.se, p.max_relative_deviation)
    z = np.where(tested, z, -np.inf)
    mde_excess = np.where(tested, (crit + _z(1.0 - p.power)) * res.se, 0.0)
    worst_dev = float(np.nanmax(np.where(tested, np.abs(res.relative_deviation), np.nan)))
    worst_mde = float(mde_excess.max())
    ms = [
        Measurement(name="pulses", value=acc.rows),
        Measurement(name="tests", value=m),
        Measurement(name="max_relative_deviation", value=worst_dev),
        Measurement(name="max_excess_z", value=float(z.max()), threshold=crit, passes_if="<="),
        Measurement(name="mde_excess", value=worst_mde, threshold=p.max_relative_deviation,
                    passes_if="<="),
    ]

    # Per lag (the first PLOTTED_LAGS), in cell K·k + j labelled "k after j" (setting k after
    # setting j): the conditional mean's relative deviation against the bound, and its lower
    # confidence bound |δ| − z·se at the per-cell level, which exceeds the bound exactly when
    # the cell fails (one plot per lag). Untested cells (a vacuum setting, too few pulses) are
    # gaps.
    lower = np.maximum(np.abs(res.relative_deviation) - crit * res.se, 0.0)
    cells = tuple(f"{k} after {j}" for k in range(K) for j in range(K))
    plots: list[Series] = []
    for lag in range(min(p.lags, PLOTTED_LAGS)):
        dev = np.where(tested[lag], np.abs(res.relative_deviation[lag]), np.nan).ravel()
        low = np.where(tested[lag], lower[lag], np.nan).ravel()
        for label, values, passes_if in (("|rel. deviation|", dev, None),
                                         ("|rel. deviation| lower bound", low, "<=")):
            plots.append(Series(
                name=f"{label}, lag {lag + 1}", values=tuple(values.tolist()),
                x=tuple(float(i) for i in range(K * K)), x_labels=cells,
                x_name=f"cell: {p.label} k after {p.label} j (x = {K}·k + j)",
                threshold=p.max_relative_deviation, passes_if=passes_if, style="points",
                group=f"pattern effect, lag {lag + 1}"))
    stats = PatternStats(res, tested, z, crit, m, mde_excess, worst_dev, worst_mde, acc.rows)
    return _pattern_outcome(p, stats, ms).with_series(*plots)


def _pattern_outcome(p: PatternEffectParams, s: PatternStats, ms: list[Measurement]
                     ) -> Outcome:
    res, z, crit, m, mde_excess = s.cells, s.excess_z, s.critical, s.tests, s.mde_excess
    worst_dev, worst_mde, rows = s.worst_deviation, s.worst_mde, s.pulses

    def cell(idx: tuple[int, ...]) -> str:
        lag, k, j = idx
        return (f"{p.label} {k} after {p.label} {j} at lag {lag + 1}: "
                f"{fmt(float(res.relative_deviation[idx]))} ± {fmt(float(res.se[idx]))}")

    if np.any(z > crit):
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(z)), z.shape))
        hits = int(np.count_nonzero(z > crit))
        return Outcome.failed(
            f"pattern effect: {hits} of {m} conditional means deviate by more than "
            f"{fmt(p.max_relative_deviation)} (largest: {cell(idx)}, excess z "
            f"{fmt(float(z[idx]))} > {fmt(crit)}, family-wise α {fmt(p.alpha)})", ms)
    if worst_mde > p.max_relative_deviation:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(mde_excess)), z.shape))
        return Outcome.inconclusive(
            f"no deviation beyond {fmt(p.max_relative_deviation)} found, but the data are "
            f"underpowered: {int(res.n[idx])} pulses in the sparsest cell ({cell(idx)}) detect "
            f"only a deviation of {fmt(p.max_relative_deviation + worst_mde)}, more than twice "
            "the bound", ms)
    return Outcome.passed(
        f"all {m} conditional means within {fmt(p.max_relative_deviation)} of their setting's "
        f"mean (largest deviation {fmt(worst_dev)}; a deviation of "
        f"{fmt(p.max_relative_deviation + worst_mde)} would be detected) over {rows} pulses",
        ms)
