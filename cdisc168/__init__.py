"""cdisc168: C-CAR168 raw EDC data to an SDTM/ADaM regulatory submission package."""

__version__ = "0.1.0"
