"""Result objects of the SP 800-22 battery: one per test, holding every sequence's p-values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

TEST_NAMES: tuple[str, ...] = (
    "frequency",
    "block-frequency",
    "cumulative-sums",
    "runs",
    "longest-run",
    "rank",
    "dft",
    "non-overlapping-template",
    "overlapping-template",
    "universal",
    "approximate-entropy",
    "random-excursions",
    "random-excursions-variant",
    "serial",
    "linear-complexity",
)
"""The 15 tests of SP 800-22 rev. 1a §2 in the reference suite's order, by their evaltool names."""


def resolve_tests(tests: Iterable[str] | None) -> tuple[str, ...]:
    """The requested test names in the suite's order; ``None`` means all 15.

    Raises ``ValueError`` naming an unknown test.
    """
    if tests is None:
        return TEST_NAMES
    wanted = set()
    for t in tests:
        name = t.strip()
        if name not in TEST_NAMES:
            raise ValueError(f"unknown SP 800-22 test {name!r}; known: {', '.join(TEST_NAMES)}")
        wanted.add(name)
    if not wanted:
        raise ValueError("no test selected")
    return tuple(t for t in TEST_NAMES if t in wanted)


@dataclass(frozen=True, slots=True, eq=False)
class Sp80022Result:
    """The first-level outcome of one SP 800-22 test on m sequences of n bits.

    Attributes
    ----------
    test:
        The test's name, one of :data:`TEST_NAMES`.
    n:
        Bits per sequence.
    statistic:
        ``(m, k)`` float array: the test statistic behind each p-value (χ², |S|/√n, …), NaN when
        the test did not apply.
    pvalues:
        ``(m, k)`` float array, one row per sequence, columns in the reference suite's reporting
        order (see ``labels``); NaN where the test does not apply to the sequence (random
        excursions with fewer than ``max(0.005·√n, 500)`` cycles).
    labels:
        ``k`` column labels: ``"forward"``/``"backward"``, template bit strings, ``"x=-4"``, ….
    params:
        The parameters that determine the result, as ``(name, value)`` pairs.
    """

    test: str
    n: int
    statistic: NDArray[np.float64]
    pvalues: NDArray[np.float64]
    labels: tuple[str, ...]
    params: tuple[tuple[str, object], ...] = ()

    @property
    def sequences(self) -> int:
        """Number of sequences m."""
        return int(self.pvalues.shape[0])

    @property
    def pvalue(self) -> float:
        """The single p-value of a one-sequence, one-column result."""
        if self.pvalues.shape != (1, 1):
            raise ValueError(
                f"{self.test} has p-values of shape {self.pvalues.shape}; use .pvalues"
            )
        return float(self.pvalues[0, 0])

    def merge(self, *others: Sp80022Result) -> Sp80022Result:
        """Concatenate the sequences of results of the same test, n and parameters.

        The second-level analysis needs only the per-sequence p-values, so results computed on
        disjoint groups of sequences (in other processes) merge exactly.
        """
        return merge_results([self, *others])


def merge_results(parts: Sequence[Sp80022Result]) -> Sp80022Result:
    """Concatenate per-sequence results of one test, in the given order (see ``merge``)."""
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    for other in parts[1:]:
        if (other.test, other.n, other.labels, other.params) != (
            first.test,
            first.n,
            first.labels,
            first.params,
        ):
            raise ValueError(
                f"cannot merge {other.test} (n={other.n}) into {first.test} (n={first.n}): "
                "test, n, labels and parameters must agree"
            )
    return Sp80022Result(
        test=first.test,
        n=first.n,
        statistic=np.concatenate([p.statistic for p in parts], axis=0),
        pvalues=np.concatenate([p.pvalues for p in parts], axis=0),
        labels=first.labels,
        params=first.params,
    )
