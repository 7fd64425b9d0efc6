"""Channel and detector model, model key rate and parameter optimisation for decoy-state BB84.

Public entry points: :class:`ChannelModel`, :func:`expected_counts`, :func:`key_rate`,
:func:`optimise_parameters`, :func:`optimise_sweep` (warm-started along a distance sweep) and
:func:`plan_parameters` (evaluate given parameters, optimising the missing ones).
The model is the Sec. IV model of Lim et al., PRA 89, 022307 (2014) with the dead time of Rusca
et al., APL 112, 171104 (2018), Appendix B; see ``docs/methods/channel-model.md``.
"""

from __future__ import annotations

from evaltool.engines.protocol._channel import (
    ChannelModel,
    ExpectedCounts,
    KeyRateResult,
    expected_counts,
    key_rate,
)
from evaltool.engines.protocol._optimise import (
    PAPER_FIXED,
    DecoyParameters,
    OptimisationResult,
    optimise_parameters,
    optimise_sweep,
    plan_parameters,
)

__all__ = [
    "PAPER_FIXED",
    "ChannelModel",
    "DecoyParameters",
    "ExpectedCounts",
    "KeyRateResult",
    "OptimisationResult",
    "expected_counts",
    "key_rate",
    "optimise_parameters",
    "optimise_sweep",
    "plan_parameters",
]
