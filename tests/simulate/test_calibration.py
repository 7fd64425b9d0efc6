"""Calibration of honest evidence (issue #16, item 5): `simulate honest --seed S` audited with its
security target and the demo evaluation input exits 0 (every requirement passes) for almost
every seed; the claims and sample sizes chosen for it are in docs/scenarios.md ("Calibration of
the honest RNG evidence").
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from evaltool.simulate import generate, write_bundle

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "etsi-gs-qkd-016.yaml"
EVALUATION = ROOT / "test_vectors" / "demo" / "evaluation.yaml"


def audit_honest(seed: int, tmp: Path, run_cli) -> tuple[int, str]:
    """Exit code of the audit of the honest bundle of ``seed`` (JSON output only) and its
    failing or inconclusive checks, one per line."""
    import json

    bundle = write_bundle(tmp / f"honest-{seed}", generate("honest", seed=seed)).parent
    out = tmp / f"out-{seed}"
    r = run_cli("-q", "audit", bundle, "--profile", PROFILE, "--st", bundle / "st.yaml",
                "--evaluation", EVALUATION, "--seed", "1", "--out", out, "--format", "json")
    lines: list[str] = []
    if r.exit_code != 0 and (out / "results.json").exists():
        doc = json.loads((out / "results.json").read_text())
        lines = [f"seed {seed}: {c['check_id']} {c['verdict']}: {c['reason']}"
                 for req in doc["requirements"] for c in req["checks"]
                 if c["verdict"] in ("fail", "inconclusive")]
    return r.exit_code, "\n".join(lines) or r.stderr


@pytest.mark.parametrize("seed", [5, 11, 23])
def test_honest_audit_passes_on_a_few_seeds(seed: int, tmp_path: Path, run_cli) -> None:
    # Seed 5 failed sp800-90b.min-entropy (0.893 < 0.9 claimed) before the claim was calibrated.
    code, why = audit_honest(seed, tmp_path, run_cli)
    assert code == 0, why


@pytest.mark.slow
def test_false_failure_rate_over_200_seeds(tmp_path: Path, run_cli,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # Issue #16 acceptance: exit 0 for at least 198 of 200 seeds. EVALTOOL_CALIBRATION_SEEDS
    # ("first:stop") runs a part of the range, e.g. to split the run over processes; each seed's
    # exit code is printed as it completes (run with -s to follow).
    first, stop = (int(x) for x in os.environ.get("EVALTOOL_CALIBRATION_SEEDS", "0:200").split(":"))
    failures = []
    for seed in range(first, stop):
        code, why = audit_honest(seed, tmp_path, run_cli)
        if code != 0:
            failures.append(f"exit {code}: {why}")
        with capsys.disabled():
            print(f"seed {seed}: exit {code}" + (f"\n{why}" if code else ""), flush=True)
        shutil.rmtree(tmp_path / f"honest-{seed}")
    n = stop - first
    with capsys.disabled():
        print(f"honest audits exiting 0: {n - len(failures)} of {n}", flush=True)
    assert n - len(failures) >= 0.99 * n, "\n".join(failures)
