"""``evaltool rng ais31``: BSI AIS 20/31 test procedure A or B on a file of RNG output.

A thin caller of :mod:`evaltool.engines.stats.ais31`: the procedure reads the file's bits from the
start (procedure A exactly 8,285,728 bits, twice that when the repetition is due; procedure B at
least 6,968,480), applies the one-repetition rule and reports every basic test with its bounds.
The methods and the readings chosen are in ``docs/methods/ais31.md``.

With ``--bits-per-sample B`` FILE holds one sample per byte in its B least significant bits, as
``evaltool rng sp800-90b --bits-per-sample`` reads it (the NIST SP800-90B_EntropyAssessment
convention); the procedures test the bit string of the samples' B bits, most significant first,
sample after sample. Without it every byte gives 8 bits, most significant first (the same string
as ``--bits-per-sample 8``).

Exit status: 0 the procedure passed, 1 it failed, 3 inconclusive (too few bits: the message
names how many are needed), 4 the file cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
import numpy as np

from evaltool.errors import EvidenceError, ExitCode, InsufficientDataError
from evaltool.io.bits import BitFile

MAX_BITS = 1 << 27
"""Bits read from the start of the file at most (16 MiB): several times what two attempts of
either procedure need, so a larger file is not read in full."""


def _read_bits(source: BitFile) -> np.ndarray:
    """The first ``min(file, MAX_BITS)`` bits of ``source`` as a 1-D 0/1 array."""
    n = min(source.count_bits(), MAX_BITS)
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    (block,) = source.sequences(n, m=1, group=1)
    return np.asarray(block[0], dtype=np.uint8)


def _read_sample_bits(source: BitFile, bits_per_sample: int) -> np.ndarray:
    """The bit string of the samples of ``source``, one per byte in its ``bits_per_sample``
    least significant bits: each sample's bits most significant first, at most ``MAX_BITS``.

    A byte with a bit set above the sample width is an :class:`EvidenceError` naming its offset
    (as ``rng sp800-90b`` refuses it)."""
    samples = min(source.count_bits() // 8, -(-MAX_BITS // bits_per_sample))
    if samples == 0:
        return np.zeros(0, dtype=np.uint8)
    (block,) = source.sequences(8 * samples, m=1, group=1)
    per_byte = np.asarray(block[0], dtype=np.uint8).reshape(samples, 8)
    high = np.flatnonzero(per_byte[:, : 8 - bits_per_sample].any(axis=1))
    if high.size:
        first = int(high[0])
        value = int(np.packbits(per_byte[first])[0])
        raise EvidenceError(
            f"sample value {value} does not fit in {bits_per_sample} bits "
            f"({high.size} such bytes)", path=source.path, location=f"byte {first}")
    return np.ascontiguousarray(per_byte[:, 8 - bits_per_sample :]).reshape(-1)[:MAX_BITS]


@click.command("ais31")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--procedure", type=click.Choice(["A", "B"], case_sensitive=False), required=True,
              help="A: T0-T5 on internal random numbers; B: T6-T8 on raw random numbers.")
@click.option("--format", "fmt", type=click.Choice(["binary", "ascii"]), default="binary",
              show_default=True,
              help="binary: 8 bits per byte, MSB first; ascii: characters '0'/'1' (whitespace "
                   "ignored).")
@click.option("--bits-per-sample", "-b", "bits_per_sample", type=click.IntRange(1, 8),
              default=None,
              help="FILE holds one sample per byte in its B low bits (1-8); the procedures test "
                   "each sample's B bits, most significant first. Binary format only.")
@click.option("--no-repeat", is_flag=True,
              help="Report a single failed basic test as a failure instead of repeating the "
                   "procedure on the next bits.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as one JSON object (every instance of every basic test).")
@click.pass_context
def ais31(ctx: click.Context, file: Path, procedure: str, fmt: str,
          bits_per_sample: int | None, no_repeat: bool, as_json: bool) -> None:
    """Run BSI AIS 20/31 test procedure A or B on FILE.

    Exit status: 0 pass, 1 fail, 3 inconclusive (too few bits), 4 unreadable file.
    """
    from evaltool.engines.stats.ais31 import procedure_a, procedure_b

    which: Literal["A", "B"] = "A" if procedure.upper() == "A" else "B"
    run = procedure_a if which == "A" else procedure_b
    if bits_per_sample is not None and fmt == "ascii":
        raise click.UsageError("--bits-per-sample reads one sample per byte: use it with "
                               "--format binary")
    if bits_per_sample is None:
        bits = _read_bits(BitFile(file, format="ascii" if fmt == "ascii" else "binary"))
    else:
        bits = _read_sample_bits(BitFile(file, format="binary"), bits_per_sample)
    try:
        result = run(bits, repeat=not no_repeat)
    except InsufficientDataError as exc:
        if as_json:
            click.echo(json.dumps({"procedure": which, "outcome": "inconclusive",
                                   "reason": str(exc), "bits_given": int(bits.size),
                                   "bits_needed": getattr(exc, "needed", None)}))
        else:
            click.echo(f"procedure {which}: inconclusive: {exc}")
        ctx.exit(int(ExitCode.INCONCLUSIVE))
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        click.echo(f"AIS 20/31 test procedure {which} on {file.name}: {result.outcome} "
                   f"({result.reason})")
        for attempt in result.attempts:
            click.echo(f"attempt {attempt.index}: bits {attempt.start}..{attempt.stop - 1}, "
                       f"{attempt.basic_tests} basic tests, {attempt.failures} failed")
            for t in attempt.tests:
                bounds = "; ".join(b.describe(label) for b, label in zip(t.bounds, t.labels,
                                                                          strict=True))
                click.echo(f"  {t.test} {t.name}: {t.count} instance(s), {t.failures} failed; "
                           f"pass when {bounds}")
    code = {"pass": ExitCode.PASS, "fail": ExitCode.FAIL}.get(result.outcome,
                                                              ExitCode.INCONCLUSIVE)
    ctx.exit(int(code))
