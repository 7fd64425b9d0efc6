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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from evaltool.errors import ReportError
from evaltool.report import paged
from evaltool.report._join import join, prepare
from evaltool.report.paged import Layout

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
    """Render one HTML document to PDF/A-3b bytes and the layout the joiner needs.

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
    return data, layout


def _layout(document: Any) -> Layout:
    """Page count, anchors and bookmarks of a WeasyPrint document, in PDF points with the origin
    at the bottom left (WeasyPrint's own transformation: 0.75 pt per CSS pixel)."""
    anchors, bookmarks, slots = [], [], []
    for i, page in enumerate(document.pages):
        def pt(x: float, y: float, h: float = page.height) -> tuple[float, float]:
            return round(x * 0.75, 4), round((h - y) * 0.75, 4)
        for name, (x, y, x2, y2) in page.anchors.items():
            if name.startswith(paged.SLOT):
                slots.append((name, i, x, y, x2, y2))
            else:
                anchors.append((name, i, *pt(x, y)))
        for level, label, (x, y), state in page.bookmarks:
            bookmarks.append((int(level), str(label), i, *pt(x, y), state != "closed"))
    return Layout(len(document.pages), tuple(anchors), tuple(bookmarks), tuple(slots))


@dataclass(frozen=True, slots=True)
class _Job:
    """One document for a renderer: a report part, the cover and contents, or the sample."""

    html: str
    attachments: tuple[PdfAttachment, ...] = ()


Runner = Callable[[list[_Job]], list[tuple[bytes, Layout]]]
"""Renders jobs (possibly at once, in worker processes) and returns results in job order."""


def render_report(html: str, run: Runner, *, attachments: tuple[PdfAttachment, ...] = (),
                  created: datetime | None = None) -> bytes:
    """The report PDF, rendered in parts by ``run`` and joined (:mod:`evaltool.report.paged`).

    A document without the template's cut marks is rendered whole.
    """
    from concurrent.futures import ThreadPoolExecutor

    source = paged.parse(html)
    if source is None:
        return run([_Job(html, attachments)])[0][0]
    front = paged.front_html(source)
    ranges = paged.plan(source, last=paged.weight(front.html) * paged.FRONT_WEIGHT)
    parts = [front, *(paged.part_html(source, r) for r in ranges)]
    with ThreadPoolExecutor(1) as pool:  # compresses the attachments while the parts render
        files = pool.submit(prepare, [(a.name, a.data, a.description, a.relationship)
                                      for a in attachments])
        # Largest first: the two body parts, the cover and contents, the sample; a process
        # that finishes early takes the next.
        *rendered, (sample, _) = run([*(_Job(p.html) for p in parts[1:]), _Job(front.html),
                                      _Job(paged.sample_html(source).html)])
        prepared = files.result()
    rendered = [rendered[-1], *rendered[:-1]]
    layouts = [Layout(lay.pages,
                      tuple(a for a in lay.anchors if a[0] not in part.stubs),
                      lay.bookmarks, lay.slots)
               for part, (_, lay) in zip(parts, rendered, strict=True)]
    toc = paged.toc_numbers(source, layouts)
    try:
        return join([(data, lay) for (data, _), lay in zip(rendered, layouts, strict=True)],
                    base=1, sample=sample, toc=toc, attachments=prepared,
                    created=created or datetime(1980, 1, 1, tzinfo=UTC))
    except Exception as exc:  # a malformed part is our defect, but never a half-written report
        raise ReportError(f"joining the report's parts failed ({type(exc).__name__}: "
                          f"{exc})") from None


def render_pdf(html: str, out_dir: Path, *, attachments: tuple[PdfAttachment, ...] = (),
               created: datetime | None = None, fetcher: Any = None) -> bytes:
    """Render ``html`` to PDF/A-3b bytes in this process; resources may come only from ``out_dir``.

    Parameters
    ----------
    html:
        The report (rendered in parts when it carries the template's cut marks). Its
        ``<meta name="dcterms.created">`` sets the document dates.
    out_dir:
        The only folder files may be loaded from.
    attachments:
        Files to embed as PDF/A-3 associated files.
    created:
        Timestamp of the embedded files (the evaluation's time, for reproducible bytes).
    fetcher:
        A fetcher from :func:`confined_fetcher` (to inspect its requests); one is made if omitted.
    """
    fetcher = fetcher if fetcher is not None else confined_fetcher(out_dir)

    def run(jobs: list[_Job]) -> list[tuple[bytes, Layout]]:
        return [render_document(j.html, out_dir, attachments=j.attachments, created=created,
                                fetcher=fetcher) for j in jobs]

    return render_report(html, run, attachments=attachments, created=created)


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Resource limits of an isolated PDF render."""

    memory_bytes: int = 4 << 30
    """Address-space limit of each rendering process (RLIMIT_AS)."""
    cpu_seconds: int = 600
    """CPU-time limit of each rendering process (RLIMIT_CPU)."""
    wall_seconds: float = 1200.0
    """Wall-clock limit of the whole render; the processes are killed after it."""


WORKERS = 2
"""Rendering processes (the body is cut in :data:`evaltool.report.paged.PARTS` parts)."""


class _Channel:
    """The parent's end of one rendering process's request and answer pipes."""

    def __init__(self, send: int, receive: int) -> None:
        self.send = os.fdopen(send, "wb")
        self.receive = os.fdopen(receive, "rb")

    def call(self, job: _Job, out_dir: Path, created: datetime | None) -> tuple[bytes, Layout]:
        """Render ``job`` in the process; :class:`_GoneError` if it ended without answering."""
        import json
        import pickle

        from evaltool.report._worker import read_frame, write_frame

        payload = pickle.dumps((job.html, str(out_dir), job.attachments, created))
        try:
            write_frame(self.send, payload)
            header, data = read_frame(self.receive), read_frame(self.receive)
        except (OSError, ValueError):
            header = data = None
        if header is None or data is None:
            raise _GoneError
        head = json.loads(header)
        if not head.get("ok"):
            raise ReportError(str(head.get("error", "unknown error"))[:500])
        return data, Layout.from_json(head["layout"])

    def close(self) -> None:
        for f in (self.send, self.receive):
            with suppress(OSError):
                f.close()


class _GoneError(Exception):
    """A rendering process ended without answering."""


class IsolatedRenderer:
    """PDF rendering processes, started ahead of the document they will render.

    One child (``python -m evaltool.report._worker``) starts under ``limits`` (memory and CPU set
    before it starts, the wall clock enforced here; the limits apply to each process), loads
    WeasyPrint and the fonts while the parent is still writing the HTML, then forks itself into
    :data:`WORKERS` processes, each serving its own pair of pipes, so that the renderer is loaded
    once. :meth:`render` gives them the parts of the report (:func:`render_report`), each job to
    the first free process. Use it once: :meth:`render`, or :meth:`close` to stop processes that
    are not needed.
    """

    def __init__(self, limits: RenderLimits | None = None) -> None:
        import resource
        import subprocess
        import sys
        import tempfile
        import time

        self.limits = lim = limits or RenderLimits()
        self._started = time.monotonic()

        def _limit() -> None:  # runs in the child before exec
            resource.setrlimit(resource.RLIMIT_AS, (lim.memory_bytes, lim.memory_bytes))
            resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds))

        ours, theirs = [], []
        for _ in range(WORKERS):
            req_r, req_w = os.pipe()
            ans_r, ans_w = os.pipe()
            ours.append((req_w, ans_r))
            theirs += [req_r, ans_w]
        # A file, not a pipe, so that a chatty child never blocks; closed in close().
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(  # our own interpreter and module, no shell
                [sys.executable, "-m", "evaltool.report._worker", *map(str, theirs)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._err,
                pass_fds=theirs, preexec_fn=_limit, start_new_session=True)
        finally:
            for fd in theirs:
                os.close(fd)
        self._channels = [_Channel(w, r) for w, r in ours]
        self._used = False

    def render(self, html: str, out_dir: Path, *, attachments: tuple[PdfAttachment, ...] = (),
               created: datetime | None = None) -> bytes:
        """:func:`render_pdf` of these arguments in the children; raises :class:`ReportError`."""
        import queue
        import threading
        import time

        deadline = self._started + self.limits.wall_seconds
        self._used = True

        def run(jobs: list[_Job]) -> list[tuple[bytes, Layout]]:
            todo: queue.SimpleQueue[int] = queue.SimpleQueue()
            for i in range(len(jobs)):
                todo.put(i)
            results: dict[int, tuple[bytes, Layout]] = {}
            errors: list[Exception] = []

            def serve(channel: _Channel) -> None:
                while not errors:
                    try:
                        i = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        results[i] = channel.call(jobs[i], out_dir, created)
                    except (ReportError, _GoneError) as exc:
                        errors.append(exc)

            threads = [threading.Thread(target=serve, args=(c,), daemon=True)
                       for c in self._channels]
            for t in threads:
                t.start()
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
                if t.is_alive():
                    self._kill()
                    raise ReportError(f"PDF rendering exceeded {self.limits.wall_seconds:g} s "
                                      "and was stopped")
            if errors:
                first = next((e for e in errors if isinstance(e, ReportError)), None)
                raise first if first is not None else ReportError(
                    f"PDF rendering failed: {self._death()}")
            return [results[i] for i in range(len(jobs))]

        return render_report(html, run, attachments=attachments, created=created)

    def _death(self) -> str:
        """Why a rendering process ended: the last line it wrote, or how it was stopped."""
        self._kill()
        code = self._proc.returncode
        self._err.seek(0)
        lines = self._err.read().decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit status {code}"
        lim = self.limits
        if not lines or (code is not None and code < 0) or "MemoryError" in detail:
            detail = (f"the rendering process was stopped ({detail}); limits: "
                      f"{lim.memory_bytes >> 20} MiB, {lim.cpu_seconds} s CPU")
        return detail[:300]

    def _kill(self) -> None:
        """Kill the whole process group (the forked process too), then reap the child."""
        import signal

        if self._proc.returncode is None:  # not reaped yet: its pid is still the group's id
            with suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()

    def close(self) -> None:
        """Stop the processes (nothing more to render): end their input, or kill them."""
        import subprocess

        for c in self._channels:
            c.close()
        if not self._used:
            self._kill()  # still loading the renderer: no need to wait for it
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._kill()
        self._err.close()


def render_pdf_isolated(html: str, out_dir: Path, *,
                        attachments: tuple[PdfAttachment, ...] = (),
                        created: datetime | None = None,
                        limits: RenderLimits | None = None) -> bytes:
    """:func:`render_pdf` in child processes with memory, CPU and wall-clock limits.

    A render that exceeds a limit, crashes or refuses a resource raises :class:`ReportError`
    (exit 5); the parent's memory and time are never at the mercy of the document.
    """
    renderer = IsolatedRenderer(limits)
    try:
        return renderer.render(html, out_dir, attachments=attachments, created=created)
    finally:
        renderer.close()
