"""``evaltool report`` (re-render stored results) and ``evaltool verify`` (recompute and compare).

``report`` reads a results.json and writes every output from it without recomputing anything, the
pattern of ``oscap xccdf generate report`` (leakage-and-reporting note §B4). ``verify`` re-runs the
evaluation from the bundle with the recorded seed and profile and reports every difference: an
input whose hash changed, a results file edited after it was written (its digest, its canonical
form, its roll-ups) and any result the recomputation does not reproduce.

Exit codes of ``verify``: 0 the results are reproduced exactly; 4 an input differs from the one
recorded (hash mismatch or missing file); 5 the results file was edited or the recomputation gives
different results.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import click

from evaltool.checks.plan import build_plan
from evaltool.cli._common import find_profile, parse_formats
from evaltool.errors import EvaltoolError, ExitCode, UsageError
from evaltool.evaluate import AuditInputs, evaluate
from evaltool.io.bundle import load_bundle, manifest_path_of
from evaltool.io.profiles import load_evaluation_input, load_profile, load_security_target
from evaltool.model.results import EvaluationResult
from evaltool.report.canonical import (
    DIGEST_NAME,
    ResultsFileError,
    parse_results,
    read_results,
    results_json,
    sha256_hex,
)
from evaltool.report.outputs import write_outputs

_VOLATILE = {("provenance", "started_at"), ("provenance", "finished_at"),
             ("provenance", "command_line")}
"""Fields that legitimately differ between the original run and its recomputation."""
_MAX_DIFFS = 50
_SHOWN = 80


def _check_digest(results_path: Path, data: bytes) -> str | None:
    """A problem with the ``results.json.sha256`` file next to ``results_path``, if any."""
    side = results_path.with_name(DIGEST_NAME)
    if not side.is_file():
        return None
    try:
        recorded = side.read_text(encoding="ascii").split()[0].lower()
    except (OSError, UnicodeDecodeError, IndexError):
        return f"{side.name} is unreadable"
    if recorded != sha256_hex(data):
        return (f"{results_path.name} does not match its recorded digest in {side.name} "
                "(the file was edited after it was written)")
    return None


@click.command()
@click.argument("results_path", metavar="RESULTS.json", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output folder.")
@click.option("--format", "formats", default="html,pdf,junit,oscal,json", show_default=True,
              help="Comma-separated output formats.")
def report(results_path: Path, out_dir: Path, formats: str) -> None:
    """Re-render every output from RESULTS.json without recomputing anything."""
    wanted = parse_formats(formats)
    if out_dir.resolve() == results_path.resolve().parent:
        raise UsageError("--out must be another folder than the one holding RESULTS.json "
                         "(re-rendering replaces the outputs it finds in --out)")
    result, data = read_results(results_path)
    problem = _check_digest(results_path, data)
    if problem is not None:
        raise ResultsFileError(problem, path=results_path)
    for path in write_outputs(result, out_dir, wanted).values():
        click.echo(str(path))


def _safe_join(root: Path, rel: str) -> Path | None:
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        return None
    return root.joinpath(*parts)


def _file_sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _input_problems(stored: EvaluationResult, bundle_root: Path,
                    paths: dict[str, Path | None]) -> list[str]:
    """Compare every recorded input's SHA-256 with the file found now."""
    problems = []
    for f in stored.provenance.inputs:
        if f.role == "manifest" or f.role.startswith("evidence:"):
            target = _safe_join(bundle_root, f.path)
        else:
            target = paths.get(f.role)
        if target is None:
            problems.append(f"input {f.path} ({f.role}): not given, cannot check its hash "
                            f"{f.sha256[:16]}...")
            continue
        now = _file_sha256(target)
        if now is None:
            problems.append(f"input {f.path} ({f.role}): missing or unreadable at {target}")
        elif now != f.sha256:
            problems.append(f"input {f.path} ({f.role}): SHA-256 mismatch, recorded "
                            f"{f.sha256[:16]}..., now {now[:16]}...")
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


def diff(a: Any, b: Any, path: tuple[str | int, ...] = ()) -> Iterator[str]:
    """Every place where ``a`` (recorded) and ``b`` (recomputed) differ, as readable lines."""
    if tuple(str(p) for p in path[:2]) in _VOLATILE:
        return
    where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p)
                    for i, p in enumerate(path)) or "(top)"
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in b:
                yield f"{where}.{k}: recorded but not recomputed"
            elif k not in a:
                yield f"{where}.{k}: recomputed but not recorded"
            else:
                yield from diff(a[k], b[k], (*path, k))
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{where}: {len(a)} items recorded, {len(b)} recomputed"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from diff(x, y, (*path, i))
    elif a != b:
        yield f"{where}: recorded {_short(a)}, recomputed {_short(b)}"


@contextmanager
def _source_date(iso: str) -> Iterator[None]:
    """Run with ``SOURCE_DATE_EPOCH`` at the recorded start (waiver expiry is date-dependent)."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    with suppress(ValueError):
        os.environ["SOURCE_DATE_EPOCH"] = str(int(datetime.fromisoformat(iso).timestamp()))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def _recompute(stored: EvaluationResult, bundle: Path, profile: Path, st: Path | None,
               evaluation: Path | None) -> EvaluationResult:
    lp = load_profile(profile)
    lst = load_security_target(st) if st is not None else None
    lev = load_evaluation_input(evaluation) if evaluation is not None else None
    plan = build_plan(lp, lst)
    loaded = load_bundle(bundle)
    inputs = AuditInputs(
        profile_path=lp.doc.path, profile_sha256=lp.sha256,
        st_path=lst.doc.path if lst else None, st_sha256=lst.sha256 if lst else None,
        st_id=f"{lst.st.id} {lst.st.version}" if lst else None,
        evaluation_path=lev.doc.path if lev else None,
        evaluation_sha256=lev.sha256 if lev else None,
    )
    with _source_date(stored.provenance.started_at):
        return evaluate(plan, loaded, inputs=inputs, seed=stored.provenance.seed,
                        command_line=stored.provenance.command_line, evaluation=lev)


@click.command()
@click.argument("results_path", metavar="RESULTS.json", type=click.Path(path_type=Path))
@click.option("--bundle", "bundle", required=True, type=click.Path(path_type=Path),
              help="The evidence bundle the results were computed from.")
@click.option("--profile", "profile_name",
              help="Profile file or id (default: the profile id recorded in the results).")
@click.option("--st", "st_path", type=click.Path(path_type=Path),
              help="Security target used by the original audit, if any.")
@click.option("--evaluation", "evaluation_path", type=click.Path(path_type=Path),
              help="Evaluation input used by the original audit, if any.")
@click.pass_context
def verify(ctx: click.Context, results_path: Path, bundle: Path, profile_name: str | None,
           st_path: Path | None, evaluation_path: Path | None) -> None:
    """Recompute the evaluation recorded in RESULTS.json from BUNDLE and report differences.

    Exit 0: reproduced exactly. Exit 4: an input's hash differs from the recorded one.
    Exit 5: the results file was edited, or recomputation gives different results.
    """
    try:
        data = results_path.read_bytes()
    except OSError as exc:
        raise ResultsFileError(f"cannot read results ({exc.strerror})",
                               path=results_path) from None
    results_problems: list[str] = []
    problem = _check_digest(results_path, data)
    if problem:
        results_problems.append(problem)
    try:
        stored = parse_results(data, path=results_path)
    except ResultsFileError as exc:
        for line in [*results_problems, str(exc)]:
            click.echo(f"difference: {line}")
        click.echo("verify: FAILED (the results file is not a consistent evaltool record)")
        ctx.exit(ExitCode.REPORT)
    if results_json(stored) != data:
        results_problems.append(f"{results_path.name} is not in the canonical form evaltool "
                                "writes (the file was edited)")
    profile = find_profile(profile_name or stored.provenance.profile_id)
    bundle_root = manifest_path_of(bundle).parent
    input_problems = _input_problems(
        stored, bundle_root,
        {"profile": profile, "security-target": st_path, "evaluation": evaluation_path})
    diffs: list[str] = []
    recompute_error = None
    try:
        again = _recompute(stored, bundle, profile, st_path, evaluation_path)
    except EvaltoolError as exc:
        recompute_error = str(exc)
    else:
        diffs = list(diff(stored.model_dump(mode="json"), again.model_dump(mode="json")))
    for line in input_problems:
        click.echo(f"input changed: {line}")
    for line in results_problems:
        click.echo(f"difference: {line}")
    if recompute_error is not None:
        click.echo(f"difference: recomputation failed: {recompute_error}")
    for line in diffs[:_MAX_DIFFS]:
        click.echo(f"difference: {line}")
    if len(diffs) > _MAX_DIFFS:
        click.echo(f"difference: ... and {len(diffs) - _MAX_DIFFS} more")
    if input_problems:
        click.echo("verify: FAILED (inputs differ from those recorded)")
        ctx.exit(ExitCode.BAD_INPUT)
    if results_problems or diffs or recompute_error is not None:
        click.echo("verify: FAILED (results differ from the recomputation)")
        ctx.exit(ExitCode.REPORT)
    n = len(stored.checks())
    click.echo(f"verify: OK ({n} checks reproduced, {len(stored.provenance.inputs)} input hashes "
               f"match, overall verdict {stored.verdict.value})")
    ctx.exit(ExitCode.PASS)


__all__ = ["diff", "report", "verify"]
