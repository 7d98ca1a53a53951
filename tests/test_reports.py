"""Validation reports (validation.xlsx / .html / .json): content, escaping, order and byte-identical rewrites.

The result below is what a reviewer would see for a tiny AE: one SD-DY error capped by the engine
(1,500 failures, 1,000 listed — here two listed to keep it small), one warning whose value is an HTML
script and one whose value starts with "=", and a rule not applied because DM is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from cdisc168.check import report
from cdisc168.check.catalog import RuleDef
from cdisc168.check.report import HTML_DETAIL_LIMIT, report_content, write_html, write_reports
from cdisc168.check.run import COUNT_COLUMNS, ValidationResult
from cdisc168.check.submission import Submission
from cdisc168.findings import Finding, Findings, Severity

SCRIPT = "<script>alert('x')</script>"
FORMULA = '=HYPERLINK("http://example.org","click")'
STAMP = dt.datetime(2026, 3, 31)

DY = RuleDef(
    id="SD-DY",
    severity=Severity.ERROR,
    message="{variable} is not the study day of the date",
    scope="SDTM",
    check="study_day",
    description="--DY is the day of --DTC counted from DM.RFSTDTC, no day 0 (SDTMIG 3.4 §4.4.4).",
    datasets=("*",),
    requires=("DM",),
)
TERM = RuleDef(
    id="SD-TEXT",
    severity=Severity.WARNING,
    message="{variable} holds markup",
    scope="SDTM",
    check="text",
    description="Text holds no markup.",
)
SEQ = RuleDef(
    id="SD-SEQ",
    severity=Severity.ERROR,
    message="--SEQ repeats",
    scope="SDTM",
    check="seq",
    description="--SEQ is unique within USUBJID (SDTMIG 3.4 §4.1.5).",
    core_id="CORE-000000",
    citation="tests only",
)


@pytest.fixture(scope="module")
def submission() -> Submission:
    ae = pd.DataFrame(
        {
            "STUDYID": ["S1", "S1", "S1"],
            "DOMAIN": ["AE", "AE", "AE"],
            "USUBJID": ["S1-001", "S1-001", "S1-002"],
            "AESEQ": [1.0, 2.0, 1.0],
            "AETERM": ["HEADACHE", SCRIPT, FORMULA],
            "AESTDY": [3.0, 0.0, 5.0],
        }
    )
    return Submission.from_frames({"AE": ae})


@pytest.fixture(scope="module")
def result() -> ValidationResult:
    findings = Findings(
        [
            Finding(
                "SD-TEXT", Severity.WARNING, "AETERM holds markup", "AE", 3, "AETERM", FORMULA, "S1-002", 1.0
            ),
            Finding("SD-DY", Severity.ERROR, "AESTDY is day 0", "AE", 2, "AESTDY", "0", "S1-001", 2.0),
            Finding(
                "SD-TEXT", Severity.WARNING, "AETERM holds markup", "AE", 2, "AETERM", SCRIPT, "S1-001", 2.0
            ),
            Finding(
                "SD-DY", Severity.ERROR, "AESTDY is not the study day", "AE", 1, "AESTDY", "3", "S1-001", 1.0
            ),
            Finding("VAL-CAPPED", Severity.NOTICE, "rule SD-DY: 1500 failures, the first 2 listed", "AE"),
        ]
    )
    counts = pd.DataFrame(
        [("SD-DY", "AE", "error", 1500), ("SD-TEXT", "AE", "warning", 2)], columns=list(COUNT_COLUMNS)
    )
    return ValidationResult(
        findings=findings,
        applied=(DY, TERM),
        not_applied={"SD-SEQ": "companion dataset(s) DM missing"},
        counts=counts,
        ig_versions={"SDTM": "3.4", "ADaM": "1.3"},
        ct_versions={"SDTM": "2025-03-28", "ADaM": "2025-03-28"},
    )


@pytest.fixture(scope="module")
def reports(
    tmp_path_factory: pytest.TempPathFactory, result: ValidationResult, submission: Submission
) -> list[Path]:
    return write_reports(
        result,
        submission,
        tmp_path_factory.mktemp("reports"),
        title="Validation report of study S1",
        catalog=(DY, TERM, SEQ),
        ig_sources={"SDTM": "declared by TS (TSPARMCD SDTIGVER)"},
        stamp=STAMP,
    )


def _rows(sheet) -> list[list[object]]:  # type: ignore[no-untyped-def]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_three_reports_are_written(reports: list[Path]) -> None:
    assert [p.name for p in reports] == ["validation.xlsx", "validation.html", "validation.json"]


def test_xlsx_has_the_four_sheets_with_bold_frozen_filtered_headers(reports: list[Path]) -> None:
    book = load_workbook(reports[0])
    assert book.sheetnames == ["Summary", "Issue Summary", "Issue Details", "Rules"]
    expected_headers = {
        "Issue Summary": ["rule", "severity", "dataset", "count", "message"],
        "Issue Details": [
            "rule",
            "severity",
            "dataset",
            "row",
            "USUBJID",
            "SEQ",
            "variable",
            "value",
            "message",
        ],
        "Rules": ["id", "severity", "scope", "description", "applied", "core_id", "fda_id", "citation"],
    }
    for name, headers in expected_headers.items():
        sheet = book[name]
        assert _rows(sheet)[0] == headers
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")


def test_xlsx_issue_summary_counts_the_engine_totals_not_the_listed_findings(reports: list[Path]) -> None:
    rows = _rows(load_workbook(reports[0])["Issue Summary"])[1:]
    # Errors first, then warnings, then notices; SD-DY: 1,500 failures although two are listed.
    assert rows == [
        ["SD-DY", "error", "AE", 1500, "AESTDY is not the study day"],
        ["SD-TEXT", "warning", "AE", 2, "AETERM holds markup"],
        ["VAL-CAPPED", "notice", "AE", 1, "rule SD-DY: 1500 failures, the first 2 listed"],
    ]


def test_xlsx_details_are_ordered_by_severity_rule_dataset_row(reports: list[Path]) -> None:
    rows = _rows(load_workbook(reports[0])["Issue Details"])[1:]
    assert [(r[0], r[3]) for r in rows] == [
        ("SD-DY", 1),
        ("SD-DY", 2),
        ("SD-TEXT", 2),
        ("SD-TEXT", 3),
        ("VAL-CAPPED", None),
    ]
    assert rows[0] == ["SD-DY", "error", "AE", 1, "S1-001", "1", "AESTDY", "3", "AESTDY is not the study day"]


def test_xlsx_stores_a_value_starting_with_equals_as_text_not_a_formula(reports: list[Path]) -> None:
    sheet = load_workbook(reports[0])["Issue Details"]
    cell = sheet.cell(row=5, column=8)
    assert (cell.value, cell.data_type) == (FORMULA, "s")


def test_xlsx_summary_states_versions_counts_and_rules_not_applied(reports: list[Path]) -> None:
    rows = _rows(load_workbook(reports[0])["Summary"])
    assert rows[0][0] == "Validation report of study S1"
    assert rows[2][0] == "Standards and terminology"
    assert rows[4][:3] == ["SDTMIG", "3.4", "declared by TS (TSPARMCD SDTIGVER)"]
    assert ["error", 1, 1500, 2] in [r[:4] for r in rows]
    assert ["AE", "SDTM", "Adverse Events", 3, 6, None] in [r[:6] for r in rows]
    assert ["SD-SEQ", "error", "SDTM", "companion dataset(s) DM missing"] in [r[:4] for r in rows]


def test_xlsx_rules_sheet_lists_applied_and_not_applied_rules(reports: list[Path]) -> None:
    rows = _rows(load_workbook(reports[0])["Rules"])[1:]
    assert [r[0] for r in rows] == ["SD-DY", "SD-SEQ", "SD-TEXT"]
    assert rows[1][4:8] == ["no: companion dataset(s) DM missing", "CORE-000000", None, "tests only"]
    assert rows[0][4] == "yes"


def test_xlsx_document_dates_are_the_stamp_not_the_clock(reports: list[Path]) -> None:
    with zipfile.ZipFile(reports[0]) as archive:
        core = archive.read("docProps/core.xml").decode()
        assert {i.date_time for i in archive.infolist()} == {(2026, 3, 31, 0, 0, 0)}
    # docProps/core.xml: dcterms:created and dcterms:modified both the stamp, no wall-clock time.
    assert core.count("2026-03-31T00:00:00Z") == 2


def test_html_escapes_values_and_carries_the_sorting_and_filtering_script(reports: list[Path]) -> None:
    page = reports[1].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert SCRIPT not in page
    assert "function sortTable" in page and "function applyFilters" in page
    assert 'data-rule="SD-DY"' in page
    assert "<script src" not in page and "<link" not in page  # self-contained, works offline


def test_html_details_are_capped_with_a_note(tmp_path: Path, submission: Submission) -> None:
    many = Findings(
        Finding("SD-DY", Severity.ERROR, "not the study day", "AE", i, "AESTDY", "0")
        for i in range(1, HTML_DETAIL_LIMIT + 2)
    )
    capped = ValidationResult(many, (DY,), {}, pd.DataFrame(columns=list(COUNT_COLUMNS)), {}, {})
    content = report_content(capped, submission, title="many", catalog=(DY,))
    page = write_html(content, tmp_path / "validation.html").read_text(encoding="utf-8")
    assert f"The first {HTML_DETAIL_LIMIT} of {HTML_DETAIL_LIMIT + 1} findings are shown" in page
    # One issue-summary row (SD-DY on AE, 5,001 failures) and 5,000 detail rows.
    assert (
        page.count('<tr class="error" data-severity="error" data-dataset="AE" data-rule="SD-DY">')
        == 1 + HTML_DETAIL_LIMIT
    )
    assert '<td class="num">5001</td>' in page


def test_json_matches_the_tables(reports: list[Path]) -> None:
    document = json.loads(reports[2].read_text(encoding="utf-8"))
    assert set(document) == {"title", "summary", "issues", "rules", "findings"}
    assert document["findings"][1] == {
        "rule": "SD-DY",
        "severity": "error",
        "dataset": "AE",
        "row": 2,
        "USUBJID": "S1-001",
        "SEQ": "2",
        "variable": "AESTDY",
        "value": "0",
        "message": "AESTDY is day 0",
    }
    assert document["issues"][0]["count"] == 1500
    assert document["summary"]["not_applied"] == [
        {"rule": "SD-SEQ", "severity": "error", "scope": "SDTM", "reason": "companion dataset(s) DM missing"}
    ]


def test_two_writes_are_byte_identical(
    tmp_path: Path, reports: list[Path], result: ValidationResult, submission: Submission
) -> None:
    again = write_reports(
        result,
        submission,
        tmp_path,
        title="Validation report of study S1",
        catalog=(DY, TERM, SEQ),
        ig_sources={"SDTM": "declared by TS (TSPARMCD SDTIGVER)"},
        stamp=STAMP,
    )
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in reports]


def test_xlsx_rows_beyond_a_sheet_are_counted_in_a_last_line(
    tmp_path: Path, result: ValidationResult, submission: Submission, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sheet of 4 rows holds the header, 2 findings and the note; the other 3 of 5 are in the JSON.
    monkeypatch.setattr(report, "XLSX_ROW_LIMIT", 4)
    content = report_content(result, submission, title="limit", catalog=(DY, TERM, SEQ))
    rows = _rows(load_workbook(report.write_xlsx(content, tmp_path / "validation.xlsx"))["Issue Details"])
    assert [r[0] for r in rows] == [
        "rule",
        "SD-DY",
        "SD-DY",
        "3 more rows than a sheet holds: see validation.json",
    ]
