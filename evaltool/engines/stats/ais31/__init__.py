"""BSI AIS 20/31 statistical test procedures A and B (Killmann & Schindler, "A proposal for:
Functionality classes for random number generators", v2.0, 2011, §2.4.4 and §5.4).

The basic tests T0–T8 (:mod:`.basic`), the procedures with their repetition rule
(:mod:`.procedures`) and the result objects (:mod:`.results`). Pure computation on bits; the
readings of the document are in docs/methods/ais31.md.
"""

from __future__ import annotations

from evaltool.engines.stats.ais31.basic import (
    autocorrelation,
    autocorrelation_shifts,
    coron_statistic,
    disjointness,
    entropy,
    homogeneity_statistic,
    long_run,
    monobit,
    multinomial_comparison,
    pair_dependence,
    poker,
    runs,
    runs_and_long_run,
    uniform_distribution,
)
from evaltool.engines.stats.ais31.procedures import (
    PROCEDURE_A_BASIC_TESTS,
    PROCEDURE_A_BITS,
    PROCEDURE_A_STAGES,
    PROCEDURE_B_BASIC_TESTS,
    PROCEDURE_B_MIN_BITS,
    PROCEDURE_B_STAGES,
    SEQUENCES,
    Ais31InsufficientDataError,
    as_procedure_bits,
    bits_needed,
    procedure_a,
    procedure_b,
)
from evaltool.engines.stats.ais31.results import (
    Attempt,
    BasicTestResult,
    Bounds,
    Outcome,
    ProcedureResult,
)

__all__ = [
    "PROCEDURE_A_BASIC_TESTS",
    "PROCEDURE_A_BITS",
    "PROCEDURE_A_STAGES",
    "PROCEDURE_B_BASIC_TESTS",
    "PROCEDURE_B_MIN_BITS",
    "PROCEDURE_B_STAGES",
    "SEQUENCES",
    "Ais31InsufficientDataError",
    "Attempt",
    "BasicTestResult",
    "Bounds",
    "Outcome",
    "ProcedureResult",
    "as_procedure_bits",
    "autocorrelation",
    "autocorrelation_shifts",
    "bits_needed",
    "coron_statistic",
    "disjointness",
    "entropy",
    "homogeneity_statistic",
    "long_run",
    "monobit",
    "multinomial_comparison",
    "pair_dependence",
    "poker",
    "procedure_a",
    "procedure_b",
    "runs",
    "runs_and_long_run",
    "uniform_distribution",
]
