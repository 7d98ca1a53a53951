"""The Python API: every CLI command is one of these functions (the CLI is a thin shell over them).

Exit codes (DESIGN.md): 0 = done, no finding of severity error; 1 = done (outputs written) but
conformance errors were found; 2 = could not run (unusable input, bad spec): nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cdisc168.findings import Findings, Severity
from cdisc168.raw.forms import FormCatalogue, load_forms
from cdisc168.raw.load import RawStudy, load_raw
from cdisc168.raw.synth.generate import DEFAULT_SEED, DEFAULT_SUBJECTS, write_synthetic
from cdisc168.study import Study, load_study
from cdisc168.write.package import atomic_folder

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class RawCheck:
    """Result of loading and checking a raw folder."""

    raw: RawStudy
    findings: Findings
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def exit_code(self) -> int:
        return EXIT_UNUSABLE if self.findings.has_errors else EXIT_OK


def form_summary(raw: RawStudy, findings: Findings, forms: FormCatalogue) -> pd.DataFrame:
    """Per-form summary: rows read, subjects, errors and warnings (in catalogue order)."""
    counts = findings.to_frame()
    rows = []
    for form in forms:
        frame = raw.get(form.name)
        mine = counts[counts["dataset"] == form.file]
        rows.append(
            {
                "form": form.name,
                "file": form.file,
                "rows": 0 if frame is None else len(frame),
                "subjects": 0 if frame is None else frame[["SITEID", "SUBJID"]].drop_duplicates().shape[0],
                "errors": int((mine["severity"] == Severity.ERROR.value).sum()),
                "warnings": int((mine["severity"] == Severity.WARNING.value).sum()),
            }
        )
    return pd.DataFrame(rows)


def check_raw(
    raw_dir: Path | str,
    study: Study | None = None,
    forms: FormCatalogue | None = None,
    progress: Progress = _quiet,
) -> RawCheck:
    """Load every raw form of ``raw_dir`` and check it against its input contract (all problems, one pass)."""
    study = study or load_study()
    forms = forms or load_forms()
    progress("Loading and checking raw forms")
    raw, findings = load_raw(Path(raw_dir), study, forms)
    return RawCheck(raw=raw, findings=findings, summary=form_summary(raw, findings, forms))


@dataclass
class BuildResult:
    """Result of :func:`build`: what was found, what was written and the exit code."""

    exit_code: int
    findings: Findings
    summary: pd.DataFrame
    out_dir: Path | None


def build(
    raw_dir: Path | str,
    out_dir: Path | str,
    study: Study | None = None,
    forms: FormCatalogue | None = None,
    progress: Progress = _quiet,
) -> BuildResult:
    """Build the submission package from the raw forms in ``raw_dir`` into ``out_dir``.

    Raw input that breaks its contract stops the run before anything is written (exit 2). The output
    folder is written atomically (:func:`cdisc168.write.package.atomic_folder`).
    """
    checked = check_raw(raw_dir, study, forms, progress)
    if checked.findings.has_errors:
        return BuildResult(EXIT_UNUSABLE, checked.findings, checked.summary, None)
    progress("Writing reports")
    with atomic_folder(out_dir) as staging:
        reports = staging / "reports"
        reports.mkdir()
        checked.findings.write_csv(reports / "raw_findings.csv")
        checked.summary.to_csv(reports / "raw_summary.csv", index=False, lineterminator="\n")
    return BuildResult(EXIT_OK, checked.findings, checked.summary, Path(out_dir))


def synth(
    out_dir: Path | str,
    n_subjects: int = DEFAULT_SUBJECTS,
    seed: int = DEFAULT_SEED,
    study: Study | None = None,
) -> list[Path]:
    """Write seeded synthetic C-CAR168 raw forms to ``out_dir`` (same seed, same bytes)."""
    if n_subjects < 1:
        raise ValueError(f"--subjects must be >= 1, got {n_subjects}")
    return write_synthetic(out_dir, n_subjects, seed, study or load_study())
