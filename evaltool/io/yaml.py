"""Safe YAML loading with source positions, size limits and alias-expansion limits.

Manifests, profiles and security targets are untrusted. They are read as UTF-8 with a size limit,
parsed by ruamel.yaml's safe round-trip loader (no object construction, duplicate keys rejected),
checked for alias bombs ("billion laughs") and cycles, and validated by pydantic with every error
mapped back to ``file:line:column``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from evaltool.errors import EvaltoolError, ProfileError
from evaltool.io import yaml_cache

MAX_YAML_BYTES = 16 * 1024 * 1024
"""Largest YAML document read (profiles with full text stay far below this)."""
MAX_EXPANDED_NODES = 1_000_000
"""Largest number of nodes after expanding aliases; an alias bomb exceeds it."""

M = TypeVar("M", bound=BaseModel)


class YamlMap(dict[Any, Any]):
    """A YAML mapping with the 0-based ``(line, column)`` of the node and of each of its keys."""

    __slots__ = ("key_positions", "start")

    def __init__(self, start: tuple[int, int] | None) -> None:
        super().__init__()
        self.start = start
        self.key_positions: dict[Any, tuple[int, int]] = {}


class YamlSeq(list[Any]):
    """A YAML sequence with the 0-based ``(line, column)`` of the node and of each item."""

    __slots__ = ("item_positions", "start")

    def __init__(self, start: tuple[int, int] | None) -> None:
        super().__init__()
        self.start = start
        self.item_positions: list[tuple[int, int] | None] = []


class Located:
    """A parsed YAML document that can tell where a key path came from.

    ``data`` holds :class:`YamlMap` and :class:`YamlSeq` containers and plain Python scalars
    (``str``, ``int``, ``float``, ``bool``, ``None``, ``date``, ``datetime``); a value of any other
    type (an unknown tag, ``!!binary``, a complex key) is kept as the YAML loader built it.
    """

    def __init__(self, path: Path, data: Any) -> None:
        self.path = path
        self.data = data

    def position(self, loc: Sequence[int | str]) -> str | None:
        """``line L, column C`` (1-based) of the deepest node of ``loc`` that exists."""
        node = self.data
        where: tuple[int, int] | None = getattr(node, "start", None)
        for key in loc:
            if isinstance(node, YamlMap) and key in node:
                where = node.key_positions.get(key) or where
                node = node[key]
            elif isinstance(node, YamlSeq) and isinstance(key, int) and 0 <= key < len(node):
                where = node.item_positions[key] or where
                node = node[key]
            else:
                break
        if where is None:
            return None
        return f"{where[0] + 1}:{where[1] + 1}"


def read_bytes(path: Path, *, error: type[EvaltoolError], limit: int = MAX_YAML_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or ``error`` naming the problem."""
    try:
        if not path.is_file():
            raise error("no such file" if not path.exists() else "not a regular file", path=path)
        size = path.stat().st_size
        if size > limit:
            raise error(f"file is {size} bytes, larger than the limit of {limit}", path=path)
        return path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror or exc})", path=path) from None


def decode_utf8(raw: bytes, path: Path, *, error: type[EvaltoolError]) -> str:
    """``raw`` decoded as UTF-8, or ``error`` naming the line of the first invalid byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            path=path, location=f"{line}",
        ) from None


def read_text(path: Path, *, error: type[EvaltoolError], limit: int = MAX_YAML_BYTES) -> str:
    """Read a UTF-8 text file of at most ``limit`` bytes, or raise ``error`` naming the problem."""
    return decode_utf8(read_bytes(path, error=error, limit=limit), path, error=error)


def load_yaml(path: Path, *, error: type[EvaltoolError] = ProfileError) -> Located:
    """Parse a YAML file safely; raise ``error`` with ``file:line:column`` on any problem.

    A document parsed before (same bytes, same evaltool) is read back from the parse cache
    (:mod:`evaltool.io.yaml_cache`) instead of being composed again.
    """
    raw = read_bytes(path, error=error)
    cached = yaml_cache.lookup(raw)
    if cached is not None:
        return Located(path, cached)
    text = decode_utf8(raw, path, error=error)
    tree = _parse(text, path, error)
    _check_expansion(tree, path, error)
    data, plain = _positioned(tree)
    if plain:
        yaml_cache.store(raw, data)
    return Located(path, data)


def _parse(text: str, path: Path, error: type[EvaltoolError]) -> Any:
    from ruamel.yaml import YAML  # imported here: a cached document needs no parser
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else None
        problem = (exc.problem or exc.context or "YAML error").strip()
        raise error(f"YAML syntax error: {problem}", path=path, location=loc) from None
    except YAMLError as exc:
        raise error(f"YAML error: {str(exc).splitlines()[0]}", path=path) from None
    except RecursionError:
        raise error("YAML nesting too deep", path=path) from None


def _scalar(value: Any) -> tuple[Any, bool]:
    """``value`` as a plain Python scalar, and whether it is one.

    ruamel's round-trip scalars (``ScalarString``, ``ScalarFloat``, ``ScalarInt``,
    ``ScalarBoolean``) become their base type, which compares, formats and validates alike.
    Anything else (a time stamp with a time zone, bytes, a tagged value) is kept as built and
    makes the document uncacheable.
    """
    kind = type(value)
    if kind is datetime:
        return value, value.tzinfo is None
    if kind in (bool, int, float, str, date) or value is None:
        return value, True
    if isinstance(value, date):
        return value, False
    for base in (str, float, int):
        if isinstance(value, base):
            return base(value), True
    return value, False


def _positioned(tree: Any) -> tuple[Any, bool]:
    """The ruamel round-trip tree as :class:`YamlMap`/:class:`YamlSeq` with plain scalars, and
    whether everything in it is plain (only then may it be cached). Shared (aliased) nodes stay
    shared; :func:`_check_expansion` has ruled out cycles."""
    done: dict[int, Any] = {}
    plain = True

    def convert(node: Any) -> Any:
        nonlocal plain
        if id(node) in done:
            return done[id(node)]
        lc = getattr(node, "lc", None)
        out: YamlMap | YamlSeq
        if isinstance(node, Mapping):
            out = YamlMap(_start(node))
            known = getattr(lc, "data", {}) or {}
            for key, value in node.items():
                k, ok = _scalar(key)
                plain = plain and ok
                out[k] = convert(value)
                where = _pair(known[key][:2]) if key in known else None
                if where is not None:
                    out.key_positions[k] = where
        elif isinstance(node, list):
            out = YamlSeq(_start(node))
            known = getattr(lc, "data", {}) or {}
            for i, value in enumerate(node):
                out.append(convert(value))
                out.item_positions.append(_pair(known[i][:2]) if i in known else None)
        else:
            value, ok = _scalar(node)
            plain = plain and ok
            return value
        done[id(node)] = out
        return out

    return convert(tree), plain


def _pair(lc: Any) -> tuple[int, int] | None:
    if lc is None:
        return None
    try:
        return int(lc[0]), int(lc[1])
    except (TypeError, IndexError, ValueError):
        return None


def _start(node: Any) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    return _pair((lc.line, lc.col))


def _check_expansion(data: Any, path: Path, error: type[EvaltoolError]) -> None:
    """Reject documents whose aliases expand past :data:`MAX_EXPANDED_NODES` or form a cycle."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any, depth: int) -> int:
        if depth > 200:
            raise error("YAML nesting deeper than 200 levels", path=path)
        if not isinstance(node, Mapping | list | tuple):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise error("YAML aliases form a cycle", path=path)
        active.add(key)
        total = 1
        children = node.values() if isinstance(node, Mapping) else node
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_EXPANDED_NODES:
                where = _start(node)
                raise error(
                    f"YAML expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)",
                    path=path, location=f"{where[0] + 1}:{where[1] + 1}" if where else None,
                )
        active.discard(key)
        sizes[key] = total
        return total

    size(data, 0)


def to_plain(node: Any) -> Any:
    """Convert ruamel containers to plain dicts and lists (after the expansion check)."""
    if isinstance(node, Mapping):
        return {str(k) if not isinstance(k, str) else k: to_plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [to_plain(v) for v in node]
    return node


def validate(doc: Located, model: type[M], *, error: type[EvaltoolError] = ProfileError) -> M:
    """Validate a parsed document against ``model``; the first problem is raised with its position.

    All problems are listed in the message (``; ``-separated) so a user fixes them in one pass.
    """
    if not isinstance(doc.data, Mapping):
        raise error("top level must be a mapping", path=doc.path, location="1:1")
    try:
        return model.model_validate(to_plain(doc.data))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        parts = []
        for e in errors[:10]:
            dotted = _dotted(e["loc"])
            parts.append(f"{dotted}: {_message(e)}" if dotted else _message(e))
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise error("; ".join(parts) + more, path=doc.path,
                    location=doc.position(first["loc"])) from None


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(e: Mapping[str, Any]) -> str:
    msg = str(e.get("msg", "invalid"))
    if e.get("type") == "extra_forbidden":
        return "unknown field"
    if e.get("type") == "missing":
        return "required field missing"
    inp = e.get("input")
    if isinstance(inp, str | int | float) and not isinstance(inp, bool):
        shown = repr(inp)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{msg} (got {shown})"
    return msg
