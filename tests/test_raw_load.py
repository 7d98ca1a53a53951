"""Loading raw forms: collected text kept verbatim, lineage, and every file-level problem as a finding.

A file-level problem in one form never stops the others: most tests below also break ae.csv's AESTDT
(line 3) and check that it is still reported.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cdisc168.findings import Finding, Findings, Severity
from cdisc168.raw.csvfile import read_form_csv
from cdisc168.raw.forms import FormCatalogue
from cdisc168.raw.load import LINEAGE_COLUMNS, RawStudy, check_raw, load_raw
from cdisc168.study import Study

if TYPE_CHECKING:
    from conftest import RawFolder

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "bad"


def _of(findings: Findings, rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def _rows(findings: Findings, rule: str) -> list[tuple[str, int | None, str, str]]:
    return [(f.dataset, f.row, f.variable, f.value) for f in findings if f.rule == rule]


def _break_ae_date(folder: RawFolder) -> None:
    ae = folder.frames["ae"].copy()
    ae.loc[1, "AESTDT"] = "2024-02-30"
    folder.write("ae", ae)


def _load_with_bad_file(
    folder: RawFolder, case: str, study: Study, forms: FormCatalogue
) -> tuple[RawStudy, Findings]:
    """Copy the broken form of ``fixtures/bad/<case>/`` over the valid folder and load it."""
    source = next((BAD / case).glob("*.csv"))
    shutil.copyfile(source, folder.path / source.name)
    return load_raw(folder.path, study, forms)


# --- collected text and lineage ---------------------------------------------------------------------


def test_values_are_kept_as_collected_text(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    lab = raw_folder.frames["lab"].copy()
    lab.loc[0, "ORRES"] = "<20"
    lab.loc[1, "ORRES"] = "NA"
    lab.loc[2, "ORRES"] = "0003"
    lab.loc[3, "ORRES"] = None
    raw_folder.write("lab", lab)
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert list(findings) == []
    orres = raw["lab"]["ORRES"]
    assert orres.tolist()[:3] == ["<20", "NA", "0003"]
    assert pd.isna(orres.iloc[3]), "an empty field is missing"
    assert raw["lab"]["SUBJID"].iloc[0] == "0001", "leading zeros survive"
    numbers = raw.numeric("lab", "ORRES")
    assert np.isnan(numbers.iloc[0]) and numbers.iloc[2] == 3.0
    assert raw["lab"]["ORRES"].iloc[0] == "<20", "the typed view does not change the collected text"


def test_raw_study_is_a_mapping_with_lineage(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw, _ = load_raw(raw_folder.path, study, forms)
    assert isinstance(raw, RawStudy)
    assert raw.raw_dir == raw_folder.path
    assert list(raw) == list(forms.names) and len(raw) == len(forms.names)
    ae = raw["ae"]
    assert list(ae.columns) == [*forms["ae"].column_names, *LINEAGE_COLUMNS]
    assert set(ae["_FORM"]) == {"ae"}
    assert ae["_ROW"].tolist() == list(range(2, len(ae) + 2))
    assert raw.source("ae").iloc[0] == "ae.csv:2"


def test_row_is_the_line_a_person_sees_with_blank_lines_and_multiline_text(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    mh = raw_folder.frames["mh"].copy()
    mh.loc[1, "MHTERM"] = "Lupus nephritis,\nclass IV"  # quoted, spans lines 3-4
    raw_folder.write("mh", mh)
    path = raw_folder.file("mh")
    lines = path.read_text().split("\n")
    lines.insert(5, "")  # a blank line becomes line 6
    path.write_text("\n".join(lines))
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert list(findings) == []
    assert raw["mh"]["_ROW"].tolist() == [2, 3, 5, 7, 8, 9]
    text = path.read_text().split("\n")
    for subjid, formseq, row in raw["mh"][["SUBJID", "FORMSEQ", "_ROW"]].itertuples(index=False):
        assert text[row - 1].split(",")[2:5:2] == [subjid, formseq]


def test_utf8_bom_and_crlf_line_ends_are_accepted(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    path = raw_folder.file("ae")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert list(findings) == []
    assert raw["ae"].columns[0] == "STUDYID"
    assert raw["ae"]["_ROW"].tolist() == list(range(2, 8))


# --- file-level problems ----------------------------------------------------------------------------


def test_missing_file_does_not_stop_the_other_forms(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw_folder.file("vs").unlink()
    _break_ae_date(raw_folder)
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert _rows(findings, "RAW-FILE-MISSING") == [("vs.csv", None, "", "vs.csv")]
    assert _rows(findings, "RAW-DATE") == [("ae.csv", 3, "AESTDT", "2024-02-30")]
    assert "vs" not in raw and "ae" in raw


def test_zero_byte_file_is_an_error_but_header_only_is_a_valid_empty_form(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    raw_folder.file("relapse").write_bytes(b"")
    _break_ae_date(raw_folder)
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert {(f.rule, f.dataset, f.row) for f in findings} == {
        ("RAW-FILE-EMPTY", "relapse.csv", None),
        ("RAW-DATE", "ae.csv", 3),
    }
    assert "relapse" not in raw
    assert len(raw["death"]) == 0 and list(raw["death"].columns) == [
        *forms["death"].column_names,
        *LINEAGE_COLUMNS,
    ]


def test_header_only_without_final_line_break(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    path = raw_folder.file("death")
    path.write_text(path.read_text().rstrip("\n"))
    raw, findings = load_raw(raw_folder.path, study, forms)
    assert list(findings) == [] and len(raw["death"]) == 0


def test_semicolon_delimiter_is_one_finding_and_the_rest_is_checked(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _break_ae_date(raw_folder)
    raw, findings = _load_with_bad_file(raw_folder, "dm_semicolon", study, forms)
    assert {(f.rule, f.dataset, f.row) for f in findings} == {
        ("RAW-DELIMITER", "dm.csv", 1),
        ("RAW-DATE", "ae.csv", 3),
    }
    assert "';'" in _of(findings, "RAW-DELIMITER")[0].message
    assert "dm" not in raw


def test_tab_delimiter(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    raw_folder.frames["vs"].to_csv(raw_folder.file("vs"), index=False, sep="\t")
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.dataset, f.row) for f in findings] == [("RAW-DELIMITER", "vs.csv", 1)]
    assert "tab" in findings.errors[0].message


def test_latin1_bytes_name_the_line_of_the_first_bad_byte(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _break_ae_date(raw_folder)
    shutil.copyfile(BAD / "ae_latin1" / "ae.csv", raw_folder.file("cm"))  # any form: the bytes decide
    _, findings = _load_with_bad_file(raw_folder, "ae_latin1", study, forms)
    assert _rows(findings, "RAW-ENCODING") == [("ae.csv", 4, "", "0xE8"), ("cm.csv", 4, "", "0xE8")]
    assert "line 4" in findings.errors[0].message and "UTF-8" in findings.errors[0].message


def test_bad_date_fixture(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    _, findings = _load_with_bad_file(raw_folder, "ae_bad_date", study, forms)
    assert [(f.rule, f.dataset, f.row, f.variable, f.value) for f in findings] == [
        ("RAW-DATE", "ae.csv", 3, "AESTDT", "2024-02-30")
    ]


def test_duplicate_header_column(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    _break_ae_date(raw_folder)
    raw, findings = _load_with_bad_file(raw_folder, "lab_duplicate_header", study, forms)
    assert _rows(findings, "RAW-HEADER-DUP") == [("lab.csv", 1, "ORRES", "ORRES")]
    assert sorted(f.rule for f in findings) == ["RAW-DATE", "RAW-HEADER-DUP"]
    assert raw["lab"]["ORRES"].iloc[0] == "TEXT 1", "the first ORRES column is loaded"


def test_ragged_rows_name_their_lines_and_the_rest_is_loaded(
    raw_folder: RawFolder, study: Study, forms: FormCatalogue
) -> None:
    _break_ae_date(raw_folder)
    raw, findings = _load_with_bad_file(raw_folder, "mh_ragged", study, forms)
    ragged = [f for f in findings if f.rule == "RAW-RAGGED"]
    assert [(f.dataset, f.row) for f in ragged] == [("mh.csv", 4), ("mh.csv", 6)]
    assert "10 fields but the header has 9" in ragged[0].message
    assert "8 fields" in ragged[1].message
    assert sorted(f.rule for f in findings) == ["RAW-DATE", "RAW-RAGGED", "RAW-RAGGED"]
    assert raw["mh"]["_ROW"].tolist() == [2, 3, 5, 7]


def test_unclosed_quote_names_its_line(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    path = raw_folder.file("cm")
    lines = path.read_text().split("\n")
    lines[2] = lines[2].replace(",TEXT 2,", ',"TEXT 2,', 1)  # line 3 opens a quote it never closes
    path.write_text("\n".join(lines))
    findings = check_raw(raw_folder.path, study, forms)
    assert [(f.rule, f.dataset, f.row) for f in findings] == [("RAW-CSV", "cm.csv", 3)]


def test_unreadable_file(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    raw_folder.file("mri").unlink()
    raw_folder.file("mri").mkdir()  # a folder named mri.csv
    _break_ae_date(raw_folder)
    findings = check_raw(raw_folder.path, study, forms)
    assert {(f.rule, f.dataset) for f in findings} == {
        ("RAW-FILE-UNREADABLE", "mri.csv"),
        ("RAW-DATE", "ae.csv"),
    }


def test_unknown_files_are_warnings(raw_folder: RawFolder, study: Study, forms: FormCatalogue) -> None:
    (raw_folder.path / "notes.txt").write_text("hello")
    shutil.copyfile(raw_folder.file("vs"), raw_folder.path / "VS.csv")
    (raw_folder.path / ".DS_Store").write_bytes(b"\0")
    findings = check_raw(raw_folder.path, study, forms)
    assert not findings.has_errors
    assert [(f.rule, f.severity, f.dataset) for f in findings] == [
        ("RAW-FILE-UNKNOWN", Severity.WARNING, "VS.csv"),
        ("RAW-FILE-UNKNOWN", Severity.WARNING, "notes.txt"),
    ]
    assert "not a known form; ignored" in findings.of(Severity.WARNING)[1].message
    assert "expected vs.csv" in findings.of(Severity.WARNING)[0].message


def test_missing_raw_folder(tmp_path: Path, study: Study, forms: FormCatalogue) -> None:
    raw, findings = load_raw(tmp_path / "nowhere", study, forms)
    assert [(f.rule, f.severity) for f in findings] == [("RAW-DIR", Severity.ERROR)]
    assert len(raw) == 0


def test_read_form_csv_alone_keeps_text_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('A,B\n"0003",<20\n,NA\n1,2,3\n')
    text = read_form_csv(path, ("A", "B"))
    assert text.frame is not None
    assert text.frame["A"].tolist()[0] == "0003" and pd.isna(text.frame["A"].iloc[1])
    assert text.frame["B"].tolist() == ["<20", "NA"]
    assert text.lines.tolist() == [2, 3]
    assert [(f.rule, f.row, f.value) for f in text.findings] == [("RAW-RAGGED", 4, "1,2,3")]
