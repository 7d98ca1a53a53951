"""Dataset-JSON 1.1: define metadata → columns, exact values, round trips of SDTM AE and ADaM ADSL,
NDJSON, deterministic bytes and clear errors for bad input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cdisc168.adam_spec import load_adam_specs
from cdisc168.datasetjson import (
    ColumnDefinition,
    DatasetJsonError,
    dataset_json_column,
    read_dataset_json,
    to_sas_numbers,
    validate_dataset_json_file,
    write_dataset_json,
)
from cdisc168.sdtm.build import load_specs
from cdisc168.write import oids
from cdisc168.write.analysis import to_sas_values
from cdisc168.write.tabulation import dataset_metadata

CREATED = dt.datetime(2026, 3, 31)


def header(name: str, model: str = oids.SDTM) -> dict[str, Any]:
    """The keyword arguments every write takes, with the OIDs of the define.xml scheme."""
    return {
        "name": name,
        "item_group_oid": oids.item_group_oid(name),
        "study_oid": oids.study_oid("CCAR168-AID"),
        "metadata_version_oid": oids.metadata_version_oid("CCAR168-AID", model),
        "metadata_ref": "../../define.xml",
        "file_oid": oids.dataset_json_file_oid("CCAR168-AID", name),
        "created": CREATED,
        "originator": "Sponsor",
        "source_system": "cdisc168",
        "source_system_version": "1.0",
    }


def as_objects(series: pd.Series) -> list[Any]:
    """Values with every missing value as ``None`` (to compare text columns across dtypes)."""
    return [None if pd.isna(v) else v for v in series.astype(object)]


# --- SDTM AE -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ae_columns(study, forms, sdtm) -> list[ColumnDefinition]:  # type: ignore[no-untyped-def]
    """AE's define view: XPT metadata of the spec; --DTC datetime, numbers integer, keys from the spec."""
    specs = load_specs(study.mappings_dir, forms)
    frame = sdtm.datasets["AE"]
    _, variables = dataset_metadata("AE", specs, list(frame.columns))
    keys = specs["AE"].keys
    columns = []
    for v in variables:
        if v.type == "Num":
            data_type, length = "integer", None
        else:
            data_type = "datetime" if v.name.endswith("DTC") else "text"
            length = max(1, int(frame[v.name].dropna().str.len().max())) if frame[v.name].notna().any() else 1
        key = keys.index(v.name) + 1 if v.name in keys else None
        columns.append(
            ColumnDefinition(oids.item_oid("AE", v.name), v.name, v.label, data_type, length, None, key)
        )
    return columns


@pytest.fixture(scope="module")
def ae_file(tmp_path_factory, sdtm, ae_columns) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("sdtm") / "ae.json"
    write_dataset_json(sdtm.datasets["AE"], path, label="Adverse Events", columns=ae_columns, **header("AE"))
    return path


def test_sdtm_ae_is_schema_valid_and_carries_the_define_oids(ae_file: Path) -> None:
    assert validate_dataset_json_file(ae_file) == []
    document = json.loads(ae_file.read_text(encoding="utf-8"))
    assert list(document)[:4] == [
        "datasetJSONCreationDateTime",
        "datasetJSONVersion",
        "fileOID",
        "dbLastModifiedDateTime",
    ]
    assert list(document)[-3:] == ["label", "columns", "rows"]
    assert document["datasetJSONVersion"] == "1.1.0"
    # the data cut, never the wall clock
    assert (
        document["datasetJSONCreationDateTime"] == document["dbLastModifiedDateTime"] == "2026-03-31T00:00:00"
    )
    assert document["studyOID"] == "STDY.CCAR168-AID"
    assert document["metaDataVersionOID"] == "MDV.CCAR168-AID.SDTM"
    assert document["itemGroupOID"] == "IG.AE"
    assert document["fileOID"] == "DSJ.CCAR168-AID.AE"
    assert document["records"] == len(document["rows"]) == 118
    columns = {c["name"]: c for c in document["columns"]}
    # SDTM --DTC: ISO 8601 text, logical type datetime, no targetDataType (Dataset-JSON 1.1 AE example)
    assert columns["AESTDTC"] == {
        "itemOID": "IT.AE.AESTDTC",
        "name": "AESTDTC",
        "label": "Start Date/Time of Adverse Event",
        "dataType": "datetime",
        "length": 16,
        "keySequence": 3,  # AE keys: STUDYID, USUBJID, AESTDTC, AEDECOD, AESPID
    }
    assert columns["AESEQ"]["dataType"] == "integer"
    assert columns["USUBJID"]["keySequence"] == 2


def test_sdtm_ae_values_come_back(ae_file: Path, sdtm) -> None:  # type: ignore[no-untyped-def]
    frame, metadata = read_dataset_json(ae_file)
    original = sdtm.datasets["AE"]
    first = frame.iloc[0]
    # subject 01-0017's first AE: nausea from 2024-11-16 (study day -3, before the infusion day 11-19)
    assert first["USUBJID"] == "CCAR168-AID-01-0017"
    assert first["AESEQ"] == 1
    assert first["AEDECOD"] == "Nausea"
    assert first["AESTDTC"] == "2024-11-16"
    assert first["AESTDY"] == -3
    assert first["AELLTCD"] == 930000019
    assert first["AESCONG"] is None  # missing → null → None
    assert frame.iloc[2]["AESTDTC"] == "2024-11-20T21:10"  # ISO 8601 without seconds kept as collected
    assert frame["AESEQ"].dtype == "Int64" and frame["AETERM"].dtype == object
    for name in frame.columns:
        if frame[name].dtype == "Int64":
            assert frame[name].astype("float64").equals(original[name].astype("float64")), name
        else:
            assert as_objects(frame[name]) == as_objects(original[name]), name
    assert metadata["dataset"] == "AE" and metadata["rows"] == 118
    assert metadata["variables"]["AEDECOD"] == {
        "label": "Dictionary-Derived Term",
        "type": "Char",
        "length": 54,  # "Immune effector cell-associated neurotoxicity syndrome" (ICANS)
        "display_format": None,
        "data_type": "string",
        "target_data_type": None,
        "item_oid": "IT.AE.AEDECOD",
        "key_sequence": 4,
    }
    assert metadata["study_oid"] == "STDY.CCAR168-AID"
    assert metadata["metadata_version_oid"] == "MDV.CCAR168-AID.SDTM"
    assert metadata["item_group_oid"] == "IG.AE"
    assert metadata["metadata_ref"] == "../../define.xml"


def test_second_write_is_byte_identical_and_leaves_no_temporary_file(ae_file: Path, sdtm, ae_columns) -> None:  # type: ignore[no-untyped-def]
    again = ae_file.parent / "again" / "ae.json"
    write_dataset_json(sdtm.datasets["AE"], again, label="Adverse Events", columns=ae_columns, **header("AE"))
    assert again.read_bytes() == ae_file.read_bytes()
    assert ae_file.read_bytes().endswith(b"]\n}\n")
    assert [p.name for p in again.parent.iterdir()] == ["ae.json"]


# --- ADaM ADSL -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adsl_spec(study):  # type: ignore[no-untyped-def]
    return load_adam_specs(study.mappings_dir)["ADSL"]


@pytest.fixture(scope="module")
def adsl_columns(adsl_spec, adam_datasets) -> list[ColumnDefinition]:  # type: ignore[no-untyped-def]
    """ADSL's define view: numeric dates ``integer`` + DATE9./DATETIME20. (as define.xml gives them)."""
    frame = adam_datasets["ADSL"]
    columns = []
    for v in adsl_spec.variables:
        if v.type != "Num":
            data_type = "text"
        elif v.display_format:
            data_type = "integer"
        else:
            numbers = frame[v.name].dropna().to_numpy(dtype="float64")
            data_type = "integer" if (np.floor(numbers) == numbers).all() else "float"
        key = adsl_spec.keys.index(v.name) + 1 if v.name in adsl_spec.keys else None
        columns.append(
            ColumnDefinition(
                oids.item_oid("ADSL", v.name), v.name, v.label, data_type, None, v.display_format, key
            )
        )
    return columns


@pytest.fixture(scope="module")
def adsl_file(tmp_path_factory, adam_datasets, adsl_spec, adsl_columns) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("adam") / "adsl.json"
    write_dataset_json(
        adam_datasets["ADSL"], path, label=adsl_spec.label, columns=adsl_columns, **header("ADSL", oids.ADAM)
    )
    return path


def test_adam_numeric_dates_are_iso_with_target_integer(adsl_file: Path) -> None:
    assert validate_dataset_json_file(adsl_file) == []
    document = json.loads(adsl_file.read_text(encoding="utf-8"))
    columns = {c["name"]: c for c in document["columns"]}
    assert columns["TRTSDT"] == {
        "itemOID": "IT.ADSL.TRTSDT",
        "name": "TRTSDT",
        "label": "Date of First Exposure to Treatment",
        "dataType": "date",
        "targetDataType": "integer",
        "displayFormat": "DATE9.",
    }
    assert columns["TRTSDTM"]["dataType"] == "datetime" and columns["TRTSDTM"]["targetDataType"] == "integer"
    assert columns["BMIBL"]["dataType"] == "double"
    assert columns["AGE"]["dataType"] == "integer"
    assert columns["USUBJID"]["keySequence"] == 2  # ADSL keys: STUDYID, USUBJID
    row = dict(zip(columns, document["rows"][0], strict=True))
    assert row["USUBJID"] == "CCAR168-AID-01-0017"
    assert row["TRTSDT"] == "2024-11-19"  # CAR-T infusion, ISO 8601 in the file
    assert row["TRTSDTM"] == "2024-11-19T09:10:00"
    assert row["AGE"] == 30 and isinstance(row["AGE"], int)


def test_adam_values_come_back_and_match_the_xpt_numbers(adsl_file, adam_datasets, adsl_spec) -> None:  # type: ignore[no-untyped-def]
    frame, metadata = read_dataset_json(adsl_file)
    original = adam_datasets["ADSL"]
    assert frame.loc[0, "TRTSDT"] == "2024-11-19"  # values stay as in the file
    assert metadata["variables"]["TRTSDT"]["type"] == "Num"
    assert metadata["variables"]["TRTSDT"]["display_format"] == "DATE9."
    assert metadata["variables"]["TRTSDT"]["target_data_type"] == "integer"
    numbers = to_sas_numbers(frame, metadata)
    # 1960-01-01 → 2024-01-01: 64 × 365 + 16 leap days = 23376; → 2024-11-19: + 305 + 18 = 23699
    assert numbers.loc[0, "TRTSDT"] == 23699.0
    # 09:10:00 on that day: 23699 × 86400 + 33000 seconds
    assert numbers.loc[0, "TRTSDTM"] == 23699 * 86400 + 33000
    xpt_values = to_sas_values(original, adsl_spec)
    for v in adsl_spec.variables:
        if v.type == "Num":
            assert np.array_equal(
                numbers[v.name].to_numpy(dtype="float64"),
                xpt_values[v.name].to_numpy(dtype="float64"),
                equal_nan=True,
            ), v.name
        else:
            assert as_objects(frame[v.name]) == as_objects(original[v.name]), v.name
    assert metadata["metadata_version_oid"] == "MDV.CCAR168-AID.ADaM"


def test_ndjson_holds_the_same_dataset(
    tmp_path: Path, adam_datasets, adsl_spec, adsl_columns, adsl_file
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "adsl.ndjson"
    write_dataset_json(
        adam_datasets["ADSL"], path, label=adsl_spec.label, columns=adsl_columns, **header("ADSL", oids.ADAM)
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    metadata_line = json.loads(lines[0])
    assert "rows" not in metadata_line and metadata_line["records"] == len(lines) - 1 == 24
    assert json.loads(lines[1])[:2] == ["CCAR168-AID", "CCAR168-AID-01-0017"]
    assert validate_dataset_json_file(path) == []
    from_ndjson, meta_ndjson = read_dataset_json(path)
    from_json, meta_json = read_dataset_json(adsl_file)
    pd.testing.assert_frame_equal(from_ndjson, from_json)
    assert meta_ndjson == meta_json


def test_hand_written_ndjson_is_read(tmp_path: Path) -> None:
    metadata = {
        "datasetJSONCreationDateTime": "2026-03-31T00:00:00",
        "datasetJSONVersion": "1.1",
        "itemGroupOID": "IG.DM",
        "records": 2,
        "name": "DM",
        "label": "Demographics",
        "columns": [
            {
                "itemOID": "IT.DM.USUBJID",
                "name": "USUBJID",
                "label": "Unique Subject Identifier",
                "dataType": "string",
            },
            {"itemOID": "IT.DM.AGE", "name": "AGE", "label": "Age", "dataType": "integer"},
        ],
    }
    path = tmp_path / "dm.ndjson"
    path.write_text(json.dumps(metadata) + '\r\n["S-1", 56]\r\n["S-2", null]\n\n', encoding="utf-8")
    frame, meta = read_dataset_json(path)
    assert frame["USUBJID"].tolist() == ["S-1", "S-2"]
    assert frame["AGE"].tolist() == [56, pd.NA]
    assert meta["rows"] == 2 and meta["study_oid"] is None


# --- values ------------------------------------------------------------------------------------------


def write_small(path: Path, frame: pd.DataFrame, columns: list[ColumnDefinition]) -> dict[str, Any]:
    write_dataset_json(frame, path, label="Test", columns=columns, **header("XX"))
    assert validate_dataset_json_file(path) == []
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def column(name: str, data_type: str, display_format: str | None = None) -> ColumnDefinition:
    return ColumnDefinition(oids.item_oid("XX", name), name, name.title(), data_type, None, display_format)


def test_numbers_round_trip_exactly(tmp_path: Path) -> None:
    doubles = [1.0, 0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, np.nan, 1e16]
    frame = pd.DataFrame(
        {
            "AVAL": doubles,
            "AVALN": pd.array([1, 2**53, -7, None, 0, 3, 12], dtype="Int64"),
            "ASEQ": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan],  # whole floats, define integer
        }
    )
    path = tmp_path / "xx.json"
    document = write_small(
        path, frame, [column("AVAL", "float"), column("AVALN", "integer"), column("ASEQ", "integer")]
    )
    text = path.read_text(encoding="utf-8")
    assert "[1.0,1,1]" in text  # 1.0 in a double column, 1 in integer columns
    assert "[0.30000000000000004,9007199254740992,2]" in text
    assert "[-0.0,-7,3]" in text and "[1e+16,12,null]" in text
    assert [row[0] for row in document["rows"]][5] is None  # NaN → null
    assert "NaN" not in text
    back, _ = read_dataset_json(path)
    assert np.array_equal(
        back["AVAL"].to_numpy().view(np.int64)[[0, 1, 2, 3, 4, 6]],
        np.array(doubles)[[0, 1, 2, 3, 4, 6]].view(np.int64),
    )
    assert np.isnan(back.loc[5, "AVAL"])
    assert back["AVALN"].tolist() == [1, 2**53, -7, pd.NA, 0, 3, 12]
    assert back["ASEQ"].dtype == "Int64" and back["ASEQ"].tolist()[:2] == [1, 2]


def test_text_keeps_non_ascii_empty_and_missing_apart(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"AETERM": ["Kopfschmerz – Müller", "头痛", 'say "hi" \\ C:\\', "", None, "line\nbreak"]}
    )
    path = tmp_path / "xx.json"
    document = write_small(path, frame, [column("AETERM", "text")])
    text = path.read_text(encoding="utf-8")
    assert "Kopfschmerz – Müller" in text and "头痛" in text  # UTF-8, not \u escapes
    assert [row[0] for row in document["rows"]] == [
        "Kopfschmerz – Müller",
        "头痛",
        'say "hi" \\ C:\\',
        "",
        None,
        "line\nbreak",
    ]
    back, _ = read_dataset_json(path)
    assert back["AETERM"].tolist() == [
        "Kopfschmerz – Müller",
        "头痛",
        'say "hi" \\ C:\\',
        "",
        None,
        "line\nbreak",
    ]


def test_numeric_dates_in_every_form_become_iso(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "ADT": [23699.0, np.nan],  # already a SAS date
            "ADTM": pd.to_datetime(["2024-11-19 09:10:00.250", None]),
            "ATM": pd.to_timedelta(["09:10:00", None]),
            "BTM": [dt.time(23, 59, 59), None],
            "CDT": ["2024-11-19", None],  # ISO text read back from a Dataset-JSON file
        }
    )
    columns = [
        column("ADT", "integer", "DATE9."),
        column("ADTM", "integer", "DATETIME20."),
        column("ATM", "integer", "TIME8."),
        column("BTM", "time", "TIME8."),
        column("CDT", "date", "DATE9."),
    ]
    document = write_small(tmp_path / "xx.json", frame, columns)
    assert document["rows"] == [
        ["2024-11-19", "2024-11-19T09:10:00.250", "09:10:00", "23:59:59", "2024-11-19"],
        [None, None, None, None, None],
    ]
    assert [c["dataType"] for c in document["columns"]] == ["date", "datetime", "time", "time", "date"]
    back, meta = read_dataset_json(tmp_path / "xx.json")
    numbers = to_sas_numbers(back, meta)
    assert numbers.loc[0].tolist() == [23699.0, 23699 * 86400 + 33000.25, 33000.0, 86399.0, 23699.0]


def test_a_date_column_without_any_value_is_written_as_nulls(tmp_path: Path) -> None:
    """An ADaM date no subject has yet (all NaT, e.g. a death date at an early data cut) is null, not text."""
    frame = pd.DataFrame({"DTHDT": pd.to_datetime([None, None]), "ADTM": pd.Series([np.nan, np.nan])})
    columns = [column("DTHDT", "integer", "DATE9."), column("ADTM", "integer", "DATETIME20.")]
    document = write_small(tmp_path / "xx.json", frame, columns)
    assert document["rows"] == [[None, None], [None, None]]


@pytest.mark.parametrize(
    ("data_type", "display_format", "expected"),
    [
        ("text", None, ("string", None)),
        ("integer", None, ("integer", None)),
        ("float", None, ("double", None)),
        ("datetime", None, ("datetime", None)),
        ("date", None, ("date", None)),
        ("partialDatetime", None, ("string", None)),
        ("durationDatetime", None, ("string", None)),
        ("URI", None, ("URI", None)),
        ("integer", "DATE9.", ("date", "integer")),
        ("integer", "DATETIME20.", ("datetime", "integer")),
        ("float", "TIME8.", ("time", "integer")),
        ("date", "E8601DA.", ("date", "integer")),
        ("float", "8.2", ("double", None)),
    ],
)
def test_define_data_type_maps_to_dataset_json(
    data_type: str, display_format: str | None, expected: tuple[str, str | None]
) -> None:
    entry = dataset_json_column(ColumnDefinition("IT.X.V", "V", "V", data_type, 8, display_format, 1))
    assert (entry["dataType"], entry.get("targetDataType")) == expected
    # attributes in the specification's order; a numeric date has no text length (define.xml's 8 are
    # the bytes of a SAS number, fewer than the 10 characters of 2024-11-19)
    target = ["targetDataType"] if expected[1] else []
    length = [] if expected[1] else ["length"]
    display = ["displayFormat"] if display_format else []
    assert list(entry) == ["itemOID", "name", "label", "dataType", *target, *length, *display, "keySequence"]


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "columns", "message"),
    [
        (
            pd.DataFrame({"AESEQ": [1.0, 2.5]}),
            [column("AESEQ", "integer")],
            "column AESEQ: declared integer but holds non-integers (or beyond ±2**53); 1 value(s) in records 1..2, first at record 2: '2.5'",
        ),
        (
            pd.DataFrame({"AVAL": [1.0, np.inf]}),
            [column("AVAL", "float")],
            "column AVAL: infinite numbers cannot be written",
        ),
        (
            pd.DataFrame({"AVAL": ["1", "x"]}),
            [column("AVAL", "float")],
            "column AVAL: declared numeric but holds",
        ),
        (pd.DataFrame({"AETERM": ["a", 3]}), [column("AETERM", "text")], "first at record 2: '3'"),
        (pd.DataFrame({"A": ["a"]}), [column("B", "text")], "column(s) defined but not in the data: B"),
        (pd.DataFrame({"A": ["a"]}), [column("A", "boolean")], "define DataType 'boolean' is not one of"),
        (
            pd.DataFrame({"ADT": ["2024-11"]}),
            [column("ADT", "integer", "DATE9.")],
            "not a complete ISO 8601 date",
        ),
        (
            pd.DataFrame({"ATM": [90000.0]}),
            [column("ATM", "integer", "TIME8.")],
            "outside the ISO 8601 range",
        ),
        (
            pd.DataFrame({"ADT": [1.0]}),
            [column("ADT", "datetime", "DATE9.")],
            "define DataType 'datetime' does not match the date display format 'DATE9.'",
        ),
    ],
)
def test_bad_data_is_refused_and_the_old_file_kept(
    tmp_path: Path, frame: pd.DataFrame, columns: list[ColumnDefinition], message: str
) -> None:
    path = tmp_path / "xx.json"
    path.write_text("previous", encoding="utf-8")
    with pytest.raises(DatasetJsonError) as raised:
        write_dataset_json(frame, path, label="Test", columns=columns, **header("XX"))
    assert str(raised.value).startswith(f"{path}: dataset XX: ")
    assert message in str(raised.value)
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["xx.json"]


GOOD = {
    "datasetJSONCreationDateTime": "2026-03-31T00:00:00",
    "datasetJSONVersion": "1.1.0",
    "itemGroupOID": "IG.DM",
    "records": 1,
    "name": "DM",
    "label": "Demographics",
    "columns": [
        {
            "itemOID": "IT.DM.USUBJID",
            "name": "USUBJID",
            "label": "Unique Subject Identifier",
            "dataType": "string",
        },
        {"itemOID": "IT.DM.AGE", "name": "AGE", "label": "Age", "dataType": "integer"},
    ],
    "rows": [["S-1", 56]],
}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ("[1, 2]", "a Dataset-JSON file holds one JSON object, found list"),
        (
            {k: v for k, v in GOOD.items() if k not in ("columns", "label")},
            "missing required attribute(s): label, columns",
        ),
        ({**GOOD, "datasetJSONVersion": "1.0.0"}, "datasetJSONVersion '1.0.0' is not 1.1"),
        (
            {**GOOD, "rows": [["S-1"]]},
            "1 row(s) do not have one value per column (2); first: row 1 has 1 value(s)",
        ),
        ({**GOOD, "records": 3}, "records is 3 but 1 row(s) are present"),
        (
            {**GOOD, "rows": [["S-1", "56"]]},
            "column AGE (integer): 1 value(s) are not JSON integers; first at row 1: '\"56\"'",
        ),
        ({**GOOD, "rows": [["S-1", 56.5]]}, "column AGE (integer): 1 value(s) are not JSON integers"),
        ({**GOOD, "rows": [[["S-1"], 56]]}, "column USUBJID (string): 1 value(s) are not JSON strings"),
        (
            {**GOOD, "columns": [GOOD["columns"][0], {"name": "AGE"}]},
            "column 2 (AGE): missing itemOID, label, dataType",
        ),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, content: str | dict[str, Any], message: str) -> None:
    path = tmp_path / "dm.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    with pytest.raises(DatasetJsonError) as raised:
        read_dataset_json(path)
    assert str(raised.value) == f"{path}: {message}" or (
        str(raised.value).startswith(f"{path}: ") and message in str(raised.value)
    )


def test_bad_ndjson_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "dm.ndjson"
    metadata = {k: v for k, v in GOOD.items() if k != "rows"}
    path.write_text(json.dumps(metadata) + '\n["S-1", 56]\n["S-2", 4\n', encoding="utf-8")
    with pytest.raises(DatasetJsonError, match=r"dm\.ndjson: line 3 is not JSON"):
        read_dataset_json(path)


def test_validation_reports_schema_and_consistency_problems(tmp_path: Path) -> None:
    bad_type = tmp_path / "type.json"
    bad_type.write_text(
        json.dumps({**GOOD, "columns": [GOOD["columns"][0], {**GOOD["columns"][1], "dataType": "text"}]})
    )
    problems = validate_dataset_json_file(bad_type)
    assert len(problems) == 1 and problems[0].startswith(
        f"{bad_type}: $.columns[1].dataType: 'text' is not one of"
    )
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps({**GOOD, "records": 2}))
    assert validate_dataset_json_file(counts) == [f"{counts}: records is 2 but 1 row(s) are present"]
    later = tmp_path / "later.json"
    later.write_text(json.dumps({**GOOD, "dbLastModifiedDateTime": "2026-04-01T00:00:00"}))
    assert validate_dataset_json_file(later) == [
        f"{later}: dbLastModifiedDateTime 2026-04-01T00:00:00 is after datasetJSONCreationDateTime 2026-03-31T00:00:00"
    ]
    assert validate_dataset_json_file(tmp_path / "missing.json")[0].startswith(
        f"{tmp_path / 'missing.json'}: cannot be read"
    )


def test_blocks_of_rows_join_seamlessly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are converted a block at a time; block borders leave no trace in the file or in errors."""
    frame = pd.DataFrame(
        {"USUBJID": ["S-1", "S-2", "S-3", "S-4", "S-5"], "AVAL": [1.5, 2.0, np.nan, 4.25, 5.0]}
    )
    columns = [column("USUBJID", "text"), column("AVAL", "float")]
    for suffix in ("json", "ndjson"):
        whole = write_small(tmp_path / f"whole.{suffix}", frame, columns) if suffix == "json" else None
        monkeypatch.setattr("cdisc168.datasetjson._ROWS_PER_CHUNK", 2)
        write_dataset_json(
            frame, tmp_path / f"blocks.{suffix}", label="Test", columns=columns, **header("XX")
        )
        monkeypatch.undo()
        if whole is not None:
            assert (tmp_path / "blocks.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
        back, _ = read_dataset_json(tmp_path / f"blocks.{suffix}")
        assert back["USUBJID"].tolist() == ["S-1", "S-2", "S-3", "S-4", "S-5"]
        assert back["AVAL"].tolist()[3:] == [4.25, 5.0]
    monkeypatch.setattr("cdisc168.datasetjson._ROWS_PER_CHUNK", 2)
    with pytest.raises(DatasetJsonError, match=r"in records 5\.\.5, first at record 5: '5\.5'"):
        write_dataset_json(
            frame.assign(AVAL=[1.0, 2.0, 3.0, 4.0, 5.5]),
            tmp_path / "bad.json",
            label="Test",
            columns=[column("USUBJID", "text"), column("AVAL", "integer")],
            **header("XX"),
        )
