"""The limits of docs/resource-policy.md, each at its edge."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evaltool.errors import EvidenceError
from evaltool.io import json_strict
from evaltool.io.readers import Source
from evaltool.io.readers.bits import MAX_IN_MEMORY_BITS, read_bits
from evaltool.model.bundle import EvidenceFormat, EvidenceKind


def test_json_nesting_is_accepted_to_the_limit_and_refused_beyond() -> None:
    depth = json_strict.MAX_DEPTH
    expected: list[object] = []
    for _ in range(depth - 1):
        expected = [expected]
    assert json_strict.loads("[" * depth + "]" * depth) == expected
    with pytest.raises(ValueError, match="nested deeper than 64 levels"):
        json_strict.loads("[" * (depth + 1) + "]" * (depth + 1))
    # brackets inside strings are text, not nesting
    text = '{"a": "' + "[{" * 500 + '"}'
    assert json_strict.loads(text) == {"a": "[{" * 500}


@pytest.mark.parametrize(("text", "message"), [
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": 1e400}', "out of the range of a double"),
    ('{"a": -1e400}', "out of the range of a double"),
    ('{"a": NaN}', "NaN is not allowed"),
    ('{"a": Infinity}', "Infinity is not allowed"),
    ('{"a": ' + "9" * 5000 + "}", "4300 digits"),
])
def test_json_values_with_two_meanings_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        json_strict.loads(text)


def test_ordinary_json_is_unchanged() -> None:
    assert json_strict.loads('{"t": 1.5, "n": [1, 2, {"x": null}], "s": "é"}') == {
        "t": 1.5, "n": [1, 2, {"x": None}], "s": "é"}


def test_rng_bits_are_unpacked_whole_only_up_to_one_gib(tmp_path: Path) -> None:
    """2^30 bits unpack to 1 GiB (one byte per bit); one byte more is refused, unread (the file
    is sparse: nothing is allocated)."""
    assert MAX_IN_MEMORY_BITS == 1 << 30
    path = tmp_path / "rng.bin"
    with path.open("wb") as f:
        os.truncate(f.fileno(), MAX_IN_MEMORY_BITS // 8 + 1)
    view = read_bits(Source("rng", EvidenceKind.RNG_RAW, EvidenceFormat.BINARY, path,
                            "b/rng.bin", "0" * 64))
    with pytest.raises(EvidenceError, match="too large to load at once"):
        view.bits()
    first = next(view.iter_bits(8 * 1024))
    assert first.shape == (8 * 1024,) and not first.any()
