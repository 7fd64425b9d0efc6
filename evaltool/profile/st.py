"""The security target's values: the profile's assignments and selections completed (ASE_REQ.2).

An ST may complete an operation (assignment, selection) the profile leaves open and tighten a
bound, never loosen it (CC:2022 Part 1 on operations; Part 3 ASE_REQ.2). The values reach check
parameters and element texts through ``{{ st.name }}`` references.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedProfile, LoadedST
from evaltool.model.profile import Assignment, ParameterType, Tighten
from evaltool.suggest import suggest

ST_REF = re.compile(r"\{\{\s*st\.([a-z][a-z0-9_]*)\s*\}\}")
"""A reference ``{{ st.name }}`` to an assignment or selection."""


def st_values(lp: LoadedProfile, lst: LoadedST | None) -> dict[str, Any]:
    """Assignment and selection values: the ST's where given, else the profile's defaults."""
    p = lp.profile
    values: dict[str, Any] = {a.id: a.default for a in p.assignments}
    values.update({s.id: s.default for s in p.selections})
    if lst is None:
        return values
    st = lst.st
    if st.claims_profile != p.id:
        raise ProfileError(f"security target claims profile {st.claims_profile!r}, not {p.id!r}",
                           path=lst.doc.path, location=lst.doc.position(("claims_profile",)))
    if st.claims_profile_version is not None and st.claims_profile_version != p.version:
        raise ProfileError(
            f"security target claims version {st.claims_profile_version!r} of {p.id}, the "
            f"profile is version {p.version!r}", path=lst.doc.path,
            location=lst.doc.position(("claims_profile_version",)))
    by_id = {a.id: a for a in p.assignments}
    for key, value in st.assignments.items():
        where = lst.doc.position(("assignments", key))
        a = by_id.get(key)
        if a is None:
            raise ProfileError(f"assignment {key!r} is not defined by profile {p.id}"
                               f"{suggest(key, by_id)}", path=lst.doc.path, location=where)
        values[key] = checked_value(
            a, value, partial(ProfileError, path=lst.doc.path, location=where))
    sels = {s.id: s for s in p.selections}
    for key, sval in st.selections.items():
        where = lst.doc.position(("selections", key))
        s = sels.get(key)
        if s is None:
            raise ProfileError(f"selection {key!r} is not defined by profile {p.id}",
                               path=lst.doc.path, location=where)
        chosen = (sval,) if isinstance(sval, str) else tuple(sval)
        if not s.multiple and len(chosen) != 1:
            raise ProfileError(f"selection {key!r} takes exactly one choice", path=lst.doc.path,
                               location=where)
        bad = [c for c in chosen if c not in s.choices]
        if bad:
            raise ProfileError(f"selection {key!r}: {bad[0]!r} is not one of "
                               f"{', '.join(s.choices)}", path=lst.doc.path, location=where)
        values[key] = sval
    unset = [a.id for a in p.assignments if values.get(a.id) is None]
    unset += [s.id for s in p.selections if values.get(s.id) is None]
    if unset:
        raise ProfileError(f"the security target leaves {unset[0]!r} open and the profile gives "
                           "no default", path=lst.doc.path,
                           location=lst.doc.position(("assignments",)))
    return values


def checked_value(a: Assignment, value: Any, fail: Callable[[str], ProfileError]) -> Any:
    """``value`` checked against the assignment's type, range and choices (ASE_REQ.2).

    ``fail(message)`` builds the error to raise. A value beyond the bound on the strict side of
    a tightenable assignment is reported as *loosening* that bound.
    """
    if a.type in (ParameterType.FLOAT, ParameterType.INT):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"assignment {a.id!r}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise fail(f"assignment {a.id!r}: {value} is not a finite number")
        if a.type is ParameterType.INT and not float(value).is_integer():
            raise fail(f"assignment {a.id!r}: expected an integer, got {value!r}")
        unit = f" {a.unit}" if a.unit else ""
        if a.min is not None and value < a.min:
            if a.tighten is Tighten.HIGHER:
                raise fail(f"assignment {a.id!r}: {value}{unit} loosens the profile's bound "
                           f"min = {a.min:g}{unit} (a higher value is stricter; an ST may only "
                           "tighten)")
            raise fail(f"assignment {a.id!r}: {value}{unit} is below the profile's range "
                       f"min = {a.min:g}{unit}")
        if a.max is not None and value > a.max:
            if a.tighten is Tighten.LOWER:
                raise fail(f"assignment {a.id!r}: {value}{unit} loosens the profile's bound "
                           f"max = {a.max:g}{unit} (a lower value is stricter; an ST may only "
                           "tighten)")
            raise fail(f"assignment {a.id!r}: {value}{unit} is above the profile's range "
                       f"max = {a.max:g}{unit}")
        return int(value) if a.type is ParameterType.INT else float(value)
    if a.type is ParameterType.BOOL and not isinstance(value, bool):
        raise fail(f"assignment {a.id!r}: expected true or false, got {value!r}")
    if a.type is ParameterType.STRING:
        if not isinstance(value, str):
            raise fail(f"assignment {a.id!r}: expected a string, got {value!r}")
        refusal = a.refusal(value)
        if refusal is not None:
            raise fail(f"assignment {a.id!r}: {value!r} is refused by the profile: {refusal}")
        if a.choices is not None and value not in a.choices:
            raise fail(f"assignment {a.id!r}: {value!r} is not one of the profile's allowed "
                       f"values {', '.join(a.choices)}")
    return value


def substitute(obj: Any, values: Mapping[str, Any], undefined: list[str]) -> Any:
    """``obj`` (check parameters) with its ``{{ st.x }}`` references filled in.

    A string that is one whole reference becomes the value itself (a number stays a number); a
    reference inside a longer string is replaced by the value's text. Names not in ``values`` are
    appended to ``undefined`` and left as written.
    """
    if isinstance(obj, str):
        whole = ST_REF.fullmatch(obj.strip())
        if whole:
            name = whole.group(1)
            if name not in values:
                undefined.append(name)
                return obj
            return values[name]

        def repl(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                undefined.append(m.group(1))
                return m.group(0)
            return str(values[m.group(1)])

        return ST_REF.sub(repl, obj)
    if isinstance(obj, Mapping):
        return {k: substitute(v, values, undefined) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [substitute(v, values, undefined) for v in obj]
    return obj


def render_text(text: str, values: Mapping[str, Any]) -> str:
    """An element text with its ``{{ st.x }}`` operations filled in (unknown ones left as is)."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if values.get(name) is None:
            return m.group(0)
        v = values[name]
        return ", ".join(v) if isinstance(v, list | tuple) else str(v)

    return ST_REF.sub(repl, text)
