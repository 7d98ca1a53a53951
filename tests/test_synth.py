"""The synthetic generator as a whole: layout, determinism, the committed fixture, contracts."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pytest

from cdisc168 import api
from cdisc168.findings import Severity
from cdisc168.raw.forms import load_forms
from cdisc168.raw.synth.generate import DEFAULT_SEED, DEFAULT_SUBJECTS, synthesize, write_synthetic

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "raw"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "raw"
    write_synthetic(out, DEFAULT_SUBJECTS, DEFAULT_SEED)
    return out


def test_every_form_has_exactly_the_catalogue_columns(regenerated: Path) -> None:
    forms = load_forms()
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(f.file for f in forms)
    for form in forms:
        header = (regenerated / form.file).read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(form.column_names), form.file


def test_fixture_is_exactly_the_default_synth_output(regenerated: Path) -> None:
    """fixtures/raw is `cdisc168 synth --out fixtures/raw` with the defaults, byte for byte."""
    names = sorted(p.name for p in FIXTURE.glob("*.csv"))
    assert names == sorted(p.name for p in regenerated.iterdir())
    _match, mismatch, errors = filecmp.cmpfiles(FIXTURE, regenerated, names, shallow=False)
    assert mismatch == [] and errors == [], f"regenerate with `make fixtures`: {mismatch + errors}"


def test_same_seed_same_frames_other_seed_other_data() -> None:
    a = synthesize(30, seed=7)
    b = synthesize(30, seed=7)
    c = synthesize(30, seed=8)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["ae"].equals(c["ae"])


def test_the_fixture_passes_its_own_input_contracts() -> None:
    checked = api.check_raw(FIXTURE)
    assert checked.findings.errors == [], [str(f) for f in checked.findings.errors[:10]]
    # The data-quality noise of STUDY.md §4.6 (repeated results) is there, as warnings only.
    assert checked.findings.of(Severity.WARNING)


def test_fixture_covers_the_cases_the_study_design_requires() -> None:
    """About 24 subjects: all five indications, all dose levels, the special paths (STUDY.md decisions)."""
    enrol = pd.read_csv(FIXTURE / "enrol.csv", dtype=str, keep_default_na=False)
    infusion = pd.read_csv(FIXTURE / "infusion.csv", dtype=str, keep_default_na=False)
    ld = pd.read_csv(FIXTURE / "ld.csv", dtype=str, keep_default_na=False)
    apher = pd.read_csv(FIXTURE / "apher.csv", dtype=str, keep_default_na=False)
    ae = pd.read_csv(FIXTURE / "ae.csv", dtype=str, keep_default_na=False)
    ds = pd.read_csv(FIXTURE / "ds.csv", dtype=str, keep_default_na=False)
    relapse = pd.read_csv(FIXTURE / "relapse.csv", dtype=str, keep_default_na=False)

    assert len(enrol) == DEFAULT_SUBJECTS
    indications = set(enrol["INDICAT"].replace({"LN": "SLE"}))  # lupus nephritis is SLE
    assert indications == {"SLE", "NMOSD", "RRMS", "MG", "IMNM"}
    assert set(infusion["DOSELVL_PLAN"]) == {"DL1", "DL2", "DL3"}
    assert (enrol["ELIGFL"] == "N").any(), "a screen failure"
    infused = set(infusion["SUBJID"])
    lymphodepleted = set(ld["SUBJID"])
    assert lymphodepleted - infused, "a subject with lymphodepletion but no infusion"
    assert set(apher["SUBJID"]) - lymphodepleted, "a subject assigned (leukapheresed) but never treated"
    assert (ae["DLT_INV"] == "Y").any(), "at least one DLT"
    crs_grades = pd.to_numeric(ae.loc[ae["IS_CRS"] == "Y", "ASTCTGR"])
    assert (crs_grades >= 2).any(), "a grade >= 2 CRS"
    assert set(ds["DSDECOD"]) - {"COMPLETED", "SCREEN FAILURE"}, "an early termination"
    assert len(relapse) >= 1, "a relapse"
