"""The probe against the reference KME: honest, every fault switch, and a KME that never answers.

Against the honest pair every kdi.* check passes; each fault switch makes exactly its check fail.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaltool.checks import all_checks
from evaltool.checks.context import CheckContext
from evaltool.io.bundle import load_bundle
from evaltool.kdi.kme import KmePair
from evaltool.kdi.probe import ProbeOptions, load_sae, probe
from evaltool.model.verdict import Verdict
from tests.kdi.conftest import kme_config

REPO = Path(__file__).resolve().parents[2]
TOE = REPO / "test_vectors" / "scenarios" / "honest" / "bundle.yaml"
KINDS = ["kdi.exhaustion", "kdi.input-validation", "kdi.isolation", "kdi.no-redelivery",
         "kdi.qos", "kdi.same-key", "kdi.tls", "kdi.uniqueness"]
FAULTS = {
    "no_client_auth": "kdi.tls",
    "sae_id_from_body": "kdi.tls",
    "redelivery": "kdi.no-redelivery",
    "isolation_broken": "kdi.isolation",
    "short_keys_on_exhaustion": "kdi.exhaustion",
    "mismatched_keys": "kdi.same-key",
    "error_500_on_bad_size": "kdi.input-validation",
    "duplicate_key_ids": "kdi.uniqueness",
}


def options(certs: dict[str, tuple[Path, Path]], urls: tuple[str, str], out: Path,
            **over: Any) -> ProbeOptions:
    ca = certs["ca"][0]

    def sae(role: str, name: str) -> Any:
        return load_sae(role, f"{certs[name][0]},{certs[name][1]}", ca)

    base: dict[str, Any] = {
        "kme_a": urls[0], "kme_b": urls[1], "sae_a": sae("a", "SAE_A"),
        "sae_b": sae("b", "SAE_B"), "sae_c": sae("c", "SAE_C"),
        "sae_expired": sae("expired", "expired"), "ca": ca, "out": out, "keys": 300,
        "toe": TOE}
    return ProbeOptions(**{**base, **over})


def verdicts(out: Path) -> dict[str, tuple[Verdict, str]]:
    bundle = load_bundle(out)
    got = {}
    for ct in all_checks():
        if ct.kind in KINDS:
            o = ct.run(ct.params.model_validate({}), CheckContext(bundle, {}, 1))
            got[ct.kind] = (o.verdict, o.reason)
    return got


def run_against(certs: dict[str, tuple[Path, Path]], tmp: Path, **faults: bool
                ) -> dict[str, tuple[Verdict, str]]:
    with KmePair(kme_config(certs, faults=faults)) as pair:
        probe(options(certs, pair.urls, tmp / "out"))
    return verdicts(tmp / "out")


def test_every_check_passes_against_the_honest_kme(certs, tmp_path: Path) -> None:
    got = run_against(certs, tmp_path)
    # Every kdi kind deciding from the probe record (kdi.log-consistency reads offline logs).
    assert sorted(k.kind for k in all_checks() if k.kind.startswith("kdi.")) == sorted(
        [*KINDS, "kdi.log-consistency"])
    assert {k: v for k, (v, _) in got.items()} == dict.fromkeys(KINDS, Verdict.PASS), got
    assert got["kdi.same-key"][1] == ("300 keys identical at KME-A (enc_keys) and KME-B "
                                      "(dec_keys)")
    # The record holds no key value, only digests; the manifest binds the record by its hash.
    text = (tmp_path / "out" / "probe.jsonl").read_text()
    lines = [json.loads(x) for x in text.splitlines()]
    keys = [k for r in lines for k in (r.get("response") or {}).get("keys", [])
            if isinstance(r.get("response"), dict)]
    assert len(keys) >= 600 and all("key" not in k and len(k["key_sha256"]) == 64 for k in keys)
    assert lines[0]["sae_ids"] == {"a": "SAE_A", "b": "SAE_B", "c": "SAE_C",
                                   "expired": "SAE_A"}


@pytest.mark.parametrize(("fault", "kind"), FAULTS.items(), ids=list(FAULTS))
def test_each_fault_fails_exactly_its_check(certs, tmp_path: Path, fault: str, kind: str
                                            ) -> None:
    got = run_against(certs, tmp_path, **{fault: True})
    failed = sorted(k for k, (v, _) in got.items() if v is Verdict.FAIL)
    assert failed == [kind], got
    assert all(v is Verdict.PASS for k, (v, _) in got.items() if k != kind), got


def test_keep_keys_records_the_values(certs, tmp_path: Path) -> None:
    with KmePair(kme_config(certs)) as pair:
        probe(options(certs, pair.urls, tmp_path / "out", keys=5, keep_keys=True, toe=None))
    lines = [json.loads(x) for x in (tmp_path / "out" / "probe.jsonl").read_text().splitlines()]
    enc = next(r for r in lines if r.get("step") == "same-key.enc")
    assert len(enc["response"]["keys"][0]["key"]) == 44  # 256 bits in base64
    assert "toe:" not in (tmp_path / "out" / "bundle.yaml").read_text()


def _server(close: bool) -> Iterator[str]:
    """Accepts TCP connections and never answers (or closes each at once)."""
    srv = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn = srv.accept()[0]
            except TimeoutError:
                continue
            if close:
                conn.close()
            else:
                held.append(conn)

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"https://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for s in held:
        s.close()
    srv.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    yield from _server(close=False)


@pytest.fixture
def closing_server() -> Iterator[str]:
    yield from _server(close=True)


def test_a_kme_that_closes_connections_is_inconclusive(certs, tmp_path: Path,
                                                       closing_server: str) -> None:
    t0 = time.perf_counter()
    summary = probe(options(certs, (closing_server, closing_server), tmp_path / "out"))
    assert time.perf_counter() - t0 < 10
    assert summary["timeouts"] == 0 and summary["skipped"] >= 20
    got = verdicts(tmp_path / "out")
    assert {v for v, _ in got.values()} == {Verdict.INCONCLUSIVE}, got
    assert "skipped: KME-A failed 3 connections in a row" in got["kdi.same-key"][1]
    lines = [json.loads(x) for x in (tmp_path / "out" / "probe.jsonl").read_text().splitlines()]
    skipped = [r for r in lines if r.get("outcome") == "skipped"]
    assert skipped[0]["error"].startswith("KME-A failed 3 connections in a row (last at step "
                                          "status.before: ")
    # A peer that closes at once is seen as a refused handshake or a reset connection, by timing.
    reason = got["kdi.tls"][1]
    assert reason.startswith(("the probe's own authenticated status request did not succeed "
                              "(tls-refused", "the probe's own authenticated status request did "
                              "not succeed (connection-closed")), reason


def test_a_kme_that_never_answers_is_inconclusive_not_a_hang(certs, tmp_path: Path,
                                                             silent_server: str) -> None:
    t0 = time.perf_counter()
    summary = probe(options(certs, (silent_server, silent_server), tmp_path / "out",
                            timeout_s=0.5))
    assert time.perf_counter() - t0 < 10
    assert summary["timeouts"] == 2 and summary["skipped"] > 20  # once per KME, then skipped
    got = verdicts(tmp_path / "out")
    assert {v for v, _ in got.values()} == {Verdict.INCONCLUSIVE}, got
    assert "KME-A timed out at step preflight.status" in got["kdi.same-key"][1]
    assert "no answer within 0.5 s" in \
        got["kdi.same-key"][1]


def _uniqueness(out: Path, **params: object) -> tuple[Verdict, str]:
    ct = next(c for c in all_checks() if c.kind == "kdi.uniqueness")
    o = ct.run(ct.params.model_validate(params), CheckContext(load_bundle(out), {}, 1))
    return o.verdict, o.reason


def test_sp800_22_on_the_delivered_keys(certs, tmp_path: Path) -> None:
    with KmePair(kme_config(certs, stored_keys=4000, key_size=1024)) as pair:
        probe(options(certs, pair.urls, tmp_path / "out", keys=3000, keep_keys=True))
    # 4,000 keys of 1,024 bits issued (3,000 compared, the rest drained): 10 sequences.
    verdict, reason = _uniqueness(tmp_path / "out", randomness="required", sp800_22_n=400_000)
    assert verdict is Verdict.PASS, reason
    assert reason.startswith("4000 keys issued, no key id or key value repeats; SP 800-22 on 10 "
                             "sequence(s) of 400000 bits"), reason
    verdict, reason = _uniqueness(tmp_path / "out", randomness="required")
    assert verdict is Verdict.INCONCLUSIVE
    assert reason.endswith("4096000 bits of key material, fewer than 10 sequences of 1000000")
    # Without the key values the battery cannot run: noted, and inconclusive when required.
    with KmePair(kme_config(certs)) as pair:
        probe(options(certs, pair.urls, tmp_path / "hashed", keys=300))
    assert _uniqueness(tmp_path / "hashed")[0] is Verdict.PASS
    verdict, reason = _uniqueness(tmp_path / "hashed", randomness="required")
    assert verdict is Verdict.INCONCLUSIVE
    assert reason.endswith("SP 800-22 not run: the record holds no key values (probe with "
                           "--keep-keys)")


def test_constant_key_material_fails_the_battery() -> None:
    import numpy as np

    from evaltool.checks.sp800_22 import decide_bits

    bits = np.zeros(10 * 400_000, dtype=np.uint8)
    bits[::3] = 1
    assert decide_bits(iter([bits]), n=400_000, m=10).verdict is Verdict.FAIL
