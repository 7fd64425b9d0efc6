"""Campaigns on a Dask LocalCluster of 2 worker processes on loopback (the ``[dask]`` extra)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from evaltool.campaign.executor import DaskExecutor
from evaltool.campaign.plan import plan_campaign
from evaltool.campaign.run import run_campaign
from tests.campaign.conftest import ALL_FOUR, EPOCH, assert_same_as_audit, break_table

pytest.importorskip("distributed")


def test_local_cluster_results_are_byte_identical_to_serial_audit(
        run_cli, lab: Path, write_campaign: Callable[..., Path]) -> None:
    shutil.copytree(lab / "caps" / "a", lab / "caps" / "e")
    break_table(lab / "caps" / "e")  # its unit raises on the worker
    path = write_campaign(ALL_FOUR + "  - {label: e, path: caps/e}\n")
    out = lab / "out"
    r = run_cli("campaign", path, "--out", out, "--scheduler", "local:2", "--quiet")
    assert r.exit_code == 1, r.stderr
    assert r.stderr == ""  # the cluster's own log is silenced
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["executor"] == "dask local:2"
    assert [b["verdict"] for b in summary["bundles"]] == [
        "pass", "fail", "pass", "pass", "inconclusive"]
    assert summary["bundles"][4]["error"].startswith(
        "EvidenceError: e/monitors.csv: missing required")
    for label in "abcd":
        assert_same_as_audit(run_cli, out, label)


@pytest.mark.slow  # about 22 s: a cluster, a worker restarted, four audits to compare with
def test_a_worker_killed_mid_campaign_changes_no_result(
        run_cli, lab: Path, write_campaign: Callable[..., Path]) -> None:
    path = write_campaign(ALL_FOUR)
    out = lab / "out"
    plan = plan_campaign(path, out, epoch=int(EPOCH))
    executor = DaskExecutor.local(2)
    killed: list[tuple[str, list[str]]] = []

    def kill_a_busy_worker() -> None:
        pids = executor.client.run(os.getpid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for address, keys in executor.client.processing().items():
                if keys and address in pids:
                    os.kill(pids[address], signal.SIGKILL)
                    killed.append((address, list(keys)))
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker)
    try:
        killer.start()
        summary = run_campaign(plan, executor)
        killer.join()
    finally:
        executor.close()
    assert killed and killed[0][1], "no worker was killed while it held a unit"
    assert [b.verdict.value for b in summary.bundles] == ["pass", "fail", "pass", "pass"]
    assert all(b.error is None for b in summary.bundles)
    for label in "abcd":
        assert_same_as_audit(run_cli, out, label)


def test_an_unreachable_scheduler_is_exit_2_in_one_line(
        run_cli, lab: Path, write_campaign: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr("evaltool.campaign.executor.CONNECT_TIMEOUT_S", 1.0)
    path = write_campaign(ALL_FOUR)
    r = run_cli("campaign", path, "--out", lab / "out", "--scheduler",
                f"tcp://127.0.0.1:{port}", "--quiet")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"evaltool: error: cannot reach the Dask scheduler at "
                               f"tcp://127.0.0.1:{port} (")
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (lab / "out" / "campaign.json").exists()


def _sharded_equals_serial(tmp_path: Path, n: int, m: int, per_shard: int) -> None:
    """The battery on ``m`` sequences of ``n`` bits, streamed serially as the check streams them,
    against the shards run on 2 workers and merged."""
    from evaltool.campaign.shards import rng_shards, sharded_battery
    from evaltool.engines.stats.sp800_22.battery import run_groups
    from evaltool.io.bits import BitFile
    from tests.campaign.test_shards import assert_same_battery

    path = tmp_path / "rng.bin"
    rng = np.random.default_rng(18)
    with path.open("wb") as fh:  # in 16 MB pieces: the file may not fit in memory twice
        left = (n * m + 7) // 8
        while left:
            piece = min(left, 1 << 24)
            fh.write(rng.bytes(piece))
            left -= piece
    serial = run_groups(BitFile(path).sequences(n, m=m, group=max(1, (1 << 24) // n)))
    executor = DaskExecutor.local(2)
    try:
        merged = sharded_battery(rng_shards(path, n=n, m=m, per_shard=per_shard), executor)
    finally:
        executor.close()
    assert_same_battery(merged, serial)


def test_rng_file_sharded_over_two_workers_gives_the_serial_p_values(tmp_path: Path) -> None:
    _sharded_equals_serial(tmp_path, n=20_001, m=8, per_shard=2)


@pytest.mark.slow  # minutes: 10^9 bits, twice
def test_a_gigabit_rng_file_sharded_over_two_workers_gives_the_serial_p_values(
        tmp_path: Path) -> None:
    _sharded_equals_serial(tmp_path, n=1_000_000, m=1000, per_shard=100)
