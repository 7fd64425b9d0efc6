"""The broken-input corpus (issue 3 acceptance): each file exits 4 with a file:line message.

Every case is listed in test_vectors/profiles/broken/corpus.yaml with a substring of its expected
message; the line the message must name is marked ``# <- error`` in the file itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.profiles.conftest import CORPUS
from tests.support import REPO

BROKEN = CORPUS / "broken"
BASE = CORPUS / "valid" / "corpus-base.yaml"
CASES = YAML(typ="safe").load((BROKEN / "corpus.yaml").read_text())["cases"]


def _marked_line(path: Path) -> int:
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if "# <- error" in text]
    assert len(lines) == 1, f"{path.name} must mark exactly one line"
    return lines[0]


def _validate(run_cli, case: dict[str, str]):
    path = BROKEN / case["file"]
    args = [path]
    if case["document"] == "security-target":
        args = [BASE, path]
    elif case["document"] == "mapping":  # mappings bind the shipped profile's working ids
        args = [REPO / "profiles" / "etsi-gs-qkd-016.yaml", path]
    return path, run_cli("validate", *args)


def test_corpus_is_large_enough() -> None:
    # Issue 3 acceptance: at least 15 broken profiles/STs, covering the listed defect classes.
    assert len(CASES) >= 15
    names = {c["file"] for c in CASES}
    for required in ("uncountered-threat.yaml", "dangling-dependency.yaml",
                     "unknown-kind-near-miss.yaml", "assignment-default-out-of-range.yaml",
                     "st-loosens-bound.yaml", "duplicate-ids.yaml", "extended-cycle.yaml",
                     "alias-bomb.yaml"):
        assert required in names


def test_issue_14_cases_are_in_the_corpus() -> None:
    # Issue 14 acceptance: >= 10 new cases, covering an SFR element its extended component does
    # not define, a component inconsistent with the declared CC edition, and a mapping that is
    # incomplete or not one-to-one.
    names = {c["file"] for c in CASES}
    new = {n for n in names if n.startswith(("ecd-", "cc", "mapping-", "reference-"))}
    assert len(new) >= 10, sorted(new)
    assert {"ecd-element-undefined.yaml", "cc2022-part2-defined-as-extended.yaml",
            "cc31-unknown-component.yaml", "mapping-incomplete.yaml",
            "mapping-not-one-to-one.yaml"} <= new


def test_valid_base_of_the_corpus_passes(run_cli) -> None:
    r = run_cli("validate", BASE, CORPUS / "valid" / "corpus-st.yaml")
    assert r.exit_code == 0, r.stderr
    assert "valid security target corpus-st for corpus-base" in r.stdout


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_broken_input_exits_4_with_its_message(run_cli, case: dict[str, str]) -> None:
    path, r = _validate(run_cli, case)
    assert r.exit_code == 4, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1, "one line on stderr"
    assert case["message"] in r.stderr
    assert f"{path}:" in r.stderr


LINE_CASES = [c for c in CASES if c["file"] != "alias-bomb.yaml"]


@pytest.mark.parametrize("case", LINE_CASES, ids=[c["file"] for c in LINE_CASES])
def test_broken_input_names_the_marked_line(run_cli, case: dict[str, str]) -> None:
    path, r = _validate(run_cli, case)
    assert f"{path}:{_marked_line(path)}:" in r.stderr, r.stderr


def test_alias_bomb_names_a_line(run_cli) -> None:
    case = next(c for c in CASES if c["file"] == "alias-bomb.yaml")
    path, r = _validate(run_cli, case)
    assert f"{path}:{_marked_line(path)}:" in r.stderr, r.stderr
