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

from typing import TYPE_CHECKING

from evaltool.lazy import lazy_exports

if TYPE_CHECKING:
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
    from evaltool.engines.leakage._power import (
        MDEResult,
        minimum_detectable_effect,
        rows_for_effect,
    )
    from evaltool.engines.leakage._ttest import (
        WelchTResult,
        centred_product_t,
        lagged_centred_product_t,
        preprocessed_class_stats,
        welch_t,
        welch_t_from_moments,
    )

# Every submodule loads scipy or numba kernels: each is imported on first use of one of its names,
# so that registering the check kinds (``evaltool validate``) compiles and loads nothing.
_LAZY: dict[str, str] = {
    "SNRResult": "_anova",
    "WelchANOVAResult": "_anova",
    "snr": "_anova",
    "welch_anova": "_anova",
    "DEFAULT_SWEEP": "_contingency",
    "ContingencyAccumulator": "_contingency",
    "IndependenceTestResult": "_contingency",
    "LeakageBoundResult": "_contingency",
    "SweepResult": "_contingency",
    "chi2_sweep": "_contingency",
    "independence_test": "_contingency",
    "mutual_information": "_contingency",
    "pool_sparse_bins": "_contingency",
    "suggest_binning": "_contingency",
    "total_variation_distance": "_contingency",
    "DecoyConsistencyResult": "_decoy",
    "decoy_consistency": "_decoy",
    "decoy_noncentrality": "_decoy",
    "DEFAULT_CALIBRATION_ROWS": "_features",
    "FeatureBatteryAccumulator": "_features",
    "FeatureBatteryResult": "_features",
    "ClassCoMoments": "_moments",
    "ClassMoments": "_moments",
    "CoMomentAccumulator": "_moments",
    "LaggedPairAccumulator": "_moments",
    "MomentAccumulator": "_moments",
    "default_leaf_rows": "_moments",
    "AfterpulseBoundTest": "_monitor_power",
    "DecoyFamily": "_monitor_power",
    "afterpulse_bound_test": "_monitor_power",
    "binomial_critical_ratio": "_monitor_power",
    "decoy_family": "_monitor_power",
    "mismatch_lower_bound": "_monitor_power",
    "suppression_mde": "_monitor_power",
    "suppression_trials_needed": "_monitor_power",
    "AfterpulseResult": "_monitors",
    "DarkCountResult": "_monitors",
    "DeadTimeResult": "_monitors",
    "EfficiencyMismatchResult": "_monitors",
    "MismatchIntervalResult": "_monitors",
    "PatternEffectResult": "_monitors",
    "afterpulse_excess": "_monitors",
    "afterpulse_from_counts": "_monitors",
    "dark_count_test": "_monitors",
    "dead_time_violations": "_monitors",
    "efficiency_mismatch": "_monitors",
    "mismatch_interval_test": "_monitors",
    "pattern_effect": "_monitors",
    "TVLA_THRESHOLD": "_multiple",
    "benjamini_hochberg": "_multiple",
    "confirm_two_datasets": "_multiple",
    "holm": "_multiple",
    "sidak": "_multiple",
    "sidak_t_threshold": "_multiple",
    "tvla_family_alpha": "_multiple",
    "PatternCellsResult": "_pattern",
    "PatternEffectAccumulator": "_pattern",
    "interval_excess_z": "_pattern",
    "pattern_cells": "_pattern",
    "MDEResult": "_power",
    "minimum_detectable_effect": "_power",
    "rows_for_effect": "_power",
    "WelchTResult": "_ttest",
    "centred_product_t": "_ttest",
    "lagged_centred_product_t": "_ttest",
    "preprocessed_class_stats": "_ttest",
    "welch_t": "_ttest",
    "welch_t_from_moments": "_ttest",
}
"""Public name → the submodule defining it, imported when the name is first used."""


__getattr__ = lazy_exports(__name__, _LAZY)


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
