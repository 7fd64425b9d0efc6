"""``evaltool audit``: the main job: bundle + profile (+ ST) -> verdicts and reports."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from evaltool.checks.plan import build_plan
from evaltool.cli._common import argv, find_profile, parse_formats, quiet
from evaltool.errors import EvaltoolError, ExitCode, UsageError
from evaltool.evaluate import AuditInputs, evaluate
from evaltool.io.bundle import load_bundle, manifest_path_of
from evaltool.io.profiles import load_evaluation_input, load_profile, load_security_target
from evaltool.model.verdict import Verdict
from evaltool.profile.evaluation import check_evaluation
from evaltool.report.outputs import remove_outputs, write_outputs

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
@click.pass_context
def audit(ctx: click.Context, bundle: Path, profile_name: str, st_path: Path | None,
          evaluation_path: Path | None, out_dir: Path, seed: int, formats: str) -> None:
    """Audit an evidence BUNDLE against a protection profile and write the reports."""
    wanted = parse_formats(formats)
    bundle_root = manifest_path_of(bundle).parent.resolve()
    out_real = out_dir.resolve()
    if out_real == bundle_root or bundle_root in out_real.parents:
        raise UsageError("the output folder must not be inside the bundle (inputs are never "
                         "modified)")
    try:
        lp = load_profile(find_profile(profile_name))
        lst = load_security_target(st_path) if st_path is not None else None
        lev = load_evaluation_input(evaluation_path) if evaluation_path is not None else None
        plan = build_plan(lp, lst)
        if lev is not None:
            check_evaluation(plan.profile, lev)
        loaded = load_bundle(bundle)
    except EvaltoolError:
        # A failed run must not leave an earlier report that could be taken for its result.
        if out_dir.is_dir():
            remove_outputs(out_dir)
        raise
    inputs = AuditInputs(
        profile_path=lp.doc.path, profile_sha256=lp.sha256,
        st_path=lst.doc.path if lst else None, st_sha256=lst.sha256 if lst else None,
        st_id=f"{lst.st.id} {lst.st.version}" if lst else None,
        evaluation_path=lev.doc.path if lev else None,
        evaluation_sha256=lev.sha256 if lev else None,
    )
    command = ("evaltool", *argv(ctx))
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True, disable=quiet(ctx)) as bar:
        task = bar.add_task("auditing", total=None)

        def progress(done: int, total: int, item: str) -> None:
            bar.update(task, completed=done, total=total, description=f"auditing {item}")

        try:
            result = evaluate(plan, loaded, inputs=inputs, seed=seed, command_line=command,
                              evaluation=lev, progress=progress)
        except EvaltoolError:
            if out_dir.is_dir():
                remove_outputs(out_dir)
            raise
    written = write_outputs(result, out_dir, wanted)
    counts = result.counts
    if not quiet(ctx):
        summary = ", ".join(f"{counts[v.value]} {v.value}" for v in Verdict)
        click.echo(f"verdict: {result.verdict.value} ({summary})", err=True)
    for path in written.values():
        click.echo(str(path))
    ctx.exit(_EXIT[result.verdict])
