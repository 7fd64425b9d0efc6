"""Strict JSON for untrusted evidence: one meaning per document, bounded work.

RFC 8259 leaves duplicate object names and numbers beyond IEEE 754 doubles to the implementation
(sections 4 and 6), so two readers of the same hostile file may see different values; and
Python's decoder recurses once per nesting level, so a line of a million ``[`` ends in
``RecursionError`` after seconds. :func:`loads` refuses all of these with ``ValueError``, which
every reader turns into its one-line error naming the file and line (docs/resource-policy.md).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (evidence records are at most a few deep)."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text``, outside strings (an upper bound for
    text that is not JSON)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return text.count("[") + text.count("{")
    depth = deepest = 0
    for ch in _STRING.sub("", text):
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of the range of a double")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key[:60]!r}")
        out[key] = value
    return out


def loads(text: str) -> Any:
    """``json.loads`` refusing NaN/Infinity, numbers beyond a double (and integers beyond
    Python's 4300-digit conversion limit), duplicate keys and nesting deeper than
    :data:`MAX_DEPTH`; every refusal is a ``ValueError``."""
    if nesting_depth(text) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return json.loads(text, parse_constant=_constant, parse_float=_float,
                      object_pairs_hook=_pairs)
