"""``evaltool import``: lab and vendor files into evidence bundles (``docs/importing.md``)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("import")
def import_group() -> None:
    """Bring lab and vendor files into an evidence bundle (docs/importing.md)."""


@import_group.command("table")
@click.argument("source", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(path_type=Path),
              help="Mapping file (evaltool schema mapping).")
@click.option("--kind", required=True, help="Evidence kind of the table (e.g. monitor, "
              "block-records, detection-events, key-delivery-log).")
@click.option("--out", "bundle", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The bundle folder (its bundle.yaml is updated).")
@click.option("--slot", required=True, help="Slot name of the imported table.")
@click.option("--replace", is_flag=True, help="Replace an existing slot of that name.")
def table(source: Path, mapping_path: Path, kind: str, bundle: Path, slot: str,
          replace: bool) -> None:
    """Import a vendor's CSV or JSON-lines FILE as an evidence table, through a mapping.

    The table is written as Parquet into the bundle, checked against the kind's schema, and
    named in bundle.yaml with the SHA-256 of FILE and of the mapping. Exit 0: imported. Exit 4:
    the file, the mapping or the bundle does not fit (one line; the bundle is left unchanged).
    """
    from evaltool.errors import UsageError
    from evaltool.importers.table import import_table
    from evaltool.model.bundle import EvidenceKind

    try:
        evidence_kind = EvidenceKind(kind)
    except ValueError:
        raise UsageError(f"unknown evidence kind {kind!r}") from None
    done = import_table(source, mapping_path, evidence_kind, bundle, slot, replace=replace)
    click.echo(f"{done.path}: {done.rows} rows into slot {slot!r} ({evidence_kind.value})")


__all__ = ["import_group"]
