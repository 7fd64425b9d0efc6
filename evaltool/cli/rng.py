"""``evaltool rng``: randomness batteries on raw RNG output (SP 800-22, SP 800-90B)."""

from __future__ import annotations

import click

from evaltool.cli.rng_sp800_22 import sp800_22
from evaltool.cli.rng_sp800_90b import sp800_90b


@click.group()
def rng() -> None:
    """Statistical tests of random number generator output."""


rng.add_command(sp800_22)
rng.add_command(sp800_90b)
