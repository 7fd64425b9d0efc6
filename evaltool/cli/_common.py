"""Helpers shared by the commands: locating profiles, progress display."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from evaltool.errors import ProfileError, UsageError

if TYPE_CHECKING:
    from evaltool.report.outputs import OutputFormat

if TYPE_CHECKING:  # the evaluator imports the checks and their engines: only audit needs it
    from evaltool.evaluate import PhaseTimes

PROFILE_PATH_ENV = "EVALTOOL_PROFILE_PATH"


SHIPPED_PROFILES = Path(__file__).resolve().parents[2] / "profiles"
"""The profiles shipped beside the package in a source checkout (absent from a wheel)."""


def profile_dirs() -> list[Path]:
    """Folders searched for a profile given by id: $EVALTOOL_PROFILE_PATH, ./profiles, and the
    shipped profiles when evaltool runs from a source checkout."""
    dirs = [Path(p) for p in os.environ.get(PROFILE_PATH_ENV, "").split(os.pathsep) if p]
    dirs.append(Path.cwd() / "profiles")
    if SHIPPED_PROFILES.is_dir() and SHIPPED_PROFILES not in (d.resolve() for d in dirs):
        dirs.append(SHIPPED_PROFILES)
    return dirs


def find_profile(name: str) -> Path:
    """A profile given as a path, or as an id found in :func:`profile_dirs`."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    for d in profile_dirs():
        for candidate in (d / f"{name}.yaml", d / f"{name}.yml"):
            if candidate.is_file():
                return candidate
    searched = ", ".join(str(d) for d in profile_dirs())
    raise ProfileError(f"no profile {name!r} found (searched {searched})")


def quiet(ctx: click.Context) -> bool:
    """Whether the root ``--quiet`` option is set."""
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("quiet"))


def debug(ctx: click.Context) -> bool:
    """Whether the root ``--debug`` option (or ``EVALTOOL_DEBUG``) is set."""
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("debug"))


SLOWEST_SHOWN = 5
"""Activities listed by ``--debug`` after the phase times."""


def show_phases(times: PhaseTimes, *, slowest: PhaseTimes | None = None) -> None:
    """Print each phase's wall-clock time (and the slowest activities) on standard error."""
    total = sum(seconds for _, seconds in times.phases)
    for name, seconds in times.phases:
        click.echo(f"phase {name}: {seconds:.3f} s", err=True)
    click.echo(f"phases total: {total:.3f} s", err=True)
    if slowest is not None and slowest.phases:
        ranked = sorted(slowest.phases, key=lambda item: -item[1])[:SLOWEST_SHOWN]
        for name, seconds in ranked:
            click.echo(f"slowest activity {name}: {seconds:.3f} s", err=True)


def argv(ctx: click.Context) -> list[str]:
    """The command line as given to ``main`` (recorded in provenance)."""
    root = ctx.find_root()
    return list(root.obj.get("argv", [])) if root.obj else []


def parse_formats(text: str) -> list[OutputFormat]:
    """The output formats of a comma-separated ``--format`` value."""
    from evaltool.report.outputs import OutputFormat  # imported only by commands writing reports

    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        try:
            out.append(OutputFormat(item))
        except ValueError:
            names = ", ".join(f.value for f in OutputFormat)
            raise UsageError(f"unknown format {item!r} (choose from {names})") from None
    if not out:
        raise UsageError("--format lists no format")
    return out
