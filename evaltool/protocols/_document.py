"""Typed fields of a plugin's one-block JSON document (``evaltool protocol key-length``).

Every problem raises :class:`~evaltool.errors.EvidenceError` naming the field (the CLI adds the
file name), so a bad document is one line and exit 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from evaltool.errors import EvidenceError


def number(where: str, value: Any) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvidenceError(f"expected a number, got {value!r}", location=where)
    if not math.isfinite(value):
        raise EvidenceError("number is not finite", location=where)
    return float(value)


def field(doc: Mapping[str, Any], where: str) -> Any:
    """The value at the dotted path ``where``."""
    node: Any = doc
    for part in where.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise EvidenceError("required field is missing", location=where)
        node = node[part]
    return node


def number_field(doc: Mapping[str, Any], where: str, *, default: float | None = None) -> float:
    """A finite number at ``where`` (``default`` when absent and a default is given)."""
    if default is not None and not _present(doc, where):
        return default
    return number(where, field(doc, where))


def vector(doc: Mapping[str, Any], where: str, m: int, what: str) -> list[float]:
    """A list of ``m`` non-negative numbers at ``where`` (``what`` explains the length)."""
    value = field(doc, where)
    if not isinstance(value, list) or len(value) != m:
        raise EvidenceError(f"expected a list of {m} numbers ({what})", location=where)
    out = [number(f"{where}[{i}]", v) for i, v in enumerate(value)]
    for i, v in enumerate(out):
        if v < 0:
            raise EvidenceError("must not be negative", location=f"{where}[{i}]")
    return out


def eps(doc: Mapping[str, Any], where: str, *, default: float | None = None) -> float:
    """A probability strictly between 0 and 1."""
    value = number_field(doc, where, default=default)
    if not 0.0 < value < 1.0:
        raise EvidenceError("must lie strictly between 0 and 1", location=where)
    return value


def _present(doc: Mapping[str, Any], where: str) -> bool:
    node: Any = doc
    for part in where.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True
