"""``evaltool rng sp800-22`` through click's test runner (the command object directly)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evaltool.cli.rng_sp800_22 import sp800_22
from evaltool.engines.stats import sp800_22 as sts
from evaltool.errors import EvidenceError, InsufficientDataError
from tests.engines import sp800_22_expansions as appendix_b

REPO = Path(__file__).resolve().parents[2]
GSHA1 = json.loads((REPO / "test_vectors" / "sp800_22" / "gsha1_pvalues.json").read_text())


def _shake(nbits: int) -> np.ndarray:
    raw = hashlib.shake_256(b"evaltool cli").digest((nbits + 7) // 8)
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:nbits]


@pytest.fixture
def binary_file(tmp_path: Path) -> Path:
    path = tmp_path / "rng.bin"
    path.write_bytes(np.packbits(_shake(5 * 20_000)).tobytes())
    return path


def test_json_output_matches_engine(binary_file: Path) -> None:
    res = CliRunner().invoke(
        sp800_22,
        [str(binary_file), "-n", "20000", "-m", "5", "--tests", "serial,frequency", "--json"],
    )
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    out = json.loads(res.output)
    assert set(out) == {"n", "sequences", "alpha", "tests"}
    assert (out["n"], out["sequences"], out["alpha"]) == (20_000, 5, 0.01)
    assert list(out["tests"]) == ["frequency", "serial"]  # the suite's order
    bits = _shake(5 * 20_000).reshape(5, 20_000)
    expected = sts.analyse(sts.run_tests(bits, tests=["frequency", "serial"])).to_dict()
    assert out == json.loads(json.dumps(expected))
    assert len(out["tests"]["serial"]["pvalues"][0]) == 2
    passed = all(t["passed"] for t in out["tests"].values())
    assert res.exit_code == (0 if passed else 1)


def test_ascii_and_binary_inputs_agree(binary_file: Path, tmp_path: Path) -> None:
    bits = _shake(5 * 20_000)
    text = "\n".join("".join(map(str, bits[i : i + 77])) for i in range(0, bits.size, 77))
    ascii_file = tmp_path / "rng.txt"
    ascii_file.write_text(text + "\n")
    args = ["-n", "20000", "--tests", "runs,cumulative-sums", "--json"]
    a = CliRunner().invoke(sp800_22, [str(binary_file), *args])
    b = CliRunner().invoke(sp800_22, [str(ascii_file), "--format", "ascii", *args])
    assert json.loads(a.output) == json.loads(b.output)
    assert json.loads(a.output)["sequences"] == 5  # -m defaults to all complete sequences


def test_gsha1_file_reproduces_reference(tmp_path: Path) -> None:
    # sts-2.1.2 on its own G-SHA1 output, test_vectors/sp800_22/gsha1_pvalues.json["one_1e6"]
    path = tmp_path / "gsha1.bin"
    path.write_bytes(np.packbits(appendix_b.g_sha1(1_000_000)).tobytes())
    res = CliRunner().invoke(sp800_22, [str(path), "--json"])
    out = json.loads(res.output)
    assert out["sequences"] == 1
    for name, expected in GSHA1["one_1e6"].items():
        got = [0.0 if v is None else v for v in out["tests"][name]["pvalues"][0]]
        assert np.max(np.abs(np.array(got) - np.array(expected))) <= 1e-6, name


def test_table_output(binary_file: Path) -> None:
    res = CliRunner().invoke(sp800_22, [str(binary_file), "-n", "20000", "--tests", "frequency"])
    assert "RESULTS FOR THE UNIFORMITY OF P-VALUES" in res.output
    assert "5 sequences of 20000 bits" in res.output
    digest = hashlib.sha256(binary_file.read_bytes()).hexdigest()
    assert digest in res.output


def test_unknown_test_is_a_usage_error(binary_file: Path) -> None:
    res = CliRunner().invoke(sp800_22, [str(binary_file), "--tests", "frequency,spectral"])
    assert res.exit_code == 2
    assert "spectral" in res.output


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.bin"
    res = CliRunner().invoke(sp800_22, [str(missing)])
    assert isinstance(res.exception, EvidenceError)
    assert str(missing) in str(res.exception)


def test_too_few_bits_is_insufficient_data(binary_file: Path) -> None:
    res = CliRunner().invoke(sp800_22, [str(binary_file), "-n", "20000", "-m", "6"])
    assert isinstance(res.exception, InsufficientDataError)
    assert str(binary_file) in str(res.exception)
    assert "120000 bits" in str(res.exception)


def test_bad_ascii_byte_names_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("0101x0101")
    res = CliRunner().invoke(sp800_22, [str(path), "--format", "ascii", "-n", "4"])
    assert isinstance(res.exception, EvidenceError)
    assert f"{path}:byte 4" in str(res.exception)


def test_document_variant_uses_exact_overlapping_probabilities(binary_file: Path) -> None:
    args = [str(binary_file), "-n", "20000", "--tests", "overlapping-template", "--json"]
    ref = json.loads(CliRunner().invoke(sp800_22, args).output)
    doc = json.loads(CliRunner().invoke(sp800_22, [*args, "--variant", "document"]).output)
    bits = _shake(5 * 20_000).reshape(5, 20_000)
    exact = sts.overlapping_template(bits, probabilities="exact").pvalues
    assert doc["tests"]["overlapping-template"]["pvalues"] == exact.tolist()
    assert (
        ref["tests"]["overlapping-template"]["pvalues"]
        != doc["tests"]["overlapping-template"]["pvalues"]
    )


def test_default_jobs_use_every_usable_core_on_large_inputs(
    binary_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evaltool.cli.rng_sp800_22 as cli_module

    workers: list[int] = []
    real = cli_module.run_groups

    def spy(groups, **kwargs):  # type: ignore[no-untyped-def]
        workers.append(kwargs["workers"])
        return real(groups, **kwargs)

    monkeypatch.setattr(cli_module, "run_groups", spy)
    monkeypatch.setattr(cli_module, "usable_cores", lambda: 2)
    args = [str(binary_file), "-n", "20000", "--tests", "frequency,runs", "--json"]
    small = CliRunner().invoke(sp800_22, args)  # 10^5 bits: below the threshold, in-process
    monkeypatch.setattr(cli_module, "_PARALLEL_BITS", 1)
    large = CliRunner().invoke(sp800_22, args)
    single = CliRunner().invoke(sp800_22, [*args, "--jobs", "1"])
    assert workers == [1, 2, 1]
    assert json.loads(small.output) == json.loads(large.output) == json.loads(single.output)
    assert json.loads(large.output)["sequences"] == 5


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity mask")
def test_usable_cores_is_the_affinity_mask() -> None:
    from evaltool.cli.rng_sp800_22 import usable_cores

    assert usable_cores() == len(os.sched_getaffinity(0))
