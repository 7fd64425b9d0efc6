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
_REQ_ID = r"^[A-Za-z][A-Za-z0-9_.\-]{0,79}(/[A-Za-z0-9_\-]{1,40})?$"
"""A component or element id, with an optional CC iteration suffix (``FCS_COP.1/AUTH``)."""


class IdStatus(StrEnum):
    """Where an item's id comes from (see docs/profile-identity.md)."""

    OFFICIAL = "official"
    """The id the published profile uses, checked against its text (e.g. after binding)."""
    WORKING = "working"
    """An evaltool working id, to be bound to the official one (``evaltool profile bind``)."""
    CC = "cc"
    """A CC Part 2 or Part 3 component id used without iteration: defined by the CC itself."""


class Wording(StrEnum):
    """Whose words an item's title and text are."""

    OFFICIAL = "official"
    """The published profile's own wording (only in a lab's licensed copy)."""
    SUMMARY = "summary"
    """evaltool's own summary of the requirement, never a quotation."""


class Identified(StrictModel):
    """An item of the security problem or objectives."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    provisional: bool = Field(
        False, description="working id inferred from public sources, not verified against the text"
    )
    id_status: IdStatus | None = Field(
        None, description="overrides the profile's default id status for this item")
    wording: Wording | None = Field(
        None, description="overrides the profile's default wording for this item")


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
    rationale: str = Field(
        "", max_length=20_000,
        description="why the objective counters what it addresses and why its SFRs meet it")


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
    choices: tuple[str, ...] | None = Field(
        None, min_length=1, description="allowed values of a string assignment")
    refused: dict[str, str] | None = Field(
        None, description="values of a string assignment the profile refuses, each with the "
        "reason an ST's validation gives; a key ending in '*' refuses every value it prefixes")
    description: str = Field("", max_length=20_000)

    def refusal(self, value: str) -> str | None:
        """The reason the profile refuses ``value``, or ``None``."""
        for pattern, reason in (self.refused or {}).items():
            hit = (value.startswith(pattern[:-1]) if pattern.endswith("*")
                   else value == pattern)
            if hit:
                return reason
        return None

    @model_validator(mode="after")
    def _range(self) -> Assignment:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        numeric = self.type in (ParameterType.FLOAT, ParameterType.INT)
        if not numeric and (self.min is not None or self.max is not None):
            raise ValueError(f"a {self.type.value} assignment takes no min or max")
        if not numeric and self.tighten is not Tighten.NONE:
            raise ValueError(f"a {self.type.value} assignment cannot be tightened")
        if self.choices is not None and self.type is not ParameterType.STRING:
            raise ValueError("only a string assignment takes choices")
        if self.refused is not None and self.type is not ParameterType.STRING:
            raise ValueError("only a string assignment refuses values")
        both = [c for c in self.choices or () if self.refusal(c) is not None]
        if both:
            raise ValueError(f"{both[0]!r} is both a choice and refused")
        return self


class Selection(StrictModel):
    """A choice among listed options the security target makes."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str = Field(min_length=1, max_length=300)
    choices: tuple[str, ...] = Field(min_length=1)
    multiple: bool = False
    default: str | tuple[str, ...] | None = None
    description: str = Field("", max_length=20_000)

    @model_validator(mode="after")
    def _default_is_a_choice(self) -> Selection:
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"selection '{self.id}' lists a choice twice")
        if self.default is None:
            return self
        chosen = (self.default,) if isinstance(self.default, str) else self.default
        if not self.multiple and len(chosen) != 1:
            raise ValueError(f"selection '{self.id}' takes exactly one default choice")
        bad = [c for c in chosen if c not in self.choices]
        if bad:
            raise ValueError(f"default {bad[0]!r} of selection '{self.id}' is not one of "
                             f"{', '.join(self.choices)}")
        return self


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
    evidence: tuple[str, ...] = Field(
        (), description="developer evidence the evaluator examines (manual), e.g. 'ADV_TDS'")
    work_units: tuple[str, ...] = Field((), description="CEM work units this activity answers")

    @model_validator(mode="after")
    def _checks_match_method(self) -> Activity:
        if self.method == "automated" and not self.checks:
            raise ValueError(f"automated activity '{self.id}' has no checks")
        if self.method == "manual" and self.checks:
            raise ValueError(f"manual activity '{self.id}' must not list checks")
        return self


class Element(StrictModel):
    """An SFR element; its text may name assignments and selections as ``{{ st.<id> }}``."""

    id: str = Field(pattern=_REQ_ID)
    text: str = Field(min_length=1, max_length=20_000)
    activities: tuple[Activity, ...] = ()


class RequirementArea(StrEnum):
    """What an SFR is about; the automation target is counted over the QKD-specific areas."""

    PROTOCOL = "protocol"
    OPTICAL = "optical"
    RNG = "rng"
    AUDIT = "audit"
    KEY_MANAGEMENT = "key-management"
    ACCESS_CONTROL = "access-control"
    IDENTIFICATION = "identification"
    MANAGEMENT = "management"
    PROTECTION = "protection"
    TRUSTED_CHANNEL = "trusted-channel"


class Module(StrEnum):
    """The module of the QKD pair an SFR is allocated to (the TOE is a pair of modules)."""

    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    BOTH = "both"


class SFR(StrictModel):
    """A security functional requirement (a CC Part 2 or extended component)."""

    id: str = Field(pattern=_REQ_ID)
    title: str = Field(min_length=1, max_length=300)
    extended: bool = False
    provisional: bool = False
    id_status: IdStatus | None = Field(
        None, description="overrides the id status derived for this SFR")
    wording: Wording | None = Field(
        None, description="overrides the profile's default wording for this SFR")
    module: Module = Field(
        Module.BOTH, description="the module that implements the requirement")
    aliases: tuple[str, ...] = Field(
        (), description="names of the same component in other CC versions (FCS_CKM.4 / .6)")
    area: RequirementArea | None = Field(None, description="what the requirement is about")
    dependencies: tuple[str, ...] = ()
    dependency_rationale: dict[str, str] = Field(
        default_factory=dict, description="why an unmet dependency is acceptable"
    )
    elements: tuple[Element, ...] = Field(min_length=1)


class SAR(StrictModel):
    """A security assurance requirement (CC Part 3 component)."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    augmented: bool = Field(False, description="added to the base EAL (augmentation)")
    dependencies: tuple[str, ...] = ()
    activities: tuple[Activity, ...] = ()


class ComponentElement(StrictModel):
    """An element of an extended component definition, with its id (``FPT_ODC.1.7``)."""

    id: str = Field(pattern=_ID)
    text: str = Field(min_length=1, max_length=20_000)


class ExtendedComponent(StrictModel):
    """Definition of an extended component, in the structure CC Part 2 gives its components.

    CC:2022 Part 1 clause on extended components (APE_ECD.1 / ASE_ECD.1): the family (behaviour,
    component levelling, management, audit) and the component (hierarchy, dependencies,
    elements). An element given as plain text takes the id ``<component>.<n>`` by position.
    """

    id: str = Field(pattern=_ID)
    family: str
    title: str = Field("", max_length=300)
    family_behaviour: str = Field("", max_length=20_000, description="what the family is for")
    component_levelling: str = Field(
        "", max_length=20_000, description="the components of the family and how they relate")
    management: str = Field(
        "", max_length=20_000, description="management functions FMT could consider (CC Part 2)")
    audit: str = Field(
        "", max_length=20_000, description="events auditable if FAU_GEN is included (CC Part 2)")
    hierarchical_to: tuple[str, ...] = Field((), description="components this one includes")
    description: str = Field(min_length=1, max_length=20_000)
    dependencies: tuple[str, ...] = ()
    elements: tuple[ComponentElement | str, ...] = Field(
        (), description="the elements of the component definition, in order")
    provisional: bool = False
    id_status: IdStatus | None = Field(
        None, description="overrides the profile's default id status for this component")

    def element_ids(self) -> tuple[str, ...]:
        """The ids of the defined elements (plain-text elements numbered by position)."""
        return tuple(e.id if isinstance(e, ComponentElement) else f"{self.id}.{i}"
                     for i, e in enumerate(self.elements, 1))


class CCEdition(StrEnum):
    """The edition of the Common Criteria a profile is written against."""

    CC2022_R1 = "CC:2022 R1"
    CC31_R5 = "CC 3.1 R5"


class Conformance(StrEnum):
    """The conformance a PP requires of STs and PPs claiming it (CC:2022 Part 1, clause 10)."""

    STRICT = "strict"
    DEMONSTRABLE = "demonstrable"
    EXACT = "exact"


class PPReference(StrictModel):
    """The published profile this data models (its reference, not its text)."""

    title: str = Field(min_length=1, max_length=300)
    version: str = Field(min_length=1, max_length=40)
    date: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$", description="YYYY-MM or YYYY-MM-DD")
    publisher: str | None = Field(None, max_length=200)
    certification_id: str | None = Field(
        None, max_length=100, description="certification of the PP, e.g. BSI-CC-PP-0120-2024")


class TOEDescription(StrictModel):
    """The TOE overview of the profile, with what the evaluation leaves out of scope."""

    overview: str = Field("", max_length=20_000)
    modules: tuple[str, ...] = Field((), description="the parts the TOE consists of")
    out_of_scope: tuple[str, ...] = Field(
        (), description="scope statements: what the TOE does not counter or provide")


class Binding(StrictModel):
    """Written by ``evaltool profile bind``: the ids were replaced by the official ones."""

    mapping: str = Field(min_length=1, max_length=500, description="file name of the mapping")
    mapping_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    source: str = Field(min_length=1, max_length=500, description="the official text it follows")


class AssuranceFiles(StrictModel):
    """Assurance data files next to the profile (relative paths; see ``docs/assurance.md``)."""

    cem_work_units: str | None = Field(None, description="CEM work-unit catalogue")
    attack_catalogue: str | None = Field(None, description="AVA_VAN attack catalogue")
    crosswalks: tuple[str, ...] = Field((), description="crosswalks to other standards")


class Profile(StrictModel):
    """A protection profile as data."""

    schema_version: int = Field(PROFILE_SCHEMA_VERSION, ge=1, le=PROFILE_SCHEMA_VERSION)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-.]{0,79}$")
    title: str = Field(min_length=1, max_length=300)
    version: str = Field(min_length=1, max_length=40)
    scheme: str | None = None
    cc_version: CCEdition | None = None
    assurance_package: str | None = None
    provisional: bool = False
    reference: PPReference | None = Field(None, description="the published profile modelled")
    conformance: Conformance | None = Field(
        None, description="conformance the profile requires of an ST claiming it")
    ids: IdStatus = Field(
        IdStatus.OFFICIAL, description="default id status of the items (per-item overrides)")
    wording: Wording = Field(
        Wording.OFFICIAL, description="default wording of titles and texts (per-item overrides)")
    binding: Binding | None = Field(None, description="set when the ids were bound")
    toe: TOEDescription | None = Field(None, description="TOE overview and scope")
    test_method_library: str | None = Field(
        None, description="relative path of the test-method library activities refer to")
    threats: tuple[Threat, ...] = ()
    policies: tuple[Policy, ...] = ()
    assumptions: tuple[Assumption, ...] = ()
    objectives: tuple[Objective, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    selections: tuple[Selection, ...] = ()
    extended_components: tuple[ExtendedComponent, ...] = ()
    sfrs: tuple[SFR, ...] = Field(min_length=1)
    sars: tuple[SAR, ...] = ()
    assurance_files: AssuranceFiles | None = None

    def sfr(self, sfr_id: str) -> SFR | None:
        """The SFR with id ``sfr_id`` (or one of its aliases), if any."""
        return next((s for s in self.sfrs if s.id == sfr_id or sfr_id in s.aliases), None)

    def sar(self, sar_id: str) -> SAR | None:
        """The SAR with id ``sar_id``, if any."""
        return next((s for s in self.sars if s.id == sar_id), None)


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


class MethodGroup(StrEnum):
    """Area of an ISO/IEC 23837-2 style test method: the part of the QKD module it examines."""

    SOURCE = "source"
    DETECTOR = "detector"
    POST_PROCESSING = "post-processing"
    RNG = "rng"
    CONVENTIONAL = "conventional"
    ASSURANCE = "assurance"
    """Supplementary QKD-specific activities for SARs (ADV, ATE, AVA)."""


class RequirementGroup(StrEnum):
    """The three SFR groups of ISO/IEC 23837-1 (protocol, quantum optics, conventional parts)."""

    PROTOCOL = "protocol-implementation"
    OPTICAL = "quantum-optical"
    CONVENTIONAL = "conventional"
    ASSURANCE = "assurance"


class EvaluationMethod(StrictModel):
    """One test or evaluation method of the library: what is measured, how, and when it passes."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=300)
    group: MethodGroup
    requirement_group: RequirementGroup = Field(
        description="ISO/IEC 23837-1 requirement group the method serves")
    parameter: str = Field(min_length=1, max_length=2000, description="the quantity examined")
    procedure: str = Field(min_length=1, max_length=20_000, description="how it is measured")
    acceptance: str = Field(min_length=1, max_length=20_000, description="when it passes")
    evidence: tuple[str, ...] = Field((), description="telemetry or documents consumed")
    kinds: tuple[str, ...] = Field((), description="check kinds that automate the method")
    provisional: bool = False


class MethodLibrary(StrictModel):
    """A library of evaluation methods that profile activities refer to by id."""

    schema_version: int = Field(PROFILE_SCHEMA_VERSION, ge=1, le=PROFILE_SCHEMA_VERSION)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-.]{0,79}$")
    title: str = Field(min_length=1, max_length=300)
    version: str = Field(min_length=1, max_length=40)
    source: str = Field(min_length=1, max_length=2000, description="the documents it follows")
    provisional: bool = False
    methods: tuple[EvaluationMethod, ...] = Field(min_length=1)

    def method(self, method_id: str) -> EvaluationMethod | None:
        """The method with id ``method_id``, if any."""
        return next((m for m in self.methods if m.id == method_id), None)
