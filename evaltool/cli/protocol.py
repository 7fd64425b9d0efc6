"""``evaltool protocol``: the reference protocol: key-length bounds, key rates, Cascade."""

from __future__ import annotations

import click

from evaltool.cli._lazy import LazyCommand, LazyGroup

_COMMANDS = {
    "cascade": LazyCommand("evaltool.cli.protocol_cascade:cascade", "Reconcile RUNS frames "
                           "holding exactly round(QBER * FRAME) errors and report efficiency."),
    "key-length": LazyCommand("evaltool.cli.protocol_keylength:key_length", "Allowed secret key "
                              "length of one block from its logged counts (COUNTS.json)."),
    "rate": LazyCommand("evaltool.cli.protocol_keylength:rate", "Model secret key rate of "
                        "decoy-state BB84 for a channel and block size."),
}


@click.group(cls=LazyGroup, lazy=_COMMANDS)
def protocol() -> None:
    """Reference decoy-state BB84 computations for planning and checking claims."""
