"""Record-level SDTM checks that hold in every domain: ISO 8601 dates and durations, --SEQ uniqueness,
duplicate records, start before end, and one VISIT per VISITNUM."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.check import predicates as p
from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import (
    check,
    concat_failures,
    display_value,
    failures_at,
    failures_where,
    no_failures,
)
from cdisc168.check.sdtm_rules import (
    certainly_after,
    column_dates,
    column_present,
    domain_of,
    is_supp,
    present,
)
from cdisc168.check.submission import Submission

DURATION_SUFFIXES: dict[str, bool] = {"DUR": False, "ELTM": True, "EVLINT": True}
"""Duration variables by suffix, and whether a leading minus is allowed (SDTMIG 3.4 §4.4.3, §4.4.10)."""

_KEY_SUFFIXES = ("TESTCD", "TERM", "TRT", "DECOD", "DTC", "STDTC", "TPTNUM", "ORRES")


def _char_columns(frame: pd.DataFrame, suffix: str) -> list[str]:
    return [
        c for c in frame.columns if c.endswith(suffix) and not pd.api.types.is_numeric_dtype(frame[c].dtype)
    ]


@check("iso8601_dtc")
def check_iso8601_dtc(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Every ``*DTC`` value (--DTC, --STDTC, --ENDTC, RFSTDTC, ...) is an ISO 8601 date/time in the extended
    format with right truncation only (SDTMIG 3.4 §4.4.1-§4.4.2)."""
    frame = submission.datasets[name]
    found = []
    for column in _char_columns(frame, "DTC"):
        unknown = np.isnat(column_dates(submission, name, column).first)
        found.append(failures_where(unknown & column_present(submission, name, column), variable=column))
    return concat_failures(found)


@check("iso8601_duration")
def check_iso8601_duration(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """--DUR is an ISO 8601 duration (PnYnMnDTnHnMnS or PnW, not negative); --ELTM and --EVLINT are
    durations that may be negative (SDTMIG 3.4 §4.4.3, §4.4.10)."""
    frame = submission.datasets[name]
    found = []
    for suffix, negative in DURATION_SUFFIXES.items():
        for column in _char_columns(frame, suffix):
            ok = p.compute_is_duration(frame[column], allow_negative=negative)
            found.append(failures_where(~ok, variable=column))
    return concat_failures(found)


def _seq_column(submission: Submission, name: str) -> str | None:
    column = f"{domain_of(submission, name)}SEQ"
    return column if column in submission.datasets[name].columns else None


@check("seq_unique")
def check_seq_unique(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """--SEQ is unique within USUBJID, or within POOLID for pooled records (SDTMIG 3.4 §4.1.2.3: a
    sequence number that uniquely identifies a record within a subject)."""
    frame = submission.datasets[name]
    seq = _seq_column(submission, name)
    if seq is None or is_supp(name):
        return no_failures()
    owner = frame["USUBJID"] if "USUBJID" in frame.columns else pd.Series(np.nan, index=frame.index)
    if "POOLID" in frame.columns:
        owner = owner.where(present(owner), "POOL:" + frame["POOLID"].astype("str"))
    keys = pd.DataFrame({"owner": pd.factorize(owner)[0], "seq": pd.factorize(frame[seq])[0]})
    repeated = (
        keys.duplicated(keep="first").to_numpy() & column_present(submission, name, seq) & present(owner)
    )
    return failures_where(repeated, variable=seq)


@check("duplicate_records")
def check_duplicate_records(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """No record repeats another in every variable but --SEQ (SDTMIG 3.4 §4.1.2.3; a repeated observation
    is usually a mapping or data entry error). Candidates are found on a few columns first, so only
    records that may be duplicates are compared in full."""
    frame = submission.datasets[name]
    seq = _seq_column(submission, name)
    columns = [c for c in frame.columns if c != seq]
    if not columns:
        return no_failures()
    prefix = domain_of(submission, name)
    keys = ("USUBJID", *(f"{prefix}{s}" for s in _KEY_SUFFIXES), "VISITNUM", "QNAM", "IDVARVAL")
    first = [c for c in keys if c in columns] or columns[:1]
    candidates = frame.duplicated(subset=first, keep=False).to_numpy()
    if not candidates.any():
        return no_failures()
    subset = frame.loc[candidates, columns]
    repeated = np.zeros(len(frame), dtype=bool)
    repeated[np.flatnonzero(candidates)] = subset.astype(object).duplicated(keep="first").to_numpy()
    message = "record repeats an earlier record in every variable but --SEQ"
    return failures_where(repeated, message=message)


def _date_pairs(submission: Submission, rule: RuleDef, name: str) -> list[tuple[str, str]]:
    """(start, end) --DTC pairs: ``params.pairs`` if given, else --STDTC/--ENDTC of the domain."""
    frame = submission.datasets[name]
    given = rule.params.get("pairs")
    if given:
        pairs = [(str(a), str(b)) for a, b in given]
    else:
        prefix = domain_of(submission, name)
        pairs = [(f"{prefix}STDTC", f"{prefix}ENDTC")]
    return [(a, b) for a, b in pairs if a in frame.columns and b in frame.columns]


@check("start_before_end")
def check_start_before_end(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """The start date/time is not after the end date/time (SDTMIG 3.4 §4.4.8; partial dates compared
    at the precision both share, so only a certain inversion is reported)."""
    frame = submission.datasets[name]
    found = []
    for start, end in _date_pairs(submission, rule, name):
        after = certainly_after(column_dates(submission, name, start), column_dates(submission, name, end))
        hits = np.flatnonzero(after)
        ends = frame[end].iloc[hits].astype(object).tolist()
        message = [f"{start} is after {end} {e}" for e in ends]
        found.append(failures_at(hits, variable=start, message=message))
    return concat_failures(found)


@check("visit_one_to_one")
def check_visit_one_to_one(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """VISITNUM and VISIT are one-to-one within the dataset (SDTMIG 3.4 §4.4.5: each visit has one number
    and one name). One failure per conflicting (VISITNUM, VISIT) pair, at its first record."""
    frame = submission.datasets[name]
    if not {"VISITNUM", "VISIT"} <= set(frame.columns):
        return no_failures()
    pairs = pd.DataFrame({"num": pd.factorize(frame["VISITNUM"])[0], "name": pd.factorize(frame["VISIT"])[0]})
    known = column_present(submission, name, "VISITNUM") & column_present(submission, name, "VISIT")
    first = ~pairs.duplicated(keep="first").to_numpy() & known
    distinct = pairs[first]
    names_per_num = distinct.groupby("num")["name"].transform("size")
    nums_per_name = distinct.groupby("name")["num"].transform("size")
    conflicts = np.flatnonzero(first)[((names_per_num > 1) | (nums_per_name > 1)).to_numpy()]
    numbers = [display_value(v) for v in frame["VISITNUM"].iloc[conflicts]]
    message = [f"VISITNUM {n} and VISIT are not one-to-one in the dataset" for n in numbers]
    return failures_at(conflicts, variable="VISIT", message=message)
