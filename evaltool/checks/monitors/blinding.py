"""Detector blinding (Lydersen et al., Nat. Photon. 4, 686 (2010)): vacuum-class errors at the
dark-count floor and the detector photocurrent under its ceiling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

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
from evaltool.checks.series import Envelope, bounded_series
from evaltool.checks.telemetry import time_column
from evaltool.engines.decision import sidak_level
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.io.readers import BlockRecords

# --- monitor.detector-blinding -------------------------------------------------------------------


class DetectorBlindingParams(CheckParams):
    """Parameters of ``monitor.detector-blinding``."""

    blocks_slot: str = Field(description="block records with per-class sent, detections, errors")
    vacuum_class: int = Field(ge=0, description="index of the vacuum (weakest) intensity class")
    dark_count_prob: float = Field(gt=0, lt=1, description="nominal dark-count probability "
                                   "per detector and gate (ST)")
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1, description="family-wise false-alarm rate")
    dead_time_ns: float | None = Field(None, ge=0, description="common dead time; default: the "
                                       "ST's dead_time_ns")
    detectable_suppression: float = Field(0.9, gt=0, le=1, description="relative dark-count "
                                          "suppression each block's test must detect")
    power: float = Field(DEFAULT_POWER, gt=0, lt=1, description="power for that detection")
    photocurrent_slot: str | None = Field(None, description="monitor table with the detector "
                                          "photocurrent (optional second rule)")
    photocurrent_column: str = Field("rx_photocurrent_ua", description="photocurrent column")
    photocurrent_max_ua: float | None = Field(None, gt=0, description="photocurrent ceiling "
                                              "(ST); required with photocurrent_slot")

    @model_validator(mode="after")
    def _photocurrent(self) -> DetectorBlindingParams:
        if (self.photocurrent_slot is None) != (self.photocurrent_max_ua is None):
            raise ValueError("give photocurrent_slot and photocurrent_max_ua together")
        return self


@dataclass(frozen=True, slots=True)
class PhotocurrentExcess:
    """The photocurrent monitor against its ceiling."""

    samples: int
    above: int
    """Samples above the ceiling (NaN counts as above: a silent monitor is no pass)."""
    top: float
    """The highest value."""
    first: float | None
    """Time of the first sample above the ceiling, seconds."""


@dataclass(frozen=True, slots=True)
class BlindingStats:
    """What the detector-blinding rule decides on: per block, the vacuum-class errors against
    their dark-count floor, the test's p-value and its minimum detectable suppression."""

    blocks: BlockRecords
    level: float
    """Šidák per-block level."""
    pvalues: NDArray[np.float64]
    mde: NDArray[np.float64]
    errors: NDArray[np.int64]
    gates: NDArray[np.int64]
    floor: NDArray[np.float64]
    """Dark-count error probability per vacuum-class gate (after sifting and dead time)."""
    photocurrent: PhotocurrentExcess | None


def _photocurrent_excess(p: DetectorBlindingParams, ctx: CheckContext
                         ) -> tuple[PhotocurrentExcess, Envelope]:
    """The photocurrent against its ceiling, and against time for the report."""
    assert p.photocurrent_slot is not None and p.photocurrent_max_ua is not None
    tcol, per_s = time_column(ctx.columns(p.photocurrent_slot))
    n = above = 0
    top = -math.inf
    first: float | None = None
    trace = Envelope()
    for chunk in ctx.iter_table(p.photocurrent_slot, [tcol, p.photocurrent_column]):
        v = chunk[p.photocurrent_column].astype(np.float64, copy=False)
        if not v.size:
            continue
        t = chunk[tcol].astype(np.float64, copy=False) / per_s
        trace.update(t, v)
        bad = ~(v <= p.photocurrent_max_ua)  # NaN counts as above: a silent monitor is no pass
        if first is None and bad.any():
            first = float(t[np.flatnonzero(bad)[0]])
        above += int(bad.sum())
        top = max(top, float(np.nanmax(v)) if np.isfinite(v).any() else top)
        n += int(v.size)
    if n == 0:
        raise InsufficientDataError(f"slot {p.photocurrent_slot!r} has no photocurrent samples")
    return PhotocurrentExcess(n, above, top, first), trace


@check("monitor.detector-blinding", params=DetectorBlindingParams,
       ref="Lydersen et al., Nat. Photon. 4, 686 (2010); CC:2022 Part 2 FAU_SAA.1")
def detector_blinding(p: DetectorBlindingParams, ctx: CheckContext) -> Outcome:
    """Vacuum-class errors do not fall below the dark-count floor (lower-tail test per block).

    A blinded detector clicks only on Eve's bright pulses, so the errors of vacuum-class gates,
    which are dark counts (half of the ``2 p_dc`` per sifted gate), vanish. Per block ``b`` the
    floor is ``m_b ~ Binomial(n_{v,b}, p_dc · s · c_b)`` (``s`` sifting fraction, ``c_b`` the
    fraction of gates the common dead time leaves open, from the block's click rate); the honest
    rate is at or above the floor (misalignment and afterpulse errors add to it), so the
    lower-tail p-value is conservative. Fail if any block's p-value is below the Šidák level over
    the blocks, or (when a photocurrent slot is given) any photocurrent sample is above the
    ceiling (the bright-light signature; ``docs/methods/monitors.md``); inconclusive if a
    block's floor is too low to detect a suppression of ``detectable_suppression`` with
    ``power``.
    """
    from evaltool.engines.leakage import binomial_critical_ratio, dark_count_test, suppression_mde

    df, c = block_counts(ctx, p.blocks_slot)
    classes = df.n_classes
    v = p.vacuum_class
    if v >= classes:
        raise EvidenceError(f"vacuum_class {v} but the blocks have {classes} classes")
    sift = sifting_fraction(ctx)
    sent = c["n_sent"]
    clicks = (c["key_detections"] + c["test_detections"]).sum(axis=1) / (sent.sum(axis=1) * sift)
    open_gates = open_gate_fraction(ctx, dead_time_s(ctx, p.dead_time_ns), clicks)
    floor = p.dark_count_prob * sift * open_gates
    errors = (c["key_errors"][:, v] + c["test_errors"][:, v]).astype(np.int64)
    gates = sent[:, v].astype(np.int64)
    B = len(df)
    a = sidak_level(p.alpha, B)
    pvalues = np.array([dark_count_test(int(m), int(n), float(q)).pvalue
                        for m, n, q in zip(errors, gates, floor, strict=True)])
    mde = np.array([suppression_mde(float(n), float(q), a, p.power)
                    for n, q in zip(gates, floor, strict=True)])
    worst = int(np.argmin(pvalues))
    expected = float(np.sum(gates * floor))
    ms = [
        Measurement(name="blocks", value=B),
        Measurement(name="vacuum_errors", value=int(errors.sum())),
        Measurement(name="dark_count_floor", value=expected),
        Measurement(name="min_pvalue", value=float(pvalues[worst]), threshold=a, passes_if=">="),
        Measurement(name="max_suppression_mde", value=float(mde.max()),
                    threshold=p.detectable_suppression, passes_if="<="),
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = errors / (gates * floor)
    x, x_name = block_x(df)
    plots = [bounded_series(
        "vacuum errors / dark-count floor", x, ratio, lowest=True, x_name=x_name,
        threshold=binomial_critical_ratio(gates, floor, a), passes_if=">", style="points")]
    pc: PhotocurrentExcess | None = None
    if p.photocurrent_slot is not None:
        pc, trace = _photocurrent_excess(p, ctx)
        ms += [Measurement(name="photocurrent_max", value=pc.top, unit="µA",
                           threshold=p.photocurrent_max_ua, passes_if="<="),
               Measurement(name="photocurrent_samples_above", value=pc.above, threshold=0,
                           passes_if="<=")]
        plots.append(trace.series(p.photocurrent_column, unit="µA", x_name="time", x_unit="s",
                                  threshold=p.photocurrent_max_ua, passes_if="<="))
    stats = BlindingStats(df, a, pvalues, mde, errors, gates, floor, pc)
    return _detector_blinding_outcome(p, stats, ms).with_series(*plots)


def _detector_blinding_outcome(p: DetectorBlindingParams, s: BlindingStats,
                               ms: list[Measurement]) -> Outcome:
    from evaltool.engines.leakage import suppression_trials_needed

    df, a, pvalues, mde = s.blocks, s.level, s.pvalues, s.mde
    errors, gates, floor, B = s.errors, s.gates, s.floor, len(s.blocks)
    bright = ""
    if s.photocurrent is not None and s.photocurrent.above:
        pc = s.photocurrent
        bright = (f"photocurrent above {fmt(p.photocurrent_max_ua)} µA in {pc.above} of "
                  f"{pc.samples} samples (first at t = {fmt(pc.first)} s, highest "
                  f"{fmt(pc.top)} µA)")
    worst = int(np.argmin(pvalues))
    low = np.flatnonzero(pvalues < a)
    if low.size:
        also = f"; {bright}" if bright else ""
        return Outcome.failed(
            f"vacuum-class errors below the dark-count floor in {low.size} of {B} blocks "
            f"(blocks {blocks_named(df, low)}; block {blocks_named(df, np.array([worst]))}: "
            f"{int(errors[worst])} errors against {fmt(float(gates[worst] * floor[worst]))} "
            f"expected, p = {fmt(float(pvalues[worst]))} < {fmt(a)}, family-wise α "
            f"{fmt(p.alpha)}){also}: the detectors may be blinded", ms)
    if bright:
        return Outcome.failed(f"{bright}: the detectors may be blinded", ms)
    weak = np.flatnonzero(mde > p.detectable_suppression)
    if weak.size:
        j = int(weak[0])
        need = suppression_trials_needed(float(floor[j]), a, p.power,
                                         p.detectable_suppression)
        detectable = (f"even a total suppression is not detectable at level {fmt(a)}"
                      if math.isinf(mde[j]) else
                      f"the smallest detectable suppression is {fmt(float(mde[j]))} > "
                      f"{fmt(p.detectable_suppression)}")
        return Outcome.inconclusive(
            f"no block shows suppressed dark counts, but {weak.size} of {B} blocks are "
            f"underpowered: block {blocks_named(df, np.array([j]))} expects "
            f"{fmt(float(gates[j] * floor[j]))} dark-count errors, so {detectable} (about "
            f"{fmt(float(math.ceil(need)))} vacuum-class pulses per block needed to detect a "
            f"suppression of {fmt(p.detectable_suppression)})", ms)
    return Outcome.passed(
        f"vacuum-class errors at the dark-count floor in all {B} blocks (smallest p-value "
        f"{fmt(float(pvalues[worst]))} >= {fmt(a)}; a suppression of "
        f"{fmt(float(mde.max()))} or more would be detected)", ms)
