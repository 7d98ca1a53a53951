"""ADPC and ADPP (cdisc168.adam.adpc / adpp) on the fixture and on a small synthetic profile.

Fixture subjects used below (SDTM PC / EX of fixtures/raw), with the facts the expectations rest on:
- 01-0017: DL3 (EXDOSE 2.194 x10^6/kg), infusion start 2024-11-19T09:10. CARTDNA: BASELINE <20
  (2024-11-12T07:20), D1 517, D4 1117, D7 3347, D10 7266, D14 13559 (2024-12-02T06:35), D21 2634,
  D28 1033, M2 510, M3 286, M6 46 (2025-05-07T09:25), M9 <20, M12 <20.
- 02-0003: CARTCELL D1 <0.1 (2023-12-19T11:15, 0.993 d after the infusion start 2023-12-18T11:30),
  then quantifiable: a leading BLQ sample.
- 03-0020: the DAY 21 samples drawn 2025-01-28 (protocol day 26; window [18, 24], target 21).
- 02-0009: the DAY 14 samples drawn 2024-05-29 (protocol day 17; window [12, 16], target 14).
- 02-0022: lymphodepletion only (no infusion): PC baseline samples, no ADPC record.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from cdisc168.adam.adpc import (
    REASON_NO_NOMINAL,
    REASON_RETREATMENT,
    REASON_WINDOW,
    build_adpc,
)
from cdisc168.adam.adpp import build_adpp
from cdisc168.adam.adsl import build_adsl
from cdisc168.adam_spec import load_adam_spec
from cdisc168.sdtm.pp import nca_parameters
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study

STUDYID = "CCAR168-AID"
S0017 = f"{STUDYID}-01-0017"
S0003 = f"{STUDYID}-02-0003"
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def adam(sdtm: Any, study: Study) -> dict[str, pd.DataFrame]:
    datasets: dict[str, pd.DataFrame] = {"ADSL": build_adsl(sdtm.datasets, {}, study)}
    datasets["ADPC"] = build_adpc(sdtm.datasets, datasets, study)
    datasets["ADPP"] = build_adpp(sdtm.datasets, datasets, study)
    return datasets


@pytest.fixture(scope="module")
def adpc(adam: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return adam["ADPC"]


@pytest.fixture(scope="module")
def adpp(adam: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return adam["ADPP"]


def _profile(adpc: pd.DataFrame, usubjid: str, paramcd: str) -> pd.DataFrame:
    return adpc[(adpc["USUBJID"] == usubjid) & (adpc["PARAMCD"] == paramcd)].sort_values("AFRLT")


def _one(adpp: pd.DataFrame, usubjid: str, paramcd: str) -> pd.Series:
    rows = adpp[(adpp["USUBJID"] == usubjid) & (adpp["PARAMCD"] == paramcd)]
    assert len(rows) == 1, f"{usubjid} {paramcd}: {len(rows)} records"
    return rows.iloc[0]


# --------------------------------------------------------------------------------------------------
# structure


@pytest.mark.parametrize("name", ["ADPC", "ADPP"])
def test_exactly_the_spec_variables_in_spec_order(
    adam: dict[str, pd.DataFrame], study: Study, name: str
) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / f"{name}.yaml")
    assert spec.structure == "BDS"
    assert tuple(adam[name].columns) == spec.variable_names
    assert not adam[name].duplicated(list(spec.keys)).any()


def test_adpc_holds_every_pc_record_of_the_infused_subjects(sdtm: Any, adpc: pd.DataFrame) -> None:
    pc = sdtm.datasets["PC"]
    infused = pc[pc["PCRFTDTC"].notna()]
    assert len(adpc) == len(infused) == 843  # 846 PC records, 3 of 02-0022 (never infused)
    assert not (adpc["USUBJID"] == f"{STUDYID}-02-0022").any()
    assert (adpc["SRCDOM"] == "PC").all() and (adpc["SRCVAR"] == "PCSTRESN").all()
    assert sorted(adpc["SRCSEQ"].astype(int)) == sorted(infused["PCSEQ"].astype(int))


def test_parameters_and_units_are_the_declared_terms(adam: dict[str, pd.DataFrame]) -> None:
    terms = load_study_ct()
    for name in ("ADPC", "ADPP"):
        pairs = adam[name][["PARAMCD", "PARAM"]].drop_duplicates()
        assert pairs["PARAMCD"].is_unique and pairs["PARAM"].is_unique  # PARAMCD <-> PARAM one to one
        codes = terms.codelist(f"{name}PARMCD")
        assert dict(zip(pairs["PARAMCD"], pairs["PARAM"], strict=True)) == {
            t.value: t.decode for t in codes.terms
        }
        assert set(adam[name]["AVALU"]) <= set(terms.codelist("PKUNIT").values)
        assert set(adam[name]["PARCAT1"]) == {
            "C-CAR168 CAR Transgene DNA",
            "C-CAR168 CAR-positive T Cells",
            "C-CAR168 CAR+ T Cells/T Cells",
        }
    adpc = adam["ADPC"]
    assert set(adpc["NCA1XRS"].dropna()) <= set(terms.codelist("NCAXRS").values)
    assert set(adpc["PKSUMXRS"].dropna()) <= set(terms.codelist("PKSUMXRS").values)
    assert (adpc["RRLTU"] == "DAYS").all() and (adpc["DOSEU"] == "10^6/kg").all()


# --------------------------------------------------------------------------------------------------
# ADPC on the fixture


def test_relative_times_of_a_named_subject(adpc: pd.DataFrame) -> None:
    # 01-0017, infusion start 2024-11-19T09:10.
    # D14 sample 2024-12-02T06:35: AFRLT = (PCDTC - infusion start) / 86400 s = 13 d - 2 h 35 min
    # = 13 - 155/1440 = 12.892361 d; nominal PCELTM P14D -> NFRLT 14; ADY = 13 + 1 = 14.
    # Baseline sample 2024-11-12T07:20: -(7 d + 1 h 50 min) = -(7 + 110/1440) = -7.076389 d; NFRLT -7.
    rows = _profile(adpc, S0017, "CARTDNA").set_index("AVISIT")
    d14, base = rows.loc["DAY 14"], rows.loc["BASELINE"]
    assert d14["ADTM"] == pd.Timestamp("2024-12-02 06:35") and d14["FANLDTM"] == pd.Timestamp(
        "2024-11-19 09:10"
    )
    assert d14["AFRLT"] == pytest.approx(13 - 155 / 1440, rel=1e-12)
    assert d14["ARRLT"] == d14["AFRLT"] and d14["PCRFTDTM"] == d14["FANLDTM"]
    assert d14["NFRLT"] == d14["NRRLT"] == 14 and d14["ADY"] == 14 and d14["RRLTU"] == "DAYS"
    assert d14["ATPT"] == "DAY 14" and d14["ATPTN"] == 14 and d14["ATPTREF"] == "C-CAR168 INFUSION"
    assert base["AFRLT"] == pytest.approx(-(7 + 110 / 1440), rel=1e-12)
    assert base["NFRLT"] == -7 and base["ADY"] == -7 and pd.isna(base["ATMF"])
    # every record: AFRLT is the exact (PCDTC - infusion start) in days (all fixture times are collected)
    exact = (adpc["ADTM"] - adpc["FANLDTM"]) / DAY
    assert np.allclose(adpc["AFRLT"], exact, rtol=0, atol=1e-9)


def test_blq_rules_on_the_fixture(adpc: pd.DataFrame) -> None:
    # 01-0017 CARTDNA: pre-infusion <20 -> 0; D1..M6 quantifiable = PCSTRESN; M9 and M12 <20 after the
    # last quantifiable M6 sample (Tlast) -> trailing, excluded (AVAL and ANL01FL null, still in the NCA
    # profile: NCAXFL null).
    rows = _profile(adpc, S0017, "CARTDNA").set_index("AVISIT")
    assert rows.loc["BASELINE", "AVAL"] == 0 and rows.loc["BASELINE", "BLQFL"] == "Y"
    assert rows.loc["BASELINE", "ANL01FL"] == "Y" and rows.loc["BASELINE", "PCSTRESC"] == "<20"
    assert rows.loc["BASELINE", "ALLOQ"] == 20
    assert rows.loc["DAY 14", "AVAL"] == 13559 and pd.isna(rows.loc["DAY 14", "BLQFL"])
    for visit in ("MONTH 9", "MONTH 12"):
        assert pd.isna(rows.loc[visit, "AVAL"]) and rows.loc[visit, "BLQFL"] == "Y"
        assert pd.isna(rows.loc[visit, "ANL01FL"]) and pd.isna(rows.loc[visit, "ANL02FL"])
        assert pd.isna(rows.loc[visit, "NCAXFL"])
    # 02-0003 CARTCELL: D1 <0.1 before the first quantifiable sample -> 0 (leading BLQ)
    d1 = _profile(adpc, S0003, "CARTCELL").set_index("AVISIT").loc["DAY 1"]
    assert d1["PCSTRESC"] == "<0.1" and d1["AFRLT"] > 0 and d1["AVAL"] == 0 and d1["ANL01FL"] == "Y"


def test_window_exclusion_on_the_fixture(adpc: pd.DataFrame) -> None:
    # 03-0020 DAY 21 drawn on protocol day 26: 5 days after the target, allowance 24 - 21 = 3 days,
    # 5 > 1.5 x 3 = 4.5 -> left out of the summaries (all three analytes), still analysed by the NCA.
    d21 = adpc[(adpc["USUBJID"] == f"{STUDYID}-03-0020") & (adpc["AVISIT"] == "DAY 21")]
    assert len(d21) == 3 and (d21["PKSUMXF"] == "Y").all() and (d21["PKSUMXRS"] == REASON_WINDOW).all()
    assert d21["NCAXFL"].isna().all() and (d21["ANL01FL"] == "Y").all()
    # 02-0009 DAY 14 drawn on protocol day 17: 3 days late, allowance 16 - 14 = 2, 3 = 1.5 x 2 is not more.
    d14 = adpc[(adpc["USUBJID"] == f"{STUDYID}-02-0009") & (adpc["AVISIT"] == "DAY 14")]
    assert len(d14) == 3 and d14["PKSUMXF"].isna().all()
    # the fixture has 2 such visits (03-0020 DAY 21, 03-0024 DAY 7) x 3 analytes
    assert (adpc["PKSUMXF"] == "Y").sum() == 6


# --------------------------------------------------------------------------------------------------
# the BLQ rules and exclusions on a synthetic profile


def _synthetic_sdtm() -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """One subject, CARTDNA (LLOQ 20), infused 2024-01-01T10:00, re-treated 2024-01-19T10:00; every
    sample at 10:00 so AFRLT is a whole number of days:

    ======  ==========  =====  ======  ==================================
    visit   date        AFRLT  result  expected
    ======  ==========  =====  ======  ==================================
    BASE    2023-12-25  -7     <20     0 (pre-infusion)
    DAY 1   2024-01-02  1      <20     0 (before the first quantifiable)
    DAY 4   2024-01-05  4      100     100
    DAY 7   2024-01-10  9      <20     0, sensitivity: out (between);
                                       protocol day 9 > 7 + 1.5 x 1: out of the summaries
    DAY 10  2024-01-11  10     50      50 (Tlast)
    DAY 14  2024-01-15  14     <20     null (trailing)
    DAY 21  2024-01-22  21     30      after the re-treatment: NCAXFL
    UNSCH.  2024-01-12  11     not done  NCAXFL NO RESULT; no nominal time
    ======  ==========  =====  ======  ==================================

    and CARTCELL (LLOQ 0.1) quantifiable on DAY 1 (0.5) and DAY 4 (2.0), its last sample: Tlast censored.
    """
    usubjid = "S-1"
    visits = [
        ("BASELINE", 3.0, "2023-12-25", "<20", -7.0, "-P7D"),
        ("DAY 1", 8.0, "2024-01-02", "<20", 1.0, "P1D"),
        ("DAY 4", 9.0, "2024-01-05", "100", 4.0, "P4D"),
        ("DAY 7", 10.0, "2024-01-10", "<20", 7.0, "P7D"),
        ("DAY 10", 11.0, "2024-01-11", "50", 10.0, "P10D"),
        ("DAY 14", 12.0, "2024-01-15", "<20", 14.0, "P14D"),
        ("DAY 21", 13.0, "2024-01-22", "30", 21.0, "P21D"),
        ("UNSCHEDULED 11.01", 11.01, "2024-01-12", None, np.nan, None),
    ]
    pc = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": usubjid,
            "PCSEQ": np.arange(1.0, len(visits) + 1),
            "PCTESTCD": "CARTDNA",
            "PCTEST": "C-CAR168 CAR Transgene DNA",
            "PCSTRESC": [v[3] for v in visits],
            "PCSTRESN": pd.to_numeric(pd.Series([v[3] for v in visits]), errors="coerce"),
            "PCSTRESU": "DNA copies/ug",
            "PCSPEC": "BLOOD",
            "PCLLOQ": 20.0,
            "VISITNUM": [v[1] for v in visits],
            "VISIT": [v[0] for v in visits],
            "PCDTC": [f"{v[2]}T10:00" for v in visits],
            "PCTPT": [v[0] for v in visits],
            "PCTPTNUM": [v[4] for v in visits],
            "PCELTM": [v[5] for v in visits],
            "PCTPTREF": "C-CAR168 INFUSION",
            "PCRFTDTC": "2024-01-01T10:00",
        }
    )
    cells = pc.iloc[[1, 2]].assign(
        PCSEQ=[9.0, 10.0],
        PCTESTCD="CARTCELL",
        PCTEST="C-CAR168 CAR-positive T Cells",
        PCSTRESC=["0.5", "2.0"],
        PCSTRESN=[0.5, 2.0],
        PCSTRESU="10^6/L",
        PCLLOQ=0.1,
    )
    pc = pd.concat([pc, cells], ignore_index=True)
    ex = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": usubjid,
            "EXSEQ": [1.0, 2.0],
            "EXTRT": "C-CAR168",
            "EXSTDTC": ["2024-01-01T10:00", "2024-01-19T10:00"],
        }
    )
    pp = pd.DataFrame(columns=["STUDYID", "USUBJID", "PPCAT", "PPSPEC", "PPTESTCD", "PPENINT", "PPSEQ"])
    adsl = pd.DataFrame(
        {
            "STUDYID": ["S"],
            "USUBJID": [usubjid],
            "SUBJID": ["1"],
            "SITEID": ["01"],
            "AGE": [40.0],
            "AGEU": ["YEARS"],
            "SEX": ["F"],
            "RACE": ["ASIAN"],
            "SAFFL": ["Y"],
            "PKFL": ["Y"],
            "TRT01P": ["DL1"],
            "TRT01PN": [0.5],
            "TRT01A": ["DL1"],
            "TRT01AN": [0.5],
            "DOSEKG": [0.5],
            "TRTSDTM": [pd.Timestamp("2024-01-01 10:00")],
            "TRTSTMF": [None],
            "TRTSDT": [pd.Timestamp("2024-01-01")],
        }
    )
    return {"PC": pc, "EX": ex, "PP": pp}, {"ADSL": adsl}


@pytest.fixture(scope="module")
def synthetic(study: Study) -> dict[str, pd.DataFrame]:
    sdtm, adam = _synthetic_sdtm()
    adam["ADPC"] = build_adpc(sdtm, adam, study)
    adam["ADPP"] = build_adpp(sdtm, adam, study)
    return adam


def _synthetic_dna(synthetic: dict[str, pd.DataFrame]) -> pd.DataFrame:
    adpc = synthetic["ADPC"]
    return adpc[adpc["PARAMCD"] == "CARTDNA"].set_index("AVISIT")


def test_blq_rules_on_a_synthetic_profile(synthetic: dict[str, pd.DataFrame]) -> None:
    rows = _synthetic_dna(synthetic)
    assert rows["AFRLT"].tolist() == [-7.0, 1.0, 4.0, 9.0, 10.0, 11.0, 14.0, 21.0]
    aval = rows["AVAL"]
    assert aval["BASELINE"] == 0  # pre-infusion BLQ
    assert aval["DAY 1"] == 0  # post-infusion BLQ before the first quantifiable sample
    assert aval["DAY 4"] == 100 and aval["DAY 10"] == 50
    assert aval["DAY 7"] == 0  # BLQ between two quantifiable samples: 0 ...
    assert rows.loc["DAY 7", "ANL01FL"] == "Y" and pd.isna(
        rows.loc["DAY 7", "ANL02FL"]
    )  # ... sensitivity: out
    assert pd.isna(aval["DAY 14"])  # trailing BLQ after Tlast: excluded
    assert pd.isna(rows.loc["DAY 14", "ANL01FL"]) and pd.isna(rows.loc["DAY 14", "NCAXFL"])
    assert rows.loc[["BASELINE", "DAY 1", "DAY 4", "DAY 10"], "ANL02FL"].eq("Y").all()


def test_exclusions_on_a_synthetic_profile(synthetic: dict[str, pd.DataFrame]) -> None:
    rows = _synthetic_dna(synthetic)
    # DAY 21 drawn after the re-treatment (second C-CAR168 infusion 2024-01-19): out of the NCA and
    # of the summaries, its value kept
    d21 = rows.loc["DAY 21"]
    assert d21["NCAXFL"] == "Y" and d21["NCA1XRS"] == REASON_RETREATMENT
    assert d21["PKSUMXF"] == "Y" and d21["PKSUMXRS"] == REASON_RETREATMENT
    assert d21["AVAL"] == 30 and pd.isna(d21["ANL01FL"])
    # DAY 7 drawn on protocol day 9: 2 days after the target, allowance 8 - 7 = 1, 2 > 1.5
    assert rows.loc["DAY 7", "PKSUMXRS"] == REASON_WINDOW and pd.isna(rows.loc["DAY 7", "NCAXFL"])
    # the unscheduled sample was not done: no result, no nominal time
    unscheduled = rows.loc["UNSCHEDULED 11.01"]
    assert unscheduled["NCA1XRS"] == "NO RESULT" and unscheduled["PKSUMXRS"] == REASON_NO_NOMINAL
    assert pd.isna(unscheduled["NFRLT"]) and pd.isna(unscheduled["AVAL"])
    assert rows.loc[["BASELINE", "DAY 1", "DAY 4", "DAY 10", "DAY 14"], "PKSUMXF"].isna().all()


def test_adpp_on_a_synthetic_profile(synthetic: dict[str, pd.DataFrame]) -> None:
    # NCA on (0, 0), (1, 0), (4, 100), (9, 0), (10, 50); DAY 14 <20 trailing; DAY 21 excluded.
    # Cmax 100 at 4 d; Tlast 10 d, Clast 50, not censored (a BLQ sample follows);
    # AUClast = 3 x 100/2 + 5 x 100/2 + 1 x 50/2 = 150 + 250 + 25 = 425 day*DNA copies/ug.
    # AUC(0-28) and AUC(0-90): the last quantifiable sample (day 10) is before the DAY 28 window -> null.
    adpp = synthetic["ADPP"].set_index("PARAMCD")
    assert adpp.loc["DCMAX", "AVAL"] == 100 and adpp.loc["DTMAX", "AVAL"] == 4
    assert adpp.loc["DTLST", "AVAL"] == 10 and adpp.loc["DCLST", "AVAL"] == 50
    assert pd.isna(adpp.loc["DTLST", "TLSTCNSR"])
    assert adpp.loc["DAUCLST", "AVAL"] == 425 and adpp.loc["DAUCLST", "AVALU"] == "day*DNA copies/ug"
    assert adpp.loc[["DAUC28", "DAUC90", "DAUC28DW"], "AVAL"].isna().all()
    assert adpp["SRCSEQ"].isna().all() and adpp["SRCDOM"].isna().all()  # no SDTM PP given
    assert (adpp["ANL01FL"].eq("Y") == adpp["AVAL"].notna()).all()
    # CARTCELL: the last sample (DAY 4, 2.0) is quantifiable -> Tlast 4 d censored; Cmax 2.0 at 4 d;
    # AUClast = 1 x 0.5/2 + 3 x (0.5 + 2.0)/2 = 0.25 + 3.75 = 4 day*10^6/L
    assert adpp.loc["CTLST", "AVAL"] == 4 and adpp.loc["CTLST", "TLSTCNSR"] == "Y"
    assert adpp.loc["CCMAX", "AVAL"] == 2 and adpp.loc["CAUCLST", "AVAL"] == 4
    assert adpp["TLSTCNSR"].eq("Y").sum() == 1


# --------------------------------------------------------------------------------------------------
# ADPP on the fixture


def test_cmax_and_tmax_of_a_named_subject_from_adpc(adpc: pd.DataFrame, adpp: pd.DataFrame) -> None:
    # 01-0017 CARTDNA: the highest post-infusion ADPC AVAL is 13559 (D14, AFRLT 12.892361 d) -> Cmax,
    # Tmax; Tlast = M6 at 169 d + 15 min = 169.0104167 d (M9 <20 follows: not censored), Clast 46.
    rows = _profile(adpc, S0017, "CARTDNA")
    post = rows[rows["AFRLT"] > 0]
    peak = post.loc[post["AVAL"].idxmax()]
    assert peak["AVAL"] == 13559 and peak["AVISIT"] == "DAY 14"
    cmax, tmax = _one(adpp, S0017, "DCMAX"), _one(adpp, S0017, "DTMAX")
    assert cmax["AVAL"] == 13559 and cmax["AVALU"] == "DNA copies/ug"
    assert cmax["PARAM"] == "Max Conc of C-CAR168 CAR Transgene DNA in Blood (DNA copies/ug)"
    assert tmax["AVAL"] == pytest.approx(13 - 155 / 1440, rel=1e-9) and tmax["AVALU"] == "day"
    assert tmax["AVAL"] == pytest.approx(peak["AFRLT"], rel=1e-9)
    tlst = _one(adpp, S0017, "DTLST")
    assert tlst["AVAL"] == pytest.approx(169 + 15 / 1440, rel=1e-9) and pd.isna(tlst["TLSTCNSR"])
    assert _one(adpp, S0017, "DCLST")["AVAL"] == 46
    # AUC(0-28) per dose: AUC(0-28) / DOSEA 2.194 x10^6/kg
    auc28, per_dose = _one(adpp, S0017, "DAUC28"), _one(adpp, S0017, "DAUC28DW")
    assert per_dose["AVAL"] == pytest.approx(auc28["AVAL"] / 2.194, rel=1e-12)
    assert per_dose["AVALU"] == "(day*DNA copies/ug)/(10^6/kg)" and per_dose["DOSEA"] == 2.194


def test_adpp_equals_sdtm_pp(sdtm: Any, adpp: pd.DataFrame) -> None:
    # Every ADPP value computed in both stages names its PP record (SRCSEQ = PPSEQ) and equals its
    # PPSTRESN exactly; every PP record is covered once.
    pp = sdtm.datasets["PP"]
    traced = adpp[adpp["SRCSEQ"].notna()]
    assert (traced["SRCDOM"] == "PP").all() and (traced["SRCVAR"] == "PPSTRESN").all()
    joined = traced.merge(
        pp[["USUBJID", "PPSEQ", "PPCAT", "PPTESTCD", "PPENINT", "PPSTRESN", "PPSTRESU"]],
        left_on=["USUBJID", "SRCSEQ"],
        right_on=["USUBJID", "PPSEQ"],
        validate="one_to_one",
    )
    assert len(joined) == len(pp) == 441
    both_missing = joined["AVAL"].isna() & joined["PPSTRESN"].isna()
    assert (both_missing | (joined["AVAL"] == joined["PPSTRESN"])).all()
    assert (joined["AVALU"] == joined["PPSTRESU"]).where(joined["PPSTRESU"].notna(), True).all()
    prefix = {"CARTDNA": "D", "CARTCELL": "C", "CARTPCT": "P"}
    stem = joined["PPTESTCD"].where(joined["PPTESTCD"] != "AUCINT", "AUC" + joined["PPENINT"].str[1:-1])
    assert (joined["PARAMCD"] == joined["PPCAT"].map(prefix) + stem).all()
    # untraced: only the ADaM dose-normalised AUC
    assert set(adpp.loc[adpp["SRCSEQ"].isna(), "PARAMCD"]) == {"DAUC28DW", "CAUC28DW", "PAUC28DW"}


def test_adpp_flags_equal_the_sdtm_nca(sdtm: Any, adpp: pd.DataFrame, study: Study) -> None:
    # TLSTCNSR and PPPARTFL are the flags of the SDTM PP computation (SUPPPP PPPARTFL, nca_parameters).
    flags = nca_parameters(sdtm.datasets["PC"], study)
    assert (adpp["TLSTCNSR"] == "Y").sum() == (flags["TLSTCNSR"] == "Y").sum()
    partial_pp = sdtm.datasets["SUPPPP"].query("QNAM == 'PPPARTFL'")
    traced = adpp[adpp["SRCSEQ"].notna() & (adpp["PPPARTFL"] == "Y")]
    assert sorted(zip(traced["USUBJID"], traced["SRCSEQ"].astype(int), strict=True)) == sorted(
        zip(partial_pp["USUBJID"], partial_pp["IDVARVAL"].astype(int), strict=True)
    )
    assert set(adpp.loc[adpp["TLSTCNSR"] == "Y", "PARAMCD"].str[1:]) <= {"TLST"}


def test_adpp_has_every_parameter_of_every_infused_subject_and_analyte(adpp: pd.DataFrame) -> None:
    per_subject = adpp.groupby(["USUBJID", "PARCAT1"])["PARAMCD"].apply(lambda s: sorted(c[1:] for c in s))
    expected = sorted(["CMAX", "TMAX", "TLST", "CLST", "AUCLST", "AUC28", "AUC90", "AUC28DW"])
    assert per_subject.map(lambda codes: codes == expected).all()
    assert adpp["USUBJID"].nunique() == 21 and len(adpp) == 21 * 3 * 8
    assert adpp["PARAMN"].map(lambda n: n % 10).between(1, 8).all()
    assert (adpp.groupby("PARAMCD")["PARAMN"].nunique() == 1).all()


def test_adpp_equals_the_sdtm_pp_computation_on_dates_without_time(study: Study) -> None:
    # The synthetic subject with one infusion only, DAY 10 collected without a time (2024-01-11) and DAY 4
    # with a partial date (2024-01). DAY 10: ADTM 2024-01-11T00:00 (ATMF H) but AFRLT = 10 whole days
    # (date - infusion date), not 9.583 (00:00 - 10:00); DAY 4 has no actual time: NCAXFL. SDTM PP
    # (cdisc168.sdtm.pp.nca_parameters) reads the same PC records the same way: equal values and flags.
    sdtm, adam = _synthetic_sdtm()
    sdtm["EX"] = sdtm["EX"].iloc[:1]
    pc = sdtm["PC"]
    pc.loc[pc["VISIT"] == "DAY 10", "PCDTC"] = "2024-01-11"
    pc.loc[pc["VISIT"] == "DAY 4", "PCDTC"] = "2024-01"
    adam["ADPC"] = build_adpc(sdtm, adam, study)
    rows = adam["ADPC"][adam["ADPC"]["PARAMCD"] == "CARTDNA"].set_index("AVISIT")
    assert rows.loc["DAY 10", "AFRLT"] == 10 and rows.loc["DAY 10", "ATMF"] == "H"
    assert rows.loc["DAY 4", "NCA1XRS"] == "ACTUAL SAMPLE TIME UNKNOWN" and pd.isna(
        rows.loc["DAY 4", "AFRLT"]
    )
    adpp = build_adpp(sdtm, adam, study)
    pp = nca_parameters(pc, study)
    prefix = {"CARTDNA": "D", "CARTCELL": "C", "CARTPCT": "P"}
    stem = pp["PPTESTCD"].where(pp["PPTESTCD"] != "AUCINT", "AUC" + pp["PPENINT"].str[1:-1])
    expected = pp.assign(PARAMCD=pp["PPCAT"].map(prefix) + stem).set_index("PARAMCD")
    got = adpp.set_index("PARAMCD").loc[expected.index]
    assert np.allclose(got["AVAL"], expected["PPSTRESN"], rtol=0, atol=0, equal_nan=True)
    assert got["TLSTCNSR"].eq("Y").tolist() == expected["TLSTCNSR"].eq("Y").tolist()
    assert got["PPPARTFL"].eq("Y").tolist() == expected["PPPARTFL"].eq("Y").tolist()
    assert got.loc["DTLST", "AVAL"] == 21  # DAY 21 (30 copies/ug) is the last quantifiable sample
