"""Result objects of the AIS 20/31 test procedures: bounds, basic tests, attempts, procedures.

The model follows the SP 800-22 engine's (:mod:`evaltool.engines.stats.sp800_22.results`): one
object per basic test holding arrays over its instances (the 257 sequences of procedure A, the
comparisons of T7), so a caller can tabulate or plot every statistic against its bounds. See
docs/methods/ais31.md for the tests, bounds and procedures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Outcome = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True, slots=True)
class Bounds:
    """An acceptance interval ``lower <(=) x <(=) upper``; ``None`` is an open end."""

    lower: float | None
    upper: float | None
    lower_inclusive: bool = False
    upper_inclusive: bool = False

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the acceptance interval (the test passes on ``x``)."""
        return bool(self.mask(np.asarray(x, dtype=np.float64)))

    def mask(self, x: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Elementwise :meth:`contains`."""
        ok = np.ones(np.shape(x), dtype=bool)
        if self.lower is not None:
            ok &= (x >= self.lower) if self.lower_inclusive else (x > self.lower)
        if self.upper is not None:
            ok &= (x <= self.upper) if self.upper_inclusive else (x < self.upper)
        return ok

    def as_dict(self) -> dict[str, object]:
        """Plain values for a JSON report."""
        return {
            "lower": self.lower,
            "upper": self.upper,
            "lower_inclusive": self.lower_inclusive,
            "upper_inclusive": self.upper_inclusive,
        }

    def describe(self, name: str = "x") -> str:
        """The interval as the document writes it, e.g. ``9654 < x < 10346``."""

        def fmt(v: float) -> str:
            return f"{v:g}" if v != int(v) else str(int(v))

        text = name
        if self.lower is not None:
            text = f"{fmt(self.lower)} {'<=' if self.lower_inclusive else '<'} {text}"
        if self.upper is not None:
            text = f"{text} {'<=' if self.upper_inclusive else '<'} {fmt(self.upper)}"
        return text


@dataclass(frozen=True, slots=True, eq=False)
class BasicTestResult:
    """One basic test (T0–T8) applied to ``m`` instances (sequences or comparisons).

    A basic test counts once per instance in the procedure's tally of failed basic tests; T3
    has 12 statistics per instance (run counts of 0s and 1s of lengths 1–5 and >= 6), each
    with its own interval, and the instance passes when all 12 lie in theirs.

    Attributes
    ----------
    test:
        ``"T0"`` … ``"T8"``.
    name:
        The document's name of the test ("monobit", "poker", …).
    statistic:
        ``(m, k)`` float array, one row per instance, columns as ``labels``.
    labels:
        ``k`` column labels.
    bounds:
        ``k`` acceptance intervals, one per column.
    passed:
        ``(m,)`` bool array.
    offsets:
        ``(m, 2)`` int array: the half-open range ``[start, stop)`` of input bits each instance
        used, counted from the start of the input given to the procedure.
    instances:
        ``m`` instance labels (``"sequence 1"``, ``"TF(0,0) vs TF(1,0)"``, …).
    details:
        Further per-instance values as ``(name, (m,) array)`` pairs (T5: the shift τ₀).
    params:
        The parameters that determine the result, as ``(name, value)`` pairs.
    """

    test: str
    name: str
    statistic: NDArray[np.float64]
    labels: tuple[str, ...]
    bounds: tuple[Bounds, ...]
    passed: NDArray[np.bool_]
    offsets: NDArray[np.int64]
    instances: tuple[str, ...]
    details: tuple[tuple[str, NDArray[np.float64]], ...] = ()
    params: tuple[tuple[str, object], ...] = ()

    @property
    def count(self) -> int:
        """Number of instances m."""
        return int(self.passed.shape[0])

    @property
    def failures(self) -> int:
        """Number of failed instances."""
        return int(np.count_nonzero(~self.passed))

    @property
    def value(self) -> float:
        """The single statistic of a one-instance, one-column result."""
        if self.statistic.shape != (1, 1):
            raise ValueError(f"{self.test} has statistics of shape {self.statistic.shape}")
        return float(self.statistic[0, 0])

    def detail(self, name: str) -> NDArray[np.float64]:
        """The per-instance values recorded under ``name``."""
        for key, values in self.details:
            if key == name:
                return values
        raise KeyError(name)

    def as_dict(self, *, instances: bool = True) -> dict[str, object]:
        """Plain values for a JSON report; ``instances=False`` keeps only the failed ones."""
        rows = range(self.count) if instances else np.flatnonzero(~self.passed).tolist()
        return {
            "test": self.test,
            "name": self.name,
            "labels": list(self.labels),
            "bounds": [b.as_dict() for b in self.bounds],
            "instances_total": self.count,
            "failures": self.failures,
            "params": dict(self.params),
            "instances": [
                {
                    "instance": self.instances[i],
                    "statistic": [_plain(v) for v in self.statistic[i].tolist()],
                    "passed": bool(self.passed[i]),
                    "bits": [int(self.offsets[i, 0]), int(self.offsets[i, 1])],
                    **{k: _plain(float(v[i])) for k, v in self.details},
                }
                for i in rows
            ],
        }


def _plain(v: float) -> float | int:
    """Integral floats (counts) as ints, so a JSON report prints 9971, not 9971.0."""
    return int(v) if float(v).is_integer() else float(v)


@dataclass(frozen=True, slots=True, eq=False)
class Attempt:
    """One run of a test procedure on fresh data: its basic tests and the bits it used."""

    index: int
    start: int
    stop: int
    tests: tuple[BasicTestResult, ...]

    @property
    def basic_tests(self) -> int:
        """Number of basic tests applied (1286 for procedure A, 9 for procedure B)."""
        return sum(t.count for t in self.tests)

    @property
    def failures(self) -> int:
        """Number of failed basic tests."""
        return sum(t.failures for t in self.tests)

    @property
    def passed(self) -> bool:
        """All basic tests passed."""
        return self.failures == 0

    def as_dict(self, *, instances: bool = True) -> dict[str, object]:
        """Plain values for a JSON report (see :meth:`BasicTestResult.as_dict`)."""
        return {
            "attempt": self.index,
            "bits": [self.start, self.stop],
            "basic_tests": self.basic_tests,
            "failures": self.failures,
            "tests": [t.as_dict(instances=instances) for t in self.tests],
        }

    def test(self, name: str) -> BasicTestResult:
        """The result of basic test ``name`` (e.g. ``"T5"``); for T7 the first of its steps."""
        for t in self.tests:
            if t.test == name:
                return t
        raise KeyError(name)


@dataclass(frozen=True, slots=True, eq=False)
class ProcedureResult:
    """The outcome of test procedure A or B with its attempts (first run, repetition).

    ``outcome`` is ``"pass"`` when an attempt passed every basic test (the first, or the
    repetition after exactly one failure in the first), ``"fail"`` when the first attempt failed
    more than one basic test or the repetition failed any, and ``"inconclusive"`` when the
    repetition was due but the input held too few further bits; ``bits_needed`` then says how
    many bits in all the input must hold.
    """

    procedure: Literal["A", "B"]
    outcome: Outcome
    attempts: tuple[Attempt, ...]
    bits_given: int
    reason: str
    bits_needed: int | None = None

    @property
    def passed(self) -> bool:
        """The procedure passed."""
        return self.outcome == "pass"

    @property
    def repeated(self) -> bool:
        """The repetition was run."""
        return len(self.attempts) > 1

    @property
    def bits_used(self) -> int:
        """Bits consumed from the start of the input by all attempts."""
        return self.attempts[-1].stop if self.attempts else 0

    def as_dict(self, *, instances: bool = True) -> dict[str, object]:
        """Plain values for a JSON report: outcome, reason, bits, and every attempt's tests
        (all instances, or with ``instances=False`` only the failed ones)."""
        return {
            "procedure": self.procedure,
            "outcome": self.outcome,
            "reason": self.reason,
            "bits_given": self.bits_given,
            "bits_used": self.bits_used,
            "bits_needed": self.bits_needed,
            "repeated": self.repeated,
            "attempts": [a.as_dict(instances=instances) for a in self.attempts],
        }
