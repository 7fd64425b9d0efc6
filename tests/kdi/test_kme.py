"""The reference KME's bounds and edge cases: stalled clients, the connection limit, oversized
bodies, unknown paths, and the key store's all-or-none delivery."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from evaltool.kdi.api import RequestError
from evaltool.kdi.client import client_context, exchange
from evaltool.kdi.config import Faults
from evaltool.kdi.kme import KeyStore, KmePair
from tests.kdi.conftest import kme_config

STATUS = "/api/v1/keys/SAE_B/status"


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _open(sock: socket.socket) -> bool:
    """Whether the server still holds ``sock`` open (no end of stream within 0.3 s)."""
    sock.settimeout(0.3)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except OSError:
        return False


def _hold_slots(url: str, n: int, deadline_s: float = 10.0) -> list[socket.socket]:
    """``n`` connections that never start TLS, each accepted into a slot: on a loaded machine
    the slot of an earlier exchange may be released only after the next connection arrives
    (that one is then closed at accept), so a closed one is opened again, within a deadline."""
    held: list[socket.socket] = []
    end = time.monotonic() + deadline_s
    while len(held) < n and time.monotonic() < end:
        sock = socket.create_connection(("127.0.0.1", _port(url)))
        if _open(sock):
            held.append(sock)
        else:
            sock.close()
            time.sleep(0.1)
    assert len(held) == n, "the server did not keep the stalled connections"
    return held


def test_stalled_clients_hold_a_slot_not_the_server(certs, tmp_path: Path) -> None:
    cfg = kme_config(certs, max_connections=2, timeout_s=1)
    ctx = client_context(certs["ca"][0], certs["SAE_A"])
    with KmePair(cfg) as pair:
        url = pair.urls[0]
        assert exchange(url, ctx, "GET", STATUS, None, 5).status == 200
        stalled = _hold_slots(url, 2)
        try:
            # Both slots are held by clients that never start TLS: a third is closed at accept.
            third = exchange(url, ctx, "GET", STATUS, None, 5)
            assert third.outcome in ("connection-closed", "tls-refused"), third
            # After the per-connection timeout (1 s) the slots are free again.
            time.sleep(1.5)
            assert exchange(url, ctx, "GET", STATUS, None, 5).status == 200
        finally:
            for s in stalled:
                s.close()


def test_oversized_body_unknown_path_and_method(certs, kme_pair: KmePair) -> None:
    ctx = client_context(certs["ca"][0], certs["SAE_A"])
    url = kme_pair.urls[0]
    big = exchange(url, ctx, "POST", "/api/v1/keys/SAE_B/enc_keys", b" " * (2 << 20), 5)
    assert big.outcome in ("response", "connection-closed", "tls-refused")
    if big.outcome == "response":
        assert big.status == 400
    missing = exchange(url, ctx, "GET", "/api/v2/keys/SAE_B/status", None, 5)
    assert missing.status == 404 and json.loads(missing.body or b"")["message"]
    posted = exchange(url, ctx, "POST", STATUS, b"{}", 5)
    assert posted.status == 405
    other = exchange(url, ctx, "GET", "/api/v1/keys/NOBODY/status", None, 5)
    assert other.status == 400 and "unknown slave SAE NOBODY" in (other.body or b"").decode()


def test_delivery_is_all_or_none_and_seeded() -> None:
    store = KeyStore(seed=3, stock_bits=10 * 256)
    keys = store.issue("SAE_A", frozenset({"SAE_B"}), 2, 256)
    with pytest.raises(RequestError) as info:
        store.deliver("SAE_B", "SAE_A", [keys[0][0], "no-such-id"])
    assert info.value.status == 400
    assert store.deliver("SAE_B", "SAE_A", [keys[0][0]]) == [keys[0]]  # still there
    again = KeyStore(seed=3, stock_bits=10 * 256).issue("SAE_A", frozenset({"SAE_B"}), 2, 256)
    assert again == keys
    with pytest.raises(RequestError) as info:
        store.issue("SAE_A", frozenset({"SAE_B"}), 9, 256)  # 8 keys left
    assert info.value.status == 503 and store.stock_bits == 8 * 256


def test_short_keys_fault_hands_out_what_is_left() -> None:
    store = KeyStore(seed=3, stock_bits=5 * 256, faults=Faults(short_keys_on_exhaustion=True))
    assert len(store.issue("SAE_A", frozenset({"SAE_B"}), 8, 256)) == 5
    with pytest.raises(RequestError):
        store.issue("SAE_A", frozenset({"SAE_B"}), 1, 256)
