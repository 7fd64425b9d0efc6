"""Deterministic sample sources for the SP 800-90B reference vectors.

Every source is a function of SHAKE-256 output only (hashlib), so the inputs, and therefore the
reference tool's outputs recorded in ``reference-*.json``, can be regenerated bit for bit on any
machine. Each function returns one sample per byte (uint8), as the NIST
SP800-90B_EntropyAssessment tool reads its input files.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray


def shake(seed: bytes, nbytes: int) -> NDArray[np.uint8]:
    """Return the first ``nbytes`` bytes of SHAKE-256(seed)."""
    return np.frombuffer(hashlib.shake_256(seed).digest(nbytes), dtype=np.uint8).copy()


def anchor_8bit(n: int = 1_000_000) -> NDArray[np.uint8]:
    """8-bit samples: the first ``n`` bytes of SHAKE-256(b"evaltool-anchor")."""
    return shake(b"evaltool-anchor", n)


def anchor_1bit(n: int = 1_000_000) -> NDArray[np.uint8]:
    """1-bit samples: SHAKE-256(b"evaltool-anchor") unpacked MSB first."""
    return np.unpackbits(shake(b"evaltool-anchor", (n + 7) // 8))[:n].copy()


def uniform_8bit(n: int = 1_000_000) -> NDArray[np.uint8]:
    """8-bit samples from a seeded cryptographic generator: SHAKE-256(b"evaltool-90b-uniform8")."""
    return shake(b"evaltool-90b-uniform8", n)


def uniform_1bit(n: int = 1_000_000) -> NDArray[np.uint8]:
    """1-bit samples: SHAKE-256(b"evaltool-90b-uniform1") unpacked MSB first."""
    return np.unpackbits(shake(b"evaltool-90b-uniform1", (n + 7) // 8))[:n].copy()


def biased_1bit(n: int = 1_000_000, p_one: float = 0.505) -> NDArray[np.uint8]:
    """1-bit samples with P(1) = ``p_one``: big-endian uint32 words u of
    SHAKE-256(b"evaltool-90b-biased"), sample = 1 if u < p_one * 2**32."""
    words = shake(b"evaltool-90b-biased", 4 * n).view(">u4").astype(np.uint64)
    return (words < np.uint64(int(p_one * 2**32))).astype(np.uint8)


def markov_4bit(n: int = 1_000_000) -> NDArray[np.uint8]:
    """4-bit samples with a Markov dependence: byte pairs (r, s) of
    SHAKE-256(b"evaltool-90b-markov4"); sample i repeats sample i-1 when r < 64 (probability
    1/4), otherwise it is the low nibble of s (sample 0 is always the low nibble of s)."""
    raw = shake(b"evaltool-90b-markov4", 2 * n).reshape(n, 2)
    fresh = raw[:, 0] >= 64
    fresh[0] = True
    values = raw[:, 1] & 0x0F
    idx = np.where(fresh, np.arange(n), 0)
    np.maximum.accumulate(idx, out=idx)
    return values[idx].astype(np.uint8)


def sticky_8bit(n: int = 1_000_000) -> NDArray[np.uint8]:
    """Constant-ish 8-bit samples with a long repeat (LRS / t-tuple edge cases).

    Byte pairs (r, s) of SHAKE-256(b"evaltool-90b-sticky"): the sample is 0x5A when r < 248
    (probability 31/32), otherwise s & 0x0F (so at most 17 distinct values of 256 declared). Then
    the block of samples [n/10, n/10 + n/20) is copied over [6n/10, 6n/10 + n/20).
    """
    raw = shake(b"evaltool-90b-sticky", 2 * n).reshape(n, 2)
    out = np.where(raw[:, 0] < 248, 0x5A, raw[:, 1] & 0x0F).astype(np.uint8)
    a, length, b = n // 10, n // 20, 6 * n // 10
    out[b : b + length] = out[a : a + length]
    return out


#: name -> (generator, bits per sample)
SOURCES = {
    "anchor-8bit": (anchor_8bit, 8),
    "anchor-1bit": (anchor_1bit, 1),
    "uniform-8bit": (uniform_8bit, 8),
    "uniform-1bit": (uniform_1bit, 1),
    "biased-1bit": (biased_1bit, 1),
    "markov-4bit": (markov_4bit, 4),
    "sticky-8bit": (sticky_8bit, 8),
}


def restart_8bit() -> NDArray[np.uint8]:
    """Restart matrix, 1000 restarts x 1000 8-bit samples (row-major):
    SHAKE-256(b"evaltool-90b-restart8")."""
    return shake(b"evaltool-90b-restart8", 1_000_000)


def restart_1bit() -> NDArray[np.uint8]:
    """Restart matrix of 1-bit samples: SHAKE-256(b"evaltool-90b-restart1") unpacked MSB first."""
    return np.unpackbits(shake(b"evaltool-90b-restart1", 125_000)).copy()


def restart_stuck_1bit() -> NDArray[np.uint8]:
    """Restart matrix whose restarts repeat their first bit 9 times in 10 (fails the sanity
    check): bit (i, j) = r[i] when SHAKE byte (i, j) < 230, else the fresh bit of
    SHAKE-256(b"evaltool-90b-restart-stuck")."""
    raw = shake(b"evaltool-90b-restart-stuck", 2_000_000).reshape(1000, 1000, 2)
    first = raw[:, 0, 1] & 1
    out = np.where(raw[:, :, 0] < 230, first[:, None], raw[:, :, 1] & 1)
    return out.astype(np.uint8).ravel()


#: name -> (generator, bits per sample, H_I values) for the restart tests
RESTART_SOURCES = {
    "restart-8bit": (restart_8bit, 8, (7.0, 7.9)),
    "restart-1bit": (restart_1bit, 1, (0.8, 1.0)),
    "restart-stuck-1bit": (restart_stuck_1bit, 1, (0.5,)),
}
