"""Contract every registered check kind must meet (in the manner of scikit-learn's estimator
checks): strict parameters, a summary and a standard reference, and no pass without evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaltool.checks import all_checks
from evaltool.checks.plan import build_plan
from evaltool.evaluate import AuditInputs, evaluate
from evaltool.io.bundle import load_bundle
from evaltool.io.profiles import load_profile
from evaltool.model.verdict import Verdict
from tests.support import PROFILE, make_bundle

KINDS = all_checks()


def test_registry_is_not_empty() -> None:
    assert {"telemetry.range", "telemetry.rate", "telemetry.threshold-events",
            "telemetry.completeness"} <= {c.kind for c in KINDS}


@pytest.mark.parametrize("ctype", KINDS, ids=lambda c: c.kind)
def test_params_are_strict_and_documented(ctype) -> None:
    assert ctype.params.model_config.get("extra") == "forbid"
    assert ctype.summary and ctype.summary != ctype.kind
    assert ctype.standard_ref.strip()
    assert "." in ctype.kind and ctype.kind == ctype.kind.lower()


def test_no_check_of_the_shipped_profile_passes_without_evidence(tmp_path: Path) -> None:
    empty = make_bundle(tmp_path / "empty", {})
    lp = load_profile(PROFILE)
    plan = build_plan(lp)
    result = evaluate(plan, load_bundle(empty), seed=0, command_line=("test",),
                      inputs=AuditInputs(profile_path=PROFILE, profile_sha256=lp.sha256))
    automated = [c for c in result.checks() if c.kind != "manual"]
    assert automated
    passed = [c.check_id for c in automated if c.verdict is Verdict.PASS]
    assert passed == []
    assert result.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE)
