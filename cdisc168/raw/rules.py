"""The raw input contract rules as data: one record per rule id (id, severity, scope, meaning).

Every finding the raw layer reports carries one of these ids, and its severity comes from here, so the
README, the validation report and the code cannot disagree. Scopes:

- ``file``   the CSV file as a whole (it cannot be read as the form it should be);
- ``column`` the header of a form (a column missing, unexpected or repeated);
- ``value``  one collected value against its column contract in ``mappings/raw/forms.yaml``;
- ``form``   records of one form against each other (keys, one record per subject, repeats);
- ``study``  records of one form against another form (every subject must be enrolled).

Only ``error`` makes the input unusable (exit code 2); warnings are reported and the data are used.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdisc168.findings import Finding, Severity


@dataclass(frozen=True)
class RawRule:
    """One raw input contract rule."""

    id: str
    severity: Severity
    scope: str
    description: str


_E, _W = Severity.ERROR, Severity.WARNING

RAW_RULES: dict[str, RawRule] = {
    r.id: r
    for r in (
        RawRule("RAW-DIR", _E, "file", "The raw folder does not exist or is not a folder."),
        RawRule(
            "RAW-FILE-MISSING", _E, "file", "A form of the catalogue has no <form>.csv in the raw folder."
        ),
        RawRule(
            "RAW-FILE-UNREADABLE", _E, "file", "The file exists but cannot be read (permissions, a folder)."
        ),
        RawRule(
            "RAW-FILE-EMPTY", _E, "file", "The file has 0 bytes or no header line (header-only is valid)."
        ),
        RawRule(
            "RAW-FILE-UNKNOWN", _W, "file", "A file in the raw folder that is not a form of the catalogue."
        ),
        RawRule(
            "RAW-ENCODING", _E, "file", "The file is not UTF-8; the line of the first bad byte is named."
        ),
        RawRule(
            "RAW-DELIMITER", _E, "file", "The file is not comma-separated (';', tab or '|' in the header)."
        ),
        RawRule("RAW-CSV", _E, "file", "The file cannot be parsed as CSV (e.g. an unterminated quote)."),
        RawRule(
            "RAW-RAGGED", _E, "file", "A line has more or fewer fields than the header; it is not loaded."
        ),
        RawRule("RAW-HEADER-DUP", _E, "column", "A column name appears more than once in the header."),
        RawRule(
            "RAW-COLUMN-MISSING", _E, "column", "A column of the form contract is absent from the header."
        ),
        RawRule("RAW-COLUMN-EXTRA", _E, "column", "The header has a column the form contract does not know."),
        RawRule("RAW-REQUIRED", _E, "value", "A required column is empty on a record."),
        RawRule(
            "RAW-TYPE", _E, "value", "An int or float column holds text that is not a number of that type."
        ),
        RawRule("RAW-RANGE", _E, "value", "A number lies outside the column's [min, max]."),
        RawRule("RAW-STEP", _E, "value", "A number is not a multiple of the column's step (e.g. EDSS 0.5)."),
        RawRule(
            "RAW-DATE", _E, "value", "Not ISO 8601 YYYY, YYYY-MM or YYYY-MM-DD, or not a real calendar date."
        ),
        RawRule("RAW-TIME", _E, "value", "Not a 24-hour time HH:MM from 00:00 to 23:59."),
        RawRule(
            "RAW-CODE", _E, "value", "A code or Y/N column holds a value outside its list (case-sensitive)."
        ),
        RawRule(
            "RAW-VISIT", _E, "value", "VISIT is not a visit name of study.yaml (scheduled, ET, unscheduled)."
        ),
        RawRule(
            "RAW-PATTERN",
            _E,
            "value",
            "The value does not match the column's pattern (e.g. SUBJID 4 digits).",
        ),
        RawRule("RAW-STUDYID", _E, "value", "STUDYID differs from the study id of study.yaml."),
        RawRule("RAW-KEY", _E, "form", "Duplicate record key (SITEID, SUBJID, FORMSEQ)."),
        RawRule(
            "RAW-ONE-PER-SUBJECT",
            _E,
            "form",
            "A second record for a subject in a one-record-per-subject form.",
        ),
        RawRule(
            "RAW-REPEAT", _W, "form", "A repeated result on the form's repeat_key (e.g. a duplicate lab)."
        ),
        RawRule("RAW-ENROL", _E, "study", "A subject (SITEID, SUBJID) of a form is not in enrol.csv."),
    )
}


def raw_finding(
    rule: str,
    message: str,
    *,
    dataset: str = "",
    row: int | None = None,
    variable: str = "",
    value: str = "",
    usubjid: str = "",
) -> Finding:
    """A :class:`Finding` of raw rule ``rule`` with the severity the rule registry gives it."""
    return Finding(
        rule=rule,
        severity=RAW_RULES[rule].severity,
        message=message,
        dataset=dataset,
        row=row,
        variable=variable,
        value=value,
        usubjid=usubjid,
    )
