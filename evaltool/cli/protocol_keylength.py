"""``evaltool protocol key-length`` and ``evaltool protocol rate`` for every protocol plugin.

``key-length`` recomputes the allowed key length of one block from its logged evidence with the
plugin of its protocol (``docs/protocols.md``); ``rate`` plans decoy BB84 parameters with the
channel model of the bound's paper (Lim 2014 Sec. IV, Rusca 2018 Appendix B;
``docs/methods/channel-model.md``) and hands other protocols' ``--param`` values to their plugin.
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
from evaltool.errors import EvidenceError, UsageError
from evaltool.protocols import ProtocolPlugin, all_bounds, get_plugin, plugin_ids

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

def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def _read_document(path: Path) -> dict[str, Any]:
    """Parse a one-block JSON document (the plugin validates its fields)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"cannot read the file: {exc}", path=path) from None
    except ValueError as exc:
        raise EvidenceError(f"not valid JSON: {exc}", path=path) from None
    if not isinstance(doc, dict):
        raise EvidenceError("expected a JSON object", path=path)
    return doc


def _document_plugin(doc: Mapping[str, Any], protocol_id: str | None) -> ProtocolPlugin:
    """The plugin evaluating ``doc``: ``--protocol``, else the document's ``protocol``, else
    the protocol its ``bound`` is defined for (documents written before plugins name no protocol).
    """
    named = doc.get("protocol")
    if named is not None and not isinstance(named, str):
        raise EvidenceError(f"expected a protocol id, got {named!r}", location="protocol")
    if protocol_id is not None and named is not None and named != protocol_id:
        raise EvidenceError(
            f"the document is for protocol {named!r}, not the {protocol_id!r} given by --protocol",
            location="protocol",
        )
    chosen = protocol_id or named
    if chosen is not None:
        plugin = get_plugin(chosen, location="protocol")
        if "bound" in doc:
            plugin.bound(doc["bound"], location="bound")
        return plugin
    bound = doc.get("bound")
    owners = all_bounds().get(bound) if isinstance(bound, str) else None
    if bound is None:
        raise EvidenceError("required field is missing", location="bound")
    if not owners:
        raise EvidenceError(
            f"unknown bound {bound!r} (known: {', '.join(all_bounds())})", location="bound"
        )
    return get_plugin(owners[0])


def _json_number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _emit(payload: Mapping[str, Any], as_json: bool, lines: Sequence[str]) -> None:
    if as_json:
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo("\n".join(lines))


@click.command("key-length")
@click.argument("counts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--protocol", "protocol_id", help="Protocol id (default: the document's "
              "\"protocol\", else the protocol of its \"bound\").")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def key_length(counts: Path, protocol_id: str | None, as_json: bool) -> None:
    """Allowed secret key length of one block from its logged evidence (a JSON document).

    Decoy BB84 (COUNTS.json): {"bound", "intensities", "probabilities", "key": {"detections",
    "errors"}, "test": {"detections", "errors"}, "ec_leakage_bits", "eps_sec", "eps_cor"}, one
    entry per intensity; "key" is the basis the key is extracted from. Other protocols:
    docs/protocols.md.
    """
    doc = _read_document(counts)
    try:
        report = _document_plugin(doc, protocol_id).key_length(doc)
    except EvidenceError as exc:
        raise EvidenceError(exc.message, path=counts, location=exc.location) from None
    _emit(report.payload, as_json, report.lines)


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


def _params(items: Sequence[str]) -> dict[str, Any]:
    """``--param NAME=VALUE`` pairs; VALUE is a number when it parses as one."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise UsageError(f"expected NAME=VALUE, got {item!r}", location="--param")
        try:
            value: Any = float(text)
        except ValueError:
            value = text
        out[name.strip().replace("-", "_")] = value
    return out


def _rate_target(protocol_id: str | None, bound_name: str | None) -> tuple[ProtocolPlugin, str]:
    """The plugin and bound of ``rate``: --protocol, --bound or both (which must agree)."""
    if protocol_id is None and bound_name is None:
        raise UsageError("give --protocol or --bound")
    if protocol_id is None:
        assert bound_name is not None
        return get_plugin(all_bounds()[bound_name][0]), bound_name
    plugin = get_plugin(protocol_id, location="--protocol")
    if bound_name is None:
        return plugin, next(iter(plugin.bounds))
    plugin.bound(bound_name, location="--bound")
    return plugin, bound_name


_BB84_ONLY = ("detector_efficiency", "dark_count", "afterpulse", "misalignment", "dead_time_s",
              "f_ec", "mu_text", "p_text", "p_key", "kappa", "optimise", "rep_rate_hz")


@click.command("rate")
@click.option("--protocol", "protocol_id", type=click.Choice(plugin_ids()),
              help="Protocol id (default: the protocol of --bound).")
@click.option("--bound", "bound_name", type=click.Choice(sorted(all_bounds())),
              help="Finite-size bound (default: the protocol's first).")
@click.option("--param", "param_items", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the protocol's rate model (docs/protocols.md); repeatable.")
@click.option("--distance-km", type=float, help="Fibre length (with --fibre-loss-db-per-km).")
@click.option("--fibre-loss-db-per-km", type=float, help="Fibre loss [default: 0.2 dB/km].")
@click.option("--attenuation-db", type=float, help="Channel loss in dB instead of a distance.")
@click.option("--block", type=float,
              help="Block size: n_K key-basis detections (BB84), N symbols (GG02).")
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
    protocol_id: str | None,
    bound_name: str | None,
    param_items: tuple[str, ...],
    distance_km: float | None,
    fibre_loss_db_per_km: float | None,
    attenuation_db: float | None,
    block: float | None,
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
    """Model secret key rate of a protocol for a channel and block size.

    Unset detector options take the values of the bound's paper model (Lim 2014 Sec. IV;
    Rusca 2018 Appendix B). Without --optimise, --mu, --p-mu and --p-key are required. Other
    protocols take their parameters as --param NAME=VALUE (docs/protocols.md).
    """
    plugin, bound_name = _rate_target(protocol_id, bound_name)
    if plugin.rate is not None:
        given = {k: v for k, v in locals().items() if k in _BB84_ONLY and v not in (None, False)}
        if given:
            names = ", ".join("--" + k.removesuffix("_text").replace("_", "-") for k in given)
            raise UsageError(f"{names} do not apply to {plugin.id}; use --param NAME=VALUE")
        params = _params(param_items)
        common = {"bound": bound_name, "distance_km": distance_km,
                  "fibre_loss_db_per_km": fibre_loss_db_per_km, "attenuation_db": attenuation_db,
                  "block": block, "eps_sec": eps_sec, "eps_cor": eps_cor}
        params.update({k: v for k, v in common.items() if v is not None})
        report = plugin.rate(params)
        _emit(report.payload, as_json, report.lines)
        return
    if param_items:
        raise UsageError(f"--param does not apply to {plugin.id}; use its options")
    if block is None:
        raise UsageError("--block is required for " + plugin.id)
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
