"""A lab's mapping of a profile's working ids to the official ids of the published profile.

The lab holding the published text writes one entry per working id (docs/profile-binding.md):
the official id and title of each threat, OSP, assumption, objective, extended component and SFR,
and, where the official element numbering differs, of an SFR element. ``evaltool profile bind``
checks the mapping (complete, one-to-one) and writes the bound profile.
"""

from __future__ import annotations

from pydantic import Field

from evaltool.model.base import StrictModel

MAPPING_SCHEMA_VERSION = 1

_OFFICIAL_ID = r"^[A-Za-z][A-Za-z0-9_.\-]{0,79}(/[A-Za-z0-9_\-]{1,40})?$"


class OfficialItem(StrictModel):
    """The official id and title of one item."""

    id: str = Field(pattern=_OFFICIAL_ID, description="the id the published profile uses")
    title: str = Field(min_length=1, max_length=300, description="its official title")


class OfficialElement(StrictModel):
    """The official id of an SFR element whose number differs from the derived one."""

    id: str = Field(pattern=_OFFICIAL_ID)


class ProfileMapping(StrictModel):
    """Working id -> official id and title, per kind of item."""

    schema_version: int = Field(MAPPING_SCHEMA_VERSION, ge=1, le=MAPPING_SCHEMA_VERSION)
    binds_profile: str = Field(description="id of the profile whose working ids are mapped")
    binds_profile_version: str | None = Field(None, description="its version, if pinned")
    source: str = Field(min_length=1, max_length=500,
                        description="the official text the ids come from (title, version, date)")
    threats: dict[str, OfficialItem] = Field(default_factory=dict)
    policies: dict[str, OfficialItem] = Field(default_factory=dict)
    assumptions: dict[str, OfficialItem] = Field(default_factory=dict)
    objectives: dict[str, OfficialItem] = Field(default_factory=dict)
    extended_components: dict[str, OfficialItem] = Field(default_factory=dict)
    sfrs: dict[str, OfficialItem] = Field(default_factory=dict)
    elements: dict[str, OfficialElement] = Field(
        default_factory=dict,
        description="only where the official element id is not the official SFR id with the "
                    "working element's number")
