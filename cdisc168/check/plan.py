"""The schema rules as data, and the plan of checks a dataset must pass (its pandera schema in the making).

A :class:`SchemaPlan` lists, per variable, its type, whether it is required and its value checks, and
the record checks of the dataset (uniqueness of keys). :mod:`cdisc168.check.schemas` generates plans from
the specs; :meth:`SchemaPlan.schema` is the pandera form; :mod:`cdisc168.check.failures` turns pandera
failure cases back into findings with the rule and message of the check that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

import pandas as pd
import pandera.pandas as pa

from cdisc168.findings import Severity


@dataclass(frozen=True)
class SchemaRule:
    """One schema rule: id, severity and what it checks (the README table lists these)."""

    id: str
    severity: Severity
    description: str


_E = Severity.ERROR

SCHEMA_RULES: dict[str, SchemaRule] = {
    r.id: r
    for r in (
        SchemaRule("SD-SCHEMA-COLUMN", _E, "A variable of the spec (or of SUPPQUAL) is not in the dataset."),
        SchemaRule("SD-SCHEMA-REQUIRED", _E, "A Req variable (SDTMIG 3.4 core) is missing or blank."),
        SchemaRule(
            "SD-SCHEMA-TYPE", _E, "A Char variable holds something other than text, a Num one a non-number."
        ),
        SchemaRule(
            "SD-SCHEMA-DOMAIN", _E, "DOMAIN (RDOMAIN in SUPP--) is not the dataset's (parent's) name."
        ),
        SchemaRule("SD-SCHEMA-STUDYID", _E, "STUDYID is not the study's identifier."),
        SchemaRule("SD-SCHEMA-USUBJID", _E, "USUBJID is not a subject of DM."),
        SchemaRule(
            "SD-SCHEMA-QNAM", _E, "QNAM is not 1-8 letters, digits or _ that do not start with a digit."
        ),
        SchemaRule(
            "SD-SCHEMA-KEY", _E, "A record repeats the natural key (the spec's `keys`) of an earlier one."
        ),
        SchemaRule("SD-SCHEMA-SEQ", _E, "--SEQ is not a whole number >= 1, or repeats within USUBJID."),
        SchemaRule(
            "SD-SCHEMA-CT",
            _E,
            "A value is not a term of its study codelist (external dictionaries are not checked); "
            "QORIG is not a Define-XML origin type.",
        ),
        SchemaRule(
            "SD-SCHEMA-ISO8601",
            _E,
            "--DTC is not an ISO 8601 date/time; --DUR/--ELTM/--EVLINT not a duration.",
        ),
        SchemaRule(
            "SD-SCHEMA-LENGTH", _E, "Text longer than 200 bytes (or the spec's length); QLABEL over 40."
        ),
    )
}
# Where several rules reject the same value (or record), the first one in this order reports it.
RULE_ORDER: tuple[str, ...] = tuple(SCHEMA_RULES)
# A problem an earlier layer already reported at the record's raw source is not reported again:
# the engine's SD-CT (a collected value outside its codelist, at the raw row and column) and the raw
# contract's RAW-REPEAT (a result entered twice: in SDTM, a repeated natural key).
EARLIER_RULES: dict[str, str] = {"SD-SCHEMA-CT": "SD-CT", "SD-SCHEMA-KEY": "RAW-REPEAT"}
RECORD = "record"  # the group of the record-level rules: a duplicated record is reported once


@dataclass(frozen=True)
class ValueCheck:
    """One check of the values of one variable (a pandera column check); True = passes."""

    rule: str
    message: str
    test: Callable[[pd.Series], pd.Series]


@dataclass(frozen=True)
class RecordCheck:
    """One check of whole records (a pandera dataframe check) that reads ``columns``; True = passes.

    ``variable`` is what its findings name; ``group`` what it judges (one report per group and record);
    ``unique`` marks a uniqueness check over ``columns`` (findings then name the earlier record).
    """

    rule: str
    message: str
    columns: tuple[str, ...]
    variable: str
    test: Callable[[pd.DataFrame], pd.Series]
    group: str = RECORD
    unique: bool = False


@dataclass(frozen=True)
class VariablePlan:
    """The checks of one variable: its type, whether it is required, and its value checks in order."""

    name: str
    type: str
    required: bool
    checks: tuple[ValueCheck, ...]
    description: str = ""


@dataclass(frozen=True)
class SchemaPlan:
    """Everything a dataset is checked against.

    ``seq`` names its --SEQ variable; ``ct_sources`` maps a variable (or a SUPP-- QNAM) to the raw columns
    its ``ct`` rules read, to recognise values the mapping engine already reported.
    """

    dataset: str
    label: str
    variables: tuple[VariablePlan, ...]
    records: tuple[RecordCheck, ...] = ()
    seq: str | None = None
    ct_sources: dict[str, frozenset[str]] = field(default_factory=dict)

    def without(self, rules: Collection[str]) -> SchemaPlan:
        """The plan without the checks of ``rules``."""
        if not rules:
            return self
        skip = set(rules)
        variables = tuple(
            replace(
                v,
                required=v.required and "SD-SCHEMA-REQUIRED" not in skip,
                checks=tuple(c for c in v.checks if c.rule not in skip),
            )
            for v in self.variables
        )
        return replace(
            self, variables=variables, records=tuple(r for r in self.records if r.rule not in skip)
        )

    def column_schema(self) -> pa.DataFrameSchema:
        """The variables and their checks: every variable present, Req ones not null (pandera
        ``nullable=False``), no dtype coercion (the type is a value check, so that it names the row)."""
        columns = {
            v.name: pa.Column(
                None,
                nullable=not v.required,
                required=True,
                checks=[pa.Check(c.test, name=c.rule, ignore_na=False) for c in v.checks],
                description=v.description,
            )
            for v in self.variables
        }
        return pa.DataFrameSchema(columns, name=self.dataset, title=self.label)

    def record_checks(self, columns: Collection[str] | None = None) -> list[RecordCheck]:
        """The record checks whose columns are all in ``columns`` (all of them when None)."""
        return [r for r in self.records if columns is None or set(r.columns) <= set(columns)]

    def record_schema(self, columns: Collection[str] | None = None) -> pa.DataFrameSchema:
        """The record checks of :meth:`record_checks` as a pandera schema without columns."""
        checks = [pa.Check(r.test, name=r.rule, ignore_na=False) for r in self.record_checks(columns)]
        return pa.DataFrameSchema(checks=checks, name=self.dataset, title=self.label)

    def schema(self) -> pa.DataFrameSchema:
        """The complete pandera schema: the variables with their checks and the record checks."""
        return pa.DataFrameSchema(
            self.column_schema().columns,
            checks=self.record_schema().checks,
            name=self.dataset,
            title=self.label,
        )
