"""Compiled per-sequence loops of the SP 800-22 battery (numba, no Python objects).

Every kernel takes a C-contiguous 2-D ``uint8`` array of shape ``(m, n)`` holding 0/1 (one row per
sequence) and returns per-sequence counts; the statistics and p-values are formed in
:mod:`evaltool.engines.stats.sp800_22.first_level`. Section numbers refer to NIST SP 800-22 rev. 1a.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True, nogil=True)
def ones_and_runs(bits: NDArray[np.uint8]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Number of ones (§2.1) and total number of runs V_n(obs) (§2.3) of each row."""
    m, n = bits.shape
    ones = np.zeros(m, dtype=np.int64)
    runs = np.zeros(m, dtype=np.int64)
    for r in range(m):
        s = 0
        v = 1
        prev = bits[r, 0] if n else 0
        for k in range(n):
            b = bits[r, k]
            s += b
            if k and b != prev:
                v += 1
            prev = b
        ones[r] = s
        runs[r] = v
    return ones, runs


@numba.njit(cache=True, nogil=True)
def walk_extremes(
    bits: NDArray[np.uint8],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Maximum, minimum (both including S_0 = 0) and final value of the ±1 walk (§2.13)."""
    m, n = bits.shape
    sup = np.zeros(m, dtype=np.int64)
    inf = np.zeros(m, dtype=np.int64)
    fin = np.zeros(m, dtype=np.int64)
    for r in range(m):
        s = 0
        hi = 0
        lo = 0
        for k in range(n):
            s += 2 * int(bits[r, k]) - 1
            if s > hi:
                hi = s
            if s < lo:
                lo = s
        sup[r] = hi
        inf[r] = lo
        fin[r] = s
    return sup, inf, fin


@numba.njit(cache=True, nogil=True)
def block_longest_runs(bits: NDArray[np.uint8], block: int, nblocks: int) -> NDArray[np.int64]:
    """Longest run of ones in each of ``nblocks`` consecutive blocks of ``block`` bits (§2.4)."""
    m = bits.shape[0]
    out = np.zeros((m, nblocks), dtype=np.int64)
    for r in range(m):
        for i in range(nblocks):
            best = 0
            run = 0
            base = i * block
            for j in range(block):
                if bits[r, base + j] == 1:
                    run += 1
                    if run > best:
                        best = run
                else:
                    run = 0
            out[r, i] = best
    return out


@numba.njit(cache=True, nogil=True)
def _gf2_rank_reference(rows: NDArray[np.uint64], size: int) -> int:
    """Rank of a square GF(2) matrix by the reference suite's elimination order (§2.5, §F.1).

    Row ``i`` is ``rows[i]``; column ``j`` is bit ``size - 1 - j``. The forward pass pivots on the
    diagonal only, swapping in the first lower row with a one in that column; the backward pass
    does the same upwards; the rank is the number of non-zero rows. These are the elementary
    operations of the reference implementation (sts-2.1.2 ``computeRank``), here on packed rows.
    """
    for i in range(size - 1):
        bit = np.uint64(1) << np.uint64(size - 1 - i)
        if (rows[i] & bit) == 0:
            idx = i + 1
            while idx < size and (rows[idx] & bit) == 0:
                idx += 1
            if idx >= size:
                continue
            tmp = rows[i]
            rows[i] = rows[idx]
            rows[idx] = tmp
        shift = np.uint64(size - 1 - i)
        pivot = rows[i]
        for j in range(i + 1, size):  # rows[j] ^= pivot where rows[j] has the bit, branch-free
            rows[j] ^= pivot & (np.uint64(0) - ((rows[j] >> shift) & np.uint64(1)))
    for i in range(size - 1, 0, -1):
        bit = np.uint64(1) << np.uint64(size - 1 - i)
        if (rows[i] & bit) == 0:
            idx = i - 1
            while idx >= 0 and (rows[idx] & bit) == 0:
                idx -= 1
            if idx < 0:
                continue
            tmp = rows[i]
            rows[i] = rows[idx]
            rows[idx] = tmp
        shift = np.uint64(size - 1 - i)
        pivot = rows[i]
        for j in range(i - 1, -1, -1):
            rows[j] ^= pivot & (np.uint64(0) - ((rows[j] >> shift) & np.uint64(1)))
    rank = size
    for i in range(size):
        if rows[i] == 0:
            rank -= 1
    return rank


@numba.njit(cache=True, nogil=True)
def matrix_ranks(bits: NDArray[np.uint8], size: int, nmat: int) -> NDArray[np.int64]:
    """Counts of full-rank, rank ``size - 1`` and lower-rank ``size`` × ``size`` matrices (§2.5).

    Matrix ``k`` of a row is filled row by row from bits ``k·size² …``. Returns ``(m, 3)``.
    """
    m = bits.shape[0]
    out = np.zeros((m, 3), dtype=np.int64)
    rows = np.zeros(size, dtype=np.uint64)
    for r in range(m):
        for k in range(nmat):
            base = k * size * size
            for i in range(size):
                v = np.uint64(0)
                off = base + i * size
                for j in range(size):
                    v = (v << np.uint64(1)) | np.uint64(bits[r, off + j])
                rows[i] = v
            rk = _gf2_rank_reference(rows, size)
            if rk == size:
                out[r, 0] += 1
            elif rk == size - 1:
                out[r, 1] += 1
            else:
                out[r, 2] += 1
    return out


@numba.njit(cache=True, nogil=True)
def block_window_counts(
    bits: NDArray[np.uint8], width: int, block: int, nblocks: int
) -> NDArray[np.int64]:
    """Occurrences of every ``width``-bit pattern fully inside each block (§2.7).

    Returns ``(m, nblocks, 2**width)``; pattern value is MSB-first. Every window starting at
    offsets ``0 … block - width`` of a block is counted (overlapping occurrences).
    """
    m = bits.shape[0]
    size = 1 << width
    mask = size - 1
    out = np.zeros((m, nblocks, size), dtype=np.int64)
    for r in range(m):
        for i in range(nblocks):
            base = i * block
            v = 0
            for j in range(width - 1):
                v = (v << 1) | bits[r, base + j]
            for j in range(width - 1, block):
                v = ((v << 1) | bits[r, base + j]) & mask
                out[r, i, v] += 1
    return out


@numba.njit(cache=True, nogil=True)
def block_pattern_counts(
    bits: NDArray[np.uint8], pattern: int, width: int, block: int, nblocks: int
) -> NDArray[np.int64]:
    """Overlapping occurrences of one ``width``-bit pattern in each block (§2.8)."""
    m = bits.shape[0]
    mask = (1 << width) - 1
    out = np.zeros((m, nblocks), dtype=np.int64)
    for r in range(m):
        for i in range(nblocks):
            base = i * block
            v = 0
            for j in range(width - 1):
                v = (v << 1) | bits[r, base + j]
            c = 0
            for j in range(width - 1, block):
                v = ((v << 1) | bits[r, base + j]) & mask
                if v == pattern:
                    c += 1
            out[r, i] = c
    return out


@numba.njit(cache=True, nogil=True)
def cyclic_counts(bits: NDArray[np.uint8], width: int) -> NDArray[np.int64]:
    """Occurrences of every ``width``-bit pattern among the n cyclic windows (§2.11, §2.12).

    Window ``i`` is ``ε_i … ε_{i+width-1}`` with indices taken modulo n (the sequence is
    extended by its first ``width - 1`` bits). Returns ``(m, 2**width)``.
    """
    m, n = bits.shape
    size = 1 << width
    mask = size - 1
    out = np.zeros((m, size), dtype=np.int64)
    for r in range(m):
        v = 0
        for j in range(width - 1):
            v = (v << 1) | bits[r, j % n]
        j = (width - 1) % n  # index of the bit entering the window, without a division per bit
        for _ in range(n):
            v = ((v << 1) | bits[r, j]) & mask
            out[r, v] += 1
            j += 1
            if j == n:
                j = 0
    return out


@numba.njit(cache=True, nogil=True)
def universal_sums(bits: NDArray[np.uint8], L: int, Q: int, K: int) -> NDArray[np.float64]:
    """Σ log2(i − T[block_i]) over the K test blocks of Maurer's test (§2.9.4 step 3)."""
    m = bits.shape[0]
    out = np.zeros(m, dtype=np.float64)
    table = np.zeros(1 << L, dtype=np.int64)
    ln2 = np.log(2.0)
    for r in range(m):
        table[:] = 0
        for i in range(1, Q + 1):
            v = 0
            base = (i - 1) * L
            for j in range(L):
                v = (v << 1) | bits[r, base + j]
            table[v] = i
        s = 0.0
        for i in range(Q + 1, Q + K + 1):
            v = 0
            base = (i - 1) * L
            for j in range(L):
                v = (v << 1) | bits[r, base + j]
            s += np.log(np.float64(i - table[v])) / ln2
            table[v] = i
        out[r] = s
    return out


@numba.njit(cache=True, nogil=True)
def excursions(
    bits: NDArray[np.uint8],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Cycle statistics of the ±1 walk for the random excursions tests (§2.14, §2.15).

    Returns ``J`` (number of cycles, the trailing excursion counts when the walk does not end at
    zero), ``zeros`` (returns of the walk to zero), ``nu`` of shape ``(m, 6, 8)`` (cycles
    visiting state x = -4…-1, 1…4 exactly k times, k = 5 meaning ≥ 5), and ``xi`` of shape
    ``(m, 18)`` (total visits to x = -9…-1, 1…9).
    """
    m, n = bits.shape
    J = np.zeros(m, dtype=np.int64)
    zeros = np.zeros(m, dtype=np.int64)
    nu = np.zeros((m, 6, 8), dtype=np.int64)
    xi = np.zeros((m, 18), dtype=np.int64)
    counter = np.zeros(8, dtype=np.int64)
    for r in range(m):
        s = 0
        cycles = 0
        counter[:] = 0
        for k in range(n):
            s += 2 * int(bits[r, k]) - 1
            if s == 0:
                cycles += 1
                for i in range(8):
                    c = counter[i]
                    nu[r, c if c < 5 else 5, i] += 1
                    counter[i] = 0
            else:
                if -4 <= s <= 4:
                    counter[s + 4 if s < 0 else s + 3] += 1
                if -9 <= s <= 9:
                    xi[r, s + 9 if s < 0 else s + 8] += 1
        if s != 0:
            cycles += 1
            for i in range(8):
                c = counter[i]
                nu[r, c if c < 5 else 5, i] += 1
        zeros[r] = cycles - (1 if s != 0 else 0)
        J[r] = cycles
    return J, zeros, nu, xi


@numba.njit(cache=True, nogil=True)
def linear_complexities(bits: NDArray[np.uint8], block: int, nblocks: int) -> NDArray[np.int64]:
    """Linear complexity of each block by Berlekamp–Massey, 64 blocks at a time (§2.10, §F.2).

    Bit-sliced: bit b of every word belongs to block b of a group of 64, so one word operation
    advances the algorithm of 64 blocks. ``S[j]`` holds bit j of each block, ``C[i]`` the
    coefficient c_i of each block's connection polynomial C(D) and ``PB[base + i]`` that of
    D^(N-m) B(D), the previous polynomial already shifted for step N (Massey, "Shift-register
    synthesis and BCH decoding", IEEE Trans. IT-15, 1969). At step N the discrepancies of all
    blocks are d = XOR_i C[i] & S[N-i]; blocks with d = 1 take C ← C + D^(N-m) B, and those with
    2L ≤ N also B ← C (before the update) and L ← N + 1 − L; the shift by D for the next step is
    a move of ``base``. Only the coefficients up to the largest degree any block can have are
    touched. Returns ``(m, nblocks)``.
    """
    m = bits.shape[0]
    out = np.zeros((m, nblocks), dtype=np.int64)
    S = np.zeros(block, dtype=np.uint64)
    C = np.zeros(block + 2, dtype=np.uint64)
    PB = np.zeros(2 * block + 4, dtype=np.uint64)
    L = np.zeros(64, dtype=np.int64)
    one = np.uint64(1)
    for r in range(m):
        for g0 in range(0, nblocks, 64):
            lanes = min(64, nblocks - g0)
            mask = ~np.uint64(0) if lanes == 64 else (one << np.uint64(lanes)) - one
            S[:] = 0
            for b in range(lanes):
                first = (g0 + b) * block
                for j in range(block):
                    S[j] |= np.uint64(bits[r, first + j]) << np.uint64(b)
            C[:] = 0
            PB[:] = 0
            L[:] = 0
            C[0] = mask  # C(D) = 1
            base = block + 1
            PB[base + 1] = mask  # D^(N-m) B(D) = D at step 0 (B = 1, m = -1)
            lmax = 0  # largest L of the group: no C has a coefficient above it
            lmin = 0  # smallest L: no D^(N-m) B has one above N + 1 - lmin
            for N in range(block):
                acc = np.uint64(0)
                for i in range(min(lmax, N) + 1):
                    acc ^= C[i] & S[N - i]
                if acc == 0:
                    base -= 1
                    continue
                upper = max(lmax, N + 1 - lmin)
                grown = np.uint64(0)
                hi = 0
                lo = block + 1
                for b in range(lanes):
                    lb = L[b]
                    grow = ((acc >> np.uint64(b)) & one) & np.uint64(2 * lb <= N)
                    lb += np.int64(grow) * (N + 1 - 2 * lb)
                    L[b] = lb
                    grown |= grow << np.uint64(b)
                    hi = max(hi, lb)
                    lo = min(lo, lb)
                lmax = hi
                lmin = lo
                for i in range(upper + 1):
                    c = C[i]
                    bx = PB[base + i]
                    C[i] = c ^ (acc & bx)
                    PB[base + i] = bx ^ (grown & (c ^ bx))
                base -= 1
            for b in range(lanes):
                out[r, g0 + b] = L[b]
    return out
