"""t-tuple and longest-repeated-substring estimates (SP 800-90B §6.3.5, §6.3.6).

Both estimates need, for every tuple length ``t``, the largest number of occurrences of a
``t``-tuple (``Q[t]``) and the number of pairs of equal ``t``-tuples. Both come from one pass
over the LCP-interval tree of the suffix array: an interval of ``c`` suffixes whose longest
common prefix is ``h`` and whose enclosing interval has prefix length ``h_parent`` is one tuple
occurring exactly ``c`` times for every length ``h_parent < t <= h``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from evaltool.engines._input import require_min_length
from evaltool.engines.stats.sp800_90b._common import Z_ALPHA, EstimatorResult, neg_log2

#: §6.3.5: the t-tuple estimate uses tuple lengths whose most common tuple occurs >= 35 times.
TUPLE_CUTOFF = 35


@numba.njit(cache=True, nogil=True)
def _lcp(text: NDArray[np.uint8], sa: NDArray[np.int32]) -> NDArray[np.int32]:
    # lcp[i] = LCP(suffix sa[i], suffix sa[i+1]), lcp[n-1] = 0, by the Phi algorithm of
    # Kärkkäinen, Manzini and Puglisi, "Permuted longest-common-prefix array" (CPM 2009): the
    # LCP of each suffix with its predecessor in the suffix array is computed in text order
    # (where it drops by at most one from one suffix to the next), then permuted into suffix
    # array order. Same array as Kasai et al. (2001), with fewer random memory accesses (about
    # half the time on 8 Mbit strings). 32-bit arrays (n < 2**31) halve the memory traffic.
    n = text.size
    lcp = np.zeros(n, dtype=np.int32)
    if n < 2:
        return lcp
    plcp = np.empty(n, dtype=np.int32)  # phi[i] = predecessor of suffix i, then PLCP[i]
    plcp[sa[0]] = -1
    for r in range(1, n):
        plcp[sa[r]] = sa[r - 1]
    h = 0
    for i in range(n):
        j = plcp[i]
        if j < 0:
            plcp[i] = 0
            h = 0
            continue
        while i + h < n and j + h < n and text[i + h] == text[j + h]:
            h += 1
        plcp[i] = h
        if h > 0:
            h -= 1
    for r in range(n - 1):
        lcp[r] = plcp[sa[r + 1]]
    return lcp


def _suffix_lcp(text: NDArray[np.uint8]) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Suffix array (libdivsufsort through pydivsufsort) and LCP array of a byte string."""
    from pydivsufsort import divsufsort

    if text.size >= 2**31 - 1:
        raise ValueError("sequences of 2**31 symbols or more are not supported")
    buf = np.array(text, dtype=np.uint8, copy=True)
    sa = np.asarray(divsufsort(buf), dtype=np.int32)
    return sa, _lcp(buf, sa)


@numba.njit(cache=True, nogil=True)
def _interval_tree(lcp: NDArray[np.int32]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    # lcp[i] = LCP(suffix sa[i], suffix sa[i+1]); the last entry is ignored.
    n = lcp.size
    v = 0
    for i in range(n - 1):
        if lcp[i] > v:
            v = lcp[i]
    best = np.zeros(v + 2, dtype=np.int64)  # best[h]: largest interval whose lcp is h
    pairs_diff = np.zeros(v + 2, dtype=np.int64)
    stack_h = np.zeros(n + 1, dtype=np.int64)
    stack_lb = np.zeros(n + 1, dtype=np.int64)
    top = 0
    stack_h[0] = 0
    stack_lb[0] = 0
    for i in range(1, n + 1):
        cur = lcp[i - 1] if i < n else 0
        lb = i - 1
        while cur < stack_h[top]:
            h = stack_h[top]
            size = i - stack_lb[top]
            lb = stack_lb[top]
            top -= 1
            parent = stack_h[top] if stack_h[top] > cur else cur
            if size > best[h]:
                best[h] = size
            w = size * (size - 1) // 2
            pairs_diff[parent + 1] += w
            pairs_diff[h + 1] -= w
        if cur > stack_h[top]:
            top += 1
            stack_h[top] = cur
            stack_lb[top] = lb
    q = np.ones(v + 1, dtype=np.int64)
    running = 1
    for t in range(v, 0, -1):
        if best[t] > running:
            running = best[t]
        q[t] = running
    pairs = np.zeros(v + 1, dtype=np.int64)
    acc = 0
    for t in range(1, v + 1):
        acc += pairs_diff[t]
        pairs[t] = acc
    return q, pairs


def tuple_estimates(
    symbols: NDArray[np.uint8],
) -> tuple[EstimatorResult | None, EstimatorResult | None]:
    """Return the t-tuple (§6.3.5) and LRS (§6.3.6) estimates of a sequence.

    Either is ``None`` when it cannot be computed: no tuple occurs at least 35 times (t-tuple),
    or the longest repeated substring is shorter than the smallest length ``u`` whose most
    common tuple occurs fewer than 35 times (LRS).

    t-tuple: ``p_hat = max_{1<=i<=t} (Q[i] / (L-i+1))^(1/i)``; LRS:
    ``p_hat = max_{u<=i<=v} (P_i)^(1/i)`` with ``P_i`` the fraction of equal pairs among the
    ``C(L-i+1, 2)`` pairs of ``i``-tuples. Both bounded as ``p_hat + 2.576 sqrt(p(1-p)/(L-1))``.
    """
    n = int(symbols.size)
    require_min_length(n, 2, test="t-tuple/LRS estimates", unit="symbols")
    _, lcp = _suffix_lcp(symbols)
    q, pairs = _interval_tree(lcp)
    v = q.size - 1
    if v < 1:
        return None, None
    u = 1
    while u <= v and q[u] >= TUPLE_CUTOFF:
        u += 1

    def bound(p: float) -> float:
        return min(1.0, p + Z_ALPHA * math.sqrt(p * (1.0 - p) / (n - 1)))

    t_res: EstimatorResult | None = None
    if u > 1:
        i = np.arange(1, u, dtype=np.float64)
        cand = (q[1:u] / (n - i + 1.0)) ** (1.0 / i)
        p_hat = float(cand.max())
        p_u = bound(p_hat)
        t_res = EstimatorResult(
            "t-tuple", neg_log2(p_u), p_hat, p_u, n, {"t": float(u - 1), "u": float(u)}
        )
    lrs_res: EstimatorResult | None = None
    if v >= u:
        i = np.arange(u, v + 1, dtype=np.float64)
        choices = (n - i) * (n - i + 1.0) / 2.0
        cand = (pairs[u : v + 1] / choices) ** (1.0 / i)
        p_hat = float(cand.max())
        p_u = bound(p_hat)
        lrs_res = EstimatorResult(
            "lrs", neg_log2(p_u), p_hat, p_u, n, {"u": float(u), "v": float(v)}
        )
    return t_res, lrs_res
