"""evaltool: evaluation of QKD modules against ETSI GS QKD 016 and ISO/IEC 23837."""

__version__ = "0.1.0"
