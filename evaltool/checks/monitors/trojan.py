"""Trojan-horse probing (Gisin et al., PRA 73, 022320 (2006); Jain et al., NJP 16, 123030 (2014)):
ingress power above the alarm level is answered by an abort, and no key comes from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from evaltool.checks.monitors._common import (
    blocks_named,
)
from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.checks.series import Envelope, marks
from evaltool.checks.telemetry import time_column
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.bundle import EvidenceFormat, EvidenceKind
from evaltool.model.results import Measurement

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext

# --- monitor.trojan-horse ------------------------------------------------------------------------


class TrojanHorseParams(CheckParams):
    """Parameters of ``monitor.trojan-horse``."""

    monitor_slot: str = Field(description="monitor table with the ingress power column")
    column: str = Field(description="ingress power column (dBm)")
    threshold_dbm: float = Field(description="alarm level of the ingress power (ST)")
    response_slot: str = Field(description="block records (aborted flag) or a JSON-lines log")
    within_s: float = Field(gt=0, description="the abort must follow the alarm within this time")
    response_events: tuple[str, ...] = Field(("abort",), description="log events counting as "
                                             "the abort (JSON-lines logs)")


@dataclass(frozen=True, slots=True)
class TrojanStats:
    """What the Trojan-horse rule decides on."""

    episodes: tuple[tuple[float, float, float], ...]
    """Alarm episodes: onset, last sample above the threshold, peak power (dBm)."""
    unanswered: tuple[str, ...]
    """One sentence per episode not answered by an abort, or per probed block that gave key."""
    samples: int
    max_gap: float
    """Largest interval between monitor samples, seconds."""
    peak: float


def _episodes(p: TrojanHorseParams, ctx: CheckContext
              ) -> tuple[list[tuple[float, float, float]], int, float, float, Envelope]:
    """Alarm episodes (onset, last sample above, peak), samples, largest gap, peak power and the
    ingress power against time for the report."""
    tcol, per_s = time_column(ctx.columns(p.monitor_slot))
    episodes: list[tuple[float, float, float]] = []
    n, gap, peak = 0, 0.0, -math.inf
    trace = Envelope()
    prev_t: float | None = None
    current: list[float] | None = None
    for chunk in ctx.iter_table(p.monitor_slot, [tcol, p.column]):
        t = chunk[tcol].astype(np.float64, copy=False) / per_s
        v = chunk[p.column].astype(np.float64, copy=False)
        if not t.size:
            continue
        if not np.all(np.isfinite(v)):
            raise EvidenceError(f"slot {p.monitor_slot!r}: {p.column} has non-finite values")
        trace.update(t, v)
        seq = t if prev_t is None else np.concatenate(([prev_t], t))
        if seq.size > 1:
            d = np.diff(seq)
            if np.any(d < 0):
                raise EvidenceError(f"slot {p.monitor_slot!r}: time is not sorted")
            gap = max(gap, float(d.max()))
        peak = max(peak, float(v.max()))
        above = v > p.threshold_dbm
        if above.any():
            # Runs of consecutive samples above the threshold; a run open at the end of the
            # previous chunk continues into this one.
            edges = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
            starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
                top = float(v[a:b].max())
                if a == 0 and current is not None:
                    current = [current[0], float(t[b - 1]), max(current[2], top)]
                else:
                    if current is not None:
                        episodes.append((current[0], current[1], current[2]))
                    current = [float(t[a]), float(t[b - 1]), top]
                if b < t.size:
                    episodes.append((current[0], current[1], current[2]))
                    current = None
        elif current is not None:
            episodes.append((current[0], current[1], current[2]))
            current = None
        prev_t = float(t[-1])
        n += int(t.size)
    if current is not None:
        episodes.append((current[0], current[1], current[2]))
    return episodes, n, gap, peak, trace


@check("monitor.trojan-horse", params=TrojanHorseParams,
       ref="Gisin et al., PRA 73, 022320 (2006); Jain et al., NJP 16, 123030 (2014)")
def trojan_horse(p: TrojanHorseParams, ctx: CheckContext) -> Outcome:
    """Ingress power above the threshold is answered by an abort, and no key comes from it.

    Each episode of ingress samples above ``threshold_dbm`` must be followed within
    ``within_s`` by an abort (a block with ``aborted = 1`` and no output, or a logged abort
    event), and no block overlapping the episode may yield key. The monitor must sample at least
    once per ``within_s``, otherwise a probe could go unseen: inconclusive.
    """
    episodes, n, gap, peak, trace = _episodes(p, ctx)
    if n < 2:
        raise InsufficientDataError(
            f"monitor slot {p.monitor_slot!r} has {n} sample(s); at least 2 are needed")
    ms = [
        Measurement(name="monitor_samples", value=n),
        Measurement(name="max_sample_gap", value=gap, unit="s", threshold=p.within_s,
                    passes_if="<="),
        Measurement(name="peak_ingress_power", value=peak, unit="dBm"),
        Measurement(name="alarm_episodes", value=len(episodes)),
    ]
    if gap > p.within_s:
        raise InsufficientDataError(
            f"the ingress monitor has a {fmt(gap)} s gap between samples, longer than the "
            f"{fmt(p.within_s)} s response time: a probe could go unseen")
    bf = ctx.file(p.response_slot)
    problems: list[str] = []
    if bf.entry.format is EvidenceFormat.JSONL:
        times = []
        for rec in ctx.jsonl(p.response_slot):
            t = rec.get("time_s")
            if rec.get("event") in p.response_events and isinstance(t, int | float):
                times.append(float(t))
        aborts = np.sort(np.asarray(times, dtype=np.float64))
        abort_marks = marks(aborts)
        for onset, _, top in episodes:
            later = aborts[aborts >= onset]
            if not later.size or later[0] - onset > p.within_s:
                problems.append(f"{fmt(top)} dBm at t = {fmt(onset)} s not followed by an "
                                f"abort within {fmt(p.within_s)} s")
    elif bf.entry.kind is EvidenceKind.BLOCK_RECORDS:
        df = ctx.blocks(p.response_slot)
        end = df.time_s
        aborted = df.aborted & (df.pa_output_bits == 0)
        keyed = df.pa_output_bits > 0
        abort_marks = marks(end[df.aborted])
        start = np.concatenate(([end[0] - (end[1] - end[0]) if end.size > 1 else 0.0],
                                end[:-1]))
        for onset, last, top in episodes:
            j = np.flatnonzero(end >= onset)
            if not j.size or not aborted[j[0]] or end[j[0]] - onset > p.within_s:
                problems.append(f"{fmt(top)} dBm at t = {fmt(onset)} s not followed by an "
                                f"aborted block within {fmt(p.within_s)} s")
                continue
            overlap = np.flatnonzero((start <= last) & (end >= onset) & keyed)
            if overlap.size:
                problems.append(f"block(s) {blocks_named(df, overlap)} overlapping the probe "
                                f"at t = {fmt(onset)} s yield key")
    else:
        raise EvidenceError(
            f"response slot {p.response_slot!r} must be block records or a JSON-lines log",
            path=bf.entry.path)
    ms.append(Measurement(name="unanswered_episodes", value=len(problems), threshold=0,
                          passes_if="<="))
    # Crossing the alarm level is allowed when answered, so the level is drawn without a pass
    # condition; the marks are the aborts that must follow.
    plot = trace.series(p.column, unit="dBm", x_name="time", x_unit="s",
                        threshold=p.threshold_dbm, marks=abort_marks, marks_label="abort")
    stats = TrojanStats(tuple(episodes), tuple(problems), n, gap, peak)
    return _trojan_outcome(p, stats, ms).with_series(plot)


def _trojan_outcome(p: TrojanHorseParams, s: TrojanStats, ms: list[Measurement]) -> Outcome:
    episodes, problems, n, gap, peak = s.episodes, s.unanswered, s.samples, s.max_gap, s.peak
    level = f"{p.column} > {fmt(p.threshold_dbm)} dBm"
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Outcome.failed(f"Trojan-horse probe not answered: {problems[0]}{more}", ms)
    if not episodes:
        return Outcome.passed(
            f"no ingress power above the threshold ({level}) in {n} samples (peak "
            f"{fmt(peak)} dBm, sampled at least every {fmt(gap)} s)", ms)
    return Outcome.passed(
        f"all {len(episodes)} ingress episode(s) ({level}, peak {fmt(peak)} dBm) answered by an "
        f"abort within {fmt(p.within_s)} s with no key from the probed blocks", ms)
