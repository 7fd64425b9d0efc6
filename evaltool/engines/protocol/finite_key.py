"""Finite-key length of decoy-state BB84 blocks under pluggable, versioned bounds.

Public entry points: :func:`key_length` (vectorised over blocks), :func:`get_bound` and the
registry :data:`BOUNDS` holding ``lim2014`` (Lim et al., PRA 89, 022307, 2014) and ``rusca2018``
(Rusca et al., APL 112, 171104, 2018). ``docs/methods/finite-key.md`` states the formulas in
one notation, K (key basis) and T (test basis), and every implementation choice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

from evaltool.engines.protocol._bounds_common import (
    DecoyBounds,
    FiniteKeyBound,
    FloatArray,
    KeyLengthResult,
    binary_entropy,
    hoeffding_delta,
    sampling_gamma,
)
from evaltool.engines.protocol._lim2014 import Lim2014Bound
from evaltool.engines.protocol._rusca2018 import Rusca2018Bound

__all__ = [
    "BOUNDS",
    "DecoyBounds",
    "FiniteKeyBound",
    "KeyLengthResult",
    "Lim2014Bound",
    "Rusca2018Bound",
    "allowed_key_length",
    "binary_entropy",
    "get_bound",
    "hoeffding_delta",
    "key_length",
    "sampling_gamma",
    "verification_hash_min_bits",
]

BOUNDS: Mapping[str, FiniteKeyBound] = MappingProxyType(
    {b.name: b for b in (Lim2014Bound(), Rusca2018Bound())}
)
"""Every available bound by registry name."""


def get_bound(bound: str | FiniteKeyBound) -> FiniteKeyBound:
    """Return the bound registered as ``bound`` (or ``bound`` itself if it is one).

    Raises
    ------
    ValueError
        If no bound has that name.
    """
    if isinstance(bound, FiniteKeyBound):
        return bound
    try:
        return BOUNDS[bound]
    except KeyError:
        known = ", ".join(sorted(BOUNDS))
        raise ValueError(f"unknown finite-key bound {bound!r} (known: {known})") from None


def verification_hash_min_bits(eps_cor: float) -> int:
    """Shortest error-verification hash for correctness eps_cor: ceil(log2(1/eps_cor)) bits.

    Lim 2014 §II: a 2-universal hash of that length gives eps_cor = eps_hash.
    """
    if not 0.0 < eps_cor < 1.0:
        raise ValueError(f"eps_cor must lie in (0, 1), got {eps_cor}")
    return math.ceil(-math.log2(eps_cor) - 1e-12)


def _as_float(name: str, value: ArrayLike) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _sort_strongest_first(mu: FloatArray, *others: FloatArray) -> list[FloatArray]:
    """Reorder the intensity axis of every array so that mu is decreasing."""
    if mu.shape[-1] < 2 or np.all(np.diff(mu, axis=-1) < 0.0):
        return [mu, *others]
    order = np.argsort(-mu, axis=-1, kind="stable")
    return [np.take_along_axis(a, np.broadcast_to(order, a.shape), axis=-1) for a in (mu, *others)]


def key_length(
    bound: str | FiniteKeyBound,
    intensities: ArrayLike,
    probabilities: ArrayLike,
    key_detections: ArrayLike,
    key_errors: ArrayLike,
    test_detections: ArrayLike,
    test_errors: ArrayLike,
    *,
    ec_leakage_bits: ArrayLike,
    eps_sec: ArrayLike,
    eps_cor: ArrayLike,
) -> KeyLengthResult:
    """Secret key length of decoy-state BB84 blocks under a finite-key bound.

    Parameters
    ----------
    bound:
        ``"lim2014"``, ``"rusca2018"`` or a :class:`FiniteKeyBound`.
    intensities, probabilities:
        Mean photon numbers mu_k and their emission probabilities p_k, shape ``(..., m)`` with
        ``m = bound.n_intensities``; any order (sorted internally, strongest first).
    key_detections, key_errors, test_detections, test_errors:
        Per-intensity sifted detections n_{B,k} and errors m_{B,k} in the key basis (the basis the
        key is extracted from) and the test basis, shape ``(..., m)``; counts may be expected
        (non-integer) values. Leading axes index blocks and broadcast against each other.
    ec_leakage_bits:
        lambda_EC, bits actually disclosed by error correction (not a model value f n h(Q)),
        shape ``(...)``.
    eps_sec, eps_cor:
        Secrecy and correctness parameters, shape ``(...)``.

    Returns
    -------
    KeyLengthResult
        ``ell`` and the intermediate bounds, with the batch shape.

    Raises
    ------
    ValueError
        On NaN, negative counts, errors exceeding detections, probabilities not summing to 1,
        intensities outside the bound's conditions or eps outside (0, 1).

    Notes
    -----
    Lim 2014 Eq. (1)-(5) or Rusca 2018 Appendix A. Hoeffding terms use the basis totals, s0 is
    clipped at 0, and s1 <= 0, an undefined phase error or phi >= 0.5 give ell = 0
    (``docs/methods/finite-key.md``, "Choices the papers leave open", 1-3).
    """
    b = get_bound(bound)
    m = b.n_intensities
    mu = _as_float("intensities", intensities)
    p = _as_float("probabilities", probabilities)
    counts = {
        name: _as_float(name, value)
        for name, value in (
            ("key_detections", key_detections),
            ("key_errors", key_errors),
            ("test_detections", test_detections),
            ("test_errors", test_errors),
        )
    }
    for name, arr in (("intensities", mu), ("probabilities", p), *counts.items()):
        if arr.ndim == 0 or arr.shape[-1] != m:
            raise ValueError(f"{name} must have {m} entries per block for {b.name}: {arr.shape}")
        if np.any(arr < 0.0):
            raise ValueError(f"{name} must not be negative")
    for basis in ("key", "test"):
        if np.any(counts[f"{basis}_errors"] > counts[f"{basis}_detections"]):
            raise ValueError(f"{basis}_errors exceed {basis}_detections")
    if np.any(p <= 0.0) or np.any(np.abs(p.sum(axis=-1) - 1.0) > 1e-9):
        raise ValueError("probabilities must be positive and sum to 1")
    leak = _as_float("ec_leakage_bits", ec_leakage_bits)
    if np.any(leak < 0.0):
        raise ValueError("ec_leakage_bits must not be negative")
    es = _as_float("eps_sec", eps_sec)
    ec = _as_float("eps_cor", eps_cor)
    for name, arr in (("eps_sec", es), ("eps_cor", ec)):
        if np.any(arr <= 0.0) or np.any(arr >= 1.0):
            raise ValueError(f"{name} must lie in (0, 1)")

    mu, p, nk, mk, nt, mt = _sort_strongest_first(
        mu,
        p,
        counts["key_detections"],
        counts["key_errors"],
        counts["test_detections"],
        counts["test_errors"],
    )
    if np.any(b.intensity_violation(mu) >= 0.0):
        raise ValueError(f"intensities violate the conditions of {b.name} ({b.reference})")
    shape = np.broadcast_shapes(
        mu.shape[:-1],
        p.shape[:-1],
        nk.shape[:-1],
        mk.shape[:-1],
        nt.shape[:-1],
        mt.shape[:-1],
        leak.shape,
        es.shape,
        ec.shape,
    )
    bounds, phi, ell_real, ell = b.evaluate_sorted(mu, p, nk, mk, nt, mt, leak, es, ec)
    return KeyLengthResult(
        bound=b.name,
        bound_version=b.version,
        ell=np.broadcast_to(ell, shape).copy(),
        ell_real=np.broadcast_to(ell_real, shape).copy(),
        s0=np.broadcast_to(bounds.s0, shape).copy(),
        s1=np.broadcast_to(bounds.s1, shape).copy(),
        s1_test=np.broadcast_to(bounds.s1_test, shape).copy(),
        v1_test=np.broadcast_to(bounds.v1_test, shape).copy(),
        phi=np.broadcast_to(phi, shape).copy(),
        intensities=mu.copy(),
        probabilities=p.copy(),
        key_detections=nk.copy(),
        key_errors=mk.copy(),
        test_detections=nt.copy(),
        test_errors=mt.copy(),
        ec_leakage_bits=leak.copy(),
        eps_sec=es.copy(),
        eps_cor=ec.copy(),
    )


def allowed_key_length(
    bound: str | FiniteKeyBound,
    intensities: ArrayLike,
    probabilities: ArrayLike,
    key_detections: ArrayLike,
    key_errors: ArrayLike,
    test_detections: ArrayLike,
    test_errors: ArrayLike,
    *,
    ec_leakage_bits: ArrayLike,
    verification_hash_bits: ArrayLike | None,
    eps_sec: float,
    eps_cor: float,
) -> KeyLengthResult:
    """Key length a block may output given its logged counts and disclosures.

    As :func:`key_length`, with the leakage of an over-long verification hash added: the
    log2(2/eps_cor) term of the key length covers a hash of exactly ceil(log2(1/eps_cor)) bits
    (Lim 2014 §II), so every hash bit beyond that counts as disclosed. The returned
    ``ec_leakage_bits`` is the total counted.
    """
    leak = _as_float("ec_leakage_bits", ec_leakage_bits)
    if verification_hash_bits is not None:
        hash_bits = _as_float("verification_hash_bits", verification_hash_bits)
        leak = leak + np.maximum(hash_bits - verification_hash_min_bits(eps_cor), 0.0)
    return key_length(
        bound,
        intensities,
        probabilities,
        key_detections,
        key_errors,
        test_detections,
        test_errors,
        ec_leakage_bits=leak,
        eps_sec=eps_sec,
        eps_cor=eps_cor,
    )
