"""Transcript replay engine: each step recomputed from arrays, against the reference engines and
the published vectors (Toeplitz 512x256, AIT evhash)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltool.engines.protocol.auth import SUPPORTED_TAG_BITS, AuthKeyPool, wegman_carter_tag
from evaltool.engines.protocol.cascade import (
    cascade_permutation,
    cascade_reconcile,
    transcript_leakage,
)
from evaltool.engines.protocol.replay import (
    PadLedger,
    bits_sha256,
    replay_auth,
    replay_cascade,
    replay_estimation,
    replay_pa,
    replay_sifting,
    replay_verification,
    shuffled_copy,
)
from evaltool.engines.protocol.toeplitz import (
    toeplitz_hash,
    toeplitz_hash_direct,
    toeplitz_seed_from_row_column,
)

REPO = Path(__file__).resolve().parents[3]
TOEPLITZ_KAT = REPO / "test_vectors" / "protocol" / "toeplitz" / "rokzitko_512x256.json"
AUTH = REPO / "test_vectors" / "protocol" / "auth"


def _hexbits(h: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(h), dtype=np.uint8))


def _intbits(value: int, bits: int) -> np.ndarray:
    return np.array([(value >> (bits - 1 - i)) & 1 for i in range(bits)], dtype=np.uint8)


# --- sifting and estimation -------------------------------------------------------------------


def _rounds(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    ab, bb = rng.integers(0, 2, n, dtype=np.uint8), rng.integers(0, 2, n, dtype=np.uint8)
    det = rng.integers(0, 2, n, dtype=np.uint8)
    abit = rng.integers(0, 2, n, dtype=np.uint8)
    bbit = abit ^ (rng.random(n) < 0.05).astype(np.uint8)
    kept = (det & (ab == bb)).astype(np.uint8)
    pos = np.where(kept == 1, np.cumsum(kept, dtype=np.int64) - 1, -1)
    return {"rounds": np.arange(n, dtype=np.int64) * 3, "alice_basis": ab, "alice_bit": abit,
            "bob_detected": det, "bob_basis": bb, "bob_bit": bbit, "kept": kept,
            "sifted_position": pos, "sifted_alice": abit[kept == 1],
            "sifted_bob": bbit[kept == 1]}


def test_sifting_replays_and_names_the_first_wrong_round() -> None:
    r = _rounds(np.random.default_rng(1), 400)
    res = replay_sifting(**r)
    assert res.ok and res.rounds == 400 and res.kept == int(r["kept"].sum())
    dropped = int(np.flatnonzero(r["kept"] == 0)[3])
    r["kept"] = r["kept"].copy()
    r["kept"][dropped] = 1
    res = replay_sifting(**r)
    assert next(m.field for m in res.mismatches) == "kept"
    assert res.mismatches[0].count == 1 and res.mismatches[0].first == 3 * dropped


def test_sifting_finds_a_bit_moved_in_the_sifted_key() -> None:
    r = _rounds(np.random.default_rng(2), 400)
    sa = r["sifted_alice"].copy()
    sa[5] ^= 1
    res = replay_sifting(**(r | {"sifted_alice": sa}))
    assert [m.field for m in res.mismatches] == ["sifted_alice"]
    assert res.mismatches[0].first == 3 * int(np.flatnonzero(r["kept"])[5])


def test_sifting_key_basis_keeps_only_that_basis() -> None:
    r = _rounds(np.random.default_rng(3), 400)
    assert not replay_sifting(**r, key_basis=0).ok
    kept = (r["kept"] & (r["alice_basis"] == 0)).astype(np.uint8)
    pos = np.where(kept == 1, np.cumsum(kept, dtype=np.int64) - 1, -1)
    res = replay_sifting(**(r | {"kept": kept, "sifted_position": pos,
                                 "sifted_alice": r["alice_bit"][kept == 1],
                                 "sifted_bob": r["bob_bit"][kept == 1]}), key_basis=0)
    assert res.ok, res.mismatches


def _estimation(rng: np.random.Generator, n: int = 2000, m: int = 200
                ) -> dict[str, object]:
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < 0.04).astype(np.uint8)
    pos = np.sort(rng.choice(n, m, replace=False)).astype(np.int64)
    q = float(np.mean(a[pos] != b[pos]))
    return {"sifted_alice": a, "sifted_bob": b, "positions": pos, "alice_values": a[pos],
            "bob_values": b[pos], "qber_alice": q, "qber_bob": q,
            "reconciled_alice": np.delete(a, pos), "reconciled_bob": np.delete(b, pos)}


def test_estimation_recomputes_the_qber_and_the_key_without_revealed_bits() -> None:
    e = _estimation(np.random.default_rng(4))
    res = replay_estimation(**e)  # type: ignore[arg-type]
    assert res.ok and res.revealed == 200 and res.qber == e["qber_alice"]
    assert res.errors == round(200 * float(e["qber_alice"]))  # type: ignore[arg-type]
    res = replay_estimation(**(e | {"qber_bob": float(e["qber_bob"]) + 0.01}))  # type: ignore[arg-type]
    assert [m.field for m in res.mismatches] == ["qber_bob"]


def test_estimation_finds_a_revealed_bit_left_in_the_key() -> None:
    e = _estimation(np.random.default_rng(5))
    a, pos = e["sifted_alice"], e["positions"]
    assert isinstance(a, np.ndarray) and isinstance(pos, np.ndarray)
    leaky = np.delete(a, pos[1:])  # the first revealed bit stays in the key
    res = replay_estimation(**(e | {"reconciled_alice": leaky}))  # type: ignore[arg-type]
    assert [m.field for m in res.mismatches] == ["reconciled_alice"]
    clean = np.delete(a, pos)
    assert res.mismatches[0].count >= 1 and leaky.size == clean.size + 1


def test_estimation_position_outside_the_key() -> None:
    e = _estimation(np.random.default_rng(6))
    pos = e["positions"].copy()  # type: ignore[union-attr]
    pos[-1] = 10**6
    res = replay_estimation(**(e | {"positions": pos}))  # type: ignore[arg-type]
    assert res.mismatches[0].field == "positions" and res.mismatches[0].first == 199


# --- Cascade ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 1000, 4097])
@pytest.mark.parametrize("p", [0, 1, 2, 15])
def test_shuffled_copy_is_the_pass_permutation(n: int, p: int) -> None:
    x = np.random.default_rng(n).integers(0, 256, n).astype(np.uint8)
    assert np.array_equal(shuffled_copy(x, 2**63 + 11, p), x[cascade_permutation(n, 2**63 + 11, p)])


def _frame(seed: int, n: int, q: float, variant: str = "original"
           ) -> tuple[np.ndarray, np.ndarray, object]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < q).astype(np.uint8)
    return a, b, cascade_reconcile(a, b, qber=q, algorithm=variant, seed=seed,
                                   record_transcript=True)


def _replay(a: np.ndarray, b: np.ndarray, r, **kw):  # type: ignore[no-untyped-def]
    t = r.transcript
    args = {"frame_seed": r.seed, "variant": str(r.algorithm), "qber_used": r.qber,
            "reconciled_bob": b, "corrected_alice": a, "corrected_bob": r.corrected} | kw
    return replay_cascade(a, t[:, 0], t[:, 1], t[:, 2], t[:, 3].astype(np.uint8), **args)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(2, 3000), q=st.floats(0.005, 0.15),
       variant=st.sampled_from(["original", "yanetal", "option4"]))
def test_replay_counts_what_the_engine_leaks(seed: int, n: int, q: float, variant: str) -> None:
    a, b, r = _frame(seed, n, q, variant)
    res = _replay(a, b, r)
    assert res.disclosed_bits == r.leaked_bits == transcript_leakage(r.transcript)
    assert res.engine_leaked_bits == r.leaked_bits and res.engine_agrees is True
    # Bob's key may keep an error Cascade missed; the replay must say so, not hide it.
    assert res.residual_errors == r.residual_errors
    assert res.ok == (r.residual_errors == 0)


def test_replay_counts_the_engine_leakage_on_simulated_frames() -> None:
    # 60 frames of 1e4 bits at the QBERs of the Cascade reference values (docs/methods/cascade.md).
    for i in range(60):
        q = (0.01, 0.02, 0.05)[i % 3]
        variant = ("original", "yanetal", "option4")[i // 20]
        a, b, r = _frame(1000 + i, 10_000, q, variant)
        res = _replay(a, b, r, workers=1 if i % 2 else 2)
        assert res.disclosed_bits == r.leaked_bits, (i, variant, q)
        assert res.passes == len({int(p) for p in r.transcript[:, 0]})


def test_a_wrong_parity_is_found_at_its_message() -> None:
    a, _b, r = _frame(7, 5000, 0.03)
    t = r.transcript.copy()
    t[37, 3] ^= 1
    res = replay_cascade(a, t[:, 0], t[:, 1], t[:, 2], t[:, 3].astype(np.uint8),
                         frame_seed=r.seed, variant="original", qber_used=0.03)
    assert [(m.field, m.count, m.first) for m in res.mismatches] == [("parity", 1, 37)]


def test_a_duplicate_disclosure_counts_once_and_out_of_range_is_named() -> None:
    a, b, r = _frame(8, 3000, 0.03)
    t = np.concatenate([r.transcript, r.transcript[:5]])
    res = _replay(a, b, r.__class__(**{**{f: getattr(r, f) for f in r.__slots__},
                                       "transcript": t}))
    assert res.disclosed_bits == r.leaked_bits and res.messages == r.transcript.shape[0] + 5
    bad = r.transcript.copy()
    bad[0, 2] = 3001
    res = replay_cascade(a, bad[:, 0], bad[:, 1], bad[:, 2], bad[:, 3].astype(np.uint8),
                         frame_seed=r.seed, variant="original", qber_used=0.03)
    assert res.out_of_range == 1 and res.mismatches[0].field == "start/end"


def test_explicit_permutations_give_the_same_replay() -> None:
    a, b, r = _frame(9, 2000, 0.04)
    perms = np.stack([cascade_permutation(2000, r.seed, p) for p in range(4)])
    res = _replay(a, b, r, permutations=perms)
    assert res.ok and res.disclosed_bits == r.leaked_bits and res.engine_leaked_bits is None


def test_bob_key_different_from_alice_fails_only_when_delivered() -> None:
    a, b, r = _frame(10, 2000, 0.03)
    wrong = r.corrected.copy()
    wrong[[3, 900]] ^= 1
    res = _replay(a, b, r, corrected_bob=wrong)
    assert [(m.field, m.count, m.first) for m in res.mismatches] == [("corrected_bob", 2, 3)]
    assert _replay(a, b, r, corrected_bob=wrong, delivered=False).ok


# --- verification -----------------------------------------------------------------------------


def _verification(n: int = 3000, t: int = 50) -> dict[str, object]:
    rng = np.random.default_rng(n + t)
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + t - 1, dtype=np.uint8)
    tag = toeplitz_hash_direct(key, seed, t)
    return {"corrected_alice": key, "corrected_bob": key.copy(), "family": "toeplitz",
            "seed": seed, "tag_alice": tag, "tag_bob": tag.copy(), "accepted": True,
            "eps_cor": 1e-15}


def test_verification_replays_and_checks_the_tag_length() -> None:
    v = _verification()
    res = replay_verification(**v)  # type: ignore[arg-type]
    assert res.ok and res.tag_bits == 50 and res.collision_bound == 2.0**-50
    res = replay_verification(**(v | {"eps_cor": 1e-16}))  # type: ignore[arg-type]
    assert [m.field for m in res.mismatches] == ["tag_alice"]
    assert "exceeds eps_cor" in res.mismatches[0].detail


def test_zero_tags_and_inconsistent_decisions_fail() -> None:
    v = _verification()
    zeros = np.zeros(50, dtype=np.uint8)
    res = replay_verification(**(v | {"tag_alice": zeros, "tag_bob": zeros}))  # type: ignore[arg-type]
    assert [m.field for m in res.mismatches] == ["tag_alice", "tag_bob"]
    res = replay_verification(**(v | {"accepted": False}))  # type: ignore[arg-type]
    assert [m.field for m in res.mismatches] == ["accepted"]


def test_polynomial_verification_family() -> None:
    rng = np.random.default_rng(12)
    key = rng.integers(0, 2, 4000, dtype=np.uint8)
    seed = rng.integers(0, 2, 64, dtype=np.uint8)
    from evaltool.engines.protocol.auth import polynomial_hash

    h = polynomial_hash(np.packbits(key), int("".join(map(str, seed)), 2), 64)
    tag = _intbits(h, 64)
    res = replay_verification(key, key, family="polynomial", seed=seed, tag_alice=tag,
                              tag_bob=tag, accepted=True, eps_cor=1e-15)
    assert res.ok and res.collision_bound == 63 / 2.0**64


# --- privacy amplification --------------------------------------------------------------------


def _kat() -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    doc = json.loads(TOEPLITZ_KAT.read_text())
    seed = toeplitz_seed_from_row_column(_hexbits(doc["first_row_r"]),
                                         _hexbits(doc["first_column_c"]))
    return seed, [(_hexbits(v["x"]), _hexbits(v["y"])) for v in doc["vectors"]]


def test_pa_replay_agrees_with_the_public_512x256_vectors() -> None:
    seed, vectors = _kat()
    assert len(vectors) == 5
    for x, y in vectors:
        res = replay_pa(x, family="toeplitz", seed=seed, input_bits=512, output_bits=256,
                        output=y)
        assert res.ok and res.compared == "bits"
        assert replay_pa(x, family="toeplitz", seed=seed, input_bits=512, output_bits=256,
                         output_sha256=bits_sha256(y)).ok
        wrong = y.copy()
        wrong[200] ^= 1
        res = replay_pa(x, family="toeplitz", seed=seed, input_bits=512, output_bits=256,
                        output=wrong)
        assert [(m.field, m.count, m.first) for m in res.mismatches] == [("output", 1, 200)]


@pytest.mark.parametrize(("n", "ell"), [(1, 1), (777, 300), (4096, 4096), (70_001, 1_000)])
def test_pa_replay_agrees_with_the_direct_product_on_random_blocks(n: int, ell: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    y = toeplitz_hash_direct(x, seed, ell)
    res = replay_pa(x, family="toeplitz", seed=seed, input_bits=n, output_bits=ell, output=y)
    assert res.ok and res.method == ("additive" if n + ell >= 60_000 else "karatsuba")
    truncated = x[:ell] if ell <= n else y ^ 1
    res = replay_pa(x, family="toeplitz", seed=seed, input_bits=n, output_bits=ell,
                    output=truncated)
    assert not res.ok or np.array_equal(truncated, y)


def test_pa_replay_refuses_a_short_seed_and_a_wrong_sha() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 1000, dtype=np.uint8)
    seed = rng.integers(0, 2, 1499, dtype=np.uint8)
    res = replay_pa(x, family="toeplitz", seed=seed[:-1], input_bits=1000, output_bits=500,
                    output_sha256="0" * 64)
    assert [m.field for m in res.mismatches] == ["seed"]
    res = replay_pa(x, family="toeplitz", seed=seed, input_bits=1000, output_bits=500,
                    output_sha256="0" * 64)
    assert [m.field for m in res.mismatches] == ["output_sha256"] and res.compared == "sha256"


@pytest.mark.slow
def test_pa_replay_on_ten_million_bits_against_direct_rows() -> None:
    n, ell = 10_000_000, 5_000_000
    rng = np.random.default_rng(10)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + ell - 1, dtype=np.uint8)
    y = toeplitz_hash(x, seed, ell, method="karatsuba").output
    rows = np.concatenate([[0, ell - 1], rng.choice(ell, 64, replace=False)])
    assert np.array_equal(toeplitz_hash_direct(x, seed, ell, rows=rows), y[rows])
    res = replay_pa(x, family="toeplitz", seed=seed, input_bits=n, output_bits=ell, output=y)
    assert res.ok and res.method == "additive"
    y[4_321_000] ^= 1
    res = replay_pa(x, family="toeplitz", seed=seed, input_bits=n, output_bits=ell, output=y)
    assert [(m.field, m.first) for m in res.mismatches] == [("output", 4_321_000)]


# --- authentication ---------------------------------------------------------------------------


def _auth_rows(payloads: list[bytes], tags: list[int], hk: list[int], pads: list[int],
               injected: list[bool], accepted: list[int]) -> dict[str, object]:
    return {"seq": np.arange(len(payloads), dtype=np.int64), "payloads": payloads, "tags": tags,
            "hash_key_offset": np.array(hk, dtype=np.int64),
            "pad_offset": np.array(pads, dtype=np.int64), "injected": injected,
            "accepted": np.array(accepted, dtype=np.uint8)}


@pytest.mark.parametrize("bits", SUPPORTED_TAG_BITS)
def test_auth_replay_reproduces_the_ait_evhash_tags(bits: int) -> None:
    # The AIT QKD R10 evhash vectors (test_vectors/protocol/auth/ait_evhash.json): key and pad
    # placed in a pool at offsets 0 and bits, the published tag must verify.
    doc = json.loads((AUTH / "ait_evhash.json").read_text())
    message = doc["paragraph"].encode("ascii") * doc["repeat"]
    key = int.from_bytes(doc["hash_key_ascii_unit"].encode() * (bits // 32), "big")
    otp = int.from_bytes(doc["otp_ascii_unit"].encode() * (bits // 32), "big")
    pool = np.concatenate([_intbits(key, bits), _intbits(otp, bits)])
    tag = int(doc["tags"][str(bits)], 16)
    rows = _auth_rows([message], [tag], [0], [bits], [False], [1])
    res = replay_auth(tag_bits=bits, pool_offset=1000, pool_bits=pool, ledger=PadLedger(),
                      block=0, **(rows | {"hash_key_offset": np.array([1000]),
                                          "pad_offset": np.array([1000 + bits])}))  # type: ignore[arg-type]
    assert res.ok and res.unverifiable == 0
    rows = _auth_rows([message], [tag ^ 1], [1000], [1000 + bits], [False], [1])
    res = replay_auth(tag_bits=bits, pool_offset=1000, pool_bits=pool, ledger=PadLedger(),
                      block=0, **rows)  # type: ignore[arg-type]
    assert [m.field for m in res.mismatches] == ["tag"]


def test_auth_replay_reproduces_the_own_known_answers() -> None:
    doc = json.loads((AUTH / "own_kats.json").read_text())
    for v in doc["vectors"]:
        b = v["bits"]
        pool = np.concatenate([_intbits(int(v["hash_key"], 16), b), _intbits(int(v["otp"], 16), b)])
        rows = _auth_rows([bytes.fromhex(v["message_hex"])], [int(v["tag"], 16)], [0], [b],
                          [False], [1])
        assert replay_auth(tag_bits=b, pool_offset=0, pool_bits=pool, ledger=PadLedger(),
                           block=0, **rows).ok  # type: ignore[arg-type]


def _session(messages: int, bits: int = 64) -> tuple[np.ndarray, list[bytes], list[int],
                                                     list[int]]:
    rng = np.random.default_rng(messages)
    pool_bits = rng.integers(0, 2, bits * (messages + 1), dtype=np.uint8)
    pool = AuthKeyPool(pool_bits)
    hk = pool.take(bits, purpose="hash key")
    payloads = [f"message {i}".encode() for i in range(messages)]
    tags, pads = [], []
    for p in payloads:
        pad = pool.take(bits, purpose="pad")
        tags.append(wegman_carter_tag(p, hash_key=hk.value, otp=pad.value, bits=bits))
        pads.append(pad.offset)
    return pool_bits, payloads, tags, pads


def test_pads_reused_across_blocks_are_found_by_the_ledger() -> None:
    pool, payloads, tags, pads = _session(6)
    ledger = PadLedger()
    first = _auth_rows(payloads[:3], tags[:3], [0] * 3, pads[:3], [False] * 3, [1] * 3)
    assert replay_auth(tag_bits=64, pool_offset=0, pool_bits=pool, ledger=ledger, block=0,
                       **first).ok  # type: ignore[arg-type]
    again = _auth_rows(payloads[:1], tags[:1], [0], pads[:1], [False], [1])
    res = replay_auth(tag_bits=64, pool_offset=0, pool_bits=pool, ledger=ledger, block=1,
                      **again)  # type: ignore[arg-type]
    assert [m.field for m in res.mismatches] == ["pad_offset"]
    assert "block 0 message 0" in res.mismatches[0].detail
    # A pad overlapping the session hash key is reuse too.
    ledger = PadLedger()
    res = replay_auth(tag_bits=64, pool_offset=0, pool_bits=pool, ledger=ledger, block=0,
                      **_auth_rows(payloads[:1], tags[:1], [0], [32], [False], [1]))  # type: ignore[arg-type]
    assert "pad_offset" in [m.field for m in res.mismatches]


def test_injected_messages_must_be_rejected_and_genuine_accepted() -> None:
    pool, payloads, tags, pads = _session(2)
    rows = _auth_rows([*payloads, payloads[0]], [*tags, tags[0]], [0, 0, 0], [*pads, pads[0]],
                      [False, False, True], [1, 1, 0])
    assert replay_auth(tag_bits=64, pool_offset=0, pool_bits=pool, ledger=PadLedger(), block=0,
                       **rows).ok  # type: ignore[arg-type]
    rows["accepted"] = np.array([1, 0, 1], dtype=np.uint8)
    res = replay_auth(tag_bits=64, pool_offset=0, pool_bits=pool, ledger=PadLedger(), block=0,
                      **rows)  # type: ignore[arg-type]
    assert [(m.field, m.first) for m in res.mismatches] == [("injected", 2), ("accepted", 1)]


def test_key_outside_the_exported_pool_is_unverifiable() -> None:
    pool, payloads, tags, pads = _session(2)
    rows = _auth_rows(payloads, tags, [0, 0], pads, [False, False], [1, 1])
    res = replay_auth(tag_bits=64, pool_offset=0, pool_bits=pool[:128], ledger=PadLedger(),
                      block=0, **rows)  # type: ignore[arg-type]
    assert res.ok and res.unverifiable == 1


def test_a_parity_bob_sent_is_of_his_key_and_counts_apart() -> None:
    a, b, r = _frame(11, 2000, 0.03)
    t = np.concatenate([r.transcript, r.transcript[:1]])
    p, s, e = (int(v) for v in t[-1, :3])
    t[-1, 3] = int(np.bitwise_xor.reduce(b[cascade_permutation(2000, r.seed, p)][s:e]))
    from_bob = np.zeros(t.shape[0], dtype=bool)
    from_bob[-1] = True
    res = replay_cascade(a, t[:, 0], t[:, 1], t[:, 2], t[:, 3].astype(np.uint8),
                         frame_seed=r.seed, variant="original", qber_used=0.03,
                         sender_bob=from_bob, reconciled_bob=b)
    assert res.ok and res.disclosed_bits == r.leaked_bits + 1
    t[-1, 3] ^= 1
    res = replay_cascade(a, t[:, 0], t[:, 1], t[:, 2], t[:, 3].astype(np.uint8),
                         frame_seed=r.seed, variant="original", qber_used=0.03,
                         sender_bob=from_bob, reconciled_bob=b)
    assert [(m.field, m.first) for m in res.mismatches] == [("parity", t.shape[0] - 1)]


def test_sifted_positions_cannot_be_further_apart_than_the_rounds() -> None:
    r = _rounds(np.random.default_rng(13), 400)
    kept = np.flatnonzero(r["kept"])
    pos = r["sifted_position"].copy()
    pos[kept[10:]] += 1  # a bit inserted into the sifted key before the eleventh kept round
    shifted = {"sifted_position": pos, "sifted_alice": np.insert(r["sifted_alice"], 10, 0),
               "sifted_bob": np.insert(r["sifted_bob"], 10, 0)}
    # Every round captured: consecutive kept rounds must be consecutive positions.
    res = replay_sifting(**(r | {"rounds": np.arange(400, dtype=np.int64)} | shifted))
    assert [(m.field, m.count, m.first) for m in res.mismatches] == [
        ("sifted_position", 1, int(kept[10]))]
    # Rounds 3 apart in the raw key, two unsampled rounds between samples: the shift fits.
    assert replay_sifting(**(r | shifted)).ok


def test_an_unknown_variant_is_replayed_without_the_engine() -> None:
    a, b, r = _frame(12, 1500, 0.03)
    res = _replay(a, b, r, variant="vendor-cascade-2")
    assert res.ok and res.disclosed_bits == r.leaked_bits and res.engine_leaked_bits is None
