"""Safe resolution of bundle-relative paths and streaming SHA-256 hashing."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from evaltool.errors import EvidenceError

HASH_CHUNK_BYTES = 1 << 20
MAX_EVIDENCE_BYTES = 64 * 1024**3
"""Largest evidence file accepted (64 GiB); a larger declared or actual size is refused."""


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size of ``path``, read in 1 MiB chunks (bounded memory)."""
    h = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(HASH_CHUNK_BYTES):
                h.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise EvidenceError(f"cannot read file ({exc.strerror or exc})", path=path) from None
    return h.hexdigest(), size


def resolve_inside(root: Path, relative: str, *, manifest: Path, location: str) -> Path:
    """Resolve ``relative`` against the bundle ``root``, refusing anything that leaves it.

    Absolute paths, ``..`` components, control characters, symlinks that point outside the bundle
    and anything that is not a regular file are errors naming the manifest entry.
    """

    def fail(problem: str) -> EvidenceError:
        return EvidenceError(problem, path=manifest, location=location)

    if any(ord(ch) < 32 or ch == "\x7f" for ch in relative):
        raise fail("evidence path contains control characters")
    if "\\" in relative:
        raise fail(f"evidence path {relative!r} uses backslashes; use '/'")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or relative.startswith("~"):
        raise fail(f"evidence path {relative!r} is absolute; it must be relative to the bundle")
    if any(part == ".." for part in pure.parts):
        raise fail(f"evidence path {relative!r} leaves the bundle folder ('..')")
    root_real = Path(os.path.realpath(root))
    candidate = root / Path(*pure.parts)
    real = Path(os.path.realpath(candidate))
    if real != root_real and root_real not in real.parents:
        raise fail(f"evidence path {relative!r} resolves outside the bundle (symbolic link?)")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise fail(f"evidence file {relative!r} does not exist") from None
    except OSError as exc:
        raise fail(f"evidence file {relative!r} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise fail(f"evidence path {relative!r} is not a regular file")
    return real
