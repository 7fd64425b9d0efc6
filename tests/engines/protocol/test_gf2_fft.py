"""Additive FFT over GF(2^64): field arithmetic, transform, products, against slow references.

The references are independent pure-Python code in this file or in the module's reference
functions (bit-by-bit carry-less multiplication and long division by the modulus, Horner
evaluation at the evaluation points), so every fast kernel is compared with a definition.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaltool.engines.protocol import _gf2_fft as gf
from evaltool.engines.protocol import _toeplitz_kara

MASK64 = (1 << 64) - 1


def _clmul_by_definition(a: int, b: int) -> int:
    # c_k = XOR_{i + j = k} a_i b_j, straight from the definition of the GF(2)[z] product.
    bits_a = [i for i in range(a.bit_length()) if (a >> i) & 1]
    bits_b = [j for j in range(b.bit_length()) if (b >> j) & 1]
    out = 0
    for i in bits_a:
        for j in bits_b:
            out ^= 1 << (i + j)
    return out


def _as_int(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def _horner(coeffs: np.ndarray, point: int) -> int:
    acc = 0
    for c in coeffs[::-1]:
        acc = gf.gf64_mul_reference(acc, point) ^ int(c)
    return acc


def _kernel_variants() -> list[tuple[bool, bool | None]]:
    out: list[tuple[bool, bool | None]] = [(False, None)]
    if gf.HAS_PCLMUL:
        out.append((True, False))
    if gf.HAS_WIDE_CLMUL:
        out.append((True, True))
    return out


VARIANTS = _kernel_variants()
VARIANT_IDS = [{(False, None): "soft", (True, False): "pclmul", (True, True): "vpclmul"}[v]
               for v in VARIANTS]


def test_reference_multiply_known_values() -> None:
    # Hand-checkable values: z * z^63 = z^64 = z^4 + z^3 + z + 1 (0x1B) by the modulus
    # z^64 + z^4 + z^3 + z + 1; (z^63)^2 = z^126 = z^62 (z^4 + z^3 + z + 1) reduced once more.
    assert gf.gf64_mul_reference(2, 1 << 63) == 0x1B
    assert gf.gf64_mul_reference(1 << 63, 1 << 63) == gf.gf64_mul_reference(1 << 62, 0x1B)
    assert gf.clmul_reference(0b11, 0b11) == 0b101  # (z + 1)^2 = z^2 + 1
    rng = np.random.default_rng(10)
    for _ in range(50):
        a = int(rng.integers(0, 1 << 63)) * 2 + int(rng.integers(0, 2))
        b = int(rng.integers(0, 1 << 63))
        assert gf.clmul_reference(a, b) == _clmul_by_definition(a, b)


def test_reference_multiply_agrees_with_the_mac_field_tables() -> None:
    # The polynomial-MAC code multiplies in the same field (z^64 + z^4 + z^3 + z + 1,
    # docs/methods/authentication.md) by 8-bit tables (McGrew and Viega 2005, §4.1), an
    # independent method: one Horner step from state 0 over one big-endian block m gives m * key.
    from evaltool.engines.protocol import _gf2

    assert _gf2.reduction_low_int(64) | (1 << 64) == gf.MODULUS
    rng = np.random.default_rng(13)
    for _ in range(20):
        key = int(rng.integers(0, 1 << 63)) * 2 + 1
        m = int(rng.integers(0, 1 << 63)) ^ (1 << 63)
        state = np.zeros(1, dtype=np.uint64)
        message = np.frombuffer(m.to_bytes(8, "big"), dtype=np.uint8).copy()
        _gf2.horner_bytes(message, _gf2.byte_tables(key, 64), state)
        assert int(state[0]) == gf.gf64_mul_reference(m, key)


@pytest.mark.parametrize(("hardware", "wide"), VARIANTS, ids=VARIANT_IDS)
def test_field_multiply_kernels_against_reference(hardware: bool, wide: bool | None) -> None:
    rng = np.random.default_rng(11)
    a = rng.integers(0, 1 << 63, 2000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, 2000, dtype=np.uint64) ^ np.uint64(1 << 63)
    # Edge operands: 0, 1, all ones, top bit only.
    edges = np.array([0, 1, MASK64, 1 << 63], dtype=np.uint64)
    a = np.concatenate([a, edges, edges])
    b = np.concatenate([b, edges, edges[::-1]])
    out = np.empty_like(a)
    gf._kernels(hardware, wide)["_mul_arrays"](a, b, out)
    expected = [gf.gf64_mul_reference(int(x), int(y)) for x, y in zip(a, b, strict=True)]
    assert [int(v) for v in out] == expected
    assert np.array_equal(gf.gf64_multiply(a, b), out)


def test_cantor_basis_relations() -> None:
    # Cantor (1989) §2: v_0 = 1, v_i^2 + v_i = v_{i-1}; the first 41 are linearly independent.
    v = gf.CANTOR_BASIS
    assert v[0] == 1
    for i in range(1, len(v)):
        assert gf.gf64_mul_reference(v[i], v[i]) ^ v[i] == v[i - 1]
    rank, pivots = 0, {}
    for value in v:
        while value:
            lead = value.bit_length() - 1
            if lead not in pivots:
                pivots[lead] = value
                rank += 1
                break
            value ^= pivots[lead]
    assert rank == len(v)
    # tw[b] = s_j(omega_{b 2^(j+1)}) for every level j, the identity the transform relies on.
    tw = gf.twiddles(64)
    for j in range(4):
        for b in range(8):
            point = gf.evaluation_point(b << (j + 1))
            s_j = point
            for _ in range(j):
                s_j = gf.gf64_mul_reference(s_j, s_j) ^ s_j
            assert int(tw[b]) == s_j


def test_trace_equation_has_no_solution_for_trace_one() -> None:
    # The trace is a non-zero GF(2)-linear form, so some z^i has trace 1 and y^2 + y = z^i then
    # has no root; for the Cantor basis every v_{i-1} has trace 0 and a solution exists.
    pivots = gf._trace_map_pivots()
    failures = 0
    for i in range(64):
        try:
            v = gf._solve_trace_equation(1 << i, pivots)
        except ArithmeticError:
            failures += 1
        else:
            assert gf.gf64_mul_reference(v, v) ^ v == 1 << i
    assert 0 < failures < 64


@pytest.mark.parametrize(("hardware", "wide"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize(("log_size", "used"), [(0, 1), (1, 1), (1, 2), (3, 5), (5, 32), (6, 17),
                                                 (7, 128), (7, 3)])
def test_transform_is_evaluation_at_the_points(
    hardware: bool, wide: bool | None, log_size: int, used: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small LOCAL_LOG so that the level-by-level (top) code and the blockwise code both run.
    monkeypatch.setattr(gf, "LOCAL_LOG", 2)
    rng = np.random.default_rng(100 * log_size + used)
    coeffs = rng.integers(0, 1 << 63, used, dtype=np.uint64) * np.uint64(2)
    coeffs ^= rng.integers(0, 2, used, dtype=np.uint64)
    kern = gf._kernels(hardware, wide)
    values = np.zeros(1 << log_size, dtype=np.uint64)
    values[:used] = coeffs
    gf._forward_into(values, used, log_size, kern, gf._SERIAL)
    expected = [_horner(coeffs, gf.evaluation_point(u)) for u in range(1 << log_size)]
    assert [int(v) for v in values] == expected
    back = values.copy()
    gf._inverse_into(back, log_size, kern, gf._SERIAL)
    assert np.array_equal(back[:used], coeffs)
    assert not back[used:].any()


@pytest.mark.parametrize("local_log", [2, 14])
@pytest.mark.parametrize("workers", [1, 2])
def test_transform_round_trip_and_public_wrappers(
    local_log: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gf, "LOCAL_LOG", local_log)
    rng = np.random.default_rng(7)
    coeffs = rng.integers(0, 1 << 63, 3000, dtype=np.uint64)
    values = gf.transform(coeffs, 12, workers=workers)
    for u in (0, 1, 2047, 4095):
        assert int(values[u]) == _horner(coeffs, gf.evaluation_point(u))
    back = gf.inverse_transform(values, workers=workers)
    assert np.array_equal(back[:3000], coeffs)
    assert not back[3000:].any()
    with pytest.raises(ValueError, match="power of two"):
        gf.inverse_transform(values[:100])
    with pytest.raises(ValueError, match="2\\^log_size"):
        gf.transform(coeffs, 11)


@pytest.mark.parametrize(("la", "lb"), [(1, 1), (1, 63), (63, 64), (64, 64), (65, 1), (65, 65),
                                        (31, 33), (97, 3001), (4096, 4095), (20_001, 777)])
@pytest.mark.parametrize("workers", [1, 2])
def test_polynomial_product_against_definition(la: int, lb: int, workers: int) -> None:
    rng = np.random.default_rng(la * 7919 + lb)
    a = rng.integers(0, 2, la, dtype=np.uint8)
    b = rng.integers(0, 2, lb, dtype=np.uint8)
    a[-1] = 1  # full degree, so the top coefficient of the product is 1
    b[-1] = 1
    prod = gf.poly_multiply(a, b, workers=workers)
    assert prod.size == la + lb - 1
    assert prod[-1] == 1
    assert _as_int(prod) == gf.clmul_reference(_as_int(a), _as_int(b))


def test_polynomial_product_of_structured_inputs() -> None:
    # (1 + z)^(2^k) = 1 + z^(2^k) over GF(2) (Frobenius); all-ones times all-ones has the
    # parity of the number of terms of each degree: coefficient d is min(d+1, ...) mod 2.
    ones = np.ones(2048, dtype=np.uint8)
    p = gf.poly_multiply(ones, ones)
    d = np.arange(p.size)
    counts = np.minimum(d + 1, 2 * 2048 - 1 - d)
    assert np.array_equal(p, (counts % 2).astype(np.uint8))
    sq = np.array([1, 1], dtype=np.uint8)
    for _ in range(12):
        sq = gf.poly_multiply(sq, sq)
    assert sq.size == 4097
    assert sq[0] == 1 and sq[-1] == 1 and int(sq.sum()) == 2


@pytest.mark.parametrize(("hardware", "wide"), VARIANTS, ids=VARIANT_IDS)
def test_toeplitz_and_full_product_on_every_kernel_variant(
    hardware: bool, wide: bool | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Toeplitz product (middle product by transposition) against the Karatsuba path, and the
    # full product against the bit-by-bit reference, with each kernel variant in turn.
    variant = gf._kernels(hardware, wide)
    monkeypatch.setattr(gf, "_kernels", lambda *_: variant)
    monkeypatch.setattr(gf, "LOCAL_LOG", 6)
    rng = np.random.default_rng(12)
    n, ell = 40_000, 17_001
    x = rng.integers(0, 2, n, dtype=np.uint8)
    t = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    expected = _toeplitz_kara.toeplitz_product(x, t, ell)
    for workers in (1, 2):
        assert np.array_equal(gf.toeplitz_product(x, t, ell, workers=workers), expected)
    a = rng.integers(0, 2, 3001, dtype=np.uint8)
    b = rng.integers(0, 2, 1999, dtype=np.uint8)
    assert _as_int(gf.poly_multiply(a, b)) == gf.clmul_reference(_as_int(a), _as_int(b))


def _dot(u: np.ndarray, v: np.ndarray) -> int:
    # Bilinear form sum_i u_i v_i over GF(2^64), with the reference multiply.
    out = 0
    for a, b in zip(u, v, strict=True):
        out ^= gf.gf64_mul_reference(int(a), int(b))
    return out


@pytest.mark.parametrize(("hardware", "wide"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("local_log", [2, 3, 14])
def test_transposed_transforms_are_the_transposes(
    hardware: bool, wide: bool | None, local_log: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # <F u, v> = <u, F^T v> for every u, v characterises the transpose F^T of a linear map F;
    # checked on random vectors for the forward transform (with ``used`` coefficients) and the
    # inverse, on sizes where the straight-line low levels, the blockwise and the level-by-level
    # code all run.
    monkeypatch.setattr(gf, "LOCAL_LOG", local_log)
    kern = gf._kernels(hardware, wide)
    rng = np.random.default_rng(local_log)
    for k in (1, 2, 3, 5, 7):
        n_points = 1 << k
        for used in sorted({1, min(3, n_points), n_points // 2 + 1, n_points}):
            u = np.zeros(n_points, dtype=np.uint64)
            u[:used] = rng.integers(0, 1 << 63, used, dtype=np.uint64)
            v = rng.integers(0, 1 << 63, n_points, dtype=np.uint64)
            fu = u.copy()
            gf._forward_into(fu, used, k, kern, gf._SERIAL)
            ftv = v.copy()
            gf._forward_transposed_into(ftv, used, k, kern, gf._SERIAL)
            assert _dot(fu, v) == _dot(u[:used], ftv[:used])
        u = rng.integers(0, 1 << 63, n_points, dtype=np.uint64)
        v = rng.integers(0, 1 << 63, n_points, dtype=np.uint64)
        iu = u.copy()
        gf._inverse_into(iu, k, kern, gf._SERIAL)
        itv = v.copy()
        gf._inverse_transposed_into(itv, k, kern, gf._SERIAL)
        assert _dot(iu, v) == _dot(u, itv)


@pytest.mark.parametrize(("hardware", "wide"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize(("na", "nc", "count"), [(1, 1, 1), (1, 5, 5), (3, 3, 1), (7, 20, 14),
                                                 (33, 64, 32), (40, 100, 61), (100, 130, 40),
                                                 (10, 50, 60), (10, 80, 59)])
def test_middle_product_against_definition(
    hardware: bool, wide: bool | None, na: int, nc: int, count: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # P_r = sum_j a_j c_{j+r} (c_i = 0 beyond its length) with full 32-bit pieces, so the
    # products never need a reduction; small LOCAL_LOG so every code path runs.
    monkeypatch.setattr(gf, "LOCAL_LOG", 3)
    variant = gf._kernels(hardware, wide)
    monkeypatch.setattr(gf, "_kernels", lambda *_: variant)
    rng = np.random.default_rng(na * 1000 + nc + count)
    a = rng.integers(0, 1 << 32, na, dtype=np.uint64).astype(np.uint32)
    c = rng.integers(0, 1 << 32, nc, dtype=np.uint64).astype(np.uint32)
    expected = []
    for r in range(count):
        acc = 0
        for j in range(na):
            if j + r < nc:
                acc ^= gf.clmul_reference(int(a[j]), int(c[j + r]))
        expected.append(acc)
    got = gf._middle_pieces(a, c, count, hardware, 2)
    assert [int(v) for v in got] == expected


def test_middle_plan_cuts_the_outputs_when_the_size_lies_just_above_a_power_of_two() -> None:
    # A Toeplitz hash of n = 10^8 bits to ell = n/2: 3,125,000 input pieces and 1,562,501 output
    # pieces. In one range the transform needs 2^23 points (4,687,500 > 2^22); in two ranges of
    # 781,251 outputs each needs 3,906,250 <= 2^22 points, and 1 + 2*2 transforms of 2^22 points
    # (22 levels) are less work than 3 of 2^23 (23 levels).
    assert gf._middle_plan(3_125_000, 1_562_501) == (2, 22)
    # At n = 10^7 the one range already fills 2^19 points to 89 %: no cut.
    assert gf._middle_plan(312_500, 156_251) == (1, 19)
    # The small cases of test_middle_product_against_definition run in 2 and 3 ranges.
    assert gf._middle_plan(7, 14) == (2, 4)
    assert gf._middle_plan(10, 60) == (3, 5)
    assert gf._middle_plan(10, 59)[0] == 3


def test_hardware_request_without_instruction_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gf, "HAS_PCLMUL", False)
    with pytest.raises(RuntimeError, match="carry-less"):
        gf._kernels(True)
    monkeypatch.setattr(gf, "HAS_PCLMUL", True)
    monkeypatch.setattr(gf, "HAS_WIDE_CLMUL", False)
    with pytest.raises(RuntimeError, match="256-bit"):
        gf._kernels(True, True)
