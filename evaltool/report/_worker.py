"""Child process that renders one PDF under resource limits (``python -m evaltool.report._worker``).

The parent sends ``(html, out_dir, attachments, created)`` as a pickle on stdin and reads the PDF
bytes from stdout. Limits on address space and CPU time are set by the parent before this process
starts (``preexec_fn``), so a hostile document that makes WeasyPrint loop or allocate without bound
kills only this process (leakage-and-reporting note §B6: the Jinja2 sandbox does not stop CPU or
memory blow-up; render under resource limits). On a rendering error the message goes to stderr and
the exit status is 5.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from evaltool.errors import ExitCode, ReportError


def main() -> int:
    """Render the PDF described on stdin; write it to stdout."""
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
