"""The single input-policy module shared by every engine (in the spirit of scipy's nan policy).

Bits are always ``NDArray[np.uint8]`` holding only 0 and 1. Too little data raises
:class:`~evaltool.errors.InsufficientDataError` (a check turns it into *inconclusive*); programming
errors (wrong dtype, values other than 0/1, NaN) raise ``ValueError`` / ``TypeError``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.errors import InsufficientDataError


def as_bits(data: ArrayLike, /) -> NDArray[np.uint8]:
    """Return ``data`` as a contiguous 1-D uint8 array of 0/1, or raise ``ValueError``."""
    arr = np.asarray(data)
    if arr.dtype == np.bool_:
        return np.ascontiguousarray(arr.astype(np.uint8).ravel())
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"bits must be an integer or boolean array, got dtype {arr.dtype}")
    arr = arr.ravel()
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError("bits must contain only 0 and 1")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def require_min_length(n: int, minimum: int, *, test: str, unit: str = "bits") -> None:
    """Raise :class:`InsufficientDataError` when ``n < minimum``."""
    if n < minimum:
        raise InsufficientDataError(f"{test} needs n >= {minimum} {unit}, got {n}")
