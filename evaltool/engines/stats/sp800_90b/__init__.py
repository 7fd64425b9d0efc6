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

from evaltool.engines.stats.sp800_90b._common import (
    MIN_SAMPLES,
    Z_ALPHA,
    EstimatorResult,
    PreparedSamples,
    prepare_samples,
)
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
