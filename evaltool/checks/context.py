"""Evidence access for one check; records which files (and hashes) the check read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io import tables
from evaltool.io.bundle import Bundle, BundleFile
from evaltool.model.bundle import TABLE_FORMATS, BundleManifest, EvidenceFormat, EvidenceKind
from evaltool.model.results import EvidenceRef

MAX_IN_MEMORY_BITS = 1 << 33
"""Largest RNG slot unpacked in memory at once (1 GiB of bits); larger slots must be streamed."""


class CheckContext:
    """What a check may see: the bundle's evidence, the ST's values and a seeded generator.

    Parameters
    ----------
    bundle:
        The loaded, validated bundle.
    st:
        Security-target assignments and selections (after defaults from the profile).
    seed:
        Seed of this check's random generator (derived from the audit seed and the check id).
    """

    def __init__(self, bundle: Bundle, st: Mapping[str, Any], seed: int) -> None:
        self._bundle = bundle
        self.st: Mapping[str, Any] = st
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._used: dict[str, EvidenceRef] = {}

    @property
    def manifest(self) -> BundleManifest:
        """The bundle manifest (TOE identification, claims, capture metadata)."""
        return self._bundle.manifest

    @property
    def evidence_used(self) -> tuple[EvidenceRef, ...]:
        """The files this check read, in first-use order."""
        return tuple(self._used.values())

    def has(self, slot: str) -> bool:
        """Whether the bundle binds ``slot``."""
        return slot in self._bundle.files

    def file(self, slot: str, *, kinds: Sequence[EvidenceKind] | None = None) -> BundleFile:
        """The evidence file bound to ``slot``; a missing slot is insufficient data."""
        bf = self._bundle.files.get(slot)
        if bf is None:
            raise InsufficientDataError(f"evidence slot {slot!r} is not in the bundle")
        if kinds is not None and bf.entry.kind not in kinds:
            allowed = ", ".join(k.value for k in kinds)
            raise EvidenceError(
                f"slot {slot!r} holds '{bf.entry.kind}', this check needs {allowed}",
                path=self._display(bf),
            )
        self._used.setdefault(slot, EvidenceRef(slot=slot, path=bf.entry.path, sha256=bf.sha256,
                                                kind=bf.entry.kind.value))
        return bf

    def _display(self, bf: BundleFile) -> str:
        return f"{self._bundle.root.name}/{bf.entry.path}"

    # -- binary --------------------------------------------------------------------------

    def raw_bytes(self, slot: str) -> bytes:
        """The whole content of a binary slot."""
        bf = self._binary(slot)
        return bf.path.read_bytes()

    def bits(self, slot: str) -> NDArray[np.uint8]:
        """A binary slot unpacked into bits, most significant bit of each byte first."""
        bf = self._binary(slot)
        if bf.size_bytes * 8 > MAX_IN_MEMORY_BITS:
            raise EvidenceError(f"slot {slot!r} is too large to load at once; stream it",
                                path=self._display(bf))
        return np.unpackbits(np.fromfile(bf.path, dtype=np.uint8))

    def iter_bits(self, slot: str, chunk_bits: int) -> Iterator[NDArray[np.uint8]]:
        """A binary slot as bit chunks of ``chunk_bits`` (a multiple of 8), MSB first."""
        if chunk_bits <= 0 or chunk_bits % 8:
            raise ValueError("chunk_bits must be a positive multiple of 8")
        bf = self._binary(slot)
        with bf.path.open("rb") as f:
            while block := f.read(chunk_bits // 8):
                yield np.unpackbits(np.frombuffer(block, dtype=np.uint8))

    def _binary(self, slot: str) -> BundleFile:
        bf = self.file(slot)
        if bf.entry.format is not EvidenceFormat.BINARY:
            raise EvidenceError(f"slot {slot!r} is not binary", path=self._display(bf))
        return bf

    # -- tables --------------------------------------------------------------------------

    def iter_table(
        self, slot: str, columns: Sequence[str] | None = None, *, chunk_rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """A table slot in chunks (bounded memory)."""
        bf = self._table(slot)
        return tables.iter_table(
            bf.path, bf.entry.kind, bf.entry.format, display=self._display(bf), columns=columns,
            chunk_rows=chunk_rows or tables.CHUNK_ROWS,
        )

    def read_table(self, slot: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A whole table slot (for small tables such as per-block records)."""
        bf = self._table(slot)
        return tables.read_table(bf.path, bf.entry.kind, bf.entry.format,
                                 display=self._display(bf), columns=columns)

    def columns(self, slot: str) -> tuple[str, ...]:
        """Column names of a table slot."""
        bf = self._table(slot)
        return bf.columns or tuple(tables.read_columns(bf.path, bf.entry.format,
                                                       self._display(bf)))

    def _table(self, slot: str) -> BundleFile:
        bf = self.file(slot)
        if bf.entry.format not in TABLE_FORMATS:
            raise EvidenceError(f"slot {slot!r} is not a table", path=self._display(bf))
        return bf

    # -- logs ----------------------------------------------------------------------------

    def jsonl(self, slot: str) -> Iterator[dict[str, Any]]:
        """The records of a JSON-lines slot."""
        bf = self.file(slot)
        if bf.entry.format is not EvidenceFormat.JSONL:
            raise EvidenceError(f"slot {slot!r} is not JSON lines", path=self._display(bf))
        return tables.iter_jsonl(bf.path, display=self._display(bf))
