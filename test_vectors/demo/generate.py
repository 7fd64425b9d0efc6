"""Generate the demo evidence bundle: a small, realistic capture of a decoy-state BB84 link.

Deterministic for a given seed (default 2026). The channel follows the usual dedicated-fibre model
(Lim et al., PRA 89, 022307 (2014), Sec. IV): transmittance eta = eta_det * 10^(-alpha L / 10),
gain Q_k = 1 - (1 - p_dc)^2 exp(-eta mu_k), error rate from misalignment and dark counts. The
honest device outputs 98 % of the lim2014 key length computed from each block's own counts.

Usage: python test_vectors/demo/generate.py OUT_DIR [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from evaltool.engines.protocol.finite_key import allowed_key_length
from evaltool.simulate import _records as records
from evaltool.simulate._device import Deviation
from evaltool.simulate._generate import Timeline
from evaltool.simulate._kdi_probe import probe_record

INTENSITIES = (0.5, 0.15, 0.0002)
PROBABILITIES = (0.6, 0.3, 0.1)
P_KEY = 0.8
REP_RATE_HZ = 1.0e9
FIBRE_KM = 25.0
ALPHA_DB_PER_KM = 0.2
ETA_DET = 0.1
P_DC = 6e-7
E_MIS = 0.01
BLOCKS = 20
BLOCK_SECONDS = 1.0
TROJAN_ALARM_S = 12.3
EPS_SEC = 1.0e-9
EPS_COR = 1.0e-15


def _h(x: float) -> float:
    return 0.0 if x <= 0 or x >= 1 else -x * math.log2(x) - (1 - x) * math.log2(1 - x)


def _block_records(rng: np.random.Generator) -> pd.DataFrame:
    eta = ETA_DET * 10 ** (-ALPHA_DB_PER_KM * FIBRE_KM / 10)
    pulses = int(REP_RATE_HZ * BLOCK_SECONDS)
    rows = []
    for b in range(BLOCKS):
        row: dict[str, float | int | str] = {"block_id": b, "time_s": (b + 1) * BLOCK_SECONDS}
        key_det = key_err = 0
        for k, (mu, p) in enumerate(zip(INTENSITIES, PROBABILITIES, strict=True)):
            n = int(rng.binomial(pulses, p))
            gain = 1 - (1 - P_DC) ** 2 * math.exp(-eta * mu)
            err_rate = (E_MIS * (1 - math.exp(-eta * mu)) + P_DC) / gain
            row[f"n_sent_{k}"] = n
            for basis, pb in (("key", P_KEY * P_KEY), ("test", (1 - P_KEY) ** 2)):
                d = int(rng.binomial(n, gain * pb))
                e = int(rng.binomial(d, err_rate))
                row[f"{basis}_detections_{k}"] = d
                row[f"{basis}_errors_{k}"] = e
                if basis == "key":
                    key_det += d
                    key_err += e
        qber = key_err / key_det
        leak = math.ceil(1.16 * key_det * _h(qber))
        aborted = int(b == int(TROJAN_ALARM_S // BLOCK_SECONDS))
        bound = allowed_key_length(
            "lim2014", INTENSITIES, PROBABILITIES,
            *([row[f"{basis}_{what}_{k}"] for k in range(len(INTENSITIES))]
              for basis in ("key", "test") for what in ("detections", "errors")),
            ec_leakage_bits=leak, verification_hash_bits=64, eps_sec=EPS_SEC, eps_cor=EPS_COR,
        )
        ell = 0 if aborted else int(0.98 * int(bound.ell))
        row.update({
            "ec_leakage_bits": leak,
            "verification_hash_bits": 64,
            "pa_input_bits": key_det,
            "pa_output_bits": max(ell, 0),
            "aborted": aborted,
            "qber_key": round(qber, 6),
            "key_id": f"k-{b:05d}" if not aborted else "",
            "pa_seed_sha256": hashlib.sha256(f"seed-{b}".encode()).hexdigest(),
            "auth_tag_bits": 128,
            "auth_key_bits_consumed": 256,
        })
        rows.append(row)
    return pd.DataFrame(rows)


def _detections(rng: np.random.Generator, n: int = 100_000) -> pa.Table:
    gaps = rng.geometric(1 / 2200.0, size=n).astype(np.int64) * 1000  # 1 ns slots, in ps
    time_ps = np.cumsum(gaps) + 5_000_000_000
    detector = rng.integers(0, 4, size=n)
    basis = detector // 2
    bit = detector % 2
    intensity = rng.choice(3, size=n, p=[0.87, 0.125, 0.005])
    gate = rng.normal(250.0, 40.0, size=n).round(1)
    return pa.table({
        "time_ps": time_ps, "detector": detector, "basis": basis, "bit": bit,
        "intensity": intensity, "gate_offset_ps": gate,
    })


def _monitors(rng: np.random.Generator) -> pd.DataFrame:
    t = np.round(np.arange(0, BLOCKS * BLOCK_SECONDS, 0.1) + 0.05, 3)
    ingress = rng.normal(-72.0, 0.8, size=t.size)
    spike = (t >= TROJAN_ALARM_S) & (t < TROJAN_ALARM_S + 0.3)
    ingress[spike] = -38.0
    return pd.DataFrame({
        "time_s": t,
        "rx_photocurrent_ua": np.round(rng.normal(1.8, 0.05, size=t.size), 4),
        "tx_ingress_power_dbm": np.round(ingress, 3),
        "tx_laser_power_mw": np.round(rng.normal(1.0, 0.004, size=t.size), 5),
        "rx_temperature_c": np.round(-40.0 + rng.normal(0, 0.02, size=t.size), 4),
    })


def _jsonl(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def generate(out: Path, seed: int = 2026) -> Path:
    """Write the demo bundle into ``out`` (created) and return the manifest path."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    blocks = _block_records(rng)
    blocks.to_csv(out / "blocks.csv", index=False)
    pq.write_table(_detections(rng), out / "detections.parquet", compression="zstd")
    _monitors(rng).to_csv(out / "monitors.csv", index=False)
    # The RNG's raw output: a SHAKE-256 stream, standing in for the device's QRNG.
    (out / "rng.bin").write_bytes(hashlib.shake_256(f"demo-qrng-{seed}".encode()).digest(1 << 20))
    # The logs of the conventional functions, the receiver's key log, the isolation spectrum and
    # the GS QKD 014 probe record follow the simulator's (docs/scenarios.md), on this timeline:
    # a failed periodic self-test with its retest, lock-out and management records, a
    # destruction record for every key and aborted block, a tamper event after the last key.
    timeline = Timeline(BLOCK_SECONDS, BLOCKS, int(TROJAN_ALARM_S // BLOCK_SECONDS),
                        TROJAN_ALARM_S, TROJAN_ALARM_S)
    honest = Deviation()
    _jsonl(out / "self-tests.jsonl", [
        {"time_s": 0.0, "event": "power-on-self-test", "result": "pass"},
        {"time_s": 0.01, "event": "rng-startup-test", "result": "pass"},
        *(r for r in records.self_tests(honest, timeline) if r["event"] == "periodic-self-test"),
    ])
    abort = blocks["aborted"] == 1
    blocks_at_abort = blocks.assign(time_s=blocks["time_s"].where(
        ~abort, float(math.ceil(TROJAN_ALARM_S))))
    kd = records.deliveries(blocks, honest)
    _jsonl(out / "audit.jsonl", records.audit(honest, timeline, blocks_at_abort, kd,
                                              ingress_alarm=True))
    _jsonl(out / "rng-health.jsonl", [{"time_s": 0.0, "event": "health-tests-enabled"}])
    kd.to_csv(out / "key-delivery.csv", index=False)
    records.deliveries(blocks, honest, delay_s=0.012).to_csv(out / "key-delivery-rx.csv",
                                                             index=False)
    records.isolation_spectrum(honest, seed).to_csv(out / "isolation.csv", index=False)
    (out / "kdi-probe.jsonl").write_bytes(probe_record(seed))
    files = [
        ("blocks", "block-records", "csv", "blocks.csv", "per-block post-processing records"),
        ("detections", "detection-events", "parquet", "detections.parquet",
         "receiver detections, sample window"),
        ("monitors", "monitor", "csv", "monitors.csv", "monitor channels at 10 Hz"),
        ("rng", "rng-raw", "binary", "rng.bin", "raw QRNG output, 2^23 bits"),
        ("self_tests", "self-test-log", "jsonl", "self-tests.jsonl", "self-test results"),
        ("audit_log", "audit-log", "jsonl", "audit.jsonl", "security audit log"),
        ("rng_health", "health-test-log", "jsonl", "rng-health.jsonl", "RNG health-test log"),
        ("key_delivery", "key-delivery-log", "csv", "key-delivery.csv", "keys delivered"),
        ("key_delivery_rx", "key-delivery-log", "csv", "key-delivery-rx.csv",
         "keys delivered by the receiver"),
        ("isolation", "isolation-spectrum", "csv", "isolation.csv",
         "lab isolation spectrum of the transmitter's quantum port, 1000-1700 nm"),
        ("kdi_probe", "key-delivery-probe", "jsonl", "kdi-probe.jsonl",
         "record of evaltool probe etsi-014 against the GS QKD 014 interface (synthesised)"),
    ]
    lines = [
        "# Demo evidence bundle, generated by test_vectors/demo/generate.py "
        f"(seed {seed}); do not edit, regenerate.",
        "schema_version: 1",
        "toe:",
        "  vendor: Example Quantum Ltd",
        "  product: EQ-QKD 1000",
        "  transmitter: {serial: TX-0001, hardware_version: rev C, firmware_version: 2.4.1}",
        "  receiver: {serial: RX-0001, hardware_version: rev C, firmware_version: 2.4.1}",
        "claims:",
        "  protocol: bb84-decoy-3",
        "  bound: lim2014",
        f"  intensities: [{', '.join(str(x) for x in INTENSITIES)}]",
        f"  probabilities: [{', '.join(str(x) for x in PROBABILITIES)}]",
        f"  p_key_basis: {P_KEY}",
        f"  eps_sec: {EPS_SEC}",
        f"  eps_cor: {EPS_COR}",
        "  eps_auth: 1.0e-20",
        "  block_size: 10000000",
        "  qber_abort_threshold: 0.06",
        f"  rep_rate_hz: {REP_RATE_HZ}",
        "capture:",
        "  start: 2026-11-02T09:00:00Z",
        "  end: 2026-11-02T09:00:20Z",
        "  lab: Example Evaluation Lab",
        "  operator: demo",
        f"  fibre_length_km: {FIBRE_KM}",
        f"  fibre_attenuation_db: {ALPHA_DB_PER_KM * FIBRE_KM:.1f}",
        "evidence:",
    ]
    for slot, kind, fmt, name, desc in files:
        digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        lines += [f"  - slot: {slot}", f"    kind: {kind}", f"    format: {fmt}",
                  f"    path: {name}", f"    sha256: {digest}", f"    description: {desc}"]
    manifest = out / "bundle.yaml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def main() -> None:
    """Command-line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    print(generate(args.out, args.seed))


if __name__ == "__main__":
    main()
