"""The SP 800-22 battery: all (or some) of the 15 tests over m sequences, mergeable partial
results, and the second-level report in the JSON form of ``evaltool rng sp800-22 --json``.

Typical use::

    part = run_tests(bits_2d)                     # (m, n) array, one row per sequence
    part = part.merge(run_tests(more_bits_2d))    # e.g. computed in another process
    report = analyse(part, alpha=0.01)
    report.to_dict()

The first-level p-values of disjoint groups of sequences are independent, so
:meth:`BatteryPvalues.merge` of group results equals the run over all sequences.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from evaltool.engines.stats.sp800_22 import first_level as fl
from evaltool.engines.stats.sp800_22.results import (
    Sp80022Result,
    merge_results,
    resolve_tests,
)
from evaltool.engines.stats.sp800_22.second_level import Mode, SecondLevel, second_level
from evaltool.errors import InsufficientDataError


@dataclass(frozen=True, slots=True)
class Sp80022Params:
    """Settable parameters of the battery; the defaults are the reference suite's (§2, §A)."""

    block_frequency_block_size: int = 128
    non_overlapping_template_length: int = 9
    overlapping_template_length: int = 9
    overlapping_probabilities: Literal["reference", "exact"] = "reference"
    universal_block_length: int | None = None
    approximate_entropy_block_length: int = 10
    serial_block_length: int = 16
    linear_complexity_block_size: int = 500
    random_excursions_reference_cycle_limit: bool = True


def _runner(name: str, params: Sp80022Params) -> Callable[[ArrayLike], Sp80022Result]:
    p = params
    table: dict[str, Callable[[ArrayLike], Sp80022Result]] = {
        "frequency": fl.frequency,
        "block-frequency": lambda b: fl.block_frequency(b, block_size=p.block_frequency_block_size),
        "cumulative-sums": fl.cumulative_sums,
        "runs": fl.runs,
        "longest-run": fl.longest_run,
        "rank": fl.rank,
        "dft": fl.dft,
        "non-overlapping-template": lambda b: fl.non_overlapping_template(
            b, template_length=p.non_overlapping_template_length
        ),
        "overlapping-template": lambda b: fl.overlapping_template(
            b,
            template_length=p.overlapping_template_length,
            probabilities=p.overlapping_probabilities,
        ),
        "universal": lambda b: fl.universal(b, block_length=p.universal_block_length),
        "approximate-entropy": lambda b: fl.approximate_entropy(
            b, block_length=p.approximate_entropy_block_length
        ),
        "random-excursions": lambda b: fl.random_excursions(
            b, reference_cycle_limit=p.random_excursions_reference_cycle_limit
        ),
        "random-excursions-variant": fl.random_excursions_variant,
        "serial": lambda b: fl.serial(b, block_length=p.serial_block_length),
        "linear-complexity": lambda b: fl.linear_complexity(
            b, block_size=p.linear_complexity_block_size
        ),
    }
    return table[name]


@dataclass(frozen=True, slots=True, eq=False)
class BatteryPvalues:
    """First-level results of the battery on some sequences: mergeable partial statistics.

    Attributes
    ----------
    n:
        Bits per sequence.
    results:
        Test name → :class:`Sp80022Result` (p-values of every sequence), suite order.
    skipped:
        Test name → reason, for tests the sequence length does not allow.
    params:
        The parameters used.
    """

    n: int
    results: Mapping[str, Sp80022Result]
    skipped: Mapping[str, str] = field(default_factory=dict)
    params: Sp80022Params = field(default_factory=Sp80022Params)

    @property
    def sequences(self) -> int:
        """Number of sequences m."""
        first = next(iter(self.results.values()), None)
        return 0 if first is None else first.sequences

    def merge(self, *others: BatteryPvalues) -> BatteryPvalues:
        """Concatenate other parts' sequences after this one's (same n, tests, parameters)."""
        return merge_battery([self, *others])


def merge_battery(parts: Sequence[BatteryPvalues]) -> BatteryPvalues:
    """Concatenate partial battery results in order; they must agree on n, tests, parameters."""
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    for other in parts[1:]:
        if other.n != first.n or other.params != first.params:
            raise ValueError("cannot merge battery results with different n or parameters")
        if tuple(other.results) != tuple(first.results) or dict(other.skipped) != dict(
            first.skipped
        ):
            raise ValueError("cannot merge battery results over different tests")
    merged = {name: merge_results([p.results[name] for p in parts]) for name in first.results}
    return BatteryPvalues(first.n, merged, dict(first.skipped), first.params)


def run_tests(
    bits: ArrayLike,
    *,
    tests: Iterable[str] | None = None,
    params: Sp80022Params | None = None,
) -> BatteryPvalues:
    """Run the selected tests (default: all 15) on a 1-D sequence or an ``(m, n)`` array.

    A test the sequence length does not allow is recorded in ``skipped`` with its reason; when
    no selected test can run at all, :class:`InsufficientDataError` is raised.
    """
    params = params or Sp80022Params()
    x = fl._as_matrix(bits)
    results: dict[str, Sp80022Result] = {}
    skipped: dict[str, str] = {}
    for name in resolve_tests(tests):
        try:
            results[name] = _runner(name, params)(x)
        except InsufficientDataError as exc:
            skipped[name] = str(exc)
    if not results:
        raise InsufficientDataError(
            "no SP 800-22 test can run on sequences of this length: " + "; ".join(skipped.values())
        )
    return BatteryPvalues(int(x.shape[1]), results, skipped, params)


def _run_group(args: tuple[Any, tuple[str, ...], Sp80022Params]) -> BatteryPvalues:
    bits, tests, params = args
    return run_tests(bits, tests=tests, params=params)


def run_groups(
    groups: Iterable[ArrayLike],
    *,
    tests: Iterable[str] | None = None,
    params: Sp80022Params | None = None,
    workers: int = 1,
) -> BatteryPvalues:
    """Run the battery over an iterable of ``(m_i, n)`` groups and merge, in group order.

    With ``workers > 1`` the groups run in that many processes; at most ``2·workers`` groups
    are in flight, so a streamed input stays bounded in memory.
    """
    names = resolve_tests(tests)
    params = params or Sp80022Params()
    parts: list[BatteryPvalues] = []
    if workers <= 1:
        parts.extend(run_tests(g, tests=names, params=params) for g in groups)
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            pending: list[concurrent.futures.Future[BatteryPvalues]] = []
            it: Iterator[ArrayLike] = iter(groups)
            for g in it:
                pending.append(pool.submit(_run_group, (np.asarray(g), names, params)))
                if len(pending) >= 2 * workers:
                    parts.append(pending.pop(0).result())
            parts.extend(f.result() for f in pending)
    if not parts:
        raise InsufficientDataError("no sequence to test")
    return merge_battery(parts)


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Sp80022Summary:
    """Second-level summary of one test: every column's analysis and the aggregate.

    The aggregate, used in the JSON report, is the worst column: the smallest proportion and
    uniformity p-value, and ``passed`` only when every column with a sample passes.
    """

    result: Sp80022Result
    columns: tuple[SecondLevel, ...]

    @property
    def proportion(self) -> float | None:
        """Smallest proportion of passing sequences over the columns."""
        vals = [c.proportion for c in self.columns if c.proportion is not None]
        return min(vals) if vals else None

    @property
    def proportion_range(self) -> tuple[float, float] | None:
        """Accepted proportion interval (of the column with the largest sample)."""
        cols = [c for c in self.columns if c.proportion_range is not None]
        if not cols:
            return None
        return max(cols, key=lambda c: c.sample_size).proportion_range

    @property
    def uniformity_pvalue(self) -> float | None:
        """Smallest uniformity p-value over the columns."""
        vals = [c.uniformity_pvalue for c in self.columns if c.uniformity_pvalue is not None]
        return min(vals) if vals else None

    @property
    def passed(self) -> bool | None:
        """Every column with a sample passes; None when no column has one."""
        verdicts = [c.passed for c in self.columns if c.passed is not None]
        return all(verdicts) if verdicts else None

    def to_dict(self) -> dict[str, Any]:
        """The per-test object of the ``--json`` output."""
        pv = [[None if np.isnan(v) else float(v) for v in row] for row in self.result.pvalues]
        rng = self.proportion_range
        return {
            "pvalues": pv,
            "proportion": self.proportion,
            "proportion_range": None if rng is None else [rng[0], rng[1]],
            "uniformity_pvalue": self.uniformity_pvalue,
            "passed": self.passed,
        }


_EXCURSION_TESTS = frozenset({"random-excursions", "random-excursions-variant"})


@dataclass(frozen=True, slots=True, eq=False)
class BatteryReport:
    """The battery's second-level report on m sequences (SP 800-22 rev. 1a §4.2)."""

    n: int
    sequences: int
    alpha: float
    mode: Mode
    tests: Mapping[str, Sp80022Summary]
    skipped: Mapping[str, str]

    @property
    def passed(self) -> bool | None:
        """Every test with a verdict passed; None when no test gave one."""
        verdicts = [t.passed for t in self.tests.values() if t.passed is not None]
        return all(verdicts) if verdicts else None

    def to_dict(self) -> dict[str, Any]:
        """``{"n", "sequences", "alpha", "tests": {NAME: {...}}}`` as ``--json`` prints it.

        Tests that could not run for lack of bits are left out of ``tests`` and listed under a
        ``"skipped"`` key (test name → reason), present only when some test was skipped.
        """
        out: dict[str, Any] = {
            "n": self.n,
            "sequences": self.sequences,
            "alpha": self.alpha,
            "tests": {name: s.to_dict() for name, s in self.tests.items()},
        }
        if self.skipped:
            out["skipped"] = dict(self.skipped)
        return out


def analyse(
    part: BatteryPvalues, *, alpha: float = 0.01, mode: Mode = "reference"
) -> BatteryReport:
    """Second-level analysis of every test and column (see :mod:`.second_level`)."""
    summaries: dict[str, Sp80022Summary] = {}
    for name, res in part.results.items():
        cols = tuple(
            second_level(
                res.pvalues[:, j],
                alpha=alpha,
                mode=mode,
                excursion=name in _EXCURSION_TESTS,
                label=res.labels[j],
            )
            for j in range(res.pvalues.shape[1])
        )
        summaries[name] = Sp80022Summary(res, cols)
    return BatteryReport(part.n, part.sequences, alpha, mode, summaries, dict(part.skipped))
