"""Checks of the SDTM/ADaM outputs: pandera schemas generated from the specs, and conformance rules."""
