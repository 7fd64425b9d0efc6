"""``evaltool protocol cascade``: Cascade efficiency, frame errors and speed at a given QBER."""

from __future__ import annotations

import json
import time

import click

from evaltool.engines.protocol.cascade import CascadeAlgorithm, cascade_simulate
from evaltool.errors import UsageError


@click.command("cascade")
@click.option("--algorithm", type=click.Choice([a.value for a in CascadeAlgorithm]),
              required=True, help="Cascade parameter set (Martinez-Mateo et al. 2015).")
@click.option("--qber", type=float, required=True, help="Quantum bit error rate, in (0, 0.5).")
@click.option("--frame", type=click.IntRange(min=2), required=True, help="Frame length in bits.")
@click.option("--runs", type=click.IntRange(min=1), required=True, help="Independent frames.")
@click.option("--seed", type=click.IntRange(min=0, max=2**64 - 1), default=0, show_default=True,
              help="Seed of the error patterns and shuffles.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def cascade(algorithm: str, qber: float, frame: int, runs: int, seed: int, as_json: bool) -> None:
    """Reconcile RUNS frames holding exactly round(QBER * FRAME) errors and report efficiency.

    Efficiency is disclosed parity bits / (FRAME h(QBER)); frame_errors counts frames left with
    residual errors; throughput is reconciled bits per second of wall time.
    """
    if not 0.0 < qber < 0.5:
        raise UsageError(f"--qber must lie in (0, 0.5), got {qber}")
    if round(qber * frame) < 1:
        raise UsageError(f"--qber {qber} on a {frame}-bit frame gives no error to correct")
    # Compile (or load the cached machine code) before timing.
    cascade_simulate(algorithm=algorithm, qber=qber, frame=frame, runs=1, seed=seed)
    start = time.perf_counter()
    sim = cascade_simulate(algorithm=algorithm, qber=qber, frame=frame, runs=runs, seed=seed)
    elapsed = time.perf_counter() - start
    result = {
        "efficiency_mean": sim.efficiency_mean,
        "efficiency_sd": sim.efficiency_sd,
        "frame_errors": sim.frame_errors,
        "channel_uses_mean": sim.channel_uses_mean,
        "throughput_bits_per_s": runs * frame / elapsed if elapsed > 0 else float("inf"),
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    sizes = ", ".join(map(str, sim.block_sizes))
    click.echo(f"algorithm          {algorithm} (block sizes {sizes})")
    click.echo(f"frames             {runs} x {frame} bits, {sim.n_errors} errors each")
    click.echo(f"efficiency         {sim.efficiency_mean:.4f} (sd {sim.efficiency_sd:.4f})")
    click.echo(f"frame errors       {result['frame_errors']}")
    click.echo(f"channel uses       {result['channel_uses_mean']:.1f} per frame")
    click.echo(f"throughput         {result['throughput_bits_per_s'] / 1e6:.2f} Mbit/s")
