"""Error verification by universal hashing: tag length from eps_cor, detection, collision rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaltool.engines.protocol.verification import (
    verification_seed_bits,
    verification_tag_bits,
    verify_keys,
)


def test_tag_length_from_eps_cor() -> None:
    # Toeplitz: collision probability 2^-t, t = ceil(log2(1/eps_cor)); log2(1e15) = 49.83.
    assert verification_tag_bits(10_000, 1e-15) == 50
    assert verification_tag_bits(10_000, 2.0**-40) == 40
    # Polynomial: ceil(1e4/32)/2^32 = 7.3e-8 > 1e-15, ceil(1e4/64)/2^64 = 8.5e-18 <= 1e-15.
    assert verification_tag_bits(10_000, 1e-15, method="polynomial") == 64
    assert verification_seed_bits(10_000, 50) == 10_049
    assert verification_seed_bits(10_000, 64, method="polynomial") == 64


@pytest.mark.parametrize("method", ["toeplitz", "polynomial"])
def test_equal_keys_pass_and_a_single_error_is_caught(method: str) -> None:
    rng = np.random.default_rng(12)
    n = 20_000
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    bob[12_345] ^= 1
    t = verification_tag_bits(n, 1e-12, method=method)
    seed = rng.integers(0, 2, verification_seed_bits(n, t, method=method), dtype=np.uint8)
    ok = verify_keys(alice, alice.copy(), eps_cor=1e-12, seed=seed, method=method)
    bad = verify_keys(alice, bob, eps_cor=1e-12, seed=seed, method=method)
    assert ok.passed and ok.statistic == 1
    assert not bad.passed and bad.hash_alice != bad.hash_bob
    assert bad.collision_bound <= 1e-12


def test_toeplitz_collision_rate_is_two_to_minus_t() -> None:
    # XOR-universality: for fixed x != x', Pr_seed[T x = T x'] = 2^-t exactly. With t = 2 and 4000
    # seeds the count is Binomial(4000, 1/4): mean 1000, sd 27.4; 5 sd = 137.
    rng = np.random.default_rng(3)
    n, trials = 64, 4000
    x = rng.integers(0, 2, n, dtype=np.uint8)
    y = x.copy()
    y[[3, 40]] ^= 1
    t = verification_tag_bits(n, 0.25)
    assert t == 2
    hits = 0
    for _ in range(trials):
        seed = rng.integers(0, 2, n + t - 1, dtype=np.uint8)
        hits += verify_keys(x, y, eps_cor=0.25, seed=seed).statistic
    assert abs(hits - trials / 4) <= 5 * math.sqrt(trials * 0.25 * 0.75)


def test_wrong_seed_length_raises() -> None:
    with pytest.raises(ValueError, match="seed"):
        verify_keys(np.zeros(10, np.uint8), np.zeros(10, np.uint8), eps_cor=0.01,
                    seed=np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="eps_cor"):
        verification_tag_bits(10, 0.0)
