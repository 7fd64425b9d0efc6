"""The per-record loop of ``import tagger``: channel lookup, counting, checks and the conversion
of macro times to picoseconds in one pass (numba, without the GIL so the Parquet writer runs
beside it). The conversion rule is :class:`evaltool.importers.tagger.Clock`'s."""

from __future__ import annotations

import numba
import numpy as np

OK, BAD_CHANNEL, BACKWARDS, TOO_LATE = 0, 1, 2, 3
"""``status[0]`` after :func:`map_clicks`; ``status[1]`` is the index of the offending record."""


@numba.njit(cache=True, nogil=True)
def map_clicks(channel: np.ndarray, macro: np.ndarray, base: int, micro: np.ndarray,
               previous: int, limit: int, whole: int, part: float, role: np.ndarray,
               det_lut: np.ndarray, basis_lut: np.ndarray, bit_lut: np.ndarray,
               counts: np.ndarray, time_out: np.ndarray, det_out: np.ndarray,
               basis_out: np.ndarray, bit_out: np.ndarray, micro_out: np.ndarray,
               status: np.ndarray) -> int:
    """Map the clicks of one chunk of records; returns how many were written.

    A record with ``channel < 0`` is not a click and is passed over. ``macro + base`` is the
    click's macro time; ``micro`` its TCSPC delay (copied to ``micro_out`` for the written
    clicks) unless it is empty. ``role[c]`` is 1 for a mapped channel, 2 for an ignored one, 0
    otherwise; ``counts[c]`` accumulates the clicks of channel ``c``; ``previous`` is the last
    click's macro time before this chunk.
    """
    n = channel.size
    size = role.size
    with_micro = micro.size > 0
    k = 0
    last = np.int64(previous)
    status[0] = OK
    status[2] = previous
    for i in range(n):
        c = np.int64(channel[i])
        if c < 0:
            continue
        t = np.int64(macro[i]) + base
        if t < last:
            status[0], status[1] = BACKWARDS, i
            return k
        if t > limit:
            status[0], status[1] = TOO_LATE, i
            return k
        last = t
        if c >= size or role[c] == 0:
            status[0], status[1] = BAD_CHANNEL, i
            return k
        counts[c] += 1
        if role[c] != 1:
            continue
        ps = t * whole
        if part != 0.0:
            ps += np.int64(np.floor(np.float64(t) * part + 0.5))
        time_out[k] = ps
        det_out[k] = det_lut[c]
        basis_out[k] = basis_lut[c]
        bit_out[k] = bit_lut[c]
        if with_micro:
            micro_out[k] = micro[i]
        k += 1
    status[2] = last
    return k
