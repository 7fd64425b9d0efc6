"""The campaign file: its schema, and bad input refused with file:line before any work starts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.campaign.conftest import ALL_FOUR
from tests.support import REPO


@pytest.mark.parametrize(("bundles", "line", "message"), [
    ("  - {label: a, path: caps/a}\n  - {label: x, path: caps/nowhere}\n", 8,
     "bundle 'caps/nowhere': no such bundle"),
    ("  - {label: a, path: caps/a}\n  - {label: a, path: caps/b}\n", 8,
     "duplicate bundle label 'a' (first used by bundles[0])"),
    ("  - {label: a, path: caps/a}\n  - {label: g, path: 'caps/z*'}\n", 8,
     "glob 'caps/z*' matches no bundle folder"),
    ("  - label: a\n    path: caps/a\n    shards:\n      rng_rx: {sequences: 4}\n", 10,
     "shard rule for slot 'rng_rx', which bundle 'a' lacks"),
    ("  - label: a\n    path: caps/a\n    shards:\n      monitors: {sequences: 4}\n", 10,
     "'sequences' cuts rng-raw evidence only"),
    ("  - label: a\n    path: caps/a\n    shards:\n      rng: {rows: 4}\n", 10,
     "'rows' cuts tables only"),
    ("  - {label: ../up, path: caps/a}\n", 7, "bundles[0].label: String should match pattern"),
    ("  - label: a\n    path: caps/a\n    shards:\n      rng: {}\n", 10,
     "exactly one of 'sequences' and 'rows'"),
])
def test_bad_campaign_input_is_exit_4_with_its_line(
        run_cli, lab: Path, write_campaign: Callable[..., Path], bundles: str, line: int,
        message: str) -> None:
    path = write_campaign(bundles)
    out = lab / "out"
    r = run_cli("campaign", path, "--out", out, "--quiet")
    assert r.exit_code == 4, r.stderr
    assert r.stderr.startswith(f"evaltool: error: {path}:{line}:"), r.stderr
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()  # nothing ran, nothing was written


def test_missing_profile_names_the_campaign_line(run_cli, lab: Path,
                                                 write_campaign: Callable[..., Path]) -> None:
    path = write_campaign(ALL_FOUR)
    path.write_text(path.read_text().replace("profile: mini.yaml", "profile: gone.yaml"))
    r = run_cli("campaign", path, "--out", lab / "out", "--quiet")
    assert r.exit_code == 4
    assert f"{path}:3:1: profile 'gone.yaml': no such file" in r.stderr


def test_glob_labels_each_match_by_folder(run_cli, lab: Path,
                                          write_campaign: Callable[..., Path]) -> None:
    path = write_campaign("  - {label: set, path: 'caps/[ac]'}\n")
    r = run_cli("campaign", path, "--out", lab / "out", "--quiet")
    assert r.exit_code == 0, r.stderr
    summary = json.loads((lab / "out" / "campaign.json").read_text())
    assert [b["label"] for b in summary["bundles"]] == ["set/a", "set/c"]
    assert summary["bundles"][1]["report"] == "bundles/set/c/report.html"
    assert summary["bundles"][1]["results"] == "bundles/set/c/results.json"
    assert (lab / "out" / "bundles" / "set" / "c" / "results.json").is_file()


@pytest.mark.parametrize(("scheduler", "message"), [
    ("ftp://x", "unknown scheme 'ftp'"),
    ("local:0", "expected local or local:N with N >= 1"),
    ("local:two", "expected local or local:N with N >= 1"),
    ("serial:2", "'serial' takes no argument"),
    ("tcp:", "expected tcp://HOST:PORT"),
])
def test_a_bad_scheduler_is_a_usage_error(run_cli, lab: Path, write_campaign: Callable[..., Path],
                                          scheduler: str, message: str) -> None:
    path = write_campaign(ALL_FOUR)
    r = run_cli("campaign", path, "--out", lab / "out", "--scheduler", scheduler, "--quiet")
    assert r.exit_code == 2
    assert message in r.stderr
    assert not (lab / "out" / "campaign.json").exists()


def test_every_executor_factory_is_documented_and_registered_once() -> None:
    from evaltool.campaign.executor import SerialExecutor, executor_for, scheduler_scheme, schemes

    assert sorted(schemes()) == ["local", "serial", "tcp", "tls"]
    for factory in schemes().values():
        assert (factory.__doc__ or "").strip()
    assert isinstance(executor_for(None), SerialExecutor)
    with pytest.raises(TypeError, match="needs a docstring"):
        scheduler_scheme("undocumented")(lambda value: SerialExecutor())
    with pytest.raises(TypeError, match="registered twice"):
        scheduler_scheme("serial")(schemes()["serial"])


def test_schema_document_is_current(run_cli) -> None:
    r = run_cli("schema", "campaign")
    assert r.exit_code == 0
    committed = (REPO / "docs" / "schemas" / "campaign.schema.json").read_text()
    assert json.loads(r.stdout) == json.loads(committed), (
        "docs/schemas/campaign.schema.json is stale: regenerate with `evaltool schema campaign`")
    assert "bundles" in json.loads(r.stdout)["required"]


def test_a_serial_campaign_never_imports_dask(lab: Path,
                                             write_campaign: Callable[..., Path]) -> None:
    from tests.cli.test_startup import _imported

    path = write_campaign("  - {label: a, path: caps/a}\n")
    code, out, modules = _imported("campaign", str(path), "--out", str(lab / "out"), "--quiet")
    assert code == 0, out
    assert out.strip().endswith("campaign.json")
    assert sorted(m for m in modules if m.split(".")[0] in ("distributed", "dask")) == []
    assert "evaltool.campaign.unit" in modules
