"""Sharded SP 800-22: shards of sequences merged in a fixed tree equal the serial battery."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaltool.campaign.executor import SerialExecutor
from evaltool.campaign.shards import (
    merge_tree,
    read_shard_bits,
    rng_shards,
    sharded_battery,
)
from evaltool.engines.stats.sp800_22.battery import BatteryPvalues, analyse, run_tests
from evaltool.errors import EvidenceError


def rng_file(path: Path, bits: int, seed: int) -> np.ndarray:
    """Write ``bits`` pseudo-random bits (MSB first) to ``path``; return them as 0/1."""
    x = np.random.default_rng(seed).integers(0, 2, size=bits, dtype=np.uint8)
    path.write_bytes(np.packbits(x).tobytes())
    return x


def assert_same_battery(a: BatteryPvalues, b: BatteryPvalues) -> None:
    assert a.n == b.n and a.sequences == b.sequences
    assert list(a.results) == list(b.results) and dict(a.skipped) == dict(b.skipped)
    for name in a.results:
        ra, rb = a.results[name], b.results[name]
        assert ra.labels == rb.labels
        assert np.array_equal(ra.pvalues, rb.pvalues, equal_nan=True), name
        assert np.array_equal(ra.statistic, rb.statistic, equal_nan=True), name


class _Reversed(SerialExecutor):
    """Finishes the units last-first (as a busy cluster may)."""

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]
            ) -> Iterator[tuple[int, Any]]:
        done = list(super().run(fn, items))
        yield from reversed(done)


def test_shards_read_their_own_unaligned_bit_ranges(tmp_path: Path) -> None:
    bits = rng_file(tmp_path / "rng.bin", 10 * 1001 + 5, seed=1)
    shards = rng_shards(tmp_path / "rng.bin", n=1001, m=10, per_shard=3)
    assert [(s.first, s.count) for s in shards] == [(0, 3), (3, 3), (6, 3), (9, 1)]
    for s in shards:
        got = read_shard_bits(s)
        assert got.shape == (s.count, 1001)
        assert np.array_equal(got.ravel(), bits[s.first * 1001:(s.first + s.count) * 1001])
    with pytest.raises(EvidenceError, match="need 11011 bits"):
        rng_shards(tmp_path / "rng.bin", n=1001, m=11, per_shard=3)


def test_merge_tree_has_a_fixed_shape() -> None:
    def merge(parts: Sequence[str]) -> str:
        return "(" + " ".join(parts) + ")"

    assert merge_tree(list("abcde"), merge) == "(((a b) (c d)) e)"
    assert merge_tree(["a"], merge) == "a"
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_tree([], merge)


def test_sharded_battery_equals_the_serial_battery_bit_for_bit(tmp_path: Path) -> None:
    n, m = 20_001, 23  # n not a multiple of 8: shards start inside a byte
    bits = rng_file(tmp_path / "rng.bin", n * m, seed=2026)
    serial = run_tests(bits.reshape(m, n))
    shards = rng_shards(tmp_path / "rng.bin", n=n, m=m, per_shard=5)
    for executor in (SerialExecutor(), _Reversed()):
        merged = sharded_battery(shards, executor)
        assert_same_battery(merged, serial)
    assert analyse(merged).to_dict() == analyse(serial).to_dict()


def test_a_shard_is_tested_in_bounded_groups(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import evaltool.campaign.shards as shards_module

    n, m = 1_000, 9
    bits = rng_file(tmp_path / "rng.bin", n * m, seed=5)
    monkeypatch.setattr(shards_module, "GROUP_BITS", 2 * n)  # two sequences per group
    seen: list[int] = []
    real = shards_module.run_tests

    def spy(x: Any, **kwargs: Any) -> BatteryPvalues:
        seen.append(len(x))
        return real(x, **kwargs)

    monkeypatch.setattr(shards_module, "run_tests", spy)
    merged = sharded_battery(rng_shards(tmp_path / "rng.bin", n=n, m=m, per_shard=5),
                             SerialExecutor(), tests=["frequency", "runs"])
    assert seen == [2, 2, 1, 2, 2]
    assert_same_battery(merged, run_tests(bits.reshape(m, n), tests=["frequency", "runs"]))
