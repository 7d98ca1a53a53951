"""The ADaM derivation API (cdisc168.adam.derive), checked by hand on tiny frames.

Reference subject: CCAR168-AID-01-0003 received C-CAR168 on 2024-05-13 (TRTSDT; protocol D0 = ADY 1),
lymphodepletion started 2024-05-08 (LDSTDT, D-5). Every expected value is worked out in a comment.
"""

from __future__ import annotations

import doctest
import importlib
import warnings
from collections.abc import Callable

import pandas as pd
import pytest

from cdisc168.adam.derive import (
    CensorSource,
    EventSource,
    Var,
    compute_age_years,
    compute_duration,
    derive_param_tte,
    derive_var_base,
    derive_var_extreme_flag,
    derive_var_trtemfl,
    derive_vars_chg,
    derive_vars_dt,
    derive_vars_dtm,
    derive_vars_dy,
    derive_vars_merged,
    derive_vars_relative_time,
    desc,
)

SUBJECT = "CCAR168-AID-01-0003"
TRTSDT = "2024-05-13"
LDSTDT = "2024-05-08"


def day(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text) if text is not None else pd.NaT


def days(*texts: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts)), dtype="datetime64[us]")


def values(series: pd.Series) -> list[object]:
    """Values with every kind of missing as None, dates as ISO text: easy to compare by hand."""
    out: list[object] = []
    for v in series.tolist():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(None)
        elif isinstance(v, pd.Timestamp):
            out.append(
                v.isoformat(sep=" ") if (v.hour, v.minute, v.second) != (0, 0, 0) else v.date().isoformat()
            )
        else:
            out.append(v)
    return out


# --- derive_vars_dt: start dates ------------------------------------------------------------------


def adae_starts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [SUBJECT] * 6,
            "AESTDTC": ["2024-05", "2024-05", "2024", "2024-05-20T08:00", None, "2024-13"],
            "TRTSDT": days(TRTSDT, "2024-04-20", TRTSDT, TRTSDT, TRTSDT, TRTSDT),
        }
    ).set_axis([10, 11, 12, 13, 14, 15])


def test_astdt_partial_day_in_the_infusion_month_is_not_before_trtsdt() -> None:
    # STUDY.md §3.2: missing day → 1st, but not before TRTSDT if same month (admiral min_dates).
    adae = adae_starts()
    before = adae.copy()
    out = derive_vars_dt(adae, "AST", "AESTDTC", highest_imputation="M", min_dates=["TRTSDT"])
    assert values(out["ASTDT"]) == [
        "2024-05-13",  # 2024-05 → 2024-05-01, lifted to TRTSDT 2024-05-13 (inside May)
        "2024-05-01",  # TRTSDT 2024-04-20 is outside May: ignored, 1st of the month
        "2024-05-13",  # 2024 → 2024-01-01, TRTSDT inside 2024: lifted (admiral semantics)
        "2024-05-20",  # complete date, time dropped
        None,  # missing: year imputation not allowed with "M"
        None,  # month 13: not a date
    ]
    assert values(out["ASTDTF"]) == ["D", "D", "M", None, None, None]
    assert str(out["ASTDT"].dtype) == "datetime64[us]"
    assert out.index.tolist() == [10, 11, 12, 13, 14, 15]
    pd.testing.assert_frame_equal(adae, before)  # the input is unchanged
    assert "ASTDT" not in adae.columns


def test_start_date_without_min_dates_is_the_first_of_the_month_or_year() -> None:
    out = derive_vars_dt(adae_starts(), "AST", "AESTDTC", highest_imputation="M")
    assert values(out["ASTDT"])[:3] == ["2024-05-01", "2024-05-01", "2024-01-01"]


def test_highest_imputation_limits_what_is_imputed() -> None:
    # "D": a missing day is imputed, a missing month is not (2024 stays missing).
    out = derive_vars_dt(adae_starts(), "AST", "AESTDTC", highest_imputation="D")
    assert values(out["ASTDT"])[:3] == ["2024-05-01", "2024-05-01", None]
    assert values(out["ASTDTF"])[:3] == ["D", "D", None]
    # "n": nothing imputed and no flag column (nothing could be flagged).
    plain = derive_vars_dt(adae_starts(), "AST", "AESTDTC")
    assert values(plain["ASTDT"])[:4] == [None, None, None, "2024-05-20"]
    assert "ASTDTF" not in plain.columns
    unflagged = derive_vars_dt(adae_starts(), "AST", "AESTDTC", highest_imputation="D", flag_imputation=False)
    assert "ASTDTF" not in unflagged.columns


def test_year_imputation_of_a_missing_start_takes_the_minimum_date() -> None:
    # Missing AESTDTC, "Y" with min_dates = TRTSDT: the date can be anything, so TRTSDT; flag "Y".
    out = derive_vars_dt(adae_starts(), "AST", "AESTDTC", highest_imputation="Y", min_dates="TRTSDT")
    assert values(out["ASTDT"])[4] == TRTSDT
    assert values(out["ASTDTF"])[4] == "Y"
    with pytest.raises(ValueError, match="min_dates: required"):
        derive_vars_dt(adae_starts(), "AST", "AESTDTC", highest_imputation="Y")


def test_mid_imputation_is_the_15th_or_30_june() -> None:
    frame = pd.DataFrame({"DTC": ["2024-02", "2024", "2023"]})
    out = derive_vars_dt(frame, "A", "DTC", highest_imputation="M", date_imputation="mid")
    # 2024-02 → 15th; 2024 (leap) → 1 Jan + 181 days = 30 Jun; 2023 → 1 Jan + 180 days = 30 Jun.
    assert values(out["ADT"]) == ["2024-02-15", "2024-06-30", "2023-06-30"]


# --- derive_vars_dt: end dates --------------------------------------------------------------------


def test_aendt_is_the_last_day_of_the_month_capped_at_death_and_data_cut() -> None:
    # STUDY.md "Decisions": missing day → last day of month, missing month → 31 Dec, capped at death
    # and the data cut (admiral max_dates: only a cap inside the possible range applies).
    adae = pd.DataFrame(
        {
            "AEENDTC": ["2024-02", "2024-02", "2024-02", "2025", "2025-03-02"],
            "DTHDT": days(None, "2024-02-20", "2024-03-05", None, None),
            "DCUTDT": days("2025-06-30", "2025-06-30", "2025-06-30", "2025-06-30", "2025-06-30"),
        }
    )
    out = derive_vars_dt(
        adae, "AEN", "AEENDTC", highest_imputation="M", date_imputation="last", max_dates=["DTHDT", "DCUTDT"]
    )
    assert values(out["AENDT"]) == [
        "2024-02-29",  # 2024 is a leap year: last day of February
        "2024-02-20",  # death on 20 Feb, inside February: capped
        "2024-02-29",  # death in March is outside the range of 2024-02: ignored
        "2025-06-30",  # 2025 → 31 Dec, capped at the data cut 2025-06-30
        "2025-03-02",  # complete: unchanged
    ]
    assert values(out["AENDTF"]) == ["D", "D", "D", "M", None]


# --- derive_vars_dtm ------------------------------------------------------------------------------


def test_dtm_imputes_times_and_flags_the_level() -> None:
    frame = pd.DataFrame(
        {"DTC": ["2024-05-13T10:00:30", "2024-05-13T10:00", "2024-05-13", "2024-05", "2024", None]}
    )
    out = derive_vars_dtm(frame, "AST", "DTC", highest_imputation="M")
    assert values(out["ASTDTM"]) == [
        "2024-05-13 10:00:30",
        "2024-05-13 10:00:00",  # seconds imputed :00
        "2024-05-13",  # whole time imputed 00:00:00
        "2024-05-01",
        "2024-01-01",
        None,
    ]
    assert values(out["ASTDTF"]) == [None, None, None, "D", "M", None]
    assert values(out["ASTTMF"]) == [None, "S", "H", "H", "H", None]
    last = derive_vars_dtm(
        frame, "AEN", "DTC", highest_imputation="M", date_imputation="last", time_imputation="last"
    )
    assert values(last["AENDTM"])[1:4] == [
        "2024-05-13 10:00:59",
        "2024-05-13 23:59:59",
        "2024-05-31 23:59:59",
    ]


def test_dtm_default_imputes_times_only_and_can_ignore_seconds() -> None:
    frame = pd.DataFrame({"DTC": ["2024-05-13T10:00", "2024-05"]})
    out = derive_vars_dtm(frame, "A", "DTC")  # highest_imputation "h": the date must be complete
    assert values(out["ADTM"]) == ["2024-05-13 10:00:00", None]
    assert "ADTF" not in out.columns
    quiet = derive_vars_dtm(frame, "A", "DTC", ignore_seconds_flag=True)
    assert values(quiet["ATMF"]) == [None, None]
    assert values(derive_vars_dtm(frame, "A", "DTC", highest_imputation="n")["ADTM"]) == [None, None]


def test_dtm_min_dates_lift_to_the_infusion_time_on_the_same_day() -> None:
    # AESTDTC 2024-05-13 (no time) can be 00:00:00-23:59:59; TRTSDTM 10:00 lies inside: 10:00.
    frame = pd.DataFrame(
        {"DTC": ["2024-05-13", "2024-05-14"], "TRTSDTM": pd.to_datetime(["2024-05-13 10:00"] * 2)}
    )
    out = derive_vars_dtm(frame, "AST", "DTC", min_dates=["TRTSDTM"])
    assert values(out["ASTDTM"]) == ["2024-05-13 10:00:00", "2024-05-14"]
    assert values(out["ASTTMF"]) == ["H", "H"]


# --- derive_vars_dy -------------------------------------------------------------------------------


def test_study_days_have_no_day_zero() -> None:
    # ADY = ADT − TRTSDT + (ADT ≥ TRTSDT ? 1 : 0), TRTSDT 2024-05-13.
    adae = pd.DataFrame(
        {
            "TRTSDT": days(TRTSDT, TRTSDT, TRTSDT, TRTSDT, None),
            "ASTDT": days("2024-05-12", "2024-05-13", "2024-05-20", "2024-05-08", "2024-05-20"),
            "AENDT": days("2024-05-14", None, "2024-06-13", "2024-05-08", "2024-05-21"),
        }
    )
    out = derive_vars_dy(adae, source_vars=["ASTDT", "AENDT"])
    # 12 May: -1 (day before day 1); 13 May: 1; 20 May: 7 + 1 = 8; 8 May (LD start): -5.
    assert values(out["ASTDY"]) == [-1.0, 1.0, 8.0, -5.0, None]
    # 14 May: 2; missing: missing; 13 June: 31 + 1 = 32; 8 May: -5; no TRTSDT: missing.
    assert values(out["AENDY"]) == [2.0, None, 32.0, -5.0, None]


def test_study_day_of_a_datetime_counts_its_date_and_names_can_be_given() -> None:
    frame = pd.DataFrame(
        {"TRTSDTM": pd.to_datetime(["2024-05-13 10:00"]), "ADTM": pd.to_datetime(["2024-05-13 08:00"])}
    )
    # 08:00 on the infusion day, before the 10:00 infusion: still day 1 (dates only).
    assert derive_vars_dy(frame, "TRTSDTM", ["ADTM"])["ADY"].tolist() == [1.0]
    assert derive_vars_dy(frame, "TRTSDTM", {"PCDY": "ADTM"})["PCDY"].tolist() == [1.0]
    with pytest.raises(ValueError, match="source_vars: cannot name"):
        derive_vars_dy(frame.rename(columns={"ADTM": "SAMPLE"}), "TRTSDTM", ["SAMPLE"])


# --- derive_var_trtemfl ---------------------------------------------------------------------------


def test_trtemfl_decision_table() -> None:
    adae = pd.DataFrame(
        {
            "case": ["not treated", "ended before", "no start", "on start day", "after", "before, same grade",
                     "before, worse", "before, grade unknown"],
            "TRTSDT": days(None, *[TRTSDT] * 7),
            "ASTDT": days("2024-05-20", "2024-05-01", None, TRTSDT, "2026-01-05", "2024-05-01", "2024-05-01",
                          "2024-05-01"),
            "AENDT": days(None, "2024-05-10", None, None, None, None, "2024-05-20", None),
            "AEITOXGR": ["1", "1", "1", "1", "1", "2", "1", None],
            "AETOXGR": ["1", "1", "1", "1", "1", "2", "3", "2"],
        }
    )  # fmt: skip
    plain = derive_var_trtemfl(adae)
    # Without intensities, pre-existing AEs are never treatment-emergent; there is no upper cut-off.
    assert values(plain["TRTEMFL"]) == [None, None, "Y", "Y", "Y", None, None, None]
    graded = derive_var_trtemfl(adae, initial_intensity="AEITOXGR", intensity="AETOXGR")
    # Grade 1 → 3 while ongoing on TRTSDT: worsened; an unknown grade counts as worsened (admiral).
    assert values(graded["TRTEMFL"]) == [None, None, "Y", "Y", "Y", None, "Y", "Y"]


def test_trtemfl_sensitivity_window_of_90_days_after_treatment() -> None:
    # STUDY.md §3.2 sensitivity: ASTDT ≤ TRTSDT + 90 (single infusion: TRTEDT = TRTSDT).
    adae = pd.DataFrame(
        {
            "TRTSDT": days(TRTSDT, TRTSDT, TRTSDT),
            "TRTEDT": days(TRTSDT, TRTSDT, None),
            # 13 May + 90 days = 11 Aug; 12 Aug is day 91 after.
            "ASTDT": days("2024-08-11", "2024-08-12", "2024-08-12"),
            "AENDT": days(None, None, None),
        }
    )
    out = derive_var_trtemfl(adae, new_var="TRTEM2FL", trt_end_date="TRTEDT", end_window=90)
    assert values(out["TRTEM2FL"]) == ["Y", None, "Y"]  # missing TRTEDT: no window applies
    with pytest.raises(ValueError, match="trt_end_date: required"):
        derive_var_trtemfl(adae, end_window=90)


def test_trtemfl_by_episode_flags_from_the_first_worsening_on_treatment() -> None:
    adae = pd.DataFrame(
        {
            "STUDYID": ["S"] * 7,
            "USUBJID": [SUBJECT] * 7,
            "AEGRPID": ["1", "1", "1", "2", "2", "3", "3"],
            "ASTDT": days("2024-05-20", "2024-05-10", "2024-05-15", "2024-05-14", "2024-05-16", "2024-05-01",
                          "2024-05-05"),
            "AENDT": days(None, None, None, None, None, None, "2024-05-20"),
            "TRTSDT": days(*[TRTSDT] * 7),
            "AETOXGR": ["2", "1", "3", "2", "1", "2", "2"],
        }
    )  # fmt: skip
    out = derive_var_trtemfl(adae, intensity="AETOXGR", group_var="AEGRPID")
    # Episode 1 in start order: 10 May g1 (before), 15 May g3 (worse than g1, on treatment: flagged),
    # 20 May g2 (after the worsening: flagged). Episode 2 starts on treatment: all flagged.
    # Episode 3 started before treatment and never worsened: not flagged.
    assert values(out["TRTEMFL"]) == ["Y", None, "Y", "Y", "Y", None, None]


# --- derive_var_extreme_flag, derive_var_base, derive_vars_chg -----------------------------------


def adlb() -> pd.DataFrame:
    """CD19 counts of one subject, each record once per BASETYPE (STUDY.md §3)."""
    visits = pd.DataFrame(
        {
            "ADT": days("2024-04-23", "2024-05-06", "2024-05-09", TRTSDT, "2024-05-20"),  # D-20 … D7
            "AVAL": [100.0, 120.0, 80.0, 60.0, 0.0],
        }
    )
    frames = []
    for basetype in ("PRE-LYMPHODEPLETION", "PRE-INFUSION"):
        frames.append(visits.assign(BASETYPE=basetype))
    out = pd.concat(frames, ignore_index=True)
    return out.assign(STUDYID="S", USUBJID=SUBJECT, PARAMCD="CD19CNT", TRTSDT=day(TRTSDT), LDSTDT=day(LDSTDT))


def baseline_window(frame: pd.DataFrame) -> pd.Series:
    # Disease/immunology: last value before LD start; haematology: last value on or before infusion.
    before_ld = frame["ADT"] < frame["LDSTDT"]
    before_infusion = frame["ADT"] <= frame["TRTSDT"]
    pre_ld = frame["BASETYPE"] == "PRE-LYMPHODEPLETION"
    return frame["AVAL"].notna() & ((pre_ld & before_ld) | (~pre_ld & before_infusion))


def test_ablfl_is_the_last_value_before_start_per_basetype() -> None:
    keys = ["STUDYID", "USUBJID", "PARAMCD", "BASETYPE"]
    out = derive_var_extreme_flag(adlb(), keys, ["ADT"], "ABLFL", mode="last", filter=baseline_window)
    # PRE-LYMPHODEPLETION: 23 Apr and 6 May are before LD (8 May) → 6 May (row 1).
    # PRE-INFUSION: all up to 13 May → 13 May (row 8). Records outside the window stay null.
    assert values(out["ABLFL"]) == [None, "Y", None, None, None, None, None, None, "Y", None]


def test_extreme_flag_first_false_value_ties_and_descending_order() -> None:
    frame = pd.DataFrame({"USUBJID": ["A", "A", "A", "B"], "AVAL": [3.0, 5.0, 5.0, 1.0], "SEQ": [1, 2, 3, 1]})
    first = derive_var_extreme_flag(frame, ["USUBJID"], [desc("AVAL"), "SEQ"], "MAXFL", false_value="N")
    assert values(first["MAXFL"]) == ["N", "Y", "N", "Y"]  # highest AVAL, then lowest SEQ
    with pytest.warns(UserWarning, match="tie"):
        tied = derive_var_extreme_flag(frame, ["USUBJID"], [desc("AVAL")], "MAXFL", flag_all=True)
    assert values(tied["MAXFL"]) == [None, "Y", "Y", "Y"]  # flag_all: both records with 5.0


def test_base_chg_pchg_per_basetype() -> None:
    keys = ["STUDYID", "USUBJID", "PARAMCD", "BASETYPE"]
    flagged = derive_var_extreme_flag(adlb(), keys, ["ADT"], "ABLFL", mode="last", filter=baseline_window)
    out = derive_vars_chg(flagged)
    # PRE-LYMPHODEPLETION BASE = 120: D7 value 0 → CHG 0 − 120 = −120, PCHG 100 × −120 / 120 = −100.
    # PRE-INFUSION BASE = 60: D7 → CHG −60, PCHG −100; 9 May (80) → CHG 20, PCHG 33.33.
    assert out["BASE"].tolist() == [120.0] * 5 + [60.0] * 5
    assert out["CHG"].tolist() == [-20.0, 0.0, -40.0, -60.0, -120.0, 40.0, 60.0, 20.0, 0.0, -60.0]
    assert out["PCHG"].round(2).tolist() == [
        -16.67,
        0.0,
        -33.33,
        -50.0,
        -100.0,
        66.67,
        100.0,
        33.33,
        0.0,
        -100.0,
    ]


def test_pchg_is_missing_when_base_is_zero_and_filter_restricts_chg() -> None:
    frame = pd.DataFrame(
        {
            "USUBJID": [SUBJECT] * 3,
            "PARAMCD": ["CD19CNT"] * 3,
            "AVAL": [0.0, 4.0, None],
            "ABLFL": ["Y", None, None],
            "ADY": [-7.0, 8.0, 15.0],
        }
    )
    out = derive_vars_chg(frame, by_vars=["USUBJID", "PARAMCD"])
    # BASE 0: CHG = 4 − 0 = 4, PCHG = 100 × 4 / 0 → missing; missing AVAL → missing CHG.
    assert values(out["CHG"]) == [0.0, 4.0, None]
    assert values(out["PCHG"]) == [None, None, None]
    post = derive_vars_chg(frame, by_vars=["USUBJID", "PARAMCD"], filter=lambda d: d["ADY"] > 1)
    assert values(post["CHG"]) == [None, 4.0, None]
    assert values(post["BASE"]) == [0.0, 0.0, 0.0]


def test_basec_and_a_second_baseline_record_is_refused() -> None:
    frame = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A"],
            "PARAMCD": ["P"] * 3,
            "AVALC": ["POS", "NEG", "NEG"],
            "ABLFL": ["Y", None, None],
        }
    )
    out = derive_var_base(frame, ["USUBJID", "PARAMCD"], source_var="AVALC", new_var="BASEC")
    assert out["BASEC"].tolist() == ["POS"] * 3
    with pytest.raises(ValueError, match="base_flag: more than one ABLFL"):
        derive_var_base(frame.assign(ABLFL="Y"), ["USUBJID", "PARAMCD"], source_var="AVALC", new_var="BASEC")


# --- derive_vars_merged ---------------------------------------------------------------------------


def test_merged_adds_renamed_variables_and_keeps_every_record() -> None:
    adae = pd.DataFrame(
        {"STUDYID": ["S"] * 3, "USUBJID": ["S-1", "S-2", "S-1"], "AESEQ": [1, 1, 2]}, index=[5, 6, 7]
    )
    adsl = pd.DataFrame(
        {
            "STUDYID": ["S", "S"],
            "USUBJID": ["S-1", "S-3"],
            "TRTSDT": days(TRTSDT, "2024-06-01"),
            "AGE": [34, 50],
        }
    )
    out = derive_vars_merged(adae, adsl, new_vars={"TRTSDT": "TRTSDT", "AAGE": "AGE"}, exist_flag="INADSL")
    assert out.index.tolist() == [5, 6, 7]
    assert values(out["TRTSDT"]) == [TRTSDT, None, TRTSDT]
    assert values(out["AAGE"]) == [34, None, 34]
    assert values(out["INADSL"]) == ["Y", None, "Y"]
    filled = derive_vars_merged(adae, adsl, new_vars=["AGE"], missing_values={"AGE": -1})
    assert filled["AGE"].tolist() == [34, -1, 34]


def test_merged_picks_one_record_by_order_and_filter() -> None:
    pc = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-1"]})
    ex = pd.DataFrame(
        {
            "STUDYID": ["S"] * 3,
            "USUBJID": ["S-1"] * 3,
            "EXTRT": ["CYCLOPHOSPHAMIDE", "C-CAR168", "C-CAR168"],
            "ADTM": pd.to_datetime(["2024-05-08 09:00", "2024-05-13 10:00", None]),
        }
    )
    out = derive_vars_merged(
        pc,
        ex,
        new_vars={"FANLDTM": "ADTM"},
        filter_add=lambda d: d["EXTRT"] == "C-CAR168",
        order=["ADTM"],
        mode="first",
    )
    assert values(out["FANLDTM"]) == ["2024-05-13 10:00:00"]  # the infusion, not the LD dose
    # dplyr semantics: missing order values sort last even for "last".
    last = derive_vars_merged(pc, ex, new_vars={"X": "ADTM"}, order=["ADTM"], mode="last")
    assert values(last["X"]) == [None]


def test_merged_warns_when_the_chosen_record_is_a_tie() -> None:
    adsl = pd.DataFrame({"USUBJID": ["S-1"]})
    vs = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "ADT": days(TRTSDT, TRTSDT), "AVAL": [70.0, 71.0]})
    with pytest.warns(UserWarning, match="tie on USUBJID, ADT"):
        out = derive_vars_merged(adsl, vs, ["USUBJID"], {"WEIGHTBL": "AVAL"}, order=["ADT"], mode="last")
    assert out["WEIGHTBL"].tolist() == [71.0]  # the last in record order
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        derive_vars_merged(
            adsl, vs, ["USUBJID"], {"WEIGHTBL": "AVAL"}, order=["ADT"], mode="last", check_unique=False
        )


def test_merged_refuses_a_join_that_would_multiply_records() -> None:
    adae = pd.DataFrame({"USUBJID": ["S-1"]})
    lb = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "AVAL": [1.0, 2.0]})
    with pytest.raises(ValueError, match="dataset_add: not unique by USUBJID"):
        derive_vars_merged(adae, lb, by_vars=["USUBJID"])
    # by_vars as a mapping: dataset key → dataset_add key.
    renamed = derive_vars_merged(
        adae, lb.rename(columns={"USUBJID": "SUBJ"}).head(1), by_vars={"USUBJID": "SUBJ"}
    )
    assert renamed["AVAL"].tolist() == [1.0]


# --- derive_param_tte -----------------------------------------------------------------------------


def tte_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    adsl = pd.DataFrame(
        {
            "STUDYID": ["S"] * 6,
            "USUBJID": ["S-1", "S-2", "S-3", "S-4", "S-5", "S-6"],
            "TRTSDT": days(TRTSDT, "2024-06-03", "2024-05-20", "2024-06-01", "2024-07-01", None),
            "LSTALVDT": days(None, None, None, "2025-02-01", None, None),
            "DCUTDT": days(*["2024-12-31"] * 6),
        }
    )
    adrs = pd.DataFrame(
        {
            "STUDYID": ["S"] * 9,
            "USUBJID": ["S-1", "S-1", "S-1", "S-2", "S-2", "S-4", "S-4", "S-5", "S-9"],
            "AVALC": ["N", "Y", "N", "N", "N", "N", "Y", "Y", "Y"],
            "ASEQ": [1, 3, 4, 1, 2, 1, 2, 1, 1],
            "ADT": days("2024-06-10", "2024-08-12", "2024-09-09", "2024-07-01", "2024-09-02", "2024-11-04",
                        "2025-01-15", "2024-06-20", "2024-06-01"),
        }
    )  # fmt: skip
    return adsl, adrs


def tte_sources() -> tuple[list[EventSource], list[CensorSource]]:
    trace = {"SRCDOM": "ADRS", "SRCVAR": "ADT", "SRCSEQ": Var("ASEQ")}
    remission = EventSource(
        "adrs", "ADT", filter=lambda d: d["AVALC"] == "Y", set_values_to={"EVNTDESC": "REMISSION", **trace}
    )
    last_assessment = CensorSource("adrs", "ADT", set_values_to={"EVNTDESC": "LAST ASSESSMENT", **trace})
    start = CensorSource(
        "adsl", "TRTSDT", set_values_to={"EVNTDESC": "TREATMENT START", "SRCDOM": "ADSL", "SRCVAR": "TRTSDT"}
    )
    alive = CensorSource(
        "adsl",
        "LSTALVDT",
        censor=2,
        set_values_to={"EVNTDESC": "LAST KNOWN ALIVE", "SRCDOM": "ADSL", "SRCVAR": "LSTALVDT"},
    )
    return [remission], [start, last_assessment, alive]


def test_tte_event_wins_latest_censoring_and_data_cut() -> None:
    adsl, adrs = tte_inputs()
    events, censors = tte_sources()
    out = derive_param_tte(
        adsl,
        {"adsl": adsl, "adrs": adrs},
        events,
        censors,
        set_values_to={"PARAMCD": "TTR", "PARAM": "Time to Remission (days)"},
        data_cut_date_var="DCUTDT",
    )
    assert out.columns.tolist() == [
        "STUDYID", "USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "CNSR",
        "EVNTDESC", "SRCDOM", "SRCVAR", "SRCSEQ",
    ]  # fmt: skip
    # S-1: remission 12 Aug beats the censorings of 10 Jun (earlier) and 9 Sep (later):
    #      AVAL = (12 Aug − 13 May) + 1 = (31 + 30 + 30) + 1 = 92.
    # S-2: no remission; latest censoring = last assessment 2 Sep: (30 + 31 + 30) + 1 = 92.
    # S-3: no assessment: censored at treatment start, day 1.
    # S-4: remission on 15 Jan 2025 is after the cut (ignored); latest censoring LSTALVDT 1 Feb 2025
    #      is after the cut → censored at the cut 31 Dec 2024: 213 days from 1 Jun, + 1 = 214; CNSR 2.
    # S-5: remission on 20 Jun, before STARTDT 1 Jul → ADT = STARTDT, AVAL 1.
    # S-6: no treatment start, so no censoring date: no record. S-9 is not in ADSL: no record.
    assert out["USUBJID"].tolist() == ["S-1", "S-2", "S-3", "S-4", "S-5"]
    assert values(out["ADT"]) == ["2024-08-12", "2024-09-02", "2024-05-20", "2024-12-31", "2024-07-01"]
    assert out["AVAL"].tolist() == [92.0, 92.0, 1.0, 214.0, 1.0]
    assert out["CNSR"].tolist() == [0, 1, 1, 2, 0]
    assert out["EVNTDESC"].tolist() == [
        "REMISSION",
        "LAST ASSESSMENT",
        "TREATMENT START",
        "DATA CUT-OFF",
        "REMISSION",
    ]
    assert out["SRCVAR"].tolist() == ["ADT", "ADT", "TRTSDT", "DCUTDT", "ADT"]
    assert values(out["SRCSEQ"]) == [3, 2, None, None, 1]
    assert values(out["STARTDT"]) == [TRTSDT, "2024-06-03", "2024-05-20", "2024-06-01", "2024-07-01"]
    assert set(out["PARAMCD"]) == {"TTR"}


def test_tte_without_data_cut_keeps_late_dates_and_ties_follow_source_order() -> None:
    adsl, adrs = tte_inputs()
    events, censors = tte_sources()
    out = derive_param_tte(
        adsl, {"adsl": adsl, "adrs": adrs}, events, censors, set_values_to={"PARAMCD": "TTR"}
    )
    s4 = out[out["USUBJID"] == "S-4"].iloc[0]
    assert (values(pd.Series([s4["ADT"]])), s4["CNSR"]) == (["2025-01-15"], 0)  # the late remission counts
    # Same date in two censor sources: the one listed last wins (admiral); in two event sources the first.
    same = adsl.assign(OTHERDT=adsl["TRTSDT"])
    other = CensorSource("adsl", "OTHERDT", censor=3, set_values_to={"EVNTDESC": "OTHER"})
    tie = derive_param_tte(same, {"adsl": same}, [], [censors[0], other], set_values_to={"PARAMCD": "T"})
    assert set(tie["EVNTDESC"]) == {"OTHER"}
    event_a = EventSource("adsl", "TRTSDT", set_values_to={"EVNTDESC": "A"})
    event_b = EventSource("adsl", "OTHERDT", set_values_to={"EVNTDESC": "B"})
    first = derive_param_tte(same, {"adsl": same}, [event_a, event_b], [], set_values_to={"PARAMCD": "T"})
    assert set(first["EVNTDESC"]) == {"A"}


def test_tte_appends_to_a_dataset_once() -> None:
    adsl, adrs = tte_inputs()
    events, censors = tte_sources()
    sources = {"adsl": adsl, "adrs": adrs}
    adtte = derive_param_tte(adsl, sources, events, censors, set_values_to={"PARAMCD": "TTR"})
    both = derive_param_tte(adsl, sources, [], censors, set_values_to={"PARAMCD": "FU"}, dataset=adtte)
    assert both["PARAMCD"].value_counts().to_dict() == {"TTR": 5, "FU": 5}
    with pytest.raises(ValueError, match="dataset: parameter TTR is already present"):
        derive_param_tte(adsl, sources, events, censors, set_values_to={"PARAMCD": "TTR"}, dataset=adtte)


def test_tte_sources_validate_their_censor_values() -> None:
    with pytest.raises(ValueError, match="censor: an event has CNSR 0"):
        EventSource("adsl", "DTHDT", censor=1)
    with pytest.raises(ValueError, match="censor: a censoring has a positive"):
        CensorSource("adsl", "LSTALVDT", censor=0)
    with pytest.raises(TypeError, match="filter: expected a callable"):
        EventSource("adsl", "DTHDT", filter="DTHFL == 'Y'")  # type: ignore[arg-type]


# --- derive_vars_relative_time --------------------------------------------------------------------


def test_relative_times_from_the_infusion_start() -> None:
    adpc = pd.DataFrame(
        {
            "ADTM": pd.to_datetime(["2024-05-13 09:00", "2024-05-14 10:00", "2024-05-20 22:00", None]),
            "FANLDTM": pd.to_datetime(["2024-05-13 10:00"] * 4),
            "PCELTM": ["-PT1H", "P1D", "P7D", "P14D"],
        }
    )
    out = derive_vars_relative_time(adpc, nominal="PCELTM")
    # −1 h = −1/24 day; 1 day; 7 days 12 h = 7.5; no sample time → missing actual time.
    assert values(out["AFRLT"].round(4)) == [-0.0417, 1.0, 7.5, None]
    assert values(out["ARRLT"].round(4)) == [-0.0417, 1.0, 7.5, None]  # single dose: ARRLT = AFRLT
    assert out["NFRLT"].round(4).tolist() == [-0.0417, 1.0, 7.0, 14.0]
    assert out["NRRLT"].round(4).tolist() == [-0.0417, 1.0, 7.0, 14.0]
    assert set(out["RRLTU"]) == {"DAYS"}
    hours = derive_vars_relative_time(adpc, nominal="PCELTM", unit="h")
    assert values(hours["AFRLT"]) == [-1.0, 24.0, 180.0, None]  # 7 × 24 + 12 = 180
    assert hours["NFRLT"].tolist() == [-1.0, 24.0, 168.0, 336.0]


def test_relative_times_from_a_later_reference_dose() -> None:
    adpc = pd.DataFrame(
        {
            "ADTM": pd.to_datetime(["2024-05-20 22:00"]),
            "FANLDTM": pd.to_datetime(["2024-05-13 10:00"]),
            "PCRFTDTM": pd.to_datetime(["2024-05-20 10:00"]),
            "NFRLT": [7.5],
            "NREFT": [7.0],
        }
    )
    out = derive_vars_relative_time(adpc, ref_dose_dtm="PCRFTDTM", nominal_ref="NREFT")
    # 22:00 − 10:00 on the reference day = 0.5 day; nominal 7.5 − 7 = 0.5.
    assert (out["AFRLT"].iloc[0], out["ARRLT"].iloc[0], out["NRRLT"].iloc[0]) == (7.5, 0.5, 0.5)


# --- compute_ helpers -----------------------------------------------------------------------------


def test_compute_duration_and_age() -> None:
    start = days(TRTSDT, TRTSDT, TRTSDT, None)
    end = days(TRTSDT, "2024-05-12", "2025-05-13", TRTSDT)
    # Same day: 0 + 1 = 1; the day before: −1 (no +1 when negative); one year: 365 + 1 = 366.
    assert values(compute_duration(start, end)) == [1.0, -1.0, 366.0, None]
    assert compute_duration(start, end, unit="years", add_one=False).round(4).tolist()[:3] == [
        0.0,
        -0.0027,
        0.9993,
    ]
    births = pd.Series(["1990-05-14", "1990-05-13", "2000-02-29", "2000-02-29", "1990-05"])
    refs = pd.Series([TRTSDT, TRTSDT, "2023-02-28", "2023-03-01", TRTSDT])
    # Birthday tomorrow: 33; today: 34; 29 Feb birthday reached on 1 March; partial birth date: NaN.
    assert values(compute_age_years(births, refs)) == [33.0, 34.0, 22.0, 23.0, None]


# --- input validation: one test per kind of bad input ---------------------------------------------


def _adae() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": ["S"],
            "USUBJID": [SUBJECT],
            "AESTDTC": ["2024-05"],
            "ASTDT": days("2024-05-20"),
            "AENDT": days(None),
            "TRTSDT": days(TRTSDT),
            "AVAL": [1.0],
            "ABLFL": ["Y"],
            "PARAMCD": ["P"],
            "BASETYPE": ["B"],
            "ADTM": pd.to_datetime(["2024-05-20 10:00"]),
        }
    )


MISSING_COLUMN_CASES: list[tuple[str, Callable[[pd.DataFrame], object], str]] = [
    ("merged keys", lambda d: derive_vars_merged(d, d.drop(columns="USUBJID")), "by_vars: column USUBJID"),
    ("merged new_vars", lambda d: derive_vars_merged(d, d, new_vars=["NOPE"]), "new_vars: column NOPE"),
    ("dt dtc", lambda d: derive_vars_dt(d, "AST", "AESTDTCX"), "dtc: column AESTDTCX"),
    (
        "dt min_dates",
        lambda d: derive_vars_dt(d, "X", "AESTDTC", "M", min_dates=["RFXSTDT"]),
        "min_dates: column RFXSTDT",
    ),
    ("dtm dtc", lambda d: derive_vars_dtm(d, "AST", "PCDTC"), "dtc: column PCDTC"),
    ("dy reference", lambda d: derive_vars_dy(d, "TRTSDTM"), "reference_date: column TRTSDTM"),
    ("dy source", lambda d: derive_vars_dy(d, source_vars=["ADT"]), "source_vars: column ADT"),
    ("trtemfl start", lambda d: derive_var_trtemfl(d.drop(columns="ASTDT")), "start_date: column ASTDT"),
    (
        "trtemfl grade",
        lambda d: derive_var_trtemfl(d, initial_intensity="AEITOXGR", intensity="AETOXGR"),
        "initial_intensity: column AEITOXGR",
    ),
    ("extreme order", lambda d: derive_var_extreme_flag(d, ["USUBJID"], ["ADT"], "FL"), "order: column ADT"),
    ("base flag", lambda d: derive_var_base(d.drop(columns="ABLFL")), "base_flag: column ABLFL"),
    ("base keys", lambda d: derive_var_base(d.drop(columns="BASETYPE")), "by_vars: column BASETYPE"),
    ("chg source", lambda d: derive_vars_chg(d, source_var="AVALX"), "source_var: column AVALX"),
    (
        "tte start",
        lambda d: derive_param_tte(d, {"adsl": d}, [], [CensorSource("adsl", "TRTSDT")], start_date="RANDDT"),
        "start_date: column RANDDT",
    ),
    (
        "tte source date",
        lambda d: derive_param_tte(d, {"adsl": d}, [EventSource("adsl", "DTHDT")], []),
        r"event_conditions\[0\].date: column DTHDT",
    ),
    (
        "nca first dose",
        lambda d: derive_vars_relative_time(d, nominal="AVAL"),
        "first_dose_dtm: column FANLDTM",
    ),
]


@pytest.mark.parametrize(
    ("case", "call", "message"), MISSING_COLUMN_CASES, ids=[c[0] for c in MISSING_COLUMN_CASES]
)
def test_a_missing_column_is_a_value_error_naming_argument_and_column(
    case: str, call: Callable[[pd.DataFrame], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(_adae())


BAD_INPUT_CASES: list[tuple[str, Callable[[pd.DataFrame], object], type[Exception], str]] = [
    (
        "not a frame",
        lambda d: derive_vars_dt(d.to_dict(), "AST", "AESTDTC"),
        TypeError,
        "dataset: expected a pandas DataFrame",
    ),
    (
        "bad option",
        lambda d: derive_vars_dt(d, "AST", "AESTDTC", highest_imputation="X"),
        ValueError,
        "highest_imputation",
    ),
    (
        "bad date imputation",
        lambda d: derive_vars_dt(d, "AST", "AESTDTC", "M", date_imputation="late"),
        ValueError,
        "date_imputation",
    ),
    (
        "text as dates",
        lambda d: derive_vars_dy(d, "AESTDTC", ["ASTDT"]),
        TypeError,
        "reference_date: column AESTDTC",
    ),
    ("dates as dtc", lambda d: derive_vars_dt(d, "A", "ASTDT"), TypeError, "dtc: column ASTDT"),
    ("output exists", lambda d: derive_vars_dt(d, "AST", "AESTDTC"), ValueError, "ASTDT already in dataset"),
    (
        "string filter",
        lambda d: derive_var_extreme_flag(d, ["USUBJID"], ["ASTDT"], "FL", filter="AVAL > 0"),
        TypeError,
        "filter: expected a callable",
    ),
    (
        "non-boolean filter",
        lambda d: derive_vars_merged(
            d, d[["USUBJID"]].assign(X=1), by_vars=["USUBJID"], filter_add=lambda a: a["X"]
        ),
        TypeError,
        "filter_add: expected boolean",
    ),
    (
        "order without mode",
        lambda d: derive_vars_merged(d, d, by_vars=["USUBJID"], new_vars={"X": "AVAL"}, order=["ASTDT"]),
        ValueError,
        "order, mode",
    ),
    (
        "bad mode",
        lambda d: derive_var_extreme_flag(d, ["USUBJID"], ["ASTDT"], "FL", mode="max"),
        ValueError,
        "mode",
    ),
    (
        "negative window",
        lambda d: derive_var_trtemfl(d, trt_end_date="TRTSDT", end_window=-1),
        ValueError,
        "end_window",
    ),
    (
        "half intensity",
        lambda d: derive_var_trtemfl(d.assign(G=1), intensity="G"),
        ValueError,
        "initial_intensity",
    ),
    (
        "non-numeric chg",
        lambda d: derive_vars_chg(d, source_var="PARAMCD"),
        TypeError,
        "source_var: column PARAMCD",
    ),
    (
        "unknown source",
        lambda d: derive_param_tte(d, {}, [EventSource("adae", "ASTDT")], []),
        ValueError,
        r"event_conditions\[0\]: dataset_name 'adae'",
    ),
    (
        "event in censors",
        lambda d: derive_param_tte(d, {"a": d}, [], [EventSource("a", "ASTDT")]),
        TypeError,
        "censor_conditions: expected CensorSource",
    ),
    (
        "bad unit",
        lambda d: derive_vars_relative_time(d, first_dose_dtm="TRTSDT", nominal="AVAL", unit="hours"),
        ValueError,
        "unit",
    ),
    (
        "bad nominal",
        lambda d: derive_vars_relative_time(d, first_dose_dtm="TRTSDT", nominal="AESTDTC"),
        ValueError,
        "nominal: column AESTDTC",
    ),
    (
        "misaligned series",
        lambda d: compute_duration(d["ASTDT"], d["TRTSDT"].set_axis([9])),
        ValueError,
        "end: its index",
    ),
]


@pytest.mark.parametrize(
    ("case", "call", "error", "message"), BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES]
)
def test_bad_input_is_refused_with_the_argument_named(
    case: str, call: Callable[[pd.DataFrame], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(_adae())


def test_no_function_changes_its_input() -> None:
    adae = _adae()
    before = adae.copy()
    derive_vars_dy(adae, source_vars=["ASTDT"])
    derive_var_trtemfl(adae)
    derive_vars_chg(adae)
    derive_var_extreme_flag(adae, ["USUBJID"], ["ASTDT"], "FL")
    derive_vars_merged(adae[["USUBJID"]], adae, by_vars=["USUBJID"], new_vars=["AVAL"])
    pd.testing.assert_frame_equal(adae, before)


# --- the docstring examples (they become the README examples) run as written ----------------------


@pytest.mark.parametrize(
    "module",
    ["derive_merge", "derive_dates", "derive_flags", "derive_base", "derive_tte", "derive_nca"],
)
def test_docstring_examples_run(module: str) -> None:
    imported = importlib.import_module(f"cdisc168.adam.{module}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = doctest.testmod(imported, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_every_public_function_has_an_example() -> None:
    derive = importlib.import_module("cdisc168.adam.derive")
    for name in derive.__all__:
        obj = getattr(derive, name)
        if callable(obj) and name.startswith(("derive_", "compute_")):
            assert ">>>" in (obj.__doc__ or ""), name
