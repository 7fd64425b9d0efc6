"""Power analysis: the minimum detectable effect (MDE) of a Welch t-test for the data collected.

For a two-sided test that rejects when |t| > t_crit, a true difference δ of the (preprocessed)
class means is detected with probability ``1 − β`` when ``δ ≥ (t_crit + z_{1−β}) · SE`` (normal
approximation, the far tail ignored), where ``SE = sqrt(v_0/n_0 + v_1/n_1)`` is the test's standard
error. This is the planning formula of the REASSURE leakage-detection tutorial (part 3, "minimum
detectable effect") and of Whitnall & Oswald, ASIACRYPT 2019. When the MDE exceeds the
tolerance a requirement allows, a pass would be meaningless: the check is inconclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special


@dataclass(frozen=True, slots=True, eq=False)
class MDEResult:
    """Minimum detectable effect per feature.

    Attributes
    ----------
    mde:
        Smallest true difference of the preprocessed means detected with ``power`` (feature
        units for order 1).
    standardised:
        ``mde`` divided by the pooled standard deviation of the preprocessed values
        (Cohen's d scale).
    critical, power:
        The |t| threshold and the detection probability assumed.
    """

    mde: NDArray[np.float64]
    standardised: NDArray[np.float64]
    critical: float
    power: float


def minimum_detectable_effect(
    se: ArrayLike,
    /,
    *,
    critical: float,
    power: float = 0.8,
    pooled_sd: ArrayLike | None = None,
) -> MDEResult:
    """MDE ``(critical + z_power) · se`` for standard errors ``se`` of a difference of means.

    Parameters
    ----------
    se:
        Standard error of the difference (``WelchTResult.se``).
    critical:
        |t| threshold of the decision rule (e.g. a family-wise corrected 4.5).
    power:
        Required detection probability ``1 − β``.
    pooled_sd:
        Pooled standard deviation for the standardised MDE; NaN when omitted.
    """
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    if not critical > 0:
        raise ValueError(f"critical must be positive, got {critical}")
    s = np.asarray(se, dtype=np.float64)
    mde = (critical + float(special.ndtri(power))) * s
    if pooled_sd is None:
        std = np.full_like(mde, np.nan)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            std = mde / np.asarray(pooled_sd, dtype=np.float64)
    return MDEResult(np.atleast_1d(mde), np.atleast_1d(std), float(critical), float(power))


def rows_for_effect(
    standardised_effect: float, *, critical: float, power: float = 0.8, fraction: float = 0.5
) -> int:
    """Total rows needed to detect a standardised mean difference with ``power`` when a share
    ``fraction`` of the rows is in one class (equal variances assumed)."""
    if not standardised_effect > 0:
        raise ValueError("standardised_effect must be positive")
    if not 0 < fraction < 1:
        raise ValueError("fraction must lie in (0, 1)")
    k = (critical + float(special.ndtri(power))) / standardised_effect
    # SE of d = sqrt(1/n0 + 1/n1) = sqrt(1/(N f (1 − f))).
    return int(np.ceil(k * k / (fraction * (1.0 - fraction))))
