"""Composable finite-size key length of GG02: Gaussian-modulated coherent states, reverse
reconciliation, homodyne or heterodyne detection, collective (Gaussian) attacks.

Sources, in the notation of ``docs/protocols.md`` ("GG02"):

* Mutual information and Holevo bound in the entanglement-based picture with a trusted detector
  (efficiency eta, electronic noise v_el) and an entangling-cloner attack: A. G. Mountogiannakis,
  P. Papanastasiou, B. Braverman, S. Pirandola, "Composably secure data processing for
  Gaussian-modulated continuous-variable quantum key distribution", Phys. Rev. Research 4, 013099
  (2022), arXiv:2103.16589, Sec. II ("Protocol and key rate", homodyne); heterodyne as in
  A. G. Mountogiannakis, P. Papanastasiou, S. Pirandola, "Data postprocessing for the one-way
  heterodyne protocol under composable finite-size security", arXiv:2205.10142 (2022).
* Worst-case estimators of the transmissivity and the excess noise from m parameter-estimation
  pairs at confidence 1 - eps_PE: A. Leverrier, F. Grosshans, P. Grangier, "Finite-size analysis
  of a continuous-variable quantum key distribution", Phys. Rev. A 81, 062343 (2010), Sec. III.C
  (maximum-likelihood estimators of t = sqrt(eta T) and sigma^2, their confidence intervals
  t +- z sqrt(sigma^2 / (m V_A)), sigma^2 +- z sigma^2 sqrt(2) / sqrt(m)).
* The composable rate R = (n p_EC / N) [R_M - Delta_AEP / sqrt(n) + Theta / n] with
  Delta_AEP = 4 log2(2^(d/2) + 2) sqrt(log2(18 / (p_EC^2 eps_s^4))) and
  Theta = log2[p_EC (1 - eps_s^2 / 3)] + 2 log2(sqrt(2) eps_h): S. Pirandola, "Composable
  security for continuous variable quantum key distribution: Trust levels and practical key
  rates in wired and wireless networks", Phys. Rev. Research 3, 043014 (2021), and
  Mountogiannakis et al. (2022), Sec. II; d is the number of bits of Bob's discretised symbol
  (p per quadrature: d = p for homodyne, 2p for heterodyne).

Units: shot-noise units (SNU). ``modulation_variance`` is V_A, the variance of Alice's Gaussian
displacement per quadrature (the papers' mu = V_A + 1). ``excess_noise`` xi is referred to the
channel input. Homodyne outcomes are y = sqrt(eta T) x + z with Var z = 1 + v_el + eta T xi;
heterodyne outcomes, per quadrature, carry one more vacuum unit: Var z = 2 + v_el + eta T xi
(the normalisation of Mountogiannakis et al. 2022, heterodyne paper, Sec. II), so a heterodyne
``v_el`` is twice the electronic noise of each of its two homodyne detectors.

Every function is vectorised: parameters broadcast against each other, and the symplectic
eigenvalues are closed forms, so a grid of parameter points is evaluated without a Python loop
(``benchmarks/bench_gg02.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
Detection = Literal["homodyne", "heterodyne"]

__all__ = [
    "BOUND_NAME",
    "BOUND_REFERENCE",
    "BOUND_VERSION",
    "GG02KeyLength",
    "WorstCase",
    "asymptotic_key_rate",
    "composable_key_length",
    "confidence_width",
    "expected_worst_case",
    "g_entropy",
    "holevo_bound",
    "mutual_information",
    "worst_case_from_estimates",
]

BOUND_NAME = "mountogiannakis2022"
BOUND_VERSION = "1"
BOUND_REFERENCE = (
    "A. G. Mountogiannakis et al., Phys. Rev. Research 4, 013099 (2022) (homodyne) and "
    "arXiv:2205.10142 (2022) (heterodyne); S. Pirandola, Phys. Rev. Research 3, 043014 "
    "(2021); A. Leverrier et al., Phys. Rev. A 81, 062343 (2010)"
)

_DETECTIONS = ("homodyne", "heterodyne")


def _vacuum_units(detection: str) -> float:
    """Shot-noise units in Bob's outcome noise besides v_el: 1 (homodyne) or 2 (heterodyne)."""
    if detection not in _DETECTIONS:
        raise ValueError(f"detection must be homodyne or heterodyne, got {detection!r}")
    return 1.0 if detection == "homodyne" else 2.0


def _arr(name: str, value: ArrayLike) -> FloatArray:
    a = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _check_channel(transmissivity: FloatArray, excess_noise: FloatArray, eta: FloatArray,
                   v_el: FloatArray, modulation_variance: FloatArray) -> None:
    """Physical ranges; ValueError names the first parameter outside its range."""
    if np.any(transmissivity <= 0.0) or np.any(transmissivity >= 1.0):
        raise ValueError("transmissivity must lie in (0, 1)")
    if np.any(excess_noise < 0.0):
        raise ValueError("excess_noise must not be negative")
    if np.any(eta <= 0.0) or np.any(eta > 1.0):
        raise ValueError("detector efficiency eta must lie in (0, 1]")
    if np.any(v_el < 0.0):
        raise ValueError("electronic noise v_el must not be negative")
    if np.any(modulation_variance <= 0.0):
        raise ValueError("modulation_variance must be positive")


def g_entropy(nu: ArrayLike) -> FloatArray:
    """Von Neumann entropy of a thermal mode with symplectic eigenvalue nu >= 1, in bits.

    g(nu) = ((nu + 1)/2) log2((nu + 1)/2) - ((nu - 1)/2) log2((nu - 1)/2), g(1) = 0
    (e.g. Weedbrook et al., Rev. Mod. Phys. 84, 621 (2012), Eq. (48)).
    """
    v = np.maximum(np.asarray(nu, dtype=np.float64), 1.0)
    plus = 0.5 * (v + 1.0)
    minus = 0.5 * (v - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(minus > 0.0, minus * np.log2(np.where(minus > 0.0, minus, 1.0)), 0.0)
    out: FloatArray = plus * np.log2(plus) - low
    return out


def _two_mode_eigenvalues(det_a: FloatArray, det_b: FloatArray, det_c: FloatArray,
                          det_v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Symplectic eigenvalues of a two-mode covariance matrix [[A, C], [C^T, B]].

    nu_+-^2 = (Delta +- sqrt(Delta^2 - 4 det V)) / 2, Delta = det A + det B + 2 det C
    (Serafini, Illuminati, De Siena, J. Phys. B 37, L21 (2004)).
    """
    delta = det_a + det_b + 2.0 * det_c
    root = np.sqrt(np.maximum(delta * delta - 4.0 * det_v, 0.0))
    nu1 = np.sqrt(np.maximum(0.5 * (delta + root), 1.0))
    # nu_+ nu_- = sqrt(det V): dividing avoids the cancellation in Delta - root when nu_- -> 1,
    # where g(nu) is steepest.
    nu2 = np.maximum(np.sqrt(np.maximum(det_v, 0.0)) / nu1, 1.0)
    return nu1, nu2


def mutual_information(detection: Detection, modulation_variance: ArrayLike,
                       transmissivity: ArrayLike, excess_noise: ArrayLike, eta: ArrayLike,
                       v_el: ArrayLike) -> FloatArray:
    """Alice-Bob mutual information I(x:y) per symbol, bits.

    Homodyne: (1/2) log2(Var y / Var y|x), heterodyne: log2(Var y / Var y|x), with
    Var y = eta T (V_A + xi) + u + v_el and Var y|x = eta T xi + u + v_el, u = 1 or 2
    (Mountogiannakis et al. 2022, Sec. II; module docstring).
    """
    u = _vacuum_units(detection)
    va, t, xi = (np.asarray(a, dtype=np.float64) for a in (modulation_variance, transmissivity,
                                                             excess_noise))
    h, ve = np.asarray(eta, dtype=np.float64), np.asarray(v_el, dtype=np.float64)
    noise = h * t * xi + u + ve
    info: FloatArray = np.log2((h * t * va + noise) / noise)
    return 0.5 * info if detection == "homodyne" else info


def holevo_bound(detection: Detection, modulation_variance: ArrayLike,
                 transmissivity: ArrayLike, excess_noise: ArrayLike, eta: ArrayLike,
                 v_el: ArrayLike) -> FloatArray:
    """Eve's Holevo information chi(E:y) on Bob's outcome (reverse reconciliation), bits/symbol.

    Entangling cloner of transmissivity T and thermal variance omega = 1 + T xi / (1 - T); Eve's
    modes e, E' have the covariance matrix V_eE' = [[omega I, psi Z], [psi Z, phi I]] with
    psi = sqrt(T (omega^2 - 1)), phi = T omega + (1 - T) mu, mu = V_A + 1. Bob's outcome y
    conditions it: V_eE'|y = V_eE' - (b + u - 1)^-1 M, with b = eta T (mu + xi) + 1 - eta T + v_el,
    M built from gamma = sqrt(eta (1 - T)(omega^2 - 1)) and theta = sqrt(eta T (1 - T))
    (omega - mu), on the measured quadrature only (homodyne, u = 1) or on both (heterodyne,
    u = 2). chi = g(nu_1) + g(nu_2) - g(nu_3) - g(nu_4) (Mountogiannakis et al. 2022, Sec. II).
    """
    u = _vacuum_units(detection)
    va, t, xi = (np.asarray(a, dtype=np.float64) for a in (modulation_variance, transmissivity,
                                                             excess_noise))
    h, ve = np.asarray(eta, dtype=np.float64), np.asarray(v_el, dtype=np.float64)
    mu = va + 1.0
    omega = 1.0 + t * xi / (1.0 - t)
    w2m1 = omega * omega - 1.0
    psi = np.sqrt(t * w2m1)
    phi = t * omega + (1.0 - t) * mu
    b = h * t * (mu + xi) + 1.0 - h * t + ve
    gamma = np.sqrt(h * (1.0 - t) * w2m1)
    theta = np.sqrt(h * t * (1.0 - t)) * (omega - mu)
    # Unconditional state of Eve: q and p blocks [[omega, +-psi], [+-psi, phi]].
    det_qp = omega * phi - psi * psi
    nu1, nu2 = _two_mode_eigenvalues(omega * omega, phi * phi, -psi * psi, det_qp * det_qp)
    # Conditioned on y: the q block loses (gamma, theta) (gamma, theta)^T / (b + u - 1); the p
    # block too for heterodyne, with the sign of the p correlations.
    k = 1.0 / (b + u - 1.0)
    aq, bq, cq = omega - k * gamma * gamma, phi - k * theta * theta, psi - k * gamma * theta
    det_q = aq * bq - cq * cq
    if detection == "homodyne":
        det_a, det_b, det_c = aq * omega, bq * phi, -cq * psi
        det_v = det_q * det_qp
    else:
        det_a, det_b, det_c = aq * aq, bq * bq, -cq * cq
        det_v = det_q * det_q
    nu3, nu4 = _two_mode_eigenvalues(det_a, det_b, det_c, det_v)
    chi: FloatArray = g_entropy(nu1) + g_entropy(nu2) - g_entropy(nu3) - g_entropy(nu4)
    return chi


def asymptotic_key_rate(detection: Detection, modulation_variance: ArrayLike,
                        transmissivity: ArrayLike, excess_noise: ArrayLike, eta: ArrayLike,
                        v_el: ArrayLike, beta: ArrayLike) -> FloatArray:
    """beta I(x:y) - chi(E:y), bits per symbol (reverse reconciliation, collective attacks)."""
    rate: FloatArray = np.asarray(beta, dtype=np.float64) * mutual_information(
        detection, modulation_variance, transmissivity, excess_noise, eta, v_el
    ) - holevo_bound(detection, modulation_variance, transmissivity, excess_noise, eta, v_el)
    return rate


def confidence_width(eps_pe: ArrayLike) -> FloatArray:
    """w = sqrt(2) erfinv(1 - eps_PE): the normal quantile of the two-sided interval of
    confidence 1 - eps_PE (Leverrier et al. 2010, Sec. III.C, z_{eps_PE/2})."""
    from scipy.special import erfinv

    w: FloatArray = math.sqrt(2.0) * erfinv(1.0 - np.asarray(eps_pe, dtype=np.float64))
    return w


@dataclass(frozen=True, slots=True)
class WorstCase:
    """Point estimates and worst-case values of the channel at confidence 1 - eps_PE."""

    transmissivity_hat: FloatArray
    excess_noise_hat: FloatArray
    transmissivity_worst: FloatArray
    excess_noise_worst: FloatArray


def worst_case_from_estimates(detection: Detection, modulation_variance: ArrayLike,
                              t_hat: ArrayLike, sigma2_hat: ArrayLike, pe_values: ArrayLike,
                              eta: ArrayLike, v_el: ArrayLike, eps_pe: ArrayLike) -> WorstCase:
    """Worst-case T and xi from m revealed pairs (Leverrier et al. 2010, Sec. III.C).

    ``t_hat`` = sum(x y) / sum(x^2) estimates sqrt(eta T); ``sigma2_hat`` = mean (y - t_hat x)^2
    estimates Var z; ``pe_values`` is m, the number of (x, y) value pairs used (twice the
    symbols for heterodyne). T_M = (t_hat - w sqrt(sigma2 / (m V_A)))^2 / eta,
    Xi_M = sigma2 - u - v_el + w sigma2 sqrt(2 / m), xi_M = Xi_M / (eta T_M); point estimates
    without the w terms.
    """
    u = _vacuum_units(detection)
    va = _arr("modulation_variance", modulation_variance)
    th, s2 = _arr("t_hat", t_hat), _arr("sigma2_hat", sigma2_hat)
    m, h, ve = _arr("pe_values", pe_values), _arr("eta", eta), _arr("v_el", v_el)
    if np.any(m < 2):
        raise ValueError("pe_values must be at least 2")
    if np.any(th <= 0.0):
        raise ValueError("t_hat must be positive")
    w = confidence_width(eps_pe)
    dt = w * np.sqrt(s2 / (m * va))
    ds = w * s2 * math.sqrt(2.0) / np.sqrt(m)
    t_point = th * th / h
    big_xi = s2 - u - ve
    with np.errstate(divide="ignore", invalid="ignore"):
        t_worst = np.where(th > dt, (th - dt) ** 2 / h, 0.0)
        xi_point = big_xi / (h * t_point)
        xi_worst = np.where(t_worst > 0.0, (big_xi + ds) / (h * t_worst), np.inf)
    return WorstCase(t_point, xi_point, t_worst, xi_worst)


def expected_worst_case(detection: Detection, modulation_variance: ArrayLike,
                        transmissivity: ArrayLike, excess_noise: ArrayLike, eta: ArrayLike,
                        v_el: ArrayLike, pe_values: ArrayLike, eps_pe: ArrayLike) -> WorstCase:
    """The worst-case values expected when the estimates equal the true channel (planning).

    T*_M = (sqrt(T) - w sqrt(sigma_z^2 / (m eta V_A)))^2, Xi*_M = eta T xi + w sigma_z^2
    sqrt(2/m), xi*_M = Xi*_M / (eta T*_M), sigma_z^2 = u + v_el + eta T xi
    (Mountogiannakis et al. 2022, Sec. III, "theoretical" estimators).
    """
    u = _vacuum_units(detection)
    va, t, xi = (_arr(n, a) for n, a in (("modulation_variance", modulation_variance),
                                         ("transmissivity", transmissivity),
                                         ("excess_noise", excess_noise)))
    h, ve, m = _arr("eta", eta), _arr("v_el", v_el), _arr("pe_values", pe_values)
    _check_channel(t, xi, h, ve, va)
    w = confidence_width(eps_pe)
    s2 = u + ve + h * t * xi
    root = np.sqrt(t) - w * np.sqrt(s2 / (m * h * va))
    t_worst = np.where(root > 0.0, root * root, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi_worst = np.where(t_worst > 0.0, (h * t * xi + w * s2 * np.sqrt(2.0 / m))
                            / (h * t_worst), np.inf)
    return WorstCase(np.broadcast_to(t, t_worst.shape).astype(np.float64),
                     np.broadcast_to(xi, t_worst.shape).astype(np.float64), t_worst, xi_worst)


@dataclass(frozen=True, slots=True)
class GG02KeyLength:
    """Composable key rate and length of GG02 frames (arrays with the broadcast shape).

    Attributes
    ----------
    rate_pe:
        R_M = beta I(x:y)|_(T_hat, xi_hat) - chi(E:y)|_(T_M, xi_M), bits per key symbol.
    delta_aep, theta:
        The finite-size terms Delta_AEP and Theta.
    rate_per_key_symbol:
        R_M - Delta_AEP / sqrt(n) + Theta / n.
    key_rate:
        (n p_EC / N) times the above: bits per channel use (symbol sent).
    ell:
        floor(p_EC n_frames n (R_M - Delta_AEP/sqrt(n) + Theta/n)), 0 where negative or undefined.
    eps_total:
        eps_cor + eps_s + eps_h + p_EC (2 eps_PE + eps_ent): the composable security.
    """

    bound: str
    bound_version: str
    rate_pe: FloatArray
    delta_aep: FloatArray
    theta: FloatArray
    rate_per_key_symbol: FloatArray
    key_rate: FloatArray
    ell: NDArray[np.int64]
    eps_total: FloatArray


def composable_key_length(detection: Detection, *, modulation_variance: ArrayLike,
                          worst: WorstCase, eta: ArrayLike, v_el: ArrayLike, beta: ArrayLike,
                          frame_symbols: ArrayLike, frames: ArrayLike, pe_symbols: ArrayLike,
                          p_ec: ArrayLike, bits_per_quadrature: ArrayLike, eps_s: ArrayLike,
                          eps_h: ArrayLike, eps_cor: ArrayLike = 0.0, eps_pe: ArrayLike = 0.0,
                          eps_ent: ArrayLike = 0.0) -> GG02KeyLength:
    """Composable finite-size key of ``frames`` frames of ``frame_symbols`` symbols each.

    ``pe_symbols`` symbols in all (pe_symbols / frames per frame) were revealed for parameter
    estimation, so each frame keeps n = N - pe_symbols / frames key symbols; a fraction ``p_ec``
    of the frames was corrected and verified. Rate and length as in the class docstring
    (Pirandola 2021; Mountogiannakis et al. 2022, Sec. II); the reference code rounds the
    length up, this bound rounds it down.
    """
    u = _vacuum_units(detection)
    va = _arr("modulation_variance", modulation_variance)
    h, ve, bt = _arr("eta", eta), _arr("v_el", v_el), _arr("beta", beta)
    n_frame, n_frames, m_all = (_arr(n, a) for n, a in (("frame_symbols", frame_symbols),
                                                        ("frames", frames),
                                                        ("pe_symbols", pe_symbols)))
    pec, p_bits = _arr("p_ec", p_ec), _arr("bits_per_quadrature", bits_per_quadrature)
    es, eh = _arr("eps_s", eps_s), _arr("eps_h", eps_h)
    if np.any(bt <= 0.0) or np.any(bt > 1.0):
        raise ValueError("beta must lie in (0, 1]")
    if np.any(pec <= 0.0) or np.any(pec > 1.0):
        raise ValueError("p_ec must lie in (0, 1]")
    if np.any(n_frames < 1) or np.any(n_frame < 1):
        raise ValueError("frames and frame_symbols must be at least 1")
    n = n_frame - m_all / n_frames
    if np.any(n < 1):
        raise ValueError("parameter estimation leaves no key symbol in a frame")
    for name, e in (("eps_s", es), ("eps_h", eh)):
        if np.any(e <= 0.0) or np.any(e >= 1.0):
            raise ValueError(f"{name} must lie in (0, 1)")
    t_hat, xi_hat = worst.transmissivity_hat, worst.excess_noise_hat
    t_m, xi_m = worst.transmissivity_worst, worst.excess_noise_worst
    ok = (t_m > 0.0) & (t_m < 1.0) & np.isfinite(xi_m) & (xi_m >= 0.0) & (t_hat > 0.0) & (
        t_hat < 1.0) & (xi_hat >= 0.0)
    safe_t = np.where(ok, t_m, 0.5)
    safe_xi = np.where(ok, xi_m, 0.0)
    safe_th = np.where(ok, t_hat, 0.5)
    safe_xh = np.where(ok, xi_hat, 0.0)
    info = mutual_information(detection, va, safe_th, safe_xh, h, ve)
    chi = holevo_bound(detection, va, safe_t, safe_xi, h, ve)
    rate_pe = np.where(ok, bt * info - chi, np.nan)
    d_bits = p_bits * u  # p bits for homodyne, 2p for heterodyne
    delta = 4.0 * np.log2(2.0 ** (d_bits / 2.0) + 2.0) * np.sqrt(
        np.log2(18.0 / (pec * pec * es**4)))
    theta = np.log2(pec * (1.0 - es * es / 3.0)) + 2.0 * np.log2(math.sqrt(2.0) * eh)
    per_symbol = rate_pe - delta / np.sqrt(n) + theta / n
    key_rate = n * pec / n_frame * per_symbol
    total = pec * n_frames * n * per_symbol
    usable = np.isfinite(total) & (total >= 1.0)
    ell = np.where(usable, np.floor(np.where(usable, total, 0.0)), 0.0).astype(np.int64)
    eps_total = (_arr("eps_cor", eps_cor) + es + eh
                 + pec * (2.0 * _arr("eps_pe", eps_pe) + _arr("eps_ent", eps_ent)))
    shape = np.broadcast_shapes(np.shape(per_symbol), np.shape(ell))
    return GG02KeyLength(
        bound=BOUND_NAME, bound_version=BOUND_VERSION,
        rate_pe=np.broadcast_to(rate_pe, shape).astype(np.float64),
        delta_aep=np.broadcast_to(delta, shape).astype(np.float64),
        theta=np.broadcast_to(theta, shape).astype(np.float64),
        rate_per_key_symbol=np.broadcast_to(per_symbol, shape).astype(np.float64),
        key_rate=np.broadcast_to(key_rate, shape).astype(np.float64),
        ell=np.broadcast_to(ell, shape).copy(),
        eps_total=np.broadcast_to(eps_total, shape).astype(np.float64),
    )
