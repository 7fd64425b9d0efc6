"""Protocol checks on per-block records: key length within the finite-key bound, error-verification
hash length, and the abort rule.

Each block's allowed key length is recomputed from its logged counts, errors and reported
error-correction leakage with the finite-key bound the device claims (``claims.bound``:
``lim2014`` = Lim et al. PRA 89 022307 (2014); ``rusca2018`` = Rusca et al. APL 112 171104 (2018);
``docs/methods/protocol-checks.md``). The records are read through the block reader
(:mod:`evaltool.io.readers.blocks`). Columns of the block-records table: ``key_detections_<k>``,
``key_errors_<k>``, ``test_detections_<k>``, ``test_errors_<k>`` for each claimed intensity class
k, ``ec_leakage_bits``, ``verification_hash_bits``, ``pa_output_bits``, ``aborted``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from evaltool.checks.outcome import Outcome, enumerate_ids, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.engines.protocol.finite_key import (
    BOUNDS,
    FiniteKeyBound,
    KeyLengthResult,
    allowed_key_length,
    verification_hash_min_bits,
)
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.bundle import ProtocolClaims
from evaltool.model.results import Measurement, Series
from evaltool.protocols import get_plugin

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.io.readers import BlockRecords

_COUNT_KINDS = ("key_detections", "key_errors", "test_detections", "test_errors")


def claimed_bound(claims: ProtocolClaims) -> FiniteKeyBound:
    """The finite-key bound named by the claims, checked against the claimed intensities."""
    if claims.bound is None:
        raise InsufficientDataError("the manifest claims no finite-key bound (claims.bound)")
    if claims.bound not in BOUNDS:
        known = ", ".join(sorted(BOUNDS))
        raise EvidenceError(
            f"claimed finite-key bound {claims.bound!r} is not known (known: {known})",
            location="claims.bound",
        )
    # The protocol plugin decides which bounds the claimed protocol may use (docs/protocols.md).
    bound: FiniteKeyBound = get_plugin(claims.protocol).bound(claims.bound).load()
    if len(claims.intensities) != bound.n_intensities:
        raise EvidenceError(
            f"{bound.name} is written for {bound.n_intensities} intensities, the claims give "
            f"{len(claims.intensities)}",
            location="claims.intensities",
        )
    if not bound.accepts_intensities(claims.intensities) or min(claims.probabilities) <= 0.0:
        raise EvidenceError(
            f"claimed intensities {list(claims.intensities)} with probabilities "
            f"{list(claims.probabilities)} do not meet the conditions of {bound.name} "
            f"({bound.reference})",
            location="claims.intensities",
        )
    return bound


_COUNTS_PURPOSE = "to recompute the key length"


def _counts(blocks: BlockRecords, bound: FiniteKeyBound) -> dict[str, NDArray[np.float64]]:
    """The key- and test-basis counts of every class the bound is written for."""
    arrays = blocks.counts(*_COUNT_KINDS, n_classes=bound.n_intensities, purpose=_COUNTS_PURPOSE)
    return dict(zip(_COUNT_KINDS, arrays, strict=True))


def recompute(table: BlockRecords, claims: ProtocolClaims, bound: FiniteKeyBound
              ) -> KeyLengthResult:
    """Allowed key length of every block under the claimed bound and eps parameters."""
    counts = _counts(table, bound)
    return allowed_key_length(
        bound,
        claims.intensities,
        claims.probabilities,
        counts["key_detections"],
        counts["key_errors"],
        counts["test_detections"],
        counts["test_errors"],
        ec_leakage_bits=table.ec_leakage_bits,
        verification_hash_bits=(table.column("verification_hash_bits")
                                if table.has("verification_hash_bits") else None),
        eps_sec=claims.eps_sec,
        eps_cor=claims.eps_cor,
    )


def _excess_series(
    out: Outcome, table: BlockRecords, excess: NDArray[np.float64], tolerance: int
) -> Outcome:
    """Attach the per-block excess of output over the bound (<= tolerance passes) for the plot."""
    return out.with_series(Series(
        name="key length output minus allowed", values=tuple(excess.tolist()), unit="bit",
        x=tuple(float(b) for b in table.block_id), x_name="block_id",
        threshold=float(tolerance), passes_if="<=", style="step",
    ))


# --- protocol.key-length-bound ----------------------------------------------------------------


class KeyLengthBoundParams(CheckParams):
    """Parameters of ``protocol.key-length-bound``."""

    slot: str = Field(description="block-records slot")
    tolerance_bits: int = Field(
        0, ge=0, description="excess over the recomputed bound still accepted (rounding)"
    )


@check(
    "protocol.key-length-bound",
    params=KeyLengthBoundParams,
    ref="Lim et al. PRA 89 022307 (2014) Eq. (1); Rusca et al. APL 112 171104 (2018) App. A",
)
def key_length_bound(p: KeyLengthBoundParams, ctx: CheckContext) -> Outcome:
    """No block outputs more key than the claimed finite-key bound allows from its logged counts."""
    claims = ctx.manifest.claims
    bound = claimed_bound(claims)
    table = ctx.blocks(p.slot)
    res = recompute(table, claims, bound)
    allowed = res.ell.astype(np.float64)
    excess = table.pa_output_bits - allowed
    violating = excess > p.tolerance_bits
    n = len(excess)
    worst = int(np.argmax(excess))
    ms = [
        Measurement(name="blocks", value=n),
        Measurement(name="violating_blocks", value=int(violating.sum()), threshold=0,
                    passes_if="<="),
        Measurement(name="worst_excess_bits", value=float(excess[worst]), unit="bit",
                    threshold=p.tolerance_bits, passes_if="<="),
        Measurement(name="worst_block_id", value=int(table.block_id[worst])),
        Measurement(name="worst_block_allowed_bits", value=float(allowed[worst]), unit="bit"),
        Measurement(name="worst_block_output_bits", value=float(table.pa_output_bits[worst]),
                    unit="bit"),
    ]  # fmt: skip
    label = f"{bound.name} v{bound.version}"
    if violating.any():
        ids = table.block_id[violating].tolist()
        return _excess_series(Outcome.failed(
            f"{int(violating.sum())} of {n} blocks output more key than the {label} bound allows "
            f"(blocks {enumerate_ids(ids)}); worst: block {int(table.block_id[worst])} output "
            f"{fmt(float(table.pa_output_bits[worst]))} bits, allowed "
            f"{fmt(float(allowed[worst]))}, excess {fmt(float(excess[worst]))} bits",
            ms,
        ), table, excess, p.tolerance_bits)
    producing = table.pa_output_bits > 0
    if producing.any():
        margin = np.where(producing, allowed - table.pa_output_bits, np.inf)
        tight = int(np.argmin(margin))
        detail = (
            f"; smallest margin {fmt(float(margin[tight]))} bits (block "
            f"{int(table.block_id[tight])})"
        )
    else:
        detail = "; no block produced key"
    passed = Outcome.passed(f"all {n} blocks are within the {label} bound{detail}", ms)
    return _excess_series(passed, table, excess, p.tolerance_bits)


# --- protocol.verification-hash ---------------------------------------------------------------


class VerificationHashParams(CheckParams):
    """Parameters of ``protocol.verification-hash``."""

    slot: str = Field(description="block-records slot with a verification_hash_bits column")


@check(
    "protocol.verification-hash",
    params=VerificationHashParams,
    ref="Lim et al. PRA 89 022307 (2014) §II (eps_cor = eps_hash)",
)
def verification_hash(p: VerificationHashParams, ctx: CheckContext) -> Outcome:
    """Every block that produced key was verified with a hash of at least log2(1/eps_cor) bits."""
    eps_cor = ctx.manifest.claims.eps_cor
    need = verification_hash_min_bits(eps_cor)
    blocks = ctx.blocks(p.slot)
    if not blocks.has("verification_hash_bits"):
        raise InsufficientDataError(f"slot {p.slot!r} has no verification_hash_bits column")
    keyed = blocks.pa_output_bits > 0
    if not keyed.any():
        return Outcome.not_applicable("no block produced key, so none needed verification")
    hash_bits = blocks.column("verification_hash_bits")[keyed]
    ids = blocks.block_id[keyed]
    short = hash_bits < need
    shortest = int(np.argmin(hash_bits))
    ms = [
        Measurement(name="key_blocks", value=int(keyed.sum())),
        Measurement(name="shortest_hash_bits", value=float(hash_bits[shortest]), unit="bit",
                    threshold=need, passes_if=">="),
        Measurement(name="short_hash_blocks", value=int(short.sum()), threshold=0,
                    passes_if="<="),
    ]  # fmt: skip
    rule = f"ceil(log2(1/eps_cor)) = {need} bits for eps_cor = {fmt(eps_cor)}"
    if short.any():
        return Outcome.failed(
            f"{int(short.sum())} of {int(keyed.sum())} key-producing blocks used a verification "
            f"hash shorter than {rule} (blocks {enumerate_ids(ids[short].tolist())}; shortest "
            f"{fmt(float(hash_bits[shortest]))} bits)",
            ms,
        )
    return Outcome.passed(
        f"all {int(keyed.sum())} key-producing blocks used a verification hash of at least "
        f"{rule} (shortest {fmt(float(hash_bits[shortest]))} bits)",
        ms,
    )


# --- protocol.abort-rule ----------------------------------------------------------------------


class AbortRuleParams(CheckParams):
    """Parameters of ``protocol.abort-rule``."""

    slot: str = Field(description="block-records slot")


@check("protocol.abort-rule", params=AbortRuleParams, ref="CC:2022 Part 2 FPT_FLS.1; Lim 2014 §II")
def abort_rule(p: AbortRuleParams, ctx: CheckContext) -> Outcome:
    """Blocks over the claimed QBER or phase-error threshold produced no key."""
    claims = ctx.manifest.claims
    bound = claimed_bound(claims)
    table = ctx.blocks(p.slot)
    counts = _counts(table, bound)
    # QBER of the key basis from the logged counts; a higher reported value also counts.
    with np.errstate(divide="ignore", invalid="ignore"):
        qber = counts["key_errors"].sum(axis=-1) / counts["key_detections"].sum(axis=-1)
    qber = np.where(np.isfinite(qber), qber, 0.0)
    if table.has("qber_key"):
        qber = np.maximum(qber, np.nan_to_num(table.column("qber_key"), nan=0.0))
    # Phase-error rate of the claimed bound (Lim 2014 Eq. 5). An undefined phi gives ell = 0 and
    # is the key-length check's concern, not a threshold crossing.
    phi = recompute(table, claims, bound).phi
    phi_limit = (
        0.5 if claims.phase_error_abort_threshold is None else claims.phase_error_abort_threshold
    )
    over_qber = qber > claims.qber_abort_threshold
    over_phi = np.isfinite(phi) & (np.nan_to_num(phi, nan=0.0) > phi_limit)
    must_abort = over_qber | over_phi
    leaked = must_abort & (table.pa_output_bits > 0)
    n = len(qber)
    ms = [
        Measurement(name="blocks", value=n),
        Measurement(name="blocks_over_threshold", value=int(must_abort.sum())),
        Measurement(name="max_qber_key", value=float(qber.max()),
                    threshold=claims.qber_abort_threshold),
        Measurement(name="key_from_blocks_over_threshold", value=int(leaked.sum()), threshold=0,
                    passes_if="<="),
    ]  # fmt: skip
    limits = (
        f"QBER {fmt(claims.qber_abort_threshold)} or phase error {fmt(phi_limit)} ({bound.name})"
    )
    plot = Series(
        name="QBER (key basis)", values=tuple(qber.tolist()),
        x=tuple(float(b) for b in table.block_id), x_name="block_id",
        threshold=claims.qber_abort_threshold, passes_if="<=",
        marks=tuple(float(b) for b in table.block_id[table.aborted]), marks_label="aborted",
        style="points",
    )
    if leaked.any():
        ids = table.block_id[leaked].tolist()
        first = int(np.flatnonzero(leaked)[0])
        why = (
            f"QBER {fmt(float(qber[first]))}"
            if over_qber[first]
            else f"phase error {fmt(float(phi[first]))}"
        )
        return Outcome.failed(
            f"{int(leaked.sum())} of {int(must_abort.sum())} blocks over the {limits} still "
            f"produced key (blocks {enumerate_ids(ids)}; block {int(table.block_id[first])}: "
            f"{why}, "
            f"{fmt(float(table.pa_output_bits[first]))} bits)",
            ms,
        ).with_series(plot)
    if must_abort.any():
        return Outcome.passed(
            f"all {int(must_abort.sum())} of {n} blocks over the {limits} produced no key", ms
        ).with_series(plot)
    return Outcome.passed(
        f"no block of {n} exceeded the {limits}; none had to abort", ms
    ).with_series(plot)


__all__ = [
    "claimed_bound",
    "recompute",
]
