"""Quantum-hacking monitors: decision rules on the telemetry each attack disturbs.

One check kind per row of the attack table (standards-and-attacks.md §4: attack → telemetry →
statistic); the statistics are in :mod:`evaltool.engines.leakage`. Every rule

- names the evidence slots it reads in its parameters;
- uses a one-sided test where the attack pushes the statistic one way, at a stated α, with a
  Šidák correction over the tests it runs (blocks, time bins, cells): per-test level
  ``a = 1 − (1 − α)^{1/m}``;
- takes its thresholds from the security target (the profile fills the parameters);
- is **inconclusive**, never pass, when the data cannot detect the deviation the requirement
  cares about (the minimum detectable effect, or the count needed, is in the reason).

The dead-time and Trojan-horse rules are deterministic counts (a detection inside the dead time,
an alarm without its abort); the others are statistical tests.

Kinds: ``monitor.detector-blinding``, ``monitor.efficiency-mismatch``, ``monitor.trojan-horse``,
``monitor.decoy-consistency``, ``monitor.pattern-effect``, ``monitor.dead-time``,
``monitor.afterpulsing``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.checks.telemetry import time_column
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.bundle import EvidenceFormat, EvidenceKind
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    import pandas as pd

    from evaltool.checks.context import CheckContext
    from evaltool.engines.leakage import (
        AfterpulseResult,
        MismatchIntervalResult,
        PatternCellsResult,
    )

DEFAULT_ALPHA = 0.001
DEFAULT_POWER = 0.8
QUANTILE_ROWS = 1_000_000
"""Rows of the first chunk that fix the equal-count time bins of the mismatch test."""
PULSE_CHUNK_ROWS = 1 << 20
"""Rows per chunk of per-pulse tables (two narrow columns: about 13 MB per chunk)."""
MAX_SERIES_POINTS = 2000
"""Points a monitor records per plotted time series; a longer capture is reduced to the extreme of
each group of consecutive samples (the value a ceiling or floor is decided on)."""
MAX_SERIES_MARKS = 1000
"""Event marks (aborts) recorded per series."""
HISTOGRAM_BINS = 60
"""Bins of the inter-arrival histograms of the dead-time and afterpulsing rules."""
PLOTTED_LAGS = 3
"""Lags of the pattern-effect rule recorded as plot series (two series per lag)."""


def sidak(alpha: float, m: int) -> float:
    """Per-test level of ``m`` tests at family-wise ``alpha`` (Šidák 1967)."""
    return float(-np.expm1(np.log1p(-alpha) / max(m, 1)))


def _z(p: float) -> float:
    """``Φ⁻¹(1 − p)``."""
    from scipy import special

    return float(-special.ndtri(p))


def _key_basis(ctx: CheckContext) -> float:
    return float(ctx.manifest.claims.p_key_basis)


def _sifting(ctx: CheckContext) -> float:
    """Fraction of pulses whose bases agree with passive, independent basis choices q and q."""
    q = _key_basis(ctx)
    return q * q + (1.0 - q) * (1.0 - q)


def _dead_time_s(ctx: CheckContext, given_ns: float | None) -> float:
    """Common dead time: the parameter, else the ST's ``dead_time_ns``, else none."""
    value = given_ns if given_ns is not None else ctx.st.get("dead_time_ns")
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise EvidenceError(f"dead time {value!r} ns is not a non-negative number")
    return float(value) * 1e-9


def _open_gate_fraction(ctx: CheckContext, dead_s: float, click_rate: NDArray[np.float64]
                        ) -> NDArray[np.float64]:
    """Fraction of gates the common dead time leaves open, ``1 − f_rep t_dead r``.

    ``r`` is the click probability per pulse (all classes); for a non-paralysable dead time the
    fraction of dead gates is the click rate times the dead time (Rusca et al., APL 112, 171104
    (2018); protocol reference note §1.10).
    """
    if dead_s == 0:
        return np.ones_like(click_rate)
    rep = ctx.manifest.claims.rep_rate_hz
    if rep is None:
        raise InsufficientDataError(
            "the dead-time correction needs the pulse repetition rate (claims.rep_rate_hz)")
    open_fraction = 1.0 - rep * dead_s * click_rate
    if np.any(open_fraction <= 0):
        raise EvidenceError("click rate times dead time exceeds 1: counts and claims disagree")
    return open_fraction


def _class_columns(df: pd.DataFrame, slot: str) -> int:
    """Number of intensity classes in block records (columns n_sent_0, n_sent_1, ...)."""
    k = 0
    while f"n_sent_{k}" in df.columns:
        k += 1
    if k == 0:
        raise EvidenceError(f"slot {slot!r} has no n_sent_<k> columns")
    return k


def _block_counts(ctx: CheckContext, slot: str, k: int | None = None
                  ) -> tuple[pd.DataFrame, int, dict[str, NDArray[np.float64]]]:
    df = ctx.read_table(slot)
    classes = _class_columns(df, slot)
    if k is not None and classes != k:
        raise EvidenceError(f"slot {slot!r} has {classes} intensity classes, {k} expected")
    if not len(df):
        raise InsufficientDataError(f"slot {slot!r} has no blocks")
    out: dict[str, NDArray[np.float64]] = {}
    for name in ("n_sent", "key_detections", "test_detections", "key_errors", "test_errors"):
        cols = [f"{name}_{i}" for i in range(classes)]
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise InsufficientDataError(f"slot {slot!r} lacks column(s) {', '.join(missing)}")
        out[name] = df[cols].to_numpy(dtype=np.float64)
    return df, classes, out


def _blocks_named(df: pd.DataFrame, rows: NDArray[np.intp]) -> str:
    ids = df["block_id"].to_numpy()[rows] if "block_id" in df.columns else rows
    shown = ", ".join(str(int(i)) for i in ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


class Envelope:
    """A time series reduced, while it streams, to at most ``cap`` points for the report.

    Each point is the maximum (or, with ``lowest``, the minimum) of a group of ``k`` consecutive
    samples at the time of the group's first sample; ``k`` doubles whenever the groups exceed
    ``cap``. Groups are aligned on multiples of ``k`` from the first sample, so the points depend
    only on the samples, never on how they were chunked. NaN propagates: a silent monitor stays
    visible as a gap.
    """

    def __init__(self, cap: int = MAX_SERIES_POINTS, *, lowest: bool = False) -> None:
        if cap < 1:
            raise ValueError("cap must be >= 1")
        self.cap = cap
        self._lowest = lowest
        self._empty = math.inf if lowest else -math.inf
        self.k = 1
        self.samples = 0
        self._x: NDArray[np.float64] = np.empty(0)
        self._v: NDArray[np.float64] = np.empty(0)

    def _reduce(self, a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(invalid="ignore"):
            out: NDArray[np.float64] = np.minimum(a, b) if self._lowest else np.maximum(a, b)
        return out

    def update(self, x: NDArray[np.float64], v: NDArray[np.float64]) -> None:
        """Add the samples ``v`` taken at times ``x`` (in time order)."""
        if not v.size:
            return
        g = (self.samples + np.arange(v.size)) // self.k
        size = int(g[-1]) + 1
        if size > self._v.size:
            grow = size - self._v.size
            self._x = np.concatenate((self._x, np.full(grow, np.nan)))
            self._v = np.concatenate((self._v, np.full(grow, self._empty)))
        first = np.flatnonzero(np.diff(g, prepend=-1))
        gid = g[first]
        new = np.isnan(self._x[gid])
        self._x[gid[new]] = x[first[new]]
        with np.errstate(invalid="ignore"):  # NaN is kept on purpose
            (np.minimum if self._lowest else np.maximum).at(self._v, g, v)
        self.samples += int(v.size)
        while self._v.size > self.cap:
            if self._v.size % 2:
                self._x = np.append(self._x, np.nan)
                self._v = np.append(self._v, self._empty)
            self._x = self._x[0::2]
            self._v = self._reduce(self._v[0::2], self._v[1::2])
            self.k *= 2

    def points(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``(x, values)`` of the recorded points."""
        return tuple(self._x.tolist()), tuple(self._v.tolist())

    def series(self, name: str, **fields: object) -> Series:
        """The points as a :class:`Series`; the name says when groups of samples were reduced."""
        x, v = self.points()
        if self.k > 1:
            name = f"{name} ({'minimum' if self._lowest else 'maximum'} of {self.k} samples)"
        return Series(name=name, values=v, x=x, **fields)


def _marks(times: NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(t) for t in times[:MAX_SERIES_MARKS].tolist())


def _block_x(df: pd.DataFrame) -> tuple[NDArray[np.float64], str]:
    """x values of per-block series: the block ids, else the row numbers."""
    if "block_id" in df.columns:
        return df["block_id"].to_numpy(dtype=np.float64), "block_id"
    return np.arange(len(df), dtype=np.float64), "row"


def bounded_series(name: str, x: NDArray[np.float64], values: NDArray[np.float64], *,
                   lowest: bool = False, **fields: object) -> Series:
    """A series of at most :data:`MAX_SERIES_POINTS` points: a longer one keeps, per group of
    consecutive points, the one that matters for the decision (the maximum, or the minimum with
    ``lowest``), as :class:`Envelope` does."""
    env = Envelope(lowest=lowest)
    env.update(np.asarray(x, dtype=np.float64), np.asarray(values, dtype=np.float64))
    return env.series(name, **fields)


# --- monitor.detector-blinding --------------------------------------------------------------


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


def _photocurrent_excess(p: DetectorBlindingParams, ctx: CheckContext
                         ) -> tuple[int, int, float, float | None, Envelope]:
    """Samples, samples above the ceiling, the highest value, the first time above it and the
    photocurrent against time for the report."""
    assert p.photocurrent_slot is not None and p.photocurrent_max_ua is not None
    tcol, per_s = time_column(ctx.columns(p.photocurrent_slot))
    n = above = 0
    top = -math.inf
    first: float | None = None
    trace = Envelope()
    for chunk in ctx.iter_table(p.photocurrent_slot, [tcol, p.photocurrent_column]):
        v = chunk[p.photocurrent_column].to_numpy(dtype=np.float64)
        if not v.size:
            continue
        t = chunk[tcol].to_numpy(dtype=np.float64) / per_s
        trace.update(t, v)
        bad = ~(v <= p.photocurrent_max_ua)  # NaN counts as above: a silent monitor is no pass
        if first is None and bad.any():
            first = float(t[np.flatnonzero(bad)[0]])
        above += int(bad.sum())
        top = max(top, float(np.nanmax(v)) if np.isfinite(v).any() else top)
        n += int(v.size)
    if n == 0:
        raise InsufficientDataError(f"slot {p.photocurrent_slot!r} has no photocurrent samples")
    return n, above, top, first, trace


def _critical_ratio(gates: NDArray[np.int64], floor: NDArray[np.float64], a: float
                    ) -> float | None:
    """The largest ratio of vacuum-class errors to their floor that fails some block's test.

    Per block the test fails for a count ``m <= c_b``, ``c_b`` the largest count with
    ``P(X <= c_b) < a``; a block whose ratio is above every ``c_b / (n_b q_b)`` passes. None
    when no count can fail any block (underpowered).
    """
    from scipy import stats

    worst: float | None = None
    for n, q in zip(gates.tolist(), floor.tolist(), strict=True):
        c = int(stats.binom.ppf(a, n, q))
        if stats.binom.cdf(c, n, q) >= a:
            c -= 1
        if c >= 0 and n * q > 0:
            ratio = c / (n * q)
            worst = ratio if worst is None else max(worst, ratio)
    return worst


def _suppression_mde(gates: float, p: float, a: float, power: float) -> float:
    """Smallest relative suppression ρ detected with ``power`` by the level-``a`` lower-tail
    binomial test (inf when even ρ = 1 is not detected)."""
    from scipy import stats

    crit = int(stats.binom.ppf(a, gates, p))
    if stats.binom.cdf(crit, gates, p) > a:
        crit -= 1
    if crit < 0:
        return math.inf
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if stats.binom.cdf(crit, gates, p * (1.0 - mid)) >= power:
            hi = mid
        else:
            lo = mid
    return hi


@check("monitor.detector-blinding", params=DetectorBlindingParams,
       ref="Lydersen et al., Nat. Photon. 4, 686 (2010); ETSI GS QKD 016 FPT_ODC.1, FAU_SAA.1")
def detector_blinding(p: DetectorBlindingParams, ctx: CheckContext) -> Outcome:
    """Vacuum-class errors do not fall below the dark-count floor (lower-tail test per block).

    A blinded detector clicks only on Eve's bright pulses, so the errors of vacuum-class gates,
    which are dark counts (half of the ``2 p_dc`` per sifted gate), vanish. Per block ``b`` the
    floor is ``m_b ~ Binomial(n_{v,b}, p_dc · s · c_b)`` (``s`` sifting fraction, ``c_b`` the
    fraction of gates the common dead time leaves open, from the block's click rate); the honest
    rate is at or above the floor (misalignment and afterpulse errors add to it), so the
    lower-tail p-value is conservative. Fail if any block's p-value is below the Šidák level over
    the blocks, or (when a photocurrent slot is given) any photocurrent sample is above the
    ceiling (rule (a) of the attack table); inconclusive if a block's floor is too low to detect
    a suppression of ``detectable_suppression`` with ``power``.
    """
    from evaltool.engines.leakage import dark_count_test

    df, classes, c = _block_counts(ctx, p.blocks_slot)
    v = p.vacuum_class
    if v >= classes:
        raise EvidenceError(f"vacuum_class {v} but the blocks have {classes} classes")
    sift = _sifting(ctx)
    sent = c["n_sent"]
    clicks = (c["key_detections"] + c["test_detections"]).sum(axis=1) / (sent.sum(axis=1) * sift)
    open_gates = _open_gate_fraction(ctx, _dead_time_s(ctx, p.dead_time_ns), clicks)
    floor = p.dark_count_prob * sift * open_gates
    errors = (c["key_errors"][:, v] + c["test_errors"][:, v]).astype(np.int64)
    gates = sent[:, v].astype(np.int64)
    B = len(df)
    a = sidak(p.alpha, B)
    pvalues = np.array([dark_count_test(int(m), int(n), float(q)).pvalue
                        for m, n, q in zip(errors, gates, floor, strict=True)])
    mde = np.array([_suppression_mde(float(n), float(q), a, p.power)
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
    x, x_name = _block_x(df)
    plots = [bounded_series(
        "vacuum errors / dark-count floor", x, ratio, lowest=True, x_name=x_name,
        threshold=_critical_ratio(gates, floor, a), passes_if=">", style="points")]
    bright = ""
    if p.photocurrent_slot is not None:
        n_pc, above, top, first, trace = _photocurrent_excess(p, ctx)
        ms += [Measurement(name="photocurrent_max", value=top, unit="µA",
                           threshold=p.photocurrent_max_ua, passes_if="<="),
               Measurement(name="photocurrent_samples_above", value=above, threshold=0,
                           passes_if="<=")]
        plots.append(trace.series(p.photocurrent_column, unit="µA", x_name="time", x_unit="s",
                                  threshold=p.photocurrent_max_ua, passes_if="<="))
        if above:
            bright = (f"photocurrent above {fmt(p.photocurrent_max_ua)} µA in {above} of {n_pc} "
                      f"samples (first at t = {fmt(first)} s, highest {fmt(top)} µA)")
    return _detector_blinding_outcome(p, df, B, a, pvalues, mde, errors, gates, floor, ms,
                                      bright).with_series(*plots)


def _detector_blinding_outcome(
    p: DetectorBlindingParams, df: pd.DataFrame, B: int, a: float, pvalues: NDArray[np.float64],
    mde: NDArray[np.float64], errors: NDArray[np.int64], gates: NDArray[np.int64],
    floor: NDArray[np.float64], ms: list[Measurement], bright: str,
) -> Outcome:
    worst = int(np.argmin(pvalues))
    low = np.flatnonzero(pvalues < a)
    if low.size:
        also = f"; {bright}" if bright else ""
        return Outcome.failed(
            f"vacuum-class errors below the dark-count floor in {low.size} of {B} blocks "
            f"(blocks {_blocks_named(df, low)}; block {_blocks_named(df, np.array([worst]))}: "
            f"{int(errors[worst])} errors against {fmt(float(gates[worst] * floor[worst]))} "
            f"expected, p = {fmt(float(pvalues[worst]))} < {fmt(a)}, family-wise α "
            f"{fmt(p.alpha)}){also}: the detectors may be blinded", ms)
    if bright:
        return Outcome.failed(f"{bright}: the detectors may be blinded", ms)
    weak = np.flatnonzero(mde > p.detectable_suppression)
    if weak.size:
        j = int(weak[0])
        z = _z(a) + _z(1.0 - p.power) * math.sqrt(1.0 - p.detectable_suppression)
        need = (z / p.detectable_suppression) ** 2 / float(floor[j])
        detectable = (f"even a total suppression is not detectable at level {fmt(a)}"
                      if math.isinf(mde[j]) else
                      f"the smallest detectable suppression is {fmt(float(mde[j]))} > "
                      f"{fmt(p.detectable_suppression)}")
        return Outcome.inconclusive(
            f"no block shows suppressed dark counts, but {weak.size} of {B} blocks are "
            f"underpowered: block {_blocks_named(df, np.array([j]))} expects "
            f"{fmt(float(gates[j] * floor[j]))} dark-count errors, so {detectable} (about "
            f"{fmt(float(math.ceil(need)))} vacuum-class pulses per block needed to detect a "
            f"suppression of {fmt(p.detectable_suppression)})", ms)
    return Outcome.passed(
        f"vacuum-class errors at the dark-count floor in all {B} blocks (smallest p-value "
        f"{fmt(float(pvalues[worst]))} >= {fmt(a)}; a suppression of "
        f"{fmt(float(mde.max()))} or more would be detected)", ms)


# --- monitor.efficiency-mismatch ------------------------------------------------------------


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
        t = chunk[p.time_column].to_numpy(dtype=np.float64)
        if not t.size:
            continue
        basis = chunk["basis"].to_numpy()
        bit = chunk["bit"].to_numpy()
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


def mismatch_lower_bound(r: MismatchIntervalResult, a: float) -> NDArray[np.float64]:
    """Per bin, the smallest mismatch consistent with the clicks at level ``a``.

    The Clopper–Pearson bounds at ``a/2`` on the share of group a are mapped to the mismatch;
    0 when they enclose the design share. A bin's test of ``δ <= max_mismatch``
    (:func:`evaltool.engines.leakage.mismatch_interval_test`, each side at ``a/2``) rejects
    exactly when this bound exceeds ``max_mismatch`` (Clopper & Pearson, Biometrika 26, 404
    (1934)). Empty bins are NaN.
    """
    from scipy import stats

    ca = r.clicks_a.astype(np.float64)
    cb = r.clicks_b.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_lo = np.where(ca > 0, stats.beta.ppf(a / 2.0, ca, cb + 1.0), 0.0)
        s_hi = np.where(cb > 0, stats.beta.isf(a / 2.0, ca + 1.0, cb), 1.0)
        odds0 = r.expected_share / (1.0 - r.expected_share)
        above = 1.0 - odds0 * (1.0 - s_lo) / s_lo
        below = 1.0 - s_hi / (1.0 - s_hi) / odds0
    out = np.where(s_lo > r.expected_share, above,
                   np.where(s_hi < r.expected_share, below, 0.0))
    result: NDArray[np.float64] = np.where(ca + cb > 0, out, np.nan)
    return result


@check("monitor.efficiency-mismatch", params=EfficiencyMismatchParams,
       ref="Makarov et al., PRA 74, 022313 (2006); Qi et al., QIC 7, 73 (2007); "
           "ETSI GS QKD 016 FPT_ODC.1")
def efficiency_mismatch(p: EfficiencyMismatchParams, ctx: CheckContext) -> Outcome:
    """Detector efficiencies agree within the mismatch bound in every time bin of the gate.

    The detections are split into equal-count bins of the arrival time within the gate; in
    each bin the share of one group (bit-0 detector of a basis, or the key basis) estimates the
    efficiency ratio against the design share, and a binomial test rejects ``δ <= max_mismatch``
    (:func:`evaltool.engines.leakage.mismatch_interval_test`). Fail if any bin's p-value is below
    the Šidák level over all bins and pairs; inconclusive if some bin cannot detect a mismatch of
    ``detectable_mismatch`` with ``power``.
    """
    from evaltool.engines.leakage import mismatch_interval_test, mutual_information

    counts, edges, centre = _mismatch_counts(p, ctx)
    if p.by == "detector":
        share = 0.5 if p.expected_share is None else p.expected_share
        pairs = [(f"basis {b}", counts[b, 0], counts[b, 1]) for b in (0, 1)
                 if counts[b].sum() > 0]
    else:
        share = _key_basis(ctx) if p.expected_share is None else p.expected_share
        pairs = [("bases", counts[0].sum(axis=0), counts[1].sum(axis=0))]
    if not pairs:
        raise InsufficientDataError(f"slot {p.slot!r} has no detections to compare")
    m = sum(int(np.count_nonzero(x + y)) for _, x, y in pairs)
    a = sidak(p.alpha, m)
    results = [(name, mismatch_interval_test(x, y, max_mismatch=p.max_mismatch,
                                             expected_share=share, alpha=a, power=p.power))
               for name, x, y in pairs]
    bounds = np.concatenate(([-math.inf], edges, [math.inf]))

    def where(j: int) -> str:
        lo, hi = bounds[j], bounds[j + 1]
        if not math.isfinite(lo):
            return f"{p.time_column} < {fmt(float(hi))}"
        if not math.isfinite(hi):
            return f"{p.time_column} >= {fmt(float(lo))}"
        return f"{p.time_column} in [{fmt(float(lo))}, {fmt(float(hi))})"

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
        # pooled (standards-and-attacks.md §4, time-shift row).
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
    return _mismatch_outcome(p, m, a, results, where, min_p, worst_delta, worst_mde,
                             ms).with_series(*plots)


def _mismatch_outcome(
    p: EfficiencyMismatchParams, m: int, a: float,
    results: list[tuple[str, MismatchIntervalResult]], where: Callable[[int], str],
    min_p: float, worst_delta: float, worst_mde: float, ms: list[Measurement],
) -> Outcome:
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


# --- monitor.trojan-horse -------------------------------------------------------------------


class TrojanHorseParams(CheckParams):
    """Parameters of ``monitor.trojan-horse``."""

    monitor_slot: str = Field(description="monitor table with the ingress power column")
    column: str = Field(description="ingress power column (dBm)")
    threshold_dbm: float = Field(description="alarm level of the ingress power (ST)")
    response_slot: str = Field(description="block records (aborted flag) or a JSON-lines log")
    within_s: float = Field(gt=0, description="the abort must follow the alarm within this time")
    response_events: tuple[str, ...] = Field(("abort",), description="log events counting as "
                                             "the abort (JSON-lines logs)")


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
        t = chunk[tcol].to_numpy(dtype=np.float64) / per_s
        v = chunk[p.column].to_numpy(dtype=np.float64)
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
       ref="Gisin et al., PRA 73, 022320 (2006); Jain et al., NJP 16, 123030 (2014); "
           "ETSI GS QKD 016 FPT_OPI.1")
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
        abort_marks = _marks(aborts)
        for onset, _, top in episodes:
            later = aborts[aborts >= onset]
            if not later.size or later[0] - onset > p.within_s:
                problems.append(f"{fmt(top)} dBm at t = {fmt(onset)} s not followed by an "
                                f"abort within {fmt(p.within_s)} s")
    elif bf.entry.kind is EvidenceKind.BLOCK_RECORDS:
        df = ctx.read_table(p.response_slot, ["time_s", "aborted", "pa_output_bits"])
        end = df["time_s"].to_numpy(dtype=np.float64)
        aborted = (df["aborted"].to_numpy() == 1) & (df["pa_output_bits"].to_numpy() == 0)
        keyed = df["pa_output_bits"].to_numpy() > 0
        abort_marks = _marks(end[df["aborted"].to_numpy() == 1])
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
                problems.append(f"block(s) {_blocks_named(df, overlap)} overlapping the probe "
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
    return _trojan_outcome(p, episodes, problems, n, gap, peak, ms).with_series(plot)


def _trojan_outcome(p: TrojanHorseParams, episodes: list[tuple[float, float, float]],
                    problems: list[str], n: int, gap: float, peak: float,
                    ms: list[Measurement]) -> Outcome:
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


# --- monitor.decoy-consistency --------------------------------------------------------------


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


@check("monitor.decoy-consistency", params=DecoyConsistencyParams,
       ref="Lo, Ma, Chen, PRL 94, 230504 (2005); ETSI GS QKD 016 FCS_QKD.1")
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
    from scipy import stats

    from evaltool.engines.leakage import decoy_consistency, decoy_noncentrality

    mu = np.asarray(p.intensities, dtype=np.float64)
    df, classes, c = _block_counts(ctx, p.slot, len(mu))
    if classes < 3:
        raise InsufficientDataError(
            f"{classes} intensity classes: a linear-loss fit needs 3 or more")
    sift = _sifting(ctx)
    sent = c["n_sent"]
    det = c["key_detections"] + c["test_detections"]
    clicks = det.sum(axis=1) / (sent.sum(axis=1) * sift)
    scale = sift * _open_gate_fraction(ctx, _dead_time_s(ctx, p.dead_time_ns), clicks)
    B = len(df)
    fits = [decoy_consistency(det[b], sent[b], mu, scale=float(scale[b])) for b in range(B)]
    lam = np.array([decoy_noncentrality(
        sent[b], mu, scale=float(scale[b]), background_yield=fits[b].background_yield,
        transmittance=fits[b].transmittance, relative_deviation=p.detectable_deviation)
        for b in range(B)])
    a = sidak(p.alpha, B + 1)
    if classes == 3:
        z = np.array([f.z for f in fits])
        per_block = stats.norm.sf(z)
        pooled_z = float(z.sum() / math.sqrt(B))
        pooled_p = float(stats.norm.sf(pooled_z))
        shift = float(np.sqrt(lam).sum() / math.sqrt(B))
    else:
        chi2 = np.array([f.statistic for f in fits])
        per_block = np.array([f.pvalue for f in fits])
        pooled_z = math.nan
        pooled_p = float(stats.chi2.sf(chi2.sum(), B * (classes - 2)))
        shift = float(math.sqrt(lam.sum()))
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
    x, x_name = _block_x(df)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = det.sum(axis=0) / (sent * scale[:, None]).sum(axis=0)
    plots = [Series(name="gain per pulse Q_k", values=tuple(gain.tolist()),
                    x=tuple(float(v) for v in mu), x_name="mean photon number", style="points")]
    if weak:
        plots.append(bounded_series(f"transmittance ratio {label}", x, rel[:, weak[0]],
                                    lowest=True, x_name=x_name, style="points"))
    if classes == 3:
        plots.append(bounded_series("fit z per block", x, z, x_name=x_name, threshold=_z(a),
                                    passes_if="<=", style="points"))
    else:
        with np.errstate(divide="ignore"):
            score = -np.log10(per_block)
        plots.append(bounded_series("-log10 p of the fit per block", x, score, x_name=x_name,
                                    threshold=-math.log10(a), passes_if="<=", style="points"))
    return _decoy_outcome(p, df, B, a, per_block, worst, pooled_p, label, dev, mde,
                          ms).with_series(*plots)


def _decoy_outcome(p: DecoyConsistencyParams, df: pd.DataFrame, B: int, a: float,
                   per_block: NDArray[np.float64], worst: int, pooled_p: float, label: str,
                   dev: float, mde: float, ms: list[Measurement]) -> Outcome:
    if pooled_p < a or per_block[worst] < a:
        bad = np.flatnonzero(per_block < a)
        where = (f"{bad.size} of {B} blocks (smallest p = {fmt(float(per_block[worst]))} in "
                 f"block {_blocks_named(df, np.array([worst]))})" if bad.size else
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


# --- monitor.pattern-effect -----------------------------------------------------------------


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


@check("monitor.pattern-effect", params=PatternEffectParams,
       ref="Yoshino et al., npj Quantum Inf. 4, 8 (2018); ETSI GS QKD 016 FPT_OSC.1")
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
            acc.update(chunk[feature].to_numpy(), chunk[p.label].to_numpy())
        except (ValueError, TypeError) as exc:
            raise EvidenceError(f"slot {p.slot!r}: {exc}") from None
    res = acc.result()
    tested = np.isfinite(res.se) & (res.n >= 2)
    m = int(tested.sum())
    if m == 0:
        raise InsufficientDataError(
            f"no (setting, earlier setting) cell of {p.slot!r} has 2 pulses and a positive mean")
    a = sidak(p.alpha, m)
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
    return _pattern_outcome(p, res, tested, z, crit, m, mde_excess, worst_dev, worst_mde,
                            acc.rows, ms).with_series(*plots)


def _pattern_outcome(p: PatternEffectParams, res: PatternCellsResult, tested: NDArray[np.bool_],
                     z: NDArray[np.float64], crit: float, m: int, mde_excess: NDArray[np.float64],
                     worst_dev: float, worst_mde: float, rows: int,
                     ms: list[Measurement]) -> Outcome:
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


# --- monitor.dead-time ----------------------------------------------------------------------


class DeadTimeParams(CheckParams):
    """Parameters of ``monitor.dead-time``."""

    slot: str = Field(description="detection events sorted by time (time tag, detector)")
    dead_time_ns: float = Field(gt=0, description="common dead time after any click (ST)")
    max_violations: int = Field(0, ge=0, description="detections allowed inside the dead time")
    detector_column: str = Field("detector", description="detector identifier column")
    time_column: str | None = Field(None, description="time tag column; default: time_<unit>")


@check("monitor.dead-time", params=DeadTimeParams,
       ref="Weier et al., NJP 13, 073024 (2011); ETSI GS QKD 016 FPT_ODC.1")
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
        t = chunk[tcol].to_numpy()
        d = chunk[p.detector_column].to_numpy()
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
    return _dead_time_outcome(p, n, total, cross, first, ms).with_series(plot)


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


def _dead_time_outcome(p: DeadTimeParams, n: int, total: int, cross: int, first: float | None,
                       ms: list[Measurement]) -> Outcome:
    if total > p.max_violations:
        return Outcome.failed(
            f"{total} of {n} detections accepted within {fmt(p.dead_time_ns)} ns of the previous "
            f"click ({cross} after another detector's click; first at t = {fmt(first)} s); at "
            f"most {p.max_violations} allowed", ms)
    return Outcome.passed(
        f"{total} of {n} detections within the {fmt(p.dead_time_ns)} ns common dead time "
        f"(at most {p.max_violations} allowed)", ms)


# --- monitor.afterpulsing -------------------------------------------------------------------


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


@check("monitor.afterpulsing", params=AfterpulsingParams,
       ref="ISO/IEC 23837-2 (detector afterpulse characterisation); ETSI GS QKD 016 FPT_ODC.1")
def afterpulsing(p: AfterpulsingParams, ctx: CheckContext) -> Outcome:
    """The afterpulse probability, from the inter-arrival excess, is not above the ST's bound.

    Per detector, gaps between its clicks in ``[dead, dead + window)`` are counted against their
    Poisson expectation at the detector's live-time rate; the pooled excess per gap estimates
    the afterpulse probability. One-sided test of ``H0: p_ap <= max_probability``: the short
    gaps are Poisson with mean ``expected + max_probability · gaps`` at the boundary; fail if
    ``P(X >= observed) < alpha``. Inconclusive when the test cannot detect twice the bound with
    ``power``.
    """
    from scipy import stats

    from evaltool.engines.leakage import afterpulse_from_counts

    tcol, per_s = time_column(ctx.columns(p.slot), p.time_column)
    dead = _dead_time_s(ctx, p.dead_time_ns) * per_s
    window = p.window_ns * 1e-9 * per_s
    edges = np.linspace(max(0.0, dead - 0.5 * window), dead + 2.0 * window, HISTOGRAM_BINS + 1)
    hist = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    last: dict[int, float] = {}
    gaps: dict[int, int] = {}
    short: dict[int, int] = {}
    live: dict[int, float] = {}
    prev_t: float | None = None
    for chunk in ctx.iter_table(p.slot, [tcol, p.detector_column]):
        t = chunk[tcol].to_numpy(dtype=np.float64)
        d = chunk[p.detector_column].to_numpy()
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
    boundary = res.expected + p.max_probability * G
    pvalue = float(stats.poisson.sf(res.statistic - 1, boundary))
    mde = (_z(p.alpha) + _z(1.0 - p.power)) * math.sqrt(boundary) / G
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
    return _afterpulse_outcome(p, res, G, boundary, pvalue, mde, span, ms).with_series(plot)


def _afterpulse_outcome(p: AfterpulsingParams, res: AfterpulseResult, G: int, boundary: float,
                        pvalue: float, mde: float, span: str, ms: list[Measurement]) -> Outcome:
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
