"""SDTM stage: mapping engine, derivations and domain builders."""
