"""Validate a dataset against its :class:`~cdisc168.check.plan.SchemaPlan` and translate every pandera
failure case into a :class:`~cdisc168.findings.Finding`.

The dataset is validated lazily (every failure, not the first): the variables with their checks on the
plan's columns, then the record checks on the columns they read (pandera reports a failing record of a
dataframe check once per column, so the frame is kept narrow). Then:

========================  ===================================================================
pandera failure           finding
========================  ===================================================================
column_in_dataframe       SD-SCHEMA-COLUMN (no row)
not_nullable              SD-SCHEMA-REQUIRED
check number *n*          the rule and message of the plan's *n*-th check of that column
dataframe check *n*       the plan's *n*-th record check (one finding per record)
========================  ===================================================================

A value (or record) that fails several checks is reported by the first rule of
:data:`~cdisc168.check.plan.RULE_ORDER`; a problem an earlier layer already reported at the record's raw
source is left out (:data:`~cdisc168.check.plan.EARLIER_RULES`). Each finding names the dataset, the
1-based record number, USUBJID, --SEQ (for SUPP--: IDVARVAL when IDVAR is --SEQ), the variable, the
value and the raw source ``<form>.csv:<row>`` from the ``_FORM``/``_ROW`` lineage columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from cdisc168.check import predicates as p
from cdisc168.check.plan import EARLIER_RULES, RULE_ORDER, SCHEMA_RULES, RecordCheck, SchemaPlan
from cdisc168.findings import Finding
from cdisc168.raw.contracts import FORM, ROW

SUPP_PREFIX = "SUPP"


class EarlierFindings:
    """Where earlier layers reported the problems the schema would report again (see EARLIER_RULES)."""

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        wanted = set(EARLIER_RULES.values())
        self.cells: set[tuple[str, str, int, str]] = set()
        self.rows: set[tuple[str, str, int]] = set()
        for f in findings:
            if f.rule in wanted and f.row is not None:
                self.cells.add((f.rule, f.dataset, int(f.row), f.variable))
                self.rows.add((f.rule, f.dataset, int(f.row)))

    def __bool__(self) -> bool:
        return bool(self.rows)


def _display(value: object) -> str:
    """A value as a finding shows it: "" for missing, whole numbers without ".0"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _failure_cases(schema: pa.DataFrameSchema, data: pd.DataFrame) -> pd.DataFrame | None:
    try:
        schema.validate(data, lazy=True, inplace=True)
    except SchemaErrors as exc:
        return exc.failure_cases
    return None


def _prepared(frame: pd.DataFrame, plan: SchemaPlan) -> pd.DataFrame:
    """The plan's variables of ``frame`` on a RangeIndex, text columns as pyarrow strings (converted once)."""
    present = [v for v in plan.variables if v.name in frame.columns]
    data = pd.DataFrame(
        {v.name: p.as_text(frame[v.name]) if v.type == "Char" else frame[v.name] for v in present},
        index=frame.index,
        copy=False,
    )
    return data if data.index.equals(pd.RangeIndex(len(data))) else data.reset_index(drop=True)


@dataclass(frozen=True)
class _Case:
    """The failing records (0-based positions) of one check."""

    rule: str
    message: str
    variable: str
    group: str
    positions: np.ndarray
    unique_over: tuple[str, ...] = ()


def _column_cases(cases: pd.DataFrame, plan: SchemaPlan) -> tuple[list[_Case], list[str]]:
    """(value cases, variables missing from the dataset) from the column schema's failure cases."""
    checks = {v.name: v.checks for v in plan.variables}
    broken = cases[cases["index"].isna() & (cases["check"] != "column_in_dataframe")]
    if not broken.empty:
        raise RuntimeError(
            f"{plan.dataset}: a check failed to run: "
            f"{list(zip(broken['column'], broken['check'], broken['failure_case'], strict=True))}"
        )
    missing = [str(c) for c in cases.loc[cases["check"] == "column_in_dataframe", "failure_case"]]
    values = cases[cases["index"].notna()]
    found = []
    numbers = values["check_number"].fillna(-1)
    for (column, check, number), group in values.groupby(["column", "check", numbers], sort=False):
        column, n = str(column), int(number)
        if check == "not_nullable":
            rule, message = "SD-SCHEMA-REQUIRED", f"{column} is required (core Req) but missing"
        elif 0 <= n < len(checks[column]) and checks[column][n].rule == check:
            rule, message = checks[column][n].rule, checks[column][n].message
        else:
            raise RuntimeError(f"{plan.dataset}: unexpected pandera check {check!r} on {column}")
        found.append(_Case(rule, message, column, column, group["index"].to_numpy(dtype=np.int64)))
    return found, missing


def _record_cases(cases: pd.DataFrame, checks: Sequence[RecordCheck], dataset: str) -> list[_Case]:
    """One case per record check, each failing record once (pandera repeats it per column)."""
    broken = cases[cases["index"].isna()]
    if not broken.empty:
        raise RuntimeError(f"{dataset}: a record check failed to run: {broken['failure_case'].tolist()}")
    found = []
    for number, group in cases.groupby("check_number", sort=False):
        n = int(number)
        if not 0 <= n < len(checks) or checks[n].rule != group["check"].iloc[0]:
            raise RuntimeError(f"{dataset}: unexpected pandera record check {number!r}")
        check = checks[n]
        positions = np.unique(group["index"].to_numpy(dtype=np.int64))
        unique_over = check.columns if check.unique else ()
        found.append(_Case(check.rule, check.message, check.variable, check.group, positions, unique_over))
    return found


def _once(cases: list[_Case]) -> list[_Case]:
    """One report per (group, record): the first rule of RULE_ORDER wins."""
    if len(cases) < 2:
        return cases
    order = {r: i for i, r in enumerate(RULE_ORDER)}
    table = pd.DataFrame(
        {
            "case": np.concatenate([np.full(len(c.positions), i) for i, c in enumerate(cases)]),
            "group": np.concatenate([np.full(len(c.positions), c.group, dtype=object) for c in cases]),
            "position": np.concatenate([c.positions for c in cases]),
            "order": np.concatenate([np.full(len(c.positions), order[c.rule]) for c in cases]),
        }
    )
    kept = table.sort_values(["group", "position", "order"], kind="mergesort").drop_duplicates(
        ["group", "position"]
    )
    out = []
    for i, c in enumerate(cases):
        positions = np.sort(kept.loc[kept["case"] == i, "position"].to_numpy(dtype=np.int64))
        if len(positions):
            out.append(_Case(c.rule, c.message, c.variable, c.group, positions, c.unique_over))
    return out


def _first_records(frame: pd.DataFrame, columns: Sequence[str], positions: np.ndarray) -> np.ndarray:
    """For each record at ``positions``, the position of the first record with the same ``columns``.

    Only records that share every column's value with some record at ``positions`` can match, so the
    grouping runs on those few (set membership per column is cheap on millions of records).
    """
    keys = frame[list(columns)]
    candidates = np.ones(len(keys), dtype=bool)
    for column in columns:
        wanted = keys[column].iloc[positions]
        candidates &= keys[column].isin(wanted.dropna()).to_numpy(dtype=bool) | (
            keys[column].isna().to_numpy(dtype=bool) & bool(wanted.isna().any())
        )
    candidates[positions] = True
    subset = keys[candidates]
    ids = pd.Series(np.flatnonzero(candidates), index=subset.index)
    first = ids.groupby([subset[c] for c in columns], dropna=False, sort=False).transform("first")
    return pd.Series(first.to_numpy(), index=ids.to_numpy()).reindex(positions).to_numpy(dtype=np.int64)


def _column(frame: pd.DataFrame, name: str | None, positions: np.ndarray) -> list[object]:
    if name is None or name not in frame.columns:
        return [None] * len(positions)
    return frame[name].iloc[positions].astype(object).tolist()


def _sources(frame: pd.DataFrame, positions: np.ndarray) -> list[tuple[str, int] | None]:
    """(raw file, raw row) of each record from the lineage columns; virtual sources keep their name."""
    out: list[tuple[str, int] | None] = []
    for form, row in zip(_column(frame, FORM, positions), _column(frame, ROW, positions), strict=True):
        if not isinstance(form, str) or row is None or pd.isna(row):  # type: ignore[call-overload]
            out.append(None)
        else:
            out.append((form if form.startswith("@") else f"{form}.csv", int(row)))  # type: ignore[call-overload]
    return out


def _seqs(frame: pd.DataFrame, plan: SchemaPlan, positions: np.ndarray) -> list[float | None]:
    """--SEQ of each record; for SUPP-- the IDVARVAL of a --SEQ IDVAR."""
    if plan.seq is not None and plan.seq in frame.columns:
        raw = _column(frame, plan.seq, positions)
    elif {"IDVAR", "IDVARVAL"} <= set(frame.columns):
        pairs = zip(_column(frame, "IDVAR", positions), _column(frame, "IDVARVAL", positions), strict=True)
        raw = [v if isinstance(i, str) and i.endswith("SEQ") else None for i, v in pairs]
    else:
        return [None] * len(positions)
    numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
    return [None if pd.isna(n) else float(n) for n in numbers]


def _already_reported(
    case: _Case,
    plan: SchemaPlan,
    frame: pd.DataFrame,
    sources: list[tuple[str, int] | None],
    first_sources: list[tuple[str, int] | None] | None,
    earlier: EarlierFindings,
) -> np.ndarray:
    """True where an earlier layer reported this problem at the record's raw source (EARLIER_RULES); for a
    repeated key, at the raw source of the record or of the earlier record it repeats."""
    rule = EARLIER_RULES.get(case.rule)
    if rule is None or not earlier:
        return np.zeros(len(case.positions), dtype=bool)
    if first_sources is not None:
        return np.array(
            [
                any(s is not None and (rule, *s) in earlier.rows for s in pair)
                for pair in zip(sources, first_sources, strict=True)
            ],
            dtype=bool,
        )
    if case.variable == "QVAL" and "QNAM" in frame.columns:
        names = [str(q) for q in _column(frame, "QNAM", case.positions)]
    else:
        names = [case.variable] * len(case.positions)
    return np.array(
        [
            source is not None
            and any((rule, *source, column) in earlier.cells for column in plan.ct_sources.get(name, ()))
            for name, source in zip(names, sources, strict=True)
        ],
        dtype=bool,
    )


def _findings(
    case: _Case, plan: SchemaPlan, frame: pd.DataFrame, data: pd.DataFrame, earlier: EarlierFindings
) -> list[Finding]:
    """The findings of one case; ``frame`` is the dataset as given, ``data`` as validated."""
    positions = case.positions
    sources = _sources(frame, positions)
    firsts = _first_records(data, case.unique_over, positions) if case.unique_over else None
    first_sources = _sources(frame, firsts) if firsts is not None else None
    keep = ~_already_reported(case, plan, frame, sources, first_sources, earlier)
    if not keep.any():
        return []
    positions = positions[keep]
    sources = [s for s, k in zip(sources, keep.tolist(), strict=True) if k]
    if firsts is not None:
        messages = [f"{case.message} (record {int(f) + 1})" for f in firsts[keep]]
        shown = (case.variable,) if case.variable in case.unique_over else case.unique_over
        columns = [_column(frame, c, positions) for c in shown]
        values = [" | ".join(_display(v) for v in row) for row in zip(*columns, strict=True)]
    else:
        messages = [case.message] * len(positions)
        values = [_display(v) for v in _column(frame, case.variable, positions)]
    has_subject = "USUBJID" in {v.name for v in plan.variables}
    subjects = _column(frame, "USUBJID" if has_subject else None, positions)
    severity = SCHEMA_RULES[case.rule].severity
    return [
        Finding(
            rule=case.rule,
            severity=severity,
            message=message,
            dataset=plan.dataset,
            row=position + 1,
            variable=case.variable,
            value=value,
            usubjid=_display(subject),
            seq=seq,
            source="" if source is None else f"{source[0]}:{source[1]}",
        )
        for position, message, value, subject, seq, source in zip(
            positions.tolist(),
            messages,
            values,
            subjects,
            _seqs(frame, plan, positions),
            sources,
            strict=True,
        )
    ]


def check_dataset(
    frame: pd.DataFrame, plan: SchemaPlan, earlier: EarlierFindings | None = None
) -> list[Finding]:
    """Validate one dataset against ``plan`` (lazily: every failure) and return its findings, ordered by
    record, variable (plan order) and rule. ``earlier`` holds what earlier layers reported."""
    earlier = earlier if earlier is not None else EarlierFindings()
    data = _prepared(frame, plan)
    original = frame if frame.index.equals(pd.RangeIndex(len(frame))) else frame.reset_index(drop=True)
    cases: list[_Case] = []
    missing: list[str] = []
    failures = _failure_cases(plan.column_schema(), data)
    if failures is not None:
        cases, missing = _column_cases(failures, plan)
    records = plan.record_checks(data.columns)
    if records:
        columns = list(dict.fromkeys(c for r in records for c in r.columns))
        failures = _failure_cases(plan.record_schema(data.columns), data[columns])
        if failures is not None:
            cases += _record_cases(failures, records, plan.dataset)
    kind = "SUPPQUAL" if plan.dataset.startswith(SUPP_PREFIX) else "spec"
    findings = [
        Finding(
            rule="SD-SCHEMA-COLUMN",
            severity=SCHEMA_RULES["SD-SCHEMA-COLUMN"].severity,
            message=f"{name} ({kind} variable) is not a column of the dataset",
            dataset=plan.dataset,
            variable=name,
        )
        for name in missing
    ]
    for case in _once(cases):
        findings.extend(_findings(case, plan, original, data, earlier))
    order = {v.name: i for i, v in enumerate(plan.variables)}
    findings.sort(key=lambda f: (f.row or 0, order.get(f.variable, len(order)), RULE_ORDER.index(f.rule)))
    return findings
