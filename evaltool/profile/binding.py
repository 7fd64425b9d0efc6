"""Binding a profile's working ids to the official ones (docs/profile-binding.md).

:func:`check_mapping` checks a lab's mapping against the profile: every working id has an entry
(complete), every entry names a working id of its kind, and no two items end up with one id, nor
an item with the id of another item of the profile (one-to-one). :func:`bind` then renames every
id and every reference to it (objectives' traces, dependencies, element and activity ids, texts)
and records the binding, so an audit with the bound profile shows only official ids. Errors name
the mapping file's ``line:column`` (or the profile's, for an item the mapping leaves out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltool.errors import ProfileError
from evaltool.io.files import sha256_file
from evaltool.io.profiles import LoadedEvaluation, LoadedProfile
from evaltool.io.yaml import Located, load_yaml, validate
from evaltool.model.binding import ProfileMapping
from evaltool.model.profile import Binding, EvaluationInput, IdStatus, Profile
from evaltool.profile.identity import ItemKind, items
from evaltool.suggest import suggest

_NOUN: dict[str, str] = {
    "threats": "threat", "policies": "policy", "assumptions": "assumption",
    "objectives": "objective", "extended_components": "extended component", "sfrs": "SFR",
    "elements": "SFR element",
}
_COMPONENT = re.compile(r"^([A-Z][A-Z0-9]*_[A-Z0-9]+)\.(\d+)$")


@dataclass(frozen=True, slots=True)
class LoadedMapping:
    """A mapping file, its shape validated, with its document (for positions) and hash."""

    mapping: ProfileMapping
    doc: Located
    sha256: str


def load_mapping(path: Path) -> LoadedMapping:
    """Parse and validate the shape of a mapping file."""
    doc = load_yaml(path, error=ProfileError)
    return LoadedMapping(validate(doc, ProfileMapping, error=ProfileError), doc,
                         sha256_file(path)[0])


def _split(req_id: str) -> tuple[str, str | None]:
    base, _, iteration = req_id.partition("/")
    return base, iteration or None


def _element_id(el_id: str, sfr_id: str, official_sfr: str) -> str:
    """The official id of element ``el_id`` of SFR ``sfr_id`` once the SFR is ``official_sfr``:
    the official component id, the working element's number, the official iteration."""
    base, _ = _split(sfr_id)
    el_base, _ = _split(el_id)
    number = el_base[len(base) + 1:] if el_base.startswith(f"{base}.") else el_base
    obase, oiter = _split(official_sfr)
    return f"{obase}.{number}" + (f"/{oiter}" if oiter else "")


def _activity_prefix(el_id: str) -> str:
    """The prefix of an element's activity ids (``FCS_CKM.1.1/QKD`` -> ``FCS_CKM.1.1-QKD``)."""
    return el_id.replace("/", "-")


def _err(lm: LoadedMapping, loc: tuple[int | str, ...], message: str) -> ProfileError:
    return ProfileError(message, path=lm.doc.path, location=lm.doc.position(loc))


def check_mapping(lp: LoadedProfile, lm: LoadedMapping) -> dict[str, str]:
    """Check ``lm`` against the profile; return the complete renaming (working -> official).

    The renaming covers items, SFR elements (derived unless the mapping names them) and the
    element prefixes of activity ids.
    """
    p, m = lp.profile, lm.mapping
    if m.binds_profile != p.id:
        raise _err(lm, ("binds_profile",), f"mapping binds profile {m.binds_profile!r}, not "
                   f"{p.id!r}")
    if m.binds_profile_version is not None and m.binds_profile_version != p.version:
        raise _err(lm, ("binds_profile_version",), f"mapping binds version "
                   f"{m.binds_profile_version!r} of {p.id}, the profile is version {p.version!r}")
    all_items = list(items(p))
    kind_of: dict[str, ItemKind] = {}
    for kind, item_id, _, _ in all_items:
        if kind != "elements" or item_id not in kind_of:
            kind_of.setdefault(item_id, kind)
    working = {(kind, item_id): loc for kind, item_id, status, loc in all_items
               if status is IdStatus.WORKING}
    groups: dict[str, dict[str, Any]] = {
        "threats": m.threats, "policies": m.policies, "assumptions": m.assumptions,
        "objectives": m.objectives, "extended_components": m.extended_components,
        "sfrs": m.sfrs, "elements": m.elements}
    # Every entry names a working id of its kind.
    for group, entries in groups.items():
        for key in entries:
            if (group, key) in working:
                continue
            entry: tuple[int | str, ...] = (group, key)
            if key in kind_of and kind_of[key] != group:
                raise _err(lm, entry, f"{key} is a {_NOUN[kind_of[key]]} of {p.id}, not a "
                           f"{_NOUN[group]}: move its entry to '{kind_of[key]}'")
            if key in kind_of:
                raise _err(lm, entry, f"{key} is not a working id of {p.id} (it is a CC or "
                           "official id): nothing to bind")
            candidates = [i for (g, i) in working if g == group]
            raise _err(lm, entry, f"unknown {_NOUN[group]} {key!r} of {p.id}"
                       f"{suggest(key, candidates)}")
    # Complete: every working item other than an element has an entry.
    for (kind, item_id), loc in working.items():
        if kind == "elements" or item_id in groups[kind]:
            continue
        ploc = lp.doc.position(loc)
        where: tuple[int | str, ...] = (kind,) if kind in lm.doc.data else ()
        raise _err(lm, where, f"the mapping has no entry for {_NOUN[kind]} {item_id} "
                   f"({lp.doc.path}:{ploc}); every working id needs its official id")
    # The renaming, elements derived from their SFR unless named.
    rename: dict[str, str] = {}
    origin: dict[str, tuple[int | str, ...]] = {}
    for group, entries in groups.items():
        for key, official in entries.items():
            rename[key] = official.id
            origin[key] = (group, key, "id")
    for sfr in p.sfrs:
        if sfr.id not in m.sfrs:
            continue
        for el in sfr.elements:
            if el.id not in m.elements:
                rename[el.id] = _element_id(el.id, sfr.id, m.sfrs[sfr.id].id)
                origin[el.id] = ("sfrs", sfr.id, "id")
    for comp in p.extended_components:
        if comp.id not in m.extended_components:
            continue
        for el_id in comp.element_ids():
            if el_id not in rename:
                rename[el_id] = _element_id(el_id, comp.id, m.extended_components[comp.id].id)
                origin[el_id] = ("extended_components", comp.id, "id")
    # An extended SFR and its component definition share their id, so their official ids agree.
    for sfr in p.sfrs:
        base = _split(sfr.id)[0]
        if sfr.extended and sfr.id in m.sfrs and base in m.extended_components:
            official_base = _split(m.sfrs[sfr.id].id)[0]
            if official_base != m.extended_components[base].id:
                raise _err(lm, ("extended_components", base, "id"),
                           f"SFR {sfr.id} becomes {official_base}, "
                           f"its extended component {base} becomes "
                           f"{m.extended_components[base].id}: they must agree")
    # One-to-one: no official id twice, none equal to an id the binding leaves in place.
    taken: dict[str, str] = {}
    kept = {item_id for _, item_id, status, _ in all_items if status is not IdStatus.WORKING}
    kept |= {s.id for s in p.sars}
    for working_id, official_id in rename.items():
        other = taken.get(official_id)
        if other is not None and other != working_id:
            raise _err(lm, origin[working_id], f"official id {official_id} is given to both "
                       f"{other} and {working_id}: the mapping must be one-to-one")
        if official_id in kept and official_id != working_id:
            raise _err(lm, origin[working_id], f"official id {official_id} of {working_id} is "
                       f"already the id of another item of {p.id}")
        taken[official_id] = working_id
    element_ids = {el.id for s in p.sfrs for el in s.elements}
    for working_id, official_id in list(rename.items()):
        if working_id in element_ids:
            rename[_activity_prefix(working_id)] = _activity_prefix(official_id)
    return rename


def _renamer(rename: dict[str, str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(rename, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_.])(?:{alternatives})(?![A-Za-z0-9_/])")


def _rewrite(obj: Any, pattern: re.Pattern[str], rename: dict[str, str]) -> Any:
    if isinstance(obj, str):
        return pattern.sub(lambda mt: rename[mt.group(0)], obj)
    if isinstance(obj, dict):
        return {_rewrite(k, pattern, rename): _rewrite(v, pattern, rename)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rewrite(v, pattern, rename) for v in obj]
    return obj


def bind(lp: LoadedProfile, lm: LoadedMapping) -> Profile:
    """The profile with every working id replaced by its official id and title."""
    rename = check_mapping(lp, lm)
    m = lm.mapping
    data = lp.profile.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    titles = {key: official.title for group in (
        m.threats, m.policies, m.assumptions, m.objectives, m.extended_components, m.sfrs)
        for key, official in group.items()}
    for group in ("threats", "policies", "assumptions", "objectives", "extended_components",
                  "sfrs"):
        for item in data.get(group, []):
            if item["id"] in titles:
                item["title"] = titles[item["id"]]
                item["id_status"] = IdStatus.OFFICIAL.value
                item.pop("provisional", None)
    data = _rewrite(data, _renamer(rename), rename)
    for comp in data.get("extended_components", []):
        match = _COMPONENT.match(comp["id"])
        if match:
            comp["family"] = match.group(1)
    data["binding"] = Binding(mapping=lm.doc.path.name, mapping_sha256=lm.sha256,
                              source=m.source).model_dump(mode="json")
    data["ids"] = IdStatus.OFFICIAL.value
    data.pop("provisional", None)
    return Profile.model_validate(data)


def bind_assurance_files(lp: LoadedProfile, bound: Profile, rename: dict[str, str], out: Path
                         ) -> tuple[Profile, list[tuple[Path, bytes]]]:
    """The assurance files of ``bound`` (docs/assurance.md) for the bound profile at ``out``:
    each is written beside ``out`` as ``<out stem>.<file name>`` (assurance files live next to
    their profile), bound like the profile when it names working ids (the attack catalogue's and
    the crosswalks' SFRs), byte for byte otherwise (the CEM work units: CC ids only). Returns
    the profile with its new references and the files to write."""
    files = bound.assurance_files
    if files is None:
        return bound, []
    pattern = _renamer(rename)
    writes: list[tuple[Path, bytes]] = []

    def one(ref: str) -> str:
        src = (lp.doc.path.parent / ref).resolve()
        data = load_yaml(src, error=ProfileError).data
        renamed = _rewrite(data, pattern, rename)
        target = out.parent / f"{out.stem}.{src.name}"
        writes.append((target, src.read_bytes() if renamed == data else dump_yaml(
            renamed, f"# {src.name} bound with {bound.binding.mapping if bound.binding else ''} "
                     "by `evaltool profile bind`\n").encode()))
        return target.name

    update = files.model_copy(update={
        "cem_work_units": None if files.cem_work_units is None else one(files.cem_work_units),
        "attack_catalogue": None if files.attack_catalogue is None
        else one(files.attack_catalogue),
        "crosswalks": tuple(one(c) for c in files.crosswalks),
    })
    return bound.model_copy(update={"assurance_files": update}), writes


def dump_profile(profile: Profile, source: LoadedProfile) -> str:
    """``profile`` as YAML, headed by a comment naming the profile and mapping it came from."""
    binding = profile.binding
    head = (f"# {profile.id} {profile.version} bound to {binding.source}\n"
            f"# written by `evaltool profile bind` from {source.doc.path.name} and "
            f"{binding.mapping} (SHA-256 {binding.mapping_sha256})\n") if binding else ""
    return dump_yaml(profile.model_dump(mode="json", by_alias=True, exclude_defaults=True), head)


def bind_evaluation(lev: LoadedEvaluation, rename: dict[str, str]) -> EvaluationInput:
    """An evaluation input with the activity ids of its attestations, the requirement ids of its
    waivers and ids named in its texts renamed as :func:`bind` renames the profile."""
    data = lev.evaluation.model_dump(mode="json", exclude_defaults=True)
    return EvaluationInput.model_validate(_rewrite(data, _renamer(rename), rename))


def dump_yaml(data: Any, head: str = "") -> str:
    """``data`` (plain JSON-like values) as block-style YAML after the comment lines ``head``."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 100
    buf = io.StringIO()
    yaml.dump(data, buf)
    return head + buf.getvalue()
