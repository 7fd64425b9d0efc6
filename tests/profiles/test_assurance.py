"""Assurance data of the shipped profile: CEM work units of every SAR activity, the AVA_VAN.5
attack catalogue with its CEM Annex B.4 ratings, the ISO/IEC 19790 crosswalk, and their refusals.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from evaltool.checks.plan import build_plan
from evaltool.checks.registry import get
from evaltool.errors import ProfileError
from evaltool.io.profiles import load_profile
from evaltool.model.assurance import FACTOR_VALUES, rating
from evaltool.profile.assurance import expand_work_units
from evaltool.report.canonical import ResultsFileError, parse_results, results_json
from evaltool.report.html import render_html
from tests.profiles.conftest import GS016, PROFILES
from tests.support import DEMO_BUNDLE, MINI_PROFILE

ASSURANCE_FILES = ("iso-iec-23837-2-activities.yaml", "cem-work-units.yaml",
                   "attacks-optical.yaml", "crosswalk-iso-iec-19790.yaml")


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_profile(GS016))


def _copy_profile(tmp_path: Path, edit: dict[str, tuple[str, str]] | None = None) -> Path:
    """The shipped profile and its files in ``tmp_path``, with ``old -> new`` edits per file."""
    for name in ("etsi-gs-qkd-016.yaml", *ASSURANCE_FILES):
        text = (PROFILES / name).read_text()
        for fname, (old, new) in (edit or {}).items():
            if fname == name:
                assert old in text, old
                text = text.replace(old, new, 1)
        (tmp_path / name).write_text(text)
    return tmp_path / "etsi-gs-qkd-016.yaml"


def _refused(path: Path) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        build_plan(load_profile(path))
    return info.value


# --- CEM work units ---------------------------------------------------------------------------

def test_work_unit_catalogue_has_the_cem_2022_ranges(plan) -> None:
    cat = plan.assurance.work_units.data
    assert cat.edition == "CEM:2022 R1"
    counts = {c.id: len(c.work_units) for c in cat.components}
    # CEM:2022 R1 sub-activities of EAL4 + AVA_VAN.5 + ALC_DVS.2 (and the ST's ASE class)
    assert counts == {
        "ADV_ARC.1": 5, "ADV_FSP.4": 12, "ADV_IMP.1": 3, "ADV_TDS.3": 16, "AGD_OPE.1": 8,
        "AGD_PRE.1": 3, "ALC_CMC.4": 13, "ALC_CMS.4": 3, "ALC_DEL.1": 2, "ALC_DVS.2": 4,
        "ALC_LCD.1": 2, "ALC_TAT.1": 3, "ASE_CCL.1": 21, "ASE_ECD.1": 13, "ASE_INT.1": 12,
        "ASE_OBJ.2": 6, "ASE_REQ.2": 19, "ASE_SPD.1": 4, "ASE_TSS.1": 2, "ATE_COV.2": 4,
        "ATE_DPT.1": 4, "ATE_FUN.1": 7, "ATE_IND.2": 11, "AVA_VAN.5": 12}
    assert sum(counts.values()) == 189
    # The penetration-testing work units belong to the fourth evaluator action element.
    van = cat.component("AVA_VAN.5")
    assert [w.element for w in van.work_units].count("AVA_VAN.5.4E") == 7
    assert van.work_units[4].element == "AVA_VAN.5.3E"
    assert cat.component("ALC_DEL.1").work_units[1].element == "ALC_DEL.1.2D"


def test_every_sar_activity_answers_all_its_work_units(plan) -> None:
    p = plan.profile
    assert len(p.sars) == 24
    answered = 0
    for sar in p.sars:
        ids = [w for act in sar.activities for spec in act.work_units
               for w in expand_work_units(spec) or ()]
        assert ids, sar.id
        assert all(w.rsplit("-", 1)[0] == sar.id for w in ids)
        answered += len(set(ids))
    assert answered == 189


def test_expand_work_units() -> None:
    assert expand_work_units("ADV_FSP.4-3") == ("ADV_FSP.4-3",)
    assert expand_work_units("ALC_DVS.2-1..4") == tuple(f"ALC_DVS.2-{n}" for n in range(1, 5))
    assert expand_work_units("ALC_DVS.2-4..1") is None
    assert expand_work_units("ALC_DVS.2-0") is None
    assert expand_work_units("ALC_DVS.2") is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ("SAR.OPTICAL_TSFI, work_units: [ADV_FSP.4-1..12]}", "SAR.OPTICAL_TSFI}",
     "SAR activity ADV_FSP.4-E1 answers no CEM work unit"),
    ("work_units: [ADV_FSP.4-1..12]", "work_units: [ADV_FSP.4-1..13]",
     "work unit ADV_FSP.4-13 is outside ADV_FSP.4's range (ADV_FSP.4-1..12 in CEM:2022 R1)"),
    ("work_units: [ADV_FSP.4-1..12]", "work_units: [ADV_FSP.4-1..11, ADV_TDS.3-12]",
     "work unit ADV_TDS.3-12 belongs to ADV_TDS.3, not to ADV_FSP.4"),
    ("work_units: [ADV_FSP.4-1..12]", "work_units: [ADV_FSP.4-1..10]",
     "SAR ADV_FSP.4 leaves 2 CEM work unit(s) unanswered by its activities: ADV_FSP.4-11, "
     "ADV_FSP.4-12"),
    ("work_units: [ADV_FSP.4-1..12]", "work_units: [ADV_FSP.4.1]",
     "'ADV_FSP.4.1' is not a work unit id"),
])
def test_work_unit_refusals_name_file_and_line(tmp_path: Path, old: str, new: str,
                                               message: str) -> None:
    path = _copy_profile(tmp_path, {"etsi-gs-qkd-016.yaml": (old, new)})
    err = _refused(path)
    assert message in err.message
    lines = path.read_text().splitlines()
    sar = lines.index("  - id: ADV_FSP.4") + 1
    act = next(i for i, t in enumerate(lines, 1) if "ADV_FSP.4-E1" in t)
    assert Path(err.path) == path and err.location is not None
    # The activity (or, for work units left unanswered, the SAR) is named by its line.
    assert int(err.location.split(":")[0]) in (range(act, act + 2) if "leaves" not in message
                                               else (sar,))


def test_sar_missing_from_the_catalogue_is_refused(tmp_path: Path) -> None:
    start = (PROFILES / "cem-work-units.yaml").read_text().index("  - id: ALC_TAT.1")
    end = (PROFILES / "cem-work-units.yaml").read_text().index("  - id: ASE_CCL.1")
    block = (PROFILES / "cem-work-units.yaml").read_text()[start:end]
    path = _copy_profile(tmp_path, {"cem-work-units.yaml": (block, "")})
    assert "SAR ALC_TAT.1: the CEM work-unit catalogue" in _refused(path).message


def test_catalogue_numbering_gap_is_refused(tmp_path: Path) -> None:
    path = _copy_profile(tmp_path, {"cem-work-units.yaml": ("{id: ALC_DVS.2-3,",
                                                            "{id: ALC_DVS.2-5,")})
    err = _refused(path)
    assert "work unit 3 of ALC_DVS.2 is ALC_DVS.2-5, expected ALC_DVS.2-3" in err.message
    assert Path(err.path) == tmp_path / "cem-work-units.yaml"


def test_profile_show_lists_work_unit_summaries(profile_cli) -> None:
    r = profile_cli("profile", "show", GS016, "--sfr", "ALC_DVS.2")
    assert r.exit_code == 0, r.stderr
    assert "work units: ALC_DVS.2-1..4" in r.stdout
    assert re.search(r"ALC_DVS\.2-4 \[ALC_DVS\.2\.2E\] The security measures are shown to be "
                     r"applied", r.stdout)
    assert r.stdout.count("[ALC_DVS.2.1E]") == 3


# --- attack catalogue -------------------------------------------------------------------------

EXPECTED_RATINGS = {
    # attack: (value, rating) from the CEM Annex B.4 factor values
    "ATK.DETECTOR_BLINDING": (4 + 6 + 3 + 4 + 7, "High"),
    "ATK.AFTER_GATE": (24, "High"),
    "ATK.TIME_SHIFT": (4 + 6 + 3 + 4 + 4, "High"),
    "ATK.EFFICIENCY_MISMATCH": (7 + 6 + 3 + 4 + 7, "Beyond High"),
    "ATK.TROJAN_HORSE": (21, "High"),
    "ATK.LASER_SEEDING": (2 + 6 + 3 + 4 + 4, "Moderate"),
    "ATK.LASER_DAMAGE": (4 + 6 + 3 + 1 + 4, "Moderate"),
    "ATK.CALIBRATION": (27, "Beyond High"),
    "ATK.WAVELENGTH_BS": (21, "High"),
    "ATK.PNS": (19 + 8 + 0 + 4 + 9, "Beyond High"),
    "ATK.PATTERN_EFFECT": (18, "Moderate"),
    "ATK.TIMING_SIDE_CHANNEL": (1 + 3 + 0 + 0 + 0, "Basic"),
    "ATK.VENT_INJECTION": (2 + 3 + 3 + 10 + 0, "Moderate"),
}


def test_cem_annex_b_factor_values_and_rating_bands() -> None:
    assert FACTOR_VALUES["elapsed_time"] == {
        "<=1 day": 0, "<=1 week": 1, "<=2 weeks": 2, "<=1 month": 4, "<=2 months": 7,
        "<=3 months": 10, "<=4 months": 13, "<=5 months": 15, "<=6 months": 17, ">6 months": 19}
    assert FACTOR_VALUES["expertise"] == {"layman": 0, "proficient": 3, "expert": 6,
                                          "multiple experts": 8}
    assert FACTOR_VALUES["knowledge"] == {"public": 0, "restricted": 3, "sensitive": 7,
                                          "critical": 11}
    assert FACTOR_VALUES["window"] == {"unnecessary/unlimited": 0, "easy": 1, "moderate": 4,
                                       "difficult": 10}
    assert FACTOR_VALUES["equipment"] == {"standard": 0, "specialised": 4, "bespoke": 7,
                                          "multiple bespoke": 9}
    bands = {v: rating(v) for v in (0, 9, 10, 13, 14, 19, 20, 24, 25, 57)}
    assert bands == {0: "Basic", 9: "Basic", 10: "Enhanced-Basic", 13: "Enhanced-Basic",
                     14: "Moderate", 19: "Moderate", 20: "High", 24: "High",
                     25: "Beyond High", 57: "Beyond High"}


def test_attack_ratings_are_computed_from_the_factor_table(plan) -> None:
    cat = plan.assurance.attacks.data
    got = {a.id: (a.factors.value, a.factors.rating) for a in cat.attacks}
    assert got == EXPECTED_RATINGS
    assert cat.component == "AVA_VAN.5" and cat.required_resistance == "High"
    # 10 of the 13 attacks are within a High-potential attacker's reach: the TOE must counter them
    assert sum(v < 25 for v, _ in got.values()) == 10


def test_every_attack_is_linked_to_registered_checks_or_a_lab_test(plan) -> None:
    cat = plan.assurance.attacks.data
    for a in cat.attacks:
        assert a.checks or a.lab_test, a.id
        assert a.literature and all(1990 <= c.year <= 2026 for c in a.literature), a.id
        for kind in a.checks:
            assert get(kind).kind == kind
        for sfr in a.sfrs:
            assert plan.profile.sfr(sfr) is not None, (a.id, sfr)
    linked = {a.id: set(a.checks) for a in cat.attacks}
    assert linked["ATK.DETECTOR_BLINDING"] == {"monitor.detector-blinding"}
    assert linked["ATK.TROJAN_HORSE"] == {"monitor.trojan-horse"}
    assert linked["ATK.PNS"] == {"monitor.decoy-consistency", "protocol.key-length-bound"}
    lab_only = sorted(a.id for a in cat.attacks if not a.checks)
    assert lab_only == ["ATK.LASER_DAMAGE", "ATK.VENT_INJECTION", "ATK.WAVELENGTH_BS"]
    # Every activity kind linked is one the shipped profile actually runs.
    profile_kinds = {pc.ctype.kind for pa in plan.activities for pc in pa.checks}
    assert {k for a in cat.attacks for k in a.checks} <= profile_kinds


@pytest.mark.parametrize(("old", "new", "message"), [
    ("checks: [monitor.trojan-horse]", "checks: [monitor.trojan-hors]",
     "attack ATK.TROJAN_HORSE: unknown check kind 'monitor.trojan-hors'"),
    ("    checks: [monitor.pattern-effect]\n", "",
     "attack ATK.PATTERN_EFFECT is linked to no check kind and is not marked as a lab test"),
    ("sfrs: [FPT_OPI.1]", "sfrs: [FPT_OPI.9]",
     "attack ATK.TROJAN_HORSE names SFR 'FPT_OPI.9', which profile etsi-gs-qkd-016 does not "
     "define"),
    ("knowledge: public,\n", "knowledge: secret,\n", "knowledge"),
    ("component: AVA_VAN.5", "component: AVA_VAN.4",
     "serves AVA_VAN.4, which profile etsi-gs-qkd-016 does not include"),
])
def test_attack_catalogue_refusals(tmp_path: Path, old: str, new: str, message: str) -> None:
    err = _refused(_copy_profile(tmp_path, {"attacks-optical.yaml": (old, new)}))
    assert message in err.message
    assert Path(err.path) == tmp_path / "attacks-optical.yaml" and err.location is not None


def test_profile_attacks_cli(profile_cli) -> None:
    r = profile_cli("profile", "attacks", GS016)
    assert r.exit_code == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("ATK.DETECTOR_BLINDING"))
    assert row.split()[-5:] == ["24", "High", "monitor.detector-blinding,", "lab", "test"]
    assert ("13 attacks, 10 rated below Beyond High (to be countered); 10 covered by check "
            "kinds, 11 needing a lab test") in r.stdout
    r = profile_cli("profile", "attacks", GS016, "--json")
    data = json.loads(r.stdout)
    vent = next(a for a in data["attacks"] if a["id"] == "ATK.VENT_INJECTION")
    assert vent["factors"]["value"] == 18 and vent["factors"]["rating"] == "Moderate"
    assert vent["literature"][0]["journal"] == "PLoS ONE"
    r = profile_cli("profile", "attacks", GS016, "-v")
    assert "Lydersen L., Wiechers C." in r.stdout
    assert "Nature Photonics 4, 686-689 (2010)" in r.stdout


# --- crosswalk to ISO/IEC 19790 ---------------------------------------------------------------

def test_crosswalk_19790_covers_the_conventional_topics(plan) -> None:
    cw = plan.assurance.crosswalk("iso-iec-19790")
    assert [a.id for a in cw.areas] == [f"7.{n}" for n in range(2, 13)]
    topics = {e.topic for e in cw.entries}
    assert topics == {"self-tests", "zeroisation", "roles and authentication",
                      "physical security", "key entry and output", "audit"}
    by_sfr = {e.sfr: e for e in cw.entries}
    assert by_sfr["FPT_TST.1"].areas == ("7.10", "7.5")
    assert by_sfr["FCS_CKM.6"].areas == ("7.9",) and by_sfr["FCS_CKM.6"].coverage == "equivalent"
    assert set(by_sfr["FPT_PHP.3"].areas) == {"7.7", "7.9"}
    assert len(cw.entries) == 28
    assert sum(e.coverage == "equivalent" for e in cw.entries) == 6


def test_crosswalk_to_19790_cli(profile_cli) -> None:
    r = profile_cli("profile", "crosswalk", GS016, "--to", "iso-iec-19790", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    areas = {a["id"]: a for a in data["areas"]}
    assert len(areas) == 11
    assert areas["7.10"]["sfrs"] == ["FPT_TST.1", "FPT_FLS.1", "FCS_RNG.1/TX"]
    assert areas["7.7"]["sfrs"] == ["FPT_PHP.2", "FPT_PHP.3"]
    assert areas["7.11"]["sfrs"] == [] and "ALC_DVS.2" in areas["7.11"]["note"]
    r = profile_cli("profile", "crosswalk", GS016, "--to", "iso-iec-19790")
    assert re.search(r"^7\.10 +Self-tests +FPT_TST\.1=, FPT_FLS\.1~, FCS_RNG\.1/TX~$",
                     r.stdout, re.M)
    r = profile_cli("profile", "crosswalk", GS016, "--to", "iso-iec-1979")
    assert r.exit_code == 2
    assert "has no crosswalk to 'iso-iec-1979'" in r.stderr and "iso-iec-19790" in r.stderr
    # Without --to (or --to the library) the 23837-2 crosswalk is unchanged.
    r = profile_cli("profile", "crosswalk", GS016, "--to", "iso-iec-23837-2-activities")
    assert r.exit_code == 0 and "23837-2 method -> GS QKD 016 requirements" in r.stdout


@pytest.mark.parametrize(("old", "new", "message"), [
    ("- sfr: FCS_CKM.6\n", "- sfr: FCS_CKM.7\n",
     "crosswalk iso-iec-19790 names SFR 'FCS_CKM.7'"),
    ('areas: ["7.9"]\n    coverage: equivalent', 'areas: ["7.19"]\n    coverage: equivalent',
     "names unknown area '7.19'"),
    ("- sfr: FDP_RIP.2\n", "- sfr: FCS_CKM.6\n", "crosswalk iso-iec-19790 lists FCS_CKM.6 twice"),
])
def test_crosswalk_refusals(tmp_path: Path, old: str, new: str, message: str) -> None:
    err = _refused(_copy_profile(tmp_path, {"crosswalk-iso-iec-19790.yaml": (old, new)}))
    assert message in err.message
    assert Path(err.path) == tmp_path / "crosswalk-iso-iec-19790.yaml" and err.location is not None


def test_assurance_file_outside_the_profile_folder_is_refused(tmp_path: Path) -> None:
    path = _copy_profile(tmp_path, {"etsi-gs-qkd-016.yaml": (
        "attack_catalogue: attacks-optical.yaml", "attack_catalogue: ../attacks-optical.yaml")})
    assert "assurance file must be a relative path" in _refused(path).message
    (tmp_path / "crosswalk-iso-iec-19790.yaml").unlink()
    path = _copy_profile(tmp_path)
    (tmp_path / "crosswalk-iso-iec-19790.yaml").unlink()
    assert "crosswalk-iso-iec-19790.yaml' not found" in _refused(path).message


# --- results.json and the report --------------------------------------------------------------

MINI_ATTACKS = """\
schema_version: 1
id: mini-attacks
title: One attack
version: "1"
component: AVA_VAN.5
required_resistance: High
source: test
equipment:
  - {level: standard, meaning: a}
  - {level: specialised, meaning: b}
  - {level: bespoke, meaning: c}
  - {level: multiple bespoke, meaning: d}
attacks:
  - id: ATK.COLD
    title: Cooling the detector out of range
    target: detector
    description: d
    literature:
      - {authors: "A. B.", title: t, journal: j, year: 2020}
    factors: {elapsed_time: "<=1 week", expertise: proficient, knowledge: restricted,
              window: easy, equipment: specialised}
    factors_rationale: r
    sfrs: [FPT_TST.1]
    checks: [telemetry.range]
"""

MINI_CROSSWALK = """\
schema_version: 1
id: iso-iec-19790
title: mini crosswalk
source: test
areas:
  - {id: "7.10", title: Self-tests, clause: "ISO/IEC 19790:2012 §7.10"}
  - {id: "7.11", title: Life-cycle assurance, clause: "ISO/IEC 19790:2012 §7.11", note: the SARs}
entries:
  - {sfr: FPT_TST.1, topic: self-tests, areas: ["7.10"], coverage: equivalent, reuse: the log}
"""


def test_audit_result_carries_catalogue_and_report_shows_appendices(tmp_path: Path) -> None:
    from evaltool.evaluate import AuditSources, prepare_audit, run_audit

    folder = tmp_path / "profiles"
    folder.mkdir()
    shutil.copy(PROFILES / "cem-work-units.yaml", folder)
    (folder / "attacks.yaml").write_text(MINI_ATTACKS)
    (folder / "cw.yaml").write_text(MINI_CROSSWALK)
    profile = folder / "mini.yaml"
    profile.write_text(MINI_PROFILE + """\
sars:
  - id: AVA_VAN.5
    title: Advanced methodical vulnerability analysis
    activities:
      - {id: VAN-E1, title: Catalogue, method: manual, work_units: [AVA_VAN.5-1..12]}
assurance_files:
  cem_work_units: cem-work-units.yaml
  attack_catalogue: attacks.yaml
  crosswalks: [cw.yaml]
""")
    prepared = prepare_audit(AuditSources(bundle=DEMO_BUNDLE, profile=profile))
    result = run_audit(prepared, seed=0, command_line=("evaltool", "audit"))
    assert result.attack_catalogue is not None
    assert result.attack_catalogue.attacks[0].factors.value == 1 + 3 + 3 + 1 + 4
    data = results_json(result)
    stored = json.loads(data)
    assert stored["attack_catalogue"]["attacks"][0]["factors"]["rating"] == "Enhanced-Basic"
    assert stored["crosswalks"][0]["entries"][0]["sfr"] == "FPT_TST.1"
    again = parse_results(data)
    assert again == result
    edited = data.replace(b'"rating": "Enhanced-Basic"', b'"rating": "High"')
    assert edited != data
    with pytest.raises(ResultsFileError, match="disagrees"):
        parse_results(edited)
    html = render_html(result)
    assert "Appendix A AVA_VAN.5 attack catalogue" in html
    assert "Appendix B Crosswalk: mini crosswalk" in html
    row = re.search(r"<tr><td>ATK\.COLD</td>(.*?)</tr>", html).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[:8] == ["&lt;=1 week", "proficient", "restricted", "easy", "specialised", "12",
                         "Enhanced-Basic", "yes"]
    # The one telemetry.range check of this audit covers the attack; its verdict is shown.
    tst = next(r for r in result.requirements if r.requirement_id == "FPT_TST.1")
    assert tst.checks[0].kind == "telemetry.range"
    assert re.search(rf"<td>1 \(<span class=\"[^\"]*\">{tst.verdict.value}</span>\)</td>$", row)


def test_validate_recognises_the_assurance_files(run_cli) -> None:
    files = [PROFILES / n for n in ASSURANCE_FILES[1:]]
    r = run_cli("validate", *files)
    assert r.exit_code == 0, r.stderr
    assert "valid CEM work-unit catalogue cem-2022-eal4-ava-van5-alc-dvs2 (24 components, 189 " \
           "work units)" in r.stdout
    assert "valid attack catalogue attacks-optical 0.1.0 (13 attacks)" in r.stdout
    assert "valid crosswalk iso-iec-19790 (28 SFRs, 11 areas)" in r.stdout


def test_validate_refuses_an_unregistered_kind_in_a_lone_catalogue(run_cli,
                                                                    tmp_path: Path) -> None:
    bad = tmp_path / "attacks.yaml"
    bad.write_text((PROFILES / "attacks-optical.yaml").read_text().replace(
        "checks: [monitor.pattern-effect]", "checks: [monitor.pattern]"))
    r = run_cli("validate", bad)
    assert r.exit_code == 4
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1)
                if "monitor.pattern]" in t)
    assert f"attacks.yaml:{line}:" in r.stderr
    assert "attack ATK.PATTERN_EFFECT: unknown check kind 'monitor.pattern'" in r.stderr


def test_cem_edition_must_match_the_cc_edition(tmp_path: Path) -> None:
    path = _copy_profile(tmp_path, {"cem-work-units.yaml": ("edition: CEM:2022 R1",
                                                            "edition: CEM 3.1 R5")})
    err = _refused(path)
    assert ("the work-unit catalogue is of CEM 3.1 R5, but the profile is written against "
            "CC:2022 R1") in err.message
    assert Path(err.path) == path
