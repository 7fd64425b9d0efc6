"""The device's claims in the bundle manifest against the security target.

The protocol checks recompute key lengths and abort decisions from the parameters the device
claims in its manifest (``claims``). A security target that is stricter than those claims would
then never be enforced; ``claims.st-consistency`` closes that gap (the profile's QKD component
asks for secrecy and correctness parameters not above the assigned values; CC:2022 Part 3
ASE_TSS.1: the TOE implements the ST).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.model.results import Measurement
from evaltool.protocols import find_plugin

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext


class STConsistencyParams(CheckParams):
    """Parameters of ``claims.st-consistency`` (values usually written as ``{{ st.x }}``)."""

    protocol: str | None = Field(None, description="protocol the ST selects")
    bound: str | None = Field(None, description="finite-key bound the ST selects")
    eps_sec_max: float | None = Field(None, gt=0, lt=1, description="claimed eps_sec must be <=")
    eps_cor_max: float | None = Field(None, gt=0, lt=1, description="claimed eps_cor must be <=")
    qber_abort_threshold_max: float | None = Field(
        None, gt=0, lt=0.5, description="claimed QBER abort threshold must be <=")
    intensities: list[float] | None = Field(
        None, description="intensities the ST assigns, strongest first")
    intensity_tolerance_rel: float = Field(
        1e-9, ge=0, description="relative difference allowed between claimed and ST intensities")


@check("claims.st-consistency", params=STConsistencyParams,
       ref="CC:2022 Part 3 ASE_TSS.1 (the TOE meets the ST's SFRs)")
def st_consistency(p: STConsistencyParams, ctx: CheckContext) -> Outcome:
    """The manifest's protocol claims are not looser than the security target's assignments."""
    c = ctx.manifest.claims
    problems: list[str] = []
    ms: list[Measurement] = []
    if p.protocol is not None and c.protocol != p.protocol:
        problems.append(f"protocol {c.protocol!r} is not the ST's {p.protocol!r}")
    if p.bound is not None and c.bound != p.bound:
        problems.append(f"finite-key bound {c.bound!r} is not the ST's {p.bound!r}")
    plugin = find_plugin(c.protocol)  # the protocol plugin says which bounds it defines
    if plugin is not None:
        problems.extend(plugin.bound_problems(c.bound, p.bound))
    for name, claimed, limit in (
        ("eps_sec", c.eps_sec, p.eps_sec_max),
        ("eps_cor", c.eps_cor, p.eps_cor_max),
        ("qber_abort_threshold", c.qber_abort_threshold, p.qber_abort_threshold_max),
    ):
        if limit is None:
            continue
        ms.append(Measurement(name=f"claimed_{name}", value=claimed, threshold=limit,
                              passes_if="<="))
        if claimed > limit:
            problems.append(f"claimed {name} {fmt(claimed)} is above the ST's {fmt(limit)}")
    if p.intensities is not None:
        claimed_mu = sorted(c.intensities, reverse=True)
        wanted = sorted(p.intensities, reverse=True)
        if len(claimed_mu) != len(wanted):
            problems.append(f"{len(claimed_mu)} intensities claimed, the ST assigns {len(wanted)}")
        else:
            worst = max(
                (abs(a - b) / b if b > 0 else abs(a - b) for a, b in zip(claimed_mu, wanted,
                                                                        strict=True)),
                default=0.0,
            )
            ms.append(Measurement(name="intensity_max_rel_difference", value=worst,
                                  threshold=p.intensity_tolerance_rel, passes_if="<="))
            if worst > p.intensity_tolerance_rel or not math.isfinite(worst):
                problems.append(
                    f"claimed intensities {claimed_mu} differ from the ST's {wanted} by up to "
                    f"{fmt(worst)} (relative; {fmt(p.intensity_tolerance_rel)} allowed)")
    compared = len(ms) + (p.protocol is not None) + (p.bound is not None)
    if compared == 0:
        return Outcome.inconclusive("no ST value given to compare the claims with")
    if problems:
        return Outcome.failed("the manifest's claims are looser than or differ from the ST: "
                              + "; ".join(problems), ms)
    return Outcome.passed(f"all {compared} claimed parameters agree with the ST (none looser)", ms)
