"""``evaltool import tagger``: a time tagger's capture becomes a ``detection-events`` table.

The records are read through an established reader, chosen per format by measured speed and
fidelity (``docs/importing.md``, "Time-tagger captures"): ptufile for PicoQuant PTU (records
memory-mapped and decoded in chunks: bounded memory), tttrlib for PicoQuant HT3 and Becker &
Hickl SPC (the only one of the candidates that reads them; it loads the whole file, so these
formats are limited to :data:`WHOLE_FILE_LIMIT` records), and PyTables for Photon-HDF5 (the
arrays read in slices).

Each click's time is converted to picoseconds with the file's own resolution: the macro time
(T2 time tag, or sync count of T3 records, overflows accumulated) times the global resolution,
plus, for T3 records and Photon-HDF5 nanotimes, the TCSPC delay times its resolution, which is
also written as ``gate_offset_ps``. A resolution is taken as the decimal number the file states
(``5e-12`` s is exactly 5 ps); the product is exact when the resolution is a whole number of
picoseconds and rounded to the nearest picosecond otherwise. Clicks are written in time order
(T3 clicks of one sync period can be recorded out of order; they are reordered stably).
Overflow, marker and T2 sync records are not clicks: they are counted and the manifest's
description says how many were skipped.

The channel map (:mod:`evaltool.model.channels`) names the detector, basis and bit of each
channel; a click on a channel the map does not name, or a mapped channel without any click, is an
error. The bundle changes only when everything succeeded, as with ``import table``.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from fractions import Fraction
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evaltool import __version__
from evaltool.errors import EvaltoolError, EvidenceError, ImportMappingError
from evaltool.importers._manifest import commit_import
from evaltool.io.bundle import load_manifest
from evaltool.io.files import sha256_file
from evaltool.io.yaml import load_yaml, validate
from evaltool.model.bundle import EvidenceKind, ImportRecord
from evaltool.model.channels import MAX_CHANNEL, ChannelMap

FORMATS = ("ptu", "ht3", "spc", "photon-hdf5")
"""Formats ``import tagger`` reads."""

CHUNK_RECORDS = 1 << 20
"""Records decoded and written at a time (about 60 MB of working memory per chunk in flight)."""

WHOLE_FILE_LIMIT = 30_000_000
"""Most records of an HT3 or SPC file: tttrlib holds the whole file (about 24 bytes a record),
so this keeps the import under 1 GB."""

INSTALL_HINT = "pip install 'evaltool[tagger]'"


class MissingReaderError(EvaltoolError):
    """The optional reader of a format is not installed."""


@dataclass(frozen=True, slots=True)
class Clicks:
    """One chunk of records, in record order."""

    macro: np.ndarray
    """Macro time in units of the source's ``macro_s``, less ``base`` (unsigned)."""
    micro: np.ndarray | None
    """TCSPC delay in units of ``micro_s`` (T3 records, Photon-HDF5 nanotimes), or None."""
    channel: np.ndarray
    """Channel number of each click (see :class:`~evaltool.model.channels.ChannelMap`);
    negative for a record that is not a click."""
    base: int = 0
    """Added to ``macro``: the overflows of the chunks before."""


@dataclass(slots=True)
class Skipped:
    """Records that are not clicks."""

    overflows: int = 0
    markers: int = 0
    syncs: int = 0


@dataclass(slots=True)
class Source:
    """An opened tagger file: its resolutions and its clicks in chunks."""

    reader: str
    """The reader with its version and what it read (record type)."""
    macro_s: float
    micro_s: float | None
    chunks: Callable[[], Iterator[Clicks]]
    skipped: Skipped = field(default_factory=Skipped)
    close: Callable[[], None] = lambda: None


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown version"


def _require(module: str, fmt: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingReaderError(f"reading {fmt} files needs {module}, which is not installed: "
                                 f"{INSTALL_HINT}") from None


def _one_line(exc: BaseException) -> str:
    """The gist of a reader's error in one line (HDF5's back traces end in the innermost cause:
    the line before "End of HDF5 error back trace")."""
    lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
    if not lines:
        return type(exc).__name__
    if "End of HDF5 error back trace" in lines:
        at = lines.index("End of HDF5 error back trace")
        if at > 0:
            return lines[at - 1][:300]
    return lines[0][:300]


# --- PicoQuant PTU through ptufile ---------------------------------------------------------

# Overflow period of each TTTR record type, in macro-time units (PicoQuant's published record
# layouts, as their demo readers decode them): T2 time tags and T3 sync counters wrap at these.
_PTU_WRAP: dict[int, int] = {
    0x00010303: 65_536,        # PicoHarp T3
    0x00010203: 210_698_240,   # PicoHarp T2
    0x00010304: 1_024,         # HydraHarp V1 T3
    0x00010204: 33_552_000,    # HydraHarp V1 T2
    0x01010304: 1_024,         # HydraHarp V2 T3
    0x01010204: 33_554_432,    # HydraHarp V2 T2
    0x00010305: 1_024,         # TimeHarp 260 N T3
    0x00010205: 33_554_432,    # TimeHarp 260 N T2
    0x00010306: 1_024,         # TimeHarp 260 P T3
    0x00010206: 33_554_432,    # TimeHarp 260 P T2
    0x00010307: 1_024,         # MultiHarp / PicoHarp 330 T3 ("generic")
    0x00010207: 33_554_432,    # MultiHarp / PicoHarp 330 T2 ("generic")
}
# T2 record types whose special records with channel 0 are sync events (not clicks). ptufile
# 2026.2 decodes them as channel 0, the same as a click on input 0, so they are recognised here
# from the record word: bit 31 set, bits 30-25 zero.
_PTU_T2_SYNC = frozenset({0x00010204, 0x01010204, 0x00010205, 0x00010206, 0x00010207})
_PTU_NAMES = {
    0x00010303: "PicoHarpT3", 0x00010203: "PicoHarpT2", 0x00010304: "HydraHarpT3",
    0x00010204: "HydraHarpT2", 0x01010304: "HydraHarp2T3", 0x01010204: "HydraHarp2T2",
    0x00010305: "TimeHarp260NT3", 0x00010205: "TimeHarp260NT2", 0x00010306: "TimeHarp260PT3",
    0x00010206: "TimeHarp260PT2", 0x00010307: "GenericT3", 0x00010207: "GenericT2",
}


def _open_ptu(path: Path, chunk: int) -> Source:
    ptufile = _require("ptufile", "PTU")
    try:
        ptu = ptufile.PtuFile(path)
    except Exception as exc:  # the reader's own errors on a malformed header
        raise EvidenceError(f"not a readable PTU file ({_one_line(exc)})", path=path) from None
    try:
        tags = ptu.tags
        rectype = tags.get("TTResultFormat_TTTRRecType")
        if not isinstance(rectype, int) or rectype not in _PTU_WRAP:
            shown = f"{rectype:#010x}" if isinstance(rectype, int) else repr(rectype)
            raise EvidenceError(f"unknown TTTR record type {shown} (known: "
                                f"{', '.join(sorted(_PTU_NAMES.values()))})", path=path)
        if tags.get("TTResultFormat_BitsPerRecord") != 32:
            raise EvidenceError("records are not 32-bit", path=path)
        t3 = tags.get("Measurement_Mode") == 3 or (rectype >> 8) & 0xFF == 0x03
        macro_s = _positive(tags.get("MeasDesc_GlobalResolution"), "MeasDesc_GlobalResolution",
                            path)
        micro_s = _positive(tags.get("MeasDesc_Resolution"), "MeasDesc_Resolution",
                            path) if t3 else None
        offset = int(ptu.record_offset)
        declared = int(tags.get("TTResult_NumberOfRecords", 0))
        payload = path.stat().st_size - offset
        if payload < 0 or payload % 4:
            raise EvidenceError(f"truncated: the records end within a record ({payload} bytes "
                                "after the header)", path=path)
        n = payload // 4
        if declared > 0 and declared != n:
            what = "truncated" if declared > n else "damaged"
            raise EvidenceError(f"{what}: the header declares {declared} records, the file "
                                f"holds {n}", path=path)
    except BaseException:
        ptu.close()
        raise
    wrap = _PTU_WRAP[rectype]
    sync = rectype in _PTU_T2_SYNC and not t3
    skipped = Skipped()

    def chunks() -> Iterator[Clicks]:
        # Read with readinto, not a memory map: mapped pages of a large file count towards the
        # process's resident memory.
        base = 0
        buffer = np.empty(min(chunk, max(n, 1)), np.uint32)
        with path.open("rb") as f:
            f.seek(offset)
            for start in range(0, n, chunk):
                raw = buffer[:min(chunk, n - start)]
                got = f.readinto(raw.data.cast("B"))
                if got != raw.nbytes:
                    raise EvidenceError(f"truncated: records end at {start + got // 4}",
                                        path=path)
                if sys.byteorder != "little":
                    raw.byteswap(inplace=True)
                try:
                    d = ptu.decode_records(raw)
                except Exception as exc:
                    raise EvidenceError(f"records {start}..{start + raw.size - 1} cannot be "
                                        f"decoded ({_one_line(exc)})", path=path) from None
                ch = d["channel"]
                markers = int(np.count_nonzero(d["marker"]))
                syncs = 0
                if sync:
                    is_sync = (raw & np.uint32(0xFE000000)) == np.uint32(0x80000000)
                    syncs = int(np.count_nonzero(is_sync))
                    if syncs:
                        np.putmask(ch, is_sync, -1)
                skipped.markers += markers
                skipped.syncs += syncs
                skipped.overflows += int(np.count_nonzero(ch < 0)) - markers - syncs
                t = d["time"]
                yield Clicks(t, d["dtime"] if t3 else None, ch, int(base))
                if t.size:
                    base += int(t[-1]) // wrap * wrap

    name = _PTU_NAMES[rectype]
    return Source(reader=f"ptufile {_version('ptufile')} (PTU {name})", macro_s=macro_s,
                  micro_s=micro_s, chunks=chunks, skipped=skipped, close=ptu.close)


def _positive(value: Any, tag: str, path: Path) -> float:
    if not isinstance(value, float | int) or isinstance(value, bool) or not value > 0 or \
            not np.isfinite(value):
        raise EvidenceError(f"the header's {tag} ({value!r}) is not a positive number",
                            path=path)
    return float(value)


# --- HT3 and SPC through tttrlib (whole file) -----------------------------------------------

_TTTRLIB_CONTAINERS = {"ht3": "HT3", "spc": "SPC-130"}


_TTTRLIB_CHILD = """
import json, resource, sys
import numpy as np
limit = int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import tttrlib
data = tttrlib.TTTR(sys.argv[1], sys.argv[2])
out = sys.argv[3]
for name in ("macro_times", "micro_times", "routing_channels", "event_types"):
    np.save(f"{out}/{name}.npy", np.asarray(getattr(data, name)))
header = data.header
tags = {t.get("name"): t.get("value") for t in json.loads(header.json).get("tags", [])}
with open(f"{out}/header.json", "w") as f:
    json.dump({"macro_s": float(header.macro_time_resolution),
               "micro_s": float(header.micro_time_resolution),
               "records_in_file": int(data.n_records_in_file),
               "declared": tags.get("nRecords")}, f)
"""
TTTRLIB_MEMORY_LIMIT = 3 << 30
"""Address space of the child process that runs tttrlib (a malformed header can make it try to
allocate without bound)."""


def _open_tttrlib(path: Path, fmt: str, chunk: int) -> Source:
    """HT3 and SPC through tttrlib, in a child process: tttrlib 0.26.2 stops the process on some
    malformed headers (a division by zero), which must be an exit 4, not a crash."""
    _require("tttrlib", fmt.upper())
    import json
    import shutil
    import signal
    import subprocess

    container = _TTTRLIB_CONTAINERS[fmt]
    size = path.stat().st_size
    if fmt == "ht3":
        with path.open("rb") as f:
            ident = f.read(22)
        if not ident.startswith(b"HydraHarp\0") or ident[16:19] not in (b"1.0", b"2.0"):
            raise EvidenceError("not an HT3 file (it does not begin with HydraHarp's ident and "
                                "format version 1.0 or 2.0)", path=path)
    if fmt == "spc" and size % 4:
        raise EvidenceError(f"truncated: {size} bytes is not a whole number of 4-byte SPC "
                            "records", path=path)
    if size // 4 > WHOLE_FILE_LIMIT:
        raise EvidenceError(f"holds about {size // 4} records; {fmt.upper()} files are read "
                            f"whole and are limited to {WHOLE_FILE_LIMIT} (convert the capture "
                            "to PTU, which is streamed)", path=path)
    work = Path(tempfile.mkdtemp(prefix="evaltool-tttrlib-"))
    try:
        try:
            done = subprocess.run([sys.executable, "-c", _TTTRLIB_CHILD, str(path), container,
                                   str(work), str(TTTRLIB_MEMORY_LIMIT)],
                                  capture_output=True, text=True, timeout=3600, check=False)
        except subprocess.TimeoutExpired:
            raise EvidenceError(f"tttrlib did not finish reading the file as {container} in an "
                                "hour", path=path) from None
        said = [x.strip() for x in (done.stdout + done.stderr).splitlines() if x.strip()]
        told = f" (tttrlib: {said[-1][:200]})" if said else ""
        if done.returncode < 0:
            name = signal.Signals(-done.returncode).name
            raise EvidenceError(f"not a readable {fmt.upper()} file: tttrlib stopped with "
                                f"{name}{told}", path=path)
        if done.returncode != 0:
            raise EvidenceError(f"not a readable {fmt.upper()} file{told}", path=path)
        head = json.loads((work / "header.json").read_text())
        macro = np.load(work / "macro_times.npy").astype(np.uint64, copy=False)
        micro = np.load(work / "micro_times.npy")
        channel = np.load(work / "routing_channels.npy")
        events = np.load(work / "event_types.npy")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if macro.size == 0:
        raise EvidenceError(f"no records could be read as {container}{told}", path=path)
    declared = head.get("declared")
    present = int(head["records_in_file"])
    if fmt == "ht3" and isinstance(declared, int) and declared != present:
        what = "truncated" if declared > present else "damaged"
        raise EvidenceError(f"{what}: the header declares {declared} records, the file "
                            f"holds {present}", path=path)
    macro_s = _positive(head["macro_s"], "macro time resolution", path)
    micro_s = _positive(head["micro_s"], "micro time resolution", path)
    photon = events == 0
    skipped = Skipped(markers=int(np.count_nonzero(~photon)))

    def chunks() -> Iterator[Clicks]:
        for start in range(0, macro.size, chunk):
            part = slice(start, start + chunk)
            yield Clicks(macro[part], micro[part],
                         np.where(photon[part], channel[part].astype(np.int64), -1))

    return Source(reader=f"tttrlib {_version('tttrlib')} ({container})", macro_s=macro_s,
                  micro_s=micro_s, chunks=chunks, skipped=skipped)


# --- Photon-HDF5 through PyTables ------------------------------------------------------------


def _open_photon_hdf5(path: Path, chunk: int) -> Source:
    tables = _require("tables", "Photon-HDF5")
    try:
        h5 = tables.open_file(str(path), mode="r")
    except Exception as exc:
        raise EvidenceError(f"not a readable HDF5 file ({_one_line(exc)})", path=path) from None
    try:
        root = h5.root
        if "photon_data" not in root:
            multi = "photon_data0" in root
            raise EvidenceError("no /photon_data group" + (" (multi-spot files are not "
                                "supported: one spot per import)" if multi else ""), path=path)
        group = root.photon_data
        for name in ("timestamps", "detectors", "timestamps_specs"):
            if name not in group:
                raise EvidenceError(f"/photon_data/{name} is missing", path=path)
        ts, det = group.timestamps, group.detectors
        if ts.nrows != det.nrows:
            raise EvidenceError(f"{ts.nrows} timestamps but {det.nrows} detectors", path=path)
        macro_s = _positive(_scalar(group.timestamps_specs, "timestamps_unit"),
                            "timestamps_unit", path)
        nano = group.nanotimes if "nanotimes" in group else None
        micro_s = None
        if nano is not None:
            if nano.nrows != ts.nrows:
                raise EvidenceError(f"{ts.nrows} timestamps but {nano.nrows} nanotimes",
                                    path=path)
            specs = group.nanotimes_specs if "nanotimes_specs" in group else None
            micro_s = _positive(_scalar(specs, "tcspc_unit") if specs is not None else None,
                                "nanotimes_specs/tcspc_unit", path)
        n = int(ts.nrows)
    except BaseException:
        h5.close()
        raise

    def chunks() -> Iterator[Clicks]:
        for start in range(0, n, chunk):
            try:
                t = ts[start:start + chunk]
                d = det[start:start + chunk]
                m = nano[start:start + chunk] if nano is not None else None
            except Exception as exc:
                raise EvidenceError(f"records {start}.. cannot be read ({_one_line(exc)})",
                                    path=path) from None
            if t.size and int(t.min()) < 0:
                raise EvidenceError("negative timestamps", path=path)
            yield Clicks(t, m, d)

    return Source(reader=f"PyTables {_version('tables')} (Photon-HDF5)", macro_s=macro_s,
                  micro_s=micro_s, chunks=chunks, close=h5.close)


def _scalar(group: Any, name: str) -> Any:
    if group is None or name not in group:
        return None
    value = group._f_get_child(name).read()
    return float(value) if np.ndim(value) == 0 else None


def open_source(path: Path, fmt: str, *, chunk: int = CHUNK_RECORDS) -> Source:
    """Open a tagger file of format ``fmt`` (one of :data:`FORMATS`) with its reader."""
    if not path.is_file():
        raise EvidenceError("no such file", path=path)
    if fmt == "ptu":
        return _open_ptu(path, chunk)
    if fmt in _TTTRLIB_CONTAINERS:
        return _open_tttrlib(path, fmt, chunk)
    if fmt == "photon-hdf5":
        return _open_photon_hdf5(path, chunk)
    raise ImportMappingError(f"unknown tagger format {fmt!r} (one of {', '.join(FORMATS)})")


# --- conversion ------------------------------------------------------------------------------


class Clock:
    """Ticks of a stated resolution (seconds) to whole picoseconds.

    The resolution is read as the decimal number its float prints as (``5e-12`` -> 5 ps); ticks
    x a whole number of picoseconds is exact, a fractional part is rounded half up.
    """

    def __init__(self, seconds: float) -> None:
        ps = Fraction(repr(float(seconds))) * 10**12
        self.whole = int(ps)
        self.part = float(ps - self.whole)
        self.picoseconds = ps

    def ps(self, ticks: np.ndarray) -> np.ndarray:
        """``ticks`` in picoseconds (int64)."""
        out = ticks.astype(np.int64) * np.int64(self.whole)
        if self.part:
            out += np.floor(ticks.astype(np.float64) * self.part + 0.5).astype(np.int64)
        return out

    def limit(self) -> int:
        """The largest tick count whose time fits an int64 number of picoseconds."""
        return int(Fraction(2**62) / max(self.picoseconds, Fraction(1, 10**6)))


@dataclass(slots=True)
class _Tally:
    counts: np.ndarray = field(default_factory=lambda: np.zeros(MAX_CHANNEL + 1, np.int64))
    ignored: int = 0
    written: int = 0

    def per_channel(self) -> dict[int, int]:
        return {int(c): int(self.counts[c]) for c in np.flatnonzero(self.counts)}


class _Mapper:
    """Channel -> detector, basis, bit through lookup tables."""

    def __init__(self, cmap: ChannelMap) -> None:
        size = max((*cmap.channels, *cmap.ignore)) + 1
        self.role = np.zeros(size, np.int8)  # 0 unknown, 1 mapped, 2 ignored
        self.detector = np.zeros(size, np.int64)
        self.basis = np.zeros(size, np.int64)
        self.bit = np.zeros(size, np.int64)
        for ch, r in cmap.channels.items():
            self.role[ch] = 1
            self.detector[ch] = r.detector
            self.basis[ch] = r.basis or 0
            self.bit[ch] = r.bit or 0
        self.role[list(cmap.ignore)] = 2
        first = next(iter(cmap.channels.values()))
        self.with_basis = first.basis is not None
        self.with_bit = first.bit is not None


def _rows(source: Source, mapper: _Mapper, tally: _Tally, path: Path,
          cmap_path: Path) -> Iterator[dict[str, np.ndarray]]:
    """The table's columns in chunks, time-ordered."""
    from evaltool.importers import _tagger_kernel as kernel

    macro_clock = Clock(source.macro_s)
    micro_clock = Clock(source.micro_s) if source.micro_s is not None else None
    macro_limit = macro_clock.limit()
    micro_limit = micro_clock.limit() if micro_clock is not None else 0
    last_macro = 0
    held: dict[str, np.ndarray] | None = None
    record = 0
    status = np.zeros(4, np.int64)
    no_micro = np.zeros(0, np.int64)
    micro_whole = micro_clock.whole if micro_clock is not None else 0
    micro_part = micro_clock.part if micro_clock is not None else 0.0
    for clicks in source.chunks():
        n = clicks.macro.size
        if n == 0:
            continue
        out = {c: np.empty(n, np.int64) for c in ("time_ps", "detector", "basis", "bit")}
        micro_in = clicks.micro if micro_clock is not None and clicks.micro is not None \
            else no_micro
        with_micro = micro_in.size > 0
        gate = np.empty(n if with_micro else 0, np.float64)
        k = kernel.map_clicks(clicks.channel, clicks.macro, clicks.base, micro_in, last_macro,
                              macro_limit, macro_clock.whole, macro_clock.part, micro_limit,
                              micro_whole, micro_part, mapper.role, mapper.detector,
                              mapper.basis, mapper.bit, tally.counts, out["time_ps"],
                              out["detector"], out["basis"], out["bit"], gate, status)
        if status[0] != kernel.OK:
            i = int(status[1])
            if status[0] == kernel.BAD_CHANNEL:
                raise ImportMappingError(
                    f"channel {int(clicks.channel[i])} has clicks (the first is record "
                    f"{record + i} of the file) but is neither mapped nor ignored",
                    path=cmap_path, location="channels")
            if status[0] == kernel.BACKWARDS:
                raise EvidenceError(f"time tags go backwards at record {record + i} (the file "
                                    "is damaged or not one capture)", path=path)
            if status[0] == kernel.BAD_DELAY:
                raise EvidenceError(f"the TCSPC delay of record {record + i} is negative or "
                                    "out of range", path=path)
            raise EvidenceError(f"the time of record {record + i} is beyond the picosecond "
                                "range of the table (int64)", path=path)
        record += n
        last_macro = int(status[2])
        cols: dict[str, np.ndarray] = {"time_ps": out["time_ps"][:k],
                                       "detector": out["detector"][:k]}
        if mapper.with_basis:
            cols["basis"] = out["basis"][:k]
        if mapper.with_bit:
            cols["bit"] = out["bit"][:k]
        if with_micro:
            cols["gate_offset_ps"] = gate[:k]
            # Later records have a macro time >= this chunk's last: what lies at or before that
            # time is final; the rest waits for the next chunk.
            if status[3]:
                order = np.argsort(cols["time_ps"], kind="stable")
                cols = {c: v[order] for c, v in cols.items()}
            if held is not None and held["time_ps"].size:
                if k and int(held["time_ps"][-1]) <= int(cols["time_ps"][0]):
                    yield held  # all earlier than this chunk: no need to merge
                else:  # held first, so a stable sort keeps record order among equal times
                    cols = {c: np.concatenate([held[c], v]) for c, v in cols.items()}
                    order = np.argsort(cols["time_ps"], kind="stable")
                    cols = {c: v[order] for c, v in cols.items()}
            bound = int(macro_clock.ps(np.array([last_macro], np.uint64))[0])
            cut = int(np.searchsorted(cols["time_ps"], bound, side="right"))
            held = {c: v[cut:] for c, v in cols.items()}
            cols = {c: v[:cut] for c, v in cols.items()}
        if cols["time_ps"].size:
            yield cols
    if held is not None and held["time_ps"].size:
        yield held


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaggerImport:
    """What an import wrote."""

    path: Path
    rows: int
    per_channel: dict[int, int]
    skipped: Skipped
    ignored: int
    record: ImportRecord


def load_channel_map(path: Path) -> ChannelMap:
    """Parse and validate a channel map (exit 4 with file and position on any problem)."""
    return validate(load_yaml(path, error=ImportMappingError), ChannelMap,
                    error=ImportMappingError)


class _Hasher(threading.Thread):
    """SHA-256 of a file, computed beside the import (hashlib releases the GIL)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.digest: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            h = hashlib.sha256()
            with self.path.open("rb") as f:
                while block := f.read(1 << 22):
                    h.update(block)
            self.digest = h.hexdigest()
        except BaseException as exc:
            self.error = exc


class _HashingSink(io.RawIOBase):
    """A file written sequentially whose SHA-256 and size are computed as it is written."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.file = path.open("wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.hash.update(view)
        self.file.write(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        if not self.file.closed:
            self.file.flush()

    def close(self) -> None:
        if not self.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
        super().close()


class _Writer(threading.Thread):
    """Writes column chunks to Parquet beside the decoding (pyarrow releases the GIL), hashing
    the file as it goes."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        super().__init__(daemon=True)
        self.queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
        self.sink = _HashingSink(path)
        # Delta encoding of the integer columns: about 4 bytes a click, and faster than any
        # general-purpose compression of them (benchmarks/bench_tagger.py).
        # The TCSPC delay (float) byte-stream-split and LZ4-compressed: a third of the size for
        # little more work.
        encoding = {f.name: "DELTA_BINARY_PACKED" if pa.types.is_integer(f.type) else
                    "BYTE_STREAM_SPLIT" for f in schema}
        compression = {f.name: "none" if pa.types.is_integer(f.type) else "lz4" for f in schema}
        self.writer = pq.ParquetWriter(self.sink, schema, compression=compression,
                                       write_statistics=False,
                                       use_dictionary=False, column_encoding=encoding)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while (table := self.queue.get()) is not None:
                if self.error is None:
                    self.writer.write_table(table, row_group_size=CHUNK_RECORDS)
        except BaseException as exc:
            self.error = exc
            while self.queue.get() is not None:
                pass
        finally:
            self.writer.close()
            self.sink.close()

    def put(self, table: pa.Table) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(table)

    def finish(self) -> None:
        self.queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error


def import_tagger(source_path: Path, fmt: str, channels_path: Path, bundle: Path, slot: str, *,
                  replace: bool = False, chunk: int = CHUNK_RECORDS) -> TaggerImport:
    """Import the tagger file ``source_path`` into ``bundle`` as ``slot`` (detection-events)."""
    cmap = load_channel_map(channels_path)
    manifest_path, manifest = load_manifest(bundle)
    root = manifest_path.parent
    if not replace and manifest.slot(slot) is not None:
        raise ImportMappingError(f"the bundle already has a slot {slot!r}: pass --replace to "
                                 "replace it", path=manifest_path)
    source = open_source(source_path, fmt, chunk=chunk)
    mapper = _Mapper(cmap)
    names = ["time_ps", "detector"] + (["basis"] if mapper.with_basis else []) + \
        (["bit"] if mapper.with_bit else [])
    if source.micro_s is not None:
        names.append("gate_offset_ps")
    # Not nullable: no definition levels to write (about a fifth of the writer's time).
    schema = pa.schema([pa.field(c, pa.float64() if c == "gate_offset_ps" else pa.int64(),
                                 nullable=False) for c in names])
    dest = root / f"{slot}.parquet"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{slot}.", suffix=".parquet.part", dir=root)
    os.close(fd)
    tmp = Path(tmp_name)
    tally = _Tally()
    hasher = _Hasher(source_path)
    hasher.start()
    writer: _Writer | None = None
    try:
        writer = _Writer(tmp, schema)
        writer.start()
        try:
            for cols in _rows(source, mapper, tally, source_path, channels_path):
                writer.put(pa.Table.from_arrays([pa.array(cols[c]) for c in names],
                                                schema=schema))
                tally.written += int(cols["time_ps"].size)
        finally:
            source.close()
            w, writer = writer, None
            w.finish()
        digest, size = w.sink.hash.hexdigest(), w.sink.size
        tally.ignored = int(sum(int(tally.counts[c]) for c in cmap.ignore))
        absent = sorted(c for c in cmap.channels if tally.counts[c] == 0)
        if absent:
            raise ImportMappingError(f"channel {absent[0]} is mapped but has no clicks in "
                                     f"{source_path.name}", path=channels_path,
                                     location=f"channels.{absent[0]}")
        if tally.written == 0:
            raise EvidenceError("the file holds no clicks on the mapped channels",
                                path=source_path)
        hasher.join()
        if hasher.error is not None or hasher.digest is None:
            raise EvidenceError("cannot read the file to hash it", path=source_path)
        record = ImportRecord(
            source=source_path.name, source_sha256=hasher.digest,
            mapping=channels_path.name, mapping_sha256=sha256_file(channels_path)[0],
            importer="evaltool import tagger", tool_version=__version__,
            reader=source.reader[:200], rows=tally.written)
        sk = source.skipped
        notes = [f"{sk.overflows} overflow", f"{sk.markers} marker"] + \
            ([f"{sk.syncs} sync"] if sk.syncs else []) + \
            ([f"{tally.ignored} ignored-channel"] if tally.ignored else [])
        entry = {"slot": slot, "kind": EvidenceKind.DETECTION_EVENTS.value, "format": "parquet",
                 "path": dest.name, "sha256": digest, "size_bytes": size,
                 "description": f"imported from {source_path.name} ({fmt}): "
                                f"{tally.written} clicks; {', '.join(notes)} records skipped",
                 "imported": record.model_dump(mode="json")}
        commit_import(manifest_path, entry, replace, tmp, dest)
    finally:
        if writer is not None:
            with suppress(BaseException):
                writer.finish()
        with suppress(FileNotFoundError):
            tmp.unlink()
    return TaggerImport(path=dest, rows=tally.written, per_channel=tally.per_channel(),
                        skipped=source.skipped, ignored=tally.ignored, record=record)
