"""JUnit XML for vendors' CI: one testcase per check (fail = failure, inconclusive = error)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evaltool.model.results import EvaluationResult
from evaltool.model.verdict import Verdict


def _clean(text: str) -> str:
    # XML 1.0 forbids most control characters; device strings may contain them.
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 32 else "\ufffd" for ch in text)


def render_junit(result: EvaluationResult) -> bytes:
    """The JUnit XML document of ``result`` (UTF-8 bytes)."""
    checks = result.checks()
    counts = result.counts
    suites = ET.Element("testsuites", name="evaltool", tests=str(len(checks)),
                        failures=str(counts["fail"]), errors=str(counts["inconclusive"]))
    for req in result.requirements:
        suite = ET.SubElement(
            suites, "testsuite", name=_clean(req.requirement_id), tests=str(len(req.checks)),
            failures=str(sum(c.verdict is Verdict.FAIL for c in req.checks)),
            errors=str(sum(c.verdict is Verdict.INCONCLUSIVE for c in req.checks)),
            skipped=str(sum(c.verdict is Verdict.NOT_APPLICABLE for c in req.checks)),
        )
        for c in req.checks:
            case = ET.SubElement(suite, "testcase", classname=_clean(req.requirement_id),
                                 name=_clean(f"{c.check_id} [{c.kind}]"))
            reason = _clean(c.reason)
            if c.verdict is Verdict.FAIL:
                label = "fail (waived)" if c.waived_by else "fail"
                ET.SubElement(case, "failure", message=reason, type=label).text = reason
            elif c.verdict is Verdict.INCONCLUSIVE:
                ET.SubElement(case, "error", message=reason, type="inconclusive").text = reason
            elif c.verdict is Verdict.NOT_APPLICABLE:
                ET.SubElement(case, "skipped", message=reason)
            else:
                ET.SubElement(case, "system-out").text = reason
    ET.indent(suites)
    body: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
