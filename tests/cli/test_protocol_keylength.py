"""``evaltool protocol key-length`` and ``evaltool protocol rate`` (issue 6, CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evaltool.cli.protocol_keylength import key_length, rate
from evaltool.errors import EvidenceError, ExitCode, UsageError

# The Lim 2014 regression vector of reference.json (key basis X). The expected outputs
# come from the independent mpmath computation in test_vectors/protocol/bounds/reference.json.
LIM_COUNTS: dict[str, Any] = {
    "bound": "lim2014",
    "intensities": [0.411, 0.2198, 0.0002],
    "probabilities": [0.3773, 0.4455, 0.1772],
    "key": {"detections": [6125230, 3872526, 2244], "errors": [148094, 94096, 454]},
    "test": {"detections": [171658, 108527, 63], "errors": [4150, 2637, 13]},
    "ec_leakage_bits": 1911180,
    "eps_sec": 1e-10,
    "eps_cor": 1e-15,
}

# The public Rusca 2018 worked example (docs/methods/finite-key.md) expressed as options;
# P_DC = 6e-7 for both detectors is 3e-7 per detector in evaltool's convention.
RUSCA_EXAMPLE = [
    "--bound", "rusca2018", "--attenuation-db", "25", "--block", "1e7",
    "--detector-efficiency", "1", "--dark-count", "3e-7", "--misalignment", "0.01",
    "--rep-rate-hz", "80e6", "--dead-time-s", "10e-6", "--f-ec", "1.16",
    "--mu", "0.5,0.1", "--p-mu", "0.5,0.5", "--p-key", "0.9",
    "--eps-sec", "1e-9", "--eps-cor", "1e-15",
]  # fmt: skip


def write(tmp_path: Path, doc: Any, name: str = "counts.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_key_length_json(tmp_path: Path) -> None:
    res = CliRunner().invoke(key_length, [str(write(tmp_path, LIM_COUNTS)), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert list(out) == ["ell", "s0", "s1", "s1_test", "v1_test", "phi"]
    assert out["ell"] == 2_600_927
    assert out["s0"] == 0.0
    assert out["s1"] == pytest.approx(6585560.985898252, rel=1e-10)
    assert out["s1_test"] == pytest.approx(157442.73812658526, rel=1e-10)
    assert out["v1_test"] == pytest.approx(8108.783120171581, rel=1e-10)
    assert out["phi"] == pytest.approx(0.05684874329531624, rel=1e-10)


def test_key_length_readable(tmp_path: Path) -> None:
    res = CliRunner().invoke(key_length, [str(write(tmp_path, LIM_COUNTS))])
    assert res.exit_code == 0, res.output
    assert "ell             2,600,927 bits" in res.output
    assert "bound lim2014 (version 1)" in res.output


def test_key_length_rusca_in_any_intensity_order(tmp_path: Path) -> None:
    # Counts of the Rusca 2018 example (reference.json model_counts), intensities weakest first.
    ref = json.loads(
        (
            Path(__file__).resolve().parents[2] / "test_vectors/protocol/bounds/reference.json"
        ).read_text()
    )["rusca2018_worked_example"]["model_counts"]
    doc = {
        "bound": "rusca2018",
        "intensities": [0.1, 0.5],
        "probabilities": [0.5, 0.5],
        "key": {"detections": ref["key_detections"][::-1], "errors": ref["key_errors"][::-1]},
        "test": {"detections": ref["test_detections"][::-1], "errors": ref["test_errors"][::-1]},
        "ec_leakage_bits": ref["ec_leakage_bits"],
        "eps_sec": 1e-9,
        "eps_cor": 1e-15,
    }
    res = CliRunner().invoke(key_length, [str(write(tmp_path, doc)), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ell"] == 3_737_689  # the Rusca 2018 worked example


def _without(path: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(LIM_COUNTS))
    *parents, last = path.split(".")
    node = doc
    for p in parents:
        node = node[p]
    del node[last]
    return doc


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(LIM_COUNTS))
    *parents, last = path.split(".")
    node = doc
    for p in parents:
        node = node[p]
    node[last] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "where", "problem"),
    [
        (_without("key.errors"), "key.errors", "required field is missing"),
        (_without("eps_cor"), "eps_cor", "required field is missing"),
        (_with("test.detections", [1, 2]), "test.detections", "list of 3 numbers"),
        (_with("key.detections", [1, -2, 3]), "key.detections[1]", "must not be negative"),
        (_with("test.errors", [4150, "x", 13]), "test.errors[1]", "expected a number"),
        (_with("key.errors", [7e6, 1, 1]), "key.errors[0]", "errors exceed"),
        (_with("bound", "gllp"), "bound", "unknown bound 'gllp'"),
        (_with("probabilities", [0.5, 0.5, 0.5]), "probabilities", "sum to 1"),
        (_with("intensities", [0.3, 0.2, 0.15]), "intensities", "violate the conditions"),
        (_with("eps_sec", 2), "eps_sec", "strictly between 0 and 1"),
        (_with("ec_leakage_bits", -5), "ec_leakage_bits", "must not be negative"),
    ],
)
def test_key_length_bad_input_names_file_and_field(
    tmp_path: Path, doc: dict[str, Any], where: str, problem: str
) -> None:
    path = write(tmp_path, doc)
    res = CliRunner().invoke(key_length, [str(path)])
    assert isinstance(res.exception, EvidenceError)
    msg = str(res.exception)
    assert msg.startswith(f"{path}:{where}: ")
    assert problem in msg


def test_key_length_rejects_nan_and_bad_json(tmp_path: Path) -> None:
    text = json.dumps(LIM_COUNTS).replace('"eps_sec": 1e-10', '"eps_sec": NaN')
    res = CliRunner().invoke(key_length, [str(write(tmp_path, text))])
    assert isinstance(res.exception, EvidenceError)
    assert "not valid JSON" in str(res.exception) and "NaN" in str(res.exception)
    res = CliRunner().invoke(key_length, [str(write(tmp_path, "[1, 2]"))])
    assert isinstance(res.exception, EvidenceError)
    assert "expected a JSON object" in str(res.exception)


def test_key_length_exit_code_through_error_boundary(tmp_path: Path, run_cli) -> None:
    path = write(tmp_path, _without("test.errors"))
    out = run_cli("protocol", "key-length", path)
    assert out.exit_code == ExitCode.BAD_INPUT
    assert out.stderr.strip() == f"evaltool: error: {path}:test.errors: required field is missing"


def test_rate_rusca_worked_example() -> None:
    # Rusca 2018 worked example: SKR 13,063 b/s, ell = 3.74e6 (3,737,689), phi = 0.03581;
    # within 0.1 %.
    res = CliRunner().invoke(rate, [*RUSCA_EXAMPLE, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out) == {"key_rate_per_pulse", "skr_bps", "ell", "phi", "parameters"}
    assert out["skr_bps"] == pytest.approx(13_063, rel=1e-3)
    assert out["ell"] == pytest.approx(3_737_689, rel=1e-3)
    assert out["phi"] == pytest.approx(0.03581, abs=5e-6)
    assert out["key_rate_per_pulse"] == pytest.approx(out["ell"] / out["parameters"]["pulses"])
    assert out["parameters"]["optimised"] == []
    readable = CliRunner().invoke(rate, RUSCA_EXAMPLE)
    assert "secret rate   13,062.7 bit/s" in readable.output


def test_rate_optimise_lim_kappa() -> None:
    # Lim 2014 Sec. IV defaults (kappa = 1e-15, mu3 = 2e-4 fixed); an independent optimisation
    # found at 50 km and n_X = 1e7 an optimum with q_K ≈ 0.857 and phi_K ≈ 0.055.
    res = CliRunner().invoke(
        rate,
        ["--bound", "lim2014", "--distance-km", "50", "--block", "1e7", "--optimise", "--json"],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["parameters"]["optimised"] == ["q_key", "mu1", "mu2", "p1", "p2"]
    assert out["parameters"]["mu"][2] == 2e-4
    assert out["parameters"]["p_key"] == pytest.approx(0.857, abs=0.03)
    assert out["phi"] == pytest.approx(0.055, abs=0.005)
    assert out["parameters"]["eps_sec"] == pytest.approx(1e-15 * out["ell"], rel=1e-6)


def test_rate_optimise_only_missing_parameters() -> None:
    res = CliRunner().invoke(
        rate, [*RUSCA_EXAMPLE[:-6], "--eps-sec", "1e-9", "--optimise", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["parameters"]["optimised"] == ["q_key"]
    assert out["parameters"]["mu"] == [0.5, 0.1]
    assert out["skr_bps"] >= 13_062.0  # never below the example's fixed p_Z = 0.9


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--bound", "lim2014", "--block", "1e7", "--optimise"], "exactly one of --distance-km"),
        (
            ["--bound", "lim2014", "--distance-km", "1", "--attenuation-db", "3", "--block", "1e7"],
            "exactly one of --distance-km",
        ),
        (["--bound", "lim2014", "--distance-km", "50", "--block", "1e7"], "or --optimise"),
        (
            ["--bound", "rusca2018", "--attenuation-db", "20", "--block", "1e7", "--mu", "0.5"],
            "--mu: expected 2",
        ),
        (
            ["--bound", "rusca2018", "--attenuation-db", "20", "--block", "1e7",
             "--p-mu", "0.7,0.7", "--optimise"],
            "--p-mu: probabilities must be positive and sum to 1",
        ),
        (
            ["--bound", "lim2014", "--distance-km", "50", "--block", "1e7",
             "--eps-sec", "1e-9", "--kappa", "1e-15", "--optimise"],
            "at most one of --eps-sec and --kappa",
        ),
        (
            ["--bound", "lim2014", "--distance-km", "-5", "--block", "1e7", "--optimise"],
            "must not be negative",
        ),
        (
            ["--bound", "lim2014", "--distance-km", "5", "--block", "1e7", "--optimise",
             "--detector-efficiency", "nan"],
            "detector_efficiency out of range",
        ),
        (
            ["--bound", "rusca2018", "--attenuation-db", "20", "--block", "1e7",
             "--mu", "0.1,0.1", "--p-mu", "0.5,0.5", "--p-key", "0.9"],
            "violate the conditions of rusca2018",
        ),
        (
            ["--bound", "lim2014", "--distance-km", "30", "--block", "1e4", "--optimise",
             "--mu", "0.1,0.1,0.1"],
            "--mu: intensities violate the conditions of lim2014",
        ),
    ],
)  # fmt: skip
def test_rate_usage_errors(args: list[str], problem: str) -> None:
    res = CliRunner().invoke(rate, args)
    assert isinstance(res.exception, UsageError), res.output
    assert problem in str(res.exception)


# --- protocol plugins (issue 20, item 4) ------------------------------------------------------


def test_key_length_protocol_from_option_document_or_bound(tmp_path: Path) -> None:
    path = write(tmp_path, LIM_COUNTS)
    by_bound = CliRunner().invoke(key_length, [str(path), "--json"])
    by_option = CliRunner().invoke(key_length, [str(path), "--protocol", "bb84-decoy-3", "--json"])
    by_doc = CliRunner().invoke(key_length, [str(write(tmp_path, {**LIM_COUNTS,
                                                                  "protocol": "bb84-decoy-3"},
                                                       "doc.json")), "--json"])
    assert json.loads(by_bound.output)["ell"] == 2_600_927
    assert by_option.output == by_bound.output == by_doc.output


@pytest.mark.parametrize(("extra", "argv", "message"), [
    ({}, ["--protocol", "bb84-decoy-2"],
     "bound: bound 'lim2014' is not defined for protocol bb84-decoy-2 (it is defined for "
     "bb84-decoy-3); defined: rusca2018"),
    ({"protocol": "gg02"}, ["--protocol", "bb84-decoy-3"],
     "protocol: the document is for protocol 'gg02', not the 'bb84-decoy-3' given by --protocol"),
    ({"protocol": "e91"}, [], "protocol: protocol 'e91' has no plugin (known: "),
])
def test_key_length_protocol_mismatch_is_one_line_exit_4(
        tmp_path: Path, run_cli, extra: dict[str, Any], argv: list[str], message: str) -> None:
    path = write(tmp_path, {**LIM_COUNTS, **extra})
    out = run_cli("protocol", "key-length", path, *argv)
    assert out.exit_code == ExitCode.BAD_INPUT
    assert out.stderr.strip().startswith(f"evaltool: error: {path}:{message}")
    assert len(out.stderr.strip().splitlines()) == 1


def test_rate_by_protocol_equals_rate_by_bound() -> None:
    by_bound = CliRunner().invoke(rate, [*RUSCA_EXAMPLE, "--json"])
    argv = ["--protocol", "bb84-decoy-2", *RUSCA_EXAMPLE[2:], "--json"]
    by_protocol = CliRunner().invoke(rate, argv)
    assert by_protocol.exit_code == 0, by_protocol.output
    assert by_protocol.output == by_bound.output


def test_rate_bound_of_another_protocol_is_exit_4(run_cli) -> None:
    out = run_cli("protocol", "rate", "--protocol", "bb84-decoy-3", *RUSCA_EXAMPLE)
    assert out.exit_code == ExitCode.BAD_INPUT
    assert out.stderr.strip() == (
        "evaltool: error: --bound: bound 'rusca2018' is not defined for protocol bb84-decoy-3 "
        "(it is defined for bb84-decoy-2); defined: lim2014")
