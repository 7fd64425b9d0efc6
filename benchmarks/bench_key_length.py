"""Throughput of the finite-key bound, vectorised over blocks (issue 6: >= 10,000 blocks/s).

Run on demand (not a unit test):

    nice -n 10 .venv/bin/python benchmarks/bench_key_length.py [--blocks 100000] [--repeat 5]

Blocks are the inputs of the two vectors of test_vectors/protocol/bounds/reference.json (the
Lim 2014 block and the counts of the Rusca 2018 worked example; docs/methods/finite-key.md), each
perturbed by Poisson noise so that every block differs. The script prints the best-of-``repeat``
evaluations per second of one vectorised call, of a per-block loop for comparison, and of the same
table through ``allowed_key_length`` (the check's path).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evaltool.engines.protocol.finite_key import allowed_key_length, key_length

CASES = {
    "lim2014": {
        "intensities": [0.411, 0.2198, 0.0002],
        "probabilities": [0.3773, 0.4455, 0.1772],
        "key_detections": [6125230, 3872526, 2244],
        "key_errors": [148094, 94096, 454],
        "test_detections": [171658, 108527, 63],
        "test_errors": [4150, 2637, 13],
        "ec_leakage_bits": 1911180,
        "eps_sec": 1e-10,
    },
    "rusca2018": {
        "intensities": [0.5, 0.1],
        "probabilities": [0.5, 0.5],
        "key_detections": [8330347, 1669653],
        "key_errors": [84853, 18246],
        "test_detections": [102844, 20613],
        "test_errors": [1048, 225],
        "ec_leakage_bits": 960953,
        "eps_sec": 1e-9,
    },
}


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=100_000)
    ap.add_argument("--loop-blocks", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    print(f"{'bound':10s} {'path':28s} {'blocks':>8s} {'seconds':>9s} {'blocks/s':>12s}")
    for name, case in CASES.items():
        counts = {
            k: rng.poisson(np.asarray(case[k], dtype=float), size=(args.blocks, len(case[k])))
            for k in ("key_detections", "key_errors", "test_detections", "test_errors")
        }
        leak = np.full(args.blocks, float(case["ec_leakage_bits"]))
        hash_bits = np.full(args.blocks, 64.0)
        common = (name, case["intensities"], case["probabilities"])

        def vectorised(c=counts, lk=leak, cm=common, eps=case["eps_sec"]):
            return key_length(*cm, *c.values(), ec_leakage_bits=lk, eps_sec=eps, eps_cor=1e-15)

        def check_path(c=counts, lk=leak, h=hash_bits, cm=common, eps=case["eps_sec"]):
            return allowed_key_length(
                *cm,
                *c.values(),
                ec_leakage_bits=lk,
                verification_hash_bits=h,
                eps_sec=eps,
                eps_cor=1e-15,
            )

        def loop(c=counts, lk=leak, cm=common, eps=case["eps_sec"], n=args.loop_blocks):
            for i in range(n):
                key_length(
                    *cm,
                    *(v[i] for v in c.values()),
                    ec_leakage_bits=lk[i],
                    eps_sec=eps,
                    eps_cor=1e-15,
                )

        res = vectorised()
        assert np.all(res.ell > 0), "every perturbed block should still give key"
        for label, fn, n in (
            ("key_length, vectorised", vectorised, args.blocks),
            ("allowed_key_length (check)", check_path, args.blocks),
            ("key_length, per-block loop", loop, args.loop_blocks),
        ):
            t = best_of(fn, args.repeat if n == args.blocks else 1)
            print(f"{name:10s} {label:28s} {n:8d} {t:9.4f} {n / t:12,.0f}")


if __name__ == "__main__":
    main()
