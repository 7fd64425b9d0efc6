"""Leakage assessment: streaming TVLA-style statistics on per-pulse telemetry and traces.

Public API (everything else in this package is private):

- accumulators: :class:`MomentAccumulator`, :class:`CoMomentAccumulator`,
  :class:`LaggedPairAccumulator`, :class:`ContingencyAccumulator` and their summaries
  :class:`ClassMoments`, :class:`ClassCoMoments`;
- Welch t-tests: :func:`welch_t_from_moments`, :func:`centred_product_t`, :func:`welch_t`,
  :func:`lagged_centred_product_t` (:class:`WelchTResult`);
- label × binned feature: :func:`suggest_binning`, :func:`independence_test`,
  :func:`chi2_sweep`, :func:`pool_sparse_bins`, :func:`mutual_information`,
  :func:`total_variation_distance`;
- multi-class: :func:`snr`, :func:`welch_anova`;
- error control: :func:`holm`, :func:`sidak`, :func:`benjamini_hochberg`,
  :func:`sidak_t_threshold`, :func:`tvla_family_alpha`, :func:`confirm_two_datasets`;
- power: :func:`minimum_detectable_effect`, :func:`rows_for_effect`;
- monitor statistics: :func:`dark_count_test`, :func:`efficiency_mismatch`,
  :func:`dead_time_violations`, :func:`afterpulse_excess`, :func:`pattern_effect`,
  :func:`mismatch_interval_test`, :func:`afterpulse_from_counts`;
- decoy consistency: :func:`decoy_consistency` (:class:`DecoyConsistencyResult`),
  :func:`decoy_noncentrality`;
- monitor critical values and power: :func:`binomial_critical_ratio`, :func:`suppression_mde`,
  :func:`suppression_trials_needed`, :func:`mismatch_lower_bound`, :func:`decoy_family`
  (:class:`DecoyFamily`), :func:`afterpulse_bound_test` (:class:`AfterpulseBoundTest`);
- streaming pattern effect: :class:`PatternEffectAccumulator` (:class:`PatternCellsResult`),
  :func:`pattern_cells`, :func:`interval_excess_z`;
- the whole battery on a per-pulse table: :class:`FeatureBatteryAccumulator`
  (:class:`FeatureBatteryResult`).
"""

from __future__ import annotations

from evaltool.engines.leakage._anova import SNRResult, WelchANOVAResult, snr, welch_anova
from evaltool.engines.leakage._contingency import (
    DEFAULT_SWEEP,
    ContingencyAccumulator,
    IndependenceTestResult,
    LeakageBoundResult,
    SweepResult,
    chi2_sweep,
    independence_test,
    mutual_information,
    pool_sparse_bins,
    suggest_binning,
    total_variation_distance,
)
from evaltool.engines.leakage._decoy import (
    DecoyConsistencyResult,
    decoy_consistency,
    decoy_noncentrality,
)
from evaltool.engines.leakage._features import (
    DEFAULT_CALIBRATION_ROWS,
    FeatureBatteryAccumulator,
    FeatureBatteryResult,
)
from evaltool.engines.leakage._moments import (
    ClassCoMoments,
    ClassMoments,
    CoMomentAccumulator,
    LaggedPairAccumulator,
    MomentAccumulator,
    default_leaf_rows,
)
from evaltool.engines.leakage._monitor_power import (
    AfterpulseBoundTest,
    DecoyFamily,
    afterpulse_bound_test,
    binomial_critical_ratio,
    decoy_family,
    mismatch_lower_bound,
    suppression_mde,
    suppression_trials_needed,
)
from evaltool.engines.leakage._monitors import (
    AfterpulseResult,
    DarkCountResult,
    DeadTimeResult,
    EfficiencyMismatchResult,
    MismatchIntervalResult,
    PatternEffectResult,
    afterpulse_excess,
    afterpulse_from_counts,
    dark_count_test,
    dead_time_violations,
    efficiency_mismatch,
    mismatch_interval_test,
    pattern_effect,
)
from evaltool.engines.leakage._multiple import (
    TVLA_THRESHOLD,
    benjamini_hochberg,
    confirm_two_datasets,
    holm,
    sidak,
    sidak_t_threshold,
    tvla_family_alpha,
)
from evaltool.engines.leakage._pattern import (
    PatternCellsResult,
    PatternEffectAccumulator,
    interval_excess_z,
    pattern_cells,
)
from evaltool.engines.leakage._power import MDEResult, minimum_detectable_effect, rows_for_effect
from evaltool.engines.leakage._ttest import (
    WelchTResult,
    centred_product_t,
    lagged_centred_product_t,
    preprocessed_class_stats,
    welch_t,
    welch_t_from_moments,
)

__all__ = [
    "DEFAULT_CALIBRATION_ROWS",
    "DEFAULT_SWEEP",
    "TVLA_THRESHOLD",
    "AfterpulseBoundTest",
    "AfterpulseResult",
    "ClassCoMoments",
    "ClassMoments",
    "CoMomentAccumulator",
    "ContingencyAccumulator",
    "DarkCountResult",
    "DeadTimeResult",
    "DecoyConsistencyResult",
    "DecoyFamily",
    "EfficiencyMismatchResult",
    "FeatureBatteryAccumulator",
    "FeatureBatteryResult",
    "IndependenceTestResult",
    "LaggedPairAccumulator",
    "LeakageBoundResult",
    "MDEResult",
    "MismatchIntervalResult",
    "MomentAccumulator",
    "PatternCellsResult",
    "PatternEffectAccumulator",
    "PatternEffectResult",
    "SNRResult",
    "SweepResult",
    "WelchANOVAResult",
    "WelchTResult",
    "afterpulse_bound_test",
    "afterpulse_excess",
    "afterpulse_from_counts",
    "benjamini_hochberg",
    "binomial_critical_ratio",
    "centred_product_t",
    "chi2_sweep",
    "confirm_two_datasets",
    "dark_count_test",
    "dead_time_violations",
    "decoy_consistency",
    "decoy_family",
    "decoy_noncentrality",
    "default_leaf_rows",
    "efficiency_mismatch",
    "holm",
    "independence_test",
    "interval_excess_z",
    "lagged_centred_product_t",
    "minimum_detectable_effect",
    "mismatch_interval_test",
    "mismatch_lower_bound",
    "mutual_information",
    "pattern_cells",
    "pattern_effect",
    "pool_sparse_bins",
    "preprocessed_class_stats",
    "rows_for_effect",
    "sidak",
    "sidak_t_threshold",
    "snr",
    "suggest_binning",
    "suppression_mde",
    "suppression_trials_needed",
    "total_variation_distance",
    "tvla_family_alpha",
    "welch_anova",
    "welch_t",
    "welch_t_from_moments",
]
