"""``claims.st-consistency``: the manifest's claims against the security target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import make_bundle

# make_bundle's claims: bb84-decoy-3, intensities 0.5/0.1/0.0002, eps_sec 1e-9, eps_cor 1e-15,
# QBER abort threshold 0.06, no bound.
ST = {"protocol": "bb84-decoy-3", "eps_sec_max": 1e-9, "eps_cor_max": 1e-15,
      "qber_abort_threshold_max": 0.06, "intensities": [0.0002, 0.1, 0.5]}


def run(params: dict[str, Any], tmp_path: Path):
    ctype = get("claims.st-consistency")
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(make_bundle(tmp_path / "b", {})), {}, seed=0)
    return ctype.run(parse_params(ctype, params), ctx)


def test_claims_equal_to_the_st_pass(tmp_path: Path) -> None:
    out = run(ST, tmp_path)
    assert out.verdict is Verdict.PASS, out.reason
    assert "all 5 claimed parameters agree" in out.reason


def test_a_stricter_st_fails_every_looser_claim(tmp_path: Path) -> None:
    out = run({**ST, "eps_sec_max": 1e-10, "qber_abort_threshold_max": 0.05,
               "intensities": [0.5, 0.12, 0.0002]}, tmp_path)
    assert out.verdict is Verdict.FAIL
    assert "claimed eps_sec 1e-09 is above the ST's 1e-10" in out.reason
    assert "claimed qber_abort_threshold 0.06 is above the ST's 0.05" in out.reason
    # |0.1 - 0.12| / 0.12 = 1/6
    assert "by up to 0.166667" in out.reason


def test_other_bound_fails(tmp_path: Path) -> None:
    out = run({"bound": "lim2014"}, tmp_path)
    assert out.verdict is Verdict.FAIL
    assert "finite-key bound None is not the ST's 'lim2014'" in out.reason


def test_nothing_to_compare_is_inconclusive(tmp_path: Path) -> None:
    assert run({}, tmp_path).verdict is Verdict.INCONCLUSIVE


def test_st_bound_not_defined_for_the_claimed_protocol_fails(tmp_path: Path) -> None:
    # The protocol plugin of bb84-decoy-3 defines lim2014 only (docs/protocols.md).
    out = run({**ST, "bound": "rusca2018"}, tmp_path)
    assert out.verdict is Verdict.FAIL
    assert "the ST's bound 'rusca2018' is not defined for bb84-decoy-3" in out.reason
