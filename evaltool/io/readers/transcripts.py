"""Parity transcripts of error correction: every disclosed parity (or message), per block.

The view holds the transcript's columns as read-only arrays: ``block_id`` and ``parity_bits``
(schema columns) and, when the transcript lists one row per parity, the pass and the
``[start, end)`` range of the parity in the pass's permuted order, under either spelling
(``pass``/``start``/``end``, or ``pass_index_count``/``start_bits``/``end_bits`` with the unit
suffixes bundle tables require outside a kind's schema).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evaltool.io import tables
from evaltool.io.readers._registry import Source, reader
from evaltool.model.bundle import TABLE_FORMATS, EvidenceKind

RANGE_COLUMNS = (("pass", "start", "end"), ("pass_index_count", "start_bits", "end_bits"))
"""Per-parity range columns, in order of preference."""


@dataclass(frozen=True, slots=True)
class ParityTranscript:
    """A validated parity transcript."""

    slot: str
    block_id: NDArray[np.int64]
    parity_bits: NDArray[np.float64]
    ranges: NDArray[np.int64] | None
    """(rows × 3): pass, start, end of each parity; None when the transcript has no ranges."""


@reader("parity-transcript", (EvidenceKind.PARITY_TRANSCRIPT,), tuple(sorted(TABLE_FORMATS)))
def read_transcript(src: Source) -> ParityTranscript:
    """A parity transcript as a :class:`ParityTranscript` (ids, parity bits, ranges if given)."""
    names = tables.read_columns(src.path, src.format, src.display)
    tables.check_columns(src.kind, names, src.display)
    spelled = next((r for r in RANGE_COLUMNS if set(r) <= set(names)), None)
    wanted = ["block_id", "parity_bits", *(spelled or ())]
    frame = tables.read_table(src.path, src.kind, src.format, display=src.display,
                              columns=wanted)
    tables.check_chunk(frame, src.kind, src.format, src.display, offset=0, last={})
    ranges = None
    if spelled is not None:
        ranges = frame[list(spelled)].to_numpy(dtype=np.int64)
        ranges.flags.writeable = False
    block_id = frame["block_id"].to_numpy(dtype=np.int64)
    parity_bits = frame["parity_bits"].to_numpy(dtype=np.float64)
    block_id.flags.writeable = parity_bits.flags.writeable = False
    return ParityTranscript(src.slot, block_id, parity_bits, ranges)
