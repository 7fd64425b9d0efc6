"""Plot series of bounded size for the report: a long time series is reduced, while it streams,
to at most :data:`MAX_SERIES_POINTS` points that keep what the decision looks at.

A check that draws a monitored quantity against its ceiling (or floor) must show the samples the
verdict rests on, whatever the capture's length: each recorded point is the maximum (or minimum)
of a group of consecutive samples, so a single excursion above a ceiling stays visible however
many samples surround it. Results stay small (a few thousand numbers per series) and depend only
on the samples, never on how the reader chunked them.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from evaltool.model.results import Series

MAX_SERIES_POINTS = 2000
"""Points a monitor records per plotted time series; a longer capture is reduced to the extreme of
each group of consecutive samples (the value a ceiling or floor is decided on)."""
MAX_SERIES_MARKS = 1000
"""Event marks (aborts) recorded per series."""


class Envelope:
    """A time series reduced, while it streams, to at most ``cap`` points for the report.

    Each point is the maximum (or, with ``lowest``, the minimum) of a group of ``k`` consecutive
    samples at the time of the group's first sample; ``k`` doubles whenever the groups exceed
    ``cap``. Groups are aligned on multiples of ``k`` from the first sample, so the points depend
    only on the samples, never on how they were chunked. NaN propagates: a silent monitor stays
    visible as a gap.
    """

    def __init__(self, cap: int = MAX_SERIES_POINTS, *, lowest: bool = False) -> None:
        if cap < 1:
            raise ValueError("cap must be >= 1")
        self.cap = cap
        self._lowest = lowest
        self._empty = math.inf if lowest else -math.inf
        self.k = 1
        self.samples = 0
        self._x: NDArray[np.float64] = np.empty(0)
        self._v: NDArray[np.float64] = np.empty(0)

    def _reduce(self, a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(invalid="ignore"):
            out: NDArray[np.float64] = np.minimum(a, b) if self._lowest else np.maximum(a, b)
        return out

    def update(self, x: NDArray[np.float64], v: NDArray[np.float64]) -> None:
        """Add the samples ``v`` taken at times ``x`` (in time order)."""
        if not v.size:
            return
        g = (self.samples + np.arange(v.size)) // self.k
        size = int(g[-1]) + 1
        if size > self._v.size:
            grow = size - self._v.size
            self._x = np.concatenate((self._x, np.full(grow, np.nan)))
            self._v = np.concatenate((self._v, np.full(grow, self._empty)))
        first = np.flatnonzero(np.diff(g, prepend=-1))
        gid = g[first]
        new = np.isnan(self._x[gid])
        self._x[gid[new]] = x[first[new]]
        with np.errstate(invalid="ignore"):  # NaN is kept on purpose
            (np.minimum if self._lowest else np.maximum).at(self._v, g, v)
        self.samples += int(v.size)
        while self._v.size > self.cap:
            if self._v.size % 2:
                self._x = np.append(self._x, np.nan)
                self._v = np.append(self._v, self._empty)
            self._x = self._x[0::2]
            self._v = self._reduce(self._v[0::2], self._v[1::2])
            self.k *= 2

    def points(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``(x, values)`` of the recorded points."""
        return tuple(self._x.tolist()), tuple(self._v.tolist())

    def series(self, name: str, **fields: object) -> Series:
        """The points as a :class:`Series`; the name says when groups of samples were reduced."""
        x, v = self.points()
        if self.k > 1:
            name = f"{name} ({'minimum' if self._lowest else 'maximum'} of {self.k} samples)"
        return Series(name=name, values=v, x=x, **fields)


def marks(times: NDArray[np.float64]) -> tuple[float, ...]:
    """Event times (aborts, alarms) recorded with a series: the first :data:`MAX_SERIES_MARKS`."""
    return tuple(float(t) for t in times[:MAX_SERIES_MARKS].tolist())


def bounded_series(name: str, x: NDArray[np.float64], values: NDArray[np.float64], *,
                   lowest: bool = False, **fields: object) -> Series:
    """A series of at most :data:`MAX_SERIES_POINTS` points: a longer one keeps, per group of
    consecutive points, the one that matters for the decision (the maximum, or the minimum with
    ``lowest``), as :class:`Envelope` does."""
    env = Envelope(lowest=lowest)
    env.update(np.asarray(x, dtype=np.float64), np.asarray(values, dtype=np.float64))
    return env.series(name, **fields)


__all__ = ["MAX_SERIES_MARKS", "MAX_SERIES_POINTS", "Envelope", "bounded_series", "marks"]
