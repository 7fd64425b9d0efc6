"""SP 800-90B IID track (§5) against the NIST SP800-90B_EntropyAssessment tool.

Reference values: ``test_vectors/sp800_90b/reference.json`` (tool 1.1.7, ``ea_iid -v -v``; see
its provenance block). The unpermuted statistics, chi-square and LRS results are deterministic
and must agree to 1e-6; the permutation counts depend on random permutations, so only the
verdicts are compared.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaltool.engines.stats.sp800_90b import (
    STATISTICS,
    assess_iid,
    chi_square_goodness_of_fit,
    chi_square_independence,
    compression_statistic,
    lrs_test,
    permutation_tests,
    prepare_samples,
)

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "test_vectors" / "sp800_90b"
REFERENCE: dict[str, Any] = json.loads((VECTORS / "reference.json").read_text())["results"]


def _sources() -> Any:
    spec = importlib.util.spec_from_file_location("sp800_90b_sources_iid", VECTORS / "sources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCES = _sources()
WITH_IID = sorted(k for k, v in REFERENCE.items() if v.get("iid", {}).get("statistics"))
FAST = [k for k in WITH_IID if REFERENCE[k]["n"] < 1_000_000]
FULL = [k for k in WITH_IID if REFERENCE[k]["n"] >= 1_000_000]


def _inputs(key: str) -> tuple[Any, Any, int, dict[str, Any]]:
    ref = REFERENCE[key]
    gen, bits = SOURCES.SOURCES[ref["source"]]
    data = gen(ref["n"])
    assert hashlib.sha256(data.tobytes()).hexdigest() == ref["input_sha256"]
    prep = prepare_samples(data, bits)
    return data, prep, bits, ref["iid"]


def _deterministic_parts(key: str) -> None:
    data, prep, _, ref = _inputs(key)
    k = prep.alphabet_size
    perm = permutation_tests(prep.symbols, data, k, n_permutations=0)
    for name in STATISTICS:
        expected = ref["statistics"][name]
        assert perm.statistics[name] == pytest.approx(expected, rel=1e-9, abs=1e-6), name
    indep = chi_square_independence(prep.symbols, k)
    gof = chi_square_goodness_of_fit(prep.symbols, k)
    chi = ref["chi_square"]
    assert indep.df == chi["independence"]["df"]
    assert indep.statistic == pytest.approx(chi["independence"]["T"], rel=1e-9, abs=1e-6)
    assert indep.pvalue == pytest.approx(chi["independence"]["P-value"], abs=1e-6)
    assert gof.df == chi["goodness_of_fit"]["df"]
    assert gof.statistic == pytest.approx(chi["goodness_of_fit"]["T"], rel=1e-9, abs=1e-6)
    assert gof.pvalue == pytest.approx(chi["goodness_of_fit"]["P-value"], abs=1e-6)
    assert (indep.pvalue >= 0.001 and gof.pvalue >= 0.001) == chi["passed"]
    lrs = lrs_test(prep.symbols, k)
    if "W" in ref["lrs"]:
        assert lrs.w == ref["lrs"]["W"]
        assert lrs.p_col == pytest.approx(ref["lrs"]["P_col"], abs=1e-12)
        assert lrs.pvalue == pytest.approx(ref["lrs"]["Pr(X >= 1)"], abs=1e-6)
    assert lrs.passed == ref["lrs"]["passed"]


@pytest.mark.parametrize("key", FAST)
def test_statistics_chi_square_lrs_100k(key: str) -> None:
    """Unpermuted statistics, chi-square and LRS results as ea_iid prints them."""
    _deterministic_parts(key)


@pytest.mark.slow
@pytest.mark.parametrize("key", FULL)
def test_statistics_chi_square_lrs_1e6(key: str) -> None:
    _deterministic_parts(key)


def _verdict(key: str) -> None:
    data, _, bits, ref = _inputs(key)
    if "permutation_passed" not in ref:
        pytest.skip(f"the reference run of ea_iid on {key} did not finish")
    res = assess_iid(data, bits, min_samples=0, seed=2026)
    assert res.permutation.passed == ref["permutation_passed"]
    assert res.mcv.min_entropy == pytest.approx(ref["mcv"]["min entropy"], abs=1e-6)


IID_SOURCES = [k for k in FAST if "markov" not in k and "sticky" not in k]


@pytest.mark.slow
@pytest.mark.parametrize("key", IID_SOURCES)
def test_permutation_verdict_on_iid_sources_100k(key: str) -> None:
    """IID sources pass the permutation tests, as with ea_iid."""
    _verdict(key)


@pytest.mark.slow
@pytest.mark.parametrize("key", [k for k in WITH_IID if k not in IID_SOURCES])
def test_permutation_verdict_other(key: str) -> None:
    """Dependent sources (and the 1e6 runs): same verdict as ea_iid."""
    _verdict(key)


def test_compression_statistic_text_encoding() -> None:
    """§5.1.11: values written in decimal separated by single spaces, then bzip2 (level 5)."""
    import bz2

    data = np.array([0, 7, 255, 10], dtype=np.uint8)
    assert compression_statistic(data) == len(bz2.compress(b"0 7 255 10", compresslevel=5))


def test_permutation_generator_is_reproducible() -> None:
    data = SOURCES.uniform_8bit(20_000)
    a = permutation_tests(data, data, 256, n_permutations=30, seed=7)
    b = permutation_tests(data, data, 256, n_permutations=30, seed=7)
    assert a.counts == b.counts and a.permutations_run == b.permutations_run


def test_dependent_source_fails_the_permutation_test() -> None:
    """markov-4bit repeats the previous sample with probability 1/4, so P(s_i = s_i+1) is about
    0.30 against 1/16 after shuffling: periodicity(1) exceeds every permuted value."""
    data = SOURCES.markov_4bit(10_000)
    res = permutation_tests(data, data, 16, n_permutations=100, seed=1)
    assert not res.passed
    greater, equal, _ = res.counts["periodicity(1)"]
    assert greater + equal == 0
    assert res.permutations_run == 100
