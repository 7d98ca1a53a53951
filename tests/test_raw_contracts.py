"""Raw input contracts: column, value, form and study rules, each with a passing and a failing case.

Every test starts from a small valid raw folder built from the catalogue (tests/conftest.py: subjects
01/0001, 01/0002 and 02/0003, two records per subject in repeating forms, one otherwise) and breaks one
thing. CSV line = record index + 2 (the header is line 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pandera.pandas as pa
import pytest

from cdisc168.findings import Finding, Findings, Severity
from cdisc168.raw.contracts import (
    check_form_contract,
    compute_in_range,
    compute_is_calendar_date,
    compute_is_integer,
    compute_is_iso_date_shape,
    compute_is_number,
    compute_is_time,
    compute_on_step,
    form_schema,
)
from cdisc168.raw.forms import ColumnSpec, FormCatalogue, FormSpec
from cdisc168.raw.load import check_raw, load_raw
from cdisc168.raw.rules import RAW_RULES
from cdisc168.study import Study

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import RawFolder


def _of(findings: Findings, rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def _edit(folder: RawFolder, form: str, index: int, column: str, value: str | None) -> None:
    frame = folder.frames[form].copy()
    frame.loc[index, column] = value
    folder.write(form, frame)


def _text(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="str")


# --- the valid folder: the passing case of every rule -------------------------------------------------


def test_a_valid_raw_folder_has_no_findings(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert list(findings) == []
    assert set(raw) == set(forms.names)
    assert len(raw["death"]) == 0, "header-only death.csv is a valid form without records"


def test_every_rule_is_documented_with_a_severity() -> None:
    assert all(r.id.startswith("RAW-") and r.description for r in RAW_RULES.values())
    warnings = {r.id for r in RAW_RULES.values() if r.severity is Severity.WARNING}
    assert warnings == {"RAW-REPEAT", "RAW-FILE-UNKNOWN"}


# --- value rules ------------------------------------------------------------------------------------


def test_impossible_ae_start_date_is_one_error_naming_file_row_column_value(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _edit(raw_folder, "ae", 1, "AESTDT", "2024-02-30")  # index 1 → CSV line 3
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.severity, f.dataset, f.row, f.variable, f.value) for f in findings] == [
        ("RAW-DATE", Severity.ERROR, "ae.csv", 3, "AESTDT", "2024-02-30")
    ]
    assert findings.errors[0].usubjid == "CCAR168-AID-01-0001"
    assert "calendar" in findings.errors[0].message


def test_partial_dates_are_accepted(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    _edit(raw_folder, "ae", 0, "AESTDT", "2024-03")
    _edit(raw_folder, "ae", 1, "AEENDT", "2024")
    _edit(raw_folder, "ae", 2, "AESTDT", "2024-02-29")  # leap year
    assert list(check_raw(raw_folder.path, study, forms)) == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024", True),
        ("2024-03", True),
        ("2024-03-15", True),
        ("2024-02-29", True),
        ("2000-02-29", True),
        (None, True),
        ("2023-02-29", False),
        ("1900-02-29", False),
        ("2024-13", False),
        ("2024-00-10", False),
        ("2024-04-31", False),
        ("0000-01-01", False),
    ],
)
def test_calendar_dates(value: str | None, ok: bool) -> None:
    assert compute_is_calendar_date(_text([value])).tolist() == [ok]


@pytest.mark.parametrize(
    "value", ["2024/03/01", "15-03-2024", "2024-3-1", "2024-03-01T10:00", "UNK", " 2024"]
)
def test_dates_not_in_iso_8601_shape(value: str) -> None:
    series = _text([value])
    assert compute_is_iso_date_shape(series).tolist() == [False]
    assert compute_is_calendar_date(series).tolist() == [True], "reported once, by the format check"


def test_bad_date_format_is_reported_once(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    _edit(raw_folder, "lab", 0, "LBDT", "03/15/2024")
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.row, f.variable) for f in findings] == [("RAW-DATE", 2, "LBDT")]
    assert "ISO 8601" in findings.errors[0].message


@pytest.mark.parametrize(
    ("value", "ok"), [("00:00", True), ("23:59", True), ("24:00", False), ("8:30", False)]
)
def test_times_are_hh_mm_on_a_24_hour_clock(value: str, ok: bool) -> None:
    assert compute_is_time(_text([value])).tolist() == [ok]


def test_bad_time_in_a_form(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    _edit(raw_folder, "infusion", 2, "INFSTTM", "25:10")
    assert [(f.rule, f.row, f.value) for f in check_raw(raw_folder.path, study, forms)] == [
        ("RAW-TIME", 4, "25:10")
    ]


def test_numbers_type_range_and_step() -> None:
    values = _text(["3", "+3", "0003", "3.0", "1e3", "x", None])
    assert compute_is_integer(values).tolist() == [True, True, True, False, False, False, True]
    floats = _text(["12.5", ".5", "5.", "-2.5E-1", "12,5", "inf", "NaN"])
    assert compute_is_number(floats).tolist() == [True, True, True, True, False, False, False]
    # text that is not a number passes the range and step checks: RAW-TYPE reports it
    assert compute_in_range(_text(["0", "5", "6", "x"]), 0, 5).tolist() == [True, True, False, True]
    assert compute_on_step(_text(["3.5", "3.25", "10", "x"]), 0.5).tolist() == [True, False, True, True]


def test_number_problems_are_reported_by_one_rule_each(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _edit(raw_folder, "ae", 0, "CTCAEGR", "3.0")  # not an integer (and not also out of range)
    _edit(raw_folder, "ae", 1, "CTCAEGR", "7")  # 1..5
    _edit(raw_folder, "edss", 0, "EDSS", "3.25")  # 0.5 steps
    _edit(raw_folder, "dm", 0, "HEIGHT_CM", "172,5")  # decimal comma
    found = {
        (f.rule, f.dataset, f.row, f.variable, f.value) for f in check_raw(raw_folder.path, study, forms)
    }
    assert found == {
        ("RAW-TYPE", "ae.csv", 2, "CTCAEGR", "3.0"),
        ("RAW-RANGE", "ae.csv", 3, "CTCAEGR", "7"),
        ("RAW-STEP", "edss.csv", 2, "EDSS", "3.25"),
        ("RAW-TYPE", "dm.csv", 2, "HEIGHT_CM", "172,5"),
    }


def test_unknown_coded_value_and_case_sensitive_near_miss(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _edit(raw_folder, "dm", 0, "SEX", "FEMALE")
    _edit(raw_folder, "ae", 2, "AESER", "y")
    findings = check_raw(raw_folder.path, study, forms)
    assert {(f.rule, f.dataset, f.row, f.variable, f.value) for f in findings} == {
        ("RAW-CODE", "dm.csv", 2, "SEX", "FEMALE"),
        ("RAW-CODE", "ae.csv", 4, "AESER", "y"),
    }
    near_miss = next(f for f in findings if f.value == "y")
    assert "did you mean 'Y'" in near_miss.message


def test_visit_must_be_a_visit_of_the_study(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _edit(raw_folder, "vs", 0, "VISIT", "DAY 0 INFUSION")  # valid
    _edit(raw_folder, "vs", 1, "VISIT", "WEEK 2")
    assert [(f.rule, f.row, f.value) for f in check_raw(raw_folder.path, study, forms)] == [
        ("RAW-VISIT", 3, "WEEK 2")
    ]


def test_required_value_missing_is_reported_once(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _edit(raw_folder, "ae", 0, "AETERM", None)
    _edit(raw_folder, "ae", 0, "AEENDT", None)  # optional: fine
    assert [(f.rule, f.row, f.variable, f.value) for f in check_raw(raw_folder.path, study, forms)] == [
        ("RAW-REQUIRED", 2, "AETERM", "")
    ]


def test_studyid_and_subject_pattern(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    _edit(raw_folder, "cm", 0, "STUDYID", "CCAR168")
    _edit(raw_folder, "cm", 1, "SUBJID", "12")  # 4 digits; not also "not enrolled"
    assert {(f.rule, f.row, f.variable, f.value) for f in check_raw(raw_folder.path, study, forms)} == {
        ("RAW-STUDYID", 2, "STUDYID", "CCAR168"),
        ("RAW-PATTERN", 3, "SUBJID", "12"),
    }


# --- column rules -----------------------------------------------------------------------------------


def test_missing_required_column_is_one_finding(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw_folder.write("ae", raw_folder.frames["ae"].drop(columns=["AETERM"]))
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.dataset, f.row, f.variable) for f in findings] == [
        ("RAW-COLUMN-MISSING", "ae.csv", 1, "AETERM")
    ]


def test_unexpected_column_is_an_error(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    raw_folder.write("dm", raw_folder.frames["dm"].assign(BMI="22.1"))
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.severity, f.row, f.variable) for f in findings] == [
        ("RAW-COLUMN-EXTRA", Severity.ERROR, 1, "BMI")
    ]


def test_form_schema_is_a_pandera_contract_generated_from_the_catalogue(
    study: Study, forms: FormCatalogue, valid_form_frame: Callable[..., pd.DataFrame]
) -> None:
    schema = form_schema(forms["ae"], study)
    assert isinstance(schema, pa.DataFrameSchema)
    assert list(schema.columns) == list(forms["ae"].column_names)
    assert schema.strict is True
    assert schema.columns["AETERM"].nullable is False and schema.columns["AEENDT"].nullable is True
    assert {c.name for c in schema.columns["AESTDT"].checks} == {"RAW-DATE.format", "RAW-DATE.calendar"}
    schema.validate(valid_form_frame(forms["ae"], study))  # the valid example passes


def test_check_form_contract_on_a_frame_defaults_lines_to_position(
    study: Study, forms: FormCatalogue, valid_form_frame: Callable[..., pd.DataFrame]
) -> None:
    frame = valid_form_frame(forms["mh"], study)
    frame.loc[3, "MHSTDT"] = "2024-02-30"
    result = check_form_contract(frame, forms["mh"], study)
    assert [(f.rule, f.row, f.variable) for f in result.findings] == [("RAW-DATE", 5, "MHSTDT")]
    assert result.failed["MHSTDT"].tolist() == [False, False, False, True, False, False]


# --- form and study rules ---------------------------------------------------------------------------


def test_duplicate_record_key_is_an_error_naming_both_lines(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    ae = raw_folder.frames["ae"]
    raw_folder.write("ae", pd.concat([ae, ae.iloc[[2]]], ignore_index=True))  # line 4 again as line 8
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.severity, f.row, f.value) for f in findings] == [
        ("RAW-KEY", Severity.ERROR, 8, "(01, 0002, 1)")
    ]
    assert "line 4" in findings.errors[0].message and "duplicate" in findings.errors[0].message


def test_second_record_in_a_one_per_subject_form(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    dm = raw_folder.frames["dm"]
    raw_folder.write("dm", pd.concat([dm, dm.iloc[[0]].assign(FORMSEQ="2")], ignore_index=True))
    assert [(f.rule, f.row, f.usubjid) for f in check_raw(raw_folder.path, study, forms)] == [
        ("RAW-ONE-PER-SUBJECT", 5, "CCAR168-AID-01-0001")
    ]


def test_repeated_lab_result_is_a_warning_not_an_error(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    lab = raw_folder.frames["lab"]
    repeat = lab.iloc[[0]].assign(FORMSEQ="3", ORRES="12.4")  # same subject, date, time, test, specimen
    raw_folder.write("lab", pd.concat([lab, repeat], ignore_index=True))
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert not findings.has_errors
    assert [(f.rule, f.severity, f.row) for f in findings] == [("RAW-REPEAT", Severity.WARNING, 8)]
    assert "line 2" in findings.of(Severity.WARNING)[0].message
    assert len(raw["lab"]) == 7, "a repeated result is kept"


def test_subject_not_in_enrol_is_one_error_per_form_and_subject(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    lab = raw_folder.frames["lab"]
    stranger = lab.iloc[[0, 1]].assign(SITEID="03", SUBJID="0099")
    raw_folder.write("lab", pd.concat([lab, stranger], ignore_index=True))
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.dataset, f.row, f.variable, f.value, f.usubjid) for f in findings] == [
        ("RAW-ENROL", "lab.csv", 8, "SUBJID", "0099", "CCAR168-AID-03-0099")
    ]
    assert "2 record(s)" in findings.errors[0].message


def test_enrolment_rule_is_skipped_when_enrol_is_unusable(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw_folder.file("enrol").unlink()
    assert [f.rule for f in check_raw(raw_folder.path, study, forms)] == ["RAW-FILE-MISSING"]


def test_header_name_with_a_stray_space_is_one_finding(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw_folder.write("ae", raw_folder.frames["ae"].rename(columns={"AETERM": "AETERM "}))
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.row, f.variable, f.value) for f in findings] == [
        ("RAW-COLUMN-MISSING", 1, "AETERM", "AETERM ")
    ]
    assert "check spaces and case" in findings.errors[0].message


def test_a_raw_column_named_like_a_lineage_column_is_extra(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw_folder.write("mri", raw_folder.frames["mri"].assign(_ROW="x"))
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.variable) for f in findings] == [("RAW-COLUMN-EXTRA", "_ROW")]
    assert raw["mri"]["_ROW"].tolist() == list(range(2, 8))


def test_a_loaded_form_can_be_checked_again(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw, _ = load_raw(raw_folder.path, study, forms)
    vs = raw["vs"].copy()
    vs.loc[4, "SYSBP"] = "400"
    result = check_form_contract(vs, forms["vs"], study, ignore_lineage=True)
    assert [(f.rule, f.row, f.variable, f.value) for f in result.findings] == [
        ("RAW-RANGE", 6, "SYSBP", "400")
    ]


def test_a_value_rejected_by_two_checks_of_its_column_is_reported_once(
    study: Study, forms: FormCatalogue, valid_form_frame: Callable[..., pd.DataFrame]
) -> None:
    mri = forms["mri"]
    odd = ColumnSpec(name="LESIONS", type="int", min=0, max=99, pattern="^[0-9]{2}$")
    form = FormSpec(name="mri", label=mri.label, columns=(*mri.columns, odd), repeat_key=mri.repeat_key)
    frame = valid_form_frame(mri, study).assign(LESIONS=["01", "abc", "7", "02", "03", "04"])
    result = check_form_contract(frame, form, study)
    assert [(f.rule, f.row, f.value) for f in result.findings] == [
        ("RAW-TYPE", 3, "abc"),  # not also RAW-PATTERN
        ("RAW-PATTERN", 4, "7"),
    ]
