"""SP 800-90B non-IID estimators against the NIST SP800-90B_EntropyAssessment tool.

Reference values: ``test_vectors/sp800_90b/reference.json`` (tool 1.1.7, ``ea_non_iid -v -v``,
inputs regenerated here from ``test_vectors/sp800_90b/sources.py``; see its ``provenance``) and
``shared/vectors/sp800-90b/anchor-reference.json`` (same tool on the SHAKE-256 anchor stream).
Every p-hat, p_u and min-entropy must agree to 1e-6.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaltool.engines.stats.sp800_90b import (
    ESTIMATORS,
    EstimatorResult,
    NonIIDResult,
    assess_non_iid,
    collision,
    compression,
    markov,
    most_common_value,
    prediction_bound,
    prepare_samples,
    tuple_estimates,
)
from evaltool.errors import InsufficientDataError

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "test_vectors" / "sp800_90b"
SHARED = REPO / ".." / "shared"
ANCHOR = SHARED / "vectors" / "sp800-90b" / "anchor-reference.json"
TOL = 1e-6


def _load_sources() -> Any:
    spec = importlib.util.spec_from_file_location("sp800_90b_sources", VECTORS / "sources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCES = _load_sources()
REFERENCE: dict[str, Any] = json.loads((VECTORS / "reference.json").read_text())["results"]


def _close(ours: float, ref: float, what: str) -> None:
    assert math.isfinite(ours), what
    assert abs(ours - ref) <= TOL, f"{what}: {ours!r} vs reference {ref!r}"


def _compare_estimator(name: str, ours: EstimatorResult, ref: dict[str, float], tag: str) -> None:
    where = f"{tag} {name}"
    _close(ours.min_entropy, ref["min entropy"], f"{where} min-entropy")
    if name == "mcv":
        assert ours.params["mode"] == ref["Mode count"]
        _close(ours.p_hat, ref["p-hat"], f"{where} p-hat")
        _close(ours.p_u, ref["p_u"], f"{where} p_u")
    elif name == "collision":
        _close(ours.params["X_bar"], ref["X-bar"], f"{where} X-bar")
        _close(ours.params["sigma_hat"], ref["sigma-hat"], f"{where} sigma-hat")
        _close(ours.p_u, ref["p"], f"{where} p")
    elif name == "markov":
        for key, rkey in (("P_0", "P_0"), ("P_00", "P_{0,0}"), ("P_10", "P_{1,0}")):
            _close(ours.params[key], ref[rkey], f"{where} {key}")
        _close(-math.log2(ours.p_u), -math.log2(ref["p-hat_max"]), f"{where} -log2 p_max")
    elif name == "compression":
        _close(ours.params["X_bar"], ref["X-bar"], f"{where} X-bar")
        _close(ours.params["sigma_hat"], ref["sigma-hat"], f"{where} sigma-hat")
        _close(ours.p_u, ref["p"], f"{where} p")
    elif name == "t-tuple":
        assert ours.params["t"] == ref["t"], where
        _close(ours.p_hat, ref["p-hat_max"], f"{where} p-hat")
        _close(ours.p_u, ref["p_u"], f"{where} p_u")
    elif name == "lrs":
        assert (ours.params["u"], ours.params["v"]) == (ref["u"], ref["v"]), where
        _close(ours.p_hat, ref["p-hat"], f"{where} p-hat")
        _close(ours.p_u, ref["p_u"], f"{where} p_u")
    else:
        assert ours.params["C"] == ref["C"], where
        assert ours.params["N"] == ref["N"], where
        assert ours.params["r"] == ref["r"], where
        _close(ours.p_hat, ref["P_global"], f"{where} P_global")
        _close(ours.params["P_global_prime"], ref["P_global'"], f"{where} P_global'")
        if "P_local" in ref:
            _close(ours.params["P_local"], ref["P_local"], f"{where} P_local")
        else:
            assert math.isnan(ours.params["P_local"]), where


def _compare(result: NonIIDResult, ref: dict[str, Any], tag: str) -> None:
    tracks = (("original", result.estimators), ("bitstring", result.bitstring_estimators))
    for track, ours in tracks:
        expected = ref[track]
        present = {k for k, v in ours.items() if v is not None}
        assert present == set(expected), f"{tag} {track}: {sorted(present)} vs {sorted(expected)}"
        for name, values in expected.items():
            res = ours[name]
            assert res is not None
            _compare_estimator(name, res, values, f"{tag} {track}")
    _close(result.h_original, ref["h_original"], f"{tag} H_original")
    _close(result.h_assessed, ref["h_assessed"], f"{tag} h_assessed")
    if "h_bitstring" in ref:
        assert result.h_bitstring is not None
        _close(result.h_bitstring, ref["h_bitstring"], f"{tag} H_bitstring")
    else:
        assert result.h_bitstring is None


def _run_reference(key: str) -> None:
    ref = REFERENCE[key]
    gen, bits = SOURCES.SOURCES[ref["source"]]
    data = gen(ref["n"])
    assert hashlib.sha256(data.tobytes()).hexdigest() == ref["input_sha256"]
    result = assess_non_iid(data, bits, min_samples=ref["n"])
    _compare(result, ref["non_iid"], key)


FAST = sorted(k for k in REFERENCE if REFERENCE[k]["n"] < 1_000_000)
FULL = sorted(k for k in REFERENCE if REFERENCE[k]["n"] >= 1_000_000 and "1bit" in k)
FULL_WIDE = sorted(k for k in REFERENCE if REFERENCE[k]["n"] >= 1_000_000 and "1bit" not in k)


@pytest.mark.parametrize("key", FAST)
def test_matches_reference_tool_100k(key: str) -> None:
    """100,000-sample inputs: every estimator as ea_non_iid reports it (reference.json)."""
    _run_reference(key)


@pytest.mark.parametrize("key", FULL)
def test_matches_reference_tool_1e6(key: str) -> None:
    """1,000,000 1-bit samples (reference.json)."""
    _run_reference(key)


@pytest.mark.slow
@pytest.mark.parametrize("key", FULL_WIDE)
def test_matches_reference_tool_1e6_wide(key: str) -> None:
    """1,000,000 4- and 8-bit samples with their 4,000,000 / 8,000,000-bit bit strings."""
    _run_reference(key)


def _anchor() -> dict[str, Any]:
    if not ANCHOR.exists():
        pytest.skip("shared/vectors/sp800-90b/anchor-reference.json is not available")
    return json.loads(ANCHOR.read_text())["results"]


def _compare_anchor(result: NonIIDResult, ref: dict[str, Any]) -> None:
    for name in ESTIMATORS:
        block = ref[name]
        orig = result.estimators[name]
        bit = result.bitstring_estimators.get(name)
        for key, value in block.items():
            if key in ("hOriginal", "tTupleRes", "lrsRes"):
                assert orig is not None
                _close(orig.min_entropy, value, f"anchor {name} {key}")
            elif key in ("hBitstring", "binTTupleRes", "binLrsRes"):
                assert bit is not None
                _close(bit.min_entropy, value, f"anchor {name} {key}")
            elif key == "mcvEstimatePHat":
                assert orig is not None
                _close(orig.p_hat, value, "anchor mcv p-hat")
            elif key == "mcvEstimatePU":
                assert orig is not None
                _close(orig.p_u, value, "anchor mcv p_u")
            elif key == "mcvEstimateMode":
                assert orig is not None
                assert orig.params["mode"] == value
    overall = ref["overall"]
    _close(result.h_assessed, overall["hAssessed"], "anchor hAssessed")
    _close(result.h_original, overall["hOriginal"], "anchor hOriginal")
    if "hBitstring" in overall:
        assert result.h_bitstring is not None
        _close(result.h_bitstring, overall["hBitstring"], "anchor hBitstring")


def test_anchor_1bit() -> None:
    """ea_non_iid 1.1.7 on the SHAKE-256 anchor stream, 1-bit (shared anchor-reference.json)."""
    ref = _anchor()["1bit"]
    data = SOURCES.anchor_1bit()
    assert hashlib.sha256(data.tobytes()).hexdigest() == ref["input_sha256"]
    _compare_anchor(assess_non_iid(data, 1), ref["non_iid"])


@pytest.mark.slow
def test_anchor_8bit() -> None:
    """ea_non_iid 1.1.7 on the SHAKE-256 anchor stream, 8-bit (shared anchor-reference.json)."""
    ref = _anchor()["8bit"]
    data = SOURCES.anchor_8bit()
    assert hashlib.sha256(data.tobytes()).hexdigest() == ref["input_sha256"]
    _compare_anchor(assess_non_iid(data, 8), ref["non_iid"])


# --------------------------------------------------------------------------- edge cases


def test_fewer_values_than_declared_are_translated() -> None:
    """§6.3 / the tool's translation: values {3, 9, 200} of 8 bits become symbols {0, 1, 2}."""
    data = np.array([3, 9, 200, 9, 3, 3], dtype=np.uint8)
    prep = prepare_samples(data, 8)
    assert prep.alphabet_size == 3
    assert prep.symbols.tolist() == [0, 1, 2, 1, 0, 0]
    # the bit string keeps the original values, MSB first
    assert prep.bits[:16].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1]


def test_two_values_of_wider_samples_use_the_binary_estimators() -> None:
    """Two distinct 4-bit values: the tool runs collision/Markov/compression on the samples and
    no bit-string track (alphabet size 2)."""
    rng = np.random.default_rng(5)
    data = np.where(rng.random(20_000) < 0.5, 3, 12).astype(np.uint8)
    res = assess_non_iid(data, 4, min_samples=20_000)
    assert res.alphabet_size == 2
    assert res.h_bitstring is None and not res.bitstring_estimators
    assert res.estimators["collision"] is not None
    assert res.h_assessed == pytest.approx(min(4.0, res.h_original))
    assert res.h_assessed <= 1.0


def test_single_value_has_no_entropy() -> None:
    """The tool awards no entropy to a one-symbol alphabet."""
    res = assess_non_iid(np.full(1000, 7, dtype=np.uint8), 3, min_samples=1000)
    assert res.h_assessed == 0.0 and res.h_original == 0.0


def test_below_minimum_sample_count_is_insufficient() -> None:
    """§3.1.1: at least 1,000,000 samples are required by default."""
    with pytest.raises(InsufficientDataError, match="1000000"):
        assess_non_iid(np.zeros(999_999, dtype=np.uint8) | 1, 1)


def test_tiny_inputs_raise_insufficient_data() -> None:
    """Estimators with a minimum length say so (compression needs 1001 6-bit blocks)."""
    bits = np.tile(np.array([0, 1, 1], dtype=np.uint8), 100)
    with pytest.raises(InsufficientDataError):
        compression(bits)
    with pytest.raises(InsufficientDataError):
        assess_non_iid(bits[:10], 1, min_samples=0)


def test_values_wider_than_declared_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"0\.\.15"):
        assess_non_iid(np.array([16, 1, 2], dtype=np.uint8), 4, min_samples=0)


def test_estimators_on_a_hand_checked_sequence() -> None:
    """Hand computation from the §6.3 formulas on a short sequence."""
    bits = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1] * 50, dtype=np.uint8)
    mcv = most_common_value(bits)
    # 300 ones of 500: p = 0.6, p_u = 0.6 + 2.5758293035489008 sqrt(0.24 / 499)
    assert mcv.p_hat == 0.6
    assert mcv.p_u == pytest.approx(0.6 + 2.5758293035489008 * math.sqrt(0.24 / 499), abs=1e-15)
    col = collision(bits)
    assert col.params["v"] > 0
    mk = markov(bits)
    assert 0.0 < mk.min_entropy <= 1.0
    t_res, lrs_res = tuple_estimates(bits)
    # a 10-periodic sequence repeats every tuple: the LRS is 490 long
    assert lrs_res is None or lrs_res.params["v"] == 490
    assert t_res is not None and t_res.params["t"] >= 10


def test_prediction_bound_local_term() -> None:
    """§6.3.7 step 6: a long run of correct predictions raises P_local above P_global'."""
    _, p_prime, p_local = prediction_bound(500, 1000, 200, 2)
    assert not math.isnan(p_local) and p_local > p_prime
    _, p_prime, p_local = prediction_bound(500, 1000, 5, 2)
    assert math.isnan(p_local)
