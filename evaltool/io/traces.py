"""Lab side-channel captures as NumPy arrays: header checks, memory-mapped chunked reading.

A trace array is a 2-D ``.npy`` file, one row per captured trace and one column per sample, of
integers or reals (no pickles, no structured or complex types). The header is checked before
anything is mapped (format version, dtype, shape, and that the file holds exactly the bytes the
header declares, so a truncated capture is named as such); the data are then memory-mapped and
read in chunks of whole traces, so memory stays bounded whatever the capture's size. Every
problem is an :class:`~evaltool.errors.EvidenceError` naming the file (exit 4).

Used by the bundle loader (validation of ``trace-array`` evidence), the ``leakage.traces`` check
and the ``evaltool leakage`` command.
"""

from __future__ import annotations

import math
import tokenize
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaltool.errors import EvidenceError

CHUNK_BYTES = 32 << 20
"""Float64 bytes per chunk of traces (the chunk's rows are ``CHUNK_BYTES // (8 · samples)``)."""
NPY_MAGIC = b"\x93NUMPY"
MAX_NPZ_BYTES = 256 << 20
"""Most bytes the arrays of an ``.npz`` capture may declare in all (an archive is read into
memory; larger captures are ``.npy`` files, memory-mapped): checked against each member's npy
header and zip entry before anything is decompressed (docs/resource-policy.md)."""


@dataclass(frozen=True, slots=True)
class TraceInfo:
    """What validation learnt about a trace array."""

    traces: int
    samples: int
    dtype: str


NUMERIC_KINDS = "iuf"
"""dtype kinds of samples: signed and unsigned integers, floating point."""
LABEL_KINDS = "biuUS"
"""dtype kinds accepted for a label array: booleans, integers, text."""


def _read_header(f: Any, version: tuple[int, int]) -> tuple[Any, bool, np.dtype[Any]]:
    """numpy's header reader for ``version``, quietly: a header numpy can read only with its
    Python 2 fallback makes it warn on standard error, and evaltool's output is one line."""
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        shape, fortran, dtype = read(f)
    return shape, fortran, dtype


def _header(path: Path, display: str, kinds: str = NUMERIC_KINDS
            ) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """Shape, dtype and data offset from a ``.npy`` header, and a check of the file's length."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            if f.read(len(NPY_MAGIC)) != NPY_MAGIC:
                raise EvidenceError("not a NumPy .npy file (no \\x93NUMPY magic)", path=display)
            f.seek(0)
            version = np.lib.format.read_magic(f)
            if version in ((1, 0), (2, 0)):
                shape, fortran, dtype = _read_header(f, version)
            else:
                raise EvidenceError(f".npy format version {version[0]}.{version[1]} is not "
                                    "supported (1.0 or 2.0)", path=display)
            offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, RecursionError,
            tokenize.TokenError) as exc:  # numpy parses the header with tokenize and ast
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EvidenceError(f"unreadable .npy header ({text})", path=display) from None
    del fortran
    if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
        wanted = ("integer or floating-point samples" if kinds == NUMERIC_KINDS else
                  "numbers or text")
        raise EvidenceError(f"the array has dtype {dtype.str!r}; {wanted} are needed",
                            path=display)
    data = math.prod(shape) * dtype.itemsize
    if offset + data > size:
        raise EvidenceError(f"truncated: the header declares {data} bytes of {dtype.name} data "
                            f"for shape {shape}, the file holds {size - offset}", path=display)
    if offset + data < size:
        raise EvidenceError(f"{size - offset - data} bytes after the {shape} array the header "
                            "declares", path=display)
    return tuple(int(n) for n in shape), dtype, offset


def open_array(path: Path, display: str, *, kinds: str = NUMERIC_KINDS) -> NDArray[Any]:
    """A ``.npy`` array (by default of integers or reals), memory-mapped read-only after its
    header checks; ``kinds`` are the accepted dtype kinds."""
    _header(path, display, kinds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # see _read_header
            arr: NDArray[Any] = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EvidenceError(f"unreadable .npy file ({text})", path=display) from None
    return arr


def open_traces(path: Path, display: str) -> NDArray[Any]:
    """A 2-D trace array (traces × samples) with at least one trace and one sample."""
    shape, _, _ = _header(path, display)
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        raise EvidenceError(f"traces have shape {shape}; a 2-D array (traces, samples) with at "
                            "least one of each is needed", path=display)
    return open_array(path, display)


def chunk_rows(samples: int) -> int:
    """Traces per chunk when ``samples`` columns are read as float64."""
    return max(1, CHUNK_BYTES // (8 * max(samples, 1)))


def iter_chunks(
    traces: NDArray[Any], display: str, *, start: int = 0, stop: int | None = None,
    rows: int | None = None,
) -> Iterator[tuple[int, NDArray[np.float64]]]:
    """``(first trace, float64 block)`` over samples ``start:stop`` of every trace.

    A NaN or infinite sample is an error naming the trace and the sample.
    """
    stop = traces.shape[1] if stop is None else stop
    if not 0 <= start < stop <= traces.shape[1]:
        raise EvidenceError(f"samples {start}:{stop} outside 0:{traces.shape[1]}", path=display)
    step = rows or chunk_rows(stop - start)
    for first in range(0, traces.shape[0], step):
        block = np.asarray(traces[first:first + step, start:stop], dtype=np.float64)
        require_finite(block, display, first_trace=first, first_sample=start)
        yield first, block


def require_finite(block: NDArray[np.float64], display: str, *, first_trace: int = 0,
                   first_sample: int = 0, names: Sequence[str] | None = None) -> None:
    """Raise naming the first trace and sample (or column ``names[j]``) of ``block`` that is
    NaN or infinite."""
    ok = np.isfinite(block)
    if not ok.all():
        i, j = (int(v[0]) for v in np.nonzero(~ok))
        where = names[j] if names is not None else f"sample {first_sample + j}"
        raise EvidenceError("NaN or infinite sample", path=display,
                            location=f"trace {first_trace + i}, {where}")


def validate_trace_array(path: Path, display: str) -> TraceInfo:
    """Check a trace array completely (header, shape, every sample finite), chunk by chunk."""
    traces = open_traces(path, display)
    if traces.dtype.kind == "f":
        for _ in iter_chunks(traces, display):
            pass
    return TraceInfo(traces=int(traces.shape[0]), samples=int(traces.shape[1]),
                     dtype=traces.dtype.name)


def load_capture(path: Path, label: str) -> dict[str, NDArray[Any]]:
    """The arrays of a capture given on the command line, by name.

    An ``.npz`` archive gives all its arrays (read into memory); a ``.npy`` traces file is
    memory-mapped as ``traces`` and ``label`` names a 1-D ``.npy`` label file beside it (or an
    absolute path), returned under that name.
    """
    display = str(path)
    if path.suffix.lower() == ".npz":
        return _load_npz(path, display)
    traces = open_array(path, display)
    label_path = Path(label) if Path(label).is_absolute() else path.parent / label
    if not label_path.is_file():
        raise EvidenceError(f"label file {label!r} not found beside the traces", path=display)
    labels = np.asarray(open_array(label_path, str(label_path), kinds=LABEL_KINDS))
    return {"traces": traces, label: labels}


def _npz_member_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, display: str
                       ) -> int:
    """Declared data bytes of one ``.npy`` member, checked against its zip entry."""
    where = f"member {info.filename!r}"
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version in ((1, 0), (2, 0)):
                shape, _, dtype = _read_header(f, version)
            else:
                raise EvidenceError(f".npy format version {version[0]}.{version[1]} is not "
                                    "supported (1.0 or 2.0)", path=display, location=where)
            offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, RecursionError,
            tokenize.TokenError, zipfile.BadZipFile, NotImplementedError, zlib.error) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EvidenceError(f"unreadable .npy header ({text})", path=display,
                            location=where) from None
    if dtype.kind not in NUMERIC_KINDS + LABEL_KINDS or dtype.fields is not None \
            or dtype.subdtype is not None:
        raise EvidenceError(f"the array has dtype {dtype.str!r}; numbers or text are needed",
                            path=display, location=where)
    if any(n < 0 for n in shape):
        raise EvidenceError(f"negative dimension in shape {shape}", path=display, location=where)
    data = int(math.prod(shape)) * int(dtype.itemsize)
    if offset + data != info.file_size:
        raise EvidenceError(f"the header declares {data} bytes of {dtype.name} data for shape "
                            f"{shape}, the member holds {info.file_size - offset}",
                            path=display, location=where)
    return data


def _load_npz(path: Path, display: str) -> dict[str, NDArray[Any]]:
    """Every array of an ``.npz`` archive, after checking what each declares."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if i.filename.endswith(".npy")]
            total = 0
            for info in members:
                total += _npz_member_header(archive, info, display)
                if total > MAX_NPZ_BYTES:
                    raise EvidenceError(f"the arrays declare more than {MAX_NPZ_BYTES} bytes "
                                        "in all (the limit for an .npz read into memory; use "
                                        ".npy files, which are memory-mapped)", path=display)
        with warnings.catch_warnings(), np.load(path, allow_pickle=False) as loaded:
            warnings.simplefilter("ignore", UserWarning)  # see _read_header
            return {name: loaded[name] for name in loaded.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError,
            zlib.error) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EvidenceError(f"unreadable NumPy file ({text})", path=display) from None


__all__ = [
    "CHUNK_BYTES",
    "LABEL_KINDS",
    "NUMERIC_KINDS",
    "TraceInfo",
    "chunk_rows",
    "iter_chunks",
    "load_capture",
    "open_array",
    "open_traces",
    "require_finite",
    "validate_trace_array",
]
