"""What a profile's activities cover: the automation ratio and the crosswalk to its method library,
and what a crosswalk to another standard (ISO/IEC 19790) covers per area of that standard.

The first two are derived from the activities (their ``method`` and ``test_method``), so they
cannot disagree with what an audit does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaltool.model.assurance import Crosswalk, CrosswalkArea, CrosswalkEntry
from evaltool.model.profile import Activity, MethodLibrary, Profile, RequirementArea

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


@dataclass(frozen=True, slots=True)
class AreaRow:
    """One area of a crosswalk's target standard and the profile SFRs mapped to it."""

    area: CrosswalkArea
    entries: tuple[CrosswalkEntry, ...]


def area_rows(cw: Crosswalk) -> list[AreaRow]:
    """Each area of the target standard, in its order, with the entries that name it.

    An area without entries is kept: the crosswalk then says (in the area's note) what covers it
    instead, e.g. the SARs for ISO/IEC 19790 §7.11.
    """
    return [AreaRow(a, tuple(e for e in cw.entries if a.id in e.areas)) for a in cw.areas]
