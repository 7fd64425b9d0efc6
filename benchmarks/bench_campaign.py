"""Campaign benchmark: a 4-bundle campaign with 2 local Dask workers against the serial executor,
and the Dask overhead on a 1-bundle campaign.

Run on demand (not a test; needs the ``[dask]`` extra)::

    nice -n 10 .venv/bin/python benchmarks/bench_campaign.py [--bundles 4] [--workers 2]
        [--formats json,junit,html] [--out results.json]

Every run is ``evaltool campaign`` in a fresh process (start-up, cluster start and imports in the
workers included), on copies of the honest scenario (``test_vectors/scenarios/honest``) audited
with the shipped profile, its security target and the demo evaluation input, as ``make demo``
does. Goals (issue 18): 4 bundles on 2 workers at >= 1.7x the serial speed on a 2-core machine;
a 1-bundle campaign on ``local:1`` within 10 % of the serial one. Per-bundle result sets are
compared between the runs (``SOURCE_DATE_EPOCH`` fixed; the command line recorded in
provenance names each run's own output folder, so that field is left out of the comparison).

Recorded results are in the "Measured" list at the end of this file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HONEST = REPO / "test_vectors" / "scenarios" / "honest"
PROFILE = REPO / "profiles" / "etsi-gs-qkd-016.yaml"
EVALUATION = REPO / "test_vectors" / "demo" / "evaluation.yaml"


def _campaign(root: Path, labels: list[str], formats: str) -> Path:
    path = root / f"campaign-{len(labels)}.yaml"
    lines = ["schema_version: 1", f"profile: {PROFILE}", f"st: {HONEST / 'st.yaml'}",
             f"evaluation: {EVALUATION}", "seed: 1", f"formats: [{formats}]", "bundles:"]
    lines += [f"  - {{label: {x}, path: {root / 'caps' / x}}}" for x in labels]
    path.write_text("\n".join(lines) + "\n")
    return path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(campaign: Path, out: Path, scheduler: str | None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (the campaign process and its workers) and the mean load
    average over the run."""
    cmd = [sys.executable, "-m", "evaltool", "campaign", str(campaign), "--out", str(out),
           "--quiet"]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1767225600"}
    load0, cpu0, start = os.getloadavg()[0], _cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu0
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"campaign failed ({proc.returncode}): {proc.stderr}")
    return seconds, cpu, (load0 + os.getloadavg()[0]) / 2


def _results(out: Path) -> dict[str, dict[str, object]]:
    found = {}
    for p in sorted((out / "bundles").glob("*/results.json")):
        data = json.loads(p.read_text())
        data["provenance"].pop("command_line")
        found[p.parent.name] = data
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundles", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--formats", default="json,junit,html")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        root = Path(tmp)
        labels = [f"b{i}" for i in range(args.bundles)]
        for x in labels:
            shutil.copytree(HONEST, root / "caps" / x)
        many = _campaign(root, labels, args.formats)
        one = _campaign(root, labels[:1], args.formats)
        runs = {"serial_many": (many, None), "dask_many": (many, f"local:{args.workers}"),
                "serial_one": (one, None), "dask_one": (one, "local:1")}
        for name, (campaign, scheduler) in runs.items():
            wall, cpu, load = _run(campaign, root / name, scheduler)
            figures[f"{name}_s"], figures[f"{name}_cpu_s"], figures[f"{name}_load"] = (
                wall, cpu, load)
            print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, load {load:.1f}", file=sys.stderr)
        if _results(root / "serial_many") != _results(root / "dask_many"):
            raise SystemExit("per-bundle results differ between the serial and the Dask run")
    figures["speed_up"] = figures["serial_many_s"] / figures["dask_many_s"]
    figures["overhead_one"] = figures["dask_one_s"] / figures["serial_one_s"] - 1
    text = json.dumps({"bundles": args.bundles, "workers": args.workers, **figures}, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

# Measured (2026-12-07, PROVISIONAL: 2 cores shared with 6 other sessions, load average 9.5-11.7;
# to be re-measured on a quiet machine), default options:
# - 4 bundles: serial 228.0 s wall / 51.5 s CPU; local:2 209.8 s wall / 76.6 s CPU (1.09x);
# - 1 bundle: serial 110.3 s wall / 15.9 s CPU; local:1 51.3 s wall / 19.0 s CPU.
#
# Measured 2026-12-08 00:41 UTC on a quiet machine (load average 1.6-2.4 from the runs
# themselves), default options, two runs:
# - 4 bundles: serial 32.3 / 32.3 s wall (47.7 s CPU); local:2 33.0 / 32.4 s wall (61 s CPU):
#   1.0x, goal 1.7x NOT met;
# - 1 bundle: serial 11.2 / 11.8 s wall (15.5 s CPU); local:1 15.0 / 15.4 s wall (20 s CPU):
#   overhead 31-34 %, goal 10 % NOT met.
# Why: the serial audit already keeps 1.5 of the 2 cores busy (its batteries use the machine's
# cores by default: 47.7 s CPU in 32.3 s), so two bundles side by side have little idle core to
# fill, and each worker process pays its own start-up (imports, numba kernels: about 3-4 s of
# CPU, the 13 s more CPU of the Dask run). The speed-up goal needs bundles whose audit is
# single-threaded (or workers that tell the batteries to use one thread each) and machines with
# more cores than one audit uses; the overhead goal needs bundles of a minute or more.
# The wall times follow the other sessions' load, not evaltool; see docs/campaigns.md, "Scaling".
