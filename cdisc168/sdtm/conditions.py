"""Row conditions written as data (``when:`` in the specs), evaluated vectorised on a frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.spec import Condition


def evaluate(condition: Condition, frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of the rows of ``frame`` meeting ``condition`` (missing values never match ``in``)."""
    if condition.all_of or condition.any_of:
        mask = pd.Series(True, index=frame.index)
        for child in condition.all_of:
            mask &= evaluate(child, frame)
        if condition.any_of:
            anyof = pd.Series(False, index=frame.index)
            for child in condition.any_of:
                anyof |= evaluate(child, frame)
            mask &= anyof
        return mask
    values = frame[condition.column]
    if condition.in_values is not None:
        return values.isin(condition.in_values).fillna(False).astype(bool)
    if condition.not_in_values is not None:
        return ~values.isin(condition.not_in_values).fillna(False).astype(bool)
    empty = values.isna() | values.astype("string").str.strip().eq("").fillna(True)
    return pd.Series(np.where(condition.empty, empty, ~empty), index=frame.index)
