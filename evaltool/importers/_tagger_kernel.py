"""The per-click loop of ``import tagger``: channel lookup, counting, checks and the conversion
of macro times to picoseconds in one pass (numba, without the GIL so the Parquet writer runs
beside it). The conversion rule is :class:`evaltool.importers.tagger.Clock`'s."""

from __future__ import annotations

import numba
import numpy as np

OK, BAD_CHANNEL, BACKWARDS, TOO_LATE = 0, 1, 2, 3
"""``status[0]`` after :func:`map_clicks`; ``status[1]`` is the index of the offending click."""


@numba.njit(cache=True, nogil=True)
def map_clicks(channel: np.ndarray, macro: np.ndarray, previous: int, limit: int, whole: int,
               part: float, role: np.ndarray, det_lut: np.ndarray, basis_lut: np.ndarray,
               bit_lut: np.ndarray, counts: np.ndarray, time_out: np.ndarray,
               det_out: np.ndarray, basis_out: np.ndarray, bit_out: np.ndarray,
               keep_out: np.ndarray, status: np.ndarray) -> int:
    """Map the clicks of one chunk; returns how many were written (mapped, not ignored).

    ``role[c]`` is 1 for a mapped channel, 2 for an ignored one, 0 otherwise; ``counts[c]``
    accumulates the clicks of channel ``c``; ``previous`` is the last macro time of the chunk
    before; ``keep_out[i]`` says whether click ``i`` was written.
    """
    n = channel.size
    size = role.size
    k = 0
    last = np.int64(previous)
    status[0] = OK
    for i in range(n):
        c = np.int64(channel[i])
        t = np.int64(macro[i])
        if t < last:
            status[0], status[1] = BACKWARDS, i
            return k
        if t > limit:
            status[0], status[1] = TOO_LATE, i
            return k
        last = t
        if c < 0 or c >= size or role[c] == 0:
            status[0], status[1] = BAD_CHANNEL, i
            return k
        counts[c] += 1
        if role[c] != 1:
            keep_out[i] = False
            continue
        keep_out[i] = True
        ps = t * whole
        if part != 0.0:
            ps += np.int64(np.floor(np.float64(t) * part + 0.5))
        time_out[k] = ps
        det_out[k] = det_lut[c]
        basis_out[k] = basis_lut[c]
        bit_out[k] = bit_lut[c]
        k += 1
    return k
