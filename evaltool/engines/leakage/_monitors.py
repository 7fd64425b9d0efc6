"""Statistics behind the quantum-hacking monitors (attack → telemetry → statistic).

Each function computes the detection statistic named for one attack in the domain brief's attack
table (standards-and-attacks.md, §4); thresholds and verdicts belong to the checks.

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
from scipy import stats

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
    illumination", Nature Photonics 4, 686 (2010); standards-and-attacks.md §4 (detector
    blinding, rule (b)).
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
    V. Makarov, A. Anisimov, J. Skaar, PRA 74, 022313 (2006); B. Qi et al., QIC 7, 73 (2007);
    standards-and-attacks.md §4 (efficiency mismatch, time shift).
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
    histogram); standards-and-attacks.md §4 (afterpulse exploitation).
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
    correlated intensity fluctuations in optical pulses", npj Quantum Inf. 4, 8 (2018);
    standards-and-attacks.md §4 (pattern effect: conditional means, ANOVA).
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
