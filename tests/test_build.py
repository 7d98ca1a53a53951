"""`cdisc168 build` end to end on the fixture: XPT v5 that reads back identically, reconciliation that
balances, byte-identical rebuilds, and unusable input that writes nothing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from cdisc168 import api
from cdisc168.study import load_study

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[api.BuildResult, Path]:
    out = tmp_path_factory.mktemp("build") / "submission"
    return api.build(FIXTURE, out), out


def sdtm_folder(out: Path) -> Path:
    return out / "m5" / "datasets" / STUDY.submission_folder / "tabulations" / "sdtm"


def test_build_succeeds_and_writes_every_dataset_as_xpt_v5(package: tuple[api.BuildResult, Path]) -> None:
    result, out = package
    assert result.exit_code == api.EXIT_OK, [str(f) for f in result.findings.errors[:5]]
    files = {p.name for p in sdtm_folder(out).glob("*.xpt")}
    assert {
        "dm.xpt",
        "ae.xpt",
        "suppae.xpt",
        "ex.xpt",
        "lb.xpt",
        "pc.xpt",
        "se.xpt",
        "sv.xpt",
        "tv.xpt",
    } <= files
    header = (sdtm_folder(out) / "dm.xpt").read_bytes()[:80].decode("ascii")
    assert header.startswith("HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert b"LIBV8" not in (sdtm_folder(out) / "dm.xpt").read_bytes()[:400]


def test_xpt_reads_back_identically_with_two_independent_readers(
    package: tuple[api.BuildResult, Path],
) -> None:
    _, out = package
    path = sdtm_folder(out) / "ae.xpt"
    by_pyreadstat, meta = pyreadstat.read_xport(str(path))
    by_pandas = pd.read_sas(path, format="xport", encoding="ascii")
    assert list(by_pyreadstat.columns) == list(by_pandas.columns)
    assert meta.table_name == "AE" and meta.file_label == "Adverse Events"
    assert meta.column_names_to_labels["AETERM"] == "Reported Term for the Adverse Event"
    text = [c for c in by_pandas.columns if by_pandas[c].dtype == object]
    pd.testing.assert_frame_equal(
        by_pyreadstat[text].replace("", None).astype(object), by_pandas[text].replace("", None).astype(object)
    )
    assert (by_pyreadstat["AESEQ"] == by_pandas["AESEQ"]).all()


def test_character_length_is_the_longest_value(package: tuple[api.BuildResult, Path]) -> None:
    _, out = package
    dm, meta = pyreadstat.read_xport(str(sdtm_folder(out) / "dm.xpt"))
    assert (
        meta.variable_storage_width["USUBJID"] == dm["USUBJID"].str.len().max() == len("CCAR168-AID-01-0001")
    )


def test_reconciliation_balances(package: tuple[api.BuildResult, Path]) -> None:
    _, out = package
    recon = pd.read_csv(out / "reports" / "reconciliation.csv")
    assert (
        recon["rows_read"] == recon["rows_mapped"] + recon["rows_excluded"] + recon["rows_unexplained"]
    ).all()
    assert recon["rows_unexplained"].sum() == 0
    excluded = pd.read_csv(out / "reports" / "exclusions.csv")
    assert excluded["reason"].notna().all()
    rnaseq = recon.set_index("form").loc["rnaseq_manifest"]
    assert rnaseq["rows_excluded"] == rnaseq["rows_read"]
    lineage = pd.read_csv(out / "reports" / "lineage.csv")
    assert {"DOMAIN", "USUBJID", "SEQ", "form", "row"} <= set(lineage.columns)


def test_rebuild_is_byte_identical(package: tuple[api.BuildResult, Path], tmp_path: Path) -> None:
    _, first = package
    api.build(FIXTURE, tmp_path / "again")

    def digests(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digests(first) == digests(tmp_path / "again")


def test_a_modified_fixture_still_balances(tmp_path: Path) -> None:
    """Add an AE that starts after the data cut: it is excluded with the cut as its reason."""
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE, raw)
    ae = pd.read_csv(raw / "ae.csv", dtype=str, keep_default_na=False)
    late = ae.iloc[[0]].copy()
    late["FORMSEQ"] = "999"
    late["AESTDT"] = "2026-05-02"
    late["AEENDT"] = ""
    pd.concat([ae, late]).to_csv(raw / "ae.csv", index=False, lineterminator="\n")
    result = api.build(raw, tmp_path / "out")
    recon = result.reconciliation.set_index("form")
    assert recon.loc["ae", "rows_read"] == len(ae) + 1
    assert recon["rows_unexplained"].sum() == 0
    excluded = pd.read_csv(tmp_path / "out" / "reports" / "exclusions.csv", dtype=str)
    row = excluded[(excluded["form"] == "ae") & (excluded["row"] == str(len(ae) + 2))]
    assert row["reason"].str.contains("data cut").all() and len(row) == 1


def test_untransliterable_text_stops_the_build_and_writes_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE, raw)
    ae = pd.read_csv(raw / "ae.csv", dtype=str, keep_default_na=False)
    ae.loc[0, "AETERM"] = "头痛"
    ae.to_csv(raw / "ae.csv", index=False, lineterminator="\n")
    result = api.build(raw, tmp_path / "out")
    assert result.exit_code == api.EXIT_UNUSABLE
    assert not (tmp_path / "out").exists()
    assert any(f.rule == "SD-TEXT-NONASCII" and f.value == "头痛" for f in result.findings)


def test_every_raw_form_and_column_reaches_sdtm_or_a_declared_exclusion(
    package: tuple[api.BuildResult, Path],
) -> None:
    """SDTM II: every raw form maps somewhere (only rnaseq_manifest is a declared exclusion) and every
    raw column is read by a spec or declared unmapped with a reason in study.yaml."""
    _, out = package
    recon = pd.read_csv(out / "reports" / "reconciliation.csv").set_index("form")
    excluded = pd.read_csv(out / "reports" / "exclusions.csv")
    assert not excluded["reason"].str.startswith("not yet mapped").any()
    fully_excluded = recon[(recon["rows_mapped"] == 0) & (recon["rows_read"] > 0)].index.tolist()
    assert fully_excluded == ["rnaseq_manifest"]
    coverage = pd.read_csv(out / "reports" / "column_coverage.csv")
    assert set(coverage["status"]) <= {"key", "mapped", "declared"}
    declared = coverage[coverage["status"] == "declared"]
    assert declared["reason"].notna().all()
    expected = {
        "DM",
        "AE",
        "EX",
        "LB",
        "PC",
        "RS",
        "DS",
        "SV",
        "SE",
        "TA",
        "TE",
        "TV",
        "TI",
        "TS",
        "CM",
        "CE",
    }
    expected |= {"IS", "QS", "FA", "CP", "MH", "PR", "DD", "IE", "NV", "VS", "PP", "RELREC"}
    files = {p.stem.upper() for p in sdtm_folder(out).glob("*.xpt")}
    assert expected <= files


def test_every_dataset_reads_back_identically_through_both_readers(
    package: tuple[api.BuildResult, Path],
) -> None:
    """pyreadstat and pandas agree on every XPT file (values, columns, row counts) and with the data built."""
    _, out = package
    for path in sorted(sdtm_folder(out).glob("*.xpt")):
        by_pyreadstat, _ = pyreadstat.read_xport(str(path))
        by_pandas = pd.read_sas(path, format="xport", encoding="ascii")
        assert list(by_pyreadstat.columns) == list(by_pandas.columns), path.name
        assert len(by_pyreadstat) == len(by_pandas), path.name
        for column in by_pandas.columns:
            left, right = by_pyreadstat[column], by_pandas[column]
            if not pd.api.types.is_numeric_dtype(right):
                assert left.fillna("").tolist() == right.fillna("").tolist(), (path.name, column)
            else:
                # pandas reads an IBM zero as 5.4e-79 (pandas issue 50670); compare with a tolerance
                pd.testing.assert_series_equal(
                    left.astype(float), right.astype(float), atol=1e-70, check_names=False
                )


def test_adam_datasets_are_written_with_sas_dates(package: tuple[api.BuildResult, Path]) -> None:
    """ADaM XPT: numeric dates are SAS dates (days since 1960-01-01) carrying DATE9. (ADaMIG 1.3 §3.1.2)."""
    _, out = package
    folder = out / "m5" / "datasets" / STUDY.submission_folder / "analysis" / "adam" / "datasets"
    adsl, meta = pyreadstat.read_xport(str(folder / "adsl.xpt"))
    assert meta.original_variable_types["TRTSDT"] == "DATE9"
    infusion = pd.read_csv(FIXTURE / "infusion.csv", dtype=str).iloc[0]
    usubjid = f"{STUDY.studyid}-{infusion['SITEID']}-{infusion['SUBJID']}"
    sas_days = (pd.Timestamp(infusion["INFDT"]) - pd.Timestamp("1960-01-01")).days
    # pyreadstat turns a DATE9.-formatted number into a date; pandas reads the stored number
    assert adsl.loc[adsl["USUBJID"] == usubjid, "TRTSDT"].item() == pd.Timestamp(infusion["INFDT"]).date()
    raw_numbers = pd.read_sas(folder / "adsl.xpt", format="xport", encoding="ascii")
    assert raw_numbers.loc[raw_numbers["USUBJID"] == usubjid, "TRTSDT"].item() == sas_days
