"""A throw-away PKI built at test time with ``cryptography`` (nothing is committed).

Certificates: a root and an intermediate CA, an evaluator and a reviewer under them, a signer
under another root, an expired signer, a revoked signer, a signer whose key usage forbids
signatures, and a timestamp authority (RSA: pyHanko's in-process timestamper signs with RSA only).
Every certificate below a root names a CRL distribution point under ``crl_base`` when one is given
(``root.crl`` for the intermediate, ``intermediate.crl`` for the end entities): the tests serve
the CRLs of :func:`crls` there on loopback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PASSPHRASE = b"correct horse"


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: Any

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, passphrase: bytes | None = None) -> bytes:
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase
            else serialization.NoEncryption())
        out: bytes = self.key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8, enc)
        return out


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evaltool test PKI"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(cn: str, issuer: Issued | None, *, ca: bool = False, days: tuple[int, int] = (-30, 365),
          signing: bool = True, eku: list[x509.ObjectIdentifier] | None = None,
          use_rsa: bool = False, crl_url: str | None = None) -> Issued:
    key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if use_rsa
           else ec.generate_private_key(ec.SECP256R1()))
    builder = (x509.CertificateBuilder().subject_name(_name(cn))
               .issuer_name(issuer.cert.subject if issuer else _name(cn))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW + dt.timedelta(days=days[0]))
               .not_valid_after(NOW + dt.timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=ca or signing, content_commitment=signing and not ca,
        key_encipherment=not signing, data_encipherment=False, key_agreement=False,
        key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False), critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
            reasons=None, crl_issuer=None)]), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(cert, key)


@dataclass(frozen=True)
class Pki:
    root: Issued
    intermediate: Issued
    evaluator: Issued
    reviewer: Issued
    other_root: Issued
    stranger: Issued
    expired: Issued
    revoked: Issued
    encipher_only: Issued
    tsa: Issued


def build(crl_base: str | None = None) -> Pki:
    root = issue("Test Root CA", None, ca=True, days=(-400, 4000))
    at_root = f"{crl_base}/root.crl" if crl_base else None
    at_inter = f"{crl_base}/intermediate.crl" if crl_base else None
    inter = issue("Test Intermediate CA", root, ca=True, days=(-300, 3000), crl_url=at_root)
    other = issue("Other Root CA", None, ca=True, days=(-400, 4000))
    return Pki(
        root=root, intermediate=inter,
        evaluator=issue("Eva Luator", inter, crl_url=at_inter),
        reviewer=issue("Rev Iewer", inter, crl_url=at_inter),
        other_root=other, stranger=issue("Str Anger", other),
        expired=issue("Ex Pired", inter, days=(-400, -10), crl_url=at_inter),
        revoked=issue("Re Voked", inter, crl_url=at_inter),
        encipher_only=issue("No Signer", inter, signing=False, crl_url=at_inter),
        tsa=issue("Test TSA", inter, eku=[ExtendedKeyUsageOID.TIME_STAMPING], use_rsa=True,
                  crl_url=at_inter),
    )


def _crl(issuer: Issued, revoked: list[Issued]) -> bytes:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
               .last_update(NOW - dt.timedelta(days=1))
               .next_update(NOW + dt.timedelta(days=30))
               .add_extension(x509.CRLNumber(1), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer.key.public_key()), critical=False))
    for who in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(who.cert.serial_number)
            .revocation_date(NOW - dt.timedelta(days=2)).build())
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def crls(p: Pki) -> dict[str, bytes]:
    """DER CRLs by file name: the root's (nothing revoked) and the intermediate's (the revoked
    signer)."""
    return {"root.crl": _crl(p.root, []), "intermediate.crl": _crl(p.intermediate, [p.revoked])}


def write(folder: Path, name: str, who: Issued, passphrase: bytes | None = None
          ) -> tuple[Path, Path]:
    """``name.pem`` (certificate) and ``name.key`` (PKCS#8 PEM key) in ``folder``."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    cert.write_bytes(who.pem())
    key.write_bytes(who.key_pem(passphrase))
    return cert, key
