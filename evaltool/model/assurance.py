"""Assurance data a profile refers to: CEM work units, the AVA_VAN attack catalogue, crosswalks.

- A **work-unit catalogue** lists, per CC Part 3 component, the CEM work units (ids such as
  ``ADV_FSP.4-5``) with evaltool's own one-line summary of each (never the CEM's text) and the CEM
  clause; SAR activities name the work units they answer.
- An **attack catalogue** lists the attacks a vulnerability analysis (AVA_VAN) must consider, each
  with its literature, its attack-potential factors (CEM Annex B.4) and the check kinds that
  cover it or the laboratory test that does. The attack potential is computed here from the
  factor values, never stored, so the rating cannot disagree with the factors.
- A **crosswalk** maps the profile's SFRs to the areas of another standard (ISO/IEC 19790:2012 /
  FIPS 140-3), so evidence can be reused between the two evaluations.

See ``docs/assurance.md`` for the file formats and the sources.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, computed_field, model_validator

from evaltool.model.base import StrictModel

ASSURANCE_SCHEMA_VERSION = 1

_ID = r"^[A-Za-z][A-Za-z0-9_.\-]{0,79}$"
_COMPONENT = r"^[A-Z]{3}_[A-Z]{3}\.[0-9]+$"
_WORK_UNIT = r"^[A-Z]{3}_[A-Z]{3}\.[0-9]+-[0-9]+$"


# --- CEM work units ---------------------------------------------------------------------------


class WorkUnit(StrictModel):
    """One CEM work unit: its id and evaltool's own short summary of what the evaluator does."""

    id: str = Field(pattern=_WORK_UNIT)
    element: str = Field(pattern=r"^[A-Z]{3}_[A-Z]{3}\.[0-9]+\.[0-9]+[EDC]$",
                         description="the evaluator action element it belongs to (ADV_FSP.4.1E)")
    summary: str = Field(min_length=1, max_length=300)


class CemComponent(StrictModel):
    """The work units of one assurance component (one CEM sub-activity)."""

    id: str = Field(pattern=_COMPONENT)
    title: str = Field(min_length=1, max_length=300)
    clause: str = Field(min_length=1, max_length=300, description="where the CEM defines them")
    work_units: tuple[WorkUnit, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered(self) -> CemComponent:
        """Work units are ``<component>-1`` .. ``<component>-n``, in order, none missing."""
        for n, wu in enumerate(self.work_units, start=1):
            if wu.id != f"{self.id}-{n}":
                raise ValueError(f"work unit {n} of {self.id} is {wu.id}, expected {self.id}-{n}")
            if not wu.element.startswith(self.id + "."):
                raise ValueError(f"work unit {wu.id} names element {wu.element} of another "
                                 "component")
        return self


class WorkUnitCatalogue(StrictModel):
    """The CEM work units of the components of an assurance package."""

    schema_version: int = Field(ASSURANCE_SCHEMA_VERSION, ge=1, le=ASSURANCE_SCHEMA_VERSION)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-.]{0,79}$")
    title: str = Field(min_length=1, max_length=300)
    edition: str = Field(min_length=1, max_length=40, description="CEM edition, e.g. CEM:2022 R1")
    source: str = Field(min_length=1, max_length=2000)
    components: tuple[CemComponent, ...] = Field(min_length=1)

    def component(self, component_id: str) -> CemComponent | None:
        """The component ``component_id``, if the catalogue has it."""
        return next((c for c in self.components if c.id == component_id), None)


# --- attack potential (CEM Annex B.4) -----------------------------------------------------------


class ElapsedTime(StrEnum):
    """Time to identify and exploit the attack (CEM Annex B.4, factor 'elapsed time')."""

    DAY = "<=1 day"
    WEEK = "<=1 week"
    TWO_WEEKS = "<=2 weeks"
    MONTH = "<=1 month"
    TWO_MONTHS = "<=2 months"
    THREE_MONTHS = "<=3 months"
    FOUR_MONTHS = "<=4 months"
    FIVE_MONTHS = "<=5 months"
    SIX_MONTHS = "<=6 months"
    MORE = ">6 months"


class Expertise(StrEnum):
    """Specialist expertise of the attacker (CEM Annex B.4)."""

    LAYMAN = "layman"
    PROFICIENT = "proficient"
    EXPERT = "expert"
    MULTIPLE_EXPERTS = "multiple experts"


class Knowledge(StrEnum):
    """Knowledge of the TOE's design and operation the attack needs (CEM Annex B.4)."""

    PUBLIC = "public"
    RESTRICTED = "restricted"
    SENSITIVE = "sensitive"
    CRITICAL = "critical"


class Window(StrEnum):
    """Window of opportunity: access to the TOE the attack needs (CEM Annex B.4)."""

    UNNECESSARY = "unnecessary/unlimited"
    EASY = "easy"
    MODERATE = "moderate"
    DIFFICULT = "difficult"


class Equipment(StrEnum):
    """Equipment the attack needs (CEM Annex B.4); the catalogue says what each means optically."""

    STANDARD = "standard"
    SPECIALISED = "specialised"
    BESPOKE = "bespoke"
    MULTIPLE_BESPOKE = "multiple bespoke"


FACTOR_VALUES: dict[str, dict[str, int]] = {
    "elapsed_time": dict(zip([e.value for e in ElapsedTime],
                             (0, 1, 2, 4, 7, 10, 13, 15, 17, 19), strict=True)),
    "expertise": dict(zip([e.value for e in Expertise], (0, 3, 6, 8), strict=True)),
    "knowledge": dict(zip([e.value for e in Knowledge], (0, 3, 7, 11), strict=True)),
    "window": dict(zip([e.value for e in Window], (0, 1, 4, 10), strict=True)),
    "equipment": dict(zip([e.value for e in Equipment], (0, 4, 7, 9), strict=True)),
}
"""The values CEM Annex B.4 gives each level of each factor (its table of attack-potential
factors). The 'none' window of opportunity (attack not possible) is not a level here: an attack
that cannot be performed is not catalogued."""

RATINGS: tuple[tuple[int, str, str], ...] = (
    (0, "Basic", "no rating"),
    (10, "Enhanced-Basic", "Basic"),
    (14, "Moderate", "Enhanced-Basic"),
    (20, "High", "Moderate"),
    (25, "Beyond High", "High"),
)
"""CEM Annex B.4 rating of a sum of factor values: (lowest value, attack potential required to
exploit the attack, resistance a TOE shows when this attack fails)."""

AttackPotential = Literal["Basic", "Enhanced-Basic", "Moderate", "High", "Beyond High"]


def rating(value: int) -> str:
    """The attack potential required to exploit an attack of this value (CEM Annex B.4)."""
    out = RATINGS[0][1]
    for low, required, _ in RATINGS:
        if value >= low:
            out = required
    return out


class AttackFactors(StrictModel):
    """An attack's level on each CEM Annex B.4 factor; the value and rating are derived."""

    elapsed_time: ElapsedTime
    expertise: Expertise
    knowledge: Knowledge
    window: Window
    equipment: Equipment

    @computed_field  # type: ignore[prop-decorator]
    @property
    def value(self) -> int:
        """Sum of the factor values."""
        return (FACTOR_VALUES["elapsed_time"][self.elapsed_time.value]
                + FACTOR_VALUES["expertise"][self.expertise.value]
                + FACTOR_VALUES["knowledge"][self.knowledge.value]
                + FACTOR_VALUES["window"][self.window.value]
                + FACTOR_VALUES["equipment"][self.equipment.value])

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rating(self) -> str:
        """Attack potential required to exploit the attack."""
        return rating(self.value)


class Citation(StrictModel):
    """A published paper."""

    authors: str = Field(min_length=1, max_length=1000)
    title: str = Field(min_length=1, max_length=500)
    journal: str = Field(min_length=1, max_length=200)
    volume: str | None = Field(None, max_length=40)
    article: str | None = Field(None, max_length=40, description="article number or pages")
    year: int = Field(ge=1970, le=2100)


class Attack(StrictModel):
    """One attack of the catalogue, what covers it, and how hard it is."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    target: Literal["source", "detector", "channel", "module"]
    description: str = Field(min_length=1, max_length=20_000)
    literature: tuple[Citation, ...] = Field(min_length=1)
    factors: AttackFactors
    factors_rationale: str = Field(min_length=1, max_length=20_000,
                                   description="why the attack has these factor levels")
    sfrs: tuple[str, ...] = Field((), description="profile SFRs whose checks or tests counter it")
    checks: tuple[str, ...] = Field(
        (), description="registered check kinds whose evidence shows the attack countered")
    lab_test: str | None = Field(
        None, max_length=20_000,
        description="the laboratory test (AVA_VAN.5 penetration test) the attack needs")

    @model_validator(mode="after")
    def _covered(self) -> Attack:
        if not self.checks and not self.lab_test:
            raise ValueError(f"attack {self.id} is linked to no check kind and is not marked as a "
                             "lab test (give checks, lab_test or both)")
        return self


class FactorLevel(StrictModel):
    """What a level of a factor means for optical implementations."""

    level: str = Field(min_length=1)
    meaning: str = Field(min_length=1, max_length=2000)


class AttackCatalogue(StrictModel):
    """The attacks an AVA_VAN analysis of a QKD module considers."""

    schema_version: int = Field(ASSURANCE_SCHEMA_VERSION, ge=1, le=ASSURANCE_SCHEMA_VERSION)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-.]{0,79}$")
    title: str = Field(min_length=1, max_length=300)
    version: str = Field(min_length=1, max_length=40)
    component: str = Field(pattern=_COMPONENT, description="the SAR it serves (AVA_VAN.5)")
    required_resistance: AttackPotential = Field(
        description="attack potential the TOE must resist (High for AVA_VAN.5)")
    source: str = Field(min_length=1, max_length=2000)
    provisional: bool = False
    equipment: tuple[FactorLevel, ...] = Field(
        min_length=1, description="the CEM equipment levels adapted to optical attacks")
    attacks: tuple[Attack, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _levels(self) -> AttackCatalogue:
        levels = [e.level for e in self.equipment]
        if sorted(levels) != sorted(e.value for e in Equipment):
            raise ValueError("equipment must describe each CEM level exactly once: "
                             f"{', '.join(e.value for e in Equipment)}")
        return self


# --- crosswalks to other standards --------------------------------------------------------------


class CrosswalkArea(StrictModel):
    """A security area of the target standard (its clause number, e.g. ``7.10``)."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
    title: str = Field(min_length=1, max_length=300)
    clause: str = Field(min_length=1, max_length=200)
    note: str = Field("", max_length=2000, description="how the profile relates to the area "
                      "beyond the SFR entries (e.g. the SARs that cover it)")


class CrosswalkEntry(StrictModel):
    """One SFR of the profile and the target standard's areas that cover the same ground."""

    sfr: str
    topic: str = Field(min_length=1, max_length=100,
                       description="the conventional part (self-tests, zeroisation, ...)")
    areas: tuple[str, ...] = Field(min_length=1)
    coverage: Literal["equivalent", "partial"] = Field(
        description="equivalent: the SFR's evidence answers the areas' requirements on the same "
        "subject; partial: it answers part of them, the rest needs the other evaluation")
    reuse: str = Field(min_length=1, max_length=2000,
                       description="what evidence of one evaluation the other can reuse")


class Crosswalk(StrictModel):
    """A mapping of a profile's SFRs to the areas of another standard."""

    schema_version: int = Field(ASSURANCE_SCHEMA_VERSION, ge=1, le=ASSURANCE_SCHEMA_VERSION)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-.]{0,79}$", description="the target, e.g. "
                    "iso-iec-19790 (what `evaltool profile crosswalk --to` takes)")
    title: str = Field(min_length=1, max_length=300)
    source: str = Field(min_length=1, max_length=2000)
    provisional: bool = False
    areas: tuple[CrosswalkArea, ...] = Field(min_length=1)
    entries: tuple[CrosswalkEntry, ...] = Field(min_length=1)

