"""Decoy-state consistency fit (Lo, Ma, Chen, PRL 94, 230504 (2005): Q_μ = Y_0 + 1 − e^{−ημ}).

References: an independent two-parameter minimisation of the same Pearson χ² (Nelder–Mead on
both parameters, no closed-form Y_0), the exact model counts, and the null distribution of the
signed statistic on simulated honest blocks (it must be standard normal: the level is exact).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from evaltool.engines.leakage import decoy_consistency, decoy_noncentrality
from evaltool.errors import InsufficientDataError

# The simulated link of docs/scenarios.md: 50 km at 0.2 dB/km, detector efficiency 10 %
# (η = 0.01), p_dc = 6e-7, intensities 0.5 / 0.15 / 2e-4 with probabilities 0.6 / 0.3 / 0.1,
# about 1.65e9 pulses per block; sifting 0.8² + 0.2² = 0.68 and open-gate fraction 0.82.
MU = np.array([0.5, 0.15, 0.0002])
PROB = np.array([0.6, 0.3, 0.1])
ETA, PDC, SCALE, PULSES = 0.01, 6e-7, 0.68 * 0.82, 1_647_428_720


def _probabilities(eta_k: np.ndarray) -> np.ndarray:
    return SCALE * (1.0 - (1.0 - 2 * PDC) * np.exp(-eta_k * MU))


def _blocks(rng: np.random.Generator, n_blocks: int, factor=(1.0, 1.0, 1.0)):
    sent = rng.multinomial(PULSES, PROB, size=n_blocks)
    det = rng.binomial(sent, _probabilities(ETA * np.asarray(factor)))
    return det, sent


def test_model_counts_fit_exactly() -> None:
    n = np.array([1e9, 5e8, 1.6e8])
    d = n * SCALE * (3e-6 - np.expm1(-0.0123 * MU))
    r = decoy_consistency(d, n, MU, scale=SCALE)
    assert r.statistic < 1e-8
    assert r.transmittance == pytest.approx(0.0123, rel=1e-7)
    assert r.background_yield == pytest.approx(3e-6, rel=1e-5)
    np.testing.assert_allclose(r.class_transmittance, 0.0123, rtol=1e-5)
    assert r.dof == 1


@pytest.mark.parametrize(("factor", "rel"), [(1.0, 1e-6), (0.97, 1e-4)])
def test_minimum_matches_an_independent_two_parameter_search(factor: float, rel: float) -> None:
    """The reweighted fit reaches the Pearson minimum to 1e-6 (absolute, honest blocks) and
    1e-4 relative on a 3 % deviation (χ² in the hundreds)."""
    rng = np.random.default_rng(11)
    det, sent = _blocks(rng, 5, factor=(1.0, factor, factor))
    for d, n in zip(det, sent, strict=True):
        r = decoy_consistency(d, n, MU, scale=SCALE)

        def pearson(x: np.ndarray, d=d, n=n) -> float:
            y0, eta = x[0] * 1e-6, x[1] * 1e-2
            e = n * SCALE * (y0 - np.expm1(-eta * MU))
            return float(np.sum((d - e) ** 2 / (e * (1 - e / n))))

        ref = optimize.minimize(pearson, [r.background_yield * 1e6 * 1.01,
                                          r.transmittance * 100 * 0.999],
                                method="Nelder-Mead",
                                options={"xatol": 1e-12, "fatol": 1e-12, "maxiter": 20000})
        assert r.statistic == pytest.approx(ref.fun, rel=rel, abs=1e-6)


def test_signed_statistic_is_standard_normal_under_the_null() -> None:
    """1,000 honest blocks: the one-sided test at α = 0.01 rejects a Binomial(1000, 0.01)
    number of times (99 % interval [3, 19]); KS test against N(0, 1)."""
    rng = np.random.default_rng(2026)
    det, sent = _blocks(rng, 1000)
    z = np.array([decoy_consistency(d, n, MU, scale=SCALE).z
                  for d, n in zip(det, sent, strict=True)])
    lo, hi = stats.binom.interval(0.99, 1000, 0.01)
    assert lo <= int(np.sum(stats.norm.sf(z) < 0.01)) <= hi
    assert stats.kstest(z, "norm").pvalue > 0.001
    assert abs(z.mean()) < 4 / math.sqrt(1000)


def test_pns_deviation_is_about_sixty_sigma_per_block() -> None:
    """Transmittance 0.9 x for the decoy and vacuum classes (the pns-no-decoy scenario):
    docs/scenarios.md quotes about 60 sd per block; the noncentrality predicts the shift."""
    rng = np.random.default_rng(5)
    det, sent = _blocks(rng, 20, factor=(1.0, 0.9, 0.9))
    fits = [decoy_consistency(d, n, MU, scale=SCALE) for d, n in zip(det, sent, strict=True)]
    z = np.array([f.z for f in fits])
    assert 55 < z.mean() < 66
    ratio = np.array([f.class_transmittance[1] / f.class_transmittance[0] for f in fits])
    assert ratio.mean() == pytest.approx(0.9, abs=0.002)
    lam = decoy_noncentrality(sent[0], MU, scale=SCALE, background_yield=2 * PDC,
                              transmittance=ETA, relative_deviation=0.1)
    assert math.sqrt(lam) == pytest.approx(z.mean(), rel=0.05)


def test_two_classes_have_no_degree_of_freedom() -> None:
    with pytest.raises(InsufficientDataError, match="3 needed"):
        decoy_consistency([10, 5], [100, 100], [0.5, 0.1])


def test_bad_inputs_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="distinct"):
        decoy_consistency([1, 1, 1], [10, 10, 10], [0.5, 0.5, 0.1])
    with pytest.raises(ValueError, match="trials"):
        decoy_consistency([11, 1, 1], [10, 10, 10], [0.5, 0.2, 0.1])
    with pytest.raises(ValueError, match="scale"):
        decoy_consistency([1, 1, 1], [10, 10, 10], [0.5, 0.2, 0.1], scale=0.0)


def test_four_classes_have_two_degrees_of_freedom() -> None:
    """Model counts for four intensities fit exactly; a 5 % drop of one class's transmittance
    gives a χ² with 2 degrees of freedom and no signed statistic."""
    mu = np.array([0.6, 0.3, 0.1, 0.001])
    n = np.array([1e9, 5e8, 3e8, 1e8])
    exact = n * 0.5 * (2e-6 - np.expm1(-0.01 * mu))
    r = decoy_consistency(exact, n, mu, scale=0.5)
    assert r.dof == 2 and math.isnan(r.z) and r.statistic < 1e-8
    bent = n * 0.5 * (2e-6 - np.expm1(-0.01 * mu * np.array([1, 0.95, 1, 1])))
    r = decoy_consistency(np.round(bent), n, mu, scale=0.5)
    assert r.pvalue == pytest.approx(stats.chi2.sf(r.statistic, 2))
    assert r.statistic > 100
