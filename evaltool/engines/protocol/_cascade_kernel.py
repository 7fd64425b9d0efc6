"""Compiled core of the Cascade reconciliation (see :mod:`evaltool.engines.protocol.cascade`).

The kernel simulates both parties on one frame. Alice's parities are never needed as values to drive
the protocol: Bob compares his parity with Alice's, so only the *error* parity ``parity(a XOR b)``
of a block decides the next step; the kernel keeps the error pattern ``err = a XOR b`` and counts
every parity Alice discloses. The message flow follows the batched formulation of Martinez-Mateo,
Pacher, Peev, Ciurana, Martin, QIC 15 (2015) (arXiv:1407.3257, §3): all parity questions that are
pending when no more local progress is possible travel in one message (one channel use).

Data layout. Pass ``p`` reorders the frame by a permutation ``perm[p]`` (pass 0: identity) and
splits it into top-level blocks of ``k_p`` bits. The bisection tree of each top-level block is
stored implicitly in heap order (root 1, children ``2h`` and ``2h + 1``); a block ``[s, e)`` splits
at ``s + ceil((e - s) / 2)``. A node exists once created; its error parity is maintained
incrementally on every bit flip, so bisection and the cascade effect cost ``O(depth)`` per step
after creation.

Shuffles. Pass ``p >= 1`` uses a Fisher-Yates shuffle driven by SplitMix64 (Steele, Lea, Flood,
OOPSLA 2014) seeded with ``frame_seed XOR (p * 0x9E3779B97F4A7C15)``; index ``j`` (from
``n - 1`` down to 1) swaps with ``r mod (j + 1)`` for the next 64-bit output ``r`` (modulo bias
below ``n / 2**64``).
"""

from __future__ import annotations

import functools
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.integer[Any]]
"""Integer arrays of any width (node arrays use int32/int8 to save memory)."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@numba.njit(cache=True, inline="always")
def _splitmix_next(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return state, z


@numba.njit(cache=True)
def splitmix64_stream(seed: np.uint64, count: int) -> NDArray[np.uint64]:
    """Return ``count`` outputs of SplitMix64 started at ``seed`` (used to derive per-run seeds)."""
    out = np.empty(count, dtype=np.uint64)
    s = np.uint64(seed)
    for i in range(count):
        s, z = _splitmix_next(s)
        out[i] = z
    return out


@numba.njit(cache=True)
def shuffle_permutation(
    n: int, frame_seed: np.uint64, pass_index: int, out: IntArray
) -> None:
    """Fill ``out`` with the permutation of pass ``pass_index`` (identity for pass 0)."""
    for i in range(n):
        out[i] = i
    if pass_index == 0:
        return
    s = np.uint64(frame_seed) ^ (np.uint64(pass_index) * _GOLDEN)
    for j in range(n - 1, 0, -1):
        s, z = _splitmix_next(s)
        k = np.int64(z % np.uint64(j + 1))
        tmp = out[j]
        out[j] = out[k]
        out[k] = tmp


@numba.njit(cache=True)
def exact_error_pattern(n: int, n_errors: int, run_seed: np.uint64, out: NDArray[np.uint8]) -> None:
    """Place exactly ``n_errors`` ones uniformly at random in ``out`` (partial Fisher-Yates)."""
    idx = np.arange(n)
    out[:] = 0
    s = np.uint64(run_seed)
    for i in range(n_errors):
        s, z = _splitmix_next(s)
        k = i + np.int64(z % np.uint64(n - i))
        tmp = idx[i]
        idx[i] = idx[k]
        idx[k] = tmp
        out[idx[i]] = 1


class Workspace:
    """Arrays reused across frames of the same length and block sizes (allocated once).

    Node arrays are indexed by the implicit trees and touched sparsely; allocating them afresh for
    every frame costs page faults worth ten times the reconciliation itself, hence
    :func:`workspace` keeps recent ones. A workspace is used only inside one compiled call, which
    holds the interpreter lock, so sharing it between threads is safe.
    """

    def __init__(self, n: int, block_sizes: tuple[int, ...], *, full_queues: bool = False) -> None:
        n_pass = len(block_sizes)
        ks = np.asarray(block_sizes, dtype=np.int64)
        tree = np.empty(n_pass, dtype=np.int64)
        off = np.empty(n_pass + 1, dtype=np.int64)
        off[0] = 0
        for p, k in enumerate(block_sizes):
            depth = max(0, int(np.ceil(np.log2(k)))) if k > 1 else 0
            tree[p] = 1 << (depth + 1)
            nb = -(-n // k)
            off[p + 1] = off[p] + nb * tree[p]
        nodes = int(off[n_pass])
        self.ks = ks
        self.tree = tree
        self.off = off
        # 15 bytes per tree node: frames of 1e5 bits need ~25 MB, 1e6 bits ~250 MB (yanetal).
        self.perm = np.empty((n_pass, n), dtype=np.int32)
        self.pos = np.empty((n_pass, n), dtype=np.int32)
        self.errp = np.empty((n_pass, n), dtype=np.uint8)
        self.stamp = np.zeros(nodes, dtype=np.int32)
        self.flags = np.zeros(nodes, dtype=np.uint8)
        self.errpar = np.zeros(nodes, dtype=np.uint8)
        self.ns = np.zeros(nodes, dtype=np.int32)
        self.ne = np.zeros(nodes, dtype=np.int32)
        self.npass = np.zeros(nodes, dtype=np.int8)
        # Every (node, continuation) pair is queued at most once at a time, so 2 * nodes entries
        # always suffice; far fewer are used in practice. The default capacity is a generous
        # multiple of the frame; a frame that would overflow it is detected and run again with
        # ``full_queues`` (same seed, same result).
        top_blocks = int(sum(-(-n // k) for k in block_sizes))
        cap = 2 * nodes + 16 if full_queues else min(2 * nodes + 16, 8 * n + 4 * top_blocks + 1024)
        self.hkey = np.zeros(cap, dtype=np.int64)
        self.hval = np.zeros(cap, dtype=np.int64)
        self.ask = np.zeros(cap, dtype=np.int64)
        self.counters = np.zeros(9, dtype=np.int64)

    def arrays(self) -> tuple[NDArray[Any], ...]:
        """The arrays in the order the compiled kernels take them."""
        return (self.ks, self.tree, self.off, self.perm, self.pos, self.errp, self.stamp,
                self.flags, self.errpar, self.ns, self.ne, self.npass, self.hkey, self.hval,
                self.ask, self.counters)


# flags bits
_KNOWN = 1
_Q_FALSE = 2  # queued for try-correct without the right-sibling continuation
_Q_TRUE = 4  # queued for try-correct with the right-sibling continuation
_A_FALSE = 8  # parity question pending (continuation False)
_A_TRUE = 16  # parity question pending (continuation True)

# counters
_C_HEAP = 0
_C_ASK = 1
_C_SEQ = 2
_C_LEAK = 3
_C_USES = 4
_C_INFER = 5
_C_TR = 6
_C_STAMP = 7
_C_OVERFLOW = 8


@numba.njit(cache=True, inline="always")
def _created(stamp: IntArray, node: int, cur: int) -> bool:
    return bool(stamp[node] == cur)


@numba.njit(cache=True)
def _create(
    node: int,
    p: int,
    s: int,
    e: int,
    cur: int,
    stamp: IntArray,
    flags: NDArray[np.uint8],
    errpar: NDArray[np.uint8],
    ns: IntArray,
    ne: IntArray,
    npass: IntArray,
    errp: NDArray[np.uint8],
) -> None:
    stamp[node] = cur
    flags[node] = 0
    acc = 0
    for j in range(s, e):
        acc ^= errp[p, j]
    errpar[node] = acc
    ns[node] = s
    ne[node] = e
    npass[node] = p


@numba.njit(cache=True)
def _heap_push(
    hkey: NDArray[np.int64], hval: NDArray[np.int64], cnt: NDArray[np.int64], size: int, val: int
) -> None:
    i = cnt[_C_HEAP]
    if i >= hkey.size:
        cnt[_C_OVERFLOW] = 1
        return
    cnt[_C_HEAP] = i + 1
    key = (size << 32) | (cnt[_C_SEQ] & 0xFFFFFFFF)
    cnt[_C_SEQ] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if hkey[parent] <= key:
            break
        hkey[i] = hkey[parent]
        hval[i] = hval[parent]
        i = parent
    hkey[i] = key
    hval[i] = val


@numba.njit(cache=True)
def _heap_pop(hkey: NDArray[np.int64], hval: NDArray[np.int64], cnt: NDArray[np.int64]) -> int:
    top = hval[0]
    m = cnt[_C_HEAP] - 1
    cnt[_C_HEAP] = m
    if m > 0:
        key = hkey[m]
        val = hval[m]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= m:
                break
            if c + 1 < m and hkey[c + 1] < hkey[c]:
                c += 1
            if hkey[c] >= key:
                break
            hkey[i] = hkey[c]
            hval[i] = hval[c]
            i = c
        hkey[i] = key
        hval[i] = val
    return int(top)


@numba.njit(cache=True)
def _schedule_try(
    node: int,
    crs: int,
    flags: NDArray[np.uint8],
    ns: IntArray,
    ne: IntArray,
    hkey: NDArray[np.int64],
    hval: NDArray[np.int64],
    cnt: NDArray[np.int64],
) -> None:
    bit = _Q_TRUE if crs else _Q_FALSE
    if flags[node] & bit:
        return
    flags[node] |= bit
    _heap_push(hkey, hval, cnt, ne[node] - ns[node], node * 2 + crs)


@numba.njit(cache=True)
def _frame(
    err: NDArray[np.uint8],
    alice: NDArray[np.uint8],
    record: bool,
    transcript: NDArray[np.int64],
    frame_seed: np.uint64,
    sub_block_reuse: bool,
    frame_parity_inference: bool,
    ks: NDArray[np.int64],
    tree: NDArray[np.int64],
    off: NDArray[np.int64],
    perm: IntArray,
    pos: IntArray,
    errp: NDArray[np.uint8],
    stamp: IntArray,
    flags: NDArray[np.uint8],
    errpar: NDArray[np.uint8],
    ns: IntArray,
    ne: IntArray,
    npass: IntArray,
    hkey: NDArray[np.int64],
    hval: NDArray[np.int64],
    ask: NDArray[np.int64],
    cnt: NDArray[np.int64],
) -> tuple[int, int, int, int, int]:
    """Reconcile one frame in place: ``err`` ends as the residual error pattern.

    Returns ``(leaked parities, channel uses, inferred parities, transcript rows, overflow)``; when
    ``overflow`` is 1 a queue or the transcript was too small and the other values are invalid.
    """
    n = err.size
    n_pass = ks.size
    cnt[_C_STAMP] += 1
    cur = cnt[_C_STAMP]
    cnt[_C_HEAP] = 0
    cnt[_C_ASK] = 0
    cnt[_C_SEQ] = 0
    cnt[_C_LEAK] = 0
    cnt[_C_USES] = 0
    cnt[_C_INFER] = 0
    cnt[_C_TR] = 0
    cnt[_C_OVERFLOW] = 0
    for p in range(n_pass):
        shuffle_permutation(n, frame_seed, p, perm[p])
        for j in range(n):
            i = perm[p, j]
            pos[p, i] = j
            errp[p, j] = err[i]
        k = ks[p]
        nb = (n + k - 1) // k
        deferred = -1
        for b in range(nb):
            s = b * k
            e = min(n, s + k)
            node = off[p] + b * tree[p] + 1
            _create(node, p, s, e, cur, stamp, flags, errpar, ns, ne, npass, errp)
            if frame_parity_inference and p > 0 and b == nb - 1:
                # The parity of the whole frame is known since pass 0 (XOR of its top-level
                # parities), so the last block's parity follows from the others: not disclosed.
                flags[node] |= _KNOWN
                cnt[_C_INFER] += 1
                deferred = node
                continue
            flags[node] |= _A_FALSE
            if cnt[_C_ASK] >= ask.size:
                cnt[_C_OVERFLOW] = 1
                continue
            ask[cnt[_C_ASK]] = node * 2
            cnt[_C_ASK] += 1
        # Service loop (Martinez-Mateo et al. 2015, §3): correct locally as far as possible, then
        # send every pending parity question in a single message.
        while cnt[_C_HEAP] > 0 or cnt[_C_ASK] > 0:
            while cnt[_C_HEAP] > 0:
                v = _heap_pop(hkey, hval, cnt)
                node = v >> 1
                crs = v & 1
                flags[node] &= ~np.uint8(_Q_TRUE if crs else _Q_FALSE)
                # BINARY on this block (Brassard-Salvail 1993), iterative form.
                while True:
                    q = npass[node]
                    h = (node - off[q]) % tree[q]
                    base = node - h
                    if not (flags[node] & _KNOWN):
                        # Parity inference: parent and sibling parities known => no disclosure.
                        if h > 1:
                            par = base + (h >> 1)
                            sib = base + (h ^ 1)
                            if (
                                (flags[par] & _KNOWN)
                                and _created(stamp, sib, cur)
                                and (flags[sib] & _KNOWN)
                            ):
                                flags[node] |= _KNOWN
                                cnt[_C_INFER] += 1
                        if not (flags[node] & _KNOWN):
                            abit = _A_TRUE if crs else _A_FALSE
                            if not (flags[node] & abit):
                                flags[node] |= abit
                                if cnt[_C_ASK] < ask.size:
                                    ask[cnt[_C_ASK]] = node * 2 + crs
                                    cnt[_C_ASK] += 1
                                else:
                                    cnt[_C_OVERFLOW] = 1
                            break
                    if errpar[node] == 0:
                        if crs and h > 1:
                            par = base + (h >> 1)
                            sib = base + (h ^ 1)
                            if not _created(stamp, sib, cur):
                                mid = ns[par] + (ne[par] - ns[par] + 1) // 2
                                _create(
                                    sib,
                                    q,
                                    mid,
                                    ne[par],
                                    cur,
                                    stamp,
                                    flags,
                                    errpar,
                                    ns,
                                    ne,
                                    npass,
                                    errp,
                                )
                            node = sib
                            crs = 0
                            continue
                        break
                    s = ns[node]
                    e = ne[node]
                    if e - s == 1:
                        # Found an error: flip Bob's bit and propagate (the cascade effect).
                        i = perm[q, s]
                        err[i] ^= 1
                        for r in range(p + 1):
                            x = pos[r, i]
                            errp[r, x] ^= 1
                            bb = x // ks[r]
                            rb = off[r] + bb * tree[r]
                            hh = 1
                            while True:
                                nd = rb + hh
                                if not _created(stamp, nd, cur):
                                    break
                                errpar[nd] ^= 1
                                if (hh == 1 or sub_block_reuse) and (
                                    errpar[nd] == 1 or not (flags[nd] & _KNOWN)
                                ):
                                    _schedule_try(nd, 0, flags, ns, ne, hkey, hval, cnt)
                                s2 = ns[nd]
                                e2 = ne[nd]
                                if e2 - s2 <= 1:
                                    break
                                mid = s2 + (e2 - s2 + 1) // 2
                                hh = 2 * hh if x < mid else 2 * hh + 1
                        break
                    left = base + 2 * h
                    if not _created(stamp, left, cur):
                        mid = s + (e - s + 1) // 2
                        _create(left, q, s, mid, cur, stamp, flags, errpar, ns, ne, npass, errp)
                    node = left
                    crs = 1
            m = cnt[_C_ASK]
            if m > 0:
                cnt[_C_USES] += 1
                for a in range(m):
                    v = ask[a]
                    node = v >> 1
                    crs = v & 1
                    flags[node] &= ~np.uint8(_A_TRUE if crs else _A_FALSE)
                    if not (flags[node] & _KNOWN):
                        flags[node] |= _KNOWN
                        cnt[_C_LEAK] += 1
                        if record and cnt[_C_TR] >= transcript.shape[0]:
                            cnt[_C_OVERFLOW] = 1
                        elif record:
                            t = cnt[_C_TR]
                            q = npass[node]
                            par_a = 0
                            for j in range(ns[node], ne[node]):
                                par_a ^= alice[perm[q, j]]
                            transcript[t, 0] = q
                            transcript[t, 1] = ns[node]
                            transcript[t, 2] = ne[node]
                            transcript[t, 3] = par_a
                            cnt[_C_TR] = t + 1
                    _schedule_try(node, crs, flags, ns, ne, hkey, hval, cnt)
                cnt[_C_ASK] = 0
            if deferred >= 0:
                # Bob can use the inferred parity only once the other parities have arrived.
                _schedule_try(deferred, 0, flags, ns, ne, hkey, hval, cnt)
                deferred = -1
    return cnt[_C_LEAK], cnt[_C_USES], cnt[_C_INFER], cnt[_C_TR], cnt[_C_OVERFLOW]


@numba.njit(cache=True)
def simulate_runs(
    n: int,
    n_errors: int,
    run_seeds: NDArray[np.uint64],
    sub_block_reuse: bool,
    frame_parity_inference: bool,
    ks: NDArray[np.int64],
    tree: NDArray[np.int64],
    off: NDArray[np.int64],
    perm: IntArray,
    pos: IntArray,
    errp: NDArray[np.uint8],
    stamp: IntArray,
    flags: NDArray[np.uint8],
    errpar: NDArray[np.uint8],
    ns: IntArray,
    ne: IntArray,
    npass: IntArray,
    hkey: NDArray[np.int64],
    hval: NDArray[np.int64],
    ask: NDArray[np.int64],
    cnt: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Run independent frames with exactly ``n_errors`` errors each.

    Returns leak, uses, residual errors and an overflow flag per run (runs flagged 1 must be
    repeated with a full-size workspace).
    """
    runs = run_seeds.size
    overflow = np.zeros(runs, dtype=np.int64)
    leak = np.empty(runs, dtype=np.int64)
    uses = np.empty(runs, dtype=np.int64)
    resid = np.empty(runs, dtype=np.int64)
    err = np.zeros(n, dtype=np.uint8)
    dummy_alice = np.zeros(0, dtype=np.uint8)
    dummy_tr = np.zeros((0, 4), dtype=np.int64)
    for r in range(runs):
        exact_error_pattern(n, n_errors, run_seeds[r], err)
        res = _frame(
            err,
            dummy_alice,
            False,
            dummy_tr,
            run_seeds[r],
            sub_block_reuse,
            frame_parity_inference,
            ks,
            tree,
            off,
            perm,
            pos,
            errp,
            stamp,
            flags,
            errpar,
            ns,
            ne,
            npass,
            hkey,
            hval,
            ask,
            cnt,
        )
        leak[r] = res[0]
        uses[r] = res[1]
        overflow[r] = res[4]
        acc = 0
        for j in range(n):
            acc += err[j]
        resid[r] = acc
    return leak, uses, resid, overflow


def run_frame(
    err: NDArray[np.uint8],
    alice: NDArray[np.uint8],
    record: bool,
    frame_seed: int,
    sub_block_reuse: bool,
    frame_parity_inference: bool,
    block_sizes: tuple[int, ...],
) -> tuple[int, int, int, NDArray[np.int64]]:
    """Reconcile one frame (``err`` modified in place); return leak, uses, inferred, transcript.

    Runs with the cached default workspace and, if a queue overflows, once more with full-size
    queues (the result is a deterministic function of the inputs, so the rerun is the answer).
    """
    original = err.copy()
    for full in (False, True):
        ws = workspace(err.size, block_sizes, full)
        rows = ws.hkey.size if record else 0
        transcript = np.zeros((rows, 4), dtype=np.int64)
        leak, uses, inferred, n_tr, overflow = _frame(
            err,
            alice,
            record,
            transcript,
            np.uint64(frame_seed),
            sub_block_reuse,
            frame_parity_inference,
            *ws.arrays(),
        )
        if not overflow:
            return int(leak), int(uses), int(inferred), transcript[: int(n_tr)]
        err[:] = original
    raise RuntimeError("Cascade queues overflowed with full-size workspaces")


@functools.lru_cache(maxsize=8)
def workspace(n: int, block_sizes: tuple[int, ...], full_queues: bool = False) -> Workspace:
    """Return a (cached) workspace for frames of ``n`` bits with these block sizes."""
    return Workspace(n, block_sizes, full_queues=full_queues)
