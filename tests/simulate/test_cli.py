"""The ``evaltool simulate`` command: output folder handling, JSON summary and usage errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evaltool.cli import cli
from evaltool.cli.simulate import simulate
from evaltool.errors import ExitCode


@pytest.fixture
def sim_cli(run_cli, monkeypatch: pytest.MonkeyPatch):
    """``run_cli`` with the simulate command registered on the root group."""
    monkeypatch.setitem(cli.commands, "simulate", simulate)
    return run_cli


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_writes_a_valid_bundle_with_provenance(sim_cli, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = sim_cli("simulate", "trojan-horse", "--out", out, "--seed", "5", "--blocks", "3")
    assert r.exit_code == 0, r.stderr
    assert "scenario trojan-horse" in r.stdout and "seed 5, 3 blocks" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "PROVENANCE.md", "audit.jsonl", "blocks.csv", "bundle.yaml", "detections.parquet",
        "em-capture.parquet", "isolation.csv", "kdi-probe.jsonl", "key-delivery-rx.csv",
        "key-delivery.csv", "monitors.csv", "pulses.parquet",
        "rng-health.jsonl", "rng.bin", "self-tests.jsonl", "st.yaml", "test-blocks.csv",
        "transcript.parquet",
    ])  # fmt: skip
    assert f"--out {out} --seed 5 --blocks 3" in (out / "PROVENANCE.md").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temporary folder left behind
    v = sim_cli("validate", out, out / "st.yaml")
    assert v.exit_code == 0, v.stderr


def test_refuses_a_non_empty_folder_unless_forced(sim_cli, tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert sim_cli("simulate", "honest", "--out", out, "--blocks", "2").exit_code == 0
    before = _digests(out)
    r = sim_cli("simulate", "honest", "--out", out, "--blocks", "2", "--seed", "9")
    assert r.exit_code == ExitCode.USAGE
    assert r.stderr.count("\n") == 1 and "folder is not empty (use --force" in r.stderr
    assert _digests(out) == before
    f = sim_cli("simulate", "honest", "--out", out, "--blocks", "2", "--seed", "9", "--force")
    assert f.exit_code == 0, f.stderr
    after = _digests(out)
    assert after["blocks.csv"] != before["blocks.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_an_empty_folder_is_used(sim_cli, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert sim_cli("simulate", "honest", "--out", out, "--blocks", "2").exit_code == 0
    assert (out / "bundle.yaml").is_file()


def test_a_file_is_not_a_folder(sim_cli, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    r = sim_cli("simulate", "honest", "--out", target, "--force")
    assert r.exit_code == ExitCode.USAGE and "is not a folder" in r.stderr
    assert target.read_text() == "x"


def test_json_summary(sim_cli, tmp_path: Path) -> None:
    r = sim_cli("simulate", "short-auth-tag", "--out", tmp_path / "j", "--blocks", "2", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["scenario"] == "short-auth-tag"
    assert doc["violates"] == ["FCS_COP.1/AUTH"]
    assert doc["blocks"] == 2 and doc["seed"] == 2026
    assert Path(doc["bundle"]).name == "bundle.yaml"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-scenario", "--out", "x"], "Invalid value for 'SCENARIO'"),
        (["honest", "--out", "x", "--blocks", "1"], "Invalid value for '--blocks'"),
        (["honest", "--out", "x", "--seed", "-1"], "Invalid value for '--seed'"),
        (["honest"], "Missing option '--out'"),
    ],
)
def test_usage_errors(sim_cli, tmp_path: Path, args: list[str], message: str) -> None:
    r = sim_cli("simulate", *[str(tmp_path / a) if a == "x" else a for a in args])
    assert r.exit_code == ExitCode.USAGE
    assert message in r.stderr
    assert not (tmp_path / "x").exists()
