"""Safe YAML loading with source positions, size limits and alias-expansion limits.

Manifests, profiles and security targets are untrusted. They are read as UTF-8 with a size limit,
parsed by ruamel.yaml's safe round-trip loader (no object construction, duplicate keys rejected),
checked for alias bombs ("billion laughs") and cycles, and validated by pydantic with every error
mapped back to ``file:line:column``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from evaltool.errors import EvaltoolError, ProfileError

MAX_YAML_BYTES = 16 * 1024 * 1024
"""Largest YAML document read (profiles with full text stay far below this)."""
MAX_EXPANDED_NODES = 1_000_000
"""Largest number of nodes after expanding aliases; an alias bomb exceeds it."""

M = TypeVar("M", bound=BaseModel)


class Located:
    """A parsed YAML document that can tell where a key path came from."""

    def __init__(self, path: Path, data: Any) -> None:
        self.path = path
        self.data = data

    def position(self, loc: Sequence[int | str]) -> str | None:
        """``line L, column C`` (1-based) of the deepest node of ``loc`` that exists."""
        node = self.data
        where: tuple[int, int] | None = _start(node)
        for key in loc:
            if isinstance(node, CommentedMap) and key in node:
                lc = node.lc.key(key) if hasattr(node, "lc") else None
                node = node[key]
                where = _pair(lc) or where
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                lc = node.lc.item(key) if hasattr(node, "lc") else None
                node = node[key]
                where = _pair(lc) or where
            else:
                break
        if where is None:
            return None
        return f"{where[0] + 1}:{where[1] + 1}"


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


def read_text(path: Path, *, error: type[EvaltoolError], limit: int = MAX_YAML_BYTES) -> str:
    """Read a UTF-8 text file of at most ``limit`` bytes, or raise ``error`` naming the problem."""
    try:
        if not path.is_file():
            raise error("no such file" if not path.exists() else "not a regular file", path=path)
        size = path.stat().st_size
        if size > limit:
            raise error(f"file is {size} bytes, larger than the limit of {limit}", path=path)
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror or exc})", path=path) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            path=path, location=f"{line}",
        ) from None


def load_yaml(path: Path, *, error: type[EvaltoolError] = ProfileError) -> Located:
    """Parse a YAML file safely; raise ``error`` with ``file:line:column`` on any problem."""
    text = read_text(path, error=error)
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else None
        problem = (exc.problem or exc.context or "YAML error").strip()
        raise error(f"YAML syntax error: {problem}", path=path, location=loc) from None
    except YAMLError as exc:
        raise error(f"YAML error: {str(exc).splitlines()[0]}", path=path) from None
    except RecursionError:
        raise error("YAML nesting too deep", path=path) from None
    _check_expansion(data, path, error)
    return Located(path, data)


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
