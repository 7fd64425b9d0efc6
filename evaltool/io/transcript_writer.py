"""Post-processing transcripts on disk: the column types, packed bits, and the writer.

The layout (``docs/transcript-format.md``): one record per JSON line or per Parquet row, the
fields of :mod:`evaltool.model.transcript`; a bit string ``x`` is stored packed (``np.packbits``,
most significant bit first, zero padding) in ``x`` with its length in bits in ``x_length``. In
Parquet the file records (``header``, ``auth-pool``) form the first row group and every block
is one row group of its own (several consecutive ones when it has more than
:data:`ROW_GROUP_ROWS` records), so one block is read without the rest of the file.

:func:`write_transcript` writes either format byte for byte the same for the same input (fixed
writer options, no timestamps); the reader is :mod:`evaltool.io.readers.postprocessing`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from evaltool.io.readers.postprocessing import COLUMNS, SCHEMA, packed_size
from evaltool.io.readers.replay_view import AuthKeyPool, BlockTranscript, Party
from evaltool.model.bundle import EvidenceFormat
from evaltool.model.transcript import TRANSCRIPT_VERSION, RecordType

ROW_GROUP_ROWS = 1 << 20
"""Largest Parquet row group the writer makes; a block with more records spans several."""
SMALL_BLOCK_MESSAGES = 1 << 12
"""Up to this many EC messages a block is one row group; beyond, its EC messages have row groups
of their own (so reading them never reads the columns of the other records)."""

_PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6", "compression": "zstd", "compression_level": 3, "use_dictionary": True,
    "write_statistics": True, "data_page_version": "1.0", "store_schema": True,
}
"""Fixed writer options: the same input gives the same bytes."""


def pack(bits: NDArray[np.uint8], what: str) -> bytes:
    """``bits`` (0/1 values) packed most significant bit first, the last byte zero-padded."""
    a = np.asarray(bits)
    if a.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D bit array, got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{what}: bits must be 0 or 1")
    return np.packbits(a.astype(np.uint8, copy=False)).tobytes()


# --- records of one block -------------------------------------------------------------------

Group = tuple[RecordType, int, dict[str, Any]]
"""Records of one type: the type, how many, and their fields as columns."""


def _bits_fields(name: str, bits: NDArray[np.uint8], what: str) -> dict[str, list[Any]]:
    return {name: [pack(bits, what)], f"{name}_length": [int(np.asarray(bits).size)]}


def _one(kind: RecordType, block_id: int | None, **fields: Any) -> Group:
    cols: dict[str, Any] = {} if block_id is None else {"block_id": [block_id]}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, dict):
            cols.update(value)
        else:
            cols[name] = [value]
    return kind, 1, cols


def file_groups(auth_pool: AuthKeyPool | None) -> list[Group]:
    """The header and the exported authentication key pool."""
    groups = [_one(RecordType.HEADER, None, version=TRANSCRIPT_VERSION)]
    if auth_pool is not None:
        groups.append(_one(RecordType.AUTH_POOL, None, offset=int(auth_pool.offset),
                           bits=_bits_fields("bits", auth_pool.bits, "auth pool")))
    return groups


def block_groups(b: BlockTranscript) -> list[Group]:
    """The records of one block, in the order the writer puts them."""
    bid = int(b.block_id)
    out: list[Group] = []
    for stage in ("sifted", "reconciled", "corrected"):
        for party in ("alice", "bob"):
            bits = getattr(b, f"{stage}_{party}")
            if bits is not None:
                out.append(_one(RecordType.KEY, bid, stage=stage, party=party,
                                bits=_bits_fields("bits", bits, f"{stage} key of {party}")))
    if (s := b.sifting) is not None:
        out.append(_one(
            RecordType.SIFTING_SAMPLE, bid, rounds=np.asarray(s.rounds, dtype=np.int64),
            **{f: _bits_fields(f, getattr(s, f), f"sifting {f}") for f in (
                "alice_basis", "alice_bit", "bob_detected", "bob_basis", "bob_bit", "kept")},
            sifted_position=np.asarray(s.sifted_position, dtype=np.int64)))
    if (e := b.estimation) is not None:
        out.append(_one(
            RecordType.ESTIMATION, bid, positions=np.asarray(e.positions, dtype=np.int64),
            alice_values=_bits_fields("alice_values", e.alice_values, "estimation values"),
            bob_values=_bits_fields("bob_values", e.bob_values, "estimation values"),
            qber_alice=float(e.qber_alice), qber_bob=float(e.qber_bob)))
    if (ec := b.ec) is not None:
        perms = None if ec.permutations is None else list(np.asarray(ec.permutations,
                                                                     dtype=np.int64))
        out.append(_one(RecordType.EC_SETUP, bid, protocol=ec.protocol.value,
                        variant=ec.variant, frame_seed=int(ec.frame_seed),
                        qber_used=float(ec.qber_used), permutations=perms))
        n = len(ec.seq)
        parity = np.asarray(ec.parity)
        if n and (parity.min() < 0 or parity.max() > 1):
            raise ValueError(f"block {bid}: EC parities must be 0 or 1")
        out.append((RecordType.EC_MESSAGE, n, {
            "block_id": np.full(n, bid, dtype=np.int64),
            "seq": np.asarray(ec.seq, dtype=np.int64),
            "sender": np.where(np.asarray(ec.from_bob, dtype=bool), Party.BOB.value,
                               Party.ALICE.value),
            "pass_index": np.asarray(ec.pass_index, dtype=np.int64),
            "start": np.asarray(ec.start, dtype=np.int64),
            "end": np.asarray(ec.end, dtype=np.int64),
            "parity": parity.astype(np.int8),
        }))
    if (v := b.verification) is not None:
        out.append(_one(RecordType.VERIFICATION, bid, family=v.family,
                        seed=_bits_fields("seed", v.seed, "verification seed"),
                        tag_alice=_bits_fields("tag_alice", v.tag_alice, "verification tag"),
                        tag_bob=_bits_fields("tag_bob", v.tag_bob, "verification tag"),
                        accepted=bool(v.accepted)))
    if (p := b.pa) is not None:
        out.append(_one(
            RecordType.PA, bid, family=p.family, seed=_bits_fields("seed", p.seed, "PA seed"),
            input_bits=int(p.input_bits), output_bits=int(p.output_bits),
            output=None if p.output is None else _bits_fields("output", p.output, "PA output"),
            output_sha256=p.output_sha256))
    if (a := b.auth) is not None:
        n = len(a.seq)
        tags = [_int_bits(t, a.tag_bits) for t in a.tag]
        out.append((RecordType.AUTH_MESSAGE, n, {
            "block_id": np.full(n, bid, dtype=np.int64),
            "seq": np.asarray(a.seq, dtype=np.int64),
            "sender": a.sender,
            "payload": [bytes(x) for x in a.payload],
            "tag": tags,
            "tag_length": np.full(n, a.tag_bits, dtype=np.int64),
            "hash_key_offset": np.asarray(a.hash_key_offset, dtype=np.int64),
            "pad_offset": np.asarray(a.pad_offset, dtype=np.int64),
            "injected": a.injected,
            "accepted": np.asarray(a.accepted) != 0,
        }))
    out.append(_one(RecordType.OUTCOME, bid, delivered=bool(b.delivered),
                    key_ids=list(b.key_ids)))
    return out


def _int_bits(value: int, n_bits: int) -> bytes:
    """An unsigned integer as ``n_bits`` bits packed MSB first (its binary expansion)."""
    if value < 0 or value >> n_bits:
        raise ValueError(f"tag {value} does not fit in {n_bits} bits")
    pad = -n_bits % 8
    return (value << pad).to_bytes(packed_size(n_bits), "big")


# --- writer ---------------------------------------------------------------------------------


def write_transcript(path: Path, blocks: Iterable[BlockTranscript],
                     auth_pool: AuthKeyPool | None = None,
                     fmt: EvidenceFormat | str = EvidenceFormat.PARQUET) -> int:
    """Write a transcript of ``blocks`` (in increasing block order) to ``path`` as Parquet or
    JSON lines; the same input gives the same bytes. Returns the number of blocks written.

    Raises ``ValueError`` on input that is not a transcript (bits other than 0/1, a tag wider
    than its length, blocks out of order) or, in JSON lines, a record longer than a JSON-lines
    evidence line may be (use Parquet for large blocks).
    """
    fmt = EvidenceFormat(fmt)
    if fmt is EvidenceFormat.PARQUET:
        return _write_parquet(path, blocks, auth_pool)
    if fmt is EvidenceFormat.JSONL:
        return _write_jsonl(path, blocks, auth_pool)
    raise ValueError(f"a transcript is written as parquet or jsonl, not {fmt.value}")


def _ordered(blocks: Iterable[BlockTranscript]) -> Iterator[BlockTranscript]:
    last: int | None = None
    for b in blocks:
        if last is not None and b.block_id <= last:
            raise ValueError(f"block {b.block_id} after block {last}: block ids must increase")
        last = int(b.block_id)
        yield b


class _Nulls:
    """All-null columns, one buffer per type shared by every column and row group of a file
    (a block of millions of EC messages would otherwise allocate every other column)."""

    def __init__(self) -> None:
        self._cache: dict[str, pa.Array] = {}

    def __call__(self, typ: pa.DataType, n: int) -> pa.Array:
        key = str(typ)
        have = self._cache.get(key)
        if have is None or len(have) < n:
            have = self._cache[key] = pa.nulls(max(n, ROW_GROUP_ROWS), type=typ)
        return have.slice(0, n)


_LABELS = {"sender": ("alice", "bob"), "injected": ("none", "replayed", "modified")}


def _array(name: str, values: Any, typ: pa.DataType) -> pa.Array:
    labels = _LABELS.get(name)
    if labels is not None:  # through a dictionary: millions of senders, two names
        index = {v: i for i, v in enumerate(labels)}
        codes = np.fromiter((index[v] for v in values), dtype=np.int8, count=len(values))
        return pa.DictionaryArray.from_arrays(codes, pa.array(labels)).cast(typ)
    return pa.array(values, type=typ)


def _table(groups: list[Group], nulls: _Nulls) -> pa.Table:
    parts = []
    for kind, n, cols in groups:
        arrays = []
        for name, typ in COLUMNS.items():
            if name == "record":
                arrays.append(pa.DictionaryArray.from_arrays(
                    np.zeros(n, dtype=np.int8), pa.array([kind.value])).cast(typ))
            elif name in cols:
                arrays.append(_array(name, cols[name], typ))
            else:
                arrays.append(nulls(typ, n))
        parts.append(pa.Table.from_arrays(arrays, schema=SCHEMA))
    return pa.concat_tables(parts)


def _chunks(group: Group) -> Iterator[Group]:
    kind, n, cols = group
    for lo in range(0, n, ROW_GROUP_ROWS):
        hi = min(n, lo + ROW_GROUP_ROWS)
        yield kind, hi - lo, {c: v[lo:hi] for c, v in cols.items()}


def _write_parquet(path: Path, blocks: Iterable[BlockTranscript],
                   auth_pool: AuthKeyPool | None) -> int:
    count = 0
    nulls = _Nulls()
    with pq.ParquetWriter(path, SCHEMA, **_PARQUET_OPTIONS) as writer:
        writer.write_table(_table(file_groups(auth_pool), nulls), row_group_size=ROW_GROUP_ROWS)
        for b in _ordered(blocks):
            groups = block_groups(b)
            messages = sum(n for kind, n, _ in groups if kind is RecordType.EC_MESSAGE)
            if messages <= SMALL_BLOCK_MESSAGES:
                writer.write_table(_table(groups, nulls), row_group_size=ROW_GROUP_ROWS)
            else:
                rest = [g for g in groups if g[0] is not RecordType.EC_MESSAGE]
                writer.write_table(_table(rest, nulls), row_group_size=ROW_GROUP_ROWS)
                for g in groups:
                    if g[0] is RecordType.EC_MESSAGE:
                        for chunk in _chunks(g):
                            writer.write_table(_table([chunk], nulls),
                                               row_group_size=ROW_GROUP_ROWS)
            count += 1
    return count


def _json_value(name: str, value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [_json_value(name, v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def jsonl_lines(groups: list[Group]) -> Iterator[str]:
    """The JSON lines of some records (fields in column order, no spaces)."""
    order = list(COLUMNS)
    for kind, n, cols in groups:
        names = [c for c in order if c in cols]
        for i in range(n):
            rec: dict[str, Any] = {"record": kind.value}
            for c in names:
                rec[c] = _json_value(c, cols[c][i])
            yield json.dumps(rec, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _write_jsonl(path: Path, blocks: Iterable[BlockTranscript],
                 auth_pool: AuthKeyPool | None) -> int:
    from evaltool.io.tables import MAX_JSONL_LINE_BYTES

    count = 0
    with path.open("w", encoding="ascii", newline="\n") as f:
        def put(groups: list[Group]) -> None:
            for line in jsonl_lines(groups):
                if len(line) + 1 > MAX_JSONL_LINE_BYTES:
                    raise ValueError(f"a {line[:40]}... record needs {len(line)} bytes, more "
                                     f"than a JSON line may hold ({MAX_JSONL_LINE_BYTES}); "
                                     "write the transcript as Parquet")
                f.write(line + "\n")

        put(file_groups(auth_pool))
        for b in _ordered(blocks):
            put(block_groups(b))
            count += 1
    return count
