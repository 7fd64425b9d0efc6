"""Sharding long RNG evidence: SP 800-22 sequences cut into shards, run by an executor, merged in
a fixed tree.

The SP 800-22 battery runs on m sequences of n bits (NIST SP 800-22 Rev. 1a, section 4); the
first-level p-values of disjoint groups of sequences are independent, and
:func:`evaltool.engines.stats.sp800_22.battery.merge_battery` concatenates groups' results in
sequence order. A shard is a run of consecutive sequences read straight from its byte range of a
binary (MSB-first) RNG file; shards are merged by their index in a binary tree whose shape
depends only on the number of shards, never on which shard finished first, so the merged
p-values (and the second-level analysis computed once from them) equal the serial battery's bit
for bit. ``docs/campaigns.md`` ("Sharding long evidence") says what is wired into the audit yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from evaltool.campaign.executor import Executor
from evaltool.engines.stats.sp800_22.battery import (
    BatteryPvalues,
    Sp80022Params,
    merge_battery,
    run_tests,
)
from evaltool.engines.stats.sp800_22.results import resolve_tests
from evaltool.errors import EvidenceError

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class RngShard:
    """Sequences ``first`` .. ``first + count - 1`` of ``n`` bits of a binary RNG file."""

    index: int
    path: Path
    n: int
    first: int
    count: int


def rng_shards(path: Path, *, n: int, m: int, per_shard: int) -> tuple[RngShard, ...]:
    """Cut the first ``m`` sequences of ``n`` bits of ``path`` into shards of ``per_shard``
    sequences (the last one shorter); the file must hold ``m·n`` bits."""
    if n < 1 or m < 1 or per_shard < 1:
        raise ValueError("n, m and per_shard must be positive")
    have = path.stat().st_size * 8
    if have < n * m:
        raise EvidenceError(f"{m} sequences of {n} bits need {n * m} bits; the file holds "
                            f"{have}", path=path)
    return tuple(RngShard(index=i, path=path, n=n, first=first, count=min(per_shard, m - first))
                 for i, first in enumerate(range(0, m, per_shard)))


def read_shard_bits(shard: RngShard) -> NDArray[np.uint8]:
    """The shard's sequences as a ``(count, n)`` 0/1 array, read from its byte range only."""
    start_bit = shard.first * shard.n
    stop_bit = start_bit + shard.count * shard.n
    first_byte, last_byte = start_bit // 8, (stop_bit + 7) // 8
    with shard.path.open("rb") as fh:
        fh.seek(first_byte)
        raw = fh.read(last_byte - first_byte)
    if len(raw) != last_byte - first_byte:
        raise EvidenceError("the file is shorter than when it was cut into shards",
                            path=shard.path)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
    skip = start_bit - 8 * first_byte
    return bits[skip:skip + shard.count * shard.n].reshape(shard.count, shard.n)


@dataclass(frozen=True, slots=True)
class ShardTask:
    """One shard with the tests and engine parameters to run on it (a work unit)."""

    shard: RngShard
    tests: tuple[str, ...]
    params: Sp80022Params


GROUP_BITS = 1 << 24
"""Bits read and tested at a time within a shard (memory stays bounded whatever the shard size;
the ``sp800-22.*`` checks stream in groups of the same size)."""


def run_shard_task(task: ShardTask) -> BatteryPvalues:
    """First-level battery results of one shard (runs wherever the executor puts it), read and
    tested a group of sequences at a time."""
    s = task.shard
    group = max(1, GROUP_BITS // s.n)
    parts = [run_tests(read_shard_bits(RngShard(index=s.index, path=s.path, n=s.n,
                                                 first=s.first + start,
                                                 count=min(group, s.count - start))),
                       tests=task.tests, params=task.params)
             for start in range(0, s.count, group)]
    return merge_battery(parts)


@dataclass(frozen=True, slots=True)
class ShardedBattery:
    """A check's first-level SP 800-22 computation on a binary slot, cut into shards.

    ``key`` is :attr:`evaltool.checks.sp800_22.FirstLevelPlan.key`: the merged result is handed
    to the bundle's audit under it.
    """

    key: str
    slot: str
    tasks: tuple[ShardTask, ...]


def plan_sharded_battery(key: str, slot: str, path: Path, *, n: int, m: int, per_shard: int,
                         tests: tuple[str, ...], params: Sp80022Params) -> ShardedBattery:
    """The shards of ``m`` sequences of ``n`` bits of ``path``, ``per_shard`` sequences each."""
    shards = rng_shards(path, n=n, m=m, per_shard=per_shard)
    return ShardedBattery(key=key, slot=slot,
                          tasks=tuple(ShardTask(s, tests, params) for s in shards))


def merge_tree(parts: Sequence[P], merge: Callable[[Sequence[P]], P]) -> P:
    """Merge ``parts`` pairwise, level by level, in index order: ((0 1) (2 3)) (4 ...).

    The shape depends only on ``len(parts)`` (depth ceil(log2 len)), so the result does not
    depend on the order in which the parts were computed.
    """
    if not parts:
        raise ValueError("nothing to merge")
    level = list(parts)
    while len(level) > 1:
        level = [merge(level[i:i + 2]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def sharded_battery(shards: Sequence[RngShard], executor: Executor, *,
                    tests: Iterable[str] | None = None,
                    params: Sp80022Params | None = None) -> BatteryPvalues:
    """Run the battery on every shard with ``executor`` and merge the parts in a fixed tree.

    A shard that raises makes the whole battery raise (its error is re-raised): a battery missing
    sequences would not be the battery the profile asks for.
    """
    names = resolve_tests(tests)
    engine = params or Sp80022Params()
    parts: dict[int, BatteryPvalues] = {}
    for index, result in executor.run(run_shard_task,
                                      [ShardTask(s, names, engine) for s in shards]):
        if isinstance(result, Exception):
            raise result
        parts[shards[index].index] = result
    return merge_tree([parts[s.index] for s in shards], merge_battery)
