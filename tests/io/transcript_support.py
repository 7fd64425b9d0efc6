"""Building consistent post-processing transcripts for the reader and writer tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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

TAG_BITS = 32
MESSAGES_PER_BLOCK = 3
POOL_OFFSET = 64
"""The exported pool starts at this pool bit (what came before was consumed earlier)."""


def _ro(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def make_block(block_id: int, n: int, *, seed: int = 0, delivered: bool = True,
               permutations: bool = False) -> BlockTranscript:
    """A self-consistent block with an ``n``-bit sifted key (every step present)."""
    rng = np.random.default_rng([seed, block_id])
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    flips = rng.choice(n, size=max(1, n // 100), replace=False)
    bob[flips] ^= 1
    positions = np.sort(rng.choice(n, size=max(1, n // 10), replace=False)).astype(np.int64)
    keep = np.ones(n, dtype=bool)
    keep[positions] = False
    rec_a, rec_b = alice[keep], bob[keep]
    m = rec_a.size
    passes = 2
    k = max(2, m // 16)
    starts = np.arange(0, m, k, dtype=np.int64)
    ends = np.minimum(starts + k, m)
    n_msg = starts.size * passes
    ell = max(1, m // 2)
    pa_seed = rng.integers(0, 2, m + ell - 1, dtype=np.uint8)
    output = rng.integers(0, 2, ell, dtype=np.uint8)
    rounds = np.arange(0, 3 * min(n, 40), 3, dtype=np.int64)
    r = rounds.size
    kept = (np.arange(r) % 2 == 0).astype(np.uint8)
    sifted_position = np.where(kept == 1, np.arange(r), -1).astype(np.int64)
    base = POOL_OFFSET + block_id * MESSAGES_PER_BLOCK * 2 * TAG_BITS
    steps = np.arange(MESSAGES_PER_BLOCK, dtype=np.int64) * 2 * TAG_BITS
    perms = None
    if permutations:
        perms = _ro(np.stack([rng.permutation(m) for _ in range(passes)]).astype(np.int64))
    return BlockTranscript(
        block_id=block_id,
        sifted_alice=_ro(alice), sifted_bob=_ro(bob),
        reconciled_alice=_ro(rec_a), reconciled_bob=_ro(rec_b),
        corrected_alice=_ro(rec_a.copy()), corrected_bob=_ro(rec_a.copy()),
        sifting=SiftingRecord(
            rounds=_ro(rounds), alice_basis=_ro(rng.integers(0, 2, r, dtype=np.uint8)),
            alice_bit=_ro(rng.integers(0, 2, r, dtype=np.uint8)),
            bob_detected=_ro(np.ones(r, dtype=np.uint8)),
            bob_basis=_ro(rng.integers(0, 2, r, dtype=np.uint8)),
            bob_bit=_ro(rng.integers(0, 2, r, dtype=np.uint8)), kept=_ro(kept),
            sifted_position=_ro(sifted_position)),
        estimation=EstimationRecord(
            positions=_ro(positions), alice_values=_ro(alice[positions]),
            bob_values=_ro(bob[positions]), qber_alice=0.01, qber_bob=0.0125),
        ec=EcMessages(
            protocol=EcProtocol.CASCADE, variant="original", frame_seed=1000 + block_id,
            qber_used=0.01, seq=_ro(np.arange(n_msg, dtype=np.int64)),
            from_bob=_ro(np.zeros(n_msg, dtype=bool)),
            pass_index=_ro(np.repeat(np.arange(passes, dtype=np.int64), starts.size)),
            start=_ro(np.tile(starts, passes)), end=_ro(np.tile(ends, passes)),
            parity=_ro(rng.integers(0, 2, n_msg, dtype=np.uint8)), permutations=perms),
        verification=VerificationRecord(
            family="toeplitz", seed=_ro(rng.integers(0, 2, 127, dtype=np.uint8)),
            tag_alice=_ro(np.ones(64, dtype=np.uint8)), tag_bob=_ro(np.ones(64, dtype=np.uint8)),
            accepted=True),
        pa=PrivacyAmplificationRecord(
            family="toeplitz", seed=_ro(pa_seed), input_bits=m, output_bits=ell,
            output=_ro(output),
            output_sha256=hashlib.sha256(np.packbits(output).tobytes()).hexdigest()),
        auth=AuthMessages(
            tag_bits=TAG_BITS, seq=_ro(np.arange(MESSAGES_PER_BLOCK, dtype=np.int64)),
            sender=(Party.ALICE, Party.BOB, Party.ALICE),
            payload=(b"sift", b"\x00\xffparities", b""),
            tag=tuple(int(t) for t in rng.integers(0, 2**TAG_BITS, MESSAGES_PER_BLOCK)),
            hash_key_offset=_ro(base + steps),
            pad_offset=_ro(base + TAG_BITS + steps),
            injected=(Injection.NONE, Injection.NONE, Injection.REPLAYED),
            accepted=_ro(np.array([1, 1, 0], dtype=np.uint8))),
        delivered=delivered,
        key_ids=(f"k-{block_id:05d}",) if delivered else (),
    )


def make_pool(n_blocks: int) -> AuthKeyPool:
    """The pool the first ``n_blocks`` blocks of :func:`make_block` draw from."""
    bits = np.random.default_rng(7).integers(
        0, 2, n_blocks * MESSAGES_PER_BLOCK * 2 * TAG_BITS, dtype=np.uint8)
    return AuthKeyPool(offset=POOL_OFFSET, bits=_ro(bits))


def blocks_equal(a: BlockTranscript, b: BlockTranscript) -> list[str]:
    """Names of the fields where ``a`` and ``b`` differ (empty when equal)."""
    return _diff(a, b, "")


def _diff(a: object, b: object, path: str) -> list[str]:
    from dataclasses import fields, is_dataclass

    if is_dataclass(a) and is_dataclass(b) and not isinstance(a, type):
        out: list[str] = []
        for f in fields(a):
            out += _diff(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        return out
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        ok = (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
              and np.array_equal(a, b))
        return [] if ok else [path]
    if isinstance(a, Sequence) and not isinstance(a, str | bytes):
        if not isinstance(b, Sequence) or len(a) != len(b):
            return [path]
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True))
                for p in _diff(x, y, f"{path}[{i}]")]
    same = a == b and (type(a) is type(b) or isinstance(a, float | int))
    return [] if same else [path]


def write_blocks_csv(path: Path, blocks: Sequence[BlockTranscript]) -> None:
    """Block records agreeing with ``blocks`` (the consistency check's reference)."""
    lines = ["block_id,time_s,ec_leakage_bits,pa_input_bits,pa_output_bits,aborted,key_id"]
    for i, b in enumerate(blocks):
        assert b.pa is not None and b.ec is not None
        out = b.pa.output_bits if b.delivered else 0
        kid = b.key_ids[0] if b.key_ids else ""
        lines.append(f"{b.block_id},{i + 1}.0,{len(b.ec.seq)},{b.pa.input_bits},{out},"
                     f"{int(not b.delivered)},{kid}")
    path.write_text("\n".join(lines) + "\n")
