"""``evaltool audit``: the main job: bundle + profile (+ ST) -> verdicts and reports."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from evaltool.cli._common import argv, debug, find_profile, parse_formats, quiet, show_phases
from evaltool.errors import EvaltoolError, ExitCode, UsageError
from evaltool.evaluate import AuditSources, PhaseTimes, now_utc, prepare_audit, run_audit
from evaltool.io.bundle import manifest_path_of
from evaltool.model.verdict import Verdict
from evaltool.report.outputs import (
    OutputFormat,
    hold_folder,
    refuse_to_replace_signed,
    remove_outputs,
    write_outputs,
)

_EXIT = {Verdict.PASS: ExitCode.PASS, Verdict.FAIL: ExitCode.FAIL,
         Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
         Verdict.NOT_APPLICABLE: ExitCode.INCONCLUSIVE}


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--profile", "profile_name", required=True,
              help="Profile file, or a profile id found in ./profiles.")
@click.option("--st", "st_path", type=click.Path(path_type=Path),
              help="Security target (fills the profile's assignments and selections).")
@click.option("--evaluation", "evaluation_path", type=click.Path(path_type=Path),
              help="Evaluation input: evaluator attestations and waivers.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output folder.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seed of every randomised procedure.")
@click.option("--format", "formats", default="html,pdf,json,junit,oscal", show_default=True,
              help="Comma-separated output formats.")
@click.option("--overwrite-signed", is_flag=True,
              help="Replace outputs in --out even when they are signed (the signatures go).")
@click.pass_context
def audit(ctx: click.Context, bundle: Path, profile_name: str, st_path: Path | None,
          evaluation_path: Path | None, out_dir: Path, seed: int, formats: str,
          overwrite_signed: bool) -> None:
    """Audit an evidence BUNDLE against a protection profile and write the reports.

    The run holds --out from start to end (a second run into it is refused, exit 75) and
    switches the new outputs in as one set (docs/outputs.md).
    """
    wanted = parse_formats(formats)
    bundle_root = manifest_path_of(bundle).parent.resolve()
    out_real = out_dir.resolve()
    if out_real == bundle_root or bundle_root in out_real.parents:
        raise UsageError("the output folder must not be inside the bundle (inputs are never "
                         "modified)")
    with hold_folder(out_dir):
        if not overwrite_signed:
            refuse_to_replace_signed(out_dir)
        _audit(ctx, bundle, profile_name, st_path, evaluation_path, out_dir, seed, wanted)


def _audit(ctx: click.Context, bundle: Path, profile_name: str, st_path: Path | None,
           evaluation_path: Path | None, out_dir: Path, seed: int,
           wanted: list[OutputFormat]) -> None:
    times = PhaseTimes()
    try:
        prepared = prepare_audit(
            AuditSources(bundle=bundle, profile=find_profile(profile_name), st=st_path,
                         evaluation=evaluation_path), times=times)
    except EvaltoolError:
        # A failed run must not leave an earlier report that could be taken for its result.
        remove_outputs(out_dir)
        raise
    command = ("evaltool", *argv(ctx))
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True, disable=quiet(ctx)) as bar:
        task = bar.add_task("auditing", total=None)
        activity_times = PhaseTimes()
        last = [time.perf_counter()]

        def progress(done: int, total: int, item: str) -> None:
            now = time.perf_counter()
            activity_times.phases.append((item, now - last[0]))
            last[0] = now
            bar.update(task, completed=done, total=total, description=f"auditing {item}")

        try:
            with times.phase("run checks"):
                result = run_audit(prepared, seed=seed, command_line=command,
                                   started_at=now_utc(), progress=progress)
        except EvaltoolError:
            remove_outputs(out_dir)
            raise
    with times.phase("write outputs"):
        written = write_outputs(result, out_dir, wanted)
    if debug(ctx):
        show_phases(times, slowest=activity_times)
    counts = result.counts
    if not quiet(ctx):
        summary = ", ".join(f"{counts[v.value]} {v.value}" for v in Verdict)
        click.echo(f"verdict: {result.verdict.value} ({summary})", err=True)
    for path in written.values():
        click.echo(str(path))
    ctx.exit(_EXIT[result.verdict])
