"""Decoy-state consistency (Lo, Ma, Chen, PRL 94, 230504 (2005)): the gains of all intensity
classes fit one linear-loss channel, with no photon-number-splitting signature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from evaltool.checks.monitors._common import (
    DEFAULT_ALPHA,
    DEFAULT_POWER,
    block_counts,
    block_x,
    blocks_named,
    dead_time_s,
    open_gate_fraction,
    sifting_fraction,
)
from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.checks.series import bounded_series
from evaltool.engines.decision import sidak_level
from evaltool.engines.decision import upper_normal_quantile as _z
from evaltool.errors import InsufficientDataError
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.leakage import DecoyFamily
    from evaltool.io.readers import BlockRecords

# --- monitor.decoy-consistency -------------------------------------------------------------------


class DecoyConsistencyParams(CheckParams):
    """Parameters of ``monitor.decoy-consistency``."""

    slot: str = Field(description="block records with per-class sent and detections")
    intensities: list[float] = Field(min_length=2, description="mean photon number of each "
                                     "class, in the order of the block columns (ST)")
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1, description="family-wise false-alarm rate")
    dead_time_ns: float | None = Field(None, ge=0, description="common dead time; default: the "
                                       "ST's dead_time_ns")
    detectable_deviation: float = Field(0.05, gt=0, lt=1, description="relative drop of the "
                                        "weak classes' transmittance the test must detect")
    power: float = Field(DEFAULT_POWER, gt=0, lt=1, description="power for that detection")


@dataclass(frozen=True, slots=True)
class DecoyStats:
    """What the decoy-consistency rule decides on."""

    blocks: BlockRecords
    level: float
    """Šidák level over the per-block tests and the pooled one."""
    family: DecoyFamily
    worst: int
    """Row of the block with the smallest p-value."""
    ratio_label: str
    """Which transmittance ratio ``ratio`` is (weak class over the strongest)."""
    ratio: float
    """Median effective transmittance of the weak class relative to the strongest."""
    mde: float
    """Smallest detectable relative drop of the weak classes' transmittance."""


@check("monitor.decoy-consistency", params=DecoyConsistencyParams,
       ref="Lo, Ma, Chen, PRL 94, 230504 (2005)")
def decoy_consistency_check(p: DecoyConsistencyParams, ctx: CheckContext) -> Outcome:
    """The gains of all intensity classes fit one linear-loss channel (no PNS signature).

    Per block the sifted detections of each class are fitted by ``n_k s c (Y_0 + 1 −
    e^{−η μ_k})`` (Lo–Ma–Chen gain; ``s`` sifting fraction, ``c`` open-gate fraction after the
    common dead time). With three classes the fit has one degree of freedom; its signed root
    ``z`` is positive when the decoy class's gain is below the model, as a PNS attack makes it.
    The family is the per-block one-sided tests and the pooled Stouffer ``Σ z / sqrt(B)``, at
    the Šidák level; with more classes the χ² p-values (sum over blocks when pooled) are used.
    Inconclusive when the pooled test cannot detect a ``detectable_deviation`` drop of the weak
    classes' transmittance with ``power``.
    """
    from evaltool.engines.leakage import decoy_consistency, decoy_family, decoy_noncentrality

    mu = np.asarray(p.intensities, dtype=np.float64)
    df, c = block_counts(ctx, p.slot, len(mu))
    classes = df.n_classes
    if classes < 3:
        raise InsufficientDataError(
            f"{classes} intensity classes: a linear-loss fit needs 3 or more")
    sift = sifting_fraction(ctx)
    sent = c["n_sent"]
    det = c["key_detections"] + c["test_detections"]
    clicks = det.sum(axis=1) / (sent.sum(axis=1) * sift)
    scale = sift * open_gate_fraction(ctx, dead_time_s(ctx, p.dead_time_ns), clicks)
    B = len(df)
    fits = [decoy_consistency(det[b], sent[b], mu, scale=float(scale[b])) for b in range(B)]
    lam = np.array([decoy_noncentrality(
        sent[b], mu, scale=float(scale[b]), background_yield=fits[b].background_yield,
        transmittance=fits[b].transmittance, relative_deviation=p.detectable_deviation)
        for b in range(B)])
    a = sidak_level(p.alpha, B + 1)
    family = decoy_family(fits, lam, classes)
    per_block, pooled_p, shift = family.per_block, family.pooled_p, family.shift
    need = _z(a) + _z(1.0 - p.power)
    mde = p.detectable_deviation * need / shift if shift > 0 else math.inf
    ratio = np.array([f.class_transmittance for f in fits])
    strongest = int(np.argmax(mu))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = ratio / ratio[:, [strongest]]
    weak = [k for k in np.argsort(mu)[::-1].tolist() if k != strongest and mu[k] > 0]
    dev = float(np.nanmedian(rel[:, weak[0]])) if weak else math.nan
    worst = int(np.argmin(per_block))
    ms = [
        Measurement(name="blocks", value=B),
        Measurement(name="pooled_pvalue", value=pooled_p, threshold=a, passes_if=">="),
        Measurement(name="min_block_pvalue", value=float(per_block[worst]), threshold=a,
                    passes_if=">="),
        Measurement(name="transmittance_ratio", value=dev),
        Measurement(name="mde_deviation", value=mde, threshold=p.detectable_deviation,
                    passes_if="<="),
    ]
    label = f"class {weak[0]}/class {strongest}" if weak else "classes"
    x, x_name = block_x(df)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = det.sum(axis=0) / (sent * scale[:, None]).sum(axis=0)
    plots = [Series(name="gain per pulse Q_k", values=tuple(gain.tolist()),
                    x=tuple(float(v) for v in mu), x_name="mean photon number", style="points")]
    if weak:
        plots.append(bounded_series(f"transmittance ratio {label}", x, rel[:, weak[0]],
                                    lowest=True, x_name=x_name, style="points"))
    if family.z is not None:
        plots.append(bounded_series("fit z per block", x, family.z, x_name=x_name,
                                    threshold=_z(a), passes_if="<=", style="points"))
    else:
        with np.errstate(divide="ignore"):
            score = -np.log10(per_block)
        plots.append(bounded_series("-log10 p of the fit per block", x, score, x_name=x_name,
                                    threshold=-math.log10(a), passes_if="<=", style="points"))
    stats = DecoyStats(df, a, family, worst, label, dev, mde)
    return _decoy_outcome(p, stats, ms).with_series(*plots)


def _decoy_outcome(p: DecoyConsistencyParams, s: DecoyStats, ms: list[Measurement]
                   ) -> Outcome:
    df, B, a, worst = s.blocks, len(s.blocks), s.level, s.worst
    per_block, pooled_p = s.family.per_block, s.family.pooled_p
    label, dev, mde = s.ratio_label, s.ratio, s.mde
    if pooled_p < a or per_block[worst] < a:
        bad = np.flatnonzero(per_block < a)
        where = (f"{bad.size} of {B} blocks (smallest p = {fmt(float(per_block[worst]))} in "
                 f"block {blocks_named(df, np.array([worst]))})" if bad.size else
                 "the blocks pooled")
        return Outcome.failed(
            f"per-class gains inconsistent with one linear-loss channel in {where}; pooled "
            f"p = {fmt(pooled_p)}, level {fmt(a)} (family-wise α {fmt(p.alpha)}); effective "
            f"transmittance ratio {label} {fmt(dev)}: photon-number dependent loss (PNS "
            "signature)", ms)
    if not mde <= p.detectable_deviation:
        return Outcome.inconclusive(
            f"gains consistent with one channel, but the data are underpowered: the smallest "
            f"detectable transmittance drop of the weak classes is {fmt(mde)} > "
            f"{fmt(p.detectable_deviation)}", ms)
    return Outcome.passed(
        f"per-class gains fit one linear-loss channel in all {B} blocks (pooled p = "
        f"{fmt(pooled_p)}, smallest block p = {fmt(float(per_block[worst]))}, both >= "
        f"{fmt(a)}; transmittance ratio {label} {fmt(dev)}; a drop of {fmt(mde)} would be "
        "detected)", ms)
