"""Event tables (detections, pulses, monitor samples, key deliveries): a validated view read in
bounded chunks of typed numpy columns.

Per-pulse and per-detection tables can hold 10⁸ rows, so the view never loads a table: it checks
the header against the kind's column schema when it is opened, and every chunk against the
schema's value rules as it streams (finite numbers, counts, flags, monotonic time and ids across
chunk boundaries), so a check sees only rows that satisfy the schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaltool.errors import EvidenceError
from evaltool.io import tables
from evaltool.io.readers._registry import Source, reader
from evaltool.model.bundle import TABLE_FORMATS, EvidenceKind


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive rows of a table: one read-only numpy array per column read."""

    offset: int
    """Index of the chunk's first row in the table."""
    data: Mapping[str, NDArray[Any]]

    def __getitem__(self, column: str) -> NDArray[Any]:
        return self.data[column]

    def __len__(self) -> int:
        return next((int(a.size) for a in self.data.values()), 0)

    def matrix(self, columns: Sequence[str]) -> NDArray[np.float64]:
        """The ``columns`` as a (rows × columns) float64 array."""
        return np.stack([np.asarray(self.data[c], dtype=np.float64) for c in columns], axis=-1
                        ).reshape(len(self), len(columns))


@dataclass(frozen=True, slots=True)
class TableView:
    """A table slot whose header satisfies its kind's schema; rows are read by :meth:`chunks`."""

    source: Source
    columns: tuple[str, ...]

    @property
    def slot(self) -> str:
        return self.source.slot

    def has(self, column: str) -> bool:
        """Whether the table has ``column``."""
        return column in self.columns

    def chunks(self, columns: Sequence[str], *, chunk_rows: int = tables.CHUNK_ROWS
               ) -> Iterator[Chunk]:
        """The ``columns`` in chunks of at most ``chunk_rows`` rows, each checked against the
        schema's value rules (a bad value is an error naming its line or row)."""
        src = self.source
        absent = [c for c in columns if c not in self.columns]
        if absent:
            raise EvidenceError(f"missing column(s): {', '.join(absent)}", path=src.display)
        last: dict[str, Any] = {}
        offset = 0
        for frame in tables.iter_table(src.path, src.kind, src.format, display=src.display,
                                       columns=list(columns), chunk_rows=chunk_rows):
            tables.check_chunk(frame, src.kind, src.format, src.display, offset=offset,
                               last=last)
            data = {}
            for c in columns:
                a = frame[c].to_numpy()
                a.flags.writeable = False
                data[c] = a
            yield Chunk(offset, MappingProxyType(data))
            offset += len(frame)

    def read(self, columns: Sequence[str]) -> Chunk:
        """The whole ``columns`` at once (for tables known to be small, such as labels)."""
        parts = list(self.chunks(columns))
        if not parts:
            return Chunk(0, MappingProxyType({c: np.empty(0) for c in columns}))
        if len(parts) == 1:
            return parts[0]
        return Chunk(0, MappingProxyType({c: np.concatenate([p[c] for p in parts])
                                          for c in columns}))


def _open(src: Source) -> TableView:
    names = tables.read_columns(src.path, src.format, src.display)
    tables.check_columns(src.kind, names, src.display)
    return TableView(src, tuple(names))


@reader("events", (EvidenceKind.DETECTION_EVENTS, EvidenceKind.PULSE_EVENTS,
                   EvidenceKind.MONITOR), tuple(sorted(TABLE_FORMATS)))
def read_events(src: Source) -> TableView:
    """Detections, pulses or monitor samples as a :class:`TableView` streamed in chunks."""
    return _open(src)


@reader("key-delivery-table", (EvidenceKind.KEY_DELIVERY_LOG,), tuple(sorted(TABLE_FORMATS)))
def read_key_delivery_table(src: Source) -> TableView:
    """Key deliveries recorded as a table, as a :class:`TableView`."""
    return _open(src)


@reader("isolation-spectrum", (EvidenceKind.ISOLATION_SPECTRUM,), tuple(sorted(TABLE_FORMATS)))
def read_isolation_spectrum(src: Source) -> TableView:
    """An isolation spectrum (wavelength, isolation) as a :class:`TableView`."""
    return _open(src)


def table_view(src: Source) -> TableView:
    """Any table slot (whatever its kind) as a :class:`TableView`: the generic rules (range,
    rate, completeness) apply to block records and transcripts as well."""
    if src.format not in TABLE_FORMATS:
        raise EvidenceError(f"slot {src.slot!r} is not a table", path=src.display)
    return _open(src)


__all__ = ["Chunk", "TableView", "read_events", "table_view"]
