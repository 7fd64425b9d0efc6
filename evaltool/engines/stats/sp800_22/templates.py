"""Aperiodic templates of the non-overlapping template matching test (SP 800-22 rev. 1a §2.7).

A template B of length m is aperiodic (non-self-overlapping) when no proper suffix of B equals
the prefix of the same length, so two occurrences can never overlap. The reference suite
(sts-2.1.2) reads them from ``templates/templateM`` files, which list them in increasing binary
value (checked for m = 9: 148 templates, from 000000001 to 111111110).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray


def is_aperiodic(value: int, length: int) -> bool:
    """Whether the ``length``-bit pattern ``value`` (MSB first) cannot overlap itself."""
    if length < 1 or not 0 <= value < (1 << length):
        raise ValueError(f"value {value} is not a {length}-bit pattern")
    for shift in range(1, length):
        keep = length - shift
        prefix = value >> shift
        suffix = value & ((1 << keep) - 1)
        if prefix == suffix:
            return False
    return True


@cache
def _aperiodic(length: int) -> tuple[int, ...]:
    return tuple(v for v in range(1 << length) if is_aperiodic(v, length))


def aperiodic_templates(length: int = 9) -> NDArray[np.int64]:
    """All aperiodic templates of ``length`` bits as integers, in the reference suite's order.

    For ``length = 9`` this gives the 148 templates of SP 800-22 rev. 1a §2.7 in the order of the
    reference implementation's ``templates/template9`` file (increasing value).
    """
    if not 2 <= length <= 21:
        raise ValueError(f"template length must be 2..21, got {length}")
    return np.array(_aperiodic(length), dtype=np.int64)


def template_string(value: int, length: int) -> str:
    """The template as a string of '0'/'1' characters, MSB first."""
    return format(int(value), f"0{length}b")


MAX_TEMPLATES = 148
"""At most this many templates are used by the reference suite (sts-2.1.2 ``MAXNUMOFTEMPLATES``)."""


def reference_templates(length: int = 9) -> NDArray[np.int64]:
    """The templates the reference suite actually tests for a template ``length``.

    sts-2.1.2 tests at most :data:`MAX_TEMPLATES` templates: when the template file holds more
    (``length >= 10``) it keeps every ``count // 148``-th one and stops after 148. For
    ``length <= 9`` this is :func:`aperiodic_templates` unchanged.
    """
    allt = aperiodic_templates(length)
    skip = 1 if allt.size < MAX_TEMPLATES else allt.size // MAX_TEMPLATES
    return allt[::skip][:MAX_TEMPLATES]
