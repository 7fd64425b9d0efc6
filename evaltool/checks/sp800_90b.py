"""NIST SP 800-90B checks on a bundle's raw RNG output: min-entropy, IID, restart, health tests.

The RNG output is an ``rng-raw`` binary slot read most significant bit first; with
``bits_per_symbol = B`` every ``B`` consecutive bits form one sample (MSB first).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.engines.stats.sp800_90b import DEFAULT_ALPHA, MIN_SAMPLES, health_tests
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext


def _samples(
    ctx: CheckContext, slot: str, bits_per_symbol: int, limit: int | None
) -> NDArray[np.uint8]:
    bits = ctx.bits(slot)
    n = bits.size // bits_per_symbol
    if limit is not None:
        n = min(n, limit)
    if n == 0:
        raise InsufficientDataError(f"slot {slot!r} holds fewer bits than one sample")
    if bits_per_symbol == 1:
        return np.ascontiguousarray(bits[:n])
    weights = (1 << np.arange(bits_per_symbol - 1, -1, -1)).astype(np.uint8)
    grouped = bits[: n * bits_per_symbol].reshape(n, bits_per_symbol)
    return np.ascontiguousarray((grouped * weights).sum(axis=1, dtype=np.uint8))


class MinEntropyParams(CheckParams):
    """Parameters of ``sp800-90b.min-entropy``."""

    slot: str = Field(description="rng-raw slot holding the noise-source output")
    bits_per_symbol: int = Field(1, ge=1, le=8, description="bits per sample (1-8)")
    claimed_min_entropy: float = Field(
        gt=0, description="claimed min-entropy per sample (bits), e.g. the ST's value"
    )
    iid: bool = Field(
        False, description="use the IID track (§5) instead of the non-IID estimators (§6.3)"
    )
    max_samples: int | None = Field(
        None, ge=1, description="assess only the first samples (default: all)"
    )
    min_samples: int = Field(
        MIN_SAMPLES, ge=20, description="fewest samples accepted (§3.1.1: 1,000,000)"
    )


@check(
    "sp800-90b.min-entropy",
    params=MinEntropyParams,
    ref="NIST SP 800-90B §3.1.3, §6.3 (§5 on the IID track)",
)
def min_entropy(p: MinEntropyParams, ctx: CheckContext) -> Outcome:
    """Assessed SP 800-90B min-entropy per sample is at least the claimed value."""
    from evaltool.engines.stats.sp800_90b import assess_iid, assess_non_iid

    if p.claimed_min_entropy > p.bits_per_symbol:
        raise EvidenceError(
            f"claimed min-entropy {fmt(p.claimed_min_entropy)} exceeds the "
            f"{p.bits_per_symbol}-bit sample width"
        )
    samples = _samples(ctx, p.slot, p.bits_per_symbol, p.max_samples)
    extra: list[Measurement] = [Measurement(name="samples", value=int(samples.size))]
    estimates: dict[str, float | None]
    if p.iid:
        iid = assess_iid(samples, p.bits_per_symbol, seed=ctx.seed, min_samples=p.min_samples)
        h = iid.h_assessed
        extra.append(Measurement(name="h_original", value=iid.h_original, unit="bits"))
        estimates = {"mcv": iid.mcv.min_entropy}
        if not iid.passed:
            return Outcome.inconclusive(
                "the IID tests reject the IID assumption, so the IID (MCV) estimate "
                f"{fmt(h)} bits/sample may not be used; assess on the non-IID track",
                [Measurement(name="h_assessed", value=h, unit="bits"), *extra],
            ).with_series(_estimator_series(estimates, p.claimed_min_entropy))
    else:
        res = assess_non_iid(samples, p.bits_per_symbol, min_samples=p.min_samples)
        h = res.h_assessed
        extra.append(Measurement(name="h_original", value=res.h_original, unit="bits"))
        if res.h_bitstring is not None:
            extra.append(Measurement(name="h_bitstring", value=res.h_bitstring, unit="bits"))
        for name, est in res.estimators.items():
            if est is not None:
                extra.append(Measurement(name=f"h_{name}", value=est.min_entropy, unit="bits"))
        estimates = {name: None if est is None else est.min_entropy
                     for name, est in res.estimators.items()}
    return Outcome.from_threshold(
        "h_assessed",
        h,
        threshold=p.claimed_min_entropy,
        passes_if=">=",
        unit="bits",
        reason_subject="assessed min-entropy per sample",
        extra=extra,
    ).with_series(_estimator_series(estimates, p.claimed_min_entropy))


def _estimator_series(estimates: dict[str, float | None], claimed: float) -> Series:
    """Each estimator's min-entropy per sample (labelled with its name, x = its section 6.3.x;
    one that was not run is left out, one without a value is a gap) against the claimed
    entropy: the assessed value is their minimum (§3.1.3)."""
    from evaltool.engines.stats.sp800_90b import ESTIMATORS

    names = [name for name in ESTIMATORS if name in estimates]
    return Series(name="min-entropy estimate", values=tuple(estimates[n] for n in names),
                  unit="bits", x=tuple(float(ESTIMATORS.index(n) + 1) for n in names),
                  x_labels=tuple(names), x_name="SP 800-90B estimator (x = section 6.3.x)",
                  threshold=claimed, passes_if=">=", style="bars")


class IIDParams(CheckParams):
    """Parameters of ``sp800-90b.iid``."""

    slot: str = Field(description="rng-raw slot holding the noise-source output")
    bits_per_symbol: int = Field(1, ge=1, le=8, description="bits per sample (1-8)")
    n_permutations: int = Field(10_000, ge=100, description="permutations (§5.1: 10,000)")
    max_samples: int | None = Field(None, ge=1, description="test only the first samples")
    min_samples: int = Field(MIN_SAMPLES, ge=64, description="fewest samples accepted")


@check("sp800-90b.iid", params=IIDParams, ref="NIST SP 800-90B §5.1, §5.2")
def iid_tests(p: IIDParams, ctx: CheckContext) -> Outcome:
    """The noise-source samples pass the IID permutation, chi-square and LRS tests."""
    from evaltool.engines.stats.sp800_90b import assess_iid

    samples = _samples(ctx, p.slot, p.bits_per_symbol, p.max_samples)
    res = assess_iid(
        samples,
        p.bits_per_symbol,
        n_permutations=p.n_permutations,
        seed=ctx.seed,
        min_samples=p.min_samples,
    )
    indep, gof = res.chi_square_independence, res.chi_square_goodness_of_fit
    ms = [
        Measurement(name="samples", value=res.n_samples),
        Measurement(
            name="chi2_independence_pvalue", value=indep.pvalue, threshold=0.001, passes_if=">="
        ),
        Measurement(
            name="chi2_goodness_of_fit_pvalue", value=gof.pvalue, threshold=0.001, passes_if=">="
        ),
        Measurement(name="lrs_pvalue", value=res.lrs.pvalue, threshold=0.001, passes_if=">="),
        Measurement(name="permutations", value=res.permutation.permutations_run),
        Measurement(name="h_iid_mcv", value=res.h_assessed, unit="bits"),
    ]
    failed = [
        name
        for name, (c0, c1, c2) in res.permutation.counts.items()
        if c0 + c1 <= 5 or c1 + c2 <= 5
    ]
    problems = []
    if failed:
        problems.append(f"permutation statistics {', '.join(failed)} are extreme")
    if indep.pvalue < 0.001:
        problems.append(f"chi-square independence p-value {fmt(indep.pvalue)} < 0.001")
    if gof.pvalue < 0.001:
        problems.append(f"chi-square goodness-of-fit p-value {fmt(gof.pvalue)} < 0.001")
    if not res.lrs.passed:
        problems.append(f"longest repeated substring of {res.lrs.w} samples is too long")
    if problems:
        return Outcome.failed("IID assumption rejected: " + "; ".join(problems), ms)
    return Outcome.passed(
        f"all 19 permutation statistics, both chi-square tests and the LRS test are consistent "
        f"with IID samples (seed {res.permutation.seed})",
        ms,
    )


class RestartParams(CheckParams):
    """Parameters of ``sp800-90b.restart``."""

    slot: str = Field(description="rng-raw slot with 1000 restarts x 1000 samples, row by row")
    bits_per_symbol: int = Field(1, ge=1, le=8, description="bits per sample (1-8)")
    claimed_min_entropy: float = Field(gt=0, description="H_I, entropy per sample to validate")
    iid: bool = Field(False, description="validate with the IID track (MCV estimate)")


@check("sp800-90b.restart", params=RestartParams, ref="NIST SP 800-90B §3.1.4")
def restart(p: RestartParams, ctx: CheckContext) -> Outcome:
    """Restart data pass the sanity check and support the claimed entropy (§3.1.4)."""
    from evaltool.engines.stats.sp800_90b import restart_tests

    if p.claimed_min_entropy > p.bits_per_symbol:
        raise EvidenceError(
            f"claimed min-entropy {fmt(p.claimed_min_entropy)} exceeds the "
            f"{p.bits_per_symbol}-bit sample width"
        )
    samples = _samples(ctx, p.slot, p.bits_per_symbol, 1_000_000)
    if samples.size < 1_000_000:
        raise InsufficientDataError(
            f"restart tests need 1000 x 1000 = 1000000 samples, slot {p.slot!r} has {samples.size}"
        )
    res = restart_tests(samples, p.bits_per_symbol, p.claimed_min_entropy, iid=p.iid, seed=ctx.seed)
    x_max = max(res.max_row_count, res.max_column_count)
    ms = [
        Measurement(name="max_count", value=x_max, threshold=res.cutoff, passes_if="<="),
    ]
    if not res.sanity_passed:
        return Outcome.failed(
            f"restart sanity check failed: a value occurs {x_max} times in one row or column, "
            f"above the cutoff {res.cutoff} for H_I = {fmt(p.claimed_min_entropy)}",
            ms,
        )
    assert res.h_row is not None and res.h_column is not None
    h_min = min(res.h_row, res.h_column)
    ms += [
        Measurement(name="h_row", value=res.h_row, unit="bits"),
        Measurement(name="h_column", value=res.h_column, unit="bits"),
        Measurement(
            name="min_h_row_column",
            value=h_min,
            unit="bits",
            threshold=p.claimed_min_entropy / 2,
            passes_if=">=",
        ),
    ]
    if not res.validation_passed:
        return Outcome.failed(
            f"restart validation failed: min(H_r, H_c) = {fmt(h_min)} bits is below "
            f"H_I/2 = {fmt(p.claimed_min_entropy / 2)}",
            ms,
        )
    return Outcome.passed(
        f"sanity check passed (max count {x_max} <= {res.cutoff}) and min(H_r, H_c) = "
        f"{fmt(h_min)} >= H_I/2 = {fmt(p.claimed_min_entropy / 2)} bits",
        ms,
    )


class HealthTestParams(CheckParams):
    """Parameters of ``sp800-90b.health-tests``."""

    slot: str = Field(description="rng-raw slot holding the noise-source output")
    health_slot: str = Field(description="health-test-log slot: the device's own alarms")
    claimed_min_entropy: float = Field(gt=0, description="claimed min-entropy per sample (bits)")
    bits_per_symbol: int = Field(1, ge=1, le=8, description="bits per sample (1-8)")
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1, description="false-positive probability")
    apt_window: int | None = Field(
        None, ge=16, description="adaptive proportion window (default: 1024 binary, 512 else)"
    )


_RCT = re.compile(r"repetition|\brct\b|rct[-_ ]", re.IGNORECASE)
_APT = re.compile(r"adaptive|\bapt\b|apt[-_ ]", re.IGNORECASE)
_ALARM = re.compile(r"alarm|fail", re.IGNORECASE)


def _device_alarms(records: list[Mapping[str, Any]]) -> tuple[int, int, int, list[int] | None]:
    """Alarms in the device log: counts (repetition count, adaptive proportion, unattributed)
    and their ``sample_index`` values when every alarm record carries one."""
    rct = apt = other = 0
    where: list[int] | None = []
    for rec in records:
        text = " ".join(str(rec.get(k, "")) for k in ("event", "test", "type", "name"))
        if not _ALARM.search(text):
            continue
        if _RCT.search(text):
            rct += 1
        elif _APT.search(text):
            apt += 1
        else:
            other += 1
        idx = rec.get("sample_index")
        if where is not None and isinstance(idx, int) and not isinstance(idx, bool):
            where.append(idx)
        else:
            where = None
    return rct, apt, other, where


def _missed(
    samples: NDArray[np.uint8],
    rct_idx: NDArray[np.int64],
    apt_idx: NDArray[np.int64],
    window: int,
    device: list[int],
) -> int:
    """evaltool alarms with no device alarm inside the same run (RCT) or window (APT)."""
    logged = np.sort(np.asarray(device, dtype=np.int64))
    change = np.flatnonzero(samples[1:] != samples[:-1]) + 1
    missed = 0
    for j in rct_idx.tolist():
        k = int(np.searchsorted(change, j, side="right"))
        start = int(change[k - 1]) if k > 0 else 0
        end = int(change[k]) if k < change.size else int(samples.size)
        if not np.any((logged >= start) & (logged < end)):
            missed += 1
    for w in apt_idx.tolist():
        if not np.any((logged >= w) & (logged < w + window)):
            missed += 1
    return missed


@check("sp800-90b.health-tests", params=HealthTestParams, ref="NIST SP 800-90B §4.4")
def health(p: HealthTestParams, ctx: CheckContext) -> Outcome:
    """Health tests re-run on the raw output find no alarm the device's own log lacks.

    When the device's alarm records carry ``sample_index``, each alarm evaltool finds must have
    a logged alarm inside the same run of equal samples (repetition count) or the same window
    (adaptive proportion); otherwise any evaltool alarm requires at least one logged alarm.
    """
    if p.claimed_min_entropy > p.bits_per_symbol:
        raise EvidenceError(
            f"claimed min-entropy {fmt(p.claimed_min_entropy)} exceeds the "
            f"{p.bits_per_symbol}-bit sample width"
        )
    samples = _samples(ctx, p.slot, p.bits_per_symbol, None)
    res = health_tests(
        samples, p.bits_per_symbol, p.claimed_min_entropy, alpha=p.alpha, window=p.apt_window
    )
    records = list(ctx.jsonl(p.health_slot))
    d_rct, d_apt, d_other, where = _device_alarms(records)
    ours = res.rct_alarms + res.apt_alarms
    theirs = d_rct + d_apt + d_other
    if where is not None and theirs > 0:
        missed = _missed(
            samples, res.rct_alarm_indices, res.apt_alarm_indices, res.apt_window, where
        )
    else:
        missed = ours if theirs == 0 else 0
    ms = [
        Measurement(name="samples", value=res.n_samples),
        Measurement(name="rct_cutoff", value=res.rct_cutoff),
        Measurement(name="apt_cutoff", value=res.apt_cutoff),
        Measurement(name="apt_window", value=res.apt_window),
        Measurement(name="rct_alarms", value=res.rct_alarms),
        Measurement(name="apt_alarms", value=res.apt_alarms),
        Measurement(name="device_rct_alarms", value=d_rct),
        Measurement(name="device_apt_alarms", value=d_apt),
        Measurement(name="device_other_alarms", value=d_other),
        Measurement(name="alarms_missing_from_log", value=missed, threshold=0, passes_if="<="),
    ]
    found = (
        f"{res.rct_alarms} repetition-count and {res.apt_alarms} adaptive-proportion alarms "
        f"at H = {fmt(p.claimed_min_entropy)} bits/sample (cutoffs {res.rct_cutoff} and "
        f"{res.apt_cutoff}/{res.apt_window}, alpha = {p.alpha:.3g})"
    )
    if missed > 0:
        return Outcome.failed(
            f"evaltool finds {found} in {res.n_samples} samples; {missed} of them have no "
            f"matching alarm in the device's log ({theirs} logged)",
            ms,
        )
    if ours == 0:
        return Outcome.passed(
            f"no health-test alarm in {res.n_samples} samples ({found}); the device logs "
            f"{theirs} alarm(s)",
            ms,
        )
    return Outcome.passed(
        f"evaltool finds {found}; the device's log reports each of them ({d_rct} repetition "
        f"count, {d_apt} adaptive proportion alarm(s) logged)",
        ms,
    )
