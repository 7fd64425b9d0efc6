"""``evaltool protocol``: the reference protocol: key-length bounds, key rates, Cascade."""

from __future__ import annotations

import click

from evaltool.cli.protocol_cascade import cascade
from evaltool.cli.protocol_keylength import key_length, rate


@click.group()
def protocol() -> None:
    """Reference decoy-state BB84 computations for planning and checking claims."""


protocol.add_command(key_length)
protocol.add_command(rate)
protocol.add_command(cascade)
