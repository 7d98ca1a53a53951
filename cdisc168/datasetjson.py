"""CDISC Dataset-JSON 1.1: write a dataset with its define.xml metadata, read one back, validate a file.

Dataset-JSON 1.1 specification (CDISC, final 2024-12-05; JSON schema vendored in
``cdisc168/standards/schemas/dataset-json-1.1``):

* one dataset per file; top-level attributes in the order of the specification's "Top-level Metadata
  Attributes" table, then ``columns`` (one object per variable, in dataset order, attributes in the
  order of the "Column Metadata" table) and ``rows`` (one array of values per record);
* missing values are ``null``, empty text is ``""``;
* the NDJSON representation (file extension ``.ndjson``) has the metadata object on line 1 and one row
  array per following line.

The writer maps the define.xml ``DataType`` of each variable to the Dataset-JSON ``dataType`` and
``targetDataType`` (see :func:`dataset_json_column`), writes every number exactly (integers as JSON
integers, doubles as the shortest text that reads back as the same double) and writes the file
atomically with deterministic bytes: fixed attribute order, UTF-8 (``ensure_ascii=False``), one row per
line, a newline at the end. The times in the header are the ``created`` value given by the caller (the
data cut), never the wall clock, so rebuilding gives the same bytes.

Values are converted a column at a time: distinct values are JSON-encoded once and spread with an
Arrow ``take``, and the row texts are joined by Arrow's element-wise string join, a chunk of rows at a
time, so memory stays bounded and no Python code runs per row.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.standards.schemas import validate_dataset_json
from cdisc168.write.xpt import sas_date, sas_datetime, sas_time

__all__ = [
    "DATASET_JSON_VERSION",
    "ColumnDefinition",
    "DatasetJsonError",
    "dataset_json_column",
    "read_dataset_json",
    "to_sas_numbers",
    "validate_dataset_json_file",
    "write_dataset_json",
]

DATASET_JSON_VERSION = "1.1.0"
"""``datasetJSONVersion`` written (the schema's pattern is ``1.1(.(0|[1-9][0-9]*))?``)."""

_VERSION = re.compile(r"1\.1(\.(0|[1-9][0-9]*))?")
_ROWS_PER_CHUNK = 100_000
_SHOWN = 60

# define.xml DataType (ODM 1.3.2 / Define-XML 2.1 §5.3.11.1) → Dataset-JSON dataType, for the types
# whose values are written as they are. ISO 8601 values that may be partial, incomplete, durations or
# intervals have no Dataset-JSON logical type of their own, so they are exchanged as "string".
_TEXT_TYPES = {
    "text": "string",
    "string": "string",
    "URI": "URI",
    "partialDate": "string",
    "partialTime": "string",
    "partialDatetime": "string",
    "incompleteDatetime": "string",
    "durationDatetime": "string",
    "intervalDatetime": "string",
}
_NUMBER_TYPES = {"integer": "integer", "float": "double", "double": "double"}
_ISO_TYPES = ("date", "datetime", "time")

# SAS formats of numeric dates, datetimes and times (the name without width and decimals).
_SAS_TEMPORAL_FORMATS = {
    **dict.fromkeys(("DATE", "E8601DA", "IS8601DA", "B8601DA", "YYMMDD", "MMDDYY", "DDMMYY"), "date"),
    **dict.fromkeys(("DATETIME", "E8601DT", "IS8601DT", "B8601DT"), "datetime"),
    **dict.fromkeys(("TIME", "E8601TM", "IS8601TM", "B8601TM", "TOD", "HHMM"), "time"),
}
_FORMAT_NAME = re.compile(r"(?P<name>[A-Z_](?:[A-Z0-9_]*[A-Z_])?)\d*\.\d*")

_TOP_LEVEL_REQUIRED = (
    "datasetJSONCreationDateTime",
    "datasetJSONVersion",
    "itemGroupOID",
    "records",
    "name",
    "label",
    "columns",
)
_COLUMN_REQUIRED = ("itemOID", "name", "label", "dataType")
_READ_TYPES = (
    "string",
    "integer",
    "decimal",
    "float",
    "double",
    "boolean",
    "datetime",
    "date",
    "time",
    "URI",
)

_SAS_EPOCH_DAY = np.datetime64("1960-01-01", "D")
_SAS_EPOCH_MS = np.datetime64("1960-01-01T00:00:00", "ms")
# SAS numbers of 0001-01-01 and 9999-12-31: the years an ISO 8601 date (YYYY) can hold.
_SAS_DATE_RANGE = (
    float((date(1, 1, 1) - date(1960, 1, 1)).days),
    float((date(9999, 12, 31) - date(1960, 1, 1)).days),
)
_SAS_DATETIME_RANGE = (_SAS_DATE_RANGE[0] * 86_400, _SAS_DATE_RANGE[1] * 86_400 + 86_399.999)
_SECONDS_PER_DAY = 86_400.0
# Complete ISO 8601 values of the Dataset-JSON date/time types (define.xml DataType follows them too).
ISO_PATTERNS = {
    "date": r"\d{4}-\d{2}-\d{2}",
    "datetime": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?",
    "time": r"\d{2}:\d{2}:\d{2}(?:\.\d+)?",
}


class DatasetJsonError(ValueError):
    """A Dataset-JSON file cannot be written or read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ColumnDefinition:
    """The define.xml view of one variable, as the Dataset-JSON ``columns`` entry is built from it.

    ``data_type`` is the define.xml ``ItemDef/@DataType`` (text, integer, float, date, datetime, time,
    partialDate, …, durationDatetime, URI); ``display_format`` the SAS format of an ADaM numeric date,
    datetime or time (``DATE9.``, ``DATETIME20.``, ``TIME8.``); ``key_sequence`` the position of the
    variable in the dataset's keys (``ItemRef/@KeySequence``).
    """

    item_oid: str
    name: str
    label: str
    data_type: str
    length: int | None = None
    display_format: str | None = None
    key_sequence: int | None = None


# --- column metadata -------------------------------------------------------------------------------


def _sas_temporal_kind(display_format: str | None) -> str | None:
    """``date``/``datetime``/``time`` for a SAS date, datetime or time format, else ``None``."""
    match = _FORMAT_NAME.fullmatch((display_format or "").strip().upper())
    return _SAS_TEMPORAL_FORMATS.get(match["name"]) if match else None


def _logical_type(column: ColumnDefinition) -> tuple[str, str | None]:
    """(dataType, targetDataType) of a column; see :func:`dataset_json_column` for the rules."""
    numeric_kind = _sas_temporal_kind(column.display_format)
    if numeric_kind is not None and column.data_type in (*_NUMBER_TYPES, *_ISO_TYPES):
        if column.data_type in _ISO_TYPES and column.data_type != numeric_kind:
            raise DatasetJsonError(
                f"{column.name}: define DataType {column.data_type!r} does not match the "
                f"{numeric_kind} display format {column.display_format!r}"
            )
        return numeric_kind, "integer"
    if column.data_type in _ISO_TYPES:
        return column.data_type, None
    if column.data_type in _TEXT_TYPES:
        return _TEXT_TYPES[column.data_type], None
    if column.data_type in _NUMBER_TYPES:
        return _NUMBER_TYPES[column.data_type], None
    known = sorted({*_TEXT_TYPES, *_NUMBER_TYPES, *_ISO_TYPES})
    raise DatasetJsonError(
        f"{column.name}: define DataType {column.data_type!r} is not one of {', '.join(known)}"
    )


def dataset_json_column(column: ColumnDefinition) -> dict[str, Any]:
    """The Dataset-JSON 1.1 ``columns`` entry of a variable, attributes in the specification's order.

    define.xml DataType → Dataset-JSON ``dataType`` / ``targetDataType`` (Dataset-JSON 1.1, "Supported
    Column Data Type Combinations" and "Date/Time Variables"):

    ========================================  =====================  ===============  ==============
    define.xml DataType                       dataType               targetDataType   JSON value
    ========================================  =====================  ===============  ==============
    text                                      string                 –                string
    integer                                   integer                –                integer
    float                                     double                 –                number
    date / datetime / time (character)        date / datetime / time –                ISO 8601 text
    integer, float, date, datetime or time
    with a SAS date/datetime/time format      date / datetime / time integer          ISO 8601 text
    partialDate … intervalDatetime            string                 –                string
    URI                                       URI                    –                string
    ========================================  =====================  ===============  ==============

    * ``float`` becomes ``double``: the values are IEEE 754 binary64 numbers (SAS and pandas store
      nothing else) written as the shortest text that reads back as the same binary64 value; a reader
      taking them as 32-bit ``float`` would lose digits. ``decimal`` (numbers as strings) is not
      written: it is an interoperability option of the specification, not needed for exactness.
    * SDTM ``--DTC`` variables (character ISO 8601, define DataType ``date``/``datetime``) keep their
      logical type and no ``targetDataType``: the specification's AE example gives AESTDTC
      ``"dataType": "date"`` and says the targetDataType "does not need to be mentioned for SDTM
      datasets as the logical type is the same as the JSON data type".
    * ADaM numeric dates (``ADT`` with ``DATE9.``) are ``date`` with ``targetDataType`` ``integer`` and
      ISO 8601 values ("For ADaM datasets, the targetDataType must be set to integer"); the display
      format tells the receiving system how to show the number. Whether define.xml calls the variable
      ``integer`` or ``date``, the SAS format decides. Such a column has no ``length``: the Dataset-JSON
      length counts the characters of the value as text, and define.xml's 8 (bytes of a SAS number)
      would understate the 10 characters of ``2024-11-19``.
    """
    data_type, target_data_type = _logical_type(column)
    entry: dict[str, Any] = {
        "itemOID": column.item_oid,
        "name": column.name,
        "label": column.label,
        "dataType": data_type,
    }
    if target_data_type is not None:
        entry["targetDataType"] = target_data_type
    if column.length is not None and target_data_type is None:
        entry["length"] = column.length
    if column.display_format:
        entry["displayFormat"] = column.display_format
    if column.key_sequence is not None:
        entry["keySequence"] = column.key_sequence
    return entry


def _check_columns(columns: Sequence[ColumnDefinition], frame: pd.DataFrame) -> list[str]:
    """Problems with the column definitions themselves and their match with the frame's columns."""
    problems = []
    names = [c.name for c in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        problems.append(f"column(s) defined more than once: {', '.join(duplicated)}")
    missing = [n for n in names if n not in frame.columns]
    if missing:
        problems.append(f"column(s) defined but not in the data: {', '.join(missing)}")
    for column in columns:
        if not column.item_oid or not column.name:
            problems.append(f"column {column.name!r}: itemOID and name must not be empty")
        for attribute in ("length", "key_sequence"):
            value = getattr(column, attribute)
            if value is not None and (not isinstance(value, int) or value < 1):
                problems.append(f"column {column.name}: {attribute} must be an integer >= 1, got {value!r}")
    return problems


# --- values → JSON fragments -------------------------------------------------------------------------


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _value_error(column: str, mask: np.ndarray, values: pd.Series, first_row: int, problem: str) -> None:
    """Raise for the first ``True`` of ``mask``, naming the 1-based record number and the value."""
    position = int(np.flatnonzero(mask)[0])
    count = int(np.count_nonzero(mask))
    raise DatasetJsonError(
        f"column {column}: {problem}; {count} value(s) in records {first_row}..{first_row + len(values) - 1}, "
        f"first at record {first_row + position}: {_show(values.iloc[position])}"
    )


def _is_text(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _is_text(pd.Series(series.cat.categories))
    if bool(series.isna().all()):  # no value to infer from: the dtype decides (an all-NaT date is not text)
        return pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)
    return pd.api.types.infer_dtype(series, skipna=True) == "string"


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _encoded(uniques: list[str], codes: np.ndarray) -> pa.Array:
    """Spread the JSON texts of the distinct values over the rows; code -1 (missing) → ``null``."""
    dictionary = pa.array([*uniques, "null"], type=pa.large_string())
    return dictionary.take(pa.array(np.where(codes < 0, len(uniques), codes)))


def _string_fragments(name: str, series: pd.Series, first_row: int) -> pa.Array:
    """Text values as JSON strings (distinct values encoded once), missing → ``null``."""
    if not _is_text(series):
        text = series.map(lambda v: isinstance(v, str) or v is None or v is pd.NA or v != v)
        _value_error(
            name,
            ~text.to_numpy(dtype=bool),
            series,
            first_row,
            f"declared text but holds {series.dtype} values",
        )
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return _encoded([json.dumps(str(u), ensure_ascii=False) for u in uniques], codes)


def _numbers(name: str, series: pd.Series, first_row: int) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64 or int64, missing mask) of a numeric column; text, booleans, dates refused."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not (pd.api.types.is_numeric_dtype(dtype) or series.isna().all()):
        numeric = series.isna().to_numpy(dtype=bool)
        if pd.api.types.is_object_dtype(dtype):
            kinds = series.map(lambda v: type(v) in (int, float) or isinstance(v, np.number))
            numeric |= kinds.to_numpy(dtype=bool)
        if not numeric.all():
            _value_error(name, ~numeric, series, first_row, f"declared numeric but holds {dtype} values")
        series = pd.to_numeric(series.astype(object))
    missing = series.isna().to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.to_numpy(dtype="int64", na_value=0), missing
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        _value_error(name, infinite, series, first_row, "infinite numbers cannot be written")
    return values, missing


def _integer_fragments(name: str, series: pd.Series, first_row: int) -> pa.Array:
    """Integers as JSON integers; a float column is accepted when every value is a whole number."""
    values, missing = _numbers(name, series, first_row)
    if values.dtype.kind == "f":
        filled = np.where(missing, 0.0, values)
        fractional = (np.floor(filled) != filled) | (np.abs(filled) > 2.0**53)
        if fractional.any():
            _value_error(
                name,
                fractional,
                series,
                first_row,
                "declared integer but holds non-integers (or beyond ±2**53)",
            )
        values = filled.astype(np.int64)
    return pa.array(values, mask=missing).cast(pa.large_string()).fill_null("null")


def _double_fragments(name: str, series: pd.Series, first_row: int) -> pa.Array:
    """Doubles as Python's ``repr`` (the shortest text reading back as the same binary64): 1.0, 0.1."""
    values, missing = _numbers(name, series, first_row)
    doubles = values.astype("float64")
    # Distinct by bit pattern, so that -0.0 keeps its sign (0.0 == -0.0 would merge them).
    codes, uniques = pd.factorize(doubles.view(np.int64), use_na_sentinel=False)
    codes = np.where(missing, -1, codes)
    return _encoded([repr(float(u)) for u in uniques.view(np.float64)], codes)


def _check_range(
    name: str, numbers: np.ndarray, low: float, high: float, series: pd.Series, first_row: int
) -> None:
    with np.errstate(invalid="ignore"):
        outside = ~np.isnan(numbers) & ((numbers < low) | (numbers > high))
    if outside.any():
        _value_error(name, outside, series, first_row, f"outside the ISO 8601 range ({low:g} .. {high:g})")


def _sas_numbers(kind: str, series: pd.Series) -> np.ndarray:
    """SAS numbers (float64, NaN for missing) of numeric or date/time-like values of kind ``kind``."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    convert = {"date": sas_date, "datetime": sas_datetime, "time": sas_time}[kind]
    return convert(series).to_numpy(dtype="float64", na_value=np.nan)


def _iso_from_sas(kind: str, numbers: np.ndarray) -> pa.Array:
    """ISO 8601 text of SAS dates (days since 1960), datetimes or times (seconds); null for NaN.

    The time of day of a date is dropped (as :func:`cdisc168.write.xpt.sas_date` does). Whole seconds
    are written without a fraction (``2024-11-19T09:10:00``); a fraction is kept to the millisecond
    (``09:10:00.250``), as far as a SAS datetime holds it.
    """
    missing = np.isnan(numbers)
    filled = np.where(missing, 0.0, numbers)
    if kind == "date":
        days = np.floor(filled).astype(np.int64)
        text = np.datetime_as_string(_SAS_EPOCH_DAY + days.astype("timedelta64[D]"), unit="D")
    else:
        milliseconds = np.round(filled * 1000.0).astype(np.int64)
        moments = _SAS_EPOCH_MS + milliseconds.astype("timedelta64[ms]")
        text = np.datetime_as_string(moments, unit="s").astype("<U23")
        fractional = milliseconds % 1000 != 0
        if fractional.any():
            text[fractional] = np.datetime_as_string(moments[fractional], unit="ms")
    iso = pa.array(text, mask=missing, type=pa.large_string())
    return pc.utf8_slice_codeunits(iso, 11) if kind == "time" else iso


def _iso_fragments(name: str, kind: str, numeric_target: bool, series: pd.Series, first_row: int) -> pa.Array:
    """Dates, datetimes and times as ISO 8601 JSON strings (Dataset-JSON 1.1 "Date/Time Variables").

    Text is written as it is (SDTM ``--DTC`` values, partial or not; ISO text read from a Dataset-JSON
    file). Numbers are SAS dates/datetimes/times; datetime64, timedelta64 and ``datetime.date``/``time``
    objects are converted as the XPT writer converts them (:func:`cdisc168.write.xpt.sas_date` …).
    """
    if _is_text(series):
        if numeric_target:
            complete = series.isna() | series.astype(object).str.fullmatch(ISO_PATTERNS[kind]).fillna(False)
            if not complete.all():
                _value_error(
                    name, ~complete.to_numpy(dtype=bool), series, first_row, f"not a complete ISO 8601 {kind}"
                )
        return _string_fragments(name, series, first_row)
    try:
        numbers = _sas_numbers(kind, series)
    except (TypeError, ValueError) as error:
        raise DatasetJsonError(
            f"column {name}: {kind} values of type {series.dtype} cannot be read: {error}"
        ) from None
    if kind == "time":
        _check_range(name, numbers, 0.0, _SECONDS_PER_DAY - 0.001, series, first_row)
    else:
        low, high = _SAS_DATE_RANGE if kind == "date" else _SAS_DATETIME_RANGE
        _check_range(name, numbers, low, high, series, first_row)
    quoted = pc.binary_join_element_wise(_text('"'), _iso_from_sas(kind, numbers), _text('"'), _text(""))
    return quoted.fill_null("null")


def _fragments(entry: dict[str, Any], series: pd.Series, first_row: int) -> pa.Array:
    """One column of a block of rows as JSON value texts, by the column's Dataset-JSON type."""
    name, data_type = entry["name"], entry["dataType"]
    if data_type in _ISO_TYPES:
        return _iso_fragments(name, data_type, "targetDataType" in entry, series, first_row)
    if data_type == "integer":
        return _integer_fragments(name, series, first_row)
    if data_type == "double":
        return _double_fragments(name, series, first_row)
    return _string_fragments(name, series, first_row)


def _concatenated(texts: pa.Array) -> memoryview:
    """The UTF-8 bytes of all values of a large-string array, back to back (its data buffer, sliced)."""
    _, offsets_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    return memoryview(data_buffer)[offsets[0] : offsets[-1]]


def _row_blocks(frame: pd.DataFrame, entries: list[dict[str, Any]], separator: str) -> Iterator[memoryview]:
    """The rows as ``[v1,v2,…]`` + ``separator`` each, in blocks of :data:`_ROWS_PER_CHUNK` rows."""
    for start in range(0, len(frame), _ROWS_PER_CHUNK):
        block = frame.iloc[start : start + _ROWS_PER_CHUNK]
        values = [_fragments(e, block[e["name"]].reset_index(drop=True), start + 1) for e in entries]
        joined = (
            pc.binary_join_element_wise(*values, _text(","))
            if values
            else pa.array([""] * len(block), type=pa.large_string())
        )
        yield _concatenated(
            pc.binary_join_element_wise(_text("["), joined, _text("]" + separator), _text(""))
        )


# --- writing ---------------------------------------------------------------------------------------


def _timestamp(moment: datetime | date) -> str:
    """ISO 8601 date-time with seconds, as the schema's pattern requires (a date → its midnight)."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return moment.isoformat(timespec="seconds")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@contextmanager
def _atomic_file(target: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside ``target`` that replaces it (``os.replace``) only when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temporary = Path(temporary_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_dataset_json(
    frame: pd.DataFrame,
    path: Path,
    *,
    name: str,
    label: str,
    columns: Sequence[ColumnDefinition],
    item_group_oid: str,
    study_oid: str,
    metadata_version_oid: str,
    metadata_ref: str,
    file_oid: str,
    created: datetime | date,
    originator: str,
    source_system: str,
    source_system_version: str,
) -> None:
    """Write ``frame`` as a Dataset-JSON 1.1 file (``.ndjson``: the NDJSON representation).

    Exactly the variables of ``columns`` are written, in that order (other frame columns, such as
    lineage columns, stay out). ``created`` (the data cut) is both ``datasetJSONCreationDateTime`` and
    ``dbLastModifiedDateTime``, so a rebuild writes the same bytes; ``metadata_ref`` is the path of the
    define.xml relative to the file. The OIDs must be those of the define.xml
    (:mod:`cdisc168.write.oids`). Values: see :func:`dataset_json_column`; missing → ``null``, NaN never
    written, an infinite number or a non-integer in an integer column is refused.

    Raises :class:`DatasetJsonError` naming the file, the column, the record and the value; nothing is
    written then and an existing file stays as it was. Not validated against the schema here (see
    :func:`validate_dataset_json_file`), so that large datasets are written fast.
    """
    target = Path(path)
    problems = _check_columns(columns, frame)
    if problems:
        raise DatasetJsonError(f"{target}: dataset {name}: " + "; ".join(problems))
    try:
        entries = [dataset_json_column(c) for c in columns]
        metadata: dict[str, Any] = {
            "datasetJSONCreationDateTime": _timestamp(created),
            "datasetJSONVersion": DATASET_JSON_VERSION,
            "fileOID": file_oid,
            "dbLastModifiedDateTime": _timestamp(created),
            "originator": originator,
            "sourceSystem": {"name": source_system, "version": source_system_version},
            "studyOID": study_oid,
            "metaDataVersionOID": metadata_version_oid,
            "metaDataRef": metadata_ref,
            "itemGroupOID": item_group_oid,
            "records": len(frame),
            "name": name,
            "label": label,
            "columns": entries,
        }
        data = frame[[c.name for c in columns]]
        with _atomic_file(target) as stream:
            if target.suffix.lower() == ".ndjson":
                stream.write((_dump(metadata) + "\n").encode("utf-8"))
                for block in _row_blocks(data, entries, "\n"):
                    stream.write(block)
            else:
                _write_json(stream, metadata, data, entries)
    except DatasetJsonError as error:
        raise DatasetJsonError(f"{target}: dataset {name}: {error}") from None
    except UnicodeEncodeError as error:
        raise DatasetJsonError(f"{target}: dataset {name}: text not encodable as UTF-8: {error}") from None


def _write_json(
    stream: IO[bytes], metadata: dict[str, Any], data: pd.DataFrame, entries: list[dict[str, Any]]
) -> None:
    """The JSON representation: one attribute per line, one column per line, one row per line."""
    head = [f"{_dump(key)}: {_dump(value)}" for key, value in metadata.items() if key != "columns"]
    columns = ",\n".join(_dump(entry) for entry in entries)
    stream.write(("{\n" + ",\n".join(head) + f',\n"columns": [\n{columns}\n],\n"rows": [\n').encode("utf-8"))
    separator = ",\n"
    pending: memoryview | None = None
    for block in _row_blocks(data, entries, separator):
        if pending is not None:
            stream.write(pending)
        pending = block
    if pending is not None:
        stream.write(pending[: -len(separator)])
        stream.write(b"\n")
    stream.write(b"]\n}\n")


# --- reading ---------------------------------------------------------------------------------------


def _load(source: Path) -> dict[str, Any]:
    """The Dataset-JSON object of a ``.json`` file, or assembled from a ``.ndjson`` file."""
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise DatasetJsonError(f"{source}: cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise DatasetJsonError(f"{source}: not UTF-8 text (byte {error.start}): {error.reason}") from None
    if source.suffix.lower() == ".ndjson":
        return _load_ndjson(source, text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetJsonError(
            f"{source}: not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if not isinstance(document, dict):
        raise DatasetJsonError(
            f"{source}: a Dataset-JSON file holds one JSON object, found {type(document).__name__}"
        )
    return document


def _load_ndjson(source: Path, text: str) -> dict[str, Any]:
    """NDJSON (Dataset-JSON 1.1): line 1 the metadata object, each further line one row array."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DatasetJsonError(f"{source}: empty file; line 1 must be the metadata object")
    try:
        metadata = json.loads(lines[0])
    except json.JSONDecodeError as error:
        raise DatasetJsonError(f"{source}: line 1 is not JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(metadata, dict):
        raise DatasetJsonError(
            f"{source}: line 1 must be the metadata object, found {type(metadata).__name__}"
        )
    try:
        rows = json.loads("[" + ",".join(lines[1:]) + "]")
    except json.JSONDecodeError:
        rows = [_ndjson_row(source, number, line) for number, line in enumerate(lines[1:], start=2)]
    if len(rows) != len(lines) - 1:
        raise DatasetJsonError(f"{source}: each line after line 1 must hold exactly one row array")
    return {**metadata, "rows": rows}


def _ndjson_row(source: Path, number: int, line: str) -> Any:
    """One NDJSON line parsed on its own, to name the line that is not JSON."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise DatasetJsonError(
            f"{source}: line {number} is not JSON: {error.msg} at column {error.colno}"
        ) from None


def _check_document(source: Path, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Structural checks a reader relies on; returns the column entries."""
    missing = [key for key in _TOP_LEVEL_REQUIRED if key not in document]
    if missing:
        raise DatasetJsonError(f"{source}: missing required attribute(s): {', '.join(missing)}")
    version = document["datasetJSONVersion"]
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise DatasetJsonError(f"{source}: datasetJSONVersion {version!r} is not 1.1 (only 1.1.x is read)")
    columns = document["columns"]
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise DatasetJsonError(f"{source}: columns must be an array of objects")
    for position, column in enumerate(columns, start=1):
        absent = [key for key in _COLUMN_REQUIRED if key not in column]
        if absent:
            raise DatasetJsonError(
                f"{source}: column {position} ({column.get('name', '?')}): missing {', '.join(absent)}"
            )
        if column["dataType"] not in _READ_TYPES:
            raise DatasetJsonError(
                f"{source}: column {column['name']}: dataType {column['dataType']!r} is not one of {', '.join(_READ_TYPES)}"
            )
    names = [c["name"] for c in columns]
    duplicated = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicated:
        raise DatasetJsonError(f"{source}: column(s) named more than once: {', '.join(duplicated)}")
    rows = document.get("rows", [])
    if not isinstance(rows, list):
        raise DatasetJsonError(f"{source}: rows must be an array of row arrays")
    if "rows" in document and document["records"] != len(rows):
        raise DatasetJsonError(
            f"{source}: records is {document['records']!r} but {len(rows)} row(s) are present"
        )
    problem = _row_length_problem(rows, len(columns))
    if problem:
        raise DatasetJsonError(f"{source}: {problem}")
    return columns


def _row_length_problem(rows: list[Any], width: int) -> str | None:
    """A message if a row is not an array of ``width`` values (the schema cannot say so), else None."""
    if not rows:
        return None
    series = pd.Series(rows, dtype=object)
    is_array = series.map(type).eq(list).to_numpy(dtype=bool)
    lengths = np.where(is_array, series.str.len().fillna(-1).to_numpy(dtype="float64"), -1)
    wrong = np.flatnonzero(lengths != width)
    if not wrong.size:
        return None
    first = int(wrong[0])
    found = f"{int(lengths[first])} value(s)" if is_array[first] else "not an array"
    return (
        f"{wrong.size} row(s) do not have one value per column ({width}); first: row {first + 1} has {found}"
    )


def _column_error(
    source: Path, entry: dict[str, Any], values: np.ndarray, allowed: tuple[type, ...]
) -> DatasetJsonError:
    """The error for the first value of a column whose JSON type is not one of ``allowed``."""
    present = pd.notna(values)
    bad = present & ~np.isin(pd.Series(values, dtype=object).map(type).to_numpy(dtype=object), allowed)
    if entry["dataType"] == "integer":
        numbers = pd.to_numeric(pd.Series(np.where(bad, None, values)), errors="coerce").to_numpy(
            dtype="float64"
        )
        bad |= present & (np.floor(numbers) != numbers)
    expected = {"integer": "integers", "float": "numbers", "double": "numbers", "boolean": "booleans"}
    position = int(np.flatnonzero(bad)[0]) if bad.any() else 0
    return DatasetJsonError(
        f"{source}: column {entry['name']} ({entry['dataType']}): {int(bad.sum())} value(s) are not JSON "
        f"{expected.get(entry['dataType'], 'strings')}; first at row {position + 1}: "
        f"{_show(json.dumps(values[position], ensure_ascii=False))}"
    )


def _typed_column(source: Path, entry: dict[str, Any], values: np.ndarray) -> pd.Series:
    """The values of one column as pandas data: text as object (``None`` for null), numbers as
    Int64/float64, booleans as ``boolean``; dates and times stay ISO 8601 text (see :func:`to_sas_numbers`).

    The JSON types are checked a column at a time (``infer_dtype``); a JSON integer column may hold
    whole numbers written with a fraction (``1.0``), as a JSON Schema integer may.
    """
    data_type = entry["dataType"]
    kind = pd.api.types.infer_dtype(values, skipna=True)
    series = pd.Series(values, dtype=object)
    if data_type in ("integer", "float", "double"):
        if kind not in ("integer", "floating", "mixed-integer-float", "empty"):
            raise _column_error(source, entry, values, (int, float))
        if data_type != "integer":
            return series.astype("float64")
        numbers = series.astype("float64").to_numpy()
        if kind != "integer" and (np.floor(numbers[~np.isnan(numbers)]) != numbers[~np.isnan(numbers)]).any():
            raise _column_error(source, entry, values, (int,))
        try:
            return series.astype("Int64") if kind == "integer" else pd.Series(numbers).astype("Int64")
        except (OverflowError, TypeError, ValueError):
            raise DatasetJsonError(f"{source}: column {entry['name']}: integers beyond 64 bits") from None
    if data_type == "boolean":
        if kind not in ("boolean", "empty"):
            raise _column_error(source, entry, values, (bool,))
        return series.astype("boolean")
    if kind not in ("string", "empty"):
        raise _column_error(source, entry, values, (str,))
    if data_type != "decimal":
        return series
    numbers = pd.to_numeric(series.str.replace(",", "", regex=False), errors="coerce")
    unreadable = series.notna() & numbers.isna()
    if unreadable.any():
        position = int(np.flatnonzero(unreadable.to_numpy(dtype=bool))[0])
        raise DatasetJsonError(
            f"{source}: column {entry['name']} (decimal): {int(unreadable.sum())} value(s) are not decimal "
            f"numbers; first at row {position + 1}: {_show(series.iloc[position])}"
        )
    return numbers.astype("float64")


def _value_table(source: Path, rows: list[Any], width: int) -> np.ndarray:
    """The rows as a 2-D object array (records × columns), filled by numpy without a Python loop."""
    table = np.empty((len(rows), width), dtype=object)
    try:
        table[:] = rows
    except ValueError:
        raise DatasetJsonError(
            f"{source}: row values must be strings, numbers, booleans or null, not arrays or objects"
        ) from None
    return table


def _variable(entry: dict[str, Any]) -> dict[str, Any]:
    """Variable metadata shaped like :func:`cdisc168.write.xpt.read_xpt`'s, plus the Dataset-JSON view."""
    data_type = entry["dataType"]
    numeric = data_type in ("integer", "decimal", "float", "double", "boolean") or "targetDataType" in entry
    return {
        "label": entry["label"],
        "type": "Num" if numeric else "Char",
        "length": entry.get("length"),
        "display_format": entry.get("displayFormat"),
        "data_type": data_type,
        "target_data_type": entry.get("targetDataType"),
        "item_oid": entry["itemOID"],
        "key_sequence": entry.get("keySequence"),
    }


def read_dataset_json(path: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a Dataset-JSON 1.1 file (``.json``, or ``.ndjson`` for the NDJSON representation).

    Returns the frame and its metadata. Values: ``string``/``URI`` as object text with ``None`` for
    null; ``integer`` as Int64; ``float``/``double`` as float64; ``decimal`` (numbers as strings,
    "," thousands separators allowed) as float64, the closest a pandas receiver holds; ``boolean`` as
    boolean. ``date``/``datetime``/``time`` values stay the ISO 8601 text of the file, also with
    ``targetDataType`` ``integer`` (ADaM numeric dates): :func:`to_sas_numbers` turns those into SAS
    numbers, as an XPT holds them.

    The metadata dict is shaped like :func:`cdisc168.write.xpt.read_xpt`'s: ``dataset``, ``label``,
    ``rows``, ``variables`` (name → ``label``, ``type`` Char/Num, ``length``, ``display_format``,
    ``data_type``, ``target_data_type``, ``item_oid``, ``key_sequence``) plus ``study_oid``,
    ``metadata_version_oid``, ``item_group_oid``, ``metadata_ref``, ``file_oid``, ``created``,
    ``db_last_modified``, ``originator``, ``source_system`` and ``dataset_json_version``.

    Raises :class:`DatasetJsonError` naming the file and the problem (not JSON, a required attribute
    missing, a row without one value per column, records not matching the rows, a value of the wrong
    JSON type). The file is not validated against the full schema: :func:`validate_dataset_json_file`.
    """
    source = Path(path)
    document = _load(source)
    columns = _check_document(source, document)
    rows = document.get("rows", [])
    table = _value_table(source, rows, len(columns))
    frame = pd.DataFrame(
        {c["name"]: _typed_column(source, c, table[:, j]) for j, c in enumerate(columns)},
        index=pd.RangeIndex(len(rows)),
    )
    source_system = document.get("sourceSystem")
    metadata: dict[str, Any] = {
        "dataset": document["name"],
        "label": document["label"],
        "rows": len(rows),
        "variables": {c["name"]: _variable(c) for c in columns},
        "study_oid": document.get("studyOID"),
        "metadata_version_oid": document.get("metaDataVersionOID"),
        "item_group_oid": document["itemGroupOID"],
        "metadata_ref": document.get("metaDataRef"),
        "file_oid": document.get("fileOID"),
        "created": document["datasetJSONCreationDateTime"],
        "db_last_modified": document.get("dbLastModifiedDateTime"),
        "originator": document.get("originator"),
        "source_system": dict(source_system) if isinstance(source_system, dict) else None,
        "dataset_json_version": document["datasetJSONVersion"],
    }
    return frame, metadata


def to_sas_numbers(frame: pd.DataFrame, metadata: dict[str, Any]) -> pd.DataFrame:
    """A copy of a frame read by :func:`read_dataset_json` with its numeric dates as SAS numbers.

    Dataset-JSON 1.1 "Date/Time Variables": a ``date``/``datetime``/``time`` column with
    ``targetDataType`` ``integer`` must be converted to a number by the receiving system; here, as in
    an XPT file (ADaMIG 1.3 §3.1.2), days since 1960-01-01 for dates and seconds since
    1960-01-01T00:00:00 or since midnight for datetimes and times (float64, NaN for null). Other
    columns are unchanged. An ISO value that cannot be read raises :class:`DatasetJsonError`.
    """
    out = frame.copy()
    for name, variable in metadata["variables"].items():
        kind = variable["data_type"]
        if variable["target_data_type"] != "integer" or kind not in _ISO_TYPES:
            continue
        text = out[name].astype(object)
        try:
            if kind == "time":
                clock = pd.to_timedelta(text, errors="coerce")
                numbers = (clock / pd.Timedelta(seconds=1)).astype("float64")
            else:
                moments = pd.to_datetime(text, format="ISO8601", errors="coerce")
                numbers = sas_date(moments) if kind == "date" else sas_datetime(moments)
        except (TypeError, ValueError) as error:
            raise DatasetJsonError(
                f"{metadata['dataset']}.{name}: {kind} values cannot be read: {error}"
            ) from None
        unreadable = (text.notna() & numbers.isna()).to_numpy(dtype=bool)
        if unreadable.any():
            position = int(np.flatnonzero(unreadable)[0])
            raise DatasetJsonError(
                f"{metadata['dataset']}.{name}: {int(unreadable.sum())} value(s) are not ISO 8601 {kind}s; "
                f"first at row {position + 1}: {_show(text.iloc[position])}"
            )
        out[name] = numbers.to_numpy(dtype="float64")
    return out


# --- validation ------------------------------------------------------------------------------------


def validate_dataset_json_file(path: Path | str) -> list[str]:
    """Load a ``.json`` or ``.ndjson`` file and validate it against the Dataset-JSON 1.1 schema.

    Returns the problems, each prefixed with the file (empty = valid): a file that cannot be read or
    parsed, schema errors (``cdisc168.standards.schemas.validate_dataset_json``; NDJSON is validated as
    the one object it stands for), and what the schema cannot express: ``records`` equal to the number
    of rows, one value per column in every row, and ``dbLastModifiedDateTime`` not after
    ``datasetJSONCreationDateTime`` (Dataset-JSON 1.1, "Top-level Metadata Attributes").
    """
    source = Path(path)
    try:
        document = _load(source)
    except DatasetJsonError as error:
        return [str(error)]
    problems = [f"{source}: {message}" for message in validate_dataset_json(document)]
    if problems:
        return problems
    rows, columns = document.get("rows"), document["columns"]
    if rows is not None and document["records"] != len(rows):
        problems.append(f"{source}: records is {document['records']} but {len(rows)} row(s) are present")
    problem = _row_length_problem(rows or [], len(columns))
    if problem:
        problems.append(f"{source}: {problem}")
    if "dbLastModifiedDateTime" in document and _after(
        document["dbLastModifiedDateTime"], document["datasetJSONCreationDateTime"]
    ):
        problems.append(
            f"{source}: dbLastModifiedDateTime {document['dbLastModifiedDateTime']} is after "
            f"datasetJSONCreationDateTime {document['datasetJSONCreationDateTime']}"
        )
    return problems


def _after(first: str, second: str) -> bool:
    """``first`` is a later date-time than ``second`` (False when one has a time zone and the other not)."""
    try:
        return datetime.fromisoformat(first) > datetime.fromisoformat(second)
    except (TypeError, ValueError):
        return False
