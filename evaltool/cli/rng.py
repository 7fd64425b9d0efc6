"""``evaltool rng``: randomness batteries on raw RNG output (SP 800-22, SP 800-90B)."""

from __future__ import annotations

import click


@click.group()
def rng() -> None:
    """Statistical tests of random number generator output."""


def _attach() -> None:
    try:
        from evaltool.cli.rng_sp800_22 import sp800_22
    except ImportError:
        pass
    else:
        rng.add_command(sp800_22)
    try:
        from evaltool.cli.rng_sp800_90b import sp800_90b
    except ImportError:
        pass
    else:
        rng.add_command(sp800_90b)


_attach()
