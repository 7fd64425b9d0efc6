"""The registry of evidence readers: one reader per (evidence kind, format), registered with
:func:`reader`, each returning a typed, validated, frozen view of one bundle slot.

Readers follow the pattern of the check registry (``evaltool.checks.registry``): decorator
registration, a docstring that says what the view holds, one contract test over all of them
(``tests/io/test_readers.py``). Every reader applies its kind's column schema
(:data:`evaltool.model.bundle.TABLE_SCHEMAS`) and raises :class:`~evaltool.errors.EvidenceError`
(malformed) or :class:`~evaltool.errors.InsufficientDataError` (too little to read) naming the
file, so a slot is valid or invalid for every check alike.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from evaltool.errors import EvidenceError, PluginError
from evaltool.model.bundle import EvidenceFormat, EvidenceKind


@dataclass(frozen=True, slots=True)
class Source:
    """One evidence file as a reader sees it."""

    slot: str
    kind: EvidenceKind
    format: EvidenceFormat
    path: Path
    """Resolved absolute path inside the bundle."""
    display: str
    """The path shown in errors (bundle folder name / path in the manifest)."""
    sha256: str
    """Hash of the content (computed when the bundle was loaded); the key of the view cache."""


V = TypeVar("V")
ReadFn = Callable[[Source], V]


@dataclass(frozen=True, slots=True)
class Reader:
    """A registered reader."""

    name: str
    kinds: tuple[EvidenceKind, ...]
    formats: tuple[EvidenceFormat, ...]
    read: Callable[[Source], Any]
    summary: str


_REGISTRY: dict[tuple[EvidenceKind, EvidenceFormat], Reader] = {}


def reader(name: str, kinds: tuple[EvidenceKind, ...], formats: tuple[EvidenceFormat, ...]
           ) -> Callable[[ReadFn[V]], ReadFn[V]]:
    """Register ``fn`` as the reader of every (kind, format) pair given; a pair registered twice
    or a reader without a docstring fails at import."""

    def register(fn: ReadFn[V]) -> ReadFn[V]:
        doc = inspect.getdoc(fn)
        if not doc:
            raise PluginError(f"evidence reader {name!r} has no docstring")
        entry = Reader(name, kinds, formats, fn, doc.strip().splitlines()[0])
        for kind in kinds:
            for fmt in formats:
                if (kind, fmt) in _REGISTRY:
                    raise PluginError(f"evidence reader for {kind.value}/{fmt.value} is "
                                      "registered twice")
                _REGISTRY[(kind, fmt)] = entry
        return fn

    return register


def reader_for(kind: EvidenceKind, fmt: EvidenceFormat) -> Reader:
    """The reader of ``kind`` stored as ``fmt``."""
    entry = _REGISTRY.get((kind, fmt))
    if entry is None:
        raise EvidenceError(f"no reader for '{kind.value}' evidence in {fmt.value} format")
    return entry


def all_readers() -> list[Reader]:
    """Every registered reader, once, by name."""
    return sorted({id(r): r for r in _REGISTRY.values()}.values(), key=lambda r: r.name)


def read(source: Source) -> Any:
    """The view of ``source`` from its kind's reader; views of the same content are shared
    (they are frozen), so several checks reading one slot parse it once."""
    return _cached(source)


@lru_cache(maxsize=32)
def _cached(source: Source) -> Any:
    return reader_for(source.kind, source.format).read(source)


def clear_cache() -> None:
    """Forget the shared views (tests that rewrite a file in place under the same hash)."""
    _cached.cache_clear()
