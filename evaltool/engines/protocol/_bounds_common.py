"""Shared pieces of the finite-key decoy-state BB84 bounds: entropy, deviation terms, result type.

Naming follows ``docs/methods/finite-key.md``: ``K`` is the basis the key is extracted from and
``T`` the test (phase-estimation) basis. Lim et al. (PRA 89,
022307, 2014) extract key from X and test with Z; Rusca et al. (APL 112, 171104, 2018) extract key
from Z and test with X. Both map onto K/T here.

Every function broadcasts over leading axes, so a whole table of blocks (or a whole population of
candidate protocol parameters) is evaluated in one call. The last axis indexes the intensities.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_LN2 = math.log(2.0)


def binary_entropy(x: ArrayLike) -> FloatArray:
    """Binary entropy h(x) = -x log2 x - (1-x) log2(1-x), with h(0) = h(1) = 0.

    Values outside [0, 1] are clipped into it (the callers only pass rates).
    """
    p = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -p * np.log2(p) - (1.0 - p) * np.log2(1.0 - p)
    return np.where((p > 0.0) & (p < 1.0), h, 0.0)


def hoeffding_delta(n: ArrayLike, ln_inv_eps: ArrayLike) -> FloatArray:
    """Hoeffding deviation delta(n, eps) = sqrt((n / 2) ln(1 / eps)) (Lim 2014 §III).

    ``ln_inv_eps`` is ln(1/eps1) with eps1 = eps_sec / K (K = 21 for Lim 2014, 19 for Rusca 2018).
    """
    dev: FloatArray = np.sqrt(np.asarray(n, dtype=np.float64) * 0.5 * np.asarray(ln_inv_eps))
    return dev


def photon_weight(n: int, mu: FloatArray, p: FloatArray) -> FloatArray:
    """Photon-number weight tau_n = sum_k p_k e^{-mu_k} mu_k^n / n! (Lim 2014), on the last axis."""
    weight: FloatArray = np.sum(p * np.exp(-mu) * mu**n, axis=-1) / math.factorial(n)
    return weight


def sampling_gamma(
    eps_over_k: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> FloatArray:
    """Deviation of the phase-error rate under sampling without replacement (Lim 2014 Eq. 5).

    gamma(a, b, c, d) = sqrt((c+d)(1-b) b / (c d ln 2) * log2((c+d) / (c d (1-b) b) / alpha1^2)),
    with alpha1 = ``eps_over_k`` (eps_sec / 21 for Lim 2014, eps_sec / 19 for Rusca 2018), ``c``
    the single-photon count of the test basis and ``d`` that of the key basis.
    Returns NaN where the expression is undefined (b outside (0, 1), c or d not positive, or a
    negative radicand); the bounds turn NaN into a zero key.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        cd = c * d
        spread = (c + d) * (1.0 - b) * b / (cd * _LN2)
        arg = (c + d) / (cd * (1.0 - b) * b) / eps_over_k**2
        out = np.sqrt(spread * np.log2(arg))
    ok = (b > 0.0) & (b < 1.0) & (c > 0.0) & (d > 0.0) & (arg >= 1.0)
    return np.where(ok, out, np.nan)


@dataclass(frozen=True, slots=True)
class KeyLengthResult:
    """Finite-key length of one or more blocks under a named bound.

    Every array has the batch shape of the inputs (the counts without their intensity axis).

    Attributes
    ----------
    bound, bound_version:
        Name and version of the bound that produced the result (``docs/methods/finite-key.md``,
        "Names, versions and later work").
    ell:
        Secret key length in bits (int64, 0 where no key may be extracted).
    ell_real:
        The key-length expression before flooring and clipping at 0 (NaN where undefined).
    s0, s1:
        Lower bounds on vacuum and single-photon events in the key basis.
    s1_test:
        Lower bound on single-photon events in the test basis.
    v1_test:
        Upper bound on single-photon errors in the test basis.
    phi:
        Upper bound on the single-photon phase-error rate of the key basis (NaN if undefined).
    intensities, probabilities, key_detections, key_errors, test_detections, test_errors,
    ec_leakage_bits, eps_sec, eps_cor:
        Copies of the inputs, intensities ordered from strongest to weakest.
    """

    bound: str
    bound_version: str
    ell: IntArray
    ell_real: FloatArray
    s0: FloatArray
    s1: FloatArray
    s1_test: FloatArray
    v1_test: FloatArray
    phi: FloatArray
    intensities: FloatArray
    probabilities: FloatArray
    key_detections: FloatArray
    key_errors: FloatArray
    test_detections: FloatArray
    test_errors: FloatArray
    ec_leakage_bits: FloatArray
    eps_sec: FloatArray
    eps_cor: FloatArray

    @property
    def statistic(self) -> IntArray:
        """The key length ``ell`` (scipy-style alias)."""
        return self.ell


@dataclass(frozen=True, slots=True)
class DecoyBounds:
    """Intermediate decoy-state bounds of one evaluation (all with the batch shape)."""

    s0: FloatArray
    s1: FloatArray
    s1_test: FloatArray
    v1_test: FloatArray


class FiniteKeyBound(ABC):
    """A versioned finite-key bound for decoy-state BB84.

    Subclasses implement :meth:`decoy_bounds` (the paper's decoy estimates, on arrays whose last
    axis holds the intensities from strongest to weakest) and set the class attributes.
    """

    name: ClassVar[str]
    """Registry name, e.g. ``"lim2014"``."""
    version: ClassVar[str]
    """Version of the implemented formulas; bumped whenever a result could change."""
    reference: ClassVar[str]
    """Bibliographic reference of the proof."""
    n_intensities: ClassVar[int]
    """Number of intensities the bound is written for."""
    secrecy_factor: ClassVar[int]
    """K in eps1 = eps_sec / K, from the paper's secrecy composition (21 for Lim, 19 for Rusca)."""

    @abstractmethod
    def intensity_violation(self, mu: FloatArray) -> FloatArray:
        """How far sorted intensities ``mu`` are from the bound's conditions (<= 0 when valid)."""

    def accepts_intensities(self, intensities: ArrayLike) -> bool:
        """Whether the intensities, in any order, meet the bound's conditions."""
        mu = np.sort(np.asarray(intensities, dtype=np.float64), axis=-1)[..., ::-1]
        return mu.shape[-1] == self.n_intensities and bool(
            np.all(self.intensity_violation(mu) < 0.0)
        )

    @abstractmethod
    def decoy_bounds(
        self,
        mu: FloatArray,
        p: FloatArray,
        n_key: FloatArray,
        m_key: FloatArray,
        n_test: FloatArray,
        m_test: FloatArray,
        ln_inv_eps1: FloatArray,
    ) -> DecoyBounds:
        """Decoy bounds s0, s1 (key basis), s1 and v1 (test basis); s0 already clipped at 0."""

    def key_length_expression(
        self,
        bounds: DecoyBounds,
        phi: FloatArray,
        ec_leakage_bits: FloatArray,
        eps_sec: FloatArray,
        eps_cor: FloatArray,
    ) -> FloatArray:
        """Key length before flooring.

        ell = s0 + s1 (1 - h(phi)) - lambda_EC - 6 log2(K / eps_sec) - log2(2 / eps_cor):
        Lim 2014 Eq. (1) with K = 21 (Appendix B); Rusca 2018 Appendix A with K = 19.
        """
        return (
            bounds.s0
            + bounds.s1 * (1.0 - binary_entropy(phi))
            - ec_leakage_bits
            - 6.0 * np.log2(self.secrecy_factor / eps_sec)
            - np.log2(2.0 / eps_cor)
        )

    def phase_error(self, bounds: DecoyBounds, eps_sec: FloatArray) -> FloatArray:
        """phi_K <= v1_T / s1_T + gamma(...) (Lim 2014 Eq. 5); NaN where undefined."""
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(bounds.s1_test > 0.0, bounds.v1_test / bounds.s1_test, np.nan)
        g = sampling_gamma(eps_sec / self.secrecy_factor, b, bounds.s1_test, bounds.s1)
        return b + g

    def evaluate_sorted(
        self,
        mu: FloatArray,
        p: FloatArray,
        n_key: FloatArray,
        m_key: FloatArray,
        n_test: FloatArray,
        m_test: FloatArray,
        ec_leakage_bits: FloatArray,
        eps_sec: FloatArray,
        eps_cor: FloatArray,
    ) -> tuple[DecoyBounds, FloatArray, FloatArray, IntArray]:
        """Evaluate without input checks; ``mu`` must be sorted from strongest to weakest.

        Returns the decoy bounds, phi, the unfloored key-length expression and ell. These give
        ell = 0: s1 <= 0, phi undefined, or phi >= 0.5 (``docs/methods/finite-key.md``).
        """
        ln_inv_eps1 = np.log(self.secrecy_factor / eps_sec)
        bounds = self.decoy_bounds(mu, p, n_key, m_key, n_test, m_test, ln_inv_eps1)
        phi = self.phase_error(bounds, eps_sec)
        ell_real = self.key_length_expression(bounds, phi, ec_leakage_bits, eps_sec, eps_cor)
        usable = (bounds.s1 > 0.0) & np.isfinite(phi) & (phi < 0.5) & (ell_real >= 1.0)
        ell_real = np.where(np.isfinite(phi) & (bounds.s1 > 0.0), ell_real, np.nan)
        ell = np.where(usable, np.floor(np.where(usable, ell_real, 0.0)), 0.0).astype(np.int64)
        return bounds, phi, ell_real, ell
