"""Streaming bit-file readers: formats, grouping, SHA-256, chunking, errors naming the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io.bits import BitFile, BitFormat


def read_bits(path: Path, format: BitFormat = "binary") -> np.ndarray:
    """Every bit of a small file, read through :meth:`BitFile.iter_chunks`."""
    chunks = list(BitFile(path, format=format).iter_chunks())
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint8)


def test_binary_is_msb_first(tmp_path: Path) -> None:
    path = tmp_path / "b.bin"
    path.write_bytes(bytes([0b10000001, 0b01000000]))
    np.testing.assert_array_equal(read_bits(path), [1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])


def test_ascii_skips_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(" 1 0\t1\r\n1\n")
    np.testing.assert_array_equal(read_bits(path, format="ascii"), [1, 0, 1, 1])


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_sequences_in_groups_with_small_chunks(tmp_path: Path, chunk: int) -> None:
    rng = np.random.default_rng(chunk)
    bits = rng.integers(0, 2, 8 * 125, dtype=np.uint8)
    path = tmp_path / "r.bin"
    path.write_bytes(np.packbits(bits).tobytes())
    bf = BitFile(path, chunk_bytes=chunk)
    groups = list(bf.sequences(97, group=4))
    assert [g.shape for g in groups] == [(4, 97), (4, 97), (2, 97)]  # 1000 // 97 = 10
    np.testing.assert_array_equal(np.concatenate(groups).ravel(), bits[: 10 * 97])
    assert bf.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_hash_covers_the_whole_file_when_fewer_bits_are_used(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text("01" * 5000)
    bf = BitFile(path, format="ascii", chunk_bytes=64)
    groups = list(bf.sequences(100, m=3))
    assert sum(g.shape[0] for g in groups) == 3
    assert bf.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert bf.count_bits() == 10_000


def test_too_few_bits_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "short.bin"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(InsufficientDataError, match="needs 160 bits") as info:
        BitFile(path).sequences(80, m=2)
    assert str(path) in str(info.value)


def test_bad_ascii_character_names_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("0101\n01a1")
    with pytest.raises(EvidenceError) as info:
        read_bits(path, format="ascii")
    assert str(info.value).startswith(f"{path}:byte 7: ")


def test_missing_file_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="not found") as info:
        BitFile(tmp_path / "none.bin")
    assert "none.bin" in str(info.value)
    path = tmp_path / "x.bin"
    path.write_bytes(b"\xff")
    with pytest.raises(ValueError, match="format"):
        BitFile(path, format="hex")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be positive"):
        BitFile(path).sequences(0)
