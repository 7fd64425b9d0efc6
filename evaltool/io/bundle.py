"""Loading an evidence bundle: manifest validation, safe paths, hashes and a full evidence check.

Every evidence file is hashed as it is read and, when it is a table, validated completely against
its kind's column schema before any statistic runs, so that malformed evidence stops the audit
(exit 4) instead of producing verdicts from bad data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io import readers, tables, traces
from evaltool.io.files import MAX_EVIDENCE_BYTES, resolve_inside, sha256_file
from evaltool.io.yaml import load_yaml, validate
from evaltool.model.bundle import (
    TABLE_FORMATS,
    BundleManifest,
    EvidenceFile,
    EvidenceFormat,
    EvidenceKind,
)

MANIFEST_NAME = "bundle.yaml"

READ_AT_LOAD = frozenset({EvidenceKind.BLOCK_RECORDS})
"""Kinds whose reader runs when the bundle is loaded, so its rules beyond the column schema (for
block records: count families cover the same classes, errors never exceed detections) stop the
audit like a schema violation instead of making each check that reads the slot inconclusive.
The view is cached, so the checks reuse it."""


@dataclass(frozen=True, slots=True)
class BundleFile:
    """An evidence file of a loaded bundle."""

    entry: EvidenceFile
    path: Path
    """Resolved absolute path (inside the bundle)."""
    sha256: str
    size_bytes: int
    rows: int | None = None
    """Number of rows, for tables."""
    columns: tuple[str, ...] = ()
    """Column names, for tables."""
    shape: tuple[int, ...] = ()
    """Array shape (traces, samples), for trace arrays."""

    @property
    def display_path(self) -> str:
        """The path as written in the manifest (relative to the bundle)."""
        return self.entry.path


@dataclass(frozen=True, slots=True)
class Bundle:
    """A validated evidence bundle."""

    root: Path
    manifest_path: Path
    manifest_sha256: str
    manifest: BundleManifest
    files: dict[str, BundleFile] = field(default_factory=dict)


def manifest_path_of(path: Path) -> Path:
    """The manifest of a bundle given as a folder or as the manifest file itself."""
    return path / MANIFEST_NAME if path.is_dir() else path


def load_manifest(path: Path) -> tuple[Path, BundleManifest]:
    """Read and validate ``bundle.yaml`` (``path`` is the bundle folder or the manifest)."""
    mpath = manifest_path_of(path)
    if not mpath.exists():
        raise EvidenceError(f"no {MANIFEST_NAME} manifest in the bundle folder", path=path)
    doc = load_yaml(mpath, error=EvidenceError)
    return mpath, validate(doc, BundleManifest, error=EvidenceError)


def load_bundle(path: Path, *, check_tables: bool = True,
                known_sha256: Mapping[Path, str] | None = None) -> Bundle:
    """Load a bundle: validate the manifest, resolve, hash and validate every evidence file.

    ``known_sha256`` maps resolved paths to digests this process computed a moment ago (``verify``
    hashes every recorded input before it recomputes); those files are not read twice.
    """
    mpath, manifest = load_manifest(path)
    root = mpath.parent
    manifest_sha, _ = sha256_file(mpath)
    files: dict[str, BundleFile] = {}
    known = known_sha256 or {}
    for i, entry in enumerate(manifest.evidence):
        files[entry.slot] = _load_file(root, mpath, i, entry, check_tables=check_tables,
                                       known=known)
    if check_tables:
        _check_trace_labels(root, files)
        _read_views(root, files)
        _check_transcripts(root, files)
    return Bundle(root=root, manifest_path=mpath, manifest_sha256=manifest_sha, manifest=manifest,
                  files=files)


def _load_file(
    root: Path, mpath: Path, index: int, entry: EvidenceFile, *, check_tables: bool,
    known: Mapping[Path, str],
) -> BundleFile:
    loc = f"evidence[{index}] (slot '{entry.slot}')"
    if entry.size_bytes is not None and entry.size_bytes > MAX_EVIDENCE_BYTES:
        raise EvidenceError(
            f"declared size {entry.size_bytes} bytes exceeds the limit of {MAX_EVIDENCE_BYTES}",
            path=mpath, location=loc,
        )
    real = resolve_inside(root, entry.path, manifest=mpath, location=loc)
    actual_size = real.stat().st_size
    if actual_size > MAX_EVIDENCE_BYTES:
        raise EvidenceError(f"file is larger than the limit of {MAX_EVIDENCE_BYTES} bytes",
                            path=entry.path)
    if entry.size_bytes is not None and entry.size_bytes != actual_size:
        raise EvidenceError(
            f"declared size {entry.size_bytes} bytes but the file has {actual_size} "
            "(truncated or replaced?)", path=mpath, location=loc,
        )
    if real in known:
        digest, size = known[real], actual_size
    else:
        digest, size = sha256_file(real)
    if entry.sha256 is not None and entry.sha256 != digest:
        raise EvidenceError(
            f"SHA-256 mismatch for {entry.path!r}: manifest says {entry.sha256}, file is {digest}",
            path=mpath, location=loc,
        )
    rows: int | None = None
    columns: tuple[str, ...] = ()
    display = root.name + "/" + entry.path
    if entry.kind is EvidenceKind.POST_PROCESSING_TRANSCRIPT:
        pass  # read whole, with the block records, once every file is loaded
    elif entry.format in TABLE_FORMATS and check_tables:
        info = tables.validate_table(real, entry.kind, entry.format, display=display)
        rows, columns = info.rows, info.columns
    elif entry.format is EvidenceFormat.JSONL and check_tables:
        rows = tables.validate_jsonl(real, display=display)
    elif entry.format is EvidenceFormat.BINARY and size == 0:
        raise EvidenceError("binary evidence file is empty", path=display)
    shape: tuple[int, ...] = ()
    if entry.format is EvidenceFormat.NPY and check_tables:
        trace_info = traces.validate_trace_array(real, display=display)
        rows, shape = trace_info.traces, (trace_info.traces, trace_info.samples)
    return BundleFile(entry=entry, path=real, sha256=digest, size_bytes=size, rows=rows,
                      columns=columns, shape=shape)


def _read_views(root: Path, files: dict[str, BundleFile]) -> None:
    """Apply the readers of :data:`READ_AT_LOAD` kinds; too little data stays a matter for each
    check (inconclusive), malformed data is an error now."""
    for bf in files.values():
        if bf.entry.kind not in READ_AT_LOAD:
            continue
        source = readers.Source(slot=bf.entry.slot, kind=bf.entry.kind, format=bf.entry.format,
                                path=bf.path, display=f"{root.name}/{bf.entry.path}",
                                sha256=bf.sha256)
        with contextlib.suppress(InsufficientDataError):
            readers.read(source)


def _check_trace_labels(root: Path, files: dict[str, BundleFile]) -> None:
    """Every trace array has exactly one label row per trace."""
    for bf in files.values():
        slot = bf.entry.labels_slot
        if slot is None:
            continue
        labels = files[slot]
        if labels.rows != bf.rows:
            raise EvidenceError(
                f"{labels.rows} label rows in slot '{slot}' ({labels.entry.path}) for "
                f"{bf.rows} traces", path=root.name + "/" + bf.entry.path)


def _check_transcripts(root: Path, files: dict[str, BundleFile]) -> None:
    """Every post-processing transcript is read through (one block at a time) and checked against
    the block records of its capture (:func:`evaltool.io.readers.postprocessing.
    check_against_blocks`): the slot its ``blocks_slot`` names, else the bundle's only
    block-records slot; with several and none named, the transcript is validated alone."""
    transcripts = [bf for bf in files.values()
                   if bf.entry.kind is EvidenceKind.POST_PROCESSING_TRANSCRIPT]
    if not transcripts:
        return
    from evaltool.io import readers  # the readers only for bundles that hold a transcript

    def source(bf: BundleFile) -> readers.Source:
        return readers.Source(slot=bf.entry.slot, kind=bf.entry.kind, format=bf.entry.format,
                              path=bf.path, display=root.name + "/" + bf.entry.path,
                              sha256=bf.sha256)

    block_slots = [bf for bf in files.values() if bf.entry.kind is EvidenceKind.BLOCK_RECORDS]
    for bf in transcripts:
        view = readers.read(source(bf))
        named = bf.entry.blocks_slot
        blocks = files[named] if named is not None else (
            block_slots[0] if len(block_slots) == 1 else None)
        if blocks is not None:
            readers.check_against_blocks(view, readers.read(source(blocks)))
        else:
            readers.postprocessing.validate_transcript(view)
