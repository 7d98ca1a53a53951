"""CTCAE v5.0 laboratory grading: the criteria as data and a vectorised grader (ADLB ATOXGR).

Source: Common Terminology Criteria for Adverse Events (CTCAE) Version 5.0, U.S. Department of Health
and Human Services, National Institutes of Health, National Cancer Institute, published 27 November
2017 (SI units). Each lab term is a list of rules ``(grade, reference, factor)``; a value meets a rule
when it is beyond ``factor × reference`` in the term's direction:

==========================  ===========  ======================================================  =====
term (CTCAE v5.0)           direction    grade 1 / 2 / 3 / 4                                     unit
==========================  ===========  ======================================================  =====
Neutrophil count decreased  low          <LLN / <1.5 / <1.0 / <0.5                               10^9/L
Platelet count decreased    low          <LLN / <75 / <50 / <25                                  10^9/L
Anemia                      low          <LLN / <100 / <80 (grade 4 is clinical, not a value)    g/L
Lymphocyte count decreased  low          <LLN / <0.8 / <0.5 / <0.2                               10^9/L
White blood cell decreased  low          <LLN / <3.0 / <2.0 / <1.0                               10^9/L
ALT / AST increased         high         baseline normal: >ULN / >3.0 / >5.0 / >20.0 × ULN;
                                         baseline abnormal: ≥1.5 / >3.0 / >5.0 / >20.0 × baseline
Blood bilirubin increased   high         baseline normal: >ULN / >1.5 / >3.0 / >10.0 × ULN;
                                         baseline abnormal: >1.0 / >1.5 / >3.0 / >10.0 × baseline
Creatinine increased        high         >ULN / >1.5 × ULN or >1.5 × baseline /
                                         >3.0 × ULN or >3.0 × baseline / >6.0 × ULN
==========================  ===========  ======================================================  =====

The grade is the highest grade whose rule the value meets; 0 when no rule is met and every rule is
evaluable; null when the value is missing or a rule above the grade reached cannot be evaluated (e.g.
LLN missing and the value above the grade 2 limit). Baseline rules ("× baseline") apply to
post-baseline records only, as CTCAE compares a value on treatment with the subject's baseline; the
baseline is "abnormal" when BNRIND is HIGH (admiral's NCI-CTCAEv5 metadata makes the same choice), and
a missing BNRIND counts as normal. Only the clinically meaningful direction of each test is graded (a
high neutrophil count has no CTCAE lab term).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.adam.derive_support import (
    column_name,
    numbers,
    require_absent,
    require_columns,
    require_frame,
)

LOW, HIGH = "LOW", "HIGH"
# Which reference a rule's factor multiplies: an absolute limit (factor in the term's unit), the lower or
# upper limit of normal (ANRLO / ANRHI), or the subject's baseline (BASE).
ABSOLUTE, LLN, ULN, BASELINE = "ABSOLUTE", "LLN", "ULN", "BASELINE"
# Which baseline a rule applies to (CTCAE "if baseline was normal / abnormal").
ANY, NORMAL, ABNORMAL = "ANY", "NORMAL", "ABNORMAL"


@dataclass(frozen=True)
class GradeRule:
    """A value meets the rule when beyond ``factor × reference`` (``inclusive``: or equal to it)."""

    grade: int
    reference: str
    factor: float = 1.0
    baseline: str = ANY
    inclusive: bool = False


@dataclass(frozen=True)
class LabTerm:
    """One CTCAE v5.0 laboratory term: its direction, the unit of its absolute limits and its rules."""

    term: str
    direction: str
    unit: str
    rules: tuple[GradeRule, ...]


def _decreased(term: str, unit: str, grade2: float, grade3: float, grade4: float | None) -> LabTerm:
    rules = [GradeRule(1, LLN), GradeRule(2, ABSOLUTE, grade2), GradeRule(3, ABSOLUTE, grade3)]
    if grade4 is not None:
        rules.append(GradeRule(4, ABSOLUTE, grade4))
    return LabTerm(term, LOW, unit, tuple(rules))


def _transaminase(term: str) -> LabTerm:
    return LabTerm(
        term,
        HIGH,
        "U/L",
        (
            GradeRule(1, ULN, 1.0, NORMAL),
            GradeRule(2, ULN, 3.0, NORMAL),
            GradeRule(3, ULN, 5.0, NORMAL),
            GradeRule(4, ULN, 20.0, NORMAL),
            GradeRule(1, BASELINE, 1.5, ABNORMAL, inclusive=True),
            GradeRule(2, BASELINE, 3.0, ABNORMAL),
            GradeRule(3, BASELINE, 5.0, ABNORMAL),
            GradeRule(4, BASELINE, 20.0, ABNORMAL),
        ),
    )


#: CTCAE v5.0 laboratory terms by name (SI units, as the study's standard units).
CTCAE_V5: dict[str, LabTerm] = {
    t.term: t
    for t in (
        _decreased("Neutrophil count decreased", "10^9/L", 1.5, 1.0, 0.5),
        _decreased("Platelet count decreased", "10^9/L", 75.0, 50.0, 25.0),
        _decreased("Anemia", "g/L", 100.0, 80.0, None),
        _decreased("Lymphocyte count decreased", "10^9/L", 0.8, 0.5, 0.2),
        _decreased("White blood cell decreased", "10^9/L", 3.0, 2.0, 1.0),
        _transaminase("Alanine aminotransferase increased"),
        _transaminase("Aspartate aminotransferase increased"),
        LabTerm(
            "Blood bilirubin increased",
            HIGH,
            "umol/L",
            (
                GradeRule(1, ULN, 1.0, NORMAL),
                GradeRule(2, ULN, 1.5, NORMAL),
                GradeRule(3, ULN, 3.0, NORMAL),
                GradeRule(4, ULN, 10.0, NORMAL),
                GradeRule(1, BASELINE, 1.0, ABNORMAL),
                GradeRule(2, BASELINE, 1.5, ABNORMAL),
                GradeRule(3, BASELINE, 3.0, ABNORMAL),
                GradeRule(4, BASELINE, 10.0, ABNORMAL),
            ),
        ),
        LabTerm(
            "Creatinine increased",
            HIGH,
            "umol/L",
            (
                GradeRule(1, ULN, 1.0),
                GradeRule(2, ULN, 1.5),
                GradeRule(2, BASELINE, 1.5),
                GradeRule(3, ULN, 3.0),
                GradeRule(3, BASELINE, 3.0),
                GradeRule(4, ULN, 6.0),
            ),
        ),
    )
}


def _rule_state(
    rule: GradeRule,
    term: LabTerm,
    value: np.ndarray,
    limits: dict[str, np.ndarray],
    abnormal_baseline: np.ndarray,
    post_baseline: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(met, unknown) per record: the rule is met, or cannot be evaluated where it applies."""
    if rule.reference == ABSOLUTE:
        limit = np.full(value.shape, rule.factor)
    else:
        limit = rule.factor * limits[rule.reference]
    applies = np.ones(value.shape, dtype=bool)
    if rule.baseline == NORMAL:
        applies &= ~abnormal_baseline
    elif rule.baseline == ABNORMAL:
        applies &= abnormal_baseline
    if rule.reference == BASELINE:
        applies &= post_baseline
    known = ~np.isnan(limit)
    with np.errstate(invalid="ignore"):
        if term.direction == LOW:
            beyond = value <= limit if rule.inclusive else value < limit
        else:
            beyond = value >= limit if rule.inclusive else value > limit
    return applies & known & beyond, applies & ~known


def compute_ctcae_grade(
    term: LabTerm,
    value: pd.Series,
    lln: pd.Series,
    uln: pd.Series,
    base: pd.Series,
    abnormal_baseline: pd.Series,
    post_baseline: pd.Series,
) -> pd.Series:
    """Grade values of one CTCAE term (float 0-4 or NaN); see the module docstring for the rules."""
    values = value.to_numpy(dtype="float64")
    limits = {
        LLN: lln.to_numpy(dtype="float64"),
        ULN: uln.to_numpy(dtype="float64"),
        BASELINE: base.to_numpy(dtype="float64"),
    }
    abnormal = abnormal_baseline.to_numpy(dtype=bool)
    post = post_baseline.to_numpy(dtype=bool)
    grade = np.zeros(values.shape)
    unknown_above = np.zeros(values.shape, dtype=bool)
    for level in sorted({r.grade for r in term.rules}, reverse=True):
        met = np.zeros(values.shape, dtype=bool)
        unknown = np.zeros(values.shape, dtype=bool)
        for rule in (r for r in term.rules if r.grade == level):
            rule_met, rule_unknown = _rule_state(rule, term, values, limits, abnormal, post)
            met |= rule_met
            unknown |= rule_unknown
        newly = met & (grade == 0) & ~unknown_above
        grade[newly] = level
        unknown_above |= unknown & (grade == 0)
    result = np.where(np.isnan(values) | ((grade == 0) & unknown_above), np.nan, grade)
    return pd.Series(result, index=value.index, dtype="float64")


def derive_var_atoxgr(
    dataset: pd.DataFrame,
    terms: Mapping[str, str],
    new_var: str = "ATOXGR",
    param_var: str = "PARAMCD",
    unit_var: str = "_UNIT",
    post_baseline_var: str = "_POSTBL",
) -> pd.DataFrame:
    """Add ``ATOXGR`` ("0"-"4") and ``ATOXGRN`` by CTCAE v5.0 (admiral ``derive_var_atoxgr_dir``).

    ``terms`` maps a parameter code to its CTCAE v5.0 term (a key of :data:`CTCAE_V5`); records of
    other parameters get null. Reads AVAL, ANRLO (LLN), ANRHI (ULN), BASE and BNRIND; ``unit_var``
    holds each record's unit, which must be the term's unit wherever a value is graded (absolute
    limits are unit-specific: a mismatch is a ValueError naming the parameter); ``post_baseline_var``
    is True on records after the baseline record (only they are compared with the baseline).

    Example (a neutrophil count of 0.4 x 10^9/L is grade 4):

    >>> import pandas as pd
    >>> adlb = pd.DataFrame({"PARAMCD": ["NEUT"] * 2, "AVAL": [0.4, 1.2], "ANRLO": [1.8] * 2,
    ...                      "ANRHI": [6.3] * 2, "BASE": [4.2] * 2, "BNRIND": ["NORMAL"] * 2,
    ...                      "_UNIT": ["10^9/L"] * 2, "_POSTBL": [True] * 2})
    >>> derive_var_atoxgr(adlb, {"NEUT": "Neutrophil count decreased"})[["ATOXGR", "ATOXGRN"]]
      ATOXGR  ATOXGRN
    0      4      4.0
    1      2      2.0
    """
    dataset = require_frame(dataset, "dataset")
    new_var = column_name(new_var, "new_var")
    unknown = sorted(set(terms.values()) - set(CTCAE_V5))
    if unknown:
        raise ValueError(f"terms: {', '.join(unknown)} not CTCAE v5.0 lab terms of this module")
    columns = [param_var, "AVAL", "ANRLO", "ANRHI", "BASE", "BNRIND", unit_var, post_baseline_var]
    require_columns(dataset, columns, "dataset")
    require_absent(dataset, [new_var, f"{new_var}N"], "new_var")
    grade = pd.Series(np.nan, index=dataset.index, dtype="float64")
    param = dataset[param_var]
    post = dataset[post_baseline_var].fillna(False).astype(bool)
    # Baseline and earlier records are graded against the normal range (they are not compared with
    # themselves): only a post-baseline record of a subject with a high baseline is "baseline abnormal".
    abnormal = dataset["BNRIND"].eq("HIGH").fillna(False).astype(bool) & post
    for paramcd, name in terms.items():
        rows = param.eq(paramcd).fillna(False).to_numpy(dtype=bool)
        if not rows.any():
            continue
        term = CTCAE_V5[name]
        part = dataset.loc[rows, columns]
        graded = part["AVAL"].notna()
        units = set(part.loc[graded, unit_var].dropna().unique())
        if units - {term.unit}:
            raise ValueError(
                f"{unit_var}: {paramcd} is in {sorted(units)}, CTCAE v5.0 '{name}' is graded in {term.unit}"
            )
        grade.loc[rows] = compute_ctcae_grade(
            term,
            numbers(part, "AVAL", "dataset"),
            numbers(part, "ANRLO", "dataset"),
            numbers(part, "ANRHI", "dataset"),
            numbers(part, "BASE", "dataset"),
            abnormal.loc[rows],
            post.loc[rows],
        ).to_numpy()
    out = dataset.copy(deep=False)
    text = np.where(grade.isna(), None, grade.fillna(0).astype(int).astype(str))
    out[new_var] = pd.Series(text, index=dataset.index, dtype="str")
    out[f"{new_var}N"] = grade
    return out
