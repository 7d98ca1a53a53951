"""Input checks and record ordering shared by the ADaM derivations.

Every check names the argument at fault, so a wrong call says what to fix: a missing column is a
``ValueError`` (``"dtc: column AESTDTC not found in dataset"``), a value of the wrong kind a
``TypeError``. Nothing here changes the frames it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: A record selection: a callable taking the frame and returning a boolean Series on its index, or
#: such a Series itself. Strings are refused: conditions are code, never text to evaluate.
Condition = Callable[[pd.DataFrame], Any] | pd.Series

_DATETIME = "datetime64[us]"


@dataclass(frozen=True)
class Desc:
    """Descending sort key for an ``order`` argument; build it with :func:`desc`."""

    name: str


def desc(name: str) -> Desc:
    """Sort ``name`` in descending order inside an ``order`` argument (admiral ``desc()``).

    Example: ``order=["ADT", desc("AVAL")]`` sorts by date, then by value from high to low.
    Missing values sort last in either direction, as with ``dplyr::arrange``.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"desc: expected a column name, got {name!r}")
    return Desc(name)


OrderItem = str | Desc


def require_frame(value: object, arg: str) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{arg}: expected a pandas DataFrame, got {type(value).__name__}")
    return value


def column_name(value: object, arg: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{arg}: expected a column name (non-empty string), got {value!r}")
    return value


def column_names(value: object, arg: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A column name or a sequence of them, as a tuple; duplicates and non-strings are refused."""
    if isinstance(value, str):
        items: tuple[object, ...] = (value,)
    elif isinstance(value, Iterable) and not isinstance(value, Mapping):
        items = tuple(value)
    else:
        raise TypeError(f"{arg}: expected a column name or a sequence of column names, got {value!r}")
    bad = [v for v in items if not isinstance(v, str) or not v]
    if bad:
        raise TypeError(f"{arg}: column names must be non-empty strings, got {bad!r}")
    if not items and not allow_empty:
        raise ValueError(f"{arg}: give at least one column name")
    repeated = sorted({v for v in items if items.count(v) > 1})  # type: ignore[misc]
    if repeated:
        raise ValueError(f"{arg}: {', '.join(repeated)} given more than once")
    return tuple(str(v) for v in items)


def order_items(value: object, arg: str) -> tuple[OrderItem, ...]:
    """``order``: a column name, a :func:`desc` key, or a sequence of them."""
    if isinstance(value, str | Desc):
        items: tuple[object, ...] = (value,)
    elif isinstance(value, Sequence):
        items = tuple(value)
    else:
        raise TypeError(f"{arg}: expected column names and desc() keys, got {value!r}")
    bad = [v for v in items if not (isinstance(v, Desc) or (isinstance(v, str) and v))]
    if bad:
        raise TypeError(f"{arg}: expected column names and desc() keys, got {bad!r}")
    if not items:
        raise ValueError(f"{arg}: give at least one column to order by")
    return tuple(items)  # type: ignore[arg-type]


def order_columns(order: Sequence[OrderItem]) -> list[str]:
    return [item.name if isinstance(item, Desc) else item for item in order]


def require_columns(
    frame: pd.DataFrame, columns: Iterable[str], arg: str, frame_arg: str = "dataset"
) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise ValueError(f"{arg}: column {', '.join(missing)} not found in {frame_arg}")


def require_absent(frame: pd.DataFrame, columns: Iterable[str], arg: str, frame_arg: str = "dataset") -> None:
    present = [c for c in dict.fromkeys(columns) if c in frame.columns]
    if present:
        raise ValueError(f"{arg}: {', '.join(present)} already in {frame_arg}; drop or rename it first")


def choice(value: object, allowed: Iterable[object], arg: str) -> Any:
    options = list(allowed)
    if value not in options:
        raise ValueError(f"{arg}: expected one of {', '.join(repr(o) for o in options)}, got {value!r}")
    return value


def condition_mask(frame: pd.DataFrame, condition: object, arg: str) -> np.ndarray:
    """Evaluate a record selection (see :data:`Condition`) to a numpy bool array; missing → False."""
    if condition is None:
        return np.ones(len(frame), dtype=bool)
    if isinstance(condition, str):
        raise TypeError(
            f"{arg}: expected a callable taking the frame or a boolean Series, not a string "
            "(conditions are never evaluated from text)"
        )
    result = condition(frame) if callable(condition) else condition
    if isinstance(result, np.ndarray) and result.shape == (len(frame),):
        result = pd.Series(result, index=frame.index)
    if not isinstance(result, pd.Series):
        raise TypeError(f"{arg}: expected a boolean Series on the frame's index, got {type(result).__name__}")
    if not result.index.equals(frame.index):
        raise ValueError(f"{arg}: the boolean Series does not have the index of the frame it selects from")
    kind = (
        "boolean"
        if pd.api.types.is_bool_dtype(result.dtype)
        else pd.api.types.infer_dtype(result, skipna=True)
    )
    if kind not in {"boolean", "empty"}:
        raise TypeError(f"{arg}: expected boolean values, got dtype {result.dtype}")
    return result.fillna(False).to_numpy(dtype=bool)


def datetimes(frame: pd.DataFrame, column: str, arg: str) -> pd.Series:
    """A date or date-time column as naive ``datetime64[us]`` (date objects are accepted too)."""
    values = frame[column]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        raise TypeError(f"{arg}: column {column} is time-zone aware; ADaM dates and times are local (naive)")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.astype(_DATETIME)
    if pd.api.types.is_object_dtype(values.dtype) and pd.api.types.infer_dtype(values, skipna=True) in {
        "date",
        "datetime",
        "datetime64",
        "empty",
    }:
        return pd.Series(pd.to_datetime(values), index=values.index, name=values.name).astype(_DATETIME)
    raise TypeError(
        f"{arg}: column {column} must hold dates or date-times (datetime64), got dtype {values.dtype}; "
        "convert ISO 8601 text with derive_vars_dt or derive_vars_dtm first"
    )


def numbers(frame: pd.DataFrame, column: str, arg: str) -> pd.Series:
    values = frame[column]
    if pd.api.types.is_bool_dtype(values.dtype) or not (
        pd.api.types.is_numeric_dtype(values.dtype) or values.isna().all()
    ):
        raise TypeError(f"{arg}: column {column} must be numeric, got dtype {values.dtype}")
    return values.astype("float64")


def sort_records(frame: pd.DataFrame, keys: Sequence[str], order: Sequence[OrderItem]) -> pd.DataFrame:
    """Stable sort by ``keys`` then ``order``; missing values last in every direction (dplyr arrange)."""
    columns = [*keys, *order_columns(order)]
    if not columns:
        return frame
    ascending = [True] * len(keys) + [not isinstance(item, Desc) for item in order]
    return frame.sort_values(columns, ascending=ascending, kind="mergesort", na_position="last")


def text_series(values: np.ndarray | list[object], index: pd.Index) -> pd.Series:
    """Flag-like output: pandas ``str`` when every value present is text, inferred otherwise."""
    items = list(values)
    if all(v is None or isinstance(v, str) for v in items):
        return pd.Series(items, index=index, dtype="str")
    return pd.Series(items, index=index)


def same_index(result: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    result.index = index
    return result
