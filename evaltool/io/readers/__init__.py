"""Typed evidence readers: one per evidence kind, each a validated, frozen view of a slot.

=================  ==========================================  =====================
kind               view                                        module
=================  ==========================================  =====================
block-records      :class:`~.blocks.BlockRecords` (in memory)   :mod:`.blocks`
detection-events,  :class:`~.tables.TableView` (chunks)         :mod:`.tables`
pulse-events,
monitor
key-delivery-log   :class:`~.tables.TableView` or               :mod:`.tables`,
                   :class:`~.logs.LogView`                      :mod:`.logs`
self-test-log,     :class:`~.logs.LogView` (streamed records)   :mod:`.logs`
audit-log,
health-test-log,
key-delivery-probe
parity-transcript  :class:`~.transcripts.ParityTranscript`      :mod:`.transcripts`
post-processing-   :class:`~.postprocessing.TranscriptFile`     :mod:`.postprocessing`
transcript         (one block at a time)
rng-raw            :class:`~.bits.RandomBits`                   :mod:`.bits`
trace-array        :class:`~.traces.TraceArray` (memory map)    :mod:`.traces`
=================  ==========================================  =====================

Importing this package fills the registry (:func:`all_readers`); checks reach the views through
:class:`evaltool.checks.context.CheckContext`, which records which files each check read.
"""

from __future__ import annotations

from evaltool.io.readers import bits, blocks, logs, postprocessing, tables, traces, transcripts
from evaltool.io.readers._registry import (
    Reader,
    Source,
    all_readers,
    clear_cache,
    read,
    reader,
    reader_for,
)
from evaltool.io.readers.bits import RandomBits
from evaltool.io.readers.blocks import BlockRecords
from evaltool.io.readers.logs import LogView
from evaltool.io.readers.postprocessing import TranscriptFile, check_against_blocks
from evaltool.io.readers.tables import Chunk, TableView, table_view
from evaltool.io.readers.traces import TraceArray
from evaltool.io.readers.transcripts import ParityTranscript

__all__ = [
    "BlockRecords",
    "Chunk",
    "LogView",
    "ParityTranscript",
    "RandomBits",
    "Reader",
    "Source",
    "TableView",
    "TraceArray",
    "TranscriptFile",
    "all_readers",
    "bits",
    "blocks",
    "check_against_blocks",
    "clear_cache",
    "logs",
    "postprocessing",
    "read",
    "reader",
    "reader_for",
    "table_view",
    "tables",
    "traces",
    "transcripts",
]
