"""ADaM stage: the derivation API and the analysis datasets."""
