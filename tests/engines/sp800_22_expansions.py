"""Reference inputs of SP 800-22 rev. 1a Appendix B, generated for the tests.

The binary expansions of e, π, √2 and √3 (the suite's ``data.e``, ``data.pi``, ``data.sqrt2``,
``data.sqrt3``: the first n bits of the number written in base 2, integer part included, so e
starts ``10 1011…`` and π ``11 0010…``), and the suite's G-SHA1 generator (``data.sha1``;
SP 800-22 rev. 1a §5.5.3 / Appendix D: the FIPS 186 one-way function G built from the SHA-1
compression function, with the suite's fixed seed).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from numpy.typing import NDArray


def _int_to_bits(value: int, nbits: int) -> NDArray[np.uint8]:
    """The ``nbits`` binary digits of ``value`` (which must fit), MSB first."""
    nbytes = (nbits + 7) // 8
    shifted = value << (nbytes * 8 - nbits)
    raw = np.frombuffer(shifted.to_bytes(nbytes, "big"), dtype=np.uint8)
    return np.unpackbits(raw)[:nbits].copy()


def sqrt_expansion(radicand: int, nbits: int) -> NDArray[np.uint8]:
    """First ``nbits`` binary digits of √radicand for 1 <= radicand < 4 (exact integer sqrt)."""
    if not 1 <= radicand < 4:
        raise ValueError(f"radicand must be 1..3, got {radicand}")
    if nbits < 1:
        raise ValueError(f"nbits must be positive, got {nbits}")
    return _int_to_bits(math.isqrt(radicand << (2 * (nbits - 1))), nbits)


def _pi_scaled(bits: int) -> int:
    """⌊π·2^bits⌋ within a few units, by the Chudnovsky series with binary splitting.

    π = 426880·√10005 / Σ_k (−1)^k (6k)! (13591409 + 545140134k) / ((3k)! (k!)³ 640320^(3k)),
    about 47 bits per term; integer arithmetic with 64 guard bits.
    """
    guard = 64
    prec = bits + guard
    c3_24 = 640320**3 // 24
    terms = prec // 47 + 2

    def split(a: int, b: int) -> tuple[int, int, int]:
        if b - a == 1:
            if a == 0:
                p = q = 1
            else:
                p = (6 * a - 5) * (2 * a - 1) * (6 * a - 1)
                q = a * a * a * c3_24
            t = p * (13591409 + 545140134 * a)
            return p, q, -t if a & 1 else t
        mid = (a + b) // 2
        p1, q1, t1 = split(a, mid)
        p2, q2, t2 = split(mid, b)
        return p1 * p2, q1 * q2, t1 * q2 + p1 * t2

    _, q, t = split(0, terms)
    # keep prec + 64 significant bits of q and t (their ratio is all that matters)
    drop = max(0, t.bit_length() - (prec + 64))
    q >>= drop
    t >>= drop
    inv_sqrt = _inv_sqrt(10005, prec)  # ≈ 2^prec / √10005
    kt = t.bit_length()
    inv_t = _reciprocal(t, prec + 64)  # ≈ 2^(prec + 64 + kt) / t
    value = (426880 * 10005 * inv_sqrt * q * inv_t) >> (prec + 64 + kt)
    return value >> guard


def _reciprocal(d: int, p: int) -> int:
    """≈ 2^(p + k)/d for a positive d of k bits, relative error ≲ 2^−(p−8) (Newton iteration).

    Precision doubles at each level, so the cost is a few multiplications at full size instead
    of a schoolbook long division.
    """
    k = d.bit_length()
    if p <= 4096:
        return (1 << (p + k)) // d
    h = p // 2 + 32
    shift = max(0, k - (h + 32))
    r = _reciprocal(d >> shift, h) << (p - h)  # ≈ 2^(p+k)/d to about h bits
    e = (1 << (p + k)) - d * r
    return r + ((r * e) >> (p + k))


def _inv_sqrt(a: int, p: int) -> int:
    """≈ 2^p/√a for a small positive integer a, relative error ≲ 2^−(p−8) (Newton iteration)."""
    if p <= 4096:
        return math.isqrt((1 << (2 * p)) // a)
    h = p // 2 + 32
    y = _inv_sqrt(a, h) << (p - h)
    # y ← y + y·(1 − a·y²/2^2p)/2
    e = (1 << (2 * p)) - a * y * y
    return y + ((y * e) >> (2 * p + 1))


def _e_scaled(bits: int) -> int:
    """⌊e·2^bits⌋ within one unit, from Σ 1/k! by binary splitting (integer arithmetic)."""
    guard = 64
    # number of terms: k! > 2^(bits+guard)
    target = (bits + guard) * math.log(2)
    k = 2
    acc = 0.0
    while acc < target:
        acc += math.log(k)
        k += 1

    def split(a: int, b: int) -> tuple[int, int]:
        # Σ_{j=a+1}^{b} a!/j!  =  P/Q with Q = (a+1)…b
        if b - a == 1:
            return 1, b
        mid = (a + b) // 2
        p1, q1 = split(a, mid)
        p2, q2 = split(mid, b)
        return p1 * q2 + p2, q1 * q2

    p, q = split(0, k)
    prec = bits + guard
    drop = max(0, q.bit_length() - (prec + 64))
    num, den = (p + q) >> drop, q >> drop
    kq = den.bit_length()
    value = (num * _reciprocal(den, prec + 64)) >> (64 + kq)
    return value >> guard


def e_expansion(nbits: int = 1_000_000) -> NDArray[np.uint8]:
    """First ``nbits`` binary digits of e (integer part ``10`` first), as the suite's data.e."""
    if nbits < 2:
        raise ValueError(f"nbits must be at least 2, got {nbits}")
    return _int_to_bits(_exact_floor(_e_scaled, nbits - 2), nbits)


def pi_expansion(nbits: int = 1_000_000) -> NDArray[np.uint8]:
    """First ``nbits`` binary digits of π (integer part ``11`` first), as the suite's data.pi."""
    if nbits < 2:
        raise ValueError(f"nbits must be at least 2, got {nbits}")
    return _int_to_bits(_exact_floor(_pi_scaled, nbits - 2), nbits)


def _exact_floor(scaled: Callable[[int], int], frac_bits: int) -> int:
    """⌊x·2^frac_bits⌋ from an approximation with 32 extra bits (error far below one unit)."""
    extra = 32
    approx = scaled(frac_bits + extra)
    # the approximation is within a few units of 2^-(frac_bits+32); the floor is safe unless the
    # 32 discarded bits are all ones or all zeros, which does not happen for e and π here
    low = approx & ((1 << extra) - 1)
    if low in (0, (1 << extra) - 1):
        raise ArithmeticError("expansion too close to a rounding boundary; increase guard bits")
    return int(approx >> extra)


def sqrt2_expansion(nbits: int = 1_000_000) -> NDArray[np.uint8]:
    """First ``nbits`` binary digits of √2, as the suite's data.sqrt2."""
    return sqrt_expansion(2, nbits)


def sqrt3_expansion(nbits: int = 1_000_000) -> NDArray[np.uint8]:
    """First ``nbits`` binary digits of √3, as the suite's data.sqrt3."""
    return sqrt_expansion(3, nbits)


# --------------------------------------------------------------------------------------------
# G-SHA1

G_SHA1_SEED = "ec822a619d6ed5d9492218a7a4c5b15d57c61601"
"""The 160-bit seed XKEY of the reference suite's G-SHA1 generator (sts-2.1.2)."""

_SHA1_IV = np.array([0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0], dtype=np.uint64)


@numba.njit(cache=True, nogil=True)
def _g_sha1_blocks(xkey: NDArray[np.uint64], nblocks: int) -> NDArray[np.uint64]:
    """``nblocks`` outputs G of the G-SHA1 generator as 32-bit words (most significant first).

    G = SHA-1 compression (FIPS 180-4 §6.1.2, standard IV, no padding) of XKEY ‖ 0^352, then
    XKEY ← (XKEY + G + 1) mod 2^160 (FIPS 186-2 Appendix 3.1 with the suite's fixed seed).
    Words are held in uint64 and masked to 32 bits.
    """
    mask = np.uint64(0xFFFFFFFF)
    out = np.empty((nblocks, 5), dtype=np.uint64)
    x = xkey.copy()
    w = np.zeros(80, dtype=np.uint64)
    for blk in range(nblocks):
        for t in range(5):
            w[t] = x[t]
        for t in range(5, 16):
            w[t] = 0
        for t in range(16, 80):
            v = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
            w[t] = ((v << np.uint64(1)) | (v >> np.uint64(31))) & mask
        a = _SHA1_IV[0]
        b = _SHA1_IV[1]
        c = _SHA1_IV[2]
        d = _SHA1_IV[3]
        e = _SHA1_IV[4]
        for t in range(80):
            if t < 20:
                f = (b & c) | ((~b & mask) & d)
                k = np.uint64(0x5A827999)
            elif t < 40:
                f = b ^ c ^ d
                k = np.uint64(0x6ED9EBA1)
            elif t < 60:
                f = (b & c) | (b & d) | (c & d)
                k = np.uint64(0x8F1BBCDC)
            else:
                f = b ^ c ^ d
                k = np.uint64(0xCA62C1D6)
            rot_a = ((a << np.uint64(5)) | (a >> np.uint64(27))) & mask
            tmp = (rot_a + f + e + k + w[t]) & mask
            e = d
            d = c
            c = ((b << np.uint64(30)) | (b >> np.uint64(2))) & mask
            b = a
            a = tmp
        g0 = (a + _SHA1_IV[0]) & mask
        g1 = (b + _SHA1_IV[1]) & mask
        g2 = (c + _SHA1_IV[2]) & mask
        g3 = (d + _SHA1_IV[3]) & mask
        g4 = (e + _SHA1_IV[4]) & mask
        out[blk, 0] = g0
        out[blk, 1] = g1
        out[blk, 2] = g2
        out[blk, 3] = g3
        out[blk, 4] = g4
        carry = np.uint64(1)
        for i in range(4, -1, -1):
            total = x[i] + out[blk, i] + carry
            x[i] = total & mask
            carry = total >> np.uint64(32)
    return out


def g_sha1(nbits: int = 1_000_000, seed: str = G_SHA1_SEED) -> NDArray[np.uint8]:
    """``nbits`` bits of the reference suite's G-SHA1 generator (SP 800-22 rev. 1a §5.5.3).

    Each step outputs G = SHA1-compress(XKEY ‖ 0^352) (160 bits, MSB first) and updates
    XKEY ← (XKEY + G + 1) mod 2^160, starting from the 160-bit hexadecimal ``seed``.
    """
    if nbits < 0:
        raise ValueError(f"nbits must be non-negative, got {nbits}")
    if len(seed) != 40:
        raise ValueError("seed must be 40 hexadecimal digits")
    try:
        xkey = int(seed, 16)
    except ValueError:
        raise ValueError("seed must be 40 hexadecimal digits") from None
    words = np.array([(xkey >> (32 * (4 - i))) & 0xFFFFFFFF for i in range(5)], dtype=np.uint64)
    blocks = _g_sha1_blocks(words, (nbits + 159) // 160)
    raw = blocks.astype(">u4").tobytes()
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:nbits].copy()
