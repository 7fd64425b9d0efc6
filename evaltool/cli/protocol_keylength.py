"""``evaltool protocol key-length`` and ``evaltool protocol rate``: finite-key decoy BB84.

``key-length`` recomputes the allowed key length of one block from its logged counts (issue 6,
CLI); ``rate`` plans parameters with the channel model of the bound's paper (Lim 2014 Sec. IV,
Rusca 2018 Appendix B; ``docs/methods/channel-model.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from evaltool.engines.protocol.channel import ChannelModel, plan_parameters
from evaltool.engines.protocol.finite_key import BOUNDS, get_bound
from evaltool.engines.protocol.finite_key import key_length as compute_key_length
from evaltool.errors import EvidenceError, UsageError

# Defaults of each bound's paper model (Lim 2014 Sec. IV; Rusca 2018 Appendix B, whose P_DC = 1e-8
# for both detectors is 5e-9 per detector); the table and the provenance of each value are in
# docs/methods/channel-model.md, "Paper defaults".
PAPER_MODEL: Mapping[str, Mapping[str, float]] = {
    "lim2014": {
        "detector_efficiency": 0.1,
        "dark_count": 6e-7,
        "afterpulse": 0.04,
        "misalignment": 5e-3,
        "rep_rate_hz": 1e9,
        "dead_time_s": 0.0,
        "f_ec": 1.16,
        "kappa": 1e-15,
        "eps_cor": 1e-15,
    },
    "rusca2018": {
        "detector_efficiency": 0.5,
        "dark_count": 5e-9,
        "afterpulse": 0.0,
        "misalignment": 0.01,
        "rep_rate_hz": 1e9,
        "dead_time_s": 100e-9,
        "f_ec": 1.16,
        "eps_sec": 1e-9,
        "eps_cor": 1e-15,
    },
}

_RESULT_FIELDS = ("s0", "s1", "s1_test", "v1_test", "phi")


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def _number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvidenceError(f"expected a number, got {value!r}", path=path, location=where)
    if not math.isfinite(value):
        raise EvidenceError("number is not finite", path=path, location=where)
    return float(value)


def _field(path: Path, doc: Mapping[str, Any], where: str) -> Any:
    node: Any = doc
    for part in where.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise EvidenceError("required field is missing", path=path, location=where)
        node = node[part]
    return node


def _vector(path: Path, doc: Mapping[str, Any], where: str, m: int, bound: str) -> list[float]:
    value = _field(path, doc, where)
    if not isinstance(value, list) or len(value) != m:
        raise EvidenceError(
            f"expected a list of {m} numbers (one per intensity for {bound})",
            path=path,
            location=where,
        )
    out = [_number(path, f"{where}[{i}]", v) for i, v in enumerate(value)]
    for i, v in enumerate(out):
        if v < 0:
            raise EvidenceError("must not be negative", path=path, location=f"{where}[{i}]")
    return out


def _read_counts(path: Path) -> dict[str, Any]:
    """Parse and validate a COUNTS.json file; every problem names the file and the field."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"cannot read the file: {exc}", path=path) from None
    except ValueError as exc:
        raise EvidenceError(f"not valid JSON: {exc}", path=path) from None
    if not isinstance(doc, dict):
        raise EvidenceError("expected a JSON object", path=path)
    bound = _field(path, doc, "bound")
    if bound not in BOUNDS:
        raise EvidenceError(
            f"unknown bound {bound!r} (known: {', '.join(sorted(BOUNDS))})",
            path=path,
            location="bound",
        )
    m = BOUNDS[bound].n_intensities
    out: dict[str, Any] = {"bound": bound}
    for key, where in (
        ("intensities", "intensities"),
        ("probabilities", "probabilities"),
        ("key_detections", "key.detections"),
        ("key_errors", "key.errors"),
        ("test_detections", "test.detections"),
        ("test_errors", "test.errors"),
    ):
        out[key] = _vector(path, doc, where, m, bound)
    for basis in ("key", "test"):
        for i, (n, e) in enumerate(
            zip(out[f"{basis}_detections"], out[f"{basis}_errors"], strict=True)
        ):
            if e > n:
                raise EvidenceError(
                    f"{e:g} errors exceed the {n:g} detections of intensity {i}",
                    path=path,
                    location=f"{basis}.errors[{i}]",
                )
    if abs(sum(out["probabilities"]) - 1.0) > 1e-9 or min(out["probabilities"]) <= 0:
        raise EvidenceError("must be positive and sum to 1", path=path, location="probabilities")
    if not get_bound(bound).accepts_intensities(out["intensities"]):
        raise EvidenceError(
            f"intensities violate the conditions of {bound} ({get_bound(bound).reference})",
            path=path,
            location="intensities",
        )
    leak = _number(path, "ec_leakage_bits", _field(path, doc, "ec_leakage_bits"))
    if leak < 0:
        raise EvidenceError("must not be negative", path=path, location="ec_leakage_bits")
    out["ec_leakage_bits"] = leak
    for name in ("eps_sec", "eps_cor"):
        eps = _number(path, name, _field(path, doc, name))
        if not 0.0 < eps < 1.0:
            raise EvidenceError("must lie strictly between 0 and 1", path=path, location=name)
        out[name] = eps
    return out


def _json_number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _emit(payload: Mapping[str, Any], as_json: bool, lines: Sequence[str]) -> None:
    if as_json:
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo("\n".join(lines))


@click.command("key-length")
@click.argument("counts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def key_length(counts: Path, as_json: bool) -> None:
    """Allowed secret key length of one block from its logged counts (COUNTS.json).

    COUNTS.json: {"bound", "intensities", "probabilities", "key": {"detections", "errors"},
    "test": {"detections", "errors"}, "ec_leakage_bits", "eps_sec", "eps_cor"}, one entry per
    intensity; "key" is the basis the key is extracted from.
    """
    c = _read_counts(counts)
    res = compute_key_length(
        c["bound"],
        c["intensities"],
        c["probabilities"],
        c["key_detections"],
        c["key_errors"],
        c["test_detections"],
        c["test_errors"],
        ec_leakage_bits=c["ec_leakage_bits"],
        eps_sec=c["eps_sec"],
        eps_cor=c["eps_cor"],
    )
    payload: dict[str, Any] = {"ell": int(res.ell)}
    payload.update({k: _json_number(float(getattr(res, k))) for k in _RESULT_FIELDS})
    lines = [
        f"bound {res.bound} (version {res.bound_version})",
        f"ell      {int(res.ell):>16,d} bits",
        f"s0       {float(res.s0):>16,.1f}   vacuum events, key basis (lower bound)",
        f"s1       {float(res.s1):>16,.1f}   single-photon events, key basis (lower bound)",
        f"s1_test  {float(res.s1_test):>16,.1f}   single-photon events, test basis (lower bound)",
        f"v1_test  {float(res.v1_test):>16,.1f}   single-photon errors, test basis (upper bound)",
        f"phi      {float(res.phi):>16.6f}   phase-error rate, key basis (upper bound)",
    ]
    _emit(payload, as_json, lines)


def _float_list(option: str, text: str | None, m: int) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(
            f"expected {m} comma-separated numbers, got {text!r}", location=option
        ) from None
    if len(values) != m or not all(math.isfinite(v) and v >= 0 for v in values):
        raise UsageError(f"expected {m} non-negative numbers, got {text!r}", location=option)
    return values


@click.command("rate")
@click.option("--bound", "bound_name", required=True, type=click.Choice(sorted(BOUNDS)))
@click.option("--distance-km", type=float, help="Fibre length (with --fibre-loss-db-per-km).")
@click.option("--fibre-loss-db-per-km", type=float, help="Fibre loss [default: 0.2 dB/km].")
@click.option("--attenuation-db", type=float, help="Channel loss in dB instead of a distance.")
@click.option("--block", type=float, required=True, help="n_K, key-basis detections per block.")
@click.option("--detector-efficiency", type=float, help="Bob's detection efficiency.")
@click.option("--dark-count", type=float, help="Dark-count probability per detector per pulse.")
@click.option("--afterpulse", type=float, help="After-pulse probability.")
@click.option("--misalignment", type=float, help="Optical error probability.")
@click.option("--rep-rate-hz", type=float, help="Pulse repetition rate.")
@click.option("--dead-time-s", type=float, help="Detector dead time in seconds.")
@click.option("--f-ec", type=float, help="Error-correction efficiency f.")
@click.option("--mu", "mu_text", help="Intensities M1,M2[,M3].")
@click.option("--p-mu", "p_text", help="Intensity probabilities P1,P2[,P3], in the order of --mu.")
@click.option("--p-key", type=float, help="Probability of choosing the key basis (each party).")
@click.option("--eps-sec", type=float, help="Secrecy parameter (fixed).")
@click.option("--kappa", type=float, help="Lim's convention eps_sec = kappa * ell.")
@click.option("--eps-cor", type=float, help="Correctness parameter.")
@click.option("--optimise", is_flag=True, help="Optimise the protocol parameters not given.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rate(
    bound_name: str,
    distance_km: float | None,
    fibre_loss_db_per_km: float | None,
    attenuation_db: float | None,
    block: float,
    detector_efficiency: float | None,
    dark_count: float | None,
    afterpulse: float | None,
    misalignment: float | None,
    rep_rate_hz: float | None,
    dead_time_s: float | None,
    f_ec: float | None,
    mu_text: str | None,
    p_text: str | None,
    p_key: float | None,
    eps_sec: float | None,
    kappa: float | None,
    eps_cor: float | None,
    optimise: bool,
    as_json: bool,
) -> None:
    """Model secret key rate of decoy-state BB84 for a channel and block size.

    Unset detector options take the values of the bound's paper model (Lim 2014 Sec. IV;
    Rusca 2018 Appendix B). Without --optimise, --mu, --p-mu and --p-key are required.
    """
    defaults = PAPER_MODEL[bound_name]
    m = BOUNDS[bound_name].n_intensities
    if (distance_km is None) == (attenuation_db is None):
        raise UsageError("give exactly one of --distance-km and --attenuation-db")
    if fibre_loss_db_per_km is not None and distance_km is None:
        raise UsageError("--fibre-loss-db-per-km needs --distance-km")
    if eps_sec is not None and kappa is not None:
        raise UsageError("give at most one of --eps-sec and --kappa")
    if eps_sec is None and kappa is None:
        eps_sec, kappa = defaults.get("eps_sec"), defaults.get("kappa")
    if not (math.isfinite(block) and block >= 1):
        raise UsageError(f"--block must be at least 1, got {block:g}")
    mu = _float_list("--mu", mu_text, m)
    p = _float_list("--p-mu", p_text, m)
    if mu is not None and not get_bound(bound_name).accepts_intensities(mu):
        raise UsageError(f"intensities violate the conditions of {bound_name}", location="--mu")
    if p is not None and (abs(sum(p) - 1.0) > 1e-9 or min(p) <= 0):
        raise UsageError("probabilities must be positive and sum to 1", location="--p-mu")
    if p_key is not None and not 0.0 < p_key < 1.0:
        raise UsageError("must lie strictly between 0 and 1", location="--p-key")

    detector = {
        "detector_efficiency": detector_efficiency,
        "dark_count": dark_count,
        "afterpulse": afterpulse,
        "misalignment": misalignment,
        "rep_rate_hz": rep_rate_hz,
        "dead_time_s": dead_time_s,
        "f_ec": f_ec,
    }
    settings = {k: defaults[k] if v is None else v for k, v in detector.items()}
    loss = 0.2 if fibre_loss_db_per_km is None else fibre_loss_db_per_km
    try:
        if distance_km is not None:
            channel = ChannelModel.fibre(distance_km, loss, **settings)
        else:
            channel = ChannelModel(attenuation_db=float(attenuation_db or 0.0), **settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    eps_cor_value = defaults["eps_cor"] if eps_cor is None else eps_cor
    if kappa is not None and not 0.0 < kappa * block < 1.0:
        raise UsageError("--kappa times --block must lie strictly between 0 and 1")
    for name, value in (("--eps-sec", eps_sec), ("--eps-cor", eps_cor_value)):
        if value is not None and not 0.0 < value < 1.0:
            raise UsageError("must lie strictly between 0 and 1", location=name)

    if not optimise and (mu is None or p is None or p_key is None):
        raise UsageError("give --mu, --p-mu and --p-key, or --optimise")
    try:
        plan = plan_parameters(
            bound_name, channel, block, intensities=mu, probabilities=p, q_key=p_key,
            optimise=optimise, eps_sec=eps_sec, kappa=kappa, eps_cor=eps_cor_value,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    r, q_used, free = plan.rate, plan.parameters.q_key, plan.free
    payload = {
        "key_rate_per_pulse": float(r.key_rate_per_pulse),
        "skr_bps": float(r.skr_bps),
        "ell": int(r.ell),
        "phi": _json_number(float(r.phi)),
        "parameters": {
            "mu": [float(v) for v in r.intensities],
            "p_mu": [float(v) for v in r.probabilities],
            "p_key": float(q_used),
            "optimised": list(free),
            "block": float(block),
            "attenuation_db": channel.attenuation_db,
            "eps_sec": float(r.eps_sec),
            "kappa": kappa,
            "eps_cor": eps_cor_value,
            "qber_key": float(r.counts.qber_key),
            "pulses": float(r.counts.pulses),
            **settings,
        },
    }
    lines = [
        f"bound {bound_name}, {channel.attenuation_db:g} dB, block {block:g}",
        f"key rate      {float(r.key_rate_per_pulse):.4e} bits per pulse",
        f"secret rate   {float(r.skr_bps):,.1f} bit/s",
        f"ell           {int(r.ell):,d} bits per block",
        f"phi           {float(r.phi):.6f}",
        "mu            " + ", ".join(f"{v:.6g}" for v in r.intensities),
        "p_mu          " + ", ".join(f"{v:.6g}" for v in r.probabilities),
        f"p_key         {q_used:.6g}" + (f"   (optimised: {', '.join(free)})" if free else ""),
    ]
    _emit(payload, as_json, lines)
