"""Generate trace_original_1000.json, a published Cascade trace (regression vector).

DO NOT EDIT the JSON by hand: run ``python test_vectors/protocol/cascade/generate_trace.py``.
The keys come from SHA-256 counter-mode output (reproducible anywhere); the trace is evaltool's own
output for the shuffle specification in evaltool/engines/protocol/_cascade_kernel.py. Every parity
in it can be checked independently from the keys and that specification (the test does so).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np

from evaltool.engines.protocol.cascade import cascade_reconcile

N = 1000
SEED = 20_261_127


def stream_bits(label: bytes, n: int) -> np.ndarray:
    """``n`` bits of SHA-256(label || counter) output, MSB first."""
    raw = b"".join(hashlib.sha256(label + i.to_bytes(4, "big")).digest()
                   for i in range((n + 255) // 256))
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:n]


def main() -> None:
    alice = stream_bits(b"evaltool-cascade-alice", N)
    noise = stream_bits(b"evaltool-cascade-noise", N * 8).reshape(N, 8)
    # A bit flips where the 8-bit noise value is below 6 (rate 6/256 = 2.3 %).
    flips = (np.packbits(noise, axis=1)[:, 0] < 6).astype(np.uint8)
    bob = alice ^ flips
    res = cascade_reconcile(alice, bob, qber=0.02, algorithm="original", seed=SEED,
                            record_transcript=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    doc = {
        "provenance": {
            "generator": "test_vectors/protocol/cascade/generate_trace.py",
            "evaltool_commit": commit,
            "kind": "regression vector: evaltool's own output (no external Cascade KAT "
                    "exists); each parity is independently checkable",
        },
        "algorithm": "original", "qber_estimate": 0.02, "seed": SEED, "n": N,
        "alice_hex": np.packbits(alice).tobytes().hex(),
        "bob_hex": np.packbits(bob).tobytes().hex(),
        "initial_errors": res.initial_errors,
        "leaked_bits": res.leaked_bits, "channel_uses": res.channel_uses,
        "residual_errors": res.residual_errors,
        "transcript_columns": ["pass", "start", "end", "alice_parity"],
        "transcript": res.transcript.tolist(),
    }
    Path(__file__).with_name("trace_original_1000.json").write_text(json.dumps(doc) + "\n")


if __name__ == "__main__":
    main()
