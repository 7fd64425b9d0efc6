"""The per-record loop of ``import tagger``: channel lookup, counting, checks and the conversion
of macro times to picoseconds in one pass (numba, without the GIL so the Parquet writer runs
beside it). The conversion rule is :class:`evaltool.importers.tagger.Clock`'s."""

from __future__ import annotations

import numba
import numpy as np

OK, BAD_CHANNEL, BACKWARDS, TOO_LATE, BAD_DELAY = 0, 1, 2, 3, 4
"""``status[0]`` after :func:`map_clicks`; ``status[1]`` is the index of the offending record."""


@numba.njit(cache=True, nogil=True)
def map_clicks(channel: np.ndarray, macro: np.ndarray, base: int, micro: np.ndarray,
               previous: int, limit: int, whole: int, part: float, micro_limit: int,
               micro_whole: int, micro_part: float, role: np.ndarray, det_lut: np.ndarray,
               basis_lut: np.ndarray, bit_lut: np.ndarray, counts: np.ndarray,
               time_out: np.ndarray, det_out: np.ndarray, basis_out: np.ndarray,
               bit_out: np.ndarray, gate_out: np.ndarray, status: np.ndarray) -> int:
    """Map the clicks of one chunk of records; returns how many were written.

    A record with ``channel < 0`` is not a click and is passed over. ``macro + base`` is the
    click's macro time; ``micro`` its TCSPC delay unless it is empty: converted like the macro
    time (``micro_whole``, ``micro_part``), added to ``time_out`` and written to ``gate_out``;
    ``status[3]`` is set to 1 when the written times are not in order. ``role[c]`` is 1 for a
    mapped channel, 2 for an ignored one, 0 otherwise; ``counts[c]`` accumulates the clicks of
    channel ``c``; ``previous`` is the last click's macro time before this chunk.
    """
    n = channel.size
    size = role.size
    with_micro = micro.size > 0
    k = 0
    last = np.int64(previous)
    status[0] = OK
    status[2] = previous
    status[3] = 0
    last_ps = np.int64(-1)
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
        if with_micro:
            m = np.int64(micro[i])
            if m < 0 or m > micro_limit:
                status[0], status[1] = BAD_DELAY, i
                return k
            delay = m * micro_whole
            if micro_part != 0.0:
                delay += np.int64(np.floor(np.float64(m) * micro_part + 0.5))
            ps += delay
            gate_out[k] = np.float64(delay)
            if ps < last_ps:
                status[3] = 1
            last_ps = ps
        time_out[k] = ps
        det_out[k] = det_lut[c]
        basis_out[k] = basis_lut[c]
        bit_out[k] = bit_lut[c]
        k += 1
    status[2] = last
    return k
