"""The reference KME's configuration (``evaltool kme serve --config FILE``; ``docs/kme.md``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from evaltool.errors import ProfileError, UsageError
from evaltool.io.yaml import load_yaml, validate
from evaltool.model.base import StrictModel

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"


class Endpoint(StrictModel):
    """One KME of the pair: its id, where it listens, its TLS identity and the SAEs it serves."""

    kme_id: str = Field(pattern=_ID)
    host: str = Field("127.0.0.1", description="listening address (loopback by default)")
    port: int = Field(0, ge=0, le=65535, description="0: any free port (printed at start)")
    cert: Path = Field(description="the KME's server certificate (PEM)")
    key: Path = Field(description="its private key (PEM, unencrypted)")
    saes: tuple[str, ...] = Field(min_length=1, description="SAE ids attached to this KME, "
                                  "each the common name (CN) of the SAE's client certificate")

    @model_validator(mode="after")
    def _ids(self) -> Endpoint:
        import re

        for s in self.saes:
            if not re.fullmatch(_ID, s):
                raise ValueError(f"SAE id {s!r} is not a plain identifier")
        return self


class Faults(StrictModel):
    """Deliberate deviations from GS QKD 014, one per ``kdi.*`` check (all off: the honest KME)."""

    no_client_auth: bool = Field(False, description="accept TLS clients without a certificate "
                                 "(served as the KME's first SAE): fails kdi.tls")
    sae_id_from_body: bool = Field(False, description="take the caller's SAE id from a SAE_ID "
                                   "field of the request body: fails kdi.tls")
    redelivery: bool = Field(False, description="dec_keys keeps delivered keys, so they can be "
                             "fetched again: fails kdi.no-redelivery")
    isolation_broken: bool = Field(False, description="dec_keys delivers a key to any SAE: "
                                   "fails kdi.isolation")
    short_keys_on_exhaustion: bool = Field(False, description="an almost empty store answers "
                                           "with fewer keys than requested: fails "
                                           "kdi.exhaustion")
    mismatched_keys: bool = Field(False, description="KME-B's dec_keys returns key values "
                                  "differing from KME-A's: fails kdi.same-key")
    error_500_on_bad_size: bool = Field(False, description="a size outside the limits or not a "
                                        "multiple of 8 answers 500: fails kdi.input-validation")
    duplicate_key_ids: bool = Field(False, description="a delivered key's id is reused for a new "
                                    "key: fails kdi.uniqueness")


class KmeConfig(StrictModel):
    """The pair of reference KMEs sharing one key store."""

    kme_a: Endpoint
    kme_b: Endpoint
    ca: Path = Field(description="CA certificate(s) (PEM) that SAE client certificates chain to")
    seed: int = Field(1, ge=0, description="seed of the key material and key ids")
    key_size: int = Field(256, gt=0, multiple_of=8, description="default key size, bits")
    min_key_size: int = Field(64, gt=0, multiple_of=8)
    max_key_size: int = Field(1024, gt=0, multiple_of=8)
    max_key_per_request: int = Field(128, ge=1, le=100_000)
    max_sae_id_count: int = Field(0, ge=0, le=16, description="additional slave SAEs allowed")
    stored_keys: int = Field(100_000, ge=0, le=100_000_000,
                             description="keys of key_size bits in the store at start")
    timeout_s: float = Field(10.0, gt=0, le=600, description="per-connection socket timeout")
    max_connections: int = Field(64, ge=1, le=1024, description="connections served at once; "
                                 "more are closed at accept")
    faults: Faults = Field(default_factory=Faults)

    @model_validator(mode="after")
    def _consistent(self) -> KmeConfig:
        if not self.min_key_size <= self.key_size <= self.max_key_size:
            raise ValueError("key_size must lie in [min_key_size, max_key_size]")
        if self.kme_a.kme_id == self.kme_b.kme_id:
            raise ValueError("the two KMEs need different kme_id")
        shared = set(self.kme_a.saes) & set(self.kme_b.saes)
        if shared:
            raise ValueError(f"SAE {sorted(shared)[0]!r} is attached to both KMEs")
        return self


def load_config(path: Path) -> KmeConfig:
    """Read and validate a KME configuration; relative file names are relative to ``path``."""
    if not path.is_file():
        raise UsageError("KME configuration not found", path=path)
    cfg = validate(load_yaml(path, error=ProfileError), KmeConfig, error=ProfileError)
    base = path.resolve().parent

    def fix(e: Endpoint) -> Endpoint:
        return e.model_copy(update={"cert": base / e.cert, "key": base / e.key})

    return cfg.model_copy(update={"kme_a": fix(cfg.kme_a), "kme_b": fix(cfg.kme_b),
                                  "ca": base / cfg.ca})


__all__ = ["Endpoint", "Faults", "KmeConfig", "load_config"]
