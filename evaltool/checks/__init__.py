"""Decision rules: registered check kinds turn evidence into verdicts.

Importing this package fills the registry. This file is the one place that lists every built-in
check module.
"""

from __future__ import annotations

from evaltool.checks import (  # noqa: F401  (each import registers its kinds)
    claims,
    leakage,
    monitors,
    protocol_bounds,
    protocol_postprocessing,
    sp800_22,
    sp800_90b,
    telemetry,
)
from evaltool.checks.registry import all_checks, get

__all__ = ["all_checks", "get"]
