"""Engine package."""

from __future__ import annotations

from evaltool.lazy import lazy_exports

# --- post-processing: sifting, Cascade, verification, privacy amplification, authentication ---
# Imported on first use so that importing the package does not load the compiled kernels.

_POSTPROCESSING_EXPORTS: dict[str, str] = {
    "CascadeAlgorithm": "cascade",
    "CascadeResult": "cascade",
    "CascadeSimulation": "cascade",
    "cascade_block_sizes": "cascade",
    "cascade_permutation": "cascade",
    "cascade_reconcile": "cascade",
    "cascade_simulate": "cascade",
    "leakage_floor_bits": "cascade",
    "transcript_leakage": "cascade",
    "VerificationResult": "verification",
    "verification_seed_bits": "verification",
    "verification_tag_bits": "verification",
    "verify_keys": "verification",
    "ToeplitzHashResult": "toeplitz",
    "toeplitz_hash": "toeplitz",
    "toeplitz_hash_direct": "toeplitz",
    "toeplitz_seed_from_row_column": "toeplitz",
    "toeplitz_seed_length": "toeplitz",
    "AuthKeyPool": "auth",
    "AuthTag": "auth",
    "KeyReuseError": "auth",
    "KeySegment": "auth",
    "WegmanCarterAuthenticator": "auth",
    "forgery_bound": "auth",
    "forgery_probability": "auth",
    "polynomial_hash": "auth",
    "required_tag_bits": "auth",
    "wegman_carter_tag": "auth",
    "SiftingResult": "sifting",
    "sift": "sifting",
}


__getattr__ = lazy_exports(__name__, _POSTPROCESSING_EXPORTS)
