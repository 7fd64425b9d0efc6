"""Fixtures of the report tests: a synthetic result covering every verdict, and the demo audit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaltool.model.results import (
    CheckResult,
    EvaluationResult,
    EvidenceRef,
    InputFile,
    Measurement,
    Provenance,
    RequirementResult,
    Series,
    TOESummary,
    TraceLink,
)
from evaltool.model.verdict import Verdict
from evaltool.report.outputs import OutputFormat, write_outputs
from tests.support import DEMO_BUNDLE, MINI_PROFILE

EPOCH = "1767225600"
"""SOURCE_DATE_EPOCH of the reproducible runs: 2026-01-01T00:00:00Z."""

SHA_A = "a" * 64
SHA_B = "b" * 64


def make_check(req: str, n: int, verdict: Verdict, *, reason: str = "a reason", kind: str =
               "telemetry.range", waived_by: str | None = None, notes: tuple[str, ...] = (),
               series: tuple[Series, ...] = (), evidence_path: str = "monitors.csv",
               measurements: tuple[Measurement, ...] | None = None) -> CheckResult:
    """One check result with an evidence reference and a thresholded measurement."""
    return CheckResult(
        requirement_id=req, element_id=f"{req}.1", activity_id=f"{req}.1-A{n}",
        check_id=f"{req}.1-A{n}/1", kind=kind, verdict=verdict, reason=reason,
        measurements=measurements if measurements is not None else (
            Measurement(name="max_qber", value=0.031, unit="ratio", threshold=0.11,
                        passes_if="<="),),
        evidence=(EvidenceRef(slot="monitors", path=evidence_path, sha256=SHA_A,
                              kind="monitor"),),
        notes=notes, standard_ref="ETSI GS QKD 016 (test)", waived_by=waived_by, series=series,
    )


def make_result(*, vendor: str = "Example Vendor", product: str = "QKD-1",
                requirements: tuple[RequirementResult, ...] | None = None,
                extra_inputs: tuple[InputFile, ...] = ()) -> EvaluationResult:
    """A result with a fail (waived), an inconclusive, a pass with plots, a manual attestation
    and a not-applicable requirement."""
    qber = Series(name="qber_key", unit="ratio", values=(0.02, 0.025, 0.031, 0.028),
                  x=(1.0, 2.0, 3.0, 4.0), x_name="block", threshold=0.11, passes_if="<=",
                  marks=(3.0,), marks_label="abort")
    pvals = Series(name="pvalue", values=tuple((i * 0.37) % 1 for i in range(50)),
                   style="histogram")
    reqs = requirements or (
        RequirementResult(requirement_id="FPT_FLS.1", title="Failure with preservation",
                          checks=(make_check("FPT_FLS.1", 1, Verdict.FAIL,
                                             reason="2 alarms without abort",
                                             waived_by="W-1",
                                             notes=("fail (waived): waiver W-1 approved by Q. A., "
                                                    "risk low, expires 2027-01-01",)),)),
        RequirementResult(requirement_id="FCS_RNG.1", title="Random numbers",
                          checks=(make_check("FCS_RNG.1", 1, Verdict.PASS, kind="rng.sp800-22",
                                             series=(qber, pvals)),
                                  make_check("FCS_RNG.1", 2, Verdict.INCONCLUSIVE,
                                             kind="rng.sp800-90b",
                                             reason="too few samples"))),
        RequirementResult(requirement_id="AVA_VAN.5", title="Vulnerability analysis",
                          checks=(make_check("AVA_VAN.5", 1, Verdict.PASS, kind="manual",
                                             reason="penetration tests found nothing",
                                             notes=("attested by E. Valuator on 2026-01-01",),
                                             measurements=()),)),
        RequirementResult(requirement_id="FTP_ITC.1", title="Trusted channel",
                          checks=(make_check("FTP_ITC.1", 1, Verdict.NOT_APPLICABLE,
                                             reason="not selected in the ST"),)),
    )
    prov = Provenance(
        tool_version="0.1.0", dependencies={"numpy": "2.0", "python": "3.11"},
        profile_id="etsi-gs-qkd-016", profile_version="0.1.0", profile_sha256=SHA_B,
        inputs=(InputFile(role="profile", path="etsi-gs-qkd-016.yaml", sha256=SHA_B,
                          size_bytes=10),
                InputFile(role="evidence:monitors", path="monitors.csv", sha256=SHA_A,
                          size_bytes=20), *extra_inputs),
        seed=7, command_line=("evaltool", "audit", "bundle"),
        started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:00:05+00:00",
    )
    toe = TOESummary(vendor=vendor, product=product, transmitter_serial="T1",
                     receiver_serial="R1", hardware_version="Tx 1 / Rx 1",
                     firmware_version="Tx 2 / Rx 2")
    trace = (
        TraceLink(id="T.INTERCEPT", kind="threat", title="Interception of the key",
                  traces_to=("O.ABORT", "OE.FIBRE")),
        TraceLink(id="O.ABORT", kind="objective", title="Abort on attack",
                  traces_to=("FPT_FLS.1", "FCS_RNG.1")),
        TraceLink(id="OE.FIBRE", kind="objective", title="Protected fibre", scope="environment"),
    )
    return EvaluationResult(title=f"Evaluation of {product}", lab="Lab", evaluator="E. Valuator",
                            toe=toe, provenance=prov, requirements=reqs, trace=trace)


@pytest.fixture
def synthetic() -> EvaluationResult:
    """A result with every verdict, a waiver, an attestation and data series."""
    return make_result()


@pytest.fixture
def source_date_epoch() -> Iterator[str]:
    """Set SOURCE_DATE_EPOCH for the duration of a test."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        yield EPOCH
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def mini_profile_file(folder: Path) -> Path:
    """The one-check test profile (tests/support.py) written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mini-profile.yaml"
    path.write_text(MINI_PROFILE)
    return path


def run_demo_audit(out: Path, profile: Path, bundle: Path = DEMO_BUNDLE,
                   seed: int = 0) -> EvaluationResult:
    """An audit of the demo bundle through the same core functions ``evaltool audit`` calls,
    writing every output. The tests use the one-check profile to keep the PDF short; the full
    profile's report is exercised by benchmarks/bench_report.py."""
    from evaltool.evaluate import AuditSources, prepare_audit, run_audit

    prepared = prepare_audit(AuditSources(bundle=bundle, profile=profile))
    result = run_audit(prepared, seed=seed,
                       command_line=("evaltool", "audit", "bundle", "--out", "out"))
    write_outputs(result, out, list(OutputFormat))
    return result


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five outputs of the demo audit (one-check profile), run once with SOURCE_DATE_EPOCH set;
    the profile is in ``../profiles``."""
    base = tmp_path_factory.mktemp("demo")
    out = base / "out"
    profile = mini_profile_file(base / "profiles")
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        run_demo_audit(out, profile)
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    return out
