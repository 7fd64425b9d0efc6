"""Finite-key bounds: reference vectors, edge cases (docs/methods/finite-key.md), vectorisation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from evaltool.engines.protocol.finite_key import (
    BOUNDS,
    binary_entropy,
    get_bound,
    hoeffding_delta,
    key_length,
    sampling_gamma,
    verification_hash_min_bits,
)

REFERENCE = (
    Path(__file__).resolve().parents[3] / "test_vectors" / "protocol" / "bounds" / "reference.json"
)


@pytest.fixture(scope="module")
def reference() -> dict:
    # Independent mpmath computation, see the provenance block of the file.
    return json.loads(REFERENCE.read_text())


def _lim_inputs(ref: dict) -> dict:
    v = ref["lim2014_regression"]["inputs"]
    return {
        "intensities": v["intensities"],
        "probabilities": v["probabilities"],
        "key_detections": v["key_detections"],
        "key_errors": v["key_errors"],
        "test_detections": v["test_detections"],
        "test_errors": v["test_errors"],
        "ec_leakage_bits": v["ec_leakage_bits"],
        "eps_sec": v["eps_sec"],
        "eps_cor": v["eps_cor"],
    }


def test_lim2014_regression_vector(reference: dict) -> None:
    # Inputs: the Lim 2014 block of reference.json (Sec. IV model, n_X = 1e7, 50 km, key basis X).
    # Expected: test_vectors/protocol/bounds/reference.json, an independent 50-digit mpmath
    # implementation (generate_reference.py).
    kw = _lim_inputs(reference)
    res = key_length("lim2014", **kw)
    want = reference["lim2014_regression"]["outputs"]
    assert int(res.ell) == want["ell"] == 2_600_927
    for name in ("s1", "s1_test", "v1_test", "phi", "ell_real"):
        assert float(getattr(res, name)) == pytest.approx(want[name], rel=1e-10), name
    # The vacuum bound is negative before clipping here (the Hoeffding term on the basis total,
    # 11,417, exceeds the 2,244 vacuum-decoy detections) and must be clipped (finite-key.md,
    # choice 2).
    assert float(res.s0) == 0.0 == want["s0"]
    # Plausibility: an independent optimisation of the Sec. IV model gave phi_K ≈ 0.055 here.
    assert 0.05 < float(res.phi) < 0.06
    assert res.bound == "lim2014" and res.bound_version == "1"
    assert res.statistic is res.ell


def test_lim2014_vacuum_clip_changes_s1() -> None:
    # finite-key.md, choice 2: a negative s0 enters Eq. (3) as 0 (the true vacuum count is never
    # negative, so 0 is still a valid lower bound); Eq. (3) grows with s0, so s1 exceeds its raw-s0
    # value.
    mu = np.array([0.411, 0.2198, 0.0002])
    p = np.array([0.3773, 0.4455, 0.1772])
    n = np.array([6125230.0, 3872526.0, 2244.0])
    b = get_bound("lim2014")
    ln_e = np.array(math.log(21 / 1e-10))
    tau0 = float(np.sum(p * np.exp(-mu)))
    tau1 = float(np.sum(p * np.exp(-mu) * mu))
    dev = math.sqrt(n.sum() / 2 * ln_e)
    lo, hi = np.exp(mu) / p * (n - dev), np.exp(mu) / p * (n + dev)
    raw_s0 = tau0 * (mu[1] * lo[2] - mu[2] * hi[1]) / (mu[1] - mu[2])
    assert raw_s0 < 0.0
    raw_s1 = (
        tau1
        * mu[0]
        * (lo[1] - hi[2] - (mu[1] ** 2 - mu[2] ** 2) / mu[0] ** 2 * (hi[0] - raw_s0 / tau0))
    ) / (mu[0] * (mu[1] - mu[2]) - mu[1] ** 2 + mu[2] ** 2)
    bounds = b.decoy_bounds(mu, p, n, n * 0.02, n * 0.03, n * 0.001, ln_e)
    assert float(bounds.s0) == 0.0
    assert float(bounds.s1) == pytest.approx(
        raw_s1
        - (mu[1] ** 2 - mu[2] ** 2)
        / mu[0] ** 2
        * raw_s0
        / tau0
        * tau1
        * mu[0]
        / (mu[0] * (mu[1] - mu[2]) - mu[1] ** 2 + mu[2] ** 2),
        rel=1e-12,
    )
    assert float(bounds.s1) > raw_s1


def test_rusca2018_formula_on_worked_example_counts(reference: dict) -> None:
    # Counts of the public Rusca 2018 worked example (finite-key.md, "Reference values") computed
    # with Rusca's own P_DC form; an independent implementation gives ell = 3,737,689,
    # phi = 0.03581, s_Z1 = 6,045,302, s_X1 = 60,583, v_X1 = 1,787.8.
    ex = reference["rusca2018_worked_example"]
    c = ex["model_counts"]
    res = key_length(
        "rusca2018",
        [0.5, 0.1],
        [0.5, 0.5],
        c["key_detections"],
        c["key_errors"],
        c["test_detections"],
        c["test_errors"],
        ec_leakage_bits=c["ec_leakage_bits"],
        eps_sec=1e-9,
        eps_cor=1e-15,
    )
    assert int(res.ell) == 3_737_689 == ex["outputs"]["ell"]
    assert float(res.phi) == pytest.approx(0.03581, abs=5e-6)
    assert float(res.s1) == pytest.approx(6_045_302, abs=1.0)
    assert float(res.s1_test) == pytest.approx(60_583, abs=1.0)
    assert float(res.v1_test) == pytest.approx(1787.8, abs=0.05)
    for name in ("s1", "s1_test", "v1_test", "phi", "ell_real"):
        assert float(getattr(res, name)) == pytest.approx(ex["outputs"][name], rel=1e-10), name


def test_vectorised_equals_blockwise(reference: dict) -> None:
    kw = _lim_inputs(reference)
    rng = np.random.default_rng(7)
    scale = rng.uniform(0.5, 1.5, size=(64, 1))
    batch = {
        k: (np.asarray(kw[k]) * scale).round()
        for k in ("key_detections", "key_errors", "test_detections", "test_errors")
    }
    leak = np.asarray(kw["ec_leakage_bits"]) * scale[:, 0]
    res = key_length(
        "lim2014",
        kw["intensities"],
        kw["probabilities"],
        **batch,
        ec_leakage_bits=leak,
        eps_sec=kw["eps_sec"],
        eps_cor=kw["eps_cor"],
    )
    assert res.ell.shape == (64,)
    for i in (0, 17, 63):
        one = key_length(
            "lim2014",
            kw["intensities"],
            kw["probabilities"],
            **{k: v[i] for k, v in batch.items()},
            ec_leakage_bits=leak[i],
            eps_sec=kw["eps_sec"],
            eps_cor=kw["eps_cor"],
        )
        assert int(one.ell) == int(res.ell[i])
        assert float(one.phi) == float(res.phi[i])
    # Smaller blocks carry relatively larger statistical penalties.
    order = np.argsort(scale[:, 0])
    assert res.ell[order[-1]] > res.ell[order[0]]


def test_intensity_order_does_not_matter(reference: dict) -> None:
    kw = _lim_inputs(reference)
    perm = [2, 0, 1]
    shuffled = {k: [v[i] for i in perm] if isinstance(v, list) else v for k, v in kw.items()}
    assert int(key_length("lim2014", **shuffled).ell) == 2_600_927


def test_leakage_enters_linearly(reference: dict) -> None:
    kw = _lim_inputs(reference)
    base = key_length("lim2014", **kw)
    more = key_length("lim2014", **(kw | {"ec_leakage_bits": kw["ec_leakage_bits"] + 1000}))
    assert float(base.ell_real - more.ell_real) == pytest.approx(1000.0, abs=1e-6)


def test_phase_error_half_gives_zero_key(reference: dict) -> None:
    # finite-key.md, choice 3: phi >= 0.5 gives ell = 0. Half the test-basis detections are errors.
    kw = _lim_inputs(reference)
    kw["test_errors"] = [d // 2 for d in kw["test_detections"]]
    res = key_length("lim2014", **kw)
    assert float(res.phi) >= 0.5
    assert int(res.ell) == 0


def test_nonpositive_single_photon_bound_gives_zero_key(reference: dict) -> None:
    # Tiny blocks: the Hoeffding terms swamp the counts, s1 <= 0, so no key (finite-key.md,
    # choice 3).
    kw = _lim_inputs(reference)
    for k in ("key_detections", "key_errors", "test_detections", "test_errors"):
        kw[k] = [max(1, v // 10_000) for v in kw[k]]
    kw["ec_leakage_bits"] = 100
    res = key_length("lim2014", **kw)
    assert float(res.s1) <= 0.0
    assert int(res.ell) == 0


def test_leakage_larger_than_key_gives_zero(reference: dict) -> None:
    kw = _lim_inputs(reference) | {"ec_leakage_bits": 1e8}
    res = key_length("lim2014", **kw)
    assert float(res.ell_real) < 0.0
    assert int(res.ell) == 0


def test_secrecy_factor_and_versions() -> None:
    # Lim 2014: eps_sec = 21 eps (Appendix B); Rusca 2018: eps_sec = 19 eps (Appendix A).
    assert BOUNDS["lim2014"].secrecy_factor == 21
    assert BOUNDS["rusca2018"].secrecy_factor == 19
    assert get_bound(BOUNDS["lim2014"]) is BOUNDS["lim2014"]
    # Lim 2014 §II: mu1 > mu2 + mu3, mu2 > mu3 >= 0; Rusca 2018: mu1 > mu2 > 0.
    assert BOUNDS["lim2014"].accepts_intensities([0.0002, 0.411, 0.2198])
    assert not BOUNDS["lim2014"].accepts_intensities([0.3, 0.2, 0.15])
    assert not BOUNDS["lim2014"].accepts_intensities([0.5, 0.1])
    assert BOUNDS["rusca2018"].accepts_intensities([0.1, 0.5])
    assert not BOUNDS["rusca2018"].accepts_intensities([0.5, 0.0])
    with pytest.raises(ValueError, match="unknown finite-key bound 'gllp'"):
        get_bound("gllp")


def test_helpers_against_hand_values() -> None:
    assert float(binary_entropy(0.11)) == pytest.approx(0.4999, abs=1e-4)  # h(0.11) ≈ 0.5
    assert float(binary_entropy(0.0)) == 0.0 and float(binary_entropy(1.0)) == 0.0
    # delta(n, eps) = sqrt(n/2 ln(1/eps)): n = 2, eps = e^-8 -> sqrt(8).
    assert float(hoeffding_delta(2.0, 8.0)) == pytest.approx(math.sqrt(8.0))
    # Lim Eq. (5) gamma with c = d = 2, b = 1/2, alpha1 = 1/2: sqrt(1/(4 ln 2) log2(4 / alpha1^2)).
    g = sampling_gamma(np.array(0.5), np.array(0.5), np.array(2.0), np.array(2.0))
    assert float(g) == pytest.approx(math.sqrt(1 / (4 * math.log(2)) * math.log2(16.0)))
    assert np.isnan(sampling_gamma(np.array(1e-3), np.array(0.0), np.array(10.0), np.array(10.0)))
    # ceil(log2(1/eps_cor)): 1e-15 -> 50 bits; 2^-32 -> exactly 32.
    assert verification_hash_min_bits(1e-15) == 50
    assert verification_hash_min_bits(2.0**-32) == 32


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"key_detections": [1.0, 2.0]}, "key_detections must have 3 entries"),
        ({"test_errors": [1.0, -2.0, 3.0]}, "test_errors must not be negative"),
        ({"key_errors": [1.0, float("nan"), 3.0]}, "key_errors contains NaN"),
        ({"key_errors": [7e6, 1.0, 1.0]}, "key_errors exceed key_detections"),
        ({"probabilities": [0.5, 0.5, 0.5]}, "sum to 1"),
        ({"intensities": [0.3, 0.2, 0.15]}, "violate the conditions of lim2014"),
        ({"eps_sec": 0.0}, "eps_sec must lie in"),
        ({"ec_leakage_bits": -1}, "ec_leakage_bits must not be negative"),
    ],
)
def test_bad_input_raises(reference: dict, change: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        key_length("lim2014", **(_lim_inputs(reference) | change))
