"""One record of a post-processing transcript (evidence kind ``post-processing-transcript``).

A transcript is a sequence of flat records, one per line in JSON lines and one per row in
Parquet, described in ``docs/transcript-format.md``. These models are the JSON-lines form (the
JSON Schema printed by ``evaltool schema transcript``); the Parquet form has the same columns with
binary values where JSON lines carry base64 text. Which fields a record type requires is read from
these models by the reader of either format, so the two cannot drift apart.

A bit string ``x`` is two fields: ``x`` (the bits packed most significant bit first, the last
byte padded with zero bits; base64 in JSON lines, binary in Parquet) and ``x_length`` (the number
of bits).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel

from evaltool.model.base import StrictModel

TRANSCRIPT_VERSION = 1
"""Version of the transcript layout this evaltool reads and writes."""

_B64 = r"^[A-Za-z0-9+/]*={0,2}$"
Packed = Annotated[str, Field(pattern=_B64, description="bits packed MSB first, base64")]
Length = Annotated[int, Field(ge=0, description="number of bits of the packed field")]
Index = Annotated[int, Field(ge=0)]
BlockId = Annotated[int, Field(ge=0, description="block number, as in the block records")]
Seq = Annotated[int, Field(ge=0, description="message sequence number, strictly increasing "
                                             "within the block")]
PartyName = Literal["alice", "bob"]


class RecordType(StrEnum):
    """The ``record`` field: what a record holds."""

    HEADER = "header"
    AUTH_POOL = "auth-pool"
    KEY = "key"
    SIFTING_SAMPLE = "sifting-sample"
    ESTIMATION = "estimation"
    EC_SETUP = "ec-setup"
    EC_MESSAGE = "ec-message"
    VERIFICATION = "verification"
    PA = "pa"
    AUTH_MESSAGE = "auth-message"
    OUTCOME = "outcome"


class _Record(StrictModel):
    """A record: strict types (``1`` is not ``true``, ``"3"`` is not ``3``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)


class HeaderRecord(_Record):
    """The first record of every transcript: the layout version."""

    record: Literal["header"]
    version: Literal[1] = Field(description="layout version (TRANSCRIPT_VERSION)")


class AuthPoolRecord(_Record):
    """The authentication key pool exported in test mode (at most one, before the blocks): pool
    bit ``offset + i`` is bit ``i`` of ``bits``."""

    record: Literal["auth-pool"]
    offset: Index
    bits: Packed
    bits_length: Length


class KeyRecord(_Record):
    """One party's key at one stage of a block: ``sifted`` (the whole sifted key),
    ``reconciled`` (entering error correction: sifted without the revealed positions) or
    ``corrected`` (leaving error correction)."""

    record: Literal["key"]
    block_id: BlockId
    stage: Literal["sifted", "reconciled", "corrected"]
    party: PartyName
    bits: Packed
    bits_length: Length


class SiftingSampleRecord(_Record):
    """A sample of rounds at both ends and the sifting announcement about them; every bit
    string has one bit per sampled round."""

    record: Literal["sifting-sample"]
    block_id: BlockId
    rounds: list[Index] = Field(description="round numbers, strictly increasing")
    alice_basis: Packed
    alice_basis_length: Length
    alice_bit: Packed
    alice_bit_length: Length
    bob_detected: Packed
    bob_detected_length: Length
    bob_basis: Packed
    bob_basis_length: Length
    bob_bit: Packed
    bob_bit_length: Length
    kept: Packed
    kept_length: Length
    sifted_position: list[int] = Field(
        description="position of a kept round in the sifted key, -1 where not kept")


class EstimationRecord(_Record):
    """Parameter estimation: the revealed positions of the sifted key, their values at each end
    and the QBER each end computed."""

    record: Literal["estimation"]
    block_id: BlockId
    positions: list[Index] = Field(description="positions in the sifted key, strictly increasing")
    alice_values: Packed
    alice_values_length: Length
    bob_values: Packed
    bob_values_length: Length
    qber_alice: float = Field(ge=0, le=1)
    qber_bob: float = Field(ge=0, le=1)


class EcSetupRecord(_Record):
    """Error correction: the protocol and its parameters (one per block with ec-message
    records)."""

    record: Literal["ec-setup"]
    block_id: BlockId
    protocol: Literal["cascade"]
    variant: str = Field(min_length=1, max_length=64,
                         description="original, yanetal or option4 for Cascade")
    frame_seed: int = Field(ge=0, lt=2**64, description="seed of the specified shuffle "
                            "(64 bits)")
    qber_used: float = Field(ge=0, le=0.5, description="QBER the block sizes were chosen from")
    permutations: list[list[Index]] | None = Field(
        None, description="explicit permutation of each pass (passes × n), when the module "
        "does not use the specified shuffle")


class EcMessageRecord(_Record):
    """One parity disclosed by error correction: of the range ``[start, end)`` of pass
    ``pass_index`` in the pass's permuted order of the reconciled key."""

    record: Literal["ec-message"]
    block_id: BlockId
    seq: Seq
    sender: PartyName
    pass_index: Index
    start: Index
    end: Index
    parity: int = Field(ge=0, le=1, description="the parity value sent, 0 or 1")


class VerificationRecord(_Record):
    """Error verification: the hash family, its seed, the tag at each end and the decision."""

    record: Literal["verification"]
    block_id: BlockId
    family: Literal["toeplitz", "polynomial"]
    seed: Packed
    seed_length: Length
    tag_alice: Packed
    tag_alice_length: Length
    tag_bob: Packed
    tag_bob_length: Length
    accepted: bool


class PaRecord(_Record):
    """Privacy amplification: a Toeplitz hash with a seed of ``input_bits + output_bits - 1``
    bits; the output key (test mode) or its SHA-256 (of the packed key), or both."""

    record: Literal["pa"]
    block_id: BlockId
    family: Literal["toeplitz"]
    seed: Packed
    seed_length: Length
    input_bits: int = Field(ge=1)
    output_bits: int = Field(ge=0)
    output: Packed | None = None
    output_length: Length | None = None
    output_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class AuthMessageRecord(_Record):
    """One classical message and its Wegman-Carter tag, genuine or injected by the lab; every
    tag of a block has the same length."""

    record: Literal["auth-message"]
    block_id: BlockId
    seq: Seq
    sender: PartyName
    payload: str = Field(pattern=_B64, description="the message bytes, base64")
    tag: Packed
    tag_length: Length
    hash_key_offset: Index = Field(description="pool offset of the hash key used")
    pad_offset: Index = Field(description="pool offset of the one-time pad consumed")
    injected: Literal["none", "replayed", "modified"]
    accepted: bool = Field(description="the receiver's decision")


class OutcomeRecord(_Record):
    """The block's outcome (exactly one per block): delivered or aborted, and the key ids."""

    record: Literal["outcome"]
    block_id: BlockId
    delivered: bool
    key_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        description="ids of the keys delivered (empty when aborted)")


RECORD_MODELS: dict[RecordType, type[_Record]] = {
    RecordType.HEADER: HeaderRecord,
    RecordType.AUTH_POOL: AuthPoolRecord,
    RecordType.KEY: KeyRecord,
    RecordType.SIFTING_SAMPLE: SiftingSampleRecord,
    RecordType.ESTIMATION: EstimationRecord,
    RecordType.EC_SETUP: EcSetupRecord,
    RecordType.EC_MESSAGE: EcMessageRecord,
    RecordType.VERIFICATION: VerificationRecord,
    RecordType.PA: PaRecord,
    RecordType.AUTH_MESSAGE: AuthMessageRecord,
    RecordType.OUTCOME: OutcomeRecord,
}

AnyRecord = Annotated[
    HeaderRecord | AuthPoolRecord | KeyRecord | SiftingSampleRecord | EstimationRecord
    | EcSetupRecord | EcMessageRecord | VerificationRecord | PaRecord | AuthMessageRecord
    | OutcomeRecord,
    Field(discriminator="record"),
]


class TranscriptRecord(RootModel[AnyRecord]):
    """One record (one JSON line) of a post-processing transcript; ``record`` says which."""


def required_fields(kind: RecordType) -> tuple[str, ...]:
    """The fields a record of ``kind`` must carry (besides ``record``)."""
    model = RECORD_MODELS[kind]
    return tuple(n for n, f in model.model_fields.items() if f.is_required() and n != "record")


def record_fields(kind: RecordType) -> tuple[str, ...]:
    """Every field a record of ``kind`` may carry (besides ``record``)."""
    return tuple(n for n in RECORD_MODELS[kind].model_fields if n != "record")
