"""Pydantic models: the shape of bundles, profiles and results. No I/O, no computation."""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING
from typing import Any as _Any

if TYPE_CHECKING:
    from evaltool.model.base import StrictModel
    from evaltool.model.bundle import BundleManifest, EvidenceFile, EvidenceFormat, EvidenceKind
    from evaltool.model.profile import (
        SAR,
        SFR,
        Activity,
        CheckSpec,
        Element,
        EvaluationInput,
        Profile,
        SecurityTarget,
    )
    from evaltool.model.results import (
        CheckResult,
        EvaluationResult,
        EvidenceRef,
        Measurement,
        Provenance,
        RequirementResult,
    )
    from evaltool.model.verdict import Verdict, combine

# Each model module is imported when one of its names is first used: `evaltool schema results`
# need not build the profile models.
_LAZY: dict[str, str] = {
    "StrictModel": "base",
    "BundleManifest": "bundle",
    "EvidenceFile": "bundle",
    "EvidenceFormat": "bundle",
    "EvidenceKind": "bundle",
    "SAR": "profile",
    "SFR": "profile",
    "Activity": "profile",
    "CheckSpec": "profile",
    "Element": "profile",
    "EvaluationInput": "profile",
    "Profile": "profile",
    "SecurityTarget": "profile",
    "CheckResult": "results",
    "EvaluationResult": "results",
    "EvidenceRef": "results",
    "Measurement": "results",
    "Provenance": "results",
    "RequirementResult": "results",
    "Verdict": "verdict",
    "combine": "verdict",
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "SAR",
    "SFR",
    "Activity",
    "BundleManifest",
    "CheckResult",
    "CheckSpec",
    "Element",
    "EvaluationInput",
    "EvaluationResult",
    "EvidenceFile",
    "EvidenceFormat",
    "EvidenceKind",
    "EvidenceRef",
    "Measurement",
    "Profile",
    "Provenance",
    "RequirementResult",
    "SecurityTarget",
    "StrictModel",
    "Verdict",
    "combine",
]
