"""Start-up: commands are imported lazily, and the cheap commands import no numeric library.

Times are measured in ``benchmarks/bench_startup.py``, not here; these tests check the structure
that keeps the start-up short (which modules a process imports), which does not depend on the
machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from evaltool.cli import cli
from evaltool.cli._lazy import LazyGroup
from evaltool.cli.protocol import protocol
from evaltool.cli.rng import rng
from tests.support import REPO

HEAVY = ("numpy", "scipy", "pandas", "numba", "pyarrow", "weasyprint", "matplotlib", "jinja2",
         "evaltool.checks", "evaltool.engines", "evaltool.report")
"""Modules the cheap commands must not import."""

_PROBE = """
import json, sys
from evaltool.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""


def _imported(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """Exit code, stdout and the set of modules imported by ``evaltool ARGV`` in a new process."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True,
                          cwd=REPO, env=full_env, timeout=120, check=False)
    marker = proc.stderr.rindex("MODULES ")
    modules = set(json.loads(proc.stderr[marker + len("MODULES "):]))
    return proc.returncode, proc.stdout, modules


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("argv", [("--version",), ("--help",), ("schema", "results"),
                                  ("rng", "--help"), ("protocol", "--help"),
                                  ("campaign", "--help")])
def test_cheap_commands_import_no_numeric_library(argv: tuple[str, ...]) -> None:
    code, out, modules = _imported(*argv)
    assert code == 0
    assert out.strip()
    assert _heavy(modules) == []
    assert "evaltool.cli.audit" not in modules


def test_validate_registers_checks_without_their_numeric_machinery(tmp_path: Path) -> None:
    code, out, modules = _imported("validate", "profiles/etsi-gs-qkd-016.yaml",
                                   "profiles/iso-iec-23837-2-activities.yaml",
                                   env={"EVALTOOL_CACHE_DIR": str(tmp_path)})
    assert code == 0, out
    assert "valid profile etsi-gs-qkd-016" in out
    assert "valid method library iso-iec-23837-2-activities" in out
    # Every check kind was registered (the profile names many of them) ...
    assert {"evaltool.checks.monitors", "evaltool.checks.sp800_22",
            "evaltool.checks.sp800_90b", "evaltool.checks.leakage"} <= modules
    # ... without scipy, pandas, pyarrow, the numba kernels or the renderer.
    assert sorted(m for m in modules if m.split(".")[0] in (
        "scipy", "pandas", "numba", "pyarrow", "weasyprint", "matplotlib")) == []
    assert sorted(m for m in modules if m.startswith("evaltool.engines.")
                  and ("kernel" in m or m.endswith((".first_level", ".iid", ".non_iid")))) == []


@pytest.mark.parametrize("argv", [("checks", "--json"),
                                  ("profile", "show", "profiles/etsi-gs-qkd-016.yaml")])
def test_listing_checks_and_profiles_loads_no_reader_or_numeric_library(
        argv: tuple[str, ...], tmp_path: Path) -> None:
    code, out, modules = _imported(*argv, env={"EVALTOOL_CACHE_DIR": str(tmp_path)})
    assert code == 0, out
    assert "evaltool.checks.leakage" in modules  # the kinds were registered
    assert sorted(m for m in modules if m.split(".")[0] in (
        "scipy", "pandas", "numba", "pyarrow", "weasyprint", "matplotlib")) == []
    # Check modules name the evidence context and the reader views only for typing.
    assert {"evaltool.checks.context", "evaltool.io.readers"} & modules == set()


def _groups() -> list[tuple[LazyGroup, str]]:
    return [(g, name) for g in (cli, rng, protocol) if isinstance(g, LazyGroup)
            for name in g.lazy]


def test_every_group_is_lazy() -> None:
    assert [g.name for g in (cli, rng, protocol) if isinstance(g, LazyGroup)] == [
        "cli", "rng", "protocol"]
    assert len(_groups()) == 16 + 3 + 3


@pytest.mark.parametrize(("group", "name"), _groups(), ids=lambda v: getattr(v, "name", v))
def test_stored_short_help_equals_the_loaded_commands(group: LazyGroup, name: str) -> None:
    stored = {limit: group.command_help(name, limit) for limit in (30, 45, 80, 200)}
    loaded = group.load(name)
    assert loaded.name == name
    for limit, text in stored.items():
        assert text == loaded.get_short_help_str(limit), (name, limit)
    # The stored text is the whole first paragraph, so a wide terminal shows the same words.
    first = " ".join(click.unstyle(loaded.help or "").split("\n\n")[0].split())
    assert group.lazy[name].short_help == first


def test_help_lists_commands_as_an_eager_group_would() -> None:
    eager = click.Group("cli", params=cli.params, help=cli.help,
                        context_settings=cli.context_settings)
    for name in cli.lazy:
        eager.add_command(cli.load(name), name)
    lazy_help = LazyGroup("cli", params=cli.params, help=cli.help, lazy=cli.lazy,
                          context_settings=cli.context_settings)
    for group in (eager, lazy_help):
        with click.Context(group, info_name="evaltool", max_content_width=100) as ctx:
            text = group.get_help(ctx)
        if group is eager:
            expected = text
    assert text == expected
    assert "verify    Recompute the evaluation recorded in RESULTS.json from BUNDLE..." in text


def test_unknown_command_is_a_usage_error(run_cli) -> None:
    r = run_cli("valdate", "x.yaml")
    assert r.exit_code == 2
    assert "No such command 'valdate'" in r.stderr
