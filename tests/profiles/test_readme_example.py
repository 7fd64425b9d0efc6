"""The worked example of profiles/README.md stays true."""

from __future__ import annotations

import re
from pathlib import Path

from tests.profiles.conftest import PROFILES

README = (PROFILES / "README.md").read_text()


def _example(tmp_path: Path) -> tuple[Path, Path]:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    profile, st = tmp_path / "tiny.yaml", tmp_path / "tiny-st.yaml"
    profile.write_text(blocks[-2])
    st.write_text(blocks[-1])
    return profile, st


def test_worked_example_validates_and_shows(profile_cli, tmp_path: Path) -> None:
    profile, st = _example(tmp_path)
    r = profile_cli("validate", profile, st)
    assert r.exit_code == 0, r.stderr
    r = profile_cli("profile", "show", profile, "--sfr", "FPT_FLS.1", "--st", st)
    assert "A block whose QBER exceeds 0.05 is aborted without key." in r.stdout
    assert '"threshold": 0.05' in r.stdout


def test_worked_example_loosening_message(profile_cli, tmp_path: Path) -> None:
    profile, st = _example(tmp_path)
    st.write_text(st.read_text().replace("0.05}", "0.15}"))
    r = profile_cli("validate", profile, st)
    assert r.exit_code == 4
    documented = re.search(r"tiny-st\.yaml:6:15: assignment 'qber_abort_threshold': 0\.15 "
                           r"loosens the\nprofile's bound max = 0\.11", README)
    assert documented is not None
    assert (f"{st}:6:15: assignment 'qber_abort_threshold': 0.15 loosens the profile's bound "
            "max = 0.11 (a lower value is stricter; an ST may only tighten)") in r.stderr
