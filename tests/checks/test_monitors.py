"""The ``monitor.*`` check kinds on the scenario bundles: each optics deviation is caught by its
monitor and by no unrelated one, the honest bundle passes every monitor, and underpowered
evidence is inconclusive with the minimum detectable effect (or the count needed) in the reason.

Bundles: ``test_vectors/scenarios/<name>`` (``evaltool simulate NAME --seed 2026 --blocks 20``;
deviations and expected statistics in ``docs/scenarios.md``). Parameters are those of
``profiles/etsi-gs-qkd-016.yaml`` filled with the scenarios' security target (``st.yaml``).
"""

from __future__ import annotations

import math
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import evaltool.checks
import evaltool.checks.monitors  # noqa: F401  (registers the monitor kinds)
from evaltool.checks.context import CheckContext
from evaltool.checks.outcome import Outcome
from evaltool.checks.registry import get, parse_params
from evaltool.errors import EvidenceError, InsufficientDataError, ProfileError
from evaltool.io.bundle import load_bundle
from evaltool.io.profiles import load_security_target
from evaltool.model.verdict import Verdict
from tests.support import rehash_manifest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "test_vectors" / "scenarios"


@cache
def st() -> dict[str, Any]:
    """The scenarios' security-target assignments (identical in every bundle)."""
    return dict(load_security_target(SCENARIOS / "honest" / "st.yaml").st.assignments)


def monitor_params(a: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The monitor checks of the GS QKD 016 profile, parameters filled from assignments ``a``."""
    return {
        "detector-blinding": ("monitor.detector-blinding", {
            "blocks_slot": "blocks", "vacuum_class": 2,
            "dark_count_prob": a["dark_count_prob_nominal"], "alpha": 0.001}),
        "efficiency-mismatch": ("monitor.efficiency-mismatch", {
            "slot": "detections", "max_mismatch": a["detector_mismatch_max"], "alpha": 0.001}),
        "efficiency-mismatch/basis": ("monitor.efficiency-mismatch", {
            "slot": "detections", "max_mismatch": a["detector_mismatch_max"], "by": "basis",
            "alpha": 0.001}),
        "trojan-horse": ("monitor.trojan-horse", {
            "monitor_slot": "monitors", "column": "tx_ingress_power_dbm",
            "threshold_dbm": a["ingress_power_threshold_dbm"], "response_slot": "blocks",
            "within_s": a["abort_response_s"]}),
        "decoy-consistency": ("monitor.decoy-consistency", {
            "slot": "blocks", "intensities": [a["mu_signal"], a["mu_decoy"], a["mu_vacuum"]],
            "alpha": 0.001}),
        "pattern-effect": ("monitor.pattern-effect", {
            "slot": "pulses", "max_relative_deviation": a["pattern_effect_max_rel"], "lags": 2,
            "alpha": 0.001}),
        "dead-time": ("monitor.dead-time", {
            "slot": "detections", "dead_time_ns": a["dead_time_ns"]}),
        "afterpulsing": ("monitor.afterpulsing", {
            "slot": "detections", "max_probability": a["afterpulse_prob_max"]}),
    }


MONITORS = ("detector-blinding", "efficiency-mismatch", "efficiency-mismatch/basis",
            "trojan-horse", "decoy-consistency", "pattern-effect", "dead-time", "afterpulsing")


def run(kind: str, params: dict[str, Any], bundle: Path,
        assignments: dict[str, Any] | None = None) -> Outcome:
    """Run one check as the evaluator does: insufficient or bad evidence is inconclusive."""
    ctype = get(kind)
    ctx = CheckContext(load_bundle(bundle), assignments or st(), seed=0)
    try:
        return ctype.run(parse_params(ctype, params), ctx)
    except (InsufficientDataError, EvidenceError) as exc:
        return Outcome.inconclusive(exc.message)


def run_monitor(name: str, bundle: Path) -> Outcome:
    kind, params = monitor_params(st())[name]
    return run(kind, params, bundle)


def _need_vectors() -> None:
    if not (SCENARIOS / "honest" / "bundle.yaml").is_file():
        pytest.skip("scenario bundles not generated (test_vectors/scenarios)")


# Which monitors each optics scenario must trip (docs/scenarios.md, "Scenarios" table: the
# "check kinds" column restricted to monitor.*); every other monitor must pass.
EXPECTED_FIRING = {
    "honest": set(),
    "detector-blinding": {"detector-blinding"},
    "efficiency-mismatch": {"efficiency-mismatch"},
    "trojan-horse": {"trojan-horse"},
    "pns-no-decoy": {"decoy-consistency"},
    "pattern-effect": {"pattern-effect"},
    "basis-timing-leak": set(),  # caught by leakage.tvla, below
}


@cache
def verdicts(scenario: str) -> dict[str, Outcome]:
    return {name: run_monitor(name, SCENARIOS / scenario) for name in MONITORS}


@pytest.mark.parametrize("scenario", sorted(EXPECTED_FIRING))
def test_each_scenario_trips_exactly_its_monitor(scenario: str) -> None:
    _need_vectors()
    out = verdicts(scenario)
    fired = {name for name, o in out.items() if o.verdict is Verdict.FAIL}
    assert fired == EXPECTED_FIRING[scenario], {n: o.reason for n, o in out.items()}
    others = {name: o.verdict for name, o in out.items() if name not in fired}
    assert set(others.values()) <= {Verdict.PASS}, {n: out[n].reason for n in others}
    for o in out.values():
        assert o.reason.strip() and "\n" not in o.reason


def test_blinding_reason_names_blinded_blocks_and_floor() -> None:
    """Blinding from block 5 (= blocks // 4) on: 15 of 20 blocks have 0-3 vacuum-class errors
    against a floor of about 55 (docs/scenarios.md, detector-blinding row)."""
    _need_vectors()
    o = verdicts("detector-blinding")["detector-blinding"]
    assert "in 15 of 20 blocks" in o.reason
    assert "blocks 5, 6, 7, 8, 9" in o.reason
    floor = float(re.search(r"against ([0-9.]+) expected", o.reason).group(1))
    assert 45 < floor < 65
    m = {x.name: x for x in o.measurements}
    assert m["min_pvalue"].value < 1e-6 < m["min_pvalue"].threshold * 1e3
    honest = {x.name: x for x in verdicts("honest")["detector-blinding"].measurements}
    # Honest vacuum errors sit at or above the floor (e_k > p_dc: misalignment, afterpulses).
    assert honest["vacuum_errors"].value >= 0.95 * honest["dark_count_floor"].value


def test_pns_transmittance_ratio_is_the_planted_one() -> None:
    """pns-no-decoy plants transmittance factors (1.0, 0.9, 0.9) (evaltool/simulate/_device.py,
    Deviation.pns_transmittance); the fit recovers the decoy/signal ratio 0.9, honest 1.0."""
    _need_vectors()
    pns = {x.name: x.value for x in verdicts("pns-no-decoy")["decoy-consistency"].measurements}
    honest = {x.name: x.value for x in verdicts("honest")["decoy-consistency"].measurements}
    assert pns["transmittance_ratio"] == pytest.approx(0.9, abs=0.003)
    assert honest["transmittance_ratio"] == pytest.approx(1.0, abs=0.003)
    assert pns["pooled_pvalue"] < 1e-100
    # Honest: a 5 % drop of the weak classes' transmittance would be detected.
    assert honest["mde_deviation"] < 0.01


def test_pattern_effect_size_is_the_planted_one() -> None:
    """Intensity 3 % higher after a signal pulse (P(signal) = 0.6): after a decoy or vacuum
    pulse the mean is 1/1.018 - 1 = -1.77 % of the class mean, after a signal pulse
    1.03/1.018 - 1 = +1.18 % (docs/scenarios.md, pattern-effect row)."""
    _need_vectors()
    o = verdicts("pattern-effect")["pattern-effect"]
    dev = float(re.search(r"at lag 1: (-?[0-9.e-]+) ±", o.reason).group(1))
    assert dev == pytest.approx(1 / 1.018 - 1, abs=1e-3)
    assert "9 of 18" in o.reason  # every lag-1 cell, no lag-2 cell
    honest = {x.name: x.value for x in verdicts("honest")["pattern-effect"].measurements}
    assert honest["max_relative_deviation"] < 0.001


def test_efficiency_mismatch_edges_of_the_gate() -> None:
    """Bit-0 / bit-1 arrival times shifted by -/+30 ps with 40 ps jitter: in the earliest bin
    the bit-0 detector dominates (density ratio exp(1.5) = 4.5 at 185 ps), mismatch > 0.5."""
    _need_vectors()
    o = verdicts("efficiency-mismatch")["efficiency-mismatch"]
    m = {x.name: x.value for x in o.measurements}
    assert m["max_mismatch"] > 0.5
    assert "gate_offset_ps <" in o.reason
    honest = {x.name: x.value for x in verdicts("honest")["efficiency-mismatch"].measurements}
    assert honest["max_mismatch"] < 0.1 and honest["min_pvalue"] > 0.01


def test_trojan_horse_names_the_unanswered_probe() -> None:
    """The ingress spike at 14.05 s (-38 dBm, threshold -55 dBm) is followed by block 10's
    abort in the honest bundle and by nothing in trojan-horse (docs/scenarios.md)."""
    _need_vectors()
    o = verdicts("trojan-horse")["trojan-horse"]
    assert "t = 14.05 s" in o.reason
    assert "answered by an abort" in verdicts("honest")["trojan-horse"].reason


def test_basis_timing_leak_is_caught_by_tvla_only() -> None:
    """X-basis pulses 0.4 ps later: TVLA on emission_offset_ps fails (|t| about 36 on 200,000
    pulses, docs/scenarios.md), honest passes; no monitor fires (tested above)."""
    _need_vectors()
    params = {"slot": "pulses", "label": "basis", "features": ["emission_offset_ps"],
              "orders": [1, 2]}
    assert run("leakage.tvla", params, SCENARIOS / "basis-timing-leak").verdict is Verdict.FAIL
    assert run("leakage.tvla", params, SCENARIOS / "honest").verdict is Verdict.PASS


def test_dead_time_and_afterpulsing_reference_values() -> None:
    """Honest detections: none inside the 50 ns common dead time; afterpulse probability
    0.005 (Link.afterpulse) estimated within its standard error of about 0.0012."""
    _need_vectors()
    out = verdicts("honest")
    dead = {x.name: x.value for x in out["dead-time"].measurements}
    assert dead["inside_dead_time"] == 0 and dead["detections"] > 80_000
    ap = {x.name: x.value for x in out["afterpulsing"].measurements}
    assert ap["afterpulse_probability"] == pytest.approx(0.005, abs=0.0035)


# --- planted violations on copies of the honest bundle --------------------------------------


def _copy(tmp_path: Path) -> Path:
    _need_vectors()
    dst = tmp_path / "b"
    shutil.copytree(SCENARIOS / "honest", dst)
    return dst


def _rewrite_parquet(bundle: Path, name: str, table: pa.Table) -> None:
    pq.write_table(table, bundle / name)
    rehash_manifest(bundle)


def test_dead_time_violation_is_counted(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    t = pq.read_table(b / "detections.parquet").to_pandas()
    # Move detection 100 to 10 ns after detection 99, on the other detector of its basis.
    t.loc[100, "time_ps"] = int(t.loc[99, "time_ps"]) + 10_000
    t.loc[100, "detector"] = int(t.loc[99, "detector"]) ^ 1
    _rewrite_parquet(b, "detections.parquet", pa.Table.from_pandas(t, preserve_index=False))
    o = run_monitor("dead-time", b)
    assert o.verdict is Verdict.FAIL
    m = {x.name: x.value for x in o.measurements}
    assert m["inside_dead_time"] == 1 and m["after_other_detector"] == 1


def test_unsorted_detections_are_bad_evidence(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    t = pq.read_table(b / "detections.parquet").to_pandas()
    t.loc[[5, 6], "time_ps"] = t.loc[[6, 5], "time_ps"].to_numpy()
    _rewrite_parquet(b, "detections.parquet", pa.Table.from_pandas(t, preserve_index=False))
    # The bundle loader already refuses it; a check reading an unvalidated bundle refuses it
    # with the same words, from the detections reader (the schema's rule for time_ps).
    with pytest.raises(EvidenceError, match="non-decreasing") as loaded:
        load_bundle(b)
    kind, params = monitor_params(st())["dead-time"]
    ctx = CheckContext(load_bundle(b, check_tables=False), st(), seed=0)
    with pytest.raises(EvidenceError, match="non-decreasing") as checked:
        get(kind).run(parse_params(get(kind), params), ctx)
    assert checked.value.message == loaded.value.message


def test_afterpulsing_above_the_bound_fails(tmp_path: Path) -> None:
    """Add an afterpulse 60 ns after 3 % of the clicks (on the same detector): the estimate
    rises by about 0.03 and the test rejects p_ap <= 0.01."""
    b = _copy(tmp_path)
    t = pq.read_table(b / "detections.parquet").to_pandas()
    rng = np.random.default_rng(7)
    pick = t.sample(frac=0.03, random_state=3).copy()
    pick["time_ps"] = pick["time_ps"] + 60_000 + rng.integers(0, 20_000, len(pick))
    t = pd.concat([t, pick]).sort_values("time_ps", kind="stable")
    _rewrite_parquet(b, "detections.parquet", pa.Table.from_pandas(t, preserve_index=False))
    o = run_monitor("afterpulsing", b)
    assert o.verdict is Verdict.FAIL, o.reason
    m = {x.name: x.value for x in o.measurements}
    # 0.005 + 0.03 / 1.03 = 0.034 less the rise of the Poisson expectation (the rate is 3 %
    # higher: about 0.13 x 0.03 x 2 per gap), so about 0.027.
    assert 0.02 < m["afterpulse_probability"] < 0.034


def test_trojan_horse_monitor_gap_is_inconclusive(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    df = pd.read_csv(b / "monitors.csv")
    df = df[(df["time_s"] < 5.0) | (df["time_s"] > 7.0)]
    (b / "monitors.csv").write_text(df.to_csv(index=False))
    rehash_manifest(b)
    o = run_monitor("trojan-horse", b)
    assert o.verdict is Verdict.INCONCLUSIVE
    assert "gap" in o.reason and "1 s response time" in o.reason


def test_trojan_horse_keyed_block_overlapping_the_probe_fails(tmp_path: Path) -> None:
    """A probe that straddles two blocks: the first aborts, the second still yields key."""
    b = _copy(tmp_path)
    df = pd.read_csv(b / "monitors.csv")
    end10 = float(pd.read_csv(b / "blocks.csv")["time_s"][10])
    spike = (df["time_s"] > end10 - 0.2) & (df["time_s"] < end10 + 0.3)
    df.loc[spike, "tx_ingress_power_dbm"] = -40.0
    (b / "monitors.csv").write_text(df.to_csv(index=False))
    rehash_manifest(b)
    o = run_monitor("trojan-horse", b)
    assert o.verdict is Verdict.FAIL
    assert "block(s) 11" in o.reason and "yield key" in o.reason


# --- underpowered evidence ------------------------------------------------------------------


def _scaled_blocks(b: Path, factor: int) -> None:
    df = pd.read_csv(b / "blocks.csv")
    for col in df.columns:
        if re.match(r"(n_sent|key_detections|test_detections|key_errors|test_errors)_\d$", col):
            df[col] = df[col] // factor
    (b / "blocks.csv").write_text(df.to_csv(index=False))
    rehash_manifest(b)


def test_blinding_underpowered_gives_the_pulses_needed(tmp_path: Path) -> None:
    """With 1/20 of the pulses a block expects about 2.8 dark-count errors: even a total
    suppression is not significant at the Šidák level 5e-5 (P(X = 0) = e^-2.8 = 0.06)."""
    b = _copy(tmp_path)
    _scaled_blocks(b, 20)
    o = run_monitor("detector-blinding", b)
    assert o.verdict is Verdict.INCONCLUSIVE
    assert "even a total suppression is not detectable at level 5.00238e-05" in o.reason
    needed = int(re.search(r"about (\d+) vacuum-class pulses", o.reason).group(1))
    # ((z_a + z_0.8 sqrt(0.1)) / 0.9)^2 / p_floor with p_floor = 6e-7 x 0.68 x 0.82.
    assert 5e7 < needed < 1e8


def test_blinding_partly_underpowered_names_the_mde(tmp_path: Path) -> None:
    """With 1/4 of the pulses (floor about 14 errors) a total suppression is detectable, a
    90 % one only with power below 0.8: the reason gives the smallest detectable suppression."""
    b = _copy(tmp_path)
    _scaled_blocks(b, 4)
    o = run_monitor("detector-blinding", b)
    assert o.verdict is Verdict.INCONCLUSIVE
    mde = float(re.search(r"smallest detectable suppression is ([0-9.]+) > 0.9", o.reason)
                .group(1))
    assert 0.9 < mde < 1.0


def test_decoy_consistency_underpowered_names_the_mde(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    _scaled_blocks(b, 100_000)
    o = run_monitor("decoy-consistency", b)
    assert o.verdict is Verdict.INCONCLUSIVE, o.reason
    mde = float(re.search(r"transmittance drop of the weak classes is ([0-9.e+-]+|inf)",
                          o.reason).group(1))
    assert mde > 0.05


def test_mismatch_underpowered_names_the_mde(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    t = pq.read_table(b / "detections.parquet").slice(0, 3000)
    _rewrite_parquet(b, "detections.parquet", t)
    o = run_monitor("efficiency-mismatch", b)
    assert o.verdict is Verdict.INCONCLUSIVE
    mde = float(re.search(r"smallest detectable mismatch is ([0-9.]+)", o.reason).group(1))
    assert 0.25 < mde < 1


def test_pattern_and_afterpulsing_underpowered(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    _rewrite_parquet(b, "pulses.parquet", pq.read_table(b / "pulses.parquet").slice(0, 1500))
    _rewrite_parquet(b, "detections.parquet",
                     pq.read_table(b / "detections.parquet").slice(0, 2000))
    o = run_monitor("pattern-effect", b)
    assert o.verdict is Verdict.INCONCLUSIVE and "underpowered" in o.reason
    assert re.search(r"detect only a deviation of 0\.0[1-9]", o.reason)
    o = run_monitor("afterpulsing", b)
    assert o.verdict is Verdict.INCONCLUSIVE and "underpowered" in o.reason


def test_missing_slot_is_inconclusive_never_pass(tmp_path: Path) -> None:
    _need_vectors()
    b = tmp_path / "b"
    shutil.copytree(SCENARIOS / "honest", b)
    manifest = (b / "bundle.yaml").read_text()
    (b / "bundle.yaml").write_text(manifest.replace("slot: detections", "slot: detections_x")
                                   .replace("slot: pulses", "slot: pulses_x")
                                   .replace("slot: monitors", "slot: monitors_x")
                                   .replace("slot: blocks", "slot: blocks_x"))
    for name in MONITORS:
        assert run_monitor(name, b).verdict is Verdict.INCONCLUSIVE, name


# --- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", MONITORS)
def test_profile_parameters_are_accepted(name: str) -> None:
    kind, params = monitor_params(st())[name]
    parse_params(get(kind), params)
    with pytest.raises(ProfileError, match="unknown parameter"):
        parse_params(get(kind), {**params, "no_such_parameter": 1})


def test_kinds_are_registered_with_implementations() -> None:
    kinds = {monitor_params(st())[n][0] for n in MONITORS}
    assert len(kinds) == 7
    for kind in kinds:
        assert get(kind).run.__module__.startswith("evaltool.checks.monitors")
        assert get(kind).standard_ref


def test_sidak_level() -> None:
    """Šidák: 1 - (1 - 0.001)^(1/20) = 5.00238e-05 (the per-block level of 20 blocks)."""
    from evaltool.engines.decision import sidak_level as sidak

    assert sidak(0.001, 20) == pytest.approx(5.002377e-05, rel=1e-6)
    assert sidak(0.001, 1) == pytest.approx(0.001)
    assert math.isclose(1 - (1 - sidak(0.05, 7)) ** 7, 0.05)


def test_trojan_horse_counts_separate_episodes(tmp_path: Path) -> None:
    """A second probe at 3.0-3.2 s (block 2, which yields key): two episodes, one unanswered."""
    b = _copy(tmp_path)
    df = pd.read_csv(b / "monitors.csv")
    df.loc[(df["time_s"] > 3.0) & (df["time_s"] < 3.2), "tx_ingress_power_dbm"] = -45.0
    (b / "monitors.csv").write_text(df.to_csv(index=False))
    rehash_manifest(b)
    o = run_monitor("trojan-horse", b)
    m = {x.name: x.value for x in o.measurements}
    assert o.verdict is Verdict.FAIL
    assert m["alarm_episodes"] == 2 and m["unanswered_episodes"] == 1
    assert "-45 dBm at t = 3.05 s" in o.reason


def test_blinding_photocurrent_rule() -> None:
    """Optional rule (a): photocurrent above the ST's 2.2 µA ceiling. The blinded detectors
    draw 6 µA from block 5 on, the honest ones 1.8 µA (evaltool/simulate/_device.py, Link)."""
    _need_vectors()
    kind, params = monitor_params(st())["detector-blinding"]
    params = {**params, "photocurrent_slot": "monitors",
              "photocurrent_max_ua": st()["photocurrent_max_ua"]}
    o = run(kind, params, SCENARIOS / "detector-blinding")
    assert o.verdict is Verdict.FAIL and "photocurrent above 2.2 µA" in o.reason
    m = {x.name: x.value for x in o.measurements}
    assert m["photocurrent_max"] == pytest.approx(6.0, abs=0.6)
    assert run(kind, params, SCENARIOS / "honest").verdict is Verdict.PASS
    with pytest.raises(ProfileError, match="together"):
        parse_params(get(kind), {**params, "photocurrent_max_ua": None})


def test_mismatch_reports_bit_time_information() -> None:
    """The ±30 ps shift makes the time bin reveal the bit: I(bit; bin) well above honest."""
    _need_vectors()
    shifted = {x.name: x.value for x in verdicts("efficiency-mismatch")["efficiency-mismatch"]
               .measurements}
    honest = {x.name: x.value for x in verdicts("honest")["efficiency-mismatch"].measurements}
    assert shifted["bit_time_mi"] > 0.05
    assert honest["bit_time_mi_upper"] < 0.001


def test_basis_split_depending_on_arrival_time_fails(tmp_path: Path) -> None:
    """A wavelength/time-dependent passive splitter: drop 30 % of the X-basis detections that
    arrive before 200 ps. The key-basis share there rises from 0.8 to 0.85, a ratio mismatch of
    1 - (0.8/0.2)/(0.85/0.15) = 0.29 against the 0.03 bound."""
    b = _copy(tmp_path)
    t = pq.read_table(b / "detections.parquet").to_pandas()
    rng = np.random.default_rng(4)
    drop = (t["basis"] == 1) & (t["gate_offset_ps"] < 200) & (rng.random(len(t)) < 0.3)
    _rewrite_parquet(b, "detections.parquet",
                     pa.Table.from_pandas(t[~drop], preserve_index=False))
    o = run_monitor("efficiency-mismatch/basis", b)
    assert o.verdict is Verdict.FAIL, o.reason
    assert "bases" in o.reason
    # The per-detector comparison (bit 0 against bit 1 within each basis) is unaffected.
    assert run_monitor("efficiency-mismatch", b).verdict is Verdict.PASS
