"""``evaltool import table`` (issue 22 item 2): a vendor's export, through a mapping, becomes an
evidence table that audits exactly like the same data written natively."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow.parquet as pq
import pytest
from ruamel.yaml import YAML

from evaltool.errors import ExitCode
from tests.support import REPO, rehash_manifest, tree_digest

HONEST = REPO / "test_vectors" / "scenarios" / "honest"
START = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)  # the honest bundle's capture start
BERLIN = ZoneInfo("Europe/Berlin")

MAPPING = """\
schema_version: 1
description: vendor monitor export (mW, nA, K, local time)
source: {format: csv, delimiter: ";", decimal: ","}
time_zone: Europe/Berlin
columns:
  time_s: {from: Zeitstempel, timestamp: "%d.%m.%Y %H:%M:%S.%f"}
  tx_ingress_power_dbm: {from: "Ingress power", unit: mW}
  rx_photocurrent_ua: {from: "Photocurrent", unit: nA}
  tx_laser_power_mw: {from: "Laser power", unit: mW}
  rx_temperature_c: {from: "Detector temperature", unit: K}
"""


def _native_and_vendor(folder: Path) -> tuple[Path, Path]:
    """From the honest bundle's monitors: the native table (dBm recomputed from the vendor's mW,
    as a device exporting dBm would) and the vendor's CSV (mW, nA, K, Berlin local time, comma
    decimals, semicolons)."""
    with (HONEST / "monitors.csv").open() as f:
        rows = list(csv.DictReader(f))
    native = folder / "monitors.csv"
    vendor = folder / "vendor-monitors.csv"
    with native.open("w", newline="") as n, vendor.open("w", newline="", encoding="utf-8") as v:
        wn, wv = csv.writer(n), csv.writer(v, delimiter=";")
        wn.writerow(list(rows[0]))
        wv.writerow(["Zeitstempel", "Ingress power", "Photocurrent", "Laser power",
                     "Detector temperature"])
        for r in rows:
            mw = 10.0 ** (float(r["tx_ingress_power_dbm"]) / 10.0)
            dbm = float(10.0 * np.log10(mw))
            when = (START + timedelta(microseconds=int(Decimal(r["time_s"]) * 10**6)))
            wn.writerow([r["time_s"], repr(dbm), r["rx_photocurrent_ua"],
                         r["tx_laser_power_mw"], r["rx_temperature_c"]])
            wv.writerow([when.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M:%S.%f"),
                         repr(mw).replace(".", ","),
                         str(Decimal(r["rx_photocurrent_ua"]) * 1000).replace(".", ","),
                         r["tx_laser_power_mw"].replace(".", ","),
                         str(Decimal(r["rx_temperature_c"]) + Decimal("273.15")).replace(".", ",")])
    return native, vendor


@pytest.fixture
def bundles(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """Two copies of the honest bundle: one with the native monitors, one to import into; the
    vendor file and the mapping."""
    data = tmp_path / "data"
    data.mkdir()
    native_csv, vendor = _native_and_vendor(data)
    native = tmp_path / "native"
    shutil.copytree(HONEST, native)
    shutil.copy(native_csv, native / "monitors.csv")
    rehash_manifest(native)
    imported = tmp_path / "imported"
    shutil.copytree(HONEST, imported)
    (imported / "monitors.csv").unlink()
    manifest = imported / "bundle.yaml"
    rt = YAML(typ="rt", pure=True)
    doc = rt.load(manifest.read_text())
    (i,) = [k for k, e in enumerate(doc["evidence"]) if e["slot"] == "monitors"]
    del doc["evidence"][i]
    with manifest.open("w") as f:
        rt.dump(doc, f)
    mapping = data / "monitors-mapping.yaml"
    mapping.write_text(MAPPING)
    return native, imported, vendor, mapping


def _audit(run_cli, bundle: Path, out: Path) -> dict:
    r = run_cli("-q", "audit", bundle, "--profile", REPO / "profiles" / "etsi-gs-qkd-016.yaml",
                "--st", bundle / "st.yaml", "--out", out, "--format", "json", "--seed", "1")
    assert r.exit_code in (0, 1, 3), r.stderr
    return json.loads((out / "results.json").read_text())


def _strip(results: dict) -> dict:
    """Results without provenance and without the evidence references (paths and hashes)."""
    results = dict(results)
    results.pop("provenance")
    text = json.dumps(results, sort_keys=True)
    data = json.loads(text)
    for req in data["requirements"]:
        for check in req["checks"]:
            check.pop("evidence", None)
    return data


def test_a_mapped_vendor_csv_audits_like_the_native_table(run_cli, bundles, tmp_path: Path
                                                          ) -> None:
    native, imported, vendor, mapping = bundles
    before = hashlib.sha256(vendor.read_bytes()).hexdigest()
    r = run_cli("import", "table", vendor, "--mapping", mapping, "--kind", "monitor",
                "--out", imported, "--slot", "monitors")
    assert r.exit_code == 0, r.stderr
    assert hashlib.sha256(vendor.read_bytes()).hexdigest() == before  # input untouched
    got = pq.read_table(imported / "monitors.parquet").to_pandas()
    with (native / "monitors.csv").open() as f:
        want = list(csv.DictReader(f))
    assert len(got) == len(want) == 264
    for col in want[0]:
        assert [float(w[col]) for w in want] == got[col].tolist(), col  # bit for bit
    a = _audit(run_cli, native, tmp_path / "a")
    b = _audit(run_cli, imported, tmp_path / "b")
    assert _strip(a) == _strip(b)
    # the audit shows where the table came from and through which mapping
    (entry,) = [f for f in b["provenance"]["inputs"] if f["role"] == "evidence:monitors"]
    assert entry["imported"]["source"] == "vendor-monitors.csv"
    assert entry["imported"]["source_sha256"] == before
    assert entry["imported"]["mapping_sha256"] == hashlib.sha256(mapping.read_bytes()).hexdigest()
    assert all("imported" not in f for f in a["provenance"]["inputs"])


def _import(run_cli, bundles, mapping_text: str | None = None, vendor_text: str | None = None):
    _, imported, vendor, mapping = bundles
    if mapping_text is not None:
        mapping.write_text(mapping_text)
    if vendor_text is not None:
        vendor.write_text(vendor_text)
    before = tree_digest(imported)
    r = run_cli("import", "table", vendor, "--mapping", mapping, "--kind", "monitor",
                "--out", imported, "--slot", "monitors")
    return r, before == tree_digest(imported)


@pytest.mark.parametrize(("case", "edit", "phrase"), [
    ("required column unset", (MAPPING.splitlines(keepends=True)[5], ""),
     "missing required column(s) for kind 'monitor': time_s"),
    ("incompatible unit", ("unit: nA}", "unit: ps}"), "cannot convert time (ps) to current (ua)"),
    ("unknown unit", ("unit: K}", "unit: furlong}"), "unknown unit 'furlong'"),
    ("source column absent", ("from: \"Laser power\"", "from: \"Laser\""),
     "column 'Laser' (for tx_laser_power_mw) is not in vendor-monitors.csv"),
    ("column without unit", ("tx_laser_power_mw:", "tx_laser_power:"), "carries no unit suffix"),
    ("unknown time zone", ("time_zone: Europe/Berlin", "time_zone: Mars/Olympus"),
     "unknown time zone"),
    ("unknown mapping key", ("unit: mW}\n  rx_photo", "unit: mW, round: 3}\n  rx_photo"),
     "round"),
])
def test_bad_mappings_exit_4_one_line_bundle_unchanged(run_cli, bundles, case: str,
                                                      edit: tuple[str, str], phrase: str) -> None:
    assert edit[0] in MAPPING, case
    r, unchanged = _import(run_cli, bundles, MAPPING.replace(edit[0], edit[1], 1))
    assert r.exit_code == ExitCode.BAD_INPUT, (case, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0], (case, r.stderr)
    assert "Traceback" not in r.stderr
    assert unchanged
    assert not list(bundles[1].glob(".*part"))


def test_bad_values_name_file_line_and_column(run_cli, bundles) -> None:
    text = bundles[2].read_text().splitlines()
    cells = text[5].split(";")
    cells[3] = "n/a"
    text[5] = ";".join(cells)
    r, unchanged = _import(run_cli, bundles, vendor_text="\n".join(text) + "\n")
    assert r.exit_code == ExitCode.BAD_INPUT
    assert "vendor-monitors.csv:line 6: column 'Laser power' -> tx_laser_power_mw: cannot read " \
           "'n/a' as a number" in r.stderr
    assert unchanged


def test_a_value_that_breaks_the_kind_schema_is_refused(run_cli, bundles) -> None:
    text = bundles[2].read_text().splitlines()
    text[10], text[11] = text[11], text[10]  # time goes backwards
    r, unchanged = _import(run_cli, bundles, vendor_text="\n".join(text) + "\n")
    assert r.exit_code == ExitCode.BAD_INPUT
    assert "breaks kind 'monitor'" in r.stderr and "non-decreasing" in r.stderr
    assert unchanged


def test_an_existing_slot_needs_replace(run_cli, bundles) -> None:
    _, imported, vendor, mapping = bundles
    args = ["import", "table", vendor, "--mapping", mapping, "--kind", "monitor",
            "--out", imported, "--slot", "monitors"]
    assert run_cli(*args).exit_code == 0
    r = run_cli(*args)
    assert r.exit_code == ExitCode.BAD_INPUT and "--replace" in r.stderr
    assert run_cli(*args, "--replace").exit_code == 0
    assert run_cli("validate", imported).exit_code == 0


def test_integer_columns_are_converted_exactly_or_refused(run_cli, tmp_path: Path) -> None:
    """Detection time tags in ns with three decimals become exact picoseconds; a fraction of a
    picosecond is refused rather than rounded."""
    from tests.support import DEMO_BUNDLE

    bundle = tmp_path / "b"
    shutil.copytree(DEMO_BUNDLE, bundle)
    src = tmp_path / "clicks.jsonl"
    src.write_text("".join(json.dumps({"t_ns": t, "det": d}) + "\n"
                           for t, d in [("1.001", 0), ("2.5", 1), ("1000000000000.123", 0)]))
    mapping = tmp_path / "m.yaml"
    mapping.write_text("source: {format: jsonl}\ncolumns:\n  time_ps: {from: t_ns, unit: ns}\n"
                       "  detector: {from: det}\n")
    r = run_cli("import", "table", src, "--mapping", mapping, "--kind", "detection-events",
                "--out", bundle, "--slot", "clicks")
    assert r.exit_code == 0, r.stderr
    table = pq.read_table(bundle / "clicks.parquet")
    assert table.column("time_ps").to_pylist() == [1001, 2500, 1000000000000123]
    src.write_text(json.dumps({"t_ns": "1.0005", "det": 0}) + "\n")
    r = run_cli("import", "table", src, "--mapping", mapping, "--kind", "detection-events",
                "--out", bundle, "--slot", "clicks2")
    assert r.exit_code == ExitCode.BAD_INPUT
    assert "1000.5 is not a whole number of ps" in r.stderr


def test_schema_mapping_is_printed(run_cli) -> None:
    r = run_cli("schema", "mapping")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert {"columns", "source", "time_zone"} <= set(schema["properties"])
    assert {"from", "unit", "scale", "timestamp", "values"} <= set(
        schema["$defs"]["ColumnMap"]["properties"])
    assert schema["$defs"]["ColumnMap"]["additionalProperties"] is False


def test_imported_files_get_ordinary_permissions(run_cli, bundles) -> None:
    import os

    _, imported, vendor, mapping = bundles
    r = run_cli("import", "table", vendor, "--mapping", mapping, "--kind", "monitor",
                "--out", imported, "--slot", "monitors")
    assert r.exit_code == 0, r.stderr
    mask = os.umask(0)
    os.umask(mask)
    for name in ("monitors.parquet", "bundle.yaml"):
        assert (imported / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
