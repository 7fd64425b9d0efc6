"""``evaltool schema``: JSON Schemas of the documents evaltool reads and writes."""

from __future__ import annotations

import json

import click

from evaltool.model.base import StrictModel
from evaltool.model.bundle import BundleManifest
from evaltool.model.profile import EvaluationInput, MethodLibrary, Profile, SecurityTarget
from evaltool.model.results import EvaluationResult

SCHEMAS: dict[str, type[StrictModel]] = {
    "profile": Profile,
    "st": SecurityTarget,
    "bundle": BundleManifest,
    "results": EvaluationResult,
    "evaluation": EvaluationInput,
    "method-library": MethodLibrary,
}


@click.command()
@click.argument("document", type=click.Choice(sorted(SCHEMAS)))
def schema(document: str) -> None:
    """Print the JSON Schema of DOCUMENT."""
    model = SCHEMAS[document]
    if document == "results":
        out = model.model_json_schema(mode="serialization")
    else:
        out = model.model_json_schema(mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$id"] = f"https://evaltool.invalid/schema/{document}.json"
    click.echo(json.dumps(out, indent=2, sort_keys=True))
