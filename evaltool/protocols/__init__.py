"""Protocol plugins: one registry entry per QKD protocol id (``docs/protocols.md``).

A plugin says everything evaltool needs to evaluate one protocol: the claims model the bundle
manifest's ``claims`` must satisfy (and how it compares with the security target), the evidence
columns it reads per evidence kind, its finite-size bounds as named, versioned functions, the check
kinds that decide on it (key-length bound, abort rule, parameter estimation), the profile
activities those checks automate, and the two computations of ``evaltool protocol key-length|rate``.

Layer: this package sits between ``evaltool.io`` and ``evaltool.model`` (pyproject,
``[tool.importlinter]``). It imports only the model, the errors and the pure engines, so the
readers, the profile validation, the checks, the simulator and the CLI can all import it without a
cycle; it never imports the checks (a plugin names its check kinds as strings and the contract test
``tests/protocols/test_registry.py`` resolves them). Importing it loads no numeric library: each
plugin imports its engine when a bound is first evaluated.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from evaltool.errors import EvidenceError
from evaltool.model.base import StrictModel
from evaltool.model.bundle import EvidenceKind

__all__ = [
    "CHECK_ROLES",
    "BoundSpec",
    "ProtocolPlugin",
    "Report",
    "all_bounds",
    "find_plugin",
    "get_plugin",
    "plugin_ids",
    "plugins",
]

CHECK_ROLES = ("key-length-bound", "abort-rule", "parameter-estimation")
"""The decisions every plugin names a check kind for (issue 20, item 1)."""


@dataclass(frozen=True, slots=True)
class Report:
    """Result of a plugin computation for the CLI: a JSON payload and the lines printed."""

    payload: Mapping[str, Any]
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BoundSpec:
    """One finite-size bound of a protocol: a name, a version and where its formulas come from.

    ``version`` is bumped whenever a result could change; ``load`` returns the engine object
    that evaluates the bound (imported on first use, so listing bounds stays cheap).
    """

    name: str
    version: str
    reference: str
    load: Callable[[], Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ProtocolPlugin:
    """Everything evaltool knows about one protocol id.

    Attributes
    ----------
    id:
        The value of ``claims.protocol`` and of the ST selection ``protocol``.
    title:
        One line naming the protocol.
    claims_model:
        Pydantic model a manifest's ``claims`` must validate against for this protocol.
    evidence:
        Per evidence kind, the columns the plugin's checks read (``{k}`` stands for the class
        index 0, 1, ... of a per-class column).
    bounds:
        The finite-size bounds defined for this protocol, by name.
    checks:
        Per role in :data:`CHECK_ROLES`, the check kind deciding it (``None`` where none exists
        yet).
    activities:
        Ids of the profile activities (``profiles/etsi-gs-qkd-016.yaml``) its checks automate.
    key_length:
        Evaluates one block's evidence document (``evaltool protocol key-length``); raises
        :class:`~evaltool.errors.EvidenceError` naming the field on bad input.
    rate:
        Model key rate from named parameters (``evaltool protocol rate --param``), or ``None``
        when the CLI handles the protocol with its own options.
    """

    id: str
    title: str
    claims_model: type[StrictModel]
    evidence: Mapping[EvidenceKind, tuple[str, ...]]
    bounds: Mapping[str, BoundSpec]
    checks: Mapping[str, str | None]
    activities: tuple[str, ...]
    key_length: Callable[[Mapping[str, Any]], Report] = field(repr=False, compare=False)
    rate: Callable[[Mapping[str, Any]], Report] | None = field(
        default=None, repr=False, compare=False
    )

    def bound(self, name: str | None, *, location: str = "claims.bound") -> BoundSpec:
        """The bound ``name`` of this protocol; EvidenceError (exit 4) if it is not defined here."""
        if name is None:
            raise EvidenceError(f"no finite-size bound given for protocol {self.id}",
                                location=location)
        spec = self.bounds.get(name)
        if spec is None:
            owners = sorted(p.id for p in plugins() if name in p.bounds)
            where = f" (it is defined for {', '.join(owners)})" if owners else ""
            raise EvidenceError(
                f"bound {name!r} is not defined for protocol {self.id}{where}; "
                f"defined: {', '.join(sorted(self.bounds))}",
                location=location,
            )
        return spec

    def validate_claims(self, claims: Mapping[str, Any], *, location: str = "claims"
                        ) -> StrictModel:
        """The claims as this protocol's model; one-line EvidenceError naming the first problem."""
        protocol = claims.get("protocol")
        if protocol is not None and protocol != self.id:
            raise EvidenceError(
                f"claims are for protocol {protocol!r}, evaluated as {self.id}",
                location=f"{location}.protocol",
            )
        try:
            return self.claims_model.model_validate(dict(claims))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in (location, *err["loc"]))
            raise EvidenceError(err["msg"], location=where) from None

    def st_problems(self, claims: StrictModel, selections: Mapping[str, Any]) -> list[str]:
        """Where the claims or the ST's selections disagree with this protocol (empty if none).

        ``selections`` are the ST's ``protocol`` and ``finite_key_bound`` (GS QKD 016 profile).
        """
        problems: list[str] = []
        st_protocol = selections.get("protocol")
        if st_protocol is not None and st_protocol != self.id:
            problems.append(f"the ST selects protocol {st_protocol!r}, the claims {self.id!r}")
        st_bound = selections.get("finite_key_bound")
        claimed_bound = getattr(claims, "bound", None)
        problems.extend(self.bound_problems(claimed_bound, st_bound))
        if st_bound is not None and claimed_bound is not None and st_bound != claimed_bound:
            problems.append(f"the claimed bound {claimed_bound!r} is not the ST's {st_bound!r}")
        return problems

    def bound_problems(self, claimed_bound: str | None, st_bound: str | None) -> list[str]:
        """The claimed or ST-selected bounds that are not defined for this protocol."""
        problems: list[str] = []
        if st_bound is not None and st_bound not in self.bounds:
            problems.append(f"the ST's bound {st_bound!r} is not defined for {self.id}")
        if claimed_bound is not None and claimed_bound not in self.bounds:
            problems.append(f"the claimed bound {claimed_bound!r} is not defined for {self.id}")
        return problems


# --- the registry -----------------------------------------------------------------------------

_BUILTIN_MODULES = ("evaltool.protocols.bb84_decoy", "evaltool.protocols.gg02")
"""Modules whose ``PLUGINS`` tuple is registered on first use, in this order."""

_REGISTRY: dict[str, ProtocolPlugin] = {}


def _load() -> dict[str, ProtocolPlugin]:
    if not _REGISTRY:
        for module in _BUILTIN_MODULES:
            for plugin in importlib.import_module(module).PLUGINS:
                if plugin.id in _REGISTRY:
                    raise RuntimeError(f"protocol {plugin.id!r} registered twice")
                missing = set(CHECK_ROLES) ^ set(plugin.checks)
                if missing:
                    raise RuntimeError(f"protocol {plugin.id!r}: check roles {sorted(missing)}")
                _REGISTRY[plugin.id] = plugin
    return _REGISTRY


def plugins() -> tuple[ProtocolPlugin, ...]:
    """Every registered plugin, in registration order."""
    return tuple(_load().values())


def plugin_ids() -> tuple[str, ...]:
    """Every registered protocol id, sorted."""
    return tuple(sorted(_load()))


def all_bounds() -> dict[str, tuple[str, ...]]:
    """Every bound name with the protocol ids it is defined for."""
    out: dict[str, list[str]] = {}
    for plugin in plugins():
        for name in plugin.bounds:
            out.setdefault(name, []).append(plugin.id)
    return {name: tuple(ids) for name, ids in sorted(out.items())}


def find_plugin(protocol: str) -> ProtocolPlugin | None:
    """The plugin of ``protocol``, or ``None`` if there is none."""
    return _load().get(protocol)


def get_plugin(protocol: str, *, location: str = "claims.protocol") -> ProtocolPlugin:
    """The plugin of ``protocol``; EvidenceError (exit 4) naming the known ids otherwise."""
    plugin = _load().get(protocol)
    if plugin is None:
        raise EvidenceError(
            f"protocol {protocol!r} has no plugin (known: {', '.join(plugin_ids())})",
            location=location,
        )
    return plugin
