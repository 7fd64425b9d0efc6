"""``evaltool kme serve`` and ``evaltool probe etsi-014`` on the command line, and their refusals
of bad input: one line, exit 2 or 4, no traceback, no output folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaltool.kdi.kme import KmePair

REPO = Path(__file__).resolve().parents[2]


def _config(certs: dict[str, tuple[Path, Path]], folder: Path, extra: str = "") -> Path:
    cfg = folder / "kme.yaml"
    (a_cert, a_key), (b_cert, b_key) = certs["kme_a"], certs["kme_b"]
    cfg.write_text(
        f"kme_a: {{kme_id: KME_A, cert: {a_cert}, key: {a_key}, saes: [SAE_A]}}\n"
        f"kme_b: {{kme_id: KME_B, cert: {b_cert}, key: {b_key}, saes: [SAE_B, SAE_C]}}\n"
        f"ca: {certs['ca'][0]}\nstored_keys: 400\nmax_key_per_request: 32\n"
        f"max_sae_id_count: 2\n{extra}")
    return cfg


@pytest.fixture
def served(certs: dict[str, tuple[Path, Path]], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``evaltool kme serve`` in a subprocess; its two URLs."""
    with subprocess.Popen(
            [sys.executable, "-m", "evaltool", "kme", "serve", "--config",
             str(_config(certs, tmp_path))], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(3)]
            assert lines[2] == "faults: none (honest)\n", lines
            assert lines[0].startswith("KME-A KME_A https://127.0.0.1:"), lines
            yield lines[0].split()[2], lines[1].split()[2]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _sae(certs: dict[str, tuple[Path, Path]], name: str) -> str:
    return f"{certs[name][0]},{certs[name][1]}"


def _args(certs: dict[str, tuple[Path, Path]], urls: tuple[str, str], out: Path) -> list[str]:
    return ["probe", "etsi-014", "--kme-a", urls[0], "--kme-b", urls[1],
            "--sae-a", _sae(certs, "SAE_A"), "--sae-b", _sae(certs, "SAE_B"),
            "--sae-c", _sae(certs, "SAE_C"), "--ca", str(certs["ca"][0]), "--out", str(out),
            "--keys", "50", "--quiet"]


def test_probe_of_the_served_pair(run_cli, certs, served, tmp_path: Path) -> None:
    r = run_cli(*_args(certs, served, tmp_path / "out"), "--json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["timeouts"] == 0 and summary["skipped"] == 0
    assert summary["exchanges"] > 40
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bundle.yaml",
                                                                     "probe.jsonl"]
    # Not a second time into the same folder.
    r = run_cli(*_args(certs, served, tmp_path / "out"))
    assert r.exit_code == 2 and "not an empty folder" in r.stderr


def _one_line(r, code: int, text: str) -> None:  # type: ignore[no-untyped-def]
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and text in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_bad_input_is_one_line(run_cli, certs, tmp_path: Path) -> None:
    out = tmp_path / "out"
    urls = ("https://127.0.0.1:1", "https://127.0.0.1:2")
    base = _args(certs, urls, out)

    def with_(option: str, value: str) -> list[str]:
        args = list(base)
        args[args.index(option) + 1] = value
        return args

    _one_line(run_cli(*with_("--kme-a", "http://127.0.0.1:1")), 2, "is not an https:// URL")
    _one_line(run_cli(*with_("--sae-a", "nothere.pem,nothere.key")), 4,
              "--sae-a: file not found or unreadable")
    _one_line(run_cli(*with_("--sae-b", str(certs["SAE_B"][0]))), 2, "takes CERT,KEY")
    _one_line(run_cli(*with_("--sae-a", f"{certs['SAE_A'][0]},{certs['SAE_B'][1]}")), 4,
              "do not load as a TLS client identity")
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    _one_line(run_cli(*with_("--ca", str(not_pem))), 4, "--ca: not a PEM CA certificate")
    assert not out.exists()


def test_unknown_sae_is_bad_input(run_cli, certs, kme_pair: KmePair, tmp_path: Path) -> None:
    args = _args(certs, kme_pair.urls, tmp_path / "out")
    args[args.index("--sae-a") + 1] = _sae(certs, "SAE_C")  # attached to KME-B, not KME-A
    _one_line(run_cli(*args), 4, "KME-A answered 401 to SAE SAE_C's status request")
    assert not (tmp_path / "out").exists()


def test_a_ca_that_does_not_verify_the_kme_is_bad_input(run_cli, certs, kme_pair: KmePair,
                                                         tmp_path: Path) -> None:
    args = _args(certs, kme_pair.urls, tmp_path / "out")
    args[args.index("--ca") + 1] = str(certs["stranger"][0])  # a certificate of another CA
    _one_line(run_cli(*args), 4, "KME-A's server certificate does not verify against --ca")
    assert not (tmp_path / "out").exists()


def test_kme_serve_refuses_a_bad_config(run_cli, certs, tmp_path: Path) -> None:
    _one_line(run_cli("kme", "serve", "--config", tmp_path / "none.yaml"), 2,
              "KME configuration not found")
    cfg = _config(certs, tmp_path, "faults: {redeliver: true}\n")
    _one_line(run_cli("kme", "serve", "--config", cfg), 4, "faults.redeliver")
