"""study.yaml: loaded into a typed object; a bad value is an error naming the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from cdisc168.study import DEFAULT_STUDY_FILE, StudyConfigError, load_study


def test_study_yaml_loads_with_the_study_facts() -> None:
    study = load_study()
    assert study.studyid == "CCAR168-AID"
    assert study.submission_folder == "ccar168-aid"
    assert isinstance(study.data_cut, dt.date)
    assert study.armcds == ("DL1", "DL2", "DL3")
    assert [d.dose for d in study.dose_levels] == [0.5, 1.0, 2.0]
    assert set(study.indication_codes) == {"SLE", "LN", "IMNM", "NMOSD", "RRMS", "MG"}
    assert study.thresholds.bcell_clearance_per_ul == 1.0
    assert study.thresholds.dlt_window_days == (0, 28)
    assert study.standards["sdtmig"] == "3.4" and study.standards["adamig"] == "1.3"


def test_visitdy_has_no_day_zero() -> None:
    """STUDY.md: VISITDY is the planned study day: protocol D0 -> 1, D7 -> 8, D-7 -> -7."""
    study = load_study()
    assert study.visit_by_name("DAY 0 INFUSION").visitdy == 1
    assert study.visit_by_name("DAY 7").visitdy == 8
    assert study.visit_by_name("BASELINE").visitdy == -7
    assert study.visit_by_name("MONTH 24").visitdy == 731


def _write_variant(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(DEFAULT_STUDY_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.update(data_cut="2026-02-30"), "data_cut"),
        (lambda d: d.pop("studyid"), "studyid"),
        (lambda d: d["visits"][3].update(window=[5, 1]), "visits[3].window"),
        (lambda d: d["visits"][9].update(day=40), "visits[9].window"),
        (lambda d: d["dose_levels"][1].update(dose="one"), "dose_levels[1].dose"),
        (lambda d: d["thresholds"].update(bcell_clearance_per_ul=-1), "thresholds.bcell_clearance_per_ul"),
        (lambda d: d["remission_map"].pop("MG"), "remission_map"),
        (lambda d: d.update(submission_folder="../escape"), "submission_folder"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, change, key: str) -> None:  # type: ignore[no-untyped-def]
    path = _write_variant(tmp_path, change)
    with pytest.raises(StudyConfigError) as error:
        load_study(path)
    assert f": {key}:" in str(error.value)
    assert str(path) in str(error.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StudyConfigError, match="not found"):
        load_study(tmp_path / "nope.yaml")
