"""Shared helpers for the tests that check datasets against the built-in fixture's raw CSVs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cdisc168.study import load_study

RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()


def raw(form: str) -> pd.DataFrame:
    """A raw fixture form as collected text."""
    return pd.read_csv(RAW / f"{form}.csv", dtype=str, keep_default_na=False)


def subject(site: str, subjid: str) -> str:
    """USUBJID of a fixture subject."""
    return f"{STUDY.studyid}-{site}-{subjid}"


def records(frame: pd.DataFrame, usubjid: str, **where: object) -> pd.DataFrame:
    """The subject's records whose columns equal the given values."""
    mask = frame["USUBJID"] == usubjid
    for column, value in where.items():
        mask &= frame[column] == value
    return frame[mask]


def one(frame: pd.DataFrame, usubjid: str, **where: object) -> pd.Series:
    """The single record matching; fails loudly when there is not exactly one."""
    found = records(frame, usubjid, **where)
    assert len(found) == 1, f"{usubjid} {where}: {len(found)} records"
    return found.iloc[0]
