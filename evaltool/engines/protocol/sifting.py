"""Basis sifting for decoy-state BB84 with per-intensity counts.

After the quantum phase Alice and Bob announce their bases; pulses that Bob detected and that both
prepared and measured in the same basis are kept. Bits in the key basis K form the raw key; bits in
the test basis T are used to estimate the phase error (K/T naming of
``docs/methods/finite-key.md``). The counts per intensity class ``k`` are exactly the
``n_{K,k}``, ``m_{K,k}``, ``n_{T,k}``, ``m_{T,k}`` of the finite-key bounds (Lim et al. PRA 89
022307 (2014), §II) and the ``key_detections_<k>``, ``key_errors_<k>``, ``test_detections_<k>``,
``test_errors_<k>`` columns of a bundle's block records. In a real protocol the errors are only
known after error correction (key basis) or from the disclosed test bits (test basis); here both
parties' bits are given, so both are counted directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines._input import as_bits

__all__ = ["SiftingResult", "sift"]


@dataclass(frozen=True, slots=True)
class SiftingResult:
    """Sifted keys and per-intensity counts.

    Attributes
    ----------
    key_alice, key_bob:
        Bits of the pulses kept in the key basis, in pulse order.
    key_intensity:
        Intensity class of each key bit.
    test_alice, test_bob, test_intensity:
        The same for the test basis.
    key_detections, key_errors, test_detections, test_errors:
        Counts per intensity class (length ``n_classes``).
    n_pulses, n_detected:
        Pulses sent and pulses Bob detected.
    key_basis:
        Which basis label is the key basis (copied from the input).
    """

    key_alice: NDArray[np.uint8]
    key_bob: NDArray[np.uint8]
    key_intensity: NDArray[np.int64]
    test_alice: NDArray[np.uint8]
    test_bob: NDArray[np.uint8]
    test_intensity: NDArray[np.int64]
    key_detections: NDArray[np.int64]
    key_errors: NDArray[np.int64]
    test_detections: NDArray[np.int64]
    test_errors: NDArray[np.int64]
    n_pulses: int
    n_detected: int
    key_basis: int

    @property
    def qber_key(self) -> float:
        """Error rate over all key-basis bits (NaN when there is none)."""
        n = int(self.key_detections.sum())
        return float(self.key_errors.sum()) / n if n else float("nan")


def sift(
    alice_bits: ArrayLike,
    alice_bases: ArrayLike,
    bob_bits: ArrayLike,
    bob_bases: ArrayLike,
    detected: ArrayLike,
    *,
    intensity: ArrayLike | None = None,
    n_classes: int | None = None,
    key_basis: int = 0,
) -> SiftingResult:
    """Keep the detected pulses with matching bases and count them per intensity class.

    Parameters
    ----------
    alice_bits, alice_bases:
        Alice's prepared bit and basis (0/1) per pulse.
    bob_bits, bob_bases:
        Bob's measured bit and basis per pulse (values of undetected pulses are ignored).
    detected:
        1 where Bob registered a detection.
    intensity:
        Intensity class ``0 .. n_classes - 1`` per pulse (all 0 if omitted).
    n_classes:
        Number of intensity classes (default: largest class present + 1).
    key_basis:
        The basis label (0 or 1) that carries the key.
    """
    a = as_bits(alice_bits)
    ab = as_bits(alice_bases)
    b = as_bits(bob_bits)
    bb = as_bits(bob_bases)
    det = as_bits(detected).astype(bool)
    n = a.size
    if not (ab.size == b.size == bb.size == det.size == n):
        raise ValueError("all per-pulse arrays must have the same length")
    if key_basis not in (0, 1):
        raise ValueError(f"key_basis must be 0 or 1, got {key_basis}")
    if intensity is None:
        cls = np.zeros(n, dtype=np.int64)
    else:
        cls = np.asarray(intensity).astype(np.int64, copy=False).ravel()
        if cls.size != n:
            raise ValueError("intensity must have one entry per pulse")
        if cls.size and cls.min() < 0:
            raise ValueError("intensity classes must be non-negative")
    k = int(cls.max()) + 1 if cls.size else 1
    if n_classes is not None:
        if n_classes < k:
            raise ValueError(f"n_classes={n_classes} but class {k - 1} occurs")
        k = n_classes
    matched = det & (ab == bb)
    key = matched & (ab == key_basis)
    test = matched & (ab != key_basis)
    err = a != b

    def counts(mask: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        d = np.bincount(cls[mask], minlength=k).astype(np.int64)
        e = np.bincount(cls[mask & err], minlength=k).astype(np.int64)
        return d, e

    kd, ke = counts(key)
    td, te = counts(test)
    return SiftingResult(
        key_alice=a[key], key_bob=b[key], key_intensity=cls[key],
        test_alice=a[test], test_bob=b[test], test_intensity=cls[test],
        key_detections=kd, key_errors=ke, test_detections=td, test_errors=te,
        n_pulses=n, n_detected=int(det.sum()), key_basis=key_basis,
    )  # fmt: skip
