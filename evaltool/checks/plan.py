"""From a profile and a security target to an audit plan, validated before anything runs.

The profile's own consistency and the ST's values are checked by :mod:`evaltool.profile`; here
every check kind an activity or a method-library entry names is resolved in the registry and its
parameters, with the ST's values substituted, are validated against the kind's model. Every error
names the file and the ``line:column`` of the offending item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaltool.checks.registry import CheckParams, CheckType, get, parse_params
from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedProfile, LoadedST
from evaltool.model.profile import Activity, MethodLibrary, Profile
from evaltool.profile.assurance import AssuranceData, load_assurance
from evaltool.profile.library import (
    LoadedLibrary,
    check_test_methods,
    library_path,
    read_library,
)
from evaltool.profile.st import ST_REF, st_values, substitute
from evaltool.profile.validate import check_references, error_at


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
    assurance: AssuranceData = field(default_factory=AssuranceData)
    st_given: frozenset[str] | None = None
    """Assignments and selections the security target gave; ``None`` without an ST."""


def check_attack_kinds(data: AssuranceData) -> None:
    """Every check kind the attack catalogue links an attack to is registered."""
    if data.attacks is None:
        return
    cat = data.attacks
    for i, attack in enumerate(cat.data.attacks):
        for j, kind in enumerate(attack.checks):
            try:
                get(kind)
            except ProfileError as exc:
                raise ProfileError(f"attack {attack.id}: {exc.message}", path=cat.doc.path,
                                   location=cat.doc.position(("attacks", i, "checks", j))
                                   ) from None


def load_library(path: Path) -> LoadedLibrary:
    """Load and check a method library: unique ids, and every named check kind exists."""
    ll = read_library(path)
    for i, m in enumerate(ll.library.methods):
        for j, kind in enumerate(m.kinds):
            try:
                get(kind)
            except ProfileError as exc:
                raise ProfileError(exc.message, path=path,
                                   location=ll.doc.position(("methods", i, "kinds", j))) from None
    return ll


def build_plan(lp: LoadedProfile, lst: LoadedST | None = None) -> Plan:
    """Validate the profile (and ST) completely and resolve every activity and check."""
    check_references(lp)
    path = library_path(lp)
    library = load_library(path) if path is not None else None
    if library is not None:
        check_test_methods(lp, library)
    assurance = load_assurance(lp)
    check_attack_kinds(assurance)
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
                raise error_at(lp, (*cloc, "kind"), exc.message) from None
            undefined: list[str] = []
            params = substitute(spec.params, {k: values[k] for k in defined}, undefined)
            if undefined:
                raise error_at(lp, (*cloc, "params"),
                               f"parameter refers to undefined assignment 'st.{undefined[0]}'")
            unset = sorted(set(ST_REF.findall(repr(spec.params))) & {
                k for k in defined if values.get(k) is None})
            if unset:
                raise error_at(lp, (*cloc, "params"),
                               f"parameter refers to 'st.{unset[0]}', which has no default: a "
                               "security target must fill it")
            try:
                parsed = parse_params(ctype, params)
            except ProfileError as exc:
                raise error_at(lp, (*cloc, "params", *exc.param_loc), exc.message) from None
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
    given = (None if lst is None
             else frozenset(lst.st.assignments) | frozenset(lst.st.selections))
    return Plan(p, values, tuple(planned), titles, frozenset(provisional),
                library.library if library is not None else None, assurance, given)
