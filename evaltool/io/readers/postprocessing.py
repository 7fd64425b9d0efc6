"""Post-processing transcripts (``docs/transcript-format.md``): the reader, its bounded-memory
view and the cross-check against the block records.

The view (:class:`TranscriptFile`) satisfies
:class:`~evaltool.io.readers.replay_view.PostProcessingTranscript`. Opening it reads the header,
the exported authentication key pool and the block ids (in Parquet, from the row groups, one
block per row group); :meth:`TranscriptFile.blocks` then reads, validates and yields one block at
a time, so at most one block's records are in memory. Every rule broken is an
:class:`~evaltool.errors.EvidenceError` naming the file, the block and the field.

The rules of a block, beyond each record's own fields (:mod:`evaltool.model.transcript`):

1. a packed bit string holds exactly ``ceil(x_length / 8)`` bytes, its padding bits zero;
2. at most one key per stage and party, one record of every other single kind, one outcome;
3. both ends' keys of a stage have the same length, and error correction keeps the length;
4. sampled sifting fields have one bit per round, rounds strictly increase, a kept round has a
   position inside the sifted key and a dropped one ``-1``;
5. estimation positions strictly increase and lie inside the sifted key;
6. error-correction messages follow an ``ec-setup``, their sequence numbers strictly increase,
   every range ``[start, end)`` is non-empty and inside the key (and explicit permutations are
   permutations of it, one per pass used);
7. both verification tags have the same length;
8. the privacy-amplification seed has ``input_bits + output_bits - 1`` bits, the input is the
   corrected key and the output has ``output_bits`` bits;
9. authentication tags of a block share one length, sequence numbers strictly increase, and the
   hash key and pad of every message lie inside the exported pool;
10. an aborted block lists no key ids.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray
from pydantic import ValidationError

from evaltool.errors import EvidenceError
from evaltool.io.readers._registry import Source, reader
from evaltool.io.readers.blocks import BlockRecords
from evaltool.io.readers.replay_view import (
    STEP_KEYS,
    AuthKeyPool,
    AuthMessages,
    Bits,
    BlockTranscript,
    EcMessages,
    EcProtocol,
    EstimationRecord,
    Indices,
    Injection,
    Party,
    PostProcessingTranscript,
    PrivacyAmplificationRecord,
    SiftingRecord,
    Step,
    VerificationRecord,
)
from evaltool.model.bundle import EvidenceFormat, EvidenceKind
from evaltool.model.transcript import (
    TRANSCRIPT_VERSION,
    RecordType,
    TranscriptRecord,
    record_fields,
    required_fields,
)

_I64 = pa.int64()
_STR = pa.string()
_BIN = pa.large_binary()
_F64 = pa.float64()
_BOOL = pa.bool_()

PACKED_FIELDS: tuple[str, ...] = (
    "bits", "alice_basis", "alice_bit", "bob_detected", "bob_basis", "bob_bit", "kept",
    "alice_values", "bob_values", "seed", "tag_alice", "tag_bob", "output", "tag",
)
"""Packed bit-string fields; each has a ``<name>_length`` companion (bits)."""
BYTES_FIELDS: tuple[str, ...] = (*PACKED_FIELDS, "payload")
"""Fields holding bytes: binary in Parquet, base64 in JSON lines."""

COLUMNS: dict[str, pa.DataType] = {
    "record": _STR,
    "block_id": _I64,
    "version": _I64,
    "offset": _I64,
    "stage": _STR,
    "party": _STR,
    **{n: t for f in PACKED_FIELDS for n, t in ((f, _BIN), (f"{f}_length", _I64))},
    "rounds": pa.list_(_I64),
    "sifted_position": pa.list_(_I64),
    "positions": pa.list_(_I64),
    "qber_alice": _F64,
    "qber_bob": _F64,
    "protocol": _STR,
    "variant": _STR,
    "frame_seed": pa.uint64(),
    "qber_used": _F64,
    "permutations": pa.list_(pa.list_(_I64)),
    "seq": _I64,
    "sender": _STR,
    "pass_index": _I64,
    "start": _I64,
    "end": _I64,
    "parity": pa.int8(),
    "family": _STR,
    "accepted": _BOOL,
    "input_bits": _I64,
    "output_bits": _I64,
    "output_sha256": _STR,
    "payload": _BIN,
    "hash_key_offset": _I64,
    "pad_offset": _I64,
    "injected": _STR,
    "delivered": _BOOL,
    "key_ids": pa.list_(_STR),
}
"""Every column of the Parquet form, in file order, with the type the writer gives it."""

SCHEMA = pa.schema([pa.field(n, t) for n, t in COLUMNS.items()])

FILE_RECORDS = frozenset({RecordType.HEADER, RecordType.AUTH_POOL})
"""Records of the file, not of a block (no ``block_id``); they come first."""
MESSAGE_RECORDS = frozenset({RecordType.EC_MESSAGE, RecordType.AUTH_MESSAGE})
"""Records that repeat within a block (read column-wise)."""
_STAGES = ("sifted", "reconciled", "corrected")
_PARTIES = ("alice", "bob")
_ENUMS: dict[str, frozenset[str]] = {
    "sender": frozenset(p.value for p in Party),
    "injected": frozenset(i.value for i in Injection),
}


def packed_size(n_bits: int) -> int:
    """Bytes that hold ``n_bits`` packed bits."""
    return (n_bits + 7) // 8


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


# --- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a problem is: the file, the block, and (JSON lines) the line."""

    display: str
    block_id: int | None = None
    line: int | None = None

    def error(self, message: str) -> EvidenceError:
        parts = []
        if self.block_id is not None:
            parts.append(f"block {self.block_id}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        return EvidenceError(message, path=self.display, location=", ".join(parts) or None)

    def field(self, what: str, name: str, problem: str) -> EvidenceError:
        return self.error(f"{what}: field '{name}' {problem}")


def _pydantic_message(exc: ValidationError, kind: str | None) -> str:
    e = exc.errors(include_url=False)[0]
    loc = [str(p) for p in e["loc"]]
    what = f"'{kind}' record" if kind else "record"
    if e["type"] == "union_tag_invalid":
        return f"field 'record': unknown record type {str(kind)[:60]!r}"
    if e["type"] == "union_tag_not_found":
        return "field 'record' is missing"
    name = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else "record")
    if e["type"] == "missing":
        return f"{what}: field '{name}' is missing"
    if e["type"] == "extra_forbidden":
        return f"{what}: field '{name}' does not belong to this record type"
    if e["type"] == "string_pattern_mismatch" and name in BYTES_FIELDS:
        return f"{what}: field '{name}' is not valid base64"
    shown = repr(e.get("input"))
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    msg = str(e["msg"])
    return f"{what}: field '{name}' {msg[:1].lower() + msg[1:]} (found {shown})"


def _validate(obj: Mapping[str, Any], where: _Where) -> dict[str, Any]:
    """One record's fields checked against its model; bytes fields are passed through as
    given (base64 text in JSON lines, checked by :func:`_decode`)."""
    kind = obj.get("record")
    try:
        TranscriptRecord.model_validate(obj)
    except ValidationError as exc:
        raise where.error(_pydantic_message(exc, kind if isinstance(kind, str) else None)
                          ) from None
    return dict(obj)


def _decode(values: dict[str, Any], kind: str, where: _Where) -> None:
    """Base64 text of a JSON-lines record to bytes, in place."""
    for name in BYTES_FIELDS:
        text = values.get(name)
        if text is None:
            continue
        try:
            values[name] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise where.field(f"'{kind}' record", name, "is not valid base64") from None


def _unpack(values: Mapping[str, Any], name: str, what: str, where: _Where) -> Bits:
    """The packed field ``name`` as 0/1 values, its byte count and padding checked."""
    data: bytes = values[name]
    n = int(values[f"{name}_length"])
    if len(data) != packed_size(n):
        raise where.field(what, name, f"holds {len(data)} bytes but '{name}_length' is {n} bits "
                                      f"({packed_size(n)} bytes)")
    raw = np.frombuffer(data, dtype=np.uint8)
    if n % 8 and int(raw[-1]) & ((1 << (8 - n % 8)) - 1):
        raise where.field(what, name, f"has non-zero padding bits after its {n} bits")
    return _frozen(np.unpackbits(raw, count=n))


# --- one block ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Parts:
    """The records of one block as read: single records with their fields, and the message
    records as columns, each a list of chunks (one per row group, or one for JSON lines)."""

    block_id: int
    singles: list[tuple[RecordType, dict[str, Any], int | None]] = field(default_factory=list)
    ec: dict[str, list[Any]] = field(default_factory=dict)
    auth: dict[str, list[Any]] = field(default_factory=dict)


_ENUM_TYPES: dict[str, type[Party] | type[Injection]] = {"sender": Party, "injected": Injection}


def _merged(chunks: dict[str, list[Any]]) -> dict[str, Any]:
    """Message columns from their chunks (emptied as they are merged, to hold one copy): int64
    arrays, booleans (``sender`` as from-Bob flags), tuples of enums or bytes."""
    out: dict[str, Any] = {}
    for name in list(chunks):
        parts = chunks.pop(name)
        if name == "sender":
            out[name] = np.concatenate([
                p if isinstance(p, np.ndarray) else
                np.fromiter((s is Party.BOB for s in p), dtype=bool, count=len(p))
                for p in parts]) if parts else np.zeros(0, dtype=bool)
        elif name in _ENUM_TYPES and all(isinstance(p, np.ndarray) for p in parts):
            out[name] = tuple(np.concatenate(parts).tolist() if len(parts) > 1 else
                              parts[0].tolist())
        elif name in _ENUM_TYPES or name in BYTES_FIELDS:
            out[name] = tuple(itertools.chain.from_iterable(parts))
        elif name == "accepted":
            out[name] = np.concatenate([np.asarray(p, dtype=bool) for p in parts])
        else:
            out[name] = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])
    return out


def _strictly_increasing(values: NDArray[np.int64], what: str, name: str, where: _Where) -> None:
    if values.size < 2 or bool((np.diff(values) > 0).all()):
        return
    uniq, counts = np.unique(values, return_counts=True)
    if (counts > 1).any():
        raise where.field(what, name, f"repeats the value {int(uniq[counts > 1][0])}")
    step = np.diff(values)
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0])
        raise where.field(what, name, f"is not strictly increasing ({int(values[i + 1])} after "
                                      f"{int(values[i])})")


def _ints(values: Any) -> NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What a pass over the blocks reads: the steps and key stages (every one by default)."""

    steps: frozenset[Step]
    stages: frozenset[str]

    @staticmethod
    def of(steps: frozenset[Step] | None) -> _Wanted:
        if steps is None:
            return _ALL
        return _Wanted(frozenset(steps), frozenset().union(*(STEP_KEYS[s] for s in steps)))

    def message(self, kind: RecordType) -> bool:
        """Whether the message records of ``kind`` are read."""
        return (Step.EC if kind is RecordType.EC_MESSAGE else Step.AUTH) in self.steps


_ALL = _Wanted(frozenset(Step), frozenset(_STAGES))
_SINGLE_STEP: dict[RecordType, Step] = {
    RecordType.SIFTING_SAMPLE: Step.SIFTING, RecordType.ESTIMATION: Step.ESTIMATION,
    RecordType.EC_SETUP: Step.EC, RecordType.VERIFICATION: Step.VERIFICATION,
    RecordType.PA: Step.PA,
}


def _key_length(values: Mapping[str, Any], what: str, where: _Where) -> int:
    """The bit count of a packed key field, its byte count and padding checked (not unpacked)."""
    data: bytes = values["bits"]
    n = int(values["bits_length"])
    if len(data) != packed_size(n):
        raise where.field(what, "bits", f"holds {len(data)} bytes but 'bits_length' is {n} bits "
                                        f"({packed_size(n)} bytes)")
    if n % 8 and data[-1] & ((1 << (8 - n % 8)) - 1):
        raise where.field(what, "bits", f"has non-zero padding bits after its {n} bits")
    return n


def _assemble(parts: _Parts, pool: AuthKeyPool | None, display: str,
              wanted: _Wanted = _ALL) -> BlockTranscript:
    bid = parts.block_id
    where = _Where(display, bid)
    keys: dict[tuple[str, str], Bits] = {}
    sizes: dict[tuple[str, str], int] = {}
    single: dict[RecordType, dict[str, Any]] = {}
    for kind, values, line in parts.singles:
        at = _Where(display, bid, line)
        if kind is RecordType.KEY:
            slot = (values["stage"], values["party"])
            if slot in sizes:
                raise at.field("'key' record", "stage",
                               f"repeats the {slot[0]} key of {slot[1]} (one per stage and party)")
            sizes[slot] = _key_length(values, f"{slot[0]} key of {slot[1]}", at)
            if slot[0] in wanted.stages:
                keys[slot] = _frozen(np.unpackbits(np.frombuffer(values["bits"], np.uint8),
                                                   count=sizes[slot]))
        elif kind in FILE_RECORDS:
            raise at.field(f"'{kind}' record", "record", "is a file record inside a block (file "
                                                         "records come first)")
        elif kind in single:
            raise at.field(f"'{kind}' record", "record", "appears twice in the block")
        else:
            single[kind] = values

    def key(stage: str, party: str) -> Bits | None:
        return keys.get((stage, party))

    for stage in _STAGES:
        a, b = sizes.get((stage, "alice")), sizes.get((stage, "bob"))
        if a is not None and b is not None and a != b:
            raise where.field(f"{stage} keys", "bits_length",
                              f"differs between the ends (alice {a}, bob {b} bits)")
    for party in _PARTIES:
        r, c = sizes.get(("reconciled", party)), sizes.get(("corrected", party))
        if r is not None and c is not None and r != c:
            raise where.field(f"corrected key of {party}", "bits_length",
                              f"is {c} bits, the reconciled key {r} (error correction "
                              "keeps the length)")

    def length(stage: str) -> int | None:
        n = sizes.get((stage, "alice"))
        return sizes.get((stage, "bob")) if n is None else n

    for kind, step in _SINGLE_STEP.items():
        if step not in wanted.steps:
            single.pop(kind, None)

    n_sifted = length("sifted")
    n_ec = length("reconciled")
    n_ec = length("corrected") if n_ec is None else n_ec

    sifting = _sifting(single.get(RecordType.SIFTING_SAMPLE), n_sifted, where)
    estimation = _estimation(single.get(RecordType.ESTIMATION), n_sifted, where)
    ec = (_ec(single.get(RecordType.EC_SETUP), _merged(parts.ec), n_ec, where)
          if Step.EC in wanted.steps else None)
    verification = _verification(single.get(RecordType.VERIFICATION), where)
    pa_rec = _pa(single.get(RecordType.PA), length("corrected"), where)
    auth = _auth(_merged(parts.auth), pool, where) if Step.AUTH in wanted.steps else None
    outcome = single.get(RecordType.OUTCOME)
    if outcome is None:
        raise where.field("block", "record", "has no 'outcome' record")
    key_ids = tuple(str(k) for k in outcome["key_ids"])
    if not outcome["delivered"] and key_ids:
        raise where.field("'outcome' record", "key_ids", "lists keys of an aborted block")
    return BlockTranscript(
        block_id=bid,
        sifted_alice=key("sifted", "alice"), sifted_bob=key("sifted", "bob"),
        reconciled_alice=key("reconciled", "alice"), reconciled_bob=key("reconciled", "bob"),
        corrected_alice=key("corrected", "alice"), corrected_bob=key("corrected", "bob"),
        sifting=sifting, estimation=estimation, ec=ec, verification=verification, pa=pa_rec,
        auth=auth, delivered=bool(outcome["delivered"]), key_ids=key_ids)


def _sifting(v: dict[str, Any] | None, n_sifted: int | None, where: _Where
             ) -> SiftingRecord | None:
    if v is None:
        return None
    what = "'sifting-sample' record"
    rounds = _frozen(_ints(v["rounds"]))
    m = rounds.size
    bits = {}
    for name in ("alice_basis", "alice_bit", "bob_detected", "bob_basis", "bob_bit", "kept"):
        bits[name] = _unpack(v, name, what, where)
        if bits[name].size != m:
            raise where.field(what, f"{name}_length", f"is {bits[name].size}, the sample has {m} "
                                                      "rounds")
    pos = _frozen(_ints(v["sifted_position"]))
    if pos.size != m:
        raise where.field(what, "sifted_position", f"has {pos.size} entries for {m} rounds")
    _strictly_increasing(rounds, what, "rounds", where)
    kept = bits["kept"] == 1
    if (pos[~kept] != -1).any():
        i = int(np.flatnonzero(pos[~kept] != -1)[0])
        raise where.field(what, "sifted_position", f"gives position {int(pos[~kept][i])} to the "
                                                   "dropped round "
                                                   f"{int(rounds[~kept][i])} (-1 expected)")
    hi = n_sifted if n_sifted is not None else np.iinfo(np.int64).max
    bad = kept & ((pos < 0) | (pos >= hi))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise where.field(what, "sifted_position", f"places round {int(rounds[i])} at "
                                                   f"{int(pos[i])}, outside the {n_sifted}-bit "
                                                   "sifted key")
    return SiftingRecord(rounds=rounds, sifted_position=pos, **bits)


def _estimation(v: dict[str, Any] | None, n_sifted: int | None, where: _Where
                ) -> EstimationRecord | None:
    if v is None:
        return None
    what = "'estimation' record"
    positions = _frozen(_ints(v["positions"]))
    values = {n: _unpack(v, n, what, where) for n in ("alice_values", "bob_values")}
    for n, bits in values.items():
        if bits.size != positions.size:
            raise where.field(what, f"{n}_length", f"is {bits.size}, for {positions.size} "
                                                   "positions")
    _strictly_increasing(positions, what, "positions", where)
    if positions.size and (positions[0] < 0 or (n_sifted is not None
                                                and positions[-1] >= n_sifted)):
        p = int(positions[0] if positions[0] < 0 else positions[-1])
        raise where.field(what, "positions", f"reveals position {p}, outside the {n_sifted}-bit "
                                             "sifted key")
    return EstimationRecord(positions=positions, qber_alice=float(v["qber_alice"]),
                            qber_bob=float(v["qber_bob"]), **values)


def _ec(setup: dict[str, Any] | None, msgs: dict[str, Any], n: int | None, where: _Where
        ) -> EcMessages | None:
    count = len(msgs.get("seq", ()))
    if setup is None:
        if count:
            raise where.field("'ec-message' records", "record", "come without an 'ec-setup' "
                                                                "record")
        return None
    perms: NDArray[np.int64] | None = None
    if setup.get("permutations") is not None:
        rows = [_ints(r) for r in setup["permutations"]]
        widths = {r.size for r in rows}
        if len(widths) > 1 or (n is not None and rows and widths != {n}):
            raise where.field("'ec-setup' record", "permutations",
                              f"rows have {sorted(widths)} entries, the key has {n} bits")
        perms = np.stack(rows) if rows else np.zeros((0, n or 0), dtype=np.int64)
        w = perms.shape[1]
        for p, row in enumerate(perms):
            if (row < 0).any() or (row >= w).any() or (np.bincount(row, minlength=w) != 1).any():
                raise where.field("'ec-setup' record", "permutations",
                                  f"row {p} is not a permutation of 0..{w - 1}")
        n = w if n is None else n
        _frozen(perms)
    seq = _frozen(_ints(msgs.get("seq", ())))
    what = "'ec-message' records"
    _strictly_increasing(seq, what, "seq", where)
    cols = {c: _frozen(_ints(msgs.get(c, ()))) for c in ("pass_index", "start", "end")}
    pass_index, start, end = cols["pass_index"], cols["start"], cols["end"]

    def fail(mask: NDArray[np.bool_], name: str, problem: str) -> EvidenceError:
        i = int(np.flatnonzero(mask)[0])
        return where.field(f"'ec-message' seq {int(seq[i])}", name,
                           problem.format(start=int(start[i]), end=int(end[i]),
                                          p=int(pass_index[i])))

    if (pass_index < 0).any():
        raise fail(pass_index < 0, "pass_index", "is negative ({p})")
    if (start < 0).any():
        raise fail(start < 0, "start", "is negative ({start})")
    if (start >= end).any():
        raise fail(start >= end, "start", "{start} is not below end {end} (empty range)")
    if n is not None and (end > n).any():
        raise fail(end > n, "end", f"{{end}} is beyond the {n}-bit key")
    if perms is not None and (pass_index >= perms.shape[0]).any():
        raise fail(pass_index >= perms.shape[0], "pass_index",
                   f"{{p}} has no permutation (the setup gives {perms.shape[0]})")
    parity = _frozen(_ints(msgs.get("parity", ())).astype(np.uint8))
    return EcMessages(
        protocol=EcProtocol(setup["protocol"]), variant=str(setup["variant"]),
        frame_seed=int(setup["frame_seed"]), qber_used=float(setup["qber_used"]), seq=seq,
        from_bob=_frozen(np.asarray(msgs.get("sender", np.zeros(0, dtype=bool)), dtype=bool)),
        pass_index=pass_index,
        start=start, end=end, parity=parity, permutations=perms)


def _verification(v: dict[str, Any] | None, where: _Where) -> VerificationRecord | None:
    if v is None:
        return None
    what = "'verification' record"
    ta, tb = _unpack(v, "tag_alice", what, where), _unpack(v, "tag_bob", what, where)
    if ta.size != tb.size:
        raise where.field(what, "tag_bob_length", f"is {tb.size}, alice's tag has {ta.size} bits")
    return VerificationRecord(family=str(v["family"]), seed=_unpack(v, "seed", what, where),
                              tag_alice=ta, tag_bob=tb, accepted=bool(v["accepted"]))


def _pa(v: dict[str, Any] | None, n_corrected: int | None, where: _Where
        ) -> PrivacyAmplificationRecord | None:
    if v is None:
        return None
    what = "'pa' record"
    n_in, ell = int(v["input_bits"]), int(v["output_bits"])
    seed = _unpack(v, "seed", what, where)
    if seed.size != n_in + ell - 1:
        raise where.field(what, "seed_length", f"is {seed.size} bits; a Toeplitz hash of {n_in} "
                                               f"to {ell} bits takes n + ell - 1 = "
                                               f"{n_in + ell - 1}")
    if n_corrected is not None and n_in != n_corrected:
        raise where.field(what, "input_bits", f"is {n_in}, the corrected key has {n_corrected} "
                                              "bits")
    if (v.get("output") is None) != (v.get("output_length") is None):
        raise where.field(what, "output_length", "and 'output' go together (both or neither)")
    output = None
    if v.get("output") is not None:
        output = _unpack(v, "output", what, where)
        if output.size != ell:
            raise where.field(what, "output_length", f"is {output.size}, 'output_bits' is {ell}")
    sha = v.get("output_sha256")
    return PrivacyAmplificationRecord(family=str(v["family"]), seed=seed, input_bits=n_in,
                                      output_bits=ell, output=output,
                                      output_sha256=None if sha is None else str(sha))


def _auth(msgs: dict[str, Any], pool: AuthKeyPool | None, where: _Where) -> AuthMessages | None:
    if not len(msgs.get("seq", ())):
        return None
    seq = _frozen(_ints(msgs["seq"]))
    _strictly_increasing(seq, "'auth-message' records", "seq", where)
    lengths = _ints(msgs["tag_length"])
    tag_bits = int(lengths[0])
    tags: list[int] = []
    for i, (data, n) in enumerate(zip(msgs["tag"], lengths.tolist(), strict=True)):
        what = f"'auth-message' seq {int(seq[i])}"
        if n != tag_bits:
            raise where.field(what, "tag_length", f"is {n} bits, the block's first tag has "
                                                  f"{tag_bits}")
        bits = _unpack({"tag": data, "tag_length": n}, "tag", what, where)
        tags.append(int.from_bytes(np.packbits(bits).tobytes(), "big") >> (-n % 8))
    hk, pad = _frozen(_ints(msgs["hash_key_offset"])), _frozen(_ints(msgs["pad_offset"]))
    if pool is not None:
        lo, hi = pool.offset, pool.offset + int(pool.bits.size)
        for name, off in (("pad_offset", pad), ("hash_key_offset", hk)):
            bad = (off < lo) | (off + tag_bits > hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise where.field(f"'auth-message' seq {int(seq[i])}", name,
                                  f"[{int(off[i])}, {int(off[i]) + tag_bits}) is outside the "
                                  f"exported pool [{lo}, {hi})")
    return AuthMessages(
        tag_bits=tag_bits, seq=seq,
        sender=tuple(Party.BOB if b else Party.ALICE for b in msgs["sender"].tolist()),
        payload=tuple(bytes(p) for p in msgs["payload"]), tag=tuple(tags),
        hash_key_offset=hk, pad_offset=pad,
        injected=tuple(msgs["injected"]),
        accepted=_frozen(np.asarray(msgs["accepted"], dtype=bool).astype(np.uint8)))


def _pool(values: dict[str, Any], where: _Where) -> AuthKeyPool:
    return AuthKeyPool(offset=int(values["offset"]),
                       bits=_unpack(values, "bits", "'auth-pool' record", where))


def _header(values: dict[str, Any], where: _Where) -> None:
    if values.get("record") != RecordType.HEADER.value:
        raise where.field("transcript", "record", "of the first record is not 'header'")
    version = values.get("version")
    if isinstance(version, int) and not isinstance(version, bool) \
            and version != TRANSCRIPT_VERSION:
        raise where.field("'header' record", "version",
                          f"is {version}; this evaltool reads version {TRANSCRIPT_VERSION}")


# --- the view -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TranscriptFile:
    """A post-processing transcript slot (a
    :class:`~evaltool.io.readers.replay_view.PostProcessingTranscript`)."""

    slot: str
    display: str
    block_ids: Indices
    auth_pool: AuthKeyPool | None
    source: Source
    row_groups: tuple[tuple[int, ...], ...] = ()
    """Parquet: the row groups of each block, in block order."""

    def __len__(self) -> int:
        return int(self.block_ids.size)

    def blocks(self, steps: frozenset[Step] | None = None) -> Iterator[BlockTranscript]:
        """Each block, read, validated and assembled when reached (one block in memory); with
        ``steps``, only those steps and their keys (:meth:`~evaltool.io.readers.replay_view.
        PostProcessingTranscript.blocks`)."""
        wanted = _Wanted.of(steps)
        if self.source.format is EvidenceFormat.PARQUET:
            yield from _parquet_blocks(self, wanted)
        else:
            yield from _jsonl_blocks(self, wanted)


def _view_is_a_transcript(view: TranscriptFile) -> PostProcessingTranscript:
    """Never called: mypy checks here that the view satisfies the replay contract."""
    return view


@reader("post-processing-transcript", (EvidenceKind.POST_PROCESSING_TRANSCRIPT,),
        (EvidenceFormat.JSONL, EvidenceFormat.PARQUET))
def read_postprocessing(src: Source) -> TranscriptFile:
    """A post-processing transcript as a :class:`TranscriptFile` (blocks read one at a time)."""
    if src.format is EvidenceFormat.PARQUET:
        return _open_parquet(src)
    return _open_jsonl(src)


def validate_transcript(view: PostProcessingTranscript) -> int:
    """Read and check every block (bounded memory); the number of blocks."""
    return sum(1 for _ in view.blocks())


def check_against_blocks(transcript: PostProcessingTranscript, records: BlockRecords) -> int:
    """Check every block of ``transcript`` against the block records (and validate it): the
    block id is a block of the records, the outcome agrees with ``aborted``, the PA input and
    output lengths with ``pa_input_bits`` (when the records have it) and ``pa_output_bits`` (for
    blocks that delivered a key), and a delivered block's ``key_id`` (when the records have it)
    is among the transcript's key ids. Returns the number of blocks checked."""
    index = {int(b): i for i, b in enumerate(records.block_id.tolist())}
    pa_in = records.other.get("pa_input_bits")
    key_id = records.other.get("key_id")
    ref = f"the block records ({records.display})"
    count = 0
    for b in transcript.blocks():
        where = _Where(transcript.display, b.block_id)
        row = index.get(b.block_id)
        if row is None:
            raise where.field("block", "block_id", f"{b.block_id} is not a block of {ref}")
        aborted = bool(records.aborted[row])
        if b.delivered == aborted:
            raise where.field("'outcome' record", "delivered",
                              f"is {str(b.delivered).lower()} but {ref} say aborted = "
                              f"{int(aborted)}")
        if b.pa is not None:
            if pa_in is not None and b.pa.input_bits != pa_in[row]:
                raise where.field("'pa' record", "input_bits",
                                  f"is {b.pa.input_bits} but {ref} say pa_input_bits = "
                                  f"{int(pa_in[row])}")
            if not aborted and b.pa.output_bits != records.pa_output_bits[row]:
                raise where.field("'pa' record", "output_bits",
                                  f"is {b.pa.output_bits} but {ref} say pa_output_bits = "
                                  f"{int(records.pa_output_bits[row])}")
        if key_id is not None and not aborted:
            kid = str(key_id[row])
            if kid and kid not in b.key_ids:
                raise where.field("'outcome' record", "key_ids",
                                  f"does not list {kid[:80]!r}, the key id in {ref}")
        count += 1
    return count


# --- JSON lines -----------------------------------------------------------------------------


def _jsonl(src: Source) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-blank line."""
    from evaltool.io import json_strict
    from evaltool.io.tables import MAX_JSONL_LINE_BYTES

    try:
        with src.path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                where = _Where(src.display, line=lineno)
                if len(raw) > MAX_JSONL_LINE_BYTES:
                    raise where.error(f"line longer than {MAX_JSONL_LINE_BYTES} bytes")
                if not raw.strip():
                    continue
                try:
                    obj = json_strict.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise where.error("not valid UTF-8") from None
                except ValueError as exc:
                    first = (str(exc).splitlines() or ["invalid"])[0]
                    raise where.error(f"invalid JSON ({first})") from None
                if not isinstance(obj, dict):
                    raise where.error("each line must be a JSON object")
                yield lineno, obj
    except OSError as exc:
        raise EvidenceError(f"cannot read file ({exc.strerror})", path=src.display) from None


def _where_of(obj: Mapping[str, Any], display: str, line: int) -> _Where:
    """The line, and the block when the record names a valid one."""
    bid = obj.get("block_id")
    ok = isinstance(bid, int) and not isinstance(bid, bool) and bid >= 0
    return _Where(display, bid if ok else None, line)


def _kind_of(obj: Mapping[str, Any], where: _Where) -> RecordType:
    value = obj.get("record")
    if value is None:
        raise where.error("field 'record' is missing")
    try:
        return RecordType(value)
    except (ValueError, TypeError):
        raise where.error(f"field 'record': unknown record type {str(value)[:60]!r}") from None


def _block_id_of(obj: Mapping[str, Any], kind: RecordType, where: _Where) -> int:
    bid = obj.get("block_id")
    if bid is None:
        raise where.field(f"'{kind}' record", "block_id", "is missing")
    if not isinstance(bid, int) or isinstance(bid, bool) or bid < 0:
        raise where.field(f"'{kind}' record", "block_id", f"is not a block number ({bid!r:.40})")
    return bid


def _open_jsonl(src: Source) -> TranscriptFile:
    ids: list[int] = []
    pool: AuthKeyPool | None = None
    first = True
    for lineno, obj in _jsonl(src):
        where = _where_of(obj, src.display, lineno)
        if first:
            _header(obj, where)
            _validate(obj, where)
            first = False
            continue
        kind = _kind_of(obj, where)
        if kind in FILE_RECORDS:
            if ids or kind is RecordType.HEADER or pool is not None:
                raise where.field(f"'{kind}' record", "record",
                                  "is out of place (one header, then at most one auth-pool, "
                                  "before the first block)")
            values = _validate(obj, where)
            _decode(values, kind.value, where)
            pool = _pool(values, where)
            continue
        bid = _block_id_of(obj, kind, where)
        if not ids or bid != ids[-1]:
            if ids and bid < ids[-1]:
                raise _Where(src.display, bid, lineno).field(
                    f"'{kind}' record", "block_id", f"{bid} after block {ids[-1]}: block ids "
                                                    "must increase (one run of records per block)")
            ids.append(bid)
    if first:
        raise EvidenceError("empty transcript: no header record", path=src.display)
    _ids_increase(ids, src.display)
    return TranscriptFile(slot=src.slot, display=src.display,
                          block_ids=_frozen(np.asarray(ids, dtype=np.int64)), auth_pool=pool,
                          source=src)


def _ids_increase(ids: Sequence[int], display: str) -> None:
    for prev, cur in itertools.pairwise(ids):
        if cur <= prev:
            raise _Where(display, cur).field("block", "block_id",
                                             f"{cur} after block {prev}: block ids must increase "
                                             "(one run of records per block)")


def _jsonl_blocks(view: TranscriptFile, wanted: _Wanted = _ALL) -> Iterator[BlockTranscript]:
    parts: _Parts | None = None
    ec_cols = ("seq", "sender", "pass_index", "start", "end", "parity")
    auth_cols = ("seq", "sender", "payload", "tag", "tag_length", "hash_key_offset",
                 "pad_offset", "injected", "accepted")
    for lineno, obj in _jsonl(view.source):
        where = _where_of(obj, view.display, lineno)
        kind = _kind_of(obj, where)
        if kind in FILE_RECORDS:
            continue
        bid = _block_id_of(obj, kind, where)
        where = _Where(view.display, bid, lineno)
        if kind in MESSAGE_RECORDS and not wanted.message(kind):
            continue  # validated when the bundle was loaded (a pass over every step)
        values = _validate(obj, where)
        _decode(values, kind.value, where)
        if parts is None or bid != parts.block_id:
            if parts is not None:
                yield _assemble(parts, view.auth_pool, view.display, wanted)
            parts = _Parts(bid)
        if kind in MESSAGE_RECORDS:
            cols = parts.ec if kind is RecordType.EC_MESSAGE else parts.auth
            for c in ec_cols if kind is RecordType.EC_MESSAGE else auth_cols:
                enum = _ENUM_TYPES.get(c)
                cols.setdefault(c, [[]])[0].append(values[c] if enum is None
                                                   else enum(values[c]))
        else:
            parts.singles.append((kind, values, lineno))
    if parts is not None:
        yield _assemble(parts, view.auth_pool, view.display, wanted)


# --- Parquet --------------------------------------------------------------------------------


def _category(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return _category(t.value_type)
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{_category(t.value_type)}>"
    return str(t)


_DICTIONARY_COLUMNS = ("record", "sender", "injected")
"""String columns read as dictionaries (a handful of values over many rows)."""


class _CheckedParquet(pq.ParquetFile):
    """A Parquet file whose row-group reads turn a corrupt page (a bad checksum, an undecodable
    zstd frame) into the file's one-line error instead of an internal error."""

    display = ""

    def _fail(self, exc: BaseException) -> EvidenceError:
        first = (str(exc).strip().splitlines() or ["unreadable"])[0]
        return EvidenceError(f"unreadable Parquet data ({first})", path=self.display)

    def read_row_group(self, *args: Any, **kwargs: Any) -> pa.Table:
        try:
            return super().read_row_group(*args, **kwargs)
        except (pa.ArrowException, OSError) as exc:
            raise self._fail(exc) from None

    def read_row_groups(self, *args: Any, **kwargs: Any) -> pa.Table:
        try:
            return super().read_row_groups(*args, **kwargs)
        except (pa.ArrowException, OSError) as exc:
            raise self._fail(exc) from None


def _parquet_file(src: Source, *, dictionary: bool = False) -> pq.ParquetFile:
    from evaltool.io.tables import check_parquet_sizes

    try:
        pf = _CheckedParquet(src.path, read_dictionary=_DICTIONARY_COLUMNS if dictionary
                             else None)
    except (pa.ArrowException, OSError) as exc:
        first = (str(exc).strip().splitlines() or ["unreadable"])[0]
        raise EvidenceError(f"unreadable Parquet file ({first})", path=src.display) from None
    pf.display = src.display
    check_parquet_sizes(pf, src.display)
    return pf


def _check_schema(pf: pq.ParquetFile, display: str) -> None:
    names = pf.schema_arrow.names
    if "record" not in names or "block_id" not in names:
        raise EvidenceError("a Parquet transcript needs the columns 'record' and 'block_id'",
                            path=display)
    for f in pf.schema_arrow:
        want = COLUMNS.get(f.name)
        if want is None:
            raise EvidenceError(f"column {f.name[:60]!r} is not part of a post-processing "
                                "transcript", path=display)
        have, need = _category(f.type), _category(want)
        if have not in (need, "null") and not (need == "float" and have == "int"):
            raise EvidenceError(f"column {f.name!r} is {f.type}, {need} expected", path=display)


def _group_block(pf: pq.ParquetFile, i: int, display: str) -> int | None:
    """The block id of row group ``i`` (None for file records); a group mixing blocks is bad."""
    meta = pf.metadata.row_group(i)
    stats = meta.column(_leaf(pf, "block_id")).statistics
    if stats is not None and stats.has_min_max and stats.null_count == 0 \
            and stats.min == stats.max:
        return int(stats.min)
    ids = pf.read_row_group(i, columns=["block_id"]).column(0)
    nulls = ids.null_count
    if nulls == len(ids):
        return None
    if nulls:
        raise EvidenceError(f"row group {i} mixes file records (no block_id) and block records",
                            path=display)
    lo, hi = pc.min(ids).as_py(), pc.max(ids).as_py()
    if lo != hi:
        raise _Where(display, int(hi)).field("block", "block_id",
                                             f"shares row group {i} with block {lo} (one block "
                                             "per row group)")
    return int(lo)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with their null fields dropped."""
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def _checked_row(row: dict[str, Any], where: _Where) -> dict[str, Any]:
    """A Parquet row validated by the record model, bytes fields set aside during validation."""
    raw = {k: row[k] for k in BYTES_FIELDS if k in row}
    if any(not isinstance(v, bytes) for v in raw.values()):
        raise where.error("a bytes field holds text")
    shown = {k: ("" if k in raw else v) for k, v in row.items()}
    _validate(shown, where)
    return row


def _open_parquet(src: Source) -> TranscriptFile:
    pf = _parquet_file(src)
    _check_schema(pf, src.display)
    groups: list[tuple[int | None, int]] = [(_group_block(pf, i, src.display), i)
                                            for i in range(pf.num_row_groups)]
    head = [i for bid, i in groups if bid is None]
    if not groups or groups[0][0] is not None:
        raise EvidenceError("no header record (the first row group holds the file records)",
                            path=src.display)
    if head != list(range(len(head))):
        raise EvidenceError("file records (no block_id) after the first block", path=src.display)
    pool: AuthKeyPool | None = None
    rows = _rows(pf.read_row_groups(head))
    where = _Where(src.display)
    _header(rows[0] if rows else {}, where)
    for j, row in enumerate(rows):
        kind = _kind_of(row, where)
        if kind not in FILE_RECORDS:
            raise where.field(f"'{kind}' record", "block_id", "is missing")
        if (kind is RecordType.HEADER) != (j == 0) or (kind is RecordType.AUTH_POOL
                                                       and pool is not None):
            raise where.field(f"'{kind}' record", "record",
                              "is out of place (one header, then at most one auth-pool)")
        _checked_row(row, where)
        if kind is RecordType.AUTH_POOL:
            pool = _pool(row, where)
    per_block: list[tuple[int, list[int]]] = []
    for bid, i in groups[len(head):]:
        assert bid is not None
        if per_block and per_block[-1][0] == bid:
            per_block[-1][1].append(i)
        else:
            per_block.append((bid, [i]))
    _ids_increase([b for b, _ in per_block], src.display)
    return TranscriptFile(
        slot=src.slot, display=src.display,
        block_ids=_frozen(np.asarray([b for b, _ in per_block], dtype=np.int64)),
        auth_pool=pool, source=src, row_groups=tuple(tuple(g) for _, g in per_block))


def _leaf(pf: pq.ParquetFile, name: str) -> int:
    """Index of the Parquet leaf column of top-level column ``name``."""
    schema = pf.metadata.schema
    return next(j for j in range(len(schema)) if schema.column(j).path.split(".")[0] == name)


def _column_is_empty(pf: pq.ParquetFile, group: int, name: str) -> bool:
    """Whether column ``name`` of a row group holds no value, from the statistics when they say
    so (for a list column: no element, null or empty lists), else by reading it."""
    rg = pf.metadata.row_group(group)
    stats = rg.column(_leaf(pf, name)).statistics
    if stats is not None and stats.has_null_count and stats.null_count == rg.num_rows:
        return True
    col = pf.read_row_group(group, columns=[name]).column(0)
    return bool(col.null_count == len(col))


def _read_group(pf: pq.ParquetFile, group: int, where: _Where, reading: _Wanted = _ALL
                ) -> tuple[pa.Table, list[str]] | None:
    """Row group ``group`` with the columns of the record types it holds, and those types;
    a value in any other column is refused unread (from the statistics) where possible. None
    when the group holds only message records the pass does not read."""
    rec = pf.read_row_group(group, columns=["record"]).column(0)
    if rec.null_count:
        raise where.error("field 'record' is missing")
    labels = [str(v) for v in pc.unique(rec.combine_chunks()).to_pylist()]
    kinds = [_kind_of({"record": v}, where) for v in labels]
    if all(k in MESSAGE_RECORDS and not reading.message(k) for k in kinds):
        return None
    names = pf.schema_arrow.names
    # block_id is known for the whole group (_group_block); it is not read again.
    wanted = {"record"} | {f for k in kinds for f in record_fields(k)} - {"block_id"}
    for name in names:
        if name == "block_id":
            continue
        if name not in wanted and not _column_is_empty(pf, group, name):
            table = pf.read_row_group(group, columns=["record", name])
            first = int(pc.index(pc.is_valid(table.column(1)), True).as_py())
            kind = table.column(0)[first].as_py()
            raise where.field(f"'{kind}' records", name, "does not belong to this record type")
    return pf.read_row_group(group, columns=[c for c in names if c in wanted]), labels


def _message_columns(table: pa.Table, kind: RecordType, where: _Where) -> dict[str, Any]:
    """The fields of one kind of message record as column chunks, checked column-wise."""
    allowed = set(record_fields(kind))
    n = table.num_rows
    what = f"'{kind}' records"
    for name in table.column_names:
        if name != "record" and name not in allowed and table.column(name).null_count != n:
            raise where.field(what, name, "does not belong to this record type")
    out: dict[str, Any] = {}
    for name in required_fields(kind):
        if name == "block_id":
            continue
        if name not in table.column_names or table.column(name).null_count:
            raise where.field(what, name, "is missing")
        col = table.column(name).combine_chunks()
        cat = _category(col.type)
        if cat == "int":
            values = col.to_numpy().astype(np.int64, copy=False)
            if name == "parity":
                bad = (values != 0) & (values != 1)
                if bad.any():
                    raise where.field(what, name, f"must be 0 or 1 (found {values[bad][0]})")
            elif (values < 0).any():
                raise where.field(what, name, f"is negative ({values.min()})")
            out[name] = values
        elif cat == "string":
            enc = col if pa.types.is_dictionary(col.type) else col.dictionary_encode()
            enum = _ENUM_TYPES[name]
            members = []
            for label in enc.dictionary.to_pylist():
                try:
                    members.append(enum(label))
                except ValueError:
                    allowed_values = ", ".join(m.value for m in enum)
                    raise where.field(what, name, f"is not one of {allowed_values} (found "
                                                  f"{str(label)[:40]!r})") from None
            codes = enc.indices.to_numpy()
            if name == "sender":  # as from-Bob flags (no object per message)
                out[name] = np.asarray([m is Party.BOB for m in members], dtype=bool)[codes]
            else:
                lookup = np.empty(len(members), dtype=object)
                lookup[:] = members
                out[name] = lookup[codes]
        elif cat == "bool":
            out[name] = col.to_numpy(zero_copy_only=False).astype(bool)
        else:
            out[name] = col.to_pylist()
    return out


def _rows_of(table: pa.Table, rows: NDArray[np.intp]) -> pa.Table:
    """The given rows of ``table``: a zero-copy slice when they are contiguous."""
    if rows.size and int(rows[-1]) - int(rows[0]) + 1 == rows.size:
        return table.slice(int(rows[0]), int(rows.size))
    return table.take(pa.array(rows))


def _parquet_blocks(view: TranscriptFile, wanted: _Wanted = _ALL) -> Iterator[BlockTranscript]:
    pf = _parquet_file(view.source, dictionary=True)
    for bid, groups in zip(view.block_ids.tolist(), view.row_groups, strict=True):
        where = _Where(view.display, bid)
        parts = _Parts(bid)
        for group in groups:
            try:
                read = _read_group(pf, group, where, wanted)
            except (pa.ArrowException, OSError) as exc:
                first = (str(exc).strip().splitlines() or ["unreadable"])[0]
                raise where.error(f"unreadable row group {group} ({first})") from None
            if read is None:
                continue
            table, _ = read
            rec = table.column("record").combine_chunks()
            enc = rec if pa.types.is_dictionary(rec.type) else rec.dictionary_encode()
            codes = enc.indices.to_numpy()
            labels = enc.dictionary.to_pylist()
            for j, label in enumerate(labels):
                whole = len(labels) == 1  # a group of one record type: no selection
                rows = np.arange(0) if whole else np.flatnonzero(codes == j)
                if not whole and not rows.size:
                    continue
                kind = _kind_of({"record": label}, where)
                sub = table if whole else _rows_of(table, rows)
                if kind in FILE_RECORDS:
                    raise where.field(f"'{kind}' record", "record", "is a file record inside a "
                                                                     "block (file records come "
                                                                     "first)")
                if kind in MESSAGE_RECORDS:
                    if not wanted.message(kind):
                        continue
                    cols = parts.ec if kind is RecordType.EC_MESSAGE else parts.auth
                    for name, chunk in _message_columns(sub, kind, where).items():
                        cols.setdefault(name, []).append(chunk)
                else:
                    for row in _rows(sub):
                        row["block_id"] = bid
                        parts.singles.append((kind, _checked_row(row, where), None))
        yield _assemble(parts, view.auth_pool, view.display, wanted)
