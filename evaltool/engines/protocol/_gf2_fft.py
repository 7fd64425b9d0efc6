"""Exact products of long GF(2)[x] polynomials by an additive FFT over GF(2^64).

Used for Toeplitz privacy amplification (:func:`toeplitz_product`): the hash is a middle product
of the seed and the input over GF(2), computed here in ``O(n log n)`` field operations instead of
the ``O(n^1.585)`` of Karatsuba (:mod:`evaltool.engines.protocol._toeplitz_kara`).

Field
    GF(2^64) = GF(2)[z] / (z^64 + z^4 + z^3 + z + 1) (the 64-bit polynomial of
    :mod:`evaltool.engines.protocol._gf2`). A product is one 64 x 64 -> 128-bit carry-less multiply
    and a reduction by the sparse modulus: two more carry-less multiplies by ``0x1B`` fold the high
    half back (Gueron and Kounavis, Intel white paper 323640, 2010, on GCM reduction). Four
    products at once use the 256-bit ``VPCLMULQDQ`` where present; processors without
    ``PCLMULQDQ`` use a shift-and-XOR multiply. All variants give identical results.

Packing (Kronecker segmentation)
    A binary polynomial ``a(x)`` is cut into 32-bit pieces, ``a(x) = sum_i A_i(x) x^(32 i)``, and
    each piece is read as a field element. Products of two pieces have degree <= 62 < 64, so the
    product ``C(y) = A(y) B(y)`` over GF(2^64) (with ``y = x^32``) involves no reduction in its
    coefficients and ``c(x) = sum_k C_k(x) x^(32 k)`` (overlapping pieces XORed) is the exact
    GF(2)[x] product. This costs the factor two of Kronecker segmentation discussed by van der
    Hoeven, Larrieu and Lecerf, "Implementing fast carryless multiplication" (§1). Chen, Cheng,
    Kuo, Li and Yang, "Faster multiplication for long binary polynomials", arXiv:1708.09746
    (2017), multiply long binary polynomials with the same additive FFT (Lin-Chung-Han, Cantor
    basis); their tower-field tables and the Frobenius additive FFT of Li, Chen, Kuo, Cheng and
    Yang, arXiv:1802.03932 (2018), which removes most of that factor, are not used here.

Transform
    The additive FFT of Lin, Chung and Han, "Novel polynomial basis and its application to
    Reed-Solomon erasure codes", FOCS 2014, §III. Take a basis ``v_0, v_1, ...`` of GF(2^64)
    over GF(2), ``W_j = span(v_0 .. v_{j-1})``, the subspace polynomials
    ``s_j(y) = prod_{w in W_j} (y - w)`` and the novel basis
    ``X_i = prod_j (s_j / s_j(v_j))^{i_j}`` (``i_j`` the bits of ``i``). A polynomial
    ``D = D_0 + (s_j / s_j(v_j)) D_1`` is evaluated on a coset ``beta + W_{j+1}`` by the
    butterfly ``Q_0 = D_0 + c D_1``, ``Q_1 = Q_0 + D_1`` with ``c = s_j(beta) / s_j(v_j)``,
    followed by the two half-size transforms on ``beta + W_j`` and ``beta + v_j + W_j``.

    The basis is Cantor's (D. G. Cantor, "On arithmetical algorithms over finite fields",
    J. Comb. Theory A 50 (1989) 285, §2): ``v_0 = 1`` and ``v_i^2 + v_i = v_{i-1}``. Then
    ``s_1(y) = y^2 + y``, ``s_j = s_1 o ... o s_1`` (``j`` times), ``s_j(v_j) = 1`` and
    ``s_j(v_m) = v_{m-j}``, so the twiddle of block ``b`` is the same at every level,
    ``tw[b] = sum_i b_i v_{i+1}``, and ``s_j(y) = sum_{e : (e & j) = e} y^(2^e)`` (Lucas'
    theorem) has 0/1 coefficients (Gao and Mateer, "Additive fast Fourier transforms over finite
    fields", IEEE TIT 56 (2010) 6265, §IV).

Basis conversion
    Monomial -> novel coefficients: divide each block of ``2^(j+1)`` coefficients by ``s_j`` (level
    ``j`` from the top down); the quotient is the upper half. Because ``s_j`` has 0/1 coefficients
    the division is XORs only, and it is the same GF(2)-linear map on every block, so it commutes
    with the butterflies of the higher levels; the inverse multiplies by ``s_j`` from the bottom up.

Product and middle product
    ``A`` and ``B`` with ``deg A + deg B < N`` are evaluated at the ``N = 2^k`` points of ``W_k``,
    multiplied pointwise and interpolated back (inverse butterflies and novel -> monomial
    conversion): :func:`poly_multiply`. The cost is ``3 (N/2) k`` field products plus
    ``O(N k^1.6)`` XORs. The Toeplitz hash needs only the middle coefficients; by the
    transposition principle they come from the transposed algorithm on ``N >= len(seed)`` points,
    half the size of the full product (:func:`_middle_pieces`).
"""

from __future__ import annotations

import math
import types as pytypes
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import llvmlite.binding as llvm_binding
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

from evaltool.engines.protocol._toeplitz_kara import HAS_PCLMUL, _soft_clmul

MODULUS = (1 << 64) | 0x1B
"""The field modulus z^64 + z^4 + z^3 + z + 1 as an integer (bit ``i`` = coefficient of z^i)."""

PIECE_BITS = 32
"""Input bits per field element (products of two pieces must stay below degree 64)."""

MAX_LOG = 40
"""Largest supported transform size is ``2^MAX_LOG`` points (Cantor basis elements needed)."""

LOCAL_LOG = 14
"""Levels below this run block by block on ``2^LOCAL_LOG``-element pieces (128 KiB, in cache)."""


# ----------------------------------------------------------------------------------------------
# Reference arithmetic (pure Python, slow) and the Cantor basis
# ----------------------------------------------------------------------------------------------


def clmul_reference(a: int, b: int) -> int:
    """Carry-less product of two non-negative integers (GF(2)[z] multiplication), bit by bit."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        b >>= 1
    return out


def gf64_mul_reference(a: int, b: int) -> int:
    """Product in GF(2^64) by schoolbook carry-less multiply and long division by the modulus."""
    p = clmul_reference(a, b)
    for bit in range(p.bit_length() - 1, 63, -1):
        if (p >> bit) & 1:
            p ^= MODULUS << (bit - 64)
    return p


def _trace_map_pivots() -> dict[int, tuple[int, int]]:
    """Echelon form of the GF(2)-linear map ``v -> v^2 + v`` on GF(2^64).

    Maps a leading bit to ``(image, combination of unit vectors with that image)``.
    """
    pivots: dict[int, tuple[int, int]] = {}
    for bit in range(64):
        image = gf64_mul_reference(1 << bit, 1 << bit) ^ (1 << bit)
        comb = 1 << bit
        while image:
            lead = image.bit_length() - 1
            if lead not in pivots:
                pivots[lead] = (image, comb)
                break
            image ^= pivots[lead][0]
            comb ^= pivots[lead][1]
    return pivots


def _solve_trace_equation(c: int, pivots: dict[int, tuple[int, int]]) -> int:
    """Return ``v`` with ``v^2 + v = c`` in GF(2^64) (elimination on the echelon form)."""
    rest, sol = c, 0
    while rest:
        lead = rest.bit_length() - 1
        if lead not in pivots:
            raise ArithmeticError("y^2 + y = c has no solution (trace of c is 1)")
        rest ^= pivots[lead][0]
        sol ^= pivots[lead][1]
    return sol


def _cantor_basis(count: int) -> list[int]:
    pivots = _trace_map_pivots()
    basis = [1]
    while len(basis) < count:
        basis.append(_solve_trace_equation(basis[-1], pivots))
    return basis


CANTOR_BASIS: tuple[int, ...] = tuple(_cantor_basis(MAX_LOG + 1))
"""``v_0 = 1``, ``v_i^2 + v_i = v_{i-1}`` (Cantor 1989); ``v_i`` as integers."""


def evaluation_point(u: int) -> int:
    """The ``u``-th evaluation point ``omega_u = sum_i u_i v_i`` (``u_i`` the bits of ``u``)."""
    out = 0
    i = 0
    while u:
        if u & 1:
            out ^= CANTOR_BASIS[i]
        u >>= 1
        i += 1
    return out


_TWIDDLES: list[NDArray[np.uint64]] = [np.zeros(1, dtype=np.uint64)]


def twiddles(count: int) -> NDArray[np.uint64]:
    """``tw[b] = sum_i b_i v_{i+1}`` for ``b < count`` (a prefix of one growing table)."""
    table = _TWIDDLES[0]
    if table.size < count:
        i = int(math.log2(table.size))
        while table.size < count:
            table = np.concatenate([table, table ^ np.uint64(CANTOR_BASIS[i + 1])])
            i += 1
        _TWIDDLES[0] = table
    return table[: max(count, 1)]


# ----------------------------------------------------------------------------------------------
# Field multiplication kernels
# ----------------------------------------------------------------------------------------------


@intrinsic
def _gfmul_hw(typingctx, a, b):  # type: ignore[no-untyped-def]
    """GF(2^64) product with three ``PCLMULQDQ``: ``a b``, then twice ``high half * 0x1B``."""
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i8 = ir.IntType(8)
        i32 = ir.IntType(32)
        i64 = ir.IntType(64)
        vec = ir.VectorType(i64, 2)
        undef = ir.Constant(vec, ir.Undefined)
        zero = ir.Constant(i32, 0)
        va = builder.insert_element(undef, args[0], zero)
        vb = builder.insert_element(undef, args[1], zero)
        fnty = ir.FunctionType(vec, [vec, vec, i8])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.pclmulqdq")
        poly = ir.Constant(vec, [ir.Constant(i64, 0x1B), ir.Constant(i64, 0)])
        p = builder.call(fn, [va, vb, ir.Constant(i8, 0x00)])
        q = builder.call(fn, [p, poly, ir.Constant(i8, 0x01)])  # high(p) * 0x1B, <= 68 bits
        r = builder.call(fn, [q, poly, ir.Constant(i8, 0x01)])  # high(q) * 0x1B, <= 8 bits
        s = builder.xor(builder.xor(p, q), r)
        return builder.extract_element(s, zero)

    return sig, codegen


@numba.njit(cache=True, inline="always")
def _gfmul_soft(a: np.uint64, b: np.uint64) -> np.uint64:
    lo, hi = _soft_clmul(a, b)
    # hi * (z^4 + z^3 + z + 1): 68 bits; fold the 4 overflow bits once more.
    over = (hi >> np.uint64(63)) ^ (hi >> np.uint64(61)) ^ (hi >> np.uint64(60))
    fold = hi ^ (hi << np.uint64(1)) ^ (hi << np.uint64(3)) ^ (hi << np.uint64(4))
    fold ^= over ^ (over << np.uint64(1)) ^ (over << np.uint64(3)) ^ (over << np.uint64(4))
    return lo ^ fold


def _wide_butterfly(inverse: bool, span: int, swap: bool = False):  # type: ignore[no-untyped-def]
    """Intrinsic for four butterflies at once with the 256-bit ``VPCLMULQDQ``.

    Each instruction forms two 128-bit products (one per 128-bit lane), so the four products
    ``c_r b_r`` and their two reduction steps take four instructions; the last fold (at most 4
    bits times ``z^4 + z^3 + z + 1``) is done with shifts. Layouts (``span`` = half-block size):

    * ``span=4`` (``h >= 4``): pairs ``f[i + r], f[i + h + r]``, ``r < 4``, one twiddle;
    * ``span=2`` (``h = 2``): two blocks ``f[i .. i + 8)``, twiddles ``c0, c0, c1, c1``;
    * ``span=1`` (``h = 1``): four blocks ``f[i .. i + 8)``, twiddles ``c0 .. c3``.

    With ``swap`` the two halves exchange their roles, which gives the transposed butterflies:
    the transpose of ``(a, b) -> (a + c b, b + a + c b)`` is ``(a, b) -> (a + b, b + c (a + b))``
    and that of the inverse ``(a, b) -> (a + c (a + b), a + b)`` is ``(a, b) -> (a + b + c a,
    b + c a)``.
    """
    if span == 4:
        split_a, split_b = (0, 1, 2, 3), (0, 1, 2, 3)
    elif span == 2:
        split_a, split_b = (0, 1, 4, 5), (2, 3, 6, 7)
    else:
        split_a, split_b = (0, 2, 4, 6), (1, 3, 5, 7)
    merge_0, merge_1 = ((0, 1, 4, 5), (2, 3, 6, 7)) if span == 2 else ((0, 4, 1, 5), (2, 6, 3, 7))

    @intrinsic
    def butterfly(typingctx, f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
        u64 = types.uint64
        sig = types.void(f, types.intp, types.intp, u64, u64, u64, u64)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            i8 = ir.IntType(8)
            i32 = ir.IntType(32)
            i64 = ir.IntType(64)
            v4 = ir.VectorType(i64, 4)
            ary = context.make_array(signature.args[0])(context, builder, args[0])

            def sel(idx: tuple[int, ...]) -> ir.Constant:
                return ir.Constant(ir.VectorType(i32, 4), list(idx))

            def ptr(offset: ir.Value) -> ir.Value:
                return builder.bitcast(builder.gep(ary.data, [offset]), v4.as_pointer())

            if span == 4:
                pa = ptr(args[1])
                pb = ptr(builder.add(args[1], args[2]))
                a = builder.load(pa, align=8)
                b = builder.load(pb, align=8)
            else:
                pa = ptr(args[1])
                pb = ptr(builder.add(args[1], ir.Constant(args[1].type, 4)))
                w0 = builder.load(pa, align=8)
                w1 = builder.load(pb, align=8)
                a = builder.shuffle_vector(w0, w1, sel(split_a))
                b = builder.shuffle_vector(w0, w1, sel(split_b))
            cv = ir.Constant(v4, ir.Undefined)
            for lane in range(4):
                cv = builder.insert_element(cv, args[3 + lane], ir.Constant(i32, lane))
            poly = ir.Constant(v4, [ir.Constant(i64, v) for v in (0x1B, 0, 0x1B, 0)])
            fnty = ir.FunctionType(v4, [v4, v4, i8])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.pclmulqdq.256")
            if swap:
                a, b = b, a
            if inverse:
                b = builder.xor(b, a)
            p0 = builder.call(fn, [b, cv, ir.Constant(i8, 0x00)])  # c0 b0 | c2 b2
            p1 = builder.call(fn, [b, cv, ir.Constant(i8, 0x11)])  # c1 b1 | c3 b3
            low = builder.shuffle_vector(p0, p1, sel((0, 4, 2, 6)))
            high = builder.shuffle_vector(p0, p1, sel((1, 5, 3, 7)))
            q0 = builder.call(fn, [high, poly, ir.Constant(i8, 0x00)])
            q1 = builder.call(fn, [high, poly, ir.Constant(i8, 0x01)])
            qlow = builder.shuffle_vector(q0, q1, sel((0, 4, 2, 6)))
            over = builder.shuffle_vector(q0, q1, sel((1, 5, 3, 7)))

            def shl(v: ir.Value, n: int) -> ir.Value:
                return builder.shl(v, ir.Constant(v4, [ir.Constant(i64, n)] * 4))

            fold = builder.xor(builder.xor(over, shl(over, 1)),
                               builder.xor(shl(over, 3), shl(over, 4)))
            prod = builder.xor(builder.xor(low, qlow), fold)
            a = builder.xor(a, prod)
            if not inverse:
                b = builder.xor(b, a)
            if swap:
                a, b = b, a
            if span == 4:
                builder.store(a, pa, align=8)
                builder.store(b, pb, align=8)
            else:
                builder.store(builder.shuffle_vector(a, b, sel(merge_0)), pa, align=8)
                builder.store(builder.shuffle_vector(a, b, sel(merge_1)), pb, align=8)
            return context.get_dummy_value()

        return sig, codegen

    return butterfly


_butterfly4_wide = _wide_butterfly(inverse=False, span=4)
_inverse_butterfly4_wide = _wide_butterfly(inverse=True, span=4)
_butterfly2_wide = _wide_butterfly(inverse=False, span=2)
_inverse_butterfly2_wide = _wide_butterfly(inverse=True, span=2)
_butterfly1_wide = _wide_butterfly(inverse=False, span=1)
_inverse_butterfly1_wide = _wide_butterfly(inverse=True, span=1)
# Transposed butterflies (transposition principle, see _middle_pieces).
_butterfly4t_wide = _wide_butterfly(inverse=True, span=4, swap=True)
_inverse_butterfly4t_wide = _wide_butterfly(inverse=False, span=4, swap=True)
_butterfly2t_wide = _wide_butterfly(inverse=True, span=2, swap=True)
_inverse_butterfly2t_wide = _wide_butterfly(inverse=False, span=2, swap=True)
_butterfly1t_wide = _wide_butterfly(inverse=True, span=1, swap=True)
_inverse_butterfly1t_wide = _wide_butterfly(inverse=False, span=1, swap=True)


@numba.njit(nogil=True, cache=True, inline="always")
def _butterfly4_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    for r in range(i, i + 4):
        a0 = f[r] ^ _gfmul(c0, f[r + h])
        f[r] = a0
        f[r + h] ^= a0


@numba.njit(nogil=True, cache=True, inline="always")
def _inverse_butterfly4_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    for r in range(i, i + 4):
        a1 = f[r + h] ^ f[r]
        f[r + h] = a1
        f[r] ^= _gfmul(c0, a1)


@numba.njit(nogil=True, cache=True, inline="always")
def _butterfly_small_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    # Eight elements f[i .. i + 8): 4 / h blocks; block k has twiddle (c0, c1, c2, c3)[k h].
    cs = (c0, c1, c2, c3)
    for blk in range(4 // h):
        lo = i + 2 * h * blk
        for r in range(lo, lo + h):
            a0 = f[r] ^ _gfmul(cs[blk * h], f[r + h])
            f[r] = a0
            f[r + h] ^= a0


@numba.njit(nogil=True, cache=True, inline="always")
def _inverse_butterfly_small_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    cs = (c0, c1, c2, c3)
    for blk in range(4 // h):
        lo = i + 2 * h * blk
        for r in range(lo, lo + h):
            a1 = f[r + h] ^ f[r]
            f[r + h] = a1
            f[r] ^= _gfmul(cs[blk * h], a1)


@numba.njit(nogil=True, cache=True, inline="always")
def _butterfly4t_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    for r in range(i, i + 4):
        s = f[r] ^ f[r + h]
        f[r] = s
        f[r + h] ^= _gfmul(c0, s)


@numba.njit(nogil=True, cache=True, inline="always")
def _inverse_butterfly4t_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    for r in range(i, i + 4):
        t = f[r + h] ^ _gfmul(c0, f[r])
        f[r + h] = t
        f[r] ^= t


@numba.njit(nogil=True, cache=True, inline="always")
def _butterfly_small_t_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    cs = (c0, c1, c2, c3)
    for blk in range(4 // h):
        lo = i + 2 * h * blk
        for r in range(lo, lo + h):
            s = f[r] ^ f[r + h]
            f[r] = s
            f[r + h] ^= _gfmul(cs[blk * h], s)


@numba.njit(nogil=True, cache=True, inline="always")
def _inverse_butterfly_small_t_scalar(f, i, h, c0, c1, c2, c3):  # type: ignore[no-untyped-def]
    cs = (c0, c1, c2, c3)
    for blk in range(4 // h):
        lo = i + 2 * h * blk
        for r in range(lo, lo + h):
            t = f[r + h] ^ _gfmul(cs[blk * h], f[r])
            f[r + h] = t
            f[r] ^= t


# The kernels below name ``_gfmul`` and the ``_butterfly*`` functions; the variants for
# processors without the wide or without any carry-less multiply rebind them (see _variant).
_gfmul = _gfmul_hw
_butterfly4 = _butterfly4_wide
_inverse_butterfly4 = _inverse_butterfly4_wide
_butterfly2 = _butterfly2_wide
_inverse_butterfly2 = _inverse_butterfly2_wide
_butterfly1 = _butterfly1_wide
_inverse_butterfly1 = _inverse_butterfly1_wide
_butterfly4t = _butterfly4t_wide
_inverse_butterfly4t = _inverse_butterfly4t_wide
_butterfly2t = _butterfly2t_wide
_inverse_butterfly2t = _inverse_butterfly2t_wide
_butterfly1t = _butterfly1t_wide
_inverse_butterfly1t = _inverse_butterfly1t_wide


# ----------------------------------------------------------------------------------------------
# Kernels. Every kernel works in place on a uint64 array ``f`` and only on the index range it is
# given, so that disjoint ranges can run on different threads (all kernels release the GIL).
# ----------------------------------------------------------------------------------------------


@numba.njit(nogil=True, cache=True)
def _pointwise(a, b, i0, i1):  # type: ignore[no-untyped-def]
    for i in range(i0, i1):
        a[i] = _gfmul(a[i], b[i])


@numba.njit(nogil=True, cache=True)
def _mul_arrays(a, b, out):  # type: ignore[no-untyped-def]
    for i in range(a.size):
        out[i] = _gfmul(a[i], b[i])


@numba.njit(nogil=True, cache=True, inline="always")
def _xor_into(dst, src):  # type: ignore[no-untyped-def]
    # dst ^= src on two views (indices from 0, so the loop vectorises).
    for i in range(src.size):
        dst[i] ^= src[i]


@numba.njit(nogil=True, cache=True)
def _div_block(f, lo, j):  # type: ignore[no-untyped-def]
    # f[lo : lo + 2h] <- (remainder, quotient) of its division by s_j(y) = y^h + sum y^(2^e).
    h = 1 << j
    e_max = -1
    for e in range(j):
        if (e & j) == e:
            e_max = e
    if e_max < 0:
        return
    step = h - (1 << e_max)  # smallest shift: sources of a chunk this long are all final
    hi = 2 * h
    while hi > h:
        c0 = max(h, hi - step)
        for e in range(j):
            if (e & j) != e:
                continue
            shift = h - (1 << e)
            _xor_into(f[lo + c0 - shift : lo + hi - shift], f[lo + c0 : lo + hi])
        hi = c0


@numba.njit(nogil=True, cache=True)
def _undiv_block(f, lo, j):  # type: ignore[no-untyped-def]
    # Inverse of _div_block: f[lo : lo + 2h] <- remainder + quotient * s_j(y).
    h = 1 << j
    e_max = -1
    for e in range(j):
        if (e & j) == e:
            e_max = e
    if e_max < 0:
        return
    step = h - (1 << e_max)
    c0 = h
    while c0 < 2 * h:
        c1 = min(2 * h, c0 + step)
        for e in range(j):
            if (e & j) != e:
                continue
            shift = h - (1 << e)
            _xor_into(f[lo + c0 - shift : lo + c1 - shift], f[lo + c0 : lo + c1])
        c0 = c1


LOW_LEVELS = 4
"""Levels ``0 .. LOW_LEVELS - 1`` of the basis conversion run fused on 16-element blocks."""


@numba.njit(nogil=True, cache=True)
def _div_low(f, lo, hi):  # type: ignore[no-untyped-def]
    # Levels 3, 2, 1 (0 is the identity) of _div_block on every 16-element block of f[lo:hi]:
    # s_3 = y^8 + y^4 + y^2 + y, s_2 = y^4 + y, s_1 = y^2 + y. Straight-line code per block.
    for base in range(lo, hi, 16):
        for d in range(base + 15, base + 7, -1):
            v = f[d]
            f[d - 4] ^= v
            f[d - 6] ^= v
            f[d - 7] ^= v
        for o in range(base, base + 16, 8):
            for d in range(o + 7, o + 3, -1):
                f[d - 3] ^= f[d]
        for o in range(base, base + 16, 4):
            f[o + 2] ^= f[o + 3]
            f[o + 1] ^= f[o + 2]


@numba.njit(nogil=True, cache=True)
def _undiv_low(f, lo, hi):  # type: ignore[no-untyped-def]
    # Inverse of _div_low: levels 1, 2, 3 of _undiv_block, sources in increasing order.
    for base in range(lo, hi, 16):
        for o in range(base, base + 16, 4):
            f[o + 1] ^= f[o + 2]
            f[o + 2] ^= f[o + 3]
        for o in range(base, base + 16, 8):
            for d in range(o + 4, o + 8):
                f[d - 3] ^= f[d]
        for d in range(base + 8, base + 16):
            v = f[d]
            f[d - 4] ^= v
            f[d - 6] ^= v
            f[d - 7] ^= v


@numba.njit(nogil=True, cache=True)
def _div_level(f, j, b0, b1):  # type: ignore[no-untyped-def]
    for b in range(b0, b1):
        _div_block(f, b << (j + 1), j)


@numba.njit(nogil=True, cache=True)
def _undiv_level(f, j, b0, b1):  # type: ignore[no-untyped-def]
    for b in range(b0, b1):
        _undiv_block(f, b << (j + 1), j)


@numba.njit(nogil=True, cache=True)
def _butterflies(f, tw, j, g0, g1):  # type: ignore[no-untyped-def]
    # Forward butterflies g0 .. g1 - 1 of level j (butterfly g: block g >> j, offset g & (h - 1)).
    # Callers split ranges on multiples of 4 butterflies.
    h = 1 << j
    if h < 4:
        g = g0
        while g + 4 <= g1:  # eight elements: 4 / h blocks
            b = g >> j
            i = b << (j + 1)
            if h == 2:
                _butterfly2(f, i, h, tw[b], tw[b], tw[b + 1], tw[b + 1])
            else:
                _butterfly1(f, i, h, tw[b], tw[b + 1], tw[b + 2], tw[b + 3])
            g += 4
        for gg in range(g, g1):  # transforms of fewer than 8 points
            b = gg >> j
            i = (b << (j + 1)) + (gg & (h - 1))
            a0 = f[i] ^ _gfmul(tw[b], f[i + h])
            f[i] = a0
            f[i + h] ^= a0
        return
    g = g0
    while g < g1:
        b = g >> j
        lo = b << (j + 1)
        i0 = g & (h - 1)
        i1 = min(h, i0 + (g1 - g))
        c = tw[b]
        if c == 0:
            _xor_into(f[lo + h + i0 : lo + h + i1], f[lo + i0 : lo + i1])
        else:
            for i in range(lo + i0, lo + i1, 4):
                _butterfly4(f, i, h, c, c, c, c)
        g += i1 - i0


@numba.njit(nogil=True, cache=True)
def _inverse_butterflies(f, tw, j, g0, g1):  # type: ignore[no-untyped-def]
    h = 1 << j
    if h < 4:
        g = g0
        while g + 4 <= g1:
            b = g >> j
            i = b << (j + 1)
            if h == 2:
                _inverse_butterfly2(f, i, h, tw[b], tw[b], tw[b + 1], tw[b + 1])
            else:
                _inverse_butterfly1(f, i, h, tw[b], tw[b + 1], tw[b + 2], tw[b + 3])
            g += 4
        for gg in range(g, g1):
            b = gg >> j
            i = (b << (j + 1)) + (gg & (h - 1))
            a1 = f[i + h] ^ f[i]
            f[i + h] = a1
            f[i] ^= _gfmul(tw[b], a1)
        return
    g = g0
    while g < g1:
        b = g >> j
        lo = b << (j + 1)
        i0 = g & (h - 1)
        i1 = min(h, i0 + (g1 - g))
        c = tw[b]
        if c == 0:
            _xor_into(f[lo + h + i0 : lo + h + i1], f[lo + i0 : lo + i1])
        else:
            for i in range(lo + i0, lo + i1, 4):
                _inverse_butterfly4(f, i, h, c, c, c, c)
        g += i1 - i0


@numba.njit(nogil=True, cache=True)
def _butterflies_t(f, tw, j, g0, g1):  # type: ignore[no-untyped-def]
    # Transposed forward butterflies: (a, b) -> (a + b, b + c (a + b)).
    h = 1 << j
    if h < 4:
        g = g0
        while g + 4 <= g1:
            b = g >> j
            i = b << (j + 1)
            if h == 2:
                _butterfly2t(f, i, h, tw[b], tw[b], tw[b + 1], tw[b + 1])
            else:
                _butterfly1t(f, i, h, tw[b], tw[b + 1], tw[b + 2], tw[b + 3])
            g += 4
        for gg in range(g, g1):
            b = gg >> j
            i = (b << (j + 1)) + (gg & (h - 1))
            s = f[i] ^ f[i + h]
            f[i] = s
            f[i + h] ^= _gfmul(tw[b], s)
        return
    g = g0
    while g < g1:
        b = g >> j
        lo = b << (j + 1)
        i0 = g & (h - 1)
        i1 = min(h, i0 + (g1 - g))
        c = tw[b]
        if c == 0:
            _xor_into(f[lo + i0 : lo + i1], f[lo + h + i0 : lo + h + i1])
        else:
            for i in range(lo + i0, lo + i1, 4):
                _butterfly4t(f, i, h, c, c, c, c)
        g += i1 - i0


@numba.njit(nogil=True, cache=True)
def _inverse_butterflies_t(f, tw, j, g0, g1):  # type: ignore[no-untyped-def]
    # Transposed inverse butterflies: (a, b) -> (a + b + c a, b + c a).
    h = 1 << j
    if h < 4:
        g = g0
        while g + 4 <= g1:
            b = g >> j
            i = b << (j + 1)
            if h == 2:
                _inverse_butterfly2t(f, i, h, tw[b], tw[b], tw[b + 1], tw[b + 1])
            else:
                _inverse_butterfly1t(f, i, h, tw[b], tw[b + 1], tw[b + 2], tw[b + 3])
            g += 4
        for gg in range(g, g1):
            b = gg >> j
            i = (b << (j + 1)) + (gg & (h - 1))
            t = f[i + h] ^ _gfmul(tw[b], f[i])
            f[i + h] = t
            f[i] ^= t
        return
    g = g0
    while g < g1:
        b = g >> j
        lo = b << (j + 1)
        i0 = g & (h - 1)
        i1 = min(h, i0 + (g1 - g))
        c = tw[b]
        if c == 0:
            _xor_into(f[lo + i0 : lo + i1], f[lo + h + i0 : lo + h + i1])
        else:
            for i in range(lo + i0, lo + i1, 4):
                _inverse_butterfly4t(f, i, h, c, c, c, c)
        g += i1 - i0


@numba.njit(nogil=True, cache=True)
def _div_t_block(f, lo, j):  # type: ignore[no-untyped-def]
    # Transpose of _div_block: its XOR steps in reverse order, source and target exchanged.
    h = 1 << j
    e_max = -1
    for e in range(j):
        if (e & j) == e:
            e_max = e
    if e_max < 0:
        return
    step = h - (1 << e_max)
    n_chunks = (h + step - 1) // step
    for ci in range(n_chunks - 1, -1, -1):
        hi = 2 * h - ci * step
        c0 = max(h, hi - step)
        for e in range(j):
            if (e & j) != e:
                continue
            shift = h - (1 << e)
            _xor_into(f[lo + c0 : lo + hi], f[lo + c0 - shift : lo + hi - shift])


@numba.njit(nogil=True, cache=True)
def _undiv_t_block(f, lo, j):  # type: ignore[no-untyped-def]
    # Transpose of _undiv_block.
    h = 1 << j
    e_max = -1
    for e in range(j):
        if (e & j) == e:
            e_max = e
    if e_max < 0:
        return
    step = h - (1 << e_max)
    n_chunks = (h + step - 1) // step
    for ci in range(n_chunks - 1, -1, -1):
        c0 = h + ci * step
        c1 = min(2 * h, c0 + step)
        for e in range(j):
            if (e & j) != e:
                continue
            shift = h - (1 << e)
            _xor_into(f[lo + c0 : lo + c1], f[lo + c0 - shift : lo + c1 - shift])


@numba.njit(nogil=True, cache=True)
def _div_low_t(f, lo, hi):  # type: ignore[no-untyped-def]
    # Transpose of _div_low.
    for base in range(lo, hi, 16):
        for o in range(base, base + 16, 4):
            f[o + 2] ^= f[o + 1]
            f[o + 3] ^= f[o + 2]
        for o in range(base, base + 16, 8):
            for d in range(o + 4, o + 8):
                f[d] ^= f[d - 3]
        for d in range(base + 8, base + 16):
            f[d] ^= f[d - 7] ^ f[d - 6] ^ f[d - 4]


@numba.njit(nogil=True, cache=True)
def _undiv_low_t(f, lo, hi):  # type: ignore[no-untyped-def]
    # Transpose of _undiv_low.
    for base in range(lo, hi, 16):
        for d in range(base + 15, base + 7, -1):
            f[d] ^= f[d - 7] ^ f[d - 6] ^ f[d - 4]
        for o in range(base, base + 16, 8):
            for d in range(o + 7, o + 3, -1):
                f[d] ^= f[d - 3]
        for o in range(base, base + 16, 4):
            f[o + 3] ^= f[o + 2]
            f[o + 2] ^= f[o + 1]


@numba.njit(nogil=True, cache=True)
def _div_t_level(f, j, b0, b1):  # type: ignore[no-untyped-def]
    for b in range(b0, b1):
        _div_t_block(f, b << (j + 1), j)


@numba.njit(nogil=True, cache=True)
def _undiv_t_level(f, j, b0, b1):  # type: ignore[no-untyped-def]
    for b in range(b0, b1):
        _undiv_t_block(f, b << (j + 1), j)


@numba.njit(nogil=True, cache=True)
def _to_novel_t_local(f, levels, r0, r1):  # type: ignore[no-untyped-def]
    # Transpose of _to_novel_local.
    low = LOW_LEVELS if levels >= LOW_LEVELS else 0
    for r in range(r0, r1):
        base = r << levels
        if low:
            _div_low_t(f, base, base + (1 << levels))
        for j in range(low, levels):
            for b in range(1 << (levels - 1 - j)):
                _div_t_block(f, base + (b << (j + 1)), j)


@numba.njit(nogil=True, cache=True)
def _forward_t_local(f, tw, r0, r1, levels):  # type: ignore[no-untyped-def]
    # Transpose of _forward_local: transposed butterflies of levels 0 .. levels-1.
    half = 1 << (levels - 1) if levels > 0 else 0
    for r in range(r0, r1):
        g0 = r * half
        for j in range(levels):
            _butterflies_t(f, tw, j, g0, g0 + half)


@numba.njit(nogil=True, cache=True)
def _inverse_t_local(f, tw, r0, r1, levels):  # type: ignore[no-untyped-def]
    # Transpose of _inverse_local: its steps in reverse order, each transposed.
    half = 1 << (levels - 1) if levels > 0 else 0
    low = LOW_LEVELS if levels >= LOW_LEVELS else 0
    for r in range(r0, r1):
        base = r << levels
        g0 = r * half
        for j in range(levels - 1, low - 1, -1):
            for b in range(1 << (levels - 1 - j)):
                _undiv_t_block(f, base + (b << (j + 1)), j)
            _inverse_butterflies_t(f, tw, j, g0, g0 + half)
        if low:
            _undiv_low_t(f, base, base + (1 << levels))
        for j in range(low - 1, -1, -1):
            _inverse_butterflies_t(f, tw, j, g0, g0 + half)


@numba.njit(nogil=True, cache=True)
def _to_novel_local(f, levels, r0, r1):  # type: ignore[no-untyped-def]
    # Monomial -> novel coefficients on regions r0 .. r1 - 1 of 2^levels coefficients.
    low = LOW_LEVELS if levels >= LOW_LEVELS else 0
    for r in range(r0, r1):
        base = r << levels
        for j in range(levels - 1, low - 1, -1):
            for b in range(1 << (levels - 1 - j)):
                _div_block(f, base + (b << (j + 1)), j)
        if low:
            _div_low(f, base, base + (1 << levels))


@numba.njit(nogil=True, cache=True)
def _forward_local(f, tw, r0, r1, levels):  # type: ignore[no-untyped-def]
    # Levels levels-1 .. 0 of the forward transform on regions r0 .. r1 - 1 of 2^levels points.
    half = 1 << (levels - 1) if levels > 0 else 0
    for r in range(r0, r1):
        for j in range(levels - 1, -1, -1):
            g0 = r * half
            _butterflies(f, tw, j, g0, g0 + half)


@numba.njit(nogil=True, cache=True)
def _inverse_local(f, tw, r0, r1, levels):  # type: ignore[no-untyped-def]
    # Levels 0 .. levels-1 of the inverse (butterflies, then multiplication by s_j) on regions.
    # The multiplications by s_i (i < LOW_LEVELS) commute with the butterflies of the levels
    # above i (they act alike on both halves), so they run fused after the low butterflies.
    half = 1 << (levels - 1) if levels > 0 else 0
    low = LOW_LEVELS if levels >= LOW_LEVELS else 0
    for r in range(r0, r1):
        base = r << levels
        g0 = r * half
        for j in range(low):
            _inverse_butterflies(f, tw, j, g0, g0 + half)
        if low:
            _undiv_low(f, base, base + (1 << levels))
        for j in range(low, levels):
            _inverse_butterflies(f, tw, j, g0, g0 + half)
            for b in range(1 << (levels - 1 - j)):
                _undiv_block(f, base + (b << (j + 1)), j)


_KERNEL_NAMES = (
    "_pointwise", "_mul_arrays", "_div_block", "_undiv_block", "_div_low", "_undiv_low",
    "_div_level", "_undiv_level", "_butterflies_t", "_inverse_butterflies_t", "_div_t_block",
    "_undiv_t_block", "_div_low_t", "_undiv_low_t", "_div_t_level", "_undiv_t_level",
    "_to_novel_t_local", "_forward_t_local", "_inverse_t_local",
    "_butterflies", "_inverse_butterflies", "_to_novel_local", "_forward_local", "_inverse_local",
)

_HELPERS = ("_xor_into", "_butterfly4_scalar", "_inverse_butterfly4_scalar",
            "_butterfly_small_scalar", "_inverse_butterfly_small_scalar", "_butterfly4t_scalar",
            "_inverse_butterfly4t_scalar", "_butterfly_small_t_scalar",
            "_inverse_butterfly_small_t_scalar")

_VARIANTS: dict[str, dict[str, Any]] = {}


def _variant(kind: str) -> dict[str, Any]:
    """The kernels compiled for processors without the wide (``"narrow"``) or without any
    (``"soft"``) carry-less multiply instruction.

    Each kernel's code object is re-bound to a copy of this module's globals in which
    ``_gfmul``, ``_butterfly4``, ``_inverse_butterfly4`` and the kernels they reach are the
    variant's own; compiled on first use and not cached on disk (closures and re-bound functions
    are not cacheable).
    """
    if kind not in _VARIANTS:
        scope = dict(globals())
        for name in _HELPERS:
            py = globals()[name].py_func
            scope[name] = numba.njit(nogil=True, inline="always")(
                pytypes.FunctionType(py.__code__, scope, name))
        scope["_gfmul"] = _gfmul_soft if kind == "soft" else _gfmul_hw
        scope["_butterfly4"] = scope["_butterfly4_scalar"]
        scope["_inverse_butterfly4"] = scope["_inverse_butterfly4_scalar"]
        scope["_butterfly4t"] = scope["_butterfly4t_scalar"]
        scope["_inverse_butterfly4t"] = scope["_inverse_butterfly4t_scalar"]
        for name in ("_butterfly2", "_butterfly1"):
            scope[name] = scope["_butterfly_small_scalar"]
            scope["_inverse" + name] = scope["_inverse_butterfly_small_scalar"]
            scope[name + "t"] = scope["_butterfly_small_t_scalar"]
            scope["_inverse" + name + "t"] = scope["_inverse_butterfly_small_t_scalar"]
        built = {}
        for name in _KERNEL_NAMES:
            py = globals()[name].py_func
            scope[name] = numba.njit(nogil=True)(pytypes.FunctionType(py.__code__, scope, name))
            built[name] = scope[name]
        _VARIANTS[kind] = built
    return _VARIANTS[kind]


def _host_has_wide_clmul() -> bool:
    try:
        features = llvm_binding.get_host_cpu_features()
    except RuntimeError:
        return False
    return bool(features.get("vpclmulqdq", False) and features.get("avx2", False))


HAS_WIDE_CLMUL = HAS_PCLMUL and _host_has_wide_clmul()
"""Whether the 256-bit ``VPCLMULQDQ`` (two products per instruction) is used."""


def _kernels(hardware: bool | None, wide: bool | None = None) -> dict[str, Any]:
    use_hw = HAS_PCLMUL if hardware is None else hardware
    if use_hw and not HAS_PCLMUL:
        raise RuntimeError("this processor has no carry-less multiply instruction")
    if not use_hw:
        return _variant("soft")
    use_wide = HAS_WIDE_CLMUL if wide is None else wide
    if use_wide and not HAS_WIDE_CLMUL:
        raise RuntimeError("this processor has no 256-bit carry-less multiply instruction")
    if use_wide:
        return {name: globals()[name] for name in _KERNEL_NAMES}
    return _variant("narrow")


# ----------------------------------------------------------------------------------------------
# Drivers
# ----------------------------------------------------------------------------------------------


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    # Cuts on multiples of 4 (the wide butterflies handle four neighbours at a time).
    cuts = [(total * p // parts) & ~3 for p in range(parts)] + [total]
    return [(cuts[p], cuts[p + 1]) for p in range(parts) if cuts[p + 1] > cuts[p]]


class _Team:
    """Threads for the kernels (which all release the GIL); a team of one runs in the caller."""

    def __init__(self, size: int) -> None:
        self.size = max(1, int(size))
        self._pool = ThreadPoolExecutor(max_workers=self.size) if self.size > 1 else None

    def __enter__(self) -> _Team:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if self._pool is None or len(items) < 2:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))


_SERIAL = _Team(1)


def _run(team: _Team, fn: Callable[..., None], total: int, args: tuple[Any, ...]) -> None:
    """Call ``fn(*args, lo, hi)`` on a split of ``range(total)`` over the team's threads."""
    team.map(lambda r: fn(*args, r[0], r[1]), _split(total, team.size))


def _log2_ceil(count: int) -> int:
    return max(0, (count - 1).bit_length())


def _to_novel(f: NDArray[np.uint64], m: int, kern: dict[str, Any], team: _Team) -> None:
    """Monomial -> novel-basis coefficients of ``f[:2^m]`` in place (XORs only)."""
    local = min(LOCAL_LOG, m)
    for j in range(m - 1, local - 1, -1):
        _run(team, kern["_div_level"], 1 << (m - 1 - j), (f, j))
    _run(team, kern["_to_novel_local"], 1 << (m - local), (f, local))


def _evaluate(f: NDArray[np.uint64], m: int, k: int, kern: dict[str, Any], team: _Team) -> None:
    """Novel-basis coefficients in ``f[:2^m]`` (rest ignored) -> values at the ``2^k`` points."""
    n_points = 1 << k
    tw = twiddles(n_points // 2)
    local = min(LOCAL_LOG, m)
    # Levels k-1 .. m see an upper half of zeros: Q_0 = Q_1 = D_0, i.e. copies.
    size = 1 << m
    while size < n_points:
        f[size : 2 * size] = f[:size]
        size *= 2
    # Butterflies of levels m-1 .. 0: the top ones across the array, the rest region by region.
    for j in range(m - 1, local - 1, -1):
        _run(team, kern["_butterflies"], n_points // 2, (f, tw, j))
    _run_local(team, kern["_forward_local"], f, tw, n_points, local)


def _forward_into(
    f: NDArray[np.uint64], used: int, k: int, kern: dict[str, Any], team: _Team
) -> None:
    """Transform in place: ``f[:used]`` monomial coefficients (rest zero) -> values on ``W_k``.

    The conversion to the novel basis is the same GF(2)-linear map on every block of the higher
    levels, so it is done once on the ``2^m >= used`` coefficients before the copies.
    """
    m = min(_log2_ceil(used), k)
    _to_novel(f, m, kern, team)
    _evaluate(f, m, k, kern, team)


def _run_local(team: _Team, fn: Callable[..., None], f: NDArray[np.uint64],
               tw: NDArray[np.uint64], n_points: int, local: int) -> None:
    team.map(lambda r: fn(f, tw, r[0], r[1], local), _split(n_points >> local, team.size))


def _inverse_into(f: NDArray[np.uint64], k: int, kern: dict[str, Any], team: _Team) -> None:
    """Inverse of :func:`_forward_into` on all ``2^k`` values (novel basis back to monomials)."""
    n_points = 1 << k
    tw = twiddles(n_points // 2)
    local = min(LOCAL_LOG, k)
    _run_local(team, kern["_inverse_local"], f, tw, n_points, local)
    for j in range(local, k):
        _run(team, kern["_inverse_butterflies"], n_points // 2, (f, tw, j))
        _run(team, kern["_undiv_level"], 1 << (k - 1 - j), (f, j))


def _inverse_transposed_into(
    f: NDArray[np.uint64], k: int, kern: dict[str, Any], team: _Team
) -> None:
    """Apply the transpose of :func:`_inverse_into` to ``f`` (``2^k`` entries) in place."""
    n_points = 1 << k
    tw = twiddles(n_points // 2)
    local = min(LOCAL_LOG, k)
    for j in range(k - 1, local - 1, -1):
        _run(team, kern["_undiv_t_level"], 1 << (k - 1 - j), (f, j))
        _run(team, kern["_inverse_butterflies_t"], n_points // 2, (f, tw, j))
    _run_local(team, kern["_inverse_t_local"], f, tw, n_points, local)


def _forward_transposed_into(
    f: NDArray[np.uint64], used: int, k: int, kern: dict[str, Any], team: _Team
) -> None:
    """Apply the transpose of :func:`_forward_into` (for ``used`` coefficients) in place.

    The result is in ``f[:used]``; the rest of ``f`` is left as scratch.
    """
    n_points = 1 << k
    m = min(_log2_ceil(used), k)
    tw = twiddles(n_points // 2)
    local = min(LOCAL_LOG, m)
    _run_local(team, kern["_forward_t_local"], f, tw, n_points, local)
    for j in range(local, m):
        _run(team, kern["_butterflies_t"], n_points // 2, (f, tw, j))
    size = n_points // 2  # transpose of the copies: fold the upper halves back
    while size >= (1 << m):
        f[:size] ^= f[size : 2 * size]
        size //= 2
    _run(team, kern["_to_novel_t_local"], 1 << (m - local), (f, local))
    for j in range(local, m):
        _run(team, kern["_div_t_level"], 1 << (m - 1 - j), (f, j))


def transform(
    coefficients: NDArray[np.uint64], log_size: int, *, hardware: bool | None = None,
    workers: int = 1,
) -> NDArray[np.uint64]:
    """Values of ``sum_i coefficients[i] y^i`` at ``omega_0 .. omega_{2^log_size - 1}``.

    ``omega_u = sum_i u_i v_i`` over the Cantor basis (:func:`evaluation_point`). Requires
    ``len(coefficients) <= 2^log_size``.
    """
    coeffs = np.asarray(coefficients, dtype=np.uint64)
    if not 0 <= log_size <= MAX_LOG or coeffs.size > (1 << log_size):
        raise ValueError(f"need len(coefficients) <= 2^log_size <= 2^{MAX_LOG}")
    f = np.zeros(1 << log_size, dtype=np.uint64)
    f[: coeffs.size] = coeffs
    kern = _kernels(hardware)
    with _Team(workers) as team:
        _forward_into(f, max(coeffs.size, 1), log_size, kern, team)
    return f


def inverse_transform(
    values: NDArray[np.uint64], *, hardware: bool | None = None, workers: int = 1
) -> NDArray[np.uint64]:
    """Monomial coefficients of the polynomial of degree < ``len(values)`` with these values."""
    f = np.array(values, dtype=np.uint64)
    k = int(math.log2(f.size)) if f.size else -1
    if f.size == 0 or (1 << k) != f.size:
        raise ValueError("the number of values must be a power of two")
    kern = _kernels(hardware)
    with _Team(workers) as team:
        _inverse_into(f, k, kern, team)
    return f


def gf64_multiply(a: NDArray[np.uint64], b: NDArray[np.uint64], *,
                  hardware: bool | None = None) -> NDArray[np.uint64]:
    """Elementwise GF(2^64) products of two equal-length uint64 arrays."""
    aa = np.ascontiguousarray(a, dtype=np.uint64)
    bb = np.ascontiguousarray(b, dtype=np.uint64)
    if aa.shape != bb.shape:
        raise ValueError("arrays must have the same shape")
    out = np.empty_like(aa)
    _kernels(hardware)["_mul_arrays"](aa.ravel(), bb.ravel(), out.ravel())
    return out


# ----------------------------------------------------------------------------------------------
# GF(2)[x] products and the Toeplitz product
# ----------------------------------------------------------------------------------------------


def _pieces(bits: NDArray[np.uint8], *, reverse_within: bool = False) -> NDArray[np.uint32]:
    """Cut a bit string (bit ``i`` = coefficient of ``x^i``) into 32-bit pieces.

    With ``reverse_within`` the bits of each piece are reversed: ``bits[32 J + s]`` goes to bit
    ``31 - s`` of piece ``J`` (big-endian bit packing read as big-endian 32-bit words).
    """
    packed = np.packbits(bits, bitorder="big" if reverse_within else "little")
    buf = np.zeros(-(-packed.size // 4) * 4, dtype=np.uint8)
    buf[: packed.size] = packed
    return buf.view(">u4" if reverse_within else "<u4").astype(np.uint32)


SERIAL_BELOW_LOG = 16
"""Transforms of fewer than ``2^SERIAL_BELOW_LOG`` points run on one thread (measured: the
thread hand-offs cost more than they save below that, benchmarks/bench_toeplitz.py)."""


def _product_pieces(
    a: NDArray[np.uint32], b: NDArray[np.uint32], hardware: bool | None, workers: int
) -> NDArray[np.uint64]:
    """Coefficients (field elements) of ``A(y) B(y)`` for 32-bit piece arrays ``a``, ``b``.

    Both inputs are converted to the novel basis in one pass: ``a`` in the low and ``b`` in the
    high 32 bits of each word (the conversion acts on every bit position alike).
    """
    total = a.size + b.size - 1
    k = max(1, _log2_ceil(total))
    if k > MAX_LOG:
        raise ValueError("polynomials too long for the transform")
    kern = _kernels(hardware)
    m = min(k, _log2_ceil(max(a.size, b.size)))
    both = np.zeros(1 << m, dtype=np.uint64)
    halves = both.view(np.uint32)  # little-endian: even entries are the low halves
    halves[0 : 2 * a.size : 2] = a
    halves[1 : 2 * b.size : 2] = b
    fa = np.empty(1 << k, dtype=np.uint64)
    fb = np.empty(1 << k, dtype=np.uint64)
    twiddles(1 << (k - 1))
    with _Team(workers if k >= SERIAL_BELOW_LOG else 1) as team:
        _to_novel(both, m, kern, team)
        fa[: both.size] = both & np.uint64(0xFFFFFFFF)
        fb[: both.size] = both >> np.uint64(32)
        del both, halves
        # The two evaluations are independent: one per thread.
        team.map(lambda g: _evaluate(g, m, k, kern, _SERIAL), [fa, fb])
        _run(team, kern["_pointwise"], fa.size, (fa, fb))
        del fb
        _inverse_into(fa, k, kern, team)
    return fa[:total]


def _middle_plan(a_size: int, count: int, max_chunks: int = 8) -> tuple[int, int]:
    """``(chunks, k)``: the outputs cut into ``chunks`` ranges, each on ``2^k`` points.

    One range of ``cnt`` outputs needs ``2^k >= a_size + cnt - 1`` points; the transform of ``a``
    is shared, so ``chunks`` ranges cost about ``1 + 2 chunks`` transforms of ``k 2^(k-1)``
    butterflies. Cutting pays when ``a_size + count`` lies just above a power of two (for a
    Toeplitz hash with ``ell = n/2`` at ``n = 10^8``: two ranges on ``2^22`` points instead of one
    on ``2^23``, 20 % less work and half the memory).
    """
    best: tuple[int, int, int] | None = None
    for chunks in range(1, min(max_chunks, max(count, 1)) + 1):
        cnt = -(-count // chunks)
        k = max(1, _log2_ceil(a_size + cnt - 1))
        cost = (1 + 2 * chunks) * k << k
        if best is None or cost < best[0]:
            best = (cost, chunks, k)
    assert best is not None
    return best[1], best[2]


def _middle_pieces(
    a: NDArray[np.uint32], c: NDArray[np.uint32], count: int, hardware: bool | None,
    workers: int,
) -> NDArray[np.uint64]:
    """``P_r = sum_j a_j c_{j+r}`` over GF(2^64) for ``r < count`` (a middle product).

    Transposition principle (Bostan, Lecerf and Schost, "Tellegen's principle into practice",
    ISSAC 2003; the middle product as the transposed product: Hanrot, Quercia and Zimmermann,
    "The middle product algorithm I", AAECC 14 (2004) 415): ``b -> a b`` (``len(b) = cnt``)
    is ``IFFT(FFT(a) * FFT(b))`` on ``2^k >= len(a) + cnt - 1`` points, so its transpose
    ``c -> P`` is ``FFT^T(FFT(a) * IFFT^T(c))``, each step transposed and the steps in reverse
    order. For the Toeplitz hash that is half the transform size of the full product. The
    outputs are computed in the ranges of :func:`_middle_plan`, each from its own segment
    ``c[r0 : r0 + len(a) + cnt - 1]`` (no other entry of ``c`` enters ``P_r`` for ``r`` in
    range), with ``FFT(a)`` computed once.
    """
    chunks, k = _middle_plan(a.size, count)
    if k > MAX_LOG:
        raise ValueError("polynomials too long for the transform")
    kern = _kernels(hardware)
    step = -(-count // chunks)
    ranges = [(r0, min(step, count - r0)) for r0 in range(0, count, step)]
    fa = np.zeros(1 << k, dtype=np.uint64)
    fa[: a.size] = a
    out = np.empty(count, dtype=np.uint64)
    twiddles(1 << (k - 1))
    with _Team(workers if k >= SERIAL_BELOW_LOG else 1) as team:
        # As many ranges at once as threads: one transform per thread, or the team on a lone one.
        bufs = [np.empty(1 << k, dtype=np.uint64) for _ in range(min(team.size, len(ranges)))]
        for first in range(0, len(ranges), len(bufs)):
            batch = list(zip(ranges[first : first + len(bufs)], bufs, strict=False))
            for (r0, cnt), fc in batch:
                segment = c[r0 : r0 + a.size + cnt - 1]
                fc[: segment.size] = segment
                fc[segment.size :] = 0
            inverse: list[Callable[[_Team], None]] = [
                partial(_inverse_transposed_into, fc, k, kern) for _, fc in batch]
            if first == 0:  # FFT(a) is independent of the first IFFT^T
                _side_by_side(team, [
                    partial(_forward_into, fa, max(a.size, 1), k, kern), inverse.pop(0)])
            if inverse:
                _side_by_side(team, inverse)
            for _, fc in batch:
                _run(team, kern["_pointwise"], fc.size, (fc, fa))
            _side_by_side(team, [partial(_forward_transposed_into, fc, cnt, k, kern)
                                 for (_, cnt), fc in batch])
            for (r0, cnt), fc in batch:
                out[r0 : r0 + cnt] = fc[:cnt]
    return out


def _side_by_side(team: _Team, jobs: list[Callable[[_Team], None]]) -> None:
    """Run independent transforms one per thread (each serial); a lone one gets the team."""
    if len(jobs) == 1:
        jobs[0](team)
    else:
        team.map(lambda job: job(_SERIAL), jobs)


def _join(c: NDArray[np.uint64]) -> NDArray[np.uint32]:
    """XOR the 63-bit coefficient pieces at 32-bit offsets: the product as 32-bit words."""
    words = np.zeros(c.size + 1, dtype=np.uint32)
    words[:-1] = (c & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    words[1:] ^= (c >> np.uint64(32)).astype(np.uint32)
    return words


def poly_multiply(
    a: NDArray[np.uint8], b: NDArray[np.uint8], *, hardware: bool | None = None, workers: int = 1
) -> NDArray[np.uint8]:
    """Product of two GF(2)[x] polynomials given as 0/1 coefficient arrays (lowest degree first).

    Returns ``len(a) + len(b) - 1`` coefficients.
    """
    aa = np.asarray(a, dtype=np.uint8)
    bb = np.asarray(b, dtype=np.uint8)
    if aa.size < 1 or bb.size < 1:
        raise ValueError("polynomials must have at least one coefficient")
    words = _join(_product_pieces(_pieces(aa), _pieces(bb), hardware, workers))
    bits = np.unpackbits(words.view(np.uint8), bitorder="little")
    return np.ascontiguousarray(bits[: aa.size + bb.size - 1])


def toeplitz_product(
    x: NDArray[np.uint8], t: NDArray[np.uint8], ell: int, *, hardware: bool | None = None,
    workers: int = 1,
) -> NDArray[np.uint8]:
    """Return ``y = T x mod 2`` for ``T[i, j] = t[j - i + ell - 1]`` (uint8 0/1, ``ell`` bits).

    ``y_{ell-1-r} = z_r = sum_j x_j t_{j+r}``. With ``X~_J`` the 32-bit pieces of ``x`` with their
    bits reversed (``x_{32J+s}`` at bit ``31 - s``) and ``T_K`` those of ``t``, the GF(2)[z]
    products ``X~_J T_K`` have degree <= 62, so ``P_R = sum_J X~_J T_{J+R}`` is a middle product
    over GF(2^64) without reductions (:func:`_middle_pieces`), and bit ``rho`` of piece ``R`` of
    ``z`` is bit ``31 + rho`` of ``P_R`` plus bit ``rho - 1`` of ``P_{R+1}``.
    """
    count = -(-ell // PIECE_BITS) + 1
    p = _middle_pieces(_pieces(x, reverse_within=True), _pieces(t), count, hardware, workers)
    z = ((p[:-1] >> np.uint64(31)) ^ (p[1:] << np.uint64(1))).astype(np.uint32)
    bits = np.unpackbits(z.view(np.uint8), bitorder="little")
    return np.ascontiguousarray(bits[:ell][::-1])
