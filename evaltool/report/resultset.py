"""The output folder as one result set: a lock, a staging folder and a switch that survives a crash.

Writing each output atomically is not enough: a run killed between two files would leave a new
report beside an old ``results.json``. The outputs of a run are therefore written into a staging
folder inside the output folder and switched into place together, with a write-ahead commit
record, the technique of a journalling file system or of SQLite's write-ahead log
(https://sqlite.org/atomiccommit.html, sections 3 and 4):

1. every output is written and synced into ``DIR/.evaltool/staging/``;
2. the set's manifest (generation number, each output's name and SHA-256) is written there as
   ``COMMIT`` (atomically, synced): **the commit point**;
3. the staged files are renamed into ``DIR`` one by one, the outputs of the previous set that
   the new set does not have (a signature, a format not asked for) are removed, the manifest
   becomes ``DIR/.evaltool/set.json``, and the staging folder is removed.

Whoever holds the folder next (``audit``, ``report``, ``sign``, ``verify``) first finishes step 3
when it finds a ``COMMIT`` (every step is idempotent) or discards a staging folder without one.
So a run killed at any point leaves the previous complete set or, once the commit point is
passed, the new complete set; :func:`inspect_set` tells which, and whether every output still
matches the manifest. One run holds the folder at a time (an exclusive ``flock`` on
``DIR/.evaltool/lock``, released by the kernel when the holder dies, so it never goes stale); a
second one is refused with :class:`FolderBusyError`. See ``docs/outputs.md``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from evaltool.atomic import write_atomic
from evaltool.errors import EvaltoolError, ExitCode, ReportError, raise_if_stop_requested

CONTROL = ".evaltool"
"""Folder inside the output folder holding the lock, the staging folder and the set manifest."""
LOCK_NAME = "lock"
STAGING_NAME = "staging"
COMMIT_NAME = "COMMIT"
SET_NAME = "set.json"

__all__ = ["COMMIT_NAME", "CONTROL", "FolderBusyError", "OutputFolder", "SetState", "Staging",
           "hold", "inspect_set"]


class FolderBusyError(EvaltoolError):
    """Another evaltool run holds the output folder (exit 75, ``EX_TEMPFAIL``: try later)."""

    exit_code = ExitCode.BUSY


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` (ordinary permissions) and sync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the set is switched; deliver them afterwards.

    The switch is rolled forward by the next run anyway, but finishing it here leaves the folder
    complete without one. Only the main thread can change handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    saved: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        saved[sig] = signal.signal(sig, note)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


@dataclass
class SetState:
    """What :func:`inspect_set` found in an output folder."""

    generation: int | None
    """Generation of the set in place (None: no manifest, written by an older evaltool)."""
    files: dict[str, str] = field(default_factory=dict)
    """Each output of the set and its recorded SHA-256."""
    problems: list[str] = field(default_factory=list)
    """Each way the folder differs from its manifest (empty: the complete set is in place)."""
    pending: bool = False
    """A switch past its commit point was not finished (finished by the next holder)."""

    @property
    def complete(self) -> bool:
        """Every output of the manifest is in place with its hash, and no other output is."""
        return not self.problems and not self.pending


class OutputFolder:
    """An output folder held by this run: locked, recovered, ready for a new result set.

    ``managed`` are the output names a set may hold; a new set removes those of them it does not
    write. Use through :func:`hold`.
    """

    def __init__(self, out_dir: Path, managed: Iterable[str]) -> None:
        self.dir = out_dir
        self.control = out_dir / CONTROL
        self.staging_dir = self.control / STAGING_NAME
        self.managed = tuple(managed)
        self._fd: int | None = None

    # -- lock ------------------------------------------------------------------------------
    def acquire(self) -> None:
        """Create the folder if needed, take the lock, finish or discard an interrupted switch.

        Raises :class:`FolderBusyError` when another run holds it, :class:`ReportError` when
        the folder cannot be written.
        """
        try:
            self.control.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.control / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise ReportError(f"cannot write to the output folder ({_why(exc)})",
                              path=self.dir) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = f" (pid {int(os.pread(fd, 32, 0).split()[0])})"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise FolderBusyError(f"the output folder is in use by another evaltool "
                                      f"run{holder}; wait for it or choose another --out",
                                      path=self.dir) from None
            raise ReportError(f"cannot lock the output folder ({_why(exc)})",
                              path=self.dir) from None
        self._fd = fd
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            self.recover()
        except OSError as exc:
            self.release()
            raise ReportError(f"cannot finish the interrupted switch of the result set "
                              f"({_why(exc)})", path=self.dir) from None
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Drop the lock (the lock file stays: removing it would race with a new holder)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- recovery --------------------------------------------------------------------------
    def recover(self) -> None:
        """Finish a switch past its commit point, or discard a staging folder without one."""
        if not self.staging_dir.is_dir():
            return
        if (self.staging_dir / COMMIT_NAME).is_file():
            self._roll_forward()
        else:
            shutil.rmtree(self.staging_dir)

    def _roll_forward(self) -> None:
        """Step 3 of the switch; every part of it may already have been done."""
        record = (self.staging_dir / COMMIT_NAME).read_bytes()
        files: dict[str, str] = json.loads(record)["files"]
        for name in files:
            staged = self.staging_dir / name
            if staged.is_file():
                os.replace(staged, self.dir / name)
        for name in self.managed:
            if name not in files:
                (self.dir / name).unlink(missing_ok=True)
        _fsync_dir(self.dir)
        write_atomic(self.control / SET_NAME, record)
        (self.staging_dir / COMMIT_NAME).unlink()
        shutil.rmtree(self.staging_dir)
        _fsync_dir(self.control)

    # -- a new set -------------------------------------------------------------------------
    def current(self) -> dict[str, Any] | None:
        """The manifest of the set in place, if it has one."""
        try:
            loaded: dict[str, Any] = json.loads((self.control / SET_NAME).read_bytes())
        except (OSError, ValueError):
            return None
        return loaded

    def stage(self) -> Staging:
        """A fresh staging folder for the next set."""
        if self._fd is None:
            raise RuntimeError("stage() needs the folder held")
        self.recover()
        self.staging_dir.mkdir()
        return Staging(self)


class Staging:
    """The outputs of the next set, written into the staging folder until :meth:`commit`."""

    def __init__(self, folder: OutputFolder) -> None:
        self.folder = folder
        self.files: dict[str, str] = {}

    def write(self, name: str, data: bytes) -> Path:
        """Stage output ``name``; returns where it will be once the set is committed."""
        if name not in self.folder.managed:
            raise ValueError(f"{name!r} is not an output of the result set")
        _write_synced(self.folder.staging_dir / name, data)
        self.files[name] = hashlib.sha256(data).hexdigest()
        return self.folder.dir / name

    def keep(self, names: Iterable[str]) -> None:
        """Carry outputs of the set in place over unchanged (``sign`` replaces two of them)."""
        recorded = (self.folder.current() or {}).get("files", {})
        for name in names:
            if name in self.files:
                continue
            path = self.folder.dir / name
            if path.is_file() and not path.is_symlink():
                self.files[name] = recorded.get(name) or _sha256(path)

    def commit(self, *, before_switch: Callable[[], None] | None = None) -> int:
        """Write the commit record, then switch the set into place; returns its generation."""
        current = self.folder.current() or {}
        generation = int(current.get("generation", 0)) + 1
        record = (json.dumps({"generation": generation, "files": dict(sorted(self.files.items()))},
                             indent=2, sort_keys=True) + "\n").encode()
        staging = self.folder.staging_dir
        _fsync_dir(staging)
        raise_if_stop_requested()
        with _signals_deferred():
            write_atomic(staging / COMMIT_NAME, record)  # the commit point
            _fsync_dir(staging)
            if before_switch is not None:
                before_switch()
            self.folder._roll_forward()
        return generation

    def discard(self) -> None:
        """Remove the staging folder (the set in place is untouched)."""
        shutil.rmtree(self.folder.staging_dir, ignore_errors=True)


_held: dict[str, tuple[OutputFolder, int]] = {}
_held_lock = threading.Lock()


@contextlib.contextmanager
def hold(out_dir: Path, managed: Iterable[str]) -> Iterator[OutputFolder]:
    """Hold ``out_dir`` for this run (re-entrant within the process: ``audit`` holds it from
    the start, and writing the outputs inside holds it again)."""
    key = os.path.realpath(out_dir)
    with _held_lock:
        entry = _held.get(key)
        if entry is not None:
            _held[key] = (entry[0], entry[1] + 1)
            folder = entry[0]
        else:
            folder = OutputFolder(out_dir, managed)
    if entry is None:
        folder.acquire()
        with _held_lock:
            _held[key] = (folder, 1)
    try:
        yield folder
    finally:
        with _held_lock:
            f, depth = _held[key]
            if depth == 1:
                del _held[key]
                f.release()
            else:
                _held[key] = (f, depth - 1)


def inspect_set(out_dir: Path, managed: Iterable[str]) -> SetState:
    """Whether ``out_dir`` holds exactly the set its manifest records (read only)."""
    managed = tuple(managed)
    control = out_dir / CONTROL
    pending = (control / STAGING_NAME / COMMIT_NAME).is_file()
    try:
        manifest = json.loads((control / SET_NAME).read_bytes())
        files: dict[str, str] = dict(manifest["files"])
        generation: int | None = int(manifest["generation"])
    except FileNotFoundError:
        return SetState(None, pending=pending)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return SetState(None, pending=pending,
                        problems=[f"{CONTROL}/{SET_NAME} is unreadable ({exc})"])
    state = SetState(generation, files, pending=pending)
    for name, digest in files.items():
        path = out_dir / name
        if not path.is_file():
            state.problems.append(f"{name} of result set {generation} is missing")
        elif _sha256(path) != digest:
            state.problems.append(f"{name} is not the one of result set {generation} "
                                  "(SHA-256 differs from its manifest)")
    for name in managed:
        if name not in files and (out_dir / name).exists():
            state.problems.append(f"{name} does not belong to result set {generation}")
    return state
