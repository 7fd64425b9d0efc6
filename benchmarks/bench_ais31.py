"""Benchmark: AIS 20/31 test procedures A and B on their standard inputs, in process.

Issue 16's target: procedure A on its standard input (8,285,728 bits, 1286 basic tests) in under
0.5 s. The input is SHAKE-256 output from a fixed seed (ideal bits: one attempt, no repetition);
each procedure runs once to warm up (imports, FFT plans), then ``--repeat`` times; the table gives
the median and the fastest run; "cold" is each row's first call (after the procedures' own first
calls, which are printed separately). Also timed: each basic
test of procedure A on the 257 sequences, to show where the time goes. The whole-process figure
(``evaltool rng ais31 FILE``) is for when the command exists.

Run on demand (it is not a test)::

    nice -n 10 python benchmarks/bench_ais31.py [--repeat 7]

Measured on the shared 2-core development machine, 2026-12-07, load average 1.9 (other jobs
running), 9 repeats: procedure A median 0.245 s (best 0.228 s; first call in the process 0.90 s,
import of the package with numpy and scipy.fft 0.43 s), procedure B median 0.070 s; of procedure
A, T5 takes 0.14 s, T3+T4 0.07 s, T2 0.02 s, T0 0.02 s. Under a load average of 3.4 the median
of procedure A was 0.49 s.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable

import numpy as np


def shake_bits(n: int, seed: bytes) -> np.ndarray:
    raw = hashlib.shake_256(seed).digest((n + 7) // 8)
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:n]


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(cold, median, fastest) seconds."""
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return cold, statistics.median(runs), min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from evaltool.engines.stats import ais31
    from evaltool.engines.stats.ais31 import basic

    import_s = time.perf_counter() - t0

    a_bits = shake_bits(ais31.PROCEDURE_A_BITS, b"evaltool ais31 A")
    b_bits = shake_bits(ais31.PROCEDURE_B_MIN_BITS + 200_000, b"evaltool ais31 B")
    seqs = a_bits[basic.T0_BITS :].reshape(ais31.SEQUENCES, basic.SEQUENCE_BITS)

    t0 = time.perf_counter()
    res_a = ais31.procedure_a(a_bits)
    first_a = time.perf_counter() - t0
    t0 = time.perf_counter()
    res_b = ais31.procedure_b(b_bits)
    first_b = time.perf_counter() - t0
    rows: list[tuple[str, int, tuple[float, float, float], str]] = [
        (
            "procedure A",
            ais31.PROCEDURE_A_BITS,
            timed(lambda: ais31.procedure_a(a_bits), args.repeat),
            res_a.outcome,
        ),
        (
            "procedure B",
            res_b.bits_used,
            timed(lambda: ais31.procedure_b(b_bits), args.repeat),
            res_b.outcome,
        ),
        (
            "  T0 disjointness",
            basic.T0_BITS,
            timed(lambda: ais31.disjointness(a_bits), args.repeat),
            "",
        ),
        ("  T1 monobit x257", seqs.size, timed(lambda: ais31.monobit(seqs), args.repeat), ""),
        ("  T2 poker x257", seqs.size, timed(lambda: ais31.poker(seqs), args.repeat), ""),
        (
            "  T3+T4 runs x257",
            seqs.size,
            timed(lambda: ais31.runs_and_long_run(seqs), args.repeat),
            "",
        ),
        (
            "  T5 autocorrelation x257",
            seqs.size,
            timed(lambda: ais31.autocorrelation(seqs), args.repeat),
            "",
        ),
    ]
    print(f"import evaltool.engines.stats.ais31: {import_s:.3f} s")
    print(f"first call in the process: procedure A {first_a:.3f} s, procedure B {first_b:.3f} s")
    print(f"{'what':<28}{'bits':>11}{'cold s':>9}{'median s':>10}{'best s':>9}  outcome")
    for name, bits, (cold, med, best), outcome in rows:
        print(f"{name:<28}{bits:>11}{cold:>9.3f}{med:>10.3f}{best:>9.3f}  {outcome}")
    med_a = rows[0][2][1]
    print(
        f"procedure A goal < 0.5 s in process: {'met' if med_a < 0.5 else 'NOT met'}",
        f"({med_a:.3f} s)",
    )


if __name__ == "__main__":
    main()
