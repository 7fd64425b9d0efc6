"""``evaltool profile``: read a protection profile: one requirement in full, the crosswalks (to
the ISO/IEC 23837-2 method library or to ISO/IEC 19790), or the AVA_VAN attack catalogue."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from evaltool.checks.plan import Plan, PlannedActivity, build_plan
from evaltool.cli._common import find_profile
from evaltool.errors import UsageError
from evaltool.io.profiles import load_profile, load_security_target
from evaltool.model.profile import MethodLibrary
from evaltool.profile.assurance import expand_work_units
from evaltool.profile.coverage import area_rows, automation_ratio, crosswalk
from evaltool.profile.identity import identity
from evaltool.profile.st import render_text
from evaltool.suggest import suggest

DEFAULT_PROFILE = "etsi-gs-qkd-016"


def _plan(name: str, st_path: Path | None) -> Plan:
    lp = load_profile(find_profile(name))
    lst = load_security_target(st_path) if st_path is not None else None
    return build_plan(lp, lst)


def _wrap(text: str, indent: str, width: int = 96) -> list[str]:
    words = " ".join(text.split()).split(" ")
    lines: list[str] = []
    line = indent
    for w in words:
        if len(line) + len(w) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += w + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _params(params: Any) -> str:
    dumped = params.model_dump(mode="json", exclude_unset=True)
    return json.dumps(dumped, separators=(", ", ": "), sort_keys=False)


def _method_title(library: MethodLibrary | None, method_id: str | None) -> str:
    if method_id is None:
        return "-"
    m = library.method(method_id) if library is not None else None
    return f"{method_id} ({m.title})" if m is not None else method_id


def _activity_lines(pa: PlannedActivity, plan: Plan) -> list[str]:
    act = pa.activity
    out = [f"    activity {act.id} [{act.method}] {act.title}",
           f"      test method: {_method_title(plan.library, act.test_method)}"]
    if not pa.applicable:
        out.append(f"      not applicable under the ST: {pa.not_applicable_reason}")
    out.extend(f"      applies if {cond.selection} in [{', '.join(cond.in_)}]"
               for cond in act.applies_if)
    for pc in pa.checks:
        out.append(f"      check {pc.check_id}: {pc.ctype.kind}")
        out.append(f"        params: {_params(pc.params)}")
        out.append(f"        ref: {pc.ctype.standard_ref}")
    if act.evidence:
        out.append(f"      evidence examined: {', '.join(act.evidence)}")
    if act.work_units:
        out.append(f"      work units: {', '.join(act.work_units)}")
        cat = plan.assurance.work_units
        if cat is not None:
            units = {wu.id: wu for comp in cat.data.components for wu in comp.work_units}
            for spec in act.work_units:
                for wid in expand_work_units(spec) or ():
                    wu = units.get(wid)
                    if wu is not None:
                        out += _wrap(f"{wid} [{wu.element}] {wu.summary}", "        ")
    if act.guidance:
        out += _wrap(f"guidance: {act.guidance}", "      ")
    return out


def _show_requirement(plan: Plan, req_id: str) -> list[str]:
    p = plan.profile
    sfr = p.sfr(req_id)
    sar = p.sar(req_id) if sfr is None else None
    if sfr is None and sar is None:
        ids = [s.id for s in p.sfrs] + [s.id for s in p.sars]
        raise UsageError(f"profile {p.id} has no requirement {req_id!r}"
                         f"{suggest(req_id, ids, n=3)}")
    values: Mapping[str, Any] = plan.st_values
    acts = [pa for pa in plan.activities
            if pa.requirement_id == (sfr.id if sfr is not None else req_id)]
    if sfr is not None:
        flags = [f for f, on in (("extended", sfr.extended), ("provisional id", sfr.provisional))
                 if on]
        out = [f"{sfr.id}  {sfr.title}" + (f"  [{', '.join(flags)}]" if flags else "")]
        if sfr.aliases:
            out.append(f"  also known as: {', '.join(sfr.aliases)}")
        if sfr.area is not None:
            out.append(f"  area: {sfr.area.value}")
        ecd = next((e for e in p.extended_components if e.id == sfr.id.split("/", 1)[0]), None)
        if sfr.extended and ecd is not None:
            out += _wrap(f"extended component {ecd.id} (family {ecd.family}): {ecd.description}",
                         "  ")
        out.append(f"  dependencies: {', '.join(sfr.dependencies) or 'none'}")
        for dep, why in sfr.dependency_rationale.items():
            out += _wrap(f"{dep} not included: {why}", "    ")
        objs = [o.id for o in p.objectives if sfr.id in o.sfrs]
        out.append(f"  meets objectives: {', '.join(objs) or 'none'}")
        threats = sorted({a for o in p.objectives if sfr.id in o.sfrs for a in o.addresses})
        out.append(f"  counters / enforces: {', '.join(threats) or 'none'}")
        for el in sfr.elements:
            out.append(f"  element {el.id}")
            out += _wrap(render_text(el.text, values), "    ")
            out += [line for pa in acts if pa.element_id == el.id
                    for line in _activity_lines(pa, plan)]
    else:
        assert sar is not None
        out = [f"{sar.id}  {sar.title}" + ("  [augmentation]" if sar.augmented else ""),
               f"  dependencies: {', '.join(sar.dependencies) or 'none'}"]
        out += [line for pa in acts for line in _activity_lines(pa, plan)]
    return out


def _summary(plan: Plan) -> list[str]:
    p = plan.profile
    ratio = automation_ratio(p)
    n_el = sum(len(s.elements) for s in p.sfrs)
    out = [f"{p.id} {p.version}: {p.title}" + ("  [provisional]" if p.provisional else ""),
           f"  scheme: {p.scheme or '-'}", f"  CC version: {p.cc_version or '-'}",
           f"  assurance package: {p.assurance_package or '-'}",
           *([f"  models: {p.reference.title} {p.reference.version} ({p.reference.date})"
              + (f", {p.reference.certification_id}" if p.reference.certification_id else "")]
             if p.reference is not None else []),
           f"  conformance: {p.conformance or '-'}",
           f"  ids: {identity(p).statement}",
           f"  threats {len(p.threats)}, policies {len(p.policies)}, assumptions "
           f"{len(p.assumptions)}, objectives {len(p.objectives)}",
           f"  SFRs {len(p.sfrs)} ({n_el} elements, "
           f"{sum(s.extended for s in p.sfrs)} extended), SARs {len(p.sars)}",
           f"  activities {len(plan.activities)} "
           f"({sum(pa.activity.method == 'automated' for pa in plan.activities)} automated)",
           f"  automated protocol/optical/RNG/audit elements: {ratio.automated} of {ratio.total}"
           f" ({100 * ratio.ratio:.0f} %)"]
    a = plan.assurance
    if a.work_units is not None:
        n_wu = sum(len(c.work_units) for c in a.work_units.data.components)
        out.append(f"  CEM work units: {n_wu} ({a.work_units.data.edition}), answered by the "
                   "SAR activities")
    if a.attacks is not None:
        cat = a.attacks.data
        out.append(f"  {cat.component} attack catalogue: {len(cat.attacks)} attacks "
                   f"({sum(x.factors.value < 25 for x in cat.attacks)} below Beyond High)")
    if a.crosswalks:
        out.append(f"  crosswalks: {', '.join(c.data.id for c in a.crosswalks)}")
    out += ["", "  objective -> SFRs"]
    for o in p.objectives:
        target = ", ".join(o.sfrs) if o.sfrs else "(environment)"
        out.append(f"    {o.id} [{', '.join(o.addresses)}] -> {target}")
    return out


@click.group()
def profile() -> None:
    """Inspect protection profiles: requirements, activities, checks and the crosswalk."""


@profile.command()
@click.argument("name", default=DEFAULT_PROFILE)
@click.option("--sfr", "requirement", help="Show one SFR or SAR (e.g. FCS_CKM.1) in full.")
@click.option("--st", "st_path", type=click.Path(path_type=Path),
              help="Fill the assignments from this security target.")
def show(name: str, requirement: str | None, st_path: Path | None) -> None:
    """Show profile NAME (a file or an id in ./profiles), or one of its requirements.

    An SFR given without its iteration (FCS_CKM.1) shows every iteration (FCS_CKM.1/QKD).
    """
    plan = _plan(name, st_path)
    if requirement is None:
        click.echo("\n".join(_summary(plan)))
        return
    p = plan.profile
    if p.sfr(requirement) is None and p.sar(requirement) is None:
        iterations = [s.id for s in p.sfrs if s.id.split("/", 1)[0] == requirement]
        if iterations:
            blocks = ["\n".join(_show_requirement(plan, rid)) for rid in iterations]
            click.echo("\n\n".join(blocks))
            return
    click.echo("\n".join(_show_requirement(plan, requirement)))


@profile.command("crosswalk")
@click.argument("name", default=DEFAULT_PROFILE)
@click.option("--to", "target", metavar="TARGET",
              help="Another standard the profile has a crosswalk to (e.g. iso-iec-19790); "
                   "default: the profile's ISO/IEC 23837-2 method library.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def crosswalk_cmd(name: str, target: str | None, as_json: bool) -> None:
    """Print the mapping between profile NAME and its ISO/IEC 23837-2 method library.

    Rows are the profile's requirements with the 23837-1 requirement group and the 23837-2
    methods their activities use; then every method with the requirements that use it.
    With --to iso-iec-19790: the ISO/IEC 19790:2012 / FIPS 140-3 security areas and the
    profile's conventional SFRs mapped to each, then every mapped SFR with the evidence to reuse.
    """
    plan = _plan(name, None)
    if target is not None and (plan.library is None or target != plan.library.id):
        _other_crosswalk(plan, target, as_json)
        return
    if plan.library is None:
        raise UsageError(f"profile {plan.profile.id} names no test_method_library")
    lib = plan.library
    rows = crosswalk(plan.profile, lib)
    used: dict[str, list[str]] = {m.id: [] for m in lib.methods}
    for r in rows:
        for m in r.methods:
            used[m].append(r.requirement_id)
    if as_json:
        click.echo(json.dumps({
            "profile": plan.profile.id, "library": lib.id,
            "requirements": [{"id": r.requirement_id, "kind": r.kind, "title": r.title,
                              "groups": list(r.groups), "methods": list(r.methods),
                              "automated": r.automated, "manual": r.manual,
                              "provisional": r.provisional} for r in rows],
            "methods": [{"id": m.id, "group": m.group.value,
                         "requirement_group": m.requirement_group.value,
                         "used_by": used[m.id]} for m in lib.methods],
        }, indent=2))
        return
    click.echo(f"{plan.profile.id} {plan.profile.version} <-> {lib.id} {lib.version}"
               + ("  (working ids, provisional)" if lib.provisional else ""))
    click.echo("")
    w = max(len(r.requirement_id) for r in rows) + 1
    gw = max(len(", ".join(r.groups)) for r in rows) + 1
    click.echo(f"{'requirement':<{w}} {'23837-1 group':<{gw}} {'auto/manual':<11} "
               "23837-2 methods")
    for r in rows:
        rid = r.requirement_id + ("*" if r.provisional else "")
        groups = ", ".join(r.groups) or "-"
        click.echo(f"{rid:<{w}} {groups:<{gw}} {r.automated:>4}/{r.manual:<6} "
                   f"{', '.join(r.methods) or '-'}")
    click.echo("")
    click.echo("23837-2 method -> GS QKD 016 requirements")
    mw = max(len(meth.id) for meth in lib.methods) + 1
    for meth in lib.methods:
        click.echo(f"{meth.id:<{mw}} {meth.group.value:<16} "
                   f"{', '.join(used[meth.id]) or '(not used)'}")
    click.echo("")
    click.echo("* requirement id provisional (working id, not verified against the PP text)")


def _other_crosswalk(plan: Plan, target: str, as_json: bool) -> None:
    """``profile crosswalk --to TARGET``: a crosswalk file the profile names."""
    cw = plan.assurance.crosswalk(target)
    if cw is None:
        known = [c.data.id for c in plan.assurance.crosswalks]
        if plan.library is not None:
            known.append(plan.library.id)
        raise UsageError(f"profile {plan.profile.id} has no crosswalk to {target!r} (it has: "
                         f"{', '.join(known) or 'none'}){suggest(target, known, n=2)}")
    rows = area_rows(cw)
    if as_json:
        click.echo(json.dumps({
            "profile": plan.profile.id, "crosswalk": cw.id, "title": cw.title,
            "provisional": cw.provisional,
            "areas": [{"id": r.area.id, "title": r.area.title, "clause": r.area.clause,
                       "note": r.area.note, "sfrs": [e.sfr for e in r.entries]} for r in rows],
            "sfrs": [{"id": e.sfr, "topic": e.topic, "areas": list(e.areas),
                      "coverage": e.coverage, "reuse": e.reuse} for e in cw.entries],
        }, indent=2))
        return
    click.echo(f"{plan.profile.id} {plan.profile.version} <-> {cw.id}: {cw.title}"
               + ("  (provisional)" if cw.provisional else ""))
    click.echo("")
    aw = max(len(r.area.id) for r in rows) + 1
    tw = max(len(r.area.title) for r in rows) + 1
    click.echo(f"{'area':<{aw}} {'title':<{tw}} profile SFRs (= equivalent, ~ partial)")
    for r in rows:
        sfrs = ", ".join(e.sfr + ("=" if e.coverage == "equivalent" else "~")
                         for e in r.entries)
        click.echo(f"{r.area.id:<{aw}} {r.area.title:<{tw}} {sfrs or '-'}")
        if not r.entries and r.area.note:
            click.echo("\n".join(_wrap(r.area.note, " " * (aw + tw + 2))))
    click.echo("")
    sw = max(len(e.sfr) for e in cw.entries) + 1
    pw = max(len(e.topic) for e in cw.entries) + 1
    click.echo(f"{'SFR':<{sw}} {'topic':<{pw}} {'coverage':<11} areas")
    for e in cw.entries:
        click.echo(f"{e.sfr:<{sw}} {e.topic:<{pw}} {e.coverage:<11} {', '.join(e.areas)}")


@profile.command("attacks")
@click.argument("name", default=DEFAULT_PROFILE)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the computed values).")
@click.option("--verbose", "-v", is_flag=True,
              help="Also print each attack's description, literature, rationale and lab test.")
def attacks_cmd(name: str, as_json: bool, verbose: bool) -> None:
    """List the AVA_VAN attack catalogue of profile NAME with each attack's attack potential.

    The value is the sum of the CEM Annex B.4 values of the attack's factor levels (elapsed
    time, expertise, knowledge of the TOE, window of opportunity, equipment) and the rating is
    the attack potential it takes; an attack below the resistance the SAR requires must be
    countered by the TOE. 'covered by' lists the check kinds that decide it and/or 'lab test'.
    """
    plan = _plan(name, None)
    loaded = plan.assurance.attacks
    if loaded is None:
        raise UsageError(f"profile {plan.profile.id} names no attack catalogue "
                         "(assurance_files.attack_catalogue)")
    cat = loaded.data
    if as_json:
        click.echo(json.dumps(cat.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    click.echo(f"{cat.id} {cat.version} for {cat.component}: {cat.title}"
               + ("  (provisional)" if cat.provisional else ""))
    click.echo(f"required resistance: {cat.required_resistance} attack potential "
               "(attacks rated below Beyond High must be countered)")
    click.echo("")
    iw = max(len(a.id) for a in cat.attacks) + 1
    click.echo(f"{'attack':<{iw}} {'time':<10} {'expertise':<17} {'knowledge':<10} "
               f"{'window':<22} {'equipment':<17} {'value':>5} {'rating':<14} covered by")
    for a in cat.attacks:
        f = a.factors
        cover = [*a.checks, *(["lab test"] if a.lab_test else [])]
        click.echo(f"{a.id:<{iw}} {f.elapsed_time.value:<10} {f.expertise.value:<17} "
                   f"{f.knowledge.value:<10} {f.window.value:<22} {f.equipment.value:<17} "
                   f"{f.value:>5} {f.rating:<14} {', '.join(cover)}")
        if verbose:
            lines = _wrap(a.description, "    ")
            lines += [f"    SFRs: {', '.join(a.sfrs) or '-'}"]
            lines += _wrap(f"factors: {a.factors_rationale}", "    ")
            if a.lab_test:
                lines += _wrap(f"lab test: {a.lab_test}", "    ")
            lines += [f"    - {c.authors} {c.title}. {c.journal}"
                      + (f" {c.volume}" if c.volume else "")
                      + (f", {c.article}" if c.article else "") + f" ({c.year})"
                      for c in a.literature]
            click.echo("\n".join(lines))
    counted = sum(a.factors.value < 25 for a in cat.attacks)
    click.echo("")
    click.echo(f"{len(cat.attacks)} attacks, {counted} rated below Beyond High (to be countered); "
               f"{sum(bool(a.checks) for a in cat.attacks)} covered by check kinds, "
               f"{sum(a.lab_test is not None for a in cat.attacks)} needing a lab test")
@profile.command("bind")
@click.argument("name")
@click.argument("mapping", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="File to write the bound profile to.")
@click.option("--evaluation", "evaluation", type=click.Path(path_type=Path, dir_okay=False),
              help="An evaluation input written for the unbound profile, to bind as well.")
@click.option("--evaluation-out", "evaluation_out",
              type=click.Path(path_type=Path, dir_okay=False),
              help="File to write the bound evaluation input to (with --evaluation).")
def bind_cmd(name: str, mapping: Path, out: Path, evaluation: Path | None,
             evaluation_out: Path | None) -> None:
    """Bind profile NAME's working ids to the official ones listed in MAPPING.

    The mapping (docs/profile-binding.md; `evaltool schema profile-mapping`) gives the official
    id and title of every working id; it must be complete and one-to-one (errors name its line
    and column). The bound profile, written to --out, uses only official ids, so an audit with it
    shows no working id in any output. An evaluation input given with --evaluation gets the same
    renaming (attested activities, waived requirements) and is written to --evaluation-out.
    """
    import os

    from evaltool.atomic import write_atomic
    from evaltool.checks.plan import build_plan as plan_of
    from evaltool.io.profiles import load_evaluation_input
    from evaltool.io.profiles import load_profile as load
    from evaltool.profile.binding import (
        bind,
        bind_assurance_files,
        bind_evaluation,
        check_mapping,
        dump_profile,
        dump_yaml,
        load_mapping,
    )
    from evaltool.profile.evaluation import check_evaluation

    if (evaluation is None) != (evaluation_out is None):
        raise UsageError("--evaluation and --evaluation-out go together")
    lp = load(find_profile(name))
    plan_of(lp)
    lm = load_mapping(mapping)
    lev = load_evaluation_input(evaluation) if evaluation is not None else None
    if lev is not None:
        check_evaluation(lp.profile, lev)
    bound = bind(lp, lm)
    if bound.test_method_library is not None:
        # The library stays where it is; the bound profile refers to it from its own folder.
        library = (lp.doc.path.parent / bound.test_method_library).resolve()
        rel = os.path.relpath(library, out.parent.resolve())
        bound = bound.model_copy(update={"test_method_library": rel})
    bound, assurance = bind_assurance_files(lp, bound, check_mapping(lp, lm), out)
    for path, data in assurance:
        write_atomic(path, data)
    write_atomic(out, dump_profile(bound, lp).encode())
    plan = plan_of(load(out))
    click.echo(f"{out}: profile {bound.id} {bound.version} bound to {lm.mapping.source}")
    if lev is not None and evaluation_out is not None:
        bound_ev = bind_evaluation(lev, check_mapping(lp, lm))
        write_atomic(evaluation_out, dump_yaml(
            bound_ev.model_dump(mode="json", exclude_defaults=True),
            f"# {evaluation.name if evaluation else ''} bound with {mapping.name} by "
            "`evaltool profile bind`\n").encode())
        check_evaluation(plan.profile, load_evaluation_input(evaluation_out))
        click.echo(f"{evaluation_out}: evaluation input bound")
