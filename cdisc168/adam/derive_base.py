"""Baseline value and change from baseline for BDS datasets (ADaMIG 1.3 §3.3.4, BASE/BASEC/CHG/PCHG)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cdisc168.adam.derive_support import (
    Condition,
    column_name,
    column_names,
    condition_mask,
    numbers,
    require_absent,
    require_columns,
    require_frame,
)

BDS_BASE_KEYS = ("STUDYID", "USUBJID", "PARAMCD", "BASETYPE")


def derive_var_base(
    dataset: pd.DataFrame,
    by_vars: Sequence[str] = BDS_BASE_KEYS,
    source_var: str = "AVAL",
    new_var: str = "BASE",
    base_flag: str = "ABLFL",
) -> pd.DataFrame:
    """Copy the baseline record's value to every record of its by group (admiral ``derive_var_base``).

    ``new_var`` = ``source_var`` of the record with ``base_flag`` = "Y" in the same ``by_vars``
    group (subject, parameter and BASETYPE by default; ADaMIG 1.3 §3.3.4: BASE "contains the value
    of AVAL copied from a record within the parameter on which ABLFL = 'Y'", per BASETYPE if
    present). Use ``source_var="AVALC", new_var="BASEC"`` for the character baseline. A group
    without a baseline record gets null; a group with more than one is an error (ValueError naming
    the group). Drop BASETYPE from ``by_vars`` when the dataset has a single baseline definition.

    Example:

    >>> import pandas as pd
    >>> adlb = pd.DataFrame({"USUBJID": ["S-1"] * 2, "PARAMCD": ["IGG"] * 2,
    ...                      "AVAL": [8.7, 6.0], "ABLFL": ["Y", None]})
    >>> derive_var_base(adlb, by_vars=["USUBJID", "PARAMCD"])["BASE"].tolist()
    [8.7, 8.7]
    """
    dataset = require_frame(dataset, "dataset")
    keys = list(column_names(by_vars, "by_vars"))
    source_var = column_name(source_var, "source_var")
    new_var = column_name(new_var, "new_var")
    base_flag = column_name(base_flag, "base_flag")
    require_columns(dataset, keys, "by_vars")
    require_columns(dataset, [source_var], "source_var")
    require_columns(dataset, [base_flag], "base_flag")
    require_absent(dataset, [new_var], "new_var")
    baseline = dataset.loc[dataset[base_flag].eq("Y").fillna(False).to_numpy(dtype=bool), [*keys, source_var]]
    repeated = baseline.duplicated(keys, keep=False)
    if repeated.any():
        example = baseline.loc[repeated, keys].iloc[0].tolist()
        raise ValueError(
            f"base_flag: more than one {base_flag} = 'Y' record in a by group of {', '.join(keys)} "
            f"(e.g. {example}); a baseline is one record per group"
        )
    lookup = baseline.rename(columns={source_var: new_var}).reset_index(drop=True)
    merged = dataset.merge(lookup, how="left", on=keys, sort=False, validate="many_to_one")
    merged.index = dataset.index
    return merged


def derive_vars_chg(
    dataset: pd.DataFrame,
    by_vars: Sequence[str] = BDS_BASE_KEYS,
    source_var: str = "AVAL",
    base_flag: str = "ABLFL",
    filter: Condition | None = None,
) -> pd.DataFrame:
    """Add BASE (when absent), CHG and PCHG (admiral ``derive_var_base``, ``_chg``, ``_pchg``).

    BASE comes from :func:`derive_var_base` (``source_var`` on the ``base_flag`` record per
    ``by_vars``); if the dataset already has BASE it is used as it is (e.g. a BASE derived from a
    DTYPE record). Then, on the records selected by ``filter`` (all when None):

    - CHG = AVAL − BASE (ADaMIG 1.3 §3.3.4);
    - PCHG = 100 × (AVAL − BASE) / BASE (ADaMIG 1.3 §3.3.4 and STUDY.md §3.3; admiral divides by
      ``abs(BASE)`` instead, which only differs for a negative baseline).

    ==================  ============  ====================  ===========
    AVAL                BASE          CHG                   PCHG
    ==================  ============  ====================  ===========
    present             present ≠ 0   AVAL − BASE           100·CHG/BASE
    present             0             AVAL − 0              null
    missing or          missing       null                  null
    outside ``filter``
    ==================  ============  ====================  ===========

    ADaMIG 1.3 requires CHG and PCHG on every post-baseline record and leaves baseline and
    pre-baseline records to the producer: by default they are populated wherever calculable (so the
    baseline record has CHG 0, PCHG 0); pass ``filter`` (e.g. records after the baseline date) to
    leave the others null. Records outside ``filter`` keep BASE.

    Example (BASE 0 → PCHG null):

    >>> import pandas as pd
    >>> adlb = pd.DataFrame({"USUBJID": ["S-1"] * 4, "PARAMCD": ["CD19"] * 2 + ["IGG"] * 2,
    ...                      "AVAL": [0.0, 5.0, 10.0, 6.0], "ABLFL": ["Y", None, "Y", None]})
    >>> derive_vars_chg(adlb, by_vars=["USUBJID", "PARAMCD"])[["BASE", "CHG", "PCHG"]]
       BASE  CHG  PCHG
    0   0.0  0.0   NaN
    1   0.0  5.0   NaN
    2  10.0  0.0   0.0
    3  10.0 -4.0 -40.0
    """
    dataset = require_frame(dataset, "dataset")
    source_var = column_name(source_var, "source_var")
    require_columns(dataset, [source_var], "source_var")
    value = numbers(dataset, source_var, "source_var")
    require_absent(dataset, ["CHG", "PCHG"], "dataset")
    selected = condition_mask(dataset, filter, "filter")
    out = (
        dataset
        if "BASE" in dataset.columns
        else derive_var_base(dataset, by_vars, source_var, "BASE", base_flag)
    )
    base = numbers(out, "BASE", "dataset")
    change = (value - base).where(selected)
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = (100.0 * change / base).where(base != 0)
    out = out.copy()
    out["CHG"] = change.astype("float64")
    out["PCHG"] = percent.astype("float64")
    return out
