"""SNR, Welch's ANOVA, error control and the minimum detectable effect."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evaltool.engines.leakage import (
    MomentAccumulator,
    benjamini_hochberg,
    confirm_two_datasets,
    holm,
    minimum_detectable_effect,
    rows_for_effect,
    sidak,
    sidak_t_threshold,
    snr,
    tvla_family_alpha,
    welch_anova,
    welch_t,
)
from evaltool.errors import InsufficientDataError


def _moments(x: np.ndarray, lab: np.ndarray, k: int) -> MomentAccumulator:
    acc = MomentAccumulator(x.shape[1], k, leaf_rows=256)
    acc.update(x, lab)
    return acc


def _imbalanced(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    # Decoy-state intensity classes 70/20/10 with different spreads.
    rng = np.random.default_rng(seed)
    lab = rng.choice(3, 6000, p=[0.7, 0.2, 0.1])
    sd = np.array([1.0, 2.0, 0.5])[lab]
    x = 1e9 + np.stack([rng.normal(0, 1, 6000) * sd + 0.2 * lab, rng.normal(0, 1, 6000) * sd], 1)
    return x, lab


def test_welch_anova_with_two_classes_is_welch_t_squared() -> None:
    # Welch 1951: for k = 2 the statistic reduces to t² and ν₂ to the Welch–Satterthwaite df.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 2))
    lab = rng.integers(0, 2, 500)
    x[lab == 1] *= 2.0
    a = welch_anova(_moments(x, lab, 2).moments())
    t = welch_t(x, lab)
    np.testing.assert_allclose(a.statistic, t.statistic**2, rtol=1e-12)
    np.testing.assert_allclose(a.df_den, t.df, rtol=1e-12)
    np.testing.assert_allclose(a.pvalue, t.pvalue, rtol=1e-9)


def test_welch_anova_matches_the_1951_formulas_on_raw_data() -> None:
    x, lab = _imbalanced()
    res = welch_anova(_moments(x, lab, 3).moments())
    for j in range(2):
        groups = [x[lab == c, j] - 1e9 for c in range(3)]
        n = np.array([len(g) for g in groups], float)
        m = np.array([g.mean() for g in groups])
        w = n / np.array([g.var(ddof=1) for g in groups])
        mw = (w * m).sum() / w.sum()
        lam = ((1 - w / w.sum()) ** 2 / (n - 1)).sum()
        f = ((w * (m - mw) ** 2).sum() / 2) / (1 + 2 * 1 * lam / 8)
        assert res.statistic[j] == pytest.approx(f, rel=1e-8)
        assert res.df_den[j] == pytest.approx(8 / (3 * lam), rel=1e-9)
        assert res.pvalue[j] == pytest.approx(stats.f.sf(f, 2, 8 / (3 * lam)), rel=1e-6)
    assert res.pvalue[0] < 1e-6 < 0.01 < res.pvalue[1]


def test_snr_weights_imbalanced_classes_by_their_counts() -> None:
    x, lab = _imbalanced()
    res = snr(_moments(x, lab, 3).moments())
    for j in range(2):
        p = np.bincount(lab) / len(lab)
        # x − 1e9 is exact (Sterbenz), so this reference keeps full precision.
        means = np.array([(x[lab == c, j] - 1e9).mean() for c in range(3)])
        var = np.array([x[lab == c, j].var() for c in range(3)])
        grand = (p * means).sum()
        assert res.statistic[j] == pytest.approx(
            (p * (means - grand) ** 2).sum() / (p * var).sum(), rel=1e-7
        )


def test_snr_needs_two_classes() -> None:
    acc = MomentAccumulator(1, 3)
    acc.update(np.arange(5.0), np.zeros(5, dtype=int))
    with pytest.raises(InsufficientDataError):
        snr(acc.moments())


def test_holm_by_hand() -> None:
    # Sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone 0.06.
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(1).uniform(size=50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p), rtol=1e-12)


@pytest.mark.parametrize(
    ("m", "alpha", "expected"),
    # Šidák thresholds |t| = z_{1 - a/2} with a = 1 - (1 - alpha)^(1/m) (normal approximation),
    # computed independently of evaltool when the test was written, to 2 decimals.
    [
        (1, 1e-5, 4.42),
        (10**3, 1e-5, 5.73),
        (10**4, 0.05, 4.56),
        (10**6, 0.05, 5.45),
        (10**8, 1e-5, 7.44),
    ],
)
def test_sidak_thresholds_match_the_published_table(m: int, alpha: float, expected: float) -> None:
    assert round(sidak_t_threshold(m, alpha), 2) == expected


def test_family_alarm_probability_of_tvla_over_1e4_points() -> None:
    # Same table: P(at least one |t| > 4.5 among 10⁴ null points) ≈ 0.066.
    assert tvla_family_alpha() == pytest.approx(6.8e-6, rel=0.01)
    assert sidak(np.full(10**4, tvla_family_alpha()))[0] == pytest.approx(0.066, abs=0.001)


def test_two_dataset_confirmation_rule() -> None:
    a = np.array([5.0, -6.0, 4.6, 1.0, 7.0])
    b = np.array([4.7, -5.0, 3.0, 9.0, -7.0])
    assert confirm_two_datasets(a, b).tolist() == [True, True, False, False, False]
    assert confirm_two_datasets(a, b, same_sign=False).tolist() == [True, True, False, False, True]


def test_mde_gives_the_nominal_power_by_simulation() -> None:
    # 4000 replicate features, true shift equal to the MDE at |t| > 3 and power 0.8:
    # about 80 % of them must be detected (binomial sd 0.6 %).
    rng = np.random.default_rng(21)
    n = 500
    mde = minimum_detectable_effect(np.sqrt(2.0 / n), critical=3.0, power=0.8).mde[0]
    lab = np.repeat([0, 1], n)
    x = rng.normal(size=(2 * n, 4000))
    x[n:] += mde
    t = welch_t(x, lab).statistic
    assert np.mean(np.abs(t) > 3.0) == pytest.approx(0.8, abs=0.03)


def test_rows_for_effect_inverts_the_mde() -> None:
    n = rows_for_effect(0.05, critical=4.5, power=0.8)
    se = np.sqrt(1 / (n / 2) + 1 / (n / 2))
    assert minimum_detectable_effect(se, critical=4.5).mde[0] <= 0.05
    assert n == pytest.approx(4 * ((4.5 + stats.norm.ppf(0.8)) / 0.05) ** 2, rel=1e-4)


def _binomial_99_upper(n: int, p: float) -> int:
    return int(stats.binom.ppf(0.995, n, p))


def test_t_false_positive_rate_under_h0_is_nominal() -> None:
    # 4000 null features: the share with p < 0.05 must lie in the binomial 99 % interval.
    rng = np.random.default_rng(30)
    x = rng.normal(size=(600, 4000)) * 3.0 + 1e6
    lab = rng.integers(0, 2, 600)
    for order in (1, 2):
        hits = int((welch_t(x, lab, order=order).pvalue < 0.05).sum())
        lo, hi = stats.binom.ppf([0.005, 0.995], 4000, 0.05)
        assert lo <= hits <= hi, (order, hits)


def test_chi2_sweep_false_positive_rate_over_200_null_seeds() -> None:
    # Holm across the widths keeps the sweep at or below its nominal α (200 seeds, α = 0.05).
    from evaltool.engines.leakage import ContingencyAccumulator, chi2_sweep, suggest_binning

    hits = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=2000)
        lab = rng.integers(0, 2, 2000)
        origin, width = suggest_binning(x[:1024])
        acc = ContingencyAccumulator(2, bin_width=width, origin=origin)
        acc.update(x, lab)
        hits += chi2_sweep(acc).pvalue < 0.05
    assert hits <= _binomial_99_upper(200, 0.05)
