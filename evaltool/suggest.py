"""The one "did you mean" of evaltool's error messages.

A leaf module (it imports nothing of evaltool) so that every layer may use it, from the check
registry to the command line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6
"""Least similarity (``difflib.SequenceMatcher.ratio``, 2 * matches / total length) of a name
worth suggesting: ``telemetry.rnage`` for ``telemetry.range`` is 0.93, an unrelated id is far
below."""


def suggest(name: str, known: Iterable[str], n: int = 1) -> str:
    """`` (did you mean 'X'?)`` naming up to ``n`` known names closest to ``name``, or ``""``.

    Several names are joined by ``or``, the closest first (ties in reverse alphabetical order,
    as :func:`difflib.get_close_matches` gives them).
    """
    near = difflib.get_close_matches(name, sorted(set(known)), n=n, cutoff=CUTOFF)
    return f" (did you mean {' or '.join(repr(m) for m in near)}?)" if near else ""
