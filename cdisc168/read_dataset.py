"""Reading one dataset from any file a QC programmer may hold: XPT v5, Dataset-JSON, CSV or Parquet.

:func:`read_dataset` picks the reader by the file extension (a small registry, as CDISC CORE chooses
readers by format) and returns the values plus a metadata dict shaped like
:func:`cdisc168.write.xpt.read_xpt`'s: ``dataset``, ``label``, ``rows`` and ``variables`` (name →
``{"label", "type" "Char"/"Num", "length", "display_format"}`` in file order), plus
``attributes_stored``: the variable attributes the format itself records. XPT and Dataset-JSON
record all four; Parquet records the type only; CSV records none (its types are inferred). A compare
checks an attribute only where both files record it.

Dataset-JSON numeric dates (``targetDataType`` ``integer``: ADaM ``ADT`` with ``DATE9.``) come back
as SAS numbers, as the same dataset's XPT holds them (:func:`cdisc168.datasetjson.to_sas_numbers`).

CSV files are read as UTF-8 text (a byte-order mark is allowed; the first line names the columns).
Empty fields are missing values. A column becomes numeric (float64) when every non-empty value
parses as a number (surrounding blanks allowed; ``"nan"`` and ``"NA"`` are text) and none has a
leading zero (``"01"``, ``"007"``: identifiers such as SITEID stay text, their zeros matter);
every other column stays text. Parquet keeps its types; booleans become 0/1 numbers and
date-times ISO 8601 text. CSV and Parquet have no labels or formats: labels are empty,
display formats ``None``, the length of a Char variable is its longest value in bytes (FDA: length
= longest value) and of a Num variable 8. The dataset name is the upper-case file name stem.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cdisc168.datasetjson import read_dataset_json, to_sas_numbers
from cdisc168.write.xpt import read_xpt

__all__ = ["ALL_ATTRIBUTES", "DatasetReadError", "read_dataset"]

ALL_ATTRIBUTES: tuple[str, ...] = ("label", "type", "length", "display_format")
NUMERIC_LENGTH = 8
_LEADING_ZERO = r"^\s*[+-]?0\d"


class DatasetReadError(ValueError):
    """A dataset file is missing, of an unknown kind or cannot be read; the message names the file."""


def _frame_metadata(frame: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Metadata of a frame without stored attributes: type from dtype, length from the values."""
    variables: dict[str, dict[str, Any]] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype):
            variables[str(name)] = {
                "label": "",
                "type": "Num",
                "length": NUMERIC_LENGTH,
                "display_format": None,
            }
            continue
        text = pa.array(column.astype("string[pyarrow]"))
        longest = pc.max(pc.binary_length(text)).as_py() or 0
        variables[str(name)] = {
            "label": "",
            "type": "Char",
            "length": max(1, longest),
            "display_format": None,
        }
    return {"dataset": path.stem.upper(), "label": "", "rows": len(frame), "variables": variables}


def _numbers_or_text(text: pa.ChunkedArray) -> pd.Series:
    """A CSV column as float64 if every non-empty value is a number without leading zero, else text.

    Empty fields become ``NaN`` in a numeric column and ``None`` in a text column.
    """
    trimmed = pc.utf8_trim_whitespace(text)
    filled = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    if (
        filled.null_count < len(filled)
        and not pc.any(pc.match_substring_regex(filled, _LEADING_ZERO)).as_py()
    ):
        try:
            numbers = pc.cast(filled, pa.float64())
        except pa.ArrowInvalid:
            numbers = None
        if numbers is not None and not pc.any(pc.is_nan(numbers)).as_py():  # "nan" is text
            return numbers.to_pandas()
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text).to_pandas()


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        names = next(csv.reader(stream), None)
    if not names:
        raise DatasetReadError(f"{path}: no header line (an empty file)")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DatasetReadError(f"{path}: column names repeated in the header: {', '.join(repeated)}")
    table = pa_csv.read_csv(
        path,
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    frame = pd.DataFrame(
        {name: _numbers_or_text(table.column(i)) for i, name in enumerate(names)},
        index=pd.RangeIndex(table.num_rows),
    )
    metadata = _frame_metadata(frame, path)
    metadata["attributes_stored"] = ()
    return frame, metadata


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    table = pq.read_table(path)
    frame = table.to_pandas()
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column.dtype):
            frame[name] = column.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            frame[name] = pd.Series(
                np.where(column.isna(), None, column.dt.strftime("%Y-%m-%dT%H:%M:%S")), index=frame.index
            )
    metadata = _frame_metadata(frame, path)
    metadata["attributes_stored"] = ("type",)
    return frame, metadata


def _read_xpt(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame, metadata = read_xpt(path)
    metadata["attributes_stored"] = ALL_ATTRIBUTES
    return frame, metadata


def _read_json(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame, metadata = read_dataset_json(path)
    metadata["attributes_stored"] = ALL_ATTRIBUTES
    return to_sas_numbers(frame, metadata), metadata


_READERS: dict[str, Callable[[Path], tuple[pd.DataFrame, dict[str, Any]]]] = {
    ".xpt": _read_xpt,
    ".json": _read_json,
    ".ndjson": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
}

# What the readers raise for a damaged or foreign file (all reported as DatasetReadError).
_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    pa.ArrowException,
)


def read_dataset(path: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one dataset file, choosing the reader by extension (case-insensitive).

    ``.xpt`` → :func:`cdisc168.write.xpt.read_xpt`; ``.json``/``.ndjson`` →
    :func:`cdisc168.datasetjson.read_dataset_json`; ``.csv`` and ``.parquet`` as described in the module
    docstring. Raises :class:`DatasetReadError` naming the file for a missing file, an unknown
    extension or a file the reader cannot read.
    """
    source = Path(path)
    if source.is_dir():
        raise DatasetReadError(f"{source}: is a folder, not a dataset file")
    reader = _READERS.get(source.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(_READERS))
        raise DatasetReadError(
            f"{source}: unknown dataset file type {source.suffix!r}; expected one of {known}"
        )
    if not source.is_file():
        raise DatasetReadError(f"{source}: no such file")
    try:
        return reader(source)
    except DatasetReadError:
        raise
    except _READ_ERRORS as error:
        message = str(error).strip().removeprefix(f"{source}:").strip()  # the file is named once, below
        raise DatasetReadError(
            f"{source}: cannot be read as {source.suffix.lower()[1:]}: {message}"
        ) from error
