"""A cache of parsed YAML documents, keyed by the SHA-256 of their bytes.

Composing a large profile with ruamel.yaml's pure-Python round-trip loader takes far longer than
validating it, and every command reads the same profiles again. :func:`evaltool.io.yaml.load_yaml`
therefore keeps what the loader produced (the positioned tree of
:class:`~evaltool.io.yaml.YamlMap`, :class:`~evaltool.io.yaml.YamlSeq` and plain scalars) in
memory for the process and as JSON in a cache folder (``$EVALTOOL_CACHE_DIR/yaml``, else
``$XDG_CACHE_HOME/evaltool/yaml``, else ``~/.cache/evaltool/yaml``), keyed by the SHA-256 of the
file's bytes, evaltool's version and ruamel.yaml's version. ``EVALTOOL_NO_CACHE=1`` turns the
folder off (a file read twice in one process is still parsed once).

The cache never changes a result: only a document that parsed and passed the alias-expansion
check is stored, validation still runs on every load, and an entry that is unreadable, malformed
or recorded for other bytes is ignored (and rewritten). Entries are JSON, never pickle, are
written atomically, and are read only from a folder and files that this user owns and nobody else
may write: whoever can write the entries decides what a profile says.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from evaltool import __version__

FORMAT = 1
"""Version of the entry layout below; bump it when the layout or the positioned tree changes."""
NO_CACHE_ENV = "EVALTOOL_NO_CACHE"
CACHE_DIR_ENV = "EVALTOOL_CACHE_DIR"
MAX_ENTRY_NODES = 200_000
"""Documents expanding to more nodes (deep alias use) are not written to disk."""

_memory: dict[str, Any] = {}
"""Encoded trees of this process, by key (decoded afresh on each load: callers own their tree)."""


def disk_enabled() -> bool:
    """Whether the cache folder is used (``EVALTOOL_NO_CACHE`` unset, empty or ``0``)."""
    return os.environ.get(NO_CACHE_ENV, "") in ("", "0")


def cache_dir() -> Path:
    """``$EVALTOOL_CACHE_DIR/yaml``, else ``$XDG_CACHE_HOME/evaltool/yaml``, else
    ``~/.cache/evaltool/yaml``."""
    own = os.environ.get(CACHE_DIR_ENV)
    if own:
        return Path(own) / "yaml"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evaltool" / "yaml"


@cache
def _parser_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ruamel.yaml")
    except PackageNotFoundError:  # pragma: no cover - ruamel.yaml is a dependency
        return "unknown"


def _key(raw: bytes) -> str:
    content = hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(
        f"{FORMAT}\0{__version__}\0{_parser_version()}\0{content}".encode()).hexdigest()


def lookup(raw: bytes) -> Any | None:
    """The positioned tree of a document with these bytes parsed before, or None."""
    key = _key(raw)
    encoded = _memory.get(key)
    if encoded is None:
        if not disk_enabled():
            return None
        encoded = _read(cache_dir() / f"{key}.json", key)
        if encoded is None:
            return None
        _memory[key] = encoded
    try:
        return _decode(encoded)
    except (KeyError, IndexError, TypeError, ValueError):
        _memory.pop(key, None)
        return None


def store(raw: bytes, tree: Any) -> None:
    """Remember ``tree``, the positioned tree parsed from ``raw`` (plain scalars only)."""
    key = _key(raw)
    nodes = [0]
    encoded = _encode(tree, nodes)
    _memory[key] = encoded
    if nodes[0] > MAX_ENTRY_NODES or not disk_enabled():
        return
    entry = {"format": FORMAT, "key": key, "tree": encoded}
    try:
        folder = cache_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, separators=(",", ":"), allow_nan=True)
            os.replace(tmp, folder / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only or full cache folder only costs the next run a parse


def _private(path: Path) -> bool:
    """Whether only this user can have written ``path``: owned by them, not group- or
    world-writable (a cache folder shared with others, or restored from an untrusted CI cache
    into such a folder, is not read)."""
    if not hasattr(os, "getuid"):  # pragma: no cover - not POSIX
        return True
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _read(path: Path, key: str) -> Any | None:
    try:
        if not (_private(path.parent) and _private(path)):
            return None
        entry = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
        return None
    return entry.get("tree")


# --- encoding ------------------------------------------------------------------------------------
# map:      {"m": [[key, key_line, key_column, value], ...], "p": [line, column]}
# sequence: {"s": [[item_line, item_column, value], ...], "p": [line, column]}
# date:     {"d": "YYYY-MM-DD"}      datetime: {"t": ISO 8601}
# scalars:  JSON strings, integers, floats (NaN and infinities as Python's json writes them),
#           true/false, null. Positions are 0-based; a missing one is null.


def _encode(node: Any, nodes: list[int]) -> Any:
    from evaltool.io.yaml import YamlMap, YamlSeq

    nodes[0] += 1
    if isinstance(node, YamlMap):
        rows = []
        for k, v in node.items():
            kp = node.key_positions.get(k)
            rows.append([_encode(k, nodes), *(kp or (None, None)), _encode(v, nodes)])
        return {"m": rows, "p": list(node.start) if node.start else None}
    if isinstance(node, YamlSeq):
        return {"s": [[*(p or (None, None)), _encode(v, nodes)]
                      for p, v in zip(node.item_positions, node, strict=True)],
                "p": list(node.start) if node.start else None}
    if isinstance(node, datetime):
        return {"t": node.isoformat()}
    if isinstance(node, date):
        return {"d": node.isoformat()}
    return node


def _pos(line: Any, col: Any) -> tuple[int, int] | None:
    if line is None or col is None:
        return None
    if type(line) is not int or type(col) is not int:
        raise TypeError("position is not a pair of integers")
    return line, col


_JSON_SCALARS = (str, int, float, bool, type(None))


def _decode(node: Any) -> Any:
    from evaltool.io.yaml import YamlMap, YamlSeq

    if type(node) in _JSON_SCALARS:
        return node
    if not isinstance(node, dict):
        raise ValueError("bare list in an entry")
    start = _pos(*node["p"]) if node.get("p") is not None else None
    if "m" in node:
        mapping = YamlMap(start)
        for k_enc, kl, kc, v_enc in node["m"]:
            k = k_enc if type(k_enc) is str else _decode(k_enc)
            mapping[k] = v_enc if type(v_enc) is str else _decode(v_enc)
            where = _pos(kl, kc)
            if where is not None:
                mapping.key_positions[k] = where
        return mapping
    if "s" in node:
        seq = YamlSeq(start)
        for il, ic, v_enc in node["s"]:
            seq.append(v_enc if type(v_enc) is str else _decode(v_enc))
            seq.item_positions.append(_pos(il, ic))
        return seq
    if "t" in node:
        return datetime.fromisoformat(node["t"])
    if "d" in node:
        return date.fromisoformat(node["d"])
    raise ValueError("unknown node")
