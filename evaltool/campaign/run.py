"""Running a planned campaign: checkpoints, resumption, faults and the summary.

Each finished unit gets a checkpoint, ``DIR/checkpoints/LABEL.json`` (written atomically), with the
SHA-256 of its inputs, the tool version and the digest of every output. ``resume`` reuses a unit
whose checkpoint still matches all three and recomputes the rest; a unit about to be recomputed
loses its checkpoint first, so an interrupted run never leaves a checkpoint for outputs it was
replacing. A unit that raises makes its bundle inconclusive with the error named; the campaign
goes on. The summary files are removed when a run starts and written (atomically, campaign.json
last) only when every unit has an outcome, so a killed run leaves no partial summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from evaltool import __version__
from evaltool.atomic import write_atomic
from evaltool.campaign.executor import Executor
from evaltool.campaign.plan import BUNDLES_DIR, CampaignPlan, PlannedUnit
from evaltool.campaign.shards import merge_tree, run_shard_task
from evaltool.campaign.unit import UnitOutcome, file_sha256, run_unit
from evaltool.engines.stats.sp800_22.battery import BatteryPvalues, merge_battery
from evaltool.evaluate import Clock, now_utc
from evaltool.model.campaign import BundleOutcome, CampaignSummary, Checkpoint
from evaltool.model.verdict import Verdict, combine_overall
from evaltool.report.campaign import (
    SUMMARY_NAMES,
    render_summary_html,
    render_summary_json,
    render_summary_junit,
)
from evaltool.report.outputs import OUTPUT_NAMES, OutputFormat

CHECKPOINTS_DIR = "checkpoints"

CampaignProgress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, label)`` after each unit."""


def checkpoint_path(out_dir: Path, label: str) -> Path:
    """Where the checkpoint of unit ``label`` is kept."""
    return out_dir / CHECKPOINTS_DIR / f"{label}.json"


def _reusable(unit: PlannedUnit, out_dir: Path) -> Checkpoint | None:
    """The unit's checkpoint if it still describes its inputs and its outputs, else None."""
    path = checkpoint_path(out_dir, unit.label)
    try:
        cp = Checkpoint.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
    if (cp.label != unit.label or cp.tool_version != __version__
            or cp.inputs_sha256 != unit.inputs_sha256):
        return None
    expected = {OUTPUT_NAMES[OutputFormat(f)] for f in unit.spec.formats}
    if set(cp.outputs) != expected:
        return None
    for name, digest in cp.outputs.items():
        try:
            if file_sha256(unit.spec.out_dir / name) != digest:
                return None
        except OSError:
            return None
    return cp


def _outcome(unit: PlannedUnit, out_dir: Path, *, verdict: Verdict, counts: dict[str, int],
             error: str | None = None, reused: bool = False) -> BundleOutcome:
    def written(fmt: OutputFormat) -> str | None:
        if error is not None or fmt.value not in unit.spec.formats:
            return None
        return (unit.spec.out_dir / OUTPUT_NAMES[fmt]).relative_to(out_dir).as_posix()

    return BundleOutcome(label=unit.label, bundle=str(unit.spec.bundle), verdict=verdict,
                         counts=counts, error=error, reused=reused,
                         results=written(OutputFormat.JSON), report=written(OutputFormat.HTML),
                         shards=unit.shards)


def _describe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _run_shards(units: list[PlannedUnit], executor: Executor,
                outcomes: dict[str, BundleOutcome], out: Path,
                progress: CampaignProgress | None, total: int) -> list[PlannedUnit]:
    """Run the shards of every unit's sharded computations, merge each in its fixed tree and
    return the units with the merged results attached; a unit with a failed shard gets an
    inconclusive outcome and is not run."""
    tasks = [(u, sb, t) for u in units for sb in u.sharded for t in sb.tasks]
    if not tasks:
        return units
    parts: dict[tuple[str, str], dict[int, BatteryPvalues]] = {}
    failed: dict[str, str] = {}
    for done, (index, result) in enumerate(
            executor.run(run_shard_task, [t for _, _, t in tasks]), 1):
        unit, sb, task = tasks[index]
        if progress is not None:
            progress(len(outcomes), total, f"{unit.label} (shard {done} of {len(tasks)})")
        if isinstance(result, Exception):
            failed.setdefault(unit.label, f"shard {task.shard.index} of slot {sb.slot!r}: "
                                          f"{_describe(result)}")
        else:
            parts.setdefault((unit.label, sb.key), {})[task.shard.index] = result
    ready = []
    for unit in units:
        if unit.label in failed:
            outcomes[unit.label] = _outcome(unit, out, verdict=Verdict.INCONCLUSIVE, counts={},
                                            error=failed[unit.label])
            continue
        merged: dict[str, object] = {}
        for sb in unit.sharded:
            got = parts[(unit.label, sb.key)]
            merged[sb.key] = merge_tree([got[t.shard.index] for t in sb.tasks], merge_battery)
        ready.append(replace(unit, spec=replace(unit.spec, precomputed=merged)) if merged
                     else unit)
    return ready


def run_campaign(plan: CampaignPlan, executor: Executor, *, resume: bool = False,
                 progress: CampaignProgress | None = None, clock: Clock = now_utc,
                 ) -> CampaignSummary:
    """Run every unit of ``plan`` not reusable from a checkpoint and write the summary."""
    out = plan.out_dir
    started = clock()
    out.mkdir(parents=True, exist_ok=True)
    for name in SUMMARY_NAMES.values():
        (out / name).unlink(missing_ok=True)
    outcomes: dict[str, BundleOutcome] = {}
    todo: list[PlannedUnit] = []
    for unit in plan.units:
        cp = _reusable(unit, out) if resume else None
        if cp is not None:
            outcomes[unit.label] = _outcome(unit, out, verdict=cp.verdict, counts=cp.counts,
                                            reused=True)
        else:
            checkpoint_path(out, unit.label).unlink(missing_ok=True)
            todo.append(unit)
    total = len(plan.units)
    if progress is not None:
        progress(len(outcomes), total, "")
    todo = _run_shards(todo, executor, outcomes, out, progress, total)
    for index, result in executor.run(run_unit, [u.spec for u in todo]):
        unit = todo[index]
        if isinstance(result, UnitOutcome) and result.inputs_sha256 != unit.unit_inputs_sha256:
            outcomes[unit.label] = _outcome(
                unit, out, verdict=Verdict.INCONCLUSIVE, counts={},
                error="the unit read other inputs than were planned (a file changed during the "
                      "campaign, or the worker sees other files at the same paths)")
        elif isinstance(result, UnitOutcome):
            cp = Checkpoint(label=unit.label, tool_version=__version__,
                            inputs_sha256=unit.inputs_sha256, verdict=result.verdict,
                            counts=result.counts, outputs=result.outputs)
            write_atomic(checkpoint_path(out, unit.label),
                         cp.model_dump_json(indent=2).encode() + b"\n")
            outcomes[unit.label] = _outcome(unit, out, verdict=result.verdict,
                                            counts=result.counts)
        else:
            outcomes[unit.label] = _outcome(unit, out, verdict=Verdict.INCONCLUSIVE, counts={},
                                            error=_describe(result))
        if progress is not None:
            progress(len(outcomes), total, unit.label)
    bundles = tuple(outcomes[u.label] for u in plan.units)
    summary = CampaignSummary(
        title=plan.title, tool_version=__version__, campaign_sha256=plan.sha256,
        executor=executor.description, started_at=started.isoformat(),
        finished_at=clock().isoformat(),
        verdict=combine_overall(b.verdict for b in bundles), bundles=bundles)
    write_atomic(out / SUMMARY_NAMES["html"], render_summary_html(summary))
    write_atomic(out / SUMMARY_NAMES["junit"], render_summary_junit(summary))
    write_atomic(out / SUMMARY_NAMES["json"], render_summary_json(summary))
    return summary


__all__ = ["BUNDLES_DIR", "CHECKPOINTS_DIR", "checkpoint_path", "run_campaign"]
