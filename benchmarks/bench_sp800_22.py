"""Benchmark: the SP 800-22 battery against the NIST C reference (sts-2.1.2) and ``nistrng``.

Issue 4's performance targets: all 15 tests on 100 sequences × 10^6 bits at least 10× faster than
the NIST C reference and at least 100× faster than the ``nistrng`` PyPI package, with identical
p-values; 10^9 bits streamed in under 1 GB RSS.

- evaltool runs as a whole process (``python -m evaltool rng sp800-22 FILE --json``), like the C
  reference, on a binary file of SHAKE-256 output written to ``--workdir``.
- The C reference is built by this script from an sts-2.1.2 source tree given with ``--sts-src``
  (the ``src/``, ``include/`` and ``templates/`` folders of NIST's sts-2_1_2.zip), with
  ``--sts-cflags`` (default ``-O2``), into ``--workdir``; it reads the same file. Its p-values
  (6 decimals, as it prints them) are compared with evaltool's.
- ``nistrng`` is installed by this script into its own virtual environment under ``--workdir``
  and run on ``--nistrng-sequences`` of the sequences (it needs over a minute per sequence); its
  time is scaled to the full input and marked as such.
- ``--memory-bits`` additionally streams a file of that many bits through the CLI and reports the
  peak resident set size of that process.

Run on demand (it is not a test)::

    nice -n 10 python benchmarks/bench_sp800_22.py --sts-src /path/to/sts-2.1.2 \
        [--sequences 100] [--bits 1000000] [--jobs 2] [--workdir DIR] [--memory-bits 1e9]

evaltool runs first with its default options (every usable core for inputs of 32 Mbit or more,
issue 16 item 4), then with ``--jobs 1`` and ``--jobs N``; the three reports must be equal. For
the other batteries as users run them, side by side with the C tools, see
``bench_rng_commands.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

STS_NAMES = {
    "frequency": "Frequency",
    "block-frequency": "BlockFrequency",
    "cumulative-sums": "CumulativeSums",
    "runs": "Runs",
    "longest-run": "LongestRun",
    "rank": "Rank",
    "dft": "FFT",
    "non-overlapping-template": "NonOverlappingTemplate",
    "overlapping-template": "OverlappingTemplate",
    "universal": "Universal",
    "approximate-entropy": "ApproximateEntropy",
    "random-excursions": "RandomExcursions",
    "random-excursions-variant": "RandomExcursionsVariant",
    "serial": "Serial",
    "linear-complexity": "LinearComplexity",
}
COLUMNS = {
    "cumulative-sums": 2,
    "non-overlapping-template": 148,
    "random-excursions": 8,
    "random-excursions-variant": 18,
    "serial": 2,
}

_NISTRNG = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from nistrng import SP800_22R1A_BATTERY, check_eligibility_all_battery, run_all_battery
    raw = np.fromfile(sys.argv[1], dtype=np.uint8)
    n, k = int(sys.argv[2]), int(sys.argv[3])
    bits = np.unpackbits(raw)[: n * k].reshape(k, n).astype(np.int8)
    out = []
    start, cpu = time.perf_counter(), time.process_time()
    for row in bits:
        eligible = check_eligibility_all_battery(row, SP800_22R1A_BATTERY)
        results = run_all_battery(row, eligible, False)
        out.append({r.name: float(r.score) for r, _ in results})
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                      "scores": out,
                      "tests": len(out[0]) if out else 0}))
    """
)


def shake_file(path: Path, nbits: int, seed: bytes) -> None:
    """Write ``nbits`` of SHAKE-256 output (a cryptographic generator) to ``path``.

    Counter mode over 16 MiB blocks (SHAKE-256 of seed ‖ offset) keeps memory bounded.
    """
    nbytes = nbits // 8
    block = 1 << 24
    with path.open("wb") as fh:
        for start in range(0, nbytes, block):
            xof = hashlib.shake_256(seed + start.to_bytes(8, "big"))
            fh.write(xof.digest(min(block, nbytes - start)))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_evaltool(path: Path, n: int, m: int, jobs: int | None) -> tuple[float, float, dict]:
    """Whole-process wall time, CPU time (all its processes) and JSON report (``jobs=None``:
    the default, every usable core)."""
    cpu0 = _child_cpu()
    cmd = [
        sys.executable,
        "-m",
        "evaltool",
        "rng",
        "sp800-22",
        str(path),
        "-n",
        str(n),
        "-m",
        str(m),
        *([] if jobs is None else ["--jobs", str(jobs)]),
        "--json",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"evaltool failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall, _child_cpu() - cpu0, json.loads(proc.stdout)


def build_sts(src: Path, work: Path, cflags: str) -> Path:
    sts = work / "sts"
    if sts.exists():
        shutil.rmtree(sts)
    sts.mkdir(parents=True)
    shutil.copytree(src / "templates", sts / "templates")
    sources = sorted(str(p) for p in (src / "src").glob("*.c"))
    cmd = ["gcc", *cflags.split(), "-w", "-o", str(sts / "assess"), *sources, "-lm"]
    subprocess.run(cmd, check=True)
    for name in STS_NAMES.values():
        (sts / "experiments" / "AlgorithmTesting" / name).mkdir(parents=True, exist_ok=True)
    return sts


def run_sts(sts: Path, path: Path, n: int, m: int) -> tuple[float, float, dict[str, np.ndarray]]:
    answers = f"0\n{path}\n1\n0\n{m}\n1\n"
    cpu0 = _child_cpu()
    start = time.perf_counter()
    subprocess.run(
        ["./assess", str(n)],
        cwd=sts,
        input=answers.encode(),
        stdout=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    cpu = _child_cpu() - cpu0
    out = {}
    for name, folder in STS_NAMES.items():
        text = (sts / "experiments" / "AlgorithmTesting" / folder / "results.txt").read_text()
        vals = np.array([float(v) for v in text.split()])
        out[name] = vals.reshape(-1, COLUMNS.get(name, 1))
    return wall, cpu, out


def compare(ours: dict, sts: dict[str, np.ndarray]) -> tuple[int, int, float]:
    """Values equal at the reference's 6 printed decimals, values compared, largest |Δp|."""
    same = total = 0
    worst = 0.0
    for name, ref in sts.items():
        if name not in ours["tests"]:
            continue
        got = np.array(
            [[0.0 if v is None else v for v in row] for row in ours["tests"][name]["pvalues"]]
        )
        if got.shape != ref.shape:
            print(f"  {name}: shapes differ {got.shape} vs {ref.shape}, not compared")
            continue
        diff = np.abs(np.round(got, 6) - ref)
        same += int(np.count_nonzero(diff < 5e-7))
        total += diff.size
        worst = max(worst, float(np.max(np.abs(got - ref))))
    return same, total, worst


def run_nistrng(work: Path, path: Path, n: int, k: int) -> dict[str, Any]:
    venv = work / "nistrng-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "nistrng"], check=True)
    script = work / "run_nistrng.py"
    script.write_text(_NISTRNG)
    proc = subprocess.run(
        [str(py), str(script), str(path), str(n), str(k)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=100)
    ap.add_argument("--bits", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=2, help="evaltool worker processes")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--sts-src", type=Path, default=None, help="sts-2.1.2 source tree")
    ap.add_argument("--sts-cflags", default="-O2")
    ap.add_argument("--nistrng-sequences", type=int, default=1)
    ap.add_argument("--skip-nistrng", action="store_true")
    ap.add_argument("--memory-bits", type=float, default=0.0)
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_sp800_22_"))
    work.mkdir(parents=True, exist_ok=True)
    n, m = args.bits, args.sequences
    data = work / f"shake_{m}x{n}.bin"
    if not data.exists():
        shake_file(data, n * m, b"evaltool bench sp800-22")
    print(f"input: {m} sequences × {n} bits of SHAKE-256 in {data}")

    warm = work / "warm.bin"
    shake_file(warm, 2 * 10**6, b"warm-up")
    run_evaltool(warm, 10**6, 2, 1)  # numba compilation cache

    walls = {}
    cpu1 = 0.0
    wall, cpu, ours = run_evaltool(data, n, m, None)
    walls[0] = wall
    print(f"evaltool, default options (as a user types it): {wall:.1f} s wall, {cpu:.1f} s CPU")
    for jobs in sorted({1, args.jobs}):
        wall, cpu, ours_j = run_evaltool(data, n, m, jobs)
        if ours_j != ours:
            raise SystemExit(f"--jobs {jobs} changed the report")
        walls[jobs] = wall
        if jobs == 1:
            cpu1 = cpu
        print(f"evaltool, {jobs} process(es): {wall:.1f} s wall, {cpu:.1f} s CPU")
    best = min(walls.values())

    if args.sts_src is not None:
        sts = build_sts(args.sts_src.resolve(), work, args.sts_cflags)
        c_wall, c_cpu, c_vals = run_sts(sts, data.resolve(), n, m)
        same, total, worst = compare(ours, c_vals)
        print(
            f"NIST sts-2.1.2 ({args.sts_cflags}): {c_wall:.1f} s wall, {c_cpu:.1f} s CPU → "
            f"wall ratio {c_wall / best:.1f}× (best evaltool run), CPU ratio {c_cpu / cpu1:.1f}× "
            "(single process each)"
        )
        print(
            f"  p-values equal at the reference's 6 decimals: {same}/{total}, "
            f"max |Δp| {worst:.2g} (the reference prints 6 decimals)"
        )
    else:
        print("NIST sts-2.1.2: skipped (give --sts-src)")

    if not args.skip_nistrng:
        k = args.nistrng_sequences
        res = run_nistrng(work, data.resolve(), n, k)
        scaled = res["seconds"] / k * m
        scaled_cpu = res["cpu"] / k * m
        print(
            f"nistrng: {res['seconds']:.1f} s wall, {res['cpu']:.1f} s CPU on {k} sequence(s), "
            f"{res['tests']} eligible tests; scaled to {m} sequences: wall ratio "
            f"{scaled / best:.0f}×, CPU ratio {scaled_cpu / cpu1:.0f}× (extrapolated)"
        )

    if args.memory_bits:
        nbits = int(args.memory_bits)
        big = work / "memory.bin"
        if not big.exists() or big.stat().st_size * 8 < nbits:
            shake_file(big, nbits, b"evaltool memory")
        cmd = [
            sys.executable,
            "-m",
            "evaltool",
            "rng",
            "sp800-22",
            str(big),
            "-n",
            str(n),
            "--json",
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, _, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        print(
            f"streaming {nbits:.3g} bits, all tests: {wall:.0f} s, peak RSS "
            f"{usage.ru_maxrss / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
