"""Orchestration: run a plan against a bundle and collect an :class:`EvaluationResult`.

The evaluator owns bookkeeping only: seeding, evidence references, captured warnings, attestation
and waiver handling, and turning *expected* evidence problems into inconclusive verdicts. It holds
no decision rule. Unexpected exceptions are bugs and propagate (exit 70); they never become a
quiet inconclusive.
"""

from __future__ import annotations

import os
import sys
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from evaltool import __version__
from evaltool.checks.context import CheckContext
from evaltool.checks.plan import Plan, PlannedActivity, PlannedCheck
from evaltool.errors import EvidenceError
from evaltool.io.bundle import Bundle
from evaltool.io.profiles import LoadedEvaluation
from evaltool.model.profile import Profile, Waiver
from evaltool.model.results import (
    CheckResult,
    EvaluationResult,
    InputFile,
    Provenance,
    RequirementResult,
    TOESummary,
    TraceLink,
)
from evaltool.model.verdict import Verdict

ProgressFn = Callable[[int, int, str], None]
"""Called as ``progress(done, total, check_id)`` after each check."""

_DEPENDENCIES = ("numpy", "scipy", "pandas", "pyarrow", "pydantic", "numba")


def now_utc() -> datetime:
    """The current time, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds convention)."""
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
                           size_bytes=bf.size_bytes) for slot, bf in bundle.files.items())
    return tuple(files)


def _run_check(pc: PlannedCheck, pa: PlannedActivity, bundle: Bundle, plan: Plan,
               seed: int) -> CheckResult:
    base = {
        "requirement_id": pa.requirement_id, "element_id": pa.element_id,
        "activity_id": pa.activity.id, "check_id": pc.check_id, "kind": pc.ctype.kind,
        "standard_ref": pc.ctype.standard_ref,
    }
    if not pa.applicable:
        return CheckResult(**base, verdict=Verdict.NOT_APPLICABLE,
                           reason=pa.not_applicable_reason or "not applicable")
    if pc.ctype.run is None:
        return CheckResult(**base, verdict=Verdict.INCONCLUSIVE,
                           reason=f"check not available: kind {pc.ctype.kind!r} is declared but "
                                  f"not implemented in evaltool {__version__}")
    ctx = CheckContext(bundle, plan.st_values, check_seed(seed, pc.check_id))
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


def evaluate(
    plan: Plan,
    bundle: Bundle,
    *,
    inputs: AuditInputs,
    seed: int,
    command_line: Sequence[str],
    evaluation: LoadedEvaluation | None = None,
    progress: ProgressFn | None = None,
) -> EvaluationResult:
    """Run every activity of ``plan`` on ``bundle`` and return the complete result."""
    started = now_utc()
    total = sum(max(1, len(pa.checks)) for pa in plan.activities)
    done = 0
    by_req: dict[str, list[CheckResult]] = {}
    for pa in plan.activities:
        if pa.activity.method == "manual":
            results = [_manual(pa, evaluation)]
        else:
            results = [_run_check(pc, pa, bundle, plan, seed) for pc in pa.checks]
        by_req.setdefault(pa.requirement_id, []).extend(results)
        done += max(1, len(pa.checks))
        if progress is not None:
            progress(done, total, pa.activity.id)
    waivers = evaluation.evaluation.waivers if evaluation is not None else ()
    requirements = tuple(
        RequirementResult(requirement_id=req, title=plan.titles.get(req, req),
                          provisional=req in plan.provisional,
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
        started_at=started.isoformat(), finished_at=now_utc().isoformat(),
    )
    return EvaluationResult(title=f"Evaluation of {m.toe.product} against {plan.profile.title}",
                            toe=toe, provenance=provenance, requirements=requirements,
                            trace=trace_links(plan.profile),
                            lab=evaluation.evaluation.lab if evaluation is not None else None,
                            evaluator=(evaluation.evaluation.evaluator
                                       if evaluation is not None else None))
