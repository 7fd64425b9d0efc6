"""The probe's record is audited like any other evidence: ``evaltool audit`` of the folder the
probe wrote (with the device's TOE and claims from ``--toe``) passes against the honest KME and
exits 1 against a faulty one, naming the failed check. The profile here is a test profile; the
shipped profile's mapping is docs/kme.md's table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaltool.kdi.kme import KmePair
from evaltool.kdi.probe import probe
from tests.kdi.conftest import kme_config
from tests.kdi.test_probe_checks import KINDS, options

PROFILE = """\
schema_version: 1
id: kdi-test-profile
title: Key-delivery interface checks (test)
version: "1.0"
threats:
  - {id: T.KEY_ACCESS, title: A consumer obtains a key not meant for it}
objectives:
  - {id: O.KEY_DELIVERY, title: Keys go only to their consumers, addresses: [T.KEY_ACCESS],
     sfrs: [FDP_ETC.2]}
sfrs:
  - id: FDP_ETC.2
    title: Export of user data with security attributes
    elements:
      - id: FDP_ETC.2.1
        text: Keys are exported only under the key access policy, over the interface.
        activities:
"""


def _profile(folder: Path) -> Path:
    acts = "".join(
        f"          - id: A{i}\n            title: {kind}\n            method: automated\n"
        f"            checks:\n              - kind: {kind}\n"
        for i, kind in enumerate(KINDS, 1))
    path = folder / "kdi-profile.yaml"
    path.write_text(PROFILE + acts)
    return path


@pytest.mark.parametrize(("faults", "code"), [({}, 0), ({"redelivery": True}, 1)],
                         ids=["honest", "redelivery"])
def test_audit_of_the_probe_record(run_cli, certs, tmp_path: Path, faults: dict[str, bool],
                                   code: int) -> None:
    with KmePair(kme_config(certs, faults=faults)) as pair:
        probe(options(certs, pair.urls, tmp_path / "probe"))
    r = run_cli("audit", tmp_path / "probe", "--profile", _profile(tmp_path), "--out",
                tmp_path / "audit", "--format", "json")
    assert r.exit_code == code, r.stderr
    results = json.loads((tmp_path / "audit" / "results.json").read_text())
    verdicts = {c["kind"]: c["verdict"] for req in results["requirements"]
                for c in req["checks"]}
    expected = dict.fromkeys(KINDS, "pass")
    if faults:
        expected["kdi.no-redelivery"] = "fail"
    assert verdicts == expected
