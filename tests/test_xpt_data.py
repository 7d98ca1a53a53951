"""The vectorised XPT v5 observation reader gives pyreadstat's values, bit for bit (TS-140 §5-7)."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from cdisc168.adam_spec import load_adam_specs
from cdisc168.study import load_study
from cdisc168.write.analysis import write_analysis
from cdisc168.write.tabulation import write_tabulations
from cdisc168.write.xpt import XptVariable, read_xpt, write_xpt
from cdisc168.write.xpt_data import ibm_to_ieee, ieee_to_ibm, read_xpt_data, write_xpt_data
from cdisc168.write.xpt_header import (
    DESCRIPTOR_HEADER,
    LIBRARY_HEADER,
    MEMBER_HEADER,
    NAMESTR_HEADER_PREFIX,
    OBS_HEADER,
    XptLayoutError,
    stamp_xpt_timestamps,
)

SAS_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "xpt_samples" / "ae.xpt"
STAMP = b"31MAR26:00:00:00"


def _card(text: bytes) -> bytes:
    """Blank-pad to whole 80-byte records (TS-140)."""
    return text + b" " * (-len(text) % 80)


def _xpt_file(folder: Path, variables: list[tuple[str, str, int]], observations: bytes) -> Path:
    """A one-member XPT v5 file written byte by byte: variables (name, "Char"/"Num", length)."""
    namestrs, position = b"", 0
    for number, (name, kind, length) in enumerate(variables, 1):
        namestrs += struct.pack(
            ">hhhh8s40s8shhh2s8shhi52s",
            1 if kind == "Num" else 2,
            0,
            length,
            number,
            name.encode().ljust(8),
            name.encode().ljust(40),
            b" " * 8,
            0,
            0,
            0,
            b"\0\0",
            b" " * 8,
            0,
            0,
            position,
            b"\0" * 52,
        )
        position += length
    data = (
        LIBRARY_HEADER
        + _card(b"SAS     SAS     SASLIB  9.4     X64_10PR" + b" " * 24 + STAMP)
        + _card(STAMP)
        + MEMBER_HEADER
        + DESCRIPTOR_HEADER
        + _card(b"SAS     TEST    SASDATA 9.4     X64_10PR" + b" " * 24 + STAMP)
        + _card(STAMP + b" " * 16 + b"Test".ljust(40) + b" " * 8)
        + NAMESTR_HEADER_PREFIX
        + b"%04d" % len(variables)
        + b"0" * 20
        + b"  "
        + _card(namestrs)
        + OBS_HEADER
        + _card(observations)
    )
    path = folder / "test.xpt"
    path.write_bytes(data)
    return path


def _pyreadstat_frame(path: Path) -> pd.DataFrame:
    """What read_xpt returned when pyreadstat decoded the values: blank text as missing."""
    frame, _ = pyreadstat.read_xport(str(path), encoding="latin1", disable_datetime_conversion=True)
    for name in frame.columns:
        if frame[name].dtype != "float64":
            frame[name] = frame[name].mask(frame[name] == "")
    return frame


def _assert_same_as_pyreadstat(path: Path) -> pd.DataFrame:
    _, frame = read_xpt_data(path)
    pd.testing.assert_frame_equal(frame, _pyreadstat_frame(path), check_exact=True)
    return frame


# --- identity with pyreadstat on real files -------------------------------------------------------


@pytest.fixture(scope="module")
def package_xpts(sdtm, adam_datasets, tmp_path_factory) -> list[Path]:  # type: ignore[no-untyped-def]
    """Every SDTM and ADaM dataset of the fixture study written as XPT (through pyreadstat)."""
    folder = tmp_path_factory.mktemp("xpt_data")
    timestamp = dt.datetime.combine(load_study().data_cut, dt.time())
    write_tabulations(sdtm.datasets, sdtm.specs, folder / "sdtm", timestamp)
    write_analysis(adam_datasets, load_adam_specs(load_study().mappings_dir), folder / "adam", timestamp)
    return sorted(folder.rglob("*.xpt"))


def test_every_fixture_dataset_reads_as_pyreadstat_reads_it(package_xpts: list[Path]) -> None:
    names = {path.stem.upper() for path in package_xpts}
    assert {"DM", "AE", "LB", "SUPPAE", "ADSL", "ADLB", "ADTTE"} <= names
    for path in package_xpts:
        frame = _assert_same_as_pyreadstat(path)
        assert len(frame) > 0, path


@pytest.mark.skipif(not SAS_SAMPLE.exists(), reason=f"{SAS_SAMPLE} is absent")
def test_sas_written_sample_reads_as_pyreadstat_reads_it() -> None:
    frame = _assert_same_as_pyreadstat(SAS_SAMPLE)
    assert frame["DOMAIN"].eq("AE").all()


def test_read_xpt_keeps_its_metadata_and_types(package_xpts: list[Path]) -> None:
    frame, metadata = read_xpt(next(p for p in package_xpts if p.name == "adsl.xpt"))
    assert metadata["dataset"] == "ADSL" and metadata["rows"] == len(frame) == 24
    assert metadata["variables"]["TRTSDT"] == {
        "label": "Date of First Exposure to Treatment",
        "type": "Num",
        "length": 8,
        "display_format": "DATE9.",
    }
    assert frame["TRTSDT"].dtype == np.float64 and frame["USUBJID"].dtype == "str"


# --- IBM hexadecimal floating point (TS-140 §6-7) -------------------------------------------------


def _ibm(*hex_values: str) -> np.ndarray:
    return np.array([list(bytes.fromhex(h)) for h in hex_values], dtype=np.uint8)


def test_ibm_floats_convert_as_xpt2ieee_does() -> None:
    values = ibm_to_ieee(
        _ibm(
            "0000000000000000",  # 0
            "4110000000000000",  # 0.1(hex) × 16 = 1
            "C110000000000000",  # -1
            "401999999999999A",  # 0.1 = 0x0.1999999999999A: the IEEE double 0.1 exactly
            "4264000000000000",  # 0x0.64 × 16² = 100
            "0010000000000000",  # smallest normalised IBM value: 16**-65 (about 5.4e-79)
            "7FFFFFFFFFFFFFF0",  # 0x0.FFFFFFFFFFFFF × 16**63 = 2**252 - 2**200
            "41FFFFFFFFFFFFFF",  # 56 fraction bits, 53 kept: truncated to 16 - 2**-49 (not rounded to 16)
            "7FFFFFFFFFFFFFFF",  # saturated: +infinity
            "FFFFFFFFFFFFFFFF",  # -infinity
        )
    )
    expected = [0.0, 1.0, -1.0, 0.1, 100.0, 16.0**-65, 2.0**252 - 2.0**200, 16 - 2.0**-49, np.inf, -np.inf]
    np.testing.assert_array_equal(values, expected)


def test_sas_missing_values_are_nan() -> None:
    # ``.``, ``._``, ``.A``, ``.Z`` and any other first byte followed by seven zero bytes
    values = ibm_to_ieee(_ibm("2E00000000000000", "5F00000000000000", "4100000000000000", "5A00000000000000"))
    assert np.isnan(values).all()
    assert np.isnan(ibm_to_ieee(_ibm("8000000000000000")))[0]  # negative zero fraction: not a number


def test_short_numerics_keep_their_leading_bytes(tmp_path: Path) -> None:
    # length 3: 41 10 01 = 0x0.1001 × 16 = 1 + 1/4096; length 2 (TS-140 minimum): 42 64 = 100
    np.testing.assert_array_equal(ibm_to_ieee(_ibm("411001", "2E0000")), [1.000244140625, np.nan])
    np.testing.assert_array_equal(ibm_to_ieee(_ibm("4264")), [100.0])
    path = _xpt_file(
        tmp_path, [("X", "Num", 3), ("Y", "Num", 8)], bytes.fromhex("4110014110000000000000") * 3
    )
    frame = _assert_same_as_pyreadstat(path)
    assert frame["X"].tolist() == [1.000244140625] * 3 and frame["Y"].tolist() == [1.0] * 3


def test_numeric_length_outside_2_to_8_is_a_layout_error(tmp_path: Path) -> None:
    path = _xpt_file(tmp_path, [("X", "Num", 9)], b"\x41\x10" + b"\0" * 7)
    with pytest.raises(XptLayoutError, match=r"test\.xpt: numeric variable X has length 9"):
        read_xpt_data(path)


# --- character values ---------------------------------------------------------------------------


def test_blank_text_is_missing_and_leading_blanks_stay(tmp_path: Path) -> None:
    path = _xpt_file(
        tmp_path, [("C", "Char", 6), ("N", "Num", 8)], b"  AB  " + b"." + b"\0" * 7 + b" " * 6 + b"\0" * 8
    )
    frame = _assert_same_as_pyreadstat(path)
    assert frame["C"].tolist()[0] == "  AB" and pd.isna(frame["C"].iloc[1])
    assert np.isnan(frame["N"].iloc[0]) and frame["N"].iloc[1] == 0.0


def test_latin1_bytes_decode_and_nul_ends_the_value(tmp_path: Path) -> None:
    path = _xpt_file(tmp_path, [("C", "Char", 8)], b"caf\xe9    " + b"A\x00B     " + b"\xb5g/L    ")
    frame = _assert_same_as_pyreadstat(path)
    assert frame["C"].tolist() == ["café", "A", "µg/L"]


def test_text_the_encoding_cannot_decode_names_file_variable_and_record(tmp_path: Path) -> None:
    path = _xpt_file(tmp_path, [("AETERM", "Char", 8)], b"RASH    " + b"caf\xe9    ")
    with pytest.raises(XptLayoutError, match=r"test\.xpt: AETERM, observation 2: b'caf\\xe9' is not utf-8"):
        read_xpt(path, encoding="utf-8")


# --- records, cards and padding (TS-140 §5) -------------------------------------------------------


def test_records_that_exactly_fill_the_cards(tmp_path: Path) -> None:
    # two 40-byte records per 80-byte card, four records: two cards, no padding at all
    observations = b"".join(f"VALUE {k}".encode().ljust(40) for k in range(1, 5))
    assert len(observations) == 160
    frame = _assert_same_as_pyreadstat(_xpt_file(tmp_path, [("C", "Char", 40)], observations))
    assert frame["C"].tolist() == ["VALUE 1", "VALUE 2", "VALUE 3", "VALUE 4"]


def test_blank_records_are_kept_before_data_and_dropped_at_the_end(tmp_path: Path) -> None:
    # 30-byte records: blank, X, blank, blank → the last two are padding (SAS, pyreadstat); 2 records
    observations = b" " * 30 + b"X".ljust(30) + b" " * 60
    frame = _assert_same_as_pyreadstat(_xpt_file(tmp_path, [("C", "Char", 30)], observations))
    assert len(frame) == 2 and pd.isna(frame["C"].iloc[0]) and frame["C"].iloc[1] == "X"


def test_a_dataset_without_records(tmp_path: Path) -> None:
    frame = _assert_same_as_pyreadstat(_xpt_file(tmp_path, [("C", "Char", 4), ("N", "Num", 8)], b""))
    assert frame.shape == (0, 2)
    assert frame["C"].dtype == object and frame["N"].dtype == np.float64


def test_a_truncated_file_is_a_layout_error_naming_it(tmp_path: Path) -> None:
    # three 30-byte records fill 90 bytes → two cards; without the last card only 20 bytes of record 3
    path = _xpt_file(tmp_path, [("C", "Char", 30)], b"A".ljust(30) + b"B".ljust(30) + b"C".ljust(30))
    path.write_bytes(path.read_bytes()[:-80])
    assert len(_pyreadstat_frame(path)) == 2  # pyreadstat silently drops the cut record
    with pytest.raises(XptLayoutError, match=r"test\.xpt: observation 3 is cut off after 20 of its 30 bytes"):
        read_xpt(path)
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(XptLayoutError, match=r"test\.xpt: file length \d+ is not a positive multiple of 80"):
        read_xpt(path)
    path.write_bytes(b"")
    with pytest.raises(XptLayoutError, match=r"test\.xpt: file length 0 is not a positive multiple of 80"):
        read_xpt(path)


# --- writing: byte-identical to pyreadstat ----------------------------------------------------------

DATA_CUT = dt.date(2026, 3, 31)


def _as_written(path: Path) -> tuple[pd.DataFrame, list[XptVariable], dict[str, int], str, str]:
    """A written file's values as write_xpt hands them to the writer, with its metadata."""
    frame, metadata = read_xpt(path)
    variables = [
        XptVariable(name, v["label"], v["type"], display_format=v["display_format"] or None)
        for name, v in metadata["variables"].items()
    ]
    for v in variables:
        if v.type == "Char":
            frame[v.name] = pd.Series(frame[v.name].to_numpy(dtype=object, na_value=None), dtype=object)
    lengths = {name: v["length"] for name, v in metadata["variables"].items()}
    return frame, variables, lengths, metadata["dataset"], metadata["label"]


def _pyreadstat_bytes(
    frame: pd.DataFrame, folder: Path, dataset: str, label: str, variables: list[XptVariable]
) -> bytes:
    """The bytes write_xpt wrote when pyreadstat wrote the file (header date-times then stamped)."""
    path = folder / "pyreadstat.xpt"
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=label,
        column_labels=[v.label or None for v in variables],
        table_name=dataset,
        file_format_version=5,
        variable_format={v.name: v.display_format for v in variables if v.display_format} or None,
    )
    return stamp_xpt_timestamps(path.read_bytes(), DATA_CUT)


def test_writer_gives_pyreadstat_bytes_for_every_fixture_dataset(
    package_xpts: list[Path], tmp_path: Path
) -> None:
    for path in package_xpts:
        frame, variables, lengths, dataset, label = _as_written(path)
        expected = _pyreadstat_bytes(frame, tmp_path, dataset, label, variables)
        write_xpt_data(frame, tmp_path / "vectorised.xpt", dataset, label, variables, lengths, DATA_CUT)
        assert (tmp_path / "vectorised.xpt").read_bytes() == expected, path.name
        assert path.read_bytes() == expected, path.name


def test_ieee_to_ibm_is_exact_and_saturates_as_ieee2xpt() -> None:
    values = np.array([0.0, -0.0, 1.0, -1.0, 0.1, 100.0, 16.0**-65, 1e-300, 1.5 * 2.0**248, 2.0**249, np.nan])
    assert [row.tobytes().hex().upper() for row in ieee_to_ibm(values)] == [
        "0000000000000000",
        "0000000000000000",  # -0 is 0
        "4110000000000000",
        "C110000000000000",
        "401999999999999A",  # 0.1: the double's 53 bits, exactly
        "4264000000000000",
        "0010000000000000",  # the smallest IBM value
        "0000000000000000",  # 1e-300 is below 16**-65: written as 0
        "7F18000000000000",  # 0x0.18 × 16**63 = 1.5 × 2**248, the largest exponent written
        "7FFFFFFFFFFFFFFF",  # 2**249 and above: saturated (ReadStat, xpt.py WRITABLE_MAX)
        "2E00000000000000",  # missing: SAS ``.``
    ]
    # every double of 16**-65 <= |x| < 2**249 reads back exactly
    exact = values[(np.abs(values) >= 16.0**-65) & (np.abs(values) < 2.0**249)]
    assert len(exact) == 6
    np.testing.assert_array_equal(ibm_to_ieee(ieee_to_ibm(exact)), exact)


def test_write_xpt_edge_values_give_pyreadstat_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "C": pd.Series(["A", None, "  lead", "x" * 200], dtype=object),
            "E": pd.Series([None, None, None, None], dtype=object),
            "N": [np.nan, -2.5e-70, 7.2e74, 1 / 3],
        }
    )
    variables = [
        XptVariable("C", "Text", "Char"),
        XptVariable("E", "", "Char"),
        XptVariable("N", "Number", "Num", display_format="8.2"),
    ]
    lengths = write_xpt(frame, tmp_path / "t.xpt", "T", "Edge values", variables, DATA_CUT)
    assert lengths == {"C": 200, "E": 1, "N": 8}
    expected = _pyreadstat_bytes(frame, tmp_path, "T", "Edge values", variables)
    assert (tmp_path / "t.xpt").read_bytes() == expected
    assert len(expected) % 80 == 0
    assert read_xpt(tmp_path / "t.xpt")[0]["N"].iloc[1:].tolist() == [-2.5e-70, 7.2e74, 1 / 3]


def test_write_xpt_of_no_records_gives_pyreadstat_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"C": pd.Series([], dtype=object), "N": pd.Series([], dtype="float64")})
    variables = [XptVariable("C", "Text", "Char"), XptVariable("N", "Number", "Num")]
    write_xpt(frame, tmp_path / "t.xpt", "T", "Empty", variables, DATA_CUT)
    assert (tmp_path / "t.xpt").read_bytes() == _pyreadstat_bytes(frame, tmp_path, "T", "Empty", variables)


def test_writing_in_blocks_gives_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Millions of records are prepared and written a block at a time; the file is the same bytes."""
    from cdisc168.write import xpt

    frame = pd.DataFrame(
        {
            "USUBJID": [f"S-{i:03d}" for i in range(23)],
            "AVAL": np.arange(23) / 7,
            "AVALC": ["x" * (i % 5) for i in range(23)],
        }
    )
    variables = [
        XptVariable("USUBJID", "Subject", "Char"),
        XptVariable("AVAL", "Value", "Num"),
        XptVariable("AVALC", "Text", "Char"),
    ]
    write_xpt(frame, tmp_path / "one.xpt", "ONE", "Label", variables, dt.datetime(2026, 3, 31))
    monkeypatch.setattr(xpt, "BLOCK_ROWS", 7)
    (tmp_path / "blocks").mkdir()
    write_xpt(frame, tmp_path / "blocks" / "one.xpt", "ONE", "Label", variables, dt.datetime(2026, 3, 31))
    assert (tmp_path / "blocks" / "one.xpt").read_bytes() == (tmp_path / "one.xpt").read_bytes()
    back, meta = read_xpt(tmp_path / "one.xpt")
    assert back["AVAL"].tolist() == pytest.approx((np.arange(23) / 7).tolist())
    assert meta["variables"]["AVALC"]["length"] == 4
