"""``evaltool leakage`` on lab trace arrays (.npz archives and memory-mapped .npy files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats


def _traces(n: int = 20_000, samples: int = 6, leak_sample: int | None = 3, seed: int = 1):
    rng = np.random.default_rng(seed)
    bit = rng.integers(0, 2, n).astype(np.int8)
    traces = rng.normal(100.0, 2.0, size=(n, samples)).astype(np.float32)
    if leak_sample is not None:
        traces[:, leak_sample] += 0.5 * bit  # a 0.25 sd leak of the bit in one sample
    return bit, traces


def _json(run_cli, *args: object) -> tuple[int, dict]:
    r = run_cli("leakage", *args, "--json")
    return r.exit_code, json.loads(r.stdout) if r.stdout.strip() else {}


def test_npz_finds_the_leaking_sample_and_matches_scipy(run_cli, tmp_path: Path) -> None:
    bit, traces = _traces()
    path = tmp_path / "capture.npz"
    np.savez(path, traces=traces, bit=bit)
    code, doc = _json(run_cli, path, "--label", "bit", "--feature", "traces")
    assert code == 1 and doc["verdict"] == "fail"
    assert set(doc["features"]) == {f"traces[{j}]" for j in range(6)}
    t = doc["features"]["traces[3]"]["t"]["1"]
    # Class 1 minus class 0 (sorted label values), as scipy's Welch test of (x1, x0).
    x = traces[:, 3].astype(np.float64)
    ref = stats.ttest_ind(x[bit == 1], x[bit == 0], equal_var=False).statistic
    assert t == pytest.approx(ref, rel=1e-9)
    assert abs(doc["features"]["traces[0]"]["t"]["1"]) < 4.5


def test_npy_traces_with_a_label_file_and_a_sample_range(run_cli, tmp_path: Path) -> None:
    bit, traces = _traces(leak_sample=None)
    np.save(tmp_path / "traces.npy", traces)
    np.save(tmp_path / "bit.npy", bit)
    code, doc = _json(run_cli, tmp_path / "traces.npy", "--label", "bit.npy",
                      "--feature", "traces[1:4]", "--chunk-rows", "3000")
    assert set(doc["features"]) == {"traces[1]", "traces[2]", "traces[3]"}
    # 20,000 traces cannot show a 0.05 sd effect: no leak, but underpowered, so inconclusive.
    assert code == 3 and doc["verdict"] == "inconclusive"
    assert "minimum detectable effect" in doc["reason"]
    # The same numbers whatever the chunk size.
    _, again = _json(run_cli, tmp_path / "traces.npy", "--label", "bit.npy",
                     "--feature", "traces[1:4]", "--chunk-rows", "20000")
    assert again == doc


@pytest.mark.parametrize(
    ("feature", "problem"),
    [("traces[9]", "outside 0:6"), ("power", "no array for feature 'power'")],
)
def test_bad_selection_is_exit_4(run_cli, tmp_path: Path, feature: str, problem: str) -> None:
    bit, traces = _traces()
    path = tmp_path / "capture.npz"
    np.savez(path, traces=traces, bit=bit)
    r = run_cli("leakage", path, "--label", "bit", "--feature", feature)
    assert r.exit_code == 4
    assert problem in r.stderr and "capture.npz" in r.stderr and "Traceback" not in r.stderr


def test_nan_trace_is_named(run_cli, tmp_path: Path) -> None:
    bit, traces = _traces()
    traces[1234, 2] = np.nan
    path = tmp_path / "capture.npz"
    np.savez(path, traces=traces, bit=bit)
    r = run_cli("leakage", path, "--label", "bit", "--feature", "traces")
    assert r.exit_code == 4 and "trace 1234" in r.stderr
