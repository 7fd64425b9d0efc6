"""Streaming moments: canonical merge tree (bitwise invariance) and large-offset robustness."""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy import stats

from evaltool.engines.leakage import (
    ClassMoments,
    CoMomentAccumulator,
    MomentAccumulator,
    welch_t_from_moments,
)


def _same_bits(a: ClassMoments, b: ClassMoments) -> bool:
    return all(
        np.array_equal(x, y)
        for x, y in [
            (a.n, b.n),
            (a.shift, b.shift),
            (a.resid, b.resid),
            (a.central_sums, b.central_sums),
        ]
    )


def _data(n: int = 5000, features: int = 4, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = rng.normal(1000.0, 3.0, (n, features)) + 0.1 * labels[:, None]
    return x, labels


@pytest.mark.parametrize("chunk", [1, 7, 100, 127, 128, 129, 1000, 4999, 5000])
def test_result_is_bitwise_identical_whatever_the_chunk_size(chunk: int) -> None:
    x, lab = _data()
    whole = MomentAccumulator(4, 3, max_moment=6, leaf_rows=128)
    whole.update(x, lab)
    chunked = MomentAccumulator(4, 3, max_moment=6, leaf_rows=128)
    for i in range(0, len(x), chunk):
        chunked.update(x[i : i + chunk], lab[i : i + chunk])
    assert _same_bits(whole.moments(), chunked.moments())


def test_result_is_bitwise_identical_whatever_the_merge_order() -> None:
    x, lab = _data()
    whole = MomentAccumulator(4, 3, max_moment=6, leaf_rows=128)
    whole.update(x, lab)
    expected = whole.moments()
    # Four partitions with boundaries that do not fall on leaf edges.
    edges = [0, 333, 1500, 1501, 5000]
    parts = []
    for a, b in itertools.pairwise(edges):
        acc = MomentAccumulator(4, 3, max_moment=6, leaf_rows=128, start_row=a)
        acc.update(x[a:b], lab[a:b])
        parts.append(acc)
    for perm in itertools.permutations(range(4)):
        target = MomentAccumulator(4, 3, max_moment=6, leaf_rows=128, start_row=edges[perm[0]])
        target.update(
            x[edges[perm[0]] : edges[perm[0] + 1]], lab[edges[perm[0]] : edges[perm[0] + 1]]
        )
        for k in perm[1:]:
            target.merge(parts[k])
        assert _same_bits(target.moments(), expected), perm


def test_moments_match_a_two_pass_numpy_computation() -> None:
    x, lab = _data()
    acc = MomentAccumulator(4, 3, max_moment=6, leaf_rows=64)
    acc.update(x, lab)
    m = acc.moments()
    for c in range(3):
        xc = x[lab == c]
        assert m.n[c] == len(xc)
        np.testing.assert_allclose(m.mean()[c], xc.mean(axis=0), rtol=1e-14)
        d = xc - xc.mean(axis=0)
        for k in range(2, 7):
            np.testing.assert_allclose(
                m.central_sums[k - 2, c], (d**k).sum(axis=0), rtol=1e-9, atol=1e-9 * len(xc)
            )


def test_overlapping_rows_are_refused() -> None:
    x, lab = _data(300)
    a = MomentAccumulator(4, 3, leaf_rows=64)
    a.update(x, lab)
    b = MomentAccumulator(4, 3, leaf_rows=64, start_row=100)
    b.update(x[100:200], lab[100:200])
    with pytest.raises(ValueError, match="twice"):
        a.merge(b)


def test_different_configurations_are_not_merged() -> None:
    with pytest.raises(ValueError, match="configurations"):
        MomentAccumulator(2, leaf_rows=64).merge(MomentAccumulator(2, leaf_rows=128))


def test_non_finite_input_is_a_value_error() -> None:
    x = np.ones((10, 2))
    x[3, 1] = np.nan
    acc = MomentAccumulator(2, leaf_rows=4)
    with pytest.raises(ValueError, match="NaN"):
        acc.update(x, np.zeros(10, dtype=int))


def test_labels_out_of_range_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="labels"):
        MomentAccumulator(1, 2).update(np.ones(3), np.array([0, 1, 2]))


def test_an_empty_class_does_not_disturb_the_other() -> None:
    x, _ = _data(1000, 2)
    lab = np.zeros(1000, dtype=int)
    acc = MomentAccumulator(2, 3, leaf_rows=100)
    acc.update(x, lab)
    m = acc.moments()
    assert m.n.tolist() == [1000, 0, 0]
    np.testing.assert_allclose(m.central_sums[0, 0], ((x - x.mean(0)) ** 2).sum(0), rtol=1e-12)


def _time_tags(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pulse time tags in ps: offset 1e12 ps, jitter 10 ps, class 1 later by 0.2 ps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    tags = 1e12 + rng.normal(0.0, 10.0, n) + 0.2 * labels
    return tags, labels


def _exact_welch_t(tags: np.ndarray, labels: np.ndarray) -> mpmath.mpf:
    """Two-pass Welch t in 60-digit arithmetic on the exact float64 values."""
    with mpmath.workdps(60):
        moments = []
        for c in (0, 1):
            xs = [mpmath.mpf(float(v)) for v in tags[labels == c]]
            n = len(xs)
            mean = mpmath.fsum(xs) / n
            var = mpmath.fsum((v - mean) ** 2 for v in xs) / (n - 1)
            moments.append((mean, var, n))
        (m0, v0, n0), (m1, v1, n1) = moments
        return (m1 - m0) / mpmath.sqrt(v1 / n1 + v0 / n0)


@functools.cache
def _acceptance_case() -> tuple[np.ndarray, np.ndarray, float]:
    tags, labels = _time_tags(60_000, seed=3)
    return tags, labels, float(_exact_welch_t(tags, labels))


def test_t_on_picosecond_tags_with_1e12_offset_matches_exact_arithmetic() -> None:
    # Acceptance of issue 7: offset 1e12 ps, true difference 0.2 ps, t equal to an exact
    # two-pass computation to 1e-9 relative, for any chunk size.
    tags, labels, exact = _acceptance_case()
    assert abs(exact) > 1.0  # the planted 0.2 ps difference is visible at this n
    results = []
    for chunk in (60_000, 4096, 1000, 333):
        acc = MomentAccumulator(1, 2)
        for i in range(0, len(tags), chunk):
            acc.update(tags[i : i + chunk], labels[i : i + chunk])
        t = welch_t_from_moments(acc.moments()).statistic[0]
        assert t == pytest.approx(exact, rel=1e-9)
        results.append(t)
    assert len(set(results)) == 1  # bitwise identical


def test_naive_power_sums_fail_where_the_accumulator_does_not() -> None:
    # The failure mode of accumulating raw power sums Σx, Σx² in float64 (catastrophic
    # cancellation, which the shifted, pairwise-merged moments of docs/methods/leakage.md avoid).
    tags, labels, exact = _acceptance_case()
    naive = []
    for c in (0, 1):
        v = tags[labels == c]
        s1, s2, n = v.sum(), (v * v).sum(), len(v)
        naive.append((s1 / n, (s2 - s1 * s1 / n) / (n - 1), n))
    (m0, v0, n0), (m1, v1, n1) = naive
    with np.errstate(invalid="ignore"):
        t_naive = (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0)
    assert not abs(t_naive - exact) < 0.01 * abs(exact)


def test_first_order_t_matches_scipy_welch() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    lab = rng.integers(0, 2, 400)
    x[lab == 1, 0] += 0.3
    acc = MomentAccumulator(3, leaf_rows=64)
    acc.update(x, lab)
    ours = welch_t_from_moments(acc.moments())
    ref = stats.ttest_ind(
        x[lab == 1].astype(np.float64), x[lab == 0].astype(np.float64), equal_var=False
    )
    np.testing.assert_allclose(ours.statistic, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(ours.pvalue, ref.pvalue, rtol=1e-10)
    np.testing.assert_allclose(ours.df, ref.df, rtol=1e-12)


def test_comoments_are_chunk_invariant_and_match_numpy() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(50.0, 2.0, (3000, 2))
    b = a * 0.5 + rng.normal(50.0, 1.0, (3000, 2))
    lab = rng.integers(0, 2, 3000)
    whole = CoMomentAccumulator(2, leaf_rows=256)
    whole.update(a, b, lab)
    parts = CoMomentAccumulator(2, leaf_rows=256)
    for i in range(0, 3000, 700):
        parts.update(a[i : i + 700], b[i : i + 700], lab[i : i + 700])
    m1, m2 = whole.comoments(), parts.comoments()
    assert np.array_equal(m1.sums, m2.sums) and np.array_equal(m1.resid, m2.resid)
    for c in (0, 1):
        da = a[lab == c] - a[lab == c].mean(0)
        db = b[lab == c] - b[lab == c].mean(0)
        for p, q in [(1, 1), (2, 1), (1, 2), (2, 2), (2, 0), (0, 2)]:
            np.testing.assert_allclose(
                m1.sums[p, q, c], (da**p * db**q).sum(0), rtol=1e-9, atol=1e-9
            )


def test_t_on_a_million_time_tags_matches_exact_integer_arithmetic() -> None:
    # Same acceptance at 10^6 pulses: every tag is a multiple of 2^-13 ps (the float64 spacing
    # near 1e12), so tag · 2^13 is an exact integer and the two-pass moments are exact rationals.
    tags, labels = _time_tags(1_000_000, seed=8)
    scale = 2**13
    ints = (tags * scale).astype(np.int64)
    assert np.array_equal(ints.astype(np.float64) / scale, tags)
    parts = []
    for c in (0, 1):
        v = [int(i) for i in ints[labels == c]]
        n, s1, s2 = len(v), sum(v), sum(i * i for i in v)
        mean = Fraction(s1, n * scale)
        var = Fraction(n * s2 - s1 * s1, n * (n - 1) * scale * scale)
        parts.append((mean, var, n))
    (m0, v0, n0), (m1, v1, n1) = parts
    diff, se2 = m1 - m0, v1 / n1 + v0 / n0
    with mpmath.workdps(40):
        num = mpmath.mpf(diff.numerator) / diff.denominator
        exact = float(num / mpmath.sqrt(mpmath.mpf(se2.numerator) / se2.denominator))
    acc = MomentAccumulator(1, 2)
    for i in range(0, len(tags), 100_000):
        acc.update(tags[i : i + 100_000], labels[i : i + 100_000])
    assert welch_t_from_moments(acc.moments()).statistic[0] == pytest.approx(exact, rel=1e-9)


def test_default_leaf_size_depends_only_on_the_feature_count() -> None:
    from evaltool.engines.leakage import default_leaf_rows

    # About 2^19 values per leaf, as a power of two clamped to [1024, 65536] rows.
    assert [default_leaf_rows(f) for f in (1, 8, 100, 500, 5000)] == [
        65536,
        65536,
        4096,
        1024,
        1024,
    ]
    assert MomentAccumulator(100).leaf_rows == 4096
