"""The data series the ``monitor.*`` checks record for the report's plots.

Bundles: ``test_vectors/scenarios/<name>`` (``evaltool simulate NAME --seed 2026 --blocks 20``;
planted deviations in ``docs/scenarios.md``), with the GS QKD 016 profile's parameters filled from
the scenarios' security target, as in ``test_monitors.py``. Expected values are recomputed here
from the bundle files themselves.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from evaltool.checks.series import Envelope, bounded_series
from evaltool.engines.decision import sidak_level as sidak
from evaltool.engines.leakage import (
    binomial_critical_ratio,
    mismatch_interval_test,
    mismatch_lower_bound,
)
from evaltool.model.results import Series
from evaltool.model.verdict import Verdict
from tests.checks.test_monitors import (
    SCENARIOS,
    _copy,
    _need_vectors,
    _rewrite_parquet,
    monitor_params,
    run,
    run_monitor,
    st,
    verdicts,
)


def _by_name(series: tuple[Series, ...]) -> dict[str, Series]:
    return {s.name: s for s in series}


def _finite(values: tuple[float | None, ...]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


# --- the streaming reduction of long time series ------------------------------------------


def test_envelope_keeps_group_extremes_whatever_the_chunking() -> None:
    """5000 samples into at most 2000 points: groups of 4 (2500 > 2000 >= 1250)."""
    x = np.arange(5000) * 0.1
    v = np.sin(np.arange(5000) * 0.37) * 10.0
    whole = Envelope(2000)
    whole.update(x, v)
    chunked = Envelope(2000)
    for a in range(0, 5000, 7):
        chunked.update(x[a:a + 7], v[a:a + 7])
    assert whole.k == chunked.k == 4
    assert whole.points() == chunked.points()
    px, pv = whole.points()
    assert px == tuple(x[::4].tolist())
    assert pv == tuple(v.reshape(-1, 4).max(axis=1).tolist())
    low = Envelope(2000, lowest=True)
    low.update(x, v)
    assert low.points()[1] == tuple(v.reshape(-1, 4).min(axis=1).tolist())
    assert whole.series("p").name == "p (maximum of 4 samples)"


def test_envelope_keeps_short_series_and_shows_a_silent_monitor() -> None:
    x = np.arange(10.0)
    v = np.arange(10.0)
    v[3] = np.nan
    e = Envelope(2000)
    e.update(x, v)
    s = e.series("ingress", unit="dBm")
    assert e.k == 1 and s.name == "ingress" and s.x == tuple(x.tolist())
    assert s.values[3] is None and s.values[4] == 4.0


# --- monitor.trojan-horse -------------------------------------------------------------------


def test_trojan_horse_plots_ingress_power_with_the_abort_marks() -> None:
    """The honest monitor has 264 samples at 10 Hz (all kept); block 10, the one over the
    14.05 s probe, aborted and is the only mark (docs/scenarios.md, trojan-horse row)."""
    _need_vectors()
    (s,) = verdicts("honest")["trojan-horse"].series
    mon = pd.read_csv(SCENARIOS / "honest" / "monitors.csv")
    blocks = pd.read_csv(SCENARIOS / "honest" / "blocks.csv")
    assert s.values == tuple(mon["tx_ingress_power_dbm"].tolist())
    assert s.x == tuple(mon["time_s"].tolist()) and s.x_unit == "s"
    assert s.threshold == st()["ingress_power_threshold_dbm"] == -55
    assert s.passes_if is None  # crossing is allowed when an abort follows
    assert s.marks == tuple(blocks.loc[blocks["aborted"] == 1, "time_s"].tolist())
    assert len(s.marks) == 1 and 14.05 < s.marks[0] < 15.05 and s.marks_label == "abort"
    # The unanswered probe: the spike is there, no abort mark follows it.
    (t,) = verdicts("trojan-horse")["trojan-horse"].series
    assert max(v for v in t.values if v is not None) == pytest.approx(-38.0, abs=1.0)
    assert not [m for m in t.marks if 14.05 <= m <= 15.05]


# --- monitor.detector-blinding --------------------------------------------------------------


def test_critical_ratio_is_the_binomial_lower_tail_cut() -> None:
    """n = 10^8 gates at q = 5.5e-7 (55 expected) and a = 5e-5: the largest count whose lower
    tail is below a, found by scanning the binomial CDF."""
    n, q, a = 100_000_000, 5.5e-7, 5e-5
    c = max(k for k in range(60) if stats.binom.cdf(k, n, q) < a)
    got = binomial_critical_ratio(np.array([n]), np.array([q]), a)
    assert got == pytest.approx(c / 55.0, rel=1e-12)
    assert binomial_critical_ratio(np.array([100]), np.array([1e-4]), a) is None  # nothing can fail


def test_detector_blinding_plots_dark_counts_per_block_against_the_cut() -> None:
    """Blinding from block 5 on (0-3 vacuum errors against about 55): those 15 blocks lie
    under the line, the first five and every honest block above it."""
    _need_vectors()
    (s,) = verdicts("detector-blinding")["detector-blinding"].series
    (h,) = verdicts("honest")["detector-blinding"].series
    blocks = pd.read_csv(SCENARIOS / "detector-blinding" / "blocks.csv")
    assert s.x == tuple(float(b) for b in blocks["block_id"]) and s.x_name == "block_id"
    assert s.passes_if == ">" and s.threshold is not None and 0.4 < s.threshold < 0.6
    ratio = _finite(s.values)
    assert np.all(ratio[5:] < 0.1) and np.all(ratio[:5] > s.threshold)
    assert h.threshold is not None and np.all(_finite(h.values) > h.threshold)
    assert 0.95 * 20 <= np.sum(_finite(h.values)) <= 1.5 * 20  # honest: at or above the floor


def test_detector_blinding_plots_the_photocurrent_with_its_ceiling() -> None:
    """Blinded detectors draw 6 µA from block 5 on; the ST's ceiling is 2.2 µA."""
    _need_vectors()
    kind, params = monitor_params(st())["detector-blinding"]
    params = {**params, "photocurrent_slot": "monitors",
              "photocurrent_max_ua": st()["photocurrent_max_ua"]}
    o = run(kind, params, SCENARIOS / "detector-blinding")
    pc = _by_name(o.series)["rx_photocurrent_ua"]
    mon = pd.read_csv(SCENARIOS / "detector-blinding" / "monitors.csv")
    assert pc.values == tuple(mon["rx_photocurrent_ua"].tolist())
    assert pc.threshold == 2.2 and pc.passes_if == "<=" and pc.unit == "µA"
    assert max(v for v in pc.values if v is not None) == pytest.approx(6.0, abs=0.6)


# --- monitor.efficiency-mismatch ------------------------------------------------------------


def test_mismatch_lower_bound_rejects_exactly_when_the_bin_test_does() -> None:
    """The plotted bound crosses max_mismatch exactly when mismatch_interval_test's p-value
    falls below the level (Clopper-Pearson at a/2 is the inversion of each one-sided test)."""
    rng = np.random.default_rng(11)
    for share, bound in ((0.5, 0.03), (0.8, 0.03), (0.5, 0.2)):
        n = rng.integers(50, 20_000, 400)
        s_true = np.clip(share + rng.normal(0, 0.05, 400), 0.01, 0.99)
        ca = rng.binomial(n, s_true)
        r = mismatch_interval_test(ca, n - ca, max_mismatch=bound, expected_share=share)
        for a in (1e-3, 6e-5):
            lb = mismatch_lower_bound(r, a)
            assert np.array_equal(lb > bound, r.pvalue < a)
            assert np.all((lb >= 0) & (lb <= r.mismatch + 1e-12))


def test_efficiency_mismatch_plots_estimate_and_bound_per_time_bin() -> None:
    _need_vectors()
    honest = _by_name(verdicts("honest")["efficiency-mismatch"].series)
    assert set(honest) == {f"{k}, basis {b}" for b in (0, 1) for k in
                           ("mismatch estimate", "mismatch lower bound")}
    det = pq.read_table(SCENARIOS / "honest" / "detections.parquet").to_pandas()
    for s in honest.values():
        assert len(s.values) == 8 and s.threshold == st()["detector_mismatch_max"] == 0.03
        x = _finite(s.x)
        # Mean arrival time of equal-count bins: increasing, inside the data's range.
        assert np.all(np.diff(x) > 0)
        assert det["gate_offset_ps"].min() < x[0] and x[-1] < det["gate_offset_ps"].max()
    for b in (0, 1):
        assert np.all(_finite(honest[f"mismatch lower bound, basis {b}"].values)
                      <= 0.03)
    # Estimate and bound of a basis share one plot: consecutive, same group.
    groups = [s.group for s in verdicts("honest")["efficiency-mismatch"].series]
    assert groups == ["efficiency mismatch, basis 0"] * 2 + ["efficiency mismatch, basis 1"] * 2
    o = verdicts("efficiency-mismatch")["efficiency-mismatch"]
    shifted = _by_name(o.series)
    crossing = sum(int(np.sum(_finite(shifted[f"mismatch lower bound, basis {b}"]
                                      .values) > 0.03)) for b in (0, 1))
    hits = int(re.search(r"in (\d+) of \d+ time bins", o.reason).group(1))
    assert crossing == hits > 0
    # The ±30 ps shift: the earliest bin is dominated by the bit-0 detector (mismatch > 0.5).
    assert _finite(shifted["mismatch estimate, basis 0"].values)[0] > 0.5


# --- monitor.decoy-consistency --------------------------------------------------------------


def test_decoy_consistency_plots_gains_ratio_and_the_fit_statistic() -> None:
    """Gain per pulse against μ = (0.5, 0.15, 0.0002): linear loss gives Q_0/Q_1 = 0.5/0.15
    (η μ << 1, dark counts negligible at these gains); pns-no-decoy plants transmittance
    factors (1.0, 0.9, 0.9), so its per-block ratio sits at 0.9 and its fit statistic above
    Φ^-1(1 - a) with a the Šidák level of 21 tests."""
    _need_vectors()
    honest = verdicts("honest")["decoy-consistency"].series
    pns = verdicts("pns-no-decoy")["decoy-consistency"].series
    gain, ratio, z = honest
    assert gain.x == (0.5, 0.15, 0.0002) and gain.x_name == "mean photon number"
    q = _finite(gain.values)
    assert q[0] / q[1] == pytest.approx(0.5 / 0.15, rel=0.01)
    assert np.median(_finite(ratio.values)) == pytest.approx(1.0, abs=0.003)
    assert np.median(_finite(pns[1].values)) == pytest.approx(0.9, abs=0.005)
    crit = float(stats.norm.isf(sidak(0.001, 21)))
    assert z.threshold == pytest.approx(crit, rel=1e-12) and z.passes_if == "<="
    assert np.all(_finite(z.values) <= crit)
    assert np.sum(_finite(pns[2].values) > crit) >= 1
    assert len(ratio.values) == len(z.values) == 20


# --- monitor.pattern-effect -----------------------------------------------------------------


def test_pattern_effect_plots_each_cell_against_the_bound() -> None:
    """Pattern effect at lag 1 only: every lag-1 cell's lower bound exceeds the 0.005 bound
    (the reason's "9 of 18"), no lag-2 cell's; honest deviations stay below 0.001."""
    _need_vectors()
    s = _by_name(verdicts("pattern-effect")["pattern-effect"].series)
    low1 = _finite(s["|rel. deviation| lower bound, lag 1"].values)
    low2 = _finite(s["|rel. deviation| lower bound, lag 2"].values)
    assert len(low1) == len(low2) == 9
    assert int(np.sum(low1 > 0.005)) == 9 and int(np.sum(low2 > 0.005)) == 0
    est = _finite(s["|rel. deviation|, lag 1"].values)
    # After a decoy or vacuum pulse the mean is 1/1.018 - 1 = -1.77 % of the class mean.
    assert np.nanmax(est) == pytest.approx(1 - 1 / 1.018, abs=1.5e-3)
    honest = verdicts("honest")["pattern-effect"].series
    assert all(np.nanmax(_finite(h.values)) < 0.001 for h in honest)
    assert all(h.threshold == 0.005 for h in honest)
    # Three intensity settings: cell 3·k + j is "k after j", deviation and bound on one plot
    # per lag.
    cells = ("0 after 0", "0 after 1", "0 after 2", "1 after 0", "1 after 1", "1 after 2",
             "2 after 0", "2 after 1", "2 after 2")
    assert all(h.x_labels == cells for h in honest)
    assert [h.group for h in honest] == ["pattern effect, lag 1"] * 2 + [
        "pattern effect, lag 2"] * 2


# --- monitor.dead-time and monitor.afterpulsing ---------------------------------------------


def _detections(bundle: Path) -> pd.DataFrame:
    return pq.read_table(bundle / "detections.parquet").to_pandas()


def test_dead_time_histogram_is_empty_inside_the_dead_time() -> None:
    """60 bins of 2.5 ns over [0, 150) ns; every honest gap is at least 50 ns."""
    _need_vectors()
    (s,) = verdicts("honest")["dead-time"].series
    gaps_ns = np.diff(_detections(SCENARIOS / "honest")["time_ps"].to_numpy()) / 1000.0
    # Counts over the 61 bin edges, drawn as they are (style binned).
    assert s.x == tuple(2.5 * i for i in range(61)) and s.x_unit == "ns"
    assert s.style == "binned" and len(s.values) == 60
    assert s.marks == (50.0,) and s.marks_label == "dead time"
    counts = _finite(s.values)
    assert np.all(counts[:20] == 0)
    assert counts.sum() == np.sum(gaps_ns < 150.0)


def test_dead_time_histogram_shows_a_planted_violation(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    t = _detections(b)
    t.loc[100, "time_ps"] = int(t.loc[99, "time_ps"]) + 11_000  # 11 ns after the previous
    _rewrite_parquet(b, "detections.parquet", pa.Table.from_pandas(t, preserve_index=False))
    o = run_monitor("dead-time", b)
    assert o.verdict is Verdict.FAIL
    counts = _finite(o.series[0].values)
    assert counts[4] == 1 and counts[:20].sum() == 1  # the bin [10, 12.5) ns


def test_afterpulsing_histogram_counts_same_detector_gaps() -> None:
    """Bins over [0, 250) ns (dead time 50 ns, window 100 ns); marks at both window ends."""
    _need_vectors()
    (s,) = verdicts("honest")["afterpulsing"].series
    det = _detections(SCENARIOS / "honest")
    gaps_ns = np.concatenate([np.diff(g["time_ps"].to_numpy()) / 1000.0
                              for _, g in det.groupby("detector")])
    assert s.marks == (50.0, 150.0)
    assert s.x[0] == 0.0 and s.x[1] == pytest.approx(250.0 / 60, abs=1e-6)
    assert len(s.x) == 61 and s.x[-1] == 250.0 and s.style == "binned"
    assert _finite(s.values).sum() == np.sum(gaps_ns < 250.0)
    assert math.isclose(sum(_finite(s.values)[:12]), 0.0)  # nothing inside the dead time


def test_long_per_block_series_keep_the_deciding_extreme() -> None:
    """A day of 1 s blocks (86,400) is recorded as 1350 points (groups of 64), each the group's
    lowest ratio for a floor test; a short series is kept as it is."""
    x = np.arange(86_400, dtype=np.float64)
    v = 1.0 + 0.01 * np.cos(x)
    v[50_000] = 0.02  # one blinded block
    s = bounded_series("vacuum errors / dark-count floor", x, v, lowest=True, threshold=0.5,
                       passes_if=">", x_name="block_id")
    assert len(s.values) == 1350 and s.name.endswith("(minimum of 64 samples)")
    assert s.values[50_000 // 64] == 0.02 and s.x[50_000 // 64] == 50_000 // 64 * 64
    assert sum(1 for val in s.values if val is not None and val <= 0.5) == 1
    short = bounded_series("z", x[:20], v[:20])
    assert short.name == "z" and short.values == tuple(v[:20].tolist())
