"""The simulated device's test-mode capture: a short run of blocks in the configuration where key
material is exported, as a lab captures it to replay the post-processing (ISO/IEC 23837-2 test of
the classical post-processing; ``docs/transcript-format.md``).

The capture is two evidence files: the block records the module reported for those blocks
(``test-blocks.csv``, kind ``block-records``) and the transcript of every step at both ends
(``transcript.parquet``, kind ``post-processing-transcript``). Both come from running evaltool's
reference post-processing (:func:`evaltool.simulate._transcript.reference_post_processing`) on
simulated raw keys, so an honest capture replays exactly; a scenario with a post-processing fault
applies one of :data:`evaltool.simulate._transcript.FAULTS` to the run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from evaltool.io.transcript_writer import write_transcript
from evaltool.simulate._transcript import FAULTS, reference_post_processing

TEST_MODE_ROUNDS = 1 << 15
"""Rounds per test-mode block (about 8,000 sifted bits at the detection rate below: the bundle stays
small; replay at 10^8 bits is measured in ``benchmarks/bench_replay.py``)."""
TEST_MODE_BLOCKS = 3
TEST_MODE_QBER = 0.015
"""Error rate of the test-mode link (the honest link's QBER is about 1.3 %)."""


def test_mode_files(fault: str | None, rng: np.random.Generator) -> dict[str, bytes]:
    """``test-blocks.csv`` and ``transcript.parquet`` of a test-mode capture, with ``fault`` (a key
    of :data:`FAULTS`) applied when given; the same generator state gives the same bytes."""
    run = reference_post_processing(rng, TEST_MODE_ROUNDS, TEST_MODE_QBER,
                                    blocks=TEST_MODE_BLOCKS, p_detect=0.5)
    if fault is not None:
        run = FAULTS[fault](run)
    records = pd.DataFrame(run.records_columns())
    blocks_csv = records.to_csv(index=False, lineterminator="\n").encode()
    with tempfile.TemporaryDirectory(prefix="evaltool-transcript-") as tmp:
        path = Path(tmp) / "transcript.parquet"
        write_transcript(path, run.blocks, run.auth_pool)
        transcript = path.read_bytes()
    return {"test-blocks.csv": blocks_csv, "transcript.parquet": transcript}
