"""Generic telemetry checks: ranges, event rates, responses to monitor alarms, completeness.

These implement the runtime-monitoring rules (``docs/methods/monitors.md``; CC:2022 Part 2
FPT_FLS.1, FAU_ARP.1, FAU_GEN.1; ISO/IEC 23837-2 characterisation of monitors): a monitored
quantity stays inside its bounds, event rates stay plausible, every alarm is followed by an
abort, and the evidence needed to decide is complete.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.bundle import TIME_UNITS_PER_SECOND, EvidenceFormat, EvidenceKind
from evaltool.model.results import Measurement

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext


def time_column(columns: tuple[str, ...], wanted: str | None = None) -> tuple[str, float]:
    """The time column to use and its divisor to seconds (``time_ps`` -> 1e12)."""
    candidates = [wanted] if wanted else [f"time_{u}" for u in TIME_UNITS_PER_SECOND]
    for name in candidates:
        if name and name in columns:
            unit = name.rsplit("_", 1)[-1]
            if unit not in TIME_UNITS_PER_SECOND:
                raise EvidenceError(f"time column {name!r} has no time unit suffix")
            return name, TIME_UNITS_PER_SECOND[unit]
    raise InsufficientDataError(
        f"no time column ({', '.join(c for c in candidates if c)}) among {', '.join(columns)}"
    )


def _interval(lo: float | None, hi: float | None, unit: str = "") -> str:
    """``[lo, hi]``, ``>= lo`` or ``<= hi`` as text."""
    u = f" {unit}" if unit else ""
    if lo is None:
        return f"<= {fmt(hi)}{u}"
    if hi is None:
        return f">= {fmt(lo)}{u}"
    return f"[{fmt(lo)}, {fmt(hi)}]{u}"


def _alarms(n: int) -> str:
    return "1 alarm" if n == 1 else f"{n} alarms"


# --- telemetry.range ------------------------------------------------------------------------


class RangeParams(CheckParams):
    """Parameters of ``telemetry.range``."""

    slot: str = Field(description="table slot")
    column: str = Field(description="column that must stay in range (its name carries the unit)")
    min: float | None = Field(None, description="lowest allowed value (inclusive)")
    max: float | None = Field(None, description="highest allowed value (inclusive)")
    max_violations: int = Field(0, ge=0, description="samples allowed outside the range")

    @model_validator(mode="after")
    def _bounds(self) -> RangeParams:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


@check("telemetry.range", params=RangeParams, ref="ISO/IEC 23837-2 (monitor characterisation)")
def telemetry_range(p: RangeParams, ctx: CheckContext) -> Outcome:
    """A telemetry column stays inside [min, max] in every sample."""
    lo = -math.inf if p.min is None else p.min
    hi = math.inf if p.max is None else p.max
    n = violations = 0
    first: tuple[int, float] | None = None
    seen_min, seen_max = math.inf, -math.inf
    for chunk in ctx.iter_table(p.slot, [p.column]):
        values = chunk[p.column].astype(np.float64, copy=False)
        if not len(values):
            continue
        bad = (values < lo) | (values > hi)
        if first is None and bad.any():
            i = int(np.flatnonzero(bad)[0])
            first = (n + i, float(values[i]))
        violations += int(bad.sum())
        seen_min = min(seen_min, float(values.min()))
        seen_max = max(seen_max, float(values.max()))
        n += len(values)
    if n == 0:
        raise InsufficientDataError(f"slot {p.slot!r} has no samples of {p.column!r}")
    bounds = _interval(p.min, p.max)
    ms = [
        Measurement(name="samples", value=n),
        Measurement(name="observed_min", value=seen_min, threshold=p.min,
                    passes_if=">=" if p.min is not None else None),
        Measurement(name="observed_max", value=seen_max, threshold=p.max,
                    passes_if="<=" if p.max is not None else None),
        Measurement(name="violations", value=violations, threshold=p.max_violations,
                    passes_if="<="),
    ]
    if violations > p.max_violations:
        assert first is not None
        return Outcome.failed(
            f"{violations} of {n} samples of {p.column} are not {bounds} (first: sample "
            f"{first[0] + 1}, value {fmt(first[1])}); at most {p.max_violations} allowed", ms)
    return Outcome.passed(
        f"all {n} samples of {p.column} are {bounds} (observed {fmt(seen_min)} to "
        f"{fmt(seen_max)})" if violations == 0 else
        f"{violations} of {n} samples not {bounds}, within the {p.max_violations} allowed", ms)


# --- telemetry.rate -------------------------------------------------------------------------


class RateParams(CheckParams):
    """Parameters of ``telemetry.rate``."""

    slot: str = Field(description="table slot of events (one row per event)")
    time_column: str | None = Field(None, description="time column; default: the time_<unit> one")
    window_s: float = Field(gt=0, description="length of the counting windows, seconds")
    min_hz: float | None = Field(None, ge=0, description="lowest allowed event rate")
    max_hz: float | None = Field(None, ge=0, description="highest allowed event rate")
    min_windows: int = Field(1, ge=1, description="complete windows needed to decide")

    @model_validator(mode="after")
    def _bounds(self) -> RateParams:
        if self.min_hz is None and self.max_hz is None:
            raise ValueError("give min_hz, max_hz or both")
        return self


@check("telemetry.rate", params=RateParams, ref="ISO/IEC 23837-2 (detector characterisation)")
def telemetry_rate(p: RateParams, ctx: CheckContext) -> Outcome:
    """Events per second, counted in consecutive windows, stay inside [min_hz, max_hz]."""
    tcol, per_s = time_column(ctx.columns(p.slot), p.time_column)
    counts: dict[int, int] = {}
    t0: float | None = None
    t_last = 0.0
    for chunk in ctx.iter_table(p.slot, [tcol]):
        t = chunk[tcol].astype(np.float64, copy=False) / per_s
        if not len(t):
            continue
        if t0 is None:
            t0 = float(t[0])
        idx = np.floor((t - t0) / p.window_s).astype(np.int64)
        uniq, cnt = np.unique(idx, return_counts=True)
        for u, c in zip(uniq.tolist(), cnt.tolist(), strict=True):
            counts[u] = counts.get(u, 0) + c
        t_last = float(t[-1])
    if t0 is None:
        raise InsufficientDataError(f"slot {p.slot!r} has no events")
    complete = math.floor((t_last - t0) / p.window_s)
    if complete < p.min_windows:
        raise InsufficientDataError(
            f"{complete} complete window(s) of {fmt(p.window_s)} s, {p.min_windows} needed")
    rates = np.array([counts.get(i, 0) for i in range(complete)], dtype=np.float64) / p.window_s
    lo = -math.inf if p.min_hz is None else p.min_hz
    hi = math.inf if p.max_hz is None else p.max_hz
    bad = np.flatnonzero((rates < lo) | (rates > hi))
    ms = [
        Measurement(name="windows", value=complete),
        Measurement(name="min_rate", value=float(rates.min()), unit="Hz", threshold=p.min_hz,
                    passes_if=">=" if p.min_hz is not None else None),
        Measurement(name="max_rate", value=float(rates.max()), unit="Hz", threshold=p.max_hz,
                    passes_if="<=" if p.max_hz is not None else None),
    ]
    band = _interval(p.min_hz, p.max_hz, "Hz")
    if bad.size:
        i = int(bad[0])
        return Outcome.failed(
            f"{bad.size} of {complete} windows have a rate not {band} (first: window starting "
            f"at {fmt(t0 + i * p.window_s)} s, {fmt(rates[i])} Hz)", ms)
    return Outcome.passed(
        f"the rate in all {complete} windows of {fmt(p.window_s)} s is {band} "
        f"({fmt(rates.min())} to {fmt(rates.max())} Hz)", ms)


# --- telemetry.threshold-events -------------------------------------------------------------


class ThresholdEventsParams(CheckParams):
    """Parameters of ``telemetry.threshold-events``."""

    monitor_slot: str = Field(description="monitor table slot")
    column: str = Field(description="monitored column")
    threshold: float = Field(description="alarm level")
    direction: Literal["above", "below"] = Field("above", description="alarm when above/below")
    response_slot: str = Field(description="block records (aborted flag) or a JSON-lines log")
    within_s: float = Field(gt=0, description="the abort must follow the alarm within this time")
    response_events: tuple[str, ...] = Field(
        ("abort",), description="log events that count as the response (JSON-lines logs)")
    event_field: str = Field("event", description="field of a log record naming the event")
    time_field: str = Field("time_s", description="field of a log record holding seconds")


def _alarm_onsets(p: ThresholdEventsParams, ctx: CheckContext) -> tuple[list[float], int]:
    tcol, per_s = time_column(ctx.columns(p.monitor_slot))
    onsets: list[float] = []
    prev_alarm = False
    n = 0
    for chunk in ctx.iter_table(p.monitor_slot, [tcol, p.column]):
        t = chunk[tcol].astype(np.float64, copy=False) / per_s
        v = chunk[p.column].astype(np.float64, copy=False)
        alarm = v > p.threshold if p.direction == "above" else v < p.threshold
        prev = np.concatenate(([prev_alarm], alarm[:-1])) if len(alarm) else alarm
        onsets.extend(t[alarm & ~prev].tolist())
        if len(alarm):
            prev_alarm = bool(alarm[-1])
        n += len(v)
    return onsets, n


def _responses(p: ThresholdEventsParams, ctx: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    """Times of records and whether each is a response (abort, no key)."""
    bf = ctx.file(p.response_slot)
    if bf.entry.format is EvidenceFormat.JSONL:
        times, flags = [], []
        for rec in ctx.jsonl(p.response_slot):
            t = rec.get(p.time_field)
            if not isinstance(t, int | float) or isinstance(t, bool) or not math.isfinite(t):
                raise EvidenceError(f"log record without a numeric {p.time_field!r}",
                                    path=bf.entry.path)
            times.append(float(t))
            flags.append(rec.get(p.event_field) in p.response_events)
        return np.asarray(times), np.asarray(flags, dtype=bool)
    if bf.entry.kind is not EvidenceKind.BLOCK_RECORDS:
        raise EvidenceError(f"response slot {p.response_slot!r} must be block records or a log",
                            path=bf.entry.path)
    blocks = ctx.blocks(p.response_slot)
    return blocks.time_s, blocks.aborted & (blocks.pa_output_bits == 0)


@check("telemetry.threshold-events", params=ThresholdEventsParams,
       ref="CC:2022 Part 2 FPT_FLS.1, FAU_ARP.1 (alarm answered by a secure state); "
           "ISO/IEC 23837-2 source/detector tests")
def telemetry_threshold_events(p: ThresholdEventsParams, ctx: CheckContext) -> Outcome:
    """Every monitor alarm is followed, within the window, by an abort and no key is produced."""
    onsets, n = _alarm_onsets(p, ctx)
    if n == 0:
        raise InsufficientDataError(f"monitor slot {p.monitor_slot!r} has no samples")
    times, is_response = _responses(p, ctx)
    missed: list[float] = []
    for t in onsets:
        # The first record at or after the alarm must be a response within the window: a block
        # that ends after an alarm and still yields key means the alarm was ignored.
        later = np.flatnonzero(times >= t)
        if not later.size:
            missed.append(t)
            continue
        j = int(later[0])
        if not (is_response[j] and times[j] - t <= p.within_s):
            missed.append(t)
    ms = [
        Measurement(name="monitor_samples", value=n),
        Measurement(name="alarms", value=len(onsets)),
        Measurement(name="alarms_without_abort", value=len(missed), threshold=0, passes_if="<="),
    ]
    level = f"{p.column} {'>' if p.direction == 'above' else '<'} {fmt(p.threshold)}"
    if missed:
        return Outcome.failed(
            f"{len(missed)} of {_alarms(len(onsets))} ({level}) not followed by an abort within "
            f"{fmt(p.within_s)} s (first at t = {fmt(missed[0])} s)", ms)
    if not onsets:
        return Outcome.passed(f"no alarm ({level}) in {n} monitor samples", ms)
    every = "the alarm" if len(onsets) == 1 else f"all {len(onsets)} alarms"
    return Outcome.passed(
        f"{every} ({level}) followed by an abort within {fmt(p.within_s)} s", ms)


# --- telemetry.completeness -----------------------------------------------------------------


class CompletenessParams(CheckParams):
    """Parameters of ``telemetry.completeness``."""

    required_slots: tuple[str, ...] = Field((), description="slots the bundle must bind")
    required_columns: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="columns each table slot must have")
    block_slot: str | None = Field(None, description="block records: block ids must be gap-free")
    max_time_gap_s: dict[str, float] = Field(
        default_factory=dict, description="largest allowed gap between samples, per slot")


@check("telemetry.completeness", params=CompletenessParams,
       ref="CC:2022 Part 2 FAU_GEN.1 (audit data generation); CEM work unit evidence "
           "completeness")
def telemetry_completeness(p: CompletenessParams, ctx: CheckContext) -> Outcome:
    """Required slots and columns are present, block ids have no gaps and time has no holes."""
    problems: list[str] = []
    slots = dict.fromkeys([*p.required_slots, *p.required_columns, *p.max_time_gap_s])
    if p.block_slot:
        slots.setdefault(p.block_slot)
    present = [s for s in slots if ctx.has(s)]
    problems += [f"slot {s!r} missing" for s in slots if not ctx.has(s)]
    for slot, cols in p.required_columns.items():
        if ctx.has(slot):
            have = ctx.columns(slot)
            absent = [c for c in cols if c not in have]
            if absent:
                problems.append(f"slot {slot!r} lacks column(s) {', '.join(absent)}")
    ms: list[Measurement] = [Measurement(name="slots_present", value=len(present),
                                         threshold=len(slots), passes_if=">=")]
    if p.block_slot and ctx.has(p.block_slot):
        ids = ctx.blocks(p.block_slot).block_id
        gaps = int(np.count_nonzero(np.diff(ids) != 1)) if len(ids) > 1 else 0
        ms.append(Measurement(name="block_id_gaps", value=gaps, threshold=0, passes_if="<="))
        if gaps:
            first = int(np.flatnonzero(np.diff(ids) != 1)[0])
            problems.append(f"{gaps} gap(s) in block ids (first after block {ids[first]})")
    for slot, limit in p.max_time_gap_s.items():
        if not ctx.has(slot):
            continue
        tcol, per_s = time_column(ctx.columns(slot))
        worst, at, prev = 0.0, 0.0, None
        for chunk in ctx.iter_table(slot, [tcol]):
            t = chunk[tcol].astype(np.float64, copy=False) / per_s
            if not len(t):
                continue
            seq = t if prev is None else np.concatenate(([prev], t))
            if len(seq) > 1:
                d = np.diff(seq)
                k = int(np.argmax(d))
                if d[k] > worst:
                    worst, at = float(d[k]), float(seq[k])
            prev = float(t[-1])
        ms.append(Measurement(name=f"max_time_gap_{slot}", value=worst, unit="s", threshold=limit,
                              passes_if="<="))
        if worst > limit:
            problems.append(f"slot {slot!r} has a {fmt(worst)} s gap at t = {fmt(at)} s "
                            f"(limit {fmt(limit)} s)")
    if problems:
        return Outcome.failed("evidence incomplete: " + "; ".join(problems), ms)
    what = "the required slot" if len(slots) == 1 else f"all {len(slots)} required slots"
    return Outcome.passed(f"{what} present with the required columns, no gaps", ms)
