"""An evaluation campaign (``campaign.yaml``), its checkpoints and its summary.

A campaign audits several evidence bundles against one profile, security target and evaluation
input; each bundle is one work unit whose result set is the one ``evaltool audit`` writes. See
``docs/campaigns.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from evaltool.model.base import StrictModel
from evaltool.model.verdict import Verdict

CAMPAIGN_SCHEMA_VERSION = 1

LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
"""A bundle label: also the name of its output folder, so no path separator and no leading dot."""

FormatName = Literal["html", "pdf", "json", "junit", "oscal"]


class ShardRule(StrictModel):
    """How one evidence slot of a bundle is cut into work units (``docs/campaigns.md``).

    Exactly one of the fields is set. ``sequences`` cuts the first-level computation of the
    bundle's SP 800-22 checks on an rng-raw slot into shards; ``rows`` is validated but not
    executed yet (``docs/campaigns.md``, "Sharding long evidence").
    """

    sequences: int | None = Field(
        None, ge=1, description="rng-raw slots: SP 800-22 sequences per shard (NIST SP 800-22 "
        "Rev. 1a, section 4: the battery runs on m sequences of n bits)")
    rows: int | None = Field(
        None, ge=1, description="table slots: rows per shard (whole row groups of a Parquet file)")

    @model_validator(mode="after")
    def _exactly_one(self) -> ShardRule:
        if (self.sequences is None) == (self.rows is None):
            raise ValueError("a shard rule sets exactly one of 'sequences' and 'rows'")
        return self


class CampaignBundle(StrictModel):
    """One bundle (or, with a glob, several) of the campaign."""

    label: str = Field(pattern=LABEL_PATTERN, description="unique name of the bundle in the "
                       "campaign; its results go to DIR/bundles/LABEL (a glob's matches to "
                       "DIR/bundles/LABEL/FOLDER)")
    path: str = Field(min_length=1, description="the bundle folder (or its bundle.yaml), relative "
                      "to the campaign file; may be a glob (*, ?, [...]) matching bundle folders")
    shards: dict[str, ShardRule] = Field(
        default_factory=dict, description="slot -> how to cut that slot's evidence into shards")


class Campaign(StrictModel):
    """The campaign file: shared inputs and the bundles to audit with them."""

    schema_version: Literal[1] = Field(description="campaign format version (1)")
    title: str | None = Field(None, description="shown in the campaign summary")
    profile: str = Field(min_length=1, description="protection profile file, relative to the "
                         "campaign file")
    st: str | None = Field(None, description="security target file, relative to the campaign file")
    evaluation: str | None = Field(None, description="evaluation input (attestations, waivers), "
                                   "relative to the campaign file")
    seed: int = Field(0, ge=0, description="seed of every randomised procedure (as audit --seed)")
    formats: tuple[FormatName, ...] = Field(
        ("html", "pdf", "json", "junit", "oscal"), min_length=1,
        description="outputs written for every bundle (as audit --format)")
    bundles: tuple[CampaignBundle, ...] = Field(min_length=1, description="the bundles")


class Checkpoint(StrictModel):
    """A finished work unit, written atomically beside the campaign's outputs.

    A later ``--resume`` reuses the unit when ``tool_version`` and ``inputs_sha256`` still match
    and every output still has its recorded digest.
    """

    schema_version: Literal[1] = 1
    label: str
    tool_version: str
    inputs_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    verdict: Verdict
    counts: dict[str, int]
    outputs: dict[str, str] = Field(description="output file name -> SHA-256")


class BundleOutcome(StrictModel):
    """One row of the campaign's verdict table."""

    label: str
    bundle: str = Field(description="the bundle folder as resolved")
    verdict: Verdict
    counts: dict[str, int] = Field(default_factory=dict, description="checks per verdict")
    error: str | None = Field(None, description="why the unit produced no result")
    reused: bool = Field(False, description="taken from a checkpoint by --resume")
    results: str | None = Field(None, description="results.json, relative to the campaign's "
                                "output folder")
    report: str | None = Field(None, description="report.html (when written), relative to the "
                               "campaign's output folder")
    shards: dict[str, ShardRule] = Field(default_factory=dict)


class CampaignSummary(StrictModel):
    """The campaign's roll-up: the worst bundle verdict and the per-bundle table."""

    schema_version: Literal[1] = 1
    title: str
    tool_version: str
    campaign_sha256: str
    executor: str
    started_at: str
    finished_at: str
    verdict: Verdict
    bundles: tuple[BundleOutcome, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Bundles per verdict."""
        return {v.value: sum(b.verdict is v for b in self.bundles) for v in Verdict}
