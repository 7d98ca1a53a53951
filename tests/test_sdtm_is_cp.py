"""SDTM IS (autoantibodies) and CP (research flow cytometry) on the built-in fixture, checked the way a
reviewer checks them by hand.

Each test names its subject by what makes it special in the raw CSVs (fixtures/raw) and compares the SDTM
records with values worked out from the raw rows; the arithmetic is in the comments. Study days count
from the infusion date (RFSTDTC) with no day 0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fixture_data import raw, subject

from cdisc168.check.failures import check_dataset
from cdisc168.check.schemas import dataset_plan, supp_plan
from cdisc168.findings import Severity
from cdisc168.raw.contracts import FORM, ROW
from cdisc168.sdtm.build import SdtmResult
from cdisc168.standards import ct
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study

RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()
STUDY_CT = load_study_ct()


@pytest.fixture(scope="module")
def is_(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["IS"]


@pytest.fixture(scope="module")
def cp(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["CP"]


def one(frame: pd.DataFrame, usubjid: str, **where: str) -> pd.Series:
    mask = frame["USUBJID"] == usubjid
    for column, value in where.items():
        mask &= frame[column] == value
    found = frame[mask]
    assert len(found) == 1, f"{usubjid} {where}: {len(found)} records"
    return found.iloc[0]


def supp(sdtm: SdtmResult, domain: str, record: pd.Series, qnam: str) -> str | None:
    frame = sdtm.datasets[f"SUPP{domain}"]
    hit = frame[
        (frame["USUBJID"] == record["USUBJID"])
        & (frame["IDVARVAL"] == f"{record[f'{domain}SEQ']:.0f}")
        & (frame["QNAM"] == qnam)
    ]
    return None if hit.empty else str(hit["QVAL"].iloc[0])


# --- IS ------------------------------------------------------------------------------------------------


def test_is_aqp4_titre_of_the_nmosd_subject_is_kept_as_collected(sdtm: SdtmResult, is_: pd.DataFrame) -> None:
    """02-0006 (enrol INDICAT NMOSD; infusion 2024-03-29): autoab SCREENING 2024-02-27 AQP4 IgG by CBA
    "1:100" titer, POSCUT 10, LLOQ 10. The titre stays text in ISORRES and ISSTRESC with ISSTRESN null;
    the CBA is read by immunofluorescence (STUDY.md §2.5) and SUPPIS ASSAYFMT keeps the assay format;
    ISDY = 2024-02-27 - 2024-03-29 = -31 days (2024 is a leap year: 2 + 29), no day 0 before RFSTDTC."""
    enrol = raw("enrol")
    assert enrol.loc[(enrol["SITEID"] == "02") & (enrol["SUBJID"] == "0006"), "INDICAT"].item() == "NMOSD"
    record = one(is_, subject("02", "0006"), ISBDAGNT="AQUAPORIN 4", ISDTC="2024-02-27")
    assert (record["ISTESTCD"], record["ISTEST"]) == ("ATIGGAB", "IgG Autoantibody")
    assert (record["ISORRES"], record["ISORRESU"]) == ("1:100", "titer")
    assert (record["ISSTRESC"], record["ISSTRESU"]) == ("1:100", "titer")
    assert pd.isna(record["ISSTRESN"])
    assert record["ISMETHOD"] == "INDIRECT IMMUNOFLUORESCENCE"
    assert supp(sdtm, "IS", record, "ASSAYFMT") == "CELL-BASED ASSAY"
    assert (record["ISTSTOPO"], record["ISSPEC"]) == ("QUANTIFY", "SERUM")
    # cut-off and LLOQ in titer units (reciprocal titre 10 = 1:10)
    assert (record["ISORNRHI"], record["ISSTNRHI"], record["ISLLOQ"]) == ("10.0", 10.0, 10.0)
    assert (record["VISIT"], record["VISITNUM"], record["ISDY"]) == ("SCREENING", 1.0, -31.0)
    assert record["EPOCH"] == "SCREENING"
    # DAY 28 2024-04-25 (27 days after the infusion -> ISDY 28): "1:32", below-cut-off text "<1:10" at M6
    assert one(is_, subject("02", "0006"), ISBDAGNT="AQUAPORIN 4", ISDTC="2024-04-25")["ISDY"] == 28.0
    m6 = one(is_, subject("02", "0006"), ISBDAGNT="AQUAPORIN 4", ISDTC="2024-10-04")
    assert (m6["ISORRES"], m6["ISSTRESC"]) == ("<1:10", "<1:10")


def test_is_dsdna_in_iu_and_in_site_04_units_keep_their_own_standard_unit(
    sdtm: SdtmResult, is_: pd.DataFrame
) -> None:
    """Anti-dsDNA is measured by two ELISA kits that cannot be converted (STUDY.md "Decisions"):
    02-0003 SCREENING 2023-11-19 "373" IU/mL (cut-off 30) and, with the site 04 kit, 04-0007 SCREENING
    2024-03-18 "391" U/mL (cut-off 20). Each keeps its own ISSTRESU, value and cut-off (factor 1, never
    converted), and no unit finding is raised."""
    iu = one(is_, subject("02", "0003"), ISBDAGNT="DOUBLE STRANDED DNA", ISDTC="2023-11-19")
    assert (iu["ISORRES"], iu["ISORRESU"]) == ("373", "IU/mL")
    assert (iu["ISSTRESC"], iu["ISSTRESN"], iu["ISSTRESU"], iu["ISSTNRHI"]) == ("373", 373.0, "IU/mL", 30.0)
    u = one(is_, subject("04", "0007"), ISBDAGNT="DOUBLE STRANDED DNA", ISDTC="2024-03-18")
    assert (u["ISORRES"], u["ISORRESU"]) == ("391", "U/mL")
    assert (u["ISSTRESC"], u["ISSTRESN"], u["ISSTRESU"], u["ISSTNRHI"]) == ("391", 391.0, "U/mL", 20.0)
    dsdna = is_[is_["ISBDAGNT"] == "DOUBLE STRANDED DNA"]
    site04 = dsdna["USUBJID"].str.startswith(f"{STUDY.studyid}-04-")
    assert set(dsdna.loc[site04, "ISSTRESU"].dropna()) == {"U/mL"}
    assert set(dsdna.loc[~site04, "ISSTRESU"].dropna()) == {"IU/mL"}
    assert not [f for f in sdtm.findings if f.rule == "SD-UNIT" and f.dataset == "autoab.csv"]


def test_is_hmgcr_uses_the_sponsor_binding_agent(is_: pd.DataFrame) -> None:
    """04-0004 (IMNM; infusion 2024-01-24): HMGCR BASELINE 2024-01-16 "57.4" U/mL -> ISBDAGNT
    "HMG-COA REDUCTASE" (not in ISBDAGT C181169 2025-03-28: a declared sponsor term without C-code),
    ISSTRESN 57.4 U/mL, cut-off 20, LLOQ 10, ISDY = -8 (8 days before the infusion). MONTH 6 2024-07-13
    "<10": ISSTRESC "<10", ISSTRESN null, ISLLOQ 10."""
    term = STUDY_CT.codelist("ISBDAGT").term("HMG-COA REDUCTASE")
    assert term.sponsor and term.code is None
    with pytest.raises(ct.CTLookupError):
        ct.term_code("ISBDAGT", "HMG-COA REDUCTASE", synonyms=False)
    base = one(is_, subject("04", "0004"), ISBDAGNT="HMG-COA REDUCTASE", ISDTC="2024-01-16")
    assert (base["ISORRES"], base["ISSTRESN"], base["ISSTRESU"]) == ("57.4", 57.4, "U/mL")
    assert (base["ISSTNRHI"], base["ISLLOQ"], base["ISDY"], base["VISIT"]) == (20.0, 10.0, -8.0, "BASELINE")
    assert base["ISMETHOD"] == "ELISA"
    m6 = one(is_, subject("04", "0004"), ISBDAGNT="HMG-COA REDUCTASE", ISDTC="2024-07-13")
    assert (m6["ISORRES"], m6["ISSTRESC"], m6["ISLLOQ"]) == ("<10", "<10", 10.0)
    assert pd.isna(m6["ISSTRESN"])


def test_is_ria_result_of_the_mg_subject(is_: pd.DataFrame) -> None:
    """01-0017 (infusion 2024-11-19): ACHR by RIA at SCREENING 2024-10-22 "8.7" nmol/L, cut-off 0.5,
    LLOQ 0.25 -> ACETYLCHOLINE RECEPTORS, RADIOIMMUNOPRECIPITATION ASSAY, ISDY = -28."""
    record = one(is_, subject("01", "0017"), ISBDAGNT="ACETYLCHOLINE RECEPTORS", ISDTC="2024-10-22")
    assert record["ISMETHOD"] == "RADIOIMMUNOPRECIPITATION ASSAY"
    assert (record["ISSTRESN"], record["ISSTRESU"], record["ISSTNRHI"], record["ISLLOQ"]) == (
        8.7,
        "nmol/L",
        0.5,
        0.25,
    )
    assert record["ISDY"] == -28.0


def test_is_codes_are_cdisc_or_declared_sponsor_terms(is_: pd.DataFrame) -> None:
    """ISTESTCD/ISTEST pairs share one C-code; every ISBDAGNT is a C181169 term or a declared sponsor
    extension; every collected isotype is IgG (raw ISOTYPE IGG) -> ATIGGAB only."""
    pairs = is_[["ISTESTCD", "ISTEST"]].drop_duplicates()
    assert pairs.values.tolist() == [["ATIGGAB", "IgG Autoantibody"]]
    for code, name in pairs.itertuples(index=False):
        assert ct.term_code("ISTESTCD", code, synonyms=False) == ct.term_code("ISTEST", name, synonyms=False)
    for agent in is_["ISBDAGNT"].unique():
        term = STUDY_CT.codelist("ISBDAGT").term(agent)
        assert term.sponsor or ct.term_code("ISBDAGT", agent, synonyms=False) == term.code


# --- CP ------------------------------------------------------------------------------------------------


def test_cp_cd19_b_cell_count_in_standard_units(cp: pd.DataFrame) -> None:
    """01-0017 (infusion 2024-11-19) flow BASELINE 2024-11-12 BLYCE CD19+ BLOOD "212" cells/uL ->
    BLYCE "B-Lymphocytes", CPMRKSTR "CD19+" (no sublineage), 212 10^6/L (cells/uL = 10^6/L x1), CPDY -7;
    DAY 7 2024-11-25 "0.18" -> 0.18 10^6/L, CPDY 7 (6 days after the infusion + 1)."""
    base = one(cp, subject("01", "0017"), CPTESTCD="BLYCE", CPSPEC="BLOOD", CPDTC="2024-11-12")
    assert base["CPTEST"] == "B-Lymphocytes"
    assert (base["CPMRKSTR"], base["CPCAT"], base["CPMETHOD"]) == (
        "CD19+",
        "IMMUNOPHENOTYPING",
        "FLOW CYTOMETRY",
    )
    assert pd.isna(base["CPSBMRKS"])
    assert (base["CPORRES"], base["CPORRESU"]) == ("212", "10^6/L")  # collected as cells/uL
    assert (base["CPSTRESC"], base["CPSTRESN"], base["CPSTRESU"]) == ("212", 212.0, "10^6/L")
    assert (base["VISIT"], base["CPDY"]) == ("BASELINE", -7.0)
    day7 = one(cp, subject("01", "0017"), CPTESTCD="BLYCE", CPSPEC="BLOOD", CPDTC="2024-11-25")
    assert (day7["CPSTRESN"], day7["CPSTRESU"], day7["CPDY"], day7["VISIT"]) == (0.18, "10^6/L", 7.0, "DAY 7")


def test_cp_marker_defined_subsets_use_the_sub_tests(cp: pd.DataFrame) -> None:
    """01-0017 BASELINE 2024-11-12: BLYCE CD20+ "197" cells/uL -> BLYS "BLym Sub" with CPSBMRKS "CD20+";
    TLYCE CD3+CD20dim "41.6" -> TLS "TLym Sub" with CPSBMRKS "CD20dim" (CD3+ is the T lineage) and
    CPMRKSTR "CD3+CD20dim"; BLYCELY CD19+ "20.3" % -> BLYCELY, 20.3 %; NKCE CD3-CD56+ "136" -> NKCE."""
    usubjid, day = subject("01", "0017"), "2024-11-12"
    cd20 = one(cp, usubjid, CPTESTCD="BLYS", CPDTC=day)
    assert (cd20["CPTEST"], cd20["CPSBMRKS"], cd20["CPMRKSTR"]) == ("BLym Sub", "CD20+", "CD20+")
    assert (cd20["CPSTRESN"], cd20["CPSTRESU"]) == (197.0, "10^6/L")
    cd20t = one(cp, usubjid, CPTESTCD="TLS", CPDTC=day)
    assert (cd20t["CPTEST"], cd20t["CPSBMRKS"], cd20t["CPMRKSTR"]) == ("TLym Sub", "CD20dim", "CD3+CD20dim")
    assert (cd20t["CPSTRESN"], cd20t["CPSTRESU"]) == (41.6, "10^6/L")
    pct = one(cp, usubjid, CPTESTCD="BLYCELY", CPSPEC="BLOOD", CPDTC=day)
    assert (pct["CPTEST"], pct["CPSTRESN"], pct["CPSTRESU"]) == ("B-Lymphocytes/Lymphocytes", 20.3, "%")
    nk = one(cp, usubjid, CPTESTCD="NKCE", CPDTC=day)
    assert (nk["CPTEST"], nk["CPMRKSTR"], nk["CPSTRESN"]) == ("Natural Killer Cells", "CD3-CD56+", 136.0)


def test_cp_bone_marrow_and_biopsy_percentages(cp: pd.DataFrame) -> None:
    """02-0006 BASELINE 2024-03-21 BONE MARROW: PC CD19-CD38++CD138+ "1.74" % -> the ratio test PLSTCECE
    "Total Plasma Cells/Total Cells" (a % is not a count: PC is kept for cells/uL); BLYCELY "6.52" %.
    03-0001 (LN) BASELINE 2023-11-11 KIDNEY biopsy: BLYCELY "19.9" %, CPSPEC KIDNEY (sponsor SPECTYPE term)."""
    marrow = one(cp, subject("02", "0006"), CPTESTCD="PLSTCECE", CPSPEC="BONE MARROW", CPDTC="2024-03-21")
    assert (marrow["CPTEST"], marrow["CPMRKSTR"]) == ("Total Plasma Cells/Total Cells", "CD19-CD38++CD138+")
    assert (marrow["CPORRES"], marrow["CPSTRESN"], marrow["CPSTRESU"]) == ("1.74", 1.74, "%")
    b_marrow = one(cp, subject("02", "0006"), CPTESTCD="BLYCELY", CPSPEC="BONE MARROW", CPDTC="2024-03-21")
    assert b_marrow["CPSTRESN"] == 6.52
    kidney = one(cp, subject("03", "0001"), CPTESTCD="BLYCELY", CPSPEC="KIDNEY", CPDTC="2023-11-11")
    assert (kidney["CPSTRESN"], kidney["CPSTRESU"]) == (19.9, "%")
    assert STUDY_CT.codelist("SPECTYPE").term("KIDNEY").sponsor
    blood_pc = cp[(cp["CPTESTCD"] == "PC")]
    assert set(blood_pc["CPSPEC"]) == {"BLOOD"} and set(blood_pc["CPSTRESU"]) == {"10^6/L"}


def test_cp_test_codes_are_ct_pairs(cp: pd.DataFrame) -> None:
    """Every CPTESTCD/CPTEST pair is one term of C181173/C181174 (same C-code) or a declared sponsor
    term; no record is left without a test (every POP/MARKERS combination of flow.csv is declared)."""
    assert cp["CPTESTCD"].notna().all()
    pairs = cp[["CPTESTCD", "CPTEST"]].drop_duplicates()
    assert set(pairs["CPTESTCD"]) == {"BLYCE", "BLYS", "BLYCELY", "TLS", "NKCE", "PB", "PC", "PLSTCECE"}
    for code, name in pairs.itertuples(index=False):
        term = STUDY_CT.codelist("CPTESTCD").term(code)
        if term.sponsor:
            continue
        assert ct.term_code("CPTESTCD", code, synonyms=False) == ct.term_code("CPTEST", name, synonyms=False)


# --- both ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["IS", "CP"])
def test_seq_is_unique_and_specs_raise_no_errors(sdtm: SdtmResult, domain: str) -> None:
    """--SEQ is 1..n within each subject; the dataset (and SUPPIS) pass their generated schema checks
    (types, Req, codelists, ISO 8601, unique natural key) and the mapping raised no error or warning."""
    frame = sdtm.datasets[domain]
    seq = f"{domain}SEQ"
    assert not frame.duplicated(["USUBJID", seq]).any()
    for _, group in frame.groupby("USUBJID"):
        assert sorted(group[seq]) == list(range(1, len(group) + 1))
    spec = sdtm.specs[domain]
    subjects = set(sdtm.datasets["DM"]["USUBJID"])
    assert check_dataset(frame, dataset_plan(spec, STUDY_CT, studyid=STUDY.studyid, subjects=subjects)) == []
    if f"SUPP{domain}" in sdtm.datasets:
        plan = supp_plan(spec, STUDY_CT, studyid=STUDY.studyid, subjects=subjects)
        assert check_dataset(sdtm.datasets[f"SUPP{domain}"], plan) == []
    forms = {f"{s.form}.csv" for s in spec.sources} | {domain, f"SUPP{domain}"}
    assert not [f for f in sdtm.findings if f.dataset in forms and f.severity != Severity.NOTICE]


@pytest.mark.parametrize(("form", "domain", "date"), [("autoab", "IS", "AADT"), ("flow", "CP", "FCDT")])
def test_every_row_before_the_cut_is_mapped(sdtm: SdtmResult, form: str, domain: str, date: str) -> None:
    """Reconciliation: each raw row dated on or before the data cut (2026-03-31) gives exactly one record
    of its domain; each later row (e.g. 02-0006 AQP4 MONTH 24 on 2026-04-15) is excluded by the cut."""
    rows = raw(form).reset_index(drop=True)
    rows[ROW] = rows.index + 2  # CSV line numbers: the header is line 1
    cut = STUDY.data_cut.isoformat()
    after = rows[date] > cut  # full ISO dates compare as text
    lineage = sdtm.lineage[(sdtm.lineage[FORM] == form) & (sdtm.lineage["DOMAIN"] == domain)]
    assert sorted(lineage[ROW]) == sorted(rows.loc[~after, ROW])
    excluded = sdtm.exclusions[sdtm.exclusions[FORM] == form]
    assert sorted(excluded[ROW]) == sorted(rows.loc[after, ROW])
    assert excluded["reason"].str.startswith("starts after the data cut").all()
    assert len(sdtm.datasets[domain]) == int((~after).sum())
