"""Validate any folder (or one file) of SDTM / ADaM datasets: read, run the rules, write the reports.

One call for the ``cdisc168 validate PATH [--out DIR] [--ig VERSION]`` command::

    outcome = validate("submission/m5", out_dir="qc", ig=None)
    print(outcome.summary_text())
    raise SystemExit(outcome.exit_code)

Exit codes as everywhere in cdisc168 (DESIGN.md): 0 = validated, no finding of severity error;
1 = validated, errors found; 2 = could not run (no such path, a bad ``--ig``, no readable dataset, the
rule catalog cannot be loaded): then nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from cdisc168.check.catalog import CatalogError
from cdisc168.check.folder import FolderReading, ValidateInputError, read_folder
from cdisc168.check.report import issue_totals, write_reports
from cdisc168.check.run import ValidationResult, run_rules
from cdisc168.findings import Findings, Severity

__all__ = ["EXIT_CLEAN", "EXIT_ERRORS", "EXIT_UNUSABLE", "ValidateOutcome", "validate"]

EXIT_CLEAN = 0
EXIT_ERRORS = 1
EXIT_UNUSABLE = 2
_SHOWN_ISSUES = 20
_SHOWN_FILES = 5
_SHOWN_IDS = 8


@dataclass
class ValidateOutcome:
    """What :func:`validate` did: the exit code, the result (None when it could not run), the reports."""

    path: Path
    exit_code: int
    result: ValidationResult | None = None
    reading: FolderReading | None = None
    reports: list[Path] = field(default_factory=list)
    problem: str = ""

    def summary_text(self) -> str:
        """A few lines for the console: what was read, counts by severity, the largest issues, reports."""
        if self.result is None or self.reading is None:
            return f"validate {self.path}: could not run: {self.problem}"
        submission = self.reading.submission
        records = sum(len(frame) for frame in submission.datasets.values())
        versions = ", ".join(
            f"{'SDTMIG' if s == 'SDTM' else 'ADaMIG'} {submission.ig_versions[s]} ({source})"
            for s, source in self.reading.ig_sources.items()
        )
        totals = issue_totals(self.result)
        by_severity = Counter({s.value: 0 for s in Severity})
        for (severity, _, _), n in totals.items():
            by_severity[severity] += n
        lines = [
            f"Validated {len(submission.datasets)} dataset(s), {records} records in {self.path}",
            f"Standards: {versions}",
            f"Rules: {len(self.result.applied)} applied, {len(self.result.not_applied)} not applied",
            "Findings: " + ", ".join(f"{n} {severity}(s)" for severity, n in by_severity.items()),
        ]
        lines += _not_applied(self.result)
        lines += _largest_issues(totals)
        if self.reports:
            lines.append("Reports: " + ", ".join(str(p) for p in self.reports))
        lines.append(f"Exit code {self.exit_code}")
        return "\n".join(lines)


def _not_applied(result: ValidationResult) -> list[str]:
    """Rules not applied for another IG version or a missing companion dataset, grouped by reason (up to
    8 rule ids each); rules with no dataset in their scope ("no SDTM dataset matches DM") only counted."""
    by_reason: dict[str, list[str]] = {}
    out_of_scope = 0
    for rule_id, reason in sorted(result.not_applied.items()):
        if reason.startswith("no "):
            out_of_scope += 1
        else:
            by_reason.setdefault(reason, []).append(rule_id)
    lines = (
        [f"  not applied, no dataset or define.xml in their scope: {out_of_scope} rule(s)"]
        if out_of_scope
        else []
    )
    for reason, ids in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
        more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
        lines.append(f"  not applied, {reason}: {', '.join(ids[:_SHOWN_IDS])}{more}")
    return lines


def _largest_issues(totals: Counter[tuple[str, str, str]]) -> list[str]:
    """Errors and warnings by rule and dataset, largest first, at most 20 lines."""
    ranked = sorted(
        ((key, n) for key, n in totals.items() if key[0] != Severity.NOTICE.value),
        key=lambda item: (-item[1], item[0]),
    )
    lines = [f"  {n:>7}  {sev:<7} {rule} {dataset}" for (sev, rule, dataset), n in ranked[:_SHOWN_ISSUES]]
    if len(ranked) > _SHOWN_ISSUES:
        lines.append(f"  ... {len(ranked) - _SHOWN_ISSUES} more (see the reports)")
    return lines


def _title(path: Path, reading: FolderReading) -> str:
    studyids = set()
    for name in ("DM", "TS", "ADSL"):
        frame = reading.submission.get(name)
        if frame is not None and "STUDYID" in frame.columns:
            studyids.update(str(v) for v in frame["STUDYID"].dropna().unique())
    study = f" of study {', '.join(sorted(studyids))}" if studyids else ""
    return f"Validation report{study}: {path.name or path}"


def _nothing_readable(path: Path, reading: FolderReading) -> str:
    """Why nothing could be validated: no dataset file at all, or the files that could not be read."""
    files = [f.message for f in reading.findings if f.rule in ("VAL-READ", "VAL-SKIP")]
    shown = "; ".join(files[:_SHOWN_FILES])
    more = f"; and {len(files) - _SHOWN_FILES} more" if len(files) > _SHOWN_FILES else ""
    return (
        f"nothing to validate: no readable SAS XPORT (.xpt) or Dataset-JSON (.json/.ndjson) dataset in {path}"
        + (f": {shown}{more}" if files else "")
    )


def validate(path: Path | str, out_dir: Path | str | None = None, ig: str | None = None) -> ValidateOutcome:
    """Validate the datasets under ``path`` and, when ``out_dir`` is given, write ``validation.xlsx``,
    ``validation.html`` and ``validation.json`` into it.

    ``ig`` overrides the IG version the data declare (e.g. ``"3.3"``, ``"ADaMIG 1.1"``; see
    :func:`cdisc168.check.folder.parse_ig_option`). Never raises for bad input: problems reading a file
    are ``VAL-READ`` findings; a path, option or catalog that cannot be used gives exit code 2 with the
    reason in ``problem`` (and :meth:`ValidateOutcome.summary_text`).
    """
    source = Path(path)
    try:
        reading = read_folder(source, ig=ig)
        if not reading.submission.datasets:
            return ValidateOutcome(source, EXIT_UNUSABLE, problem=_nothing_readable(source, reading))
        result = run_rules(reading.submission)
    except (ValidateInputError, CatalogError) as error:
        return ValidateOutcome(source, EXIT_UNUSABLE, problem=str(error))
    result = replace(result, findings=Findings([*reading.findings, *result.findings]))
    outcome = ValidateOutcome(
        source,
        EXIT_ERRORS if result.findings.has_errors else EXIT_CLEAN,
        result=result,
        reading=reading,
    )
    if out_dir is not None:
        try:
            outcome.reports = write_reports(
                result,
                reading.submission,
                Path(out_dir),
                title=_title(source, reading),
                ig_sources=reading.ig_sources,
                base=source if source.is_dir() else source.parent,
            )
        except OSError as error:
            return ValidateOutcome(
                source, EXIT_UNUSABLE, problem=f"cannot write the reports to {out_dir}: {error}"
            )
    return outcome
