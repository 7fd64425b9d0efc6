"""Verdicts and their roll-up (CEM: pass / fail / inconclusive; not-applicable recorded apart)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Verdict(StrEnum):
    """The outcome of a check, an activity, a requirement or a whole evaluation."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not-applicable"


_RANK = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.FAIL: 2}


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Roll verdicts up: the worst wins; nothing checked is never a pass.

    Not-applicable parts are ignored. If every part is not applicable the whole is not applicable;
    an empty set is inconclusive (CEM: an element stays inconclusive until work shows otherwise).
    """
    seen = list(verdicts)
    if not seen:
        return Verdict.INCONCLUSIVE
    applicable = [v for v in seen if v is not Verdict.NOT_APPLICABLE]
    if not applicable:
        return Verdict.NOT_APPLICABLE
    return max(applicable, key=_RANK.__getitem__)


def combine_overall(verdicts: Iterable[Verdict]) -> Verdict:
    """Roll up a whole evaluation: as :func:`combine`, but 'nothing applicable' is inconclusive."""
    verdict = combine(verdicts)
    return Verdict.INCONCLUSIVE if verdict is Verdict.NOT_APPLICABLE else verdict
