"""``evaltool verify`` assembles the evaluation exactly as ``audit`` does (issue 17 item 3): it
first compares the inputs recorded in results.json with those given, refuses invalid inputs as
``audit`` would, finds the profile where the audit found it, and recomputes at the recorded start
time (a waiver's expiry depends on the date)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from evaltool.cli import main
from evaltool.errors import ExitCode
from evaltool.evaluate import AuditSources, evaluate, prepare_audit
from evaltool.io.profiles import load_evaluation_input
from evaltool.report.outputs import OutputFormat, write_outputs
from tests.report.conftest import EPOCH, mini_profile_file
from tests.support import DEMO_BUNDLE

# The demo bundle's highest receiver temperature is -39.9563 degC (test_vectors/demo/bundle/
# monitors.csv): an ST bound of -45 makes the one check of the mini profile fail, and the waiver
# below (valid on 2026-01-01, the recorded start, expired by the time the tests run) turns it into
# "fail (waived)" only when the recomputation runs at the recorded date.
MINI_ST = """\
schema_version: 1
id: mini-st
title: Mini security target
version: "1"
claims_profile: mini-profile
assignments: {temp_max_c: -45}
"""
MINI_EVALUATION = """\
schema_version: 1
lab: Test lab
waivers:
  - {id: WV-1, requirement: FPT_TST.1, approver: Certification body, rationale: accepted,
     risk: low, granted: 2025-12-01, expires: 2026-06-01}
"""
BAD_EVALUATION = """\
schema_version: 1
attestations:
  - {activity: A1, evaluator: E, date: 2025-12-01, verdict: pass, rationale: looked}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["-q", *args])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab folder: profiles/mini-profile.yaml, st.yaml, evaluation.yaml, bundle/, and the
    outputs of an audit run in it by profile id, at SOURCE_DATE_EPOCH 2026-01-01."""
    base = tmp_path_factory.mktemp("lab")
    mini_profile_file(base / "profiles")
    (base / "st.yaml").write_text(MINI_ST)
    (base / "evaluation.yaml").write_text(MINI_EVALUATION)
    shutil.copytree(DEMO_BUNDLE, base / "bundle")
    mp = pytest.MonkeyPatch()
    try:
        mp.chdir(base)
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        with pytest.raises(SystemExit) as exc:
            main(["-q", "audit", "bundle", "--profile", "mini-profile", "--st", "st.yaml",
                  "--evaluation", "evaluation.yaml", "--out", "out/audit", "--format", "json"])
    finally:
        mp.undo()
    assert exc.value.code == ExitCode.FAIL  # a waived failure stays a failure
    return base


def test_the_audit_waived_its_failure(workspace: Path) -> None:
    data = json.loads((workspace / "out" / "audit" / "results.json").read_text())
    (check,) = [c for r in data["requirements"] for c in r["checks"]]
    assert (check["verdict"], check["waived_by"]) == ("fail", "WV-1")


def test_verify_from_another_folder_finds_the_profile_and_reproduces(
        workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)  # today the waiver has expired
    code, out, err = run(["verify", str(workspace / "out" / "audit" / "results.json"),
                          "--bundle", str(workspace / "bundle"),
                          "--st", str(workspace / "st.yaml"),
                          "--evaluation", str(workspace / "evaluation.yaml")], capsys)
    assert code == ExitCode.PASS, out + err
    assert out.strip().endswith("overall verdict fail)")
    # profile, ST, evaluation input, manifest and the demo bundle's eleven evidence files
    assert "verify: OK (1 checks reproduced, 15 input hashes match" in out


def test_verify_reads_each_evidence_file_once(
        workspace: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The recorded hashes are checked first; the recomputation reuses those digests."""
    import evaltool.cli.report as report_cli
    import evaltool.io.bundle as bundle_io

    hashed: list[str] = []

    def counting(real: Callable[[Path], tuple[str, int]]) -> Callable[[Path], tuple[str, int]]:
        def sha(path: Path) -> tuple[str, int]:
            hashed.append(Path(path).resolve().name)
            return real(path)
        return sha

    monkeypatch.setattr(report_cli, "sha256_file", counting(report_cli.sha256_file))
    monkeypatch.setattr(bundle_io, "sha256_file", counting(bundle_io.sha256_file))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    code, out, err = run(["verify", str(workspace / "out" / "audit" / "results.json"),
                          "--bundle", str(workspace / "bundle"),
                          "--st", str(workspace / "st.yaml"),
                          "--evaluation", str(workspace / "evaluation.yaml")], capsys)
    assert code == ExitCode.PASS, out + err
    evidence = [p.name for p in (workspace / "bundle").iterdir() if p.name != "bundle.yaml"]
    assert len(evidence) >= 8
    assert {name: hashed.count(name) for name in evidence} == dict.fromkeys(evidence, 1)


@pytest.mark.parametrize(("dropped", "role", "option", "name"), [
    ("--st", "security target", "--st", "st.yaml"),
    ("--evaluation", "evaluation input", "--evaluation", "evaluation.yaml"),
])
def test_verify_names_a_recorded_input_that_is_not_given(
        workspace: Path, capsys: pytest.CaptureFixture[str], dropped: str, role: str,
        option: str, name: str) -> None:
    given = {"--st": workspace / "st.yaml", "--evaluation": workspace / "evaluation.yaml"}
    del given[dropped]
    args = ["verify", str(workspace / "out" / "audit" / "results.json"),
            "--bundle", str(workspace / "bundle")]
    for opt, path in given.items():
        args += [opt, str(path)]
    code, out, err = run(args, capsys)
    assert code == ExitCode.BAD_INPUT == 4
    assert out == ""  # nothing recomputed, no difference listed
    sha = hashlib.sha256((workspace / name).read_bytes()).hexdigest()
    assert err.count("\n") == 1, err  # one line
    assert f"the audit used {role} {name} (SHA-256 {sha}), not given: pass it with {option}" in err


def test_verify_refuses_an_input_the_audit_did_not_use(
        workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "plain"
    code, _, _ = run(["audit", str(workspace / "bundle"), "--profile",
                      str(workspace / "profiles" / "mini-profile.yaml"), "--out", str(out_dir),
                      "--format", "json"], capsys)
    assert code == ExitCode.PASS
    code, out, err = run(["verify", str(out_dir / "results.json"),
                          "--bundle", str(workspace / "bundle"),
                          "--st", str(workspace / "st.yaml")], capsys)
    assert code == ExitCode.BAD_INPUT, out + err
    assert "--st st.yaml was given, but the audit used no security target" in err


def test_verify_names_a_profile_it_cannot_find(
        workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.json"  # a copy outside the lab folder, profile not beside it
    shutil.copy(workspace / "out" / "audit" / "results.json", results)
    code, _, err = run(["verify", str(results), "--bundle", str(workspace / "bundle"),
                        "--st", str(workspace / "st.yaml"),
                        "--evaluation", str(workspace / "evaluation.yaml")], capsys)
    assert code == ExitCode.BAD_INPUT
    assert "the audit used profile mini-profile.yaml (SHA-256 " in err
    assert "pass it with --profile" in err


def test_verify_refuses_an_invalid_evaluation_input_like_audit(
        workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "evaluation.yaml"
    bad.write_text(BAD_EVALUATION)
    profile = workspace / "profiles" / "mini-profile.yaml"
    code, _, audit_err = run(["audit", str(workspace / "bundle"), "--profile", str(profile),
                              "--evaluation", str(bad), "--out", str(tmp_path / "a")], capsys)
    assert code == ExitCode.BAD_INPUT
    assert "attestation for A1, which is an automated activity" in audit_err
    # A results file recording that evaluation input, written without the assembly's check (as
    # an older evaltool, or a hand-made record, might have): verify must refuse it the same way.
    valid = prepare_audit(AuditSources(bundle=workspace / "bundle", profile=profile,
                                       evaluation=workspace / "evaluation.yaml"))


    lev = load_evaluation_input(bad)
    inputs = replace(valid.inputs, evaluation_path=bad, evaluation_sha256=lev.sha256)
    result = evaluate(valid.plan, valid.bundle, inputs=inputs, seed=0,
                      command_line=("evaltool", "audit"), evaluation=lev)
    write_outputs(result, tmp_path / "forged", [OutputFormat.JSON])
    code, out, err = run(["verify", str(tmp_path / "forged" / "results.json"), "--bundle",
                          str(workspace / "bundle"), "--profile", str(profile),
                          "--evaluation", str(bad)], capsys)
    assert code == ExitCode.BAD_INPUT, out + err
    assert err == audit_err


def test_audit_reports_its_phase_times_with_debug(
        workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--debug", "audit", str(workspace / "bundle"), "--profile",
                        str(workspace / "profiles" / "mini-profile.yaml"),
                        "--out", str(tmp_path / "o"), "--format", "json"], capsys)
    assert code == ExitCode.PASS
    phases = [line.split(":")[0] for line in err.splitlines() if line.startswith("phase ")]
    assert phases == ["phase load profile", "phase load security target and evaluation input",
                      "phase build plan", "phase load bundle", "phase run checks",
                      "phase write outputs"]
    assert any(line.startswith("slowest activity A1: ") for line in err.splitlines())
    code, _, err = run(["audit", str(workspace / "bundle"), "--profile",
                        str(workspace / "profiles" / "mini-profile.yaml"),
                        "--out", str(tmp_path / "o"), "--format", "json"], capsys)
    assert "phase " not in err
