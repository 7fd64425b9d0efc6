"""The report's tables stay inside the text block and no word is drawn over another, read from the
word boxes of the rendered PDF (pdfplumber)."""

from __future__ import annotations

import io
from pathlib import Path

import pdfplumber
import pytest

from evaltool.model.results import EvaluationResult, RequirementResult, Series
from evaltool.model.verdict import Verdict
from evaltool.report.html import render_html
from evaltool.report.pdf import render_pdf
from evaltool.report.plots import plot_series
from tests.report.conftest import make_check, make_result

pytestmark = pytest.mark.pdf

MM = 72 / 25.4
# report.css: @page { size: A4; margin: 18mm 16mm 20mm 16mm }
LEFT, RIGHT, TOP, BOTTOM = 16 * MM, 16 * MM, 18 * MM, 20 * MM
TOLERANCE = 0.5
"""Points a glyph box may pass an edge or another box by (rounding of the font's boxes)."""

# The eight kinds of check of the demo profile: eight matrix columns.
KINDS = ("claims.consistency", "leakage.tvla", "manual", "monitor.alarm", "protocol.bounds",
         "sp800-22.battery", "sp800-90b.iid", "telemetry.range")


# Series whose plots and summary rows were the tightest: tick labels such as "3.52e-05", and a
# threshold column.
SERIES = (Series(name="mi_upper_bound", unit="bit", values=(3.30e-5, 3.44e-5, 3.58e-5),
                 x=(1.0, 2.0, 3.0), x_name="feature"),
          Series(name="qber_key", unit="ratio", values=(0.012484, 0.012746, 0.0125),
                 x=(1.0, 2.0, 3.0), x_name="block", threshold=5.46882, passes_if="<=",
                 marks=(2.0,), marks_label="abort"))


def demo_like_result() -> EvaluationResult:
    """A result shaped like the demo audit's where its layout was at its tightest: eight kinds
    of check (matrix columns), a requirement not applicable in several of them, long and
    provisional requirement ids, long activity lists, plots with long tick labels."""
    verdicts = (Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PASS)
    reqs = [RequirementResult(
        requirement_id=rid, title="Random number generation (receiver basis choice)",
        provisional=i % 3 == 0,
        checks=tuple(make_check(rid, k, verdicts[(i + k) % 4] if i else Verdict.NOT_APPLICABLE,
                                kind=KINDS[(i + k) % len(KINDS)],
                                reason="not selected in the ST" if i == 0 else "a reason",
                                series=SERIES[k - 1:k] if i == 2 else ())
                     for k in range(1, 2 + i % 6)))
        for i, rid in enumerate(("FCS_RNG.1/RX", "FCS_COP.1/AUTH", "FPT_ODC.1", "FCS_CKM.1/QKD",
                                 "FTP_ITC.1", "ADV_IMP.1", "FPT_FLS.1", "AVA_VAN.5"))]
    return make_result(requirements=tuple(reqs))


Page = tuple[float, float, list[dict], list[dict], list[list[tuple[float, float, float, float]]]]
"""Width, height, words, characters and the cell boxes of each table of one page."""


def read_pages(pdf: bytes) -> list[Page]:
    """The words, characters and table cells (found from their ruled borders) of each page."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [(p.width, p.height, p.extract_words(), [c for c in p.chars if c["text"].strip()],
                 [[c for c in t.cells if c is not None] for t in p.find_tables()])
                for p in doc.pages]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[Page]:
    """The pages of the demo-like report."""
    html = render_html(demo_like_result(), results_sha256="0" * 64, plot=plot_series)
    return read_pages(render_pdf(html, tmp_path_factory.mktemp("layout")))


def _body(page: Page, boxes: list[dict]) -> list[dict]:
    """The boxes of a page's text block (the running header and footer sit in its margins)."""
    height = page[1]
    return [w for w in boxes if w["top"] >= TOP - TOLERANCE
            and w["bottom"] <= height - BOTTOM + TOLERANCE]


def _inside(w: dict, cell: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = cell
    return (w["x0"] >= x0 - TOLERANCE and w["x1"] <= x1 + TOLERANCE
            and w["top"] >= top - TOLERANCE and w["bottom"] <= bottom + TOLERANCE)


def _meets(w: dict, cell: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = cell
    return (min(w["x1"], x1) - max(w["x0"], x0) > TOLERANCE
            and min(w["bottom"], bottom) - max(w["top"], top) > TOLERANCE)


def test_the_layout_fixture_holds_the_tables_that_overflowed(pages: list[Page]) -> None:
    text = " ".join(w["text"] for p in pages for w in p[2])
    assert "Verdict matrix" in text and "sp800-90b" in text and "telemetry" in text
    assert "not-applicable" in text and "FCS_COP.1/AUTH" in text
    assert "3.52e-05" in text and "Threshold" in text  # a plot's tick label, the series table
    # Summary, matrix, traceability (2), checks, appendix, methods, inputs and more: the
    # checks below see the tables' cells.
    assert sum(len(p[4]) for p in pages) >= 8


def test_no_text_leaves_the_text_block(pages: list[Page]) -> None:
    outside = [(number, w["text"], round(w["x0"], 1), round(w["x1"], 1))
               for number, page in enumerate(pages, 1) for w in _body(page, page[2])
               if w["x0"] < LEFT - TOLERANCE or w["x1"] > page[0] - RIGHT + TOLERANCE]
    assert outside == []


def test_table_text_stays_in_its_cell(pages: list[Page]) -> None:
    """Every word that touches a table lies inside one of its cells (no badge or heading runs
    into the next column)."""
    spilled = [(number, w["text"]) for number, page in enumerate(pages, 1)
               for cells in page[4] for w in page[2]
               if any(_meets(w, c) for c in cells) and not any(_inside(w, c) for c in cells)]
    assert spilled == []


def test_no_two_characters_overlap(pages: list[Page]) -> None:
    """No glyph is drawn over another, apart from neighbours in the text, which kerning may
    move into each other ("Tr")."""
    overlaps = []
    for number, page in enumerate(pages, 1):
        body = {id(c) for c in _body(page, page[3])}
        chars = sorted(((k, c) for k, c in enumerate(page[3]) if id(c) in body),
                       key=lambda kc: kc[1]["x0"])
        for i, (ka, a) in enumerate(chars):
            for kb, b in chars[i + 1:]:
                if b["x0"] >= a["x1"]:
                    break  # sorted by left edge: no later glyph reaches back into ``a``
                if abs(ka - kb) == 1:
                    continue
                dx = min(a["x1"], b["x1"]) - b["x0"]
                dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
                narrow = min(a["x1"] - a["x0"], b["x1"] - b["x0"])
                if dx > max(TOLERANCE, narrow / 3) and dy > TOLERANCE:
                    overlaps.append((number, a["text"], b["text"], round(a["x0"], 1),
                                     round(a["top"], 1)))
    assert overlaps == []


def test_the_checks_catch_an_overflowing_table(tmp_path: Path) -> None:
    """The checks above find the defect they guard against: a table wider than the page."""
    html = render_html(demo_like_result(), results_sha256="0" * 64).replace(
        "table { border-collapse: collapse; width: 100%;",
        "table { border-collapse: collapse; width: 130%;", 1)
    assert "width: 130%" in html
    page = read_pages(render_pdf(html, tmp_path))[2]
    assert any(w["x1"] > page[0] - RIGHT + TOLERANCE for w in _body(page, page[2]))
