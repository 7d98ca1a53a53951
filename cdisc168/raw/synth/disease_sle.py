"""SLEDAI-2K form (SLE and LN): the 24 descriptors, total, physician global assessment, KDIGO renal
response and new BILAG A/B counts, following the disease course of :mod:`disease_course`.

SLEDAI-2K descriptors and weights: Gladman DD, Ibañez D, Urowitz MB. Systemic lupus erythematosus
disease activity index 2000. J Rheumatol 2002;29:288-91 (8 × weight 8, 6 × 4, 7 × 2, 3 × 1; 0-105).
TOTAL is always the weighted sum of the descriptors marked Y.

Course (STUDY.md §4.5, §3.5): baseline total 8-22 (median 12-14; LN always with proteinuria);
responders lose their clinical descriptors one by one until REMDAY, from when only serology (low
complement, anti-dsDNA) may persist, so the total is 0-4 and clinical SLEDAI 0 (DORIS, LLDAS, SRI-4);
PGA falls below 0.5. Non-responders keep at least their heaviest clinical descriptor and a PGA ≥0.6.
A flare adds new clinical descriptors (≥4 points: arthritis/rash, mucocutaneous, serositis or renal)
with returning serology; afterwards part of that activity persists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form, iso_date
from cdisc168.raw.synth.disease_course import (
    FLARE,
    IMPROVING,
    PARTIAL,
    POSTFLARE,
    PRE,
    REMISSION,
    assessments,
    raw_forms,
    subject_position,
)

# (form column, SLEDAI-2K weight, baseline probability in SLE, baseline probability in LN)
DESCRIPTORS = (
    ("SEIZURE", 8, 0.01, 0.005),
    ("PSYCHOS", 8, 0.005, 0.005),
    ("OBS", 8, 0.005, 0.005),
    ("VISUAL", 8, 0.01, 0.005),
    ("CRANIAL", 8, 0.01, 0.005),
    ("LUPUSHA", 8, 0.02, 0.01),
    ("CVA", 8, 0.005, 0.005),
    ("VASCUL", 8, 0.08, 0.04),
    ("ARTHRIT", 4, 0.60, 0.20),
    ("MYOSIT", 4, 0.05, 0.02),
    ("URCAST", 4, 0.05, 0.25),
    ("HEMATUR", 4, 0.10, 0.50),
    ("PROTEIN", 4, 0.15, 1.00),
    ("PYURIA", 4, 0.05, 0.20),
    ("RASH", 2, 0.60, 0.25),
    ("ALOPEC", 2, 0.40, 0.15),
    ("MUCOSAL", 2, 0.35, 0.15),
    ("PLEURIS", 2, 0.12, 0.08),
    ("PERICAR", 2, 0.06, 0.04),
    ("LOWCOMP", 2, 0.70, 0.80),
    ("DSDNA", 2, 0.80, 0.85),
    ("FEVER", 1, 0.12, 0.08),
    ("THROMBO", 1, 0.15, 0.10),
    ("LEUKOP", 1, 0.25, 0.20),
)
ITEMS = tuple(d[0] for d in DESCRIPTORS)
WEIGHTS = np.array([d[1] for d in DESCRIPTORS])
SEROLOGY = np.isin(ITEMS, ("LOWCOMP", "DSDNA"))
BASELINE_RANGE = (8, 22)
CANDIDATE_PROFILES = 40
TYPICAL_TOTAL = 13  # fallback when no candidate falls in the range: the closest to a typical total
# Share of responders whose serology stays abnormal in remission (anti-dsDNA seronegative in 50-80%
# and C3 normal in 70-80% by month 6, STUDY.md §4.4).
PERSIST_SEROLOGY = {"DSDNA": 0.3, "LOWCOMP": 0.2}
# New clinical descriptors of a flare; the first one persists after the episode.
FLARE_DESCRIPTORS = {
    "ARTHRITIS": ("ARTHRIT", "RASH"),
    "MUCOCUTANEOUS": ("RASH", "MUCOSAL", "ALOPEC"),
    "SEROSITIS": ("PLEURIS", "PERICAR"),
    "RENAL": ("PROTEIN", "HEMATUR", "URCAST"),
}


def _baseline_profiles(rng: np.random.Generator, indicat: np.ndarray) -> np.ndarray:
    """Baseline descriptors per subject: independent draws, the first profile whose total is 8-22.

    (Rejection sampling over :data:`CANDIDATE_PROFILES` candidates per subject; LN always has
    proteinuria, UPCR 1-5 g/g at entry.)
    """
    n = len(indicat)
    p = np.where((indicat == "LN")[:, None], [d[3] for d in DESCRIPTORS], [d[2] for d in DESCRIPTORS])
    draws = rng.uniform(size=(n, CANDIDATE_PROFILES, len(ITEMS))) < p[:, None, :]
    totals = draws @ WEIGHTS
    ok = (totals >= BASELINE_RANGE[0]) & (totals <= BASELINE_RANGE[1])
    pick = np.where(ok.any(axis=1), ok.argmax(axis=1), np.abs(totals - TYPICAL_TOTAL).argmin(axis=1))
    return draws[np.arange(n), pick]


def _resolution(rng: np.random.Generator, base: np.ndarray, responder: np.ndarray) -> np.ndarray:
    """Course progress at which each baseline descriptor resolves (inf = never).

    Responders: clinical descriptors resolve before remission (0.15-1.0 of the way to REMDAY),
    serology too unless it persists. Non-responders: 0.3-2.5 of the way to their month-3 plateau, so
    about two thirds persist, and their heaviest clinical descriptor never resolves.
    """
    n, k = base.shape
    u = rng.uniform(size=(n, k))
    resp_r = np.where(SEROLOGY, 0.3 + 0.7 * u, 0.15 + 0.85 * u)
    persist = np.zeros((n, k), dtype=bool)
    for item, share in PERSIST_SEROLOGY.items():
        persist[:, ITEMS.index(item)] = rng.uniform(size=n) < share
    resp_r = np.where(persist, np.inf, resp_r)
    non_r = np.where(SEROLOGY, 0.3 + 2.7 * u, 0.3 + 2.2 * u)
    heaviest = np.where(base & ~SEROLOGY, WEIGHTS, 0).argmax(axis=1)
    non_r[np.arange(n), heaviest] = np.inf
    return np.where(responder[:, None], resp_r, non_r)


def _flare_matrix(flare_type: np.ndarray, first_only: bool) -> np.ndarray:
    """Descriptors added by each subject's flare type (or only the first, persisting one)."""
    out = np.zeros((len(flare_type), len(ITEMS)), dtype=bool)
    for code, items in FLARE_DESCRIPTORS.items():
        mine = flare_type == code
        for item in items[:1] if first_only else items:
            out[mine, ITEMS.index(item)] = True
    return out


def _active_descriptors(rng: np.random.Generator, rows: pd.DataFrame, subj: pd.DataFrame) -> np.ndarray:
    """Descriptor matrix (rows × 24) for every assessment, by phase (see module docstring)."""
    n = len(subj)
    indicat = subj["INDICAT"].to_numpy()
    base = _baseline_profiles(rng, indicat)
    resolve = _resolution(rng, base, subj["RESPONDER"].to_numpy(dtype=bool))
    flare_type = subj["FLARETYPE"].to_numpy()
    flare_all = _flare_matrix(flare_type, first_only=False)
    flare_kept = _flare_matrix(flare_type, first_only=True) | (
        flare_all & (rng.uniform(size=(n, len(ITEMS))) < 0.6)
    )
    has_flare = subj["FLARETYPE"].notna().to_numpy()[:, None]
    flare_sero = SEROLOGY & (rng.uniform(size=(n, len(ITEMS))) < 0.8) & has_flare
    sero_kept = flare_sero & (rng.uniform(size=(n, len(ITEMS))) < 0.5)

    pos = subject_position(rows, subj)
    phase = rows["PHASE"].to_numpy()[:, None]
    progress = rows["PROGRESS"].to_numpy()[:, None]
    base_r = base[pos]
    background = base_r & np.isinf(resolve[pos]) & SEROLOGY
    course = base_r & (progress < resolve[pos])
    return np.select(
        [phase == PRE, phase == FLARE, phase == POSTFLARE],
        [
            base_r,
            background | flare_all[pos] | flare_sero[pos],
            background | flare_kept[pos] | sero_kept[pos],
        ],
        default=course,
    )


def _pga(rng: np.random.Generator, rows: pd.DataFrame, subj: pd.DataFrame) -> np.ndarray:
    """Physician global assessment (0-3 VAS, one decimal) by phase (remission <0.5, DORIS)."""
    n = len(subj)
    base = rng.uniform(1.2, 2.6, n)
    remission = rng.uniform(0.0, 0.4, n)
    pos = subject_position(rows, subj)
    m = len(rows)
    phase = rows["PHASE"].to_numpy()
    p = rows["PROGRESS"].to_numpy()
    screening = rows["VISIT"].to_numpy() == "SCREENING"
    pre = base[pos] + np.where(screening, rng.uniform(-0.2, 0.2, m), 0.0)
    improving = base[pos] - (base[pos] - remission[pos]) * np.minimum(0.8, 0.3 + 0.5 * p)
    partial = np.maximum(0.6, base[pos] * (1 - 0.45 * p) + rng.uniform(-0.15, 0.15, m))
    value = np.select(
        [phase == PRE, phase == IMPROVING, phase == REMISSION, phase == PARTIAL, phase == FLARE],
        [pre, improving, remission[pos], partial, rng.uniform(1.4, 2.5, m)],
        default=rng.uniform(0.7, 1.4, m),
    )
    return np.round(np.clip(value, 0.0, 3.0), 1)


def _kdigo(rng: np.random.Generator, rows: pd.DataFrame, subj: pd.DataFrame) -> np.ndarray:
    """Investigator KDIGO 2024 renal response (LN only, post-baseline): CR in remission, PR/NR otherwise.

    Responders: NR early, PR from half-way to REMDAY, CR from REMDAY. Non-responders: PR (half of them,
    from month 2) or NR. A renal flare is NR, then PR or NR; a non-renal flare keeps the CR.
    """
    n = len(subj)
    nonresp_pr = rng.uniform(size=n) < 0.5
    post_pr = rng.uniform(size=n) < 0.6
    pos = subject_position(rows, subj)
    phase = rows["PHASE"].to_numpy()
    p = rows["PROGRESS"].to_numpy()
    renal = subj["FLARETYPE"].to_numpy()[pos] == "RENAL"
    value = np.select(
        [
            phase == PRE,
            phase == IMPROVING,
            phase == REMISSION,
            phase == PARTIAL,
            phase == FLARE,
        ],
        [
            None,
            np.where(p >= 0.5, "PR", "NR"),
            "CR",
            np.where(nonresp_pr[pos] & (p >= 0.6), "PR", "NR"),
            np.where(renal, "NR", "CR"),
        ],
        default=np.where(renal, np.where(post_pr[pos], "PR", "NR"), "CR"),
    )
    return np.where(rows["INDICAT"].to_numpy() == "LN", value, None)


def _bilag_new(
    rng: np.random.Generator, rows: pd.DataFrame, subj: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """New BILAG A and B counts vs the previous assessment (none at screening/baseline; 0 mostly)."""
    m = len(rows)
    pos = subject_position(rows, subj)
    phase = rows["PHASE"].to_numpy()
    renal = subj["FLARETYPE"].to_numpy()[pos] == "RENAL"
    new_a = np.where(phase == FLARE, (renal & (rng.uniform(size=m) < 0.5)).astype(float), 0.0)
    new_b = np.select(
        [phase == FLARE, phase == PARTIAL],
        [1.0 + (rng.uniform(size=m) < 0.4), (rng.uniform(size=m) < 0.1).astype(float)],
        default=0.0,
    )
    pre = phase == PRE
    return np.where(pre, np.nan, new_a), np.where(pre, np.nan, new_b)


def make_sledai(ctx: SynthContext) -> pd.DataFrame:
    """sledai.csv: one row per SLE/LN disease assessment (see the module docstring)."""
    rng = ctx.rng("sledai")
    rows = assessments(ctx, ("SLE", "LN"))
    subj = rows.drop_duplicates(["SITEID", "SUBJID"])[
        ["SITEID", "SUBJID", "INDICAT", "RESPONDER", "FLARETYPE"]
    ]
    subj = subj.reset_index(drop=True)
    active = _active_descriptors(rng, rows, subj)
    new_a, new_b = _bilag_new(rng, rows, subj)
    frame = pd.DataFrame(np.where(active, "Y", "N"), columns=list(ITEMS))
    frame.insert(0, "SLEDT", iso_date(rows["VISDT"]))
    frame.insert(0, "VISIT", rows["VISIT"].to_numpy())
    frame.insert(0, "SUBJID", rows["SUBJID"].to_numpy())
    frame.insert(0, "SITEID", rows["SITEID"].to_numpy())
    frame["TOTAL"] = active @ WEIGHTS
    frame["PGA"] = _pga(rng, rows, subj)
    frame["KDIGO_RESP"] = _kdigo(rng, rows, subj)
    frame["BILAG_NEWA"] = new_a
    frame["BILAG_NEWB"] = new_b
    return finish_form(frame, raw_forms()["sledai"], ctx.study, sort_by=["SLEDT"])
