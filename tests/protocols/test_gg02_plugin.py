"""The GG02 plugin through ``evaltool protocol key-length|rate`` (issue 20, items 2 and 4)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evaltool.engines.protocol import gg02 as g
from evaltool.errors import EvidenceError, ExitCode
from evaltool.protocols import get_plugin

BLOCK: dict[str, Any] = {
    "protocol": "gg02", "bound": "mountogiannakis2022", "detection": "homodyne",
    "modulation_variance": 20, "detector_efficiency": 0.8, "electronic_noise": 0.1,
    "beta": 0.95, "frames": 100, "frame_symbols": 1_000_000, "pe_symbols": 10_000_000,
    "frames_decoded": 95, "transmissivity_hat": 0.5, "excess_noise_hat": 0.01,
    "bits_per_quadrature": 7,
}  # fmt: skip
RATE = ["--param", "excess_noise=0.01", "--param", "modulation_variance=20",
        "--param", "detector_efficiency=0.8", "--param", "electronic_noise=0.1",
        "--param", "beta=0.95"]  # fmt: skip


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "block.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_key_length_is_the_engines(tmp_path: Path, run_cli) -> None:
    out = run_cli("protocol", "key-length", _write(tmp_path, BLOCK), "--json")
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    eta, t, xi = 0.8, 0.5, 0.01
    worst = g.worst_case_from_estimates("homodyne", 20, math.sqrt(eta * t), eta * t * xi + 1.1,
                                        10**7, eta, 0.1, 2.0**-32)
    res = g.composable_key_length(
        "homodyne", modulation_variance=20, worst=worst, eta=eta, v_el=0.1, beta=0.95,
        frame_symbols=10**6, frames=100, pe_symbols=10**7, p_ec=0.95, bits_per_quadrature=7,
        eps_s=2.0**-32, eps_h=2.0**-32)
    assert got["ell"] == int(res.ell) == 4_625_113
    assert got["transmissivity_worst"] == pytest.approx(0.499256, abs=1e-6)
    assert got["eps_total"] == pytest.approx(2.0**-32 * (3 + 0.95 * 3))


@pytest.mark.parametrize(("change", "argv", "message"), [
    ({"excess_noise_hat": -0.01}, [], "excess_noise_hat: Input should be greater than or equal"),
    ({"transmissivity_hat": 1.2}, [], "transmissivity_hat: Input should be less than or equal"),
    ({"transmissivity_hat": 1.0}, [], "transmissivity_hat: a channel with transmissivity 1"),
    ({"bound": "lim2014"}, [], "bound: bound 'lim2014' is not defined for protocol gg02"),
    ({}, ["--protocol", "bb84-decoy-3"], "protocol: the document is for protocol 'gg02', not"),
    ({"frames_decoded": 101}, [], "Value error, 101 frames decoded of 100"),
])
def test_bad_block_is_one_line_exit_4(tmp_path: Path, run_cli, change: dict[str, Any],
                                      argv: list[str], message: str) -> None:
    path = _write(tmp_path, {**BLOCK, **change})
    out = run_cli("protocol", "key-length", path, *argv)
    assert out.exit_code == ExitCode.BAD_INPUT
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]


def test_bb84_counts_evaluated_as_gg02_are_refused(tmp_path: Path, run_cli) -> None:
    counts = {"bound": "lim2014", "intensities": [0.5, 0.1, 0.0]}
    out = run_cli("protocol", "key-length", _write(tmp_path, counts), "--protocol", "gg02")
    assert out.exit_code == ExitCode.BAD_INPUT
    assert "bound 'lim2014' is not defined for protocol gg02" in out.stderr


def test_rate_json(run_cli) -> None:
    out = run_cli("protocol", "rate", "--protocol", "gg02", "--distance-km", "15", "--block",
                  "1e6", *RATE, "--param", "rep_rate_hz=1e8", "--json")
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    t = 10 ** (-0.3)
    assert got["parameters"]["transmissivity"] == pytest.approx(t)
    assert got["asymptotic_rate"] == pytest.approx(float(
        g.asymptotic_key_rate("homodyne", 20, t, 0.01, 0.8, 0.1, 0.95)))
    assert 0 < got["key_rate_per_symbol"] < got["asymptotic_rate"]
    assert got["skr_bps"] == pytest.approx(got["key_rate_per_symbol"] * 1e8)


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--distance-km", "15", "--block", "1e6", "--param", "excess_noise=-0.01"],
     ExitCode.BAD_INPUT, "--param excess_noise: Input should be greater than or equal to 0"),
    (["--block", "1e6", "--param", "transmissivity=1.2"],
     ExitCode.BAD_INPUT, "--param transmissivity: Input should be less than or equal to 1"),
    (["--bound", "lim2014", "--block", "1e6"],
     ExitCode.BAD_INPUT, "--bound: bound 'lim2014' is not defined for protocol gg02"),
    (["--attenuation-db", "3", "--block", "1e6", "--mu", "0.5,0.1"],
     ExitCode.USAGE, "--mu do not apply to gg02"),
])
def test_rate_bad_input(run_cli, argv: list[str], code: int, message: str) -> None:
    base = RATE if "--param" not in argv else RATE[2:]
    out = run_cli("protocol", "rate", "--protocol", "gg02", *argv, *base)
    assert out.exit_code == code
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_claims_model() -> None:
    plugin = get_plugin("gg02")
    claims = {"protocol": "gg02", "detection": "heterodyne", "modulation_variance": 10,
              "detector_efficiency": 0.7, "electronic_noise": 0.05, "beta": 0.95,
              "frame_symbols": 10**6, "pe_symbols_per_frame": 10**5,
              "excess_noise_abort_threshold": 0.05}
    assert plugin.validate_claims(claims).bits_per_quadrature == 7  # type: ignore[attr-defined]
    with pytest.raises(EvidenceError, match=r"claims\.electronic_noise: Input should be greater"):
        plugin.validate_claims({**claims, "electronic_noise": -0.1})
    with pytest.raises(EvidenceError, match="would use every symbol"):
        plugin.validate_claims({**claims, "pe_symbols_per_frame": 10**6})


def test_block_columns_give_the_documents_key_length_row_by_row() -> None:
    # The vectorised recomputation a GG02 key-length check will run on block records equals the
    # one-block document's, row by row; a block with no decoded frame is allowed no key.
    import numpy as np

    from evaltool.protocols.gg02 import GG02BlockEvidence, block_key_lengths

    rows = [
        {**BLOCK},
        {**BLOCK, "transmissivity_hat": 0.45, "excess_noise_hat": 0.012, "frames_decoded": 90},
        {**BLOCK, "excess_noise_hat": 0.3},  # too noisy: no key
        {**BLOCK, "frames_decoded": 0},
    ]
    names = ("frames", "frame_symbols", "pe_symbols", "frames_decoded", "transmissivity_hat",
             "excess_noise_hat")
    columns = {k: np.array([r[k] for r in rows]) for k in names}
    setup = GG02BlockEvidence.model_validate(BLOCK)
    res, _ = block_key_lengths(setup, columns)
    singles = [int(get_plugin("gg02").key_length(r).payload["ell"]) for r in rows[:3]]
    assert res.ell.tolist() == [*singles, 0]
    assert singles[0] == 4_625_113 and singles[1] > 0 and singles[2] == 0
