"""Exact Toeplitz-matrix products over GF(2) by Karatsuba splitting on 64-bit words.

A square Toeplitz matrix of ``m = 64 W`` rows is fixed by ``2m - 1`` seed bits ``s`` with
``T[i, j] = s[j - i + m - 1]``. In bit-reversed form (``u`` = reversed ``v``, ``z`` = reversed
``y = T v``) the product is a *middle product*: ``z_r = sum_j s[r + m - 1 - j] u_j`` is coefficient
``r + m - 1`` of the polynomial product ``s(x) u(x)`` over GF(2).

Splitting the matrix into 2 x 2 blocks ``[[T1, T0], [T2, T1]]`` of half size gives the
three-product Toeplitz-matrix-vector formula (Winograd 1980; for GF(2) see Fan and Hasan, IEEE TC
56 (2007) 224, §3):  ``P0 = T1 (v0 + v1)``, ``P1 = (T0 + T1) v1``, ``P2 = (T2 + T1) v0``,
``y_top = P0 + P1``, ``y_bottom = P0 + P2``; over GF(2) every sum is an XOR of seed words or vector
words. Blocks of :data:`BASE_WORDS` words or fewer are multiplied by schoolbook on words with a
64 x 64 -> 128-bit carry-less product: the ``PCLMULQDQ`` instruction where the processor has it
(Gueron and Kounavis, Intel white paper 323640, 2010), otherwise a portable shift-and-XOR loop;
both give identical results.

All seeds of all blocks start on word boundaries because every block size is a multiple of 64
bits, so the recursion never shifts bits.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import llvmlite.binding as llvm_binding
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

BASE_WORDS = 64
"""The recursion stops at blocks of at most this many 64-bit words (4096 bits)."""


def _host_has_pclmul() -> bool:
    try:
        features = llvm_binding.get_host_cpu_features()
    except RuntimeError:
        return False
    return bool(features.get("pclmul", False))


HAS_PCLMUL = _host_has_pclmul()
"""Whether the hardware carry-less multiply is used."""


@intrinsic
def _pclmul(typingctx, a, b):  # type: ignore[no-untyped-def]
    """Return ``(lo, hi)`` of the 128-bit carry-less product of two uint64 (PCLMULQDQ)."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i32 = ir.IntType(32)
        vec = ir.VectorType(ir.IntType(64), 2)
        undef = ir.Constant(vec, ir.Undefined)
        va = builder.insert_element(undef, args[0], ir.Constant(i32, 0))
        vb = builder.insert_element(undef, args[1], ir.Constant(i32, 0))
        fnty = ir.FunctionType(vec, [vec, vec, ir.IntType(8)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.pclmulqdq")
        res = builder.call(fn, [va, vb, ir.Constant(ir.IntType(8), 0)])
        lo = builder.extract_element(res, ir.Constant(i32, 0))
        hi = builder.extract_element(res, ir.Constant(i32, 1))
        return context.make_tuple(builder, signature.return_type, [lo, hi])

    return sig, codegen


@intrinsic
def _pclmul8(typingctx, a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5, a6, b6, a7, b7):  # type: ignore[no-untyped-def]
    """XOR of eight 128-bit carry-less products, as ``(lo, hi)``.

    The products are combined in vector registers, so the two moves back to general registers
    are paid once per eight products instead of once per product.
    """
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(*([u64] * 16))

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i32 = ir.IntType(32)
        vec = ir.VectorType(ir.IntType(64), 2)
        undef = ir.Constant(vec, ir.Undefined)
        fnty = ir.FunctionType(vec, [vec, vec, ir.IntType(8)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.pclmulqdq")
        prods = []
        for k in range(8):
            va = builder.insert_element(undef, args[2 * k], ir.Constant(i32, 0))
            vb = builder.insert_element(undef, args[2 * k + 1], ir.Constant(i32, 0))
            prods.append(builder.call(fn, [va, vb, ir.Constant(ir.IntType(8), 0)]))
        while len(prods) > 1:  # pairwise tree: short dependency chains
            prods = [builder.xor(prods[i], prods[i + 1]) for i in range(0, len(prods), 2)]
        lo = builder.extract_element(prods[0], ir.Constant(i32, 0))
        hi = builder.extract_element(prods[0], ir.Constant(i32, 1))
        return context.make_tuple(builder, signature.return_type, [lo, hi])

    return sig, codegen


@numba.njit(cache=True, inline="always")
def _soft_clmul(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    lo = np.uint64(0)
    hi = np.uint64(0)
    for i in range(64):
        if (b >> np.uint64(i)) & np.uint64(1):
            lo ^= a << np.uint64(i)
            if i > 0:
                hi ^= a >> np.uint64(64 - i)
    return lo, hi


# The hardware kernels are written out at module level (not produced by the factory below) so that
# numba can cache their machine code between processes; closures are never cached. The factory
# builds the portable variant, compiled only on processors without a carry-less multiply.


@numba.njit(nogil=True, cache=True)
def _base_hw(seed, u, out):  # type: ignore[no-untyped-def]
    # Columns W-2 .. 2W-1 of seed(x) u(x) on words; out[q] = bits 64q + 64W - 1 onwards.
    w = u.size
    prev_hi = np.uint64(0)
    prev_p = np.uint64(0)
    for d in range(w - 2, 2 * w):
        lo_acc = np.uint64(0)
        hi_acc = np.uint64(0)
        j0 = d - (2 * w - 1) if d > 2 * w - 1 else 0
        j1 = min(d, w - 1)
        # Unsigned indices: numba then emits no negative-index wraparound code.
        j = j0
        while j + 7 <= j1:
            e = np.uint64(d - j)
            f = np.uint64(j)
            lo, hi = _pclmul8(
                seed[e], u[f], seed[e - np.uint64(1)], u[f + np.uint64(1)],
                seed[e - np.uint64(2)], u[f + np.uint64(2)], seed[e - np.uint64(3)],
                u[f + np.uint64(3)], seed[e - np.uint64(4)], u[f + np.uint64(4)],
                seed[e - np.uint64(5)], u[f + np.uint64(5)], seed[e - np.uint64(6)],
                u[f + np.uint64(6)], seed[e - np.uint64(7)], u[f + np.uint64(7)],
            )
            lo_acc ^= lo
            hi_acc ^= hi
            j += 8
        while j <= j1:
            lo, hi = _pclmul(seed[np.uint64(d - j)], u[np.uint64(j)])
            lo_acc ^= lo
            hi_acc ^= hi
            j += 1
        p = lo_acc ^ prev_hi
        if d >= w:
            out[d - w] = (prev_p >> np.uint64(63)) | (p << np.uint64(1))
        prev_p = p
        prev_hi = hi_acc

@numba.njit(nogil=True, cache=True)
def _middle_hw(seed, u, out, scratch):  # type: ignore[no-untyped-def]
    # seed: 2W words, u: W words, out: W words, scratch: >= 8W words.
    w = u.size
    if w <= BASE_WORDS or w % 2:
        _base_hw(seed, u, out)
        return
    h = w // 2
    su = scratch[0:h]
    s01 = scratch[h : 3 * h]
    s21 = scratch[3 * h : 5 * h]
    r0 = scratch[5 * h : 6 * h]
    r1 = scratch[6 * h : 7 * h]
    r2 = scratch[7 * h : 8 * h]
    rest = scratch[8 * h :]
    for k in range(h):
        su[k] = u[k] ^ u[h + k]
    for k in range(2 * h):
        mid = seed[h + k]
        s01[k] = seed[2 * h + k] ^ mid
        s21[k] = seed[k] ^ mid
    _middle_hw(seed[h : 3 * h], su, r0, rest)
    _middle_hw(s01, u[0:h], r1, rest)
    _middle_hw(s21, u[h:w], r2, rest)
    for k in range(h):
        out[k] = r0[k] ^ r2[k]
        out[h + k] = r0[k] ^ r1[k]


def _make_kernel(clmul):  # type: ignore[no-untyped-def]
    """Compile the middle-product recursion around a 64-bit carry-less multiply."""

    @numba.njit(nogil=True)
    def base(seed, u, out):  # type: ignore[no-untyped-def]
        # Columns W-2 .. 2W-1 of seed(x) u(x) on words; out[q] = bits 64q + 64W - 1 onwards.
        w = u.size
        prev_hi = np.uint64(0)
        prev_p = np.uint64(0)
        for d in range(w - 2, 2 * w):
            lo_acc = np.uint64(0)
            hi_acc = np.uint64(0)
            j0 = d - (2 * w - 1) if d > 2 * w - 1 else 0
            j1 = min(d, w - 1)
            for j in range(j0, j1 + 1):
                lo, hi = clmul(seed[np.uint64(d - j)], u[np.uint64(j)])
                lo_acc ^= lo
                hi_acc ^= hi
            p = lo_acc ^ prev_hi
            if d >= w:
                out[d - w] = (prev_p >> np.uint64(63)) | (p << np.uint64(1))
            prev_p = p
            prev_hi = hi_acc

    @numba.njit(nogil=True)
    def middle(seed, u, out, scratch):  # type: ignore[no-untyped-def]
        # seed: 2W words, u: W words, out: W words, scratch: >= 8W words.
        w = u.size
        if w <= BASE_WORDS or w % 2:
            base(seed, u, out)
            return
        h = w // 2
        su = scratch[0:h]
        s01 = scratch[h : 3 * h]
        s21 = scratch[3 * h : 5 * h]
        r0 = scratch[5 * h : 6 * h]
        r1 = scratch[6 * h : 7 * h]
        r2 = scratch[7 * h : 8 * h]
        rest = scratch[8 * h :]
        for k in range(h):
            su[k] = u[k] ^ u[h + k]
        for k in range(2 * h):
            mid = seed[h + k]
            s01[k] = seed[2 * h + k] ^ mid
            s21[k] = seed[k] ^ mid
        middle(seed[h : 3 * h], su, r0, rest)
        middle(s01, u[0:h], r1, rest)
        middle(s21, u[h:w], r2, rest)
        for k in range(h):
            out[k] = r0[k] ^ r2[k]
            out[h + k] = r0[k] ^ r1[k]

    return middle


_SOFT_KERNEL: list = []


def _soft_kernel():  # type: ignore[no-untyped-def]
    if not _SOFT_KERNEL:
        _SOFT_KERNEL.append(_make_kernel(_soft_clmul))
    return _SOFT_KERNEL[0]


_PARALLEL_MIN_BITS = 1 << 18


@numba.njit(nogil=True, cache=True)
def _blocks_hw(seed, urev, w, n_blocks, c0, c1, acc):  # type: ignore[no-untyped-def]
    """XOR into ``acc`` the middle products of column blocks ``c0 .. c1 - 1``."""
    out = np.empty(w, dtype=np.uint64)
    scratch = np.empty(8 * w + 64, dtype=np.uint64)
    for c in range(c0, c1):
        u = urev[(n_blocks - 1 - c) * w : (n_blocks - c) * w]
        _middle_hw(seed[c * w : c * w + 2 * w], u, out, scratch)
        for k in range(w):
            acc[k] ^= out[k]


def block_words(ell: int) -> int:
    """Words per square block for ``ell`` output bits: ``b * 2^k >= ell / 64``, ``b <= BASE``."""
    w = max(1, math.ceil(ell / 64))
    k = max(0, math.ceil(math.log2(w / BASE_WORDS))) if w > BASE_WORDS else 0
    b = math.ceil(w / (1 << k))
    return b * (1 << k)


def _pack(bits: NDArray[np.uint8], words: int) -> NDArray[np.uint64]:
    buf = np.zeros(words * 8, dtype=np.uint8)
    packed = np.packbits(bits, bitorder="little")
    buf[: packed.size] = packed
    return buf.view(np.uint64)


def toeplitz_product(
    x: NDArray[np.uint8], t: NDArray[np.uint8], ell: int, *, hardware: bool | None = None,
    workers: int = 1,
) -> NDArray[np.uint8]:
    """Return ``y = T x mod 2`` for ``T[i, j] = t[j - i + ell - 1]`` (uint8 0/1, ``ell`` bits).

    The ``ell x n`` matrix is padded to square blocks of ``M = 64 W`` rows and columns (zero rows
    at the bottom, zero columns at the right); each column block is one middle product, and the
    column blocks are independent (spread over ``workers`` threads).
    """
    n = x.size
    use_hw = HAS_PCLMUL if hardware is None else hardware
    if use_hw and not HAS_PCLMUL:
        raise RuntimeError("this processor has no carry-less multiply instruction")
    kernel = _middle_hw if use_hw else _soft_kernel()
    w = block_words(ell)
    m = 64 * w
    n_blocks = math.ceil(n / m)
    # Padded seed: M - ell zero bits in front so that block (0, c) starts at bit c*M.
    seed_bits = np.zeros(n_blocks * m + m, dtype=np.uint8)
    seed_bits[m - ell : m - ell + t.size] = t
    seed = _pack(seed_bits, (seed_bits.size + 63) // 64)
    xpad = np.zeros(n_blocks * m, dtype=np.uint8)
    xpad[:n] = x
    # Column block c of x, reversed, is the segment (n_blocks - 1 - c) of reversed x: pack once.
    urev = _pack(xpad[::-1], n_blocks * w)

    def run(c0: int, c1: int) -> NDArray[np.uint64]:
        acc = np.zeros(w, dtype=np.uint64)
        if use_hw:
            _blocks_hw(seed, urev, w, n_blocks, c0, c1, acc)
            return acc
        out = np.empty(w, dtype=np.uint64)
        scratch = np.empty(8 * w + 64, dtype=np.uint64)
        for c in range(c0, c1):
            u = urev[(n_blocks - 1 - c) * w : (n_blocks - c) * w]
            kernel(seed[c * w : c * w + 2 * w], u, out, scratch)
            acc ^= out
        return acc

    # Threads pay off only for blocks that take milliseconds (measured: a 1e5-bit input is faster
    # on one thread, benchmarks/bench_toeplitz.py).
    if workers > 1 and n_blocks > 1 and m >= _PARALLEL_MIN_BITS:
        bounds = np.linspace(0, n_blocks, min(workers, n_blocks) + 1).round().astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, bounds[:-1].tolist(), bounds[1:].tolist()))
    else:
        parts = [run(0, n_blocks)]
    z = parts[0]
    for p in parts[1:]:
        z ^= p
    zbits = np.unpackbits(z.view(np.uint8), bitorder="little")
    return np.ascontiguousarray(zbits[::-1][:ell])
