"""``evaltool sign`` and ``verify --trust`` (issue 19): PAdES on report.pdf, detached CMS on
results.json, checked against a throw-away PKI and a timestamp authority on loopback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pikepdf
import pytest

from evaltool.errors import ExitCode
from evaltool.signing.keys import SigningMaterial, load_signing_material
from evaltool.signing.sign import Level, sign_result_set
from evaltool.signing.verify import verify_result_set
from tests.signing import pki


def _sign(run_cli, out: Path, pki_files: Path, *extra: str, who: str = "evaluator"):
    args = ["sign", out, "--key", pki_files / f"{who}.key", "--cert", pki_files / f"{who}.pem",
            "--chain", pki_files / "chain.pem", *extra]
    return run_cli(*args)


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALTOOL_KEY_PASSPHRASE", pki.PASSPHRASE.decode())


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.is_file()}


def test_a_signed_set_verifies_and_names_the_role(run_cli, result_set: Path,
                                                 pki_files: Path) -> None:
    r = _sign(run_cli, result_set, pki_files)
    assert r.exit_code == 0, r.stderr
    assert "as evaluator, level B-B" in r.stdout
    report = verify_result_set(result_set, [pki_files / "root.pem"])
    assert report.ok, report
    assert [(c.file.split(" ")[0], c.role, c.ok) for c in report.checks] == [
        ("report.pdf", "evaluator", True), ("results.json.p7s", "evaluator", True)]
    assert all("Eva Luator" in c.signer for c in report.checks)


def test_two_signers_both_reported_with_roles_and_a_timestamp(
        run_cli, result_set: Path, pki_files: Path, tsa_url: str) -> None:
    assert _sign(run_cli, result_set, pki_files, "--tsa", tsa_url).exit_code == 0
    r = _sign(run_cli, result_set, pki_files, "--role", "reviewer", who="reviewer")
    assert r.exit_code == 0, r.stderr
    report = verify_result_set(result_set, [pki_files / "root.pem"])
    assert report.ok, report
    roles = sorted((c.file.split(" ")[0], c.role) for c in report.checks)
    assert roles == [("report.pdf", "evaluator"), ("report.pdf", "reviewer"),
                     ("results.json.p7s", "evaluator"), ("results.json.p7s", "reviewer")]
    stamped = {c.role for c in report.checks if c.timestamp}
    assert stamped == {"evaluator"}  # B-T for the evaluator, B-B for the reviewer


def test_the_signed_pdf_keeps_pdfa3_and_its_attachments(run_cli, result_set: Path,
                                                       pki_files: Path) -> None:
    with pikepdf.open(result_set / "report.pdf") as before:
        names = set(before.attachments)
        part = before.open_metadata().get("pdfaid:part")
    assert _sign(run_cli, result_set, pki_files).exit_code == 0
    with pikepdf.open(result_set / "report.pdf") as after:
        assert set(after.attachments) == names and "results.json" in names
        meta = after.open_metadata()
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == (part, "B")
        assert part == "3"
        assert (result_set / "results.json").read_bytes() == bytes(
            after.attachments["results.json"].get_file().read_bytes())


@pytest.mark.parametrize("target", ["report.pdf", "results.json"])
def test_one_changed_byte_fails_verification(run_cli, result_set: Path, pki_files: Path,
                                             target: str) -> None:
    assert _sign(run_cli, result_set, pki_files).exit_code == 0
    path = result_set / target
    data = bytearray(path.read_bytes())
    i = data.index(b"Example" if target == "results.json" else b"/Producer")
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_result_set(result_set, [pki_files / "root.pem"])
    assert not report.ok
    failed = [c for c in report.checks if not c.ok]
    assert failed, report
    assert any("changed" in c.reason for c in failed) or report.problems


def test_another_root_is_not_trusted(run_cli, result_set: Path, pki_files: Path) -> None:
    assert _sign(run_cli, result_set, pki_files).exit_code == 0
    report = verify_result_set(result_set, [pki_files / "other-root.pem"])
    assert not report.ok
    assert all(not c.ok and "trust anchor" in c.reason for c in report.checks)


def test_a_signer_from_another_root_fails(run_cli, result_set: Path, pki_files: Path) -> None:
    r = run_cli("sign", result_set, "--key", pki_files / "stranger.key",
                "--cert", pki_files / "stranger.pem")
    assert r.exit_code == 0, r.stderr
    report = verify_result_set(result_set, [pki_files / "root.pem"])
    assert [c.ok for c in report.checks] == [False, False]
    assert "trust anchor" in report.checks[0].reason


def test_an_expired_signer_fails_verification(result_set: Path, pki_files: Path,
                                              the_pki: pki.Pki) -> None:
    """``sign`` refuses an expired certificate; one signed with it anyway does not verify."""
    material = SigningMaterial(the_pki.expired.key, the_pki.expired.cert,
                               (the_pki.intermediate.cert,))
    sign_result_set(result_set, material, role="evaluator", level=Level.B_B)
    report = verify_result_set(result_set, [pki_files / "root.pem"])
    assert [c.ok for c in report.checks] == [False, False]
    assert "expired" in report.checks[0].reason


def test_verify_cli_checks_signatures_with_trust(run_cli, result_set: Path,
                                                 pki_files: Path) -> None:
    from tests.support import DEMO_BUNDLE

    assert _sign(run_cli, result_set, pki_files).exit_code == 0
    profile = result_set.parent / "profiles" / "mini-profile.yaml"
    base = ["verify", result_set / "results.json", "--bundle", DEMO_BUNDLE, "--profile", profile]
    r = run_cli(*base, "--trust", pki_files / "root.pem")
    assert r.exit_code == ExitCode.PASS, r.stdout + r.stderr
    assert r.stdout.count("signature: ") == 2 and ": OK" in r.stdout
    assert "as evaluator" in r.stdout
    r = run_cli(*base)
    assert r.exit_code == ExitCode.PASS
    assert "not checked (pass --trust CA.pem)" in r.stdout
    r = run_cli(*base, "--trust", pki_files / "other-root.pem")
    assert r.exit_code == ExitCode.REPORT
    assert "a signature does not verify" in r.stdout
    r = run_cli(*base, "--trust", result_set / "missing.pem")
    assert r.exit_code == ExitCode.BAD_INPUT
    assert len(r.stderr.strip().splitlines()) == 1 and "missing.pem" in r.stderr
    pdf = result_set / "report.pdf"
    data = bytearray(pdf.read_bytes())
    data[data.index(b"/Producer") + 2] ^= 0x01  # one byte inside the signed range
    pdf.write_bytes(bytes(data))
    r = run_cli(*base, "--trust", pki_files / "root.pem")
    assert r.exit_code == ExitCode.REPORT, r.stdout + r.stderr
    assert "report.pdf (evaltool-evaluator) by 'Common Name: Eva Luator" in r.stdout
    assert "FAILED (the signed content was changed after signing)" in r.stdout


@pytest.mark.parametrize(("case", "args", "phrase"), [
    ("wrong passphrase", ["--key", "evaluator.key", "--cert", "evaluator.pem"],
     "wrong passphrase"),
    ("no passphrase", ["--key", "evaluator.key", "--cert", "evaluator.pem"],
     "set its passphrase in EVALTOOL_KEY_PASSPHRASE"),
    ("key of another certificate", ["--key", "reviewer.key", "--cert", "evaluator.pem"],
     "does not belong"),
    ("no signature key usage", ["--key", "encipher_only.key", "--cert", "encipher_only.pem"],
     "key usage"),
    ("expired certificate", ["--key", "expired.key", "--cert", "expired.pem"], "not valid now"),
    ("missing key file", ["--key", "nothing.key", "--cert", "evaluator.pem"], "cannot read"),
])
def test_bad_signing_input_exit_4_one_line_nothing_written(
        run_cli, result_set: Path, pki_files: Path, monkeypatch: pytest.MonkeyPatch,
        case: str, args: list[str], phrase: str) -> None:
    if case == "wrong passphrase":
        monkeypatch.setenv("EVALTOOL_KEY_PASSPHRASE", "wrong")
    if case == "no passphrase":
        monkeypatch.delenv("EVALTOOL_KEY_PASSPHRASE")
    before = _digest(result_set)
    paths = [pki_files / a if i % 2 else a for i, a in enumerate(args)]
    r = run_cli("sign", result_set, *paths)
    assert r.exit_code == ExitCode.BAD_INPUT, (r.exit_code, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert _digest(result_set) == before


def test_missing_report_exit_4(run_cli, result_set: Path, pki_files: Path) -> None:
    (result_set / "report.pdf").unlink()
    before = _digest(result_set)
    r = _sign(run_cli, result_set, pki_files)
    assert r.exit_code == ExitCode.BAD_INPUT
    assert "no report.pdf" in r.stderr
    assert _digest(result_set) == before


def test_an_unreachable_timestamp_authority_leaves_nothing_half_signed(
        run_cli, result_set: Path, pki_files: Path) -> None:
    before = _digest(result_set)
    r = _sign(run_cli, result_set, pki_files, "--tsa", "http://127.0.0.1:9/tsa")
    assert r.exit_code == ExitCode.REPORT, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "signing failed" in r.stderr
    assert _digest(result_set) == before  # no .part file, nothing replaced


def test_report_and_audit_refuse_to_replace_signed_outputs(run_cli, result_set: Path,
                                                           pki_files: Path) -> None:
    from tests.support import DEMO_BUNDLE

    assert _sign(run_cli, result_set, pki_files).exit_code == 0
    before = _digest(result_set)
    elsewhere = result_set.parent / "copy.json"
    elsewhere.write_bytes((result_set / "results.json").read_bytes())
    r = run_cli("report", elsewhere, "--out", result_set, "--format", "json")
    assert r.exit_code == ExitCode.REPORT
    assert "signed outputs (results.json.p7s, report.pdf)" in r.stderr
    profile = result_set.parent / "profiles" / "mini-profile.yaml"
    r = run_cli("audit", DEMO_BUNDLE, "--profile", profile, "--out", result_set,
                "--format", "json")
    assert r.exit_code == ExitCode.REPORT and "--overwrite-signed" in r.stderr
    assert _digest(result_set) == before
    r = run_cli("audit", DEMO_BUNDLE, "--profile", profile, "--out", result_set,
                "--format", "json", "--overwrite-signed")
    assert r.exit_code == ExitCode.PASS, r.stderr
    assert not (result_set / "results.json.p7s").exists()  # a stale signature never stays


def test_pkcs12_bundle_signs(result_set: Path, pki_files: Path, the_pki: pki.Pki,
                             tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    p12 = tmp_path / "evaluator.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"evaluator", the_pki.evaluator.key, the_pki.evaluator.cert,
        [the_pki.intermediate.cert], BestAvailableEncryption(pki.PASSPHRASE)))
    material = load_signing_material(p12, None, None, pki.PASSPHRASE)
    sign_result_set(result_set, material, role="approver")
    report = verify_result_set(result_set, [pki_files / "root.pem"])
    assert report.ok and {c.role for c in report.checks} == {"approver"}


def test_a_revoked_signer_fails_against_the_lab_crl(run_cli, result_set: Path,
                                                    pki_files: Path) -> None:
    """B-B signs without looking at revocation; verify with the CA's CRL refuses the signer."""
    assert _sign(run_cli, result_set, pki_files, who="revoked").exit_code == 0
    clean = verify_result_set(result_set, [pki_files / "root.pem"],
                              [pki_files / "root.crl"])
    assert clean.ok  # the root's CRL does not list it
    report = verify_result_set(result_set, [pki_files / "root.pem"],
                               [pki_files / "intermediate.crl"])
    assert [c.ok for c in report.checks] == [False, False]
    assert all(c.reason == "the signer's certificate is revoked" for c in report.checks)


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_embed_revocation_data_and_verify_offline(
        run_cli, result_set: Path, pki_files: Path, tsa_url: str, level: str) -> None:
    r = _sign(run_cli, result_set, pki_files, "--tsa", tsa_url, "--level", level,
              "--trust", pki_files / "root.pem")
    assert r.exit_code == 0, r.stderr
    with pikepdf.open(result_set / "report.pdf") as pdf:
        dss = pdf.Root.DSS
        assert len(dss.CRLs) >= 1 and len(dss.Certs) >= 2
        doc_timestamps = [f for f in pdf.Root.AcroForm.Fields
                          if f.get("/V") is not None and f.V.get("/Type") == "/DocTimeStamp"]
        assert len(doc_timestamps) == (1 if level == "B-LTA" else 0)
        assert pdf.open_metadata().get("pdfaid:part") == "3"
    report = verify_result_set(result_set, [pki_files / "root.pem"])  # nothing fetched
    assert report.ok, report
    assert all(c.timestamp for c in report.checks)


def test_long_term_signing_refuses_a_revoked_signer(run_cli, result_set: Path, pki_files: Path,
                                                    tsa_url: str) -> None:
    before = _digest(result_set)
    r = _sign(run_cli, result_set, pki_files, "--tsa", tsa_url, "--level", "B-LT",
              "--trust", pki_files / "root.pem", who="revoked")
    assert r.exit_code == ExitCode.BAD_INPUT, r.stderr
    assert "revoked" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _digest(result_set) == before


def test_long_term_levels_need_trust_and_a_tsa(run_cli, result_set: Path,
                                               pki_files: Path, tsa_url: str) -> None:
    r = _sign(run_cli, result_set, pki_files, "--tsa", tsa_url, "--level", "B-LT")
    assert r.exit_code == ExitCode.BAD_INPUT and "--trust" in r.stderr
    r = _sign(run_cli, result_set, pki_files, "--level", "B-T")
    assert r.exit_code == ExitCode.BAD_INPUT and "--tsa" in r.stderr


def test_pdfa_self_check_on_the_unsigned_and_signed_report(run_cli, result_set: Path,
                                                           pki_files: Path, tsa_url: str) -> None:
    from evaltool.report.pdf.pdfa import pdfa_problems

    assert pdfa_problems(result_set / "report.pdf") == []
    assert _sign(run_cli, result_set, pki_files, "--tsa", tsa_url, "--level", "B-LTA",
                 "--trust", pki_files / "root.pem").exit_code == 0
    assert pdfa_problems(result_set / "report.pdf") == []


def test_pdfa_self_check_finds_javascript_and_a_loose_attachment(result_set: Path,
                                                                 tmp_path: Path) -> None:
    from evaltool.report.pdf.pdfa import pdfa_problems

    bad = tmp_path / "bad.pdf"
    with pikepdf.open(result_set / "report.pdf") as pdf:
        pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))
        pdf.attachments["extra.txt"] = pikepdf.AttachedFileSpec(pdf, b"extra",
                                                                mime_type="text/plain")
        loose = pdf.attachments["extra.txt"].obj
        del loose.AFRelationship  # pikepdf states one and lists the file: undo both
        pdf.Root.AF = pikepdf.Array([f for f in pdf.Root.AF if f.get("/F") != "extra.txt"])
        del pdf.Root.OutputIntents
        pdf.save(bad)
    problems = pdfa_problems(bad)
    assert "no output intent" in problems
    assert any("JavaScript action" in p for p in problems)
    assert "attachment extra.txt states no AFRelationship" in problems
    assert "attachment extra.txt is not listed in the catalogue's AF array" in problems


def test_signed_files_keep_ordinary_permissions(run_cli, result_set: Path,
                                                pki_files: Path) -> None:
    """The signed report and signature are readable like the other outputs (written through the
    same atomic writer), not owner-only like a temporary file."""
    assert _sign(run_cli, result_set, pki_files).exit_code == 0
    mode = (result_set / "results.json").stat().st_mode & 0o777
    assert (result_set / "report.pdf").stat().st_mode & 0o777 == mode
    assert (result_set / "results.json.p7s").stat().st_mode & 0o777 == mode


def test_the_signed_file_names_are_the_outputs_names() -> None:
    from evaltool.report.outputs import OUTPUT_NAMES, OutputFormat
    from evaltool.signing.roles import REPORT_NAME, RESULTS_NAME

    outputs = (OUTPUT_NAMES[OutputFormat.PDF], OUTPUT_NAMES[OutputFormat.JSON])
    assert outputs == (REPORT_NAME, RESULTS_NAME)
