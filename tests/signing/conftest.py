"""Fixtures: the throw-away PKI, a timestamp authority on loopback, and an unsigned result set."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.report.conftest import EPOCH, mini_profile_file, run_demo_audit
from tests.signing import pki


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on 127.0.0.1 (any free port) until the generator is closed; yields the base
    URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.timeout = 10
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


_CRLS: dict[str, bytes] = {}


class _CrlHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = _CRLS.get(self.path.lstrip("/"))
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def crl_base() -> Iterator[str]:
    """A CRL distribution point on loopback (its CRLs set once the PKI exists)."""
    yield from _serve(_CrlHandler)


@pytest.fixture(scope="session")
def the_pki(crl_base: str) -> pki.Pki:
    built = pki.build(crl_base)
    _CRLS.update(pki.crls(built))
    return built


@pytest.fixture(scope="session")
def pki_files(the_pki: pki.Pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Certificates and keys as files (keys encrypted with PASSPHRASE); the chain file holds the
    intermediate CA."""
    folder = tmp_path_factory.mktemp("pki")
    for name in ("evaluator", "reviewer", "stranger", "expired", "revoked", "encipher_only"):
        pki.write(folder, name, getattr(the_pki, name), pki.PASSPHRASE)
    for name, der in pki.crls(the_pki).items():
        (folder / name).write_bytes(der)
    (folder / "root.pem").write_bytes(the_pki.root.pem())
    (folder / "other-root.pem").write_bytes(the_pki.other_root.pem())
    (folder / "chain.pem").write_bytes(the_pki.intermediate.pem())
    return folder


@pytest.fixture(scope="session")
def tsa_url(the_pki: pki.Pki) -> Iterator[str]:
    """An RFC 3161 timestamp authority on 127.0.0.1 (pyHanko's in-process timestamper behind a
    bounded HTTP server), stopped after the session."""
    from asn1crypto import keys, tsp
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def der(c: pki.Issued) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(c.cert.public_bytes(serialization.Encoding.DER))

    stamper = DummyTimeStamper(
        tsa_cert=der(the_pki.tsa),
        tsa_key=keys.PrivateKeyInfo.load(the_pki.tsa.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())),
        certs_to_embed=SimpleCertificateStore.from_certs([der(the_pki.intermediate)]))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length", "0")), 1 << 16)
            request = tsp.TimeStampReq.load(self.rfile.read(length))
            body = stamper.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    for base in _serve(Handler):
        yield f"{base}/tsa"


@pytest.fixture(scope="session")
def unsigned_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo audit's outputs (one-check profile, SOURCE_DATE_EPOCH set), rendered once."""
    base = tmp_path_factory.mktemp("unsigned")
    profile = mini_profile_file(base / "profiles")
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        run_demo_audit(base / "out", profile)
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    return base


@pytest.fixture
def result_set(unsigned_set: Path, tmp_path: Path) -> Path:
    """A private copy of the unsigned outputs (``out/``) with the profile beside them."""
    dest = tmp_path / "lab"
    shutil.copytree(unsigned_set, dest)
    return dest / "out"
