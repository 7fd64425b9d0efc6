"""``evaltool checks``: the registered check kinds and their parameters."""

from __future__ import annotations

import json
from typing import Any

import click

from evaltool.checks import all_checks


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def checks(as_json: bool) -> None:
    """List the registered check kinds with their parameters."""
    items: list[dict[str, Any]] = []
    for ct in all_checks():
        schema = ct.params.model_json_schema()
        params = {
            name: {"type": spec.get("type", "any"), "description": spec.get("description", ""),
                   "required": name in schema.get("required", []),
                   **({"default": spec["default"]} if "default" in spec else {})}
            for name, spec in schema.get("properties", {}).items()
        }
        items.append({"kind": ct.kind, "available": ct.available, "summary": ct.summary,
                      "standard_ref": ct.standard_ref, "params": params})
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for it in items:
        flag = "" if it["available"] else "  [declared, not available]"
        click.echo(f"{it['kind']}{flag}\n  {it['summary']}\n  ref: {it['standard_ref']}")
        for name, p in it["params"].items():
            req = "required" if p["required"] else f"default {p.get('default')!r}"
            click.echo(f"    {name} ({p['type']}, {req}): {p['description']}")
