"""Detector timing: no detection accepted inside the common dead time (Weier et al., NJP 13,
073024 (2011)), and afterpulsing not above the security target's bound.
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
    dead_time_s,
)
from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.checks.telemetry import time_column
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.leakage import AfterpulseBoundTest, AfterpulseResult

HISTOGRAM_BINS = 60
"""Bins of the inter-arrival histograms of the dead-time and afterpulsing rules."""


# --- monitor.dead-time ---------------------------------------------------------------------------


class DeadTimeParams(CheckParams):
    """Parameters of ``monitor.dead-time``."""

    slot: str = Field(description="detection events sorted by time (time tag, detector)")
    dead_time_ns: float = Field(gt=0, description="common dead time after any click (ST)")
    max_violations: int = Field(0, ge=0, description="detections allowed inside the dead time")
    detector_column: str = Field("detector", description="detector identifier column")
    time_column: str | None = Field(None, description="time tag column; default: time_<unit>")


@dataclass(frozen=True, slots=True)
class DeadTimeStats:
    """What the dead-time rule decides on."""

    detections: int
    inside: int
    """Detections accepted inside the dead time after the previous click (any detector)."""
    after_other: int
    """Of those, the ones after another detector's click (what the attack exploits)."""
    first: float | None
    """Time of the first, seconds."""


@check("monitor.dead-time", params=DeadTimeParams,
       ref="Weier et al., NJP 13, 073024 (2011)")
def dead_time(p: DeadTimeParams, ctx: CheckContext) -> Outcome:
    """No detection is accepted inside the common dead time after any detector's click.

    A deterministic rule: count detections less than ``dead_time_ns`` after the previous
    accepted detection (of any detector; those after a *different* detector are the ones the
    dead-time attack exploits and are reported separately). Fail if the count exceeds
    ``max_violations``.
    """
    tcol, per_s = time_column(ctx.columns(p.slot), p.time_column)
    dead = p.dead_time_ns * 1e-9 * per_s
    edges = np.linspace(0.0, 3.0 * dead, HISTOGRAM_BINS + 1)
    hist = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    n = total = cross = 0
    prev_t: float | None = None
    prev_d: int | None = None
    first: float | None = None
    for chunk in ctx.iter_table(p.slot, [tcol, p.detector_column]):
        t = chunk[tcol]
        d = chunk[p.detector_column]
        if not t.size:
            continue
        if prev_t is not None:
            t = np.concatenate((np.asarray([prev_t], dtype=t.dtype), t))
            d = np.concatenate((np.asarray([prev_d], dtype=d.dtype), d))
        gap = np.diff(t)
        if np.any(gap < 0):
            raise EvidenceError(f"slot {p.slot!r}: detections are not sorted by {tcol}")
        hist += np.histogram(gap, bins=edges)[0]
        bad = gap < dead
        total += int(bad.sum())
        cross += int((bad & (d[1:] != d[:-1])).sum())
        if first is None and bad.any():
            first = float(t[1:][bad][0]) / per_s
        n += int(t.size) - (1 if prev_t is not None else 0)
        prev_t, prev_d = t[-1].item(), d[-1].item()
    if n < 2:
        raise InsufficientDataError(f"slot {p.slot!r} has {n} detection(s); 2 are needed")
    ms = [
        Measurement(name="detections", value=n),
        Measurement(name="inside_dead_time", value=total, threshold=p.max_violations,
                    passes_if="<="),
        Measurement(name="after_other_detector", value=cross),
    ]
    plot = _gap_histogram("gaps per bin (any detector)", hist,
                          edges, per_s, marks=(p.dead_time_ns,), marks_label="dead time")
    stats = DeadTimeStats(n, total, cross, first)
    return _dead_time_outcome(p, stats, ms).with_series(plot)


def _gap_histogram(name: str, counts: NDArray[np.int64], edges: NDArray[np.float64],
                   per_s: float, *, marks: tuple[float, ...], marks_label: str) -> Series:
    """An inter-arrival histogram: the counts per bin over the bin edges in ns (style binned,
    ``len(counts) + 1`` edges)."""
    ns = 1e9 / per_s
    # Rounded to 1 fs so that unit conversions leave no binary noise in results.json.
    return Series(name=name, values=tuple(float(c) for c in counts.tolist()),
                  x=tuple(round(float(e) * ns, 6) for e in edges.tolist()),
                  x_name="gap", x_unit="ns", marks=tuple(round(m, 6) for m in marks),
                  marks_label=marks_label, style="binned")


def _dead_time_outcome(p: DeadTimeParams, s: DeadTimeStats, ms: list[Measurement]) -> Outcome:
    n, total, cross, first = s.detections, s.inside, s.after_other, s.first
    if total > p.max_violations:
        return Outcome.failed(
            f"{total} of {n} detections accepted within {fmt(p.dead_time_ns)} ns of the previous "
            f"click ({cross} after another detector's click; first at t = {fmt(first)} s); at "
            f"most {p.max_violations} allowed", ms)
    return Outcome.passed(
        f"{total} of {n} detections within the {fmt(p.dead_time_ns)} ns common dead time "
        f"(at most {p.max_violations} allowed)", ms)


# --- monitor.afterpulsing ------------------------------------------------------------------------


class AfterpulsingParams(CheckParams):
    """Parameters of ``monitor.afterpulsing``."""

    slot: str = Field(description="detection events sorted by time (time tag, detector)")
    max_probability: float = Field(gt=0, lt=1, description="largest afterpulse probability (ST)")
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1, description="false-alarm rate")
    window_ns: float = Field(100.0, gt=0, description="afterpulse window after the dead time")
    dead_time_ns: float | None = Field(None, ge=0, description="dead time; default: the ST's "
                                       "dead_time_ns")
    detector_column: str = Field("detector", description="detector identifier column")
    time_column: str | None = Field(None, description="time tag column; default: time_<unit>")
    power: float = Field(DEFAULT_POWER, gt=0, lt=1, description="power for the MDE")


@dataclass(frozen=True, slots=True)
class AfterpulseStats:
    """What the afterpulsing rule decides on."""

    excess: AfterpulseResult
    """Short gaps against their Poisson expectation, and the probability estimate."""
    test: AfterpulseBoundTest
    """The test at the bound and its minimum detectable excess."""
    gaps: int
    window: str
    """The afterpulse window, as text (``[dead, dead + window) ns``)."""


@check("monitor.afterpulsing", params=AfterpulsingParams,
       ref="ISO/IEC 23837-2 (detector afterpulse characterisation)")
def afterpulsing(p: AfterpulsingParams, ctx: CheckContext) -> Outcome:
    """The afterpulse probability, from the inter-arrival excess, is not above the ST's bound.

    Per detector, gaps between its clicks in ``[dead, dead + window)`` are counted against their
    Poisson expectation at the detector's live-time rate; the pooled excess per gap estimates
    the afterpulse probability. One-sided test of ``H0: p_ap <= max_probability``: the short
    gaps are Poisson with mean ``expected + max_probability · gaps`` at the boundary; fail if
    ``P(X >= observed) < alpha``. Inconclusive when the test cannot detect twice the bound with
    ``power``.
    """
    from evaltool.engines.leakage import afterpulse_bound_test, afterpulse_from_counts

    tcol, per_s = time_column(ctx.columns(p.slot), p.time_column)
    dead = dead_time_s(ctx, p.dead_time_ns) * per_s
    window = p.window_ns * 1e-9 * per_s
    edges = np.linspace(max(0.0, dead - 0.5 * window), dead + 2.0 * window, HISTOGRAM_BINS + 1)
    hist = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    last: dict[int, float] = {}
    gaps: dict[int, int] = {}
    short: dict[int, int] = {}
    live: dict[int, float] = {}
    prev_t: float | None = None
    for chunk in ctx.iter_table(p.slot, [tcol, p.detector_column]):
        t = chunk[tcol].astype(np.float64, copy=False)
        d = chunk[p.detector_column]
        if not t.size:
            continue
        if np.any(np.diff(t) < 0) or (prev_t is not None and t[0] < prev_t):
            raise EvidenceError(f"slot {p.slot!r}: detections are not sorted by {tcol}")
        prev_t = float(t[-1])
        for det in np.unique(d).tolist():
            td = t[d == det]
            if det in last:
                td = np.concatenate(([last[det]], td))
            last[det] = float(td[-1])
            g = np.diff(td)
            hist += np.histogram(g, bins=edges)[0]
            gaps[det] = gaps.get(det, 0) + int(g.size)
            short[det] = short.get(det, 0) + int(np.sum((g >= dead) & (g < dead + window)))
            live[det] = live.get(det, 0.0) + float(np.sum(np.maximum(g - dead, 0.0)))
    dets = sorted(gaps)
    G = sum(gaps.values())
    if G < 2:
        raise InsufficientDataError(f"slot {p.slot!r} has too few detections per detector")
    res = afterpulse_from_counts([gaps[k] for k in dets], [short[k] for k in dets],
                                 [live[k] for k in dets], window_ps=window)
    bound = afterpulse_bound_test(res, G, p.max_probability, p.alpha, p.power)
    pvalue, mde = bound.pvalue, bound.mde
    ms = [
        Measurement(name="gaps", value=G),
        Measurement(name="short_gaps", value=res.statistic),
        Measurement(name="poisson_expectation", value=res.expected),
        Measurement(name="afterpulse_probability", value=res.excess_probability),
        Measurement(name="pvalue", value=pvalue, threshold=p.alpha, passes_if=">="),
        Measurement(name="mde_excess", value=mde, threshold=p.max_probability, passes_if="<="),
    ]
    span = f"[{fmt(dead / per_s * 1e9)}, {fmt((dead + window) / per_s * 1e9)}) ns"
    plot = _gap_histogram(
        "gaps per bin (same detector)", hist, edges, per_s,
        marks=(dead / per_s * 1e9, (dead + window) / per_s * 1e9),
        marks_label="afterpulse window")
    stats = AfterpulseStats(res, bound, G, span)
    return _afterpulse_outcome(p, stats, ms).with_series(plot)


def _afterpulse_outcome(p: AfterpulsingParams, s: AfterpulseStats, ms: list[Measurement]
                        ) -> Outcome:
    res, G, span = s.excess, s.gaps, s.window
    boundary, pvalue, mde = s.test.boundary, s.test.pvalue, s.test.mde
    if pvalue < p.alpha:
        return Outcome.failed(
            f"afterpulse probability {fmt(res.excess_probability)} is above "
            f"{fmt(p.max_probability)} ({res.statistic} gaps in {span} against "
            f"{fmt(boundary)} at the bound, p = {fmt(pvalue)} < {fmt(p.alpha)})", ms)
    if mde > p.max_probability:
        return Outcome.inconclusive(
            f"afterpulse probability {fmt(res.excess_probability)} not shown above the bound, "
            f"but the data are underpowered: {G} gaps detect only a probability of "
            f"{fmt(p.max_probability + mde)}, more than twice {fmt(p.max_probability)}", ms)
    return Outcome.passed(
        f"afterpulse probability {fmt(res.excess_probability)} from {G} inter-arrival gaps "
        f"({res.statistic} in {span} against {fmt(res.expected)} expected), not above "
        f"{fmt(p.max_probability)} (p = {fmt(pvalue)} >= {fmt(p.alpha)})", ms)
