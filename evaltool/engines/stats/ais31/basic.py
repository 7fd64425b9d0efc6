"""The basic tests T0–T8 of AIS 20/31 (Killmann & Schindler, "A proposal for: Functionality
classes for random number generators", v2.0, 2011, §2.4.4 and §5.4), vectorised.

Procedure A's tests T1–T5 take a ``(m, 20000)`` array (one 20,000-bit sequence per row) or one
sequence; T0 takes the 3,145,728 bits of its 2^16 48-bit words; T6–T8 take the bits remaining
when their step of procedure B starts and report how many they used. Every function takes
``offset``, the position of its first bit in the procedure's input, to record absolute bit
ranges. Bounds, the reading of T5 and the handling of the tuple classes are documented in
docs/methods/ais31.md.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

from evaltool.engines._input import as_bits
from evaltool.engines.stats.ais31.results import BasicTestResult, Bounds
from evaltool.errors import InsufficientDataError

# ---- parameters of §5.4 (procedure A) and §2.4.4 (tests) --------------------------------

T0_WORDS = 1 << 16
T0_WORD_BITS = 48
T0_BITS = T0_WORDS * T0_WORD_BITS
"""Bits T0 uses: 2^16 words of 48 bits (3,145,728)."""

SEQUENCE_BITS = 20_000
"""Bits of each sequence T1–T5 are applied to."""

T1_BOUNDS = Bounds(9654, 10346)
T2_BOUNDS = Bounds(1.03, 57.4)
T3_INTERVALS: tuple[tuple[int, int], ...] = (
    (2267, 2733),
    (1079, 1421),
    (502, 748),
    (223, 402),
    (90, 223),
    (90, 223),
)
"""Acceptance intervals (inclusive) of the run counts of lengths 1, 2, 3, 4, 5 and >= 6."""
T3_BOUNDS = tuple(Bounds(lo, hi, True, True) for lo, hi in T3_INTERVALS)
T4_LONG_RUN = 34
"""T4 fails on a run of this length or longer."""
T4_BOUNDS = Bounds(None, T4_LONG_RUN, False, False)
T5_SHIFTS = 5000
T5_WINDOW = 5000
T5_BOUNDS = Bounds(2326, 2674)

# ---- procedure B (§5.4) --------------------------------------------------------------------

T6_BITS = 100_000
T6_A = 0.025
T6_BOUNDS = Bounds(0.5 - T6_A, 0.5 + T6_A)
TUPLES_PER_CLASS = 100_000
"""n: tuples collected per class in steps 2–4."""
T6B_A = 0.02
T6B_BOUNDS = Bounds(-T6B_A, T6B_A)
T7_LIMIT = 15.13
T7_BOUNDS = Bounds(None, T7_LIMIT, False, True)
T8_L = 8
T8_Q = 2560
T8_K = 256_000
T8_BITS = (T8_Q + T8_K) * T8_L
T8_LIMIT = 7.976
T8_BOUNDS = Bounds(T8_LIMIT, None)

_FFT_SIZE = T5_WINDOW + T5_SHIFTS
"""FFT length: no lag τ <= 5000 wraps around (the last bit of Z_5000 is bit 10,000)."""


def _as_sequences(bits: ArrayLike, n: int, test: str) -> NDArray[np.uint8]:
    """``bits`` as a C-contiguous ``(m, n)`` uint8 array of 0/1."""
    arr = np.asarray(bits)
    if arr.ndim == 1:
        arr = as_bits(arr)
        if arr.size < n:
            raise InsufficientDataError(f"{test} needs {n} bits per sequence, got {arr.size}")
        return arr[:n].reshape(1, n)
    if arr.ndim != 2:
        raise ValueError(f"bits must be 1-D or 2-D (sequences × bits), got {arr.ndim}-D")
    if arr.shape[1] != n:
        raise ValueError(f"{test} takes sequences of {n} bits, got {arr.shape[1]}")
    return as_bits(arr).reshape(arr.shape)


def _offsets(m: int, n: int, offset: int) -> NDArray[np.int64]:
    start = offset + n * np.arange(m, dtype=np.int64)
    return np.stack([start, start + n], axis=1)


def _sequence_labels(m: int, first: int) -> tuple[str, ...]:
    return tuple(f"sequence {first + i}" for i in range(m))


def _pack_words(bits: NDArray[np.uint8], width: int) -> NDArray[np.uint64]:
    """Consecutive ``width``-bit words (width <= 64) of ``bits``, first bit most significant."""
    words = bits.reshape(-1, width)
    pad = (-width) % 8
    if pad:
        words = np.concatenate([np.zeros((words.shape[0], pad), np.uint8), words], axis=1)
    packed = np.packbits(words, axis=1)
    full = np.zeros((packed.shape[0], 8), dtype=np.uint8)
    full[:, 8 - packed.shape[1] :] = packed
    return full.view(">u8").ravel().astype(np.uint64)


# --------------------------------------------------------------------------------------------
# Procedure A


def disjointness(bits: ArrayLike, *, offset: int = 0) -> BasicTestResult:
    """T0, disjointness test: the 2^16 consecutive 48-bit words must be pairwise distinct.

    ``statistic`` is the number of distinct words; the test passes when it is 65,536.
    """
    b = as_bits(bits)
    if b.size < T0_BITS:
        raise InsufficientDataError(f"T0 needs {T0_BITS} bits, got {b.size}")
    words = _pack_words(b[:T0_BITS], T0_WORD_BITS)
    distinct = int(np.unique(words).size)
    return BasicTestResult(
        test="T0",
        name="disjointness",
        statistic=np.array([[distinct]], dtype=np.float64),
        labels=("distinct words",),
        bounds=(Bounds(T0_WORDS, T0_WORDS, True, True),),
        passed=np.array([distinct == T0_WORDS]),
        offsets=np.array([[offset, offset + T0_BITS]], dtype=np.int64),
        instances=("words 1-65536",),
        params=(("word_bits", T0_WORD_BITS), ("words", T0_WORDS)),
    )


def monobit(bits: ArrayLike, *, offset: int = 0, first: int = 1) -> BasicTestResult:
    """T1, monobit test: T1 = number of ones in 20,000 bits; passes if 9654 < T1 < 10346."""
    x = _as_sequences(bits, SEQUENCE_BITS, "T1")
    ones = x.sum(axis=1, dtype=np.int64).astype(np.float64)
    m = x.shape[0]
    return BasicTestResult(
        test="T1",
        name="monobit",
        statistic=ones[:, None],
        labels=("ones",),
        bounds=(T1_BOUNDS,),
        passed=T1_BOUNDS.mask(ones),
        offsets=_offsets(m, SEQUENCE_BITS, offset),
        instances=_sequence_labels(m, first),
    )


def poker(bits: ArrayLike, *, offset: int = 0, first: int = 1) -> BasicTestResult:
    """T2, poker test: T2 = (16/5000)·Σ f_i² − 5000 over the 5,000 disjoint 4-bit words;
    passes if 1.03 < T2 < 57.4."""
    x = _as_sequences(bits, SEQUENCE_BITS, "T2")
    m = x.shape[0]
    nib = x.reshape(m, SEQUENCE_BITS // 4, 4) @ np.array([8, 4, 2, 1], dtype=np.int64)
    rows = np.repeat(np.arange(m, dtype=np.int64) * 16, SEQUENCE_BITS // 4)
    freq = np.bincount(rows + nib.ravel(), minlength=16 * m).reshape(m, 16)
    sq = (freq * freq).sum(axis=1)
    # 16/5000·Σf² − 5000 = (16·Σf² − 25,000,000)/5000: one rounding, exact at the bounds
    t2 = (16 * sq - 25_000_000) / 5000.0
    return BasicTestResult(
        test="T2",
        name="poker",
        statistic=t2[:, None],
        labels=("T2",),
        bounds=(T2_BOUNDS,),
        passed=T2_BOUNDS.mask(t2),
        offsets=_offsets(m, SEQUENCE_BITS, offset),
        instances=_sequence_labels(m, first),
    )


def _runs(x: NDArray[np.uint8]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per row: counts ``(m, 2, 6)`` of runs of 0s/1s of lengths 1..5, >= 6; longest ``(m,)``."""
    m, n = x.shape
    start = np.ones((m, n), dtype=bool)
    start[:, 1:] = x[:, 1:] != x[:, :-1]
    flat = np.flatnonzero(start.ravel())
    lengths = np.diff(np.append(flat, m * n))
    row = flat // n
    value = x.ravel()[flat].astype(np.int64)
    cls = np.minimum(lengths, 6) - 1
    counts = np.bincount(row * 12 + value * 6 + cls, minlength=12 * m).reshape(m, 2, 6)
    first_run = np.searchsorted(flat, np.arange(m, dtype=np.int64) * n)
    longest = np.maximum.reduceat(lengths, first_run)
    return counts, longest


def runs(bits: ArrayLike, *, offset: int = 0, first: int = 1) -> BasicTestResult:
    """T3, runs test: the numbers of runs of 0s and of 1s of lengths 1, 2, 3, 4, 5 and >= 6
    must each lie in its interval (inclusive): [2267, 2733], [1079, 1421], [502, 748],
    [223, 402], [90, 223], [90, 223]. Every run counts, the first and last included."""
    return runs_and_long_run(bits, offset=offset, first=first)[0]


def runs_and_long_run(
    bits: ArrayLike, *, offset: int = 0, first: int = 1
) -> tuple[BasicTestResult, BasicTestResult]:
    """T3 and T4 from one pass over the runs of each sequence (:func:`runs`, :func:`long_run`)."""
    x = _as_sequences(bits, SEQUENCE_BITS, "T3")
    m = x.shape[0]
    counts, longest = _runs(x)
    stat = counts.reshape(m, 12).astype(np.float64)
    bounds = T3_BOUNDS + T3_BOUNDS
    ok = np.ones(m, dtype=bool)
    for j, bd in enumerate(bounds):
        ok &= bd.mask(stat[:, j])
    labels = tuple(
        f"{v}s length {k}" if k < 6 else f"{v}s length >=6" for v in (0, 1) for k in range(1, 7)
    )
    t3 = BasicTestResult(
        test="T3",
        name="runs",
        statistic=stat,
        labels=labels,
        bounds=bounds,
        passed=ok,
        offsets=_offsets(m, SEQUENCE_BITS, offset),
        instances=_sequence_labels(m, first),
    )
    return t3, _long_run_result(longest, offset, first)


def long_run(bits: ArrayLike, *, offset: int = 0, first: int = 1) -> BasicTestResult:
    """T4, long run test: fails when a run (of 0s or 1s) of length >= 34 occurs.

    ``statistic`` is the longest run's length; the test passes when it is below 34.
    """
    return runs_and_long_run(bits, offset=offset, first=first)[1]


def _long_run_result(longest: NDArray[np.int64], offset: int, first: int) -> BasicTestResult:
    m = longest.shape[0]
    stat = longest.astype(np.float64)
    return BasicTestResult(
        test="T4",
        name="long run",
        statistic=stat[:, None],
        labels=("longest run",),
        bounds=(T4_BOUNDS,),
        passed=T4_BOUNDS.mask(stat),
        offsets=_offsets(m, SEQUENCE_BITS, offset),
        instances=_sequence_labels(m, first),
    )


def autocorrelation_shifts(bits: ArrayLike) -> NDArray[np.int64]:
    """Z_τ = Σ_{j=1}^{5000} b_j ⊕ b_{j+τ} for τ = 1..5000 on the first 10,000 bits of each row.

    Returns an ``(m, 5000)`` array, column τ − 1. Computed as
    Σb_j + Σb_{j+τ} − 2·Σ b_j·b_{j+τ} with the correlation by FFT, rounded (exact: the
    rounding error is far below ½).
    """
    x = _as_sequences(bits, SEQUENCE_BITS, "T5")
    head = x[:, :T5_WINDOW].astype(np.float64)
    both = x[:, : T5_WINDOW + T5_SHIFTS].astype(np.float64)
    fa = scipy.fft.rfft(head, _FFT_SIZE, axis=1)
    fb = scipy.fft.rfft(both, _FFT_SIZE, axis=1)
    corr = scipy.fft.irfft(np.conj(fa) * fb, _FFT_SIZE, axis=1)[:, 1 : T5_SHIFTS + 1]
    prod = np.rint(corr).astype(np.int64)
    s_head = x[:, :T5_WINDOW].sum(axis=1, dtype=np.int64)
    csum = np.concatenate(
        [np.zeros((x.shape[0], 1), np.int64), np.cumsum(x[:, : T5_WINDOW + T5_SHIFTS], axis=1)],
        axis=1,
    )
    tau = np.arange(1, T5_SHIFTS + 1)
    s_shift = csum[:, tau + T5_WINDOW] - csum[:, tau]
    z: NDArray[np.int64] = s_head[:, None] + s_shift - 2 * prod
    return z


def autocorrelation(bits: ArrayLike, *, offset: int = 0, first: int = 1) -> BasicTestResult:
    """T5, autocorrelation test, as procedure A applies it (BSI's reading, see the methods page).

    On bits 1..10,000 of the sequence, Z_τ is computed for every shift τ = 1..5000 and τ₀ is
    the shift with the largest |Z_τ − 2500| (the smallest such τ on a tie); the test statistic
    is Z_τ₀ = Σ_{j=10001}^{15000} b_j ⊕ b_{j+τ₀} on the second half, and the test passes if
    2326 < Z_τ₀ < 2674. ``details`` holds τ₀ (``"tau0"``) and Z_τ₀ on the first half
    (``"z_first_half"``).
    """
    x = _as_sequences(bits, SEQUENCE_BITS, "T5")
    m = x.shape[0]
    z = autocorrelation_shifts(x)
    dev = np.abs(z - T5_WINDOW // 2)
    idx = np.argmax(dev, axis=1)
    tau0 = idx + 1
    j = np.arange(SEQUENCE_BITS // 2, SEQUENCE_BITS // 2 + T5_WINDOW)
    second = x[:, SEQUENCE_BITS // 2 : SEQUENCE_BITS // 2 + T5_WINDOW]
    shifted = np.take_along_axis(x, j[None, :] + tau0[:, None], axis=1)
    z2 = np.count_nonzero(second != shifted, axis=1)
    stat = z2.astype(np.float64)
    return BasicTestResult(
        test="T5",
        name="autocorrelation",
        statistic=stat[:, None],
        labels=("Z(tau0)",),
        bounds=(T5_BOUNDS,),
        passed=T5_BOUNDS.mask(stat),
        offsets=_offsets(m, SEQUENCE_BITS, offset),
        instances=_sequence_labels(m, first),
        details=(
            ("tau0", tau0.astype(np.float64)),
            ("z_first_half", z[np.arange(m), idx].astype(np.float64)),
        ),
    )


# --------------------------------------------------------------------------------------------
# Procedure B


def uniform_distribution(bits: ArrayLike, *, offset: int = 0) -> tuple[BasicTestResult, int]:
    """T6 as step 1 of procedure B: k = 1, n = 100,000, a = 0.025.

    ``statistic`` is ν(1), the relative frequency of ones in the first 100,000 bits; the test
    passes if |ν(1) − ½| < 0.025. Returns the result and the bits used (100,000).
    """
    b = as_bits(bits)
    if b.size < T6_BITS:
        raise InsufficientDataError(f"T6 needs {T6_BITS} bits, got {b.size}")
    ones = int(np.count_nonzero(b[:T6_BITS]))
    nu = ones / T6_BITS
    ok = abs(2 * ones - T6_BITS) < round(2 * T6_A * T6_BITS)
    return (
        BasicTestResult(
            test="T6",
            name="uniform distribution",
            statistic=np.array([[nu]]),
            labels=("nu(1)",),
            bounds=(T6_BOUNDS,),
            passed=np.array([ok]),
            offsets=np.array([[offset, offset + T6_BITS]], dtype=np.int64),
            instances=("bits 1-100000",),
            details=(("ones", np.array([float(ones)])),),
            params=(("k", 1), ("n", T6_BITS), ("a", T6_A)),
        ),
        T6_BITS,
    )


def _collect(
    b: NDArray[np.uint8], width: int, per_class: int, test: str
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Disjoint ``width``-bit tuples from the start of ``b``; class = the first width − 1 bits.

    For each of the 2^(width−1) classes the first ``per_class`` tuples of that class are kept
    (later tuples of a full class are skipped but consumed). Returns per class the number of
    kept tuples whose last bit is 1, the number kept (``per_class``), and the bits consumed:
    up to and including the tuple that completed the last class to fill.
    """
    classes = 1 << (width - 1)
    need = classes * per_class
    window = min(b.size // width, need + need // 8 + 4096)
    while True:
        t = b[: window * width].reshape(window, width).astype(np.int64)
        prefix = t[:, :-1] @ (1 << np.arange(width - 2, -1, -1, dtype=np.int64))
        last = t[:, -1]
        ones = np.zeros(classes, dtype=np.int64)
        ends = np.zeros(classes, dtype=np.int64)
        complete = True
        for c in range(classes):
            idx = np.flatnonzero(prefix == c)[:per_class]
            if idx.size < per_class:
                complete = False
                break
            ones[c] = int(last[idx].sum())
            ends[c] = int(idx[-1]) + 1
        if complete:
            return ones, np.full(classes, per_class, dtype=np.int64), int(ends.max()) * width
        if window >= b.size // width:
            raise InsufficientDataError(
                f"{test} needs {per_class} {width}-bit tuples of each of its {classes} "
                f"classes; the {b.size} bits left hold too few"
            )
        window = min(b.size // width, window * 2)


def pair_dependence(bits: ArrayLike, *, offset: int = 0) -> tuple[BasicTestResult, int]:
    """T6 on 2-tuples as step 2 of procedure B: n = 100,000, a = 0.02.

    The bits are read as disjoint pairs; TF(0) and TF(1) are the first 100,000 pairs whose first
    bit is 0 and 1. With ν₀(1) the relative frequency of pairs (0,1) in TF(0) and ν₁(0) that of
    pairs (1,0) in TF(1), ``statistic`` is ν₀(1) + ν₁(0) − 1 and the test passes if its absolute
    value is below 0.02. Returns the result and the bits used.
    """
    b = as_bits(bits)
    ones, n, used = _collect(b, 2, TUPLES_PER_CLASS, "step 2 of procedure B (T6)")
    c01 = int(ones[0])
    c10 = int(n[1] - ones[1])
    dev = c01 + c10 - TUPLES_PER_CLASS
    limit = round(T6B_A * TUPLES_PER_CLASS)
    return (
        BasicTestResult(
            test="T6",
            name="uniform distribution (pairs)",
            statistic=np.array([[dev / TUPLES_PER_CLASS]]),
            labels=("nu0(1) + nu1(0) - 1",),
            bounds=(T6B_BOUNDS,),
            passed=np.array([abs(dev) < limit]),
            offsets=np.array([[offset, offset + used]], dtype=np.int64),
            instances=("TF(0), TF(1)",),
            details=(("n01", np.array([float(c01)])), ("n10", np.array([float(c10)]))),
            params=(("k", 2), ("n", TUPLES_PER_CLASS), ("a", T6B_A)),
        ),
        used,
    )


def homogeneity_statistic(f0: ArrayLike, f1: ArrayLike, n: int) -> NDArray[np.float64]:
    """χ² of the comparative (homogeneity) test of two samples of size n over {0, 1}.

    ``f0``, ``f1``: number of ones in each sample. Σ over samples i and values x of
    (f_i[x] − n·p(x))² / (n·p(x)) with p(x) the pooled relative frequency; a term with
    n·p(x) = 0 is 0.
    """
    a = np.asarray(f0, dtype=np.float64)
    c = np.asarray(f1, dtype=np.float64)
    total = 0.0 * a
    for s0, s1 in ((a, c), (n - a, n - c)):
        e = (s0 + s1) / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            term = ((s0 - e) ** 2 + (s1 - e) ** 2) / e
        total = total + np.where(e > 0, term, 0.0)
    return np.asarray(total, dtype=np.float64)


def multinomial_comparison(
    bits: ArrayLike, width: int, *, offset: int = 0
) -> tuple[BasicTestResult, int]:
    """T7, comparative test for multinomial distributions, as steps 3 (width 3) and 4 (width 4)
    of procedure B: n = 100,000 tuples per class, rejection limit 15.13.

    The bits are read as disjoint ``width``-tuples; TF(p) is the first 100,000 tuples with prefix
    p (the first width − 1 bits). For each suffix s of the prefix (its last width − 2 bits),
    TF(0‖s) and TF(1‖s) are compared: does the last bit depend on the bit width − 1 places
    back, given the bits in between? One basic test per comparison (2 for width 3, 4 for
    width 4); each passes if χ² <= 15.13. Returns the result and the bits used.
    """
    if width not in (3, 4):
        raise ValueError(f"procedure B applies T7 to 3- and 4-tuples, got width {width}")
    b = as_bits(bits)
    step = 3 if width == 3 else 4
    ones, _, used = _collect(b, width, TUPLES_PER_CLASS, f"step {step} of procedure B (T7)")
    half = 1 << (width - 2)
    f0 = ones[:half]
    f1 = ones[half:]
    chi2 = homogeneity_statistic(f0, f1, TUPLES_PER_CLASS)
    fmt = f"0{width - 2}b"
    instances = tuple(
        "TF({}) vs TF({})".format(",".join("0" + format(s, fmt)), ",".join("1" + format(s, fmt)))
        for s in range(half)
    )
    return (
        BasicTestResult(
            test="T7",
            name="comparative test for multinomial distributions",
            statistic=chi2[:, None],
            labels=("chi2",),
            bounds=(T7_BOUNDS,),
            passed=T7_BOUNDS.mask(chi2),
            offsets=np.tile(np.array([offset, offset + used], dtype=np.int64), (half, 1)),
            instances=instances,
            details=(
                ("ones_prefix_0", f0.astype(np.float64)),
                ("ones_prefix_1", f1.astype(np.float64)),
            ),
            params=(("h", width), ("n", TUPLES_PER_CLASS), ("limit", T7_LIMIT)),
        ),
        used,
    )


def _harmonic_g(n: int) -> NDArray[np.float64]:
    """g(i) = (1/ln 2)·Σ_{k=1}^{i−1} 1/k for i = 0..n (g(0) = g(1) = 0)."""
    inv = np.zeros(n + 1)
    inv[2:] = 1.0 / np.arange(1, n, dtype=np.float64)
    return np.cumsum(inv) / math.log(2.0)


def coron_statistic(words: ArrayLike, q: int, k: int) -> float:
    """Coron's f_C on symbols w_1..w_{Q+K}: (1/K)·Σ_{n=Q+1}^{Q+K} g(A_n).

    A_n is the distance back to the previous occurrence of w_n, or n when there is none
    (Maurer's convention); g as in :func:`_harmonic_g`. Coron, "On the security of random
    sources", PKC 1999.
    """
    w = np.asarray(words, dtype=np.int64)[: q + k]
    if w.size < q + k:
        raise InsufficientDataError(f"Coron's test needs Q + K = {q + k} words, got {w.size}")
    n = w.size
    order = np.argsort(w, kind="stable")
    sw = w[order]
    prev = np.full(n, -1, dtype=np.int64)
    same = sw[1:] == sw[:-1]
    prev[order[1:][same]] = order[:-1][same]
    pos = np.arange(n, dtype=np.int64)
    dist = np.where(prev >= 0, pos - prev, pos + 1)
    g = _harmonic_g(int(dist[q:].max()))
    return float(g[dist[q:]].sum() / k)


def entropy(bits: ArrayLike, *, offset: int = 0) -> tuple[BasicTestResult, int]:
    """T8, entropy test (Coron's test) as step 5 of procedure B: L = 8, Q = 2560, K = 256,000.

    The bits are read as disjoint 8-bit words (first bit most significant); ``statistic`` is
    Coron's f_C, and the test passes if f_C > 7.976. Returns the result and the bits used.
    """
    b = as_bits(bits)
    if b.size < T8_BITS:
        raise InsufficientDataError(f"T8 needs {T8_BITS} bits, got {b.size}")
    words = np.packbits(b[:T8_BITS])
    fc = coron_statistic(words, T8_Q, T8_K)
    return (
        BasicTestResult(
            test="T8",
            name="entropy",
            statistic=np.array([[fc]]),
            labels=("f_C",),
            bounds=(T8_BOUNDS,),
            passed=np.array([T8_BOUNDS.contains(fc)]),
            offsets=np.array([[offset, offset + T8_BITS]], dtype=np.int64),
            instances=(f"words 1-{T8_Q + T8_K}",),
            params=(("L", T8_L), ("Q", T8_Q), ("K", T8_K), ("limit", T8_LIMIT)),
        ),
        T8_BITS,
    )
