"""The split path of the report PDF (forced on here; long reports take it by default): cutting,
planning, stubs, outline, numbering, joining, and its fallback to the whole render."""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path

import pikepdf
import pypdf
import pytest

from evaltool.model.results import EvaluationResult
from evaltool.report.html import render_html
from evaltool.report.pdf import IsolatedRenderer, PdfAttachment, render_pdf, split
from evaltool.report.pdf.join import FONT_NAME, NumberSetter, _runs
from evaltool.report.pdf.render import SLOT, Layout, render_document
from evaltool.report.plots import plot_series
from tests.report.conftest import make_result


@pytest.fixture(scope="module")
def report_html() -> str:
    return render_html(make_result(), results_sha256="0" * 64, plot=plot_series)


def test_the_template_is_cut_losslessly_at_its_marks(report_html: str) -> None:
    source = split.parse(report_html)
    assert source is not None
    body = report_html[report_html.index(">", report_html.index("<body")) + 1:
                       report_html.rindex("</body>")]
    assert source.front + "".join(source.units) == body.replace(split.FRONT, "", 1)
    assert 'class="cover"' in source.front and 'nav class="toc"' in source.front
    assert all(u.startswith(split.UNIT) for u in source.units)
    # summary, matrix, traceability, 4 requirements, waivers, appendix, method, provenance
    assert len(source.units) == 3 + 4 + 4
    # A requirement section continues chapter 4 (its running header), a chapter opens its own;
    # the first requirement's unit carries the chapter heading.
    assert source.chapters[:4] == ("", "", "", "")
    assert source.chapters[4:7] == ("4 Results per requirement",) * 3
    assert source.chapters[7:] == ("", "", "", "")


def test_a_part_that_starts_inside_chapter_4_names_each_later_chapter(
        report_html: str, tmp_path: Path) -> None:
    # Units 4-6 continue chapter 4; a part from unit 5 to the end goes on into chapters 5-8.
    # Its pages before chapter 5 name chapter 4, and no page from chapter 5 on does (the name
    # was once set on the body, which set it again on every page the body continued onto).
    source = split.parse(report_html)
    assert source is not None and source.chapters[5] == "4 Results per requirement"
    part = split.part_html(source, range(5, len(source.units)))
    pdf, _ = render_document(part.html, tmp_path)
    texts = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    assert "4 Results per requirement" in texts[0]
    waivers = next(i for i, t in enumerate(texts) if "5 Waivers and attestations" in t)
    assert waivers > 0
    assert not any("4 Results per requirement" in t for t in texts[waivers:])
    assert "6 Statistical appendix" in texts[-1] or "8 Provenance" in texts[-1]


def test_a_document_without_marks_is_not_cut() -> None:
    assert split.parse("<html><body><p>x</p></body></html>") is None


def test_the_plan_cuts_where_the_larger_part_is_smallest(report_html: str) -> None:
    source = split.parse(report_html)
    assert source is not None
    w = [split.weight(u) for u in source.units]
    for first, last in ((0.0, 0.0), (0.0, 30_000.0), (40_000.0, 0.0)):
        a, b = split.plan(source, first=first, last=last)
        assert a.start == 0 and a.stop == b.start and b.stop == len(source.units)
        best = min(max(first + sum(w[:c]), sum(w[c:]) + last) for c in range(1, len(w)))
        assert max(first + sum(w[a.start:a.stop]), sum(w[b.start:b.stop]) + last) == best
    # Work added to the second process moves the cut to the back.
    assert split.plan(source, last=30_000.0)[0].stop >= split.plan(source)[0].stop


def test_weights_count_plots_cells_and_breaks_not_data_uris() -> None:
    plot = '<img src="data:image/svg+xml;base64,' + "A" * 10_000 + '">'
    assert split.weight(plot) == len('<img src="">') + split.PLOT_WEIGHT
    assert split.weight("<td>x</td>") == 10 + split.CELL_WEIGHT
    assert split.weight("a<br>b") == 6 + split.BREAK_WEIGHT


def test_each_part_holds_placeholders_for_the_anchors_its_links_leave_it_for(
        report_html: str) -> None:
    source = split.parse(report_html)
    assert source is not None
    a_range, b_range = split.plan(source)
    a, b = split.part_html(source, a_range), split.part_html(source, b_range)
    front = split.front_html(source)
    # The summary (part A) links to every requirement; those in part B are stubs in A.
    in_b = set(re.findall(r'<h3 id="([^"]+)"', "".join(source.units[i] for i in b_range)))
    assert in_b and in_b <= a.stubs
    assert not a.stubs & set(re.findall(r'<h3 id="([^"]+)"', a.html.split("<span id=")[0]))
    # The contents link to every chapter and requirement: all of them are stubs in the front.
    assert {"summary", "results", "provenance"} <= front.stubs
    # Stubs are empty spans inside the first heading (they change no layout).
    first_heading = re.search(r"<h[1-6][^>]*>.*?</h[1-6]>", a.html, re.S)
    assert first_heading and '<span id="' in first_heading.group(0)
    # A part that starts inside chapter 4 names it for its running header.
    if source.chapters[b_range.start]:
        assert 'data-section="4 Results per requirement"' in b.html
    # No part draws page numbers; the front leaves a slot per contents entry.
    assert all("@bottom-right { content: none; }" in p.html for p in (a, b, front))
    assert front.html.count(f'id="{SLOT}') == len(re.findall(r'<a href="#', source.front))


def test_bookmarks_nest_across_parts_and_pages_are_offset() -> None:
    front = Layout(2, bookmarks=((1, "Contents", 1, 0, 800, True),))
    a = Layout(3, bookmarks=((1, "4 Results", 0, 0, 700, True), (2, "R1", 1, 0, 600, True)))
    b = Layout(4, bookmarks=((2, "R2", 0, 0, 500, False), (1, "5 Waivers", 3, 0, 400, True)))
    tree = split.outline([front, a, b])
    assert [n.label for n in tree] == ["Contents", "4 Results", "5 Waivers"]
    results = tree[1]
    # R2 starts part B, whose own PDF would make it a top-level bookmark: here it is a child.
    assert [(c.label, c.page, c.open) for c in results.children] == [("R1", 3, True),
                                                                     ("R2", 5, False)]
    assert tree[2].page == 2 + 3 + 3
    numbers = split.page_numbers([a, b], offset=2)
    assert numbers == {}
    a2 = Layout(3, anchors=(("x", 2, 0, 0), ("y", 0, 0, 0)))
    b2 = Layout(4, anchors=(("x", 1, 0, 0), ("z", 3, 0, 0)))
    assert split.page_numbers([a2, b2], offset=2) == {"x": 5, "y": 3, "z": 9}


def test_layout_survives_its_json_round_trip() -> None:
    lay = Layout(3, anchors=(("a", 0, 1.5, 2.25),), bookmarks=((2, "B", 1, 3.0, 4.0, False),),
                 slots=((SLOT + "0", 2, 1.0, 2.0, 3.0, 4.0),))
    assert Layout.from_json(lay.to_json()) == lay


def _footer_run(pdf_bytes: bytes) -> object:
    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    runs, _ = _runs(pdf.pages[0], pikepdf)
    return max(runs, key=lambda r: r.y)


def test_page_numbers_are_set_exactly_as_weasyprint_sets_the_footer(report_html: str,
                                                                     tmp_path: Path) -> None:
    """The joiner's "Page 7 of 12" has WeasyPrint's glyphs, kerning, size, colour and position."""
    source = split.parse(report_html)
    assert source is not None
    sample, _ = render_document(split.sample_html(source).html, tmp_path)
    text = "Page 7 of 12"
    reference_html = split.sample_html(source).html.replace(split.FOOTER_SAMPLE, text)
    reference, _ = render_document(reference_html, tmp_path)
    target = pikepdf.new()
    setter = NumberSetter.from_sample(pikepdf.open(io.BytesIO(sample)), target, pikepdf)
    ours = setter._show(text, setter.footer, setter.footer_right, setter.footer.y,
                        setter.footer.size)
    page = target.add_blank_page()
    page.obj.Contents = target.make_stream(ours)
    (run,), _ = _runs(page, pikepdf)
    ref = _footer_run(reference)
    assert run.glyphs == ref.glyphs and run.kerns == ref.kerns  # type: ignore[attr-defined]
    assert run.size == ref.size and run.color == ref.color  # type: ignore[attr-defined]
    assert run.ctm == pytest.approx(ref.ctm)  # type: ignore[attr-defined]
    # Pango places glyphs in 1/1024 units, the PDF's widths are whole 1/1000 em: the start of
    # the right-aligned text may differ by a few hundredths of a pixel (0.018 px measured).
    assert run.x == pytest.approx(ref.x, abs=0.05)  # type: ignore[attr-defined]
    assert run.y == pytest.approx(ref.y, abs=1e-6)  # type: ignore[attr-defined]


def test_joined_report_numbers_links_and_attachments(tmp_path: Path) -> None:
    result: EvaluationResult = make_result()
    html = render_html(result, results_sha256="0" * 64, plot=plot_series)
    data = b'{"a": 1}\n' * 1000
    pdf = render_pdf(html, tmp_path, attachments=(
        PdfAttachment("results.json", data, "the results", "Data"),
        PdfAttachment("inputs.csv", b"role,path\n", "inputs", "Source")), parts=True)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    n = len(reader.pages)
    texts = [p.extract_text() for p in reader.pages]
    for i, text in enumerate(texts, 1):
        assert text.count(f"Page {i} of {n}") == 1, i
    # Every link reaches a named destination, and each requirement's destination is the page
    # that shows its heading.
    dests = reader.named_destinations
    links = [a.get_object() for p in reader.pages for a in (p.get("/Annots") or [])]
    internal = [str(a["/Dest"]) for a in links if "/Dest" in a]
    assert internal and all(d in dests for d in internal)
    for i, req in enumerate(result.requirements, 1):
        page = reader.get_destination_page_number(dests[f"req-{i}"])
        assert f"{req.requirement_id} \u2014" in texts[page], req.requirement_id
    # The running header names the chapter on every page of chapter 4, also after the cut.
    results_pages = [i for i, t in enumerate(texts) if "Verdict:" in t and "\u2014" in t]
    assert all("4 Results per requirement" in texts[i] for i in results_pages)
    # The contents' numbers sit on their entries' baselines and end at the right margin.
    joined = pikepdf.open(io.BytesIO(pdf))
    runs, _ = _runs(joined.pages[1], pikepdf)
    ours = [r for r in runs if r.font == "/" + FONT_NAME]
    footer = max(ours, key=lambda r: r.y)
    numbers = [r for r in ours if r is not footer]
    entries = len(re.findall(r'<a href="#', html.split('<nav class="toc">')[1].split("</nav>")[0]))
    assert len(numbers) == entries
    baselines = {round(r.y, 3) for r in runs if r.font != "/" + FONT_NAME}
    assert all(round(r.y, 3) in baselines for r in numbers)
    by_width: dict[tuple[int, float], set[float]] = {}
    for r in numbers:
        by_width.setdefault((len(r.glyphs), r.size), set()).add(round(r.x, 2))
    assert all(len(xs) == 1 for xs in by_width.values())  # right-aligned
    # Attachments: PDF/A-3 associated files with size, MD5 and MIME type.
    root = reader.trailer["/Root"]
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    specs = {names[k]: names[k + 1].get_object() for k in range(0, len(names), 2)}
    assert [s.get_object()["/F"] for s in root["/AF"]] == ["results.json", "inputs.csv"]
    stream = specs["results.json"]["/EF"]["/F"].get_object()
    assert stream.get_data() == data
    assert stream["/Subtype"] == "/application/json"
    assert stream["/Params"]["/Size"] == len(data)
    assert stream["/Params"]["/CheckSum"].original_bytes == hashlib.md5(data).digest()
    assert specs["inputs.csv"]["/AFRelationship"] == "/Source"


def test_the_two_rendering_processes_are_one_group_and_leave_nothing_behind(
        report_html: str, tmp_path: Path) -> None:
    renderer = IsolatedRenderer()
    try:
        pdf = renderer.render(report_html, tmp_path, parts=True)
    finally:
        renderer.close()
    assert pdf == render_pdf(report_html, tmp_path, parts=True)  # same bytes in one process
    with pikepdf.open(io.BytesIO(pdf)) as doc:  # joined: the joiner set the page numbers
        assert f"/{FONT_NAME}" in doc.pages[0].Resources.Font
    with pytest.raises(ProcessLookupError):
        os.killpg(renderer._proc.pid, 0)  # the forked process is gone too


def _group_members(pgid: int) -> list[int]:
    """Live rendering processes of a process group (not helpers such as ldconfig)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            if (int(fields[2]) == pgid and fields[0] != "Z"
                    and b"evaltool.report.pdf.worker" in cmdline):
                members.append(int(entry))
    return members


def _forked_renderers(pgid: int, timeout_s: float = 60.0) -> list[int]:
    """The rendering processes of group ``pgid`` once the first has forked the second.

    The first process forks once WeasyPrint is loaded; while loading, it may fork short-lived
    helpers (ctypes' ldconfig) that carry its command line until they exec, so a single look can
    count one of them: wait until the same two or more processes are seen five times in a row.
    """
    import time

    deadline = time.monotonic() + timeout_s
    seen: list[list[int]] = []
    while time.monotonic() < deadline and not (
            len(seen) >= 5 and len(seen[-1]) >= 2 and all(m == seen[-1] for m in seen[-5:])):
        seen.append(sorted(_group_members(pgid)))
        time.sleep(0.05)
    return seen[-1] if seen else []


def test_a_rendering_process_that_dies_fails_the_render_and_nothing_hangs(
        report_html: str, tmp_path: Path) -> None:
    import signal

    from evaltool.errors import ReportError

    renderer = IsolatedRenderer()
    pgid = renderer._proc.pid
    try:
        members = _forked_renderers(pgid)
        forked = [p for p in members if p != pgid]
        assert forked, members
        os.kill(forked[0], signal.SIGKILL)
        with pytest.raises(ReportError, match="stopped"):
            renderer.render(report_html, tmp_path, parts=True)  # a job for each process
    finally:
        renderer.close()
    assert _group_members(pgid) == []
    assert list(tmp_path.iterdir()) == []


def test_the_report_names_the_pdf_renderer_and_its_font_subsetter(report_html: str) -> None:
    import ctypes.util
    from importlib.metadata import version

    row = re.search(r"<th>PDF renderer</th><td>([^<]*)</td>", report_html)
    assert row
    assert f"weasyprint {version('weasyprint')}" in row.group(1)
    assert f"pikepdf {version('pikepdf')}" in row.group(1)
    subsetter = "HarfBuzz" if ctypes.util.find_library("harfbuzz-subset") else "fontTools"
    assert row.group(1).endswith(f"fonts subset with {subsetter}")
