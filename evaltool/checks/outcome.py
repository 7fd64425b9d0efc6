"""What a check returns: a verdict, one sentence of reason, and the measurements behind it."""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from evaltool.model.results import Comparison, Measurement, Series
from evaltool.model.verdict import Verdict

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
}


def compare(value: float, passes_if: Comparison, threshold: float) -> bool:
    """Whether ``value <passes_if> threshold`` holds (never rounded before comparing)."""
    return _OPS[passes_if](value, threshold)


def fmt(x: float | int | None) -> str:
    """Format a number for a reason sentence: integers exactly, reals to 6 significant digits."""
    if x is None:
        return "n/a"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    return f"{x:.6g}"


def enumerate_ids(ids: Sequence[int], limit: int = 5) -> str:
    """The first ``limit`` ids, comma-separated, and how many more (``"3, 4, 9 and 2 more"``)."""
    shown = ", ".join(str(int(b)) for b in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


@dataclass(frozen=True, slots=True)
class Outcome:
    """The decision of a check; the evaluator adds ids, evidence references and notes."""

    verdict: Verdict
    reason: str
    measurements: tuple[Measurement, ...] = ()
    series: tuple[Series, ...] = ()
    """Data series for the report's plots (presentation only; they never decide)."""

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("every outcome needs a reason")

    def with_series(self, *series: Series) -> Outcome:
        """A copy of this outcome carrying ``series`` for the report."""
        return dataclasses.replace(self, series=(*self.series, *series))

    @classmethod
    def passed(cls, reason: str, measurements: Iterable[Measurement] = ()) -> Outcome:
        """A pass with its reason."""
        return cls(Verdict.PASS, reason, tuple(measurements))

    @classmethod
    def failed(cls, reason: str, measurements: Iterable[Measurement] = ()) -> Outcome:
        """A fail with its reason."""
        return cls(Verdict.FAIL, reason, tuple(measurements))

    @classmethod
    def inconclusive(cls, reason: str, measurements: Iterable[Measurement] = ()) -> Outcome:
        """Inconclusive: the evidence does not allow a decision."""
        return cls(Verdict.INCONCLUSIVE, reason, tuple(measurements))

    @classmethod
    def not_applicable(cls, reason: str) -> Outcome:
        """The check does not apply to this TOE."""
        return cls(Verdict.NOT_APPLICABLE, reason)

    @classmethod
    def from_threshold(
        cls,
        name: str,
        value: float,
        *,
        threshold: float,
        passes_if: Comparison,
        unit: str | None = None,
        reason_subject: str | None = None,
        extra: Iterable[Measurement] = (),
    ) -> Outcome:
        """Pass if ``value <passes_if> threshold``, fail otherwise; a non-finite value is
        inconclusive ("statistic not finite"), never a pass."""
        m = Measurement(name=name, value=value, unit=unit, threshold=threshold, passes_if=passes_if)
        subject = reason_subject or name
        u = f" {unit}" if unit else ""
        if not math.isfinite(value):
            return cls.inconclusive(f"{subject} is not finite", (m, *extra))
        ok = compare(value, passes_if, threshold)
        if ok:
            reason = f"{subject} {fmt(value)}{u} {passes_if} {fmt(threshold)}{u}"
            return cls.passed(reason, (m, *extra))
        reason = f"{subject} {fmt(value)}{u} is not {passes_if} {fmt(threshold)}{u}"
        return cls.failed(reason, (m, *extra))


@dataclass
class Findings:
    """Failures and undecided steps a check gathers from many records, turned into one outcome
    (the first three failures, or the first two undecided steps, named in the reason)."""

    subject: str
    failures: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)

    def outcome(self, passed: str) -> Outcome:
        """Fail if any failure; else inconclusive if any step undecided; else pass."""
        m = tuple(self.measurements)
        if self.failures:
            more = f" (and {len(self.failures) - 3} more)" if len(self.failures) > 3 else ""
            return Outcome.failed(f"{self.subject}: " + "; ".join(self.failures[:3]) + more, m)
        if self.undecided:
            more = f" (and {len(self.undecided) - 2} more)" if len(self.undecided) > 2 else ""
            return Outcome.inconclusive(f"{self.subject} undecided: "
                                        + "; ".join(self.undecided[:2]) + more, m)
        return Outcome.passed(passed, m)
