"""Synthetic efficacy forms of C-CAR168: the indication-specific disease course (STUDY.md §4.5) as
seen by SLEDAI-2K, EDSS, MRI, MG-ADL/QMG, the IMACS core set, the relapse form and the RNA-seq
manifest. The shared course (phases from the backbone's RESPONDER / REMDAY / RELAPSEDAY) lives in
:mod:`disease_course`; each instrument has its own module.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cdisc168.raw.synth.context import SynthContext
from cdisc168.raw.synth.disease_mg import make_mg
from cdisc168.raw.synth.disease_myositis import make_myositis
from cdisc168.raw.synth.disease_neuro import make_edss, make_mri
from cdisc168.raw.synth.disease_relapse import make_relapse
from cdisc168.raw.synth.disease_rnaseq import make_rnaseq_manifest
from cdisc168.raw.synth.disease_sle import make_sledai

GENERATORS: dict[str, Callable[[SynthContext], pd.DataFrame]] = {
    "sledai": make_sledai,
    "edss": make_edss,
    "relapse": make_relapse,
    "mri": make_mri,
    "mg": make_mg,
    "myositis": make_myositis,
    "rnaseq_manifest": make_rnaseq_manifest,
}
