"""Property-based fuzzing of every reader of untrusted input (issue 21 item 1).

Each example writes one generated or mutated input (a bundle manifest, a profile, a security
target, an evaluation input, a CSV or Parquet table, JSON lines, a ``.npy`` trace array, an
``.npz`` capture, RNG output, a post-processing transcript) and runs the command a lab would run on
it (``evaltool validate``, or ``evaltool leakage`` for captures) in this process, through the CLI's
error boundary. The property: the exit code is 0, 1, 3 or 4 (never 70, an internal error, nor
anything else), standard error holds at most one line and no traceback, each run ends within
:data:`TIME_BOUND_S` and the process's peak RSS grows by less than :data:`RSS_BOUND_MB` (the
bounds of docs/resource-policy.md).

The default suite runs :data:`FAST_EXAMPLES` examples per kind; the slow test runs
``EVALTOOL_FUZZ_EXAMPLES`` (default 10,000) per kind. Inputs that once failed are kept in
``tests/fuzz/regressions/`` and replayed by ``test_regression_inputs``.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import DEMO_BUNDLE, DEMO_EVALUATION, HONEST, MINI_PROFILE, csv_bytes

TIME_BOUND_S = 10.0
"""Wall-clock bound of one run on one fuzzed input (inputs are at most a few hundred KiB)."""
RSS_BOUND_MB = 1536
"""Growth of the fuzzing process's peak resident memory over its peak before the first fuzzed
run (run alone, that baseline is about 300 MB; inside the whole suite it is what earlier tests
reached, and the bound applies above it)."""
ALLOWED = {0, 1, 3, 4}
FAST_EXAMPLES = 25
SLOW_EXAMPLES = int(os.environ.get("EVALTOOL_FUZZ_EXAMPLES", "10000"))
REGRESSIONS = Path(__file__).with_name("regressions")


_bound = [TIME_BOUND_S]
"""The time bound in force (raised while a kind's first run imports and compiles its code)."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_baseline: list[float] = []


def _baseline_mb() -> float:
    if not _baseline:
        _baseline.append(_peak_rss_mb())
    return _baseline[0]


def run_evaltool(*argv: str | Path) -> tuple[int, str]:
    """Run ``evaltool argv`` in this process and assert the fuzzing property."""
    from evaltool.cli import main
    from evaltool.io.readers import clear_cache

    clear_cache()
    err, out = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            main(["-q", *(str(a) for a in argv)])
            code: object = 0
        except SystemExit as exc:
            code = exc.code
    elapsed = time.perf_counter() - t0
    text = err.getvalue()
    assert code in ALLOWED, (code, text)
    assert "Traceback" not in text and "internal error" not in text, text
    assert len(text.strip().splitlines()) <= 1, text
    assert elapsed < _bound[0], (elapsed, argv)
    assert _peak_rss_mb() - _baseline_mb() < RSS_BOUND_MB, (_peak_rss_mb(), _baseline_mb())
    assert isinstance(code, int)
    return code, text


# ---------------------------------------------------------------------------------------------
# Mutations of a seed file

@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` after a few byte-level edits: overwrite, insert, delete, truncate, repeat."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["set", "insert", "delete", "truncate", "repeat", "tail"]))
        pos = draw(st.integers(0, max(0, len(data))))
        if op == "set" and data:
            pos = min(pos, len(data) - 1)
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(max_size=24) | st.sampled_from(
                [b"\n", b",", b'"', b"\x00", b"NaN", b"-1", b"1e999", b"9" * 400, b"{", b"[",
                 b":", b"&a", b"*a", b"!!python/object:os.system", b"\xff\xfe"]))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        elif op == "repeat" and data:
            start = min(pos, len(data) - 1)
            piece = bytes(data[start:start + draw(st.integers(1, 32))])
            data[start:start] = piece * draw(st.integers(1, 50))
        elif op == "tail" and len(data) > 8:
            # the end of binary formats holds their metadata (Parquet footer, zip directory)
            k = len(data) - 1 - draw(st.integers(0, min(len(data) - 1, 512)))
            data[k] = draw(st.integers(0, 255))
    return bytes(data)


# ---------------------------------------------------------------------------------------------
# The inputs of each kind

def _small_parquet(kind: str) -> bytes:
    n = 64
    rng = np.random.default_rng(1)
    if kind == "detection-events":
        table = pa.table({"time_ps": np.arange(n, dtype=np.int64) * 1000,
                          "detector": rng.integers(0, 4, n), "basis": rng.integers(0, 2, n),
                          "bit": rng.integers(0, 2, n), "intensity": rng.integers(0, 3, n)})
    else:
        raise AssertionError(kind)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


SEEDS: dict[str, tuple[str, str, str, bytes]] = {}
"""kind name -> (evidence kind, format, file name, seed content)."""


def _seeds() -> dict[str, tuple[str, str, str, bytes]]:
    if not SEEDS:
        SEEDS.update({
            "csv-monitor": ("monitor", "csv", "monitors.csv",
                            (DEMO_BUNDLE / "monitors.csv").read_bytes()[:3000]),
            "csv-blocks": ("block-records", "csv", "blocks.csv",
                           (DEMO_BUNDLE / "blocks.csv").read_bytes()),
            "parquet": ("detection-events", "parquet", "detections.parquet",
                        _small_parquet("detection-events")),
            "jsonl-audit": ("audit-log", "jsonl", "audit.jsonl",
                            (DEMO_BUNDLE / "audit.jsonl").read_bytes()),
            "jsonl-selftest": ("self-test-log", "jsonl", "self-tests.jsonl",
                               (DEMO_BUNDLE / "self-tests.jsonl").read_bytes()),
            "rng": ("rng-raw", "binary", "rng.bin", (DEMO_BUNDLE / "rng.bin").read_bytes()[:512]),
            "transcript": ("post-processing-transcript", "parquet", "transcript.parquet",
                           (HONEST / "transcript.parquet").read_bytes()),
        })
    return SEEDS


def _write_slot(root: Path, kind: str, fmt: str, name: str, content: bytes,
                extra: str = "") -> Path:
    from tests.support import make_bundle

    shutil.rmtree(root, ignore_errors=True)
    files = {"s": (kind, fmt, name, content)}
    if kind == "post-processing-transcript":
        files["blocks"] = ("block-records", "csv", "test-blocks.csv",
                           (HONEST / "test-blocks.csv").read_bytes())
    bundle = make_bundle(root, files)
    if extra:
        bundle.joinpath("bundle.yaml").write_text(bundle.joinpath("bundle.yaml").read_text()
                                                  + extra)
    return bundle


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ["EVALTOOL_NO_CACHE"] = "1"
    return tmp_path_factory.mktemp("fuzz")


def _evidence_property(name: str) -> Callable[[Path, bytes], None]:
    kind, fmt, fname, _ = _seeds()[name]

    def check(work: Path, content: bytes) -> None:
        run_evaltool("validate", _write_slot(work / "b", kind, fmt, fname, content))
    return check


def _doc_property(fname: str, extra_args: tuple[str, ...] = ()
                  ) -> Callable[[Path, bytes], None]:
    def check(work: Path, content: bytes) -> None:
        p = work / fname
        p.write_bytes(content)
        run_evaltool("validate", *extra_args, p)
    return check


def _manifest_check(work: Path, content: bytes) -> None:
    root = work / "m"
    if not root.is_dir():
        _write_slot(root, "monitor", "csv", "monitors.csv",
                    (DEMO_BUNDLE / "monitors.csv").read_bytes()[:3000])
    (root / "bundle.yaml").write_bytes(content)
    run_evaltool("validate", root)


def _manifest_seed() -> bytes:
    from tests.support import make_bundle

    return (make_bundle(Path(os.environ.get("TMPDIR", "/tmp")) / "evaltool-fuzz-seed",
                        {"monitors": ("monitor", "csv", "monitors.csv",
                                      csv_bytes(["time_s", "rx_temperature_c"],
                                                [[0, -40.0], [1, -40.1]]))})
            / "bundle.yaml").read_bytes()


def _trace_check(work: Path, content: bytes) -> None:
    root = _write_slot(work / "t", "trace-array", "npy", "traces.npy", content,
                       extra="    labels_slot: labels\n  - slot: labels\n    kind: pulse-events\n"
                             "    format: csv\n    path: labels.csv\n")
    (root / "labels.csv").write_bytes(csv_bytes(["pulse_index", "basis", "bit",
                                                 "intensity"],
                                                [[i, i % 2, i % 2, 0] for i in range(4)]))
    run_evaltool("validate", root)


def _npz_check(work: Path, content: bytes) -> None:
    p = work / "capture.npz"
    p.write_bytes(content)
    run_evaltool("leakage", p, "--label", "labels", "--feature", "traces")


def _npy_seed() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(4 * 8, dtype=np.float64).reshape(4, 8))
    return buf.getvalue()


def _npz_seed() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, traces=np.random.default_rng(2).normal(size=(40, 4)),
                        labels=np.arange(40) % 2)
    return buf.getvalue()


KINDS: dict[str, tuple[Callable[[Path, bytes], None], Callable[[], bytes]]] = {
    "manifest": (_manifest_check, _manifest_seed),
    "profile": (_doc_property("profile.yaml"), lambda: MINI_PROFILE.encode()),
    "security-target": (_doc_property("st.yaml"), lambda: (HONEST / "st.yaml").read_bytes()),
    "evaluation": (_doc_property("evaluation.yaml"), lambda: DEMO_EVALUATION.read_bytes()),
    "npy": (_trace_check, _npy_seed),
    "npz": (_npz_check, _npz_seed),
    **{name: (_evidence_property(name), (lambda n=name: _seeds()[n][3]))
       for name in ("csv-monitor", "csv-blocks", "parquet", "jsonl-audit", "jsonl-selftest",
                    "rng", "transcript")},
}
"""Every reader kind: (the property on one input, its seed)."""


def _fuzz(kind: str, work: Path, examples: int) -> None:
    check, seed = KINDS[kind]
    base = seed()
    _bound[0] = 120.0  # the first run imports the readers and compiles numba kernels
    try:
        check(work, base)
    finally:
        _bound[0] = TIME_BOUND_S

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(content=mutated(base))
    def prop(content: bytes) -> None:
        try:
            check(work, content)
        except AssertionError:
            if os.environ.get("EVALTOOL_FUZZ_SAVE"):  # keep the input as a regression case
                import hashlib

                name = f"{kind}__found-{hashlib.sha256(content).hexdigest()[:12]}"
                REGRESSIONS.joinpath(name).write_bytes(content)
            raise

    prop()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_each_reader(kind: str, work: Path) -> None:
    _fuzz(kind, work, FAST_EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_each_reader_at_scale(kind: str, work: Path) -> None:
    _fuzz(kind, work, SLOW_EXAMPLES)


# ---------------------------------------------------------------------------------------------
# Generated JSON lines (structure rather than bytes)

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=20)


@settings(max_examples=FAST_EXAMPLES * 4, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(records=st.lists(_json, min_size=1, max_size=5), depth=st.integers(0, 3000),
       dup=st.booleans())
def test_generated_json_lines(work: Path, records: list[object], depth: int, dup: bool) -> None:
    import json

    lines = [json.dumps(r) for r in records]
    lines.append("[" * depth + "]" * depth)
    if dup:
        lines.append('{"event": "a", "event": "b", "time_s": 1}')
    content = ("\n".join(lines) + "\n").encode()
    code, _ = run_evaltool("validate", _write_slot(work / "j", "audit-log", "jsonl",
                                                   "audit.jsonl", content))
    if depth > 64 or dup:
        assert code == 4


# ---------------------------------------------------------------------------------------------
# Hostile files built on purpose: bombs and lies in declared sizes

def _parquet_bomb(rows: int) -> bytes:
    """One column of ``rows`` zeros, PLAIN-encoded in one page, zstd: a small file that
    declares (and would decode to) ``8 · rows`` bytes."""
    sink = pa.BufferOutputStream()
    table = pa.table({"time_ps": pa.array(np.zeros(rows, dtype=np.int64))})
    pq.write_table(table, sink, compression="zstd", use_dictionary=False,
                   data_page_size=1 << 40, row_group_size=rows,
                   column_encoding={"time_ps": "PLAIN"}, compression_level=19)
    return sink.getvalue().to_pybytes()


def _npz_bomb(declared_shape: tuple[int, ...], zero_bytes: int = 0) -> bytes:
    """An .npz whose ``traces`` member's header declares ``declared_shape`` (float64), followed
    by ``zero_bytes`` zeros (written in 1 MiB pieces: the test never holds them)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": declared_shape})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("traces.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            piece = bytes(1 << 20)
            for _ in range(zero_bytes >> 20):
                member.write(piece)
        lab = io.BytesIO()
        np.save(lab, np.arange(4) % 2)
        z.writestr("labels.npy", lab.getvalue())
    return buf.getvalue()


def test_parquet_compression_bomb_is_refused_before_decoding(work: Path) -> None:
    """``_parquet_bomb(40_000_000)``: 200 KB that decode to 320 MB in one row group."""
    data = (REGRESSIONS / "parquet__row-group-bomb-320MB.parquet").read_bytes()
    assert len(data) < 250_000
    before = _peak_rss_mb()
    code, text = run_evaltool("validate", _write_slot(work / "pb", "detection-events", "parquet",
                                                      "detections.parquet", data))
    assert code == 4 and "declares" in text, text
    assert _peak_rss_mb() - before < 100


def test_npz_declaring_a_huge_array_is_refused_before_allocation(work: Path) -> None:
    p = work / "bomb.npz"
    p.write_bytes(_npz_bomb((1 << 40, 4)))
    code, text = run_evaltool("leakage", p, "--label", "labels", "--feature", "traces")
    assert code == 4 and "declares" in text, text


def test_npz_zip_bomb_is_refused(work: Path) -> None:
    """A member of 400 MB of zeros: about 400 KB compressed."""
    p = work / "zip-bomb.npz"
    p.write_bytes(_npz_bomb((50 << 20,), 400 << 20))
    assert p.stat().st_size < 1 << 20
    before = _peak_rss_mb()
    code, text = run_evaltool("leakage", p, "--label", "labels", "--feature", "traces")
    assert code == 4, text
    assert _peak_rss_mb() - before < 100


def test_npz_object_array_is_refused(work: Path) -> None:
    buf = io.BytesIO()
    np.savez(buf, traces=np.array([object(), 1], dtype=object), labels=np.arange(2))
    p = work / "objects.npz"
    p.write_bytes(buf.getvalue())
    code, _ = run_evaltool("leakage", p, "--label", "labels", "--feature", "traces")
    assert code == 4


@pytest.mark.parametrize("size", [0, 1, 3, 7, 4097])
def test_rng_binaries_of_any_length(work: Path, size: int) -> None:
    code, text = run_evaltool("validate", _write_slot(work / "r", "rng-raw", "binary", "rng.bin",
                                                      b"\xa5" * size))
    assert code == (4 if size == 0 else 0), text


def test_regression_inputs(work: Path) -> None:
    """Every input fuzzing once found failing, replayed: ``<kind>__<name>`` files."""
    found = sorted(REGRESSIONS.glob("*__*"))
    assert found
    for path in found:
        kind = path.name.split("__", 1)[0]
        KINDS[kind][0](work, path.read_bytes())
