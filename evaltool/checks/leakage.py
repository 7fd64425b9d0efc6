"""Leakage decision rules: TVLA with family-wise error control and a power requirement.

The rule (shared by the ``leakage.tvla`` check kind and the ``evaltool leakage`` command):

1. The family is every test run: per feature, one test per asked order, the centred-product test
   when conditioning on an earlier pulse, and the χ² bin-width sweep (already Holm-adjusted across
   its widths). With ``m`` tests and family-wise α (default: the two-sided tail of |t| > 4.5,
   ≈ 6.8·10⁻⁶, so a single test is exactly TVLA's rule), the Šidák per-test level is
   ``a = 1 − (1 − α)^{1/m}`` and the |t| threshold ``max(4.5, Φ⁻¹(1 − a/2))``
   (Goodwill et al. 2011; ISO/IEC 17825:2016; Šidák 1967).
2. **fail** if any two-class |t| exceeds the threshold, or any Welch-ANOVA or χ² p-value is below
   ``a``;
3. otherwise **inconclusive** if any statistic is not finite, or if the data are underpowered: the
   first-order minimum detectable effect at that threshold and the required power (default 0.8),
   in units of the pooled standard deviation, exceeds the tolerance (default 0.05 σ) — the MDE is
   named in the reason (REASSURE tutorial, part 3; Whitnall & Oswald 2019);
4. otherwise **pass**.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.checks.series import MAX_SERIES_POINTS, bounded_series
from evaltool.engines.decision import sidak_level
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io import traces as trace_io
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.leakage import FeatureBatteryResult

DEFAULT_POWER = 0.8
DEFAULT_MDE_TOLERANCE_SD = 0.05
MAX_LABEL_VALUES = 256
MAX_NAMED = 20
"""Leaking samples named in a reason (the rest are counted)."""


@dataclass(frozen=True, slots=True)
class LeakageDecision:
    """The outcome of the rule and the quantities it used.

    Attributes
    ----------
    outcome:
        Verdict, reason and measurements.
    n_tests, family_alpha, alpha_per_test, critical_t:
        The family, its α, the Šidák per-test level and the |t| threshold.
    mde, mde_sd:
        Per-feature first-order MDE in feature units and in pooled standard deviations.
    """

    outcome: Outcome
    n_tests: int
    family_alpha: float
    alpha_per_test: float
    critical_t: float
    mde: NDArray[np.float64]
    mde_sd: NDArray[np.float64]


def decide(
    result: FeatureBatteryResult,
    /,
    *,
    family_alpha: float | None = None,
    power: float = DEFAULT_POWER,
    mde_tolerance_sd: float = DEFAULT_MDE_TOLERANCE_SD,
) -> LeakageDecision:
    """Apply the module's rule to a battery result."""
    from evaltool.engines.leakage import (
        TVLA_THRESHOLD,
        minimum_detectable_effect,
        sidak_t_threshold,
        tvla_family_alpha,
    )

    alpha = tvla_family_alpha() if family_alpha is None else family_alpha
    F = len(result.features)
    per_feature = len(result.orders) + (1 if result.bivariate is not None else 0) + 1
    m = F * per_feature
    a = sidak_level(alpha, m)
    critical = max(TVLA_THRESHOLD, sidak_t_threshold(m, alpha))
    mde = minimum_detectable_effect(
        result.se, critical=critical, power=power, pooled_sd=result.pooled_sd
    )
    family = f"family-wise α {fmt(alpha)} over {m} tests"
    hits: list[tuple[float, str]] = []
    not_finite: list[str] = []
    tests = [(f"order-{o} t", r) for o, r in result.t.items()]
    if result.bivariate is not None:
        tests.append((f"centred-product t (lag {result.lag})", result.bivariate))
    for name, res in tests:
        for j, value in enumerate(res.statistic.tolist()):
            feature = result.features[j]
            if not math.isfinite(value):
                not_finite.append(f"{name} of {feature!r}")
            elif abs(value) > critical:
                hits.append(
                    (-abs(value), f"{name} of {feature!r} is {fmt(value)}, |t| > {fmt(critical)}")
                )
    pvalue_tests = [(f"order-{o} Welch ANOVA", r.pvalue) for o, r in result.anova.items()]
    pvalue_tests.append(("χ² sweep", np.array([s.pvalue for s in result.sweeps])))
    for name, pvalues in pvalue_tests:
        for j, p in enumerate(np.asarray(pvalues).tolist()):
            feature = result.features[j]
            if not math.isfinite(p):
                not_finite.append(f"{name} of {feature!r}")
            elif p < a:
                hits.append(
                    (
                        math.log10(max(p, 1e-300)),
                        f"{name} p-value of {feature!r} is {fmt(p)} < {fmt(a)}",
                    )
                )
    worst_t = max(
        (abs(v) for r in result.t.values() for v in r.statistic.tolist() if math.isfinite(v)),
        default=float("nan"),
    )
    worst_sd = (
        float(np.nanmax(mde.standardised))
        if np.any(np.isfinite(mde.standardised))
        else (float("nan"))
    )
    measurements = [
        Measurement(name="tests", value=float(m)),
        Measurement(name="critical_t", value=critical),
        Measurement(name="alpha_per_test", value=a),
        Measurement(
            name="max_abs_t",
            value=worst_t if math.isfinite(worst_t) else None,
            threshold=critical,
            passes_if="<=",
        ),
        Measurement(
            name="mde_sd",
            value=worst_sd if math.isfinite(worst_sd) else None,
            unit="sd",
            threshold=mde_tolerance_sd,
            passes_if="<=",
        ),
    ]
    if hits:
        hits.sort()
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        outcome = Outcome.failed(f"leakage: {hits[0][1]}{more}, {family}", measurements)
    elif not_finite:
        outcome = Outcome.inconclusive(
            f"statistic not finite: {not_finite[0]} (constant or too few values)", measurements
        )
    elif not worst_sd <= mde_tolerance_sd:
        j = int(np.nanargmax(mde.standardised)) if math.isfinite(worst_sd) else 0
        outcome = Outcome.inconclusive(
            f"no leakage found but the data are underpowered: the minimum detectable effect of "
            f"{result.features[j]!r} is {fmt(float(mde.mde[j]))} ({fmt(worst_sd)} sd) at power "
            f"{fmt(power)}, above the tolerance {fmt(mde_tolerance_sd)} sd",
            measurements,
        )
    else:
        outcome = Outcome.passed(
            f"no test exceeds its threshold (|t| <= {fmt(critical)}, p >= {fmt(a)}; {family}) "
            f"and the minimum detectable effect is {fmt(worst_sd)} sd "
            f"<= {fmt(mde_tolerance_sd)} sd",
            measurements,
        )
    return LeakageDecision(outcome, m, alpha, a, critical, mde.mde, mde.standardised)


def leaking(result: FeatureBatteryResult, decision: LeakageDecision) -> NDArray[np.bool_]:
    """Per feature, whether any of its tests crossed the decision's threshold."""
    hit = np.zeros(len(result.features), dtype=bool)
    tests = list(result.t.values())
    if result.bivariate is not None:
        tests.append(result.bivariate)
    for res in tests:
        stat = np.asarray(res.statistic, dtype=np.float64)
        hit |= np.isfinite(stat) & (np.abs(stat) > decision.critical_t)
    pvalues = [np.asarray(r.pvalue, dtype=np.float64) for r in result.anova.values()]
    pvalues.append(np.array([s.pvalue for s in result.sweeps], dtype=np.float64))
    for pv in pvalues:
        hit |= np.isfinite(pv) & (pv < decision.alpha_per_test)
    return hit


def battery_series(
    result: FeatureBatteryResult, decision: LeakageDecision, *, x: Sequence[float], x_name: str,
    style: Literal["line", "points"], x_labels: Sequence[str] = (),
) -> tuple[Series, ...]:
    """The battery's statistics per feature for the report, each against its threshold.

    |t| per order (two classes), the centred-product |t| (when conditioning), −log10 p of Welch's
    ANOVA per order (more classes) and of the χ² sweep against −log10 of the per-test level, and
    the upper end of the mutual information's bootstrap interval (bits; the leakage bound a proof
    can take, informative only). ``x_labels`` names the features on the plot's x axis (kept
    while the series is short enough to be recorded point by point).
    """
    xs = np.asarray(list(x), dtype=np.float64)
    labels = tuple(x_labels) if 0 < len(x_labels) == xs.size <= MAX_SERIES_POINTS else ()
    out: list[Series] = []

    def add(name: str, values: NDArray[np.float64], threshold: float | None,
            unit: str | None = None) -> None:
        # Long traces keep each group of samples' largest value (the one a threshold decides).
        out.append(bounded_series(name, xs, values, unit=unit, x_name=x_name, style=style,
                                  threshold=threshold, x_labels=labels,
                                  passes_if=None if threshold is None else "<="))

    for order, res in result.t.items():
        add(f"|t|, order {order}", np.abs(res.statistic), decision.critical_t)
    if result.bivariate is not None:
        add(f"|t|, centred product, lag {result.lag}", np.abs(result.bivariate.statistic),
            decision.critical_t)
    level = -math.log10(decision.alpha_per_test)
    with np.errstate(divide="ignore"):
        for order, anova in result.anova.items():
            add(f"-log10 p, ANOVA order {order}", -np.log10(anova.pvalue), level)
        add("-log10 p, χ² sweep", -np.log10(np.array([s.pvalue for s in result.sweeps])), level)
    add("MI upper bound", np.array([m.ci[1] for m in result.mi]),
        None, "bit")
    return tuple(out)


def run_battery(
    label_chunks: Iterable[NDArray[Any]],
    table_chunks: Iterable[tuple[NDArray[Any], NDArray[np.float64]]],
    features: Sequence[str],
    *,
    orders: Sequence[int],
    lag: int = 0,
    seed: int = 0,
) -> FeatureBatteryResult:
    """The battery over a table read twice in chunks: once for the label's distinct values
    (``label_chunks``), then as ``(labels, features)`` chunks. Label values are coded in sorted
    order, so with two values the t statistics are "second minus first"."""
    from evaltool.engines.leakage import FeatureBatteryAccumulator

    seen: set[Any] = set()
    for values in label_chunks:
        seen.update(label_codes(values))
        label_codes(np.array(sorted(seen, key=repr)))
    if len(seen) < 2:
        raise InsufficientDataError(f"the label takes {len(seen)} value(s); leakage tests need 2")
    ordered = np.array(label_codes(np.array(list(seen))))
    acc = FeatureBatteryAccumulator(features, len(ordered), orders=orders, lag=lag, seed=seed)
    for labels, x in table_chunks:
        acc.update(x, np.searchsorted(ordered, labels))
    return acc.result()


def label_codes(values: Sequence[object] | NDArray[np.generic]) -> tuple[object, ...]:
    """Sorted distinct label values (numeric order for numbers, text order otherwise)."""
    uniq = np.unique(np.asarray(values))
    if uniq.size > MAX_LABEL_VALUES:
        raise EvidenceError(
            f"the label column takes more than {MAX_LABEL_VALUES} distinct values; "
            "a label must be a setting (basis, bit, intensity class), not a measurement"
        )
    return tuple(uniq.tolist())


class _BatteryParams(CheckParams):
    """The parameters shared by the leakage checks: the evidence, its label, the test orders and
    the decision (family-wise α, power and MDE tolerance). Subclasses redefine ``slot`` and
    ``label`` with their own descriptions and add theirs after the shared ones."""

    slot: str = Field(description="evidence slot")
    label: str = Field(description="column holding the setting (basis, bit or intensity class)")
    orders: list[int] = Field([1, 2], min_length=1, description="univariate test orders (1..3)")
    family_alpha: float | None = Field(
        None, gt=0, lt=1, description="family-wise α (default: the tail of |t| > 4.5, 6.8e-6)"
    )
    power: float = Field(DEFAULT_POWER, gt=0, lt=1, description="power for the MDE")
    mde_tolerance_sd: float = Field(
        DEFAULT_MDE_TOLERANCE_SD, gt=0, description="largest acceptable MDE, in pooled sd"
    )

    @field_validator("orders")
    @classmethod
    def _orders(cls, v: list[int]) -> list[int]:
        return valid_orders(v)


class TVLAParams(_BatteryParams):
    """Parameters of ``leakage.tvla``."""

    slot: str = Field(description="per-pulse table slot (one row per emitted pulse)")
    label: str = Field(description="column holding the setting (basis, bit or intensity class)")
    features: list[str] = Field(min_length=1, description="numeric per-pulse feature columns")
    condition_previous: int = Field(
        0,
        ge=0,
        description="K > 0: classify pulse n by the label of pulse n−K, add centred product",
    )


def valid_orders(v: list[int]) -> list[int]:
    """Test orders 1..3, sorted, each once."""
    if any(not 1 <= o <= 3 for o in v):
        raise ValueError("orders must be 1, 2 or 3")
    return sorted(set(v))


@check(
    "leakage.tvla",
    params=TVLAParams,
    ref="Schneider & Moradi, CHES 2015; Moradi et al., TCHES 2018(1); ISO/IEC 17825",
)
def tvla(p: TVLAParams, ctx: CheckContext) -> Outcome:
    """Per-pulse features do not depend on the label (t orders 1-3, χ² sweep, family-wise α)."""
    label_chunks = (c[p.label] for c in ctx.iter_table(p.slot, [p.label]))
    table_chunks = (
        (c[p.label], c.matrix(p.features))
        for c in ctx.iter_table(p.slot, [p.label, *p.features])
    )
    try:
        result = run_battery(
            label_chunks, table_chunks, p.features, orders=p.orders, lag=p.condition_previous,
            seed=ctx.seed,
        )
    except InsufficientDataError as exc:
        raise InsufficientDataError(f"label column {p.label!r}: {exc.message}") from None
    decision = decide(
        result,
        family_alpha=p.family_alpha,
        power=p.power,
        mde_tolerance_sd=p.mde_tolerance_sd,
    )
    return decision.outcome.with_series(*battery_series(
        result, decision, x=range(1, len(p.features) + 1), x_labels=p.features,
        x_name="feature", style="points"))


class TracesParams(_BatteryParams):
    """Parameters of ``leakage.traces``."""

    slot: str = Field(description="trace-array slot (traces × samples, labelled by the table "
                      "its manifest entry names in labels_slot)")
    label: str = Field(description="column of the labels table holding the setting (basis, bit "
                       "or intensity class)")
    samples: list[int] | None = Field(
        None, min_length=2, max_length=2,
        description="[first, stop) range of samples to test (default: every sample)")
    @field_validator("samples")
    @classmethod
    def _range(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and not 0 <= v[0] < v[1]:
            raise ValueError("samples must be [first, stop) with 0 <= first < stop")
        return v


@check(
    "leakage.traces",
    params=TracesParams,
    ref="Goodwill et al., NIST NIAT 2011; Schneider & Moradi, CHES 2015; ISO/IEC 17825",
)
def leakage_traces(p: TracesParams, ctx: CheckContext) -> Outcome:
    """Lab side-channel traces do not depend on the label at any sample (TVLA on trace arrays).

    Every sample of the ``trace-array`` slot (or the ``samples`` range) is a feature of the
    battery of :func:`run_battery`, decided by :func:`decide` (family-wise α over all samples
    and tests, power requirement); the traces are memory-mapped and read in chunks of whole
    traces. The labels are the ``label`` column of the table the slot's ``labels_slot`` names,
    one row per trace. A fail names the leaking samples.
    """
    capture = ctx.traces(p.slot)
    bf = ctx.file(p.slot)
    labels_slot = bf.entry.labels_slot
    if labels_slot is None:  # the manifest model requires it; a hand-built entry may not
        raise EvidenceError(f"trace-array slot {p.slot!r} names no labels_slot",
                            path=bf.display_path)
    if p.label not in ctx.columns(labels_slot):
        raise EvidenceError(f"labels slot {labels_slot!r} has no column {p.label!r}",
                            path=ctx.file(labels_slot).display_path)
    labels = ctx.table(labels_slot).read([p.label])[p.label]
    arr = capture.traces
    n, width = (int(v) for v in arr.shape)
    if labels.shape[0] != n:
        raise EvidenceError(f"{labels.shape[0]} label rows in slot {labels_slot!r} for {n} "
                            "traces", path=bf.display_path)
    first, stop = (p.samples[0], p.samples[1]) if p.samples is not None else (0, width)
    if stop > width:
        raise EvidenceError(f"samples {first}:{stop} outside 0:{width}", path=bf.display_path)
    rows = trace_io.chunk_rows(stop - first)
    names = [f"sample {j}" for j in range(first, stop)]
    label_chunks = (labels[s:s + rows] for s in range(0, n, rows))
    table_chunks = (
        (labels[start:start + x.shape[0]], x)
        for start, x in trace_io.iter_chunks(arr, bf.display_path, start=first, stop=stop,
                                             rows=rows)
    )
    try:
        result = run_battery(label_chunks, table_chunks, names, orders=p.orders, seed=ctx.seed)
    except InsufficientDataError as exc:
        raise InsufficientDataError(f"label column {p.label!r}: {exc.message}") from None
    decision = decide(result, family_alpha=p.family_alpha, power=p.power,
                      mde_tolerance_sd=p.mde_tolerance_sd)
    out = decision.outcome
    hit = np.flatnonzero(leaking(result, decision)) + first
    extra = [Measurement(name="traces", value=n), Measurement(name="samples", value=stop - first),
             Measurement(name="leaking_samples", value=int(hit.size), threshold=0,
                         passes_if="<=")]
    reason = out.reason
    if hit.size:
        shown = ", ".join(str(int(j)) for j in hit[:MAX_NAMED])
        more = f" and {hit.size - MAX_NAMED} more" if hit.size > MAX_NAMED else ""
        reason = f"{reason}; leaking samples: {shown}{more}"
    out = Outcome(out.verdict, reason, (*out.measurements, *extra))
    return out.with_series(*battery_series(
        result, decision, x=range(first, stop), x_name="sample", style="line"))
