"""Analysis dates and times from ISO 8601 --DTC text, with imputation flags, and study days.

ADaMIG 1.3 §3.1.2 (Timing Variable Conventions) and §3.1.3 (Date and Time Imputation Flag
Variables). Dates stay pandas ``datetime64`` in the frame; the XPT writer turns them into SAS numbers.
Partial --DTC values are taken apart with :mod:`cdisc168.sdtm.dates` (never re-parsed here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc168.adam.derive_support import (
    choice,
    column_name,
    column_names,
    datetimes,
    require_absent,
    require_columns,
    require_frame,
    text_series,
)
from cdisc168.sdtm import dates

_DAY = pd.Timedelta(days=1)
_LAST_SECOND = pd.Timedelta(hours=23, minutes=59, seconds=59)
# Placeholders for the unbounded range of a missing --DTC (year imputation): admiral's 0000-01-01
# and 9999-12-31; any result still equal to one of them was not restricted and becomes missing.
_LOW = pd.Timestamp("0001-01-01")
_HIGH = pd.Timestamp("9999-12-31 23:59:59")
_DATE_IMPUTATION = ("first", "mid", "last")
_TIME_IMPUTATION = ("first", "last")
# Imputation levels, lowest first: admiral highest_imputation values.
_DT_LEVELS = {"n": 0, "D": 1, "M": 2, "Y": 3}
_DTM_LEVELS = {"n": 0, "s": 1, "m": 2, "h": 3, "D": 4, "M": 5, "Y": 6}
_DTM_FLAGS = ("auto", "both", "date", "time", "none")


def _dtc_text(dataset: pd.DataFrame, dtc: str) -> pd.Series:
    values = dataset[dtc]
    not_text = pd.api.types.is_datetime64_any_dtype(values.dtype) or pd.api.types.is_numeric_dtype(
        values.dtype
    )
    if not_text and not values.isna().all():
        raise TypeError(f"dtc: column {dtc} must hold ISO 8601 text (--DTC), got dtype {values.dtype}")
    return values


def _restricting_columns(dataset: pd.DataFrame, value: object, arg: str) -> list[pd.Series]:
    if value is None:
        return []
    columns = column_names(value, arg)
    require_columns(dataset, columns, arg)
    return [datetimes(dataset, c, arg) for c in columns]


def _flag_value(value: object, arg: str, options: tuple[str, ...]) -> str:
    if value is True:
        return "auto"
    if value is False:
        return "none"
    return str(choice(value, options, arg))


class _Parsed:
    """One --DTC column taken apart: precision and the range of instants it can denote."""

    def __init__(self, text: pd.Series) -> None:
        self.precision = dates.dtc_precision(text).to_numpy()
        present = text.notna().to_numpy() & (text.astype("str").str.len() > 0).to_numpy()
        self.missing = ~present
        self.first_day = dates.earliest_possible(text)
        self.last_day = dates.latest_possible(text)
        self.instant = dates.dtc_datetime(text)
        self.index = text.index

    def mid_day(self) -> pd.Series:
        """Middle of the possible range: the 15th of a known month, 30 June of a known year (admiral)."""
        first = self.first_day
        offset = np.where(
            self.precision == dates.Precision.MONTH, 14, 180 + first.dt.is_leap_year.astype(int)
        )
        day = first + pd.to_timedelta(np.where(self.precision <= dates.Precision.MONTH, offset, 0), unit="D")
        return day.astype("datetime64[us]")

    def day_needed(self) -> np.ndarray:
        """The date imputation level each value needs: 0 none, 1 day, 2 month, 3 year (missing value)."""
        return np.select(
            [
                self.precision >= dates.Precision.DAY,
                self.precision == dates.Precision.MONTH,
                self.precision == 1,
            ],
            [0, 1, 2],
            default=3,
        )

    def date_flag(self, imputed: pd.Series) -> pd.Series:
        """*DTF (DATEFL, C81223): D day, M month and day, Y year, month and day imputed (ADaMIG §3.1.3)."""
        flag = np.select(
            [
                self.precision == dates.Precision.MONTH,
                self.precision == dates.Precision.YEAR,
                self.missing,
            ],
            ["D", "M", "Y"],
            default=None,
        ).astype(object)
        flag[imputed.isna().to_numpy()] = None
        return text_series(flag, self.index)


def _impute_day(parsed: _Parsed, date_imputation: str) -> pd.Series:
    if date_imputation == "first":
        return parsed.first_day.copy()
    if date_imputation == "last":
        return parsed.last_day.copy()
    return parsed.mid_day()


def _restrict(
    imputed: pd.Series,
    lower: pd.Series,
    upper: pd.Series,
    min_dates: list[pd.Series],
    max_dates: list[pd.Series],
) -> pd.Series:
    """admiral ``restrict_imputed_dtc_dt(m)``: a minimum (maximum) date inside the range the --DTC value
    can denote lifts (lowers) the imputed value to it; one outside the range is ignored, so the
    components that were collected are never changed."""
    for bound, lift in [(m, True) for m in min_dates] + [(m, False) for m in max_dates]:
        usable = imputed.notna() & bound.notna() & (bound >= lower) & (bound <= upper)
        beyond = (bound > imputed) if lift else (bound < imputed)
        imputed = imputed.mask(usable & beyond, bound)
    return imputed.mask((imputed == _LOW) | (imputed == _HIGH))


def _year_placeholders(
    parsed: _Parsed, imputed: pd.Series, lower: pd.Series, upper: pd.Series, imputation: str, allowed: bool
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """A missing --DTC value can be anything: its range is unbounded and, when year imputation is
    allowed, it starts at the low (first) or high (last) placeholder for min/max dates to replace."""
    missing = pd.Series(parsed.missing, index=parsed.index)
    lower = lower.mask(missing, _LOW)
    upper = upper.mask(missing, _HIGH)
    if allowed:
        imputed = imputed.mask(missing, _LOW if imputation == "first" else _HIGH)
    return imputed, lower, upper


def _check_year_imputation(highest: str, date_imputation: str, min_dates: object, max_dates: object) -> None:
    if highest != "Y":
        return
    if date_imputation == "mid":
        raise ValueError(
            "date_imputation: 'mid' cannot impute a year; use 'first' with min_dates or 'last' with max_dates"
        )
    if date_imputation == "first" and not min_dates:
        raise ValueError("min_dates: required with highest_imputation='Y' and date_imputation='first'")
    if date_imputation == "last" and not max_dates:
        raise ValueError("max_dates: required with highest_imputation='Y' and date_imputation='last'")


def derive_vars_dt(
    dataset: pd.DataFrame,
    new_vars_prefix: str,
    dtc: str,
    highest_imputation: str = "n",
    date_imputation: str = "first",
    min_dates: Sequence[str] | str | None = None,
    max_dates: Sequence[str] | str | None = None,
    flag_imputation: bool = True,
) -> pd.DataFrame:
    """Add ``<prefix>DT`` (and ``<prefix>DTF``) from an ISO 8601 --DTC column (admiral ``derive_vars_dt``).

    ``<prefix>DT`` is the date of ``dtc`` as ``datetime64`` at midnight (any time part dropped). A
    partial value is imputed up to ``highest_imputation``: ``"n"`` none, ``"D"`` the day,
    ``"M"`` day and month, ``"Y"`` the whole date (only from ``min_dates``/``max_dates``). A value
    needing more than that stays missing.

    ``date_imputation``: ``"first"`` for start dates (day → 1st, month → January), ``"last"`` for
    end dates (day → last day of the month, month → December), ``"mid"`` (day → 15th, month and
    day → 30 June). Then, admiral ``min_dates``/``max_dates`` semantics: each listed date column
    (e.g. TRTSDT for a start date; DTHDT and the data cut for an end date) that lies within the
    range the partial value can denote lifts the imputed date up to it (min) or caps it down to it
    (max); dates outside that range are ignored, so collected components never change.

    ===================  ========================================  ==================  ===========
    AESTDTC / AEENDTC    rule (STUDY.md §3.2)                      <prefix>DT          <prefix>DTF
    ===================  ========================================  ==================  ===========
    ``2024-05-20``       complete                                  2024-05-20          (null)
    ``2024-05``          start, first, TRTSDT 2024-05-13 in May    2024-05-13          D
    ``2024-05``          start, first, TRTSDT 2024-04-20           2024-05-01          D
    ``2024``             start, first (``"M"``)                    2024-01-01          M
    ``2024-02``          end, last                                 2024-02-29          D
    ``2024-02``          end, last, DTHDT 2024-02-20 (max_dates)   2024-02-20          D
    ``2024``             end, last                                 2024-12-31          M
    missing              ``"Y"``, first, min_dates=TRTSDT          TRTSDT              Y
    missing / invalid    otherwise                                 (null)              (null)
    ===================  ========================================  ==================  ===========

    ``<prefix>DTF`` (DATEFL, C81223; ADaMIG 1.3 §3.1.3) is the level of imputation: ``D``, ``M`` or
    ``Y`` by what was missing from ``dtc`` (not by whether a min/max date moved the result), null when
    nothing was imputed. It is added when ``flag_imputation`` is True and ``highest_imputation`` is
    not ``"n"`` (with ``"n"`` nothing is imputed). Text outside the SDTM ISO 8601 profile gives a
    missing date; :func:`cdisc168.sdtm.dates.is_iso8601_dtc` reports it.

    Example (STUDY.md ADAE: start day → 1st but not before TRTSDT in the same month):

    >>> import pandas as pd
    >>> adae = pd.DataFrame({"AESTDTC": ["2024-05", "2024-06-02"],
    ...                      "TRTSDT": pd.to_datetime(["2024-05-13", "2024-05-13"])})
    >>> derive_vars_dt(adae, "AST", "AESTDTC", highest_imputation="M", min_dates=["TRTSDT"])
          AESTDTC     TRTSDT      ASTDT ASTDTF
    0     2024-05 2024-05-13 2024-05-13      D
    1  2024-06-02 2024-05-13 2024-06-02    NaN
    """
    dataset = require_frame(dataset, "dataset")
    prefix = column_name(new_vars_prefix, "new_vars_prefix")
    dtc = column_name(dtc, "dtc")
    require_columns(dataset, [dtc], "dtc")
    highest = choice(highest_imputation, _DT_LEVELS, "highest_imputation")
    imputation = choice(date_imputation, _DATE_IMPUTATION, "date_imputation")
    if not isinstance(flag_imputation, bool):
        raise TypeError(f"flag_imputation: expected True or False, got {flag_imputation!r}")
    lows = _restricting_columns(dataset, min_dates, "min_dates")
    highs = _restricting_columns(dataset, max_dates, "max_dates")
    _check_year_imputation(highest, imputation, lows, highs)
    with_flag = flag_imputation and highest != "n"
    require_absent(dataset, [f"{prefix}DT", *([f"{prefix}DTF"] if with_flag else [])], "new_vars_prefix")

    parsed = _Parsed(_dtc_text(dataset, dtc))
    allowed = parsed.day_needed() <= _DT_LEVELS[highest]
    imputed = _impute_day(parsed, imputation).where(allowed)
    imputed, lower, upper = _year_placeholders(
        parsed, imputed, parsed.first_day, parsed.last_day, imputation, highest == "Y"
    )
    result = _restrict(
        imputed, lower, upper, [d.dt.normalize() for d in lows], [d.dt.normalize() for d in highs]
    )
    out = dataset.copy()
    out[f"{prefix}DT"] = result.astype("datetime64[us]")
    if with_flag:
        out[f"{prefix}DTF"] = parsed.date_flag(result)
    return out


def derive_vars_dtm(
    dataset: pd.DataFrame,
    new_vars_prefix: str,
    dtc: str,
    highest_imputation: str = "h",
    date_imputation: str = "first",
    time_imputation: str = "first",
    min_dates: Sequence[str] | str | None = None,
    max_dates: Sequence[str] | str | None = None,
    flag_imputation: bool | str = "auto",
    ignore_seconds_flag: bool = False,
) -> pd.DataFrame:
    """Add ``<prefix>DTM``, ``<prefix>DTF``, ``<prefix>TMF`` from --DTC text (admiral ``derive_vars_dtm``).

    ``highest_imputation`` is one of ``"n"``, ``"s"`` (seconds), ``"m"`` (minutes), ``"h"`` (the
    whole time; the default), ``"D"``, ``"M"``, ``"Y"``; a value needing more stays missing, so with
    ``"n"`` ``2024-05-13T10:00`` (no seconds) is missing. Dates are imputed as in
    :func:`derive_vars_dt` (``date_imputation``), times by ``time_imputation``: ``"first"``
    (00:00:00, seconds :00) or ``"last"`` (23:59:59, seconds :59). ``min_dates``/``max_dates`` are
    date-time columns applied as in :func:`derive_vars_dt`, on instants: the range of
    ``2024-05-13T10:00`` is 10:00:00-10:00:59, of ``2024-05`` the whole month.

    =======================  ======================  ===================  ===========  ===========
    --DTC                    imputed (first, first)  <prefix>DTM          <prefix>DTF  <prefix>TMF
    =======================  ======================  ===================  ===========  ===========
    ``2024-05-13T10:00:30``  nothing                 2024-05-13 10:00:30  (null)       (null)
    ``2024-05-13T10:00``     seconds                 2024-05-13 10:00:00  (null)       S
    ``2024-05-13``           time                    2024-05-13 00:00:00  (null)       H
    ``2024-05``              day and time            2024-05-01 00:00:00  D            H
    ``2024``                 month, day and time     2024-01-01 00:00:00  M            H
    =======================  ======================  ===================  ===========  ===========

    Flags (ADaMIG 1.3 §3.1.3): <prefix>DTF as in :func:`derive_vars_dt`; <prefix>TMF (TIMEFL,
    C81226) is ``H`` when the hour was imputed, ``M`` for minutes, ``S`` for seconds only. With
    ``ignore_seconds_flag=True``, imputed seconds are not flagged (the IG allows this when seconds are
    never collected). ``flag_imputation``: ``"auto"`` (True) adds <prefix>DTF when date imputation
    is allowed (``"D"``, ``"M"``, ``"Y"``) and <prefix>TMF unless ``"n"``; ``"both"``, ``"date"``,
    ``"time"``, ``"none"`` (False) force the choice.

    Example (the default ``"h"`` imputes times only, so no ADTF is added):

    >>> import pandas as pd
    >>> pc = pd.DataFrame({"PCDTC": ["2024-05-14T10:05", "2024-05-20"]})
    >>> derive_vars_dtm(pc, "A", "PCDTC")[["ADTM", "ATMF"]]
                     ADTM ATMF
    0 2024-05-14 10:05:00    S
    1 2024-05-20 00:00:00    H
    """
    dataset = require_frame(dataset, "dataset")
    prefix = column_name(new_vars_prefix, "new_vars_prefix")
    dtc = column_name(dtc, "dtc")
    require_columns(dataset, [dtc], "dtc")
    highest = choice(highest_imputation, _DTM_LEVELS, "highest_imputation")
    date_mode = choice(date_imputation, _DATE_IMPUTATION, "date_imputation")
    time_mode = choice(time_imputation, _TIME_IMPUTATION, "time_imputation")
    flags = _flag_value(flag_imputation, "flag_imputation", _DTM_FLAGS)
    if not isinstance(ignore_seconds_flag, bool):
        raise TypeError(f"ignore_seconds_flag: expected True or False, got {ignore_seconds_flag!r}")
    lows = _restricting_columns(dataset, min_dates, "min_dates")
    highs = _restricting_columns(dataset, max_dates, "max_dates")
    _check_year_imputation(highest, date_mode, lows, highs)
    level = _DTM_LEVELS[highest]
    date_flag = flags in ("both", "date") or (flags == "auto" and level >= _DTM_LEVELS["D"])
    time_flag = flags in ("both", "time") or (flags == "auto" and highest != "n")
    new = [f"{prefix}DTM", *([f"{prefix}DTF"] if date_flag else []), *([f"{prefix}TMF"] if time_flag else [])]
    require_absent(dataset, new, "new_vars_prefix")

    parsed = _Parsed(_dtc_text(dataset, dtc))
    precision = parsed.precision
    has_time = precision >= dates.Precision.MINUTE
    minute_only = precision == dates.Precision.MINUTE
    needed = np.select(
        [precision == dates.Precision.SECOND, minute_only, precision == dates.Precision.DAY],
        [0, _DTM_LEVELS["s"], _DTM_LEVELS["h"]],
        default=parsed.day_needed() + _DTM_LEVELS["h"],
    )
    time_of_day = _LAST_SECOND if time_mode == "last" else pd.Timedelta(0)
    # A value known to the minute spans its 60 seconds: :00 first, :59 last.
    minute_end = pd.Series(pd.to_timedelta(np.where(minute_only, 59, 0), unit="s"), index=parsed.index)
    imputed = _impute_day(parsed, date_mode) + time_of_day
    clock = parsed.instant + (minute_end if time_mode == "last" else pd.Timedelta(0))
    imputed = imputed.where(~has_time, clock).where(needed <= level)
    lower = parsed.first_day.where(~has_time, parsed.instant)
    upper = (parsed.last_day + _LAST_SECOND).where(~has_time, parsed.instant + minute_end)
    imputed, lower, upper = _year_placeholders(parsed, imputed, lower, upper, date_mode, highest == "Y")
    result = _restrict(imputed, lower, upper, lows, highs)

    out = dataset.copy()
    out[f"{prefix}DTM"] = result.astype("datetime64[us]")
    if date_flag:
        out[f"{prefix}DTF"] = parsed.date_flag(result)
    if time_flag:
        tmf = np.where(precision <= dates.Precision.DAY, "H", None).astype(object)
        if not ignore_seconds_flag:
            tmf[minute_only] = "S"
        tmf[result.isna().to_numpy()] = None
        out[f"{prefix}TMF"] = text_series(tmf, dataset.index)
    return out


def _dy_name(source: str) -> str:
    for suffix in ("DTM", "DT"):
        if source.endswith(suffix) and len(source) > len(suffix):
            return source[: -len(suffix)] + "DY"
    raise ValueError(
        f"source_vars: cannot name the day variable of {source} (it does not end in DT or DTM); "
        f"give a mapping such as {{'{source}DY': '{source}'}}"
    )


def derive_vars_dy(
    dataset: pd.DataFrame,
    reference_date: str = "TRTSDT",
    source_vars: Sequence[str] | Mapping[str, str] = ("ADT",),
) -> pd.DataFrame:
    """Add ``--DY`` days of date columns relative to ``reference_date`` (admiral ``derive_vars_dy``).

    DY = date − reference + 1 when date ≥ reference, else date − reference (STUDY.md §3: ADY = ADT −
    TRTSDT + (ADT ≥ TRTSDT ? 1 : 0); ADaMIG 1.3 §3.1.2, ADY). Only the date parts count (date-times
    are taken at their day). Missing when either date is missing. Names: ``ADT`` → ``ADY``,
    ``ASTDT`` → ``ASTDY``, ``AENDT`` → ``AENDY``, ``ADTM`` → ``ADY``; a mapping
    ``{new name: source}`` names them explicitly. Values are float64 (SAS numerics).

    ==============  ==========  =====
    ADT             TRTSDT      ADY
    ==============  ==========  =====
    2024-05-12      2024-05-13  -1
    2024-05-13      2024-05-13  1
    2024-05-20      2024-05-13  8
    ==============  ==========  =====

    Example:

    >>> import pandas as pd
    >>> adae = pd.DataFrame({"TRTSDT": pd.to_datetime(["2024-05-13"] * 2),
    ...                      "ASTDT": pd.to_datetime(["2024-05-12", "2024-05-20"])})
    >>> derive_vars_dy(adae, source_vars=["ASTDT"])["ASTDY"].tolist()
    [-1.0, 8.0]
    """
    dataset = require_frame(dataset, "dataset")
    reference = column_name(reference_date, "reference_date")
    require_columns(dataset, [reference], "reference_date")
    if isinstance(source_vars, Mapping):
        targets = column_names(list(source_vars.keys()), "source_vars")
        sources = [column_name(v, "source_vars") for v in source_vars.values()]
        pairs = dict(zip(targets, sources, strict=True))
    else:
        pairs = {_dy_name(s): s for s in column_names(source_vars, "source_vars")}
    require_columns(dataset, pairs.values(), "source_vars")
    require_absent(dataset, pairs, "source_vars")
    ref_day = datetimes(dataset, reference, "reference_date").dt.normalize()
    out = dataset.copy()
    for name, source in pairs.items():
        delta = (datetimes(dataset, source, "source_vars").dt.normalize() - ref_day) / _DAY
        out[name] = (delta + (delta >= 0)).astype("float64")
    return out


_UNIT_DAYS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}


def _date_series(values: object, arg: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{arg}: expected a pandas Series, got {type(values).__name__}")
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return dates.dtc_date(values)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if pd.api.types.is_object_dtype(values.dtype) and kind == "string":
        return dates.dtc_date(values)
    return datetimes(values.to_frame("_"), "_", arg)


def compute_duration(start: pd.Series, end: pd.Series, unit: str = "days", add_one: bool = True) -> pd.Series:
    """Duration from ``start`` to ``end`` dates (admiral ``compute_duration``, ``floor_in=TRUE``).

    Days = end − start, plus 1 when ``add_one`` and the difference is not negative (so an event
    starting and ending on the same day lasts 1 day: ADURN, AVAL = ADT − STARTDT + 1 of STUDY.md
    §3.7). Other units divide the days: weeks 7, months 30.4375 (365.25 / 12, STUDY.md §3.7), years
    365.25. Only dates count (times are dropped). ``start`` and ``end`` are aligned by index; either
    missing gives NaN. ISO 8601 text is accepted for complete dates (partial → NaN).

    >>> import pandas as pd
    >>> same_day = pd.Series(pd.to_datetime(["2024-05-13"]))
    >>> compute_duration(same_day, same_day).tolist()
    [1.0]
    >>> compute_duration(pd.Series(["2024-05-13"]), pd.Series(["2024-06-12"]), "months").round(4).tolist()
    [1.0185]
    """
    first = _date_series(start, "start")
    last = _date_series(end, "end")
    if not first.index.equals(last.index):
        raise ValueError("end: its index differs from the index of start")
    choice(unit, _UNIT_DAYS, "unit")
    if not isinstance(add_one, bool):
        raise TypeError(f"add_one: expected True or False, got {add_one!r}")
    days = (last.dt.normalize() - first.dt.normalize()) / _DAY
    if add_one:
        days = days + (days >= 0)
    return (days / _UNIT_DAYS[unit]).astype("float64")


def compute_age_years(birth_dates: pd.Series, ref_dates: pd.Series) -> pd.Series:
    """Age in completed years at ``ref_dates`` (whole years lived; ADSL AGE when derived, AGEU = YEARS).

    Years between the dates, less one when the birthday has not yet come in the reference year
    (a 29 February birthday comes on 1 March in other years). Inputs are date Series aligned by
    index, or ISO 8601 text (complete dates only: a partial BRTHDTC gives NaN, impute it first with
    :func:`derive_vars_dt`). Returns float64; NaN where a date is missing.

    >>> import pandas as pd
    >>> compute_age_years(pd.Series(["1990-05-14", "1990-05-13"]), pd.Series(["2024-05-13"] * 2)).tolist()
    [33.0, 34.0]
    """
    birth = _date_series(birth_dates, "birth_dates")
    ref = _date_series(ref_dates, "ref_dates")
    if not birth.index.equals(ref.index):
        raise ValueError("ref_dates: its index differs from the index of birth_dates")
    years = ref.dt.year - birth.dt.year
    before_birthday = (ref.dt.month < birth.dt.month) | (
        (ref.dt.month == birth.dt.month) & (ref.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype("float64")).astype("float64")
