"""Writing the outputs of an evaluation: results.json (+ digest), HTML, PDF/A-3, JUnit, OSCAL.

Each file is written atomically. ``results.json`` and its digest are written last, so a folder
holding a ``results.json`` always holds the complete set that was asked for. Rendering uses only
the stored result, so ``evaltool report`` re-creates the same bytes from a results.json as the
audit that produced it (given the same evaltool and library versions).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from evaltool.atomic import Staged, write_atomic
from evaltool.errors import ReportError
from evaltool.model.results import EvaluationResult
from evaltool.report.canonical import (
    DIGEST_NAME,
    SIGNATURE_NAME,
    digest_line,
    results_json,
    sha256_hex,
)
from evaltool.report.html import render_html
from evaltool.report.junit import render_junit
from evaltool.report.oscal import render_oscal
from evaltool.report.pdf import IsolatedRenderer, PdfAttachment, RenderLimits, render_pdf

__all__ = ["OUTPUT_NAMES", "OutputFormat", "remove_outputs", "results_json", "signed_outputs",
           "write_outputs"]


class OutputFormat(StrEnum):
    """Output formats of an audit."""

    HTML = "html"
    PDF = "pdf"
    JSON = "json"
    JUNIT = "junit"
    OSCAL = "oscal"


OUTPUT_NAMES: dict[OutputFormat, str] = {
    OutputFormat.HTML: "report.html",
    OutputFormat.PDF: "report.pdf",
    OutputFormat.JSON: "results.json",
    OutputFormat.JUNIT: "results.junit.xml",
    OutputFormat.OSCAL: "results.oscal.json",
}


def remove_outputs(out_dir: Path) -> list[Path]:
    """Delete earlier outputs in ``out_dir`` so nothing stale can be taken for a new result
    (a signature over an earlier results.json included)."""
    removed = []
    for name in (*OUTPUT_NAMES.values(), DIGEST_NAME, SIGNATURE_NAME):
        p = out_dir / name
        if p.is_file() and not p.is_symlink():
            p.unlink()
            removed.append(p)
    return removed


def signed_outputs(out_dir: Path) -> list[Path]:
    """The signed outputs in ``out_dir``: ``results.json.p7s``, and a ``report.pdf`` holding a
    signature (a signature dictionary's ``/ByteRange``, ISO 32000-2 §12.8.1)."""
    found = []
    if (out_dir / SIGNATURE_NAME).is_file():
        found.append(out_dir / SIGNATURE_NAME)
    pdf = out_dir / OUTPUT_NAMES[OutputFormat.PDF]
    if pdf.is_file() and not pdf.is_symlink():
        with pdf.open("rb") as f:
            if b"/ByteRange" in f.read():
                found.append(pdf)
    return found


def refuse_to_replace_signed(out_dir: Path) -> None:
    """Raise :class:`ReportError` when ``out_dir`` holds signed outputs (re-rendering would
    silently discard the signatures)."""
    signed = signed_outputs(out_dir)
    if signed:
        names = ", ".join(p.name for p in signed)
        raise ReportError(f"the folder holds signed outputs ({names}); writing new outputs "
                          "would discard the signatures: pass --overwrite-signed to do so, or "
                          "choose another --out", path=out_dir)


def measurements_csv(result: EvaluationResult) -> bytes:
    """Every measurement of every check as CSV (the statistical appendix in full)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["requirement_id", "check_id", "verdict", "name", "value", "unit", "passes_if",
                "threshold"])
    for c in result.checks():
        for m in c.measurements:
            w.writerow([c.requirement_id, c.check_id, c.verdict.value, m.name,
                        "" if m.value is None else repr(m.value), m.unit or "",
                        m.passes_if or "", "" if m.threshold is None else repr(m.threshold)])
    return buf.getvalue().encode()


def inputs_csv(result: EvaluationResult) -> bytes:
    """The input manifest (role, path, size, SHA-256) as CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["role", "path", "size_bytes", "sha256"])
    for f in result.provenance.inputs:
        w.writerow([f.role, f.path, f.size_bytes, f.sha256])
    return buf.getvalue().encode()


def _evaluation_time(result: EvaluationResult) -> datetime:
    try:
        dt = datetime.fromisoformat(result.provenance.finished_at)
    except ValueError:
        return datetime(1980, 1, 1, tzinfo=UTC)
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _plot(series: object) -> tuple[str, str]:
    from evaltool.report.plots import plot_series

    return plot_series(series)  # type: ignore[arg-type]


def write_outputs(
    result: EvaluationResult, out_dir: Path, formats: Iterable[OutputFormat], *,
    isolate: bool = True, limits: RenderLimits | None = None,
) -> dict[OutputFormat, Path]:
    """Render and write every requested format; on failure remove what this call wrote.

    With ``isolate`` (the default) the PDF is rendered in a child process under ``limits``
    (memory, CPU and wall-clock; :class:`evaltool.report.pdf.isolate.IsolatedRenderer`), started
    first so that it loads the renderer on the second core while this process writes the other
    outputs.
    """
    wanted = list(dict.fromkeys(formats))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create output folder ({exc.strerror})", path=out_dir) from None
    remove_outputs(out_dir)
    written: dict[OutputFormat, Path] = {}
    renderer = (IsolatedRenderer(limits) if isolate and OutputFormat.PDF in wanted else None)
    try:
        return _write(result, out_dir, wanted, written, renderer)
    finally:
        if renderer is not None:
            renderer.close()


def _write(result: EvaluationResult, out_dir: Path, wanted: list[OutputFormat],
           written: dict[OutputFormat, Path], renderer: IsolatedRenderer | None,
           ) -> dict[OutputFormat, Path]:
    from concurrent.futures import Future, ThreadPoolExecutor

    canonical = results_json(result)
    digest = sha256_hex(canonical)
    staged: list[Staged] = []
    with ThreadPoolExecutor(1) as pool:
        pdf: Future[bytes] | None = None
        try:
            junit = render_junit(result)
            oscal = render_oscal(result)
            attachments = (
                PdfAttachment("results.json", canonical, "evaltool results (canonical JSON)",
                              "Data"),
                PdfAttachment("results.junit.xml", junit, "JUnit XML, one testcase per check",
                              "Data"),
                PdfAttachment("results.oscal.json", oscal, "OSCAL assessment-results", "Data"),
                PdfAttachment("measurements.csv", measurements_csv(result),
                              "every measurement of every check", "Data"),
                PdfAttachment("inputs.csv", inputs_csv(result),
                              "input manifest with SHA-256", "Source"),
            )
            html = ""
            if {OutputFormat.HTML, OutputFormat.PDF} & set(wanted):
                html = render_html(result, results_sha256=digest, plot=_plot,
                                   attachments=tuple(a.name for a in attachments))
            if OutputFormat.PDF in wanted:  # the long one: started first, the rest meanwhile
                render = renderer.render if renderer is not None else render_pdf
                pdf = pool.submit(render, html, out_dir, attachments=attachments,
                                  created=_evaluation_time(result))
            for fmt in wanted:
                dest = out_dir / OUTPUT_NAMES[fmt]
                if fmt is OutputFormat.HTML:
                    write_atomic(dest, html.encode())
                elif fmt is OutputFormat.JUNIT:
                    write_atomic(dest, junit)
                elif fmt is OutputFormat.OSCAL:
                    write_atomic(dest, oscal)
                else:
                    continue
                written[fmt] = dest
            if OutputFormat.JSON in wanted:  # in place last, after the PDF
                staged = [Staged(out_dir / DIGEST_NAME, digest_line(canonical)),
                          Staged(out_dir / OUTPUT_NAMES[OutputFormat.JSON], canonical)]
            if pdf is not None:
                dest = out_dir / OUTPUT_NAMES[OutputFormat.PDF]
                write_atomic(dest, pdf.result())
                written[OutputFormat.PDF] = dest
            for st in staged:
                st.commit()
            if staged:
                written[OutputFormat.JSON] = staged[-1].dest
        except OSError as exc:
            _undo(pdf, staged, [*written.values(), out_dir / DIGEST_NAME])
            raise ReportError(f"cannot write report ({exc.strerror})", path=out_dir) from None
        except BaseException:
            _undo(pdf, staged, list(written.values()))
            raise
    return {fmt: written[fmt] for fmt in wanted if fmt in written}


def _undo(pdf: object, staged: list[Staged], paths: list[Path]) -> None:
    """After a failure: wait for the PDF render to end, remove what this call wrote."""
    from concurrent.futures import Future
    from contextlib import suppress

    if isinstance(pdf, Future):
        pdf.cancel()
        with suppress(BaseException):  # its own failure is not the one being reported
            pdf.result()
    for st in staged:
        st.discard()
    for p in paths:
        p.unlink(missing_ok=True)
