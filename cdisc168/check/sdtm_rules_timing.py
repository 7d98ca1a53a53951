"""Timing checks across datasets: --DY against DM.RFSTDTC, EPOCH against SE, visits against SV and TV,
and exposure within the subject's exposure period (DM.RFXSTDTC..RFXENDTC)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import (
    check,
    concat_failures,
    dataset_failure,
    display_value,
    failures_at,
    no_failures,
)
from cdisc168.check.sdtm_rules import (
    as_numbers,
    certainly_after,
    codes_in,
    column_dates,
    column_present,
    column_text,
    domain_of,
    observation_class,
    present,
    subject_dates,
    subject_positions,
    subject_values,
    text,
)
from cdisc168.check.submission import Submission

TIMED_CLASSES = ("Events", "Interventions", "Findings", "Findings About")
_DAY = np.timedelta64(1, "D")


def _day_pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(--DY, --DTC) pairs: every ``*DY`` column with a ``*DTC`` twin (--DY/--DTC, --STDY/--STDTC,
    --ENDY/--ENDTC); VISITDY is planned, not derived from a date, and is left out."""
    return [
        (c, f"{c[:-2]}DTC")
        for c in frame.columns
        if c.endswith("DY") and c != "VISITDY" and f"{c[:-2]}DTC" in frame.columns
    ]


def study_days(day: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Study day of complete dates: (date − RFSTDTC) + 1 on or after the reference day, (date − RFSTDTC)
    before it, no day 0 (SDTMIG 3.4 §4.4.4); NaN when either date is partial or missing."""
    delta = (day - reference) / _DAY
    return np.where(delta >= 0, delta + 1, delta)


@check("study_day")
def check_study_day(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """--DY is the study day of its --DTC counted from DM.RFSTDTC (SDTMIG 3.4 §4.4.4, no day 0); a --DY
    given where the date is partial or the subject has no RFSTDTC cannot be right either."""
    frame = submission.datasets[name]
    pairs = _day_pairs(frame)
    if "USUBJID" not in frame.columns or not pairs:
        return no_failures()
    reference = subject_dates(submission, name, "RFSTDTC").day
    found = []
    for day, dtc in pairs:
        given = as_numbers(frame[day])
        expected = study_days(column_dates(submission, name, dtc).day, reference)
        with np.errstate(invalid="ignore"):
            wrong = ~np.isnan(given) & ~(given == expected)
        hits = np.flatnonzero(wrong)
        rfstdtc = subject_values(submission, name, "RFSTDTC")[hits]
        message = [
            f"{day} should be {display_value(e)} from {dtc} and DM.RFSTDTC {display_value(r)}"
            if not np.isnan(e)
            else f"{day} is given but {dtc} or DM.RFSTDTC {display_value(r)} is not a complete date"
            for e, r in zip(expected[hits], rfstdtc, strict=True)
        ]
        found.append(failures_at(hits, variable=day, message=message))
    return concat_failures(found)


def _timing_columns(submission: Submission, name: str) -> list[str]:
    prefix = domain_of(submission, name)
    frame = submission.datasets[name]
    return [c for c in (f"{prefix}DTC", f"{prefix}STDTC") if c in frame.columns]


@check("epoch_present")
def check_epoch_present(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Events, Interventions and Findings datasets with timing (--DTC or --STDTC) carry EPOCH (SDTMIG 3.4
    §4.1.3.1; FDA TCG §4.1.4.1 asks for EPOCH in subject-level datasets)."""
    frame = submission.datasets[name]
    timed = observation_class(submission, name) in TIMED_CLASSES and _timing_columns(submission, name)
    if timed and "EPOCH" not in frame.columns:
        return dataset_failure(f"{name} has dates but no EPOCH", variable="EPOCH")
    return no_failures()


def _subject_days(subject: np.ndarray, day: np.ndarray) -> np.ndarray:
    """One sortable int64 per (subject, day): the subject's DM position above the day number (days since
    1970 fit in 2**20 either side); -1 where the subject or the day is unknown."""
    days = day.astype("datetime64[D]").astype(np.int64) + 2**20
    known = (subject >= 0) & ~np.isnat(day)
    return np.where(known, subject.astype(np.int64) * 2**22 + days, -1)


@check("epoch_matches_se")
def check_epoch_matches_se(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """EPOCH is the epoch of a SE element of the subject that spans the record's date (SDTMIG 3.4 §4.1.3.1,
    SE assumptions). Start and end days both count as inside, since on a transition day a record may
    belong to either element. Records with a partial date, or outside every element, are not judged.
    Subjects are identified by their DM record; elements are found by binary search over (subject,
    start day) keys, and epochs compared as codes, so no record is joined to its elements."""
    frame = submission.datasets[name]
    columns = _timing_columns(submission, name)
    se = submission.datasets["SE"]
    needed = {"USUBJID", "SESTDTC", "SEENDTC", "EPOCH"}
    if (
        name == "SE"
        or not {"EPOCH", "USUBJID"} <= set(frame.columns)
        or not columns
        or not needed <= set(se.columns)
    ):
        return no_failures()
    se_subjects = subject_positions(submission, "SE")
    start = _subject_days(se_subjects, column_dates(submission, "SE", "SESTDTC").day)
    end = _subject_days(se_subjects, column_dates(submission, "SE", "SEENDTC").day)
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    names = sorted(column_text(submission, "SE", "EPOCH").dropna().unique())
    epochs = codes_in(se["EPOCH"], names)[order]
    record = _subject_days(
        subject_positions(submission, name), column_dates(submission, name, columns[0]).day
    )
    epoch = codes_in(frame["EPOCH"], names)
    judged = (record >= 0) & column_present(submission, name, "EPOCH")
    # Elements starting on or before the day, latest first: the record must lie in one of the subject's
    # elements with its EPOCH; look back over as many elements as a subject has at most.
    last = np.searchsorted(start, record, side="right") - 1
    spanned = np.zeros(len(frame), dtype=bool)
    inside_any = np.zeros(len(frame), dtype=bool)
    subject = record >> 22
    most = int(np.unique(start >> 22, return_counts=True)[1].max()) if len(start) else 0
    for back in range(most):
        k = last - back
        valid = judged & (k >= 0)
        k = np.where(valid, k, 0)
        valid &= (start[k] >> 22) == subject
        inside = valid & ((record <= end[k]) | (end[k] < 0))
        inside_any |= inside
        spanned |= inside & (epochs[k] == epoch)
    hits = np.flatnonzero(inside_any & ~spanned)
    message = [
        f"EPOCH {e} is not the epoch of an SE element spanning {columns[0]} {d}"
        for e, d in zip(frame["EPOCH"].iloc[hits], frame[columns[0]].iloc[hits], strict=True)
    ]
    return failures_at(hits, variable="EPOCH", message=message)


def _first_of_pairs(frame: pd.DataFrame, columns: list[str], known: np.ndarray) -> np.ndarray:
    """Positions of the first record of each distinct combination of ``columns`` among ``known`` records."""
    positions = np.flatnonzero(known)
    return positions[~frame.iloc[positions].duplicated(subset=columns, keep="first").to_numpy()]


@check("visit_in_sv")
def check_visit_in_sv(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Every visit a subject has in a dataset is a record of SV (SDTMIG 3.4 SV assumptions: SV holds one
    record per subject per actual visit). One failure per missing (USUBJID, VISITNUM), at its first record."""
    frame = submission.datasets[name]
    sv = submission.datasets["SV"]
    if name == "SV" or not {"USUBJID", "VISITNUM"} <= set(frame.columns) or "VISITNUM" not in sv.columns:
        return no_failures()
    known = column_present(submission, name, "USUBJID") & column_present(submission, name, "VISITNUM")
    firsts = _first_of_pairs(frame, ["USUBJID", "VISITNUM"], known)
    pairs = pd.MultiIndex.from_arrays(
        [frame["USUBJID"].iloc[firsts].astype(object), as_numbers(frame["VISITNUM"].iloc[firsts])]
    )
    visits = pd.MultiIndex.from_arrays([sv["USUBJID"].astype(object), as_numbers(sv["VISITNUM"])])
    hits = firsts[~pairs.isin(visits)]
    message = [
        f"VISITNUM {display_value(v)} of the subject is not in SV" for v in frame["VISITNUM"].iloc[hits]
    ]
    return failures_at(hits, variable="VISITNUM", message=message)


def _unplanned(frame: pd.DataFrame) -> np.ndarray:
    """Unscheduled visits: VISIT names them so, or SV describes them (SVUPDES, SDTMIG 3.4 SV)."""
    unplanned = np.zeros(len(frame), dtype=bool)
    if "VISIT" in frame.columns:
        unplanned |= (
            text(frame["VISIT"])
            .str.upper()
            .str.contains("UNSCHED", regex=False)
            .to_numpy(dtype=bool, na_value=False)
        )
    if "SVUPDES" in frame.columns:
        unplanned |= present(frame["SVUPDES"])
    return unplanned


@check("visit_in_tv")
def check_visit_in_tv(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Every planned visit (VISITNUM of a scheduled visit) is a visit of TV (SDTMIG 3.4 TV: the planned
    visits); unscheduled visits are not in TV. One failure per VISITNUM, at its first record."""
    frame = submission.datasets[name]
    tv = submission.datasets["TV"]
    if name == "TV" or "VISITNUM" not in frame.columns or "VISITNUM" not in tv.columns:
        return no_failures()
    numbers = as_numbers(frame["VISITNUM"])
    candidates = ~np.isnan(numbers) & ~np.isin(numbers, as_numbers(tv["VISITNUM"])) & ~_unplanned(frame)
    firsts = _first_of_pairs(frame, ["VISITNUM"], candidates)
    message = [f"VISITNUM {display_value(v)} is not a planned visit of TV" for v in numbers[firsts]]
    return failures_at(firsts, variable="VISITNUM", message=message)


@check("within_reference_period")
def check_within_reference_period(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """``params.variable`` (EXSTDTC) lies within the subject's DM ``params.start``..``params.end``
    (RFXSTDTC..RFXENDTC: first and last study treatment exposure, SDTMIG 3.4 DM)."""
    frame = submission.datasets[name]
    variable, start, end = rule.params["variable"], rule.params["start"], rule.params["end"]
    if not {"USUBJID", variable} <= set(frame.columns):
        return no_failures()
    value = column_dates(submission, name, variable)
    outside = certainly_after(subject_dates(submission, name, start), value) | certainly_after(
        value, subject_dates(submission, name, end)
    )
    hits = np.flatnonzero(outside)
    first, last = subject_values(submission, name, start)[hits], subject_values(submission, name, end)[hits]
    message = [
        f"{variable} is outside DM {start}..{end} ({display_value(a)}..{display_value(b)})"
        for a, b in zip(first, last, strict=True)
    ]
    return failures_at(hits, variable=variable, message=message)
