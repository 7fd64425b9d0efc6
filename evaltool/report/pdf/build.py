"""Which path makes the report PDF: one whole render, or parts joined for long reports.

The default is one render of the whole document, in which WeasyPrint sets the page numbers itself:
``counter(page)`` and ``counter(pages)`` in the footer (W3C CSS Paged Media Module Level 3,
page-based counters) and ``target-counter()`` in the contents (W3C CSS Generated Content Module
Level 3, cross-references). Above
:data:`evaltool.report.pdf.split.SPLIT_ABOVE` the report is rendered in parts on two cores and
joined (:mod:`evaltool.report.pdf.split`, :mod:`evaltool.report.pdf.join`): an acceleration only.
The joiner reads what WeasyPrint drew, which a new WeasyPrint release may draw differently, so
any failure to cut, join or number the parts falls back to the whole render with a warning; only
a failure of the renderer itself (a refused resource, a process killed at its limits) stops the
report, since the whole render would meet it again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaltool.errors import ReportError
from evaltool.report.pdf import join as joiner
from evaltool.report.pdf import split
from evaltool.report.pdf.render import (
    Job,
    Layout,
    PdfAttachment,
    Runner,
    confined_fetcher,
    render_document,
)

log = logging.getLogger(__name__)

_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)


def render_report(html: str, run: Runner, *, attachments: tuple[PdfAttachment, ...] = (),
                  created: datetime | None = None, parts: bool | None = None) -> bytes:
    """The report PDF of ``html``, rendered by ``run``.

    ``parts``: ``None`` renders in parts when the document carries the template's cut marks and
    its estimated cost exceeds :data:`~evaltool.report.pdf.split.SPLIT_ABOVE`; ``True`` renders
    in parts whenever it carries the marks; ``False`` always renders it whole. A failure of the
    split path other than the renderer's own (:class:`evaltool.errors.ReportError`) is logged as
    a warning and the document is rendered whole.
    """
    if parts is not False:
        try:
            source = split.parse(html)
            if source is not None and (parts or split.cost(source) > split.SPLIT_ABOVE):
                return _render_in_parts(source, run, attachments, created or _EPOCH)
        except ReportError:
            raise
        except Exception as exc:  # a defect of the acceleration, never a missing report
            log.warning("note: rendering the report in parts failed (%s: %s); rendering it "
                        "whole instead", type(exc).__name__, str(exc)[:300])
    try:
        return run([Job(html, attachments)])[0][0]
    except ReportError:
        raise
    except Exception as exc:  # an answer the parent does not understand: no report
        raise ReportError(f"PDF rendering failed ({type(exc).__name__}: {exc})") from None


def _render_in_parts(source: split.ReportSource, run: Runner,
                     attachments: tuple[PdfAttachment, ...], created: datetime) -> bytes:
    """Render the front, two body parts and the sample at once, then join them."""
    from concurrent.futures import ThreadPoolExecutor

    front = split.front_html(source)
    ranges = split.plan(source, last=split.weight(front.html) * split.FRONT_WEIGHT)
    parts = [front, *(split.part_html(source, r) for r in ranges)]
    with ThreadPoolExecutor(1) as pool:  # compresses the attachments while the parts render
        files = pool.submit(joiner.prepare, [(a.name, a.data, a.description, a.relationship)
                                             for a in attachments])
        # Largest first: the two body parts, the cover and contents, the sample; a process
        # that finishes early takes the next.
        *rendered, (sample, _) = run([*(Job(p.html) for p in parts[1:]), Job(front.html),
                                      Job(split.sample_html(source).html)])
        prepared = files.result()
    rendered = [rendered[-1], *rendered[:-1]]
    layouts = [Layout(lay.pages,
                      tuple(a for a in lay.anchors if a[0] not in part.stubs),
                      lay.bookmarks, lay.slots)
               for part, (_, lay) in zip(parts, rendered, strict=True)]
    toc = split.toc_numbers(source, layouts)
    return joiner.join([(data, lay) for (data, _), lay in zip(rendered, layouts, strict=True)],
                       base=1, sample=sample, toc=toc, attachments=prepared, created=created)


def render_pdf(html: str, out_dir: Path, *, attachments: tuple[PdfAttachment, ...] = (),
               created: datetime | None = None, fetcher: Any = None,
               parts: bool | None = None) -> bytes:
    """Render ``html`` to PDF/A-3b bytes in this process; resources may come only from ``out_dir``.

    Parameters
    ----------
    html:
        The report. Its ``<meta name="dcterms.created">`` sets the document dates.
    out_dir:
        The only folder files may be loaded from.
    attachments:
        Files to embed as PDF/A-3 associated files.
    created:
        Timestamp of the embedded files (the evaluation's time, for reproducible bytes).
    fetcher:
        A fetcher from :func:`~evaltool.report.pdf.render.confined_fetcher` (to inspect its
        requests); one is made if omitted.
    parts:
        Whether to render in parts (see :func:`render_report`); by default only long reports are.
    """
    fetcher = fetcher if fetcher is not None else confined_fetcher(out_dir)

    def run(jobs: list[Job]) -> list[tuple[bytes, Layout]]:
        return [render_document(j.html, out_dir, attachments=j.attachments, created=created,
                                fetcher=fetcher) for j in jobs]

    return render_report(html, run, attachments=attachments, created=created, parts=parts)
