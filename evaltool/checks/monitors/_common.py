"""What the quantum-hacking monitors share: default error rates, the sifting and dead-time
corrections, and block-record access."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from evaltool.checks.outcome import enumerate_ids
from evaltool.errors import EvidenceError, InsufficientDataError

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.io.readers import BlockRecords

DEFAULT_ALPHA = 0.001
DEFAULT_POWER = 0.8


def key_basis(ctx: CheckContext) -> float:
    """Probability of the key basis claimed by the device."""
    return float(ctx.manifest.claims.p_key_basis)


def sifting_fraction(ctx: CheckContext) -> float:
    """Fraction of pulses whose bases agree with passive, independent basis choices q and q."""
    q = key_basis(ctx)
    return q * q + (1.0 - q) * (1.0 - q)


def dead_time_s(ctx: CheckContext, given_ns: float | None) -> float:
    """Common dead time: the parameter, else the ST's ``dead_time_ns``, else none."""
    value = given_ns if given_ns is not None else ctx.st.get("dead_time_ns")
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise EvidenceError(f"dead time {value!r} ns is not a non-negative number")
    return float(value) * 1e-9


def open_gate_fraction(ctx: CheckContext, dead_s: float, click_rate: NDArray[np.float64]
                       ) -> NDArray[np.float64]:
    """Fraction of gates the common dead time leaves open, ``1 − f_rep t_dead r``.

    ``r`` is the click probability per pulse (all classes); for a non-paralysable dead time the
    fraction of dead gates is the click rate times the dead time (the correction of Rusca et
    al., APL 112, 171104 (2018); ``docs/methods/monitors.md``).
    """
    if dead_s == 0:
        return np.ones_like(click_rate)
    rep = ctx.manifest.claims.rep_rate_hz
    if rep is None:
        raise InsufficientDataError(
            "the dead-time correction needs the pulse repetition rate (claims.rep_rate_hz)")
    open_fraction = 1.0 - rep * dead_s * click_rate
    if np.any(open_fraction <= 0):
        raise EvidenceError("click rate times dead time exceeds 1: counts and claims disagree")
    return open_fraction


COUNTS_PURPOSE = "for the per-class counts"


def block_counts(ctx: CheckContext, slot: str, k: int | None = None
                 ) -> tuple[BlockRecords, dict[str, NDArray[np.float64]]]:
    """The block records of ``slot`` and their five per-class count families (with ``k``, the
    table must have exactly ``k`` classes)."""
    from evaltool.io.readers.blocks import FAMILIES

    blocks = ctx.blocks(slot)
    arrays = blocks.counts(*FAMILIES, n_classes=k, purpose=COUNTS_PURPOSE)
    return blocks, dict(zip(FAMILIES, arrays, strict=True))


def blocks_named(blocks: BlockRecords, rows: NDArray[np.intp]) -> str:
    """The block ids of ``rows`` for a reason sentence."""
    return enumerate_ids(blocks.ids(rows))


def block_x(blocks: BlockRecords) -> tuple[NDArray[np.float64], str]:
    """x values of per-block series: the block ids."""
    return blocks.block_id.astype(np.float64), "block_id"
