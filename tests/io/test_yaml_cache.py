"""The YAML parse cache: a cached document loads exactly as a freshly parsed one.

The reference for positions is ruamel.yaml's own line/column bookkeeping on the round-trip tree
(what :class:`evaltool.io.yaml.Located` read before the cache existed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from evaltool.errors import ProfileError
from evaltool.io import yaml as yaml_io
from evaltool.io import yaml_cache
from evaltool.io.profiles import load_profile
from evaltool.io.yaml import Located, YamlMap, YamlSeq, load_yaml
from tests.support import PROFILE, REPO

LIBRARY = REPO / "profiles" / "iso-iec-23837-2-activities.yaml"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder and an empty in-process memory."""
    monkeypatch.setenv("EVALTOOL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EVALTOOL_NO_CACHE", raising=False)
    monkeypatch.setattr(yaml_cache, "_memory", {})
    return tmp_path / "cache" / "yaml"


def _forget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start a "new process": empty memory, and parsing forbidden (only the folder may answer)."""
    monkeypatch.setattr(yaml_cache, "_memory", {})

    def no_parse(*args: Any) -> Any:
        raise AssertionError("the document was parsed again")

    monkeypatch.setattr(yaml_io, "_parse", no_parse)


def _ruamel_position(path: Path, loc: tuple[int | str, ...]) -> str | None:
    """The position the loader reported before the cache: ruamel's lc data, walked the same way."""
    node = YAML(typ="rt", pure=True).load(path.read_text(encoding="utf-8"))
    where = (node.lc.line, node.lc.col)
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            where = tuple(node.lc.key(key))
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            where = tuple(node.lc.item(key))
            node = node[key]
        else:
            break
    return f"{where[0] + 1}:{where[1] + 1}"


def _paths(node: Any, prefix: tuple[int | str, ...] = ()) -> Iterator[tuple[int | str, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _shape(node: Any) -> Any:
    """The tree with every container and scalar tagged by its exact type, plus positions."""
    if isinstance(node, YamlMap):
        return ("map", node.start, [(type(k).__name__, k, node.key_positions.get(k), _shape(v))
                                    for k, v in node.items()])
    if isinstance(node, YamlSeq):
        return ("seq", node.start, node.item_positions, [_shape(v) for v in node])
    return (type(node).__name__, node)


def test_a_cached_profile_loads_identically_without_parsing(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = load_yaml(PROFILE)
    entries = list(cache.glob("*.json"))
    assert len(entries) == 1
    _forget(monkeypatch)
    cached = load_yaml(PROFILE)
    assert _shape(cached.data) == _shape(fresh.data)
    assert cached.data == fresh.data
    lp = load_profile(PROFILE)  # validation still runs, on the cached tree
    assert lp.profile.id == "etsi-gs-qkd-016"
    assert len(lp.profile.sfrs) == len(cached.data["sfrs"]) > 10


@pytest.mark.parametrize("source", [PROFILE, LIBRARY], ids=["profile", "library"])
def test_positions_equal_ruamels_for_every_node(
        source: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_yaml(source)
    _forget(monkeypatch)
    doc = load_yaml(source)
    paths = list(_paths(doc.data))
    assert len(paths) > 500
    reference = YAML(typ="rt", pure=True).load(source.read_text(encoding="utf-8"))
    for loc in paths[:: max(1, len(paths) // 400)]:
        node, where = reference, (reference.lc.line, reference.lc.col)
        for key in loc:
            if isinstance(node, CommentedMap):
                where = tuple(node.lc.key(key))
            else:
                where = tuple(node.lc.item(key))
            node = node[key]
        assert doc.position(loc) == f"{where[0] + 1}:{where[1] + 1}", loc
    # A path that leaves the document stops at its deepest existing node, as before.
    assert doc.position(("sfrs", 0, "no-such-key", 3)) == _ruamel_position(source, ("sfrs", 0))


def test_scalars_are_plain_and_survive_the_cache(
        cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "scalars.yaml"
    p.write_text("hex: 0x1F\nunder: 1_000\nf: 1.50\nexp: 1e3\ninf: .inf\nb: &t true\nalias: *t\n"
                 "d: 2024-01-02\nnaive: 2024-01-02 10:00:00\nlit: |\n  two\n  lines\n"
                 "quoted: 'q'\nnull: ~\n1: int key\nlist: [1, 2.5, x]\n")
    fresh = load_yaml(p)
    _forget(monkeypatch)
    cached = load_yaml(p)
    assert _shape(cached.data) == _shape(fresh.data)
    data = cached.data
    assert [type(data[k]) for k in ("hex", "under", "f", "exp", "inf", "d", "naive", "lit")] == [
        int, int, float, float, float, date, datetime, str]
    assert (data["hex"], data["under"], data["f"], data["exp"]) == (31, 1000, 1.5, 1000.0)
    assert data["lit"] == "two\nlines\n"
    assert data["alias"] == data["b"] == 1  # an anchored boolean is an int for ruamel; kept so
    assert data[1] == "int key" and data[None] is None
    assert cached.position(("list", 2)) == "16:16"


def test_documents_with_unusual_values_are_not_cached(cache: Path, tmp_path: Path) -> None:
    for name, text in {"tz": "t: 2024-01-02T10:00:00+02:00\n", "binary": "b: !!binary aGk=\n",
                       "tag": "x: !custom 3\n"}.items():
        p = tmp_path / f"{name}.yaml"
        p.write_text(text)
        assert isinstance(load_yaml(p), Located)
    assert not cache.exists() or list(cache.glob("*.json")) == []


def test_no_cache_env_writes_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALTOOL_NO_CACHE", "1")
    load_yaml(PROFILE)
    assert not cache.exists()


@pytest.mark.parametrize("damage", ["garbage", "other key", "bad node", "bad position",
                                    "truncated"])
def test_a_damaged_entry_is_ignored_and_rewritten(
        damage: str, cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    p = tmp_path / "small.yaml"
    p.write_text("a: 1\nb: [x, y]\n")
    fresh = load_yaml(p)
    (entry,) = cache.glob("*.json")
    good = entry.read_text()
    obj = json.loads(good)
    if damage == "garbage":
        entry.write_bytes(b"\x80not json")
    elif damage == "other key":
        obj["key"] = "0" * 64
        entry.write_text(json.dumps(obj))
    elif damage == "bad node":
        obj["tree"]["m"][1][3] = {"zzz": 1}
        entry.write_text(json.dumps(obj))
    elif damage == "bad position":
        obj["tree"]["m"][0][1] = "one"
        entry.write_text(json.dumps(obj))
    else:
        entry.write_text(good[: len(good) // 2])
    monkeypatch.setattr(yaml_cache, "_memory", {})
    again = load_yaml(p)
    assert _shape(again.data) == _shape(fresh.data)
    assert entry.read_text() == good  # rewritten by the fresh parse
    assert [q.name for q in cache.iterdir() if q.name.startswith(".tmp")] == []


def test_errors_are_the_same_from_the_cache(
        cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = PROFILE.read_text(encoding="utf-8").replace("version: \"0.2.0\"", "version: 2", 1)
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as first:
        load_profile(p)
    _forget(monkeypatch)
    with pytest.raises(ProfileError) as second:
        load_profile(p)
    assert str(second.value) == str(first.value)
    line = text.splitlines().index("version: 2") + 1
    assert f"{p}:{line}:1: version: Input should be a valid string (got 2)" == str(first.value)


def test_a_syntax_error_is_never_cached(cache: Path, tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("a: [1, 2\n")
    for _ in range(2):
        with pytest.raises(ProfileError, match="YAML syntax error"):
            load_yaml(p)
    assert not cache.exists() or list(cache.glob("*.json")) == []


def test_the_key_changes_with_the_bytes_and_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    k = yaml_cache._key(b"a: 1\n")
    assert k != yaml_cache._key(b"a: 2\n")
    monkeypatch.setattr(yaml_cache, "__version__", "9.9.9")
    assert k != yaml_cache._key(b"a: 1\n")


@pytest.mark.parametrize("writable", ["folder", "entry"])
def test_an_entry_others_may_write_is_not_read(
        writable: str, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "small.yaml"
    p.write_text("a: 1\n")
    load_yaml(p)
    (entry,) = cache.glob("*.json")
    obj = json.loads(entry.read_text())
    obj["tree"]["m"][0][3] = 2  # what an attacker would plant
    entry.write_text(json.dumps(obj))
    (cache if writable == "folder" else entry).chmod(0o777 if writable == "folder" else 0o666)
    monkeypatch.setattr(yaml_cache, "_memory", {})
    assert load_yaml(p).data == {"a": 1}
    monkeypatch.setattr(yaml_cache, "_memory", {})
    if writable == "entry":  # replaced by the fresh parse, privately
        assert entry.stat().st_mode & 0o077 == 0
        assert load_yaml(p).data == {"a": 1}
    else:  # nothing is written into a folder others may write; the planted entry is left unread
        cache.chmod(0o700)
        assert load_yaml(p).data == {"a": 2}
