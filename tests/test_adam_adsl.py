"""ADSL on the fixture: named subjects, values worked out by hand from the SDTM frames (STUDY.md §3.1).

Fixture subjects used (DS / EX / DM facts in the comments):
- 01-0021 screen failure (DS SCREEN FAILURE 2025-01-01, no arm);
- 02-0022 lymphodepletion only (EX fludarabine + cyclophosphamide 2025-01-26..28, no C-CAR168;
  DS ADVERSE EVENT 2025-01-31);
- 03-0002 leukapheresed, never treated (DS PHYSICIAN DECISION 2023-11-19);
- 03-0001 died 2024-10-17 (DD primary cause "Severe pneumonia");
- 02-0003 completed (DS COMPLETED in FOLLOW-UP 2025-12-08), infused 2023-12-18T11:30;
- 01-0017 ongoing at the data cut (last disposition event: treatment epoch COMPLETED at D0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from cdisc168.adam.adsl import (
    AGE_GROUPS,
    build_adsl,
    derive_var_dltevlfl,
    derive_var_efffl,
    derive_var_lstalvdt,
    derive_var_pkfl,
    derive_vars_agegr1,
    derive_vars_disposition,
)
from cdisc168.adam_spec import load_adam_spec
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study

STUDYID = "CCAR168-AID"
D = pd.Timestamp
# Subject-level population flags: "Y" or "N" for every subject, never null (ADaMIG 1.3 §3.1.4, §3.2).
POPULATION_FLAGS = ("ENRLFL", "APHFL", "LDSAFFL", "SAFFL", "DLTEVLFL", "PKFL", "EFFFL")


def _id(site_subject: str) -> str:
    return f"{STUDYID}-{site_subject}"


@pytest.fixture(scope="module")
def adsl(sdtm: Any, study: Study) -> pd.DataFrame:
    return build_adsl(sdtm.datasets, {}, study)


def _row(adsl: pd.DataFrame, site_subject: str) -> pd.Series:
    rows = adsl.loc[adsl["USUBJID"] == _id(site_subject)]
    assert len(rows) == 1
    return rows.iloc[0]


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def _values(series: pd.Series) -> list[object]:
    """The values with every missing one as None."""
    return [None if _missing(v) else v for v in series]


# --------------------------------------------------------------------------------------------------
# structure


def test_adsl_has_exactly_the_spec_variables_in_spec_order(adsl: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADSL.yaml")
    assert tuple(adsl.columns) == spec.variable_names
    assert spec.structure == "ADSL" and spec.keys == ("STUDYID", "USUBJID")


def test_one_record_per_dm_subject_sorted_by_usubjid(adsl: pd.DataFrame, sdtm: Any) -> None:
    dm = sdtm.datasets["DM"]
    assert len(adsl) == len(dm) == 24
    assert adsl["USUBJID"].is_unique
    assert adsl["USUBJID"].tolist() == sorted(dm["USUBJID"])


def test_dates_are_datetimes_other_flags_y_or_null_numbers_float(adsl: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADSL.yaml")
    for var in spec.variables:
        if var.display_format in ("DATE9.", "DATETIME20."):
            assert pd.api.types.is_datetime64_dtype(adsl[var.name].dtype), var.name
        elif var.type == "Num":
            assert adsl[var.name].dtype == np.float64, var.name
        if var.name.endswith("FL") and var.name not in POPULATION_FLAGS:
            assert set(adsl[var.name].dropna()) <= {"Y"}, var.name


def test_population_flags_are_y_or_n_for_every_subject(adsl: pd.DataFrame) -> None:
    for flag in POPULATION_FLAGS:
        assert adsl[flag].notna().all(), flag
        assert set(adsl[flag]) == {"Y", "N"}, flag
    # 21 of the 24 subjects were infused (not: screen failure 01-0021, LD only 02-0022, 03-0002)
    assert (adsl["SAFFL"] == "Y").sum() == 21
    not_treated = {_id(s) for s in ("01-0021", "02-0022", "03-0002")}
    assert set(adsl.loc[adsl["SAFFL"] == "N", "USUBJID"]) == not_treated


def test_codelist_values_are_study_terms(adsl: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADSL.yaml")
    ct = load_study_ct()
    for var in spec.variables:
        if var.codelist is None or var.codelist == "COUNTRY":
            continue
        terms = {t.value for t in ct.codelists[var.codelist].terms}
        values = adsl[var.name].dropna()
        if var.type == "Num":
            values = values.map(lambda v: f"{v:g}")
        assert set(values) <= terms, (var.name, set(values) - terms)


# --------------------------------------------------------------------------------------------------
# named subjects


def test_screen_failure(adsl: pd.DataFrame) -> None:
    row = _row(adsl, "01-0021")
    # DS: SCREEN FAILURE 2025-01-01 (SCREENING epoch); DM: no arm; no PR/EX.
    assert row["EOSSTT"] == "DISCONTINUED"
    assert row["DCSREAS"] == "SCREEN FAILURE"
    assert row["EOSDT"] == D("2025-01-01")
    for flag in POPULATION_FLAGS:
        assert row[flag] == "N", flag
    for var in ("ARMCD", "ARM", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "TRTSDT", "LDSTDT", "APHASE1"):
        assert _missing(row[var]), var
    # only the undated demography height/weight (VISIT SCREENING): 164.5 cm, 50.6 kg
    assert row["HEIGHTBL"] == 164.5 and row["WEIGHTBL"] == 50.6
    assert row["BMIBL"] == pytest.approx(50.6 / 1.645**2)  # 18.70
    assert row["INDICAT"] == "SLE" and row["INDICATN"] == 1.0


def test_lymphodepletion_only_subject(adsl: pd.DataFrame) -> None:
    row = _row(adsl, "02-0022")
    # planned DL3, LD 2025-01-26..2025-01-28, never infused, DS ADVERSE EVENT 2025-01-31
    assert row["SAFFL"] == "N" and row["LDSAFFL"] == "Y" and row["APHFL"] == "Y" and row["ENRLFL"] == "Y"
    assert row["DLTEVLFL"] == row["PKFL"] == row["EFFFL"] == "N"  # all need SAFFL = "Y"
    assert row["TRT01P"] == "C-CAR168 2.0x10^6 CAR+ T cells/kg" and row["TRT01PN"] == 2.0
    assert _missing(row["TRT01A"]) and _missing(row["TRT01AN"]) and _missing(row["ACTARMCD"])
    assert _missing(row["TRTSDT"]) and _missing(row["TRTSDTM"]) and _missing(row["DOSEKG"])
    assert (row["LDSTDT"], row["LDENDT"]) == (D("2025-01-26"), D("2025-01-28"))
    assert (row["EOSSTT"], row["DCSREAS"], row["EOSDT"]) == ("DISCONTINUED", "ADVERSE EVENT", D("2025-01-31"))
    # phase LD runs from the first LD dose to the end of study (no infusion); no post-infusion phase
    assert (row["APHASE1"], row["PH1SDT"], row["PH1EDT"]) == ("LD", D("2025-01-26"), D("2025-01-31"))
    assert _missing(row["APHASE2"]) and _missing(row["PH2SDT"])
    # weight: BASELINE visit 2025-01-24 (51.3 kg) is the last on or before LDSTDT 2025-01-26
    assert row["WEIGHTBL"] == 51.3 and row["HEIGHTBL"] == 163.6


def test_never_treated_subject(adsl: pd.DataFrame) -> None:
    row = _row(adsl, "03-0002")
    # leukapheresis 2023-11-08, DS PHYSICIAN DECISION 2023-11-19, no EX at all
    assert row["ENRLFL"] == "Y" and row["APHFL"] == "Y"
    assert row["SAFFL"] == "N" and row["LDSAFFL"] == "N"
    assert row["APHDT"] == D("2023-11-08")
    assert row["TRT01PN"] == 0.5 and _missing(row["TRT01A"])
    assert (row["EOSSTT"], row["DCSREAS"], row["EOSDT"]) == (
        "DISCONTINUED",
        "PHYSICIAN DECISION",
        D("2023-11-19"),
    )
    assert _missing(row["APHASE1"]) and _missing(row["APHASE2"])
    assert row["LSTALVDT"] == D("2023-11-19")


def test_death_subject(adsl: pd.DataFrame) -> None:
    row = _row(adsl, "03-0001")
    # DM DTHDTC 2024-10-17, DD PRCDTH "Severe pneumonia", DS DEATH 2024-10-17
    assert row["DTHFL"] == "Y"
    assert row["DTHDT"] == D("2024-10-17") and _missing(row["DTHDTF"])
    assert row["DTHCAUS"] == "Severe pneumonia"
    assert row["LSTALVDT"] == D("2024-10-17")
    assert (row["EOSSTT"], row["DCSREAS"], row["EOSDT"]) == ("DISCONTINUED", "DEATH", D("2024-10-17"))
    assert row["PH2EDT"] == D("2024-10-17")


def test_ongoing_subject(adsl: pd.DataFrame) -> None:
    row = _row(adsl, "01-0017")
    # last disposition event: treatment epoch COMPLETED at D0 (2024-11-19): still in follow-up at the cut
    assert row["EOSSTT"] == "ONGOING"
    assert _missing(row["EOSDT"]) and _missing(row["DCSREAS"])
    assert row["PH2EDT"] == row["LSTALVDT"]
    assert row["LSTALVDT"] <= D("2026-03-31")


def test_completed_subject_and_infusion_dates(adsl: pd.DataFrame) -> None:
    row = _row(adsl, "02-0003")
    # DS COMPLETED (FOLLOW-UP, MONTH 24) 2025-12-08
    assert (row["EOSSTT"], row["EOSDT"]) == ("COMPLETED", D("2025-12-08"))
    assert _missing(row["DCSREAS"])
    # EX C-CAR168: EXSTDTC 2023-12-18T11:30, EXENDTC 2023-12-18T11:51, EXDOSE 0.554; SUPPEX TOTCELL 41.5
    assert row["TRTSDT"] == D("2023-12-18") and row["TRTEDT"] == D("2023-12-18")
    assert row["TRTSDTM"] == D("2023-12-18 11:30:00")
    assert row["TRTEDTM"].floor("min") == D("2023-12-18 11:51")
    assert _missing(row["TRTSTMF"])  # only the uncollected seconds were imputed
    assert row["DOSEKG"] == 0.554 and row["TOTCELL"] == 41.5
    assert row["TRT01A"] == row["TRT01P"] == "C-CAR168 0.5x10^6 CAR+ T cells/kg" and row["TRT01AN"] == 0.5
    # LD 2023-12-13..15; leukapheresis 2023-11-27
    assert (row["LDSTDT"], row["LDENDT"], row["APHDT"]) == (D("2023-12-13"), D("2023-12-15"), D("2023-11-27"))
    # phases: LD 2023-12-13..2023-12-17, post-infusion 2023-12-18..EOS
    assert (row["PH1SDT"], row["PH1EDT"]) == (D("2023-12-13"), D("2023-12-17"))
    assert (row["APHASE2"], row["PH2SDT"], row["PH2EDT"]) == (
        "POST-INFUSION",
        D("2023-12-18"),
        D("2025-12-08"),
    )
    for flag in POPULATION_FLAGS:
        assert row[flag] == "Y", flag


def test_baselines_by_hand(adsl: pd.DataFrame) -> None:
    r3 = _row(adsl, "02-0003")
    # VS: undated screening height 167.3; weights screening 74.9 (2023-11-19), BASELINE 74.8 (2023-12-12)
    assert r3["HEIGHTBL"] == 167.3 and r3["WEIGHTBL"] == 74.8
    assert r3["BMIBL"] == pytest.approx(74.8 / 1.673**2)  # 26.72
    # RS SLED0125: screening 9 (2023-11-19), BASELINE 9 (2023-12-12) <= LDSTDT 2023-12-13, DAY 28 9 (after)
    assert r3["BSLEDAI"] == 9.0
    r1 = _row(adsl, "03-0001")
    # SLED0125 BASELINE 2023-11-11 = 16; LB IGG 13.56 g/L, BLYCE 125 /uL on 2023-11-11 (LD 2023-11-13)
    assert (r1["BSLEDAI"], r1["BIGG"], r1["BCD19"]) == (16.0, 13.56, 125.0)
    assert _missing(r1["BEDSS"]) and _missing(r1["BMGADL"])  # not an NMOSD/RRMS/MG subject
    r4 = _row(adsl, "04-0004")
    # IMNM: CK screening 1874 (2023-12-22), BASELINE 2032 (2024-01-16) <= LDSTDT 2024-01-19; DAY 14 1346 later
    assert r4["BCK"] == 2032.0
    # DISDURY: SUPPMH DISDURY of the PRIMARY DIAGNOSIS (MHSEQ 1) of 01-0017 = 5.5
    assert _row(adsl, "01-0017")["DISDURY"] == 5.5


def test_last_known_alive_agrees_with_the_sdtm_last_contact(adsl: pd.DataFrame, sdtm: Any) -> None:
    # DM RFPENDTC is the latest record date of any raw form (capped at the cut); ADSL LSTALVDT takes the
    # latest record date of the SDTM records: the two must agree for every subject (alive or dead here,
    # since the one death 2024-10-17 is also the subject's last record date).
    rfpendtc = pd.to_datetime(sdtm.datasets["DM"].set_index("USUBJID")["RFPENDTC"])
    assert (adsl.set_index("USUBJID")["LSTALVDT"] == rfpendtc.reindex(adsl["USUBJID"])).all()
    assert (adsl["LSTALVDT"] <= D("2026-03-31")).all()


def test_bisn_counts_immunosuppressants_ongoing_at_consent(adsl: pd.DataFrame) -> None:
    # 04-0004 (consent 2023-12-22): methotrexate 2020-11-24..2024-01-08 and tacrolimus 2023-04-20..2023-12-28
    assert _row(adsl, "04-0004")["BISN"] == 2.0
    # 02-0003 (consent 2023-11-19): mycophenolate stopped 2023-11-18, the day before
    assert _row(adsl, "02-0003")["BISN"] == 0.0
    # 02-0009: rituximab 2021 only (single doses long before consent)
    assert _row(adsl, "02-0009")["BISN"] == 0.0


def test_dlt_evaluable_on_fixture(adsl: pd.DataFrame) -> None:
    # 02-0006: investigator DLT (SUPPAE AEDLT Y, AESEQ 3, start 2024-04-05 = protocol day 7), DL2 dose 0.986
    assert _row(adsl, "02-0006")["DLTEVLFL"] == "Y"
    # 03-0008: DL2, DOSEKG 0.873 >= 0.8 x 1.0; followed well beyond day 28
    assert _row(adsl, "03-0008")["DLTEVLFL"] == "Y"
    assert set(adsl.loc[adsl["SAFFL"] == "N", "DLTEVLFL"]) == {"N"}


# --------------------------------------------------------------------------------------------------
# derivations on small synthetic frames


def test_dltevlfl_early_discontinuation_versus_28_days(study: Study) -> None:
    start = D("2024-01-01")
    adsl = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": ["A", "B", "C", "D", "E", "F"],
            "SAFFL": ["Y", "Y", "Y", "Y", "Y", "N"],
            "TRTSDT": [start] * 5 + [pd.NaT],
            # A left on day 14 without DLT; B left on day 14 after a DLT on day 7; C reached day 28;
            # D stopped at day 27; E reached day 28 but got 0.7 of the planned dose; F never infused
            "LSTALVDT": [
                D("2024-01-15"),
                D("2024-01-15"),
                D("2024-01-29"),
                D("2024-01-28"),
                D("2024-01-29"),
                pd.NaT,
            ],
            "DOSEKG": [1.0, 1.0, 0.8, 1.0, 0.7, np.nan],
            "TRT01PN": [1.0] * 6,
        }
    )
    ae = pd.DataFrame({"USUBJID": ["A", "B"], "AESEQ": [1.0, 1.0], "AESTDTC": ["2024-01-08", "2024-01-08"]})
    suppae = pd.DataFrame(
        {"USUBJID": ["A", "B"], "IDVARVAL": ["1", "1"], "QNAM": ["AEDLT", "AEDLT"], "QVAL": ["N", "Y"]}
    )
    out = derive_var_dltevlfl(adsl, ae, suppae, study)
    assert out["DLTEVLFL"].tolist() == ["N", "Y", "Y", "N", "N", "N"]


def test_pkfl_needs_a_quantifiable_post_infusion_sample() -> None:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D"],
            "SAFFL": ["Y", "Y", "Y", "N"],
            "TRTSDTM": [D("2024-01-01 10:00")] * 3 + [pd.NaT],
        }
    )
    pc = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "B", "C", "D"],
            # A: D1 value; B: post-infusion BLQ only; C: quantifiable before the infusion (same day 08:00)
            "PCDTC": [
                "2024-01-02T09:00",
                "2024-01-02T09:00",
                "2024-01-01T08:00",
                "2024-01-01T08:00",
                "2024-01-02",
            ],
            "PCSTRESN": [150.0, np.nan, 30.0, 30.0, 5.0],
        }
    )
    assert derive_var_pkfl(adsl, pc)["PKFL"].tolist() == ["Y", "N", "N", "N"]


def test_disposition_decision_table() -> None:
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A", "B", "C", "D"]})
    ds = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": ["A", "A", "B", "B", "C"],
            "DSSEQ": [1.0, 2.0, 1.0, 2.0, 1.0],
            "DSCAT": ["DISPOSITION EVENT"] * 5,
            "DSDECOD": ["COMPLETED", "COMPLETED", "COMPLETED", "LOST TO FOLLOW-UP", "COMPLETED"],
            "EPOCH": ["TREATMENT", "FOLLOW-UP", "TREATMENT", "FOLLOW-UP", "SCREENING"],
            "DSSTDTC": ["2024-01-01", "2025-12-30", "2024-01-01", "2024-06-01", "2024-01-01"],
        }
    )
    out = derive_vars_disposition(adsl, ds)
    assert out["EOSSTT"].tolist() == ["COMPLETED", "DISCONTINUED", "ONGOING", "ONGOING"]
    assert _values(out["DCSREAS"]) == [None, "LOST TO FOLLOW-UP", None, None]
    assert out["EOSDT"].tolist()[:2] == [D("2025-12-30"), D("2024-06-01")]
    assert out["EOSDT"].iloc[2:].isna().all()


def test_age_groups_and_codelist_agree() -> None:
    adsl = pd.DataFrame({"AGE": [18.0, 39.0, 40.0, 64.0, 65.0, np.nan]})
    out = derive_vars_agegr1(adsl)
    assert out["AGEGR1"].tolist()[:5] == ["<40", "<40", "40-64", "40-64", ">=65"]
    assert pd.isna(out["AGEGR1"].iloc[5]) and np.isnan(out["AGEGR1N"].iloc[5])
    assert out["AGEGR1N"].tolist()[:5] == [1.0, 1.0, 2.0, 2.0, 3.0]
    terms = [t.value for t in load_study_ct().codelists["AGEGR1"].terms]
    assert terms == [label for _, label, _ in AGE_GROUPS]


def test_lstalvdt_death_date_wins_and_nothing_after_the_cut() -> None:
    cut = D("2026-03-31")
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "DTHDT": [pd.NaT, D("2025-05-02")]})
    sdtm = {
        # A: a lab on 2026-03-30, an AE starting after the cut (2026-04-02), a partial date (2026-03)
        "LB": pd.DataFrame({"USUBJID": ["A", "B"], "LBDTC": ["2026-03-30T08:00", "2025-05-01"]}),
        "AE": pd.DataFrame({"USUBJID": ["A", "A", "B"], "AESTDTC": ["2026-04-02", "2026-03", "2025-04-20"]}),
    }
    out = derive_var_lstalvdt(adsl, sdtm, cut)
    assert out["LSTALVDT"].tolist() == [D("2026-03-30"), D("2025-05-02")]


def test_efffl_needs_baseline_and_post_infusion_assessments() -> None:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D"],
            "SAFFL": ["Y", "Y", "Y", "N"],
            "LDSTDT": [D("2024-01-01")] * 4,
            "TRTSDT": [D("2024-01-06")] * 3 + [pd.NaT],
        }
    )
    rs = pd.DataFrame(
        {
            # A: baseline D-7 and month 1; B: baseline only (the infusion-day assessment is not
            # post-baseline); C: post-infusion only; D: not infused
            "USUBJID": ["A", "A", "B", "B", "C", "D", "D"],
            "RSDTC": [
                "2023-12-28",
                "2024-02-05",
                "2023-12-28",
                "2024-01-06",
                "2024-02-05",
                "2023-12-28",
                "2024-02-05",
            ],
            "RSSTRESC": ["12", "4", "12", "12", "4", "12", "4"],
        }
    )
    qs = pd.DataFrame({"USUBJID": pd.Series(dtype="str"), "QSDTC": [], "QSSTRESC": []})
    out = derive_var_efffl(adsl, {"RS": rs, "QS": qs}, D("2026-03-31"))
    assert out["EFFFL"].tolist() == ["Y", "N", "N", "N"]


def test_indicatn_codelist_follows_the_study_indication_order(study: Study) -> None:
    terms = {t.value: t.decode for t in load_study_ct().codelists["INDICATN"].terms}
    assert terms == {str(i.order): i.code for i in study.indications}
