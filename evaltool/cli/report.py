"""``evaltool report`` (re-render stored results) and ``evaltool verify`` (recompute and compare).

``report`` reads a results.json and writes every output from it without recomputing anything, the
pattern of OpenSCAP's ``oscap xccdf generate report``. ``verify`` first compares the inputs
recorded in the results (role, file name, SHA-256) with those given, then re-runs the evaluation
through the same assembly as ``audit`` (:func:`evaltool.evaluate.prepare_audit`) at the recorded
seed and start time, and reports every difference: a results file edited after it was written
(its digest, its canonical form, its roll-ups) and any result the recomputation does not reproduce.

Exit codes of ``verify``: 0 the results are reproduced exactly; 4 an input is missing, not
recorded, invalid or differs from the one recorded (nothing is recomputed then); 5 the results
file was edited or the recomputation gives different results.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, suppress
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import click

from evaltool.cli._common import find_profile, parse_formats, profile_dirs
from evaltool.errors import (
    EvaltoolError,
    EvidenceError,
    ExitCode,
    RecordedInputError,
    ReportError,
    UsageError,
)
from evaltool.evaluate import AuditSources, prepare_audit, run_audit
from evaltool.io.bundle import manifest_path_of
from evaltool.io.files import sha256_file
from evaltool.model.results import EvaluationResult
from evaltool.report.canonical import (
    DIGEST_NAME,
    ResultsFileError,
    parse_results,
    read_results,
    results_json,
    sha256_hex,
)
from evaltool.report.outputs import (
    folder_state,
    hold_folder,
    refuse_to_replace_signed,
    write_outputs,
)
from evaltool.report.resultset import CONTROL

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
@click.option("--overwrite-signed", is_flag=True,
              help="Replace outputs in --out even when they are signed (the signatures go).")
def report(results_path: Path, out_dir: Path, formats: str, overwrite_signed: bool) -> None:
    """Re-render every output from RESULTS.json without recomputing anything."""
    wanted = parse_formats(formats)
    if out_dir.resolve() == results_path.resolve().parent:
        raise UsageError("--out must be another folder than the one holding RESULTS.json "
                         "(re-rendering replaces the outputs it finds in --out)")
    result, data = read_results(results_path)
    problem = _check_digest(results_path, data)
    if problem is not None:
        raise ResultsFileError(problem, path=results_path)
    with hold_folder(out_dir):
        if not overwrite_signed:
            refuse_to_replace_signed(out_dir)
        written = write_outputs(result, out_dir, wanted)
    for path in written.values():
        click.echo(str(path))


def _safe_join(root: Path, rel: str) -> Path | None:
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        return None
    return root.joinpath(*parts)


def _file_sha256(path: Path) -> str | None:
    """SHA-256 of ``path``, or None when it cannot be read."""
    try:
        return sha256_file(path)[0]
    except EvidenceError:
        return None


_OPTION = {"profile": "--profile", "security-target": "--st", "evaluation": "--evaluation"}
_ROLE_NAME = {"profile": "profile", "security-target": "security target",
              "evaluation": "evaluation input"}


def _recorded_profile_argument(command_line: tuple[str, ...]) -> str | None:
    """The ``--profile`` value of the recorded ``evaltool audit`` command line, if any."""
    for i, arg in enumerate(command_line):
        if arg == "--profile" and i + 1 < len(command_line):
            return command_line[i + 1]
        if arg.startswith("--profile="):
            return arg.split("=", 1)[1]
    return None


def _profile_candidates(stored: EvaluationResult, results_path: Path) -> list[Path]:
    """Where the audit may have found its profile, most likely first.

    The ``--profile`` argument of the recorded command line (a path, or an id) is tried as the
    audit resolved it (from the working folder, then the profile folders) and from each folder
    above the results file (an audit's ``--out`` folder usually lies below the folder it ran
    in); then the recorded profile id the same ways.
    """
    argument = _recorded_profile_argument(stored.provenance.command_line)
    folder = results_path.resolve().parent
    ancestors = [folder, *folder.parents]
    candidates: list[Path] = []
    for name in dict.fromkeys(n for n in (argument, stored.provenance.profile_id) if n):
        with suppress(EvaltoolError):
            candidates.append(find_profile(name))
        relative = Path(name)
        if relative.suffix in (".yaml", ".yml"):
            if not relative.is_absolute():
                candidates.extend(a / relative for a in ancestors)
        else:
            candidates.extend(a / "profiles" / f"{name}{suffix}" for a in ancestors
                              for suffix in (".yaml", ".yml"))
    return list(dict.fromkeys(candidates))


def _locate_profile(stored: EvaluationResult, results_path: Path) -> Path | None:
    """The profile the audit used, when ``--profile`` is not given.

    The first candidate whose SHA-256 equals the recorded one; else the first that exists (its
    changed hash is then reported); else none.
    """
    existing = [p for p in _profile_candidates(stored, results_path) if p.is_file()]
    for path in existing:
        if _file_sha256(path) == stored.provenance.profile_sha256:
            return path
    return existing[0] if existing else None


def _unmatched_inputs(stored: EvaluationResult, given: dict[str, Path | None],
                      searched: dict[str, str]) -> list[str]:
    """Recorded profile, ST or evaluation inputs not given, and given ones not recorded.

    Each names the role, the file name and the SHA-256 the audit recorded, and the option that
    passes it.
    """
    problems = []
    recorded = {f.role: f for f in stored.provenance.inputs if f.role in _OPTION}
    for role, f in recorded.items():
        if given.get(role) is None:
            where = f" (searched {searched[role]})" if role in searched else ""
            problems.append(f"the audit used {_ROLE_NAME[role]} {f.path} (SHA-256 {f.sha256}), "
                            f"not given{where}: pass it with {_OPTION[role]}")
    for role, path in given.items():
        if path is not None and role not in recorded:
            problems.append(f"{_OPTION[role]} {path.name} was given, but the audit used no "
                            f"{_ROLE_NAME[role]}")
    return problems


def _input_problems(stored: EvaluationResult, bundle_root: Path,
                    given: dict[str, Path | None], hashed: dict[Path, str]) -> list[str]:
    """Every recorded input whose file is missing or whose SHA-256 differs from the record;
    the digests of the bundle's files are kept in ``hashed`` (by resolved path) so the
    recomputation does not read them again."""
    problems = []
    for f in stored.provenance.inputs:
        in_bundle = f.role == "manifest" or f.role.startswith("evidence:")
        if in_bundle:
            target = _safe_join(bundle_root, f.path)
        else:
            target = given.get(f.role)
        if target is None:
            problems.append(f"input {f.path} ({f.role}): not a file inside the bundle")
            continue
        now = _file_sha256(target)
        if now is not None and in_bundle:
            hashed[target.resolve()] = now
        if now is None:
            problems.append(f"input {f.path} ({f.role}): missing or unreadable at {target}")
        elif now != f.sha256:
            other = f" in {target}" if target.name != PurePosixPath(f.path).name else ""
            problems.append(f"input {f.path} ({f.role}): SHA-256 mismatch, recorded "
                            f"{f.sha256[:16]}..., now {now[:16]}...{other}")
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


def _signature_lines(out_dir: Path, trust: list[Path], crls: list[Path]
                     ) -> list[tuple[str, bool]]:
    """One line per signature of the result set in ``out_dir`` and whether it verifies; without
    trust anchors, a note that the signatures found were not checked."""
    from evaltool.report.outputs import signed_outputs

    if not trust:
        found = signed_outputs(out_dir)
        if not found:
            return []
        names = ", ".join(p.name for p in found)
        return [(f"signatures: {names} signed, not checked (pass --trust CA.pem)", True)]
    from evaltool.signing.verify import verify_result_set

    checked = verify_result_set(out_dir, trust, crls)
    lines = []
    for c in checked.checks:
        when = f", timestamp {c.timestamp}" if c.timestamp else (
            f", signed {c.signed_at} (signer's clock)" if c.signed_at else "")
        verdict = "OK" if c.ok else f"FAILED ({c.reason})"
        who = f" as {c.role}" if c.role else (
            "" if "document timestamp" in c.file else " as no role")
        lines.append((f"signature: {c.file} by {c.signer!r}{who}{when}: {verdict}", c.ok))
    lines.extend((f"signature: {p}", False) for p in checked.problems)
    return lines


def _recompute(stored: EvaluationResult, sources: AuditSources) -> EvaluationResult:
    """The evaluation of ``sources`` at the recorded seed and start time, as ``audit`` runs it.

    An invalid input (for example an evaluation input whose attestations name no manual
    activity) raises its error, exit 4, exactly as in ``audit``.
    """
    prepared = prepare_audit(sources)
    try:
        started = datetime.fromisoformat(stored.provenance.started_at)
    except ValueError:
        started = None
    return run_audit(prepared, seed=stored.provenance.seed,
                     command_line=stored.provenance.command_line, started_at=started)


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
@click.option("--trust", "trust", multiple=True, type=click.Path(path_type=Path),
              help="Trust anchor certificates (PEM) for the signatures beside RESULTS.json; "
                   "repeatable.")
@click.option("--crl", "crls", multiple=True, type=click.Path(path_type=Path),
              help="Certificate revocation list (DER or PEM) to check the signers against; "
                   "repeatable.")
@click.pass_context
def verify(ctx: click.Context, results_path: Path, bundle: Path, profile_name: str | None,
           st_path: Path | None, evaluation_path: Path | None, trust: tuple[Path, ...],
           crls: tuple[Path, ...]) -> None:
    """Recompute the evaluation recorded in RESULTS.json from BUNDLE and report differences.

    With --trust, every signature beside RESULTS.json (report.pdf, results.json.p7s) is checked
    too. The outputs beside RESULTS.json are checked against their result set's manifest, after
    finishing a switch a killed run left (docs/outputs.md).
    Exit 0: reproduced exactly (and every signature verifies). Exit 4: an input recorded in
    RESULTS.json is not given (or one given was not recorded), is invalid, or its hash differs
    from the recorded one; or a trust anchor file is unreadable. Exit 5: the results file was
    edited, recomputation gives different results, an output does not belong to the result set, or
    a signature does not verify. Exit 75: an audit is writing into the folder.
    """
    folder = results_path.parent
    with ExitStack() as stack:
        if (folder / CONTROL).is_dir():
            try:
                stack.enter_context(hold_folder(folder))
            except ReportError:
                if folder_state(folder).pending:
                    raise
                # A folder this process cannot write: nothing else can switch it either.
        _verify(ctx, results_path, bundle, profile_name, st_path, evaluation_path, trust, crls)


def _verify(ctx: click.Context, results_path: Path, bundle: Path, profile_name: str | None,
            st_path: Path | None, evaluation_path: Path | None, trust: tuple[Path, ...],
            crls: tuple[Path, ...]) -> None:
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
    state = folder_state(results_path.parent)
    results_problems.extend(f"result set: {p}" for p in state.problems)
    if results_json(stored) != data:
        results_problems.append(f"{results_path.name} is not in the canonical form evaltool "
                                "writes (the file was edited)")
    searched: dict[str, str] = {}
    if profile_name is not None:
        profile: Path | None = find_profile(profile_name)
    else:
        profile = _locate_profile(stored, results_path)
        dirs = ", ".join(str(d) for d in profile_dirs())
        searched["profile"] = f"{dirs} and the folders holding {results_path}"
    given = {"profile": profile, "security-target": st_path, "evaluation": evaluation_path}
    unmatched = _unmatched_inputs(stored, given, searched)
    if unmatched:
        raise RecordedInputError("; ".join(unmatched), path=results_path)
    assert profile is not None  # a recorded profile that was not found is unmatched
    if crls and not trust:
        raise UsageError("--crl needs --trust (revocation is checked with the signatures)")
    signatures = _signature_lines(results_path.parent, list(trust), list(crls))
    hashed: dict[Path, str] = {}
    input_problems = _input_problems(stored, manifest_path_of(bundle).parent, given, hashed)
    diffs: list[str] = []
    if not input_problems:
        again = _recompute(stored, AuditSources(bundle=bundle, profile=profile, st=st_path,
                                                evaluation=evaluation_path,
                                                known_sha256=hashed))
        diffs = list(diff(stored.model_dump(mode="json"), again.model_dump(mode="json")))
    for line in input_problems:
        click.echo(f"input changed: {line}")
    for line in results_problems:
        click.echo(f"difference: {line}")
    for line in diffs[:_MAX_DIFFS]:
        click.echo(f"difference: {line}")
    if len(diffs) > _MAX_DIFFS:
        click.echo(f"difference: ... and {len(diffs) - _MAX_DIFFS} more")
    for line, _ in signatures:
        click.echo(line)
    if input_problems:
        click.echo("verify: FAILED (inputs differ from those recorded; nothing recomputed)")
        ctx.exit(ExitCode.BAD_INPUT)
    if results_problems or diffs:
        click.echo("verify: FAILED (results differ from the recomputation)")
        ctx.exit(ExitCode.REPORT)
    if not all(ok for _, ok in signatures):
        click.echo("verify: FAILED (a signature does not verify or a signed output was changed)")
        ctx.exit(ExitCode.REPORT)
    n = len(stored.checks())
    click.echo(f"verify: OK ({n} checks reproduced, {len(stored.provenance.inputs)} input hashes "
               f"match, overall verdict {stored.verdict.value})")
    ctx.exit(ExitCode.PASS)


__all__ = ["diff", "report", "verify"]
