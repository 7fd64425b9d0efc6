"""Post-processing transcripts (``docs/transcript-format.md``): the writer and the reader round
trip both formats bit for bit, the writer is deterministic, a block is read alone, and every
kind of bad input is refused with one line naming the file, the block and the field."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaltool.errors import EvidenceError
from evaltool.io import readers
from evaltool.io import transcript_writer as tw
from evaltool.io.readers import postprocessing as pp
from evaltool.io.readers.replay_view import BlockTranscript, PostProcessingTranscript
from evaltool.model.bundle import EvidenceFormat, EvidenceKind
from evaltool.model.transcript import RECORD_MODELS, TranscriptRecord, record_fields
from tests.io.transcript_support import blocks_equal, make_block, make_pool, write_blocks_csv

FORMATS = ["parquet", "jsonl"]


def open_view(path: Path) -> pp.TranscriptFile:
    fmt = EvidenceFormat(path.suffix[1:])
    src = readers.Source(slot="t", kind=EvidenceKind.POST_PROCESSING_TRANSCRIPT, format=fmt,
                         path=path, display=f"b/{path.name}",
                         sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    view = readers.read(src)
    assert isinstance(view, pp.TranscriptFile)
    return view


def sample_blocks() -> list[BlockTranscript]:
    return [make_block(0, 1200), make_block(2, 800, delivered=False),
            make_block(5, 1500, permutations=True)]


# --- round trip and layout ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_then_read_gives_the_same_blocks(tmp_path: Path, fmt: str) -> None:
    blocks = sample_blocks()
    pool = make_pool(6)
    path = tmp_path / f"t.{fmt}"
    assert tw.write_transcript(path, blocks, pool, fmt) == 3
    view = open_view(path)
    assert view.block_ids.tolist() == [0, 2, 5]
    assert view.auth_pool is not None and view.auth_pool.offset == 64
    assert np.array_equal(view.auth_pool.bits, pool.bits)
    got = list(view.blocks())
    assert [blocks_equal(a, b) for a, b in zip(blocks, got, strict=True)] == [[], [], []]
    assert got[1].delivered is False and got[1].key_ids == ()
    assert got[0].auth is not None and got[0].auth.tag == blocks[0].auth.tag  # type: ignore[union-attr]
    assert got[2].ec is not None and got[2].ec.permutations is not None
    assert got[0].sifted_alice is not None and got[0].sifted_alice.dtype == np.uint8
    with pytest.raises(ValueError, match="read-only"):
        got[0].sifted_alice[0] = 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_64_bit_frame_seed_round_trips(tmp_path: Path, fmt: str) -> None:
    import dataclasses

    block = make_block(1, 300)
    assert block.ec is not None
    block = dataclasses.replace(block, ec=dataclasses.replace(block.ec, frame_seed=2**64 - 1))
    path = tmp_path / f"t.{fmt}"
    tw.write_transcript(path, [block], None, fmt)
    (got,) = list(open_view(path).blocks())
    assert got.ec is not None and got.ec.frame_seed == 2**64 - 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_sender_of_each_ec_message_round_trips(tmp_path: Path, fmt: str) -> None:
    # Held as one from-Bob flag per message (no Python object per message); "bob" on disk.
    import dataclasses

    block = make_block(1, 300)
    assert block.ec is not None
    flags = np.zeros(len(block.ec.seq), dtype=bool)
    flags[1::3] = True
    block = dataclasses.replace(block, ec=dataclasses.replace(block.ec, from_bob=flags))
    path = tmp_path / f"t.{fmt}"
    tw.write_transcript(path, [block], None, fmt)
    (got,) = list(open_view(path).blocks())
    assert got.ec is not None and got.ec.from_bob.dtype == np.bool_
    assert np.array_equal(got.ec.from_bob, flags)
    if fmt == "jsonl":
        senders = [json.loads(line)["sender"] for line in path.read_text().splitlines()
                   if '"ec-message"' in line]
        assert senders[:4] == ["alice", "bob", "alice", "alice"]


@pytest.mark.parametrize("own_groups", [True, False], ids=["messages-apart", "one-group"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_pass_for_some_steps_reads_only_those_steps_and_their_keys(
        tmp_path: Path, fmt: str, own_groups: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from evaltool.io.readers.replay_view import Step

    block = make_block(3, 60_000)
    assert block.ec is not None
    if own_groups:  # the layout of a large block: its Cascade messages in row groups apart
        monkeypatch.setattr(tw, "SMALL_BLOCK_MESSAGES", len(block.ec.seq) - 1)
    path = tmp_path / f"t.{fmt}"
    tw.write_transcript(path, [block], None, fmt)
    view = open_view(path)
    # Message rows converted (Parquet) or validated (JSON lines) during the passes below.
    messages: list[str] = []
    real_columns, real_validate = pp._message_columns, pp._validate
    monkeypatch.setattr(pp, "_message_columns", lambda t, kind, where: (
        messages.append(str(kind)), real_columns(t, kind, where))[1])
    monkeypatch.setattr(pp, "_validate", lambda obj, where: (
        messages.append(str(obj.get("record"))), real_validate(obj, where))[1])
    (pa_only,) = list(view.blocks(frozenset({Step.PA})))
    assert pa_only.pa is not None and pa_only.corrected_alice is not None
    assert np.array_equal(pa_only.corrected_alice, block.corrected_alice)
    assert (pa_only.ec, pa_only.auth, pa_only.sifting, pa_only.estimation,
            pa_only.verification) == (None,) * 5
    assert (pa_only.sifted_alice, pa_only.sifted_bob, pa_only.reconciled_alice) == (None,) * 3
    assert pa_only.delivered == block.delivered and pa_only.key_ids == block.key_ids
    assert "ec-message" not in messages and "auth-message" not in messages
    (ec_only,) = list(view.blocks(frozenset({Step.EC})))
    assert "ec-message" in messages and "auth-message" not in messages
    assert ec_only.ec is not None and blocks_equal(ec_only.ec, block.ec) == []
    assert ec_only.auth is None and ec_only.sifted_alice is None
    (everything,) = list(view.blocks())
    assert blocks_equal(everything, block) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_million_bit_block_round_trips(tmp_path: Path, fmt: str) -> None:
    block = make_block(7, 1_000_000)
    path = tmp_path / f"big.{fmt}"
    tw.write_transcript(path, [block], None, fmt)
    (got,) = list(open_view(path).blocks())
    assert blocks_equal(block, got) == []
    assert got.sifted_bob is not None and got.sifted_bob.size == 1_000_000
    assert got.pa is not None and got.pa.seed.size == got.pa.input_bits + got.pa.output_bits - 1
    # Packed on disk: well under one byte per bit of the six keys and the seed.
    bits_total = sum(k.size for k in (got.sifted_alice, got.sifted_bob, got.reconciled_alice,
                                      got.reconciled_bob, got.corrected_alice,
                                      got.corrected_bob) if k is not None)
    packed = (bits_total + got.pa.seed.size) / 8
    assert got.estimation is not None
    # JSON lines: base64 (4/3) and the revealed positions as decimal text.
    text = 8 * got.estimation.positions.size
    limit = packed * 1.05 if fmt == "parquet" else packed * 4 / 3 * 1.01 + text
    assert path.stat().st_size < limit, (path.stat().st_size, limit)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_writer_is_deterministic(tmp_path: Path, fmt: str) -> None:
    a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    tw.write_transcript(a, sample_blocks(), make_pool(6), fmt)
    tw.write_transcript(b, sample_blocks(), make_pool(6), fmt)
    assert a.read_bytes() == b.read_bytes()
    other = tmp_path / f"c.{fmt}"
    tw.write_transcript(other, sample_blocks()[:2], make_pool(6), fmt)
    assert other.read_bytes() != a.read_bytes()


def test_parquet_row_groups_hold_whole_blocks_and_blocks_are_read_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.parquet"
    tw.write_transcript(path, sample_blocks(), make_pool(6), "parquet")
    pf = pq.ParquetFile(path)
    assert pf.num_row_groups == 4  # the file records, then one per block
    assert pf.schema_arrow.field("bits").type == pa.large_binary()  # packed, not text
    for i, bid in enumerate([0, 2, 5], start=1):
        ids = pf.read_row_group(i, columns=["block_id"]).column(0).to_pylist()
        assert set(ids) == {bid}
    calls: list[int] = []
    original = pq.ParquetFile.read_row_group

    def spy(self: pq.ParquetFile, i: int, *args: Any, **kw: Any) -> pa.Table:
        calls.append(i)
        return original(self, i, *args, **kw)

    view = open_view(path)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    it = view.blocks()
    first = next(it)
    assert first.block_id == 0 and set(calls) == {1}
    rest = list(it)
    assert [b.block_id for b in rest] == [2, 5] and set(calls) == {1, 2, 3}


def test_a_block_larger_than_a_row_group_spans_consecutive_groups(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tw, "ROW_GROUP_ROWS", 8)
    monkeypatch.setattr(tw, "SMALL_BLOCK_MESSAGES", 4)
    blocks = sample_blocks()
    path = tmp_path / "t.parquet"
    tw.write_transcript(path, blocks, None, "parquet")
    assert pq.ParquetFile(path).num_row_groups > 8
    view = open_view(path)
    assert all(len(g) > 1 for g in view.row_groups)
    got = list(view.blocks())
    assert [blocks_equal(a, b) for a, b in zip(blocks, got, strict=True)] == [[], [], []]


def test_the_view_is_the_replay_contract(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tw.write_transcript(path, sample_blocks()[:1], None, "jsonl")
    view: PostProcessingTranscript = open_view(path)
    assert view.slot == "t" and view.display == "b/t.jsonl" and view.auth_pool is None
    assert pp.validate_transcript(view) == 1


def test_every_jsonl_line_is_a_valid_record_of_the_published_schema(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tw.write_transcript(path, sample_blocks(), make_pool(6), "jsonl")
    kinds = set()
    for line in path.read_text().splitlines():
        rec = TranscriptRecord.model_validate_json(line)
        kinds.add(rec.root.record)
    assert kinds == {m.model_fields["record"].annotation.__args__[0]  # type: ignore[union-attr]
                     for m in RECORD_MODELS.values()}


def test_the_parquet_columns_cover_every_record_field() -> None:
    fields = {f for kind in RECORD_MODELS for f in record_fields(kind)} | {"record"}
    assert fields == set(pp.COLUMNS)


def test_the_writer_refuses_input_that_is_not_a_transcript(tmp_path: Path) -> None:
    blocks = sample_blocks()
    with pytest.raises(ValueError, match="block ids must increase"):
        tw.write_transcript(tmp_path / "t.parquet", [blocks[1], blocks[0]], None, "parquet")
    bad = make_block(0, 100)
    object.__setattr__(bad, "sifted_alice", np.full(100, 2, dtype=np.uint8))
    with pytest.raises(ValueError, match="bits must be 0 or 1"):
        tw.write_transcript(tmp_path / "u.jsonl", [bad], None, "jsonl")
    with pytest.raises(ValueError, match="write the transcript as Parquet"):
        tw.write_transcript(tmp_path / "v.jsonl", [make_block(0, 9_000_000)], None, "jsonl")


# --- bad input ------------------------------------------------------------------------------

Records = list[dict[str, Any]]


def _b64(bits: np.ndarray) -> str:
    return base64.b64encode(np.packbits(bits.astype(np.uint8)).tobytes()).decode()


def _first(recs: Records, record: str, **match: Any) -> dict[str, Any]:
    return next(r for r in recs if r["record"] == record
                and all(r.get(k) == v for k, v in match.items()))


def _set_bits(rec: dict[str, Any], name: str, bits: np.ndarray) -> None:
    rec[name], rec[f"{name}_length"] = _b64(bits), int(bits.size)


def _length_mismatch(recs: Records) -> None:
    _first(recs, "key", block_id=2, stage="corrected", party="alice")["bits_length"] += 9


def _ends_differ(recs: Records) -> None:
    _set_bits(_first(recs, "key", block_id=2, stage="sifted", party="bob"), "bits",
              np.zeros(790, dtype=np.uint8))


def _end_beyond_key(recs: Records) -> None:
    n = _first(recs, "key", block_id=2, stage="reconciled", party="bob")["bits_length"]
    _first(recs, "ec-message", block_id=2, seq=3)["end"] = n + 1


def _empty_range(recs: Records) -> None:
    msg = _first(recs, "ec-message", block_id=2, seq=1)
    msg["start"] = msg["end"]


def _negative_pass(recs: Records) -> None:
    _first(recs, "ec-message", block_id=2, seq=0)["pass_index"] = -1


def _short_seed(recs: Records) -> None:
    pa_rec = _first(recs, "pa", block_id=2)
    n = pa_rec["input_bits"] + pa_rec["output_bits"] - 2
    _set_bits(pa_rec, "seed", np.ones(n, dtype=np.uint8))


def _parity_two(recs: Records) -> None:
    _first(recs, "ec-message", block_id=2, seq=2)["parity"] = 2


def _bad_base64(recs: Records) -> None:
    _first(recs, "key", block_id=2, stage="sifted", party="alice")["bits"] = "QUJD*"


def _bad_base64_padding(recs: Records) -> None:
    _first(recs, "verification", block_id=2)["seed"] = "QUJDR"


def _padding_bits(recs: Records) -> None:
    rec = _first(recs, "verification", block_id=2)
    raw = bytearray(base64.b64decode(rec["seed"]))
    raw[-1] |= 1  # 127 bits: the last bit of the last byte is padding
    rec["seed"] = base64.b64encode(bytes(raw)).decode()


def _duplicate_seq(recs: Records) -> None:
    _first(recs, "ec-message", block_id=2, seq=5)["seq"] = 4


def _duplicate_auth_seq(recs: Records) -> None:
    _first(recs, "auth-message", block_id=2, seq=2)["seq"] = 1


def _ids_not_increasing(recs: Records) -> None:
    blk0 = [r for r in recs if r.get("block_id") == 0]
    rest = [r for r in recs if r.get("block_id") != 0]
    recs[:] = rest + blk0


def _unknown_record(recs: Records) -> None:
    _first(recs, "estimation", block_id=2)["record"] = "estimate"


def _missing_field(recs: Records) -> None:
    del _first(recs, "pa", block_id=2)["family"]


def _estimation_outside(recs: Records) -> None:
    rec = _first(recs, "estimation", block_id=2)
    n = _first(recs, "key", block_id=2, stage="sifted", party="alice")["bits_length"]
    rec["positions"][-1] = n + 3


def _pad_outside_pool(recs: Records) -> None:
    _first(recs, "auth-message", block_id=2, seq=1)["pad_offset"] = 10**6


def _two_outcomes(recs: Records) -> None:
    out = _first(recs, "outcome", block_id=2)
    recs.insert(recs.index(out), dict(out))


def _aborted_with_keys(recs: Records) -> None:
    rec = _first(recs, "outcome", block_id=2)
    rec["delivered"], rec["key_ids"] = False, ["k"]


def _version_two(recs: Records) -> None:
    recs[0]["version"] = 2


def _sifted_position_of_dropped_round(recs: Records) -> None:
    rec = _first(recs, "sifting-sample", block_id=2)
    rec["sifted_position"][1] = 4


def _tags_differ(recs: Records) -> None:
    _set_bits(_first(recs, "verification", block_id=2), "tag_bob", np.ones(63, dtype=np.uint8))


JSONL_CASES: dict[str, tuple[Callable[[Records], None], str, str]] = {
    # case: (mutation, block named, field named)
    "packed length disagrees with its bit length": (_length_mismatch, "block 2", "'bits'"),
    "keys of different lengths at the two ends": (_ends_differ, "block 2", "'bits_length'"),
    "Cascade range beyond the key": (_end_beyond_key, "block 2", "'end'"),
    "Cascade range empty": (_empty_range, "block 2", "'start'"),
    "Cascade pass index negative": (_negative_pass, "block 2", "'pass_index'"),
    "PA seed shorter than n + ell - 1": (_short_seed, "block 2", "'seed_length'"),
    "parity other than 0/1": (_parity_two, "block 2", "'parity'"),
    "packed bits not base64": (_bad_base64, "block 2", "'bits'"),
    "base64 with a bad length": (_bad_base64_padding, "block 2", "'seed'"),
    "padding bits set": (_padding_bits, "block 2", "'seed'"),
    "duplicate EC sequence numbers": (_duplicate_seq, "block 2", "'seq'"),
    "duplicate auth sequence numbers": (_duplicate_auth_seq, "block 2", "'seq'"),
    "block ids not increasing": (_ids_not_increasing, "block 0", "'block_id'"),
    "unknown record type": (_unknown_record, "block 2", "'record'"),
    "record missing a required field": (_missing_field, "block 2", "'family'"),
    "estimation position outside the sifted key": (_estimation_outside, "block 2",
                                                   "'positions'"),
    "auth pad outside the exported pool": (_pad_outside_pool, "block 2", "'pad_offset'"),
    "two outcomes": (_two_outcomes, "block 2", "'record'"),
    "aborted block with key ids": (_aborted_with_keys, "block 2", "'key_ids'"),
    "dropped round given a sifted position": (_sifted_position_of_dropped_round, "block 2",
                                              "'sifted_position'"),
    "verification tags of different lengths": (_tags_differ, "block 2", "'tag_bob_length'"),
}


def _mutated_jsonl(tmp_path: Path, mutate: Callable[[Records], None]) -> Path:
    path = tmp_path / "t.jsonl"
    tw.write_transcript(path, sample_blocks(), make_pool(6), "jsonl")
    recs = [json.loads(line) for line in path.read_text().splitlines()]
    mutate(recs)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def _refusal(path: Path) -> str:
    readers.clear_cache()
    before = path.read_bytes()
    with pytest.raises(EvidenceError) as caught:
        pp.validate_transcript(open_view(path))
    assert path.read_bytes() == before
    text = str(caught.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("case", sorted(JSONL_CASES))
def test_bad_jsonl_transcript_names_file_block_and_field(tmp_path: Path, case: str) -> None:
    mutate, block, field = JSONL_CASES[case]
    text = _refusal(_mutated_jsonl(tmp_path, mutate))
    assert text.startswith("b/t.jsonl:"), text
    assert block in text and field in text, text


def test_an_unsupported_version_is_named(tmp_path: Path) -> None:
    text = _refusal(_mutated_jsonl(tmp_path, _version_two))
    assert "'version' is 2; this evaltool reads version 1" in text


def _rewrite_parquet(path: Path, mutate: Callable[[list[Records]], None]) -> None:
    pf = pq.ParquetFile(path)
    groups = [pf.read_row_group(i).to_pylist() for i in range(pf.num_row_groups)]
    mutate(groups)
    with pq.ParquetWriter(path, pp.SCHEMA) as w:
        for rows in groups:
            w.write_table(pa.Table.from_pylist(rows, schema=pp.SCHEMA))


def _pq_parity(groups: list[Records]) -> None:
    next(r for r in groups[2] if r["record"] == "ec-message")["parity"] = 3


def _pq_packed_length(groups: list[Records]) -> None:
    rec = next(r for r in groups[2] if r["record"] == "key")
    rec["bits"] = rec["bits"][:-1]


def _pq_negative_pass(groups: list[Records]) -> None:
    next(r for r in groups[2] if r["record"] == "ec-message")["pass_index"] = -2


def _pq_groups_out_of_order(groups: list[Records]) -> None:
    groups[1], groups[2] = groups[2], groups[1]


def _pq_mixed_group(groups: list[Records]) -> None:
    groups[2] = groups[2] + groups.pop(3)


def _pq_missing_message_field(groups: list[Records]) -> None:
    next(r for r in groups[2] if r["record"] == "auth-message")["sender"] = None


def _pq_foreign_field(groups: list[Records]) -> None:
    next(r for r in groups[2] if r["record"] == "ec-message")["family"] = "toeplitz"


def _pq_no_header(groups: list[Records]) -> None:
    groups.pop(0)


PARQUET_CASES: dict[str, tuple[Callable[[list[Records]], None], str]] = {
    "parity 3": (_pq_parity, "block 2: 'ec-message' records: field 'parity'"),
    "packed key one byte short": (_pq_packed_length, "block 2: sifted key of alice: field "
                                                     "'bits' holds"),
    "negative pass index": (_pq_negative_pass, "block 2: 'ec-message' records: field "
                                               "'pass_index' is negative"),
    "blocks out of order": (_pq_groups_out_of_order, "block 0: block: field 'block_id'"),
    "a row group holding two blocks": (_pq_mixed_group, "block 5: block: field 'block_id' "
                                                        "shares row group 2 with block 2"),
    "a message without its sender": (_pq_missing_message_field,
                                     "block 2: 'auth-message' records: field 'sender' is "
                                     "missing"),
    "a field of another record type": (_pq_foreign_field, "field 'family' does not belong"),
    "no header": (_pq_no_header, "no header record"),
}


@pytest.mark.parametrize("case", sorted(PARQUET_CASES))
def test_bad_parquet_transcript_names_file_block_and_field(tmp_path: Path, case: str) -> None:
    mutate, expected = PARQUET_CASES[case]
    path = tmp_path / "t.parquet"
    tw.write_transcript(path, sample_blocks(), make_pool(6), "parquet")
    _rewrite_parquet(path, mutate)
    text = _refusal(path)
    assert text.startswith("b/t.parquet"), text
    assert expected in text, text


def test_a_text_column_where_bits_are_packed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = pa.table({"record": ["header"], "block_id": pa.array([None], pa.int64()),
                      "bits": ["0101"]})
    pq.write_table(table, path)
    with pytest.raises(EvidenceError, match=r"column 'bits' is string, binary expected"):
        open_view(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_more_than_twelve_bad_input_cases(fmt: str) -> None:
    assert len(JSONL_CASES) + len(PARQUET_CASES) + 2 >= 12
    assert len(JSONL_CASES if fmt == "jsonl" else PARQUET_CASES) >= 8


# --- against the block records --------------------------------------------------------------


def _records(tmp_path: Path, blocks: list[BlockTranscript], edit: Callable[[str], str] | None
             = None) -> readers.BlockRecords:
    path = tmp_path / "blocks.csv"
    write_blocks_csv(path, blocks)
    if edit is not None:
        path.write_text(edit(path.read_text()))
    src = readers.Source(slot="blocks", kind=EvidenceKind.BLOCK_RECORDS,
                         format=EvidenceFormat.CSV, path=path, display="b/blocks.csv",
                         sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    view = readers.read(src)
    assert isinstance(view, readers.BlockRecords)
    return view


def test_a_transcript_agreeing_with_the_block_records_passes(tmp_path: Path) -> None:
    blocks = sample_blocks()
    path = tmp_path / "t.parquet"
    tw.write_transcript(path, blocks, make_pool(6), "parquet")
    assert readers.check_against_blocks(open_view(path), _records(tmp_path, blocks)) == 3


def _drop_block_5(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if not line.startswith("5,"))


def _other_pa_input(text: str) -> str:
    head, *rows = text.splitlines()
    cells = rows[0].split(",")
    cells[3] = str(int(cells[3]) + 1)
    return "\n".join([head, ",".join(cells), *rows[1:]]) + "\n"


def _block_0_aborted(text: str) -> str:
    head, *rows = text.splitlines()
    cells = rows[0].split(",")
    cells[4], cells[5] = "0", "1"
    return "\n".join([head, ",".join(cells), *rows[1:]]) + "\n"


def _other_output(text: str) -> str:
    head, *rows = text.splitlines()
    cells = rows[2].split(",")
    cells[4] = str(int(cells[4]) - 1)
    return "\n".join([head, *rows[:2], ",".join(cells)]) + "\n"


def _other_key_id(text: str) -> str:
    return text.replace("k-00000", "k-99999")


@pytest.mark.parametrize(("edit", "expected"), [
    (_drop_block_5, "block 5: block: field 'block_id' 5 is not a block of the block records "
                    "(b/blocks.csv)"),
    (_other_pa_input, "block 0: 'pa' record: field 'input_bits'"),
    (_block_0_aborted, "block 0: 'outcome' record: field 'delivered' is true but the block "
                       "records (b/blocks.csv) say aborted = 1"),
    (_other_output, "block 5: 'pa' record: field 'output_bits'"),
    (_other_key_id, "block 0: 'outcome' record: field 'key_ids' does not list 'k-99999'"),
], ids=["absent block id", "pa input length", "aborted", "pa output length", "key id"])
def test_a_transcript_contradicting_the_block_records_is_refused(
        tmp_path: Path, edit: Callable[[str], str], expected: str) -> None:
    blocks = sample_blocks()
    path = tmp_path / "t.jsonl"
    tw.write_transcript(path, blocks, make_pool(6), "jsonl")
    records = _records(tmp_path, blocks, edit)
    with pytest.raises(EvidenceError) as caught:
        readers.check_against_blocks(open_view(path), records)
    assert str(caught.value).startswith("b/t.jsonl:" + expected), str(caught.value)


def test_the_example_of_the_format_doc_reads(tmp_path: Path) -> None:
    import re

    from tests.support import REPO

    text = (REPO / "docs" / "transcript-format.md").read_text(encoding="utf-8")
    match = re.search(r"```json\n(.*?)```", text, re.S)
    assert match is not None
    path = tmp_path / "doc.jsonl"
    path.write_text(match.group(1))
    view = open_view(path)
    (block,) = list(view.blocks())
    assert block.block_id == 7 and block.key_ids == ("k-7",)
    assert block.sifted_alice is not None and block.sifted_alice.tolist() == [1, 0, 1, 1, 0]
    assert block.ec is not None and block.ec.end.tolist() == [3]
    assert view.auth_pool is not None and view.auth_pool.bits.size == 16


@pytest.mark.parametrize("fmt", FORMATS)
def test_blocks_are_read_and_checked_when_reached(tmp_path: Path, fmt: str) -> None:
    """A fault in the last block surfaces only when that block is reached: the earlier blocks
    were handed over without the rest of the file being read."""
    path = tmp_path / f"t.{fmt}"
    tw.write_transcript(path, sample_blocks(), make_pool(6), fmt)
    if fmt == "jsonl":
        recs = [json.loads(line) for line in path.read_text().splitlines()]
        _first(recs, "ec-message", block_id=5, seq=0)["parity"] = 7
        path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    else:
        _rewrite_parquet(path, lambda groups: next(
            r for r in groups[3] if r["record"] == "ec-message").update(parity=7))
    it = open_view(path).blocks()
    assert [next(it).block_id, next(it).block_id] == [0, 2]
    with pytest.raises(EvidenceError, match=r"block 5.*'parity'"):
        next(it)
