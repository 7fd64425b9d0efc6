"""``evaltool leakage``: JSON document, verdict rule, chunk-size invariance, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from evaltool.cli import main
from evaltool.cli.leakage import leakage


def _table(
    n: int,
    *,
    shift_ps: float = 0.0,
    seed: int = 1,
    classes: tuple[str, ...] = ("X", "Z"),
    prev_shift: float = 0.0,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    basis = rng.choice(np.array(classes), n)
    code = np.searchsorted(np.array(sorted(classes)), basis)
    prev = np.concatenate([[0], code[:-1]])
    t = 1e12 + rng.normal(0.0, 10.0, n) + shift_ps * code + prev_shift * prev
    amp = rng.normal(1.0, 0.05, n)
    return pd.DataFrame({"basis": basis, "time_ps": t, "amp_v": amp})


def _write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


def _run(args: list[str]) -> tuple[int, dict]:
    res = CliRunner().invoke(leakage, [*args, "--json"])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res.exit_code, json.loads(res.output)


def test_leaky_feature_fails_with_the_documented_json(tmp_path: Path) -> None:
    df = _table(60_000, shift_ps=0.8)
    f = _write(df, tmp_path / "pulses.parquet")
    code, doc = _run(
        [
            str(f),
            "--label",
            "basis",
            "--feature",
            "time_ps",
            "--feature",
            "amp_v",
            "--order",
            "1,2,3",
        ]
    )
    assert code == 1 and doc["verdict"] == "fail"
    assert "time_ps" in doc["reason"]
    feat = doc["features"]["time_ps"]
    assert set(feat) == {"t", "p", "chi2", "mi", "tvd", "mde"}
    assert set(feat["t"]) == {"1", "2", "3"} and set(feat["chi2"]) >= {"statistic", "pvalue"}
    assert len(feat["mi"]["ci"]) == 2 and len(feat["tvd"]["ci"]) == 2
    # t is class 1 minus class 0 in the sorted label order ("X" < "Z"): Z is later, t > 0.
    x = df["time_ps"].to_numpy()
    z = df["basis"].to_numpy() == "Z"
    ref = stats.ttest_ind(x[z] - 1e12, x[~z] - 1e12, equal_var=False)
    assert feat["t"]["1"] == pytest.approx(ref.statistic, rel=1e-9)
    assert feat["p"]["1"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert feat["t"]["1"] > 4.5
    assert abs(doc["features"]["amp_v"]["t"]["1"]) < 4.5


def test_json_is_identical_whatever_the_chunk_size(tmp_path: Path) -> None:
    f = _write(_table(20_000, shift_ps=0.3), tmp_path / "p.parquet")
    outs = []
    for chunk in ("20000", "4096", "999", "17"):
        res = CliRunner().invoke(
            leakage,
            [
                str(f),
                "--label",
                "basis",
                "--feature",
                "time_ps",
                "--order",
                "1,2",
                "--condition-previous",
                "2",
                "--chunk-rows",
                chunk,
                "--json",
            ],
        )
        outs.append(res.output)
    assert outs[0] and all(o == outs[0] for o in outs)


def test_csv_and_parquet_give_the_same_document(tmp_path: Path) -> None:
    df = _table(5000, shift_ps=0.5)
    a = _run([str(_write(df, tmp_path / "p.csv")), "--label", "basis", "--feature", "time_ps"])
    b = _run([str(_write(df, tmp_path / "p.parquet")), "--label", "basis", "--feature", "time_ps"])
    assert a == b


def test_underpowered_data_is_inconclusive_with_the_mde(tmp_path: Path) -> None:
    f = _write(_table(3000), tmp_path / "small.parquet")
    code, doc = _run([str(f), "--label", "basis", "--feature", "time_ps"])
    assert code == 3 and doc["verdict"] == "inconclusive"
    assert "minimum detectable effect" in doc["reason"]
    # MDE = (critical + z_0.8)·SE with critical 4.786 for 2 tests (Šidák at α 6.8e-6).
    mde = doc["features"]["time_ps"]["mde"]
    assert f"{mde:.6g}" in doc["reason"]
    assert mde == pytest.approx((4.786 + 0.8416) * 10.0 * np.sqrt(4 / 3000), rel=0.05)


def test_enough_honest_data_passes(tmp_path: Path) -> None:
    f = _write(_table(60_000, seed=3), tmp_path / "honest.parquet")
    code, doc = _run([str(f), "--label", "basis", "--feature", "time_ps"])
    assert (code, doc["verdict"]) == (0, "pass"), doc["reason"]


def test_pattern_effect_needs_conditioning_on_the_previous_pulse(tmp_path: Path) -> None:
    f = _write(_table(60_000, seed=4, prev_shift=1.0), tmp_path / "pattern.parquet")
    _, plain = _run([str(f), "--label", "basis", "--feature", "time_ps"])
    code, cond = _run(
        [str(f), "--label", "basis", "--feature", "time_ps", "--condition-previous", "1"]
    )
    assert plain["verdict"] != "fail"
    assert code == 1 and cond["verdict"] == "fail"
    assert cond["features"]["time_ps"]["t"]["1"] > 4.5
    assert set(cond["features"]["time_ps"]["bivariate"]) == {"lag", "t", "p"}


def test_multiclass_label_uses_welch_anova(tmp_path: Path) -> None:
    f = _write(_table(30_000, shift_ps=1.0, classes=("a", "b", "c")), tmp_path / "m.parquet")
    code, doc = _run([str(f), "--label", "basis", "--feature", "time_ps"])
    feat = doc["features"]["time_ps"]
    assert feat["t"] == {"1": None} and feat["anova"]["1"] > 0
    assert code == 1 and feat["p"]["1"] < 1e-10


def test_single_label_value_is_inconclusive(tmp_path: Path) -> None:
    f = _write(_table(100, classes=("X",)), tmp_path / "one.parquet")
    code, doc = _run([str(f), "--label", "basis", "--feature", "time_ps"])
    assert code == 3 and "takes 1 value" in doc["reason"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--label", "basis", "--feature", "nope"], 4, "missing column(s): nope"),
        (["--label", "basis", "--feature", "time_ps", "--order", "4"], 2, "--order"),
        (["--label", "basis", "--feature", "basis"], 2, "both the label and a feature"),
        (["--label", "time_ps", "--feature", "amp_v"], 4, "distinct values"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    f = _write(_table(1000), tmp_path / "p.parquet")
    with pytest.raises(SystemExit) as exc:
        main(["leakage", str(f), *args])
    err = capsys.readouterr().err
    assert exc.value.code == code
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_non_numeric_feature_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = _table(1000)
    df["tag_v"] = "x"
    f = _write(df, tmp_path / "p.parquet")
    with pytest.raises(SystemExit) as exc:
        main(["leakage", str(f), "--label", "basis", "--feature", "tag_v"])
    assert exc.value.code == 4 and "not numeric" in capsys.readouterr().err


def test_a_drifting_feature_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A feature that is steady while the bins are calibrated (first 4096 rows) and then drifts
    # would need millions of bins of the calibrated width.
    n = 75_000  # more rows after calibration than the 65,536-bin bound
    df = _table(n)
    drift = np.maximum(np.arange(n) - 4096, 0) * 100.0
    df["emit_time_ps"] = np.random.default_rng(0).normal(0.0, 1.0, n) + drift
    f = _write(df, tmp_path / "drift.parquet")
    with pytest.raises(SystemExit) as exc:
        main(["leakage", str(f), "--label", "basis", "--feature", "emit_time_ps"])
    err = capsys.readouterr().err
    assert exc.value.code == 4 and "drifts" in err and "Traceback" not in err


def test_features_may_be_repeated_or_comma_separated(tmp_path: Path) -> None:
    f = _write(_table(3000, shift_ps=0.5), tmp_path / "p.parquet")
    a = _run([str(f), "--label", "basis", "--feature", "time_ps", "--feature", "amp_v"])
    b = _run([str(f), "--label", "basis", "--feature", "time_ps,amp_v"])
    assert a == b and list(a[1]["features"]) == ["time_ps", "amp_v"]
