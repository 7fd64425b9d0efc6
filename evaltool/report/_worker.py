"""Child process that renders one PDF under resource limits (``python -m evaltool.report._worker``).

The parent sends ``(html, out_dir, attachments, created)`` as a pickle on stdin and reads the PDF
bytes from stdout. Limits on address space and CPU time are set by the parent before this process
starts (``preexec_fn``), so a hostile document that makes WeasyPrint loop or allocate without bound
kills only this process (leakage-and-reporting note §B6: the Jinja2 sandbox does not stop CPU or
memory blow-up; render under resource limits). On a rendering error the message goes to stderr and
the exit status is 5.

The parent starts this process before it writes the HTML (:class:`evaltool.report.pdf.
IsolatedRenderer`), so while it waits for the document the child loads WeasyPrint, Pango and the
report's two font faces by rendering a one-line document of its own (nothing is read or written).
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from evaltool.errors import ExitCode, ReportError

_WARM_UP = ('<html><head><style>body { font-family: "DejaVu Sans"; }</style></head>'
            "<body><p>0 <b>1</b></p></body></html>")


def _warm_up() -> None:
    """Load the renderer, Pango, the fonts and the PDF writer before the document arrives."""
    import gc
    import warnings

    try:
        import weasyprint

        from evaltool.report.pdf import PDF_VARIANT

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            weasyprint.HTML(string=_WARM_UP).render().write_pdf(pdf_variant=PDF_VARIANT)
            gc.collect()
    except Exception:  # a failed warm-up only costs time; the real render reports errors
        return


def main() -> int:
    """Render the PDF described on stdin; write it to stdout."""
    _warm_up()
    html, out_dir, attachments, created = pickle.loads(sys.stdin.buffer.read())
    from evaltool.report.pdf import render_pdf

    try:
        data = render_pdf(html, Path(out_dir), attachments=attachments, created=created)
    except ReportError as exc:
        sys.stderr.write(exc.message)
        return int(ExitCode.REPORT)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
