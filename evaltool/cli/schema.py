"""``evaltool schema``: JSON Schemas of the documents evaltool reads and writes."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pydantic import BaseModel

SCHEMAS: dict[str, str] = {
    "profile": "evaltool.model.profile:Profile",
    "st": "evaltool.model.profile:SecurityTarget",
    "bundle": "evaltool.model.bundle:BundleManifest",
    "results": "evaltool.model.results:EvaluationResult",
    "evaluation": "evaltool.model.profile:EvaluationInput",
    "method-library": "evaltool.model.profile:MethodLibrary",
    "mapping": "evaltool.model.mapping:TableMapping",
    "transcript": "evaltool.model.transcript:TranscriptRecord",
    "profile-mapping": "evaltool.model.binding:ProfileMapping",
    "campaign": "evaltool.model.campaign:Campaign",
    "channels": "evaltool.model.channels:ChannelMap",
}
"""Document name → its model (only the one asked for is imported)."""


def schema_model(document: str) -> type[BaseModel]:
    """The model of ``document``, one of :data:`SCHEMAS`."""
    module, _, attr = SCHEMAS[document].partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), attr)
    return model


@click.command()
@click.argument("document", type=click.Choice(sorted(SCHEMAS)))
def schema(document: str) -> None:
    """Print the JSON Schema of DOCUMENT."""
    model = schema_model(document)
    if document == "results":
        out = model.model_json_schema(mode="serialization")
    else:
        out = model.model_json_schema(mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$id"] = f"https://evaltool.invalid/schema/{document}.json"
    click.echo(json.dumps(out, indent=2, sort_keys=True))
