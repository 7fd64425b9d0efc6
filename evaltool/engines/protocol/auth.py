"""Wegman-Carter authentication with polynomial hashing over GF(2^b) and one-time-pad tags.

Construction (Wegman and Carter, JCSS 22 (1981) 265; ``docs/methods/authentication.md``): the
message is split into ``L`` blocks of ``b`` bits (big-endian, the last block zero-padded); with the
hash key ``k`` in GF(2^b) the evaluation hash is ``H_k(m) = sum_i m_i k^(L - i + 1)``, computed in
Horner form ``t <- (t + m_i) k``. The family is ``L / 2^b``-almost XOR-universal; the tag
``H_k(m) XOR r`` with a fresh one-time pad ``r`` of ``b`` bits makes it ``L / 2^b``-almost
strongly universal, so a forgery or substitution succeeds with probability at most ``L / 2^b`` per
message.

Key consumption: every tag consumes ``b`` fresh pad bits. The hash key either stays fixed for the
session (it may be recycled because the tags are one-time padded: Portmann, IEEE TIT 60 (2014)
4383) or is drawn fresh every round. Key material is handed out by :class:`AuthKeyPool`, which
never hands out a bit twice and raises :class:`KeyReuseError` on any attempt to reuse key.

The field conventions match AIT QKD R10 "evhash" (same polynomials, big-endian blocks, Horner
order), whose published tags the test suite reproduces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines._input import as_bits
from evaltool.engines.protocol import _gf2

__all__ = [
    "SUPPORTED_TAG_BITS",
    "AuthKeyPool",
    "AuthTag",
    "KeyReuseError",
    "KeySegment",
    "WegmanCarterAuthenticator",
    "forgery_bound",
    "forgery_probability",
    "polynomial_hash",
    "required_tag_bits",
    "wegman_carter_tag",
]

SUPPORTED_TAG_BITS: tuple[int, ...] = _gf2.SUPPORTED_BITS
"""Field sizes ``b`` for which an irreducible polynomial is defined (see ``_gf2``)."""


class KeyReuseError(ValueError):
    """Key material (a pad segment or a round identifier) would be used a second time."""


def _as_message(message: bytes | bytearray | memoryview | ArrayLike) -> NDArray[np.uint8]:
    if isinstance(message, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(message), dtype=np.uint8)
    arr = np.asarray(message)
    if arr.dtype != np.uint8:
        raise TypeError(f"message must be bytes or a uint8 array, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr.ravel())


def polynomial_hash(message: bytes | ArrayLike, key: int, bits: int) -> int:
    """Return the evaluation hash ``H_k(m)`` over GF(2^bits) of a byte message.

    Parameters
    ----------
    message:
        The message bytes; split into ``bits / 8``-byte big-endian blocks, the last zero-padded.
        An empty message hashes to 0.
    key:
        The evaluation point ``k`` as an integer in ``[0, 2^bits)``.
    bits:
        Field size, one of :data:`SUPPORTED_TAG_BITS`.
    """
    _gf2.check_bits(bits)
    msg = _as_message(message)
    block = bits // 8
    pad = (-msg.size) % block
    if pad:
        msg = np.concatenate([msg, np.zeros(pad, dtype=np.uint8)])
    tables = _gf2.byte_tables(key, bits)
    state = np.zeros((bits + 63) // 64, dtype=np.uint64)
    _gf2.horner_bytes(msg, tables, state)
    return _gf2.words_to_int(state)


def wegman_carter_tag(message: bytes | ArrayLike, *, hash_key: int, otp: int, bits: int) -> int:
    """Return the tag ``H_k(m) XOR r`` (one-time pad ``r`` of ``bits`` bits)."""
    if otp < 0 or otp >> bits:
        raise ValueError(f"one-time pad must lie in [0, 2^{bits})")
    return polynomial_hash(message, hash_key, bits) ^ otp


def forgery_probability(message_bits: int, bits: int) -> float:
    """Return the forgery bound ``L / 2^b`` with ``L = ceil(message_bits / b)`` (at least 1)."""
    _gf2.check_bits(bits)
    if message_bits < 0:
        raise ValueError(f"message length must be non-negative, got {message_bits}")
    n_blocks = max(1, math.ceil(message_bits / bits))
    return n_blocks / 2.0**bits


def forgery_bound(message_bits: ArrayLike, tag_bits: ArrayLike) -> NDArray[np.float64]:
    """Element-wise ``ceil(message_bits / b) / 2^b`` for any tag length ``b >= 1``.

    The Wegman-Carter bound of a polynomial hash over GF(2^b) with a one-time-padded tag
    (``docs/methods/authentication.md``); at least one block is counted.
    """
    m = np.asarray(message_bits, dtype=np.float64)
    b = np.asarray(tag_bits, dtype=np.float64)
    if np.any(m < 0) or np.any(b < 1):
        raise ValueError("need message_bits >= 0 and tag_bits >= 1")
    blocks = np.maximum(1.0, np.ceil(m / b))
    out: NDArray[np.float64] = blocks * np.exp2(-b)
    return out


def required_tag_bits(message_bits: int, eps_auth: float) -> int:
    """Return the smallest supported ``b`` whose forgery bound ``L / 2^b`` is at most ``eps_auth``.

    Raises
    ------
    ValueError
        If no supported field size reaches ``eps_auth``.
    """
    if not 0.0 < eps_auth < 1.0:
        raise ValueError(f"eps_auth must lie in (0, 1), got {eps_auth}")
    for b in SUPPORTED_TAG_BITS:
        if forgery_probability(message_bits, b) <= eps_auth:
            return b
    raise ValueError(f"no supported tag length reaches eps_auth={eps_auth:g} for this message")


@dataclass(frozen=True, slots=True)
class KeySegment:
    """A contiguous piece of the pre-shared key handed out once.

    Attributes
    ----------
    offset, length:
        Position and length in bits within the pool.
    value:
        The bits as an integer (first bit most significant).
    purpose:
        What the segment was taken for (for the consumption ledger).
    """

    offset: int
    length: int
    value: int
    purpose: str


class AuthKeyPool:
    """Pre-shared (or previously distilled) key bits, handed out strictly once.

    Parameters
    ----------
    key_bits:
        The key material as 0/1 bits.
    """

    def __init__(self, key_bits: ArrayLike) -> None:
        self._bits = as_bits(key_bits)
        self._next = 0
        self._ledger: list[KeySegment] = []

    @property
    def total_bits(self) -> int:
        """Size of the pool in bits."""
        return int(self._bits.size)

    @property
    def consumed_bits(self) -> int:
        """Bits handed out so far."""
        return self._next

    @property
    def remaining_bits(self) -> int:
        """Bits still available."""
        return self.total_bits - self._next

    @property
    def ledger(self) -> tuple[KeySegment, ...]:
        """Every segment handed out, in order."""
        return tuple(self._ledger)

    def take(self, length: int, *, purpose: str) -> KeySegment:
        """Hand out the next ``length`` unused bits.

        Raises
        ------
        KeyReuseError
            If the pool holds fewer than ``length`` unused bits (handing out used bits would be
            reuse).
        """
        if length < 1:
            raise ValueError(f"segment length must be >= 1, got {length}")
        if length > self.remaining_bits:
            raise KeyReuseError(
                f"key pool exhausted: {purpose} needs {length} bits, {self.remaining_bits} left"
            )
        start = self._next
        chunk = self._bits[start : start + length]
        value = int("".join("1" if b else "0" for b in chunk.tolist()), 2)
        self._next = start + length
        seg = KeySegment(offset=start, length=length, value=value, purpose=purpose)
        self._ledger.append(seg)
        return seg


@dataclass(frozen=True, slots=True)
class AuthTag:
    """A Wegman-Carter tag with its key accounting.

    Attributes
    ----------
    tag:
        The tag value (``bits`` bits).
    bits:
        Tag length ``b``.
    round_id:
        The protocol round the tag authenticates.
    message_bits:
        Length of the authenticated message in bits.
    forgery_bound:
        ``L / 2^b`` for this message.
    key_bits_consumed:
        Fresh key bits consumed by this tag (pad, plus the hash key when drawn per round).
    otp_offset:
        Offset of the pad in the key pool.
    """

    tag: int
    bits: int
    round_id: int
    message_bits: int
    forgery_bound: float
    key_bits_consumed: int
    otp_offset: int

    def hex(self) -> str:
        """Return the tag as ``bits / 4`` lower-case hex digits."""
        return format(self.tag, f"0{self.bits // 4}x")


@dataclass
class WegmanCarterAuthenticator:
    """Tags protocol messages round by round and accounts for every key bit consumed.

    Parameters
    ----------
    bits:
        Tag length ``b`` (one of :data:`SUPPORTED_TAG_BITS`).
    pool:
        Source of key material.
    fresh_hash_key_per_round:
        Draw a new hash key every round (``2b`` bits per round) instead of one session key
        recycled under the one-time pad (``b`` bits per round after the first; Portmann 2014).
    """

    bits: int
    pool: AuthKeyPool
    fresh_hash_key_per_round: bool = False
    _hash_key: KeySegment | None = field(default=None, init=False, repr=False)
    _rounds: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        _gf2.check_bits(self.bits)

    @property
    def rounds(self) -> frozenset[int]:
        """Round identifiers already tagged."""
        return frozenset(self._rounds)

    def tag(self, message: bytes | ArrayLike, *, round_id: int) -> AuthTag:
        """Authenticate ``message`` for protocol round ``round_id``.

        Raises
        ------
        KeyReuseError
            If ``round_id`` was already tagged (its pad must never be used twice) or the pool is
            exhausted.
        """
        if round_id in self._rounds:
            raise KeyReuseError(f"round {round_id} was already authenticated; pads are single-use")
        consumed = 0
        if self._hash_key is None or self.fresh_hash_key_per_round:
            self._hash_key = self.pool.take(self.bits, purpose=f"hash key (round {round_id})")
            consumed += self.bits
        pad = self.pool.take(self.bits, purpose=f"one-time pad (round {round_id})")
        consumed += self.bits
        msg = _as_message(message)
        value = wegman_carter_tag(msg, hash_key=self._hash_key.value, otp=pad.value,
                                  bits=self.bits)
        self._rounds.add(round_id)
        return AuthTag(
            tag=value,
            bits=self.bits,
            round_id=round_id,
            message_bits=8 * int(msg.size),
            forgery_bound=forgery_probability(8 * int(msg.size), self.bits),
            key_bits_consumed=consumed,
            otp_offset=pad.offset,
        )
