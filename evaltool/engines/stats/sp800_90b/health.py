"""Continuous health tests of SP 800-90B §4.4: cutoffs and alarm counting over a stream.

The repetition count test (§4.4.1) raises an alarm when one value repeats ``C`` times in a row,
``C = 1 + ceil(-log2(alpha) / H)``. The adaptive proportion test (§4.4.2) looks at consecutive
non-overlapping windows of ``W`` samples (1024 for binary sources, 512 otherwise) and raises an
alarm when the window's first value occurs ``C`` or more times in the window,
``C = 1 + CRITBINOM(W, 2^-H, 1 - alpha)``: the smallest ``C`` with
``P[Binomial(W-1, 2^-H) >= C-1] <= alpha`` taken, as in the standard's formula, over all ``W``
samples, i.e. the smallest ``C`` with ``P[Binomial(W, 2^-H) >= C] <= alpha``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines.stats.sp800_90b._common import as_samples

#: §4.4: recommended false-positive probability per sample / per window.
DEFAULT_ALPHA = 2.0**-20


def _check(h: float, alpha: float) -> None:
    if not (isinstance(h, int | float) and math.isfinite(h) and h > 0):
        raise ValueError(f"claimed entropy per sample must be a positive number, got {h!r}")
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")


def repetition_count_cutoff(h: float, *, alpha: float = DEFAULT_ALPHA) -> int:
    """Repetition count test cutoff, SP 800-90B §4.4.1: ``C = 1 + ceil(-log2(alpha) / H)``."""
    _check(h, alpha)
    # Tolerate float noise so that e.g. 20/2 gives exactly 10.
    ratio = -math.log2(alpha) / h
    nearest = round(ratio)
    ceil_ratio = nearest if abs(ratio - nearest) <= 1e-12 * max(1.0, ratio) else math.ceil(ratio)
    return 1 + int(ceil_ratio)


def adaptive_proportion_window(bits_per_sample: int) -> int:
    """Window size of §4.4.2: 1024 for binary sources, 512 otherwise (SP 800-90B Table 2 lists
    the cutoffs of both windows)."""
    return 1024 if int(bits_per_sample) == 1 else 512


def adaptive_proportion_cutoff(h: float, window: int, *, alpha: float = DEFAULT_ALPHA) -> int:
    """Adaptive proportion test cutoff, SP 800-90B §4.4.2: ``1 + CRITBINOM(W, 2^-H, 1-alpha)``.

    ``CRITBINOM(n, p, q)`` is the smallest ``k`` with ``P[Binomial(n, p) <= k] >= q``; it is
    evaluated through the survival function, ``P[X > k] <= alpha``, to keep the tail exact.
    The result is capped at ``W`` (a cutoff above ``W`` could never fire).
    """
    from scipy import stats  # imported here: the package is read for DEFAULT_ALPHA alone

    _check(h, alpha)
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    p = 2.0**-h
    k = np.arange(window + 1)
    tail = stats.binom.sf(k, window, p)  # P[X > k]
    ok = np.flatnonzero(tail <= alpha)
    crit = int(ok[0]) if ok.size else window
    return min(window, 1 + crit)


@dataclass(frozen=True, slots=True)
class HealthTestResult:
    """Alarms the §4.4 health tests raise on a sample stream.

    Attributes
    ----------
    h:
        Claimed min-entropy per sample the cutoffs were derived from.
    alpha:
        False-positive probability.
    n_samples:
        Stream length.
    rct_cutoff, apt_cutoff, apt_window:
        Cutoffs and window used.
    rct_alarms:
        Number of repetition count alarms (one per run of ``rct_cutoff`` or more equal samples).
    rct_alarm_indices:
        Index of the sample at which each repetition count alarm fires.
    apt_alarms:
        Number of windows in which the adaptive proportion test fires.
    apt_alarm_indices:
        Index of the first sample of each window that fired.
    apt_windows:
        Number of complete windows examined.
    """

    h: float
    alpha: float
    n_samples: int
    rct_cutoff: int
    apt_cutoff: int
    apt_window: int
    rct_alarms: int
    rct_alarm_indices: NDArray[np.int64]
    apt_alarms: int
    apt_alarm_indices: NDArray[np.int64]
    apt_windows: int


def repetition_count_alarms(samples: NDArray[np.uint8], cutoff: int) -> NDArray[np.int64]:
    """Indices at which the repetition count test (§4.4.1) fires, one per run >= ``cutoff``."""
    n = samples.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(samples[1:] != samples[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    lengths = ends - starts
    return (starts[lengths >= cutoff] + cutoff - 1).astype(np.int64)


def adaptive_proportion_alarms(
    samples: NDArray[np.uint8], cutoff: int, window: int
) -> tuple[NDArray[np.int64], int]:
    """Window starts at which the adaptive proportion test (§4.4.2) fires, and the window count.

    Windows are consecutive and non-overlapping from the first sample; an incomplete last
    window is not examined.
    """
    m = samples.size // window
    if m == 0:
        return np.zeros(0, dtype=np.int64), 0
    blocks = samples[: m * window].reshape(m, window)
    counts = np.count_nonzero(blocks == blocks[:, :1], axis=1)
    fired = np.flatnonzero(counts >= cutoff)
    return (fired * window).astype(np.int64), m


def health_tests(
    samples: ArrayLike,
    bits_per_sample: int,
    h: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    window: int | None = None,
) -> HealthTestResult:
    """Run the §4.4 repetition count and adaptive proportion tests over a sample stream.

    Parameters
    ----------
    samples:
        The noise-source samples in order, one per element.
    bits_per_sample:
        Sample width (selects the adaptive proportion window when ``window`` is not given).
    h:
        Claimed min-entropy per sample.
    alpha:
        False-positive probability (default ``2**-20``).
    window:
        Adaptive proportion window; default 1024 for 1-bit samples, else 512.
    """
    arr = as_samples(samples, bits_per_sample)
    w = adaptive_proportion_window(bits_per_sample) if window is None else int(window)
    rct_c = repetition_count_cutoff(h, alpha=alpha)
    apt_c = adaptive_proportion_cutoff(h, w, alpha=alpha)
    rct_idx = repetition_count_alarms(arr, rct_c)
    apt_idx, windows = adaptive_proportion_alarms(arr, apt_c, w)
    return HealthTestResult(
        h=float(h),
        alpha=float(alpha),
        n_samples=int(arr.size),
        rct_cutoff=rct_c,
        apt_cutoff=apt_c,
        apt_window=w,
        rct_alarms=int(rct_idx.size),
        rct_alarm_indices=rct_idx,
        apt_alarms=int(apt_idx.size),
        apt_alarm_indices=apt_idx,
        apt_windows=windows,
    )
