"""Vectorised value predicates of the SDTM schemas: a Series in, a boolean Series out (True = passes).

Missing values pass every predicate except :func:`compute_not_blank` (requiredness is its own rule), and
a predicate judges only the values of its own concern: a number in a Char column fails
:func:`compute_is_char` and passes the codelist, length and date predicates, so that each problem is
reported by one rule. "Missing" is ``None``/``NaN``/``NA``; blank text ("" or spaces only) is missing as
SDTM sees it (SDTMIG 3.4 general assumptions, "Convention for Missing Values"); blank text in a Req
variable is reported by :func:`compute_not_blank`.

Text is judged as one pyarrow ``large_string`` array (regular expressions, byte lengths and set
membership in C++), so a column of five million values takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.sdtm import dates

# SDTMIG 3.4 §8.4: QNAM has at most 8 characters, letters, digits or underscores, not starting with a digit.
QNAM_PATTERN = r"[A-Za-z_][A-Za-z0-9_]{0,7}"


def _is_string_dtype(dtype: object) -> bool:
    if isinstance(dtype, pd.StringDtype):
        return True
    return isinstance(dtype, pd.ArrowDtype) and (
        pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    )


def text_mask(values: pd.Series) -> np.ndarray:
    """True where a value is text (a ``str``), False where it is missing or anything else."""
    present = values.notna().to_numpy(dtype=bool)
    if _is_string_dtype(values.dtype):
        return present
    if not pd.api.types.is_object_dtype(values.dtype):
        return np.zeros(len(values), dtype=bool)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return present
    # Mixed content (rare: a failing column): look at each value once.
    return np.fromiter((isinstance(v, str) for v in values.to_numpy()), dtype=bool, count=len(values))


def arrow_text(values: pd.Series, mask: np.ndarray | None = None) -> pa.LargeStringArray:
    """The text values as one pyarrow ``large_string`` array; null where missing or not text."""
    if _is_string_dtype(values.dtype):
        arr = pa.array(values.array)
    else:
        raw = values.to_numpy(dtype=object)
        mask = text_mask(values) if mask is None else mask
        if not mask.all():
            raw = np.where(mask, raw, None)
        arr = pa.array(raw, type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def as_text(values: pd.Series) -> pd.Series:
    """An object column of text (and missing values) as pyarrow-backed strings, converted once so that
    every predicate reads it without copying; any other column is returned as it is."""
    if not pd.api.types.is_object_dtype(values.dtype) or pd.api.types.infer_dtype(
        values, skipna=True
    ) not in ("string", "empty"):
        return values
    arr = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    return pd.Series(pd.array(arr, dtype="str"), index=values.index, name=values.name)


def _numpy(result: pa.Array, fill: bool) -> np.ndarray:
    return pc.fill_null(result, fill).to_numpy(zero_copy_only=False)


def _series(ok: np.ndarray, values: pd.Series) -> pd.Series:
    return pd.Series(ok, index=values.index, dtype=bool)


def _blank(arr: pa.Array) -> np.ndarray:
    """Text that is empty or only spaces (null → False)."""
    return _numpy(pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr)), False)


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, mask of real numbers) of a column; bools, text and dates are not numbers."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.full(len(values), np.nan), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype):
        number = values.to_numpy(dtype="float64", na_value=np.nan)
        return number, ~np.isnan(number)
    if not pd.api.types.is_object_dtype(dtype):
        return np.full(len(values), np.nan), np.zeros(len(values), dtype=bool)
    raw = values.to_numpy(dtype=object)
    is_number = np.fromiter(
        (isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_) for v in raw),
        dtype=bool,
        count=len(raw),
    )
    number = np.full(len(raw), np.nan)
    if is_number.any():
        number[is_number] = raw[is_number].astype("float64")
    is_number &= ~np.isnan(number)
    return number, is_number


def compute_is_char(values: pd.Series) -> pd.Series:
    """Char variables hold text or nothing (SDTMIG 3.4 variable metadata, type Char)."""
    return _series(text_mask(values) | values.isna().to_numpy(dtype=bool), values)


def compute_is_num(values: pd.Series) -> pd.Series:
    """Num variables hold numbers or nothing (SDTMIG 3.4 variable metadata, type Num; XPT numeric)."""
    dtype = values.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return _series(np.ones(len(values), dtype=bool), values)
    _, is_number = _numbers(values)
    return _series(is_number | values.isna().to_numpy(dtype=bool), values)


def compute_not_blank(values: pd.Series) -> pd.Series:
    """Text that is not blank ("" or spaces only); ``None``/``NaN`` pass (pandera ``nullable`` reports them)."""
    mask = text_mask(values)
    if not mask.any():
        return _series(np.ones(len(values), dtype=bool), values)
    return _series(~_blank(arrow_text(values, mask)), values)


def compute_max_length(values: pd.Series, limit: int) -> pd.Series:
    """Text of at most ``limit`` bytes in UTF-8 (SAS V5 transport: 200 bytes, SDTMIG 3.4 §4.5.3.2)."""
    mask = text_mask(values)
    if not mask.any():
        return _series(np.ones(len(values), dtype=bool), values)
    too_long = _numpy(pc.greater(pc.binary_length(arrow_text(values, mask)), limit), False)
    return _series(~too_long, values)


def compute_in_values(values: pd.Series, allowed: Collection[str]) -> pd.Series:
    """The value is one of ``allowed`` (exact, case-sensitive; SDTMIG 3.4 §4.3 controlled terminology).

    Text is compared with the submission values; numbers (a Num variable with a codelist) with the
    numbers the submission values spell. Blank text and values of the wrong type pass (other rules).
    """
    allowed = sorted(allowed)
    mask = text_mask(values)
    if mask.any():
        arr = arrow_text(values, mask)
        known = _numpy(pc.is_in(arr, value_set=pa.array(allowed, type=pa.large_string())), True)
        return _series(known | ~mask | _blank(arr), values)
    number, is_number = _numbers(values)
    if not is_number.any():
        return _series(np.ones(len(values), dtype=bool), values)
    allowed_numbers = pd.to_numeric(pd.Series(allowed, dtype=object), errors="coerce").dropna().to_numpy()
    return _series(~is_number | np.isin(number, allowed_numbers), values)


def compute_equals(values: pd.Series, expected: str) -> pd.Series:
    """Text equal to ``expected`` (DOMAIN = the dataset name, STUDYID = the study); blank text passes."""
    return compute_in_values(values, (expected,))


def compute_is_dtc(values: pd.Series) -> pd.Series:
    """ISO 8601 date/time as SDTM uses it (SDTMIG 3.4 §4.4.1, §4.4.2): see :func:`dates.is_iso8601_dtc`."""
    mask = text_mask(values)
    if not mask.any():
        return _series(np.ones(len(values), dtype=bool), values)
    text = pd.Series(pd.array(arrow_text(values, mask), dtype="str"), index=values.index)
    return _series(dates.is_iso8601_dtc(text).to_numpy(dtype=bool), values)


def compute_is_duration(values: pd.Series, *, allow_negative: bool = True) -> pd.Series:
    """ISO 8601 duration (SDTMIG 3.4 §4.4.3): see :func:`dates.is_iso8601_duration`."""
    mask = text_mask(values)
    if not mask.any():
        return _series(np.ones(len(values), dtype=bool), values)
    text = pd.Series(pd.array(arrow_text(values, mask), dtype="str"), index=values.index)
    ok = dates.is_iso8601_duration(text, allow_negative=allow_negative)
    return _series(ok.to_numpy(dtype=bool), values)


def compute_matches(values: pd.Series, pattern: str) -> pd.Series:
    """The whole text matches the regular expression ``pattern`` (RE2 syntax); blank text passes."""
    mask = text_mask(values)
    if not mask.any():
        return _series(np.ones(len(values), dtype=bool), values)
    arr = arrow_text(values, mask)
    hit = _numpy(pc.match_substring_regex(arr, f"^(?:{pattern})$"), True)
    return _series(hit | _blank(arr), values)


def compute_is_positive_integer(values: pd.Series) -> pd.Series:
    """A whole number >= 1 (--SEQ, SDTM v2.0: a sequence number); values that are not numbers pass."""
    number, is_number = _numbers(values)
    with np.errstate(invalid="ignore"):
        bad = is_number & ((number < 1) | (np.mod(number, 1) != 0))
    return _series(~bad, values)


def compute_first_of_key(
    frame: pd.DataFrame, columns: Sequence[str], *, skip_missing: Sequence[str] = ()
) -> pd.Series:
    """True unless the record repeats the values of ``columns`` of an earlier record (missing values
    compare equal, as in a sort). Records with a missing value in one of ``skip_missing`` pass."""
    repeated = frame.duplicated(list(columns), keep="first").to_numpy(dtype=bool)
    for column in skip_missing:
        repeated = repeated & frame[column].notna().to_numpy(dtype=bool)
    return pd.Series(~repeated, index=frame.index, dtype=bool)
