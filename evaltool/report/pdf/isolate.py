"""The PDF renderer in child processes, under memory, CPU and wall-clock limits.

A hostile or huge document must not take down the evaluation that renders it: the Jinja2 sandbox
stops template code, not CPU or memory blow-up in the layout engine (WeasyPrint's documentation,
"Security": long renderings, infinite loops, huge values). So the parent starts one child
(``python -m evaltool.report.pdf.worker``, :mod:`evaltool.report.pdf.worker`) with limits on its
address space and CPU time set before it starts, enforces the wall clock itself, and kills the
whole process group when a limit is passed. The child loads WeasyPrint while the parent is still
writing the HTML, then forks into :data:`WORKERS` processes, one per pair of pipes.

Jobs travel as frames: an 8-byte big-endian length, then the payload. The parent sends a pickle of
``(html, out_dir, attachments, created)``; a process answers with two frames, a JSON header
(``{"ok": true, "layout": ...}`` or ``{"ok": false, "error": "..."}``) and the PDF bytes. The
parent reads only JSON and bytes from the children, never a pickle, so a document that subverted
the renderer could not run code in the parent.
"""

from __future__ import annotations

import os
import struct
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from evaltool.errors import ReportError
from evaltool.report.pdf.build import render_report
from evaltool.report.pdf.render import Job, Layout, PdfAttachment

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
"""Rendering processes (the split path cuts the body in :data:`evaltool.report.pdf.split.PARTS`
parts; the whole render uses one of them)."""


class _Channel:
    """The parent's end of one rendering process's request and answer pipes."""

    def __init__(self, send: int, receive: int) -> None:
        self.send = os.fdopen(send, "wb")
        self.receive = os.fdopen(receive, "rb")

    def call(self, job: Job, out_dir: Path, created: datetime | None) -> tuple[bytes, Layout]:
        """Render ``job`` in the process; :class:`_GoneError` if it ended without answering,
        :class:`ValueError` for an answer that is not a layout."""
        import json
        import pickle

        payload = pickle.dumps((job.html, str(out_dir), job.attachments, created))
        try:
            write_frame(self.send, payload)
            header, data = read_frame(self.receive), read_frame(self.receive)
        except (OSError, ValueError):
            header = data = None
        if header is None or data is None:
            raise _GoneError
        head = json.loads(header)
        if not isinstance(head, dict):
            raise ValueError("the renderer's answer is not a JSON object")
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

    One child (``python -m evaltool.report.pdf.worker``) starts under ``limits`` (memory and CPU set
    before it starts, the wall clock enforced here; the limits apply to each process), loads
    WeasyPrint and the fonts while the parent is still writing the HTML, then forks itself into
    :data:`WORKERS` processes, each serving its own pair of pipes, so that the renderer is loaded
    once. :meth:`render` gives them the report, whole or in parts (:func:`render_report`), each
    job to the first free process. Use it once: :meth:`render`, or :meth:`close` to stop
    processes that are not needed.
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
                [sys.executable, "-m", "evaltool.report.pdf.worker", *map(str, theirs)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._err,
                pass_fds=theirs, preexec_fn=_limit, start_new_session=True)
        finally:
            for fd in theirs:
                os.close(fd)
        self._channels = [_Channel(w, r) for w, r in ours]
        self._used = False

    def render(self, html: str, out_dir: Path, *, attachments: tuple[PdfAttachment, ...] = (),
               created: datetime | None = None, parts: bool | None = None) -> bytes:
        """:func:`~evaltool.report.pdf.build.render_pdf` of these arguments in the children;
        raises :class:`ReportError`."""
        import queue
        import threading
        import time

        deadline = self._started + self.limits.wall_seconds
        self._used = True

        def run(jobs: list[Job]) -> list[tuple[bytes, Layout]]:
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
                    except Exception as exc:  # reported below, after every thread ended
                        errors.append(exc)

            busy, idle = self._channels[:len(jobs)], self._channels[len(jobs):]
            for c in idle:  # one job (the whole render): the other process ends, freeing memory
                c.close()
            threads = [threading.Thread(target=serve, args=(c,), daemon=True) for c in busy]
            for t in threads:
                t.start()
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
                if t.is_alive():
                    self._kill()
                    raise ReportError(f"PDF rendering exceeded {self.limits.wall_seconds:g} s "
                                      "and was stopped")
            if any(isinstance(e, _GoneError) for e in errors):
                raise ReportError(f"PDF rendering failed: {self._death()}")
            if errors:  # the renderer's own failure first, then an answer not understood
                raise next((e for e in errors if isinstance(e, ReportError)), errors[0])
            return [results[i] for i in range(len(jobs))]

        return render_report(html, run, attachments=attachments, created=created, parts=parts)

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

    def abort(self) -> None:
        """Kill the rendering processes now: the run failed or is being interrupted, and the
        PDF would be discarded anyway (a render can take minutes)."""
        self._kill()

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
                        limits: RenderLimits | None = None, parts: bool | None = None) -> bytes:
    """:func:`~evaltool.report.pdf.build.render_pdf` in child processes with memory, CPU and
    wall-clock limits.

    A render that exceeds a limit, crashes or refuses a resource raises :class:`ReportError`
    (exit 5); the parent's memory and time are never at the mercy of the document.
    """
    renderer = IsolatedRenderer(limits)
    try:
        return renderer.render(html, out_dir, attachments=attachments, created=created,
                               parts=parts)
    finally:
        renderer.close()
