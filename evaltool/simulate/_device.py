"""The simulated device, its link, and the scenarios (one deviation each from the honest device).

The honest device is a three-intensity decoy-state BB84 pair over a dedicated fibre, modelled as in
Lim et al., PRA 89, 022307 (2014), Sec. IV, with the common dead time of Rusca et al., APL 112,
171104 (2018), Appendix B (``docs/methods/channel-model.md``). Every scenario changes one
behaviour of that device; ``docs/scenarios.md`` names the requirement each deviation violates
and the statistic that catches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

GENERATOR_VERSION = "7"
"""Version of the generation procedure: bump it whenever any output byte changes for a seed."""

DEFAULT_SEED = 2026
DEFAULT_BLOCKS = 20


@dataclass(frozen=True, slots=True)
class Link:
    """Protocol claims and the physical link of the honest device.

    Attributes mirror ``claims`` of the bundle manifest (``docs/bundle-format.md``) and the
    parameters of :class:`evaltool.engines.protocol.channel.ChannelModel`.
    """

    intensities: tuple[float, float, float] = (0.5, 0.15, 0.0002)
    probabilities: tuple[float, float, float] = (0.6, 0.3, 0.1)
    p_key_basis: float = 0.8
    eps_sec: float = 1.0e-9
    eps_cor: float = 1.0e-15
    eps_auth: float = 1.0e-20
    block_size: int = 3_000_000
    qber_abort_threshold: float = 0.025
    rep_rate_hz: float = 1.25e9
    fibre_km: float = 50.0
    fibre_loss_db_per_km: float = 0.2
    detector_efficiency: float = 0.1
    dark_count: float = 6.0e-7
    afterpulse: float = 0.005
    misalignment: float = 0.01
    dead_time_s: float = 50e-9
    gate_centre_ps: float = 225.0
    gate_jitter_ps: float = 40.0
    gate_width_ps: float = 450.0
    verification_hash_bits: int = 64
    auth_tag_bits: int = 128
    auth_messages_per_block: int = 2
    ec_efficiency: tuple[float, float] = (1.08, 1.16)
    """Range of the error-correction efficiency f (uniform per block; Cascade-like values)."""
    ingress_power_dbm: float = -72.0
    ingress_alarm_dbm: float = -38.0
    photocurrent_ua: float = 1.8
    photocurrent_blinded_ua: float = 6.0
    laser_power_mw: float = 1.0
    detector_temperature_c: float = -40.0
    emission_jitter_ps: float = 2.0
    intensity_noise_rel: float = 0.01
    amplitude_signal_mv: float = 400.0
    amplitude_noise_mv: float = 2.0
    rng_min_entropy: float = 0.8
    """Claimed min-entropy per raw RNG bit; the device's health tests use it (SP 800-90B §4.4).

    0.8, not 0.9: on ideal bits the SP 800-90B non-IID estimate (its compression estimator, §6.3.4)
    is about 0.90 +- 0.01 at 2^23 samples, so a claim of 0.9 fails about half of the seeds of an
    ideal source; 0.8 lies far below every seed measured (docs/scenarios.md, calibration)."""
    rng_total_failure_run: int = 64
    """The RNG's total-failure test: this many equal raw bits in a row (an ideal source gives one
    with probability about 2^-39 per capture) is a total failure of the noise source."""
    monitor_rate_hz: float = 10.0
    detection_window_s: float = 0.025
    pulse_window: int = 200_000
    em_windows: int = 100_000
    """Pulses in the lab's near-field EM capture of the modulator driver (FPT_EMS.1)."""
    em_peak_mv: float = 35.0
    em_noise_mv: float = 1.5

    @property
    def attenuation_db(self) -> float:
        """Channel loss in dB."""
        return self.fibre_km * self.fibre_loss_db_per_km


@dataclass(frozen=True, slots=True)
class Deviation:
    """What a faulty device does differently from the honest one (all off for ``honest``).

    Attributes
    ----------
    key_length_factor:
        Output key = factor x the lim2014 bound, in the blocks listed by ``overclaim_every``.
    overclaim_every:
        Blocks whose id is a multiple of this (0: none) output ``key_length_factor`` times their
        bound.
    ec_efficiency_reported:
        Reports lambda_EC = f n h(Q) with this f (< 1: below the Shannon limit) instead of the
        leakage actually disclosed.
    asymptotic_key_length:
        Key length from the asymptotic decoy formula, without the finite-size terms.
    rng_p_one:
        Probability of a one in the raw RNG output.
    blinding_from_block:
        From this block on (None: never) the detectors are blinded: no dark counts, photocurrent
        above the ceiling, no abort.
    gate_shift_ps:
        Centre shift of the arrival-time distribution of detectors of bit 0 (−) and bit 1 (+).
    trojan_without_abort:
        The ingress alarm is not answered by an abort.
    pns_transmittance:
        Effective transmittance factor per intensity class (PNS: photon-number dependent).
    pattern_effect_rel:
        Relative intensity change of a pulse when the previous one was a signal pulse.
    basis_timing_ps:
        Emission time offset of the X-basis pulses.
    auth_tag_bits:
        Tag length used (None: the honest length).
    high_qber_blocks:
        Blocks whose misalignment rises to ``high_qber_misalignment`` and still output key.
    high_qber_misalignment:
        Optical error rate in the ``high_qber_blocks``.
    rng_stuck_bits:
        The noise source sticks at 1 for this many raw bits, starting 2^17 bits before the end of
        the raw output (0: never); the total-failure test fires on them.
    total_failure_ignored:
        A total failure is logged but not acted on: the output is not blocked and resumes after
        the online test's retest.
    rng_startup_test:
        The RNG runs its start-up test before its output is enabled.
    rng_pair_flip:
        Raw bits come in correlated pairs: the second bit of each disjoint pair differs from the
        first with probability 1/2 - this, the first bit of the next pair from it with probability
        1/2 + this, so the overall rate of changes stays 1/2.
    transcript_fault:
        The post-processing fault of the test-mode capture (a key of
        :data:`evaltool.simulate._transcript.FAULTS`); None: the reference post-processing.
    delivery_in_failed_state:
        A key is delivered after a failed periodic self-test, before the passing retest.
    destruction_missing:
        The destruction records of these delivered keys (by block) are missing.
    reused_key_id:
        The key of block 2 is delivered (at both ends) under the id of block 1's key.
    audit_without_user:
        Audit records do not name the user.
    lockout:
        Accounts are locked after the assigned number of failed authentications.
    operator_changes_thresholds:
        The operator role may change a security threshold (only the admin role should).
    tamper_zeroisation:
        A tamper event is answered by zeroisation and the end of key delivery; when false the
        tamper event comes mid-capture, raises the alarm, and keys keep being delivered.
    decoy_intensity_rel:
        Relative error of the decoy class's mean photon number (0: on its nominal value).
    test_basis_misalignment:
        Optical error rate of the test (X) basis (None: the link's misalignment).
    phase_randomised:
        The global phase of successive pulses is uniform; when false it takes 8 values only.
    isolation_dip_db:
        Isolation lost over 1300-1320 nm (dB; 0: none).
    audit_record_deleted:
        One chained audit record (the locked account's refused login) is deleted after it was
        written.
    kme_fault:
        The fault of the simulated ETSI GS QKD 014 KME pair whose probe record the bundle carries
        (``isolation-broken``: any SAE obtains a key by its id); None: the honest KME.
    """

    key_length_factor: float = 1.0
    overclaim_every: int = 0
    ec_efficiency_reported: float | None = None
    asymptotic_key_length: bool = False
    rng_p_one: float = 0.5
    blinding_from_block: int | None = None
    gate_shift_ps: float = 0.0
    trojan_without_abort: bool = False
    pns_transmittance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    pattern_effect_rel: float = 0.0
    basis_timing_ps: float = 0.0
    auth_tag_bits: int | None = None
    high_qber_blocks: tuple[int, ...] = ()
    high_qber_misalignment: float = 0.025
    rng_stuck_bits: int = 0
    total_failure_ignored: bool = False
    rng_startup_test: bool = True
    rng_pair_flip: float = 0.0
    transcript_fault: str | None = None
    delivery_in_failed_state: bool = False
    destruction_missing: tuple[int, ...] = ()
    reused_key_id: bool = False
    audit_without_user: bool = False
    lockout: bool = True
    operator_changes_thresholds: bool = False
    tamper_zeroisation: bool = True
    decoy_intensity_rel: float = 0.0
    test_basis_misalignment: float | None = None
    phase_randomised: bool = True
    isolation_dip_db: float = 0.0
    audit_record_deleted: bool = False
    kme_fault: str | None = None

@dataclass(frozen=True, slots=True)
class Scenario:
    """A named test vector: the honest device with one deviation.

    Attributes
    ----------
    name:
        Scenario id used on the command line.
    summary:
        One line describing the deviation.
    catchers:
        Requirement id of ``profiles/etsi-gs-qkd-016.yaml`` the deviation violates -> the check
        kinds of that requirement that catch it.
    statistic:
        The statistic that catches it.
    deviation:
        What changes.
    """

    name: str
    summary: str
    catchers: Mapping[str, tuple[str, ...]]
    statistic: str
    deviation: Deviation = field(default_factory=Deviation)

    @property
    def violates(self) -> tuple[str, ...]:
        """Requirement ids the deviation violates, sorted."""
        return tuple(sorted(self.catchers))


_KEY_LENGTH = {"FCS_CKM.1/QKD": ("protocol.key-length-bound",)}


def _scenarios(blocks: int) -> tuple[Scenario, ...]:
    # Blocks of the high-QBER scenario: a third and two thirds in, never the ingress-alarm block
    # (blocks // 2), which the honest device aborts anyway.
    high = tuple(sorted({b for b in (blocks // 3, (2 * blocks) // 3) if b != blocks // 2})) or (0,)
    return (
        Scenario("honest", "the honest device: every block within its bound, alarms answered",
                 {}, "every automated check passes", Deviation()),
        Scenario("overclaim-key-length",
                 "blocks 0, 4, 8, ... output 5 % more key than the lim2014 bound allows",
                 _KEY_LENGTH,
                 "per-block recomputation of the lim2014 key length from the logged counts",
                 Deviation(key_length_factor=1.05, overclaim_every=4)),
        Scenario("underreported-leakage",
                 "EC leakage reported as 0.9 n h(Q), below the Shannon limit n h(Q)",
                 {"FCS_QKD.1": ("protocol.ec-leakage",)},
                 "reported leakage against f_min n h(Q) (ST: f_min = 1.05)",
                 Deviation(ec_efficiency_reported=0.9)),
        Scenario("asymptotic-pa-length",
                 "key length from the asymptotic decoy formula, without finite-size terms",
                 _KEY_LENGTH,
                 "per-block recomputation of the lim2014 key length from the logged counts",
                 Deviation(asymptotic_key_length=True)),
        Scenario("biased-rng", "raw RNG output with P(1) = 0.52",
                 {"FCS_RNG.1/TX": ("sp800-22.battery", "ais31.procedure-a")},
                 "SP 800-22 frequency (monobit) test on the raw output; AIS 20/31 T1 monobit "
                 "(its min-entropy, 0.943 bit per bit, is above the claimed 0.8)",
                 Deviation(rng_p_one=0.52)),
        Scenario("detector-blinding",
                 "detectors blinded from a quarter of the capture on: no dark counts, "
                 "photocurrent above the ceiling, QBER normal, no abort",
                 {"FPT_ODC.1": ("telemetry.range", "telemetry.threshold-events",
                                "monitor.detector-blinding"),
                  "FAU_SAA.1": ("monitor.detector-blinding",)},
                 "lower-tail binomial test of vacuum-class errors against the dark-count floor "
                 "n p_dc; photocurrent ceiling and the abort that must follow",
                 Deviation(blinding_from_block=max(blocks // 4, 1))),
        Scenario("efficiency-mismatch",
                 "arrival-time distributions of the bit-0 and bit-1 detectors shifted by "
                 "-/+30 ps within the gate",
                 {"FPT_ODC.1": ("monitor.efficiency-mismatch",)},
                 "per-detector click probability in gate time bins (chi-squared), mismatch "
                 "1 - min(eta_a/eta_b) against the ST bound",
                 Deviation(gate_shift_ps=30.0)),
        Scenario("trojan-horse",
                 "ingress power above the threshold, no alarm logged and no abort",
                 {"FPT_FLS.1": ("telemetry.threshold-events",),
                  "FPT_OPI.1": ("telemetry.threshold-events", "monitor.trojan-horse"),
                  "FAU_GEN.1": ("telemetry.threshold-events",),
                  "FAU_ARP.1": ("telemetry.threshold-events",)},
                 "ingress power against the ST threshold and the abort that must follow",
                 Deviation(trojan_without_abort=True)),
        Scenario("pns-no-decoy",
                 "photon-number splitting: effective transmittance 1.0, 0.9, 0.9 times the "
                 "linear-loss value for the signal, decoy and vacuum classes",
                 {"FCS_QKD.1": ("monitor.decoy-consistency",)},
                 "chi-squared fit of the per-class gains to one linear-loss transmittance",
                 Deviation(pns_transmittance=(1.0, 0.9, 0.9))),
        Scenario("pattern-effect",
                 "pulse intensity 3 % higher when the previous pulse was a signal pulse",
                 {"FPT_OSC.1": ("leakage.tvla", "monitor.pattern-effect")},
                 "intensity conditioned on the previous setting (ANOVA / t-test, relative "
                 "deviation against the ST bound)",
                 Deviation(pattern_effect_rel=0.03)),
        Scenario("basis-timing-leak",
                 "X-basis pulses emitted 0.4 ps later than Z-basis pulses",
                 {"FPT_OSC.1": ("leakage.tvla",)},
                 "Welch t-test of emission_offset_ps between the bases (TVLA)",
                 Deviation(basis_timing_ps=0.4)),
        Scenario("short-auth-tag",
                 "48-bit authentication tags, below log2(1/eps_auth) and the ST's 128 bits",
                 {"FCS_COP.1/AUTH": ("telemetry.range", "protocol.auth")},
                 "tag length against the ST and log2(1/eps_auth)",
                 Deviation(auth_tag_bits=48)),
        Scenario("no-abort-on-high-qber",
                 "two blocks with QBER about 2.75 %, above the 2.5 % threshold, still output key",
                 {"FCS_QKD.1": ("protocol.abort-rule", "telemetry.threshold-events")},
                 "QBER of each block against the abort threshold; key from a block over it",
                 Deviation(high_qber_blocks=high)),
        Scenario("stuck-rng",
                 "the noise source sticks at 1 for 256 bits near the end of the capture; the "
                 "total-failure alarm is logged but the output resumes and keys are delivered",
                 {"FCS_RNG.1/TX": ("ais31.total-failure", "sp800-90b.min-entropy")},
                 "rng-output-blocked/resumed records and key deliveries after the total-failure "
                 "record; the stuck run collapses the SP 800-90B LRS estimate",
                 Deviation(rng_stuck_bits=256, total_failure_ignored=True)),
        Scenario("rng-no-startup-test",
                 "the RNG's output is enabled without a start-up test",
                 {"FCS_RNG.1/TX": ("ais31.startup",)},
                 "rng-output-enabled record with no passed rng-startup-test before it",
                 Deviation(rng_startup_test=False)),
        Scenario("rng-correlated-pairs",
                 "raw bits in correlated pairs: the second bit of each pair repeats the first "
                 "with probability 0.5125, the next pair's first bit differs with 0.5125",
                 {"FCS_RNG.1/TX": ("ais31.procedure-b",)},
                 "AIS 20/31 procedure B step 2 (T6 on disjoint pairs, |nu0(1) + nu1(0) - 1| "
                 "about 0.025 >= 0.02); SP 800-22 passes: its overlapping tests average the two "
                 "phases of the pairs",
                 Deviation(rng_pair_flip=0.0125)),
        Scenario("truncated-pa",
                 "privacy amplification outputs a prefix of the corrected key, not its hash",
                 {"FCS_COP.1/PA": ("protocol.replay-pa",)},
                 "Toeplitz hash of the corrected key with the announced seed, bit for bit, in "
                 "the test-mode transcript",
                 Deviation(transcript_fault="truncated-pa")),
        Scenario("reused-pa-seed",
                 "the privacy-amplification seed of the first test-mode block used again",
                 {"FCS_COP.1/PA": ("protocol.replay-pa",)},
                 "PA seeds compared across the blocks of the test-mode transcript",
                 Deviation(transcript_fault="reused-pa-seed")),
        Scenario("hidden-ec-parities",
                 "Cascade discloses more parities than the block records count as leakage",
                 {"FCS_QKD.1": ("protocol.replay-ec",)},
                 "distinct parities replayed from the error-correction messages against the "
                 "reported leakage",
                 Deviation(transcript_fault="hidden-ec-parities")),
        Scenario("skipped-verification",
                 "error verification skipped: the tags exchanged are not the hashes of the keys",
                 {"FCS_COP.1/EV": ("protocol.replay-verification",)},
                 "verification tags recomputed with the announced seed",
                 Deviation(transcript_fault="skipped-verification")),
        Scenario("auth-key-reuse",
                 "one-time pads of the authentication tags taken twice from the key pool",
                 {"FCS_COP.1/AUTH": ("protocol.replay-auth",)},
                 "key-pool offsets of every tag's pad, across the blocks",
                 Deviation(transcript_fault="auth-key-reuse")),
        Scenario("replay-accepted",
                 "the receiver accepts a post-processing message the lab replayed",
                 {"FPT_RPL.1": ("protocol.replay-auth",)},
                 "the receiver's decision on each injected message of the test-mode transcript",
                 Deviation(transcript_fault="replay-accepted")),
        Scenario("delivery-after-failed-self-test",
                 "a key is delivered after a failed periodic self-test, before the passing "
                 "retest",
                 {"FPT_FLS.1": ("selftest.delivery-gating",),
                  "FPT_TST.1": ("selftest.delivery-gating",)},
                 "key deliveries between a failed self-test and the next passing one",
                 Deviation(delivery_in_failed_state=True)),
        Scenario("missing-key-destruction",
                 "two delivered keys have no destruction record",
                 {"FCS_CKM.6": ("keys.destruction",)},
                 "a key-destroyed record for every delivered key and aborted block",
                 Deviation(destruction_missing=(3, 7))),
        Scenario("reused-key-id",
                 "block 2's key is delivered under the id of block 1's key, at both ends",
                 {"FDP_ETC.2": ("kdi.log-consistency",), "FDP_ACF.1": ("kdi.log-consistency",)},
                 "repeated key ids in the key-delivery logs of both modules",
                 Deviation(reused_key_id=True)),
        Scenario("audit-without-user",
                 "audit records do not name the user",
                 {"FAU_GEN.2": ("audit.record-fields",)},
                 "the user field of every audit record",
                 Deviation(audit_without_user=True)),
        Scenario("no-lockout",
                 "an account is not locked after the assigned number of failed "
                 "authentications, and the next attempt succeeds",
                 {"FIA_AFL.1": ("audit.lockout",)},
                 "consecutive auth-failure records of a user against the ST's limit",
                 Deviation(lockout=False)),
        Scenario("operator-changes-threshold",
                 "the operator role changes the QBER abort threshold",
                 {"FMT_MTD.1": ("audit.admin-only",)},
                 "role of every successful threshold change in the audit log",
                 Deviation(operator_changes_thresholds=True)),
        Scenario("tamper-without-zeroisation",
                 "a tamper event mid-capture raises the alarm but the keys are not zeroised and "
                 "key delivery goes on",
                 {"FPT_PHP.3": ("tamper.response",)},
                 "zeroisation record and key deliveries after the tamper-detected record",
                 Deviation(tamper_zeroisation=False)),
        Scenario("decoy-intensity-off",
                 "the decoy class's mean photon number is 6 % above its nominal value",
                 {"FPT_OSC.1": ("source.mean-photon-number",)},
                 "per-class mean of the per-pulse mean photon number against the nominal value "
                 "and the ST's relative tolerance",
                 Deviation(decoy_intensity_rel=0.06)),
        Scenario("basis-qber-asymmetry",
                 "the test (X) basis has 3 % misalignment, the key (Z) basis 1 %",
                 {"FPT_OSC.1": ("protocol.basis-qber-asymmetry",)},
                 "signal-class QBER of the two bases, difference against its bound",
                 Deviation(test_basis_misalignment=0.03)),
        Scenario("phase-not-randomised",
                 "the global phase of successive pulses takes one of 8 values only",
                 {"FPT_OSC.1": ("source.phase-randomisation",)},
                 "chi-squared test of uniformity of the relative phase over 64 bins",
                 Deviation(phase_randomised=False)),
        Scenario("weak-isolation",
                 "the transmitter's isolation falls 15 dB over 1300-1320 nm",
                 {"FPT_OPI.1": ("optical.isolation-spectrum",)},
                 "minimum of the isolation spectrum over the band against the ST's value",
                 Deviation(isolation_dip_db=15.0)),
        Scenario("audit-record-deleted",
                 "one record of the chained audit log is deleted",
                 {"FAU_STG.2": ("audit.trail-integrity",)},
                 "record sequence numbers and the hash chain of the audit log",
                 Deviation(audit_record_deleted=True)),
        Scenario("kme-isolation-broken",
                 "the ETSI GS QKD 014 KME hands a key to any SAE that names its id",
                 {"FDP_ACF.1": ("kdi.isolation",), "FDP_ETC.2": ("kdi.isolation",)},
                 "dec_keys by a third SAE and by the master in the key-delivery-probe record",
                 Deviation(kme_fault="isolation-broken")),
    )


SCENARIO_NAMES: tuple[str, ...] = tuple(s.name for s in _scenarios(DEFAULT_BLOCKS))
"""Every scenario, honest first."""


def scenario(name: str, blocks: int = DEFAULT_BLOCKS) -> Scenario:
    """The scenario called ``name`` for a capture of ``blocks`` blocks.

    Raises
    ------
    ValueError
        If there is no such scenario.
    """
    for s in _scenarios(blocks):
        if s.name == name:
            return s
    raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIO_NAMES)})")


SCENARIOS = MappingProxyType({s.name: s for s in _scenarios(DEFAULT_BLOCKS)})
"""Scenarios at the default capture length, by name."""

__all__ = [
    "DEFAULT_BLOCKS",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "SCENARIOS",
    "SCENARIO_NAMES",
    "Deviation",
    "Link",
    "Scenario",
    "scenario",
]
