"""Record flags: treatment-emergent (TRTEMFL) and first/last records (ABLFL, ANL01FL, …)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cdisc168.adam.derive_support import (
    Condition,
    OrderItem,
    choice,
    column_name,
    column_names,
    condition_mask,
    datetimes,
    order_columns,
    order_items,
    require_absent,
    require_columns,
    require_frame,
    sort_records,
    text_series,
)


def _less(left: pd.Series, right: pd.Series) -> np.ndarray:
    """``left < right`` where both are present (numbers or text, as admiral compares them); else False."""
    both = (left.notna() & right.notna()).to_numpy()
    out = np.zeros(len(left), dtype=bool)
    if both.any():
        out[both] = left.to_numpy(dtype=object)[both] < right.to_numpy(dtype=object)[both]
    return out


def derive_var_trtemfl(
    dataset: pd.DataFrame,
    new_var: str = "TRTEMFL",
    start_date: str = "ASTDT",
    end_date: str = "AENDT",
    trt_start_date: str = "TRTSDT",
    trt_end_date: str | None = None,
    end_window: int | None = None,
    ignore_time_for_trt_end: bool = True,
    initial_intensity: str | None = None,
    intensity: str | None = None,
    group_var: str | None = None,
    subject_keys: Sequence[str] = ("STUDYID", "USUBJID"),
) -> pd.DataFrame:
    """Add the treatment-emergent analysis flag (admiral ``derive_var_trtemfl``).

    The first case that applies sets the flag ("Y" or null; ADaM ADAE v1.0 TRTEMFL):

    =====  ==============================================================  =======
    case   condition                                                       TRTEMFL
    =====  ==============================================================  =======
    1      not treated: ``trt_start_date`` missing                         null
    2      ended before treatment: ``end_date`` < ``trt_start_date``        null
    3      ``start_date`` missing (conservatively treatment-emergent)      Y
    4      new: ``start_date`` ≥ ``trt_start_date`` and, with                Y
           ``end_window``, ``start_date`` ≤ ``trt_end_date`` +
           ``end_window`` days (or ``trt_end_date`` missing)
    5      worsened: started before ``trt_start_date`` and                  Y
           ``initial_intensity`` < ``intensity`` (or either missing)
    6      otherwise                                                        null
    =====  ==============================================================  =======

    With ``group_var`` (one AE episode recorded over several records, e.g. AEGRPID), case 4 needs the
    whole episode (``subject_keys`` + ``group_var``) to start on or after ``trt_start_date``, and
    case 5 flags every record of an episode from the first record starting on or after
    ``trt_start_date`` whose ``intensity`` is above the record before it (by ``start_date``);
    ``initial_intensity`` is not used then. ``ignore_time_for_trt_end`` compares only dates in case 4.
    Intensities are compared with ``<`` as given: numbers, or text such as AETOXGR "1" to "5".

    STUDY.md §3.2: TRTEMFL = ASTDT ≥ TRTSDT or a pre-existing AE worsening in grade on/after
    TRTSDT, with no upper cut-off; the sensitivity flag adds ``trt_end_date="TRTEDT",
    end_window=90``.

    Example:

    >>> import pandas as pd
    >>> adae = pd.DataFrame({
    ...     "ASTDT": pd.to_datetime(["2024-05-10", "2024-05-13", None]),
    ...     "AENDT": pd.to_datetime(["2024-05-11", None, None]),
    ...     "TRTSDT": pd.to_datetime(["2024-05-13"] * 3),
    ... })
    >>> derive_var_trtemfl(adae)["TRTEMFL"].tolist()
    [nan, 'Y', 'Y']
    """
    dataset = require_frame(dataset, "dataset")
    new_var = column_name(new_var, "new_var")
    start_date = column_name(start_date, "start_date")
    end_date = column_name(end_date, "end_date")
    trt_start_date = column_name(trt_start_date, "trt_start_date")
    for arg, value in (
        ("trt_end_date", trt_end_date),
        ("initial_intensity", initial_intensity),
        ("intensity", intensity),
        ("group_var", group_var),
    ):
        if value is not None:
            column_name(value, arg)
    if end_window is not None:
        if isinstance(end_window, bool) or not isinstance(end_window, int | np.integer) or end_window < 0:
            raise ValueError(f"end_window: expected a non-negative whole number of days, got {end_window!r}")
        if trt_end_date is None:
            raise ValueError("trt_end_date: required when end_window is given")
    if not isinstance(ignore_time_for_trt_end, bool):
        raise TypeError(f"ignore_time_for_trt_end: expected True or False, got {ignore_time_for_trt_end!r}")
    if group_var is None and (initial_intensity is None) != (intensity is None):
        missing = "initial_intensity" if initial_intensity is None else "intensity"
        raise ValueError(f"{missing}: give initial_intensity and intensity together, or neither")
    if group_var is not None and initial_intensity is not None:
        raise ValueError(
            "initial_intensity: not used with group_var (worsening is against the previous record)"
        )
    keys = column_names(subject_keys, "subject_keys") if group_var is not None else ()
    require_columns(dataset, [start_date], "start_date")
    require_columns(dataset, [end_date], "end_date")
    require_columns(dataset, [trt_start_date], "trt_start_date")
    for arg, value in (
        ("trt_end_date", trt_end_date),
        ("initial_intensity", initial_intensity),
        ("intensity", intensity),
        ("group_var", group_var),
    ):
        if value is not None:
            require_columns(dataset, [value], arg)
    require_columns(dataset, keys, "subject_keys")
    require_absent(dataset, [new_var], "new_var")

    start = datetimes(dataset, start_date, "start_date")
    end = datetimes(dataset, end_date, "end_date")
    trt_start = datetimes(dataset, trt_start_date, "trt_start_date")
    within_window = np.ones(len(dataset), dtype=bool)
    if end_window is not None and trt_end_date is not None:
        trt_end = datetimes(dataset, trt_end_date, "trt_end_date")
        onset = start.dt.normalize() if ignore_time_for_trt_end else start
        limit = (trt_end.dt.normalize() if ignore_time_for_trt_end else trt_end) + pd.Timedelta(
            days=end_window
        )
        within_window = (trt_end.isna() | (onset <= limit)).to_numpy()
    starts_on_treatment = (start >= trt_start).to_numpy()
    starts_before = (start < trt_start).to_numpy()

    if group_var is None:
        new_event = starts_on_treatment
        if intensity is not None and initial_intensity is not None:
            initial, current = dataset[initial_intensity], dataset[intensity]
            unknown = (initial.isna() | current.isna()).to_numpy()
            worsened = starts_before & (_less(initial, current) | unknown)
        else:
            worsened = np.zeros(len(dataset), dtype=bool)
    else:
        episode = [*keys, group_var]
        work = dataset[episode].reset_index(drop=True)
        work["_before"] = starts_before
        new_event = ~work.groupby(episode, dropna=False, sort=False)["_before"].transform("any").to_numpy()
        if intensity is not None:
            work["_start"] = start.to_numpy()
            work["_trt"] = trt_start.to_numpy()
            work["_int"] = dataset[intensity].reset_index(drop=True)
            work = sort_records(work, episode, ["_start"])
            previous = work.groupby(episode, dropna=False, sort=False)["_int"].shift(1)
            rise = (
                work["_start"].notna()
                & work["_trt"].notna()
                & (work["_start"] >= work["_trt"])
                & pd.Series(_less(previous, work["_int"]), index=work.index)
            )
            # Once worse on treatment, the rest of the episode (in start order) is flagged too.
            seen = rise.astype(int).groupby([work[c] for c in episode], dropna=False, sort=False).cummax()
            worsened = seen.sort_index().to_numpy(dtype=bool)
        else:
            worsened = np.zeros(len(dataset), dtype=bool)

    flag = np.select(
        [
            trt_start.isna().to_numpy(),
            (end < trt_start).to_numpy(),
            start.isna().to_numpy(),
            new_event & within_window,
            worsened,
        ],
        [None, None, "Y", "Y", "Y"],
        default=None,
    )
    out = dataset.copy()
    out[new_var] = text_series(flag, dataset.index)
    return out


def derive_var_extreme_flag(
    dataset: pd.DataFrame,
    by_vars: Sequence[str],
    order: Sequence[OrderItem],
    new_var: str,
    mode: str = "first",
    true_value: object = "Y",
    false_value: object = None,
    filter: Condition | None = None,
    flag_all: bool = False,
    check_unique: bool = True,
) -> pd.DataFrame:
    """Flag the first or last record per by group (admiral ``derive_var_extreme_flag``).

    Among the records selected by ``filter`` (all when None), sorted by ``by_vars`` then ``order``
    (columns or :func:`desc` keys; missing values last, as ``dplyr::arrange``), the first
    (``mode="first"``) or last record of each by group gets ``true_value``; the other selected
    records get ``false_value``; records outside ``filter`` stay null. ``flag_all=True`` flags every
    record tied with the chosen one on ``order``. With ``check_unique``, records tied on ``by_vars``
    + ``order`` raise a warning (the choice then follows record order).

    Uses: ABLFL (ADaMIG 1.3 §3.3.8, BDS indicator variables: one baseline per subject, parameter and
    BASETYPE) = the last non-missing value on or before the reference date, with BASETYPE among
    ``by_vars``; first/last occurrence flags (AOCCFL); ANL01FL (one record per analysis visit).

    Example (baseline = last value on or before treatment start):

    >>> import pandas as pd
    >>> adlb = pd.DataFrame({
    ...     "USUBJID": ["S-1"] * 3, "PARAMCD": ["IGG"] * 3, "AVAL": [9.1, 8.7, 6.0],
    ...     "ADT": pd.to_datetime(["2024-04-20", "2024-05-06", "2024-06-10"]),
    ...     "TRTSDT": pd.to_datetime(["2024-05-13"] * 3),
    ... })
    >>> derive_var_extreme_flag(
    ...     adlb, ["USUBJID", "PARAMCD"], ["ADT"], "ABLFL", mode="last",
    ...     filter=lambda d: (d["ADT"] <= d["TRTSDT"]) & d["AVAL"].notna(),
    ... )["ABLFL"].tolist()
    [nan, 'Y', nan]
    """
    dataset = require_frame(dataset, "dataset")
    keys = list(column_names(by_vars, "by_vars"))
    items = order_items(order, "order")
    new_var = column_name(new_var, "new_var")
    choice(mode, ("first", "last"), "mode")
    if not isinstance(flag_all, bool):
        raise TypeError(f"flag_all: expected True or False, got {flag_all!r}")
    require_columns(dataset, keys, "by_vars")
    require_columns(dataset, order_columns(items), "order")
    require_absent(dataset, [new_var], "new_var")
    selected = condition_mask(dataset, filter, "filter")
    columns = list(dict.fromkeys([*keys, *order_columns(items)]))
    records = dataset.loc[selected, columns].reset_index(drop=True)
    records["_pos"] = np.flatnonzero(selected)
    if check_unique and records.duplicated(columns).any():
        warnings.warn(
            f"dataset: records tie on {', '.join(columns)}; the {mode} in record order was flagged",
            UserWarning,
            stacklevel=2,
        )
    ordered = sort_records(records, keys, items)
    chosen = ordered.groupby(keys, dropna=False, sort=False).cumcount(ascending=mode == "first") == 0
    if flag_all:
        extreme = ordered.loc[chosen, columns].drop_duplicates().assign(_hit=True)
        hits = ordered[[*columns, "_pos"]].merge(extreme, on=columns, how="left")
        picked = hits.loc[hits["_hit"].fillna(False).to_numpy(dtype=bool), "_pos"].to_numpy()
    else:
        picked = ordered.loc[chosen, "_pos"].to_numpy()
    flags = np.full(len(dataset), None, dtype=object)
    flags[selected] = false_value
    flags[picked] = true_value
    out = dataset.copy()
    out[new_var] = text_series(flags, dataset.index)
    return out
