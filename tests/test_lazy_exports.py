"""Packages that import their submodules on first use export exactly what they did eagerly."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from types import ModuleType

import pytest

from tests.support import REPO

LAZY_PACKAGES = ["evaltool.model", "evaltool.engines.stats.sp800_22",
                 "evaltool.engines.stats.sp800_90b", "evaltool.engines.leakage"]


def _type_checking_imports(pkg: ModuleType) -> dict[str, str]:
    """Name → submodule of the ``from ... import`` lines under ``if TYPE_CHECKING:``."""
    tree = ast.parse(inspect.getsource(pkg))
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    for alias in stmt.names:
                        out[alias.name] = stmt.module.rsplit(".", 1)[1]
    return out


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_the_lazy_table_matches_the_typing_imports(name: str) -> None:
    pkg = importlib.import_module(name)
    assert _type_checking_imports(pkg) == pkg._LAZY


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_public_name_resolves_to_its_submodules_object(name: str) -> None:
    pkg = importlib.import_module(name)
    for public in pkg.__all__:
        value = getattr(pkg, public)
        module = pkg._LAZY.get(public)
        if module is not None:
            assert value is getattr(importlib.import_module(f"{name}.{module}"), public)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pkg.nope  # noqa: B018


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_importing_the_package_loads_no_scipy_numba_or_pandas(name: str) -> None:
    probe = f"import sys, {name}; print(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=True)
    loaded = proc.stdout.split()
    assert name in loaded
    assert [m for m in loaded if m.split(".")[0] in ("scipy", "numba", "pandas")] == []


def test_sp800_22_exports_the_second_level_function_and_the_test_table() -> None:
    from evaltool.engines.stats import sp800_22
    from evaltool.engines.stats.sp800_22 import first_level

    assert inspect.isfunction(sp800_22.second_level)  # not the submodule of the same name
    assert list(sp800_22.TESTS) == list(sp800_22.TEST_NAMES)
    assert sp800_22.TESTS["dft"] is first_level.dft
    assert sp800_22.TESTS is sp800_22.TESTS
