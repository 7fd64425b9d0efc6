"""Pydantic models: the shape of bundles, profiles and results. No I/O, no computation."""

from __future__ import annotations

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
