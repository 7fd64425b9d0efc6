"""The typed view of a post-processing transcript: what a module did with one block's key, step by
step, as captured in its test configuration (key material exported). ``docs/transcript-format.md``
documents the files; the reader (``evidence kind post-processing-transcript``) returns a
:class:`PostProcessingTranscript`, which yields one :class:`BlockTranscript` at a time so a capture
of many large blocks is replayed with a bounded memory.

Bits are ``uint8`` arrays of 0/1 values (unpacked in memory; packed on disk); indices are
``int64``. Every array is read-only. A step the capture does not hold is ``None``; the replay check
of that step is then inconclusive for the block, never a pass.

The steps follow the classical post-processing of a prepare-and-measure module (ISO/IEC 23837-1
§6; ETSI GS QKD 016 FCS_COP.1 iterations): sifting, parameter estimation, error correction,
verification, privacy amplification, and the authentication of every classical message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Bits = NDArray[np.uint8]
"""0/1 values, one per bit."""
Indices = NDArray[np.int64]


class Party(StrEnum):
    """Which end of the link sent or holds something."""

    ALICE = "alice"
    """The transmitter."""
    BOB = "bob"
    """The receiver."""


class Step(StrEnum):
    """A step of the post-processing, as a replay check asks for it
    (:meth:`PostProcessingTranscript.blocks`)."""

    SIFTING = "sifting"
    ESTIMATION = "estimation"
    EC = "ec"
    VERIFICATION = "verification"
    PA = "pa"
    AUTH = "auth"


STEP_KEYS: dict[Step, frozenset[str]] = {
    Step.SIFTING: frozenset({"sifted"}),
    Step.ESTIMATION: frozenset({"sifted", "reconciled"}),
    Step.EC: frozenset({"reconciled", "corrected"}),
    Step.VERIFICATION: frozenset({"corrected"}),
    Step.PA: frozenset({"corrected"}),
    Step.AUTH: frozenset(),
}
"""The key stages (``sifted``, ``reconciled``, ``corrected``) each step is replayed from."""


class Injection(StrEnum):
    """How the lab altered a classical message it injected into the authenticated channel."""

    NONE = "none"
    """A genuine message."""
    REPLAYED = "replayed"
    """An earlier genuine message sent again, tag and all."""
    MODIFIED = "modified"
    """A genuine message with its content changed and its tag kept."""


@dataclass(frozen=True, slots=True)
class SiftingRecord:
    """A sample of rounds at both ends and what the sifting announcement said about them.

    All arrays have one entry per sampled round (the capture need not hold every round).
    """

    rounds: Indices
    """Round (pulse) numbers of the sample, strictly increasing."""
    alice_basis: Bits
    alice_bit: Bits
    bob_detected: Bits
    """1 when Bob registered a detection in the round."""
    bob_basis: Bits
    """Bob's measurement basis (meaningless where ``bob_detected`` is 0)."""
    bob_bit: Bits
    kept: Bits
    """1 when the sifting announcement kept the round in the sifted key."""
    sifted_position: Indices
    """Position of a kept round in the sifted key (-1 where not kept)."""


@dataclass(frozen=True, slots=True)
class EstimationRecord:
    """Parameter estimation: the revealed positions of the sifted key and the QBER each end
    computed from them."""

    positions: Indices
    """Positions in the sifted key revealed for estimation, strictly increasing."""
    alice_values: Bits
    bob_values: Bits
    qber_alice: float
    qber_bob: float
    """The QBER each party computed and reported."""


class EcProtocol(StrEnum):
    """Error-correction protocols a transcript can hold."""

    CASCADE = "cascade"


@dataclass(frozen=True, slots=True)
class EcMessages:
    """Error correction: every message in order.

    For Cascade (``protocol == cascade``) each row is one parity Alice disclosed, of the range
    ``[start, end)`` of pass ``pass_index`` in the pass's permuted order. The permutation of pass
    ``p`` is ``evaltool.engines.protocol.cascade.cascade_permutation(n, frame_seed, p)`` when
    ``permutations`` is ``None`` (the shuffle specification in ``docs/methods/cascade.md``),
    otherwise row ``p`` of ``permutations`` (a module with its own shuffle exports them).
    """

    protocol: EcProtocol
    variant: str
    """``original``, ``yanetal`` or ``option4`` for Cascade."""
    frame_seed: int
    qber_used: float
    """The QBER the block sizes were chosen from."""
    seq: Indices
    """Message sequence numbers, strictly increasing within the block."""
    from_bob: NDArray[np.bool_]
    """True for the messages Bob sent (``sender`` = ``bob`` in the file), False for Alice's:
    one flag per message, so that a block of 10^7 parities holds no Python object per message."""
    pass_index: Indices
    start: Indices
    end: Indices
    parity: Bits
    """The parity value sent."""
    permutations: NDArray[np.int64] | None
    """(passes × n) explicit permutations, or None for the specified shuffle."""


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """Error verification: both ends hash their corrected key with a shared random member of a
    universal family and compare."""

    family: str
    """``toeplitz`` or ``polynomial`` (``evaltool.engines.protocol.verification``)."""
    seed: Bits
    tag_alice: Bits
    tag_bob: Bits
    accepted: bool
    """The decision the module took."""


@dataclass(frozen=True, slots=True)
class PrivacyAmplificationRecord:
    """Privacy amplification by a Toeplitz hash (Krawczyk, CRYPTO 1994;
    ``docs/methods/toeplitz.md``).
    """

    family: str
    """``toeplitz``."""
    seed: Bits
    """``input_bits + output_bits - 1`` seed bits."""
    input_bits: int
    output_bits: int
    output: Bits | None
    """The final key (test mode), or None when only its hash was exported."""
    output_sha256: str | None
    """SHA-256 of the packed final key (most significant bit first), hex."""


@dataclass(frozen=True, slots=True)
class AuthMessages:
    """Wegman-Carter authentication of the block's classical messages
    (``evaltool.engines.protocol.auth``): one row per message, genuine or injected by the lab.
    """

    tag_bits: int
    seq: Indices
    sender: tuple[Party, ...]
    payload: tuple[bytes, ...]
    """The authenticated message bytes as sent (untrusted; never rendered)."""
    tag: tuple[int, ...]
    hash_key_offset: Indices
    """Offset in the authentication key pool of the hash key used."""
    pad_offset: Indices
    """Offset in the pool of the one-time pad consumed."""
    injected: tuple[Injection, ...]
    accepted: Bits
    """The receiver's decision (1 = accepted)."""


@dataclass(frozen=True, slots=True)
class AuthKeyPool:
    """The authentication key pool exported in test mode: ``bits[i]`` is pool bit
    ``offset + i``."""

    offset: int
    bits: Bits


@dataclass(frozen=True, slots=True)
class BlockTranscript:
    """Everything captured for one block, both parties."""

    block_id: int
    sifted_alice: Bits | None
    sifted_bob: Bits | None
    """The full sifted keys."""
    reconciled_alice: Bits | None
    reconciled_bob: Bits | None
    """The keys entering error correction (sifted keys without the revealed positions) ..."""
    corrected_alice: Bits | None
    corrected_bob: Bits | None
    """... and leaving it."""
    sifting: SiftingRecord | None
    estimation: EstimationRecord | None
    ec: EcMessages | None
    verification: VerificationRecord | None
    pa: PrivacyAmplificationRecord | None
    auth: AuthMessages | None
    delivered: bool
    """False when the block aborted."""
    key_ids: tuple[str, ...]


class PostProcessingTranscript(Protocol):
    """A transcript slot: its blocks one at a time, in block order."""

    # Read-only members, so that frozen dataclasses satisfy the protocol.
    @property
    def slot(self) -> str:
        """The bundle slot."""
        ...

    @property
    def display(self) -> str:
        """The file as named in errors."""
        ...

    @property
    def block_ids(self) -> Indices:
        """Ids of the blocks the transcript holds, strictly increasing."""
        ...

    @property
    def auth_pool(self) -> AuthKeyPool | None:
        """The exported authentication key pool, if any."""
        ...

    def blocks(self, steps: frozenset[Step] | None = None) -> Iterator[BlockTranscript]:
        """Each block, read when reached (at most one block's arrays in memory).

        With ``steps``, only those steps and the keys they need (:data:`STEP_KEYS`) are read;
        every other step and key of the returned blocks is None *because it was not asked for*.
        A replay check asks for what it replays, so that the Cascade messages of a large block
        are read by the check that replays them only (the whole file was read and validated
        when the bundle was loaded).
        """
        ...
