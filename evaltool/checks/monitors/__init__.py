"""Quantum-hacking monitors: decision rules on the telemetry each attack disturbs.

One check kind per attack on the optics, one module per attack family; which telemetry each
attack disturbs and which statistic detects it is tabulated in ``docs/methods/monitors.md``. The
statistics are in :mod:`evaltool.engines.leakage` and :mod:`evaltool.engines.decision`. Every
rule

- names the evidence slots it reads in its parameters;
- uses a one-sided test where the attack pushes the statistic one way, at a stated α, with a
  Šidák correction over the tests it runs (blocks, time bins, cells): per-test level
  ``a = 1 − (1 − α)^{1/m}``;
- takes its thresholds from the security target (the profile fills the parameters);
- is **inconclusive**, never pass, when the data cannot detect the deviation the requirement
  cares about (the minimum detectable effect, or the count needed, is in the reason).

The dead-time and Trojan-horse rules are deterministic counts (a detection inside the dead time,
an alarm without its abort); the others are statistical tests.

==========================  ========================================================
module                      kinds
==========================  ========================================================
:mod:`.blinding`            ``monitor.detector-blinding``
:mod:`.mismatch`            ``monitor.efficiency-mismatch``
:mod:`.trojan`              ``monitor.trojan-horse``
:mod:`.decoy`               ``monitor.decoy-consistency``
:mod:`.pattern`             ``monitor.pattern-effect``
:mod:`.detector_timing`     ``monitor.dead-time``, ``monitor.afterpulsing``
==========================  ========================================================

Importing this package registers the seven kinds (``evaltool.checks`` imports it).
"""

from __future__ import annotations

from evaltool.checks.monitors import (  # noqa: F401  (each import registers its kinds)
    blinding,
    decoy,
    detector_timing,
    mismatch,
    pattern,
    trojan,
)
