"""ADTTE (STUDY.md §3.7): TTR, PFS censoring rules, DOREM, TTRELAP, OS, TTBCLR.

Expected values are worked out by hand. Study days: day n = TRTSDT + n - 1 (AVAL = ADT - STARTDT + 1).
The disease-assessment windows (TteOptions, study.yaml protocol windows, study days = protocol day + 1):
DAY 28 [26, 32], MONTH 2 [56, 66], MONTH 3 [86, 96], MONTH 6 [167, 195], MONTH 9 [257, 285] ...

Fixture subjects:

- CCAR168-AID-02-0006 (NMOSD): infusion 2024-03-29; NMOSD remission at the first assessment, DAY 28 on
  2024-04-25 (study day 28); adjudicated attack 2025-10-25.
- CCAR168-AID-03-0001 (LN): infusion 2023-11-18, never in remission, last assessment MONTH 9 2024-08-12
  (day 269), died 2024-10-17 (day 335).
- CCAR168-AID-02-0003 (SLE): infusion 2023-12-18 11:30; LB BLYCE baseline 33 (2023-12-12), 12 at 10:00
  on the infusion day (before the infusion), 0.9 on 2023-12-22 (LBSEQ 444); first remission 2024-03-17.
- CCAR168-AID-03-0024 (LN): LB BLYCE 0.5 before lymphodepletion (2025-04-01): B-cell clearance not
  evaluable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc168.adam.adgc import build_adgc
from cdisc168.adam.adlb import build_adlb
from cdisc168.adam.adrs import build_adrs
from cdisc168.adam.adsl import build_adsl
from cdisc168.adam.adtte import (
    TteOptions,
    assessment_windows,
    build_adtte,
    compute_missed_assessments,
    create_assessments,
    derive_param_os,
    derive_param_pfs,
    derive_param_ttr,
    derive_vars_disease_course,
)
from cdisc168.adam_spec import load_adam_spec
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study

START = pd.Timestamp("2024-01-01")
CUT = pd.Timestamp("2025-06-30")


def day(n: float) -> pd.Timestamp:
    """Study day n (day 1 = TRTSDT = 2024-01-01)."""
    return START + pd.Timedelta(days=n - 1)


@pytest.fixture(scope="module")
def adam(sdtm, study: Study) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    built = {"ADSL": build_adsl(sdtm.datasets, {}, study)}
    built["ADGC"] = build_adgc(sdtm.datasets, built, study)
    built["ADLB"] = build_adlb(sdtm.datasets, built, study)
    built["ADRS"] = build_adrs(sdtm.datasets, built, study)
    built["ADTTE"] = build_adtte(sdtm.datasets, built, study)
    return built


@pytest.fixture(scope="module")
def adtte(adam: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return adam["ADTTE"]


def record(adtte: pd.DataFrame, subject: str, paramcd: str) -> pd.Series:
    rows = adtte.loc[(adtte["USUBJID"].str.endswith(subject)) & (adtte["PARAMCD"] == paramcd)]
    assert len(rows) == 1, (subject, paramcd)
    return rows.iloc[0]


# --------------------------------------------------------------------------------------------------
# structure


def test_exactly_the_spec_variables_in_spec_order(adtte: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADTTE.yaml")
    assert list(adtte.columns) == list(spec.variable_names)
    assert not adtte.duplicated(["USUBJID", "PARAMCD"]).any()
    for var in spec.variables:
        if var.display_format == "DATE9.":
            assert adtte[var.name].dtype == "datetime64[us]", var.name
        elif var.type == "Num":
            assert adtte[var.name].dtype in (np.float64, np.int64), var.name
    assert (adtte["AVAL"] == (adtte["ADT"] - adtte["STARTDT"]).dt.days + 1).all()
    assert (adtte["CNSR"] >= 0).all()
    ct = load_study_ct()
    for var in spec.variables:
        if var.codelist:
            terms = {t.value for t in ct.codelists[var.codelist].terms}
            assert set(adtte[var.name].dropna()) <= terms, var.name


def test_parameters_per_population(adtte: pd.DataFrame, adam: dict[str, pd.DataFrame]) -> None:
    adsl, adrs = adam["ADSL"], adam["ADRS"]
    treated = set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    responders = set(adrs.loc[(adrs["PARAMCD"] == "REMIS") & (adrs["AVALC"] == "Y"), "USUBJID"])
    for paramcd in ("TTR", "PFS", "OS", "TTBCLR"):
        assert set(adtte.loc[adtte["PARAMCD"] == paramcd, "USUBJID"]) == treated, paramcd
    for paramcd in ("DOREM", "TTRELAP"):
        assert set(adtte.loc[adtte["PARAMCD"] == paramcd, "USUBJID"]) == responders, paramcd


# --------------------------------------------------------------------------------------------------
# fixture subjects


def test_ttr_remission_at_the_first_assessment(adtte: pd.DataFrame) -> None:
    # NMOSD remission at DAY 28 (2024-04-25): 2024-04-25 - 2024-03-29 + 1 = 28 days, an event.
    ttr = record(adtte, "02-0006", "TTR")
    assert (ttr["ADT"], ttr["AVAL"], ttr["CNSR"], ttr["EVNTDESC"]) == (
        pd.Timestamp("2024-04-25"),
        28.0,
        0,
        "REMISSION",
    )
    assert (ttr["SRCDOM"], ttr["SRCVAR"]) == ("ADRS", "ADT")


def test_death_without_remission(adtte: pd.DataFrame) -> None:
    # 03-0001 died 2024-10-17 = day 335 (2023-11-18 .. 2024-10-17, 2024 a leap year). No scheduled
    # assessment window lies wholly between the last assessment (day 269) and day 335 (MONTH 12 starts
    # at day 352): PFS and OS events at the death; TTR censored at the death (CNSR 3).
    for paramcd in ("OS", "PFS"):
        row = record(adtte, "03-0001", paramcd)
        assert (row["AVAL"], row["CNSR"], row["EVNTDESC"], row["SRCVAR"]) == (335.0, 0, "DEATH", "DTHDT")
    ttr = record(adtte, "03-0001", "TTR")
    assert (ttr["AVAL"], ttr["CNSR"], ttr["EVNTDESC"]) == (335.0, 3, "DEATH BEFORE REMISSION")


def test_duration_of_remission_starts_at_the_first_remission(adtte: pd.DataFrame) -> None:
    # 02-0006: first remission 2024-04-25, relapse (adjudicated attack) 2025-10-25: 548 + 1 = 549 days.
    dorem = record(adtte, "02-0006", "DOREM")
    assert (dorem["STARTDT"], dorem["ADT"], dorem["AVAL"], dorem["CNSR"]) == (
        pd.Timestamp("2024-04-25"),
        pd.Timestamp("2025-10-25"),
        549.0,
        0,
    )
    ttrelap = record(adtte, "02-0006", "TTRELAP")
    assert (ttrelap["STARTDT"], ttrelap["AVAL"], ttrelap["CNSR"]) == (pd.Timestamp("2024-03-29"), 576.0, 0)


def test_bcell_clearance(adtte: pd.DataFrame) -> None:
    # 02-0003: the infusion-day sample (10:00) precedes the infusion (11:30); first post-infusion count
    # below 1/uL is 0.9 on 2023-12-22: day 5, traced to its ADLB record.
    row = record(adtte, "02-0003", "TTBCLR")
    assert (row["ADT"], row["AVAL"], row["CNSR"], row["SRCDOM"], row["ANL01FL"]) == (
        pd.Timestamp("2023-12-22"),
        5.0,
        0,
        "ADLB",
        "Y",
    )
    # 03-0024: pre-lymphodepletion count 0.5 < 1: not evaluable, kept at day 1 with CNSR 3, not analysed
    ne = record(adtte, "03-0024", "TTBCLR")
    assert (ne["AVAL"], ne["CNSR"], ne["SRCVAR"]) == (1.0, 3, "TRTSDT")
    assert pd.isna(ne["ANL01FL"])


# --------------------------------------------------------------------------------------------------
# the PFS censoring matrix on synthetic subjects


def _synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADSL and ADRS of synthetic SLE subjects (TRTSDT 2024-01-01, data cut 2025-06-30).

    REMIS assessments (study days, AVALC), PROG / RESCUE "Y" dates, death, baseline SLEDAI:
    S01 baseline only                      S06 assessed 28, 60; PROG 120 (1 window missed)
    S02 assessed 28, 90; RESCUE 100;       S07 assessed 28, 90, 180; nothing else (ongoing at the cut);
        PROG 180                               last known alive 2025-09-01, after the cut
    S03 baseline only; death day 20        S08 no baseline; assessed 28; PROG 90
    S04 baseline only; death day 100       S09 REMIS "Y" at 28 (first assessment)
    S05 assessed 28, 60; PROG 200          S10 REMIS "N" 28; PROG 60; REMIS "Y" 90
    """
    subjects = [f"S{n:02d}" for n in range(1, 11)]
    adsl = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": subjects,
            "SUBJID": subjects,
            "SITEID": "01",
            "INDICAT": "SLE",
            "TRT01A": "C-CAR168",
            "SAFFL": "Y",
            "EFFFL": "Y",
            "TRTSDT": START,
            "DTHDT": [pd.NaT, pd.NaT, day(20), day(100), *[pd.NaT] * 6],
            "LSTALVDT": [day(400)] * 6 + [pd.Timestamp("2025-09-01")] + [day(400)] * 3,
            "DCUTDT": CUT,
        }
    )
    for name in ("TRTSDT", "DTHDT", "LSTALVDT", "DCUTDT"):
        adsl[name] = adsl[name].astype("datetime64[us]")
    rows = []

    def add(
        subject: str, paramcd: str, study_day: float, avalc: str | None = None, ablfl: str | None = None
    ) -> None:
        rows.append(
            {"USUBJID": subject, "PARAMCD": paramcd, "ADT": day(study_day), "AVALC": avalc, "ABLFL": ablfl}
        )

    for subject in subjects:
        if subject != "S08":
            add(subject, "SLEDAI", -7, ablfl="Y")
    for subject, days in {
        "S02": (28, 90),
        "S05": (28, 60),
        "S06": (28, 60),
        "S07": (28, 90, 180),
        "S08": (28,),
    }.items():
        for n in days:
            add(subject, "REMIS", n, "N")
    add("S09", "REMIS", 28, "Y")
    add("S10", "REMIS", 28, "N")
    add("S10", "REMIS", 90, "Y")
    for subject, n in {"S02": 180, "S05": 200, "S06": 120, "S08": 90, "S10": 60}.items():
        add(subject, "PROG", n, "Y")
    add("S02", "RESCUE", 100, "Y")
    adrs = pd.DataFrame(rows).assign(STUDYID="S", SRCDOM="RS")
    adrs["ADT"] = adrs["ADT"].astype("datetime64[us]")
    adrs["ASEQ"] = (adrs.groupby("USUBJID").cumcount() + 1).astype(float)
    return adsl, adrs


@pytest.fixture(scope="module")
def synthetic(study: Study) -> dict[str, pd.DataFrame]:
    adsl, adrs = _synthetic()
    course = derive_vars_disease_course(adsl, adrs)
    assessments = create_assessments(adrs, course)
    options = TteOptions.for_study(study)
    windows = assessment_windows(study, options)
    pfs = derive_param_pfs(course, assessments, adrs, windows, options)
    ttr = derive_param_ttr(course, assessments, adrs)
    return {
        "PFS": pfs.set_index("USUBJID"),
        "TTR": ttr.set_index("USUBJID"),
        "OS": derive_param_os(adsl).set_index("USUBJID"),
    }


@pytest.mark.parametrize(
    ("subject", "aval", "cnsr", "case"),
    [
        ("S01", 1.0, 2, "no post-baseline assessment: censored at day 1"),
        ("S02", 90.0, 3, "new therapy (day 100) before progression (day 180): last assessment before it"),
        ("S03", 20.0, 0, "death on day 20 without assessment, no window missed yet (DAY 28 is 26-32): event"),
        ("S04", 1.0, 2, "death on day 100 without assessment, 3 windows missed: censored at day 1"),
        ("S05", 60.0, 4, "progression on day 200 after MONTH 3 and MONTH 6 missed: last assessment (60)"),
        ("S06", 120.0, 0, "progression on day 120 after only MONTH 3 missed: event"),
        ("S07", 180.0, 1, "ongoing at the cut: censored at the last adequate assessment, not at the cut"),
        ("S08", 1.0, 2, "no baseline assessment: censored at day 1 despite the progression"),
    ],
)
def test_pfs_censoring_matrix(
    synthetic: dict[str, pd.DataFrame], subject: str, aval: float, cnsr: int, case: str
) -> None:
    row = synthetic["PFS"].loc[subject]
    assert (row["AVAL"], row["CNSR"]) == (aval, cnsr), case
    assert row["ADT"] == day(aval), case


def test_pfs_descriptions(synthetic: dict[str, pd.DataFrame]) -> None:
    pfs = synthetic["PFS"]
    assert (pfs.loc["S03", "EVNTDESC"], pfs.loc["S03", "SRCDOM"]) == ("DEATH", "ADSL")
    assert pfs.loc["S06", "EVNTDESC"] == "DISEASE PROGRESSION OR RELAPSE"
    assert pfs.loc["S02", "CNSDTDSC"] == "LAST ADEQUATE ASSESSMENT BEFORE NEW THERAPY"
    assert pfs.loc["S05", "CNSDTDSC"] == "LAST ADEQUATE ASSESSMENT BEFORE MISSED ASSESSMENTS"
    # S07's censoring record traces to its last REMIS record (ASEQ 4: SLEDAI, then REMIS 28, 90, 180)
    assert (pfs.loc["S07", "SRCDOM"], pfs.loc["S07", "SRCSEQ"]) == ("ADRS", 4.0)


def test_ttr_synthetic(synthetic: dict[str, pd.DataFrame]) -> None:
    ttr = synthetic["TTR"]
    # remission at the first assessment, DAY 28: event, AVAL 28
    assert (ttr.loc["S09", "AVAL"], ttr.loc["S09", "CNSR"]) == (28.0, 0)
    # progression (day 60) before the remission (day 90): censored at the progression
    assert (ttr.loc["S10", "AVAL"], ttr.loc["S10", "CNSR"]) == (60.0, 3)
    # no post-baseline assessment: day 1
    assert (ttr.loc["S01", "AVAL"], ttr.loc["S01", "CNSR"]) == (1.0, 2)


def test_os_censored_at_the_data_cut(synthetic: dict[str, pd.DataFrame]) -> None:
    # S07 was last known alive on 2025-09-01, after the cut (2025-06-30): censored at the cut.
    os_ = synthetic["OS"].loc["S07"]
    assert (os_["ADT"], os_["CNSR"], os_["EVNTDESC"], os_["SRCVAR"]) == (CUT, 1, "DATA CUT-OFF", "DCUTDT")
    # 2024-01-01 .. 2025-06-30 = 546 days + 1
    assert os_["AVAL"] == 547.0


def test_compute_missed_assessments(study: Study) -> None:
    windows = assessment_windows(study, TteOptions.for_study(study))
    last = pd.Series([1.0, 60.0, 60.0, np.nan])
    event = pd.Series([100.0, 200.0, 120.0, 50.0])
    # (1, 100): DAY 28, MONTH 2, MONTH 3; (60, 200): MONTH 3, MONTH 6; (60, 120): MONTH 3; missing: null
    assert compute_missed_assessments(last, event, windows).tolist()[:3] == [3.0, 2.0, 1.0]
    assert np.isnan(compute_missed_assessments(last, event, windows).iloc[3])
