"""ADGC (STUDY.md §3.6): prednisone equivalence, the daily series, the visit parameters and NRI.

Every expected value is worked out by hand in a comment from the CM facts it uses. Fixture subjects:

- CCAR168-AID-01-0017 (MG): infusion 2024-11-19, prednisone taper: CMSEQ 2 15 mg QD to 2024-12-11,
  CMSEQ 11 12.5 mg 2024-12-12..2025-01-10, CMSEQ 12 10 mg 2025-01-11..2025-02-09, CMSEQ 13 7.5 mg
  2025-02-10..2025-03-11, CMSEQ 14 5 mg from 2025-03-12 (ongoing); no immunosuppressant.
- CCAR168-AID-03-0001 (LN): methylprednisolone (factor 1.25) CMSEQ 8 14 mg QD 2023-12-16..2024-01-19,
  CMSEQ 9 10 mg 2024-01-20..2024-02-24; died 2024-10-17 (infusion 2023-11-18).
- CCAR168-AID-02-0016 (IMNM): relapse rescue on 2025-09-30..2025-10-02, IV methylprednisolone sodium
  succinate 500 mg QD (CMSEQ 15, CMINDC DISEASE) and IVIG 0.4 g/kg QD 2025-10-01..05 for the disease
  (CMSEQ 16); MONTH 12 visit on 2025-10-24.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from cdisc168.adam.adgc import (
    PARAMETERS,
    build_adgc,
    create_gc_exposure_series,
    load_gc_config,
    parameter_names,
)
from cdisc168.adam.adsl import build_adsl
from cdisc168.adam_spec import load_adam_spec
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study, StudyConfigError, load_study

MG_SUBJECT = "CCAR168-AID-01-0017"
MP_SUBJECT = "CCAR168-AID-03-0001"
PULSE_SUBJECT = "CCAR168-AID-02-0016"


@pytest.fixture(scope="module")
def adsl(sdtm, study: Study) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return build_adsl(sdtm.datasets, {}, study)


@pytest.fixture(scope="module")
def adgc(sdtm, adsl: pd.DataFrame, study: Study) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return build_adgc(sdtm.datasets, {"ADSL": adsl}, study)


def record(adgc: pd.DataFrame, subject: str, paramcd: str, avisit: str) -> pd.Series:
    rows = adgc.loc[(adgc["USUBJID"] == subject) & (adgc["PARAMCD"] == paramcd) & (adgc["AVISIT"] == avisit)]
    assert len(rows) == 1, (subject, paramcd, avisit)
    return rows.iloc[0]


# --------------------------------------------------------------------------------------------------
# structure


def test_exactly_the_spec_variables_in_spec_order(adgc: pd.DataFrame, study: Study) -> None:
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADGC.yaml")
    assert tuple(adgc.columns) == spec.variable_names
    assert spec.structure == "BDS"


def test_one_record_per_subject_parameter_visit(adgc: pd.DataFrame, adsl: pd.DataFrame) -> None:
    assert not adgc.duplicated(["USUBJID", "PARAMCD", "BASETYPE", "AVISITN"]).any()
    # every treated subject, and only those (LD-only 02-0022, screen failures: no ADGC records)
    assert set(adgc["USUBJID"]) == set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    assert (adgc["ANL01FL"] == "Y").all()
    assert (adgc["BASETYPE"] == "PRE-LYMPHODEPLETION").all()
    per_visit = adgc.groupby(["USUBJID", "AVISITN"])["PARAMCD"].nunique()
    assert (per_visit == len(PARAMETERS)).all()


def test_parameters_match_the_study_terminology(adgc: pd.DataFrame, study: Study) -> None:
    # The PARAM texts are built from study.yaml thresholds; terminology.yaml must list the same texts.
    ct = load_study_ct()
    decodes = {t.value: t.decode for t in ct.codelist("GCPARMCD").terms}
    assert decodes == parameter_names(study)
    assert set(adgc["PARAM"]) <= set(ct.codelist("GCPARM").values)
    assert set(adgc["DTYPE"].dropna()) <= set(ct.codelist("DTYPE").values)
    pairs = adgc[["PARAMCD", "PARAMN"]].drop_duplicates().sort_values("PARAMN")
    assert pairs["PARAMCD"].tolist() == ["GCDOSE", "GCFREE", "GCLOW", "GCLOW5", "ISFREE", "GCISFREE"]


# --------------------------------------------------------------------------------------------------
# prednisone equivalence and the daily series (synthetic CM)

TRTSDT = pd.Timestamp("2024-05-13")
LDSTDT = pd.Timestamp("2024-05-08")


def small_adsl(**overrides: object) -> pd.DataFrame:
    row = {
        "STUDYID": "CCAR168-AID",
        "USUBJID": "S-1",
        "SUBJID": "0001",
        "SITEID": "01",
        "INDICAT": "SLE",
        "TRT01A": "DL1",
        "SAFFL": "Y",
        "EFFFL": "Y",
        "TRTSDT": TRTSDT,
        "LDSTDT": LDSTDT,
        "EOSDT": pd.NaT,
        "LSTALVDT": pd.Timestamp("2024-08-31"),
        "DTHDT": pd.NaT,
        "WEIGHTBL": 60.0,
    }
    row.update(overrides)
    frame = pd.DataFrame([row])
    for name in ("TRTSDT", "LDSTDT", "EOSDT", "LSTALVDT", "DTHDT"):
        frame[name] = frame[name].astype("datetime64[us]")
    return frame


def cm_record(
    seq: int, decod: str, dose: float | None, freq: str | None, start: str, end: str | None, **kw: object
) -> dict[str, object]:
    """One CM record of subject S-1; by default an oral glucocorticoid given for the disease."""
    row: dict[str, object] = {
        "USUBJID": "S-1",
        "CMSEQ": float(seq),
        "CMDECOD": decod,
        "CMCAT": "GLUCOCORTICOID",
        "CMINDC": "DISEASE",
        "CMCLASCD": "H02AB",
        "CMDOSE": dose,
        "CMDOSU": "mg",
        "CMDOSFRQ": freq,
        "CMROUTE": "ORAL",
        "CMSTDTC": start,
        "CMENDTC": end,
    }
    row.update(kw)
    return row


def cm_frame(*rows: dict[str, object]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    for name in frame.columns:
        if name not in ("CMSEQ", "CMDOSE"):
            frame[name] = frame[name].astype("str")
    frame["CMDOSE"] = frame["CMDOSE"].astype("float64")
    return frame


def daily(series: pd.DataFrame, day: str, column: str = "PREDEQ") -> float:
    return float(series.loc[series["ADT"] == pd.Timestamp(day), column].iloc[0])


def test_prednisone_equivalence_by_hand(study: Study) -> None:
    cm = cm_frame(
        # methylprednisolone 8 mg BID: 8 x 2 x 1.25 = 20 mg/day prednisone-equivalent
        cm_record(1, "METHYLPREDNISOLONE", 8, "BID", "2024-06-01", "2024-06-10"),
        # dexamethasone 0.75 mg QD: 0.75 x 1 x 5/0.75 = 5.0 mg/day
        cm_record(2, "DEXAMETHASONE", 0.75, "QD", "2024-06-20", "2024-06-25"),
        # dexamethasone 10 mg BID IV for CRS: excluded from the disease glucocorticoids
        cm_record(
            3, "DEXAMETHASONE", 10, "BID", "2024-05-14", "2024-05-15", CMINDC="CRS", CMROUTE="INTRAVENOUS"
        ),
        # prednisone 10 mg QD + hydrocortisone 20 mg BID on the same days: 10 + 20 x 2 x 0.25 = 20
        cm_record(4, "PREDNISONE", 10, "QD", "2024-07-01", "2024-07-05"),
        cm_record(5, "HYDROCORTISONE", 20, "BID", "2024-07-03", "2024-07-05"),
    )
    series = create_gc_exposure_series(cm, small_adsl(), study)
    assert daily(series, "2024-06-05") == pytest.approx(20.0)
    assert daily(series, "2024-06-22") == pytest.approx(5.0, abs=1e-5)
    assert daily(series, "2024-05-14") == 0.0 and daily(series, "2024-05-14", "GCN") == 0.0
    assert daily(series, "2024-07-02") == pytest.approx(10.0)
    assert daily(series, "2024-07-04") == pytest.approx(20.0) and daily(series, "2024-07-04", "GCN") == 2.0
    # the series runs from LDSTDT - 90 days (2024-02-08) to the end of follow-up (LSTALVDT 2024-08-31)
    assert series["ADT"].min() == pd.Timestamp("2024-02-08")
    assert series["ADT"].max() == pd.Timestamp("2024-08-31")


def test_exclusions_pulses_units_and_frequencies(study: Study) -> None:
    cm = cm_frame(
        # LD premedication and a topical glucocorticoid: no exposure
        cm_record(1, "DEXAMETHASONE", 5, "ONCE", "2024-05-08", "2024-05-08", CMINDC="PREMEDICATION"),
        cm_record(2, "HYDROCORTISONE", 10, "BID", "2024-05-20", "2024-05-30", CMROUTE="TOPICAL"),
        # stress dosing: 3 days for an adverse event -> excluded
        cm_record(3, "HYDROCORTISONE", 100, "TID", "2024-06-01", "2024-06-03", CMINDC="AE"),
        # ... but 4 days for an adverse event count: prednisone 20 mg QD
        cm_record(8, "PREDNISONE", 20, "QD", "2024-08-01", "2024-08-04", CMINDC="AE"),
        # IV pulse for the disease, 3 days of 0.5 g: 500 x 1.25 = 625 mg/day on each of its days
        cm_record(4, "METHYLPREDNISOLONE SODIUM SUCCINATE", 0.5, "QD", "2024-06-10", "2024-06-12",
                  CMDOSU="g", CMROUTE="INTRAVENOUS"),
        # prednisone 0.5 mg/kg QD, WEIGHTBL 60 kg: 30 mg/day
        cm_record(5, "PREDNISONE", 0.5, "QD", "2024-06-20", "2024-06-21", CMDOSU="mg/kg"),
        # an unknown frequency: exposed, dose unknown
        cm_record(6, "PREDNISONE", 5, "Q3D", "2024-06-25", "2024-06-26"),
        # ONCE: the start date only
        cm_record(7, "BETAMETHASONE", 6, "ONCE", "2024-07-01", "2024-07-09", CMROUTE="INTRAMUSCULAR"),
    )  # fmt: skip
    with pytest.warns(UserWarning, match=r"1 disease glucocorticoid CM record\(s\) without a computable"):
        series = create_gc_exposure_series(cm, small_adsl(), study)
    assert daily(series, "2024-05-08", "GCN") == 0.0
    assert daily(series, "2024-05-25", "GCN") == 0.0
    assert daily(series, "2024-06-02", "GCN") == 0.0
    assert daily(series, "2024-08-02") == 20.0
    assert daily(series, "2024-06-11") == pytest.approx(625.0)
    assert daily(series, "2024-06-13") == 0.0
    assert daily(series, "2024-06-20") == pytest.approx(30.0)
    assert pd.isna(daily(series, "2024-06-25")) and daily(series, "2024-06-25", "GCN") == 1.0
    # betamethasone 6 mg x 5/0.6 = 50 mg on 2024-07-01 only
    assert daily(series, "2024-07-01") == pytest.approx(50.0, abs=1e-4)
    assert daily(series, "2024-07-02") == 0.0


def test_partial_dates_are_imputed_towards_more_exposure(study: Study) -> None:
    cm = cm_frame(
        # start known to the month: from 2024-03-01; end known to the month: to 2024-03-31
        cm_record(1, "PREDNISONE", 10, "QD", "2024-03", "2024-03"),
        # no end date (ongoing): to the end of follow-up, EOSDT 2024-08-20 (before LSTALVDT)
        cm_record(2, "PREDNISONE", 2.5, "QD", "2024-08-01", None, CMENRTPT="ONGOING"),
    )
    series = create_gc_exposure_series(cm, small_adsl(EOSDT=pd.Timestamp("2024-08-20")), study)
    assert daily(series, "2024-03-01") == 10.0 and daily(series, "2024-03-31") == 10.0
    assert daily(series, "2024-04-01") == 0.0
    assert series["ADT"].max() == pd.Timestamp("2024-08-20")
    assert daily(series, "2024-08-20") == 2.5


def test_immunosuppressant_days(study: Study) -> None:
    cm = cm_frame(
        cm_record(1, "MYCOPHENOLATE MOFETIL", 1000, "BID", "2024-01-01", "2024-04-30",
                  CMCAT="IMMUNOSUPPRESSANT", CMCLASCD="L04AA"),
        # IVIG replacement for hypogammaglobulinaemia (AE) and tocilizumab for CRS do not count ...
        cm_record(2, "IMMUNOGLOBULIN HUMAN NORMAL", 0.4, "ONCE", "2024-06-01", "2024-06-01",
                  CMCAT="IVIG/PLEX", CMCLASCD="J06BA", CMINDC="AE", CMDOSU="g/kg"),
        cm_record(3, "TOCILIZUMAB", 8, "ONCE", "2024-05-14", "2024-05-14",
                  CMCAT="CRS/ICANS MANAGEMENT", CMCLASCD="L04AC", CMINDC="CRS", CMDOSU="mg/kg"),
        # ... IVIG for the disease does, on each of its days; an ATC L04 drug not listed does too
        cm_record(4, "IMMUNOGLOBULIN HUMAN NORMAL", 0.4, "QD", "2024-07-01", "2024-07-05",
                  CMCAT="IVIG/PLEX", CMCLASCD="J06BA", CMDOSU="g/kg"),
        cm_record(5, "SIPONIMOD", 2, "QD", "2024-08-01", "2024-08-02", CMCAT="IMMUNOSUPPRESSANT",
                  CMCLASCD="L04AE"),
    )  # fmt: skip
    series = create_gc_exposure_series(cm, small_adsl(), study)
    assert daily(series, "2024-04-30", "ISN") == 1.0
    assert daily(series, "2024-05-01", "ISN") == 0.0
    assert daily(series, "2024-05-14", "ISN") == 0.0
    assert daily(series, "2024-06-01", "ISN") == 0.0
    assert daily(series, "2024-07-03", "ISN") == 1.0
    assert daily(series, "2024-08-02", "ISN") == 1.0
    assert (series["GCN"] == 0).all()


# --------------------------------------------------------------------------------------------------
# visit parameters on the fixture


def test_gcdose_at_month_3_by_hand(adgc: pd.DataFrame) -> None:
    # MONTH 3 visit (SV) 2025-02-17: window 2025-01-21..2025-02-17 (28 days).
    # CMSEQ 12 prednisone 10 mg: 2025-01-21..2025-02-09 = 20 days; CMSEQ 13 7.5 mg: 02-10..02-17 = 8 days.
    # GCDOSE = (20 x 10 + 8 x 7.5) / 28 = 260 / 28 = 9.2857
    gcdose = record(adgc, MG_SUBJECT, "GCDOSE", "MONTH 3")
    assert gcdose["ADT"] == pd.Timestamp("2025-02-17")
    assert gcdose["ADY"] == 91.0  # 2025-02-17 - 2024-11-19 = 90 days, + 1
    assert gcdose["AVAL"] == pytest.approx(9.2857, abs=1e-4)
    # baseline: BASELINE visit 2024-11-12, 28 days of CMSEQ 2 (15 mg) -> 15; CHG = 9.2857 - 15
    assert gcdose["BASE"] == 15.0
    assert gcdose["CHG"] == pytest.approx(-5.7143, abs=1e-4)
    assert pd.isna(gcdose["SRCDOM"])  # two CM records contribute
    assert record(adgc, MG_SUBJECT, "GCFREE", "MONTH 3")["AVALC"] == "N"
    assert record(adgc, MG_SUBJECT, "GCLOW", "MONTH 3")["AVALC"] == "N"  # 9.29 > 7.5
    assert record(adgc, MG_SUBJECT, "GCLOW5", "MONTH 3")["AVALC"] == "N"
    assert record(adgc, MG_SUBJECT, "ISFREE", "MONTH 3")["AVALC"] == "Y"
    assert record(adgc, MG_SUBJECT, "GCISFREE", "MONTH 3")["AVALC"] == "N"


def test_low_dose_flags_and_single_record_source(adgc: pd.DataFrame) -> None:
    # MONTH 6 visit 2025-05-07: window 2025-04-10..05-07 wholly in CMSEQ 14 (5 mg QD): GCDOSE 5.0
    gcdose = record(adgc, MG_SUBJECT, "GCDOSE", "MONTH 6")
    assert gcdose["AVAL"] == 5.0
    assert (gcdose["SRCDOM"], gcdose["SRCVAR"], gcdose["SRCSEQ"]) == ("CM", "CMDOSE", 14.0)
    gclow = record(adgc, MG_SUBJECT, "GCLOW", "MONTH 6")
    assert (gclow["AVALC"], gclow["AVAL"]) == ("Y", 1.0)  # 5.0 <= 7.5
    assert record(adgc, MG_SUBJECT, "GCLOW5", "MONTH 6")["AVALC"] == "Y"  # 5.0 <= 5
    gcfree = record(adgc, MG_SUBJECT, "GCFREE", "MONTH 6")
    assert (gcfree["AVALC"], gcfree["AVAL"], gcfree["SRCVAR"], gcfree["SRCSEQ"]) == (
        "N",
        0.0,
        "CMDECOD",
        14.0,
    )
    baseline = record(adgc, MG_SUBJECT, "GCDOSE", "BASELINE")
    assert baseline["ABLFL"] == "Y" and pd.isna(baseline["CHG"])


def test_methylprednisolone_factor_on_the_fixture(adgc: pd.DataFrame) -> None:
    # MONTH 2 visit 2024-01-19: window 2023-12-23..2024-01-19 wholly in CMSEQ 8 (14 mg QD):
    # 14 x 1.25 = 17.5. MONTH 3 visit 2024-02-14: window 2024-01-18..02-14: CMSEQ 8 on 01-18, 01-19
    # (2 x 17.5) and CMSEQ 9 (10 mg -> 12.5) on 26 days: (35 + 325) / 28 = 12.8571.
    assert record(adgc, MP_SUBJECT, "GCDOSE", "MONTH 2")["AVAL"] == 17.5
    assert record(adgc, MP_SUBJECT, "GCDOSE", "MONTH 3")["AVAL"] == pytest.approx(12.8571, abs=1e-4)


def test_iv_pulse_and_disease_ivig_at_month_12(adgc: pd.DataFrame) -> None:
    # MONTH 12 visit 2025-10-24: window 2025-09-27..10-24 holds the 3-day pulse of 500 mg x 1.25:
    # 3 x 625 / 28 = 66.9643; IVIG for the disease (CMSEQ 16) makes ISFREE "N".
    gcdose = record(adgc, PULSE_SUBJECT, "GCDOSE", "MONTH 12")
    assert gcdose["AVAL"] == pytest.approx(66.9643, abs=1e-4)
    assert gcdose["SRCSEQ"] == 15.0
    isfree = record(adgc, PULSE_SUBJECT, "ISFREE", "MONTH 12")
    assert (isfree["AVALC"], isfree["SRCSEQ"]) == ("N", 16.0)
    assert record(adgc, PULSE_SUBJECT, "GCISFREE", "MONTH 12")["AVALC"] == "N"


def test_crs_dexamethasone_is_not_disease_gc(sdtm, adgc: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    # CCAR168-AID-02-0006 got dexamethasone 10 mg BID IV for CRS on 2024-03-30 (infusion 2024-03-29)
    # on top of methylprednisolone 12 mg QD (CMSEQ 2, 15 mg/day). DAY 1 visit 2024-03-30: window
    # 2024-03-03..03-30 = 28 days of 15 mg -> 15.0 (the CRS dose would add 10 x 2 x 6.67 / 28 = 4.76).
    cm = sdtm.datasets["CM"]
    crs = cm.loc[(cm["USUBJID"] == "CCAR168-AID-02-0006") & (cm["CMDECOD"] == "DEXAMETHASONE")]
    assert crs["CMINDC"].tolist() == ["CRS"]
    assert record(adgc, "CCAR168-AID-02-0006", "GCDOSE", "DAY 1")["AVAL"] == 15.0


def test_missed_visits_after_death_are_non_responders(adgc: pd.DataFrame) -> None:
    # 03-0001 died 2024-10-17 (D334); MONTH 12 (window to D379 = 2024-12-01) closed before the data
    # cut: NRI. GCDOSE gets a PHANTOM record without a value.
    gcfree = record(adgc, MP_SUBJECT, "GCFREE", "MONTH 12")
    assert (gcfree["AVALC"], gcfree["AVAL"], gcfree["DTYPE"]) == ("N", 0.0, "WC")
    assert pd.isna(gcfree["ADT"]) and gcfree["ANL01FL"] == "Y"
    gcdose = record(adgc, MP_SUBJECT, "GCDOSE", "MONTH 24")
    assert gcdose["DTYPE"] == "PHANTOM" and pd.isna(gcdose["AVAL"])
    observed = adgc.loc[adgc["DTYPE"].isna()]
    assert observed["ADT"].notna().all()


def test_visits_not_yet_due_have_no_record(adgc: pd.DataFrame) -> None:
    # 01-0017 (infusion 2024-11-19, ongoing): MONTH 18 is due on D545 = 2026-05-18, after the data cut
    # 2026-03-31; MONTH 15 was done on 2026-02-22.
    visits = set(adgc.loc[adgc["USUBJID"] == MG_SUBJECT, "AVISIT"])
    assert "MONTH 15" in visits and "MONTH 18" not in visits
    # 02-0006 (infusion 2024-03-29, ongoing, last contact 2026-01-15): MONTH 24 nominal D730 =
    # 2026-03-29 is before the cut, but its window runs to D744 = 2026-04-12: not imputed yet.
    assert "MONTH 24" not in set(adgc.loc[adgc["USUBJID"] == "CCAR168-AID-02-0006", "AVISIT"])


def test_visit_not_in_sv_uses_its_nominal_date(adgc: pd.DataFrame) -> None:
    # 02-0016 has no MONTH 9 in SV but was followed then: ADT = TRTSDT 2024-10-30 + 270 = 2025-07-27,
    # and the CM log covers the window (no glucocorticoid 2025-02-04 .. 2025-09-29): GC-free.
    gcfree = record(adgc, PULSE_SUBJECT, "GCFREE", "MONTH 9")
    assert gcfree["ADT"] == pd.Timestamp("2025-07-27") and pd.isna(gcfree["DTYPE"])
    assert gcfree["AVALC"] == "Y"


# --------------------------------------------------------------------------------------------------
# configuration


def test_config_is_validated_with_its_key(tmp_path: Path, study: Study) -> None:
    data = yaml.safe_load(study.path.read_text(encoding="utf-8"))
    data["glucocorticoids"]["prednisone_equivalence"]["DEXAMETHASONE"] = "six"
    broken = tmp_path / "study.yaml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(StudyConfigError, match=r"glucocorticoids\.prednisone_equivalence\.DEXAMETHASONE"):
        load_gc_config(load_study(broken))


def test_config_reads_the_study_lists(study: Study) -> None:
    config = load_gc_config(study)
    assert config.prednisone_equivalence["METHYLPREDNISOLONE"] == 1.25
    assert config.doses_per_day["EVERY WEEK"] == pytest.approx(1 / 7)
    assert [v.visit for v in config.analysis_visits][:2] == ["BASELINE", "DAY 1"]
    assert {"MONTH 3", "MONTH 6", "MONTH 12", "MONTH 24"} <= {v.visit for v in config.analysis_visits}
