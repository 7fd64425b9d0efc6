"""Machine-readable results: OSCAL assessment-results (schema-valid, deterministic) and JUnit XML
(valid against the JUnit XSD in tests/report/data)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from lxml import etree

from evaltool.model.results import EvaluationResult, InputFile
from evaltool.report.junit import render_junit
from evaltool.report.oscal import NAMESPACE, OSCAL_VERSION, render_oscal, token
from tests.report._oscal_schema import oscal_errors
from tests.report.conftest import make_result

JUNIT_XSD = Path(__file__).resolve().parent / "data" / "junit.xsd"


def _ar(result: EvaluationResult) -> dict:
    return json.loads(render_oscal(result))["assessment-results"]


def test_demo_oscal_validates_against_the_shipped_schema(demo_outputs: Path) -> None:
    doc = json.loads((demo_outputs / "results.oscal.json").read_text())
    assert oscal_errors(doc) == []
    assert doc["assessment-results"]["metadata"]["oscal-version"] == OSCAL_VERSION


def test_synthetic_oscal_validates_and_maps_verdicts(synthetic: EvaluationResult) -> None:
    doc = json.loads(render_oscal(synthetic))
    assert oscal_errors(doc) == []
    res = doc["assessment-results"]["results"][0]
    status = {f["target"]["target-id"]: f["target"]["status"] for f in res["findings"]}
    # The mapping in evaltool.report.oscal (verdict -> OSCAL finding target status).
    assert status == {
        "FPT_FLS.1": {"state": "not-satisfied", "reason": "fail"},
        "FCS_RNG.1": {"state": "not-satisfied", "reason": "other"},
        "AVA_VAN.5": {"state": "satisfied", "reason": "pass"},
    }
    assert res["remarks"] == "Not applicable: FTP_ITC.1"
    methods = {o["props"][0]["value"]: o["methods"] for o in res["observations"]}
    assert methods["FCS_RNG.1.1-A1/1"] == ["TEST"] and methods["AVA_VAN.5.1-A1/1"] == ["EXAMINE"]
    waived = next(f for f in res["findings"] if f["target"]["target-id"] == "FPT_FLS.1")
    assert waived["target"]["remarks"] == "fail (waived): W-1"


def test_oscal_evidence_is_back_matter_with_sha256(synthetic: EvaluationResult) -> None:
    ar = _ar(synthetic)
    resources = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    obs = ar["results"][0]["observations"][0]
    (ev,) = obs["relevant-evidence"]
    target = resources[ev["href"].removeprefix("#")]
    assert target["rlinks"][0]["hashes"] == [{"algorithm": "SHA-256", "value": "a" * 64}]
    assert ar["import-ap"]["href"].removeprefix("#") in resources


def test_oscal_uuids_are_deterministic_version_5(synthetic: EvaluationResult) -> None:
    first, second = render_oscal(synthetic), render_oscal(make_result())
    assert first == second
    ar = json.loads(first)["assessment-results"]
    u = uuid.UUID(ar["uuid"])
    assert u.version == 5 and u != uuid.uuid5(NAMESPACE, "")
    # A different input (another evidence hash) gives another document identity.
    other = make_result(extra_inputs=(InputFile(role="evidence:x", path="x.bin",
                                                sha256="c" * 64, size_bytes=1),))
    assert _ar(other)["uuid"] != ar["uuid"]


def test_the_validator_rejects_broken_documents(synthetic: EvaluationResult) -> None:
    doc = json.loads(render_oscal(synthetic))
    doc["assessment-results"]["results"][0]["observations"][0]["methods"] = []
    doc["assessment-results"]["uuid"] = "not-a-uuid"
    errors = oscal_errors(doc)
    assert len(errors) == 2, errors


@pytest.mark.parametrize(("text", "expected"), [("FCS_CKM.1", "FCS_CKM.1"),
                                                ("FCS_CKM.1/QKD", "FCS_CKM.1_QKD"),
                                                ("1abc", "_1abc")])
def test_requirement_ids_become_oscal_tokens(text: str, expected: str) -> None:
    assert token(text) == expected


def _junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(JUNIT_XSD)))


def test_junit_validates_against_the_xsd(demo_outputs: Path, synthetic: EvaluationResult) -> None:
    schema = _junit_schema()
    demo = etree.parse(str(demo_outputs / "results.junit.xml"))
    assert schema.validate(demo), schema.error_log
    doc = etree.fromstring(render_junit(synthetic))
    assert schema.validate(doc), schema.error_log
    cases = doc.findall(".//testcase")
    assert len(cases) == len(synthetic.checks())
    failure = doc.find(".//testcase/failure")
    assert failure is not None
    assert failure.get("message") == "2 alarms without abort"
    assert failure.get("type") == "fail (waived)"
    assert doc.get("failures") == "1" and doc.get("errors") == "1"


def test_junit_xsd_rejects_a_suite_without_counts() -> None:
    bad = etree.fromstring(b"<testsuites><testsuite name='x'><testcase name='c'/></testsuite>"
                           b"</testsuites>")
    assert not _junit_schema().validate(bad)


def test_junit_survives_control_characters() -> None:
    from evaltool.model.results import RequirementResult
    from evaltool.model.verdict import Verdict
    from tests.report.conftest import make_check

    result = make_result(requirements=(RequirementResult(
        requirement_id="FPT_TST.1", title="t",
        checks=(make_check("FPT_TST.1", 1, Verdict.FAIL, reason="bad\x00\x1b[31m</failure>"),)),))
    doc = etree.fromstring(render_junit(result))
    assert _junit_schema().validate(doc)
    assert doc.find(".//failure").get("message") == "bad\ufffd\ufffd[31m</failure>"
