"""Protocol checks on post-processing records: EC leakage, privacy-amplification output, and
authentication.

* ``protocol.ec-leakage``: the leakage a block reports must cover what error correction disclosed,
  counted from the parity transcript when the bundle has one, otherwise bounded below by
  ``f_ec_min * n * h(Q)`` (a device that reports a nominal ``f n h(Q)`` instead of its counted
  parities under-reports; ``docs/methods/protocol-checks.md``).
* ``protocol.pa-output``: a key-producing block never outputs more bits than entered privacy
  amplification (nor more than it sifted), and never reuses a PA seed (leftover hash lemma with a
  seed independent of the key, Tomamichel et al. IEEE TIT 57 (2011) 5524).
* ``protocol.auth``: the Wegman-Carter forgery bound ``ceil(M/b) / 2^b`` of each tag is within the
  claimed ``eps_auth`` and every tag consumed at least ``b`` fresh key bits for its one-time pad
  (Wegman and Carter, JCSS 22 (1981) 265).

Block-records columns used: ``block_id``, ``aborted``, ``ec_leakage_bits``,
``key_detections_<k>``/``key_errors_<k>`` (or ``qber_key``), ``pa_input_bits``,
``pa_output_bits``, ``pa_seed_sha256``, ``auth_tag_bits``, ``auth_key_bits_consumed`` and,
optionally, ``auth_message_bits``. A parity-transcript slot has one row per message with
``block_id`` and ``parity_bits``; when it has one row per parity with the pass and range
(``pass_index_count``, ``start_bits``, ``end_bits``, as
:func:`evaltool.engines.protocol.cascade.cascade_reconcile` records them) a range disclosed twice
counts once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from evaltool.checks.outcome import Outcome, enumerate_ids, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.io.readers import BlockRecords

# --- protocol.ec-leakage ----------------------------------------------------------------------


class EcLeakageParams(CheckParams):
    """Parameters of ``protocol.ec-leakage``."""

    slot: str = Field(description="block-records slot")
    transcript_slot: str | None = Field(
        None, description="parity-transcript slot; without it the n h(Q) floor is used"
    )
    f_ec_min: float = Field(
        1.0, ge=1.0, le=2.0,
        description="least credible reconciliation efficiency when no transcript is given; 1.0 "
        "(the Shannon limit) flags only leakage no code can achieve, a profile may demand more "
        "(e.g. 1.05) when the device's code and frame length cannot come closer to the limit "
        "(Martinez-Mateo et al. QIC 15 (2015) 453)",
    )
    tolerance_bits: int = Field(0, ge=0, description="shortfall still accepted (rounding)")


def _key_sizes(blocks: BlockRecords) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sifted key bits and key-basis QBER of every block (from the counts, else ``qber_key``)."""
    if "key_detections" not in blocks.per_class:
        raise InsufficientDataError(
            f"slot {blocks.slot!r} has no key_detections_<k> columns: the sifted key length is "
            "unknown"
        )
    n = blocks.per_class["key_detections"].sum(axis=1)
    if "key_errors" in blocks.per_class:
        errors = blocks.per_class["key_errors"].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(n > 0, errors / np.where(n > 0, n, 1.0), 0.0)
    elif blocks.has("qber_key"):
        q = blocks.column("qber_key")
    else:
        raise InsufficientDataError(
            f"slot {blocks.slot!r} has neither key_errors_<k> nor qber_key: the QBER is unknown"
        )
    if np.any((q < 0) | (q > 1)):
        raise EvidenceError(f"slot {blocks.slot!r}: a key-basis error rate lies outside [0, 1]")
    return n, q


def _transcript_leakage(ctx: CheckContext, slot: str) -> dict[int, float]:
    """Bits disclosed per block: the distinct (pass, range) parities when the transcript lists
    them (a range disclosed twice counts once), else the sum of ``parity_bits``."""
    import pandas as pd

    tr = ctx.transcript(slot)
    if tr.ranges is not None:
        df = pd.DataFrame({"block_id": tr.block_id, "pass": tr.ranges[:, 0],
                           "start": tr.ranges[:, 1], "end": tr.ranges[:, 2]})
        counts = df.drop_duplicates().groupby("block_id").size()
    else:
        df = pd.DataFrame({"block_id": tr.block_id, "parity_bits": tr.parity_bits})
        counts = df.groupby("block_id")["parity_bits"].sum()
    return {int(k): float(v) for k, v in counts.items()}


@check(
    "protocol.ec-leakage",
    params=EcLeakageParams,
    ref="Martinez-Mateo et al. QIC 15 (2015) 453, Eq. (1)",
)
def ec_leakage(p: EcLeakageParams, ctx: CheckContext) -> Outcome:
    """Every key-producing block reports at least the error-correction leakage it disclosed."""
    from evaltool.engines.protocol.cascade import leakage_floor_bits

    blocks = ctx.blocks(p.slot)
    live = ~blocks.aborted
    if not live.any():
        return Outcome.not_applicable("every block aborted, so no leakage enters a key")
    ids = blocks.block_id[live]
    reported = blocks.ec_leakage_bits[live]
    if p.transcript_slot is not None:
        per_block = _transcript_leakage(ctx, p.transcript_slot)
        absent = [int(b) for b in ids if int(b) not in per_block]
        if absent:
            raise InsufficientDataError(
                f"the parity transcript has no entry for block(s) {enumerate_ids(absent)}"
            )
        implied = np.array([per_block[int(b)] for b in ids], dtype=np.float64)
        basis = "the parities listed in the transcript"
    else:
        n, q = _key_sizes(blocks)
        implied = leakage_floor_bits(n[live], q[live], p.f_ec_min)
        basis = f"f_ec_min * n * h(Q) with f_ec_min = {fmt(p.f_ec_min)}"
    shortfall = implied - reported
    under = shortfall > p.tolerance_bits
    worst = int(np.argmax(shortfall))
    ms = [
        Measurement(name="blocks", value=int(live.sum())),
        Measurement(name="under_reporting_blocks", value=int(under.sum()), threshold=0,
                    passes_if="<="),
        Measurement(name="worst_shortfall_bits", value=float(shortfall[worst]), unit="bit",
                    threshold=p.tolerance_bits, passes_if="<="),
        Measurement(name="worst_block_id", value=int(ids[worst])),
        Measurement(name="worst_block_reported_bits", value=float(reported[worst]), unit="bit"),
        Measurement(name="worst_block_implied_bits", value=float(implied[worst]), unit="bit"),
    ]  # fmt: skip
    if under.any():
        return Outcome.failed(
            f"{int(under.sum())} of {int(live.sum())} blocks report less EC leakage than "
            f"{basis} (blocks {enumerate_ids(ids[under].tolist())}); worst: block "
            f"{int(ids[worst])} "
            f"reported {fmt(float(reported[worst]))} bits, implied "
            f"{fmt(round(float(implied[worst]), 1))}, short by "
            f"{fmt(round(float(shortfall[worst]), 1))} bits",
            ms,
        )
    return Outcome.passed(
        f"all {int(live.sum())} non-aborted blocks report at least {basis} (smallest margin "
        f"{fmt(round(float(-shortfall[worst]), 1))} bits, block {int(ids[worst])})",
        ms,
    )


# --- protocol.pa-output -----------------------------------------------------------------------


class PaOutputParams(CheckParams):
    """Parameters of ``protocol.pa-output``."""

    slot: str = Field(description="block-records slot with pa_input_bits and pa_seed_sha256")


@check(
    "protocol.pa-output",
    params=PaOutputParams,
    ref="Tomamichel et al. IEEE TIT 57 (2011) 5524 (leftover hash lemma)",
)
def pa_output(p: PaOutputParams, ctx: CheckContext) -> Outcome:
    """Key-producing blocks output no more than their PA input and never reuse a PA seed."""
    blocks = ctx.blocks(p.slot)
    blocks.require(["pa_input_bits", "pa_seed_sha256"], "to audit privacy amplification")
    out_bits = blocks.pa_output_bits
    keyed = out_bits > 0
    if not keyed.any():
        return Outcome.not_applicable("no block produced key")
    ids = blocks.block_id[keyed]
    out_bits = out_bits[keyed]
    in_bits = blocks.column("pa_input_bits")[keyed]
    problems: list[str] = []
    too_long = out_bits > in_bits
    if too_long.any():
        problems.append(
            f"{int(too_long.sum())} blocks output more bits than entered privacy amplification "
            f"(blocks {enumerate_ids(ids[too_long].tolist())})"
        )
    over_sifted = np.zeros_like(too_long)
    if "key_detections" in blocks.per_class:
        sifted = blocks.per_class["key_detections"].sum(axis=1)[keyed]
        over_sifted = in_bits > sifted
        if over_sifted.any():
            problems.append(
                f"{int(over_sifted.sum())} blocks fed more bits into privacy amplification than "
                f"they sifted (blocks {enumerate_ids(ids[over_sifted].tolist())})"
            )
    seeds = np.array([("" if s is None else str(s)).strip().lower()
                      for s in blocks.column("pa_seed_sha256")[keyed]], dtype=object)
    blank = np.array([s == "" for s in seeds])
    if blank.any():
        problems.append(
            f"{int(blank.sum())} key-producing blocks record no PA seed hash "
            f"(blocks {enumerate_ids(ids[blank].tolist())})"
        )
    first_seen: dict[str, int] = {}
    reused: list[tuple[int, int]] = []
    for bid, seed in zip(ids.tolist(), seeds.tolist(), strict=True):
        if seed == "":
            continue
        if seed in first_seen:
            reused.append((first_seen[seed], bid))
        else:
            first_seen[seed] = bid
    if reused:
        pairs = ", ".join(f"{a} and {b}" for a, b in reused[:5])
        more = f" and {len(reused) - 5} more" if len(reused) > 5 else ""
        problems.append(f"{len(reused)} blocks reuse an earlier PA seed (blocks {pairs}{more})")
    ms = [
        Measurement(name="key_blocks", value=int(keyed.sum())),
        Measurement(name="output_exceeds_input_blocks", value=int(too_long.sum()), threshold=0,
                    passes_if="<="),
        Measurement(name="input_exceeds_sifted_blocks", value=int(over_sifted.sum()),
                    threshold=0, passes_if="<="),
        Measurement(name="reused_seed_blocks", value=len(reused), threshold=0, passes_if="<="),
        Measurement(name="missing_seed_blocks", value=int(blank.sum()), threshold=0,
                    passes_if="<="),
        Measurement(name="max_compression_ratio", value=float(np.max(out_bits / in_bits))),
    ]  # fmt: skip
    if problems:
        return Outcome.failed("; ".join(problems), ms)
    return Outcome.passed(
        f"all {int(keyed.sum())} key-producing blocks output at most their PA input (largest "
        f"ratio {fmt(round(float(np.max(out_bits / in_bits)), 4))}) with a distinct PA seed",
        ms,
    )


# --- protocol.auth ----------------------------------------------------------------------------


class AuthParams(CheckParams):
    """Parameters of ``protocol.auth``."""

    slot: str = Field(description="block-records slot with auth_tag_bits, auth_key_bits_consumed")
    message_bits: int | None = Field(
        None, gt=0,
        description="authenticated transcript length per tag, bits; default: the "
        "auth_message_bits column, else one block (a necessary condition only)",
    )
    tags_per_block: int = Field(
        1, ge=1, description="tags per block (2 when both directions are authenticated)"
    )


@check(
    "protocol.auth",
    params=AuthParams,
    ref="Wegman and Carter, JCSS 22 (1981) 265",
)
def auth(p: AuthParams, ctx: CheckContext) -> Outcome:
    """Tags meet the claimed eps_auth and each consumes fresh one-time-pad key (no reuse)."""
    from evaltool.engines.protocol.auth import forgery_bound

    blocks = ctx.blocks(p.slot)
    blocks.require(["auth_tag_bits", "auth_key_bits_consumed"], "to audit authentication")
    has_msg = blocks.has("auth_message_bits")
    tag_bits = blocks.column("auth_tag_bits")
    consumed = blocks.column("auth_key_bits_consumed")
    ids = blocks.block_id
    tagged = tag_bits > 0
    if not tagged.any():
        raise InsufficientDataError(f"no block in slot {p.slot!r} records an authentication tag")
    pad_needed = p.tags_per_block * tag_bits
    reuse = tagged & (consumed < pad_needed)
    ms = [
        Measurement(name="tagged_blocks", value=int(tagged.sum())),
        Measurement(name="shortest_tag_bits", value=float(tag_bits[tagged].min()), unit="bit"),
        Measurement(name="key_reuse_blocks", value=int(reuse.sum()), threshold=0,
                    passes_if="<="),
    ]  # fmt: skip
    problems: list[str] = []
    if reuse.any():
        w = int(np.argmax(np.where(reuse, pad_needed - consumed, -np.inf)))
        problems.append(
            f"{int(reuse.sum())} blocks consumed less key than their one-time pads need, so key "
            f"is reused (blocks {enumerate_ids(ids[reuse].tolist())}; block {int(ids[w])} consumed "
            f"{fmt(float(consumed[w]))} bits for {p.tags_per_block} tag(s) of "
            f"{fmt(float(tag_bits[w]))} bits)"
        )
    eps_auth = ctx.manifest.claims.eps_auth
    if eps_auth is None:
        if problems:
            return Outcome.failed("; ".join(problems), ms)
        raise InsufficientDataError(
            "the manifest claims no eps_auth, so the tag length cannot be judged (no key reuse "
            "found)"
        )
    if p.message_bits is not None:
        msg = np.full(tag_bits.shape, float(p.message_bits))
        msg_note = f"{p.message_bits}-bit messages"
    elif has_msg:
        msg = blocks.column("auth_message_bits")
        msg_note = "the logged message lengths"
    else:
        msg = np.zeros(tag_bits.shape)
        msg_note = "single-block messages (message length not logged: necessary condition only)"
    bound = np.where(tagged, forgery_bound(msg, np.maximum(tag_bits, 1.0)), 0.0)
    weak = tagged & (bound > eps_auth)
    worst = int(np.argmax(bound))
    ms += [
        Measurement(name="worst_forgery_bound", value=float(bound[worst]), threshold=eps_auth,
                    passes_if="<="),
        Measurement(name="weak_tag_blocks", value=int(weak.sum()), threshold=0, passes_if="<="),
    ]  # fmt: skip
    if weak.any():
        problems.append(
            f"{int(weak.sum())} blocks use tags whose forgery bound ceil(M/b)/2^b exceeds the "
            f"claimed eps_auth = {fmt(eps_auth)} for {msg_note} (blocks "
            f"{enumerate_ids(ids[weak].tolist())}; worst {fmt(float(bound[worst]))} at "
            f"{fmt(float(tag_bits[worst]))}-bit tags)"
        )
    if problems:
        return Outcome.failed("; ".join(problems), ms)
    return Outcome.passed(
        f"all {int(tagged.sum())} tagged blocks meet eps_auth = {fmt(eps_auth)} for {msg_note} "
        f"(worst bound {fmt(float(bound[worst]))}) and consume at least {p.tags_per_block} "
        f"fresh pad(s) of tag length",
        ms,
    )
