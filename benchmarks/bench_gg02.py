"""Throughput of the GG02 composable bound, vectorised over parameter points (issue 20: >= 10,000
points/s).

Run on demand (not a unit test):

    nice -n 10 .venv/bin/python benchmarks/bench_gg02.py [--points 100000] [--repeat 5]

Each point is a random channel and set-up (transmissivity, excess noise, efficiency, electronic
noise, modulation variance, beta, frame size) around the parameters of the reference-code grid
(test_vectors/protocol/gg02/reference-code.json). One evaluation is the planning path of
``evaltool protocol rate --protocol gg02``: worst-case estimators, mutual information, two Holevo
bounds' symplectic spectra and the composable key length. Prints the best-of-``repeat`` points
per second for homodyne and heterodyne.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evaltool.engines.protocol import gg02

EPS = 2.0**-32


def _points(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "t": 10 ** (-0.02 * rng.uniform(0.5, 20, n)),
        "xi": rng.uniform(0.0, 0.02, n),
        "eta": rng.uniform(0.6, 0.95, n),
        "v_el": rng.uniform(0.0, 0.1, n),
        "va": rng.uniform(5, 40, n),
        "beta": rng.uniform(0.92, 0.99, n),
        "frame": rng.choice([1e6, 1e7, 1e8], n),
    }


def evaluate(det: str, p: dict[str, np.ndarray]) -> gg02.GG02KeyLength:
    """One vectorised planning evaluation of every point."""
    frames = 100.0
    pe = np.round(0.1 * p["frame"]) * frames
    values = pe if det == "homodyne" else 2 * pe
    worst = gg02.expected_worst_case(det, p["va"], p["t"], p["xi"], p["eta"], p["v_el"], values,
                                     EPS)
    return gg02.composable_key_length(
        det, modulation_variance=p["va"], worst=worst, eta=p["eta"], v_el=p["v_el"],
        beta=p["beta"], frame_symbols=p["frame"], frames=frames, pe_symbols=pe, p_ec=0.95,
        bits_per_quadrature=7, eps_s=EPS, eps_h=EPS, eps_cor=EPS, eps_pe=EPS, eps_ent=EPS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    p = _points(args.points)
    for det in ("homodyne", "heterodyne"):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            res = evaluate(det, p)
            best = min(best, time.perf_counter() - start)
        positive = int(np.count_nonzero(res.ell))
        print(f"{det:10s} {args.points:,d} points in {best * 1e3:.1f} ms: "
              f"{args.points / best:,.0f} points/s ({positive:,d} with key)")


if __name__ == "__main__":
    main()
