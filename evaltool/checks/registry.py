"""The registry of check kinds: ``family.test`` names, their parameter models and implementations.

Kinds are registered with :func:`check` by the modules that ``evaltool.checks`` imports (the one
place listing every built-in kind). A kind the registry does not hold is a profile error naming it
and the nearest registered kinds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from evaltool.errors import PluginError, ProfileError
from evaltool.model.base import StrictModel
from evaltool.suggest import suggest

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.checks.outcome import Outcome


class CheckParams(StrictModel):
    """Base of every check's parameter model (unknown keys are errors)."""


P = TypeVar("P", bound=CheckParams)
RunFn = Callable[[P, "CheckContext"], "Outcome"]


@dataclass(frozen=True, slots=True)
class CheckType(Generic[P]):
    """A registered check kind."""

    kind: str
    params: type[P]
    run: Callable[[P, CheckContext], Outcome]
    standard_ref: str
    summary: str


_REGISTRY: dict[str, CheckType[Any]] = {}


def _summary(fn: Callable[..., Any], fallback: str) -> str:
    doc = inspect.getdoc(fn)
    return doc.strip().splitlines()[0] if doc else fallback


def check(kind: str, *, params: type[P], ref: str) -> Callable[[RunFn[P]], RunFn[P]]:
    """Register ``fn`` as the implementation of ``kind``; a duplicate kind fails at import."""

    def register(fn: RunFn[P]) -> RunFn[P]:
        if kind in _REGISTRY:
            raise PluginError(f"check kind '{kind}' is registered twice")
        if not fn.__doc__:
            raise PluginError(f"check kind '{kind}' has no docstring")
        _REGISTRY[kind] = CheckType(kind, params, fn, ref, _summary(fn, kind))
        return fn

    return register


def get(kind: str) -> CheckType[Any]:
    """The check type for ``kind``, or a ProfileError suggesting the nearest names."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ProfileError(f"unknown check kind {kind!r}{suggest(kind, _REGISTRY, n=3)}"
                           ) from None


def all_checks() -> list[CheckType[Any]]:
    """Every registered kind, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def parse_params(ctype: CheckType[P], params: Mapping[str, Any]) -> P:
    """Validate ``params`` against the kind's model; errors become one ProfileError line."""
    try:
        return ctype.params.model_validate(dict(params))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        parts = []
        for e in errors[:5]:
            where = ".".join(str(x) for x in e["loc"])
            msg = "unknown parameter" if e["type"] == "extra_forbidden" else e["msg"]
            parts.append(f"{where}: {msg}" if where else msg)
        # Point at the first offending parameter that is actually written in the profile.
        written = [e["loc"] for e in errors if e["loc"] and e["loc"][0] in params]
        err = ProfileError(f"bad parameters for {ctype.kind!r}: {'; '.join(parts)}")
        err.param_loc = tuple(written[0]) if written else ()
        raise err from None


def load_plugins() -> list[str]:
    """Import third-party checks from the ``evaltool.checks`` entry-point group (CLI only)."""
    loaded = []
    for ep in entry_points(group="evaltool.checks"):
        try:
            ep.load()
        except Exception as exc:  # a plugin's failure must name the plugin, not crash the tool
            raise PluginError(f"check plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
                              ) from None
        loaded.append(ep.name)
    return loaded
