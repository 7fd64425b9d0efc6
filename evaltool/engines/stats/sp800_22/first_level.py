"""The 15 first-level tests of NIST SP 800-22 rev. 1a, vectorised over sequences.

Every test takes ``bits``: a 1-D array of n bits (one sequence) or a 2-D ``(m, n)`` array (m
sequences of n bits, one per row), 0/1 values, and returns an
:class:`~evaltool.engines.stats.sp800_22.results.Sp80022Result` with one row of p-values per
sequence. Defaults are the reference suite's (sts-2.1.2) and the p-values reproduce that
implementation, including where it departs from the document's text; each such point is named
in the test's docstring, with the option that gives the document's variant.

Too few bits for a test to be computed at all raises
:class:`~evaltool.errors.InsufficientDataError`; the document's recommended minimum lengths are in
:data:`RECOMMENDED_MIN_BITS` (callers decide whether to enforce them).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray
from scipy.special import erf, erfc, gammaincc, gammaln

from evaltool.engines._input import as_bits, require_min_length
from evaltool.engines.stats.sp800_22 import _kernels
from evaltool.engines.stats.sp800_22.results import Sp80022Result
from evaltool.engines.stats.sp800_22.templates import (
    is_aperiodic,
    reference_templates,
    template_string,
)
from evaltool.errors import InsufficientDataError

RECOMMENDED_MIN_BITS: dict[str, int] = {
    "frequency": 100,
    "block-frequency": 100,
    "cumulative-sums": 100,
    "runs": 100,
    "longest-run": 128,
    "rank": 38_912,
    "dft": 1_000,
    "non-overlapping-template": 8 * 100,
    "overlapping-template": 1_000_000,
    "universal": 387_840,
    "approximate-entropy": 100,
    "random-excursions": 1_000_000,
    "random-excursions-variant": 1_000_000,
    "serial": 100,
    "linear-complexity": 1_000_000,
}
"""Input size recommendations of SP 800-22 rev. 1a §2.x.7 (rank: 38·M·Q; universal: §2.9.7)."""

_SQRT2 = 1.41421356237309504880


def _as_matrix(bits: ArrayLike) -> NDArray[np.uint8]:
    """``bits`` as a C-contiguous ``(m, n)`` uint8 array of 0/1."""
    arr = np.asarray(bits)
    if arr.ndim == 1:
        return as_bits(arr).reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError(f"bits must be 1-D or 2-D (sequences × bits), got {arr.ndim}-D")
    if arr.dtype == np.bool_:
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"bits must be an integer or boolean array, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError("bits must contain only 0 and 1")
    if arr.shape[0] == 0:
        raise ValueError("bits holds no sequence")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _igamc(a: float | NDArray[np.float64], x: ArrayLike) -> NDArray[np.float64]:
    """Upper regularised incomplete gamma Q(a, x), 1 for x <= 0 as in Cephes ``igamc``."""
    xa = np.asarray(x, dtype=np.float64)
    safe = np.where(xa > 0, xa, 1.0)
    return np.asarray(np.where(xa > 0, gammaincc(a, safe), 1.0), dtype=np.float64)


def _result(
    test: str,
    n: int,
    statistic: ArrayLike,
    pvalues: ArrayLike,
    labels: tuple[str, ...],
    **params: object,
) -> Sp80022Result:
    stat = np.asarray(statistic, dtype=np.float64)
    pv = np.asarray(pvalues, dtype=np.float64)
    if stat.ndim == 1:
        stat = stat[:, None]
    if pv.ndim == 1:
        pv = pv[:, None]
    return Sp80022Result(
        test=test,
        n=n,
        statistic=stat,
        pvalues=pv,
        labels=labels,
        params=tuple(sorted(params.items())),
    )


# --------------------------------------------------------------------------------------------
# §2.1 Frequency (monobit)


def frequency(bits: ArrayLike) -> Sp80022Result:
    """Frequency (monobit) test, SP 800-22 rev. 1a §2.1.

    s_obs = |Σ(2ε_i − 1)| / √n, p = erfc(s_obs / √2). ``statistic`` is s_obs.
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    require_min_length(n, 1, test="frequency test")
    ones, _ = _kernels.ones_and_runs(x)
    s_obs = np.abs(2 * ones - n) / math.sqrt(n)
    return _result("frequency", n, s_obs, erfc(s_obs / _SQRT2), ("",))


# --------------------------------------------------------------------------------------------
# §2.2 Frequency within a block


def block_frequency(bits: ArrayLike, *, block_size: int = 128) -> Sp80022Result:
    """Frequency test within a block, SP 800-22 rev. 1a §2.2 (default M = 128).

    χ² = 4M Σ(π_i − ½)² over N = ⌊n/M⌋ blocks, p = Q(N/2, χ²/2); the last n mod M bits are unused.
    """
    x = _as_matrix(bits)
    m, n = x.shape
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    nb = n // block_size
    if nb < 1:
        raise InsufficientDataError(
            f"block frequency test needs n >= M = {block_size} bits, got {n}"
        )
    sums = x[:, : nb * block_size].reshape(m, nb, block_size).sum(axis=2, dtype=np.int64)
    v = sums / block_size - 0.5
    chi2 = 4.0 * block_size * np.sum(v * v, axis=1)
    return _result(
        "block-frequency", n, chi2, _igamc(nb / 2.0, chi2 / 2.0), ("",), block_size=block_size
    )


# --------------------------------------------------------------------------------------------
# §2.3 Runs


def runs(bits: ArrayLike) -> Sp80022Result:
    """Runs test, SP 800-22 rev. 1a §2.3.

    When the frequency pre-test fails (|π − ½| > 2/√n, §2.3.4 step 2) the test is not run and,
    as in the reference suite, the p-value is 0.0 (the sequence counts as failing); its statistic
    is NaN. Otherwise p = erfc(|V_n − 2nπ(1−π)| / (2√(2n) π(1−π))) and ``statistic`` is V_n(obs).
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    require_min_length(n, 2, test="runs test")
    ones, v = _kernels.ones_and_runs(x)
    pi = ones / n
    ok = np.abs(pi - 0.5) <= 2.0 / math.sqrt(n)
    q = pi * (1.0 - pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = np.abs(v - 2.0 * n * q) / (2.0 * q * math.sqrt(2 * n))
    p = np.where(ok, erfc(np.where(ok, arg, 0.0)), 0.0)
    stat = np.where(ok, v.astype(np.float64), np.nan)
    return _result("runs", n, stat, p, ("",))


# --------------------------------------------------------------------------------------------
# §2.4 Longest run of ones in a block

_LONGEST_RUN_TABLES = (
    # (minimum n, M, class values v_0 … v_K, probabilities π_0 … π_K), §2.4.4 and §3.4
    (128, 8, (1, 2, 3, 4), (0.21484375, 0.3671875, 0.23046875, 0.1875)),
    (
        6272,
        128,
        (4, 5, 6, 7, 8, 9),
        (0.1174035788, 0.242955959, 0.249363483, 0.17517706, 0.102701071, 0.112398847),
    ),
    (
        750_000,
        10_000,
        (10, 11, 12, 13, 14, 15, 16),
        (0.0882, 0.2092, 0.2483, 0.1933, 0.1208, 0.0675, 0.0727),
    ),
)


def longest_run(bits: ArrayLike) -> Sp80022Result:
    """Longest run of ones in a block, SP 800-22 rev. 1a §2.4.

    M, K and the class probabilities follow from n as in §2.4.2 (M = 8 for n >= 128, 128 for
    n >= 6272, 10⁴ for n >= 750,000), with the probabilities of the reference suite. χ² over the
    K + 1 classes, p = Q(K/2, χ²/2).
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    require_min_length(n, 128, test="longest run of ones test")
    table = [t for t in _LONGEST_RUN_TABLES if n >= t[0]][-1]
    _, M, classes, probs = table
    K = len(classes) - 1
    N = n // M
    longest = _kernels.block_longest_runs(x, M, N)
    clipped = np.clip(longest, classes[0], classes[-1]) - classes[0]
    nu = np.stack([(clipped == k).sum(axis=1) for k in range(K + 1)], axis=1)
    pi = np.asarray(probs)
    chi2 = np.sum((nu - N * pi) ** 2 / (N * pi), axis=1)
    return _result("longest-run", n, chi2, _igamc(K / 2.0, chi2 / 2.0), ("",), block_size=M)


# --------------------------------------------------------------------------------------------
# §2.5 Binary matrix rank


def _rank_probabilities(size: int) -> tuple[float, float, float]:
    """P(rank = size), P(rank = size − 1) and the rest for a random square GF(2) matrix, §3.5."""
    out = []
    for r in (size, size - 1):
        product = 1.0
        for i in range(r):
            product *= ((1.0 - 2.0 ** (i - size)) * (1.0 - 2.0 ** (i - size))) / (
                1.0 - 2.0 ** (i - r)
            )
        out.append(2.0 ** (r * (2 * size - r) - size * size) * product)
    return out[0], out[1], 1.0 - (out[0] + out[1])


def rank(bits: ArrayLike, *, matrix_size: int = 32) -> Sp80022Result:
    """Binary matrix rank test, SP 800-22 rev. 1a §2.5 (M = Q = 32).

    Ranks over GF(2) of the N = ⌊n/(M·Q)⌋ disjoint matrices filled row by row, computed on
    bit-packed rows with the reference suite's elimination. χ² over full rank, rank − 1 and
    lower, p = exp(−χ²/2) (= Q(1, χ²/2)).
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    if not 2 <= matrix_size <= 64:
        raise ValueError(f"matrix_size must be 2..64, got {matrix_size}")
    N = n // (matrix_size * matrix_size)
    if N < 1:
        raise InsufficientDataError(
            f"binary matrix rank test needs n >= {matrix_size * matrix_size} bits, got {n}"
        )
    counts = _kernels.matrix_ranks(x, matrix_size, N).astype(np.float64)
    p32, p31, p30 = _rank_probabilities(matrix_size)
    chi2 = (
        (counts[:, 0] - N * p32) ** 2 / (N * p32)
        + (counts[:, 1] - N * p31) ** 2 / (N * p31)
        + (counts[:, 2] - N * p30) ** 2 / (N * p30)
    )
    return _result("rank", n, chi2, np.exp(-chi2 / 2.0), ("",), matrix_size=matrix_size)


# --------------------------------------------------------------------------------------------
# §2.6 Discrete Fourier transform (spectral)


def dft(bits: ArrayLike) -> Sp80022Result:
    """Discrete Fourier transform (spectral) test, SP 800-22 rev. 1a §2.6.

    N₁ = number of moduli |DFT(2ε − 1)_j| < T = √(ln(1/0.05)·n) for j = 0 … ⌊n/2⌋ − 1 (the
    reference suite's range, which includes j = 0), N₀ = 0.95·n/2, d = (N₁ − N₀)/√(n·0.95·0.05/4),
    p = erfc(|d|/√2). ``statistic`` is d. The FFT is scipy's; a modulus within rounding of T can
    fall on the other side than with the reference suite's FFTPACK copy, moving N₁ by one.
    """
    x = _as_matrix(bits)
    m, n = x.shape
    require_min_length(n, 2, test="discrete Fourier transform test")
    upper = math.sqrt(2.995732274 * n)
    half = n // 2
    count = np.empty(m, dtype=np.float64)
    for r in range(m):
        spec = scipy.fft.rfft(2.0 * x[r].astype(np.float64) - 1.0)[:half]
        mod = np.sqrt(spec.real * spec.real + spec.imag * spec.imag)
        count[r] = np.count_nonzero(mod < upper)
    n0 = 0.95 * n / 2.0
    d = (count - n0) / math.sqrt(n / 4.0 * 0.95 * 0.05)
    return _result("dft", n, d, erfc(np.abs(d) / math.sqrt(2.0)), ("",))


# --------------------------------------------------------------------------------------------
# §2.7 Non-overlapping template matching


def non_overlapping_template(
    bits: ArrayLike,
    *,
    template_length: int = 9,
    templates: ArrayLike | None = None,
    blocks: int = 8,
) -> Sp80022Result:
    """Non-overlapping template matching test, SP 800-22 rev. 1a §2.7 (m = 9, N = 8 blocks).

    One p-value per template, in the reference suite's template order (by default the 148
    aperiodic templates of length 9, :func:`~.templates.reference_templates`). For each block of
    M = ⌊n/N⌋ bits, W_j counts the occurrences of the template; because aperiodic templates cannot
    overlap themselves this equals the document's scan that skips m − 1 bits after a match.
    μ = (M − m + 1)/2^m, σ² = M(2^−m − (2m − 1)/2^2m), χ² = Σ (W_j − μ)²/σ², p = Q(N/2, χ²/2).

    ``templates`` (integers, MSB first) must be aperiodic.
    """
    x = _as_matrix(bits)
    m_seq, n = x.shape
    w = template_length
    if not 2 <= w <= 21:
        raise ValueError(f"template_length must be 2..21, got {w}")
    if templates is None:
        tpl = reference_templates(w)
    else:
        tpl = np.asarray(templates, dtype=np.int64).ravel()
        for t in tpl:
            if not is_aperiodic(int(t), w):
                raise ValueError(f"template {template_string(int(t), w)} is not aperiodic")
    M = n // blocks
    lam = (M - w + 1) / 2.0**w
    if lam <= 0:
        raise InsufficientDataError(
            f"non-overlapping template test needs blocks of at least m = {w} bits "
            f"(n >= {blocks * w}), got n = {n}"
        )
    var = M * (1.0 / 2.0**w - (2.0 * w - 1.0) / 2.0 ** (2.0 * w))
    chi2 = np.empty((m_seq, tpl.size), dtype=np.float64)
    step = max(1, (1 << 22) // (blocks << w))
    for start in range(0, m_seq, step):
        counts = _kernels.block_window_counts(x[start : start + step], w, M, blocks)
        W = counts[:, :, tpl].astype(np.float64)  # (rows, blocks, templates)
        chi2[start : start + step] = np.sum(((W - lam) / math.sqrt(var)) ** 2, axis=1)
    labels = tuple(template_string(int(t), w) for t in tpl)
    return _result(
        "non-overlapping-template",
        n,
        chi2,
        _igamc(blocks / 2.0, chi2 / 2.0),
        labels,
        template_length=w,
        blocks=blocks,
    )


# --------------------------------------------------------------------------------------------
# §2.8 Overlapping template matching


def _overlapping_reference_probabilities(eta: float, K: int) -> NDArray[np.float64]:
    """Class probabilities of sts-2.1.2 ``Pr(u, eta)`` (the approximation of rev. 1 §3.8)."""
    pi = np.empty(K + 1)
    for u in range(K):
        if u == 0:
            pi[u] = math.exp(-eta)
        else:
            s = 0.0
            for ell in range(1, u + 1):
                s += math.exp(
                    -eta
                    - u * math.log(2)
                    + ell * math.log(eta)
                    - gammaln(ell + 1)
                    + gammaln(u)
                    - gammaln(ell)
                    - gammaln(u - ell + 1)
                )
            pi[u] = s
    pi[K] = 1.0 - pi[:K].sum()
    return pi


def overlapping_exact_probabilities(
    template_length: int, block_size: int, K: int = 5
) -> NDArray[np.float64]:
    """Exact probabilities that the all-ones template of length m occurs 0 … K−1, ≥ K times
    (overlapping) in M random bits.

    A Markov chain over (trailing ones capped at m − 1, occurrences capped at K). For m = 9,
    M = 1032 these are the corrected values printed in SP 800-22 rev. 1a §3.8 (0.364091,
    0.185659, 0.139381, 0.100571, 0.070432, 0.139865).
    """
    w = template_length
    state = np.zeros((w, K + 1))
    state[0, 0] = 1.0
    for _ in range(block_size):
        nxt = np.zeros_like(state)
        nxt[0, :] = 0.5 * state.sum(axis=0)
        nxt[1:w, :] += 0.5 * state[0 : w - 1, :]
        # a one after m − 1 trailing ones completes an occurrence; the run stays at m − 1
        last = 0.5 * state[w - 1, :]
        nxt[w - 1, 1:] += last[:-1]
        nxt[w - 1, K] += last[-1]
        state = nxt
    return np.asarray(state.sum(axis=0), dtype=np.float64)


def overlapping_template(
    bits: ArrayLike,
    *,
    template_length: int = 9,
    block_size: int = 1032,
    probabilities: Literal["reference", "exact"] = "reference",
) -> Sp80022Result:
    """Overlapping template matching test, SP 800-22 rev. 1a §2.8 (m = 9, M = 1032, K = 5).

    Counts the (overlapping) occurrences of the all-ones template of length m in each of the
    N = ⌊n/M⌋ blocks, χ² over the classes 0, 1, 2, 3, 4, ≥ 5, p = Q(K/2, χ²/2).

    ``probabilities``:
        ``"reference"`` (default) — the class probabilities of the reference suite (sts-2.1.2
        ``Pr(u, η)``, η = λ/2), the approximation that rev. 1a replaced; the Appendix B values
        depend on it (data.pi: 0.296897).
        ``"exact"`` — the exact probabilities (:func:`overlapping_exact_probabilities`), which
        for the defaults are the corrected values printed in rev. 1a §2.8.4 / §3.8.
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    w = template_length
    K = 5
    if not 2 <= w <= 21:
        raise ValueError(f"template_length must be 2..21, got {w}")
    if block_size < w:
        raise ValueError(f"block_size {block_size} is shorter than the template ({w})")
    N = n // block_size
    if N < 1:
        raise InsufficientDataError(
            f"overlapping template test needs n >= M = {block_size} bits, got {n}"
        )
    lam = (block_size - w + 1) / 2.0**w
    if probabilities == "reference":
        pi = _overlapping_reference_probabilities(lam / 2.0, K)
    elif probabilities == "exact":
        pi = overlapping_exact_probabilities(w, block_size, K)
    else:
        raise ValueError(f"probabilities must be 'reference' or 'exact', got {probabilities!r}")
    counts = _kernels.block_pattern_counts(x, (1 << w) - 1, w, block_size, N)
    clipped = np.minimum(counts, K)
    nu = np.stack([(clipped == k).sum(axis=1) for k in range(K + 1)], axis=1)
    chi2 = np.sum((nu - N * pi) ** 2 / (N * pi), axis=1)
    return _result(
        "overlapping-template",
        n,
        chi2,
        _igamc(K / 2.0, chi2 / 2.0),
        ("",),
        template_length=w,
        block_size=block_size,
        probabilities=probabilities,
    )


# --------------------------------------------------------------------------------------------
# §2.9 Maurer's universal statistical test

_UNIVERSAL_L_THRESHOLDS = (
    (387_840, 6),
    (904_960, 7),
    (2_068_480, 8),
    (4_654_080, 9),
    (10_342_400, 10),
    (22_753_280, 11),
    (49_643_520, 12),
    (107_560_960, 13),
    (231_669_760, 14),
    (496_435_200, 15),
    (1_059_061_760, 16),
)
_UNIVERSAL_EXPECTED = {
    6: 5.2177052,
    7: 6.1962507,
    8: 7.1836656,
    9: 8.1764248,
    10: 9.1723243,
    11: 10.170032,
    12: 11.168765,
    13: 12.168070,
    14: 13.167693,
    15: 14.167488,
    16: 15.167379,
}
_UNIVERSAL_VARIANCE = {
    6: 2.954,
    7: 3.125,
    8: 3.238,
    9: 3.311,
    10: 3.356,
    11: 3.384,
    12: 3.401,
    13: 3.410,
    14: 3.416,
    15: 3.419,
    16: 3.421,
}


def universal_block_length(n: int) -> int:
    """Block length L the reference suite uses for n bits (§2.9.7); 0 below 387,840 bits."""
    L = 0
    for threshold, value in _UNIVERSAL_L_THRESHOLDS:
        if n >= threshold:
            L = value
    return L


def universal(bits: ArrayLike, *, block_length: int | None = None) -> Sp80022Result:
    """Maurer's "universal statistical" test, SP 800-22 rev. 1a §2.9.

    L from n by the table of §2.9.7 (L = 7 for n = 10⁶) unless given (6 … 16), Q = 10·2^L
    initialisation blocks, K = ⌊n/L⌋ − Q test blocks; f_n = Σ log₂(i − T_j)/K,
    c = 0.7 − 0.8/L + (4 + 32/L)·K^(−3/L)/15, σ = c·√(variance(L)/K),
    p = erfc(|f_n − expectedValue(L)| / (√2·σ)). ``statistic`` is f_n.

    Below 387,840 bits the reference suite silently reports p = 0; here that is
    :class:`InsufficientDataError`.
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    L = universal_block_length(n) if block_length is None else block_length
    if block_length is not None and not 6 <= block_length <= 16:
        raise ValueError(f"block_length must be 6..16, got {block_length}")
    if L < 6:
        raise InsufficientDataError(
            f"Maurer's universal test needs n >= 387840 bits (L >= 6), got {n}"
        )
    Q = 10 * (1 << L)
    K = n // L - Q
    if K < 1:
        raise InsufficientDataError(
            f"Maurer's universal test with L = {L} needs n > {L * Q} bits, got {n}"
        )
    sums = _kernels.universal_sums(x, L, Q, K)
    c = 0.7 - 0.8 / L + (4 + 32 / L) * K ** (-3 / L) / 15
    sigma = c * math.sqrt(_UNIVERSAL_VARIANCE[L] / K)
    phi = sums / K
    arg = np.abs(phi - _UNIVERSAL_EXPECTED[L]) / (math.sqrt(2) * sigma)
    return _result("universal", n, phi, erfc(arg), ("",), block_length=L)


# --------------------------------------------------------------------------------------------
# §2.11 Serial and §2.12 approximate entropy (cyclic pattern counts)


def _fold(counts: NDArray[np.int64], width: int, to: int) -> NDArray[np.int64]:
    """Counts of the ``to``-bit prefixes from counts of cyclic ``width``-bit windows."""
    if to == width:
        return counts
    m = counts.shape[0]
    folded: NDArray[np.int64] = counts.reshape(m, 1 << to, 1 << (width - to)).sum(axis=2)
    return folded


def approximate_entropy(bits: ArrayLike, *, block_length: int = 10) -> Sp80022Result:
    """Approximate entropy test, SP 800-22 rev. 1a §2.12 (default m = 10).

    φ(m) = Σ_i C_i log(C_i/n)/n over the cyclic m-bit patterns, ApEn = φ(m) − φ(m+1),
    χ² = 2n(ln 2 − ApEn), p = Q(2^(m−1), χ²/2).
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    m = block_length
    if not 1 <= m <= 24:
        raise ValueError(f"block_length must be 1..24, got {m}")
    require_min_length(n, 1, test="approximate entropy test")
    c1 = _kernels.cyclic_counts(x, m + 1)
    phis = []
    for counts in (_fold(c1, m + 1, m), c1):
        cf = counts.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(cf > 0, cf * np.log(cf / n), 0.0)
        phis.append(terms.sum(axis=1) / n)
    apen = phis[0] - phis[1]
    chi2 = 2.0 * n * (math.log(2) - apen)
    return _result(
        "approximate-entropy",
        n,
        chi2,
        _igamc(2.0 ** (m - 1), chi2 / 2.0),
        ("",),
        block_length=m,
    )


def serial(bits: ArrayLike, *, block_length: int = 16) -> Sp80022Result:
    """Serial test, SP 800-22 rev. 1a §2.11 (default m = 16): p-values P1 and P2, in that order.

    ψ²_m = 2^m/n · Σ ν_i² − n over the cyclic m-bit patterns (ψ²_0 = ψ²_−1 = 0),
    ∇ψ² = ψ²_m − ψ²_{m−1}, ∇²ψ² = ψ²_m − 2ψ²_{m−1} + ψ²_{m−2},
    P1 = Q(2^(m−2), ∇ψ²/2), P2 = Q(2^(m−3), ∇²ψ²/2).
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    m = block_length
    if not 2 <= m <= 25:
        raise ValueError(f"block_length must be 2..25, got {m}")
    require_min_length(n, 1, test="serial test")
    counts = _kernels.cyclic_counts(x, m)
    psi = []
    for k in (m, m - 1, m - 2):
        if k <= 0:
            psi.append(np.zeros(x.shape[0]))
            continue
        c = _fold(counts, m, k)
        sq = np.sum(c * c, axis=1).astype(np.float64)
        psi.append(sq * 2.0**k / n - n)
    del1 = psi[0] - psi[1]
    del2 = psi[0] - 2.0 * psi[1] + psi[2]
    p1 = _igamc(2.0 ** (m - 1) / 2, del1 / 2.0)
    p2 = _igamc(2.0 ** (m - 2) / 2, del2 / 2.0)
    return _result(
        "serial",
        n,
        np.stack([del1, del2], axis=1),
        np.stack([p1, p2], axis=1),
        ("p1", "p2"),
        block_length=m,
    )


# --------------------------------------------------------------------------------------------
# §2.10 Linear complexity

_LC_PI = np.array([0.01047, 0.03125, 0.12500, 0.50000, 0.25000, 0.06250, 0.020833])
_LC_EDGES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])


def linear_complexity(bits: ArrayLike, *, block_size: int = 500) -> Sp80022Result:
    """Linear complexity test, SP 800-22 rev. 1a §2.10 (default M = 500).

    The linear complexity L_i of each of the N = ⌊n/M⌋ blocks (bit-packed Berlekamp–Massey),
    T_i = (−1)^M (L_i − μ) + 2/9 with μ = M/2 + (9 + (−1)^(M+1))/36 − (M/3 + 2/9)/2^M, classes
    ≤ −2.5, …, > 2.5 with the reference suite's probabilities, χ², p = Q(3, χ²/2).
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    M = block_size
    if M < 2:
        raise ValueError(f"block_size must be at least 2, got {M}")
    N = n // M
    if N < 1:
        raise InsufficientDataError(f"linear complexity test needs n >= M = {M} bits, got {n}")
    L = _kernels.linear_complexities(x, M, N)
    sign1 = -1.0 if (M + 1) % 2 == 0 else 1.0
    mean = M / 2.0 + (9.0 + sign1) / 36.0 - 1.0 / 2.0**M * (M / 3.0 + 2.0 / 9.0)
    sign2 = 1.0 if M % 2 == 0 else -1.0
    T = sign2 * (L - mean) + 2.0 / 9.0
    cls = np.searchsorted(_LC_EDGES, T, side="left")
    nu = np.stack([(cls == k).sum(axis=1) for k in range(7)], axis=1)
    chi2 = np.sum((nu - N * _LC_PI) ** 2 / (N * _LC_PI), axis=1)
    return _result("linear-complexity", n, chi2, _igamc(3.0, chi2 / 2.0), ("",), block_size=M)


# --------------------------------------------------------------------------------------------
# §2.13 Cumulative sums


def _cdiv(a: int, b: int) -> int:
    """Integer division truncating toward zero, as C's ``/`` on ints."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _normal(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard normal CDF written as the reference suite's ``cephes_normal``."""
    return np.asarray(
        np.where(x > 0, 0.5 * (1 + erf(x / _SQRT2)), 0.5 * (1 - erf(-x / _SQRT2))),
        dtype=np.float64,
    )


def _cusum_pvalue(z: int, n: int) -> float:
    """§2.13.4 step 4 with the summation limits of the reference suite (C integer division)."""
    sq = math.sqrt(n)
    k1 = np.arange(_cdiv(-n // z + 1, 4), _cdiv(n // z - 1, 4) + 1)
    k2 = np.arange(_cdiv(-n // z - 3, 4), _cdiv(n // z - 1, 4) + 1)
    sum1 = float(np.sum(_normal((4 * k1 + 1) * z / sq) - _normal((4 * k1 - 1) * z / sq)))
    sum2 = float(np.sum(_normal((4 * k2 + 3) * z / sq) - _normal((4 * k2 + 1) * z / sq)))
    return 1.0 - sum1 + sum2


def cumulative_sums(bits: ArrayLike) -> Sp80022Result:
    """Cumulative sums (cusum) test, SP 800-22 rev. 1a §2.13: forward then backward p-value.

    z = max_k |S_k| (forward) or max_k |S_n − S_k| (backward). The summation limits are those
    of the reference suite: ``(±n/z …)/4`` in C integer arithmetic (truncation toward zero, with
    n/z already truncated), which can differ from the document's ⌊·⌋ by one term.
    ``statistic`` is z.
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    require_min_length(n, 1, test="cumulative sums test")
    sup, inf, fin = _kernels.walk_extremes(x)
    zf = np.maximum(sup, -inf)
    zb = np.maximum(sup - fin, fin - inf)
    p = np.array(
        [[_cusum_pvalue(int(a), n), _cusum_pvalue(int(b), n)] for a, b in zip(zf, zb, strict=True)]
    )
    return _result(
        "cumulative-sums",
        n,
        np.stack([zf, zb], axis=1),
        p,
        ("forward", "backward"),
    )


# --------------------------------------------------------------------------------------------
# §2.14 Random excursions and §2.15 random excursions variant

_RE_STATES = (-4, -3, -2, -1, 1, 2, 3, 4)
_REV_STATES = (-9, -8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9)
_RE_PI = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.5000000000, 0.25000000000, 0.12500000000, 0.06250000000, 0.03125000000, 0.0312500000],
        [0.7500000000, 0.06250000000, 0.04687500000, 0.03515625000, 0.02636718750, 0.0791015625],
        [0.8333333333, 0.02777777778, 0.02314814815, 0.01929012346, 0.01607510288, 0.0803755143],
        [0.8750000000, 0.01562500000, 0.01367187500, 0.01196289063, 0.01046752930, 0.0732727051],
    ]
)
"""π_k(x) of §3.14 for |x| = 1 … 4 (row |x|), k = 0 … 5, as tabulated in the reference suite."""


def excursion_cycle_minimum(n: int) -> float:
    """Minimum number of cycles J for the random excursion tests: max(0.005·√n, 500), §2.14.7."""
    return max(0.005 * math.sqrt(n), 500.0)


def excursion_cycle_limit(n: int) -> int:
    """Work-space limit of the reference suite's random excursions test: max(1000, n/100) returns
    to zero (sts-2.1.2 ``randomExcursions.c``); above it the suite reports nothing."""
    return max(1000, n // 100)


def random_excursions(bits: ArrayLike, *, reference_cycle_limit: bool = True) -> Sp80022Result:
    """Random excursions test, SP 800-22 rev. 1a §2.14: p-values for x = −4 … −1, 1 … 4.

    Not applicable (NaN p-values, the reference suite's 0.0) when the walk has fewer than
    max(0.005·√n, 500) cycles. χ²(x) = Σ_k (ν_k(x) − Jπ_k(x))²/(Jπ_k(x)), p = Q(5/2, χ²/2).

    ``reference_cycle_limit``:
        True (default) — as the reference suite, which gives no result for a sequence whose walk
        returns to zero more than max(1000, n/100) times (:func:`excursion_cycle_limit`; about
        1 sequence in 100 at n = 10⁵, practically never at n = 10⁶): NaN for that sequence.
        False — compute the test for every sequence, as the document describes it.
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    require_min_length(n, 1, test="random excursions test")
    J, zeros, nu, _ = _kernels.excursions(x)
    pi = _RE_PI[np.abs(np.asarray(_RE_STATES))].T  # (6, 8)
    Jf = J.astype(np.float64)[:, None, None]
    chi2 = np.sum((nu - Jf * pi) ** 2 / (Jf * pi), axis=1)
    ok = excursion_cycle_minimum(n) <= J
    if reference_cycle_limit:
        ok &= zeros <= excursion_cycle_limit(n)
    ok2 = ok[:, None]
    chi2 = np.where(ok2, chi2, np.nan)
    p = np.where(ok2, _igamc(2.5, np.where(ok2, chi2, 0.0) / 2.0), np.nan)
    return _result(
        "random-excursions",
        n,
        chi2,
        p,
        tuple(f"x={s}" for s in _RE_STATES),
        reference_cycle_limit=reference_cycle_limit,
    )


def random_excursions_variant(bits: ArrayLike) -> Sp80022Result:
    """Random excursions variant test, SP 800-22 rev. 1a §2.15: x = −9 … −1, 1 … 9.

    ξ(x) = total visits to x, p = erfc(|ξ(x) − J| / √(2J(4|x| − 2))); not applicable (NaN)
    below max(0.005·√n, 500) cycles, as the random excursions test. ``statistic`` is ξ(x).
    """
    x = _as_matrix(bits)
    n = x.shape[1]
    require_min_length(n, 1, test="random excursions variant test")
    J, _, _, xi = _kernels.excursions(x)
    absx = np.abs(np.asarray(_REV_STATES, dtype=np.float64))
    Jf = J.astype(np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = np.abs(xi - Jf) / np.sqrt(2.0 * Jf * (4.0 * absx - 2.0))
    ok = (int(excursion_cycle_minimum(n)) <= J)[:, None]
    p = np.where(ok, erfc(np.where(ok, arg, 0.0)), np.nan)
    stat = np.where(ok, xi.astype(np.float64), np.nan)
    return _result("random-excursions-variant", n, stat, p, tuple(f"x={s}" for s in _REV_STATES))
