"""Presentation only: results in, HTML / PDF / JSON / JUnit out. Nothing is recomputed here."""
