"""A throw-away PKI for the KME tests, built at test time with ``cryptography`` (nothing is
committed): a CA, the two KMEs' server certificates (SAN 127.0.0.1 and localhost), SAE client
certificates whose CN is the SAE id, an expired SAE certificate and a stranger from another CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: Any


def issue(cn: str, issuer: Issued | None, *, ca: bool = False, server: bool = False,
          days: tuple[int, int] = (-30, 365)) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer.cert.subject if issuer else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW + dt.timedelta(days=days[0]))
         .not_valid_after(NOW + dt.timedelta(days=days[1]))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    cert = b.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(cert, key)


def write(folder: Path, name: str, who: Issued) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    cert.write_bytes(who.cert.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(who.key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key


def build(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Write every certificate and key to ``folder``; ``ca`` is the CA certificate (twice)."""
    root = issue("KME test CA", None, ca=True, days=(-400, 4000))
    other = issue("Other CA", None, ca=True, days=(-400, 4000))
    out = {"ca": write(folder, "ca", root)}
    out["kme_a"] = write(folder, "kme_a", issue("KME_A", root, server=True))
    out["kme_b"] = write(folder, "kme_b", issue("KME_B", root, server=True))
    for sae in ("SAE_A", "SAE_B", "SAE_C"):
        out[sae] = write(folder, sae, issue(sae, root))
    out["expired"] = write(folder, "expired", issue("SAE_A", root, days=(-400, -10)))
    out["stranger"] = write(folder, "stranger", issue("SAE_A", other))
    return out
