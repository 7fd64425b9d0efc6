"""Serial campaigns: per-bundle result sets as evaltool audit writes them, faults, resumption."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from evaltool.campaign.executor import SerialExecutor
from evaltool.campaign.plan import plan_campaign
from evaltool.campaign.run import checkpoint_path, run_campaign
from tests.campaign.conftest import (
    ALL_FOUR,
    EPOCH,
    assert_same_as_audit,
    break_table,
    set_temperature,
)


def test_each_bundle_is_byte_identical_to_evaltool_audit(
        run_cli, lab: Path, write_campaign: Callable[..., Path]) -> None:
    path = write_campaign(ALL_FOUR)
    out = lab / "out"
    r = run_cli("campaign", path, "--out", out, "--quiet")
    assert r.exit_code == 1, r.stderr  # caps/b fails
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["verdict"] == "fail"
    assert [(b["label"], b["verdict"]) for b in summary["bundles"]] == [
        ("a", "pass"), ("b", "fail"), ("c", "pass"), ("d", "pass")]
    assert summary["counts"] == {"pass": 3, "fail": 1, "inconclusive": 0, "not-applicable": 0}
    assert summary["executor"] == "serial"
    assert summary["started_at"] == "2026-01-01T00:00:00+00:00"
    junit = (out / "campaign.junit.xml").read_text()
    assert 'tests="4" failures="1" errors="0"' in junit
    assert 'href="bundles/b/report.html"' in (out / "campaign.html").read_text()
    for label in "abcd":
        assert_same_as_audit(run_cli, out, label)


def test_a_unit_that_raises_is_inconclusive_and_the_campaign_goes_on(
        run_cli, lab: Path, write_campaign: Callable[..., Path]) -> None:
    break_table(lab / "caps" / "c")
    path = write_campaign("  - {label: a, path: caps/a}\n  - {label: c, path: caps/c}\n"
                          "  - {label: d, path: caps/d}\n")
    out = lab / "out"
    r = run_cli("campaign", path, "--out", out)
    assert r.exit_code == 3, r.stderr
    summary = json.loads((out / "campaign.json").read_text())
    c = summary["bundles"][1]
    assert c["verdict"] == "inconclusive" and c["results"] is None and c["report"] is None
    assert c["error"].startswith("EvidenceError: ") and "monitors.csv" in c["error"]
    assert summary["bundles"][2]["verdict"] == "pass"  # the unit after the fault ran
    assert not (out / "bundles" / "c").exists() or not any((out / "bundles" / "c").iterdir())
    assert not checkpoint_path(out, "c").exists()
    assert "c: inconclusive (EvidenceError: " in r.stderr
    # With a failed bundle beside it the campaign fails (exit 1).
    path = write_campaign("  - {label: b, path: caps/b}\n  - {label: c, path: caps/c}\n")
    assert run_cli("campaign", path, "--out", lab / "out2", "--quiet").exit_code == 1


class _Interrupted(SerialExecutor):
    """Runs units serially and is interrupted (Ctrl-C) after ``after`` of them."""

    def __init__(self, after: int) -> None:
        self.after = after

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]
            ) -> Iterator[tuple[int, Any]]:
        for n, item in enumerate(super().run(fn, items)):
            if n == self.after:
                raise KeyboardInterrupt
            yield item


class _Recording(SerialExecutor):
    """A serial executor that records the labels it was asked to run."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]
            ) -> Iterator[tuple[int, Any]]:
        self.ran += [item.label for item in items]
        yield from super().run(fn, items)


def test_interrupted_campaign_resumes_without_recomputing_finished_units(
        lab: Path, write_campaign: Callable[..., Path]) -> None:
    path = write_campaign(ALL_FOUR)
    out = lab / "out"
    plan = plan_campaign(path, out, epoch=int(EPOCH))
    with pytest.raises(KeyboardInterrupt):
        run_campaign(plan, _Interrupted(after=2), resume=True)
    assert not (out / "campaign.json").exists()  # no partial summary
    assert [checkpoint_path(out, x).exists() for x in "abcd"] == [True, True, False, False]
    first = {x: (out / "bundles" / x / "results.json").stat().st_mtime_ns for x in "ab"}

    again = _Recording()
    summary = run_campaign(plan_campaign(path, out, epoch=int(EPOCH)), again, resume=True)
    assert again.ran == ["c", "d"]
    assert [b.reused for b in summary.bundles] == [True, True, False, False]
    assert [b.verdict.value for b in summary.bundles] == ["pass", "fail", "pass", "pass"]
    assert {x: (out / "bundles" / x / "results.json").stat().st_mtime_ns for x in "ab"} == first

    # A changed input invalidates its unit only; a tampered output invalidates its unit too.
    set_temperature(lab / "caps" / "a", 3, "-39.7")
    (out / "bundles" / "d" / "report.html").write_text("edited")
    third = _Recording()
    run_campaign(plan_campaign(path, out, epoch=int(EPOCH)), third, resume=True)
    assert third.ran == ["a", "d"]
    # Without --resume everything runs again.
    fourth = _Recording()
    run_campaign(plan_campaign(path, out, epoch=int(EPOCH)), fourth, resume=False)
    assert fourth.ran == ["a", "b", "c", "d"]


def test_resume_after_a_new_tool_version_recomputes(
        lab: Path, write_campaign: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_campaign("  - {label: a, path: caps/a}\n")
    out = lab / "out"
    run_campaign(plan_campaign(path, out), SerialExecutor())
    cp = json.loads(checkpoint_path(out, "a").read_text())
    assert cp["tool_version"] and len(cp["inputs_sha256"]) == 64
    assert set(cp["outputs"]) == {"results.json", "results.junit.xml", "report.html"}
    monkeypatch.setattr("evaltool.campaign.run.__version__", "999.0")
    rec = _Recording()
    run_campaign(plan_campaign(path, out), rec, resume=True)
    assert rec.ran == ["a"]


def test_inputs_changed_after_planning_make_the_bundle_inconclusive(
        lab: Path, write_campaign: Callable[..., Path]) -> None:
    path = write_campaign("  - {label: a, path: caps/a}\n  - {label: d, path: caps/d}\n")
    out = lab / "out"
    plan = plan_campaign(path, out, epoch=int(EPOCH))
    set_temperature(lab / "caps" / "a", 3, "-39.7")  # edited while the campaign waits to run
    summary = run_campaign(plan, SerialExecutor())
    a, d = summary.bundles
    assert a.verdict.value == "inconclusive" and a.results is None
    assert a.error is not None and "read other inputs than were planned" in a.error
    assert not checkpoint_path(out, "a").exists()
    assert d.verdict.value == "pass" and d.error is None
    assert summary.verdict.value == "inconclusive"


def test_cli_resume_reuses_and_reports_it(run_cli, lab: Path,
                                          write_campaign: Callable[..., Path]) -> None:
    path = write_campaign("  - {label: a, path: caps/a}\n  - {label: b, path: caps/b}\n")
    out = lab / "out"
    assert run_cli("campaign", path, "--out", out, "--quiet").exit_code == 1
    r = run_cli("campaign", path, "--out", out, "--resume")
    assert r.exit_code == 1
    assert "a: pass (reused)" in r.stderr and "b: fail (reused)" in r.stderr
    assert "campaign verdict: fail (1 pass, 1 fail, 0 inconclusive, 0 not-applicable bundles)" \
        in r.stderr
    assert r.stdout.strip() == str(out.resolve() / "campaign.json")
    summary = json.loads((out / "campaign.json").read_text())
    assert [b["reused"] for b in summary["bundles"]] == [True, True]
