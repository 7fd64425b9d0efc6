"""Child process that renders PDFs under resource limits (``python -m evaltool.report._worker``).

The parent sends jobs as frames on stdin: an 8-byte big-endian length, then a pickle of
``(html, out_dir, attachments, created, count_only)``. For each job the child answers with two
frames on its standard output: a JSON header (``{"ok": true, "layout": ...}`` or
``{"ok": false, "error": "..."}``) and the PDF bytes. The child ends at the end of its input. The
parent reads only JSON and bytes from the child, never a pickle, so a document that subverted the
renderer could not run code in the parent. Anything else written to standard output (a library's
print) goes to standard error instead, so it cannot corrupt the frames.

Limits on address space and CPU time are set by the parent before this process starts
(``preexec_fn``), so a hostile document that makes WeasyPrint loop or allocate without bound kills
only this process (leakage-and-reporting note §B6: the Jinja2 sandbox does not stop CPU or memory
blow-up; render under resource limits).

The parent starts this process before it writes the HTML (:class:`evaltool.report.pdf.
IsolatedRenderer`), so while it waits for the document the child loads WeasyPrint, Pango and the
report's two font faces by rendering a one-line document of its own (nothing is read or written).
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import sys
from pathlib import Path
from typing import BinaryIO

from evaltool.errors import ReportError

_WARM_UP = ('<html><head><style>body { font-family: "DejaVu Sans"; }</style></head>'
            "<body><p>0 <b>1</b></p></body></html>")
MAX_FRAME = 1 << 32
"""Largest frame accepted (4 GiB)."""


def write_frame(stream: BinaryIO, data: bytes) -> None:
    """Write one length-prefixed frame and flush."""
    stream.write(struct.pack(">Q", len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: BinaryIO) -> bytes | None:
    """Read one length-prefixed frame; ``None`` at the end of the stream or on a short read."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack(">Q", head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    data = stream.read(size)
    return data if len(data) == size else None


def _warm_up() -> None:
    """Load the renderer, Pango, the fonts and the PDF writer before the document arrives."""
    import gc
    import warnings

    try:
        import pikepdf  # noqa: F401  (imported here so that the first join does not wait)
        import weasyprint

        from evaltool.report.pdf import PDF_VARIANT

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            weasyprint.HTML(string=_WARM_UP).render().write_pdf(pdf_variant=PDF_VARIANT)
            gc.collect()
    except Exception:  # a failed warm-up only costs time; the real render reports errors
        return


def main() -> int:
    """Render every job read from stdin until its end."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _warm_up()
    from evaltool.report.pdf import render_document

    while (request := read_frame(sys.stdin.buffer)) is not None:
        html, out_dir, attachments, created, count_only = pickle.loads(request)
        try:
            data, layout = render_document(html, Path(out_dir), attachments=attachments,
                                           created=created, count_only=count_only)
            header: dict[str, object] = {"ok": True, "layout": layout.to_json()}
        except ReportError as exc:
            data, header = b"", {"ok": False, "error": exc.message}
        write_frame(out, json.dumps(header).encode())
        write_frame(out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
