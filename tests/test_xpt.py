"""SAS XPORT v5 writer: FDA rules checked before writing, v5 layout, lengths, fixed timestamps.

Files are read back with ``pandas.read_sas(format="xport")`` (an independent reader), with pyreadstat,
and byte by byte against the TS-140 layout (``reference/xpt_v5_layout.md``).
"""

from __future__ import annotations

import struct
import time
from datetime import datetime
from datetime import time as clock
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from cdisc168.findings import Severity
from cdisc168.write.xpt import (
    XptError,
    XptLayoutError,
    XptVariable,
    check_xpt_metadata,
    read_xpt,
    sas_date,
    sas_datetime,
    sas_time,
    write_xpt,
)
from cdisc168.write.xpt_header import read_xpt_header, stamp_xpt_timestamps

DATA_CUT = datetime(2024, 6, 30, 23, 59, 1)
SAS_SAMPLE = Path("/work/shared/reference/xpt_samples/ae.xpt")
NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")  # TS-140, 140 bytes per variable

ADLB_VARIABLES = [
    XptVariable("STUDYID", "Study Identifier", "Char"),
    XptVariable("USUBJID", "Unique Subject Identifier", "Char", length=20),
    XptVariable("PARAMCD", "Parameter Code", "Char"),
    XptVariable("AVAL", "Analysis Value", "Num"),
    XptVariable("ADT", "Analysis Date", "Num", display_format="DATE9."),
    XptVariable("ADTM", "Analysis Datetime", "Num", display_format="DATETIME20."),
    XptVariable("ATM", "Analysis Time", "Num", display_format="TIME8."),
    XptVariable("AVALC", "Analysis Value (C)", "Char"),
]


def adlb() -> pd.DataFrame:
    """Three records of subject 168-001; the second has every optional value missing."""
    moments = pd.Series(
        pd.to_datetime(["2024-03-01T08:30:15", None, "1959-12-31T23:00:00"], format="ISO8601")
    )
    return pd.DataFrame(
        {
            "STUDYID": ["C-CAR168"] * 3,
            "USUBJID": ["C-CAR168-168-001", "C-CAR168-168-001", "C-CAR168-168-001"],
            "PARAMCD": ["ALT", "AST", "CRP"],
            "AVAL": [0.1, np.nan, -123456.789e-3],
            "ADT": sas_date(moments),
            "ADTM": sas_datetime(moments),
            "ATM": sas_time(moments),
            "AVALC": ["0.1", None, "ABNORMAL HIGH  "],  # trailing blanks are not part of a SAS value
        }
    )


def namestrs(path: Path) -> list[tuple]:
    """NAMESTR records straight from the bytes (TS-140), independent of the code under test."""
    data = path.read_bytes()
    nvars = int(data[7 * 80 + 54 : 7 * 80 + 58])
    block = data[8 * 80 : 8 * 80 + nvars * 140]
    return [NAMESTR.unpack(block[i : i + 140]) for i in range(0, len(block), 140)]


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "adlb.xpt"
    lengths = write_xpt(adlb(), path, "ADLB", "Laboratory Analysis Dataset", ADLB_VARIABLES, DATA_CUT)
    return path, lengths


# --- file layout -------------------------------------------------------------------------------


def test_file_is_transport_version_5_not_version_8(written: tuple[Path, dict[str, int]]) -> None:
    path, _ = written
    data = path.read_bytes()
    records = [data[i : i + 80] for i in range(0, len(data), 80)]
    assert len(data) % 80 == 0
    assert records[0] == b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000  "
    assert records[1].startswith(b"SAS     SAS     SASLIB  ")
    assert records[3] == b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  "
    assert records[4] == b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000  "
    assert records[5].startswith(b"SAS     ADLB    SASDATA ")
    assert records[7] == b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000000800000000000000000000  "
    for v8_marker in (b"LIBV8", b"MEMBV8", b"DSCPTV8", b"NAMSTV8", b"OBSV8", b"LABELV8", b"LABELV9"):
        assert v8_marker not in data


def test_version_8_file_is_refused_by_reader_and_timestamp_patcher(tmp_path: Path) -> None:
    path = tmp_path / "v8.xpt"
    pyreadstat.write_xport(pd.DataFrame({"A": ["x"]}), str(path), table_name="V8", file_format_version=8)
    with pytest.raises(XptLayoutError, match="version 8"):
        stamp_xpt_timestamps(path.read_bytes(), DATA_CUT)
    with pytest.raises(XptLayoutError, match="version 8"):
        read_xpt(path)


def test_timestamp_patcher_refuses_an_unexpected_layout(written: tuple[Path, dict[str, int]]) -> None:
    path, _ = written
    data = bytearray(path.read_bytes())
    data[80:83] = b"XYZ"  # library real header no longer starts with SAS
    with pytest.raises(XptLayoutError, match="library real header 1 at byte 80"):
        stamp_xpt_timestamps(bytes(data), DATA_CUT)
    data = bytearray(path.read_bytes())
    data[80 + 64 : 80 + 80] = b"not a timestamp!"
    with pytest.raises(XptLayoutError, match="library header created at byte 144"):
        stamp_xpt_timestamps(bytes(data), DATA_CUT)


# --- values round trip -------------------------------------------------------------------------


def test_round_trip_through_pandas_read_sas_gives_the_same_values(
    written: tuple[Path, dict[str, int]],
) -> None:
    path, _ = written
    back = pd.read_sas(path, format="xport", encoding="ascii")
    expected = adlb()
    assert list(back.columns) == [v.name for v in ADLB_VARIABLES]
    for name in ("AVAL", "ADT", "ADTM", "ATM"):
        # IBM floats hold every IEEE double in range exactly (xpt_v5_layout.md §6); NaN → '.' → NaN
        np.testing.assert_array_equal(back[name].to_numpy(), expected[name].to_numpy())
    assert back["ADT"].tolist()[0] == 23436.0  # 2024-03-01 is 23436 days after 1960-01-01
    assert back["ADT"].tolist()[2] == -1.0  # 1959-12-31
    assert back["STUDYID"].tolist() == ["C-CAR168"] * 3
    assert back["PARAMCD"].tolist() == ["ALT", "AST", "CRP"]
    assert back["AVALC"].tolist() == ["0.1", "", "ABNORMAL HIGH"]  # missing text is blank


def test_round_trip_through_pyreadstat_and_read_xpt(written: tuple[Path, dict[str, int]]) -> None:
    path, _ = written
    frame, metadata = read_xpt(path)
    expected = adlb()
    np.testing.assert_array_equal(frame["AVAL"].to_numpy(), expected["AVAL"].to_numpy())
    np.testing.assert_array_equal(frame["ADTM"].to_numpy(), expected["ADTM"].to_numpy())
    assert frame["AVALC"].iloc[0] == "0.1"
    assert pd.isna(frame["AVALC"].iloc[1])
    assert frame["AVALC"].iloc[2] == "ABNORMAL HIGH"
    assert metadata["rows"] == 3
    raw, _ = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    assert raw["USUBJID"].tolist() == expected["USUBJID"].tolist()


def test_random_doubles_survive_the_ibm_float_conversion(tmp_path: Path) -> None:
    rng = np.random.default_rng(168)
    values = np.concatenate(
        [
            rng.normal(0, 1e6, 200),
            rng.uniform(-1, 1, 200) * 10.0 ** rng.integers(-70, 70, 200),
            [-0.5, 9.0e74, 16.0**-65],  # near the limits pyreadstat writes exactly
        ]
    )
    path = tmp_path / "num.xpt"
    write_xpt(pd.DataFrame({"X": values}), path, "NUM", "Numbers", [XptVariable("X", "X", "Num")], DATA_CUT)
    np.testing.assert_array_equal(pd.read_sas(path, format="xport")["X"].to_numpy(), values)
    np.testing.assert_array_equal(read_xpt(path)[0]["X"].to_numpy(), values)


def test_zero_is_written_as_ibm_zero(tmp_path: Path) -> None:
    path = tmp_path / "num.xpt"
    write_xpt(
        pd.DataFrame({"X": [0.0, -0.0]}), path, "NUM", "Numbers", [XptVariable("X", "X", "Num")], DATA_CUT
    )
    data = path.read_bytes()
    observations = read_xpt_header(data).observations_offset
    assert data[observations : observations + 16] == bytes(16)  # TS-140: zero is eight 0x00 bytes
    assert read_xpt(path)[0]["X"].tolist() == [0.0, 0.0]
    # pandas reads IBM zero as the smallest IBM float (pandas-dev/pandas#50670): never use it to validate.
    assert pd.read_sas(path, format="xport")["X"].tolist() == [16.0**-65, 16.0**-65]


def test_dataset_and_variable_labels_and_formats_are_read_back(written: tuple[Path, dict[str, int]]) -> None:
    path, _ = written
    _, metadata = read_xpt(path)
    assert metadata["dataset"] == "ADLB"
    assert metadata["label"] == "Laboratory Analysis Dataset"
    assert {n: v["label"] for n, v in metadata["variables"].items()} == {
        v.name: v.label for v in ADLB_VARIABLES
    }
    assert metadata["variables"]["ADT"]["display_format"] == "DATE9."
    assert metadata["variables"]["ADTM"]["display_format"] == "DATETIME20."
    assert metadata["variables"]["ATM"]["display_format"] == "TIME8."
    _, meta = pyreadstat.read_xport(str(path))  # a second reader agrees
    assert meta.file_label == "Laboratory Analysis Dataset"
    assert meta.table_name == "ADLB"
    assert meta.column_labels == [v.label for v in ADLB_VARIABLES]
    assert meta.original_variable_types["ADT"] == "DATE9"


# --- lengths -----------------------------------------------------------------------------------


def test_character_length_is_the_longest_value(written: tuple[Path, dict[str, int]]) -> None:
    path, lengths = written
    on_disk = {rec[4].decode().strip(): (rec[0], rec[2]) for rec in namestrs(path)}
    # USUBJID: 'C-CAR168-168-001' = 16 (below its declared maximum 20); AVALC: 'ABNORMAL HIGH' = 13
    # once the trailing blanks are gone; numerics are 8.
    assert on_disk == {
        "STUDYID": (2, 8),
        "USUBJID": (2, 16),
        "PARAMCD": (2, 3),
        "AVAL": (1, 8),
        "ADT": (1, 8),
        "ADTM": (1, 8),
        "ATM": (1, 8),
        "AVALC": (2, 13),
    }
    assert lengths == {name: length for name, (_, length) in on_disk.items()}
    _, metadata = read_xpt(path)
    assert {n: v["length"] for n, v in metadata["variables"].items()} == lengths


def test_all_missing_character_variable_has_length_1(tmp_path: Path) -> None:
    frame = pd.DataFrame({"STUDYID": ["S1", "S1"], "AECONTRT": [None, np.nan]})
    variables = [
        XptVariable("STUDYID", "Study Identifier", "Char"),
        XptVariable("AECONTRT", "Concomitant", "Char"),
    ]
    lengths = write_xpt(frame, tmp_path / "ae.xpt", "AE", "Adverse Events", variables, DATA_CUT)
    assert lengths == {"STUDYID": 2, "AECONTRT": 1}
    assert [rec[2] for rec in namestrs(tmp_path / "ae.xpt")] == [2, 1]


def test_empty_dataset_is_written_with_its_variables(tmp_path: Path) -> None:
    frame = pd.DataFrame({"STUDYID": pd.Series([], dtype="str"), "AESEQ": pd.Series([], dtype="float64")})
    variables = [
        XptVariable("STUDYID", "Study Identifier", "Char"),
        XptVariable("AESEQ", "Sequence Number", "Num"),
    ]
    lengths = write_xpt(frame, tmp_path / "ae.xpt", "AE", "Adverse Events", variables, DATA_CUT)
    assert lengths == {"STUDYID": 1, "AESEQ": 8}
    back, metadata = read_xpt(tmp_path / "ae.xpt")
    assert back.empty
    assert list(metadata["variables"]) == ["STUDYID", "AESEQ"]


def test_arrow_categorical_and_nullable_columns_are_written_like_plain_ones(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "USUBJID": pd.Series(["168-001", None, "168-003"], dtype="string[pyarrow]"),
            "ARM": pd.Categorical(["DL1", "DL2", None]),
            "AGE": pd.array([54, None, 61], dtype="Int64"),
        }
    )
    variables = [
        XptVariable("USUBJID", "Unique Subject Identifier", "Char"),
        XptVariable("ARM", "Description of Planned Arm", "Char"),
        XptVariable("AGE", "Age", "Num"),
    ]
    lengths = write_xpt(frame, tmp_path / "dm.xpt", "DM", "Demographics", variables, DATA_CUT)
    assert lengths == {"USUBJID": 7, "ARM": 3, "AGE": 8}
    back = pd.read_sas(tmp_path / "dm.xpt", format="xport", encoding="ascii")
    assert back["USUBJID"].tolist() == ["168-001", "", "168-003"]
    assert back["ARM"].tolist() == ["DL1", "DL2", ""]
    np.testing.assert_array_equal(back["AGE"].to_numpy(), [54.0, np.nan, 61.0])


def test_trailing_blanks_of_labels_are_padding(tmp_path: Path) -> None:
    variables = [XptVariable("STUDYID", "Study Identifier   ", "Char")]
    frame = pd.DataFrame({"STUDYID": ["C-CAR168"]})
    write_xpt(frame, tmp_path / "ts.xpt", "TS", "Trial Summary  ", variables, DATA_CUT)
    _, metadata = read_xpt(tmp_path / "ts.xpt")
    assert metadata["label"] == "Trial Summary"
    assert metadata["variables"]["STUDYID"]["label"] == "Study Identifier"


# --- reproducibility ---------------------------------------------------------------------------


def test_timestamps_are_the_data_cut_and_rebuilds_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    write_xpt(adlb(), first / "adlb.xpt", "ADLB", "Laboratory Analysis Dataset", ADLB_VARIABLES, DATA_CUT)
    time.sleep(1.1)  # the wall clock has moved on by at least one second
    write_xpt(adlb(), second / "adlb.xpt", "ADLB", "Laboratory Analysis Dataset", ADLB_VARIABLES, DATA_CUT)
    data = (first / "adlb.xpt").read_bytes()
    assert data == (second / "adlb.xpt").read_bytes()
    # library created/modified, member created/modified (xpt_v5_layout.md §3)
    for offset in (80 + 64, 160, 400 + 64, 480):
        assert data[offset : offset + 16] == b"30JUN24:23:59:01"
    header = read_xpt_header(data)
    assert header.created == header.modified == header.library_created == header.library_modified == DATA_CUT
    _, meta = pyreadstat.read_xport(str(first / "adlb.xpt"))
    assert meta.creation_time == meta.modification_time == DATA_CUT


def test_write_replaces_an_existing_file_atomically(written: tuple[Path, dict[str, int]]) -> None:
    path, _ = written
    before = path.read_bytes()
    smaller = adlb().iloc[:1]
    write_xpt(smaller, path, "ADLB", "Laboratory Analysis Dataset", ADLB_VARIABLES, DATA_CUT)
    assert path.read_bytes() != before
    assert [p.name for p in path.parent.iterdir()] == ["adlb.xpt"]  # no temporary file left behind
    with pytest.raises(XptError):
        write_xpt(smaller.assign(AVALC="Sjögren"), path, "ADLB", "Lab", ADLB_VARIABLES, DATA_CUT)
    assert len(read_xpt(path)[0]) == 1  # the previous file is untouched
    assert [p.name for p in path.parent.iterdir()] == ["adlb.xpt"]


def test_writer_does_not_change_the_given_frame(tmp_path: Path) -> None:
    frame = adlb()
    copy = frame.copy()
    write_xpt(frame, tmp_path / "adlb.xpt", "ADLB", "Laboratory Analysis Dataset", ADLB_VARIABLES, DATA_CUT)
    pd.testing.assert_frame_equal(frame, copy)


# --- checks before writing ---------------------------------------------------------------------


def test_a_conformant_dataset_has_no_findings() -> None:
    assert check_xpt_metadata("ADLB", "Laboratory Analysis Dataset", adlb(), ADLB_VARIABLES) == []


def test_variable_name_of_9_characters_is_refused(tmp_path: Path) -> None:
    variables = [*ADLB_VARIABLES[:-1], XptVariable("AVALCHAR1", "Analysis Value (C)", "Char")]
    frame = adlb().rename(columns={"AVALC": "AVALCHAR1"})
    with pytest.raises(XptError) as raised:
        write_xpt(frame, tmp_path / "adlb.xpt", "ADLB", "Laboratory Analysis Dataset", variables, DATA_CUT)
    [finding] = raised.value.findings
    assert (finding.rule, finding.variable, finding.severity) == ("XPT-NAME", "AVALCHAR1", Severity.ERROR)
    assert "ADLB.AVALCHAR1" in finding.message
    assert not (tmp_path / "adlb.xpt").exists()


def test_dataset_name_and_lower_case_names_are_refused() -> None:
    variables = [XptVariable("usubjid", "Unique Subject Identifier", "Char")]
    frame = pd.DataFrame({"usubjid": ["1"]})
    rules = {(f.rule, f.variable) for f in check_xpt_metadata("ADLBHEMAT", "Lab", frame, variables)}
    assert rules == {("XPT-NAME", ""), ("XPT-NAME", "usubjid")}


def test_label_of_41_characters_is_refused() -> None:
    label = "A" * 41
    variables = [*ADLB_VARIABLES[:3], XptVariable("AVAL", label, "Num"), *ADLB_VARIABLES[4:]]
    findings = check_xpt_metadata("ADLB", label, adlb(), variables)
    assert {(f.rule, f.variable) for f in findings} == {("XPT-LABEL", ""), ("XPT-LABEL", "AVAL")}
    assert any("ADLB.AVAL: variable label has 41 characters" in f.message for f in findings)
    assert any(f.message.startswith("ADLB: dataset label has 41 characters") for f in findings)


def test_non_ascii_value_is_reported_with_dataset_variable_row_and_value() -> None:
    frame = adlb().assign(AVALC=["0.1", "Sjögren syndrome", "Sjögren"])
    [finding] = check_xpt_metadata("ADLB", "Laboratory Analysis Dataset", frame, ADLB_VARIABLES)
    assert (finding.rule, finding.dataset, finding.variable, finding.row) == ("XPT-ASCII", "ADLB", "AVALC", 2)
    assert finding.value == "Sjögren syndrome"
    assert "ADLB.AVALC" in finding.message
    assert "2 value(s)" in finding.message
    assert "row 2" in finding.message
    assert "'Sjögren syndrome'" in finding.message


def test_non_ascii_label_and_control_characters_are_refused() -> None:
    variables = [XptVariable("AETERM", "Reported Term – verbatim", "Char")]
    frame = pd.DataFrame({"AETERM": ["HEADACHE", "NAUSEA\tMILD"]})
    findings = check_xpt_metadata("AE", "Adverse Events", frame, variables)
    assert [(f.rule, f.variable, f.row) for f in findings] == [
        ("XPT-ASCII", "AETERM", None),
        ("XPT-ASCII", "AETERM", 2),
    ]


def test_value_longer_than_200_bytes_is_refused() -> None:
    frame = adlb().assign(AVALC=["0.1", None, "X" * 201])
    [finding] = check_xpt_metadata("ADLB", "Laboratory Analysis Dataset", frame, ADLB_VARIABLES)
    assert (finding.rule, finding.variable, finding.row) == ("XPT-LENGTH", "AVALC", 3)
    assert "201 bytes" in finding.message
    assert "maximum of 200" in finding.message


def test_value_longer_than_the_declared_length_is_refused() -> None:
    frame = adlb().assign(USUBJID=["C-CAR168-168-001", "C-CAR168-168-0000000001", None])
    [finding] = check_xpt_metadata("ADLB", "Laboratory Analysis Dataset", frame, ADLB_VARIABLES)
    assert (finding.rule, finding.variable, finding.row) == ("XPT-LENGTH", "USUBJID", 2)
    assert "declared length of 20" in finding.message


def test_declared_lengths_outside_the_v5_limits_are_refused() -> None:
    variables = [
        XptVariable("AETERM", "Reported Term", "Char", length=201),
        XptVariable("AESEQ", "Seq", "Num", 4),
    ]
    frame = pd.DataFrame({"AETERM": ["HEADACHE"], "AESEQ": [1.0]})
    findings = check_xpt_metadata("AE", "Adverse Events", frame, variables)
    assert sorted((f.rule, f.variable) for f in findings) == [
        ("XPT-LENGTH", "AESEQ"),
        ("XPT-LENGTH", "AETERM"),
    ]


def test_text_in_a_numeric_variable_and_numbers_in_a_character_variable_are_refused() -> None:
    frame = adlb().assign(AVAL=["1.5", "<0.1", None], PARAMCD=[1, 2, 3])
    findings = check_xpt_metadata("ADLB", "Laboratory Analysis Dataset", frame, ADLB_VARIABLES)
    assert sorted((f.rule, f.variable, f.row) for f in findings) == [
        ("XPT-TYPE", "AVAL", 1),  # text is refused even when it looks like a number
        ("XPT-TYPE", "PARAMCD", 1),
    ]


def test_datetime_column_declared_numeric_points_to_the_converters() -> None:
    frame = adlb().assign(ADT=pd.to_datetime(["2024-01-01", "2024-01-02", None]))
    [finding] = check_xpt_metadata("ADLB", "Laboratory Analysis Dataset", frame, ADLB_VARIABLES)
    assert finding.rule == "XPT-TYPE"
    assert "sas_date" in finding.message


def test_infinite_number_is_refused() -> None:
    frame = adlb().assign(AVAL=[1.0, np.inf, 1e75])  # pyreadstat would write both as the largest IBM float
    [finding] = check_xpt_metadata("ADLB", "Laboratory Analysis Dataset", frame, ADLB_VARIABLES)
    assert (finding.rule, finding.variable, finding.row) == ("XPT-RANGE", "AVAL", 2)
    assert "2 value(s)" in finding.message


def test_frame_columns_must_be_the_declared_variables_in_order() -> None:
    frame = adlb()
    swapped = frame[["USUBJID", "STUDYID", *frame.columns[2:]]]
    [order] = check_xpt_metadata("ADLB", "Lab", swapped, ADLB_VARIABLES)
    assert order.rule == "XPT-COLUMNS"
    assert "order differs" in order.message
    [missing] = check_xpt_metadata("ADLB", "Lab", frame.drop(columns="ATM").assign(EXTRA=1), ADLB_VARIABLES)
    assert "declared but not in the frame: ATM" in missing.message
    assert "in the frame but not declared: EXTRA" in missing.message


def test_repeated_variable_names_are_refused() -> None:
    frame = pd.DataFrame([["a", "b"]], columns=["AETERM", "AETERM"])
    variables = [XptVariable("AETERM", "Reported Term", "Char")] * 2
    findings = check_xpt_metadata("AE", "Adverse Events", frame, variables)
    assert [(f.rule, f.value) for f in findings] == [("XPT-COLUMNS", "AETERM"), ("XPT-COLUMNS", "AETERM")]


def test_bad_display_formats_are_refused() -> None:
    variables = [
        XptVariable("AETERM", "Reported Term", "Char", display_format="DATE9."),
        XptVariable("ASTDT", "Start Date", "Num", display_format="$10."),
        XptVariable("AENDT", "End Date", "Num", display_format="date9"),
    ]
    frame = pd.DataFrame({"AETERM": ["HEADACHE"], "ASTDT": [1.0], "AENDT": [2.0]})
    findings = check_xpt_metadata("ADAE", "Adverse Events Analysis", frame, variables)
    assert [(f.rule, f.variable) for f in findings] == [
        ("XPT-FORMAT", "AETERM"),
        ("XPT-FORMAT", "ASTDT"),
        ("XPT-FORMAT", "AENDT"),
    ]


def test_all_blank_record_in_an_all_character_dataset_is_refused() -> None:
    frame = pd.DataFrame({"A": ["x", None, ""]})
    [finding] = check_xpt_metadata("T", "Test", frame, [XptVariable("A", "A", "Char")])
    assert (finding.rule, finding.row) == ("XPT-BLANKROW", 2)


def test_file_name_must_be_the_lower_case_dataset_name(tmp_path: Path) -> None:
    with pytest.raises(XptError) as raised:
        write_xpt(adlb(), tmp_path / "ADLB.xpt", "ADLB", "Lab", ADLB_VARIABLES, DATA_CUT)
    assert [f.rule for f in raised.value.findings] == ["XPT-FILENAME"]


def test_empty_label_is_a_warning_and_does_not_stop_writing(tmp_path: Path) -> None:
    variables = [XptVariable("STUDYID", "", "Char")]
    frame = pd.DataFrame({"STUDYID": ["C-CAR168"]})
    [warning] = check_xpt_metadata("TS", "Trial Summary", frame, variables)
    assert (warning.rule, warning.severity) == ("XPT-LABEL", Severity.WARNING)
    assert write_xpt(frame, tmp_path / "ts.xpt", "TS", "Trial Summary", variables, DATA_CUT) == {"STUDYID": 8}


def test_error_lists_every_problem_at_once() -> None:
    frame = adlb().assign(AVALC=["Sjögren", None, "X" * 201])
    variables = [*ADLB_VARIABLES[:-1], XptVariable("AVALC", "L" * 41, "Char")]
    rules = sorted(f.rule for f in check_xpt_metadata("ADLB", "Lab", frame, variables))
    assert rules == ["XPT-ASCII", "XPT-LABEL", "XPT-LENGTH"]


# --- SAS numeric dates -------------------------------------------------------------------------


def test_sas_date_datetime_and_time_count_from_1960() -> None:
    moments = pd.Series(
        pd.to_datetime(["1960-01-01T00:00:00", "2024-03-01T08:30:15", None], format="ISO8601")
    )
    np.testing.assert_array_equal(sas_date(moments), [0.0, 23436.0, np.nan])
    np.testing.assert_array_equal(
        sas_datetime(moments), [0.0, 23436 * 86400 + 8 * 3600 + 30 * 60 + 15, np.nan]
    )
    np.testing.assert_array_equal(sas_time(moments), [0.0, 8 * 3600 + 30 * 60 + 15, np.nan])
    times = pd.Series([clock(8, 30, 15), None], dtype=object)
    np.testing.assert_array_equal(sas_time(times), [30615.0, np.nan])
    np.testing.assert_array_equal(sas_time(pd.Series(pd.to_timedelta(["01:00:00", None]))), [3600.0, np.nan])


def test_sas_date_refuses_iso_8601_text() -> None:
    with pytest.raises(TypeError, match="sas_date"):
        sas_date(pd.Series(["2024-03"]))


# --- SAS-written file --------------------------------------------------------------------------


@pytest.mark.skipif(not SAS_SAMPLE.exists(), reason="SAS-written sample not available")
def test_sas_written_sample_reads_with_its_metadata() -> None:
    frame, metadata = read_xpt(SAS_SAMPLE)
    assert (metadata["dataset"], metadata["label"], metadata["rows"]) == ("AE", "Adverse Events", 74)
    assert metadata["created"] == datetime(2020, 8, 21, 9, 14, 28)
    assert metadata["sas_version"] == "9.4"
    assert metadata["variables"]["STUDYID"] == {
        "label": "Study Identifier",
        "type": "Char",
        "length": 12,
        "display_format": "",
    }
    assert metadata["variables"]["AESEQ"]["type"] == "Num"
    independent = pd.read_sas(SAS_SAMPLE, format="xport", encoding="latin1")
    assert frame["USUBJID"].tolist() == independent["USUBJID"].tolist()
    np.testing.assert_array_equal(frame["AESEQ"].to_numpy(), independent["AESEQ"].to_numpy())
