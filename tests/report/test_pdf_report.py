"""The HTML/PDF evaluation report: sections, verdicts, PDF/A-3 attachments, bookmarks, plots."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pypdf
import pytest

from evaltool.model.results import EvaluationResult
from evaltool.report.canonical import DIGEST_NAME, sha256_hex
from evaltool.report.html import MAX_TEXT, render_html
from evaltool.report.outputs import OUTPUT_NAMES, write_outputs
from evaltool.report.plots import plot_series

pytestmark = pytest.mark.pdf

SECTIONS = ("Executive summary", "Verdict matrix", "Traceability", "Results per requirement",
            "Waivers and attestations", "Statistical appendix", "Assurance model", "Provenance")


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages)


def test_demo_audit_writes_the_five_outputs_and_a_digest(demo_outputs: Path) -> None:
    # Issue 8 acceptance: report.pdf, report.html, results.json, results.junit.xml,
    # results.oscal.json.
    names = {p.name for p in demo_outputs.iterdir()}
    assert set(OUTPUT_NAMES.values()) <= names
    data = (demo_outputs / "results.json").read_bytes()
    assert (demo_outputs / DIGEST_NAME).read_text() == f"{sha256_hex(data)}  results.json\n"


def test_pdf_text_names_every_requirement_with_its_verdict(demo_outputs: Path) -> None:
    text = pdf_text(demo_outputs / "report.pdf")
    flat = re.sub(r"\s+", " ", text)
    results = json.loads((demo_outputs / "results.json").read_text())
    assert results["requirements"], "the demo evaluates at least one requirement"
    for req in results["requirements"]:
        # Each requirement's section heading is followed by "Verdict: <verdict>".
        pattern = re.escape(req["requirement_id"]) + r" — .*?Verdict: " + req["verdict"]
        assert re.search(pattern, flat), req["requirement_id"]
    for title in SECTIONS:
        assert title in text
    assert f"Overall verdict: {results['verdict'].upper()}" in text
    assert results["provenance"]["inputs"][0]["sha256"][:32] in flat.replace(" ", "")


def test_pdf_is_pdfa3b_and_carries_the_machine_readable_results(demo_outputs: Path) -> None:
    raw = (demo_outputs / "report.pdf").read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(raw))
    xmp = reader.xmp_metadata
    assert xmp is not None
    # PDF/A identification schema (ISO 19005-3 §6.6.4): part 3, conformance level B.
    xml = xmp.rdf_root.toxml()
    assert re.search(r"pdfaid:part[^0-9]{1,3}3", xml)
    assert re.search(r"pdfaid:conformance[^A-Z]{1,3}B", xml)
    assert "/OutputIntents" in reader.trailer["/Root"]
    attachments = reader.attachments
    for name in ("results.json", "results.junit.xml", "results.oscal.json"):
        assert attachments[name] == [(demo_outputs / name).read_bytes()], name
    assert {"measurements.csv", "inputs.csv"} <= set(attachments)
    # PDF/A-3 associated files (ISO 19005-3 §6.8): the catalog lists them in /AF and each file
    # specification states its relationship to the document.
    root = reader.trailer["/Root"]
    assert "/AF" in root
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    specs = {names[i]: names[i + 1].get_object() for i in range(0, len(names), 2)}
    assert specs["results.json"]["/AFRelationship"] == "/Data"
    assert specs["inputs.csv"]["/AFRelationship"] == "/Source"


def test_pdf_has_bookmarks_toc_and_page_numbers(demo_outputs: Path) -> None:
    reader = pypdf.PdfReader(demo_outputs / "report.pdf")
    top = [o.title for o in reader.outline if not isinstance(o, list)]
    assert [t for t in top if t[0].isdigit()] == [f"{i} {s}" for i, s in enumerate(SECTIONS, 1)]
    n = len(reader.pages)
    assert f"Page {n} of {n}" in reader.pages[-1].extract_text()
    # The contents give each chapter's page after a leader, as the page shows it ("... 3"),
    # and that page is the one the chapter's bookmark opens.
    toc = reader.pages[1].extract_text(extraction_mode="layout")
    assert "Contents" in toc
    for item in reader.outline:
        if isinstance(item, list) or not item.title[0].isdigit():
            continue
        printed = re.search(re.escape(item.title) + r"\s*\.{3,}\s*(\d+)", toc)
        assert printed, item.title
        assert int(printed.group(1)) == reader.get_destination_page_number(item) + 1, item.title
    # Every page carries its number (WeasyPrint's counter(page) and counter(pages)).
    for i, page in enumerate(reader.pages, 1):
        assert f"Page {i} of {n}" in page.extract_text(), i


def test_synthetic_report_orders_failures_first_and_shows_waivers(synthetic: EvaluationResult,
                                                                 tmp_path: Path) -> None:
    written = write_outputs(synthetic, tmp_path, [])
    assert written == {}
    html = render_html(synthetic, results_sha256="0" * 64, plot=plot_series)
    summary = html.split('<table class="summary">', 1)[1].split("</table>", 1)[0]
    order = re.findall(r'href="#req-\d+">([A-Z_.0-9]+)</a>', summary)
    # fail first, then inconclusive, then pass, then not applicable
    assert order == ["FPT_FLS.1", "FCS_RNG.1", "AVA_VAN.5", "FTP_ITC.1"]
    assert "fail (waived)" in html and "W-1" in html
    assert "attested by E. Valuator" in html
    # two series on one check -> two embedded SVG plots, nothing else embedded
    assert html.count('src="data:image/svg+xml;base64,') == 2
    assert "matrix" in html and "rng" in html and "manual" in html
    methods = html.split('<table class="methods">', 1)[1].split("</table>", 1)[0]
    # five checks: telemetry.range x2, rng.sp800-22, rng.sp800-90b, manual (one row each)
    assert methods.count("<tr><td><code>") == 4
    assert "<code>telemetry.range</code></td><td>ETSI GS QKD 016 (test)</td><td>2</td>" in methods


def test_long_strings_are_clipped_in_the_report(tmp_path: Path) -> None:
    from evaltool.model.results import RequirementResult
    from evaltool.model.verdict import Verdict
    from tests.report.conftest import make_check, make_result

    reason = "x" * (MAX_TEXT * 3)
    result = make_result(requirements=(RequirementResult(
        requirement_id="FPT_TST.1", title="t",
        checks=(make_check("FPT_TST.1", 1, Verdict.PASS, reason=reason),)),))
    html = render_html(result, results_sha256="0" * 64)
    assert "x" * MAX_TEXT in html and "x" * (MAX_TEXT + 1) not in html
    assert f"[{MAX_TEXT * 2} more characters not shown" in html


def test_traceability_chain_is_rendered_with_rolled_up_verdicts(
        synthetic: EvaluationResult) -> None:
    html = render_html(synthetic, results_sha256="0" * 64)
    trace = html.split('<h2 id="trace">', 1)[1].split("</section>", 1)[0]
    # T.INTERCEPT -> O.ABORT (fail: FPT_FLS.1 fails) and OE.FIBRE (environment: not-applicable);
    # CEM roll-up: the fail dominates.
    row = trace.split("T.INTERCEPT", 1)[1].split("</tr>", 1)[0]
    assert 'O.ABORT <span class="badge v-fail">fail</span>' in row
    assert 'OE.FIBRE <span class="badge v-not-applicable">not-applicable</span>' in row
    assert row.rstrip().endswith('<span class="badge v-fail">fail</span></td>')
    objective = trace.split("<td>O.ABORT</td>", 1)[1].split("</tr>", 1)[0]
    assert '>FPT_FLS.1</a> <span class="badge v-fail">fail</span>' in objective
    assert "FCS_RNG.1.1-A1" in objective and "FCS_RNG.1.1-A2" in objective
