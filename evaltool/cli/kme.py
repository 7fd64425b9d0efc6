"""``evaltool kme``: the reference KME pair that the GS QKD 014 probe is tested against."""

from __future__ import annotations

import threading
from pathlib import Path

import click


@click.group()
def kme() -> None:
    """A reference ETSI GS QKD 014 KME pair (for testing the probe, docs/kme.md)."""


@kme.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path),
              help="KME configuration (YAML, docs/kme.md).")
def serve(config_path: Path) -> None:
    """Serve KME-A and KME-B (HTTPS, mutual TLS) until interrupted.

    The two URLs are printed once both listen; fault switches in the configuration make the
    pair deviate from the standard on purpose, one per kdi.* check.
    """
    from evaltool.kdi.config import load_config
    from evaltool.kdi.kme import KmePair

    cfg = load_config(config_path)
    with KmePair(cfg) as pair:
        faults = [k for k, v in cfg.faults.model_dump().items() if v]
        click.echo(f"KME-A {cfg.kme_a.kme_id} {pair.urls[0]} SAEs {','.join(cfg.kme_a.saes)}")
        click.echo(f"KME-B {cfg.kme_b.kme_id} {pair.urls[1]} SAEs {','.join(cfg.kme_b.saes)}")
        click.echo(f"faults: {', '.join(faults) if faults else 'none (honest)'}", nl=True)
        threading.Event().wait()
