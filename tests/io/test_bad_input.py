"""Malformed bundles: each gives exit 4 and one line naming the file and the problem.

For every case the bundle is byte-for-byte unchanged afterwards and no report is left that could
be mistaken for a result (a stale results.json from an earlier run is removed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support import rehash_manifest, tree_digest

Mutator = Callable[[Path], None]


def _manifest_sub(old: str, new: str, *, count: int = 1) -> Mutator:
    def mutate(b: Path) -> None:
        m = b / "bundle.yaml"
        text = m.read_text()
        assert old in text, old
        m.write_text(text.replace(old, new, count))

    return mutate


def _edit_csv(name: str, line: int, column: str, value: str) -> Mutator:
    def mutate(b: Path) -> None:
        p = b / name
        lines = p.read_text().splitlines()
        col = lines[0].split(",").index(column)
        cells = lines[line - 1].split(",")
        cells[col] = value
        lines[line - 1] = ",".join(cells)
        p.write_text("\n".join(lines) + "\n")
        rehash_manifest(b)

    return mutate


def _write(name: str, data: bytes, *, rehash: bool = True) -> Mutator:
    def mutate(b: Path) -> None:
        (b / name).write_bytes(data)
        if rehash:
            rehash_manifest(b)

    return mutate


def _missing_manifest(b: Path) -> None:
    (b / "bundle.yaml").unlink()


def _truncate_parquet(b: Path) -> None:
    p = b / "detections.parquet"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    rehash_manifest(b)


def _symlink_outside(b: Path) -> None:
    secret = b.parent / "outside.csv"
    secret.write_text("time_s,x_c\n0,1\n")
    (b / "monitors.csv").unlink()
    os.symlink(secret, b / "monitors.csv")
    _drop_hash("monitors.csv")(b)


def _drop_hash(slot_file: str) -> Mutator:
    def mutate(b: Path) -> None:
        m = b / "bundle.yaml"
        out, skip = [], False
        for line in m.read_text().splitlines():
            if line.strip() == f"path: {slot_file}":
                skip = True
            elif skip and line.strip().startswith("sha256:"):
                skip = False
                continue
            out.append(line)
        m.write_text("\n".join(out) + "\n")

    return mutate


def _billion_laughs(b: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    (b / "bundle.yaml").write_text("\n".join(lines) + "\n")


def _parquet_with_nan(b: Path) -> None:
    table = pq.read_table(b / "detections.parquet")
    gate = table.column("gate_offset_ps").to_pylist()
    gate[1234] = float("nan")
    table = table.set_column(table.schema.get_field_index("gate_offset_ps"), "gate_offset_ps",
                             pa.array(gate))
    pq.write_table(table, b / "detections.parquet")
    rehash_manifest(b)


def _non_monotonic_parquet(b: Path) -> None:
    table = pq.read_table(b / "detections.parquet")
    t = table.column("time_ps").to_pylist()
    t[500], t[501] = t[501], t[500]
    table = table.set_column(0, "time_ps", pa.array(t, pa.int64()))
    pq.write_table(table, b / "detections.parquet")
    rehash_manifest(b)


CASES: dict[str, tuple[Mutator, str, str]] = {
    # name: (mutation, file named in the message, problem phrase)
    "missing manifest": (_missing_manifest, "bundle", "no bundle.yaml manifest"),
    "yaml syntax error": (_manifest_sub("toe:\n", "toe: [\n"), "bundle.yaml", "YAML syntax error"),
    "unknown evidence kind": (_manifest_sub("kind: monitor\n", "kind: monitors\n"),
                              "bundle.yaml", "evidence[2].kind"),
    "unknown manifest field": (_manifest_sub("  lab: ", "  labb: "), "bundle.yaml",
                               "unknown field"),
    "truncated parquet": (_truncate_parquet, "detections.parquet", "Parquet"),
    "text cell in numeric column": (_edit_csv("monitors.csv", 12, "rx_photocurrent_ua", "high"),
                                    "monitors.csv", "line 12"),
    "NaN in CSV": (_edit_csv("monitors.csv", 30, "tx_laser_power_mw", "nan"), "monitors.csv",
                   "NaN"),
    "inf in CSV": (_edit_csv("monitors.csv", 31, "tx_laser_power_mw", "inf"), "monitors.csv",
                   "infinite"),
    "NaN in Parquet": (_parquet_with_nan, "detections.parquet", "row 1235"),
    "negative count": (_edit_csv("blocks.csv", 4, "key_errors_0", "-3"), "blocks.csv",
                       "negative count"),
    # block-record rules beyond the column schema, applied when the bundle is loaded
    "errors exceed detections": (_edit_csv("blocks.csv", 4, "key_errors_0", "999999999"),
                                 "blocks.csv", "key_errors_0 exceeds key_detections_0"),
    "flag out of range": (_edit_csv("blocks.csv", 5, "aborted", "2"), "blocks.csv", "0 or 1"),
    "non-monotonic CSV time": (_edit_csv("monitors.csv", 40, "time_s", "0.0"), "monitors.csv",
                               "non-decreasing"),
    "non-monotonic Parquet time": (_non_monotonic_parquet, "detections.parquet",
                                   "non-decreasing"),
    "path traversal": (_manifest_sub("path: monitors.csv", "path: ../../etc/passwd"),
                       "bundle.yaml", "leaves the bundle"),
    "absolute path": (_manifest_sub("path: monitors.csv", "path: /etc/passwd"), "bundle.yaml",
                      "is absolute"),
    "symlink outside the bundle": (_symlink_outside, "bundle.yaml", "outside the bundle"),
    "2 GB declared size": (_manifest_sub("path: rng.bin\n",
                                         "path: rng.bin\n    size_bytes: 2000000000\n"),
                           "bundle.yaml", "declared size 2000000000"),
    "hash mismatch": (_write("rng.bin", b"\x00" * 1024, rehash=False), "bundle.yaml",
                      "SHA-256 mismatch"),
    "non-UTF-8 manifest": (_manifest_sub("vendor: Example", "vendor: Ex\udcffample"),
                           "bundle.yaml", "not valid UTF-8"),
    "billion laughs": (_billion_laughs, "bundle.yaml", "alias bomb"),
    "duplicate YAML key": (_manifest_sub("  lab: Example", "  lab: A\n  lab: Example"),
                           "bundle.yaml", "duplicate"),
    "missing evidence file": (_manifest_sub("path: monitors.csv", "path: monitor.csv"),
                              "bundle.yaml", "does not exist"),
    "missing required column": (_write("blocks.csv", b"block_id,time_s\n0,1.0\n"), "blocks.csv",
                                "missing required column"),
    "column without unit": (_write("monitors.csv", b"time_s,power\n0.0,1.0\n"), "monitors.csv",
                            "no unit suffix"),
    "invalid JSON line": (_write("audit.jsonl", b'{"event": "a"}\n{"event": \n'), "audit.jsonl",
                          "line 2"),
    "format not allowed for kind": (_manifest_sub("format: binary", "format: csv"),
                                    "bundle.yaml", "not allowed for kind"),
    "probabilities do not sum to 1": (_manifest_sub("probabilities: [0.6,", "probabilities: [0.5,"),
                                      "bundle.yaml", "sum to"),
    "duplicate slot": (_manifest_sub("- slot: audit_log", "- slot: monitors"), "bundle.yaml",
                       "duplicate evidence slot"),
    "directory as evidence": (_manifest_sub("path: rng.bin", "path: ."), "bundle.yaml",
                              "not a regular file"),
    "ragged CSV row": (_write("monitors.csv", b"time_s,x_c\n0.0,1.0\n0.1,2.0,3.0\n"),
                       "monitors.csv", "line 3"),
    "non-UTF-8 CSV text": (_write("key-delivery.csv", b"time_s,key_id,pa_output_bits\n"
                                  b"1.0,k\xff1,10\n"), "key-delivery.csv", "UTF"),
    "empty RNG file": (_write("rng.bin", b""), "rng.bin", "empty"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_bundle_exit_4_one_line(case: str, run_cli, demo_bundle: Path, mini_profile: Path,
                                    tmp_path: Path) -> None:
    mutate, names, problem = CASES[case]
    if case == "non-UTF-8 manifest":
        m = demo_bundle / "bundle.yaml"
        m.write_bytes(m.read_bytes().replace(b"vendor: Example", b"vendor: Ex\xffample"))
    else:
        mutate(demo_bundle)
    before = tree_digest(demo_bundle)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text('{"verdict": "pass"}')  # a stale earlier result
    r = run_cli("-q", "audit", demo_bundle, "--profile", mini_profile, "--out", out)
    assert r.exit_code == 4, (r.exit_code, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert names in lines[0], lines[0]
    assert problem in lines[0], lines[0]
    assert tree_digest(demo_bundle) == before
    assert not (out / "results.json").exists()
    assert not list(out.glob("report.*"))


def test_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20
