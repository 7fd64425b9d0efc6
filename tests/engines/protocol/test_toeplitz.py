"""Toeplitz hashing: public known-answer vectors, and the fast path against the direct product."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaltool.engines.protocol import _toeplitz_kara
from evaltool.engines.protocol.toeplitz import (
    ADDITIVE_MIN_BITS,
    toeplitz_hash,
    toeplitz_hash_direct,
    toeplitz_seed_from_row_column,
    toeplitz_seed_length,
)

REPO = Path(__file__).resolve().parents[3]
KAT = REPO / "test_vectors" / "protocol" / "toeplitz" / "rokzitko_512x256.json"
SHARED_KAT = REPO / ".." / "shared" / "vectors" / "toeplitz" / "512x256.json"


def _bits(hexstr: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hexstr), dtype=np.uint8))


def _load(path: Path) -> tuple[np.ndarray, list[tuple[str, np.ndarray, np.ndarray]]]:
    doc = json.loads(path.read_text())
    seed = toeplitz_seed_from_row_column(_bits(doc["first_row_r"]), _bits(doc["first_column_c"]))
    vecs = [(v.get("name", str(i)), _bits(v["x"]), _bits(v["y"]))
            for i, v in enumerate(doc["vectors"])]
    return seed, vecs


# rokzitko/toeplitz 512x256 reference data (Mathematica), five x/y pairs, see the provenance block
# of test_vectors/protocol/toeplitz/rokzitko_512x256.json (docs/methods/toeplitz.md).
_SEED, _VECTORS = _load(KAT)


@pytest.mark.parametrize(("name", "x", "y"), _VECTORS, ids=[v[0] for v in _VECTORS])
def test_public_512x256_vectors_fast_and_direct(name: str, x: np.ndarray, y: np.ndarray) -> None:
    assert len(_VECTORS) == 5
    assert np.array_equal(toeplitz_hash(x, _SEED, 256).output, y)
    assert np.array_equal(toeplitz_hash(x, _SEED, 256, method="fft").output, y)
    assert np.array_equal(toeplitz_hash(x, _SEED, 256, method="additive").output, y)
    assert np.array_equal(toeplitz_hash_direct(x, _SEED, 256), y)


def test_shared_copy_of_the_vectors_agrees() -> None:
    if not SHARED_KAT.is_file():
        pytest.skip("../shared/vectors/toeplitz/512x256.json not present (fresh clone)")
    seed, vecs = _load(SHARED_KAT)
    assert np.array_equal(seed, _SEED)
    for _, x, y in vecs:
        assert np.array_equal(toeplitz_hash(x, seed, 256).output, y)


def test_seed_convention_matches_the_matrix_definition() -> None:
    # T[i, j] = t[j - i + ell - 1]: build the matrix explicitly for a tiny case.
    rng = np.random.default_rng(0)
    n, ell = 13, 5
    t = rng.integers(0, 2, toeplitz_seed_length(n, ell), dtype=np.uint8)
    mat = np.array([[t[j - i + ell - 1] for j in range(n)] for i in range(ell)], dtype=np.int64)
    for _ in range(20):
        x = rng.integers(0, 2, n, dtype=np.uint8)
        expected = (mat @ x) % 2
        assert np.array_equal(toeplitz_hash_direct(x, t, ell), expected)
        assert np.array_equal(toeplitz_hash(x, t, ell).output, expected)
        assert np.array_equal(toeplitz_hash(x, t, ell, method="fft").output, expected)
        assert np.array_equal(toeplitz_hash(x, t, ell, method="additive").output, expected)


@pytest.mark.parametrize(("n", "ell"), [(1, 1), (2, 1), (1000, 1), (1000, 999), (1000, 1000),
                                        (4097, 2048), (30_000, 7_777), (70_000, 2_049),
                                        (200_000, 64), (63, 1), (64, 64), (65, 65), (63, 65),
                                        (1, 63), (1, 64), (1, 65), (127, 129), (8191, 8193)])
@pytest.mark.parametrize("method", ["karatsuba", "fft", "additive"])
def test_fast_paths_equal_direct_product(n: int, ell: int, method: str) -> None:
    rng = np.random.default_rng(n + ell)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    res = toeplitz_hash(x, t, ell, method=method)
    assert res.method == method
    assert res.max_rounding_residual < 1e-6
    if n * ell <= 5e7:
        assert np.array_equal(res.output, toeplitz_hash_direct(x, t, ell))
    else:
        rows = rng.integers(0, ell, 300)
        assert np.array_equal(res.output[rows], toeplitz_hash_direct(x, t, ell, rows=rows))


@pytest.mark.parametrize(("n", "ell"), [(1, 1), (63, 63), (64, 1), (65, 64), (99_999, 1),
                                        (3, 99_999), (12_345, 12_345), (100_003, 100_003),
                                        (131_071, 65_537), (262_145, 131_073)])
def test_additive_fft_equals_karatsuba_on_awkward_sizes(n: int, ell: int) -> None:
    # Odd lengths, one bit either side of word and transform-size boundaries, ell = 1, ell = n,
    # ell > n; the two exact paths share no code beyond the bit packing of numpy.
    rng = np.random.default_rng(3 * n + ell)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    kara = toeplitz_hash(x, t, ell, method="karatsuba").output
    for workers in (1, 2):
        assert np.array_equal(toeplitz_hash(x, t, ell, method="additive", workers=workers).output,
                              kara)
    rows = np.unique(np.concatenate([[0, ell - 1], rng.integers(0, ell, 40)]))
    assert np.array_equal(kara[rows], toeplitz_hash_direct(x, t, ell, rows=rows))


@pytest.mark.parametrize(("n", "ell", "expected"), [
    (ADDITIVE_MIN_BITS - 4097, 4096, "karatsuba"),
    (ADDITIVE_MIN_BITS - 4096, 4096, "additive"),
    (ADDITIVE_MIN_BITS - 1, 1, "additive"),
    (ADDITIVE_MIN_BITS - 2, 1, "karatsuba"),
    (1, ADDITIVE_MIN_BITS - 1, "additive"),
])
def test_auto_method_follows_the_crossover(n: int, ell: int, expected: str) -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    res = toeplitz_hash(x, t, ell)
    assert res.method == expected
    other = "additive" if expected == "karatsuba" else "karatsuba"
    assert np.array_equal(res.output, toeplitz_hash(x, t, ell, method=other).output)


def test_portable_carry_less_multiply_gives_the_same_bits() -> None:
    # The shift-and-XOR fallback (processors without PCLMULQDQ) against the default path; sizes
    # cross the recursion threshold so both the split and the base case run.
    rng = np.random.default_rng(5)
    n, ell = 9000, 4500
    x = rng.integers(0, 2, n, dtype=np.uint8)
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    soft = _toeplitz_kara.toeplitz_product(x, t, ell, hardware=False)
    assert np.array_equal(soft, toeplitz_hash(x, t, ell, method="fft").output)
    if _toeplitz_kara.HAS_PCLMUL:
        assert np.array_equal(soft, _toeplitz_kara.toeplitz_product(x, t, ell, hardware=True))


def test_fast_paths_on_a_million_bits_against_direct_rows() -> None:
    # The direct product of all 5e5 rows is 5e11 operations; 256 random rows (and the first and
    # last row, where the window touches either end of the seed) are checked exactly instead, and
    # the two fast paths must agree on every row.
    rng = np.random.default_rng(1)
    n, ell = 1_000_000, 500_000
    x = rng.integers(0, 2, n, dtype=np.uint8)
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    res = toeplitz_hash(x, t, ell)
    assert res.method == "additive"
    rows = np.concatenate([[0, ell - 1], rng.integers(0, ell, 256)])
    assert np.array_equal(res.output[rows], toeplitz_hash_direct(x, t, ell, rows=rows))
    assert np.array_equal(res.output, toeplitz_hash(x, t, ell, method="karatsuba").output)
    fft = toeplitz_hash(x, t, ell, method="fft")
    assert np.array_equal(res.output, fft.output)
    assert fft.max_rounding_residual < 1e-3
    assert (res.input_bits, res.output_bits, res.seed_bits) == (n, ell, n + ell - 1)


@pytest.mark.slow
def test_additive_fft_on_ten_million_bits() -> None:
    # Issue 6: the fast path equals the direct product up to 1e7 bits. All rows against the
    # Karatsuba path (independent code), 128 rows and both ends against the defining sum.
    rng = np.random.default_rng(6)
    n, ell = 10_000_000, 5_000_001
    x = rng.integers(0, 2, n, dtype=np.uint8)
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    res = toeplitz_hash(x, t, ell, method="additive", workers=2)
    rows = np.concatenate([[0, 1, ell - 2, ell - 1], rng.integers(0, ell, 128)])
    assert np.array_equal(res.output[rows], toeplitz_hash_direct(x, t, ell, rows=rows))
    assert np.array_equal(res.output, toeplitz_hash(x, t, ell, method="karatsuba").output)


def test_hash_is_linear_over_gf2() -> None:
    rng = np.random.default_rng(2)
    n, ell = 5000, 1200
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = rng.integers(0, 2, n, dtype=np.uint8)
    ha = toeplitz_hash(a, t, ell).output
    hb = toeplitz_hash(b, t, ell).output
    assert np.array_equal(toeplitz_hash(a ^ b, t, ell).output, ha ^ hb)


def test_adversarial_all_ones_input_stays_exact() -> None:
    # All-ones x and t give the largest convolution values (= n), the worst case for rounding.
    n, ell = 200_000, 100_000
    x = np.ones(n, dtype=np.uint8)
    t = np.ones(n + ell - 1, dtype=np.uint8)
    assert np.all(toeplitz_hash(x, t, ell).output == n % 2)
    assert np.all(toeplitz_hash(x, t, ell, method="fft").output == n % 2)


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match="n \\+ ell - 1"):
        toeplitz_hash(np.ones(10, dtype=np.uint8), np.ones(10, dtype=np.uint8), 3)
    with pytest.raises(ValueError, match="ell"):
        toeplitz_hash(np.ones(10, dtype=np.uint8), np.ones(9, dtype=np.uint8), 0)
    with pytest.raises(ValueError, match="corner"):
        toeplitz_seed_from_row_column([1, 0, 1], [0, 1])
    with pytest.raises(ValueError, match="'additive'"):
        toeplitz_hash(np.ones(4, dtype=np.uint8), np.ones(5, dtype=np.uint8), 2, method="ntt")
    with pytest.raises(ValueError, match="rows"):
        toeplitz_hash_direct(np.ones(4, dtype=np.uint8), np.ones(5, dtype=np.uint8), 2, rows=[2])
