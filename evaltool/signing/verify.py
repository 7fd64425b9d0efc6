"""Check every signature of a result set against the lab's trust anchors.

For each PAdES signature of ``report.pdf`` and each ``SignerInfo`` of ``results.json.p7s``:
integrity (the signed bytes hash to the signed digest), the signature value, a certification path
from the signer to one of the trust anchors valid at the validation time (the timestamp's time
when the signature has one; RFC 5280 §6), the key usage, the claimed role, and for the PDF that no
later revision changed what was signed (pyHanko's difference analysis). Beyond the signatures, the
``results.json`` embedded in the PDF must be byte-identical to the signed ``results.json``.

Revocation is checked against the revocation data the PDF embeds (its document security store,
levels B-LT and B-LTA) and the certificate revocation lists the lab gives; nothing is fetched.
Whether a certificate is *qualified* is a trust-list decision of the certification body and is not
judged here (``docs/signing.md``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltool.signing._load import load_pyhanko
from evaltool.signing.keys import SigningInputError, load_certificates
from evaltool.signing.roles import (
    REPORT_NAME,
    RESULTS_NAME,
    ROLE_URN_PREFIX,
    ROLES,
    SIGNATURE_NAME,
)

load_pyhanko()


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The outcome for one signature."""

    file: str
    signer: str
    """Subject of the signing certificate (untrusted text: print, never interpret)."""
    role: str | None
    signed_at: str | None
    """Signing time claimed by the signer, ISO 8601."""
    timestamp: str | None
    """Time of a trusted signature timestamp, ISO 8601, when there is one."""
    ok: bool
    reason: str
    """Why it failed (empty when ``ok``)."""


@dataclass(frozen=True, slots=True)
class SignatureReport:
    """Every signature of a result set, and problems that are not one signature's."""

    checks: tuple[SignatureCheck, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when there is at least one signature, all verify and nothing else is wrong."""
        return bool(self.checks) and not self.problems and all(c.ok for c in self.checks)


def _context_kwargs(trust: list[Path], crls: list[Path]) -> dict[str, Any]:
    """Validation settings: the trust anchors, the given CRLs, no fetching; revocation checked
    where data is available (soft-fail: a certificate without revocation data is not refused
    for that alone)."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
             for path in trust for c in load_certificates(path, "trust anchor file")]
    lists = []
    for path in crls:
        try:
            data = path.read_bytes()
            if b"-----BEGIN" in data:
                from cryptography import x509

                data = x509.load_pem_x509_crl(data).public_bytes(serialization.Encoding.DER)
            lists.append(asn1_crl.CertificateList.load(data))
            lists[-1].native  # noqa: B018 (parse now: a damaged file is refused here)
        except (OSError, ValueError) as exc:
            raise SigningInputError(f"not a readable certificate revocation list ({exc})",
                                    path=path) from None
    return {"trust_roots": roots, "crls": lists, "allow_fetching": False,
            "revocation_mode": "soft-fail"}


def _role(status: Any) -> str | None:
    attrs = getattr(status, "cades_signer_attrs", None)
    claimed = getattr(attrs, "claimed_attrs", None)
    if not claimed or "role" not in claimed:
        return None
    for value in claimed["role"].attr_values:
        name = value["role_name"].native
        if isinstance(name, str) and name.startswith(ROLE_URN_PREFIX):
            return name[len(ROLE_URN_PREFIX):]
    return None


def _failure(status: Any, role: str | None) -> str:
    """The first reason a signature fails, in the order a reader would look for it."""
    if not status.intact:
        return "the signed content was changed after signing"
    if not status.valid:
        return "the signature value does not verify"
    if getattr(status, "revoked", False):
        return "the signer's certificate is revoked"
    if not status.trusted:
        return ("no valid certification path to a trust anchor (another root, an expired or "
                "revoked certificate)")
    if getattr(status, "docmdp_ok", True) is False:
        return "a later revision of the PDF changed what was signed"
    if role is None:
        return "no signer role claimed"
    if role not in ROLES:
        return f"unknown signer role {role!r}"
    if not status.bottom_line:
        return "rejected by the validation policy (key usage or modifications)"
    return ""


def _times(status: Any) -> tuple[str | None, str | None]:
    signed = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    ts = status.timestamp_validity
    stamp = ts.timestamp.isoformat() if ts is not None and ts.trusted else None
    return signed, stamp


def _signer(status: Any) -> str:
    cert = getattr(status, "signing_cert", None)
    return str(cert.subject.human_friendly) if cert is not None else "unknown signer"


def _pdf_checks(pdf: Path, kwargs: dict[str, Any]) -> list[SignatureCheck]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError
    from pyhanko_certvalidator import ValidationContext

    out: list[SignatureCheck] = []
    with pdf.open("rb") as f:
        reader = PdfFileReader(f, strict=False)
        try:
            vc = DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
        except NoDSSFoundError:
            vc = ValidationContext(**kwargs)
        out.extend(_document_timestamp(stamp, vc)
                   for stamp in reader.embedded_timestamp_signatures)
        for sig in reader.embedded_regular_signatures:
            status = validate_pdf_signature(sig, vc)
            role = _role(status)
            signed, stamp = _times(status)
            reason = _failure(status, role)
            out.append(SignatureCheck(f"{REPORT_NAME} ({sig.field_name})", _signer(status), role,
                                      signed, stamp, not reason, reason))
    return out


def _document_timestamp(stamp: Any, vc: Any) -> SignatureCheck:
    """A document timestamp (level B-LTA): intact, valid and from a trusted authority."""
    from pyhanko.sign.validation import validate_pdf_timestamp

    status = validate_pdf_timestamp(stamp, validation_context=vc)
    reason = ""
    if not status.intact:
        reason = "the timestamped content was changed"
    elif not status.valid:
        reason = "the timestamp signature does not verify"
    elif not status.trusted:
        reason = "the timestamp authority does not chain to a trust anchor"
    when = status.timestamp.isoformat() if status.timestamp else None
    return SignatureCheck(f"{REPORT_NAME} ({stamp.field_name}, document timestamp)",
                          _signer(status), None, None, when if not reason else None,
                          not reason, reason)


def _cms_checks(p7s: Path, results: bytes, kwargs: dict[str, Any]) -> list[SignatureCheck]:
    from asn1crypto import cms
    from pyhanko.sign.validation import async_validate_detached_cms
    from pyhanko_certvalidator import ValidationContext

    vc = ValidationContext(**kwargs)

    try:
        info = cms.ContentInfo.load(p7s.read_bytes())
        signed_data = info["content"]
        signer_infos = list(signed_data["signer_infos"])
    except (ValueError, TypeError, KeyError, OSError):
        return [SignatureCheck(SIGNATURE_NAME, "unknown signer", None, None, None, False,
                               "not a readable CMS SignedData")]
    out = []
    for i, signer_info in enumerate(signer_infos):
        one = cms.SignedData({
            "version": signed_data["version"],
            "digest_algorithms": signed_data["digest_algorithms"],
            "encap_content_info": signed_data["encap_content_info"],
            "certificates": signed_data["certificates"],
            "signer_infos": [signer_info],
        })
        status = asyncio.run(async_validate_detached_cms(results, one,
                                                         signer_validation_context=vc))
        role = _role(status)
        signed, stamp = _times(status)
        reason = _failure(status, role)
        out.append(SignatureCheck(f"{SIGNATURE_NAME} (signer {i + 1})", _signer(status), role,
                                  signed, stamp, not reason, reason))
    return out


def _embedded_results(pdf: Path) -> bytes | None:
    import pikepdf

    with pikepdf.open(pdf) as doc:
        attached = doc.attachments.get(RESULTS_NAME)
        return None if attached is None else bytes(attached.get_file().read_bytes())


def verify_result_set(out_dir: Path, trust: list[Path], crls: list[Path] | None = None
                      ) -> SignatureReport:
    """Check every signature in ``out_dir`` against the certificates in ``trust`` and the
    revocation lists in ``crls``."""
    kwargs = _context_kwargs(trust, crls or [])
    pdf, results_path, p7s = out_dir / REPORT_NAME, out_dir / RESULTS_NAME, out_dir / SIGNATURE_NAME
    problems: list[str] = []
    checks: list[SignatureCheck] = []
    try:
        results = results_path.read_bytes()
    except OSError as exc:
        raise SigningInputError(f"cannot read {RESULTS_NAME} ({exc.strerror})",
                                path=results_path) from None
    if pdf.is_file():
        checks.extend(_pdf_checks(pdf, kwargs))
        embedded = _embedded_results(pdf)
        if embedded is None:
            problems.append(f"{REPORT_NAME} has no embedded {RESULTS_NAME}")
        elif embedded != results:
            problems.append(f"the {RESULTS_NAME} embedded in {REPORT_NAME} differs from "
                            f"{RESULTS_NAME}")
    if p7s.is_file():
        checks.extend(_cms_checks(p7s, results, kwargs))
    else:
        problems.append(f"no {SIGNATURE_NAME}: {RESULTS_NAME} is not signed")
    if not any(c.file.startswith(REPORT_NAME) for c in checks):
        problems.append(f"{REPORT_NAME} is missing or holds no signature")
    return SignatureReport(tuple(checks), tuple(problems))
