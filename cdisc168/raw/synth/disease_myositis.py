"""IMACS core set measures (IMNM): MMT-8, physician and patient global activity, HAQ-DI and
extramuscular activity, following the disease course of :mod:`disease_course` (STUDY.md §4.5, §3.5).

The levels are chosen so that the 2016 ACR/EULAR total improvement score (Aggarwal R et al.,
Arthritis Rheumatol 2017;69:898-910; weighted bands of % improvement in PhGA, PtGA, MMT, HAQ, muscle
enzyme and extramuscular activity, 0-100) behaves as in CAR-T reports:

- baseline MMT-8 100-130/150, PhGA 4-8 cm, PtGA 4-8.5 cm, HAQ-DI 0.75-2.25, extramuscular 0-3 cm
  (none in 40%: IMNM is mostly a pure myopathy);
- responders reach MMT-8 142-150 (and >10% above baseline), PhGA ≤1, PtGA ≤1.5, HAQ-DI ≤0.375 and (almost) no extramuscular
  activity at REMDAY (TIS ≥60 with a normal CK: IMNMREM), moving part of the way before;
- non-responders improve little (MMT-8 +0-4%, PhGA 0-15%, PtGA 0-15%, HAQ-DI 0-10%), so most stay
  below a moderate response (TIS <40) even with the CK fall of lab.csv;
- a flare drops MMT-8 by 22-28% from the remission value and raises PhGA by 2.5-4.5 cm (the IMACS
  worsening rule: PhGA ≥2 cm and MMT-8 ≥20%); afterwards part of the loss persists.

CK is in lab.csv; only the backbone response links it to these measures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form, iso_date
from cdisc168.raw.synth.disease_course import (
    FLARE,
    IMPROVING,
    PARTIAL,
    PRE,
    REMISSION,
    assessments,
    raw_forms,
    subject_position,
)

MEASURES = ("MMT8", "PHGA", "PTGA", "HAQDI", "EXTRAMUSC")
IMPROVING_MMT8_MAX = 141
REMISSION_MMT8_MIN = 142
HAQ_STEP = 0.125  # HAQ-DI is the mean of 8 category scores 0-3


def _subject_levels(rng: np.random.Generator, n: int) -> dict[str, dict[str, np.ndarray]]:
    """Per-subject level of each measure at baseline, remission, non-response plateau, flare, after."""
    base = {
        "MMT8": rng.integers(100, 131, n).astype(float),
        "PHGA": rng.uniform(4.0, 8.0, n),
        "PTGA": rng.uniform(4.0, 8.5, n),
        "HAQDI": rng.uniform(0.75, 2.25, n),
        "EXTRAMUSC": np.where(rng.uniform(size=n) < 0.4, 0.0, rng.uniform(0.5, 3.0, n)),
    }
    rem = {
        # >10% better than baseline, so the MMT item scores ≥20 even from a near-normal baseline.
        "MMT8": np.maximum(rng.integers(REMISSION_MMT8_MIN, 151, n), np.ceil(base["MMT8"] * 1.11)),
        "PHGA": rng.uniform(0.0, 1.0, n),
        "PTGA": rng.uniform(0.2, 1.5, n),
        "HAQDI": rng.uniform(0.0, 0.375, n),
        "EXTRAMUSC": base["EXTRAMUSC"] * rng.uniform(0.0, 0.1, n),
    }
    plateau = {
        "MMT8": base["MMT8"] * (1 + rng.uniform(0.0, 0.04, n)),
        "PHGA": base["PHGA"] * (1 - rng.uniform(0.0, 0.15, n)),
        "PTGA": base["PTGA"] * (1 - rng.uniform(0.0, 0.15, n)),
        "HAQDI": base["HAQDI"] * (1 - rng.uniform(0.0, 0.1, n)),
        "EXTRAMUSC": base["EXTRAMUSC"] * (1 - rng.uniform(0.0, 0.1, n)),
    }
    flare = {
        "MMT8": rem["MMT8"] * rng.uniform(0.72, 0.78, n),
        "PHGA": rem["PHGA"] + rng.uniform(2.5, 4.5, n),
        "PTGA": rem["PTGA"] + rng.uniform(2.5, 4.0, n),
        "HAQDI": rem["HAQDI"] + rng.uniform(0.5, 1.0, n),
        "EXTRAMUSC": rem["EXTRAMUSC"],
    }
    after = {
        "MMT8": rem["MMT8"] * rng.uniform(0.85, 0.92, n),
        "PHGA": rem["PHGA"] + rng.uniform(1.5, 3.0, n),
        "PTGA": rem["PTGA"] + rng.uniform(1.5, 3.0, n),
        "HAQDI": rem["HAQDI"] + rng.uniform(0.25, 0.6, n),
        "EXTRAMUSC": rem["EXTRAMUSC"],
    }
    return {"base": base, "rem": rem, "plateau": plateau, "flare": flare, "after": after}


def _measure(
    rng: np.random.Generator, name: str, rows: pd.DataFrame, levels: dict, pos: np.ndarray
) -> np.ndarray:
    """One measure for every row: the phase's level, with a little visit-to-visit scatter."""
    m = len(rows)
    phase = rows["PHASE"].to_numpy()
    p = rows["PROGRESS"].to_numpy()
    base, rem = levels["base"][name][pos], levels["rem"][name][pos]
    scatter = {"MMT8": 1.0, "PHGA": 0.2, "PTGA": 0.3, "HAQDI": 0.06, "EXTRAMUSC": 0.1}[name]
    screening = rows["VISIT"].to_numpy() == "SCREENING"
    noise = rng.normal(0.0, scatter, m)
    improving = base + (rem - base) * np.minimum(0.75, 0.25 + 0.6 * p)
    if name == "MMT8":
        improving = np.minimum(improving, IMPROVING_MMT8_MAX)
    value = np.select(
        [phase == PRE, phase == IMPROVING, phase == REMISSION, phase == PARTIAL, phase == FLARE],
        [
            base + np.where(screening, noise, 0.0),
            improving,
            rem,
            base + (levels["plateau"][name][pos] - base) * p + noise,
            levels["flare"][name][pos],
        ],
        default=levels["after"][name][pos],
    )
    if name == "MMT8":
        return np.clip(np.rint(value), 0, 150)
    if name == "HAQDI":
        return np.clip(np.rint(value / HAQ_STEP) * HAQ_STEP, 0.0, 3.0)
    return np.round(np.clip(value, 0.0, 10.0), 1)


def make_myositis(ctx: SynthContext) -> pd.DataFrame:
    """myositis.csv: IMACS core set measures at each IMNM disease assessment."""
    rng = ctx.rng("myositis")
    rows = assessments(ctx, ("IMNM",))
    subj = rows.drop_duplicates(["SITEID", "SUBJID"]).reset_index(drop=True)
    levels = _subject_levels(rng, len(subj))
    pos = subject_position(rows, subj)
    frame = pd.DataFrame(
        {
            "SITEID": rows["SITEID"].to_numpy(),
            "SUBJID": rows["SUBJID"].to_numpy(),
            "VISIT": rows["VISIT"].to_numpy(),
            "MYODT": iso_date(rows["VISDT"]),
        }
    )
    for name in MEASURES:
        frame[name] = _measure(rng, name, rows, levels, pos)
    return finish_form(frame, raw_forms()["myositis"], ctx.study, sort_by=["MYODT"])
