"""Record-level rules of the raw input contract: keys, one record per subject, repeats, enrolment.

Implements the ``form`` and ``study`` scope rules of :mod:`cdisc168.raw.rules` (STUDY.md "Decisions
and corrections": the raw key of every form is (SITEID, SUBJID, FORMSEQ); repeated results are
warnings, not key errors):

==================  ======  ==========================================================================
rule                sev.    a record is reported when…
==================  ======  ==========================================================================
RAW-KEY             error   its (SITEID, SUBJID, FORMSEQ) was already used on an earlier line
RAW-ONE-PER-SUBJECT error   a one_per_subject form already has a record for its (SITEID, SUBJID)
RAW-REPEAT          warning its repeat_key values equal those of an earlier line (and it is no RAW-KEY)
RAW-ENROL           error   its (SITEID, SUBJID) has no enrol.csv record (one finding per form and
                            subject, on the subject's first line)
==================  ======  ==========================================================================

Records whose key values are missing or already failed a value rule are left out, so a problem is
reported once. Everything is vectorised (``duplicated``, merges); the findings list is built only for
the offending records.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cdisc168.findings import Finding
from cdisc168.raw.contracts import ROW
from cdisc168.raw.forms import KEY_COLUMNS, FormSpec
from cdisc168.raw.rules import raw_finding
from cdisc168.study import Study

SUBJECT_COLUMNS: tuple[str, ...] = ("SITEID", "SUBJID")
ENROL_FORM = "enrol"


def usable_records(
    frame: pd.DataFrame, columns: Sequence[str], failed: np.ndarray | None = None
) -> np.ndarray:
    """Records whose ``columns`` are all present and non-missing and that did not fail a value rule."""
    if any(c not in frame.columns for c in columns):
        return np.zeros(len(frame), dtype=bool)
    ok = frame[list(columns)].notna().all(axis=1).to_numpy()
    return ok & ~failed if failed is not None else ok


def check_form_keys(
    frame: pd.DataFrame, form: FormSpec, study: Study, failed: dict[str, np.ndarray] | None = None
) -> list[Finding]:
    """RAW-KEY, RAW-ONE-PER-SUBJECT and RAW-REPEAT on one form.

    ``frame`` needs the ``_ROW`` lineage column; ``failed`` maps a column to the records whose value in
    it already failed a value rule (see :class:`cdisc168.raw.contracts.ContractResult`).
    """
    failed = failed or {}

    def bad(columns: Sequence[str]) -> np.ndarray:
        return _failed_in(failed, columns, len(frame))

    findings: list[Finding] = []
    usable = usable_records(frame, KEY_COLUMNS, bad(KEY_COLUMNS))
    key_dup = _repeated(frame, usable, KEY_COLUMNS)
    findings += _findings(
        frame,
        key_dup,
        usable,
        KEY_COLUMNS,
        study,
        form,
        rule="RAW-KEY",
        message="duplicate record key (SITEID, SUBJID, FORMSEQ); first used on line {first}",
    )
    if form.one_per_subject:
        usable = usable_records(frame, SUBJECT_COLUMNS, bad(SUBJECT_COLUMNS)) & ~key_dup
        second = _repeated(frame, usable, SUBJECT_COLUMNS)
        findings += _findings(
            frame,
            second,
            usable,
            SUBJECT_COLUMNS,
            study,
            form,
            rule="RAW-ONE-PER-SUBJECT",
            message=f"a second {form.name} record for the subject; the form allows one per subject "
            "(first on line {first})",
        )
    if form.repeat_key:
        key = form.repeat_key
        usable = usable_records(frame, SUBJECT_COLUMNS, bad(key)) & ~key_dup
        repeat = _repeated(frame, usable, key)
        findings += _findings(
            frame,
            repeat,
            usable,
            key,
            study,
            form,
            rule="RAW-REPEAT",
            message="repeated result: same values as line {first} (kept; a warning, not a key error)",
        )
    return findings


def check_enrolment(
    frames: dict[str, pd.DataFrame],
    study: Study,
    failed: dict[str, dict[str, np.ndarray]] | None = None,
    enrol_form: str = ENROL_FORM,
) -> list[Finding]:
    """RAW-ENROL: every (SITEID, SUBJID) of every form must have a record in enrol.csv.

    One finding per form and subject not enrolled, on that subject's first line in the form. The rule
    is skipped when enrol.csv could not be loaded or lacks SITEID/SUBJID (already reported).
    ``frames`` need the ``_ROW`` lineage column; ``failed`` maps form → column → records that already
    failed a value rule (their subject is not judged again).
    """
    failed = failed or {}
    enrol = frames.get(enrol_form)
    if enrol is None or any(c not in enrol.columns for c in SUBJECT_COLUMNS):
        return []
    enrolled = pd.MultiIndex.from_frame(
        enrol.loc[usable_records(enrol, SUBJECT_COLUMNS), list(SUBJECT_COLUMNS)]
    )
    findings: list[Finding] = []
    for name, frame in frames.items():
        if name == enrol_form or any(c not in frame.columns for c in SUBJECT_COLUMNS):
            continue
        prior = _failed_in(failed.get(name, {}), SUBJECT_COLUMNS, len(frame))
        subjects = frame.loc[usable_records(frame, SUBJECT_COLUMNS, prior), [*SUBJECT_COLUMNS, ROW]]
        known = pd.MultiIndex.from_frame(subjects[list(SUBJECT_COLUMNS)]).isin(enrolled)
        if known.all():
            continue
        missing = (
            subjects[~known]
            .groupby(list(SUBJECT_COLUMNS), sort=False)
            .agg(first=(ROW, "min"), n=(ROW, "size"))
            .reset_index()
            .sort_values("first")
        )
        file = f"{name}.csv"
        for site, subj, first, n in zip(
            missing["SITEID"], missing["SUBJID"], missing["first"], missing["n"], strict=True
        ):
            findings.append(
                raw_finding(
                    "RAW-ENROL",
                    f"subject {site}/{subj} is not in {enrol_form}.csv ({n} record(s) in {file}, "
                    f"first on line {first})",
                    dataset=file,
                    row=int(first),
                    variable="SUBJID",
                    value=str(subj),
                    usubjid=f"{study.studyid}-{site}-{subj}",
                )
            )
    return findings


def _failed_in(failed: dict[str, np.ndarray], columns: Sequence[str], n: int) -> np.ndarray:
    """Records whose value in any of ``columns`` already failed a value rule."""
    mask = np.zeros(n, dtype=bool)
    for column in columns:
        if column in failed:
            mask |= failed[column]
    return mask


def _repeated(frame: pd.DataFrame, usable: np.ndarray, columns: Sequence[str]) -> np.ndarray:
    """Records (among ``usable``) whose ``columns`` repeat an earlier usable record's values."""
    mask = np.zeros(len(frame), dtype=bool)
    if not usable.any() or any(c not in frame.columns for c in columns):
        return mask
    subset = frame.loc[usable, list(columns)]
    mask[np.flatnonzero(usable)[subset.duplicated(keep="first").to_numpy()]] = True
    return mask


def _findings(
    frame: pd.DataFrame,
    hits: np.ndarray,
    usable: np.ndarray,
    columns: Sequence[str],
    study: Study,
    form: FormSpec,
    *,
    rule: str,
    message: str,
) -> list[Finding]:
    """One finding per hit record naming its key values and the line of the first record with them."""
    if not hits.any():
        return []
    cols = list(columns)
    repeats = frame.loc[hits, [*cols, ROW, *[c for c in SUBJECT_COLUMNS if c not in cols]]]
    firsts = (
        frame.loc[usable & ~hits, [*cols, ROW]]
        .merge(repeats[cols].drop_duplicates(), on=cols, how="inner")
        .drop_duplicates(cols)
        .rename(columns={ROW: "_FIRST"})
    )
    repeats = repeats.merge(firsts, on=cols, how="left")
    keys = [
        "(" + ", ".join("" if pd.isna(v) else str(v) for v in values) + ")"
        for values in zip(*(repeats[c].tolist() for c in cols), strict=True)
    ]
    return [
        raw_finding(
            rule,
            message.format(key=key, first=_as_int(first)),
            dataset=form.file,
            row=int(row),
            variable=", ".join(cols),
            value=key,
            usubjid=f"{study.studyid}-{site}-{subj}",
        )
        for key, first, row, site, subj in zip(
            keys,
            repeats["_FIRST"].tolist(),
            repeats[ROW].tolist(),
            repeats["SITEID"].tolist(),
            repeats["SUBJID"].tolist(),
            strict=True,
        )
    ]


def _as_int(value: object) -> str:
    return "?" if value is None or pd.isna(value) else str(int(value))  # type: ignore[call-overload]
