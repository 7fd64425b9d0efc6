"""``evaltool import tagger`` benchmark: a PTU capture of 10^8 clicks into a bundle, against the
chosen reader's own read speed on the same file in the same run.

Run on demand (not a test)::

    nice -n 10 .venv/bin/python benchmarks/bench_tagger.py [--clicks 1e8] [--record-type GenericT2]
        [--peers] [--dir DIR] [--runs 1]

Writes a MultiHarp (``GenericT2``) or HydraHarp V2 T3 PTU file of ``--clicks`` clicks on four
channels (5 ps resolution, about 5 million clicks per second of capture, so an overflow record
every ~840 clicks, and a marker every 10^4 clicks) with the test-side encoder
(``tests/importers/ptu_encoder.py``), then times, each in a fresh process:

1. ptufile alone: the records memory-mapped and decoded in chunks of 2^20 (what the importer asks
   of it), photons counted;
2. ``evaltool import tagger FILE --format ptu --channels MAP --out BUNDLE --slot detections``,
   the whole command as a user runs it (start-up, SHA-256 of the source, Parquet written, the
   manifest updated);
3. with ``--peers``: tttrlib reading the same file (it holds the whole file in memory).

Each line gives wall and CPU seconds, clicks per second of wall time and the process's peak RSS
(``ru_maxrss``). Goal (issue 22): >= 20 million clicks/s on 2 cores, under 1 GB RSS.

Measured (2026-12-07, the machine shared with six other sessions, load average 4-8; provisional,
to be repeated on a quiet machine) are in ``benchmarks/README.md`` ("import tagger").
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUNDLE = """\
schema_version: 1
toe:
  vendor: Bench
  product: B
  transmitter: {serial: T, hardware_version: a, firmware_version: a}
  receiver: {serial: R, hardware_version: a, firmware_version: a}
claims:
  protocol: bb84-decoy-3
  intensities: [0.5, 0.1]
  probabilities: [0.5, 0.5]
  eps_sec: 1.0e-09
  eps_cor: 1.0e-15
  block_size: 1000
  qber_abort_threshold: 0.05
capture: {start: 2026-12-07T00:00:00Z, end: 2026-12-07T01:00:00Z, lab: bench}
evidence: []
"""
CHANNELS = """\
schema_version: 1
channels:
  0: {detector: 0, basis: 0, bit: 0}
  1: {detector: 1, basis: 0, bit: 1}
  2: {detector: 2, basis: 1, bit: 0}
  3: {detector: 3, basis: 1, bit: 1}
"""

_CHILD_PTUFILE = """
import sys, time, resource, numpy as np, ptufile
t0, c0 = time.perf_counter(), time.process_time()
p = ptufile.PtuFile(sys.argv[1]); r = p.read_records(memmap=True); n = 0
for s in range(0, r.size, 1 << 20):
    d = p.decode_records(np.array(r[s:s + (1 << 20)]))
    n += int(np.count_nonzero(d['channel'] >= 0))
print(n, time.perf_counter() - t0, time.process_time() - c0,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
_CHILD_TTTRLIB = """
import sys, time, resource, numpy as np, tttrlib
t0, c0 = time.perf_counter(), time.process_time()
t = tttrlib.TTTR(sys.argv[1], 'PTU'); n = int(np.count_nonzero(np.asarray(t.event_types) == 0))
print(n, time.perf_counter() - t0, time.process_time() - c0,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
_CHILD_WRITE = """
import sys
from benchmarks.bench_tagger import write_capture
from pathlib import Path
print(write_capture(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]), 0, 0, 0)
"""
_CHILD_IMPORT = """
import sys, time, resource
t0, c0 = time.perf_counter(), time.process_time()
from evaltool.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(code, time.perf_counter() - t0, time.process_time() - c0,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def write_capture(path: Path, clicks: int, record_type: str) -> int:
    """A PTU file of ``clicks`` clicks; returns the number of records."""
    import numpy as np

    from tests.importers.ptu_encoder import Encoder, header

    t3 = record_type.endswith("T3")
    rng = np.random.default_rng(20261207)
    enc = Encoder(t3)
    resolution = 5e-12
    global_res = 1.25e-8 if t3 else resolution
    total, last, done = 0, 0, 0
    with path.open("wb") as f:
        f.write(header(record_type, 0, global_res, resolution))
        while done < clicks:
            m = min(1 << 22, clicks - done)
            gaps = rng.geometric(1 / (16 if t3 else 40_000), m).astype(np.uint64)
            time_ = last + np.cumsum(gaps)
            last = int(time_[-1])
            channel = rng.integers(0, 4, m)
            channel[::10_000] = -1
            records = enc.encode(time_, channel, np.where(channel < 0, 1, 0),
                                 rng.integers(0, 2400, m))
            f.write(records.astype("<u4").tobytes())
            total += records.size
            done += m
        f.seek(0)
        f.write(header(record_type, total, global_res, resolution))
    return total


def _child(code: str, *args: str) -> tuple[str, float, float, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    first, wall, cpu, rss = out.stdout.strip().splitlines()[-1].split()
    return first, float(wall), float(cpu), float(rss)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=float, default=1e8)
    ap.add_argument("--record-type", default="GenericT2",
                    choices=["GenericT2", "HydraHarp2T2", "GenericT3", "HydraHarp2T3"])
    ap.add_argument("--peers", action="store_true", help="also time tttrlib on the same file")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary "
                    "one, removed afterwards)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    a = ap.parse_args()
    clicks = int(a.clicks)
    work = a.dir or Path(tempfile.mkdtemp(prefix="bench-tagger-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = work / f"capture-{a.record_type}-{clicks}.ptu"
        t0 = time.perf_counter()
        # In a child, so this process stays small: Linux keeps a process's peak RSS across
        # exec, and every timed child starts from this one.
        records = int(_child(_CHILD_WRITE, str(src), str(clicks), a.record_type)[0])
        print(f"wrote {src.name}: {clicks} clicks, {records} records, "
              f"{src.stat().st_size / 2**20:.0f} MB in {time.perf_counter() - t0:.1f} s")
        (work / "channels.yaml").write_text(CHANNELS)
        figures: dict[str, list[dict[str, float]]] = {}
        for _ in range(a.runs):
            runs = [("ptufile read", _CHILD_PTUFILE, [str(src)])]
            if a.peers:
                runs.append(("tttrlib read", _CHILD_TTTRLIB, [str(src)]))
            bundle = work / "bundle"
            shutil.rmtree(bundle, ignore_errors=True)
            bundle.mkdir()
            (bundle / "bundle.yaml").write_text(BUNDLE)
            runs.append(("evaltool import tagger", _CHILD_IMPORT,
                         ["-q", "import", "tagger", str(src), "--format", "ptu", "--channels",
                          str(work / "channels.yaml"), "--out", str(bundle), "--slot",
                          "detections"]))
            for name, code, args in runs:
                first, wall, cpu, rss = _child(code, *args)
                if name.startswith("evaltool") and first != "0":
                    raise SystemExit(f"import failed with exit {first}")
                rate = clicks / wall / 1e6
                figures.setdefault(name, []).append(
                    {"wall_s": wall, "cpu_s": cpu, "rss_mb": rss, "mclicks_per_s": rate})
                print(f"{name:24} wall {wall:6.2f} s  cpu {cpu:6.2f} s  {rate:6.1f} M clicks/s"
                      f"  peak RSS {rss:6.0f} MB")
        imp = min(f["wall_s"] for f in figures["evaltool import tagger"])
        own = min(f["wall_s"] for f in figures["ptufile read"])
        print(f"import / ptufile read time: {imp / own:.2f} (best of {a.runs}); goal >= 20 M "
              f"clicks/s: {'met' if clicks / imp >= 20e6 else 'not met'} on this machine")
        if a.json:
            a.json.write_text(json.dumps({"clicks": clicks, "record_type": a.record_type,
                                          "figures": figures}, indent=2))
    finally:
        if a.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
