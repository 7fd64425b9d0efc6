"""JUnit XML for vendors' CI: one testcase per check (fail = failure, inconclusive = error)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evaltool.model.results import EvaluationResult
from evaltool.model.verdict import Verdict


def clean(text: str) -> str:
    """``text`` with the control characters XML 1.0 forbids replaced (device strings may hold
    them)."""
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 32 else "\ufffd" for ch in text)



def add_outcome(case: ET.Element, verdict: Verdict, text: str, fail_type: str = "fail") -> None:
    """The JUnit element of ``verdict`` inside ``case``: fail = failure, inconclusive = error,
    not applicable = skipped, pass = the text as system-out."""
    if verdict is Verdict.FAIL:
        ET.SubElement(case, "failure", message=text, type=fail_type).text = text
    elif verdict is Verdict.INCONCLUSIVE:
        ET.SubElement(case, "error", message=text, type="inconclusive").text = text
    elif verdict is Verdict.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=text)
    else:
        ET.SubElement(case, "system-out").text = text


def render_junit(result: EvaluationResult) -> bytes:
    """The JUnit XML document of ``result`` (UTF-8 bytes)."""
    checks = result.checks()
    counts = result.counts
    suites = ET.Element("testsuites", name="evaltool", tests=str(len(checks)),
                        failures=str(counts["fail"]), errors=str(counts["inconclusive"]))
    for req in result.requirements:
        suite = ET.SubElement(
            suites, "testsuite", name=clean(req.requirement_id), tests=str(len(req.checks)),
            failures=str(sum(c.verdict is Verdict.FAIL for c in req.checks)),
            errors=str(sum(c.verdict is Verdict.INCONCLUSIVE for c in req.checks)),
            skipped=str(sum(c.verdict is Verdict.NOT_APPLICABLE for c in req.checks)),
        )
        for c in req.checks:
            case = ET.SubElement(suite, "testcase", classname=clean(req.requirement_id),
                                 name=clean(f"{c.check_id} [{c.kind}]"))
            add_outcome(case, c.verdict, clean(c.reason),
                        "fail (waived)" if c.waived_by else "fail")
    ET.indent(suites)
    body: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
