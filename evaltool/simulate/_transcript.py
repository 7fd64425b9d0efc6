"""Post-processing transcripts of a simulated module: the reference protocol run on simulated raw
keys (honest), and the six faulty modules derived from it.

:func:`reference_post_processing` runs, per block, the engines of
:mod:`evaltool.engines.protocol` in order: BB84 sifting of simulated rounds, parameter estimation
on a random sample of the sifted key, Cascade, Toeplitz error verification, Toeplitz privacy
amplification, and Wegman-Carter authentication of every step's classical message (with one
replayed and one modified message injected per block, both rejected), and captures everything as
the :class:`~evaltool.io.readers.replay_view.BlockTranscript` view the replay checks consume.
Because the same engines run, an honest transcript replays bit for bit.

Each fault is a pure function of an honest :class:`ReferenceRun` that changes one thing
(``docs/methods/protocol-checks.md``, "Transcript replay"):

========================  =====================================================================
``truncated-pa``          the final key is a prefix of the corrected key, not its hash
``reused-pa-seed``        every block hashes with (a prefix of) the first block's seed
``hidden-ec-parities``    the reported leakage counts the top-level parities only, not BINARY
``skipped-verification``  both verification tags are zeros and the block is accepted
``auth-key-reuse``        blocks after the first reuse the first block's one-time pads
``replay-accepted``       the receiver accepts the replayed message injected in the first block
========================  =====================================================================
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evaltool.engines.protocol import auth as wc
from evaltool.engines.protocol.cascade import cascade_block_sizes, cascade_reconcile
from evaltool.engines.protocol.replay import bits_sha256
from evaltool.engines.protocol.toeplitz import toeplitz_hash
from evaltool.engines.protocol.verification import verification_tag_bits
from evaltool.io.readers.replay_view import (
    AuthKeyPool,
    AuthMessages,
    BlockTranscript,
    EcMessages,
    EcProtocol,
    EstimationRecord,
    Injection,
    Party,
    PrivacyAmplificationRecord,
    SiftingRecord,
    VerificationRecord,
)

__all__ = [
    "FAULTS",
    "BlockRecord",
    "ReferenceRun",
    "reference_post_processing",
]

Bits = NDArray[np.uint8]

STEPS = ("sifting", "estimation", "ec", "verification", "pa")
"""The classical messages authenticated per block, one per step, in order."""


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """The block-records row the module reports for a block (``docs/bundle-format.md``)."""

    block_id: int
    time_s: float
    sifted_bits: int
    ec_leakage_bits: int
    verification_hash_bits: int
    pa_input_bits: int
    pa_output_bits: int
    aborted: int
    qber_key: float
    pa_seed_sha256: str
    auth_tag_bits: int
    auth_key_bits_consumed: int
    key_id: str


@dataclass(frozen=True, slots=True)
class ReferenceRun:
    """Transcripts, the authentication pool and the block records of a simulated capture."""

    blocks: tuple[BlockTranscript, ...]
    auth_pool: AuthKeyPool
    records: tuple[BlockRecord, ...]

    def records_columns(self) -> dict[str, list[object]]:
        """The block records column by column (``key_detections_0`` is the sifted length)."""
        cols: dict[str, list[object]] = {}
        for r in self.records:
            for f in dataclasses.fields(r):
                name = "key_detections_0" if f.name == "sifted_bits" else f.name
                cols.setdefault(name, []).append(getattr(r, f.name))
        return cols


def _ro(a: NDArray[np.generic]) -> NDArray[np.generic]:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _bits(a: NDArray[np.generic]) -> Bits:
    out: Bits = _ro(np.asarray(a, dtype=np.uint8))  # type: ignore[assignment]
    return out


def _idx(a: NDArray[np.generic]) -> NDArray[np.int64]:
    out: NDArray[np.int64] = _ro(np.asarray(a, dtype=np.int64))  # type: ignore[assignment]
    return out


def _payload(step: str, block_id: int, *arrays: NDArray[np.generic]) -> bytes:
    """The bytes of one classical message: step name, block id, then the packed arrays."""
    head = f"{step}:{block_id}:".encode()
    body = b"".join(np.packbits(np.asarray(a, dtype=np.uint8) & 1).tobytes()
                    if a.dtype == np.uint8 else np.asarray(a, dtype="<i8").tobytes()
                    for a in arrays)
    return head + body


def reference_post_processing(
    rng: np.random.Generator,
    n_rounds: int,
    qber: float,
    *,
    blocks: int = 3,
    p_detect: float = 0.5,
    sample_rounds: int = 2000,
    estimation_fraction: float = 0.1,
    variant: str = "original",
    eps_cor: float = 1e-15,
    auth_tag_bits: int = 64,
    first_block_id: int = 0,
) -> ReferenceRun:
    """Run the reference post-processing on ``blocks`` blocks of ``n_rounds`` simulated rounds.

    Rounds: uniform bits and bases at Alice, a detection with probability ``p_detect``, Bob's
    basis uniform, his bit Alice's flipped with probability ``qber`` when the bases agree and
    uniform otherwise. The capture keeps ``sample_rounds`` random rounds for the sifting record
    (all when ``n_rounds`` is smaller). The PA output length is half of what remains of the
    corrected key after the disclosed parities and the verification tag (a simulation choice,
    not a finite-key bound). A block whose verification fails aborts (no PA step, no key).
    """
    b = auth_tag_bits
    pool_bits = rng.integers(0, 2, b * (1 + len(STEPS) * blocks), dtype=np.uint8)
    pool = wc.AuthKeyPool(pool_bits)
    mac = wc.WegmanCarterAuthenticator(bits=b, pool=pool)
    out: list[BlockTranscript] = []
    records: list[BlockRecord] = []
    round_id = 0
    for i in range(blocks):
        bid = first_block_id + i
        ab = rng.integers(0, 2, n_rounds, dtype=np.uint8)
        abit = rng.integers(0, 2, n_rounds, dtype=np.uint8)
        det = (rng.random(n_rounds) < p_detect).astype(np.uint8)
        bb = rng.integers(0, 2, n_rounds, dtype=np.uint8)
        same = ab == bb
        flip = (rng.random(n_rounds) < qber).astype(np.uint8)
        bbit = np.where(same, abit ^ flip, rng.integers(0, 2, n_rounds, dtype=np.uint8))
        bbit = np.where(det == 1, bbit, 0).astype(np.uint8)
        kept = ((det == 1) & same).astype(np.uint8)
        position = np.where(kept == 1, np.cumsum(kept, dtype=np.int64) - 1, -1)
        sifted_a, sifted_b = abit[kept == 1], bbit[kept == 1]
        sample = np.sort(rng.choice(n_rounds, min(sample_rounds, n_rounds), replace=False))
        sifting = SiftingRecord(
            rounds=_idx(sample), alice_basis=_bits(ab[sample]), alice_bit=_bits(abit[sample]),
            bob_detected=_bits(det[sample]), bob_basis=_bits(bb[sample]),
            bob_bit=_bits(bbit[sample]), kept=_bits(kept[sample]),
            sifted_position=_idx(position[sample]))
        n_sift = int(sifted_a.size)
        m = max(1, round(estimation_fraction * n_sift))
        positions = np.sort(rng.choice(n_sift, m, replace=False))
        q_est = float(np.count_nonzero(sifted_a[positions] != sifted_b[positions]) / m)
        estimation = EstimationRecord(
            positions=_idx(positions), alice_values=_bits(sifted_a[positions]),
            bob_values=_bits(sifted_b[positions]), qber_alice=q_est, qber_bob=q_est)
        rec_a, rec_b = np.delete(sifted_a, positions), np.delete(sifted_b, positions)
        n = int(rec_a.size)
        q_used = min(max(q_est, 1e-3), 0.25)
        frame_seed = int(rng.integers(0, 2**63))
        ec = cascade_reconcile(rec_a, rec_b, qber=q_used, algorithm=variant, seed=frame_seed,
                               record_transcript=True)
        tr = ec.transcript
        rows = tr.shape[0]
        ec_messages = EcMessages(
            protocol=EcProtocol.CASCADE, variant=variant, frame_seed=frame_seed,
            qber_used=q_used, seq=_idx(np.arange(rows)), from_bob=np.zeros(rows, dtype=bool),
            pass_index=_idx(tr[:, 0]), start=_idx(tr[:, 1]), end=_idx(tr[:, 2]),
            parity=_bits(tr[:, 3]), permutations=None)
        t = verification_tag_bits(n, eps_cor)
        v_seed = rng.integers(0, 2, n + t - 1, dtype=np.uint8)
        tag_a = toeplitz_hash(rec_a, v_seed, t).output
        tag_b = toeplitz_hash(ec.corrected, v_seed, t).output
        accepted = bool(np.array_equal(tag_a, tag_b))
        verification = VerificationRecord(family="toeplitz", seed=_bits(v_seed),
                                          tag_alice=_bits(tag_a), tag_bob=_bits(tag_b),
                                          accepted=accepted)
        ell = max(1, int(0.5 * (n - ec.leaked_bits - t)))
        pa_seed = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
        pa = None
        final = None
        if accepted:
            final = toeplitz_hash(rec_a, pa_seed, ell).output
            pa = PrivacyAmplificationRecord(family="toeplitz", seed=_bits(pa_seed), input_bits=n,
                                            output_bits=ell, output=_bits(final),
                                            output_sha256=bits_sha256(final))
        payloads = [
            _payload("sifting", bid, kept),
            _payload("estimation", bid, positions, sifted_a[positions], sifted_b[positions]),
            _payload("ec", bid, tr[:, :3], tr[:, 3].astype(np.uint8)),
            _payload("verification", bid, v_seed, tag_a, tag_b),
            _payload("pa", bid, pa_seed),
        ][: len(STEPS) if accepted else len(STEPS) - 1]
        before = pool.consumed_bits
        tags: list[int] = []
        pads: list[int] = []
        for p in payloads:
            at = mac.tag(p, round_id=round_id)
            round_id += 1
            tags.append(at.tag)
            pads.append(at.otp_offset)
        hash_key = next(s.offset for s in pool.ledger if s.purpose.startswith("hash key"))
        # The lab injects the block's first message again (tag and all), and that message with
        # one byte changed and its tag kept; the receiver must reject both.
        modified = bytearray(payloads[0])
        modified[-1] ^= 0x01
        genuine = len(payloads)
        all_payloads = (*payloads, payloads[0], bytes(modified))
        auth_messages = AuthMessages(
            tag_bits=b, seq=_idx(np.arange(genuine + 2)),
            sender=(Party.ALICE,) * (genuine + 2), payload=all_payloads,
            tag=(*tags, tags[0], tags[0]),
            hash_key_offset=_idx(np.full(genuine + 2, hash_key)),
            pad_offset=_idx(np.array([*pads, pads[0], pads[0]])),
            injected=(Injection.NONE,) * genuine + (Injection.REPLAYED, Injection.MODIFIED),
            accepted=_bits(np.array([1] * genuine + [0, 0])))
        key_ids = (f"key-{bid:06d}",) if accepted else ()
        out.append(BlockTranscript(
            block_id=bid, sifted_alice=_bits(sifted_a), sifted_bob=_bits(sifted_b),
            reconciled_alice=_bits(rec_a), reconciled_bob=_bits(rec_b),
            corrected_alice=_bits(rec_a), corrected_bob=_bits(ec.corrected), sifting=sifting,
            estimation=estimation, ec=ec_messages, verification=verification, pa=pa,
            auth=auth_messages, delivered=accepted, key_ids=key_ids))
        records.append(BlockRecord(
            block_id=bid, time_s=float(i + 1), sifted_bits=n_sift,
            ec_leakage_bits=int(ec.leaked_bits), verification_hash_bits=t, pa_input_bits=n,
            pa_output_bits=ell if accepted else 0, aborted=0 if accepted else 1, qber_key=q_est,
            pa_seed_sha256=bits_sha256(pa_seed), auth_tag_bits=b,
            auth_key_bits_consumed=pool.consumed_bits - before,
            key_id=key_ids[0] if key_ids else ""))
    return ReferenceRun(blocks=tuple(out), auth_pool=AuthKeyPool(offset=0, bits=_bits(pool_bits)),
                        records=tuple(records))


# --- the faulty modules ---------------------------------------------------------------------------


def _with_blocks(run: ReferenceRun, blocks: list[BlockTranscript],
                 records: list[BlockRecord] | None = None) -> ReferenceRun:
    return dataclasses.replace(run, blocks=tuple(blocks),
                               records=run.records if records is None else tuple(records))


def truncated_pa(run: ReferenceRun) -> ReferenceRun:
    """The final key is the first ``ell`` bits of the corrected key instead of its hash."""
    blocks = []
    for bt in run.blocks:
        if bt.pa is not None and bt.corrected_alice is not None:
            prefix = _bits(bt.corrected_alice[: bt.pa.output_bits])
            bt = dataclasses.replace(bt, pa=dataclasses.replace(
                bt.pa, output=prefix, output_sha256=bits_sha256(prefix)))
        blocks.append(bt)
    return _with_blocks(run, blocks)


def reused_pa_seed(run: ReferenceRun) -> ReferenceRun:
    """Every block hashes (correctly) with a prefix of one long seed: the first block's seed,
    extended once, so the seed is not fresh (the leftover hash lemma needs a seed independent of
    the key; Tomamichel et al., IEEE TIT 57 (2011) 5524)."""
    longest = max((bt.pa.seed.size for bt in run.blocks if bt.pa is not None), default=0)
    first = next((bt.pa.seed for bt in run.blocks if bt.pa is not None), None)
    if first is None:
        return run
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(first.tobytes()).digest()[:8]))
    master = np.concatenate([first, rng.integers(0, 2, max(0, longest - first.size),
                                                 dtype=np.uint8)])
    blocks, records = [], []
    for bt, rec in zip(run.blocks, run.records, strict=True):
        if bt.pa is not None and bt.corrected_alice is not None:
            seed = _bits(master[: bt.pa.seed.size])
            final = _bits(toeplitz_hash(bt.corrected_alice, seed, bt.pa.output_bits).output)
            bt = dataclasses.replace(bt, pa=dataclasses.replace(
                bt.pa, seed=seed, output=final, output_sha256=bits_sha256(final)))
            rec = dataclasses.replace(rec, pa_seed_sha256=bits_sha256(seed))
        blocks.append(bt)
        records.append(rec)
    return _with_blocks(run, blocks, records)


def hidden_ec_parities(run: ReferenceRun) -> ReferenceRun:
    """The reported leakage counts the top-level block parities only, hiding every BINARY
    parity (the bisection and back-tracking ones; Martinez-Mateo et al. QIC 15 (2015) 453)."""
    records = []
    for bt, rec in zip(run.blocks, run.records, strict=True):
        ec = bt.ec
        if ec is not None and bt.reconciled_alice is not None:
            n = int(bt.reconciled_alice.size)
            sizes = cascade_block_sizes(ec.variant, ec.qber_used, n)
            k = np.asarray(sizes, dtype=np.int64)[ec.pass_index]
            top = (ec.start % k == 0) & (ec.end == np.minimum(ec.start + k, n))
            rec = dataclasses.replace(rec, ec_leakage_bits=int(np.count_nonzero(top)))
        records.append(rec)
    return dataclasses.replace(run, records=tuple(records))


def skipped_verification(run: ReferenceRun) -> ReferenceRun:
    """No verification hash is computed: both announced tags are zeros and the block is
    accepted."""
    blocks = []
    for bt in run.blocks:
        if bt.verification is not None:
            zeros = _bits(np.zeros(bt.verification.tag_alice.size, dtype=np.uint8))
            bt = dataclasses.replace(bt, verification=dataclasses.replace(
                bt.verification, tag_alice=zeros, tag_bob=zeros, accepted=True))
        blocks.append(bt)
    return _with_blocks(run, blocks)


def _first_block_pads(run: ReferenceRun) -> NDArray[np.int64]:
    a = run.blocks[0].auth
    assert a is not None
    genuine = np.array([j == Injection.NONE for j in a.injected])
    pads: NDArray[np.int64] = a.pad_offset[genuine]
    return pads


def auth_key_reuse(run: ReferenceRun) -> ReferenceRun:
    """Blocks after the first authenticate their messages with the first block's one-time pads
    (tags recomputed, so every tag verifies: only the reuse is wrong)."""
    pads = _first_block_pads(run)
    pool = run.auth_pool
    blocks = [run.blocks[0]]
    for bt in run.blocks[1:]:
        a = bt.auth
        if a is None:
            blocks.append(bt)
            continue
        new_pads = a.pad_offset.copy()
        new_tags = list(a.tag)
        genuine = [j for j, inj in enumerate(a.injected) if inj == Injection.NONE]
        for g, j in enumerate(genuine):
            new_pads[j] = pads[g % pads.size]
        for j in range(len(new_tags)):
            src = j if a.injected[j] == Injection.NONE else genuine[0]
            hk = int(a.hash_key_offset[src]) - pool.offset
            pd = int(new_pads[src]) - pool.offset
            key = int("".join(map(str, pool.bits[hk: hk + a.tag_bits].tolist())), 2)
            otp = int("".join(map(str, pool.bits[pd: pd + a.tag_bits].tolist())), 2)
            new_tags[j] = wc.wegman_carter_tag(a.payload[src], hash_key=key, otp=otp,
                                               bits=a.tag_bits)
            new_pads[j] = new_pads[src]
        blocks.append(dataclasses.replace(bt, auth=dataclasses.replace(
            a, pad_offset=_idx(new_pads), tag=tuple(new_tags))))
    return _with_blocks(run, blocks)


def replay_accepted(run: ReferenceRun) -> ReferenceRun:
    """The receiver accepts the replayed message the lab injected in the first block."""
    bt = run.blocks[0]
    a = bt.auth
    assert a is not None
    acc = a.accepted.copy()
    acc[next(j for j, inj in enumerate(a.injected) if inj == Injection.REPLAYED)] = 1
    first = dataclasses.replace(bt, auth=dataclasses.replace(a, accepted=_bits(acc)))
    return _with_blocks(run, [first, *run.blocks[1:]])


FAULTS: dict[str, Callable[[ReferenceRun], ReferenceRun]] = {
    "truncated-pa": truncated_pa,
    "reused-pa-seed": reused_pa_seed,
    "hidden-ec-parities": hidden_ec_parities,
    "skipped-verification": skipped_verification,
    "auth-key-reuse": auth_key_reuse,
    "replay-accepted": replay_accepted,
}
"""Each faulty module as a function of an honest run; the replay check each must fail:
``protocol.replay-`` + pa, pa, ec, verification, auth, auth."""

