"""``evaltool protocol cascade``: JSON fields, values against the paper, and usage errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from evaltool.cli.protocol_cascade import cascade

_KEYS = {"efficiency_mean", "efficiency_sd", "frame_errors", "channel_uses_mean",
         "throughput_bits_per_s"}


def test_json_output_has_the_issue_fields_and_paper_values() -> None:
    result = CliRunner().invoke(cascade, ["--algorithm", "original", "--qber", "0.02", "--frame",
                                          "10000", "--runs", "30", "--seed", "5", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == _KEYS
    # Martinez-Mateo et al. 2015, Fig. 1: f = 1.15 at 2 % for n = 1e4 (read off the figure).
    assert abs(out["efficiency_mean"] - 1.15) <= 0.03
    assert 0 < out["efficiency_sd"] < 0.05
    assert out["frame_errors"] == 0
    # Fig. 3: about 48 channel uses at 2 % (read off; +-15 % accepted).
    assert abs(out["channel_uses_mean"] - 48) <= 0.15 * 48
    assert out["throughput_bits_per_s"] > 0


def test_same_seed_gives_the_same_statistics() -> None:
    args = ["--algorithm", "option4", "--qber", "0.05", "--frame", "2000", "--runs", "5",
            "--seed", "9", "--json"]
    a = json.loads(CliRunner().invoke(cascade, args).output)
    b = json.loads(CliRunner().invoke(cascade, args).output)
    assert a["efficiency_mean"] == b["efficiency_mean"]
    assert a["channel_uses_mean"] == b["channel_uses_mean"]


def test_text_output_names_the_block_sizes() -> None:
    result = CliRunner().invoke(cascade, ["--algorithm", "yanetal", "--qber", "0.01", "--frame",
                                          "10000", "--runs", "2"])
    assert result.exit_code == 0
    assert "80, 400, 5000" in result.output


def test_bad_qber_is_a_usage_error(run_cli) -> None:
    res = run_cli("protocol", "cascade", "--algorithm", "original", "--qber", "0.7", "--frame",
                  "1000", "--runs", "1")
    assert res.exit_code == 2
    assert "--qber" in res.stderr and res.stderr.count("\n") == 1
    res = run_cli("protocol", "cascade", "--algorithm", "biconf", "--qber", "0.1", "--frame",
                  "1000", "--runs", "1")
    assert res.exit_code == 2
