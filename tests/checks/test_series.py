"""Data series that checks attach for the report's plots (presentation only)."""

from __future__ import annotations

import pandas as pd

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.checks.registry import parse_params
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import HONEST


def _run(kind: str):
    ctype = get(kind)
    assert ctype.run is not None
    ctx = CheckContext(load_bundle(HONEST), {}, seed=0)
    return ctype.run(parse_params(ctype, {"slot": "blocks"}), ctx)


def test_key_length_bound_plots_the_margin_per_block() -> None:
    out = _run("protocol.key-length-bound")
    assert out.verdict is Verdict.PASS
    (s,) = out.series
    blocks = pd.read_csv(HONEST / "blocks.csv")
    assert s.x == tuple(float(b) for b in blocks["block_id"])
    assert s.threshold == 0 and s.passes_if == "<="
    # The honest device outputs exactly its bound on every key-producing block.
    producing = blocks["pa_output_bits"].to_numpy() > 0
    assert all(v == 0 for v, p in zip(s.values, producing, strict=True) if p)


def test_abort_rule_plots_qber_with_the_threshold_and_abort_marks() -> None:
    out = _run("protocol.abort-rule")
    (s,) = out.series
    blocks = pd.read_csv(HONEST / "blocks.csv")
    assert s.threshold == 0.025  # claims.qber_abort_threshold of the honest bundle
    assert s.marks == tuple(float(b) for b in blocks.loc[blocks["aborted"] == 1, "block_id"])
    assert max(v for v in s.values if v is not None) < 0.025
