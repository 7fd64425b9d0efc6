"""Deterministic SVG plots of the data series a check recorded.

Each plot is a small SVG document returned as a ``data:`` URI, so the report never loads a file it
did not write. The SVG is written here directly, with matplotlib's tick locator choosing the axis
ticks: one ``<path>`` per kind of mark (frame, ticks, grid, data, threshold, event marks) and one
``<text>`` per label, coordinates rounded to 0.01 pt. WeasyPrint draws every SVG node, and every
character of SVG text, with a separate call, so a plot that matplotlib's SVG backend wrote (about
230 elements: a group per artist, a ``<use>`` per tick) cost about 50 ms to draw in the PDF and
100 ms to make; this one costs about a fifth of that to draw and a millisecond to make
(benchmarks/bench_report.py). The output is a function of the series alone (no ids, dates or
hashes), so the bytes are reproducible.

Long series are reduced to the minimum and maximum of each of :data:`MAX_BUCKETS` consecutive
buckets, which keeps the envelope (every excursion towards or past a threshold stays visible); the
caption says so, and the full series stays in results.json. Mark counts are capped so that a
hostile or huge series cannot blow up a report.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from itertools import pairwise
from xml.sax.saxutils import escape

from evaltool.model.results import Series

MAX_BUCKETS = 150
"""Long series are drawn as the min and max of this many buckets (at most 300 points)."""
MAX_MARKS = 200
"""Event marks drawn per plot."""

WIDTH, HEIGHT = 460.8, 187.2
"""Size of a plot in pt (6.4 in x 2.6 in)."""
_LEFT, _RIGHT, _TOP, _BOTTOM = 52.0, 452.0, 16.0, 156.0
"""The plot area inside the figure, in pt from the top left corner."""
_FONT = "DejaVu Sans"
_BLUE, _RED, _BROWN, _GRID = "#4a78a8", "#b22222", "#6b4d00", "#cccccc"


def _label(name: str | None, unit: str | None) -> str:
    if not name:
        return ""
    return f"{name} [{unit}]" if unit else name


def _f(v: float) -> str:
    """A coordinate in pt with two decimals and no trailing zeros."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _decimate(xs: Sequence[float | None], ys: Sequence[float | None]
              ) -> tuple[list[float], list[float], int]:
    """Points to draw; a long series becomes the min and max of each bucket, in x order.

    Returns ``(x, y, bucket)`` with ``bucket`` the number of values per bucket (1: every point
    drawn). A missing value (None) is a NaN, which breaks the line.
    """
    n = len(ys)
    px = [math.nan if x is None else float(x) for x in xs]
    py = [math.nan if y is None else float(y) for y in ys]
    if n <= 2 * MAX_BUCKETS:
        return px, py, 1
    size = math.ceil(n / MAX_BUCKETS)
    ox: list[float] = []
    oy: list[float] = []
    for start in range(0, n, size):
        idx = [i for i in range(start, min(start + size, n)) if not math.isnan(py[i])
               and not math.isnan(px[i])]
        if not idx:
            ox.append(math.nan)
            oy.append(math.nan)
            continue
        lo = min(idx, key=py.__getitem__)
        hi = max(idx, key=py.__getitem__)
        for i in sorted({lo, hi}):
            ox.append(px[i])
            oy.append(py[i])
    return ox, oy, size


def _limits(values: Sequence[float], extra: Sequence[float] = ()) -> tuple[float, float]:
    """Axis range covering ``values`` and ``extra`` with a 5 % margin (matplotlib's default)."""
    finite = [v for v in (*values, *extra) if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if hi == lo:
        pad = abs(lo) * 0.05 or 0.5
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, nbins: int, integer: bool = False) -> list[float]:
    """At most ``nbins + 1`` round tick values inside ``[lo, hi]`` (matplotlib's MaxNLocator)."""
    from matplotlib.ticker import MaxNLocator

    values = MaxNLocator(nbins, integer=integer).tick_values(lo, hi)
    span = hi - lo
    return [float(v) for v in values if lo - 1e-9 * span <= v <= hi + 1e-9 * span]


def _tick_labels(ticks: Sequence[float]) -> list[str]:
    """Tick labels with as few decimals as tell them apart (scientific for very large/small)."""
    if not ticks:
        return []
    top = max(abs(t) for t in ticks)
    step = min((b - a for a, b in pairwise(ticks)), default=top or 1.0)
    if top >= 1e6 or (0 < top < 1e-3):
        return [f"{t:.3g}" for t in ticks]
    decimals = 0
    while decimals < 8 and any(abs(round(t, decimals) - t) > step * 1e-6 for t in ticks):
        decimals += 1
    labels = [f"{t:.{decimals}f}" for t in ticks]
    return [s[1:] if s.startswith("-") and float(s) == 0 else s for s in labels]


class _Canvas:
    """Maps data to plot-area coordinates and collects SVG elements."""

    def __init__(self, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
        self.xlim, self.ylim = xlim, ylim
        self.parts: list[str] = []

    def x(self, v: float) -> float:
        lo, hi = self.xlim
        return _LEFT + (v - lo) / (hi - lo) * (_RIGHT - _LEFT)

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        return _BOTTOM - (v - lo) / (hi - lo) * (_BOTTOM - _TOP)

    def path(self, d: str, attrs: str) -> None:
        if d:
            self.parts.append(f'<path d="{d}" {attrs}/>')

    def text(self, x: float, y: float, s: str, anchor: str = "middle", size: float = 8.0,
             rotate: bool = False) -> None:
        if not s:
            return
        transform = f' transform="rotate(-90 {_f(x)} {_f(y)})"' if rotate else ""
        self.parts.append(f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size:g}" '
                          f'text-anchor="{anchor}"{transform}>{escape(s)}</text>')

    def polyline(self, xs: Sequence[float], ys: Sequence[float], step: bool = False) -> str:
        """Path data through the points; a NaN breaks the line."""
        out: list[str] = []
        pen = False
        for xv, yv in zip(xs, ys, strict=True):
            if math.isnan(xv) or math.isnan(yv):
                pen = False
                continue
            px, py = _f(self.x(xv)), _f(self.y(yv))
            if not pen:
                out.append(f"M{px} {py}")
                pen = True
            elif step:
                out.append(f"H{px}V{py}")
            else:
                out.append(f"L{px} {py}")
        return "".join(out)


def _axes(c: _Canvas, xlabel: str, ylabel: str, *, integer_y: bool = False) -> None:
    """Frame, ticks, tick labels, horizontal grid and axis labels."""
    xt = _ticks(*c.xlim, 6)
    yt = _ticks(*c.ylim, 5, integer=integer_y)
    grid = "".join(f"M{_f(_LEFT)} {_f(c.y(t))}H{_f(_RIGHT)}" for t in yt)
    c.path(grid, f'stroke="{_GRID}" stroke-width="0.3" fill="none"')
    ticks = "".join(f"M{_f(c.x(t))} {_f(_BOTTOM)}v3.5" for t in xt)
    ticks += "".join(f"M{_f(_LEFT)} {_f(c.y(t))}h-3.5" for t in yt)
    c.path(ticks, 'stroke="#000000" stroke-width="0.8" fill="none"')
    for t, s in zip(xt, _tick_labels(xt), strict=True):
        c.text(c.x(t), _BOTTOM + 13, s)
    for t, s in zip(yt, _tick_labels(yt), strict=True):
        c.text(_LEFT - 6, c.y(t) + 2.9, s, anchor="end")
    c.text((_LEFT + _RIGHT) / 2, HEIGHT - 4, xlabel)
    c.text(11, (_TOP + _BOTTOM) / 2, ylabel, rotate=True)


def plot_series(series: Series) -> tuple[str, str]:
    """One series as an SVG ``data:`` URI, and a caption stating what was drawn.

    The threshold (if any) is a dashed line labelled with its pass condition; marks are vertical
    dotted lines (e.g. aborts); a histogram shows the distribution of the values (e.g. p-values of
    a battery, which should be uniform on [0, 1] under the null hypothesis, NIST SP 800-22 §4.2.2).
    Styles: ``line``, ``step`` (a value holds until the next x), ``points``, ``bars`` (from 0)
    and ``histogram``.
    """
    caption = [f"{series.name}: {len(series.values)} values"]
    ys_all = series.values
    xs_all: Sequence[float | None] = (
        series.x if len(series.x) == len(ys_all) else tuple(float(i) for i in range(len(ys_all))))
    marks = [float(m) for m in series.marks[:MAX_MARKS]]
    legend: list[tuple[str, str]] = []
    body: list[tuple[str, str]] = []
    if series.style == "histogram":
        import numpy as np

        finite = np.array([float(v) for v in ys_all if v is not None], dtype=float)
        bins = 10 if finite.size < 200 else 20
        counts, edges = (np.histogram(finite, bins=bins) if finite.size
                         else (np.zeros(0), np.zeros(1)))
        extra = [series.threshold] if series.threshold is not None else []
        c = _Canvas(_limits([float(e) for e in edges], [*extra, *marks]),
                    _limits([0.0, *(float(n) for n in counts)]))
        c.ylim = (0.0, c.ylim[1])
        bars = "".join(
            f"M{_f(c.x(float(a)))} {_f(c.y(0))}V{_f(c.y(float(n)))}H{_f(c.x(float(b)))}"
            f"V{_f(c.y(0))}Z"
            for a, b, n in zip(edges[:-1], edges[1:], counts, strict=True) if n > 0)
        body.append((bars, f'fill="{_BLUE}" stroke="#ffffff" stroke-width="0.8"'))
        xlabel, ylabel = _label(series.name, series.unit), "count"
        if series.threshold is not None:
            tx = _f(c.x(series.threshold))
            body.append((f"M{tx} {_f(_TOP)}V{_f(_BOTTOM)}",
                          f'stroke="{_RED}" stroke-width="1" stroke-dasharray="3.7 1.6" '
                          f'fill="none"'))
            legend.append((f"threshold {series.passes_if or ''} {series.threshold:g}", "red"))
    else:
        xs, ys, bucket = _decimate(xs_all, ys_all)
        if bucket > 1:
            caption.append(f"drawn as the minimum and maximum of every {bucket} consecutive "
                           "values")
        extra = [series.threshold] if series.threshold is not None else []
        ylo, yhi = _limits(ys, extra)
        if series.style == "bars":
            ylo, yhi = _limits([*ys, 0.0], extra)
        c = _Canvas(_limits(xs, marks), (ylo, yhi))
        if series.style == "points":
            d = "".join(f"M{_f(c.x(xv) - 1.1)} {_f(c.y(yv) - 1.1)}h2.2v2.2h-2.2Z"
                        for xv, yv in zip(xs, ys, strict=True)
                        if not (math.isnan(xv) or math.isnan(yv)))
            body.append((d, f'fill="{_BLUE}"'))
        elif series.style == "bars":
            finite_x = sorted({xv for xv in xs if not math.isnan(xv)})
            gap = min((b - a for a, b in pairwise(finite_x)),
                      default=1.0)
            half = 0.4 * (c.x(finite_x[0] + gap) - c.x(finite_x[0])) if finite_x else 1.0
            base = _f(c.y(0.0))
            d = "".join(f"M{_f(c.x(xv) - half)} {base}V{_f(c.y(yv))}H{_f(c.x(xv) + half)}"
                        f"V{base}Z" for xv, yv in zip(xs, ys, strict=True)
                        if not (math.isnan(xv) or math.isnan(yv)))
            body.append((d, f'fill="{_BLUE}"'))
        else:
            body.append((c.polyline(xs, ys, step=series.style == "step"),
                         f'stroke="{_BLUE}" stroke-width="0.9" fill="none" '
                         f'stroke-linejoin="round"'))
        xlabel = _label(series.x_name or "index", series.x_unit)
        ylabel = _label(series.name, series.unit)
        if series.threshold is not None:
            ty = _f(c.y(series.threshold))
            body.append((f"M{_f(_LEFT)} {ty}H{_f(_RIGHT)}",
                         f'stroke="{_RED}" stroke-width="1" stroke-dasharray="3.7 1.6" '
                         f'fill="none"'))
            cond = f"pass if {series.passes_if} " if series.passes_if else "limit "
            legend.append((f"{cond}{series.threshold:g}", "red"))
    if marks:
        lo, hi = c.xlim
        d = "".join(f"M{_f(c.x(m))} {_f(_TOP)}V{_f(_BOTTOM)}" for m in marks if lo <= m <= hi)
        body.append((d, f'stroke="{_BROWN}" stroke-width="0.8" stroke-dasharray="0.8 1.32" '
                        f'fill="none"'))
        legend.append((series.marks_label or "event", "brown"))
    if len(series.marks) > MAX_MARKS:
        caption.append(f"first {MAX_MARKS} of {len(series.marks)} marks drawn")
    _axes(c, xlabel, ylabel, integer_y=series.style == "histogram")
    for d, attrs in body:
        c.path(d, attrs)
    c.path(f"M{_f(_LEFT)} {_f(_TOP)}H{_f(_RIGHT)}V{_f(_BOTTOM)}H{_f(_LEFT)}Z",
           'stroke="#000000" stroke-width="0.8" fill="none"')
    # The legend sits above the plot area, so it never hides data.
    x0 = _LEFT
    for text, kind in legend:
        style = (f'stroke="{_RED}" stroke-width="1" stroke-dasharray="3.7 1.6"' if kind == "red"
                 else f'stroke="{_BROWN}" stroke-width="0.8" stroke-dasharray="0.8 1.32"')
        c.path(f"M{_f(x0)} {_f(_TOP - 6.5)}h14", f'{style} fill="none"')
        c.text(x0 + 18, _TOP - 4, text, anchor="start", size=7.0)
        x0 += 18 + 4.4 * len(text) + 14
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:g}pt" height="{HEIGHT:g}pt" '
           f'viewBox="0 0 {WIDTH:g} {HEIGHT:g}" font-family="{_FONT}" fill="#000000">'
           + "".join(c.parts) + "</svg>")
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
    return uri, "; ".join(caption)
