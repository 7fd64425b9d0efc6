"""Unit conversions of the mapping language: SI prefixes within one quantity, and the power levels
dBm and dBW (``P_dBm = 10 log10(P / 1 mW)``, IEC 60027-3), temperatures in kelvin and degrees
Celsius (``T_C = T_K - 273.15``).

A conversion is ``to_target(values)`` on float64 arrays; linear ones also expose their exact factor
as a ``Fraction`` so that integer targets (``time_ps``) are converted without rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# quantity, and the factor to the quantity's base unit, per spelling (case-insensitive; u = µ)
_LINEAR: dict[str, tuple[str, Fraction]] = {
    "s": ("time", Fraction(1)), "ms": ("time", Fraction(1, 10**3)),
    "us": ("time", Fraction(1, 10**6)), "ns": ("time", Fraction(1, 10**9)),
    "ps": ("time", Fraction(1, 10**12)),
    "w": ("power", Fraction(1)), "mw": ("power", Fraction(1, 10**3)),
    "uw": ("power", Fraction(1, 10**6)), "nw": ("power", Fraction(1, 10**9)),
    "a": ("current", Fraction(1)), "ma": ("current", Fraction(1, 10**3)),
    "ua": ("current", Fraction(1, 10**6)), "na": ("current", Fraction(1, 10**9)),
    "v": ("voltage", Fraction(1)), "mv": ("voltage", Fraction(1, 10**3)),
    "uv": ("voltage", Fraction(1, 10**6)),
    "hz": ("frequency", Fraction(1)), "khz": ("frequency", Fraction(10**3)),
    "mhz": ("frequency", Fraction(10**6)), "ghz": ("frequency", Fraction(10**9)),
    "m": ("length", Fraction(1)), "km": ("length", Fraction(10**3)),
    "nm": ("length", Fraction(1, 10**9)),
}
_LEVELS = {"dbm": Fraction(1, 10**3), "dbw": Fraction(1)}
"""Power levels: reference power in watts."""
_TEMPERATURES = {"c": 0.0, "k": -273.15}
"""Temperatures: what to add to convert to degrees Celsius."""


def _norm(unit: str) -> str:
    u = unit.strip().replace("µ", "u").replace("μ", "u").replace("°", "").lower()
    return {"degc": "c", "celsius": "c", "kelvin": "k", "sec": "s"}.get(u, u)


def quantity(unit: str) -> str | None:
    """The quantity a unit measures (``time``, ``power``, ...), or None when unknown."""
    u = _norm(unit)
    if u in _LINEAR:
        return _LINEAR[u][0]
    if u in _LEVELS:
        return "power"
    if u in _TEMPERATURES:
        return "temperature"
    return None


@dataclass(frozen=True, slots=True)
class Conversion:
    """From one unit to another of the same quantity."""

    source: str
    target: str
    apply: Callable[[FloatArray], FloatArray]
    factor: Fraction | None
    """The exact factor when the conversion is linear (``target = source x factor + shift``)."""
    shift: Fraction = Fraction(0)


class UnitError(ValueError):
    """Units that cannot be converted into each other."""


def conversion(source: str, target: str) -> Conversion:
    """The conversion from ``source`` to ``target`` units (``target`` is a column suffix)."""
    s, t = _norm(source), _norm(target)
    qs, qt = quantity(s), quantity(t)
    if qs is None:
        raise UnitError(f"unknown unit {source!r}")
    if qt is None:
        raise UnitError(f"unknown target unit {target!r}")
    if qs != qt:
        raise UnitError(f"cannot convert {qs} ({source}) to {qt} ({target})")
    if qs == "temperature":
        exact = Fraction(str(_TEMPERATURES[s])) - Fraction(str(_TEMPERATURES[t]))
        return Conversion(source, target, lambda x: x + float(exact), Fraction(1), exact)
    if s in _LINEAR and t in _LINEAR:
        factor = _LINEAR[s][1] / _LINEAR[t][1]
        f = float(factor)
        return Conversion(source, target, lambda x: x * f, factor)
    if s in _LEVELS and t in _LEVELS:
        shift = 10.0 * float(np.log10(float(_LEVELS[s] / _LEVELS[t])))
        return Conversion(source, target, lambda x: x + shift, Fraction(1) if shift == 0 else None)
    if s in _LINEAR and t in _LEVELS:  # watts (scaled) to a level
        to_reference = float(_LINEAR[s][1] / _LEVELS[t])

        def level(x: FloatArray) -> FloatArray:
            if np.any(x <= 0):
                raise UnitError(f"a power of zero or below has no level in {target}")
            out: FloatArray = 10.0 * np.log10(x * to_reference) if to_reference != 1.0 \
                else 10.0 * np.log10(x)
            return out

        return Conversion(source, target, level, None)
    from_reference = float(_LEVELS[s] / _LINEAR[t][1])  # a level to watts (scaled)

    def power(x: FloatArray) -> FloatArray:
        out: FloatArray = np.power(10.0, x / 10.0) * from_reference
        return out

    return Conversion(source, target, power, None)
