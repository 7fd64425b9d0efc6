"""Prediction estimates (SP 800-90B §6.3.7-§6.3.10) and their common bound (§6.3.7 steps 4-6).

Each predictor walks the sequence once, predicting every symbol from the past only, and reports
``C`` (correct predictions), ``N`` (predictions made) and ``r - 1`` (the longest run of correct
predictions). The bookkeeping (dictionary limits, tie-breaking, the order in which counters are
updated) follows the published algorithm statements and the conventions of the NIST
SP800-90B_EntropyAssessment tool, so that ``C`` and ``r`` agree with it exactly.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from evaltool.engines._input import require_min_length
from evaltool.engines.stats.sp800_90b._common import Z_ALPHA, EstimatorResult

_LOG_099 = math.log(0.99)


def _log_no_run_probability(p: float, r: int, n: int) -> float:
    """Log of the probability that ``n`` predictions of accuracy ``p`` show no run of ``r``.

    §6.3.7 step 6: with ``q = 1 - p`` and ``x`` the fixed point of ``x = 1 + q p^r x^(r+1)``,
    ``P = (1 - p x) / ((r + 1 - r x) q) / x^(n+1)``. Iterated on ``delta = x - 1`` to keep the
    precision that ``(n + 1) log x`` needs.
    """
    q = 1.0 - p
    c = q * p**r
    delta = 0.0
    prev = -1.0
    for _ in range(66):
        if not delta - prev > 2.0**-63 * (1.0 + delta):
            break
        prev = delta
        delta = c * math.exp((r + 1.0) * math.log1p(delta))
    x = 1.0 + delta
    head = 1.0 - p * x
    if head <= 0.0:
        return -math.inf
    return math.log(head) - math.log((r + 1.0 - r * x) * q) - (n + 1.0) * math.log1p(delta)


def prediction_bound(correct: int, n: int, longest_run: int, k: int) -> tuple[float, float, float]:
    """Return ``(p_global, p_global', p_local)`` and choose the bound of §6.3.7 steps 4-6.

    ``p_global' = min(1, p + 2.576 sqrt(p(1-p)/(N-1)))`` (or ``1 - 0.01^(1/N)`` when no
    prediction was correct); ``p_local`` solves ``P(no run of length r) = 0.99`` by bisection and
    is only computed when it can exceed ``max(p_global', 1/k)`` (otherwise ``nan``).
    """
    p_global = correct / n
    if p_global > 0.0:
        p_prime = min(1.0, p_global + Z_ALPHA * math.sqrt(p_global * (1.0 - p_global) / (n - 1.0)))
    else:
        p_prime = 1.0 - 0.01 ** (1.0 / n)
    floor = max(1.0 / k, p_prime)
    p_local = math.nan
    r = longest_run + 1
    if floor < 1.0 and _log_no_run_probability(floor, r, n) > _LOG_099:
        lo, hi = floor, 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if not lo < mid < hi:
                break
            val = _log_no_run_probability(mid, r, n)
            if val == _LOG_099:
                lo = hi = mid
                break
            if val > _LOG_099:
                lo = mid
            else:
                hi = mid
        p_local = hi
    return p_global, p_prime, p_local


def _result(
    name: str, correct: int, n: int, longest_run: int, k: int, length: int
) -> EstimatorResult:
    p_global, p_prime, p_local = prediction_bound(correct, n, longest_run, k)
    p_u = max(1.0 / k, p_prime)
    if not math.isnan(p_local):
        p_u = max(p_u, p_local)
    h = 0.0 if p_u >= 1.0 else -math.log2(p_u)
    params = {
        "C": float(correct),
        "N": float(n),
        "r": float(longest_run + 1),
        "P_global_prime": p_prime,
        "P_local": p_local,
    }
    return EstimatorResult(name, h, p_global, p_u, length, params)


# --------------------------------------------------------------------------- MultiMCW §6.3.7

_MCW_WINDOWS = np.array([63, 255, 1023, 4095], dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def _multi_mcw(s: NDArray[np.uint8], k: int, windows: NDArray[np.int64]) -> tuple[int, int]:
    nw = windows.size
    n = s.size
    counts = np.zeros((nw, k), dtype=np.int64)
    last_pos = np.zeros((nw, k), dtype=np.int64)
    top = np.zeros(nw, dtype=np.int64)
    frequent = np.zeros(nw, dtype=np.int64)
    score = np.zeros(nw, dtype=np.int64)
    w_max = windows[nw - 1]
    # Initial window contents: the first W_j symbols; ties go to the most recent symbol.
    for i in range(w_max):
        x = s[i]
        for j in range(nw):
            if i < windows[j]:
                counts[j, x] += 1
                if top[j] <= counts[j, x]:
                    top[j] = counts[j, x]
                    frequent[j] = x
                last_pos[j, x] = i
    winner = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(windows[0], n):
        x = s[i]
        if frequent[winner] == x:
            correct += 1
            run += 1
            if run > longest:
                longest = run
        else:
            run = 0
        for j in range(nw):
            if i >= windows[j] and frequent[j] == x:
                score[j] += 1
                if score[j] >= score[winner]:
                    winner = j
        for j in range(nw):
            if i >= windows[j]:
                old = s[i - windows[j]]
                counts[j, old] -= 1
                counts[j, x] += 1
                last_pos[j, x] = i
                if old != frequent[j] and top[j] <= counts[j, x]:
                    top[j] = counts[j, x]
                    frequent[j] = x
                elif old == frequent[j]:
                    top[j] -= 1
                    pos = i - windows[j]
                    for c in range(k):
                        if counts[j, c] > top[j] or (
                            counts[j, c] == top[j] and last_pos[j, c] >= pos
                        ):
                            top[j] = counts[j, c]
                            frequent[j] = c
                            pos = last_pos[j, c]
    return correct, longest


@numba.njit(cache=True, nogil=True)
def _multi_mcw_binary(s: NDArray[np.uint8], windows: NDArray[np.int64]) -> tuple[int, int]:
    # Same result as _multi_mcw for 0/1 data and odd window sizes: a full window of odd size
    # has no tie, so its most common value is 1 exactly when more than half of it is ones, and
    # a running count of ones per window replaces the counts, positions and rescans.
    nw = windows.size
    n = s.size
    ones = np.zeros(nw, dtype=np.int64)
    score = np.zeros(nw, dtype=np.int64)
    for j in range(nw):
        c = 0
        for i in range(windows[j]):
            c += s[i]
        ones[j] = c
    winner = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(windows[0], n):
        x = np.int64(s[i])
        if np.int64(2 * ones[winner] > windows[winner]) == x:
            correct += 1
            run += 1
            if run > longest:
                longest = run
        else:
            run = 0
        for j in range(nw):
            if i >= windows[j] and np.int64(2 * ones[j] > windows[j]) == x:
                score[j] += 1
                if score[j] >= score[winner]:
                    winner = j
        for j in range(nw):
            if i >= windows[j]:
                ones[j] += x - np.int64(s[i - windows[j]])
    return correct, longest


def multi_mcw(symbols: NDArray[np.uint8], alphabet_size: int) -> EstimatorResult:
    """MultiMCW prediction estimate, SP 800-90B §6.3.7 (windows 63, 255, 1023, 4095)."""
    n = int(symbols.size)
    require_min_length(
        n, int(_MCW_WINDOWS[-1]) + 1, test="MultiMCW prediction estimate", unit="symbols"
    )
    k = max(int(alphabet_size), int(symbols.max()) + 1)
    if k == 2 and bool(np.all(_MCW_WINDOWS % 2 == 1)):
        correct, longest = _multi_mcw_binary(symbols, _MCW_WINDOWS)
    else:
        correct, longest = _multi_mcw(symbols, k, _MCW_WINDOWS)
    return _result("multi-mcw", correct, n - int(_MCW_WINDOWS[0]), longest, alphabet_size, n)


# --------------------------------------------------------------------------- Lag §6.3.8

_LAG_D = 128


@numba.njit(cache=True, nogil=True)
def _lag(s: NDArray[np.uint8], depth: int) -> tuple[int, int]:
    # Scores are processed for lags 1..D in increasing order and the last lag whose score reaches
    # the running maximum wins; that is, among the lags that matched this sample, the largest
    # one with the highest new score, if that score reaches the previous maximum.
    n = s.size
    score = np.zeros(depth, dtype=np.int64)
    winner = 0
    high = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(1, n):
        x = s[i]
        if s[i - winner - 1] == x:
            correct += 1
            run += 1
            if run > longest:
                longest = run
        else:
            run = 0
        lim = depth if i >= depth else i
        best = high
        best_d = -1
        for d in range(lim):
            hit = np.int64(s[i - d - 1] == x)
            sc = score[d] + hit
            score[d] = sc
            v = sc * hit + hit - 1  # -1 for lags that did not match
            if v >= best:
                best = v
                best_d = d
        if best_d >= 0:
            winner = best_d
            high = best
    return correct, longest


@numba.njit(cache=True, nogil=True, inline="always")
def _window64(words: NDArray[np.uint64], p: int) -> np.uint64:
    # 64 bits starting at bit p of the packed string, the first bit most significant.
    q = p >> 6
    r = p & 63
    if r == 0:
        return np.uint64(words[q])
    return np.uint64((words[q] << np.uint64(r)) | (words[q + 1] >> np.uint64(64 - r)))


@numba.njit(cache=True, nogil=True)
def _popcount(x: np.uint64) -> int:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True, nogil=True)
def _lag_binary(s: NDArray[np.uint8], words: NDArray[np.uint64], depth: int) -> tuple[int, int]:
    # Same result as _lag for 0/1 data, 64 predictions at a time: the matches of every lag over
    # a block come from one XOR of packed words, and only lags whose score can still reach the
    # running maximum within the block (score + matches >= high) are followed step by step.
    n = s.size
    score = np.zeros(depth, dtype=np.int64)
    match = np.zeros(depth, dtype=np.uint64)
    cand = np.zeros(depth, dtype=np.int64)
    winner = 0
    high = 0
    correct = 0
    run = 0
    longest = 0
    i = 1
    while i < n:
        if i >= depth and i + 64 <= n:
            x = _window64(words, i)
            nc = 0
            for d in range(depth):
                e = ~(x ^ _window64(words, i - d - 1))
                match[d] = e
                if score[d] + _popcount(e) >= high:
                    cand[nc] = d
                    nc += 1
                else:
                    score[d] += _popcount(e)
            for j in range(64):
                xi = s[i + j]
                if s[i + j - winner - 1] == xi:
                    correct += 1
                    run += 1
                    if run > longest:
                        longest = run
                else:
                    run = 0
                best = high
                best_d = -1
                shift = np.uint64(63 - j)
                for c in range(nc):
                    d = cand[c]
                    if (match[d] >> shift) & np.uint64(1):
                        score[d] += 1
                        if score[d] >= best:
                            best = score[d]
                            best_d = d
                if best_d >= 0:
                    winner = best_d
                    high = best
            i += 64
            continue
        x8 = s[i]
        if s[i - winner - 1] == x8:
            correct += 1
            run += 1
            if run > longest:
                longest = run
        else:
            run = 0
        lim = depth if i >= depth else i
        best = high
        best_d = -1
        for d in range(lim):
            if s[i - d - 1] == x8:
                score[d] += 1
                if score[d] >= best:
                    best = score[d]
                    best_d = d
        if best_d >= 0:
            winner = best_d
            high = best
        i += 1
    return correct, longest


def _packed_words(bits: NDArray[np.uint8]) -> NDArray[np.uint64]:
    packed = np.packbits(bits)
    pad = (-packed.size) % 8 + 16
    packed = np.concatenate((packed, np.zeros(pad, dtype=np.uint8)))
    return packed.view(">u8").astype(np.uint64)


def lag(symbols: NDArray[np.uint8], alphabet_size: int) -> EstimatorResult:
    """Lag prediction estimate, SP 800-90B §6.3.8 (lags 1..128)."""
    n = int(symbols.size)
    require_min_length(n, 3, test="lag prediction estimate", unit="symbols")
    if alphabet_size == 2 and int(symbols.max()) <= 1:
        correct, longest = _lag_binary(symbols, _packed_words(symbols), _LAG_D)
    else:
        correct, longest = _lag(symbols, _LAG_D)
    return _result("lag", correct, n - 1, longest, alphabet_size, n)


# --------------------------------------------------------------------------- hashing helpers

_EMPTY = -1


@numba.njit(cache=True, inline="always")
def _mix(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@numba.njit(cache=True, nogil=True)
def _ctx_find(
    table: NDArray[np.int64],
    ctx_pos: NDArray[np.int64],
    ctx_len: NDArray[np.int64],
    s: NDArray[np.uint8],
    h: np.uint64,
    end: int,
    length: int,
) -> tuple[int, int]:
    # Open addressing; a context is identified by one occurrence (end position, length).
    mask = table.size - 1
    slot = np.int64(h & np.uint64(mask))
    while True:
        cid = table[slot]
        if cid == _EMPTY:
            return -1, int(slot)
        if ctx_len[cid] == length:
            e = ctx_pos[cid]
            same = True
            for m in range(length):
                if s[e - m] != s[end - m]:
                    same = False
                    break
            if same:
                return int(cid), int(slot)
        slot = (slot + 1) & mask


@numba.njit(cache=True, nogil=True)
def _post_find(keys: NDArray[np.int64], key: int) -> int:
    mask = keys.size - 1
    slot = np.int64(_mix(np.uint64(key)) & np.uint64(mask))
    while True:
        kk = keys[slot]
        if kk in (key, _EMPTY):
            return int(slot)
        slot = (slot + 1) & mask


# --------------------------------------------------------------------------- MultiMMC §6.3.9

_MMC_D = 16
_MMC_MAX_ENTRIES = 100_000


@numba.njit(cache=True, nogil=True)
def _multi_mmc_binary(s: NDArray[np.uint8], depth: int, max_entries: int) -> tuple[int, int]:
    n = s.size
    offsets = np.zeros(depth + 1, dtype=np.int64)
    for d in range(1, depth + 1):
        offsets[d] = offsets[d - 1] + (1 << (d + 1))
    table = np.zeros(offsets[depth], dtype=np.int32)  # [context of length d+1][next bit]
    entries = np.zeros(depth, dtype=np.int64)
    score = np.zeros(depth, dtype=np.int64)
    pattern = 0
    for d in range(depth):
        pattern = (pattern << 1) | s[d]
        table[offsets[d] + 2 * (pattern & ((1 << (d + 1)) - 1)) + s[d + 1]] = 1
        entries[d] = 1
    winner = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(2, n):
        x = s[i]
        found = False
        cur_winner = winner
        pattern = 0
        lim = depth if depth < i - 1 else i - 1
        for d in range(lim):
            pattern |= s[i - d - 1] << d
            base = offsets[d] + 2 * pattern
            if d == 0 or found:
                if table[base] > table[base + 1]:
                    pred = 0
                    cnt = table[base]
                else:
                    pred = 1
                    cnt = table[base + 1]
                found = cnt != 0
            if found:
                if pred == x:
                    score[d] += 1
                    if score[d] >= score[winner]:
                        winner = d
                    if d == cur_winner:
                        correct += 1
                        run += 1
                        if run > longest:
                            longest = run
                elif d == cur_winner:
                    run = 0
                if table[base + x] != 0:
                    table[base + x] += 1
                elif entries[d] < max_entries:
                    table[base + x] = 1
                    entries[d] += 1
            elif entries[d] < max_entries:
                table[base + x] = 1
                entries[d] += 1
    return correct, longest


@numba.njit(cache=True, nogil=True)
def _multi_mmc_general(
    s: NDArray[np.uint8], depth: int, max_entries: int, ctx_bits: int, post_bits: int
) -> tuple[int, int]:
    n = s.size
    table = np.full(1 << ctx_bits, _EMPTY, dtype=np.int64)
    cap = depth * max_entries + depth + 1
    ctx_pos = np.zeros(cap, dtype=np.int64)
    ctx_len = np.zeros(cap, dtype=np.int64)
    best = np.zeros(cap, dtype=np.int64)
    pred = np.zeros(cap, dtype=np.int64)
    n_ctx = 0
    pkeys = np.full(1 << post_bits, _EMPTY, dtype=np.int64)
    pvals = np.zeros(1 << post_bits, dtype=np.int64)
    entries = np.zeros(depth, dtype=np.int64)
    score = np.zeros(depth, dtype=np.int64)
    prime = np.uint64(0x100000001B3)

    # Dictionary seeding: context s[0..d] followed by s[d+1], for every depth d < N.
    for d in range(depth):
        if d < n - 2:
            h = np.uint64(0)
            for m in range(d + 1):
                h = h * prime + np.uint64(s[d - m] + 1)
            hk = _mix(h + np.uint64(d + 1) * np.uint64(0x9E3779B97F4A7C15))
            cid, slot = _ctx_find(table, ctx_pos, ctx_len, s, hk, d, d + 1)
            if cid < 0:
                cid = n_ctx
                n_ctx += 1
                table[slot] = cid
                ctx_pos[cid] = d
                ctx_len[cid] = d + 1
            y = s[d + 1]
            key = cid * 256 + y
            ps = _post_find(pkeys, key)
            if pkeys[ps] == _EMPTY:
                pkeys[ps] = key
                pvals[ps] = 0
            pvals[ps] += 1
            c = pvals[ps]
            if c > best[cid] or (c == best[cid] and y > pred[cid]):
                best[cid] = c
                pred[cid] = y
            entries[d] = 1

    winner = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(2, n):
        x = s[i]
        found = False
        cur_winner = winner
        h = np.uint64(0)
        lim = depth if depth < i - 1 else i - 1
        cid = -1
        for d in range(lim):
            # context s[i-d-1 .. i-1] (length d+1), hashed from its newest symbol backwards
            h = h * prime + np.uint64(s[i - d - 1] + 1)
            hk = _mix(h + np.uint64(d + 1) * np.uint64(0x9E3779B97F4A7C15))
            if d == 0 or found:
                cid, slot = _ctx_find(table, ctx_pos, ctx_len, s, hk, i - 1, d + 1)
                found = cid >= 0
            if found:
                if pred[cid] == x:
                    score[d] += 1
                    if score[d] >= score[winner]:
                        winner = d
                    if d == cur_winner:
                        correct += 1
                        run += 1
                        if run > longest:
                            longest = run
                elif d == cur_winner:
                    run = 0
                key = cid * 256 + x
                ps = _post_find(pkeys, key)
                if pkeys[ps] != _EMPTY:
                    pvals[ps] += 1
                elif entries[d] < max_entries:
                    pkeys[ps] = key
                    pvals[ps] = 1
                    entries[d] += 1
                else:
                    continue
                c = pvals[ps]
                if c > best[cid] or (c == best[cid] and x > pred[cid]):
                    best[cid] = c
                    pred[cid] = x
            elif entries[d] < max_entries:
                cid2, slot = _ctx_find(table, ctx_pos, ctx_len, s, hk, i - 1, d + 1)
                if cid2 < 0:
                    cid2 = n_ctx
                    n_ctx += 1
                    table[slot] = cid2
                    ctx_pos[cid2] = i - 1
                    ctx_len[cid2] = d + 1
                key = cid2 * 256 + x
                ps = _post_find(pkeys, key)
                if pkeys[ps] == _EMPTY:
                    pkeys[ps] = key
                    pvals[ps] = 0
                pvals[ps] += 1
                c = pvals[ps]
                if c > best[cid2] or (c == best[cid2] and x > pred[cid2]):
                    best[cid2] = c
                    pred[cid2] = x
                entries[d] += 1
    return correct, longest


def multi_mmc(symbols: NDArray[np.uint8], alphabet_size: int) -> EstimatorResult:
    """MultiMMC prediction estimate, SP 800-90B §6.3.9 (orders 1..16, 100,000 entries each)."""
    n = int(symbols.size)
    require_min_length(n, _MMC_D + 2, test="MultiMMC prediction estimate", unit="symbols")
    if alphabet_size == 2:
        correct, longest = _multi_mmc_binary(symbols, _MMC_D, _MMC_MAX_ENTRIES)
    else:
        correct, longest = _multi_mmc_general(symbols, _MMC_D, _MMC_MAX_ENTRIES, 22, 22)
    return _result("multi-mmc", correct, n - 2, longest, alphabet_size, n)


# --------------------------------------------------------------------------- LZ78Y §6.3.10

_LZ_B = 16
_LZ_MAX_DICT = 65_536


@numba.njit(cache=True, nogil=True)
def _lz78y_binary(s: NDArray[np.uint8], depth: int, max_dict: int) -> tuple[int, int]:
    n = s.size
    offsets = np.zeros(depth + 1, dtype=np.int64)
    for d in range(1, depth + 1):
        offsets[d] = offsets[d - 1] + (1 << (d + 1))
    table = np.zeros(offsets[depth], dtype=np.int32)
    pattern = 0
    for j in range(depth):
        pattern |= s[depth - j - 1] << j
        table[offsets[j] + 2 * pattern + s[depth]] = 1
    dict_size = depth
    correct = 0
    run = 0
    longest = 0
    mask = (1 << depth) - 1
    full = 0  # s[i-depth .. i-1], the newest bit least significant
    for m in range(depth):
        full = (full << 1) | s[m + 1]
    for i in range(depth + 1, n):
        x = s[i]
        have = False
        prediction = 2
        max_count = 0
        for j in range(depth, 0, -1):
            pattern = full & ((1 << j) - 1)
            base = offsets[j - 1] + 2 * pattern
            if table[base] > table[base + 1]:
                rp = 0
                cnt = table[base]
            else:
                rp = 1
                cnt = table[base + 1]
            if cnt != 0:
                if cnt > max_count:
                    max_count = cnt
                    have = True
                    prediction = rp
                table[base + x] += 1
            elif dict_size < max_dict:
                table[base + x] = 1
                dict_size += 1
        if have and prediction == x:
            correct += 1
            run += 1
            if run > longest:
                longest = run
        else:
            run = 0
        full = ((full << 1) | x) & mask
    return correct, longest


@numba.njit(cache=True, nogil=True)
def _lz78y_general(
    s: NDArray[np.uint8], depth: int, max_dict: int, k: int, ctx_bits: int
) -> tuple[int, int]:
    n = s.size
    table = np.full(1 << ctx_bits, _EMPTY, dtype=np.int64)
    cap = max_dict + depth + 1
    ctx_pos = np.zeros(cap, dtype=np.int64)
    ctx_len = np.zeros(cap, dtype=np.int64)
    best = np.zeros(cap, dtype=np.int64)
    pred = np.zeros(cap, dtype=np.int64)
    counts = np.zeros((cap, k), dtype=np.int32)
    n_ctx = 0
    prime = np.uint64(0x100000001B3)
    hashes = np.zeros(depth + 1, dtype=np.uint64)

    # Seeding: every context ending at s[B-1] (lengths 1..B) followed by s[B].
    h = np.uint64(0)
    for j in range(1, depth + 1):
        h = h * prime + np.uint64(s[depth - j] + 1)
        hk = _mix(h + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15))
        cid, slot = _ctx_find(table, ctx_pos, ctx_len, s, hk, depth - 1, j)
        if cid < 0:
            cid = n_ctx
            n_ctx += 1
            table[slot] = cid
            ctx_pos[cid] = depth - 1
            ctx_len[cid] = j
        y = s[depth]
        counts[cid, y] += 1
        c = counts[cid, y]
        if c > best[cid] or (c == best[cid] and y > pred[cid]):
            best[cid] = c
            pred[cid] = y
    dict_size = depth

    correct = 0
    run = 0
    longest = 0
    for i in range(depth + 1, n):
        x = s[i]
        h = np.uint64(0)
        for j in range(1, depth + 1):
            h = h * prime + np.uint64(s[i - j] + 1)
            hashes[j] = _mix(h + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15))
        have = False
        prediction = 0
        max_count = 0
        for j in range(depth, 0, -1):
            cid, slot = _ctx_find(table, ctx_pos, ctx_len, s, hashes[j], i - 1, j)
            if cid >= 0:
                if best[cid] > max_count:
                    max_count = best[cid]
                    prediction = pred[cid]
                    have = True
            elif dict_size < max_dict:
                cid = n_ctx
                n_ctx += 1
                table[slot] = cid
                ctx_pos[cid] = i - 1
                ctx_len[cid] = j
                dict_size += 1
            else:
                continue
            counts[cid, x] += 1
            c = counts[cid, x]
            if c > best[cid] or (c == best[cid] and x > pred[cid]):
                best[cid] = c
                pred[cid] = x
        if have and prediction == x:
            correct += 1
            run += 1
            if run > longest:
                longest = run
        else:
            run = 0
    return correct, longest


def lz78y(symbols: NDArray[np.uint8], alphabet_size: int) -> EstimatorResult:
    """LZ78Y prediction estimate, SP 800-90B §6.3.10 (B = 16, dictionary of 65,536 entries)."""
    n = int(symbols.size)
    require_min_length(n, _LZ_B + 3, test="LZ78Y prediction estimate", unit="symbols")
    if alphabet_size == 2:
        correct, longest = _lz78y_binary(symbols, _LZ_B, _LZ_MAX_DICT)
    else:
        k = max(int(alphabet_size), int(symbols.max()) + 1)
        correct, longest = _lz78y_general(symbols, _LZ_B, _LZ_MAX_DICT, k, 18)
    return _result("lz78y", correct, n - _LZ_B - 1, longest, alphabet_size, n)
