"""False-positive rate of the monitors on honest devices: bundles from ``evaltool.simulate``
with fresh seeds (2 blocks each), every monitor with the GS QKD 016 profile's parameters.

At the profile's α = 0.001 per check, the number of honest seeds a monitor fails must stay inside
the binomial 99 % interval of Binomial(seeds, α) (the composite-null monitors, whose true value
lies well inside the null, are below it). The decoy-consistency test has an exact level, so it
is also run at α = 0.05, where its rate must lie inside the interval on both sides.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy import stats

from evaltool.checks.context import CheckContext
from evaltool.checks.outcome import Outcome
from evaltool.checks.registry import get, parse_params
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io.bundle import Bundle, load_bundle
from evaltool.model.verdict import Verdict
from evaltool.simulate import generate, write_bundle
from tests.checks.test_monitors import MONITORS, monitor_params, st

PROFILE_ALPHA = 0.001


def _honest(tmp_path: Path, seed: int) -> Bundle:
    out = tmp_path / f"honest-{seed}"
    write_bundle(out, generate("honest", seed=seed, blocks=2))
    return load_bundle(out)


def run(kind: str, params: dict[str, object], bundle: Bundle) -> Outcome:
    ctype = get(kind)
    try:
        return ctype.run(parse_params(ctype, params), CheckContext(bundle, st(), seed=0))
    except (InsufficientDataError, EvidenceError) as exc:
        return Outcome.inconclusive(exc.message)


def _false_positives(tmp_path: Path, seeds: range) -> tuple[dict[str, int], int, int]:
    """Failures per monitor, seeds with any failure, and decoy-consistency fails at α 0.05."""
    fails = dict.fromkeys(MONITORS, 0)
    any_fail = loose = 0
    params = monitor_params(st())
    kind, decoy = params["decoy-consistency"]
    for seed in seeds:
        bundle = _honest(tmp_path, seed)
        failed = False
        for name in MONITORS:
            o = run(*params[name], bundle)
            assert o.verdict in (Verdict.PASS, Verdict.FAIL), (seed, name, o.reason)
            if o.verdict is Verdict.FAIL:
                fails[name] += 1
                failed = True
        any_fail += failed
        loose += run(kind, {**decoy, "alpha": 0.05}, bundle).verdict is Verdict.FAIL
    return fails, any_fail, loose


def _upper(n: int, p: float) -> float:
    return float(stats.binom.interval(0.99, n, p)[1])


def test_a_few_honest_seeds_pass_every_monitor(tmp_path: Path) -> None:
    fails, any_fail, _ = _false_positives(tmp_path, range(100, 103))
    assert any_fail == 0, fails


@pytest.mark.slow
def test_false_positive_rate_over_200_honest_seeds(tmp_path: Path) -> None:
    n = 200
    fails, any_fail, loose = _false_positives(tmp_path, range(1000, 1000 + n))
    print(f"\nfalse positives over {n} honest seeds at alpha {PROFILE_ALPHA}: {fails}; "
          f"seeds with any: {any_fail}; decoy-consistency at alpha 0.05: {loose}")
    for name, count in fails.items():
        assert count <= _upper(n, PROFILE_ALPHA), (name, fails)
    family = 1 - (1 - PROFILE_ALPHA) ** len(MONITORS)
    assert any_fail <= _upper(n, family), fails
    lo, hi = stats.binom.interval(0.99, n, 0.05)
    assert lo <= loose <= hi, loose
