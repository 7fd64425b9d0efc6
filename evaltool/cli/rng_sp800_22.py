"""``evaltool rng sp800-22``: the NIST SP 800-22 rev. 1a battery on a file of RNG output.

The file is split into m sequences of n bits and streamed group by group (bounded memory), the
15 tests (or those selected) run on every sequence, and the second-level analysis of §4.2 decides
each test. Exit status: 0 when every test passes, 1 when one fails, 3 when no test could decide.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from evaltool.engines.stats.sp800_22 import (
    TEST_NAMES,
    BatteryReport,
    Sp80022Params,
    analyse,
    resolve_tests,
    run_groups,
)
from evaltool.errors import ExitCode
from evaltool.io.bits import BitFile

_GROUP_BITS = 1 << 24  # bits per group of sequences handed to the engine (16 Mbit)
_PARALLEL_BITS = 1 << 25  # fewest bits worth worker processes by default (32 Mbit)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity mask (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def _parse_tests(text: str | None) -> tuple[str, ...]:
    if text is None:
        return TEST_NAMES
    try:
        return resolve_tests(t for t in text.split(",") if t.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tests") from None


def _fmt_p(value: float | None) -> str:
    return "    ----" if value is None else f"{value:8.6f}"


def render_table(report: BatteryReport, source: str, sha256: str | None) -> str:
    """A text report laid out like the reference suite's ``finalAnalysisReport.txt``."""
    lines = [
        "-" * 86,
        "RESULTS FOR THE UNIFORMITY OF P-VALUES AND THE PROPORTION OF PASSING SEQUENCES",
        "-" * 86,
        f"   file {source}" + (f"  (sha256 {sha256})" if sha256 else ""),
        f"   {report.sequences} sequences of {report.n} bits, alpha = {report.alpha}, "
        f"second level: {report.mode}",
        "-" * 86,
        " C1  C2  C3  C4  C5  C6  C7  C8  C9 C10  P-VALUE    PROPORTION  STATISTICAL TEST",
        "-" * 86,
    ]
    for name, summary in report.tests.items():
        for col in summary.columns:
            bins = " ".join(f"{h:3d}" for h in col.histogram)
            uflag = " *" if col.uniformity_ok is False else "  "
            if col.sample_size == 0:
                prop = "   ------   "
            else:
                pflag = " *" if col.proportion_ok is False else "  "
                prop = f"{col.passed_count:5d}/{col.sample_size:<5d}{pflag}"
            label = f"{name} {col.label}".rstrip()
            lines.append(f"{bins}  {_fmt_p(col.uniformity_pvalue)}{uflag} {prop}  {label}")
    lines.append("-" * 86)
    for name, summary in report.tests.items():
        verdict = {True: "pass", False: "FAIL", None: "not applicable"}[summary.passed]
        rng = summary.proportion_range
        extra = "" if rng is None else f" (proportion range {rng[0]:.4f} .. {rng[1]:.4f})"
        lines.append(f"{name:27s} {verdict}{extra}")
    for name, reason in report.skipped.items():
        lines.append(f"{name:27s} not run: {reason}")
    lines.append("-" * 86)
    lines.append("A '*' marks a failed uniformity (p < 0.0001) or proportion check.")
    return "\n".join(lines)


@click.command("sp800-22")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["binary", "ascii"]),
    default="binary",
    show_default=True,
    help="binary: 8 bits per byte, MSB first; ascii: characters '0'/'1' (whitespace ignored).",
)
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Bits per sequence.",
)
@click.option(
    "-m",
    "m",
    type=click.IntRange(min=1),
    default=None,
    help="Number of sequences [default: as many complete sequences as the file holds].",
)
@click.option("--tests", "tests_text", help=f"Comma-separated subset of: {', '.join(TEST_NAMES)}.")
@click.option(
    "--alpha",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.01,
    show_default=True,
    help="Significance level of the first-level tests.",
)
@click.option(
    "--variant",
    type=click.Choice(["reference", "document"]),
    default="reference",
    show_default=True,
    help="reference: reproduce NIST sts-2.1.2 (overlapping-template probabilities, random "
    "excursions cycle limit, integer second-level arithmetic); document: SP 800-22 rev. 1a as "
    "written (exact overlapping probabilities, no cycle limit, real-valued bounds).",
)
@click.option(
    "--block-frequency-m",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Block frequency block length M.",
)
@click.option(
    "--template-m",
    type=click.IntRange(2, 21),
    default=9,
    show_default=True,
    help="Non-overlapping template length.",
)
@click.option(
    "--overlapping-m",
    type=click.IntRange(2, 21),
    default=9,
    show_default=True,
    help="Overlapping template length.",
)
@click.option(
    "--apen-m",
    type=click.IntRange(1, 24),
    default=10,
    show_default=True,
    help="Approximate entropy block length.",
)
@click.option(
    "--serial-m",
    type=click.IntRange(2, 25),
    default=16,
    show_default=True,
    help="Serial test block length.",
)
@click.option(
    "--lc-m",
    type=click.IntRange(min=2),
    default=500,
    show_default=True,
    help="Linear complexity block length.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (groups of sequences run in parallel and merge; the p-values do not "
    "depend on it) [default: the CPU cores this process may use, for 32 Mbit or more; 1 below].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def sp800_22(
    ctx: click.Context,
    file: Path,
    fmt: str,
    n: int,
    m: int | None,
    tests_text: str | None,
    alpha: float,
    variant: str,
    block_frequency_m: int,
    template_m: int,
    overlapping_m: int,
    apen_m: int,
    serial_m: int,
    lc_m: int,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Run the NIST SP 800-22 rev. 1a battery on FILE split into sequences of N bits.

    Exit status: 0 when every test passes the second-level analysis, 1 when one fails, 3 when
    no test could decide.
    """
    tests = _parse_tests(tests_text)
    document = variant == "document"
    params = Sp80022Params(
        block_frequency_block_size=block_frequency_m,
        non_overlapping_template_length=template_m,
        overlapping_template_length=overlapping_m,
        overlapping_probabilities="exact" if document else "reference",
        approximate_entropy_block_length=apen_m,
        serial_block_length=serial_m,
        linear_complexity_block_size=lc_m,
        random_excursions_reference_cycle_limit=not document,
    )
    source = BitFile(file, format="ascii" if fmt == "ascii" else "binary")
    group = max(1, _GROUP_BITS // n)
    workers = jobs or usable_cores()
    if workers > 1:
        count = m if m is not None else source.count_bits() // n
        if jobs is None and count * n < _PARALLEL_BITS:
            # By default every usable core works, unless the input is too small to repay
            # starting the worker processes (each loads the compiled kernels, ~0.5 s of CPU).
            workers = 1
        else:  # enough groups to keep every worker busy
            group = max(1, min(group, -(-count // (2 * workers))))
    part = run_groups(
        source.sequences(n, m=m, group=group), tests=tests, params=params, workers=workers
    )
    report = analyse(part, alpha=alpha, mode="document" if document else "reference")
    if as_json:
        payload: dict[str, Any] = report.to_dict()
        click.echo(json.dumps(payload))
    else:
        click.echo(render_table(report, str(file), source.sha256))
    verdict = report.passed
    code = (
        ExitCode.PASS if verdict else ExitCode.FAIL if verdict is False else ExitCode.INCONCLUSIVE
    )
    ctx.exit(int(code))
