"""``evaltool report`` re-renders stored results; ``evaltool verify`` recomputes and reports any
difference, including a one-byte edit of an input or of results.json (issue 8 item 4)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from evaltool.cli.report import diff, report, verify
from evaltool.errors import ExitCode
from evaltool.report.canonical import DIGEST_NAME, ResultsFileError, digest_line
from evaltool.report.outputs import OUTPUT_NAMES
from tests.report.conftest import EPOCH, mini_profile_file, run_demo_audit
from tests.support import DEMO_BUNDLE


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(bundle, profile, out) of one audit of a private copy of the demo bundle."""
    base = tmp_path_factory.mktemp("audited")
    bundle = base / "bundle"
    shutil.copytree(DEMO_BUNDLE, bundle)
    profile = mini_profile_file(base / "profiles")
    out = base / "out"
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        run_demo_audit(out, profile, bundle=bundle)
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    yield bundle, profile, out


@pytest.fixture
def copy(audited: tuple[Path, Path, Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of the audited bundle, profile and outputs (tests may edit them)."""
    bundle, profile, out = audited
    b, p, o = tmp_path / "bundle", tmp_path / "profile.yaml", tmp_path / "out"
    shutil.copytree(bundle, b)
    shutil.copy(profile, p)
    shutil.copytree(out, o)
    return b, p, o


def run_verify(results: Path, bundle: Path, profile: Path) -> tuple[int, str]:
    res = CliRunner().invoke(verify, [str(results), "--bundle", str(bundle), "--profile",
                                      str(profile)])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.output


def flip_byte(path: Path) -> None:
    """Change one byte in the middle of ``path`` (keeping it printable ASCII)."""
    data = bytearray(path.read_bytes())
    i = len(data) // 2
    while not (0x30 <= data[i] <= 0x39 or 0x41 <= data[i] <= 0x5A or 0x61 <= data[i] <= 0x7A):
        i += 1
    data[i] = data[i] + 1 if data[i] not in (0x39, 0x5A, 0x7A) else data[i] - 1
    path.write_bytes(bytes(data))


def test_verify_reproduces_an_untouched_audit(audited: tuple[Path, Path, Path]) -> None:
    bundle, profile, out = audited
    code, output = run_verify(out / "results.json", bundle, profile)
    assert code == ExitCode.PASS, output
    assert output.strip().splitlines()[-1].startswith("verify: OK (1 checks reproduced")


@pytest.mark.parametrize("name", ["bundle.yaml", "monitors.csv", "rng.bin", "PROFILE"])
def test_verify_reports_a_one_byte_edit_of_any_input(name: str,
                                                     copy: tuple[Path, Path, Path]) -> None:
    bundle, profile, out = copy
    target = profile if name == "PROFILE" else bundle / name
    flip_byte(target)
    code, output = run_verify(out / "results.json", bundle, profile)
    assert code == ExitCode.BAD_INPUT == 4, output
    shown = "mini-profile.yaml" if name == "PROFILE" else name
    changed = [line for line in output.splitlines() if line.startswith("input changed:")]
    assert len(changed) == 1 and shown in changed[0] and "SHA-256 mismatch" in changed[0], output


def test_verify_reports_a_one_byte_edit_of_a_value_in_results(
        copy: tuple[Path, Path, Path]) -> None:
    bundle, profile, out = copy
    results = out / "results.json"
    text = results.read_text()
    # The demo's observed maximum rx temperature, -39.9563 (test_vectors/demo/bundle/monitors.csv)
    assert '"value": -39.9563' in text
    results.write_text(text.replace('"value": -39.9563', '"value": -39.9564', 1))
    code, output = run_verify(results, bundle, profile)
    assert code == ExitCode.REPORT == 5, output
    assert "does not match its recorded digest" in output
    assert "recorded -39.9564, recomputed -39.9563" in output


def test_verify_catches_an_edit_even_when_the_digest_is_rewritten(
        copy: tuple[Path, Path, Path]) -> None:
    bundle, profile, out = copy
    results = out / "results.json"
    data = results.read_bytes().replace(b'"value": -39.9563', b'"value": -39.9564', 1)
    results.write_bytes(data)
    (out / DIGEST_NAME).write_bytes(digest_line(data))
    code, output = run_verify(results, bundle, profile)
    assert code == ExitCode.REPORT, output
    assert "digest" not in output  # the digest matches: the recomputation catches the edit
    assert "recorded -39.9564, recomputed -39.9563" in output


def test_verify_rejects_an_edited_verdict(copy: tuple[Path, Path, Path]) -> None:
    bundle, profile, out = copy
    results = out / "results.json"
    data = json.loads(results.read_text())
    data["requirements"][0]["checks"][0]["verdict"] = "fail"
    results.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    code, output = run_verify(results, bundle, profile)
    assert code == ExitCode.REPORT, output
    assert "disagrees with the checks it summarises" in output


def test_verify_rejects_a_whitespace_edit(copy: tuple[Path, Path, Path]) -> None:
    bundle, profile, out = copy
    results = out / "results.json"
    results.write_bytes(results.read_bytes().replace(b"\n", b" \n", 1))
    code, output = run_verify(results, bundle, profile)
    assert code == ExitCode.REPORT, output
    assert "not in the canonical form" in output and "recorded digest" in output


def test_report_re_renders_every_output_identically(audited: tuple[Path, Path, Path],
                                                    tmp_path: Path) -> None:
    _, _, out = audited
    res = CliRunner().invoke(report, [str(out / "results.json"), "--out", str(tmp_path / "re")])
    assert res.exit_code == 0, res.output
    for name in OUTPUT_NAMES.values():
        assert (tmp_path / "re" / name).read_bytes() == (out / name).read_bytes(), name


def test_report_refuses_results_that_do_not_match_their_digest(
        copy: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, _, out = copy
    flip_byte(out / "results.json")
    res = CliRunner().invoke(report, [str(out / "results.json"), "--out", str(tmp_path / "re"),
                                      "--format", "html"])
    assert isinstance(res.exception, ResultsFileError)
    assert res.exception.exit_code == ExitCode.BAD_INPUT
    assert not (tmp_path / "re" / "report.html").exists()


def test_report_refuses_to_overwrite_the_folder_it_reads(audited: tuple[Path, Path, Path]
                                                          ) -> None:
    from evaltool.errors import UsageError

    _, _, out = audited
    before = (out / "results.json").read_bytes()
    res = CliRunner().invoke(report, [str(out / "results.json"), "--out", str(out)])
    assert isinstance(res.exception, UsageError)
    assert (out / "results.json").read_bytes() == before


def test_diff_names_paths_and_ignores_volatile_fields() -> None:
    a = {"provenance": {"started_at": "x", "seed": 1}, "requirements": [{"v": 1}, {"v": 2}]}
    b = {"provenance": {"started_at": "y", "seed": 1}, "requirements": [{"v": 1}, {"v": 3}]}
    assert list(diff(a, b)) == ["requirements[1].v: recorded 2, recomputed 3"]
    assert list(diff({"a": [1]}, {"a": [1, 2]})) == ["a: 1 items recorded, 2 recomputed"]
