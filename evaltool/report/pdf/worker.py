"""The rendering processes' side of :mod:`evaltool.report.pdf.isolate`.

``python -m evaltool.report.pdf.worker R1 W1 R2 W2 ...`` loads WeasyPrint once, then forks itself
so that one process serves each pair of pipe descriptors (read requests from R, write answers to
W), in the frames :mod:`evaltool.report.pdf.isolate` describes. A process ends at the end of its
input. The processes share standard error (a file the parent reads when one of them dies);
standard output is not used. The limits on address space and CPU time were set by the parent
before this process started.

While the parent is still writing the HTML, the child loads WeasyPrint, Pango and the report's two
font faces by rendering a one-line document of its own (nothing is read or written).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path
from typing import BinaryIO

from evaltool.errors import ReportError
from evaltool.report.pdf.isolate import read_frame, write_frame
from evaltool.report.pdf.render import PDF_VARIANT, render_document

_WARM_UP = ('<html><head><style>body { font-family: "DejaVu Sans"; }</style></head>'
            "<body><p>0 <b>1</b></p></body></html>")


def _warm_up() -> None:
    """Load the renderer, Pango, the fonts and the PDF writer before the document arrives."""
    import gc
    import warnings

    try:
        import weasyprint

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            weasyprint.HTML(string=_WARM_UP).render().write_pdf(pdf_variant=PDF_VARIANT)
            gc.collect()
            gc.freeze()  # the loaded modules are never collected: no need to scan them again
    except Exception:  # a failed warm-up only costs time; the real render reports errors
        return


def main(argv: list[str]) -> int:
    """Load the renderer, fork one process per pipe pair, render every job until end of input."""
    fds = [int(a) for a in argv]
    pairs = list(zip(fds[0::2], fds[1::2], strict=True))
    if not pairs:
        sys.stderr.write("usage: python -m evaltool.report.pdf.worker R1 W1 [R2 W2 ...]\n")
        return 2
    _warm_up()
    mine: tuple[int, int] = pairs[0]
    children: list[int] = []
    for pair in pairs[1:]:
        pid = os.fork()
        if pid == 0:
            mine, children = pair, []
            break
        children.append(pid)
    for pair in pairs:  # a process keeps only its own pipes, so that its death is seen as EOF
        if pair != mine:
            for fd in pair:
                os.close(fd)
    with os.fdopen(mine[0], "rb") as requests, os.fdopen(mine[1], "wb") as answers:
        _serve(requests, answers)
    for pid in children:
        os.waitpid(pid, 0)
    sys.stderr.flush()
    os._exit(0)  # nothing left to flush; skip the interpreter's slow teardown


def _serve(requests: BinaryIO, answers: BinaryIO) -> None:
    while (request := read_frame(requests)) is not None:
        html, out_dir, attachments, created = pickle.loads(request)
        try:
            data, layout = render_document(html, Path(out_dir), attachments=attachments,
                                           created=created)
            header: dict[str, object] = {"ok": True, "layout": layout.to_json()}
        except ReportError as exc:
            data, header = b"", {"ok": False, "error": exc.message}
        try:
            write_frame(answers, json.dumps(header).encode())
            write_frame(answers, data)
        except BrokenPipeError:  # the parent stopped listening
            return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
