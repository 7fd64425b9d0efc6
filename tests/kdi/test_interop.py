"""Interoperability: an independent GS QKD 014 client (the ``etsi-qkd-014-client`` package, 0.9)
obtains keys from the reference KME, and both ends decode the same bytes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from evaltool.kdi.kme import KmePair

client_mod = pytest.importorskip("etsi_qkd_014_client.client")


def _client(certs: dict[str, tuple[Path, Path]], url: str, sae: str):  # type: ignore[no-untyped-def]
    return client_mod.QKD014Client(url.removeprefix("https://"), str(certs[sae][0]),
                                   str(certs[sae][1]), str(certs["ca"][0]))


def test_independent_client_obtains_the_same_keys(certs, kme_pair: KmePair) -> None:
    master = _client(certs, kme_pair.urls[0], "SAE_A")
    slave = _client(certs, kme_pair.urls[1], "SAE_B")
    code, status = master.get_status("SAE_B")
    assert code == 200
    assert (status.source_kme_id, status.target_kme_id, status.master_sae_id,
            status.slave_sae_id) == ("KME_A", "KME_B", "SAE_A", "SAE_B")
    code, issued = master.get_key("SAE_B", number=3, size=512)
    assert code == 200 and len(issued.keys) == 3
    code, fetched = slave.get_key_with_key_IDs("SAE_A", [k.key_id for k in issued.keys])
    assert code == 200
    sent = {k.key_id: base64.b64decode(k.key) for k in issued.keys}
    got = {k.key_id: base64.b64decode(k.key) for k in fetched.keys}
    assert sent == got and {len(v) for v in got.values()} == {64}
    # The simplified GET (server defaults: one key of key_size bits).
    code, one = master.get_key("SAE_B")
    assert code == 200 and len(base64.b64decode(one.keys[0].key)) == 32
    # Delivered once: the same ids again are refused with a 014 Error body.
    code, err = slave.get_key_with_key_IDs("SAE_A", list(sent))
    assert code == 400 and "not available" in err.message
