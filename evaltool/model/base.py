"""The strict pydantic base shared by every evaltool model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A frozen model that rejects unknown keys (a typo in a profile is an error, not a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
