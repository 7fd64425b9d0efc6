"""docs/significance.md lists every statistical check of the shipped profile (as planned with the
honest security target) with the level it runs at, and the profile's family-wise false-failure
bound; this test recomputes both from the plan, so the document cannot drift from the profile."""

from __future__ import annotations

import math
import re
from functools import cache

from evaltool.checks.plan import build_plan
from evaltool.io.profiles import load_profile, load_security_target
from tests.support import HONEST, PROFILE, REPO

DOC = REPO / "docs" / "significance.md"
TVLA_DEFAULT = 6.8e-6
"""``family_alpha: null`` of the leakage checks: the two-sided tail of |t| > 4.5
(docs/checks.md)."""


@cache
def levels() -> list[tuple[str, str, float]]:
    """(check id, kind, false-failure level) of every check that has one, in plan order."""
    plan = build_plan(load_profile(PROFILE), load_security_target(HONEST / "st.yaml"))
    rows = []
    for activity in plan.activities:
        for check in activity.checks:
            params = check.params.model_dump() if hasattr(check.params, "model_dump") else {}
            if "family_alpha" in params:
                level = params["family_alpha"]
                rows.append((check.check_id, check.ctype.kind,
                             TVLA_DEFAULT if level is None else float(level)))
            elif "alpha" in params:
                rows.append((check.check_id, check.ctype.kind, float(params["alpha"])))
    return rows


def union_bound() -> float:
    return sum(level for _, _, level in levels())


def independent_rate() -> float:
    return 1 - math.prod(1 - level for _, _, level in levels())


def table() -> str:
    lines = ["| Check | Kind | Level |", "|---|---|---|"]
    lines += [f"| `{cid}` | `{kind}` | {level:.3g} |" for cid, kind, level in levels()]
    return "\n".join(lines)


def test_the_document_lists_every_level_of_the_profile() -> None:
    text = DOC.read_text()
    start, end = text.index("<!-- levels -->\n"), text.index("<!-- /levels -->")
    assert text[start + len("<!-- levels -->\n"):end].strip() == table()
    # On a change of the profile: regenerate the table with
    # `python -c "from tests.simulate.test_significance_levels import table; print(table())"`.
    stated = re.search(r"union bound \*\*([0-9.]+)\*\*", text)
    assert stated is not None and float(stated.group(1)) == round(union_bound(), 4)
    stated_ind = re.search(r"\*\*([0-9.]+)\*\* for\s+independent checks", text)
    assert stated_ind is not None and float(stated_ind.group(1)) == round(independent_rate(), 4)
