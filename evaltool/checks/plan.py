"""From a profile and a security target to an audit plan, validated before anything runs.

Validation follows what a lab checks in a PP/ST evaluation (CC Part 1 and the APE/ASE classes):
references resolve, every threat is countered, every TOE objective traces to an SFR, SFR
dependencies are met or justified, every check kind exists and its parameters validate, and the ST
fills assignments inside the profile's bounds (it may tighten, never loosen). Every error names the
file and the ``line:column`` of the offending item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evaltool.checks.registry import CheckParams, CheckType, get, parse_params
from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedProfile, LoadedST
from evaltool.model.profile import Activity, Assignment, ParameterType, Profile, Tighten

_REF = re.compile(r"\{\{\s*st\.([a-z][a-z0-9_]*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class PlannedCheck:
    """One automated check, resolved and with validated parameters."""

    check_id: str
    ctype: CheckType[Any]
    params: CheckParams


@dataclass(frozen=True, slots=True)
class PlannedActivity:
    """An evaluation activity of a requirement, with its applicability decided."""

    requirement_id: str
    element_id: str | None
    activity: Activity
    applicable: bool
    not_applicable_reason: str | None = None
    checks: tuple[PlannedCheck, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything an audit will do, in profile order."""

    profile: Profile
    st_values: Mapping[str, Any]
    activities: tuple[PlannedActivity, ...]
    titles: Mapping[str, str] = field(default_factory=dict)
    provisional: frozenset[str] = frozenset()


def _err(lp: LoadedProfile, loc: tuple[int | str, ...], message: str) -> ProfileError:
    return ProfileError(message, path=lp.doc.path, location=lp.doc.position(loc))


def check_references(lp: LoadedProfile) -> None:
    """Check the profile's internal consistency (ids, traceability, dependencies)."""
    p = lp.profile
    seen: dict[str, tuple[int | str, ...]] = {}

    def unique(item_id: str, loc: tuple[int | str, ...]) -> None:
        if item_id in seen:
            raise _err(lp, (*loc, "id"), f"duplicate id {item_id!r}")
        seen[item_id] = loc

    groups: list[tuple[str, tuple[Any, ...]]] = [
        ("threats", p.threats), ("policies", p.policies), ("assumptions", p.assumptions),
        ("objectives", p.objectives), ("sfrs", p.sfrs), ("sars", p.sars),
        ("extended_components", p.extended_components),
    ]
    for name, items in groups:
        for i, item in enumerate(items):
            unique(item.id, (name, i))
    for i, sfr in enumerate(p.sfrs):
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

    problem_ids = {t.id for t in (*p.threats, *p.policies, *p.assumptions)}
    sfr_ids = {s.id for s in p.sfrs}
    for i, obj in enumerate(p.objectives):
        for j, ref in enumerate(obj.addresses):
            if ref not in problem_ids:
                raise _err(lp, ("objectives", i, "addresses", j),
                           f"objective {obj.id} addresses unknown item {ref!r}")
        for j, ref in enumerate(obj.sfrs):
            if ref not in sfr_ids:
                raise _err(lp, ("objectives", i, "sfrs", j),
                           f"objective {obj.id} names unknown SFR {ref!r}")
        if obj.scope == "toe" and not obj.sfrs:
            raise _err(lp, ("objectives", i), f"TOE objective {obj.id} traces to no SFR")
    countered = {ref for obj in p.objectives for ref in obj.addresses}
    for i, t in enumerate(p.threats):
        if t.id not in countered:
            raise _err(lp, ("threats", i), f"threat {t.id} is countered by no objective")
    for i, pol in enumerate(p.policies):
        if pol.id not in countered:
            raise _err(lp, ("policies", i), f"policy {pol.id} is met by no objective")

    ext_ids = {e.id for e in p.extended_components}
    for i, sfr in enumerate(p.sfrs):
        for j, dep in enumerate(sfr.dependencies):
            if dep not in sfr_ids and dep not in sfr.dependency_rationale:
                raise _err(lp, ("sfrs", i, "dependencies", j),
                           f"{sfr.id} depends on {dep}, which the profile neither includes nor "
                           "justifies in dependency_rationale")
        if sfr.extended and sfr.id.split(".")[0] not in ext_ids and sfr.id not in ext_ids:
            raise _err(lp, ("sfrs", i), f"extended SFR {sfr.id} has no extended component "
                       "definition")
        if not any(el.activities for el in sfr.elements):
            raise _err(lp, ("sfrs", i), f"SFR {sfr.id} has no evaluation activity")
    _check_extended_cycles(lp)


def _check_extended_cycles(lp: LoadedProfile) -> None:
    deps = {e.id: e.dependencies for e in lp.profile.extended_components}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = " -> ".join([*trail[trail.index(node):], node])
            i = next(k for k, e in enumerate(lp.profile.extended_components) if e.id == node)
            raise _err(lp, ("extended_components", i, "dependencies"),
                       f"extended-component dependencies form a cycle: {cycle}")
        state[node] = 1
        for d in deps.get(node, ()):
            if d in deps:
                visit(d, [*trail, node])
        state[node] = 2

    for comp in deps:
        visit(comp, [])


def st_values(lp: LoadedProfile, lst: LoadedST | None) -> dict[str, Any]:
    """Assignment and selection values: the ST's where given, else the profile's defaults."""
    p = lp.profile
    values: dict[str, Any] = {a.id: a.default for a in p.assignments}
    values.update({s.id: s.default for s in p.selections})
    if lst is None:
        return values
    st = lst.st
    if st.claims_profile != p.id:
        raise ProfileError(f"security target claims profile {st.claims_profile!r}, not {p.id!r}",
                           path=lst.doc.path, location=lst.doc.position(("claims_profile",)))
    by_id = {a.id: a for a in p.assignments}
    for key, value in st.assignments.items():
        where = lst.doc.position(("assignments", key))
        a = by_id.get(key)
        if a is None:
            raise ProfileError(f"assignment {key!r} is not defined by profile {p.id}",
                               path=lst.doc.path, location=where)
        values[key] = _checked_assignment(a, value, lst, where)
    sels = {s.id: s for s in p.selections}
    for key, value in st.selections.items():
        where = lst.doc.position(("selections", key))
        s = sels.get(key)
        if s is None:
            raise ProfileError(f"selection {key!r} is not defined by profile {p.id}",
                               path=lst.doc.path, location=where)
        chosen = (value,) if isinstance(value, str) else tuple(value)
        if not s.multiple and len(chosen) != 1:
            raise ProfileError(f"selection {key!r} takes exactly one choice", path=lst.doc.path,
                               location=where)
        bad = [c for c in chosen if c not in s.choices]
        if bad:
            raise ProfileError(f"selection {key!r}: {bad[0]!r} is not one of "
                               f"{', '.join(s.choices)}", path=lst.doc.path, location=where)
        values[key] = value
    return values


def _checked_assignment(a: Assignment, value: Any, lst: LoadedST, where: str | None) -> Any:
    def fail(msg: str) -> ProfileError:
        return ProfileError(f"assignment {a.id!r}: {msg}", path=lst.doc.path, location=where)

    if a.type in (ParameterType.FLOAT, ParameterType.INT):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"expected a number, got {value!r}")
        if a.type is ParameterType.INT and not float(value).is_integer():
            raise fail(f"expected an integer, got {value!r}")
        if a.min is not None and value < a.min:
            kind = "loosens the profile's bound" if a.tighten is Tighten.HIGHER else "is below"
            raise fail(f"{value} {kind} min = {a.min}")
        if a.max is not None and value > a.max:
            kind = "loosens the profile's bound" if a.tighten is Tighten.LOWER else "is above"
            raise fail(f"{value} {kind} max = {a.max}")
        return int(value) if a.type is ParameterType.INT else float(value)
    if a.type is ParameterType.BOOL and not isinstance(value, bool):
        raise fail(f"expected true or false, got {value!r}")
    if a.type is ParameterType.STRING and not isinstance(value, str):
        raise fail(f"expected a string, got {value!r}")
    return value


def _substitute(obj: Any, values: Mapping[str, Any], undefined: list[str]) -> Any:
    if isinstance(obj, str):
        whole = _REF.fullmatch(obj.strip())
        if whole:
            name = whole.group(1)
            if name not in values:
                undefined.append(name)
                return obj
            return values[name]

        def repl(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                undefined.append(m.group(1))
                return m.group(0)
            return str(values[m.group(1)])

        return _REF.sub(repl, obj)
    if isinstance(obj, Mapping):
        return {k: _substitute(v, values, undefined) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_substitute(v, values, undefined) for v in obj]
    return obj


def build_plan(lp: LoadedProfile, lst: LoadedST | None = None) -> Plan:
    """Validate the profile (and ST) completely and resolve every activity and check."""
    check_references(lp)
    values = st_values(lp, lst)
    p = lp.profile
    defined = {a.id for a in p.assignments} | {s.id for s in p.selections}
    planned: list[PlannedActivity] = []
    titles: dict[str, str] = {}
    provisional = {s.id for s in p.sfrs if s.provisional} | (
        {s.id for s in p.sfrs} if p.provisional else set())

    def plan_activity(req: str, element: str | None, act: Activity,
                      loc: tuple[int | str, ...]) -> PlannedActivity:
        checks = []
        for c, spec in enumerate(act.checks):
            cloc = (*loc, "checks", c)
            try:
                ctype = get(spec.kind)
            except ProfileError as exc:
                raise _err(lp, (*cloc, "kind"), exc.message) from None
            undefined: list[str] = []
            params = _substitute(spec.params, {k: values[k] for k in defined}, undefined)
            if undefined:
                raise _err(lp, (*cloc, "params"),
                           f"parameter refers to undefined assignment 'st.{undefined[0]}'")
            try:
                parsed = parse_params(ctype, params)
            except ProfileError as exc:
                raise _err(lp, (*cloc, "params"), exc.message) from None
            checks.append(PlannedCheck(f"{act.id}/{c + 1}", ctype, parsed))
        for k, cond in enumerate(act.applies_if):
            if cond.selection not in {s.id for s in p.selections}:
                raise _err(lp, (*loc, "applies_if", k),
                           f"condition refers to undefined selection {cond.selection!r}")
            chosen = values.get(cond.selection)
            chosen_set = {chosen} if isinstance(chosen, str) else set(chosen or ())
            if not chosen_set & set(cond.in_):
                return PlannedActivity(req, element, act, False, cond.reason, tuple(checks))
        return PlannedActivity(req, element, act, True, None, tuple(checks))

    for i, sfr in enumerate(p.sfrs):
        titles[sfr.id] = sfr.title
        for j, el in enumerate(sfr.elements):
            for k, act in enumerate(el.activities):
                planned.append(plan_activity(sfr.id, el.id, act,
                                             ("sfrs", i, "elements", j, "activities", k)))
    for i, sar in enumerate(p.sars):
        titles[sar.id] = sar.title
        for k, act in enumerate(sar.activities):
            planned.append(plan_activity(sar.id, None, act, ("sars", i, "activities", k)))
    return Plan(p, values, tuple(planned), titles, frozenset(provisional))
