"""The channel map of ``evaltool import tagger`` (``docs/importing.md``; JSON Schema from
``evaltool schema channels``).

A time tagger numbers its inputs; the receiver's detectors measure in a basis and stand for a bit
value. The channel map says which input is which detector, and which inputs carry no detector
clicks (a sync or reference input) and are dropped. Nothing else is done to the clicks; the map's
SHA-256 is recorded with the imported table.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from evaltool.model.base import StrictModel

CHANNELS_SCHEMA_VERSION = 1

MAX_CHANNEL = 65_535
"""Highest channel number a map may name (Photon-HDF5 detector ids are up to 16-bit)."""


class ChannelRole(StrictModel):
    """What the clicks of one tagger channel are."""

    detector: int = Field(ge=0, le=255, description="detector index written to `detector`")
    basis: int | None = Field(None, ge=0, le=1,
                              description="measurement basis of the detector (0 = Z, 1 = X)")
    bit: int | None = Field(None, ge=0, le=1, description="bit value the detector stands for")


class ChannelMap(StrictModel):
    """Tagger channel -> detector, basis and bit."""

    schema_version: int = Field(CHANNELS_SCHEMA_VERSION, ge=1, le=CHANNELS_SCHEMA_VERSION)
    description: str | None = Field(None, max_length=10_000)
    channels: dict[int, ChannelRole] = Field(
        min_length=1, description="channel number as the file records it (PicoQuant: the "
        "0-based input channel of the record; Becker & Hickl: the routing channel; "
        "Photon-HDF5: the `detectors` value) -> its detector")
    ignore: tuple[int, ...] = Field(
        (), description="channels whose clicks are dropped (counted, not written): a sync or "
        "reference input. A click on a channel neither mapped nor ignored is an error")

    @model_validator(mode="after")
    def _consistent(self) -> ChannelMap:
        for ch in (*self.channels, *self.ignore):
            if not 0 <= ch <= MAX_CHANNEL:
                raise ValueError(f"channel {ch} is outside 0..{MAX_CHANNEL}")
        both = sorted(set(self.channels) & set(self.ignore))
        if both:
            raise ValueError(f"channel {both[0]} is both mapped and ignored")
        if len(set(self.ignore)) != len(self.ignore):
            raise ValueError("a channel is listed twice in `ignore`")
        detectors = [r.detector for r in self.channels.values()]
        if len(set(detectors)) != len(detectors):
            raise ValueError("two channels map to the same detector")
        for field in ("basis", "bit"):
            given = [getattr(r, field) is not None for r in self.channels.values()]
            if any(given) and not all(given):
                raise ValueError(f"give `{field}` for every channel or for none")
        return self
