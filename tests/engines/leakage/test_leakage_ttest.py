"""Welch t-tests of orders 1–3 and the centred product against SCALib and direct preprocessing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaltool.engines.leakage import (
    MomentAccumulator,
    lagged_centred_product_t,
    welch_t,
    welch_t_from_moments,
)
from evaltool.errors import InsufficientDataError

VECTORS = Path(__file__).resolve().parents[3] / "test_vectors" / "leakage"


def _scalib_data() -> tuple[np.ndarray, np.ndarray]:
    """The data recipe of test_vectors/leakage/scalib_ttest_reference.py (make_data)."""
    rng = np.random.default_rng(20261127)
    labels = rng.integers(0, 2, 20_000)
    v = rng.integers(-300, 301, (20_000, 6))
    v[:, 1] += 3 * labels
    v[:, 2] = np.where(labels == 1, (v[:, 2] * 5) // 4, v[:, 2])
    v[:, 3] = np.where(labels == 1, (v[:, 3] * v[:, 3]) // 300 - 100, v[:, 3])
    return v.astype(np.int16), labels


def test_orders_2_and_3_match_scalib() -> None:
    # Reference: SCALib 0.6.4 Ttest(d=3) on the same data, test_vectors/leakage/scalib-ttest.json.
    # SCALib reports class 0 minus class 1; evaltool reports class 1 minus class 0.
    ref = np.array(json.loads((VECTORS / "scalib-ttest.json").read_text())["t"])
    x, lab = _scalib_data()
    acc = MomentAccumulator(6, max_moment=6)
    acc.update(x, lab)
    m = acc.moments()
    for order in (2, 3):
        ours = welch_t_from_moments(m, order=order).statistic
        np.testing.assert_allclose(-ours, ref[order - 1], rtol=1e-10)
    # The leaks were planted at sample 2 (variance) and 3 (skew); both are far beyond 4.5.
    assert abs(ref[1][2]) > 30 and abs(ref[2][3]) > 20


def test_order_1_matches_scalib_after_its_ddof() -> None:
    # SCALib's first-order variance divides by n; evaltool's by n − 1 (as scipy). Rescale.
    ref = np.array(json.loads((VECTORS / "scalib-ttest.json").read_text())["t"])
    x, lab = _scalib_data()
    acc = MomentAccumulator(6, max_moment=2)
    acc.update(x, lab)
    m = acc.moments()
    res = welch_t_from_moments(m)
    n0, n1 = res.n
    cs = m.central_sums[0]
    se_pop = np.sqrt(cs[0] / n0**2 + cs[1] / n1**2)
    np.testing.assert_allclose(-res.statistic * res.se / se_pop, ref[0], rtol=1e-10)


@pytest.mark.parametrize("order", [2, 3])
def test_higher_orders_match_direct_preprocessing(order: int) -> None:
    # Schneider & Moradi 2015, §4: y = (x − μ)² and y = ((x − μ)/σ)³ per class, then Welch's t
    # with population variances of y.
    rng = np.random.default_rng(order)
    x = rng.gamma(2.0, 1.0, (3000, 3)) + 100.0
    lab = rng.integers(0, 2, 3000)
    ours = welch_t(x, lab, order=order).statistic

    def pre(v: np.ndarray) -> np.ndarray:
        d = v - v.mean(0)
        return d**2 if order == 2 else (d / v.std(0)) ** 3

    y1, y0 = pre(x[lab == 1]), pre(x[lab == 0])
    direct = (y1.mean(0) - y0.mean(0)) / np.sqrt(y1.var(0) / len(y1) + y0.var(0) / len(y0))
    np.testing.assert_allclose(ours, direct, rtol=1e-9)


def test_centred_product_matches_direct_two_pass() -> None:
    rng = np.random.default_rng(9)
    lab = rng.integers(0, 2, 4001)
    x = rng.normal(0.0, 1.0, (4001, 2)) + 500.0
    # Pattern effect: pulse n follows pulse n-2 more strongly when pulse n is in class 1.
    x[2:, 0] += np.where(lab[2:] == 1, 0.3, 0.0) * (x[:-2, 0] - 500.0)
    res = lagged_centred_product_t(x, lab, lag=2, leaf_rows=100)
    a, b, l = x[2:], x[:-2], lab[2:]
    stats = []
    for c in (0, 1):
        aa, bb = a[l == c], b[l == c]
        y = (aa - aa.mean(0)) * (bb - bb.mean(0))
        stats.append((y.mean(0), y.var(0), len(y)))
    (m0, v0, n0), (m1, v1, n1) = stats
    np.testing.assert_allclose(res.statistic, (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0), rtol=1e-9)
    assert res.statistic[0] > 4.5 and abs(res.statistic[1]) < 4.5


def test_lagged_pairs_are_independent_of_chunking() -> None:
    from evaltool.engines.leakage import LaggedPairAccumulator, centred_product_t

    rng = np.random.default_rng(2)
    x = rng.normal(size=(2500, 1))
    lab = rng.integers(0, 2, 2500)
    one = LaggedPairAccumulator(1, lag=3, leaf_rows=64)
    one.update(x, lab)
    many = LaggedPairAccumulator(1, lag=3, leaf_rows=64)
    for i in range(0, 2500, 2):  # chunks shorter than the lag
        many.update(x[i : i + 2], lab[i : i + 2])
    t1 = centred_product_t(one.comoments()).statistic
    t2 = centred_product_t(many.comoments()).statistic
    assert np.array_equal(t1, t2)
    assert one.comoments().n.sum() == 2500 - 3


def test_too_few_rows_in_a_class_is_insufficient_data() -> None:
    with pytest.raises(InsufficientDataError, match="at least 2 rows"):
        welch_t(np.arange(5.0), np.array([0, 0, 0, 0, 1]))


def test_order_needs_enough_moments() -> None:
    acc = MomentAccumulator(1, max_moment=4)
    acc.update(np.arange(10.0), np.arange(10) % 2)
    with pytest.raises(ValueError, match="central moments up to 6"):
        welch_t_from_moments(acc.moments(), order=3)


def test_constant_classes_give_a_non_finite_statistic_without_warnings() -> None:
    res = welch_t(np.ones(10), np.arange(10) % 2)
    assert not np.isfinite(res.statistic[0])
