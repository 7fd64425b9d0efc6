"""Test procedures A and B of AIS 20/31 (Killmann & Schindler, v2.0, 2011, §5.4), with the
rule that exactly one failed basic test repeats the whole procedure once on fresh data.

Both functions take the whole input (bits, or bytes read most significant bit first) and
consume it from the start: the first attempt, then, if due, the repetition on the bits that
follow. Too few bits for the first attempt raises :class:`Ais31InsufficientDataError` (a check
reports it as inconclusive); too few for a due repetition gives an ``"inconclusive"`` result
that keeps the first attempt and names the bits needed. See docs/methods/ais31.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines._input import as_bits
from evaltool.engines.stats.ais31 import basic
from evaltool.engines.stats.ais31.results import Attempt, BasicTestResult, ProcedureResult
from evaltool.errors import InsufficientDataError

SEQUENCES = 257
"""Sequences of 20,000 bits each that T1–T5 are applied to in procedure A."""

PROCEDURE_A_BITS = basic.T0_BITS + SEQUENCES * basic.SEQUENCE_BITS
"""Bits one attempt of procedure A uses: 3,145,728 for T0 and 257 × 20,000 (8,285,728)."""

PROCEDURE_A_BASIC_TESTS = 1 + 5 * SEQUENCES
"""Basic tests in one attempt of procedure A (1286)."""

PROCEDURE_B_MIN_BITS = (
    basic.T6_BITS
    + 2 * 2 * basic.TUPLES_PER_CLASS
    + 3 * 4 * basic.TUPLES_PER_CLASS
    + 4 * 8 * basic.TUPLES_PER_CLASS
    + basic.T8_BITS
)
"""The fewest bits one attempt of procedure B can use (6,968,480): steps 2–4 use more, by how
unevenly their tuple classes fill (about 6,978,000 for ideal data)."""

PROCEDURE_B_BASIC_TESTS = 9
"""Basic tests in one attempt of procedure B: T6 twice, T7 2 + 4 times, T8 once."""


class Ais31InsufficientDataError(InsufficientDataError):
    """Too few bits for a procedure's first attempt; ``needed`` and ``given`` in bits."""

    def __init__(self, message: str, *, needed: int, given: int) -> None:
        self.needed = needed
        self.given = given
        super().__init__(message)


PROCEDURE_A_STAGES: tuple[tuple[str, int], ...] = (
    ("T0", basic.T0_BITS),
    ("T1-T5", SEQUENCES * basic.SEQUENCE_BITS),
)
"""Bits each stage of procedure A uses, in input order (exact)."""

PROCEDURE_B_STAGES: tuple[tuple[str, int], ...] = (
    ("step 1 (T6)", basic.T6_BITS),
    ("step 2 (T6, pairs)", 2 * 2 * basic.TUPLES_PER_CLASS),
    ("step 3 (T7, 3-tuples)", 3 * 4 * basic.TUPLES_PER_CLASS),
    ("step 4 (T7, 4-tuples)", 4 * 8 * basic.TUPLES_PER_CLASS),
    ("step 5 (T8)", basic.T8_BITS),
)
"""Bits each step of procedure B uses, in input order: exact for steps 1 and 5, the minimum
for steps 2–4 (they read tuples until every class holds 100,000)."""


def bits_needed(procedure: Literal["A", "B"], *, attempts: int = 1) -> int:
    """Bits that ``attempts`` runs of a procedure need (procedure B: the fewest possible)."""
    if attempts not in (1, 2):
        raise ValueError(f"a procedure runs at most twice, got attempts={attempts}")
    per = PROCEDURE_A_BITS if procedure == "A" else PROCEDURE_B_MIN_BITS
    return attempts * per


def as_procedure_bits(
    data: ArrayLike | bytes | bytearray | memoryview, *, packed: bool = False
) -> NDArray[np.uint8]:
    """The input as a 1-D uint8 array of 0/1.

    ``bytes``-like input, or a uint8 array with ``packed=True``, holds 8 bits per byte, most
    significant bit first (the binary format of ``evaltool/io/bits.py``); anything else is an
    array of bits.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        return np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    if packed:
        arr = np.asarray(data)
        if arr.dtype != np.uint8:
            raise TypeError(f"packed input must be uint8 bytes, got dtype {arr.dtype}")
        return np.unpackbits(arr.ravel())
    return as_bits(data)


def _attempt_a(b: NDArray[np.uint8], start: int, index: int) -> Attempt:
    seg = b[start : start + PROCEDURE_A_BITS]
    seqs = seg[basic.T0_BITS :].reshape(SEQUENCES, basic.SEQUENCE_BITS)
    off = start + basic.T0_BITS
    t3, t4 = basic.runs_and_long_run(seqs, offset=off)
    tests = (
        basic.disjointness(seg[: basic.T0_BITS], offset=start),
        basic.monobit(seqs, offset=off),
        basic.poker(seqs, offset=off),
        t3,
        t4,
        basic.autocorrelation(seqs, offset=off),
    )
    return Attempt(index=index, start=start, stop=start + PROCEDURE_A_BITS, tests=tests)


def _attempt_b(b: NDArray[np.uint8], start: int, index: int) -> Attempt:
    pos = start
    tests: list[BasicTestResult] = []
    res, used = basic.uniform_distribution(b[pos:], offset=pos)
    tests.append(res)
    pos += used
    res, used = basic.pair_dependence(b[pos:], offset=pos)
    tests.append(res)
    pos += used
    for width in (3, 4):
        res, used = basic.multinomial_comparison(b[pos:], width, offset=pos)
        tests.append(res)
        pos += used
    res, used = basic.entropy(b[pos:], offset=pos)
    tests.append(res)
    pos += used
    return Attempt(index=index, start=start, stop=pos, tests=tuple(tests))


def _decide(
    procedure: Literal["A", "B"],
    b: NDArray[np.uint8],
    attempt_fn: Callable[[NDArray[np.uint8], int, int], Attempt],
    per_attempt: int,
    repeat: bool,
) -> ProcedureResult:
    first = attempt_fn(b, 0, 1)
    given = int(b.size)
    if first.failures == 0:
        return ProcedureResult(procedure, "pass", (first,), given, "all basic tests passed")
    if first.failures > 1:
        return ProcedureResult(
            procedure,
            "fail",
            (first,),
            given,
            f"{first.failures} of {first.basic_tests} basic tests failed",
        )
    if not repeat:
        return ProcedureResult(
            procedure, "fail", (first,), given, "one basic test failed and repetition is off"
        )
    needed = first.stop + per_attempt
    if given < needed:
        return ProcedureResult(
            procedure,
            "inconclusive",
            (first,),
            given,
            f"one basic test failed; the repetition needs {needed} bits in all "
            f"({'at least ' if procedure == 'B' else ''}{per_attempt} after bit {first.stop}),"
            f" {given} given",
            bits_needed=needed,
        )
    try:
        second = attempt_fn(b, first.stop, 2)
    except InsufficientDataError as exc:
        return ProcedureResult(
            procedure,
            "inconclusive",
            (first,),
            given,
            f"one basic test failed and the repetition ran out of bits: {exc.message}",
            bits_needed=needed,
        )
    if second.failures == 0:
        return ProcedureResult(
            procedure,
            "pass",
            (first, second),
            given,
            "one basic test failed; the repetition passed all basic tests",
        )
    return ProcedureResult(
        procedure,
        "fail",
        (first, second),
        given,
        f"one basic test failed, and {second.failures} in the repetition",
    )


def procedure_a(
    data: ArrayLike | bytes | bytearray | memoryview,
    *,
    packed: bool = False,
    repeat: bool = True,
) -> ProcedureResult:
    """Test procedure A (§5.4): T0 on 2^16 48-bit words, then T1–T5 on each of 257
    sequences of 20,000 bits — 1286 basic tests on 8,285,728 bits.

    The procedure passes when all basic tests pass and fails when more than one fails; when
    exactly one fails it is repeated once on the next 8,285,728 bits and passes only if the
    repetition passes all. Raises :class:`Ais31InsufficientDataError` below 8,285,728 bits.
    ``packed``: ``data`` is a uint8 array of bytes (MSB first); ``repeat=False`` reports a
    single failure as a failure without repeating.
    """
    b = as_procedure_bits(data, packed=packed)
    if b.size < PROCEDURE_A_BITS:
        raise Ais31InsufficientDataError(
            f"test procedure A needs {PROCEDURE_A_BITS} bits "
            f"({2 * PROCEDURE_A_BITS} if the repetition is due), {b.size} given",
            needed=PROCEDURE_A_BITS,
            given=int(b.size),
        )
    return _decide("A", b, _attempt_a, PROCEDURE_A_BITS, repeat)


def procedure_b(
    data: ArrayLike | bytes | bytearray | memoryview,
    *,
    packed: bool = False,
    repeat: bool = True,
) -> ProcedureResult:
    """Test procedure B (§5.4): T6 on 100,000 bits; T6 on pairs; T7 on 3- and 4-tuples
    (n = 100,000 per class); T8 with L = 8, Q = 2560, K = 256,000 — 9 basic tests.

    The steps read consecutive parts of the input; how much steps 2–4 use depends on the data
    (at least 6,968,480 bits in all). Same repetition rule as :func:`procedure_a`. Raises
    :class:`Ais31InsufficientDataError` when the first attempt runs out of bits.
    """
    b = as_procedure_bits(data, packed=packed)
    if b.size < PROCEDURE_B_MIN_BITS:
        raise Ais31InsufficientDataError(
            f"test procedure B needs at least {PROCEDURE_B_MIN_BITS} bits "
            f"(about 2 × that if the repetition is due), {b.size} given",
            needed=PROCEDURE_B_MIN_BITS,
            given=int(b.size),
        )
    try:
        return _decide("B", b, _attempt_b, PROCEDURE_B_MIN_BITS, repeat)
    except Ais31InsufficientDataError:
        raise
    except InsufficientDataError as exc:
        raise Ais31InsufficientDataError(
            f"test procedure B ran out of bits in its first attempt: {exc.message}",
            needed=max(PROCEDURE_B_MIN_BITS, int(b.size) + 1),
            given=int(b.size),
        ) from exc
