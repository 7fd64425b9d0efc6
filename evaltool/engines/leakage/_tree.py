"""The canonical merge tree shared by every streaming accumulator of the leakage engine.

Rows are numbered globally from 0. Row ``r`` belongs to leaf ``r // leaf_rows``. A leaf's summary
is computed from its rows in row order, and two summaries are merged only when they are the left
and right halves of the same dyadic block of leaves (leaves ``[2i·2^l, (2i+2)·2^l)`` at level
``l``), always as ``merge(left, right)``. The summaries left at the end are the maximal complete
dyadic blocks; :meth:`CanonicalTree.summary` folds them from left to right.

Because every floating-point operation is then fixed by the *set of rows* alone, the result is
bitwise identical whatever the chunk sizes passed to ``update`` and whatever the order in which
partial accumulators (each started at its own ``start_row``) are merged. Rows of an incomplete
leaf are kept (at most ``leaf_rows`` per leaf) until the leaf is complete or a summary is asked
for.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

import numpy as np

NodeT = TypeVar("NodeT")
Arrays = tuple[np.ndarray, ...]


class CanonicalTree(ABC, Generic[NodeT]):
    """Abstract streaming accumulator over row-aligned arrays with a canonical merge tree.

    Parameters
    ----------
    leaf_rows:
        Rows per leaf (the fixed block size of the tree). Accumulators can only be merged when
        their ``leaf_rows`` and configuration agree.
    start_row:
        Global index of the first row this accumulator will receive; accumulators built on
        disjoint row ranges of one data set can then be merged in any order.
    """

    def __init__(self, *, leaf_rows: int, start_row: int) -> None:
        if int(leaf_rows) < 1:
            raise ValueError(f"leaf_rows must be >= 1, got {leaf_rows}")
        if int(start_row) < 0:
            raise ValueError(f"start_row must be >= 0, got {start_row}")
        self._leaf_rows = int(leaf_rows)
        self._next_row = int(start_row)
        self._nodes: dict[tuple[int, int], NodeT] = {}
        self._frags: dict[int, list[tuple[int, Arrays]]] = {}
        self._ranges: list[tuple[int, int]] = []

    # -- what a concrete accumulator provides -------------------------------------------------
    @abstractmethod
    def _leaves(self, arrays: Arrays) -> list[NodeT]:
        """Summaries of consecutive leaves of ``arrays`` (the last one may be short)."""

    @abstractmethod
    def _merge(self, left: NodeT, right: NodeT) -> NodeT:
        """Summary of the union of two adjacent blocks, ``left`` before ``right``."""

    @abstractmethod
    def _config(self) -> tuple[object, ...]:
        """Everything that must agree for two accumulators to be merged."""

    # -- streaming ---------------------------------------------------------------------------
    @property
    def leaf_rows(self) -> int:
        """Rows per leaf of the canonical merge tree."""
        return self._leaf_rows

    def _ingest(self, arrays: Arrays) -> None:
        n = int(arrays[0].shape[0])
        L = self._leaf_rows
        row = self._next_row
        i = 0
        if n == 0:
            return
        self._claim([(row, row + n)])
        head = (-row) % L
        if head:
            k = min(head, n)
            self._add_fragment(row, tuple(a[:k] for a in arrays))
            i = k
        full = (n - i) // L
        if full:
            block = tuple(a[i : i + full * L] for a in arrays)
            first_leaf = (row + i) // L
            for offset, node in enumerate(self._leaves(block)):
                self._insert(self._nodes, 0, first_leaf + offset, node)
            i += full * L
        if i < n:
            self._add_fragment(row + i, tuple(a[i:] for a in arrays))
        self._next_row = row + n

    def _claim(self, ranges: list[tuple[int, int]]) -> None:
        """Record row ranges as seen, refusing any row already seen."""
        merged = sorted(self._ranges + ranges)
        for (_, end), (start, _) in itertools.pairwise(merged):
            if start < end:
                raise ValueError("the same rows were given twice (overlapping row ranges)")
        out: list[tuple[int, int]] = []
        for start, end in merged:
            if out and out[-1][1] == start:
                out[-1] = (out[-1][0], end)
            else:
                out.append((start, end))
        self._ranges = out

    def _add_fragment(self, row: int, arrays: Arrays) -> None:
        leaf = row // self._leaf_rows
        frags = self._frags.setdefault(leaf, [])
        frags.append((row, tuple(np.array(a, copy=True) for a in arrays)))
        if sum(int(a[0].shape[0]) for _, a in frags) == self._leaf_rows:
            del self._frags[leaf]
            self._insert(self._nodes, 0, leaf, self._leaf_of(frags))

    def _leaf_of(self, frags: list[tuple[int, Arrays]]) -> NodeT:
        ordered = sorted(frags, key=lambda item: item[0])
        width = len(ordered[0][1])
        arrays = tuple(np.concatenate([arr[k] for _, arr in ordered]) for k in range(width))
        (node,) = self._leaves(arrays)
        return node

    def _insert(
        self, nodes: dict[tuple[int, int], NodeT], level: int, index: int, node: NodeT
    ) -> None:
        while True:
            if (level, index) in nodes:
                raise ValueError("the same rows were given twice (overlapping row ranges)")
            sibling = index ^ 1
            other = nodes.pop((level, sibling), None)
            if other is None:
                nodes[(level, index)] = node
                return
            node = self._merge(other, node) if sibling < index else self._merge(node, other)
            level += 1
            index >>= 1

    # -- combining and reading ---------------------------------------------------------------
    def _merge_from(self, other: CanonicalTree[NodeT]) -> None:
        if type(other) is not type(self) or other._config() != self._config():
            raise ValueError("accumulators with different configurations cannot be merged")
        self._claim(list(other._ranges))
        for (level, index), node in other._nodes.items():
            self._insert(self._nodes, level, index, node)
        for frags in other._frags.values():
            for row, arrays in frags:
                self._add_fragment(row, arrays)
        self._next_row = max(self._next_row, other._next_row)

    def _summary(self) -> NodeT | None:
        nodes = dict(self._nodes)
        for leaf, frags in self._frags.items():
            self._insert(nodes, 0, leaf, self._leaf_of(frags))
        if not nodes:
            return None
        ordered = sorted(nodes.items(), key=lambda kv: kv[0][1] << kv[0][0])
        acc = ordered[0][1]
        for _, node in ordered[1:]:
            acc = self._merge(acc, node)
        return acc
