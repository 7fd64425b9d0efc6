"""The assurance data files a profile names, read and checked against the profile.

A profile's ``assurance_files`` names, next to it: a CEM work-unit catalogue (every SAR activity
must then name the work units it answers, each within its component's range, and together the
activities of a SAR must answer every work unit of its component: CEM:2022 R1 asks for all of
them), an AVA_VAN attack catalogue (its SFR references must exist; whether its check kinds exist
is a question for the registry, :func:`evaltool.checks.plan.load_assurance`), and crosswalks to
other standards. Formats and sources: ``docs/assurance.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedProfile
from evaltool.io.yaml import Located, load_yaml, validate
from evaltool.model.assurance import AttackCatalogue, Crosswalk, WorkUnitCatalogue
from evaltool.profile.validate import error_at
from evaltool.suggest import suggest

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_WORK_UNIT = re.compile(r"^([A-Z]{3}_[A-Z]{3}\.[0-9]+)-([0-9]+)(?:\.\.([0-9]+))?$")
"""A work unit ``ADV_FSP.4-5`` or a range of them ``ADV_FSP.4-1..12``."""


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    """A validated assurance document with the YAML it came from (for ``line:column``)."""

    data: T
    doc: Located


@dataclass(frozen=True, slots=True)
class AssuranceData:
    """What the profile's ``assurance_files`` name, loaded and checked against the profile."""

    work_units: Loaded[WorkUnitCatalogue] | None = None
    attacks: Loaded[AttackCatalogue] | None = None
    crosswalks: tuple[Loaded[Crosswalk], ...] = ()

    def crosswalk(self, target: str) -> Crosswalk | None:
        """The crosswalk to ``target`` (its id, e.g. ``iso-iec-19790``), if the profile has one."""
        return next((c.data for c in self.crosswalks if c.data.id == target), None)


def _path(lp: LoadedProfile, loc: tuple[int | str, ...], ref: str) -> Path:
    rel = Path(ref)
    if rel.is_absolute() or rel.suffix not in (".yaml", ".yml") or ".." in rel.parts:
        raise error_at(lp, loc, f"assurance file must be a relative path to a .yaml file next to "
                       f"the profile, got {ref!r}")
    path = lp.doc.path.parent / rel
    if not path.is_file():
        raise error_at(lp, loc, f"assurance file {str(path)!r} not found")
    return path


def read_assurance_file(path: Path, model: type[M]) -> Loaded[M]:
    """Parse one assurance file and check its shape (not yet against a profile)."""
    doc = load_yaml(path, error=ProfileError)
    return Loaded(validate(doc, model, error=ProfileError), doc)


def _at(loaded: Loaded[Any], loc: tuple[int | str, ...], message: str) -> ProfileError:
    return ProfileError(message, path=loaded.doc.path, location=loaded.doc.position(loc))


def expand_work_units(spec: str) -> tuple[str, ...] | None:
    """``ADV_FSP.4-5`` -> itself; ``ADV_FSP.4-1..3`` -> the three ids; ``None`` if malformed."""
    m = _WORK_UNIT.match(spec)
    if m is None:
        return None
    first = int(m.group(2))
    last = int(m.group(3)) if m.group(3) is not None else first
    if first < 1 or last < first:
        return None
    return tuple(f"{m.group(1)}-{n}" for n in range(first, last + 1))


def check_work_units(lp: LoadedProfile, cat: Loaded[WorkUnitCatalogue]) -> None:
    """Every SAR activity answers CEM work units of its own component, and all of them.

    Refused: an activity naming no work unit; a malformed id; a work unit of another component;
    a number beyond the component's last work unit; a SAR whose activities leave work units of
    its component unanswered; a SAR the catalogue has no work units for.
    """
    comps = {c.id: c for c in cat.data.components}
    for i, sar in enumerate(lp.profile.sars):
        comp = comps.get(sar.id)
        if comp is None:
            raise error_at(lp, ("sars", i, "id"),
                           f"SAR {sar.id}: the CEM work-unit catalogue {cat.data.id} has no work "
                           f"units for it{suggest(sar.id, comps, n=2)}")
        known = {wu.id for wu in comp.work_units}
        answered: set[str] = set()
        for k, act in enumerate(sar.activities):
            loc = ("sars", i, "activities", k)
            if not act.work_units:
                raise error_at(lp, loc, f"SAR activity {act.id} answers no CEM work unit "
                               f"(give work_units, e.g. [{sar.id}-1])")
            for j, spec in enumerate(act.work_units):
                ids = expand_work_units(spec)
                if ids is None:
                    raise error_at(lp, (*loc, "work_units", j),
                                   f"{spec!r} is not a work unit id (COMPONENT-N or "
                                   "COMPONENT-N..M, e.g. ADV_FSP.4-1..12)")
                owner = ids[0].rsplit("-", 1)[0]
                if owner != sar.id:
                    raise error_at(lp, (*loc, "work_units", j),
                                   f"work unit {spec} belongs to {owner}, not to {sar.id}")
                beyond = [w for w in ids if w not in known]
                if beyond:
                    raise error_at(lp, (*loc, "work_units", j),
                                   f"work unit {beyond[0]} is outside {sar.id}'s range "
                                   f"({sar.id}-1..{len(comp.work_units)} in "
                                   f"{cat.data.edition})")
                answered.update(ids)
        missing = [wu.id for wu in comp.work_units if wu.id not in answered]
        if missing and sar.activities:
            raise error_at(lp, ("sars", i), f"SAR {sar.id} leaves {len(missing)} CEM work "
                           f"unit(s) unanswered by its activities: {', '.join(missing)}")


def _edition_mismatch(cc_version: str | None, cem_edition: str) -> bool:
    """The CEM edition does not go with the profile's CC edition (CC:2022 <-> CEM:2022, CC 3.1
    <-> CEM 3.1); an unstated or unknown CC version is not judged."""
    for mark in ("2022", "3.1"):
        if cc_version is not None and mark in cc_version:
            return mark not in cem_edition
    return False


def check_attacks(lp: LoadedProfile, cat: Loaded[AttackCatalogue]) -> None:
    """The catalogue serves a SAR of the profile, ids are unique, named SFRs exist."""
    p = lp.profile
    if p.sar(cat.data.component) is None:
        raise _at(cat, ("component",), f"attack catalogue {cat.data.id} serves "
                  f"{cat.data.component}, which profile {p.id} does not include")
    seen: set[str] = set()
    sfr_ids = {s.id for s in p.sfrs}
    for i, attack in enumerate(cat.data.attacks):
        if attack.id in seen:
            raise _at(cat, ("attacks", i, "id"), f"duplicate attack id {attack.id!r}")
        seen.add(attack.id)
        for j, sfr in enumerate(attack.sfrs):
            if p.sfr(sfr) is None:
                raise _at(cat, ("attacks", i, "sfrs", j), f"attack {attack.id} names SFR "
                          f"{sfr!r}, which profile {p.id} does not define"
                          f"{suggest(sfr, sfr_ids, n=2)}")


def check_crosswalk(lp: LoadedProfile, cw: Loaded[Crosswalk]) -> None:
    """Each entry names an SFR of the profile (once) and known areas of the target."""
    p = lp.profile
    areas = {a.id for a in cw.data.areas}
    if len(areas) != len(cw.data.areas):
        dup = next(a.id for k, a in enumerate(cw.data.areas)
                   if a.id in {b.id for b in cw.data.areas[:k]})
        raise _at(cw, ("areas",), f"crosswalk {cw.data.id} lists area {dup!r} twice")
    sfr_ids = {s.id for s in p.sfrs}
    seen: set[str] = set()
    for i, e in enumerate(cw.data.entries):
        if p.sfr(e.sfr) is None:
            raise _at(cw, ("entries", i, "sfr"), f"crosswalk {cw.data.id} names SFR {e.sfr!r}, "
                      f"which profile {p.id} does not define{suggest(e.sfr, sfr_ids, n=2)}")
        if e.sfr in seen:
            raise _at(cw, ("entries", i, "sfr"), f"crosswalk {cw.data.id} lists {e.sfr} twice")
        seen.add(e.sfr)
        for j, a in enumerate(e.areas):
            if a not in areas:
                raise _at(cw, ("entries", i, "areas", j), f"crosswalk {cw.data.id}: {e.sfr} "
                          f"names unknown area {a!r}{suggest(a, areas, n=2)}")


def load_assurance(lp: LoadedProfile) -> AssuranceData:
    """Read and check every assurance file the profile names (nothing if it names none)."""
    files = lp.profile.assurance_files
    if files is None:
        return AssuranceData()
    base = ("assurance_files",)
    wu = at = None
    if files.cem_work_units is not None:
        wu = read_assurance_file(_path(lp, (*base, "cem_work_units"), files.cem_work_units),
                                 WorkUnitCatalogue)
        if _edition_mismatch(lp.profile.cc_version, wu.data.edition):
            raise error_at(lp, (*base, "cem_work_units"),
                           f"the work-unit catalogue is of {wu.data.edition}, but the profile is "
                           f"written against {lp.profile.cc_version}: use the CEM of that edition")
        check_work_units(lp, wu)
    if files.attack_catalogue is not None:
        at = read_assurance_file(_path(lp, (*base, "attack_catalogue"), files.attack_catalogue),
                                 AttackCatalogue)
        check_attacks(lp, at)
    crosswalks: list[Loaded[Crosswalk]] = []
    for k, ref in enumerate(files.crosswalks):
        cw = read_assurance_file(_path(lp, (*base, "crosswalks", k), ref), Crosswalk)
        check_crosswalk(lp, cw)
        if any(c.data.id == cw.data.id for c in crosswalks):
            raise error_at(lp, (*base, "crosswalks", k),
                           f"two crosswalks have the id {cw.data.id!r}")
        crosswalks.append(cw)
    return AssuranceData(wu, at, tuple(crosswalks))
