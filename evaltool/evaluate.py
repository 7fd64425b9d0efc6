"""Orchestration: assemble an audit from its input files, run its plan against the bundle and
collect an :class:`EvaluationResult`.

:func:`prepare_audit` is the one assembly of an audit (profile, security target, evaluation input,
plan, bundle), shared by ``evaltool audit`` and ``evaltool verify``; :func:`evaluate` runs it with
an explicit start time, so a recomputation runs at the recorded instant (waiver expiry depends on
the date) without touching the environment.

The evaluator owns bookkeeping only: seeding, evidence references, captured warnings, attestation
and waiver handling, and turning *expected* evidence problems into inconclusive verdicts. It holds
no decision rule. Unexpected exceptions are bugs and propagate (exit 70); they never become a
quiet inconclusive.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from evaltool import __version__
from evaltool.checks.context import CheckContext
from evaltool.checks.plan import Plan, PlannedActivity, PlannedCheck, build_plan
from evaltool.errors import EvidenceError
from evaltool.io.bundle import Bundle, load_bundle
from evaltool.io.profiles import (
    LoadedEvaluation,
    load_evaluation_input,
    load_profile,
    load_security_target,
)
from evaltool.model.profile import Profile, Waiver
from evaltool.model.results import (
    AssignmentUsed,
    CheckResult,
    EvaluationResult,
    InputFile,
    Provenance,
    RequirementResult,
    TOESummary,
    TraceLink,
)
from evaltool.model.verdict import Verdict
from evaltool.profile.evaluation import check_evaluation
from evaltool.profile.identity import identity

ProgressFn = Callable[[int, int, str], None]
"""Called as ``progress(done, total, check_id)`` after each check."""

_DEPENDENCIES = ("numpy", "scipy", "pandas", "pyarrow", "pydantic", "numba")


Clock = Callable[[], datetime]
"""Where the evaluator reads the time (the finish time of a run)."""


def now_utc() -> datetime:
    """The current time, or ``SOURCE_DATE_EPOCH`` when set (reproducible-builds.org convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return datetime.now(tz=UTC)


def check_seed(seed: int, check_id: str) -> int:
    """A per-check seed derived from the audit seed, independent of the order checks run in."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(check_id.encode()),))
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def dependency_versions() -> dict[str, str]:
    """Versions of the libraries whose code computes results."""
    out = {"python": sys.version.split()[0]}
    for name in _DEPENDENCIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


@dataclass(frozen=True, slots=True)
class AuditInputs:
    """Identification of every input, for provenance."""

    profile_path: Path
    profile_sha256: str
    st_path: Path | None = None
    st_sha256: str | None = None
    st_id: str | None = None
    evaluation_path: Path | None = None
    evaluation_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class AuditSources:
    """The files an audit is computed from, as the user names them."""

    bundle: Path
    profile: Path
    st: Path | None = None
    evaluation: Path | None = None
    known_sha256: Mapping[Path, str] = field(default_factory=dict)
    """Digests of bundle files hashed earlier in this process, by resolved path (not re-read)."""


@dataclass(frozen=True, slots=True)
class PreparedAudit:
    """Everything :func:`evaluate` needs, loaded and validated before any check runs."""

    plan: Plan
    bundle: Bundle
    inputs: AuditInputs
    evaluation: LoadedEvaluation | None


@dataclass
class PhaseTimes:
    """Wall-clock seconds of the named phases of one run, in the order they ended."""

    phases: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the enclosed block as phase ``name`` (recorded even when it raises)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases.append((name, time.perf_counter() - start))


def prepare_audit(sources: AuditSources, *, times: PhaseTimes | None = None) -> PreparedAudit:
    """Load and validate every input of an audit and build its plan.

    Raises the input's own error (exit 4, one line naming file and position) for an invalid
    profile, security target, evaluation input (CEM attestations must name manual activities of
    the plan) or bundle; nothing has run yet when it does.
    """
    timer = times if times is not None else PhaseTimes()
    with timer.phase("load profile"):
        lp = load_profile(sources.profile)
    with timer.phase("load security target and evaluation input"):
        lst = load_security_target(sources.st) if sources.st is not None else None
        lev = (load_evaluation_input(sources.evaluation)
               if sources.evaluation is not None else None)
    with timer.phase("build plan"):
        plan = build_plan(lp, lst)
        if lev is not None:
            check_evaluation(plan.profile, lev)
    with timer.phase("load bundle"):
        bundle = load_bundle(sources.bundle, known_sha256=sources.known_sha256)
    inputs = AuditInputs(
        profile_path=lp.doc.path, profile_sha256=lp.sha256,
        st_path=lst.doc.path if lst else None, st_sha256=lst.sha256 if lst else None,
        st_id=f"{lst.st.id} {lst.st.version}" if lst else None,
        evaluation_path=lev.doc.path if lev else None,
        evaluation_sha256=lev.sha256 if lev else None,
    )
    return PreparedAudit(plan=plan, bundle=bundle, inputs=inputs, evaluation=lev)


def _input_files(inputs: AuditInputs, bundle: Bundle) -> tuple[InputFile, ...]:
    files = [InputFile(role="profile", path=inputs.profile_path.name,
                       sha256=inputs.profile_sha256,
                       size_bytes=inputs.profile_path.stat().st_size)]
    if inputs.st_path is not None and inputs.st_sha256 is not None:
        files.append(InputFile(role="security-target", path=inputs.st_path.name,
                               sha256=inputs.st_sha256, size_bytes=inputs.st_path.stat().st_size))
    if inputs.evaluation_path is not None and inputs.evaluation_sha256 is not None:
        files.append(InputFile(role="evaluation", path=inputs.evaluation_path.name,
                               sha256=inputs.evaluation_sha256,
                               size_bytes=inputs.evaluation_path.stat().st_size))
    files.append(InputFile(role="manifest", path=bundle.manifest_path.name,
                           sha256=bundle.manifest_sha256,
                           size_bytes=bundle.manifest_path.stat().st_size))
    files.extend(InputFile(role=f"evidence:{slot}", path=bf.entry.path, sha256=bf.sha256,
                           size_bytes=bf.size_bytes, imported=bf.entry.imported)
                 for slot, bf in bundle.files.items())
    return tuple(files)


def _run_check(pc: PlannedCheck, pa: PlannedActivity, bundle: Bundle, plan: Plan,
               seed: int, precomputed: Mapping[str, object] | None = None) -> CheckResult:
    base = {
        "requirement_id": pa.requirement_id, "element_id": pa.element_id,
        "activity_id": pa.activity.id, "check_id": pc.check_id, "kind": pc.ctype.kind,
        "standard_ref": pc.ctype.standard_ref,
    }
    if not pa.applicable:
        return CheckResult(**base, verdict=Verdict.NOT_APPLICABLE,
                           reason=pa.not_applicable_reason or "not applicable")
    ctx = CheckContext(bundle, plan.st_values, check_seed(seed, pc.check_id), precomputed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = pc.ctype.run(pc.params, ctx)
        except EvidenceError as exc:
            notes = tuple(str(w.message) for w in caught)
            return CheckResult(**base, verdict=Verdict.INCONCLUSIVE, reason=str(exc),
                               evidence=ctx.evidence_used, notes=notes)
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))
    return CheckResult(**base, verdict=outcome.verdict, reason=outcome.reason,
                       measurements=outcome.measurements, evidence=ctx.evidence_used, notes=notes,
                       series=outcome.series)


def _manual(pa: PlannedActivity, evaluation: LoadedEvaluation | None) -> CheckResult:
    base = {
        "requirement_id": pa.requirement_id, "element_id": pa.element_id,
        "activity_id": pa.activity.id, "check_id": f"{pa.activity.id}/manual", "kind": "manual",
        "standard_ref": pa.activity.test_method or "CEM evaluator action",
    }
    if not pa.applicable:
        return CheckResult(**base, verdict=Verdict.NOT_APPLICABLE,
                           reason=pa.not_applicable_reason or "not applicable")
    att = None
    if evaluation is not None:
        att = next((a for a in evaluation.evaluation.attestations
                    if a.activity == pa.activity.id), None)
    if att is None:
        return CheckResult(**base, verdict=Verdict.INCONCLUSIVE,
                           reason="manual activity awaiting an evaluator attestation")
    notes = (f"attested by {att.evaluator} on {att.date.isoformat()}"
             + (f"; evidence: {att.evidence}" if att.evidence else ""),)
    return CheckResult(**base, verdict=Verdict(att.verdict), reason=att.rationale, notes=notes)


def _apply_waivers(results: list[CheckResult], waivers: Sequence[Waiver], today: date
                   ) -> list[CheckResult]:
    out = []
    for r in results:
        if r.verdict is not Verdict.FAIL:
            out.append(r)
            continue
        w = next((w for w in waivers if w.requirement == r.requirement_id), None)
        if w is None:
            out.append(r)
        elif w.expires < today:
            out.append(r.model_copy(update={
                "notes": (*r.notes, f"waiver {w.id} expired on {w.expires.isoformat()} "
                                    "and was ignored")}))
        else:
            out.append(r.model_copy(update={
                "waived_by": w.id,
                "notes": (*r.notes, f"fail (waived): waiver {w.id} approved by {w.approver}, "
                                    f"risk {w.risk}, expires {w.expires.isoformat()}")}))
    return out


def trace_links(profile: Profile) -> tuple[TraceLink, ...]:
    """The profile's rationale as trace links: problem items -> objectives -> SFRs.

    Stored in the result so its ``traceability`` roll-up is computed from the requirement
    verdicts (CC:2022 Part 3 APE_OBJ.2 / APE_REQ.2 tracing; CEM verdict roll-up).
    """
    links: list[TraceLink] = [
        TraceLink(id=o.id, kind="objective", title=o.title, provisional=o.provisional,
                  scope=o.scope, traces_to=o.sfrs if o.scope == "toe" else ())
        for o in profile.objectives
    ]
    for kind, items in (("threat", profile.threats), ("policy", profile.policies),
                        ("assumption", profile.assumptions)):
        for item in items:
            addressed = tuple(o.id for o in profile.objectives if item.id in o.addresses)
            links.append(TraceLink(id=item.id, kind=kind, title=item.title,
                                   provisional=item.provisional, traces_to=addressed))
    return tuple(links)


def assignments_used(plan: Plan) -> tuple[AssignmentUsed, ...]:
    """Every assignment and selection value of the plan with its source: the security target's,
    or the profile data's default (an evaltool default, not a value of the published profile)."""
    given = plan.st_given or frozenset()
    out = [AssignmentUsed(
        id=a.id, title=a.title, kind="assignment", value=plan.st_values.get(a.id), unit=a.unit,
        source="security-target" if a.id in given else "evaltool-default")
        for a in plan.profile.assignments]
    for s in plan.profile.selections:
        v = plan.st_values.get(s.id)
        out.append(AssignmentUsed(
            id=s.id, title=s.title, kind="selection",
            value=tuple(v) if isinstance(v, list | tuple) else v,
            source="security-target" if s.id in given else "evaltool-default"))
    return tuple(out)


def evaluate(
    plan: Plan,
    bundle: Bundle,
    *,
    inputs: AuditInputs,
    seed: int,
    command_line: Sequence[str],
    evaluation: LoadedEvaluation | None = None,
    progress: ProgressFn | None = None,
    started_at: datetime | None = None,
    clock: Clock = now_utc,
    precomputed: Mapping[str, object] | None = None,
) -> EvaluationResult:
    """Run every activity of ``plan`` on ``bundle`` and return the complete result.

    ``started_at`` is the recorded start of the evaluation and the date waivers are judged on
    (default: ``clock()``); ``clock`` gives the finish time. ``precomputed`` holds intermediate
    results computed elsewhere from the same evidence (a campaign's merged shards), handed to
    every check's context; the result is the one computed without them.
    """
    started = started_at if started_at is not None else clock()
    total = sum(max(1, len(pa.checks)) for pa in plan.activities)
    done = 0
    by_req: dict[str, list[CheckResult]] = {}
    for pa in plan.activities:
        if pa.activity.method == "manual":
            results = [_manual(pa, evaluation)]
        else:
            results = [_run_check(pc, pa, bundle, plan, seed, precomputed) for pc in pa.checks]
        by_req.setdefault(pa.requirement_id, []).extend(results)
        done += max(1, len(pa.checks))
        if progress is not None:
            progress(done, total, pa.activity.id)
    waivers = evaluation.evaluation.waivers if evaluation is not None else ()
    modules = {s.id: s.module.value for s in plan.profile.sfrs}
    requirements = tuple(
        RequirementResult(requirement_id=req, title=plan.titles.get(req, req),
                          provisional=req in plan.provisional, module=modules.get(req),
                          checks=tuple(_apply_waivers(checks, waivers, started.date())))
        for req, checks in by_req.items()
    )
    m = bundle.manifest
    toe = TOESummary(
        vendor=m.toe.vendor, product=m.toe.product, transmitter_serial=m.toe.transmitter.serial,
        receiver_serial=m.toe.receiver.serial,
        hardware_version=f"Tx {m.toe.transmitter.hardware_version} / "
                         f"Rx {m.toe.receiver.hardware_version}",
        firmware_version=f"Tx {m.toe.transmitter.firmware_version} / "
                         f"Rx {m.toe.receiver.firmware_version}",
    )
    provenance = Provenance(
        tool_version=__version__, dependencies=dependency_versions(),
        profile_id=plan.profile.id, profile_version=plan.profile.version,
        profile_sha256=inputs.profile_sha256, security_target_id=inputs.st_id,
        inputs=_input_files(inputs, bundle), seed=seed, command_line=tuple(command_line),
        started_at=started.isoformat(), finished_at=clock().isoformat(),
    )
    return EvaluationResult(title=f"Evaluation of {m.toe.product} against {plan.profile.title}",
                            toe=toe, provenance=provenance, requirements=requirements,
                            trace=trace_links(plan.profile),
                            attack_catalogue=(plan.assurance.attacks.data
                                              if plan.assurance.attacks is not None else None),
                            crosswalks=tuple(c.data for c in plan.assurance.crosswalks),
                            profile=identity(plan.profile), pre_check=plan.st_given is None,
                            assignments=assignments_used(plan),
                            lab=evaluation.evaluation.lab if evaluation is not None else None,
                            evaluator=(evaluation.evaluation.evaluator
                                       if evaluation is not None else None))


def run_audit(prepared: PreparedAudit, *, seed: int, command_line: Sequence[str],
              started_at: datetime | None = None, clock: Clock = now_utc,
              progress: ProgressFn | None = None,
              precomputed: Mapping[str, object] | None = None) -> EvaluationResult:
    """:func:`evaluate` on a :func:`prepare_audit` result."""
    return evaluate(prepared.plan, prepared.bundle, inputs=prepared.inputs, seed=seed,
                    command_line=command_line, evaluation=prepared.evaluation,
                    progress=progress, started_at=started_at, clock=clock,
                    precomputed=precomputed)
