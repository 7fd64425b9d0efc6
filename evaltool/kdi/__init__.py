"""Live tests of the key-delivery interface (ETSI GS QKD 014 V1.1.1): the reference KME pair
(:mod:`evaltool.kdi.kme`) and the probe that records a test plan against a KME pair
(:mod:`evaltool.kdi.probe`). See ``docs/kme.md``."""
