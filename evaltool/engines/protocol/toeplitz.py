"""Toeplitz-matrix hashing over GF(2) for privacy amplification.

A Toeplitz matrix ``T`` of shape ``ell x n`` over GF(2) is fixed by ``n + ell - 1`` seed bits ``t``:
``T[i, j] = t[j - i + ell - 1]``. The family ``x -> T x`` (mod 2) with a uniform seed is 2-universal
(XOR-universal), which is what the leftover hash lemma needs (Tomamichel, Schaffner, Smith, Renner,
IEEE TIT 57 (2011) 5524, arXiv:1002.2436; ``docs/methods/toeplitz.md``).

Four implementations are provided, all exact:

* :func:`toeplitz_hash_direct`: the defining matrix-vector product, row by row (reference; also
  usable on a subset of rows to spot-check long blocks);
* :func:`toeplitz_hash` with ``method="karatsuba"``: bits packed 64 to a word and the
  product computed by the three-product Toeplitz split down to blocks of at most 4096 bits,
  multiplied with the processor's carry-less multiply
  (:mod:`evaltool.engines.protocol._toeplitz_kara`); integer arithmetic only, so exact by
  construction;
* :func:`toeplitz_hash` with ``method="additive"``: ``y`` is the middle product of ``t`` and
  ``x`` over GF(2), computed by an additive FFT over GF(2^64) in the Lin-Chung-Han basis and the
  transposition principle (:mod:`evaltool.engines.protocol._gf2_fft`); field arithmetic only, so
  exact by construction, and ``O(n log n)``;
* ``method="auto"`` (default) takes the additive FFT on long blocks and Karatsuba on short ones
  (:func:`_auto_method`);
* :func:`toeplitz_hash` with ``method="fft"``: ``y`` is the middle part of an integer correlation
  of ``t`` and ``x``; one cyclic convolution of length ``n + ell - 1`` (no zero padding is needed
  for the rows of full overlap) computed with real FFTs in float64, then rounded to integers and
  reduced mod 2. Every convolution value is an integer in ``[0, n]``; the rounding residual is
  measured on every call and the call fails loudly if it ever exceeds :data:`ROUNDING_MARGIN`,
  so a result is either exact or not returned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

from evaltool.engines._input import as_bits
from evaltool.engines.protocol import _gf2_fft, _toeplitz_kara

__all__ = [
    "ADDITIVE_MIN_BITS",
    "ROUNDING_MARGIN",
    "ToeplitzHashResult",
    "toeplitz_hash",
    "toeplitz_hash_direct",
    "toeplitz_seed_from_row_column",
    "toeplitz_seed_length",
]

ROUNDING_MARGIN = 0.25
"""Largest accepted distance between an FFT convolution value and its nearest integer.

Values are integers, so any residual below 0.5 still rounds correctly; 0.25 leaves a factor of two
of headroom (observed residuals: ``benchmarks/bench_toeplitz.py``).
"""


ADDITIVE_MIN_BITS = 60_000
"""``method="auto"`` uses the additive FFT when ``n + ell`` is at least this, Karatsuba below."""


def _auto_method(n: int, ell: int) -> Literal["karatsuba", "additive"]:
    """Pick the faster exact path: Karatsuba below :data:`ADDITIVE_MIN_BITS`, additive above.

    Karatsuba costs about ``n ell^0.585`` word operations, the additive FFT (a middle product on
    ``2^k >= (n + ell) / 32`` points) about ``(n + ell) log(n + ell)``, so Karatsuba wins on short
    blocks and the FFT on long ones. The threshold is where the two crossed on the development
    machine; the timings are recorded in ``benchmarks/bench_toeplitz.py``.
    """
    return "additive" if n + ell >= ADDITIVE_MIN_BITS else "karatsuba"


@dataclass(frozen=True, slots=True)
class ToeplitzHashResult:
    """Output of a Toeplitz hash with the quantities an audit needs.

    Attributes
    ----------
    output:
        The ``ell`` output bits ``T x mod 2`` (uint8, 0/1).
    input_bits:
        ``n``, copied from the input length.
    output_bits:
        ``ell``, the requested output length.
    seed_bits:
        ``n + ell - 1``, the seed length consumed.
    max_rounding_residual:
        Largest distance of a used convolution value to its integer (float FFT path; 0 for the
        others, which are exact by construction).
    method:
        The implementation that ran (``"karatsuba"``, ``"additive"`` or ``"fft"``).
    """

    output: NDArray[np.uint8]
    input_bits: int
    output_bits: int
    seed_bits: int
    max_rounding_residual: float
    method: str


def toeplitz_seed_length(n: int, ell: int) -> int:
    """Return the seed length ``n + ell - 1`` of an ``ell x n`` Toeplitz matrix."""
    if n < 1 or ell < 1:
        raise ValueError(f"Toeplitz dimensions must be positive, got n={n}, ell={ell}")
    return n + ell - 1


def toeplitz_seed_from_row_column(
    first_row: ArrayLike, first_column: ArrayLike
) -> NDArray[np.uint8]:
    """Build the seed ``t`` from the first row ``r`` (n bits) and first column ``c`` (ell bits).

    With ``T[i, j] = r[j - i]`` for ``j >= i`` and ``c[i - j]`` otherwise (the convention of the
    public 512x256 vectors of ``test_vectors/protocol/toeplitz/``) the seed is
    ``t = reversed(c[1:]) + r``.

    Raises
    ------
    ValueError
        If ``r[0] != c[0]`` (the corner bit is shared) or the inputs are not bits.
    """
    r = as_bits(first_row)
    c = as_bits(first_column)
    if r.size < 1 or c.size < 1:
        raise ValueError("first row and first column must be non-empty")
    if r[0] != c[0]:
        raise ValueError("first row and first column must agree on the corner bit r[0] == c[0]")
    return np.ascontiguousarray(np.concatenate([c[:0:-1], r]), dtype=np.uint8)


def _check_shapes(x: NDArray[np.uint8], seed: NDArray[np.uint8], ell: int) -> None:
    if ell < 1:
        raise ValueError(f"output length ell must be >= 1, got {ell}")
    if x.size < 1:
        raise ValueError("input must contain at least one bit")
    need = x.size + ell - 1
    if seed.size != need:
        raise ValueError(
            f"Toeplitz seed must have n + ell - 1 = {need} bits for n={x.size}, ell={ell}, "
            f"got {seed.size}"
        )


@numba.njit(cache=True, nogil=True)
def _direct_rows(
    x: NDArray[np.uint8], t: NDArray[np.uint8], ell: int, rows: NDArray[np.int64]
) -> NDArray[np.uint8]:
    n = x.size
    out = np.zeros(rows.size, dtype=np.uint8)
    for r in range(rows.size):
        i = rows[r]
        off = ell - 1 - i
        acc = 0
        for j in range(n):
            acc ^= x[j] & t[j + off]
        out[r] = acc
    return out


def toeplitz_hash_direct(
    x: ArrayLike, seed: ArrayLike, ell: int, *, rows: ArrayLike | None = None
) -> NDArray[np.uint8]:
    """Compute ``T x mod 2`` by the defining sum, ``y_i = XOR_j T[i, j] x_j``.

    Parameters
    ----------
    x:
        Input bits, length ``n``.
    seed:
        Seed bits ``t``, length ``n + ell - 1``; ``T[i, j] = t[j - i + ell - 1]``.
    ell:
        Output length.
    rows:
        Optional output indices to compute (all ``ell`` rows if omitted). Cost is
        ``O(n * len(rows))``, so a subset spot-checks the fast path on long blocks.

    Returns
    -------
    numpy.ndarray
        The requested output bits (uint8 0/1), in the order of ``rows``.
    """
    xb = as_bits(x)
    t = as_bits(seed)
    _check_shapes(xb, t, ell)
    if rows is None:
        idx = np.arange(ell, dtype=np.int64)
    else:
        idx = np.asarray(rows, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= ell):
            raise ValueError(f"rows must lie in [0, {ell})")
    return _direct_rows(xb, t, ell, idx)


def _default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def toeplitz_hash(
    x: ArrayLike,
    seed: ArrayLike,
    ell: int,
    *,
    method: Literal["auto", "karatsuba", "additive", "fft"] = "auto",
    workers: int | None = None,
) -> ToeplitzHashResult:
    """Compute the Toeplitz hash ``T x mod 2`` exactly (fast path).

    Parameters
    ----------
    x:
        Input bits, length ``n`` (the reconciled key).
    seed:
        Seed bits ``t``, length ``n + ell - 1``; ``T[i, j] = t[j - i + ell - 1]``. Use a fresh
        uniform seed per block (the leftover hash lemma assumes a seed independent of ``x``).
    ell:
        Output length (the final key length from the finite-key bound).
    method:
        ``"auto"`` (default: additive when ``n + ell >=`` :data:`ADDITIVE_MIN_BITS`, else
        karatsuba),
        ``"karatsuba"`` (packed words, carry-less multiply),
        ``"additive"`` (additive FFT over GF(2^64)) or ``"fft"`` (float64 FFT with a checked
        rounding margin).
    workers:
        Threads (default: up to 2).

    Returns
    -------
    ToeplitzHashResult

    Raises
    ------
    ArithmeticError
        FFT method only: if a convolution value is farther than :data:`ROUNDING_MARGIN` from an
        integer (the check guarantees that an inexact result is never returned).

    Notes
    -----
    FFT method: with ``xr`` the reversed input, ``conv(t, xr)[k] = sum_j t[j + k - n + 1] x_j``
    so that ``y_i = conv[n + ell - 2 - i]``. Those indices are ``>= n - 1``; the linear convolution
    has no term beyond ``n + ell - 2 + n - 1`` and so a cyclic convolution of length
    ``L >= n + ell - 1`` never wraps onto them (``docs/methods/toeplitz.md``).

    Karatsuba method: see :mod:`evaltool.engines.protocol._toeplitz_kara`; the cost grows as
    ``n ell^0.585`` word operations.

    Additive method: see :mod:`evaltool.engines.protocol._gf2_fft`; ``y`` is the middle product
    of ``t`` and ``x`` over GF(2), computed with 32 input bits per GF(2^64) element and three
    transforms of ``2^k >= (n + ell) / 32`` points (the transposed full product).
    """
    xb = as_bits(x)
    t = as_bits(seed)
    _check_shapes(xb, t, ell)
    n = xb.size
    w = _default_workers() if workers is None else int(workers)
    if method == "auto":
        method = _auto_method(n, ell)
    if method in ("karatsuba", "additive"):
        product = (_toeplitz_kara.toeplitz_product if method == "karatsuba"
                   else _gf2_fft.toeplitz_product)
        out = product(xb, t, ell, workers=w)
        return ToeplitzHashResult(output=out, input_bits=n, output_bits=ell, seed_bits=n + ell - 1,
                                  max_rounding_residual=0.0, method=method)
    if method != "fft":
        raise ValueError(
            f"method must be 'auto', 'karatsuba', 'additive' or 'fft', got {method!r}")
    length = scipy.fft.next_fast_len(n + ell - 1, real=True)
    fx = scipy.fft.rfft(xb[::-1].astype(np.float64), n=length, workers=w)
    ft = scipy.fft.rfft(t.astype(np.float64), n=length, workers=w)
    fx *= ft
    del ft
    conv = scipy.fft.irfft(fx, n=length, workers=w, overwrite_x=True)
    used = conv[n - 1 : n + ell - 1][::-1]
    rounded = np.rint(used)
    residual = float(np.max(np.abs(used - rounded))) if used.size else 0.0
    if residual > ROUNDING_MARGIN:
        raise ArithmeticError(
            f"FFT rounding residual {residual:.3g} exceeds {ROUNDING_MARGIN}; result not exact"
        )
    out = (rounded.astype(np.int64) & 1).astype(np.uint8)
    return ToeplitzHashResult(
        output=out,
        input_bits=n,
        output_bits=ell,
        seed_bits=n + ell - 1,
        max_rounding_residual=residual,
        method="fft",
    )
