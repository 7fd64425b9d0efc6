"""A self-check of the PDF/A-3 rules evaltool controls in its reports (ISO 19005-3).

Not a full PDF/A validator (veraPDF is one): it checks what evaltool's rendering, joining and
signing could break, on any report, signed or not:

* identification: XMP metadata with ``pdfaid:part`` 3 and ``pdfaid:conformance`` B (§6.6.4);
* an output intent ``GTS_PDFA1`` with an embedded ICC profile (§6.2.3);
* every font used by a page or a form XObject embedded (§6.2.11.4);
* associated files: each embedded file specification states an ``AFRelationship`` and is listed in
  the catalogue's ``AF`` array, each embedded file stream names its MIME type (§6.8);
* no encryption (§6.1.3) and no JavaScript or additional actions (§6.6.1, §6.6.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pikepdf

_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def _xmp_problems(pdf: pikepdf.Pdf) -> list[str]:
    if "/Metadata" not in pdf.Root:
        return ["no XMP metadata in the catalogue"]
    meta = pdf.open_metadata()
    part, conformance = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
    if (part, conformance) != ("3", "B"):
        return [f"XMP identifies PDF/A part {part!r} conformance {conformance!r}, not 3 B"]
    return []


def _output_intent_problems(pdf: pikepdf.Pdf) -> list[str]:
    intents = pdf.Root.get("/OutputIntents")
    if not intents:
        return ["no output intent"]
    for intent in intents:
        if intent.get("/S") == "/GTS_PDFA1" and isinstance(
                intent.get("/DestOutputProfile"), pikepdf.Stream):
            return []
    return ["no GTS_PDFA1 output intent with an embedded ICC profile"]


def _fonts(resources: pikepdf.Object | None, seen: set[tuple[int, int]]
           ) -> Iterator[pikepdf.Object]:
    """Fonts of a resource dictionary and of the form XObjects it uses, each once."""
    if not isinstance(resources, pikepdf.Dictionary):
        return
    for font in (resources.get("/Font") or {}).values():
        if font.objgen in seen:
            continue
        seen.add(font.objgen)
        yield font
    for xobject in (resources.get("/XObject") or {}).values():
        if xobject.objgen in seen or xobject.get("/Subtype") != "/Form":
            continue
        seen.add(xobject.objgen)
        yield from _fonts(xobject.get("/Resources"), seen)


def _font_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    seen: set[tuple[int, int]] = set()
    for number, page in enumerate(pdf.pages, 1):
        for font in _fonts(page.obj.get("/Resources"), seen):
            if font.get("/Subtype") == "/Type3":
                continue  # glyphs are content streams inside the font
            described = font
            if font.get("/Subtype") == "/Type0":
                described = font.DescendantFonts[0]
            descriptor = described.get("/FontDescriptor")
            if descriptor is None or not any(k in descriptor for k in _FONT_FILES):
                problems.append(f"font {font.get('/BaseFont')} (page {number}) is not embedded")
    return problems


def _attachment_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    listed = {spec.objgen for spec in pdf.Root.get("/AF", [])}
    for name, spec in pdf.attachments.items():
        obj = spec.obj
        if "/AFRelationship" not in obj:
            problems.append(f"attachment {name} states no AFRelationship")
        if obj.objgen not in listed:
            problems.append(f"attachment {name} is not listed in the catalogue's AF array")
        files = obj.get("/EF")
        stream = files.get("/F") if isinstance(files, pikepdf.Dictionary) else None
        if stream is None or "/Subtype" not in stream:
            problems.append(f"attachment {name} names no MIME type")
    return problems


def _active_content_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    if "/Encrypt" in pdf.trailer:
        problems.append("the file is encrypted")
    names = pdf.Root.get("/Names")
    if names is not None and "/JavaScript" in names:
        problems.append("the catalogue has a JavaScript name tree")
    if "/AA" in pdf.Root:
        problems.append("the catalogue has additional actions")
    problems.extend(f"object {obj.objgen[0]} is a JavaScript action" for obj in pdf.objects
                    if isinstance(obj, pikepdf.Dictionary)
                    and (obj.get("/S") == "/JavaScript" or "/JS" in obj))
    for number, page in enumerate(pdf.pages, 1):
        if "/AA" in page.obj:
            problems.append(f"page {number} has additional actions")
    return problems


def pdfa_problems(path: Path) -> list[str]:
    """Every PDF/A-3b rule of the module docstring that ``path`` breaks (empty: none)."""
    with pikepdf.open(path) as pdf:
        return [*_xmp_problems(pdf), *_output_intent_problems(pdf), *_font_problems(pdf),
                *_attachment_problems(pdf), *_active_content_problems(pdf)]
