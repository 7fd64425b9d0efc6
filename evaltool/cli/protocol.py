"""``evaltool protocol``: key-length bounds and key rates of every protocol plugin, Cascade."""

from __future__ import annotations

import click

from evaltool.cli._lazy import LazyCommand, LazyGroup

_COMMANDS = {
    "cascade": LazyCommand("evaltool.cli.protocol_cascade:cascade", "Reconcile RUNS frames "
                           "holding exactly round(QBER * FRAME) errors and report efficiency."),
    "key-length": LazyCommand("evaltool.cli.protocol_keylength:key_length", "Allowed secret key "
                              "length of one block from its logged evidence (a JSON document)."),
    "rate": LazyCommand("evaltool.cli.protocol_keylength:rate", "Model secret key rate of a "
                        "protocol for a channel and block size."),
}


@click.group(cls=LazyGroup, lazy=_COMMANDS)
def protocol() -> None:
    """Reference protocol computations (every protocol plugin) for planning and checking claims."""
