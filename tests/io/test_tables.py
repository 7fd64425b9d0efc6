"""Chunked table reading: bounded chunks, and checks that hold across chunk boundaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaltool.errors import EvidenceError
from evaltool.io import tables
from evaltool.model.bundle import EvidenceFormat, EvidenceKind


def _monitor_csv(path: Path, n: int) -> None:
    t = np.arange(n) * 0.001
    pd.DataFrame({"time_s": t, "power_dbm": np.full(n, -70.0)}).to_csv(path, index=False)


def test_csv_chunks_are_bounded_and_complete(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    _monitor_csv(p, 10_007)
    sizes = [len(c) for c in tables.iter_table(p, EvidenceKind.MONITOR, EvidenceFormat.CSV,
                                               display="m.csv", chunk_rows=1000)]
    assert max(sizes) <= 1000
    assert sum(sizes) == 10_007


def test_parquet_chunks_are_bounded(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    n = 5000
    pq.write_table(pa.table({"time_ps": np.arange(n, dtype=np.int64) * 1000,
                             "detector": np.zeros(n, dtype=np.int64)}), p, row_group_size=700)
    sizes = [len(c) for c in tables.iter_table(p, EvidenceKind.DETECTION_EVENTS,
                                               EvidenceFormat.PARQUET, display="d.parquet",
                                               chunk_rows=512)]
    assert max(sizes) <= 512 and sum(sizes) == n


def test_monotonic_violation_at_a_chunk_boundary_is_found(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "m.csv"
    n = 4096
    t = np.arange(n) * 0.001
    t[2048] = t[2047] - 0.0005  # first row of the third chunk goes back in time
    pd.DataFrame({"time_s": t, "power_dbm": np.zeros(n)}).to_csv(p, index=False)
    monkeypatch.setattr(tables, "CHUNK_ROWS", 1024)
    with pytest.raises(EvidenceError, match=r"m.csv:line 2050: column 'time_s': values must be"):
        tables.validate_table(p, EvidenceKind.MONITOR, EvidenceFormat.CSV, display="m.csv")


def test_all_missing_columns_are_reported_at_once(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_text("block_id,time_s\n0,1.0\n")
    with pytest.raises(EvidenceError) as info:
        tables.validate_table(p, EvidenceKind.BLOCK_RECORDS, EvidenceFormat.CSV, display="b.csv")
    assert "ec_leakage_bits, pa_output_bits, aborted" in str(info.value)


def test_jsonl_rejects_nan_constants(tmp_path: Path) -> None:
    p = tmp_path / "log.jsonl"
    p.write_text('{"time_s": 1}\n{"time_s": NaN}\n')
    with pytest.raises(EvidenceError, match=r"log\.jsonl:line 2: invalid JSON"):
        tables.validate_jsonl(p, display="log.jsonl")
