"""EDSS / Kurtzke functional systems and MRI lesion counts (NMOSD and RRMS), STUDY.md §4.5 and §3.5.

EDSS course: baseline NMOSD 3.0-6.5, RRMS 2.0-5.5. NMOSD responders improve by 0 to 1.5 points by
month 6, RRMS responders stay stable (a transient +0.5 at some visits, never a confirmed progression),
so NMOREM and NEDA-3 hold. Non-responders: NMOSD worsen by 1.0 from month 3 (EDSS > baseline + 0.5,
no NMOREM); RRMS stay stable or (40%) progress by 1.0 from month 6 (confirmed disability progression)
and show MRI activity. An attack raises the EDSS above the pre-attack level by the NMOSD attack
thresholds (≥0.5 from ≥5.5, ≥1.0 from 1.0-5.0, 2.0 from 0) during the episode and leaves a residual
0-1.0 point afterwards.

Functional systems are built from the EDSS step (Kurtzke JF, Neurology 1983;33:1444-52, with the
Neurostatus conventions): up to 3.5 the step fixes the FS grades (1.0 one FS grade 1, 2.0 one FS
grade 2, 3.0 three or four FS grade 2, 3.5 one grade 3 and one or two grade 2, ...), nested so that a
worse EDSS never comes with a better FS; from 4.0 the ambulation score fixes the step
(4.5 ≥300 m, 5.0 ≥200 m, 5.5 ≥100 m, 6.0 unilateral or bilateral aid, 6.5 bilateral aid <120 m,
7.0 wheelchair). The grades go to the subject's most affected systems (optic and spinal systems in
NMOSD; pyramidal, sensory, cerebellar and brainstem in MS). Visual and bowel/bladder FS are written on
their raw scale, whose converted value (visual 2-3 → 2, 4-5 → 3, 6 → 4; bladder 3-4 → 3, 5 → 4,
6 → 5) is what counts for the EDSS.

MRI (screening, months 6, 12, 24; counts vs the previous scan): activity at screening in about half of
RRMS and a third of NMOSD; none afterwards in responders (NEDA-3 at month 12 in 70-90% of RRMS);
new/enlarging T2 and, within 8 weeks of onset, gadolinium-enhancing lesions after a relapse; RRMS
non-responders always have new lesions on their first post-infusion scan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form, iso_date
from cdisc168.raw.synth.disease_course import (
    FLARE,
    IMPROVING,
    NEURO,
    PARTIAL,
    PRE,
    REMISSION,
    SUBJECT_COLUMNS,
    assessments,
    draw_categories,
    raw_forms,
    relapse_episodes,
    subject_position,
)

FS_COLUMNS = ("FS_VIS", "FS_BST", "FS_PYR", "FS_CER", "FS_SEN", "FS_BB", "FS_MEN")
VIS, BB = FS_COLUMNS.index("FS_VIS"), FS_COLUMNS.index("FS_BB")
# How likely each system is among a subject's most affected ones (FS_COLUMNS order).
FS_AFFINITY = {
    "NMOSD": (5.0, 1.5, 4.0, 0.5, 3.5, 2.5, 0.3),
    "RRMS": (1.5, 2.0, 4.0, 2.5, 3.5, 1.5, 0.8),
}
BASELINE_EDSS = {
    "NMOSD": ((3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5), (1, 1.5, 2, 2, 2, 1.5, 1, 0.7)),
    "RRMS": ((2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5), (1.5, 2, 2, 1.5, 1, 0.7, 0.5, 0.3)),
}
# Responders' change by month 6 (STUDY.md §4.5: NMOSD stable or -0.5 to -1.5; RRMS stable).
RESPONDER_CHANGE = {
    "NMOSD": ((0.0, -0.5, -1.0, -1.5), (0.3, 0.3, 0.25, 0.15)),
    "RRMS": ((0.0, -0.5), (0.85, 0.15)),
}
RESIDUAL_AFTER_ATTACK = {
    "NMOSD": ((0.0, 0.5, 1.0), (0.3, 0.4, 0.3)),
    "RRMS": ((0.0, 0.5, 1.0), (0.5, 0.35, 0.15)),
}
IMPROVEMENT_DAYS = 180
P_TRANSIENT = 0.08
P_RRMS_PROGRESSION = 0.4
MAX_EDSS = 8.0

# Converted FS grades (most affected system first) per EDSS step, in two chains: along a chain every
# grade is ≥ the grade at the step below, so a subject's FS never improve while the EDSS worsens.
FS_CHAINS: dict[float, tuple[tuple[int, ...], tuple[int, ...]]] = {
    0.0: ((), ()),
    1.0: ((1,), (1,)),
    1.5: ((1, 1), (1, 1, 1)),
    2.0: ((2, 1), (2, 1, 1)),
    2.5: ((2, 2), (2, 2, 1)),
    3.0: ((2, 2, 2), (2, 2, 2, 1)),
    3.5: ((3, 2, 2), (3, 2, 2, 1)),
    4.0: ((3, 3, 2), (3, 3, 2, 1)),
    4.5: ((4, 3, 2), (4, 3, 2, 1)),
    5.0: ((4, 3, 2, 1), (4, 3, 2, 1, 1)),
    5.5: ((4, 3, 3, 1), (4, 3, 3, 1, 1)),
    6.0: ((4, 3, 3, 2), (4, 3, 3, 2, 1)),
    6.5: ((4, 4, 3, 2), (4, 4, 3, 2, 1)),
    7.0: ((5, 4, 3, 2, 1), (5, 4, 3, 2, 1)),
    7.5: ((5, 4, 4, 3, 1), (5, 4, 4, 3, 1)),
    8.0: ((5, 5, 4, 3, 2), (5, 5, 4, 3, 2)),
}
# Neurostatus ambulation score per EDSS step (0 unrestricted, 1 fully ambulatory ≥500 m, 2 ≥300 m,
# 3 ≥200 m, 4 ≥100 m, 5 <100 m without aid, 6 unilateral aid ≥50 m, 7 bilateral aid ≥120 m,
# 8 unilateral aid <50 m, 9 bilateral aid 5-120 m, 10-12 wheelchair).
AMBULATION = {
    4.0: (1,),
    4.5: (2,),
    5.0: (3,),
    5.5: (4,),
    6.0: (5, 6, 7),
    6.5: (8, 9),
    7.0: (10,),
    7.5: (11,),
    8.0: (12,),
}
# Raw score written for a converted visual / bowel-bladder grade (two raw scores share some grades).
VISUAL_RAW = ((0, 0), (1, 1), (2, 3), (4, 5), (6, 6), (6, 6))
BLADDER_RAW = ((0, 0), (1, 1), (2, 2), (3, 4), (5, 5), (6, 6))
RATERS = (("LWH", "ZYQ"), ("CJM", "WXL"), ("HYT", "SQZ"), ("DMR", "FLN"))
P_OTHER_RATER = 0.15
MRI_VISITS = ("SCREENING", "MONTH 6", "MONTH 12", "MONTH 24")
GD_VISIBLE_DAYS = 56
P_ACTIVE_SCREENING = {"RRMS": 0.5, "NMOSD": 0.3}


def _chain_table() -> np.ndarray:
    """FS_CHAINS as an array (step index × chain × FS rank); step index = EDSS × 2."""
    table = np.zeros((int(MAX_EDSS * 2) + 1, 2, len(FS_COLUMNS)), dtype=int)
    for step, chains in FS_CHAINS.items():
        for j, grades in enumerate(chains):
            table[int(step * 2), j, : len(grades)] = grades
    return table


def _draw_by_indication(rng: np.random.Generator, indicat: np.ndarray, table: dict) -> np.ndarray:
    """One draw per subject from the indication's (values, odds) entry of ``table``."""
    out = np.zeros(len(indicat))
    for code, (values, odds) in table.items():
        out = np.where(indicat == code, draw_categories(rng, len(indicat), values, odds).astype(float), out)
    return out


def edss_profile(ctx: SynthContext) -> pd.DataFrame:
    """Per NMOSD/RRMS subject: baseline EDSS, course parameters and the most affected systems.

    Columns: SUBJECT_COLUMNS, EDSS_BL, EDSS_REM (level reached in remission), RESIDUAL (after an
    attack), PROGRESSOR (RRMS non-responder with confirmed progression), PRI0..PRI6 (FS column index
    by decreasing involvement), U_ATTACK, U_CHAIN, U_AMBUL, U_RAW.
    """
    rng = ctx.rng("edss-profile")
    subj = ctx.subjects.loc[ctx.subjects["INDICAT"].isin(NEURO), SUBJECT_COLUMNS].reset_index(drop=True)
    n = len(subj)
    indicat = subj["INDICAT"].to_numpy()
    nmo = indicat == "NMOSD"
    base = _draw_by_indication(rng, indicat, BASELINE_EDSS)
    change = np.where(
        subj["RESPONDER"].to_numpy(dtype=bool), _draw_by_indication(rng, indicat, RESPONDER_CHANGE), 0
    )
    affinity = np.array([FS_AFFINITY[i] for i in indicat]).reshape(n, len(FS_COLUMNS))
    priority = np.argsort(-(np.log(affinity) + rng.gumbel(size=affinity.shape)), axis=1, kind="stable")
    out = subj.assign(
        EDSS_BL=base,
        EDSS_REM=base + change,
        RESIDUAL=_draw_by_indication(rng, indicat, RESIDUAL_AFTER_ATTACK),
        PROGRESSOR=~subj["RESPONDER"].to_numpy(dtype=bool)
        & ~nmo
        & (rng.uniform(size=n) < P_RRMS_PROGRESSION),
        U_ATTACK=rng.uniform(size=n),
        U_CHAIN=rng.uniform(size=n),
        U_AMBUL=rng.uniform(size=n),
        U_RAW=rng.uniform(size=n),
    )
    for j in range(len(FS_COLUMNS)):
        out[f"PRI{j}"] = priority[:, j]
    return out


def attack_increment(pre: np.ndarray, u: np.ndarray, nmosd: np.ndarray) -> np.ndarray:
    """EDSS worsening at an attack over the pre-attack EDSS, at least the NMOSD attack threshold
    (STUDY.md §3.5): 0.5-1.0 from ≥5.5, 1.0-2.0 (MS 1.0-1.5) from 1.0-5.0, 2.0 from 0."""
    middle = np.where(nmosd, np.select([u < 0.4, u < 0.8], [1.0, 1.5], 2.0), np.where(u < 0.5, 1.0, 1.5))
    return np.select([pre >= 5.5, pre < 1.0], [np.where(u < 0.5, 0.5, 1.0), 2.0], default=middle)


def edss_level(rng: np.random.Generator, rows: pd.DataFrame, profile: pd.DataFrame) -> np.ndarray:
    """EDSS (0.5 steps) of each assessment row (with PHASE, NOMDAY) by phase; see module docstring.

    Rows inside an attack get the remission level here; :func:`assessed_edss` raises them to the
    EDSS at relapse, which depends on the last assessment before the attack.
    """
    pos = subject_position(rows, profile)
    m = len(rows)
    phase = rows["PHASE"].to_numpy()
    nomday = rows["NOMDAY"].to_numpy(dtype=float)
    nmo = rows["INDICAT"].to_numpy() == "NMOSD"
    base = profile["EDSS_BL"].to_numpy()[pos]
    rem = profile["EDSS_REM"].to_numpy()[pos]
    transient = np.where(rng.uniform(size=m) < P_TRANSIENT, 0.5, 0.0)
    improving = base + np.trunc((rem - base) * np.minimum(nomday / IMPROVEMENT_DAYS, 1.0) * 2) / 2 + transient
    progressor = profile["PROGRESSOR"].to_numpy()[pos]
    partial = np.where(
        nmo,
        base + np.where(nomday >= 90, 1.0, 0.0),
        base + np.where(progressor & (nomday >= IMPROVEMENT_DAYS), 1.0, transient),
    )
    level = np.select(
        [phase == PRE, np.isin(phase, (IMPROVING, REMISSION)), phase == PARTIAL, phase == FLARE],
        [base, improving, partial, rem],
        default=rem + profile["RESIDUAL"].to_numpy()[pos],
    )
    level = np.clip(level, 0.0, MAX_EDSS)
    return np.where(level == 0.5, 1.0, level)  # the EDSS has no step 0.5


def _priority(profile: pd.DataFrame) -> np.ndarray:
    return profile[[f"PRI{j}" for j in range(len(FS_COLUMNS))]].to_numpy()


def functional_systems(level: np.ndarray, rows: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """FS_* and AMBUL consistent with each row's EDSS ``level`` (raw visual/bladder scale)."""
    pos = subject_position(rows, profile)
    m = len(rows)
    step = np.rint(level * 2).astype(int)
    chain = (profile["U_CHAIN"].to_numpy()[pos] < 0.5).astype(int)
    fs = np.zeros((m, len(FS_COLUMNS)), dtype=int)
    fs[np.arange(m)[:, None], _priority(profile)[pos]] = _chain_table()[step, chain]
    second = (profile["U_RAW"].to_numpy()[pos] < 0.5).astype(int)
    fs[:, VIS] = np.array(VISUAL_RAW)[fs[:, VIS], second]
    fs[:, BB] = np.array(BLADDER_RAW)[fs[:, BB], second]
    out = pd.DataFrame(fs, columns=list(FS_COLUMNS))
    ambul = np.zeros(m, dtype=int)
    u_ambul = profile["U_AMBUL"].to_numpy()[pos]
    for edss, scores in AMBULATION.items():
        here = step == int(edss * 2)
        ambul[here] = np.array(scores)[np.floor(u_ambul[here] * len(scores)).astype(int)]
    out["AMBUL"] = ambul
    return out


def _assessor(rng: np.random.Generator, rows: pd.DataFrame) -> np.ndarray:
    """Rater initials: each site has two EDSS raters; a subject mostly sees the same one."""
    subjects = rows.drop_duplicates(["SITEID", "SUBJID"])
    primary = rng.integers(0, 2, len(subjects))[subject_position(rows, subjects)]
    other = (rng.uniform(size=len(rows)) < P_OTHER_RATER).astype(int)
    site = rows["SITEID"].astype(int).to_numpy() - 1
    return np.array(RATERS)[site % len(RATERS), (primary + other) % 2]


def assessed_edss(ctx: SynthContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The NMOSD/RRMS assessment rows with their EDSS (column LEVEL), and the EDSS at each relapse.

    The EDSS at relapse (SITEID, SUBJID, EDSS_AT_RELAPSE, SYSTEM = most affected FS column) is the
    last assessed EDSS before onset plus :func:`attack_increment`; assessments inside the attack
    episode show it too.
    """
    profile = edss_profile(ctx)
    rows = assessments(ctx, NEURO)
    rows["LEVEL"] = edss_level(ctx.rng("edss-level"), rows, profile)
    before = rows[rows["DAY"] < rows["ONSETDAY"]]
    pre = (
        before.groupby(["SITEID", "SUBJID"], as_index=False)["LEVEL"].last().rename(columns={"LEVEL": "PRE"})
    )
    episodes = relapse_episodes(ctx)
    facts = episodes[episodes["INDICAT"].isin(NEURO)].merge(
        profile, on=["SITEID", "SUBJID", "INDICAT"], how="left", validate="one_to_one"
    )
    facts = facts.merge(pre, on=["SITEID", "SUBJID"], how="left", validate="one_to_one")
    facts["PRE"] = facts["PRE"].fillna(facts["EDSS_REM"])
    increment = attack_increment(
        facts["PRE"].to_numpy(), facts["U_ATTACK"].to_numpy(), facts["INDICAT"].to_numpy() == "NMOSD"
    )
    attacks = pd.DataFrame(
        {
            "SITEID": facts["SITEID"],
            "SUBJID": facts["SUBJID"],
            "EDSS_AT_RELAPSE": np.minimum(facts["PRE"] + increment, MAX_EDSS),
            "SYSTEM": np.array(FS_COLUMNS)[facts["PRI0"].to_numpy(dtype=int)],
        }
    )
    at_attack = rows[["SITEID", "SUBJID"]].merge(attacks, on=["SITEID", "SUBJID"], how="left")[
        "EDSS_AT_RELAPSE"
    ]
    rows["LEVEL"] = np.where(rows["PHASE"] == FLARE, at_attack.to_numpy(), rows["LEVEL"].to_numpy())
    return rows, attacks


def make_edss(ctx: SynthContext) -> pd.DataFrame:
    """edss.csv: EDSS, Kurtzke FS and ambulation at each NMOSD/RRMS disease assessment."""
    rng = ctx.rng("edss")
    rows, _ = assessed_edss(ctx)
    level = rows["LEVEL"].to_numpy()
    frame = functional_systems(level, rows, edss_profile(ctx))
    frame.insert(0, "EDSSDT", iso_date(rows["VISDT"]))
    frame.insert(0, "VISIT", rows["VISIT"].to_numpy())
    frame.insert(0, "SUBJID", rows["SUBJID"].to_numpy())
    frame.insert(0, "SITEID", rows["SITEID"].to_numpy())
    frame["EDSS"] = level
    frame["ASSESSOR"] = _assessor(rng, rows)
    return finish_form(frame, raw_forms()["edss"], ctx.study, sort_by=["EDSSDT"])


def _lesions(
    rng: np.random.Generator, active: np.ndarray, p_any: float | np.ndarray, extra: np.ndarray
) -> np.ndarray:
    """Lesion counts: where ``active``, ≥1 with probability ``p_any`` (1 + Poisson(extra)), else 0."""
    m = len(active)
    return np.where(active & (rng.uniform(size=m) < p_any), 1 + rng.poisson(extra, m), 0)


def make_mri(ctx: SynthContext) -> pd.DataFrame:
    """mri.csv: new T2, enlarging T2 and Gd-enhancing lesion counts (see module docstring)."""
    rng = ctx.rng("mri")
    rows = assessments(ctx, NEURO, visits=MRI_VISITS, early_termination=False)
    m = len(rows)
    rrms = rows["INDICAT"].to_numpy() == "RRMS"
    pre = rows["PHASE"].to_numpy() == PRE
    day = rows["DAY"].to_numpy(dtype=float)
    previous = rows.groupby(["SITEID", "SUBJID"], sort=False)["DAY"].shift(1).to_numpy(dtype=float)
    onset = rows["ONSETDAY"].to_numpy(dtype=float)
    relapse = ~pre & (onset > previous) & (onset <= day)
    nonresp = ~pre & ~rows["RESPONDER"].to_numpy(dtype=bool)
    first_post = nonresp & (rows.groupby(["SITEID", "SUBJID"], sort=False).cumcount().to_numpy() == 1)
    u = rng.uniform(size=m)
    active = np.where(
        pre,
        u < np.where(rrms, P_ACTIVE_SCREENING["RRMS"], P_ACTIVE_SCREENING["NMOSD"]),
        relapse | (nonresp & np.where(rrms, first_post | (u < 0.5), u < 0.2)),
    )
    enhancing = active & (pre | nonresp | (day - onset <= GD_VISIBLE_DAYS))
    frame = pd.DataFrame(
        {
            "SITEID": rows["SITEID"].to_numpy(),
            "SUBJID": rows["SUBJID"].to_numpy(),
            "VISIT": rows["VISIT"].to_numpy(),
            "MRIDT": iso_date(rows["VISDT"]),
            "NEW_T2_N": _lesions(rng, active, np.where(pre, 0.85, 1.0), np.where(rrms, 1.2, 0.3)),
            "ENL_T2_N": _lesions(rng, active, 0.35, np.full(m, 0.3)),
            "GD_N": _lesions(rng, enhancing, 0.6, np.where(rrms, 0.8, 0.3)),
        }
    )
    return finish_form(frame, raw_forms()["mri"], ctx.study, sort_by=["MRIDT"])
