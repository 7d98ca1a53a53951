"""Conditional rules written as data: "if <condition> then <condition>" on each record, and the checks
of subject-level uniqueness and of variables a dataset must carry.

A condition is a mapping from a closed vocabulary (no expressions are evaluated)::

    {var: AESER, equals: "Y"}                  the text equals a value
    {var: AEOUT, in: [FATAL, ...]}             the text is one of the values
    {var: DTHDTC, populated: true}             the value is (true) or is not (false) populated
    {any: [<condition>, ...]}                  at least one holds
    {all: [<condition>, ...]}                  every one holds
    {not: <condition>}                         it does not hold

``--`` at the start of a variable name stands for the dataset's domain (``--ORRES`` → ``LBORRES``). A
variable the dataset lacks is treated as missing on every record; a rule whose ``if`` or ``then`` names
no variable of the dataset does not apply to it (the variable's absence is another rule's finding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cdisc168.check.catalog import RuleDef
from cdisc168.check.registry import check, dataset_failures, failures_where, no_failures
from cdisc168.check.sdtm_rules import domain_of, present, text
from cdisc168.check.submission import Submission


class ConditionError(ValueError):
    """A condition of a rule is not in the vocabulary (a catalog error, named by rule)."""


def _name(variable: str, prefix: str) -> str:
    return f"{prefix}{variable[2:]}" if variable.startswith("--") else variable


def condition_variables(condition: Mapping[str, Any], prefix: str) -> list[str]:
    """The variables a condition reads, with ``--`` resolved to ``prefix``."""
    if "var" in condition:
        return [_name(str(condition["var"]), prefix)]
    nested = (
        condition.get("any") or condition.get("all") or ([condition["not"]] if "not" in condition else [])
    )
    return [v for c in nested for v in condition_variables(c, prefix)]


def _values(frame: pd.DataFrame, variable: str) -> pd.Series:
    if variable in frame.columns:
        return frame[variable]
    return pd.Series(np.nan, index=frame.index, dtype=object)


def evaluate(condition: Mapping[str, Any], frame: pd.DataFrame, prefix: str) -> np.ndarray:
    """Where ``condition`` holds on each record of ``frame`` (see the module docstring)."""
    if "any" in condition:
        parts = [evaluate(c, frame, prefix) for c in condition["any"]]
        return np.logical_or.reduce(parts) if parts else np.zeros(len(frame), dtype=bool)
    if "all" in condition:
        parts = [evaluate(c, frame, prefix) for c in condition["all"]]
        return np.logical_and.reduce(parts) if parts else np.ones(len(frame), dtype=bool)
    if "not" in condition:
        return ~evaluate(condition["not"], frame, prefix)
    if "var" not in condition:
        raise ConditionError(f"condition {dict(condition)!r} needs var, any, all or not")
    values = _values(frame, _name(str(condition["var"]), prefix))
    if "populated" in condition:
        filled = present(values)
        return filled if condition["populated"] else ~filled
    if "equals" in condition:
        return (text(values) == str(condition["equals"])).to_numpy(dtype=bool, na_value=False)
    if "in" in condition:
        return text(values).isin([str(v) for v in condition["in"]]).to_numpy(dtype=bool)
    raise ConditionError(f"condition on {condition['var']} needs equals, in or populated")


@check("implies")
def check_implies(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Records where ``params.if`` holds but ``params.then`` does not. The finding names the first variable
    of ``then`` (its value shown). Used for the SDTMIG 3.4 consistency rules written as data in the
    catalog (e.g. AE seriousness criteria, DTHFL/DTHDTC, ARMNRS)."""
    frame = submission.datasets[name]
    prefix = domain_of(submission, name)
    premise, conclusion = rule.params["if"], rule.params["then"]
    used_if = [v for v in condition_variables(premise, prefix) if v in frame.columns]
    used_then = [v for v in condition_variables(conclusion, prefix) if v in frame.columns]
    if not used_if or not used_then:
        return no_failures()
    failing = evaluate(premise, frame, prefix) & ~evaluate(conclusion, frame, prefix)
    return failures_where(failing, variable=used_then[0])


@check("one_record_per_subject")
def check_one_record_per_subject(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """A subject-level dataset (DM) has one record per USUBJID (SDTMIG 3.4 DM: one record per subject)."""
    frame = submission.datasets[name]
    if "USUBJID" not in frame.columns:
        return no_failures()
    repeated = frame["USUBJID"].duplicated(keep="first").to_numpy() & present(frame["USUBJID"])
    return failures_where(repeated, variable="USUBJID")


@check("variables_present")
def check_variables_present(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """The variables of ``params.variables`` are columns of the dataset (e.g. DM ARM/ARMCD/ACTARM/ACTARMCD,
    which FDA review tools rely on even though SDTMIG 3.4 makes them Expected)."""
    variables: Sequence[str] = rule.params["variables"]
    columns = set(submission.datasets[name].columns)
    return dataset_failures((v, None, "") for v in variables if v not in columns)
