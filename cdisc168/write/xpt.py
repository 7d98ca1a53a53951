"""SAS XPORT version 5 datasets for FDA submission: check the metadata, write, read back.

Rules applied (FDA Study Data Technical Conformance Guide, "SAS transport file format"; SAS TS-140
for the byte layout, see ``reference/xpt_v5_layout.md``):

* SAS transport version 5 only, one dataset per file, file name = lower-case dataset name + ``.xpt``;
* dataset and variable names at most 8 characters: upper-case letters, digits and underscores,
  starting with a letter;
* dataset and variable labels at most 40 characters;
* ASCII text only, in names, labels and character values (SAS transport v5 has no encoding);
* character values at most 200 bytes, and each character variable's length set to its longest value
  (FDA validator rule FDAC036, "variable length should be assigned based on actual stored data");
  numerics are 8 bytes.

:func:`cdisc168.write.xpt_data.write_xpt_data` writes the bytes (vectorised; the same bytes pyreadstat /
ReadStat writes, which the tests prove). Trailing blanks are stripped (SAS does not keep them), the length
of each character variable is its longest value (at least 1), read back from the NAMESTR records to
confirm it, and the four header date-times are the data cut, so rebuilds are byte-identical.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.findings import Finding, Severity
from cdisc168.write.xpt_data import read_xpt_data, write_xpt_data
from cdisc168.write.xpt_header import (
    XptHeader,
    XptLayoutError,
    header_variables,
    read_xpt_header_file,
)

__all__ = [
    "XptError",
    "XptLayoutError",
    "XptVariable",
    "check_xpt_metadata",
    "read_xpt",
    "sas_date",
    "sas_datetime",
    "sas_time",
    "write_xpt",
]

MAX_NAME_LENGTH = 8
MAX_LABEL_LENGTH = 40
MAX_CHAR_LENGTH = 200
NUMERIC_LENGTH = 8
# Records prepared and written at a time: bounds the memory of writing a dataset of millions of records.
BLOCK_ROWS = 250_000
SAS_EPOCH = pd.Timestamp("1960-01-01")

# Magnitudes pyreadstat (readstat 1.3.x) writes exactly. An IBM hexadecimal float reaches about
# 7.2e75 (xpt_v5_layout.md §6), but readstat's converter already saturates at 2**249 (about 9.05e74)
# and writes anything below 16**-65 (about 5.4e-79) as zero, so the check refuses values outside.
WRITABLE_MAX = 2.0**249
WRITABLE_MIN = 16.0**-65

_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,7}")
_NOT_PRINTABLE_ASCII = r"[^\x20-\x7E]"
_NOT_PRINTABLE_ASCII_RE = re.compile(_NOT_PRINTABLE_ASCII)
# SAS format: optional name (``$`` for character formats; a name never ends in a digit), width, ``.``,
# decimals: ``DATE9.``, ``DATETIME20.``, ``TIME8.``, ``8.2``, ``$20.``, ``E8601DA10.``.
_FORMAT = re.compile(r"(?P<name>\$?(?:[A-Z_](?:[A-Z0-9_]*[A-Z_])?)?)(?P<width>\d*)\.(?P<decimals>\d*)")
_MAX_FORMAT_WIDTH = 32767
_SHOWN = 60


class XptError(ValueError):
    """A dataset cannot be written as an FDA-conformant XPT v5 file; ``findings`` lists every problem."""

    def __init__(self, dataset: str, findings: Sequence[Finding]) -> None:
        self.dataset = dataset
        self.findings: tuple[Finding, ...] = tuple(findings)
        lines = "\n".join(f"  {f}" for f in self.findings)
        super().__init__(f"{dataset}: {len(self.findings)} problem(s) prevent writing XPT v5:\n{lines}")


@dataclass(frozen=True, slots=True)
class XptVariable:
    """Metadata of one variable as written to the NAMESTR record.

    ``length`` is the spec's maximum for a character variable (1..200); the written length is always
    the longest value, never more than this. ``None`` means no maximum beyond the XPT v5 limit of 200.
    Numeric variables are always written with length 8 (``length`` must be ``None`` or 8).
    ``display_format`` is a SAS format such as ``DATE9.``, ``DATETIME20.`` or ``TIME8.``.
    """

    name: str
    label: str
    type: Literal["Char", "Num"]
    length: int | None = None
    display_format: str | None = None


def _error(
    rule: str, dataset: str, message: str, *, variable: str = "", row: int | None = None, value: str = ""
) -> Finding:
    return Finding(
        rule=rule,
        severity=Severity.ERROR,
        message=message,
        dataset=dataset,
        row=row,
        variable=variable,
        value=value,
    )


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _where(dataset: str, variable: str = "") -> str:
    return f"{dataset}.{variable}" if variable else dataset


# --- metadata checks ---------------------------------------------------------------------------


def _check_name(dataset: str, name: str, variable: str, what: str) -> list[Finding]:
    """Names: at most 8 characters, upper-case letters, digits, underscore, first a letter (FDA TCG)."""
    if isinstance(name, str) and _NAME.fullmatch(name):
        return []
    return [
        _error(
            "XPT-NAME",
            dataset,
            f"{_where(dataset, variable)}: {what} {_show(name)} must be 1-{MAX_NAME_LENGTH} characters, "
            "upper-case letters, digits or underscores, starting with a letter (XPT v5)",
            variable=variable,
            value=str(name),
        )
    ]


def _check_label(dataset: str, variable: str, label: str, what: str) -> list[Finding]:
    """Labels: at most 40 characters of printable ASCII (FDA TCG; XPT v5 NAMESTR label field)."""
    where = _where(dataset, variable)
    if not isinstance(label, str):
        return [
            _error("XPT-LABEL", dataset, f"{where}: {what} must be text", variable=variable, value=str(label))
        ]
    found: list[Finding] = []
    if len(label) > MAX_LABEL_LENGTH:
        found.append(
            _error(
                "XPT-LABEL",
                dataset,
                f"{where}: {what} has {len(label)} characters, more than the XPT v5 maximum of "
                f"{MAX_LABEL_LENGTH}: {_show(label)}",
                variable=variable,
                value=label,
            )
        )
    if _NOT_PRINTABLE_ASCII_RE.search(label):
        found.append(
            _error(
                "XPT-ASCII",
                dataset,
                f"{where}: {what} {_show(label)} is not printable ASCII (FDA: ASCII text only)",
                variable=variable,
                value=label,
            )
        )
    if not label.strip():
        found.append(
            Finding(
                rule="XPT-LABEL",
                severity=Severity.WARNING,
                message=f"{where}: {what} is empty",
                dataset=dataset,
                variable=variable,
            )
        )
    return found


def _parse_format(display_format: str) -> tuple[str, int, int] | None:
    match = _FORMAT.fullmatch(display_format)
    if match is None:
        return None
    return match["name"], int(match["width"] or 0), int(match["decimals"] or 0)


def _normalise_format(display_format: str | None) -> str:
    """``DATE09.`` → ``DATE9.``: the text a NAMESTR record gives back (name, width, decimals)."""
    if not display_format:
        return ""
    parsed = _parse_format(display_format)
    if parsed is None:
        return display_format
    name, width, decimals = parsed
    return f"{name}{width or ''}.{decimals or ''}"


def _check_format(dataset: str, variable: XptVariable) -> list[Finding]:
    """SAS formats: name ≤ 8 characters, ``$`` formats on character variables only (TS-140 NAMESTR)."""
    fmt = variable.display_format
    if fmt is None:
        return []
    parsed = _parse_format(fmt) if isinstance(fmt, str) else None
    problem = ""
    if parsed is None:
        problem = "is not a SAS format such as DATE9., DATETIME20., TIME8., 8.2 or $20."
    else:
        name, width, _ = parsed
        if len(name) > MAX_NAME_LENGTH:
            problem = f"has a format name longer than {MAX_NAME_LENGTH} characters"
        elif width > _MAX_FORMAT_WIDTH:
            problem = f"has a width above {_MAX_FORMAT_WIDTH}"
        elif variable.type == "Char" and not name.startswith("$"):
            problem = "is a numeric format on a character variable"
        elif variable.type == "Num" and name.startswith("$"):
            problem = "is a character format on a numeric variable"
    if not problem:
        return []
    return [
        _error(
            "XPT-FORMAT",
            dataset,
            f"{_where(dataset, variable.name)}: display format {_show(fmt)} {problem}",
            variable=variable.name,
            value=str(fmt),
        )
    ]


def _check_variable(dataset: str, variable: XptVariable) -> list[Finding]:
    """One variable's metadata: name, label, type, declared length, display format."""
    name = variable.name
    found = _check_name(dataset, name, name, "variable name")
    found += _check_label(dataset, name, variable.label, "variable label")
    where = _where(dataset, name)
    if variable.type not in ("Char", "Num"):
        found.append(
            _error(
                "XPT-TYPE",
                dataset,
                f"{where}: type {_show(variable.type)} must be 'Char' or 'Num'",
                variable=name,
                value=str(variable.type),
            )
        )
        return found
    length = variable.length
    if length is not None:
        if variable.type == "Num" and length != NUMERIC_LENGTH:
            found.append(
                _error(
                    "XPT-LENGTH",
                    dataset,
                    f"{where}: numeric length {length}; numerics are written with length {NUMERIC_LENGTH}",
                    variable=name,
                    value=str(length),
                )
            )
        elif variable.type == "Char" and (
            isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_CHAR_LENGTH
        ):
            found.append(
                _error(
                    "XPT-LENGTH",
                    dataset,
                    f"{where}: declared length {length!r} must be 1..{MAX_CHAR_LENGTH} (XPT v5)",
                    variable=name,
                    value=str(length),
                )
            )
    found += _check_format(dataset, variable)
    return found


def _check_columns(dataset: str, frame: pd.DataFrame, variables: Sequence[XptVariable]) -> list[Finding]:
    """Frame columns must be exactly the declared variables, in the declared order, each once."""
    declared: list[object] = [v.name for v in variables]
    columns: list[object] = list(frame.columns)
    found: list[Finding] = []
    for label, names in (("declared", declared), ("frame", columns)):
        duplicates = sorted(str(n) for n, count in Counter(names).items() if count > 1)
        if duplicates:
            found.append(
                _error(
                    "XPT-COLUMNS",
                    dataset,
                    f"{dataset}: {label} variable names repeated: {', '.join(duplicates)}",
                    value=", ".join(duplicates),
                )
            )
    if columns != declared and not found:
        missing = [str(n) for n in declared if n not in columns]
        extra = [str(c) for c in columns if c not in declared]
        parts = []
        if missing:
            parts.append(f"declared but not in the frame: {', '.join(missing)}")
        if extra:
            parts.append(f"in the frame but not declared: {', '.join(extra)}")
        if not parts:
            shown = ", ".join(str(c) for c in columns)
            parts.append(f"order differs: declared {', '.join(map(str, declared))}; frame {shown}")
        found.append(
            _error(
                "XPT-COLUMNS",
                dataset,
                f"{dataset}: frame columns differ from the variables; {'; '.join(parts)}",
            )
        )
    return found


# --- value checks (vectorised, one pass per column) ---------------------------------------------


def _first_row(mask: pd.Series | np.ndarray) -> int:
    """1-based record number of the first ``True``."""
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0]) + 1


def _is_text(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(column.cat.categories, skipna=True) in {"string", "empty"}
    return bool(column.isna().all()) or pd.api.types.infer_dtype(column, skipna=True) == "string"


def _char_values(column: pd.Series) -> pd.Series:
    """Text as written, trailing blanks removed (SAS pads with blanks); Arrow strings for fast checks."""
    text = column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column
    return text.astype("string[pyarrow]").str.rstrip(" ").reset_index(drop=True)


def _byte_lengths(text: pd.Series) -> np.ndarray:
    """UTF-8 byte length of each value (XPT lengths count bytes), 0 for missing."""
    return pc.binary_length(pa.array(text)).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)


def _numeric_mask(column: pd.Series) -> pd.Series:
    """True where a value is missing or a number (booleans, text and dates are not numbers)."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        return pd.Series(False, index=column.index)
    if pd.api.types.is_numeric_dtype(dtype):
        return pd.Series(True, index=column.index)
    if not pd.api.types.is_object_dtype(dtype):
        return column.isna()
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind in {"boolean", "string", "bytes", "datetime", "date", "time", "timedelta", "period", "interval"}:
        return column.isna()
    coerced = pd.to_numeric(column, errors="coerce")
    return coerced.notna() | column.isna()


def _numeric_values(column: pd.Series) -> np.ndarray:
    """Numbers as float64 (what XPT stores), ``NaN`` for missing (written as SAS missing ``.``)."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(column.astype(object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _check_numeric_values(dataset: str, variable: XptVariable, column: pd.Series) -> list[Finding]:
    """Numeric variables hold numbers (not text) that the IBM hexadecimal float holds exactly (TS-140)."""
    name = variable.name
    where = _where(dataset, name)
    numeric = _numeric_mask(column).to_numpy(dtype=bool)
    if not numeric.all():
        row = _first_row(~numeric)
        value = column.iloc[row - 1]
        hint = (
            " (convert dates with sas_date/sas_datetime/sas_time)" if "datetime" in str(column.dtype) else ""
        )
        return [
            _error(
                "XPT-TYPE",
                dataset,
                f"{where}: declared Num but holds {column.dtype} values{hint}; "
                f"{int((~numeric).sum())} row(s), first at row {row}: {_show(value)}",
                variable=name,
                row=row,
                value=str(value),
            )
        ]
    values = _numeric_values(column)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & (
            ~np.isfinite(values) | (magnitude >= WRITABLE_MAX) | ((magnitude < WRITABLE_MIN) & (values != 0))
        )
    if not bad.any():
        return []
    row = _first_row(bad)
    value = float(values[row - 1])
    return [
        _error(
            "XPT-RANGE",
            dataset,
            f"{where}: {int(bad.sum())} value(s) infinite or outside the range written exactly to XPT v5 "
            f"({WRITABLE_MIN:.4g} .. {WRITABLE_MAX:.4g}); first at row {row}: {value!r}",
            variable=name,
            row=row,
            value=repr(value),
        )
    ]


def _check_char_values(dataset: str, variable: XptVariable, column: pd.Series) -> list[Finding]:
    """Character values: printable ASCII only (FDA TCG), at most 200 bytes or the declared length."""
    name = variable.name
    where = _where(dataset, name)
    if not _is_text(column):
        kinds = pd.api.types.infer_dtype(column, skipna=True)
        is_text = column.map(lambda v: isinstance(v, str) or v is None, na_action="ignore").fillna(True)
        row = _first_row(~is_text.to_numpy(dtype=bool)) if not is_text.all() else 1
        value = column.iloc[row - 1]
        return [
            _error(
                "XPT-TYPE",
                dataset,
                f"{where}: declared Char but holds {kinds} values ({column.dtype}); first at row {row}: {_show(value)}",
                variable=name,
                row=row,
                value=str(value),
            )
        ]
    text = _char_values(column)
    found: list[Finding] = []
    not_ascii = text.str.contains(_NOT_PRINTABLE_ASCII, regex=True, na=False).to_numpy(dtype=bool)
    if not_ascii.any():
        row = _first_row(not_ascii)
        value = text.iloc[row - 1]
        found.append(
            _error(
                "XPT-ASCII",
                dataset,
                f"{where}: {int(not_ascii.sum())} value(s) not printable ASCII (FDA: ASCII text only); "
                f"first at row {row}: {_show(value)}",
                variable=name,
                row=row,
                value=value,
            )
        )
    limit = MAX_CHAR_LENGTH if variable.length is None else min(variable.length, MAX_CHAR_LENGTH)
    nbytes = _byte_lengths(text)
    too_long = nbytes > limit
    if too_long.any():
        row = _first_row(too_long)
        value = text.iloc[row - 1]
        maximum = "the XPT v5 maximum" if variable.length is None else "the declared length"
        found.append(
            _error(
                "XPT-LENGTH",
                dataset,
                f"{where}: {int(too_long.sum())} value(s) longer than {maximum} of {limit} bytes; "
                f"first at row {row} ({int(nbytes[row - 1])} bytes): {_show(value)}",
                variable=name,
                row=row,
                value=value,
            )
        )
    return found


def _check_blank_records(
    dataset: str, frame: pd.DataFrame, variables: Sequence[XptVariable]
) -> list[Finding]:
    """All-character records that are entirely blank cannot be told from padding (TS-140 §5)."""
    if not variables or any(v.type != "Char" for v in variables) or frame.empty:
        return []
    blank = np.ones(len(frame), dtype=bool)
    for variable in variables:
        text = _char_values(frame[variable.name])
        blank &= text.fillna("").eq("").to_numpy(dtype=bool)
    if not blank.any():
        return []
    row = _first_row(blank)
    return [
        _error(
            "XPT-BLANKROW",
            dataset,
            f"{dataset}: {int(blank.sum())} record(s) with every variable blank, first at row {row}; in a "
            "dataset of character variables only, readers take trailing blank records for padding",
            row=row,
        )
    ]


def check_xpt_metadata(
    dataset: str, label: str, frame: pd.DataFrame, variables: Sequence[XptVariable]
) -> list[Finding]:
    """Every reason the frame cannot be written as an FDA-conformant SAS XPORT v5 file, before writing.

    FDA Study Data Technical Conformance Guide (SAS transport format) and SAS TS-140:
    ``XPT-NAME`` dataset/variable names ≤ 8, upper-case letters, digits, underscore, first a letter;
    ``XPT-LABEL`` labels ≤ 40 characters (an empty label is a warning); ``XPT-ASCII`` labels and
    character values printable ASCII only; ``XPT-LENGTH`` character values ≤ 200 bytes (or the declared
    length), numerics 8; ``XPT-TYPE`` Num columns hold numbers, Char columns text; ``XPT-RANGE`` numbers
    fit an IBM float; ``XPT-FORMAT`` valid SAS display formats; ``XPT-COLUMNS`` the frame's columns are
    the declared variables in order; ``XPT-BLANKROW`` no all-blank record in an all-character dataset.
    Value checks report the first offending row (1-based) and value, and how many rows are affected.
    """
    found = _check_name(dataset, dataset, "", "dataset name")
    found += _check_label(dataset, "", label, "dataset label")
    for variable in variables:
        found += _check_variable(dataset, variable)
    columns = _check_columns(dataset, frame, variables)
    found += columns
    if columns:
        return found
    bad_type = False
    for variable in variables:
        column = frame[variable.name]
        if variable.type == "Num":
            value_findings = _check_numeric_values(dataset, variable, column)
        elif variable.type == "Char":
            value_findings = _check_char_values(dataset, variable, column)
        else:
            continue
        bad_type |= any(f.rule == "XPT-TYPE" for f in value_findings)
        found += value_findings
    if not bad_type:
        found += _check_blank_records(dataset, frame, variables)
    return found


# --- writing ------------------------------------------------------------------------------------


def _prepare(frame: pd.DataFrame, variables: Sequence[XptVariable]) -> pd.DataFrame:
    """The frame as the writer takes it: object text with ``None``, float64 numbers with ``NaN``."""
    columns: dict[str, pd.Series] = {}
    for variable in variables:
        column = frame[variable.name]
        if variable.type == "Char":
            text = _char_values(column)
            columns[variable.name] = pd.Series(text.to_numpy(dtype=object, na_value=None), dtype=object)
        else:
            columns[variable.name] = pd.Series(_numeric_values(column), dtype="float64")
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


def _written_lengths(frame: pd.DataFrame, variables: Sequence[XptVariable]) -> dict[str, int]:
    """Char: longest value as written (trailing blanks removed) in bytes, at least 1 (FDA: length =
    longest value); Num: 8. Column by column, so no object copy of the whole dataset is made."""
    lengths: dict[str, int] = {}
    for variable in variables:
        if variable.type == "Num":
            lengths[variable.name] = NUMERIC_LENGTH
        else:
            nbytes = _byte_lengths(_char_values(frame[variable.name]))
            lengths[variable.name] = max(1, int(nbytes.max(initial=0)))
    return lengths


def _blocks(frame: pd.DataFrame, variables: Sequence[XptVariable]) -> Iterator[pd.DataFrame]:
    """The frame prepared for writing, :data:`BLOCK_ROWS` records at a time (bounded memory)."""
    for start in range(0, max(len(frame), 1), BLOCK_ROWS):
        yield _prepare(frame.iloc[start : start + BLOCK_ROWS], variables)


def _verify_written(
    header: XptHeader, dataset: str, label: str, variables: Sequence[XptVariable], lengths: Mapping[str, int]
) -> None:
    """Read the written NAMESTR records back: names, labels, types, lengths and formats as intended."""
    expected = [
        (v.name, v.label.rstrip(" "), v.type, lengths[v.name], _normalise_format(v.display_format))
        for v in variables
    ]
    written = [(n.name, n.label, n.type, n.length, n.display_format) for n in header.variables]
    problems = []
    if (header.dataset, header.label) != (dataset, label.rstrip(" ")):
        problems.append(f"member {header.dataset!r} {header.label!r}, expected {dataset!r} {label!r}")
    problems += [f"variable {w}, expected {e}" for w, e in zip(written, expected, strict=False) if w != e]
    if len(written) != len(expected):
        problems.append(f"{len(written)} variables written, {len(expected)} expected")
    if problems:
        raise XptLayoutError(
            f"{dataset}: the written XPT file differs from its metadata: {'; '.join(problems)}"
        )


def write_xpt(
    frame: pd.DataFrame,
    path: Path | str,
    dataset: str,
    label: str,
    variables: Sequence[XptVariable],
    timestamp: datetime | date,
) -> dict[str, int]:
    """Write ``frame`` as a SAS XPORT version 5 file and return the length written for each variable.

    FDA Study Data Technical Conformance Guide: XPT v5, one dataset per file named
    ``<dataset lower case>.xpt``; the metadata and values are checked first
    (:func:`check_xpt_metadata`) and any error raises :class:`XptError` listing all of them, with
    nothing written. Character lengths are the longest value (at least 1), numerics 8; these are the
    lengths define.xml must show. Missing numbers become SAS missing ``.``, missing text blanks. The
    four header date-times are set to ``timestamp`` (the data cut), so the same frame and timestamp
    always give the same bytes. The file appears atomically (temporary file in the same folder, then
    ``os.replace``); an existing file is only replaced by a complete one.
    """
    target = Path(path)
    found = check_xpt_metadata(dataset, label, frame, variables)
    expected_name = f"{dataset.lower()}.xpt" if isinstance(dataset, str) else ""
    if target.name != expected_name:
        found.append(
            _error(
                "XPT-FILENAME",
                dataset,
                f"{dataset}: file name {target.name!r} must be the lower-case dataset name {expected_name!r} (FDA TCG)",
                value=target.name,
            )
        )
    errors = [f for f in found if f.severity is Severity.ERROR]
    if errors:
        raise XptError(dataset, errors)

    lengths = _written_lengths(frame, variables)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        write_xpt_data(_blocks(frame, variables), temporary, dataset, label, variables, lengths, timestamp)
        _verify_written(read_xpt_header_file(temporary), dataset, label, variables, lengths)
        with temporary.open("rb+") as stream:
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return lengths


# --- reading ------------------------------------------------------------------------------------


def read_xpt(path: Path | str, *, encoding: str = "latin1") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an XPT v5 file: the values, and the metadata as the file states it (TS-140 NAMESTR).

    Values are decoded as stored, the same values ``pyreadstat.read_xport`` gives
    (:func:`cdisc168.write.xpt_data.read_xpt_data`, vectorised): numeric dates stay numbers (their
    format is in the metadata), blank text comes back as missing (SAS has no empty string apart from
    blank).
    ``encoding`` defaults to Latin-1 so any byte decodes and a validator can report non-ASCII text
    instead of failing on it; ASCII files read the same under any encoding.

    The metadata dict holds ``dataset``, ``label``, ``created``, ``modified`` (member header),
    ``library_created``, ``library_modified``, ``sas_version``, ``operating_system``, ``rows`` and
    ``variables``: name → ``{"label", "type", "length", "display_format"}`` in file order.
    Raises :class:`XptLayoutError` naming the file for anything but a one-member version 5 file (e.g.
    version 8), a truncated one, or text that ``encoding`` cannot decode.
    """
    header, frame = read_xpt_data(path, encoding=encoding)
    metadata: dict[str, Any] = {
        "dataset": header.dataset,
        "label": header.label,
        "created": header.created,
        "modified": header.modified,
        "library_created": header.library_created,
        "library_modified": header.library_modified,
        "sas_version": header.sas_version,
        "operating_system": header.operating_system,
        "rows": len(frame),
        "variables": header_variables(header),
    }
    return frame, metadata


# --- SAS numeric dates (ADaM *DT, *DTM, *TM) ------------------------------------------------------


def _as_datetimes(values: pd.Series, function: str) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(series.dtype):
        return series
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in {"date", "datetime", "datetime64", "empty"}:
        return pd.Series(pd.to_datetime(series), index=series.index, name=series.name)
    raise TypeError(
        f"{function}: expected datetime64 values or date/datetime objects, got {kind} ({series.dtype}); "
        "impute and parse ISO 8601 text first"
    )


def sas_date(values: pd.Series) -> pd.Series:
    """SAS dates: days since 1960-01-01 as float64, the time of day dropped; missing → ``NaN``.

    ADaMIG 1.3 §3.1.2 (Timing Variable Conventions): numeric dates (``*DT``) carry a SAS date format such as ``DATE9.``.
    A time-zone-aware value keeps its own wall-clock date.
    """
    moments = _as_datetimes(values, "sas_date")
    return ((moments.dt.normalize() - SAS_EPOCH) / pd.Timedelta(days=1)).astype("float64")


def sas_datetime(values: pd.Series) -> pd.Series:
    """SAS datetimes: seconds since 1960-01-01T00:00:00 as float64; missing → ``NaN``.

    ADaMIG 1.3 §3.1.2 (Timing Variable Conventions): numeric datetimes (``*DTM``) carry a format such as ``DATETIME20.``.
    """
    moments = _as_datetimes(values, "sas_datetime")
    return ((moments - SAS_EPOCH) / pd.Timedelta(seconds=1)).astype("float64")


def sas_time(values: pd.Series) -> pd.Series:
    """SAS times: seconds since midnight as float64; missing → ``NaN``.

    Accepts datetimes (their time of day), durations since midnight (timedelta64) or ``datetime.time``
    objects. ADaMIG 1.3 §3.1.2 (Timing Variable Conventions): numeric times (``*TM``) carry a format such as ``TIME8.``.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return (series / pd.Timedelta(seconds=1)).astype("float64")
    if pd.api.types.is_object_dtype(series.dtype) and pd.api.types.infer_dtype(series, skipna=True) == "time":
        clock = pd.to_timedelta(series.astype("string"))
        return pd.Series(clock / pd.Timedelta(seconds=1), index=series.index, name=series.name).astype(
            "float64"
        )
    moments = _as_datetimes(series, "sas_time")
    return ((moments - moments.dt.normalize()) / pd.Timedelta(seconds=1)).astype("float64")
