"""Raw input contracts: a pandera schema per form, generated from ``mappings/raw/forms.yaml``.

:func:`form_schema` turns a :class:`~cdisc168.raw.forms.FormSpec` into a ``pandera.pandas``
``DataFrameSchema`` over the collected text (no type coercion: the contract checks that the text *can*
be read as its type). :func:`check_form_contract` validates a form lazily and translates every pandera
failure case into a :class:`~cdisc168.findings.Finding` of the ``column`` and ``value`` rules of
:mod:`cdisc168.raw.rules`:

========================  ==================================================================
pandera failure           rule
========================  ==================================================================
column_in_dataframe       RAW-COLUMN-MISSING (one finding naming the column, row 1 = header)
column_in_schema          RAW-COLUMN-EXTRA (strict schema; row 1)
not_nullable              RAW-REQUIRED (``required: true`` in the catalogue)
check ``RAW-…``           the rule of the check's name (RAW-TYPE, RAW-DATE, RAW-CODE, …)
========================  ==================================================================

A value is reported by one rule only: each check passes the values an earlier check of its column
rejects (a range check ignores text that is not a number; a calendar check ignores text that is not
shaped like a date), and missing values are left to RAW-REQUIRED.

All checks are vectorised over the column (regular expressions, ``isin``, ``to_numeric``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from cdisc168.findings import Finding
from cdisc168.raw.forms import ColumnSpec, FormSpec
from cdisc168.raw.rules import raw_finding
from cdisc168.study import Study

# Character classes are spelled out: \d would also accept non-ASCII digits with Python's re.
INT_PATTERN = r"[+-]?[0-9]+"
FLOAT_PATTERN = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
DATE_PATTERN = r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?"
TIME_PATTERN = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
STEP_TOLERANCE = 1e-9
FORM = "_FORM"
ROW = "_ROW"
LINEAGE_COLUMNS: tuple[str, ...] = (FORM, ROW)  # added by the loader: form name and CSV line
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_MAX_LISTED_VALUES = 12


# --- vectorised predicates: a Series of collected text in, a boolean Series out (True = passes) ------


def _full_match(values: pd.Series, pattern: str) -> np.ndarray:
    """Whole-value regular expression match as a numpy bool array (missing → False)."""
    return values.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False)


def _passes(values: pd.Series, ok: np.ndarray) -> pd.Series:
    """A check result: ``ok`` or missing (missing values are left to RAW-REQUIRED)."""
    return pd.Series(ok | values.isna().to_numpy(), index=values.index)


def _as_float(digits: pd.Series) -> np.ndarray:
    """float64 of text already known to be numbers or missing (pyarrow cast: fast, no object detour)."""
    return digits.astype("float64[pyarrow]").to_numpy(dtype="float64", na_value=np.nan)


def _numbers(values: pd.Series, pattern: str = FLOAT_PATTERN) -> np.ndarray:
    """float64 array of ``values``; NaN where the text is missing or does not match ``pattern``."""
    ok = _full_match(values, pattern)
    if ok.all():
        return _as_float(values)
    out = np.full(len(values), np.nan)
    if ok.any():
        out[ok] = _as_float(values[ok])
    return out


def compute_is_integer(values: pd.Series) -> pd.Series:
    """RAW-TYPE for ``int`` columns: optional sign and ASCII digits only ("3.0" and "1e3" fail)."""
    return _passes(values, _full_match(values, INT_PATTERN))


def compute_is_number(values: pd.Series) -> pd.Series:
    """RAW-TYPE for ``float`` columns: a decimal number with '.' ("12,5", "inf", "NaN" fail)."""
    return _passes(values, _full_match(values, FLOAT_PATTERN))


def compute_number(values: pd.Series, pattern: str = FLOAT_PATTERN) -> pd.Series:
    """The numbers in ``values`` as float64; NaN where the text is missing or does not match ``pattern``."""
    return pd.Series(_numbers(values, pattern), index=values.index)


def compute_in_range(values: pd.Series, low: float | None, high: float | None) -> pd.Series:
    """RAW-RANGE: the number lies within [low, high]; text that is not a number passes (RAW-TYPE)."""
    number = _numbers(values)
    bad = np.zeros(len(values), dtype=bool)
    if low is not None:
        bad |= number < low
    if high is not None:
        bad |= number > high
    return pd.Series(~bad, index=values.index)


def compute_on_step(values: pd.Series, step: float, base: float = 0.0) -> pd.Series:
    """RAW-STEP: (number - base) is a whole multiple of ``step`` (EDSS 0, 0.5, …, 10)."""
    ratio = (_numbers(values) - base) / step
    return pd.Series(~(np.abs(ratio - np.round(ratio)) > STEP_TOLERANCE), index=values.index)


def compute_is_iso_date_shape(values: pd.Series) -> pd.Series:
    """RAW-DATE (format): ISO 8601 ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (partial dates allowed)."""
    return _passes(values, _full_match(values, DATE_PATTERN))


def compute_is_calendar_date(values: pd.Series) -> pd.Series:
    """RAW-DATE (calendar): year >= 1, month 01-12, day within its month (leap years per Gregorian rule).

    Values not shaped like an ISO date pass here: :func:`compute_is_iso_date_shape` reports them.
    """
    shaped = _full_match(values, DATE_PATTERN)
    ok = np.ones(len(values), dtype=bool)
    if not shaped.any():
        return pd.Series(ok, index=values.index)
    dates = values[shaped]
    length = dates.str.len()
    year = _as_float(dates.str.slice(0, 4))
    month = _as_float(dates.where(length >= 7).str.slice(5, 7))
    day = _as_float(dates.where(length == 10).str.slice(8, 10))
    with np.errstate(invalid="ignore"):
        leap = (np.fmod(year, 4) == 0) & ((np.fmod(year, 100) != 0) | (np.fmod(year, 400) == 0))
        month_index = np.clip(np.nan_to_num(month, nan=1.0), 1, 12).astype(int) - 1
        last_day = _DAYS_IN_MONTH[month_index] + (leap & (month == 2))
        bad = (
            (year < 1)
            | (~np.isnan(month) & ((month < 1) | (month > 12)))
            | (~np.isnan(day) & ((day < 1) | (day > last_day)))
        )
    ok[shaped] = ~bad
    return pd.Series(ok, index=values.index)


def compute_is_time(values: pd.Series) -> pd.Series:
    """RAW-TIME: ``HH:MM`` on a 24-hour clock, 00:00 to 23:59."""
    return _passes(values, _full_match(values, TIME_PATTERN))


def compute_is_allowed(values: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """RAW-CODE / RAW-VISIT / RAW-STUDYID: the value is one of ``allowed`` (exact, case-sensitive)."""
    return _passes(values, values.isin(allowed).to_numpy(dtype=bool))


def compute_matches(values: pd.Series, pattern: str) -> pd.Series:
    """RAW-PATTERN: the whole value matches the regular expression of the catalogue."""
    return _passes(values, _full_match(values, pattern))


# --- the checks a column contract generates -----------------------------------------------------------


@dataclass(frozen=True)
class ColumnCheck:
    """One check of a column: its pandera name (``RAW-DATE.calendar``), rule and message."""

    name: str
    rule: str
    message: str
    test: Callable[[pd.Series], pd.Series]


def column_checks(column: ColumnSpec, study: Study) -> list[ColumnCheck]:
    """The checks implied by one column contract, in the order they are applied (once per value)."""
    checks: list[ColumnCheck] = []
    kind = column.type
    if kind in ("int", "float"):
        is_int = kind == "int"
        checks.append(
            ColumnCheck(
                f"RAW-TYPE.{kind}",
                "RAW-TYPE",
                "not an integer" if is_int else "not a number (digits with an optional '.' decimal point)",
                compute_is_integer if is_int else compute_is_number,
            )
        )
        if column.min is not None or column.max is not None:
            low, high = column.min, column.max
            checks.append(
                ColumnCheck(
                    "RAW-RANGE",
                    "RAW-RANGE",
                    f"outside the allowed range {_range_text(low, high)}",
                    lambda s, lo=low, hi=high: compute_in_range(s, lo, hi),
                )
            )
        if column.step:
            step, base = float(column.step), float(column.min or 0)
            checks.append(
                ColumnCheck(
                    "RAW-STEP",
                    "RAW-STEP",
                    f"not a multiple of {step:g}" + (f" from {base:g}" if base else ""),
                    lambda s, st=step, b=base: compute_on_step(s, st, b),
                )
            )
    elif kind == "date":
        checks.append(
            ColumnCheck(
                "RAW-DATE.format",
                "RAW-DATE",
                "not an ISO 8601 date (YYYY-MM-DD, or partial YYYY-MM / YYYY)",
                compute_is_iso_date_shape,
            )
        )
        checks.append(
            ColumnCheck("RAW-DATE.calendar", "RAW-DATE", "not a real calendar date", compute_is_calendar_date)
        )
    elif kind == "time":
        checks.append(
            ColumnCheck("RAW-TIME", "RAW-TIME", "not a time HH:MM from 00:00 to 23:59", compute_is_time)
        )
    elif kind in ("code", "yn"):
        allowed = column.values if kind == "code" else ("Y", "N")
        checks.append(
            ColumnCheck(
                "RAW-CODE",
                "RAW-CODE",
                f"not an allowed value ({_values_text(allowed)}; case-sensitive)",
                lambda s, a=allowed: compute_is_allowed(s, a),
            )
        )
    elif kind == "visit":
        visits = study.visit_names
        checks.append(
            ColumnCheck(
                "RAW-VISIT",
                "RAW-VISIT",
                "not a visit of study.yaml (scheduled, early termination or unscheduled; case-sensitive)",
                lambda s, v=visits: compute_is_allowed(s, v),
            )
        )
    if column.name == "STUDYID":
        checks.append(
            ColumnCheck(
                "RAW-STUDYID",
                "RAW-STUDYID",
                f"STUDYID is not {study.studyid} (study.yaml)",
                lambda s, v=(study.studyid,): compute_is_allowed(s, v),
            )
        )
    if column.pattern:
        checks.append(
            ColumnCheck(
                "RAW-PATTERN",
                "RAW-PATTERN",
                f"does not match the pattern {column.pattern}",
                lambda s, p=column.pattern: compute_matches(s, p),
            )
        )
    return checks


def form_schema(form: FormSpec, study: Study) -> pa.DataFrameSchema:
    """The pandera contract of one raw form, generated from its catalogue entry.

    Every catalogue column must be present (``required=True``), no other column may be (``strict``),
    ``required: true`` columns are not nullable, and each column carries the checks of
    :func:`column_checks`. The lineage columns added by the loader are not part of the contract.
    """
    columns = {
        c.name: pa.Column(
            None,
            nullable=not c.required,
            required=True,
            checks=[pa.Check(ch.test, name=ch.name, ignore_na=False) for ch in column_checks(c, study)],
            description=f"{c.type}{' (required)' if c.required else ''}",
        )
        for c in form.columns
    }
    return pa.DataFrameSchema(columns, strict=True, name=form.file, title=form.label)


@dataclass
class ContractResult:
    """Findings of the column/value rules, plus which records failed in which column.

    ``failed[column]`` is a boolean array over the records; the form and study rules use it to skip
    values already reported (a duplicate key is not judged on a SUBJID that failed its pattern).
    """

    findings: list[Finding] = field(default_factory=list)
    failed: dict[str, np.ndarray] = field(default_factory=dict)


def check_form_contract(
    frame: pd.DataFrame,
    form: FormSpec,
    study: Study,
    lines: np.ndarray | None = None,
    *,
    ignore_lineage: bool = False,
) -> ContractResult:
    """Validate the collected text of one form against :func:`form_schema` (lazy: every failure).

    ``frame`` holds the form's columns as text with a RangeIndex; ``lines`` gives each record's CSV
    line (default: position + 2). To re-check a loaded :class:`~cdisc168.raw.load.RawStudy` frame, pass
    ``ignore_lineage=True``: ``_FORM``/``_ROW`` are then not judged and ``_ROW`` gives the lines.
    """
    data = frame
    if ignore_lineage:
        if lines is None and ROW in frame.columns:
            lines = frame[ROW].to_numpy()
        data = frame.drop(columns=[c for c in LINEAGE_COLUMNS if c in frame.columns])
    n = len(data)
    if not data.index.equals(pd.RangeIndex(n)):
        data = data.reset_index(drop=True)  # failure cases are mapped to records by position
    lines = np.arange(2, n + 2, dtype=np.int64) if lines is None else np.asarray(lines)
    result = ContractResult()
    try:
        form_schema(form, study).validate(data, lazy=True, inplace=True)
    except SchemaErrors as exc:
        result = _translate(exc.failure_cases, data, form, study, lines)
    return result


def _translate(
    cases: pd.DataFrame, data: pd.DataFrame, form: FormSpec, study: Study, lines: np.ndarray
) -> ContractResult:
    """pandera failure cases → findings (one per failing value; one per missing/extra column)."""
    result = ContractResult()
    file = form.file
    messages = {
        (c.name, ch.name): (ch.rule, ch.message) for c in form.columns for ch in column_checks(c, study)
    }
    positions = {name: i for i, name in enumerate(form.column_names)}
    schema_cases = cases[cases["index"].isna()]
    unknown_checks = set(schema_cases["check"]) - {"column_in_dataframe", "column_in_schema"}
    if unknown_checks:
        raise RuntimeError(f"{file}: unexpected pandera schema failures {sorted(unknown_checks)}")
    missing = [
        str(n) for n in schema_cases.loc[schema_cases["check"] == "column_in_dataframe", "failure_case"]
    ]
    extra = [str(n) for n in schema_cases.loc[schema_cases["check"] == "column_in_schema", "failure_case"]]
    # A header name that differs from a missing column only in spaces or case is one problem, not two.
    misspelt = {_fold(name): name for name in extra if _fold(name) in {_fold(m) for m in missing}}
    for name in missing:
        header_name = misspelt.get(_fold(name))
        hint = f"; the header has {header_name!r} (check spaces and case)" if header_name is not None else ""
        result.findings.append(
            raw_finding(
                "RAW-COLUMN-MISSING",
                f"column {name} of the {form.name} form is missing from the header{hint}",
                dataset=file,
                row=1,
                variable=name,
                value=name if header_name is None else header_name,
            )
        )
    for name in extra:
        if name in misspelt.values():
            continue
        label = f"column {name!r}" if name else "an unnamed column (a trailing comma?)"
        result.findings.append(
            raw_finding(
                "RAW-COLUMN-EXTRA",
                f"{label} is not a column of the {form.name} form",
                dataset=file,
                row=1,
                variable=name,
                value=name,
            )
        )

    # One finding per value: where several checks of a column reject it, the first one reports it.
    value_cases = cases[cases["index"].notna()].copy()
    order = {(c.name, ch.name): i for c in form.columns for i, ch in enumerate(column_checks(c, study))}
    value_cases["_order"] = [
        order.get((str(c), str(k)), -1)
        for c, k in zip(value_cases["column"], value_cases["check"], strict=True)
    ]
    value_cases = value_cases.sort_values(["column", "index", "_order"], kind="stable").drop_duplicates(
        ["column", "index"]
    )
    subjects = _usubjid_lookup(data, study)
    for (column, check), group in value_cases.groupby(["column", "check"], sort=False):
        column = str(column)
        if check == "not_nullable":
            rule, message = "RAW-REQUIRED", f"{column} is required but empty"
        elif (column, check) in messages:
            rule, message = messages[(column, check)]
        else:
            raise RuntimeError(f"{file}: unexpected pandera check {check!r} on {column}")
        index = group["index"].to_numpy(dtype=np.int64)
        mask = result.failed.setdefault(column, np.zeros(len(data), dtype=bool))
        mask[index] = True
        values = data[column].to_numpy(dtype=object)[index]
        hints = _hints(values, column, form, study) if rule in ("RAW-CODE", "RAW-VISIT") else {}
        usubjids = subjects(index)
        result.findings.extend(
            raw_finding(
                rule,
                message + hints.get(v, "") if isinstance(v, str) else message,
                dataset=file,
                row=int(line),
                variable=column,
                value=v if isinstance(v, str) else "",
                usubjid=u,
            )
            for line, v, u in zip(lines[index].tolist(), values.tolist(), usubjids, strict=True)
        )
    result.findings.sort(key=lambda f: (f.row or 0, positions.get(f.variable, len(positions)), f.rule))
    return result


def _usubjid_lookup(data: pd.DataFrame, study: Study) -> Callable[[np.ndarray], list[str]]:
    """USUBJID (STUDYID-SITEID-SUBJID, STUDY.md §0) of the given record positions, '' if unknown."""
    if "SITEID" not in data.columns or "SUBJID" not in data.columns:
        return lambda index: [""] * len(index)
    site = data["SITEID"].to_numpy(dtype=object)
    subject = data["SUBJID"].to_numpy(dtype=object)

    def lookup(index: np.ndarray) -> list[str]:
        return [
            f"{study.studyid}-{s}-{u}" if isinstance(s, str) and isinstance(u, str) else ""
            for s, u in zip(site[index].tolist(), subject[index].tolist(), strict=True)
        ]

    return lookup


def _hints(values: np.ndarray, column: str, form: FormSpec, study: Study) -> dict[str, str]:
    """' (did you mean 'Y'?)' for values that differ from an allowed value only in case or spaces."""
    spec = form.column(column)
    allowed = (
        study.visit_names if spec.type == "visit" else (spec.values if spec.type == "code" else ("Y", "N"))
    )
    folded = {a.strip().upper(): a for a in allowed}
    hints = {}
    for value in {v for v in values.tolist() if isinstance(v, str)}:
        match = folded.get(" ".join(value.split()).upper())
        if match is not None:
            hints[value] = f"; did you mean {match!r}?"
    return hints


def _fold(name: str) -> str:
    return "".join(name.split()).upper()


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    return f">= {low:g}" if low is not None else f"<= {high:g}"


def _values_text(values: tuple[str, ...]) -> str:
    shown = ", ".join(values[:_MAX_LISTED_VALUES])
    more = len(values) - _MAX_LISTED_VALUES
    return f"{shown}, … {more} more" if more > 0 else shown
