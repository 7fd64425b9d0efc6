"""NIST SP 800-90B entropy assessment: non-IID estimators, IID tests, restart and health tests.

Public API
----------
assess_non_iid
    The ten estimators of §6.3 on samples and bit string, combined as in §3.1.3.
assess_iid
    The IID track of §5 (permutation, chi-square and LRS tests) and the MCV estimate.
restart_tests
    The restart sanity check and validation of §3.1.4.
health_tests, repetition_count_cutoff, adaptive_proportion_cutoff
    The continuous health tests of §4.4.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaltool.engines.stats.sp800_90b._common import (
    MIN_SAMPLES,
    Z_ALPHA,
    EstimatorResult,
    PreparedSamples,
    prepare_samples,
)
from evaltool.engines.stats.sp800_90b.health import (
    DEFAULT_ALPHA,
    HealthTestResult,
    adaptive_proportion_alarms,
    adaptive_proportion_cutoff,
    adaptive_proportion_window,
    health_tests,
    repetition_count_alarms,
    repetition_count_cutoff,
)
from evaltool.lazy import lazy_exports

if TYPE_CHECKING:
    from evaltool.engines.stats.sp800_90b._entropic import (
        collision,
        compression,
        markov,
        most_common_value,
    )
    from evaltool.engines.stats.sp800_90b._predictors import (
        lag,
        lz78y,
        multi_mcw,
        multi_mmc,
        prediction_bound,
    )
    from evaltool.engines.stats.sp800_90b._tuples import tuple_estimates
    from evaltool.engines.stats.sp800_90b.iid import (
        PERMUTATIONS,
        STATISTICS,
        ChiSquareResult,
        IIDResult,
        LRSTestResult,
        PermutationTestResult,
        assess_iid,
        chi_square_goodness_of_fit,
        chi_square_independence,
        compression_statistic,
        lrs_test,
        permutation_tests,
    )
    from evaltool.engines.stats.sp800_90b.non_iid import ESTIMATORS, NonIIDResult, assess_non_iid
    from evaltool.engines.stats.sp800_90b.restart import (
        RestartResult,
        max_count_cdf,
        restart_tests,
        sanity_cutoff,
    )

# Submodules that load numba kernels or scipy are imported on first use of one of their names,
# so that the check registry can read this package's constants without compiling anything.
_LAZY: dict[str, str] = {
    "collision": "_entropic",
    "compression": "_entropic",
    "markov": "_entropic",
    "most_common_value": "_entropic",
    "lag": "_predictors",
    "lz78y": "_predictors",
    "multi_mcw": "_predictors",
    "multi_mmc": "_predictors",
    "prediction_bound": "_predictors",
    "tuple_estimates": "_tuples",
    "PERMUTATIONS": "iid",
    "STATISTICS": "iid",
    "ChiSquareResult": "iid",
    "IIDResult": "iid",
    "LRSTestResult": "iid",
    "PermutationTestResult": "iid",
    "assess_iid": "iid",
    "chi_square_goodness_of_fit": "iid",
    "chi_square_independence": "iid",
    "compression_statistic": "iid",
    "lrs_test": "iid",
    "permutation_tests": "iid",
    "ESTIMATORS": "non_iid",
    "NonIIDResult": "non_iid",
    "assess_non_iid": "non_iid",
    "RestartResult": "restart",
    "max_count_cdf": "restart",
    "restart_tests": "restart",
    "sanity_cutoff": "restart",
}
"""Public name → the submodule defining it, imported when the name is first used."""


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "DEFAULT_ALPHA",
    "ESTIMATORS",
    "MIN_SAMPLES",
    "PERMUTATIONS",
    "STATISTICS",
    "Z_ALPHA",
    "ChiSquareResult",
    "EstimatorResult",
    "HealthTestResult",
    "IIDResult",
    "LRSTestResult",
    "NonIIDResult",
    "PermutationTestResult",
    "PreparedSamples",
    "RestartResult",
    "adaptive_proportion_alarms",
    "adaptive_proportion_cutoff",
    "adaptive_proportion_window",
    "assess_iid",
    "assess_non_iid",
    "chi_square_goodness_of_fit",
    "chi_square_independence",
    "collision",
    "compression",
    "compression_statistic",
    "health_tests",
    "lag",
    "lrs_test",
    "lz78y",
    "markov",
    "max_count_cdf",
    "most_common_value",
    "multi_mcw",
    "multi_mmc",
    "permutation_tests",
    "prediction_bound",
    "prepare_samples",
    "repetition_count_alarms",
    "repetition_count_cutoff",
    "restart_tests",
    "sanity_cutoff",
    "tuple_estimates",
]
