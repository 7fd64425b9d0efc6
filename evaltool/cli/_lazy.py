"""A click group whose commands are imported only when they are run or asked for their own help.

Each command module may import numpy, scipy, pandas, numba or WeasyPrint; ``evaltool --help`` and
``evaltool --version`` must not pay for them. The group therefore knows its commands by name,
``"module:attribute"`` and the short help shown in the command list, and imports a module only on
first use. ``tests/cli/test_startup.py`` keeps each stored short help equal to the one click
derives from the loaded command.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a command lives and the help line the group lists it with before it is loaded."""

    target: str
    """``"package.module:attribute"`` of the click command."""
    short_help: str
    """The first paragraph of the command's help, on one line."""


class LazyGroup(click.Group):
    """A :class:`click.Group` that imports each lazily registered command on first use.

    Commands added with :meth:`add_command` (or by tests through ``commands``) take precedence, so
    the group behaves like a plain group once a command is loaded.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, LazyCommand] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, loaded or not, sorted like :class:`click.Group` sorts them."""
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module if it is not loaded yet."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in self.lazy:
            return self.load(cmd_name)
        return None

    def load(self, name: str) -> click.Command:
        """Import the lazily registered command ``name`` and keep it in ``commands``."""
        module_name, _, attr = self.lazy[name].target.partition(":")
        cmd = getattr(importlib.import_module(module_name), attr)
        if not isinstance(cmd, click.Command):
            raise TypeError(f"{self.lazy[name].target} is not a click command")
        self.commands[name] = cmd
        return cmd

    def command_help(self, name: str, limit: int) -> str:
        """The help line of ``name`` in the command list, without importing it if it is lazy."""
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit)
        # A stand-in command shortens the stored text exactly as click shortens a loaded help.
        return click.Command(name, help=self.lazy[name].short_help).get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section, as :meth:`click.Group.format_commands` writes it."""
        names = [n for n in self.list_commands(ctx)
                 if n in self.lazy or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, self.command_help(n, limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
