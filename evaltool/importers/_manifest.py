"""The bundle manifest with one evidence entry added or replaced, its comments kept (shared by
the importers)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from evaltool.errors import ImportMappingError


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
