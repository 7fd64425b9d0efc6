"""χ²/G independence tests, bin-width sweep, and the MI/TVD leakage bounds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evaltool.engines.leakage import (
    ContingencyAccumulator,
    chi2_sweep,
    independence_test,
    mutual_information,
    pool_sparse_bins,
    suggest_binning,
    total_variation_distance,
)
from evaltool.errors import InsufficientDataError

TABLE = np.array([[30, 45, 60, 25], [20, 55, 50, 45]])


@pytest.mark.parametrize(("method", "lambda_"), [("chi2", None), ("g", "log-likelihood")])
def test_independence_test_matches_scipy(method: str, lambda_: str | None) -> None:
    # Reference: scipy.stats.chi2_contingency (Pearson and log-likelihood ratio), no continuity
    # correction; every expected count is >= 5 so no bin is pooled.
    ours = independence_test(TABLE, method=method)
    ref = stats.chi2_contingency(TABLE, correction=False, lambda_=lambda_)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours.dof == ref.dof == 3


def test_sparse_bins_are_pooled_until_expected_counts_reach_five() -> None:
    tab = np.array([[1, 0, 30, 2, 40, 1], [0, 2, 25, 1, 50, 0]])
    pooled = pool_sparse_bins(tab)
    assert pooled.sum() == tab.sum()
    expected = np.outer(pooled.sum(1), pooled.sum(0)) / pooled.sum()
    assert expected.min() >= 5.0
    # Left to right: [1,0,30 | 0,2,25] closes the first column, the rest the second.
    assert pooled.tolist() == [[31, 43], [27, 51]]


def test_a_constant_feature_gives_no_evidence() -> None:
    res = independence_test(np.array([[50], [70]]))
    assert (res.statistic, res.pvalue, res.dof) == (0.0, 1.0, 0)


def test_one_class_only_is_insufficient_data() -> None:
    with pytest.raises(InsufficientDataError):
        independence_test(np.array([[5, 6], [0, 0]]))


def test_coarse_tables_equal_direct_binning_at_the_coarse_width() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(1e12, 10.0, 20_000)
    lab = rng.integers(0, 2, 20_000)
    origin, width = float(x[0]), 0.37
    acc = ContingencyAccumulator(2, bin_width=width, origin=origin)
    for i in range(0, 20_000, 3001):
        acc.update(x[i : i + 3001], lab[i : i + 3001])
    for m in (1, 4, 16):
        bins, tab = acc.table(m)
        direct = np.floor(np.floor((x - origin) / width) / m).astype(np.int64)
        for c in (0, 1):
            u, cnt = np.unique(direct[lab == c], return_counts=True)
            got = dict(zip(bins.tolist(), tab[c].tolist(), strict=True))
            assert all(got[b] == k for b, k in zip(u.tolist(), cnt.tolist(), strict=True))
        assert tab.sum() == 20_000


def test_sweep_detects_a_jitter_shape_difference_that_means_miss() -> None:
    # Same mean, same variance, different shape: class 1 is bimodal (±σ), class 0 Gaussian.
    rng = np.random.default_rng(8)
    n = 20_000
    lab = rng.integers(0, 2, n)
    x = np.where(lab == 1, rng.choice([-1.0, 1.0], n) + rng.normal(0, 0.1, n), rng.normal(0, 1, n))
    origin, width = suggest_binning(x[:4096])
    acc = ContingencyAccumulator(2, bin_width=width, origin=origin)
    acc.update(x, lab)
    sweep = chi2_sweep(acc)
    assert sweep.pvalue < 1e-10
    assert len(sweep.tests) == 7 and sweep.pvalues_holm.min() == sweep.pvalue
    t = stats.ttest_ind(x[lab == 1], x[lab == 0], equal_var=False)
    assert abs(t.statistic) < 4.5


def test_sweep_under_independence_is_not_significant() -> None:
    rng = np.random.default_rng(10)
    x = rng.normal(0, 1, 10_000)
    lab = rng.integers(0, 2, 10_000)
    origin, width = suggest_binning(x[:4096])
    acc = ContingencyAccumulator(2, bin_width=width, origin=origin)
    acc.update(x, lab)
    assert chi2_sweep(acc).pvalue > 1e-3


def test_mutual_information_plugin_and_miller_madow_by_hand() -> None:
    tab = np.array([[40, 10], [10, 40]])
    # Plug-in MI of this symmetric table: 1 − H2(0.2) bits = 0.278071905... (H2 binary entropy).
    h2 = -(0.2 * np.log2(0.2) + 0.8 * np.log2(0.8))
    res = mutual_information(tab, n_resamples=200, rng=1)
    assert res.plugin == pytest.approx(1.0 - h2, rel=1e-12)
    # Miller–Madow: + (m_X + m_Y − m_XY − 1)/(2N ln 2) = (2 + 2 − 4 − 1)/(200 ln 2) bits.
    assert res.value == pytest.approx(1.0 - h2 - 1.0 / (200 * np.log(2)), rel=1e-12)
    assert res.ci[0] < res.value < res.ci[1]
    assert res.unit == "bit" and res.seed == 1


def test_tvd_plugin_by_hand_and_seed_reproducibility() -> None:
    tab = np.array([[60, 30, 10], [30, 30, 40]])
    # ½(|0.6 − 0.3| + |0.3 − 0.3| + |0.1 − 0.4|) = 0.3.
    a = total_variation_distance(tab, n_resamples=300, rng=5)
    b = total_variation_distance(tab, n_resamples=300, rng=5)
    assert a.plugin == pytest.approx(0.3, rel=1e-12)
    assert (a.value, a.ci) == (b.value, b.ci)
    assert a.ci[0] < 0.3 < a.ci[1]


def test_tvd_interval_covers_the_true_value() -> None:
    # True TVD between p = (0.5, 0.3, 0.2) and q = (0.4, 0.3, 0.3) is 0.1; 95 % intervals should
    # cover it in most of 40 repetitions (binomial(40, 0.95) gives >= 34 with prob. > 0.99).
    rng = np.random.default_rng(12)
    covered = 0
    for _ in range(40):
        tab = np.stack(
            [rng.multinomial(3000, [0.5, 0.3, 0.2]), rng.multinomial(3000, [0.4, 0.3, 0.3])]
        )
        res = total_variation_distance(tab, n_resamples=400, rng=rng)
        covered += res.ci[0] <= 0.1 <= res.ci[1]
    assert covered >= 34


def test_mi_bias_correction_shrinks_the_null_estimate() -> None:
    # Under independence the plug-in MI is biased upwards by about (r−1)(c−1)/(2N ln 2) bits.
    rng = np.random.default_rng(3)
    tab = np.stack([rng.multinomial(500, [0.1] * 10), rng.multinomial(500, [0.1] * 10)])
    res = mutual_information(tab, n_resamples=300, rng=0)
    assert res.value < res.plugin
    assert res.ci[0] == 0.0


def test_mutual_information_interval_covers_the_true_value() -> None:
    # Equal class priors, p = (0.5, 0.3, 0.2), q = (0.4, 0.3, 0.3): I = H(m) − (H(p) + H(q))/2
    # with m the mixture (exact value computed here in closed form).
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.3, 0.3])

    def h(v: np.ndarray) -> float:
        return float(-(v * np.log2(v)).sum())

    truth = h((p + q) / 2) - (h(p) + h(q)) / 2
    rng = np.random.default_rng(13)
    covered = 0
    for _ in range(40):
        tab = np.stack([rng.multinomial(3000, p), rng.multinomial(3000, q)])
        res = mutual_information(tab, n_resamples=400, rng=rng)
        covered += res.ci[0] <= truth <= res.ci[1]
    assert covered >= 34


def test_too_many_bins_is_an_evidence_error() -> None:
    from evaltool.errors import EvidenceError

    acc = ContingencyAccumulator(2, bin_width=1.0, max_bins=100)
    with pytest.raises(EvidenceError, match="more than 100 bins"):
        acc.update(np.arange(1000.0), np.zeros(1000, dtype=int))
