"""Synthetic core EDC forms: enrolment, demography, disease and medical history, leukapheresis,
lymphodepletion, C-CAR168 infusion, disposition and death (STUDY.md §1 forms 1-7, 21, 22).

Every form follows the subject backbone (:mod:`cdisc168.raw.synth.subjects`): screen failures have only
screening forms, nothing after infusion exists for subjects who were not infused, and no record is dated
after a subject's last day. Facts that two forms must agree on (the disease history read by dxhist, mh
and cm; the infusion conduct read by infusion, ae and cm; the cause of death read by death and ae) are
drawn once by the public ``disease_history``, ``infusion_conduct`` and ``death_details`` functions from
their own random streams, so every caller sees the same values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

from cdisc168.raw.forms import FormSpec, load_forms
from cdisc168.raw.synth.context import SynthContext, finish_form, iso_date, iso_time
from cdisc168.raw.synth.immunology import subject_serostatus

SCREENING = "SCREENING"
LEUKAPHERESIS = "LEUKAPHERESIS"
INFUSION_VISIT = "DAY 0 INFUSION"
END_OF_STUDY_VISIT = "MONTH 24"

# Protocol/ICF version in force at consent (ASSUMPTION: one amendment mid-enrolment).
ICF_AMENDMENT_DATE = pd.Timestamp("2024-06-01")
ICF_VERSIONS = ("ICF V1.0 2023-08-15", "ICF V2.0 2024-05-20")
# Failed eligibility criterion of screen failures: inclusion IN.. / exclusion EX.. (ASSUMPTION).
IE_FAIL_CODES = {"IN04": 0.35, "IN06": 0.2, "EX03": 0.2, "EX07": 0.15, "EX11": 0.1}
P_AGE_ONLY = 0.1  # birth date not collected, age only

# Disease history by indication (STUDY.md §1 form 3 and §4.1). Classification criteria are the published
# ones: 2019 EULAR/ACR SLE, ISN/RPS 2003 (revised 2018) LN class, 2017 EULAR/ACR IIM + ENMC 2016 IMNM,
# 2015 IPND NMOSD, 2017 McDonald MS, MGFA clinical classification.
CLASSCRIT = {
    "SLE": "2019 EULAR/ACR SLE",
    "LN": "2019 EULAR/ACR SLE; ISN/RPS 2018 LN (renal biopsy)",
    "IMNM": "2017 EULAR/ACR IIM; ENMC 2016 IMNM",
    "NMOSD": "2015 IPND NMOSD",
    "RRMS": "2017 McDonald",
    "MG": "MGFA clinical classification; positive serology",
}
REFRACT_DEF = {
    "SLE": "SLEDAI-2K >= 8 despite GC and >= 2 immunosuppressants for >= 6 months",
    "LN": "No complete renal response after >= 6 months of MMF or cyclophosphamide induction plus GC",
    "IMNM": "Persistent weakness and CK elevation despite GC and >= 2 IS or IVIG for >= 6 months",
    "NMOSD": ">= 1 attack in the last 12 months despite >= 1 attack-preventive therapy",
    "RRMS": ">= 1 relapse or new MRI activity in the last 12 months despite >= 2 DMTs",
    "MG": "MG-ADL >= 6 despite >= 2 immunosuppressants or chronic IVIG/PLEX",
}
DISEASE_YEARS = {
    "SLE": (1, 15),
    "LN": (1, 12),
    "IMNM": (0.5, 6),
    "NMOSD": (1, 10),
    "RRMS": (2, 12),
    "MG": (1, 15),
}
P_PRIOR_RTX = {"SLE": 0.3, "LN": 0.35, "IMNM": 0.3, "NMOSD": 0.6, "RRMS": 0.2, "MG": 0.4}
# Serostatus: the defining antibody the autoab form realises (immunology.subject_serostatus); RRMS
# subjects are tested negative for AQP4 and MOG at screening (NMOSD / MOGAD excluded).
RRMS_SEROSTATUS = "AQP4-; MOG-"
MGFA_CLASS = {"IIA": 0.15, "IIB": 0.15, "IIIA": 0.25, "IIIB": 0.25, "IVA": 0.1, "IVB": 0.1}
LN_CLASS = {"III": 0.15, "IV": 0.35, "V": 0.15, "III+V": 0.1, "IV+V": 0.25}
RELAPSES_24M = {"NMOSD": (1, 4), "RRMS": (1, 3), "MG": (0, 3)}  # attacks / relapses / exacerbations
P_PARTIAL_DIAGDT = 0.15

# Medical history: primary diagnosis terms and comorbidities with their probability per indication.
PRIMARY_TERM = {
    "SLE": "Systemic lupus erythematosus",
    "LN": "Lupus nephritis",
    "IMNM": "Immune-mediated necrotising myopathy",
    "NMOSD": "Neuromyelitis optica spectrum disorder",
    "RRMS": "Relapsing-remitting multiple sclerosis",
    "MG": "Myasthenia gravis",
}
LN_SLE_YEARS_BEFORE = (0.0, 5.0)  # lupus nephritis develops on a known SLE
ALL = ("SLE", "LN", "IMNM", "NMOSD", "RRMS", "MG")
GC_USERS = ("SLE", "LN", "IMNM", "NMOSD", "MG")
# term, indications, probability, ongoing at screening, a consequence of the disease or its treatment
# (so it starts after the diagnosis)
COMORBIDITIES = [
    ("Hypertension", ALL, 0.2, True, False),
    ("Renal hypertension", ("LN",), 0.35, True, True),
    ("Steroid-induced osteoporosis", GC_USERS, 0.15, True, True),
    ("Hyperlipidaemia", ALL, 0.12, True, False),
    ("Steroid-induced diabetes mellitus", GC_USERS, 0.06, True, True),
    ("Gastro-oesophageal reflux disease", ALL, 0.1, True, False),
    ("Resolved hepatitis B infection (anti-HBc positive)", ALL, 0.08, False, False),
    ("Herpes zoster", ALL, 0.1, False, False),
    ("Cataract", GC_USERS, 0.05, True, True),
    ("Depression", ALL, 0.08, True, False),
    ("Iron deficiency anaemia", ALL, 0.08, False, False),
    ("Secondary Sjögren's syndrome", ("SLE", "LN"), 0.15, True, True),
    ("Antiphospholipid antibody positive", ("SLE", "LN"), 0.08, True, True),
    ("Thymectomy", ("MG",), 0.45, False, True),
    ("Hypothyroidism", ALL, 0.05, True, False),
]
P_PARTIAL_MHDT = 0.3

APHERESIS_FAILURE_REASONS = [
    "Insufficient CAR+ T-cell expansion",
    "Transduction efficiency below release specification",
    "Sterility test positive",
]
P_INFUSION_INTERRUPTED = 0.05
# Infusion premedication (STUDY.md §2.3 CM: PREMED text also coded in cm): text and probability.
PREMEDICATIONS = {"PARACETAMOL; PROMETHAZINE": 0.7, "PARACETAMOL; CHLORPHENAMINE": 0.2, "PROMETHAZINE": 0.1}
P_LD_RENAL_ADJUST = 0.05
LD_RENAL_FACTOR = 0.8  # fludarabine reduced by 20% for creatinine clearance 50-70 mL/min

# Cause of death: DTHCAUS text, the LLT of the fatal AE and its verbatim (ASSUMPTION: infection deaths).
DEATH_CAUSES = [
    ("Septic shock secondary to pneumonia", "Septic shock", "Septic shock"),
    ("Severe pneumonia", "Pneumonia", "Severe pneumonia with respiratory failure"),
]


@functools.cache
def _forms() -> dict[str, FormSpec]:
    return load_forms().forms


def form_spec(name: str) -> FormSpec:
    """The contract of raw form ``name`` (mappings/raw/forms.yaml), loaded once."""
    return _forms()[name]


def days(n: pd.Series | np.ndarray | int) -> pd.Series | pd.TimedeltaIndex | pd.Timedelta:
    """Whole days as a timedelta (vector or scalar)."""
    return pd.to_timedelta(n, unit="D")


def last_date(subjects: pd.DataFrame) -> pd.Series:
    """The last date a subject can have data: D0 + LASTDAY, or the screen failure date."""
    last = subjects["D0"] + days(subjects["LASTDAY"])
    return last.where(subjects["PATH"] != "SCREEN FAILURE", subjects["SCRFDT"])


def choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """``n`` draws from the keys of ``weights`` (probabilities normalised)."""
    p = np.array(list(weights.values()), dtype=float)
    return rng.choice(np.array(list(weights), dtype=object), size=n, p=p / p.sum())


def partial_month(values: pd.Series, mask: np.ndarray | pd.Series) -> pd.Series:
    """ISO dates, cut to YYYY-MM where ``mask`` is set (partial-date noise, STUDY.md §4.6)."""
    text = iso_date(values)
    return text.where(~np.asarray(mask) | text.isna(), text.str[:7])


def _not_screen_failed(subjects: pd.DataFrame) -> pd.DataFrame:
    return subjects[subjects["PATH"] != "SCREEN FAILURE"]


def disease_history(ctx: SynthContext) -> pd.DataFrame:
    """Diagnosis date, serostatus and prior rituximab of every subject (dxhist, mh and cm agree on them).

    The serostatus is the one the autoab form realises (AQP4+ for NMOSD, AChR+ or MuSK+ for MG, HMGCR+ or
    SRP+ for IMNM, dsDNA+ for SLE/LN). Disease duration follows STUDY.md §4.1 ranges per indication; prior
    rituximab (a B-cell depleting therapy that lowers baseline B cells) is dated >= 6 months before
    consent and after diagnosis.
    Columns: SITEID, SUBJID, INDICAT, DIAGDT, DIAG_PARTIAL, SERO, PRIOR_RTX, PRIOR_RTX_DT.
    """
    s = ctx.subjects
    rng = ctx.rng("disease-history")
    n = len(s)
    lo = s["INDICAT"].map({i: r[0] for i, r in DISEASE_YEARS.items()}).to_numpy(dtype=float)
    hi = s["INDICAT"].map({i: r[1] for i, r in DISEASE_YEARS.items()}).to_numpy(dtype=float)
    years = lo + (hi - lo) * rng.beta(1.5, 3.0, n)
    diagdt = s["ICDT"] - days(np.round(years * 365.25).astype(int))
    sero = subject_serostatus(ctx)["SERO"].where(s["INDICAT"] != "RRMS", RRMS_SEROSTATUS)
    # Prior rituximab between max(diagnosis + 90 d, consent - 5 y) and consent - 180 d.
    earliest = np.maximum((diagdt + days(90)).to_numpy(), (s["ICDT"] - days(5 * 365)).to_numpy())
    latest = (s["ICDT"] - days(180)).to_numpy()
    span = (latest - earliest) / np.timedelta64(1, "D")
    prior_rtx = (rng.uniform(size=n) < s["INDICAT"].map(P_PRIOR_RTX).to_numpy(dtype=float)) & (span > 0)
    offset = np.floor(rng.uniform(size=n) * np.clip(span, 0, None)).astype(int)
    rtx_dt = pd.Series(earliest + days(offset).to_numpy(), index=s.index).where(prior_rtx)
    return pd.DataFrame(
        {
            "SITEID": s["SITEID"],
            "SUBJID": s["SUBJID"],
            "INDICAT": s["INDICAT"],
            "DIAGDT": diagdt,
            "DIAG_PARTIAL": rng.uniform(size=n) < P_PARTIAL_DIAGDT,
            "SERO": sero.to_numpy(),
            "PRIOR_RTX": prior_rtx,
            "PRIOR_RTX_DT": rtx_dt,
        }
    )


def infusion_conduct(ctx: SynthContext) -> pd.DataFrame:
    """Start and end date-time, interruption and premedication of every infusion (infusion, ae, cm).

    A bag of CAR-T cells runs in 10-30 minutes; an interruption (infusion-related reaction) adds 20-45
    minutes. Premedication is an antipyretic and/or an antihistamine, never a steroid (steroids blunt
    CAR-T expansion). Columns: SITEID, SUBJID, INFSTART, INFEND, INFINT, PREMED.
    """
    s = ctx.subjects[ctx.subjects["PATH"] == "INFUSED"]
    rng = ctx.rng("infusion-conduct")
    n = len(s)
    interrupted = rng.uniform(size=n) < P_INFUSION_INTERRUPTED
    if n >= 8 and not interrupted.any():  # a fixture-sized study shows one interruption
        interrupted[rng.integers(n)] = True
    minutes = rng.integers(10, 31, n) + np.where(interrupted, rng.integers(20, 46, n), 0)
    return pd.DataFrame(
        {
            "SITEID": s["SITEID"].to_numpy(),
            "SUBJID": s["SUBJID"].to_numpy(),
            "INFSTART": s["INFDTM"].to_numpy(),
            "INFEND": (s["INFDTM"] + pd.to_timedelta(minutes, unit="m")).to_numpy(),
            "INFINT": interrupted,
            "PREMED": choice(rng, PREMEDICATIONS, n),
        }
    )


def death_details(ctx: SynthContext) -> pd.DataFrame:
    """Date and cause of death of the backbone's DEATH subjects, with the LLT and verbatim of the fatal
    AE that safety.ae records. Columns: SITEID, SUBJID, DTHDT, DTHCAUS, FATAL_LLT, FATAL_TERM."""
    s = ctx.subjects[ctx.subjects["FATE"] == "DEATH"]
    rng = ctx.rng("death")
    pick = rng.integers(0, len(DEATH_CAUSES), len(s))
    causes = np.array(DEATH_CAUSES, dtype=object)[pick].reshape(-1, 3)
    return pd.DataFrame(
        {
            "SITEID": s["SITEID"].to_numpy(),
            "SUBJID": s["SUBJID"].to_numpy(),
            "DTHDT": last_date(s).to_numpy(),
            "DTHCAUS": causes[:, 0],
            "FATAL_LLT": causes[:, 1],
            "FATAL_TERM": causes[:, 2],
        }
    )


def _enrolment_date(ctx: SynthContext) -> pd.Series:
    """Eligibility confirmed and subject enrolled 1-3 days before leukapheresis (the earlier of APHDT and
    the LEUKAPHERESIS visit), never before consent; no enrolment for screen failures."""
    s = ctx.subjects
    rng = ctx.rng("enrolment-date")
    visit = ctx.visits[ctx.visits["VISIT"] == LEUKAPHERESIS].set_index(["SITEID", "SUBJID"])["VISDT"]
    visit = visit.reindex(pd.MultiIndex.from_frame(s[["SITEID", "SUBJID"]])).to_numpy()
    apheresis = pd.Series(np.fmin(s["APHDT"].to_numpy(), visit), index=s.index)
    enrl = apheresis - days(rng.integers(1, 4, len(s)))
    return enrl.where(enrl >= s["ICDT"], s["ICDT"]).where(s["PATH"] != "SCREEN FAILURE")


def enrol(ctx: SynthContext) -> pd.DataFrame:
    """Enrolment and eligibility of every screened subject.

    Screen failures: ELIGFL N, the failed criterion (IEFAILCD, e.g. IN04 / EX07) and the screen failure
    date; everyone else: ELIGFL Y, the 3+3 cohort and the enrolment date.
    """
    s = ctx.subjects
    rng = ctx.rng("enrol")
    failed = (s["PATH"] == "SCREEN FAILURE").to_numpy()
    frame = pd.DataFrame(
        {
            "SITEID": s["SITEID"],
            "SUBJID": s["SUBJID"],
            "VISIT": SCREENING,
            "ICDT": iso_date(s["ICDT"]),
            "ICVER": np.where(s["ICDT"] < ICF_AMENDMENT_DATE, ICF_VERSIONS[0], ICF_VERSIONS[1]),
            "INDICAT": s["INDICAT"],
            "ELIGFL": np.where(failed, "N", "Y"),
            "IEFAILCD": np.where(failed, choice(rng, IE_FAIL_CODES, len(s)), None),
            "SCRFDT": iso_date(s["SCRFDT"]),
            "COHORT": s["COHORT"],
            "ENRLDT": iso_date(_enrolment_date(ctx)),
        }
    )
    return finish_form(frame, form_spec("enrol"), ctx.study, sort_by=[])


def _birth_date(icdt: pd.Series, age: pd.Series, rng: np.random.Generator) -> pd.Series:
    """A birth date that makes the subject exactly ``age`` completed years old at consent: at most 363
    days before the date ``age`` years before consent (one more day could reach the next birthday)."""
    month = icdt.dt.month
    day = np.where((month == 2) & (icdt.dt.day == 29), 28, icdt.dt.day)
    latest = pd.to_datetime(pd.DataFrame({"year": icdt.dt.year - age, "month": month, "day": day}))
    return latest - days(rng.integers(0, 364, len(icdt)))


def dm(ctx: SynthContext) -> pd.DataFrame:
    """Demography at screening from the backbone: birth date consistent with AGE at consent (age only
    for ~10%), RACE ASIAN, ETHNIC NOT HISPANIC OR LATINO, COUNTRY CHN (a China-based IIT, STUDY.md §2.1)."""
    s = ctx.subjects
    rng = ctx.rng("dm")
    n = len(s)
    brthdt = _birth_date(s["ICDT"], s["AGE"], rng)
    age_only = rng.uniform(size=n) < P_AGE_ONLY
    frame = pd.DataFrame(
        {
            "SITEID": s["SITEID"],
            "SUBJID": s["SUBJID"],
            "VISIT": SCREENING,
            "BRTHDT": iso_date(brthdt.where(~age_only)),
            "AGE": s["AGE"],
            "SEX": s["SEX"],
            "RACE": "ASIAN",
            "ETHNIC": "NOT HISPANIC OR LATINO",
            "COUNTRY": "CHN",
            "HEIGHT_CM": s["HEIGHT_CM"],
            "WEIGHT_KG": s["WEIGHT_KG"],
        }
    )
    return finish_form(frame, form_spec("dm"), ctx.study, sort_by=[])


def dxhist(ctx: SynthContext) -> pd.DataFrame:
    """Disease history at screening: classification criteria of the indication, diagnosis date and
    duration, refractoriness definition, prior IS count (>= 2: refractory population), prior rituximab,
    serostatus consistent with the indication, MGFA class (MG), ISN/RPS class (LN) and attacks in the
    last 24 months (NMOSD, RRMS, MG)."""
    s = ctx.subjects
    h = disease_history(ctx)
    rng = ctx.rng("dxhist")
    n = len(s)
    indicat = s["INDICAT"]
    duration = (s["ICDT"] - h["DIAGDT"]).dt.days / 365.25
    n_prior = np.minimum(2 + rng.poisson(np.where(indicat.isin(["SLE", "LN"]), 1.5, 1.0)), 8)
    rel_lo = indicat.map({i: r[0] for i, r in RELAPSES_24M.items()}).fillna(0).to_numpy()
    rel_hi = indicat.map({i: r[1] for i, r in RELAPSES_24M.items()}).fillna(0).to_numpy()
    relapses = pd.Series(rng.integers(rel_lo, rel_hi + 1), index=s.index).where(
        indicat.isin(list(RELAPSES_24M))
    )
    frame = pd.DataFrame(
        {
            "SITEID": s["SITEID"],
            "SUBJID": s["SUBJID"],
            "VISIT": SCREENING,
            "DIAGDT": partial_month(h["DIAGDT"], h["DIAG_PARTIAL"]),
            "CLASSCRIT": indicat.map(CLASSCRIT),
            "DISDUR_Y": duration.round(1),
            "REFRACT_DEF": indicat.map(REFRACT_DEF),
            "N_PRIOR_IS": n_prior,
            "PRIOR_RTX": np.where(h["PRIOR_RTX"], "Y", "N"),
            "PRIOR_RTX_DT": iso_date(h["PRIOR_RTX_DT"]),
            "SERO": h["SERO"],
            "MGFA_CLASS": np.where(indicat == "MG", choice(rng, MGFA_CLASS, n), None),
            "LN_CLASS": np.where(indicat == "LN", choice(rng, LN_CLASS, n), None),
            "RELAPSES_24M": relapses,
        }
    )
    return finish_form(frame, form_spec("dxhist"), ctx.study, sort_by=[])


def _history_rows(ctx: SynthContext, h: pd.DataFrame) -> pd.DataFrame:
    """Comorbidity rows: every subject × term of their indication, kept with the term's probability."""
    rng = ctx.rng("mh")
    terms = pd.DataFrame(COMORBIDITIES, columns=["MHTERM", "INDICAT", "P", "ONGOING", "AFTER_DX"])
    grid = h.merge(terms.explode("INDICAT"), on="INDICAT")
    grid = grid[rng.uniform(size=len(grid)) < grid["P"].to_numpy()].reset_index(drop=True)
    n = len(grid)
    icdt = grid["ICDT"]
    # Independent conditions start 1 month to 10 years before consent; disease/treatment consequences
    # start between diagnosis and consent.
    independent = icdt - days(rng.integers(30, 3650, n))
    consequence = grid["DIAGDT"] + (icdt - grid["DIAGDT"]) * rng.uniform(0.1, 0.9, n)
    start = pd.Series(np.where(grid["AFTER_DX"], consequence, independent), index=grid.index).dt.normalize()
    resolved_end = np.minimum(start + days(rng.integers(7, 180, n)), icdt - days(1))
    end = pd.Series(resolved_end, index=grid.index).where(~grid["ONGOING"])
    end = end.where(grid["MHTERM"] != "Thymectomy", start)  # a procedure: one day
    return pd.DataFrame(
        {
            "SITEID": grid["SITEID"],
            "SUBJID": grid["SUBJID"],
            "MHTERM": grid["MHTERM"],
            "MHSTDT": partial_month(start, rng.uniform(size=n) < P_PARTIAL_MHDT),
            "MHENDT": iso_date(end),
            "MHONGO": np.where(grid["ONGOING"], "Y", "N"),
        }
    )


def mh(ctx: SynthContext) -> pd.DataFrame:
    """Medical history at screening: the primary diagnosis (dated as in dxhist; LN also carries the SLE
    it arose from) and a few comorbidities, several of them consequences of long GC use."""
    s = ctx.subjects
    h = disease_history(ctx).assign(ICDT=s["ICDT"])
    rng = ctx.rng("mh-primary")
    primary = pd.DataFrame(
        {
            "SITEID": h["SITEID"],
            "SUBJID": h["SUBJID"],
            "MHTERM": h["INDICAT"].map(PRIMARY_TERM),
            "MHSTDT": partial_month(h["DIAGDT"], h["DIAG_PARTIAL"]),
            "MHENDT": None,
            "MHONGO": "Y",
        }
    )
    ln = h[h["INDICAT"] == "LN"]
    years_before = rng.uniform(*LN_SLE_YEARS_BEFORE, len(ln))
    sle_of_ln = pd.DataFrame(
        {
            "SITEID": ln["SITEID"],
            "SUBJID": ln["SUBJID"],
            "MHTERM": PRIMARY_TERM["SLE"],
            "MHSTDT": iso_date(ln["DIAGDT"] - days(np.round(years_before * 365.25).astype(int))),
            "MHENDT": None,
            "MHONGO": "Y",
        }
    )
    frame = pd.concat([primary, sle_of_ln, _history_rows(ctx, h)], ignore_index=True)
    return finish_form(frame, form_spec("mh"), ctx.study, sort_by=["MHSTDT", "MHTERM"])


def apher(ctx: SynthContext) -> pd.DataFrame:
    """Leukapheresis and manufacturing for everyone not screen-failed: processed blood volume 6-14 L,
    2-15 ×10^9 CD3+ cells collected; the product FAILED (with a reason) for the backbone's manufacturing
    failures, RELEASED otherwise."""
    s = _not_screen_failed(ctx.subjects)
    rng = ctx.rng("apher")
    n = len(s)
    failed = s["MFGFAIL"].to_numpy()
    reasons = np.array(APHERESIS_FAILURE_REASONS, dtype=object)[
        rng.integers(0, len(APHERESIS_FAILURE_REASONS), n)
    ]
    frame = pd.DataFrame(
        {
            "SITEID": s["SITEID"],
            "SUBJID": s["SUBJID"],
            "VISIT": LEUKAPHERESIS,
            "APHDT": iso_date(s["APHDT"]),
            "APHVOL_ML": np.round(rng.uniform(6000, 14000, n), -1),
            "CD3_COLLECTED": np.round(rng.uniform(2, 15, n), 1),
            "MFGSTAT": np.where(failed, "FAILED", "RELEASED"),
            "MFGFAILRS": np.where(failed, reasons, None),
        }
    )
    return finish_form(frame, form_spec("apher"), ctx.study, sort_by=[])


def bsa_mosteller(height_cm: pd.Series, weight_kg: pd.Series) -> pd.Series:
    """Body surface area (m2) by Mosteller: sqrt(height cm × weight kg / 3600), to 2 decimals."""
    return np.sqrt(height_cm * weight_kg / 3600).round(2)


def _visit_of_day(ctx: SynthContext) -> dict[int, str]:
    return {v.day: v.visit for v in ctx.study.visits}


def ld(ctx: SynthContext) -> pd.DataFrame:
    """Lymphodepletion: one row per drug and protocol day D-5..D-3 (study.yaml doses: fludarabine
    25 mg/m2, cyclophosphamide 300 mg/m2) for LD ONLY and INFUSED subjects. BSA by Mosteller from the
    screening height and weight; DOSE_MG = DOSE_MGM2 × BSA. ~5% get fludarabine reduced by 20% for
    renal impairment (creatinine clearance 50-70 mL/min), with the reason in ADJUST_RS."""
    s = ctx.subjects[ctx.subjects["PATH"].isin(["LD ONLY", "INFUSED"])].reset_index(drop=True)
    rng = ctx.rng("ld")
    renal = rng.uniform(size=len(s)) < P_LD_RENAL_ADJUST
    plan = pd.DataFrame(
        [(d.name, d.dose_mgm2, day) for d in ctx.study.ld_drugs for day in ctx.study.ld_days],
        columns=["LDTRT", "PLAN_MGM2", "PROTDAY"],
    )
    grid = s.assign(RENAL=renal, BSA_M2=bsa_mosteller(s["HEIGHT_CM"], s["WEIGHT_KG"])).merge(
        plan, how="cross"
    )
    adjusted = grid["RENAL"] & (grid["LDTRT"] == "FLUDARABINE")
    dose_mgm2 = (grid["PLAN_MGM2"] * np.where(adjusted, LD_RENAL_FACTOR, 1.0)).round(1)
    frame = pd.DataFrame(
        {
            "SITEID": grid["SITEID"],
            "SUBJID": grid["SUBJID"],
            "VISIT": grid["PROTDAY"].map(_visit_of_day(ctx)),
            "LDTRT": grid["LDTRT"],
            "LDDT": iso_date(grid["D0"] + days(grid["PROTDAY"])),
            "PROTDAY": grid["PROTDAY"],
            "BSA_M2": grid["BSA_M2"],
            "DOSE_MGM2": dose_mgm2,
            "DOSE_MG": (dose_mgm2 * grid["BSA_M2"]).round(1),
            "ROUTE": "IV",
            "ADJUST_RS": np.where(
                adjusted, "Creatinine clearance 50-70 mL/min: fludarabine reduced by 20%", None
            ),
        }
    )
    return finish_form(frame, form_spec("ld"), ctx.study, sort_by=["LDDT", "LDTRT"])


def infusion(ctx: SynthContext) -> pd.DataFrame:
    """The C-CAR168 infusion of INFUSED subjects: actual dose per kg = the backbone's DOSE_ACT, total
    CAR+ viable cells = dose × weight (×10^6), product lot, viability 85-98%, transduction 20-55%, a rare
    interruption for an infusion-related reaction, and the premedication given."""
    s = ctx.subjects[ctx.subjects["PATH"] == "INFUSED"].reset_index(drop=True)
    conduct = infusion_conduct(ctx)
    rng = ctx.rng("infusion")
    n = len(s)
    lot = "C168-" + s["APHDT"].dt.strftime("%y%m%d") + "-" + pd.Series(rng.integers(100, 1000, n)).astype(str)
    frame = pd.DataFrame(
        {
            "SITEID": s["SITEID"],
            "SUBJID": s["SUBJID"],
            "VISIT": INFUSION_VISIT,
            "INFDT": iso_date(conduct["INFSTART"]),
            "INFSTTM": iso_time(conduct["INFSTART"]),
            "INFENTM": iso_time(conduct["INFEND"]),
            "DOSELVL_PLAN": s["COHORT"],
            "CELLS_TOTAL_1E6": (s["DOSE_ACT"] * s["WEIGHT_KG"]).round(1),
            "WEIGHT_KG": s["WEIGHT_KG"],
            "DOSE_1E6KG": s["DOSE_ACT"],
            "LOTNO": lot,
            "VIABILITY_PCT": np.round(rng.uniform(85, 98, n), 1),
            "TRANSD_PCT": np.round(rng.uniform(20, 55, n), 1),
            "INFINT": np.where(conduct["INFINT"], "Y", "N"),
            "INFINTRS": np.where(conduct["INFINT"], "Infusion-related reaction (chills, flushing)", None),
            "PREMED": conduct["PREMED"],
        }
    )
    return finish_form(frame, form_spec("infusion"), ctx.study, sort_by=[])


def ds(ctx: SynthContext) -> pd.DataFrame:
    """Disposition: one record per epoch the subject left (STUDY.md §2.11), as the EDC end-of-epoch page.

    SCREENING: SCREEN FAILURE at the screen failure date, else COMPLETED at enrolment. TREATMENT
    (leukapheresis to infusion): COMPLETED at the infusion; not-infused subjects leave here with the
    backbone's reason at their end of study. FOLLOW-UP (infused only): COMPLETED at M24, or the
    backbone's reason (DEATH included) at the end of study; ONGOING subjects have no follow-up record,
    they are still in the study at the data cut.
    """
    s = ctx.subjects
    failed = s["PATH"] == "SCREEN FAILURE"
    infused = s["PATH"] == "INFUSED"
    screening = pd.DataFrame(
        {
            "SITEID": s["SITEID"],
            "SUBJID": s["SUBJID"],
            "VISIT": SCREENING,
            "DSDECOD": np.where(failed, "SCREEN FAILURE", "COMPLETED"),
            "DSSTDT": np.where(failed, s["SCRFDT"], _enrolment_date(ctx)),
            "EPOCH_LEFT": "SCREENING",
        }
    )
    t = s[~failed]
    t_infused = infused[~failed]
    treatment = pd.DataFrame(
        {
            "SITEID": t["SITEID"],
            "SUBJID": t["SUBJID"],
            "VISIT": np.where(t_infused, INFUSION_VISIT, ctx.study.early_termination_visit.visit),
            "DSDECOD": np.where(t_infused, "COMPLETED", t["DCREAS"]),
            "DSSTDT": np.where(t_infused, t["INFDTM"].dt.normalize(), t["EOSDT"]),
            "EPOCH_LEFT": "TREATMENT",
        }
    )
    f = s[infused & (s["FATE"] != "ONGOING")]
    completed = f["FATE"] == "COMPLETED"
    m24 = ctx.visits.loc[ctx.visits["VISIT"] == END_OF_STUDY_VISIT, ["SITEID", "SUBJID"]]
    attended_m24 = pd.MultiIndex.from_frame(f[["SITEID", "SUBJID"]]).isin(pd.MultiIndex.from_frame(m24))
    # A death is not a visit; a completer who missed the M24 visit has no visit on the page either.
    visit = np.where(f["FATE"] == "DISCONTINUED", ctx.study.early_termination_visit.visit, None)
    followup = pd.DataFrame(
        {
            "SITEID": f["SITEID"],
            "SUBJID": f["SUBJID"],
            "VISIT": np.where(completed & attended_m24, END_OF_STUDY_VISIT, visit),
            "DSDECOD": np.where(completed, "COMPLETED", f["DCREAS"]),
            "DSSTDT": f["EOSDT"],
            "EPOCH_LEFT": "FOLLOW-UP",
        }
    )
    frame = pd.concat([screening, treatment, followup], ignore_index=True)
    frame["DSSTDT"] = iso_date(pd.to_datetime(frame["DSSTDT"]))
    frame["TERM_OTH"] = None
    return finish_form(frame, form_spec("ds"), ctx.study, sort_by=["DSSTDT"])


def death(ctx: SynthContext) -> pd.DataFrame:
    """Death page of the backbone's DEATH subjects: date (their end of study), cause (the fatal AE of
    ae.csv) and autopsy (rarely done in this setting: N)."""
    d = death_details(ctx)
    frame = pd.DataFrame(
        {
            "SITEID": d["SITEID"],
            "SUBJID": d["SUBJID"],
            "DTHDT": iso_date(d["DTHDT"]),
            "DTHCAUS": d["DTHCAUS"],
            "AUTOPSY": "N",
        }
    )
    return finish_form(frame, form_spec("death"), ctx.study, sort_by=[])


GENERATORS: dict[str, Callable[[SynthContext], pd.DataFrame]] = {
    "enrol": enrol,
    "dm": dm,
    "dxhist": dxhist,
    "mh": mh,
    "apher": apher,
    "ld": ld,
    "infusion": infusion,
    "ds": ds,
    "death": death,
}
