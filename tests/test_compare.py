"""Dataset compare for double programming QC: what a QC reviewer expects PROC COMPARE to tell.

The production AE is the fixture SDTM AE written as XPT v5; the QC copy is the same frame with one
deliberate change per test, so each test knows exactly which record, variable and value must show up.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from cdisc168.compare import (
    CompareError,
    DuplicateKeyError,
    compare_datasets,
    compare_frames,
    default_keys,
    write_xlsx,
)
from cdisc168.datasetjson import ColumnDefinition, write_dataset_json
from cdisc168.read_dataset import read_dataset
from cdisc168.sdtm.build import load_specs
from cdisc168.write import oids
from cdisc168.write.tabulation import dataset_metadata
from cdisc168.write.xpt import XptVariable, write_xpt

DATA_CUT = datetime(2026, 3, 31)
SUBJECT = "CCAR168-AID-01-0017"  # first AE record: AESEQ 1, AETERM "Nausea", AESTDY -3


@pytest.fixture(scope="module")
def ae_xpt(sdtm, study, forms) -> tuple[pd.DataFrame, str, list[XptVariable]]:  # type: ignore[no-untyped-def]
    """The fixture AE as written to XPT: (frame of the written variables, label, variables)."""
    specs = load_specs(study.mappings_dir, forms)
    frame = sdtm.datasets["AE"]
    label, variables = dataset_metadata("AE", specs, list(frame.columns))
    data = frame[[v.name for v in variables]].reset_index(drop=True)
    return data, label, variables


def _write_ae(folder: Path, frame: pd.DataFrame, label: str, variables: list[XptVariable]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ae.xpt"
    write_xpt(frame, path, "AE", label, variables, DATA_CUT)
    return path


@pytest.fixture(scope="module")
def production(ae_xpt, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    return _write_ae(tmp_path_factory.mktemp("production"), frame, label, variables)


def _row(frame: pd.DataFrame, usubjid: str, seq: float) -> int:
    return int(np.flatnonzero((frame["USUBJID"] == usubjid) & (frame["AESEQ"] == seq))[0])


def test_identical_copy_is_equal(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    result = compare_datasets(production, _write_ae(tmp_path, frame.copy(), label, variables))
    assert result.equal
    assert result.keys == ("STUDYID", "USUBJID", "AESEQ")
    assert result.key_source == "default SDTM keys"
    assert (result.base.records, result.compare.records, result.matched) == (118, 118, 118)
    assert len(result.variables_compared) == 36 - 3  # every AE variable except the three keys
    assert "Result                            EQUAL" in result.summary_text()


def test_one_changed_value_is_found_with_its_key(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    qc = frame.copy()
    qc.loc[_row(qc, SUBJECT, 1.0), "AETERM"] = "Vomiting"
    result = compare_datasets(production, _write_ae(tmp_path, qc, label, variables))
    assert not result.equal
    assert result.values_differing == 1
    (difference,) = result.values
    assert (difference.variable, difference.type, difference.count) == ("AETERM", "Char", 1)
    assert difference.listing.to_dict("records") == [
        {
            "STUDYID": "CCAR168-AID",
            "USUBJID": SUBJECT,
            "AESEQ": 1.0,
            "BASE": "Nausea",
            "COMPARE": "Vomiting",
        }
    ]
    text = result.summary_text()
    assert "AETERM (Char): 1 of 118 matched records differ" in text
    assert f"CCAR168-AID {SUBJECT}     1 Nausea Vomiting" in text  # AESEQ 1, not 1.0


def test_missing_record_is_found_by_its_key(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    row = _row(frame, SUBJECT, 3.0)
    qc = frame.drop(index=row).reset_index(drop=True)
    result = compare_datasets(production, _write_ae(tmp_path, qc, label, variables))
    assert (result.only_in_base_count, result.only_in_compare_count, result.matched) == (1, 0, 117)
    assert result.only_in_base[["USUBJID", "AESEQ"]].to_dict("records") == [
        {"USUBJID": SUBJECT, "AESEQ": 3.0}
    ]
    assert result.only_in_base.loc[0, "AETERM"] == frame.loc[row, "AETERM"]
    assert result.values == ()
    assert "Records only in BASE: 1" in result.summary_text()


def test_changed_labels_are_attribute_differences(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, _, variables = ae_xpt
    relabelled = [
        XptVariable(v.name, "Reported Term", v.type) if v.name == "AETERM" else v for v in variables
    ]
    result = compare_datasets(production, _write_ae(tmp_path, frame, "Adverse Event", relabelled))
    assert not result.equal
    assert [(a.variable, a.attribute, a.base, a.compare) for a in result.attributes] == [
        ("", "label", "Adverse Events", "Adverse Event"),
        ("AETERM", "label", "Reported Term for the Adverse Event", "Reported Term"),
    ]
    assert result.values == ()


def test_lengths_and_formats_are_compared(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    qc = frame.copy()
    # a longer AESPID makes the written length (= longest value, FDA) differ as well as the value
    qc.loc[0, "AESPID"] = "AE-001-EXTRA"
    formatted = [
        XptVariable(v.name, v.label, v.type, display_format="8.") if v.name == "AESTDY" else v
        for v in variables
    ]
    result = compare_datasets(production, _write_ae(tmp_path, qc, label, formatted))
    found = {(a.variable, a.attribute): (a.base, a.compare) for a in result.attributes}
    assert found[("AESTDY", "display_format")] == ("", "8.")
    assert found[("AESPID", "length")] == (6, 12)  # AE-001 .. AE-nnn against AE-001-EXTRA
    assert [v.variable for v in result.values] == ["AESPID"]


def test_tolerance_hides_a_rounding_difference_and_zero_shows_it() -> None:
    base = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "AVAL": [0.3, 1.5]})
    qc = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "AVAL": [0.1 + 0.2, 1.5]})  # 0.30000000000000004
    exact = compare_frames(base, None, qc, None, keys=["USUBJID"], tolerance=0.0)
    (difference,) = exact.values
    assert (difference.variable, difference.count) == ("AVAL", 1)
    assert difference.listing.loc[0, "USUBJID"] == "S-1"
    assert difference.max_difference == pytest.approx(5.55e-17, rel=0.01)
    assert compare_frames(base, None, qc, None, keys=["USUBJID"], tolerance=1e-9).equal


def test_missing_equals_missing_and_trailing_blanks_and_empty_text_are_ignored() -> None:
    base = pd.DataFrame({"X": ["A", None, "C "], "Y": [np.nan, 1.0, 2.0]})
    qc = pd.DataFrame({"X": ["A  ", "", "C"], "Y": [np.nan, 1.0, np.nan]})
    result = compare_frames(base, None, qc, None)
    assert result.key_source == "no keys given and none could be derived"
    (difference,) = result.values  # only Y on record 3: 2 against missing
    assert difference.listing.to_dict("records")[0]["OBS"] == 3
    assert np.isnan(difference.listing.loc[0, "COMPARE"])
    assert "  OBS BASE COMPARE DIFF\n    3    2       .    .\n" in result.summary_text()


def test_variables_only_in_one_and_type_conflicts(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    qc = frame.drop(columns=["AEENTPT"]).assign(
        AESTDY=frame["AESTDY"].map(lambda d: None if pd.isna(d) else f"{d:g}")
    )
    qc["AEXTRA"] = "x"
    qc_variables = [
        XptVariable(v.name, v.label, "Char") if v.name == "AESTDY" else v
        for v in variables
        if v.name != "AEENTPT"
    ]
    qc_variables.append(XptVariable("AEXTRA", "Extra", "Char"))
    result = compare_datasets(production, _write_ae(tmp_path, qc, label, qc_variables))
    assert result.only_in_base_variables == ("AEENTPT",)
    assert result.only_in_compare_variables == ("AEXTRA",)
    assert result.type_conflicts == ("AESTDY",)
    assert "AESTDY" not in result.variables_compared
    assert result.values == ()


def test_duplicate_keys_are_an_error_naming_the_key_values(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    qc = frame.copy()
    qc.loc[_row(qc, SUBJECT, 2.0), "AESEQ"] = 1.0
    qc_path = _write_ae(tmp_path, qc, label, variables)
    with pytest.raises(DuplicateKeyError) as raised:
        compare_datasets(production, qc_path)
    message = str(raised.value)
    assert message.startswith(f"{qc_path}: 1 key value(s) of STUDYID, USUBJID, AESEQ occur more than once")
    assert f"USUBJID='{SUBJECT}', AESEQ=1.0" in message
    assert message.endswith("(these are the default SDTM keys; give the keys that identify a record)")


def test_bad_inputs_are_clear_errors(production: Path, tmp_path: Path) -> None:
    with pytest.raises(CompareError, match=r"nothere\.xpt: no such file"):
        compare_datasets(production, tmp_path / "nothere.xpt")
    broken = tmp_path / "ae.xpt"
    broken.write_bytes(b"not a transport file" * 4)
    with pytest.raises(CompareError, match=r"ae\.xpt: cannot be read as xpt"):
        compare_datasets(broken, production)
    with pytest.raises(CompareError, match="is a folder, not a dataset file"):
        compare_datasets(production, tmp_path)
    with pytest.raises(CompareError, match=r"unknown dataset file type '\.sas7bdat'"):
        compare_datasets(production, tmp_path / "ae.sas7bdat")
    with pytest.raises(CompareError, match=r"key variable\(s\) not in the file: AEXXX"):
        compare_datasets(production, production, keys=["USUBJID", "AEXXX"])
    with pytest.raises(CompareError, match="tolerance must be a finite number >= 0, got -1"):
        compare_datasets(production, production, tolerance=-1)


def test_default_keys_follow_the_sdtm_natural_keys() -> None:
    ae = ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM"]
    assert default_keys("AE", ae, ae) == ("STUDYID", "USUBJID", "AESEQ")
    assert default_keys("DM", ["STUDYID", "USUBJID", "AGE"], ["STUDYID", "USUBJID"]) == ("STUDYID", "USUBJID")
    supp = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL"]
    assert default_keys("SUPPAE", supp, supp) == (
        "STUDYID",
        "RDOMAIN",
        "USUBJID",
        "IDVAR",
        "IDVARVAL",
        "QNAM",
    )
    adlb = ["STUDYID", "USUBJID", "PARAMCD", "AVISIT", "AVAL"]
    assert default_keys("ADLB", adlb, adlb) == ()  # BDS keys are not guessable: record number
    adae = ["STUDYID", "USUBJID", "AESEQ", "AEDECOD", "TRTEMFL"]
    assert default_keys("ADAE", adae, adae) == ()  # an ADaM copy of --SEQ is not taken as a key
    assert default_keys("AE", ae, [c for c in ae if c != "AESEQ"]) == ()


def test_csv_and_parquet_of_the_same_data_are_equal(ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = ae_xpt[0]
    frame.to_csv(tmp_path / "ae.csv", index=False)
    frame.to_parquet(tmp_path / "ae.parquet", index=False)
    _, csv_meta = read_dataset(tmp_path / "ae.csv")
    assert csv_meta["variables"]["AESEQ"]["type"] == "Num"
    assert csv_meta["variables"]["AETOXGR"]["type"] == "Num"  # "1".."5" in the CSV: inferred numeric
    assert csv_meta["variables"]["USUBJID"] == {
        "label": "",
        "type": "Char",
        "length": len(SUBJECT),
        "display_format": None,
    }
    result = compare_datasets(tmp_path / "ae.parquet", tmp_path / "ae.csv")
    assert result.equal, result.summary_text()
    assert result.attributes_not_compared == ("label", "type", "length", "display_format")
    assert result.keys == ("STUDYID", "USUBJID", "AESEQ")


def test_csv_keeps_leading_zeros_as_text(tmp_path: Path) -> None:
    path = tmp_path / "dm.csv"
    path.write_text("SITEID,AGE,ARM\n01,34,A\n02,,B\n", encoding="utf-8")
    frame, meta = read_dataset(path)
    assert frame["SITEID"].tolist() == ["01", "02"]
    assert frame["AGE"].tolist()[0] == 34.0 and np.isnan(frame["AGE"].tolist()[1])
    assert [meta["variables"][c]["type"] for c in frame.columns] == ["Char", "Num", "Char"]
    assert meta["dataset"] == "DM"


def test_xpt_against_csv_compares_values_with_the_xpt_types(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = ae_xpt[0].copy()
    frame.loc[_row(frame, SUBJECT, 1.0), "AESTDY"] = -4.0
    frame.to_csv(tmp_path / "ae.csv", index=False)
    result = compare_datasets(production, tmp_path / "ae.csv")
    assert result.attributes == ()  # AETOXGR is Char in the XPT: the CSV's "1".."5" are read as text
    (difference,) = result.values
    assert (difference.variable, difference.listing.loc[0, "BASE"], difference.listing.loc[0, "COMPARE"]) == (
        "AESTDY",
        -3.0,
        -4.0,
    )


def test_xlsx_has_the_five_sheets_and_the_same_bytes_twice(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    qc = frame.drop(index=_row(frame, SUBJECT, 3.0)).reset_index(drop=True)
    qc.loc[_row(qc, SUBJECT, 1.0), "AETERM"] = "Vomiting"
    result = compare_datasets(production, _write_ae(tmp_path / "qc", qc, label, variables))
    first = write_xlsx(result, tmp_path / "one.xlsx")
    second = write_xlsx(result, tmp_path / "two.xlsx")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        core = archive.read("docProps/core.xml").decode()
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "1980-01-01T00:00:00Z" in core and "2026" not in core
    workbook = load_workbook(first, read_only=True)
    assert workbook.sheetnames == ["Summary", "Attributes", "Only In Base", "Only In Compare", "Values"]
    summary = dict(workbook["Summary"].iter_rows(min_row=2, values_only=True))
    assert (summary["Records only in BASE"], summary["Values differing"], summary["Result"]) == (
        1,
        1,
        "NOT EQUAL",
    )
    values = list(workbook["Values"].iter_rows(values_only=True))
    assert values == [
        ("VARIABLE", "STUDYID", "USUBJID", "AESEQ", "BASE", "COMPARE", "DIFF"),
        ("AETERM", "CCAR168-AID", SUBJECT, 1, "Nausea", "Vomiting", None),
    ]
    only = list(workbook["Only In Base"].iter_rows(max_row=2, max_col=4, values_only=True))
    assert only == [("STUDYID", "DOMAIN", "USUBJID", "AESEQ"), ("CCAR168-AID", "AE", SUBJECT, 3)]
    attributes = next(workbook["Attributes"].iter_rows(values_only=True))
    assert attributes == ("VARIABLE", "ATTRIBUTE", "BASE", "COMPARE")
    header = next(workbook["Only In Compare"].iter_rows(values_only=True))
    assert header[:2] == ("STUDYID", "DOMAIN")


def _json_columns(
    dataset: str, variables: list[XptVariable], lengths: dict[str, int]
) -> list[ColumnDefinition]:
    """Dataset-JSON columns as the define generator gives them: text, integer, or a SAS-formatted date."""
    return [
        ColumnDefinition(
            item_oid=oids.item_oid(dataset, v.name),
            name=v.name,
            label=v.label,
            data_type="text" if v.type == "Char" else ("date" if v.display_format == "DATE9." else "integer"),
            length=lengths[v.name],
            display_format=v.display_format,
        )
        for v in variables
    ]


def _write_json(
    path: Path, frame: pd.DataFrame, dataset: str, label: str, columns: list[ColumnDefinition]
) -> Path:
    write_dataset_json(
        frame,
        path,
        name=dataset,
        label=label,
        columns=columns,
        item_group_oid=oids.item_group_oid(dataset),
        study_oid=oids.study_oid("CCAR168-AID"),
        metadata_version_oid=oids.metadata_version_oid("CCAR168-AID", "SDTM"),
        metadata_ref="define.xml",
        file_oid=oids.dataset_json_file_oid("CCAR168-AID", dataset),
        created=DATA_CUT,
        originator="QC",
        source_system="cdisc168",
        source_system_version="0.1.0",
    )
    return path


def test_dataset_json_against_xpt(production: Path, ae_xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, label, variables = ae_xpt
    lengths = write_xpt(frame, tmp_path / "ae.xpt", "AE", label, variables, DATA_CUT)
    qc = frame.copy()
    qc.loc[_row(qc, SUBJECT, 1.0), "AEDECOD"] = "Vomiting"
    columns = _json_columns("AE", variables, lengths)
    assert compare_datasets(production, _write_json(tmp_path / "ae.json", frame, "AE", label, columns)).equal
    result = compare_datasets(production, _write_json(tmp_path / "ae.ndjson", qc, "AE", label, columns))
    (difference,) = result.values
    assert difference.listing[["USUBJID", "AESEQ", "BASE", "COMPARE"]].to_dict("records") == [
        {"USUBJID": SUBJECT, "AESEQ": 1.0, "BASE": "Nausea", "COMPARE": "Vomiting"}
    ]


def test_adam_numeric_dates_in_dataset_json_compare_as_sas_numbers(tmp_path: Path) -> None:
    # TRTSDT 2024-11-19 is SAS day 23699 (days since 1960-01-01) in the XPT, ISO text in the JSON
    frame = pd.DataFrame({"USUBJID": ["CCAR168-AID-01-0017"], "TRTSDT": [23699.0]})
    variables = [
        XptVariable("USUBJID", "Unique Subject Identifier", "Char"),
        XptVariable("TRTSDT", "Date of First Exposure to Treatment", "Num", display_format="DATE9."),
    ]
    lengths = write_xpt(
        frame, tmp_path / "adsl.xpt", "ADSL", "Subject-Level Analysis Dataset", variables, DATA_CUT
    )
    columns = _json_columns("ADSL", variables, lengths)
    json_path = _write_json(tmp_path / "adsl.json", frame, "ADSL", "Subject-Level Analysis Dataset", columns)
    assert '"2024-11-19"' in json_path.read_text(encoding="utf-8")
    result = compare_datasets(tmp_path / "adsl.xpt", json_path)
    assert result.equal, result.summary_text()
    assert result.keys == ("USUBJID",)


def test_listing_is_capped_but_counts_are_complete() -> None:
    base = pd.DataFrame({"USUBJID": ["S-1", "S-2", "S-3"], "AVALC": ["A", "B", "C"]})
    qc = base.assign(AVALC=["X", "Y", "Z"])
    result = compare_frames(base, None, qc, None, keys=["USUBJID"], max_listing=2)
    (difference,) = result.values
    assert difference.count == 3
    assert difference.listing["USUBJID"].tolist() == ["S-1", "S-2"]
    assert "AVALC (Char): 3 of 3 matched records differ (first 2 shown)" in result.summary_text()
