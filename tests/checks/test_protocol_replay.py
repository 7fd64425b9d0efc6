"""protocol.replay-* on in-memory transcripts: the honest reference run passes every replay check,
each faulty module fails exactly its own, and a step missing from the capture is inconclusive.

The transcript reader is built separately; here a fake reader serving an in-memory
:class:`~evaltool.io.readers.replay_view.PostProcessingTranscript` is installed for the kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evaltool.checks.protocol_replay  # noqa: F401  (registers the kinds)
from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io import readers
from evaltool.io.bundle import load_bundle
from evaltool.io.readers import _registry
from evaltool.io.readers.replay_view import AuthKeyPool, BlockTranscript, Step
from evaltool.model import bundle as bundle_model
from evaltool.model.bundle import EvidenceFormat, EvidenceKind
from evaltool.model.verdict import Verdict
from evaltool.simulate._transcript import FAULTS, ReferenceRun, reference_post_processing
from tests.support import csv_bytes, make_bundle

KINDS = ("protocol.replay-sifting", "protocol.replay-estimation", "protocol.replay-ec",
         "protocol.replay-verification", "protocol.replay-pa", "protocol.replay-auth")
FAILS = {
    "truncated-pa": {"protocol.replay-pa"},
    "reused-pa-seed": {"protocol.replay-pa"},
    "hidden-ec-parities": {"protocol.replay-ec"},
    "skipped-verification": {"protocol.replay-verification"},
    "auth-key-reuse": {"protocol.replay-auth"},
    "replay-accepted": {"protocol.replay-auth"},
}


@dataclasses.dataclass
class FakeTranscript:
    """An in-memory transcript implementing the reader's protocol."""

    blocks_: tuple[BlockTranscript, ...]
    auth_pool: AuthKeyPool | None
    slot: str = "transcript"
    display: str = "bundle/transcript.jsonl"

    @property
    def block_ids(self) -> np.ndarray:
        return np.array([b.block_id for b in self.blocks_], dtype=np.int64)

    asked: list[frozenset[Step] | None] = dataclasses.field(default_factory=list)

    def blocks(self, steps: frozenset[Step] | None = None) -> Iterator[BlockTranscript]:
        # Every step is served whatever was asked (a reader may give more); what was asked is kept.
        self.asked.append(steps)
        yield from self.blocks_


@pytest.fixture(scope="module")
def honest() -> ReferenceRun:
    return reference_post_processing(np.random.default_rng(2026), 16_000, 0.03, blocks=3)


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Serve ``view`` for the transcript kind (JSON lines) until the test ends."""
    kind = EvidenceKind.POST_PROCESSING_TRANSCRIPT
    monkeypatch.setitem(bundle_model.ALLOWED_FORMATS, kind, frozenset({EvidenceFormat.JSONL}))
    readers.clear_cache()

    def serve(view: Any) -> None:
        monkeypatch.setitem(_registry._REGISTRY, (kind, EvidenceFormat.JSONL), _registry.Reader(
            "fake-transcript", (kind,), (EvidenceFormat.JSONL,), lambda src: view, "Fake."))
        readers.clear_cache()

    yield serve
    readers.clear_cache()


def bundle_of(tmp_path: Path, run: ReferenceRun, **claims: Any) -> Path:
    cols = run.records_columns()
    names = list(cols)
    rows = [[cols[c][i] for c in names] for i in range(len(run.records))]
    files = {
        "blocks": ("block-records", "csv", "blocks.csv", csv_bytes(names, rows)),
        "transcript": ("post-processing-transcript", "jsonl", "transcript.jsonl",
                       b'{"block_id": 0}\n'),
    }
    base = {"protocol": "bb84-decoy-3", "intensities": [0.5, 0.1, 0.0002],
            "probabilities": [0.7, 0.2, 0.1], "eps_sec": 1e-9, "eps_cor": 1e-15,
            "block_size": 10000, "qber_abort_threshold": 0.11}
    return make_bundle(tmp_path / "bundle", files, base | claims)


def run_check(kind: str, bundle: Path, **params: Any):  # type: ignore[no-untyped-def]
    ctype = get(kind)
    ctx = CheckContext(load_bundle(bundle), {}, seed=1)
    given = {"transcript_slot": "transcript", "slot": "blocks"} | params
    out = ctype.run(parse_params(ctype, given), ctx)
    return out, {m.name: m.value for m in out.measurements}


def run_all(tmp_path: Path, install, run: ReferenceRun) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    install(FakeTranscript(run.blocks, run.auth_pool))
    b = bundle_of(tmp_path, run)
    return {k: run_check(k, b)[0] for k in KINDS}


def test_honest_transcript_passes_every_replay_check(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                     honest: ReferenceRun) -> None:
    assert all(bt.delivered for bt in honest.blocks)
    outs = run_all(tmp_path, install, honest)
    assert {k: o.verdict for k, o in outs.items()} == dict.fromkeys(KINDS, Verdict.PASS), \
        {k: o.reason for k, o in outs.items()}


def test_each_check_reads_only_its_own_step(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                            honest: ReferenceRun) -> None:
    # The load-time pass reads every step; each check then asks the reader for its step alone,
    # so the Cascade messages of a large block are read by protocol.replay-ec only.
    view = FakeTranscript(honest.blocks, honest.auth_pool)
    install(view)
    b = bundle_of(tmp_path, honest)
    expected = dict(zip(KINDS, (Step.SIFTING, Step.ESTIMATION, Step.EC, Step.VERIFICATION,
                                Step.PA, Step.AUTH), strict=True))
    for kind, step in expected.items():
        view.asked.clear()
        run_check(kind, b)  # loads the bundle (a pass over every step), then runs the check
        assert view.asked == [None, frozenset({step})], kind


def test_honest_measurements(tmp_path: Path, install, honest: ReferenceRun) -> None:  # type: ignore[no-untyped-def]
    install(FakeTranscript(honest.blocks, honest.auth_pool))
    b = bundle_of(tmp_path, honest)
    _, m = run_check("protocol.replay-ec", b)
    disclosed = sum(r.ec_leakage_bits for r in honest.records)
    assert m["bits_disclosed"] == m["bits_reported"] == disclosed
    assert m["worst_shortfall_bits"] == 0 and m["blocks_replayed"] == 3
    assert m["engine_compared_blocks"] == 3 and m["engine_differing_blocks"] == 0
    _, m = run_check("protocol.replay-pa", b)
    assert m["bits_hashed"] == sum(r.pa_input_bits for r in honest.records)
    _, m = run_check("protocol.replay-auth", b)
    assert m["messages"] == 3 * 7 and m["injected_messages"] == 6
    _, m = run_check("protocol.replay-verification", b)
    assert m["shortest_tag_bits"] == 50 and m["worst_collision_bound"] == 2.0**-50


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_fails_exactly_its_check(tmp_path: Path, install, honest: ReferenceRun,  # type: ignore[no-untyped-def]
                                            fault: str) -> None:
    outs = run_all(tmp_path, install, FAULTS[fault](honest))
    failed = {k for k, o in outs.items() if o.verdict is Verdict.FAIL}
    assert failed == FAILS[fault], {k: o.reason for k, o in outs.items()}
    assert all(o.verdict is Verdict.PASS for k, o in outs.items() if k not in failed)


def test_fault_reasons_name_block_and_field(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                            honest: ReferenceRun) -> None:
    out = run_all(tmp_path, install, FAULTS["hidden-ec-parities"](honest))["protocol.replay-ec"]
    assert "first: block 0, field ec_leakage_bits" in out.reason
    assert "distinct parities disclosed" in out.reason
    out = run_all(tmp_path, install, FAULTS["reused-pa-seed"](honest))["protocol.replay-pa"]
    assert "block 1, field seed: the seed of block 0 is used again" in out.reason
    out = run_all(tmp_path, install, FAULTS["replay-accepted"](honest))["protocol.replay-auth"]
    assert "block 0, field injected" in out.reason


def test_a_missing_step_is_inconclusive_never_a_pass(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                     honest: ReferenceRun) -> None:
    blocks = list(honest.blocks)
    blocks[1] = dataclasses.replace(blocks[1], sifting=None, estimation=None, ec=None,
                                    verification=None, pa=None, auth=None)
    outs = run_all(tmp_path, install, dataclasses.replace(honest, blocks=tuple(blocks)))
    for k, o in outs.items():
        assert o.verdict is Verdict.INCONCLUSIVE, (k, o.reason)
        assert "lacks the" in o.reason and "blocks 1)" in o.reason


def test_an_aborted_block_without_pa_is_skipped(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                honest: ReferenceRun) -> None:
    blocks = list(honest.blocks)
    blocks[2] = dataclasses.replace(blocks[2], pa=None, delivered=False, key_ids=())
    records = list(honest.records)
    records[2] = dataclasses.replace(records[2], aborted=1, pa_output_bits=0)
    run = dataclasses.replace(honest, blocks=tuple(blocks), records=tuple(records))
    install(FakeTranscript(run.blocks, run.auth_pool))
    out, m = run_check("protocol.replay-pa", bundle_of(tmp_path, run))
    assert out.verdict is Verdict.PASS and m["blocks_replayed"] == 2


def test_tag_shorter_than_eps_cor_allows_fails(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                               honest: ReferenceRun) -> None:
    install(FakeTranscript(honest.blocks, honest.auth_pool))
    out, m = run_check("protocol.replay-verification", bundle_of(tmp_path, honest, eps_cor=1e-16))
    assert out.verdict is Verdict.FAIL and "exceeds eps_cor" in out.reason
    assert m["mismatching_blocks"] == 3


def test_output_length_must_match_the_block_records(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                    honest: ReferenceRun) -> None:
    records = list(honest.records)
    records[0] = dataclasses.replace(records[0], pa_output_bits=records[0].pa_output_bits + 1)
    run = dataclasses.replace(honest, records=tuple(records))
    install(FakeTranscript(run.blocks, run.auth_pool))
    # The bundle loader may already refuse the contradiction as bad input (the reader checks a
    # transcript against the block records); otherwise the check fails naming the field.
    try:
        out, _ = run_check("protocol.replay-pa", bundle_of(tmp_path, run))
    except EvidenceError as exc:
        assert "output_bits" in str(exc) and "block 0" in str(exc)
    else:
        assert out.verdict is Verdict.FAIL and "block 0, field output_bits" in out.reason


def test_ec_message_outside_the_key_is_bad_input(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                 honest: ReferenceRun) -> None:
    bt = honest.blocks[0]
    assert bt.ec is not None and bt.reconciled_alice is not None
    end = bt.ec.end.copy()
    end[4] = bt.reconciled_alice.size + 10
    blocks = (dataclasses.replace(bt, ec=dataclasses.replace(bt.ec, end=end)), *honest.blocks[1:])
    install(FakeTranscript(blocks, honest.auth_pool))
    with pytest.raises(EvidenceError, match="block 0: 1 Cascade messages name a range outside"):
        run_check("protocol.replay-ec", bundle_of(tmp_path, honest))


def test_auth_without_a_pool_is_insufficient_data(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                  honest: ReferenceRun) -> None:
    install(FakeTranscript(honest.blocks, None))
    with pytest.raises(InsufficientDataError, match="no authentication key pool"):
        run_check("protocol.replay-auth", bundle_of(tmp_path, honest))


def test_transcript_block_absent_from_the_records_is_bad_input(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                               honest: ReferenceRun) -> None:
    run = dataclasses.replace(honest, records=honest.records[:2])
    install(FakeTranscript(honest.blocks, honest.auth_pool))
    with pytest.raises(EvidenceError, match=r"block 2\b"):
        run_check("protocol.replay-pa", bundle_of(tmp_path, run))


def test_plain_strings_from_a_reader_are_understood(tmp_path: Path, install,  # type: ignore[no-untyped-def]
                                                    honest: ReferenceRun) -> None:
    # A reader may hand the enumerations over as their string values.
    blocks = []
    for bt in honest.blocks:
        assert bt.auth is not None and bt.ec is not None
        blocks.append(dataclasses.replace(
            bt, auth=dataclasses.replace(bt.auth, injected=tuple(str(i) for i in bt.auth.injected),
                                         sender=tuple(str(s) for s in bt.auth.sender))))
    install(FakeTranscript(tuple(blocks), honest.auth_pool))
    b = bundle_of(tmp_path, honest)
    for kind in ("protocol.replay-auth", "protocol.replay-ec"):
        out, _ = run_check(kind, b)
        assert out.verdict is Verdict.PASS, out.reason


@pytest.mark.parametrize(("fault", "aspects", "verdict"), [
    ("replay-accepted", ["replayed"], "fail"),
    ("replay-accepted", ["modified"], "pass"),
    ("replay-accepted", ["tags", "pads"], "pass"),
    ("auth-key-reuse", ["pads"], "fail"),
    ("auth-key-reuse", ["replayed", "modified"], "pass"),
])
def test_replay_auth_decides_only_its_aspects(tmp_path: Path, install, honest, fault: str,
                                              aspects: list[str], verdict: str) -> None:
    """FPT_RPL.1 maps the `replayed` aspect, FDP_ITT.1 `modified`, FCS_COP.1/AUTH `tags` and
    `pads`: an accepted replay fails the first only, a reused pad the last only."""
    faulty = FAULTS[fault](honest)
    install(FakeTranscript(faulty.blocks, faulty.auth_pool))
    out, _ = run_check("protocol.replay-auth", bundle_of(tmp_path, faulty), aspects=aspects)
    assert out.verdict.value == verdict, out.reason
