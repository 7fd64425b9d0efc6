"""Deterministic optimisation of decoy-state BB84 parameters for a channel and block size.

Method (``docs/methods/channel-model.md``, "Optimisation"): a seeded random search over the free
parameters, evaluated in one vectorised call, followed by bounded Nelder-Mead from the best
candidates. Global searches miss the narrow feasible region at long distance and small blocks, so
a sweep over channels warm-starts each point from the previous optimum (:func:`optimise_sweep`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from evaltool.engines.protocol._bounds_common import FiniteKeyBound, FloatArray
from evaltool.engines.protocol._channel import (
    ChannelModel,
    KeyRateResult,
    key_rate,
    model_rate_unchecked,
)
from evaltool.engines.protocol.finite_key import get_bound

# Search box of each kind of parameter; intensities are searched on a log scale.
_Q_RANGE = (0.01, 0.999)
_MU_LOG10_RANGE = (-4.0, 0.0)
_P_RANGE = (0.001, 0.999)

PAPER_FIXED: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        # Lim 2014 Sec. IV fixes the weakest decoy at 2e-4 and optimises the rest.
        "lim2014": MappingProxyType({"mu3": 2e-4}),
        "rusca2018": MappingProxyType({}),
    }
)
"""Parameters each paper keeps fixed while optimising the others."""


@dataclass(frozen=True, slots=True)
class DecoyParameters:
    """Protocol parameters of decoy-state BB84.

    Attributes
    ----------
    intensities:
        mu_1 > mu_2 (> mu_3), strongest first.
    probabilities:
        p_k, emission probability of each intensity (sums to 1).
    q_key:
        Probability that each party picks the key basis.
    """

    intensities: tuple[float, ...]
    probabilities: tuple[float, ...]
    q_key: float

    def as_dict(self) -> dict[str, float]:
        """Flat mapping ``q_key, mu1.., p1..`` (the names used by ``fixed``)."""
        out = {"q_key": self.q_key}
        out.update({f"mu{i + 1}": v for i, v in enumerate(self.intensities)})
        out.update({f"p{i + 1}": v for i, v in enumerate(self.probabilities)})
        return out


@dataclass(frozen=True, slots=True)
class OptimisationResult:
    """Optimised parameters and the model key rate they give.

    Attributes
    ----------
    parameters:
        The best parameters found.
    rate:
        :func:`key_rate` at ``parameters``.
    free:
        Names of the optimised parameters.
    evaluations:
        Number of parameter sets evaluated.
    """

    parameters: DecoyParameters
    rate: KeyRateResult
    free: tuple[str, ...]
    evaluations: int

    @property
    def statistic(self) -> float:
        """The optimal key rate per pulse."""
        return float(self.rate.key_rate_per_pulse)


class _Space:
    """Map between the unit cube of the free parameters and full parameter arrays."""

    def __init__(self, m: int, fixed: Mapping[str, float]) -> None:
        names = ["q_key", *(f"mu{i + 1}" for i in range(m)), *(f"p{i + 1}" for i in range(m))]
        unknown = set(fixed) - set(names)
        if unknown:
            raise ValueError(f"unknown parameter names in fixed: {sorted(unknown)}")
        self.m = m
        self.fixed = dict(fixed)
        # The last probability is 1 minus the others unless every probability is fixed.
        all_p_fixed = all(f"p{i + 1}" in fixed for i in range(m))
        derived = set() if all_p_fixed else {f"p{m}"}
        if not all_p_fixed and f"p{m}" in fixed:
            raise ValueError(
                f"p{m} is derived from the other probabilities; fix all of them or p1..p{m - 1}"
            )
        self.free = tuple(n for n in names if n not in fixed and n not in derived)

    def to_unit(self, params: DecoyParameters) -> FloatArray:
        values = params.as_dict()
        return np.array([self._unit_of(n, values[n]) for n in self.free])

    @staticmethod
    def _unit_of(name: str, value: float) -> float:
        if name == "q_key":
            lo, hi = _Q_RANGE
            return (value - lo) / (hi - lo)
        if name.startswith("mu"):
            lo, hi = _MU_LOG10_RANGE
            return (float(np.log10(max(value, 10.0**lo))) - lo) / (hi - lo)
        lo, hi = _P_RANGE
        return (value - lo) / (hi - lo)

    def from_unit(self, u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return (mu, p, q) arrays for unit-cube points ``u`` of shape (n, len(free))."""
        u = np.clip(np.atleast_2d(u), 0.0, 1.0)
        n = u.shape[0]
        cols: dict[str, FloatArray] = {k: np.full(n, v) for k, v in self.fixed.items()}
        for j, name in enumerate(self.free):
            if name == "q_key":
                lo, hi = _Q_RANGE
                cols[name] = lo + u[:, j] * (hi - lo)
            elif name.startswith("mu"):
                lo, hi = _MU_LOG10_RANGE
                cols[name] = 10.0 ** (lo + u[:, j] * (hi - lo))
            else:
                lo, hi = _P_RANGE
                cols[name] = lo + u[:, j] * (hi - lo)
        m = self.m
        mu = np.stack([cols[f"mu{i + 1}"] for i in range(m)], axis=-1)
        if f"p{m}" not in cols:
            others = np.sum([cols[f"p{i + 1}"] for i in range(m - 1)], axis=0)
            cols[f"p{m}"] = 1.0 - others
        p = np.stack([cols[f"p{i + 1}"] for i in range(m)], axis=-1)
        return mu, p, cols["q_key"]


def _feasible(b: FiniteKeyBound, mu: FloatArray, p: FloatArray) -> NDArray[np.bool_]:
    """Rows whose intensities (in the given order) meet the bound's conditions, with p > 0."""
    ok: NDArray[np.bool_] = (b.intensity_violation(mu) < 0.0) & np.all(p > 0.0, axis=-1)
    return ok


def _rates(
    b: FiniteKeyBound,
    channel: ChannelModel,
    block_size: float,
    mu: FloatArray,
    p: FloatArray,
    q: FloatArray,
    eps_sec: float | None,
    kappa: float | None,
    eps_cor: float,
) -> FloatArray:
    """Continuous key rate per pulse (unfloored ell, 0 where infeasible) of each row."""
    ok = _feasible(b, mu, p)
    out = np.zeros(mu.shape[0])
    if np.any(ok):
        out[ok] = model_rate_unchecked(
            b, channel, mu[ok], p[ok], q[ok], block_size, eps_sec, kappa, eps_cor
        )
    return out


def optimise_parameters(
    bound: str | FiniteKeyBound,
    channel: ChannelModel,
    block_size: float,
    *,
    eps_sec: float | None = None,
    kappa: float | None = None,
    eps_cor: float = 1e-15,
    fixed: Mapping[str, float] | None = None,
    start: DecoyParameters | None = None,
    seed: int = 0,
    n_random: int = 2048,
    n_starts: int = 3,
) -> OptimisationResult:
    """Maximise the model key rate per pulse over the free protocol parameters.

    Parameters
    ----------
    bound, channel, block_size, eps_sec, kappa, eps_cor:
        As for :func:`key_rate`.
    fixed:
        Parameters kept fixed, by name (``q_key``, ``mu1``..``muM``, ``p1``..``pM``). ``None``
        means the paper's choice (:data:`PAPER_FIXED`; Lim 2014 fixes mu3 = 2e-4).
    start:
        Warm start: half of the random search samples around it (and includes it).
    seed:
        Seed of the random search; the result is deterministic for a given seed.
    n_random, n_starts:
        Size of the random search and number of its best points polished by Nelder-Mead.

    Returns
    -------
    OptimisationResult
        With a zero rate if no feasible point was found.
    """
    b = get_bound(bound)
    space = _Space(b.n_intensities, PAPER_FIXED[b.name] if fixed is None else fixed)
    rng = np.random.default_rng(seed)
    d = len(space.free)
    # With nothing free there is a single point to evaluate.
    cloud = rng.random((n_random if d else 1, d))
    if start is not None:
        # Half of the search stays near the warm start, half keeps exploring the whole box.
        centre = np.clip(space.to_unit(start), 0.0, 1.0)
        half = len(cloud) // 2
        cloud[:half] = np.clip(centre + 0.05 * rng.standard_normal((half, d)), 0.0, 1.0)
        cloud[0] = centre
    args = (b, channel, block_size)
    opts = (eps_sec, kappa, eps_cor)
    rates = _rates(*args, *space.from_unit(cloud), *opts)
    evaluations = len(cloud)

    def objective(u: FloatArray) -> float:
        r = float(_rates(*args, *space.from_unit(u), *opts)[0])
        # Optimise log R; infeasible points get a large value that grows away from the box centre
        # so that the simplex is pushed back rather than stalled on a flat plateau.
        return -np.log(r) if r > 0.0 else 1e3 + float(np.sum((u - 0.5) ** 2))

    feasible = _feasible(b, *space.from_unit(cloud)[:2])
    if not feasible.any():
        raise ValueError(
            f"no sampled parameter set meets the conditions of {b.name} with the fixed values "
            f"{dict(space.fixed)}"
        )
    # The best rate; among zero rates, the first point that meets the bound's conditions.
    best_u = cloud[int(np.argmax(np.where(feasible, rates, -1.0)))]
    best_val = objective(best_u)
    if d > 0 and rates.max() > 0.0:
        for idx in np.argsort(-rates, kind="stable")[:n_starts]:
            if rates[idx] <= 0.0:
                break
            res = minimize(
                objective,
                cloud[idx],
                method="Nelder-Mead",
                bounds=[(0.0, 1.0)] * d,
                options={"xatol": 1e-6, "fatol": 1e-7, "maxfev": 2000},
            )
            evaluations += int(res.nfev)
            if res.fun < best_val:
                best_val, best_u = float(res.fun), np.asarray(res.x)
    mu, p, q = space.from_unit(best_u)
    rate = key_rate(
        b, channel, mu[0], p[0], q[0], block_size, eps_sec=eps_sec, kappa=kappa, eps_cor=eps_cor
    )
    params = DecoyParameters(
        intensities=tuple(float(v) for v in rate.intensities),
        probabilities=tuple(float(v) for v in rate.probabilities),
        q_key=float(q[0]),
    )
    return OptimisationResult(
        parameters=params, rate=rate, free=space.free, evaluations=evaluations
    )


def optimise_sweep(
    bound: str | FiniteKeyBound,
    channels: Sequence[ChannelModel],
    block_size: float,
    *,
    start: DecoyParameters | None = None,
    **options: object,
) -> list[OptimisationResult]:
    """Optimise along a sequence of channels (e.g. increasing distance), warm-starting each.

    Each point starts from the previous optimum while that had a positive key rate: distance
    continuation finds the narrow feasible region that a global search misses.
    ``options`` are passed to :func:`optimise_parameters`.
    """
    out: list[OptimisationResult] = []
    warm = start
    for ch in channels:
        res = optimise_parameters(bound, ch, block_size, start=warm, **options)  # type: ignore[arg-type]
        out.append(res)
        if res.statistic > 0.0:
            warm = res.parameters
    return out


def plan_parameters(
    bound: str | FiniteKeyBound,
    channel: ChannelModel,
    block_size: float,
    *,
    intensities: Sequence[float] | None = None,
    probabilities: Sequence[float] | None = None,
    q_key: float | None = None,
    optimise: bool = False,
    eps_sec: float | None = None,
    kappa: float | None = None,
    eps_cor: float = 1e-15,
    seed: int = 0,
) -> OptimisationResult:
    """Key rate at the given parameters, optimising those not given when ``optimise`` is set.

    ``probabilities`` are in the order of ``intensities`` (strongest first when intensities are
    not given). Without ``intensities`` the paper's fixed values apply (:data:`PAPER_FIXED`).

    Raises
    ------
    ValueError
        If a parameter is missing and ``optimise`` is not set, or nothing feasible is found.
    """
    b = get_bound(bound)
    if not optimise:
        if intensities is None or probabilities is None or q_key is None:
            raise ValueError("intensities, probabilities and q_key are needed without optimise")
        rate = key_rate(
            b, channel, intensities, probabilities, q_key, block_size,
            eps_sec=eps_sec, kappa=kappa, eps_cor=eps_cor,
        )  # fmt: skip
        params = DecoyParameters(
            intensities=tuple(float(v) for v in rate.intensities),
            probabilities=tuple(float(v) for v in rate.probabilities),
            q_key=float(q_key),
        )
        return OptimisationResult(parameters=params, rate=rate, free=(), evaluations=1)
    order = (
        np.argsort(-np.asarray(intensities), kind="stable")
        if intensities is not None
        else np.arange(b.n_intensities)
    )
    fixed: dict[str, float] = {}
    if intensities is None:
        fixed.update(PAPER_FIXED[b.name])
    else:
        fixed.update({f"mu{i + 1}": float(intensities[j]) for i, j in enumerate(order)})
    if probabilities is not None:
        fixed.update({f"p{i + 1}": float(probabilities[j]) for i, j in enumerate(order)})
    if q_key is not None:
        fixed["q_key"] = float(q_key)
    return optimise_parameters(
        b, channel, block_size, eps_sec=eps_sec, kappa=kappa, eps_cor=eps_cor, fixed=fixed,
        seed=seed,
    )  # fmt: skip


__all__ = [
    "PAPER_FIXED",
    "DecoyParameters",
    "OptimisationResult",
    "optimise_parameters",
    "optimise_sweep",
    "plan_parameters",
]
