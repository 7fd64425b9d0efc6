"""Benchmark: evaltool's SP 800-90B assessment against the NIST C++ tool on the same input.

Usage::

    python benchmarks/bench_sp800_90b.py --tool-dir DIR [--source uniform-8bit] [--iid]

``DIR`` holds ``ea_non_iid`` / ``ea_iid`` built from usnistgov/SP800-90B_EntropyAssessment
(outside this repository). Both are timed in this run, on the same 1,000,000-sample input
(``test_vectors/sp800_90b/sources.py``), as whole-process wall time for the tool and wall time of
the call (after one warm-up call that compiles the numba kernels) for evaltool. The estimates of
both are compared, then the ratio is printed. This isolates the engine; the figure a user sees
(``evaltool rng sp800-90b`` as a whole process, start-up included) is measured by
``bench_rng_commands.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evaltool.engines.stats.sp800_90b import assess_iid, assess_non_iid  # noqa: E402


def _sources():  # type: ignore[no-untyped-def]
    path = REPO / "test_vectors" / "sp800_90b" / "sources.py"
    spec = importlib.util.spec_from_file_location("sp800_90b_sources_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tool(cmd: list[str], cwd: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool-dir", required=True, type=Path)
    ap.add_argument("--source", default="uniform-8bit")
    ap.add_argument("--iid", action="store_true", help="benchmark the IID track as well")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    gen, bits = _sources().SOURCES[args.source]
    data = gen(1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.bin"
        path.write_bytes(data.tobytes())

        warm = gen(200_000)
        assess_non_iid(warm, bits, min_samples=0, workers=args.workers)
        t0 = time.perf_counter()
        ours = assess_non_iid(data, bits, workers=args.workers)
        t_ours = time.perf_counter() - t0
        t_tool, out = _tool([str(args.tool_dir / "ea_non_iid"), "-v", path.name, str(bits)], tmp)
        ref = re.findall(r"^H_original: ([0-9.]+)", out, re.MULTILINE)
        print(f"source {args.source}, {data.size} samples of {bits} bits")
        print(f"non-IID  ea_non_iid {t_tool:8.2f} s   evaltool {t_ours:8.2f} s   "
              f"ratio {t_tool / t_ours:5.2f}x")
        print(f"         H_original tool {ref[0] if ref else '?'}   evaltool "
              f"{ours.h_original:.6f}")

        if args.iid:
            assess_iid(warm, bits, min_samples=0, n_permutations=20)
            t0 = time.perf_counter()
            res = assess_iid(data, bits)
            t_ours = time.perf_counter() - t0
            t_tool, out = _tool([str(args.tool_dir / "ea_iid"), "-v", path.name, str(bits)], tmp)
            verdict = "Passed" if "Passed IID permutation tests" in out else "Failed"
            print(f"IID      ea_iid     {t_tool:8.2f} s   evaltool {t_ours:8.2f} s   "
                  f"ratio {t_tool / t_ours:5.2f}x")
            print(f"         permutation tests tool {verdict}   evaltool "
                  f"{'Passed' if res.permutation.passed else 'Failed'} "
                  f"({res.permutation.permutations_run} permutations)")


if __name__ == "__main__":
    main()
