"""SDTM QS, RS (disease instruments), NV and VS on the built-in fixture, checked the way a reviewer checks
them by hand.

Each test names its subject by what makes it special in the raw CSVs (fixtures/raw) and compares the SDTM
records with values worked out from the raw rows; the arithmetic is in the comments. Study days count from
the infusion date (day 1, no day 0); --LOBXFL is the last assessment on or before the first
lymphodepletion dose (RFXSTDTC, a date without a time); VISITDY is the planned study day of study.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fixture_data import one, raw, records, subject

from cdisc168.sdtm.build import SdtmResult
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study

RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()
STUDY_CT = load_study_ct()
CUT = STUDY.data_cut.isoformat()  # 2026-03-31
MY_FORMS = ("sledai", "edss", "mg", "myositis", "mri", "vs")
MY_DATASETS = ("QS", "RS", "NV", "VS")


@pytest.fixture(scope="module")
def qs(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["QS"]


@pytest.fixture(scope="module")
def rs(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["RS"]


@pytest.fixture(scope="module")
def nv(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["NV"]


@pytest.fixture(scope="module")
def vs(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["VS"]


# --- QS ------------------------------------------------------------------------------------------------


def test_qs_mg_adl_total_of_an_mg_subject(qs: pd.DataFrame) -> None:
    """01-0017 (MG; LD from 2024-11-14, infused 2024-11-19): mg.csv BASELINE on 2024-11-12 has MG-ADL items
    1, 2, 3, 1, 1, 2, 1, 1 and MGADL_TOTAL 12 (= 1+2+3+1+1+2+1+1). QSDY: Nov 12 is 7 days before day 1
    (Nov 19) -> -7; the last assessment before LD -> QSLOBXFL Y. DAY 28 (2024-12-17): item 4 (breathing)
    fell to 0, total 11; Nov 19 + 28 days -> day 29, VISITDY 29."""
    usubjid = subject("01", "0017")
    total = one(qs, usubjid, QSTESTCD="MGADL09", QSDTC="2024-11-12")
    assert total["QSTEST"] == "MGADL-Total Score"
    assert total["QSCAT"] == "MG-ADL"
    assert (total["QSORRES"], total["QSSTRESC"], total["QSSTRESN"]) == ("12", "12", 12.0)
    assert (total["VISITNUM"], total["VISIT"], total["VISITDY"]) == (3.0, "BASELINE", -7.0)
    assert total["QSDY"] == -7
    assert total["EPOCH"] == "TREATMENT"
    assert total["QSLOBXFL"] == "Y"

    items = records(qs, usubjid, QSCAT="MG-ADL", QSDTC="2024-11-12")
    items = items[items["QSTESTCD"] != "MGADL09"].sort_values("QSTESTCD")
    assert list(items["QSTESTCD"]) == [f"MGADL0{i}" for i in range(1, 9)]
    assert list(items["QSSTRESN"]) == [1, 2, 3, 1, 1, 2, 1, 1]
    assert items.loc[items["QSTESTCD"] == "MGADL04", "QSTEST"].item() == "MGADL-Breathing"

    day28 = one(qs, usubjid, QSTESTCD="MGADL09", QSDTC="2024-12-17")
    assert (day28["QSSTRESN"], day28["VISIT"], day28["QSDY"], day28["VISITDY"]) == (11.0, "DAY 28", 29, 29)
    assert one(qs, usubjid, QSTESTCD="MGADL04", QSDTC="2024-12-17")["QSORRES"] == "0"
    assert pd.isna(day28["QSLOBXFL"])


def test_qs_every_mg_adl_total_is_the_raw_total(qs: pd.DataFrame) -> None:
    """One MGADL09 record per mg.csv row up to the data cut (57 of 58: 01-0017's MONTH 18 is after it),
    each equal to the collected MGADL_TOTAL on the same date."""
    mg = raw("mg")
    mg = mg[mg["MGDT"] <= CUT].assign(USUBJID=lambda f: STUDY.studyid + "-" + f["SITEID"] + "-" + f["SUBJID"])
    totals = qs[qs["QSTESTCD"] == "MGADL09"]
    assert len(totals) == len(mg) == 57
    merged = totals.merge(mg, left_on=["USUBJID", "QSDTC"], right_on=["USUBJID", "MGDT"], validate="1:1")
    assert (merged["QSORRES"] == merged["MGADL_TOTAL"]).all()


def test_qs_imacs_patient_reported_measures(qs: pd.DataFrame) -> None:
    """02-0016 (IMNM; LD 2024-10-25, infused 2024-10-30): myositis.csv SCREENING on 2024-10-02 has PTGA
    5.0 and HAQDI 1.125. QSORRES keeps "5.0", QSSTRESC is the standard number "5". QSDY: Oct 2 is 28 days
    before Oct 30 -> -28. BASELINE (2024-10-22, before LD) carries QSLOBXFL: PTGA 4.8, HAQ-DI 1.25."""
    usubjid = subject("02", "0016")
    ptga = one(qs, usubjid, QSTESTCD="PTGA01", QSDTC="2024-10-02")
    assert (ptga["QSCAT"], ptga["QSTEST"]) == ("PTGA", "PTGA-Patient Global Activity")
    assert (ptga["QSORRES"], ptga["QSSTRESC"], ptga["QSSTRESN"]) == ("5.0", "5", 5.0)
    assert (ptga["QSDY"], ptga["VISIT"]) == (-28, "SCREENING")
    haq = one(qs, usubjid, QSTESTCD="HAQDI", QSDTC="2024-10-02")
    assert haq["QSCAT"] == "HAQ-DI WITHOUT VAS"  # QSCAT C132534
    assert (haq["QSORRES"], haq["QSSTRESN"]) == ("1.125", 1.125)
    baseline = records(qs, usubjid, QSLOBXFL="Y")
    assert dict(zip(baseline["QSTESTCD"], baseline["QSSTRESN"], strict=True)) == {
        "PTGA01": 4.8,
        "HAQDI": 1.25,
    }
    assert set(baseline["QSDTC"]) == {"2024-10-22"}


# --- RS ------------------------------------------------------------------------------------------------


def test_rs_sledai_total_and_descriptor_scores(rs: pd.DataFrame) -> None:
    """02-0003 (SLE; LD 2023-12-13, infused 2023-12-18): sledai.csv BASELINE on 2023-12-12 marks PROTEIN,
    RASH, LOWCOMP and LEUKOP present, TOTAL 9 = 4 + 2 + 2 + 1 (SLEDAI-2K weights), PGA 1.3. RSDY: Dec 12 is
    6 days before Dec 18 -> -6; planned BASELINE VISITDY -7; the last assessment before LD -> RSLOBXFL Y."""
    usubjid = subject("02", "0003")
    total = one(rs, usubjid, RSTESTCD="SLED0125", RSDTC="2023-12-12")
    assert (total["RSCAT"], total["RSTEST"]) == ("SLEDAI-2K", "SLED01-Total Score")
    assert (total["RSORRES"], total["RSSTRESC"], total["RSSTRESN"]) == ("9", "9", 9.0)
    assert (total["VISITNUM"], total["VISIT"], total["VISITDY"], total["RSDY"]) == (3.0, "BASELINE", -7.0, -6)
    assert total["RSEVAL"] == "INVESTIGATOR"
    assert total["RSLOBXFL"] == "Y"

    items = records(rs, usubjid, RSCAT="SLEDAI-2K", RSDTC="2023-12-12")
    items = items[items["RSTESTCD"] != "SLED0125"]
    assert len(items) == 24
    present = items[items["RSORRES"] == "Y"]
    assert dict(zip(present["RSTEST"], present["RSSTRESC"], strict=True)) == {
        "SLED01-Proteinuria": "4",
        "SLED01-Rash": "2",
        "SLED01-Low Complement": "2",
        "SLED01-Leukopenia": "1",
    }
    assert set(items.loc[items["RSORRES"] == "N", "RSSTRESN"]) == {0.0}
    assert items["RSSTRESN"].sum() == total["RSSTRESN"] == 9

    pga = one(rs, usubjid, RSTESTCD="PGA01", RSDTC="2023-12-12")
    assert (pga["RSCAT"], pga["RSORRES"], pga["RSSTRESN"]) == ("PGA", "1.3", 1.3)


def test_rs_sledai_descriptor_scores_add_up_to_every_collected_total(rs: pd.DataFrame) -> None:
    """For every SLEDAI-2K assessment the descriptor scores (weight if present, 0 if absent) sum to the
    collected TOTAL: 77 assessments up to the data cut (03-0024's MONTH 12 on 2026-04-12 is after it)."""
    sledai = rs[rs["RSCAT"] == "SLEDAI-2K"]
    is_total = sledai["RSTESTCD"] == "SLED0125"
    scored = sledai[~is_total].groupby(["USUBJID", "RSDTC"])["RSSTRESN"].sum()
    totals = sledai[is_total].set_index(["USUBJID", "RSDTC"])["RSSTRESN"]
    assert len(totals) == 77
    assert scored.to_dict() == totals.to_dict()


def test_rs_edss_and_functional_systems_of_an_rrms_subject(rs: pd.DataFrame, sdtm: SdtmResult) -> None:
    """03-0008 (RRMS; LD 2024-04-15, infused 2024-04-20): edss.csv BASELINE 2024-04-13 EDSS 2.5 (RSDY -7,
    RSLOBXFL Y); MONTH 6 on 2024-10-12 EDSS 3.5 with FS sensory 3 and brain stem 2, rated by SQZ. RSDY: Apr
    20 -> Oct 12 is 175 days -> day 176; MONTH 6 is VISITNUM 17, VISITDY 181. Its MONTH 24 (2026-04-15) is
    after the data cut. EDSS and KFSS use the CDISC codes (EDSS01TC C112439, KFSS1TC C112443)."""
    usubjid = subject("03", "0008")
    baseline = one(rs, usubjid, RSTESTCD="EDSS0101", RSLOBXFL="Y")
    assert (baseline["RSDTC"], baseline["RSORRES"], baseline["RSDY"]) == ("2024-04-13", "2.5", -7)

    month6 = one(rs, usubjid, RSTESTCD="EDSS0101", RSDTC="2024-10-12")
    assert (month6["RSCAT"], month6["RSTEST"]) == ("EDSS", "EDSS01-Expanded Disability Score")
    assert (month6["RSORRES"], month6["RSSTRESC"], month6["RSSTRESN"]) == ("3.5", "3.5", 3.5)
    assert (month6["VISITNUM"], month6["VISIT"], month6["VISITDY"], month6["RSDY"]) == (
        17.0,
        "MONTH 6",
        181.0,
        176,
    )
    assert month6["EPOCH"] == "FOLLOW-UP"
    sensory = one(rs, usubjid, RSTESTCD="KFSS104", RSDTC="2024-10-12")
    assert (sensory["RSCAT"], sensory["RSTEST"], sensory["RSSTRESN"]) == (
        "KFSS",
        "KFSS1-Sensory Functions",
        3.0,
    )
    assert one(rs, usubjid, RSTESTCD="KFSS103", RSDTC="2024-10-12")["RSSTRESN"] == 2
    assert one(rs, usubjid, RSTESTCD="EDSSAMB", RSDTC="2024-10-12")["RSORRES"] == "0"
    assert len(records(rs, usubjid, RSCAT="KFSS", RSDTC="2024-10-12")) == 7
    assert "2026-04-15" not in set(records(rs, usubjid, RSTESTCD="EDSS0101")["RSDTC"])

    supp = sdtm.datasets["SUPPRS"]
    rater = supp[(supp["USUBJID"] == usubjid) & (supp["IDVARVAL"] == f"{month6['RSSEQ']:.0f}")]
    assert list(zip(rater["QNAM"], rater["QVAL"], strict=True)) == [("ASSESSOR", "SQZ")]


def test_rs_edss_score_in_standard_form(rs: pd.DataFrame) -> None:
    """02-0006 (NMOSD): edss.csv MONTH 3 on 2024-06-30 has EDSS "3.0": RSORRES keeps it, RSSTRESC is "3"."""
    record = one(rs, subject("02", "0006"), RSTESTCD="EDSS0101", RSDTC="2024-06-30")
    assert (record["RSORRES"], record["RSSTRESC"], record["RSSTRESN"]) == ("3.0", "3", 3.0)


def test_rs_qmg_mgfa_class_and_imacs_clinician_measures(rs: pd.DataFrame) -> None:
    """01-0017 (MG): mg.csv SCREENING 2024-10-22 has QMG_TOTAL 15 and MGFA_CLASS IIB; the class is
    collected at screening and baseline only. 02-0016 (IMNM): myositis.csv SCREENING 2024-10-02 has MMT8
    114, PHGA 6.8 and EXTRAMUSC 1.7 (clinician measures in RS; PtGA and HAQ-DI are in QS)."""
    usubjid = subject("01", "0017")
    qmg = one(rs, usubjid, RSTESTCD="QMG14", RSDTC="2024-10-22")
    assert (qmg["RSCAT"], qmg["RSTEST"], qmg["RSSTRESN"]) == ("QMG", "QMG-Total Score", 15.0)
    classes = records(rs, usubjid, RSTESTCD="MGFACLS")
    assert list(classes["RSDTC"]) == ["2024-10-22", "2024-11-12"]
    assert set(classes["RSORRES"]) == set(classes["RSSTRESC"]) == {"IIB"}
    assert classes["RSSTRESN"].isna().all()
    assert list(classes["RSLOBXFL"].fillna("")) == ["", "Y"]

    imnm = records(rs, subject("02", "0016"), RSDTC="2024-10-02")
    assert dict(zip(imnm["RSTESTCD"], zip(imnm["RSCAT"], imnm["RSSTRESN"], strict=True), strict=True)) == {
        "MMT8TOT": ("MMT-8", 114.0),
        "PHGA01": ("PHGA", 6.8),
        "MDAAT01": ("MDAAT", 1.7),
    }


def test_rs_test_codes_are_cdisc_or_declared_sponsor_terms(rs: pd.DataFrame) -> None:
    """EDSS/KFSS take CDISC codes and names; every other test is a declared sponsor term with its paired
    name; RSCAT is a CCCAT term."""
    decode = {}
    for codelist in ("RSTESTCD_SP", "EDSS01TC", "KFSS1TC"):
        decode.update({t.value: t.decode for t in STUDY_CT.codelist(codelist).terms})
    assert rs["RSTESTCD"].isin(list(decode)).all()
    assert (rs["RSTEST"] == rs["RSTESTCD"].map(decode)).all()
    assert set(rs["RSCAT"]) <= set(STUDY_CT.codelist("CCCAT").values)
    cdisc = rs["RSCAT"].isin(["EDSS", "KFSS"]) & (rs["RSTESTCD"] != "EDSSAMB")
    assert set(rs.loc[cdisc, "RSTESTCD"]) == {"EDSS0101", *(f"KFSS10{i}" for i in range(1, 8))}
    assert rs[["RSORRES", "RSSTRESC", "RSDTC", "VISITNUM"]].notna().all().all()


# --- NV ------------------------------------------------------------------------------------------------


def test_nv_mri_lesion_counts_of_an_rrms_subject(nv: pd.DataFrame) -> None:
    """03-0008 (RRMS; LD 2024-04-15, infused 2024-04-20): mri.csv MONTH 6 on 2024-10-12 has 3 new T2
    lesions, 0 enlarging and 1 Gd-enhancing lesion (MRI activity: not NEDA-3). NVDY 176 (Apr 20 -> Oct 12 is
    175 days). SCREENING (2024-03-23, 28 days before day 1 -> -28) is the pre-LD scan. MONTH 24 (2026-04-15)
    is after the data cut: 3 scans x 3 counts."""
    usubjid = subject("03", "0008")
    month6 = records(nv, usubjid, NVDTC="2024-10-12").set_index("NVTESTCD")
    assert month6["NVSTRESN"].to_dict() == {"ENLT2LES": 0.0, "GDLES": 1.0, "NEWT2LES": 3.0}
    assert month6.loc["NEWT2LES", "NVTEST"] == "Number of New T2 Lesions"
    assert month6.loc["GDLES", "NVTEST"] == "Number of Gd-Enhancing Lesions"
    assert month6.loc["GDLES", "NVMETHOD"] == "CONTRAST ENHANCED MRI"
    assert month6.loc["NEWT2LES", "NVMETHOD"] == "MRI"
    assert set(month6["NVLOC"]) == {"CENTRAL NERVOUS SYSTEM"}
    assert set(month6["NVDY"]) == {176}
    visits = zip(month6["VISITNUM"], month6["VISIT"], month6["VISITDY"], strict=True)
    assert set(visits) == {(17.0, "MONTH 6", 181.0)}
    assert month6.loc["NEWT2LES", "NVORRES"] == "3"

    subject_records = records(nv, usubjid)
    assert len(subject_records) == 9
    flagged = subject_records[subject_records["NVLOBXFL"] == "Y"]
    assert set(flagged["NVDTC"]) == {"2024-03-23"} and len(flagged) == 3
    assert set(flagged["NVDY"]) == {-28}


# --- VS ------------------------------------------------------------------------------------------------


def test_vs_temperature_in_celsius_and_the_pre_lymphodepletion_baseline(vs: pd.DataFrame) -> None:
    """01-0017 (LD 2024-11-14, infused 2024-11-19 09:10): vs.csv DAY 1 at 2024-11-20 10:15 has TEMP 38.2
    (fever, CRS day 2) and HR 102. VSDY 2; DAY 1 is VISITNUM 8, planned study day 2. The LD DAY -5 reading
    (2024-11-14 08:25, TEMP 36.5) is on the first LD day, which RFXSTDTC gives without a time, so it is
    the baseline; weight was last measured at BASELINE (2024-11-12, 56.3 kg)."""
    usubjid = subject("01", "0017")
    temp = one(vs, usubjid, VSTESTCD="TEMP", VSDTC="2024-11-20T10:15")
    assert temp["VSTEST"] == "Temperature"
    assert (temp["VSORRES"], temp["VSORRESU"]) == ("38.2", "C")
    assert (temp["VSSTRESC"], temp["VSSTRESN"], temp["VSSTRESU"]) == ("38.2", 38.2, "C")
    assert (temp["VISITNUM"], temp["VISIT"], temp["VISITDY"], temp["VSDY"]) == (8.0, "DAY 1", 2.0, 2)
    assert temp["EPOCH"] == "FOLLOW-UP"
    heart = one(vs, usubjid, VSTESTCD="HR", VSDTC="2024-11-20T10:15")
    assert (heart["VSTEST"], heart["VSSTRESN"], heart["VSSTRESU"]) == ("Heart Rate", 102.0, "beats/min")
    assert one(vs, usubjid, VSTESTCD="RESP", VSDTC="2024-11-20T10:15")["VSSTRESU"] == "breaths/min"

    baseline = records(vs, usubjid, VSLOBXFL="Y").set_index("VSTESTCD")
    assert baseline.loc["TEMP", "VSDTC"] == "2024-11-14T08:25"
    assert baseline.loc["TEMP", "VSSTRESN"] == 36.5
    assert (baseline.loc["WEIGHT", "VSDTC"], baseline.loc["WEIGHT", "VSSTRESN"]) == ("2024-11-12T09:15", 56.3)
    assert len(baseline) == 7


def test_vs_one_record_per_collected_sign_in_ct_units(vs: pd.DataFrame) -> None:
    """465 measurement times up to the data cut (469 rows, 4 after it); weight only where collected (45),
    plus the undated height and weight of the demography page (dm.csv, one each per screened subject)."""
    form = raw("vs")
    form = form[form["VSDT"] <= CUT]
    demography = raw("dm")
    vital = vs[vs["VSDTC"].notna()]
    undated = vs[vs["VSDTC"].isna()]
    assert undated["VSTESTCD"].value_counts().to_dict() == {
        "HEIGHT": len(demography),
        "WEIGHT": len(demography),
    }
    assert set(undated["VISIT"]) == {"SCREENING"} and set(undated["VISITNUM"]) == {1.0}
    counts = vital["VSTESTCD"].value_counts().to_dict()
    assert counts == {
        "TEMP": 465,
        "SYSBP": 465,
        "DIABP": 465,
        "HR": 465,
        "RESP": 465,
        "OXYSAT": 465,
        "WEIGHT": int((form["WEIGHT"] != "").sum()),
    }
    assert counts["WEIGHT"] == 45 and len(form) == 465
    units = {"TEMP": "C", "SYSBP": "mmHg", "DIABP": "mmHg", "HR": "beats/min", "RESP": "breaths/min"}
    units |= {"OXYSAT": "%", "WEIGHT": "kg", "HEIGHT": "cm"}
    assert (vs["VSORRESU"] == vs["VSTESTCD"].map(units)).all()
    assert (vs["VSSTRESU"] == vs["VSORRESU"]).all()
    assert set(vs["VSSTRESU"]) <= set(STUDY_CT.codelist("VSRESU").values)
    assert set(vs["VSTESTCD"]) <= set(STUDY_CT.codelist("VSTESTCD").values)


# --- all four ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MY_DATASETS)
def test_seq_numbers_each_subjects_records_one_to_n(sdtm: SdtmResult, name: str) -> None:
    frame = sdtm.datasets[name]
    seq = f"{name}SEQ"
    assert not frame.duplicated(["USUBJID", seq]).any()
    for _, group in frame.groupby("USUBJID"):
        assert sorted(group[seq]) == list(range(1, len(group) + 1))
    natural = [k for k in sdtm.specs[name].keys if k != "STUDYID"]
    assert not frame.duplicated(natural).any()


def test_no_error_findings_from_these_specs(sdtm: SdtmResult) -> None:
    """CT and number errors name the variable as DOMAIN.VARIABLE in the message and the raw form as dataset."""
    mine = [
        f
        for f in sdtm.findings.errors
        if f.dataset in MY_DATASETS or f.message.startswith(tuple(f"{d}." for d in MY_DATASETS))
    ]
    assert mine == []


def test_every_disease_and_vital_signs_row_is_mapped_or_after_the_cut(sdtm: SdtmResult) -> None:
    """Reconciliation of the six forms: each raw row (CSV line 2..n+1) feeds at least one record, except the
    rows after the data cut, which are reported exclusions. mg.csv rows feed both RS and QS; myositis.csv
    rows too."""
    lineage = sdtm.lineage
    cut = sdtm.exclusions[sdtm.exclusions["reason"].str.startswith("starts after the data cut")]
    for form in MY_FORMS:
        rows = set(range(2, len(raw(form)) + 2))
        mapped = set(lineage.loc[lineage["_FORM"] == form, "_ROW"].astype(int))
        after_cut = set(cut.loc[cut["_FORM"] == form, "_ROW"].astype(int))
        assert mapped | after_cut == rows, form
        assert not mapped & after_cut, form
    domains = lineage.groupby("_FORM")["DOMAIN"].agg(set)
    assert {"QS", "RS"} <= domains["mg"] and {"QS", "RS"} <= domains["myositis"]
    assert "RS" in domains["sledai"] and "RS" in domains["edss"]
    assert "NV" in domains["mri"] and "VS" in domains["vs"]
