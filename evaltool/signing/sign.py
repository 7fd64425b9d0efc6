"""Sign a result set: PAdES on ``report.pdf``, detached CAdES on ``results.json``.

* The PDF signature is an incremental update (ISO 32000-2 §12.8; PAdES baseline, ETSI EN 319 142-1
  §6.3): the signed bytes are the original file unchanged plus a new revision, so earlier
  signatures, the PDF/A-3 identification and the associated files stay as they were. A second
  signer adds a second revision.
* ``results.json.p7s`` is a DER ``ContentInfo``/``SignedData`` without the content (detached, RFC
  5652 §5), with one ``SignerInfo`` per signer: a second signer adds its ``SignerInfo`` and
  certificates to the same structure.
* Every signature carries the signer's claimed role (signer-attributes-v2, ETSI EN 319 122-1
  §5.2.6.1) and, from level B-T on, a signature timestamp from the lab's timestamp authority
  (RFC 3161).

Both files are first written next to the originals and then renamed over them, the PDF last, so an
interrupted run leaves either the earlier outputs or the signed ones (``docs/signing.md``).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from evaltool.errors import ReportError
from evaltool.report.outputs import MANAGED_NAMES, hold_folder
from evaltool.report.resultset import COMMIT_NAME, OutputFolder
from evaltool.signing._load import load_pyhanko
from evaltool.signing.keys import SigningInputError, SigningMaterial
from evaltool.signing.roles import (
    REPORT_NAME,
    RESULTS_NAME,
    ROLE_URN_PREFIX,
    ROLES,
    SIGNATURE_NAME,
)

load_pyhanko()


class Level(StrEnum):
    """PAdES/CAdES baseline levels (ETSI EN 319 142-1 §6, EN 319 122-1 §6)."""

    B_B = "B-B"
    """Basic signature: signer certificate and signed attributes."""
    B_T = "B-T"
    """Plus a signature timestamp from a trusted timestamp authority."""
    B_LT = "B-LT"
    """Plus, in the PDF's document security store, the certificates and revocation data needed to
    validate the signature later (fetched at signing time from the certificates' CRL and OCSP
    addresses; ETSI EN 319 142-1 §6.4)."""
    B_LTA = "B-LTA"
    """Plus a document timestamp over the whole, so the validation data stays provable after the
    algorithms or certificates weaken (§6.5)."""


@dataclass(frozen=True, slots=True)
class SignedSet:
    """What :func:`sign_result_set` wrote."""

    report: Path
    signature: Path
    field_name: str
    role: str
    level: Level


def _asn1(material: SigningMaterial) -> tuple[Any, Any, list[Any]]:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    cert = asn1_x509.Certificate.load(material.cert.public_bytes(serialization.Encoding.DER))
    key = asn1_keys.PrivateKeyInfo.load(material.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
             for c in material.chain]
    return cert, key, chain


def _asn1_cert(cert: Any) -> Any:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _role_spec(role: str) -> Any:
    from asn1crypto import cms
    from pyhanko.sign.ades.api import CAdESSignedAttrSpec, SignerAttrSpec

    claimed = cms.AttCertAttribute({"type": "role", "values": [
        {"role_name": {"uniform_resource_identifier": ROLE_URN_PREFIX + role}}]})
    return CAdESSignedAttrSpec(
        signer_attributes=SignerAttrSpec(claimed_attrs=[claimed], certified_attrs=[]))


def _field_name(pdf: bytes, role: str) -> str:
    """``evaltool-<role>`` or, when that signature field exists, ``evaltool-<role>-<n>``."""
    name, n = f"evaltool-{role}", 1
    while f"/T ({name})".encode() in pdf:
        n += 1
        name = f"evaltool-{role}-{n}"
    return name


def _sign_pdf(pdf: bytes, signer: Any, role: str, field: str, timestamper: Any, level: Level,
              trust: list[Any]) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko_certvalidator import ValidationContext

    long_term = level in (Level.B_LT, Level.B_LTA)
    context = (ValidationContext(trust_roots=trust, allow_fetching=True,
                                 revocation_mode="hard-fail") if long_term else None)
    meta = signers.PdfSignatureMetadata(
        field_name=field, reason=f"evaltool evaluation report, signed as {role}",
        md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
        cades_signed_attr_spec=_role_spec(role), embed_validation_info=long_term,
        validation_context=context, use_pades_lta=level is Level.B_LTA)
    out = io.BytesIO()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    signers.PdfSigner(meta, signer, timestamper=timestamper).sign_pdf(writer, output=out)
    return out.getvalue()


def _sign_results(results: bytes, existing: bytes | None, signer: Any, role: str,
                  timestamper: Any) -> bytes:
    """The detached CMS over ``results``, merged into ``existing`` (another signer's) if given."""
    from asn1crypto import cms
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    attrs = PdfCMSSignedAttributes(cades_signed_attrs=_role_spec(role))
    info = asyncio.run(signer.async_sign_general_data(
        results, "sha256", detached=True, use_cades=True, timestamper=timestamper,
        signed_attr_settings=attrs))
    if existing is None:
        return bytes(info.dump())
    try:
        before = cms.ContentInfo.load(existing)
        old = before["content"]
        _ = old["signer_infos"].native  # parse now: a damaged file is refused here
    except (ValueError, TypeError, KeyError):
        raise SigningInputError(f"{SIGNATURE_NAME} is not a CMS SignedData; remove it or restore "
                                "it before adding a signature") from None
    new = info["content"]
    digests = {d.dump(): d for d in [*old["digest_algorithms"], *new["digest_algorithms"]]}
    certs = {c.dump(): c for c in [*old["certificates"], *new["certificates"]]}
    merged = cms.SignedData({
        "version": max(old["version"].native, new["version"].native),
        "digest_algorithms": list(digests.values()),
        "encap_content_info": old["encap_content_info"],
        "certificates": list(certs.values()),
        "signer_infos": [*old["signer_infos"], *new["signer_infos"]],
    })
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": merged}).dump())


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first (bounded)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def sign_result_set(out_dir: Path, material: SigningMaterial, *, role: str,
                    level: Level = Level.B_B, tsa_url: str | None = None,
                    timestamper: Any = None, trust: tuple[Any, ...] = ()) -> SignedSet:
    """Sign ``report.pdf`` and ``results.json`` of ``out_dir`` as ``role``.

    ``timestamper`` (a pyHanko ``TimeStamper``) overrides ``tsa_url``; B-T and above need one of
    them. B-LT and B-LTA validate the signer at signing time against ``trust`` (``cryptography``
    certificates), fetching revocation data, and embed what they used in the PDF; the CMS over
    ``results.json`` is then B-T (its validation data is in the PDF).
    """
    with hold_folder(out_dir) as folder:
        return _sign_held(folder, out_dir, material, role=role, level=level, tsa_url=tsa_url,
                          timestamper=timestamper, trust=trust)


def _sign_held(folder: OutputFolder, out_dir: Path, material: SigningMaterial, *, role: str,
               level: Level, tsa_url: str | None, timestamper: Any, trust: tuple[Any, ...],
               ) -> SignedSet:
    """:func:`sign_result_set` with the folder held: the signed PDF and the signature replace
    their predecessors as one switch of the result set (``docs/outputs.md``)."""
    if role not in ROLES:
        raise SigningInputError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    pdf_path, results_path = out_dir / REPORT_NAME, out_dir / RESULTS_NAME
    for path in (pdf_path, results_path):
        if not path.is_file():
            raise SigningInputError(f"no {path.name} in the result set folder: run "
                                    "`evaltool report` first", path=out_dir)
    if level is not Level.B_B and timestamper is None:
        if tsa_url is None:
            raise SigningInputError(f"level {level.value} needs a timestamp authority: pass "
                                    "--tsa URL")
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(tsa_url, timeout=30)
    if level is Level.B_B:
        timestamper = None
    if level in (Level.B_LT, Level.B_LTA) and not trust:
        raise SigningInputError(f"level {level.value} validates the signer now: pass the trust "
                                "anchor with --trust CA.pem")
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert, key, chain = _asn1(material)
    anchors = [_asn1_cert(c) for c in trust]
    signer = signers.SimpleSigner(signing_cert=cert, signing_key=key,
                                  cert_registry=SimpleCertificateStore.from_certs(chain))
    pdf = pdf_path.read_bytes()
    results = results_path.read_bytes()
    sig_path = out_dir / SIGNATURE_NAME
    existing = sig_path.read_bytes() if sig_path.is_file() else None
    field = _field_name(pdf, role)
    try:
        signed_pdf = _sign_pdf(pdf, signer, role, field, timestamper, level, anchors)
        p7s = _sign_results(results, existing, signer, role, timestamper)
    except SigningInputError:
        raise
    except Exception as exc:  # pyHanko reports PDF, network and timestamp problems alike
        if any("revoked" in str(e).lower() for e in _causes(exc)):
            raise SigningInputError("the signer's certificate is revoked (revocation data "
                                    "fetched for level B-LT)", path=out_dir) from None
        raise ReportError(f"signing failed: {type(exc).__name__}: {exc}", path=out_dir) from None
    try:
        staging = folder.stage()
        try:
            staging.write(sig_path.name, p7s)
            staging.write(pdf_path.name, signed_pdf)
            staging.keep(MANAGED_NAMES)
            staging.commit()
        except BaseException:
            if not (folder.staging_dir / COMMIT_NAME).is_file():
                staging.discard()
            raise
    except OSError as exc:
        raise ReportError(f"cannot write the signed outputs ({exc.strerror})",
                          path=out_dir) from None
    return SignedSet(report=pdf_path, signature=sig_path, field_name=field, role=role,
                     level=level)
