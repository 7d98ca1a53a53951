"""Run the rule catalog over a submission and collect the findings.

Each rule runs on every dataset of its scope that matches its ``datasets`` patterns (``*``, ``SUPP*``,
or names). A rule is *not applied* (with the reason in :attr:`ValidationResult.not_applied`) when

* it is judged against IG metadata (``version_independent: false``) and the submission is of another
  IG version than the one this package ships (SDTMIG 3.4, ADaMIG 1.3);
* a companion dataset it ``requires`` (e.g. DM for --DY) is missing;
* no dataset of the submission is in its scope (for define rules: no define.xml).

Define rules (scope ``define``) with no ``datasets`` are document-level: they run once per define.xml,
with the standard ("SDTM" / "ADaM") as the dataset name. Define rules with ``datasets`` run on each
matching dataset whose standard has a define.xml.

A check that raises becomes one ``VAL-INTERNAL`` error naming the rule and the dataset, never a
traceback. Failures beyond ``max_findings_per_rule`` per (rule, dataset) are counted, not materialised,
with one ``VAL-CAPPED`` notice; :attr:`ValidationResult.counts` keeps every total. The engine fills what
a check leaves out: USUBJID, --SEQ (ASEQ; for SUPP-- the IDVARVAL of a --SEQ IDVAR) and the value of
the named variable, all read from the failing record.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cdisc168.check.catalog import RuleDef, load_catalog
from cdisc168.check.registry import check_function, display_value
from cdisc168.check.submission import ADAM, DEFAULT_IG_VERSIONS, SDTM, Submission
from cdisc168.findings import Finding, Findings, Severity
from cdisc168.standards import ct

INTERNAL_RULE = "VAL-INTERNAL"
CAPPED_RULE = "VAL-CAPPED"
COUNT_COLUMNS: tuple[str, ...] = ("rule", "dataset", "severity", "failures")
_IG_NAMES = {SDTM: "SDTMIG", ADAM: "ADaMIG"}


@dataclass
class ValidationResult:
    """The outcome of :func:`run_rules`.

    ``counts`` has one row per (rule, dataset) that ran, with the total number of failures (before
    capping); ``not_applied`` maps a rule id to the reason it did not run.
    """

    findings: Findings
    applied: tuple[RuleDef, ...]
    not_applied: dict[str, str]
    counts: pd.DataFrame
    ig_versions: dict[str, str]
    ct_versions: dict[str, str]


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, pattern.upper()) for pattern in patterns)


def rule_targets(submission: Submission, rule: RuleDef) -> list[tuple[str, str]]:
    """(dataset name, standard) pairs a rule runs on, before version and companion conditions."""
    if rule.scope != "define":
        return [(n, rule.scope) for n in submission.names(rule.scope) if _matches(n, rule.datasets)]
    if not rule.datasets:
        return [(standard, standard) for standard in (SDTM, ADAM) if standard in submission.define]
    return [
        (n, s)
        for n, s in sorted(submission.standards.items())
        if s in submission.define and _matches(n, rule.datasets)
    ]


def _version_mismatch(submission: Submission, standard: str) -> str:
    """Why IG-metadata rules cannot judge ``standard`` (empty when its version, declared by the data or
    given with ``--ig``, is the shipped one)."""
    declared = submission.ig_versions.get(standard, DEFAULT_IG_VERSIONS[standard])
    shipped = DEFAULT_IG_VERSIONS[standard]
    if declared == shipped:
        return ""
    name = _IG_NAMES[standard]
    return f"judged against {name} {shipped} metadata; the submission is {name} {declared}"


def not_applied_reason(submission: Submission, rule: RuleDef, targets: list[tuple[str, str]]) -> str:
    """Why ``rule`` cannot run on this submission, or "" when it can (see the module docstring)."""
    if not targets:
        if rule.scope == "define":
            return "no define.xml for the datasets in its scope"
        shown = ", ".join(rule.datasets) or "*"
        return f"no {rule.scope} dataset matches {shown}"
    if not rule.version_independent:
        reasons = {_version_mismatch(submission, s) for _, s in targets}
        if "" not in reasons:
            return "; ".join(sorted(reasons))
    missing = [name for name in rule.requires if submission.get(name) is None]
    if missing:
        return f"companion dataset(s) {', '.join(missing)} missing"
    return ""


class _Placeholders(dict[str, str]):
    """Message placeholders: unknown ones stay as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _message(template: str, dataset: str, variable: str, value: str) -> str:
    try:
        return template.format_map(_Placeholders(dataset=dataset, variable=variable, value=value))
    except (ValueError, IndexError, AttributeError):
        return template


def _seq_values(frame: pd.DataFrame, name: str, positions: np.ndarray) -> list[float | None]:
    """--SEQ (ASEQ; for SUPP-- the IDVARVAL of a --SEQ IDVAR) of the records at ``positions``."""
    columns = [f"{name}SEQ", "ASEQ"]
    if "DOMAIN" in frame.columns and len(frame):
        columns.append(f"{display_value(frame['DOMAIN'].iloc[0])}SEQ")
    column = next((c for c in columns if c in frame.columns), None)
    if column is not None:
        raw = frame[column].iloc[positions]
    elif {"IDVAR", "IDVARVAL"} <= set(frame.columns):
        idvar = frame["IDVAR"].iloc[positions].astype(object)
        raw = frame["IDVARVAL"].iloc[positions].astype(object).where(idvar.astype(str).str.endswith("SEQ"))
    else:
        return [None] * len(positions)
    return _numbers(np.asarray(raw, dtype=object).tolist())


def _numbers(values: list[Any]) -> list[float | None]:
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return [None if pd.isna(x) else float(x) for x in numbers]


def _filled(given: list[Any], found: list[Any], valid: np.ndarray) -> list[Any]:
    """``given`` with its missing entries taken from ``found`` where the record is known."""
    return [
        f if (g is None or (not isinstance(g, str) and pd.isna(g))) and ok else g
        for g, f, ok in zip(given, found, valid.tolist(), strict=True)
    ]


def _findings(failures: pd.DataFrame, submission: Submission, rule: RuleDef, name: str) -> list[Finding]:
    """Findings from the (already capped) failures of ``rule`` on dataset ``name``."""
    frame = submission.datasets.get(name)
    n = len(failures)

    def column(key: str) -> list[Any]:
        return failures[key].astype(object).tolist() if key in failures.columns else [None] * n

    size = 0 if frame is None else len(frame)
    rows = pd.to_numeric(pd.Series(column("row"), dtype=object), errors="coerce").to_numpy(dtype=float)
    valid = ~np.isnan(rows) & (rows >= 1) & (rows <= size)
    positions = np.where(valid, rows, 1).astype(np.int64) - 1
    variables = [display_value(v) for v in column("variable")]
    values, subjects, seqs = column("value"), column("USUBJID"), column("SEQ")
    if frame is not None and valid.any():
        positions = positions.clip(0, size - 1)
        found: list[Any] = [None] * n
        for variable in set(variables) & set(frame.columns):
            at = [i for i, v in enumerate(variables) if v == variable]
            for i, v in zip(
                at, frame[variable].iloc[positions[at]].to_numpy(dtype=object).tolist(), strict=True
            ):
                found[i] = v
        values = _filled(values, found, valid)
        if "USUBJID" in frame.columns:
            subjects = _filled(
                subjects, frame["USUBJID"].iloc[positions].to_numpy(dtype=object).tolist(), valid
            )
        seqs = _filled(seqs, _seq_values(frame, name, positions), valid)
    messages, datasets = column("message"), column("dataset")
    out = []
    for i, seq in enumerate(_numbers(seqs)):
        value = display_value(values[i])
        template = messages[i] if isinstance(messages[i], str) and messages[i] else rule.message
        out.append(
            Finding(
                rule=rule.id,
                severity=rule.severity,
                message=_message(template, name, variables[i], value),
                dataset=datasets[i] if isinstance(datasets[i], str) and datasets[i] else name,
                row=int(rows[i]) if valid[i] else None,
                variable=variables[i],
                value=value,
                usubjid=display_value(subjects[i]),
                seq=seq,
            )
        )
    return out


def _internal(rule: RuleDef, name: str, problem: str) -> Finding:
    return Finding(
        rule=INTERNAL_RULE,
        severity=Severity.ERROR,
        message=f"rule {rule.id} (check {rule.check}) could not judge {name}: {problem}",
        dataset=name,
    )


def _capped(rule: RuleDef, name: str, total: int, shown: int) -> Finding:
    return Finding(
        rule=CAPPED_RULE,
        severity=Severity.NOTICE,
        message=f"rule {rule.id}: {total} failures, the first {shown} listed, {total - shown} counted only",
        dataset=name,
    )


def _totals(failures: pd.DataFrame, name: str) -> dict[str, int]:
    """Failures per dataset they name: the dataset the rule ran on unless the check names another
    (e.g. SD-DATASETS run on AE reports the missing DM and TS)."""
    if "dataset" not in failures.columns:
        return {name: len(failures)}
    named = failures["dataset"].astype(object).where(failures["dataset"].notna(), name).replace("", name)
    return {str(k): int(v) for k, v in named.value_counts(sort=False).items()}


def run_rule(
    submission: Submission, rule: RuleDef, name: str, max_findings: int
) -> tuple[list[Finding], dict[str, int]]:
    """(findings, total failures per dataset) of one rule run on one dataset; a check that raises gives
    VAL-INTERNAL."""
    try:
        failures = check_function(rule.check)(submission, rule, name)
        if not isinstance(failures, pd.DataFrame):
            return [
                _internal(rule, name, f"the check returned {type(failures).__name__}, not a DataFrame")
            ], {name: 0}
        total = len(failures)
        if not total:
            return [], {name: 0}
        found = _findings(failures.head(max_findings), submission, rule, name)
        totals = _totals(failures, name)
    except Exception as exc:  # a rule must never stop the run: report it instead
        return [_internal(rule, name, f"{type(exc).__name__}: {exc}")], {name: 0}
    if total > max_findings:
        found.append(_capped(rule, name, total, max_findings))
    return found, totals


def ct_versions() -> dict[str, str]:
    """The CT packages the codelist rules judge against (the ones this package ships)."""
    return {
        SDTM: str(ct.sdtm_ct()["package_date"].iloc[0]),
        ADAM: str(ct.adam_ct()["package_date"].iloc[0]),
    }


def run_rules(
    submission: Submission, catalog: Sequence[RuleDef] | None = None, *, max_findings_per_rule: int = 1000
) -> ValidationResult:
    """Run every rule of ``catalog`` (default: :func:`~cdisc168.check.catalog.load_catalog`) over
    ``submission``; see the module docstring for what is applied, capped and reported."""
    rules = tuple(load_catalog() if catalog is None else catalog)
    findings = Findings()
    applied: list[RuleDef] = []
    not_applied: dict[str, str] = {}
    counts: list[tuple[str, str, str, int]] = []
    for rule in rules:
        targets = rule_targets(submission, rule)
        reason = not_applied_reason(submission, rule, targets)
        if reason:
            not_applied[rule.id] = reason
            continue
        applied.append(rule)
        for name, standard in targets:
            if not rule.version_independent and _version_mismatch(submission, standard):
                continue
            found, totals = run_rule(submission, rule, name, max_findings_per_rule)
            findings.extend(found)
            counts += [(rule.id, dataset, rule.severity.value, n) for dataset, n in totals.items()]
    return ValidationResult(
        findings=findings,
        applied=tuple(applied),
        not_applied=not_applied,
        counts=pd.DataFrame(counts, columns=list(COUNT_COLUMNS)),
        ig_versions=dict(submission.ig_versions),
        ct_versions=ct_versions(),
    )
