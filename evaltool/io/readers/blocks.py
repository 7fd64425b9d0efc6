"""Block records: the per-block post-processing table, read once into a validated, frozen view.

Every check that reads a ``block-records`` slot (the protocol checks, the detector-blinding,
decoy-consistency and Trojan-horse monitors, the telemetry response and completeness rules) gets
this one view, so a slot is valid or invalid for all of them alike. The rules, applied in order:

1. the schema's column rules (:data:`evaltool.model.bundle.TABLE_SCHEMAS`): the required columns
   ``block_id``, ``time_s``, ``ec_leakage_bits``, ``pa_output_bits``, ``aborted``; other columns
   known to the schema or carrying a unit suffix;
2. the schema's value rules: numbers where numbers are due, finite, counts non-negative integers,
   ``aborted`` 0 or 1, ``block_id`` strictly increasing, ``time_s`` non-decreasing;
3. at least one block;
4. the per-class count families (``n_sent_<k>``, ``key_detections_<k>``, ``key_errors_<k>``,
   ``test_detections_<k>``, ``test_errors_<k>``): every family present covers the same classes
   ``0 … K−1``;
5. in each basis and class, errors never exceed detections.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io import tables
from evaltool.io.readers._registry import Source, reader
from evaltool.model.bundle import TABLE_FORMATS, ColumnType, EvidenceFormat, EvidenceKind

FAMILIES = ("n_sent", "key_detections", "test_detections", "key_errors", "test_errors")
"""The per-class count families of block records, column ``<family>_<k>`` for class ``k``."""
_CLASS_COLUMN = re.compile(r"^(" + "|".join(FAMILIES) + r")_(0|[1-9][0-9]?)$")
_CORE = ("block_id", "time_s", "ec_leakage_bits", "pa_output_bits", "aborted")


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True)
class BlockRecords:
    """A validated block-records slot; arrays are read-only, one entry per block."""

    slot: str
    display: str
    columns: tuple[str, ...]
    block_id: NDArray[np.int64]
    time_s: NDArray[np.float64]
    ec_leakage_bits: NDArray[np.float64]
    pa_output_bits: NDArray[np.float64]
    aborted: NDArray[np.bool_]
    n_classes: int
    """Intensity classes of the per-class families (0 when the table has none)."""
    per_class: Mapping[str, NDArray[np.float64]]
    """Family name -> (blocks × classes) counts, for the families the table has."""
    other: Mapping[str, NDArray[Any]]
    """Every other column by name: float64 for numbers, object arrays of str for text."""

    def __len__(self) -> int:
        return int(self.block_id.size)

    def has(self, column: str) -> bool:
        """Whether the table has ``column``."""
        return column in self.columns

    def require(self, columns: Sequence[str], purpose: str) -> None:
        """Refuse (insufficient data) when any of ``columns`` is absent; ``purpose`` completes
        "needed ..." in the message."""
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise InsufficientDataError(
                f"slot {self.slot!r} lacks the column(s) {', '.join(missing)} needed {purpose}")

    def column(self, name: str) -> NDArray[Any]:
        """A column outside the core and the per-class families (call :meth:`require` first)."""
        try:
            return self.other[name]
        except KeyError:
            raise InsufficientDataError(f"slot {self.slot!r} has no column {name!r}") from None

    def counts(self, *families: str, n_classes: int | None = None, purpose: str
               ) -> tuple[NDArray[np.float64], ...]:
        """The (blocks × classes) arrays of ``families``; with ``n_classes``, the table must have
        exactly that many classes."""
        k = self.n_classes if n_classes is None else n_classes
        if k == 0:
            self.require([f"{f}_0" for f in families], purpose)
        self.require([f"{f}_{i}" for f in families for i in range(k)], purpose)
        if self.n_classes != k:
            raise EvidenceError(f"slot {self.slot!r} has {self.n_classes} intensity classes, "
                                f"{k} expected", path=self.display)
        return tuple(self.per_class[f] for f in families)

    def ids(self, rows: NDArray[np.intp] | Sequence[int]) -> list[int]:
        """The block ids of the given row indices (or boolean mask)."""
        return [int(b) for b in self.block_id[np.asarray(rows)].tolist()]


def _row(fmt: EvidenceFormat, i: int) -> str:
    return f"line {i + 2}" if fmt is EvidenceFormat.CSV else f"row {i + 1}"


@reader("blocks", (EvidenceKind.BLOCK_RECORDS,), tuple(sorted(TABLE_FORMATS)))
def read_blocks(src: Source) -> BlockRecords:
    """Per-block records as :class:`BlockRecords` (core columns, per-class counts, the rest)."""
    names = tables.read_columns(src.path, src.format, src.display)
    tables.check_columns(src.kind, names, src.display)
    frame = tables.read_table(src.path, src.kind, src.format, display=src.display)
    tables.check_chunk(frame, src.kind, src.format, src.display, offset=0, last={})
    if frame.empty:
        raise InsufficientDataError(f"slot {src.slot!r} has no blocks", path=src.display)

    found: dict[str, set[int]] = {}
    for c in names:
        m = _CLASS_COLUMN.match(c)
        if m:
            found.setdefault(m.group(1), set()).add(int(m.group(2)))
    k = max((max(v) + 1 for v in found.values()), default=0)
    gaps = [f"{f}_{i}" for f in FAMILIES if f in found for i in range(k) if i not in found[f]]
    if gaps:
        raise InsufficientDataError(
            f"slot {src.slot!r} lacks the column(s) {', '.join(gaps)}: every per-class family "
            f"present must cover classes 0 to {k - 1}", path=src.display)

    def col(name: str) -> NDArray[np.float64]:
        values: NDArray[np.float64] = frame[name].to_numpy(dtype=np.float64)
        return values

    # One (blocks × classes) array per family, laid out as pandas gives it (column-major), so
    # that sums over blocks add in the same order whichever check computes them.
    per_class = {f: frame[[f"{f}_{i}" for i in range(k)]].to_numpy(dtype=np.float64)
                 for f in FAMILIES if f in found}
    block_id = frame["block_id"].to_numpy(dtype=np.int64)
    for basis in ("key", "test"):
        det, err = per_class.get(f"{basis}_detections"), per_class.get(f"{basis}_errors")
        if det is None or err is None:
            continue
        bad = err > det
        if bad.any():
            row, j = (int(v[0]) for v in np.nonzero(bad))
            raise EvidenceError(
                f"block {block_id[row]}: {basis}_errors_{j} exceeds {basis}_detections_{j}",
                path=src.display, location=_row(src.format, row))
    other: dict[str, NDArray[Any]] = {}
    for c in names:
        if c in _CORE or _CLASS_COLUMN.match(c):
            continue
        spec = tables.spec_for(src.kind, c)
        if spec is not None and spec.type is ColumnType.TEXT:
            other[c] = _frozen(frame[c].to_numpy(dtype=object))
        else:
            other[c] = _frozen(col(c))
    return BlockRecords(
        slot=src.slot, display=src.display, columns=tuple(names),
        block_id=_frozen(block_id), time_s=_frozen(col("time_s")),
        ec_leakage_bits=_frozen(col("ec_leakage_bits")),
        pa_output_bits=_frozen(col("pa_output_bits")),
        aborted=_frozen(frame["aborted"].to_numpy() != 0), n_classes=k,
        per_class=MappingProxyType({f: _frozen(a) for f, a in per_class.items()}),
        other=MappingProxyType(other),
    )
