"""Seeded synthetic C-CAR168 raw EDC data (one CSV per form, laid out as mappings/raw/forms.yaml)."""
