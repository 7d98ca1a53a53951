"""SDTM PP (cellular kinetic parameters from PC) on the built-in fixture, checked the way a reviewer checks
them by hand: a named subject's raw cartpk.csv rows, the PC records, and the PP values worked out from them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdisc168.sdtm.build import SdtmResult
from cdisc168.sdtm.pp import nca_parameters, nca_source
from cdisc168.spec import VIRTUAL_FORMS
from cdisc168.standards import ct
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study

RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()
S0017 = f"{STUDY.studyid}-01-0017"  # DL3, infused 2024-11-19 09:10; qPCR quantifiable D1 .. M6
S0003 = f"{STUDY.studyid}-02-0003"  # DL1, infused 2023-12-18 11:30; flow CAR+ cells BLQ from M2 on
S0022 = f"{STUDY.studyid}-02-0022"  # baseline kinetics only, never infused


@pytest.fixture(scope="module")
def pp(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["PP"]


@pytest.fixture(scope="module")
def pc(sdtm: SdtmResult) -> pd.DataFrame:
    return sdtm.datasets["PC"]


def one(pp: pd.DataFrame, usubjid: str, cat: str, testcd: str, enint: str | None = None) -> pd.Series:
    mask = (pp["USUBJID"] == usubjid) & (pp["PPCAT"] == cat) & (pp["PPTESTCD"] == testcd)
    mask &= pp["PPENINT"].isna() if enint is None else pp["PPENINT"] == enint
    found = pp[mask]
    assert len(found) == 1, f"{usubjid} {cat} {testcd} {enint}: {len(found)} records"
    return found.iloc[0]


def post_infusion(pc: pd.DataFrame, usubjid: str, testcd: str) -> pd.DataFrame:
    """The subject's PC records of one analyte after the infusion start, with days since it."""
    rows = pc[(pc["USUBJID"] == usubjid) & (pc["PCTESTCD"] == testcd)]
    days = (pd.to_datetime(rows["PCDTC"]) - pd.to_datetime(rows["PCRFTDTC"])) / pd.Timedelta(days=1)
    return rows.assign(_T=days)[days > 0].sort_values("_T")


def test_cmax_and_tmax_of_a_named_subject(pp: pd.DataFrame, pc: pd.DataFrame) -> None:
    # 01-0017 qPCR (cartpk.csv): D1 517, D4 1117, D7 3347, D10 7266, D14 13559 (2024-12-02 06:35),
    # D21 2634, D28 1033, M2 510, M3 286, M6 46, then <20. Cmax = 13559 DNA copies/ug; Tmax =
    # 2024-12-02T06:35 - 2024-11-19T09:10 = 13 d - 2 h 35 min = 12.892361 days.
    samples = post_infusion(pc, S0017, "CARTDNA")
    peak = samples["PCSTRESN"].max()
    assert peak == 13559
    cmax = one(pp, S0017, "CARTDNA", "CMAX")
    assert cmax["PPSTRESN"] == peak and cmax["PPORRES"] == "13559"
    assert cmax["PPORRESU"] == cmax["PPSTRESU"] == "DNA copies/ug"
    assert cmax["PPSPEC"] == "BLOOD" and cmax["PPRFTDTC"] == "2024-11-19T09:10"
    tmax = one(pp, S0017, "CARTDNA", "TMAX")
    at_peak = samples.loc[samples["PCSTRESN"] == peak, "_T"].iloc[0]
    assert tmax["PPSTRESN"] == pytest.approx(at_peak, rel=1e-9)
    assert tmax["PPSTRESN"] == pytest.approx(13 - 155 / 1440, rel=1e-9)
    assert tmax["PPSTRESU"] == "day"


def test_tlast_clast_and_auc_0_28_of_a_named_subject(pp: pd.DataFrame, pc: pd.DataFrame) -> None:
    # Tlast = M6 (2025-05-07 09:25, 46 copies/ug): 169 d + 15 min after the infusion start (PP values keep
    # 10 significant digits: 169.0104167); M9 is <20, so
    # Tlast is not censored. AUC(0-28): trapezoids from (0, 0) through the D28 sample (27.889 d) and C(28)
    # interpolated towards M2 (55.997 d), checked against numpy's trapezoid on the PC records.
    samples = post_infusion(pc, S0017, "CARTDNA")
    tlst = one(pp, S0017, "CARTDNA", "TLST")
    assert tlst["PPSTRESN"] == pytest.approx(169 + 15 / 1440, rel=1e-9)
    assert one(pp, S0017, "CARTDNA", "CLST")["PPSTRESN"] == 46
    t = np.concatenate(([0.0], samples["_T"].to_numpy()))
    c = np.concatenate(([0.0], samples["PCSTRESN"].fillna(0).to_numpy()))
    inside = t < 28
    expected = np.trapezoid(np.append(c[inside], np.interp(28, t, c)), np.append(t[inside], 28))
    auc = one(pp, S0017, "CARTDNA", "AUCINT", "P28D")
    assert auc["PPSTINT"] == "P0D"
    assert auc["PPSTRESN"] == pytest.approx(expected, rel=1e-9)
    assert auc["PPSTRESU"] == "day*DNA copies/ug"
    # AUClast: D1 .. M6 are all quantifiable, so it is the trapezoid through them from (0, 0)
    upto = samples[samples["_T"] <= tlst["PPSTRESN"] + 1e-9]
    expected_last = np.trapezoid(np.append(0.0, upto["PCSTRESN"]), np.append(0.0, upto["_T"]))
    assert one(pp, S0017, "CARTDNA", "AUCLST")["PPSTRESN"] == pytest.approx(expected_last, rel=1e-9)


def test_partial_auc_and_not_done_records(pp: pd.DataFrame, sdtm: SdtmResult) -> None:
    # 02-0003 flow CAR+ cells: the DAY 28 sample was drawn 2024-01-13 09:15 = 25.906 d after the infusion
    # start (protocol day 26, inside the D28 window [25, 31]) at 0.51 cells/uL; M2 onwards <0.1. The AUC
    # ends at that last quantifiable sample: AUC(0-28) = AUClast, flagged partial (PPPARTFL = Y).
    # AUC(0-90) cannot be computed: last quantifiable day 25.9 < 85 (the M3 window) → NOT DONE.
    auc28 = one(pp, S0003, "CARTCELL", "AUCINT", "P28D")
    assert auc28["PPSTRESN"] == one(pp, S0003, "CARTCELL", "AUCLST")["PPSTRESN"]
    assert auc28["PPSTRESU"] == "day*10^6/L"
    assert one(pp, S0003, "CARTCELL", "TLST")["PPSTRESN"] == pytest.approx(26 - 135 / 1440, rel=1e-9)
    flags = nca_parameters(sdtm.datasets["PC"], STUDY)
    flagged = flags[
        (flags["USUBJID"] == S0003) & (flags["PPCAT"] == "CARTCELL") & (flags["PPTESTCD"] == "AUCINT")
    ]
    partial = flagged.set_index("PPENINT")["PPPARTFL"]
    assert partial["P28D"] == "Y" and pd.isna(partial["P90D"])
    auc90 = one(pp, S0003, "CARTCELL", "AUCINT", "P90D")
    assert auc90["PPSTAT"] == "NOT DONE"
    assert auc90["PPREASND"] == "LAST QUANTIFIABLE RESULT BEFORE DAY 85, NONE AT OR AFTER DAY 90"
    assert pd.isna(auc90["PPORRES"]) and pd.isna(auc90["PPSTRESN"]) and pd.isna(auc90["PPORRESU"])


def test_a_subject_never_infused_has_no_parameters(pp: pd.DataFrame, pc: pd.DataFrame) -> None:
    # 02-0022 has baseline (pre-LD) kinetics in PC but no infusion (PCRFTDTC null): nothing to compute.
    assert (pc["USUBJID"] == S0022).any()
    assert not (pp["USUBJID"] == S0022).any()


def test_every_infused_subject_and_analyte_has_the_full_parameter_set(pp: pd.DataFrame) -> None:
    counts = pp.groupby(["USUBJID", "PPCAT"])["PPTESTCD"].apply(sorted)
    expected = ["AUCINT", "AUCINT", "AUCLST", "CLST", "CMAX", "TLST", "TMAX"]
    assert counts.map(lambda tests: tests == expected).all()
    assert set(pp["PPCAT"]) == {"CARTDNA", "CARTCELL", "CARTPCT"}
    assert pp.loc[pp["PPTESTCD"] == "AUCINT", "PPSTINT"].eq("P0D").all()
    assert set(pp.loc[pp["PPTESTCD"] == "AUCINT", "PPENINT"]) == {"P28D", "P90D"}
    assert pp.loc[pp["PPTESTCD"] != "AUCINT", ["PPSTINT", "PPENINT"]].isna().all().all()
    assert pp.groupby("USUBJID")["PPSEQ"].apply(lambda s: s.tolist() == list(range(1, len(s) + 1))).all()


def test_parameters_and_units_are_controlled_terminology(pp: pd.DataFrame) -> None:
    # PPTESTCD/PPTEST pairs share the C-code of PKPARMCD (C85839) and PKPARM (C85493).
    for testcd, test in pp[["PPTESTCD", "PPTEST"]].drop_duplicates().itertuples(index=False):
        assert ct.term_code("PKPARMCD", testcd) == ct.term_code("PKPARM", test), (testcd, test)
    # Units: PKUNIT (C85494) terms, day-based AUC units as the declared sponsor extensions.
    pkunit = load_study_ct().codelist("PKUNIT")
    units = set(pp["PPORRESU"].dropna()) | set(pp["PPSTRESU"].dropna())
    assert units <= set(pkunit.values)
    assert {u for u in units if pkunit.term(u).code is None} == {
        "10^6/L",
        "day*DNA copies/ug",
        "day*10^6/L",
        "day*%",
    }
    assert ct.term_code("PKUNIT", "day") == "C25301"


def test_no_error_findings_from_pp(sdtm: SdtmResult) -> None:
    errors = [
        f
        for f in sdtm.findings
        if f.severity == "error"
        and (f.dataset in ("PP", "SUPPPP", "@nca.csv") or f.message.startswith(("PP.", "PP:")))
    ]
    assert errors == []


def test_nca_source_links_each_parameter_to_the_pc_records_used(pc: pd.DataFrame, pp: pd.DataFrame) -> None:
    source = nca_source(pc, STUDY)
    assert list(source.columns) == [*VIRTUAL_FORMS["@nca"], "_FORM", "_ROW"]
    assert source["_ROW"].tolist() == list(range(1, len(source) + 1))
    mine = source[(source["USUBJID"] == S0017) & (source["PPCAT"] == "CARTDNA")].set_index("PPTESTCD")
    samples = post_infusion(pc, S0017, "CARTDNA")
    # Cmax compares every post-infusion CARTDNA record (not the pre-LD baseline)
    assert mine.loc["CMAX", "PCSEQS"] == " ".join(f"{s:.0f}" for s in samples["PCSEQ"])
    # AUClast uses the records up to Tlast (M6), not the trailing <20 results
    until_tlast = samples[samples["PCSTRESN"].notna()]
    assert mine.loc["AUCLST", "PCSEQS"] == " ".join(f"{s:.0f}" for s in until_tlast["PCSEQ"])
    assert source.loc[source["PPSTAT"] == "NOT DONE", "PCSEQS"].isna().all()
