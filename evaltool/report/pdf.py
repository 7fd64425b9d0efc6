"""PDF/A-3b rendering with WeasyPrint, which may fetch nothing but what evaltool itself wrote.

The URL fetcher (a :class:`weasyprint.urls.URLFetcher` subclass, as WeasyPrint >= 70 requires)
serves ``data:`` URLs and regular files inside the output folder only (real paths, no symbolic
links, no ``..``), follows no redirects and never opens a network connection. Every other request
is refused with a fatal error that stops the render (exit 5), so a hostile string can neither read
local files into the PDF nor reach the network, and evidence is never dropped silently
(leakage-and-reporting note §B6: CVE-2025-68616, GHSA-jf6q-chmf-3h3v, attachment bypass
GHSA-35jj-wx47-4w8r). Every request is recorded in ``requested``.

The machine-readable results travel inside the PDF as PDF/A-3 associated files (relationship
``Data``/``Source``), dated with the evaluation's own timestamp so the bytes are reproducible.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
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
    ``SOURCE_DATE_EPOCH`` is set (reproducible-builds.org convention; leakage-and-reporting note
    §B6, "Determinism"). Using the evaluation's own time makes the PDF bytes a function of the
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


def confined_fetcher(root: Path) -> Any:
    """A WeasyPrint URL fetcher confined to ``data:`` URLs and files under ``root``."""
    return _fetcher_class()(root)


def render_pdf(html: str, out_dir: Path, *, attachments: tuple[PdfAttachment, ...] = (),
               created: datetime | None = None, fetcher: Any = None) -> bytes:
    """Render ``html`` to PDF/A-3b bytes; resources may come only from ``out_dir``.

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
        A fetcher from :func:`confined_fetcher` (to inspect its requests); one is made if omitted.
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
        with warnings.catch_warnings(), _source_date_epoch(stamp):
            # WeasyPrint 70 leaves the PDF/A output-intent ICC profile file open; it is
            # collected here, inside the render, instead of warning at a random later point.
            warnings.simplefilter("ignore", ResourceWarning)
            document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher).render()
            data: bytes = document.write_pdf(pdf_variant=PDF_VARIANT,
                                             attachments=pdf_attachments, pdf_identifier=None)
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
    return data


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Resource limits of an isolated PDF render."""

    memory_bytes: int = 4 << 30
    """Address-space limit of the rendering process (RLIMIT_AS)."""
    cpu_seconds: int = 600
    """CPU-time limit (RLIMIT_CPU)."""
    wall_seconds: float = 1200.0
    """Wall-clock limit; the process is killed after it."""


class IsolatedRenderer:
    """A PDF rendering child process, started ahead of the document it will render.

    The child (``python -m evaltool.report._worker``) runs under ``limits`` (memory and CPU set
    before it starts, wall-clock enforced here) and loads WeasyPrint and the fonts while the
    parent is still writing the HTML, so the second core does that work instead of the critical
    path. Use it once: :meth:`render`, or :meth:`close` to stop a child that is not needed.
    """

    def __init__(self, limits: RenderLimits | None = None) -> None:
        import resource
        import subprocess
        import sys
        import time

        self.limits = lim = limits or RenderLimits()

        def _limit() -> None:  # runs in the child before exec
            resource.setrlimit(resource.RLIMIT_AS, (lim.memory_bytes, lim.memory_bytes))
            resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds))

        self._started = time.monotonic()
        self._proc = subprocess.Popen(  # our own interpreter and module, no shell
            [sys.executable, "-m", "evaltool.report._worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limit)

    def render(self, html: str, out_dir: Path, *, attachments: tuple[PdfAttachment, ...] = (),
               created: datetime | None = None) -> bytes:
        """:func:`render_pdf` of these arguments in the child; raises :class:`ReportError`."""
        import pickle
        import subprocess
        import time

        lim = self.limits
        payload = pickle.dumps((html, str(out_dir), attachments, created))
        remaining = max(0.0, lim.wall_seconds - (time.monotonic() - self._started))
        try:
            out, err = self._proc.communicate(payload, timeout=remaining)
        except subprocess.TimeoutExpired:
            self.close()
            raise ReportError(f"PDF rendering exceeded {lim.wall_seconds:g} s and was "
                              "stopped") from None
        code = self._proc.returncode
        if code != 0:
            message = err.decode("utf-8", "replace").strip().splitlines()
            detail = message[-1] if message else f"exit status {code}"
            if code < 0 or "MemoryError" in detail:
                detail = (f"the rendering process was stopped ({detail}); limits: "
                          f"{lim.memory_bytes >> 20} MiB, {lim.cpu_seconds} s CPU")
            raise ReportError(f"PDF rendering failed: {detail[:300]}")
        return out

    def close(self) -> None:
        """Stop the child if it is still running (nothing to render after all)."""
        if self._proc.returncode is None:
            self._proc.kill()
            self._proc.communicate()


def render_pdf_isolated(html: str, out_dir: Path, *,
                        attachments: tuple[PdfAttachment, ...] = (),
                        created: datetime | None = None,
                        limits: RenderLimits | None = None) -> bytes:
    """:func:`render_pdf` in a child process with memory, CPU and wall-clock limits.

    A render that exceeds a limit, crashes or refuses a resource raises :class:`ReportError`
    (exit 5); the parent's memory and time are never at the mercy of the document.
    """
    renderer = IsolatedRenderer(limits)
    try:
        return renderer.render(html, out_dir, attachments=attachments, created=created)
    finally:
        renderer.close()
