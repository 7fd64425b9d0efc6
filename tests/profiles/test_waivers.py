"""Waivers and attestations of the evaluation input (issue 3 item 5).

A waived failure stays ``fail`` with ``waived_by`` and a "fail (waived)" note; an expired waiver is
ignored with a note; attestations decide manual activities; an evaluation input naming activities
or requirements the profile lacks is rejected with its line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import DEMO_BUNDLE, rehash_manifest

PROFILE = """\
schema_version: 1
id: waiver-profile
title: Profile for waiver tests
version: "1.0"
threats:
  - {id: T.ONE, title: A threat}
objectives:
  - {id: O.ONE, title: An objective, addresses: [T.ONE], sfrs: [FPT_TST.1, FPT_PHP.3]}
sfrs:
  - id: FPT_TST.1
    title: TSF testing
    elements:
      - id: FPT_TST.1.1
        text: Detector temperature stays at or below -30 C.
        activities:
          - id: TST-A1
            title: Temperature range
            method: automated
            checks:
              - kind: telemetry.range
                params: {slot: monitors, column: rx_temperature_c, max: -30}
  - id: FPT_PHP.3
    title: Resistance to physical attack
    elements:
      - id: FPT_PHP.3.1
        text: Opening the enclosure destroys keys.
        activities:
          - {id: PHP-A1, title: Zeroisation on tamper, method: manual}
"""


def _evaluation(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "evaluation.yaml"
    path.write_text("schema_version: 1\nlab: Test Lab\n" + body)
    return path


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    p = tmp_path / "waiver-profile.yaml"
    p.write_text(PROFILE)
    return p


@pytest.fixture
def hot_bundle(demo_bundle: Path) -> Path:
    """The demo bundle with one detector-temperature sample at -12.5 C (FPT_TST.1 fails)."""
    monitors = demo_bundle / "monitors.csv"
    lines = monitors.read_text().splitlines()
    col = lines[0].split(",").index("rx_temperature_c")
    row = lines[10].split(",")
    row[col] = "-12.5"
    lines[10] = ",".join(row)
    monitors.write_text("\n".join(lines) + "\n")
    rehash_manifest(demo_bundle)
    return demo_bundle


def _audit(run_cli, bundle: Path, profile: Path, evaluation: Path, out: Path):
    r = run_cli("-q", "audit", bundle, "--profile", profile, "--evaluation", evaluation,
                "--out", out, "--format", "json")
    data = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() \
        else None
    return r, data


def _check(data: dict, activity: str) -> dict:
    return next(c for r in data["requirements"] for c in r["checks"]
                if c["activity_id"] == activity)


WAIVER = """\
waivers:
  - id: WV-1
    requirement: FPT_TST.1
    approver: J. Weiss
    rationale: The hot spot is a known sensor fault under repair.
    risk: medium
    granted: 2026-01-10
    expires: {expires}
"""
ATTEST = """\
attestations:
  - activity: PHP-A1
    evaluator: M. Tanaka
    date: 2026-03-02
    verdict: {verdict}
    rationale: Opening the lid zeroised the key store.
    evidence: PHY-03
"""


def test_waived_failure_stays_fail(run_cli, profile: Path, hot_bundle: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780272000")  # 2026-06-01 00:00 UTC
    ev = _evaluation(tmp_path, ATTEST.format(verdict="pass") + WAIVER.format(expires="2026-06-01"))
    r, data = _audit(run_cli, hot_bundle, profile, ev, tmp_path / "out")
    assert r.exit_code == 1, r.stderr
    check = _check(data, "TST-A1")
    assert check["verdict"] == "fail"
    assert check["waived_by"] == "WV-1"
    assert any(n.startswith("fail (waived): waiver WV-1 approved by J. Weiss, risk medium")
               for n in check["notes"])
    assert data["verdict"] == "fail"
    assert data["traceability"][0]["verdict"] == "fail"  # O.ONE


def test_expired_waiver_is_ignored_with_a_note(run_cli, profile: Path, hot_bundle: Path,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780272000")  # 2026-06-01: expired the day before
    ev = _evaluation(tmp_path, ATTEST.format(verdict="pass") + WAIVER.format(expires="2026-05-31"))
    r, data = _audit(run_cli, hot_bundle, profile, ev, tmp_path / "out")
    assert r.exit_code == 1, r.stderr
    check = _check(data, "TST-A1")
    assert check["verdict"] == "fail" and check["waived_by"] is None
    assert "waiver WV-1 expired on 2026-05-31 and was ignored" in check["notes"]


def test_waiver_does_not_touch_a_pass(run_cli, profile: Path, tmp_path: Path) -> None:
    ev = _evaluation(tmp_path, ATTEST.format(verdict="pass") + WAIVER.format(expires="2099-01-01"))
    r, data = _audit(run_cli, DEMO_BUNDLE, profile, ev, tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    assert _check(data, "TST-A1")["waived_by"] is None


@pytest.mark.parametrize(("verdict", "exit_code"), [("pass", 0), ("fail", 1),
                                                    ("inconclusive", 3)])
def test_attestation_decides_the_manual_activity(run_cli, profile: Path, tmp_path: Path,
                                                 verdict: str, exit_code: int) -> None:
    ev = _evaluation(tmp_path, ATTEST.format(verdict=verdict))
    r, data = _audit(run_cli, DEMO_BUNDLE, profile, ev, tmp_path / "out")
    assert r.exit_code == exit_code, r.stderr
    check = _check(data, "PHP-A1")
    assert check["verdict"] == verdict
    assert check["reason"] == "Opening the lid zeroised the key store."
    assert check["notes"] == ["attested by M. Tanaka on 2026-03-02; evidence: PHY-03"]


def test_missing_attestation_is_inconclusive(run_cli, profile: Path, tmp_path: Path) -> None:
    ev = _evaluation(tmp_path, "attestations: []\n")
    r, data = _audit(run_cli, DEMO_BUNDLE, profile, ev, tmp_path / "out")
    assert r.exit_code == 3, r.stderr
    assert _check(data, "PHP-A1")["reason"] == "manual activity awaiting an evaluator attestation"


@pytest.mark.parametrize(("body", "line", "message"), [
    (ATTEST.format(verdict="pass").replace("PHP-A1", "PHP-A2"), 4,
     "attestation for unknown activity 'PHP-A2' of profile waiver-profile (did you mean "
     "'PHP-A1'?)"),
    (ATTEST.format(verdict="pass").replace("PHP-A1", "TST-A1"), 4,
     "attestation for TST-A1, which is an automated activity"),
    (WAIVER.format(expires="2099-01-01").replace("FPT_TST.1", "FPT_TST.2"), 5,
     "waiver WV-1 names unknown requirement 'FPT_TST.2'"),
    (ATTEST.format(verdict="pass") + ATTEST.format(verdict="fail").replace("attestations:\n", ""),
     10, "second attestation for PHP-A1"),
])
def test_evaluation_input_checked_against_the_profile(run_cli, profile: Path, tmp_path: Path,
                                                      body: str, line: int, message: str) -> None:
    ev = _evaluation(tmp_path, body)
    r = run_cli("validate", profile, ev)
    assert r.exit_code == 4, r.stdout
    assert f"{ev}:{line}:" in r.stderr
    assert message in r.stderr


def test_waiver_expiring_before_grant_is_rejected(run_cli, tmp_path: Path) -> None:
    ev = _evaluation(tmp_path, WAIVER.format(expires="2026-01-01"))
    r = run_cli("validate", ev)
    assert r.exit_code == 4
    assert f"{ev}:4:" in r.stderr and "waiver expires before it is granted" in r.stderr
