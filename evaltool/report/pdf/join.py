"""Joining separately rendered parts of the report into one PDF/A-3 document (pikepdf / qpdf).

The *base* part (the first body part, rendered as PDF/A-3b: XMP metadata, output intent) keeps
its catalogue; the pages of the other parts are inserted before and after its pages, and the
machine-readable results are embedded here as PDF/A-3 associated files (ISO 19005-3 §6.8: an
embedded-file stream with its MIME subtype, size, MD5 checksum and dates, a file specification with
its relationship, listed in the catalogue's /AF and /EmbeddedFiles), compressed once at zlib
level 6 while the parts render. The joined document gets one named-destination tree built from
every part's anchors (so a link in one part reaches its target in another; ISO 32000-1
§12.3.2.3) and one outline built from every part's bookmarks. The file identifier is a digest
of the content, so the bytes depend only on the parts.

Page numbers ("Page i of N" in the footer, the contents' numbers in their slots) are set here as
text in the font of the *sample* (:func:`evaltool.report.pdf.split.sample_html`), which WeasyPrint
rendered with the report's style sheet: its glyph ids, advance widths, kerning, size, colour and
the footer's baseline and right edge are read from the sample, so the numbers look as if WeasyPrint
had set them, and the PDF's text (ToUnicode) reads "Page 12 of 99".
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evaltool.report.pdf.render import Layout
from evaltool.report.pdf.split import (
    FOOTER_SAMPLE,
    TOC_SAMPLE,
    OutlineNode,
    anchor_positions,
    offsets,
    outline,
)

FONT_NAME = "EvaltoolNumbers"
"""Resource name of the page-number font on every page."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to embed, already compressed."""

    name: str
    description: str
    relationship: str
    mime: str
    size: int
    md5: bytes
    deflated: bytes


def prepare(files: Iterable[tuple[str, bytes, str, str]]) -> list[Attachment]:
    """Compress ``(name, data, description, relationship)`` files for :func:`join`."""
    out = []
    for name, data, description, relationship in files:
        mime = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
        out.append(Attachment(name, description, relationship, mime, len(data),
                              hashlib.md5(data, usedforsecurity=False).digest(),
                              zlib.compress(data, 6)))
    return out


def join(parts: Sequence[tuple[bytes, Layout]], base: int, sample: bytes,
         toc: Mapping[str, int], attachments: Sequence[Attachment] = (),
         created: datetime | None = None) -> bytes:
    """One PDF of ``parts`` in order, ``parts[base]`` supplying the catalogue, with page numbers
    set in the footers and in the contents' slots (``toc``: slot id -> page number) and
    ``attachments`` embedded (dated ``created``)."""
    import pikepdf

    docs = [pikepdf.open(io.BytesIO(data)) for data, _ in parts]
    out = docs[base]
    with warnings.catch_warnings():
        # pikepdf warns that copied pages lose their document's named destinations: the joined
        # document gets its own tree below, from every part's anchors.
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        before = [p for d in docs[:base] for p in d.pages]
        for i, page in enumerate(before):
            out.pages.insert(i, page)
        for d in docs[base + 1:]:
            out.pages.extend(d.pages)
    layouts = [lay for _, lay in parts]
    total = sum(lay.pages for lay in layouts)
    if len(out.pages) != total:
        raise ValueError(f"joined {len(out.pages)} pages, the parts reported {total}")

    _destinations(out, layouts, pikepdf)
    _outline(out, outline(layouts), pikepdf)
    setter = NumberSetter.from_sample(pikepdf.open(io.BytesIO(sample)), out, pikepdf)
    slots: dict[int, list[tuple[float, float, float, int]]] = {}
    for start, lay in zip(offsets(layouts), layouts, strict=True):
        for name, index, _x1, y1, x2, y2 in lay.slots:
            if name in toc:
                slots.setdefault(start + index, []).append((x2, y2, y2 - y1, toc[name]))
    for i, pdf_page in enumerate(out.pages):
        setter.stamp(pdf_page, i + 1, total, slots.get(i, ()), pikepdf)
    if attachments:
        _attach(out, attachments, created, pikepdf)
    buf = io.BytesIO()
    out.save(buf, deterministic_id=True, fix_metadata_version=False,
             object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    return buf.getvalue()


def _destinations(pdf: Any, layouts: Sequence[Layout], pikepdf: Any) -> None:
    """Named destinations of every anchor (where a name recurs, the first occurrence)."""
    seen = anchor_positions(layouts)
    tree = pikepdf.NameTree.new(pdf)
    for name in sorted(seen):
        page, x, y = seen[name]
        tree[name] = pikepdf.Array([pdf.pages[page].obj, pikepdf.Name.XYZ, x, y, 0])
    names = pdf.Root.get("/Names")
    if names is None:
        pdf.Root.Names = names = pdf.make_indirect(pikepdf.Dictionary())
    names.Dests = tree.obj


def _attach(pdf: Any, files: Sequence[Attachment], created: datetime | None,
            pikepdf: Any) -> None:
    stamp = pikepdf.String((created or datetime(1980, 1, 1)).strftime("D:%Y%m%d%H%M%SZ"))
    tree = pikepdf.NameTree.new(pdf)
    specs = []
    for f in files:
        stream = pikepdf.Stream(pdf, b"")
        stream.write(f.deflated, filter=pikepdf.Name.FlateDecode)
        stream.Type = pikepdf.Name.EmbeddedFile
        stream.Subtype = pikepdf.Name("/" + f.mime)
        stream.Params = pikepdf.Dictionary(Size=f.size, CheckSum=pikepdf.String(f.md5),
                                           CreationDate=stamp, ModDate=stamp)
        spec = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Filespec, F=pikepdf.String(f.name), UF=pikepdf.String(f.name),
            EF=pikepdf.Dictionary(F=stream), Desc=pikepdf.String(f.description),
            AFRelationship=pikepdf.Name("/" + f.relationship)))
        tree[f.name] = spec
        specs.append(spec)
    pdf.Root.Names.EmbeddedFiles = tree.obj
    pdf.Root.AF = pdf.make_indirect(pikepdf.Array(specs))


def _outline(pdf: Any, nodes: list[OutlineNode], pikepdf: Any) -> None:
    def item(node: OutlineNode) -> Any:
        it = pikepdf.OutlineItem(node.label, node.page, pikepdf.PageLocation.XYZ,
                                 left=node.x, top=node.y, zoom=0)
        it.is_closed = not node.open
        it.children.extend(item(c) for c in node.children)
        return it

    with pdf.open_outline() as tree:
        tree.root.clear()
        tree.root.extend(item(n) for n in nodes)


@dataclass(frozen=True, slots=True)
class _Run:
    """One text-showing operation of the sample: what WeasyPrint drew, and where."""

    font: str
    ctm: tuple[float, ...]
    x: float
    y: float
    size: float
    color: tuple[float, ...]
    glyphs: tuple[bytes, ...]
    kerns: tuple[float, ...]


def _mul(a: Sequence[float], b: Sequence[float]) -> tuple[float, ...]:
    """Product of two PDF matrices ``[a b c d e f]`` (``a`` applied first)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def _runs(page: Any, pikepdf: Any) -> tuple[list[_Run], Any]:
    """The TJ operations of a WeasyPrint page (2-byte glyph ids, kerning after each glyph)."""
    ctm: tuple[float, ...] = (1, 0, 0, 1, 0, 0)
    stack: list[tuple[float, ...]] = []
    color: tuple[float, ...] = (0.0,)
    tm: tuple[float, ...] = (1, 0, 0, 1, 0, 0)
    font, size = None, 0.0
    runs = []
    for operands, op in pikepdf.parse_content_stream(page):
        name = str(op)
        if name == "q":
            stack.append(ctm)
        elif name == "Q":
            ctm = stack.pop()
        elif name == "cm":
            ctm = _mul([float(v) for v in operands], ctm)
        elif name == "rg":
            color = tuple(float(v) for v in operands)
        elif name == "Tf":
            font, size = operands[0], float(operands[1])
        elif name == "Tm":
            tm = tuple(float(v) for v in operands)
        elif name in ("Tj", "'", '"', "Td", "TD", "T*"):
            raise ValueError(f"the sample uses {name}, which the number setter does not read")
        elif name == "TJ":
            glyphs: list[bytes] = []
            kerns: list[float] = []
            for item in operands[0]:
                if isinstance(item, pikepdf.String):
                    raw = bytes(item)
                    if len(raw) % 2:
                        raise ValueError("the sample's font is not a 2-byte (Identity-H) font")
                    for k in range(0, len(raw), 2):
                        glyphs.append(raw[k:k + 2])
                        kerns.append(0.0)
                elif kerns:
                    kerns[-1] += float(item)
            if tm[:4] != (1, 0, 0, -1):
                raise ValueError("the sample's text is transformed")
            runs.append(_Run(str(font), ctm, tm[4], tm[5], size, color, tuple(glyphs),
                             tuple(kerns)))
    return runs, font


class NumberSetter:
    """Sets page numbers in the font, size, colour and place of the sample's text."""

    def __init__(self, font: Any, widths: dict[bytes, float], footer: _Run, toc: _Run,
                 media_box: Any) -> None:
        self.font = font
        self.widths = widths
        self.footer = footer
        self.toc = toc
        self.media_box = [float(v) for v in media_box]
        self.glyph: dict[str, bytes] = {}
        self.kern: dict[tuple[str, str], float] = {}
        for text, run in ((FOOTER_SAMPLE, footer), (TOC_SAMPLE, toc)):
            if len(run.glyphs) != len(text):
                raise ValueError(f"the sample set {len(text)} characters as "
                                 f"{len(run.glyphs)} glyphs")
            for i, ch in enumerate(text):
                if self.glyph.setdefault(ch, run.glyphs[i]) != run.glyphs[i]:
                    raise ValueError(f"the sample set {ch!r} with two glyphs")
                if i + 1 < len(text):
                    pair = (_cls(ch), _cls(text[i + 1]))
                    if self.kern.setdefault(pair, run.kerns[i]) != run.kerns[i]:
                        raise ValueError(f"digits kern differently in the sample ({pair})")
        # Right edge of the footer's page-number box: where the sample's text ends.
        self.footer_right = footer.x + self.advance(FOOTER_SAMPLE, footer.size)

    @classmethod
    def from_sample(cls, sample: Any, target: Any, pikepdf: Any) -> NumberSetter:
        """Read the sample PDF (one page: the contents entry, then the footer)."""
        if len(sample.pages) != 1:
            raise ValueError(f"the sample has {len(sample.pages)} pages")
        page = sample.pages[0]
        runs, font_name = _runs(page, pikepdf)
        if len(runs) != 2 or font_name is None:
            raise ValueError(f"the sample has {len(runs)} text runs instead of 2")
        toc, footer = sorted(runs, key=lambda r: r.y)
        font = page.Resources.Font[font_name]
        widths = _widths(font.DescendantFonts[0], pikepdf)
        return cls(target.copy_foreign(font), widths, footer, toc, page.MediaBox)

    def advance(self, text: str, size: float) -> float:
        """Width of ``text`` set at ``size`` (advances less kerning, TJ semantics)."""
        total = 0.0
        for i, ch in enumerate(text):
            total += self.widths[self.glyph[ch]]
            if i + 1 < len(text):
                total -= self.kern.get((_cls(ch), _cls(text[i + 1])), 0.0)
        return total * size / 1000

    def _show(self, text: str, run: _Run, right: float, baseline: float, size: float) -> bytes:
        items = []
        for i, ch in enumerate(text):
            k = self.kern.get((_cls(ch), _cls(text[i + 1])), 0.0) if i + 1 < len(text) else 0.0
            items.append(f"<{self.glyph[ch].hex()}> {_num(k)}")
        x = right - self.advance(text, size)
        return (f"q {' '.join(_num(v) for v in run.ctm)} cm BT /{FONT_NAME} {_num(size)} Tf "
                f"{' '.join(_num(v) for v in run.color)} rg 1 0 0 -1 {_num(x)} {_num(baseline)} "
                f"Tm [{' '.join(items)}] TJ ET Q\n").encode()

    def stamp(self, page: Any, number: int, total: int,
              slots: Sequence[tuple[float, float, float, int]], pikepdf: Any) -> None:
        """Set "Page number of total" and the contents' numbers (``slots``: right edge,
        baseline, font size in CSS pixels, page number) on ``page``."""
        if [float(v) for v in page.MediaBox] != self.media_box:
            raise ValueError("pages of different sizes cannot share the sample's footer")
        content = [self._show(f"Page {number} of {total}", self.footer, self.footer_right,
                              self.footer.y, self.footer.size)]
        for right, baseline, size, target in slots:
            content.append(self._show(str(target), self.toc, right, baseline, size))
        resources = page.obj.get("/Resources")
        if resources is None:
            page.obj.Resources = resources = pikepdf.Dictionary()
        fonts = resources.get("/Font")
        if fonts is None:
            resources.Font = fonts = pikepdf.Dictionary()
        present = fonts.get(f"/{FONT_NAME}")
        if present is None:
            fonts[f"/{FONT_NAME}"] = self.font
        elif present.objgen != self.font.objgen:  # resources may be shared between pages
            raise ValueError(f"the page already has another font named {FONT_NAME}")
        # WeasyPrint's page content leaves its transformation in place: enclose it in q ... Q.
        page.contents_add(b"q\n", prepend=True)
        page.contents_add(b"\nQ\n" + b"".join(content))


def _cls(ch: str) -> str:
    """Kerning class: digits kern alike (checked on the sample)."""
    return "0" if ch.isdigit() else ch


def _num(v: float) -> str:
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _widths(cid_font: Any, pikepdf: Any) -> dict[bytes, float]:
    """Glyph id (2 bytes) -> advance width in 1/1000 em from a CIDFont's /W array."""
    default = float(cid_font.get("/DW", 1000))
    out: dict[int, float] = {}
    w = list(cid_font.get("/W", []))
    i = 0
    while i < len(w):
        first = int(w[i])
        nxt = w[i + 1]
        if isinstance(nxt, pikepdf.Array):
            for k, width in enumerate(nxt):
                out[first + k] = float(width)
            i += 2
        else:
            last, width = int(nxt), float(w[i + 2])
            for g in range(first, last + 1):
                out[g] = width
            i += 3

    class _Widths(dict[bytes, float]):
        def __missing__(self, key: bytes) -> float:
            return default

    table = _Widths()
    for g, width in out.items():
        table[g.to_bytes(2, "big")] = width
    return table
