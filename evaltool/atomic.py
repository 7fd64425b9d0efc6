"""Atomic file writing: a reader sees the old file or the complete new one, never a partial one.

At the bottom of the layers (it imports nothing of evaltool), so the report, the signatures and the
importers write their files the same way, with the permissions an ordinary ``open()`` gives.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Staged:
    """``data`` written and synced to a temporary file beside ``dest``, not yet in place."""

    def __init__(self, dest: Path, data: bytes) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        self.dest, self.tmp = dest, Path(tmp)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            self.discard()
            raise

    def commit(self) -> None:
        """Put the file in place (one rename: a reader sees the old file or the new one)."""
        try:
            os.replace(self.tmp, self.dest)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Remove the temporary file."""
        self.tmp.unlink(missing_ok=True)


def ordinary_permissions(path: Path) -> None:
    """Give ``path`` the mode an ordinary ``open()`` would (0666 less the umask), not the
    owner-only mode of a temporary file."""
    os.chmod(path, 0o666 & ~_umask())


def write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file in the same folder and a rename.

    The file gets the permissions an ordinary ``open()`` would give it (0666 less the umask), not
    the owner-only mode of the temporary file, so a report can be shared like any other file.
    """
    Staged(dest, data).commit()
