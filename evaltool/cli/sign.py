"""``evaltool sign``: sign a result set's report and results (``docs/signing.md``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from evaltool.signing.roles import ROLES

PASSPHRASE_ENV = "EVALTOOL_KEY_PASSPHRASE"
"""Environment variable holding the key's passphrase (never a command-line argument)."""


@click.command()
@click.argument("out_dir", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
              help="Private key (PEM) or PKCS#12 bundle (.p12/.pfx) holding key and certificate.")
@click.option("--cert", "cert_path", type=click.Path(path_type=Path),
              help="Signer certificate (PEM or DER); not needed with a PKCS#12 bundle.")
@click.option("--chain", "chain_path", type=click.Path(path_type=Path),
              help="Intermediate certificates to embed (PEM).")
@click.option("--role", type=click.Choice(ROLES), default="evaluator", show_default=True,
              help="The role the signer signs in (claimed in the signature).")
@click.option("--tsa", "tsa_url", metavar="URL", help="RFC 3161 timestamp authority (level B-T).")
@click.option("--level", type=click.Choice(["B-B", "B-T", "B-LT", "B-LTA"]), default=None,
              help="PAdES/CAdES baseline level [default: B-T with --tsa, else B-B]; B-LT and "
                   "B-LTA need --tsa and --trust.")
@click.option("--trust", "trust_path", type=click.Path(path_type=Path),
              help="Trust anchor (PEM) to validate the signer against at B-LT and B-LTA.")
def sign(out_dir: Path, key_path: Path, cert_path: Path | None, chain_path: Path | None,
         role: str, tsa_url: str | None, level: str | None, trust_path: Path | None) -> None:
    """Sign report.pdf (PAdES, incremental) and results.json (detached CMS) in DIR.

    The key's passphrase is read from the environment variable EVALTOOL_KEY_PASSPHRASE, or asked
    for when the key is encrypted and a terminal is attached. A second signer (e.g. --role
    reviewer) adds a second signature; earlier ones stay valid. Exit 0: signed. Exit 4: a key,
    certificate or output is unusable. Exit 5: signing failed (e.g. the timestamp authority).
    """
    from evaltool.signing.keys import SigningInputError, load_certificates, load_signing_material
    from evaltool.signing.sign import Level, sign_result_set

    env = os.environ.get(PASSPHRASE_ENV)
    passphrase = env.encode() if env is not None else None
    try:
        material = load_signing_material(key_path, cert_path, chain_path, passphrase)
    except SigningInputError as exc:
        if passphrase is not None or "encrypted" not in exc.message:
            raise
        if not sys.stdin.isatty():
            raise SigningInputError(f"the key is encrypted: set its passphrase in {PASSPHRASE_ENV} "
                                    "(or run in a terminal to be asked)", path=key_path) from None
        typed = click.prompt(f"Passphrase for {key_path.name}", hide_input=True, err=True)
        material = load_signing_material(key_path, cert_path, chain_path, typed.encode())
    chosen = Level(level) if level else (Level.B_T if tsa_url else Level.B_B)
    trust = tuple(load_certificates(trust_path, "trust anchor file")) if trust_path else ()
    done = sign_result_set(out_dir, material, role=role, level=chosen, tsa_url=tsa_url,
                           trust=trust)
    click.echo(f"signed {done.report} ({done.field_name}) and {done.signature} as {role}, "
               f"level {chosen.value}, by {material.subject}")


__all__ = ["sign"]
