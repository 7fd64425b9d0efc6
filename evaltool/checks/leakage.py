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
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator

from evaltool.checks.context import CheckContext
from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.engines.leakage import (
    TVLA_THRESHOLD,
    FeatureBatteryAccumulator,
    FeatureBatteryResult,
    minimum_detectable_effect,
    sidak_t_threshold,
    tvla_family_alpha,
)
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement

DEFAULT_POWER = 0.8
DEFAULT_MDE_TOLERANCE_SD = 0.05
MAX_LABEL_VALUES = 256


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
    alpha = tvla_family_alpha() if family_alpha is None else family_alpha
    F = len(result.features)
    per_feature = len(result.orders) + (1 if result.bivariate is not None else 0) + 1
    m = F * per_feature
    a = float(-np.expm1(np.log1p(-alpha) / m))
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


class TVLAParams(CheckParams):
    """Parameters of ``leakage.tvla``."""

    slot: str = Field(description="per-pulse table slot (one row per emitted pulse)")
    label: str = Field(description="column holding the setting (basis, bit or intensity class)")
    features: list[str] = Field(min_length=1, description="numeric per-pulse feature columns")
    orders: list[int] = Field([1, 2], min_length=1, description="univariate test orders (1..3)")
    condition_previous: int = Field(
        0,
        ge=0,
        description="K > 0: classify pulse n by the label of pulse n−K, add centred product",
    )
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
    label_chunks = (c[p.label].to_numpy() for c in ctx.iter_table(p.slot, [p.label]))
    table_chunks = (
        (c[p.label].to_numpy(), c[p.features].to_numpy(dtype=np.float64))
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
    return decision.outcome
