"""What a profile is and the values an audit used (issue 14 items 1 and 7)."""

from __future__ import annotations

import json
from pathlib import Path

from evaltool.checks import all_checks
from evaltool.checks.plan import build_plan
from evaltool.evaluate import assignments_used
from evaltool.io.profiles import load_profile, load_security_target
from evaltool.profile.identity import identity, working_ids
from tests.profiles.conftest import DEMO_ST, GS016


def test_shipped_profile_identity() -> None:
    p = load_profile(GS016).profile
    ident = identity(p)
    assert ident.reference_version == "V2.1.1" and ident.reference_date == "2024-01"
    assert ident.certification_id == "BSI-CC-PP-0120-2024"
    assert ident.cc_edition == "CC:2022 R1" and ident.conformance == "strict"
    assert ident.id_counts == {"official": 0, "working": 76, "cc": 116}
    assert ident.wording == "summary"
    assert ident.statement.startswith("76 ids are evaltool working ids, not the official ids")


def test_no_check_reference_presents_a_working_id() -> None:
    # A check's standard_ref cites what it implements; the profile links it to its SFRs. No ref
    # may name a working id of the shipped profile, nor cite GS QKD 016 for a component id.
    p = load_profile(GS016).profile
    ids = {i for _, i in working_ids(p)}
    for ct in all_checks():
        ref = ct.standard_ref
        assert "GS QKD 016" not in ref, (ct.kind, ref)
        assert not [i for i in ids if i in ref], (ct.kind, ref)


def test_assignment_sources_with_and_without_an_st() -> None:
    lp = load_profile(GS016)
    lst = load_security_target(DEMO_ST)
    with_st = {a.id: a for a in assignments_used(build_plan(lp, lst))}
    p = lp.profile
    assert len(with_st) == len(p.assignments) + len(p.selections)
    given = set(lst.st.assignments) | set(lst.st.selections)
    for a in with_st.values():
        assert a.source == ("security-target" if a.id in given else "evaltool-default"), a.id
    assert with_st["eps_sec"].value == lst.st.assignments["eps_sec"]
    # Without an ST every value is an evaltool default, never a value of the published PP.
    defaults = assignments_used(build_plan(lp))
    assert {a.source for a in defaults} == {"evaltool-default"}
    assert next(a for a in defaults if a.id == "qber_abort_threshold").value == 0.06
    assert next(a for a in defaults if a.id == "detector_type").value == "gated-apd"


def test_audit_without_st_is_a_pre_check(run_cli, mini_profile: Path, tmp_path: Path) -> None:
    from tests.support import DEMO_BUNDLE

    out = tmp_path / "out"
    r = run_cli("-q", "audit", DEMO_BUNDLE, "--profile", mini_profile, "--out", out,
                "--format", "json,html")
    assert r.exit_code == 0, r.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["pre_check"] is True
    assert data["assignments"] == [{"id": "temp_max_c", "title": "Highest temperature",
                                    "kind": "assignment", "value": -30.0, "unit": None,
                                    "source": "evaltool-default"}]
    html = (out / "report.html").read_text()
    assert "<h1>Pre-check report</h1>" in html
    assert "a pre-check on evaltool defaults, not an evaluation against an ST" in html
    assert ("<td>temp_max_c</td><td>Highest temperature</td><td>-30</td>"
            "<td>evaltool default</td>") in html


def test_demo_results_group_sfrs_by_module(tmp_path: Path) -> None:
    plan = build_plan(load_profile(GS016), load_security_target(DEMO_ST))
    modules = {s.id: s.module.value for s in plan.profile.sfrs}
    assert {k for k, v in modules.items() if v == "transmitter"} == {
        "FPT_OSC.1", "FPT_OPI.1", "FCS_RNG.1/TX"}
    assert {k for k, v in modules.items() if v == "receiver"} == {"FPT_ODC.1", "FCS_RNG.1/RX"}
