"""The ``leakage.tvla`` check on per-pulse bundles with planted, absent and underpowered leaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.leakage import decide, label_codes
from evaltool.checks.registry import parse_params
from evaltool.engines.leakage import FeatureBatteryAccumulator, sidak_t_threshold
from evaltool.errors import EvidenceError, InsufficientDataError, ProfileError
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import make_bundle


def _pulses(
    n: int, *, basis_shift_ps: float = 0.0, prev_shift_ps: float = 0.0, seed: int = 0
) -> bytes:
    rng = np.random.default_rng(seed)
    basis = rng.integers(0, 2, n)
    prev = np.concatenate([[0], basis[:-1]])
    offset = rng.normal(0.0, 10.0, n) + basis_shift_ps * basis + prev_shift_ps * prev
    amp = rng.normal(5.0, 0.2, n)
    lines = ["pulse_index,basis,emit_offset_ps,amplitude_mv"]
    lines += [
        f"{i},{b},{float(o)!r},{float(a)!r}"
        for i, (b, o, a) in enumerate(zip(basis, offset, amp, strict=True))
    ]
    return ("\n".join(lines) + "\n").encode()


def _run(tmp_path: Path, content: bytes, **params: Any):
    b = make_bundle(tmp_path / "b", {"pulses": ("pulse-events", "csv", "p.csv", content)})
    ctype = get("leakage.tvla")
    assert ctype.run is not None
    p = {
        "slot": "pulses",
        "label": "basis",
        "features": ["emit_offset_ps", "amplitude_mv"],
        **params,
    }
    return ctype.run(parse_params(ctype, p), CheckContext(load_bundle(b), {}, seed=1))


def test_basis_dependent_emission_time_fails(tmp_path: Path) -> None:
    out = _run(tmp_path, _pulses(20_000, basis_shift_ps=1.0))
    assert out.verdict is Verdict.FAIL
    assert "emit_offset_ps" in out.reason and "amplitude_mv" not in out.reason
    m = {x.name: x.value for x in out.measurements}
    # Family: 2 features × (orders 1, 2 + χ² sweep) = 6 tests at family-wise α 6.8e-6.
    assert m["tests"] == 6 and m["critical_t"] == pytest.approx(4.867, abs=1e-3)


def test_honest_pulses_with_enough_data_pass(tmp_path: Path) -> None:
    out = _run(tmp_path, _pulses(20_000, seed=2), mde_tolerance_sd=0.1)
    assert out.verdict is Verdict.PASS, out.reason


def test_underpowered_pulses_are_inconclusive_with_the_mde(tmp_path: Path) -> None:
    out = _run(tmp_path, _pulses(2000, seed=3))
    assert out.verdict is Verdict.INCONCLUSIVE
    assert "minimum detectable effect" in out.reason


def test_pattern_effect_is_found_by_conditioning_on_the_previous_pulse(tmp_path: Path) -> None:
    content = _pulses(20_000, prev_shift_ps=1.0, seed=4)
    plain = _run(tmp_path / "a", content, mde_tolerance_sd=0.1)
    cond = _run(tmp_path / "b", content, condition_previous=1, mde_tolerance_sd=0.1)
    assert plain.verdict is Verdict.PASS
    assert cond.verdict is Verdict.FAIL and "order-1 t of 'emit_offset_ps'" in cond.reason


def test_one_label_value_is_insufficient_data(tmp_path: Path) -> None:
    content = _pulses(100).replace(b",1,", b",0,")
    with pytest.raises(InsufficientDataError, match="1 value"):
        _run(tmp_path, content)


def test_orders_are_validated() -> None:
    with pytest.raises(ProfileError, match="orders"):
        parse_params(
            get("leakage.tvla"), {"slot": "s", "label": "l", "features": ["f_v"], "orders": [4]}
        )


def test_family_threshold_is_tvla_for_a_single_test() -> None:
    # With family-wise α equal to the two-sided tail of |t| > 4.5, one test's threshold is
    # exactly TVLA's 4.5 (Goodwill et al. 2011); one feature at order 1 plus the χ² sweep is a
    # family of 2, whose Šidák threshold is Φ⁻¹(1 − a/2) with a = 1 − (1 − α)^(1/2).
    alpha = 2 * stats.norm.sf(4.5)
    assert sidak_t_threshold(1, alpha) == pytest.approx(4.5, rel=1e-12)
    rng = np.random.default_rng(0)
    acc = FeatureBatteryAccumulator(["f"], 2, orders=[1])
    acc.update(rng.normal(size=(5000, 1)), rng.integers(0, 2, 5000))
    d = decide(acc.result())
    a = 1 - (1 - alpha) ** 0.5
    assert d.n_tests == 2 and d.alpha_per_test == pytest.approx(a, rel=1e-9)
    assert d.critical_t == pytest.approx(stats.norm.isf(a / 2), rel=1e-9)


def test_label_codes_sort_numbers_numerically_and_refuse_measurements() -> None:
    assert label_codes(np.array([10, 2, 2, 1])) == (1, 2, 10)
    with pytest.raises(EvidenceError, match="distinct values"):
        label_codes(np.arange(1000.0))


def test_tvla_plots_t_per_feature_against_the_family_threshold(tmp_path: Path) -> None:
    """|t| per feature and order (Welch, as scipy computes it on the same pulses), the χ² sweep
    and the MI upper bound, each against the rule's threshold (4.867 for 6 tests, above)."""
    content = _pulses(20_000, basis_shift_ps=1.0)
    out = _run(tmp_path, content)
    s = {x.name: x for x in out.series}
    assert list(s) == ["|t|, order 1", "|t|, order 2", "-log10 p, χ² sweep",
                       "MI upper bound"]
    t1 = s["|t|, order 1"]
    assert t1.x == (1.0, 2.0) and t1.x_labels == ("emit_offset_ps", "amplitude_mv")
    assert t1.x_name == "feature"
    assert t1.threshold == pytest.approx(4.867, abs=1e-3) and t1.passes_if == "<="
    rows = [line.split(",") for line in content.decode().splitlines()[1:]]
    basis = np.array([int(r[1]) for r in rows])
    for j, col in enumerate((2, 3)):
        x = np.array([float(r[col]) for r in rows])
        ref = stats.ttest_ind(x[basis == 1], x[basis == 0], equal_var=False).statistic
        assert t1.values[j] == pytest.approx(abs(ref), rel=1e-9)
    assert t1.values[0] > 4.867 > t1.values[1]
    # The χ² level is -log10 of the per-test level: 1 - (1 - 6.8e-6)^(1/6).
    a = 1 - (1 - 2 * stats.norm.sf(4.5)) ** (1 / 6)
    assert s["-log10 p, χ² sweep"].threshold == pytest.approx(-np.log10(a), rel=1e-9)
    mi = s["MI upper bound"]
    assert mi.unit == "bit" and mi.threshold is None and mi.values[0] > mi.values[1]
