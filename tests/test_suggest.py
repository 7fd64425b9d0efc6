"""The one "did you mean" of the error messages."""

from __future__ import annotations

from evaltool.suggest import suggest


def test_suggest_names_the_closest_known_name() -> None:
    known = ["telemetry.range", "telemetry.rate", "protocol.abort-rule"]
    assert suggest("telemetry.rnage", known) == " (did you mean 'telemetry.range'?)"
    assert suggest("telemetry.rnage", iter(known)) == " (did you mean 'telemetry.range'?)"


def test_suggest_joins_several_closest_first() -> None:
    known = {"FCS_CKM.1", "FCS_CKM.4", "FCS_COP.1", "FPT_STM.1"}
    # FCS_CKM.1 and FCS_CKM.4 are equally close to FCS_CKM.7 (8 of 9 characters): the tie
    # comes out in reverse alphabetical order; FCS_COP.1 is less close.
    assert suggest("FCS_CKM.7", known, n=3) == (
        " (did you mean 'FCS_CKM.4' or 'FCS_CKM.1' or 'FCS_COP.1'?)")
    assert suggest("FCS_CKM.7", known, n=1) == " (did you mean 'FCS_CKM.4'?)"


def test_suggest_is_silent_without_a_close_name() -> None:
    assert suggest("monitor.quantum-radar", ["telemetry.range", "protocol.auth"]) == ""
    assert suggest("anything", []) == ""


def test_suggest_names_each_known_name_once() -> None:
    assert suggest("O.KEY", ["O.KEYS", "O.KEYS", "O.KEYS"], n=3) == " (did you mean 'O.KEYS'?)"
