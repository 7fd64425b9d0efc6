"""Benchmark: the ``evaltool rng`` batteries as a user runs them, against the C/C++ tools.

Whole processes with default options, start-up included: ``python -m evaltool rng sp800-90b FILE
--bits-per-sample B --non-iid --json`` on 10^6 8-bit and 10^6 1-bit samples, and ``python -m
evaltool rng sp800-22 FILE -n 1000000 -m 100 --json`` on 100 x 10^6 bits (SHAKE-256 output, the
inputs of ``/work/shared/tools/whole-process-times``). Each figure is the median wall time (and
CPU time, user + system of the process and its workers, less sensitive to other load) of
``--runs`` runs after one warm-up run that loads the numba cache.

Peers, run in the same session when given:

- ``--ea-dir DIR``: ``ea_non_iid`` of NIST SP800-90B_EntropyAssessment (built outside this
  repository), run as ``ea_non_iid -v FILE B`` on the same files.
- ``--sts-cmd 'CMD {file}'``: a command line of an SP 800-22 tool (e.g. arcetri/sts) reading the
  100 x 10^6-bit file.
- ``--base DIR``: another evaltool source tree (e.g. ``git archive <commit> | tar -x -C DIR``),
  timed in the same loop, alternating with this one, to give a before/after ratio.

Without a peer the C figures recorded on a quiet 2-core machine of the project's kind are used and
labelled as recorded: ea_non_iid 1.1.7 17.6 s (8-bit) and 0.95 s (1-bit), arcetri/sts v3.2.7
52 s on 2 threads. Goals: 5x the SP 800-90B tool, 10x the SP 800-22 tool.

Issue 16, item 4. Run on demand (not a test)::

    .venv/bin/python benchmarks/bench_rng_commands.py [--runs 5] [--base DIR] [--ea-dir DIR]
        [--sts-cmd '...'] [--only 90b-8,90b-1,22]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RECORDED = {"90b-8": 17.6, "90b-1": 0.95, "22": 52.0}
"""Seconds of the C/C++ tools on a quiet 2-core machine (ea_non_iid 1.1.7, arcetri/sts 3.2.7)."""
GOAL_FACTOR = {"90b-8": 5.0, "90b-1": 5.0, "22": 10.0}


def write_inputs(work: Path) -> dict[str, Path]:
    """The three input files (deterministic SHAKE-256 output)."""
    a8 = work / "a8.bin"
    a8.write_bytes(hashlib.shake_256(b"wpt-8").digest(1_000_000))
    packed = hashlib.shake_256(b"wpt-1").digest(125_000)
    a1 = work / "a1.bin"
    a1.write_bytes(bytes((packed[i // 8] >> (7 - i % 8)) & 1 for i in range(1_000_000)))
    s100 = work / "s100.bin"
    s100.write_bytes(hashlib.shake_256(b"wpt-22").digest(100 * 125_000))
    return {"90b-8": a8, "90b-1": a1, "22": s100}


def evaltool_args(key: str, path: Path) -> list[str]:
    """The command line a user types for benchmark ``key``."""
    if key == "22":
        return ["rng", "sp800-22", str(path), "-n", "1000000", "-m", "100", "--json"]
    bits = "8" if key == "90b-8" else "1"
    return ["rng", "sp800-90b", str(path), "--bits-per-sample", bits, "--non-iid", "--json"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(cmd: list[str], env: dict[str, str] | None = None,
             cwd: Path | None = None) -> tuple[float, float]:
    """Wall and CPU time of one process (exit codes 0, 1 and 3 are verdicts, not errors)."""
    c0 = _cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace')[-400:]}")
    return wall, _cpu() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--base", type=Path, help="another evaltool source tree, timed alongside")
    ap.add_argument("--ea-dir", type=Path, help="directory holding NIST's ea_non_iid")
    ap.add_argument("--sts-cmd", help="SP 800-22 tool command line, {file} for the input")
    ap.add_argument("--only", default="90b-8,90b-1,22", help="comma-separated subset")
    args = ap.parse_args()
    keys = [k for k in args.only.split(",") if k]

    trees = {"now": REPO}
    if args.base:
        trees["base"] = args.base.resolve()
    with tempfile.TemporaryDirectory(prefix="evaltool-bench-rng-") as tmp:
        files = write_inputs(Path(tmp))
        # (argv, environment, working directory): `python -m` puts the working directory first
        # on sys.path, so each tree runs from its own root
        cmds: dict[tuple[str, str], tuple[list[str], dict[str, str] | None, Path | None]] = {}
        for key in keys:
            for name, tree in trees.items():
                env = dict(os.environ, PYTHONPATH=str(tree))
                cmds[(key, name)] = ([args.python, "-m", "evaltool",
                                      *evaltool_args(key, files[key])], env, tree)
            if args.ea_dir and key.startswith("90b"):
                bits = "8" if key == "90b-8" else "1"
                cmds[(key, "C")] = ([str(args.ea_dir / "ea_non_iid"), "-v", str(files[key]),
                                     bits], None, None)
            if args.sts_cmd and key == "22":
                cmds[(key, "C")] = (shlex.split(args.sts_cmd.format(file=files[key])), None,
                                    None)
        times: dict[tuple[str, str], list[tuple[float, float]]] = {k: [] for k in cmds}
        load0 = os.getloadavg()
        for key in keys:  # one warm-up each (numba cache, page cache), then alternate
            for k in cmds:
                if k[0] == key:
                    run_once(*cmds[k])
            for _ in range(args.runs):
                for k in cmds:
                    if k[0] == key:
                        times[k].append(run_once(*cmds[k]))
        load1 = os.getloadavg()

    print(f"median of {args.runs} runs after one warm-up; {os.cpu_count()} CPUs; load average "
          f"{load0[0]:.2f} before, {load1[0]:.2f} after")
    head = (f"{'command':28s} {'wall s':>7s} {'cpu s':>7s} {'C tool s':>9s} {'vs C':>6s} "
            f"{'goal s':>7s}")
    if args.base:
        head += f" {'base s':>7s} {'base cpu':>8s} {'speed-up':>8s}"
    print(head)
    for key in keys:
        wall = statistics.median(w for w, _ in times[(key, "now")])
        cpu = statistics.median(c for _, c in times[(key, "now")])
        if (key, "C") in times:
            c_tool = statistics.median(w for w, _ in times[(key, "C")])
            c_label = f"{c_tool:9.2f}"
        else:
            c_tool = RECORDED[key]
            c_label = f"{c_tool:8.2f}r"
        goal = RECORDED[key] / GOAL_FACTOR[key]
        line = (f"{key:28s} {wall:7.2f} {cpu:7.2f} {c_label} {c_tool / wall:5.2f}x "
                f"{goal:7.2f}")
        if args.base:
            b = statistics.median(w for w, _ in times[(key, "base")])
            b_cpu = statistics.median(c for _, c in times[(key, "base")])
            line += f" {b:7.2f} {b_cpu:8.2f} {b / wall:7.2f}x"
        print(line)
    print("r: recorded figure of the C tool on a quiet machine (not measured in this run)")


if __name__ == "__main__":
    main()
