"""The CC Part 2 component ids of each CC edition (data: ``data/cc-part2-catalogue.yaml``).

A profile declares the edition it is written against (``cc_version``); validation then knows
which components are CC Part 2 components and which must be defined as extended components
(CC:2022 Part 1, clause on extended components; APE_ECD.1). Sources and the entries still to be
checked against the edition's text are named in the data file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from evaltool.errors import ProfileError
from evaltool.io.yaml import load_yaml, to_plain

CATALOGUE_PATH = Path(__file__).parent / "data" / "cc-part2-catalogue.yaml"

_COMPONENT = re.compile(r"^([A-Z]{3}_[A-Z]{3})\.(\d+)$")


@dataclass(frozen=True, slots=True)
class Part2Catalogue:
    """The functional components of one CC edition's Part 2."""

    edition: str
    source: str
    families: dict[str, int]
    titles: dict[str, str]
    unverified: frozenset[str]

    def has(self, component: str) -> bool:
        """Whether ``component`` (no iteration suffix) is a Part 2 component of the edition."""
        m = _COMPONENT.match(component)
        return m is not None and 1 <= int(m.group(2)) <= self.families.get(m.group(1), 0)

    def title(self, component: str) -> str | None:
        """The component's title where the catalogue records it (components whose meaning
        differs between editions)."""
        return self.titles.get(component)


@cache
def catalogues() -> dict[str, Part2Catalogue]:
    """Every edition's catalogue; an edition ``based_on`` another adds to and overrides it."""
    raw = to_plain(load_yaml(CATALOGUE_PATH, error=ProfileError).data)["editions"]
    out: dict[str, Part2Catalogue] = {}
    for name in sorted(raw, key=lambda n: "based_on" in raw[n]):
        entry = raw[name]
        base = out.get(entry["based_on"]) if "based_on" in entry else None
        families = {**(base.families if base else {}), **entry["families"]}
        titles = {**(base.titles if base else {}), **entry.get("titles", {})}
        out[name] = Part2Catalogue(name, entry["source"], families, titles,
                                   frozenset(entry.get("unverified", ())))
    return out


def catalogue(edition: str) -> Part2Catalogue:
    """The catalogue of ``edition`` (one of :class:`evaltool.model.profile.CCEdition`)."""
    return catalogues()[edition]
