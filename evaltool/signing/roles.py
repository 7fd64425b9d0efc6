"""Names shared by signing and verification (no cryptography imported here)."""

from __future__ import annotations

from evaltool.report.canonical import RESULTS_NAME, SIGNATURE_NAME

REPORT_NAME = "report.pdf"
"""As ``OUTPUT_NAMES[OutputFormat.PDF]`` of :mod:`evaltool.report.outputs` (which loads the
renderers, not needed to list the roles)."""

ROLES: tuple[str, ...] = ("evaluator", "reviewer", "approver")
"""Who signs an evaluation technical report, in the order a lab's release process has them sign."""

ROLE_URN_PREFIX = "urn:evaltool:role:"
"""The claimed role is carried as ``RoleSyntax.roleName`` = this prefix + the role (a URI general
name; RFC 5755 §4.4.5, in the signer-attributes-v2 attribute of ETSI EN 319 122-1 §5.2.6.1)."""

__all__ = ["REPORT_NAME", "RESULTS_NAME", "ROLES", "ROLE_URN_PREFIX", "SIGNATURE_NAME"]
