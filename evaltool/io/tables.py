"""Chunked reading and validation of evidence tables (CSV, Parquet) and JSON-lines logs.

Tables are read in bounded chunks with pyarrow. Validation checks the kind's column schema
(``evaltool.model.bundle.TABLE_SCHEMAS``): required columns (all missing ones reported at once),
unit suffixes on other numeric columns, numeric types, finite values, non-negative counts, 0/1
flags and monotonic time or ids across chunk boundaries.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from evaltool.errors import EvidenceError
from evaltool.io import json_strict
from evaltool.model.bundle import (
    TABLE_SCHEMAS,
    UNIT_SUFFIXES,
    ColumnSpec,
    ColumnType,
    EvidenceFormat,
    EvidenceKind,
)

CHUNK_ROWS = 1 << 18
"""Rows per chunk when iterating tables."""
CSV_BLOCK_BYTES = 8 << 20
MAX_COLUMNS = 4096
MAX_JSONL_LINE_BYTES = 1 << 20
MAX_ROW_GROUP_BYTES = 256 << 20
"""Largest decoded size a Parquet row group may declare: a row group's column chunks are
decoded whole, so a small, highly compressed file could otherwise expand to gigabytes
(docs/resource-policy.md)."""
MAX_TABLE_ROWS = 1 << 32
"""Most rows a table may declare (run-length encoding can declare billions in a few bytes)."""
NEWLINE = b"\n"

_UNIT_RE = re.compile(r"^[a-z][a-z0-9_]*_(" + "|".join(UNIT_SUFFIXES) + r")$")
_NUMERIC = {ColumnType.INT, ColumnType.COUNT, ColumnType.FLOAT, ColumnType.FLAG}


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What validation learnt about a table."""

    rows: int
    columns: tuple[str, ...]


def spec_for(kind: EvidenceKind, column: str) -> ColumnSpec | None:
    """The schema entry describing ``column`` of ``kind``, if any."""
    return next((s for s in TABLE_SCHEMAS.get(kind, ()) if s.matches(column)), None)


def _arrow_type(spec: ColumnSpec | None) -> pa.DataType:
    if spec is None:
        return pa.float64()
    if spec.type is ColumnType.TEXT:
        return pa.string()
    if spec.type is ColumnType.FLOAT:
        return pa.float64()
    return pa.int64()


def _csv_header(path: Path, display: str) -> list[str]:
    try:
        with path.open("r", encoding="utf-8", newline="") as f:
            first = f.readline(1 << 20)
    except UnicodeDecodeError:
        raise EvidenceError("CSV header is not valid UTF-8", path=display, location="line 1"
                            ) from None
    except OSError as exc:
        raise EvidenceError(f"cannot read file ({exc.strerror})", path=display) from None
    if not first.strip():
        raise EvidenceError("CSV file has no header line", path=display, location="line 1")
    return next(csv.reader([first]))


def check_parquet_sizes(pf: pq.ParquetFile, display: str) -> None:
    """Refuse a Parquet file whose metadata declares more rows than :data:`MAX_TABLE_ROWS`
    or a row group larger than :data:`MAX_ROW_GROUP_BYTES` decoded, before anything is read."""
    md = pf.metadata
    rows = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        declared = max([rg.total_byte_size] + [rg.column(j).total_uncompressed_size
                                               for j in range(rg.num_columns)])
        if rg.num_rows < 0 or declared < 0:
            raise EvidenceError(f"row group {i} declares a negative size", path=display)
        if declared > MAX_ROW_GROUP_BYTES:
            raise EvidenceError(f"row group {i} declares {declared} bytes decoded, more than the "
                                f"limit of {MAX_ROW_GROUP_BYTES} (write smaller row groups)",
                                path=display)
        rows += rg.num_rows
    if rows > MAX_TABLE_ROWS:
        raise EvidenceError(f"the file declares {rows} rows, more than the limit of "
                            f"{MAX_TABLE_ROWS}", path=display)


def open_parquet(path: Path, display: str, **options: Any) -> pq.ParquetFile:
    """A Parquet file whose declared sizes are within the limits (:func:`check_parquet_sizes`)."""
    try:
        pf = pq.ParquetFile(path, **options)
    except (pa.ArrowException, OSError) as exc:
        raise EvidenceError(f"unreadable Parquet file ({_one_line(exc)})", path=display) from None
    check_parquet_sizes(pf, display)
    return pf


def read_columns(path: Path, fmt: EvidenceFormat, display: str) -> list[str]:
    """Column names of a table, without reading its data."""
    if fmt is EvidenceFormat.CSV:
        return _csv_header(path, display)
    return list(open_parquet(path, display).schema_arrow.names)


def check_columns(kind: EvidenceKind, columns: Sequence[str], display: str) -> None:
    """The column rules of ``kind``'s schema: no duplicates, every required column present (all
    missing ones named at once), every other column known to the schema or unit-suffixed."""
    if len(columns) > MAX_COLUMNS:
        raise EvidenceError(f"{len(columns)} columns, more than the limit of {MAX_COLUMNS}",
                            path=display)
    dupes = sorted({c for c in columns if list(columns).count(c) > 1})
    if dupes:
        raise EvidenceError(f"duplicate column(s): {', '.join(dupes)}", path=display)
    missing = [s.name for s in TABLE_SCHEMAS.get(kind, ()) if s.required and s.name not in columns]
    if missing:
        raise EvidenceError(
            f"missing required column(s) for kind '{kind}': {', '.join(missing)}", path=display
        )
    for c in columns:
        if spec_for(kind, c) is None and not _UNIT_RE.match(c):
            raise EvidenceError(
                f"column {c!r} is not part of kind '{kind}' and carries no unit suffix "
                f"(name numeric columns like 'power_dbm' or 'time_ps')", path=display,
            )


def iter_table(
    path: Path,
    kind: EvidenceKind,
    fmt: EvidenceFormat,
    *,
    display: str,
    columns: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Yield the table in chunks of at most ``chunk_rows`` rows (bounded memory)."""
    names = read_columns(path, fmt, display)
    if columns is not None:
        absent = [c for c in columns if c not in names]
        if absent:
            raise EvidenceError(f"missing column(s): {', '.join(absent)}", path=display)
    wanted = list(columns) if columns is not None else names
    types = {c: _arrow_type(spec_for(kind, c)) for c in names}
    try:
        if fmt is EvidenceFormat.CSV:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, include_columns=wanted, strings_can_be_null=False,
                ),
            )
            pending: list[pd.DataFrame] = []
            count = 0
            for batch in reader:
                frame = batch.to_pandas()
                pending.append(frame)
                count += len(frame)
                while count >= chunk_rows:
                    merged = pd.concat(pending, ignore_index=True)
                    yield merged.iloc[:chunk_rows].reset_index(drop=True)
                    rest = merged.iloc[chunk_rows:].reset_index(drop=True)
                    pending, count = [rest], len(rest)
            if count:
                yield pd.concat(pending, ignore_index=True)
        else:
            pf = open_parquet(path, display)
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=wanted):
                yield batch.to_pandas()
    except pa.ArrowInvalid as exc:
        location = _locate_csv_problem(path, kind) if fmt is EvidenceFormat.CSV else None
        raise EvidenceError(_one_line(exc), path=display, location=location) from None
    except (pa.ArrowException, OSError) as exc:
        raise EvidenceError(f"unreadable {fmt.value} file ({_one_line(exc)})", path=display
                            ) from None


def read_table(
    path: Path, kind: EvidenceKind, fmt: EvidenceFormat, *, display: str,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The whole table (for evidence known to be small, such as per-block records)."""
    chunks = list(iter_table(path, kind, fmt, display=display, columns=columns))
    if not chunks:
        names = list(columns) if columns is not None else read_columns(path, fmt, display)
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in names})
    return pd.concat(chunks, ignore_index=True)


def validate_table(
    path: Path, kind: EvidenceKind, fmt: EvidenceFormat, *, display: str
) -> TableInfo:
    """Read the whole table once in chunks and check it against the kind's schema."""
    names = read_columns(path, fmt, display)
    check_columns(kind, names, display)
    last: dict[str, Any] = {}
    offset = 0
    for chunk in iter_table(path, kind, fmt, display=display):
        check_chunk(chunk, kind, fmt, display, offset=offset, last=last)
        offset += len(chunk)
    if offset == 0:
        raise EvidenceError("table has no rows", path=display)
    return TableInfo(rows=offset, columns=tuple(names))


def check_chunk(chunk: pd.DataFrame, kind: EvidenceKind, fmt: EvidenceFormat, display: str, *,
                offset: int, last: dict[str, Any]) -> None:
    """The value rules of ``kind``'s schema on every column of ``chunk`` (rows ``offset`` on):
    numbers, finite, integer counts >= 0, 0/1 flags, monotonic time and ids; ``last`` carries
    the last value of each monotonic column across chunk boundaries."""
    for c in chunk.columns:
        _check_values(chunk[c], spec_for(kind, c), str(c), offset, last, fmt, display)


def _row_location(fmt: EvidenceFormat, row: int) -> str:
    # CSV: the header is line 1, so data row i (0-based) is on line i + 2.
    return f"line {row + 2}" if fmt is EvidenceFormat.CSV else f"row {row + 1}"


def _check_values(
    series: pd.Series, spec: ColumnSpec | None, name: str, offset: int, last: dict[str, Any],
    fmt: EvidenceFormat, display: str,
) -> None:
    ctype = spec.type if spec is not None else ColumnType.FLOAT

    def fail(i: int, problem: str) -> EvidenceError:
        return EvidenceError(f"column {name!r}: {problem}", path=display,
                             location=_row_location(fmt, offset + i))

    if ctype is ColumnType.TEXT:
        if series.isna().any():
            raise fail(int(np.flatnonzero(series.isna().to_numpy())[0]), "missing value")
        return
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series):
        raise fail(0, f"expected numbers, found {series.dtype}")
    values = series.to_numpy()
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "missing value or NaN" if np.isnan(values[i]) else "infinite value"
            raise fail(i, what)
        if ctype in (ColumnType.INT, ColumnType.COUNT, ColumnType.FLAG):
            frac = values != np.round(values)
            if frac.any():
                i = int(np.flatnonzero(frac)[0])
                raise fail(i, f"expected an integer, found {values[i]!r}")
    if ctype is ColumnType.COUNT and (values < 0).any():
        i = int(np.flatnonzero(values < 0)[0])
        raise fail(i, f"negative count {values[i]}")
    if ctype is ColumnType.FLAG and ((values != 0) & (values != 1)).any():
        i = int(np.flatnonzero((values != 0) & (values != 1))[0])
        raise fail(i, f"expected 0 or 1, found {values[i]}")
    if spec is not None and (spec.monotonic or spec.strictly_increasing) and len(values):
        prev = last.get(name)
        seq = values if prev is None else np.concatenate(([prev], values))
        step = np.diff(seq)
        bad = step <= 0 if spec.strictly_increasing else step < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0]) + (0 if prev is None else -1) + 1
            word = "strictly increasing" if spec.strictly_increasing else "non-decreasing"
            raise fail(i, f"values must be {word} (found {seq[int(np.flatnonzero(bad)[0]) + 1]} "
                          f"after {seq[int(np.flatnonzero(bad)[0])]})")
        last[name] = values[-1]


def _locate_csv_problem(path: Path, kind: EvidenceKind) -> str | None:
    """Find the line of the first cell that does not parse as its column's type (error path)."""
    try:
        with path.open("r", encoding="utf-8", errors="strict", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                return None
            specs = [spec_for(kind, c) for c in header]
            for lineno, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    return f"line {lineno}"
                for cell, spec in zip(row, specs, strict=True):
                    if spec is not None and spec.type is ColumnType.TEXT:
                        continue
                    text = cell.strip()
                    if text == "":
                        continue
                    try:
                        float(text)
                    except ValueError:
                        return f"line {lineno}"
    except UnicodeDecodeError as exc:
        data = path.read_bytes()[: exc.start] if path.stat().st_size < (1 << 30) else b""
        return f"line {data.count(NEWLINE) + 1}" if data else None
    except OSError:
        return None
    return None


def validate_jsonl(path: Path, *, display: str) -> int:
    """Check that every line is a JSON object; return the number of records."""
    count = 0
    for _ in iter_jsonl(path, display=display):
        count += 1
    return count


def iter_jsonl(path: Path, *, display: str) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON-lines file, streaming; blank lines are skipped."""
    try:
        with path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                if len(raw) > MAX_JSONL_LINE_BYTES:
                    raise EvidenceError(f"line longer than {MAX_JSONL_LINE_BYTES} bytes",
                                        path=display, location=f"line {lineno}")
                if not raw.strip():
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise EvidenceError("not valid UTF-8", path=display,
                                        location=f"line {lineno}") from None
                try:
                    obj = json_strict.loads(text)
                except ValueError as exc:
                    raise EvidenceError(f"invalid JSON ({_one_line(exc)})", path=display,
                                        location=f"line {lineno}") from None
                if not isinstance(obj, dict):
                    raise EvidenceError("each line must be a JSON object", path=display,
                                        location=f"line {lineno}")
                yield obj
    except OSError as exc:
        raise EvidenceError(f"cannot read file ({exc.strerror})", path=display) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

