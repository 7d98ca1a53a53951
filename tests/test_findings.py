"""The one Finding type: location text, deterministic ordering and CSV output."""

from __future__ import annotations

import pandas as pd

from cdisc168.findings import Finding, Findings, Severity, findings_from_mask


def test_str_names_file_row_column_value_and_rule() -> None:
    f = Finding(
        "RAW-DATE",
        Severity.ERROR,
        "not a valid date",
        dataset="ae.csv",
        row=12,
        variable="AESTDT",
        value="2024-02-30",
    )
    assert str(f) == "ERROR [RAW-DATE] ae.csv row 12 column AESTDT value '2024-02-30': not a valid date"


def test_sorted_puts_errors_first_then_file_and_row() -> None:
    items = Findings(
        [
            Finding("W", Severity.WARNING, "w", dataset="a.csv", row=2),
            Finding("E", Severity.ERROR, "e", dataset="b.csv", row=9),
            Finding("E", Severity.ERROR, "e", dataset="a.csv", row=3),
        ]
    )
    ordered = [(f.severity, f.dataset, f.row) for f in items.sorted()]
    assert ordered == [
        (Severity.ERROR, "a.csv", 3),
        (Severity.ERROR, "b.csv", 9),
        (Severity.WARNING, "a.csv", 2),
    ]
    assert items.has_errors and items.counts() == {"error": 2, "warning": 1, "notice": 0}


def test_csv_is_deterministic_and_complete() -> None:
    a = Finding("R1", Severity.ERROR, "m1", dataset="x.csv", row=2, variable="V", value="1")
    b = Finding("R2", Severity.WARNING, "m2, with comma", dataset="x.csv", row=3)
    text = Findings([b, a]).to_csv_text()
    assert text == Findings([a, b]).to_csv_text()
    lines = text.splitlines()
    assert lines[0].startswith("rule,severity,message,dataset,row,variable,value")
    assert lines[1].startswith("R1,error,m1,x.csv,2,V,1")
    assert '"m2, with comma"' in lines[2]


def test_findings_from_mask_keeps_row_value_and_subject() -> None:
    frame = pd.DataFrame(
        {"_ROW": [2, 3, 4], "AESTDT": ["2024-01-01", "bad", None], "USUBJID": ["S1", "S2", "S3"]}
    )
    found = findings_from_mask(
        frame,
        pd.Series([False, True, False]),
        rule="RAW-DATE",
        severity=Severity.ERROR,
        message="bad date",
        dataset="ae.csv",
        variable="AESTDT",
        row_column="_ROW",
        usubjid_column="USUBJID",
    )
    assert found == [
        Finding(
            "RAW-DATE",
            Severity.ERROR,
            "bad date",
            dataset="ae.csv",
            row=3,
            variable="AESTDT",
            value="bad",
            usubjid="S2",
        )
    ]
