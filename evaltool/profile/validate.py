"""A profile's internal consistency, checked before anything runs.

Validation follows the rationale work units of CC:2022 Part 3 / CEM: APE_OBJ.2 (every threat and
OSP is countered, every assumption upheld, every objective traces back to the problem definition),
APE_REQ.2 (every SFR traces to an objective, dependencies satisfied or justified), APE_ECD.1
(extended components defined in the structure of CC Part 2 — family behaviour, management, audit,
elements with ids — every element an SFR uses defined by its component, dependencies acyclic);
the components agree with the declared CC edition's Part 2 catalogue
(:mod:`evaltool.profile.catalogue`); assignment defaults are checked as an ST value would be
(ASE_REQ.2). Every error names the file and the ``line:column`` of the offending item.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedProfile
from evaltool.model.profile import Activity, ComponentElement
from evaltool.profile.catalogue import catalogue
from evaltool.profile.st import ST_REF, checked_value
from evaltool.suggest import suggest


def error_at(lp: LoadedProfile, loc: tuple[int | str, ...], message: str) -> ProfileError:
    """An error in the profile at the item ``loc`` (its ``line:column``)."""
    return ProfileError(message, path=lp.doc.path, location=lp.doc.position(loc))


def _alternatives(dep: str) -> tuple[str, ...]:
    """A dependency written ``A or B`` (CC notation ``[A or B]``) is met by either."""
    return tuple(part.strip() for part in dep.strip("[] ").split(" or ") if part.strip())


def _base(req_id: str) -> str:
    """A component id without its iteration suffix (``FCS_COP.1/AUTH`` -> ``FCS_COP.1``)."""
    return req_id.split("/", 1)[0]


def _met(dep: str, present: set[str]) -> bool:
    return any(alt in present for alt in _alternatives(dep))


_COMPONENT = re.compile(r"^([A-Z]{3}_[A-Z]{3})\.(\d+)$")


def _met_hierarchically(dep: str, present: set[str]) -> bool:
    """A SAR dependency is met by the same or a higher component of its family (CC Part 3)."""
    have: dict[str, int] = {}
    for sid in present:
        m = _COMPONENT.match(sid)
        if m:
            have[m.group(1)] = max(have.get(m.group(1), 0), int(m.group(2)))
    for alt in _alternatives(dep):
        m = _COMPONENT.match(alt)
        if alt in present or (m is not None and have.get(m.group(1), 0) >= int(m.group(2))):
            return True
    return False


def check_references(lp: LoadedProfile) -> None:
    """Check the profile's internal consistency (ids, traceability, dependencies)."""
    p = lp.profile
    seen: dict[str, tuple[int | str, ...]] = {}

    def unique(item_id: str, loc: tuple[int | str, ...]) -> None:
        if item_id in seen:
            raise error_at(lp, (*loc, "id"), f"duplicate id {item_id!r}")
        seen[item_id] = loc

    groups: list[tuple[str, tuple[Any, ...]]] = [
        ("threats", p.threats), ("policies", p.policies), ("assumptions", p.assumptions),
        ("objectives", p.objectives), ("sfrs", p.sfrs), ("sars", p.sars),
        ("extended_components", p.extended_components),
    ]
    for name, items in groups:
        for i, item in enumerate(items):
            if name == "extended_components" and item.id in seen and seen[item.id][0] == "sfrs":
                continue  # an extended SFR and its component definition share the id
            unique(item.id, (name, i))
    for i, sfr in enumerate(p.sfrs):
        for j, alias in enumerate(sfr.aliases):
            unique(alias, ("sfrs", i, "aliases", j))
        for j, el in enumerate(sfr.elements):
            unique(el.id, ("sfrs", i, "elements", j))
            for k, act in enumerate(el.activities):
                unique(act.id, ("sfrs", i, "elements", j, "activities", k))
    for i, sar in enumerate(p.sars):
        for k, act in enumerate(sar.activities):
            unique(act.id, ("sars", i, "activities", k))
    for i, a in enumerate(p.assignments):
        unique(a.id, ("assignments", i))
    for i, s in enumerate(p.selections):
        unique(s.id, ("selections", i))

    _check_traceability(lp)
    _check_extended_definitions(lp)
    _check_cc_edition(lp)
    _check_extended_cycles(lp)
    _check_dependencies(lp)
    _check_operations(lp)


def _check_traceability(lp: LoadedProfile) -> None:
    """APE_OBJ.2 and APE_REQ.2 tracing: problem <-> objectives <-> SFRs, in both directions."""
    p = lp.profile
    threat_ids = {t.id for t in p.threats}
    policy_ids = {t.id for t in p.policies}
    assumption_ids = {t.id for t in p.assumptions}
    problem_ids = threat_ids | policy_ids | assumption_ids
    sfr_ids = {s.id for s in p.sfrs}
    for i, obj in enumerate(p.objectives):
        if not obj.addresses:
            raise error_at(lp, ("objectives", i),
                           f"objective {obj.id} addresses no threat, policy or assumption")
        for j, ref in enumerate(obj.addresses):
            if ref not in problem_ids:
                raise error_at(lp, ("objectives", i, "addresses", j),
                               f"objective {obj.id} addresses unknown item {ref!r}"
                               f"{suggest(ref, problem_ids)}")
            if obj.scope == "toe" and ref in assumption_ids:
                raise error_at(lp, ("objectives", i, "addresses", j),
                               f"TOE objective {obj.id} addresses assumption {ref}; assumptions "
                               "are upheld by objectives for the environment")
        for j, ref in enumerate(obj.sfrs):
            if ref not in sfr_ids:
                raise error_at(lp, ("objectives", i, "sfrs", j),
                               f"objective {obj.id} names unknown SFR {ref!r}"
                               f"{suggest(ref, sfr_ids)}")
        if obj.scope == "toe" and not obj.sfrs:
            raise error_at(lp, ("objectives", i), f"TOE objective {obj.id} traces to no SFR")
        if obj.scope == "environment" and obj.sfrs:
            raise error_at(lp, ("objectives", i, "sfrs"),
                           f"objective {obj.id} is for the environment and cannot be met by SFRs")
    countered = {ref for obj in p.objectives for ref in obj.addresses}
    for name, items, verb in (("threats", p.threats, "countered"),
                              ("policies", p.policies, "met"),
                              ("assumptions", p.assumptions, "upheld")):
        for i, item in enumerate(items):
            if item.id not in countered:
                noun = {"threats": "threat", "policies": "policy",
                        "assumptions": "assumption"}[name]
                raise error_at(lp, (name, i), f"{noun} {item.id} is {verb} by no objective")
    traced = {ref for obj in p.objectives for ref in obj.sfrs}
    for i, sfr in enumerate(p.sfrs):
        if sfr.id not in traced:
            raise error_at(lp, ("sfrs", i), f"SFR {sfr.id} meets no objective (no objective "
                           "lists it in its sfrs)")


def _check_dependencies(lp: LoadedProfile) -> None:
    """APE_REQ.2: SFR and SAR dependencies met or justified; extended SFRs defined (APE_ECD.1)."""
    p = lp.profile
    present = set()
    for sfr in p.sfrs:
        present |= {sfr.id, _base(sfr.id), *sfr.aliases}
    ext = {e.id: e for e in p.extended_components}
    for i, sfr in enumerate(p.sfrs):
        for j, dep in enumerate(sfr.dependencies):
            if not _met(dep, present) and dep not in sfr.dependency_rationale:
                raise error_at(lp, ("sfrs", i, "dependencies", j),
                               f"{sfr.id} depends on {dep}, which the profile neither includes "
                               "nor justifies in dependency_rationale")
        for key in sfr.dependency_rationale:
            if key not in sfr.dependencies:
                raise error_at(lp, ("sfrs", i, "dependency_rationale", key),
                               f"{sfr.id} justifies {key}, which is not one of its dependencies")
        base = _base(sfr.id)
        if sfr.extended:
            comp = ext.get(base)
            if comp is None:
                raise error_at(lp, ("sfrs", i), f"extended SFR {sfr.id} has no extended component "
                               f"definition (expected extended_components entry {base!r})")
            missing = [d for d in comp.dependencies if d not in sfr.dependencies]
            if missing:
                raise error_at(lp, ("sfrs", i, "dependencies"),
                               f"extended SFR {sfr.id} omits dependency {missing[0]} of its "
                               "component definition")
            defined = comp.element_ids()
            for j, el in enumerate(sfr.elements):
                if _base(el.id) not in defined:
                    raise error_at(lp, ("sfrs", i, "elements", j, "id"),
                                   f"element {el.id} of extended SFR {sfr.id} is not defined by "
                                   f"extended component {comp.id} (it defines "
                                   f"{', '.join(defined)})")
        elif base in ext:
            raise error_at(lp, ("sfrs", i), f"SFR {sfr.id} has an extended component definition "
                           "but is not marked extended: true")
        if not any(el.activities for el in sfr.elements):
            raise error_at(lp, ("sfrs", i), f"SFR {sfr.id} has no evaluation activity")
    sar_ids = {s.id for s in p.sars}
    for i, sar in enumerate(p.sars):
        for j, dep in enumerate(sar.dependencies):
            if not _met_hierarchically(dep, sar_ids):
                raise error_at(lp, ("sars", i, "dependencies", j),
                               f"{sar.id} depends on {dep}, which the assurance package lacks")
        if not sar.activities:
            raise error_at(lp, ("sars", i), f"SAR {sar.id} has no evaluation activity")


_ECD_PARTS = (("title", "a title"), ("family_behaviour", "a family behaviour"),
              ("management", "its management functions"), ("audit", "its auditable events"))
"""What CC Part 2 gives for every family and component, required of an extended one."""


def _check_extended_definitions(lp: LoadedProfile) -> None:
    """APE_ECD.1: each extended component is defined as CC Part 2 defines its components."""
    for i, comp in enumerate(lp.profile.extended_components):
        loc: tuple[int | str, ...] = ("extended_components", i)
        m = _COMPONENT.match(comp.id)
        if m is None:
            raise error_at(lp, (*loc, "id"), f"extended component id {comp.id!r} is not of the "
                           "form CLASS_FAMILY.n (e.g. FPT_ODC.1)")
        if comp.family != m.group(1):
            raise error_at(lp, (*loc, "family"), f"extended component {comp.id} names family "
                           f"{comp.family!r}; its id puts it in family {m.group(1)}")
        for key, what in _ECD_PARTS:
            if not getattr(comp, key).strip():
                raise error_at(lp, loc, f"extended component {comp.id} does not state {what} "
                               f"('{key}'), which CC Part 2 gives for every component")
        if not comp.elements:
            raise error_at(lp, loc, f"extended component {comp.id} defines no elements")
        seen: set[str] = set()
        for j, el in enumerate(comp.elements):
            if not isinstance(el, ComponentElement):
                continue
            eloc = (*loc, "elements", j, "id")
            if not el.id.startswith(f"{comp.id}.") or not el.id[len(comp.id) + 1:].isdigit():
                raise error_at(lp, eloc, f"element id {el.id!r} of extended component {comp.id} "
                               f"is not of the form {comp.id}.n")
            if el.id in seen:
                raise error_at(lp, eloc, f"extended component {comp.id} defines element "
                               f"{el.id} twice")
            seen.add(el.id)


def _plain_title(title: str) -> str:
    return title.split("(", 1)[0].strip().casefold()


def _check_cc_edition(lp: LoadedProfile) -> None:
    """Components agree with the declared edition's Part 2 catalogue (CC Part 1: a component
    of Part 2 is used as such; any other is an extended component with a definition)."""
    p = lp.profile
    if p.cc_version is None:
        return
    cat = catalogue(p.cc_version.value)
    for i, comp in enumerate(p.extended_components):
        if cat.has(comp.id):
            raise error_at(lp, ("extended_components", i, "id"),
                           f"{comp.id} is a component of {cat.source}, the profile's declared "
                           f"edition {cat.edition}; it cannot be defined as an extended component")
    for i, sfr in enumerate(p.sfrs):
        base = _base(sfr.id)
        if sfr.extended and cat.has(base):
            raise error_at(lp, ("sfrs", i, "extended"),
                           f"{sfr.id} is marked extended, but {base} is a component of "
                           f"{cat.source} (declared edition {cat.edition})")
        if sfr.extended:
            continue
        if not cat.has(base):
            alias = next((a for a in sfr.aliases if cat.has(a)), None)
            hint = (f"; under {cat.edition} use {alias}, its alias" if alias is not None
                    else "; define it as an extended component")
            raise error_at(lp, ("sfrs", i, "id"),
                           f"{base} is not a component of {cat.source}, the profile's declared "
                           f"edition {cat.edition}{hint}")
        title = cat.title(base)
        if title is not None and _plain_title(sfr.title) != _plain_title(title):
            raise error_at(lp, ("sfrs", i, "title"),
                           f"{base} is '{title}' in {cat.edition}, not '{sfr.title}': the SFR "
                           "uses the component with another edition's meaning")


def _check_extended_cycles(lp: LoadedProfile) -> None:
    deps = {e.id: e.dependencies for e in lp.profile.extended_components}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = " -> ".join([*trail[trail.index(node):], node])
            i = next(k for k, e in enumerate(lp.profile.extended_components) if e.id == node)
            raise error_at(lp, ("extended_components", i, "dependencies"),
                           f"extended-component dependencies form a cycle: {cycle}")
        state[node] = 1
        for d in deps.get(node, ()):
            for alt in _alternatives(d):
                if alt in deps:
                    visit(alt, [*trail, node])
        state[node] = 2

    for comp in deps:
        visit(comp, [])


def _bad_default(lp: LoadedProfile, i: int, message: str) -> ProfileError:
    return error_at(lp, ("assignments", i, "default"), f"default of {message}")


def _check_operations(lp: LoadedProfile) -> None:
    """Assignment defaults, conditions and ``{{ st.x }}`` references in element texts resolve."""
    p = lp.profile
    for i, a in enumerate(p.assignments):
        if a.default is not None:
            checked_value(a, a.default, partial(_bad_default, lp, i))
    defined = {a.id for a in p.assignments} | {s.id for s in p.selections}
    sels = {s.id: s for s in p.selections}

    def activities(act_list: tuple[Activity, ...], loc: tuple[int | str, ...]) -> None:
        for k, act in enumerate(act_list):
            for c, cond in enumerate(act.applies_if):
                cloc = (*loc, "activities", k, "applies_if", c)
                sel = sels.get(cond.selection)
                if sel is None:
                    raise error_at(lp, (*cloc, "selection"),
                                   f"condition refers to undefined selection {cond.selection!r}")
                bad = [v for v in cond.in_ if v not in sel.choices]
                if bad:
                    raise error_at(lp, (*cloc, "in"), f"condition value {bad[0]!r} is not a "
                                   f"choice of selection {sel.id} ({', '.join(sel.choices)})")

    for i, sfr in enumerate(p.sfrs):
        for j, el in enumerate(sfr.elements):
            for m in ST_REF.finditer(el.text):
                if m.group(1) not in defined:
                    raise error_at(lp, ("sfrs", i, "elements", j, "text"),
                                   f"element {el.id} refers to undefined assignment "
                                   f"'st.{m.group(1)}'")
            activities(el.activities, ("sfrs", i, "elements", j))
    for i, sar in enumerate(p.sars):
        activities(sar.activities, ("sars", i))
