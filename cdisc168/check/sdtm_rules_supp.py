"""Checks of supplemental qualifiers (SUPP--, SDTMIG 3.4 §8.4).

A combined ``SUPPQUAL`` dataset (one dataset for every parent domain, as older submissions have it) is
judged like the split ones: each record's parent domain is its RDOMAIN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.check import predicates as p
from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import check, concat_failures, failures_at, no_failures
from cdisc168.check.sdtm_rules import as_numbers, domain_of, is_supp, present, text
from cdisc168.check.submission import Submission

MAX_QLABEL = 40
SUPP_KEYS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")


def _as_keys(values: pd.Series, numeric: bool) -> pd.Series:
    """Values to compare with IDVARVAL: numbers when the parent variable is numeric (IDVARVAL "1" and
    AESEQ 1.0 are the same record), stripped text otherwise (missing stays missing)."""
    return pd.Series(as_numbers(values)) if numeric else text(values).reset_index(drop=True)


def _codes(parts: list[pd.Series]) -> tuple[np.ndarray, int]:
    """Factorize the concatenated ``parts`` (pyarrow strings and floats factorize without Python objects):
    (code per value, -1 where missing; number of distinct values)."""
    codes, uniques = pd.factorize(
        pd.concat([part.reset_index(drop=True) for part in parts], ignore_index=True)
    )
    return codes.astype(np.int64), len(uniques)


def parent_datasets(submission: Submission, domain: str) -> list[str]:
    """The datasets holding ``domain`` (the domain itself and its split datasets, e.g. QS, QSCG)."""
    return [n for n in submission.names("SDTM") if not is_supp(n) and domain_of(submission, n) == domain]


def _has_parent(
    submission: Submission, parents: list[str], idvar: str, subjects: pd.Series, values: pd.Series
) -> np.ndarray:
    """True where (USUBJID, IDVARVAL) is (USUBJID, ``idvar``) of a record of the parent datasets. Both
    sides are factorized together, so the pairs compare as int64 codes."""
    frames = [
        submission.datasets[n] for n in parents if {"USUBJID", idvar} <= set(submission.datasets[n].columns)
    ]
    if not frames:
        return np.zeros(len(subjects), dtype=bool)
    numeric = all(pd.api.types.is_numeric_dtype(f[idvar].dtype) for f in frames)
    subject_codes, _ = _codes([*(f["USUBJID"] for f in frames), subjects])
    value_codes, distinct = _codes(
        [*(_as_keys(f[idvar], numeric) for f in frames), _as_keys(values, numeric)]
    )
    keys = subject_codes * (distinct + 1) + value_codes
    known = (subject_codes >= 0) & (value_codes >= 0)
    parent = sum(len(f) for f in frames)
    return np.isin(keys[parent:], keys[:parent][known[:parent]]) & known[parent:]


@check("supp_parent")
def check_supp_parent(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Each SUPP-- record points to a parent record: RDOMAIN is a dataset of the submission, USUBJID a
    subject of it and, when IDVAR is given, IDVAR a variable of it whose value IDVARVAL is on a record of
    that subject (SDTMIG 3.4 §8.4.1)."""
    frame = submission.datasets[name]
    if not {"RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"} <= set(frame.columns):
        return no_failures()
    rdomain, idvar = text(frame["RDOMAIN"]).fillna(""), text(frame["IDVAR"]).fillna("")
    usubjid = frame["USUBJID"]
    found = []
    for (domain, variable), group in frame.groupby([rdomain, idvar], sort=True).indices.items():
        parents = parent_datasets(submission, domain)
        positions = np.asarray(group, dtype=np.int64)
        if not parents:
            message = f"RDOMAIN {domain!r} is not a dataset of the submission"
            found.append(failures_at(positions, variable="RDOMAIN", message=message))
            continue
        if variable and not any(variable in submission.datasets[n].columns for n in parents):
            message = f"IDVAR {variable} is not a variable of {domain}"
            found.append(failures_at(positions, variable="IDVAR", message=message))
            continue
        if variable:
            known = _has_parent(
                submission, parents, variable, usubjid.iloc[positions], frame["IDVARVAL"].iloc[positions]
            )
            message = f"no {domain} record of the subject has {variable} = IDVARVAL"
            found.append(failures_at(positions[~known], variable="IDVARVAL", message=message))
        else:
            subjects = pd.concat([submission.datasets[n]["USUBJID"].astype(object) for n in parents])
            known = usubjid.iloc[positions].isin(subjects).to_numpy()
            message = f"USUBJID has no {domain} record"
            found.append(failures_at(positions[~known], variable="USUBJID", message=message))
    return concat_failures(found)


@check("supp_qnam_unique")
def check_supp_qnam_unique(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """QNAM is unique per parent record: no two records share STUDYID, RDOMAIN, USUBJID, IDVAR, IDVARVAL
    and QNAM (SDTMIG 3.4 §8.4.1, the natural key of SUPP--)."""
    frame = submission.datasets[name]
    keys = [c for c in SUPP_KEYS if c in frame.columns]
    if "QNAM" not in keys:
        return no_failures()
    table = pd.DataFrame({c: text(frame[c]).astype(object).to_numpy() for c in keys})
    repeated = table.duplicated(keep="first").to_numpy() & present(frame["QNAM"])
    return failures_at(np.flatnonzero(repeated), variable="QNAM")


@check("supp_qnam_qlabel")
def check_supp_qnam_qlabel(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """QNAM is 1-8 letters, digits or underscores not starting with a digit, and QLABEL at most 40
    characters (SDTMIG 3.4 §8.4.1; they become variable names and labels when transposed)."""
    frame = submission.datasets[name]
    found = []
    if "QNAM" in frame.columns:
        bad = ~p.compute_matches(frame["QNAM"], p.QNAM_PATTERN).to_numpy(dtype=bool)
        found.append(failures_at(np.flatnonzero(bad), variable="QNAM"))
    if "QLABEL" in frame.columns:
        long = ~p.compute_max_length(frame["QLABEL"], MAX_QLABEL).to_numpy(dtype=bool)
        found.append(failures_at(np.flatnonzero(long), variable="QLABEL", message="QLABEL is longer than 40"))
    return concat_failures(found)
