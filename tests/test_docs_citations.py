"""Code cites only what a user has: primary sources or documents in this repository.

Comments and docstrings in ``evaltool/`` must not cite the developers' research notes (which are
not shipped), and every ``docs/....md`` they name must exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "evaltool"

# Ways the developers' notes have been cited: "the protocol reference note §1.5", "note §1.9",
# "standards-and-attacks.md §4", "the leakage-and-reporting note, §B6", "../shared/domain/...",
# and the notes' file names.
NOTE_CITATION = re.compile(
    r"note §|reference note|\.md §|note, §|notes/|shared/domain|"
    r"standards-and-attacks|leakage-and-reporting|protocol-reference\.md|"
    r"interfaces-rng-signing-scale",
    re.IGNORECASE,
)
DOCS_PATH = re.compile(r"docs/[\w/.-]+\.md")


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def note_citations(text: str) -> list[tuple[int, str]]:
    """Lines (1-based number, text) that cite a developers' note."""
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1)
            if NOTE_CITATION.search(line)]


def missing_docs(text: str, root: Path) -> list[tuple[int, str]]:
    """``docs/...md`` paths named in ``text`` that do not exist under ``root``."""
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        for m in DOCS_PATH.finditer(line):
            path = m.group(0).rstrip(".")
            if not (root / path).is_file():
                out.append((i, path))
    return out


def test_detectors_flag_known_forms(tmp_path: Path) -> None:
    cited = (
        "see the protocol reference note §1.5\n"
        "Hoeffding on totals (note §1.9 item 2)\n"
        "the attack table (standards-and-attacks.md §4)\n"
        "as the Leakage-and-Reporting note, §B6 says\n"
        "../shared/domain/protocol-reference.md\n"
    )
    assert [i for i, _ in note_citations(cited)] == [1, 2, 3, 4, 5]
    clean = "Lim et al., PRA 89, 022307 (2014), Eq. (3); SP 800-90B §4.4.1\nNotes\n-----\n"
    assert note_citations(clean) == []
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("x")
    text = "see ``docs/here.md``.\nand docs/methods/absent.md\n"
    assert missing_docs(text, tmp_path) == [(2, "docs/methods/absent.md")]


def test_package_sources_are_found() -> None:
    files = {p.relative_to(PACKAGE).as_posix() for p in _sources()}
    assert "engines/protocol/finite_key.py" in files and len(files) > 50


@pytest.mark.parametrize("check", ["notes", "docs"])
def test_no_citation_of_unshipped_documents(check: str) -> None:
    offenders = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        found = note_citations(text) if check == "notes" else missing_docs(text, ROOT)
        rel = path.relative_to(ROOT).as_posix()
        offenders += [f"{rel}:{i}: {what}" for i, what in found]
    what = ("cites the developers' notes (cite the primary source or docs/ instead)"
            if check == "notes" else "names a docs/ file that does not exist")
    assert not offenders, f"{len(offenders)} line(s) {what}:\n" + "\n".join(offenders)
