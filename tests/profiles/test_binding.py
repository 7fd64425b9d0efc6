"""Binding the shipped profile to official ids (issue 14 item 2 and its acceptance).

The mapping in test_vectors/profiles/binding is made up; the acceptance test audits the honest
scenario with the bound profile and scans every output file, the PDF's text and its embedded
files included, for any working id left.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdf
import pytest

from evaltool.io.profiles import load_profile
from evaltool.profile.binding import bind, check_mapping, load_mapping
from evaltool.profile.identity import working_ids
from tests.profiles.conftest import CORPUS, DEMO_EVALUATION, GS016
from tests.support import HONEST

MAPPING = CORPUS / "binding" / "gs016-made-up-mapping.yaml"


def _working_pattern() -> re.Pattern[str]:
    ids = sorted({i for _, i in working_ids(load_profile(GS016).profile)}, key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9_.])(?:" + "|".join(map(re.escape, ids))
                      + r")(?![A-Za-z0-9_])")


def _text(path: Path) -> str:
    if path.suffix != ".pdf":
        return path.read_text(encoding="utf-8")
    reader = pypdf.PdfReader(path)
    pages = "\n".join(page.extract_text() for page in reader.pages)
    embedded = "\n".join(data.decode("utf-8") for files in reader.attachments.values()
                         for data in files)
    return pages + "\n" + embedded


def test_working_ids_of_the_shipped_profile() -> None:
    w = working_ids(load_profile(GS016).profile)
    kinds = {k: sum(1 for kind, _ in w if kind == k) for k, _ in w}
    assert kinds == {"threats": 9, "policies": 3, "assumptions": 4, "objectives": 15,
                     "extended_components": 5, "sfrs": 12, "elements": 28}
    ids = {i for _, i in w}
    assert {"W.T.QCHAN_ATTACK", "FPT_ODC.1", "FPT_ODC.1.7", "FCS_COP.1/EV",
            "FCS_COP.1.1/EV"} <= ids
    # CC Part 2 components used without iteration are the CC's own ids, not working ids.
    assert not {"FAU_GEN.1", "FIA_API.1", "FPT_ITT.1", "AVA_VAN.5"} & ids


def test_bind_renames_every_reference() -> None:
    lp = load_profile(GS016)
    bound = bind(lp, load_mapping(MAPPING))
    assert bound.binding is not None and bound.binding.mapping == MAPPING.name
    assert bound.ids == "official" and not bound.provisional
    o = next(o for o in bound.objectives if o.id == "O.XO1")
    assert o.title == "Made-up official title of O.XO1" and o.id_status == "official"
    assert o.addresses == ("T.XT1", "P.XP1")
    assert o.sfrs == ("FCS_XQK.1", "FCS_CKM.1/XKEY", "FCS_COP.1/XVER", "FCS_COP.1/XPRA")
    odc = bound.sfr("FPT_XDC.1")
    assert odc is not None and odc.extended and odc.title == "Made-up official title of FPT_XDC.1"
    # Elements keep their number under the official component, unless the mapping names them.
    assert [el.id for el in odc.elements] == [
        "FPT_XDC.1.1", "FPT_XDC.1.2", "FPT_XDC.1.3", "FPT_XDC.1.4", "FPT_XDC.1.5",
        "FPT_XDC.1.6", "FPT_XDC.1.9"]
    assert odc.elements[-1].activities[0].id == "FPT_XDC.1.9-A1"
    ecd = next(e for e in bound.extended_components if e.id == "FPT_XDC.1")
    assert ecd.family == "FPT_XDC" and ecd.element_ids()[-1] == "FPT_XDC.1.9"
    key = bound.sfr("FCS_CKM.1/XKEY")
    assert key is not None
    assert key.elements[0].id == "FCS_CKM.1.1/XKEY"
    assert key.elements[0].activities[0].id == "FCS_CKM.1.1-XKEY-A1"
    # CC ids stay as they are.
    assert bound.sfr("FAU_GEN.1") is not None and bound.sar("AVA_VAN.5") is not None


def test_check_mapping_derives_element_ids() -> None:
    rename = check_mapping(load_profile(GS016), load_mapping(MAPPING))
    assert rename["FPT_ODC.1.7"] == "FPT_XDC.1.9"
    assert rename["FPT_ODC.1.6"] == "FPT_XDC.1.6"
    assert rename["FCS_RNG.1.2/RX"] == "FCS_RNG.1.2/XRCV"
    assert rename["FCS_RNG.1.2-RX"] == "FCS_RNG.1.2-XRCV"  # the prefix of its activity ids


@pytest.fixture(scope="module")
def bound_audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evaltool.cli import main

    root = tmp_path_factory.mktemp("bound")
    bound, evaluation = root / "bound.yaml", root / "evaluation.yaml"
    with pytest.raises(SystemExit) as info:
        main(["profile", "bind", str(GS016), str(MAPPING), "--out", str(bound),
              "--evaluation", str(DEMO_EVALUATION), "--evaluation-out", str(evaluation)])
    assert info.value.code == 0
    out = root / "out"
    with pytest.raises(SystemExit) as info:
        main(["-q", "audit", str(HONEST), "--profile", str(bound), "--st",
              str(HONEST / "st.yaml"), "--evaluation", str(evaluation), "--seed", "1",
              "--out", str(out), "--format", "json,html,pdf,junit,oscal"])
    # The honest scenario passes with the bound profile and the bound attestations.
    assert info.value.code == 0
    return out


def test_the_assurance_files_are_bound_beside_the_profile(bound_audit: Path) -> None:
    # The attack catalogue names extended SFRs (working ids) and is bound; the CEM work units
    # name CC assurance components only and are copied byte for byte.
    root = bound_audit.parent
    attacks = (root / "bound.attacks-optical.yaml").read_text()
    original = (GS016.parent / "attacks-optical.yaml").read_text()
    assert "FPT_ODC.1" in original and "FPT_ODC.1" not in attacks
    assert ((root / "bound.cem-work-units.yaml").read_bytes()
            == (GS016.parent / "cem-work-units.yaml").read_bytes())
    assert "attack_catalogue: bound.attacks-optical.yaml" in (root / "bound.yaml").read_text()


def test_bound_audit_leaves_no_working_id_in_any_output(bound_audit: Path) -> None:
    pattern = _working_pattern()
    # The pattern finds every working id in the unbound profile (71 distinct: an extended SFR
    # and its component definition share one).
    assert len({m.group(0) for m in pattern.finditer(GS016.read_text())}) == 71
    files = sorted(p for p in bound_audit.iterdir() if p.is_file())
    assert {p.name for p in files} >= {"results.json", "report.html", "report.pdf",
                                       "results.junit.xml", "results.oscal.json"}
    for path in files:
        text = _text(path)
        left = sorted({m.group(0) for m in pattern.finditer(text)})
        assert not left, f"{path.name} still names working ids {left[:10]}"
    html = (bound_audit / "report.html").read_text()
    assert "FPT_XDC.1.9" in html and "T.XT1" in html and "FCS_COP.1/XVER" in html
    # Results are grouped by the module an SFR is allocated to.
    assert "<h3>Verdicts per module</h3>" in html
    assert "<td>receiver</td><td class=\"small\">FPT_XDC.1, FCS_RNG.1/XRCV</td>" in html
    # The scan can fail: the same outputs name official ids the pattern does not know.
    assert "FPT_XDC.1.9" in _text(bound_audit / "report.pdf")


def test_bound_audit_states_the_binding(bound_audit: Path) -> None:
    data = json.loads((bound_audit / "results.json").read_text())
    identity = data["profile"]
    assert identity["bound_to"] == "Made-up official text for tests (not ETSI GS QKD 016)"
    assert identity["id_counts"] == {"cc": 116, "official": 76, "working": 0}
    assert data["verdict"] == "pass"
    assert data["counts"] == {"pass": 171, "fail": 0, "inconclusive": 0, "not-applicable": 9}
    manual = {c["activity_id"]: c for r in data["requirements"] for c in r["checks"]
              if c["kind"] == "manual"}
    assert manual["FCS_XQK.1.1-A1"]["verdict"] == "pass"
    assert "attested by M. Tanaka on 2026-11-12" in manual["FCS_XQK.1.1-A1"]["notes"][0]


def test_mapping_schema_export_matches_docs(run_cli) -> None:
    from tests.support import REPO

    r = run_cli("schema", "profile-mapping")
    assert r.exit_code == 0
    shipped = REPO / "docs" / "schemas" / "profile-mapping.schema.json"
    schema = json.loads(r.stdout)
    assert schema == json.loads(shipped.read_text()), (
        "docs/schemas/profile-mapping.schema.json is stale: regenerate with "
        "`evaltool schema profile-mapping`")
    assert schema["required"] == ["binds_profile", "source"]
    assert schema["additionalProperties"] is False


def test_validate_reports_a_valid_mapping(run_cli) -> None:
    r = run_cli("validate", GS016, MAPPING)
    assert r.exit_code == 0, r.stderr
    assert f"{MAPPING}: valid mapping of etsi-gs-qkd-016 (48 items," in r.stdout


def test_bind_refuses_an_evaluation_without_its_output(run_cli, tmp_path: Path) -> None:
    from tests.profiles.conftest import DEMO_EVALUATION as EVAL

    r = run_cli("profile", "bind", GS016, MAPPING, "--out", tmp_path / "b.yaml",
                "--evaluation", EVAL)
    assert r.exit_code == 2
    assert "--evaluation and --evaluation-out go together" in r.stderr
    assert not (tmp_path / "b.yaml").exists()
