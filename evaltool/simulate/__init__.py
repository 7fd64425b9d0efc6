"""Test-vector factory: complete evidence bundles of a simulated decoy-state BB84 device.

``generate(name, seed=..., blocks=...)`` returns every file of scenario ``name``'s bundle;
``simulate(name, out, ...)`` writes them to a folder atomically. The scenarios (the honest device
and thirty-four faulty ones, one deviation each) are described in ``docs/scenarios.md``.
"""

from __future__ import annotations

from evaltool.simulate._bundle import EVIDENCE, generate, simulate, write_bundle
from evaltool.simulate._device import (
    DEFAULT_BLOCKS,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    SCENARIO_NAMES,
    SCENARIOS,
    Deviation,
    Link,
    Scenario,
    scenario,
)
from evaltool.simulate._generate import ClassRates, class_rates, pulses_per_block

__all__ = [
    "DEFAULT_BLOCKS",
    "DEFAULT_SEED",
    "EVIDENCE",
    "GENERATOR_VERSION",
    "SCENARIOS",
    "SCENARIO_NAMES",
    "ClassRates",
    "Deviation",
    "Link",
    "Scenario",
    "class_rates",
    "generate",
    "pulses_per_block",
    "scenario",
    "simulate",
    "write_bundle",
]
