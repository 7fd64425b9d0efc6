"""The test-vector factory: determinism, the committed bundles, and each scenario's deviation
measured on the generated data against the model it was drawn from."""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from evaltool.engines.protocol.channel import expected_counts
from evaltool.engines.protocol.finite_key import allowed_key_length, binary_entropy
from evaltool.simulate import (
    SCENARIO_NAMES,
    SCENARIOS,
    Link,
    class_rates,
    generate,
    pulses_per_block,
    scenario,
)
from evaltool.simulate._generate import STUCK_AT, channel, health_test_alarms

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "test_vectors" / "scenarios"
EVIDENCE_FILES = (
    "blocks.csv", "detections.parquet", "pulses.parquet", "monitors.csv", "rng.bin",
    "self-tests.jsonl", "audit.jsonl", "rng-health.jsonl", "key-delivery.csv",
    "test-blocks.csv", "transcript.parquet", "key-delivery-rx.csv", "isolation.csv",
    "kdi-probe.jsonl",
)  # fmt: skip

# Files each scenario changes with respect to the honest bundle (bundle.yaml and PROVENANCE.md
# always differ: they carry the hashes and the scenario name).
CHANGED = {
    "honest": set(),
    "overclaim-key-length": {"blocks.csv", "key-delivery.csv", "key-delivery-rx.csv"},
    "underreported-leakage": {"blocks.csv", "key-delivery.csv", "key-delivery-rx.csv"},
    "asymptotic-pa-length": {"blocks.csv", "key-delivery.csv", "key-delivery-rx.csv"},
    "biased-rng": {"rng.bin", "rng-health.jsonl"},
    "detector-blinding": {"blocks.csv", "detections.parquet", "monitors.csv", "key-delivery.csv",
                          "key-delivery-rx.csv"},
    "efficiency-mismatch": {"detections.parquet"},
    "trojan-horse": {"blocks.csv", "audit.jsonl", "key-delivery.csv", "key-delivery-rx.csv"},
    "pns-no-decoy": {"blocks.csv", "detections.parquet", "key-delivery.csv",
                     "key-delivery-rx.csv"},
    "pattern-effect": {"pulses.parquet"},
    "basis-timing-leak": {"pulses.parquet"},
    "short-auth-tag": {"blocks.csv"},
    "no-abort-on-high-qber": {"blocks.csv", "key-delivery.csv", "key-delivery-rx.csv"},
    "stuck-rng": {"rng.bin", "rng-health.jsonl"},
    "rng-no-startup-test": {"self-tests.jsonl"},
    "rng-correlated-pairs": {"rng.bin", "rng-health.jsonl"},
    "truncated-pa": {"transcript.parquet"},
    "reused-pa-seed": {"test-blocks.csv", "transcript.parquet"},
    "hidden-ec-parities": {"test-blocks.csv"},
    "skipped-verification": {"transcript.parquet"},
    "auth-key-reuse": {"transcript.parquet"},
    "replay-accepted": {"transcript.parquet"},
    "delivery-after-failed-self-test": {"self-tests.jsonl"},
    "missing-key-destruction": {"audit.jsonl"},
    "reused-key-id": {"audit.jsonl", "key-delivery.csv", "key-delivery-rx.csv"},
    "audit-without-user": {"audit.jsonl"},
    "no-lockout": {"audit.jsonl"},
    "operator-changes-threshold": {"audit.jsonl"},
    "tamper-without-zeroisation": {"audit.jsonl"},
    "decoy-intensity-off": {"pulses.parquet"},
    "basis-qber-asymmetry": {"blocks.csv", "key-delivery.csv", "key-delivery-rx.csv"},
    "phase-not-randomised": {"pulses.parquet"},
    "weak-isolation": {"isolation.csv"},
    "audit-record-deleted": {"audit.jsonl"},
    "kme-isolation-broken": {"kdi-probe.jsonl"},
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def bundles() -> dict[str, dict[str, bytes]]:
    """Every scenario at the committed seed and length, generated in memory."""
    return {
        name: generate(name, out_label=f"test_vectors/scenarios/{name}")
        for name in SCENARIO_NAMES
    }


def _blocks(files: dict[str, bytes]) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files["blocks.csv"]), keep_default_na=False)


def _parquet(files: dict[str, bytes], name: str) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(files[name])).to_pandas()


def test_thirty_five_scenarios_honest_first() -> None:
    assert SCENARIO_NAMES[0] == "honest"
    assert len(SCENARIO_NAMES) == 35
    assert set(SCENARIO_NAMES) == set(CHANGED)
    for name in SCENARIO_NAMES[1:]:
        assert SCENARIOS[name].violates, name


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = generate("detector-blinding", seed=11, blocks=4)
    b = generate("detector-blinding", seed=11, blocks=4)
    c = generate("detector-blinding", seed=12, blocks=4)
    assert {n: _sha(d) for n, d in a.items()} == {n: _sha(d) for n, d in b.items()}
    for name in EVIDENCE_FILES:
        if name not in ("self-tests.jsonl", "rng-health.jsonl", "audit.jsonl"):
            assert a[name] != c[name], name


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_committed_bundle_is_regenerated_byte_for_byte(
    name: str, bundles: dict[str, dict[str, bytes]]
) -> None:
    folder = VECTORS / name
    files = bundles[name]
    on_disk = {p.name: _sha(p.read_bytes()) for p in folder.iterdir()}
    assert on_disk == {n: _sha(d) for n, d in files.items()}
    provenance = files["PROVENANCE.md"].decode()
    assert f"evaltool simulate {name} --out test_vectors/scenarios/{name} --seed 2026" in (
        provenance
    )
    for n, d in files.items():
        if n != "PROVENANCE.md":
            assert f"| {n} | `{_sha(d)}` |" in provenance


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_scenario_changes_only_its_files(name: str, bundles: dict[str, dict[str, bytes]]) -> None:
    honest = bundles["honest"]
    changed = {n for n in EVIDENCE_FILES if bundles[name][n] != honest[n]}
    assert changed == CHANGED[name]
    assert bundles[name]["st.yaml"] == honest["st.yaml"]


def test_class_rates_match_the_engine_channel_model() -> None:
    # The per-class probabilities reproduce expected_counts of the engine (Lim 2014 Sec. IV with
    # the dead time of Rusca 2018; docs/methods/channel-model.md) to rounding.
    link = Link()
    n = pulses_per_block(link)
    exp = expected_counts(channel(link), link.intensities, link.probabilities,
                          link.p_key_basis, link.block_size)  # fmt: skip
    r = class_rates(link)
    p = np.asarray(link.probabilities)
    q = link.p_key_basis
    np.testing.assert_allclose(n * p * q * q * r.click, exp.key_detections, rtol=1e-6)
    np.testing.assert_allclose(n * p * q * q * r.error, exp.key_errors, rtol=1e-6)
    np.testing.assert_allclose(n * p * (1 - q) ** 2 * r.click, exp.test_detections, rtol=1e-6)
    assert abs(float(np.sum(exp.key_detections)) - link.block_size) < 1e-3 * link.block_size


def test_honest_blocks_follow_the_model_and_the_bound(
    bundles: dict[str, dict[str, bytes]],
) -> None:
    link = Link()
    df = _blocks(bundles["honest"])
    n = pulses_per_block(link)
    r = class_rates(link)
    q = link.p_key_basis
    assert len(df) == 20 and (df["block_id"] == np.arange(20)).all()
    assert (df[[f"n_sent_{k}" for k in range(3)]].sum(axis=1) == n).all()
    # Key-basis detections of each class: binomial around N p_k q^2 R_k c_dt (4 sd, 60 values).
    for k in range(3):
        mean = n * link.probabilities[k] * q * q * r.click[k]
        assert abs(df[f"key_detections_{k}"].mean() - mean) < 4 * math.sqrt(mean / 20)
    # Every key-producing block outputs exactly its lim2014 bound; one block (the ingress alarm)
    # aborts.
    assert df["aborted"].tolist() == [int(b == 10) for b in range(20)]
    for row in df.itertuples():
        res = allowed_key_length(
            "lim2014", link.intensities, link.probabilities,
            [getattr(row, f"key_detections_{k}") for k in range(3)],
            [getattr(row, f"key_errors_{k}") for k in range(3)],
            [getattr(row, f"test_detections_{k}") for k in range(3)],
            [getattr(row, f"test_errors_{k}") for k in range(3)],
            ec_leakage_bits=row.ec_leakage_bits, verification_hash_bits=64,
            eps_sec=1e-9, eps_cor=1e-15,
        )  # fmt: skip
        assert row.pa_output_bits == (0 if row.aborted else int(res.ell))
        nk, qber = row.pa_input_bits, row.qber_key
        assert 1.08 <= row.ec_leakage_bits / (nk * binary_entropy(qber)) <= 1.16 + 1e-3
    keyed = df[df["aborted"] == 0]
    assert keyed["pa_seed_sha256"].is_unique and keyed["key_id"].is_unique
    assert (keyed["pa_output_bits"] > 500_000).all()


def test_overclaim_and_asymptotic_exceed_the_bound(bundles: dict[str, dict[str, bytes]]) -> None:
    honest = _blocks(bundles["honest"])
    over = _blocks(bundles["overclaim-key-length"])
    ratio = over["pa_output_bits"] / honest["pa_output_bits"].where(honest["pa_output_bits"] > 0)
    expected = [1.05 if b % 4 == 0 and b != 10 else 1.0 for b in range(20)]
    np.testing.assert_allclose(ratio.fillna(1.0), expected, atol=1e-5)
    asym = _blocks(bundles["asymptotic-pa-length"])
    keyed = honest["aborted"] == 0
    # Dropping the finite-size terms roughly doubles the key at n_K = 3e6 (the finite-size
    # penalty is large below 1e7).
    assert (asym["pa_output_bits"][keyed] > 1.5 * honest["pa_output_bits"][keyed]).all()


def test_underreported_leakage_below_shannon_limit(bundles: dict[str, dict[str, bytes]]) -> None:
    df = _blocks(bundles["underreported-leakage"])
    errors = sum(df[f"key_errors_{k}"] for k in range(3))
    qber = errors / df["pa_input_bits"]
    shannon = df["pa_input_bits"] * qber.map(lambda x: float(binary_entropy(x)))
    # ceil(0.9 n h(Q)): within one bit of 0.9 n h(Q).
    assert ((df["ec_leakage_bits"] - 0.9 * shannon).between(0, 1 + 1e-6)).all()


def test_biased_rng_fraction_of_ones(bundles: dict[str, dict[str, bytes]]) -> None:
    for name, p in (("honest", 0.5), ("biased-rng", 0.52)):
        data = np.frombuffer(bundles[name]["rng.bin"], dtype=np.uint8)
        assert data.size * 8 == 1 << 24
        ones = np.unpackbits(data).mean()
        assert abs(ones - p) < 5 * math.sqrt(p * (1 - p) / data.size / 8), name


def test_blinding_removes_the_dark_count_floor(bundles: dict[str, dict[str, bytes]]) -> None:
    # Vacuum-class errors are at least the dark-count errors n q_sift p_dc (one detector of the
    # matching basis fires wrongly); a lower-tail binomial test on that floor is the blinding
    # statistic (standards brief §4, detector blinding (b)).
    link = Link()
    q = link.p_key_basis
    sift = q * q + (1 - q) ** 2
    for name, blinded_from in (("honest", None), ("detector-blinding", 5)):
        df = _blocks(bundles[name])
        errors = df["key_errors_2"] + df["test_errors_2"]
        floor_p = sift * link.dark_count * class_rates(link).dead_time_factor
        for row, e in zip(df.itertuples(), errors, strict=True):
            pval = stats.binom.cdf(e, row.n_sent_2, floor_p)
            if blinded_from is not None and row.block_id >= blinded_from:
                assert pval < 1e-6, (name, row.block_id)
            else:
                assert pval > 1e-3, (name, row.block_id)
        # QBER stays normal: within 0.05 % of the honest value.
        assert abs(df["qber_key"].mean() - 0.0126) < 5e-4
    mon = pd.read_csv(io.BytesIO(bundles["detector-blinding"]["monitors.csv"]))
    after = mon["time_s"] >= 5 * pulses_per_block(link) / link.rep_rate_hz
    assert (mon.loc[after, "rx_photocurrent_ua"] > 2.2).all()
    assert (mon.loc[~after, "rx_photocurrent_ua"] < 2.2).all()


def test_detection_window_dead_time_gate_and_rate(bundles: dict[str, dict[str, bytes]]) -> None:
    link = Link()
    det = _parquet(bundles["honest"], "detections.parquet")
    pulses = det["pulse_index"].to_numpy()
    assert np.diff(pulses).min() >= math.ceil(link.dead_time_s * link.rep_rate_hz)
    assert np.all(np.diff(det["time_ps"].to_numpy()) > 0)
    assert det["gate_offset_ps"].between(0, link.gate_width_ps).all()
    # Click rate of the model: R sum_k p_k R_k c_dt (Rusca 2018 App. B), within 1 %.
    r = class_rates(link)
    rate = len(det) / link.detection_window_s
    model = link.rep_rate_hz * float(np.dot(link.probabilities, r.click))
    assert abs(rate / model - 1) < 0.01
    # Vacuum-class detections: the class's own clicks (dark counts included) plus the afterpulses
    # that fall in a vacuum-class gate (a tenth of all afterpulses), within 5 sd.
    pulses_w = link.detection_window_s * link.rep_rate_hz
    own = pulses_w * link.probabilities[2] * r.detect[2] * r.dead_time_factor
    after = link.probabilities[2] * link.afterpulse * pulses_w * float(
        np.dot(link.probabilities, r.detect) * r.dead_time_factor
    )
    n_vac = (det["intensity"] == 2).sum()
    assert abs(n_vac - own - after) < 5 * math.sqrt(own + after)


def test_efficiency_mismatch_shifts_detectors_in_the_gate(
    bundles: dict[str, dict[str, bytes]],
) -> None:
    for name, shift in (("honest", 0.0), ("efficiency-mismatch", 30.0)):
        det = _parquet(bundles[name], "detections.parquet")
        by_bit = det.groupby(det["detector"] % 2)["gate_offset_ps"].mean()
        assert abs(by_bit[1] - by_bit[0] - 2 * shift) < 1.5, name


def test_pns_gains_break_linear_loss(bundles: dict[str, dict[str, bytes]]) -> None:
    # Linear loss: Q_k = 1 - exp(-eta mu_k) (+ dark); the decoy-to-signal gain ratio falls 10 %
    # below it under the simulated PNS attack.
    link = Link()
    r = class_rates(link)
    model = r.click[1] / r.click[0]
    for name, factor in (("honest", 1.0), ("pns-no-decoy", 0.9)):
        df = _blocks(bundles[name])
        gain = [(df[f"key_detections_{k}"] / df[f"n_sent_{k}"]).mean() for k in (0, 1)]
        assert abs(gain[1] / gain[0] / model - factor) < 0.01 * factor, name


def test_pulse_window_features(bundles: dict[str, dict[str, bytes]]) -> None:
    link = Link()
    for name, rel, timing in (("honest", 0.0, 0.0), ("pattern-effect", 0.03, 0.0),
                              ("basis-timing-leak", 0.0, 0.4)):  # fmt: skip
        pul = _parquet(bundles[name], "pulses.parquet")
        assert len(pul) == link.pulse_window
        sig = pul["intensity"] == 0
        prev_sig = np.concatenate([[False], (pul["intensity"] == 0).to_numpy()[:-1]])
        mu = pul["mu_measured_photons"]
        effect = mu[sig & prev_sig].mean() / mu[sig & ~prev_sig].mean() - 1
        assert abs(effect - rel) < 0.0015, name
        off = pul.groupby("basis")["emission_offset_ps"].mean()
        assert abs(off[1] - off[0] - timing) < 0.05, name
        assert abs((pul["basis"] == 0).mean() - link.p_key_basis) < 0.005


def test_trojan_alarm_answered_only_by_the_honest_device(
    bundles: dict[str, dict[str, bytes]],
) -> None:
    honest = bundles["honest"]["audit.jsonl"].decode()
    trojan = bundles["trojan-horse"]["audit.jsonl"].decode()
    assert '"event": "ingress-alarm"' in honest and '"event": "abort"' in honest
    assert "ingress-alarm" not in trojan and '"abort"' not in trojan
    mon = pd.read_csv(io.BytesIO(bundles["trojan-horse"]["monitors.csv"]))
    assert (mon["tx_ingress_power_dbm"] > -55).sum() == 3


def test_short_tags_and_high_qber_blocks(bundles: dict[str, dict[str, bytes]]) -> None:
    tags = _blocks(bundles["short-auth-tag"])
    assert (tags["auth_tag_bits"] == 48).all()
    # A one-time-pad-masked polynomial tag of b bits forges with probability >= 2^-b, so the
    # claimed eps_auth needs b >= log2(1/eps_auth) = 66.4 bits (docs/methods/authentication.md).
    claim = re.search(r"eps_auth: (\S+)", bundles["short-auth-tag"]["bundle.yaml"].decode())
    assert claim is not None and float(claim.group(1)) < 2.0**-48
    assert float(claim.group(1)) > 2.0**-128
    high = _blocks(bundles["no-abort-on-high-qber"])
    over = high[high["qber_key"] > 0.025]
    assert over["block_id"].tolist() == [6, 13]
    assert (over["pa_output_bits"] > 0).all() and (over["aborted"] == 0).all()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario("no-such-thing")
    with pytest.raises(ValueError, match="at least 2 blocks"):
        generate("honest", blocks=1)
    with pytest.raises(ValueError, match="seed"):
        generate("honest", seed=-1)


def test_device_health_tests_agree_with_the_engine(bundles: dict[str, dict[str, bytes]]) -> None:
    # The simulated device's own SP 800-90B §4.4 tests (binary adaptive-proportion window 1024)
    # against evaltool's engine run with the same window: same alarms, on the scenario outputs
    # and on a strongly biased stream that trips the adaptive-proportion test.
    from evaltool.engines.stats.sp800_90b.health import health_tests

    rng = np.random.default_rng(3)
    streams = [bundles["honest"]["rng.bin"], bundles["biased-rng"]["rng.bin"],
               np.packbits(rng.random(1 << 20) < 0.65).tobytes()]  # fmt: skip
    for data in streams:
        ours = health_test_alarms(data, 0.8)
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        ref = health_tests(bits, 1, 0.8, window=1024)
        assert sum(a["test"] == "repetition-count" for a in ours) == ref.rct_alarms
        assert sum(a["test"] == "adaptive-proportion" for a in ours) == ref.apt_alarms
    assert ref.apt_alarms > 100
    log = bundles["honest"]["rng-health.jsonl"].decode()
    assert log.count('"health-test-alarm"') == 1
    assert log.count('"rng-output-blocked"') == log.count('"rng-output-resumed"') == 1


def test_rng_scenarios_log_what_their_device_does(bundles: dict[str, dict[str, bytes]]) -> None:
    # stuck-rng: the 256-bit stuck run starts after the bits procedure A's two attempts and the
    # SP 800-22 battery read; the total failure is logged, never followed by a block.
    stuck = np.unpackbits(np.frombuffer(bundles["stuck-rng"]["rng.bin"], dtype=np.uint8))
    assert stuck[STUCK_AT : STUCK_AT + 256].all() and STUCK_AT >= 2 * 8_285_728
    records = [json.loads(line) for line in bundles["stuck-rng"]["rng-health.jsonl"].splitlines()]
    (fail,) = [r for r in records if r["event"] == "total-failure"]
    assert fail["sample_index"] - 63 <= STUCK_AT + 255
    after = [r["event"] for r in records if r.get("sample_index", -1) > fail["sample_index"]]
    assert "rng-output-blocked" not in after and "rng-output-resumed" in after
    assert b"rng-startup-test" not in bundles["rng-no-startup-test"]["self-tests.jsonl"]
    assert b"rng-startup-test" in bundles["honest"]["self-tests.jsonl"]
    # Correlated pairs: changes within a pair at 1/2 - 0.0125, between pairs at 1/2 + 0.0125.
    bits = np.unpackbits(np.frombuffer(bundles["rng-correlated-pairs"]["rng.bin"],
                                       dtype=np.uint8)).astype(np.int8)
    change = bits[1:] != bits[:-1]
    assert abs(change[0::2].mean() - 0.4875) < 0.001
    assert abs(change[1::2].mean() - 0.5125) < 0.001
    assert abs(change.mean() - 0.5) < 0.0005


def test_short_captures_keep_the_deviation() -> None:
    # With 2 blocks the ingress alarm falls in block 1 (aborted by the honest device); the
    # deviating block of each scenario must be another one, or the alarm block itself.
    honest = _blocks(generate("honest", blocks=2))
    assert honest["aborted"].tolist() == [0, 1]
    over = _blocks(generate("overclaim-key-length", blocks=2))
    assert over["pa_output_bits"][0] == math.ceil(1.05 * honest["pa_output_bits"][0])
    high = _blocks(generate("no-abort-on-high-qber", blocks=2))
    assert high["qber_key"][0] > 0.025 and high["pa_output_bits"][0] > 0
    trojan = _blocks(generate("trojan-horse", blocks=2))
    assert trojan["aborted"].tolist() == [0, 0]


def test_conventional_and_source_scenarios_show_their_deviation(
    bundles: dict[str, dict[str, bytes]],
) -> None:
    def audit(name: str) -> list[dict[str, object]]:
        return [json.loads(x) for x in bundles[name]["audit.jsonl"].splitlines()]

    honest = audit("honest")
    assert [r["seq"] for r in honest] == list(range(len(honest)))
    assert all({"time_s", "event", "subject", "outcome", "user"} <= set(r) for r in honest)
    kd = pd.read_csv(io.BytesIO(bundles["honest"]["key-delivery.csv"]))
    destroyed = {r["key_id"] for r in honest if r["event"] == "key-destroyed"}
    assert destroyed == set(kd["key_id"])
    assert len(audit("missing-key-destruction")) == len(honest) - 2
    assert len(audit("audit-record-deleted")) == len(honest) - 1
    assert not any("user" in r for r in audit("audit-without-user"))
    rx = pd.read_csv(io.BytesIO(bundles["reused-key-id"]["key-delivery-rx.csv"]))
    assert rx["key_id"][2] == rx["key_id"][1]
    # Decoy class 6 % high; phases on 8 values; a 15 dB dip in the isolation spectrum.
    for name, decoy in (("honest", 0.15), ("decoy-intensity-off", 0.159)):
        pul = _parquet(bundles[name], "pulses.parquet")
        assert abs(pul.loc[pul["intensity"] == 1, "mu_measured_photons"].mean() - decoy) < 3e-4
    phase = _parquet(bundles["phase-not-randomised"], "pulses.parquet")["rel_phase_rad"]
    near = np.abs(((phase + np.pi / 8) % (np.pi / 4)) - np.pi / 8)
    assert (near < 0.25).mean() > 0.999
    for name, low in (("honest", 120.0), ("weak-isolation", 110.0)):
        iso = pd.read_csv(io.BytesIO(bundles[name]["isolation.csv"]))
        assert (iso["isolation_db"].min() > 120.0) == (name == "honest")
        assert iso["isolation_db"].min() > low
    probe = [json.loads(x) for x in bundles["honest"]["kdi-probe.jsonl"].splitlines()]
    assert probe[0]["format"] == "key-delivery-probe"
    third = [r for r in probe if r.get("step") == "isolation.third"]
    assert third[0]["status"] == 401
    broken = [json.loads(x) for x in bundles["kme-isolation-broken"]["kdi-probe.jsonl"]
              .splitlines()]
    assert next(r for r in broken if r.get("step") == "isolation.third")["status"] == 200
