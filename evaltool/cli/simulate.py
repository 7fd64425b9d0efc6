"""``evaltool simulate``: write a complete evidence bundle of a simulated device (test vectors)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from evaltool import simulate as sim


@click.command(epilog="Scenarios: " + ", ".join(sim.SCENARIO_NAMES) + ".")
@click.argument("scenario_name", metavar="SCENARIO", type=click.Choice(sim.SCENARIO_NAMES))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Bundle folder to create (must not exist or be empty, unless --force).")
@click.option("--seed", default=sim.DEFAULT_SEED, show_default=True, type=click.IntRange(min=0),
              help="Seed of every generator; the same seed gives byte-identical files.")
@click.option("--blocks", default=sim.DEFAULT_BLOCKS, show_default=True,
              type=click.IntRange(min=2, max=10_000), help="Post-processing blocks to simulate.")
@click.option("--force", is_flag=True, help="Replace the contents of a non-empty --out folder.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def simulate(scenario_name: str, out_dir: Path, seed: int, blocks: int, force: bool,
             as_json: bool) -> None:
    """Write the evidence bundle of SCENARIO: a simulated decoy-state BB84 pair over 50 km of
    fibre, honest or with one deviation (docs/scenarios.md).

    The folder receives bundle.yaml, st.yaml (a security target for etsi-gs-qkd-016), the
    evidence files and PROVENANCE.md. It is written to a temporary folder next to --out and
    renamed into place.
    """
    manifest = sim.simulate(scenario_name, out_dir, seed=seed, blocks=blocks, force=force)
    sc = sim.scenario(scenario_name, blocks)
    if as_json:
        click.echo(json.dumps({
            "scenario": sc.name, "bundle": str(manifest), "seed": seed, "blocks": blocks,
            "generator_version": sim.GENERATOR_VERSION, "summary": sc.summary,
            "violates": list(sc.violates),
        }, indent=2))  # fmt: skip
        return
    click.echo(f"{manifest}: scenario {sc.name} ({sc.summary}), seed {seed}, {blocks} blocks")


__all__ = ["simulate"]
