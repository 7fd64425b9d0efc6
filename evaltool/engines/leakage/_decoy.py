"""Decoy-state consistency: one linear-loss channel must explain the gains of every intensity class.

Under the decoy-state assumption (Hwang, PRL 91, 057901, 2003; Lo, Ma, Chen, PRL 94, 230504,
2005, the gain formula of the "vacuum + weak decoy" analysis) the gain of intensity ``μ_k`` over a
linear-loss channel of transmittance ``η`` with background yield ``Y_0`` is

    Q_k = Y_0 + 1 − exp(−η μ_k).

A photon-number-splitting eavesdropper (Brassard, Lütkenhaus, Mor, Sanders, PRL 85, 1330, 2000)
who blocks single photons and forwards multi-photon pulses makes the *effective* transmittance
depend on the intensity (larger for the signal class than for the weak classes), which no single
``(Y_0, η)`` fits: that intensity-dependent transmittance is the PNS signature, tested here by the
goodness of fit (χ²) of the ``Q_k`` to a linear-loss model.

The observed detections ``d_k`` of ``n_k`` pulses are compared with ``n_k s (Y_0 + 1 −
e^{−η μ_k})``, where the known scale ``s`` collects what multiplies every class alike (sifting
fraction, the fraction of gates the common dead time leaves open). The Pearson χ² is minimised
over ``(Y_0, η)`` by iterative reweighting: ``Y_0`` in closed form for each ``η`` (weighted least
squares), ``η`` by a bounded one-dimensional search, the weights refreshed from the fit twice
(the minimum is reached to about 1e-6 near the null and 1e-4 relative for χ² in the hundreds).
With ``K`` classes the minimum has ``K − 2`` degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from evaltool.errors import InsufficientDataError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class DecoyConsistencyResult:
    """Goodness of fit of per-class gains to one linear-loss channel.

    Attributes
    ----------
    statistic:
        Minimum Pearson χ² over ``(Y_0, η)``.
    dof:
        Degrees of freedom, ``K − 2``.
    pvalue:
        Upper-tail χ² probability of ``statistic``.
    z:
        For three classes (one degree of freedom): ``±sqrt(statistic)``, positive when the
        middle-intensity class's gain lies *below* the fit, the direction a PNS attack pushes it
        (its effective transmittance below the signal class's); NaN for more classes.
    background_yield, transmittance:
        Fitted ``Y_0`` and ``η``.
    class_transmittance:
        Effective transmittance of each class, ``−ln(1 − (Q_k / s − Y_0)) / μ_k`` (NaN where
        undefined).
    expected, residuals:
        Fitted detections and Pearson residuals ``(d_k − E_k) / sqrt(E_k (1 − E_k / n_k))``.
    detections, trials, intensities, scale:
        The inputs.
    """

    statistic: float
    dof: int
    pvalue: float
    z: float
    background_yield: float
    transmittance: float
    class_transmittance: FloatArray
    expected: FloatArray
    residuals: FloatArray
    detections: FloatArray
    trials: FloatArray
    intensities: FloatArray
    scale: float


def _fit(
    d: FloatArray, n: FloatArray, mu: FloatArray, scale: float
) -> tuple[float, float, FloatArray]:
    """Minimise the weighted χ² over (Y_0, η); returns Y_0, η and the expected counts."""
    a = n * scale
    w = 1.0 / np.maximum(d, 1.0)

    def y0_for(eta: float, weights: FloatArray) -> tuple[float, FloatArray]:
        f = -np.expm1(-eta * mu)
        y0 = float(np.sum(weights * a * (d - a * f)) / np.sum(weights * a * a))
        return y0, a * (y0 + f)

    def chi2(log_eta: float, weights: FloatArray) -> float:
        _, e = y0_for(math.exp(log_eta), weights)
        return float(np.sum(weights * (d - e) ** 2))

    # Starting transmittance from the two strongest classes (slope of the gains), then a
    # bracket of four decades around it.
    order = np.argsort(mu)[::-1]
    hi, lo = int(order[0]), int(order[1])
    slope = (d[hi] / a[hi] - d[lo] / a[lo]) / (mu[hi] - mu[lo])
    start = slope if slope > 0 else 1e-6
    start = min(start, 10.0 / float(mu[hi]))
    lower, upper = math.log(start) - 2 * math.log(10), math.log(start) + 2 * math.log(10)
    upper = min(upper, math.log(50.0 / float(mu[hi])))
    log_eta = math.log(start)
    for _ in range(3):
        res = optimize.minimize_scalar(
            chi2, bounds=(lower, upper), args=(w,), method="bounded",
            options={"xatol": 1e-12, "maxiter": 500},
        )
        log_eta = float(res.x)
        y0, e = y0_for(math.exp(log_eta), w)
        w = 1.0 / np.maximum(e * (1.0 - e / n), 1e-300)
    y0, e = y0_for(math.exp(log_eta), w)
    return y0, math.exp(log_eta), e


def decoy_consistency(
    detections: ArrayLike, trials: ArrayLike, intensities: ArrayLike, /, *, scale: float = 1.0
) -> DecoyConsistencyResult:
    """χ² goodness of fit of per-class detections to one linear-loss channel.

    Parameters
    ----------
    detections:
        Detections ``d_k`` per intensity class (e.g. sifted detections of one block).
    trials:
        Pulses ``n_k`` sent per class.
    intensities:
        Mean photon numbers ``μ_k`` (distinct, at least three; one may be 0).
    scale:
        Known factor common to all classes (``0 < scale <= 1``): the sifting fraction times the
        fraction of gates open after the common dead time.

    References
    ----------
    H.-K. Lo, X. Ma, K. Chen, "Decoy state quantum key distribution", PRL 94, 230504 (2005)
    (the gain ``Q_μ = Y_0 + 1 − e^{−ημ}`` of a linear-loss channel); W.-Y. Hwang, PRL 91, 057901
    (2003) (the decoy-state idea: a PNS attack cannot treat decoy and signal pulses alike).
    """
    d = np.asarray(detections, dtype=np.float64).ravel()
    n = np.asarray(trials, dtype=np.float64).ravel()
    mu = np.asarray(intensities, dtype=np.float64).ravel()
    if not d.shape == n.shape == mu.shape:
        raise ValueError("detections, trials and intensities must have the same length")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(n)) and np.all(np.isfinite(mu))):
        raise ValueError("detections, trials and intensities must be finite")
    if np.any(mu < 0) or np.unique(mu).size != mu.size:
        raise ValueError("intensities must be distinct and non-negative")
    if np.any(d < 0) or np.any(d > n):
        raise ValueError("detections must lie in [0, trials]")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must lie in (0, 1], got {scale}")
    if mu.size < 3:
        raise InsufficientDataError(
            f"a linear-loss fit has 2 parameters: {mu.size} intensity classes leave no degree of "
            "freedom (3 needed)"
        )
    if np.any(n <= 0):
        raise InsufficientDataError("an intensity class has no pulses sent")
    y0, eta, e = _fit(d, n, mu, scale)
    var = e * (1.0 - e / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = np.where(var > 0, (d - e) / np.sqrt(var), np.nan)
        inner = 1.0 - (d / (n * scale) - y0)
        eta_k = np.where((mu > 0) & (inner > 0), -np.log(inner) / mu, np.nan)
    chi2 = float(np.nansum(resid**2))
    dof = int(mu.size - 2)
    pvalue = float(stats.chi2.sf(chi2, dof))
    z = math.nan
    if mu.size == 3:
        middle = int(np.argsort(mu)[1])
        z = math.copysign(math.sqrt(chi2), -float(resid[middle]))
    return DecoyConsistencyResult(
        chi2, dof, pvalue, z, y0, eta, eta_k, e, resid, d, n, mu, float(scale)
    )


def decoy_noncentrality(
    trials: ArrayLike,
    intensities: ArrayLike,
    /,
    *,
    scale: float,
    background_yield: float,
    transmittance: float,
    relative_deviation: float,
) -> float:
    """χ² noncentrality of a PNS-like deviation: the weaker classes' transmittance is
    ``(1 − relative_deviation) η``, the strongest class's ``η``.

    The fit is applied to the noise-free expected detections of that alternative; its minimum is
    the noncentrality ``λ`` (for one degree of freedom the one-sided statistic shifts by
    ``sqrt(λ)``). Used for the minimum detectable deviation of the data collected.
    """
    n = np.asarray(trials, dtype=np.float64).ravel()
    mu = np.asarray(intensities, dtype=np.float64).ravel()
    eta = np.full(mu.shape, transmittance * (1.0 - relative_deviation))
    eta[int(np.argmax(mu))] = transmittance
    p = scale * (background_yield - np.expm1(-eta * mu))
    e = np.clip(p, 0.0, 1.0) * n
    _, _, fitted = _fit(e, n, mu, scale)
    var = fitted * (1.0 - fitted / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(var > 0, (e - fitted) / np.sqrt(var), 0.0)
    return float(np.sum(r**2))


def one_sided_quantile(alpha: float) -> float:
    """``Φ⁻¹(1 − α)``: the one-sided standard-normal critical value."""
    return float(-special.ndtri(alpha))
