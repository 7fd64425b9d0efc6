"""Assemble a scenario's evidence bundle (manifest, security target, evidence files, provenance)
and write it to a folder atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from evaltool import __version__
from evaltool.errors import UsageError
from evaltool.simulate import _records as records
from evaltool.simulate._device import (
    DEFAULT_BLOCKS,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    Deviation,
    Link,
    Scenario,
    scenario,
)
from evaltool.simulate._generate import (
    Timeline,
    block_records,
    detection_window,
    em_capture,
    health_test_alarms,
    monitors,
    pulse_window,
    rng_output,
    stream,
    timeline,
    total_failures,
)
from evaltool.simulate._kdi_probe import probe_record
from evaltool.simulate._test_mode import test_mode_files

CAPTURE_START = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)

# (slot, kind, format, file name, description)
EVIDENCE: tuple[tuple[str, str, str, str, str], ...] = (
    ("blocks", "block-records", "csv", "blocks.csv", "per-block post-processing records"),
    ("detections", "detection-events", "parquet", "detections.parquet",
     "receiver detections, 25 ms sample window at the start of the last block"),
    ("pulses", "pulse-events", "parquet", "pulses.parquet",
     "transmitter per-pulse settings and emission features, sample window"),
    ("monitors", "monitor", "csv", "monitors.csv", "monitor channels at 10 Hz"),
    ("rng", "rng-raw", "binary", "rng.bin", "raw RNG output, 2^24 bits"),
    ("self_tests", "self-test-log", "jsonl", "self-tests.jsonl", "self-test results"),
    ("audit_log", "audit-log", "jsonl", "audit.jsonl", "security audit log"),
    ("rng_health", "health-test-log", "jsonl", "rng-health.jsonl", "RNG health-test log"),
    ("key_delivery", "key-delivery-log", "csv", "key-delivery.csv", "keys delivered"),
    ("traces", "pulse-events", "parquet", "em-capture.parquet",
     "lab near-field EM capture of the modulator driver, features per pulse window"),
    ("test_blocks", "block-records", "csv", "test-blocks.csv",
     "block records of the test-mode capture (key material exported)"),
    ("transcript", "post-processing-transcript", "parquet", "transcript.parquet",
     "post-processing transcript of the test-mode capture, both ends, every step"),
    ("key_delivery_rx", "key-delivery-log", "csv", "key-delivery-rx.csv",
     "keys delivered by the receiver"),
    ("isolation", "isolation-spectrum", "csv", "isolation.csv",
     "lab isolation spectrum of the transmitter's quantum port, 1000-1700 nm"),
    ("kdi_probe", "key-delivery-probe", "jsonl", "kdi-probe.jsonl",
     "record of evaltool probe etsi-014 against the modules' GS QKD 014 interface "
     "(synthesised by the simulator)"),
)  # fmt: skip


def _csv(df: pd.DataFrame) -> bytes:
    text: str = df.to_csv(index=False, lineterminator="\n")
    return text.encode()


def _jsonl(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()


def _rng_health(link: Link, dev: Deviation, tl: Timeline, data: bytes) -> list[dict[str, object]]:
    """The RNG's health-test log: the alarms its own tests raise on the raw output, timed as if
    the output were drawn evenly over the capture, and the device's reaction to each.

    An online-test alarm blocks the output, which resumes after one clean retest window of
    1024 bits; a total failure blocks it for good (``dev.total_failure_ignored``: it is logged
    and nothing else happens). The records are described in docs/methods/ais31.md.
    """
    per_bit = tl.duration_s / (8 * len(data))

    def at(index: int) -> float:
        return round(index * per_bit, 6)

    records: list[dict[str, object]] = []
    for a in health_test_alarms(data, link.rng_min_entropy):
        i = int(a["sample_index"])  # type: ignore[call-overload]
        records += [{**a, "time_s": at(i)},
                    {"event": "rng-output-blocked", "sample_index": i, "time_s": at(i)},
                    {"event": "rng-output-resumed", "sample_index": i + 1024,
                     "time_s": at(i + 1024)}]
    for f in total_failures(data, link.rng_total_failure_run):
        i = int(f["sample_index"])  # type: ignore[call-overload]
        records.append({**f, "time_s": at(i)})
        if not dev.total_failure_ignored:
            records.append({"event": "rng-output-blocked", "sample_index": i, "time_s": at(i)})
    records.sort(key=lambda r: int(r["sample_index"]))  # type: ignore[call-overload]
    alarms = sum(r["event"] == "health-test-alarm" for r in records)
    return [
        {"time_s": 0.0, "event": "health-tests-enabled", "min_entropy": link.rng_min_entropy,
         "tests": ["repetition-count", "adaptive-proportion", "total-failure"]},
        *records,
        {"time_s": round(tl.duration_s, 6), "event": "health-summary", "count": alarms},
    ]


def security_target(link: Link) -> str:
    """The security target for profile etsi-gs-qkd-016.

    The values of the demo security target, adjusted to the simulated link: decoy intensity, QBER
    threshold and the detection-rate band around the model's 3.5 MHz.
    """
    mu = link.intensities
    assignments: list[tuple[str, str]] = [
        ("security_proof", '"Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014), '
                           'three-intensity decoy BB84"'),
        ("eps_sec", f"{link.eps_sec:.1e}"),
        ("eps_cor", f"{link.eps_cor:.1e}"),
        ("qber_abort_threshold", repr(link.qber_abort_threshold)),
        ("mu_signal", repr(mu[0])),
        ("mu_decoy", repr(mu[1])),
        ("mu_vacuum", repr(mu[2])),
        ("intensity_tolerance_rel", "0.03"),
        ("laser_power_min_mw", "0.95"),
        ("laser_power_max_mw", "1.05"),
        ("pattern_effect_max_rel", "0.005"),
        ("detector_mismatch_max", "0.03"),
        ("dark_count_prob_nominal", f"{link.dark_count:.1e}"),
        ("afterpulse_prob_max", "0.01"),
        ("dead_time_ns", f"{link.dead_time_s * 1e9:g}"),
        ("gate_width_ps", f"{link.gate_width_ps:g}"),
        ("detection_rate_min_hz", "2500000"),
        ("detection_rate_max_hz", "4500000"),
        ("photocurrent_max_ua", "2.2"),
        ("ingress_power_threshold_dbm", "-55"),
        ("isolation_db", "120"),
        ("abort_response_s", "1.0"),
        ("detector_temperature_max_c", "-35"),
        ("rng_class", "AIS31-PTG.3"),
        ("rng_min_entropy_per_bit", repr(link.rng_min_entropy)),
        ("auth_tag_bits", str(link.auth_tag_bits)),
        ("verification_hash_bits", str(link.verification_hash_bits)),
        ("ec_efficiency_min", "1.05"),
        ("auth_tags_per_block", str(link.auth_messages_per_block)),
        ("audit_max_gap_s", "0.5"),
        ("auth_failure_limit", "3"),
    ]  # fmt: skip
    lines = [
        "# Security target of the simulated TOE (EQ-QKD 1000, an invented product) claiming the",
        "# GS QKD 016 profile; written by `evaltool simulate` with the bundle, whose claims it "
        "matches.",
        "schema_version: 1",
        "id: eq-qkd-1000-st",
        "title: EQ-QKD 1000 security target",
        'version: "1.0"',
        "claims_profile: etsi-gs-qkd-016",
        'claims_profile_version: "0.2.0"',
        "assignments:",
        *(f"  {k}: {v}" for k, v in assignments),
        "selections:",
        "  protocol: bb84-decoy-3",
        "  finite_key_bound: lim2014",
        "  basis_choice_rx: passive",
        "  detector_type: gated-apd",
        "  key_delivery_interface: etsi-gs-qkd-014",
    ]
    return "\n".join(lines) + "\n"


def manifest(
    sc: Scenario, link: Link, tl: Timeline, seed: int, digests: Mapping[str, str]
) -> str:
    """The ``bundle.yaml`` manifest."""
    end = CAPTURE_START + timedelta(seconds=math.ceil(tl.duration_s))
    lines = [
        f"# Evidence bundle written by evaltool simulate {sc.name} (generator version "
        f"{GENERATOR_VERSION}, seed {seed}); do not edit, regenerate.",
        "schema_version: 1",
        "toe:",
        "  vendor: Example Quantum Ltd",
        "  product: EQ-QKD 1000",
        "  transmitter: {serial: TX-0001, hardware_version: rev C, firmware_version: 2.4.1}",
        "  receiver: {serial: RX-0001, hardware_version: rev C, firmware_version: 2.4.1}",
        "claims:",
        "  protocol: bb84-decoy-3",
        "  bound: lim2014",
        f"  intensities: [{', '.join(repr(x) for x in link.intensities)}]",
        f"  probabilities: [{', '.join(repr(x) for x in link.probabilities)}]",
        f"  p_key_basis: {link.p_key_basis!r}",
        f"  eps_sec: {link.eps_sec:.1e}",
        f"  eps_cor: {link.eps_cor:.1e}",
        f"  eps_auth: {link.eps_auth:.1e}",
        f"  block_size: {link.block_size}",
        f"  qber_abort_threshold: {link.qber_abort_threshold!r}",
        f"  rep_rate_hz: {link.rep_rate_hz:.4g}",
        "capture:",
        f"  start: {CAPTURE_START.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"  end: {end.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "  lab: Example Evaluation Lab",
        "  operator: simulator",
        f"  fibre_length_km: {link.fibre_km!r}",
        f"  fibre_attenuation_db: {link.attenuation_db!r}",
        f"  notes: {json.dumps(f'simulated capture, scenario {sc.name}: {sc.summary}')}",
        "evidence:",
    ]
    for slot, kind, fmt, name, desc in EVIDENCE:
        lines += [f"  - slot: {slot}", f"    kind: {kind}", f"    format: {fmt}",
                  f"    path: {name}", f"    sha256: {digests[name]}",
                  f"    description: {json.dumps(desc)}"]  # fmt: skip
        if kind == "post-processing-transcript":
            lines.append("    blocks_slot: test_blocks")
    return "\n".join(lines) + "\n"


def provenance(sc: Scenario, seed: int, blocks: int, out: str, digests: Mapping[str, str]) -> str:
    """``PROVENANCE.md``: generator version, seed, the exact command and the file hashes."""
    violates = ", ".join(sc.violates) if sc.violates else "none"
    lines = [
        f"# Provenance of the `{sc.name}` evidence bundle",
        "",
        f"- generator: evaltool simulate, generator version {GENERATOR_VERSION} "
        f"(evaltool {__version__})",
        f"- seed: {seed}",
        f"- blocks: {blocks}",
        f"- command: `evaltool simulate {sc.name} --out {out} --seed {seed} --blocks {blocks}`",
        f"- deviation: {sc.summary}",
        f"- requirements violated: {violates}",
        f"- statistic that catches it: {sc.statistic}",
        "",
        "The files are synthetic (a simulated decoy-state BB84 link; see docs/scenarios.md). "
        "Regenerating with the command above gives byte-identical files:",
        "",
        "| file | sha256 |",
        "|---|---|",
        *(f"| {name} | `{digest}` |" for name, digest in sorted(digests.items())),
    ]
    return "\n".join(lines) + "\n"


def generate(
    name: str, *, seed: int = DEFAULT_SEED, blocks: int = DEFAULT_BLOCKS, out_label: str = "DIR"
) -> dict[str, bytes]:
    """Every file of scenario ``name``'s bundle, by file name (no file is written).

    Parameters
    ----------
    name:
        Scenario id (:data:`evaltool.simulate.SCENARIO_NAMES`).
    seed:
        Seed of every generator; the same seed gives byte-identical files.
    blocks:
        Number of post-processing blocks in the capture (at least 2).
    out_label:
        The output folder as it should appear in the provenance note's command.

    Raises
    ------
    ValueError
        For an unknown scenario, fewer than 2 blocks or a negative seed.
    """
    if blocks < 2:
        raise ValueError(f"at least 2 blocks are needed, got {blocks}")
    if seed < 0:
        raise ValueError(f"the seed must not be negative, got {seed}")
    sc = scenario(name, blocks)
    link = Link()
    dev = sc.deviation
    tl = timeline(link, blocks)
    blocks_df = block_records(link, dev, tl, seed)
    delivered = records.deliveries(blocks_df, dev)
    files: dict[str, bytes] = {
        "blocks.csv": _csv(blocks_df),
        "detections.parquet": detection_window(link, dev, tl, seed),
        "pulses.parquet": pulse_window(link, dev, seed),
        "monitors.csv": _csv(monitors(link, dev, tl, seed)),
        "rng.bin": (rng_bits := rng_output(dev, seed)),
        "self-tests.jsonl": _jsonl(records.self_tests(dev, tl)),
        "audit.jsonl": _jsonl(records.audit(dev, tl, blocks_df, delivered,
                                            ingress_alarm=not dev.trojan_without_abort)),
        "rng-health.jsonl": _jsonl(_rng_health(link, dev, tl, rng_bits)),
        "key-delivery.csv": _csv(delivered),
        "em-capture.parquet": em_capture(link, seed),
        **test_mode_files(dev.transcript_fault, stream(seed, "test-mode")),
        "key-delivery-rx.csv": _csv(records.deliveries(blocks_df, dev, delay_s=0.012)),
        "isolation.csv": _csv(records.isolation_spectrum(dev, seed)),
        "kdi-probe.jsonl": probe_record(seed, dev.kme_fault),
    }  # fmt: skip
    digests = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    files["bundle.yaml"] = manifest(sc, link, tl, seed, digests).encode()
    files["st.yaml"] = security_target(link).encode()
    digests = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    files["PROVENANCE.md"] = provenance(sc, seed, blocks, out_label, digests).encode()
    return files


def write_bundle(out: Path, files: Mapping[str, bytes], *, force: bool = False) -> Path:
    """Write ``files`` into the folder ``out`` atomically and return the manifest's path.

    The files go to a temporary folder next to ``out`` that is renamed into place, so ``out``
    never holds a partial bundle.

    Raises
    ------
    UsageError
        If ``out`` is a file, or a non-empty folder and ``force`` is false.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError("exists and is not a folder", path=out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError("folder is not empty (use --force to replace it)", path=out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            old.rmdir()
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "bundle.yaml"


def simulate(
    name: str,
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    blocks: int = DEFAULT_BLOCKS,
    force: bool = False,
    out_label: str | None = None,
) -> Path:
    """Generate scenario ``name`` and write its bundle to ``out``; return the manifest's path."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        write_bundle(out, {}, force=force)  # raises the usage error before any work
    files = generate(name, seed=seed, blocks=blocks,
                     out_label=str(out) if out_label is None else out_label)
    return write_bundle(out, files, force=force)


__all__ = ["EVIDENCE", "generate", "manifest", "security_target", "simulate", "write_bundle"]
