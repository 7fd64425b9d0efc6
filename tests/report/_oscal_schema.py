"""Validation against the shipped OSCAL assessment-results JSON Schema.

The schema (OSCAL 1.0.6, see ``evaltool/report/schemas/SOURCE.md``) writes its token pattern with
the Unicode property classes ``\\p{L}`` (letters) and ``\\p{N}`` (numbers), which Python's ``re``
does not know. The validator below translates them before matching: ``\\p{L}`` becomes
``[^\\W\\d_]`` (word characters that are neither digits nor the underscore: the letters) and
``\\p{N}`` becomes ``\\d`` (decimal digits; ``\\p{N}`` also admits letter-like and other
numerals, so the translation is stricter, never looser).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft7Validator

SCHEMA_PATH = (Path(__file__).resolve().parents[2] / "evaltool" / "report" / "schemas"
               / "oscal_assessment-results_schema.json")


def translate(pattern: str) -> str:
    """An OSCAL regular expression in Python ``re`` syntax."""
    return pattern.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and not re.search(translate(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def oscal_validator() -> Draft7Validator:
    """A draft-07 validator of the shipped schema with OSCAL's regex dialect."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.extend(Draft7Validator, {"pattern": _pattern})
    return cls(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def oscal_errors(doc: Any) -> list[str]:
    """Every schema violation of ``doc``, as ``path: message`` lines."""
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in oscal_validator().iter_errors(doc)]
