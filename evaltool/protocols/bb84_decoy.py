"""Decoy-state BB84 as protocol plugins: ``bb84-decoy-3`` (lim2014), ``bb84-decoy-2`` (rusca2018).

Thin adapters over the existing engine (:mod:`evaltool.engines.protocol.finite_key`): the bounds
are Lim et al., PRA 89, 022307 (2014) and Rusca et al., APL 112, 171104 (2018), stated in
``docs/methods/finite-key.md``; the checks are those of :mod:`evaltool.checks.protocol_bounds`
and :mod:`evaltool.checks.protocol_replay`. Nothing here changes a result: the plugin only names
what already existed and routes to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evaltool.errors import EvidenceError
from evaltool.model.bundle import EvidenceKind, ProtocolClaims
from evaltool.protocols import BoundSpec, ProtocolPlugin, Report
from evaltool.protocols import _document as doc_

if TYPE_CHECKING:
    from evaltool.engines.protocol.finite_key import FiniteKeyBound

__all__ = ["BOUND_NAMES", "PLUGINS", "finite_key_bound", "read_counts"]

BOUND_NAMES = {"lim2014": "bb84-decoy-3", "rusca2018": "bb84-decoy-2"}
"""Each decoy BB84 bound with the protocol id it is written for (3 and 2 intensities)."""


def finite_key_bound(name: str) -> FiniteKeyBound:
    """The engine object of the bound ``name`` (``lim2014`` or ``rusca2018``)."""
    from evaltool.engines.protocol.finite_key import get_bound

    return get_bound(name)


_RESULT_FIELDS = ("s0", "s1", "s1_test", "v1_test", "phi")
_COUNT_FIELDS = (
    ("intensities", "intensities"),
    ("probabilities", "probabilities"),
    ("key_detections", "key.detections"),
    ("key_errors", "key.errors"),
    ("test_detections", "test.detections"),
    ("test_errors", "test.errors"),
)


def read_counts(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a COUNTS document; every problem names the field (the CLI adds the file)."""
    bound = doc_.field(doc, "bound")
    if bound not in BOUND_NAMES:
        raise EvidenceError(
            f"unknown bound {bound!r} (known: {', '.join(sorted(BOUND_NAMES))})",
            location="bound",
        )
    engine = finite_key_bound(bound)
    m = engine.n_intensities
    out: dict[str, Any] = {"bound": bound}
    for key, where in _COUNT_FIELDS:
        out[key] = doc_.vector(doc, where, m, f"one per intensity for {bound}")
    for basis in ("key", "test"):
        for i, (n, e) in enumerate(
            zip(out[f"{basis}_detections"], out[f"{basis}_errors"], strict=True)
        ):
            if e > n:
                raise EvidenceError(
                    f"{e:g} errors exceed the {n:g} detections of intensity {i}",
                    location=f"{basis}.errors[{i}]",
                )
    if abs(sum(out["probabilities"]) - 1.0) > 1e-9 or min(out["probabilities"]) <= 0:
        raise EvidenceError("must be positive and sum to 1", location="probabilities")
    if not engine.accepts_intensities(out["intensities"]):
        raise EvidenceError(
            f"intensities violate the conditions of {bound} ({engine.reference})",
            location="intensities",
        )
    leak = doc_.number_field(doc, "ec_leakage_bits")
    if leak < 0:
        raise EvidenceError("must not be negative", location="ec_leakage_bits")
    out["ec_leakage_bits"] = leak
    for name in ("eps_sec", "eps_cor"):
        out[name] = doc_.eps(doc, name)
    return out


def _json_number(x: float) -> float | None:
    return float(x) if x == x and abs(x) != float("inf") else None


def _key_length(doc: Mapping[str, Any]) -> Report:
    """Allowed key length of one block from its counts (Lim 2014 Eq. 1; Rusca 2018 App. A)."""
    from evaltool.engines.protocol.finite_key import key_length

    c = read_counts(doc)
    res = key_length(
        c["bound"], c["intensities"], c["probabilities"], c["key_detections"], c["key_errors"],
        c["test_detections"], c["test_errors"], ec_leakage_bits=c["ec_leakage_bits"],
        eps_sec=c["eps_sec"], eps_cor=c["eps_cor"],
    )  # fmt: skip
    payload: dict[str, Any] = {"ell": int(res.ell)}
    payload.update({k: _json_number(float(getattr(res, k))) for k in _RESULT_FIELDS})
    lines = (
        f"bound {res.bound} (version {res.bound_version})",
        f"ell      {int(res.ell):>16,d} bits",
        f"s0       {float(res.s0):>16,.1f}   vacuum events, key basis (lower bound)",
        f"s1       {float(res.s1):>16,.1f}   single-photon events, key basis (lower bound)",
        f"s1_test  {float(res.s1_test):>16,.1f}   single-photon events, test basis (lower bound)",
        f"v1_test  {float(res.v1_test):>16,.1f}   single-photon errors, test basis (upper bound)",
        f"phi      {float(res.phi):>16.6f}   phase-error rate, key basis (upper bound)",
    )
    return Report(payload, lines)


_BLOCK_COLUMNS = (
    "key_detections_{k}", "key_errors_{k}", "test_detections_{k}", "test_errors_{k}",
    "ec_leakage_bits", "verification_hash_bits", "pa_output_bits", "aborted",
)  # fmt: skip

_CHECKS = {
    "key-length-bound": "protocol.key-length-bound",
    "abort-rule": "protocol.abort-rule",
    "parameter-estimation": "protocol.replay-estimation",
}

_ACTIVITIES = (
    "FCS_QKD.1.1-A2",  # claims.st-consistency
    "FCS_QKD.1.2-A1",  # abort rule
    "FCS_QKD.1.2-A2",  # parameter estimation replayed
    "FCS_QKD.1.4-A1",  # decoy statistics
    "FCS_CKM.1.1-QKD-A1",  # key length within the bound
    "FCS_COP.1.1-EV-A1",  # verification hash length
)


def _spec(name: str, version: str, reference: str) -> BoundSpec:
    return BoundSpec(name=name, version=version, reference=reference,
                     load=lambda: finite_key_bound(name))


def _decoy(pid: str, title: str, bound: BoundSpec) -> ProtocolPlugin:
    """A decoy-state BB84 plugin: the shared claims, evidence, checks and activities, one bound."""
    return ProtocolPlugin(
        id=pid, title=title, claims_model=ProtocolClaims,
        evidence={EvidenceKind.BLOCK_RECORDS: _BLOCK_COLUMNS,
                  EvidenceKind.POST_PROCESSING_TRANSCRIPT: ()},
        bounds={bound.name: bound}, checks=_CHECKS, activities=_ACTIVITIES,
        key_length=_key_length,
    )


PLUGINS = (
    _decoy("bb84-decoy-3", "Decoy-state BB84, three intensities (signal, decoy, vacuum)",
           _spec("lim2014", "1", "C. C.-W. Lim et al., Phys. Rev. A 89, 022307 (2014)")),
    _decoy("bb84-decoy-2", "Decoy-state BB84, two intensities (one decoy)",
           _spec("rusca2018", "1", "D. Rusca et al., Appl. Phys. Lett. 112, 171104 (2018)")),
)
