"""Benchmark: a large per-pulse Parquet table through every attack monitor, time and peak memory.

Issue 7's performance target: a 10^8-pulse per-pulse table (Parquet) through all monitors in
under 2 GB RSS at >= 10^7 pulses/s.

The script writes a bundle into ``--workdir`` (reused when it already holds one of the same size):

- ``pulses.parquet``: ``--pulses`` transmitter pulses (settings, ``mu_measured_photons``,
  ``emission_offset_ps``) in row groups of 2^20, drawn like the simulator's pulse window
  (``evaltool.simulate``: intensities 0.5/0.15/2e-4 with probabilities 0.6/0.3/0.1, 1 % monitor
  noise);
- ``detections.parquet``: the receiver's detections of those pulses at the honest click rate
  (about 0.29 % of the pulses, 50 ns common dead time);
- the honest scenario bundle's block records and monitor samples.

It then runs, in a fresh subprocess (so that the peak RSS is the monitors' alone), the seven
monitor kinds with the GS QKD 016 profile's parameters, and prints per-monitor wall and CPU
time, the pulse throughput and the peak RSS. Bundle validation (every table read once more by the
loader) is timed separately.

Run on demand (it is not a test)::

    nice -n 10 python benchmarks/bench_monitors.py [--pulses 100000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
HONEST = ROOT / "test_vectors" / "scenarios" / "honest"
ROW_GROUP = 1 << 20
MU = np.array([0.5, 0.15, 0.0002])
PROB = np.array([0.6, 0.3, 0.1])
PERIOD_PS = 800
DEAD_PULSES = 63  # ceil(50 ns x 1.25 GHz)
CLICK = 0.00286  # clicks per pulse at the honest 3.58 MHz

MANIFEST = """\
schema_version: 1
toe:
  vendor: Example Quantum Ltd
  product: EQ-QKD 1000
  transmitter: {{serial: TX-0001, hardware_version: rev C, firmware_version: 2.4.1}}
  receiver: {{serial: RX-0001, hardware_version: rev C, firmware_version: 2.4.1}}
claims:
  protocol: bb84-decoy-3
  bound: lim2014
  intensities: [0.5, 0.15, 0.0002]
  probabilities: [0.6, 0.3, 0.1]
  p_key_basis: 0.8
  eps_sec: 1.0e-09
  eps_cor: 1.0e-15
  block_size: 3000000
  qber_abort_threshold: 0.025
  rep_rate_hz: 1.25e+09
capture:
  start: 2026-11-02T09:00:00Z
  end: 2026-11-02T09:00:27Z
  lab: benchmark
  operator: benchmark
evidence:
  - {{slot: blocks, kind: block-records, format: csv, path: blocks.csv}}
  - {{slot: monitors, kind: monitor, format: csv, path: monitors.csv}}
  - {{slot: pulses, kind: pulse-events, format: parquet, path: pulses.parquet}}
  - {{slot: detections, kind: detection-events, format: parquet, path: detections.parquet}}
"""


def write_bundle(out: Path, pulses: int, seed: int = 1) -> None:
    """Write the benchmark bundle (pulses, detections, honest blocks and monitors)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    p_schema = pa.schema([("pulse_index", pa.int64()), ("basis", pa.int8()), ("bit", pa.int8()),
                          ("intensity", pa.int8()), ("emission_offset_ps", pa.float32()),
                          ("mu_measured_photons", pa.float32())])
    d_schema = pa.schema([("time_ps", pa.int64()), ("detector", pa.int8()), ("basis", pa.int8()),
                          ("bit", pa.int8()), ("intensity", pa.int8()),
                          ("pulse_index", pa.int64()), ("gate_offset_ps", pa.float32())])
    next_click = int(rng.geometric(CLICK))
    with pq.ParquetWriter(out / "pulses.parquet", p_schema, compression="zstd") as pw, \
            pq.ParquetWriter(out / "detections.parquet", d_schema, compression="zstd") as dw:
        for start in range(0, pulses, ROW_GROUP):
            n = min(ROW_GROUP, pulses - start)
            idx = start + np.arange(n, dtype=np.int64)
            cls = rng.choice(3, size=n, p=PROB).astype(np.int8)
            mu = (MU[cls] * (1 + 0.01 * rng.standard_normal(n))).astype(np.float32)
            pw.write_table(pa.table({
                "pulse_index": idx,
                "basis": (rng.random(n) >= 0.8).astype(np.int8),
                "bit": rng.integers(0, 2, n, dtype=np.int8),
                "intensity": cls,
                "emission_offset_ps": (2.0 * rng.standard_normal(n)).astype(np.float32),
                "mu_measured_photons": mu,
            }, schema=p_schema))
            # Clicks: geometric gaps after the common dead time, so none falls inside it.
            gaps = DEAD_PULSES + rng.geometric(CLICK, size=int(n * CLICK * 1.5) + 64)
            pos = next_click + np.cumsum(gaps) - gaps[0]
            inside = pos[pos < start + n]
            next_click = int(pos[inside.size]) if inside.size < pos.size else int(pos[-1])
            k = inside.size
            basis = (rng.random(k) >= 0.8).astype(np.int8)
            bit = rng.integers(0, 2, k, dtype=np.int8)
            gate = np.clip(np.round(rng.normal(225.0, 40.0, k) * 4) / 4, 0, 450)
            dw.write_table(pa.table({
                "time_ps": inside * PERIOD_PS + np.floor(gate).astype(np.int64),
                "detector": (2 * basis + bit).astype(np.int8),
                "basis": basis, "bit": bit,
                "intensity": cls[inside - start],
                "pulse_index": inside.astype(np.int64),
                "gate_offset_ps": gate.astype(np.float32),
            }, schema=d_schema))
    shutil.copy(HONEST / "blocks.csv", out / "blocks.csv")
    shutil.copy(HONEST / "monitors.csv", out / "monitors.csv")
    (out / "bundle.yaml").write_text(MANIFEST.format())
    (out / "PULSES").write_text(str(pulses))


ST = {"dark_count_prob_nominal": 6e-7, "detector_mismatch_max": 0.03,
      "ingress_power_threshold_dbm": -55, "abort_response_s": 1.0, "mu_signal": 0.5,
      "mu_decoy": 0.15, "mu_vacuum": 0.0002, "pattern_effect_max_rel": 0.005, "dead_time_ns": 50,
      "afterpulse_prob_max": 0.01}

CHECKS: list[tuple[str, dict[str, Any]]] = [
    ("monitor.pattern-effect", {"slot": "pulses", "max_relative_deviation": 0.005, "lags": 2,
                                "alpha": 0.001}),
    ("monitor.efficiency-mismatch", {"slot": "detections", "max_mismatch": 0.03,
                                     "alpha": 0.001}),
    ("monitor.efficiency-mismatch", {"slot": "detections", "max_mismatch": 0.03, "by": "basis",
                                     "alpha": 0.001}),
    ("monitor.dead-time", {"slot": "detections", "dead_time_ns": 50}),
    ("monitor.afterpulsing", {"slot": "detections", "max_probability": 0.01}),
    ("monitor.detector-blinding", {"blocks_slot": "blocks", "vacuum_class": 2,
                                   "dark_count_prob": 6e-7, "alpha": 0.001}),
    ("monitor.decoy-consistency", {"slot": "blocks", "intensities": [0.5, 0.15, 0.0002],
                                   "alpha": 0.001}),
    ("monitor.trojan-horse", {"monitor_slot": "monitors", "column": "tx_ingress_power_dbm",
                              "threshold_dbm": -55, "response_slot": "blocks", "within_s": 1.0}),
]


def measure(bundle_dir: Path) -> dict[str, Any]:
    """Run every monitor on the bundle (in this process) and report times and peak RSS."""
    import importlib

    from evaltool.checks.context import CheckContext
    from evaltool.checks.registry import get, parse_params
    from evaltool.engines.leakage import PatternEffectAccumulator
    from evaltool.io.bundle import load_bundle

    importlib.import_module("evaltool.checks")
    importlib.import_module("evaltool.checks.monitors")  # registers the monitor kinds
    # Compile (or load from the cache) the pattern kernel before timing.
    warm = PatternEffectAccumulator(3, 2)
    warm.update(np.array([0.5, 0.1, 0.5]), np.array([0, 1, 0]))
    bundle = load_bundle(bundle_dir, check_tables=False)
    rows: list[dict[str, Any]] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for kind, params in CHECKS:
        ctype = get(kind)
        assert ctype.run is not None
        w, c = time.perf_counter(), time.process_time()
        outcome = ctype.run(parse_params(ctype, params), CheckContext(bundle, ST, seed=0))
        rows.append({"kind": kind + (" (by basis)" if params.get("by") == "basis" else ""),
                     "verdict": outcome.verdict.value, "wall_s": time.perf_counter() - w,
                     "cpu_s": time.process_time() - c})
    total_wall = time.perf_counter() - wall0
    total_cpu = time.process_time() - cpu0
    rss_monitors = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    w = time.perf_counter()
    load_bundle(bundle_dir, check_tables=True)
    validate = time.perf_counter() - w
    return {"checks": rows, "wall_s": total_wall, "cpu_s": total_cpu,
            "peak_rss_bytes": rss_monitors, "validation_wall_s": validate,
            "peak_rss_with_validation_bytes":
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pulses", type=int, default=100_000_000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-monitors-"))
    bundle = work / f"bundle-{args.pulses}"
    marker = bundle / "PULSES"
    if not (marker.is_file() and marker.read_text() == str(args.pulses)):
        w = time.perf_counter()
        write_bundle(bundle, args.pulses)
        print(f"wrote {args.pulses:,} pulses in {time.perf_counter() - w:.1f} s "
              f"({(bundle / 'pulses.parquet').stat().st_size / 1e6:.0f} MB Parquet, "
              f"{pq.ParquetFile(bundle / 'detections.parquet').metadata.num_rows:,} detections)")
    proc = subprocess.run([sys.executable, __file__, "--measure", str(bundle)],
                          capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    for row in res["checks"]:
        print(f"  {row['kind']:42s} {row['verdict']:13s} wall {row['wall_s']:7.2f} s  "
              f"cpu {row['cpu_s']:7.2f} s")
    rate = args.pulses / res["wall_s"]
    print(f"all monitors: wall {res['wall_s']:.2f} s, cpu {res['cpu_s']:.2f} s -> "
          f"{rate:.3g} pulses/s wall ({args.pulses / res['cpu_s']:.3g} per cpu second); "
          f"target >= 1e7: {'met' if rate >= 1e7 else 'NOT met'}")
    print(f"peak RSS {res['peak_rss_bytes'] / 2**30:.2f} GiB; target < 2 GB: "
          f"{'met' if res['peak_rss_bytes'] < 2e9 else 'NOT met'}")
    print(f"bundle validation (tables read once more by the loader): wall "
          f"{res['validation_wall_s']:.2f} s, peak RSS with it "
          f"{res['peak_rss_with_validation_bytes'] / 2**30:.2f} GiB")
    if args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
