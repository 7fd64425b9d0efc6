"""Evaluation campaigns: many bundles audited with one profile, on one machine or a Dask cluster.

:mod:`~evaltool.campaign.plan` reads and checks a campaign file before any work starts,
:mod:`~evaltool.campaign.unit` is one work unit (one bundle, audited exactly as ``evaltool audit``
does), :mod:`~evaltool.campaign.executor` runs units serially or on Dask, and
:mod:`~evaltool.campaign.run` checkpoints finished units and writes the campaign summary. The
engines know nothing of this layer. See ``docs/campaigns.md``.
"""
