"""One-decoy (two-intensity) BB84 finite-key bound of Rusca, Boaron, Grünenfelder, Martin, Zbinden.

D. Rusca et al., "Finite-key analysis for the 1-decoy state QKD protocol", Appl. Phys. Lett. 112,
171104 (2018), arXiv:1801.03443, Appendix A, with the e^{mu_k}/p_k prefactor of the Lim 2014
form, which the printed appendix drops (``docs/methods/finite-key.md``, rusca2018).
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


class Rusca2018Bound(FiniteKeyBound):
    """Rusca et al. 2018: intensities mu1 > mu2 > 0, no vacuum decoy; eps_sec = 19 eps."""

    name = "rusca2018"
    version = "1"
    reference = "D. Rusca et al., Appl. Phys. Lett. 112, 171104 (2018)"
    n_intensities = 2
    secrecy_factor = 19

    def intensity_violation(self, mu: FloatArray) -> FloatArray:
        """Largest violation of mu1 > mu2 > 0 (Rusca 2018)."""
        return np.maximum(mu[..., 1] - mu[..., 0], -mu[..., 1])

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
        """Appendix A of Rusca 2018, both bases, Hoeffding on basis totals."""
        mu1, mu2 = mu[..., 0], mu[..., 1]
        weight = np.exp(mu) / p
        tau0 = photon_weight(0, mu, p)
        tau1 = photon_weight(1, mu, p)
        ln_e = ln_inv_eps1[..., np.newaxis]

        def deviation(counts: FloatArray) -> FloatArray:
            return hoeffding_delta(np.sum(counts, axis=-1, keepdims=True), ln_e)

        def bounds_of_basis(
            counts: FloatArray, errors: FloatArray
        ) -> tuple[FloatArray, FloatArray]:
            dn = deviation(counts)
            lo, hi = weight * (counts - dn), weight * (counts + dn)
            # Upper bound on vacuum events: vacuum clicks are errors with probability 1/2, so
            # s0 <= 2 [tau0 (e^{mu_k}/p_k)(m_k + delta(m)) + delta(n)] for either intensity k;
            # both hold on the same Hoeffding events, so the smaller one is used.
            s0_upper_k = 2.0 * (tau0[..., np.newaxis] * weight * (errors + deviation(errors)) + dn)
            s0_upper = np.min(s0_upper_k, axis=-1)
            s0_lower = tau0 / (mu1 - mu2) * (mu1 * lo[..., 1] - mu2 * hi[..., 0])
            s1 = (
                tau1
                * mu1
                / (mu2 * (mu1 - mu2))
                * (
                    lo[..., 1]
                    - (mu2 / mu1) ** 2 * hi[..., 0]
                    - (mu1**2 - mu2**2) / mu1**2 * s0_upper / tau0
                )
            )
            return np.maximum(s0_lower, 0.0), s1

        s0_key, s1_key = bounds_of_basis(n_key, m_key)
        _, s1_test = bounds_of_basis(n_test, m_test)
        dm = deviation(m_test)
        m_lo, m_hi = weight * (m_test - dm), weight * (m_test + dm)
        v1_test = tau1 / (mu1 - mu2) * (m_hi[..., 0] - m_lo[..., 1])
        return DecoyBounds(s0=s0_key, s1=s1_key, s1_test=s1_test, v1_test=v1_test)
