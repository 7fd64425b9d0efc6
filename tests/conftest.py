"""Shared fixtures: the demo bundle, a minimal profile and a CLI runner with the error boundary."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import DEMO_BUNDLE, MINI_PROFILE


@dataclass
class CliResult:
    """Outcome of one CLI invocation through ``evaltool.cli.main``."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def _yaml_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test (and the processes it starts) keeps the YAML parse cache in a fresh folder."""
    monkeypatch.setenv("EVALTOOL_CACHE_DIR", str(tmp_path_factory.mktemp("evaltool-cache")))


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Call ``evaltool.cli.main(argv)`` (with its error boundary) and capture the outcome."""
    from evaltool.cli import main

    def run(*argv: str | Path) -> CliResult:
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in argv])
        out = capsys.readouterr()
        code = info.value.code
        return CliResult(code if isinstance(code, int) else 1, out.out, out.err)

    return run


@pytest.fixture
def demo_bundle(tmp_path: Path) -> Path:
    """A private copy of the shipped demo bundle (tests may edit it)."""
    dest = tmp_path / "bundle"
    shutil.copytree(DEMO_BUNDLE, dest)
    return dest


@pytest.fixture
def mini_profile(tmp_path: Path) -> Path:
    """A one-check profile (telemetry.range on the demo monitors)."""
    p = tmp_path / "mini-profile.yaml"
    p.write_text(MINI_PROFILE)
    return p
