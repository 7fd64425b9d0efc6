"""Most-common-value and the binary entropic-statistic estimates (SP 800-90B §6.3.1-§6.3.4)."""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from evaltool.engines._input import require_min_length
from evaltool.engines.stats.sp800_90b._common import (
    Z_ALPHA,
    EstimatorResult,
    neg_log2,
    upper_bound,
)


def most_common_value(symbols: NDArray[np.uint8]) -> EstimatorResult:
    """Most common value estimate, SP 800-90B §6.3.1.

    ``p_hat`` is the proportion of the most common value, ``p_u`` its 99 % upper bound
    ``min(1, p_hat + 2.576 sqrt(p_hat (1 - p_hat) / (L - 1)))`` and the estimate ``-log2(p_u)``.
    """
    n = int(symbols.size)
    require_min_length(n, 2, test="most common value estimate", unit="samples")
    mode = int(np.bincount(symbols).max())
    p_hat = mode / n
    p_u = upper_bound(p_hat, n)
    return EstimatorResult("mcv", neg_log2(p_u), p_hat, p_u, n, {"mode": float(mode)})


@numba.njit(cache=True, nogil=True)
def _collision_walk(bits: NDArray[np.uint8]) -> tuple[int, int, int]:
    # §6.3.2 steps 2-3: walk the sequence, each collision time is 2 (s_i = s_{i+1}) or 3.
    n = bits.size
    i = 0
    v = 0
    sum_sq = 0
    while i < n - 1:
        if bits[i] == bits[i + 1]:
            t = 2
        elif i < n - 2:
            t = 3
        else:
            break
        v += 1
        sum_sq += t * t
        i += t
    return i, v, sum_sq


def collision(bits: NDArray[np.uint8]) -> EstimatorResult:
    """Collision estimate for a bit string, SP 800-90B §6.3.2.

    Follows the closed form for binary data: with ``X'`` the lower bound of the mean collision
    time, ``X' = -2p^2 + 2p + 2`` gives ``p = 1/2 + sqrt(5/4 - X'/2)``; when ``X' >= 2.5`` no
    solution exists and the estimate is one bit (``p = 1/2``).
    """
    n = int(bits.size)
    require_min_length(n, 4, test="collision estimate")
    total, v, sum_sq = _collision_walk(bits)
    if v < 2:
        require_min_length(v, 2, test="collision estimate", unit="collisions")
    x_bar = total / v
    sigma = math.sqrt((sum_sq - total * x_bar) / (v - 1))
    x_low = max(2.0, x_bar - Z_ALPHA * sigma / math.sqrt(v))
    if x_low < 2.5:
        p = 0.5 + math.sqrt(1.25 - 0.5 * x_low)
        h = -math.log2(p)
    else:
        p = 0.5
        h = 1.0
    params = {"X_bar": x_bar, "sigma_hat": sigma, "X_bar_lower": x_low, "v": float(v)}
    return EstimatorResult("collision", h, p, p, n, params)


def markov(bits: NDArray[np.uint8]) -> EstimatorResult:
    """Markov estimate for a bit string, SP 800-90B §6.3.3.

    ``p_u`` is the probability of the most likely 128-bit sequence under the fitted first-order
    Markov model (the six candidate sequences of §6.3.3 step 3); the estimate is
    ``min(1, -log2(p_u) / 128)``.
    """
    n = int(bits.size)
    require_min_length(n, 2, test="Markov estimate")
    head = bits[:-1]
    tail = bits[1:]
    c0 = int(np.count_nonzero(head == 0))
    c00 = int(np.count_nonzero((head == 0) & (tail == 0)))
    c10 = int(np.count_nonzero((head == 1) & (tail == 0)))
    c1 = (n - 1) - c0
    p00 = c00 / c0 if c0 > 0 else 0.0
    p01 = 1.0 - p00 if c0 > 0 else 0.0
    p10 = c10 / c1 if c1 > 0 else 0.0
    p11 = 1.0 - p10 if c1 > 0 else 0.0
    p0 = (c0 + (1 if bits[-1] == 0 else 0)) / n
    p1 = 1.0 - p0

    def lg(x: float) -> float:
        return math.log2(x)

    h_min = 128.0
    candidates: list[float] = []
    if p00 > 0.0:
        candidates.append(-lg(p0) - 127.0 * lg(p00))  # 00...0
    if p01 > 0.0 and p10 > 0.0:
        candidates.append(-lg(p0) - 64.0 * lg(p01) - 63.0 * lg(p10))  # 0101...01
        candidates.append(-lg(p1) - 64.0 * lg(p10) - 63.0 * lg(p01))  # 1010...10
    if p01 > 0.0 and p11 > 0.0:
        candidates.append(-lg(p0) - lg(p01) - 126.0 * lg(p11))  # 011...1
    if p10 > 0.0 and p00 > 0.0:
        candidates.append(-lg(p1) - lg(p10) - 126.0 * lg(p00))  # 100...0
    if p11 > 0.0:
        candidates.append(-lg(p1) - 127.0 * lg(p11))  # 11...1
    for c in candidates:
        h_min = min(h_min, c)
    p_max = 2.0**-h_min
    params = {"P_0": p0, "P_1": p1, "P_00": p00, "P_01": p01, "P_10": p10, "P_11": p11}
    return EstimatorResult("markov", min(h_min / 128.0, 1.0), p_max, p_max, n, params)


_COMPRESSION_BLOCK = 6
_COMPRESSION_DICT = 1000


@numba.njit(cache=True, nogil=True)
def _compression_scan(blocks: NDArray[np.int64], d: int) -> tuple[float, float]:
    # §6.3.4 steps 3-5: distances to the previous occurrence of each 6-bit block, compensated sums.
    last = np.zeros(64, dtype=np.int64)
    for i in range(d):
        last[blocks[i]] = i + 1
    s = 0.0
    s_c = 0.0
    s2 = 0.0
    s2_c = 0.0
    for i in range(d, blocks.size):
        lg = math.log2(i + 1 - last[blocks[i]])
        y = lg - s_c
        t = s + y
        s_c = (t - s) - y
        s = t
        y = lg * lg - s2_c
        t = s2 + y
        s2_c = (t - s2) - y
        s2 = t
        last[blocks[i]] = i + 1
    return s, s2


@numba.njit(cache=True, nogil=True)
def _compression_g(z: float, d: int, num_blocks: int, log2i: NDArray[np.float64]) -> float:
    # §6.3.4 G(z) = 1/v sum_{t=d+1}^{L} sum_{u=1}^{t} log2(u) F(z, t, u), with the double sum
    # regrouped: terms with u < t appear (number of t > u) times with weight z^2 (1-z)^(u-1),
    # terms with u = t once with weight z (1-z)^(t-1).
    v = num_blocks - d
    q = 1.0 - z
    b = q  # (1-z)^(u-1) for u = 2
    a_head = 0.0
    for u in range(2, d + 1):
        a_head += log2i[u] * b
        b *= q
    a_tail = 0.0
    weighted = 0.0
    for u in range(d + 1, num_blocks):
        term = log2i[u] * b
        scaled = (num_blocks - u) * term
        if not scaled > 0.0:
            b = 0.0
            break
        a_tail += term
        weighted += scaled
        b *= q
    a_tail += log2i[num_blocks] * b
    weighted += v * a_head
    return float(z * (z * weighted + a_tail) / v)


def _compression_expectation(
    p: float, d: int, num_blocks: int, log2i: NDArray[np.float64]
) -> float:
    q = (1.0 - p) / 63.0
    return float(
        _compression_g(p, d, num_blocks, log2i) + 63.0 * _compression_g(q, d, num_blocks, log2i)
    )


def compression(bits: NDArray[np.uint8]) -> EstimatorResult:
    """Compression (Maurer-statistic) estimate for a bit string, SP 800-90B §6.3.4.

    6-bit blocks, a 1000-block dictionary, ``sigma_hat = 0.5907 sqrt(...)``; ``p`` solves
    ``G(p) + 63 G((1-p)/63) = X'`` on ``[1/64, 1]`` (Brent's method to 1e-15); the estimate is
    ``-log2(p) / 6``, or one bit when no ``p > 1/64`` solves it.
    """
    n = int(bits.size)
    b, d = _COMPRESSION_BLOCK, _COMPRESSION_DICT
    require_min_length(n, b * (d + 1), test="compression estimate")
    num_blocks = n // b
    cols = bits[: num_blocks * b].reshape(num_blocks, b).astype(np.int64)
    blocks = np.zeros(num_blocks, dtype=np.int64)
    for j in range(b):
        blocks |= cols[:, j] << (b - 1 - j)
    v = num_blocks - d
    s, s2 = _compression_scan(np.ascontiguousarray(blocks), d)
    x_bar = s / v
    sigma = 0.5907 * math.sqrt(s2 / (v - 1.0) - x_bar * x_bar)
    x_low = x_bar - Z_ALPHA * sigma / math.sqrt(v)
    log2i = np.zeros(num_blocks + 1)
    log2i[1:] = np.log2(np.arange(1, num_blocks + 1, dtype=np.float64))
    lo, hi = 1.0 / 64.0, 1.0
    params = {"X_bar": x_bar, "sigma_hat": sigma, "X_bar_lower": x_low}
    if _compression_expectation(lo, d, num_blocks, log2i) <= x_low:
        return EstimatorResult("compression", 1.0, lo, lo, n, params)
    # The expectation decreases in p from G(1/64)+63 G(1/64) > X' to 0 at p = 1: one root.
    # scipy.optimize is imported here, not at module level: it costs about 0.2 s of start-up
    # and this line runs in a worker thread while the other estimators' kernels run.
    from scipy import optimize

    p = float(
        optimize.brentq(
            lambda z: _compression_expectation(z, d, num_blocks, log2i) - x_low,
            lo,
            hi,
            xtol=1e-15,
            rtol=4.0 * np.finfo(float).eps,
            maxiter=200,
        )
    )
    if p <= 1.0 / 64.0:
        return EstimatorResult("compression", 1.0, 1.0 / 64.0, 1.0 / 64.0, n, params)
    return EstimatorResult("compression", -math.log2(p) / b, p, p, n, params)
