"""Pure generation of an evidence bundle's contents from seeded NumPy generators.

Every file of the bundle draws from its own generator, seeded by the bundle seed and the file's
name, so that a scenario changes only the files its deviation touches (the other files are
byte-identical to the honest bundle's).

Channel and detector model (Lim et al. PRA 89 022307 (2014) Sec. IV, with eta_sys in the
misalignment term, and the dead-time factor of Rusca et al. APL 112 171104 (2018), Appendix B;
``docs/methods/channel-model.md``), per pulse of intensity class k:

* signal click s_k = 1 - exp(-eta_k mu_k), eta_k = eta_sys x (PNS factor of class k);
* D_k = 1 - (1 - 2 p_dc) exp(-eta_k mu_k), R_k = D_k (1 + p_ap);
* e_k = p_dc + e_mis s_k + p_ap D_k / 2;
* c_dt = 1 / (1 + R_rep t_dead sum_k p_k R_k);
* sifted detections n_{B,k} ~ Binomial(n_k, q_B R_k c_dt) with q_K = q^2, q_T = (1 - q)^2, and
  errors m_{B,k} ~ Binomial(n_{B,k}, e_k / R_k).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray
from scipy import stats

from evaltool.engines.protocol.channel import ChannelModel, expected_counts
from evaltool.engines.protocol.finite_key import allowed_key_length, binary_entropy
from evaltool.simulate._device import Deviation, Link

FloatArray = NDArray[np.float64]

RNG_BYTES = 1 << 21
"""Raw RNG output: 2^24 bits, room for AIS 20/31 test procedure A twice (2 x 8,285,728 bits: the
repetition after one failed basic test, [KS11] §5.4) and procedure B twice."""


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of one output file: seeded by the bundle seed and the file's name."""
    tag = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return np.random.default_rng(np.random.SeedSequence([seed, tag]))


def channel(link: Link) -> ChannelModel:
    """The honest link as the engine's channel model."""
    return ChannelModel.fibre(
        link.fibre_km,
        link.fibre_loss_db_per_km,
        detector_efficiency=link.detector_efficiency,
        dark_count=link.dark_count,
        afterpulse=link.afterpulse,
        misalignment=link.misalignment,
        rep_rate_hz=link.rep_rate_hz,
        dead_time_s=link.dead_time_s,
    )


def pulses_per_block(link: Link) -> int:
    """Pulses sent per block: the expected number for ``block_size`` key-basis detections."""
    c = expected_counts(
        channel(link), link.intensities, link.probabilities, link.p_key_basis, link.block_size
    )
    return round(float(c.pulses))


@dataclass(frozen=True, slots=True)
class ClassRates:
    """Per-pulse probabilities of each intensity class (module docstring formulas).

    Attributes
    ----------
    signal:
        s_k, click from the signal alone.
    detect:
        D_k, a click in the gate of the pulse (signal or dark count).
    click:
        R_k c_dt, any click including afterpulses, after the dead-time loss.
    error:
        e_k c_dt, a wrong-bit click (same basis).
    dead_time_factor:
        c_dt.
    """

    signal: FloatArray
    detect: FloatArray
    click: FloatArray
    error: FloatArray
    dead_time_factor: float


def class_rates(
    link: Link,
    *,
    dark_count: float | None = None,
    misalignment: float | None = None,
    transmittance: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> ClassRates:
    """Click and error probabilities per intensity class (Lim 2014 Sec. IV, Rusca 2018 App. B)."""
    p_dc = link.dark_count if dark_count is None else dark_count
    e_mis = link.misalignment if misalignment is None else misalignment
    mu = np.asarray(link.intensities, dtype=np.float64)
    p = np.asarray(link.probabilities, dtype=np.float64)
    eta = channel(link).eta_system * np.asarray(transmittance, dtype=np.float64)
    signal = -np.expm1(-eta * mu)
    detect = signal + 2.0 * p_dc * np.exp(-eta * mu)
    click = detect * (1.0 + link.afterpulse)
    error = p_dc + e_mis * signal + link.afterpulse * detect / 2.0
    c_dt = 1.0 / (1.0 + link.rep_rate_hz * link.dead_time_s * float(np.sum(p * click)))
    return ClassRates(signal, detect, click * c_dt, error * c_dt, c_dt)


def _decoy_asymptotic(
    mu: FloatArray, p: FloatArray, n: FloatArray, m: FloatArray | None = None
) -> tuple[float, float, float]:
    """Asymptotic decoy estimates s0, s1 (and v1 from errors ``m``) of one basis.

    Lim 2014 Eq. (2)-(4) with the Hoeffding terms set to zero, i.e. n* = e^{mu_k} n_k / p_k
    (the asymptotic forms (A4)-(A6) of Lim 2014's appendix).
    """
    mu1, mu2, mu3 = (float(x) for x in mu)
    star = np.exp(mu) * n / p
    tau0 = float(np.sum(p * np.exp(-mu)))
    tau1 = float(np.sum(p * np.exp(-mu) * mu))
    s0 = max(tau0 * (mu2 * star[2] - mu3 * star[1]) / (mu2 - mu3), 0.0)
    s1 = (
        tau1 * mu1 * (star[1] - star[2] - (mu2**2 - mu3**2) / mu1**2 * (star[0] - s0 / tau0))
        / (mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
    )
    v1 = 0.0
    if m is not None:
        mstar = np.exp(mu) * m / p
        v1 = tau1 * (mstar[1] - mstar[2]) / (mu2 - mu3)
    return float(s0), float(s1), float(v1)


def asymptotic_key_length(
    link: Link, counts: dict[str, FloatArray], ec_leakage_bits: float
) -> int:
    """Key length of the asymptotic decoy formula: s0 + s1 (1 - h(v1/s1_T)) - lambda_EC.

    No Hoeffding deviations, no sampling term gamma and none of the 6 log2(21/eps_sec) +
    log2(2/eps_cor) of Lim 2014 Eq. (1): the finite-size terms a device must not drop.
    """
    mu = np.asarray(link.intensities, dtype=np.float64)
    p = np.asarray(link.probabilities, dtype=np.float64)
    s0, s1, _ = _decoy_asymptotic(mu, p, counts["key_detections"])
    _, s1t, v1t = _decoy_asymptotic(mu, p, counts["test_detections"], counts["test_errors"])
    if s1 <= 0 or s1t <= 0:
        return 0
    phi = min(max(v1t / s1t, 0.0), 0.5)
    return max(math.floor(s0 + s1 * (1.0 - float(binary_entropy(phi))) - ec_leakage_bits), 0)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Times of the capture shared by every file.

    Attributes
    ----------
    block_s:
        Duration of one block.
    blocks:
        Number of blocks.
    alarm_block:
        Block during which the ingress (Trojan-horse) alarm occurs.
    alarm_sample_s:
        Time of the first monitor sample above the ingress threshold.
    alarm_log_s:
        Time the device logs the alarm (its own monitor fires before the 10 Hz sample).
    """

    block_s: float
    blocks: int
    alarm_block: int
    alarm_sample_s: float
    alarm_log_s: float

    @property
    def duration_s(self) -> float:
        """End of the last block."""
        return self.blocks * self.block_s

    def block_end(self, b: int) -> float:
        """End time of block ``b``."""
        return (b + 1) * self.block_s


def timeline(link: Link, blocks: int) -> Timeline:
    """The capture's timeline: blocks back to back, the ingress alarm half-way."""
    block_s = pulses_per_block(link) / link.rep_rate_hz
    alarm_block = blocks // 2
    period = 1.0 / link.monitor_rate_hz
    target = (alarm_block + 1) * block_s - 0.5  # half a second before the block ends
    index = math.ceil(target / period - 0.5)
    sample = round((index + 0.5) * period, 6)
    return Timeline(block_s, blocks, alarm_block, sample, round(sample - 0.02, 6))


def _h(x: float) -> float:
    return float(binary_entropy(x))


def block_records(
    link: Link, dev: Deviation, tl: Timeline, seed: int
) -> pd.DataFrame:
    """Per-block records (every column of the block-records schema)."""
    rng = stream(seed, "blocks.csv")
    seeds = stream(seed, "pa-seeds")
    n_pulses = pulses_per_block(link)
    k = len(link.intensities)
    q = link.p_key_basis
    tag_bits = link.auth_tag_bits if dev.auth_tag_bits is None else dev.auth_tag_bits
    rows: list[dict[str, object]] = []
    for b in range(tl.blocks):
        blinded = dev.blinding_from_block is not None and b >= dev.blinding_from_block
        high = b in dev.high_qber_blocks
        rates = class_rates(
            link,
            dark_count=0.0 if blinded else None,
            misalignment=dev.high_qber_misalignment if high else None,
            transmittance=dev.pns_transmittance,
        )
        sent = rng.multinomial(n_pulses, link.probabilities)
        row: dict[str, object] = {"block_id": b, "time_s": round(tl.block_end(b), 6)}
        for i in range(k):
            row[f"n_sent_{i}"] = int(sent[i])
        rates_test = rates if dev.test_basis_misalignment is None else class_rates(
            link, dark_count=0.0 if blinded else None,
            misalignment=dev.test_basis_misalignment, transmittance=dev.pns_transmittance)
        counts: dict[str, FloatArray] = {}
        for basis, q_b, r_b in (("key", q * q, rates), ("test", (1.0 - q) ** 2, rates_test)):
            det = rng.binomial(sent, q_b * r_b.click)
            err = rng.binomial(det, r_b.error / r_b.click)
            counts[f"{basis}_detections"] = det.astype(np.float64)
            counts[f"{basis}_errors"] = err.astype(np.float64)
            for i in range(k):
                row[f"{basis}_detections_{i}"] = int(det[i])
        for basis in ("key", "test"):
            for i in range(k):
                row[f"{basis}_errors_{i}"] = int(counts[f"{basis}_errors"][i])
        n_key = float(counts["key_detections"].sum())
        qber = float(counts["key_errors"].sum()) / n_key
        f_ec = float(rng.uniform(*link.ec_efficiency))
        f_reported = f_ec if dev.ec_efficiency_reported is None else dev.ec_efficiency_reported
        leak = math.ceil(f_reported * n_key * _h(qber))
        res = allowed_key_length(
            "lim2014", link.intensities, link.probabilities,
            counts["key_detections"], counts["key_errors"],
            counts["test_detections"], counts["test_errors"],
            ec_leakage_bits=leak, verification_hash_bits=link.verification_hash_bits,
            eps_sec=link.eps_sec, eps_cor=link.eps_cor,
        )  # fmt: skip
        bound = int(res.ell)
        phi = float(res.phi)
        if dev.asymptotic_key_length:
            ell = asymptotic_key_length(link, counts, leak)
        elif dev.overclaim_every and b % dev.overclaim_every == 0:
            ell = math.ceil(bound * dev.key_length_factor)
        else:
            ell = bound
        alarm = b == tl.alarm_block and not dev.trojan_without_abort
        over = qber > link.qber_abort_threshold and not high
        aborted = alarm or over or ell <= 0
        seed_bytes = seeds.bytes(32)
        row.update({
            "ec_leakage_bits": leak,
            "verification_hash_bits": link.verification_hash_bits,
            "pa_input_bits": int(n_key),
            "pa_output_bits": 0 if aborted else ell,
            "aborted": int(aborted),
            "qber_key": round(qber, 6),
            "phase_error_bound": round(phi, 6) if math.isfinite(phi) else 0.5,
            "key_id": "" if aborted else f"k{seed:x}-{b:05d}",
            "pa_seed_sha256": "" if aborted else hashlib.sha256(seed_bytes).hexdigest(),
            "auth_tag_bits": tag_bits,
            "auth_key_bits_consumed": tag_bits * link.auth_messages_per_block,
        })
        rows.append(row)
    return pd.DataFrame(rows)


def _trim(x: FloatArray, drop_bits: int = 14) -> NDArray[np.float32]:
    """float32 with the lowest mantissa bits cleared (relative resolution 2^-9), for compression."""
    mask = np.uint32(0xFFFFFFFF ^ ((1 << drop_bits) - 1))
    bits = np.asarray(x, dtype=np.float32).view(np.uint32) & mask
    return bits.view(np.float32)


def _parquet(table: pa.Table) -> bytes:
    """Parquet bytes: small integers dictionary-coded (bit-packed), wide integers delta-coded,
    floats byte-stream-split, all zstd-compressed."""
    small = [n for n in table.column_names if pa.types.is_int8(table.schema.field(n).type)]
    encoding = {
        n: "BYTE_STREAM_SPLIT" if pa.types.is_floating(table.schema.field(n).type)
        else "DELTA_BINARY_PACKED"
        for n in table.column_names if n not in small
    }
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=9, use_dictionary=small,
                   column_encoding=encoding)
    return bytes(sink.getvalue().to_pybytes())


def _grid(x: FloatArray, step: float) -> NDArray[np.float32]:
    """``x`` rounded to a power-of-two ``step`` (exact in float32, so it compresses)."""
    return (np.round(np.asarray(x) / step) * step).astype(np.float32)


def detection_window(link: Link, dev: Deviation, tl: Timeline, seed: int) -> bytes:
    """Receiver detections in a sample window at the start of the last block (Parquet).

    Every pulse of the window is simulated: class choice, the click of the model (dark counts
    included, so vacuum-class detections occur at the dark-count rate), afterpulses with a 20 ns
    mean delay on the clicking detector, and the common dead time after any click. Detectors are
    2 basis + bit (passive basis choice with the key-basis probability q).
    """
    rng = stream(seed, "detections.parquet")
    b = tl.blocks - 1
    blinded = dev.blinding_from_block is not None and b >= dev.blinding_from_block
    rates = class_rates(link, dark_count=0.0 if blinded else None,
                        transmittance=dev.pns_transmittance)
    p_dc = 0.0 if blinded else link.dark_count
    period_ps = round(1e12 / link.rep_rate_hz)
    n_window = int(link.detection_window_s * link.rep_rate_hz)
    start_pulse = b * pulses_per_block(link)
    p_max = float(rates.detect.max())
    draws = int(n_window * p_max + 8 * math.sqrt(n_window * p_max) + 100)
    pos = np.cumsum(rng.geometric(p_max, size=draws)) - 1
    pos = pos[pos < n_window]
    cls = rng.choice(len(link.intensities), size=pos.size, p=link.probabilities)
    keep = rng.random(pos.size) < rates.detect[cls] / p_max
    pos, cls = pos[keep], cls[keep]
    q = link.p_key_basis
    a_basis = (rng.random(pos.size) >= q).astype(np.int64)
    a_bit = rng.integers(0, 2, size=pos.size)
    b_basis = (rng.random(pos.size) >= q).astype(np.int64)
    err_given_click = (p_dc + link.misalignment * rates.signal[cls]) / rates.detect[cls]
    flip = rng.random(pos.size) < err_given_click
    b_bit = np.where(a_basis == b_basis, a_bit ^ flip, rng.integers(0, 2, size=pos.size))
    detector = 2 * b_basis + b_bit
    # Afterpulses: same detector, after the dead time, exponential delay of 20 ns mean.
    dead = math.ceil(link.dead_time_s * link.rep_rate_hz)
    ap = rng.random(pos.size) < link.afterpulse
    ap_pos = pos[ap] + dead + rng.geometric(1.0 / (20e-9 * link.rep_rate_hz), size=int(ap.sum()))
    ap_cls = rng.choice(len(link.intensities), size=ap_pos.size, p=link.probabilities)
    all_pos = np.concatenate([pos, ap_pos])
    all_cls = np.concatenate([cls, ap_cls])
    all_det = np.concatenate([detector, detector[ap]])
    order = np.argsort(all_pos, kind="stable")
    all_pos, all_cls, all_det = all_pos[order], all_cls[order], all_det[order]
    accepted = np.zeros(all_pos.size, dtype=bool)
    last = -(10**12)
    for i, t in enumerate(all_pos.tolist()):
        if t < n_window and t - last >= dead:
            accepted[i] = True
            last = t
    pos, cls, det = all_pos[accepted], all_cls[accepted], all_det[accepted]
    shift = np.where(det % 2 == 0, -dev.gate_shift_ps, dev.gate_shift_ps)
    gate = rng.normal(link.gate_centre_ps, link.gate_jitter_ps, size=pos.size) + shift
    gate = np.clip(np.round(gate * 4.0) / 4.0, 0.0, link.gate_width_ps)
    pulse_index = start_pulse + pos
    time_ps = pulse_index * period_ps + np.floor(gate).astype(np.int64)
    table = pa.table({
        "time_ps": pa.array(time_ps.astype(np.int64)),
        "detector": pa.array(det.astype(np.int8)),
        "basis": pa.array((det // 2).astype(np.int8)),
        "bit": pa.array((det % 2).astype(np.int8)),
        "intensity": pa.array(cls.astype(np.int8)),
        "pulse_index": pa.array(pulse_index.astype(np.int64)),
        "gate_offset_ps": pa.array(gate.astype(np.float32)),
    })
    return _parquet(table)


def pulse_window(link: Link, dev: Deviation, seed: int) -> bytes:
    """Transmitter per-pulse records in a sample window at the start of block 1 (Parquet).

    Settings (basis 0 = Z, the key basis, with probability q; bit; intensity class) and the
    measured emission features: ``emission_offset_ps`` (emission time relative to the nominal
    slot, Gaussian jitter), ``mu_measured_photons`` (the intensity monitor's mean photon number,
    relative noise 1 %), ``amplitude_mv`` (the monitor photodiode's peak amplitude) and
    ``rel_phase_rad`` (the lab's measurement of the global phase of each pulse relative to the
    previous one, uniform on [0, 2 pi) when the phase is randomised; drawn from a stream of its
    own so the other columns do not depend on it).
    """
    rng = stream(seed, "pulses.parquet")
    n = link.pulse_window
    start = pulses_per_block(link)
    period_ps = round(1e12 / link.rep_rate_hz)
    mu = np.asarray(link.intensities, dtype=np.float64)
    mu_true = mu * np.array([1.0, 1.0 + dev.decoy_intensity_rel, 1.0])
    cls_prev = rng.choice(len(mu), size=n + 1, p=link.probabilities)
    cls, prev = cls_prev[1:], cls_prev[:-1]
    basis = (rng.random(n) >= link.p_key_basis).astype(np.int8)
    bit = rng.integers(0, 2, size=n).astype(np.int8)
    pattern = 1.0 + dev.pattern_effect_rel * (prev == 0)
    mu_meas = mu_true[cls] * pattern * (1.0 + link.intensity_noise_rel * rng.standard_normal(n))
    offset = link.emission_jitter_ps * rng.standard_normal(n) + dev.basis_timing_ps * basis
    amplitude = (
        link.amplitude_signal_mv * mu_meas / mu[0]
        + link.amplitude_noise_mv * rng.standard_normal(n)
    )
    index = start + np.arange(n, dtype=np.int64)
    ph = stream(seed, "pulses.parquet/phase")
    if dev.phase_randomised:
        phase = ph.uniform(0.0, 2.0 * np.pi, size=n)
    else:
        phase = (ph.integers(0, 8, size=n) * (np.pi / 4) + 0.05 * ph.standard_normal(n)) % (
            2.0 * np.pi)
    table = pa.table({
        "pulse_index": pa.array(index),
        "basis": pa.array(basis),
        "bit": pa.array(bit),
        "intensity": pa.array(cls.astype(np.int8)),
        "time_ps": pa.array(index * period_ps),
        "emission_offset_ps": pa.array(_grid(offset, 1 / 32)),
        "mu_measured_photons": pa.array(_trim(mu_meas)),
        "amplitude_mv": pa.array(_grid(amplitude, 1 / 2)),
        "rel_phase_rad": pa.array(_grid(phase, 1 / 1024)),
    })
    return _parquet(table)


def em_capture(link: Link, seed: int) -> bytes:
    """Features of a lab near-field EM capture of the modulator driver, one window per pulse.

    ``em_peak_mv`` (peak of the probe voltage in the pulse window) and ``em_rms_mv`` (its RMS) with
    the pulse's settings, for the leakage assessment of FPT_EMS.1. The simulated driver's emission
    depends on the intensity class (it drives the intensity modulator) but not on the bit or the
    basis.
    """
    rng = stream(seed, "em-capture.parquet")
    n = link.em_windows
    cls = rng.choice(len(link.intensities), size=n, p=link.probabilities)
    basis = (rng.random(n) >= link.p_key_basis).astype(np.int8)
    bit = rng.integers(0, 2, size=n).astype(np.int8)
    level = np.asarray([1.0, 0.6, 0.05])[np.minimum(cls, 2)]
    peak = link.em_peak_mv * level + link.em_noise_mv * rng.standard_normal(n)
    rms = 0.4 * link.em_peak_mv * level + 0.5 * link.em_noise_mv * rng.standard_normal(n)
    table = pa.table({
        "pulse_index": pa.array(np.arange(n, dtype=np.int64)),
        "basis": pa.array(basis),
        "bit": pa.array(bit),
        "intensity": pa.array(cls.astype(np.int8)),
        "em_peak_mv": pa.array(_grid(peak, 1 / 16)),
        "em_rms_mv": pa.array(_grid(rms, 1 / 16)),
    })
    return _parquet(table)


def monitors(link: Link, dev: Deviation, tl: Timeline, seed: int) -> pd.DataFrame:
    """Monitor channels at ``monitor_rate_hz`` over the capture."""
    rng = stream(seed, "monitors.csv")
    period = 1.0 / link.monitor_rate_hz
    n = math.ceil(tl.duration_s / period - 0.5)
    t = np.round((np.arange(n) + 0.5) * period, 6)
    ingress = rng.normal(link.ingress_power_dbm, 0.8, size=n)
    spike = (t >= tl.alarm_sample_s - 1e-9) & (t < tl.alarm_sample_s + 0.3 - 1e-9)
    ingress[spike] = link.ingress_alarm_dbm + rng.normal(0.0, 0.3, size=int(spike.sum()))
    photocurrent = rng.normal(link.photocurrent_ua, 0.05, size=n)
    if dev.blinding_from_block is not None:
        on = t >= dev.blinding_from_block * tl.block_s
        photocurrent[on] = rng.normal(link.photocurrent_blinded_ua, 0.1, size=int(on.sum()))
    return pd.DataFrame({
        "time_s": t,
        "tx_ingress_power_dbm": np.round(ingress, 3),
        "rx_photocurrent_ua": np.round(photocurrent, 4),
        "tx_laser_power_mw": np.round(rng.normal(link.laser_power_mw, 0.004, size=n), 5),
        "rx_temperature_c": np.round(rng.normal(link.detector_temperature_c, 0.02, size=n), 4),
    })


def rng_output(dev: Deviation, seed: int) -> bytes:
    """Raw RNG output, 2^24 bits; each bit is 1 with probability ``dev.rng_p_one``, or, with
    ``dev.rng_pair_flip``, a chain whose changes alternate between 1/2 -/+ that probability; with
    ``dev.rng_stuck_bits`` the source sticks at 1 from 2^17 bits before the end."""
    rng = stream(seed, "rng.bin")
    if dev.rng_pair_flip:
        n = 8 * RNG_BYTES
        p_change = np.where(np.arange(n) % 2 == 1, 0.5 - dev.rng_pair_flip,
                            0.5 + dev.rng_pair_flip)
        p_change[0] = 0.5
        changes = (rng.random(n) < p_change).astype(np.uint8)
        data = bytes(np.packbits(np.bitwise_xor.accumulate(changes)).tobytes())
    elif dev.rng_p_one == 0.5:
        data = bytes(rng.bytes(RNG_BYTES))
    else:
        level = round(dev.rng_p_one * 65536)
        bits = rng.integers(0, 65536, size=8 * RNG_BYTES, dtype=np.uint32) < level
        data = bytes(np.packbits(bits).tobytes())
    if dev.rng_stuck_bits:
        raw = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        raw[STUCK_AT : STUCK_AT + dev.rng_stuck_bits] = 1
        data = bytes(np.packbits(raw).tobytes())
    return data


STUCK_AT = 8 * RNG_BYTES - (1 << 17)
"""Where a stuck noise source starts: after the bits AIS 20/31 procedure A uses for two attempts
(16,571,456) and the 16 x 10^6 bits of the SP 800-22 battery."""


def total_failures(data: bytes, run: int) -> list[dict[str, object]]:
    """The device's total-failure test: one record per run of ``run`` or more equal bits, at
    the bit completing ``run`` (``time_s`` is filled in by the caller)."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    edges = np.flatnonzero(bits[1:] != bits[:-1]) + 1
    starts = np.concatenate([[0], edges])
    lengths = np.diff(np.concatenate([starts, [bits.size]]))
    return [{"event": "total-failure", "test": "total-failure",
             "sample_index": int(start + run - 1), "run": run}
            for start in starts[lengths >= run].tolist()]


def health_test_alarms(
    data: bytes, min_entropy: float, alpha: float = 2.0**-20
) -> list[dict[str, object]]:
    """The device's continuous health tests on its raw bits: SP 800-90B §4.4.1 and §4.4.2.

    Repetition count: cutoff C = 1 + ceil(-log2(alpha) / H); one alarm per run of C or more equal
    bits, at the bit completing C. Adaptive proportion: binary windows of W = 1024 bits, cutoff
    C = 1 + CRITBINOM(W, 2^-H, 1 - alpha); an alarm when the first bit of a window recurs C or more
    times in it. Returns one log record per alarm (``time_s`` is filled in by the caller).
    """
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    rct_cutoff = 1 + math.ceil(-math.log2(alpha) / min_entropy)
    edges = np.flatnonzero(bits[1:] != bits[:-1]) + 1
    starts = np.concatenate([[0], edges])
    lengths = np.diff(np.concatenate([starts, [bits.size]]))
    alarms: list[dict[str, object]] = [
        {"event": "health-test-alarm", "test": "repetition-count",
         "sample_index": int(start + rct_cutoff - 1), "cutoff": rct_cutoff}
        for start in starts[lengths >= rct_cutoff].tolist()
    ]  # fmt: skip
    window = 1024
    apt_cutoff = 1 + int(stats.binom.ppf(1.0 - alpha, window, 2.0**-min_entropy))
    full = bits[: bits.size // window * window].reshape(-1, window)
    same = (full == full[:, :1]).sum(axis=1)
    alarms.extend(
        {"event": "health-test-alarm", "test": "adaptive-proportion",
         "sample_index": int(w * window + window - 1), "cutoff": apt_cutoff}
        for w in np.flatnonzero(same >= apt_cutoff).tolist()
    )  # fmt: skip
    alarms.sort(key=lambda r: int(r["sample_index"]))  # type: ignore[call-overload]
    return alarms


__all__ = [
    "ClassRates",
    "Timeline",
    "asymptotic_key_length",
    "block_records",
    "channel",
    "class_rates",
    "detection_window",
    "em_capture",
    "health_test_alarms",
    "monitors",
    "pulse_window",
    "pulses_per_block",
    "rng_output",
    "stream",
    "timeline",
    "total_failures",
]
