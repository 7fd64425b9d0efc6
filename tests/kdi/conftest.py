"""Fixtures of the KME and probe tests: the throw-away PKI and reference KME pairs on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaltool.kdi.config import KmeConfig
from evaltool.kdi.kme import KmePair
from tests.kdi import pki


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    return pki.build(tmp_path_factory.mktemp("kdi-pki"))


def kme_config(certs: dict[str, tuple[Path, Path]], **over: Any) -> KmeConfig:
    faults = over.pop("faults", {})
    return KmeConfig.model_validate({
        "kme_a": {"kme_id": "KME_A", "cert": certs["kme_a"][0], "key": certs["kme_a"][1],
                  "saes": ["SAE_A"]},
        "kme_b": {"kme_id": "KME_B", "cert": certs["kme_b"][0], "key": certs["kme_b"][1],
                  "saes": ["SAE_B", "SAE_C"]},
        "ca": certs["ca"][0], "seed": 7, "max_sae_id_count": 2, "stored_keys": 600,
        "max_key_per_request": 64,
        "timeout_s": 5, "faults": faults, **over})


@pytest.fixture
def kme_pair(certs: dict[str, tuple[Path, Path]]) -> Iterator[KmePair]:
    with KmePair(kme_config(certs)) as pair:
        yield pair
