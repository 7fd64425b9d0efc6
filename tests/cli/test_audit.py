"""``evaltool audit`` end to end: exit codes, outputs, schema and reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.support import (
    DEMO_BUNDLE,
    DEMO_EVALUATION,
    HONEST,
    PROFILE,
    rehash_manifest,
    tree_digest,
)


def test_demo_bundle_passes_the_mini_profile(run_cli, mini_profile: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("-q", "audit", DEMO_BUNDLE, "--profile", mini_profile, "--out", out,
                "--format", "json,html,junit")
    assert r.exit_code == 0, r.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["verdict"] == "pass"
    assert data["counts"]["pass"] == 1
    (check,) = data["requirements"][0]["checks"]
    assert check["kind"] == "telemetry.range"
    assert check["evidence"][0]["slot"] == "monitors"
    assert (out / "report.html").is_file() and (out / "results.junit.xml").is_file()


def test_range_violation_exits_1(run_cli, demo_bundle: Path, mini_profile: Path,
                                 tmp_path: Path) -> None:
    monitors = demo_bundle / "monitors.csv"
    lines = monitors.read_text().splitlines()
    header = lines[0].split(",")
    col = header.index("rx_temperature_c")
    row = lines[57].split(",")
    row[col] = "-12.5"
    lines[57] = ",".join(row)
    monitors.write_text("\n".join(lines) + "\n")
    rehash_manifest(demo_bundle)
    out = tmp_path / "out"
    r = run_cli("-q", "audit", demo_bundle, "--profile", mini_profile, "--out", out,
                "--format", "json")
    assert r.exit_code == 1, r.stderr
    check = json.loads((out / "results.json").read_text())["requirements"][0]["checks"][0]
    assert check["verdict"] == "fail"
    # Line 58 of the CSV is data sample 57 (1-based), the one edited above.
    assert "1 of 200 samples" in check["reason"] and "sample 57" in check["reason"]
    assert "-12.5" in check["reason"]


def test_missing_evidence_is_inconclusive_exit_3(run_cli, demo_bundle: Path, mini_profile: Path,
                                                  tmp_path: Path) -> None:
    manifest = demo_bundle / "bundle.yaml"
    text = manifest.read_text().replace("- slot: monitors", "- slot: monitors_elsewhere")
    manifest.write_text(text)
    out = tmp_path / "out"
    r = run_cli("-q", "audit", demo_bundle, "--profile", mini_profile, "--out", out,
                "--format", "json")
    assert r.exit_code == 3, r.stderr
    data = json.loads((out / "results.json").read_text())
    check = data["requirements"][0]["checks"][0]
    assert check["verdict"] == "inconclusive"
    assert "'monitors' is not in the bundle" in check["reason"]
    assert data["verdict"] == "inconclusive"


def test_make_demo_audit_passes_with_exit_0(run_cli, tmp_path: Path) -> None:
    # The audit `make demo` runs: the honest simulated bundle, its ST and the demo attestations.
    before = tree_digest(HONEST)
    out = tmp_path / "out"
    r = run_cli("-q", "audit", HONEST, "--profile", PROFILE, "--st", HONEST / "st.yaml",
                "--evaluation", DEMO_EVALUATION, "--seed", "1", "--out", out, "--format", "json")
    assert r.exit_code == 0, r.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["verdict"] == "pass"
    assert data["counts"]["fail"] == 0 and data["counts"]["inconclusive"] == 0
    assert data["counts"]["pass"] > 100
    assert tree_digest(HONEST) == before


def test_results_validate_against_exported_schema(run_cli, mini_profile: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("-q", "audit", DEMO_BUNDLE, "--profile", mini_profile, "--out", out,
                   "--format", "json").exit_code == 0
    r = run_cli("schema", "results")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    jsonschema.validate(json.loads((out / "results.json").read_text()), schema)


def _audit_json(run_cli, profile: Path, out: Path, seed: str = "7") -> dict:
    r = run_cli("-q", "audit", DEMO_BUNDLE, "--profile", profile, "--out", out, "--format",
                "json", "--seed", seed)
    assert r.exit_code == 0, r.stderr
    return json.loads((out / "results.json").read_text())


def test_same_seed_same_results_apart_from_timestamps(run_cli, mini_profile: Path,
                                                      tmp_path: Path) -> None:
    a = _audit_json(run_cli, mini_profile, tmp_path / "a")
    b = _audit_json(run_cli, mini_profile, tmp_path / "b")
    for d in (a, b):
        d["provenance"].pop("started_at")
        d["provenance"].pop("finished_at")
        d["provenance"]["command_line"] = None
    assert a == b
    assert a["provenance"]["seed"] == 7


def test_source_date_epoch_makes_results_byte_identical(run_cli, mini_profile: Path,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    out = tmp_path / "out"
    _audit_json(run_cli, mini_profile, out)
    first = (out / "results.json").read_bytes()
    _audit_json(run_cli, mini_profile, out)
    assert (out / "results.json").read_bytes() == first
    assert json.loads(first)["provenance"]["started_at"] == "2025-11-24T16:00:00+00:00"


def test_provenance_records_every_input_hash(run_cli, mini_profile: Path, tmp_path: Path) -> None:
    data = _audit_json(run_cli, mini_profile, tmp_path / "o")
    roles = {f["role"]: f["sha256"] for f in data["provenance"]["inputs"]}
    digests = tree_digest(DEMO_BUNDLE)
    assert roles["manifest"] == digests["bundle.yaml"]
    assert roles["evidence:rng"] == digests["rng.bin"]
    assert roles["evidence:monitors"] == digests["monitors.csv"]
    assert len([r for r in roles if r.startswith("evidence:")]) == 11
    assert data["provenance"]["profile_id"] == "mini-profile"


def test_output_inside_bundle_is_refused(run_cli, demo_bundle: Path, mini_profile: Path) -> None:
    r = run_cli("audit", demo_bundle, "--profile", mini_profile, "--out", demo_bundle / "out")
    assert r.exit_code == 2
    assert "inside the bundle" in r.stderr
