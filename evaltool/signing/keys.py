"""A signer's key and certificate: PEM files or a PKCS#12 bundle, checked before anything is signed.

Refused with one line (exit 4): an unreadable file, a wrong passphrase, a key that does not belong
to the certificate, a certificate whose key usage allows neither digital signatures nor
non-repudiation (RFC 5280 §4.2.1.3), or one outside its validity period now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from evaltool.errors import EvaltoolError

PKCS12_SUFFIXES = (".p12", ".pfx")


class SigningInputError(EvaltoolError):
    """A key, certificate, chain or trust file cannot be used (exit 4)."""


@dataclass(frozen=True, slots=True)
class SigningMaterial:
    """A private key with its certificate and the intermediate certificates to embed."""

    key: Any
    """A ``cryptography`` private key."""
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def subject(self) -> str:
        """The certificate subject, RFC 4514."""
        return self.cert.subject.rfc4514_string()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningInputError(f"cannot read the {what} ({exc.strerror or exc})",
                                path=path) from None


def load_certificates(path: Path, what: str = "certificate file") -> list[x509.Certificate]:
    """Every certificate of a PEM (one or more) or DER file."""
    data = _read(path, what)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise SigningInputError(f"not a PEM or DER X.509 {what}", path=path) from None


def _public_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def load_signing_material(key_path: Path, cert_path: Path | None, chain_path: Path | None,
                          passphrase: bytes | None, *, now: dt.datetime | None = None
                          ) -> SigningMaterial:
    """Load and check a signer (``key_path`` a PEM key or a PKCS#12 bundle holding key and
    certificate; ``cert_path`` may then be omitted)."""
    data = _read(key_path, "key file")
    chain: list[x509.Certificate] = []
    cert: x509.Certificate | None = None
    if key_path.suffix.lower() in PKCS12_SUFFIXES:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
        except ValueError:
            raise SigningInputError("cannot open the PKCS#12 file: wrong passphrase or not "
                                    "PKCS#12", path=key_path) from None
        chain.extend(extra)
        if key is None:
            raise SigningInputError("the PKCS#12 file holds no private key", path=key_path)
    else:
        try:
            key = serialization.load_pem_private_key(data, passphrase)
        except TypeError:
            what = ("the key is encrypted: set the passphrase" if passphrase is None
                    else "a passphrase was given but the key is not encrypted")
            raise SigningInputError(what, path=key_path) from None
        except ValueError:
            raise SigningInputError("cannot read the private key: wrong passphrase or not a PEM "
                                    "private key", path=key_path) from None
    if cert_path is not None:
        cert, *rest = load_certificates(cert_path, "certificate")
        chain.extend(rest)
    if cert is None:
        raise SigningInputError("no certificate: pass it with --cert", path=key_path)
    if chain_path is not None:
        chain.extend(load_certificates(chain_path, "certificate chain"))
    shown = cert_path or key_path
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise SigningInputError(f"the private key {key_path.name} does not belong to this "
                                "certificate", path=shown)
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.digital_signature or usage.content_commitment):
            raise SigningInputError("the certificate's key usage allows neither digital "
                                    "signatures nor non-repudiation", path=shown)
    except x509.ExtensionNotFound:
        pass  # no key usage extension: every use is allowed (RFC 5280 §4.2.1.3)
    moment = now or dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise SigningInputError(
            f"the certificate is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d})", path=shown)
    return SigningMaterial(key=key, cert=cert, chain=tuple(chain))
