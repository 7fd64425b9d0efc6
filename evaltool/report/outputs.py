"""Writing the outputs of an evaluation: results.json (+ digest), HTML, PDF/A-3, JUnit, OSCAL.

The outputs of a run form one result set, staged inside the output folder and switched in
together (:mod:`evaltool.report.resultset`, ``docs/outputs.md``): the folder holds the previous
complete set or the new complete set, never a mix, whatever stops the run. Rendering uses only
the stored result, so ``evaltool report`` re-creates the same bytes from a results.json as the
audit that produced it (given the same evaltool and library versions).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

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
from evaltool.report.resultset import (
    COMMIT_NAME,
    OutputFolder,
    SetState,
    Staging,
    hold,
    inspect_set,
)

__all__ = ["MANAGED_NAMES", "OUTPUT_NAMES", "OutputFormat", "folder_state", "hold_folder",
           "remove_outputs", "results_json", "signed_outputs", "write_outputs"]


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


MANAGED_NAMES: tuple[str, ...] = (*OUTPUT_NAMES.values(), DIGEST_NAME, SIGNATURE_NAME)
"""Every file of a result set (:mod:`evaltool.report.resultset`); a new set removes the others."""


def hold_folder(out_dir: Path) -> AbstractContextManager[OutputFolder]:
    """Hold ``out_dir`` for this run: locked, an interrupted switch finished (re-entrant)."""
    return hold(out_dir, MANAGED_NAMES)


def folder_state(out_dir: Path) -> SetState:
    """Whether ``out_dir`` holds exactly the result set its manifest records."""
    return inspect_set(out_dir, MANAGED_NAMES)


def remove_outputs(out_dir: Path) -> list[Path]:
    """Delete earlier outputs in ``out_dir`` so nothing stale can be taken for a new result
    (a signature over an earlier results.json included), as one switch to an empty set."""
    present = [out_dir / n for n in MANAGED_NAMES
               if (out_dir / n).is_file() and not (out_dir / n).is_symlink()]
    if not present:
        return []
    try:
        with hold_folder(out_dir) as folder:
            folder.stage().commit()
    except OSError as exc:
        raise ReportError(f"cannot remove the earlier outputs ({exc.strerror})",
                          path=out_dir) from None
    return present


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
    """Render every requested format and switch them into ``out_dir`` as one result set.

    The outputs are staged inside the folder and switched in together
    (:mod:`evaltool.report.resultset`): the folder holds the previous complete set until the
    commit point and the new complete set after it, whatever stops the run. On failure the
    staged files are removed and the previous set is left as it was.

    With ``isolate`` (the default) the PDF is rendered in a child process under ``limits``
    (memory, CPU and wall-clock; :class:`evaltool.report.pdf.isolate.IsolatedRenderer`), started
    first so that it loads the renderer on the second core while this process writes the other
    outputs.
    """
    wanted = list(dict.fromkeys(formats))
    with hold_folder(out_dir) as folder:
        try:
            staging = folder.stage()
        except OSError as exc:
            raise ReportError(f"cannot write report ({exc.strerror})", path=out_dir) from None
        renderer = (IsolatedRenderer(limits) if isolate and OutputFormat.PDF in wanted else None)
        try:
            return _write(result, out_dir, wanted, staging, renderer)
        finally:
            if renderer is not None:
                renderer.close()


def _write(result: EvaluationResult, out_dir: Path, wanted: list[OutputFormat],
           staging: Staging, renderer: IsolatedRenderer | None,
           ) -> dict[OutputFormat, Path]:
    from concurrent.futures import Future, ThreadPoolExecutor

    canonical = results_json(result)
    digest = sha256_hex(canonical)
    written: dict[OutputFormat, Path] = {}
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
                name = OUTPUT_NAMES[fmt]
                if fmt is OutputFormat.HTML:
                    written[fmt] = staging.write(name, html.encode())
                elif fmt is OutputFormat.JUNIT:
                    written[fmt] = staging.write(name, junit)
                elif fmt is OutputFormat.OSCAL:
                    written[fmt] = staging.write(name, oscal)
                elif fmt is OutputFormat.JSON:
                    staging.write(DIGEST_NAME, digest_line(canonical))
                    written[fmt] = staging.write(name, canonical)
            if pdf is not None:
                written[OutputFormat.PDF] = staging.write(OUTPUT_NAMES[OutputFormat.PDF],
                                                          pdf.result())
                pdf = None
            staging.commit()
        except OSError as exc:
            _undo(pdf, staging, renderer)
            raise ReportError(f"cannot write report ({exc.strerror})", path=out_dir) from None
        except BaseException:
            _undo(pdf, staging, renderer)
            raise
    return {fmt: written[fmt] for fmt in wanted if fmt in written}


def _undo(pdf: object, staging: Staging, renderer: IsolatedRenderer | None) -> None:
    """After a failure or an interruption: stop the PDF render (its result is not wanted) and
    wait for its thread, remove the staged files (a failure after the commit point leaves the
    record, and the next holder finishes the switch)."""
    from concurrent.futures import Future
    from contextlib import suppress

    if renderer is not None:
        renderer.abort()
    if isinstance(pdf, Future):
        pdf.cancel()
        with suppress(BaseException):  # its own failure is not the one being reported
            pdf.result()
    if not (staging.folder.staging_dir / COMMIT_NAME).is_file():
        staging.discard()
