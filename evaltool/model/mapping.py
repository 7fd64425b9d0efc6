"""The mapping language of ``evaltool import table`` (``docs/importing.md``; JSON Schema from
``evaltool schema mapping``).

A mapping says, for each column of the evidence table to write, where its values come from in the
vendor's file and what is done to them: a rename, a unit conversion (the target unit is the
column's suffix, ``power_dbm``, ``time_ps``), a declared linear factor, a timestamp parsed in a
stated time zone, or a table of named values. Nothing else happens to the data; the mapping's
SHA-256 is recorded with the imported file so an audit shows what was done.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from evaltool.model.base import StrictModel

MAPPING_SCHEMA_VERSION = 1


class SourceFormat(StrictModel):
    """How the vendor's file is encoded."""

    format: Literal["csv", "jsonl"] = Field("csv", description="CSV with a header row, or JSON "
                                            "lines (one object per line)")
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator")
    encoding: str = Field("utf-8", description="text encoding (Python codec name)")
    decimal: Literal[".", ","] = Field(".", description="decimal mark of numbers")
    skip_rows: int = Field(0, ge=0, le=1000,
                           description="lines before the header (CSV) or before the data (JSONL)")


class ColumnMap(StrictModel):
    """Where one target column's values come from and how they are converted."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              populate_by_name=True)

    source: str | None = Field(None, alias="from", min_length=1, max_length=1000,
                               description="column (CSV header) or key (JSON lines) of the "
                               "vendor's file")
    constant: float | str | None = Field(None, description="a value for every row, instead of "
                                         "`from`")
    unit: str | None = Field(None, max_length=20,
                             description="unit of the source values (mW, dBm, W, ns, ps, us, ms, "
                             "s, uA, mA, A, mV, V, C, K, Hz, kHz, MHz, ...); converted to the unit "
                             "the target column's suffix names")
    scale: float | None = Field(None, description="declared factor: target = source x scale + "
                                "offset (for units evaltool does not know)")
    offset: float | None = Field(None, description="added after `scale`")
    timestamp: str | None = Field(None, max_length=200,
                                  description="the source holds date-times: `iso8601`, or a "
                                  "strptime format such as `%d.%m.%Y %H:%M:%S.%f`; converted to "
                                  "time since the manifest's capture start, in the target "
                                  "column's time unit")
    values: dict[str, float] | None = Field(None, description="named values to numbers, e.g. "
                                            "{OK: 0, ABORT: 1}; a value not listed is an error")

    @model_validator(mode="after")
    def _one_way(self) -> ColumnMap:
        if (self.source is None) == (self.constant is None):
            raise ValueError("give exactly one of `from` and `constant`")
        ways = [self.unit is not None, self.scale is not None or self.offset is not None,
                self.timestamp is not None, self.values is not None]
        if sum(ways) > 1:
            raise ValueError("use one of `unit`, `scale`/`offset`, `timestamp` and `values`")
        return self


class TableMapping(StrictModel):
    """A vendor table → evidence table mapping."""

    schema_version: int = Field(MAPPING_SCHEMA_VERSION, ge=1, le=MAPPING_SCHEMA_VERSION)
    description: str | None = Field(None, max_length=10_000)
    source: SourceFormat = Field(default_factory=lambda: SourceFormat())
    time_zone: str = Field("UTC", description="IANA time zone of date-times written without an "
                           "offset (e.g. Europe/Berlin)")
    columns: dict[str, ColumnMap] = Field(min_length=1, description="target column -> its source "
                                          "and conversion; target columns follow the evidence "
                                          "kind's schema (`docs/bundle-format.md`)")
