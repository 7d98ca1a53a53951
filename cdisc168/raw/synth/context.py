"""Shared machinery of the synthetic C-CAR168 generator: seeding, the generation context, and the
finishing step that turns a generator's frame into a raw form exactly as the catalogue defines it.

Determinism: every generator draws from its own random stream, seeded from (seed, generator name), so
the output of one form does not change when another generator changes how many numbers it draws.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.raw.forms import FormSpec
from cdisc168.study import Study


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible random stream for one generator (``name`` is its salt)."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode("ascii"))]))


@dataclass(frozen=True)
class SynthContext:
    """Everything a form generator may read: the study, the subject and visit backbones, the seed.

    ``subjects`` has one row per subject (see :func:`cdisc168.raw.synth.subjects.make_subjects` for
    its columns); ``visits`` one row per subject and attended visit
    (:func:`cdisc168.raw.synth.visits.make_visits`).
    """

    study: Study
    seed: int
    subjects: pd.DataFrame
    visits: pd.DataFrame

    def rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, name)


def iso_date(values: pd.Series) -> pd.Series:
    """datetime64 → 'YYYY-MM-DD' text (missing stays missing)."""
    return values.dt.strftime("%Y-%m-%d").astype("object").where(values.notna(), None)


def iso_time(values: pd.Series) -> pd.Series:
    """datetime64 → 'HH:MM' text (missing stays missing)."""
    return values.dt.strftime("%H:%M").astype("object").where(values.notna(), None)


def finish_form(frame: pd.DataFrame, form: FormSpec, study: Study, sort_by: list[str]) -> pd.DataFrame:
    """Give a generated frame the exact raw layout of ``form``.

    Adds STUDYID, numbers FORMSEQ 1..n within each subject in ``sort_by`` order (the EDC row id),
    checks that the generator produced exactly the catalogue's columns (a generator bug is a loud
    error, never a silently missing column) and returns them in catalogue order.
    """
    out = frame.copy()
    out["STUDYID"] = study.studyid
    if "VISIT" not in out.columns:
        out["VISIT"] = None
    keys = ["SITEID", "SUBJID"]
    out = out.sort_values(keys + [c for c in sort_by if c not in keys], kind="mergesort").reset_index(
        drop=True
    )
    out["FORMSEQ"] = out.groupby(keys, sort=False).cumcount() + 1
    expected = list(form.column_names)
    missing = [c for c in expected if c not in out.columns]
    extra = [c for c in out.columns if c not in expected]
    if missing or extra:
        raise ValueError(f"generator for {form.file}: missing columns {missing}, unexpected columns {extra}")
    for column in form.columns:
        if column.type == "int" and pd.api.types.is_numeric_dtype(out[column.name]):
            out[column.name] = out[column.name].round().astype("Int64")
    return out[expected]
