"""``evaltool profile show`` and ``evaltool profile crosswalk``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.profiles.conftest import DEMO_ST, GS016


def test_show_fcs_ckm_1_prints_requirement_activities_and_checks(profile_cli,
                                                                monkeypatch) -> None:
    monkeypatch.chdir(GS016.parents[1])  # profiles are found by id in ./profiles
    r = profile_cli("profile", "show", "etsi-gs-qkd-016", "--sfr", "FCS_CKM.1")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert out.startswith("FCS_CKM.1/QKD  Cryptographic key generation (QKD final key)")
    assert "meets objectives: O.QKD_KEY" in out
    assert "element FCS_CKM.1.1/QKD" in out
    # Without an ST the profile's defaults fill the operations (eps_sec default 1e-09).
    assert "lim2014 finite-key bound at secrecy 1e-09" in out
    assert "activity FCS_CKM.1.1-QKD-A1 [automated]" in out
    assert "test method: PP.KEY_LENGTH (Final key length against the finite-key bound)" in out
    assert "check FCS_CKM.1.1-QKD-A1/1: protocol.key-length-bound" in out
    assert 'params: {"slot": "blocks"}' in out


def test_show_fills_st_values_and_reports_applicability(profile_cli) -> None:
    r = profile_cli("profile", "show", GS016, "--sfr", "FPT_ODC.1", "--st", DEMO_ST)
    assert r.exit_code == 0, r.stderr
    # Demo ST: photocurrent ceiling 2.2 uA, abort within 1 s (profile defaults 2.5 and 2).
    assert "photocurrent ceiling of 2.2 uA" in r.stdout
    assert '"threshold": 2.2' in r.stdout and '"within_s": 1.0' in r.stdout
    assert "[extended, provisional id]" in r.stdout
    r = profile_cli("profile", "show", GS016, "--sfr", "FCS_RNG.1/RX", "--st", DEMO_ST)
    assert "not applicable under the ST: the receiver chooses its basis passively" in r.stdout


def test_show_sar_and_summary(profile_cli) -> None:
    r = profile_cli("profile", "show", GS016, "--sfr", "AVA_VAN.5")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("AVA_VAN.5  Advanced methodical vulnerability analysis  "
                               "[augmentation]")
    assert "work units: AVA_VAN.5-1..12" in r.stdout
    r = profile_cli("profile", "show", GS016)
    assert "CEM work units: 189 (CEM:2022 R1), answered by the SAR activities" in r.stdout
    assert "AVA_VAN.5 attack catalogue: 13 attacks (10 below Beyond High)" in r.stdout
    assert "crosswalks: iso-iec-19790" in r.stdout
    # FDP_ITT.1 folded into FPT_ITT.1; FIA_API.1 is a CC:2022 Part 2 component, not extended;
    # FCS_RNG.1/RX gained its quality-metric element FCS_RNG.1.2/RX.
    assert "SFRs 45 (87 elements, 5 extended), SARs 24" in r.stdout
    assert "  conformance: strict" in r.stdout
    assert ("  models: Quantum Key Distribution (QKD); Common Criteria Protection Profile - Pair "
            "of Prepare and Measure Quantum Key Distribution Modules V2.1.1 (2024-01), "
            "BSI-CC-PP-0120-2024") in r.stdout
    assert "  ids: 76 ids are evaltool working ids" in r.stdout
    assert "automated protocol/optical/RNG/audit elements: 35 of 38 (92 %)" in r.stdout


def test_show_unknown_requirement_suggests(profile_cli) -> None:
    r = profile_cli("profile", "show", GS016, "--sfr", "FCS_CKM.7")
    assert r.exit_code == 2
    assert "has no requirement 'FCS_CKM.7'" in r.stderr and "FCS_CKM.6" in r.stderr
    assert "Traceback" not in r.stderr


def test_show_broken_profile_exits_4(profile_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GS016.read_text().replace("sfrs: [FCS_RNG.1/TX, FCS_RNG.1/RX]",
                                             "sfrs: [FCS_RNG.1/TX, FCS_RNG.1/RXX]"))
    r = profile_cli("profile", "show", bad)
    assert r.exit_code == 4
    assert f"{bad}:" in r.stderr and "names unknown SFR 'FCS_RNG.1/RXX'" in r.stderr


def test_crosswalk_table(profile_cli, monkeypatch) -> None:
    monkeypatch.chdir(GS016.parents[1])
    r = profile_cli("profile", "crosswalk")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ("etsi-gs-qkd-016 0.2.0 <-> iso-iec-23837-2-activities 0.1.0  "
                        "(working ids, provisional)")
    row = next(line for line in lines if line.startswith("FCS_CKM.1/QKD "))
    assert row.split() == ["FCS_CKM.1/QKD", "protocol-implementation", "1/0", "PP.KEY_LENGTH"]
    row = next(line for line in lines if line.startswith("FCS_QKD.1"))
    assert row.split()[0] == "FCS_QKD.1*"  # provisional working id
    reverse = next(line for line in lines if line.startswith("DET.BLINDING "))
    assert reverse.split() == ["DET.BLINDING", "detector", "FPT_ODC.1"]


def test_crosswalk_json_matches_the_profile(profile_cli) -> None:
    r = profile_cli("profile", "crosswalk", GS016, "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["profile"] == "etsi-gs-qkd-016"
    assert len(data["requirements"]) == 45 + 24
    used = {m["id"]: m["used_by"] for m in data["methods"]}
    assert used["PP.KEY_LENGTH"] == ["FCS_CKM.1/QKD"]
    # Every library method is used by at least one requirement of the shipped profile, except
    # those listed here (characterisations no GS QKD 016 element names yet).
    assert sorted(m for m, users in used.items() if not users) == ["SRC.SEEDING"]


def test_crosswalk_needs_a_library(profile_cli, tmp_path: Path) -> None:
    from tests.support import MINI_PROFILE

    mini = tmp_path / "mini.yaml"
    mini.write_text(MINI_PROFILE)
    r = profile_cli("profile", "crosswalk", mini)
    assert r.exit_code == 2
    assert "profile mini-profile names no test_method_library" in r.stderr
