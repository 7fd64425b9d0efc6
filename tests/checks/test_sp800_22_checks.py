"""The SP 800-22 check kinds on small hand-made bundles of RNG output."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evaltool.checks.sp800_22  # noqa: F401  (registers the sp800-22.* kinds)
from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.engines.stats import sp800_22 as sts
from evaltool.errors import EvidenceError, InsufficientDataError, ProfileError
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import make_bundle


def run(kind: str, params: dict[str, Any], bundle: Path):  # type: ignore[no-untyped-def]
    ctype = get(kind)
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(bundle), {}, seed=1)
    return ctype.run(parse_params(ctype, params), ctx), ctx


def rng_bundle(root: Path, bits: np.ndarray) -> Path:
    return make_bundle(root, {"rng": ("rng-raw", "binary", "rng.bin", np.packbits(bits).tobytes())})


def shake(nbits: int) -> np.ndarray:
    raw = hashlib.shake_256(b"evaltool checks").digest((nbits + 7) // 8)
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:nbits]


def test_kinds_are_registered() -> None:
    kinds = {f"sp800-22.{t}" for t in sts.TEST_NAMES} | {"sp800-22.battery"}
    assert {get(k).run.__module__ for k in kinds} == {"evaltool.checks.sp800_22"}


def test_battery_passes_on_cryptographic_output(tmp_path: Path) -> None:
    bits = shake(20 * 100_000)
    b = rng_bundle(tmp_path / "b", bits)
    tests = ["frequency", "runs", "cumulative-sums", "serial"]
    out, ctx = run("sp800-22.battery", {"slot": "rng", "n": 100_000, "tests": tests}, b)
    assert out.verdict is Verdict.PASS, out.reason
    assert "20 sequence(s) of 100000 bits" in out.reason
    values = {m.name: m.value for m in out.measurements}
    assert values["sequences"] == 20
    # the same numbers as the engine on the same bits (document second level)
    rep = sts.analyse(sts.run_tests(bits.reshape(20, 100_000), tests=tests), mode="document")
    assert values["serial.uniformity_pvalue"] == pytest.approx(
        rep.tests["serial"].uniformity_pvalue
    )
    assert [e.slot for e in ctx.evidence_used] == ["rng"]


def test_biased_output_fails_frequency(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    bits = (rng.random(20 * 100_000) < 0.505).astype(np.uint8)
    b = rng_bundle(tmp_path / "b", bits)
    out, _ = run("sp800-22.frequency", {"slot": "rng", "n": 100_000}, b)
    assert out.verdict is Verdict.FAIL
    assert "frequency" in out.reason and "passed" in out.reason


def test_single_sequence_decides_on_its_pvalue(tmp_path: Path) -> None:
    # One sequence of 1000 bits with 560 ones: s_obs = 120/√1000 = 3.79, p = 1.5e-4 < 0.01.
    bits = np.array([1] * 560 + [0] * 440, dtype=np.uint8)
    assert sts.frequency(bits).pvalue < 0.01
    b = rng_bundle(tmp_path / "b", bits)
    out, _ = run("sp800-22.frequency", {"slot": "rng", "n": 1000}, b)
    assert out.verdict is Verdict.FAIL
    # sts-2.1.2's integer bound accepts 0 passing sequences of 1 (documented in the module)
    ref, _ = run("sp800-22.frequency", {"slot": "rng", "n": 1000, "second_level": "reference"}, b)
    assert ref.verdict is Verdict.PASS


def test_default_battery_on_short_sequences_is_insufficient(tmp_path: Path) -> None:
    b = rng_bundle(tmp_path / "b", shake(4 * 100_000))
    with pytest.raises(InsufficientDataError, match="universal needs n >= 387840"):
        run("sp800-22.battery", {"slot": "rng", "n": 100_000}, b)


def test_too_few_sequences_is_insufficient(tmp_path: Path) -> None:
    b = rng_bundle(tmp_path / "b", shake(3 * 1000))
    with pytest.raises(InsufficientDataError, match="fewer than 4 sequence"):
        run("sp800-22.runs", {"slot": "rng", "n": 1000, "m": 4}, b)


def test_block_length_parameter(tmp_path: Path) -> None:
    bits = shake(10 * 10_000)
    b = rng_bundle(tmp_path / "b", bits)
    out, _ = run("sp800-22.serial", {"slot": "rng", "n": 10_000, "block_length": 5}, b)
    rep = sts.analyse(
        sts.run_tests(
            bits.reshape(10, 10_000),
            tests=["serial"],
            params=sts.Sp80022Params(serial_block_length=5),
        ),
        mode="document",
    )
    values = {m.name: m.value for m in out.measurements}
    assert values["serial.uniformity_pvalue"] == pytest.approx(
        rep.tests["serial"].uniformity_pvalue
    )
    with pytest.raises(ProfileError, match="takes no block_length"):
        run("sp800-22.runs", {"slot": "rng", "n": 10_000, "block_length": 5}, b)


def test_bad_parameters_are_profile_errors() -> None:
    ctype = get("sp800-22.battery")
    with pytest.raises(ProfileError, match="unknown SP 800-22 test"):
        parse_params(ctype, {"slot": "rng", "tests": ["spectral"]})
    with pytest.raises(ProfileError):
        parse_params(ctype, {"slot": "rng", "m": 0})
    with pytest.raises(ProfileError):
        parse_params(ctype, {"slot": "rng", "alpha": 1.5})


def test_table_column_of_basis_choices(tmp_path: Path) -> None:
    # Issue 4 input 3: a column of a bundle table (the transmitter's basis choices, 0/1)
    bits = shake(5 * 2000)
    rows = "\n".join(f"{i},{b}" for i, b in enumerate(bits))
    content = ("pulse_index,basis\n" + rows + "\n").encode()
    b = make_bundle(tmp_path / "b", {"pulses": ("pulse-events", "csv", "pulses.csv", content)})
    params = {"slot": "pulses", "column": "basis", "n": 2000}
    out, _ = run("sp800-22.frequency", params, b)
    rep = sts.analyse(sts.run_tests(bits.reshape(5, 2000), tests=["frequency"]), mode="document")
    assert out.verdict is (Verdict.PASS if rep.passed else Verdict.FAIL)
    values = {m.name: m.value for m in out.measurements}
    assert values["sequences"] == 5
    assert values["frequency.proportion"] == rep.tests["frequency"].proportion


def test_table_column_with_non_bits_is_bad_evidence(tmp_path: Path) -> None:
    rows = "".join(f"{i},{2 if i == 150 else i % 2}\n" for i in range(400))
    content = ("pulse_index,basis\n" + rows).encode()
    b = make_bundle(tmp_path / "b", {"pulses": ("pulse-events", "csv", "pulses.csv", content)})
    with pytest.raises(EvidenceError, match="holds 2 at row 151"):
        run("sp800-22.frequency", {"slot": "pulses", "column": "basis", "n": 100}, b)


def test_battery_plots_pvalue_bins_and_proportions(tmp_path: Path) -> None:
    """§4.2.2 bins C1..C10 of all p-values (20 sequences × 6 columns: frequency, runs, the two
    cumulative-sums directions, the two serial p-values) and the §4.2.1 proportion per test at
    its section 2.x, against (1 - α) - 3 sqrt(α(1 - α)/m) = 0.99 - 3 sqrt(0.0099/20)."""
    bits = shake(20 * 100_000)
    b = rng_bundle(tmp_path / "b", bits)
    tests = ["frequency", "runs", "cumulative-sums", "serial"]
    out, _ = run("sp800-22.battery", {"slot": "rng", "n": 100_000, "tests": tests}, b)
    hist, prop = out.series
    rep = sts.analyse(sts.run_tests(bits.reshape(20, 100_000), tests=tests), mode="document")
    expected = np.sum([c.histogram for s in rep.tests.values() for c in s.columns], axis=0)
    assert hist.values == tuple(float(v) for v in expected) and sum(hist.values) == 120
    # Counts over the edges of the ten §4.2.2 bins, drawn as they are (not binned again).
    assert hist.x == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert hist.style == "binned"
    assert prop.x == (1.0, 3.0, 11.0, 13.0)  # SP 800-22 §2.1, §2.3, §2.11, §2.13
    assert prop.x_labels == ("frequency", "runs", "serial", "cumulative-sums")
    assert prop.values == tuple(rep.tests[t].proportion for t in
                                ("frequency", "runs", "serial", "cumulative-sums"))
    assert prop.threshold == pytest.approx(0.99 - 3 * np.sqrt(0.01 * 0.99 / 20), rel=1e-12)
    assert prop.passes_if == ">="
    # sts-2.1.2 arithmetic: the bound truncated to a count, int(18.465) / 20.
    ref, _ = run("sp800-22.battery", {"slot": "rng", "n": 100_000, "tests": tests,
                                      "second_level": "reference"}, b)
    assert ref.series[1].threshold == 18 / 20


def test_single_test_plots_proportion_per_column(tmp_path: Path) -> None:
    bits = shake(10 * 10_000)
    b = rng_bundle(tmp_path / "b", bits)
    out, _ = run("sp800-22.serial", {"slot": "rng", "n": 10_000}, b)
    hist, prop = out.series
    rep = sts.analyse(sts.run_tests(bits.reshape(10, 10_000), tests=["serial"]), mode="document")
    assert sum(hist.values) == 20  # 10 sequences × 2 serial p-values
    assert prop.x == (1.0, 2.0) and prop.x_name == "column of the serial test"
    assert prop.x_labels == ("p1", "p2")  # SP 800-22 §2.11.4 (5): P-value1 and P-value2
    assert prop.values == tuple(c.proportion for c in rep.tests["serial"].columns)
