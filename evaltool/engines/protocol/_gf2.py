"""Arithmetic in GF(2^b) for polynomial (evaluation) hashing, b in {32, 64, 96, 128, 256}.

An element is the polynomial ``sum_i a_i x^i`` over GF(2) reduced modulo a fixed irreducible
polynomial of degree ``b``; as an integer, bit ``i`` is the coefficient of ``x^i``. In compiled
code an element is ``ceil(b / 64)`` little-endian uint64 words.

Reduction polynomials (low-weight irreducible polynomials; the same as the "evhash" module of the
AIT QKD R10 software; the 32..128-bit ones are also listed in Seroussi, "Table of
Low-Weight Binary Irreducible Polynomials", HP Labs HPL-98-135, 1998, and x^128 + x^7 + x^2 + x +
1 is the GCM polynomial of NIST SP 800-38D §6.3):

====  ==================================
b     polynomial
====  ==================================
32    x^32 + x^7 + x^3 + x^2 + 1
64    x^64 + x^4 + x^3 + x + 1
96    x^96 + x^10 + x^9 + x^6 + 1
128   x^128 + x^7 + x^2 + x + 1
256   x^256 + x^10 + x^5 + x^2 + 1
====  ==================================

Multiplication by a fixed key ``k`` uses byte tables (the "8-bit tables" method of McGrew and Viega,
"The Galois/Counter Mode of Operation", 2005, §4.1): ``T[j][v] = (v x^(8j)) k``, so that
``a k = XOR_j T[j][byte_j(a)]`` costs ``b / 8`` table look-ups.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

REDUCTION_EXPONENTS: dict[int, tuple[int, ...]] = {
    32: (32, 7, 3, 2, 0),
    64: (64, 4, 3, 1, 0),
    96: (96, 10, 9, 6, 0),
    128: (128, 7, 2, 1, 0),
    256: (256, 10, 5, 2, 0),
}
"""Exponents of the reduction polynomial for each supported field size."""

SUPPORTED_BITS = tuple(sorted(REDUCTION_EXPONENTS))


def check_bits(bits: int) -> None:
    """Raise ``ValueError`` unless ``bits`` is a supported field size."""
    if bits not in REDUCTION_EXPONENTS:
        raise ValueError(f"field size must be one of {SUPPORTED_BITS}, got {bits}")


def reduction_low_int(bits: int) -> int:
    """Return the reduction polynomial without its leading term, as an integer."""
    check_bits(bits)
    return sum(1 << e for e in REDUCTION_EXPONENTS[bits] if e != bits)


def int_to_words(value: int, bits: int) -> NDArray[np.uint64]:
    """Split a field element given as an integer into little-endian uint64 words."""
    if value < 0 or value >> bits:
        raise ValueError(f"field element must lie in [0, 2^{bits})")
    n_words = (bits + 63) // 64
    return np.array([(value >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(n_words)],
                    dtype=np.uint64)


def words_to_int(words: NDArray[np.uint64]) -> int:
    """Join little-endian uint64 words into an integer."""
    return sum(int(w) << (64 * i) for i, w in enumerate(words))


def byte_tables(key: int, bits: int) -> NDArray[np.uint64]:
    """Return the tables ``T[j, v, :] = (v x^(8j)) * key`` of shape ``(bits/8, 256, words)``."""
    check_bits(bits)
    if key < 0 or key >> bits:
        raise ValueError(f"key must lie in [0, 2^{bits})")
    low = reduction_low_int(bits)
    # key * x^i for every i < bits (shift and reduce).
    powers = []
    cur = key
    for _ in range(bits):
        powers.append(cur)
        cur <<= 1
        if cur >> bits:
            cur ^= (1 << bits) | low
    n_words = (bits + 63) // 64
    pw = np.stack([int_to_words(p, bits) for p in powers])
    return _build_tables(pw, bits // 8, n_words)


@numba.njit(cache=True)
def _build_tables(powers: NDArray[np.uint64], n_bytes: int, n_words: int) -> NDArray[np.uint64]:
    tab = np.zeros((n_bytes, 256, n_words), dtype=np.uint64)
    for j in range(n_bytes):
        for v in range(1, 256):
            low = v & (-v)
            r = 0
            while (1 << r) != low:
                r += 1
            prev = v ^ low
            for w in range(n_words):
                tab[j, v, w] = tab[j, prev, w] ^ powers[8 * j + r, w]
    return tab


@numba.njit(cache=True)
def horner_bytes(message: NDArray[np.uint8], tables: NDArray[np.uint64],
                 state: NDArray[np.uint64]) -> None:
    """Absorb whole ``b``-bit blocks of ``message`` (big-endian) into ``state`` in place.

    Each block ``m`` updates ``state <- (state + m) * key`` (Horner form of the evaluation hash).
    ``message`` must hold a multiple of ``b / 8`` bytes.
    """
    n_bytes = tables.shape[0]
    n_words = tables.shape[2]
    n_blocks = message.size // n_bytes
    acc = np.zeros(n_words, dtype=np.uint64)
    for blk in range(n_blocks):
        base = blk * n_bytes
        for w in range(n_words):
            acc[w] = 0
        for j in range(n_bytes):
            sb = (state[j >> 3] >> np.uint64(8 * (j & 7))) & np.uint64(0xFF)
            v = np.int64(sb) ^ np.int64(message[base + n_bytes - 1 - j])
            for w in range(n_words):
                acc[w] ^= tables[j, v, w]
        for w in range(n_words):
            state[w] = acc[w]
