"""Faulty scenarios fail exactly their checks on every seed (issue 21 item 4): each faulty
``simulate`` scenario, regenerated at 50 seeds and audited with its security target and the demo
evaluation input as a lab would, exits 1, fails exactly the requirements its deviation violates,
and fails only through the check kinds that catch the deviation. The honest counterpart (at
least 99 % of 200 seeds exit 0) is ``test_calibration.py``; the levels behind both are in
docs/significance.md. Slow: about a minute per audit on a quiet machine.

``EVALTOOL_FAULTY_SEEDS`` ("first:stop", default "0:50") runs a part of the seed range.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from evaltool.simulate import SCENARIO_NAMES, SCENARIOS, generate, write_bundle
from tests.support import DEMO_EVALUATION, PROFILE

FAULTY = [n for n in SCENARIO_NAMES if n != "honest"]


def audit_scenario(name: str, seed: int, tmp: Path, run_cli) -> tuple[int, dict[str, set[str]]]:
    """Exit code and failing requirement -> failing check kinds of one audited bundle."""
    bundle = write_bundle(tmp / f"{name}-{seed}", generate(name, seed=seed)).parent
    out = tmp / f"out-{name}-{seed}"
    r = run_cli("-q", "audit", bundle, "--profile", PROFILE, "--st", bundle / "st.yaml",
                "--evaluation", DEMO_EVALUATION, "--seed", "1", "--out", out, "--format",
                "json")
    doc = json.loads((out / "results.json").read_text())
    fails: dict[str, set[str]] = {}
    for req in doc["requirements"]:
        for c in req["checks"]:
            if c["verdict"] == "fail":
                fails.setdefault(req["requirement_id"], set()).add(c["kind"])
    shutil.rmtree(bundle)
    shutil.rmtree(out)
    return r.exit_code, fails


@pytest.mark.slow
@pytest.mark.parametrize("name", FAULTY)
def test_faulty_scenario_fails_exactly_its_checks_over_seeds(name: str, tmp_path: Path, run_cli,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    first, stop = (int(x) for x in os.environ.get("EVALTOOL_FAULTY_SEEDS", "0:50").split(":"))
    scenario = SCENARIOS[name]
    wrong = []
    for seed in range(first, stop):
        code, fails = audit_scenario(name, seed, tmp_path, run_cli)
        stray = {req: kinds - set(scenario.catchers.get(req, ()))
                 for req, kinds in fails.items()}
        ok = (code == 1 and set(fails) == set(scenario.violates)
              and not any(stray.values()))
        if not ok:
            wrong.append(f"seed {seed}: exit {code}, fails {fails}")
        with capsys.disabled():
            print(f"{name} seed {seed}: exit {code}" + ("" if ok else f" WRONG {fails}"),
                  flush=True)
    assert not wrong, "\n".join(wrong)
