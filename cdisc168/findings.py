"""The one ``Finding`` type shared by raw input contracts, schemas, conformance rules and reports.

A problem is reported once, by the first layer that sees it (DESIGN.md, "Checks"). A finding names
where it is (dataset or raw file, row, USUBJID, --SEQ, variable), what was seen (value) and which rule
was broken (rule id, severity, message), plus the raw source for lineage.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path

import pandas as pd


class Severity(StrEnum):
    """Severity of a finding. Only ``error`` makes a run fail (exit 1, or 2 for unusable input)."""

    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in the data, the specs or the outputs.

    ``row`` is the 1-based line number as a person sees it in the file (the header is line 1, so the
    first data record is line 2) for raw CSV files, and the 1-based record number for datasets.
    """

    rule: str
    severity: Severity
    message: str
    dataset: str = ""
    row: int | None = None
    variable: str = ""
    value: str = ""
    usubjid: str = ""
    seq: float | None = None
    source: str = ""

    def location(self) -> str:
        """Human-readable location: ``ae.csv row 12 column AESTDT``."""
        parts = [self.dataset or "-"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.variable:
            parts.append(f"column {self.variable}")
        return " ".join(parts)

    def __str__(self) -> str:
        value = f" value {self.value!r}" if self.value != "" else ""
        return f"{self.severity.upper()} [{self.rule}] {self.location()}{value}: {self.message}"


FINDING_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Finding))
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTICE: 2}


class Findings:
    """An ordered collection of findings with the operations every layer needs."""

    def __init__(self, items: Iterable[Finding] = ()) -> None:
        self._items: list[Finding] = list(items)

    def add(self, finding: Finding) -> None:
        self._items.append(finding)

    def extend(self, items: Iterable[Finding]) -> None:
        self._items.extend(items)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def of(self, severity: Severity) -> list[Finding]:
        return [f for f in self._items if f.severity is severity]

    @property
    def errors(self) -> list[Finding]:
        return self.of(Severity.ERROR)

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self._items)

    def sorted(self) -> Findings:
        """Stable, deterministic order: severity, dataset, row, variable, rule."""
        return Findings(
            sorted(
                self._items,
                key=lambda f: (
                    _SEVERITY_ORDER[f.severity],
                    f.dataset,
                    f.row if f.row is not None else -1,
                    f.variable,
                    f.rule,
                    f.value,
                ),
            )
        )

    def to_frame(self) -> pd.DataFrame:
        rows = [asdict(f) for f in self._items]
        frame = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
        frame["severity"] = frame["severity"].astype(str)
        return frame

    def to_csv_text(self) -> str:
        """CSV with one line per finding, in :meth:`sorted` order (deterministic bytes)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(FINDING_COLUMNS)
        for f in self.sorted():
            writer.writerow(["" if v is None else str(v) for v in (getattr(f, c) for c in FINDING_COLUMNS)])
        return buffer.getvalue()

    def write_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_csv_text(), encoding="utf-8")

    def counts(self) -> dict[str, int]:
        return {s.value: len(self.of(s)) for s in Severity}


def findings_from_mask(
    frame: pd.DataFrame,
    mask: pd.Series,
    *,
    rule: str,
    severity: Severity,
    message: str,
    dataset: str,
    variable: str = "",
    row_column: str | None = None,
    value_column: str | None = None,
    usubjid_column: str | None = None,
) -> list[Finding]:
    """Turn the rows of ``frame`` selected by a boolean ``mask`` into findings (vectorised checks).

    ``row_column`` names the column holding the file row number; ``value_column`` the offending value
    (defaults to ``variable`` when that is a column of ``frame``).
    """
    hits = frame.loc[mask.fillna(False).astype(bool)]
    if hits.empty:
        return []
    value_column = value_column or (variable if variable in frame.columns else None)
    rows = hits[row_column].tolist() if row_column else [None] * len(hits)
    values = hits[value_column].tolist() if value_column else [""] * len(hits)
    subjects = hits[usubjid_column].tolist() if usubjid_column else [""] * len(hits)
    return [
        Finding(
            rule=rule,
            severity=severity,
            message=message,
            dataset=dataset,
            row=None if r is None or pd.isna(r) else int(r),
            variable=variable,
            value="" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v),
            usubjid="" if s is None or (not isinstance(s, str) and pd.isna(s)) else str(s),
        )
        for r, v, s in zip(rows, values, subjects, strict=True)
    ]
