"""Loading protection profiles, security targets and evaluation inputs from YAML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evaltool.errors import ProfileError
from evaltool.io.files import sha256_file
from evaltool.io.yaml import Located, load_yaml, validate
from evaltool.model.profile import EvaluationInput, Profile, SecurityTarget


@dataclass(frozen=True, slots=True)
class LoadedProfile:
    """A validated profile with the document it came from (for positions) and its hash."""

    profile: Profile
    doc: Located
    sha256: str


@dataclass(frozen=True, slots=True)
class LoadedST:
    """A validated security target with its source document and hash."""

    st: SecurityTarget
    doc: Located
    sha256: str


@dataclass(frozen=True, slots=True)
class LoadedEvaluation:
    """A validated evaluation input with its source document and hash."""

    evaluation: EvaluationInput
    doc: Located
    sha256: str


def load_profile(path: Path) -> LoadedProfile:
    """Parse and validate the shape of a protection profile (references are checked later)."""
    doc = load_yaml(path, error=ProfileError)
    profile = validate(doc, Profile, error=ProfileError)
    return LoadedProfile(profile, doc, sha256_file(path)[0])


def load_security_target(path: Path) -> LoadedST:
    """Parse and validate the shape of a security target."""
    doc = load_yaml(path, error=ProfileError)
    st = validate(doc, SecurityTarget, error=ProfileError)
    return LoadedST(st, doc, sha256_file(path)[0])


def load_evaluation_input(path: Path) -> LoadedEvaluation:
    """Parse and validate an evaluation input (attestations and waivers)."""
    doc = load_yaml(path, error=ProfileError)
    ev = validate(doc, EvaluationInput, error=ProfileError)
    return LoadedEvaluation(ev, doc, sha256_file(path)[0])


def detect_document(path: Path, doc: Located | None = None) -> str:
    """Guess what a YAML file is: 'profile', 'security-target', 'evaluation' or 'bundle'.

    ``doc`` is the file already parsed, if the caller has it.
    """
    if path.is_dir() or path.name == "bundle.yaml":
        return "bundle"
    data = (doc or load_yaml(path, error=ProfileError)).data
    if not hasattr(data, "keys"):
        raise ProfileError("top level must be a mapping", path=path, location="1:1")
    keys = set(data.keys())
    if "sfrs" in keys:
        return "profile"
    if "claims_profile" in keys:
        return "security-target"
    if "toe" in keys and "evidence" in keys:
        return "bundle"
    if keys & {"attestations", "waivers", "evaluator"}:
        return "evaluation"
    raise ProfileError(
        "cannot tell what this document is (expected a profile with 'sfrs', a security target "
        "with 'claims_profile', a bundle manifest or an evaluation input)", path=path,
        location="1:1",
    )
