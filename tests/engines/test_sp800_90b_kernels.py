"""Fast paths of the SP 800-90B kernels against their general forms on varied inputs.

The binary MultiMCW kernel (running counts of ones) must give the same ``C`` and longest run as
the general kernel (counts, positions and rescans), and the Phi-algorithm LCP array the longest
common prefixes of adjacent suffixes computed directly.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaltool.engines.stats.sp800_90b._predictors import (
    _MCW_WINDOWS,
    _multi_mcw,
    _multi_mcw_binary,
)
from evaltool.engines.stats.sp800_90b._tuples import _suffix_lcp


def _binary_inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(20261207)
    out = [(rng.random(12_000) < p).astype(np.uint8) for p in (0.5, 0.03, 0.97, 0.49)]
    out.append(np.repeat(rng.integers(0, 2, 2_000), 7)[:12_000].astype(np.uint8))  # runs of 7
    out.append(np.tile(np.array([1, 1, 0], dtype=np.uint8), 4_000))  # period 3
    sticky = np.zeros(12_000, dtype=np.uint8)
    for i in range(1, sticky.size):  # Markov chain that keeps its bit with probability 0.9
        sticky[i] = sticky[i - 1] if rng.random() < 0.9 else 1 - sticky[i - 1]
    out.append(sticky)
    out.append(np.zeros(5_000, dtype=np.uint8))
    return out


@pytest.mark.parametrize("index", range(8))
def test_binary_multi_mcw_equals_the_general_kernel(index: int) -> None:
    s = _binary_inputs()[index]
    general = _multi_mcw(s, 2, _MCW_WINDOWS)
    assert _multi_mcw_binary(s, _MCW_WINDOWS) == general
    assert general[0] > 0


def _lcp_direct(text: np.ndarray, sa: np.ndarray) -> np.ndarray:
    n = text.size
    out = np.zeros(n, dtype=np.int64)
    for r in range(n - 1):
        a, b = int(sa[r]), int(sa[r + 1])
        h = 0
        while a + h < n and b + h < n and text[a + h] == text[b + h]:
            h += 1
        out[r] = h
    return out


@pytest.mark.parametrize(
    "text",
    [
        np.array([0], dtype=np.uint8),
        np.array([1, 1], dtype=np.uint8),
        np.zeros(300, dtype=np.uint8),
        np.frombuffer(b"mississippi$banana", dtype=np.uint8),
        np.random.default_rng(3).integers(0, 2, 4_000).astype(np.uint8),
        np.random.default_rng(4).integers(0, 256, 4_000).astype(np.uint8),
        np.tile(np.array([3, 1, 4, 1, 5], dtype=np.uint8), 400),
    ],
)
def test_lcp_array_equals_direct_comparison(text: np.ndarray) -> None:
    sa, lcp = _suffix_lcp(text)
    assert sorted(sa.tolist()) == list(range(text.size))
    assert np.array_equal(lcp, _lcp_direct(text, sa))
