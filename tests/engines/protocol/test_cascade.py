"""Cascade reconciliation: exact leakage on hand-counted frames, efficiency against the paper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaltool.engines.protocol.cascade import (
    CascadeAlgorithm,
    binary_entropy,
    cascade_block_sizes,
    cascade_permutation,
    cascade_reconcile,
    cascade_simulate,
    transcript_leakage,
)


def _keys(n: int, errors: list[int], seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    bob[errors] ^= 1
    return alice, bob


def test_block_sizes_follow_the_published_parameter_sets() -> None:
    # Martinez-Mateo et al., QIC 15 (2015), Table 1.
    assert cascade_block_sizes("original", 0.01, 10_000) == (73, 146, 292, 584)
    assert cascade_block_sizes("yanetal", 0.02, 10_000) == (40, 200) + (5000,) * 8
    assert cascade_block_sizes("option4", 0.05, 10_000) == (20, 40) + (5000,) * 14


# Hand-counted frames: one error at key index 0 in a 1000-bit frame at an assumed QBER of 1 %.
# The error is in the first top-level block of pass 1; BINARY always descends into the left half
# (asked; the right half is never needed), so it asks one parity per level of the split
# k -> ceil(k/2) -> ... -> 1. Afterwards every block is even and later passes only disclose their
# top-level parities, one message each.
#   original: k = 73,146,292,584 -> 14+7+4+2 = 27 top-level parities; 73->37->19->10->5->3->2->1
#             = 7 questions; leak 34; messages 1+7 (pass 1) + 3 = 11.
#   yanetal:  k = 80,400,500x8 -> 13+3+16 = 32; 80->40->20->10->5->3->2->1 = 7; leak 39;
#             messages 8 + 9 = 17.
#   option4:  k = 100,200,500x14 -> 10 + (5-1) + 14x(2-1) = 28 (the last block of every later
#             pass follows from the frame parity); 100->50->25->13->7->4->2->1 = 7; leak 35;
#             messages 8 + 15 = 23; 15 parities inferred.
@pytest.mark.parametrize(
    ("algorithm", "leak", "uses", "inferred"),
    [("original", 34, 11, 0), ("yanetal", 39, 17, 0), ("option4", 35, 23, 15)],
)
def test_single_error_frame_leaks_exactly_the_hand_counted_parities(
    algorithm: str, leak: int, uses: int, inferred: int
) -> None:
    alice, bob = _keys(1000, [0])
    res = cascade_reconcile(alice, bob, qber=0.01, algorithm=algorithm, seed=11,
                            record_transcript=True)
    assert res.leaked_bits == leak
    assert res.channel_uses == uses
    assert res.inferred_parities == inferred
    assert res.residual_errors == 0
    assert np.array_equal(res.corrected, alice)


@pytest.mark.parametrize("algorithm", list(CascadeAlgorithm))
def test_transcript_lists_every_disclosed_parity_once_with_alices_value(algorithm: str) -> None:
    n = 4000
    rng = np.random.default_rng(8)
    errors = rng.choice(n, size=120, replace=False).tolist()
    alice, bob = _keys(n, errors)
    res = cascade_reconcile(alice, bob, qber=0.03, algorithm=algorithm, seed=99,
                            record_transcript=True)
    tr = res.transcript
    assert tr.shape[0] == res.leaked_bits
    assert transcript_leakage(tr) == res.leaked_bits  # no range disclosed twice
    perms = {}
    for p, s, e, parity in tr:
        if p not in perms:
            perms[p] = cascade_permutation(n, 99, int(p))
        assert int(alice[perms[p][s:e]].sum() % 2) == parity
    assert res.residual_errors == int(np.count_nonzero(res.corrected != alice))
    assert res.initial_errors == 120
    assert res.efficiency == pytest.approx(res.leaked_bits / (n * binary_entropy(120 / n)))


def test_runs_are_reproducible_from_the_seed_and_depend_on_it() -> None:
    alice, bob = _keys(3000, list(range(0, 3000, 41)))
    a = cascade_reconcile(alice, bob, qber=0.025, algorithm="yanetal", seed=3,
                          record_transcript=True)
    b = cascade_reconcile(alice, bob, qber=0.025, algorithm="yanetal", seed=3,
                          record_transcript=True)
    c = cascade_reconcile(alice, bob, qber=0.025, algorithm="yanetal", seed=4,
                          record_transcript=True)
    assert np.array_equal(a.transcript, b.transcript)
    assert not np.array_equal(a.transcript, c.transcript)
    assert np.array_equal(cascade_permutation(50, 3, 0), np.arange(50))
    assert sorted(cascade_permutation(50, 3, 2).tolist()) == list(range(50))


def test_simulation_matches_single_frame_reconciliation() -> None:
    sim = cascade_simulate(algorithm="original", qber=0.02, frame=2000, runs=5, seed=17)
    assert sim.n_errors == 40
    assert sim.leaked_bits.shape == (5,)
    assert np.all(sim.leaked_bits >= sum(math.ceil(2000 / k) for k in sim.block_sizes))
    assert sim.efficiency_mean == pytest.approx(
        float(np.mean(sim.leaked_bits)) / (2000 * binary_entropy(0.02))
    )


def test_invalid_inputs_raise() -> None:
    alice, bob = _keys(100, [1])
    with pytest.raises(ValueError, match="differ in length"):
        cascade_reconcile(alice, bob[:-1], qber=0.01)
    with pytest.raises(ValueError, match="qber"):
        cascade_reconcile(alice, bob, qber=0.6)
    with pytest.raises(ValueError):
        cascade_reconcile(alice, bob, qber=0.01, algorithm="biconf")
    with pytest.raises(ValueError, match="no error"):
        cascade_simulate(algorithm="original", qber=0.001, frame=100, runs=1)


# Efficiency at n = 1e4 against Martinez-Mateo et al. 2015, read off Fig. 1 (original) and Fig. 8
# (opt. (2), Yan et al.) to +-0.005 (docs/methods/cascade.md), and against runs of cascade-python
# (brunorijsman) made for this comparison (1000 frames, exact error count; mean and sd listed).
# 200 frames per point: the standard error of the mean is sd/sqrt(200) <= 0.0031 (the largest sd
# is 0.043 for yanetal at 1 %), so the +-0.03 band of the issue is ~10 standard errors wide.
# Agreement with cascade-python is tested at 5 combined standard errors plus 0.003: our original
# Cascade sits 0.001-0.002 below it at every QBER because we count a parity asked twice once,
# while cascade-python counts every question: on 20 frames at 5 % its commit c6706ab asked 3383.45
# parities per frame of which 3379.45 were distinct (4 bits = 0.0014 in f; our own measurement,
# instrumenting Reconciliation._service_pending_ask_correct_parity).
_PAPER = {
    ("original", 0.01): (1.13, 1.1418, 0.0101),
    ("original", 0.02): (1.15, 1.1588, 0.0080),
    ("original", 0.05): (1.18, 1.1828, 0.0044),
    ("yanetal", 0.01): (1.09, 1.0958, 0.0421),
    ("yanetal", 0.02): (1.08, 1.0829, 0.0256),
    ("yanetal", 0.05): (1.09, 1.0750, 0.0131),
}
_RUNS = 200


@pytest.mark.parametrize(("algorithm", "qber"), list(_PAPER))
def test_efficiency_at_1e4_bits_matches_paper(algorithm: str, qber: float) -> None:
    paper, cp_mean, cp_sd = _PAPER[(algorithm, qber)]
    sim = cascade_simulate(algorithm=algorithm, qber=qber, frame=10_000, runs=_RUNS, seed=2024)
    assert abs(sim.efficiency_mean - paper) <= 0.03
    se = math.hypot(sim.efficiency_sd / math.sqrt(_RUNS), cp_sd / math.sqrt(1000))
    assert abs(sim.efficiency_mean - cp_mean) <= 5 * se + 0.003
    # Frame error rate: the paper's Fig. 4 gives 4.2e-4..1.9e-5 for the original and Fig. 10 about
    # 3.2e-3 for opt. (2); at 200 frames the expected counts are <= 0.1 and 0.64, so more than 4
    # failed frames (probability < 1e-3 at the paper's rate) would contradict the paper.
    assert sim.frame_errors <= 4


@pytest.mark.parametrize(("qber", "paper_uses"), [(0.01, 47), (0.02, 48), (0.05, 41)])
def test_original_channel_uses_match_paper(qber: float, paper_uses: int) -> None:
    # Martinez-Mateo et al. 2015, Fig. 3 at n = 1e4 (read off; +-15 % accepted).
    sim = cascade_simulate(algorithm="original", qber=qber, frame=10_000, runs=50, seed=7)
    assert abs(sim.channel_uses_mean - paper_uses) <= 0.15 * paper_uses


def test_option4_efficiency_is_near_the_papers_option_4() -> None:
    # Martinez-Mateo et al. 2015, Fig. 11/12: opt. (4) f ~ 1.068 / 1.065 / 1.075 at 1 / 2 / 5 %
    # (read off). Our sub-block reuse reaches 1.087 / 1.085 / 1.097 (within +-0.03) and is below
    # the original's efficiency at every point.
    for qber, paper in [(0.01, 1.068), (0.02, 1.065), (0.05, 1.075)]:
        sim = cascade_simulate(algorithm="option4", qber=qber, frame=10_000, runs=60, seed=1)
        assert abs(sim.efficiency_mean - paper) <= 0.03
        assert sim.frame_errors == 0


def test_shuffle_prng_is_the_reference_splitmix64() -> None:
    # Rosetta Code, "Pseudo-random numbers/Splitmix64": seed 1234567 gives 6457827717110365317,
    # 3203168211198807973, 9817491932198370423; Vigna's splitmix64.c with state 0 starts
    # 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F.
    from evaltool.engines.protocol._cascade_kernel import splitmix64_stream

    assert splitmix64_stream(np.uint64(1234567), 3).tolist() == [
        6457827717110365317, 3203168211198807973, 9817491932198370423]
    assert splitmix64_stream(np.uint64(0), 3).tolist() == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_pass_permutation_follows_the_published_shuffle_specification() -> None:
    # Independent re-implementation of the specification in _cascade_kernel's docstring:
    # state = seed XOR (pass * 0x9E3779B97F4A7C15); for j = n-1 .. 1 swap j with next() % (j + 1).
    mask = (1 << 64) - 1

    def spec(n: int, seed: int, pass_index: int) -> list[int]:
        state = seed ^ ((pass_index * 0x9E3779B97F4A7C15) & mask)
        perm = list(range(n))
        for j in range(n - 1, 0, -1):
            state = (state + 0x9E3779B97F4A7C15) & mask
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            z ^= z >> 31
            k = z % (j + 1)
            perm[j], perm[k] = perm[k], perm[j]
        return perm

    for seed, p in [(0, 1), (12345, 3), (2**63 + 5, 15)]:
        assert cascade_permutation(257, seed, p).tolist() == spec(257, seed, p)


def test_queue_overflow_is_detected_and_the_frame_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    # Give the default workspace queues of 8 entries: every frame overflows, is detected, and is
    # repeated with full-size queues; the answer must equal the normal run's.
    from evaltool.engines.protocol import _cascade_kernel as kernel

    alice, bob = _keys(3000, list(range(5, 3000, 37)))
    expected = cascade_reconcile(alice, bob, qber=0.03, algorithm="option4", seed=8,
                                 record_transcript=True)
    real = kernel.workspace

    def tiny(n: int, sizes: tuple[int, ...], full_queues: bool = False) -> kernel.Workspace:
        if full_queues:
            return real(n, sizes, True)
        ws = kernel.Workspace(n, sizes)
        ws.hkey, ws.hval, ws.ask = ws.hkey[:8].copy(), ws.hval[:8].copy(), ws.ask[:8].copy()
        return ws

    monkeypatch.setattr(kernel, "workspace", tiny)
    got = cascade_reconcile(alice, bob, qber=0.03, algorithm="option4", seed=8,
                            record_transcript=True)
    assert (got.leaked_bits, got.channel_uses) == (expected.leaked_bits, expected.channel_uses)
    assert np.array_equal(got.transcript, expected.transcript)
    assert np.array_equal(got.corrected, expected.corrected)
    sim = cascade_simulate(algorithm="original", qber=0.02, frame=2000, runs=3, seed=4)
    monkeypatch.setattr(kernel, "workspace", real)
    ref = cascade_simulate(algorithm="original", qber=0.02, frame=2000, runs=3, seed=4)
    assert np.array_equal(sim.leaked_bits, ref.leaked_bits)


def test_published_trace_is_reproduced_and_every_parity_checks_out() -> None:
    # test_vectors/protocol/cascade/trace_original_1000.json: evaltool's own trace (a regression
    # vector, see its provenance); each disclosed parity is recomputed here from Alice's key and
    # the shuffle specification, independently of the kernel.
    import json
    from pathlib import Path

    path = (Path(__file__).resolve().parents[3] / "test_vectors" / "protocol" / "cascade"
            / "trace_original_1000.json")
    doc = json.loads(path.read_text())
    alice = np.unpackbits(np.frombuffer(bytes.fromhex(doc["alice_hex"]), dtype=np.uint8))
    bob = np.unpackbits(np.frombuffer(bytes.fromhex(doc["bob_hex"]), dtype=np.uint8))
    res = cascade_reconcile(alice, bob, qber=doc["qber_estimate"], algorithm=doc["algorithm"],
                            seed=doc["seed"], record_transcript=True)
    assert res.initial_errors == doc["initial_errors"] == 22
    assert (res.leaked_bits, res.channel_uses) == (doc["leaked_bits"], doc["channel_uses"])
    assert res.transcript.tolist() == doc["transcript"]
    for p, s, e, parity in doc["transcript"]:
        perm = cascade_permutation(doc["n"], doc["seed"], p)
        assert int(alice[perm[s:e]].sum() % 2) == parity
