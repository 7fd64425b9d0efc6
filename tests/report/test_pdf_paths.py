"""Which path makes the report PDF: the whole render by default, the split above a measured size,
and the whole render again whenever splitting or joining fails."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pypdf
import pytest

from evaltool.errors import ReportError
from evaltool.report.html import render_html
from evaltool.report.outputs import OutputFormat, write_outputs
from evaltool.report.pdf import IsolatedRenderer, PdfAttachment, build, join, render_pdf, split
from evaltool.report.pdf.render import Layout
from evaltool.report.plots import plot_series
from tests.report.conftest import make_result

pytestmark = pytest.mark.pdf

ATTACHMENTS = (PdfAttachment("results.json", b'{"a": 1}\n' * 100, "the results", "Data"),
               PdfAttachment("inputs.csv", b"role,path\n", "inputs", "Source"))


def stamped(pdf: bytes) -> bool:
    """Whether the joiner set the page numbers (its font is on the first page)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return f"/{join.FONT_NAME}" in doc.pages[0].Resources.Font


@pytest.fixture(scope="module")
def report_html() -> str:
    return render_html(make_result(), results_sha256="0" * 64, plot=plot_series)


@pytest.fixture(scope="module")
def whole(report_html: str, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The synthetic report rendered whole, in this process."""
    return render_pdf(report_html, tmp_path_factory.mktemp("whole"), attachments=ATTACHMENTS,
                      parts=False)


def test_a_short_report_is_rendered_whole_with_native_page_numbers(
        report_html: str, whole: bytes, tmp_path: Path) -> None:
    source = split.parse(report_html)
    assert source is not None and split.cost(source) < split.SPLIT_ABOVE
    assert render_pdf(report_html, tmp_path, attachments=ATTACHMENTS) == whole  # the default
    assert not stamped(whole)  # nothing was joined or stamped
    reader = pypdf.PdfReader(io.BytesIO(whole))
    n = len(reader.pages)
    texts = [p.extract_text() for p in reader.pages]
    for i, text in enumerate(texts, 1):
        assert text.count(f"Page {i} of {n}") == 1, i
    # WeasyPrint's target-counter() gives each contents entry the page its bookmark opens.
    toc = reader.pages[1].extract_text(extraction_mode="layout")
    checked = 0
    for item in reader.outline:
        if isinstance(item, list) or not item.title[0].isdigit():
            continue
        printed = re.search(re.escape(item.title) + r"\s*\.{3,}\s*(\d+)", toc)
        assert printed, item.title
        assert int(printed.group(1)) == reader.get_destination_page_number(item) + 1
        checked += 1
    assert checked == 8
    root = reader.trailer["/Root"]
    assert [s.get_object()["/F"] for s in root["/AF"]] == ["results.json", "inputs.csv"]
    assert reader.attachments["results.json"] == [ATTACHMENTS[0].data]


def test_a_long_report_is_rendered_in_parts(monkeypatch: pytest.MonkeyPatch, report_html: str,
                                            tmp_path: Path) -> None:
    source = split.parse(report_html)
    assert source is not None
    monkeypatch.setattr(split, "SPLIT_ABOVE", split.cost(source) - 1)
    pdf = render_pdf(report_html, tmp_path, attachments=ATTACHMENTS)
    assert pdf == render_pdf(report_html, tmp_path, attachments=ATTACHMENTS, parts=True)
    assert stamped(pdf)


def _raise(exc: Exception) -> Callable[..., object]:
    """A stand-in that raises ``exc`` whatever it is called with."""
    def fail(*args: object, **kwargs: object) -> object:
        raise exc
    return fail


# Each place the split path can fail: cutting, planning, joining, setting the numbers, and a
# renderer's layout the parent does not understand.
FAILURES = {
    "cut": (split, "parse", ValueError("substring not found")),
    "plan": (split, "plan", IndexError("no unit")),
    "join": (join, "join", RuntimeError("qpdf: object stream damaged")),
    "numbers": (join.NumberSetter, "from_sample",
                ValueError("the sample uses Tj, which the number setter does not read")),
    "toc": (split, "toc_numbers", KeyError("req-1")),
}


@pytest.mark.parametrize("where", sorted(FAILURES))
def test_a_failed_join_falls_back_to_the_whole_render(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, report_html: str,
        whole: bytes, tmp_path: Path, where: str) -> None:
    target, name, exc = FAILURES[where]
    monkeypatch.setattr(target, name, _raise(exc))
    with caplog.at_level(logging.WARNING, logger=build.__name__):
        pdf = render_pdf(report_html, tmp_path, attachments=ATTACHMENTS, parts=True)
    assert pdf == whole
    (record,) = [r for r in caplog.records if r.name == build.__name__]
    assert record.levelno == logging.WARNING
    assert f"in parts failed ({type(exc).__name__}" in record.getMessage()
    assert "rendering it whole instead" in record.getMessage()


def test_a_join_failure_in_the_isolated_renderer_still_writes_the_report(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, whole: bytes,
        tmp_path: Path) -> None:
    """The audit's own path: rendering processes, the split forced by a zero threshold, the
    joiner raising; the report is written, rendered whole, and no exit 5."""
    monkeypatch.setattr(split, "SPLIT_ABOVE", 0.0)
    monkeypatch.setattr(join, "join", _raise(ValueError("joined 9 pages, the parts reported 8")))
    result = make_result()
    with caplog.at_level(logging.WARNING, logger=build.__name__):
        written = write_outputs(result, tmp_path, [OutputFormat.PDF, OutputFormat.HTML])
    assert set(written) == {OutputFormat.PDF, OutputFormat.HTML}
    assert any("rendering it whole instead" in r.getMessage() for r in caplog.records)
    pdf = written[OutputFormat.PDF].read_bytes()
    assert not stamped(pdf)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    n = len(reader.pages)
    assert n == len(pypdf.PdfReader(io.BytesIO(whole)).pages)
    assert all(f"Page {i} of {n}" in p.extract_text() for i, p in enumerate(reader.pages, 1))


def test_an_answer_the_parent_does_not_understand_falls_back_or_fails_cleanly(
        monkeypatch: pytest.MonkeyPatch, report_html: str, whole: bytes, tmp_path: Path) -> None:
    """A layout that is not one is a failure of the split path (fall back); in the whole render
    the same answer is a failure to render (exit 5), never a traceback."""
    real = Layout.from_json
    calls: list[int] = []

    def from_json(data: object) -> Layout:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("not a layout (KeyError: 'pages')")
        return real(data)  # type: ignore[arg-type]

    monkeypatch.setattr(Layout, "from_json", staticmethod(from_json))
    renderer = IsolatedRenderer()
    try:
        pdf = renderer.render(report_html, tmp_path, attachments=ATTACHMENTS, parts=True)
    finally:
        renderer.close()
    assert pdf == whole
    monkeypatch.setattr(Layout, "from_json", staticmethod(_raise(ValueError("not a layout"))))
    renderer = IsolatedRenderer()
    try:
        with pytest.raises(ReportError, match=r"PDF rendering failed \(ValueError: not a layout"):
            renderer.render(report_html, tmp_path, parts=False)
    finally:
        renderer.close()


def test_a_refused_resource_is_not_retried_whole(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """A failure of the renderer itself stops the report on the split path too: the whole render
    would meet the same document."""
    rendered: list[str] = []
    real = build.render_document

    def counting(html: str, *args: object, **kwargs: object) -> object:
        rendered.append(html)
        return real(html, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "render_document", counting)
    outside = tmp_path / "outside.svg"
    outside.write_text("<svg/>")
    out = tmp_path / "out"
    out.mkdir()
    html = render_html(make_result(), results_sha256="0" * 64).replace(
        "</h2>", f'<img src="{outside.as_uri()}"></h2>', 1)
    with pytest.raises(ReportError, match="not allowed"):
        render_pdf(html, out, parts=True)
    assert rendered and html not in rendered  # a part failed; no whole render after it


def test_the_whole_render_ends_the_idle_rendering_process(report_html: str, whole: bytes,
                                                          tmp_path: Path) -> None:
    """Of the two rendering processes, the one without a job ends (and frees its memory) while
    the other renders the whole document."""
    import time

    from tests.report.test_pdf_split import _forked_renderers, _group_members

    renderer = IsolatedRenderer()
    pgid = renderer._proc.pid
    try:
        assert len(_forked_renderers(pgid)) == 2  # loaded and forked
        assert renderer.render(report_html, tmp_path, attachments=ATTACHMENTS) == whole
        deadline = time.monotonic() + 30  # generous: exiting can be slow on a loaded machine
        while len(_group_members(pgid)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        members = _group_members(pgid)
        states = {pid: Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                  for pid in members if Path(f"/proc/{pid}/stat").exists()}
        # the forked process is gone, the first one serves
        assert members == [pgid], f"rendering processes left: {states} (first: {pgid})"
    finally:
        renderer.close()
    assert _group_members(pgid) == []
