"""JSON-lines logs (self tests, audit events, health-test alarms, key deliveries): a view whose
records are streamed, each a read-only mapping, every line checked to be one JSON object."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from evaltool.io import tables
from evaltool.io.readers._registry import Source, reader
from evaltool.model.bundle import EvidenceFormat, EvidenceKind


@dataclass(frozen=True, slots=True)
class LogView:
    """A JSON-lines slot; :meth:`records` streams it (bounded memory)."""

    source: Source

    def records(self) -> Iterator[Mapping[str, Any]]:
        """The records in file order; a line that is not a JSON object is an error naming it."""
        for rec in tables.iter_jsonl(self.source.path, display=self.source.display):
            yield MappingProxyType(rec)


@reader("logs", (EvidenceKind.SELF_TEST_LOG, EvidenceKind.AUDIT_LOG,
                 EvidenceKind.HEALTH_TEST_LOG, EvidenceKind.KEY_DELIVERY_LOG,
                 EvidenceKind.KEY_DELIVERY_PROBE),
        (EvidenceFormat.JSONL,))
def read_log(src: Source) -> LogView:
    """A JSON-lines log as a :class:`LogView` of read-only records."""
    return LogView(src)
