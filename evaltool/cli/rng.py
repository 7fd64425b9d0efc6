"""``evaltool rng``: randomness batteries on raw RNG output (SP 800-22, SP 800-90B, AIS 20/31)."""

from __future__ import annotations

import click

from evaltool.cli._lazy import LazyCommand, LazyGroup

_COMMANDS = {
    "ais31": LazyCommand("evaltool.cli.rng_ais31:ais31",
                         "Run BSI AIS 20/31 test procedure A or B on FILE."),
    "sp800-22": LazyCommand("evaltool.cli.rng_sp800_22:sp800_22", "Run the NIST SP 800-22 rev. "
                            "1a battery on FILE split into sequences of N bits."),
    "sp800-90b": LazyCommand("evaltool.cli.rng_sp800_90b:sp800_90b", "Assess the min-entropy per "
                             "sample of noise-source samples (NIST SP 800-90B)."),
}


@click.group(cls=LazyGroup, lazy=_COMMANDS)
def rng() -> None:
    """Statistical tests of random number generator output."""
