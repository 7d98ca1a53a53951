"""The raw form catalogue: ``mappings/raw/forms.yaml`` loaded into typed form and column contracts.

The catalogue is data (never code): one entry per EDC form with its columns, their types and allowed
values. The synthetic generator writes exactly these columns in this order; the input contracts
(:mod:`cdisc168.raw.contracts`) are generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cdisc168.study import DEFAULT_MAPPINGS

DEFAULT_FORMS_FILE = DEFAULT_MAPPINGS / "raw" / "forms.yaml"
COLUMN_TYPES = frozenset({"text", "int", "float", "date", "time", "code", "yn", "visit"})
KEY_COLUMNS: tuple[str, ...] = ("SITEID", "SUBJID", "FORMSEQ")
_COLUMN_KEYS = frozenset({"type", "required", "values", "min", "max", "step", "pattern"})
_FORM_KEYS = frozenset({"label", "columns", "one_per_subject", "repeat_key", "record_date"})


class FormCatalogueError(ValueError):
    """The form catalogue itself is malformed; the message names file and key."""


@dataclass(frozen=True)
class ColumnSpec:
    """Contract of one raw column."""

    name: str
    type: str
    required: bool = False
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class FormSpec:
    """Contract of one raw form (one CSV file)."""

    name: str
    label: str
    columns: tuple[ColumnSpec, ...]
    one_per_subject: bool = False
    repeat_key: tuple[str, ...] = ()
    record_date: str | None = None

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class FormCatalogue:
    path: Path
    forms: dict[str, FormSpec] = field(default_factory=dict)

    def __getitem__(self, name: str) -> FormSpec:
        return self.forms[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.forms.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.forms)


def _column(name: str, spec: Any, where: str) -> ColumnSpec:
    if not isinstance(spec, dict):
        raise FormCatalogueError(f"{where}: expected a mapping, got {spec!r}")
    unknown = set(spec) - _COLUMN_KEYS
    if unknown:
        raise FormCatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    col_type = spec.get("type")
    if col_type not in COLUMN_TYPES:
        raise FormCatalogueError(f"{where}.type: {col_type!r} is not one of {sorted(COLUMN_TYPES)}")
    values = tuple(str(v) for v in spec.get("values", ()))
    if col_type == "code" and not values:
        raise FormCatalogueError(f"{where}.values: a code column needs its allowed values")
    return ColumnSpec(
        name=name,
        type=col_type,
        required=bool(spec.get("required", False)),
        values=values,
        min=spec.get("min"),
        max=spec.get("max"),
        step=spec.get("step"),
        pattern=spec.get("pattern"),
    )


def _column_type(columns: tuple[ColumnSpec, ...], name: str) -> str:
    return next(c.type for c in columns if c.name == name)


def load_forms(path: Path | str | None = None) -> FormCatalogue:
    """Load the raw form catalogue (default ``mappings/raw/forms.yaml``)."""
    file = Path(path) if path is not None else DEFAULT_FORMS_FILE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FormCatalogueError(f"{file}: cannot read the form catalogue: {exc}") from exc
    common = [_column(n, s, f"{file}: common_columns.{n}") for n, s in data["common_columns"].items()]
    forms: dict[str, FormSpec] = {}
    for form_name, form in data["forms"].items():
        where = f"{file}: forms.{form_name}"
        unknown = set(form) - _FORM_KEYS
        if unknown:
            raise FormCatalogueError(f"{where}: unknown keys {sorted(unknown)}")
        own = [_column(n, s, f"{where}.columns.{n}") for n, s in form["columns"].items()]
        columns = (*common, *own)
        names = [c.name for c in columns]
        repeat_key = tuple(form.get("repeat_key", ()))
        missing = [k for k in repeat_key if k not in names]
        if missing:
            raise FormCatalogueError(f"{where}.repeat_key: unknown columns {missing}")
        record_date = form.get("record_date")
        if record_date is not None and (
            record_date not in names or _column_type(columns, record_date) != "date"
        ):
            raise FormCatalogueError(f"{where}.record_date: {record_date!r} is not a date column of the form")
        forms[form_name] = FormSpec(
            name=form_name,
            label=str(form.get("label", form_name)),
            columns=columns,
            one_per_subject=bool(form.get("one_per_subject", False)),
            repeat_key=repeat_key,
            record_date=record_date,
        )
    return FormCatalogue(path=file, forms=forms)
