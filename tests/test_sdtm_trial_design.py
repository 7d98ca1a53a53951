"""Trial design datasets TA, TE, TI and TS (SDTMIG 3.4 §7) built from the spec rows on the fixture study.

A reviewer's checklist: TS holds every parameter STUDY.md §2.2 asks for (with its "Decisions"), its dates
and counts agree with DM and study.yaml, every coded value is a term of the right CDISC codelist; TA and
TE describe exactly the elements and epochs SE assigns; TI has every criterion a screen failure can fail.

Fixture facts used below (fixtures/raw):
- enrol.csv has 24 subjects; 01-0021 is the only screen failure (ELIGFL N, IEFAILCD EX07), so 23 are
  enrolled (DM ARMCD populated) and ACTSUB = 23.
- the earliest informed consent is 03-0001's ICDT 2023-10-17 (next: 03-0002 on 2023-10-31), so
  SSTDTC = 2023-10-17.
- 03-0002 had leukapheresis only (SE: SCRN, APH); 02-0022 had lymphodepletion but no infusion (SE: SCRN,
  APH, LD); the other treated subjects pass through all five elements.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from cdisc168.raw.synth.core_forms import IE_FAIL_CODES
from cdisc168.standards import ct
from cdisc168.study import Study

FIXTURE_RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"

# STUDY.md §2.2 parameters plus the "Decisions and corrections" additions (FCNTRY, TINDTP, ADAPT,
# THERAREA, DCUTDESC). CURTRT is deliberately absent: not an add-on trial.
REQUIRED_TSPARMCD = (
    "TITLE", "TPHASE", "STYPE", "INTMODEL", "INTTYPE", "TBLIND", "TCNTRL", "TTYPE", "RANDOM", "ADDON",
    "HLTSUBJI", "SEXPOP", "AGEMIN", "AGEMAX", "INDIC", "TRT", "PCLAS", "ROUTE", "DOSE", "DOSU", "DOSFRQ",
    "PLANSUB", "ACTSUB", "NARMS", "NCOHORT", "LENGTH", "SSTDTC", "SENDTC", "DCUTDTC", "REGID", "SPONSOR",
    "OBJPRIM", "OBJSEC", "OUTMSPRI", "OUTMSSEC", "OUTMSEXP", "STOPRULE", "RDIND", "SDTIGVER", "SDTMVER",
    "FCNTRY", "TINDTP", "ADAPT", "THERAREA", "DCUTDESC",
)  # fmt: skip

# TS response codelist of each parameter whose value is CDISC CT (SDTM CT 2025-03-28).
RESPONSE_CODELIST = {
    "TPHASE": "C66737",
    "STYPE": "C99077",
    "INTMODEL": "C99076",
    "INTTYPE": "C99078",
    "TBLIND": "C66735",
    "TCNTRL": "C66785",
    "TTYPE": "C66739",
    "SEXPOP": "C66732",
    "TINDTP": "C66736",
    "ROUTE": "C66729",
    "DOSU": "C71620",
    "DOSFRQ": "C71113",
    "RANDOM": "C66742",
    "ADDON": "C66742",
    "HLTSUBJI": "C66742",
    "ADAPT": "C66742",
    "RDIND": "C66742",
}

ISO8601_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO8601_DURATION = re.compile(r"^P\d+[YMWD]$")


@pytest.fixture(scope="module")
def ts(sdtm) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return sdtm.datasets["TS"]


@pytest.fixture(scope="module")
def ta(sdtm) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return sdtm.datasets["TA"]


@pytest.fixture(scope="module")
def te(sdtm) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return sdtm.datasets["TE"]


@pytest.fixture(scope="module")
def ti(sdtm) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return sdtm.datasets["TI"]


def _values(ts: pd.DataFrame, parmcd: str) -> list[str]:
    return ts.loc[ts["TSPARMCD"] == parmcd, "TSVAL"].tolist()


# --- TS ---------------------------------------------------------------------------------------------


def test_ts_has_every_parameter_study_md_requires_and_no_curtrt(ts: pd.DataFrame) -> None:
    present = set(ts["TSPARMCD"])
    assert sorted(set(REQUIRED_TSPARMCD) - present) == []
    assert "CURTRT" not in present  # ADDON = N: no current therapy to add on to
    assert _values(ts, "ADDON") == ["N"]


def test_ts_rare_disease_indicator_is_one_value_for_the_trial(ts: pd.DataFrame) -> None:
    assert _values(ts, "RDIND") == ["N"]


def test_ts_data_cut_date_and_description_come_from_study_yaml(ts: pd.DataFrame, study: Study) -> None:
    assert _values(ts, "DCUTDTC") == [study.data_cut.isoformat()] == ["2026-03-31"]
    assert _values(ts, "DCUTDESC") == [study.data_cut_description]


def test_ts_study_start_is_the_earliest_informed_consent_in_dm(ts: pd.DataFrame, sdtm) -> None:  # type: ignore[no-untyped-def]
    dm = sdtm.datasets["DM"]
    assert _values(ts, "SSTDTC") == [dm["RFICDTC"].min()] == ["2023-10-17"]  # 03-0001's ICDT
    assert dm.loc[dm["RFICDTC"] == "2023-10-17", "USUBJID"].tolist() == ["CCAR168-AID-03-0001"]


def test_ts_actual_subjects_are_the_enrolled_subjects(ts: pd.DataFrame, sdtm) -> None:  # type: ignore[no-untyped-def]
    dm = sdtm.datasets["DM"]
    # 24 screened, 01-0021 failed EX07 at screening (no ARMCD): 23 enrolled.
    assert _values(ts, "ACTSUB") == ["23"] == [str(int(dm["ARMCD"].notna().sum()))]
    assert _values(ts, "PLANSUB") == ["24"]


def test_ts_indications_cover_every_study_indication(ts: pd.DataFrame, study: Study) -> None:
    indic = ts.loc[ts["TSPARMCD"] == "INDIC"].set_index("TSVAL")
    assert sorted(indic.index) == sorted(i.name for i in study.indications)
    assert indic["TSSEQ"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    # SNOMED CT concept ids where one could be cited; IMNM has none (TSVALCD and TSVCDREF empty).
    assert indic.loc["Systemic Lupus Erythematosus", "TSVALCD"] == "55464009"
    assert indic.loc["Myasthenia Gravis", "TSVALCD"] == "91637004"
    assert indic.loc["Immune-Mediated Necrotizing Myopathy", ["TSVALCD", "TSVCDREF"]].isna().all()
    coded = indic[indic["TSVALCD"].notna()]
    assert set(coded["TSVCDREF"]) == {"SNOMED"}
    assert coded["TSVALCD"].str.fullmatch(r"\d{6,18}").all()  # SNOMED CT ids are digits only


def test_ts_cdisc_coded_values_are_terms_of_the_parameter_codelist(ts: pd.DataFrame, study: Study) -> None:
    cdisc = ts[ts["TSVCDREF"] == "CDISC CT"]
    assert set(cdisc["TSPARMCD"]) == set(RESPONSE_CODELIST)
    for row in cdisc.itertuples():
        term = ct.codelist(RESPONSE_CODELIST[row.TSPARMCD]).term(row.TSVAL, synonyms=False)
        assert (row.TSPARMCD, term.code) == (row.TSPARMCD, row.TSVALCD)
        assert row.TSVCDVER == study.standards["ct_sdtm"] == "2025-03-28"
    assert _values(ts, "TPHASE") == ["PHASE I TRIAL"]
    assert sorted(_values(ts, "TTYPE")) == ["DOSE FINDING", "EFFICACY", "PHARMACOKINETIC", "SAFETY"]
    assert ts.loc[ts["TSPARMCD"] == "DOSU", "TSVALCD"].tolist() == ["C198380"]  # 10^6/kg


def test_ts_every_c_code_is_a_term_of_its_codelist(ts: pd.DataFrame) -> None:
    """No TSVALCD that looks like an NCI code may escape the CDISC CT check above."""
    c_codes = ts[ts["TSVALCD"].fillna("").str.fullmatch(r"C\d{2,7}")]
    assert not c_codes.empty
    for row in c_codes.itertuples():
        assert row.TSVCDREF == "CDISC CT", row.TSPARMCD
        assert ct.codelist(RESPONSE_CODELIST[row.TSPARMCD]).has_term_code(row.TSVALCD)


def test_ts_parameters_and_reference_terminologies_are_cdisc_terms(ts: pd.DataFrame) -> None:
    for row in ts.itertuples():
        assert ct.term("TSPARMCD", row.TSPARMCD).code == ct.term("TSPARM", row.TSPARM).code
    # TSVCDREF is DICTNAM (extensible): CDISC terms, plus the sponsor terms ISO 8601 and ClinicalTrials.gov.
    dictnam = set(ct.codelist("DICTNAM").values)
    refs = set(ts["TSVCDREF"].dropna())
    assert refs - dictnam == {"ISO 8601", "ClinicalTrials.gov"}


def test_ts_dates_durations_and_study_values(ts: pd.DataFrame, study: Study) -> None:
    for parmcd in ("SSTDTC", "DCUTDTC"):
        (row,) = ts[ts["TSPARMCD"] == parmcd].itertuples()
        assert ISO8601_DATE.match(row.TSVAL) and row.TSVCDREF == "ISO 8601" and pd.isna(row.TSVALCD)
    for parmcd, value in (("AGEMIN", "P18Y"), ("AGEMAX", "P70Y"), ("LENGTH", "P24M")):
        assert _values(ts, parmcd) == [value] and ISO8601_DURATION.match(value)
    # Ongoing at the data cut: no end date yet, null flavour NAV (ISO 21090).
    sendtc = ts[ts["TSPARMCD"] == "SENDTC"]
    assert sendtc["TSVAL"].isna().all() and sendtc["TSVALNF"].tolist() == ["NAV"]
    assert _values(ts, "TITLE") == [study.title]
    assert _values(ts, "SPONSOR") == [study.sponsor]
    regid = ts[ts["TSPARMCD"] == "REGID"]
    assert regid[["TSVAL", "TSVALCD", "TSVCDREF"]].values.tolist() == [
        [study.registry_id, study.registry_id, "ClinicalTrials.gov"]
    ]
    assert ts.loc[ts["TSPARMCD"] == "FCNTRY", ["TSVAL", "TSVCDREF"]].values.tolist() == [["CHN", "ISO 3166"]]
    assert _values(ts, "SDTIGVER") == [study.standards["sdtmig"]]
    assert _values(ts, "SDTMVER") == [study.standards["sdtm"]]
    assert _values(ts, "TRT") == ["C-CAR168"]


def test_ts_dose_records_are_the_study_dose_levels(ts: pd.DataFrame, study: Study) -> None:
    dose = ts[ts["TSPARMCD"] == "DOSE"]
    assert [(g, float(v)) for g, v in zip(dose["TSGRPID"], dose["TSVAL"], strict=True)] == [
        (d.armcd, d.dose) for d in study.dose_levels
    ]
    assert _values(ts, "DOSU") == [study.dose_unit]
    assert _values(ts, "NARMS") == [str(len(study.dose_levels))]


def test_ts_value_rules(ts: pd.DataFrame) -> None:
    # TSVAL is null exactly when TSVALNF is given; no value needs TSVAL1..n.
    assert (ts["TSVAL"].isna() == ts["TSVALNF"].notna()).all()
    assert ts["TSVAL"].dropna().str.len().max() <= 200
    assert ts["TSVAL"].dropna().map(str.isascii).all()
    # TSSEQ is 1..n within each parameter.
    for parmcd, group in ts.groupby("TSPARMCD"):
        assert group["TSSEQ"].tolist() == list(map(float, range(1, len(group) + 1))), parmcd
    assert (ts["STUDYID"] == "CCAR168-AID").all() and (ts["DOMAIN"] == "TS").all()


# --- TA / TE ----------------------------------------------------------------------------------------


def test_te_has_the_five_elements_of_se(te: pd.DataFrame, sdtm) -> None:  # type: ignore[no-untyped-def]
    se = sdtm.datasets["SE"]
    elements = dict(zip(te["ETCD"], te["ELEMENT"], strict=True))
    assert elements == {
        "SCRN": "Screening",
        "APH": "Leukapheresis",
        "LD": "Lymphodepletion",
        "CART": "C-CAR168 Infusion",
        "FU": "Follow-up",
    }
    assert set(zip(se["ETCD"], se["ELEMENT"], strict=True)) <= set(elements.items())
    assert te["TESTRL"].notna().all()
    assert (te["TEENRL"].notna() | te["TEDUR"].notna()).all()  # SDTMIG: TEENRL or TEDUR per element
    durations = dict(zip(te["ETCD"], te["TEDUR"], strict=True))
    assert (durations["LD"], durations["CART"], durations["FU"]) == ("P5D", "P1D", "P24M")


def test_ta_arms_are_the_dose_levels_each_with_five_elements(ta: pd.DataFrame, study: Study) -> None:
    assert set(zip(ta["ARMCD"], ta["ARM"], strict=True)) == {(d.armcd, d.arm) for d in study.dose_levels}
    for armcd, arm in ta.groupby("ARMCD"):
        assert arm["TAETORD"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0], armcd
        assert arm["ETCD"].tolist() == ["SCRN", "APH", "LD", "CART", "FU"], armcd
        assert arm["EPOCH"].tolist() == ["SCREENING", "TREATMENT", "TREATMENT", "TREATMENT", "FOLLOW-UP"]
        assert arm["TABRANCH"].notna().tolist() == [True, False, False, False, False]
        assert arm["TATRANS"].notna().tolist() == [False, True, True, False, False]


def test_ta_elements_are_in_te(ta: pd.DataFrame, te: pd.DataFrame) -> None:
    assert set(ta["ETCD"]) <= set(te["ETCD"])
    merged = ta.merge(te[["ETCD", "ELEMENT"]], on="ETCD", suffixes=("", "_TE"))
    assert (merged["ELEMENT"] == merged["ELEMENT_TE"]).all()


def test_every_se_element_and_epoch_is_planned_in_the_subjects_arm(ta: pd.DataFrame, sdtm) -> None:  # type: ignore[no-untyped-def]
    se = sdtm.datasets["SE"]
    dm = sdtm.datasets["DM"]
    assert set(zip(se["ETCD"], se["EPOCH"], strict=True)) <= set(zip(ta["ETCD"], ta["EPOCH"], strict=True))
    # Enrolled subjects: each SE record is the TA record of the subject's arm with the same TAETORD.
    planned = se.merge(dm[["USUBJID", "ARMCD"]], on="USUBJID").dropna(subset=["ARMCD"])
    joined = planned.merge(ta, on=["ARMCD", "TAETORD"], how="left", suffixes=("", "_TA"))
    assert (joined["ETCD"] == joined["ETCD_TA"]).all()
    assert (joined["EPOCH"] == joined["EPOCH_TA"]).all()
    # 02-0022 (LD, no infusion) stops after LD; 03-0002 (not treated) after leukapheresis (TATRANS).
    by_subject = se.groupby("USUBJID")["ETCD"].apply(list)
    assert by_subject["CCAR168-AID-02-0022"] == ["SCRN", "APH", "LD"]
    assert by_subject["CCAR168-AID-03-0002"] == ["SCRN", "APH"]
    assert by_subject["CCAR168-AID-01-0021"] == ["SCRN"]  # screen failure: in no arm


def test_dm_arms_are_planned_arms(ta: pd.DataFrame, sdtm) -> None:  # type: ignore[no-untyped-def]
    dm = sdtm.datasets["DM"]
    arms = set(zip(ta["ARMCD"], ta["ARM"], strict=True))
    assigned = dm.dropna(subset=["ARMCD"])  # all but the screen failure 01-0021
    assert len(assigned) == 23
    assert set(zip(assigned["ARMCD"], assigned["ARM"], strict=True)) <= arms
    treated = dm.dropna(subset=["ACTARMCD"])
    assert set(zip(treated["ACTARMCD"], treated["ACTARM"], strict=True)) <= arms


# --- TI ---------------------------------------------------------------------------------------------


def test_ti_has_every_criterion_a_screen_failure_can_fail(ti: pd.DataFrame) -> None:
    enrol = pd.read_csv(FIXTURE_RAW / "enrol.csv", dtype=str)
    failed = set(enrol["IEFAILCD"].dropna())
    assert failed == {"EX07"}  # 01-0021
    assert failed | set(IE_FAIL_CODES) <= set(ti["IETESTCD"])
    ex07 = ti.set_index("IETESTCD").loc["EX07"]
    assert ex07["IECAT"] == "EXCLUSION" and "CNS" in ex07["IETEST"]


def test_ti_criteria_text_category_and_version(ti: pd.DataFrame) -> None:
    assert ti["IETEST"].str.len().max() <= 200
    assert ti["IETEST"].map(str.isascii).all()
    category = ti["IETESTCD"].str[:2].map({"IN": "INCLUSION", "EX": "EXCLUSION"})
    assert (ti["IECAT"] == category).all()
    assert ti["IETESTCD"].str.fullmatch(r"[A-Z][A-Z0-9_]{0,7}").all()
    assert set(ti["TIVERS"]) == {"1"}
    assert (ti["IECAT"].value_counts().to_dict()) == {"EXCLUSION": 12, "INCLUSION": 8}


# --- all four -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "keys"),
    [
        ("TE", ["ETCD"]),
        ("TA", ["ARMCD", "TAETORD"]),
        ("TI", ["IETESTCD", "TIVERS"]),
        ("TS", ["TSPARMCD", "TSSEQ"]),
    ],
)
def test_trial_design_keys_are_unique_and_build_is_clean(sdtm, dataset: str, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    frame = sdtm.datasets[dataset]
    assert not frame.duplicated(keys).any()
    assert frame[keys].notna().all().all()
    assert f"SUPP{dataset}" not in sdtm.datasets  # nothing over 200 characters
    mine = [f for f in sdtm.findings if f.dataset == dataset or f.message.startswith(f"{dataset}.")]
    assert mine == []
