"""Validation reports as a QC reviewer reads them: ``validation.xlsx``, ``validation.html``, ``validation.json``.

The layout follows the validation reports reviewers know (Pinnacle 21, CDISC CORE): a summary (datasets
checked, IG and CT versions, counts by severity, rules not applied and why), an issue summary (one line
per rule and dataset, with the total count before capping), the issue details (one line per finding)
and the rule catalog (each rule, whether it was applied, its CDISC CORE / FDA validator equivalent).

All three files are built from one :class:`ReportContent`, so they say the same. Findings are ordered by
severity, rule, dataset and row. The bytes are deterministic: no wall-clock time anywhere (the XLSX
document properties and ZIP entry times are set to ``stamp``), sorted JSON keys.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from cdisc168.check.catalog import RuleDef, load_catalog
from cdisc168.check.run import ValidationResult
from cdisc168.check.submission import ADAM, SDTM, Submission
from cdisc168.findings import Finding, Severity
from cdisc168.write.xlsx import fixed_xlsx_bytes

__all__ = [
    "DETAIL_COLUMNS",
    "HTML_DETAIL_LIMIT",
    "REPORT_STAMP",
    "ReportContent",
    "issue_totals",
    "report_content",
    "write_html",
    "write_json",
    "write_reports",
    "write_xlsx",
]

TEMPLATE = Path(__file__).resolve().parent / "templates" / "validation_report.html.j2"
# ZIP entries cannot be dated before 1980; the fixed stamp when no data cut is given.
REPORT_STAMP = dt.datetime(1980, 1, 1)
HTML_DETAIL_LIMIT = 5000
XLSX_CELL_LIMIT = 32767
XLSX_ROW_LIMIT = 1_048_576
DETAIL_COLUMNS: tuple[str, ...] = (
    "rule",
    "severity",
    "dataset",
    "row",
    "USUBJID",
    "SEQ",
    "variable",
    "value",
    "message",
)
ISSUE_COLUMNS: tuple[str, ...] = ("rule", "severity", "dataset", "count", "message")
RULE_COLUMNS: tuple[str, ...] = (
    "id",
    "severity",
    "scope",
    "description",
    "applied",
    "core_id",
    "fda_id",
    "citation",
)
DATASET_COLUMNS: tuple[str, ...] = ("dataset", "standard", "label", "records", "variables", "file")
_SEVERITY_ORDER = {s.value: i for i, s in enumerate(Severity)}
_IG_NAMES = {SDTM: "SDTMIG", ADAM: "ADaMIG"}


@dataclass(frozen=True)
class ReportContent:
    """What every report shows, as lists of plain rows (dicts keyed by column name)."""

    title: str
    standards: list[dict[str, str]]
    severities: list[dict[str, Any]]
    datasets: list[dict[str, Any]]
    not_applied: list[dict[str, str]]
    issues: list[dict[str, Any]]
    details: list[dict[str, Any]]
    rules: list[dict[str, str]]


# --- content ---------------------------------------------------------------------------------------


def _finding_key(f: Finding) -> tuple[Any, ...]:
    """Severity, rule, dataset, row (dataset-level first), then the rest for a total order."""
    return (
        _SEVERITY_ORDER[f.severity.value],
        f.rule,
        f.dataset,
        -1 if f.row is None else f.row,
        f.variable,
        f.usubjid,
        f.value,
        f.message,
    )


def _seq_text(seq: float | None) -> str:
    if seq is None or pd.isna(seq):
        return ""
    return str(int(seq)) if float(seq).is_integer() else repr(float(seq))


def _detail(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "dataset": f.dataset,
        "row": f.row,
        "USUBJID": f.usubjid,
        "SEQ": _seq_text(f.seq),
        "variable": f.variable,
        "value": f.value,
        "message": f.message,
    }


def issue_totals(result: ValidationResult) -> Counter[tuple[str, str, str]]:
    """Failures per (severity, rule, dataset): the engine's totals (before capping), and the findings the
    engine does not count (reading the folder, VAL-INTERNAL, VAL-CAPPED)."""
    totals: Counter[tuple[str, str, str]] = Counter()
    for f in result.findings:
        totals[(f.severity.value, f.rule, f.dataset)] += 1
    counted = result.counts[result.counts["failures"] > 0]
    for rule, dataset, severity, failures in counted.itertuples(index=False):
        totals[(str(severity), rule, dataset)] = int(failures)
    return totals


def _issues(result: ValidationResult, findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """One row per (rule, dataset) with failures (:func:`issue_totals`); the message is the first
    finding's, else the rule's."""
    first: dict[tuple[str, str], Finding] = {}
    for f in findings:
        first.setdefault((f.rule, f.dataset), f)
    messages = {r.id: r.message for r in result.applied}
    rows = [
        {
            "rule": rule,
            "severity": severity,
            "dataset": dataset,
            "count": count,
            "message": first[(rule, dataset)].message if (rule, dataset) in first else messages.get(rule, ""),
        }
        for (severity, rule, dataset), count in issue_totals(result).items()
    ]
    return sorted(rows, key=lambda r: (_SEVERITY_ORDER[r["severity"]], r["rule"], r["dataset"]))


def _severities(
    issues: Sequence[Mapping[str, Any]], details: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "severity": s.value,
            "issues": sum(1 for i in issues if i["severity"] == s.value),
            "failures": sum(int(i["count"]) for i in issues if i["severity"] == s.value),
            "listed": sum(1 for d in details if d["severity"] == s.value),
        }
        for s in Severity
    ]


def _standards(
    result: ValidationResult, submission: Submission, ig_sources: Mapping[str, str]
) -> list[dict[str, str]]:
    rows = [
        {
            "item": _IG_NAMES[standard],
            "version": result.ig_versions.get(standard, ""),
            "source": ig_sources.get(standard, ""),
        }
        for standard in (SDTM, ADAM)
        if submission.names(standard)
    ]
    rows += [
        {
            "item": f"{standard} Controlled Terminology",
            "version": version,
            "source": "package shipped with cdisc168",
        }
        for standard, version in sorted(result.ct_versions.items())
    ]
    return rows


def _file_text(path: Path | None, base: Path | None) -> str:
    if path is None:
        return ""
    return str(path.relative_to(base)) if base is not None and path.is_relative_to(base) else path.name


def _datasets(submission: Submission, base: Path | None) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(submission.datasets):
        metadata = submission.metadata.get(name)
        rows.append(
            {
                "dataset": name,
                "standard": submission.standards.get(name, ""),
                "label": metadata.label if metadata else "",
                "records": len(submission.datasets[name]),
                "variables": len(submission.datasets[name].columns),
                "file": _file_text(metadata.path if metadata else None, base),
            }
        )
    return rows


def _rules(
    result: ValidationResult, catalog: Sequence[RuleDef]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(Rules rows, rules-not-applied rows): every rule applied or not applied in this run."""
    known = {r.id: r for r in catalog}
    known.update({r.id: r for r in result.applied})
    applied = {r.id for r in result.applied}
    rules, not_applied = [], []
    for rule_id in sorted(applied | set(result.not_applied)):
        rule = known.get(rule_id)
        reason = result.not_applied.get(rule_id, "")
        row = {
            "id": rule_id,
            "severity": rule.severity.value if rule else "",
            "scope": rule.scope if rule else "",
            "description": rule.description if rule else "",
            "applied": "yes" if rule_id in applied else f"no: {reason}",
            "core_id": rule.core_id if rule else "",
            "fda_id": rule.fda_id if rule else "",
            "citation": rule.citation if rule else "",
        }
        rules.append(row)
        if rule_id not in applied:
            not_applied.append(
                {"rule": rule_id, "severity": row["severity"], "scope": row["scope"], "reason": reason}
            )
    return rules, not_applied


def report_content(
    result: ValidationResult,
    submission: Submission,
    *,
    title: str,
    catalog: Sequence[RuleDef] | None = None,
    ig_sources: Mapping[str, str] | None = None,
    base: Path | None = None,
) -> ReportContent:
    """The rows every report shows. ``catalog`` (default: the package's) describes the rules not applied;
    ``ig_sources`` says where each IG version came from; ``base`` is the folder file paths are shown
    relative to."""
    findings = sorted(result.findings, key=_finding_key)
    details = [_detail(f) for f in findings]
    issues = _issues(result, findings)
    rules, not_applied = _rules(result, load_catalog() if catalog is None else catalog)
    return ReportContent(
        title=title,
        standards=_standards(result, submission, ig_sources or {}),
        severities=_severities(issues, details),
        datasets=_datasets(submission, base),
        not_applied=not_applied,
        issues=issues,
        details=details,
        rules=rules,
    )


# --- XLSX --------------------------------------------------------------------------------------------


def _cell_value(value: Any) -> Any:
    """Text without the control characters XML cannot hold, within Excel's cell limit."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_CELL_LIMIT]
    return value


def _append(sheet: Any, values: Sequence[Any], *, bold: bool = False) -> None:
    """One row; text is always stored as text (a value starting with "=" must not become a formula)."""
    row: list[Any] = []
    for given in values:
        value = _cell_value(given)
        if bold or (isinstance(value, str) and value.startswith("=")):
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if bold:
                cell.font = Font(bold=True)
            value = cell
        row.append(value)
    sheet.append(row)


def _set_widths(sheet: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Column widths from the header and the first 500 rows (set before the first row is written)."""
    for index, column in enumerate(columns, start=1):
        longest = max([len(str(column))] + [len(str(r.get(column) or "")) for r in rows[:500]])
        sheet.column_dimensions[get_column_letter(index)].width = min(80, max(8, longest + 2))


def _table_sheet(
    book: Workbook, title: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """A sheet with a bold, frozen header row and an autofilter over the table. Rows beyond what a sheet
    holds (1,048,576 with the header) are left out, and a last line says how many and where they are."""
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    _set_widths(sheet, columns, rows)
    _append(sheet, columns, bold=True)
    shown = rows[: XLSX_ROW_LIMIT - 2] if len(rows) > XLSX_ROW_LIMIT - 1 else rows
    for row in shown:
        _append(sheet, [row[c] for c in columns])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(shown) + 1}"
    if len(shown) < len(rows):
        _append(sheet, [f"{len(rows) - len(shown)} more rows than a sheet holds: see validation.json"])


def _summary_sheet(book: Workbook, content: ReportContent) -> None:
    """Sections one below the other, each a bold title and a bold header row."""
    sheet = book.create_sheet("Summary")
    sheet.freeze_panes = "A2"
    _set_widths(sheet, DATASET_COLUMNS, content.datasets)
    _append(sheet, [content.title], bold=True)
    sections: list[tuple[str, Sequence[str], Sequence[Mapping[str, Any]]]] = [
        ("Standards and terminology", ("item", "version", "source"), content.standards),
        ("Findings by severity", ("severity", "issues", "failures", "listed"), content.severities),
        ("Datasets checked", DATASET_COLUMNS, content.datasets),
        ("Rules not applied", ("rule", "severity", "scope", "reason"), content.not_applied),
    ]
    for heading, columns, rows in sections:
        _append(sheet, [])
        _append(sheet, [heading], bold=True)
        _append(sheet, columns, bold=True)
        for row in rows:
            _append(sheet, [row[c] for c in columns])


def write_xlsx(content: ReportContent, path: Path, *, stamp: dt.datetime = REPORT_STAMP) -> Path:
    """``validation.xlsx``: sheets Summary, Issue Summary, Issue Details, Rules (deterministic bytes)."""
    # Write-only: rows are streamed, so tens of thousands of findings take seconds, not minutes.
    book = Workbook(write_only=True)
    _summary_sheet(book, content)
    _table_sheet(book, "Issue Summary", ISSUE_COLUMNS, content.issues)
    _table_sheet(book, "Issue Details", DETAIL_COLUMNS, content.details)
    _table_sheet(book, "Rules", RULE_COLUMNS, content.rules)
    book.properties.created = stamp
    book.properties.modified = stamp
    book.properties.creator = "cdisc168"
    buffer = io.BytesIO()
    # ExcelWriter, not Workbook.save: save() stamps the wall-clock time into docProps/core.xml.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()
    path.write_bytes(fixed_xlsx_bytes(buffer.getvalue(), stamp))
    return path


# --- HTML and JSON -------------------------------------------------------------------------------------


def _choices(content: ReportContent) -> dict[str, list[str]]:
    return {
        "severity": [s.value for s in Severity if any(i["severity"] == s.value for i in content.issues)],
        "dataset": sorted({i["dataset"] for i in content.issues if i["dataset"]}),
        "rule": sorted({i["rule"] for i in content.issues}),
    }


def write_html(content: ReportContent, path: Path, *, template: Path = TEMPLATE) -> Path:
    """``validation.html`` from the jinja2 template (autoescaped); details capped at
    :data:`HTML_DETAIL_LIMIT` rows with a note pointing at the XLSX and JSON."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template.parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    page = environment.get_template(template.name).render(
        title=content.title,
        standards=content.standards,
        severities=content.severities,
        datasets=content.datasets,
        not_applied=content.not_applied,
        issues=content.issues,
        details=content.details[:HTML_DETAIL_LIMIT],
        details_total=len(content.details),
        rules=content.rules,
        choices=_choices(content),
    )
    path.write_text(page, encoding="utf-8")
    return path


def write_json(content: ReportContent, path: Path) -> Path:
    """``validation.json``: ``summary``, ``issues``, ``rules``, ``findings``; sorted keys, UTF-8."""
    document = {
        "title": content.title,
        "summary": {
            "standards": content.standards,
            "severities": content.severities,
            "datasets": content.datasets,
            "not_applied": content.not_applied,
        },
        "issues": content.issues,
        "rules": content.rules,
        "findings": content.details,
    }
    path.write_text(
        json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def write_reports(
    result: ValidationResult,
    submission: Submission,
    out_dir: Path,
    *,
    title: str,
    catalog: Sequence[RuleDef] | None = None,
    ig_sources: Mapping[str, str] | None = None,
    base: Path | None = None,
    stamp: dt.datetime | dt.date = REPORT_STAMP,
) -> list[Path]:
    """Write ``validation.xlsx``, ``validation.html`` and ``validation.json`` into ``out_dir`` (created if
    needed) and return their paths. ``stamp`` (e.g. the data cut) dates the XLSX; see
    :func:`report_content` for the other options."""
    out_dir.mkdir(parents=True, exist_ok=True)
    content = report_content(
        result, submission, title=title, catalog=catalog, ig_sources=ig_sources, base=base
    )
    moment = stamp if isinstance(stamp, dt.datetime) else dt.datetime.combine(stamp, dt.time())
    return [
        write_xlsx(content, out_dir / "validation.xlsx", stamp=max(moment, REPORT_STAMP)),
        write_html(content, out_dir / "validation.html"),
        write_json(content, out_dir / "validation.json"),
    ]
