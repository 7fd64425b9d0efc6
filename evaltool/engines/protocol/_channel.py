"""Channel and detector model for decoy-state BB84 key-rate estimates.

One model covers both papers: the Sec. IV model of Lim et al. 2014 (fibre loss, detector
efficiency, dark counts, afterpulsing, misalignment) and the Appendix B model of Rusca et al. 2018
(adds the detector dead time). With afterpulsing 0 and dead time 0 it is Lim's model without them;
with afterpulsing 0 it is Rusca's model. ``docs/methods/channel-model.md`` gives the model and the
reasons for the readings below.

Conventions (stated here because the papers differ):

* ``dark_count`` is the dark-count probability *per detector* per pulse; Bob has two detectors,
  so a pulse gives a dark click with probability about 2 p_dc and a dark error with p_dc. Rusca's
  P_DC is the per-pulse dark-click probability of both detectors together, i.e. P_DC = 2 p_dc.
* The misalignment term uses the system transmittance eta_sys = eta_ch eta_Bob; the eta_ch of
  Lim's printed formula is treated as a misprint (taken literally it gives a QBER of about 6 % at
  0 km, inconsistent with the paper's reported results).
* The dead-time factor is c_dt = 1 / (1 + R P_click t_dead), with P_click the probability of any
  click at Bob per pulse (both bases, all intensities, dark counts and afterpulses included),
  computed without c_dt itself (the reading under which the public worked example of the
  Rusca bound is reproduced).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines.protocol._bounds_common import (
    FiniteKeyBound,
    FloatArray,
    KeyLengthResult,
    binary_entropy,
)
from evaltool.engines.protocol.finite_key import get_bound, key_length


@dataclass(frozen=True, slots=True)
class ChannelModel:
    """Optical channel and Bob's detection system.

    Attributes
    ----------
    attenuation_db:
        Channel loss between Alice and Bob in dB, Bob's detector efficiency excluded.
    detector_efficiency:
        eta_Bob, detection efficiency of Bob's apparatus (0, 1].
    dark_count:
        Dark-count probability per detector per pulse.
    afterpulse:
        After-pulse probability p_ap (Lim 2014 Sec. IV).
    misalignment:
        Optical error probability e_mis (Lim) or e_d (Rusca).
    rep_rate_hz:
        Pulse repetition rate R.
    dead_time_s:
        Detector dead time t_dead in seconds (Rusca 2018 Appendix B); 0 for gated detectors.
    f_ec:
        Error-correction efficiency f: lambda_EC = f n_K h(e_obs) (Lim 2014 Sec. IV).
    """

    attenuation_db: float
    detector_efficiency: float = 0.1
    dark_count: float = 6e-7
    afterpulse: float = 0.0
    misalignment: float = 5e-3
    rep_rate_hz: float = 1e9
    dead_time_s: float = 0.0
    f_ec: float = 1.16

    def __post_init__(self) -> None:
        checks = (
            ("attenuation_db", self.attenuation_db >= 0.0),
            ("detector_efficiency", 0.0 < self.detector_efficiency <= 1.0),
            ("dark_count", 0.0 <= self.dark_count < 0.5),
            ("afterpulse", 0.0 <= self.afterpulse < 1.0),
            ("misalignment", 0.0 <= self.misalignment < 0.5),
            ("rep_rate_hz", self.rep_rate_hz > 0.0),
            ("dead_time_s", self.dead_time_s >= 0.0),
            ("f_ec", self.f_ec >= 1.0),
        )
        for name, ok in checks:
            value = getattr(self, name)
            if not (ok and np.isfinite(value)):
                raise ValueError(f"channel parameter {name} out of range: {value!r}")

    @classmethod
    def fibre(
        cls, distance_km: float, loss_db_per_km: float = 0.2, **detector: float
    ) -> ChannelModel:
        """Dedicated fibre of ``distance_km`` with ``loss_db_per_km`` (Lim 2014 Sec. IV: 0.2)."""
        if not (distance_km >= 0.0 and loss_db_per_km >= 0.0):
            raise ValueError("distance_km and loss_db_per_km must not be negative")
        return cls(attenuation_db=distance_km * loss_db_per_km, **detector)

    @property
    def eta_system(self) -> float:
        """eta_sys = 10^(-attenuation/10) eta_Bob."""
        return float(10.0 ** (-self.attenuation_db / 10.0) * self.detector_efficiency)


@dataclass(frozen=True, slots=True)
class ExpectedCounts:
    """Expected per-block observations of the model (arrays with the parameter batch shape).

    Attributes
    ----------
    pulses:
        N, pulses Alice sends to collect ``block_size`` key-basis detections.
    key_detections, key_errors, test_detections, test_errors:
        Expected n_{K,k}, m_{K,k}, n_{T,k}, m_{T,k}, last axis over intensities.
    qber_key:
        e_obs = sum_k m_{K,k} / n_K.
    ec_leakage_bits:
        f n_K h(e_obs) (Lim 2014 Sec. IV; a model, not a device's reported leakage).
    duration_s:
        N / R, time to send the block.
    """

    pulses: FloatArray
    key_detections: FloatArray
    key_errors: FloatArray
    test_detections: FloatArray
    test_errors: FloatArray
    qber_key: FloatArray
    ec_leakage_bits: FloatArray
    duration_s: FloatArray


def expected_counts(
    channel: ChannelModel,
    intensities: ArrayLike,
    probabilities: ArrayLike,
    q_key: ArrayLike,
    block_size: float,
) -> ExpectedCounts:
    """Expected counts of one block of ``block_size`` key-basis detections.

    Parameters
    ----------
    channel:
        The channel and detector model.
    intensities, probabilities:
        mu_k and p_k, shape ``(..., m)``.
    q_key:
        Probability that each party picks the key basis (Lim's q_x, Rusca's p_Z), shape ``(...)``.
    block_size:
        n_K, key-basis detections per block.

    Notes
    -----
    Per pulse of intensity k (Lim 2014 Sec. IV, Rusca 2018 Appendix B):
    D_k = 1 - (1 - 2 p_dc) exp(-eta_sys mu_k); R_k = D_k (1 + p_ap);
    e_k = p_dc + e_mis (1 - exp(-eta_sys mu_k)) + p_ap D_k / 2; every rate is multiplied by
    c_dt; n_{K,k} = N q^2 p_k R_k c_dt, n_{T,k} = N (1-q)^2 p_k R_k c_dt, and likewise for errors.
    """
    mu = np.asarray(intensities, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    q = np.asarray(q_key, dtype=np.float64)
    eta = channel.eta_system
    p_dc, p_ap = channel.dark_count, channel.afterpulse
    signal = -np.expm1(-eta * mu)
    detect = signal + 2.0 * p_dc * np.exp(-eta * mu)  # D_k = 1 - (1 - 2 p_dc) e^{-eta mu}
    click = detect * (1.0 + p_ap)
    error = p_dc + channel.misalignment * signal + p_ap * detect / 2.0
    click_any = np.sum(p * click, axis=-1)
    c_dt = 1.0 / (1.0 + channel.rep_rate_hz * click_any * channel.dead_time_s)
    pulses = block_size / (c_dt * q**2 * click_any)
    per_pulse_key = (pulses * c_dt * q**2)[..., np.newaxis] * p
    per_pulse_test = (pulses * c_dt * (1.0 - q) ** 2)[..., np.newaxis] * p
    key_errors = per_pulse_key * error
    qber = np.sum(key_errors, axis=-1) / block_size
    return ExpectedCounts(
        pulses=pulses,
        key_detections=per_pulse_key * click,
        key_errors=key_errors,
        test_detections=per_pulse_test * click,
        test_errors=per_pulse_test * error,
        qber_key=qber,
        ec_leakage_bits=channel.f_ec * block_size * binary_entropy(qber),
        duration_s=pulses / channel.rep_rate_hz,
    )


@dataclass(frozen=True, slots=True)
class KeyRateResult:
    """Model key rate of decoy-state BB84 blocks (arrays with the parameter batch shape).

    Attributes
    ----------
    key_rate_per_pulse:
        R = ell / N, secret bits per pulse sent (Lim 2014 Sec. IV).
    skr_bps:
        Secret key rate R_rep ell / N in bit/s.
    ell, phi, s0, s1, s1_test, v1_test:
        Key length and bounds of the block, from :func:`~.finite_key.key_length`.
    eps_sec:
        The secrecy parameter used (kappa ell under the kappa convention).
    counts:
        The expected counts the bound was evaluated on.
    bound, channel, intensities, probabilities, q_key, block_size, kappa, eps_cor:
        Copies of the inputs.
    """

    key_rate_per_pulse: FloatArray
    skr_bps: FloatArray
    ell: NDArray[np.int64]
    ell_real: FloatArray
    phi: FloatArray
    s0: FloatArray
    s1: FloatArray
    s1_test: FloatArray
    v1_test: FloatArray
    eps_sec: FloatArray
    counts: ExpectedCounts
    bound: str
    channel: ChannelModel
    intensities: FloatArray
    probabilities: FloatArray
    q_key: FloatArray
    block_size: float
    kappa: float | None
    eps_cor: float

    @property
    def statistic(self) -> FloatArray:
        """The key rate per pulse (scipy-style alias)."""
        return self.key_rate_per_pulse


class _HasEll(Protocol):
    @property
    def ell(self) -> NDArray[np.int64]: ...

    @property
    def ell_real(self) -> FloatArray: ...


_R = TypeVar("_R", bound=_HasEll)


def _secrecy_fixed_point(
    evaluate: Callable[[FloatArray], _R],
    batch: tuple[int, ...],
    block_size: float,
    eps_sec: float | None,
    kappa: float | None,
    max_iterations: int = 60,
) -> _R:
    """Evaluate at fixed eps_sec, or solve eps_sec = kappa ell by iterating ell <- f(kappa ell).

    The iteration starts from ell = n_K and so converges downwards to the largest fixed point;
    starting from a small ell would wrongly zero small blocks (``docs/methods/channel-model.md``,
    "The kappa convention").
    """
    if kappa is None:
        return evaluate(np.full(batch, eps_sec))
    ell_prev = np.full(batch, float(block_size))
    result = evaluate(kappa * ell_prev)
    for _ in range(max_iterations):
        # Entries that reach 0 stay at 0: with no key there is no eps_sec = kappa ell.
        ell_now = np.where(result.ell > 0, np.clip(result.ell_real, 1.0, None), 0.0)
        if np.all(np.abs(ell_now - ell_prev) <= 0.5):
            break
        ell_prev = ell_now
        result = evaluate(kappa * np.maximum(ell_prev, 1.0))
    return result


@dataclass(frozen=True, slots=True)
class _Unchecked:
    ell: NDArray[np.int64]
    ell_real: FloatArray


def model_rate_unchecked(
    bound: FiniteKeyBound,
    channel: ChannelModel,
    mu: FloatArray,
    p: FloatArray,
    q: FloatArray,
    block_size: float,
    eps_sec: float | None,
    kappa: float | None,
    eps_cor: float,
) -> FloatArray:
    """Continuous key rate per pulse (unfloored ell; 0 where no key), for the optimiser's loop.

    No input checks: ``mu`` must be sorted strongest first and satisfy the bound's conditions.
    """
    counts = expected_counts(channel, mu, p, q, block_size)

    def evaluate(eps: FloatArray) -> _Unchecked:
        _, _, ell_real, ell = bound.evaluate_sorted(
            mu,
            p,
            counts.key_detections,
            counts.key_errors,
            counts.test_detections,
            counts.test_errors,
            counts.ec_leakage_bits,
            eps,
            np.asarray(eps_cor),
        )
        return _Unchecked(ell=ell, ell_real=ell_real)

    res = _secrecy_fixed_point(evaluate, counts.pulses.shape, block_size, eps_sec, kappa)
    rate: FloatArray = np.where(res.ell > 0, res.ell_real, 0.0) / counts.pulses
    return rate


def key_rate(
    bound: str | FiniteKeyBound,
    channel: ChannelModel,
    intensities: ArrayLike,
    probabilities: ArrayLike,
    q_key: ArrayLike,
    block_size: float,
    *,
    eps_sec: float | None = None,
    kappa: float | None = None,
    eps_cor: float = 1e-15,
) -> KeyRateResult:
    """Key rate of the model under a finite-key bound, vectorised over parameter sets.

    Parameters
    ----------
    bound:
        ``"lim2014"``, ``"rusca2018"`` or a bound object.
    channel:
        Channel and detector model.
    intensities, probabilities, q_key:
        Protocol parameters, shapes ``(..., m)``, ``(..., m)`` and ``(...)``.
    block_size:
        n_K, key-basis detections per block.
    eps_sec, kappa:
        Exactly one: a fixed secrecy parameter (an evaluation uses the device's claim), or the
        convention eps_sec = kappa ell of Lim 2014 Sec. IV (a simulation choice).
    eps_cor:
        Correctness parameter.

    Notes
    -----
    Under the kappa convention eps_sec = kappa ell is solved by fixed-point iteration from
    ell = n_K downwards, which converges to the largest fixed point
    (``docs/methods/channel-model.md``, "The kappa convention").
    """
    if (eps_sec is None) == (kappa is None):
        raise ValueError("give exactly one of eps_sec and kappa")
    if not block_size >= 1.0:
        raise ValueError(f"block_size must be at least 1, got {block_size}")
    b = get_bound(bound)
    mu = np.asarray(intensities, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    q = np.asarray(q_key, dtype=np.float64)
    counts = expected_counts(channel, mu, p, q, block_size)
    batch = counts.pulses.shape
    if kappa is not None and not 0.0 < kappa * block_size < 1.0:
        raise ValueError("kappa * block_size must lie in (0, 1)")

    def evaluate(eps: FloatArray) -> KeyLengthResult:
        return key_length(
            b,
            mu,
            p,
            counts.key_detections,
            counts.key_errors,
            counts.test_detections,
            counts.test_errors,
            ec_leakage_bits=counts.ec_leakage_bits,
            eps_sec=eps,
            eps_cor=eps_cor,
        )

    result = _secrecy_fixed_point(evaluate, batch, block_size, eps_sec, kappa)
    ell = result.ell
    return KeyRateResult(
        key_rate_per_pulse=ell / counts.pulses,
        skr_bps=ell * channel.rep_rate_hz / counts.pulses,
        ell=ell,
        ell_real=result.ell_real,
        phi=result.phi,
        s0=result.s0,
        s1=result.s1,
        s1_test=result.s1_test,
        v1_test=result.v1_test,
        eps_sec=np.broadcast_to(result.eps_sec, batch).copy(),
        counts=counts,
        bound=b.name,
        channel=channel,
        intensities=result.intensities,
        probabilities=result.probabilities,
        q_key=q,
        block_size=float(block_size),
        kappa=kappa,
        eps_cor=eps_cor,
    )
