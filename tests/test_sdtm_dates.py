"""ISO 8601 dates, study days, the data cut and durations (cdisc168.sdtm.dates), checked by hand.

Reference subject for the study-day cases: CCAR168-AID-01-0003 received C-CAR168 on 2024-05-13 at
10:00, so RFSTDTC = 2024-05-13T10:00 and protocol D0 = study day 1 (STUDY.md §0).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cdisc168.sdtm.dates import (
    Precision,
    cap_dtc,
    dropped_time_mask,
    dtc_date,
    dtc_datetime,
    dtc_max,
    dtc_min,
    dtc_precision,
    earliest_possible,
    elapsed_iso_duration,
    invalid_dtc_mask,
    is_iso8601_dtc,
    is_iso8601_duration,
    iso_duration_to_days,
    latest_possible,
    starts_after,
    study_day,
    to_dtc,
)

RFSTDTC = "2024-05-13T10:00"
DATA_CUT = dt.date(2026, 3, 31)


def s(*values: object, index: list[int] | None = None) -> pd.Series:
    return pd.Series(list(values), index=index, dtype="str")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# --- to_dtc: collected date + time → --DTC ---------------------------------------------------------


def test_to_dtc_full_date_and_time_are_joined_with_t() -> None:
    assert to_dtc(s("2024-03-05"), s("14:30")).tolist() == ["2024-03-05T14:30"]
    assert to_dtc(s("2024-03-05"), s("14:30:15")).tolist() == ["2024-03-05T14:30:15"]


def test_to_dtc_time_under_a_partial_date_is_not_appended() -> None:
    # SDTMIG 3.4 §4.4.2: right truncation only; the month is known, the day is not, so no time.
    date, time = s("2024-03", "2024", None), s("14:30", "14:30", "14:30")
    assert to_dtc(date, time).isna().tolist() == [False, False, True]
    assert to_dtc(date, time).tolist()[:2] == ["2024-03", "2024"]
    assert dropped_time_mask(date, time).tolist() == [True, True, True]


def test_to_dtc_keeps_partial_precision_and_missing() -> None:
    out = to_dtc(s("2024-03-05", "2024-03", "2024", None, ""))
    assert out.tolist()[:3] == ["2024-03-05", "2024-03", "2024"]
    assert out.isna().tolist() == [False, False, False, True, True]
    assert str(out.dtype) == "str"


def test_to_dtc_does_not_crash_on_garbage_and_reports_it() -> None:
    date = s("2024-02-30", "05/03/2024", "2024-03-05", "2024-03-05", "2024-03-05T10:00", "2024-03-05")
    time = s("10:00", "10:00", "24:00", "9:30", None, None)
    out = to_dtc(date, time)
    # Unusable dates give missing; an unusable time leaves the (true) date alone.
    assert out.isna().tolist() == [True, True, False, False, True, False]
    assert out.tolist()[2:4] == ["2024-03-05", "2024-03-05"]
    assert invalid_dtc_mask(date, time).tolist() == [True, True, True, True, True, False]
    assert invalid_dtc_mask(date).tolist() == [True, True, False, False, True, False]


def test_to_dtc_keeps_the_index_and_aligns_time_by_label() -> None:
    date = s("2024-03-05", "2024-03-06", index=[10, 20])
    time = s("08:00", "09:00", index=[20, 10])
    out = to_dtc(date, time)
    assert out.index.tolist() == [10, 20]
    assert out.tolist() == ["2024-03-05T09:00", "2024-03-06T08:00"]


def test_to_dtc_accepts_object_and_numeric_columns() -> None:
    # An all-empty CSV column arrives as float NaN; a stray number is text that fails validation.
    assert to_dtc(pd.Series([np.nan, np.nan])).isna().all()
    out = to_dtc(pd.Series(["2024-03-05", 20240305, None], dtype=object))
    assert out.isna().tolist() == [False, True, True]
    assert invalid_dtc_mask(pd.Series(["2024-03-05", 20240305, None], dtype=object)).tolist() == [
        False,
        True,
        False,
    ]


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024", True),
        ("2024-02", True),
        ("2024-02-29", True),  # 2024 is a leap year
        ("2023-02-29", False),  # 2023 is not
        ("1900-02-29", False),  # century, not divisible by 400
        ("2000-02-29", True),
        ("2024-02-30", False),
        ("2024-04-31", False),
        ("2024-13", False),
        ("2024-00", False),
        ("0000", False),
        ("2024-03-05T14:30", True),
        ("2024-03-05T23:59:59", True),
        ("2024-03-05T14:30:15.123", True),
        ("2024-03-05T24:00", False),
        ("2024-03-05T14:60", False),
        ("2024-03-05T14:30:60", False),
        ("2024-03-05T14", False),  # hour-only precision is outside this package's profile
        ("2024---05", False),  # hyphen placeholders are outside this package's profile
        ("2024-03-05T14:30Z", False),
        ("2024-3-5", False),
        ("20240305", False),
        ("2024-03-05 14:30", False),
        (" 2024-03-05", False),
        ("2024-03-05T", False),
        ("UNK", False),
    ],
)
def test_is_iso8601_dtc(value: str, valid: bool) -> None:
    assert is_iso8601_dtc(s(value)).tolist() == [valid]


def test_is_iso8601_dtc_missing_is_not_a_format_error() -> None:
    assert is_iso8601_dtc(s(None, "")).tolist() == [True, True]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("P7D", True),
        ("PT15M", True),
        ("P1Y2M", True),
        ("P1Y2M10DT2H30M", True),
        ("P2W", True),
        ("PT0.5H", True),
        ("PT1,5H", True),
        ("PT36H", True),
        ("-PT15M", True),  # --ELTM before its reference (SDTMIG examples)
        ("-P2M", True),  # --EVLINT looking back
        ("P", False),
        ("PT", False),
        ("P1DT", False),
        ("P1W2D", False),  # weeks stand alone
        ("P1.5DT2H", False),  # only the lowest-order component may have a fraction
        ("T8H", False),
        ("7D", False),
        ("P7d", False),
        ("P-7D", False),
        ("P0003-02-01", False),  # ISO alternative format not accepted
        ("+P7D", False),
    ],
)
def test_is_iso8601_duration(value: str, valid: bool) -> None:
    assert is_iso8601_duration(s(value)).tolist() == [valid]


def test_is_iso8601_duration_negative_switch_for_dur() -> None:
    values = s("-PT15M", "PT15M", None)
    assert is_iso8601_duration(values, allow_negative=False).tolist() == [False, True, True]


# --- precision, date and date-time ----------------------------------------------------------------


def test_dtc_precision_scale() -> None:
    values = s(None, "2024", "2024-03", "2024-03-05", "2024-03-05T14:30", "2024-03-05T14:30:15", "bad")
    assert dtc_precision(values).tolist() == [0, 1, 2, 3, 4, 5, 0]
    assert Precision.MINUTE == 4
    assert str(dtc_precision(values).dtype) == "int64"


def test_dtc_date_only_for_complete_dates() -> None:
    values = s("2024-03-05T14:30", "2024-03-05", "2024-03", None, "2024-02-30")
    out = dtc_date(values)
    assert str(out.dtype) == "datetime64[us]"
    assert out.tolist()[:2] == [ts("2024-03-05"), ts("2024-03-05")]
    assert out.isna().tolist() == [False, False, True, True, True]


def test_dtc_datetime_is_nat_without_a_time() -> None:
    # 2024-03-05 has an unknown time, not midnight.
    values = s("2024-03-05T14:30", "2024-03-05T14:30:15.25", "2024-03-05", "2024")
    out = dtc_datetime(values)
    assert out.tolist()[:2] == [ts("2024-03-05 14:30"), ts("2024-03-05 14:30:15.25")]
    assert out.isna().tolist() == [False, False, True, True]


# --- study day (SDTMIG 3.4 §4.4.4) ----------------------------------------------------------------


def test_study_day_hand_worked() -> None:
    # Infusion 2024-05-13 (D0 = day 1). D7 = 2024-05-20 → 20 - 13 + 1 = 8. The day before → -1 (no
    # day 0). The same day, whatever the time (23:00 is after the 10:00 infusion; 08:00 before) → 1.
    # D-5 lymphodepletion 2024-05-08 → 8 - 13 = -5.
    dtc = s("2024-05-20", "2024-05-12", "2024-05-13T23:00", "2024-05-13T08:00", "2024-05-08T09:00")
    out = study_day(dtc, s(*[RFSTDTC] * 5))
    assert str(out.dtype) == "Int64"
    assert out.tolist() == [8, -1, 1, 1, -5]


def test_study_day_missing_when_either_date_is_partial_or_missing() -> None:
    dtc = s("2024-05", "2024", None, "2024-05-20", "2024-05-20", "2024-02-30")
    ref = s(RFSTDTC, RFSTDTC, RFSTDTC, "2024-05", None, RFSTDTC)
    assert study_day(dtc, ref).isna().all()


def test_study_day_across_a_leap_day_and_a_year_end() -> None:
    # 2024-02-28 → 2024-03-01 is 2 days (29 Feb) → day 3; 2023-12-31 → 2024-01-01 → day 2.
    assert study_day(s("2024-03-01", "2024-01-01"), s("2024-02-28", "2023-12-31")).tolist() == [3, 2]


def test_study_day_aligns_the_reference_by_index_label() -> None:
    dtc = s("2024-05-20", "2024-05-12", index=[7, 3])
    ref = s(RFSTDTC, "2024-05-01", index=[3, 7])  # label 7 has reference 2024-05-01
    assert study_day(dtc, ref).tolist() == [20, -1]
    with pytest.raises(ValueError, match="ref_dtc"):
        study_day(dtc, s(RFSTDTC, RFSTDTC, index=[7, 7]))


# --- partial periods and the data cut ---------------------------------------------------------------


def test_earliest_and_latest_possible_of_partial_dates() -> None:
    values = s("2024-02", "2024", "2024-12", "2023-02", "2024-03-05T14:30", None)
    assert earliest_possible(values).tolist()[:5] == [
        ts("2024-02-01"),
        ts("2024-01-01"),
        ts("2024-12-01"),
        ts("2023-02-01"),
        ts("2024-03-05"),
    ]
    assert latest_possible(values).tolist()[:5] == [
        ts("2024-02-29"),
        ts("2024-12-31"),
        ts("2024-12-31"),
        ts("2023-02-28"),
        ts("2024-03-05"),
    ]
    assert pd.isna(earliest_possible(values).iloc[5]) and pd.isna(latest_possible(values).iloc[5])


def test_starts_after_the_data_cut_only_when_certain() -> None:
    # Cut 2026-03-31: April is wholly after; March may end on/before the cut; 2026 may be before it.
    values = s(
        "2026-04", "2026-03", "2026", "2027", "2026-04-01", "2026-03-31T23:00", "2026-03-31", None, "x"
    )
    assert starts_after(values, DATA_CUT).tolist() == [
        True,
        False,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_cap_dtc_caps_only_values_certainly_after_and_reports_them() -> None:
    values = s(
        "2026-04-02T10:00",
        "2026-03-31T18:00",
        "2026-03",
        "2026-05",
        "2025-12-01",
        None,
        index=[5, 6, 7, 8, 9, 4],
    )
    capped, changed = cap_dtc(values, DATA_CUT)
    assert capped.index.tolist() == [5, 6, 7, 8, 9, 4]
    assert capped.tolist()[:5] == ["2026-03-31", "2026-03-31T18:00", "2026-03", "2026-03-31", "2025-12-01"]
    assert pd.isna(capped.iloc[5])
    assert changed.tolist() == [True, False, False, True, False, False]
    assert values.tolist()[0] == "2026-04-02T10:00"  # the input is not changed


def test_dtc_min_and_max_row_wise_with_precision_tie_break() -> None:
    frame = pd.DataFrame(
        {
            "A": s("2024-03", "2024-03-05", None, "2024-03-05", "bad", "2024-03-05T00:00"),
            "B": s("2024-03-01", "2024-03", None, "2024-03-05T10:00", "2024-01-01", "2024-03-05"),
        }
    )
    # Row 0: same first day → the precise 2024-03-01 wins both ways. Row 1: 2024-03 can start
    # earlier (min), 2024-03-05 is later (max). Row 3: the date's earliest instant is midnight.
    # Row 4: invalid text is ignored. Row 5: the same instant → the more precise value.
    assert dtc_min(frame).tolist() == [
        "2024-03-01",
        "2024-03",
        np.nan,
        "2024-03-05",
        "2024-01-01",
        "2024-03-05T00:00",
    ]
    assert dtc_max(frame["A"], frame["B"]).tolist() == [
        "2024-03-01",
        "2024-03-05",
        np.nan,
        "2024-03-05T10:00",
        "2024-01-01",
        "2024-03-05T00:00",
    ]


def test_dtc_min_rejects_misaligned_columns() -> None:
    with pytest.raises(ValueError, match="index"):
        dtc_min(s("2024", index=[1]), s("2024", index=[2]))
    with pytest.raises(TypeError, match="values"):
        dtc_min(["2024"])  # type: ignore[arg-type]


# --- durations ------------------------------------------------------------------------------------


def test_elapsed_iso_duration_days_and_minutes() -> None:
    days = pd.Series([7, -7, 0, None, 28], dtype="Int64")
    assert elapsed_iso_duration(days).tolist()[:3] == ["P7D", "-P7D", "P0D"]
    assert pd.isna(elapsed_iso_duration(days).iloc[3])
    assert elapsed_iso_duration(pd.Series([15.0, -15.0]), unit="M").tolist() == ["PT15M", "-PT15M"]
    assert elapsed_iso_duration(pd.Series([8]), unit="H").tolist() == ["PT8H"]
    assert is_iso8601_duration(elapsed_iso_duration(days)).all()


def test_elapsed_iso_duration_refuses_fractions_and_text() -> None:
    with pytest.raises(ValueError, match="finer unit"):
        elapsed_iso_duration(pd.Series([0.5]))
    with pytest.raises(TypeError, match="values"):
        elapsed_iso_duration(s("7"))
    with pytest.raises(ValueError, match="unit"):
        elapsed_iso_duration(pd.Series([7]), unit="W")  # type: ignore[arg-type]


def test_iso_duration_to_days() -> None:
    values = s("P28D", "PT12H", "-PT15M", "P2W", "P1DT6H", "PT0,5H", "P1Y", "P0Y0M2D", "PT", None, "x")
    out = iso_duration_to_days(values)
    expected = [28.0, 0.5, -15 / 1440, 14.0, 1.25, 0.5 / 24, np.nan, 2.0, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(out.to_numpy(), expected)
    assert out.index.equals(values.index)


# --- scale ----------------------------------------------------------------------------------------


def test_two_million_rows_vectorised() -> None:
    n = 2_000_000
    minutes = np.datetime64("2024-05-01T00:00", "s") + np.arange(n).astype("timedelta64[m]")
    stamps = pd.Series(pd.array(pa.array(minutes).cast(pa.string()), dtype="str"))  # "2024-05-01 00:00:00"
    date, time = stamps.str.slice(0, 10), stamps.str.slice(11, 16)
    date.iloc[1] = "2024-05"  # a partial date among them
    dtc = to_dtc(date, time)
    assert dtc.iloc[0] == "2024-05-01T00:00" and dtc.iloc[1] == "2024-05"
    assert dtc.iloc[-1] == "2028-02-18T21:19"  # 1,999,999 minutes = 1388 days 21:19
    dy = study_day(dtc, pd.Series([RFSTDTC] * n, dtype="str"))
    # 2024-05-01 is 12 days before 2024-05-13 → -12; 2028-02-18 is 3 × 365 + 276 + 5 = 1376 days after
    # (2024-05-13 → 2027-05-13 → 2028-02-13 → 2028-02-18) → 1377.
    assert dy.iloc[0] == -12 and pd.isna(dy.iloc[1]) and dy.iloc[-1] == 1377
    assert is_iso8601_dtc(dtc).all()
    after = starts_after(dtc, DATA_CUT)
    assert after.iloc[-1] and not after.iloc[0]  # 2028-02-18 is after the cut, 2024-05-01 is not
    assert dtc_precision(dtc).iloc[:3].tolist() == [4, 2, 4]
