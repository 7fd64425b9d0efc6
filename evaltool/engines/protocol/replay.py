"""Replay of a module's classical post-processing from a captured transcript, step by step.

Each function takes the arrays one step of a transcript holds (``docs/transcript-format.md``),
recomputes what the step must have produced with the reference implementation of this package and
returns a frozen result listing every disagreement as a :class:`Mismatch` (the field that
disagrees, how often, the first index). Nothing here decides a verdict; the ``protocol.replay-*``
checks do (``docs/methods/protocol-checks.md``, "Transcript replay").

============  ==========================================================================
step          reference
============  ==========================================================================
sifting       keep a detected round when both bases agree (Bennett and Brassard 1984;
              ISO/IEC 23837-1 §6)
estimation    revealed bits equal the sifted key there; QBER = disagreements / revealed;
              the revealed bits leave the key
Cascade       every disclosed parity is the parity of Alice's key over the range in the
              pass's permuted order; distinct disclosures counted as
              :func:`~evaltool.engines.protocol.cascade.transcript_leakage` counts them
              (Martinez-Mateo et al., QIC 15 (2015) 453)
verification  both tags recomputed with the announced seed; collision bound <= eps_cor
              (:mod:`~evaltool.engines.protocol.verification`)
PA            Toeplitz hash of Alice's corrected key with the announced seed, bit for bit or
              by SHA-256 (:mod:`~evaltool.engines.protocol.toeplitz`)
auth          every genuine tag recomputed from the key pool; one-time pads never reused;
              injected messages rejected (Wegman and Carter, JCSS 22 (1981) 265)
============  ==========================================================================

Memory: the Cascade replay of an ``n``-bit frame holds at most three ``n``-byte arrays per worker
thread (Alice's key, its permuted copy turned into a prefix parity in place); the PA replay holds
the key, the seed and the hash output (the additive FFT path of ``toeplitz_hash``). Neither copies
the inputs.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from evaltool.engines.protocol import _cascade_kernel, auth, toeplitz
from evaltool.engines.protocol._cascade_kernel import _splitmix_next
from evaltool.engines.protocol.cascade import CascadeAlgorithm, cascade_reconcile

__all__ = [
    "AuthReplay",
    "CascadeReplay",
    "EstimationReplay",
    "Mismatch",
    "PaReplay",
    "PadLedger",
    "SiftingReplay",
    "VerificationReplay",
    "bits_sha256",
    "replay_auth",
    "replay_cascade",
    "replay_estimation",
    "replay_pa",
    "replay_sifting",
    "replay_verification",
    "shuffled_copy",
]

Bits = NDArray[np.uint8]
Indices = NDArray[np.int64]

MAX_PASSES = 1024
"""Largest pass count a Cascade transcript may name (the parameter sets use 4 to 16 passes); a
larger pass index is out of range."""

ENGINE_RERUN_MAX_BITS = 1_000_000
"""Largest frame the Cascade replay also reconciles with the engine to compare (the engine's
workspace grows as about 15 bytes per tree node; ``_cascade_kernel.Workspace``)."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way a step's transcript disagrees with its replay."""

    field: str
    """The transcript field that disagrees (``kept``, ``parity``, ``output`` ...)."""
    count: int
    """How many entries disagree (1 for a scalar)."""
    first: int
    """Index of the first disagreeing entry (round, position, message or bit); -1 for a scalar."""
    detail: str
    """One sentence for the reason, e.g. ``"announced 1, recomputed 0"``."""


def _first(mask: NDArray[np.bool_]) -> int:
    return int(np.argmax(mask)) if mask.any() else -1


def _mismatch(field: str, mask: NDArray[np.bool_], what: str, index: Indices | None = None
              ) -> Mismatch | None:
    """A mismatch for the ``True`` entries of ``mask`` (``index`` maps entries to the number
    shown, e.g. round numbers), or None."""
    count = int(np.count_nonzero(mask))
    if count == 0:
        return None
    i = _first(mask)
    shown = int(index[i]) if index is not None else i
    return Mismatch(field, count, shown, f"{count} {what} (first at {shown})")


def _keep(*found: Mismatch | None) -> tuple[Mismatch, ...]:
    return tuple(m for m in found if m is not None)


def bits_sha256(bits: Bits) -> str:
    """SHA-256 (hex) of ``bits`` packed most significant bit first, the last byte zero-padded."""
    return hashlib.sha256(np.packbits(bits).tobytes()).hexdigest()


def _bits_to_int(bits: Bits) -> int:
    """Bits as an integer, first bit most significant."""
    if bits.size == 0:
        return 0
    pad = (-bits.size) % 8
    packed = np.packbits(bits).tobytes()
    return int.from_bytes(packed, "big") >> pad


# --- sifting ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiftingReplay:
    """Sifting of a sample of rounds, recomputed."""

    rounds: int
    """Rounds in the sample."""
    kept: int
    """Rounds the recomputation keeps."""
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """True when the announcement and the sifted keys agree with the recomputation."""
        return not self.mismatches


def replay_sifting(
    rounds: Indices,
    alice_basis: Bits,
    alice_bit: Bits,
    bob_detected: Bits,
    bob_basis: Bits,
    bob_bit: Bits,
    kept: Bits,
    sifted_position: Indices,
    sifted_alice: Bits | None = None,
    sifted_bob: Bits | None = None,
    *,
    key_basis: int | None = None,
) -> SiftingReplay:
    """Recompute which sampled rounds sifting keeps and where they land in the sifted keys.

    A round is kept when Bob detected it and both bases agree (BB84, Bennett and Brassard 1984),
    and, with ``key_basis``, only rounds in that basis (the efficient variant whose sifted key
    is the key basis alone, Lo, Chau and Ardehali, J. Cryptology 18 (2005) 133). Kept rounds
    take increasing positions in the sifted key (``-1`` elsewhere), never further apart than the
    rounds are; the bits at those positions are the ends' bits of the round.
    """
    n = int(rounds.size)
    want = (bob_detected == 1) & (alice_basis == bob_basis)
    if key_basis is not None:
        want &= alice_basis == key_basis
    got = kept == 1
    found: list[Mismatch | None] = [
        _mismatch("kept", want != got, "rounds announced differently from the bases", rounds),
    ]
    pos_kept = sifted_position[got]
    bad_pos = np.zeros(n, dtype=bool)
    bad_pos[~got] = sifted_position[~got] != -1
    if pos_kept.size:
        bad_pos[np.flatnonzero(got)] |= pos_kept < 0
        # Positions increase, and never by more than the rounds in between that the sample does
        # not hold (the sampled rounds in between were not kept): with every round captured,
        # consecutive kept rounds are consecutive positions.
        idx = np.flatnonzero(got)
        order = np.zeros(pos_kept.size, dtype=bool)
        step = np.diff(pos_kept)
        unsampled = np.diff(rounds[got]) - np.diff(idx)
        order[1:] = (step <= 0) | (step > unsampled + 1)
        bad_pos[np.flatnonzero(got)] |= order
    found.append(_mismatch("sifted_position", bad_pos,
                           "rounds with a position out of order or on a dropped round", rounds))
    for field, key, bit in (("sifted_alice", sifted_alice, alice_bit),
                            ("sifted_bob", sifted_bob, bob_bit)):
        if key is None or not pos_kept.size:
            continue
        inside = (pos_kept >= 0) & (pos_kept < key.size)
        wrong = np.zeros(n, dtype=bool)
        idx = np.flatnonzero(got)
        wrong[idx[~inside]] = True
        wrong[idx[inside]] = key[pos_kept[inside]] != bit[got][inside]
        found.append(_mismatch(field, wrong, "kept rounds whose bit differs in the sifted key",
                               rounds))
    return SiftingReplay(rounds=n, kept=int(want.sum()), mismatches=_keep(*found))


# --- parameter estimation ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EstimationReplay:
    """Parameter estimation recomputed from the sifted keys."""

    revealed: int
    errors: int
    """Revealed positions where the sifted keys differ."""
    qber: float
    """``errors / revealed`` (NaN when nothing was revealed)."""
    qber_alice: float
    qber_bob: float
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """True when values, QBER and the key entering error correction agree."""
        return not self.mismatches


@numba.njit(cache=True, nogil=True)
def _compare_removed(sifted: Bits, positions: Indices, kept: Bits) -> tuple[int, int]:
    """Compare ``kept`` with ``sifted`` minus ``positions`` (sorted, in range) without copying;
    returns (differences, first differing index of ``kept``); a length difference counts as
    differences at the end."""
    n = sifted.size
    j = 0
    r = 0
    diff = 0
    first = -1
    for i in range(n):
        if r < positions.size and positions[r] == i:
            r += 1
            continue
        if j >= kept.size or kept[j] != sifted[i]:
            diff += 1
            if first < 0:
                first = j
        j += 1
    if kept.size > j:
        diff += kept.size - j
        if first < 0:
            first = j
    return diff, first


def replay_estimation(
    sifted_alice: Bits,
    sifted_bob: Bits,
    positions: Indices,
    alice_values: Bits,
    bob_values: Bits,
    qber_alice: float,
    qber_bob: float,
    reconciled_alice: Bits | None = None,
    reconciled_bob: Bits | None = None,
    *,
    qber_tolerance: float = 1e-9,
) -> EstimationReplay:
    """Check the revealed values against the sifted keys, recompute the QBER, and check that the
    keys entering error correction are the sifted keys with the revealed positions removed (a
    revealed bit is public and must not enter the key; ISO/IEC 23837-1 §6).

    ``positions`` must be strictly increasing and inside the key (a position outside is a
    mismatch of ``positions``); reported QBERs within ``qber_tolerance`` of the recomputed one
    agree.
    """
    n = int(sifted_alice.size)
    m = int(positions.size)
    found: list[Mismatch | None] = []
    outside = (positions < 0) | (positions >= n)
    unordered = np.zeros(m, dtype=bool)
    unordered[1:] = np.diff(positions) <= 0
    found.append(_mismatch("positions", outside | unordered,
                           "revealed positions outside the key or out of order"))
    inside = ~outside
    pos = positions[inside]
    errors = int(np.count_nonzero(sifted_alice[pos] != sifted_bob[pos]))
    for field, values, key in (("alice_values", alice_values, sifted_alice),
                               ("bob_values", bob_values, sifted_bob)):
        wrong = np.zeros(m, dtype=bool)
        wrong[inside] = values[inside] != key[pos]
        found.append(_mismatch(field, wrong, "revealed values differ from the sifted key",
                               positions))
    qber = errors / int(pos.size) if pos.size else math.nan
    if not pos.size:
        found.append(Mismatch("positions", 1, -1, "no position was revealed, so no QBER"))
    for field, reported in (("qber_alice", qber_alice), ("qber_bob", qber_bob)):
        if pos.size and not abs(float(reported) - qber) <= qber_tolerance:
            found.append(Mismatch(field, 1, -1,
                                  f"reported {reported:.6g}, recomputed {qber:.6g} "
                                  f"({errors} of {int(pos.size)} revealed bits differ)"))
    if not (outside.any() or unordered.any()):
        for field, rec, key in (("reconciled_alice", reconciled_alice, sifted_alice),
                                ("reconciled_bob", reconciled_bob, sifted_bob)):
            if rec is None:
                continue
            diff, first = _compare_removed(key, positions, rec)
            if diff:
                found.append(Mismatch(
                    field, int(diff), int(first),
                    f"{diff} bits differ from the sifted key without the revealed positions "
                    f"(first at {first}; lengths {rec.size} and {n - m})"))
    return EstimationReplay(revealed=m, errors=errors, qber=qber, qber_alice=float(qber_alice),
                            qber_bob=float(qber_bob), mismatches=_keep(*found))


# --- Cascade ------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _shuffle_into(out: Bits, frame_seed: np.uint64, pass_index: int) -> None:
    """Apply the Fisher-Yates swaps of pass ``pass_index`` to ``out`` in place, so that
    ``out[j]`` becomes ``x[cascade_permutation(n, seed, p)[j]]`` (the shuffle of
    ``_cascade_kernel.shuffle_permutation``, applied to the bits instead of to indices: an
    ``n``-byte array instead of ``8 n``)."""
    n = out.size
    if pass_index == 0:
        return
    s = np.uint64(frame_seed) ^ (np.uint64(pass_index) * np.uint64(0x9E3779B97F4A7C15))
    for j in range(n - 1, 0, -1):
        s, z = _splitmix_next(s)
        k = np.int64(z % np.uint64(j + 1))
        tmp = out[j]
        out[j] = out[k]
        out[k] = tmp


def shuffled_copy(x: Bits, frame_seed: int, pass_index: int) -> Bits:
    """``x`` in the permuted order of Cascade pass ``pass_index`` (``docs/methods/cascade.md``):
    ``x[cascade_permutation(x.size, frame_seed, pass_index)]`` without building the permutation."""
    out = np.array(x, dtype=np.uint8, copy=True)
    _shuffle_into(out, np.uint64(frame_seed & 0xFFFFFFFFFFFFFFFF), int(pass_index))
    return out


@numba.njit(cache=True, nogil=True)
def _range_parities(permuted: Bits, pass_index: Indices, start: Indices, end: Indices,
                    from_bob: NDArray[np.bool_], good: NDArray[np.bool_], p: int, bob: bool,
                    out: Bits) -> None:
    """Turn ``permuted`` (the key in pass ``p``'s order) into its prefix parity in place and set
    ``out[i]`` to the parity of ``[start[i], end[i])`` for every good row of pass ``p`` sent by
    the party ``bob`` names; other rows are left alone (no index array is copied)."""
    acc = np.uint8(0)
    for j in range(permuted.size):
        acc ^= permuted[j]
        permuted[j] = acc
    for i in range(pass_index.size):
        if not good[i] or pass_index[i] != p or from_bob[i] != bob:
            continue
        s = start[i]
        left = permuted[s - 1] if s > 0 else np.uint8(0)
        out[i] = permuted[end[i] - 1] ^ left


@numba.njit(cache=True, nogil=True)
def _job_counts(pass_index: Indices, from_bob: NDArray[np.bool_], good: NDArray[np.bool_],
                passes: int) -> Indices:
    """Good rows per (pass, sender): entry ``2 p + (1 if Bob)``."""
    out = np.zeros(2 * passes, dtype=np.int64)
    for i in range(pass_index.size):
        if good[i]:
            out[2 * pass_index[i] + (1 if from_bob[i] else 0)] += 1
    return out


@numba.njit(cache=True, nogil=True)
def _range_keys(pass_index: Indices, start: Indices, end: Indices, from_bob: NDArray[np.bool_],
                good: NDArray[np.bool_], n: int, out: Indices) -> int:
    """One integer per good row, equal for equal (sender, pass, start, end): written to ``out``;
    returns the count."""
    k = 0
    w = n + 1
    for i in range(pass_index.size):
        if good[i]:
            out[k] = ((pass_index[i] * 2 + (1 if from_bob[i] else 0)) * w + start[i]) * w + end[i]
            k += 1
    return k


@dataclass(frozen=True, slots=True)
class CascadeReplay:
    """Cascade replayed from its disclosed parities."""

    n: int
    """Frame length (bits of Alice's reconciled key)."""
    messages: int
    passes: int
    """Distinct passes the messages name."""
    disclosed_bits: int
    """Distinct parities disclosed (a range of a pass disclosed twice by the same party counts
    once), the leakage of error correction."""
    out_of_range: int
    """Messages whose range or pass lies outside the frame (bad input)."""
    residual_errors: int | None
    """Positions where Bob's corrected key still differs from Alice's (None without keys)."""
    engine_leaked_bits: int | None
    """What :func:`~evaltool.engines.protocol.cascade.cascade_reconcile` discloses on the same
    frame, seed and QBER (None when not rerun)."""
    engine_agrees: bool | None
    """Whether the engine discloses exactly the same set of ranges."""
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """True when every parity is right and Bob's key equals Alice's."""
        return not self.mismatches


def _distinct(from_bob: NDArray[np.bool_], pass_index: Indices, start: Indices, end: Indices,
              good: NDArray[np.bool_], n: int) -> int:
    """Distinct (sender, pass, start, end) among the good rows."""
    count = int(np.count_nonzero(good))
    if count == 0:
        return 0
    top = int(pass_index[good].max()) + 1
    if 2 * top * (n + 1) ** 2 < 2**62:
        keys = np.empty(count, dtype=np.int64)
        _range_keys(pass_index, start, end, from_bob, good, n, keys)
        keys.sort()
        return int(1 + np.count_nonzero(keys[1:] != keys[:-1]))
    rows = np.stack([from_bob[good].astype(np.int64), pass_index[good], start[good], end[good]],
                    axis=1)
    return int(np.unique(rows, axis=0).shape[0])


def replay_cascade(
    reconciled_alice: Bits,
    pass_index: Indices,
    start: Indices,
    end: Indices,
    parity: Bits,
    *,
    frame_seed: int,
    variant: str,
    qber_used: float,
    permutations: NDArray[np.int64] | None = None,
    sender_bob: NDArray[np.bool_] | None = None,
    reconciled_bob: Bits | None = None,
    corrected_alice: Bits | None = None,
    corrected_bob: Bits | None = None,
    delivered: bool = True,
    engine_max_bits: int = ENGINE_RERUN_MAX_BITS,
    workers: int = 2,
) -> CascadeReplay:
    """Replay Cascade from its messages: recompute each disclosed parity, count the distinct
    disclosures, compare the corrected keys, and rerun the reference engine on small frames.

    Parameters
    ----------
    reconciled_alice:
        Alice's key entering error correction (``n`` bits); parities are of this key (of
        ``reconciled_bob`` for rows ``sender_bob``).
    pass_index, start, end, parity:
        One row per disclosed parity: the range ``[start, end)`` of the pass's permuted order.
        Every top-level and BINARY parity, the back-tracking ones included, is a row.
    frame_seed, permutations:
        Pass ``p`` is ordered by ``cascade_permutation(n, frame_seed, p)``, or by row ``p`` of
        ``permutations`` when given.
    variant, qber_used:
        The parameter set and the QBER the block sizes were chosen from (engine rerun only).
    delivered:
        False when the block aborted: Bob's key may then still differ from Alice's.
    engine_max_bits:
        Rerun the engine only up to this frame length (0: never).
    workers:
        Threads replaying passes side by side (each holds one ``n``-byte copy).

    Notes
    -----
    The leakage is the number of distinct parities disclosed, as
    :func:`~evaltool.engines.protocol.cascade.transcript_leakage` counts it and as the engine's
    ``leaked_bits`` counts it (``docs/methods/cascade.md``, "What is counted"); a parity of a
    range whose value follows from parities already disclosed is still counted when the module
    sent it.
    """
    a = reconciled_alice
    n = int(a.size)
    m = int(pass_index.size)
    bob_rows = np.zeros(m, dtype=bool) if sender_bob is None else np.asarray(sender_bob, bool)
    n_perm = None if permutations is None else int(permutations.shape[0])
    bad = (start < 0) | (end > n) | (end <= start) | (pass_index < 0) | (pass_index >= MAX_PASSES)
    if n_perm is not None:
        bad |= pass_index >= n_perm
    if bob_rows.any() and reconciled_bob is None:
        bad |= bob_rows
    found: list[Mismatch | None] = [
        _mismatch("start/end", bad, "messages name a range or pass outside the frame"),
    ]
    recomputed = np.zeros(m, dtype=np.uint8)
    good = ~bad
    counts = _job_counts(pass_index, bob_rows, good, MAX_PASSES)
    jobs = [(int(j) // 2, bool(j % 2)) for j in np.flatnonzero(counts)]

    def one(p: int, from_bob: bool) -> None:
        key = reconciled_bob if from_bob else a
        assert key is not None
        if permutations is None:
            work = shuffled_copy(key, frame_seed, p)
        else:
            work = np.ascontiguousarray(key[permutations[p]])
        _range_parities(work, pass_index, start, end, bob_rows, good, p, from_bob, recomputed)

    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda j: one(*j), jobs))
    else:
        for j in jobs:
            one(*j)
    found.append(_mismatch("parity", good & (recomputed != parity),
                           "disclosed parities differ from the key's parity over the range"))
    disclosed = _distinct(bob_rows, pass_index, start, end, good, n)
    residual = None
    if corrected_alice is not None:
        if corrected_alice.size != n:
            found.append(Mismatch("corrected_alice", 1, -1,
                                  f"{corrected_alice.size} bits, {n} entered error correction"))
        else:
            found.append(_mismatch("corrected_alice", corrected_alice != a,
                                   "bits of Alice's key changed during error correction"))
    if corrected_bob is not None:
        if corrected_bob.size != n:
            found.append(Mismatch("corrected_bob", 1, -1,
                                  f"{corrected_bob.size} bits, {n} entered error correction"))
        else:
            diff = corrected_bob != a
            residual = int(np.count_nonzero(diff))
            if delivered:
                found.append(_mismatch("corrected_bob", diff,
                                       "bits of Bob's corrected key differ from Alice's in a "
                                       "delivered block"))
    engine_leak = None
    agrees = None
    known = variant in {a.value for a in CascadeAlgorithm}
    if (known and permutations is None and reconciled_bob is not None and 2 <= n <= engine_max_bits
            and reconciled_bob.size == n and 0.0 < qber_used < 0.5 and frame_seed >= 0
            and not bob_rows.any()):
        ref = cascade_reconcile(a, reconciled_bob, qber=qber_used, algorithm=variant,
                                seed=frame_seed, record_transcript=True)
        # Blocks differ in length, so a kept workspace (up to ~250 MB at 1e6 bits) would not be
        # reused: free it rather than let the cache hold eight of them across a capture.
        _cascade_kernel.workspace.cache_clear()
        engine_leak = int(ref.leaked_bits)
        mine = np.stack([pass_index, start, end], axis=1)[good]
        agrees = bool(mine.shape == ref.transcript[:, :3].shape
                      and np.array_equal(np.unique(mine, axis=0),
                                         np.unique(ref.transcript[:, :3], axis=0)))
    passes = len({p for p, _ in jobs})
    return CascadeReplay(n=n, messages=m, passes=passes, disclosed_bits=disclosed,
                         out_of_range=int(bad.sum()), residual_errors=residual,
                         engine_leaked_bits=engine_leak, engine_agrees=agrees,
                         mismatches=_keep(*found))


# --- verification -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationReplay:
    """Error verification recomputed."""

    tag_bits: int
    collision_bound: float
    """Probability that two different keys give equal tags (``2^-t`` for Toeplitz,
    ``ceil(n/b) / 2^b`` for the polynomial hash)."""
    keys_equal: bool
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """True when both tags, the decision and the tag length are right."""
        return not self.mismatches


def _verification_tag(key: Bits, family: str, seed: Bits, t: int) -> Bits:
    if family == "toeplitz":
        return toeplitz.toeplitz_hash(key, seed, t).output
    value = auth.polynomial_hash(np.packbits(key), _bits_to_int(seed), t)
    return np.array([(value >> (t - 1 - i)) & 1 for i in range(t)], dtype=np.uint8)


def replay_verification(
    corrected_alice: Bits,
    corrected_bob: Bits,
    *,
    family: str,
    seed: Bits,
    tag_alice: Bits,
    tag_bob: Bits,
    accepted: bool,
    eps_cor: float,
) -> VerificationReplay:
    """Recompute both verification tags with the announced seed and check the decision and the
    tag length (``docs/methods/authentication.md``; Lim et al. PRA 89 022307 (2014), §II).

    The decision must be "accept" exactly when the announced tags agree, and a tag never accepts
    keys the recomputation shows to differ. The collision bound of the family at the tag length
    must not exceed ``eps_cor`` (for Toeplitz, ``t >= log2(1/eps_cor)``).
    """
    n = int(corrected_alice.size)
    t = int(tag_alice.size)
    found: list[Mismatch | None] = []
    if tag_bob.size != t:
        found.append(Mismatch("tag_bob", 1, -1, f"{tag_bob.size} bits, Alice's tag has {t}"))
    if corrected_bob.size != n:
        found.append(Mismatch("corrected_bob", 1, -1,
                              f"{corrected_bob.size} bits, Alice's key has {n}"))
    keys_equal = corrected_bob.size == n and bool(np.array_equal(corrected_alice, corrected_bob))
    bound = math.nan
    if family == "toeplitz":
        need = n + t - 1
        if t >= 1:
            bound = 2.0**-t
        if seed.size != need:
            found.append(Mismatch("seed", 1, -1, f"{seed.size} seed bits, Toeplitz needs "
                                  f"n + t - 1 = {need}"))
    elif family == "polynomial":
        if t not in auth.SUPPORTED_TAG_BITS:
            found.append(Mismatch("tag_alice", 1, -1, f"{t}-bit tag, the polynomial family is "
                                  f"defined for {auth.SUPPORTED_TAG_BITS}"))
        else:
            bound = auth.forgery_probability(n, t)
        if seed.size != t:
            found.append(Mismatch("seed", 1, -1, f"{seed.size} seed bits, {t} expected"))
    else:
        found.append(Mismatch("family", 1, -1, f"unknown hash family {family!r}"))
    if t < 1:
        found.append(Mismatch("tag_alice", 1, -1, "the tag is empty"))
    if not found:
        ra = _verification_tag(corrected_alice, family, seed, t)
        rb = ra if keys_equal else _verification_tag(corrected_bob, family, seed, t)
        found.append(_mismatch("tag_alice", ra != tag_alice, "bits of Alice's tag differ from "
                               "the hash of her key"))
        found.append(_mismatch("tag_bob", rb != tag_bob, "bits of Bob's tag differ from the "
                               "hash of his key"))
        announced_equal = bool(np.array_equal(tag_alice, tag_bob))
        if bool(accepted) != announced_equal:
            decision = "accept" if accepted else "reject"
            tags_agree = "agree" if announced_equal else "do not agree"
            found.append(Mismatch("accepted", 1, -1, f"decision {decision} with tags that "
                                  f"{tags_agree}"))
        elif accepted and not keys_equal:
            found.append(Mismatch("accepted", 1, -1, "accepted keys that differ"))
        if math.isfinite(bound) and bound > eps_cor:
            found.append(Mismatch("tag_alice", 1, -1,
                                  f"collision bound {bound:.3g} of a {t}-bit tag exceeds "
                                  f"eps_cor = {eps_cor:.3g}"))
    return VerificationReplay(tag_bits=t, collision_bound=bound, keys_equal=keys_equal,
                              mismatches=_keep(*found))


# --- privacy amplification ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaReplay:
    """Privacy amplification recomputed."""

    input_bits: int
    output_bits: int
    method: str
    """The Toeplitz implementation that ran (``""`` when nothing was hashed)."""
    compared: str
    """``"bits"`` (the output key), ``"sha256"`` (its hash) or ``""``."""
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """True when the announced output is the hash of the key."""
        return not self.mismatches


def replay_pa(
    key: Bits,
    *,
    family: str,
    seed: Bits,
    input_bits: int,
    output_bits: int,
    output: Bits | None = None,
    output_sha256: str | None = None,
) -> PaReplay:
    """Hash Alice's corrected key with the announced Toeplitz seed and compare with the final
    key bit for bit (or with its SHA-256 when only that was exported); Krawczyk, CRYPTO 1994;
    ``docs/methods/toeplitz.md``.

    The fast exact path is chosen as :func:`~evaltool.engines.protocol.toeplitz.toeplitz_hash`
    chooses it; the key and seed are not copied.
    """
    n = int(key.size)
    ell = int(output_bits)
    found: list[Mismatch | None] = []
    if family != "toeplitz":
        found.append(Mismatch("family", 1, -1, f"unknown privacy-amplification family {family!r}"))
    if input_bits != n:
        found.append(Mismatch("input_bits", 1, -1, f"{input_bits} announced, the corrected key "
                              f"has {n}"))
    if ell < 1:
        found.append(Mismatch("output_bits", 1, -1, "no output bit"))
    elif seed.size != n + ell - 1:
        found.append(Mismatch("seed", 1, -1, f"{seed.size} seed bits, n + ell - 1 = "
                              f"{n + ell - 1} needed"))
    if output is not None and output.size != ell:
        found.append(Mismatch("output", 1, -1, f"{output.size} output bits, {ell} announced"))
    if output is None and output_sha256 is None:
        found.append(Mismatch("output", 1, -1, "neither the output key nor its SHA-256"))
    if found:
        return PaReplay(n, ell, "", "", _keep(*found))
    res = toeplitz.toeplitz_hash(key, seed, ell)
    if output is not None:
        found.append(_mismatch("output", res.output != output,
                               "output bits differ from the Toeplitz hash of the key"))
        compared = "bits"
    else:
        digest = bits_sha256(res.output)
        assert output_sha256 is not None
        if digest != output_sha256.strip().lower():
            found.append(Mismatch("output_sha256", 1, -1,
                                  "the SHA-256 of the output differs from that of the Toeplitz "
                                  "hash of the key"))
        compared = "sha256"
    return PaReplay(n, ell, res.method, compared, _keep(*found))


# --- authentication -----------------------------------------------------------------------------


class PadLedger:
    """Key-pool segments consumed so far, across messages and blocks.

    A one-time pad may overlap nothing consumed before; a hash-key segment may recur identically
    (a session hash key recycled under one-time pads, Portmann, IEEE TIT 60 (2014) 4383) but may
    not overlap a pad or partly overlap another hash key.
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._items: list[tuple[int, int, bool, str]] = []  # (start, end, is_pad, owner)
        self._longest = 0

    def _overlaps(self, start: int, end: int) -> list[tuple[int, int, bool, str]]:
        lo = bisect.bisect_left(self._starts, start - self._longest + 1)
        hi = bisect.bisect_left(self._starts, end)
        return [item for item in self._items[lo:hi] if item[1] > start]

    def claim(self, start: int, length: int, *, pad: bool, owner: str) -> str | None:
        """Record the segment; return the owner of a segment it illegally reuses, else None."""
        end = start + length
        hits = self._overlaps(start, end)
        for s, e, was_pad, who in hits:
            if pad or was_pad or (s, e) != (start, end):
                return who
        if hits:
            return None  # the recycled session hash key, already recorded
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._items.insert(i, (start, end, pad, owner))
        self._longest = max(self._longest, length)
        return None


@dataclass(frozen=True, slots=True)
class AuthReplay:
    """Authentication of one block's classical messages recomputed."""

    messages: int
    genuine: int
    injected: int
    mismatches: tuple[Mismatch, ...]
    unverifiable: int
    """Genuine messages whose key lies outside the exported pool (cannot be recomputed)."""

    @property
    def ok(self) -> bool:
        """True when every tag, every decision and every pad is right."""
        return not self.mismatches


def replay_auth(
    *,
    tag_bits: int,
    seq: Indices,
    payloads: Sequence[bytes],
    tags: Sequence[int],
    hash_key_offset: Indices,
    pad_offset: Indices,
    injected: Sequence[bool],
    accepted: Bits,
    pool_offset: int,
    pool_bits: Bits,
    ledger: PadLedger,
    block: int,
) -> AuthReplay:
    """Recompute the Wegman-Carter tag of every genuine message from the pool bits at its
    offsets, require the receiver to accept it and to reject every message the lab injected
    (replayed or modified; FPT_RPL.1), and record its pad in ``ledger`` so that a pad used twice,
    in this block or an earlier one, is found (Wegman and Carter, JCSS 22 (1981) 265;
    ``docs/methods/authentication.md``).
    """
    b = int(tag_bits)
    m = int(seq.size)
    found: list[Mismatch | None] = []
    if b not in auth.SUPPORTED_TAG_BITS:
        found.append(Mismatch("tag_bits", 1, -1, f"{b}-bit tags; the polynomial family is "
                              f"defined for {auth.SUPPORTED_TAG_BITS}"))
        return AuthReplay(m, 0, 0, _keep(*found), 0)
    inj = np.asarray(injected, dtype=bool)
    acc = accepted == 1
    wrong_tag = np.zeros(m, dtype=bool)
    reused = np.zeros(m, dtype=bool)
    reuse_owner = ""
    unverifiable = 0
    lo, hi = pool_offset, pool_offset + int(pool_bits.size)
    for i in range(m):
        if inj[i]:
            continue
        hk, pd = int(hash_key_offset[i]), int(pad_offset[i])
        owner = f"block {block} message {int(seq[i])}"
        for start, is_pad in ((hk, False), (pd, True)):
            clash = ledger.claim(start, b, pad=is_pad, owner=owner)
            if clash is not None and not reused.any():
                reuse_owner = clash
            if clash is not None:
                reused[i] = True
        if not (lo <= hk and hk + b <= hi and lo <= pd and pd + b <= hi):
            unverifiable += 1
            continue
        key = _bits_to_int(pool_bits[hk - lo: hk - lo + b])
        otp = _bits_to_int(pool_bits[pd - lo: pd - lo + b])
        want = auth.wegman_carter_tag(payloads[i], hash_key=key, otp=otp, bits=b)
        wrong_tag[i] = want != int(tags[i])
    found.append(_mismatch("tag", wrong_tag, "genuine tags differ from the recomputed tag", seq))
    if reused.any():
        i = _first(reused)
        found.append(Mismatch("pad_offset", int(reused.sum()), int(seq[i]),
                              f"{int(reused.sum())} messages reuse key-pool bits (first "
                              f"message {int(seq[i])}, already used by {reuse_owner})"))
    found.append(_mismatch("injected", inj & acc, "injected (replayed or modified) messages "
                           "accepted", seq))
    found.append(_mismatch("accepted", ~inj & ~acc, "genuine messages rejected", seq))
    return AuthReplay(m, int((~inj).sum()), int(inj.sum()), _keep(*found), unverifiable)
