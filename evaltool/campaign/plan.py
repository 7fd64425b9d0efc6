"""A campaign file made into work units, every input checked before any work starts.

Problems in the campaign file (a bundle that does not exist, duplicate labels, a glob matching
nothing, a shard rule for a slot the bundle lacks) are :class:`~evaltool.errors.CampaignError`
with the campaign file's ``line:column``; a broken profile, security target, evaluation input or
bundle manifest is that file's own error with its position. Either way: exit 4, nothing has run.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from evaltool.campaign.shards import ShardedBattery, plan_sharded_battery
from evaltool.campaign.unit import UnitSpec, inputs_digest
from evaltool.checks.plan import Plan, build_plan
from evaltool.checks.sp800_22 import first_level_plan
from evaltool.errors import CampaignError, UsageError
from evaltool.io.bundle import MANIFEST_NAME, Bundle, load_bundle
from evaltool.io.campaign import LoadedCampaign, load_campaign
from evaltool.io.profiles import load_evaluation_input, load_profile, load_security_target
from evaltool.model.bundle import EvidenceFormat, EvidenceKind
from evaltool.model.campaign import LABEL_PATTERN, ShardRule
from evaltool.profile.evaluation import check_evaluation
from evaltool.report.outputs import refuse_to_replace_signed

BUNDLES_DIR = "bundles"
"""Under the campaign's output folder: one result set per bundle label."""

_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class PlannedUnit:
    """One bundle of the campaign, ready to run."""

    label: str
    spec: UnitSpec
    unit_inputs_sha256: str
    """:func:`~evaltool.campaign.unit.inputs_digest` of the inputs as planned (a unit reading
    other bytes reports another digest)."""
    inputs_sha256: str
    """The checkpoint's key (:func:`checkpoint_digest`)."""
    shards: dict[str, ShardRule]
    sharded: tuple[ShardedBattery, ...] = ()
    """The SP 800-22 computations of the bundle's checks on its sharded slots."""


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """The checked campaign: its file, title and units in file order."""

    path: Path
    sha256: str
    title: str
    out_dir: Path
    units: tuple[PlannedUnit, ...]


def _input(base: Path, value: str, loaded: LoadedCampaign, key: str) -> Path:
    path = (base / value).resolve()
    if not path.is_file():
        raise CampaignError(f"{key} {value!r}: no such file", path=loaded.doc.path,
                            location=loaded.where((key,)))
    return path


def _matches(base: Path, pattern: str) -> list[Path]:
    """Bundle folders matched by ``pattern`` (relative to ``base``), sorted."""
    found = []
    for hit in sorted(glob.glob(str(base / pattern))):
        p = Path(hit)
        if p.is_dir() and (p / MANIFEST_NAME).is_file():
            found.append(p.resolve())
        elif p.name == MANIFEST_NAME and p.is_file():
            found.append(p.parent.resolve())
    return found


def _expand(loaded: LoadedCampaign, base: Path) -> list[tuple[str, Path, int]]:
    """(label, bundle folder, index of its entry) for every bundle, glob entries expanded."""
    out: list[tuple[str, Path, int]] = []
    seen_entries: dict[str, int] = {}
    for i, entry in enumerate(loaded.campaign.bundles):
        if entry.label in seen_entries:
            raise CampaignError(
                f"duplicate bundle label {entry.label!r} (first used by bundles"
                f"[{seen_entries[entry.label]}])", path=loaded.doc.path,
                location=loaded.where(("bundles", i, "label")))
        seen_entries[entry.label] = i
        where = loaded.where(("bundles", i, "path"))
        if _GLOB_CHARS.search(entry.path):
            hits = _matches(base, entry.path)
            if not hits:
                raise CampaignError(f"glob {entry.path!r} matches no bundle folder (a folder "
                                    f"holding {MANIFEST_NAME})", path=loaded.doc.path,
                                    location=where)
            for hit in hits:
                if not re.match(LABEL_PATTERN, hit.name):
                    raise CampaignError(f"glob {entry.path!r} matches folder {hit.name!r}, "
                                        "which cannot be a label", path=loaded.doc.path,
                                        location=where)
                out.append((f"{entry.label}/{hit.name}", hit, i))
        else:
            folder = (base / entry.path).resolve()
            if folder.name == MANIFEST_NAME and folder.is_file():
                folder = folder.parent
            if not (folder / MANIFEST_NAME).is_file():
                problem = ("no such bundle" if not folder.exists()
                           else f"not a bundle (no {MANIFEST_NAME})")
                raise CampaignError(f"bundle {entry.path!r}: {problem}", path=loaded.doc.path,
                                    location=where)
            out.append((entry.label, folder, i))
    labels: dict[str, int] = {}
    for label, _, i in out:
        if label in labels:
            raise CampaignError(f"duplicate bundle label {label!r} (two matches of the glob "
                                "have the same folder name)", path=loaded.doc.path,
                                location=loaded.where(("bundles", i, "path")))
        labels[label] = i
    return out


def _check_shards(loaded: LoadedCampaign, i: int, rules: dict[str, ShardRule],
                  bundle: Bundle, label: str) -> None:
    for slot, rule in rules.items():
        where = loaded.where(("bundles", i, "shards", slot))
        bf = bundle.files.get(slot)
        if bf is None:
            have = ", ".join(sorted(bundle.files)) or "none"
            raise CampaignError(f"shard rule for slot {slot!r}, which bundle {label!r} lacks "
                                f"(its slots: {have})", path=loaded.doc.path, location=where)
        if rule.sequences is not None and bf.entry.kind is not EvidenceKind.RNG_RAW:
            raise CampaignError(f"slot {slot!r} of bundle {label!r} is {bf.entry.kind}; "
                                "'sequences' cuts rng-raw evidence only", path=loaded.doc.path,
                                location=where)
        if rule.rows is not None and bf.entry.format in (EvidenceFormat.BINARY,
                                                         EvidenceFormat.NPY):
            raise CampaignError(f"slot {slot!r} of bundle {label!r} is not a table; 'rows' "
                                "cuts tables only", path=loaded.doc.path, location=where)


def _sharded(plan: Plan, rules: dict[str, ShardRule], bundle: Bundle
             ) -> tuple[ShardedBattery, ...]:
    """The first-level SP 800-22 computations of the plan's checks on slots with a
    ``sequences`` rule, cut into shards (one per distinct computation)."""
    found: dict[str, ShardedBattery] = {}
    for pa in plan.activities:
        if not pa.applicable:
            continue
        for pc in pa.checks:
            slot = getattr(pc.params, "slot", None)
            if not isinstance(slot, str):
                continue
            rule = rules.get(slot)
            if rule is None or rule.sequences is None:
                continue
            bf = bundle.files[slot]
            flp = first_level_plan(pc.ctype.kind, pc.params, bf.size_bytes)
            if flp is None or flp.key in found:
                continue
            found[flp.key] = plan_sharded_battery(
                flp.key, flp.slot, bf.path, n=flp.n, m=flp.m, per_shard=rule.sequences,
                tests=flp.tests, params=flp.params)
    return tuple(found.values())


def checkpoint_digest(unit_digest: str, shards: dict[str, ShardRule]) -> str:
    """SHA-256 a checkpoint is keyed by: the unit's :func:`~evaltool.campaign.unit.inputs_digest`
    and the shard rules."""
    record = {"unit": unit_digest, "shards": {slot: rule.model_dump(exclude_none=True)
                                              for slot, rule in sorted(shards.items())}}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def plan_campaign(path: Path, out_dir: Path, *, epoch: int | None = None,
                  overwrite_signed: bool = False) -> CampaignPlan:
    """Read ``path`` and check every input it names; raise before any unit has run."""
    loaded = load_campaign(path)
    c = loaded.campaign
    base = path.resolve().parent
    profile = _input(base, c.profile, loaded, "profile")
    st = _input(base, c.st, loaded, "st") if c.st is not None else None
    evaluation = (_input(base, c.evaluation, loaded, "evaluation")
                  if c.evaluation is not None else None)
    lp = load_profile(profile)
    lst = load_security_target(st) if st is not None else None
    lev = load_evaluation_input(evaluation) if evaluation is not None else None
    plan = build_plan(lp, lst)
    if lev is not None:
        check_evaluation(plan.profile, lev)
    out_real = out_dir.resolve()
    units: list[PlannedUnit] = []
    for label, folder, i in _expand(loaded, base):
        if out_real == folder or folder in out_real.parents:
            raise UsageError(f"the output folder must not be inside bundle {label!r} (inputs "
                             "are never modified)")
        bundle = load_bundle(folder, check_tables=False)
        rules = dict(c.bundles[i].shards)
        _check_shards(loaded, i, rules, bundle, label)
        unit_out = out_real / BUNDLES_DIR / label
        if not overwrite_signed:
            refuse_to_replace_signed(unit_out)
        spec = UnitSpec(label=label, bundle=folder, profile=profile, out_dir=unit_out,
                        seed=c.seed, formats=tuple(c.formats), st=st, evaluation=evaluation,
                        epoch=epoch)
        digest = inputs_digest(spec, profile=lp.sha256, st=lst.sha256 if lst else None,
                               evaluation=lev.sha256 if lev else None, bundle=bundle)
        units.append(PlannedUnit(label=label, spec=spec, unit_inputs_sha256=digest,
                                 inputs_sha256=checkpoint_digest(digest, rules), shards=rules,
                                 sharded=_sharded(plan, rules, bundle)))
    title = c.title or f"Campaign {path.name} against {plan.profile.title}"
    return CampaignPlan(path=path, sha256=loaded.sha256, title=title, out_dir=out_real,
                        units=tuple(units))

