"""protocol.ec-leakage, protocol.pa-output and protocol.auth on small bundles."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evaltool.checks.protocol_postprocessing  # noqa: F401  (registers the kinds)
from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.engines.protocol.cascade import cascade_reconcile
from evaltool.errors import InsufficientDataError
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import make_bundle

CLAIMS = {
    "protocol": "bb84-decoy-3",
    "bound": "lim2014",
    "intensities": [0.4, 0.2, 0.0002],
    "probabilities": [0.4, 0.4, 0.2],
    "eps_sec": 1e-10,
    "eps_cor": 1e-15,
    "eps_auth": 1e-10,
    "block_size": 10_000,
    "qber_abort_threshold": 0.11,
}
COLUMNS = ["block_id", "time_s", "key_detections_0", "key_errors_0", "key_detections_1",
           "key_errors_1", "ec_leakage_bits", "pa_input_bits", "pa_output_bits", "aborted",
           "pa_seed_sha256", "auth_tag_bits", "auth_key_bits_consumed"]
SEED = "{:064x}"


def row(block_id: int, *, leak: float = 1640, pa_in: int = 10_000, pa_out: int = 4000,
        aborted: int = 0, seed: str | None = None, tag: int = 64, consumed: int = 64,
        errors: tuple[int, int] = (120, 80)) -> list[Any]:
    # 6000 + 4000 sifted key bits with 120 + 80 errors: Q = 0.02, n h(Q) = 1414.405 bits.
    s = SEED.format(block_id + 1) if seed is None else seed
    return [block_id, float(block_id), 6000, errors[0], 4000, errors[1], leak, pa_in, pa_out,
            aborted, s, tag, consumed]


def make(tmp_path: Path, rows: list[list[Any]], *, claims: dict[str, Any] | None = None,
         columns: list[str] = COLUMNS, transcript: list[list[Any]] | None = None,
         transcript_columns: tuple[str, ...] = ("block_id", "pass_index_count", "start_bits",
                                                "end_bits", "parity_bits")) -> Path:
    body = "\n".join(",".join(str(v) for v in r) for r in [columns, *rows]) + "\n"
    files = {"blocks": ("block-records", "csv", "blocks.csv", body.encode())}
    if transcript is not None:
        lines = [",".join(transcript_columns)] + [",".join(map(str, r)) for r in transcript]
        files["parities"] = ("parity-transcript", "csv", "parities.csv",
                             ("\n".join(lines) + "\n").encode())
    return make_bundle(tmp_path / "bundle", files, CLAIMS | (claims or {}))


def run(kind: str, bundle: Path, **params: Any):
    ctype = get(kind)
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(bundle), {}, seed=1)
    out = ctype.run(parse_params(ctype, {"slot": "blocks", **params}), ctx)
    return out, {m.name: m.value for m in out.measurements}


H_002 = -(0.02 * math.log2(0.02) + 0.98 * math.log2(0.98))  # h(0.02) = 0.1414405


class TestEcLeakage:
    def test_cascade_like_leakage_passes_the_shannon_floor(self, tmp_path: Path) -> None:
        # f = 1640 / 1414.405 = 1.16: a code 16 % above the Shannon limit.
        out, m = run("protocol.ec-leakage", make(tmp_path, [row(0), row(1, leak=1500)]))
        assert out.verdict is Verdict.PASS, out.reason
        assert m["worst_block_id"] == 1
        assert m["worst_block_implied_bits"] == pytest.approx(10_000 * H_002)

    def test_leakage_below_n_h_q_fails_with_the_shortfall(self, tmp_path: Path) -> None:
        b = make(tmp_path, [row(0), row(1, leak=1400), row(2, leak=0, aborted=1, pa_out=0)])
        out, m = run("protocol.ec-leakage", b)
        assert out.verdict is Verdict.FAIL
        assert out.reason.startswith("1 of 2 blocks report less EC leakage than f_ec_min")
        assert m["worst_shortfall_bits"] == pytest.approx(10_000 * H_002 - 1400)
        assert m["worst_block_id"] == 1

    def test_f_ec_min_and_tolerance(self, tmp_path: Path) -> None:
        b = make(tmp_path, [row(0)])
        out, m = run("protocol.ec-leakage", b, f_ec_min=1.16)  # 1.16 * 1414.405 = 1640.71
        assert out.verdict is Verdict.FAIL
        assert m["worst_shortfall_bits"] == pytest.approx(1.16 * 10_000 * H_002 - 1640)
        out, _ = run("protocol.ec-leakage", b, f_ec_min=1.16, tolerance_bits=1)
        assert out.verdict is Verdict.PASS

    def test_transcript_of_a_real_cascade_run_is_the_reference(self, tmp_path: Path) -> None:
        # A 10,000-bit frame with 500 errors reconciled by our original Cascade; its transcript is
        # logged and the device reports (a) the counted parities, (b) the nominal 1.16 n h(Q)
        # instead of the counted ~1.18 n h(Q) (the under-reporting case of
        # docs/methods/protocol-checks.md).
        rng = np.random.default_rng(6)
        alice = rng.integers(0, 2, 10_000, dtype=np.uint8)
        bob = alice.copy()
        bob[rng.choice(10_000, 500, replace=False)] ^= 1
        res = cascade_reconcile(alice, bob, qber=0.05, seed=1, record_transcript=True)
        tr = [[0, p, s, e, 1] for p, s, e, _ in res.transcript.tolist()]
        tr.append(tr[3])  # a parity logged twice leaks once
        h5 = -(0.05 * math.log2(0.05) + 0.95 * math.log2(0.95))
        nominal = round(1.16 * 10_000 * h5)
        assert nominal < res.leaked_bits
        counted = make(tmp_path / "a", [row(0, leak=res.leaked_bits)], transcript=tr)
        out, m = run("protocol.ec-leakage", counted, transcript_slot="parities")
        assert out.verdict is Verdict.PASS, out.reason
        assert m["worst_block_implied_bits"] == res.leaked_bits
        under = make(tmp_path / "b", [row(0, leak=nominal)], transcript=tr)
        out, m = run("protocol.ec-leakage", under, transcript_slot="parities")
        assert out.verdict is Verdict.FAIL
        assert m["worst_shortfall_bits"] == res.leaked_bits - nominal

    def test_message_level_transcript_sums_parity_bits(self, tmp_path: Path) -> None:
        tr = [[0, 30], [0, 12], [0, 8], [1, 50]]
        b = make(tmp_path, [row(0, leak=50), row(1, leak=49)], transcript=tr,
                 transcript_columns=("block_id", "parity_bits"))
        out, m = run("protocol.ec-leakage", b, transcript_slot="parities")
        assert out.verdict is Verdict.FAIL
        assert m["under_reporting_blocks"] == 1 and m["worst_block_id"] == 1

    def test_block_missing_from_transcript_is_insufficient(self, tmp_path: Path) -> None:
        b = make(tmp_path, [row(0), row(7)], transcript=[[0, 30]],
                 transcript_columns=("block_id", "parity_bits"))
        with pytest.raises(InsufficientDataError, match="no entry for block"):
            run("protocol.ec-leakage", b, transcript_slot="parities")

    def test_all_aborted_is_not_applicable(self, tmp_path: Path) -> None:
        out, _ = run("protocol.ec-leakage", make(tmp_path, [row(0, aborted=1, pa_out=0)]))
        assert out.verdict is Verdict.NOT_APPLICABLE


class TestPaOutput:
    def test_distinct_seeds_and_short_outputs_pass(self, tmp_path: Path) -> None:
        out, m = run("protocol.pa-output", make(tmp_path, [row(0), row(1), row(2)]))
        assert out.verdict is Verdict.PASS, out.reason
        assert m["max_compression_ratio"] == pytest.approx(0.4)

    def test_seed_reuse_names_both_blocks(self, tmp_path: Path) -> None:
        rows = [row(0), row(1), row(2, seed=SEED.format(1)), row(3, pa_out=0, seed=SEED.format(2))]
        out, m = run("protocol.pa-output", make(tmp_path, rows))
        assert out.verdict is Verdict.FAIL
        assert "1 blocks reuse an earlier PA seed (blocks 0 and 2)" in out.reason
        assert m["reused_seed_blocks"] == 1

    def test_output_longer_than_input_or_sifted_key_fails(self, tmp_path: Path) -> None:
        rows = [row(0, pa_out=10_001), row(1, pa_in=12_000, pa_out=5000)]
        out, m = run("protocol.pa-output", make(tmp_path, rows))
        assert out.verdict is Verdict.FAIL
        assert m["output_exceeds_input_blocks"] == 1
        assert m["input_exceeds_sifted_blocks"] == 1

    def test_missing_seed_hash_fails(self, tmp_path: Path) -> None:
        out, m = run("protocol.pa-output", make(tmp_path, [row(0, seed="")]))
        assert out.verdict is Verdict.FAIL
        assert m["missing_seed_blocks"] == 1

    def test_missing_columns_are_insufficient(self, tmp_path: Path) -> None:
        cols = [c for c in COLUMNS if c != "pa_seed_sha256"]
        rows = [[v for c, v in zip(COLUMNS, row(0), strict=True) if c != "pa_seed_sha256"]]
        with pytest.raises(InsufficientDataError, match="pa_seed_sha256"):
            run("protocol.pa-output", make(tmp_path, rows, columns=cols))


class TestAuth:
    def test_64_bit_tags_meet_eps_auth_for_a_megabyte(self, tmp_path: Path) -> None:
        # ceil(8e6/64) / 2^64 = 6.8e-15 <= 1e-10.
        out, m = run("protocol.auth", make(tmp_path, [row(0), row(1)]), message_bits=8_000_000)
        assert out.verdict is Verdict.PASS, out.reason
        assert m["worst_forgery_bound"] == pytest.approx(125_000 / 2**64)

    def test_32_bit_tags_are_too_weak(self, tmp_path: Path) -> None:
        # ceil(8e6/32) / 2^32 = 5.8e-5 > 1e-10: too weak.
        b = make(tmp_path, [row(0, tag=32, consumed=32), row(1)])
        out, m = run("protocol.auth", b, message_bits=8_000_000)
        assert out.verdict is Verdict.FAIL
        assert m["weak_tag_blocks"] == 1
        assert m["worst_forgery_bound"] == pytest.approx(250_000 / 2**32)

    def test_pad_shorter_than_tag_is_key_reuse(self, tmp_path: Path) -> None:
        b = make(tmp_path, [row(0), row(1, consumed=0), row(2, consumed=63)])
        out, m = run("protocol.auth", b)
        assert out.verdict is Verdict.FAIL
        assert "2 blocks consumed less key than their one-time pads need" in out.reason
        assert m["key_reuse_blocks"] == 2
        out, m = run("protocol.auth", make(tmp_path / "x", [row(0, consumed=100)]),
                     tags_per_block=2)
        assert out.verdict is Verdict.FAIL and m["key_reuse_blocks"] == 1

    def test_without_eps_auth_claim_only_reuse_can_fail(self, tmp_path: Path) -> None:
        b = make(tmp_path, [row(0)], claims={"eps_auth": None})
        with pytest.raises(InsufficientDataError, match="claims no eps_auth"):
            run("protocol.auth", b)
        b = make(tmp_path / "y", [row(0, consumed=1)], claims={"eps_auth": None})
        out, _ = run("protocol.auth", b)
        assert out.verdict is Verdict.FAIL
