"""Safe rendering (issue 8 item 5): untrusted strings render as inert text; the PDF renderer reads
nothing but ``data:`` URLs and files evaltool wrote into the output folder."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
import zlib
from pathlib import Path

import pypdf
import pytest

from evaltool.errors import ExitCode, ReportError
from evaltool.model.results import EvaluationResult, RequirementResult
from evaltool.model.verdict import Verdict
from evaltool.report.canonical import results_json, sha256_hex
from evaltool.report.html import render_html
from evaltool.report.outputs import OutputFormat, write_outputs
from evaltool.report.pdf import allowed_file, confined_fetcher, render_pdf
from tests.report.conftest import make_check, make_result, mini_profile_file, run_demo_audit
from tests.support import DEMO_BUNDLE, rehash_manifest

pytestmark = pytest.mark.pdf


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, bytes]:
    """A local file whose bytes must never reach a report."""
    marker = b"SECRET-" + secrets.token_hex(16).encode()
    path = tmp_path / "private" / "passwd"
    path.parent.mkdir()
    path.write_bytes(marker + b"\n")
    return path, marker


def hostile_strings(secret_path: Path) -> list[str]:
    uri = secret_path.as_uri()
    return [
        "<script>alert(1)</script>",
        f'<img src="{uri}">',
        f'<div style="background: url({uri})">x</div>',
        f'<style>@import url("{uri}");</style>',
        f'<link rel="attachment" href="{uri}">',
        f"</td></tr></table><object data='{uri}'></object>",
    ]


def all_pdf_bytes(path: Path) -> bytes:
    """The PDF file plus every decompressed stream in it (text, fonts, attachments)."""
    raw = path.read_bytes()
    parts = [raw]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", raw, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    reader = pypdf.PdfReader(path)
    for contents in reader.attachments.values():
        parts.extend(contents)
    return b"\n".join(parts)


def assert_no_secret(out: Path, marker: bytes) -> None:
    for f in out.rglob("*"):  # the outputs and the result set's manifest
        if f.is_file():
            assert marker not in f.read_bytes(), f.name
    assert marker not in all_pdf_bytes(out / "report.pdf")


def test_hostile_manifest_renders_as_inert_text(tmp_path: Path,
                                               secret: tuple[Path, bytes]) -> None:
    secret_path, marker = secret
    bundle = tmp_path / "bundle"
    shutil.copytree(DEMO_BUNDLE, bundle)
    hostile = hostile_strings(secret_path)
    manifest = bundle / "bundle.yaml"
    text = manifest.read_text()

    def quoted(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    text = text.replace("vendor: Example Quantum Ltd", f"vendor: {quoted(hostile[1])}", 1)
    text = text.replace("product: EQ-QKD 1000", f"product: {quoted(hostile[0])}", 1)
    text = text.replace("serial: TX-0001", f"serial: {quoted(hostile[2])}", 1)
    text = text.replace("serial: RX-0001", f"serial: {quoted(hostile[3])}", 1)
    manifest.write_text(text)
    with (bundle / "audit.jsonl").open("a") as f:
        f.write('{"event": "note", "time_s": 19.0, "user": ' + quoted(hostile[4]) + "}\n")
    rehash_manifest(bundle)
    out = tmp_path / "out"
    run_demo_audit(out, mini_profile_file(tmp_path / "profiles"), bundle=bundle)
    html = (out / "report.html").read_text()
    assert "<script" not in html and "<img" not in html and "<link" not in html
    assert html.count("<style>") == 1 and "@import" not in html.split("</style>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_no_secret(out, marker)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(out / "report.pdf").pages)
    assert "<script>alert(1)</script>" in text  # shown, as text
    assert 'src="file:' in text.replace("\n", "")


def test_hostile_check_text_and_a_10_mb_string(tmp_path: Path,
                                              secret: tuple[Path, bytes]) -> None:
    secret_path, marker = secret
    hostile = hostile_strings(secret_path)
    huge = "A" * (10 * 1024 * 1024)
    check = make_check("FPT_TST.1", 1, Verdict.FAIL, reason=" ".join(hostile),
                       notes=(huge, *hostile), evidence_path=hostile[1])
    result = make_result(vendor=hostile[5], requirements=(RequirementResult(
        requirement_id="FPT_TST.1", title=hostile[3], checks=(check,)),))
    out = tmp_path / "out"
    t0 = time.perf_counter()
    write_outputs(result, out, list(OutputFormat))
    elapsed = time.perf_counter() - t0
    html = (out / "report.html").read_text()
    assert len(html) < 200_000  # the 10 MB note is clipped in the report ...
    assert huge in (out / "results.json").read_text()  # ... and kept whole in the results
    assert "<script" not in html and "<object" not in html
    assert_no_secret(out, marker)
    assert len(pypdf.PdfReader(out / "report.pdf").pages) < 20
    assert elapsed < 120


def test_every_request_of_a_normal_render_stays_in_the_output_folder(
        synthetic: EvaluationResult, tmp_path: Path) -> None:
    from evaltool.report.plots import plot_series

    out = tmp_path / "out"
    out.mkdir()
    (out / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" '
                                  'height="4"><rect width="4" height="4"/></svg>')
    html = render_html(synthetic, results_sha256=sha256_hex(results_json(synthetic)),
                       plot=plot_series)
    html = html.replace("</body>", '<img src="logo.svg" alt="logo"></body>')
    fetcher = confined_fetcher(out)
    render_pdf(html, out, fetcher=fetcher)
    assert fetcher.refused == []
    assert len(fetcher.requested) == 3  # two plots and the logo the test wrote into out/
    for url in fetcher.requested:
        assert url.startswith("data:image/svg+xml") or url == (out / "logo.svg").resolve().as_uri()


@pytest.mark.parametrize("snippet", [
    '<img src="{uri}">',
    '<link rel="attachment" href="{uri}">',
    '<style>@import url("{uri}");</style>',
    '<div style="background: url({uri})">x</div>',
    '<img src="http://127.0.0.1:9/x.png">',
])
def test_raw_hostile_html_fails_the_render_without_reading(snippet: str, tmp_path: Path,
                                                           secret: tuple[Path, bytes]) -> None:
    secret_path, marker = secret
    out = tmp_path / "out"
    out.mkdir()
    html = f"<html><body><p>x</p>{snippet.format(uri=secret_path.as_uri())}</body></html>"
    fetcher = confined_fetcher(out)
    with pytest.raises(ReportError) as info:
        render_pdf(html, out, fetcher=fetcher)
    assert info.value.exit_code == ExitCode.REPORT == 5
    assert len(fetcher.refused) == 1
    assert marker not in str(info.value).encode()


def test_fetcher_allows_only_regular_files_inside_the_folder(tmp_path: Path,
                                                             secret: tuple[Path, bytes]) -> None:
    secret_path, _ = secret
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    inside = out / "sub" / "plot.svg"
    inside.write_text("<svg/>")
    link = out / "link.svg"
    link.symlink_to(secret_path)
    assert allowed_file(out, inside.as_uri()) == inside.resolve()
    assert allowed_file(out, secret_path.as_uri()) is None
    assert allowed_file(out, link.as_uri()) is None
    assert allowed_file(out, (out / "sub").as_uri()) is None
    assert allowed_file(out, f"file://{out}/sub/../../private/passwd") is None
    assert allowed_file(out, f"file://{out}/sub/plot.svg?x=1") is None
    assert allowed_file(out, f"file://otherhost{inside}") is None
    assert allowed_file(out, "http://127.0.0.1/x.svg") is None


def test_isolated_render_matches_and_limits_stop_a_runaway(synthetic: EvaluationResult,
                                                           tmp_path: Path) -> None:
    from evaltool.report.pdf import RenderLimits, render_pdf_isolated

    out = tmp_path / "out"
    out.mkdir()
    html = render_html(synthetic, results_sha256="0" * 64)
    assert render_pdf_isolated(html, out) == render_pdf(html, out)
    # 64 MiB of address space cannot even hold the renderer: the child dies, the parent reports.
    with pytest.raises(ReportError) as info:
        render_pdf_isolated(html, out, limits=RenderLimits(memory_bytes=64 << 20))
    assert info.value.exit_code == ExitCode.REPORT


def test_isolated_render_reports_a_refused_resource(tmp_path: Path,
                                                    secret: tuple[Path, bytes]) -> None:
    from evaltool.report.pdf import render_pdf_isolated

    secret_path, marker = secret
    out = tmp_path / "out"
    out.mkdir()
    html = f'<html><body><img src="{secret_path.as_uri()}"></body></html>'
    with pytest.raises(ReportError) as info:
        render_pdf_isolated(html, out)
    assert "not allowed" in str(info.value) and secret_path.name in str(info.value)
    assert marker not in str(info.value).encode()
    assert list(out.iterdir()) == []


def test_a_renderer_started_ahead_is_stopped_when_not_needed() -> None:
    from evaltool.report.pdf import IsolatedRenderer

    renderer = IsolatedRenderer()
    pid = renderer._proc.pid
    renderer.close()
    assert renderer._proc.returncode is not None  # killed and reaped, no stray process
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
