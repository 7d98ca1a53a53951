"""The Python API: every CLI command is one of these functions (the CLI is a thin shell over them).

Exit codes (DESIGN.md): 0 = done, no finding of severity error; 1 = done (outputs written) but
conformance errors were found; 2 = could not run (unusable input, bad spec): nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
from cdisc168.check.catalog import load_catalog
from cdisc168.check.report import write_reports
from cdisc168.check.run import ValidationResult, run_rules
from cdisc168.check.schemas import check_sdtm
from cdisc168.check.submission import Submission
from cdisc168.compare import CompareResult, compare_datasets
from cdisc168.compare import write_xlsx as write_compare_xlsx
from cdisc168.findings import Finding, Findings, Severity
from cdisc168.raw.forms import FormCatalogue, load_forms
from cdisc168.raw.load import RawStudy, load_raw
from cdisc168.raw.synth.generate import DEFAULT_SEED, DEFAULT_SUBJECTS, write_synthetic
from cdisc168.sdtm.build import build_sdtm, load_specs
from cdisc168.sdtm.reconcile import column_coverage, reconcile, spec_forms
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import Study, load_study
from cdisc168.validate import ValidateOutcome
from cdisc168.validate import validate as validate_folder
from cdisc168.write.ectd import (
    DefineMismatchError,
    Layout,
    PackageInput,
    write_data_and_define,
)
from cdisc168.write.guides import Explanations, load_explanations, render_adrg, render_csdrg
from cdisc168.write.manifest import write_manifest
from cdisc168.write.package import atomic_folder

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
    problem: str = ""


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
    explanations = load_explanations(study.mappings_dir / "explanations.yaml")
    package = PackageInput(study, study_ct, sdtm.datasets, specs, adam, adam_specs)
    progress("Writing the package")
    try:
        with atomic_folder(out_dir) as staging:
            layout = Layout(staging, study.submission_folder)
            written = write_data_and_define(layout, package)
            progress("Validating the package")
            submission = Submission.from_frames(written.datasets, written.metadata, define=written.define)
            validation = validate_written(submission, findings)
            findings.extend(validation.findings)
            write_guides(layout, package, findings, explanations)
            _write_reports(layout, study, findings, validation, submission, checked.summary, reconciliation)
            _csv(unmapped_rows, layout.reports / "exclusions.csv")
            _csv(coverage, layout.reports / "column_coverage.csv")
            _csv(
                sdtm.lineage.rename(columns={"_FORM": "form", "_ROW": "row"}), layout.reports / "lineage.csv"
            )
            write_dose_escalation(escalation, layout.reports)
            write_manifest(staging, studyid=study.studyid, data_cut=study.data_cut.isoformat())
    except DefineMismatchError as mismatch:
        findings.extend(mismatch.findings)
        return BuildResult(
            EXIT_UNUSABLE, findings, checked.summary, None, reconciliation, escalation, str(mismatch)
        )
    code = EXIT_FINDINGS if findings.has_errors else EXIT_OK
    return BuildResult(code, findings, checked.summary, Path(out_dir), reconciliation, escalation)


def _write_reports(
    layout: Layout,
    study: Study,
    findings: Findings,
    validation: ValidationResult,
    submission: Submission,
    summary: pd.DataFrame,
    reconciliation: pd.DataFrame,
) -> None:
    """findings.csv, the validation reports (XLSX/HTML/JSON, every finding of the build), the raw summary
    and the reconciliation."""
    reports = layout.reports
    reports.mkdir(parents=True, exist_ok=True)
    findings.write_csv(reports / "findings.csv")
    write_reports(
        replace(validation, findings=findings),
        submission,
        reports,
        title=f"Validation report of study {study.studyid} (data cut {study.data_cut.isoformat()})",
        base=layout.root,
        stamp=study.data_cut,
    )
    _csv(summary, reports / "raw_summary.csv")
    _csv(reconciliation, reports / "reconciliation.csv")


def validate_written(submission: Submission, earlier: Findings) -> ValidationResult:
    """The conformance rules on the package as written; a problem an earlier layer already reported for
    the same record and variable is not reported again (DESIGN.md "Checks")."""
    result = run_rules(submission)
    seen = {(f.dataset, f.row, f.variable) for f in earlier if f.row is not None}
    fresh = Findings(
        f for f in result.findings if f.row is None or (f.dataset, f.row, f.variable) not in seen
    )
    return replace(result, findings=fresh)


def write_guides(
    layout: Layout, package: PackageInput, findings: Findings, explanations: Explanations
) -> None:
    """The cSDRG beside the SDTM define.xml and the ADRG beside the ADaM define.xml (HTML), their
    Markdown sources in the reports."""
    study = package.study
    catalog = load_catalog()
    csdrg = render_csdrg(
        study,
        package.sdtm_specs,
        package.study_ct,
        findings,
        explanations,
        study.define_dir,
        rule_catalogue={r.id: r.description for r in catalog if r.scope != "ADaM"},
    )
    adrg = render_adrg(
        study,
        package.adam_specs,
        package.sdtm_specs,
        findings,
        explanations,
        study.define_dir,
        dict(package.adam),
        rule_catalogue={r.id: r.description for r in catalog if r.scope == "ADaM"},
    )
    layout.reports.mkdir(parents=True, exist_ok=True)
    for folder, name, guide in ((layout.sdtm, "csdrg", csdrg), (layout.adam, "adrg", adrg)):
        (folder / f"{name}.html").write_text(guide.html, encoding="utf-8")
        # Markdown is not an eCTD file type: the editable source of the guide goes to the reports
        (layout.reports / f"{name}.md").write_text(guide.markdown, encoding="utf-8")


def write_dose_escalation(escalation: DoseEscalation, reports: Path) -> None:
    (reports / "dose_escalation.csv").write_text(dose_escalation_csv(escalation), encoding="utf-8")
    (reports / "dose_escalation.md").write_text(dose_escalation_markdown(escalation), encoding="utf-8")
    (reports / "dose_escalation.html").write_text(dose_escalation_html(escalation), encoding="utf-8")


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


def validate(path: Path | str, out_dir: Path | str | None = None, ig: str | None = None) -> ValidateOutcome:
    """Validate any folder (or file) of SDTM/ADaM XPT or Dataset-JSON datasets; see :mod:`cdisc168.validate`."""
    return validate_folder(path, out_dir, ig)


def compare(
    base: Path | str,
    compare: Path | str,
    *,
    keys: Sequence[str] | None = None,
    tolerance: float = 0.0,
    out_dir: Path | str | None = None,
) -> CompareResult:
    """Compare two datasets (:func:`cdisc168.compare.compare_datasets`); with ``out_dir`` also write
    ``compare.xlsx`` and ``compare.txt`` there."""
    result = compare_datasets(base, compare, keys=keys, tolerance=tolerance)
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        write_compare_xlsx(result, folder / "compare.xlsx")
        (folder / "compare.txt").write_text(result.summary_text() + "\n", encoding="utf-8")
    return result
