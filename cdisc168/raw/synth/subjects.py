"""The subject backbone of the synthetic C-CAR168 data: one row per screened subject.

Everything the form generators must agree on is decided here once: indication, 3+3 cohort, treatment
path (screen failure, assigned but never treated, lymphodepletion only, infused), key dates, the
subject's fate (completed, ongoing at the data cut, early termination, death) and the latent clinical
course (CRS/ICANS, DLT, response, relapse). Values follow STUDY.md §4; proportions marked there as
ranges are drawn inside those ranges.

Columns of the returned frame (dates are ``datetime64[ns]``, NaT when not applicable):

=================  ==========================================================================
SITEID, SUBJID     raw identifiers ("01", "0001")
INDICAT            SLE / LN / IMNM / NMOSD / RRMS / MG
PATH               SCREEN FAILURE / NOT TREATED / LD ONLY / INFUSED
COHORT             DL1 / DL2 / DL3 (None for screen failures)
DOSE_PLAN          planned dose x10^6 CAR+ T cells/kg (NaN for screen failures)
DOSE_ACT           actual infused dose x10^6/kg (NaN unless infused)
SEX, AGE           demography; WEIGHT_KG, HEIGHT_CM at screening
ICDT               informed consent (protocol D-28 for subjects who go on)
SCRFDT             screen failure date
APHDT              leukapheresis date (protocol D-21); NaT for screen failures
MFGFAIL            manufacturing failed (the NOT TREATED path)
LDSTDT             first lymphodepletion day (protocol D-5); NaT when no LD
INFDTM             infusion start date-time (protocol D0); NaT unless infused
D0                 the date protocol day 0 falls on (planned for the not infused)
FATE               COMPLETED / ONGOING / DISCONTINUED / DEATH / SCREEN FAILURE
DCREAS             DS reason for discontinuation (None unless DISCONTINUED or DEATH)
EOSDT              end of study participation (NaT when ONGOING)
LASTDAY            last protocol day with data (may pass the data cut for ongoing subjects:
                   the extract contains a few records dated after the cut)
CRSGR              ASTCT CRS grade 0-4 (0 = no CRS); CRSON onset day; CRSDUR duration days
ICANSGR            ASTCT ICANS grade 0-4; ICANSON onset day; ICANSDUR duration days
DLT                the subject has a dose-limiting toxicity (an AE generator realises it)
RESPONDER          reaches remission; REMDAY protocol day of first remission (NaN otherwise)
RELAPSEDAY         protocol day of relapse / attack / flare (NaN if none)
=================  ==========================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.study import Study

FIRST_CONSENT = pd.Timestamp("2023-10-09")
ENROLMENT_SPAN_DAYS = 540
MAIN_STUDY_DAYS = 730
DAYS_AFTER_CUT_IN_EXTRACT = 21  # an extract taken 3 weeks after the cut holds later records

# Indication mix (STUDY.md §4.1, N=18 suggestion with SLE split into SLE and LN).
INDICATION_MIX = {"LN": 0.26, "SLE": 0.18, "NMOSD": 0.17, "RRMS": 0.11, "MG": 0.17, "IMNM": 0.11}
# Female proportion and age range per indication (STUDY.md §4.1).
FEMALE_P = {"SLE": 0.88, "LN": 0.88, "NMOSD": 0.88, "MG": 0.6, "IMNM": 0.65, "RRMS": 0.7}
AGE_RANGE = {
    "SLE": (20, 50),
    "LN": (20, 50),
    "NMOSD": (30, 55),
    "MG": (25, 65),
    "IMNM": (35, 65),
    "RRMS": (25, 50),
}

# 3+3 escalation (STUDY.md §3.2): DL1 0/3, DL2 1/3 -> expanded to 6 with 1/6, DL3 0/3 -> 6, then the
# expansion at the recommended dose. Slots are filled in consent order by subjects who reach infusion.
ESCALATION = ["DL1"] * 3 + ["DL2"] * 6 + ["DL3"] * 6
EXPANSION_LEVEL = "DL3"
DLT_SLOT = 4  # the second DL2 subject has the DLT that triggers the expansion to 6

P_SCREEN_FAIL = 0.06
P_NOT_TREATED = 0.04  # leukapheresed, manufacturing failure, never lymphodepleted
P_LD_ONLY = 0.03
P_EARLY_TERM = 0.08
P_DEATH = 0.005
P_DLT_EXPANSION = 0.05
CRS_GRADE_P = [0.40, 0.46, 0.12, 0.02, 0.0]  # grade 0 (no CRS), 1, 2, 3, 4
P_ICANS = 0.03
# Remission by indication (STUDY.md §4.5): MSE in 40-60% of MG by M6, LN complete renal response 50-70%.
P_RESPONDER = {"SLE": 0.85, "LN": 0.65, "NMOSD": 0.9, "RRMS": 0.85, "MG": 0.55, "IMNM": 0.8}
P_RELAPSE = 0.15
DISCONTINUATION_REASONS = [
    "WITHDRAWAL BY SUBJECT",
    "LOST TO FOLLOW-UP",
    "PHYSICIAN DECISION",
    "PROGRESSIVE DISEASE",
]


def _force_special_cases(path: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make sure a fixture-sized study has each special path at least once (STUDY.md decisions)."""
    n = len(path)
    if n < 8:
        return path
    # Positions late enough in enrolment that the escalation cohorts are already filled.
    for case in ("SCREEN FAILURE", "NOT TREATED", "LD ONLY"):
        if (path == case).any():
            continue
        candidates = np.flatnonzero(path == "INFUSED")
        candidates = candidates[candidates >= min(n - 1, len(ESCALATION) // 2)]
        if len(candidates):
            path[rng.choice(candidates)] = case
    return path


def _cohorts(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assign 3+3 cohorts in consent order. Returns (cohort, escalation slot or -1).

    Infused subjects fill the escalation slots in order, then the expansion; a subject who is not
    infused holds the level that was enrolling when they consented.
    """
    infused = path == "INFUSED"
    order = np.cumsum(infused) - 1
    k = np.where(infused, order, order + 1)
    levels = np.array(ESCALATION, dtype=object)
    cohort = np.where(k < len(ESCALATION), levels[np.clip(k, 0, len(ESCALATION) - 1)], EXPANSION_LEVEL)
    cohort = np.where(path == "SCREEN FAILURE", None, cohort)
    slot = np.where(infused & (k < len(ESCALATION)), k, -1)
    return cohort, slot


def make_subjects(rng: np.random.Generator, n: int, study: Study) -> pd.DataFrame:
    """Draw the subject backbone for ``n`` screened subjects (see the module docstring)."""
    if n < 1:
        raise ValueError(f"the number of subjects must be >= 1, got {n}")
    codes = list(INDICATION_MIX)
    indicat = rng.choice(
        codes, size=n, p=np.array(list(INDICATION_MIX.values())) / sum(INDICATION_MIX.values())
    )
    sites = np.array([f"{s:02d}" for s in range(1, 5)])
    siteid = sites[rng.integers(0, len(sites), n)]
    width = max(4, len(str(n)))  # "0001"; five digits only for studies of 10,000 subjects or more
    subjid = np.array([f"{i:0{width}d}" for i in range(1, n + 1)])

    offsets = np.sort(rng.uniform(0, ENROLMENT_SPAN_DAYS, n)).round().astype(int)
    icdt = FIRST_CONSENT + pd.to_timedelta(offsets, unit="D")

    u = rng.uniform(size=n)
    path = np.where(
        u < P_SCREEN_FAIL,
        "SCREEN FAILURE",
        np.where(
            u < P_SCREEN_FAIL + P_NOT_TREATED,
            "NOT TREATED",
            np.where(u < P_SCREEN_FAIL + P_NOT_TREATED + P_LD_ONLY, "LD ONLY", "INFUSED"),
        ),
    ).astype(object)
    path = _force_special_cases(path, rng)
    infused_positions = np.flatnonzero(path == "INFUSED")
    if len(infused_positions) >= len(codes):  # every indication among the treated of a fixture-sized study
        indicat[rng.permutation(infused_positions)[: len(codes)]] = codes
    cohort, slot = _cohorts(path)
    level_dose = {d.armcd: d.dose for d in study.dose_levels}
    dose_plan = np.array([level_dose.get(c, np.nan) if c else np.nan for c in cohort], dtype=float)
    infused = path == "INFUSED"
    dose_act = np.where(infused, np.round(dose_plan * rng.uniform(0.85, 1.12, n), 3), np.nan)

    female_p = np.array([FEMALE_P[i] for i in indicat])
    sex = np.where(rng.uniform(size=n) < female_p, "F", "M")
    lo = np.array([AGE_RANGE[i][0] for i in indicat])
    hi = np.array([AGE_RANGE[i][1] for i in indicat])
    age = rng.integers(lo, hi + 1)
    weight = np.round(np.where(sex == "F", rng.uniform(45, 75, n), rng.uniform(55, 85, n)), 1)
    height = np.round(np.where(sex == "F", rng.normal(160, 5.5, n), rng.normal(171, 6, n)), 1)

    # Protocol D0 = consent + 28 days + a manufacturing wait of 0-5 days.
    d0 = icdt + pd.to_timedelta(28 + rng.integers(0, 6, n), unit="D")
    screen_fail = path == "SCREEN FAILURE"
    scrfdt = pd.Series(icdt + pd.to_timedelta(rng.integers(7, 21, n), unit="D")).where(screen_fail)
    aphdt = pd.Series(d0 - pd.to_timedelta(21, unit="D")).where(~screen_fail)
    ldstdt = pd.Series(d0 - pd.to_timedelta(5, unit="D")).where(np.isin(path, ["LD ONLY", "INFUSED"]))
    start_minutes = rng.integers(9 * 60, 15 * 60, n) // 5 * 5
    infdtm = pd.Series(d0 + pd.to_timedelta(start_minutes, unit="m")).where(infused)

    cut = pd.Timestamp(study.data_cut)
    extract_day = (cut + pd.Timedelta(days=DAYS_AFTER_CUT_IN_EXTRACT) - pd.Series(d0)).dt.days.to_numpy()

    fate = np.full(n, "COMPLETED", dtype=object)
    dcreas = np.full(n, None, dtype=object)
    lastday = np.full(n, MAIN_STUDY_DAYS + 7)
    early = infused & (rng.uniform(size=n) < P_EARLY_TERM)
    if n >= 8 and not early.any():
        early[rng.choice(np.flatnonzero(infused & (extract_day > 200)))] = True
    death = infused & ~early & (rng.uniform(size=n) < P_DEATH)
    stop_day = rng.integers(60, 500, n)
    lastday = np.where(early | death, stop_day, lastday)
    fate = np.where(early, "DISCONTINUED", fate)
    dcreas = np.where(early, rng.choice(DISCONTINUATION_REASONS, n), dcreas)
    fate = np.where(death, "DEATH", fate)
    dcreas = np.where(death, "DEATH", dcreas)
    # Not infused: the subject leaves at planned D0 (LD only) or after manufacturing failure.
    fate = np.where(path == "NOT TREATED", "DISCONTINUED", fate)
    dcreas = np.where(path == "NOT TREATED", "PHYSICIAN DECISION", dcreas)
    lastday = np.where(path == "NOT TREATED", -10, lastday)
    fate = np.where(path == "LD ONLY", "DISCONTINUED", fate)
    dcreas = np.where(path == "LD ONLY", "ADVERSE EVENT", dcreas)
    lastday = np.where(path == "LD ONLY", 0, lastday)
    fate = np.where(screen_fail, "SCREEN FAILURE", fate)
    dcreas = np.where(screen_fail, "SCREEN FAILURE", dcreas)
    ongoing = (fate != "SCREEN FAILURE") & (lastday > extract_day - DAYS_AFTER_CUT_IN_EXTRACT)
    fate = np.where(ongoing, "ONGOING", fate)
    dcreas = np.where(ongoing, None, dcreas)
    lastday = np.where(ongoing, extract_day, lastday)
    eosdt = pd.Series(d0 + pd.to_timedelta(lastday, unit="D"))
    eosdt = eosdt.where(~ongoing)
    eosdt = eosdt.where(~screen_fail, scrfdt)

    crsgr = np.where(infused, rng.choice(5, n, p=CRS_GRADE_P), 0)
    if n >= 8 and infused.any() and not (crsgr >= 2).any():
        crsgr[rng.choice(np.flatnonzero(infused))] = 2
    crson = np.where(crsgr > 0, rng.choice([1, 1, 2, 2, 2, 3, 3], n), 0)
    crsdur = np.where(crsgr > 0, np.clip(rng.poisson(2.5, n) + 1, 1, 5), 0)
    icansgr = np.where(infused & (rng.uniform(size=n) < P_ICANS), 1, 0)
    icanson = np.where(icansgr > 0, rng.integers(4, 11, n), 0)
    icansdur = np.where(icansgr > 0, rng.integers(1, 4, n), 0)

    dlt = np.isin(slot, [DLT_SLOT]) | (infused & (slot < 0) & (rng.uniform(size=n) < P_DLT_EXPANSION))

    responder = infused & (rng.uniform(size=n) < np.array([P_RESPONDER[i] for i in indicat]))
    remday = np.where(responder, rng.choice([28, 60, 90, 90, 180], n), np.nan)
    relapse = responder & (rng.uniform(size=n) < P_RELAPSE)
    relapseday = np.where(relapse, rng.integers(200, 650, n), np.nan)
    if n >= 8:  # a fixture-sized study shows a relapse, and an NMOSD attack where an NMOSD responder exists
        for wanted in (indicat == "NMOSD", np.ones(n, dtype=bool)):
            if (wanted & relapse & (relapseday < lastday - 30)).any():
                continue
            eligible = np.flatnonzero(wanted & responder & (lastday > 300))
            if len(eligible):
                k = rng.choice(eligible)
                relapse[k] = True
                relapseday[k] = int(rng.integers(200, min(lastday[k] - 30, 650)))
    relapseday = np.where(relapseday < lastday, relapseday, np.nan)

    return pd.DataFrame(
        {
            "SITEID": siteid,
            "SUBJID": subjid,
            "INDICAT": indicat,
            "PATH": path,
            "COHORT": cohort,
            "DOSE_PLAN": dose_plan,
            "DOSE_ACT": dose_act,
            "SEX": sex,
            "AGE": age,
            "WEIGHT_KG": weight,
            "HEIGHT_CM": height,
            "ICDT": icdt,
            "SCRFDT": scrfdt,
            "APHDT": aphdt,
            "MFGFAIL": path == "NOT TREATED",
            "LDSTDT": ldstdt,
            "INFDTM": infdtm,
            "D0": d0,
            "FATE": fate,
            "DCREAS": dcreas,
            "EOSDT": eosdt,
            "LASTDAY": lastday,
            "CRSGR": crsgr,
            "CRSON": crson,
            "CRSDUR": crsdur,
            "ICANSGR": icansgr,
            "ICANSON": icanson,
            "ICANSDUR": icansdur,
            "DLT": dlt,
            "RESPONDER": responder,
            "REMDAY": remday,
            "RELAPSEDAY": relapseday,
        }
    )
