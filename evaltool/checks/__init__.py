"""Decision rules: registered check kinds turn evidence into verdicts.

Importing this package fills the registry. This file is the one place that lists every built-in
check module. Registering must stay cheap (``validate``, ``checks`` and ``profile show`` do it): a
check module imports :class:`~evaltool.checks.context.CheckContext`, the reader views and engine
result types only under ``TYPE_CHECKING``, and engine functions, pandas and scipy inside the
functions that run (``tests/cli/test_startup.py`` checks this).
"""

from __future__ import annotations

from evaltool.checks import (  # noqa: F401  (each import registers its kinds)
    ais31,
    claims,
    conventional,
    kdi,
    leakage,
    monitors,
    optical,
    protocol_bounds,
    protocol_postprocessing,
    protocol_replay,
    sp800_22,
    sp800_90b,
    telemetry,
)
from evaltool.checks.registry import all_checks, get

__all__ = ["all_checks", "get"]
