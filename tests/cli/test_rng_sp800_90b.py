"""``evaltool rng sp800-90b`` (the click command object, driven with CliRunner).

Reference values: ``test_vectors/sp800_90b/reference.json`` (NIST SP800-90B_EntropyAssessment
1.1.7, ``ea_non_iid -v -v`` / ``ea_iid -v -v``; see its provenance block).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from evaltool.cli.rng_sp800_90b import sp800_90b
from evaltool.errors import EvidenceError, InsufficientDataError

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "test_vectors" / "sp800_90b"
REFERENCE: dict[str, Any] = json.loads((VECTORS / "reference.json").read_text())["results"]


def _sources() -> Any:
    spec = importlib.util.spec_from_file_location("sp800_90b_sources_cli", VECTORS / "sources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCES = _sources()


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(sp800_90b, list(args), catch_exceptions=True)


@pytest.fixture(scope="module")
def one_bit_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sp800_90b") / "uniform1.bin"
    path.write_bytes(SOURCES.uniform_1bit().tobytes())
    return path


def test_json_matches_reference_tool(one_bit_file: Path) -> None:
    """uniform-1bit@1000000: every estimator's h and p as ea_non_iid reports them."""
    result = _invoke(str(one_bit_file), "--bits-per-sample", "1", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    ref = REFERENCE["uniform-1bit@1000000"]["non_iid"]
    assert doc["bits_per_sample"] == 1 and doc["samples"] == 1_000_000
    assert doc["h_assessed"] == pytest.approx(ref["h_assessed"], abs=1e-6)
    assert doc["h_original"] == pytest.approx(ref["h_original"], abs=1e-6)
    assert doc["h_bitstring"] is None
    assert list(doc["estimators"]) == [
        "mcv", "collision", "markov", "compression", "t-tuple", "lrs",
        "multi-mcw", "lag", "multi-mmc", "lz78y",
    ]  # fmt: skip
    for name, values in ref["original"].items():
        assert doc["estimators"][name]["h"] == pytest.approx(values["min entropy"], abs=1e-6)
    assert doc["estimators"]["mcv"]["p"] == pytest.approx(ref["original"]["mcv"]["p_u"], abs=1e-6)
    assert doc["estimators"]["t-tuple"]["p"] == pytest.approx(
        ref["original"]["t-tuple"]["p_u"], abs=1e-6
    )
    assert "iid" not in doc


def test_packed_input_gives_the_same_assessment(one_bit_file: Path, tmp_path: Path) -> None:
    packed = tmp_path / "packed.bin"
    packed.write_bytes(np.packbits(np.fromfile(one_bit_file, dtype=np.uint8)).tobytes())
    a = json.loads(_invoke(str(one_bit_file), "-b", "1", "--json").output)
    b = json.loads(_invoke(str(packed), "-b", "1", "--packed", "--json").output)
    assert a == b


def test_text_output(one_bit_file: Path) -> None:
    result = _invoke(str(one_bit_file), "-b", "1")
    assert result.exit_code == 0
    h = REFERENCE["uniform-1bit@1000000"]["non_iid"]["h_assessed"]
    assert f"assessed min-entropy: {h:.6f} bits per sample" in result.output


def test_value_wider_than_declared_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "wide.bin"
    path.write_bytes(bytes([1, 0, 2, 1]))
    result = _invoke(str(path), "-b", "1")
    assert isinstance(result.exception, EvidenceError)
    assert str(result.exception) == (
        f"{path}:byte 2: sample value 2 does not fit in 1 bits (1 such bytes)"
    )


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    result = _invoke(str(tmp_path / "absent.bin"), "-b", "8")
    assert isinstance(result.exception, EvidenceError)
    assert "file not found" in str(result.exception)


def test_too_few_samples_is_insufficient(tmp_path: Path) -> None:
    """SP 800-90B §3.1.1 asks for 1,000,000 samples."""
    path = tmp_path / "short.bin"
    path.write_bytes(SOURCES.uniform_8bit(50_000).tobytes())
    result = _invoke(str(path), "-b", "8", "--json")
    assert isinstance(result.exception, InsufficientDataError)
    assert str(result.exception).startswith(str(path))
    assert "1000000" in str(result.exception)


def test_bits_per_sample_is_required_and_bounded(one_bit_file: Path) -> None:
    assert _invoke(str(one_bit_file)).exit_code == 2
    assert _invoke(str(one_bit_file), "-b", "9").exit_code == 2


@pytest.mark.slow
def test_iid_json_matches_reference_tool(tmp_path: Path) -> None:
    """uniform-8bit@1000000 on the IID track: chi-square, LRS, MCV as ea_iid reports them, and the
    same verdict."""
    path = tmp_path / "u8.bin"
    path.write_bytes(SOURCES.uniform_8bit().tobytes())
    result = _invoke(str(path), "-b", "8", "--iid", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    ref = REFERENCE["uniform-8bit@1000000"]["iid"]
    iid = doc["iid"]
    chi = ref["chi_square"]
    assert iid["chi_square"]["independence"]["statistic"] == pytest.approx(
        chi["independence"]["T"], rel=1e-9
    )
    assert iid["chi_square"]["goodness_of_fit"]["df"] == chi["goodness_of_fit"]["df"]
    assert iid["lrs"]["w"] == ref["lrs"]["W"]
    assert iid["passed"] == (
        ref["permutation_passed"] and ref["chi_square"]["passed"] and ref["lrs"]["passed"]
    )
    assert doc["estimators"]["mcv"]["h"] == pytest.approx(ref["mcv"]["min entropy"], abs=1e-6)


@pytest.mark.slow
def test_restart_section(tmp_path: Path) -> None:
    """A restart matrix of independent uniform bytes passes the sanity check and validation."""
    main = tmp_path / "main.bin"
    main.write_bytes(SOURCES.uniform_8bit().tobytes())
    restart = tmp_path / "restart.bin"
    restart.write_bytes(SOURCES.shake(b"evaltool-90b-restart", 1_000_000).tobytes())
    result = _invoke(str(main), "-b", "8", "--restart", str(restart), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    rs = doc["restart"]
    assert rs["sanity"]["passed"] and rs["validation"]["passed"] and rs["passed"]
    # §3.1.4.3: the validated entropy is min(H_I, H_r, H_c), H_I being FILE's assessment
    validation = rs["validation"]
    assert rs["h_initial"] == doc["h_assessed"]
    assert rs["h_final"] == min(doc["h_assessed"], validation["h_row"], validation["h_column"])
    assert min(validation["h_row"], validation["h_column"]) >= doc["h_assessed"] / 2
