"""Pure computation: arrays in, frozen dataclasses out.

Engines implement the mathematics of the standards (SP 800-22, SP 800-90B, finite-key bounds,
leakage statistics). They know nothing of profiles, verdicts, thresholds, pydantic or files.
"""
