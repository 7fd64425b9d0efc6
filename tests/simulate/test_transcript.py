"""The reference post-processing run and its faulty mutations (the transcripts the replay checks
consume; the checks' verdicts are asserted in tests/checks/test_protocol_replay.py)."""

from __future__ import annotations

import numpy as np
import pytest

from evaltool.engines.protocol.cascade import transcript_leakage
from evaltool.engines.protocol.replay import bits_sha256
from evaltool.engines.protocol.toeplitz import toeplitz_hash_direct
from evaltool.io.readers.replay_view import Injection
from evaltool.simulate._transcript import FAULTS, ReferenceRun, reference_post_processing


@pytest.fixture(scope="module")
def run() -> ReferenceRun:
    return reference_post_processing(np.random.default_rng(7), 8_000, 0.04, blocks=2)


def test_same_generator_seed_gives_the_same_capture(run: ReferenceRun) -> None:
    again = reference_post_processing(np.random.default_rng(7), 8_000, 0.04, blocks=2)
    assert again.records == run.records
    for a, b in zip(again.blocks, run.blocks, strict=True):
        assert a.pa is not None and b.pa is not None
        assert np.array_equal(a.pa.seed, b.pa.seed) and a.auth.tag == b.auth.tag  # type: ignore[union-attr]


def test_honest_capture_is_the_reference_protocol(run: ReferenceRun) -> None:
    for bt, rec in zip(run.blocks, run.records, strict=True):
        assert bt.delivered and rec.aborted == 0 and bt.key_ids == (f"key-{bt.block_id:06d}",)
        ec, pa, a = bt.ec, bt.pa, bt.auth
        assert ec is not None and pa is not None and a is not None
        rows = np.stack([ec.pass_index, ec.start, ec.end], axis=1)
        assert transcript_leakage(rows) == rec.ec_leakage_bits == rows.shape[0]
        assert np.array_equal(bt.corrected_bob, bt.corrected_alice)  # type: ignore[arg-type]
        assert pa.output is not None and pa.output.size == rec.pa_output_bits
        rows_checked = [0, pa.output_bits - 1]
        assert np.array_equal(toeplitz_hash_direct(bt.corrected_alice, pa.seed, pa.output_bits,
                                                   rows=rows_checked), pa.output[rows_checked])
        assert pa.output_sha256 == bits_sha256(pa.output)
        assert list(a.injected[-2:]) == [Injection.REPLAYED, Injection.MODIFIED]
        assert a.accepted.tolist() == [1] * 5 + [0, 0]
    pads = np.concatenate([b.auth.pad_offset[:5] for b in run.blocks])  # type: ignore[union-attr]
    assert np.unique(pads).size == pads.size == 10 and 0 not in pads  # offset 0: the hash key


def test_faults_change_only_what_they_name(run: ReferenceRun) -> None:
    t = FAULTS["truncated-pa"](run)
    pa = t.blocks[1].pa
    assert pa is not None and pa.output is not None
    assert np.array_equal(pa.output, t.blocks[1].corrected_alice[: pa.output_bits])  # type: ignore[index]
    assert t.records == run.records
    s = FAULTS["reused-pa-seed"](run)
    s0, s1 = s.blocks[0].pa, s.blocks[1].pa
    assert s0 is not None and s1 is not None
    k = min(s0.seed.size, s1.seed.size)
    assert np.array_equal(s0.seed[:k], s1.seed[:k])
    assert s.records[1].pa_seed_sha256 == bits_sha256(s1.seed)
    h = FAULTS["hidden-ec-parities"](run)
    assert all(a.ec_leakage_bits < b.ec_leakage_bits for a, b in zip(h.records, run.records,
                                                                      strict=True))
    assert h.blocks == run.blocks
    v = FAULTS["skipped-verification"](run)
    assert all(not b.verification.tag_alice.any() for b in v.blocks)  # type: ignore[union-attr]
    r = FAULTS["auth-key-reuse"](run)
    assert r.blocks[1].auth.pad_offset[:5].tolist() == run.blocks[0].auth.pad_offset[:5].tolist()  # type: ignore[union-attr]
    acc = FAULTS["replay-accepted"](run).blocks[0].auth.accepted.tolist()  # type: ignore[union-attr]
    assert acc == [1] * 5 + [1, 0]
