"""Signed evaluation outputs (``docs/signing.md``).

* :mod:`.keys` loads a signer's key and certificate (PEM or PKCS#12) and refuses a key that does
  not match its certificate or a certificate not meant for signatures.
* :mod:`.sign` adds a PAdES signature to ``report.pdf`` as an incremental update (ETSI EN 319 142-1)
  and a detached CAdES signature over ``results.json`` (``results.json.p7s``, ETSI EN 319 122-1),
  each carrying the signer's role as a claimed signer attribute, both written atomically.
* :mod:`.verify` checks every signature of a result set against the lab's trust anchors.

The cryptography is pyHanko's (PAdES, CMS, path validation) and ``cryptography``'s (keys,
certificates); nothing here computes a signature by hand.
"""

from __future__ import annotations

from evaltool.signing.roles import ROLES, SIGNATURE_NAME

__all__ = ["ROLES", "SIGNATURE_NAME"]
