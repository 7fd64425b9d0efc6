"""Jinja filters: formatting only (no comparison with thresholds happens in templates)."""

from __future__ import annotations

from evaltool.model.results import Measurement


def fmt_number(x: float | int | None) -> str:
    """A number as text: integers exactly, small p-values in scientific notation."""
    if x is None:
        return "n/a"
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e15):
        return f"{int(x):,}".replace(",", "\u2009")
    ax = abs(float(x))
    if ax != 0 and (ax < 1e-3 or ax >= 1e6):
        return f"{x:.4e}"
    return f"{x:.6g}"


def fmt_measurement(m: Measurement) -> str:
    """``value unit (passes if value >= threshold)``."""
    unit = f" {m.unit}" if m.unit else ""
    text = f"{fmt_number(m.value)}{unit}"
    if m.threshold is not None and m.passes_if is not None:
        text += f" (pass if {m.passes_if} {fmt_number(m.threshold)}{unit})"
    return text


def verdict_class(v: str) -> str:
    """CSS class of a verdict badge."""
    return "v-" + v.replace(" ", "-")


_SHORT = {"inconclusive": "inc.", "not-applicable": "n/a"}


def verdict_short(v: str) -> str:
    """A verdict in at most four letters, for the narrow cells of the verdict matrix."""
    return _SHORT.get(v, v)


def short_hash(h: str) -> str:
    """First 16 hex digits of a hash, for tables (the full hash is in provenance)."""
    return h[:16]
