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


@import_group.command("tagger")
@click.argument("source", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", required=True,
              type=click.Choice(["ptu", "ht3", "spc", "photon-hdf5"]),
              help="ptu (PicoQuant PTU, T2 or T3), ht3 (HydraHarp HT3), spc (Becker & Hickl "
              "SPC-130), photon-hdf5.")
@click.option("--channels", "channels_path", required=True, type=click.Path(path_type=Path),
              help="Channel map: channel -> detector, basis, bit (evaltool schema channels).")
@click.option("--out", "bundle", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The bundle folder (its bundle.yaml is updated).")
@click.option("--slot", required=True, help="Slot name of the imported detection events.")
@click.option("--replace", is_flag=True, help="Replace an existing slot of that name.")
def tagger(source: Path, fmt: str, channels_path: Path, bundle: Path, slot: str,
           replace: bool) -> None:
    """Import a time tagger's FILE as detection events, through a channel map.

    The records are streamed through the format's reader (needs `pip install
    'evaltool[tagger]'`), time tags converted to picoseconds with the file's own resolution,
    channels mapped to detector, basis and bit; the table is written as Parquet into the bundle
    and named in bundle.yaml with the SHA-256 of FILE and of the map and the reader's version.
    Exit 0: imported. Exit 4: the file, the map or the bundle does not fit (one line; the bundle
    is left unchanged).
    """
    from evaltool.importers.tagger import import_tagger

    done = import_tagger(source, fmt, channels_path, bundle, slot, replace=replace)
    counts = ", ".join(f"channel {c}: {n}" for c, n in sorted(done.per_channel.items()))
    sk = done.skipped
    click.echo(f"{done.path}: {done.rows} clicks into slot {slot!r} (detection-events; "
               f"{counts}; skipped {sk.overflows} overflow, {sk.markers} marker, {sk.syncs} "
               f"sync and {done.ignored} ignored-channel records) read by {done.record.reader}")


__all__ = ["import_group"]
