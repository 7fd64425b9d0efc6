"""Trace-array evidence: the loader's checks of the ``.npy`` file and of its labels.

Every malformed capture stops ``evaltool validate`` (and an audit) with exit 4 and one line
naming the file and the problem.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from evaltool.errors import EvidenceError
from evaltool.io import traces as trace_io
from evaltool.io.bundle import load_bundle
from tests.support import csv_bytes, make_bundle


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def trace_bundle(root: Path, traces: np.ndarray | bytes, labels: np.ndarray, *,
                 labels_slot: str | None = "em_labels", kind: str = "trace-array") -> Path:
    """A bundle with ``traces.npy`` (slot ``em_traces``) labelled by ``labels.csv`` (slot
    ``em_labels``, a pulse-events table with pulse_index and bit)."""
    content = traces if isinstance(traces, bytes) else npy_bytes(traces)
    rows = [[i, int(b)] for i, b in enumerate(labels)]
    make_bundle(root, {"em_labels": ("pulse-events", "csv", "labels.csv",
                                     csv_bytes(["pulse_index", "bit"], rows))})
    (root / "traces.npy").write_bytes(content)
    entry = f"  - slot: em_traces\n    kind: {kind}\n    format: npy\n    path: traces.npy\n"
    if labels_slot is not None:
        entry += f"    labels_slot: {labels_slot}\n"
    with (root / "bundle.yaml").open("a") as f:
        f.write(entry)
    return root


def _good(n: int = 200, samples: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(0, 1, (n, samples)).astype(np.float32), rng.integers(0, 2, n)


def test_a_valid_capture_loads_with_its_shape(tmp_path: Path) -> None:
    traces, bits = _good()
    b = load_bundle(trace_bundle(tmp_path / "b", traces, bits))
    bf = b.files["em_traces"]
    assert bf.shape == (200, 5) and bf.rows == 200
    assert bf.entry.labels_slot == "em_labels"
    info = trace_io.validate_trace_array(bf.path, "x")
    assert info == trace_io.TraceInfo(traces=200, samples=5, dtype="float32")


def test_integer_fortran_and_version_2_captures_are_accepted(tmp_path: Path) -> None:
    traces = np.asfortranarray(np.arange(60, dtype=np.int16).reshape(12, 5))
    path = tmp_path / "t.npy"
    with path.open("wb") as f:
        np.lib.format.write_array(f, traces, version=(2, 0))
    arr = trace_io.open_traces(path, "t.npy")
    blocks = list(trace_io.iter_chunks(arr, "t.npy", start=1, stop=4, rows=5))
    assert [first for first, _ in blocks] == [0, 5, 10]
    assert np.array_equal(np.vstack([x for _, x in blocks]), traces[:, 1:4].astype(np.float64))


def _truncated(traces: np.ndarray) -> bytes:
    return npy_bytes(traces)[:-10]


def _trailing(traces: np.ndarray) -> bytes:
    return npy_bytes(traces) + b"\0" * 8


def _with_nan(traces: np.ndarray) -> np.ndarray:
    out = traces.copy()
    out[123, 4] = np.nan
    return out


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda t: t.astype(np.complex64), "dtype '<c8'; integer or floating-point samples"),
        (lambda t: t.astype(np.float64).astype(object), "dtype '|O'"),
        (lambda t: (t > 0), "dtype '|b1'"),
        (lambda t: t.ravel(), "shape (1000,); a 2-D array (traces, samples)"),
        (_with_nan, "trace 123, sample 4: NaN or infinite sample"),
        (_truncated, "truncated: the header declares 4000 bytes of float32 data for shape "
                     "(200, 5), the file holds 3990"),
        (_trailing, "8 bytes after the (200, 5) array"),
        (lambda t: b"PK\x03\x04 not an npy file", "not a NumPy .npy file"),
    ],
    ids=["complex", "object", "bool", "1-d", "nan", "truncated", "trailing", "not-npy"],
)
def test_malformed_capture_is_exit_4_naming_the_file(run_cli, tmp_path: Path, make,
                                                     problem: str) -> None:
    traces, bits = _good()
    b = trace_bundle(tmp_path / "b", make(traces), bits)
    r = run_cli("validate", b)
    assert r.exit_code == 4, r.stdout
    assert "b/traces.npy" in r.stderr and problem in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_label_count_must_equal_trace_count(run_cli, tmp_path: Path) -> None:
    traces, bits = _good()
    b = trace_bundle(tmp_path / "b", traces, bits[:-1])
    r = run_cli("validate", b)
    assert r.exit_code == 4
    assert "b/traces.npy" in r.stderr
    assert "199 label rows in slot 'em_labels' (labels.csv) for 200 traces" in r.stderr


@pytest.mark.parametrize(
    ("labels_slot", "kind", "problem"),
    [
        (None, "trace-array", "a trace-array needs labels_slot"),
        ("nowhere", "trace-array", "labels_slot 'nowhere' is not an evidence slot"),
        ("em_labels", "rng-raw", "format 'npy' is not allowed for kind 'rng-raw'"),
    ],
)
def test_manifest_must_link_traces_to_a_label_table(run_cli, tmp_path: Path,
                                                    labels_slot: str | None, kind: str,
                                                    problem: str) -> None:
    traces, bits = _good()
    b = trace_bundle(tmp_path / "b", traces, bits, labels_slot=labels_slot, kind=kind)
    r = run_cli("validate", b)
    assert r.exit_code == 4 and problem in r.stderr and "bundle.yaml" in r.stderr, r.stderr


def test_labels_slot_belongs_to_trace_arrays_and_names_a_table(tmp_path: Path) -> None:
    traces, bits = _good()
    b = trace_bundle(tmp_path / "b", traces, bits)
    text = (b / "bundle.yaml").read_text()
    (b / "bundle.yaml").write_text(text.replace("path: labels.csv\n",
                                                "path: labels.csv\n    labels_slot: em_traces\n"))
    with pytest.raises(EvidenceError, match="labels_slot applies to trace-array evidence"):
        load_bundle(b)
    (b / "bundle.yaml").write_text(text.replace("labels_slot: em_labels",
                                                "labels_slot: em_traces"))
    with pytest.raises(EvidenceError, match="'npy', a table"):
        load_bundle(b)


def test_unchecked_loading_leaves_the_array_alone(tmp_path: Path) -> None:
    """``check_tables=False`` (a re-render that trusts hashes) maps nothing."""
    traces, bits = _good()
    b = load_bundle(trace_bundle(tmp_path / "b", _with_nan(traces), bits[:-1]),
                    check_tables=False)
    assert b.files["em_traces"].shape == ()
