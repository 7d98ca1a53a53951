"""ISO 8601 dates, times and durations for SDTM timing variables (SDTMIG 3.4 §4.4).

Every function takes pandas Series and returns a *new* Series on the input index; nothing given is
changed. Work is vectorised with pyarrow compute (regular expressions, string joins) and numpy
arithmetic on the bytes of the strings: five million values take of the order of a second per call.

Conventions shared by all functions:

- **Missing** is ``None``/``NaN``/``NA`` or the empty string (SDTM writes a missing character value
  as ""); missing in gives missing out.
- **The --DTC profile** is the ISO 8601 extended format with right truncation only (SDTMIG 3.4
  §4.4.1, §4.4.2): ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm``,
  ``YYYY-MM-DDThh:mm:ss`` and ``YYYY-MM-DDThh:mm:ss.f…``. A value must be a real calendar date of
  the Gregorian calendar (years 0001-9999) and a real clock time (hours 00-23, minutes and seconds
  00-59). Outside this profile, and reported invalid: an hour without minutes (``2003-12-15T13``),
  hyphen placeholders for unknown middle components (such as ``2003---15`` or ``-----T07:15``),
  time-zone designators, leap second 60 and the basic format without separators. The mapping engine
  never produces those forms; a submission that uses them is flagged for review.
- **Precision** is an integer (:class:`Precision`): 0 missing or invalid, 1 year, 2 month, 3 day,
  4 minute, 5 second.
- **Date-time Series** returned are ``datetime64[us]`` (the pandas default resolution), NaT where the
  value does not determine the result.
- **Durations** follow ISO 8601 ``PnYnMnDTnHnMnS`` or ``PnW`` (SDTMIG 3.4 §4.4.3), with an optional
  leading minus for planned elapsed times before their reference (``-PT15M``, §4.4.10) and evaluation
  intervals looking back (``-P2M``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Character classes are spelled out: every pattern is ASCII only.
DTC_PATTERN = r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?)?)?"
RAW_TIME_PATTERN = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
_NUMBER = r"[0-9]+(?:[.,][0-9]+)?"
DURATION_PATTERN = (
    rf"(?P<sign>-)?P(?:(?P<weeks>{_NUMBER})W|(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?"
    rf"(?:(?P<days>{_NUMBER})D)?(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?"
    rf"(?:(?P<seconds>{_NUMBER})S)?)?)"
)
# A duration needs at least one component, a "T" needs a time component after it, and only the
# lowest-order component given may carry a decimal fraction (ISO 8601-1 §5.5.2.4).
_DURATION_EMPTY = r"^-?PT?$|T$"
_DURATION_INNER_FRACTION = r"[.,][0-9]+[A-Z]."
_DURATION_UNITS: dict[str, float] = {
    "weeks": 7.0,
    "days": 1.0,
    "hours": 1.0 / 24.0,
    "minutes": 1.0 / 1440.0,
    "seconds": 1.0 / 86400.0,
}
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_MICROS_PER_DAY = 86_400_000_000
_DATETIME_DTYPE = "datetime64[us]"
_ELAPSED_UNITS: dict[str, tuple[str, str]] = {"D": ("P", "D"), "H": ("PT", "H"), "M": ("PT", "M")}


class Precision(IntEnum):
    """How much of a --DTC value is known (SDTMIG 3.4 §4.4.2: unknown components are omitted)."""

    MISSING = 0
    YEAR = 1
    MONTH = 2
    DAY = 3
    MINUTE = 4
    SECOND = 5


# --- internal helpers ---------------------------------------------------------------------------


def _require_series(values: object, name: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{name}: expected a pandas Series, got {type(values).__name__}")
    return values


def _aligned(other: pd.Series, index: pd.Index, name: str) -> pd.Series:
    """``other`` on ``index`` (pandas label alignment); labels absent from ``other`` become missing."""
    if other.index.equals(index):
        return other
    if not other.index.is_unique:
        raise ValueError(f"{name}: its index has duplicate labels, so it cannot be aligned by label")
    return other.reindex(index)


def _arrow_text(values: pd.Series) -> pa.LargeStringArray:
    """The values as one pyarrow ``large_string`` array (zero-copy for pyarrow-backed strings).

    Anything that is not a string dtype is first turned into text, so a stray number or date yields
    text that fails validation instead of an exception.
    """
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str")
    arr = pa.array(values.array, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return arr


def _present(arr: pa.Array) -> np.ndarray:
    """Not null and not the empty string."""
    return pc.fill_null(pc.greater(pc.binary_length(arr), 0), False).to_numpy(zero_copy_only=False)


def _matches(arr: pa.Array, pattern: str) -> np.ndarray:
    """Whole-value match of an RE2 ``pattern`` as a numpy bool array (null → False)."""
    hit = pc.match_substring_regex(arr, f"^(?:{pattern})$")
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def _str_series(arr: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(arr, dtype="str"), index=index)


class _Bytes:
    """Direct access to the UTF-8 bytes of a string array, to read digits at fixed positions."""

    def __init__(self, arr: pa.LargeStringArray) -> None:
        _, offsets_buffer, data_buffer = arr.buffers()
        n = len(arr)
        if n == 0 or offsets_buffer is None or data_buffer is None or data_buffer.size == 0:
            self.starts = np.zeros(n, dtype=np.int64)
            self.length = np.zeros(n, dtype=np.int64)
            self.data = np.zeros(1, dtype=np.uint8)
            return
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[arr.offset : arr.offset + n + 1]
        self.starts = offsets[:-1]
        self.length = np.diff(offsets)
        self.data = np.frombuffer(data_buffer, dtype=np.uint8)

    def number(self, position: int, width: int) -> np.ndarray:
        """int32 of the ``width`` characters at ``position`` read as decimal digits, for every row.

        Meaningless (but harmless: indices are clipped to the buffer) for rows without digits there;
        the caller masks them.
        """
        first = self.starts + position
        value = np.take(self.data, first, mode="clip").astype(np.int32) - 48
        for k in range(1, width):
            value = value * 10 + (np.take(self.data, first + k, mode="clip").astype(np.int32) - 48)
        return value


def _is_leap(year: np.ndarray) -> np.ndarray:
    return (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))


def _epoch_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days from 1970-01-01 of valid (year, month, day) arrays, proleptic Gregorian calendar.

    Integer arithmetic on 400-year eras with years starting in March (the "days from civil"
    algorithm), several times faster than going through ``datetime64[M]``.
    """
    y = year.astype(np.int64) - (month <= 2)
    era = np.floor_divide(y, 400)
    year_of_era = y - era * 400
    day_of_year = (153 * ((month.astype(np.int64) + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _month_length(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    index = np.clip(month, 1, 12) - 1
    return _DAYS_IN_MONTH[index] + (_is_leap(year) & (month == 2))


@dataclass(frozen=True)
class _Parts:
    """A --DTC array taken apart. Components absent from a value hold their smallest value."""

    present: np.ndarray
    precision: np.ndarray
    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    minute: np.ndarray
    second: np.ndarray
    micro: np.ndarray

    @property
    def invalid(self) -> np.ndarray:
        return self.present & (self.precision == Precision.MISSING)

    def days_since_epoch(self) -> np.ndarray:
        """Days from 1970-01-01 of (year, month, day); only meaningful where precision ≥ 1."""
        return _epoch_days(self.year, self.month, self.day)

    def micros_since_epoch(self) -> np.ndarray:
        """Microseconds from 1970-01-01T00:00 of the earliest instant the value can denote."""
        seconds = (self.hour * 60 + self.minute) * 60 + self.second
        clock = seconds.astype(np.int64) * 1_000_000 + self.micro
        return self.days_since_epoch() * _MICROS_PER_DAY + clock


def _parse_dtc(values: pd.Series, max_precision: Precision = Precision.SECOND) -> _Parts:
    """Take a Series of --DTC text apart (see :func:`_parse_text`)."""
    return _parse_text(_arrow_text(values), max_precision)


def _parse_text(arr: pa.LargeStringArray, max_precision: Precision = Precision.SECOND) -> _Parts:
    """Take --DTC text apart; a value outside the profile (or finer than ``max_precision``) is invalid."""
    raw = _Bytes(arr)
    present = _present(arr)
    shaped = present & _matches(arr, DTC_PATTERN)
    length = raw.length
    # The pattern fixes every component's position, so the length tells the precision.
    has_month, has_day = shaped & (length >= 7), shaped & (length >= 10)
    has_time, has_second = shaped & (length >= 16), shaped & (length >= 19)
    year = np.where(shaped, raw.number(0, 4), 1970)
    month = np.where(has_month, raw.number(5, 2), 1)
    day = np.where(has_day, raw.number(8, 2), 1)
    hour = np.where(has_time, raw.number(11, 2), 0)
    minute = np.where(has_time, raw.number(14, 2), 0)
    second = np.where(has_second, raw.number(17, 2), 0)
    micro = np.zeros(len(arr), dtype=np.int64)
    fractional = shaped & (length > 20)
    if fractional.any():
        digits = pc.utf8_slice_codeunits(arr.filter(pa.array(fractional)), 20, 26)
        micro[fractional] = pc.cast(pc.utf8_rpad(digits, 6, "0"), pa.int64()).to_numpy()
    ok = (
        shaped
        & (year >= 1)
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= _month_length(year, month))
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
    )
    precision = (shaped.astype(np.int8) + has_month + has_day + has_time + has_second).astype(np.int8)
    precision[~ok | (precision > max_precision)] = Precision.MISSING
    bad = precision == Precision.MISSING
    if bad.any():
        for component, fill in (
            (year, 1970),
            (month, 1),
            (day, 1),
            (hour, 0),
            (minute, 0),
            (second, 0),
            (micro, 0),
        ):
            component[bad] = fill
    return _Parts(present, precision, year, month, day, hour, minute, second, micro)


def _datetime_series(micros: np.ndarray, keep: np.ndarray, index: pd.Index) -> pd.Series:
    out = micros.astype(_DATETIME_DTYPE)
    out[~keep] = np.datetime64("NaT")
    return pd.Series(out, index=index)


def _day_micros(days: np.ndarray) -> np.ndarray:
    return days * _MICROS_PER_DAY


def _as_date(value: object, name: str) -> dt.date:
    """A calendar date from a ``date``, ``datetime``/``Timestamp`` (its date) or ISO ``YYYY-MM-DD`` text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {value!r} is not a YYYY-MM-DD date") from exc
    raise TypeError(f"{name}: expected a datetime.date, got {type(value).__name__}")


def _epoch_day(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


# --- validation -----------------------------------------------------------------------------------


def is_iso8601_dtc(values: pd.Series) -> pd.Series:
    """True where a --DTC value follows ISO 8601 as SDTM uses it (SDTMIG 3.4 §4.4.1, §4.4.2).

    Accepted: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm``, ``YYYY-MM-DDThh:mm:ss`` and
    fractional seconds, each a real calendar date (``2024-02-29`` yes, ``2023-02-29`` no) and a real
    clock time (``T24:00`` no). See the module docstring for the forms outside this profile.
    A missing value is not a format error (requiredness is a separate check), so it gives True.
    """
    values = _require_series(values, "values")
    parts = _parse_dtc(values)
    return pd.Series(~parts.invalid, index=values.index)


def is_iso8601_duration(values: pd.Series, *, allow_negative: bool = True) -> pd.Series:
    """True where a value is an ISO 8601 duration (SDTMIG 3.4 §4.4.3; --DUR, --ELTM, --EVLINT).

    Accepted: ``PnYnMnDTnHnMnS`` with at least one component (any may be left out, ``T`` only before
    a time component) or ``PnW`` alone; the lowest-order component given may carry a decimal fraction
    (``PT0.5H``, ``P1,5D``). A leading minus is allowed unless ``allow_negative`` is False:
    --ELTM counts back from its time-point reference (``-PT15M`` = 15 minutes before, SDTMIG 3.4
    §4.4.10) and --EVLINT looks back from the assessment (``-P2M``), while --DUR is a length and
    should be checked with ``allow_negative=False``. The ISO alternative format (``P0003-02-01``) is
    not accepted. A missing value gives True (requiredness is a separate check).
    """
    values = _require_series(values, "values")
    arr = _arrow_text(values)
    present = _present(arr)
    ok = _matches(arr, DURATION_PATTERN)
    ok &= ~pc.fill_null(pc.match_substring_regex(arr, _DURATION_EMPTY), False).to_numpy(zero_copy_only=False)
    ok &= ~pc.fill_null(pc.match_substring_regex(arr, _DURATION_INNER_FRACTION), False).to_numpy(
        zero_copy_only=False
    )
    if not allow_negative:
        ok &= ~pc.fill_null(pc.starts_with(arr, "-"), False).to_numpy(zero_copy_only=False)
    return pd.Series(ok | ~present, index=values.index)


# --- raw date and time → --DTC --------------------------------------------------------------------


@dataclass(frozen=True)
class _Collected:
    """A collected date and optional time, checked against their raw formats."""

    date_text: pa.LargeStringArray
    date: _Parts
    time_text: pa.LargeStringArray | None
    time_present: np.ndarray
    time_valid: np.ndarray


def _collected(date: pd.Series, time: pd.Series | None) -> _Collected:
    date_text = _arrow_text(date)
    parts = _parse_text(date_text, max_precision=Precision.DAY)
    if time is None:
        none = np.zeros(len(date), dtype=bool)
        return _Collected(date_text, parts, None, none, none)
    time_text = _arrow_text(_aligned(_require_series(time, "time"), date.index, "time"))
    present = _present(time_text)
    return _Collected(date_text, parts, time_text, present, present & _matches(time_text, RAW_TIME_PATTERN))


def to_dtc(date: pd.Series, time: pd.Series | None = None) -> pd.Series:
    """ISO 8601 --DTC text from a collected date and an optional collected time (SDTMIG 3.4 §4.4.1-2).

    ``date`` holds ``YYYY-MM-DD`` or a partial ``YYYY-MM`` / ``YYYY``; ``time`` holds ``HH:MM`` or
    ``HH:MM:SS`` (aligned to ``date`` by index label). Partial precision is kept as collected, never
    imputed (§4.4.2).

    ============================  =====================  ==========================
    date                          time                   --DTC
    ============================  =====================  ==========================
    ``2024-03-05``                ``14:30``              ``2024-03-05T14:30``
    ``2024-03-05``                missing                ``2024-03-05``
    ``2024-03`` / ``2024``        ``14:30``              ``2024-03`` / ``2024``
    missing                       ``14:30``              missing
    not a calendar date           any                    missing
    ``2024-03-05``                not a clock time       ``2024-03-05``
    ============================  =====================  ==========================

    A time is appended only to a complete date: ISO 8601 as used by SDTM represents unknown
    components by right truncation (§4.4.2); keeping a time under a partial date would need a hyphen
    placeholder for the missing day, a form this package does not write.
    :func:`dropped_time_mask` shows where a collected time was left out for that reason.
    Unusable text gives missing (or the date alone when only the time is unusable) and is reported by
    :func:`invalid_dtc_mask`; the function itself never raises on bad data.
    """
    date = _require_series(date, "date")
    collected = _collected(date, time)
    usable_date = collected.date.precision > Precision.MISSING
    base = pc.if_else(pa.array(usable_date), collected.date_text, pa.nulls(len(date), pa.large_string()))
    if collected.time_text is None:
        return _str_series(base, date.index)
    with_time = (collected.date.precision == Precision.DAY) & collected.time_valid
    joined = pc.binary_join_element_wise(base, collected.time_text, pa.scalar("T", pa.large_string()))
    return _str_series(pc.if_else(pa.array(with_time), joined, base), date.index)


def invalid_dtc_mask(date: pd.Series, time: pd.Series | None = None) -> pd.Series:
    """True where :func:`to_dtc` could not use a collected value (SDTMIG 3.4 §4.4.1 formats).

    A date is unusable when present but not ``YYYY[-MM[-DD]]`` of a real calendar date; a time when
    present but not ``HH:MM[:SS]`` on a 24-hour clock (00:00-23:59:59). Report each True row as a
    finding: the value was not mapped.
    """
    date = _require_series(date, "date")
    collected = _collected(date, time)
    bad = collected.date.invalid | (collected.time_present & ~collected.time_valid)
    return pd.Series(bad, index=date.index)


def dropped_time_mask(date: pd.Series, time: pd.Series) -> pd.Series:
    """True where a valid collected time was left out of --DTC because the date is not complete.

    SDTMIG 3.4 §4.4.2 right truncation: a time is only represented under a complete date (see
    :func:`to_dtc`). Useful for a notice-level finding, so the omission is never silent.
    """
    date = _require_series(date, "date")
    collected = _collected(date, _require_series(time, "time"))
    return pd.Series(collected.time_valid & (collected.date.precision != Precision.DAY), index=date.index)


# --- precision and conversions --------------------------------------------------------------------


def dtc_precision(values: pd.Series) -> pd.Series:
    """Precision of each --DTC value (SDTMIG 3.4 §4.4.2) as int64: see :class:`Precision`.

    0 missing or invalid, 1 year, 2 month, 3 day, 4 minute, 5 second (fractional seconds included).
    """
    values = _require_series(values, "values")
    return pd.Series(_parse_dtc(values).precision.astype(np.int64), index=values.index)


def dtc_date(values: pd.Series) -> pd.Series:
    """The date part of complete-date --DTC values as ``datetime64[us]`` at midnight (SDTMIG 3.4 §4.4.2).

    NaT for a partial, missing or invalid date; any time part is dropped. Partial dates are never
    imputed here: imputation is an ADaM step (see :func:`earliest_possible`, :func:`latest_possible`).
    """
    values = _require_series(values, "values")
    parts = _parse_dtc(values)
    return _datetime_series(
        _day_micros(parts.days_since_epoch()), parts.precision >= Precision.DAY, values.index
    )


def dtc_datetime(values: pd.Series) -> pd.Series:
    """The instant of --DTC values that carry a time, as ``datetime64[us]`` (SDTMIG 3.4 §4.4.1-2).

    NaT for values without a time (``2024-03-05`` is not taken as midnight: the time is unknown, not
    00:00), partial, missing or invalid values. Seconds absent from the value are 0; fractional seconds
    are kept to the microsecond.
    """
    values = _require_series(values, "values")
    parts = _parse_dtc(values)
    return _datetime_series(parts.micros_since_epoch(), parts.precision >= Precision.MINUTE, values.index)


# --- study day ------------------------------------------------------------------------------------


def study_day(dtc: pd.Series, ref_dtc: pd.Series) -> pd.Series:
    """--DY: study day of ``dtc`` relative to ``ref_dtc`` (SDTMIG 3.4 §4.4.4), nullable Int64.

    --DY = (date − reference date) + 1 when the date is on or after the reference date, and
    (date − reference date) when it is before: there is no day 0, the reference day is day 1 and the
    day before it is day -1. Only the date parts are used (times are ignored: 2024-05-20 against
    RFSTDTC 2024-05-13T10:00 is day 8). Missing when either date is partial, missing or invalid.
    ``ref_dtc`` (usually DM.RFSTDTC merged onto the records) is aligned to ``dtc`` by index label.
    """
    dtc = _require_series(dtc, "dtc")
    ref = _aligned(_require_series(ref_dtc, "ref_dtc"), dtc.index, "ref_dtc")
    parts, ref_parts = _parse_dtc(dtc), _parse_dtc(ref)
    known = (parts.precision >= Precision.DAY) & (ref_parts.precision >= Precision.DAY)
    delta = parts.days_since_epoch() - ref_parts.days_since_epoch()
    day = delta + (delta >= 0)
    return pd.Series(pd.arrays.IntegerArray(day, ~known), index=dtc.index)


# --- partial dates: periods, data cut, row-wise min/max -------------------------------------------


def earliest_possible(dtc: pd.Series) -> pd.Series:
    """First calendar day a --DTC value can denote, as ``datetime64[us]`` at midnight.

    ``2024`` → 2024-01-01, ``2024-02`` → 2024-02-01, ``2024-03-05T14:30`` → 2024-03-05. SDTM keeps the
    partial value (SDTMIG 3.4 §4.4.2); this is the lower bound ADaM start-date imputation starts from.
    NaT for missing or invalid values.
    """
    dtc = _require_series(dtc, "dtc")
    parts = _parse_dtc(dtc)
    return _datetime_series(
        _day_micros(parts.days_since_epoch()), parts.precision > Precision.MISSING, dtc.index
    )


def latest_possible(dtc: pd.Series) -> pd.Series:
    """Last calendar day a --DTC value can denote, as ``datetime64[us]`` at midnight.

    ``2024`` → 2024-12-31, ``2024-02`` → 2024-02-29, ``2024-12`` → 2024-12-31, a complete date → that
    date. SDTM keeps the partial value (SDTMIG 3.4 §4.4.2); this is the upper bound ADaM end-date
    imputation (missing day → last day of the month, missing month → 31 December) starts from.
    NaT for missing or invalid values.
    """
    dtc = _require_series(dtc, "dtc")
    parts = _parse_dtc(dtc)
    month = np.where(parts.precision == Precision.YEAR, 12, parts.month)
    day = np.where(parts.precision >= Precision.DAY, parts.day, _month_length(parts.year, month))
    days = _epoch_days(parts.year, month, day)
    return _datetime_series(_day_micros(days), parts.precision > Precision.MISSING, dtc.index)


def starts_after(dtc: pd.Series, cut: dt.date) -> pd.Series:
    """True where a --DTC value is certainly after the data cut date ``cut``.

    Used to exclude records that start after the data cut (study data cut rule). A value is certainly
    after the cut when the first day it can denote (:func:`earliest_possible`) is after the cut day;
    the time of day is irrelevant because the cut is a whole day (records on the cut day are kept).

    ===================  ==============  ===========================================
    value                cut             starts after?
    ===================  ==============  ===========================================
    ``2026-04-01``       2026-03-31      True
    ``2026-03-31T23:00`` 2026-03-31      False (on the cut day)
    ``2026-04``          2026-03-31      True (the whole month is after the cut)
    ``2026-03``          2026-03-31      False (it may be on or before the cut)
    ``2026``             2026-03-31      False; ``2027`` True
    missing / invalid    any             False (not known to be after; invalid values
                                         are reported by :func:`is_iso8601_dtc`)
    ===================  ==============  ===========================================
    """
    dtc = _require_series(dtc, "dtc")
    cut_day = _epoch_day(_as_date(cut, "cut"))
    parts = _parse_dtc(dtc)
    after = (parts.precision > Precision.MISSING) & (parts.days_since_epoch() > cut_day)
    return pd.Series(after, index=dtc.index)


def cap_dtc(dtc: pd.Series, cap: dt.date) -> tuple[pd.Series, pd.Series]:
    """Cap --DTC values at ``cap``; returns ``(capped values, changed mask)``.

    For RFENDTC and RFPENDTC, which must not be later than the data cut (SDTMIG 3.4 DM; study data
    cut rule). A value certainly after the cap (:func:`starts_after`) becomes the cap date
    ``YYYY-MM-DD``; every other value is returned unchanged, including a partial value that only may
    be after the cap (``2026-03`` with a cap of 2026-03-15: not known to exceed it) and invalid text.
    Report each True row of the mask as a finding so no value changes silently.
    """
    dtc = _require_series(dtc, "dtc")
    cap_date = _as_date(cap, "cap")
    changed = starts_after(dtc, cap_date)
    text = _arrow_text(dtc)
    capped = pc.if_else(
        pa.array(changed.to_numpy()), pa.scalar(cap_date.isoformat(), pa.large_string()), text
    )
    return _str_series(capped, dtc.index), changed


def _columns(values: tuple[pd.Series | pd.DataFrame, ...]) -> list[pd.Series]:
    columns: list[pd.Series] = []
    for i, v in enumerate(values):
        if isinstance(v, pd.DataFrame):
            columns.extend(v[c] for c in v.columns)
        elif isinstance(v, pd.Series):
            columns.append(v)
        else:
            raise TypeError(f"values[{i}]: expected a Series or DataFrame, got {type(v).__name__}")
    if not columns:
        raise ValueError("values: give at least one --DTC column")
    index = columns[0].index
    for i, c in enumerate(columns[1:], start=1):
        if not c.index.equals(index):
            raise ValueError(f"values: column {i} ({c.name!r}) does not have the index of the first column")
    return columns


def _dtc_pick(values: tuple[pd.Series | pd.DataFrame, ...], largest: bool) -> pd.Series:
    columns = _columns(values)
    index = columns[0].index
    keys = np.empty((len(index), len(columns)), dtype=np.int64)
    sentinel = np.iinfo(np.int64).min if largest else np.iinfo(np.int64).max
    for j, column in enumerate(columns):
        parts = _parse_dtc(column)
        # Precision breaks ties at the same earliest instant; 8 slots leave room for the 0-5 scale.
        tie = parts.precision.astype(np.int64) if largest else 7 - parts.precision.astype(np.int64)
        key = parts.micros_since_epoch() * 8 + tie
        keys[:, j] = np.where(parts.precision > Precision.MISSING, key, sentinel)
    pick = keys.argmax(axis=1) if largest else keys.argmin(axis=1)
    found = keys[np.arange(len(index)), pick] != sentinel
    choice = pa.array(pick.astype(np.int8), mask=~found)
    chosen = pc.choose(choice, *(_arrow_text(c) for c in columns))
    return _str_series(chosen, index)


def dtc_min(*values: pd.Series | pd.DataFrame) -> pd.Series:
    """Row-wise earliest of several --DTC columns (Series and/or DataFrame columns, one index).

    Values are compared on the earliest instant they can denote (partial dates at their first day,
    times when present; SDTMIG 3.4 §4.4.2 precision). At the same earliest instant the more precise
    value wins (``2024-03-01`` over ``2024-03``; ``2024-03-05T00:00`` over ``2024-03-05``); remaining
    ties go to the leftmost column. Missing and invalid values are ignored; a row with none left is
    missing. The chosen value is returned as written, never imputed. Example: RFXSTDTC = earliest
    EXSTDTC. Note that ``2024-03-05`` precedes ``2024-03-05T10:00`` (its earliest instant is midnight).
    """
    return _dtc_pick(values, largest=False)


def dtc_max(*values: pd.Series | pd.DataFrame) -> pd.Series:
    """Row-wise latest of several --DTC columns (Series and/or DataFrame columns, one index).

    Compared like :func:`dtc_min`, on the earliest instant each value can denote, with the more
    precise value winning at the same instant and then the leftmost column. So ``2024-03-05`` beats
    ``2024-03`` (the month may start earlier), and ``2024-03-05T10:00`` beats ``2024-03-05``. Missing
    and invalid values are ignored; the chosen value is returned as written.
    """
    return _dtc_pick(values, largest=True)


# --- durations ------------------------------------------------------------------------------------


def elapsed_iso_duration(values: pd.Series, unit: Literal["D", "H", "M"] = "D") -> pd.Series:
    """ISO 8601 duration text for --ELTM from whole numbers of days, hours or minutes (SDTMIG 3.4 §4.4.10).

    ``unit="D"``: 7 → ``P7D``, -7 → ``-P7D``, 0 → ``P0D``; ``unit="H"``: 8 → ``PT8H``;
    ``unit="M"``: 15 → ``PT15M``, -15 → ``-PT15M`` (15 minutes before the time-point reference).
    A negative value gets a leading minus, as in the SDTMIG --ELTM examples. Missing gives missing.
    A fractional value is refused (ValueError): express it in a finer unit instead.
    """
    values = _require_series(values, "values")
    if unit not in _ELAPSED_UNITS:
        raise ValueError(f"unit: expected one of {sorted(_ELAPSED_UNITS)}, got {unit!r}")
    if not (pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)):
        raise TypeError(f"values: expected numbers, got dtype {values.dtype}")
    number = values.to_numpy(dtype="float64", na_value=np.nan)
    missing = np.isnan(number)
    if np.isinf(number).any() or (np.mod(number[~missing], 1) != 0).any():
        raise ValueError("values: only whole, finite numbers can be written; use a finer unit")
    whole = np.where(missing, 0, number).astype(np.int64)
    prefix, designator = _ELAPSED_UNITS[unit]
    sign = pc.if_else(pa.array(whole < 0), pa.scalar("-" + prefix), pa.scalar(prefix))
    text = pc.binary_join_element_wise(
        sign, pc.cast(pa.array(np.abs(whole), mask=missing), pa.string()), pa.scalar(designator), ""
    )
    return _str_series(text, values.index)


def iso_duration_to_days(values: pd.Series) -> pd.Series:
    """Days (float64) in ISO 8601 durations such as --ELTM, --DUR or PPSTINT (SDTMIG 3.4 §4.4.3).

    ``P28D`` → 28.0, ``PT12H`` → 0.5, ``-PT15M`` → -0.0104…, ``P2W`` → 14.0, ``P1DT6H`` → 1.25.
    Years and months have no fixed number of days (ISO 8601 nominal durations), so a value with a
    non-zero year or month component gives NaN, as do missing and invalid values
    (:func:`is_iso8601_duration` tells them apart). Each distinct text is parsed once: a duration
    column holds few distinct values however many rows it has.
    """
    values = _require_series(values, "values")
    encoded = pc.dictionary_encode(_arrow_text(values))
    distinct = encoded.dictionary
    days = np.full(len(distinct) + 1, np.nan)  # the extra last slot stands for missing rows
    valid = is_iso8601_duration(pd.Series(pd.array(distinct, dtype="str"))).to_numpy() & _present(distinct)
    if valid.any():
        groups = pc.extract_regex(distinct.filter(pa.array(valid)), f"^{DURATION_PATTERN}$")

        def component(name: str) -> np.ndarray:
            text = pc.replace_substring(groups.field(name), ",", ".")
            text = pc.if_else(pc.equal(text, ""), pa.nulls(len(text), text.type), text)
            return np.nan_to_num(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False))

        nominal = component("years") + component("months")
        total = sum(component(name) * factor for name, factor in _DURATION_UNITS.items())
        negative = pc.equal(groups.field("sign"), "-").to_numpy(zero_copy_only=False)
        days[:-1][valid] = np.where(nominal == 0, np.where(negative, -total, total), np.nan)
    slots = pc.fill_null(encoded.indices, len(distinct)).to_numpy(zero_copy_only=False)
    return pd.Series(days[slots], index=values.index)
