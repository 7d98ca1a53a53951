"""The disease course shared by the synthetic efficacy forms (STUDY.md §4.5 and §3.5).

The subject backbone decides who responds (RESPONDER), when remission is first reached (REMDAY,
protocol day) and when a responder relapses (RELAPSEDAY). This module turns that into one *phase* per
disease assessment, which every instrument (SLEDAI-2K, EDSS, MG-ADL/QMG, IMACS core set, MRI) then
translates into its own scores:

===========  =================================================================================
PRE          screening and baseline (D-7): active disease at the level the subject entered with
IMPROVING    responder before REMDAY: partial improvement, not yet at remission level
REMISSION    responder from the first visit whose nominal day reaches REMDAY until a relapse
PARTIAL      infused non-responder: improves only partly (plateau by month 3), never remission
FLARE        assessment during a relapse / attack / flare episode (onset = RELAPSEDAY)
POSTFLARE    assessment after the episode ended: residual activity, never back to remission
===========  =================================================================================

Relapse episodes (:func:`relapse_episodes`) are drawn once from their own random stream so the
relapse form and every instrument agree on onset, end and flare type.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from cdisc168.raw.forms import FormCatalogue, load_forms
from cdisc168.raw.synth.context import SynthContext

PRE = "PRE"
IMPROVING = "IMPROVING"
REMISSION = "REMISSION"
PARTIAL = "PARTIAL"
FLARE = "FLARE"
POSTFLARE = "POSTFLARE"

PRE_VISITS = ("SCREENING", "BASELINE")


def disease_visits(ctx: SynthContext) -> tuple[str, ...]:
    """Clinical disease assessments (SLEDAI-2K, EDSS, MG-ADL/QMG, IMACS core set): screening, baseline,
    then the scheduled assessments of study.yaml ``disease_assessment_visits``."""
    return (*PRE_VISITS, *ctx.study.disease_assessment_visits)


# An early termination assessment this close to the previous one would repeat it: not done.
ET_MIN_GAP_DAYS = 14
# Non-responders reach their plateau of partial improvement by month 3.
PARTIAL_PLATEAU_DAY = 90

NEURO = ("NMOSD", "RRMS")
# Episode duration (days) per indication: an NMOSD attack recovers slowly, an MS relapse faster.
EPISODE_DAYS = {
    "SLE": (21, 60),
    "LN": (30, 90),
    "NMOSD": (30, 90),
    "RRMS": (21, 60),
    "MG": (14, 42),
    "IMNM": (30, 90),
}
# Flare type per indication (codes used by the SLEDAI items, MG scores and relapse texts) and its odds.
FLARE_TYPES = {
    "SLE": (("ARTHRITIS", "MUCOCUTANEOUS", "SEROSITIS"), (0.5, 0.3, 0.2)),
    "LN": (("RENAL",), (1.0,)),  # a lupus nephritis flare is renal (UPCR rises again in lab.csv)
    "MG": (("GENERALISED", "BULBAR", "CRISIS"), (0.5, 0.4, 0.1)),
    "IMNM": (("MYOSITIS",), (1.0,)),
    "NMOSD": (("ATTACK",), (1.0,)),
    "RRMS": (("RELAPSE",), (1.0,)),
}
SUBJECT_COLUMNS = [
    "SITEID",
    "SUBJID",
    "INDICAT",
    "PATH",
    "D0",
    "LASTDAY",
    "RESPONDER",
    "REMDAY",
    "RELAPSEDAY",
]


@cache
def raw_forms() -> FormCatalogue:
    """The raw form catalogue (loaded once)."""
    return load_forms()


def relapse_episodes(ctx: SynthContext) -> pd.DataFrame:
    """One row per backbone relapse of an infused subject: onset, end and flare type.

    Columns SITEID, SUBJID, INDICAT, ONSETDAY (= RELAPSEDAY), ENDDAY (protocol day; may pass
    LASTDAY: the episode is then ongoing at the last contact), FLARETYPE.

    For SLE/LN, MG and IMNM the flare is documented at the next clinical assessment (the episode lasts
    at least until then); an MS relapse or NMOSD attack is assessed by its own relapse visit
    (EDSS_AT_RELAPSE), so scheduled visits see it only if they fall inside the episode.
    """
    rng = ctx.rng("disease-episodes")
    subj = ctx.subjects
    subj = subj.loc[subj["RELAPSEDAY"].notna() & (subj["PATH"] == "INFUSED"), SUBJECT_COLUMNS].reset_index(
        drop=True
    )
    n = len(subj)
    indicat = subj["INDICAT"].to_numpy()
    u_type = rng.uniform(size=n)
    u_dur = rng.uniform(size=n)
    u_after = rng.integers(3, 22, n)
    flare_type = np.full(n, None, dtype=object)
    low = np.zeros(n)
    high = np.zeros(n)
    for code, (types, odds) in FLARE_TYPES.items():
        mine = indicat == code
        edges = np.cumsum(odds)
        flare_type[mine] = np.array(types, dtype=object)[
            np.searchsorted(edges, u_type[mine] * edges[-1], side="right")
        ]
        low[mine], high[mine] = EPISODE_DAYS[code]
    onset = subj["RELAPSEDAY"].to_numpy(dtype=float)
    end = onset + np.round(low + u_dur * (high - low))
    first_after = _first_assessment_on_or_after(ctx, subj, onset)
    clinical = ~np.isin(indicat, NEURO) & ~np.isnan(first_after)
    end = np.where(clinical, np.maximum(end, first_after + u_after), end)
    return pd.DataFrame(
        {
            "SITEID": subj["SITEID"],
            "SUBJID": subj["SUBJID"],
            "INDICAT": indicat,
            "ONSETDAY": onset,
            "ENDDAY": end,
            "FLARETYPE": flare_type,
        }
    )


def _first_assessment_on_or_after(ctx: SynthContext, subj: pd.DataFrame, onset: np.ndarray) -> np.ndarray:
    """Protocol day of each subject's first clinical assessment visit on or after ``onset`` (NaN if none)."""
    keys = subj[["SITEID", "SUBJID"]].assign(ONSETDAY=onset)
    visits = ctx.visits.loc[
        ctx.visits["VISIT"].isin((*disease_visits(ctx), ctx.study.early_termination_visit.visit)),
        ["SITEID", "SUBJID", "DAY"],
    ]
    after = keys.merge(visits, on=["SITEID", "SUBJID"], how="left")
    after = after[after["DAY"] >= after["ONSETDAY"]]
    first = after.groupby(["SITEID", "SUBJID"], as_index=False)["DAY"].min()
    return keys.merge(first, on=["SITEID", "SUBJID"], how="left")["DAY"].to_numpy(dtype=float)


def assessments(
    ctx: SynthContext,
    indications: tuple[str, ...],
    visits: tuple[str, ...] | None = None,
    early_termination: bool = True,
) -> pd.DataFrame:
    """The disease assessments of the subjects with one of ``indications``, with their phase.

    Rows are the attended backbone visits named in ``visits`` (default :func:`disease_visits`; dates
    are the visit dates), plus the
    early termination visit when ``early_termination`` and the subject was infused (unless it falls
    within :data:`ET_MIN_GAP_DAYS` of the previous assessment). Subjects never infused keep their
    pre-infusion assessments only. Columns: the visit backbone's, the subject facts of
    :data:`SUBJECT_COLUMNS`, ONSETDAY / ENDDAY / FLARETYPE of the relapse episode, PHASE and
    PROGRESS (the share of the way to remission, or to the non-responder plateau, 0..1+).
    """
    et = ctx.study.early_termination_visit.visit
    visits = disease_visits(ctx) if visits is None else visits
    wanted = (*visits, et) if early_termination else visits
    subj = ctx.subjects.loc[ctx.subjects["INDICAT"].isin(indications), SUBJECT_COLUMNS]
    rows = ctx.visits[ctx.visits["VISIT"].isin(wanted)].merge(
        subj, on=["SITEID", "SUBJID"], how="inner", validate="many_to_one"
    )
    infused = rows["PATH"] == "INFUSED"
    rows = rows[(infused & (rows["DAY"] > 0)) | rows["VISIT"].isin(PRE_VISITS)]
    previous = rows.groupby(["SITEID", "SUBJID"], sort=False)["DAY"].shift(1)
    rows = rows[~((rows["VISIT"] == et) & (rows["DAY"] - previous < ET_MIN_GAP_DAYS))]
    episodes = relapse_episodes(ctx)[["SITEID", "SUBJID", "ONSETDAY", "ENDDAY", "FLARETYPE"]]
    rows = rows.merge(episodes, on=["SITEID", "SUBJID"], how="left", validate="many_to_one")
    return with_phase(rows).reset_index(drop=True)


def with_phase(rows: pd.DataFrame) -> pd.DataFrame:
    """Add PHASE and PROGRESS to rows carrying VISIT, DAY, NOMDAY and the subject/episode facts.

    REMDAY is compared with the *nominal* visit day (the backbone picks REMDAY among nominal visit
    days), RELAPSEDAY and the episode end with the *actual* day.
    """
    out = rows.copy()
    day = out["DAY"].to_numpy(dtype=float)
    nomday = out["NOMDAY"].to_numpy(dtype=float)
    responder = out["RESPONDER"].to_numpy(dtype=bool)
    remday = out["REMDAY"].to_numpy(dtype=float)
    onset = out["ONSETDAY"].to_numpy(dtype=float)
    end = out["ENDDAY"].to_numpy(dtype=float)
    pre = out["VISIT"].isin(PRE_VISITS).to_numpy()
    out["PHASE"] = np.select(
        [pre, (day >= onset) & (day <= end), day > end, responder & (nomday >= remday), responder],
        [PRE, FLARE, POSTFLARE, REMISSION, IMPROVING],
        default=PARTIAL,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        progress = np.where(responder, nomday / remday, np.minimum(nomday / PARTIAL_PLATEAU_DAY, 1.0))
    out["PROGRESS"] = np.where(pre, 0.0, np.clip(progress, 0.0, None))
    return out


def subject_position(rows: pd.DataFrame, subjects: pd.DataFrame) -> np.ndarray:
    """Index of each row's subject in ``subjects`` (both keyed by SITEID, SUBJID)."""
    index = pd.MultiIndex.from_frame(subjects[["SITEID", "SUBJID"]])
    pos = index.get_indexer(pd.MultiIndex.from_frame(rows[["SITEID", "SUBJID"]]))
    if (pos < 0).any():
        raise ValueError("assessment rows for a subject outside the instrument's subjects")
    return pos


def allocate_points(
    rng: np.random.Generator, totals: np.ndarray, weights: np.ndarray, caps: np.ndarray
) -> np.ndarray:
    """Spread each row's total score over items (each 0..cap) in proportion to the row's weights.

    One point at a time goes to an item drawn with probability ∝ weight among the items still below
    their cap (Gumbel-max draw over the whole frame; the loop runs over points, not rows). A total
    larger than the sum of the caps is truncated to it.
    """
    n, k = weights.shape
    items = np.zeros((n, k), dtype=int)
    totals = np.minimum(totals, caps.sum(axis=1))
    log_w = np.log(weights)
    for _ in range(int(totals.max(initial=0))):
        need = np.flatnonzero(items.sum(axis=1) < totals)
        if not len(need):
            break
        score = log_w[need] + rng.gumbel(size=(len(need), k))
        score[items[need] >= caps[need]] = -np.inf
        items[need, score.argmax(axis=1)] += 1
    return items


def draw_categories(rng: np.random.Generator, n: int, values: tuple, odds: tuple[float, ...]) -> np.ndarray:
    """``n`` draws from ``values`` with the given relative odds."""
    p = np.asarray(odds, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


def day_date(d0: pd.Series, day: np.ndarray | pd.Series) -> pd.Series:
    """The date (datetime64) of protocol day ``day``: D0 + day."""
    return pd.Series(d0.to_numpy() + pd.to_timedelta(np.asarray(day, dtype=float), unit="D"), index=d0.index)
