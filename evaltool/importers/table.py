"""``evaltool import table``: a vendor's CSV or JSON-lines export becomes an evidence table.

The source is read in chunks (bounded memory) as text, each target column is produced by its
mapping entry (:mod:`evaltool.model.mapping`), and the result is written as Parquet into the
bundle and checked against the evidence kind's schema before the manifest names it. Numbers are
parsed exactly (``Decimal``) and an integer column (``time_ps``, counts) is converted with the
exact factor of its unit, so no value is rounded; a value that is not a whole number of the
target unit is refused. The manifest entry records the source file's and the mapping's SHA-256 and
the importer's version (``imported``), and the audit carries that record into its results.

The bundle changes only when everything succeeded: the table is written to a temporary file, the
new manifest is validated, then the table and the manifest are renamed into place.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evaltool import __version__
from evaltool.errors import EvidenceError, ImportMappingError
from evaltool.importers._manifest import commit_import
from evaltool.importers.units import UnitError, conversion, quantity
from evaltool.io import json_strict, tables
from evaltool.io.bundle import load_manifest
from evaltool.io.files import sha256_file
from evaltool.io.yaml import load_yaml, validate
from evaltool.model.bundle import (
    ALLOWED_FORMATS,
    TABLE_SCHEMAS,
    UNIT_SUFFIXES,
    ColumnType,
    EvidenceFormat,
    EvidenceKind,
    ImportRecord,
)
from evaltool.model.mapping import ColumnMap, TableMapping

CHUNK_ROWS = 200_000
"""Rows converted and written at a time."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote."""

    path: Path
    rows: int
    record: ImportRecord


@dataclass(frozen=True, slots=True)
class _Target:
    name: str
    type: ColumnType
    unit: str | None
    rule: ColumnMap


def load_mapping(path: Path) -> TableMapping:
    """Parse and validate a mapping file (exit 4 with file and position on any problem)."""
    return validate(load_yaml(path, error=ImportMappingError), TableMapping,
                    error=ImportMappingError)


def _targets(mapping: TableMapping, kind: EvidenceKind, mapping_path: Path) -> list[_Target]:
    """The target columns with their types and units; the kind's column rules checked first."""
    names = list(mapping.columns)
    try:
        tables.check_columns(kind, names, display=mapping_path.name)
    except EvidenceError as exc:
        raise ImportMappingError(f"the mapped columns do not fit kind '{kind}': {exc.message}",
                                 path=mapping_path, location="columns") from None
    out = []
    for name, rule in mapping.columns.items():
        spec = tables.spec_for(kind, name)
        ctype = spec.type if spec is not None else ColumnType.FLOAT
        suffix = name.rsplit("_", 1)[-1] if "_" in name else None
        unit = suffix if suffix in UNIT_SUFFIXES else None
        where = f"columns.{name}"
        if (rule.unit is not None or rule.timestamp is not None) and unit is None:
            raise ImportMappingError(f"target column {name!r} names no unit (suffix such as _ps, "
                                     "_dbm) to convert to", path=mapping_path, location=where)
        if rule.timestamp is not None and (unit is None or quantity(unit) != "time"):
            raise ImportMappingError(f"a timestamp can only fill a time column, not {name!r}",
                                     path=mapping_path, location=where)
        if rule.unit is not None:
            try:
                conversion(rule.unit, unit or "")
            except UnitError as exc:
                raise ImportMappingError(str(exc), path=mapping_path, location=where) from None
        if ctype is ColumnType.TEXT and (rule.unit or rule.scale or rule.timestamp or rule.values):
            raise ImportMappingError(f"{name!r} is a text column: map it without conversion",
                                     path=mapping_path, location=where)
        out.append(_Target(name, ctype, unit, rule))
    return out


def _rows(source: Path, mapping: TableMapping) -> Iterator[tuple[int, dict[str, list[Any]]]]:
    """The source's columns in chunks: (first data line number, column -> raw values)."""
    fmt = mapping.source
    try:
        handle = source.open("r", encoding=fmt.encoding, newline="")
    except LookupError:
        raise ImportMappingError(f"unknown encoding {fmt.encoding!r}",
                                 location="source.encoding") from None
    except OSError as exc:
        raise EvidenceError(f"cannot read the file ({exc.strerror})", path=source) from None
    with handle:
        try:
            for _ in range(fmt.skip_rows):
                handle.readline()
            if fmt.format == "csv":
                yield from _csv_rows(handle, source, fmt.delimiter, fmt.skip_rows)
            else:
                yield from _jsonl_rows(handle, source, fmt.skip_rows)
        except UnicodeDecodeError as exc:
            raise EvidenceError(f"not valid {fmt.encoding} text ({exc.reason})",
                                path=source) from None


def _csv_rows(handle: io.TextIOBase, source: Path, delimiter: str, skipped: int
              ) -> Iterator[tuple[int, dict[str, list[Any]]]]:
    reader = csv.reader(handle, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise EvidenceError("the file has no header row", path=source)
    header = [h.strip() for h in header]
    line = skipped + 2
    chunk: dict[str, list[Any]] = {h: [] for h in header}
    start, n = line, 0
    for cells in reader:
        if len(cells) != len(header):
            raise EvidenceError(f"{len(cells)} fields where the header has {len(header)}",
                                path=source, location=f"line {line}")
        for h, cell in zip(header, cells, strict=True):
            chunk[h].append(cell.strip())
        line += 1
        n += 1
        if n == CHUNK_ROWS:
            yield start, chunk
            chunk, start, n = {h: [] for h in header}, line, 0
    if n or start == skipped + 2:
        yield start, chunk


def _jsonl_rows(handle: io.TextIOBase, source: Path, skipped: int
                ) -> Iterator[tuple[int, dict[str, list[Any]]]]:
    chunk: dict[str, list[Any]] = {}
    line, start, n = skipped + 1, skipped + 1, 0
    for text in handle:
        if text.strip():
            try:
                obj = json_strict.loads(text)
            except ValueError as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise EvidenceError(f"invalid JSON ({msg})", path=source,
                                    location=f"line {line}") from None
            if not isinstance(obj, dict):
                raise EvidenceError("a line is not a JSON object", path=source,
                                    location=f"line {line}")
            for key in set(chunk) | set(obj):
                chunk.setdefault(key, [None] * n).append(obj.get(key))
            n += 1
            if n == CHUNK_ROWS:
                yield start, chunk
                chunk, start, n = {}, line + 1, 0
        line += 1
    if n or not chunk:
        yield start, chunk


def _number(raw: Any, decimal_mark: str) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise ValueError
    text = str(raw).strip()
    if decimal_mark == ",":
        text = text.replace(",", ".")
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError
    return value


def _parse_time(raw: Any, fmt: str, zone: ZoneInfo) -> datetime:
    text = str(raw).strip()
    moment = datetime.fromisoformat(text) if fmt == "iso8601" else datetime.strptime(text, fmt)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _convert(target: _Target, raw: list[Any], n: int, ctx: _Context, line: int
             ) -> pa.Array:
    """One target column of a chunk."""
    rule = target.rule
    if rule.constant is not None:
        raw = [rule.constant] * n
    if target.type is ColumnType.TEXT:
        return pa.array(["" if v is None else str(v) for v in raw], pa.string())
    integral = target.type is not ColumnType.FLOAT
    exact: list[Fraction] = []
    for i, value in enumerate(raw):
        try:
            if rule.values is not None:
                key = "" if value is None else str(value).strip()
                if key not in rule.values:
                    raise ctx.fail(target, line + i, f"value {key[:40]!r} is not listed in "
                                   "`values`")
                number = Decimal(repr(rule.values[key]))
            elif rule.timestamp is not None:
                moment = _parse_time(value, rule.timestamp, ctx.zone)
                delta = moment.astimezone(UTC) - ctx.start
                micros = (delta.days * 86_400 + delta.seconds) * 10**6 + delta.microseconds
                number = Decimal(micros) / Decimal(10**6)
            else:
                number = _number(value, ctx.decimal_mark)
        except (ValueError, InvalidOperation, TypeError, OverflowError):
            raise ctx.fail(target, line + i, f"cannot read {str(value)[:40]!r} as "
                           f"{'a date-time' if rule.timestamp else 'a number'}") from None
        exact.append(Fraction(number))
    factor: Fraction | None = Fraction(1)
    shift: Fraction = Fraction(0)
    apply = None
    if rule.unit is not None or rule.timestamp is not None:
        conv = conversion(rule.unit or "s", target.unit or "")
        factor, shift, apply = conv.factor, conv.shift, conv.apply
    elif rule.scale is not None or rule.offset is not None:
        factor = Fraction(rule.scale if rule.scale is not None else 1.0)
        shift = Fraction(rule.offset if rule.offset is not None else 0.0)
    if not integral:
        if factor is not None:  # exact, then rounded once to the nearest float
            if factor == 1 and shift == 0:
                return pa.array([float(x) for x in exact], pa.float64())
            return pa.array([float(x * factor + shift) for x in exact], pa.float64())
        assert apply is not None
        try:
            return pa.array(apply(np.array([float(x) for x in exact], dtype=np.float64)),
                            pa.float64())
        except UnitError as exc:
            raise ctx.fail(target, line, str(exc)) from None
    if factor is None:
        raise ctx.fail(target, line, f"{rule.unit} to {target.unit} is not a linear conversion; "
                       "an integer column needs one")
    values = []
    for i, x in enumerate(exact):
        y = x * factor + shift
        if y.denominator != 1:
            raise ctx.fail(target, line + i, f"{float(y)!r} is not a whole number of "
                           f"{target.unit or 'units'}")
        values.append(int(y))
    return pa.array(values, pa.int64())


@dataclass(frozen=True, slots=True)
class _Context:
    source: Path
    start: datetime
    zone: ZoneInfo
    decimal_mark: str

    def fail(self, target: _Target, line: int, problem: str) -> EvidenceError:
        column = target.rule.source or "constant"
        return EvidenceError(f"column {column!r} -> {target.name}: {problem}",
                             path=self.source, location=f"line {line}")


def import_table(source: Path, mapping_path: Path, kind: EvidenceKind, bundle: Path,
                 slot: str, *, replace: bool = False) -> ImportResult:
    """Import ``source`` into ``bundle`` as ``slot`` of ``kind`` through ``mapping_path``."""
    if kind not in TABLE_SCHEMAS or EvidenceFormat.PARQUET not in ALLOWED_FORMATS[kind]:
        tabular = ", ".join(sorted(k.value for k in TABLE_SCHEMAS
                                   if EvidenceFormat.PARQUET in ALLOWED_FORMATS[k]))
        raise ImportMappingError(f"kind '{kind}' is not a table kind (one of {tabular})")
    mapping = load_mapping(mapping_path)
    targets = _targets(mapping, kind, mapping_path)
    manifest_path, manifest = load_manifest(bundle)
    root = manifest_path.parent
    if not replace and manifest.slot(slot) is not None:
        raise ImportMappingError(f"the bundle already has a slot {slot!r}: pass --replace to "
                                 "replace it", path=manifest_path)
    try:
        zone = ZoneInfo(mapping.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportMappingError(f"unknown time zone {mapping.time_zone!r}", path=mapping_path,
                                 location="time_zone") from None
    ctx = _Context(source, manifest.capture.start.astimezone(UTC), zone, mapping.source.decimal)
    schema = pa.schema([(t.name, pa.string() if t.type is ColumnType.TEXT else
                         pa.float64() if t.type is ColumnType.FLOAT else pa.int64())
                        for t in targets])
    dest = root / f"{slot}.parquet"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{slot}.", suffix=".parquet.part", dir=root)
    os.close(fd)
    tmp = Path(tmp_name)
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=False) as writer:
            for line, chunk in _rows(source, mapping):
                n = len(next(iter(chunk.values()))) if chunk else 0
                if n == 0:
                    continue
                columns = []
                for t in targets:
                    if t.rule.source is not None and t.rule.source not in chunk:
                        raise ImportMappingError(
                            f"column {t.rule.source!r} (for {t.name}) is not in {source.name}",
                            path=mapping_path, location=f"columns.{t.name}.from")
                    raw = chunk[t.rule.source] if t.rule.source is not None else []
                    columns.append(_convert(t, raw, n, ctx, line))
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                rows += n
        if rows == 0:
            raise EvidenceError("the file has no data rows", path=source)
        try:
            tables.validate_table(tmp, kind, EvidenceFormat.PARQUET, display=source.name)
        except EvidenceError as exc:
            raise EvidenceError(f"the mapped table breaks kind '{kind}': {exc.message}",
                                path=source, location=exc.location) from None
        digest, size = sha256_file(tmp)
        record = ImportRecord(
            source=source.name, source_sha256=sha256_file(source)[0],
            mapping=mapping_path.name, mapping_sha256=sha256_file(mapping_path)[0],
            importer="evaltool import table", tool_version=__version__,
            reader=f"{mapping.source.format} (Python csv/json)", rows=rows)
        entry = {"slot": slot, "kind": kind.value, "format": "parquet", "path": dest.name,
                 "sha256": digest, "size_bytes": size,
                 "description": f"imported from {source.name}",
                 "imported": record.model_dump(mode="json")}
        commit_import(manifest_path, entry, replace, tmp, dest)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()
    return ImportResult(path=dest, rows=rows, record=record)
