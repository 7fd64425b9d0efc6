"""Constants and helpers shared by the tests (import as ``tests.support``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO_BUNDLE = REPO / "test_vectors" / "demo" / "bundle"
PROFILE = REPO / "profiles" / "etsi-gs-qkd-016.yaml"
HONEST = REPO / "test_vectors" / "scenarios" / "honest"
"""The bundle ``make demo`` audits (``evaltool simulate honest``)."""
DEMO_EVALUATION = REPO / "test_vectors" / "demo" / "evaluation.yaml"


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (to prove inputs are left unchanged)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


MINI_PROFILE = """\
schema_version: 1
id: mini-profile
title: Minimal profile for CLI tests
version: "1.0"
threats:
  - {id: T.ONE, title: A threat}
objectives:
  - {id: O.ONE, title: An objective, addresses: [T.ONE], sfrs: [FPT_TST.1]}
assignments:
  - {id: temp_max_c, title: Highest temperature, type: float, min: -80, max: 0, default: -30,
     tighten: lower}
sfrs:
  - id: FPT_TST.1
    title: TSF testing
    elements:
      - id: FPT_TST.1.1
        text: Detector temperature stays in range.
        activities:
          - id: A1
            title: Temperature range
            method: automated
            checks:
              - kind: telemetry.range
                params: {slot: monitors, column: rx_temperature_c, max: "{{ st.temp_max_c }}"}
"""


def rehash_manifest(bundle: Path) -> None:
    """Recompute the sha256 entries of ``bundle/bundle.yaml`` after a test edited a file."""
    import re

    manifest = bundle / "bundle.yaml"
    text = manifest.read_text()
    out, current = [], None
    for line in text.splitlines():
        m = re.match(r"\s*path: (.+)$", line)
        if m:
            current = m.group(1).strip()
        m2 = re.match(r"(\s*)sha256: [0-9a-f]{64}$", line)
        if m2 and current is not None:
            digest = hashlib.sha256((bundle / current).read_bytes()).hexdigest()
            line = f"{m2.group(1)}sha256: {digest}"
        out.append(line)
    manifest.write_text("\n".join(out) + "\n")


_MANIFEST_HEAD = """\
schema_version: 1
toe:
  vendor: Test Vendor
  product: Test Product
  transmitter: {serial: T1, hardware_version: "1", firmware_version: "1"}
  receiver: {serial: R1, hardware_version: "1", firmware_version: "1"}
claims:
  protocol: bb84-decoy-3
  intensities: [0.5, 0.1, 0.0002]
  probabilities: [0.7, 0.2, 0.1]
  eps_sec: 1.0e-9
  eps_cor: 1.0e-15
  block_size: 1000000
  qber_abort_threshold: 0.06
capture:
  start: 2026-01-01T00:00:00Z
  end: 2026-01-01T01:00:00Z
  lab: Test Lab
evidence:
"""


def make_bundle(root: Path, files: dict[str, tuple[str, str, str, bytes]],
                claims: dict[str, object] | None = None) -> Path:
    """Write a bundle with ``files``: slot -> (kind, format, file name, content).

    ``claims`` replaces the default protocol claims (None values are left out).
    """
    root.mkdir(parents=True, exist_ok=True)
    head = _MANIFEST_HEAD
    if claims is not None:
        start, end = head.index("claims:\n"), head.index("capture:\n")
        body = "".join(f"  {k}: {v}\n" for k, v in claims.items() if v is not None)
        head = head[:start] + "claims:\n" + body + head[end:]
    lines = [head.rstrip("\n")]
    for slot, (kind, fmt, name, content) in files.items():
        (root / name).write_bytes(content)
        lines += [f"  - slot: {slot}", f"    kind: {kind}", f"    format: {fmt}",
                  f"    path: {name}"]
    if not files:
        lines.append("  []")
    (root / "bundle.yaml").write_text("\n".join(lines) + "\n")
    return root


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    """A small CSV file as bytes."""
    out = [",".join(header)] + [",".join(str(v) for v in r) for r in rows]
    return ("\n".join(out) + "\n").encode()
