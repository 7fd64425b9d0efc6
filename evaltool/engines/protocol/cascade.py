"""Cascade information reconciliation with exact leakage accounting.

Implements three parameter sets compared by Martinez-Mateo, Pacher, Peev, Ciurana, Martin,
"Demystifying the information reconciliation protocol Cascade", QIC 15 (2015) 453
(arXiv:1407.3257), §4 and Table 1 (``docs/methods/cascade.md``):

==========  ======  =====================================================  ===================
name        passes  block sizes                                            extras
==========  ======  =====================================================  ===================
original    4       k1 = ceil(0.73/Q), k_{i+1} = 2 k_i (Brassard-Salvail)  --
yanetal     10      k1 = ceil(0.80/Q), k2 = 5 k1, k_{>=3} = floor(n/2)      -- (Yan et al. 2008)
option4     16      k1 = ceil(1/Q), k2 = 2 k1, k_{>=3} = floor(n/2)        sub-block reuse
==========  ======  =====================================================  ===================

Every variant keeps the parities already learned for bisection sub-blocks and infers a sub-block's
parity from its parent and sibling instead of asking (no disclosure). With sub-block reuse
(option 4) every block of known parity, not only the top-level blocks, is re-examined when a bit
flips (the cascade effect), which is the paper's option (4); option 4 also infers the last
top-level parity of every pass after the first from the parity of the whole frame, which pass 1
already disclosed (a linear combination of known parities reveals nothing new).

Leakage. ``leaked_bits`` counts the distinct parities of Alice's string that Alice disclosed: every
top-level block parity of every pass, every BINARY question, including those of the cascade
back-tracking. Inferred parities are not disclosures and are not
counted. The efficiency is ``f = leaked_bits / (n h(e))`` with ``e`` the frame's actual error rate
(Martinez-Mateo et al. 2015, Eq. 1).

Channel uses count messages from Bob to Alice: all pending parity questions travel together when no
more local progress is possible (Martinez-Mateo et al. 2015, §3).

Shuffles are deterministic functions of a 64-bit frame seed (see
:mod:`evaltool.engines.protocol._cascade_kernel` for the exact specification), so both parties
derive the same permutations from public randomness and any run can be replayed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines._input import as_bits
from evaltool.engines.protocol import _cascade_kernel as _k

__all__ = [
    "CascadeAlgorithm",
    "CascadeResult",
    "CascadeSimulation",
    "binary_entropy",
    "cascade_block_sizes",
    "cascade_permutation",
    "cascade_reconcile",
    "cascade_simulate",
    "leakage_floor_bits",
    "transcript_leakage",
]


class CascadeAlgorithm(StrEnum):
    """Cascade parameter sets (Martinez-Mateo et al. 2015, §4 and §5)."""

    ORIGINAL = "original"
    YANETAL = "yanetal"
    OPTION4 = "option4"


_SUB_BLOCK_REUSE = {
    CascadeAlgorithm.ORIGINAL: False,
    CascadeAlgorithm.YANETAL: False,
    CascadeAlgorithm.OPTION4: True,
}

_MIN_QBER = 1e-5


def binary_entropy(p: float) -> float:
    """Return h(p) = -p log2 p - (1 - p) log2 (1 - p), with h(0) = h(1) = 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], got {p}")
    if p in (0.0, 1.0):
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)


def cascade_block_sizes(algorithm: CascadeAlgorithm | str, qber: float, n: int) -> tuple[int, ...]:
    """Return the top-level block size of every pass for a frame of ``n`` bits.

    Parameters
    ----------
    algorithm:
        ``original``, ``yanetal`` or ``option4``.
    qber:
        Estimated quantum bit error rate used to size the blocks (clipped below at 1e-5).
    n:
        Frame length in bits.

    Notes
    -----
    Block sizes follow Martinez-Mateo et al. 2015 (§4, Table 1).
    A block size is capped at ``n`` (a block never exceeds the frame).
    """
    algo = CascadeAlgorithm(algorithm)
    if not 0.0 < qber < 0.5:
        raise ValueError(f"qber must lie in (0, 0.5), got {qber}")
    if n < 2:
        raise ValueError(f"frame length must be >= 2 bits, got {n}")
    q = max(qber, _MIN_QBER)
    half = n // 2
    match algo:
        case CascadeAlgorithm.ORIGINAL:
            k1 = math.ceil(0.73 / q)
            sizes = [k1 * 2**i for i in range(4)]
        case CascadeAlgorithm.YANETAL:
            k1 = math.ceil(0.80 / q)
            sizes = [k1, 5 * k1] + [half] * 8
        case CascadeAlgorithm.OPTION4:
            k1 = math.ceil(1.00 / q)
            sizes = [k1, 2 * k1] + [half] * 14
    return tuple(max(1, min(n, k)) for k in sizes)


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """Outcome of one Cascade reconciliation.

    Attributes
    ----------
    corrected:
        Bob's key after reconciliation (uint8 0/1).
    leaked_bits:
        Number of distinct parity bits of Alice's key disclosed (top-level and BINARY, including the
        cascade back-tracking).
    channel_uses:
        Number of messages carrying parity questions from Bob to Alice (each answered by one reply).
    residual_errors:
        Number of positions where ``corrected`` still differs from Alice's key.
    initial_errors:
        Number of errors before reconciliation.
    efficiency:
        ``leaked_bits / (n h(initial_errors / n))``; NaN when the frame had no error.
    inferred_parities:
        Parities deduced from a parent and a sibling instead of being disclosed.
    transcript:
        When requested, one row per disclosed parity: ``(pass, start, end, alice_parity)``, where
        ``[start, end)`` indexes the pass's permuted order; otherwise an empty ``(0, 4)`` array.
    algorithm, qber, seed, block_sizes:
        Copies of the inputs that determine the run.
    """

    corrected: NDArray[np.uint8]
    leaked_bits: int
    channel_uses: int
    residual_errors: int
    initial_errors: int
    efficiency: float
    inferred_parities: int
    transcript: NDArray[np.int64]
    algorithm: CascadeAlgorithm
    qber: float
    seed: int
    block_sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CascadeSimulation:
    """Statistics of many independent Cascade frames with a fixed number of errors.

    Attributes
    ----------
    efficiency:
        Per-run efficiency ``leaked / (n h(e))``.
    leaked_bits, channel_uses, residual_errors:
        Per-run values (int64 arrays).
    frame_errors:
        Number of runs that ended with at least one residual error.
    algorithm, qber, frame, runs, seed, n_errors, block_sizes:
        Copies of the inputs (``n_errors = round(qber * frame)``, placed uniformly at random).
    """

    efficiency: NDArray[np.float64]
    leaked_bits: NDArray[np.int64]
    channel_uses: NDArray[np.int64]
    residual_errors: NDArray[np.int64]
    frame_errors: int
    algorithm: CascadeAlgorithm
    qber: float
    frame: int
    runs: int
    seed: int
    n_errors: int
    block_sizes: tuple[int, ...]

    @property
    def efficiency_mean(self) -> float:
        """Mean efficiency over the runs."""
        return float(np.mean(self.efficiency))

    @property
    def efficiency_sd(self) -> float:
        """Sample standard deviation of the efficiency (ddof=1; 0 for a single run)."""
        return float(np.std(self.efficiency, ddof=1)) if self.runs > 1 else 0.0

    @property
    def channel_uses_mean(self) -> float:
        """Mean number of channel uses per frame."""
        return float(np.mean(self.channel_uses))


def _seed64(seed: int) -> np.uint64:
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.uint64(seed & 0xFFFFFFFFFFFFFFFF)


def cascade_reconcile(
    alice: ArrayLike,
    bob: ArrayLike,
    *,
    qber: float,
    algorithm: CascadeAlgorithm | str = CascadeAlgorithm.ORIGINAL,
    seed: int = 0,
    record_transcript: bool = False,
) -> CascadeResult:
    """Reconcile Bob's key with Alice's by Cascade and count the disclosed parities.

    Parameters
    ----------
    alice, bob:
        The two sifted keys (same length ``n >= 2``).
    qber:
        Estimated QBER used for the block sizes (:func:`cascade_block_sizes`).
    algorithm:
        ``original``, ``yanetal`` or ``option4``.
    seed:
        Public 64-bit frame seed from which every pass's shuffle is derived.
    record_transcript:
        Also return every disclosed parity with its range and Alice's value.

    Returns
    -------
    CascadeResult
    """
    a = as_bits(alice)
    b = as_bits(bob)
    if a.size != b.size:
        raise ValueError(f"keys differ in length: {a.size} and {b.size} bits")
    algo = CascadeAlgorithm(algorithm)
    sizes = cascade_block_sizes(algo, qber, a.size)
    err = np.bitwise_xor(a, b)
    initial = int(err.sum())
    leak, uses, inferred, transcript = _k.run_frame(
        err, a, record_transcript, int(_seed64(seed)), _SUB_BLOCK_REUSE[algo],
        _SUB_BLOCK_REUSE[algo], sizes,
    )
    corrected = np.bitwise_xor(a, err)
    h = binary_entropy(initial / a.size)
    eff = leak / (a.size * h) if h > 0 else float("nan")
    return CascadeResult(
        corrected=corrected,
        leaked_bits=leak,
        channel_uses=uses,
        residual_errors=int(err.sum()),
        initial_errors=initial,
        efficiency=eff,
        inferred_parities=inferred,
        transcript=transcript if record_transcript else np.zeros((0, 4), dtype=np.int64),
        algorithm=algo,
        qber=float(qber),
        seed=int(seed),
        block_sizes=sizes,
    )


def cascade_simulate(
    *,
    algorithm: CascadeAlgorithm | str,
    qber: float,
    frame: int,
    runs: int,
    seed: int = 0,
) -> CascadeSimulation:
    """Run ``runs`` independent frames with exactly ``round(qber * frame)`` errors each.

    Errors are placed uniformly at random (partial Fisher-Yates, SplitMix64): the fixed-count
    error model of the reference values in ``docs/methods/cascade.md``. Run ``r`` uses
    the ``r``-th SplitMix64 output of ``seed`` both for its error pattern and as its frame seed.

    Raises
    ------
    ValueError
        If ``runs < 1`` or the frame holds no error (efficiency undefined).
    """
    algo = CascadeAlgorithm(algorithm)
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    sizes = cascade_block_sizes(algo, qber, frame)
    n_errors = round(qber * frame)
    if n_errors < 1:
        raise ValueError(
            f"qber * frame = {qber * frame:g} rounds to no error; efficiency undefined"
        )
    ws = _k.workspace(frame, sizes)
    run_seeds = _k.splitmix64_stream(_seed64(seed), runs)
    leak, uses, resid, overflow = _k.simulate_runs(
        frame,
        n_errors,
        run_seeds,
        _SUB_BLOCK_REUSE[algo],
        _SUB_BLOCK_REUSE[algo],
        *ws.arrays(),
    )
    # Frames whose queues outgrew the default workspace are repeated with full-size queues.
    for r in np.flatnonzero(overflow):
        err = np.zeros(frame, dtype=np.uint8)
        _k.exact_error_pattern(frame, n_errors, run_seeds[r], err)
        leak[r], uses[r], _, _ = _k.run_frame(
            err, err[:0], False, int(run_seeds[r]), _SUB_BLOCK_REUSE[algo],
            _SUB_BLOCK_REUSE[algo], sizes,
        )
        resid[r] = int(err.sum())
    h = binary_entropy(n_errors / frame)
    eff = leak.astype(np.float64) / (frame * h)
    return CascadeSimulation(
        efficiency=eff,
        leaked_bits=leak,
        channel_uses=uses,
        residual_errors=resid,
        frame_errors=int(np.count_nonzero(resid)),
        algorithm=algo,
        qber=float(qber),
        frame=int(frame),
        runs=int(runs),
        seed=int(seed),
        n_errors=int(n_errors),
        block_sizes=sizes,
    )


def leakage_floor_bits(n_bits: ArrayLike, qber: ArrayLike, efficiency: float = 1.0
                       ) -> NDArray[np.float64]:
    """Return ``efficiency * n * h(qber)`` element-wise: the least leakage a reconciliation of ``n``
    bits at error rate ``qber`` with efficiency ``f`` discloses.

    ``f = 1`` is the Slepian-Wolf (Shannon) limit; no error-correcting code reveals less on average
    (Martinez-Mateo et al. 2015, Eq. 1).
    """
    n = np.asarray(n_bits, dtype=np.float64)
    q = np.asarray(qber, dtype=np.float64)
    if np.any(n < 0) or np.any((q < 0) | (q > 1)) or efficiency <= 0:
        raise ValueError("need n >= 0, 0 <= qber <= 1 and efficiency > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -q * np.log2(q) - (1 - q) * np.log2(1 - q)
    h = np.where((q == 0) | (q == 1), 0.0, h)
    out: NDArray[np.float64] = efficiency * n * h
    return out


def cascade_permutation(n: int, seed: int, pass_index: int) -> NDArray[np.int64]:
    """Return the permutation of pass ``pass_index`` (0-based) for a frame of ``n`` bits.

    Entry ``j`` is the key index at position ``j`` of the pass's permuted order, which is how the
    ``start``/``end`` columns of a parity transcript are to be read. Pass 0 is the identity.
    """
    if n < 1 or pass_index < 0:
        raise ValueError(f"need n >= 1 and pass_index >= 0, got n={n}, pass_index={pass_index}")
    out = np.empty(n, dtype=np.int64)
    _k.shuffle_permutation(n, _seed64(seed), pass_index, out)
    return out


def transcript_leakage(transcript: ArrayLike) -> int:
    """Count the distinct parities in a parity transcript (rows ``(pass, start, end, ...)``).

    A parity of the same range of the same pass disclosed twice leaks one bit: a parity already
    known reveals nothing new (``docs/methods/cascade.md``, "What is counted").
    """
    arr = np.asarray(transcript, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise ValueError("transcript must be a 2-D array with columns (pass, start, end, ...)")
    if arr.shape[0] == 0:
        return 0
    return int(np.unique(arr[:, :3], axis=0).shape[0])
