"""The source and port checks (``evaltool/checks/optical.py``) and their statistics: decided from
synthetic per-pulse tables, block counts and isolation spectra with known answers."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaltool.checks import get
from evaltool.checks.context import CheckContext
from evaltool.engines.stats.estimates import (
    circular_uniformity,
    mean_estimate,
    proportion_difference,
)
from evaltool.io.bundle import load_bundle
from evaltool.model.verdict import Verdict
from tests.support import csv_bytes, make_bundle


def _run(kind: str, root: Path, **params: object) -> tuple[Verdict, str, dict[str, float | None]]:
    ct = get(kind)
    o = ct.run(ct.params.model_validate(params), CheckContext(load_bundle(root), {}, 1))
    return o.verdict, o.reason, {m.name: m.value for m in o.measurements}


def _csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


def test_estimates() -> None:
    e = mean_estimate([1.0, 2.0, 3.0, 4.0])
    assert (e.value, e.n) == (2.5, 4)
    assert e.se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert math.isnan(mean_estimate([1.0]).se)
    d = proportion_difference(10, 1000, 30, 1000)
    assert d.value == pytest.approx(0.02)
    assert d.se == pytest.approx(math.sqrt(0.01 * 0.99 / 1000 + 0.03 * 0.97 / 1000))
    assert math.isnan(proportion_difference(0, 0, 1, 10).value)
    rng = np.random.default_rng(3)
    u = circular_uniformity(rng.uniform(0, 2 * np.pi, 50_000), bins=32)
    assert u.chi2_p > 0.001 and u.rayleigh_p > 0.001 and u.resultant < 0.02
    # Eight phases only: R is 0 (Rayleigh cannot see it) but the bins do.
    eight = (rng.integers(0, 8, 50_000) * np.pi / 4) % (2 * np.pi)
    u8 = circular_uniformity(eight, bins=32)
    assert u8.resultant < 0.02 and u8.chi2_p < 1e-100
    assert circular_uniformity(np.full(1000, 1.0)).rayleigh_p < 1e-100


def _pulses(tmp: Path, means: tuple[float, ...], n: int = 30_000, noise: float = 0.01) -> Path:
    rng = np.random.default_rng(7)
    cls = rng.integers(0, len(means), n)
    mu = np.asarray(means)[cls] * (1 + noise * rng.standard_normal(n))
    phase = rng.uniform(0, 2 * np.pi, n)
    df = pd.DataFrame({"pulse_index": np.arange(n), "intensity": cls,
                       "mu_measured_photons": mu, "rel_phase_rad": phase})
    return make_bundle(tmp, {"pulses": ("pulse-events", "csv", "pulses.csv", _csv(df))})


def test_mean_photon_number(tmp_path: Path) -> None:
    nominal = [0.5, 0.15, 0.0002]
    root = _pulses(tmp_path / "ok", (0.5, 0.15, 0.0002))
    v, reason, m = _run("source.mean-photon-number", root, intensities=nominal,
                        tolerance_rel=0.03)
    assert v is Verdict.PASS, reason
    assert abs(m["class_1_relative_deviation"] or 1) < 0.001
    root = _pulses(tmp_path / "off", (0.5, 0.159, 0.0002))
    v, reason, m = _run("source.mean-photon-number", root, intensities=nominal,
                        tolerance_rel=0.03)
    assert v is Verdict.FAIL
    assert "class 1: mean 0.158996 +- 4.78941e-05 against nominal 0.15 +- 0.0045" in reason
    assert m["class_1_relative_deviation"] == pytest.approx(0.06, abs=0.001)
    # On the edge of the tolerance with noisy pulses: not decided either way.
    root = _pulses(tmp_path / "edge", (0.5, 0.1545, 0.0002), n=3000, noise=0.5)
    v, reason, _ = _run("source.mean-photon-number", root, intensities=nominal,
                        tolerance_rel=0.03)
    assert v is Verdict.INCONCLUSIVE, reason


def test_phase_randomisation(tmp_path: Path) -> None:
    root = _pulses(tmp_path / "ok", (0.5,))
    assert _run("source.phase-randomisation", root)[0] is Verdict.PASS
    assert _run("source.phase-randomisation", root, min_pulses=100_000)[0] is \
        Verdict.INCONCLUSIVE
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"pulse_index": np.arange(20_000),
                       "rel_phase_rad": rng.normal(1.0, 0.8, 20_000) % (2 * np.pi)})
    bad = make_bundle(tmp_path / "bad", {"pulses": ("pulse-events", "csv", "p.csv", _csv(df))})
    v, reason, m = _run("source.phase-randomisation", bad)
    assert v is Verdict.FAIL and "not uniform" in reason
    assert (m["mean_resultant_length"] or 0) > 0.5


def _blocks(tmp: Path, test_errors: int) -> Path:
    header = ["block_id", "time_s", "ec_leakage_bits", "pa_output_bits", "aborted",
              "key_detections_0", "key_errors_0", "test_detections_0", "test_errors_0"]
    rows: list[list[object]] = [[b, b + 1.0, 10, 5, 0, 1_000_000, 12_000, 100_000, test_errors]
                                for b in range(4)]
    return make_bundle(tmp, {"blocks": ("block-records", "csv", "b.csv",
                                        csv_bytes(header, rows))})


def test_basis_qber_asymmetry(tmp_path: Path) -> None:
    v, reason, m = _run("protocol.basis-qber-asymmetry", _blocks(tmp_path / "ok", 1200),
                        max_difference=0.005)
    assert v is Verdict.PASS, reason
    assert m["qber_key"] == pytest.approx(0.012) and m["qber_difference"] == pytest.approx(0.0)
    v, reason, m = _run("protocol.basis-qber-asymmetry", _blocks(tmp_path / "bad", 3000),
                        max_difference=0.005)
    assert v is Verdict.FAIL and m["qber_difference"] == pytest.approx(0.018)
    # 0.5 % difference against a 0.5 % bound: within a few standard errors, undecided.
    v, _, _ = _run("protocol.basis-qber-asymmetry", _blocks(tmp_path / "edge", 1700),
                   max_difference=0.005)
    assert v is Verdict.INCONCLUSIVE


def _spectrum(tmp: Path, wl: np.ndarray, iso: np.ndarray) -> Path:
    df = pd.DataFrame({"wavelength_nm": wl, "isolation_db": iso})
    return make_bundle(tmp, {"isolation": ("isolation-spectrum", "csv", "iso.csv", _csv(df))})


def test_isolation_spectrum(tmp_path: Path) -> None:
    wl = np.arange(1000.0, 1701.0, 1.0)
    iso = np.full(wl.size, 130.0)
    p = {"min_db": 120, "band_nm": [1000, 1700]}
    v, reason, _ = _run("optical.isolation-spectrum", _spectrum(tmp_path / "ok", wl, iso), **p)
    assert (v, reason) == (Verdict.PASS, "isolation at least 130 dB (at 1000 nm) over "
                           "1000-1700 nm, required 120 dB")
    dip = iso - 15.0 * ((wl >= 1300) & (wl <= 1320))
    v, reason, m = _run("optical.isolation-spectrum", _spectrum(tmp_path / "dip", wl, dip), **p)
    assert v is Verdict.FAIL and reason == "isolation 115 dB at 1300 nm, below 120 dB"
    # A spectrum that stops at 1600 nm does not cover the band.
    short = wl <= 1600
    v, reason, m = _run("optical.isolation-spectrum",
                        _spectrum(tmp_path / "short", wl[short], iso[short]), **p)
    assert v is Verdict.INCONCLUSIVE and m["largest_gap_nm"] == 100.0
