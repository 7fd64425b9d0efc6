"""Regenerate ``reference.json``: the NIST SP800-90B_EntropyAssessment tool on the sources.

Usage::

    python test_vectors/sp800_90b/generate_reference.py TOOL_DIR [COMMIT [CACHE_DIR]]

``TOOL_DIR`` holds the built ``ea_non_iid`` and ``ea_iid`` binaries (``make non_iid iid`` in the
tool's ``cpp`` directory, outside this repository). Each source of ``sources.py`` is written to a
temporary file (one sample per byte) at the sizes below, and the tools are run as
``ea_non_iid -v -v FILE B`` and ``ea_iid -v -v FILE B``; their extra-verbose lines
("<Label> <Estimator> Estimate: <key> = <value>") are recorded as printed (%.17g or %.22Lg).
Each finished entry is kept in CACHE_DIR (if given) so that an interrupted run resumes; an
``ea_iid`` run longer than ``IID_TIMEOUT_S`` is recorded as timed out.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sources import SOURCES

SIZES = {
    "anchor-8bit": (1_000_000,),
    "anchor-1bit": (1_000_000,),
    "uniform-8bit": (1_000_000, 100_000),
    "uniform-1bit": (1_000_000, 100_000),
    "biased-1bit": (1_000_000, 100_000),
    "markov-4bit": (1_000_000, 100_000),
    "sticky-8bit": (1_000_000, 100_000),
}

NAMES = {
    "Most Common Value": "mcv",
    "Collision": "collision",
    "Markov": "markov",
    "Compression": "compression",
    "t-Tuple": "t-tuple",
    "LRS": "lrs",
    "MultiMCW Prediction": "multi-mcw",
    "Lag Prediction": "lag",
    "MultiMMC Prediction": "multi-mmc",
    "LZ78Y Prediction": "lz78y",
}
LINE = re.compile(r"^(Literal|Bitstring) (.+?) Estimate: (.+?) = (\S+)$")
TRACKS = {"Literal": "original", "Bitstring": "bitstring"}
IID_TIMEOUT_S = 150
#: Second, longer attempt for every run that timed out. A dependent source's permutation tests
#: run all 10,000 permutations, each with a bzip2 compression of the permuted text: markov-4bit at
#: 1e6 samples took 48 min of CPU (OMP_NUM_THREADS=1) on the 2-core machine.
IID_RETRY_TIMEOUT_S = 4 * 3600


def _number(text: str) -> float:
    return float(text)


def parse_non_iid(out: str) -> dict:
    res: dict = {"original": {}, "bitstring": {}}
    for line in out.splitlines():
        m = LINE.match(line.strip())
        if m:
            track, name, key, value = m.groups()
            res[TRACKS[track]].setdefault(NAMES[name], {})[key] = _number(value)
        elif line.startswith("H_original = "):
            res["h_original"] = _number(line.split("=")[1])
        elif line.startswith("H_bitstring = "):
            res["h_bitstring"] = _number(line.split("=")[1])
        elif line.startswith("Assessed min entropy: "):
            res["h_assessed"] = _number(line.split(":")[1])
    return res


def parse_iid(out: str) -> dict:
    res: dict = {"statistics": {}, "chi_square": {}, "lrs": {}}
    for raw in out.splitlines():
        line = raw.strip()
        if line.startswith("Permutation testing: Unpermuted result "):
            key, value = line.removeprefix("Permutation testing: Unpermuted result ").split(" = ")
            res["statistics"][key] = _number(value)
        elif line.startswith("Chi square independence: ") or line.startswith(
            "Chi square goodness of fit: "
        ):
            head, rest = line.split(": ", 1)
            key, value = rest.split(" = ")
            part = "independence" if "independence" in head else "goodness_of_fit"
            res["chi_square"].setdefault(part, {})[key] = _number(value)
        elif line.startswith("Chi square tests: "):
            res["chi_square"]["passed"] = line.endswith("Passed")
        elif line.startswith("Literal Longest Repeated Substring results: "):
            key, value = line.split(": ", 1)[1].split(" = ")
            res["lrs"][key] = _number(value)
        elif line.startswith("Length of longest repeated substring test: "):
            res["lrs"]["passed"] = line.endswith("Passed")
        elif line.startswith("IID permutation tests: "):
            res["permutation_passed"] = line.endswith("Passed")
        elif line.startswith("Literal Most Common Value Estimate: "):
            key, value = line.split(": ", 1)[1].split(" = ")
            res.setdefault("mcv", {})[key] = _number(value)
    return res


def main() -> None:
    tool = Path(sys.argv[1]).resolve()
    commit = sys.argv[2] if len(sys.argv) > 2 else "unknown"
    cache = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([tool / "ea_non_iid", "--version"], capture_output=True, text=True)
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (gen, bits) in SOURCES.items():
            for n in SIZES[name]:
                key = f"{name}@{n}"
                cached = cache / f"{key}.json" if cache is not None else None
                if cached is not None and cached.exists():
                    results[key] = json.loads(cached.read_text())
                    continue
                data = gen(n)
                path = Path(tmp) / f"{name}-{n}.bin"
                path.write_bytes(data.tobytes())
                entry: dict = {
                    "source": name,
                    "n": n,
                    "bits_per_sample": bits,
                    "input_sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                }
                cmd = [str(tool / "ea_non_iid"), "-v", "-v", path.name, str(bits)]
                out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=True)
                entry["non_iid_command"] = "ea_non_iid -v -v FILE " + str(bits)
                entry["non_iid"] = parse_non_iid(out.stdout)
                # line-buffered, so that a run stopped by the timeout keeps what it printed
                cmd = ["stdbuf", "-oL", str(tool / "ea_iid"), "-v", "-v", path.name, str(bits)]
                entry["iid_command"] = "ea_iid -v -v FILE " + str(bits)
                try:
                    out = subprocess.run(
                        cmd, cwd=tmp, capture_output=True, text=True, timeout=IID_TIMEOUT_S
                    )
                    entry["iid"] = parse_iid(out.stdout)
                except subprocess.TimeoutExpired as exc:
                    partial = exc.stdout or ""
                    text = partial.decode() if isinstance(partial, bytes) else partial
                    entry["iid"] = parse_iid(text)
                    entry["iid"]["timed_out_after_s"] = IID_TIMEOUT_S
                results[key] = entry
                if cached is not None:
                    cached.write_text(json.dumps(entry))
                print(name, n, entry["non_iid"].get("h_assessed"), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for key, entry in results.items():
            if "timed_out_after_s" not in entry["iid"]:
                continue
            gen, bits = SOURCES[entry["source"]]
            path = Path(tmp) / "retry.bin"
            path.write_bytes(gen(entry["n"]).tobytes())
            cmd = ["stdbuf", "-oL", str(tool / "ea_iid"), "-v", "-v", path.name, str(bits)]
            try:
                out = subprocess.run(
                    cmd, cwd=tmp, capture_output=True, text=True, timeout=IID_RETRY_TIMEOUT_S
                )
            except subprocess.TimeoutExpired:
                continue
            entry["iid"] = parse_iid(out.stdout)
            if cache is not None:
                (cache / f"{key}.json").write_text(json.dumps(entry))
            print(key, "iid retried", entry["iid"].get("permutation_passed"), flush=True)
    doc = {
        "provenance": {
            "tool": "NIST SP800-90B_EntropyAssessment (usnistgov/SP800-90B_EntropyAssessment)",
            "tool_version": version.stdout.strip().splitlines()[0] if version.stdout else "",
            "commit": commit,
            "build": "make non_iid iid (g++ -std=c++11 -fopenmp -O2 -ffloat-store), Debian 12",
            "commands": "ea_non_iid -v -v FILE B; ea_iid -v -v FILE B",
            "inputs": "test_vectors/sp800_90b/sources.py (SHAKE-256, see each source's docstring)",
            "generator": "test_vectors/sp800_90b/generate_reference.py",
            "note": "IID permutation counts depend on the tool's random permutations; only the "
            "unpermuted statistics, chi-square and LRS values and the verdicts are comparable.",
        },
        "results": results,
    }
    out_path = Path(__file__).resolve().parent / "reference.json"
    out_path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
