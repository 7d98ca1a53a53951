"""Dataset compare for double programming QC, in the manner of SAS PROC COMPARE and R diffdf.

A production dataset (BASE) and its independently programmed QC copy (COMPARE) are read from any of
XPT, Dataset-JSON, CSV or Parquet (:func:`cdisc168.read_dataset.read_dataset`) and compared for:

* dataset attributes: the dataset label, and each common variable's label, type, length and display
  format, wherever both file formats record the attribute (CSV records none, Parquet only the type;
  a Dataset-JSON column without ``length`` leaves its length uncompared);
* variables only in BASE and only in COMPARE;
* records only in one of them, matched by key variables (``--keys``) or, without keys, by record
  number (record *n* of BASE against record *n* of COMPARE);
* values of the common variables on matched records. Numbers are equal when ``|base - compare| <=
  tolerance`` (absolute, as PROC COMPARE ``METHOD=ABSOLUTE CRITERION=``), and missing equals missing;
  text is equal after removing trailing blanks, which SAS does not keep, and a missing value equals
  an empty one (XPT stores both as blanks). Variables whose types differ are reported as a type
  difference and their values are not compared. A file without stored types (CSV) takes the other
  file's type where its values allow it.

Keys. Given keys must exist in both files and identify each record of each file; a repeated key is an
error naming the key values (:class:`DuplicateKeyError`). Without keys, the SDTM natural keys are
used when present in both files (SDTMIG 3.4 §3.2.1 and §8.4: STUDYID, USUBJID, --SEQ; DM and ADSL
one record per subject: STUDYID, USUBJID; SUPP--: STUDYID, RDOMAIN, USUBJID, IDVAR, IDVARVAL, QNAM).
ADaM BDS keys (USUBJID, PARAMCD, AVISIT, …) depend on the dataset and cannot be guessed: other
datasets are matched by record number, and the result says so.

Deterministic outputs: the summary text and the XLSX workbook depend only on the data (the workbook's
document properties and ZIP entry times are fixed).
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from cdisc168.read_dataset import ALL_ATTRIBUTES, DatasetReadError, read_dataset
from cdisc168.write.xlsx import fixed_xlsx_bytes

__all__ = [
    "AttributeDifference",
    "CompareError",
    "CompareResult",
    "DatasetSummary",
    "DuplicateKeyError",
    "ValueDifferences",
    "compare_datasets",
    "compare_frames",
    "default_keys",
    "write_xlsx",
]

RECORD_NUMBER = "OBS"
MAX_LISTING = 50  # differences listed per variable (PROC COMPARE MAXPRINT default per variable)
MAX_RECORDS = 1000  # records listed as only in BASE / only in COMPARE
_SHOWN_DUPLICATES = 5
_TEXT_WIDTH = 60
XLSX_TIMESTAMP = datetime(1980, 1, 1)  # the earliest ZIP date-time; no wall clock in the workbook


class CompareError(ValueError):
    """The compare cannot run (unreadable file, unknown key, bad tolerance); the message says why."""


class DuplicateKeyError(CompareError):
    """Key values repeated within one file: records cannot be matched (PROC COMPARE ``ID`` rule)."""

    def __init__(
        self, file: str, keys: Sequence[str], duplicates: pd.DataFrame, count: int, note: str = ""
    ) -> None:
        self.file = file
        self.keys = tuple(keys)
        self.duplicates = duplicates
        shown = "; ".join(
            ", ".join(f"{k}={v!r}" for k, v in zip(self.keys, row, strict=True))
            for row in duplicates.head(_SHOWN_DUPLICATES).itertuples(index=False)
        )
        more = f" and {count - _SHOWN_DUPLICATES} more" if count > _SHOWN_DUPLICATES else ""
        super().__init__(
            f"{file}: {count} key value(s) of {', '.join(self.keys)} occur more than once, "
            f"so records cannot be matched: {shown}{more}{note}"
        )


@dataclass(frozen=True)
class DatasetSummary:
    """One side of a compare: its file, dataset name and label, records and variables (file order)."""

    file: str
    dataset: str
    label: str
    records: int
    variables: tuple[str, ...]


@dataclass(frozen=True)
class AttributeDifference:
    """A differing attribute; ``variable`` is empty for the dataset itself."""

    variable: str
    attribute: str
    base: object
    compare: object


@dataclass(frozen=True, eq=False)
class ValueDifferences:
    """Differing values of one variable on matched records.

    ``listing`` holds the first differences in BASE record order: the key columns, ``BASE``,
    ``COMPARE`` and, for numbers, ``DIFF`` (compare - base). ``max_difference`` is the largest
    ``|compare - base|`` among differing non-missing numbers.
    """

    variable: str
    type: str
    count: int
    listing: pd.DataFrame
    max_difference: float | None = None


@dataclass(frozen=True, eq=False)
class CompareResult:
    """Everything a compare found; :attr:`equal` is the verdict, :meth:`summary_text` the report."""

    base: DatasetSummary
    compare: DatasetSummary
    keys: tuple[str, ...]
    key_source: str
    tolerance: float
    matched: int
    attributes: tuple[AttributeDifference, ...]
    only_in_base_variables: tuple[str, ...]
    only_in_compare_variables: tuple[str, ...]
    variables_compared: tuple[str, ...]
    only_in_base_count: int
    only_in_compare_count: int
    only_in_base: pd.DataFrame = field(repr=False)
    only_in_compare: pd.DataFrame = field(repr=False)
    values: tuple[ValueDifferences, ...]
    attributes_not_compared: tuple[str, ...] = ()

    @property
    def values_differing(self) -> int:
        """Number of differing values over all compared variables."""
        return sum(v.count for v in self.values)

    @property
    def type_conflicts(self) -> tuple[str, ...]:
        """Variables whose types differ (their values are not compared)."""
        return tuple(a.variable for a in self.attributes if a.attribute == "type")

    @property
    def equal(self) -> bool:
        """True when no attribute, variable, record or value differs."""
        return not (
            self.attributes
            or self.only_in_base_variables
            or self.only_in_compare_variables
            or self.only_in_base_count
            or self.only_in_compare_count
            or self.values
        )

    def summary_counts(self) -> list[tuple[str, object]]:
        """The summary as (item, value) pairs, in report order."""
        return [
            ("BASE file", self.base.file),
            ("COMPARE file", self.compare.file),
            ("BASE dataset", f"{self.base.dataset} {self.base.label}".strip()),
            ("COMPARE dataset", f"{self.compare.dataset} {self.compare.label}".strip()),
            ("Records matched by", _matching_text(self.keys, self.key_source)),
            ("Numeric tolerance (absolute)", self.tolerance),
            ("Attributes not compared", ", ".join(self.attributes_not_compared) or "none"),
            ("Records in BASE", self.base.records),
            ("Records in COMPARE", self.compare.records),
            ("Records matched", self.matched),
            ("Records only in BASE", self.only_in_base_count),
            ("Records only in COMPARE", self.only_in_compare_count),
            ("Variables in BASE", len(self.base.variables)),
            ("Variables in COMPARE", len(self.compare.variables)),
            ("Variables only in BASE", len(self.only_in_base_variables)),
            ("Variables only in COMPARE", len(self.only_in_compare_variables)),
            ("Variables with conflicting types", len(self.type_conflicts)),
            ("Attribute differences", len(self.attributes)),
            ("Variables compared", len(self.variables_compared)),
            ("Variables with differing values", len(self.values)),
            ("Values differing", self.values_differing),
            ("Result", "EQUAL" if self.equal else "NOT EQUAL"),
        ]

    def summary_text(self) -> str:
        """The report as plain text: summary, attributes, variables and records only in one, values."""
        width = max(len(item) for item, _ in self.summary_counts())
        lines = ["Dataset compare", ""]
        lines += [f"{item:<{width}}  {value}" for item, value in self.summary_counts()]
        if self.attributes:
            lines += ["", "Attribute differences", ""]
            lines += _table_text(_attributes_frame(self.attributes))
        for side, names in (
            ("BASE", self.only_in_base_variables),
            ("COMPARE", self.only_in_compare_variables),
        ):
            if names:
                lines += ["", f"Variables only in {side}: {', '.join(names)}"]
        for side, count, records in (
            ("BASE", self.only_in_base_count, self.only_in_base),
            ("COMPARE", self.only_in_compare_count, self.only_in_compare),
        ):
            if count:
                lines += ["", f"Records only in {side}: {count}{_first_shown(count, len(records))}", ""]
                lines += _table_text(records[[c for c in self._id_columns() if c in records.columns]])
        for difference in self.values:
            largest = (
                f", largest |difference| {difference.max_difference:g}"
                if difference.max_difference is not None
                else ""
            )
            lines += [
                "",
                f"{difference.variable} ({difference.type}): {difference.count} of {self.matched} matched "
                f"records differ{largest}{_first_shown(difference.count, len(difference.listing))}",
                "",
            ]
            lines += _table_text(difference.listing)
        return "\n".join(lines) + "\n"

    def _id_columns(self) -> tuple[str, ...]:
        return self.keys or (RECORD_NUMBER,)


def _matching_text(keys: Sequence[str], key_source: str) -> str:
    if not keys:
        return f"record number ({key_source})"
    return f"{', '.join(keys)} ({key_source})"


def _first_shown(count: int, shown: int) -> str:
    return f" (first {shown} shown)" if shown < count else ""


def _display(value: object) -> str:
    """A value as a listing shows it: SAS missing ``.`` for numbers, whole numbers without ``.0`` (a key
    such as AESEQ 6), other numbers exactly (shortest round-trip), blank for missing text."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "."
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    text = str(value)
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 3] + "..."


def _table_text(frame: pd.DataFrame) -> list[str]:
    shown = frame.astype(object).map(_display) if len(frame) else frame
    return ["  " + line for line in shown.to_string(index=False).splitlines()]


def _attributes_frame(attributes: Sequence[AttributeDifference]) -> pd.DataFrame:
    return pd.DataFrame(
        [(a.variable or "(dataset)", a.attribute, a.base, a.compare) for a in attributes],
        columns=["VARIABLE", "ATTRIBUTE", "BASE", "COMPARE"],
    )


# --- keys --------------------------------------------------------------------------------------

_SEQ = re.compile(r"[A-Z]{2}SEQ")
_SUPP_KEYS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")
_SUBJECT_KEYS = ("STUDYID", "USUBJID")


def default_keys(
    dataset: str, base_columns: Sequence[str], compare_columns: Sequence[str]
) -> tuple[str, ...]:
    """The keys used when none are given: SDTM natural keys present in both files, else none.

    SDTMIG 3.4 §3.2.1 / §8.4: SUPP-- by STUDYID, RDOMAIN, USUBJID, IDVAR, IDVARVAL, QNAM; DM (and ADSL,
    ADaMIG 1.3 §3.2: one record per subject) by STUDYID, USUBJID; other SDTM domains by STUDYID,
    USUBJID, --SEQ (``<DOMAIN>SEQ``, or the one ``xxSEQ`` variable present). An empty result means
    matching by record number: ADaM BDS/OCCDS keys (``AD*`` other than ADSL) are dataset-specific
    and cannot be guessed, and neither can the keys of a dataset without USUBJID and one --SEQ.
    """
    common = [c for c in base_columns if c in set(compare_columns)]
    name = dataset.upper()
    if name.startswith("SUPP") and set(_SUPP_KEYS) <= set(common):
        return _SUPP_KEYS
    subject = tuple(k for k in _SUBJECT_KEYS if k in common)
    if "USUBJID" not in subject:
        return ()
    if name in ("DM", "ADSL"):
        return subject
    if name.startswith("AD"):  # other ADaM datasets: an --SEQ copied from SDTM need not be unique
        return ()
    sequences = [c for c in common if c == f"{name}SEQ"] or [c for c in common if _SEQ.fullmatch(c)]
    return (*subject, sequences[0]) if len(sequences) == 1 else ()


def _resolve_keys(
    keys: Sequence[str] | None,
    dataset: str,
    base: pd.DataFrame,
    compare: pd.DataFrame,
    names: tuple[str, str],
) -> tuple[tuple[str, ...], str]:
    if keys is None:
        found = default_keys(dataset, list(base.columns), list(compare.columns))
        return found, "default SDTM keys" if found else "no keys given and none could be derived"
    chosen = tuple(keys)
    if not chosen:
        return (), "no keys given"
    repeated = sorted({k for k in chosen if chosen.count(k) > 1})
    if repeated:
        raise CompareError(f"key variable(s) given more than once: {', '.join(repeated)}")
    for name, frame in zip(names, (base, compare), strict=True):
        missing = [k for k in chosen if k not in frame.columns]
        if missing:
            raise CompareError(f"{name}: key variable(s) not in the file: {', '.join(missing)}")
    return chosen, "keys given"


# --- values as comparable arrays ---------------------------------------------------------------


def _kind(column: pd.Series) -> str:
    """``Num`` for numeric (and boolean) data, ``Char`` for everything else."""
    return "Num" if pd.api.types.is_numeric_dtype(column.dtype) else "Char"


def _char_array(column: pd.Series) -> pa.Array:
    """Text as compared: trailing blanks removed, missing as empty (SAS blank)."""
    text = pa.array(column.astype("string[pyarrow]"), type=pa.large_string())
    return pc.fill_null(pc.utf8_rtrim(text, characters=" "), "")


def _num_array(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype="float64", na_value=np.nan)


def _as_numbers(column: pd.Series) -> pd.Series | None:
    """Text as float64 when every non-empty value is a number, else ``None``."""
    text = column.astype("string[pyarrow]").str.strip()
    filled = text.notna() & (text != "")
    numbers = pd.to_numeric(text.where(filled), errors="coerce")
    return numbers.astype("float64") if bool((numbers.notna() == filled).all()) else None


def _as_text(column: pd.Series) -> pd.Series:
    """Numbers as their shortest text (``1.0`` → ``"1"``, ``0.5`` → ``"0.5"``), missing as ``None``."""
    text = pc.cast(pa.array(_num_array(column), from_pandas=True), pa.string())
    return pd.Series(text.to_pandas(), index=column.index, dtype=object)


def _align_untyped(
    base: pd.DataFrame, compare: pd.DataFrame, common: Sequence[str], stored: tuple[bool, bool]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A file that stores no types (CSV) takes the other file's type where its values allow it."""
    base, compare = base.copy(deep=False), compare.copy(deep=False)
    for name in common:
        kinds = (_kind(base[name]), _kind(compare[name]))
        if kinds[0] == kinds[1] or all(stored) or not any(stored):
            continue
        untyped, typed_kind = (base, kinds[1]) if not stored[0] else (compare, kinds[0])
        if typed_kind == "Char":
            untyped[name] = _as_text(untyped[name])
        else:
            numbers = _as_numbers(untyped[name])
            if numbers is not None:
                untyped[name] = numbers
    return base, compare


# --- matching records ----------------------------------------------------------------------------


def _key_frame(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Key values as matched: text without trailing blanks (missing = blank), numbers as float64."""
    columns: dict[str, Any] = {}
    for key in keys:
        column = frame[key]
        columns[key] = (
            _num_array(column)
            if _kind(column) == "Num"
            else pd.Series(_char_array(column), dtype=pd.ArrowDtype(pa.large_string()))
        )
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


def _check_unique(
    name: str, keyed: pd.DataFrame, frame: pd.DataFrame, keys: Sequence[str], note: str
) -> None:
    repeated = keyed.duplicated(keep="first").to_numpy()
    if repeated.any():
        values = frame[list(keys)].iloc[np.flatnonzero(repeated)].drop_duplicates()
        raise DuplicateKeyError(name, keys, values, len(values), note)


def _match_by_keys(
    base: pd.DataFrame, compare: pd.DataFrame, keys: Sequence[str], names: tuple[str, str], note: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(base positions, compare positions) of matched records in BASE order, then the unmatched of each."""
    for key in keys:
        kinds = (_kind(base[key]), _kind(compare[key]))
        if kinds[0] != kinds[1]:
            raise CompareError(
                f"key variable {key} is {kinds[0]} in {names[0]} but {kinds[1]} in {names[1]}; "
                "records cannot be matched on it"
            )
    left, right = _key_frame(base, keys), _key_frame(compare, keys)
    _check_unique(names[0], left, base, keys, note)
    _check_unique(names[1], right, compare, keys, note)
    left["_base"] = np.arange(len(left))
    right["_compare"] = np.arange(len(right))
    merged = left.merge(right, on=list(keys), how="inner", sort=False).sort_values("_base", kind="stable")
    base_matched = merged["_base"].to_numpy(dtype=np.int64)
    compare_matched = merged["_compare"].to_numpy(dtype=np.int64)
    base_only = np.setdiff1d(np.arange(len(base)), base_matched, assume_unique=True)
    compare_only = np.setdiff1d(np.arange(len(compare)), compare_matched, assume_unique=True)
    return base_matched, compare_matched, base_only, compare_only


def _match_by_record_number(n_base: int, n_compare: int) -> tuple[np.ndarray, ...]:
    matched = np.arange(min(n_base, n_compare))
    return matched, matched, np.arange(len(matched), n_base), np.arange(len(matched), n_compare)


def _id_values(frame: pd.DataFrame, positions: np.ndarray, keys: Sequence[str]) -> pd.DataFrame:
    """Key values (or 1-based record numbers) of the records at ``positions``."""
    if not keys:
        return pd.DataFrame({RECORD_NUMBER: positions + 1})
    return frame[list(keys)].iloc[positions].reset_index(drop=True)


def _records(frame: pd.DataFrame, positions: np.ndarray, keys: Sequence[str], limit: int) -> pd.DataFrame:
    """The first ``limit`` records at ``positions``, identified by keys or record number."""
    shown = positions[:limit]
    records = frame.iloc[shown].reset_index(drop=True)
    return records if keys else pd.concat([_id_values(frame, shown, keys), records], axis=1)


# --- attributes --------------------------------------------------------------------------------


def _normalised(attribute: str, value: object) -> object:
    """Labels and formats without trailing blanks (none = empty); a length or type not stated is ``None``."""
    if attribute in ("label", "display_format"):
        return "" if value is None else str(value).rstrip(" ")
    return value


def _attribute_differences(
    base_meta: dict[str, Any], compare_meta: dict[str, Any], common: Sequence[str], compared: Sequence[str]
) -> list[AttributeDifference]:
    """Dataset label and variable label, type, length, display format (PROC COMPARE listing of variables)."""
    found = []
    if "label" in compared:
        labels = (
            _normalised("label", base_meta.get("label")),
            _normalised("label", compare_meta.get("label")),
        )
        if labels[0] != labels[1]:
            found.append(AttributeDifference("", "label", *labels))
    for name in common:
        base_var = base_meta.get("variables", {}).get(name, {})
        compare_var = compare_meta.get("variables", {}).get(name, {})
        for attribute in compared:
            values = (
                _normalised(attribute, base_var.get(attribute)),
                _normalised(attribute, compare_var.get(attribute)),
            )
            if values[0] != values[1] and None not in values:
                found.append(AttributeDifference(name, attribute, *values))
    return found


# --- values ------------------------------------------------------------------------------------


def _differing(
    base: pd.Series, compare: pd.Series, kind: str, tolerance: float
) -> tuple[np.ndarray, float | None]:
    """Mask of differing values of two aligned columns, and the largest numeric difference."""
    if kind == "Char":
        return ~pc.equal(_char_array(base), _char_array(compare)).to_numpy(zero_copy_only=False), None
    left, right = _num_array(base), _num_array(compare)
    with np.errstate(invalid="ignore"):
        gap = np.abs(right - left)
        same = (left == right) | (np.isnan(left) & np.isnan(right)) | (gap <= tolerance)
    differing = ~same
    measured = gap[differing & ~np.isnan(gap)]
    return differing, (float(measured.max()) if measured.size else None)


def _listed(values: pd.Series, kind: str) -> np.ndarray:
    """Values as listed: numbers as float64 (missing ``NaN``), text as stored (missing as blank)."""
    if kind == "Num":
        return _num_array(values)
    return values.astype("string").fillna("").to_numpy(dtype=object)


def _value_differences(
    base: pd.DataFrame,
    compare: pd.DataFrame,
    matched: tuple[np.ndarray, np.ndarray],
    variables: Sequence[str],
    keys: Sequence[str],
    tolerance: float,
    limit: int,
) -> list[ValueDifferences]:
    found = []
    for name in variables:
        kind = _kind(base[name])
        left = base[name].iloc[matched[0]].reset_index(drop=True)
        right = compare[name].iloc[matched[1]].reset_index(drop=True)
        differing, largest = _differing(left, right, kind, tolerance)
        count = int(differing.sum())
        if not count:
            continue
        rows = np.flatnonzero(differing)[:limit]
        listing = _id_values(base, matched[0][rows], keys)
        listing["BASE"] = _listed(left.iloc[rows], kind)
        listing["COMPARE"] = _listed(right.iloc[rows], kind)
        if kind == "Num":
            listing["DIFF"] = _num_array(right.iloc[rows]) - _num_array(left.iloc[rows])
        found.append(ValueDifferences(name, kind, count, listing, largest))
    return found


def _type_differences(
    base: pd.DataFrame, compare: pd.DataFrame, common: Sequence[str], reported: Sequence[AttributeDifference]
) -> list[AttributeDifference]:
    """Types of the values that differ and are not yet reported from the stored metadata."""
    already = {a.variable for a in reported if a.attribute == "type"}
    return [
        AttributeDifference(name, "type", _kind(base[name]), _kind(compare[name]))
        for name in common
        if name not in already and _kind(base[name]) != _kind(compare[name])
    ]


# --- the compare -------------------------------------------------------------------------------


def _summary(name: str, frame: pd.DataFrame, metadata: dict[str, Any]) -> DatasetSummary:
    return DatasetSummary(
        file=name,
        dataset=str(metadata.get("dataset") or ""),
        label=str(metadata.get("label") or ""),
        records=len(frame),
        variables=tuple(str(c) for c in frame.columns),
    )


_DEFAULT_KEYS_NOTE = " (these are the default SDTM keys; give the keys that identify a record)"
_UNKNOWN_METADATA: dict[str, Any] = {"dataset": "", "label": "", "variables": {}, "attributes_stored": ()}


def _check_options(tolerance: float, max_listing: int, max_records: int) -> None:
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise CompareError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    for option, value in (("max_listing", max_listing), ("max_records", max_records)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CompareError(f"{option} must be a whole number >= 0, got {value!r}")


def compare_frames(
    base: pd.DataFrame,
    base_metadata: dict[str, Any] | None,
    compare: pd.DataFrame,
    compare_metadata: dict[str, Any] | None,
    *,
    keys: Sequence[str] | None = None,
    tolerance: float = 0.0,
    max_listing: int = MAX_LISTING,
    max_records: int = MAX_RECORDS,
    names: tuple[str, str] = ("BASE", "COMPARE"),
) -> CompareResult:
    """Compare two datasets already read (frame + metadata as :func:`read_dataset` returns them).

    See the module docstring for the rules. Metadata ``None`` stands for a frame with no stored
    attributes (no dataset name or label; types are those of the values). ``keys=None`` uses :func:`default_keys`; ``keys=()``
    matches by record number. ``max_listing`` differences per variable and ``max_records`` records
    only in one file are kept for the listings; the counts are always complete. ``names`` name the
    two sides in error messages (the file paths in :func:`compare_datasets`).
    """
    _check_options(tolerance, max_listing, max_records)
    base_metadata = base_metadata or _UNKNOWN_METADATA
    compare_metadata = compare_metadata or _UNKNOWN_METADATA
    base_columns, compare_columns = list(base.columns), list(compare.columns)
    common = [c for c in base_columns if c in set(compare_columns)]
    stored_base = tuple(base_metadata.get("attributes_stored", ALL_ATTRIBUTES))
    stored_compare = tuple(compare_metadata.get("attributes_stored", ALL_ATTRIBUTES))
    compared_attributes = [a for a in ALL_ATTRIBUTES if a in stored_base and a in stored_compare]
    base, compare = _align_untyped(base, compare, common, ("type" in stored_base, "type" in stored_compare))
    dataset = str(base_metadata.get("dataset") or compare_metadata.get("dataset") or "")
    chosen, key_source = _resolve_keys(keys, dataset, base, compare, names)
    if chosen:
        base_matched, compare_matched, base_only, compare_only = _match_by_keys(
            base, compare, chosen, names, _DEFAULT_KEYS_NOTE if keys is None else ""
        )
    else:
        base_matched, compare_matched, base_only, compare_only = _match_by_record_number(
            len(base), len(compare)
        )
    attributes = _attribute_differences(base_metadata, compare_metadata, common, compared_attributes)
    attributes += _type_differences(base, compare, common, attributes)
    conflicting = {a.variable for a in attributes if a.attribute == "type"}
    compared = tuple(c for c in common if c not in chosen and c not in conflicting)
    values = _value_differences(
        base, compare, (base_matched, compare_matched), compared, chosen, tolerance, max_listing
    )
    return CompareResult(
        base=_summary(names[0], base, base_metadata),
        compare=_summary(names[1], compare, compare_metadata),
        keys=chosen,
        key_source=key_source,
        tolerance=float(tolerance),
        matched=len(base_matched),
        attributes=tuple(attributes),
        only_in_base_variables=tuple(c for c in base_columns if c not in set(compare_columns)),
        only_in_compare_variables=tuple(c for c in compare_columns if c not in set(base_columns)),
        variables_compared=compared,
        only_in_base_count=len(base_only),
        only_in_compare_count=len(compare_only),
        only_in_base=_records(base, base_only, chosen, max_records),
        only_in_compare=_records(compare, compare_only, chosen, max_records),
        values=tuple(values),
        attributes_not_compared=tuple(a for a in ALL_ATTRIBUTES if a not in compared_attributes),
    )


def _read(path: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        return read_dataset(path)
    except DatasetReadError as error:
        raise CompareError(str(error)) from error


def compare_datasets(
    base: Path | str,
    compare: Path | str,
    *,
    keys: Sequence[str] | None = None,
    tolerance: float = 0.0,
    max_listing: int = MAX_LISTING,
    max_records: int = MAX_RECORDS,
) -> CompareResult:
    """Read two dataset files (XPT, Dataset-JSON, CSV, Parquet) and compare them (PROC COMPARE style).

    Raises :class:`CompareError` (naming the file) for a missing or unreadable file, an unknown key or
    a bad option, and :class:`DuplicateKeyError` (a ``CompareError``) when key values repeat.
    """
    base_frame, base_metadata = _read(base)
    compare_frame, compare_metadata = _read(compare)
    return compare_frames(
        base_frame,
        base_metadata,
        compare_frame,
        compare_metadata,
        keys=keys,
        tolerance=tolerance,
        max_listing=max_listing,
        max_records=max_records,
        names=(str(base), str(compare)),
    )


# --- XLSX --------------------------------------------------------------------------------------


def _cell(value: object) -> object:
    """A value openpyxl can store: numbers as numbers, missing as empty, text without control characters."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _add_sheet(workbook: Workbook, title: str, frame: pd.DataFrame) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append([str(c) for c in frame.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        sheet.append([_cell(v) for v in row])
    sheet.freeze_panes = "A2"
    if len(frame.columns):
        sheet.auto_filter.ref = sheet.dimensions


def _values_frame(result: CompareResult) -> pd.DataFrame:
    ids = list(result.keys or (RECORD_NUMBER,))
    parts = [d.listing.assign(VARIABLE=d.variable) for d in result.values]
    columns = ["VARIABLE", *ids, "BASE", "COMPARE", "DIFF"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def _variables_frame(result: CompareResult) -> pd.DataFrame:
    """Attribute differences plus the variables present in one file only."""
    presence = [AttributeDifference(v, "present", "yes", "no") for v in result.only_in_base_variables]
    presence += [AttributeDifference(v, "present", "no", "yes") for v in result.only_in_compare_variables]
    return _attributes_frame([*result.attributes, *presence])


def write_xlsx(result: CompareResult, path: Path | str, *, timestamp: datetime = XLSX_TIMESTAMP) -> Path:
    """Write the compare as an XLSX workbook; the same result always gives the same bytes.

    Sheets: Summary (item, value), Attributes (attribute differences and variables in one file only),
    Only In Base and Only In Compare (the records, up to the listing limit), Values (per variable the
    first differences with key values, BASE, COMPARE, DIFF). ``timestamp`` is written as the workbook's
    created/modified date-time (pass the data cut; default 1980-01-01).
    """
    target = Path(path)
    workbook = Workbook()
    workbook.remove(workbook.active)
    _add_sheet(workbook, "Summary", pd.DataFrame(result.summary_counts(), columns=["ITEM", "VALUE"]))
    _add_sheet(workbook, "Attributes", _variables_frame(result))
    _add_sheet(workbook, "Only In Base", result.only_in_base)
    _add_sheet(workbook, "Only In Compare", result.only_in_compare)
    _add_sheet(workbook, "Values", _values_frame(result))
    buffer = io.BytesIO()
    workbook.save(buffer)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        temporary.write_bytes(fixed_xlsx_bytes(buffer.getvalue(), timestamp))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target
