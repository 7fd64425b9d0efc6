"""The evidence bundle manifest (``bundle.yaml``) and the column schema of each evidence kind.

A bundle is a folder: the manifest identifies the target of evaluation (TOE), states the protocol
claims the device makes and lists the evidence files, each bound to a slot name. See
``docs/bundle-format.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from evaltool.model.base import StrictModel

BUNDLE_SCHEMA_VERSION = 1

_SLOT_RE = r"^[a-z][a-z0-9_\-]{0,63}$"


class EvidenceKind(StrEnum):
    """What an evidence file holds."""

    BLOCK_RECORDS = "block-records"
    """Per-block post-processing records (counts, errors, EC leakage, PA lengths, key ids)."""
    DETECTION_EVENTS = "detection-events"
    """Per-detection events at the receiver (time tag, detector, basis, bit, intensity class)."""
    PULSE_EVENTS = "pulse-events"
    """Per-pulse records at the transmitter (settings and measured emission features)."""
    MONITOR = "monitor"
    """Monitor time series (photocurrent, ingress power, laser power, temperature, ...)."""
    RNG_RAW = "rng-raw"
    """Raw output of a random number generator (binary)."""
    SELF_TEST_LOG = "self-test-log"
    """Self-test results (JSON lines)."""
    AUDIT_LOG = "audit-log"
    """Security audit log (JSON lines)."""
    KEY_DELIVERY_LOG = "key-delivery-log"
    """Key delivery records (JSON lines or table)."""
    HEALTH_TEST_LOG = "health-test-log"
    """The RNG's own continuous health-test alarms (JSON lines)."""
    PARITY_TRANSCRIPT = "parity-transcript"
    """Error-correction transcript: every disclosed parity, per block (table)."""
    KEY_DELIVERY_PROBE = "key-delivery-probe"
    """Record of a live ETSI GS QKD 014 probe: every request and response (JSON lines,
    ``docs/kme.md``)."""
    TRACE_ARRAY = "trace-array"
    """Side-channel traces captured in the lab (NumPy .npy, traces × samples); the labels of the
    traces are the rows of the table named by ``labels_slot``."""
    POST_PROCESSING_TRANSCRIPT = "post-processing-transcript"
    """What the modules did with each block's key, step by step, both parties, captured in their
    test configuration (``docs/transcript-format.md``)."""
    ISOLATION_SPECTRUM = "isolation-spectrum"
    """Optical isolation of a module's quantum port against wavelength, measured in the lab
    (table: ``wavelength_nm``, ``isolation_db``)."""


class EvidenceFormat(StrEnum):
    """How an evidence file is encoded."""

    CSV = "csv"
    PARQUET = "parquet"
    BINARY = "binary"
    JSONL = "jsonl"
    NPY = "npy"


TABLE_FORMATS = frozenset({EvidenceFormat.CSV, EvidenceFormat.PARQUET})

ALLOWED_FORMATS: dict[EvidenceKind, frozenset[EvidenceFormat]] = {
    EvidenceKind.BLOCK_RECORDS: TABLE_FORMATS,
    EvidenceKind.DETECTION_EVENTS: TABLE_FORMATS,
    EvidenceKind.PULSE_EVENTS: TABLE_FORMATS,
    EvidenceKind.MONITOR: TABLE_FORMATS,
    EvidenceKind.RNG_RAW: frozenset({EvidenceFormat.BINARY}),
    EvidenceKind.SELF_TEST_LOG: frozenset({EvidenceFormat.JSONL}),
    EvidenceKind.AUDIT_LOG: frozenset({EvidenceFormat.JSONL}),
    EvidenceKind.KEY_DELIVERY_LOG: TABLE_FORMATS | {EvidenceFormat.JSONL},
    EvidenceKind.HEALTH_TEST_LOG: frozenset({EvidenceFormat.JSONL}),
    EvidenceKind.PARITY_TRANSCRIPT: TABLE_FORMATS,
    EvidenceKind.TRACE_ARRAY: frozenset({EvidenceFormat.NPY}),
    EvidenceKind.POST_PROCESSING_TRANSCRIPT: frozenset({EvidenceFormat.PARQUET,
                                                        EvidenceFormat.JSONL}),
    EvidenceKind.KEY_DELIVERY_PROBE: frozenset({EvidenceFormat.JSONL}),
    EvidenceKind.ISOLATION_SPECTRUM: TABLE_FORMATS,
}


# --- column schemas -------------------------------------------------------------------------

UNIT_SUFFIXES: tuple[str, ...] = (
    "s", "ms", "us", "ns", "ps", "hz", "khz", "mhz", "dbm", "db", "w", "mw", "uw", "nw", "a",
    "ma", "ua", "na", "v", "mv", "c", "k", "bits", "count", "ratio", "km", "m", "nm", "photons",
    "rad",
)
"""Recognised unit suffixes of numeric columns (``power_dbm``, ``time_ps``); ``count`` and
``ratio`` mark dimensionless quantities."""

TIME_UNITS_PER_SECOND: dict[str, float] = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9, "ps": 1e12}


class ColumnType(StrEnum):
    """Logical type of a column."""

    INT = "int"
    """Integer (no NaN)."""
    COUNT = "count"
    """Non-negative integer."""
    FLOAT = "float"
    """Finite real number."""
    FLAG = "flag"
    """0 or 1."""
    TEXT = "text"
    """A string (untrusted: rendered as text only)."""


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column (or a family of columns matching a pattern) of a table kind."""

    name: str
    """Exact name, or a regular expression when ``pattern`` is true."""
    type: ColumnType
    required: bool = False
    pattern: bool = False
    monotonic: bool = False
    """Values never decrease (time) ..."""
    strictly_increasing: bool = False
    """... or strictly increase (ids)."""
    description: str = ""

    def matches(self, column: str) -> bool:
        """Whether ``column`` is described by this spec."""
        if self.pattern:
            return re.fullmatch(self.name, column) is not None
        return column == self.name


_K = r"(?:0|[1-9][0-9]?)"
TABLE_SCHEMAS: dict[EvidenceKind, tuple[ColumnSpec, ...]] = {
    EvidenceKind.BLOCK_RECORDS: (
        ColumnSpec("block_id", ColumnType.INT, required=True, strictly_increasing=True,
                   description="block number"),
        ColumnSpec("time_s", ColumnType.FLOAT, required=True, monotonic=True,
                   description="end of the block, seconds since the start of the capture"),
        ColumnSpec(f"n_sent_{_K}", ColumnType.COUNT, pattern=True,
                   description="pulses sent in intensity class k"),
        ColumnSpec(f"(key|test)_(detections|errors)_{_K}", ColumnType.COUNT, pattern=True,
                   description="sifted detections / errors in the key or test basis, class k"),
        ColumnSpec("ec_leakage_bits", ColumnType.COUNT, required=True,
                   description="bits disclosed by error correction, as reported"),
        ColumnSpec("verification_hash_bits", ColumnType.COUNT,
                   description="length of the error-verification hash"),
        ColumnSpec("pa_input_bits", ColumnType.COUNT, description="privacy amplification input"),
        ColumnSpec("pa_output_bits", ColumnType.COUNT, required=True,
                   description="final key length produced (0 when aborted)"),
        ColumnSpec("aborted", ColumnType.FLAG, required=True, description="1 if the block aborted"),
        ColumnSpec("qber_key", ColumnType.FLOAT, description="QBER in the key basis, as reported"),
        ColumnSpec("phase_error_bound", ColumnType.FLOAT,
                   description="phase error bound, reported"),
        ColumnSpec("key_id", ColumnType.TEXT, description="identifier of the key produced"),
        ColumnSpec("pa_seed_sha256", ColumnType.TEXT, description="hash of the PA seed"),
        ColumnSpec("auth_tag_bits", ColumnType.COUNT, description="authentication tag length"),
        ColumnSpec("auth_key_bits_consumed", ColumnType.COUNT,
                   description="authentication key consumed in the block"),
    ),
    EvidenceKind.DETECTION_EVENTS: (
        ColumnSpec("time_ps", ColumnType.INT, required=True, monotonic=True,
                   description="time tag, picoseconds"),
        ColumnSpec("detector", ColumnType.COUNT, required=True, description="detector index"),
        ColumnSpec("basis", ColumnType.COUNT, description="measurement basis (0 = Z, 1 = X)"),
        ColumnSpec("bit", ColumnType.FLAG, description="detected bit value"),
        ColumnSpec("intensity", ColumnType.COUNT, description="intensity class of the pulse"),
        ColumnSpec("pulse_index", ColumnType.COUNT, strictly_increasing=False,
                   description="index of the pulse the detection belongs to"),
        ColumnSpec("gate_offset_ps", ColumnType.FLOAT, description="position within the gate"),
    ),
    EvidenceKind.PULSE_EVENTS: (
        ColumnSpec("pulse_index", ColumnType.COUNT, required=True, strictly_increasing=True,
                   description="pulse number"),
        ColumnSpec("basis", ColumnType.COUNT, description="preparation basis"),
        ColumnSpec("bit", ColumnType.FLAG, description="prepared bit"),
        ColumnSpec("intensity", ColumnType.COUNT, description="intensity class"),
        ColumnSpec("time_ps", ColumnType.INT, monotonic=True, description="emission time"),
    ),
    EvidenceKind.MONITOR: (
        ColumnSpec("time_s", ColumnType.FLOAT, required=True, monotonic=True,
                   description="sample time, seconds since the start of the capture"),
    ),
    EvidenceKind.PARITY_TRANSCRIPT: (
        ColumnSpec("block_id", ColumnType.INT, required=True, description="block number"),
        ColumnSpec("parity_bits", ColumnType.COUNT, required=True,
                   description="parity bits disclosed in this message"),
    ),
    EvidenceKind.KEY_DELIVERY_LOG: (
        ColumnSpec("time_s", ColumnType.FLOAT, required=True, monotonic=True,
                   description="delivery time"),
        ColumnSpec("key_id", ColumnType.TEXT, required=True, description="key identifier"),
    ),
    EvidenceKind.ISOLATION_SPECTRUM: (
        ColumnSpec("wavelength_nm", ColumnType.FLOAT, required=True, strictly_increasing=True,
                   description="wavelength of the measurement point"),
        ColumnSpec("isolation_db", ColumnType.FLOAT, required=True,
                   description="isolation of the port at that wavelength (attenuation of light "
                   "passing through it)"),
    ),
}


# --- manifest -------------------------------------------------------------------------------


class Module(StrictModel):
    """One of the two QKD modules of the pair."""

    serial: str = Field(min_length=1, max_length=200)
    hardware_version: str = Field(min_length=1, max_length=200)
    firmware_version: str = Field(min_length=1, max_length=200)


class TOEIdentification(StrictModel):
    """Identification of the target of evaluation: the pair of modules."""

    vendor: str = Field(min_length=1, max_length=200)
    product: str = Field(min_length=1, max_length=200)
    transmitter: Module
    receiver: Module


class ProtocolClaims(StrictModel):
    """What the device claims about its protocol (GS QKD 016: the security proof's parameters)."""

    protocol: str = Field(
        pattern=r"^[a-z0-9][a-z0-9\-]{1,63}$", description="protocol id, e.g. bb84-decoy-3"
    )
    bound: str | None = Field(None, description="finite-key bound claimed, e.g. lim2014")
    intensities: tuple[float, ...] = Field(description="mean photon numbers per class, descending")
    probabilities: tuple[float, ...] = Field(description="probability of each intensity class")
    p_key_basis: float = Field(0.5, gt=0, lt=1, description="probability of the key basis")
    eps_sec: float = Field(gt=0, lt=1, description="secrecy parameter")
    eps_cor: float = Field(gt=0, lt=1, description="correctness parameter")
    eps_auth: float | None = Field(None, gt=0, lt=1, description="authentication failure bound")
    block_size: int = Field(gt=0, description="post-processing block size, detections")
    qber_abort_threshold: float = Field(gt=0, lt=0.5, description="QBER above which a block aborts")
    phase_error_abort_threshold: float | None = Field(None, gt=0, le=0.5)
    rep_rate_hz: float | None = Field(None, gt=0, description="pulse repetition rate")

    @field_validator("intensities")
    @classmethod
    def _intensities(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v:
            raise ValueError("at least one intensity is required")
        if any(x < 0 or x != x for x in v):
            raise ValueError("intensities must be non-negative numbers")
        return v

    @model_validator(mode="after")
    def _probabilities_match(self) -> ProtocolClaims:
        if len(self.probabilities) != len(self.intensities):
            raise ValueError(
                f"{len(self.probabilities)} probabilities for {len(self.intensities)} intensities"
            )
        if any(not 0 <= p <= 1 for p in self.probabilities):
            raise ValueError("probabilities must lie in [0, 1]")
        if abs(sum(self.probabilities) - 1.0) > 1e-9:
            raise ValueError(f"probabilities sum to {sum(self.probabilities)}, not 1")
        return self


class CaptureMetadata(StrictModel):
    """When, where and over what channel the evidence was captured."""

    start: datetime
    end: datetime
    lab: str = Field(min_length=1, max_length=200)
    operator: str | None = Field(None, max_length=200)
    fibre_length_km: float | None = Field(None, ge=0)
    fibre_attenuation_db: float | None = Field(None, ge=0)
    notes: str | None = Field(None, max_length=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> CaptureMetadata:
        if self.end < self.start:
            raise ValueError("capture end is before its start")
        return self


class ImportRecord(StrictModel):
    """How an evidence file was produced from a lab's or vendor's file by ``evaltool import``."""

    source: str = Field(max_length=4096, description="name of the file imported")
    source_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    mapping: str | None = Field(None, max_length=4096,
                                description="name of the mapping or channel-map file")
    mapping_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    importer: str = Field(max_length=200, description="the command that imported it")
    tool_version: str = Field(max_length=100)
    reader: str = Field(max_length=200, description="the reader of the source format, versioned")
    rows: int = Field(ge=0, description="records written")


class EvidenceFile(StrictModel):
    """One evidence file, bound to a slot."""

    slot: str = Field(pattern=_SLOT_RE, description="slot name the profile's checks refer to")
    kind: EvidenceKind
    format: EvidenceFormat
    path: str = Field(min_length=1, max_length=4096, description="path relative to the bundle")
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    size_bytes: int | None = Field(None, ge=0, description="declared size, checked when given")
    description: str | None = Field(None, max_length=10_000)
    imported: ImportRecord | None = Field(
        None, description="written by `evaltool import`: the source, the mapping and the "
        "importer, each identified (docs/importing.md)")
    blocks_slot: str | None = Field(
        None, pattern=_SLOT_RE,
        description="post-processing-transcript only: the block-records slot of the same capture, "
        "which the transcript is checked against when the bundle is loaded (default: the "
        "bundle's only block-records slot)")
    labels_slot: str | None = Field(
        None, pattern=_SLOT_RE,
        description="trace-array only (required there): the table slot with one row per trace, "
        "in trace order, whose columns (bit, basis, intensity, ...) label the traces")

    @model_validator(mode="after")
    def _format_fits_kind(self) -> EvidenceFile:
        allowed = ALLOWED_FORMATS[self.kind]
        if self.format not in allowed:
            names = ", ".join(sorted(f.value for f in allowed))
            raise ValueError(f"format '{self.format}' is not allowed for kind '{self.kind}' "
                             f"(allowed: {names})")
        if self.kind is EvidenceKind.TRACE_ARRAY and self.labels_slot is None:
            raise ValueError("a trace-array needs labels_slot: the table slot labelling its "
                             "traces")
        if self.kind is not EvidenceKind.TRACE_ARRAY and self.labels_slot is not None:
            raise ValueError(f"labels_slot applies to trace-array evidence, not '{self.kind}'")
        if (self.kind is not EvidenceKind.POST_PROCESSING_TRANSCRIPT
                and self.blocks_slot is not None):
            raise ValueError("blocks_slot applies to post-processing-transcript evidence, not "
                             f"'{self.kind}'")
        return self


class BundleManifest(StrictModel):
    """The ``bundle.yaml`` manifest."""

    schema_version: int = Field(BUNDLE_SCHEMA_VERSION, ge=1, le=BUNDLE_SCHEMA_VERSION)
    toe: TOEIdentification
    claims: ProtocolClaims
    capture: CaptureMetadata
    evidence: tuple[EvidenceFile, ...]

    @field_validator("evidence")
    @classmethod
    def _unique_slots(cls, v: tuple[EvidenceFile, ...]) -> tuple[EvidenceFile, ...]:
        seen: set[str] = set()
        for e in v:
            if e.slot in seen:
                raise ValueError(f"duplicate evidence slot '{e.slot}'")
            seen.add(e.slot)
        by_slot = {e.slot: e for e in v}
        for e in v:
            if e.blocks_slot is not None:
                target = by_slot.get(e.blocks_slot)
                if target is None or target.kind is not EvidenceKind.BLOCK_RECORDS:
                    raise ValueError(f"slot '{e.slot}': blocks_slot '{e.blocks_slot}' is not a "
                                     "block-records slot of the bundle")
            if e.labels_slot is None:
                continue
            labels = by_slot.get(e.labels_slot)
            if labels is None:
                raise ValueError(f"slot '{e.slot}': labels_slot '{e.labels_slot}' is not an "
                                 "evidence slot of the bundle")
            if labels.format not in TABLE_FORMATS:
                raise ValueError(f"slot '{e.slot}': labels_slot '{e.labels_slot}' is "
                                 f"'{labels.format}', a table (csv or parquet) is needed")
        return v

    def slot(self, name: str) -> EvidenceFile | None:
        """The evidence file bound to ``name``, if any."""
        return next((e for e in self.evidence if e.slot == name), None)
