"""Produce scalib-ttest.json: SCALib's t-test (orders 1-3) on a seeded synthetic int16 data set.

Run with an interpreter that has SCALib installed (never a project dependency):

    python test_vectors/leakage/scalib_ttest_reference.py > test_vectors/leakage/scalib-ttest.json

The data set is rebuilt by tests/engines/leakage/test_ttest.py from the same recipe (make_data).
"""

from __future__ import annotations

import json
import sys
from datetime import date

import numpy as np

SEED = 20261127
N_TRACES = 20_000


def make_data() -> tuple[np.ndarray, np.ndarray]:
    """Six int16 samples: 0 no leak, 1 mean shift, 2 variance change, 3 skew change, 4-5 no leak."""
    rng = np.random.default_rng(SEED)
    labels = rng.integers(0, 2, N_TRACES)
    v = rng.integers(-300, 301, (N_TRACES, 6))
    v[:, 1] += 3 * labels
    v[:, 2] = np.where(labels == 1, (v[:, 2] * 5) // 4, v[:, 2])
    v[:, 3] = np.where(labels == 1, (v[:, 3] * v[:, 3]) // 300 - 100, v[:, 3])
    return v.astype(np.int16), labels.astype(np.uint16)


def main() -> None:
    import scalib
    from scalib.metrics import Ttest

    traces, labels = make_data()
    tt = Ttest(d=3)
    tt.fit_u(traces, labels)
    t = np.asarray(tt.get_ttest(), dtype=np.float64)
    out = {
        "provenance": {
            "tool": f"SCALib {scalib.__version__} (PyPI wheel), scalib.metrics.Ttest(d=3).fit_u",
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "command": "python test_vectors/leakage/scalib_ttest_reference.py",
            "data": (
                f"make_data() in this script: numpy default_rng({SEED}), {N_TRACES} traces x 6 "
                "int16 samples, binary labels"
            ),
            "sign": "t[d][j] as returned by get_ttest(): order d+1, sample j",
            "date": date.today().isoformat(),
            "note": "do not edit; regenerate with the command above",
        },
        "t": t.tolist(),
    }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
