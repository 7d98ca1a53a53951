"""SDTM derivations shared by every domain (the ``derive:`` rules of the specs), vectorised.

Each function takes frames and column names and returns new values; none mutates its inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.sdtm import dates
from cdisc168.study import Study


def derive_usubjid(siteid: pd.Series, subjid: pd.Series, studyid: str) -> pd.Series:
    """USUBJID = STUDYID-SITEID-SUBJID (STUDY.md §0; SDTMIG 3.4 §4.1.2.1: unique across the submission)."""
    return (studyid + "-" + siteid.astype(str) + "-" + subjid.astype(str)).astype("object")


def derive_seq(frame: pd.DataFrame, keys: list[str], usubjid: str = "USUBJID") -> pd.Series:
    """--SEQ: 1..n within USUBJID in the order of the dataset's natural keys (SDTMIG 3.4 §4.1.2.2).

    Sorting is stable (mergesort) and missing key values sort last, so the numbering is deterministic.
    """
    order = frame.sort_values([usubjid, *keys], kind="mergesort", na_position="last").index
    seq = pd.Series(np.arange(len(order), dtype="float64"), index=order)
    starts = frame.loc[order, usubjid].ne(frame.loc[order, usubjid].shift()).cumsum()
    first = seq.groupby(starts.to_numpy()).transform("min")
    return (seq - first + 1).reindex(frame.index)


def derive_dy(dtc: pd.Series, usubjid: pd.Series, rfstdtc: pd.Series) -> pd.Series:
    """--DY relative to the subject's RFSTDTC, no day 0 (SDTMIG 3.4 §4.4.4).

    ``rfstdtc`` is indexed by USUBJID. Missing when either date is partial or missing.
    """
    reference = usubjid.map(rfstdtc)
    return dates.study_day(dtc, reference).astype("Float64").astype("float64")


def derive_epoch(dtc: pd.Series, usubjid: pd.Series, elements: pd.DataFrame) -> pd.Series:
    """EPOCH from the subject's elements (SE): the epoch of the element whose [SESTDTC, SEENDTC) holds
    the record's date (SDTMIG 3.4 §4.1.3.1 and SE assumptions).

    Comparison is on dates; a record on the last element's end date belongs to that element. Records
    before the first element (e.g. prior medications) or with a partial/missing date get no EPOCH.
    """
    day = dates.dtc_date(dtc)
    records = pd.DataFrame({"USUBJID": usubjid.to_numpy(), "_DAY": day.to_numpy(), "_I": np.arange(len(dtc))})
    records = records.dropna(subset=["_DAY"]).sort_values("_DAY", kind="mergesort")
    se = pd.DataFrame(
        {
            "USUBJID": elements["USUBJID"].to_numpy(),
            "_START": dates.dtc_date(elements["SESTDTC"]).to_numpy(),
            "_END": dates.dtc_date(elements["SEENDTC"]).to_numpy(),
            "EPOCH": elements["EPOCH"].to_numpy(),
        }
    ).dropna(subset=["_START"])
    se = se.sort_values("_START", kind="mergesort")
    matched = pd.merge_asof(
        records, se, left_on="_DAY", right_on="_START", by="USUBJID", direction="backward"
    )
    last_end = se.groupby("USUBJID")["_END"].max()
    beyond = matched["_DAY"] > matched["USUBJID"].map(last_end)
    epoch = matched["EPOCH"].where(~beyond.fillna(False))
    out = pd.Series(None, index=range(len(dtc)), dtype="object")
    out.iloc[matched["_I"].to_numpy()] = epoch.to_numpy()
    out.index = dtc.index
    return out


def build_visit_calendar(records: pd.DataFrame, study: Study) -> pd.DataFrame:
    """VISITNUM/VISIT/VISITDY for every (USUBJID, raw VISIT, date) a subject attended.

    Scheduled visits take VISITNUM and VISITDY from study.yaml (VISITDY = planned study day, no day 0).
    Unscheduled visits are numbered from the previous scheduled visit attended, by date: previous
    VISITNUM + .01, .02 … per distinct unscheduled date (STUDY.md "Decisions"), and named
    ``UNSCHEDULED <VISITNUM>`` so that VISIT and VISITNUM stay one-to-one.

    ``records`` has USUBJID, VISIT (raw) and _DATE (datetime64). Returns one row per distinct
    (USUBJID, VISIT raw, _DATE) with VISITNUM, VISIT_SDTM and VISITDY.
    """
    scheduled = {v.visit: v for v in (*study.visits, study.early_termination_visit)}
    cal = records[["USUBJID", "VISIT", "_DATE"]].dropna(subset=["VISIT"]).drop_duplicates()
    # A scheduled visit on the same day as an unscheduled one comes first (it is "previous").
    cal = cal.assign(_U=cal["VISIT"] == study.unscheduled_visit)
    cal = cal.sort_values(["USUBJID", "_DATE", "_U", "VISIT"], kind="mergesort").reset_index(drop=True)
    is_unscheduled = cal.pop("_U")
    cal["VISITNUM"] = cal["VISIT"].map({k: v.visitnum for k, v in scheduled.items()}).astype("float64")
    cal["VISITDY"] = cal["VISIT"].map({v.visit: float(v.visitdy) for v in study.visits}).astype("float64")
    previous = cal["VISITNUM"].where(~is_unscheduled).groupby(cal["USUBJID"]).ffill().fillna(0.0)
    unsched = cal[is_unscheduled].copy()
    unsched["_BASE"] = previous[is_unscheduled]
    unsched = unsched.drop_duplicates(["USUBJID", "_DATE"])
    unsched["_K"] = unsched.groupby(["USUBJID", "_BASE"]).cumcount() + 1
    unsched["_NUM"] = (unsched["_BASE"] + unsched["_K"] / 100).round(2)
    cal = cal.merge(unsched[["USUBJID", "_DATE", "_NUM"]], on=["USUBJID", "_DATE"], how="left")
    cal.loc[is_unscheduled.to_numpy(), "VISITNUM"] = cal.loc[is_unscheduled.to_numpy(), "_NUM"]
    cal["VISIT_SDTM"] = cal["VISIT"].where(
        ~is_unscheduled.to_numpy(), "UNSCHEDULED " + cal["VISITNUM"].map("{:.2f}".format)
    )
    return cal.drop(columns="_NUM")


def derive_lobxfl(
    frame: pd.DataFrame,
    by: list[str],
    dtc: str,
    result: str,
    rfxstdtc: pd.Series,
    usubjid: str = "USUBJID",
) -> pd.Series:
    """--LOBXFL = "Y" on the last record with a non-missing result on or before first exposure
    (RFXSTDTC, the first lymphodepletion dose), per subject and test (SDTMIG 3.4 §4.1.3.3, STUDY.md).

    A record dated the same day as RFXSTDTC without a time counts as before exposure only when
    RFXSTDTC has a time later than... the record has no time, so it is compared by date (same day =
    on or before). Partial dates are not eligible.
    """
    ref = frame[usubjid].map(rfxstdtc)
    rec_dt = dates.dtc_datetime(frame[dtc])
    ref_dt = dates.dtc_datetime(ref)
    rec_day = dates.dtc_date(frame[dtc])
    ref_day = dates.dtc_date(ref)
    both_times = rec_dt.notna() & ref_dt.notna()
    before = np.where(both_times, rec_dt <= ref_dt, rec_day <= ref_day)
    has_result = frame[result].notna() & frame[result].astype("string").str.strip().ne("").fillna(False)
    eligible = pd.Series(before, index=frame.index).fillna(False).astype(bool) & has_result & rec_day.notna()
    candidates = frame.loc[eligible, [usubjid, *by]].assign(_T=rec_dt.fillna(rec_day)[eligible])
    if candidates.empty:
        return pd.Series(None, index=frame.index, dtype="object")
    last = candidates.sort_values("_T", kind="mergesort").groupby([usubjid, *by], dropna=False).tail(1).index
    flag = pd.Series(None, index=frame.index, dtype="object")
    flag.loc[last] = "Y"
    return flag
