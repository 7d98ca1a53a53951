"""Entry points of the synthetic generator: :func:`synthesize` and :func:`write_synthetic`.

Each form generator module exposes ``GENERATORS``: form name → function(SynthContext) → the finished
raw form (see :func:`cdisc168.raw.synth.context.finish_form`). Every form of the catalogue must have
exactly one generator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cdisc168.raw.forms import FormCatalogue, load_forms
from cdisc168.raw.synth import core_forms, disease, labs, safety
from cdisc168.raw.synth.context import SynthContext, stream
from cdisc168.raw.synth.subjects import make_subjects
from cdisc168.raw.synth.visits import align_completion, make_visits
from cdisc168.study import Study, load_study
from cdisc168.write.package import atomic_folder

DEFAULT_SUBJECTS = 24
DEFAULT_SEED = 168
Generator = Callable[[SynthContext], pd.DataFrame]
MODULES = (core_forms, safety, labs, disease)


def _generators(forms: FormCatalogue) -> dict[str, Generator]:
    generators: dict[str, Generator] = {}
    for module in MODULES:
        for name, fn in module.GENERATORS.items():
            if name in generators:
                raise RuntimeError(f"two generators for form {name!r}")
            generators[name] = fn
    missing = sorted(set(forms.names) - set(generators))
    unknown = sorted(set(generators) - set(forms.names))
    if missing or unknown:
        raise RuntimeError(
            f"synthetic generators: forms without generator {missing}, unknown forms {unknown}"
        )
    return generators


def make_context(n_subjects: int, seed: int, study: Study) -> SynthContext:
    """The subject and visit backbones every form generator reads."""
    subjects = make_subjects(stream(seed, "subjects"), n_subjects, study)
    visits = make_visits(stream(seed, "visits"), subjects, study)
    subjects = align_completion(subjects, visits, study)
    return SynthContext(study=study, seed=seed, subjects=subjects, visits=visits)


def synthesize(
    n_subjects: int = DEFAULT_SUBJECTS,
    seed: int = DEFAULT_SEED,
    study: Study | None = None,
    forms: FormCatalogue | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate every raw form for ``n_subjects`` screened subjects, reproducibly from ``seed``."""
    study = study or load_study()
    forms = forms or load_forms()
    ctx = make_context(n_subjects, seed, study)
    generators = _generators(forms)
    return {name: generators[name](ctx) for name in forms.names}


def write_forms(frames: dict[str, pd.DataFrame], out_dir: Path | str) -> list[Path]:
    """Write one UTF-8 CSV per form into ``out_dir``, replacing the folder as a whole, atomically."""
    with atomic_folder(out_dir) as staging:
        for name, frame in frames.items():
            frame.to_csv(staging / f"{name}.csv", index=False, lineterminator="\n", encoding="utf-8")
    return [Path(out_dir) / f"{name}.csv" for name in frames]


def write_synthetic(
    out_dir: Path | str,
    n_subjects: int = DEFAULT_SUBJECTS,
    seed: int = DEFAULT_SEED,
    study: Study | None = None,
    forms: FormCatalogue | None = None,
) -> list[Path]:
    """Generate and write the synthetic raw forms (same seed, same bytes). Returns the paths."""
    return write_forms(synthesize(n_subjects, seed, study, forms), out_dir)
