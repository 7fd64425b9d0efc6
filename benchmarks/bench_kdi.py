"""Benchmark: the GS QKD 014 probe's full plan and the reference KME's key rate over mutual TLS.

Issue 15's targets: the probe's full plan with N = 10,000 keys against the local reference KME in
under 60 s on 2 cores; the reference KME serves at least 2,000 keys/s of 256 bits over mutual TLS.
The KME pair runs as ``evaltool kme serve`` in its own process (as a lab would run it); the probe
and the rate client run in this process, one new TLS connection per request (as the probe does).
Certificates come from the tests' throw-away PKI, written to a temporary folder.

Run on demand (it is not a test)::

    nice -n 10 python benchmarks/bench_kdi.py [--keys 10000] [--seconds 5]

Measured on the shared 2-core development machine, 2026-12-07, load average 8.2 (other jobs
running), 128 keys per request: the KME issued 10,443 keys/s with enc_keys alone and 6,808 keys/s
issued and fetched (enc_keys at KME-A, dec_keys at KME-B); the probe's full plan with N = 10,000
keys took 2.34 s (218 exchanges, record 3.9 MB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaltool.kdi.client import client_context, exchange
from evaltool.kdi.probe import ProbeOptions, load_sae, probe
from tests.kdi import pki

ROOT = Path(__file__).resolve().parents[1]


def serve(folder: Path, certs: dict[str, tuple[Path, Path]], stored: int, per: int
          ) -> tuple[subprocess.Popen[str], str, str]:
    (a_cert, a_key), (b_cert, b_key) = certs["kme_a"], certs["kme_b"]
    cfg = folder / "kme.yaml"
    cfg.write_text(
        f"kme_a: {{kme_id: KME_A, cert: {a_cert}, key: {a_key}, saes: [SAE_A]}}\n"
        f"kme_b: {{kme_id: KME_B, cert: {b_cert}, key: {b_key}, saes: [SAE_B, SAE_C]}}\n"
        f"ca: {certs['ca'][0]}\nstored_keys: {stored}\nmax_key_per_request: {per}\n"
        "max_sae_id_count: 2\n")
    proc = subprocess.Popen([sys.executable, "-m", "evaltool", "kme", "serve", "--config",
                             str(cfg)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    a, b = (proc.stdout.readline().split()[2] for _ in range(2))
    proc.stdout.readline()
    return proc, a, b


def key_rate(certs: dict[str, tuple[Path, Path]], a: str, b: str, per: int, seconds: float
             ) -> tuple[float, float, int]:
    """Keys/s issued (enc_keys only) and keys/s issued and fetched at both ends."""
    ca = certs["ca"][0]
    ctx_a, ctx_b = client_context(ca, certs["SAE_A"]), client_context(ca, certs["SAE_B"])
    body = f'{{"number": {per}, "size": 256}}'.encode()
    n_enc, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        r = exchange(a, ctx_a, "POST", "/api/v1/keys/SAE_B/enc_keys", body, 10)
        assert r.status == 200, r
        n_enc += per
    enc_rate = n_enc / (time.perf_counter() - t0)
    import json

    n_both, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        r = exchange(a, ctx_a, "POST", "/api/v1/keys/SAE_B/enc_keys", body, 10)
        ids = [{"key_ID": k["key_ID"]} for k in json.loads(r.body or b"{}")["keys"]]
        d = exchange(b, ctx_b, "POST", "/api/v1/keys/SAE_A/dec_keys",
                     json.dumps({"key_IDs": ids}).encode(), 10)
        assert d.status == 200, d
        n_both += per
    return enc_rate, n_both / (time.perf_counter() - t0), n_enc + n_both


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--per", type=int, default=128, help="max_key_per_request of the KME")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        certs = pki.build(folder)
        # 1. Key rate.
        proc, a, b = serve(folder, certs, 10_000_000, args.per)
        try:
            enc_rate, both_rate, used = key_rate(certs, a, b, args.per, args.seconds)
        finally:
            proc.terminate()
            proc.wait()
        print(f"KME key rate, {args.per} keys of 256 bits per request, new mutual-TLS "
              f"connection per request: enc_keys {enc_rate:,.0f} keys/s; enc_keys + dec_keys "
              f"{both_rate:,.0f} keys/s ({used} keys)")
        # 2. The probe's full plan (the store holds N keys and a margin, then is emptied).
        proc, a, b = serve(folder, certs, args.keys + 2_000, args.per)
        try:
            ca = certs["ca"][0]

            def sae(role: str, name: str):  # type: ignore[no-untyped-def]
                return load_sae(role, f"{certs[name][0]},{certs[name][1]}", ca)

            opts = ProbeOptions(kme_a=a, kme_b=b, sae_a=sae("a", "SAE_A"),
                                sae_b=sae("b", "SAE_B"), sae_c=sae("c", "SAE_C"),
                                sae_expired=sae("expired", "expired"), ca=ca,
                                out=folder / "probe", keys=args.keys)
            t0 = time.perf_counter()
            summary = probe(opts)
            elapsed = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait()
        size = (folder / "probe" / "probe.jsonl").stat().st_size
        print(f"probe full plan, N = {args.keys:,} keys: {elapsed:.2f} s, "
              f"{summary['exchanges']} exchanges, {summary['timeouts']} timeouts, record "
              f"{size / 1e6:.1f} MB (target < 60 s)")


if __name__ == "__main__":
    main()
