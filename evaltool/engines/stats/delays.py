"""Summary statistics of response delays (key delivery delay and its variation, ITU-T Y.3807
clause 7: QoS parameters of the key supply)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class DelaySummary:
    """Median, 99th percentile and standard deviation of a delay sample, in its unit."""

    n: int
    median: float
    p99: float
    std: float


def delay_summary(samples: Sequence[float]) -> DelaySummary:
    """The sample median, the empirical 99th percentile (inverse of the empirical distribution
    function, Hyndman & Fan 1996 definition 1: an observed delay, never interpolated) and the
    sample standard deviation (ddof 1; 0 for a single sample). NaN for an empty sample."""
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        nan = float("nan")
        return DelaySummary(0, nan, nan, nan)
    return DelaySummary(
        n=int(x.size), median=float(np.median(x)),
        p99=float(np.quantile(x, 0.99, method="inverted_cdf")),
        std=float(np.std(x, ddof=1)) if x.size > 1 else 0.0)


__all__ = ["DelaySummary", "delay_summary"]
