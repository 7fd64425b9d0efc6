"""Canonical ``results.json``: serialisation, digest and strict re-reading.

The canonical form (sorted keys, two-space indent, UTF-8, trailing newline) is what evaltool writes
and what its digest covers. Reading it back checks that the stored roll-ups (the computed verdicts
and counts) agree with the checks they summarise, so an edited verdict is an error, not a report.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evaltool.errors import EvaltoolError, ExitCode
from evaltool.model.results import EvaluationResult

RESULTS_NAME = "results.json"
DIGEST_NAME = "results.json.sha256"
SIGNATURE_NAME = "results.json.p7s"
"""Detached CMS signature(s) over results.json (``evaltool sign``, ``docs/signing.md``)."""
MAX_RESULTS_BYTES = 1 << 30
"""Largest results file read (1 GiB): a bigger file is refused instead of exhausting memory."""


class ResultsFileError(EvaltoolError):
    """A results file is unreadable, malformed or internally inconsistent (exit 4)."""

    exit_code = ExitCode.BAD_INPUT


def results_json(result: EvaluationResult) -> bytes:
    """Canonical JSON of a result: sorted keys, two-space indent, trailing newline."""
    data = result.model_dump(mode="json")
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()


def digest_line(data: bytes) -> bytes:
    """The ``results.json.sha256`` file: one ``sha256sum``-style line for ``data``."""
    return f"{sha256_hex(data)}  {RESULTS_NAME}\n".encode()


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic model classes an annotation can hold (directly or in a tuple/list/union)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            out.extend(_model_types(arg))
    return out


def _split_computed(model: type[BaseModel], data: Any, where: str,
                    stored: dict[str, Any]) -> Any:
    """Copy ``data`` without the computed fields of ``model`` (recursively), noting them."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name in model.model_computed_fields:
        if name in out:
            stored[f"{where}.{name}" if where else name] = out.pop(name)
    for name, field in model.model_fields.items():
        if name not in out:
            continue
        sub = _model_types(field.annotation)
        if len(sub) != 1:
            continue
        value = out[name]
        path = f"{where}.{name}" if where else name
        if isinstance(value, list):
            out[name] = [_split_computed(sub[0], v, f"{path}[{i}]", stored)
                         for i, v in enumerate(value)]
        else:
            out[name] = _split_computed(sub[0], value, path, stored)
    return out


def _lookup(data: Any, path: str) -> Any:
    cur = data
    for part in path.replace("]", "").replace("[", ".").split("."):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def parse_results(data: bytes, *, path: str | Path = RESULTS_NAME) -> EvaluationResult:
    """Read results from JSON bytes, checking the stored roll-ups against the checks.

    Raises
    ------
    ResultsFileError
        The bytes are not JSON, do not match the results schema, or a stored verdict or count
        disagrees with what the checks it summarises give.
    """
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultsFileError(f"not a JSON results file ({exc})", path=path) from None
    if not isinstance(raw, dict):
        raise ResultsFileError("not a JSON results file (top level is not an object)", path=path)
    stored: dict[str, Any] = {}
    plain = _split_computed(EvaluationResult, raw, "", stored)
    try:
        result = EvaluationResult.model_validate(plain)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ResultsFileError(f"does not match the results schema: {err['msg']}",
                               path=path, location=loc) from None
    again = result.model_dump(mode="json")
    for where, value in sorted(stored.items()):
        if _lookup(again, where) != value:
            raise ResultsFileError(
                f"the stored value {value!r} disagrees with the checks it summarises "
                f"({_lookup(again, where)!r}): the file was edited", path=path, location=where)
    return result


def read_results(path: Path) -> tuple[EvaluationResult, bytes]:
    """Read a results file; returns the result and the exact bytes read."""
    try:
        size = path.stat().st_size
        if size > MAX_RESULTS_BYTES:
            raise ResultsFileError(f"results file of {size} bytes exceeds the "
                                   f"{MAX_RESULTS_BYTES}-byte limit", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise ResultsFileError(f"cannot read results ({exc.strerror})", path=path) from None
    return parse_results(data, path=path), data
