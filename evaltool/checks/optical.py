"""Checks of the optical source and port decided from per-pulse records, block counts and the
lab's isolation spectrum: class means of the mean photon number, phase randomisation, the
basis dependence of the error rate and the port's isolation.

Each estimate is compared with its bound through a confidence interval of ``z`` standard
errors: it fails when the whole interval is outside the bound, passes when the whole interval is
inside, and is inconclusive otherwise (too few pulses or counts to decide). The statistics are
in :mod:`evaltool.engines.stats.estimates`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext


def _interval_verdict(deviation: float, se: float, bound: float, z: float) -> int:
    """+1 when |deviation| + z se <= bound (inside), -1 when |deviation| - z se > bound
    (outside), 0 otherwise or when a value is not finite."""
    if not (math.isfinite(deviation) and math.isfinite(se)):
        return 0
    if abs(deviation) + z * se <= bound:
        return 1
    if abs(deviation) - z * se > bound:
        return -1
    return 0


# --- source.mean-photon-number ---------------------------------------------------------------


class MeanPhotonParams(CheckParams):
    """Parameters of ``source.mean-photon-number``."""

    slot: str = Field("pulses", description="pulse-events slot with per-pulse measurements")
    class_column: str = Field("intensity", description="column of the intensity class")
    value_column: str = Field("mu_measured_photons", description="column of the measured mean "
                              "photon number of each pulse")
    intensities: tuple[float, ...] | None = Field(None, description="nominal mean photon number "
                                                  "of each class, class 0 first (default: the "
                                                  "manifest's claims)")
    tolerance_rel: float = Field(gt=0, lt=1, description="allowed relative deviation of a "
                                 "class mean from its nominal value")
    z: float = Field(3.0, gt=0, description="standard errors of the confidence interval")
    min_pulses: int = Field(100, ge=2, description="pulses of a class needed to decide it")


@check("source.mean-photon-number", params=MeanPhotonParams,
       ref="ISO/IEC 23837-2 source characterisation "
       "(mean photon number); Lim et al., PRA 89, 022307 (2014), Sec. II (decoy intensities)")
def source_mean_photon_number(p: MeanPhotonParams, ctx: CheckContext) -> Outcome:
    """The mean photon number of each intensity class is within the tolerance of its nominal
    value, from the per-pulse measurements."""
    import numpy as np

    from evaltool.engines.stats.estimates import mean_estimate

    nominal = p.intensities if p.intensities is not None else ctx.manifest.claims.intensities
    cls_parts, val_parts = [], []
    for chunk in ctx.iter_table(p.slot, [p.class_column, p.value_column]):
        cls_parts.append(np.asarray(chunk[p.class_column], dtype=np.int64))
        val_parts.append(np.asarray(chunk[p.value_column], dtype=np.float64))
    cls = np.concatenate(cls_parts) if cls_parts else np.zeros(0, np.int64)
    val = np.concatenate(val_parts) if val_parts else np.zeros(0)
    if cls.size and (cls.min() < 0 or cls.max() >= len(nominal)):
        raise EvidenceError(f"slot {p.slot!r}: intensity class {int(cls.max())} has no nominal "
                            f"value ({len(nominal)} classes)")
    ms: list[Measurement] = []
    fails, undecided = [], []
    for k, mu in enumerate(nominal):
        est = mean_estimate(val[cls == k])
        bound = p.tolerance_rel * mu
        ms += [Measurement(name=f"class_{k}_mean_photons", value=est.value, unit="photons"),
               Measurement(name=f"class_{k}_relative_deviation",
                           value=(est.value - mu) / mu if mu else float("nan"), unit="ratio",
                           threshold=p.tolerance_rel, passes_if="<=")]
        if est.n < p.min_pulses:
            undecided.append(f"class {k}: {est.n} pulses, {p.min_pulses} needed")
            continue
        v = _interval_verdict(est.value - mu, est.se, bound, p.z)
        desc = (f"class {k}: mean {fmt(est.value)} +- {fmt(p.z * est.se)} against nominal "
                f"{fmt(mu)} +- {fmt(bound)}")
        if v < 0:
            fails.append(desc)
        elif v == 0:
            undecided.append(desc)
    if fails:
        return Outcome.failed("class mean outside the tolerance: " + "; ".join(fails), ms)
    if undecided:
        return Outcome.inconclusive("class mean not decided: " + "; ".join(undecided), ms)
    return Outcome.passed(f"the means of all {len(nominal)} classes are within "
                          f"{fmt(p.tolerance_rel * 100)} % of their nominal values", ms)


# --- source.phase-randomisation --------------------------------------------------------------


class PhaseParams(CheckParams):
    """Parameters of ``source.phase-randomisation``."""

    slot: str = Field("pulses", description="pulse-events slot with the measured relative phase")
    column: str = Field("rel_phase_rad", description="phase of each pulse relative to the "
                        "previous one, radians")
    bins: int = Field(64, ge=4, le=4096, description="equal bins of [0, 2 pi) for the "
                      "chi-squared test")
    alpha: float = Field(1e-4, gt=0, lt=1, description="significance level of each of the two "
                         "tests (chi-squared and Rayleigh): an honest source fails about one "
                         "audit in 5,000")
    min_pulses: int = Field(1000, ge=10, description="pulses needed to decide")


@check("source.phase-randomisation", params=PhaseParams,
       ref="Lo & Preskill, QIC 7, 431 (2007) (phase "
       "randomisation assumed by decoy-state proofs); Mardia & Jupp, Directional Statistics "
       "(2000) §6.3")
def source_phase_randomisation(p: PhaseParams, ctx: CheckContext) -> Outcome:
    """The global phase of successive pulses is uniform on [0, 2 pi): Pearson's chi-squared over
    equal bins and the Rayleigh test both keep uniformity at ``alpha``."""
    import numpy as np

    from evaltool.engines.stats.estimates import circular_uniformity

    parts = [np.asarray(c[p.column], dtype=np.float64) for c in ctx.iter_table(p.slot,
                                                                                 [p.column])]
    phases = np.concatenate(parts) if parts else np.zeros(0)
    u = circular_uniformity(phases, p.bins)
    ms = [Measurement(name="pulses", value=u.n, unit="count", threshold=p.min_pulses,
                      passes_if=">="),
          Measurement(name="chi2_pvalue", value=u.chi2_p, threshold=p.alpha, passes_if=">="),
          Measurement(name="mean_resultant_length", value=u.resultant),
          Measurement(name="rayleigh_pvalue", value=u.rayleigh_p, threshold=p.alpha,
                      passes_if=">=")]
    if u.n < p.min_pulses:
        return Outcome.inconclusive(f"{u.n} phases measured, {p.min_pulses} needed", ms)
    if not (math.isfinite(u.chi2_p) and math.isfinite(u.rayleigh_p)):
        return Outcome.inconclusive("the uniformity statistics are not finite", ms)
    if u.chi2_p < p.alpha or u.rayleigh_p < p.alpha:
        return Outcome.failed(f"the relative phase is not uniform: chi-squared over {p.bins} "
                              f"bins p = {fmt(u.chi2_p)}, Rayleigh p = {fmt(u.rayleigh_p)} "
                              f"(alpha {fmt(p.alpha)})", ms)
    return Outcome.passed(f"{u.n} relative phases uniform on [0, 2 pi): chi-squared p = "
                          f"{fmt(u.chi2_p)}, Rayleigh p = {fmt(u.rayleigh_p)}", ms)


# --- protocol.basis-qber-asymmetry -----------------------------------------------------------


class AsymmetryParams(CheckParams):
    """Parameters of ``protocol.basis-qber-asymmetry``."""

    slot: str = Field("blocks", description="block-records slot with per-class key and test "
                      "basis counts")
    intensity_class: int = Field(0, ge=0, description="class whose error rates are compared "
                                 "(the signal class)")
    max_difference: float = Field(gt=0, lt=0.5, description="largest allowed difference of "
                                  "the two bases' QBER (absolute)")
    z: float = Field(3.0, gt=0, description="standard errors of the confidence interval")


@check("protocol.basis-qber-asymmetry", params=AsymmetryParams,
       ref="ISO/IEC 23837-2 state preparation "
       "(basis-dependent flaws); Lim et al., PRA 89, 022307 (2014), Sec. II")
def protocol_basis_qber_asymmetry(p: AsymmetryParams, ctx: CheckContext) -> Outcome:
    """The QBER of the test basis and of the key basis differ by at most the bound (summed over
    the blocks, one intensity class)."""
    from evaltool.engines.stats.estimates import proportion_difference

    b = ctx.blocks(p.slot)
    kd, ke, td, te = b.counts("key_detections", "key_errors", "test_detections", "test_errors",
                              purpose="to compare the bases' error rates")
    k = p.intensity_class
    if k >= b.n_classes:
        raise InsufficientDataError(f"slot {p.slot!r} has no intensity class {k}")
    n_key, e_key = float(kd[:, k].sum()), float(ke[:, k].sum())
    n_test, e_test = float(td[:, k].sum()), float(te[:, k].sum())
    d = proportion_difference(e_key, n_key, e_test, n_test)
    ms = [Measurement(name="qber_key", value=e_key / n_key if n_key else float("nan"),
                      unit="ratio"),
          Measurement(name="qber_test", value=e_test / n_test if n_test else float("nan"),
                      unit="ratio"),
          Measurement(name="qber_difference", value=d.value, unit="ratio",
                      threshold=p.max_difference, passes_if="<=")]
    v = _interval_verdict(d.value, d.se, p.max_difference, p.z)
    desc = (f"QBER test - key = {fmt(d.value)} +- {fmt(p.z * d.se)} (class {k}, "
            f"{fmt(n_key)} and {fmt(n_test)} detections), bound {fmt(p.max_difference)}")
    if v < 0:
        return Outcome.failed(f"basis-dependent error rate: {desc}", ms)
    if v == 0:
        return Outcome.inconclusive(f"not decided: {desc}", ms)
    return Outcome.passed(desc, ms)


# --- optical.isolation-spectrum --------------------------------------------------------------


class IsolationParams(CheckParams):
    """Parameters of ``optical.isolation-spectrum``."""

    slot: str = Field("isolation", description="isolation-spectrum slot")
    min_db: float = Field(gt=0, description="isolation required at every wavelength of the band")
    band_nm: tuple[float, float] = Field(description="band an attacker could use, [low, high] nm")
    max_step_nm: float = Field(5.0, gt=0, description="largest gap between measurement points "
                               "(a coarser spectrum could miss a dip)")


@check("optical.isolation-spectrum", params=IsolationParams,
       ref="Lucamarini et al., PRX 5, 031030 (2015) "
       "(isolation against Trojan-horse attacks)")
def optical_isolation_spectrum(p: IsolationParams, ctx: CheckContext) -> Outcome:
    """The measured isolation of the quantum port is at least the ST's value at every
    wavelength of the band, and the spectrum covers the band without a wide gap."""
    import numpy as np

    lo, hi = sorted(p.band_nm)
    wl_parts, iso_parts = [], []
    for c in ctx.iter_table(p.slot, ["wavelength_nm", "isolation_db"]):
        wl_parts.append(np.asarray(c["wavelength_nm"], dtype=np.float64))
        iso_parts.append(np.asarray(c["isolation_db"], dtype=np.float64))
    wl = np.concatenate(wl_parts) if wl_parts else np.zeros(0)
    iso = np.concatenate(iso_parts) if iso_parts else np.zeros(0)
    inside = (wl >= lo) & (wl <= hi)
    w, v = wl[inside], iso[inside]
    worst = float(v.min()) if v.size else float("nan")
    at = float(w[int(np.argmin(v))]) if v.size else float("nan")
    step = float(np.diff(np.concatenate(([lo], w, [hi]))).max()) if w.size else float("inf")
    ms = [Measurement(name="min_isolation_db", value=worst, unit="dB", threshold=p.min_db,
                      passes_if=">="),
          Measurement(name="largest_gap_nm", value=step, unit="nm", threshold=p.max_step_nm,
                      passes_if="<="),
          Measurement(name="points_in_band", value=int(w.size), unit="count")]
    if v.size and worst < p.min_db:
        return Outcome.failed(f"isolation {fmt(worst)} dB at {fmt(at)} nm, below "
                              f"{fmt(p.min_db)} dB", ms)
    if not v.size or step > p.max_step_nm:
        return Outcome.inconclusive(f"the spectrum does not cover {fmt(lo)}-{fmt(hi)} nm in "
                                    f"steps of at most {fmt(p.max_step_nm)} nm (largest gap "
                                    f"{fmt(step)} nm)", ms)
    return Outcome.passed(f"isolation at least {fmt(worst)} dB (at {fmt(at)} nm) over "
                          f"{fmt(lo)}-{fmt(hi)} nm, required {fmt(p.min_db)} dB", ms)


__all__: list[str] = []
