"""Fixtures of the profile tests: the shipped GS QKD 016 files and the ``profile`` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import REPO

PROFILES = REPO / "profiles"
GS016 = PROFILES / "etsi-gs-qkd-016.yaml"
LIBRARY = PROFILES / "iso-iec-23837-2-activities.yaml"
DEMO_ST = REPO / "test_vectors" / "demo" / "st.yaml"
DEMO_EVALUATION = REPO / "test_vectors" / "demo" / "evaluation.yaml"
CORPUS = REPO / "test_vectors" / "profiles"


@pytest.fixture
def profile_cli(run_cli):
    """``run_cli`` with the ``profile`` command group available (registered by the root CLI)."""
    from evaltool.cli import cli
    from evaltool.cli.profile import profile

    if "profile" not in cli.commands:
        cli.add_command(profile)
    return run_cli


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
