"""An interrupted, concurrent or failing audit leaves the previous complete result set or the new
one, never a mix (docs/outputs.md).

An old set (seed 1: results.json and its digest, report.html, the JUnit and OSCAL files; the PDF
is left out to keep the runs short, the switch treats every output alike) is in the folder; an
audit writing a new one (seed 2) is killed with SIGKILL
before each of its file-system operations in turn, and at moments spread over the run; after
each kill the folder holds exactly the files of the old set or of the new set (byte for byte, and
as the new set only once the commit record was written), ``evaltool verify`` accepts it, and no
staging folder is left. SIGINT and SIGTERM end the run with one line and 130/143, a second run
into a folder in use is refused (75), and a full disk or a read-only folder gives 5 with the old
set intact.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaltool.report.outputs import folder_state
from evaltool.report.resultset import CONTROL, STAGING_NAME
from tests.support import DEMO_BUNDLE, MINI_PROFILE, REPO

DRIVER = Path(__file__).with_name("kill_driver.py")
PY = sys.executable


def _visible(folder: Path) -> dict[str, str]:
    """The outputs in ``folder`` (every file but the control folder) and their SHA-256."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


class Sets:
    """A folder with an old set, the bytes of the old and of the new set, and the way to run."""

    def __init__(self, root: Path, formats: str = "json,html,junit,oscal") -> None:
        self.root = root
        self.profile = root / "mini.yaml"
        self.profile.write_text(MINI_PROFILE)
        self.out = root / "out"
        self.formats = formats
        self.env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600",
                    "PYTHONPATH": str(REPO)}
        assert self.run_plain(2).returncode == 0
        self.new = _visible(self.out)
        self.new_copy = root / "new-set"
        shutil.copytree(self.out, self.new_copy)
        shutil.rmtree(self.out)
        assert self.run_plain(1).returncode == 0
        self.old = _visible(self.out)
        assert self.old != self.new and set(self.old) == set(self.new)
        self.pristine = root / "old-set"
        shutil.copytree(self.out, self.pristine)

    def args(self, seed: int) -> list[str]:
        return ["-q", "audit", str(DEMO_BUNDLE), "--profile", str(self.profile), "--out",
                str(self.out), "--seed", str(seed), "--format", self.formats]

    def run_plain(self, seed: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", "evaltool", *self.args(seed)], env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)

    def restore_old(self) -> None:
        shutil.rmtree(self.out)
        shutil.copytree(self.pristine, self.out)

    def kill_at(self, n: int, log: Path, sig: int = signal.SIGKILL
                ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, str(DRIVER), str(log), str(n), *self.args(2)],
                              env={**self.env, "KILL_SIGNAL": str(sig)},
                              capture_output=True, text=True, timeout=120, check=False)

    def assert_old_or_new(self, run_cli, *, expect: str | None = None) -> str:
        """The folder is (after finishing a switch past its commit point) exactly the old or
        the new set, and ``evaltool verify`` accepts it; returns which."""
        before = folder_state(self.out)
        assert before.complete or before.pending, before.problems
        r = run_cli("verify", self.out / "results.json", "--bundle", DEMO_BUNDLE,
                    "--profile", self.profile)
        assert r.exit_code == 0, (r.stdout, r.stderr)
        seen = _visible(self.out)
        which = "old" if seen == self.old else "new" if seen == self.new else "mix"
        assert which != "mix", seen
        if expect is not None:
            assert which == expect
        assert not (self.out / CONTROL / STAGING_NAME).exists()
        assert folder_state(self.out).complete
        return which


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> Sets:
    return Sets(tmp_path_factory.mktemp("crash"))


@pytest.fixture(scope="module")
def ops(sets: Sets) -> list[str]:
    """The file-system operations of an uninterrupted audit writing the new set."""
    sets.restore_old()
    log = sets.root / "ops.log"
    r = sets.kill_at(0, log)
    assert r.returncode == 0, r.stderr
    assert _visible(sets.out) == sets.new
    return log.read_text().splitlines()


def _commit_index(ops: list[str]) -> int:
    """1-based index of the rename that puts the commit record in place (the commit point)."""
    for i, line in enumerate(ops, 1):
        op, _, where = line.partition(" ")
        if op == "replace" and where.endswith("/COMMIT"):
            return i
    raise AssertionError("no commit record in the operations")


def _kill_points(sets: Sets, run_cli, tmp_path: Path, points: list[int], ops: list[str]
                 ) -> dict[str, int]:
    commit = _commit_index(ops)
    seen = {"old": 0, "new": 0}
    for n in points:
        sets.restore_old()
        log = tmp_path / f"kill-{n}.log"
        r = sets.kill_at(n, log)
        assert r.returncode == -signal.SIGKILL, (n, r.returncode, r.stderr)
        which = sets.assert_old_or_new(run_cli, expect="old" if n <= commit else "new")
        seen[which] += 1
    return seen


def test_killed_around_the_commit_point_leaves_old_or_new(sets: Sets, ops: list[str], run_cli,
                                                          tmp_path: Path) -> None:
    commit = _commit_index(ops)
    # just before the commit point, inside the switch, at the last operation
    points = [commit, commit + 2, len(ops)]
    seen = _kill_points(sets, run_cli, tmp_path, points, ops)
    assert seen == {"old": 1, "new": 2}


@pytest.mark.slow
def test_killed_before_every_operation_and_at_spread_times(sets: Sets, ops: list[str], run_cli,
                                                           tmp_path: Path) -> None:
    seen = _kill_points(sets, run_cli, tmp_path, list(range(1, len(ops) + 1)), ops)
    assert seen["new"] >= 5, seen
    # and at moments spread over a whole run (mostly the start-up and the computation)
    sets.restore_old()
    t0 = time.perf_counter()
    assert sets.run_plain(2).returncode == 0
    duration = time.perf_counter() - t0
    for i in range(1, 13):
        sets.restore_old()
        proc = subprocess.Popen([PY, "-m", "evaltool", *sets.args(2)], env=sets.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * i / 13)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        seen[sets.assert_old_or_new(run_cli)] += 1
    assert len(ops) + 12 >= 20
    assert seen["old"] >= 1, seen


def _staging_index(ops: list[str]) -> int:
    """1-based index of the first operation after the staging folder is made."""
    for i, line in enumerate(ops, 1):
        op, _, where = line.partition(" ")
        if op == "mkdir" and where.endswith(f"/{STAGING_NAME}"):
            return i + 1
    raise AssertionError("nothing staged")


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted (SIGINT)"),
                                                   (signal.SIGTERM, 143,
                                                    "terminated (SIGTERM)")])
def test_sigint_and_sigterm_end_with_one_line(sets: Sets, ops: list[str], run_cli,
                                              tmp_path: Path,
                                              sig: signal.Signals, code: int,
                                              word: str) -> None:
    """While the outputs are staged: the old set stays. Inside the switch (past the commit
    point): the signal waits for the switch to end, so the new set is complete."""
    for n, expect in ((_staging_index(ops), "old"), (_commit_index(ops) + 2, "new")):
        sets.restore_old()
        r = sets.kill_at(n, tmp_path / f"sig-{n}.log", sig)
        assert r.returncode == code, r.stderr
        assert r.stderr.strip().splitlines() == [f"evaltool: error: {word}"]
        assert sets.assert_old_or_new(run_cli) == expect


def _hold_lock(folder: Path) -> subprocess.Popen[str]:
    code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'424242\\n'); print('held', "
            "flush=True); time.sleep(60)")
    proc = subprocess.Popen([PY, "-c", code, str(folder / CONTROL / "lock")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_into_a_folder_in_use_is_refused(sets: Sets, run_cli,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", sets.env["SOURCE_DATE_EPOCH"])
    sets.restore_old()
    holder = _hold_lock(sets.out)
    try:
        r = run_cli(*sets.args(2))
        v = run_cli("verify", sets.out / "results.json", "--bundle", DEMO_BUNDLE,
                    "--profile", sets.profile)
    finally:
        holder.kill()
        holder.communicate()
    assert r.exit_code == 75
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use by another evaltool run (pid 424242)" in lines[0]
    assert v.exit_code == 75
    assert _visible(sets.out) == sets.old
    # the lock dies with its holder: nothing stale to clean up
    assert run_cli(*sets.args(2)).exit_code == 0
    assert _visible(sets.out) == sets.new


def test_a_full_disk_gives_exit_5_and_keeps_the_old_set(sets: Sets, run_cli,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated: the second staged file finds the disk full after half of it is written."""
    import evaltool.report.resultset as rs

    sets.restore_old()
    real = rs._write_synced
    calls = [0]

    def full(path: Path, data: bytes) -> None:
        calls[0] += 1
        if calls[0] == 2:
            path.write_bytes(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(rs, "_write_synced", full)
    r = run_cli(*sets.args(2))
    assert r.exit_code == 5
    assert r.stderr.strip().splitlines() == [
        f"evaltool: error: {sets.out}: cannot write report (No space left on device)"]
    monkeypatch.undo()
    assert calls[0] == 2
    assert sets.assert_old_or_new(run_cli) == "old"


def _mount(args: list[str]) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@pytest.fixture
def small_fs(tmp_path: Path):
    """A 256 KiB tmpfs (needs the right to mount, as root in a container; skipped otherwise)."""
    where = tmp_path / "fs"
    where.mkdir()
    if os.geteuid() != 0 or not _mount(["-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)]):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_real_full_file_system_gives_exit_5(small_fs: Path, sets: Sets, run_cli) -> None:
    out = small_fs / "out"
    shutil.copytree(sets.pristine, out)
    free = os.statvfs(small_fs)
    filler = small_fs / "filler"
    filler.write_bytes(b"\0" * max(0, free.f_bavail * free.f_frsize - 4096))
    args = [a if a != str(sets.out) else str(out) for a in sets.args(2)]
    r = run_cli(*args)
    assert r.exit_code == 5, r.stderr
    assert "No space left on device" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _visible(out) == sets.old
    assert not (out / CONTROL / STAGING_NAME).exists()


def test_a_read_only_folder_gives_exit_5_and_keeps_the_old_set(small_fs: Path, sets: Sets,
                                                               run_cli) -> None:
    out = small_fs / "out"
    shutil.copytree(sets.pristine, out)
    assert _mount(["-o", "remount,ro", str(small_fs)])
    args = [a if a != str(sets.out) else str(out) for a in sets.args(2)]
    r = run_cli(*args)
    assert r.exit_code == 5, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"evaltool: error: {out}: cannot write to the output folder (Read-only file system)"]
    assert _visible(out) == sets.old


def test_a_read_only_folder_simulated(sets: Sets, run_cli,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the right to mount: the lock file cannot be opened for writing (EROFS)."""
    import evaltool.report.resultset as rs

    sets.restore_old()
    real_open = os.open

    def read_only(path: object, flags: int, *args: object) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rs.os, "open", read_only)
    r = run_cli(*sets.args(2))
    monkeypatch.undo()
    assert r.exit_code == 5
    assert "cannot write to the output folder (Read-only file system)" in r.stderr
    assert _visible(sets.out) == sets.old


def test_verify_tells_a_mixed_folder(sets: Sets, run_cli) -> None:
    """The new results.json beside the old set's manifest: not a set, verify says so (exit 5)."""
    sets.restore_old()
    for name in ("results.json", "results.json.sha256"):
        shutil.copy(sets.new_copy / name, sets.out / name)
    state = folder_state(sets.out)
    assert not state.complete
    assert state.problems == [
        "results.json is not the one of result set 1 (SHA-256 differs from its manifest)",
        "results.json.sha256 is not the one of result set 1 (SHA-256 differs from its manifest)"]
    r = run_cli("verify", sets.out / "results.json", "--bundle", DEMO_BUNDLE,
                "--profile", sets.profile)
    assert r.exit_code == 5
    assert ("difference: result set: results.json is not the one of result set 1 (SHA-256 "
            "differs from its manifest)") in r.stdout
