"""NIST SP 800-22 rev. 1a statistical test suite for random number generators.

The 15 first-level tests (:mod:`.first_level`), reproducing the reference implementation
sts-2.1.2; the second-level analysis over m sequences (:mod:`.second_level`); the battery with
mergeable partial results and the JSON report (:mod:`.battery`); the aperiodic templates
(:mod:`.templates`); and the Appendix B inputs e, π, √2, √3 and G-SHA1 (:mod:`.expansions`).
"""

from __future__ import annotations

from evaltool.engines.stats.sp800_22.battery import (
    BatteryPvalues,
    BatteryReport,
    Sp80022Params,
    Sp80022Summary,
    analyse,
    merge_battery,
    resolve_tests,
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
from evaltool.engines.stats.sp800_22.results import TEST_NAMES, Sp80022Result, merge_results
from evaltool.engines.stats.sp800_22.second_level import SecondLevel, second_level
from evaltool.engines.stats.sp800_22.templates import aperiodic_templates, reference_templates

TESTS = {
    "frequency": frequency,
    "block-frequency": block_frequency,
    "cumulative-sums": cumulative_sums,
    "runs": runs,
    "longest-run": longest_run,
    "rank": rank,
    "dft": dft,
    "non-overlapping-template": non_overlapping_template,
    "overlapping-template": overlapping_template,
    "universal": universal,
    "approximate-entropy": approximate_entropy,
    "random-excursions": random_excursions,
    "random-excursions-variant": random_excursions_variant,
    "serial": serial,
    "linear-complexity": linear_complexity,
}
"""Test name → first-level test function (each takes a 1-D or (m, n) bit array)."""

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
