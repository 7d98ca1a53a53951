"""SDTM DS (disposition) and RS (investigator response criteria) on the built-in fixture, checked the way a
reviewer checks them by hand.

Each test names its subject by what makes it special in the raw CSVs (fixtures/raw) and compares the SDTM
records with values worked out from the raw rows; the arithmetic is in the comments.
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


@pytest.fixture(scope="module")
def ds(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["DS"]


@pytest.fixture(scope="module")
def rs(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["RS"]


# --- DS ------------------------------------------------------------------------------------------------


def test_ds_screen_failure_is_a_screening_disposition_event(ds: pd.DataFrame) -> None:
    """01-0021 (enrol ELIGFL N, IEFAILCD EX07, SCRFDT 2025-01-01; ds.csv SCREEN FAILURE on 2025-01-01,
    EPOCH_LEFT SCREENING): DSDECOD SCREEN FAILURE (NCOMPLT C49628), the eligibility milestone NOT MET on
    the screen-failure date, no study day (never treated: RFSTDTC null) and no treatment milestones."""
    enrol = raw("enrol")
    failure = enrol[enrol["ELIGFL"] == "N"].iloc[0]
    assert (failure["SITEID"], failure["SUBJID"]) == ("01", "0021")
    usubjid = subject("01", "0021")

    event = one(ds, usubjid, DSCAT="DISPOSITION EVENT")
    assert event["DSDECOD"] == event["DSTERM"] == "SCREEN FAILURE"
    assert STUDY_CT.codelist("NCOMPLT").term("SCREEN FAILURE").code == "C49628"
    assert event["DSSTDTC"] == "2025-01-01" == failure["SCRFDT"]
    assert event["EPOCH"] == "SCREENING"
    assert (event["VISITNUM"], event["VISIT"]) == (1.0, "SCREENING")
    assert pd.isna(event["DSSTDY"])

    eligibility = one(ds, usubjid, DSDECOD="ELIGIBILITY CRITERIA NOT MET")
    assert eligibility["DSCAT"] == "PROTOCOL MILESTONE"
    assert eligibility["DSSTDTC"] == "2025-01-01"
    assert eligibility["EPOCH"] == "SCREENING"
    subject_terms = set(records(ds, usubjid)["DSDECOD"])
    assert subject_terms == {"INFORMED CONSENT OBTAINED", "ELIGIBILITY CRITERIA NOT MET", "SCREEN FAILURE"}


def test_ds_early_termination_keeps_the_reason_and_the_epoch_left(ds: pd.DataFrame) -> None:
    """02-0022 (LN) left during treatment: ds.csv EARLY TERMINATION, ADVERSE EVENT, 2025-01-31, EPOCH_LEFT
    TREATMENT. Never infused, so RFSTDTC = first LD day 2025-01-26 and DSSTDY = 31 - 26 + 1 = 6.
    04-0015 (MG) left during follow-up: PHYSICIAN DECISION on 2025-10-15; infused 2024-10-17, so
    DSSTDY = 363 days later + 1 = 364. EARLY TERMINATION is VISITNUM 99 (study.yaml)."""
    early = one(ds, subject("02", "0022"), DSCAT="DISPOSITION EVENT", EPOCH="TREATMENT")
    assert early["DSDECOD"] == early["DSTERM"] == "ADVERSE EVENT"
    assert early["DSSTDTC"] == "2025-01-31"
    assert early["DSSTDY"] == 6
    assert (early["VISITNUM"], early["VISIT"]) == (99.0, "EARLY TERMINATION")
    assert records(ds, subject("02", "0022"), DSDECOD="CAR-T INFUSED").empty

    late = one(ds, subject("04", "0015"), DSCAT="DISPOSITION EVENT", EPOCH="FOLLOW-UP")
    assert late["DSDECOD"] == "PHYSICIAN DECISION"
    assert late["DSSTDTC"] == "2025-10-15"
    assert late["DSSTDY"] == 364
    assert late["VISITNUM"] == 99.0


def test_ds_death_is_the_follow_up_disposition_event_of_the_death(ds: pd.DataFrame, sdtm: SdtmResult) -> None:
    """03-0001: death.csv DTHDT 2024-10-17; ds.csv DEATH on the same date, EPOCH_LEFT FOLLOW-UP, no VISIT.
    Infused 2023-11-18: 2023-11-18 -> 2024-11-18 is 366 days (leap year), minus 32 days -> 334, DSSTDY 335."""
    death = raw("death").iloc[0]
    usubjid = subject(death["SITEID"], death["SUBJID"])
    assert usubjid == subject("03", "0001")
    record = one(ds, usubjid, DSDECOD="DEATH")
    dm = sdtm.datasets["DM"].set_index("USUBJID")
    assert record["DSCAT"] == "DISPOSITION EVENT"
    assert record["DSSTDTC"] == death["DTHDT"] == dm.loc[usubjid, "DTHDTC"] == "2024-10-17"
    assert record["EPOCH"] == "FOLLOW-UP"
    assert record["DSSTDY"] == 335
    assert pd.isna(record["VISITNUM"]) and pd.isna(record["VISIT"])
    assert (ds["DSDECOD"] == "DEATH").sum() == len(raw("death")) == 1


def test_ds_ongoing_subject_has_no_follow_up_disposition_record(ds: pd.DataFrame) -> None:
    """01-0017 (MG, infused 2024-11-19) is still in follow-up at the data cut: ds.csv holds only the
    SCREENING and TREATMENT completions, so DS has no FOLLOW-UP disposition event (EOSSTT ONGOING is ADaM).
    02-0003 completed month 24: COMPLETED on 2025-12-08, EPOCH FOLLOW-UP, VISITNUM 23."""
    ongoing = records(ds, subject("01", "0017"), DSCAT="DISPOSITION EVENT")
    assert list(ongoing["EPOCH"]) == ["SCREENING", "TREATMENT"]
    assert set(ongoing["DSDECOD"]) == {"COMPLETED"}
    assert list(ongoing["DSSTDTC"]) == ["2024-10-28", "2024-11-19"]
    assert records(ds, subject("01", "0017"), EPOCH="FOLLOW-UP").empty

    completer = one(ds, subject("02", "0003"), DSCAT="DISPOSITION EVENT", EPOCH="FOLLOW-UP")
    assert completer["DSDECOD"] == "COMPLETED"
    assert completer["DSSTDTC"] == "2025-12-08"
    assert (completer["VISITNUM"], completer["VISIT"]) == (23.0, "MONTH 24")

    # One disposition event per epoch left, as collected: 52 ds.csv rows -> 52 records.
    events = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    assert len(events) == len(raw("ds")) == 52
    assert not events.duplicated(["USUBJID", "EPOCH"]).any()


def test_ds_informed_consent_milestone_is_rficdtc(ds: pd.DataFrame, sdtm: SdtmResult) -> None:
    """One INFORMED CONSENT OBTAINED milestone per screened subject, dated enrol ICDT = DM RFICDTC
    (02-0003: ICDT 2023-11-19; infused 2023-12-18, so DSSTDY = -29)."""
    consent = ds[ds["DSDECOD"] == "INFORMED CONSENT OBTAINED"].set_index("USUBJID")
    dm = sdtm.datasets["DM"].set_index("USUBJID")
    assert len(consent) == len(dm) == len(raw("enrol")) == 24
    assert (consent["DSSTDTC"] == dm.loc[consent.index, "RFICDTC"]).all()
    assert (consent["DSCAT"] == "PROTOCOL MILESTONE").all()
    assert (consent["EPOCH"] == "SCREENING").all()
    record = consent.loc[subject("02", "0003")]
    assert record["DSSTDTC"] == "2023-11-19"
    assert record["DSSTDY"] == -29
    assert (record["VISITNUM"], record["VISIT"]) == (1.0, "SCREENING")


def test_ds_treatment_milestones_follow_apheresis_and_infusion(ds: pd.DataFrame, sdtm: SdtmResult) -> None:
    """LEUKAPHERESIS is dated apher APHDT at the LEUKAPHERESIS visit (VISITNUM 2), CAR-T INFUSED the infusion
    start = RFSTDTC (study day 1). 03-0002: leukapheresis 2023-11-08, manufacturing FAILED, never infused:
    a LEUKAPHERESIS milestone, no infusion milestone. 01-0017: apheresis 2024-10-29, infusion 2024-11-19
    09:10 -> DSSTDY of the apheresis = -(21 days) = -21."""
    dm = sdtm.datasets["DM"].set_index("USUBJID")
    apher = ds[ds["DSDECOD"] == "LEUKAPHERESIS"]
    infused = ds[ds["DSDECOD"] == "CAR-T INFUSED"].set_index("USUBJID")
    assert len(apher) == len(raw("apher")) == 23
    assert len(infused) == len(raw("infusion")) == 21
    assert (infused["DSSTDTC"] == dm.loc[infused.index, "RFSTDTC"]).all()
    assert (infused["DSSTDY"] == 1).all()
    assert set(apher["EPOCH"]) == set(infused["EPOCH"]) == {"TREATMENT"}

    record = one(ds, subject("01", "0017"), DSDECOD="LEUKAPHERESIS")
    assert record["DSSTDTC"] == "2024-10-29"
    assert record["DSSTDY"] == -21
    assert (record["VISITNUM"], record["VISIT"]) == (2.0, "LEUKAPHERESIS")
    assert infused.loc[subject("01", "0017"), "DSSTDTC"] == "2024-11-19T09:10"

    failed = subject("03", "0002")
    assert one(ds, failed, DSDECOD="LEUKAPHERESIS")["DSSTDTC"] == "2023-11-08"
    assert failed not in infused.index
    assert one(ds, failed, DSCAT="DISPOSITION EVENT", EPOCH="TREATMENT")["DSDECOD"] == "PHYSICIAN DECISION"


def test_ds_eligibility_met_is_dated_at_enrolment(ds: pd.DataFrame) -> None:
    """Eligible subjects (ELIGFL Y) get ELIGIBILITY CRITERIA MET on ENRLDT: 23 of 24 screened."""
    enrol = raw("enrol")
    met = ds[ds["DSDECOD"] == "ELIGIBILITY CRITERIA MET"]
    assert len(met) == (enrol["ELIGFL"] == "Y").sum() == 23
    assert one(ds, subject("03", "0024"), DSDECOD="ELIGIBILITY CRITERIA MET")["DSSTDTC"] == "2025-03-14"


def test_ds_decod_comes_from_the_codelist_of_its_category(ds: pd.DataFrame) -> None:
    """NCOMPLT for disposition events, PROTMLST for protocol milestones (SDTMIG 3.4 DS DSDECOD note)."""
    events = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    milestones = ds[ds["DSCAT"] == "PROTOCOL MILESTONE"]
    assert len(events) + len(milestones) == len(ds)
    assert set(events["DSDECOD"]) <= set(STUDY_CT.codelist("NCOMPLT").values)
    assert set(milestones["DSDECOD"]) <= set(STUDY_CT.codelist("PROTMLST").values)
    assert set(ds["EPOCH"]) <= set(STUDY_CT.codelist("EPOCH").values)
    assert ds["DSSTDTC"].notna().all()


# --- RS ------------------------------------------------------------------------------------------------


def test_rs_kdigo_complete_renal_response_of_an_ln_subject(rs: pd.DataFrame) -> None:
    """03-0024 (LN, infused 2025-04-07 14:10): sledai.csv MONTH 3 on 2025-07-05 has KDIGO_RESP CR.
    RSDY: Apr 7 -> May 7 (30) -> Jun 7 (61) -> Jul 5 (89 days) -> day 90; MONTH 3 is VISITNUM 16,
    planned protocol day 90 -> VISITDY 91. Its MONTH 12 assessment (2026-04-12) is after the data cut."""
    usubjid = subject("03", "0024")
    record = one(rs, usubjid, RSTESTCD="RENRESP", RSDTC="2025-07-05")
    assert record["RSTEST"] == "Renal Response"
    assert record["RSCAT"] == "KDIGO 2024 LN"
    assert record["RSORRES"] == "CR"
    assert record["RSSTRESC"] == "COMPLETE RESPONSE"
    assert record["RSEVAL"] == "INVESTIGATOR"
    assert (record["VISITNUM"], record["VISIT"], record["VISITDY"]) == (16.0, "MONTH 3", 91.0)
    assert record["RSDY"] == 90
    assert record["EPOCH"] == "FOLLOW-UP"
    course = records(rs, usubjid, RSTESTCD="RENRESP")
    assert list(course["RSORRES"]) == ["NR", "PR", "CR", "CR", "CR"]
    assert "2026-04-12" not in set(course["RSDTC"])


def test_rs_mgfa_post_intervention_status_is_decoded(rs: pd.DataFrame) -> None:
    """03-0010 (MG, infused 2024-06-17): mg.csv MONTH 15 on 2025-09-19 has MGFA_PIS PR, which in MGFA-PIS
    is PHARMACOLOGIC REMISSION (not the KDIGO partial response). RSDY: 2024-06-17 -> 2025-06-17 is 365
    days, + 92 to 2025-09-17, + 2 = 459 days -> day 460. 01-0018 MONTH 3 (2025-02-27): MM."""
    record = one(rs, subject("03", "0010"), RSTESTCD="MGPIS", RSDTC="2025-09-19")
    assert record["RSTEST"] == "MGFA Post-Intervention Status"
    assert record["RSCAT"] == "MGFA-PIS"
    assert record["RSORRES"] == "PR"
    assert record["RSSTRESC"] == "PHARMACOLOGIC REMISSION"
    assert (record["VISITNUM"], record["VISIT"]) == (20.0, "MONTH 15")
    assert record["RSDY"] == 460

    mm = one(rs, subject("01", "0018"), RSTESTCD="MGPIS", RSDTC="2025-02-27")
    assert (mm["RSORRES"], mm["RSSTRESC"]) == ("MM", "MINIMAL MANIFESTATIONS")


def test_rs_holds_every_collected_response_and_reports_the_rest(rs: pd.DataFrame, sdtm: SdtmResult) -> None:
    """One response record per raw row with a response, on or before the data cut (2026-03-31). The
    sledai/mg rows without a response are reported as not selected by the response-criterion sources,
    and are still mapped: their SLEDAI-2K/PGA/BILAG and QMG/MGFA class scores are RS records of their own."""
    cut = STUDY.data_cut.isoformat()
    sledai, mg = raw("sledai"), raw("mg")
    kdigo = sledai[(sledai["KDIGO_RESP"] != "") & (sledai["SLEDT"] <= cut)]
    pis = mg[(mg["MGFA_PIS"] != "") & (mg["MGDT"] <= cut)]
    assert (rs["RSTESTCD"] == "RENRESP").sum() == len(kdigo) == 25
    assert (rs["RSTESTCD"] == "MGPIS").sum() == len(pis) == 45

    excluded = sdtm.exclusions[sdtm.exclusions["dataset"] == "RS"]
    no_response = excluded[
        excluded["reason"].str.contains("KDIGO 2024 renal response|post-intervention status")
    ]
    by_form = no_response.groupby("_FORM").size().to_dict()
    assert by_form == {
        "sledai": int((sledai["KDIGO_RESP"] == "").sum()),
        "mg": int((mg["MGFA_PIS"] == "").sum()),
    }
    mapped = sdtm.lineage[sdtm.lineage["DOMAIN"] == "RS"]
    for form in ("sledai", "mg"):
        rows = set(no_response.loc[no_response["_FORM"] == form, "_ROW"].astype(int))
        assert rows <= set(mapped.loc[mapped["_FORM"] == form, "_ROW"].astype(int))


def test_rs_test_codes_and_results_are_declared_terms(rs: pd.DataFrame) -> None:
    """Sponsor test codes with their paired names; RSCAT from CCCAT; results in their sponsor codelist."""
    rs = rs[rs["RSTESTCD"].isin(["RENRESP", "MGPIS"])]
    decode = {t.value: t.decode for t in STUDY_CT.codelist("RSTESTCD_SP").terms}
    assert (rs["RSTEST"] == rs["RSTESTCD"].map(decode)).all()
    assert set(rs["RSCAT"]) <= set(STUDY_CT.codelist("CCCAT").values)
    renal = rs["RSTESTCD"] == "RENRESP"
    assert set(rs.loc[renal, "RSSTRESC"]) <= set(STUDY_CT.codelist("KDIGOLNR").values)
    assert set(rs.loc[~renal, "RSSTRESC"]) <= set(STUDY_CT.codelist("MGFAPIS").values)
    assert rs[["RSORRES", "RSSTRESC", "RSDTC", "VISITNUM", "RSDY"]].notna().all().all()
    assert rs["RSSTRESN"].isna().all()


# --- both ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "seq"), [("DS", "DSSEQ"), ("RS", "RSSEQ")])
def test_seq_numbers_each_subjects_records_one_to_n(sdtm: SdtmResult, name: str, seq: str) -> None:
    frame = sdtm.datasets[name]
    assert not frame.duplicated(["USUBJID", seq]).any()
    for _, group in frame.groupby("USUBJID"):
        assert sorted(group[seq]) == list(range(1, len(group) + 1))


def test_no_error_findings_from_the_ds_and_rs_specs(sdtm: SdtmResult) -> None:
    """CT errors name the variable as DOMAIN.VARIABLE in the message and the raw form as dataset."""
    mine = [
        f for f in sdtm.findings.errors if f.dataset in ("DS", "RS") or f.message.startswith(("DS.", "RS."))
    ]
    assert mine == []
