"""``evaltool validate``: check profiles, security targets, evaluation inputs and bundles."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from evaltool.checks.plan import Plan, build_plan, check_attack_kinds, load_library
from evaltool.cli._common import profile_dirs
from evaltool.errors import ProfileError
from evaltool.io.profiles import (
    LoadedProfile,
    detect_document,
    load_evaluation_input,
    load_profile,
    load_security_target,
)
from evaltool.io.yaml import load_yaml
from evaltool.model.assurance import AttackCatalogue, Crosswalk, WorkUnitCatalogue
from evaltool.profile.assurance import AssuranceData, read_assurance_file
from evaltool.profile.evaluation import check_evaluation


def _profile_for(st_profile: str, given: dict[str, LoadedProfile]) -> LoadedProfile | None:
    if st_profile in given:
        return given[st_profile]
    for d in profile_dirs():
        for candidate in (d / f"{st_profile}.yaml", d / f"{st_profile}.yml"):
            if candidate.is_file():
                return load_profile(candidate)
    return None


def document_kind(path: Path) -> str:
    """What ``path`` holds: 'method-library', an assurance file ('cem-work-units',
    'attack-catalogue', 'crosswalk') or one of :func:`detect_document`'s kinds."""
    if path.is_file() and path.suffix in (".yaml", ".yml") and path.name != "bundle.yaml":
        doc = load_yaml(path, error=ProfileError)
        if isinstance(doc.data, Mapping) and "methods" in doc.data and "sfrs" not in doc.data:
            return "method-library"
        if isinstance(doc.data, Mapping) and "sfrs" not in doc.data:
            if "attacks" in doc.data:
                return "attack-catalogue"
            if "entries" in doc.data and "areas" in doc.data:
                return "crosswalk"
            if "components" in doc.data and "edition" in doc.data:
                return "cem-work-units"
        if isinstance(doc.data, Mapping) and "binds_profile" in doc.data:
            return "profile-mapping"
        return detect_document(path, doc)
    return detect_document(path)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Validate FILES (profiles, security targets, method libraries, evaluation inputs, bundles).

    Also a profile's assurance files alone (CEM work units, attack catalogue, crosswalk;
    docs/assurance.md): their shape, and the attack catalogue's check kinds.

    Errors name the file, line and column. A security target is validated against the profile it
    claims (given on the same command line, or found in ./profiles), and so is a profile mapping
    against the profile it binds: complete and one-to-one (docs/profile-binding.md). An
    evaluation input is also checked against the plan when exactly one profile is given:
    attestations must name manual activities and waivers requirements of that profile.
    """
    kinds = {f: document_kind(f) for f in files}
    profiles: dict[str, LoadedProfile] = {}
    plans: list[Plan] = []
    for f in files:
        if kinds[f] == "profile":
            lp = load_profile(f)
            plans.append(build_plan(lp))
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
        elif kind == "profile-mapping":
            from evaltool.profile.binding import check_mapping, load_mapping

            lm = load_mapping(f)
            bound = _profile_for(lm.mapping.binds_profile, profiles)
            if bound is None:
                raise ProfileError(f"bound profile {lm.mapping.binds_profile!r} not found; give "
                                   "it on the command line", path=f)
            rename = check_mapping(bound, lm)
            items = sum(len(g) for g in (lm.mapping.threats, lm.mapping.policies,
                                         lm.mapping.assumptions, lm.mapping.objectives,
                                         lm.mapping.extended_components, lm.mapping.sfrs))
            click.echo(f"{f}: valid mapping of {bound.profile.id} ({items} items, "
                       f"{len(rename)} ids renamed)")
        elif kind == "method-library":
            ll = load_library(f)
            click.echo(f"{f}: valid method library {ll.library.id} {ll.library.version} "
                       f"({len(ll.library.methods)} methods)")
        elif kind == "attack-catalogue":
            at = read_assurance_file(f, AttackCatalogue)
            check_attack_kinds(AssuranceData(attacks=at))
            click.echo(f"{f}: valid attack catalogue {at.data.id} {at.data.version} "
                       f"({len(at.data.attacks)} attacks)")
        elif kind == "crosswalk":
            cw = read_assurance_file(f, Crosswalk)
            click.echo(f"{f}: valid crosswalk {cw.data.id} ({len(cw.data.entries)} SFRs, "
                       f"{len(cw.data.areas)} areas)")
        elif kind == "cem-work-units":
            wu = read_assurance_file(f, WorkUnitCatalogue)
            n = sum(len(c.work_units) for c in wu.data.components)
            click.echo(f"{f}: valid CEM work-unit catalogue {wu.data.id} "
                       f"({len(wu.data.components)} components, {n} work units)")
        elif kind == "evaluation":
            lev = load_evaluation_input(f)
            if len(plans) == 1:
                check_evaluation(plans[0].profile, lev)
                click.echo(f"{f}: valid evaluation input for {plans[0].profile.id}")
            else:
                click.echo(f"{f}: valid evaluation input")
        elif kind == "bundle":
            from evaltool.io.bundle import load_bundle  # pandas and pyarrow only for bundles

            b = load_bundle(f)
            click.echo(f"{f}: valid bundle ({len(b.files)} evidence files)")
