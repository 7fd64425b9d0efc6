"""What a profile is, and how far its ids and wording are official (docs/profile-identity.md).

A profile modelled without the published text carries evaltool's working ids; each item's status
is its own ``id_status`` if set, ``working`` if it is marked ``provisional``, ``cc`` for a CC Part
2/3 component used without iteration, else the profile's default ``ids``. The same rules decide
which ids a binding must map (:mod:`evaltool.profile.binding`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from evaltool.model.profile import SAR, SFR, ExtendedComponent, Identified, IdStatus, Profile
from evaltool.model.results import ProfileIdentity

ItemKind = Literal["threats", "policies", "assumptions", "objectives", "sfrs", "elements",
                   "extended_components"]
"""The kinds of item a binding maps, named as in the profile and the mapping file."""


def id_status(profile: Profile, item: Identified | SFR | SAR | ExtendedComponent) -> IdStatus:
    """The status of ``item``'s id under the rules of the module docstring."""
    if isinstance(item, SAR):
        return IdStatus.CC
    if item.id_status is not None:
        return item.id_status
    if item.provisional:
        return IdStatus.WORKING
    if isinstance(item, SFR) and not item.extended and "/" not in item.id:
        return IdStatus.CC
    return profile.ids


def items(profile: Profile) -> Iterator[tuple[ItemKind, str, IdStatus, tuple[int | str, ...]]]:
    """Every bindable item: its kind, id, id status and location in the profile.

    An element has the status of its SFR (its id is the SFR's component id and a number).
    """
    groups: tuple[tuple[ItemKind, tuple[Identified, ...]], ...] = (
        ("threats", profile.threats), ("policies", profile.policies),
        ("assumptions", profile.assumptions), ("objectives", profile.objectives))
    for kind, group in groups:
        for i, it in enumerate(group):
            yield kind, it.id, id_status(profile, it), (kind, i)
    for i, comp in enumerate(profile.extended_components):
        yield "extended_components", comp.id, id_status(profile, comp), (
            "extended_components", i)
    for i, sfr in enumerate(profile.sfrs):
        status = id_status(profile, sfr)
        yield "sfrs", sfr.id, status, ("sfrs", i)
        for j, el in enumerate(sfr.elements):
            yield "elements", el.id, status, ("sfrs", i, "elements", j)


def working_ids(profile: Profile) -> list[tuple[ItemKind, str]]:
    """The working ids of ``profile`` with their kinds (what a binding must replace); an
    extended SFR and its component definition appear once each."""
    return [(kind, item_id) for kind, item_id, status, _ in items(profile)
            if status is IdStatus.WORKING]


def identity(profile: Profile) -> ProfileIdentity:
    """What results.json and the report's cover say about the profile and its ids."""
    counts = {s.value: 0 for s in IdStatus}
    for _, _, status, _ in items(profile):
        counts[status.value] += 1
    counts["cc"] += len(profile.sars)
    ref = profile.reference
    working = counts[IdStatus.WORKING.value]
    if profile.binding is not None:
        statement = (f"Ids bound to the official text ({profile.binding.source}) with mapping "
                     f"{profile.binding.mapping}.")
    elif working:
        statement = (f"{working} ids are evaltool working ids, not the official ids of the "
                     "published profile; a lab holding the text binds them with "
                     "evaltool profile bind.")
    else:
        statement = "Every id is an official or a CC component id."
    if profile.wording.value == "summary":
        statement += (" Titles and requirement texts are evaltool's summaries, not the "
                      "profile's wording.")
    return ProfileIdentity(
        id=profile.id, version=profile.version, title=profile.title,
        reference_title=ref.title if ref else None,
        reference_version=ref.version if ref else None,
        reference_date=ref.date if ref else None,
        certification_id=ref.certification_id if ref else None,
        cc_edition=profile.cc_version.value if profile.cc_version else None,
        conformance=profile.conformance.value if profile.conformance else None,
        assurance_package=profile.assurance_package,
        id_counts=counts, wording=profile.wording.value,
        bound_to=profile.binding.source if profile.binding else None,
        statement=statement)
