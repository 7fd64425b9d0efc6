"""Post-processing transcript I/O benchmark: writing and reading one large block.

Run on demand (not a test)::

    nice -n 10 .venv/bin/python benchmarks/bench_transcript_io.py [--bits 100000000]
        [--messages 10000000] [--format parquet] [--dir DIR]

Builds one block of ``--bits`` sifted bits at both ends (1 % revealed for estimation, the
reconciled and corrected keys, a Toeplitz seed and output of half the reconciled length, and
``--messages`` Cascade parities), writes it with ``evaltool.io.transcript_writer`` and reads it
back through the ``post-processing-transcript`` reader in a fresh process, so that the peak
resident memory printed for the read is the reader's alone (the block as the replay checks get
it: unpacked 0/1 arrays, ``docs/transcript-format.md``). Prints the file size, the write and read
wall times, the read throughput in sifted bits per second and both peak RSS figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(n: int, messages: int):  # type: ignore[no-untyped-def]
    """One consistent synthetic block of ``n`` sifted bits."""
    from evaltool.io.readers.replay_view import (
        BlockTranscript,
        EcMessages,
        EcProtocol,
        EstimationRecord,
        PrivacyAmplificationRecord,
    )

    rng = np.random.default_rng(2026)
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    bob[rng.integers(0, n, n // 50)] ^= 1
    positions = np.unique(rng.integers(0, n, n // 100)).astype(np.int64)
    keep = np.ones(n, dtype=bool)
    keep[positions] = False
    rec_a, rec_b = alice[keep], bob[keep]
    m = int(rec_a.size)
    ell = m // 2
    starts = np.sort(rng.integers(0, m - 64, messages)).astype(np.int64)
    return BlockTranscript(
        block_id=0, sifted_alice=alice, sifted_bob=bob, reconciled_alice=rec_a,
        reconciled_bob=rec_b, corrected_alice=rec_a, corrected_bob=rec_a.copy(),
        sifting=None,
        estimation=EstimationRecord(positions=positions, alice_values=alice[positions],
                                    bob_values=bob[positions], qber_alice=0.02, qber_bob=0.02),
        ec=EcMessages(protocol=EcProtocol.CASCADE, variant="original", frame_seed=1,
                      qber_used=0.02, seq=np.arange(messages, dtype=np.int64),
                      from_bob=np.zeros(messages, dtype=bool),
                      pass_index=np.zeros(messages, dtype=np.int64), start=starts,
                      end=starts + 64, parity=rng.integers(0, 2, messages, dtype=np.uint8),
                      permutations=None),
        verification=None,
        pa=PrivacyAmplificationRecord(
            family="toeplitz", seed=rng.integers(0, 2, m + ell - 1, dtype=np.uint8),
            input_bits=m, output_bits=ell, output=rng.integers(0, 2, ell, dtype=np.uint8),
            output_sha256=None),
        auth=None, delivered=True, key_ids=("k-0",))


def read(path: Path) -> dict[str, float]:
    """Read every block of ``path`` (in this process); wall time and peak RSS."""
    import hashlib

    from evaltool.io import readers
    from evaltool.model.bundle import EvidenceFormat, EvidenceKind

    src = readers.Source(slot="t", kind=EvidenceKind.POST_PROCESSING_TRANSCRIPT,
                         format=EvidenceFormat(path.suffix[1:]), path=path, display=path.name,
                         sha256=hashlib.sha256(path.name.encode()).hexdigest())
    t0 = time.perf_counter()
    bits = 0
    for block in readers.read(src).blocks():
        bits += 0 if block.sifted_alice is None else int(block.sifted_alice.size)
    return {"read_s": time.perf_counter() - t0, "sifted_bits": bits,
            "read_peak_rss_mb": _peak_rss_mb()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, default=100_000_000)
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--read", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.read is not None:
        print(json.dumps(read(args.read)))
        return
    from evaltool.io.transcript_writer import write_transcript

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / f"transcript.{args.format}"
        block = build(args.bits, args.messages)
        t0 = time.perf_counter()
        write_transcript(path, [block], None, args.format)
        write_s = time.perf_counter() - t0
        write_rss = _peak_rss_mb()
        del block
        out = subprocess.run([sys.executable, __file__, "--read", str(path)], check=True,
                             capture_output=True, text=True)
        result = json.loads(out.stdout)
        size = path.stat().st_size
    print(f"block: {args.bits:.3g} sifted bits, {args.messages:.3g} EC messages, {args.format}")
    print(f"file: {size / 1e6:.1f} MB")
    print(f"write: {write_s:.2f} s (process peak RSS {write_rss:.0f} MB, incl. building)")
    print(f"read: {result['read_s']:.2f} s, {result['sifted_bits'] / result['read_s'] / 1e6:.0f} "
          f"Mbit/s of sifted key, peak RSS {result['read_peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
