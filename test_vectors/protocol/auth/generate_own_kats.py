"""Generate evaltool's own polynomial-hash MAC known-answer vectors (own_kats.json).

DO NOT EDIT own_kats.json BY HAND: run ``python test_vectors/protocol/auth/generate_own_kats.py``.
The tags are computed by the straightforward bit-serial GF(2^b) multiplication below (shift-and-add
with reduction after every shift), independent of evaltool's table-driven implementation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

POLY = {
    32: (32, 7, 3, 2, 0),
    64: (64, 4, 3, 1, 0),
    96: (96, 10, 9, 6, 0),
    128: (128, 7, 2, 1, 0),
    256: (256, 10, 5, 2, 0),
}


def gf_mul(a: int, b: int, bits: int) -> int:
    """Multiply in GF(2^bits) bit by bit."""
    modulus = sum(1 << e for e in POLY[bits])
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
        if a >> bits:
            a ^= modulus
    return result


def tag(message: bytes, key: int, otp: int, bits: int) -> int:
    """Horner evaluation hash of big-endian blocks (last block zero-padded), XOR the pad."""
    size = bits // 8
    padded = message + bytes((-len(message)) % size)
    acc = 0
    for i in range(0, len(padded), size):
        acc = gf_mul(acc ^ int.from_bytes(padded[i : i + size], "big"), key, bits)
    return acc ^ otp


def messages() -> dict[str, bytes]:
    """Deterministic messages: empty, short text, a non-multiple length, 4 KiB of SHA-256 output."""
    stream = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(128))
    return {
        "empty": b"",
        "text": b"evaltool Wegman-Carter known-answer test",
        "odd-length": bytes(range(251)),
        "sha256-stream-4096": stream,
    }


def main() -> None:
    out = []
    for bits in sorted(POLY):
        key = int.from_bytes(hashlib.sha256(b"key-%d" % bits).digest() * 2, "big") >> (512 - bits)
        otp = int.from_bytes(hashlib.sha256(b"otp-%d" % bits).digest() * 2, "big") >> (512 - bits)
        for name, msg in messages().items():
            out.append({
                "bits": bits,
                "message": name,
                "message_hex": msg.hex(),
                "hash_key": format(key, f"0{bits // 4}x"),
                "otp": format(otp, f"0{bits // 4}x"),
                "tag": format(tag(msg, key, otp, bits), f"0{bits // 4}x"),
            })
    doc = {
        "provenance": {
            "generator": "test_vectors/protocol/auth/generate_own_kats.py (bit-serial GF(2^b) "
            "multiplication, independent of evaltool/engines/protocol/_gf2.py)",
            "command": "python test_vectors/protocol/auth/generate_own_kats.py",
            "polynomials": "x^32+x^7+x^3+x^2+1, x^64+x^4+x^3+x+1, x^96+x^10+x^9+x^6+1, "
            "x^128+x^7+x^2+x+1, x^256+x^10+x^5+x^2+1",
            "encoding": "big-endian b-bit blocks, last block zero-padded, Horner (t + m) * k, "
            "tag = hash XOR otp; keys and pads from SHA-256 of 'key-<b>' / 'otp-<b>'",
        },
        "vectors": out,
    }
    path = Path(__file__).with_name("own_kats.json")
    path.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
