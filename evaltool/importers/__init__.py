"""Bringing lab and vendor files into evidence bundles (``docs/importing.md``).

* :mod:`.table` - a vendor's CSV or JSON-lines export through a declarative mapping
  (:mod:`evaltool.model.mapping`), with exact unit conversions (:mod:`.units`).
"""
