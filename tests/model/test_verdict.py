"""Roll-up rules (CEM: fail dominates; pass only if every applicable part passes)."""

from __future__ import annotations

import pytest

from evaltool.model.verdict import Verdict, combine, combine_overall

P, F, I, N = Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], I),
        ([P], P),
        ([P, P], P),
        ([P, I], I),
        ([I, F, P], F),
        ([N], N),
        ([N, P], P),
        ([N, I], I),
        ([F, N], F),
    ],
)
def test_combine(parts: list[Verdict], expected: Verdict) -> None:
    assert combine(parts) is expected


def test_overall_never_passes_when_nothing_applies() -> None:
    assert combine_overall([N, N]) is I
    assert combine_overall([]) is I
    assert combine_overall([P, N]) is P
