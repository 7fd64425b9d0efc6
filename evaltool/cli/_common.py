"""Helpers shared by the commands: locating profiles, progress display."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from evaltool.errors import ProfileError, UsageError

if TYPE_CHECKING:
    from evaltool.report.outputs import OutputFormat

PROFILE_PATH_ENV = "EVALTOOL_PROFILE_PATH"


def profile_dirs() -> list[Path]:
    """Folders searched for a profile given by id: $EVALTOOL_PROFILE_PATH, ./profiles."""
    dirs = [Path(p) for p in os.environ.get(PROFILE_PATH_ENV, "").split(os.pathsep) if p]
    dirs.append(Path.cwd() / "profiles")
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
