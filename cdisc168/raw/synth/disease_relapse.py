"""Relapse form: NMOSD attacks, MS relapses, SLE/LN flares, MG exacerbations and IMNM flares after
infusion (pre-study relapses are counted in dxhist RELAPSES_24M, not here). STUDY.md §3.5 and §4.5.

Every backbone relapse (RELAPSEDAY of an infused subject) is one adjudicated record: onset D0 +
RELAPSEDAY, the episode end of :func:`disease_course.relapse_episodes` (empty when still ongoing at
the last contact), symptoms matching the flare type (for MS/NMOSD the subject's most affected
functional system), an objective change, no fever or infection, the EDSS at the relapse visit for
MS/NMOSD and the rescue treatment.

Pseudo-relapses: a few infused MS/NMOSD subjects without a relapse report a transient worsening
during a febrile infection. It is recorded (FEVER_INFECTION Y, no objective change, EDSS unchanged)
but not adjudicated as a relapse (ADJUDICATED N), so only the adjudication tells it apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form, iso_date
from cdisc168.raw.synth.disease_course import (
    NEURO,
    SUBJECT_COLUMNS,
    day_date,
    raw_forms,
    relapse_episodes,
    with_phase,
)
from cdisc168.raw.synth.disease_neuro import assessed_edss, edss_level, edss_profile

SYMPTOMS = {
    "ARTHRITIS": "Polyarthritis of hands and wrists with inflammatory rash",
    "MUCOCUTANEOUS": "Inflammatory rash, oral ulcers and diffuse alopecia",
    "SEROSITIS": "Pleuritic chest pain with pleural and pericardial effusion",
    "RENAL": "Renal flare: recurrent proteinuria with haematuria and red cell casts",
    "GENERALISED": "Worsening generalised fatigable weakness with ptosis and diplopia",
    "BULBAR": "Worsening dysarthria, dysphagia and chewing fatigue",
    "CRISIS": "Myasthenic crisis with respiratory insufficiency",
    "MYOSITIS": "Recurrent proximal muscle weakness with rising CK",
}
# MS/NMOSD symptoms by the most affected functional system.
NEURO_SYMPTOMS = {
    "NMOSD": {
        "FS_VIS": "Acute optic neuritis with severe loss of visual acuity",
        "FS_BST": "Area postrema syndrome: intractable hiccups, nausea and vomiting",
        "FS_PYR": "Acute transverse myelitis with paraparesis",
        "FS_CER": "Brainstem attack with ataxia and vertigo",
        "FS_SEN": "Acute myelitis with a sensory level and painful tonic spasms",
        "FS_BB": "Acute myelitis with urinary retention and leg weakness",
        "FS_MEN": "Encephalopathy with somnolence",
    },
    "RRMS": {
        "FS_VIS": "Unilateral optic neuritis with painful eye movement",
        "FS_BST": "Diplopia with internuclear ophthalmoplegia",
        "FS_PYR": "Subacute weakness of the left leg",
        "FS_CER": "Gait ataxia and limb dysmetria",
        "FS_SEN": "Ascending numbness of both legs",
        "FS_BB": "Urinary urgency with leg paraesthesia",
        "FS_MEN": "Cognitive slowing and fatigue",
    },
}
RESCUE = {
    "ARTHRITIS": "Prednisone 30 mg/day tapered over 8 weeks",
    "MUCOCUTANEOUS": "Prednisone 20 mg/day tapered over 6 weeks",
    "SEROSITIS": "Prednisone 0.5 mg/kg/day tapered over 8 weeks",
    "RENAL": "IV methylprednisolone 500 mg/day x3, then prednisone taper and mycophenolate mofetil",
    "GENERALISED": "IVIG 2 g/kg over 5 days",
    "BULBAR": "IVIG 2 g/kg over 5 days",
    "CRISIS": "Plasma exchange x5 sessions",
    "MYOSITIS": "IV methylprednisolone 500 mg/day x3 and IVIG 2 g/kg",
    "ATTACK": "IV methylprednisolone 1 g/day x5 followed by plasma exchange x5",
    "RELAPSE": "IV methylprednisolone 1 g/day x3",
}
PSEUDO_SYMPTOMS = (
    "Transient worsening of previous leg weakness and numbness during febrile urinary tract infection"
)
P_PSEUDO = 0.08
PSEUDO_DAYS = (45, 600)
PSEUDO_DURATION = (2, 8)


def _true_relapses(ctx: SynthContext) -> pd.DataFrame:
    """One adjudicated record per backbone relapse episode."""
    episodes = relapse_episodes(ctx).merge(
        ctx.subjects[["SITEID", "SUBJID", "D0", "LASTDAY"]], on=["SITEID", "SUBJID"], validate="one_to_one"
    )
    episodes = episodes.merge(
        assessed_edss(ctx)[1], on=["SITEID", "SUBJID"], how="left", validate="one_to_one"
    )
    neuro_text = pd.Series(
        {(i, s): text for i, by_system in NEURO_SYMPTOMS.items() for s, text in by_system.items()}
    )
    keys = pd.MultiIndex.from_frame(episodes[["INDICAT", "SYSTEM"]].fillna(""))
    symptoms = np.where(
        episodes["INDICAT"].isin(NEURO),
        neuro_text.reindex(keys).to_numpy(),
        episodes["FLARETYPE"].map(SYMPTOMS).to_numpy(),
    )
    ended = episodes["ENDDAY"] <= episodes["LASTDAY"]
    return pd.DataFrame(
        {
            "SITEID": episodes["SITEID"],
            "SUBJID": episodes["SUBJID"],
            "ONSETDT": iso_date(day_date(episodes["D0"], episodes["ONSETDAY"])),
            "ENDDT": iso_date(day_date(episodes["D0"], episodes["ENDDAY"]).where(ended)),
            "SYMPTOMS": symptoms,
            "OBJECTIVE_CHG": "Y",
            "EDSS_AT_RELAPSE": episodes["EDSS_AT_RELAPSE"],
            "FEVER_INFECTION": "N",
            "RESCUE_TX": episodes["FLARETYPE"].map(RESCUE).to_numpy(),
            "ADJUDICATED": "Y",
        }
    )


def _pseudo_relapses(ctx: SynthContext, rng: np.random.Generator) -> pd.DataFrame:
    """Febrile pseudo-relapses of infused MS/NMOSD subjects without a relapse (at least one if any fits)."""
    subj = ctx.subjects
    low, high = PSEUDO_DAYS
    fits = (
        subj["INDICAT"].isin(NEURO)
        & (subj["PATH"] == "INFUSED")
        & subj["RELAPSEDAY"].isna()
        & (subj["LASTDAY"] >= low + PSEUDO_DURATION[1] + 1)
    ).to_numpy()
    chosen = fits & (rng.uniform(size=len(subj)) < P_PSEUDO)
    if fits.any() and not chosen.any():
        chosen[rng.choice(np.flatnonzero(fits))] = True
    cases = subj.loc[chosen, SUBJECT_COLUMNS].reset_index(drop=True)
    n = len(cases)
    last = np.minimum(cases["LASTDAY"].to_numpy() - PSEUDO_DURATION[1] - 1, high)
    onset = np.floor(low + rng.uniform(size=n) * (last - low + 1))
    end = onset + rng.integers(PSEUDO_DURATION[0], PSEUDO_DURATION[1] + 1, n)
    at_onset = with_phase(
        cases.assign(
            VISIT=ctx.study.unscheduled_visit, DAY=onset, NOMDAY=onset, ONSETDAY=np.nan, ENDDAY=np.nan
        )
    )
    return pd.DataFrame(
        {
            "SITEID": cases["SITEID"],
            "SUBJID": cases["SUBJID"],
            "ONSETDT": iso_date(day_date(cases["D0"], onset)),
            "ENDDT": iso_date(day_date(cases["D0"], end)),
            "SYMPTOMS": PSEUDO_SYMPTOMS,
            "OBJECTIVE_CHG": "N",
            "EDSS_AT_RELAPSE": edss_level(rng, at_onset, edss_profile(ctx)),
            "FEVER_INFECTION": "Y",
            "RESCUE_TX": None,
            "ADJUDICATED": "N",
        }
    )


def make_relapse(ctx: SynthContext) -> pd.DataFrame:
    """relapse.csv: adjudicated relapses/attacks/flares and febrile pseudo-relapses (see docstring)."""
    rng = ctx.rng("relapse")
    frame = pd.concat([_true_relapses(ctx), _pseudo_relapses(ctx, rng)], ignore_index=True)
    return finish_form(frame, raw_forms()["relapse"], ctx.study, sort_by=["ONSETDT"])
