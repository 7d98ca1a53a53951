"""Load the raw EDC forms of a study and check them against their input contracts in one pass.

``load_raw`` is the first arrow of DESIGN.md's data flow: every form of the catalogue
(``mappings/raw/forms.yaml``) is read from ``<raw_dir>/<form>.csv`` as collected text, checked by

1. the file rules (:mod:`cdisc168.raw.csvfile`: missing, empty, encoding, delimiter, ragged lines …),
2. the column and value rules (:mod:`cdisc168.raw.contracts`: the pandera schema of the form),
3. the form rules (:mod:`cdisc168.raw.keys`: record key, one per subject, repeated results),
4. the study rule RAW-ENROL (every subject of every form is in enrol.csv),

and ALL findings are returned together; a problem in one form never stops the others. The rule ids
and their severities are listed in :mod:`cdisc168.raw.rules`.

Values stay the text of the file ("<20", "0003", "NA"); an empty field is missing (NaN). Each record
carries its lineage: ``_FORM`` (form name) and ``_ROW`` (the CSV line, header = line 1); ``FORMSEQ``
is a column of every form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc168.findings import Finding, Findings
from cdisc168.raw.contracts import (
    FLOAT_PATTERN,
    FORM,
    LINEAGE_COLUMNS,
    ROW,
    check_form_contract,
    compute_number,
)
from cdisc168.raw.csvfile import read_form_csv
from cdisc168.raw.forms import FormCatalogue, load_forms
from cdisc168.raw.keys import check_enrolment, check_form_keys
from cdisc168.raw.rules import raw_finding
from cdisc168.study import Study, load_study

__all__ = ["LINEAGE_COLUMNS", "RawStudy", "check_raw", "load_raw"]


class RawStudy(Mapping[str, pd.DataFrame]):
    """The raw forms of a study: form name → DataFrame of collected text, plus where they came from.

    Only forms that could be read are present (a missing or unreadable file is a finding instead). A
    form with a header and no records is present with zero rows. Columns keep the collected text; use
    :meth:`numeric` for a typed view without losing it.
    """

    def __init__(self, raw_dir: Path, frames: dict[str, pd.DataFrame], forms: FormCatalogue) -> None:
        self.raw_dir = Path(raw_dir)
        self.forms = forms
        self._frames = dict(frames)

    def __getitem__(self, form: str) -> pd.DataFrame:
        return self._frames[form]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(frame)}" for name, frame in self._frames.items())
        return f"RawStudy({str(self.raw_dir)!r}: {sizes})"

    def numeric(self, form: str, column: str) -> pd.Series:
        """A column's numbers as float64, NaN where the text is not a plain number.

        ORRES "<20" gives NaN here while the frame keeps "<20".
        """
        return compute_number(self._frames[form][column], FLOAT_PATTERN)

    def source(self, form: str) -> pd.Series:
        """Lineage text per record, ``"lab.csv:12"`` (file and CSV line)."""
        frame = self._frames[form]
        return f"{form}.csv:" + frame[ROW].astype("str")


def load_raw(
    raw_dir: Path | str, study: Study | None = None, forms: FormCatalogue | None = None
) -> tuple[RawStudy, Findings]:
    """Read and check every form of the catalogue in ``raw_dir``; return the data and ALL findings.

    ``study`` and ``forms`` default to the repository's ``mappings/study.yaml`` and
    ``mappings/raw/forms.yaml``. Never raises for problems in the data: each one is a finding
    (``Findings.has_errors`` → the input is unusable, exit code 2).
    """
    raw_dir = Path(raw_dir)
    study = study if study is not None else load_study()
    forms = forms if forms is not None else load_forms()
    findings = Findings()
    if not raw_dir.is_dir():
        findings.add(
            raw_finding(
                "RAW-DIR", f"raw folder {raw_dir} does not exist or is not a folder", value=str(raw_dir)
            )
        )
        return RawStudy(raw_dir, {}, forms), findings

    findings.extend(_unknown_files(raw_dir, forms))
    frames: dict[str, pd.DataFrame] = {}
    failed: dict[str, dict[str, np.ndarray]] = {}
    for form in forms:
        text = read_form_csv(raw_dir / form.file, form.column_names)
        findings.extend(text.findings)
        if text.frame is None:
            continue
        contract = check_form_contract(text.frame, form, study, text.lines)
        findings.extend(contract.findings)
        frame = _with_lineage(text.frame, form.name, text.lines)
        findings.extend(check_form_keys(frame, form, study, contract.failed))
        frames[form.name] = frame
        failed[form.name] = contract.failed
    findings.extend(check_enrolment(frames, study, failed))
    return RawStudy(raw_dir, frames, forms), findings


def check_raw(
    raw_dir: Path | str, study: Study | None = None, forms: FormCatalogue | None = None
) -> Findings:
    """The findings of :func:`load_raw` alone (the ``check-raw`` command)."""
    return load_raw(raw_dir, study, forms)[1]


def _with_lineage(frame: pd.DataFrame, form: str, lines: np.ndarray) -> pd.DataFrame:
    """Append ``_FORM`` and ``_ROW`` (CSV line) to a form's frame.

    A raw column that happens to carry one of these names was reported as RAW-COLUMN-EXTRA; the
    lineage value replaces it.
    """
    frame = frame.drop(columns=[c for c in LINEAGE_COLUMNS if c in frame.columns])
    lineage = pd.DataFrame(
        {FORM: pd.Series(form, index=frame.index, dtype="str"), ROW: lines.astype(np.int64)},
        index=frame.index,
    )
    return pd.concat([frame, lineage], axis=1)


def _unknown_files(raw_dir: Path, forms: FormCatalogue) -> list[Finding]:
    """RAW-FILE-UNKNOWN: files in the raw folder that are no form of the catalogue (hidden files aside)."""
    known = {form.file for form in forms}
    by_lower = {name.lower(): name for name in known}
    findings = []
    for path in sorted(raw_dir.iterdir()):
        if path.name in known or path.name.startswith(".") or not path.is_file():
            continue
        hint = by_lower.get(path.name.lower())
        findings.append(
            raw_finding(
                "RAW-FILE-UNKNOWN",
                f"{path.name} is not a known form; ignored"
                + (f" (file names are case-sensitive: expected {hint})" if hint else ""),
                dataset=path.name,
                value=path.name,
            )
        )
    return findings
