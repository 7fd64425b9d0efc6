"""Pydantic models: the shape of bundles, profiles and results. No I/O, no computation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaltool.lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _LAZY)


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
