"""The report's SVG plots: every style draws, long series keep their envelope, text is escaped,
and the SVG stays lean (WeasyPrint draws each node and each character of SVG text separately)."""

from __future__ import annotations

import base64
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evaltool.model.results import Series
from evaltool.report.plots import (
    _DASHES,
    _PALETTE,
    MAX_BUCKETS,
    MAX_LABEL_CHARS,
    MAX_MARKS,
    MAX_OVERLAY,
    _decimate,
    _tick_labels,
    group_series,
    nice_ticks,
    plot_series,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
RECORDED_TICKS = json.loads(
    (Path(__file__).parent / "data" / "ticks-recorded.json").read_text())["cases"]


def svg_of(uri: str) -> ET.Element:
    assert uri.startswith("data:image/svg+xml;base64,")
    return ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG_NS}text")]


@pytest.mark.parametrize("style", ["line", "step", "points", "histogram", "bars", "binned"])
def test_every_style_draws_a_lean_svg(style: str) -> None:
    s = Series(name="qber_key", unit="ratio", values=tuple(0.02 + 0.001 * (i % 9)
                                                           for i in range(120)),
               threshold=0.03, passes_if="<=", marks=(10.0, 50.0), marks_label="abort",
               style=style)
    uri, caption = plot_series(s)
    root = svg_of(uri)
    assert root.tag == f"{SVG_NS}svg"
    nodes = list(root.iter())
    # frame, grid, ticks, data, threshold, marks, two legend keys: one path each
    assert len([n for n in nodes if n.tag == f"{SVG_NS}path"]) <= 8
    assert len(nodes) < 40
    assert not any(n.tag in (f"{SVG_NS}use", f"{SVG_NS}g", f"{SVG_NS}image") for n in nodes)
    labels = texts(root)
    assert "abort" in labels
    assert any(t.startswith(("pass if <= 0.03", "threshold <= 0.03")) for t in labels)
    assert caption == "qber_key: 120 values"


def test_long_series_keep_their_envelope() -> None:
    # A spike of one sample in 20 000 must stay visible after the reduction to min/max buckets.
    n = 20_000
    ys: list[float | None] = [0.5] * n
    ys[12_345] = 9.0
    ys[777] = -3.0
    ys[100] = None
    xs = [float(i) for i in range(n)]
    px, py, bucket = _decimate(xs, ys)
    assert bucket == math.ceil(n / MAX_BUCKETS)
    assert len(py) <= 2 * MAX_BUCKETS
    assert max(py) == 9.0 and min(py) == -3.0
    assert px[py.index(9.0)] == 12_345.0 and px[py.index(-3.0)] == 777.0
    assert px == sorted(px)  # still in x order
    _uri, caption = plot_series(Series(name="v", values=tuple(ys)))
    assert f"minimum and maximum of every {bucket} consecutive values" in caption
    assert caption.startswith("v: 20000 values")


def test_short_series_are_drawn_point_by_point_with_gaps() -> None:
    px, py, bucket = _decimate([0.0, 1.0, 2.0], [1.0, None, 3.0])
    assert bucket == 1 and px == [0.0, 1.0, 2.0]
    assert py[0] == 1.0 and math.isnan(py[1]) and py[2] == 3.0
    uri, _ = plot_series(Series(name="v", values=(1.0, None, 3.0)))
    data = [p.get("d", "") for p in svg_of(uri).iter(f"{SVG_NS}path")
            if p.get("stroke") == "#4a78a8"]
    assert len(data) == 1 and data[0].count("M") == 2  # the missing value breaks the line


def test_labels_are_text_and_escaped() -> None:
    s = Series(name='<script>alert("x")</script> & co', unit="a<b", values=(1.0, 2.0),
               marks=(1.0,), marks_label="</text><image href='file:///etc/passwd'/>")
    raw = base64.b64decode(plot_series(s)[0].split(",", 1)[1]).decode()
    assert "<script" not in raw and "<image" not in raw
    labels = texts(svg_of(plot_series(s)[0]))
    assert '<script>alert("x")</script> & co [a<b]' in labels
    assert "</text><image href='file:///etc/passwd'/>" in labels


def test_tick_labels_use_as_few_decimals_as_tell_them_apart() -> None:
    assert _tick_labels([0.0, 0.25, 0.5, 0.75, 1.0]) == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert _tick_labels([0.0, 400.0, 800.0]) == ["0", "400", "800"]
    assert _tick_labels([-0.5, 0.0, 0.5]) == ["-0.5", "0.0", "0.5"]
    assert _tick_labels([0.0, 2e-5, 4e-5]) == ["0", "2e-05", "4e-05"]
    assert _tick_labels([0.0, 5e6, 1e7]) == ["0", "5e+06", "1e+07"]


def test_marks_are_capped() -> None:
    s = Series(name="v", values=tuple(float(i) for i in range(1000)),
               marks=tuple(float(i) for i in range(MAX_MARKS + 50)))
    uri, caption = plot_series(s)
    assert f"first {MAX_MARKS} of {MAX_MARKS + 50} marks drawn" in caption
    marks = [p.get("d", "") for p in svg_of(uri).iter(f"{SVG_NS}path")
             if p.get("stroke") == "#6b4d00" and "V" in p.get("d", "")]
    assert len(re.findall("M", marks[0])) == MAX_MARKS


def test_empty_and_constant_series_still_draw_axes() -> None:
    for s in (Series(name="empty", values=()), Series(name="flat", values=(2.0,) * 5),
              Series(name="none", values=(None, None)),
              Series(name="h", values=(), style="histogram")):
        root = svg_of(plot_series(s)[0])
        assert s.name in " ".join(texts(root)) or s.style == "histogram"
        assert list(root.iter(f"{SVG_NS}path"))


# --- categorical axes, pre-binned counts, overlays --------------------------------------------


def paths(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG_NS}path"))


def test_categorical_axis_has_one_tick_and_label_per_value() -> None:
    # The ten SP 800-90B §6.3 estimators: 40 pt slots are too narrow for "compression" side by
    # side, so the labels stand upright and the figure grows below the axis to hold them.
    names = ("mcv", "collision", "markov", "compression", "t-tuple", "lrs", "multi-mcw", "lag",
             "multi-mmc", "lz78y")
    s = Series(name="min-entropy estimate", unit="bits", values=tuple(0.9 + 0.01 * i
                                                                      for i in range(10)),
               x=tuple(float(i) for i in range(1, 11)), x_labels=names, style="bars",
               threshold=0.85, passes_if=">=")
    root = svg_of(plot_series(s)[0])
    labels = [t for t in root.iter(f"{SVG_NS}text") if (t.text or "") in names]
    assert [t.text for t in labels] == list(names)
    assert all("rotate(-90" in t.get("transform", "") for t in labels)
    assert float(root.get("height", "0").removesuffix("pt")) > 187.2
    ticks = next(p.get("d", "") for p in paths(root) if p.get("stroke") == "#000000")
    assert ticks.count("v3.5") == 10  # one x tick per category, none at 1.5
    # Bars sit at the category positions 0..9 of a (-0.5, 9.5) axis: centres 20 pt + 40 pt·i.
    bars = next(p.get("d", "") for p in paths(root) if p.get("fill") == "#4a78a8")
    lefts = [float(v) for v in re.findall(r"M([\d.]+) ", bars)]
    assert lefts == pytest.approx([52 + 40 * i + 20 - 16 for i in range(10)], abs=0.01)


def test_short_category_labels_stay_level_and_many_are_thinned() -> None:
    cells = tuple(f"{k} after {j}" for k in range(3) for j in range(3))
    root = svg_of(plot_series(Series(name="d", values=(0.1,) * 9, x_labels=cells,
                                     style="points"))[0])
    level = [t for t in root.iter(f"{SVG_NS}text") if t.text in cells]
    assert len(level) == 9 and not any(t.get("transform") for t in level)
    many = tuple(f"c{i}" for i in range(400))
    root = svg_of(plot_series(Series(name="d", values=(1.0,) * 400, x_labels=many))[0])
    shown = [t.text for t in root.iter(f"{SVG_NS}text") if re.fullmatch(r"c\d+", t.text or "")]
    # 1 pt per slot: every 9th label (9 pt apart upright), starting at the first.
    assert shown == [f"c{i}" for i in range(0, 400, 9)]
    assert len(list(root.iter())) < 80


def test_category_labels_are_capped_and_escaped() -> None:
    evil = "</text><image href='file:///etc/passwd'/>"
    s = Series(name="p", values=(1.0, 2.0), x_labels=(evil, "a & b"))
    raw = base64.b64decode(plot_series(s)[0].split(",", 1)[1]).decode()
    assert "<image" not in raw and "&lt;/text&gt;&lt;image" in raw  # inert text
    assert not any(n.tag.endswith("image") for n in svg_of(plot_series(s)[0]).iter())
    labels = texts(svg_of(plot_series(s)[0]))
    assert evil[:MAX_LABEL_CHARS - 1] + "…" in labels and "a & b" in labels
    # Labels that do not match the values in number are ignored (the axis stays numeric).
    root = svg_of(plot_series(Series(name="p", values=(1.0, 2.0, 3.0), x_labels=("a",)))[0])
    assert "a" not in texts(root)


def test_binned_counts_are_drawn_as_adjoining_bars_over_their_edges() -> None:
    # The ten p-value bins of SP 800-22 §4.2.2 over the edges 0, 0.1, ..., 1.
    counts = (12.0, 9.0, 11.0, 10.0, 8.0, 0.0, 13.0, 10.0, 9.0, 18.0)
    s = Series(name="p-values per bin", values=counts, x=tuple(i / 10 for i in range(11)),
               x_name="p-value", style="binned")
    root = svg_of(plot_series(s)[0])
    bars = next(p.get("d", "") for p in paths(root) if p.get("fill") == "#4a78a8")
    rects = re.findall(r"M([\d.]+) ([\d.]+)V([\d.]+)H([\d.]+)V[\d.]+Z", bars)
    assert len(rects) == 9  # the empty bin draws nothing
    # x axis (-0.05, 1.05) over 400 pt: an edge e sits at 52 + (e + 0.05) / 1.1 · 400.
    edge = [52 + (i / 10 + 0.05) / 1.1 * 400 for i in range(11)]
    drawn = [i for i in range(10) if counts[i] > 0]
    assert [float(r[0]) for r in rects] == pytest.approx([edge[i] for i in drawn], abs=0.01)
    assert [float(r[3]) for r in rects] == pytest.approx([edge[i + 1] for i in drawn],
                                                         abs=0.01)
    # y from 0: the base is the bottom of the plot area, the tallest bar 18 of 18.9.
    assert {float(r[1]) for r in rects} == {156.0}
    assert min(float(r[2]) for r in rects) == pytest.approx(156 - 18 / 18.9 * 140, abs=0.01)
    assert "count" not in texts(root) and "p-value" in texts(root)
    # Left edges only: the last bin is as wide as the one before it.
    left = Series(name="g", values=(1.0, 2.0, 3.0), x=(0.0, 2.5, 5.0), style="binned")
    with_right = left.model_copy(update={"x": (0.0, 2.5, 5.0, 7.5)})
    assert plot_series(left) == plot_series(with_right)
    # Edges out of order are not drawn as overlapping bars: the bins are numbered instead.
    bad = left.model_copy(update={"x": (0.0, 5.0, 2.5, 7.5)})
    numbered = left.model_copy(update={"x": ()})
    uri, caption = plot_series(bad)
    assert caption.endswith("bin edges not increasing: bins drawn by number")
    assert uri == plot_series(numbered)[0]


def test_group_series_joins_consecutive_series_of_one_group() -> None:
    def s(name: str, group: str | None) -> Series:
        return Series(name=name, values=(1.0,), group=group)

    plots = group_series([s("a", "g"), s("b", "g"), s("c", None), s("d", "g"), s("e", "h"),
                          s("f", "h")])
    assert [[x.name for x in p] for p in plots] == [["a", "b"], ["c"], ["d"], ["e", "f"]]
    long = group_series([s(str(i), "g") for i in range(MAX_OVERLAY + 1)])
    assert [len(p) for p in long] == [MAX_OVERLAY, 1]


def test_overlay_draws_each_series_distinctly_with_a_legend() -> None:
    # Estimate and lower bound of an efficiency mismatch per time bin, against the bound 0.03.
    x = tuple(float(i) for i in range(8))
    est = Series(name="mismatch estimate, basis 0", values=(0.01,) * 8, x=x, threshold=0.03,
                 style="points", group="efficiency mismatch, basis 0")
    low = Series(name="mismatch lower bound, basis 0", values=(0.0, 0.04) * 4, x=x,
                 threshold=0.03, passes_if="<=", style="points",
                 group="efficiency mismatch, basis 0")
    uri, caption = plot_series((est, low))
    root = svg_of(uri)
    labels = texts(root)
    # One threshold line, labelled with the pass condition and the series it applies to (the
    # lower bound decides; the estimate may lie above the line without a failure).
    assert {"mismatch estimate, basis 0", "mismatch lower bound, basis 0",
            "mismatch lower bound, basis 0: pass if <= 0.03",
            "efficiency mismatch, basis 0"} <= set(labels)
    assert "limit 0.03" not in labels and "pass if <= 0.03" not in labels
    assert caption == ("mismatch estimate, basis 0: 8 values; "
                       "mismatch lower bound, basis 0: 8 values")
    # Filled squares for the first series, open triangles for the second (greyscale-safe):
    # 8 data markers and one legend key each.
    squares = [p for p in paths(root) if p.get("fill") == "#4a78a8"]
    triangles = [p for p in paths(root) if p.get("fill") == "none"
                 and p.get("stroke") == "#222222"]
    assert [p.get("d", "").count("M") for p in squares] == [8, 1]
    assert [p.get("d", "").count("M") for p in triangles] == [8, 1]
    # Lines differ by dash pattern: solid, then dashed.
    lines = [Series(name=f"detector {i}", values=(1.0, 2.0), group="d") for i in range(3)]
    root = svg_of(plot_series(lines)[0])
    dashes = [p.get("stroke-dasharray") for p in paths(root) if p.get("stroke") in _PALETTE]
    assert dashes[:3] == [None, _DASHES[1], _DASHES[2]]
    assert len(set(dashes)) == 3


def test_a_long_legend_wraps_above_the_plot() -> None:
    lines = [Series(name=f"a rather long detector name number {i}", values=(1.0, 2.0),
                    group="d", threshold=1.5, passes_if="<=") for i in range(4)]
    root = svg_of(plot_series(lines)[0])
    frame = [p.get("d", "") for p in paths(root) if p.get("stroke") == "#000000"][-1]
    top = float(re.match(r"M[\d.]+ ([\d.]+)", frame).group(1))  # type: ignore[union-attr]
    assert top > 16.0  # the plot area moved down to make room for a second legend row
    legend_y = {t.get("y") for t in root.iter(f"{SVG_NS}text") if t.get("font-size") == "7"}
    assert len(legend_y) >= 2
    for t in root.iter(f"{SVG_NS}text"):
        if t.get("font-size") == "7":
            assert float(t.get("y", "0")) < top


def test_a_check_with_a_grouped_pair_gets_one_figure_in_the_report() -> None:
    """The HTML report draws consecutive series of one group as one overlaid plot."""
    from evaltool.report.html import render_html
    from tests.report.conftest import make_result

    result = make_result()
    req = result.requirements[0]
    check = req.checks[0]
    x = tuple(float(i) for i in range(6))
    pair = (
        Series(name="estimate", values=(0.01, 0.02, 0.015, 0.03, 0.02, 0.01), x=x, group="mismatch",
               threshold=0.05, passes_if="<="),
        Series(name="lower bound", values=(0.0, 0.005, 0.0, 0.012, 0.004, 0.0), x=x,
               group="mismatch", threshold=0.05, passes_if="<="),
        Series(name="alone", values=(1.0, 2.0)),
    )
    grouped = check.model_copy(update={"series": pair})
    result = result.model_copy(update={"requirements": (
        req.model_copy(update={"checks": (grouped, *req.checks[1:])}),
        *result.requirements[1:],
    )})
    html = render_html(result, plot=plot_series)
    # Every plot of the report: the grouped pair is one figure, "alone" another, plus the
    # other checks' series, each on its own.
    others = sum(len(group_series(c.series)) for r in result.requirements for c in r.checks) - 2
    assert html.count("data:image/svg+xml;base64,") == 2 + others
    uris = re.findall(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", html)
    overlay = next(svg_of(u) for u in uris if {"estimate", "lower bound"} <= set(texts(svg_of(u))))
    assert "alone" not in texts(overlay)


@pytest.mark.parametrize(("lo", "hi", "nbins", "integer", "expected"), [
    (-0.05, 1.05, 5, False, [0.0, 0.25, 0.5, 0.75, 1.0]),
    (0.17462699194536546, 5.720921985103391, 5, False, [1.5, 3.0, 4.5]),
    (-682951.5, 32521.5, 5, False, [-600000.0, -450000.0, -300000.0, -150000.0, 0.0]),
    (-76.0521, -35.7899, 5, False, [-70.0, -60.0, -50.0, -40.0]),
    (0.0, 170.1, 5, True, [0.0, 40.0, 80.0, 120.0, 160.0]),
    (-0.05, 1.05, 5, True, [0.0, 1.0]),
    (0.0, 1e-9, 5, True, [0.0, 2e-10, 4e-10, 6e-10, 8e-10, 1e-09]),
])
def test_nice_ticks_are_round_and_evenly_spaced(lo, hi, nbins, integer, expected) -> None:
    assert nice_ticks(lo, hi, nbins, integer) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_nice_ticks_far_from_zero_step_relative_to_the_leading_power_of_ten() -> None:
    # 543 / 5 bins -> spacing 150, counted from 100000 (the leading power of ten).
    assert nice_ticks(123456.0, 123999.0, 5) == [123550.0, 123700.0, 123850.0]
    assert nice_ticks(1e6, 1e6 + 3, 6) == [1e6 + k / 2 for k in range(7)]
    assert nice_ticks(2.5, 2.5, 5) == [2.5]  # a zero-width range is widened, not an error


def test_nice_ticks_are_those_matplotlib_chose() -> None:
    """The plots kept their axes when matplotlib went: the tick lists recorded from its
    ``MaxNLocator`` for the demo report's axes and for fixed and random ranges, bit for bit."""
    assert len(RECORDED_TICKS) > 150
    for case in RECORDED_TICKS:
        got = nice_ticks(case["lo"], case["hi"], case["nbins"], case["integer"])
        assert got == case["ticks"], case
