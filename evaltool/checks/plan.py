"""From a profile and a security target to an audit plan, validated before anything runs.

Validation follows what a lab checks in a PP/ST evaluation (CC Part 1 and the APE/ASE classes):
references resolve, every threat is countered, every TOE objective traces to an SFR, SFR
dependencies are met or justified, every check kind exists and its parameters validate, and the ST
fills assignments inside the profile's bounds (it may tighten, never loosen). Every error names the
file and the ``line:column`` of the offending item.

The checks follow the rationale work units of CC:2022 Part 3 / CEM: APE_OBJ.2 (every threat and OSP
is countered, every assumption upheld, every objective traces back to the problem definition),
APE_REQ.2 (every SFR traces to an objective, dependencies satisfied or justified), APE_ECD.1
(extended components defined, their dependencies acyclic) and ASE_REQ.2 (the ST completes the
operations of the PP within what the PP allows).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaltool.checks.registry import CheckParams, CheckType, get, parse_params
from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedEvaluation, LoadedProfile, LoadedST
from evaltool.io.yaml import Located, load_yaml, validate
from evaltool.model.profile import (
    Activity,
    Assignment,
    MethodLibrary,
    ParameterType,
    Profile,
    RequirementArea,
    Tighten,
)

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
    library: MethodLibrary | None = None


@dataclass(frozen=True, slots=True)
class LoadedLibrary:
    """A validated method library with the document it came from."""

    library: MethodLibrary
    doc: Located


def _err(lp: LoadedProfile, loc: tuple[int | str, ...], message: str) -> ProfileError:
    return ProfileError(message, path=lp.doc.path, location=lp.doc.position(loc))


def _near(name: str, known: set[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest known id, or nothing."""
    near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


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
            raise _err(lp, (*loc, "id"), f"duplicate id {item_id!r}")
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
            raise _err(lp, ("objectives", i),
                       f"objective {obj.id} addresses no threat, policy or assumption")
        for j, ref in enumerate(obj.addresses):
            if ref not in problem_ids:
                raise _err(lp, ("objectives", i, "addresses", j),
                           f"objective {obj.id} addresses unknown item {ref!r}"
                           f"{_near(ref, problem_ids)}")
            if obj.scope == "toe" and ref in assumption_ids:
                raise _err(lp, ("objectives", i, "addresses", j),
                           f"TOE objective {obj.id} addresses assumption {ref}; assumptions are "
                           "upheld by objectives for the environment")
        for j, ref in enumerate(obj.sfrs):
            if ref not in sfr_ids:
                raise _err(lp, ("objectives", i, "sfrs", j),
                           f"objective {obj.id} names unknown SFR {ref!r}{_near(ref, sfr_ids)}")
        if obj.scope == "toe" and not obj.sfrs:
            raise _err(lp, ("objectives", i), f"TOE objective {obj.id} traces to no SFR")
        if obj.scope == "environment" and obj.sfrs:
            raise _err(lp, ("objectives", i, "sfrs"),
                       f"objective {obj.id} is for the environment and cannot be met by SFRs")
    countered = {ref for obj in p.objectives for ref in obj.addresses}
    for name, items, verb in (("threats", p.threats, "countered"),
                              ("policies", p.policies, "met"),
                              ("assumptions", p.assumptions, "upheld")):
        for i, item in enumerate(items):
            if item.id not in countered:
                noun = {"threats": "threat", "policies": "policy",
                        "assumptions": "assumption"}[name]
                raise _err(lp, (name, i), f"{noun} {item.id} is {verb} by no objective")
    traced = {ref for obj in p.objectives for ref in obj.sfrs}
    for i, sfr in enumerate(p.sfrs):
        if sfr.id not in traced:
            raise _err(lp, ("sfrs", i), f"SFR {sfr.id} meets no objective (no objective lists it "
                       "in its sfrs)")


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
                raise _err(lp, ("sfrs", i, "dependencies", j),
                           f"{sfr.id} depends on {dep}, which the profile neither includes nor "
                           "justifies in dependency_rationale")
        for key in sfr.dependency_rationale:
            if key not in sfr.dependencies:
                raise _err(lp, ("sfrs", i, "dependency_rationale", key),
                           f"{sfr.id} justifies {key}, which is not one of its dependencies")
        base = _base(sfr.id)
        if sfr.extended:
            comp = ext.get(base)
            if comp is None:
                raise _err(lp, ("sfrs", i), f"extended SFR {sfr.id} has no extended component "
                           f"definition (expected extended_components entry {base!r})")
            missing = [d for d in comp.dependencies if d not in sfr.dependencies]
            if missing:
                raise _err(lp, ("sfrs", i, "dependencies"),
                           f"extended SFR {sfr.id} omits dependency {missing[0]} of its component "
                           "definition")
        elif base in ext:
            raise _err(lp, ("sfrs", i), f"SFR {sfr.id} has an extended component definition but "
                       "is not marked extended: true")
        if not any(el.activities for el in sfr.elements):
            raise _err(lp, ("sfrs", i), f"SFR {sfr.id} has no evaluation activity")
    sar_ids = {s.id for s in p.sars}
    for i, sar in enumerate(p.sars):
        for j, dep in enumerate(sar.dependencies):
            if not _met_hierarchically(dep, sar_ids):
                raise _err(lp, ("sars", i, "dependencies", j),
                           f"{sar.id} depends on {dep}, which the assurance package lacks")
        if not sar.activities:
            raise _err(lp, ("sars", i), f"SAR {sar.id} has no evaluation activity")


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
            for alt in _alternatives(d):
                if alt in deps:
                    visit(alt, [*trail, node])
        state[node] = 2

    for comp in deps:
        visit(comp, [])


def _check_operations(lp: LoadedProfile) -> None:
    """Assignment defaults, conditions and ``{{ st.x }}`` references in element texts resolve."""
    p = lp.profile
    for i, a in enumerate(p.assignments):
        if a.default is not None:
            _checked_value(a, a.default, lambda msg, i=i: _err(
                lp, ("assignments", i, "default"), f"default of {msg}"))
    defined = {a.id for a in p.assignments} | {s.id for s in p.selections}
    sels = {s.id: s for s in p.selections}

    def activities(act_list: tuple[Activity, ...], loc: tuple[int | str, ...]) -> None:
        for k, act in enumerate(act_list):
            for c, cond in enumerate(act.applies_if):
                cloc = (*loc, "activities", k, "applies_if", c)
                sel = sels.get(cond.selection)
                if sel is None:
                    raise _err(lp, (*cloc, "selection"),
                               f"condition refers to undefined selection {cond.selection!r}")
                bad = [v for v in cond.in_ if v not in sel.choices]
                if bad:
                    raise _err(lp, (*cloc, "in"), f"condition value {bad[0]!r} is not a choice of "
                               f"selection {sel.id} ({', '.join(sel.choices)})")

    for i, sfr in enumerate(p.sfrs):
        for j, el in enumerate(sfr.elements):
            for m in _REF.finditer(el.text):
                if m.group(1) not in defined:
                    raise _err(lp, ("sfrs", i, "elements", j, "text"),
                               f"element {el.id} refers to undefined assignment "
                               f"'st.{m.group(1)}'")
            activities(el.activities, ("sfrs", i, "elements", j))
    for i, sar in enumerate(p.sars):
        activities(sar.activities, ("sars", i))


def _library_path(lp: LoadedProfile) -> Path | None:
    ref = lp.profile.test_method_library
    if ref is None:
        return None
    rel = Path(ref)
    if rel.is_absolute() or rel.suffix not in (".yaml", ".yml"):
        raise _err(lp, ("test_method_library",),
                   f"test_method_library must be a relative path to a .yaml file, got {ref!r}")
    return lp.doc.path.parent / rel


def load_library(path: Path) -> LoadedLibrary:
    """Load and check a method library: unique ids, and every named check kind exists."""
    doc = load_yaml(path, error=ProfileError)
    lib = validate(doc, MethodLibrary, error=ProfileError)
    seen: set[str] = set()
    for i, m in enumerate(lib.methods):
        if m.id in seen:
            raise ProfileError(f"duplicate method id {m.id!r}", path=path,
                               location=doc.position(("methods", i, "id")))
        seen.add(m.id)
        for j, kind in enumerate(m.kinds):
            try:
                get(kind)
            except ProfileError as exc:
                raise ProfileError(exc.message, path=path,
                                   location=doc.position(("methods", i, "kinds", j))) from None
    return LoadedLibrary(lib, doc)


def resolve_library(lp: LoadedProfile) -> LoadedLibrary | None:
    """The profile's method library, with every activity's ``test_method`` resolved in it.

    Without a library, ``test_method`` is free text. With one, an unknown id is an error naming
    the nearest ids.
    """
    path = _library_path(lp)
    if path is None:
        return None
    if not path.is_file():
        raise _err(lp, ("test_method_library",), f"test-method library {str(path)!r} not found")
    ll = load_library(path)
    known = {m.id for m in ll.library.methods}
    p = lp.profile
    located: list[tuple[Activity, tuple[int | str, ...]]] = []
    for i, sfr in enumerate(p.sfrs):
        for j, el in enumerate(sfr.elements):
            located += [(a, ("sfrs", i, "elements", j, "activities", k))
                        for k, a in enumerate(el.activities)]
    for i, sar in enumerate(p.sars):
        located += [(a, ("sars", i, "activities", k)) for k, a in enumerate(sar.activities)]
    for act, loc in located:
        if act.test_method is not None and act.test_method not in known:
            near = difflib.get_close_matches(act.test_method, sorted(known), n=2, cutoff=0.6)
            hint = f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""
            raise _err(lp, (*loc, "test_method"),
                       f"activity {act.id} names unknown test method {act.test_method!r} of "
                       f"library {ll.library.id}{hint}")
    return ll


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
    if st.claims_profile_version is not None and st.claims_profile_version != p.version:
        raise ProfileError(
            f"security target claims version {st.claims_profile_version!r} of {p.id}, the "
            f"profile is version {p.version!r}", path=lst.doc.path,
            location=lst.doc.position(("claims_profile_version",)))
    by_id = {a.id: a for a in p.assignments}
    for key, value in st.assignments.items():
        where = lst.doc.position(("assignments", key))
        a = by_id.get(key)
        if a is None:
            near = difflib.get_close_matches(key, sorted(by_id), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ProfileError(f"assignment {key!r} is not defined by profile {p.id}{hint}",
                               path=lst.doc.path, location=where)
        values[key] = _checked_assignment(a, value, lst, where)
    sels = {s.id: s for s in p.selections}
    for key, sval in st.selections.items():
        where = lst.doc.position(("selections", key))
        s = sels.get(key)
        if s is None:
            raise ProfileError(f"selection {key!r} is not defined by profile {p.id}",
                               path=lst.doc.path, location=where)
        chosen = (sval,) if isinstance(sval, str) else tuple(sval)
        if not s.multiple and len(chosen) != 1:
            raise ProfileError(f"selection {key!r} takes exactly one choice", path=lst.doc.path,
                               location=where)
        bad = [c for c in chosen if c not in s.choices]
        if bad:
            raise ProfileError(f"selection {key!r}: {bad[0]!r} is not one of "
                               f"{', '.join(s.choices)}", path=lst.doc.path, location=where)
        values[key] = sval
    unset = [a.id for a in p.assignments if values.get(a.id) is None]
    unset += [s.id for s in p.selections if values.get(s.id) is None]
    if unset:
        raise ProfileError(f"the security target leaves {unset[0]!r} open and the profile gives "
                           "no default", path=lst.doc.path,
                           location=lst.doc.position(("assignments",)))
    return values


def _checked_value(a: Assignment, value: Any, fail: Any) -> Any:
    """``value`` checked against the assignment's type, range and choices (ASE_REQ.2).

    ``fail(message)`` builds the error to raise. A value beyond the bound on the strict side of
    a tightenable assignment is reported as *loosening* that bound.
    """
    if a.type in (ParameterType.FLOAT, ParameterType.INT):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"assignment {a.id!r}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise fail(f"assignment {a.id!r}: {value} is not a finite number")
        if a.type is ParameterType.INT and not float(value).is_integer():
            raise fail(f"assignment {a.id!r}: expected an integer, got {value!r}")
        unit = f" {a.unit}" if a.unit else ""
        if a.min is not None and value < a.min:
            if a.tighten is Tighten.HIGHER:
                raise fail(f"assignment {a.id!r}: {value}{unit} loosens the profile's bound "
                           f"min = {a.min:g}{unit} (a higher value is stricter; an ST may only "
                           "tighten)")
            raise fail(f"assignment {a.id!r}: {value}{unit} is below the profile's range "
                       f"min = {a.min:g}{unit}")
        if a.max is not None and value > a.max:
            if a.tighten is Tighten.LOWER:
                raise fail(f"assignment {a.id!r}: {value}{unit} loosens the profile's bound "
                           f"max = {a.max:g}{unit} (a lower value is stricter; an ST may only "
                           "tighten)")
            raise fail(f"assignment {a.id!r}: {value}{unit} is above the profile's range "
                       f"max = {a.max:g}{unit}")
        return int(value) if a.type is ParameterType.INT else float(value)
    if a.type is ParameterType.BOOL and not isinstance(value, bool):
        raise fail(f"assignment {a.id!r}: expected true or false, got {value!r}")
    if a.type is ParameterType.STRING:
        if not isinstance(value, str):
            raise fail(f"assignment {a.id!r}: expected a string, got {value!r}")
        if a.choices is not None and value not in a.choices:
            raise fail(f"assignment {a.id!r}: {value!r} is not one of the profile's allowed "
                       f"values {', '.join(a.choices)}")
    return value


def _checked_assignment(a: Assignment, value: Any, lst: LoadedST, where: str | None) -> Any:
    return _checked_value(
        a, value, lambda msg: ProfileError(msg, path=lst.doc.path, location=where))


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


def render_text(text: str, values: Mapping[str, Any]) -> str:
    """An element text with its ``{{ st.x }}`` operations filled in (unknown ones left as is)."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if values.get(name) is None:
            return m.group(0)
        v = values[name]
        return ", ".join(v) if isinstance(v, list | tuple) else str(v)

    return _REF.sub(repl, text)


def build_plan(lp: LoadedProfile, lst: LoadedST | None = None) -> Plan:
    """Validate the profile (and ST) completely and resolve every activity and check."""
    check_references(lp)
    library = resolve_library(lp)
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
            unset = sorted(set(_REF.findall(repr(spec.params))) & {
                k for k in defined if values.get(k) is None})
            if unset:
                raise _err(lp, (*cloc, "params"),
                           f"parameter refers to 'st.{unset[0]}', which has no default: a "
                           "security target must fill it")
            try:
                parsed = parse_params(ctype, params)
            except ProfileError as exc:
                raise _err(lp, (*cloc, "params", *exc.param_loc), exc.message) from None
            checks.append(PlannedCheck(f"{act.id}/{c + 1}", ctype, parsed))
        for cond in act.applies_if:
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
    return Plan(p, values, tuple(planned), titles, frozenset(provisional),
                library.library if library is not None else None)


AUTOMATION_AREAS: frozenset[RequirementArea] = frozenset({
    RequirementArea.PROTOCOL, RequirementArea.OPTICAL, RequirementArea.RNG, RequirementArea.AUDIT,
})
"""Areas whose elements should be decided from telemetry (the profile's automation target)."""


@dataclass(frozen=True, slots=True)
class AutomationRatio:
    """How many SFR elements of the given areas have at least one automated activity."""

    automated: int
    total: int
    manual_only: tuple[str, ...]

    @property
    def ratio(self) -> float:
        """automated / total (0 when there is nothing to count)."""
        return self.automated / self.total if self.total else 0.0


def automation_ratio(profile: Profile,
                     areas: frozenset[RequirementArea] = AUTOMATION_AREAS) -> AutomationRatio:
    """Count the elements of SFRs in ``areas`` that an automated check can decide."""
    automated = 0
    manual: list[str] = []
    for sfr in profile.sfrs:
        if sfr.area not in areas:
            continue
        for el in sfr.elements:
            if any(a.method == "automated" for a in el.activities):
                automated += 1
            else:
                manual.append(el.id)
    return AutomationRatio(automated, automated + len(manual), tuple(manual))


def check_evaluation(plan: Plan, lev: LoadedEvaluation) -> None:
    """Check an evaluation input against the plan it will be used with.

    Every attestation names a manual activity of the profile, at most once; every waiver names a
    requirement (SFR or SAR) of the profile and waiver ids are unique.
    """
    ev = lev.evaluation
    manual = {pa.activity.id for pa in plan.activities if pa.activity.method == "manual"}
    automated = {pa.activity.id for pa in plan.activities if pa.activity.method == "automated"}
    seen: set[str] = set()
    for i, att in enumerate(ev.attestations):
        where = lev.doc.position(("attestations", i, "activity"))
        if att.activity in automated:
            raise ProfileError(f"attestation for {att.activity}, which is an automated activity "
                               "(its verdict comes from its checks)", path=lev.doc.path,
                               location=where)
        if att.activity not in manual:
            near = difflib.get_close_matches(att.activity, sorted(manual), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ProfileError(f"attestation for unknown activity {att.activity!r} of profile "
                               f"{plan.profile.id}{hint}", path=lev.doc.path, location=where)
        if att.activity in seen:
            raise ProfileError(f"second attestation for {att.activity}", path=lev.doc.path,
                               location=where)
        seen.add(att.activity)
    requirements = {s.id for s in plan.profile.sfrs} | {s.id for s in plan.profile.sars}
    waiver_ids: set[str] = set()
    for i, w in enumerate(ev.waivers):
        if w.id in waiver_ids:
            raise ProfileError(f"duplicate waiver id {w.id!r}", path=lev.doc.path,
                               location=lev.doc.position(("waivers", i, "id")))
        waiver_ids.add(w.id)
        if w.requirement not in requirements:
            raise ProfileError(f"waiver {w.id} names unknown requirement {w.requirement!r} of "
                               f"profile {plan.profile.id}", path=lev.doc.path,
                               location=lev.doc.position(("waivers", i, "requirement")))


@dataclass(frozen=True, slots=True)
class CrosswalkRow:
    """One requirement of the profile and the library methods its activities use."""

    requirement_id: str
    title: str
    kind: str
    """'SFR' or 'SAR'."""
    groups: tuple[str, ...]
    """Requirement groups (ISO/IEC 23837-1) of the methods used, in first-use order."""
    methods: tuple[str, ...]
    automated: int
    manual: int
    provisional: bool


def crosswalk(profile: Profile, library: MethodLibrary) -> list[CrosswalkRow]:
    """The profile <-> library mapping, derived from the activities' ``test_method`` references.

    Deriving it (rather than keeping a second table) means the crosswalk cannot disagree with what
    the audit actually does.
    """
    by_id = {m.id: m for m in library.methods}
    rows = []
    reqs: list[tuple[str, Any, tuple[Activity, ...], bool]] = [
        ("SFR", s, tuple(a for el in s.elements for a in el.activities), s.provisional)
        for s in profile.sfrs]
    reqs += [("SAR", s, s.activities, False) for s in profile.sars]
    for kind, req, acts, prov in reqs:
        methods = tuple(dict.fromkeys(a.test_method for a in acts if a.test_method in by_id))
        groups = tuple(dict.fromkeys(by_id[m].requirement_group.value for m in methods))
        rows.append(CrosswalkRow(
            requirement_id=req.id, title=req.title, kind=kind, groups=groups, methods=methods,
            automated=sum(a.method == "automated" for a in acts),
            manual=sum(a.method == "manual" for a in acts), provisional=prov))
    return rows
