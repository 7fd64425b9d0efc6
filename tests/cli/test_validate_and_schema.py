"""``evaltool validate``, ``checks`` and ``schema``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import DEMO_BUNDLE, MINI_PROFILE, REPO


def test_validate_profile_and_bundle(run_cli, mini_profile: Path) -> None:
    r = run_cli("validate", mini_profile, DEMO_BUNDLE)
    assert r.exit_code == 0, r.stderr
    assert "valid profile mini-profile 1.0" in r.stdout
    assert "valid bundle (11 evidence files)" in r.stdout


def test_unknown_kind_suggests_the_near_miss_with_position(run_cli, tmp_path: Path) -> None:
    p = tmp_path / "typo.yaml"
    p.write_text(MINI_PROFILE.replace("kind: telemetry.range", "kind: telemetry.rnage"))
    r = run_cli("validate", p)
    assert r.exit_code == 4
    line = r.stderr.strip()
    assert "typo.yaml:23:17" in line, line
    assert "unknown check kind 'telemetry.rnage' (did you mean 'telemetry.range'" in line


def test_bad_check_parameter_names_the_parameter(run_cli, tmp_path: Path) -> None:
    p = tmp_path / "param.yaml"
    p.write_text(MINI_PROFILE.replace("column: rx_temperature_c", "colum: rx_temperature_c"))
    r = run_cli("validate", p)
    assert r.exit_code == 4
    assert "param.yaml:24:42" in r.stderr and "colum: unknown parameter" in r.stderr


def test_checks_lists_parameters_as_json(run_cli) -> None:
    r = run_cli("checks", "--json")
    assert r.exit_code == 0
    kinds = {c["kind"]: c for c in json.loads(r.stdout)}
    rng = kinds["telemetry.range"]
    assert set(rng) == {"kind", "summary", "standard_ref", "params"}
    assert rng["params"]["slot"]["required"] is True
    assert rng["params"]["max_violations"]["default"] == 0
    # Optional parameters show the type they take, with bounds, not "any".
    tvla = kinds["leakage.tvla"]["params"]
    assert tvla["family_alpha"]["type"] == "number > 0 and < 1, or null"
    assert tvla["orders"]["type"] == "list of integer (at least 1)"


def test_check_catalogue_in_docs_is_current(run_cli) -> None:
    r = run_cli("checks", "--markdown")
    assert r.exit_code == 0
    shipped = (REPO / "docs" / "checks.md").read_text(encoding="utf-8")
    assert r.stdout == shipped, (
        "docs/checks.md is stale: regenerate with `evaltool checks --markdown > docs/checks.md`")
    assert "## `sp800-90b.min-entropy`" in shipped
    assert "| `slot` | string | *required* |" in shipped


def test_bundle_schema_export_matches_docs(run_cli) -> None:
    r = run_cli("schema", "bundle")
    assert r.exit_code == 0
    shipped = REPO / "docs" / "schemas" / "bundle.schema.json"
    assert json.loads(r.stdout) == json.loads(shipped.read_text()), (
        "docs/schemas/bundle.schema.json is stale: regenerate with `evaltool schema bundle`")


def test_unknown_command_is_usage_error(run_cli) -> None:
    r = run_cli("audit", "--nope")
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr
