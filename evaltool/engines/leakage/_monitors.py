"""Statistics behind the quantum-hacking monitors (attack → telemetry → statistic).

Each function computes the detection statistic for one attack, from the attack's primary
literature cited below; thresholds and verdicts belong to the checks.

- Detector blinding (Lydersen et al., Nat. Photon. 4, 686, 2010): a blinded detector shows almost
  no dark counts, so a lower-tail binomial test of dark counts over empty gates.
- Efficiency mismatch and time shift (Makarov et al., PRA 74, 022313, 2006; Qi et al., QIC 7,
  2007): per-detector click probabilities per time bin of the gate, the mismatch
  ``δ = 1 − min(η_a/η_b, η_b/η_a)`` and a χ² test that the detectors' arrival-time distributions
  agree.
- Dead-time attack (Weier et al., NJP 13, 073024, 2011): detections accepted within the dead time
  after another detector's click (zero when a common dead time is enforced).
- Afterpulsing: an excess of short inter-arrival times over the Poisson expectation
  ``N (1 − e^{−λ w})``.
- Pattern effect (Yoshino et al., npj Quantum Inf. 4, 8, 2018): a feature's mean conditioned on
  the previous pulse's setting, tested with Welch's ANOVA within each current setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from evaltool.engines._input import require_min_length
from evaltool.engines.leakage._anova import WelchANOVAResult, welch_anova
from evaltool.engines.leakage._contingency import IndependenceTestResult, independence_test
from evaltool.engines.leakage._moments import ClassMoments, MomentAccumulator
from evaltool.errors import InsufficientDataError


@dataclass(frozen=True, slots=True)
class DarkCountResult:
    """Lower-tail binomial test of dark counts over empty (vacuum or blocked) gates.

    Attributes
    ----------
    statistic:
        Dark counts observed.
    pvalue:
        ``P(X <= statistic)`` for ``X ~ Binomial(gates, expected_probability)``.
    gates, expected_probability:
        The inputs.
    """

    statistic: int
    pvalue: float
    gates: int
    expected_probability: float


def dark_count_test(clicks: int, gates: int, expected_probability: float) -> DarkCountResult:
    """Lower-tail binomial test: too few dark counts over ``gates`` empty gates suggests blinding.

    References
    ----------
    L. Lydersen et al., "Hacking commercial quantum cryptography systems by tailored bright
    illumination", Nature Photonics 4, 686 (2010): a blinded detector in linear mode shows
    almost no dark counts.
    """
    if not 0 < expected_probability < 1:
        raise ValueError("expected_probability must lie in (0, 1)")
    if clicks < 0 or clicks > gates:
        raise ValueError(f"clicks must lie in [0, gates], got {clicks} of {gates}")
    require_min_length(int(gates), 1, test="dark_count_test", unit="gates")
    p = float(stats.binom.cdf(clicks, gates, expected_probability))
    return DarkCountResult(int(clicks), p, int(gates), float(expected_probability))


@dataclass(frozen=True, slots=True, eq=False)
class EfficiencyMismatchResult:
    """Per-time-bin detector efficiencies, their mismatch and a homogeneity test.

    Attributes
    ----------
    efficiency:
        Click probability per detector and time bin, (detectors, bins).
    mismatch:
        ``δ = 1 − min_i η_i / max_i η_i`` per bin (the two-detector formula, generalised).
    statistic:
        Largest ``δ`` over bins with trials.
    homogeneity:
        χ² test that the detectors' click distributions over the time bins are the same.
    """

    efficiency: NDArray[np.float64]
    mismatch: NDArray[np.float64]
    statistic: float
    homogeneity: IndependenceTestResult


def efficiency_mismatch(clicks: ArrayLike, trials: ArrayLike) -> EfficiencyMismatchResult:
    """Efficiency mismatch across the gate from per-detector clicks and trials per time bin.

    Parameters
    ----------
    clicks:
        Clicks of each detector in each time bin of the gate, (detectors, bins).
    trials:
        Trials (pulses sent into that bin to that detector), same shape or (bins,).

    References
    ----------
    V. Makarov, A. Anisimov, J. Skaar, PRA 74, 022313 (2006) (efficiency mismatch); B. Qi et al.,
    QIC 7, 73 (2007) (time shift).
    """
    c = np.asarray(clicks, dtype=np.int64)
    t = np.broadcast_to(np.asarray(trials, dtype=np.int64), c.shape)
    if c.ndim != 2 or c.shape[0] < 2:
        raise ValueError("clicks must be (detectors >= 2, bins)")
    if np.any(c < 0) or np.any(c > t):
        raise ValueError("clicks must lie in [0, trials]")
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(t > 0, c / t, np.nan)
        mismatch = 1.0 - np.nanmin(eff, axis=0) / np.nanmax(eff, axis=0)
    valid = np.isfinite(mismatch)
    if not np.any(valid):
        raise InsufficientDataError("no time bin has trials and clicks for every detector")
    return EfficiencyMismatchResult(
        eff, mismatch, float(np.max(mismatch[valid])), independence_test(c, method="chi2")
    )


@dataclass(frozen=True, slots=True)
class DeadTimeResult:
    """Detections accepted within the dead time after another detector's click.

    Attributes
    ----------
    statistic:
        Number of such detections (0 when a common dead time is enforced).
    fraction:
        ``statistic`` divided by the number of detections.
    n, dead_time_ps:
        Detections examined and the dead time used.
    """

    statistic: int
    fraction: float
    n: int
    dead_time_ps: float


def dead_time_violations(
    times_ps: ArrayLike, detectors: ArrayLike, *, dead_time_ps: float
) -> DeadTimeResult:
    """Count detections less than ``dead_time_ps`` after a click of a *different* detector.

    Times must be sorted (non-decreasing). Only the immediately preceding accepted detection is
    examined: with a common dead time, no detection of any detector may follow it that closely.

    References
    ----------
    H. Weier et al., "Quantum eavesdropping without interception: an attack exploiting the dead
    time of single-photon detectors", NJP 13, 073024 (2011).
    """
    t = np.asarray(times_ps, dtype=np.float64)
    d = np.asarray(detectors)
    if t.shape != d.shape or t.ndim != 1:
        raise ValueError("times_ps and detectors must be 1-D of the same length")
    if not np.all(np.isfinite(t)):
        raise ValueError("times_ps contains NaN or infinite values")
    if not dead_time_ps > 0:
        raise ValueError("dead_time_ps must be positive")
    require_min_length(t.size, 2, test="dead_time_violations", unit="detections")
    gap = np.diff(t)
    if np.any(gap < 0):
        raise ValueError("times_ps must be sorted")
    hits = int(np.sum((gap < dead_time_ps) & (d[1:] != d[:-1])))
    return DeadTimeResult(hits, hits / t.size, int(t.size), float(dead_time_ps))


@dataclass(frozen=True, slots=True)
class AfterpulseResult:
    """Excess of short inter-arrival times over the Poisson expectation.

    Attributes
    ----------
    statistic:
        Inter-arrival times shorter than ``window_ps`` (after ``dead_time_ps``).
    expected:
        Their Poisson expectation at the observed mean rate.
    excess_probability:
        ``(statistic − expected) / n``: the afterpulse probability estimate per detection.
    pvalue:
        Upper-tail Poisson probability ``P(X >= statistic)``.
    """

    statistic: int
    expected: float
    excess_probability: float
    pvalue: float


def afterpulse_excess(
    times_ps: ArrayLike, *, window_ps: float, dead_time_ps: float = 0.0
) -> AfterpulseResult:
    """Afterpulse estimate from one detector's sorted click times.

    For a Poisson process of rate λ (estimated as clicks per span, excluding dead time), the
    number of inter-arrival gaps in ``[dead_time, dead_time + window)`` is about
    ``n (1 − e^{−λ window})``; afterpulses add to it.

    References
    ----------
    ISO/IEC 23837-2 detector characterisation (afterpulse probability from the inter-arrival
    histogram).
    """
    t = np.asarray(times_ps, dtype=np.float64)
    if t.ndim != 1 or not np.all(np.isfinite(t)):
        raise ValueError("times_ps must be 1-D and finite")
    if not window_ps > 0 or dead_time_ps < 0:
        raise ValueError("window_ps must be positive and dead_time_ps non-negative")
    require_min_length(t.size, 3, test="afterpulse_excess", unit="clicks")
    gap = np.diff(t)
    if np.any(gap < 0):
        raise ValueError("times_ps must be sorted")
    live = float(np.sum(np.maximum(gap - dead_time_ps, 0.0)))
    if not live > 0:
        raise InsufficientDataError("no live time between clicks")
    rate = gap.size / live
    short = int(np.sum((gap >= dead_time_ps) & (gap < dead_time_ps + window_ps)))
    expected = gap.size * float(-np.expm1(-rate * window_ps))
    pvalue = float(stats.poisson.sf(short - 1, expected))
    return AfterpulseResult(short, expected, (short - expected) / gap.size, pvalue)


@dataclass(frozen=True, slots=True, eq=False)
class PatternEffectResult:
    """A feature conditioned on the previous pulse's setting, within each current setting.

    Attributes
    ----------
    tests:
        Welch's ANOVA over the previous setting, one per current setting (``None`` where fewer
        than two previous settings have two rows).
    conditional_means:
        Mean of the feature for (current, previous) settings, relative to the overall mean of
        the current setting, (settings, settings).
    max_relative_deviation:
        Largest ``|μ(k | prev = j) − μ(k)| / |μ(k)|`` (feature assumed to have a non-zero mean,
        such as an intensity).
    moments:
        The accumulated (current × previous) class moments.
    """

    tests: tuple[WelchANOVAResult | None, ...]
    conditional_means: NDArray[np.float64]
    max_relative_deviation: float
    moments: ClassMoments


def pattern_effect(
    x: ArrayLike, settings: ArrayLike, /, *, n_settings: int, lag: int = 1
) -> PatternEffectResult:
    """Test whether a per-pulse feature depends on the setting ``lag`` pulses earlier.

    References
    ----------
    A. Yoshino et al., "Quantum key distribution with an efficient countermeasure against
    correlated intensity fluctuations in optical pulses", npj Quantum Inf. 4, 8 (2018)
    (conditional means of the intensity given the previous setting).
    """
    v = np.asarray(x, dtype=np.float64).ravel()
    s = np.asarray(settings).ravel()
    if v.shape != s.shape:
        raise ValueError("x and settings must have the same length")
    if lag < 1:
        raise ValueError("lag must be >= 1")
    require_min_length(v.size - lag, 2 * n_settings, test="pattern_effect", unit="pulses")
    code = s[lag:].astype(np.int64) * n_settings + s[:-lag].astype(np.int64)
    acc = MomentAccumulator(1, n_settings * n_settings)
    acc.update(v[lag:], code)
    m = acc.moments()
    tests: list[WelchANOVAResult | None] = []
    cond = np.full((n_settings, n_settings), np.nan)
    worst = 0.0
    for k in range(n_settings):
        block = slice(k * n_settings, (k + 1) * n_settings)
        sub = ClassMoments(
            m.n[block], m.shift[block], m.resid[block], m.central_sums[:, block], m.max_moment
        )
        ok = np.flatnonzero(sub.n >= 2)
        if ok.size >= 2:
            tests.append(welch_anova(_subset(sub, ok)))
        else:
            tests.append(None)
        present = np.flatnonzero(sub.n > 0)
        if present.size == 0:
            continue
        ref = int(present[0])
        rel = np.array([sub.mean_difference(int(j), ref)[0] for j in present])
        w = sub.n[present] / sub.n[present].sum()
        overall = float((w * rel).sum())
        cond[k, present] = rel - overall
        level = abs(float(sub.mean()[ref, 0]) + overall)
        if level > 0:
            worst = max(worst, float(np.max(np.abs(rel - overall))) / level)
    return PatternEffectResult(tuple(tests), cond, worst, m)


def _subset(m: ClassMoments, keep: NDArray[np.intp]) -> ClassMoments:
    return ClassMoments(
        m.n[keep], m.shift[keep], m.resid[keep], m.central_sums[:, keep], m.max_moment
    )


@dataclass(frozen=True, slots=True, eq=False)
class MismatchIntervalResult:
    """Per-bin test that two detector groups' efficiency ratio stays within a mismatch bound.

    With equal flux into both groups up to a known design share ``s_0`` (0.5 for the two
    detectors of a basis; the key-basis probability for a passive basis splitter), the share
    ``s = c_a / (c_a + c_b)`` of group ``a`` in a time bin estimates the efficiency ratio
    ``r = (s / (1 − s)) / (s_0 / (1 − s_0))``, and the mismatch ``δ = 1 − min(r, 1/r)``.
    ``δ <= δ_max`` is the share interval ``[s_lo, s_hi]``; the p-value of that composite null
    is ``min(1, 2 min(P(X >= c_a | s_hi), P(X <= c_a | s_lo)))`` for ``X ~ Binomial(c_a + c_b,
    ·)`` (each side one-sided at the boundary, Bonferroni over the two sides).

    Attributes
    ----------
    share, mismatch:
        Observed share and mismatch ``δ̂`` per bin (NaN for empty bins).
    statistic:
        Largest ``δ̂`` over the non-empty bins.
    pvalue:
        p-value of ``δ <= max_mismatch`` per bin (1 for empty bins).
    mde:
        Mismatch detectable with the requested power at level ``alpha`` per bin (normal
        approximation; 1 where nothing is detectable).
    clicks_a, clicks_b, expected_share, max_mismatch:
        The inputs.
    """

    share: NDArray[np.float64]
    mismatch: NDArray[np.float64]
    statistic: float
    pvalue: NDArray[np.float64]
    mde: NDArray[np.float64]
    clicks_a: NDArray[np.int64]
    clicks_b: NDArray[np.int64]
    expected_share: float
    max_mismatch: float


def _share_of_ratio(r: float | NDArray[np.float64], odds0: float) -> NDArray[np.float64]:
    o = np.asarray(r, dtype=np.float64) * odds0
    return np.asarray(o / (1.0 + o), dtype=np.float64)


def mismatch_interval_test(
    clicks_a: ArrayLike,
    clicks_b: ArrayLike,
    /,
    *,
    max_mismatch: float,
    expected_share: float = 0.5,
    alpha: float = 0.001,
    power: float = 0.8,
) -> MismatchIntervalResult:
    """Test, per time bin, that the efficiency mismatch of two detector groups is at most
    ``max_mismatch``; see :class:`MismatchIntervalResult` for the rule.

    References
    ----------
    V. Makarov, A. Anisimov, J. Skaar, PRA 74, 022313 (2006) (mismatch ``δ = 1 −
    min(η_a/η_b, η_b/η_a)``); B. Qi et al., QIC 7, 73 (2007) and Y. Zhao et al., PRA 78, 042333
    (2008) (time-shift: the mismatch over the gate).
    """
    a = np.asarray(clicks_a, dtype=np.int64).ravel()
    b = np.asarray(clicks_b, dtype=np.int64).ravel()
    if a.shape != b.shape:
        raise ValueError("clicks_a and clicks_b must have the same length")
    if np.any(a < 0) or np.any(b < 0):
        raise ValueError("clicks must be non-negative")
    if not 0 <= max_mismatch < 1:
        raise ValueError("max_mismatch must lie in [0, 1)")
    if not 0 < expected_share < 1 or not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("expected_share, alpha and power must lie in (0, 1)")
    n = a + b
    if not np.any(n > 0):
        raise InsufficientDataError("no clicks in any time bin")
    odds0 = expected_share / (1.0 - expected_share)
    s_lo = float(_share_of_ratio(1.0 - max_mismatch, odds0))
    s_hi = float(_share_of_ratio(1.0 / (1.0 - max_mismatch), odds0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, a / n, np.nan)
        ratio = share / (1.0 - share) / odds0
        mismatch = np.where(n > 0, 1.0 - np.minimum(ratio, 1.0 / ratio), np.nan)
    upper = stats.binom.sf(a - 1, n, s_hi)
    lower = stats.binom.cdf(a, n, s_lo)
    pvalue = np.where(n > 0, np.minimum(1.0, 2.0 * np.minimum(upper, lower)), 1.0)
    z = float(-special.ndtri(alpha / 2.0)) + float(special.ndtri(power))
    with np.errstate(divide="ignore", invalid="ignore"):
        nf = np.maximum(n, 1).astype(np.float64)
        s_up = s_hi + z * np.sqrt(s_hi * (1.0 - s_hi) / nf)
        s_dn = s_lo - z * np.sqrt(s_lo * (1.0 - s_lo) / nf)
        r_up = s_up / (1.0 - s_up) / odds0
        r_dn = s_dn / (1.0 - s_dn) / odds0
        mde_up = np.where(s_up < 1.0, 1.0 - 1.0 / r_up, 1.0)
        mde_dn = np.where(s_dn > 0.0, 1.0 - r_dn, 1.0)
    mde = np.where(n > 0, np.maximum(mde_up, mde_dn), 1.0)
    valid = np.isfinite(mismatch)
    return MismatchIntervalResult(
        share, mismatch, float(np.max(mismatch[valid])), pvalue, mde, a, b,
        float(expected_share), float(max_mismatch),
    )


def afterpulse_from_counts(
    gaps: ArrayLike, short: ArrayLike, live_ps: ArrayLike, *, window_ps: float
) -> AfterpulseResult:
    """Afterpulse excess from per-detector summaries of the inter-arrival times.

    Parameters
    ----------
    gaps:
        Inter-arrival gaps counted per detector (clicks − 1 of each detector).
    short:
        Gaps in ``[dead_time, dead_time + window)`` per detector.
    live_ps:
        Sum of ``max(gap − dead_time, 0)`` per detector (its live time).
    window_ps:
        Width of the afterpulse window.

    Notes
    -----
    The Poisson expectation of short gaps is ``Σ_d g_d (1 − e^{−λ_d w})`` with ``λ_d = g_d /
    live_d``; the estimate is the pooled excess over all gaps, as :func:`afterpulse_excess`
    computes for one detector from its click times (which is the streaming form of it).
    """
    g = np.asarray(gaps, dtype=np.float64).ravel()
    s = np.asarray(short, dtype=np.int64).ravel()
    live = np.asarray(live_ps, dtype=np.float64).ravel()
    if not g.shape == s.shape == live.shape:
        raise ValueError("gaps, short and live_ps must have the same length")
    if not window_ps > 0:
        raise ValueError("window_ps must be positive")
    use = (g > 0) & (live > 0)
    total = float(g[use].sum())
    if total < 2:
        raise InsufficientDataError("fewer than 2 inter-arrival gaps with live time")
    rate = g[use] / live[use]
    expected = float(np.sum(g[use] * -np.expm1(-rate * window_ps)))
    k = int(s[use].sum())
    pvalue = float(stats.poisson.sf(k - 1, expected))
    return AfterpulseResult(k, expected, (k - expected) / total, pvalue)
