"""One WeasyPrint render of one HTML document, in this process, confined to what evaltool wrote.

The URL fetcher (a :class:`weasyprint.urls.URLFetcher` subclass; that class appeared in WeasyPrint
68, which deprecated the function fetchers) serves ``data:`` URLs and regular files inside the
output folder only (real paths, no symbolic links, no ``..``), follows no redirects and never opens
a network connection. Every other request is refused with a fatal error that stops the render
(exit 5), so a hostile string can neither read local files into the PDF nor reach the network,
and evidence is never dropped silently (WeasyPrint's security advisories CVE-2025-68616 /
GHSA-jf6q-chmf-3h3v, redirects, and GHSA-35jj-wx47-4w8r, attachments). Every request is recorded
in ``requested``.

The machine-readable results travel inside the PDF as PDF/A-3 associated files (ISO 19005-3
§6.8; relationship ``Data``/``Source``), dated with the evaluation's own timestamp so the bytes
are reproducible.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from evaltool.errors import ReportError

PDF_VARIANT = "pdf/a-3b"


@dataclass(frozen=True, slots=True)
class PdfAttachment:
    """A file embedded in the PDF (PDF/A-3 associated file)."""

    name: str
    data: bytes
    description: str
    relationship: str = "Data"


SLOT = "evaltool-pn-"
"""Prefix of the ids of the page-number slots the split path leaves in the contents
(:func:`evaltool.report.pdf.split.front_html`); :func:`render_document` reports their boxes."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a rendered document put its pages, anchors and bookmarks, in PDF points from the
    page's bottom-left corner (what the joiner of the split path needs)."""

    pages: int
    anchors: tuple[tuple[str, int, float, float], ...] = ()
    """``(name, page index, x, y)`` of every anchor, in document order."""
    bookmarks: tuple[tuple[int, str, int, float, float, bool], ...] = ()
    """``(level, label, page index, x, y, open)`` of every bookmark, in document order."""
    slots: tuple[tuple[str, int, float, float, float, float], ...] = ()
    """``(id, page index, x1, y1, x2, y2)`` of every page-number slot (:data:`SLOT` ids), in
    CSS pixels from the page's top-left corner, as WeasyPrint draws."""

    def to_json(self) -> dict[str, object]:
        return {"pages": self.pages, "anchors": [list(a) for a in self.anchors],
                "bookmarks": [list(b) for b in self.bookmarks],
                "slots": [list(b) for b in self.slots]}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Layout:
        """The layout :meth:`to_json` wrote; :class:`ValueError` for anything else."""
        try:
            anchors, bookmarks, slots = (data.get(k, []) for k in ("anchors", "bookmarks",
                                                                   "slots"))
            if not (isinstance(anchors, list) and isinstance(bookmarks, list)
                    and isinstance(slots, list)):
                raise TypeError("lists expected")
            return cls(pages=int(data["pages"]),  # type: ignore[call-overload]
                       anchors=tuple((str(n), int(p), float(x), float(y))
                                     for n, p, x, y in anchors),
                       bookmarks=tuple((int(lv), str(lb), int(p), float(x), float(y), bool(o))
                                       for lv, lb, p, x, y, o in bookmarks),
                       slots=tuple((str(n), int(p), float(a), float(b), float(c), float(d))
                                   for n, p, a, b, c, d in slots))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a layout ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True, slots=True)
class Job:
    """One document for a renderer: the whole report, or a part, the front or the sample of the
    split path."""

    html: str
    attachments: tuple[PdfAttachment, ...] = ()


Runner = Callable[[list[Job]], list[tuple[bytes, Layout]]]
"""Renders jobs (possibly at once, in worker processes) and returns results in job order; a
failure of the renderer raises :class:`evaltool.errors.ReportError`."""


def _mime(path: Path) -> str:
    return {".svg": "image/svg+xml", ".png": "image/png", ".css": "text/css"}.get(
        path.suffix.lower(), "application/octet-stream")


def allowed_file(root: Path, url: str) -> Path | None:
    """The file ``url`` names if it is a regular, non-link file strictly inside ``root``."""
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    if parsed.query or parsed.fragment:
        return None
    raw = Path(unquote(parsed.path))
    if ".." in raw.parts or not raw.is_absolute():
        return None
    real = Path(os.path.realpath(raw))
    root_real = Path(os.path.realpath(root))
    if real != raw or root_real not in real.parents:
        return None  # a symbolic link somewhere on the way, or outside the folder
    if raw.is_symlink() or not raw.is_file():
        return None
    return real


@cache
def _fetcher_class() -> type[Any]:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class ConfinedFetcher(URLFetcher):
        """Serves ``data:`` URLs and files under one folder; refuses and records the rest."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False,
                             fail_on_errors=True, timeout=1)
            self.root = root
            self.requested: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.requested.append(url)
            if url.startswith("data:"):
                return super().fetch(url, headers)
            target = allowed_file(self.root, url)
            if target is not None:
                return URLFetcherResponse(url, target.read_bytes(),
                                          {"Content-Type": _mime(target)})
            shown = url if len(url) < 120 else url[:117] + "..."
            self.refused.append(shown)
            raise FatalURLFetchingError(f"the report tried to load {shown!r}, which is not "
                                        "allowed")

    return ConfinedFetcher


@contextmanager
def _source_date_epoch(stamp: datetime) -> Iterator[None]:
    """Set ``SOURCE_DATE_EPOCH`` to ``stamp`` while rendering, then restore it.

    fontTools stamps the ``head`` table of every subset font with the current time unless
    ``SOURCE_DATE_EPOCH`` is set (https://reproducible-builds.org/specs/source-date-epoch/).
    Using the evaluation's own time makes the PDF bytes a function of the
    results alone, so ``evaltool report`` re-creates the audit's PDF exactly.
    """
    old = os.environ.get("SOURCE_DATE_EPOCH")
    ts = stamp.timestamp() if stamp.tzinfo else stamp.replace(tzinfo=UTC).timestamp()
    os.environ["SOURCE_DATE_EPOCH"] = str(max(0, int(ts)))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector's youngest generation every 50,000 allocations instead of
    every 700 while WeasyPrint builds its boxes (about 6-8 % less CPU for a report part, best of
    five; the memory stays the same: the boxes live until the end of the render anyway)."""
    old = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def confined_fetcher(root: Path) -> Any:
    """A WeasyPrint URL fetcher confined to ``data:`` URLs and files under ``root``."""
    return _fetcher_class()(root)


def render_document(html: str, out_dir: Path, *, attachments: tuple[PdfAttachment, ...] = (),
                    created: datetime | None = None,
                    fetcher: Any = None) -> tuple[bytes, Layout]:
    """Render one HTML document to PDF/A-3b bytes and its layout (pages, anchors, bookmarks).

    Resources may come only from ``out_dir`` (see :func:`confined_fetcher`).
    """
    try:
        import weasyprint
        from weasyprint.urls import FatalURLFetchingError
    except (ImportError, OSError) as exc:
        raise ReportError(f"WeasyPrint is not usable ({exc}); install Pango (libpango-1.0-0) "
                          "and reinstall evaltool") from None
    if fetcher is None:
        fetcher = confined_fetcher(out_dir)
    base = Path(os.path.realpath(out_dir)).as_uri() + "/"
    stamp = created or datetime(1980, 1, 1, tzinfo=UTC)
    pdf_attachments = [
        weasyprint.Attachment(string=a.data, base_url=base, url_fetcher=fetcher, name=a.name,
                              description=a.description, created=stamp, modified=stamp,
                              relationship=a.relationship)
        for a in attachments
    ]
    try:
        with warnings.catch_warnings(), _source_date_epoch(stamp), _fewer_collections():
            # WeasyPrint 70 leaves the PDF/A output-intent ICC profile file open; it is
            # collected here, inside the render, instead of warning at a random later point.
            warnings.simplefilter("ignore", ResourceWarning)
            document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher).render()
            layout = _layout(document)
            data: bytes = document.write_pdf(pdf_variant=PDF_VARIANT,
                                             attachments=pdf_attachments, pdf_identifier=None,
                                             finisher=_associated_files_once)
            del document
            gc.collect()
    except FatalURLFetchingError as exc:
        raise ReportError(f"PDF rendering refused a resource ({exc})") from None
    except ReportError:
        raise
    except Exception as exc:  # WeasyPrint raises many types; any failure means no report
        raise ReportError(f"PDF rendering failed ({type(exc).__name__}: {exc})") from None
    if fetcher.refused:
        raise ReportError(f"the report tried to load {len(fetcher.refused)} resource(s) that are "
                          f"not allowed (first: {fetcher.refused[0]!r})")
    return data, layout


def _associated_files_once(document: Any, pdf: Any) -> None:
    """List each associated file once in the catalogue's ``/AF`` (ISO 19005-3 §6.8): WeasyPrint
    70's PDF/A-3 writer adds each file twice, from the embedded-files tree and from its file
    specification."""
    af = pdf.catalog.get("AF")
    if af is not None:
        unique = list(dict.fromkeys(af))
        af.clear()
        af.extend(unique)


def _layout(document: Any) -> Layout:
    """Page count, anchors and bookmarks of a WeasyPrint document, in PDF points with the origin
    at the bottom left (WeasyPrint's own transformation: 0.75 pt per CSS pixel)."""
    anchors, bookmarks, slots = [], [], []
    for i, page in enumerate(document.pages):
        def pt(x: float, y: float, h: float = page.height) -> tuple[float, float]:
            return round(x * 0.75, 4), round((h - y) * 0.75, 4)
        for name, (x, y, x2, y2) in page.anchors.items():
            if name.startswith(SLOT):
                slots.append((name, i, x, y, x2, y2))
            else:
                anchors.append((name, i, *pt(x, y)))
        for level, label, (x, y), state in page.bookmarks:
            bookmarks.append((int(level), str(label), i, *pt(x, y), state != "closed"))
    return Layout(len(document.pages), tuple(anchors), tuple(bookmarks), tuple(slots))


