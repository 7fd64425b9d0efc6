"""Shared pieces of the SP 800-90B engine: constants, sample preparation, result types.

References
----------
NIST SP 800-90B (January 2018), "Recommendation for the Entropy Sources Used for Random Bit
Generation". Section numbers in docstrings refer to that document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Upper 0.995 quantile of the standard normal distribution (SP 800-90B §6.3: every bound
#: is a 99 % one-sided confidence bound). Same double the reference tool uses.
Z_ALPHA: float = 2.5758293035489008

#: SP 800-90B §3.1.1: the entropy source submits at least 1,000,000 sequential samples.
MIN_SAMPLES: int = 1_000_000


@dataclass(frozen=True, slots=True)
class EstimatorResult:
    """One min-entropy estimate of SP 800-90B §6.3.

    Attributes
    ----------
    name:
        Estimator key: ``mcv``, ``collision``, ``markov``, ``compression``, ``t-tuple``, ``lrs``,
        ``multi-mcw``, ``lag``, ``multi-mmc`` or ``lz78y``.
    min_entropy:
        Estimated min-entropy per symbol of the assessed sequence (bits per sample, or bits per bit
        on the bit-string track), ``-log2(p_u)`` scaled as the estimator prescribes.
    p_hat:
        Point estimate of the probability the estimator bounds (the most-common-value
        proportion, the t-tuple / LRS maximum, the predictor's global accuracy ``C/N``). For the
        collision, Markov and compression estimates, which only produce the bound, it equals
        ``p_u``.
    p_u:
        The probability whose negative logarithm is the estimate: the 99 % upper bound for the
        MCV, t-tuple, LRS and predictor estimates, the solved ``p`` for the collision and
        compression estimates and the probability of the most likely 128-bit sequence for the
        Markov estimate.
    n:
        Length of the sequence the estimate was computed on.
    params:
        Intermediate values (e.g. ``X_bar``, ``sigma_hat``, ``t``, ``u``, ``v``, ``C``, ``r``).
    """

    name: str
    min_entropy: float
    p_hat: float
    p_u: float
    n: int
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PreparedSamples:
    """Samples as the SP 800-90B estimators consume them.

    Attributes
    ----------
    symbols:
        Samples translated to ``0 .. alphabet_size-1`` in increasing order of their value
        (untouched when every value ``0 .. max`` occurs).
    bits:
        The bit string of the untranslated samples, ``bits_per_sample`` bits per sample, most
        significant bit first (SP 800-90B §3.1.3 / §6.3, "bit string").
    alphabet_size:
        Number of distinct sample values present.
    bits_per_sample:
        Declared sample width.
    """

    symbols: NDArray[np.uint8]
    bits: NDArray[np.uint8]
    alphabet_size: int
    bits_per_sample: int


def as_samples(data: ArrayLike, bits_per_sample: int) -> NDArray[np.uint8]:
    """Validate samples of ``bits_per_sample`` bits (one per array element) as uint8.

    Raises ``ValueError`` when the width is outside 1..8 or a value does not fit in it.
    """
    if not isinstance(bits_per_sample, int | np.integer) or not 1 <= int(bits_per_sample) <= 8:
        raise ValueError(f"bits_per_sample must be an integer in 1..8, got {bits_per_sample!r}")
    arr = np.asarray(data)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"samples must be an integer array, got dtype {arr.dtype}")
    arr = arr.ravel()
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= (1 << int(bits_per_sample))):
        raise ValueError(
            f"samples must lie in 0..{(1 << int(bits_per_sample)) - 1} for "
            f"{bits_per_sample}-bit samples"
        )
    return np.ascontiguousarray(arr, dtype=np.uint8)


def prepare_samples(data: ArrayLike, bits_per_sample: int) -> PreparedSamples:
    """Translate samples and build the bit string as SP 800-90B §6.3 prescribes.

    When fewer distinct values occur than ``max + 1``, the samples are renumbered
    ``0 .. k-1`` (order preserved) so that the estimators see the actual alphabet; the bit
    string is always built from the original values.
    """
    samples = as_samples(data, bits_per_sample)
    width = int(bits_per_sample)
    present = np.bincount(samples, minlength=1 << width) > 0
    alphabet_size = int(present.sum())
    if samples.size and alphabet_size < int(samples.max()) + 1:
        table = (np.cumsum(present) - 1).astype(np.uint8)
        symbols = table[samples]
    else:
        symbols = samples
    if width == 1:
        bits = samples
    else:
        shifts = np.arange(width - 1, -1, -1, dtype=np.uint8)
        bits = ((samples[:, None] >> shifts[None, :]) & 1).astype(np.uint8).ravel()
    return PreparedSamples(
        symbols=np.ascontiguousarray(symbols),
        bits=np.ascontiguousarray(bits),
        alphabet_size=alphabet_size,
        bits_per_sample=width,
    )


def upper_bound(p_hat: float, n: int) -> float:
    """Return the 99 % upper confidence bound ``min(1, p + Z sqrt(p(1-p)/(n-1)))`` (§6.3.1)."""
    return min(1.0, p_hat + Z_ALPHA * math.sqrt(p_hat * (1.0 - p_hat) / (n - 1.0)))


def neg_log2(p: float) -> float:
    """Return ``-log2(p)`` as a float (``0.0`` for ``p == 1``)."""
    return 0.0 if p >= 1.0 else -math.log2(p)
