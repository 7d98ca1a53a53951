"""Checks of Findings results: units, standardized results, reference range indicators and the lower
limit of quantitation (SDTMIG 3.4 §6.3, Findings class assumptions; PC and IS domain assumptions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import check, dataset_failure, display_value, failures_at, no_failures
from cdisc168.check.sdtm_rules import (
    as_numbers,
    codes_in,
    column_text,
    domain_of,
    ig_variables,
    judged_on_distinct,
    present,
    text,
)
from cdisc168.check.submission import Submission

NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
INDICATORS = ("LOW", "NORMAL", "HIGH")
INDICATORS_BY_CODE = np.array(INDICATORS, dtype=object)
BELOW_LIMIT = r"^\s*<|BLQ|BLOQ|BELOW|<\s*LLOQ"


def _columns(submission: Submission, name: str, *suffixes: str) -> list[str] | None:
    """The domain's ``--suffix`` columns, or None when one of them is not in the dataset."""
    prefix = domain_of(submission, name)
    frame = submission.datasets[name]
    columns = [f"{prefix}{s}" for s in suffixes]
    return columns if set(columns) <= set(frame.columns) else None


@check("orres_unit")
def check_orres_unit(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """A result with a number in it has --ORRESU when its test has units elsewhere (any other record of the
    same --TESTCD gives a unit): SDTMIG 3.4 Findings assumptions, --ORRESU "original units"."""
    columns = _columns(submission, name, "TESTCD", "ORRES", "ORRESU")
    if columns is None:
        return no_failures()
    frame = submission.datasets[name]
    testcd, orres, unit = columns
    has_unit = present(frame[unit])
    tests_with_units = pd.unique(frame[testcd].to_numpy()[has_unit])
    numeric = judged_on_distinct(
        frame[orres],
        lambda v: text(v).str.contains(r"[0-9]", regex=True).to_numpy(dtype=bool, na_value=False),
    )
    missing = numeric & ~has_unit & frame[testcd].isin(tests_with_units).to_numpy(dtype=bool)
    hits = np.flatnonzero(missing)
    message = [
        f"{orres} has no unit although {t} has units in other records" for t in frame[testcd].iloc[hits]
    ]
    return failures_at(hits, variable=unit, message=message)


@check("stresn_matches_stresc")
def check_stresn_matches_stresc(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """--STRESN is the number --STRESC spells when --STRESC is numeric, and is missing otherwise (SDTMIG
    3.4 Findings assumptions: --STRESN "copied in numeric format from --STRESC")."""
    columns = _columns(submission, name, "STRESC", "STRESN")
    if columns is None:
        return no_failures()
    frame = submission.datasets[name]
    stresc, stresn = columns
    words = pa.array(column_text(submission, name, stresc).array)
    numeric = pc.fill_null(pc.match_substring_regex(words, NUMBER), False)
    spelled = pc.cast(pc.if_else(numeric, words, pa.scalar(None, words.type)), pa.float64())
    spelled = spelled.to_numpy(zero_copy_only=False).astype("float64")
    given = as_numbers(frame[stresn])
    with np.errstate(invalid="ignore"):
        agree = np.isclose(given, spelled, rtol=1e-9, atol=0.0) | (np.isnan(given) & np.isnan(spelled))
    hits = np.flatnonzero(~agree)
    message = [
        f"{stresn} {display_value(n)} is not the number of {stresc} {display_value(c)}"
        for n, c in zip(given[hits], frame[stresc].iloc[hits], strict=True)
    ]
    return failures_at(hits, variable=stresn, message=message)


@check("nrind_consistent")
def check_nrind_consistent(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """--NRIND LOW / NORMAL / HIGH agrees with --STRESN against --STNRLO/--STNRHI (SDTMIG 3.4 Findings
    assumptions: the indicator states where the result lies relative to the normal range). Other
    indicators (ABNORMAL, sponsor terms) and results without a numeric range are not judged."""
    columns = _columns(submission, name, "NRIND", "STRESN")
    if columns is None:
        return no_failures()
    frame = submission.datasets[name]
    nrind, stresn = columns
    prefix = domain_of(submission, name)
    value = as_numbers(frame[stresn])
    low = (
        as_numbers(frame[f"{prefix}STNRLO"])
        if f"{prefix}STNRLO" in frame.columns
        else np.full(len(frame), np.nan)
    )
    high = (
        as_numbers(frame[f"{prefix}STNRHI"])
        if f"{prefix}STNRHI" in frame.columns
        else np.full(len(frame), np.nan)
    )
    with np.errstate(invalid="ignore"):
        below, above = value < low, value > high
        judged = ~np.isnan(value) & (~np.isnan(low) | ~np.isnan(high))
    expected = np.where(below, 0, np.where(above, 2, 1))
    given = codes_in(frame[nrind], INDICATORS)
    wrong = judged & (given >= 0) & (given != expected)
    hits = np.flatnonzero(wrong)
    message = [
        f"{nrind} should be {e}: {stresn} {display_value(v)}, range {display_value(lo)}-{display_value(hi)}"
        for e, v, lo, hi in zip(
            INDICATORS_BY_CODE[expected[hits]], value[hits], low[hits], high[hits], strict=True
        )
    ]
    return failures_at(hits, variable=nrind, message=message)


@check("lloq_for_below_limit")
def check_lloq_for_below_limit(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """A result reported below the limit of quantitation ("<0.1", "BLQ") has --LLOQ, in the domains that
    define --LLOQ (SDTMIG 3.4: PC, IS, MS, GF; PC assumption on results below the LLOQ)."""
    prefix = domain_of(submission, name)
    lloq = f"{prefix}LLOQ"
    if lloq not in {v.name for v in ig_variables(submission, name)}:
        return no_failures()
    columns = _columns(submission, name, "STRESC") or _columns(submission, name, "ORRES")
    if columns is None:
        return no_failures()
    frame = submission.datasets[name]
    below = text(frame[columns[0]]).str.upper().str.contains(BELOW_LIMIT, regex=True)
    below = below.to_numpy(dtype=bool, na_value=False)
    if lloq not in frame.columns:
        return (
            dataset_failure(f"results below the limit of quantitation but no {lloq}", variable=lloq)
            if below.any()
            else no_failures()
        )
    return failures_at(np.flatnonzero(below & ~present(frame[lloq])), variable=lloq)
