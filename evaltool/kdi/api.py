"""The ETSI GS QKD 014 V1.1.1 REST API: paths, request validation and response bodies.

ETSI GS QKD 014 V1.1.1 (2019-02), clause 5 (methods: Get status 5.1, Get key 5.2, Get key with
key IDs 5.3) and clause 6 (data formats: Status 6.1, Key request 6.2, Key container 6.3, Key IDs
6.4, Error 6.5). Status codes: 200, 400 (bad request format), 401 (unauthorized), 503 (error on
server side). Shared by the reference KME (:mod:`evaltool.kdi.kme`) and the probe
(:mod:`evaltool.kdi.probe`); see ``docs/kme.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STANDARD = "ETSI GS QKD 014 V1.1.1"
PREFIX = "/api/v1/keys/"
PATH_RE = re.compile(r"^/api/v1/keys/(?P<sae>[^/?#]{1,256})/(?P<op>status|enc_keys|dec_keys)$")
"""``/api/v1/keys/{SAE_ID}/{status|enc_keys|dec_keys}`` (clause 5)."""

MAX_BODY_BYTES = 1 << 20
"""Largest request body the reference KME reads; a larger one is answered 400."""

KEY_REQUEST_FIELDS = frozenset({"number", "size", "additional_slave_SAE_IDs",
                                "extension_mandatory", "extension_optional"})
KEY_IDS_FIELDS = frozenset({"key_IDs", "key_IDs_extension"})
KEY_ID_FIELDS = frozenset({"key_ID", "key_ID_extension"})


class RequestError(Exception):
    """A request the KME answers with a 014 Error body (clause 6.5) and ``status``."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        """The Error data format: ``message`` and optional ``details``."""
        out: dict[str, Any] = {"message": self.message}
        if self.details:
            out["details"] = self.details
        return out


@dataclass(frozen=True, slots=True)
class Limits:
    """The KME's limits as the Status data format reports them (clause 6.1)."""

    key_size: int
    min_key_size: int
    max_key_size: int
    max_key_per_request: int
    max_sae_id_count: int


@dataclass(frozen=True, slots=True)
class KeyRequest:
    """A validated Key request (clause 6.2)."""

    number: int
    size: int
    additional_slaves: tuple[str, ...] = field(default=())


def bad(message: str, **detail: Any) -> RequestError:
    """A 400 Bad request format error."""
    return RequestError(400, message, [detail] if detail else None)


def parse_json(raw: bytes) -> Any:
    """The JSON value of a request body; malformed JSON is a 400."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad("request body is not valid JSON", error=str(exc)[:200]) from None


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{name} must be an integer", field=name)
    return value


def key_request(body: Mapping[str, Any], limits: Limits, *, master: str, slave: str
                ) -> KeyRequest:
    """Validate a Key request against ``limits`` (clause 6.2); every violation is a 400.

    ``number`` defaults to 1 and ``size`` to the KME's default key size; ``size`` must be a
    multiple of 8 in [min_key_size, max_key_size]; an ``extension_mandatory`` member the KME does
    not support, unknown fields, and additional slave SAE ids that are empty, repeated, the master
    or the slave itself, or more than ``max_SAE_ID_count``, are refused.
    """
    unknown = sorted(set(body) - KEY_REQUEST_FIELDS)
    if unknown:
        raise bad(f"unknown field {unknown[0]!r} in the key request", fields=unknown)
    number = _integer(body.get("number", 1), "number")
    size = _integer(body.get("size", limits.key_size), "size")
    if not 1 <= number <= limits.max_key_per_request:
        raise bad(f"number {number} is outside [1, {limits.max_key_per_request}]",
                  max_key_per_request=limits.max_key_per_request)
    check_size(size, limits)
    extra = body.get("additional_slave_SAE_IDs", [])
    if not isinstance(extra, list) or not all(isinstance(s, str) for s in extra):
        raise bad("additional_slave_SAE_IDs must be an array of strings")
    if len(extra) > limits.max_sae_id_count:
        raise bad(f"{len(extra)} additional slave SAE ids, at most "
                  f"{limits.max_sae_id_count} are supported")
    if any(not s for s in extra) or len(set(extra)) != len(extra):
        raise bad("additional slave SAE ids must be non-empty and distinct")
    if master in extra or slave in extra:
        raise bad("additional slave SAE ids must not list the master or the slave")
    mandatory = body.get("extension_mandatory", [])
    if not isinstance(mandatory, list) or not all(isinstance(m, dict) for m in mandatory):
        raise bad("extension_mandatory must be an array of objects")
    for ext in mandatory:
        for name in ext:
            raise bad(f"mandatory extension {name!r} is not supported", extension=name)
    optional = body.get("extension_optional", [])
    if not isinstance(optional, list) or not all(isinstance(m, dict) for m in optional):
        raise bad("extension_optional must be an array of objects")
    return KeyRequest(number, size, tuple(extra))


def check_size(size: int, limits: Limits) -> None:
    """A key size must be a multiple of 8 within [min_key_size, max_key_size]."""
    if size % 8 or not limits.min_key_size <= size <= limits.max_key_size:
        raise bad(f"size {size} is not a multiple of 8 in [{limits.min_key_size}, "
                  f"{limits.max_key_size}]", min_key_size=limits.min_key_size,
                  max_key_size=limits.max_key_size)


def key_ids(body: Mapping[str, Any]) -> list[str]:
    """The key ids of a Key IDs body (clause 6.4); missing, empty or malformed is a 400."""
    unknown = sorted(set(body) - KEY_IDS_FIELDS)
    if unknown:
        raise bad(f"unknown field {unknown[0]!r} in the key IDs", fields=unknown)
    items = body.get("key_IDs")
    if not isinstance(items, list) or not items:
        raise bad("key_IDs must be a non-empty array")
    out: list[str] = []
    for item in items:
        if not isinstance(item, dict) or set(item) - KEY_ID_FIELDS:
            raise bad("each key_IDs item is an object with key_ID (and key_ID_extension)")
        kid = item.get("key_ID")
        if not isinstance(kid, str) or not kid:
            raise bad("key_ID must be a non-empty string")
        out.append(kid)
    if len(set(out)) != len(out):
        raise bad("key_IDs lists a key id twice")
    return out


def query_int(query: Mapping[str, list[str]], name: str, default: int) -> int:
    """An integer query parameter of a GET request (clause 5.2); malformed is a 400."""
    values = query.get(name)
    if values is None:
        return default
    if len(values) != 1 or not re.fullmatch(r"-?[0-9]{1,9}", values[0]):
        raise bad(f"query parameter {name} must be one integer", field=name)
    return int(values[0])


__all__ = ["KEY_REQUEST_FIELDS", "MAX_BODY_BYTES", "PATH_RE", "PREFIX", "STANDARD", "KeyRequest",
           "Limits", "RequestError", "bad", "check_size", "key_ids", "key_request",
           "parse_json", "query_int"]
