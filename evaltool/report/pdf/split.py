"""The acceleration of long reports: cut the HTML into parts that render at once on two cores.

WeasyPrint lays out and draws a document on one core, so a 100-page report costs its whole layout
time on one core. Above :data:`SPLIT_ABOVE` (estimated layout cost, :func:`weight`) the report is
rendered in parts instead, and :mod:`evaltool.report.pdf.join` joins them; below it, and whenever
cutting or joining fails, the document is rendered whole (:mod:`evaltool.report.pdf.build`).

The report template marks where it may be cut (``<!--evaltool:front-->`` before the cover and
the contents, ``<!--evaltool:unit-->`` before each chapter or requirement section; the last unit
runs to ``</body>``). The body is cut into two parts of about equal cost (always two, and always
at the same place for the same report, so the bytes do not depend on the machine); the parts, the
cover with the contents, and a one-line *sample* of the page-number text are rendered at once by
as many processes as there are cores.

Page numbers are the only content that depends on other parts, so no part draws them: the
contents leave an empty slot (an empty inline-block whose bottom edge lies on the baseline and
whose height is the font size) after each entry's leader, and the footer's page-number box is left
empty. The joiner sets each number in its place with the glyphs, advances, kerning, colour and
footer position of the sample, which WeasyPrint rendered with the report's own style sheet.

This module only cuts and assembles HTML, plans the parts and does the arithmetic of their
layouts; it renders nothing itself.
"""

from __future__ import annotations

import html as htmlmod
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from evaltool.report.pdf.render import SLOT, Layout

FRONT = "<!--evaltool:front-->"
UNIT = "<!--evaltool:unit-->"

PARTS = 2
"""Body parts; fixed, so the same report is cut the same way on every machine."""

FRONT_WEIGHT = 1.5
"""The cover and contents cost half as much again as their characters (the leaders)."""
PLOT_WEIGHT = 1200
"""Layout cost of one SVG plot in characters of HTML text (measured: ~44 ms a plot against
~36 us a character of text, WeasyPrint 70)."""
CELL_WEIGHT = 25
"""Cost of one table cell (each is a block laid out on its own; measured ~2x the cost of prose
per character in the summary, matrix and appendix tables)."""
BREAK_WEIGHT = 300
"""Cost of one line break (``<br>``): the report uses them only inside table cells, where a tall
cell makes the table paginate by trial (measured on the traceability table)."""
SPLIT_ABOVE = 250_000.0
"""Estimated layout cost (:func:`cost`) above which the report is rendered in parts, about 50
pages. Measured with ``benchmarks/bench_report.py --crossover`` (WeasyPrint 70, CPU time of each
render, median of three): the whole render costs 2.3 s at 15 pages, 5.0 s at 45 and 11.2 s at 98;
in parts on two free cores 0.57-0.65 of that. The second core is seldom free on a shared machine
(wall clocks under a load average of 5 showed no gain up to 35 pages), and below about 50 pages
the whole render ends within about 5 s anyway: the split is kept for the reports where it saves
seconds and where the whole render would approach the 10 s target."""

_DATA_URI = re.compile(r'data:[^"]*')
_H2 = re.compile(r"<h2\b[^>]*>(.*?)</h2>", re.S)
_OPENS_CHAPTER = re.compile(r"\s*(?:<section\b[^>]*>\s*)?<h2\b")
_TOC_LINK = re.compile(r'<a href="#([^"]*)">')
_HREF = re.compile(r'href="#([^"]*)"')
_ID = re.compile(r'\bid="([^"]*)"')
_HEADING_END = re.compile(r"</h[1-6]>")

#: CSS added to each part: the joiner sets the page numbers, no part draws them.
_PART_CSS = "@page { @bottom-right { content: none; } }"
#: CSS added to a part that starts inside a chapter: the running header names that chapter.
_CONTINUED_CSS = "div.continues { string-set: section attr(data-section); }"
"""A part that starts inside a chapter names it once, in an empty block at its start: set on the
body, the string was set again on every page the body continues onto, so every later chapter of
the part kept the first one's running header."""
#: The contents: a leader after each entry, then the slot its page number is set in. WeasyPrint
#: draws each repetition of the leader string as a box of its own: eight dots a box.
_TOC_CSS = ('nav.toc a::after { content: leader("........"); } '
            "nav.toc span.pn { display: inline-block; width: 3ch; height: 1em; margin-left: 2pt; }")
FOOTER_SAMPLE = "Page 0123456789 of 0"
"""The footer text the sample renders (every glyph and kerning pair a page number needs)."""
TOC_SAMPLE = "0123456789"
#: The sample: the report's page rules with only the page-number box, which shows
#: :data:`FOOTER_SAMPLE`, and one contents entry showing :data:`TOC_SAMPLE`.
_SAMPLE_CSS = ("@page { @top-left { content: none; } @top-right { content: none; } "
               "@bottom-left { content: none; } "
               f'@bottom-right {{ content: "{FOOTER_SAMPLE}"; }} }} '
               "nav.toc a::after { content: none; }")


@dataclass(frozen=True, slots=True)
class ReportSource:
    """A report's HTML cut at the template's marks."""

    head: str
    """Everything before ``<body``."""
    body_tag: str
    """The ``<body ...>`` start tag."""
    front: str
    """Cover and contents."""
    units: tuple[str, ...]
    """Chapters and requirement sections, in order."""
    chapters: tuple[str, ...]
    """For each unit, the chapter it continues (escaped), or "" when it opens one itself."""


def _toc(front: str) -> str:
    start = front.find('<nav class="toc">')
    end = front.find("</nav>", start)
    return front[start:end] if start >= 0 and end >= 0 else ""


def parse(html: str) -> ReportSource | None:
    """Cut ``html`` at the template's marks; ``None`` for a document without them."""
    body_at = html.find("<body")
    if body_at < 0 or FRONT not in html or UNIT not in html or "</body>" not in html:
        return None
    tag_end = html.index(">", body_at) + 1
    head, body_tag = html[:body_at], html[body_at:tag_end]
    body = html[tag_end:html.rindex("</body>")]
    front, _, rest = body.partition(UNIT)
    units = tuple(UNIT + u for u in rest.split(UNIT)) if rest else ()
    chapters = []
    current = ""
    for u in units:
        chapters.append("" if _OPENS_CHAPTER.match(u[len(UNIT):]) else current)
        titles = _H2.findall(u)
        if titles:
            current = htmlmod.escape(htmlmod.unescape(titles[-1]).strip(), quote=True)
    return ReportSource(head, body_tag, front.replace(FRONT, ""), units, tuple(chapters))


def weight(fragment: str) -> float:
    """Estimated layout cost of an HTML fragment, in characters of text."""
    return (len(_DATA_URI.sub("", fragment)) + PLOT_WEIGHT * fragment.count("<img")
            + CELL_WEIGHT * fragment.count("<td") + BREAK_WEIGHT * fragment.count("<br"))


def cost(source: ReportSource) -> float:
    """Estimated layout cost of the whole report (front and units), in characters of text."""
    return weight(source.front) * FRONT_WEIGHT + sum(weight(u) for u in source.units)


def plan(source: ReportSource, first: float = 0.0, last: float = 0.0) -> list[range]:
    """Cut the units into two (:data:`PARTS`) contiguous ranges of about equal cost.

    ``first`` and ``last`` are costs the first and the last process carry besides their units
    (the attachments; the cover and contents, which the process that finishes first renders).
    """
    n = len(source.units)
    if n < PARTS:
        return [range(n)] if n else []
    w = [weight(u) for u in source.units]
    total = sum(w) + first + last
    best, best_cut, prefix = float("inf"), 1, first
    for cut in range(1, n):
        prefix += w[cut - 1]
        worst = max(prefix, total - prefix)
        if worst < best:
            best, best_cut = worst, cut
    return [range(0, best_cut), range(best_cut, n)]


@dataclass(frozen=True, slots=True)
class Part:
    """One document to render: its HTML and the anchors it holds as empty stand-ins."""

    html: str
    stubs: frozenset[str] = frozenset()
    """Anchors of other parts that this part's links point to. Each gets an empty element here,
    so that WeasyPrint keeps the link; the joiner points the name at the real destination."""


def _with_stubs(body: str) -> tuple[str, frozenset[str]]:
    """``body`` with an empty span for each link target it does not hold, in its first heading
    (an empty inline box changes no layout)."""
    defined = set(_ID.findall(body))
    missing = [t for t in dict.fromkeys(_HREF.findall(body)) if t not in defined]
    if not missing:
        return body, frozenset()
    spans = "".join(f'<span id="{t}"></span>' for t in missing)
    heading = _HEADING_END.search(body)
    at = heading.start() if heading else len(body)
    return body[:at] + spans + body[at:], frozenset(htmlmod.unescape(t) for t in missing)


def _with_css(head: str, css: str) -> str:
    return head.replace("</head>", f"<style>\n{css}\n</style>\n</head>", 1)


def part_html(source: ReportSource, units: range) -> Part:
    """One body part (no page numbers)."""
    section = source.chapters[units.start]
    css = _PART_CSS + ("\n" + _CONTINUED_CSS if section else "")
    body, stubs = _with_stubs("".join(source.units[i] for i in units))
    opening = f'<div class="continues" data-section="{section}"></div>\n' if section else ""
    return Part(f"{_with_css(source.head, css)}{source.body_tag}\n{opening}{body}"
                "\n</body>\n</html>\n", stubs)


def front_html(source: ReportSource) -> Part:
    """Cover and contents, with an empty page-number slot after each entry of the contents."""
    toc = _toc(source.front)
    counter = itertools.count()
    new_toc = re.sub(r"(<a href=\"#[^\"]*\">.*?</a>)",
                     lambda m: f'{m.group(1)}<span class="pn" id="{SLOT}{next(counter)}"></span>',
                     toc, flags=re.S)
    body, stubs = _with_stubs(source.front.replace(toc, new_toc, 1) if toc else source.front)
    return Part(f"{_with_css(source.head, _PART_CSS + chr(10) + _TOC_CSS)}{source.body_tag}\n"
                f"{body}\n</body>\n</html>\n", stubs)


def sample_html(source: ReportSource) -> Part:
    """One page with the footer's page-number box and one contents entry (the joiner's model)."""
    return Part(f"{_with_css(source.head, _SAMPLE_CSS)}{source.body_tag}"
                f'<nav class="toc"><ul><li><a>{TOC_SAMPLE}</a></li></ul></nav></body>\n</html>\n')


def toc_numbers(source: ReportSource, layouts: Sequence[Layout]) -> dict[str, int]:
    """Slot id -> the page number of the contents entry's target (consecutive ``layouts``,
    the first being the front); targets nowhere in the body get no number."""
    pages = page_numbers(layouts[1:], offset=layouts[0].pages)
    targets = [htmlmod.unescape(t) for t in _TOC_LINK.findall(_toc(source.front))]
    return {f"{SLOT}{i}": pages[t] for i, t in enumerate(targets) if t in pages}


def offsets(layouts: Sequence[Layout], offset: int = 0) -> list[int]:
    """Index of the first page of each of consecutive parts that follow ``offset`` pages."""
    starts = []
    for lay in layouts:
        starts.append(offset)
        offset += lay.pages
    return starts


def anchor_positions(layouts: Sequence[Layout],
                     offset: int = 0) -> dict[str, tuple[int, float, float]]:
    """Page index and point of every anchor of consecutive parts that follow ``offset`` pages
    (where a name recurs, the first one, as WeasyPrint resolves links)."""
    seen: dict[str, tuple[int, float, float]] = {}
    for start, lay in zip(offsets(layouts, offset), layouts, strict=True):
        for name, page, x, y in lay.anchors:
            seen.setdefault(name, (start + page, x, y))
    return seen


def page_numbers(layouts: Sequence[Layout], offset: int = 0) -> dict[str, int]:
    """1-based page number of every anchor of consecutive parts that follow ``offset`` pages."""
    return {name: page + 1 for name, (page, _x, _y) in anchor_positions(layouts, offset).items()}


@dataclass(frozen=True, slots=True)
class OutlineNode:
    """One bookmark of the joined document, with its children."""

    label: str
    page: int
    x: float
    y: float
    open: bool
    children: list[OutlineNode]


def outline(layouts: Sequence[Layout]) -> list[OutlineNode]:
    """The bookmark tree of consecutive parts (a bookmark is the child of the last one of a
    lower level before it, as WeasyPrint nests them; levels need not be consecutive)."""
    root: list[OutlineNode] = []
    stack: list[tuple[int, list[OutlineNode]]] = [(0, root)]
    for start, lay in zip(offsets(layouts), layouts, strict=True):
        for level, label, page, x, y, is_open in lay.bookmarks:
            while len(stack) > 1 and stack[-1][0] >= level:
                stack.pop()
            node = OutlineNode(label, start + page, x, y, is_open, [])
            stack[-1][1].append(node)
            stack.append((level, node.children))
    return root
