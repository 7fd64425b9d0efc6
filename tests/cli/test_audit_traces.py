"""End to end: an audit of a bundle carrying a lab trace array, its report and its verification."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.io.test_traces import trace_bundle

PROFILE = """\
schema_version: 1
id: traces-profile
title: Emanation profile for the trace-array audit test
version: "1.0"
threats:
  - {id: T.EMS, title: Settings inferred from emanations}
objectives:
  - {id: O.EMS, title: No exploitable emanations, addresses: [T.EMS], sfrs: [FPT_EMS.1]}
sfrs:
  - id: FPT_EMS.1
    title: Emanation of TOE
    elements:
      - id: FPT_EMS.1.1
        text: The driver's emissions do not depend on the bit sent.
        activities:
          - id: FPT_EMS.1.1-A1
            title: Leakage assessment of the lab's trace capture
            method: automated
            checks:
              - kind: leakage.traces
                params: {slot: em_traces, label: bit, orders: [1, 2], mde_tolerance_sd: 0.1}
"""

N, SAMPLES = 16_000, 12


def _capture(leak: float, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bit = rng.integers(0, 2, N)
    traces = rng.normal(200.0, 1.0, (N, SAMPLES))
    traces[:, 5] += leak * bit  # |t| about leak * sqrt(N) / 2 = 12.6 for leak 0.2
    return traces.astype(np.float32), bit


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("profile") / "traces-profile.yaml"
    p.write_text(PROFILE)
    return p


def _audit(run_cli, bundle: Path, profile: Path, out: Path):  # type: ignore[no-untyped-def]
    return run_cli("-q", "audit", bundle, "--profile", profile, "--out", out,
                   "--format", "json,html")


def test_a_leaking_capture_fails_the_audit_naming_the_sample(run_cli, profile: Path,
                                                             tmp_path: Path) -> None:
    traces, bit = _capture(leak=0.2)
    bundle = trace_bundle(tmp_path / "leaky", traces, bit)
    r = _audit(run_cli, bundle, profile, tmp_path / "out")
    assert r.exit_code == 1, r.stderr
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert res["verdict"] == "fail"
    (check,) = res["requirements"][0]["checks"]
    assert check["kind"] == "leakage.traces" and check["verdict"] == "fail"
    assert check["reason"].endswith("; leaking samples: 5"), check["reason"]
    # Both inputs of the capture are recorded with their hashes.
    names = {f["path"] for f in res["provenance"]["inputs"]}
    assert {"traces.npy", "labels.csv"} <= {Path(n).name for n in names}
    html = (tmp_path / "out" / "report.html").read_text()
    assert "leaking samples: 5" in html
    assert html.count("data:image/svg+xml") >= 1  # the |t| curve of the check


def test_an_honest_capture_passes_and_verifies(run_cli, profile: Path, tmp_path: Path) -> None:
    traces, bit = _capture(leak=0.0)
    bundle = trace_bundle(tmp_path / "honest", traces, bit)
    out = tmp_path / "out"
    r = _audit(run_cli, bundle, profile, out)
    assert r.exit_code == 0, r.stderr
    assert json.loads((out / "results.json").read_text())["verdict"] == "pass"
    v = run_cli("verify", out / "results.json", "--bundle", bundle, "--profile", profile)
    assert v.exit_code == 0, v.stderr
    # One byte of the capture changed: the recorded hash no longer matches (exit 4).
    raw = bytearray((bundle / "traces.npy").read_bytes())
    raw[-1] ^= 0x01
    (bundle / "traces.npy").write_bytes(bytes(raw))
    v = run_cli("verify", out / "results.json", "--bundle", bundle, "--profile", profile)
    assert v.exit_code == 4
    assert "input changed: input traces.npy (evidence:em_traces): SHA-256" in v.stdout
