"""Error verification after reconciliation by universal hashing.

Alice and Bob compare short hashes of their reconciled keys; the family is chosen so that two
different keys collide with probability at most ``eps_cor``, which makes the protocol
``eps_cor``-correct (Lim et al., PRA 89 022307 (2014), §II; ``docs/methods/authentication.md``).
The hash is drawn after the keys are fixed and may be public.

Two families are offered:

* ``"toeplitz"``: a random ``t x n`` Toeplitz matrix over GF(2); XOR-universal, collision
  probability exactly ``2^-t``, so ``t = ceil(log2(1/eps_cor))``; the seed costs ``n + t - 1``
  public random bits;
* ``"polynomial"``: the evaluation hash over GF(2^b) (:mod:`evaltool.engines.protocol.auth`);
  two distinct keys of ``L`` blocks collide with probability at most ``L / 2^b`` (a non-zero
  polynomial of degree ``<= L`` has at most ``L`` roots), so ``b`` is the smallest supported field
  size with ``L / 2^b <= eps_cor``; the seed is ``b`` bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from evaltool.engines._input import as_bits
from evaltool.engines.protocol import auth, toeplitz

__all__ = [
    "VerificationResult",
    "verification_seed_bits",
    "verification_tag_bits",
    "verify_keys",
]

Method = Literal["toeplitz", "polynomial"]


def verification_tag_bits(n: int, eps_cor: float, *, method: Method = "toeplitz") -> int:
    """Return the hash length that makes the collision probability at most ``eps_cor``.

    Parameters
    ----------
    n:
        Key length in bits.
    eps_cor:
        Target correctness parameter, in (0, 1).
    method:
        ``"toeplitz"`` (``ceil(log2(1/eps_cor))``) or ``"polynomial"`` (smallest supported ``b``
        with ``ceil(n/b) / 2^b <= eps_cor``).
    """
    if not 0.0 < eps_cor < 1.0:
        raise ValueError(f"eps_cor must lie in (0, 1), got {eps_cor}")
    if n < 1:
        raise ValueError(f"key length must be >= 1, got {n}")
    if method == "toeplitz":
        return max(1, math.ceil(-math.log2(eps_cor)))
    if method == "polynomial":
        return auth.required_tag_bits(n, eps_cor)
    raise ValueError(f"unknown verification method {method!r}")


def verification_seed_bits(n: int, tag_bits: int, *, method: Method = "toeplitz") -> int:
    """Return the public seed length the hash consumes."""
    if method == "toeplitz":
        return toeplitz.toeplitz_seed_length(n, tag_bits)
    if method == "polynomial":
        return tag_bits
    raise ValueError(f"unknown verification method {method!r}")


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Outcome of an error-verification exchange.

    Attributes
    ----------
    statistic:
        1 if the hashes agree (keys accepted as equal), 0 otherwise.
    hash_alice, hash_bob:
        The two hashes (``tag_bits`` bits each) as integers.
    tag_bits:
        Hash length (bits disclosed by each party; count it as leakage unless the key-length formula
        already subtracts ``log2(2/eps_cor)``; see ``docs/methods/finite-key.md``).
    collision_bound:
        Probability that different keys pass: ``2^-t`` or ``ceil(n/b)/2^b``.
    method, eps_cor, n:
        Copies of the inputs.
    """

    statistic: int
    hash_alice: int
    hash_bob: int
    tag_bits: int
    collision_bound: float
    method: str
    eps_cor: float
    n: int

    @property
    def passed(self) -> bool:
        """True when the hashes agree."""
        return self.statistic == 1


def _bits_to_int(bits: np.ndarray) -> int:
    return int("".join("1" if b else "0" for b in bits.tolist()) or "0", 2)


def verify_keys(
    alice: ArrayLike,
    bob: ArrayLike,
    *,
    eps_cor: float,
    seed: ArrayLike,
    method: Method = "toeplitz",
) -> VerificationResult:
    """Hash both reconciled keys with the same random member of the family and compare.

    Parameters
    ----------
    alice, bob:
        Reconciled keys (same length ``n``).
    eps_cor:
        Target collision probability.
    seed:
        Public random bits, exactly :func:`verification_seed_bits` of them.
    method:
        ``"toeplitz"`` or ``"polynomial"``.
    """
    a = as_bits(alice)
    b = as_bits(bob)
    if a.size != b.size:
        raise ValueError(f"keys differ in length: {a.size} and {b.size} bits")
    t = verification_tag_bits(a.size, eps_cor, method=method)
    s = as_bits(seed)
    need = verification_seed_bits(a.size, t, method=method)
    if s.size != need:
        raise ValueError(f"{method} verification needs a {need}-bit seed, got {s.size}")
    if method == "toeplitz":
        ha = _bits_to_int(toeplitz.toeplitz_hash_direct(a, s, t) if a.size * t <= 1 << 22
                          else toeplitz.toeplitz_hash(a, s, t).output)
        hb = _bits_to_int(toeplitz.toeplitz_hash_direct(b, s, t) if b.size * t <= 1 << 22
                          else toeplitz.toeplitz_hash(b, s, t).output)
        bound = 2.0**-t
    else:
        key = _bits_to_int(s)
        ha = auth.polynomial_hash(np.packbits(a), key, t)
        hb = auth.polynomial_hash(np.packbits(b), key, t)
        bound = auth.forgery_probability(a.size, t)
    return VerificationResult(
        statistic=int(ha == hb),
        hash_alice=ha,
        hash_bob=hb,
        tag_bits=t,
        collision_bound=bound,
        method=method,
        eps_cor=float(eps_cor),
        n=int(a.size),
    )
