"""Non-IID track of SP 800-90B: the ten estimators of §6.3 and their combination (§3.1.3).

For samples with more than two distinct values, every estimator that applies also runs on the
bit string of the samples (``bits_per_sample`` bits each, most significant first), giving
``H_bitstring``; the collision, Markov and compression estimates are defined for binary data only
and run on the samples themselves only when those take exactly two values. The assessed
min-entropy per sample is ``min(bits_per_sample, H_original, bits_per_sample * H_bitstring)``
(§3.1.3; ``H_submitter`` is left to the caller). An estimator whose preconditions fail (too few
blocks, no tuple repeated 35 times, ...) is skipped and reported as ``None``, as the NIST
SP800-90B_EntropyAssessment tool does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaltool.engines._input import require_min_length
from evaltool.engines.stats.sp800_90b._common import (
    MIN_SAMPLES,
    EstimatorResult,
    prepare_samples,
)
from evaltool.engines.stats.sp800_90b._entropic import (
    collision,
    compression,
    markov,
    most_common_value,
)
from evaltool.engines.stats.sp800_90b._predictors import lag, lz78y, multi_mcw, multi_mmc
from evaltool.engines.stats.sp800_90b._tuples import tuple_estimates
from evaltool.errors import InsufficientDataError

#: Estimator keys in the order of SP 800-90B §6.3.1-§6.3.10.
ESTIMATORS: tuple[str, ...] = (
    "mcv",
    "collision",
    "markov",
    "compression",
    "t-tuple",
    "lrs",
    "multi-mcw",
    "lag",
    "multi-mmc",
    "lz78y",
)


@dataclass(frozen=True, slots=True)
class NonIIDResult:
    """Min-entropy assessment of a sample sequence by the non-IID track (§6.3, §3.1.3).

    Attributes
    ----------
    bits_per_sample:
        Declared sample width ``B`` (1..8).
    n_samples:
        Number of samples assessed.
    alphabet_size:
        Number of distinct values observed.
    h_original:
        ``min(B, estimates on the samples)``, bits per sample.
    h_bitstring:
        ``min(1, estimates on the bit string)``, bits per bit; ``None`` when the samples take at
        most two values (no bit-string track).
    h_assessed:
        ``min(B, H_original, B * H_bitstring)``, bits per sample.
    estimators:
        Estimates on the samples, keyed as :data:`ESTIMATORS`; ``None`` for an estimator that was
        skipped (does not apply or its preconditions failed).
    bitstring_estimators:
        Estimates on the bit string (empty without a bit-string track).
    """

    bits_per_sample: int
    n_samples: int
    alphabet_size: int
    h_original: float
    h_bitstring: float | None
    h_assessed: float
    estimators: Mapping[str, EstimatorResult | None] = field(default_factory=dict)
    bitstring_estimators: Mapping[str, EstimatorResult | None] = field(default_factory=dict)


def _optional(fn: Callable[[], EstimatorResult]) -> EstimatorResult | None:
    try:
        return fn()
    except InsufficientDataError:
        return None


def _tasks(
    seq: NDArray[np.uint8], k: int, binary_estimates: bool
) -> list[tuple[str, Callable[[], object]]]:
    """Estimator jobs for one sequence, heaviest first (the kernels release the GIL)."""
    jobs: list[tuple[str, Callable[[], object]]] = [
        ("tuples", lambda: tuple_estimates(seq)),
        ("multi-mmc", lambda: _optional(lambda: multi_mmc(seq, k))),
        ("lag", lambda: _optional(lambda: lag(seq, k))),
        ("lz78y", lambda: _optional(lambda: lz78y(seq, k))),
        ("multi-mcw", lambda: _optional(lambda: multi_mcw(seq, k))),
    ]
    if binary_estimates:
        jobs += [
            ("compression", lambda: _optional(lambda: compression(seq))),
            ("collision", lambda: _optional(lambda: collision(seq))),
            ("markov", lambda: _optional(lambda: markov(seq))),
        ]
    jobs.append(("mcv", lambda: most_common_value(seq)))
    return jobs


def _collect(
    results: dict[str, object], binary_estimates: bool
) -> dict[str, EstimatorResult | None]:
    out: dict[str, EstimatorResult | None] = dict.fromkeys(ESTIMATORS)
    for name, value in results.items():
        if name == "tuples":
            pair: tuple[EstimatorResult | None, EstimatorResult | None] = value  # type: ignore[assignment]
            out["t-tuple"], out["lrs"] = pair
        else:
            out[name] = value  # type: ignore[assignment]
    if not binary_estimates:
        out["collision"] = out["markov"] = out["compression"] = None
    return out


def _run_all(
    seq: NDArray[np.uint8], k: int, binary_estimates: bool
) -> dict[str, EstimatorResult | None]:
    results = {name: job() for name, job in _tasks(seq, k, binary_estimates)}
    return _collect(results, binary_estimates)


def _run_tracks(
    tracks: list[tuple[NDArray[np.uint8], int, bool]], workers: int
) -> list[dict[str, EstimatorResult | None]]:
    jobs = [
        (t, name, job)
        for t, (seq, k, binary) in enumerate(tracks)
        for name, job in _tasks(seq, k, binary)
    ]
    # heaviest first: the longest sequence's suffix-array and predictor jobs
    jobs.sort(key=lambda item: -tracks[item[0]][0].size)
    raw: list[dict[str, object]] = [{} for _ in tracks]
    if workers <= 1:
        for t, name, job in jobs:
            raw[t][name] = job()
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [(t, name, pool.submit(job)) for t, name, job in jobs]
            for t, name, fut in futures:
                raw[t][name] = fut.result()
    return [_collect(raw[t], tracks[t][2]) for t in range(len(tracks))]


def assess_non_iid(
    samples: ArrayLike,
    bits_per_sample: int,
    *,
    truncate_bitstring: bool = False,
    min_samples: int = MIN_SAMPLES,
    workers: int = 2,
) -> NonIIDResult:
    """Assess the min-entropy per sample of a noise-source sequence, SP 800-90B §6.3 / §3.1.3.

    Parameters
    ----------
    samples:
        One sample per element, values in ``0 .. 2**bits_per_sample - 1``.
    bits_per_sample:
        Sample width ``B`` in bits (1..8).
    truncate_bitstring:
        Assess only the first 1,000,000 bits of the bit string (the reference tool's ``-t``);
        by default the whole bit string is used (its ``-a``).
    min_samples:
        Fewest samples accepted; §3.1.1 asks for 1,000,000 (the default). Fewer raise
        :class:`~evaltool.errors.InsufficientDataError`.
    workers:
        Threads running estimators concurrently (results do not depend on it).

    Returns
    -------
    NonIIDResult
        ``h_assessed`` is 0 when the samples take a single value (no entropy).
    """
    prepared = prepare_samples(samples, bits_per_sample)
    n = int(prepared.symbols.size)
    require_min_length(
        n, max(int(min_samples), 20), test="SP 800-90B non-IID assessment", unit="samples"
    )
    width = prepared.bits_per_sample
    k = prepared.alphabet_size
    if k <= 1:
        empty = dict.fromkeys(ESTIMATORS)
        return NonIIDResult(width, n, k, 0.0, None, 0.0, empty, {})

    tracks = [(prepared.symbols, k, k == 2)]
    if k > 2:
        bits = prepared.bits
        if truncate_bitstring and bits.size > MIN_SAMPLES:
            bits = bits[:MIN_SAMPLES]
        tracks.append((np.ascontiguousarray(bits), 2, True))
    done = _run_tracks(tracks, max(1, int(workers)))
    original = done[0]
    h_original = float(width)
    for res in original.values():
        if res is not None:
            h_original = min(h_original, res.min_entropy)

    bit_results: dict[str, EstimatorResult | None] = {}
    h_bitstring: float | None = None
    h_assessed = min(float(width), h_original)
    if k > 2:
        bit_results = done[1]
        h_bitstring = 1.0
        for res in bit_results.values():
            if res is not None:
                h_bitstring = min(h_bitstring, res.min_entropy)
        h_assessed = min(h_assessed, width * h_bitstring)
    return NonIIDResult(width, n, k, h_original, h_bitstring, h_assessed, original, bit_results)
