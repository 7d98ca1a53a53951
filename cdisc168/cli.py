"""The ``cdisc168`` command line: a thin shell over :mod:`cdisc168.api`.

Exit codes: 0 = done, nothing of severity error; 1 = done but errors were found; 2 = could not run
(bad input or arguments; nothing written). Problems are printed as a table (file, row, column, value,
rule, message), never as a traceback; ``--debug`` shows the traceback of an unexpected failure.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from cdisc168 import __version__, api
from cdisc168.adam.dose_escalation import dose_escalation_markdown
from cdisc168.findings import Findings, Severity
from cdisc168.raw.forms import FormCatalogueError
from cdisc168.study import StudyConfigError, load_study
from cdisc168.write.package import UnsafePathError

MAX_ROWS_PRINTED = 200
_EXPECTED_ERRORS = (StudyConfigError, FormCatalogueError, UnsafePathError, ValueError, OSError)


class _Ui:
    """Console output: progress on a terminal, quiet otherwise or with ``--quiet``."""

    def __init__(self, quiet: bool) -> None:
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.show_progress = not quiet and self.err.is_terminal
        self.quiet = quiet

    @contextmanager
    def progress(self) -> Iterator[Callable[[str], None]]:
        if not self.show_progress:
            yield lambda _message: None
            return
        with self.err.status("Starting") as status:
            yield lambda message: status.update(message)

    def say(self, message: str) -> None:
        if not self.quiet:
            self.out.print(message)


def _findings_table(findings: Findings, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("severity", "file", "row", "column", "value", "rule", "message"):
        table.add_column(column, overflow="fold")
    for f in list(findings.sorted())[:MAX_ROWS_PRINTED]:
        table.add_row(
            f.severity.value,
            f.dataset,
            "" if f.row is None else str(f.row),
            f.variable,
            f.value,
            f.rule,
            f.message,
        )
    return table


def _print_findings(ui: _Ui, findings: Findings, report: Path | None, title: str) -> None:
    """Errors and warnings on the console (notices only counted); everything in ``report``."""
    shown = Findings(f for f in findings if f.severity is not Severity.NOTICE)
    if shown:
        if ui.err.is_terminal:
            ui.err.print(_findings_table(shown, title))
        else:  # one plain line per problem: stable for logs and grep
            for finding in list(shown.sorted())[:MAX_ROWS_PRINTED]:
                click.echo(str(finding), err=True)
        if len(shown) > MAX_ROWS_PRINTED:
            ui.err.print(f"... {len(shown) - MAX_ROWS_PRINTED} more not shown")
    notices = len(findings) - len(shown)
    if notices:
        ui.err.print(f"{notices} notices (e.g. records excluded by the data cut) are in the findings report")
    if report is not None and findings:
        findings.write_csv(report)
        ui.err.print(f"All {len(findings)} findings written to {report}")


def _summary_table(summary: Any) -> Table:
    table = Table(title="Raw forms")
    for column in summary.columns:
        table.add_column(str(column), justify="right" if column not in ("form", "file") else "left")
    for row in summary.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    return table


def _interrupt(signum: int, _frame: object) -> None:
    """SIGTERM is handled like Ctrl-C, so an atomic output folder is cleaned up instead of left half-written."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _run(ctx: click.Context, action: Callable[[], int]) -> None:
    """Run a command; turn expected failures into a clear message and exit code 2."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = action()
    except _EXPECTED_ERRORS as exc:
        click.echo(f"error: {exc}", err=True)
        code = api.EXIT_UNUSABLE
    except KeyboardInterrupt:
        click.echo("interrupted: nothing was written", err=True)
        code = api.EXIT_UNUSABLE
    except Exception as exc:
        if ctx.find_root().params.get("debug"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
        code = api.EXIT_UNUSABLE
    ctx.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cdisc168")
@click.option("--quiet", "-q", is_flag=True, help="No progress display and no summary output.")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected failure.")
@click.option(
    "--study",
    "study_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Study configuration (default: mappings/study.yaml of this repository).",
)
@click.pass_context
def main(ctx: click.Context, quiet: bool, debug: bool, study_file: Path | None) -> None:
    """cdisc168: C-CAR168 raw EDC data to an SDTM/ADaM submission package.

    Exit codes: 0 ok; 1 done but errors found; 2 could not run (nothing written).
    """
    ctx.obj = {"ui": _Ui(quiet), "study_file": study_file}


def _study(ctx: click.Context):  # type: ignore[no-untyped-def]
    return load_study(ctx.obj["study_file"])


@main.command("check-raw")
@click.argument("raw_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("raw_findings.csv"),
    show_default=True,
    help="CSV file that receives every problem found.",
)
@click.pass_context
def check_raw_command(ctx: click.Context, raw_dir: Path, report: Path) -> None:
    """Check the raw EDC forms in RAW_DIR against their input contracts.

    Every problem is collected in one pass and printed as a table (file, row, column, value, rule) and
    written to --report. Exit 2 if any error was found, else 0.
    """
    ui: _Ui = ctx.obj["ui"]

    def action() -> int:
        with ui.progress() as progress:
            result = api.check_raw(raw_dir, _study(ctx), progress=progress)
        if not ui.quiet:
            ui.out.print(_summary_table(result.summary))
        _print_findings(ui, result.findings, report, f"Raw input problems in {raw_dir}")
        counts = result.findings.counts()
        ui.say(f"{counts['error']} errors, {counts['warning']} warnings")
        return result.exit_code

    _run(ctx, action)


@main.command("build")
@click.option(
    "--raw",
    "raw_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("fixtures/raw"),
    show_default=True,
    help="Folder with one CSV per raw EDC form.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("submission"),
    show_default=True,
    help="Output folder; replaced atomically only when the build completes.",
)
@click.pass_context
def build_command(ctx: click.Context, raw_dir: Path, out_dir: Path) -> None:
    """Build the submission package from RAW forms into OUT.

    Raw input that breaks its contract stops the build (exit 2): nothing is written to OUT, and the
    problems go to OUT's sibling file <OUT>-raw-findings.csv.
    """
    ui: _Ui = ctx.obj["ui"]

    def action() -> int:
        with ui.progress() as progress:
            result = api.build(raw_dir, out_dir, _study(ctx), progress=progress)
        if not ui.quiet:
            ui.out.print(_summary_table(result.summary))
        report = None if result.out_dir else out_dir.parent / f"{out_dir.name}-raw-findings.csv"
        _print_findings(ui, result.findings, report, f"Raw input problems in {raw_dir}")
        if result.dose_escalation is not None and not ui.quiet:
            ui.out.print(dose_escalation_markdown(result.dose_escalation))
        if result.out_dir:
            counts = result.findings.counts()
            ui.say(
                f"Package written to {result.out_dir} ({counts['error']} errors, {counts['warning']} warnings, "
                f"{counts['notice']} notices; all in {result.out_dir / 'reports' / 'findings.csv'})"
            )
        else:
            reason = result.problem or "the raw input is unusable"
            ui.err.print(f"Build stopped: {reason}; nothing was written.")
        return result.exit_code

    _run(ctx, action)


@main.command("synth")
@click.option(
    "--subjects", "n_subjects", type=click.IntRange(min=1), default=api.DEFAULT_SUBJECTS, show_default=True
)
@click.option("--seed", type=int, default=api.DEFAULT_SEED, show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write.",
)
@click.pass_context
def synth_command(ctx: click.Context, n_subjects: int, seed: int, out_dir: Path) -> None:
    """Write seeded synthetic C-CAR168 raw EDC forms (one CSV per form) to OUT.

    The same seed and number of subjects give the same bytes. OUT is replaced as a whole.
    """
    ui: _Ui = ctx.obj["ui"]

    def action() -> int:
        with ui.progress() as progress:
            progress(f"Generating {n_subjects} subjects")
            paths = api.synth(out_dir, n_subjects, seed, _study(ctx))
        ui.say(f"{len(paths)} raw forms for {n_subjects} subjects written to {out_dir}")
        return api.EXIT_OK

    _run(ctx, action)


@main.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder that receives validation.xlsx, validation.html and validation.json.",
)
@click.option(
    "--ig",
    default=None,
    help='IG version to judge by instead of the one the data declare, e.g. "3.3" or "ADaMIG 1.1".',
)
@click.pass_context
def validate_command(ctx: click.Context, path: Path, out_dir: Path | None, ig: str | None) -> None:
    """Validate the SDTM/ADaM datasets (XPT or Dataset-JSON, with or without define.xml) under PATH.

    Judged against the shipped SDTMIG 3.4 / ADaMIG 1.3 metadata and the full CDISC CT; rules that need
    another IG version's metadata are listed as not applied. Exit 0 clean, 1 errors found, 2 could not run.
    """
    ui: _Ui = ctx.obj["ui"]

    def action() -> int:
        with ui.progress() as progress:
            progress(f"Validating {path}")
            outcome = api.validate(path, out_dir, ig)
        if outcome.exit_code == api.EXIT_UNUSABLE:
            click.echo(f"error: {outcome.summary_text()}", err=True)
        else:
            ui.say(outcome.summary_text())
        return outcome.exit_code

    _run(ctx, action)


@main.command("compare")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("compare", type=click.Path(path_type=Path))
@click.option(
    "--keys",
    default=None,
    help="Comma-separated key variables (default: STUDYID/USUBJID/--SEQ for SDTM, else record number).",
)
@click.option("--tolerance", type=float, default=0.0, show_default=True, help="Absolute numeric tolerance.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder that receives compare.xlsx and compare.txt.",
)
@click.pass_context
def compare_command(
    ctx: click.Context, base: Path, compare: Path, keys: str | None, tolerance: float, out_dir: Path | None
) -> None:
    """Compare two datasets (XPT, Dataset-JSON, CSV or parquet) for double programming.

    Prints attribute differences, variables and records only in one, and value differences (numbers
    within --tolerance, text exactly). Exit 0 equal, 1 different, 2 could not compare.
    """
    ui: _Ui = ctx.obj["ui"]

    def action() -> int:
        key_list = None if keys is None else [k.strip() for k in keys.split(",") if k.strip()]
        result = api.compare(base, compare, keys=key_list, tolerance=tolerance, out_dir=out_dir)
        ui.say(result.summary_text())
        return api.EXIT_OK if result.equal else api.EXIT_FINDINGS

    _run(ctx, action)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
