"""Raw RNG output: a binary slot read as bits, most significant bit of each byte first, whole
(up to :data:`MAX_IN_MEMORY_BITS`) or in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evaltool.errors import EvidenceError
from evaltool.io.readers._registry import Source, reader
from evaltool.model.bundle import EvidenceFormat, EvidenceKind

MAX_IN_MEMORY_BITS = 1 << 30
"""Largest RNG slot unpacked in memory at once: 2^30 bits, one byte each once unpacked, so 1 GiB
(a 128 MiB file); larger slots must be streamed (docs/resource-policy.md). It was 2^33 bits,
which unpacked to 8 GiB."""


@dataclass(frozen=True, slots=True)
class RandomBits:
    """A binary slot of raw generator output."""

    source: Source
    size_bytes: int

    def raw_bytes(self) -> bytes:
        """The whole content."""
        return self.source.path.read_bytes()

    def bits(self) -> NDArray[np.uint8]:
        """All bits at once (refused above :data:`MAX_IN_MEMORY_BITS`)."""
        if self.size_bytes * 8 > MAX_IN_MEMORY_BITS:
            raise EvidenceError(f"slot {self.source.slot!r} is too large to load at once; "
                                "stream it", path=self.source.display)
        return np.unpackbits(np.fromfile(self.source.path, dtype=np.uint8))

    def iter_bits(self, chunk_bits: int) -> Iterator[NDArray[np.uint8]]:
        """Chunks of ``chunk_bits`` bits (a positive multiple of 8)."""
        if chunk_bits <= 0 or chunk_bits % 8:
            raise ValueError("chunk_bits must be a positive multiple of 8")
        with self.source.path.open("rb") as f:
            while block := f.read(chunk_bits // 8):
                yield np.unpackbits(np.frombuffer(block, dtype=np.uint8))


@reader("rng-raw", (EvidenceKind.RNG_RAW,), (EvidenceFormat.BINARY,))
def read_bits(src: Source) -> RandomBits:
    """Raw generator output as :class:`RandomBits` (whole or chunked bit arrays)."""
    try:
        size = src.path.stat().st_size
    except OSError as exc:
        raise EvidenceError(f"cannot read file ({exc.strerror})", path=src.display) from None
    return RandomBits(src, size)
