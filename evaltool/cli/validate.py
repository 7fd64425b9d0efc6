"""``evaltool validate``: check profiles, security targets, evaluation inputs and bundles."""

from __future__ import annotations

from pathlib import Path

import click

from evaltool.checks.plan import build_plan
from evaltool.cli._common import profile_dirs
from evaltool.errors import ProfileError
from evaltool.io.bundle import load_bundle
from evaltool.io.profiles import (
    LoadedProfile,
    detect_document,
    load_evaluation_input,
    load_profile,
    load_security_target,
)


def _profile_for(st_profile: str, given: dict[str, LoadedProfile]) -> LoadedProfile | None:
    if st_profile in given:
        return given[st_profile]
    for d in profile_dirs():
        for candidate in (d / f"{st_profile}.yaml", d / f"{st_profile}.yml"):
            if candidate.is_file():
                return load_profile(candidate)
    return None


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Validate FILES (profiles, security targets, evaluation inputs, bundles) without auditing.

    Errors name the file, line and column. A security target is validated against the profile it
    claims (given on the same command line, or found in ./profiles).
    """
    kinds = {f: detect_document(f) for f in files}
    profiles: dict[str, LoadedProfile] = {}
    for f in files:
        if kinds[f] == "profile":
            lp = load_profile(f)
            build_plan(lp)
            profiles[lp.profile.id] = lp
            click.echo(f"{f}: valid profile {lp.profile.id} {lp.profile.version}")
    for f in files:
        kind = kinds[f]
        if kind == "security-target":
            lst = load_security_target(f)
            claimed = _profile_for(lst.st.claims_profile, profiles)
            if claimed is None:
                raise ProfileError(f"claimed profile {lst.st.claims_profile!r} not found; give it "
                                   "on the command line", path=f)
            build_plan(claimed, lst)
            click.echo(f"{f}: valid security target {lst.st.id} for {claimed.profile.id}")
        elif kind == "evaluation":
            load_evaluation_input(f)
            click.echo(f"{f}: valid evaluation input")
        elif kind == "bundle":
            b = load_bundle(f)
            click.echo(f"{f}: valid bundle ({len(b.files)} evidence files)")
