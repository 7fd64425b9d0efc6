"""Lazy re-exports for packages whose submodules are costly to import (PEP 562).

A package lists its public names in a table (name → submodule) and sets
``__getattr__ = lazy_exports(__name__, table)``; a name's submodule is imported when the name is
first used and the value is then stored in the package, so later uses are plain attribute reads.
The same names are imported under ``typing.TYPE_CHECKING`` for type checkers, and
``tests/test_lazy_exports.py`` keeps the two lists equal.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``table[name]`` on first use."""

    def __getattr__(name: str) -> Any:  # noqa: N807  (installed as a module's __getattr__)
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
