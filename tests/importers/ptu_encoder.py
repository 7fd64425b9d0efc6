"""A small PicoQuant PTU writer for the tests (T2 and T3 TTTR records, HydraHarp V2 and
MultiHarp "generic" record types), written from PicoQuant's published description of the format
(the "PicoQuant Unified TTTR" file: an 8-byte magic ``PQTTTR``, an 8-byte version, tags of 48
bytes ``Ident[32], Idx int32, Typ uint32, Value 8 bytes`` up to ``Header_End``, then 32-bit
little-endian records; record layouts as in PicoQuant's demo readers,
github.com/PicoQuant/PicoQuant-Time-Tagged-File-Format-Demos).

ptufile's own writer only writes T3 image histograms, so the round-trip tests need their own
encoder; ``test_tagger.py`` cross-reads its files with tttrlib to show the encoder right.

Records (bit 31 "special", bits 30-25 channel):

* T2: bits 24-0 time tag, wrap 2^25; special with channel 63 = overflow, the time-tag field
  holding the number of wraps (0 counting as 1); special with channel 1-15 = marker bits;
  special with channel 0 = sync.
* T3: bits 24-10 dtime, bits 9-0 nsync, wrap 1024; special with channel 63 = overflow (nsync
  field = number of wraps, 0 counting as 1); special with channel 1-15 = marker bits.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

TY_EMPTY8 = 0xFFFF0008
TY_BOOL8 = 0x00000008
TY_INT8 = 0x10000008
TY_FLOAT8 = 0x20000008
TY_ANSI = 0x4001FFFF

RECORD_TYPES = {
    "HydraHarp2T2": 0x01010204,
    "HydraHarp2T3": 0x01010304,
    "GenericT2": 0x00010207,
    "GenericT3": 0x00010307,
}

T2_WRAP = 1 << 25
T3_WRAP = 1 << 10
_OVERFLOW = np.uint32((1 << 31) | (63 << 25))


def tag(ident: str, value: object, idx: int = -1) -> bytes:
    """One encoded tag."""
    head = struct.pack("<32siI", ident.encode(), idx, 0)[:36]
    if value is None:
        return head + struct.pack("<I", TY_EMPTY8) + bytes(8)
    if isinstance(value, bool):
        return head + struct.pack("<Iq", TY_BOOL8, int(value))
    if isinstance(value, int):
        return head + struct.pack("<Iq", TY_INT8, value)
    if isinstance(value, float):
        return head + struct.pack("<Id", TY_FLOAT8, value)
    if isinstance(value, str):
        data = value.encode("ascii") + b"\0"
        data += bytes(-len(data) % 8)
        return head + struct.pack("<Iq", TY_ANSI, len(data)) + data
    raise TypeError(type(value))


def header(record_type: str, n_records: int, global_resolution: float, resolution: float,
           *, sync_rate: int = 0, extra: dict[str, object] | None = None) -> bytes:
    """The magic, the version and the tags a TTTR file needs."""
    t3 = record_type.endswith("T3")
    tags: dict[str, object] = {
        "File_GUID": "{5c6a3c32-7d0e-4f44-9a3e-3f0a1b2c3d4e}",
        "Measurement_Mode": 3 if t3 else 2,
        "Measurement_SubMode": 0,
        "HW_Type": "HydraHarp" if record_type.startswith("Hydra") else "MultiHarp",
        "HW_InpChannels": 9,
        "MeasDesc_GlobalResolution": global_resolution,
        "MeasDesc_Resolution": resolution,
        "MeasDesc_BinningFactor": 1,
        "TTResult_SyncRate": sync_rate,
        "TTResultFormat_TTTRRecType": RECORD_TYPES[record_type],
        "TTResultFormat_BitsPerRecord": 32,
        "TTResult_NumberOfRecords": n_records,
    }
    tags.update(extra or {})
    out = b"PQTTTR\0\0" + b"1.0.00\0\0"
    for ident, value in tags.items():
        out += tag(ident, value)
    return out + tag("Header_End", None)


def _overflow_records(count: int, split: int, zero_for_one: bool) -> list[int]:
    """Overflow records for ``count`` wraps, each holding at most ``split`` wraps (one wrap
    written as 0 when ``zero_for_one``, as older firmware does)."""
    out = []
    while count > 0:
        n = min(count, split)
        out.append(int(_OVERFLOW) | (0 if n == 1 and zero_for_one else n))
        count -= n
    return out


class Encoder:
    """Encodes events into records chunk by chunk (the overflow state carried between chunks).

    ``time`` is the T2 time tag in global-resolution units, or the T3 sync number; ``channel``
    the input channel (0-based) of a photon, or -1 for a marker whose bits are in ``marker``.
    """

    def __init__(self, t3: bool, split: int | None = None, zero_for_one: bool = False) -> None:
        self.t3 = t3
        self.zero_for_one = zero_for_one
        self.wrap = T3_WRAP if t3 else T2_WRAP
        self.split = split if split is not None else self.wrap - 1
        self.wraps = 0

    def encode(self, time: np.ndarray, channel: np.ndarray, marker: np.ndarray | None = None,
               dtime: np.ndarray | None = None) -> np.ndarray:
        time = np.asarray(time, np.uint64)
        channel = np.asarray(channel, np.int64)
        wrap = np.uint64(self.wrap)
        wraps = (time // wrap).astype(np.int64)
        low = (time % wrap).astype(np.uint32)
        rec = np.where(channel >= 0, channel.clip(0, 63).astype(np.uint32) << 25, 0)
        rec = rec.astype(np.uint32)
        if marker is not None:
            m = np.asarray(marker, np.uint32)
            rec = np.where(channel < 0, np.uint32(1 << 31) | (m << 25), rec).astype(np.uint32)
        if self.t3:
            d = np.zeros(time.size, np.uint32) if dtime is None else np.asarray(dtime, np.uint32)
            rec |= np.where(channel >= 0, d << 10, 0).astype(np.uint32)
        rec |= low
        steps = np.diff(wraps, prepend=self.wraps)
        if (steps < 0).any():
            raise ValueError("times must not decrease")
        self.wraps = int(wraps[-1]) if wraps.size else self.wraps
        where = np.flatnonzero(steps)
        if where.size == 0:
            return rec
        pieces = []
        start = 0
        for i in where:
            pieces.append(rec[start:i])
            pieces.append(np.array(_overflow_records(int(steps[i]), self.split,
                                                         self.zero_for_one), np.uint32))
            start = i
        pieces.append(rec[start:])
        return np.concatenate(pieces)


def write_ptu(path: Path, record_type: str, records: np.ndarray, global_resolution: float,
              resolution: float, **kw: object) -> Path:
    """A PTU file holding ``records``."""
    with path.open("wb") as f:
        f.write(header(record_type, int(records.size), global_resolution, resolution,
                       **kw))  # type: ignore[arg-type]
        f.write(np.ascontiguousarray(records, "<u4").tobytes())
    return path
