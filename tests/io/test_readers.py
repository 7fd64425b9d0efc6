"""Contract of every evidence reader (the registry pattern of the check kinds): each (kind,
format) a bundle may hold has exactly one reader, documented, returning a frozen view; each
reads a small valid file and refuses a malformed one with an error naming the file."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from evaltool.errors import EvidenceError
from evaltool.io import readers
from evaltool.model.bundle import ALLOWED_FORMATS, EvidenceFormat, EvidenceKind

PAIRS = [(k, f) for k, fs in ALLOWED_FORMATS.items() for f in sorted(fs)]

VALID: dict[EvidenceKind, tuple[str, bytes]] = {
    EvidenceKind.BLOCK_RECORDS: (
        "csv", b"block_id,time_s,ec_leakage_bits,pa_output_bits,aborted\n0,1.0,10,5,0\n"),
    EvidenceKind.DETECTION_EVENTS: ("csv", b"time_ps,detector\n10,0\n20,1\n"),
    EvidenceKind.PULSE_EVENTS: ("csv", b"pulse_index,intensity\n0,1\n1,0\n"),
    EvidenceKind.MONITOR: ("csv", b"time_s,power_dbm\n0.0,-70\n0.1,-71\n"),
    EvidenceKind.PARITY_TRANSCRIPT: ("csv", b"block_id,parity_bits\n0,12\n0,3\n"),
    EvidenceKind.KEY_DELIVERY_LOG: ("jsonl", b'{"time_s": 1.0, "key_id": "a"}\n'),
    EvidenceKind.SELF_TEST_LOG: ("jsonl", b'{"test": "kat", "result": "pass"}\n'),
    EvidenceKind.AUDIT_LOG: ("jsonl", b'{"event": "start"}\n'),
    EvidenceKind.HEALTH_TEST_LOG: ("jsonl", b'{"alarm": "rct"}\n'),
    EvidenceKind.KEY_DELIVERY_PROBE: ("jsonl", b'{"record": "header"}\n'),
    EvidenceKind.ISOLATION_SPECTRUM: ("csv", b"wavelength_nm,isolation_db\n1000,130\n1001,131\n"),
    EvidenceKind.RNG_RAW: ("binary", b"\xa5\x0f"),
    EvidenceKind.POST_PROCESSING_TRANSCRIPT: (
        "jsonl", b'{"record":"header","version":1}\n'
                 b'{"record":"outcome","block_id":0,"delivered":false,"key_ids":[]}\n'),
}
# A value that breaks the kind's schema (or the format) in the first data row.
MALFORMED: dict[EvidenceKind, bytes] = {
    EvidenceKind.BLOCK_RECORDS:
        b"block_id,time_s,ec_leakage_bits,pa_output_bits,aborted\n0,1.0,-10,5,0\n",
    EvidenceKind.DETECTION_EVENTS: b"time_ps,detector\n20,0\n10,1\n",
    EvidenceKind.PULSE_EVENTS: b"pulse_index,intensity\n0,1\n0,0\n",
    EvidenceKind.MONITOR: b"time_s,power\n0.0,-70\n",
    EvidenceKind.PARITY_TRANSCRIPT: b"block_id,parity_bits\n0,-1\n",
    EvidenceKind.KEY_DELIVERY_LOG: b"[1, 2]\n",
    EvidenceKind.SELF_TEST_LOG: b"not json\n",
    EvidenceKind.AUDIT_LOG: b'{"a": NaN}\n',
    EvidenceKind.HEALTH_TEST_LOG: b"[]\n",
    EvidenceKind.KEY_DELIVERY_PROBE: b"{truncated\n",
    EvidenceKind.ISOLATION_SPECTRUM: b"wavelength_nm,isolation_db\n1001,130\n1000,131\n",
    EvidenceKind.TRACE_ARRAY: b"\x93NUMPY garbage",
    EvidenceKind.POST_PROCESSING_TRANSCRIPT: (
        b'{"record":"header","version":1}\n'
        b'{"record":"outcome","block_id":0,"delivered":1,"key_ids":[]}\n'),
}


def source(tmp_path: Path, kind: EvidenceKind, fmt: EvidenceFormat, data: bytes | None = None,
           ) -> readers.Source:
    path = tmp_path / f"{kind.value}.{fmt.value}"
    if kind is EvidenceKind.TRACE_ARRAY and data is None:
        np.save(path, np.arange(12, dtype=np.int16).reshape(3, 4))
    else:
        path.write_bytes(data if data is not None else VALID[kind][1])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return readers.Source(slot="s", kind=kind, format=fmt, path=path, display=f"b/{path.name}",
                          sha256=digest)


def consume(view: object) -> None:
    """Read the whole view (streaming views read nothing until asked)."""
    if isinstance(view, readers.TableView):
        for _ in view.chunks(view.columns):
            pass
    elif isinstance(view, readers.LogView):
        list(view.records())
    elif isinstance(view, readers.RandomBits):
        view.bits()
    elif isinstance(view, readers.TranscriptFile):
        list(view.blocks())


@pytest.mark.parametrize(("kind", "fmt"), PAIRS, ids=lambda v: str(v))
def test_every_kind_and_format_has_one_documented_reader(kind: EvidenceKind,
                                                         fmt: EvidenceFormat) -> None:
    r = readers.reader_for(kind, fmt)
    assert r.summary and r.summary[0].isupper()
    assert kind in r.kinds and fmt in r.formats


@pytest.mark.parametrize("kind", list(EvidenceKind), ids=str)
def test_reader_reads_a_valid_file_into_a_frozen_view(tmp_path: Path,
                                                      kind: EvidenceKind) -> None:
    fmt = EvidenceFormat(VALID[kind][0]) if kind in VALID else EvidenceFormat.NPY
    view = readers.read(source(tmp_path, kind, fmt))
    assert dataclasses.is_dataclass(view)
    field = dataclasses.fields(view)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(view, field, None)
    consume(view)


@pytest.mark.parametrize("kind", sorted(MALFORMED), ids=str)
def test_reader_refuses_a_malformed_file_naming_it(tmp_path: Path, kind: EvidenceKind) -> None:
    fmt = EvidenceFormat(VALID[kind][0]) if kind in VALID else EvidenceFormat.NPY
    with pytest.raises(EvidenceError) as caught:
        consume(readers.read(source(tmp_path, kind, fmt, MALFORMED[kind])))
    assert str(caught.value).startswith(f"b/{kind.value}.{fmt.value}")


def test_block_view_values(tmp_path: Path) -> None:
    view = readers.read(source(tmp_path, EvidenceKind.BLOCK_RECORDS, EvidenceFormat.CSV))
    assert isinstance(view, readers.BlockRecords)
    assert view.block_id.tolist() == [0] and view.pa_output_bits.tolist() == [5.0]
    assert view.n_classes == 0 and not view.aborted[0]
    assert readers.read(source(tmp_path, EvidenceKind.BLOCK_RECORDS, EvidenceFormat.CSV)) is view


def test_table_chunks_are_bounded_and_typed(tmp_path: Path) -> None:
    body = b"time_ps,detector\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(10))
    view = readers.read(source(tmp_path, EvidenceKind.DETECTION_EVENTS, EvidenceFormat.CSV,
                               body))
    chunks = list(view.chunks(["time_ps", "detector"], chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 4, 2] and [c.offset for c in chunks] == [0, 4, 8]
    assert chunks[1]["time_ps"].dtype == np.int64 and chunks[2]["detector"].tolist() == [0, 1]
