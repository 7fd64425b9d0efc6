"""``evaltool rng sp800-90b``: NIST SP 800-90B min-entropy assessment of noise-source samples.

FILE holds one sample per byte, as the NIST SP800-90B_EntropyAssessment tool reads it (the low
``--bits-per-sample`` bits of each byte), or with ``--packed`` a packed bit stream read most
significant bit first, ``--bits-per-sample`` bits per sample. The non-IID track (default) runs
the ten estimators of §6.3; ``--iid`` runs the IID tests of §5 and the MCV estimate instead.
``--restart`` adds the restart tests of §3.1.4 on a second file of 1000 x 1000 samples, validating
the assessed entropy of FILE.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from numpy.typing import NDArray

from evaltool.errors import EvidenceError, InsufficientDataError

if TYPE_CHECKING:
    from evaltool.engines.stats.sp800_90b import (
        EstimatorResult,
        IIDResult,
        NonIIDResult,
        RestartResult,
    )

# The track's engine module is imported in the command, once the track is known: the IID and
# restart modules load scipy.stats, which the default non-IID track does not need (start-up
# time is a large share of a user's run, benchmarks/README.md).

_BIG_FILE = 1 << 31


def read_samples(path: Path, bits_per_sample: int, *, packed: bool) -> NDArray[np.uint8]:
    """Read samples from ``path``: one per byte, or ``bits_per_sample``-bit groups of a packed
    MSB-first bit stream. Raises :class:`EvidenceError` for unreadable or out-of-range data."""
    try:
        size = path.stat().st_size
        if size > _BIG_FILE:
            raise EvidenceError(f"file is larger than {_BIG_FILE} bytes", path=path)
        raw = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise EvidenceError("file not found", path=path) from None
    except IsADirectoryError:
        raise EvidenceError("is a directory, not a sample file", path=path) from None
    except OSError as exc:
        raise EvidenceError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    if raw.size == 0:
        raise InsufficientDataError("file is empty", path=path)
    if packed:
        bits = np.unpackbits(raw)
        n = bits.size // bits_per_sample
        if n == 0:
            raise InsufficientDataError("fewer bits than one sample", path=path)
        weights = (1 << np.arange(bits_per_sample - 1, -1, -1)).astype(np.uint8)
        return np.ascontiguousarray(
            (bits[: n * bits_per_sample].reshape(n, bits_per_sample) * weights).sum(
                axis=1, dtype=np.uint8
            )
        )
    limit = 1 << bits_per_sample
    bad = np.flatnonzero(raw >= limit)
    if bad.size:
        first = int(bad[0])
        raise EvidenceError(
            f"sample value {int(raw[first])} does not fit in {bits_per_sample} bits "
            f"({bad.size} such bytes)",
            path=path,
            location=f"byte {first}",
        )
    return raw


def _num(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def _estimator_json(
    orig: EstimatorResult | None, bit: EstimatorResult | None, multi_bit: bool
) -> dict[str, Any] | None:
    if orig is None and bit is None:
        return None
    out: dict[str, Any] = {
        "h": _num(orig.min_entropy) if orig else None,
        "p": _num(orig.p_u) if orig else None,
    }
    if multi_bit:
        out["h_bitstring"] = _num(bit.min_entropy) if bit else None
        out["p_bitstring"] = _num(bit.p_u) if bit else None
    return out


def _non_iid_json(res: NonIIDResult) -> dict[str, Any]:
    from evaltool.engines.stats.sp800_90b.non_iid import ESTIMATORS

    multi = res.h_bitstring is not None
    return {
        "bits_per_sample": res.bits_per_sample,
        "samples": res.n_samples,
        "h_original": _num(res.h_original),
        "h_bitstring": _num(res.h_bitstring),
        "h_assessed": _num(res.h_assessed),
        "estimators": {
            name: _estimator_json(
                res.estimators.get(name), res.bitstring_estimators.get(name), multi
            )
            for name in ESTIMATORS
        },
    }


def _iid_json(res: IIDResult) -> dict[str, Any]:
    multi = res.h_bitstring is not None
    perm = res.permutation
    return {
        "bits_per_sample": res.bits_per_sample,
        "samples": res.n_samples,
        "h_original": _num(res.h_original),
        "h_bitstring": _num(res.h_bitstring),
        "h_assessed": _num(res.h_assessed),
        "estimators": {"mcv": _estimator_json(res.mcv, res.bitstring_mcv, multi)},
        "iid": {
            "passed": res.passed,
            "statistics": {
                name: {
                    "value": _num(value),
                    "greater": perm.counts[name][0],
                    "equal": perm.counts[name][1],
                    "less": perm.counts[name][2],
                }
                for name, value in perm.statistics.items()
            },
            "permutation_passed": perm.passed,
            "permutations": perm.permutations_run,
            "seed": perm.seed,
            "chi_square": {
                "passed": res.chi_square_independence.pvalue >= 0.001
                and res.chi_square_goodness_of_fit.pvalue >= 0.001,
                "independence": {
                    "statistic": _num(res.chi_square_independence.statistic),
                    "df": res.chi_square_independence.df,
                    "pvalue": _num(res.chi_square_independence.pvalue),
                },
                "goodness_of_fit": {
                    "statistic": _num(res.chi_square_goodness_of_fit.statistic),
                    "df": res.chi_square_goodness_of_fit.df,
                    "pvalue": _num(res.chi_square_goodness_of_fit.pvalue),
                },
            },
            "lrs": {
                "passed": res.lrs.passed,
                "w": res.lrs.w,
                "p_col": _num(res.lrs.p_col),
                "pvalue": _num(res.lrs.pvalue),
            },
        },
    }


def _restart_json(res: RestartResult) -> dict[str, Any]:
    return {
        "passed": res.passed,
        "h_initial": _num(res.h_initial),
        "sanity": {
            "passed": res.sanity_passed,
            "cutoff": res.cutoff,
            "max_row_count": res.max_row_count,
            "max_column_count": res.max_column_count,
        },
        "validation": {
            "passed": res.validation_passed,
            "h_row": _num(res.h_row),
            "h_column": _num(res.h_column),
        },
        "h_final": _num(res.h_final),
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.6f}"


def _fmt_p(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.6g}"


def _print_text(doc: dict[str, Any]) -> None:
    b = doc["bits_per_sample"]
    click.echo(f"samples: {doc['samples']}  bits per sample: {b}")
    click.echo(f"{'estimator':<12} {'H (samples)':>12} {'p':>12} {'H (bits)':>10}")
    for name, est in doc["estimators"].items():
        if est is None:
            click.echo(f"{name:<12} {'skipped':>12}")
            continue
        click.echo(
            f"{name:<12} {_fmt(est['h']):>12} {_fmt_p(est['p']):>12} "
            f"{_fmt(est.get('h_bitstring')):>10}"
        )
    click.echo(f"H_original: {_fmt(doc['h_original'])}")
    if doc["h_bitstring"] is not None:
        click.echo(f"H_bitstring: {_fmt(doc['h_bitstring'])}")
    click.echo(f"assessed min-entropy: {_fmt(doc['h_assessed'])} bits per sample")
    if "iid" in doc:
        iid = doc["iid"]
        click.echo(
            f"IID tests: {'passed' if iid['passed'] else 'failed'} (permutation "
            f"{'passed' if iid['permutation_passed'] else 'failed'}, chi-square "
            f"{'passed' if iid['chi_square']['passed'] else 'failed'}, LRS "
            f"{'passed' if iid['lrs']['passed'] else 'failed'})"
        )
    if "restart" in doc:
        rs = doc["restart"]
        click.echo(
            f"restart tests: {'passed' if rs['passed'] else 'failed'} (sanity "
            f"{'passed' if rs['sanity']['passed'] else 'failed'}, max count "
            f"{max(rs['sanity']['max_row_count'], rs['sanity']['max_column_count'])} <= cutoff "
            f"{rs['sanity']['cutoff']}; H_r {_fmt(rs['validation']['h_row'])}, "
            f"H_c {_fmt(rs['validation']['h_column'])})"
        )


@click.command("sp800-90b")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--bits-per-sample",
    "-b",
    "bits_per_sample",
    type=click.IntRange(1, 8),
    required=True,
    help="Sample width in bits (1-8).",
)
@click.option(
    "--iid/--non-iid",
    "iid",
    default=False,
    help="IID track (SP 800-90B §5: permutation, chi-square, LRS tests, MCV estimate) or "
    "non-IID track (§6.3, the default).",
)
@click.option(
    "--restart",
    "restart_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Restart data (1000 restarts x 1000 samples, restart by restart) for §3.1.4.",
)
@click.option("--packed", is_flag=True, help="FILE is a packed bit stream, MSB first.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sp800_90b(
    file: Path,
    bits_per_sample: int,
    iid: bool,
    restart_file: Path | None,
    packed: bool,
    as_json: bool,
) -> None:
    """Assess the min-entropy per sample of noise-source samples (NIST SP 800-90B)."""
    samples = read_samples(file, bits_per_sample, packed=packed)
    try:
        if iid:
            from evaltool.engines.stats.sp800_90b.iid import assess_iid

            doc = _iid_json(assess_iid(samples, bits_per_sample))
        else:
            from evaltool.engines.stats.sp800_90b.non_iid import assess_non_iid

            doc = _non_iid_json(assess_non_iid(samples, bits_per_sample))
    except InsufficientDataError as exc:
        raise InsufficientDataError(exc.message, path=file) from None
    if restart_file is not None:
        restart = read_samples(restart_file, bits_per_sample, packed=packed)
        if restart.size != 1_000_000:
            raise InsufficientDataError(
                f"restart data must hold 1000 x 1000 = 1000000 samples, got {restart.size}",
                path=restart_file,
            )
        from evaltool.engines.stats.sp800_90b.restart import restart_tests

        h_initial = float(doc["h_assessed"] or 0.0)
        doc["restart"] = _restart_json(restart_tests(restart, bits_per_sample, h_initial, iid=iid))
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        _print_text(doc)
