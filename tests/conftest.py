"""Shared fixtures: the study, the raw form catalogue and a small valid raw folder built from it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from cdisc168.raw.forms import ColumnSpec, FormCatalogue, FormSpec, load_forms
from cdisc168.study import Study, load_study

FIXTURE_RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"

SUBJECTS: tuple[tuple[str, str], ...] = (("01", "0001"), ("01", "0002"), ("02", "0003"))


@pytest.fixture(scope="session")
def study() -> Study:
    return load_study()


@pytest.fixture(scope="session")
def forms() -> FormCatalogue:
    return load_forms()


def _value(column: ColumnSpec, record: int, study: Study) -> str:
    """A valid value of ``column`` for the ``record``-th record (0-based) of a subject."""
    if column.type == "date":
        return f"2024-03-{record + 1:02d}"
    if column.type == "time":
        return "08:30"
    if column.type == "code":
        return column.values[0]
    if column.type == "yn":
        return "Y"
    if column.type == "visit":
        return study.visit_names[0]
    if column.type in ("int", "float"):
        low = column.min if column.min is not None else 1
        number = min(low, column.max) if column.max is not None else low
        return str(int(number)) if column.type == "int" else f"{float(number):g}"
    return f"TEXT {record + 1}"


def make_valid_form_frame(form: FormSpec, study: Study, records_per_subject: int = 2) -> pd.DataFrame:
    """A valid form: one record per subject for one-per-subject forms, otherwise several per subject."""
    per_subject = 1 if form.one_per_subject else records_per_subject
    rows = []
    for site, subject in SUBJECTS:
        for record in range(per_subject):
            row = {c.name: _value(c, record, study) for c in form.columns}
            row.update(STUDYID=study.studyid, SITEID=site, SUBJID=subject, FORMSEQ=str(record + 1))
            rows.append(row)
    return pd.DataFrame(rows, columns=list(form.column_names), dtype="str")


class RawFolder:
    """A raw folder in ``tmp_path`` holding a valid version of every form of the catalogue.

    ``frames`` are the written forms (text); edit one and call :meth:`write` to put it back.
    """

    def __init__(self, path: Path, study: Study, forms: FormCatalogue, empty: tuple[str, ...] = ("death",)):
        self.path = path
        self.frames = {
            f.name: make_valid_form_frame(f, study).iloc[0:0]
            if f.name in empty
            else make_valid_form_frame(f, study)
            for f in forms
        }
        for name in self.frames:
            self.write(name)

    def file(self, form: str) -> Path:
        return self.path / f"{form}.csv"

    def write(self, form: str, frame: pd.DataFrame | None = None) -> Path:
        if frame is not None:
            self.frames[form] = frame
        path = self.file(form)
        self.frames[form].to_csv(path, index=False, lineterminator="\n")
        return path


@pytest.fixture
def raw_folder(tmp_path: Path, study: Study, forms: FormCatalogue) -> RawFolder:
    """A fresh, fully valid raw folder (``death.csv`` is header-only: a form may have no records)."""
    folder = tmp_path / "raw"
    folder.mkdir()
    return RawFolder(folder, study, forms)


@pytest.fixture
def valid_form_frame() -> Callable[..., pd.DataFrame]:
    """:func:`make_valid_form_frame`: a valid frame of one form (text), e.g. to validate directly."""
    return make_valid_form_frame


@pytest.fixture(scope="session")
def sdtm():  # type: ignore[no-untyped-def]
    """The SDTM stage run once on the built-in fixture (fixtures/raw): an SdtmResult."""
    from cdisc168.raw.load import load_raw
    from cdisc168.sdtm.build import build_sdtm, load_specs
    from cdisc168.standards.study_ct import load_study_ct

    study = load_study()
    forms = load_forms()
    raw, findings = load_raw(FIXTURE_RAW, study, forms)
    assert not findings.has_errors
    return build_sdtm(raw, study, forms, load_specs(study.mappings_dir, forms), load_study_ct())


@pytest.fixture(scope="session")
def adam_datasets(sdtm):  # type: ignore[no-untyped-def]
    """The ADaM stage run once on the session's SDTM: dataset name → frame."""
    from cdisc168.adam.build import build_adam
    from cdisc168.adam_spec import load_adam_specs

    study = load_study()
    return build_adam(sdtm.datasets, study, load_adam_specs(study.mappings_dir))
