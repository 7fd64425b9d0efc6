"""``evaltool protocol``: the reference protocol: key-length bounds, key rates, Cascade."""

from __future__ import annotations

import click


@click.group()
def protocol() -> None:
    """Reference decoy-state BB84 computations for planning and checking claims."""


def _attach() -> None:
    try:
        from evaltool.cli.protocol_keylength import key_length, rate
    except ImportError:
        pass
    else:
        protocol.add_command(key_length)
        protocol.add_command(rate)
    try:
        from evaltool.cli.protocol_cascade import cascade
    except ImportError:
        pass
    else:
        protocol.add_command(cascade)


_attach()
