"""One work unit of a campaign: one bundle audited exactly as ``evaltool audit`` audits it.

The unit runs in whichever process the executor chooses (this one, or a Dask worker on another
machine), so it takes only plain, picklable values and reads every input itself. It uses the one
audit assembly (:func:`evaltool.evaluate.prepare_audit`, :func:`~evaltool.evaluate.run_audit`) and
the one output writer (:func:`evaltool.report.outputs.write_outputs`), and records the ``evaltool
audit`` command line that reproduces its result set byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from evaltool import __version__
from evaltool.errors import EvaltoolError
from evaltool.evaluate import AuditSources, now_utc, prepare_audit, run_audit
from evaltool.io.bundle import Bundle
from evaltool.model.verdict import Verdict
from evaltool.report.outputs import OUTPUT_NAMES, OutputFormat, remove_outputs, write_outputs


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """Everything one unit needs, as plain values (sent to a worker as is)."""

    label: str
    bundle: Path
    profile: Path
    out_dir: Path
    seed: int
    formats: tuple[str, ...]
    st: Path | None = None
    evaluation: Path | None = None
    epoch: int | None = None
    """``SOURCE_DATE_EPOCH`` of the campaign: every time stamp of the unit is this instant."""
    precomputed: Mapping[str, object] = field(default_factory=dict)
    """Merged shard results by :attr:`evaltool.checks.sp800_22.FirstLevelPlan.key`."""

    @property
    def command_line(self) -> tuple[str, ...]:
        """The ``evaltool audit`` command that writes this unit's result set (in provenance)."""
        out = ["evaltool", "audit", str(self.bundle), "--profile", str(self.profile)]
        if self.st is not None:
            out += ["--st", str(self.st)]
        if self.evaluation is not None:
            out += ["--evaluation", str(self.evaluation)]
        out += ["--out", str(self.out_dir), "--seed", str(self.seed),
                "--format", ",".join(self.formats)]
        return tuple(out)


@dataclass(frozen=True, slots=True)
class UnitOutcome:
    """What a finished unit reports back (its result set is already in ``out_dir``)."""

    label: str
    verdict: Verdict
    counts: dict[str, int]
    outputs: dict[str, str]
    """Output file name -> SHA-256 of the bytes written."""
    inputs_sha256: str
    """:func:`inputs_digest` of the inputs as this unit read them."""


def inputs_digest(spec: UnitSpec, *, profile: str, st: str | None, evaluation: str | None,
                  bundle: Bundle) -> str:
    """SHA-256 of everything a unit's result set depends on: the tool version, the digests of
    the profile, ST, evaluation input, manifest and every evidence file, and the options
    (the output folder included: the result records its command line)."""
    record = {
        "tool_version": __version__, "profile": profile, "st": st, "evaluation": evaluation,
        "manifest": bundle.manifest_sha256,
        "evidence": {slot: bf.sha256 for slot, bf in sorted(bundle.files.items())},
        "seed": spec.seed, "formats": list(spec.formats), "command_line": list(spec.command_line),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def source_date_epoch(value: str | None) -> int | None:
    """``SOURCE_DATE_EPOCH`` as seconds, or None when unset or not a number
    (reproducible-builds.org convention, read as :func:`evaltool.evaluate.now_utc` reads it)."""
    if value is not None and value.strip().isdigit():
        return int(value)
    return None


def _clock(epoch: int | None) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch is not None else now_utc()


def file_sha256(path: Path) -> str:
    """SHA-256 of a (small) output file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_unit(spec: UnitSpec) -> UnitOutcome:
    """Audit ``spec.bundle`` and write its result set to ``spec.out_dir``.

    Raises what the audit raises; a failed unit leaves no earlier result set behind (as ``evaltool
    audit`` does), so nothing stale can be taken for its result.
    """
    formats = [OutputFormat(f) for f in spec.formats]
    try:
        prepared = prepare_audit(AuditSources(bundle=spec.bundle, profile=spec.profile,
                                              st=spec.st, evaluation=spec.evaluation))

        def clock() -> datetime:
            return _clock(spec.epoch)

        result = run_audit(prepared, seed=spec.seed, command_line=spec.command_line,
                           started_at=clock(), clock=clock, precomputed=spec.precomputed)
    except EvaltoolError:
        if spec.out_dir.is_dir():
            remove_outputs(spec.out_dir)
        raise
    written = write_outputs(result, spec.out_dir, formats)
    outputs = {OUTPUT_NAMES[fmt]: file_sha256(path) for fmt, path in written.items()}
    read = inputs_digest(spec, profile=prepared.inputs.profile_sha256,
                         st=prepared.inputs.st_sha256, evaluation=prepared.inputs.evaluation_sha256,
                         bundle=prepared.bundle)
    return UnitOutcome(label=spec.label, verdict=result.verdict, counts=dict(result.counts),
                       outputs=outputs, inputs_sha256=read)
