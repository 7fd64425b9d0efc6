"""Campaign fixtures: a folder holding demo-bundle copies, the mini profile and a campaign file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import DEMO_BUNDLE, MINI_PROFILE, rehash_manifest

EPOCH = "1767225600"
"""SOURCE_DATE_EPOCH of these tests (2026-01-01T00:00:00Z): every time stamp is this instant."""


def set_temperature(bundle: Path, row: int, value: str) -> None:
    """Write ``value`` into monitors.csv's rx_temperature_c of data row ``row`` and rehash."""
    monitors = bundle / "monitors.csv"
    lines = monitors.read_text().splitlines()
    col = lines[0].split(",").index("rx_temperature_c")
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    monitors.write_text("\n".join(lines) + "\n")
    rehash_manifest(bundle)


def break_table(bundle: Path) -> None:
    """Drop monitors.csv's time column: the manifest stays valid, loading the table fails."""
    monitors = bundle / "monitors.csv"
    lines = [",".join(line.split(",")[1:]) for line in monitors.read_text().splitlines()]
    monitors.write_text("\n".join(lines) + "\n")
    rehash_manifest(bundle)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab folder with ``mini.yaml`` and four demo-bundle copies ``caps/a`` .. ``caps/d``;
    ``caps/b`` fails (one temperature above the profile's limit)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    root = tmp_path / "lab"
    (root / "caps").mkdir(parents=True)
    (root / "mini.yaml").write_text(MINI_PROFILE)
    for name in "abcd":
        shutil.copytree(DEMO_BUNDLE, root / "caps" / name)
    set_temperature(root / "caps" / "b", 57, "-12.5")
    set_temperature(root / "caps" / "c", 12, "-39.5")
    return root


@pytest.fixture
def write_campaign(lab: Path) -> Callable[..., Path]:
    """Write ``lab/campaign.yaml`` with the given bundle entries (YAML text lines)."""
    def write(bundles: str, *, extra: str = "") -> Path:
        path = lab / "campaign.yaml"
        path.write_text("schema_version: 1\ntitle: Test campaign\nprofile: mini.yaml\nseed: 3\n"
                        f"formats: [json, junit, html]\n{extra}bundles:\n{bundles}")
        return path
    return write


ALL_FOUR = """\
  - {label: a, path: caps/a}
  - {label: b, path: caps/b}
  - {label: c, path: caps/c}
  - {label: d, path: caps/d}
"""


def _result_set(folder: Path) -> dict[str, bytes]:
    """Every file of a result set by its path in ``folder``, the set's record
    (``.evaltool/set.json``, docs/outputs.md) included and the run lock left out."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).as_posix() != ".evaltool/lock"}


def assert_same_as_audit(run_cli: Callable[..., object], out: Path, label: str) -> None:
    """Run the ``evaltool audit`` command recorded in bundle ``label``'s results.json and assert
    that it writes the same files, byte for byte, as the campaign did."""
    import json

    folder = out / "bundles" / label
    command = json.loads((folder / "results.json").read_text())["provenance"]["command_line"]
    assert command[:2] == ["evaltool", "audit"]
    campaign_files = _result_set(folder)
    shutil.rmtree(folder)
    r = run_cli(*command[1:])
    assert r.exit_code in (0, 1, 3), r.stderr  # type: ignore[attr-defined]
    audit_files = _result_set(folder)
    assert sorted(audit_files) == sorted(campaign_files)
    for name, data in audit_files.items():
        assert data == campaign_files[name], f"{label}/{name} differs from evaltool audit's"
