"""Three-intensity decoy-state BB84 finite-key bound of Lim, Curty, Walenta, Xu and Zbinden.

C. C.-W. Lim et al., "Concise security bounds for practical decoy-state quantum key
distribution", Phys. Rev. A 89, 022307 (2014), arXiv:1311.7129: key length Eq. (1), decoy
estimates Eqs. (2)-(4), phase error Eq. (5); restated in ``docs/methods/finite-key.md``.
"""

from __future__ import annotations

import numpy as np

from evaltool.engines.protocol._bounds_common import (
    DecoyBounds,
    FiniteKeyBound,
    FloatArray,
    hoeffding_delta,
    photon_weight,
)


class Lim2014Bound(FiniteKeyBound):
    """Lim et al. 2014: intensities mu1 > mu2 + mu3, mu2 > mu3 >= 0; eps_sec = 21 eps."""

    name = "lim2014"
    version = "1"
    reference = "C. C.-W. Lim et al., Phys. Rev. A 89, 022307 (2014)"
    n_intensities = 3
    secrecy_factor = 21

    def intensity_violation(self, mu: FloatArray) -> FloatArray:
        """Largest violation of mu1 > mu2 + mu3, mu2 > mu3, mu3 >= 0 (Lim 2014 §II)."""
        mu1, mu2, mu3 = mu[..., 0], mu[..., 1], mu[..., 2]
        worst: FloatArray = np.maximum(np.maximum(mu2 + mu3 - mu1, mu3 - mu2), -mu3)
        return worst

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
        """Eqs. (2)-(4) of Lim 2014 with the Hoeffding terms on basis totals, as in its proof."""
        del m_key  # Lim's estimate uses only test-basis errors.
        mu1, mu2, mu3 = mu[..., 0], mu[..., 1], mu[..., 2]
        weight = np.exp(mu) / p  # e^{mu_k} / p_k
        tau0 = photon_weight(0, mu, p)
        tau1 = photon_weight(1, mu, p)
        ln_e = ln_inv_eps1[..., np.newaxis]

        def corrected(counts: FloatArray) -> tuple[FloatArray, FloatArray]:
            # n^{+-}_{B,k} = (e^{mu_k}/p_k)(n_{B,k} +- delta(n_B, eps1)), n_B = sum_k n_{B,k}.
            dev = hoeffding_delta(np.sum(counts, axis=-1, keepdims=True), ln_e)
            return weight * (counts - dev), weight * (counts + dev)

        def vacuum_and_single(counts: FloatArray) -> tuple[FloatArray, FloatArray]:
            lo, hi = corrected(counts)
            # Eq. (2), clipped at 0 before it enters Eq. (3): the vacuum count is never negative.
            s0 = tau0 * (mu2 * lo[..., 2] - mu3 * hi[..., 1]) / (mu2 - mu3)
            s0 = np.maximum(s0, 0.0)
            # Eq. (3).
            num = lo[..., 1] - hi[..., 2] - (mu2**2 - mu3**2) / mu1**2 * (hi[..., 0] - s0 / tau0)
            s1 = tau1 * mu1 * num / (mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
            return s0, s1

        s0_key, s1_key = vacuum_and_single(n_key)
        _, s1_test = vacuum_and_single(n_test)
        m_lo, m_hi = corrected(m_test)
        # Eq. (4).
        v1_test = tau1 * (m_hi[..., 1] - m_lo[..., 2]) / (mu2 - mu3)
        return DecoyBounds(s0=s0_key, s1=s1_key, s1_test=s1_test, v1_test=v1_test)
