"""Evidence access for one check through the typed readers; records which files (and hashes)
the check read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io import readers
from evaltool.io.bundle import Bundle, BundleFile
from evaltool.io.readers import (
    BlockRecords,
    Chunk,
    LogView,
    ParityTranscript,
    RandomBits,
    TableView,
    TraceArray,
)
from evaltool.io.readers.replay_view import PostProcessingTranscript
from evaltool.io.tables import CHUNK_ROWS
from evaltool.model.bundle import BundleManifest, EvidenceFormat, EvidenceKind
from evaltool.model.results import EvidenceRef

_TYPED_TABLE_KINDS = frozenset({EvidenceKind.BLOCK_RECORDS, EvidenceKind.PARITY_TRANSCRIPT})
"""Table kinds with a reader of their own, whose rules every access to the slot applies."""


class CheckContext:
    """What a check may see: the bundle's evidence, the ST's values and a seeded generator.

    Evidence is read through :mod:`evaltool.io.readers`: one typed, validated view per slot,
    shared by every check that reads the slot (views are frozen and cached by content hash).

    Parameters
    ----------
    bundle:
        The loaded, validated bundle.
    st:
        Security-target assignments and selections (after defaults from the profile).
    seed:
        Seed of this check's random generator (derived from the audit seed and the check id).
    precomputed:
        Intermediate results computed elsewhere from this bundle's evidence, by a key the check
        kind defines (a campaign's merged SP 800-22 shards, ``docs/campaigns.md``); a check uses
        one only when its key states exactly the computation the check would make.
    """

    def __init__(self, bundle: Bundle, st: Mapping[str, Any], seed: int,
                 precomputed: Mapping[str, Any] | None = None) -> None:
        self._bundle = bundle
        self.st: Mapping[str, Any] = st
        self.seed = seed
        self.precomputed: Mapping[str, Any] = precomputed or {}
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

    def _source(self, bf: BundleFile) -> readers.Source:
        return readers.Source(slot=bf.entry.slot, kind=bf.entry.kind, format=bf.entry.format,
                              path=bf.path, display=self._display(bf), sha256=bf.sha256)

    # -- typed views ---------------------------------------------------------------------

    def blocks(self, slot: str) -> BlockRecords:
        """The block records bound to ``slot`` (:mod:`evaltool.io.readers.blocks`)."""
        view: BlockRecords = readers.read(self._source(
            self.file(slot, kinds=[EvidenceKind.BLOCK_RECORDS])))
        return view

    def table(self, slot: str) -> TableView:
        """Any table slot, streamed in validated chunks (:mod:`evaltool.io.readers.tables`).

        A slot whose kind has a typed reader (block records, parity transcripts) is first read
        by it, so a generic rule (range, rate, completeness) refuses a malformed slot exactly as
        the kind's own checks do.
        """
        source = self._source(self.file(slot))
        if source.kind in _TYPED_TABLE_KINDS:
            readers.read(source)
        return readers.table_view(source)

    def transcript(self, slot: str) -> ParityTranscript:
        """The parity transcript bound to ``slot``."""
        view: ParityTranscript = readers.read(self._source(
            self.file(slot, kinds=[EvidenceKind.PARITY_TRANSCRIPT])))
        return view

    def post_processing(self, slot: str) -> PostProcessingTranscript:
        """The post-processing transcript bound to ``slot``, one block at a time
        (:mod:`evaltool.io.readers.postprocessing`)."""
        view: PostProcessingTranscript = readers.read(self._source(
            self.file(slot, kinds=[EvidenceKind.POST_PROCESSING_TRANSCRIPT])))
        return view

    def log(self, slot: str) -> LogView:
        """A JSON-lines log slot."""
        view: LogView = readers.read(self._of_format(slot, EvidenceFormat.JSONL, "JSON lines"))
        return view

    def random_bits(self, slot: str) -> RandomBits:
        """A binary slot of raw generator output."""
        view: RandomBits = readers.read(self._of_format(slot, EvidenceFormat.BINARY, "binary"))
        return view

    def _of_format(self, slot: str, fmt: EvidenceFormat, name: str) -> readers.Source:
        """The reader source of ``slot``, which must be stored as ``fmt`` (``name`` in errors)."""
        bf = self.file(slot)
        if bf.entry.format is not fmt:
            raise EvidenceError(f"slot {slot!r} is not {name}", path=self._display(bf))
        return self._source(bf)

    def traces(self, slot: str) -> TraceArray:
        """A trace-array slot, memory-mapped."""
        view: TraceArray = readers.read(self._source(
            self.file(slot, kinds=[EvidenceKind.TRACE_ARRAY])))
        return view

    # -- shorthands ----------------------------------------------------------------------

    def raw_bytes(self, slot: str) -> bytes:
        """The whole content of a binary slot."""
        return self.random_bits(slot).raw_bytes()

    def bits(self, slot: str) -> NDArray[np.uint8]:
        """A binary slot unpacked into bits, most significant bit of each byte first."""
        return self.random_bits(slot).bits()

    def iter_bits(self, slot: str, chunk_bits: int) -> Iterator[NDArray[np.uint8]]:
        """A binary slot as bit chunks of ``chunk_bits`` (a multiple of 8), MSB first."""
        if chunk_bits <= 0 or chunk_bits % 8:
            raise ValueError("chunk_bits must be a positive multiple of 8")
        return self.random_bits(slot).iter_bits(chunk_bits)

    def iter_table(self, slot: str, columns: Sequence[str], *, chunk_rows: int | None = None
                   ) -> Iterator[Chunk]:
        """``columns`` of a table slot in validated chunks of numpy arrays (bounded memory)."""
        return self.table(slot).chunks(columns, chunk_rows=chunk_rows or CHUNK_ROWS)

    def columns(self, slot: str) -> tuple[str, ...]:
        """Column names of a table slot."""
        return self.table(slot).columns

    def jsonl(self, slot: str) -> Iterator[Mapping[str, Any]]:
        """The records of a JSON-lines slot."""
        return self.log(slot).records()
