"""Decision rules: registered check kinds turn evidence into verdicts.

Importing this package fills the registry. This file is the one place that lists every built-in
check module.
"""

from __future__ import annotations

from evaltool.checks import (
    declared,  # noqa: F401  (kinds without an implementation yet)
    telemetry,  # noqa: F401  (registers telemetry.*)
)
from evaltool.checks.registry import all_checks, get

__all__ = ["all_checks", "get"]
