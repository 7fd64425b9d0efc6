"""NIST SP 800-22 rev. 1a statistical test suite for random number generators.

The 15 first-level tests (:mod:`.first_level`), reproducing the reference implementation
sts-2.1.2; the second-level analysis over m sequences (:mod:`.second_level`); the battery with
mergeable partial results and the JSON report (:mod:`.battery`); the aperiodic templates
(:mod:`.templates`); and the Appendix B inputs e, π, √2, √3 and G-SHA1 (:mod:`.expansions`).
"""

from __future__ import annotations

import importlib as _importlib
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any as _Any

from evaltool.engines.stats.sp800_22.results import (
    TEST_NAMES,
    Sp80022Result,
    merge_results,
    resolve_tests,
)
from evaltool.engines.stats.sp800_22.second_level import SecondLevel, second_level

if TYPE_CHECKING:
    from evaltool.engines.stats.sp800_22.battery import (
        BatteryPvalues,
        BatteryReport,
        Sp80022Params,
        Sp80022Summary,
        analyse,
        merge_battery,
        run_groups,
        run_tests,
    )
    from evaltool.engines.stats.sp800_22.expansions import (
        e_expansion,
        g_sha1,
        pi_expansion,
        sqrt2_expansion,
        sqrt3_expansion,
    )
    from evaltool.engines.stats.sp800_22.first_level import (
        RECOMMENDED_MIN_BITS,
        approximate_entropy,
        block_frequency,
        cumulative_sums,
        dft,
        frequency,
        linear_complexity,
        longest_run,
        non_overlapping_template,
        overlapping_exact_probabilities,
        overlapping_template,
        random_excursions,
        random_excursions_variant,
        rank,
        runs,
        serial,
        universal,
    )
    from evaltool.engines.stats.sp800_22.templates import aperiodic_templates, reference_templates

# Submodules that load numba kernels or scipy are imported on first use of one of their names,
# so that the check registry can read this package's constants without compiling anything.
_LAZY: dict[str, str] = {
    "BatteryPvalues": "battery",
    "BatteryReport": "battery",
    "Sp80022Params": "battery",
    "Sp80022Summary": "battery",
    "analyse": "battery",
    "merge_battery": "battery",
    "run_groups": "battery",
    "run_tests": "battery",
    "e_expansion": "expansions",
    "g_sha1": "expansions",
    "pi_expansion": "expansions",
    "sqrt2_expansion": "expansions",
    "sqrt3_expansion": "expansions",
    "RECOMMENDED_MIN_BITS": "first_level",
    "approximate_entropy": "first_level",
    "block_frequency": "first_level",
    "cumulative_sums": "first_level",
    "dft": "first_level",
    "frequency": "first_level",
    "linear_complexity": "first_level",
    "longest_run": "first_level",
    "non_overlapping_template": "first_level",
    "overlapping_exact_probabilities": "first_level",
    "overlapping_template": "first_level",
    "random_excursions": "first_level",
    "random_excursions_variant": "first_level",
    "rank": "first_level",
    "runs": "first_level",
    "serial": "first_level",
    "universal": "first_level",
    "aperiodic_templates": "templates",
    "reference_templates": "templates",
}
"""Public name → the submodule defining it, imported when the name is first used."""


_TEST_FUNCTIONS: dict[str, str] = {
    "frequency": "frequency",
    "block-frequency": "block_frequency",
    "cumulative-sums": "cumulative_sums",
    "runs": "runs",
    "longest-run": "longest_run",
    "rank": "rank",
    "dft": "dft",
    "non-overlapping-template": "non_overlapping_template",
    "overlapping-template": "overlapping_template",
    "universal": "universal",
    "approximate-entropy": "approximate_entropy",
    "random-excursions": "random_excursions",
    "random-excursions-variant": "random_excursions_variant",
    "serial": "serial",
    "linear-complexity": "linear_complexity",
}

if TYPE_CHECKING:
    TESTS: dict[str, Callable[..., Sp80022Result]]
    """Test name → first-level test function (each takes a 1-D or (m, n) bit array)."""


def __getattr__(name: str) -> _Any:
    if name == "TESTS":
        first_level = _importlib.import_module(f"{__name__}.first_level")
        tests = {test: getattr(first_level, fn) for test, fn in _TEST_FUNCTIONS.items()}
        globals()["TESTS"] = tests
        return tests
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "RECOMMENDED_MIN_BITS",
    "TESTS",
    "TEST_NAMES",
    "BatteryPvalues",
    "BatteryReport",
    "SecondLevel",
    "Sp80022Params",
    "Sp80022Result",
    "Sp80022Summary",
    "analyse",
    "aperiodic_templates",
    "approximate_entropy",
    "block_frequency",
    "cumulative_sums",
    "dft",
    "e_expansion",
    "frequency",
    "g_sha1",
    "linear_complexity",
    "longest_run",
    "merge_battery",
    "merge_results",
    "non_overlapping_template",
    "overlapping_exact_probabilities",
    "overlapping_template",
    "pi_expansion",
    "random_excursions",
    "random_excursions_variant",
    "rank",
    "reference_templates",
    "resolve_tests",
    "run_groups",
    "run_tests",
    "runs",
    "second_level",
    "serial",
    "sqrt2_expansion",
    "sqrt3_expansion",
    "universal",
]
