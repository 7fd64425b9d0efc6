"""IID track of SP 800-90B: permutation testing (§5.1), chi-square tests (§5.2.1, §5.2.2) and
the longest-repeated-substring test (§5.2.3); the IID min-entropy is the MCV estimate (§6.3.1).

Conventions shared with the NIST SP800-90B_EntropyAssessment tool, so that statistics and
verdicts agree with it: binary data go through conversion I (Hamming weight of 8-bit blocks) for
the directional-run, periodicity and covariance statistics and conversion II (8-bit blocks read
as bytes) for the collision statistics (§5.1, "binary data"); the median of binary data is 0.5;
the excursion, covariance (non-binary) and compression statistics use the untranslated values;
the compression statistic is the bzip2 (block size 5) length of the values written in decimal
separated by single spaces. A statistic's permutation counts stop once it has more than five
permuted values on each side of (or equal to) the original, and the test fails when any of the 19
statistics has at most five on one side after 10,000 permutations (§5.1).
"""

from __future__ import annotations

import bz2
import math
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evaltool.engines._input import require_min_length
from evaltool.engines.stats.sp800_90b._common import (
    EstimatorResult,
    as_samples,
    prepare_samples,
)
from evaltool.engines.stats.sp800_90b._entropic import most_common_value
from evaltool.engines.stats.sp800_90b._tuples import _suffix_lcp

#: Names of the 19 permutation-test statistics (§5.1.1-§5.1.12), in the reference tool's order.
STATISTICS: tuple[str, ...] = (
    "excursion",
    "numDirectionalRuns",
    "lenDirectionalRuns",
    "numIncreasesDecreases",
    "numRunsMedian",
    "lenRunsMedian",
    "avgCollision",
    "maxCollision",
    "periodicity(1)",
    "periodicity(2)",
    "periodicity(8)",
    "periodicity(16)",
    "periodicity(32)",
    "covariance(1)",
    "covariance(2)",
    "covariance(8)",
    "covariance(16)",
    "covariance(32)",
    "compression",
)
_LAGS = np.array([1, 2, 8, 16, 32], dtype=np.int64)
_N_STATS = len(STATISTICS)
_COMPRESSION = _N_STATS - 1
#: §5.1: number of permutations.
PERMUTATIONS = 10_000
#: §5.2: significance level of the chi-square and LRS tests.
ALPHA = 0.001


@dataclass(frozen=True, slots=True)
class PermutationTestResult:
    """Permutation testing of §5.1.

    Attributes
    ----------
    passed:
        ``True`` when every statistic's original value ranks among neither the five largest nor
        the five smallest (counting ties on both sides).
    statistics:
        Original value of each statistic (keys :data:`STATISTICS`).
    counts:
        ``(C0, C1, C2)`` per statistic: permuted values greater than, equal to and less than the
        original, counted until the statistic was decided.
    n_permutations:
        Permutations requested; ``permutations_run`` how many were drawn before every statistic
        was decided.
    seed:
        Seed of the permutation generator.
    """

    passed: bool
    statistics: Mapping[str, float]
    counts: Mapping[str, tuple[int, int, int]]
    n_permutations: int
    permutations_run: int
    seed: int


@dataclass(frozen=True, slots=True)
class ChiSquareResult:
    """One chi-square test of §5.2.1 / §5.2.2: ``statistic``, degrees of freedom, p-value."""

    statistic: float
    df: int
    pvalue: float


@dataclass(frozen=True, slots=True)
class LRSTestResult:
    """Longest-repeated-substring test of §5.2.3.

    ``w`` is the LRS length, ``p_col`` the collision probability ``sum p_i^2``, ``pvalue`` the
    probability ``Pr(X >= 1)`` of at least one length-``w`` collision among the ``C(L-w+1, 2)``
    pairs under the IID hypothesis; the test passes when it is at least 0.001.
    """

    w: int
    p_col: float
    pvalue: float
    passed: bool


@dataclass(frozen=True, slots=True)
class IIDResult:
    """The IID track (§5) and the resulting min-entropy per sample (§6.3.1 MCV estimate).

    ``passed`` is the conjunction of the permutation tests, both chi-square tests and the LRS
    test. ``h_original`` is the MCV estimate on the samples, ``h_bitstring`` on the bit string
    (samples with more than two values only), ``h_assessed = min(B, H_original, B*H_bitstring)``.
    """

    passed: bool
    bits_per_sample: int
    n_samples: int
    alphabet_size: int
    permutation: PermutationTestResult
    chi_square_independence: ChiSquareResult
    chi_square_goodness_of_fit: ChiSquareResult
    lrs: LRSTestResult
    mcv: EstimatorResult
    h_original: float
    h_bitstring: float | None
    h_assessed: float
    bitstring_mcv: EstimatorResult | None = field(default=None)


# --------------------------------------------------------------------------- helpers


@numba.njit(cache=True, nogil=True)
def _accumulated_proportions(counts: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    # Proportions as the reference tool forms them: 1/n added once per occurrence.
    step = 1.0 / n
    out = np.zeros(counts.size)
    for v in range(counts.size):
        acc = 0.0
        for _ in range(counts[v]):
            acc += step
        out[v] = acc
    return out


def _proportions(symbols: NDArray[np.uint8], k: int) -> NDArray[np.float64]:
    counts = np.bincount(symbols, minlength=k).astype(np.int64)
    return np.asarray(_accumulated_proportions(counts, int(symbols.size)))


def _bins(expectations: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """§5.2.1: group cells, in increasing order of expectation, into bins of expectation >= 5."""
    order = np.lexsort((np.arange(expectations.size), expectations))
    bin_of = np.empty(expectations.size, dtype=np.int64)
    sums: list[float] = []
    cur_bin = 0
    cur = 0.0
    for idx in order:
        if cur >= 5.0:
            sums.append(cur)
            cur_bin += 1
            cur = 0.0
        bin_of[idx] = cur_bin
        cur += float(expectations[idx])
    if cur_bin != 0 and cur < 5.0:
        bin_of[bin_of == cur_bin] = cur_bin - 1
        sums[cur_bin - 1] += cur
    else:
        sums.append(cur)
    return bin_of, np.array(sums)


def _chi_pvalue(statistic: float, df: int) -> float:
    if df <= 0 or statistic <= 0.0:
        return 1.0
    return float(stats.chi2.sf(statistic, df))


def chi_square_independence(symbols: NDArray[np.uint8], alphabet_size: int) -> ChiSquareResult:
    """Chi-square test of independence, SP 800-90B §5.2.1.

    Non-binary data: non-overlapping pairs, expected counts ``p_i p_j floor(L/2)`` grouped into
    bins of expectation at least 5, ``df = bins - k``. Binary data (§5.2.1.2): non-overlapping
    ``m``-bit tuples with the largest ``m <= 11`` such that ``min(p0, p1)^m floor(L/m) >= 5``,
    ``df = 2^m - 2``.
    """
    n = int(symbols.size)
    k = int(alphabet_size)
    if k == 2:
        p1 = int(np.count_nonzero(symbols)) / n
        p0 = 1.0 - p1
        min_p = min(p0, p1)
        m = 11
        while m > 1:
            if min_p**m * (n // m) >= 5:
                break
            m -= 1
        if m < 2:
            return ChiSquareResult(0.0, 0, 1.0)
        blocks = n // m
        weights = (1 << np.arange(m - 1, -1, -1)).astype(np.int64)
        tuples = symbols[: blocks * m].reshape(blocks, m).astype(np.int64) @ weights
        occ = np.bincount(tuples, minlength=1 << m)
        w = np.array([bin(i).count("1") for i in range(1 << m)])
        e = p1**w * p0 ** (m - w) * blocks
        t = float(np.sum((occ - e) ** 2 / e))
        df = (1 << m) - 2
        return ChiSquareResult(t, df, _chi_pvalue(t, df))
    p = _proportions(symbols, k)
    e = (p[:, None] * p[None, :]).ravel() * math.floor(n * 0.5)
    bin_of, sums = _bins(e)
    pairs = symbols[: 2 * (n // 2)].reshape(-1, 2).astype(np.int64)
    cells = pairs[:, 0] * k + pairs[:, 1]
    observed = np.bincount(bin_of[cells], minlength=sums.size)
    t = float(np.sum((observed - sums) ** 2 / sums))
    df = int(sums.size) - k
    return ChiSquareResult(t, df, _chi_pvalue(t, df))


def chi_square_goodness_of_fit(symbols: NDArray[np.uint8], alphabet_size: int) -> ChiSquareResult:
    """Chi-square goodness-of-fit test, SP 800-90B §5.2.2.

    The data are cut into 10 blocks of ``floor(L/10)``; each block's symbol counts are compared
    with ``p_i floor(L/10)`` (bins of expectation at least 5), ``df = 9 (bins - 1)``. For binary
    data ``df = 9`` with the two symbols as cells (§5.2.2.2).
    """
    n = int(symbols.size)
    k = int(alphabet_size)
    block = n // 10
    if k == 2:
        ones = int(np.count_nonzero(symbols))
        p_one = ones / n
        e0 = (1.0 - p_one) * block
        e1 = p_one * block
        o1 = symbols[: 10 * block].reshape(10, block).sum(axis=1, dtype=np.int64)
        o0 = block - o1
        t = float(np.sum((o0 - e0) ** 2 / e0 + (o1 - e1) ** 2 / e1))
        return ChiSquareResult(t, 9, _chi_pvalue(t, 9))
    p = _proportions(symbols, k)
    expected = p * math.floor(n / 10.0)
    bin_of, sums = _bins(expected)
    t = 0.0
    for j in range(10):
        part = symbols[j * block : (j + 1) * block]
        observed = np.bincount(bin_of[part], minlength=sums.size)
        t += float(np.sum((observed - sums) ** 2 / sums))
    df = 9 * (int(sums.size) - 1)
    return ChiSquareResult(t, df, _chi_pvalue(t, df))


def lrs_test(symbols: NDArray[np.uint8], alphabet_size: int) -> LRSTestResult:
    """Longest-repeated-substring test, SP 800-90B §5.2.3.

    Passes when ``Pr(X >= 1) = 1 - (1 - p_col^W)^C(L-W+1, 2) >= 0.001``.
    """
    n = int(symbols.size)
    p = _proportions(symbols, int(alphabet_size))
    p_col = float(np.sum(p * p))
    if p_col > 1.0 - 2.0**-63:
        return LRSTestResult(n - 1, p_col, 1.0, True)
    _, lcp = _suffix_lcp(symbols)
    w = int(lcp.max())
    pairs = (n - w + 1) * (n - w) // 2
    log_none = pairs * math.log1p(-(p_col**w))
    pvalue = -math.expm1(log_none)
    return LRSTestResult(w, p_col, pvalue, math.log(0.999) >= log_none)


# --------------------------------------------------------------------------- permutation tests


@numba.njit(cache=True, nogil=True)
def _conversion1(s: NDArray[np.uint8]) -> NDArray[np.int64]:
    # §5.1 conversion I: number of ones in each 8-bit block (the last block may be short).
    m = (s.size + 7) // 8
    out = np.zeros(m, dtype=np.int64)
    for i in range(s.size):
        out[i // 8] += s[i]
    return out


@numba.njit(cache=True, nogil=True)
def _conversion2(s: NDArray[np.uint8]) -> NDArray[np.int64]:
    # §5.1 conversion II: each 8-bit block read as an integer, most significant bit first.
    m = (s.size + 7) // 8
    out = np.zeros(m, dtype=np.int64)
    for i in range(s.size):
        out[i // 8] += np.int64(s[i]) << (7 - i % 8)
    return out


@numba.njit(cache=True, nogil=True)
def _run_stats(signs: NDArray[np.int8]) -> tuple[int, int, int]:
    # number of runs, longest run, count of +1
    m = signs.size
    if m == 0:
        return 0, 0, 0
    runs = 1
    longest = 0
    run = 1
    plus = 1 if signs[0] == 1 else 0
    for i in range(1, m):
        if signs[i] == 1:
            plus += 1
        if signs[i] == signs[i - 1]:
            run += 1
        else:
            runs += 1
            if run > longest:
                longest = run
            run = 1
    if run > longest:
        longest = run
    return runs, longest, plus


@numba.njit(cache=True, nogil=True)
def _collision_walks(c: NDArray[np.int64], kk: int) -> tuple[int, int, int]:
    # §5.1.7-§5.1.8: walk from the start until a value repeats (a collision of length j + 1),
    # restart after it; returns the sum and number of collision lengths and the longest. One
    # pass: seen[v] == epoch marks the values met since the current walk started.
    seen = np.zeros(kk, dtype=np.int64)
    epoch = 1
    start = 0
    total = 0
    count = 0
    biggest = 0
    for p in range(c.size):
        v = c[p]
        if seen[v] == epoch:
            length = p - start + 1
            total += length
            count += 1
            if length > biggest:
                biggest = length
            epoch += 1
            start = p + 1
        else:
            seen[v] = epoch
    return total, count, biggest


@numba.njit(cache=True, nogil=True)
def _numeric_stats(
    sym: NDArray[np.uint8],
    raw: NDArray[np.uint8],
    binary: bool,
    k: int,
    rawmean: float,
    median: float,
    active: NDArray[np.bool_],
    out: NDArray[np.float64],
) -> None:
    n = sym.size
    if active[0]:  # §5.1.1 excursion on the untranslated values
        acc = 0.0
        best = 0.0
        for i in range(n):
            acc += raw[i]
            d = abs(acc - (i + 1) * rawmean)
            if d > best:
                best = d
        out[0] = best
    if binary:
        c1 = _conversion1(sym)
    else:
        c1 = sym.astype(np.int64)
    # one buffer for both sign sequences: each 8 MB allocation costs page faults per permutation
    sign_buf = np.empty(n, dtype=np.int8)
    if active[1] or active[2] or active[3]:  # §5.1.2-§5.1.4 directional runs
        m = c1.size - 1
        signs = sign_buf[: max(m, 0)]
        for i in range(m):
            signs[i] = -1 if c1[i] > c1[i + 1] else 1
        runs, longest, plus = _run_stats(signs)
        out[1] = runs
        out[2] = longest
        out[3] = max(plus, m - plus)
    if active[4] or active[5]:  # §5.1.5-§5.1.6 runs based on the median
        signs = sign_buf
        for i in range(n):
            signs[i] = -1 if sym[i] < median else 1
        runs, longest, plus = _run_stats(signs)
        out[4] = runs
        out[5] = longest
    if active[6] or active[7]:  # §5.1.7-§5.1.8 collisions
        if binary:
            c = _conversion2(sym)
            kk = 256
        else:
            c = c1  # the samples as int64 already
            kk = k
        total, count, biggest = _collision_walks(c, kk)
        out[6] = total / count if count > 0 else np.nan
        out[7] = biggest
    for li in range(5):  # §5.1.9 periodicity
        if active[8 + li]:
            p = _LAGS[li]
            t = 0
            for i in range(c1.size - p):
                if c1[i] == c1[i + p]:
                    t += 1
            out[8 + li] = t
    if not active[13:18].any():
        return
    cov = c1 if binary else raw.astype(np.int64)
    for li in range(5):  # §5.1.10 covariance
        if active[13 + li]:
            p = _LAGS[li]
            t = 0
            for i in range(cov.size - p):
                t += cov[i] * cov[i + p]
            out[13 + li] = t


@numba.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, nogil=True)
def _next(state: NDArray[np.uint64]) -> np.uint64:
    # xoshiro256** (Blackman and Vigna), one 64-bit output.
    result = _rotl(state[1] * np.uint64(5), 7) * np.uint64(9)
    t = state[1] << np.uint64(17)
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = _rotl(state[3], 45)
    return result


@numba.njit(cache=True, nogil=True)
def _shuffle(sym: NDArray[np.uint8], raw: NDArray[np.uint8], state: NDArray[np.uint64]) -> None:
    # Fisher-Yates shuffle of both views of the sequence with one uniform permutation; the
    # index below i+1 is drawn without bias by rejection on the top 32 bits.
    for i in range(sym.size - 1, 0, -1):
        bound = np.uint64(i + 1)
        limit = (np.uint64(1) << np.uint64(32)) - ((np.uint64(1) << np.uint64(32)) % bound)
        while True:
            r = _next(state) >> np.uint64(32)
            if r < limit:
                break
        j = np.int64(r % bound)
        a = sym[i]
        sym[i] = sym[j]
        sym[j] = a
        b = raw[i]
        raw[i] = raw[j]
        raw[j] = b


def _initial_state(seed: int) -> NDArray[np.uint64]:
    # SplitMix64 expansion of the seed into the xoshiro256** state.
    mask = (1 << 64) - 1
    x = int(seed) & mask
    out = []
    for _ in range(4):
        x = (x + 0x9E3779B97F4A7C15) & mask
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return np.array(out, dtype=np.uint64)


_DIGITS = np.zeros((256, 4), dtype=np.uint8)
_DIGIT_LEN = np.zeros(256, dtype=np.int64)
for _v in range(256):
    _txt = f"{_v} ".encode()
    _DIGITS[_v, : len(_txt)] = np.frombuffer(_txt, dtype=np.uint8)
    _DIGIT_LEN[_v] = len(_txt)


def compression_statistic(raw: NDArray[np.uint8]) -> int:
    """§5.1.11: length of the bzip2 (block size 5) encoding of the values as decimal text."""
    cells = _DIGITS[raw]
    mask = np.arange(4)[None, :] < _DIGIT_LEN[raw][:, None]
    text = cells[mask].tobytes()[:-1]
    return len(bz2.compress(text, compresslevel=5))


def _median(symbols: NDArray[np.uint8], k: int) -> float:
    if k == 2:
        return 0.5
    n = symbols.size
    srt = np.sort(symbols)
    half = n // 2
    if n % 2 == 1:
        return float(srt[half])
    return (float(srt[half]) + float(srt[half - 1])) / 2.0


def _permuted_statistics(
    sym: NDArray[np.uint8],
    raw: NDArray[np.uint8],
    binary: bool,
    k: int,
    rawmean: float,
    median: float,
    active: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """The statistics of one permuted sequence that ``active`` asks for (-1 for the others)."""
    out = np.full(_N_STATS, -1.0)
    _numeric_stats(sym, raw, binary, k, rawmean, median, active, out)
    if active[_COMPRESSION]:
        out[_COMPRESSION] = compression_statistic(raw)
    return out


def permutation_tests(
    symbols: NDArray[np.uint8],
    raw: NDArray[np.uint8],
    alphabet_size: int,
    *,
    n_permutations: int = PERMUTATIONS,
    seed: int = 0,
    workers: int = 2,
) -> PermutationTestResult:
    """Permutation testing procedure of SP 800-90B §5.1 with its 19 statistics.

    Parameters
    ----------
    symbols:
        Translated samples (``0 .. k-1``).
    raw:
        The same samples before translation (used by excursion, covariance and compression).
    alphabet_size:
        ``k``; ``k == 2`` selects the binary conversions.
    n_permutations:
        Number of permutations (10,000 in §5.1).
    seed:
        Seed of the permutation generator (results are reproducible for a given seed).
    workers:
        Threads computing the statistics of permuted sequences, a few permutations ahead
        (results do not depend on it).
    """
    n = int(symbols.size)
    require_min_length(n, 64, test="SP 800-90B permutation tests", unit="samples")
    k = int(alphabet_size)
    binary = k == 2
    rawmean = float(np.sum(raw, dtype=np.int64)) / n
    median = _median(symbols, k)
    active = np.ones(_N_STATS, dtype=np.bool_)
    original = np.full(_N_STATS, -1.0)
    _numeric_stats(symbols, raw, binary, k, rawmean, median, active, original)
    original[_COMPRESSION] = compression_statistic(raw)
    counts = np.zeros((_N_STATS, 3), dtype=np.int64)
    sym = symbols.copy()
    rw = raw.copy()
    state = _initial_state(seed)
    done = 0
    total = int(n_permutations)
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    # Permutations are drawn in order on this thread and their statistics computed by the pool,
    # a few permutations ahead (each on its own copy, with the statistics undecided when it is
    # drawn, a superset of those undecided when it is counted). They are counted in order with
    # the batching below, so results do not depend on the threads; the few drawn ahead when
    # the loop stops are discarded.
    ahead: deque[Future[NDArray[np.float64]]] = deque()
    drawn = 0

    def next_permuted() -> NDArray[np.float64]:
        nonlocal drawn
        if pool is None:
            _shuffle(sym, rw, state)
            drawn += 1
            return _permuted_statistics(sym, rw, binary, k, rawmean, median, active)
        while len(ahead) < workers + 1 and drawn < total:
            _shuffle(sym, rw, state)
            drawn += 1
            ahead.append(pool.submit(_permuted_statistics, sym.copy(), rw.copy(), binary, k,
                                     rawmean, median, active.copy()))
        return ahead.popleft().result()

    try:
        while done < total and active.any():
            # While the compression statistic is undecided, permutations are counted in batches
            # of `workers` (every one counts towards `done`, as before the look-ahead).
            size = max(1, workers) if active[_COMPRESSION] else 1
            batch = [next_permuted() for _ in range(min(size, total - done))]
            for permuted in batch:
                done += 1
                for j in np.flatnonzero(active):
                    if permuted[j] > original[j]:
                        counts[j, 0] += 1
                    elif permuted[j] == original[j]:
                        counts[j, 1] += 1
                    else:
                        counts[j, 2] += 1
                    if counts[j, 0] + counts[j, 1] > 5 and counts[j, 1] + counts[j, 2] > 5:
                        active[j] = False
    finally:
        if pool is not None:
            for fut in ahead:
                fut.cancel()
            pool.shutdown(wait=True)
    passed = bool(np.all((counts[:, 0] + counts[:, 1] > 5) & (counts[:, 1] + counts[:, 2] > 5)))
    return PermutationTestResult(
        passed=passed,
        statistics={name: float(original[i]) for i, name in enumerate(STATISTICS)},
        counts={
            name: (int(counts[i, 0]), int(counts[i, 1]), int(counts[i, 2]))
            for i, name in enumerate(STATISTICS)
        },
        n_permutations=int(n_permutations),
        permutations_run=done,
        seed=int(seed),
    )


def assess_iid(
    samples: ArrayLike,
    bits_per_sample: int,
    *,
    n_permutations: int = PERMUTATIONS,
    seed: int = 0,
    min_samples: int = 1_000_000,
) -> IIDResult:
    """Run the IID track of SP 800-90B (§5) and the MCV estimate (§6.3.1) on samples.

    Parameters
    ----------
    samples, bits_per_sample:
        As for :func:`~evaltool.engines.stats.sp800_90b.assess_non_iid`.
    n_permutations, seed:
        Permutation count and generator seed of the permutation tests.
    min_samples:
        Fewest samples accepted (§3.1.1: 1,000,000).
    """
    raw = as_samples(samples, bits_per_sample)
    prepared = prepare_samples(raw, bits_per_sample)
    n = int(raw.size)
    require_min_length(
        n, max(int(min_samples), 64), test="SP 800-90B IID assessment", unit="samples"
    )
    k = prepared.alphabet_size
    require_min_length(k, 2, test="SP 800-90B IID assessment", unit="distinct sample values")
    symbols = prepared.symbols
    perm = permutation_tests(symbols, raw, k, n_permutations=n_permutations, seed=seed)
    indep = chi_square_independence(symbols, k)
    gof = chi_square_goodness_of_fit(symbols, k)
    lrs = lrs_test(symbols, k)
    passed = perm.passed and indep.pvalue >= ALPHA and gof.pvalue >= ALPHA and lrs.passed
    width = prepared.bits_per_sample
    mcv = most_common_value(symbols)
    h_original = min(float(width), mcv.min_entropy)
    h_assessed = h_original
    bit_mcv: EstimatorResult | None = None
    h_bitstring: float | None = None
    if k > 2:
        bit_mcv = most_common_value(prepared.bits)
        h_bitstring = min(1.0, bit_mcv.min_entropy)
        h_assessed = min(h_assessed, width * h_bitstring)
    return IIDResult(
        passed=bool(passed),
        bits_per_sample=width,
        n_samples=n,
        alphabet_size=k,
        permutation=perm,
        chi_square_independence=indep,
        chi_square_goodness_of_fit=gof,
        lrs=lrs,
        mcv=mcv,
        h_original=h_original,
        h_bitstring=h_bitstring,
        h_assessed=h_assessed,
        bitstring_mcv=bit_mcv,
    )
