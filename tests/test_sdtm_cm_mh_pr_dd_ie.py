"""SDTM CM, MH (+SUPPMH), PR (+SUPPPR), DD and IE on the built-in fixture, checked the way a reviewer checks
them by hand.

Each test names its subject by what makes it special in the raw CSVs (fixtures/raw) and compares the SDTM
records with values worked out from the raw rows; the arithmetic is in the comments. Study days count from
RFSTDTC (the C-CAR168 infusion; the first lymphodepletion day without an infusion), with no day 0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fixture_data import one, raw, records, subject

from cdisc168.findings import Severity
from cdisc168.raw.contracts import FORM, ROW
from cdisc168.sdtm.build import SdtmResult
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study

RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()
STUDY_CT = load_study_ct()
DOMAINS = ("CM", "MH", "PR", "DD", "IE")
FORMS = ("cm", "mh", "dxhist", "apher", "death", "enrol")


def supp(sdtm: SdtmResult, domain: str, parent: pd.Series) -> dict[str, str]:
    """QNAM → QVAL of one parent record."""
    frame = sdtm.datasets[f"SUPP{domain}"]
    seq = f"{parent[f'{domain}SEQ']:.0f}"
    mine = frame[(frame["USUBJID"] == parent["USUBJID"]) & (frame["IDVARVAL"] == seq)]
    assert set(mine["IDVAR"]) <= {f"{domain}SEQ"}
    return dict(zip(mine["QNAM"], mine["QVAL"], strict=True))


@pytest.fixture(scope="module")
def cm(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["CM"]


@pytest.fixture(scope="module")
def mh(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["MH"]


# --- CM ------------------------------------------------------------------------------------------------


def test_cm_glucocorticoid_given_for_crs_carries_cmindc_crs(cm: pd.DataFrame) -> None:
    """02-0006 (infused 2024-03-29): cm FORMSEQ 9 Dexamethasone 10 mg BID IV on 2024-03-30, class
    GLUCOCORTICOID, CMINDC CRS. CMCAT GLUCOCORTICOID, CMINDC CRS (what keeps it out of the disease-GC
    endpoints), study day 2024-03-30 - 2024-03-29 + 1 = 2, EPOCH FOLLOW-UP (the Follow-up element starts the
    day after the infusion)."""
    record = one(cm, subject("02", "0006"), CMTRT="Dexamethasone")
    assert (record["CMDECOD"], record["CMCAT"], record["CMINDC"]) == (
        "DEXAMETHASONE",
        "GLUCOCORTICOID",
        "CRS",
    )
    assert (record["CMCLAS"], record["CMCLASCD"]) == ("GLUCOCORTICOIDS", "H02AB")
    assert (record["CMDOSE"], record["CMDOSU"], record["CMDOSFRQ"]) == (10.0, "mg", "BID")
    assert record["CMROUTE"] == "INTRAVENOUS"
    assert record["CMSTDTC"] == record["CMENDTC"] == "2024-03-30"
    assert record["CMSTDY"] == record["CMENDY"] == 2
    assert record["EPOCH"] == "FOLLOW-UP"
    assert pd.isna(record["CMENRTPT"])

    # Every glucocorticoid collected for CRS or ICANS keeps that indication; the disease ones say DISEASE.
    gc = cm[cm["CMCAT"] == "GLUCOCORTICOID"]
    assert set(gc["CMINDC"]) == {"DISEASE", "CRS"}
    assert len(gc[gc["CMINDC"].isin(["CRS", "ICANS"])]) == 1


def test_cm_tocilizumab_for_crs_is_crs_icans_management(cm: pd.DataFrame) -> None:
    """03-0020 (infused 2025-01-02): cm FORMSEQ 9 Tocilizumab 8 mg/kg once IV on 2025-01-04, class CRS-TX,
    for CRS. CMCAT CRS/ICANS MANAGEMENT (the raw class CRS-TX mapped to the sponsor category), CMINDC CRS,
    CMDOSU mg/kg, study day 2025-01-04 - 2025-01-02 + 1 = 3."""
    record = one(cm, subject("03", "0020"), CMDECOD="TOCILIZUMAB")
    assert (record["CMCAT"], record["CMINDC"]) == ("CRS/ICANS MANAGEMENT", "CRS")
    assert (record["CMDOSE"], record["CMDOSU"], record["CMDOSFRQ"]) == (8.0, "mg/kg", "ONCE")
    assert (record["CMSTDY"], record["EPOCH"]) == (3, "FOLLOW-UP")


def test_cm_prior_medication_before_consent_has_no_epoch(cm: pd.DataFrame) -> None:
    """02-0006 (consent 2024-02-27, infused 2024-03-29): cm FORMSEQ 1 Azathioprine 100 mg QD oral
    2021-03-22 .. 2024-03-12. It starts before the first element (Screening, from consent): EPOCH null.
    CMSTDY: 2021-03-22 is 1096 + 7 = 1103 days before 2024-03-29 (2024 a leap year) → -1103 (no day 0);
    CMENDY: 2024-03-12 is 17 days before → -17."""
    record = one(cm, subject("02", "0006"), CMDECOD="AZATHIOPRINE")
    assert pd.isna(record["EPOCH"])
    assert (record["CMSTDTC"], record["CMENDTC"]) == ("2021-03-22", "2024-03-12")
    assert (record["CMSTDY"], record["CMENDY"]) == (-1103, -17)
    assert (record["CMCAT"], record["CMINDC"]) == ("IMMUNOSUPPRESSANT", "DISEASE")


def test_cm_partial_start_date_is_kept_without_study_day(cm: pd.DataFrame) -> None:
    """03-0019: cm FORMSEQ 4 Methylprednisolone started "2023-05" (month only), ended 2025-01-16. CMSTDTC
    keeps the partial date; CMSTDY and EPOCH need a full date and stay null; CMENDY is computed
    (2025-01-16 - 2024-12-21 + 1 = 27, infused 2024-12-21)."""
    record = one(cm, subject("03", "0019"), CMDECOD="METHYLPREDNISOLONE", CMENDTC="2025-01-16")
    assert record["CMSTDTC"] == "2023-05"
    assert pd.isna(record["CMSTDY"]) and pd.isna(record["EPOCH"])
    assert (record["CMENDTC"], record["CMENDY"]) == ("2025-01-16", 27)


def test_cm_ongoing_medication_is_ongoing_at_the_end_of_study(cm: pd.DataFrame) -> None:
    """01-0017: cm FORMSEQ 14 Prednisone 5 mg QD from 2025-03-12, CMONGO Y, no end date → CMENRTPT ONGOING
    (STENRF C53279) with CMENTPT "END OF STUDY" (as AEENRTPT/AEENTPT), CMENDTC null. The earlier prednisone
    step 7.5 mg to 2025-03-11 (CMONGO N) has neither. Over the whole fixture the 16 cm.csv rows with
    CMONGO Y are the 16 ONGOING records."""
    usubjid = subject("01", "0017")
    ongoing = one(cm, usubjid, CMDECOD="PREDNISONE", CMDOSE=5.0)
    assert (ongoing["CMENRTPT"], ongoing["CMENTPT"]) == ("ONGOING", "END OF STUDY")
    assert STUDY_CT.codelist("STENRF").term("ONGOING").code == "C53279"
    assert ongoing["CMSTDTC"] == "2025-03-12" and pd.isna(ongoing["CMENDTC"])
    stopped = one(cm, usubjid, CMDECOD="PREDNISONE", CMDOSE=7.5)
    assert stopped["CMENDTC"] == "2025-03-11"
    assert pd.isna(stopped["CMENRTPT"]) and pd.isna(stopped["CMENTPT"])
    assert (raw("cm")["CMONGO"] == "Y").sum() == 16 == (cm["CMENRTPT"] == "ONGOING").sum()
    assert set(cm["CMENRTPT"].dropna()) == {"ONGOING"}
    assert cm["CMENTPT"].notna().equals(cm["CMENRTPT"].notna())


def test_cm_weekly_frequencies_and_ivig_category(cm: pd.DataFrame) -> None:
    """04-0004 (consent 2023-12-22): Methotrexate 15 mg QW → CMDOSFRQ EVERY WEEK; IVIG 2 g/kg Q4W from
    2022-10-28 → EVERY 4 WEEKS (FREQ C71113 submission values), CMCAT IVIG/PLEX, a prior medication
    (EPOCH null). 02-0006's plasma exchange (class PLEX, no dose collected) is IVIG/PLEX too."""
    usubjid = subject("04", "0004")
    assert one(cm, usubjid, CMDECOD="METHOTREXATE")["CMDOSFRQ"] == "EVERY WEEK"
    ivig = one(cm, usubjid, CMDOSFRQ="EVERY 4 WEEKS")
    assert (ivig["CMDECOD"], ivig["CMCAT"], ivig["CMDOSE"], ivig["CMDOSU"]) == (
        "IMMUNOGLOBULIN HUMAN NORMAL",
        "IVIG/PLEX",
        2.0,
        "g/kg",
    )
    assert pd.isna(ivig["EPOCH"])
    plex = one(cm, subject("02", "0006"), CMDECOD="PLASMA EXCHANGE")
    assert plex["CMCAT"] == "IVIG/PLEX"
    assert pd.isna(plex["CMDOSE"]) and pd.isna(plex["CMDOSU"]) and pd.isna(plex["CMROUTE"])
    assert set(cm["CMDOSFRQ"].dropna()) <= set(STUDY_CT.codelist("FREQ").values)


def test_cm_has_one_record_per_cm_row_and_no_predeq(sdtm: SdtmResult, cm: pd.DataFrame) -> None:
    """267 cm.csv rows, none after the data cut → 267 CM records. The premedications of infusion.PREMED are
    the cm.csv rows with CMINDC PREMEDICATION (60), not added a second time. PREDEQ is left to ADaM (ADGC):
    no SUPPCM."""
    assert len(cm) == len(raw("cm")) == 267
    assert (cm["CMINDC"] == "PREMEDICATION").sum() == 60
    assert "SUPPCM" not in sdtm.datasets


# --- MH ------------------------------------------------------------------------------------------------


def test_mh_primary_diagnosis_of_lupus_nephritis_with_its_suppmh(sdtm: SdtmResult, mh: pd.DataFrame) -> None:
    """02-0014 (enrol INDICAT LN; dxhist DIAGDT 2023-03-19, CLASSCRIT "2019 EULAR/ACR SLE; ISN/RPS 2018 LN
    (renal biopsy)", DISDUR_Y 1.5, N_PRIOR_IS 3, PRIOR_RTX N, SERO dsDNA+, LN_CLASS III+V). One PRIMARY
    DIAGNOSIS record "Lupus nephritis" from 2023-03-19, ongoing at screening, with the dxhist values in
    SUPPMH; the SLE it arose from (mh.csv, 2018-11-18) stays GENERAL MEDICAL HISTORY; mh.csv's own
    "Lupus nephritis" row is the same diagnosis and is not mapped twice."""
    usubjid = subject("02", "0014")
    primary = one(mh, usubjid, MHCAT="PRIMARY DIAGNOSIS")
    assert (primary["MHTERM"], primary["MHSTDTC"]) == ("Lupus nephritis", "2023-03-19")
    assert (primary["MHENRTPT"], primary["MHENTPT"]) == ("ONGOING", "SCREENING")
    assert pd.isna(primary["MHENDTC"])
    assert supp(sdtm, "MH", primary) == {
        "CLASCRIT": "2019 EULAR/ACR SLE; ISN/RPS 2018 LN (renal biopsy)",
        "DISDURY": "1.5",
        "REFRACT": "No complete renal response after >= 6 months of MMF or cyclophosphamide induction plus GC",
        "NPRIORIS": "3",
        "PRIORRTX": "N",
        "SERO": "dsDNA+",
        "LNCLASS": "III+V",
    }
    sle = one(mh, usubjid, MHTERM="Systemic lupus erythematosus")
    assert (sle["MHCAT"], sle["MHSTDTC"]) == ("GENERAL MEDICAL HISTORY", "2018-11-18")
    assert len(records(mh, usubjid, MHTERM="Lupus nephritis")) == 1
    assert list(records(mh, usubjid)["MHTERM"]) == [  # chronological (MHSTDTC)
        "Resolved hepatitis B infection (anti-HBc positive)",
        "Systemic lupus erythematosus",
        "Lupus nephritis",
        "Antiphospholipid antibody positive",
    ]


def test_mh_primary_diagnosis_of_mg_with_partial_date_and_relapses(
    sdtm: SdtmResult, mh: pd.DataFrame
) -> None:
    """02-0005 (INDICAT MG; dxhist DIAGDT "2020-01", MGFA_CLASS IVB, RELAPSES_24M 2, SERO AChR+):
    MHSTDTC keeps the partial date; SUPPMH MGFACLS IVB and RELAP24M 2; no LN class."""
    primary = one(mh, subject("02", "0005"), MHCAT="PRIMARY DIAGNOSIS")
    assert (primary["MHTERM"], primary["MHSTDTC"]) == ("Myasthenia gravis", "2020-01")
    qualifiers = supp(sdtm, "MH", primary)
    assert (qualifiers["MGFACLS"], qualifiers["RELAP24M"], qualifiers["SERO"]) == ("IVB", "2", "AChR+")
    assert "LNCLASS" not in qualifiers


def test_mh_prior_rituximab_date(sdtm: SdtmResult, mh: pd.DataFrame) -> None:
    """02-0009 (SLE; dxhist PRIOR_RTX Y, PRIOR_RTX_DT 2021-04-17, as cm.csv's first rituximab infusion):
    SUPPMH PRIORRTX Y and PRRTXDTC 2021-04-17 on the primary diagnosis record."""
    primary = one(mh, subject("02", "0009"), MHCAT="PRIMARY DIAGNOSIS")
    assert primary["MHTERM"] == "Systemic lupus erythematosus"
    qualifiers = supp(sdtm, "MH", primary)
    assert (qualifiers["PRIORRTX"], qualifiers["PRRTXDTC"]) == ("Y", "2021-04-17")


def test_mh_one_primary_diagnosis_per_subject_keeping_every_dxhist_value(
    sdtm: SdtmResult, mh: pd.DataFrame
) -> None:
    """Every dxhist row (24 subjects, the screen failure 01-0021 included) is one PRIMARY DIAGNOSIS record
    whose MHSTDTC is DIAGDT and whose SUPPMH holds each non-empty dxhist value as collected."""
    dxhist = raw("dxhist")
    qnam = {
        "CLASSCRIT": "CLASCRIT",
        "DISDUR_Y": "DISDURY",
        "REFRACT_DEF": "REFRACT",
        "N_PRIOR_IS": "NPRIORIS",
        "PRIOR_RTX": "PRIORRTX",
        "PRIOR_RTX_DT": "PRRTXDTC",
        "SERO": "SERO",
        "MGFA_CLASS": "MGFACLS",
        "LN_CLASS": "LNCLASS",
        "RELAPSES_24M": "RELAP24M",
    }
    assert set(dxhist.columns) == {"STUDYID", "SITEID", "SUBJID", "VISIT", "FORMSEQ", "DIAGDT", *qnam}
    primary = mh[mh["MHCAT"] == "PRIMARY DIAGNOSIS"]
    assert len(primary) == len(dxhist) == primary["USUBJID"].nunique() == 24
    for _, row in dxhist.iterrows():
        record = one(primary, subject(row["SITEID"], row["SUBJID"]))
        assert record["MHSTDTC"] == row["DIAGDT"]
        expected = {qnam[c]: row[c] for c in qnam if row[c] != ""}
        assert supp(sdtm, "MH", record) == expected


def test_mh_duplicate_of_the_indication_is_reported_and_loses_nothing(
    sdtm: SdtmResult, mh: pd.DataFrame
) -> None:
    """mh.csv repeats each subject's indication (24 rows: same term as the primary diagnosis, started on
    DIAGDT, ongoing). Those rows, and only those, are excluded with a reason naming dxhist; their term,
    start date and ongoing flag are the primary diagnosis record's."""
    form = raw("mh")
    excluded = sdtm.exclusions[(sdtm.exclusions[FORM] == "mh") & (sdtm.exclusions["dataset"] == "MH")]
    assert len(excluded) == 24 == len(form) - int((mh[FORM] == "mh").sum())
    assert set(excluded["reason"]) == {
        "the study indication's diagnosis: mapped once, as the MH PRIMARY DIAGNOSIS record from the "
        "disease history form (dxhist)"
    }
    for line in excluded[ROW]:
        row = form.iloc[int(line) - 2]  # _ROW is the CSV line (header = line 1)
        primary = one(mh, subject(row["SITEID"], row["SUBJID"]), MHCAT="PRIMARY DIAGNOSIS")
        assert (primary["MHTERM"], primary["MHSTDTC"], primary["MHENRTPT"]) == (
            row["MHTERM"],
            row["MHSTDT"],
            "ONGOING" if row["MHONGO"] == "Y" else None,
        )


def test_mh_general_history_ongoing_and_resolved(mh: pd.DataFrame) -> None:
    """01-0021: "Gastro-oesophageal reflux disease" from "2015-06", MHONGO Y → GENERAL MEDICAL HISTORY,
    partial MHSTDTC kept, MHENRTPT ONGOING with MHENTPT SCREENING. 02-0005: "Thymectomy" 2021-07-30 ..
    2021-07-30, MHONGO N → ended, no MHENRTPT/MHENTPT."""
    gerd = one(mh, subject("01", "0021"), MHTERM="Gastro-oesophageal reflux disease")
    assert (gerd["MHCAT"], gerd["MHSTDTC"], gerd["MHENRTPT"], gerd["MHENTPT"]) == (
        "GENERAL MEDICAL HISTORY",
        "2015-06",
        "ONGOING",
        "SCREENING",
    )
    thymectomy = one(mh, subject("02", "0005"), MHTERM="Thymectomy")
    assert thymectomy["MHSTDTC"] == thymectomy["MHENDTC"] == "2021-07-30"
    assert pd.isna(thymectomy["MHENRTPT"]) and pd.isna(thymectomy["MHENTPT"])
    assert set(mh["MHCAT"]) == {"PRIMARY DIAGNOSIS", "GENERAL MEDICAL HISTORY"}


# --- PR ------------------------------------------------------------------------------------------------


def test_pr_one_leukapheresis_per_leukapheresed_subject(sdtm: SdtmResult) -> None:
    """apher.csv has 23 rows (every subject but the screen failure 01-0021): 23 LEUKAPHERESIS records.
    02-0006: APHDT 2024-03-08, infused 2024-03-29 → PRSTDY 2024-03-08 - 2024-03-29 = -21, VISIT
    LEUKAPHERESIS (VISITNUM 2), EPOCH TREATMENT (the Leukapheresis element starts that day)."""
    pr = sdtm.datasets["PR"]
    assert len(pr) == len(raw("apher")) == pr["USUBJID"].nunique() == 23
    assert subject("01", "0021") not in set(pr["USUBJID"])
    assert set(pr["PRTRT"]) == {"LEUKAPHERESIS"} and set(pr["PRCAT"]) == {"CAR-T MANUFACTURING"}
    record = one(pr, subject("02", "0006"))
    assert (record["PRSTDTC"], record["PRSTDY"]) == ("2024-03-08", -21)
    assert (record["VISITNUM"], record["VISIT"], record["EPOCH"]) == (2.0, "LEUKAPHERESIS", "TREATMENT")
    assert supp(sdtm, "PR", record) == {
        "APHVOL": "10140.0",
        "CD3COLL": "13.4",
        "MFGSTAT": "RELEASED",
    }


def test_pr_manufacturing_failure_and_ld_only_subject(sdtm: SdtmResult) -> None:
    """03-0002: leukapheresis 2023-11-08, 9000 mL processed, 7.2x10^9 CD3+ cells, manufacturing FAILED
    ("Sterility test positive"), never treated (RFSTDTC null) → no PRSTDY; SUPPPR keeps the failure.
    02-0022: leukapheresis 2025-01-10, lymphodepletion from 2025-01-26 but no infusion (RFSTDTC = first LD
    day) → PRSTDY 2025-01-10 - 2025-01-26 = -16."""
    pr = sdtm.datasets["PR"]
    failed = one(pr, subject("03", "0002"))
    assert failed["PRSTDTC"] == "2023-11-08" and pd.isna(failed["PRSTDY"])
    assert failed["EPOCH"] == "TREATMENT"
    assert supp(sdtm, "PR", failed) == {
        "APHVOL": "9000.0",
        "CD3COLL": "7.2",
        "MFGSTAT": "FAILED",
        "MFGFAILR": "Sterility test positive",
    }
    assert one(pr, subject("02", "0022"))["PRSTDY"] == -16


# --- DD ------------------------------------------------------------------------------------------------


def test_dd_cause_of_death_equals_the_death_form(sdtm: SdtmResult) -> None:
    """03-0001 is the one death (death.csv: DTHDT 2024-10-17, DTHCAUS "Severe pneumonia", AUTOPSY N):
    DD PRCDTH "Primary Cause of Death" = "Severe pneumonia" and AUTOPIND "Autopsy Indicator" = N (DTHDXCD
    C116108 terms C99531, C135384); DM has DTHDTC 2024-10-17 and DTHFL Y. No collection date on the form."""
    death = raw("death").iloc[0]
    usubjid = subject(death["SITEID"], death["SUBJID"])
    assert usubjid == subject("03", "0001")
    dd = sdtm.datasets["DD"]
    assert set(dd["USUBJID"]) == {usubjid} and len(dd) == 2
    cause = one(dd, usubjid, DDTESTCD="PRCDTH")
    assert cause["DDTEST"] == "Primary Cause of Death"
    assert cause["DDORRES"] == cause["DDSTRESC"] == death["DTHCAUS"] == "Severe pneumonia"
    autopsy = one(dd, usubjid, DDTESTCD="AUTOPIND")
    assert (autopsy["DDTEST"], autopsy["DDORRES"], autopsy["DDSTRESC"]) == ("Autopsy Indicator", "N", "N")
    assert dd["DDDTC"].isna().all()
    codelist = STUDY_CT.codelist("DTHDXCD")
    assert (codelist.code, codelist.term("PRCDTH").code, codelist.term("AUTOPIND").code) == (
        "C116108",
        "C99531",
        "C135384",
    )
    dm = one(sdtm.datasets["DM"], usubjid)
    assert (dm["DTHDTC"], dm["DTHFL"]) == (death["DTHDT"], "Y")


# --- IE ------------------------------------------------------------------------------------------------


def test_ie_screen_failure_criterion_with_the_ti_text(sdtm: SdtmResult) -> None:
    """01-0021 (enrol ELIGFL N, IEFAILCD EX07, SCRFDT 2025-01-01) is the only screen failure: one IE record,
    IETESTCD EX07 with TI's text, IECAT EXCLUSION, IEORRES/IESTRESC Y (the exclusion criterion was met),
    IEDTC 2025-01-01, VISIT SCREENING (VISITNUM 1), EPOCH SCREENING, no study day (never treated)."""
    ie = sdtm.datasets["IE"]
    ti = sdtm.datasets["TI"].set_index("IETESTCD")
    assert len(ie) == 1
    record = one(ie, subject("01", "0021"))
    assert record["IETESTCD"] == "EX07"
    assert record["IETEST"] == ti.loc["EX07", "IETEST"]
    assert record["IETEST"].startswith("Clinically significant CNS disorder other than the study indication")
    assert record["IECAT"] == ti.loc["EX07", "IECAT"] == "EXCLUSION"
    assert record["IEORRES"] == record["IESTRESC"] == "Y"
    assert record["IEDTC"] == "2025-01-01"
    assert (record["VISITNUM"], record["VISIT"], record["EPOCH"]) == (1.0, "SCREENING", "SCREENING")
    assert pd.isna(record["IEDY"])


def test_ie_criterion_codelist_is_ti(sdtm: SdtmResult) -> None:
    """The IETESTCD codelist IE decodes IETEST from holds exactly TI's codes with TI's texts, so every
    criterion a screen failure can fail gets the protocol wording; IN.. codes are inclusion criteria and
    EX.. codes exclusion criteria, as in TI."""
    ti = sdtm.datasets["TI"]
    terms = {t.value: t.decode for t in STUDY_CT.codelist("IETESTCD").terms}
    assert terms == dict(zip(ti["IETESTCD"], ti["IETEST"], strict=True))
    assert all(
        cat == ("INCLUSION" if code[:2] == "IN" else "EXCLUSION")
        for code, cat in zip(ti["IETESTCD"], ti["IECAT"], strict=True)
    )


# --- across the five domains ---------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_seq_is_unique_within_subject_and_supp_points_at_a_parent(sdtm: SdtmResult, domain: str) -> None:
    frame = sdtm.datasets[domain]
    seq = f"{domain}SEQ"
    assert not frame.duplicated(["USUBJID", seq]).any()
    assert frame[seq].notna().all()
    assert (frame.groupby("USUBJID")[seq].min() == 1).all()
    assert (frame.groupby("USUBJID")[seq].max() == frame.groupby("USUBJID").size()).all()
    if f"SUPP{domain}" in sdtm.datasets:
        parents = set(zip(frame["USUBJID"], frame[seq].map("{:.0f}".format), strict=True))
        qualifiers = sdtm.datasets[f"SUPP{domain}"]
        assert set(zip(qualifiers["USUBJID"], qualifiers["IDVARVAL"], strict=True)) <= parents
        assert not qualifiers.duplicated(["USUBJID", "IDVARVAL", "QNAM"]).any()


def test_no_error_findings_from_these_domains_or_their_forms(sdtm: SdtmResult) -> None:
    findings = sdtm.findings.to_frame()
    ours = {*DOMAINS, *(f"SUPP{d}" for d in DOMAINS), *(f"{f}.csv" for f in FORMS)}
    errors = findings[(findings["severity"] == Severity.ERROR) & findings["dataset"].isin(ours)]
    assert errors.empty, errors.to_string()
