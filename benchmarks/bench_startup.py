"""Start-up benchmark: whole ``evaltool`` processes against the goals of issue 17, item 8.

Run on demand (not a test)::

    .venv/bin/python benchmarks/bench_startup.py [--runs 9] [--warmup 2] [--base DIR]
        [--out results.json]

Each command runs as a new process (``python -m evaltool ...`` from the repository root); the
figure is the median wall time of ``--runs`` runs after ``--warmup`` runs, so bytecode and the
YAML parse cache are warm, as for a user who runs the tool repeatedly. Bytecode goes to a
temporary ``PYTHONPYCACHEPREFIX`` and the parse cache to a temporary ``EVALTOOL_CACHE_DIR``, so
the working tree and the user's cache are left alone.

Goals (issue 17): ``--version`` and ``--help`` under 0.3 s, ``validate profiles/*.yaml`` under 1 s,
``schema results`` under 0.5 s. For scale the named peer is the interpreter itself:
``python -c pass`` and ``python -c "import click"`` (the floor every click CLI pays).

``--base DIR`` times the same commands on another evaltool source tree (for example
``git archive <commit> | tar -x -C DIR``) in the same run and prints the ratio.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("evaltool --version", ["--version"], 0.3),
    ("evaltool --help", ["--help"], 0.3),
    ("evaltool validate profiles/*.yaml", ["validate", "profiles/*.yaml"], 1.0),
    ("evaltool schema results", ["schema", "results"], 0.5),
    ("evaltool checks --json", ["checks", "--json"], None),
]
"""Label, arguments (globs expanded in the tree) and goal in seconds (None: no goal)."""

PEERS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ('python -c "import click"', ["-c", "import click"]),
]


def _env(tree: Path, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "EVALTOOL_NO_CACHE")}
    env["PYTHONPATH"] = str(tree)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env["EVALTOOL_CACHE_DIR"] = str(scratch / "cache")
    return env


def _argv(tree: Path, args: list[str]) -> list[str]:
    out: list[str] = []
    for a in args:
        matches = sorted(glob.glob(a, root_dir=tree)) if "*" in a else []
        out.extend(matches or [a])
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_process(cmd: list[str], cwd: Path, env: dict[str, str], runs: int,
                 warmup: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) times (s) of ``runs`` executions of ``cmd`` after
    ``warmup`` untimed ones."""
    times, cpus = [], []
    for i in range(warmup + runs):
        c0 = _cpu()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        elapsed = time.perf_counter() - t0
        cpu = _cpu() - c0
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace')[-500:]}")
        if i >= warmup:
            times.append(elapsed)
            cpus.append(cpu)
    return times, cpus


def measure(tree: Path, python: str, runs: int,
            warmup: int) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU times of every command and peer on the evaltool source tree ``tree``."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="evaltool-bench-startup-") as tmp:
        env = _env(tree, Path(tmp))
        for label, args in PEERS:
            out[label] = time_process([python, *args], tree, env, runs, warmup)
        for label, args, _goal in COMMANDS:
            cmd = [python, "-m", "evaltool", *_argv(tree, args)]
            out[label] = time_process(cmd, tree, env, runs, warmup)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--base", type=Path, help="another evaltool source tree to compare with")
    ap.add_argument("--out", type=Path, help="write the times as JSON")
    args = ap.parse_args()

    now = measure(REPO, args.python, args.runs, args.warmup)
    base = measure(args.base.resolve(), args.python, args.runs, args.warmup) if args.base else None
    goals = {label: goal for label, _, goal in COMMANDS}

    print(f"median of {args.runs} warm runs (after {args.warmup}), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("wall: elapsed time; cpu: user + system time of the process (less sensitive to other "
          "load on the machine)")
    head = (f"{'command':36s} {'wall s':>7s} {'min s':>7s} {'cpu s':>7s} {'goal s':>7s}  ok")
    if base:
        head += f"  {'base wall':>9s} {'base cpu':>8s} {'speed-up':>8s}"
    print(head)
    failed = False
    for label, (times, cpus) in now.items():
        med = statistics.median(times)
        goal = goals.get(label)
        ok = "" if goal is None else ("yes" if med < goal else "NO")
        failed |= ok == "NO"
        line = (f"{label:36s} {med:7.3f} {min(times):7.3f} {statistics.median(cpus):7.3f} "
                f"{'' if goal is None else f'{goal:.1f}':>7s}  {ok:3s}")
        if base:
            bmed = statistics.median(base[label][0])
            line += (f"  {bmed:9.3f} {statistics.median(base[label][1]):8.3f} "
                     f"{bmed / med:7.1f}x")
        print(line)
    if args.out:
        args.out.write_text(json.dumps({"runs": args.runs, "warmup": args.warmup, "now": now,
                                        "base": base}, indent=2))
    if failed:
        print("at least one goal missed (on a loaded machine, rerun before concluding)")


if __name__ == "__main__":
    main()
