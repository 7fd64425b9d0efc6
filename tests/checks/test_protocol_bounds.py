"""protocol.key-length-bound, protocol.verification-hash and protocol.abort-rule on small bundles.

The blocks reuse the Lim 2014 regression vector of test_vectors/protocol/bounds, whose
allowed key length is 2,600,927 bits (test_vectors/protocol/bounds/reference.json, independent
mpmath computation) with eps_sec = 1e-10, eps_cor = 1e-15 and lambda_EC = 1,911,180 bits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import evaltool.checks.protocol_bounds  # noqa: F401  (registers the protocol.* kinds)
from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import make_bundle

ELL = 2_600_927  # test_vectors/protocol/bounds/reference.json
LAMBDA = 1_911_180
VEC = {
    "key_detections": [6125230, 3872526, 2244],
    "key_errors": [148094, 94096, 454],
    "test_detections": [171658, 108527, 63],
    "test_errors": [4150, 2637, 13],
}
CLAIMS = {
    "protocol": "bb84-decoy-3",
    "bound": "lim2014",
    "intensities": [0.411, 0.2198, 0.0002],
    "probabilities": [0.3773, 0.4455, 0.1772],
    "eps_sec": 1e-10,
    "eps_cor": 1e-15,
    "block_size": 10_000_000,
    "qber_abort_threshold": 0.06,
}
COLUMNS = [
    "block_id", "time_s",
    *(f"{kind}_{k}" for k in range(3) for kind in VEC),
    "ec_leakage_bits", "verification_hash_bits", "pa_output_bits", "aborted", "qber_key",
]  # fmt: skip


def block(
    block_id: int,
    pa_output_bits: int,
    *,
    hash_bits: int = 50,
    aborted: int = 0,
    scale_key_errors: float = 1.0,
    test_errors: list[int] | None = None,
) -> list[Any]:
    key_errors = [round(e * scale_key_errors) for e in VEC["key_errors"]]
    terr = test_errors or VEC["test_errors"]
    per_class = []
    for k in range(3):
        per_class += [VEC["key_detections"][k], key_errors[k], VEC["test_detections"][k], terr[k]]
    qber = sum(key_errors) / sum(VEC["key_detections"])
    return [block_id, float(block_id + 1), *per_class, LAMBDA, hash_bits, pa_output_bits,
            aborted, round(qber, 6)]  # fmt: skip


def make(tmp_path: Path, rows: list[list[Any]], claims: dict[str, Any] | None = None,
         columns: list[str] = COLUMNS) -> Path:  # fmt: skip
    body = "\n".join(",".join(str(v) for v in r) for r in [columns, *rows]) + "\n"
    files = {"blocks": ("block-records", "csv", "blocks.csv", body.encode())}
    return make_bundle(tmp_path / "bundle", files, CLAIMS | (claims or {}))


def run(kind: str, bundle: Path, **params: Any):
    ctype = get(kind)
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(bundle), {}, seed=1)
    out = ctype.run(parse_params(ctype, {"slot": "blocks", **params}), ctx)
    return out, {m.name: m.value for m in out.measurements}


class TestKeyLengthBound:
    def test_output_at_the_bound_passes(self, tmp_path: Path) -> None:
        b = make(tmp_path, [block(0, ELL), block(1, ELL - 1000), block(2, 0, aborted=1)])
        out, m = run("protocol.key-length-bound", b)
        assert out.verdict is Verdict.PASS, out.reason
        assert "all 3 blocks are within the lim2014 v1 bound" in out.reason
        assert "smallest margin 0 bits (block 0)" in out.reason
        assert m["violating_blocks"] == 0 and m["worst_excess_bits"] == 0

    def test_overclaim_names_worst_block_and_margin(self, tmp_path: Path) -> None:
        rows = [block(0, ELL), block(1, ELL + 1), block(2, ELL + 10_000), block(3, ELL - 5)]
        out, m = run("protocol.key-length-bound", make(tmp_path, rows))
        assert out.verdict is Verdict.FAIL
        assert out.reason.startswith("2 of 4 blocks output more key than the lim2014 v1 bound")
        assert (
            "worst: block 2 output 2610927 bits, allowed 2600927, excess 10000 bits" in out.reason
        )
        assert m["violating_blocks"] == 2
        assert m["worst_block_id"] == 2 and m["worst_excess_bits"] == 10_000

    def test_tolerance(self, tmp_path: Path) -> None:
        out, _ = run("protocol.key-length-bound", make(tmp_path, [block(0, ELL + 1)]),
                     tolerance_bits=1)  # fmt: skip
        assert out.verdict is Verdict.PASS

    def test_long_verification_hash_counts_as_leakage(self, tmp_path: Path) -> None:
        # docs/methods/finite-key.md item 5: log2(2/eps_cor) covers a 50-bit hash
        # (ceil(log2(1e15)) = 50); a 64-bit hash discloses 14 more bits, so the bound drops to
        # 2,600,913.
        out, m = run("protocol.key-length-bound", make(tmp_path, [block(0, ELL, hash_bits=64)]))
        assert out.verdict is Verdict.FAIL
        assert m["worst_excess_bits"] == 14

    def test_missing_bound_claim_is_insufficient(self, tmp_path: Path) -> None:
        b = make(tmp_path, [block(0, ELL)], claims={"bound": None})
        with pytest.raises(InsufficientDataError, match="claims no finite-key bound"):
            run("protocol.key-length-bound", b)

    def test_wrong_number_of_intensities_is_bad_evidence(self, tmp_path: Path) -> None:
        b = make(tmp_path, [block(0, ELL)],
                 claims={"protocol": "bb84-decoy-2", "bound": "rusca2018"})
        with pytest.raises(EvidenceError, match="rusca2018 is written for 2 intensities"):
            run("protocol.key-length-bound", b)

    def test_bound_of_another_protocol_is_bad_evidence(self, tmp_path: Path) -> None:
        # rusca2018 is the two-intensity bound: the protocol plugin of bb84-decoy-3 refuses it.
        b = make(tmp_path, [block(0, ELL)], claims={"bound": "rusca2018"})
        with pytest.raises(EvidenceError, match=r"claims.bound: bound 'rusca2018' is not defined "
                           r"for protocol bb84-decoy-3 \(it is defined for bb84-decoy-2\)"):
            run("protocol.key-length-bound", b)

    def test_protocol_without_plugin_is_bad_evidence(self, tmp_path: Path) -> None:
        b = make(tmp_path, [block(0, ELL)], claims={"protocol": "bb84-single-photon"})
        with pytest.raises(EvidenceError, match="protocol 'bb84-single-photon' has no plugin"):
            run("protocol.key-length-bound", b)

    def test_missing_columns_are_insufficient(self, tmp_path: Path) -> None:
        cols = [c for c in COLUMNS if c != "test_errors_2"]
        rows = [[v for c, v in zip(COLUMNS, block(0, ELL), strict=True) if c != "test_errors_2"]]
        with pytest.raises(InsufficientDataError, match="test_errors_2"):
            run("protocol.key-length-bound", make(tmp_path, rows, columns=cols))

    def test_errors_above_detections_name_the_block(self, tmp_path: Path) -> None:
        row = block(7, ELL)
        row[COLUMNS.index("test_errors_2")] = 64
        with pytest.raises(EvidenceError, match="block 7: test_errors_2 exceeds test_detections_2"):
            run("protocol.key-length-bound", make(tmp_path, [row]))


class TestVerificationHash:
    def test_pass_and_fail(self, tmp_path: Path) -> None:
        rows = [block(0, ELL, hash_bits=64), block(1, ELL, hash_bits=50)]
        out, m = run("protocol.verification-hash", make(tmp_path, rows))
        assert out.verdict is Verdict.PASS
        assert "ceil(log2(1/eps_cor)) = 50 bits for eps_cor = 1e-15" in out.reason
        assert m["shortest_hash_bits"] == 50
        rows = [block(0, ELL, hash_bits=64), block(1, ELL, hash_bits=32), block(2, 0, hash_bits=0)]
        out, m = run("protocol.verification-hash", make(tmp_path / "f", rows))
        assert out.verdict is Verdict.FAIL
        assert "1 of 2 key-producing blocks" in out.reason and "blocks 1;" in out.reason
        assert m["shortest_hash_bits"] == 32

    def test_no_key_is_not_applicable(self, tmp_path: Path) -> None:
        out, _ = run("protocol.verification-hash", make(tmp_path, [block(0, 0, aborted=1)]))
        assert out.verdict is Verdict.NOT_APPLICABLE


class TestAbortRule:
    def test_high_qber_block_with_key_fails(self, tmp_path: Path) -> None:
        # Key-basis errors x3 gives QBER 0.0728 > 0.06.
        rows = [block(0, ELL), block(1, 1000, scale_key_errors=3.0), block(2, 0, aborted=1,
                scale_key_errors=3.0)]  # fmt: skip
        out, m = run("protocol.abort-rule", make(tmp_path, rows))
        assert out.verdict is Verdict.FAIL
        assert "1 of 2 blocks over the QBER 0.06" in out.reason
        assert "block 1: QBER 0.072793" in out.reason
        assert m["key_from_blocks_over_threshold"] == 1

    def test_aborted_high_qber_passes(self, tmp_path: Path) -> None:
        rows = [block(0, ELL), block(1, 0, aborted=1, scale_key_errors=3.0)]
        out, m = run("protocol.abort-rule", make(tmp_path, rows))
        assert out.verdict is Verdict.PASS
        assert "all 1 of 2 blocks over the QBER" in out.reason
        assert m["blocks_over_threshold"] == 1

    def test_phase_error_threshold_from_claims(self, tmp_path: Path) -> None:
        # The vector's phase-error bound is 0.0568 (reference.json); a claimed limit of 0.05 means
        # the block had to abort, a limit of 0.06 lets it through.
        rows = [block(0, ELL)]
        strict = make(tmp_path, rows, claims={"phase_error_abort_threshold": 0.05})
        out, _ = run("protocol.abort-rule", strict)
        assert out.verdict is Verdict.FAIL
        assert "phase error 0.0568487" in out.reason
        loose = make(tmp_path / "ok", rows, claims={"phase_error_abort_threshold": 0.06})
        out, _ = run("protocol.abort-rule", loose)
        assert out.verdict is Verdict.PASS
        assert "none had to abort" in out.reason
