"""Independent high-precision computation of the finite-key reference vectors.

This script must never import evaltool.

Written separately from evaltool's vectorised code, scalar and in mpmath at 50 digits, in each
paper's own basis naming (Lim 2014: key X, test Z; Rusca 2018: key Z, test X), straight from the
formulas of the papers (restated in docs/methods/finite-key.md and channel-model.md). Run:

    .venv/bin/python test_vectors/protocol/bounds/generate_reference.py > \
        test_vectors/protocol/bounds/reference.json
"""

from __future__ import annotations

import json
import sys

import mpmath as mp

mp.mp.dps = 50


def h(x: mp.mpf) -> mp.mpf:
    if x <= 0 or x >= 1:
        return mp.mpf(0)
    return -x * mp.log(x, 2) - (1 - x) * mp.log(1 - x, 2)


def gamma(a, b, c, d, k):
    # Lim 2014 Eq. (5) with 1/alpha1^2 = k^2/a^2.
    return mp.sqrt(
        (c + d)
        * (1 - b)
        * b
        / (c * d * mp.log(2))
        * mp.log((c + d) / (c * d * (1 - b) * b) * k**2 / a**2, 2)
    )


def lim2014(mu, p, nX, mX, nZ, mZ, lam, eps_sec, eps_cor):
    """Lim et al. PRA 89 022307, key from X, phase errors from Z (the paper's naming)."""
    mu1, mu2, mu3 = (mp.mpf(x) for x in mu)
    p = [mp.mpf(x) for x in p]
    mus = [mu1, mu2, mu3]
    eps_sec = mp.mpf(eps_sec)
    t0 = sum(p[i] * mp.e ** (-mus[i]) for i in range(3))
    t1 = sum(p[i] * mp.e ** (-mus[i]) * mus[i] for i in range(3))
    L = mp.log(21 / eps_sec)

    def pm(counts):
        tot = sum(mp.mpf(c) for c in counts)
        dev = mp.sqrt(tot / 2 * L)
        lo = [mp.e ** mus[i] / p[i] * (counts[i] - dev) for i in range(3)]
        hi = [mp.e ** mus[i] / p[i] * (counts[i] + dev) for i in range(3)]
        return lo, hi

    def s01(counts):
        lo, hi = pm(counts)
        s0 = t0 * (mu2 * lo[2] - mu3 * hi[1]) / (mu2 - mu3)
        s0 = max(s0, mp.mpf(0))
        s1 = (
            t1
            * mu1
            * (lo[1] - hi[2] - (mu2**2 - mu3**2) / mu1**2 * (hi[0] - s0 / t0))
            / (mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
        )
        return s0, s1

    sX0, sX1 = s01(nX)
    _, sZ1 = s01(nZ)
    mlo, mhi = pm(mZ)
    vZ1 = t1 * (mhi[1] - mlo[2]) / (mu2 - mu3)
    b = vZ1 / sZ1
    phi = b + gamma(eps_sec, b, sZ1, sX1, 21)
    ell_real = (
        sX0
        + sX1
        - sX1 * h(phi)
        - lam
        - 6 * mp.log(21 / eps_sec, 2)
        - mp.log(2 / mp.mpf(eps_cor), 2)
    )
    return {"s0": sX0, "s1": sX1, "s1_test": sZ1, "v1_test": vZ1, "phi": phi, "ell_real": ell_real}


def rusca2018(mu, p, nZ, mZ, nX, mX, lam, eps_sec, eps_cor):
    """Rusca et al. APL 112 171104 App. A, key from Z, test X (the paper's naming)."""
    mu1, mu2 = (mp.mpf(x) for x in mu)
    mus = [mu1, mu2]
    p = [mp.mpf(x) for x in p]
    eps_sec = mp.mpf(eps_sec)
    t0 = sum(p[i] * mp.e ** (-mus[i]) for i in range(2))
    t1 = sum(p[i] * mp.e ** (-mus[i]) * mus[i] for i in range(2))
    L = mp.log(19 / eps_sec)
    w = [mp.e ** mus[i] / p[i] for i in range(2)]

    def delta(counts):
        return mp.sqrt(sum(counts) / 2 * L)

    def bases(n, m):
        dn, dm = delta(n), delta(m)
        s0u = min(2 * (t0 * w[i] * (m[i] + dm) + dn) for i in range(2))
        nlo2 = w[1] * (n[1] - dn)
        nhi1 = w[0] * (n[0] + dn)
        s1 = (
            t1
            * mu1
            / (mu2 * (mu1 - mu2))
            * (nlo2 - (mu2 / mu1) ** 2 * nhi1 - (mu1**2 - mu2**2) / mu1**2 * s0u / t0)
        )
        s0l = max(t0 / (mu1 - mu2) * (mu1 * nlo2 - mu2 * nhi1), mp.mpf(0))
        return s0l, s1

    sZ0, sZ1 = bases(nZ, mZ)
    _, sX1 = bases(nX, mX)
    dmX = delta(mX)
    vX1 = t1 / (mu1 - mu2) * (w[0] * (mX[0] + dmX) - w[1] * (mX[1] - dmX))
    b = vX1 / sX1
    phi = b + gamma(eps_sec, b, sX1, sZ1, 19)
    ell_real = (
        sZ0
        + sZ1 * (1 - h(phi))
        - lam
        - 6 * mp.log(19 / eps_sec, 2)
        - mp.log(2 / mp.mpf(eps_cor), 2)
    )
    return {"s0": sZ0, "s1": sZ1, "s1_test": sX1, "v1_test": vX1, "phi": phi, "ell_real": ell_real}


def rusca_example_counts():
    """The public Rusca 2018 worked example: App. B model, P_det,tot as in channel-model.md."""
    eta = mp.mpf(10) ** (mp.mpf(-25) / 10)
    P_DC = mp.mpf("6e-7")  # dark clicks per pulse, both detectors together (Rusca's P_DC)
    e_d, R, t_dt = mp.mpf("0.01"), mp.mpf("80e6"), mp.mpf("10e-6")
    mu, p, pZ, nZ = (
        [mp.mpf("0.5"), mp.mpf("0.1")],
        [mp.mpf("0.5"), mp.mpf("0.5")],
        mp.mpf("0.9"),
        mp.mpf(10) ** 7,
    )
    det = [p[i] * (1 - mp.e ** (-mu[i] * eta) + P_DC) for i in range(2)]
    err = [p[i] * ((1 - mp.e ** (-mu[i] * eta)) * e_d + P_DC / 2) for i in range(2)]
    c_dt = 1 / (1 + R * sum(det) * t_dt)
    N = nZ / (c_dt * pZ**2 * sum(det))
    nZk = [N * c_dt * pZ**2 * d for d in det]
    mZk = [N * c_dt * pZ**2 * e for e in err]
    nXk = [N * c_dt * (1 - pZ) ** 2 * d for d in det]
    mXk = [N * c_dt * (1 - pZ) ** 2 * e for e in err]
    q = sum(mZk) / nZ
    lam = mp.mpf("1.16") * nZ * h(q)
    return N, nZk, mZk, nXk, mXk, lam


def main() -> None:
    lim_in = {
        "intensities": [0.411, 0.2198, 0.0002],
        "probabilities": [0.3773, 0.4455, 0.1772],
        "key_detections": [6125230, 3872526, 2244],
        "key_errors": [148094, 94096, 454],
        "test_detections": [171658, 108527, 63],
        "test_errors": [4150, 2637, 13],
        "ec_leakage_bits": 1911180,
        "eps_sec": 1e-10,
        "eps_cor": 1e-15,
    }
    lim_out = lim2014(
        lim_in["intensities"],
        lim_in["probabilities"],
        lim_in["key_detections"],
        lim_in["key_errors"],
        lim_in["test_detections"],
        lim_in["test_errors"],
        lim_in["ec_leakage_bits"],
        lim_in["eps_sec"],
        lim_in["eps_cor"],
    )
    N, nZk, mZk, nXk, mXk, lam = rusca_example_counts()
    rus_out = rusca2018([0.5, 0.1], [0.5, 0.5], nZk, mZk, nXk, mXk, lam, 1e-9, 1e-15)
    ell = int(mp.floor(rus_out["ell_real"]))

    def num(d):
        return {k: float(v) for k, v in d.items()} | {"ell": int(mp.floor(d["ell_real"]))}

    doc = {
        "provenance": {
            "generator": "test_vectors/protocol/bounds/generate_reference.py",
            "method": "independent scalar re-implementation in mpmath (50 digits) from the "
            "formulas of Lim et al. 2014 (Eqs. 1-5, Sec. IV) and Rusca et al. 2018 (App. A and "
            "B), restated in docs/methods/finite-key.md and channel-model.md; shares no code "
            "with evaltool",
            "mpmath_version": mp.__version__,
            "python": sys.version.split()[0],
        },
        "lim2014_regression": {
            "source": "inputs: Lim 2014 Sec. IV model, n_X = 1e7, 50 km, optimised parameters, "
            "counts rounded",
            "inputs": lim_in,
            "outputs": num(lim_out),
        },
        "rusca2018_worked_example": {
            "source": "inputs and published results: the worked example of the "
            "Veriqloud/DecoyState README (docs/methods/finite-key.md)",
            "published": {
                "skr_bps": 13063,
                "ell": 3.74e6,
                "phi": 0.03581,
                "s1": 6.05e6,
                "s1_test": 6.06e4,
            },
            "note_independent": {
                "skr_bps": 13062.7,
                "ell": 3737689,
                "phi": 0.03581,
                "s1": 6045302,
                "s1_test": 60583,
                "v1_test": 1787.8,
            },
            "model_counts": {
                "pulses": float(N),
                "key_detections": [float(x) for x in nZk],
                "key_errors": [float(x) for x in mZk],
                "test_detections": [float(x) for x in nXk],
                "test_errors": [float(x) for x in mXk],
                "ec_leakage_bits": float(lam),
            },
            "outputs": num(rus_out) | {"skr_bps": float(ell * mp.mpf("80e6") / N)},
        },
    }
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
