"""The report's SVG plots: every style draws, long series keep their envelope, text is escaped,
and the SVG stays lean (WeasyPrint draws each node and each character of SVG text separately)."""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET

import pytest

from evaltool.model.results import Series
from evaltool.report.plots import MAX_BUCKETS, MAX_MARKS, _decimate, _tick_labels, plot_series

SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_of(uri: str) -> ET.Element:
    assert uri.startswith("data:image/svg+xml;base64,")
    return ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG_NS}text")]


@pytest.mark.parametrize("style", ["line", "step", "points", "histogram", "bars"])
def test_every_style_draws_a_lean_svg(style: str) -> None:
    s = Series(name="qber_key", unit="ratio", values=tuple(0.02 + 0.001 * (i % 9)
                                                           for i in range(120)),
               threshold=0.03, passes_if="<=", marks=(10.0, 50.0), marks_label="abort",
               style=style)  # type: ignore[arg-type]
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
