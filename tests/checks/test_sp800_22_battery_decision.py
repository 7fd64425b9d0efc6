"""The battery's family-wise decision (evaltool.checks.sp800_22, ``decision: family-wise``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from evaltool.checks.sp800_22 import _family_wise
from evaltool.model.verdict import Verdict


def _report(failures: list[int], m: int = 8, alpha: float = 0.01):
    columns = [SimpleNamespace(label=f"t{i}", sample_size=m, passed_count=m - k,
                               uniformity_pvalue=None) for i, k in enumerate(failures)]
    return SimpleNamespace(alpha=alpha, n=1_000_000, sequences=m,
                           tests={"non-overlapping-template": SimpleNamespace(columns=columns)})


def test_one_failing_sequence_per_column_is_what_chance_gives() -> None:
    # 188 columns, 14 of them with one failing sequence of 8: the count a fair generator gives
    # on average (188 * (1 - 0.99^8) = 14.5); the §4.2.1 interval would fail all 14.
    out = _family_wise(_report([1] * 14 + [0] * 174), family_alpha=0.01)
    assert out is not None and out.verdict is Verdict.PASS, out.reason
    m = {x.name: x.value for x in out.measurements}
    # P(X >= 1), X ~ Binomial(8, 0.01) = 1 - 0.99^8 (exact).
    assert m["smallest_column_pvalue"] == pytest.approx(1 - 0.99**8, rel=1e-12)
    # Šidák level for 188 tests at family alpha 0.01: 1 - 0.99^(1/188).
    assert m["column_tests"] == 188
    assert out.measurements[2].threshold == pytest.approx(1 - 0.99 ** (1 / 188), rel=1e-12)


def test_four_failures_of_eight_fail_the_battery() -> None:
    out = _family_wise(_report([4] + [0] * 187), family_alpha=0.01)
    assert out is not None and out.verdict is Verdict.FAIL
    # P(X >= 4), X ~ Binomial(8, 0.01) = 6.77878e-7 (sum of the exact binomial terms k = 4..8).
    assert "t0 (4/8 passed): p = 6.77878e-07" in out.reason


def test_three_failures_of_eight_are_within_family_wise_chance() -> None:
    # P(X >= 3) = 5.39e-5 is just above the Šidák level 5.35e-5 for 188 tests.
    out = _family_wise(_report([3] + [0] * 187), family_alpha=0.01)
    assert out is not None and out.verdict is Verdict.PASS


def test_no_decided_column_gives_none() -> None:
    assert _family_wise(_report([], m=0), family_alpha=0.01) is None


def test_uniformity_decides_only_with_enough_sequences() -> None:
    # 16 p-values in ten bins are too few for the chi-squared tail at the Šidák level: the
    # column's uniformity p-value is left out; with 100 it decides.
    def report(m: int):
        r = _report([0] * 10, m=m)
        for c in r.tests["non-overlapping-template"].columns:
            c.uniformity_pvalue = 1e-7
        return r

    few = _family_wise(report(16), family_alpha=0.01)
    assert few is not None and few.verdict is Verdict.PASS, few.reason
    assert {x.name: x.value for x in few.measurements}["column_tests"] == 10
    many = _family_wise(report(100), family_alpha=0.01)
    assert many is not None and many.verdict is Verdict.FAIL
    assert "t0 (uniformity): p = 1e-07" in many.reason
