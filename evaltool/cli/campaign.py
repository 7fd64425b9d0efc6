"""``evaltool campaign``: audit every bundle of a campaign file, serially or on Dask."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from evaltool.cli._common import quiet as root_quiet
from evaltool.errors import ExitCode

_EXIT = {"pass": ExitCode.PASS, "fail": ExitCode.FAIL, "inconclusive": ExitCode.INCONCLUSIVE,
         "not-applicable": ExitCode.INCONCLUSIVE}


@click.command()
@click.argument("campaign_file", metavar="CAMPAIGN", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output folder: bundles/LABEL/ per bundle, the summary, the checkpoints.")
@click.option("--scheduler", default=None, metavar="serial|local[:N]|tcp://HOST:PORT",
              help="Where units run: in this process (default), on a local Dask cluster of N "
                   "workers, or on a running Dask scheduler.")
@click.option("--resume", is_flag=True,
              help="Reuse units whose checkpoint still matches their inputs; run the rest.")
@click.option("--quiet", "quiet_flag", is_flag=True, help="No progress display (for CI).")
@click.option("--overwrite-signed", is_flag=True,
              help="Replace bundle outputs even when they are signed (the signatures go).")
@click.pass_context
def campaign(ctx: click.Context, campaign_file: Path, out_dir: Path, scheduler: str | None,
             resume: bool, quiet_flag: bool, overwrite_signed: bool) -> None:
    """Audit every bundle of the CAMPAIGN file and write a result set per bundle and a summary."""
    from evaltool.campaign.executor import executor_for
    from evaltool.campaign.plan import plan_campaign
    from evaltool.campaign.run import run_campaign
    from evaltool.campaign.unit import source_date_epoch

    plan = plan_campaign(campaign_file, out_dir,
                         epoch=source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH")),
                         overwrite_signed=overwrite_signed)
    executor = executor_for(scheduler)
    silent = quiet_flag or root_quiet(ctx)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=Console(stderr=True), transient=True, disable=silent) as bar:
            task = bar.add_task(f"campaign ({executor.description})", total=len(plan.units))

            def progress(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total,
                           description=f"campaign ({executor.description}) {label}".rstrip())

            summary = run_campaign(plan, executor, resume=resume, progress=progress)
    finally:
        executor.close()
    if not silent:
        for b in summary.bundles:
            note = f" ({b.error})" if b.error else (" (reused)" if b.reused else "")
            click.echo(f"{b.label}: {b.verdict.value}{note}", err=True)
        rollup = ", ".join(f"{n} {v}" for v, n in summary.counts.items())
        click.echo(f"campaign verdict: {summary.verdict.value} ({rollup} bundles)", err=True)
    click.echo(str(plan.out_dir / "campaign.json"))
    ctx.exit(_EXIT[summary.verdict.value])
