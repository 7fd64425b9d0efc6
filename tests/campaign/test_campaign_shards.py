"""A bundle with a shard rule: its SP 800-22 checks get the merged shards, and its result set is
still byte-identical to evaltool audit's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from evaltool.campaign.executor import SerialExecutor
from evaltool.campaign.plan import plan_campaign
from evaltool.campaign.run import run_campaign
from evaltool.campaign.shards import ShardTask
from tests.campaign.conftest import EPOCH, assert_same_as_audit
from tests.support import MINI_PROFILE

RNG_ACTIVITIES = """\
  - id: FCS_RNG.1
    title: Random number generation
    elements:
      - id: FCS_RNG.1.1
        text: The RNG output passes SP 800-22.
        activities:
          - id: A2
            title: SP 800-22 battery (subset)
            method: automated
            checks:
              - kind: sp800-22.battery
                params:
                  slot: rng
                  n: 100000
                  tests: [frequency, block-frequency, cumulative-sums, runs, rank, dft,
                          approximate-entropy, serial]
              - kind: sp800-22.frequency
                params: {slot: rng, n: 50000, m: 150}
"""


class _Recording(SerialExecutor):
    def __init__(self) -> None:
        self.items: list[Any] = []

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]
            ) -> Iterator[tuple[int, Any]]:
        self.items += list(items)
        yield from super().run(fn, items)


@pytest.fixture
def rng_profile(lab: Path) -> Path:
    text = MINI_PROFILE.replace("sfrs: [FPT_TST.1]}", "sfrs: [FPT_TST.1, FCS_RNG.1]}")
    path = lab / "rng-profile.yaml"
    path.write_text(text + RNG_ACTIVITIES)
    return path


def test_sharded_checks_use_the_merged_shards_and_match_audit(
        run_cli, lab: Path, rng_profile: Path, write_campaign: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_campaign("  - label: a\n    path: caps/a\n    shards:\n"
                          "      rng: {sequences: 20}\n  - {label: d, path: caps/d}\n")
    path.write_text(path.read_text().replace("profile: mini.yaml", "profile: rng-profile.yaml"))
    out = lab / "out"
    plan = plan_campaign(path, out, epoch=int(EPOCH))
    a, d = plan.units
    assert [len(sb.tasks) for sb in a.sharded] == [5, 8]  # 83 sequences / 20; 150 / 20
    assert d.sharded == ()

    # Bundle a's SP 800-22 checks must not compute their first level again; d's must.
    import evaltool.engines.stats.sp800_22 as sp

    real = sp.run_groups
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    executor = _Recording()
    with monkeypatch.context() as patched:
        patched.setattr(sp, "run_groups", counting)
        summary = run_campaign(plan, executor)
    shard_tasks = [t for t in executor.items if isinstance(t, ShardTask)]
    assert len(shard_tasks) == 13
    assert len(calls) == 2  # bundle d's two checks only
    assert [b.verdict.value for b in summary.bundles] == ["pass", "pass"]
    checks = json.loads((out / "bundles" / "a" / "results.json").read_text())["requirements"]
    battery = next(c for r in checks for c in r["checks"] if c["kind"] == "sp800-22.battery")
    assert battery["measurements"][0] == {**battery["measurements"][0], "name": "sequences",
                                          "value": 83}
    for label in ("a", "d"):
        assert_same_as_audit(run_cli, out, label)


def test_a_failed_shard_makes_its_bundle_inconclusive(
        lab: Path, rng_profile: Path, write_campaign: Callable[..., Path]) -> None:
    path = write_campaign("  - label: a\n    path: caps/a\n    shards:\n"
                          "      rng: {sequences: 20}\n")
    path.write_text(path.read_text().replace("profile: mini.yaml", "profile: rng-profile.yaml"))
    out = lab / "out"
    plan = plan_campaign(path, out, epoch=int(EPOCH))
    rng = lab / "caps" / "a" / "rng.bin"
    rng.write_bytes(rng.read_bytes()[:500_000])  # cut short after planning
    executor = _Recording()
    summary = run_campaign(plan, executor)
    (a,) = summary.bundles
    assert a.verdict.value == "inconclusive"
    assert a.error is not None and a.error.startswith("shard 2 of slot 'rng': EvidenceError: ")
    assert "shorter than when it was cut into shards" in a.error
    assert not any(getattr(t, "label", None) == "a" for t in executor.items)  # unit not run
