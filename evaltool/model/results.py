"""The results of an evaluation: checks, requirements, provenance (the schema of results.json).

Roll-ups are computed fields, so the verdict of a requirement or of the evaluation can never
disagree with its parts (CEM roll-up: fail dominates, pass only when every applicable part passes).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, computed_field, field_validator

from evaltool.model.assurance import AttackCatalogue, Crosswalk
from evaltool.model.base import StrictModel
from evaltool.model.bundle import ImportRecord
from evaltool.model.verdict import Verdict, combine, combine_overall

RESULTS_SCHEMA_VERSION = 1

Comparison = Literal[">=", ">", "<=", "<", "=="]


class Measurement(StrictModel):
    """One measured value and, when it decides the verdict, the threshold it was compared with."""

    name: str = Field(description="what was measured, e.g. 'pvalue', 'max_qber'")
    value: float | None = Field(description="the value; null when it could not be computed")
    unit: str | None = Field(None, description="unit of value and threshold, if any")
    threshold: float | None = Field(None, description="the limit the value was compared with")
    passes_if: Comparison | None = Field(
        None, description="the comparison 'value <passes_if> threshold' that passes"
    )

    @field_validator("value", "threshold")
    @classmethod
    def _finite_or_none(cls, v: float | None) -> float | None:
        # JSON has no NaN: a value that is not finite is recorded as null (and the check is
        # inconclusive, never pass).
        if v is not None and not math.isfinite(v):
            return None
        return v


PlotStyle = Literal["line", "step", "points", "histogram", "bars", "binned"]


class Series(StrictModel):
    """A named numeric data series a check may record for the report's plots (optional).

    ``values`` are plotted against ``x`` (or against their index when ``x`` is empty); a
    ``threshold`` with ``passes_if`` is drawn as a limit line and ``marks`` as vertical event
    markers (e.g. the times of aborts). Non-finite numbers are stored as null (JSON has no NaN).

    With ``x_labels`` (one per value) the x axis is categorical: the values are drawn in order,
    one tick per value with its label (e.g. the tests of a battery); ``x`` may still record a
    number per category for readers of results.json. Style ``binned`` draws counts that are
    already binned as adjoining bars: ``x`` holds the left edge of every bin and, optionally, the
    right edge of the last one (``len(values) + 1`` edges; without it the last bin is as wide as
    the one before). Consecutive series of one check with the same ``group`` are drawn on one
    plot with a legend (e.g. an estimate and its confidence bound).
    """

    name: str = Field(description="what the values are, e.g. 'qber_key'")
    values: tuple[float | None, ...] = Field(description="the y values")
    unit: str | None = Field(None, description="unit of values and threshold")
    x: tuple[float | None, ...] = Field(
        (), description="x values, same length as values (style binned: the bin edges)")
    x_name: str | None = Field(None, description="what x is, e.g. 'block_id' or 'time'")
    x_unit: str | None = Field(None, description="unit of x")
    threshold: float | None = Field(None, description="a limit drawn as a horizontal line")
    passes_if: Comparison | None = Field(
        None, description="the comparison 'value <passes_if> threshold' that passes"
    )
    marks: tuple[float, ...] = Field((), description="x positions of events to mark")
    marks_label: str | None = Field(None, description="what the marks are, e.g. 'abort'")
    style: PlotStyle = Field("line", description="how the series is drawn")
    x_labels: tuple[str, ...] = Field(
        (), description="category label per value; when given, x is categorical")
    group: str | None = Field(
        None, description="consecutive series of a check with the same group share one plot")

    @field_validator("values", "x")
    @classmethod
    def _finite_values(cls, v: tuple[float | None, ...]) -> tuple[float | None, ...]:
        return tuple(None if (x is None or not math.isfinite(x)) else x for x in v)

    @field_validator("threshold")
    @classmethod
    def _finite_threshold(cls, v: float | None) -> float | None:
        return v if v is None or math.isfinite(v) else None

    @field_validator("marks")
    @classmethod
    def _finite_marks(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(x for x in v if math.isfinite(x))


class EvidenceRef(StrictModel):
    """A file of the bundle that a check read."""

    slot: str = Field(description="evidence slot name in the bundle manifest")
    path: str = Field(description="path relative to the bundle folder")
    sha256: str = Field(description="SHA-256 of the file as read")
    kind: str = Field(description="evidence kind")


class CheckResult(StrictModel):
    """The verdict of one check of one evaluation activity, with its reason and measurements."""

    requirement_id: str = Field(description="SFR or SAR id, e.g. FCS_CKM.1")
    element_id: str | None = Field(None, description="SFR element id, e.g. FCS_CKM.1.1")
    activity_id: str = Field(description="evaluation activity id")
    check_id: str = Field(description="stable id '<activity>/<n>'")
    kind: str = Field(description="check kind, e.g. telemetry.range, or 'manual'")
    verdict: Verdict
    reason: str = Field(min_length=1, description="one sentence explaining the verdict")
    measurements: tuple[Measurement, ...] = ()
    evidence: tuple[EvidenceRef, ...] = ()
    notes: tuple[str, ...] = Field((), description="warnings raised while the check ran")
    standard_ref: str = Field(description="the clause of the standard the check implements")
    waived_by: str | None = Field(
        None, description="id of the waiver that covers this failure; the verdict stays fail"
    )
    series: tuple[Series, ...] = Field(
        (), description="optional data series for the report's plots (values vs threshold)"
    )


class RequirementResult(StrictModel):
    """All checks of one requirement (SFR or SAR) and their roll-up."""

    requirement_id: str
    title: str
    provisional: bool = False
    module: Literal["transmitter", "receiver", "both"] | None = Field(
        None, description="module the SFR is allocated to (none for a SAR)")
    checks: tuple[CheckResult, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Verdict:
        """Worst verdict of the checks; inconclusive if there are none."""
        return combine(c.verdict for c in self.checks)


class InputFile(StrictModel):
    """An input of the evaluation, identified by its hash."""

    role: str = Field(description="profile, security-target, evaluation, manifest or evidence")
    path: str
    sha256: str
    size_bytes: int
    imported: ImportRecord | None = Field(
        None, exclude_if=lambda v: v is None,
        description="evidence written by `evaltool import`: its source and mapping, identified")


class Provenance(StrictModel):
    """Everything needed to reproduce the evaluation."""

    tool: str = "evaltool"
    tool_version: str
    dependencies: dict[str, str] = Field(description="versions of the libraries that computed")
    profile_id: str
    profile_version: str
    profile_sha256: str
    security_target_id: str | None = None
    inputs: tuple[InputFile, ...]
    seed: int
    command_line: tuple[str, ...]
    started_at: str = Field(description="UTC, ISO 8601")
    finished_at: str = Field(description="UTC, ISO 8601")


class TOESummary(StrictModel):
    """Identification of the target of evaluation, copied from the bundle manifest."""

    vendor: str
    product: str
    transmitter_serial: str
    receiver_serial: str
    hardware_version: str
    firmware_version: str


TraceKind = Literal["threat", "policy", "assumption", "objective"]


class TraceLink(StrictModel):
    """One item of the profile's rationale: a problem item or an objective and what it traces to.

    A threat, policy or assumption traces to the objectives that address it; a TOE objective to the
    SFRs that meet it; an objective for the environment to nothing (it is not evaluated on the
    TOE).
    """

    id: str
    kind: TraceKind
    title: str
    provisional: bool = False
    scope: Literal["toe", "environment"] = "toe"
    traces_to: tuple[str, ...] = ()


class TraceResult(StrictModel):
    """The roll-up of one traced item (computed from the requirement verdicts, never stored)."""

    id: str
    kind: TraceKind
    title: str
    provisional: bool
    scope: Literal["toe", "environment"]
    traces_to: tuple[str, ...]
    verdict: Verdict


class ProfileIdentity(StrictModel):
    """The profile evaluated against: its reference, CC edition, conformance and id status."""

    id: str
    version: str
    title: str
    reference_title: str | None = Field(None, description="the published profile modelled")
    reference_version: str | None = None
    reference_date: str | None = None
    certification_id: str | None = None
    cc_edition: str | None = Field(None, description="CC edition the profile is written against")
    conformance: str | None = Field(None, description="strict, demonstrable or exact")
    assurance_package: str | None = None
    id_counts: dict[str, int] = Field(
        default_factory=dict, description="items by id status: official, working, cc")
    wording: str = Field("official", description="official or summary (evaltool's own words)")
    bound_to: str | None = Field(None, description="the official text the ids were bound to")
    statement: str = Field("", description="one sentence on the ids, for the report's cover")


AssignmentSource = Literal["security-target", "evaltool-default"]


class AssignmentUsed(StrictModel):
    """A value an audit used for an assignment or selection, and where it came from.

    A value the security target does not give is the profile data's default: an evaltool default,
    never a value of the published profile.
    """

    id: str
    title: str
    kind: Literal["assignment", "selection"]
    value: float | int | str | bool | tuple[str, ...] | None
    unit: str | None = None
    source: AssignmentSource


class EvaluationResult(StrictModel):
    """The complete result of an audit; ``results.json`` is this model."""

    schema_version: int = RESULTS_SCHEMA_VERSION
    title: str
    lab: str | None = Field(None, description="evaluation facility, from the evaluation input")
    evaluator: str | None = Field(None, description="evaluator, from the evaluation input")
    toe: TOESummary
    provenance: Provenance
    requirements: tuple[RequirementResult, ...]
    trace: tuple[TraceLink, ...] = Field(
        (), description="the profile's rationale (threat/OSP -> objectives -> SFRs)")
    attack_catalogue: AttackCatalogue | None = Field(
        None, exclude_if=lambda v: v is None,
        description="the profile's AVA_VAN attack catalogue, with each attack's attack potential")
    crosswalks: tuple[Crosswalk, ...] = Field(
        (), exclude_if=lambda v: not v,
        description="the profile's crosswalks to other standards (ISO/IEC 19790 / FIPS 140-3)")
    profile: ProfileIdentity | None = Field(
        None, description="the profile: reference, CC edition, conformance, id status")
    pre_check: bool = Field(
        False, description="no security target given: a pre-check on evaltool defaults")
    assignments: tuple[AssignmentUsed, ...] = Field(
        (), description="every assignment and selection value used, with its source")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Verdict:
        """Overall verdict: worst requirement verdict; nothing applicable is inconclusive."""
        return combine_overall(r.verdict for r in self.requirements)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Number of checks per verdict."""
        out = {v.value: 0 for v in Verdict}
        for r in self.requirements:
            for c in r.checks:
                out[c.verdict.value] += 1
        return out

    @computed_field  # type: ignore[prop-decorator]
    @property
    def traceability(self) -> tuple[TraceResult, ...]:
        """Verdicts rolled up per objective (from its SFRs) and per threat, policy or assumption
        (from its TOE objectives), with the CEM rule of :func:`combine`.

        An objective for the environment, and an item only the environment addresses, is
        not-applicable: the TOE evaluation does not decide it. An SFR without a result counts as
        inconclusive.
        """
        by_req = {r.requirement_id: r.verdict for r in self.requirements}
        objectives: dict[str, Verdict] = {}
        out: list[TraceResult] = []

        def result(link: TraceLink, verdict: Verdict) -> TraceResult:
            return TraceResult(id=link.id, kind=link.kind, title=link.title,
                               provisional=link.provisional, scope=link.scope,
                               traces_to=link.traces_to, verdict=verdict)

        for link in self.trace:
            if link.kind != "objective":
                continue
            if link.scope == "environment":
                verdict = Verdict.NOT_APPLICABLE
            else:
                verdict = combine(by_req.get(r, Verdict.INCONCLUSIVE) for r in link.traces_to)
            objectives[link.id] = verdict
            out.append(result(link, verdict))
        for link in self.trace:
            if link.kind == "objective":
                continue
            parts = [objectives.get(o, Verdict.INCONCLUSIVE) for o in link.traces_to]
            out.append(result(link, combine(parts)))
        return tuple(out)

    def checks(self) -> list[CheckResult]:
        """Every check result, in profile order."""
        return [c for r in self.requirements for c in r.checks]
