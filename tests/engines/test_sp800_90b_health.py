"""SP 800-90B §4.4 health tests: cutoffs and alarm counting."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from evaltool.engines.stats.sp800_90b import (
    adaptive_proportion_cutoff,
    adaptive_proportion_window,
    health_tests,
    repetition_count_cutoff,
)


def _exact_apt_cutoff(h: float, window: int, alpha: float) -> int:
    """Independent evaluation of 1 + CRITBINOM(W, 2^-H, 1 - alpha) in 60-digit arithmetic."""
    mpmath.mp.dps = 60
    p = mpmath.mpf(2) ** (-mpmath.mpf(h))
    q = 1 - p
    tail = mpmath.mpf(0)
    # walk down from W accumulating P[X >= k]; CRITBINOM is the smallest k with P[X > k] <= alpha
    crit = window
    for k in range(window, -1, -1):
        # tail == P[X > k] before adding the k term
        if tail <= alpha:
            crit = k
        else:
            break
        tail += mpmath.binomial(window, k) * p**k * q ** (window - k)
    return 1 + crit


@pytest.mark.parametrize(
    ("h", "expected"),
    [(1.0, 21), (2.0, 11), (0.5, 41), (8.0, 4), (3.0, 8)],
)
def test_repetition_count_cutoff(h: float, expected: int) -> None:
    """§4.4.1: C = 1 + ceil(20 / H) for alpha = 2^-20 (e.g. H = 2 gives 11)."""
    assert repetition_count_cutoff(h) == expected


def test_repetition_count_cutoff_other_alpha() -> None:
    """alpha = 2^-30, H = 4: 1 + ceil(30 / 4) = 9."""
    assert repetition_count_cutoff(4.0, alpha=2.0**-30) == 9


@pytest.mark.parametrize(
    ("h", "window"),
    [(0.5, 512), (1.0, 512), (1.0, 1024), (2.0, 1024), (4.0, 1024), (7.5, 1024), (8.0, 1024)],
)
def test_adaptive_proportion_cutoff_exact(h: float, window: int) -> None:
    """§4.4.2 cutoff against a 60-digit binomial tail (mpmath)."""
    expected = _exact_apt_cutoff(h, window, 2.0**-20)
    assert adaptive_proportion_cutoff(h, window) == expected


def test_adaptive_proportion_cutoff_table_values() -> None:
    """Values of SP 800-90B Table 2 (alpha = 2^-20): W=512, H=1 -> 311; W=1024, H=1 -> 589."""
    assert adaptive_proportion_cutoff(1.0, 512) == 311
    assert adaptive_proportion_cutoff(0.5, 512) == 410
    assert adaptive_proportion_cutoff(1.0, 1024) == 589


def test_default_window_is_1024_for_binary_and_512_otherwise() -> None:
    """SP 800-90B §4.4.2: W = 1024 for a binary noise source, 512 for a non-binary one."""
    assert adaptive_proportion_window(1) == 1024
    assert adaptive_proportion_window(4) == 512
    assert adaptive_proportion_window(8) == 512
    res = health_tests((np.arange(4096) % 2).astype(np.uint8), 1, 1.0)
    assert res.apt_window == 1024 and res.apt_cutoff == 589 and res.apt_windows == 4


def test_cutoff_input_checks() -> None:
    with pytest.raises(ValueError):
        repetition_count_cutoff(0.0)
    with pytest.raises(ValueError):
        adaptive_proportion_cutoff(1.0, 1024, alpha=1.5)


def test_alarm_counting_on_a_constructed_stream() -> None:
    """Runs of 26 ones (from index 999) and 100 zeros (from 2048) each fire the repetition count
    test once, at their 21st sample (cutoff 21 at H = 1); the 512-sample window at 2048, made
    mostly zeros, fires the adaptive proportion test."""
    data = (np.arange(512 * 8) % 2).astype(np.uint8)  # alternating: no run, 256 per window
    data[1000:1025] = 1
    data[1025] = 0
    data[2048 : 2048 + 512] = 0
    data[2048 + 100 : 2048 + 512 : 3] = 1
    res = health_tests(data, 1, 1.0, window=512)
    assert res.rct_cutoff == 21 and res.apt_cutoff == 311 and res.apt_window == 512
    assert res.rct_alarm_indices.tolist() == [999 + 20, 2048 + 20]
    assert res.apt_alarm_indices.tolist() == [2048]
    assert res.apt_windows == 8


def test_no_alarms_on_uniform_data_at_true_entropy() -> None:
    """Uniform 8-bit samples claimed at 7 bits/sample: no alarm expected in 2^16 samples."""
    data = np.random.default_rng(3).integers(0, 256, 1 << 16, dtype=np.uint8)
    res = health_tests(data, 8, 7.0)
    assert res.rct_alarms == 0 and res.apt_alarms == 0
    assert res.apt_windows == 128  # 2^16 samples in windows of 512 (non-binary source)


def test_stuck_source_fires_every_window() -> None:
    res = health_tests(np.full(4096, 5, dtype=np.uint8), 4, 3.0)
    assert res.apt_alarms == 8  # 4096 samples in windows of 512
    assert res.rct_alarms == 1
    assert res.rct_alarm_indices.tolist() == [res.rct_cutoff - 1]
    assert math.isclose(res.alpha, 2.0**-20)
