"""The test-method library a profile names (ISO/IEC 23837-2 evaluation methods).

A profile's ``test_method_library`` is a YAML file next to it; each activity's ``test_method``
must then name one of its methods. Whether the check kinds a method lists exist is a question for
the check registry (:func:`evaltool.checks.plan.load_library`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedProfile
from evaltool.io.yaml import Located, load_yaml, validate
from evaltool.model.profile import Activity, MethodLibrary
from evaltool.profile.validate import error_at
from evaltool.suggest import suggest


@dataclass(frozen=True, slots=True)
class LoadedLibrary:
    """A validated method library with the document it came from."""

    library: MethodLibrary
    doc: Located


def library_path(lp: LoadedProfile) -> Path | None:
    """The file of the profile's method library (``None`` if it names none); it must exist."""
    ref = lp.profile.test_method_library
    if ref is None:
        return None
    rel = Path(ref)
    if rel.is_absolute() or rel.suffix not in (".yaml", ".yml"):
        raise error_at(lp, ("test_method_library",),
                       f"test_method_library must be a relative path to a .yaml file, got {ref!r}")
    path = lp.doc.path.parent / rel
    if not path.is_file():
        raise error_at(lp, ("test_method_library",),
                       f"test-method library {str(path)!r} not found")
    return path


def read_library(path: Path) -> LoadedLibrary:
    """Parse a method library and check its shape and that method ids are unique."""
    doc = load_yaml(path, error=ProfileError)
    lib = validate(doc, MethodLibrary, error=ProfileError)
    seen: set[str] = set()
    for i, m in enumerate(lib.methods):
        if m.id in seen:
            raise ProfileError(f"duplicate method id {m.id!r}", path=path,
                               location=doc.position(("methods", i, "id")))
        seen.add(m.id)
    return LoadedLibrary(lib, doc)


def check_test_methods(lp: LoadedProfile, ll: LoadedLibrary) -> None:
    """Every activity's ``test_method`` names a method of the library.

    Without a library, ``test_method`` is free text. With one, an unknown id is an error naming
    the nearest ids.
    """
    known = {m.id for m in ll.library.methods}
    p = lp.profile
    located: list[tuple[Activity, tuple[int | str, ...]]] = []
    for i, sfr in enumerate(p.sfrs):
        for j, el in enumerate(sfr.elements):
            located += [(a, ("sfrs", i, "elements", j, "activities", k))
                        for k, a in enumerate(el.activities)]
    for i, sar in enumerate(p.sars):
        located += [(a, ("sars", i, "activities", k)) for k, a in enumerate(sar.activities)]
    for act, loc in located:
        if act.test_method is not None and act.test_method not in known:
            raise error_at(lp, (*loc, "test_method"),
                           f"activity {act.id} names unknown test method {act.test_method!r} of "
                           f"library {ll.library.id}{suggest(act.test_method, known, n=2)}")
