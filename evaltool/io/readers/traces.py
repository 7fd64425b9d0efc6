"""Side-channel trace arrays: a 2-D ``.npy`` capture, header-checked and memory-mapped read-only
(:mod:`evaltool.io.traces` does the checks and the chunked, finite-checked reading)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from numpy.typing import NDArray

from evaltool.io import traces
from evaltool.io.readers._registry import Source, reader
from evaltool.model.bundle import EvidenceFormat, EvidenceKind


@dataclass(frozen=True, slots=True)
class TraceArray:
    """A capture: ``traces`` (traces × samples), memory-mapped, never loaded whole."""

    source: Source
    traces: NDArray[Any]


@reader("trace-array", (EvidenceKind.TRACE_ARRAY,), (EvidenceFormat.NPY,))
def read_traces(src: Source) -> TraceArray:
    """A trace array as a memory-mapped :class:`TraceArray` (shape and dtype checked)."""
    return TraceArray(src, traces.open_traces(src.path, src.display))
