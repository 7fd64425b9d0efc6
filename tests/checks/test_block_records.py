"""One block-records slot is valid or invalid for every check that reads it alike (issue #17).

Every check kind that reads block records goes through :mod:`evaltool.io.readers.blocks`: on a
valid slot all of them get the very same rows (one shared, frozen view); on a malformed slot all
of them refuse with the same error, word for word. The bundles are loaded without the loader's
table validation, so the refusal comes from the reader, as it would for any check run on a
bundle assembled by other means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import evaltool.checks  # noqa: F401  (fills the registry)
from evaltool.checks import context as context_module
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import get, parse_params
from evaltool.errors import EvidenceError, InsufficientDataError
from evaltool.io import readers
from evaltool.io.bundle import load_bundle
from evaltool.io.readers import BlockRecords
from tests.support import csv_bytes, make_bundle

CLAIMS = {
    "protocol": "bb84-decoy-3", "bound": "lim2014", "intensities": [0.411, 0.2198, 0.0002],
    "probabilities": [0.3773, 0.4455, 0.1772], "eps_sec": 1e-10, "eps_cor": 1e-15,
    "eps_auth": 1e-10, "block_size": 10_000_000, "qber_abort_threshold": 0.06,
}
# Per class k: sent, key detections, key errors, test detections, test errors (the Lim 2014
# vector of tests/checks/test_protocol_bounds.py, with the pulses sent added).
CLASSES = [(60_000_000, 6125230, 148094, 171658, 4150), (50_000_000, 3872526, 94096, 108527, 2637),
           (20_000_000, 2244, 454, 63, 13)]
HEADER = ["block_id", "time_s",
          *(f"{f}_{k}" for k in range(3) for f in ("n_sent", "key_detections", "key_errors",
                                                   "test_detections", "test_errors")),
          "ec_leakage_bits", "verification_hash_bits", "pa_input_bits", "pa_output_bits",
          "aborted", "pa_seed_sha256", "auth_tag_bits", "auth_key_bits_consumed"]


def rows() -> list[list[Any]]:
    out = []
    for b in range(3):
        per_class = [v for cls in CLASSES for v in cls]
        out.append([b, float(b + 1), *per_class, 1_911_180, 64, 6_000_000, 2_000_000, 0,
                    f"{b + 1:064x}", 64, 64])
    return out


# Each check kind that reads block records, with parameters that reach the block reader.
READERS_OF_BLOCKS: dict[str, dict[str, Any]] = {
    "protocol.key-length-bound": {"slot": "blocks"},
    "protocol.verification-hash": {"slot": "blocks"},
    "protocol.abort-rule": {"slot": "blocks"},
    "protocol.ec-leakage": {"slot": "blocks"},
    "protocol.pa-output": {"slot": "blocks"},
    "protocol.auth": {"slot": "blocks"},
    "monitor.detector-blinding": {"blocks_slot": "blocks", "vacuum_class": 2,
                                  "dark_count_prob": 1e-6},
    "monitor.decoy-consistency": {"slot": "blocks", "intensities": [0.411, 0.2198, 0.0002]},
    "monitor.trojan-horse": {"monitor_slot": "mon", "column": "ingress_dbm",
                             "threshold_dbm": -50.0, "response_slot": "blocks", "within_s": 1.0},
    "telemetry.threshold-events": {"monitor_slot": "mon", "column": "ingress_dbm",
                                   "threshold": -50.0, "response_slot": "blocks",
                                   "within_s": 1.0},
    "telemetry.completeness": {"block_slot": "blocks"},
    # The generic rules read any table; on a block-records slot they apply its reader's rules.
    "telemetry.range": {"slot": "blocks", "column": "ec_leakage_bits", "max": 1e9},
    "telemetry.rate": {"slot": "blocks", "window_s": 1.0, "max_hz": 10.0},
}


def bundle(root: Path, header: list[str], body: list[list[Any]]) -> Path:
    monitor = csv_bytes(["time_s", "ingress_dbm"], [[0.1 * i, -70.0] for i in range(40)])
    return make_bundle(root, {
        "blocks": ("block-records", "csv", "blocks.csv", csv_bytes(header, body)),
        "mon": ("monitor", "csv", "mon.csv", monitor),
    }, CLAIMS)


def run(kind: str, path: Path) -> CheckContext:
    ctype = get(kind)
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(path, check_tables=False), {}, seed=1)
    ctype.run(parse_params(ctype, READERS_OF_BLOCKS[kind]), ctx)
    return ctx


def _set(column: str, row: int, value: Any) -> tuple[list[str], list[list[Any]]]:
    body = rows()
    body[row][HEADER.index(column)] = value
    return HEADER, body


def _drop(column: str) -> tuple[list[str], list[list[Any]]]:
    i = HEADER.index(column)
    return HEADER[:i] + HEADER[i + 1:], [r[:i] + r[i + 1:] for r in rows()]


MALFORMED = {
    "errors above detections": (_set("test_errors_2", 1, 64), EvidenceError,
                                "block 1: test_errors_2 exceeds test_detections_2"),
    "required column missing": (_drop("ec_leakage_bits"), EvidenceError,
                                "missing required column(s) for kind 'block-records': "
                                "ec_leakage_bits"),
    "class column missing": (_drop("key_errors_1"), InsufficientDataError,
                             "lacks the column(s) key_errors_1"),
    "negative count": (_set("n_sent_0", 2, -5), EvidenceError,
                       "column 'n_sent_0': negative count -5"),
    "block ids not increasing": (_set("block_id", 2, 1), EvidenceError,
                                 "column 'block_id': values must be strictly increasing"),
    "empty table": ((HEADER, []), InsufficientDataError, "slot 'blocks' has no blocks"),
}


@pytest.fixture(autouse=True)
def _fresh_views() -> None:
    readers.clear_cache()


def reader_view(path: Path) -> BlockRecords:
    """The block reader's own view of the slot (what every check must get)."""
    return CheckContext(load_bundle(path, check_tables=False), {}, seed=1).blocks("blocks")


@pytest.mark.parametrize("kind", sorted(READERS_OF_BLOCKS))
def test_every_check_reading_blocks_gets_the_same_rows(tmp_path: Path, kind: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = bundle(tmp_path / "b", HEADER, rows())
    expected = reader_view(path)
    seen: list[BlockRecords] = []
    original = readers.read

    def spy(source: readers.Source) -> object:
        view = original(source)
        if isinstance(view, BlockRecords):
            seen.append(view)
        return view

    monkeypatch.setattr(context_module.readers, "read", spy)
    ctx = run(kind, path)
    assert "blocks" in {e.slot for e in ctx.evidence_used}
    assert seen and all(v is expected for v in seen)  # one view, parsed once, shared
    assert expected.block_id.tolist() == [0, 1, 2]
    assert expected.n_classes == 3
    assert expected.per_class["test_errors"][1].tolist() == [4150, 2637, 13]
    assert not expected.block_id.flags.writeable


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("kind", sorted(READERS_OF_BLOCKS))
def test_a_malformed_slot_is_refused_alike_by_every_check(tmp_path: Path, kind: str,
                                                         case: str) -> None:
    (header, body), error, words = MALFORMED[case]
    path = bundle(tmp_path / "b", header, body)
    with pytest.raises(error) as by_reader:
        reader_view(path)
    assert words in str(by_reader.value)
    assert str(by_reader.value).startswith("b/blocks.csv")
    with pytest.raises(error) as by_check:
        run(kind, path)
    assert type(by_check.value) is error
    assert str(by_check.value) == str(by_reader.value)
