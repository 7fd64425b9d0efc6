"""Profile and ST validation (``evaltool.profile`` and plan building in ``evaltool.checks.plan``)
beyond the broken-input corpus.

Rules follow the CC:2022 Part 3 rationale work units (APE_OBJ.2, APE_REQ.2, APE_ECD.1, ASE_REQ.2)
and their CEM:2022 evaluator actions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import evaltool.checks  # noqa: F401  (fills the registry)
from evaltool.checks.plan import build_plan, load_library
from evaltool.errors import ProfileError
from evaltool.io.profiles import load_profile, load_security_target
from evaltool.profile.coverage import automation_ratio
from evaltool.profile.st import render_text
from tests.support import REPO

CORPUS = REPO / "test_vectors" / "profiles"
BASE = (CORPUS / "valid" / "corpus-base.yaml").read_text()
ST = (CORPUS / "valid" / "corpus-st.yaml").read_text()


def _profile(tmp_path: Path, *reps: tuple[str, str]) -> Path:
    text = BASE
    for old, new in reps:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def _st(tmp_path: Path, *reps: tuple[str, str]) -> Path:
    text = ST
    for old, new in reps:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "st.yaml"
    path.write_text(text)
    return path


def _error(path: Path, st: Path | None = None) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        lp = load_profile(path)
        build_plan(lp, load_security_target(st) if st is not None else None)
    return info.value


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


FAU_DEPS = ("    dependencies: [FPT_STM.1]\n    dependency_rationale:\n"
            "      FPT_STM.1: Time comes from the environment.\n")


@pytest.mark.parametrize("deps", [
    "    dependencies: [\"FPT_STM.1 or FPT_FLS.1\"]\n",  # CC alternative notation, one met
    "    dependencies: [FCS_QKD.1]\n",                   # extended component present
])
def test_dependency_forms_that_are_met(tmp_path: Path, deps: str) -> None:
    build_plan(load_profile(_profile(tmp_path, (FAU_DEPS, deps))))


def test_iteration_and_alias_meet_a_dependency(tmp_path: Path) -> None:
    path = _profile(
        tmp_path, (FAU_DEPS, "    dependencies: [FCS_CKM.4, FPT_FLS.1]\n"),
        ("  - id: FPT_FLS.1\n    title: Fail secure\n",
         "  - id: FPT_FLS.1/ABORT\n    title: Fail secure\n    aliases: [FCS_CKM.4]\n"),
        ("sfrs: [FPT_FLS.1, FCS_QKD.1]", "sfrs: [FPT_FLS.1/ABORT, FCS_QKD.1]"))
    plan = build_plan(load_profile(path))
    assert plan.profile.sfr("FCS_CKM.4") is plan.profile.sfr("FPT_FLS.1/ABORT")


def test_sar_dependency_met_by_a_higher_component(tmp_path: Path) -> None:
    # CC Part 3: ATE_FUN.1 depends on ATE_COV.1, met hierarchically by ATE_COV.2.
    path = _profile(tmp_path, ("  - id: ATE_FUN.1\n    title: Functional testing\n",
                               "  - id: ATE_COV.2\n    title: Coverage\n    activities:\n"
                               "      - {id: COV-E1, title: Coverage, method: manual}\n"
                               "  - id: ATE_FUN.1\n    title: Functional testing\n"
                               "    dependencies: [ATE_COV.1]\n"))
    build_plan(load_profile(path))
    lower = _profile(tmp_path, ("    dependencies: [ATE_FUN.1]\n",
                                "    dependencies: [ATE_FUN.2]\n"))
    assert "ATE_IND.2 depends on ATE_FUN.2, which the assurance package lacks" in str(
        _error(lower))


@pytest.mark.parametrize(("reps", "message", "line_needle"), [
    ((("  - {id: OE.SITE, title: Secure site, scope: environment, addresses: [A.SITE]}",
       "  - {id: OE.SITE, title: Secure site, scope: environment, addresses: [A.SITE],\n"
       "     sfrs: [FAU_GEN.1]}"),),
     "objective OE.SITE is for the environment and cannot be met by SFRs",
     "     sfrs: [FAU_GEN.1]}"),
    ((("addresses: [T.EAVESDROP], sfrs: [FAU_GEN.1]}", "addresses: [A.SITE], sfrs: [FAU_GEN.1]}"),),
     "TOE objective O.AUDIT addresses assumption A.SITE", "addresses: [A.SITE], sfrs"),
    ((("  - {id: O.AUDIT, title: Audit, addresses: [T.EAVESDROP], sfrs: [FAU_GEN.1]}\n", ""),),
     "SFR FAU_GEN.1 meets no objective", "  - id: FAU_GEN.1"),
    ((("     dependencies: [FPT_FLS.1]}\n",
       "     dependencies: [FPT_FLS.1]}\n"
       "  - {id: FAU_GEN.1, family: FAU_GEN, title: T, family_behaviour: B., management: M.,\n"
       "     audit: A., elements: [E.], description: Redefined.}\n"),),
     "SFR FAU_GEN.1 has an extended component definition but is not marked extended",
     "  - id: FAU_GEN.1"),
    (((FAU_DEPS, "    dependencies: [FPT_STM.1]\n    dependency_rationale:\n"
                 "      FPT_STM.1: Time comes from the environment.\n"
                 "      FPT_TST.1: Not needed.\n"),),
     "FAU_GEN.1 justifies FPT_TST.1, which is not one of its dependencies", "FPT_TST.1: Not"),
    ((("     dependencies: [FPT_FLS.1]}\n", "     dependencies: [FPT_FLS.1, FAU_GEN.1]}\n"),),
     "extended SFR FCS_QKD.1 omits dependency FAU_GEN.1 of its component definition",
     "    dependencies: [FPT_FLS.1]\n"),
    ((("choices: [active, passive], default: passive}",
       "choices: [active, passive], default: both}"),),
     "default 'both' of selection 'basis_choice_rx' is not one of active, passive",
     "default: both"),
    ((('version: "1.0"\n', 'version: "1.0"\ntest_method_library: /etc/methods.yaml\n'),),
     "test_method_library must be a relative path to a .yaml file", "test_method_library"),
    ((('version: "1.0"\n', 'version: "1.0"\ntest_method_library: absent.yaml\n'),),
     "not found", "test_method_library"),
    ((("type: int, min: 64, max: 1024, default: 128,\n     tighten: higher}",
       "type: string, min: 64, default: x}"),),
     "a string assignment takes no min or max", "type: string"),
])
def test_profile_rule_violations(tmp_path: Path, reps, message: str, line_needle: str) -> None:
    path = _profile(tmp_path, *reps)
    err = _error(path)
    assert message in err.message
    first = line_needle.splitlines()[0]
    assert err.location is not None and err.location.split(":")[0] == str(_line_of(path, first))


def test_st_must_fill_assignments_without_default(tmp_path: Path) -> None:
    path = _profile(tmp_path, ("     default: 0.06, tighten: lower}", "     tighten: lower}"))
    st = _st(tmp_path, ("  qber_abort_threshold: 0.05\n", ""))
    err = _error(path, st)
    assert "leaves 'qber_abort_threshold' open and the profile gives no default" in err.message
    # Without an ST the checks that use it cannot be planned.
    err = _error(path)
    assert "refers to 'st.qber_abort_threshold', which has no default" in err.message
    build_plan(load_profile(path), load_security_target(_st(tmp_path)))


def test_st_claiming_another_profile_version(tmp_path: Path) -> None:
    st = _st(tmp_path, ('claims_profile_version: "1.0"', 'claims_profile_version: "0.9"'))
    err = _error(CORPUS / "valid" / "corpus-base.yaml", st)
    assert "claims version '0.9' of corpus-base, the profile is version '1.0'" in err.message
    assert err.location is not None and err.location.startswith("7:")


def test_string_assignment_choices(tmp_path: Path) -> None:
    gs016 = REPO / "profiles" / "etsi-gs-qkd-016.yaml"
    st = tmp_path / "st.yaml"
    st.write_text((REPO / "test_vectors" / "demo" / "st.yaml").read_text().replace(
        "rng_class: AIS31-PTG.3", "rng_class: AIS31-PTG.9"))
    err = _error(gs016, st)
    assert ("assignment 'rng_class': 'AIS31-PTG.9' is not one of the profile's allowed values "
            "AIS31-PTG.2, AIS31-PTG.3") in err.message


@pytest.mark.parametrize("drg", ["AIS31-DRG.4", "AIS31-DRG.3", "AIS31-DRG.2"])
def test_a_deterministic_rng_class_is_refused_with_the_reason(tmp_path: Path, drg: str) -> None:
    gs016 = REPO / "profiles" / "etsi-gs-qkd-016.yaml"
    st = tmp_path / "st.yaml"
    st.write_text((REPO / "test_vectors" / "demo" / "st.yaml").read_text().replace(
        "rng_class: AIS31-PTG.3", f"rng_class: {drg}"))
    err = _error(gs016, st)
    assert err.message == (
        f"assignment 'rng_class': '{drg}' is refused by the profile: a deterministic random "
        "generator cannot supply the randomness an information-theoretic security proof "
        "assumes for the settings' RNG")
    assert err.location is not None and err.location.startswith("34:")


def test_refused_values_are_string_assignments_and_never_choices() -> None:
    from pydantic import ValidationError

    from evaltool.model.profile import Assignment

    a = Assignment(id="x", title="x", type="string", choices=("A",), refused={"B*": "no"})
    assert (a.refusal("B.1"), a.refusal("A"), a.refusal("XB")) == ("no", None, None)
    with pytest.raises(ValidationError, match=r"'B\.2' is both a choice and refused"):
        Assignment(id="x", title="x", type="string", choices=("B.2",), refused={"B*": "no"})
    with pytest.raises(ValidationError, match="only a string assignment refuses values"):
        Assignment(id="x", title="x", type="float", refused={"1": "no"})


def test_tightening_inside_the_bound_is_accepted(tmp_path: Path) -> None:
    # qber max 0.11 tighten lower: 0.11 (the bound itself) and 0.0 are both allowed.
    for value in ("0.11", "0.0"):
        st = _st(tmp_path, ("qber_abort_threshold: 0.05", f"qber_abort_threshold: {value}"))
        plan = build_plan(load_profile(CORPUS / "valid" / "corpus-base.yaml"),
                          load_security_target(st))
        assert plan.st_values["qber_abort_threshold"] == float(value)


def test_render_text_fills_operations() -> None:
    text = "Abort above {{ st.q }} with {{st.modes}}; {{ st.unknown }} stays."
    assert render_text(text, {"q": 0.06, "modes": ("a", "b")}) == (
        "Abort above 0.06 with a, b; {{ st.unknown }} stays.")


def test_automation_ratio_counts_elements_not_activities(tmp_path: Path) -> None:
    path = _profile(tmp_path,
                    ("    title: Fail secure\n", "    title: Fail secure\n    area: protocol\n"),
                    ("    title: Audit data generation\n",
                     "    title: Audit data generation\n    area: audit\n"))
    r = automation_ratio(load_profile(path).profile)
    assert (r.automated, r.total, r.manual_only) == (1, 2, ("FAU_GEN.1.1",))
    assert r.ratio == 0.5


def test_library_duplicate_method_and_unknown_kind(tmp_path: Path) -> None:
    lib = (CORPUS / "broken" / "mini-library.yaml").read_text()
    dup = tmp_path / "dup.yaml"
    dup.write_text(lib + lib[lib.index("  - {id: PP.ABORT"):])
    with pytest.raises(ProfileError, match=re.escape("duplicate method id 'PP.ABORT'")):
        load_library(dup)
    kind = tmp_path / "kind.yaml"
    kind.write_text(lib.replace("acceptance: Every decision follows the rule.}",
                                "acceptance: Every decision follows the rule.,\n"
                                "     kinds: [protocol.abort-rul]}"))
    with pytest.raises(ProfileError, match=re.escape("did you mean 'protocol.abort-rule'")) as info:
        load_library(kind)
    assert info.value.location is not None and info.value.location.startswith("11:")


def test_a_kind_evaltool_does_not_implement_is_a_profile_error(tmp_path: Path) -> None:
    # No kind is "declared but not available": a kind the registry lacks stops validation at
    # the kind's line, with the nearest registered kinds when there are any.
    far = _profile(tmp_path, ("- kind: telemetry.range", "- kind: monitor.quantum-radar"))
    err = _error(far)
    assert err.message == "unknown check kind 'monitor.quantum-radar'"
    assert err.location is not None
    assert err.location.startswith(f"{_line_of(far, 'monitor.quantum-radar')}:")
    near = _profile(tmp_path, ("- kind: telemetry.range", "- kind: monitor.dead-tim"))
    assert _error(near).message == ("unknown check kind 'monitor.dead-tim' "
                                    "(did you mean 'monitor.dead-time' or "
                                    "'monitor.afterpulsing'?)")
