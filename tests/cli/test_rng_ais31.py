"""``evaltool rng ais31``: the AIS 20/31 procedures as a command (exit codes, text and JSON)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from evaltool.cli import main
from evaltool.engines.stats.ais31 import PROCEDURE_A_BITS, PROCEDURE_B_MIN_BITS


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["-q", "rng", "ais31", *args])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture(scope="module")
def ideal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.1 MB of SHAKE-256 output: enough for two attempts of either procedure."""
    path = tmp_path_factory.mktemp("ais31") / "ideal.bin"
    path.write_bytes(hashlib.shake_256(b"evaltool ais31 cli").digest(2_100_000))
    return path


@pytest.mark.parametrize("procedure", ["A", "b"])
def test_ideal_output_passes_either_procedure(ideal: Path, procedure: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([str(ideal), "--procedure", procedure], capsys)
    assert code == 0, out
    assert out.startswith(f"AIS 20/31 test procedure {procedure.upper()} on ideal.bin: pass")
    if procedure == "A":
        assert "T1 monobit: 257 instance(s), 0 failed; pass when 9654 < ones < 10346" in out
    else:
        assert "T8 entropy: 1 instance(s), 0 failed; pass when 7.976 < f_C" in out


def test_biased_output_fails_with_every_statistic_in_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each bit is 1 with probability 0.55: T1's bounds (9654, 10346) on 20,000 bits are about
    # 10 standard deviations from 11,000 ones, so every monobit instance fails, twice.
    rng = np.random.default_rng(31)
    bits = (rng.random(2 * PROCEDURE_A_BITS) < 0.55).astype(np.uint8)
    path = tmp_path / "biased.bin"
    path.write_bytes(np.packbits(bits).tobytes())
    code, out, _ = run([str(path), "--procedure", "A", "--json"], capsys)
    assert code == 1
    result = json.loads(out)
    assert (result["procedure"], result["outcome"], result["repeated"]) == ("A", "fail", False)
    (attempt,) = result["attempts"]
    t1 = next(t for t in attempt["tests"] if t["test"] == "T1")
    assert t1["failures"] == t1["instances_total"] == 257
    assert t1["bounds"] == [{"lower": 9654, "upper": 10346, "lower_inclusive": False,
                             "upper_inclusive": False}]


def test_too_few_bits_is_inconclusive_naming_the_bits_needed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.bin"
    path.write_bytes(b"\x5a" * 1000)
    code, out, _ = run([str(path), "--procedure", "B"], capsys)
    assert code == 3
    assert f"needs at least {PROCEDURE_B_MIN_BITS} bits" in out and "8000 given" in out
    code, out, _ = run([str(path), "--procedure", "B", "--json"], capsys)
    assert code == 3
    assert json.loads(out)["bits_needed"] == PROCEDURE_B_MIN_BITS


def test_a_missing_file_is_one_line_and_exit_4(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([str(tmp_path / "absent.bin"), "--procedure", "A"], capsys)
    assert code == 4
    assert err.strip().endswith("bit file not found or not a regular file")
    assert err.count("\n") == 1


def test_the_procedure_is_required(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, _ = run([str(tmp_path / "x.bin")], capsys)
    assert code == 2


def test_samples_of_b_bits_are_read_as_their_bits_msb_first(
        ideal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The packed file's bits, 4 at a time, in the low nibble of one byte each: the procedures
    # must see the same bit string, so every statistic of the JSON report is equal.
    bits = np.unpackbits(np.frombuffer(ideal.read_bytes(), dtype=np.uint8))
    nibbles = np.packbits(bits.reshape(-1, 4), axis=1, bitorder="big").ravel() >> 4
    assert nibbles[0] == bits[0] * 8 + bits[1] * 4 + bits[2] * 2 + bits[3]
    path = tmp_path / "nibbles.bin"
    path.write_bytes(nibbles.astype(np.uint8).tobytes())
    code_packed, packed, _ = run([str(ideal), "--procedure", "B", "--json"], capsys)
    code_b4, as_samples, _ = run([str(path), "--procedure", "B", "-b", "4", "--json"], capsys)
    assert code_packed == code_b4 == 0
    assert json.loads(as_samples) == json.loads(packed)
    code_b8, as_bytes, _ = run([str(ideal), "--procedure", "B", "--bits-per-sample", "8",
                                "--json"], capsys)
    assert code_b8 == 0 and json.loads(as_bytes) == json.loads(packed)


def test_one_bit_samples_count_one_bit_per_byte(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # 8,000,000 one-bit samples are 8,000,000 bits: too few for procedure A (8,285,728).
    path = tmp_path / "bits.bin"
    path.write_bytes(np.random.default_rng(3).integers(0, 2, 8_000_000, dtype=np.uint8).tobytes())
    code, out, _ = run([str(path), "--procedure", "A", "-b", "1", "--json"], capsys)
    assert code == 3
    doc = json.loads(out)
    assert (doc["bits_given"], doc["bits_needed"]) == (8_000_000, PROCEDURE_A_BITS)


@pytest.mark.parametrize("width", ["0", "9", "-1"])
def test_bits_per_sample_outside_1_to_8_is_a_usage_error(
        ideal: Path, width: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([str(ideal), "--procedure", "A", "--bits-per-sample", width], capsys)
    assert code == 2
    assert "--bits-per-sample" in err and "1<=x<=8" in err


def test_bits_per_sample_needs_the_binary_format(
        ideal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([str(ideal), "--procedure", "A", "-b", "4", "--format", "ascii"], capsys)
    assert code == 2
    assert "use it with --format binary" in err


def test_a_sample_wider_than_b_bits_is_refused_naming_its_byte(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wide.bin"
    path.write_bytes(bytes([1, 3, 2, 4, 0, 9]))
    code, _, err = run([str(path), "--procedure", "A", "-b", "2"], capsys)
    assert code == 4
    assert "byte 3" in err and "sample value 4 does not fit in 2 bits (2 such bytes)" in err
