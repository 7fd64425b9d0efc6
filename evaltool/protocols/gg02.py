"""GG02 continuous-variable QKD as a protocol plugin: Gaussian-modulated coherent states, homodyne
or heterodyne detection, reverse reconciliation, composable finite-size key against collective
attacks (bound ``mountogiannakis2022``, :mod:`evaltool.engines.protocol.gg02`;
``docs/protocols.md``, "GG02").

This session registers the claims model, the bound, ``evaltool protocol key-length|rate`` and the
evidence columns the GG02 checks will read; the checks themselves and the simulator scenarios are
the next step (``docs/protocols.md``, "What GG02 does not have yet"), so its check roles are
``None``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import Field, ValidationError, model_validator

from evaltool.errors import EvidenceError
from evaltool.model.base import StrictModel
from evaltool.model.bundle import EvidenceKind
from evaltool.protocols import BoundSpec, ProtocolPlugin, Report

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "PLUGINS", "GG02BlockEvidence", "GG02Claims", "GG02RateParameters", "block_key_lengths",
]

BOUND: Final = "mountogiannakis2022"
_REF_EPS = 2.0**-32  # every eps of the reference analysis (Mountogiannakis et al. 2022, Sec. V)

_Eps = Field(_REF_EPS, gt=0, lt=1)


class GG02Claims(StrictModel):
    """What a GG02 device claims (the manifest's ``claims`` for protocol ``gg02``)."""

    protocol: Literal["gg02"]
    bound: Literal["mountogiannakis2022"] | None = Field(None, description="finite-size bound")
    detection: Literal["homodyne", "heterodyne"]
    modulation_variance: float = Field(gt=0, description="V_A, shot-noise units")
    detector_efficiency: float = Field(gt=0, le=1, description="eta, trusted")
    electronic_noise: float = Field(ge=0, description="v_el, shot-noise units, trusted")
    beta: float = Field(gt=0, le=1, description="reconciliation efficiency")
    frame_symbols: int = Field(gt=0, description="N, symbols per frame")
    pe_symbols_per_frame: int = Field(gt=0, description="m, symbols revealed per frame")
    bits_per_quadrature: int = Field(7, ge=1, le=16, description="p, discretisation bits")
    excess_noise_abort_threshold: float = Field(gt=0, description="abort above this xi_M")
    eps_pe: float = _Eps
    eps_s: float = _Eps
    eps_h: float = _Eps
    eps_cor: float = _Eps
    eps_ent: float = _Eps

    @model_validator(mode="after")
    def _key_symbols_left(self) -> GG02Claims:
        if self.pe_symbols_per_frame >= self.frame_symbols:
            raise ValueError("parameter estimation would use every symbol of a frame")
        return self


class _Common(StrictModel):
    detection: Literal["homodyne", "heterodyne"] = "homodyne"
    modulation_variance: float = Field(gt=0)
    detector_efficiency: float = Field(gt=0, le=1)
    electronic_noise: float = Field(ge=0)
    beta: float = Field(gt=0, le=1)
    bits_per_quadrature: int = Field(7, ge=1, le=16)
    eps_pe: float = _Eps
    eps_s: float = _Eps
    eps_h: float = _Eps
    eps_cor: float = _Eps
    eps_ent: float = _Eps


class GG02BlockEvidence(_Common):
    """One block of GG02 frames (``evaltool protocol key-length`` document, docs/protocols.md).

    ``transmissivity_hat`` and ``excess_noise_hat`` are the point estimates from the revealed
    symbols (the worst-case values are recomputed from them at confidence 1 - eps_pe).
    """

    protocol: Literal["gg02"] = "gg02"
    bound: Literal["mountogiannakis2022"] = BOUND
    frames: int = Field(gt=0)
    frame_symbols: int = Field(gt=0)
    pe_symbols: int = Field(gt=0, description="revealed symbols, all frames together")
    frames_decoded: int = Field(ge=0, description="frames corrected and verified")
    transmissivity_hat: float = Field(gt=0, le=1)
    excess_noise_hat: float = Field(ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> GG02BlockEvidence:
        if self.frames_decoded > self.frames:
            raise ValueError(f"{self.frames_decoded} frames decoded of {self.frames}")
        if self.pe_symbols >= self.frames * self.frame_symbols:
            raise ValueError("parameter estimation would use every symbol")
        return self


class GG02RateParameters(_Common):
    """``evaltool protocol rate --protocol gg02`` parameters (``--param NAME=VALUE``)."""

    bound: Literal["mountogiannakis2022"] = BOUND
    distance_km: float | None = Field(None, ge=0)
    fibre_loss_db_per_km: float = Field(0.2, ge=0)
    attenuation_db: float | None = Field(None, ge=0)
    transmissivity: float | None = Field(None, gt=0, le=1)
    excess_noise: float = Field(ge=0)
    block: float = Field(gt=0, description="N, symbols per frame")
    frames: int = Field(100, gt=0)
    pe_fraction: float = Field(0.1, gt=0, lt=1)
    p_ec: float = Field(1.0, gt=0, le=1)
    rep_rate_hz: float | None = Field(None, gt=0)
    eps_sec: float | None = Field(None, gt=0, lt=1, description="not used by this bound")

    @model_validator(mode="after")
    def _one_channel(self) -> GG02RateParameters:
        given = [x for x in (self.distance_km, self.attenuation_db, self.transmissivity)
                 if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of distance_km, attenuation_db, transmissivity")
        return self

    def channel_transmissivity(self) -> float:
        if self.transmissivity is not None:
            return self.transmissivity
        db = (self.attenuation_db if self.attenuation_db is not None
              else float(self.distance_km or 0.0) * self.fibre_loss_db_per_km)
        return float(10.0 ** (-db / 10.0))


def _model(cls: type[StrictModel], values: Mapping[str, Any], prefix: str) -> Any:
    try:
        return cls.model_validate(dict(values))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise EvidenceError(err["msg"], location=f"{prefix}{where}" if where else None) from None


def _physical(transmissivity: float, location: str) -> None:
    if transmissivity >= 1.0:
        raise EvidenceError("a channel with transmissivity 1 has no loss for the bound's "
                            "entangling-cloner model; it must lie in (0, 1)", location=location)


def _fmt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def block_key_lengths(setup: _Common | GG02Claims, blocks: Mapping[str, ArrayLike]
                      ) -> tuple[Any, Any]:
    """Allowed key length of every block from its evidence columns, in one vectorised call.

    ``setup`` gives the detection, modulation variance, detector and eps values (the claims);
    ``blocks`` the GG02 block-record columns ``frames``, ``frame_symbols``, ``pe_symbols``,
    ``frames_decoded``, ``transmissivity_hat``, ``excess_noise_hat`` and, when logged per block,
    ``electronic_noise`` and ``beta`` (otherwise the setup's). The estimates are turned into
    t_hat = sqrt(eta T_hat) and sigma2_hat = eta T_hat xi_hat + u + v_el, whose worst case at
    confidence 1 - eps_PE over the logged ``pe_symbols`` bounds the key (docs/protocols.md,
    "GG02"). Returns the engine's :class:`GG02KeyLength` and :class:`WorstCase`; blocks with no
    decoded frame get ell = 0.
    """
    import numpy as np

    from evaltool.engines.protocol import gg02 as eng

    col = {k: np.asarray(v, dtype=np.float64) for k, v in blocks.items()}
    u = 1.0 if setup.detection == "homodyne" else 2.0
    eta = setup.detector_efficiency
    v_el = col.get("electronic_noise", np.asarray(setup.electronic_noise))
    beta = col.get("beta", np.asarray(setup.beta))
    t_est, xi_est = col["transmissivity_hat"], col["excess_noise_hat"]
    decoded = col["frames_decoded"]
    pe_values = col["pe_symbols"] * (1.0 if setup.detection == "homodyne" else 2.0)
    worst = eng.worst_case_from_estimates(
        setup.detection, setup.modulation_variance, np.sqrt(eta * t_est),
        eta * t_est * xi_est + u + v_el, pe_values, eta, v_el, setup.eps_pe)
    res = eng.composable_key_length(
        setup.detection, modulation_variance=setup.modulation_variance, worst=worst, eta=eta,
        v_el=v_el, beta=beta, frame_symbols=col["frame_symbols"], frames=col["frames"],
        pe_symbols=col["pe_symbols"],
        p_ec=np.where(decoded > 0, decoded, 1.0) / col["frames"],
        bits_per_quadrature=setup.bits_per_quadrature, eps_s=setup.eps_s, eps_h=setup.eps_h,
        eps_cor=setup.eps_cor, eps_pe=setup.eps_pe, eps_ent=setup.eps_ent,
    )
    if np.any(decoded <= 0):
        res = dataclasses.replace(res, ell=np.where(decoded > 0, res.ell, 0))
    return res, worst


def _key_length(doc: Mapping[str, Any]) -> Report:
    """Composable key length of one block of frames from its estimates (GG02)."""
    ev: GG02BlockEvidence = _model(GG02BlockEvidence, doc, "")
    _physical(ev.transmissivity_hat, "transmissivity_hat")
    if ev.frames_decoded == 0:
        raise EvidenceError("no frame was decoded, so no key may be output",
                            location="frames_decoded")
    res, worst = block_key_lengths(ev, {
        k: getattr(ev, k) for k in ("frames", "frame_symbols", "pe_symbols", "frames_decoded",
                                    "transmissivity_hat", "excess_noise_hat")})
    payload = {
        "ell": int(res.ell),
        "key_rate": _fmt(float(res.key_rate)),
        "rate_pe": _fmt(float(res.rate_pe)),
        "delta_aep": float(res.delta_aep),
        "theta": float(res.theta),
        "transmissivity_worst": float(worst.transmissivity_worst),
        "excess_noise_worst": _fmt(float(worst.excess_noise_worst)),
        "eps_total": float(res.eps_total),
    }
    lines = (
        f"bound {res.bound} (version {res.bound_version}), gg02 {ev.detection}",
        f"ell       {int(res.ell):>16,d} bits",
        f"key rate  {float(res.key_rate):>16.6g}   bits per symbol sent",
        f"R_M       {float(res.rate_pe):>16.6g}   beta I - chi at the worst-case channel",
        f"T_M       {float(worst.transmissivity_worst):>16.6g}   transmissivity (worst case)",
        f"xi_M      {float(worst.excess_noise_worst):>16.6g}   excess noise, SNU (worst case)",
        f"eps       {float(res.eps_total):>16.3g}   composable security",
    )
    return Report(payload, lines)


def _rate(params: Mapping[str, Any]) -> Report:
    """Expected composable key rate of a channel (worst-case estimators at the true channel)."""
    from evaltool.engines.protocol import gg02 as eng

    p: GG02RateParameters = _model(GG02RateParameters, params, "--param ")
    t = p.channel_transmissivity()
    _physical(t, "--param transmissivity")
    frame = p.block
    pe_per_frame = round(p.pe_fraction * frame)
    pe_symbols = pe_per_frame * p.frames
    pe_values = pe_symbols * (1 if p.detection == "homodyne" else 2)
    eta, v_el = p.detector_efficiency, p.electronic_noise
    worst = eng.expected_worst_case(p.detection, p.modulation_variance, t, p.excess_noise, eta,
                                    v_el, pe_values, p.eps_pe)
    res = eng.composable_key_length(
        p.detection, modulation_variance=p.modulation_variance, worst=worst, eta=eta, v_el=v_el,
        beta=p.beta, frame_symbols=frame, frames=p.frames, pe_symbols=pe_symbols, p_ec=p.p_ec,
        bits_per_quadrature=p.bits_per_quadrature, eps_s=p.eps_s, eps_h=p.eps_h,
        eps_cor=p.eps_cor, eps_pe=p.eps_pe, eps_ent=p.eps_ent,
    )
    asym = float(eng.asymptotic_key_rate(p.detection, p.modulation_variance, t, p.excess_noise,
                                         eta, v_el, p.beta))
    key_rate = float(res.key_rate)
    payload: dict[str, Any] = {
        "key_rate_per_symbol": _fmt(key_rate),
        "skr_bps": _fmt(key_rate * p.rep_rate_hz) if p.rep_rate_hz else None,
        "ell": int(res.ell),
        "asymptotic_rate": asym,
        "rate_pe": _fmt(float(res.rate_pe)),
        "delta_aep": float(res.delta_aep),
        "theta": float(res.theta),
        "parameters": {**p.model_dump(), "transmissivity": t,
                       "transmissivity_worst": float(worst.transmissivity_worst),
                       "excess_noise_worst": _fmt(float(worst.excess_noise_worst)),
                       "eps_total": float(res.eps_total)},
    }
    lines = [
        f"bound {res.bound} (version {res.bound_version}), gg02 {p.detection}, T = {t:.6g}, "
        f"N = {frame:g} x {p.frames} frames",
        f"key rate      {key_rate:.6g} bits per symbol (asymptotic {asym:.6g})",
        f"ell           {int(res.ell):,d} bits for all frames",
        f"T_M, xi_M     {float(worst.transmissivity_worst):.6g}, "
        f"{float(worst.excess_noise_worst):.6g}",
    ]
    if p.rep_rate_hz:
        lines.insert(2, f"secret rate   {key_rate * p.rep_rate_hz:,.1f} bit/s")
    return Report(payload, tuple(lines))


def _load_bound() -> Any:
    from evaltool.engines.protocol import gg02

    return gg02


PLUGINS = (
    ProtocolPlugin(
        id="gg02",
        title="GG02: Gaussian-modulated coherent states, reverse reconciliation (CV-QKD)",
        claims_model=GG02Claims,
        evidence={
            # One row per block of frames (docs/protocols.md, "GG02 evidence").
            EvidenceKind.BLOCK_RECORDS: (
                "frames", "frame_symbols", "pe_symbols", "frames_decoded",
                "transmissivity_hat", "excess_noise_hat", "excess_noise_upper",
                "shot_noise_calibration", "electronic_noise", "beta", "pa_output_bits",
                "aborted",
            ),
        },
        bounds={BOUND: BoundSpec(
            name=BOUND, version="1",
            reference="A. G. Mountogiannakis et al., Phys. Rev. Research 4, 013099 (2022); "
                      "arXiv:2205.10142 (2022)",
            load=_load_bound,
        )},
        checks={"key-length-bound": None, "abort-rule": None, "parameter-estimation": None},
        activities=(),
        key_length=_key_length,
        rate=_rate,
    ),
)
