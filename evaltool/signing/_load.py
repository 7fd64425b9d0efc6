"""Import pyHanko once without its import-time deprecation warning.

pyHanko 0.38 names ``cryptography``'s DSA key class at import, which ``cryptography`` >= 46
answers with a ``CryptographyDeprecationWarning`` (a ``UserWarning``: it would be printed to
every user). evaltool never uses DSA; the warning is silenced for that one import only.
"""

from __future__ import annotations

import warnings


def load_pyhanko() -> None:
    """Import the pyHanko modules evaltool uses, silencing only the DSA notice."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        import pyhanko.sign
        import pyhanko.sign.validation  # noqa: F401
