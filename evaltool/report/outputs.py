"""Writing the outputs of an audit: results.json, report.html, report.pdf, results.junit.xml.

Each file is written atomically. ``results.json`` is written last, so a folder holding a
``results.json`` always holds the complete set that was asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from evaltool.errors import ReportError
from evaltool.model.results import EvaluationResult
from evaltool.report._atomic import write_atomic
from evaltool.report.html import render_html
from evaltool.report.junit import render_junit
from evaltool.report.pdf import render_pdf


class OutputFormat(StrEnum):
    """Output formats of an audit."""

    HTML = "html"
    PDF = "pdf"
    JSON = "json"
    JUNIT = "junit"


OUTPUT_NAMES: dict[OutputFormat, str] = {
    OutputFormat.HTML: "report.html",
    OutputFormat.PDF: "report.pdf",
    OutputFormat.JSON: "results.json",
    OutputFormat.JUNIT: "results.junit.xml",
}


def results_json(result: EvaluationResult) -> bytes:
    """Canonical JSON of a result: sorted keys, two-space indent, trailing newline."""
    data = result.model_dump(mode="json")
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def remove_outputs(out_dir: Path) -> list[Path]:
    """Delete earlier outputs in ``out_dir`` so nothing stale can be taken for a new result."""
    removed = []
    for name in OUTPUT_NAMES.values():
        p = out_dir / name
        if p.is_file() and not p.is_symlink():
            p.unlink()
            removed.append(p)
    return removed


def write_outputs(
    result: EvaluationResult, out_dir: Path, formats: Iterable[OutputFormat]
) -> dict[OutputFormat, Path]:
    """Render and write every requested format; on failure remove what this call wrote."""
    wanted = list(dict.fromkeys(formats))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create output folder ({exc.strerror})", path=out_dir) from None
    remove_outputs(out_dir)
    written: dict[OutputFormat, Path] = {}
    try:
        html = render_html(result) if {OutputFormat.HTML, OutputFormat.PDF} & set(wanted) else ""
        for fmt in wanted:
            if fmt is OutputFormat.JSON:
                continue
            dest = out_dir / OUTPUT_NAMES[fmt]
            if fmt is OutputFormat.HTML:
                write_atomic(dest, html.encode())
            elif fmt is OutputFormat.PDF:
                write_atomic(dest, render_pdf(html, out_dir))
            elif fmt is OutputFormat.JUNIT:
                write_atomic(dest, render_junit(result))
            written[fmt] = dest
        if OutputFormat.JSON in wanted:
            dest = out_dir / OUTPUT_NAMES[OutputFormat.JSON]
            write_atomic(dest, results_json(result))
            written[OutputFormat.JSON] = dest
    except OSError as exc:
        for p in written.values():
            p.unlink(missing_ok=True)
        raise ReportError(f"cannot write report ({exc.strerror})", path=out_dir) from None
    except ReportError:
        for p in written.values():
            p.unlink(missing_ok=True)
        raise
    return written
