"""The command line: help everywhere, exit codes, one line per problem, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cdisc168.cli import main
from cdisc168.raw.synth.generate import write_synthetic


@pytest.fixture(scope="module")
def good_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "raw"
    write_synthetic(out, n_subjects=12, seed=3)
    return out


@pytest.fixture
def raw_copy(good_raw: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "raw"
    shutil.copytree(good_raw, copy)
    return copy


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [[], ["build"], ["check-raw"], ["synth"]])
def test_every_command_has_help(command: list[str]) -> None:
    code, output = run(*command, "--help")
    assert code == 0 and "Usage:" in output


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "cdisc168"
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "check-raw" in done.stdout


def test_good_raw_data_checks_clean_and_builds(good_raw: Path, tmp_path: Path) -> None:
    code, output = run("check-raw", str(good_raw), "--report", str(tmp_path / "f.csv"))
    assert code == 0, output
    out = tmp_path / "submission"
    code, output = run("--quiet", "build", "--raw", str(good_raw), "--out", str(out))
    assert code == 0, output
    summary = pd.read_csv(out / "reports" / "raw_summary.csv")
    assert summary.loc[summary["form"] == "enrol", "rows"].item() == 12


def _set_value(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` is the CSV line number (header = 1)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value
    frame.to_csv(path, index=False, lineterminator="\n")


def test_corrupted_inputs_give_exit_2_and_one_line_per_problem(raw_copy: Path, tmp_path: Path) -> None:
    _set_value(raw_copy / "ae.csv", 3, "AESTDT", "2024-02-30")
    _set_value(raw_copy / "dm.csv", 2, "SEX", "FEMALE")
    vs = pd.read_csv(raw_copy / "vs.csv", dtype=str, keep_default_na=False)
    vs.drop(columns=["HR"]).to_csv(raw_copy / "vs.csv", index=False, lineterminator="\n")
    report = tmp_path / "problems.csv"
    code, output = run("check-raw", str(raw_copy), "--report", str(report))
    assert code == 2
    problems = pd.read_csv(report, dtype=str, keep_default_na=False)
    errors = problems[problems["severity"] == "error"]
    bad_date = errors[(errors["dataset"] == "ae.csv") & (errors["variable"] == "AESTDT")]
    assert bad_date[["row", "value"]].values.tolist() == [["3", "2024-02-30"]]
    bad_code = errors[(errors["dataset"] == "dm.csv") & (errors["variable"] == "SEX")]
    assert bad_code[["row", "value"]].values.tolist() == [["2", "FEMALE"]]
    assert ((errors["dataset"] == "vs.csv") & (errors["variable"] == "HR")).sum() == 1
    assert "2024-02-30" in output and "FEMALE" in output


def test_build_on_unusable_input_writes_nothing(raw_copy: Path, tmp_path: Path) -> None:
    _set_value(raw_copy / "ae.csv", 2, "AESTDT", "2024-13-01")
    out = tmp_path / "submission"
    code, output = run("build", "--raw", str(raw_copy), "--out", str(out))
    assert code == 2
    assert not out.exists()
    assert (tmp_path / "submission-raw-findings.csv").exists()
    assert "nothing was written" in output


def test_missing_raw_folder_is_a_clear_error(tmp_path: Path) -> None:
    code, output = run("check-raw", str(tmp_path / "absent"), "--report", str(tmp_path / "r.csv"))
    assert code == 2
    assert "absent" in output


def test_bad_study_config_names_the_key(tmp_path: Path, good_raw: Path) -> None:
    study = tmp_path / "study.yaml"
    text = (Path(__file__).resolve().parent.parent / "mappings" / "study.yaml").read_text(encoding="utf-8")
    study.write_text(text.replace("data_cut: 2026-03-31", "data_cut: 2026-31-03"), encoding="utf-8")
    code, output = run("--study", str(study), "check-raw", str(good_raw))
    assert code == 2
    assert "data_cut" in output


def test_synth_rejects_zero_subjects(tmp_path: Path) -> None:
    code, _ = run("synth", "--subjects", "0", "--out", str(tmp_path / "x"))
    assert code == 2
