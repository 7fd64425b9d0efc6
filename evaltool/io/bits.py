"""Streaming readers of RNG output files: raw binary (MSB first) and ASCII '0'/'1'.

Files may be larger than memory: :class:`BitFile` reads them in chunks and hands out sequences of
n bits in groups (``(g, n)`` uint8 arrays), so at most one group and one chunk are held at a time.
The SHA-256 of the whole file is computed during the same pass (the rest of the file is hashed
when fewer bits are needed than it holds). Every error names the file.

Formats
-------
``binary``
    Each byte holds 8 bits, most significant bit first (the NIST STS "binary" input mode).
``ascii``
    The characters '0' and '1'; ASCII whitespace is skipped (as the NIST STS ASCII reader does);
    any other byte is an error reported with its offset.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from evaltool.errors import EvidenceError, InsufficientDataError

BitFormat = Literal["binary", "ascii"]
FORMATS: tuple[str, ...] = ("binary", "ascii")

_CHUNK_BYTES = 1 << 22
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")


def _ascii_bits(raw: bytes, path: Path, offset: int) -> NDArray[np.uint8]:
    """Bits of an ASCII chunk starting at byte ``offset`` of ``path``."""
    arr = np.frombuffer(raw, dtype=np.uint8)
    is_bit = (arr == 48) | (arr == 49)
    bad = ~(is_bit | _WHITESPACE[arr])
    if bad.any():
        pos = int(np.argmax(bad))
        raise EvidenceError(
            f"byte {arr[pos]:#04x} is neither '0', '1' nor whitespace in an ASCII bit file",
            path=path,
            location=f"byte {offset + pos}",
        )
    return np.asarray(arr[is_bit] - 48, dtype=np.uint8)


class BitFile:
    """A file of bits read in one streaming pass.

    Parameters
    ----------
    path:
        The file.
    format:
        ``"binary"`` or ``"ascii"`` (see the module docstring).
    chunk_bytes:
        Bytes read at a time.

    Attributes
    ----------
    sha256:
        Hex SHA-256 of the whole file once an iteration has finished, else None.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: BitFormat = "binary",
        chunk_bytes: int = _CHUNK_BYTES,
    ) -> None:
        _check_format(format)
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be positive, got {chunk_bytes}")
        self.path = Path(path)
        self.format: BitFormat = format
        self.chunk_bytes = chunk_bytes
        self.sha256: str | None = None
        if not self.path.is_file():
            raise EvidenceError("bit file not found or not a regular file", path=self.path)

    # ----------------------------------------------------------------------------------------
    def count_bits(self) -> int:
        """Number of bits in the file (binary: 8 × size; ASCII: one counting pass)."""
        try:
            if self.format == "binary":
                return self.path.stat().st_size * 8
            total = 0
            offset = 0
            with self.path.open("rb") as fh:
                while raw := fh.read(self.chunk_bytes):
                    total += int(_ascii_bits(raw, self.path, offset).size)
                    offset += len(raw)
            return total
        except OSError as exc:
            raise EvidenceError(f"cannot read bit file: {exc.strerror}", path=self.path) from exc

    def _read_bits(self, digest: hashlib._Hash) -> Iterator[tuple[int, NDArray[np.uint8]]]:
        """``(bytes read so far, bits)`` per chunk; every byte read also updates ``digest``."""
        offset = 0
        try:
            with self.path.open("rb") as fh:
                while raw := fh.read(self.chunk_bytes):
                    digest.update(raw)
                    if self.format == "binary":
                        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
                    else:
                        bits = _ascii_bits(raw, self.path, offset)
                    offset += len(raw)
                    yield offset, bits
        except OSError as exc:
            raise EvidenceError(f"cannot read bit file: {exc.strerror}", path=self.path) from exc

    def iter_chunks(self) -> Iterator[NDArray[np.uint8]]:
        """The file's bits in chunks (1-D uint8 0/1 arrays); sets :attr:`sha256` at the end."""
        digest = hashlib.sha256()
        for _, bits in self._read_bits(digest):
            yield bits
        self.sha256 = digest.hexdigest()

    def _finish_hash(self, fh_offset: int, digest: hashlib._Hash) -> None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(fh_offset)
                while raw := fh.read(self.chunk_bytes):
                    digest.update(raw)
        except OSError as exc:
            raise EvidenceError(f"cannot read bit file: {exc.strerror}", path=self.path) from exc
        self.sha256 = digest.hexdigest()

    def sequences(
        self, n: int, *, m: int | None = None, group: int = 8
    ) -> Iterator[NDArray[np.uint8]]:
        """Consecutive sequences of ``n`` bits, yielded ``group`` at a time as ``(g, n)`` arrays.

        ``m`` sequences are read (default: as many complete sequences as the file holds; the
        remaining bits are ignored). Raises :class:`InsufficientDataError` before yielding
        anything when the file holds fewer than ``m·n`` bits (or fewer than ``n``).
        """
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        if group < 1:
            raise ValueError(f"group must be positive, got {group}")
        if m is not None and m < 1:
            raise ValueError(f"m must be positive, got {m}")
        total = self.count_bits()
        available = total // n
        if available < 1 or (m is not None and available < m):
            want = n if m is None else m * n
            raise InsufficientDataError(
                f"needs {want} bits ({'1' if m is None else m} sequence(s) of {n}), "
                f"the file holds {total}",
                path=self.path,
            )
        count = available if m is None else m
        return self._sequences(n, count, group)

    def _sequences(self, n: int, count: int, group: int) -> Iterator[NDArray[np.uint8]]:
        digest = hashlib.sha256()
        offset = 0

        def chunks() -> Iterator[NDArray[np.uint8]]:
            nonlocal offset
            for end, bits in self._read_bits(digest):
                offset = end  # where hashing of the unused rest resumes
                yield bits

        yield from regroup(chunks(), n, count, group)
        # The rest of the file, which no sequence uses, still counts towards the file's hash.
        self._finish_hash(offset, digest)


def regroup(
    chunks: Iterable[NDArray[np.uint8]], n: int, count: int, group: int
) -> Iterator[NDArray[np.uint8]]:
    """Regroup a stream of bit chunks into ``count`` sequences of ``n`` bits.

    Yields ``(g, n)`` arrays of at most ``group`` rows; stops reading ``chunks`` once ``count``
    sequences are complete. Memory is bounded by ``group * n`` bits plus one chunk.
    """
    buf = np.empty((min(group, count), n), dtype=np.uint8)
    row = col = done = 0
    for bits in chunks:
        pos = 0
        while pos < bits.size and done < count:
            take = min(n - col, bits.size - pos)
            buf[row, col : col + take] = bits[pos : pos + take]
            pos += take
            col += take
            if col == n:
                col = 0
                row += 1
                done += 1
                if row == buf.shape[0] or done == count:
                    yield buf[:row].copy()
                    row = 0
                    rest = count - done
                    if 0 < rest < buf.shape[0]:
                        buf = np.empty((rest, n), dtype=np.uint8)
        if done == count:
            return
