"""``evaltool import tagger`` (issue 22 item 1): time-tagger captures become detection events,
exactly: every click written comes back with its time to the picosecond, its channel mapped, and
nothing else (overflow, marker and sync records) is taken for a click."""

from __future__ import annotations

import json
import math
import os
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from ruamel.yaml import YAML

from evaltool.errors import ExitCode
from evaltool.importers.tagger import Clock, import_tagger
from tests.importers.ptu_encoder import Encoder, header, write_ptu
from tests.support import tree_digest

ptufile = pytest.importorskip("ptufile")

HERE = Path(__file__).parent
BUNDLE = """\
schema_version: 1
# the lab's manifest; evaltool import adds the evidence entries
toe:
  vendor: Lab
  product: Receiver under test
  transmitter: {serial: T1, hardware_version: a, firmware_version: "1"}
  receiver: {serial: R1, hardware_version: a, firmware_version: "1"}
claims:
  protocol: bb84-decoy-3
  intensities: [0.5, 0.1]
  probabilities: [0.5, 0.5]
  eps_sec: 1.0e-09
  eps_cor: 1.0e-15
  block_size: 1000
  qber_abort_threshold: 0.05
capture: {start: 2026-12-07T10:00:00Z, end: 2026-12-07T11:00:00Z, lab: Lab}
evidence: []
"""
CHANNELS = """\
schema_version: 1
description: four-detector passive BB84 receiver, HydraHarp inputs 1-4
channels:
  0: {detector: 0, basis: 0, bit: 0}
  1: {detector: 1, basis: 0, bit: 1}
  2: {detector: 2, basis: 1, bit: 0}
  3: {detector: 3, basis: 1, bit: 1}
"""
ROLE = {0: (0, 0, 0), 1: (1, 0, 1), 2: (2, 1, 0), 3: (3, 1, 1)}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    b = tmp_path / "bundle"
    b.mkdir()
    (b / "bundle.yaml").write_text(BUNDLE)
    return b


@pytest.fixture
def channels(tmp_path: Path) -> Path:
    p = tmp_path / "channels.yaml"
    p.write_text(CHANNELS)
    return p


def _events(t3: bool, n: int = 3000, seed: int = 7) -> dict[str, np.ndarray]:
    """Clicks on four channels with markers and syncs between them, gaps long enough for
    overflows, one gap of thousands of wraps; T3 clicks of one sync period out of order."""
    rng = np.random.default_rng(seed)
    gaps = rng.geometric(1 / (900 if t3 else 2e6), n).astype(np.uint64)
    gaps[n // 3] += np.uint64((1 << 10) * 5000 if t3 else (1 << 25) * 3000)
    if t3:
        gaps[10:20] = 0  # several records in one sync period, delays in any order
    time = np.cumsum(gaps)
    channel = rng.integers(0, 4, n)
    channel[::53] = -1  # markers (T2: marker bits 0 is the sync)
    marker = np.where(channel < 0, rng.integers(0 if not t3 else 1, 16, n), 0)
    dtime = rng.integers(0, 1 << 15, n)
    return {"time": time, "channel": channel, "marker": marker, "dtime": dtime}


def _encode(ev: dict[str, np.ndarray], t3: bool, **kw: object) -> np.ndarray:
    enc = Encoder(t3, **kw)  # type: ignore[arg-type]
    half = ev["time"].size // 2
    parts = [enc.encode(ev["time"][s], ev["channel"][s], ev["marker"][s], ev["dtime"][s])
             for s in (slice(0, half), slice(half, None))]
    return np.concatenate(parts)


def _expected(ev: dict[str, np.ndarray], macro_ps: Fraction, micro_ps: Fraction | None
              ) -> dict[str, list[int]]:
    """The clicks as evaltool must write them, computed exactly with fractions."""
    rows = []
    for i in np.flatnonzero(ev["channel"] >= 0):
        t = Fraction(int(ev["time"][i])) * macro_ps
        if micro_ps is not None:
            t += Fraction(int(ev["dtime"][i])) * micro_ps
        rows.append((math.floor(t + Fraction(1, 2)), i))
    rows.sort()
    out: dict[str, list[int]] = {"time_ps": [], "detector": [], "basis": [], "bit": []}
    for t, i in rows:
        d, b, v = ROLE[int(ev["channel"][i])]
        out["time_ps"].append(t)
        out["detector"].append(d)
        out["basis"].append(b)
        out["bit"].append(v)
    return out


def _table(path: Path) -> dict[str, list[int]]:
    return dict(pq.read_table(path).to_pydict())


@pytest.mark.parametrize("record_type", ["HydraHarp2T2", "GenericT2", "HydraHarp2T3",
                                         "GenericT3"])
@pytest.mark.parametrize("chunk", [257, 1 << 20])
def test_ptu_round_trip(tmp_path: Path, bundle: Path, channels: Path, record_type: str,
                        chunk: int) -> None:
    """Written with overflows (single, counted, the old zero-means-one, thousands at once),
    markers and T2 syncs, read in chunks that cut through all of them: exactly the clicks."""
    t3 = record_type.endswith("T3")
    ev = _events(t3)
    records = _encode(ev, t3, split=7, zero_for_one=True)
    overflows = int(np.count_nonzero((records >> 25) == 0x7F))
    global_res = 1.25e-8 if t3 else 5e-12
    src = write_ptu(tmp_path / "capture.ptu", record_type, records, global_res, 5e-12)
    done = import_tagger(src, "ptu", channels, bundle, "detections", chunk=chunk)
    want = _expected(ev, Fraction(12500 if t3 else 5), Fraction(5) if t3 else None)
    got = _table(done.path)
    for c in ("time_ps", "detector", "basis", "bit"):
        assert got[c] == want[c], c
    if t3:
        assert sorted(got["gate_offset_ps"]) == sorted(
            float(5 * d) for d, c in zip(ev["dtime"], ev["channel"], strict=True) if c >= 0)
    else:
        assert "gate_offset_ps" not in got
    photons = ev["channel"] >= 0
    assert done.rows == int(photons.sum())
    assert done.per_channel == {c: int((ev["channel"] == c).sum()) for c in range(4)}
    assert done.skipped.overflows == overflows
    syncs = int(((ev["channel"] < 0) & (ev["marker"] == 0)).sum())
    assert done.skipped.syncs == syncs
    assert done.skipped.markers == int((~photons).sum()) - syncs
    assert (syncs > 0) == (not t3)


def test_encoder_cross_read_by_tttrlib(tmp_path: Path) -> None:
    """The test encoder is right: tttrlib, a second independent reader, reads its T2 and T3
    files to the same clicks and markers (overflow records with their count field set; tttrlib
    0.26.2 counts a HydraHarp V2 T3 overflow whose count field is 0 as no wrap where PicoQuant's
    demo readers and ptufile count one, see docs/importing.md)."""
    tttrlib = pytest.importorskip("tttrlib")
    for record_type in ("HydraHarp2T2", "GenericT2", "HydraHarp2T3", "GenericT3"):
        t3 = record_type.endswith("T3")
        ev = _events(t3, seed=11)
        records = _encode(ev, t3, split=5)
        src = write_ptu(tmp_path / f"{record_type}.ptu", record_type, records,
                        1.25e-8 if t3 else 5e-12, 5e-12)
        data = tttrlib.TTTR(str(src), "PTU")
        kind = np.asarray(data.event_types)
        photons = ev["channel"] >= 0
        assert np.array_equal(np.asarray(data.macro_times)[kind == 0], ev["time"][photons])
        assert np.array_equal(np.asarray(data.routing_channels)[kind == 0],
                              ev["channel"][photons])
        assert np.array_equal(np.asarray(data.macro_times)[kind == 1], ev["time"][~photons])
        assert np.array_equal(np.asarray(data.routing_channels)[kind == 1],
                              ev["marker"][~photons])
        if t3:
            assert np.array_equal(np.asarray(data.micro_times)[kind == 0], ev["dtime"][photons])


def test_cli_writes_the_manifest_entry(tmp_path: Path, bundle: Path, channels: Path,
                                       run_cli) -> None:  # type: ignore[no-untyped-def]
    ev = _events(False)
    src = write_ptu(tmp_path / "capture.ptu", "GenericT2", _encode(ev, False), 5e-12, 5e-12)
    r = run_cli("-q", "import", "tagger", src, "--format", "ptu", "--channels", channels,
                "--out", bundle, "--slot", "detections")
    assert r.exit_code == 0, r.stderr
    assert "ptufile" in r.stdout
    doc = YAML(typ="safe").load((bundle / "bundle.yaml").read_text())
    (entry,) = doc["evidence"]
    assert entry["kind"] == "detection-events" and entry["path"] == "detections.parquet"
    imported = entry["imported"]
    assert imported["importer"] == "evaltool import tagger"
    assert imported["reader"] == f"ptufile {ptufile.__version__} (PTU GenericT2)"
    assert imported["source_sha256"] == _sha(src)
    assert imported["mapping_sha256"] == _sha(channels)
    assert imported["rows"] == int((ev["channel"] >= 0).sum())
    assert entry["sha256"] == _sha(bundle / "detections.parquet")
    assert "# the lab's manifest" in (bundle / "bundle.yaml").read_text()
    assert run_cli("validate", bundle).exit_code == 0


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_photon_hdf5_round_trip(tmp_path: Path, bundle: Path, channels: Path) -> None:
    """Written by phconvert (with TCSPC nanotimes and without): exactly the clicks; tttrlib
    reads the file phconvert wrote to the same values."""
    phc = pytest.importorskip("phconvert")
    rng = np.random.default_rng(5)
    n = 5000
    ts = np.cumsum(rng.geometric(1 / 50, n)).astype(np.int64)
    det = rng.integers(0, 4, n).astype(np.uint8)
    nano = rng.integers(0, 4096, n).astype(np.uint16)
    for with_nano in (False, True):
        photon_data = {"timestamps": ts, "detectors": det,
                       "timestamps_specs": {"timestamps_unit": 1.25e-8},
                       "measurement_specs": {"measurement_type": "generic"}}
        if with_nano:
            photon_data["nanotimes"] = nano
            photon_data["nanotimes_specs"] = {"tcspc_unit": 4e-12, "tcspc_range": 1.25e-8,
                                              "tcspc_num_bins": 4096}
        data = {"description": "test capture", "photon_data": photon_data,
                "setup": {"num_pixels": 4, "num_spots": 1, "num_spectral_ch": 1,
                          "num_polarization_ch": 1, "num_split_ch": 1,
                          "modulated_excitation": False, "lifetime": with_nano,
                          "excitation_alternated": [False], "excitation_cw": [True]},
                "identity": {"author": "tests", "author_affiliation": "evaltool"}}
        src = tmp_path / f"capture-{with_nano}.hdf5"
        phc.hdf5.save_photon_hdf5(data, h5_fname=str(src), overwrite=True, close=True,
                                  require_setup=False)
        done = import_tagger(src, "photon-hdf5", channels, bundle, f"h5-{int(with_nano)}",
                             chunk=777)
        ev = {"time": ts.astype(np.uint64), "channel": det.astype(np.int64), "dtime": nano}
        want = _expected(ev, Fraction(12500), Fraction(4) if with_nano else None)
        got = _table(done.path)
        for c in ("time_ps", "detector", "basis", "bit"):
            assert got[c] == want[c], c
        assert done.record.reader.startswith("PyTables ")
    # the file phconvert wrote reads the same through tttrlib, a second library
    tttrlib = pytest.importorskip("tttrlib")
    data = tttrlib.TTTR(str(src), "PHOTON-HDF5")
    assert np.array_equal(np.asarray(data.macro_times), ts)
    assert np.array_equal(np.asarray(data.routing_channels), det)
    assert np.array_equal(np.asarray(data.micro_times), nano)


@pytest.mark.parametrize(("seconds", "ticks"), [
    (1 / 76e6, [0, 1, 7, 10**9, 10**12 + 3]),
    (1.0011032157437495e-06, [113, 9988918, 2**40]),
    (5e-12, [1, 2**50]),
])
def test_clock_rounds_exactly(seconds: float, ticks: list[int]) -> None:
    """Ticks times the resolution as stated, to the nearest picosecond (half up)."""
    ps = Fraction(repr(seconds)) * 10**12
    got = Clock(seconds).ps(np.array(ticks, np.uint64)).tolist()
    assert got == [math.floor(t * ps + Fraction(1, 2)) for t in ticks]


# --- bad input -------------------------------------------------------------------------------


def _fails(run_cli, bundle: Path, *argv: object) -> str:  # type: ignore[no-untyped-def]
    before = tree_digest(bundle)
    r = run_cli("-q", "import", "tagger", *argv, "--out", bundle, "--slot", "detections")
    assert r.exit_code == ExitCode.BAD_INPUT, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert tree_digest(bundle) == before
    assert not [p for p in bundle.iterdir() if p.name.startswith(".")]
    return r.stderr


@pytest.fixture
def ptu(tmp_path: Path) -> Path:
    ev = _events(False)
    return write_ptu(tmp_path / "capture.ptu", "HydraHarp2T2", _encode(ev, False), 1e-12,
                     1e-12)


@pytest.mark.parametrize("cut", [2, 4 * 700])
def test_truncated_ptu(tmp_path: Path, bundle: Path, channels: Path, ptu: Path, cut: int,
                       run_cli) -> None:  # type: ignore[no-untyped-def]
    short = tmp_path / "short.ptu"
    short.write_bytes(ptu.read_bytes()[:-cut])
    err = _fails(run_cli, bundle, short, "--format", "ptu", "--channels", channels)
    assert "short.ptu: truncated" in err


def test_unknown_record_type(tmp_path: Path, bundle: Path, channels: Path, ptu: Path,
                             run_cli) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(ptu.read_bytes())
    at = data.index(b"TTResultFormat_TTTRRecType") + 40
    data[at:at + 8] = struct.pack("<q", 0x00010208)
    odd = tmp_path / "odd.ptu"
    odd.write_bytes(bytes(data))
    err = _fails(run_cli, bundle, odd, "--format", "ptu", "--channels", channels)
    assert "unknown TTTR record type 0x00010208" in err


def test_mapped_channel_absent(tmp_path: Path, bundle: Path, ptu: Path,
                               run_cli) -> None:  # type: ignore[no-untyped-def]
    cmap = tmp_path / "five.yaml"
    cmap.write_text(CHANNELS + "  5: {detector: 4, basis: 1, bit: 1}\n")
    err = _fails(run_cli, bundle, ptu, "--format", "ptu", "--channels", cmap)
    assert "channel 5 is mapped but has no clicks in capture.ptu" in err


def test_unmapped_channel_with_clicks(tmp_path: Path, bundle: Path, ptu: Path,
                                      run_cli) -> None:  # type: ignore[no-untyped-def]
    cmap = tmp_path / "three.yaml"
    cmap.write_text("channels:\n  0: {detector: 0}\n  1: {detector: 1}\n  2: {detector: 2}\n")
    err = _fails(run_cli, bundle, ptu, "--format", "ptu", "--channels", cmap)
    assert "channel 3 has clicks" in err
    # ... and dropped when the map says so, counted
    cmap.write_text("channels:\n  0: {detector: 0}\n  1: {detector: 1}\n  2: {detector: 2}\n"
                    "ignore: [3]\n")
    done = import_tagger(ptu, "ptu", cmap, bundle, "detections")
    assert done.ignored == done.per_channel[3] > 0
    assert done.rows == sum(done.per_channel.values()) - done.ignored


@pytest.mark.parametrize("text", [
    "channels: {0: {detector: 0, basis: 0}, 1: {detector: 1}}\n",
    "channels: {0: {detector: 0}, 1: {detector: 0}}\n",
    "channels: {0: {detector: 0}}\nignore: [0]\n",
    "channels: {0: {detector: 0, bit: 2}}\n",
])
def test_bad_channel_maps(tmp_path: Path, bundle: Path, ptu: Path, text: str,
                          run_cli) -> None:  # type: ignore[no-untyped-def]
    cmap = tmp_path / "bad.yaml"
    cmap.write_text(text)
    assert "bad.yaml" in _fails(run_cli, bundle, ptu, "--format", "ptu", "--channels", cmap)


def test_damaged_photon_hdf5(tmp_path: Path, bundle: Path, channels: Path,
                             run_cli) -> None:  # type: ignore[no-untyped-def]
    tables = pytest.importorskip("tables")
    bad = tmp_path / "cut.hdf5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert "cut.hdf5" in _fails(run_cli, bundle, bad, "--format", "photon-hdf5", "--channels",
                                channels)
    whole = tmp_path / "whole.h5"
    with tables.open_file(str(whole), "w") as h5:
        group = h5.create_group("/", "photon_data")
        h5.create_array(group, "timestamps", np.arange(100_000, dtype=np.int64))
        h5.create_array(group, "detectors", np.zeros(100_000, np.uint8))
        h5.create_array(h5.create_group(group, "timestamps_specs"), "timestamps_unit", 1e-8)
    bad.write_bytes(whole.read_bytes()[:500_000])
    assert "truncated file" in _fails(run_cli, bundle, bad, "--format", "photon-hdf5",
                                      "--channels", channels)


def test_missing_reader_says_how_to_install(bundle: Path, channels: Path, ptu: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            run_cli) -> None:  # type: ignore[no-untyped-def]
    import sys

    monkeypatch.setitem(sys.modules, "tttrlib", None)  # an import of it fails
    err = _fails(run_cli, bundle, ptu, "--format", "ht3", "--channels", channels)
    assert "pip install 'evaltool[tagger]'" in err


def test_schema_channels(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("schema", "channels")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert "channels" in schema["required"] and "ignore" in schema["properties"]
    shipped = HERE.parents[1] / "docs" / "schemas" / "channels.schema.json"
    assert schema == json.loads(shipped.read_text()), (
        "docs/schemas/channels.schema.json is stale: regenerate with `evaltool schema channels`")


# --- files no one here wrote -----------------------------------------------------------------

FIDELITY = json.loads((HERE / "data" / "tagger_fidelity.json").read_text())


def test_fidelity_fixture_readers_agree() -> None:
    """The recorded readers agree with each other on every sample, and evaltool's expected
    picosecond times follow from their values and the file's resolutions."""
    for s in FIDELITY["samples"]:
        readers = list(s["readers"].values())
        assert len(readers) >= 2, s["file"]
        for r in readers[1:]:
            for key in ("clicks", "first", "last"):
                if key in r:
                    assert r[key] == readers[0][key], (s["file"], key)
        if "refused" in s["evaltool"]:
            continue
        assert s["evaltool"]["clicks"] == readers[0]["clicks"]
        g = Fraction(repr(s["global_resolution_s"])) * 10**12
        r_ps = Fraction(repr(s["resolution_s"])) * 10**12 if "resolution_s" in s else 0
        for key in ("first", "last"):
            macro, *micro = readers[0][key]
            t = macro * g + (micro[0] * r_ps if micro else 0)
            assert s["evaltool"][f"{key}_time_ps"] == math.floor(t + Fraction(1, 2))


@pytest.mark.skipif(not os.environ.get("EVALTOOL_TAGGER_SAMPLES"),
                    reason="public sample files are not in the repository: set "
                    "EVALTOOL_TAGGER_SAMPLES to a folder holding them (data/tagger_fidelity.json)")
def test_public_samples(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    folder = Path(os.environ["EVALTOOL_TAGGER_SAMPLES"])
    for s in FIDELITY["samples"]:
        src = folder / s["file"]
        assert _sha(src) == s["sha256"], s["file"]
        out = tmp_path / s["file"].replace(".", "-")
        out.mkdir()
        (out / "bundle.yaml").write_text(BUNDLE)
        cmap = tmp_path / "map.yaml"
        cmap.write_text("channels:\n" + "".join(f"  {c}: {{detector: {c}}}\n"
                                                for c in s["readers"][next(iter(s["readers"]))]
                                                ["clicks"]))
        r = run_cli("-q", "import", "tagger", src, "--format", s["format"], "--channels", cmap,
                    "--out", out, "--slot", "detections")
        if "refused" in s["evaltool"]:
            assert r.exit_code == ExitCode.BAD_INPUT and s["evaltool"]["refused"] in r.stderr
            continue
        assert r.exit_code == 0, r.stderr
        table = pq.read_table(out / "detections.parquet")
        time_ps = table.column("time_ps").to_numpy()
        detector = table.column("detector").to_numpy()
        want = s["evaltool"]
        assert {str(int(c)): int((detector == c).sum()) for c in np.unique(detector)} == \
            want["clicks"]
        assert int(time_ps.min()) == want["first_time_ps"]
        assert int(time_ps.max()) == want["last_time_ps"]


def test_header_of_the_encoder_is_read_back(tmp_path: Path) -> None:
    """The encoder's header carries what the importer reads (a check on the test tool)."""
    raw = header("GenericT3", 3, 1.25e-8, 5e-12)
    assert raw[:8] == b"PQTTTR\0\0" and raw.endswith(struct.pack("<I", 0xFFFF0008) + bytes(8))
    path = write_ptu(tmp_path / "h.ptu", "GenericT3", np.array([1, 2, 3], np.uint32), 1.25e-8,
                     5e-12)
    with ptufile.PtuFile(path) as p:
        assert p.tags["TTResult_NumberOfRecords"] == 3
        assert p.tags["TTResultFormat_TTTRRecType"] == 0x00010307
        assert p.tags["MeasDesc_GlobalResolution"] == 1.25e-8
        assert p.tags["MeasDesc_Resolution"] == 5e-12
        assert p.record_offset == len(raw)


def test_ht3_that_crashes_its_reader(tmp_path: Path, bundle: Path, channels: Path, ptu: Path,
                                     run_cli) -> None:  # type: ignore[no-untyped-def]
    """A header of zeros stops tttrlib 0.26.2 with SIGFPE; it runs in a child process, so that
    is exit 4 with one line (in a real process, so native output would reach the terminal), and
    a file that is not HT3 at all never reaches it."""
    import subprocess
    import sys

    pytest.importorskip("tttrlib")
    assert "not an HT3 file" in _fails(run_cli, bundle, ptu, "--format", "ht3", "--channels",
                                       channels)
    zero = tmp_path / "zero.ht3"
    zero.write_bytes(b"HydraHarp".ljust(16, b"\0") + b"2.0".ljust(6, b"\0") + bytes(4000))
    before = tree_digest(bundle)
    out = subprocess.run([sys.executable, "-m", "evaltool", "import", "tagger", str(zero),
                          "--format", "ht3", "--channels", str(channels), "--out", str(bundle),
                          "--slot", "detections"], capture_output=True, text=True, check=False,
                         cwd=HERE.parents[1],
                         env={**os.environ, "PYTHONPATH": str(HERE.parents[1])})
    assert out.returncode == ExitCode.BAD_INPUT
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1
    assert "zero.ht3: not a readable HT3 file: tttrlib stopped with SIGFPE" in out.stderr
    assert tree_digest(bundle) == before
