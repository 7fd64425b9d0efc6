"""``evaltool probe``: live tests of a QKD module's key-delivery interface."""

from __future__ import annotations

import json
from pathlib import Path

import click

from evaltool.cli._common import quiet as root_quiet


@click.group()
def probe() -> None:
    """Live tests of a key-delivery interface (ETSI GS QKD 014), recorded as evidence."""


@probe.command("etsi-014")
@click.option("--kme-a", required=True, metavar="URL", help="KME of the master SAE (https://).")
@click.option("--kme-b", required=True, metavar="URL", help="KME of the slave SAE (https://).")
@click.option("--sae-a", required=True, metavar="CERT,KEY", help="Master SAE's client "
              "certificate and key (PEM); the SAE id is the certificate's CN.")
@click.option("--sae-b", required=True, metavar="CERT,KEY", help="Slave SAE's, at KME-B.")
@click.option("--sae-c", metavar="CERT,KEY", help="A third SAE at KME-B (isolation test).")
@click.option("--sae-expired", metavar="CERT,KEY",
              help="An expired certificate from the KMEs' CA (refused by kdi.tls).")
@click.option("--ca", required=True, type=click.Path(path_type=Path),
              help="CA certificate(s) (PEM) of the KMEs' server certificates.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Bundle folder to create: probe.jsonl and bundle.yaml.")
@click.option("--keys", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Keys compared at both ends (kdi.same-key, kdi.uniqueness).")
@click.option("--keep-keys", is_flag=True, help="Record key values in clear (default: SHA-256).")
@click.option("--timeout", "timeout_s", default=5.0, show_default=True,
              type=click.FloatRange(0.1, 120), help="Seconds per socket operation.")
@click.option("--deadline", "deadline_s", default=600.0, show_default=True,
              type=click.FloatRange(1, 86_400), help="Seconds for the whole plan; later steps "
              "are recorded as skipped.")
@click.option("--max-drain-requests", default=2000, show_default=True,
              type=click.IntRange(1, 1_000_000),
              help="Requests allowed to empty the key store (kdi.exhaustion).")
@click.option("--toe", type=click.Path(path_type=Path), help="The device's bundle.yaml, whose "
              "toe and claims the record's manifest copies (needed to audit the record).")
@click.option("--fuzz", default=0, show_default=True, type=click.IntRange(0, 100_000),
              help="Also send N requests generated from the OpenAPI description of 014 "
              "(schemathesis, the probe extra); any 5xx or accepted invalid one fails "
              "kdi.input-validation.")
@click.option("--force", is_flag=True, help="Replace the contents of a non-empty --out folder.")
@click.option("--quiet", is_flag=True, help="No progress display (for CI).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.pass_context
def etsi_014(ctx: click.Context, kme_a: str, kme_b: str, sae_a: str, sae_b: str,
             sae_c: str | None, sae_expired: str | None, ca: Path, out_dir: Path, keys: int,
             keep_keys: bool, timeout_s: float, deadline_s: float, max_drain_requests: int,
             toe: Path | None, fuzz: int, force: bool, quiet: bool, as_json: bool) -> None:
    """Run the ETSI GS QKD 014 V1.1.1 test plan against KME-A and KME-B and record it.

    Every request and response goes to OUT/probe.jsonl (evidence kind key-delivery-probe, key
    values as SHA-256 unless --keep-keys) with a manifest OUT/bundle.yaml; the kdi.* checks
    decide from it (docs/kme.md). The plan empties the key store at the end (kdi.exhaustion).
    """
    from evaltool.kdi import probe as pr

    a_url, b_url = pr.check_url("--kme-a", kme_a), pr.check_url("--kme-b", kme_b)
    pr.check_ca(ca)
    opts = pr.ProbeOptions(
        kme_a=a_url, kme_b=b_url, sae_a=pr.load_sae("a", sae_a, ca),
        sae_b=pr.load_sae("b", sae_b, ca),
        sae_c=pr.load_sae("c", sae_c, ca) if sae_c else None,
        sae_expired=pr.load_sae("expired", sae_expired, ca) if sae_expired else None,
        ca=ca, out=out_dir, keys=keys, keep_keys=keep_keys, timeout_s=timeout_s,
        deadline_s=deadline_s, max_drain_requests=max_drain_requests, toe=toe, force=force,
        fuzz=fuzz)
    if quiet or root_quiet(ctx) or as_json:
        summary = pr.probe(opts)
    else:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                      TextColumn("{task.completed} requests"), console=Console(stderr=True),
                      transient=True) as bar:
            task = bar.add_task("probe", total=None)
            summary = pr.probe(opts, progress=lambda step: bar.update(
                task, advance=1, description=step))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{summary['exchanges']} exchanges in {summary['elapsed_s']} s "
               f"({summary['timeouts']} timeouts, {summary['skipped']} skipped): "
               f"{summary['record']} (sha256 {summary['sha256']})")
