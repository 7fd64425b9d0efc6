"""Reading a campaign file (``campaign.yaml``, ``docs/campaigns.md``) with source positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaltool.errors import CampaignError
from evaltool.io.files import sha256_file
from evaltool.io.yaml import Located, load_yaml, validate
from evaltool.model.campaign import Campaign


@dataclass(frozen=True, slots=True)
class LoadedCampaign:
    """A validated campaign file with its source document (for positions) and its hash."""

    campaign: Campaign
    doc: Located
    sha256: str

    def where(self, loc: Sequence[int | str]) -> str | None:
        """``line:column`` of the node at ``loc`` (for example ``("bundles", 2, "path")``)."""
        return self.doc.position(loc)


def load_campaign(path: Path) -> LoadedCampaign:
    """Parse and validate the shape of a campaign file (exit 4 with ``file:line:column``)."""
    doc = load_yaml(path, error=CampaignError)
    campaign = validate(doc, Campaign, error=CampaignError)
    return LoadedCampaign(campaign, doc, sha256_file(path)[0])
