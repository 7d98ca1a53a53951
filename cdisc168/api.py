"""The Python API: every CLI command is one of these functions (the CLI is a thin shell over them).

Exit codes (DESIGN.md): 0 = done, no finding of severity error; 1 = done (outputs written) but
conformance errors were found; 2 = could not run (unusable input, bad spec): nothing written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cdisc168.adam.build import build_adam
from cdisc168.adam.dose_escalation import (
    DoseEscalation,
    create_dose_escalation,
    dose_escalation_csv,
    dose_escalation_html,
    dose_escalation_markdown,
)
from cdisc168.adam_spec import load_adam_specs
from cdisc168.check.schemas import check_sdtm
from cdisc168.findings import Finding, Findings, Severity
from cdisc168.raw.forms import FormCatalogue, load_forms
from cdisc168.raw.load import RawStudy, load_raw
from cdisc168.raw.synth.generate import DEFAULT_SEED, DEFAULT_SUBJECTS, write_synthetic
from cdisc168.sdtm.build import build_sdtm, load_specs
from cdisc168.sdtm.reconcile import column_coverage, reconcile, spec_forms
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study, load_study
from cdisc168.write.analysis import write_analysis
from cdisc168.write.package import atomic_folder
from cdisc168.write.tabulation import write_tabulations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2

Progress = Callable[[str], None]
# Findings that make the data impossible to write as XPT v5 (nothing is written, exit 2).
BLOCKING_RULES = frozenset({"SD-TEXT-NONASCII"})


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
    reconciliation: pd.DataFrame = field(default_factory=pd.DataFrame)
    dose_escalation: DoseEscalation | None = None


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
    study = study or load_study()
    forms = forms or load_forms()
    checked = check_raw(raw_dir, study, forms, progress)
    if checked.findings.has_errors:
        return BuildResult(EXIT_UNUSABLE, checked.findings, checked.summary, None)
    progress("Mapping SDTM")
    specs = load_specs(study.mappings_dir, forms)
    study_ct = load_study_ct()
    sdtm = build_sdtm(checked.raw, study, forms, specs, study_ct)
    findings = Findings([*checked.findings, *sdtm.findings])
    progress("Checking SDTM against the schemas generated from the specs")
    findings.extend(check_sdtm(sdtm, study_ct, studyid=study.studyid, reported=findings))
    if any(f.rule in BLOCKING_RULES for f in sdtm.findings):
        return BuildResult(EXIT_UNUSABLE, findings, checked.summary, None)
    reconciliation, unmapped_rows = reconcile(
        checked.raw, sdtm.lineage, sdtm.exclusions, spec_forms(specs), study.excluded_forms
    )
    findings.extend(reconciliation_findings(reconciliation))
    coverage = column_coverage(specs, forms, study.unmapped_columns)
    findings.extend(coverage_findings(coverage))
    progress("Building ADaM")
    adam_specs = load_adam_specs(study.mappings_dir)
    adam = build_adam(sdtm.datasets, study, adam_specs)
    escalation = create_dose_escalation(adam["ADSL"], adam["ADAE"], study)
    progress("Writing the package")
    timestamp = dt.datetime.combine(study.data_cut, dt.time())
    with atomic_folder(out_dir) as staging:
        study_folder = staging / "m5" / "datasets" / study.submission_folder
        write_tabulations(sdtm.datasets, specs, study_folder / "tabulations" / "sdtm", timestamp)
        write_analysis(adam, adam_specs, study_folder / "analysis" / "adam" / "datasets", timestamp)
        reports = staging / "reports"
        reports.mkdir()
        findings.write_csv(reports / "findings.csv")
        _csv(checked.summary, reports / "raw_summary.csv")
        _csv(reconciliation, reports / "reconciliation.csv")
        _csv(unmapped_rows, reports / "exclusions.csv")
        _csv(coverage, reports / "column_coverage.csv")
        (reports / "dose_escalation.csv").write_text(dose_escalation_csv(escalation), encoding="utf-8")
        (reports / "dose_escalation.md").write_text(dose_escalation_markdown(escalation), encoding="utf-8")
        (reports / "dose_escalation.html").write_text(dose_escalation_html(escalation), encoding="utf-8")
        _csv(sdtm.lineage.rename(columns={"_FORM": "form", "_ROW": "row"}), reports / "lineage.csv")
    code = EXIT_FINDINGS if findings.has_errors else EXIT_OK
    return BuildResult(code, findings, checked.summary, Path(out_dir), reconciliation, escalation)


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def reconciliation_findings(reconciliation: pd.DataFrame) -> list[Finding]:
    """An error per raw form with rows that are neither mapped nor excluded with a reason."""
    bad = reconciliation[reconciliation["rows_unexplained"] > 0]
    return [
        Finding(
            "SD-RECON",
            Severity.ERROR,
            f"{row.rows_unexplained} raw rows are neither mapped nor excluded with a reason",
            dataset=f"{row.form}.csv",
        )
        for row in bad.itertuples(index=False)
    ]


def coverage_findings(coverage: pd.DataFrame) -> list[Finding]:
    """A warning per raw column no spec reads and no declaration explains (nothing lost silently)."""
    unmapped = coverage[coverage["status"] == "unmapped"]
    return [
        Finding(
            "SD-COLUMN-UNMAPPED",
            Severity.WARNING,
            "no SDTM spec reads this raw column and study.yaml unmapped_columns gives no reason",
            dataset=f"{row.form}.csv",
            variable=row.column,
        )
        for row in unmapped.itertuples(index=False)
    ]


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
