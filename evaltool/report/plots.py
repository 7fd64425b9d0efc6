"""Deterministic SVG plots of the data series a check recorded.

Each plot is a small SVG document returned as a ``data:`` URI, so the report never loads a file it
did not write. The SVG is written here directly, with round axis ticks from :func:`nice_ticks`:
one ``<path>`` per kind of mark (frame, ticks, grid, data, threshold, event marks) and one
``<text>`` per label, coordinates rounded to 0.01 pt. WeasyPrint draws every SVG node, and every
character of SVG text, with a separate call, so a plot that matplotlib's SVG backend wrote (about
230 elements: a group per artist, a ``<use>`` per tick) cost about 50 ms to draw in the PDF and
100 ms to make; this one costs about a fifth of that to draw and a millisecond to make
(benchmarks/bench_report.py). The output is a function of the series alone (no ids, dates or
hashes), so the bytes are reproducible.

Long series are reduced to the minimum and maximum of each of :data:`MAX_BUCKETS` consecutive
buckets, which keeps the envelope (every excursion towards or past a threshold stays visible); the
caption says so, and the full series stays in results.json. Mark counts, overlaid series and the
length of every label are capped so that a hostile or huge series cannot blow up a report.

A series with ``x_labels`` has a categorical x axis (one tick per value, labels turned upright
and thinned when they do not fit side by side); style ``binned`` draws counts that are already
binned as adjoining bars over their bin edges; consecutive series of a check with the same
``group`` share one plot (:func:`group_series`), told apart by dash pattern or marker shape as
well as colour so that a greyscale print still reads.
"""

from __future__ import annotations

import base64
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from xml.sax.saxutils import escape

from evaltool.model.results import Series

MAX_BUCKETS = 150
"""Long series are drawn as the min and max of this many buckets (at most 300 points)."""
MAX_MARKS = 200
"""Event marks drawn per plot."""
MAX_OVERLAY = 6
"""Series drawn on one plot; further series of the group get plots of their own."""
MAX_LABEL_CHARS = 32
"""Longest category label drawn; a longer one is cut and ends in an ellipsis."""
MAX_TEXT_CHARS = 80
"""Longest axis or legend text drawn (captions and results.json keep the full text)."""

WIDTH, HEIGHT = 460.8, 187.2
"""Size of a plot in pt (6.4 in x 2.6 in) without category labels or a second legend row."""
_LEFT, _RIGHT, _TOP, _BOTTOM = 52.0, 452.0, 16.0, 156.0
"""The plot area inside the figure, in pt from the top left corner."""
_FONT = "DejaVu Sans"
_BLUE, _RED, _BROWN, _GRID = "#4a78a8", "#b22222", "#6b4d00", "#cccccc"
_CHAR = 4.4
"""Mean advance of a DejaVu Sans character at 8 pt, in pt (0.55 em)."""
_PALETTE = (_BLUE, "#222222", "#3a7d44", "#8a4f9e", "#b8860b", "#5f6f7f")
_DASHES = ("", "4.5 2", "1 1.6", "6 2 1.2 2", "2.5 2.5", "8 2.5")
"""Dash pattern of the n-th overlaid line (solid first): distinct in greyscale."""


def _clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
"""Tick spacings tried within a decade: the "nice numbers" of Heckbert (Graphics Gems, 1990,
pp. 61-63) refined with 1.5, 2.5, 3, 4, 6 and 8, the ladder matplotlib's ``MaxNLocator`` uses by
default, so that the ticks are those the plots had when matplotlib chose them."""
_LADDER = (*(0.1 * s for s in _STEPS[:-1]), *_STEPS, 10.0 * _STEPS[1])
"""The spacings of the decade below, of the decade, and the first one above."""


def _widen(lo: float, hi: float) -> tuple[float, float]:
    """``lo < hi`` with a span double precision can resolve (a range of 1e-13 about zero or
    of 1e-13 relative to the values when it is narrower than 1e-14 of them)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return -1e-13, 1e-13
    lo, hi = min(lo, hi), max(lo, hi)
    top = max(abs(lo), abs(hi))
    if top < 1e20 * sys.float_info.min or (hi - lo <= top * 1e-14 and lo == hi == 0.0):
        return -1e-13, 1e-13
    if hi - lo <= top * 1e-14:
        return lo - 1e-13 * abs(lo), hi + 1e-13 * abs(hi)
    return lo, hi


def _multiples(x: float, step: float, slack: float, *, up: bool) -> float:
    """How many ``step`` fit in ``x``, rounded down (or up), a remainder within ``slack`` steps
    of a whole step counting as whole."""
    whole, rest = divmod(x, step)
    if up:
        return whole if abs(rest / step) < slack else whole + 1
    return whole + 1 if abs(rest / step - 1) < slack else whole


def nice_ticks(lo: float, hi: float, nbins: int, integer: bool = False) -> list[float]:
    """At most ``nbins + 1`` round tick values inside ``[lo, hi]``, evenly spaced.

    The spacing is the smallest of :data:`_LADDER` (scaled to the range's decade) that divides
    the range into at most ``nbins`` intervals and still leaves two ticks inside it. Values far
    from zero relative to the range are ticked relative to their leading power of ten, so that
    the multiples of the spacing stay exact. With ``integer`` the spacing is a whole number
    whenever the range holds at least two integers.
    """
    a, b = _widen(lo, hi)
    width, middle = b - a, (a + b) / 2
    offset = 0.0 if abs(middle) / width < 100 else math.copysign(
        10.0 ** (math.log10(abs(middle)) // 1), middle)
    scale = 10.0 ** (math.log10(width / nbins) // 1)
    a, b = a - offset, b - offset
    steps = [s * scale for s in _LADDER]
    if integer:
        steps = [s for s in steps if s < 1 or abs(s - round(s)) < 0.001]
    first = next((i for i, s in enumerate(steps) if s >= (b - a) / nbins), len(steps) - 1)
    whole_steps = integer and math.floor(b) - math.ceil(a) >= 1
    ticks: list[float] = []
    for step in reversed(steps[:first + 1]):
        if whole_steps:
            step = max(1.0, step)
        # A large offset leaves fewer exact digits, so more slack in telling a whole multiple.
        slack = min(0.4999, max(1e-10, 10.0 ** (math.log10(abs(offset) / step) - 12))
                    ) if offset else 1e-10
        start = (a // step) * step
        low = _multiples(a - start, step, slack, up=False)
        high = _multiples(b - start, step, slack, up=True)
        ticks = [k * step + start for k in range(int(low), int(high) + 1)]
        if sum(a <= t <= b for t in ticks) >= 2:
            break
    span = hi - lo
    return [t + offset for t in ticks
            if lo - 1e-9 * span <= t + offset <= hi + 1e-9 * span]


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


@dataclass
class _Categories:
    """A categorical x axis: label ``i`` at x = i; ``step`` > 1 labels every step-th only."""

    labels: list[str]
    upright: bool
    step: int
    depth: float
    """Extra height below the axis that upright labels need, in pt."""

    @classmethod
    def fit(cls, labels: Sequence[str]) -> _Categories:
        """Labels side by side when each fits its slot, else turned upright (thinned so that
        upright labels stay 9 pt apart), the figure growing by their length."""
        clipped = [_clip(t, MAX_LABEL_CHARS) for t in labels]
        slot = (_RIGHT - _LEFT) / max(len(clipped), 1)
        widest = max((len(t) for t in clipped), default=0) * _CHAR * 7 / 8
        if widest <= slot - 3:
            return cls(clipped, False, 1, 0.0)
        return cls(clipped, True, max(1, math.ceil(9.0 / slot)), widest - 6.0)


@dataclass
class _Prepared:
    """One series ready to draw: points (``edges`` is None) or bins (counts over edges)."""

    series: Series
    xs: list[float]
    ys: list[float]
    edges: list[float] | None = None
    notes: list[str] = field(default_factory=list)


class _Canvas:
    """Maps data to plot-area coordinates and collects SVG elements."""

    def __init__(self, xlim: tuple[float, float], ylim: tuple[float, float], *,
                 top: float = _TOP, height: float = HEIGHT) -> None:
        self.xlim, self.ylim = xlim, ylim
        self.top, self.height = top, height
        self.bottom = _BOTTOM + (top - _TOP)
        self.parts: list[str] = []

    def x(self, v: float) -> float:
        lo, hi = self.xlim
        return _LEFT + (v - lo) / (hi - lo) * (_RIGHT - _LEFT)

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        return self.bottom - (v - lo) / (hi - lo) * (self.bottom - self.top)

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


def _axes(c: _Canvas, xlabel: str, ylabel: str, *, integer_y: bool = False,
          categories: _Categories | None = None) -> None:
    """Frame, ticks, tick labels, horizontal grid and axis labels."""
    yt = nice_ticks(*c.ylim, 5, integer=integer_y)
    grid = "".join(f"M{_f(_LEFT)} {_f(c.y(t))}H{_f(_RIGHT)}" for t in yt)
    c.path(grid, f'stroke="{_GRID}" stroke-width="0.3" fill="none"')
    if categories is None:
        xt = nice_ticks(*c.xlim, 6)
        xlabels = _tick_labels(xt)
    else:
        # One tick per category while they are at least 2 pt apart, else one per label.
        dense = (_RIGHT - _LEFT) / max(len(categories.labels), 1) < 2.0
        xt = [float(i) for i in range(0, len(categories.labels),
                                      categories.step if dense else 1)]
        xlabels = [categories.labels[int(t)] if int(t) % categories.step == 0 else ""
                   for t in xt]
    ticks = "".join(f"M{_f(c.x(t))} {_f(c.bottom)}v3.5" for t in xt)
    ticks += "".join(f"M{_f(_LEFT)} {_f(c.y(t))}h-3.5" for t in yt)
    c.path(ticks, 'stroke="#000000" stroke-width="0.8" fill="none"')
    for t, s in zip(xt, xlabels, strict=True):
        if categories is not None and categories.upright:
            c.text(c.x(t) + 2.5, c.bottom + 6, s, anchor="end", size=7.0, rotate=True)
        else:
            c.text(c.x(t), c.bottom + 13, s, size=7.0 if categories else 8.0)
    ylabels = _tick_labels(yt)
    # The y tick labels end 6 pt left of the frame and must clear the upright axis label, whose
    # glyphs reach 13 pt from the left edge: long labels ("3.52e-05") are set smaller.
    widest = max((len(s) for s in ylabels), default=0)
    size = min(8.0, round((_LEFT - 6 - 14) / (widest * _CHAR / 8.0), 1)) if widest else 8.0
    for t, s in zip(yt, ylabels, strict=True):
        c.text(_LEFT - 6, c.y(t) + 2.9, s, anchor="end", size=size)
    c.text((_LEFT + _RIGHT) / 2, c.height - 4, _clip(xlabel))
    c.text(11, (c.top + c.bottom) / 2, _clip(ylabel), rotate=True)


def group_series(series: Sequence[Series]) -> list[tuple[Series, ...]]:
    """The plots of a check: consecutive series with the same ``group`` form one plot (at most
    :data:`MAX_OVERLAY` series each), every other series a plot of its own."""
    out: list[tuple[Series, ...]] = []
    for s in series:
        last = out[-1] if out else ()
        if (s.group is not None and last and last[0].group == s.group
                and len(last) < MAX_OVERLAY):
            out[-1] = (*last, s)
        else:
            out.append((s,))
    return out


def _prepare(s: Series, categorical: bool) -> _Prepared:
    """Points or bins of one series; categories sit at x = 0, 1, ..."""
    ys_all = s.values
    n = len(ys_all)
    if s.style == "histogram":
        import numpy as np

        finite = np.array([float(v) for v in ys_all if v is not None], dtype=float)
        if not finite.size:
            return _Prepared(s, [], [0.0], [0.0, 1.0])
        counts, bin_edges = np.histogram(finite, bins=10 if finite.size < 200 else 20)
        return _Prepared(s, [], [float(v) for v in counts], [float(e) for e in bin_edges])
    if s.style == "binned":
        ys = [math.nan if v is None else float(v) for v in ys_all]
        numbered = [float(i) - (0.5 if categorical else 0.0) for i in range(n + 1)]
        notes: list[str] = []
        if categorical or len(s.x) not in (n, n + 1) or any(v is None for v in s.x):
            edges = numbered
        else:
            edges = [float(v) for v in s.x if v is not None]
            if len(edges) == n and n:
                edges.append(edges[-1] + (edges[-1] - edges[-2] if n > 1 else 1.0))
            if not all(a < b for a, b in pairwise(edges)):
                edges = numbered
                notes.append("bin edges not increasing: bins drawn by number")
        return _Prepared(s, [], ys, edges, notes)
    xs_all: Sequence[float | None] = (
        s.x if len(s.x) == n and not categorical else tuple(float(i) for i in range(n)))
    xs, ys, bucket = _decimate(xs_all, ys_all)
    notes = ([f"drawn as the minimum and maximum of every {bucket} consecutive values"]
             if bucket > 1 else [])
    return _Prepared(s, xs, ys, None, notes)


def _bins_path(c: _Canvas, p: _Prepared, filled: bool) -> str:
    """Adjoining bars over the bin edges (filled), or their outline as one step line."""
    assert p.edges is not None
    base = _f(c.y(0.0))
    if filled:
        return "".join(
            f"M{_f(c.x(a))} {base}V{_f(c.y(n))}H{_f(c.x(b))}V{base}Z"
            for a, b, n in zip(p.edges[:-1], p.edges[1:], p.ys, strict=True)
            if n > 0 and math.isfinite(n))
    out: list[str] = []
    for a, b, n in zip(p.edges[:-1], p.edges[1:], p.ys, strict=True):
        if not math.isfinite(n):
            continue
        out.append(f"M{_f(c.x(a))} {_f(c.y(n))}H{_f(c.x(b))}")
    return "".join(out)


def _marker(i: int, px: float, py: float) -> str:
    """Path data of the i-th marker shape (filled square, open triangle, cross, diamond)."""
    shape = i % 4
    if shape == 0:
        return f"M{_f(px - 1.1)} {_f(py - 1.1)}h2.2v2.2h-2.2Z"
    if shape == 1:
        return f"M{_f(px)} {_f(py - 2)}l1.8 3.2h-3.6Z"
    if shape == 2:
        return f"M{_f(px - 1.6)} {_f(py - 1.6)}l3.2 3.2m0 -3.2l-3.2 3.2"
    return f"M{_f(px)} {_f(py - 2)}l2 2l-2 2l-2 -2Z"


def _marker_attrs(i: int, colour: str) -> str:
    if i % 4 == 0:
        return f'fill="{colour}"'
    if i % 4 == 3:
        return f'fill="#ffffff" stroke="{colour}" stroke-width="0.7"'
    return f'fill="none" stroke="{colour}" stroke-width="0.7"'


def _line_attrs(i: int, colour: str) -> str:
    dash = f' stroke-dasharray="{_DASHES[i % len(_DASHES)]}"' if i % len(_DASHES) else ""
    return (f'stroke="{colour}" stroke-width="0.9" fill="none" stroke-linejoin="round"'
            f'{dash}')


def _draw(c: _Canvas, p: _Prepared, i: int, n_bars: int, bar_i: int, overlay: bool
          ) -> tuple[str, str, str]:
    """Path data and attributes of series ``i`` of the plot, and its legend key kind."""
    colour = _PALETTE[i % len(_PALETTE)]
    style = p.series.style
    if p.edges is not None:
        if not overlay or i == 0:
            attrs = f'fill="{colour}" stroke="#ffffff" stroke-width="0.8"'
            return _bins_path(c, p, True), attrs, "bar"
        return _bins_path(c, p, False), _line_attrs(i, colour), "line"
    if style not in ("points", "bars"):
        return c.polyline(p.xs, p.ys, step=style == "step"), _line_attrs(i, colour), "line"
    pts = [(xv, yv) for xv, yv in zip(p.xs, p.ys, strict=True)
           if not (math.isnan(xv) or math.isnan(yv))]
    if style == "points":
        d = "".join(_marker(i, c.x(xv), c.y(yv)) for xv, yv in pts)
        return d, _marker_attrs(i, colour), "marker"
    # Bars of overlaid bar series stand side by side in 80 % of the gap between x values.
    finite_x = sorted({xv for xv in p.xs if not math.isnan(xv)})
    gap = min((b - a for a, b in pairwise(finite_x)), default=1.0)
    slot = (c.x(finite_x[0] + gap) - c.x(finite_x[0])) if finite_x else 2.5
    half = 0.4 * slot / n_bars
    shift = (-0.4 * slot + (2 * bar_i + 1) * half) if n_bars > 1 else 0.0
    base = _f(c.y(0.0))
    d = "".join(f"M{_f(c.x(xv) + shift - half)} {base}V{_f(c.y(yv))}"
                f"H{_f(c.x(xv) + shift + half)}V{base}Z" for xv, yv in pts)
    return d, f'fill="{colour}"', "bar"


def _key(kind: str, i: int, x0: float, y0: float) -> tuple[str, str]:
    """Legend key of series ``i`` drawn as ``kind`` (line, marker or bar), 14 pt wide."""
    colour = _PALETTE[i % len(_PALETTE)]
    if kind == "marker":
        return _marker(i, x0 + 7, y0), _marker_attrs(i, colour)
    if kind == "bar":
        return f"M{_f(x0 + 3)} {_f(y0 - 3)}h8v6h-8Z", f'fill="{colour}"'
    return f"M{_f(x0)} {_f(y0)}h14", _line_attrs(i, colour)


_THRESHOLD = 'stroke="#b22222" stroke-width="1" stroke-dasharray="3.7 1.6" fill="none"'
_MARKS = 'stroke="#6b4d00" stroke-width="0.8" stroke-dasharray="0.8 1.32" fill="none"'


def plot_series(series: Series | Sequence[Series]) -> tuple[str, str]:
    """A series, or the series of one group (:func:`group_series`), as an SVG ``data:`` URI,
    and a caption stating what was drawn.

    The threshold (if any) is a dashed line labelled with its pass condition; marks are vertical
    dotted lines (e.g. aborts); a histogram shows the distribution of the values (e.g. p-values of
    a battery, which should be uniform on [0, 1] under the null hypothesis, NIST SP 800-22 §4.2.2).
    Styles: ``line``, ``step`` (a value holds until the next x), ``points``, ``bars`` (from 0),
    ``histogram`` (bins the values) and ``binned`` (values are counts per bin over the bin edges
    in x). Overlaid series share the axes (labels of the first series; the y label is the group
    name when there is one) and get a legend entry each.
    """
    group = (series,) if isinstance(series, Series) else tuple(series)[:MAX_OVERLAY]
    if not group:
        raise ValueError("plot_series needs at least one series")
    first = group[0]
    overlay = len(group) > 1
    labelled = next((s for s in group if s.x_labels), None)
    categories = None
    if labelled is not None and len(labelled.x_labels) == len(labelled.values):
        categories = _Categories.fit(labelled.x_labels)
    prepared = [_prepare(s, categories is not None) for s in group]

    caption = [f"{s.name}: {len(s.values)} values" for s in group]
    for p in prepared:
        caption.extend(p.notes)
    marks = sorted({float(m) for s in group for m in s.marks})[:MAX_MARKS]
    n_marks = len({float(m) for s in group for m in s.marks})
    if n_marks > MAX_MARKS:
        caption.append(f"first {MAX_MARKS} of {n_marks} marks drawn")

    # Limits: bins include 0 in y; a histogram's threshold is a value (x), any other's a y.
    thresholds: dict[tuple[float, bool], str | None] = {}
    deciders: dict[tuple[float, bool], list[str]] = {}  # the series the pass condition is on
    for s in group:
        if s.threshold is not None:
            key = (s.threshold, s.style == "histogram")
            thresholds[key] = thresholds.get(key) or s.passes_if
            if s.passes_if is not None:
                deciders.setdefault(key, []).append(s.name)
    xt = [t for t, vertical in thresholds if vertical]
    yt = [t for t, vertical in thresholds if not vertical]
    px = [v for p in prepared for v in (p.edges if p.edges is not None else p.xs)]
    py = [v for p in prepared for v in p.ys]
    from_zero = any(p.edges is not None or p.series.style == "bars" for p in prepared)
    if categories is not None:
        xlim = (-0.5, len(categories.labels) - 0.5)
    else:
        xlim = _limits(px, [*xt, *marks])
    ylim = _limits([*py, 0.0] if from_zero else py, yt)
    if from_zero and all(v >= 0 for v in (*py, *yt) if math.isfinite(v)):
        ylim = (0.0, ylim[1])

    # Legend entries (series keys when overlaid, thresholds, marks), wrapped into rows above
    # the plot area so that they never hide data.
    kinds: list[str] = []
    legend: list[tuple[str, str, int]] = []
    if overlay:
        legend.extend((_clip(s.name, 48), "series", i) for i, s in enumerate(group))
    for (t, vertical), cond in thresholds.items():
        if vertical:
            text = f"threshold {cond or ''} {t:g}"
        else:
            text = f"{f'pass if {cond} ' if cond else 'limit '}{t:g}"
        owners = deciders.get((t, vertical), [])
        if overlay and len(owners) == 1 and len(group) > 1:
            # Only one of the overlaid series is held to the limit (e.g. a confidence bound,
            # not the estimate drawn beside it): the legend says which.
            text = f"{_clip(owners[0], 40)}: {text}"
        legend.append((text, "threshold", 0))
    if marks:
        label = next((s.marks_label for s in group if s.marks and s.marks_label), None)
        legend.append((_clip(label or "event", 48), "marks", 0))
    rows: list[list[tuple[float, tuple[str, str, int]]]] = [[]]
    x0 = _LEFT
    for entry in legend:
        width = 18 + _CHAR * 7 / 8 * len(entry[0]) + 14
        if rows[-1] and x0 + width - 14 > _RIGHT:
            rows.append([])
            x0 = _LEFT
        rows[-1].append((x0, entry))
        x0 += width
    top = _TOP + 10.0 * (len(rows) - 1)
    depth = categories.depth if categories is not None and categories.upright else 0.0
    c = _Canvas(xlim, ylim, top=top, height=HEIGHT + (top - _TOP) + depth)

    body: list[tuple[str, str]] = []
    n_bars = sum(p.series.style == "bars" for p in prepared)
    bar_i = 0
    for i, p in enumerate(prepared):
        d, attrs, kind = _draw(c, p, i, n_bars, bar_i, overlay)
        bar_i += p.series.style == "bars"
        kinds.append(kind)
        body.append((d, attrs))
    if thresholds:
        d = "".join(f"M{_f(c.x(t))} {_f(c.top)}V{_f(c.bottom)}" if vertical
                    else f"M{_f(_LEFT)} {_f(c.y(t))}H{_f(_RIGHT)}" for t, vertical in thresholds)
        body.append((d, _THRESHOLD))
    if marks:
        lo, hi = c.xlim
        d = "".join(f"M{_f(c.x(m))} {_f(c.top)}V{_f(c.bottom)}" for m in marks if lo <= m <= hi)
        body.append((d, _MARKS))

    if first.style == "histogram":
        xlabel, ylabel = _label(first.name, first.unit), "count"
    else:
        xlabel = _label(first.x_name or ("category" if categories else "index"), first.x_unit)
        units = {s.unit for s in group}
        name = first.group if overlay and first.group else first.name
        ylabel = _label(name, first.unit if len(units) == 1 else None)
    counts = all(p.edges is not None for p in prepared) and all(
        v.is_integer() for p in prepared for v in p.ys if math.isfinite(v))
    _axes(c, xlabel, ylabel, integer_y=counts,
          categories=categories)
    for d, attrs in body:
        c.path(d, attrs)
    c.path(f"M{_f(_LEFT)} {_f(c.top)}H{_f(_RIGHT)}V{_f(c.bottom)}H{_f(_LEFT)}Z",
           'stroke="#000000" stroke-width="0.8" fill="none"')
    for r, row in enumerate(rows):
        y0 = c.top - 6.5 - 10.0 * (len(rows) - 1 - r)
        for x, (text, what, i) in row:
            if what == "series":
                d, attrs = _key(kinds[i], i, x, y0)
                c.path(d, attrs)
            else:
                c.path(f"M{_f(x)} {_f(y0)}h14", _THRESHOLD if what == "threshold" else _MARKS)
            c.text(x + 18, y0 + 2.5, text, anchor="start", size=7.0)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:g}pt" '
           f'height="{c.height:g}pt" viewBox="0 0 {WIDTH:g} {c.height:g}" '
           f'font-family="{_FONT}" fill="#000000">' + "".join(c.parts) + "</svg>")
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
    return uri, "; ".join(caption)
