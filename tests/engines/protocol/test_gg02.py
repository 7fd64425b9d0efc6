"""GG02 composable finite-size bound (evaltool.engines.protocol.gg02; docs/protocols.md, GG02)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from evaltool.engines.protocol import gg02 as g
from tests.support import REPO

REFERENCE = json.loads(
    (REPO / "test_vectors/protocol/gg02/reference-code.json").read_text(encoding="utf-8"))
EPS = REFERENCE["eps"]


def _arrays(det: str) -> dict[str, np.ndarray]:
    rows = REFERENCE["points"][det]
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}


def _engine(det: str, p: dict[str, np.ndarray]) -> tuple[g.WorstCase, g.GG02KeyLength]:
    pe_symbols = np.round(p["n_bks"] * p["N"] * p["Mfrac"])
    pe_symbols = (pe_symbols // p["n_bks"]) * p["n_bks"]  # the reference's int(M / n_bks) per frame
    values = pe_symbols if det == "homodyne" else 2 * pe_symbols
    wc = g.expected_worst_case(det, p["VA"], p["T"], p["xi"], p["eta"], p["v_el"], values, EPS)
    res = g.composable_key_length(
        det, modulation_variance=p["VA"], worst=wc, eta=p["eta"], v_el=p["v_el"], beta=p["beta"],
        frame_symbols=p["N"], frames=p["n_bks"], pe_symbols=pe_symbols, p_ec=p["p_ec"],
        bits_per_quadrature=p["p"], eps_s=EPS, eps_h=EPS, eps_cor=EPS, eps_pe=EPS, eps_ent=EPS)
    return wc, res


@pytest.mark.parametrize("det", ["homodyne", "heterodyne"])
def test_agrees_with_the_authors_reference_code_on_24_points(det: str) -> None:
    # 24 points per detection (test_vectors/protocol/gg02/reference-code.json), 45 of 48 with a
    # positive key. Homodyne agrees to 1e-12 relative; hetCVQKD rounds its symplectic
    # eigenvalues to float32, hence 1e-5 bits per symbol there (1e-13 when it keeps float64).
    p = _arrays(det)
    assert len(p["T"]) == 24
    info = g.mutual_information(det, p["VA"], p["T"], p["xi"], p["eta"], p["v_el"])
    chi = g.holevo_bound(det, p["VA"], p["T"], p["xi"], p["eta"], p["v_el"])
    wc, res = _engine(det, p)
    np.testing.assert_allclose(info, p["I"], rtol=1e-12)
    np.testing.assert_allclose(wc.transmissivity_worst, p["T_M"], rtol=1e-12)
    np.testing.assert_allclose(wc.excess_noise_worst, p["xi_M"], rtol=1e-12)
    if det == "homodyne":
        np.testing.assert_allclose(chi, p["chi"], rtol=1e-12)
        np.testing.assert_allclose(res.key_rate, p["key_rate"], rtol=1e-11, atol=1e-13)
    else:
        np.testing.assert_allclose(chi, p["chi"], rtol=0, atol=1e-5)
        np.testing.assert_allclose(res.key_rate, p["key_rate"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("t", [0.05, 0.1, 0.5, 0.9])
def test_pure_loss_limits_of_large_modulation(t: float) -> None:
    # Pure loss, ideal detection, beta = 1, V_A -> infinity: homodyne RR gives
    # (1/2) log2(1/(1-T)); heterodyne RR gives g((2-T)/T) + log2(T / (e (1-T))).
    va = 1e8
    hom = g.asymptotic_key_rate("homodyne", va, t, 0.0, 1.0, 0.0, 1.0)
    het = g.asymptotic_key_rate("heterodyne", va, t, 0.0, 1.0, 0.0, 1.0)
    assert float(hom) == pytest.approx(0.5 * math.log2(1 / (1 - t)), abs=1e-6)
    expect = float(g.g_entropy((2 - t) / t)) + math.log2(t / (math.e * (1 - t)))
    assert float(het) == pytest.approx(expect, abs=1e-6)


def test_entropy_function() -> None:
    assert float(g.g_entropy(1.0)) == 0.0
    assert float(g.g_entropy(3.0)) == pytest.approx(2.0, abs=1e-15)  # 2 log2 2 - 1 log2 1


def test_noise_costs_key_and_helps_eve() -> None:
    xi = np.linspace(0.0, 0.1, 11)
    chi = g.holevo_bound("homodyne", 10.0, 0.5, xi, 0.7, 0.05)
    rate = g.asymptotic_key_rate("homodyne", 10.0, 0.5, xi, 0.7, 0.05, 0.95)
    assert np.all(np.diff(chi) > 0) and np.all(np.diff(rate) < 0)


def test_vectorised_equals_pointwise() -> None:
    rng = np.random.default_rng(3)
    t, xi = rng.uniform(0.05, 0.95, 50), rng.uniform(0, 0.05, 50)
    whole = g.asymptotic_key_rate("heterodyne", 8.0, t, xi, 0.8, 0.1, 0.95)
    single = [float(g.asymptotic_key_rate("heterodyne", 8.0, a, b, 0.8, 0.1, 0.95))
              for a, b in zip(t, xi, strict=True)]
    np.testing.assert_array_equal(whole, single)


def test_worst_case_from_estimates_matches_expected_at_the_truth() -> None:
    # With the estimates at the true values, the data-driven worst case equals the planning one.
    eta, v_el, t, xi, va, m = 0.8, 0.1, 0.4, 0.02, 10.0, 10**7
    sigma2 = 1 + v_el + eta * t * xi
    data = g.worst_case_from_estimates("homodyne", va, math.sqrt(eta * t), sigma2, m, eta,
                                       v_el, EPS)
    plan = g.expected_worst_case("homodyne", va, t, xi, eta, v_el, m, EPS)
    assert float(data.transmissivity_worst) == pytest.approx(
        float(plan.transmissivity_worst), rel=1e-12)
    assert float(data.excess_noise_worst) == pytest.approx(float(plan.excess_noise_worst),
                                                           rel=1e-12)
    assert float(data.excess_noise_hat) == pytest.approx(xi, rel=1e-12)


def test_key_length_is_floored_and_zero_without_key() -> None:
    wc = g.expected_worst_case("homodyne", 20.0, 0.5, 0.01, 0.8, 0.1, 10**7, EPS)
    res = g.composable_key_length(
        "homodyne", modulation_variance=20.0, worst=wc, eta=0.8, v_el=0.1, beta=0.95,
        frame_symbols=10**6, frames=100, pe_symbols=10**7, p_ec=0.9, bits_per_quadrature=7,
        eps_s=EPS, eps_h=EPS)
    total = 0.9 * 100 * 9e5 * float(res.rate_per_key_symbol)
    assert int(res.ell) == math.floor(total) > 0
    bad = g.expected_worst_case("homodyne", 20.0, 0.5, 0.3, 0.8, 0.1, 10**7, EPS)
    none = g.composable_key_length(
        "homodyne", modulation_variance=20.0, worst=bad, eta=0.8, v_el=0.1, beta=0.95,
        frame_symbols=10**6, frames=100, pe_symbols=10**7, p_ec=0.9, bits_per_quadrature=7,
        eps_s=EPS, eps_h=EPS)
    assert float(none.key_rate) < 0 and int(none.ell) == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"excess_noise": -0.01}, "excess_noise must not be negative"),
    ({"transmissivity": 1.2}, "transmissivity must lie in"),
    ({"eta": 0.0}, "eta must lie in"),
    ({"v_el": -1.0}, "v_el must not be negative"),
])
def test_physically_impossible_channels_are_refused(kwargs: dict[str, float],
                                                     message: str) -> None:
    args = {"transmissivity": 0.5, "excess_noise": 0.01, "eta": 0.8, "v_el": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        g.expected_worst_case("homodyne", 10.0, args["transmissivity"], args["excess_noise"],
                              args["eta"], args["v_el"], 10**6, EPS)


def test_unknown_detection_is_refused() -> None:
    with pytest.raises(ValueError, match="homodyne or heterodyne"):
        g.mutual_information("direct", 1.0, 0.5, 0.0, 1.0, 0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("det", ["homodyne", "heterodyne"])
def test_agrees_with_the_qkd_package_on_24_points(det: str) -> None:
    # Second independent peer, asymptotic I and chi (test_vectors/protocol/gg02/qkd-package.json).
    # The package counts heterodyne electronic noise per detector: twice that is evaltool's v_el.
    doc = json.loads((REPO / "test_vectors/protocol/gg02/qkd-package.json").read_text("utf-8"))
    rows = doc["points"][det]
    assert len(rows) == 24
    p = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    v_el = p["v_el"] * (1.0 if det == "homodyne" else 2.0)
    info = g.mutual_information(det, p["va"], p["T"], p["xi"], p["eta"], v_el)
    chi = g.holevo_bound(det, p["va"], p["T"], p["xi"], p["eta"], v_el)
    np.testing.assert_allclose(info, p["i_qkd"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(chi, p["chi_qkd"], rtol=1e-12, atol=1e-13)
