"""ADRS (STUDY.md §3.5): disease scores, visit-level criteria, REMIS and the subject-level parameters.

Every expected value is worked out by hand from the SDTM facts in the comment. Fixture subjects:

- CCAR168-AID-02-0003 (SLE): infusion 2023-12-18, LD 2023-12-13. RS SLEDAI-2K total (SLED0125):
  baseline 2023-12-12 = 9 (proteinuria 4, rash 2, low complement 2, leukopenia 1); DAY 28 2024-01-13 = 9
  (RSSEQ 323); MONTH 2 2024-02-18 = 4 (rash 2 + low complement 2, RSSEQ 324); MONTH 3 2024-03-17 = 2
  (low complement only, RSSEQ 325). PGA 1.3 / 0.8 / 0.6 / 0.1. CM: mycophenolate ended 2023-11-18, no
  glucocorticoid after the infusion.
- CCAR168-AID-04-0007 (SLE): infusion 2024-04-19; assessments MONTH 3 (2024-07-13, study day 86) and
  then MONTH 12 (2025-04-19, day 366): no month-6 assessment. Methylprednisolone to 2024-10-14,
  hydroxychloroquine ongoing (an antimalarial: allowed).
- CCAR168-AID-02-0005 (MG): infusion 2024-02-12; QS MG-ADL total (MGADL09) baseline 12 (2024-02-06),
  DAY 28 4 (2024-03-12, QSSEQ 99), MONTH 2 0 (2024-04-09, QSSEQ 100); azathioprine ended 2024-01-30.
- CCAR168-AID-02-0016 (IMNM): baseline 2024-10-22 / MONTH 6 2025-05-04: PhGA 7.1 / 0.5, PtGA 4.8 / 0.4,
  MMT-8 116 / 144, HAQ-DI 1.25 / 0.25, CK 3153 / 152 U/L (ULN 200), extramuscular 1.7 / 0; adjudicated
  IMNM relapse (CE) 2025-09-30; IVIG for the disease from 2025-10-01 (CMSEQ 16).
- CCAR168-AID-03-0008 (RRMS): infusion 2024-04-20; EDSS 2.5 at baseline to MONTH 3, 3.5 from MONTH 6
  (2024-10-12) on; a Gd-enhancing lesion at MONTH 6; a pseudo-relapse at fever (CE, not adjudicated)
  2025-11-15.
- CCAR168-AID-02-0006 (NMOSD): adjudicated attack (CE CESEQ 1) 2025-10-25, plasma exchange for the
  disease (CMSEQ 15) from 2025-10-30.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc168.adam.adgc import build_adgc
from cdisc168.adam.adlb import build_adlb
from cdisc168.adam.adrs import build_adrs, parameters
from cdisc168.adam.adsl import build_adsl
from cdisc168.adam.remission_criteria import RemissionCriteria
from cdisc168.adam.remission_imnm import compute_tis
from cdisc168.adam_spec import load_adam_spec
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study

SLE = "CCAR168-AID-02-0003"
SLE_NO_M6 = "CCAR168-AID-04-0007"
MG = "CCAR168-AID-02-0005"
IMNM = "CCAR168-AID-02-0016"
RRMS = "CCAR168-AID-03-0008"
NMOSD = "CCAR168-AID-02-0006"


@pytest.fixture(scope="module")
def adam(sdtm, study: Study) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    adsl = build_adsl(sdtm.datasets, {}, study)
    built = {"ADSL": adsl}
    built["ADGC"] = build_adgc(sdtm.datasets, built, study)
    built["ADLB"] = build_adlb(sdtm.datasets, built, study)
    built["ADRS"] = build_adrs(sdtm.datasets, built, study)
    return built


@pytest.fixture(scope="module")
def adrs(adam: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return adam["ADRS"]


def records(adrs: pd.DataFrame, subject: str, paramcd: str) -> pd.DataFrame:
    return adrs.loc[(adrs["USUBJID"] == subject) & (adrs["PARAMCD"] == paramcd)]


def visit(adrs: pd.DataFrame, subject: str, paramcd: str, avisit: str) -> pd.Series:
    rows = records(adrs, subject, paramcd)
    rows = rows.loc[rows["AVISIT"] == avisit]
    assert len(rows) == 1, (subject, paramcd, avisit)
    return rows.iloc[0]


def single(adrs: pd.DataFrame, subject: str, paramcd: str) -> pd.Series:
    rows = records(adrs, subject, paramcd)
    assert len(rows) == 1, (subject, paramcd)
    return rows.iloc[0]


# --------------------------------------------------------------------------------------------------
# structure


def test_exactly_the_spec_variables_in_spec_order(adrs: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADRS.yaml")
    assert list(adrs.columns) == list(spec.variable_names)
    keys = list(spec.keys)
    assert adrs[keys].equals(adrs.sort_values(keys, kind="mergesort", na_position="first")[keys])
    for var in spec.variables:
        if var.display_format == "DATE9.":
            assert adrs[var.name].dtype == "datetime64[us]", var.name
        elif var.type == "Num":
            assert adrs[var.name].dtype == np.float64, var.name
    # ASEQ numbers each subject's records 1, 2, ... in key order.
    assert (adrs.groupby("USUBJID")["ASEQ"].diff().dropna() == 1).all()


def test_only_treated_subjects_and_every_parameter(adrs: pd.DataFrame, adam: dict[str, pd.DataFrame]) -> None:
    adsl = adam["ADSL"]
    assert set(adrs["USUBJID"]) == set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    assert set(adrs["SAFFL"]) == {"Y"}
    # the LD-only subject 02-0022 and the screen failure 01-0021 have no TRTSDT: no records
    assert not adrs["USUBJID"].isin(["CCAR168-AID-02-0022", "CCAR168-AID-01-0021"]).any()
    assert set(adrs["PARAMCD"]) == {"SLEDAI", "CSLEDAI", "DORISREM", "DORISOFF", "LLDAS", "SRI4", "LNCR", "LNPR",
                                    "MMT8", "TIS", "IMNMREM", "EDSS", "NMOREM", "NEDA3", "MGADL", "QMG", "MSE",
                                    "MGADLR", "QMGR", "MGREM", "REMIS", "REM6M", "REMANY", "RELAPSE", "PROG",
                                    "RESCUE", "BESTRESP"}  # fmt: skip


def test_codelist_values_are_study_terms(adrs: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADRS.yaml")
    ct = load_study_ct()
    for var in spec.variables:
        if var.codelist is None:
            continue
        terms = {t.value for t in ct.codelists[var.codelist].terms}
        assert set(adrs[var.name].dropna()) <= terms, (var.name, set(adrs[var.name].dropna()) - terms)
    decodes = {t.value: t.decode for t in ct.codelists["RSPARMCD"].terms}
    assert {p.paramcd: p.param for p in parameters(study, RemissionCriteria())} == decodes


def test_one_analysis_record_per_subject_parameter_and_visit(adrs: pd.DataFrame) -> None:
    flagged = adrs.loc[adrs["ANL01FL"] == "Y"]
    assert not flagged.duplicated(["USUBJID", "PARAMCD", "AVISITN"]).any()
    # Y/N parameters: AVAL is the numeric code of AVALC
    yes_no = adrs.loc[adrs["AVALC"].isin(["Y", "N"])]
    assert (yes_no["AVAL"] == (yes_no["AVALC"] == "Y").astype(float)).all()


# --------------------------------------------------------------------------------------------------
# SLE: SLEDAI-2K, DORIS by hand


def test_sledai_scores_baseline_and_change(adrs: pd.DataFrame) -> None:
    # baseline = the last value on or before LD (2023-12-13): the BASELINE visit of 2023-12-12, SLEDAI 9
    base = visit(adrs, SLE, "SLEDAI", "BASELINE")
    assert (base["ABLFL"], base["AVAL"], base["BASETYPE"]) == ("Y", 9.0, "PRE-LYMPHODEPLETION")
    assert pd.isna(base["CHG"])  # CHG only after the infusion
    month3 = visit(adrs, SLE, "SLEDAI", "MONTH 3")
    assert (month3["AVAL"], month3["BASE"], month3["CHG"], month3["ADY"]) == (2.0, 9.0, -7.0, 91.0)
    # clinical SLEDAI-2K = total - low complement (2) - DNA binding (0): 9 - 2 = 7 at baseline, 0 at M3
    assert visit(adrs, SLE, "CSLEDAI", "BASELINE")["AVAL"] == 7.0
    assert visit(adrs, SLE, "CSLEDAI", "MONTH 3")["AVAL"] == 0.0


def test_doris_remission_by_hand(adrs: pd.DataFrame) -> None:
    # DAY 28: SLEDAI 9 (clinical 7)             -> N
    # MONTH 2: SLEDAI 4 = rash 2 + complement 2 -> clinical 2 -> N
    # MONTH 3: SLEDAI 2 = complement only -> clinical 0; PGA 0.1 < 0.5; no GC since before the infusion
    #          (GC-free, dose 0 <= 5) and no IS since 2023-11-18 -> DORIS on and off therapy "Y"
    expected = {"DAY 28": "N", "MONTH 2": "N", "MONTH 3": "Y"}
    for avisit, avalc in expected.items():
        for paramcd in ("DORISREM", "DORISOFF"):
            assert visit(adrs, SLE, paramcd, avisit)["AVALC"] == avalc, (paramcd, avisit)
    month3 = visit(adrs, SLE, "DORISOFF", "MONTH 3")
    # dated and traced by the SLEDAI-2K total record of that visit: RS RSSEQ 325 of 2024-03-17
    assert (month3["ADT"], month3["SRCDOM"], month3["SRCVAR"], month3["SRCSEQ"]) == (
        pd.Timestamp("2024-03-17"),
        "RS",
        "RSSTRESN",
        325.0,
    )
    # SLE remission = DORISOFF (study.yaml remission_map): first REMIS "Y" at MONTH 3, day 91
    remany = single(adrs, SLE, "REMANY")
    assert (remany["AVALC"], remany["ADT"], remany["SRCSEQ"]) == ("Y", pd.Timestamp("2024-03-17"), 325.0)
    assert single(adrs, SLE, "BESTRESP")["AVALC"] == "REMISSION"


def test_sri4_and_lldas(adrs: pd.DataFrame) -> None:
    # MONTH 2: SLEDAI 9 -> 4 (drop 5 >= 4), BILAG no new A/B, PGA 1.3 -> 0.6 (no rise) -> SRI-4 "Y";
    # DAY 28: drop 0 -> "N". LLDAS at MONTH 2: SLEDAI 4 <= 4, rash is not major-organ and was scored
    # at DAY 28 already (no new activity), PGA 0.6 <= 1, no GC -> "Y"; DAY 28: SLEDAI 9 > 4 -> "N".
    assert visit(adrs, SLE, "SRI4", "MONTH 2")["AVALC"] == "Y"
    assert visit(adrs, SLE, "SRI4", "DAY 28")["AVALC"] == "N"
    assert visit(adrs, SLE, "LLDAS", "MONTH 2")["AVALC"] == "Y"
    assert visit(adrs, SLE, "LLDAS", "DAY 28")["AVALC"] == "N"


def test_rem6m_non_responder_imputation(adrs: pd.DataFrame) -> None:
    # No assessment in the month-6 window (study days 167-195): MONTH 3 is day 86, MONTH 12 day 366.
    rem6m = single(adrs, SLE_NO_M6, "REM6M")
    assert (rem6m["AVALC"], rem6m["AVAL"], rem6m["DTYPE"], rem6m["AVISIT"]) == ("N", 0.0, "WC", "MONTH 6")
    assert pd.isna(rem6m["ADT"])
    # ...though in remission from MONTH 12: methylprednisolone ended 2024-10-14 (GC-free by 2025-04-19),
    # SLEDAI 0, PGA 0.4, hydroxychloroquine allowed.
    remany = single(adrs, SLE_NO_M6, "REMANY")
    assert (remany["AVALC"], remany["ADT"]) == ("Y", pd.Timestamp("2025-04-19"))
    # 02-0003 is assessed at MONTH 6 (2024-06-04, day 170) in remission
    assert single(adrs, SLE, "REM6M")["AVALC"] == "Y"
    assert pd.isna(single(adrs, SLE, "REM6M")["DTYPE"])


# --------------------------------------------------------------------------------------------------
# MG, IMNM, RRMS, NMOSD


def test_mg_minimal_symptom_expression(adrs: pd.DataFrame) -> None:
    # DAY 28: MG-ADL 4 > 1 -> MSE "N"; change 4 - 12 = -8 <= -2 -> MGADLR "Y".
    # MONTH 2: MG-ADL 0 -> MSE "Y"; no IS since 2024-01-30 (window 2024-03-13..04-09) -> MGREM "Y".
    day28 = visit(adrs, MG, "MSE", "DAY 28")
    assert (day28["AVALC"], day28["SRCDOM"], day28["SRCSEQ"]) == ("N", "QS", 99.0)
    assert visit(adrs, MG, "MGADLR", "DAY 28")["AVALC"] == "Y"
    assert visit(adrs, MG, "MSE", "MONTH 2")["AVALC"] == "Y"
    assert visit(adrs, MG, "MGREM", "MONTH 2")["AVALC"] == "Y"
    mgadl = visit(adrs, MG, "MGADL", "DAY 28")
    assert (mgadl["AVAL"], mgadl["BASE"], mgadl["CHG"]) == (4.0, 12.0, -8.0)


def test_imacs_total_improvement_score(adrs: pd.DataFrame) -> None:
    # MONTH 6 improvement from baseline and points (2016 ACR/EULAR):
    # PhGA (7.1-0.5)/7.1 = 93% -> 20; PtGA (4.8-0.4)/4.8 = 92% -> 10; MMT-8 (144-116)/116 = 24% -> 27.5;
    # HAQ (1.25-0.25)/1.25 = 80% -> 10; CK (3153-152)/3153 = 95% -> 7.5; extramuscular 100% -> 20: 95.
    tis = visit(adrs, IMNM, "TIS", "MONTH 6")
    assert tis["AVAL"] == pytest.approx(95.0)
    assert tis["AVALCAT1"] == "MAJOR IMPROVEMENT"
    # IMNM remission: TIS 95 >= 60, CK 152 <= 200, MMT-8 144 >= 142, GC tapered below baseline, no new IS
    assert visit(adrs, IMNM, "IMNMREM", "MONTH 6")["AVALC"] == "Y"
    # The adjudicated relapse (CE 2025-09-30) comes before the IVIG rescue (2025-10-01) and before the
    # MONTH 12 worsening (PhGA 0.5 -> 3.6, MMT-8 144 -> 109): RELAPSE and PROG from CE.
    relapse = single(adrs, IMNM, "RELAPSE")
    assert (relapse["AVALC"], relapse["ADT"], relapse["SRCDOM"], relapse["SRCSEQ"]) == (
        "Y",
        pd.Timestamp("2025-09-30"),
        "CE",
        1.0,
    )
    rescue = single(adrs, IMNM, "RESCUE")
    assert (rescue["AVALC"], rescue["ADT"], rescue["SRCDOM"], rescue["SRCSEQ"]) == (
        "Y",
        pd.Timestamp("2025-10-01"),
        "CM",
        16.0,
    )


def test_compute_tis_synthetic() -> None:
    # One visit: PhGA 10 -> 8 (20%: 15), PtGA 10 -> 10 (0%: 0), MMT-8 100 -> 105 (5%: 10),
    # HAQ 2 -> 2.4 (worse: 0), CK 1000 -> 600 (40%: 7.5, the >25-40% level), extramuscular 0 -> 0
    # (baseline 0: no improvement possible: 0). Total 32.5. A missing measure gives no score.
    frame = pd.DataFrame(
        {
            "PHGA01": [8.0, 8.0], "B_PHGA01": [10.0, 10.0], "PTGA01": [10.0, 10.0], "B_PTGA01": [10.0, 10.0],
            "MMT8TOT": [105.0, 105.0], "B_MMT8TOT": [100.0, 100.0], "HAQDI": [2.4, 2.4], "B_HAQDI": [2.0, 2.0],
            "CK": [600.0, np.nan], "B_CK": [1000.0, 1000.0], "MDAAT01": [0.0, 0.0], "B_MDAAT01": [0.0, 0.0],
        }
    )  # fmt: skip
    tis = compute_tis(frame)
    assert tis.iloc[0] == pytest.approx(32.5)
    assert np.isnan(tis.iloc[1])


def test_neda3_lost_at_month6_and_pseudo_relapse_ignored(adrs: pd.DataFrame) -> None:
    # MONTH 3: no relapse, no MRI activity, EDSS 2.5 = baseline -> NEDA-3 "Y" (remission since DAY 28).
    # MONTH 6: a Gd-enhancing lesion and EDSS 2.5 -> 3.5 (+1.0 from a baseline <= 5.5, still 3.5 at
    # MONTH 9, 97 days later: confirmed) -> "N": RELAPSE at MONTH 6 (2024-10-12), not at the febrile
    # pseudo-relapse of 2025-11-15.
    assert visit(adrs, RRMS, "NEDA3", "MONTH 3")["AVALC"] == "Y"
    assert visit(adrs, RRMS, "NEDA3", "MONTH 6")["AVALC"] == "N"
    relapse = single(adrs, RRMS, "RELAPSE")
    assert (relapse["AVALC"], relapse["ADT"], relapse["SRCDOM"]) == ("Y", pd.Timestamp("2024-10-12"), "RS")
    assert single(adrs, RRMS, "REM6M")["AVALC"] == "N"


def test_nmosd_attack_relapse_and_plasma_exchange_rescue(adrs: pd.DataFrame) -> None:
    # Remission from DAY 28 (2024-04-25, day 28); adjudicated attack 2025-10-25 -> RELAPSE and PROG there;
    # plasma exchange for the disease 2025-10-30 (CMSEQ 15) is the first rescue therapy.
    assert visit(adrs, NMOSD, "REMIS", "DAY 28")["AVALC"] == "Y"
    for paramcd in ("RELAPSE", "PROG"):
        row = single(adrs, NMOSD, paramcd)
        assert (row["AVALC"], row["ADT"], row["SRCDOM"], row["SRCVAR"]) == (
            "Y",
            pd.Timestamp("2025-10-25"),
            "CE",
            "CESTDTC",
        )
    rescue = single(adrs, NMOSD, "RESCUE")
    assert (rescue["ADT"], rescue["SRCSEQ"]) == (pd.Timestamp("2025-10-30"), 15.0)
    # the unscheduled assessment after the attack (2026-01-09, outside the MONTH 21 window) is kept,
    # not flagged for analysis, and fails remission (attack since the infusion)
    late = records(adrs, NMOSD, "REMIS").loc[lambda d: d["ADT"] == pd.Timestamp("2026-01-09")].iloc[0]
    assert (late["AVISIT"], late["AVALC"]) == ("UNSCHEDULED", "N")
    assert pd.isna(late["ANL01FL"]) and pd.isna(late["AVISITN"])


def test_remission_map_is_configurable(sdtm, adam: dict[str, pd.DataFrame], study: Study) -> None:  # type: ignore[no-untyped-def]
    # With SLE remission = DORISREM, REMIS copies DORISREM for SLE subjects.
    from dataclasses import replace

    changed = replace(study, remission_map={**study.remission_map, "SLE": "DORISREM"})
    adrs = build_adrs(sdtm.datasets, adam, changed)
    remis = records(adrs, SLE, "REMIS").set_index("AVISIT")["AVALC"]
    doris = records(adrs, SLE, "DORISREM").set_index("AVISIT")["AVALC"]
    assert remis.sort_index().equals(doris.sort_index())
