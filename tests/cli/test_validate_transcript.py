"""``evaltool validate`` and ``audit`` on bundles holding a post-processing transcript, and
``evaltool schema transcript``: bad transcripts stop with exit 4 and one line naming the file,
the block and the field, and leave the bundle untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evaltool.io.transcript_writer import write_transcript
from tests.io.transcript_support import make_block, make_pool, write_blocks_csv
from tests.support import REPO, make_bundle, tree_digest


def transcript_bundle(root: Path, fmt: str = "parquet") -> Path:
    """A bundle with block records and a transcript that agree."""
    blocks = [make_block(0, 1000), make_block(2, 600, delivered=False), make_block(5, 900)]
    root.mkdir(parents=True)
    write_blocks_csv(root / "blocks.csv", blocks)
    write_transcript(root / f"transcript.{fmt}", blocks, make_pool(6), fmt)
    files = {
        "blocks": ("block-records", "csv", "blocks.csv", (root / "blocks.csv").read_bytes()),
        "transcript": ("post-processing-transcript", fmt, f"transcript.{fmt}",
                       (root / f"transcript.{fmt}").read_bytes()),
    }
    return make_bundle(root, files)


def _drop_block_5(bundle: Path) -> None:
    p = bundle / "blocks.csv"
    p.write_text("".join(ln + "\n" for ln in p.read_text().splitlines()
                         if not ln.startswith("5,")))


def _bad_bits_length(bundle: Path) -> None:
    p = bundle / "transcript.jsonl"
    out = []
    for line in p.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("block_id") == 2 and rec["record"] == "key" and rec["stage"] == "sifted":
            rec["bits_length"] += 17
        out.append(json.dumps(rec))
    p.write_text("\n".join(out) + "\n")


def _pa_input(bundle: Path) -> None:
    p = bundle / "blocks.csv"
    head, first, *rest = p.read_text().splitlines()
    cells = first.split(",")
    cells[3] = "1"
    p.write_text("\n".join([head, ",".join(cells), *rest]) + "\n")


CASES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "block absent from the block records": (
        "parquet", _drop_block_5,
        "bundle/transcript.parquet:block 5: block: field 'block_id' 5 is not a block of the "
        "block records (bundle/blocks.csv)"),
    "packed key longer than declared": (
        "jsonl", _bad_bits_length,
        "bundle/transcript.jsonl:block 2, line 52: sifted key of alice: field 'bits' holds"),
    "PA input length contradicts the block records": (
        "parquet", _pa_input,
        "bundle/transcript.parquet:block 0: 'pa' record: field 'input_bits'"),
}


def test_a_consistent_transcript_bundle_is_valid(run_cli, tmp_path: Path) -> None:
    for fmt in ("parquet", "jsonl"):
        bundle = transcript_bundle(tmp_path / fmt / "bundle", fmt)
        r = run_cli("validate", bundle)
        assert r.exit_code == 0, r.stderr
        assert "valid bundle (2 evidence files)" in r.stdout


@pytest.mark.parametrize("command", ["validate", "audit"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_transcript_exits_4_naming_file_block_and_field(
        run_cli, tmp_path: Path, mini_profile: Path, case: str, command: str) -> None:
    fmt, mutate, expected = CASES[case]
    bundle = transcript_bundle(tmp_path / "bundle", fmt)
    mutate(bundle)
    before = tree_digest(bundle)
    if command == "validate":
        r = run_cli("validate", bundle)
    else:
        out = tmp_path / "out"
        r = run_cli("-q", "audit", bundle, "--profile", mini_profile, "--out", out)
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in r.stderr + r.stdout
    assert tree_digest(bundle) == before


def test_transcript_schema_export_matches_docs(run_cli) -> None:
    r = run_cli("schema", "transcript")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert schema["discriminator"]["propertyName"] == "record"
    assert len(schema["oneOf"]) == 11
    assert schema["$defs"]["PaRecord"]["properties"]["seed"]["pattern"]
    shipped = REPO / "docs" / "schemas" / "transcript.schema.json"
    assert schema == json.loads(shipped.read_text()), (
        "docs/schemas/transcript.schema.json is stale: regenerate with "
        "`evaltool schema transcript`")


def _second_blocks_slot(bundle: Path, blocks_slot: str | None) -> None:
    """Add a production block-records slot (all blocks of another capture) and, when given, bind
    the transcript to its own capture's slot with ``blocks_slot``."""
    (bundle / "production.csv").write_text((bundle / "blocks.csv").read_text())
    text = (bundle / "bundle.yaml").read_text()
    text += ("  - slot: production\n    kind: block-records\n    format: csv\n"
             "    path: production.csv\n")
    if blocks_slot is not None:
        text = text.replace("    path: transcript.parquet\n",
                            f"    path: transcript.parquet\n    blocks_slot: {blocks_slot}\n")
    (bundle / "bundle.yaml").write_text(text)


def test_blocks_slot_names_the_records_a_transcript_is_checked_against(
        run_cli, tmp_path: Path) -> None:
    """With two block-records slots the transcript is checked against the one it names: a
    contradiction there is exit 4, the other slot is not consulted."""
    bundle = transcript_bundle(tmp_path / "bundle")
    _second_blocks_slot(bundle, "blocks")
    assert run_cli("validate", bundle).exit_code == 0
    _drop_block_5(bundle)  # the named slot now lacks block 5; the production slot still has it
    r = run_cli("validate", bundle)
    assert r.exit_code == 4
    assert "field 'block_id' 5 is not a block of the block records (bundle/blocks.csv)" in r.stderr


def test_blocks_slot_must_name_a_block_records_slot(run_cli, tmp_path: Path) -> None:
    bundle = transcript_bundle(tmp_path / "bundle")
    _second_blocks_slot(bundle, "transcript")
    r = run_cli("validate", bundle)
    assert r.exit_code == 4
    assert "blocks_slot 'transcript' is not a block-records slot of the bundle" in r.stderr
