"""ADLB (STUDY.md §3 and §3.3): parameters, baselines, windows, derived records, CTCAE v5.0, criteria.

Every expected value is worked out by hand in a comment from the SDTM facts it uses. Fixture subjects:

- CCAR168-AID-01-0017 (MG): first LD dose 2024-11-14, infusion 2024-11-19T09:10. LB BLYCE (CD19+ B
  cells /uL): BASELINE 2024-11-12 229, DAY 0 2024-11-19T08:20 53, DAY 4 2024-11-23 0.4, ... MONTH 3 0.7,
  MONTH 6 2025-05-07 80. LB NEUT (10^9/L, LLN 1.8): LD DAY -5 2024-11-14T07:35 4.23, DAY 0 08:20 3.77,
  DAY 4 0.40, DAY 10 0.08, DAY 21 1.77.
- CCAR168-AID-03-0024 (LN): B cells already below 1/uL before treatment (BASELINE 2025-04-01 0.5).
- CCAR168-AID-04-0004 (IMNM): IgG (g/L, LLN 8.6) BASELINE 2024-01-16 10.40; after the infusion
  2024-02-20 8.85, 2024-03-22 7.70, 2024-04-20 6.94, 2024-07-13 7.14, then higher; IVIG for
  hypogammaglobulinaemia on 2024-03-10 and 2024-04-07 (CM CMCAT IVIG/PLEX).
- CCAR168-AID-02-0003 (SLE): infusion 2023-12-18T11:30. Anti-dsDNA (IU/mL, cut-off 30, LLOQ 10):
  BASELINE 2023-12-12 319, 2024-01-13 145, 2024-02-18 32.5, 2024-03-17 12.4, 2024-06-04 "<10". IL-2
  (ng/L, LLOQ 1): DAY 0 2023-12-18T10:00 "<1", DAY 1 1.74, DAY 4 1.48.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc168.adam.adlb import (
    BASETYPES,
    CTCAE_TERMS,
    PARAMETERS,
    PRE_INFUSION,
    PRE_LD,
    build_adlb,
    derive_var_anl01fl,
    derive_vars_avisit,
)
from cdisc168.adam.adsl import build_adsl
from cdisc168.adam.ctcae import CTCAE_V5, derive_var_atoxgr
from cdisc168.adam_spec import load_adam_spec
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study

MG = "CCAR168-AID-01-0017"
BASELINE_CLEARED = "CCAR168-AID-03-0024"
IVIG = "CCAR168-AID-04-0004"
SLE = "CCAR168-AID-02-0003"
GROUP = ["USUBJID", "PARAMCD", "BASETYPE"]


@pytest.fixture(scope="module")
def adsl(sdtm, study: Study) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return build_adsl(sdtm.datasets, {}, study)


@pytest.fixture(scope="module")
def adlb(sdtm, adsl: pd.DataFrame, study: Study) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return build_adlb(sdtm.datasets, {"ADSL": adsl}, study)


def records(adlb: pd.DataFrame, subject: str, paramcd: str, basetype: str = PRE_LD) -> pd.DataFrame:
    rows = (adlb["USUBJID"] == subject) & (adlb["PARAMCD"] == paramcd) & (adlb["BASETYPE"] == basetype)
    return adlb.loc[rows].reset_index(drop=True)


def collected(adlb: pd.DataFrame, subject: str, paramcd: str, basetype: str = PRE_LD) -> pd.DataFrame:
    rows = records(adlb, subject, paramcd, basetype)
    return rows.loc[rows["DTYPE"].isna()].set_index("ADT")


# --------------------------------------------------------------------------------------------------
# structure and traceability


def test_exactly_the_spec_variables_in_spec_order_and_unique_keys(adlb: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADLB.yaml")
    assert tuple(adlb.columns) == spec.variable_names
    assert spec.structure == "BDS"
    assert not adlb.duplicated(list(spec.keys)).any()
    # ASEQ numbers each subject's records 1..n in key order
    assert (adlb.groupby("USUBJID")["ASEQ"].apply(lambda s: s.tolist() == list(range(1, len(s) + 1)))).all()


def test_one_baseline_per_subject_parameter_and_basetype(adlb: pd.DataFrame, adsl: pd.DataFrame) -> None:
    baselines = adlb.loc[adlb["ABLFL"] == "Y"]
    assert not baselines.duplicated(GROUP).any()
    # every infused subject has both baselines of a haematology parameter
    infused = set(adsl.loc[adsl["TRTSDT"].notna(), "USUBJID"])
    for basetype in (PRE_LD, PRE_INFUSION):
        neut = baselines.loc[(baselines["PARAMCD"] == "NEUT") & (baselines["BASETYPE"] == basetype)]
        assert infused <= set(neut["USUBJID"])
    # the BASETYPEs of each category (STUDY.md Decisions)
    pairs = adlb.groupby("PARCAT1")["BASETYPE"].agg(lambda s: set(s))
    assert {k: v for k, v in pairs.items()} == {k: set(v) for k, v in BASETYPES.items() if k in pairs.index}
    assert pairs["CYTOKINE"] == {PRE_INFUSION} and pairs["AUTOANTIBODY"] == {PRE_LD}


def test_srcseq_resolves_to_the_sdtm_record(adlb: pd.DataFrame, sdtm) -> None:  # type: ignore[no-untyped-def]
    lb = sdtm.datasets["LB"][["USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBSTRESC"]]
    from_lb = adlb.loc[adlb["SRCDOM"] == "LB"]
    joined = from_lb.merge(lb, left_on=["USUBJID", "SRCSEQ"], right_on=["USUBJID", "LBSEQ"], how="left")
    assert len(joined) == len(from_lb) and joined["LBSEQ"].notna().all()
    numeric = joined["DTYPE"].isna() & (joined["SRCVAR"] == "LBSTRESN")
    assert np.allclose(joined.loc[numeric, "AVAL"], joined.loc[numeric, "LBSTRESN"])
    assert (joined.loc[joined["PARAMCD"] == "CD19CNT", "LBTESTCD"] == "BLYCE").all()
    # the CD19 DAY 4 record of 01-0017 is LB BLYCE 0.4 on 2024-11-23
    day4 = joined.loc[(joined["USUBJID"] == MG) & (joined["PARAMCD"] == "CD19CNT") & (joined["ADY"] == 5)]
    assert day4["LBSTRESN"].tolist() == [0.4]
    for domain, seq in (("CP", "CPSEQ"), ("IS", "ISSEQ")):
        source = sdtm.datasets[domain][["USUBJID", seq]]
        rows = adlb.loc[adlb["SRCDOM"] == domain, ["USUBJID", "SRCSEQ"]]
        hit = rows.merge(source, left_on=["USUBJID", "SRCSEQ"], right_on=["USUBJID", seq], how="left")
        assert hit[seq].notna().all()


def test_parameters_agree_with_the_study_terminology(adlb: pd.DataFrame) -> None:
    ct = load_study_ct()
    assert [t.value for t in ct.codelist("ADLBPARMCD").terms] == [p.paramcd for p in PARAMETERS]
    assert [t.value for t in ct.codelist("ADLBPARM").terms] == [p.param for p in PARAMETERS]
    assert set(adlb["PARCAT1"]) <= set(ct.codelist("ADLBPARCAT1").values)
    assert set(adlb["BASETYPE"]) <= set(ct.codelist("BASETYPE").values)
    assert (
        set(adlb["DTYPE"].dropna()) == {"HALFLLOQ", "MINIMUM", "MAXIMUM"} <= set(ct.codelist("DTYPE").values)
    )
    assert set(adlb["ATOXGR"].dropna()) <= set(ct.codelist("ADLBTOXGR").values)
    assert all(len(p.paramcd) <= 8 and len(p.param) <= 200 for p in PARAMETERS)
    # PARAMCD and PARAM are one-to-one, and assay-specific units stay apart
    assert adlb.groupby("PARAMCD")["PARAM"].nunique().max() == 1
    assert {"DSDNAAB", "DSDNAABU"} <= set(adlb["PARAMCD"])


def test_an_unknown_test_or_unit_stops_the_build(sdtm, adsl: pd.DataFrame, study: Study) -> None:  # type: ignore[no-untyped-def]
    datasets = dict(sdtm.datasets)
    lb = datasets["LB"].copy()
    lb.loc[lb.index[lb["LBTESTCD"] == "ALT"][0], "LBSTRESU"] = "ukat/L"
    datasets["LB"] = lb
    with pytest.raises(ValueError, match="no ADLB parameter for LB / ALT /  / ukat/L"):
        build_adlb(datasets, {"ADSL": adsl}, study)


# --------------------------------------------------------------------------------------------------
# baselines, change from baseline, analysis visits


def test_two_baselines_of_a_haematology_parameter(adlb: pd.DataFrame) -> None:
    # PRE-LYMPHODEPLETION: last value on or before the first LD date 2024-11-14 -> LD DAY -5 4.23 (same
    # day, as SDTM LBLOBXFL). PRE-INFUSION: last value at or before 2024-11-19T09:10 -> D0 08:20 3.77.
    pre_ld = records(adlb, MG, "NEUT", PRE_LD)
    pre_inf = records(adlb, MG, "NEUT", PRE_INFUSION)
    assert pre_ld.loc[pre_ld["ABLFL"] == "Y", ["ADTM", "AVAL"]].values.tolist() == [
        [pd.Timestamp("2024-11-14 07:35"), 4.23]
    ]
    assert pre_inf.loc[pre_inf["ABLFL"] == "Y", ["ADTM", "AVAL"]].values.tolist() == [
        [pd.Timestamp("2024-11-19 08:20"), 3.77]
    ]
    # DAY 4 0.40: CHG vs pre-infusion 0.40 - 3.77 = -3.37; the D0 sample is not on treatment
    day4 = pre_inf.loc[(pre_inf["ADY"] == 5) & pre_inf["DTYPE"].isna()].iloc[0]
    assert day4["CHG"] == pytest.approx(-3.37) and day4["ONTRTFL"] == "Y"
    assert pre_inf.loc[pre_inf["ADY"] == 1, "ONTRTFL"].isna().all()
    # CHG and PCHG only after the baseline record
    assert (
        pre_inf.loc[pre_inf["ADTM"] <= pd.Timestamp("2024-11-19 08:20"), ["CHG", "PCHG"]].isna().all().all()
    )


def test_baselines_agree_with_adsl(adlb: pd.DataFrame, adsl: pd.DataFrame) -> None:
    for paramcd, variable in (("CD19CNT", "BCD19"), ("IGG", "BIGG")):
        base = adlb.loc[(adlb["PARAMCD"] == paramcd) & (adlb["ABLFL"] == "Y"), ["USUBJID", "AVAL"]]
        both = adsl[["USUBJID", variable]].dropna().merge(base, on="USUBJID", how="left")
        assert np.allclose(both[variable], both["AVAL"]), paramcd


def test_analysis_visits_from_the_protocol_windows(study: Study) -> None:
    # ADY = protocol day + 1 from D0: DAY 7 window D6-D8 = ADY 7-9, target 8; DAY 28 window D25-D31 = ADY
    # 26-32; screening (D-35..-8, target -28) overlaps leukapheresis (D-28..-14, target -21): ADY -24
    # is 3 days from -21 and 4 from -28 -> LEUKAPHERESIS; ADY -25 -> SCREENING; ADY 2 (D1) -> DAY 1;
    # ADY 3 (D2) is in no window; month 6 = ADY 167-195 (study.yaml analysis_windows.month6).
    ady = [9.0, 26.0, 32.0, 33.0, -24.0, -25.0, 2.0, 3.0, 167.0, 195.0, np.nan]
    out = derive_vars_avisit(pd.DataFrame({"ADY": ady}), study)
    assert [v if isinstance(v, str) else None for v in out["AVISIT"]][:10] == [
        "DAY 7", "DAY 28", "DAY 28", None, "LEUKAPHERESIS", "SCREENING", "DAY 1", None, "MONTH 6", "MONTH 6",
    ]  # fmt: skip
    assert pd.isna(out["AVISIT"].iloc[10])
    assert out.loc[0, ["AWTARGET", "AWTDIFF", "AWLO", "AWHI"]].tolist() == [8.0, 1.0, 7.0, 9.0]
    assert out.loc[8, ["AWLO", "AWHI"]].tolist() == study.analysis_windows["month6"]


def test_anl01fl_closest_to_target_ties_to_the_later() -> None:
    # DAY 7 (target ADY 8): ADY 7 and ADY 9 are both 1 day off -> the later (ADY 9) is the analysis
    # record; DAY 14 (target 15): ADY 14 (1 off) beats ADY 17 (2 off); a BLQ record without AVAL is never
    # chosen; its HALFLLOQ copy may be.
    frame = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": "S-1",
            "PARAMCD": "INTLK6",
            "BASETYPE": PRE_INFUSION,
            "AVISIT": ["DAY 7", "DAY 7", "DAY 14", "DAY 14", "DAY 21", "DAY 21"],
            "AVISITN": [10.0, 10.0, 12.0, 12.0, 13.0, 13.0],
            "AWTDIFF": [1.0, 1.0, 1.0, 2.0, 0.0, 0.0],
            "ADTM": pd.to_datetime(
                ["2024-05-19", "2024-05-21", "2024-05-26", "2024-05-29", "2024-06-02", "2024-06-02"]
            ),
            "SRCSEQ": [1.0, 2.0, 3.0, 4.0, 5.0, 5.0],
            "AVAL": [3.0, 4.0, 5.0, 6.0, np.nan, 0.5],
            "DTYPE": [None, None, None, None, None, "HALFLLOQ"],
        }
    )  # fmt: skip
    flags = [f if isinstance(f, str) else None for f in derive_var_anl01fl(frame)["ANL01FL"]]
    assert flags == [None, "Y", "Y", None, None, "Y"]


def test_one_analysis_record_per_visit(adlb: pd.DataFrame) -> None:
    chosen = adlb.loc[adlb["ANL01FL"] == "Y"]
    assert not chosen.duplicated([*GROUP, "AVISITN"]).any()
    assert chosen["DTYPE"].isna().sum() + (chosen["DTYPE"] == "HALFLLOQ").sum() == len(chosen)
    assert chosen["AVAL"].notna().all()


# --------------------------------------------------------------------------------------------------
# B-cell clearance (CRIT1)


def test_bcell_clearance_baseline_and_first_date_below_one_per_ul(adlb: pd.DataFrame) -> None:
    cd19 = collected(adlb, MG, "CD19CNT")
    # PRE-LYMPHODEPLETION baseline: BASELINE 2024-11-12 229 (the D0 value 53 is after the LD start)
    assert cd19.loc[cd19["ABLFL"] == "Y"].index.tolist() == [pd.Timestamp("2024-11-12")]
    assert (cd19["BASE"] == 229.0).all()
    assert (cd19["CRIT1"] == "CD19+ B Cells < 1/uL").all()
    # pre-infusion records are not evaluated; the first post-infusion value < 1 is DAY 4 (0.4)
    assert cd19.loc[: pd.Timestamp("2024-11-19"), "CRIT1FL"].isna().all()
    cleared = cd19.loc[cd19["CRIT1FL"] == "Y"]
    assert cleared.index.min() == pd.Timestamp("2024-11-23") and cleared.iloc[0]["AVAL"] == 0.4
    assert cleared.iloc[0]["ADY"] == 5.0  # protocol day 4
    # PCHG on DAY 4: 100 x (0.4 - 229) / 229 = -99.8253
    assert cleared.iloc[0]["PCHG"] == pytest.approx(-99.825328, abs=1e-6)
    # MONTH 6 80 /uL: reconstituted, criterion not met
    assert cd19.loc[pd.Timestamp("2025-05-07"), "CRIT1FL"] == "N"


def test_bcell_clearance_not_evaluable_when_baseline_already_below_threshold(adlb: pd.DataFrame) -> None:
    # STUDY.md §6.6: baseline 0.5 < 1/uL -> clearance cannot be attributed to treatment. Represented by
    # CRIT1 populated (the criterion applies to the parameter) and CRIT1FL null on every record.
    cd19 = collected(adlb, BASELINE_CLEARED, "CD19CNT")
    assert cd19.loc[cd19["ABLFL"] == "Y", "AVAL"].tolist() == [0.5]
    assert (cd19["CRIT1"] == "CD19+ B Cells < 1/uL").all()
    assert cd19["CRIT1FL"].isna().all()
    assert (cd19.loc[cd19["ONTRTFL"] == "Y", "AVAL"] < 1).any()  # values below 1 exist, yet not "cleared"


# --------------------------------------------------------------------------------------------------
# immunoglobulins: nadir (DTYPE MINIMUM), IVIG exclusion (ANL02FL), CRIT2/CRIT3


def test_igg_nadir_excludes_values_within_28_days_after_ivig(adlb: pd.DataFrame) -> None:
    igg = records(adlb, IVIG, "IGG")
    values = igg.loc[igg["DTYPE"].isna()].set_index("ADT")
    # IVIG 2024-03-10 covers 03-10..04-07 and IVIG 2024-04-07 covers 04-07..05-05: the 2024-03-22 (7.70)
    # and 2024-04-20 (6.94) values are not for nadir analyses.
    assert pd.isna(values.loc[pd.Timestamp("2024-03-22"), "ANL02FL"])
    assert pd.isna(values.loc[pd.Timestamp("2024-04-20"), "ANL02FL"])
    assert values.loc[pd.Timestamp("2024-02-20"), "ANL02FL"] == "Y"
    nadir = igg.loc[igg["DTYPE"] == "MINIMUM"]
    assert len(nadir) == 1
    nadir = nadir.iloc[0]
    # nadir 7.14 on 2024-07-13 (not 6.94); BASE 10.40 (BASELINE 2024-01-16)
    # PCHG = 100 x (7.14 - 10.40) / 10.40 = -31.346154; 7.14 < LLN 8.6 (CRIT3), not < 4 g/L (CRIT2)
    assert nadir["ADT"] == pd.Timestamp("2024-07-13") and nadir["AVAL"] == 7.14
    assert nadir["BASE"] == 10.40 and nadir["CHG"] == pytest.approx(-3.26)
    assert nadir["PCHG"] == pytest.approx(-31.346154, abs=1e-6)
    assert nadir["AVISIT"] == "POST-INFUSION" and pd.isna(nadir["ABLFL"]) and pd.isna(nadir["ANL01FL"])
    assert (nadir["CRIT3FL"], nadir["CRIT2FL"]) == ("Y", "N")
    # the nadir traces to the collected record it copies
    source = values.loc[pd.Timestamp("2024-07-13")]
    assert (nadir["SRCDOM"], nadir["SRCSEQ"]) == (source["SRCDOM"], source["SRCSEQ"])


# --------------------------------------------------------------------------------------------------
# CTCAE v5.0


def test_neutrophil_grades_on_the_fixture(adlb: pd.DataFrame) -> None:
    # LLN 1.8: 0.40 < 0.5 -> grade 4; 1.77 in [1.5, LLN) -> grade 1; 3.77 -> 0
    neut = collected(adlb, MG, "NEUT", PRE_INFUSION)
    assert neut.loc[pd.Timestamp("2024-11-23"), "ATOXGR"] == "4"
    assert neut.loc[pd.Timestamp("2024-11-23"), "ATOXGRN"] == 4.0
    assert neut.loc[pd.Timestamp("2024-12-09"), "ATOXGR"] == "1"
    assert neut.loc[pd.Timestamp("2024-11-19"), "ATOXGR"] == "0"
    assert (neut["BTOXGR"] == "0").all()
    nadir = records(adlb, MG, "NEUT", PRE_INFUSION).query("DTYPE == 'MINIMUM'").iloc[0]
    assert (nadir["AVAL"], nadir["ATOXGR"], str(nadir["ADT"].date())) == (0.08, "4", "2024-11-28")


def _graded(paramcd: str, term: str, **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame({"PARAMCD": paramcd, **columns})
    for name, default in (("ANRLO", np.nan), ("ANRHI", np.nan), ("BASE", np.nan), ("BNRIND", None)):
        if name not in frame:
            frame[name] = default
    frame["_UNIT"] = CTCAE_V5[term].unit
    frame["_POSTBL"] = frame.get("_POSTBL", True)
    return derive_var_atoxgr(frame, {paramcd: term})


def test_ctcae_v5_decreased_counts_by_hand() -> None:
    # Neutrophil count decreased: <LLN-1.5 G1, <1.5-1.0 G2, <1.0-0.5 G3, <0.5 G4 (x10^9/L)
    out = _graded(
        "NEUT",
        "Neutrophil count decreased",
        AVAL=[0.4, 0.5, 0.99, 1.0, 1.49, 1.5, 1.79, 1.8, np.nan],
        ANRLO=1.8,
    )
    assert out["ATOXGR"].tolist()[:8] == ["4", "3", "3", "2", "2", "1", "1", "0"]
    assert pd.isna(out["ATOXGR"].iloc[8])
    # LLN unknown: 1.6 cannot be told from grade 0 / 1 -> null; 1.2 is grade 2 whatever the LLN
    out = _graded("NEUT", "Neutrophil count decreased", AVAL=[1.6, 1.2])
    assert pd.isna(out["ATOXGR"].iloc[0]) and out["ATOXGR"].iloc[1] == "2"
    # Anemia has no grade 4 by value: 70 g/L is grade 3
    assert _graded("HGB", "Anemia", AVAL=[70.0, 95.0], ANRLO=130.0)["ATOXGR"].tolist() == ["3", "2"]
    # Platelet count decreased: 24 -> 4, 49 -> 3, 74 -> 2
    out = _graded("PLAT", "Platelet count decreased", AVAL=[24.0, 49.0, 74.0, 100.0], ANRLO=125.0)
    assert out["ATOXGR"].tolist() == ["4", "3", "2", "1"]


def test_ctcae_v5_increased_liver_and_creatinine_tests_by_hand() -> None:
    # ALT, ULN 50, baseline normal: 151 > 3 x ULN -> 2; 1001 > 20 x ULN -> 4; 50 -> 0
    out = _graded(
        "ALT",
        "Alanine aminotransferase increased",
        AVAL=[151.0, 1001.0, 50.0],
        ANRHI=50.0,
        BASE=30.0,
        BNRIND="NORMAL",
    )
    assert out["ATOXGR"].tolist() == ["2", "4", "0"]
    # baseline abnormal (BASE 100 > ULN 50): 150 = 1.5 x BASE -> 1; 140 -> 0; 301 > 3 x BASE -> 2. A
    # pre-baseline record (not post-baseline) is graded on the ULN: 150 = 3 x ULN -> 1.
    out = _graded(
        "ALT", "Alanine aminotransferase increased", AVAL=[150.0, 140.0, 301.0, 150.0], ANRHI=50.0, BASE=100.0,
        BNRIND="HIGH", _POSTBL=[True, True, True, False],
    )  # fmt: skip
    assert out["ATOXGR"].tolist() == ["1", "0", "2", "1"]
    # Creatinine increased, ULN 100, BASE 80: 95 -> 0; 100.5 > ULN -> 1; 121 > 1.5 x BASE (120) -> 2 though
    # < 1.5 x ULN; 241 > 3 x BASE (240) -> 3; 601 > 6 x ULN -> 4. Pre-baseline, 121 is only > ULN -> 1.
    out = _graded(
        "CREAT", "Creatinine increased", AVAL=[95.0, 100.5, 121.0, 241.0, 601.0, 121.0], ANRHI=100.0, BASE=80.0,
        _POSTBL=[True] * 5 + [False],
    )  # fmt: skip
    assert out["ATOXGR"].tolist() == ["0", "1", "2", "3", "4", "1"]


def test_ctcae_terms_are_graded_in_the_parameters_units() -> None:
    units = {p.paramcd: p.unit for p in PARAMETERS}
    assert set(CTCAE_TERMS) == {"WBC", "NEUT", "LYM", "HGB", "PLAT", "ALT", "AST", "BILI", "CREAT"}
    assert all(CTCAE_V5[term].unit == units[paramcd] for paramcd, term in CTCAE_TERMS.items())


def test_ctcae_refuses_a_unit_other_than_the_terms() -> None:
    frame = pd.DataFrame(
        {"PARAMCD": ["NEUT"], "AVAL": [400.0], "ANRLO": [1800.0], "ANRHI": [6300.0], "BASE": [np.nan],
         "BNRIND": [None], "_UNIT": ["/uL"], "_POSTBL": [True]}
    )  # fmt: skip
    with pytest.raises(ValueError, match="graded in 10\\^9/L"):
        derive_var_atoxgr(frame, {"NEUT": "Neutrophil count decreased"})


# --------------------------------------------------------------------------------------------------
# autoantibodies (CRIT5, CRIT6), titres, cytokines (HALFLLOQ, MAXIMUM), sBCMA (CRIT7)


def test_autoantibody_decline_and_seroconversion(adlb: pd.DataFrame) -> None:
    dsdna = collected(adlb, SLE, "DSDNAAB")
    assert dsdna.loc[dsdna["ABLFL"] == "Y", "AVAL"].tolist() == [319.0]  # >= cut-off 30: seropositive
    # 145 <= 0.5 x 319 = 159.5 -> >=50% decrease; still >= 30 -> not seroconverted
    assert tuple(dsdna.loc[pd.Timestamp("2024-01-13"), ["CRIT5FL", "CRIT6FL"]]) == ("Y", "N")
    # 32.5 >= 30 -> not yet; 12.4 < 30 -> first seroconversion
    assert dsdna.loc[pd.Timestamp("2024-02-18"), "CRIT6FL"] == "N"
    assert dsdna.loc[dsdna["CRIT6FL"] == "Y"].index.min() == pd.Timestamp("2024-03-17")
    # "<10": AVAL null, the collected text kept; LLOQ 10 <= cut-off 30 and <= 159.5 -> both met
    blq = dsdna.loc[pd.Timestamp("2024-06-04")]
    assert pd.isna(blq["AVAL"]) and blq["AVALC"] == "<10" and blq["SRCVAR"] == "ISSTRESC"
    assert (blq["CRIT5FL"], blq["CRIT6FL"]) == ("Y", "Y")
    # pre-infusion records are not evaluated
    assert dsdna.loc[dsdna["ONTRTFL"].isna(), ["CRIT5FL", "CRIT6FL"]].isna().all().all()


def test_titres_reciprocal_and_ana_on_log2_scale(adlb: pd.DataFrame) -> None:
    ana = collected(adlb, SLE, "ANATITER")
    # 1:640 -> log2(640 / 40) = 4; cut-off 1:80 -> ANRHI log2(80 / 40) = 1; no PCHG on a log scale
    assert (ana["AVALC"] == "1:640").all() and (ana["AVAL"] == 4.0).all() and (ana["ANRHI"] == 1.0).all()
    assert ana["PCHG"].isna().all() and ana["R2BASE"].isna().all()
    aqp4 = collected(adlb, "CCAR168-AID-02-0006", "AQP4AB")
    # 1:100 -> 100 at baseline; 1:32 -> 32: PCHG -68, CRIT5 met; "<1:10" with cut-off 10 -> seroconverted
    assert aqp4.loc[aqp4["ABLFL"] == "Y", "AVAL"].tolist() == [100.0]
    row = aqp4.loc[aqp4["AVALC"] == "1:32"].iloc[0]
    assert (row["AVAL"], row["PCHG"], row["CRIT5FL"], row["CRIT6FL"]) == (32.0, -68.0, "Y", "N")
    assert (aqp4.loc[aqp4["AVALC"] == "<1:10", "CRIT6FL"] == "Y").all()


def test_cytokine_below_lloq_gets_a_halflloq_record(adlb: pd.DataFrame, sdtm) -> None:  # type: ignore[no-untyped-def]
    lb = sdtm.datasets["LB"]
    source = lb.loc[
        (lb["USUBJID"] == SLE) & (lb["LBTESTCD"] == "INTLK2") & (lb["LBDTC"] == "2023-12-18T10:00")
    ]
    assert source["LBSTRESC"].tolist() == ["<1"]
    il2 = records(adlb, SLE, "INTLK2", PRE_INFUSION)
    d0 = il2.loc[il2["SRCSEQ"] == source["LBSEQ"].iloc[0]]
    d0 = d0.set_index(d0["DTYPE"].fillna("COLLECTED"))
    # the collected record is kept as collected; the HALFLLOQ copy holds LLOQ / 2 = 0.5
    assert pd.isna(d0.loc["COLLECTED", "AVAL"]) and d0.loc["COLLECTED", "AVALC"] == "<1"
    assert d0.loc["HALFLLOQ", "AVAL"] == 0.5 and pd.isna(d0.loc["HALFLLOQ", "AVALC"])
    # D0 10:00 is before the infusion (11:30): the HALFLLOQ record is the PRE-INFUSION baseline
    assert d0.loc["HALFLLOQ", "ABLFL"] == "Y" and pd.isna(d0.loc["COLLECTED", "ABLFL"])
    # peak D0-D28: DAY 1 1.74 -> MAXIMUM, fold change R2BASE 1.74 / 0.5 = 3.48
    peak = il2.loc[il2["DTYPE"] == "MAXIMUM"].iloc[0]
    assert (peak["AVAL"], peak["R2BASE"], peak["AVISIT"]) == (1.74, pytest.approx(3.48), "DAY 0 TO DAY 28")
    assert peak["ADY"] == 2.0 and peak["ONTRTFL"] == "Y"
    # every cytokine record below the LLOQ has exactly one HALFLLOQ copy; no other category has one
    cytokine = adlb.loc[(adlb["PARCAT1"] == "CYTOKINE") & adlb["DTYPE"].isna() & adlb["AVAL"].isna()]
    assert (adlb["DTYPE"] == "HALFLLOQ").sum() == len(cytokine)
    assert set(adlb.loc[adlb["DTYPE"] == "HALFLLOQ", "PARCAT1"]) == {"CYTOKINE"}


def test_sbcma_below_lloq(adlb: pd.DataFrame) -> None:
    # 01-0017 sBCMA: DAY 14 2.45 (>= LLOQ 1) -> N; DAY 28 "<1" -> Y
    bcma = collected(adlb, MG, "BCMAS")
    assert bcma.loc[pd.Timestamp("2024-12-02"), "CRIT7FL"] == "N"
    assert tuple(bcma.loc[pd.Timestamp("2024-12-17"), ["AVALC", "CRIT7FL"]]) == ("<1", "Y")


def test_complement_normalisation_only_for_low_baselines(adlb: pd.DataFrame) -> None:
    c3 = adlb.loc[(adlb["PARAMCD"] == "C3") & adlb["DTYPE"].isna()]
    low = c3["BASE"] < c3["ANRLO"]
    assert c3.loc[~low, "CRIT4FL"].isna().all()
    post = c3.loc[low & (c3["ONTRTFL"] == "Y")]
    assert ((post["AVAL"] >= post["ANRLO"]) == (post["CRIT4FL"] == "Y")).all()
    # 02-0003: BASE 0.55 < LLN 0.9; DAY 28 0.94 >= 0.9 -> normalised
    row = post.loc[(post["USUBJID"] == SLE) & (post["ADT"] == pd.Timestamp("2024-01-13"))].iloc[0]
    assert (row["BASE"], row["AVAL"], row["CRIT4FL"]) == (0.55, 0.94, "Y")
