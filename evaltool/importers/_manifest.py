"""The bundle manifest with one evidence entry added or replaced, its comments kept, and the
step that puts an imported table and that manifest in place together (shared by the importers)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from evaltool.atomic import Staged, ordinary_permissions
from evaltool.errors import EvidenceError, ImportMappingError
from evaltool.io.yaml import load_yaml, validate
from evaltool.model.bundle import BundleManifest


def manifest_with(manifest_path: Path, entry: dict[str, Any], replace: bool) -> bytes:
    """The manifest's text with ``entry`` added (or replacing its slot), comments kept."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.width = 100
    doc = yaml.load(manifest_path.read_text(encoding="utf-8"))
    evidence = doc["evidence"]
    slots = [i for i, e in enumerate(evidence) if e.get("slot") == entry["slot"]]
    if slots and not replace:
        raise ImportMappingError(f"the bundle already has a slot {entry['slot']!r}: pass "
                                 "--replace to replace it", path=manifest_path)
    if slots:
        evidence[slots[0]] = entry
    else:
        evidence.append(entry)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue().encode()


def commit_import(manifest_path: Path, entry: dict[str, Any], replace: bool, table: Path,
                  dest: Path) -> None:
    """Add ``entry`` to the manifest and move the written ``table`` to ``dest``: the new manifest
    is staged and validated first, then the table is renamed into place and the manifest after
    it, so a refused entry leaves the bundle as it was."""
    staged = Staged(manifest_path, manifest_with(manifest_path, entry, replace))
    try:
        validate(load_yaml(staged.tmp, error=EvidenceError), BundleManifest, error=EvidenceError)
        ordinary_permissions(table)
        os.replace(table, dest)
        staged.commit()
    finally:
        staged.discard()
