"""Protection profiles, security targets and evaluation inputs as data (modelled on NIAP PP XML).

A profile states the security problem (threats, policies, assumptions), the objectives that answer
it, the SFRs and SARs, and for each SFR element the evaluation activities: automated checks (a
registered kind and its parameters) or manual evaluator attestations. Parameters may refer to the
security target's assignments as ``{{ st.<name> }}``. The model knows no check kind: params stay an
untyped mapping here and are validated against the registry by ``checks.registry``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, model_validator

from evaltool.model.base import StrictModel

PROFILE_SCHEMA_VERSION = 1

_ID = r"^[A-Za-z][A-Za-z0-9_.\-]{0,79}$"


class Identified(StrictModel):
    """An item of the security problem or objectives."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    provisional: bool = Field(
        False, description="working id inferred from public sources, not verified against the text"
    )


class Threat(Identified):
    """A threat of the security problem definition."""


class Policy(Identified):
    """An organisational security policy."""


class Assumption(Identified):
    """An assumption on the operational environment."""


class Objective(Identified):
    """A security objective, for the TOE or for its environment."""

    scope: Literal["toe", "environment"] = "toe"
    addresses: tuple[str, ...] = Field((), description="threats, policies and assumptions")
    sfrs: tuple[str, ...] = Field((), description="SFRs that meet this objective (TOE objectives)")


class ParameterType(StrEnum):
    """Type of an assignment."""

    FLOAT = "float"
    INT = "int"
    STRING = "string"
    BOOL = "bool"


class Tighten(StrEnum):
    """Which direction of an assignment is stricter (an ST may only tighten)."""

    LOWER = "lower"
    """A smaller value is stricter (an abort threshold, eps_sec)."""
    HIGHER = "higher"
    """A larger value is stricter (a tag length)."""
    NONE = "none"
    """Any value inside the allowed range."""


class Assignment(StrictModel):
    """A typed parameter the security target fills in."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str = Field(min_length=1, max_length=300)
    type: ParameterType
    min: float | None = None
    max: float | None = None
    default: Any = None
    unit: str | None = None
    tighten: Tighten = Tighten.NONE

    @model_validator(mode="after")
    def _range(self) -> Assignment:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Selection(StrictModel):
    """A choice among listed options the security target makes."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str = Field(min_length=1, max_length=300)
    choices: tuple[str, ...] = Field(min_length=1)
    multiple: bool = False
    default: str | tuple[str, ...] | None = None


class CheckSpec(StrictModel):
    """An automated check: a registered kind and its parameters (validated by the registry)."""

    kind: str = Field(min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)


class Condition(StrictModel):
    """When an activity applies: a selection has (one of) the given values."""

    selection: str
    in_: tuple[str, ...] = Field(alias="in", min_length=1)
    reason: str = Field(min_length=1, description="why the activity does not apply otherwise")

    model_config = StrictModel.model_config | {"populate_by_name": True}


class Activity(StrictModel):
    """An evaluation activity for an SFR element (CC Part 4)."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    method: Literal["automated", "manual"]
    test_method: str | None = Field(None, description="ISO/IEC 23837-2 test method id")
    applies_if: tuple[Condition, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
    guidance: str = Field("", max_length=20_000, description="what the evaluator does (manual)")

    @model_validator(mode="after")
    def _checks_match_method(self) -> Activity:
        if self.method == "automated" and not self.checks:
            raise ValueError(f"automated activity '{self.id}' has no checks")
        if self.method == "manual" and self.checks:
            raise ValueError(f"manual activity '{self.id}' must not list checks")
        return self


class Element(StrictModel):
    """An SFR element."""

    id: str = Field(pattern=_ID)
    text: str = Field(min_length=1, max_length=20_000)
    activities: tuple[Activity, ...] = ()


class SFR(StrictModel):
    """A security functional requirement (a CC Part 2 or extended component)."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    extended: bool = False
    provisional: bool = False
    dependencies: tuple[str, ...] = ()
    dependency_rationale: dict[str, str] = Field(
        default_factory=dict, description="why an unmet dependency is acceptable"
    )
    elements: tuple[Element, ...] = Field(min_length=1)


class SAR(StrictModel):
    """A security assurance requirement (CC Part 3 component)."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    activities: tuple[Activity, ...] = ()


class ExtendedComponent(StrictModel):
    """Definition of an extended component (CC Part 1: ECD)."""

    id: str = Field(pattern=_ID)
    family: str
    description: str = Field(min_length=1, max_length=20_000)
    dependencies: tuple[str, ...] = ()


class Profile(StrictModel):
    """A protection profile as data."""

    schema_version: int = Field(PROFILE_SCHEMA_VERSION, ge=1, le=PROFILE_SCHEMA_VERSION)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-.]{0,79}$")
    title: str = Field(min_length=1, max_length=300)
    version: str = Field(min_length=1, max_length=40)
    scheme: str | None = None
    cc_version: str | None = None
    assurance_package: str | None = None
    provisional: bool = False
    threats: tuple[Threat, ...] = ()
    policies: tuple[Policy, ...] = ()
    assumptions: tuple[Assumption, ...] = ()
    objectives: tuple[Objective, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    selections: tuple[Selection, ...] = ()
    extended_components: tuple[ExtendedComponent, ...] = ()
    sfrs: tuple[SFR, ...] = Field(min_length=1)
    sars: tuple[SAR, ...] = ()

    def sfr(self, sfr_id: str) -> SFR | None:
        """The SFR with id ``sfr_id``, if any."""
        return next((s for s in self.sfrs if s.id == sfr_id), None)


class SecurityTarget(StrictModel):
    """A vendor's security target: claims a profile and fills its assignments and selections."""

    schema_version: int = Field(PROFILE_SCHEMA_VERSION, ge=1, le=PROFILE_SCHEMA_VERSION)
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-._]{0,79}$")
    title: str = Field(min_length=1, max_length=300)
    version: str = Field(min_length=1, max_length=40)
    claims_profile: str = Field(description="id of the claimed profile")
    claims_profile_version: str | None = None
    assignments: dict[str, float | int | str | bool] = Field(default_factory=dict)
    selections: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)


class Attestation(StrictModel):
    """An evaluator's verdict on a manual activity."""

    activity: str
    evaluator: str = Field(min_length=1, max_length=200)
    date: date
    verdict: Literal["pass", "fail", "inconclusive"]
    rationale: str = Field(min_length=1, max_length=20_000)
    evidence: str | None = Field(None, max_length=2000, description="reference to the evidence")


class Waiver(StrictModel):
    """A documented acceptance of a failure; the failure stays visible as fail (waived)."""

    id: str = Field(pattern=_ID)
    requirement: str
    approver: str = Field(min_length=1, max_length=200)
    rationale: str = Field(min_length=1, max_length=20_000)
    risk: Literal["low", "medium", "high"]
    granted: date
    expires: date

    @model_validator(mode="after")
    def _dates(self) -> Waiver:
        if self.expires < self.granted:
            raise ValueError("waiver expires before it is granted")
        return self


class EvaluationInput(StrictModel):
    """The lab's part of an evaluation: who evaluates, attestations and waivers."""

    schema_version: int = Field(PROFILE_SCHEMA_VERSION, ge=1, le=PROFILE_SCHEMA_VERSION)
    lab: str | None = Field(None, max_length=200)
    evaluator: str | None = Field(None, max_length=200)
    attestations: tuple[Attestation, ...] = ()
    waivers: tuple[Waiver, ...] = ()
