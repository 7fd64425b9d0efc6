"""Deterministic SVG plots of the data series a check recorded (matplotlib, no global state).

Each plot is an SVG document returned as a ``data:`` URI, so the report never loads a file it did
not write. Determinism: ``svg.hashsalt`` is fixed (the ids matplotlib gives clip paths and
glyphs) and the ``Date`` metadata is dropped. Text stays text (``svg.fonttype: none``) and is
set by the PDF renderer in the report's own fonts: drawing glyphs as paths made every plot cost
~2x more to render in WeasyPrint (benchmarks/bench_report.py).
Series and mark counts are capped so that a hostile or huge series cannot blow up a report.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

from evaltool.model.results import Series

MAX_POINTS = 1000
"""Points drawn per series; longer series are reduced by taking every k-th point (stated below
the plot). The full series stays in results.json."""
MAX_MARKS = 200
"""Event marks drawn per plot."""

_RC: dict[Any, Any] = {
    "svg.hashsalt": "evaltool",
    "svg.fonttype": "none",
    "font.size": 8.0,
    "font.family": "DejaVu Sans",
    "axes.titlesize": 9.0,
    "figure.dpi": 72.0,
    "path.simplify": True,
}


def _label(name: str | None, unit: str | None) -> str:
    if not name:
        return ""
    return f"{name} [{unit}]" if unit else name


def _decimate(xs: Sequence[float | None], ys: Sequence[float | None]
              ) -> tuple[list[float], list[float], int]:
    step = max(1, math.ceil(len(ys) / MAX_POINTS))
    px: list[float] = []
    py: list[float] = []
    for i in range(0, len(ys), step):
        x, y = xs[i], ys[i]
        px.append(math.nan if x is None else float(x))
        py.append(math.nan if y is None else float(y))
    return px, py, step


def plot_series(series: Series) -> tuple[str, str]:
    """One series as an SVG ``data:`` URI, and a caption stating what was drawn.

    The threshold (if any) is a dashed line labelled with its pass condition; marks are vertical
    dotted lines (e.g. aborts); a histogram shows the distribution of the values (e.g. p-values of
    a battery, which should be uniform on [0, 1] under the null hypothesis, NIST SP 800-22 §4.2.2).
    """
    import matplotlib

    with matplotlib.rc_context(_RC):
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=(6.4, 2.6))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        caption = [f"{series.name}: {len(series.values)} values"]
        ys_all = series.values
        xs_all: Sequence[float | None] = (
            series.x if len(series.x) == len(ys_all) else tuple(float(i) for i in
                                                                range(len(ys_all))))
        if series.style == "histogram":
            finite = [float(v) for v in ys_all if v is not None]
            bins = 10 if len(finite) < 200 else 20
            if finite:
                ax.hist(finite, bins=bins, color="#4a78a8", edgecolor="white")
            ax.set_xlabel(_label(series.name, series.unit))
            ax.set_ylabel("count")
            if series.threshold is not None:
                ax.axvline(series.threshold, color="#b22222", linestyle="--", linewidth=1.0,
                           label=f"threshold {series.passes_if or ''} {series.threshold:g}")
        else:
            xs, ys, step = _decimate(xs_all, ys_all)
            if step > 1:
                caption.append(f"one point in {step} drawn")
            if series.style == "step":
                ax.step(xs, ys, where="post", linewidth=0.9, color="#4a78a8")
            elif series.style == "points":
                ax.plot(xs, ys, linestyle="none", marker=".", markersize=2.5, color="#4a78a8")
            elif series.style == "bars":
                ax.bar(xs, ys, color="#4a78a8")
            else:
                ax.plot(xs, ys, linewidth=0.9, color="#4a78a8")
            ax.set_xlabel(_label(series.x_name or "index", series.x_unit))
            ax.set_ylabel(_label(series.name, series.unit))
            if series.threshold is not None:
                cond = f"pass if {series.passes_if} " if series.passes_if else "limit "
                ax.axhline(series.threshold, color="#b22222", linestyle="--", linewidth=1.0,
                           label=f"{cond}{series.threshold:g}")
        marks = series.marks[:MAX_MARKS]
        for i, m in enumerate(marks):
            ax.axvline(m, color="#6b4d00", linestyle=":", linewidth=0.8,
                       label=(series.marks_label or "event") if i == 0 else None)
        if len(series.marks) > MAX_MARKS:
            caption.append(f"first {MAX_MARKS} of {len(series.marks)} marks drawn")
        if series.threshold is not None or marks:
            ax.legend(loc="best", fontsize=7, frameon=False)
        ax.grid(True, axis="y", linewidth=0.3, color="#cccccc")
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        # Fixed margins instead of tight_layout, which draws the figure twice.
        fig.subplots_adjust(left=0.11, right=0.98, top=0.95, bottom=0.17)
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    uri = "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return uri, "; ".join(caption)
