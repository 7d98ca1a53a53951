"""SDTM FA (daily CRS/ICANS grading components) and CE (disease relapses) on the built-in fixture, checked
the way a reviewer checks them by hand.

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
CRS = "CYTOKINE RELEASE SYNDROME"
ICANS = "IMMUNE EFFECTOR CELL-ASSOCIATED NEUROTOXICITY SYNDROME"
# crsdaily.csv component columns -> FATESTCD (terminology.yaml FATESTCD, sponsor terms)
COMPONENTS = {
    "TMAX_C": "TEMPMAX",
    "VASOPRESSOR_N": "VASOPN",
    "VASOPRESSIN": "VASOPIN",
    "O2_LPM": "O2FLOW",
    "O2_DEVICE": "O2DEVICE",
    "ICE_SCORE": "ICESCORE",
    "CONSCIOUSNESS": "CONSC",
    "SEIZURE": "SEIZURE",
    "MOTOR": "MOTORWK",
    "CEREB_EDEMA": "CEREDEMA",
}


@pytest.fixture(scope="module")
def fa(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["FA"]


@pytest.fixture(scope="module")
def ce(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["CE"]


@pytest.fixture(scope="module")
def suppce(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["SUPPCE"]


def qualifiers(suppce: pd.DataFrame, usubjid: str, seq: float) -> dict[str, str]:
    rows = suppce[(suppce["USUBJID"] == usubjid) & (suppce["IDVARVAL"] == f"{seq:.0f}")]
    assert (rows["IDVAR"] == "CESEQ").all()
    return dict(zip(rows["QNAM"], rows["QVAL"], strict=True))


# --- FA ------------------------------------------------------------------------------------------------


def test_fa_grade_2_crs_worst_day_keeps_the_oxygen_that_made_it_grade_2(
    fa: pd.DataFrame, sdtm: SdtmResult
) -> None:
    """03-0012 (NMOSD): ae.csv AE-003 Cytokine release syndrome, ASTCT grade 2, 2024-08-03..2024-08-05.
    crsdaily.csv AE-003 has three days; the worst is 2024-08-04: TMAX_C 39.2, O2_LPM 4.0 on LFNC, no
    vasopressor (grade 2 = fever + low-flow oxygen <= 6 L/min). Infused 2024-08-01 (study day 1), so
    2024-08-04 is FADY 4. Three days x 9 components (CONSCIOUSNESS not collected) = 27 FA records."""
    usubjid = subject("03", "0012")
    ae = one(sdtm.datasets["AE"], usubjid, AESPID="AE-003")
    assert (ae["AEDECOD"], ae["AETOXGR"]) == ("Cytokine release syndrome", "2")

    linked = records(fa, usubjid, FASPID="AE-003")
    assert len(linked) == 27
    assert sorted(set(linked["FADTC"])) == ["2024-08-03", "2024-08-04", "2024-08-05"]
    worst = linked[linked["FADTC"] == "2024-08-04"].set_index("FATESTCD")
    assert worst.loc["TEMPMAX", ["FAORRES", "FAORRESU", "FASTRESC", "FASTRESN", "FASTRESU"]].tolist() == [
        "39.2",
        "C",
        "39.2",
        39.2,
        "C",
    ]
    # O2FLOW keeps the collected "4.0"; the standard result is 4 L/min.
    assert worst.loc["O2FLOW", ["FAORRES", "FAORRESU", "FASTRESC", "FASTRESN", "FASTRESU"]].tolist() == [
        "4.0",
        "L/min",
        "4",
        4.0,
        "L/min",
    ]
    assert worst.loc["O2DEVICE", "FAORRES"] == worst.loc["O2DEVICE", "FASTRESC"] == "LFNC"
    assert worst.loc["VASOPN", "FASTRESN"] == 0
    assert worst.loc["VASOPIN", "FASTRESC"] == "N"
    assert (worst["FADY"] == 4).all() and (worst["EPOCH"] == "FOLLOW-UP").all()
    assert (worst["FACAT"] == "CRS/ICANS DAILY ASSESSMENT").all()
    crs_tests = {"TEMPMAX", "VASOPN", "VASOPIN", "O2FLOW", "O2DEVICE"}
    assert set(worst.index[worst["FAOBJ"] == CRS]) == crs_tests
    assert set(worst.index[worst["FAOBJ"] == ICANS]) == {"ICESCORE", "SEIZURE", "MOTORWK", "CEREDEMA"}
    # The other two days needed no oxygen: NONE, 0.0 L/min.
    other = linked[(linked["FADTC"] != "2024-08-04") & (linked["FATESTCD"] == "O2DEVICE")]
    assert set(other["FAORRES"]) == {"NONE"}


def test_fa_every_grade_2_crs_has_a_day_with_oxygen(fa: pd.DataFrame, sdtm: SdtmResult) -> None:
    """ASTCT 2019 grade 2 needs hypotension or low-flow oxygen: each grade-2 CRS AE of the fixture
    (01-0023 AE-002 3.0 L/min, 02-0006 AE-002 5.0 L/min, 03-0012 AE-003 4.0 L/min, 03-0020 AE-005
    2.0 L/min, all LFNC) has an FA day with O2FLOW > 0 on LFNC, and none had a vasopressor."""
    ae = sdtm.datasets["AE"]
    grade2 = ae[(ae["AEDECOD"] == "Cytokine release syndrome") & (ae["AETOXGR"] == "2")]
    peaks = {}
    for _, event in grade2.iterrows():
        linked = records(fa, event["USUBJID"], FASPID=event["AESPID"])
        flow = linked[linked["FATESTCD"] == "O2FLOW"]
        peaks[(event["USUBJID"][-7:], event["AESPID"])] = flow["FASTRESN"].max()
        peak_day = flow.loc[flow["FASTRESN"].idxmax(), "FADTC"]
        device = one(linked, event["USUBJID"], FATESTCD="O2DEVICE", FADTC=peak_day)
        assert device["FASTRESC"] == "LFNC"
        assert (linked.loc[linked["FATESTCD"] == "VASOPN", "FASTRESN"] == 0).all()
    assert peaks == {
        ("01-0023", "AE-002"): 3.0,
        ("02-0006", "AE-002"): 5.0,
        ("03-0012", "AE-003"): 4.0,
        ("03-0020", "AE-005"): 2.0,
    }


def test_fa_icans_day_links_to_the_icans_adverse_event(fa: pd.DataFrame, sdtm: SdtmResult) -> None:
    """03-0024 (LN): AE-002 CRS grade 1 (2025-04-09..12) then AE-003 ICANS grade 1 on 2025-04-16.
    crsdaily.csv FORMSEQ 5 (AE-003, 2025-04-16): ICE_SCORE 7 (grade 1 = ICE 7-9), CONSCIOUSNESS AWAKENS
    SPONTANEOUSLY, TMAX_C 37.0. Infused 2025-04-07, so 2025-04-16 is FADY 10. All 10 components are
    collected that day. The CRS components of the ICANS day keep FAOBJ CRS (the syndrome they grade)."""
    usubjid = subject("03", "0024")
    assert one(sdtm.datasets["AE"], usubjid, AESPID="AE-003")["AEDECOD"] == (
        "Immune effector cell-associated neurotoxicity syndrome"
    )
    day = records(fa, usubjid, FASPID="AE-003").set_index("FATESTCD")
    assert len(day) == 10
    assert (day["FADTC"] == "2025-04-16").all() and (day["FADY"] == 10).all()
    assert (day.loc["ICESCORE", "FAOBJ"], day.loc["ICESCORE", "FASTRESN"]) == (ICANS, 7.0)
    assert day.loc["CONSC", "FAORRES"] == day.loc["CONSC", "FASTRESC"] == "AWAKENS SPONTANEOUSLY"
    assert day.loc["CONSC", "FATEST"] == "Level of Consciousness"
    assert (day.loc["TEMPMAX", "FAOBJ"], day.loc["TEMPMAX", "FASTRESN"]) == (CRS, 37.0)
    assert len(records(fa, usubjid, FASPID="AE-002")) == 4 * 9  # four CRS days, no consciousness item


def test_fa_every_faspid_is_an_aespid_of_the_same_subject(fa: pd.DataFrame, sdtm: SdtmResult) -> None:
    """The RELREC key: every (USUBJID, FASPID) is the (USUBJID, AESPID) of one CRS or ICANS AE, and each
    FA day lies within that AE's start and end dates."""
    ae = sdtm.datasets["AE"].set_index(["USUBJID", "AESPID"])
    assert ae.index.is_unique
    supp = sdtm.datasets["SUPPAE"]
    flagged = supp[supp["QNAM"].isin(["AECRS", "AEICANS"]) & (supp["QVAL"] == "Y")]
    crs_icans = set(zip(flagged["USUBJID"], flagged["IDVARVAL"].astype(float), strict=True))
    for (usubjid, spid), days in fa.groupby(["USUBJID", "FASPID"]):
        assert (usubjid, spid) in ae.index, f"{usubjid} {spid} has no AE"
        event = ae.loc[(usubjid, spid)]
        assert (usubjid, event["AESEQ"]) in crs_icans
        assert (days["FADTC"] >= event["AESTDTC"][:10]).all()
        assert (days["FADTC"] <= event["AEENDTC"][:10]).all()
    assert fa["FASPID"].notna().all()
    assert fa.groupby(["USUBJID", "FASPID"]).ngroups == 13  # 12 CRS AEs + 1 ICANS AE in ae.csv


def test_fa_maps_every_crsdaily_component_collected_before_the_cut(
    fa: pd.DataFrame, sdtm: SdtmResult
) -> None:
    """Reconciliation: crsdaily.csv has 33 rows (all before the 2026-03-31 cut); each gives one record per
    component with a value: 33 x 9 always-collected components + 1 CONSCIOUSNESS (03-0024 ICANS day)
    = 298 records. No crsdaily row is excluded."""
    crs = raw("crsdaily")
    crs = crs[crs["FADT"] <= STUDY.data_cut.isoformat()]
    assert len(crs) == 33
    expected = int((crs[list(COMPONENTS)] != "").to_numpy().sum())
    assert expected == 298 == len(fa)
    assert set(fa["_ROW"]) == set(range(2, len(crs) + 2))  # CSV lines 2..34, header on line 1
    for column, testcd in COMPONENTS.items():
        assert (fa["FATESTCD"] == testcd).sum() == (crs[column] != "").sum(), column
    excluded = sdtm.exclusions[sdtm.exclusions["_FORM"] == "crsdaily"]
    assert excluded.empty


def test_fa_terms_and_units_are_declared(fa: pd.DataFrame) -> None:
    """FATESTCD/FATEST/FAOBJ/FACAT from terminology.yaml; units from UNIT: C (C42559), L/min (C67388)."""
    decode = {t.value: t.decode for t in STUDY_CT.codelist("FATESTCD").terms}
    assert set(fa["FATESTCD"]) == set(COMPONENTS.values())
    assert (fa["FATEST"] == fa["FATESTCD"].map(decode)).all()
    assert set(fa["FAOBJ"]) == set(STUDY_CT.codelist("FAOBJ").values) == {CRS, ICANS}
    assert set(fa["FACAT"]) <= set(STUDY_CT.codelist("FACAT").values)
    unit = STUDY_CT.codelist("UNIT")
    assert (unit.term("C").code, unit.term("L/min").code) == ("C42559", "C67388")
    assert set(fa["FAORRESU"].dropna()) == set(fa["FASTRESU"].dropna()) == {"C", "L/min"}
    with_unit = fa["FATESTCD"].isin(["TEMPMAX", "O2FLOW"])
    assert fa.loc[with_unit, "FAORRESU"].notna().all() and fa.loc[~with_unit, "FAORRESU"].isna().all()
    assert fa[["FAORRES", "FASTRESC", "FADTC", "FADY", "EPOCH"]].notna().all().all()


# --- CE ------------------------------------------------------------------------------------------------


def test_ce_nmosd_attack_with_its_adjudication_in_suppce(ce: pd.DataFrame, suppce: pd.DataFrame) -> None:
    """02-0006 (enrol INDICAT NMOSD): relapse.csv onset 2025-10-25, end 2026-01-15, objective change Y,
    EDSS 4.0, no fever/infection, rescue IV methylprednisolone then PLEX, ADJUDICATED Y.
    Infused 2024-03-29: to 2025-03-29 is 365 days, to 2025-10-29 another 214, back 4 -> 575 days, CESTDY 576;
    2025-10-25 -> 2026-01-15 is 82 days more -> CEENDY 658."""
    usubjid = subject("02", "0006")
    event = one(ce, usubjid)
    assert event["CETERM"] == "NMOSD ATTACK"
    assert event["CECAT"] == "DISEASE RELAPSE"
    assert (event["CESTDTC"], event["CEENDTC"]) == ("2025-10-25", "2026-01-15")
    assert (event["CESTDY"], event["CEENDY"]) == (576, 658)
    assert event["EPOCH"] == "FOLLOW-UP"
    assert qualifiers(suppce, usubjid, event["CESEQ"]) == {
        "CESYMPT": "Acute myelitis with a sensory level and painful tonic spasms",
        "CEADJ": "Y",
        "CEOBJCHG": "Y",
        "CEFEVINF": "N",
        "CEEDSS": "4.0",
        "CERESCUE": "IV methylprednisolone 1 g/day x5 followed by plasma exchange x5",
    }
    adj = suppce[(suppce["USUBJID"] == usubjid) & (suppce["QNAM"] == "CEADJ")].iloc[0]
    assert (adj["QLABEL"], adj["QORIG"]) == ("Adjudicated by Committee", "Collected")


def test_ce_pseudo_relapse_is_mapped_with_ceadj_n(ce: pd.DataFrame, suppce: pd.DataFrame) -> None:
    """03-0008 (RRMS): relapse.csv 2025-11-15..2025-11-17, worsening during a febrile UTI:
    FEVER_INFECTION Y, OBJECTIVE_CHG N, EDSS 3.5, no rescue therapy, ADJUDICATED N. Still a reported
    event: mapped, its adjudication kept in SUPPCE. Infused 2024-04-20: to 2025-04-20 is 365 days, to
    2025-11-20 another 214, back 5 -> 574 days, CESTDY 575, CEENDY 577."""
    usubjid = subject("03", "0008")
    event = one(ce, usubjid)
    assert event["CETERM"] == "MULTIPLE SCLEROSIS RELAPSE"
    assert (event["CESTDTC"], event["CEENDTC"], event["CESTDY"], event["CEENDY"]) == (
        "2025-11-15",
        "2025-11-17",
        575,
        577,
    )
    found = qualifiers(suppce, usubjid, event["CESEQ"])
    assert (found["CEADJ"], found["CEFEVINF"], found["CEOBJCHG"], found["CEEDSS"]) == ("N", "Y", "N", "3.5")
    assert "CERESCUE" not in found  # RESCUE_TX empty: no SUPP record


def test_ce_term_follows_the_subjects_indication(ce: pd.DataFrame, suppce: pd.DataFrame) -> None:
    """02-0016 (IMNM): "Recurrent proximal muscle weakness with rising CK" from 2025-09-30, infused
    2024-10-30 -> 335 days later, CESTDY 336. No EDSS for a myopathy: no CEEDSS record."""
    usubjid = subject("02", "0016")
    event = one(ce, usubjid)
    assert (event["CETERM"], event["CESTDTC"], event["CESTDY"]) == ("IMNM RELAPSE", "2025-09-30", 336)
    found = qualifiers(suppce, usubjid, event["CESEQ"])
    assert found["CESYMPT"] == "Recurrent proximal muscle weakness with rising CK"
    assert "CEEDSS" not in found
    assert set(ce["CECAT"]) <= set(STUDY_CT.codelist("CECAT").values)


def test_ce_maps_every_relapse_reported_before_the_cut(ce: pd.DataFrame, sdtm: SdtmResult) -> None:
    """Reconciliation: relapse.csv has 3 rows, all before the cut: 3 CE records, none excluded."""
    relapse = raw("relapse")
    relapse = relapse[relapse["ONSETDT"] <= STUDY.data_cut.isoformat()]
    assert len(ce) == len(relapse) == 3
    assert sorted(ce["_ROW"]) == [2, 3, 4]
    assert sdtm.exclusions[sdtm.exclusions["_FORM"] == "relapse"].empty


# --- both ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "seq"), [("FA", "FASEQ"), ("CE", "CESEQ")])
def test_seq_numbers_each_subjects_records_one_to_n(sdtm: SdtmResult, name: str, seq: str) -> None:
    frame = sdtm.datasets[name]
    assert not frame.duplicated(["USUBJID", seq]).any()
    for _, group in frame.groupby("USUBJID"):
        assert sorted(group[seq]) == list(range(1, len(group) + 1))


def test_suppce_points_at_existing_ce_records(ce: pd.DataFrame, suppce: pd.DataFrame) -> None:
    parents = set(zip(ce["USUBJID"], ce["CESEQ"].map("{:.0f}".format), strict=True))
    assert set(zip(suppce["USUBJID"], suppce["IDVARVAL"], strict=True)) <= parents
    assert not suppce.duplicated(["USUBJID", "IDVARVAL", "QNAM"]).any()


def test_no_error_findings_from_the_fa_and_ce_specs(sdtm: SdtmResult) -> None:
    """CT/number/unit errors name the raw form as dataset and DOMAIN in the message."""
    mine = [
        f
        for f in sdtm.findings.errors
        if f.dataset in ("FA", "CE", "SUPPCE", "crsdaily.csv", "relapse.csv")
        or f.message.startswith(("FA.", "CE.", "FA:", "CE:"))
    ]
    assert mine == []
