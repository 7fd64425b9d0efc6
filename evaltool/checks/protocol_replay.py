"""Transcript replay: the reference protocol re-executes the module's classical post-processing
from a captured transcript and compares every intermediate result bit for bit.

One kind per step (``docs/methods/protocol-checks.md``, "Transcript replay"), each reading a
``post-processing-transcript`` slot (``docs/transcript-format.md``) one block at a time through
the kind's reader, and the block records where the step reports a number:

* ``protocol.replay-sifting``: the kept rounds follow from the bases and detections, and the kept
  bits sit at their announced positions of the sifted keys;
* ``protocol.replay-estimation``: the revealed values are the sifted keys' bits, the QBER each end
  reported is the recomputed one, and the revealed bits left the key;
* ``protocol.replay-ec``: every disclosed Cascade parity is right, the distinct disclosures (BINARY
  and back-tracking included) are at most the ``ec_leakage_bits`` the block reports, and Bob's
  corrected key equals Alice's in a delivered block;
* ``protocol.replay-verification``: both tags recomputed, the decision follows the tags, and the
  collision bound is within the claimed ``eps_cor``;
* ``protocol.replay-pa``: the final key is the Toeplitz hash of the corrected key with the
  announced seed, its length is the block's ``pa_output_bits``, and no seed recurs;
* ``protocol.replay-auth``: every genuine tag verifies with the test-mode key pool, no pool bit is
  used twice as a pad, and every message the lab injected (replayed, modified) was rejected.

A step the capture lacks for a delivered block makes the check inconclusive, never a pass; a
disagreement in any block fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from evaltool.checks.outcome import Outcome, enumerate_ids, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.model.results import Measurement

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.protocol.replay import Mismatch
    from evaltool.io.readers import BlockRecords
    from evaltool.io.readers.replay_view import BlockTranscript, PostProcessingTranscript


class ReplayParams(CheckParams):
    """Parameters shared by the replay checks."""

    transcript_slot: str = Field(description="post-processing-transcript slot")
    slot: str | None = Field(
        None, description="block-records slot; when given, every transcript block must be in it")


class ReplayRecordsParams(ReplayParams):
    """Parameters of a replay check that compares with the block records."""

    slot: str = Field(description="block-records slot (the values the module reported)")


@dataclass
class _Tally:
    """What the replay of one step found over the blocks."""

    step: str
    blocks: int = 0
    replayed: int = 0
    missing: list[int] = field(default_factory=list)
    """Delivered blocks whose capture lacks the step."""
    aborted_skipped: int = 0
    failing: list[tuple[int, Mismatch]] = field(default_factory=list)
    """(block id, first mismatch) of every block that disagrees."""

    def add(self, block_id: int, mismatches: tuple[Mismatch, ...]) -> None:
        self.replayed += 1
        if mismatches:
            self.failing.append((block_id, mismatches[0]))


_STEP_NAMES = {"sifting": "sifting", "estimation": "parameter estimation",
               "ec": "error correction", "verification": "error verification",
               "pa": "privacy amplification", "auth": "authentication"}
"""The steps of :class:`~evaltool.io.readers.replay_view.Step` as the outcomes name them."""


def _blocks(view: PostProcessingTranscript, records: BlockRecords | None, step: str
            ) -> Iterator[tuple[BlockTranscript, int | None]]:
    """Each block (only ``step`` and the keys it is replayed from read) with its row in the
    block records (None without records)."""
    from evaltool.io.readers.replay_view import Step

    rows = {} if records is None else {int(b): i for i, b in enumerate(records.block_id.tolist())}
    for bt in view.blocks(frozenset({Step(step)})):
        row = rows.get(int(bt.block_id)) if records is not None else None
        if records is not None and row is None:
            raise EvidenceError(f"block {bt.block_id} of the transcript is not in the block "
                                f"records (slot {records.slot!r})", path=view.display)
        yield bt, row


def _records(ctx: CheckContext, slot: str | None) -> BlockRecords | None:
    return None if slot is None else ctx.blocks(slot)


def _decide(t: _Tally, extra: list[Measurement], passed_detail: str) -> Outcome:
    """Fail on any disagreement; inconclusive when a delivered block lacks the step or nothing
    was replayed; pass otherwise."""
    first = t.failing[0] if t.failing else None
    ms = [
        Measurement(name="blocks", value=t.blocks),
        Measurement(name="blocks_replayed", value=t.replayed),
        Measurement(name="blocks_missing_step", value=len(t.missing)),
        Measurement(name="mismatching_blocks", value=len(t.failing), threshold=0,
                    passes_if="<="),
        Measurement(name="first_failing_block", value=None if first is None else first[0]),
        *extra,
    ]  # fmt: skip
    if first is not None:
        bid, mm = first
        ids = [b for b, _ in t.failing]
        return Outcome.failed(
            f"the {t.step} of {len(ids)} of {t.replayed} replayed blocks disagrees with the "
            f"reference (blocks {enumerate_ids(ids)}); first: block {bid}, field {mm.field}: "
            f"{mm.detail}", ms)
    if t.missing:
        return Outcome.inconclusive(
            f"the capture lacks the {t.step} of {len(t.missing)} delivered blocks (blocks "
            f"{enumerate_ids(t.missing)}); the {t.replayed} others replay bit for bit", ms)
    if t.replayed == 0:
        if t.blocks and t.aborted_skipped == t.blocks:
            return Outcome.not_applicable(f"every block aborted before its {t.step}")
        return Outcome.inconclusive(f"the transcript holds no {t.step} to replay", ms)
    return Outcome.passed(f"the {t.step} of all {t.replayed} replayed blocks agrees with the "
                          f"reference{passed_detail}", ms)


def _walk(ctx: CheckContext, p: ReplayParams, step: str,
          fn: Callable[[BlockTranscript, int | None], tuple[Mismatch, ...] | None],
          records: BlockRecords | None = None) -> _Tally:
    """Replay ``fn`` on every block; ``fn`` returns None when the block lacks the step."""
    view = ctx.post_processing(p.transcript_slot)
    if records is None:
        records = _records(ctx, p.slot)
    t = _Tally(_STEP_NAMES[step])
    for bt, row in _blocks(view, records, step):
        t.blocks += 1
        found = fn(bt, row)
        if found is None:
            if bt.delivered:
                t.missing.append(int(bt.block_id))
            else:
                t.aborted_skipped += 1
            continue
        t.add(int(bt.block_id), found)
    return t


# --- protocol.replay-sifting --------------------------------------------------------------------


class ReplaySiftingParams(ReplayParams):
    """Parameters of ``protocol.replay-sifting``."""

    key_basis: int | None = Field(
        None, ge=0, le=1,
        description="keep only rounds in this basis (efficient BB84 whose sifted key is the key "
        "basis); default: every round with matching bases")


@check("protocol.replay-sifting", params=ReplaySiftingParams,
       ref="Bennett and Brassard 1984; ISO/IEC 23837-1 §6 (sifting)")
def replay_sifting(p: ReplaySiftingParams, ctx: CheckContext) -> Outcome:
    """The sifting announcement and the sifted keys follow from the sampled rounds."""
    from evaltool.engines.protocol.replay import replay_sifting as engine

    rounds = [0, 0]

    def one(bt: BlockTranscript, _: int | None) -> tuple[Mismatch, ...] | None:
        s = bt.sifting
        if s is None or bt.sifted_alice is None or bt.sifted_bob is None:
            return None
        r = engine(s.rounds, s.alice_basis, s.alice_bit, s.bob_detected, s.bob_basis, s.bob_bit,
                   s.kept, s.sifted_position, bt.sifted_alice, bt.sifted_bob,
                   key_basis=p.key_basis)
        rounds[0] += r.rounds
        rounds[1] += r.kept
        return r.mismatches

    t = _walk(ctx, p, "sifting", one)
    return _decide(t, [Measurement(name="rounds_replayed", value=rounds[0]),
                       Measurement(name="rounds_kept", value=rounds[1])],
                   f" ({rounds[0]} sampled rounds, {rounds[1]} kept)")


# --- protocol.replay-estimation -----------------------------------------------------------------


class ReplayEstimationParams(ReplayParams):
    """Parameters of ``protocol.replay-estimation``."""

    qber_tolerance: float = Field(
        1e-9, ge=0.0, le=0.01,
        description="largest accepted difference between a reported and the recomputed QBER "
        "(rounding of the reported value)")


@check("protocol.replay-estimation", params=ReplayEstimationParams,
       ref="ISO/IEC 23837-1 §6 (parameter estimation); Lim et al. PRA 89 022307 (2014) §II")
def replay_estimation(p: ReplayEstimationParams, ctx: CheckContext) -> Outcome:
    """The revealed bits, the reported QBER and the key entering error correction replay."""
    from evaltool.engines.protocol.replay import replay_estimation as engine

    acc = {"revealed": 0, "worst": 0.0}

    def one(bt: BlockTranscript, _: int | None) -> tuple[Mismatch, ...] | None:
        e = bt.estimation
        if e is None or bt.sifted_alice is None or bt.sifted_bob is None:
            return None
        r = engine(bt.sifted_alice, bt.sifted_bob, e.positions, e.alice_values, e.bob_values,
                   e.qber_alice, e.qber_bob, bt.reconciled_alice, bt.reconciled_bob,
                   qber_tolerance=p.qber_tolerance)
        acc["revealed"] += r.revealed
        if np.isfinite(r.qber):
            acc["worst"] = max(acc["worst"], abs(r.qber_alice - r.qber),
                               abs(r.qber_bob - r.qber))
        return r.mismatches

    t = _walk(ctx, p, "estimation", one)
    return _decide(t, [
        Measurement(name="revealed_bits", value=acc["revealed"], unit="bit"),
        Measurement(name="max_qber_difference", value=acc["worst"], threshold=p.qber_tolerance,
                    passes_if="<="),
    ], f" ({acc['revealed']} revealed bits; reported QBERs within {fmt(acc['worst'])})")


# --- protocol.replay-ec -------------------------------------------------------------------------


class ReplayEcParams(ReplayRecordsParams):
    """Parameters of ``protocol.replay-ec``."""

    tolerance_bits: int = Field(0, ge=0, description="leakage shortfall still accepted")
    engine_max_bits: int = Field(
        1_000_000, ge=0,
        description="frames up to this length are also reconciled by the reference Cascade "
        "engine and its disclosures compared (0: never)")
    strict_reference: bool = Field(
        False, description="fail when the module disclosed other ranges than the reference "
        "engine would on the same frame (default: reported only)")


def _from_bob(from_bob: NDArray[np.bool_]) -> NDArray[np.bool_] | None:
    """True for the messages Bob sent; None when Alice sent all (the usual Cascade transcript)."""
    return from_bob if bool(from_bob.any()) else None


@check("protocol.replay-ec", params=ReplayEcParams,
       ref="Martinez-Mateo et al. QIC 15 (2015) 453; Brassard and Salvail, EUROCRYPT 1993")
def replay_ec(p: ReplayEcParams, ctx: CheckContext) -> Outcome:
    """Every disclosed Cascade parity replays, and the reported leakage covers all of them."""
    from evaltool.engines.protocol.replay import Mismatch as Mm
    from evaltool.engines.protocol.replay import replay_cascade

    records = ctx.blocks(p.slot)
    acc = {"messages": 0, "disclosed": 0, "reported": 0, "worst": -np.inf, "engine": 0,
           "engine_differs": 0}
    display = ctx.post_processing(p.transcript_slot).display

    def one(bt: BlockTranscript, row: int | None) -> tuple[Mismatch, ...] | None:
        ec = bt.ec
        if ec is None or bt.reconciled_alice is None or bt.corrected_bob is None:
            return None
        r = replay_cascade(
            bt.reconciled_alice, ec.pass_index, ec.start, ec.end, ec.parity,
            frame_seed=ec.frame_seed, variant=ec.variant, qber_used=ec.qber_used,
            permutations=ec.permutations,
            sender_bob=_from_bob(ec.from_bob),
            reconciled_bob=bt.reconciled_bob, corrected_alice=bt.corrected_alice,
            corrected_bob=bt.corrected_bob, delivered=bt.delivered,
            engine_max_bits=p.engine_max_bits)
        if r.out_of_range:
            raise EvidenceError(f"block {bt.block_id}: {r.out_of_range} Cascade messages name a "
                                f"range outside the {r.n}-bit key (field start/end)",
                                path=display)
        assert row is not None
        reported = int(records.ec_leakage_bits[row])
        found = list(r.mismatches)
        shortfall = r.disclosed_bits - reported
        acc["messages"] += r.messages
        acc["disclosed"] += r.disclosed_bits
        acc["reported"] += reported
        acc["worst"] = max(acc["worst"], shortfall)
        if shortfall > p.tolerance_bits:
            found.insert(0, Mm("ec_leakage_bits", 1, -1,
                               f"{r.disclosed_bits} distinct parities disclosed, "
                               f"{reported} reported (short by {shortfall} bits)"))
        if r.engine_agrees is not None:
            acc["engine"] += 1
            if not r.engine_agrees:
                acc["engine_differs"] += 1
                if p.strict_reference:
                    found.append(Mm("ranges", 1, -1,
                                    f"the reference engine discloses {r.engine_leaked_bits} "
                                    f"parities on this frame, the module {r.disclosed_bits}, "
                                    "over other ranges"))
        return tuple(found)

    t = _walk(ctx, p, "ec", one, records)
    worst = None if t.replayed == 0 else float(acc["worst"])
    ms = [
        Measurement(name="messages", value=acc["messages"]),
        Measurement(name="bits_disclosed", value=acc["disclosed"], unit="bit"),
        Measurement(name="bits_reported", value=acc["reported"], unit="bit"),
        Measurement(name="worst_shortfall_bits", value=worst, unit="bit",
                    threshold=p.tolerance_bits, passes_if="<="),
        Measurement(name="engine_compared_blocks", value=acc["engine"]),
        Measurement(name="engine_differing_blocks", value=acc["engine_differs"]),
    ]  # fmt: skip
    note = (f" ({acc['disclosed']} parities disclosed, {acc['reported']} bits reported; the "
            f"reference engine disclosed the same ranges in {acc['engine'] - acc['engine_differs']}"
            f" of {acc['engine']} rerun blocks)")
    return _decide(t, ms, note)


# --- protocol.replay-verification ---------------------------------------------------------------


@check("protocol.replay-verification", params=ReplayParams,
       ref="Lim et al. PRA 89 022307 (2014) §II (eps_cor); Carter and Wegman, JCSS 18 (1979) 143")
def replay_verification(p: ReplayParams, ctx: CheckContext) -> Outcome:
    """Both verification tags recompute, the decision follows them, and t >= log2(1/eps_cor)."""
    from evaltool.engines.protocol.replay import replay_verification as engine

    eps_cor = ctx.manifest.claims.eps_cor
    acc: dict[str, float] = {"shortest": np.inf, "worst": 0.0}

    def one(bt: BlockTranscript, _: int | None) -> tuple[Mismatch, ...] | None:
        v = bt.verification
        if v is None or bt.corrected_alice is None or bt.corrected_bob is None:
            return None
        r = engine(bt.corrected_alice, bt.corrected_bob, family=v.family, seed=v.seed,
                   tag_alice=v.tag_alice, tag_bob=v.tag_bob, accepted=v.accepted,
                   eps_cor=eps_cor)
        acc["shortest"] = min(acc["shortest"], r.tag_bits)
        if np.isfinite(r.collision_bound):
            acc["worst"] = max(acc["worst"], r.collision_bound)
        return r.mismatches

    t = _walk(ctx, p, "verification", one)
    shortest = None if not np.isfinite(acc["shortest"]) else acc["shortest"]
    return _decide(t, [
        Measurement(name="shortest_tag_bits", value=shortest, unit="bit"),
        Measurement(name="worst_collision_bound", value=acc["worst"], threshold=eps_cor,
                    passes_if="<="),
    ], f" (shortest tag {fmt(shortest)} bits, collision bound at most {fmt(acc['worst'])} <= "
       f"eps_cor = {fmt(eps_cor)})")


# --- protocol.replay-pa -------------------------------------------------------------------------


SEED_WINDOW_BITS = 256
"""A PA seed sharing its first or its last 256 bits with an earlier block's seed is a reused
seed (two independent uniform seeds agree there with probability 2^-256)."""


def _seed_seen(seen: dict[bytes, int], seed: NDArray[np.uint8], block_id: int) -> int | None:
    """The earlier block whose seed shares the first or last :data:`SEED_WINDOW_BITS` bits with
    ``seed`` (a seed reused whole, truncated or extended), else None; records ``seed``."""
    w = min(SEED_WINDOW_BITS, int(seed.size))
    keys = (b"head" + np.packbits(seed[:w]).tobytes() + w.to_bytes(2, "big"),
            b"tail" + np.packbits(seed[seed.size - w:]).tobytes() + w.to_bytes(2, "big"))
    earlier = next((seen[k] for k in keys if k in seen), None)
    for k in keys:
        seen.setdefault(k, block_id)
    return earlier


@check("protocol.replay-pa", params=ReplayRecordsParams,
       ref="Krawczyk, CRYPTO 1994; Tomamichel et al. IEEE TIT 57 (2011) 5524")
def replay_pa(p: ReplayRecordsParams, ctx: CheckContext) -> Outcome:
    """The final key is the Toeplitz hash of the corrected key with a fresh seed, as reported.

    Compared bit for bit (or by SHA-256 when only that was exported); its length must be the
    block's ``pa_output_bits``, and no seed may share its first or last 256 bits with an earlier
    block's seed.
    """
    from evaltool.engines.protocol.replay import Mismatch as Mm
    from evaltool.engines.protocol.replay import replay_pa as engine

    records = ctx.blocks(p.slot)
    seen: dict[bytes, int] = {}
    acc = {"bits": 0, "reused": 0}

    def one(bt: BlockTranscript, row: int | None) -> tuple[Mismatch, ...] | None:
        if not bt.delivered:
            return None
        pa = bt.pa
        if pa is None or bt.corrected_alice is None:
            return None
        r = engine(bt.corrected_alice, family=pa.family, seed=pa.seed,
                   input_bits=pa.input_bits, output_bits=pa.output_bits, output=pa.output,
                   output_sha256=pa.output_sha256)
        found = list(r.mismatches)
        assert row is not None
        reported = int(records.pa_output_bits[row])
        if reported != pa.output_bits:
            found.append(Mm("output_bits", 1, -1, f"{pa.output_bits} output bits, the block "
                            f"records report {reported}"))
        earlier = _seed_seen(seen, pa.seed, int(bt.block_id))
        if earlier is not None:
            acc["reused"] += 1
            found.append(Mm("seed", 1, -1, f"the seed of block {earlier} is used again"))
        acc["bits"] += r.input_bits
        return tuple(found)

    t = _walk(ctx, p, "pa", one, records)
    return _decide(t, [
        Measurement(name="bits_hashed", value=acc["bits"], unit="bit"),
        Measurement(name="reused_seed_blocks", value=acc["reused"], threshold=0, passes_if="<="),
    ], f" ({acc['bits']} key bits hashed, every seed fresh)")


# --- protocol.replay-auth -----------------------------------------------------------------------


AUTH_ASPECTS: dict[str, frozenset[str]] = {
    "tags": frozenset({"tag_bits", "tag", "accepted"}),
    "pads": frozenset({"pad_offset"}),
    "replayed": frozenset({"injected"}),
    "modified": frozenset({"injected"}),
}
"""What ``protocol.replay-auth`` decides, by aspect: genuine tags recomputed and accepted
(FCS_COP.1/AUTH), no pool bit used twice as a pad (FCS_COP.1/AUTH, one-time key), replayed
messages rejected (FPT_RPL.1), modified messages rejected (FDP_ITT.1, FPT_ITT.1)."""


class ReplayAuthParams(ReplayParams):
    """Parameters of ``protocol.replay-auth``."""

    aspects: tuple[Literal["tags", "pads", "replayed", "modified"], ...] = Field(
        ("tags", "pads", "replayed", "modified"), min_length=1,
        description="what the check decides: `tags` (genuine tags verify and are accepted), "
        "`pads` (no key-pool bit used twice), `replayed` and `modified` (every message the lab "
        "injected, replayed or modified, rejected)")


@check("protocol.replay-auth", params=ReplayAuthParams,
       ref="Wegman and Carter, JCSS 22 (1981) 265; CC:2022 Part 2 FPT_RPL.1")
def replay_auth(p: ReplayAuthParams, ctx: CheckContext) -> Outcome:
    """Genuine tags verify with the key pool, no pad is reused, injected messages are rejected."""
    from evaltool.engines.protocol.replay import PadLedger
    from evaltool.engines.protocol.replay import replay_auth as engine
    from evaltool.io.readers.replay_view import Injection

    view = ctx.post_processing(p.transcript_slot)
    pool = view.auth_pool
    if pool is None:
        raise InsufficientDataError(
            f"the transcript {view.display} exports no authentication key pool, so no tag can be "
            "recomputed")
    decided = frozenset().union(*(AUTH_ASPECTS[a] for a in p.aspects))
    ledger = PadLedger()
    acc = {"messages": 0, "injected": 0, "unverifiable": 0}
    unverifiable: list[int] = []

    def one(bt: BlockTranscript, _: int | None) -> tuple[Mismatch, ...] | None:
        a = bt.auth
        if a is None:
            return None
        # injected messages of a kind not decided here are left out of the replay
        keep = np.array([Injection(i) is Injection.NONE or Injection(i).value in p.aspects
                         for i in a.injected], dtype=bool)
        picked = [i for i, k in enumerate(keep) if k]
        r = engine(tag_bits=a.tag_bits, seq=a.seq[keep], payloads=[a.payload[i] for i in picked],
                   tags=[a.tag[i] for i in picked], hash_key_offset=a.hash_key_offset[keep],
                   pad_offset=a.pad_offset[keep],
                   injected=[a.injected[i] != Injection.NONE for i in picked],
                   accepted=a.accepted[keep], pool_offset=pool.offset, pool_bits=pool.bits,
                   ledger=ledger, block=int(bt.block_id))
        acc["messages"] += r.messages
        acc["injected"] += r.injected
        if r.unverifiable and "tags" in p.aspects:
            unverifiable.append(int(bt.block_id))
        return tuple(m for m in r.mismatches if m.field in decided)

    t = _walk(ctx, p, "auth", one)
    if not t.failing and unverifiable:
        t.missing.extend(unverifiable)
    return _decide(t, [
        Measurement(name="messages", value=acc["messages"]),
        Measurement(name="injected_messages", value=acc["injected"]),
    ], f" ({acc['messages']} messages; {_auth_summary(p.aspects, acc['injected'])})")


def _auth_summary(aspects: tuple[str, ...], injected: int) -> str:
    said = {"tags": "every genuine tag verifies", "pads": "no pad reused"}
    kinds = " or ".join(a for a in ("replayed", "modified") if a in aspects)
    parts = [said[a] for a in ("tags", "pads") if a in aspects]
    if kinds:
        parts.append(f"{injected} injected ({kinds}) ones rejected")
    return ", ".join(parts)
