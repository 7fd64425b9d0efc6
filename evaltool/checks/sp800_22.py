"""NIST SP 800-22 rev. 1a checks on raw RNG output in an evidence slot.

``sp800-22.battery`` runs the selected tests (default: all 15) on m sequences of n bits of a
binary slot (MSB first) or of a 0/1 column of a table slot, streamed group by group, and
decides with the second-level analysis of §4.2: every test's proportion of passing sequences must
lie in its interval and its p-values must be uniform (p >= 0.0001, when there are at least 10
sequences). ``sp800-22.<test>`` does the same for one test. Too few bits for a test's recommended
minimum length (§2.x.7) is *inconclusive*.

``second_level``: ``document`` (default for checks) uses the real-valued interval of §4.2.1, so a
single sequence passes only if its p-value is >= alpha; ``reference`` reproduces the NIST
sts-2.1.2 report, whose bound truncated to an integer count accepts 0 of 1.

``decision``: the battery has about 188 result columns (148 templates alone). Deciding "fail if
any column leaves its §4.2.1 interval" (``per-column``, the suite's own report) fails a perfect
generator most of the time when m is small: with m = 8 sequences, one failing sequence in 8
leaves the interval, which happens to 7.7 % of the columns. The default ``family-wise`` keeps the
§4.2 statistics as measurements but decides with an exact binomial test of each column's failure
count against Binomial(m, alpha) and the column's uniformity p-value, at a family-wise level
``family_alpha`` shared over all columns with the Šidák correction (conservative for the
positively dependent template columns), so a fair generator fails with probability at most about
``family_alpha`` whatever m is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.engines.decision import binomial_upper_tail, sidak_level
from evaltool.engines.stats.sp800_22 import TEST_NAMES, resolve_tests
from evaltool.errors import EvidenceError, InsufficientDataError, ProfileError
from evaltool.io.bits import regroup
from evaltool.model.bundle import EvidenceKind
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.stats.sp800_22 import BatteryReport, Sp80022Params

_REF = "NIST SP 800-22r1a §2, §4.2"
_GROUP_BITS = 1 << 24


class Sp80022CommonParams(CheckParams):
    """Parameters shared by the SP 800-22 checks."""

    slot: str = Field(
        description="evidence slot: raw RNG output (binary, MSB first) or a table (with column)"
    )
    column: str | None = Field(
        None, description="for a table slot: the column of 0/1 values to test, in row order"
    )
    n: int = Field(1_000_000, gt=0, description="bits per sequence")
    m: int | Literal["auto"] = Field(
        "auto", description="number of sequences, or 'auto' for every complete sequence"
    )
    alpha: float = Field(0.01, gt=0, lt=1, description="significance level of each test")
    second_level: Literal["document", "reference"] = Field(
        "document", description="proportion/uniformity arithmetic: SP 800-22 §4.2 or sts-2.1.2"
    )
    variant: Literal["reference", "document"] = Field(
        "reference",
        description="first-level variant: sts-2.1.2 (default) or the document's corrections "
        "(exact overlapping-template probabilities, no random-excursions cycle limit)",
    )

    @field_validator("m")
    @classmethod
    def _positive_m(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 1:
            raise ValueError("m must be a positive integer or 'auto'")
        return v


class BatteryParams(Sp80022CommonParams):
    """Parameters of ``sp800-22.battery``."""

    tests: list[str] | None = Field(None, description="tests to run (default: all 15)")
    decision: Literal["family-wise", "per-column"] = Field(
        "family-wise",
        description="family-wise: exact binomial and uniformity tests with a Šidák correction "
        "over all columns; per-column: fail if any column leaves its §4.2.1 interval",
    )
    family_alpha: float = Field(
        0.01, gt=0, lt=1, description="family-wise false-failure probability of the battery"
    )

    @field_validator("tests")
    @classmethod
    def _known_tests(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            resolve_tests(v)
        return v


def _column_bits(ctx: CheckContext, slot: str, column: str) -> Iterator[NDArray[np.uint8]]:
    """The 0/1 values of a table column, chunk by chunk; any other value is bad evidence."""
    row = 0
    for chunk in ctx.iter_table(slot, [column]):
        values = chunk[column]
        if values.size and not np.isin(values, (0, 1)).all():
            bad = int(np.flatnonzero(~np.isin(values, (0, 1)))[0])
            value = values[bad].item()
            raise EvidenceError(
                f"column {column!r} of slot {slot!r} holds {value!r} at row {row + bad + 1}; "
                "only 0 and 1 are bits"
            )
        row += values.size
        yield values.astype(np.uint8)


def _run(
    p: Sp80022CommonParams, ctx: CheckContext, tests: tuple[str, ...], params: Sp80022Params
) -> BatteryReport:
    from evaltool.engines.stats.sp800_22 import (
        RECOMMENDED_MIN_BITS,
        BatteryPvalues,
        analyse,
        run_groups,
    )

    short = [t for t in tests if p.n < RECOMMENDED_MIN_BITS[t]]
    if short:
        needs = ", ".join(f"{t} needs n >= {RECOMMENDED_MIN_BITS[t]}" for t in short)
        raise InsufficientDataError(f"sequences of n = {p.n} bits are too short: {needs}")
    if p.column is None:
        bf = ctx.file(p.slot, kinds=[EvidenceKind.RNG_RAW])
        total = bf.size_bytes * 8
    else:
        total = sum(c.size for c in _column_bits(ctx, p.slot, p.column))
    available = total // p.n
    want = available if p.m == "auto" else p.m
    if available < 1 or available < want:
        where = f"slot {p.slot!r}" + ("" if p.column is None else f" column {p.column!r}")
        raise InsufficientDataError(
            f"{where} holds {total} bits, fewer than {max(want, 1)} sequence(s) of {p.n}"
        )
    if p.column is None:
        # First-level results merged from a campaign's shards of this very computation.
        done = ctx.precomputed.get(FirstLevelPlan(p.slot, p.n, want, tests, params).key)
        if isinstance(done, BatteryPvalues):
            return analyse(done, alpha=p.alpha, mode=p.second_level)
    group = max(1, _GROUP_BITS // p.n)
    if p.column is None:
        chunk_bits = max(8, (min(p.n, _GROUP_BITS) // 8) * 8)
        chunks = ctx.iter_bits(p.slot, chunk_bits)
    else:
        chunks = _column_bits(ctx, p.slot, p.column)
    part = run_groups(regroup(chunks, p.n, want, group), tests=tests, params=params)
    return analyse(part, alpha=p.alpha, mode=p.second_level)


@dataclass(frozen=True, slots=True)
class FirstLevelPlan:
    """The first-level computation an SP 800-22 check makes on a binary slot: ``m`` sequences
    of ``n`` bits from the start of the file (MSB first), ``tests`` with the engine ``params``.

    Its :attr:`key` names the computation exactly; a campaign that computed it in shards hands
    the merged result to the check under that key (``docs/campaigns.md``).
    """

    slot: str
    n: int
    m: int
    tests: tuple[str, ...]
    params: Sp80022Params

    @property
    def key(self) -> str:
        """The computation as a string (slot, n, m, tests and every engine parameter)."""
        return (f"sp800-22 first level: slot={self.slot} n={self.n} m={self.m} "
                f"tests={','.join(self.tests)} params={self.params!r}")


def first_level_plan(kind: str, params: CheckParams, size_bytes: int) -> FirstLevelPlan | None:
    """The :class:`FirstLevelPlan` of check ``kind`` with ``params`` on a binary slot of
    ``size_bytes``, or None when the check is not an SP 800-22 check on a binary slot or the
    slot is too short (the check itself then says why)."""
    if not kind.startswith("sp800-22.") or not isinstance(params, Sp80022CommonParams):
        return None
    if params.column is not None:
        return None
    available = size_bytes * 8 // params.n
    want = available if params.m == "auto" else params.m
    if available < 1 or available < want:
        return None
    test = kind.removeprefix("sp800-22.")
    if test == "battery" and isinstance(params, BatteryParams):
        return FirstLevelPlan(params.slot, params.n, want, resolve_tests(params.tests),
                              _engine_params(params))
    if test in TEST_NAMES and isinstance(params, SingleTestParams):
        return FirstLevelPlan(params.slot, params.n, want, (test,),
                              _engine_params(params, **_single_overrides(test, params)))
    return None


def _engine_params(p: Sp80022CommonParams, **overrides: object) -> Sp80022Params:
    from evaltool.engines.stats.sp800_22 import Sp80022Params

    document = p.variant == "document"
    base: dict[str, object] = {
        "overlapping_probabilities": "exact" if document else "reference",
        "random_excursions_reference_cycle_limit": not document,
    }
    base.update(overrides)
    return Sp80022Params(**base)  # type: ignore[arg-type]


UNIFORMITY_MIN_SEQUENCES = 50
"""Fewest p-values in a column for its §4.2.2 uniformity p-value to join the family-wise
decision: 5 expected per bin of the ten, the usual condition for Pearson's χ² approximation of
the statistic's tail. With 16 sequences (2^24 bits) the approximation is far too light at the
Šidák level: 2 of 8 ideal simulated captures failed on it (docs/scenarios.md, calibration)."""


def _family_wise(report: BatteryReport, family_alpha: float) -> Outcome | None:
    """Decide the battery with a Šidák-corrected family of exact column tests.

    Each column contributes P(X >= failures) for X ~ Binomial(m, alpha) (the probability that a
    fair generator fails at least as many sequences) and, when computed on at least
    ``UNIFORMITY_MIN_SEQUENCES`` p-values, its §4.2.2 uniformity p-value. Returns None when no
    column was decided.
    """
    tests: list[tuple[str, float]] = []
    for name, s in report.tests.items():
        for c in s.columns:
            if c.sample_size == 0:
                continue
            label = f"{name} {c.label}".strip()
            failures = c.sample_size - c.passed_count
            p_prop = binomial_upper_tail(failures, c.sample_size, report.alpha)
            tests.append((f"{label} ({c.passed_count}/{c.sample_size} passed)", p_prop))
            if c.uniformity_pvalue is not None and c.sample_size >= UNIFORMITY_MIN_SEQUENCES:
                tests.append((f"{label} (uniformity)", float(c.uniformity_pvalue)))
    if not tests:
        return None
    # Šidák: per-test level so that P(any false failure) = family_alpha for independent tests.
    level = sidak_level(family_alpha, len(tests))
    worst_label, worst_p = min(tests, key=lambda t: t[1])
    failing = [t for t in tests if t[1] < level]
    subject = (f"SP 800-22 on {report.sequences} sequence(s) of {report.n} bits "
               f"(α = {report.alpha}, family-wise {family_alpha} over {len(tests)} column tests)")
    ms = [
        Measurement(name="sequences", value=report.sequences),
        Measurement(name="column_tests", value=len(tests)),
        Measurement(name="smallest_column_pvalue", value=worst_p, threshold=float(level),
                    passes_if=">="),
    ]
    if failing:
        shown = "; ".join(f"{lab}: p = {fmt(pv)}" for lab, pv in failing[:4])
        more = f" and {len(failing) - 4} more" if len(failing) > 4 else ""
        return Outcome.failed(
            f"{subject}: {len(failing)} column(s) below the per-test level {fmt(float(level))}: "
            f"{shown}{more}", ms)
    return Outcome.passed(
        f"{subject}: every column test p >= {fmt(float(level))} (smallest {fmt(worst_p)}, "
        f"{worst_label})", ms)


SECTION: dict[str, int] = {
    "frequency": 1, "block-frequency": 2, "runs": 3, "longest-run": 4, "rank": 5, "dft": 6,
    "non-overlapping-template": 7, "overlapping-template": 8, "universal": 9,
    "linear-complexity": 10, "serial": 11, "approximate-entropy": 12, "cumulative-sums": 13,
    "random-excursions": 14, "random-excursions-variant": 15,
}
"""Section 2.x of SP 800-22r1a describing each test (the x of the battery's proportion plot)."""


def plot_series(report: BatteryReport, *, per_column: bool = False) -> tuple[Series, ...]:
    """The battery's second-level figures for the report (§4.2).

    - the p-values of every column pooled into the ten bins C1..C10 of §4.2.2 (uniform under
      the null hypothesis), drawn as counts over the bin edges 0, 0.1, ..., 1;
    - the proportion of passing sequences per test (the worst column of each test, labelled
      with the test's name; x = its section 2.x) or, with ``per_column``, per column of the one
      test (labelled with the column's label; x = 1, 2, ...), against the lower end of the
      §4.2.1 interval of the largest sample (in the arithmetic of ``report.mode``).
    """
    columns = [(name, c) for name, s in report.tests.items() for c in s.columns
               if c.sample_size > 0]
    if not columns:
        return ()
    counts = np.sum([c.histogram for _, c in columns], axis=0)
    total = int(counts.sum())
    out = [Series(
        name=f"p-values per bin (expected {fmt(total / 10)})",
        values=tuple(float(v) for v in counts.tolist()),
        x=tuple(i / 10 for i in range(11)), x_name="p-value (bins C1..C10 of §4.2.2)",
        style="binned")]
    lower = max(c.proportion_range[0] for _, c in columns if c.proportion_range is not None)
    if per_column:
        values = [c.proportion for _, c in columns]
        x = [float(i) for i in range(1, len(columns) + 1)]
        labels = [c.label or str(i) for i, (_, c) in enumerate(columns, 1)]
        x_name = f"column of the {columns[0][0]} test"
    else:
        tests = sorted((n for n, s in report.tests.items() if s.proportion is not None),
                       key=SECTION.__getitem__)
        values = [report.tests[n].proportion for n in tests]
        x = [float(SECTION[n]) for n in tests]
        labels = tests
        x_name = "SP 800-22 test (x = section 2.x)"
    out.append(Series(
        name=f"proportion passing (α = {fmt(report.alpha)})",
        values=tuple(values), x=tuple(x), x_labels=tuple(labels), x_name=x_name,
        threshold=lower, passes_if=">=", style="points"))
    return tuple(out)


def _outcome(report: BatteryReport) -> Outcome:
    ms: list[Measurement] = [Measurement(name="sequences", value=report.sequences)]
    failing: list[str] = []
    for name, s in report.tests.items():
        rng = s.proportion_range
        ms.append(
            Measurement(
                name=f"{name}.proportion",
                value=s.proportion,
                threshold=None if rng is None else rng[0],
                passes_if=None if rng is None else ">=",
            )
        )
        ms.append(
            Measurement(
                name=f"{name}.uniformity_pvalue",
                value=s.uniformity_pvalue,
                threshold=None if s.uniformity_pvalue is None else 0.0001,
                passes_if=None if s.uniformity_pvalue is None else ">=",
            )
        )
        if s.passed is False:
            bad = [c for c in s.columns if c.passed is False]
            what = []
            for c in bad[:3]:
                label = f" {c.label}" if c.label else ""
                detail = f"{c.passed_count}/{c.sample_size} passed"
                if c.uniformity_ok is False:
                    detail += f", uniformity p = {fmt(c.uniformity_pvalue)}"
                what.append(f"{name}{label} ({detail})")
            more = f" and {len(bad) - 3} more columns" if len(bad) > 3 else ""
            failing.append("; ".join(what) + more)
    subject = f"SP 800-22 on {report.sequences} sequence(s) of {report.n} bits (α = {report.alpha})"
    verdict = report.passed
    if verdict is None:
        return Outcome.inconclusive(f"{subject}: no test applied to any sequence", ms)
    if verdict is False:
        return Outcome.failed(f"{subject}: failed {'; '.join(failing)}", ms)
    decided = [n for n, s in report.tests.items() if s.passed is not None]
    return Outcome.passed(f"{subject}: proportion and uniformity pass for {', '.join(decided)}", ms)


@check("sp800-22.battery", params=BatteryParams, ref=_REF)
def battery(p: BatteryParams, ctx: CheckContext) -> Outcome:
    """SP 800-22 battery on RNG output: every selected test passes the second-level analysis."""
    tests = resolve_tests(p.tests)
    report = _run(p, ctx, tests, _engine_params(p))
    nist = _outcome(report)
    plots = plot_series(report)
    if p.decision == "per-column":
        return nist.with_series(*plots)
    decided = _family_wise(report, p.family_alpha)
    if decided is None:
        return nist.with_series(*plots)
    # The suite's own per-column §4.2 figures stay in the result for the report's appendix.
    return Outcome(decided.verdict, decided.reason, (*decided.measurements, *nist.measurements),
                   plots)


class SingleTestParams(Sp80022CommonParams):
    """Parameters of a single-test ``sp800-22.<test>`` kind."""

    block_length: int | None = Field(
        None,
        gt=0,
        description="the test's block/template length (block-frequency M, templates m, "
        "approximate-entropy m, serial m, linear-complexity M); default: the suite's",
    )


_BLOCK_PARAM = {
    "block-frequency": "block_frequency_block_size",
    "non-overlapping-template": "non_overlapping_template_length",
    "overlapping-template": "overlapping_template_length",
    "approximate-entropy": "approximate_entropy_block_length",
    "serial": "serial_block_length",
    "linear-complexity": "linear_complexity_block_size",
}


def _single_overrides(test: str, p: SingleTestParams) -> dict[str, object]:
    overrides: dict[str, object] = {}
    if p.block_length is not None:
        if test not in _BLOCK_PARAM:
            raise ProfileError(f"the {test} test takes no block_length parameter")
        overrides[_BLOCK_PARAM[test]] = p.block_length
    return overrides


def _register_single(test: str) -> None:
    def run_one(p: SingleTestParams, ctx: CheckContext) -> Outcome:
        report = _run(p, ctx, (test,), _engine_params(p, **_single_overrides(test, p)))
        return _outcome(report).with_series(*plot_series(report, per_column=True))

    run_one.__name__ = f"sp800_22_{test.replace('-', '_')}"
    run_one.__doc__ = f"SP 800-22 {test} test on RNG output, decided by the second-level analysis."
    check(f"sp800-22.{test}", params=SingleTestParams, ref=_REF)(run_one)


for _test in TEST_NAMES:
    _register_single(_test)


def decide_bits(chunks: Iterator[NDArray[np.uint8]], *, n: int, m: int, alpha: float = 0.01,
                family_alpha: float = 0.01) -> Outcome:
    """The ``sp800-22.battery`` decision (all 15 tests, family-wise) on m sequences of n bits
    given as 0/1 chunks; for bits that are not an evidence slot of their own (``kdi.uniqueness``
    on delivered keys)."""
    from evaltool.engines.stats.sp800_22 import analyse, run_groups

    p = BatteryParams(slot="-", n=n, m=m, alpha=alpha, family_alpha=family_alpha)
    report = analyse(run_groups(regroup(chunks, n, m, max(1, _GROUP_BITS // n)),
                                tests=resolve_tests(None), params=_engine_params(p)),
                     alpha=alpha, mode=p.second_level)
    return _family_wise(report, family_alpha) or _outcome(report)
