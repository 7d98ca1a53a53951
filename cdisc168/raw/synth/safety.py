"""Synthetic safety forms: adverse events, daily CRS/ICANS components, concomitant medications and vital
signs (STUDY.md §1 forms 8-10 and 23; rates and courses from §4.2).

The clinical course comes from the subject backbone: CRS and ICANS grade, onset and duration, the DLT
flag, death and relapse. ae.csv realises them (the CRS/ICANS AEs, one DLT event per DLT subject, the
fatal AE) and adds the expected toxicities of lymphodepletion and CAR-T therapy from the event table
``EVENTS``. crsdaily.csv holds one row per day of each CRS/ICANS AE whose components reproduce its ASTCT
2019 grade (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638), cm.csv the background disease
therapy with its glucocorticoid taper and the treatments the AEs call for, vs.csv the vital signs at
the attended visits (febrile on CRS days). Dictionary coding comes from the synthetic coding table
(:mod:`cdisc168.raw.synth.coding`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.raw.synth.coding import code_meddra, code_whodrug, load_coding
from cdisc168.raw.synth.context import SynthContext, finish_form, iso_date, iso_time
from cdisc168.raw.synth.core_forms import (
    days,
    death_details,
    disease_history,
    form_spec,
    infusion_conduct,
    last_date,
    partial_month,
)
from cdisc168.raw.synth.disease_course import relapse_episodes

RELATED = ("POSSIBLE", "PROBABLE", "RELATED")
LONG_FATIGUE_TERM = (
    "Persistent fatigue and generalised weakness reported by the subject after discharge from the "
    "haematology ward, interfering with instrumental activities of daily living, without fever, without "
    "new neurological findings and without a laboratory abnormality explaining the symptom; managed with "
    "rest and graded activity"
)
ZOSTER_EN_DASH_TERM = "Herpes zoster – thoracic"


@dataclass(frozen=True)
class EventSpec:
    """One expected adverse event of the event table (STUDY.md §4.2).

    ``population``: APHERESED (everyone leukapheresed), LD (lymphodepleted) or INFUSED; ``p``: share of
    that population with the event; ``onset`` and ``duration``: protocol-day and day ranges (onset drawn
    with density skewed to early days by ``skew`` > 1); ``grades``: probabilities of CTCAE grades 1-4;
    ``terms``: (verbatim, LLT) pairs; ``p_serious``: probability of an SAE for grade <= 2 and >= 3;
    ``haem``: haematological (exempt from the non-haematological DLT rule); ``p_prolonged``: share of a
    cytopenia still present after D28 (capped at grade 3: grade 4 beyond D28 is a DLT); ``showcase``: a
    verbatim a fixture-sized study must contain (forces one occurrence).
    """

    kind: str
    population: str
    p: float
    onset: tuple[int, int]
    duration: tuple[int, int]
    grades: tuple[float, float, float, float]
    terms: tuple[tuple[str, str], ...]
    rel_cart: str
    rel_ld: str
    aesi: str | None = None
    p_serious: tuple[float, float] = (0.0, 0.3)
    haem: bool = False
    p_prolonged: float = 0.0
    skew: float = 1.0
    showcase: str | None = None


EVENTS: tuple[EventSpec, ...] = (
    EventSpec("PARAESTHESIA", "APHERESED", 0.08, (-21, -21), (0, 0), (1, 0, 0, 0),
              (("Perioral tingling during leukapheresis (citrate)", "Paraesthesia oral"),),
              "NOT RELATED", "NOT RELATED"),
    EventSpec("NAUSEA", "LD", 0.3, (-5, -3), (1, 4), (0.7, 0.3, 0, 0),
              (("Nausea", "Nausea"), ("Nausea after cyclophosphamide", "Nausea")), "NOT RELATED", "PROBABLE"),
    EventSpec("VOMITING", "LD", 0.1, (-5, -3), (0, 2), (0.8, 0.2, 0, 0), (("Vomiting", "Vomiting"),),
              "NOT RELATED", "PROBABLE"),
    EventSpec("LYMPHOPENIA", "LD", 0.85, (-3, -1), (14, 35), (0, 0, 0.3, 0.7),
              (("Lymphopenia", "Lymphopenia"), ("Lymphocytopenia", "Lymphocytopenia")), "POSSIBLE", "RELATED",
              p_serious=(0.0, 0.0), haem=True),
    EventSpec("NEUTROPENIA", "INFUSED", 0.8, (5, 10), (8, 11), (0, 0.1, 0.45, 0.45),
              (("Neutropenia", "Neutropenia"),), "PROBABLE", "PROBABLE",
              p_serious=(0.0, 0.05), haem=True, p_prolonged=0.07),
    EventSpec("FEBRILE_NEUTROPENIA", "INFUSED", 0.08, (5, 10), (2, 5), (0, 0, 0.9, 0.1),
              (("Febrile neutropenia", "Febrile neutropenia"),), "POSSIBLE", "POSSIBLE", p_serious=(0.0, 0.5),
              haem=True),
    EventSpec("ANAEMIA", "INFUSED", 0.4, (2, 10), (7, 28), (0.3, 0.35, 0.3, 0.05),
              (("Anaemia", "Anaemia"), ("Anemia", "Anemia")), "POSSIBLE", "PROBABLE", p_serious=(0.0, 0.1),
              haem=True, p_prolonged=0.05),
    EventSpec("THROMBOCYTOPENIA", "INFUSED", 0.35, (3, 10), (5, 18), (0.3, 0.25, 0.3, 0.15),
              (("Thrombocytopenia", "Thrombocytopenia"), ("Thrombopenia", "Thrombopenia")), "PROBABLE",
              "PROBABLE", p_serious=(0.0, 0.1), haem=True, p_prolonged=0.07),
    EventSpec("HEADACHE", "INFUSED", 0.15, (0, 14), (1, 3), (0.8, 0.2, 0, 0), (("Headache", "Headache"),),
              "POSSIBLE", "UNLIKELY"),
    EventSpec("FATIGUE", "INFUSED", 0.25, (0, 30), (3, 21), (0.7, 0.3, 0, 0),
              (("Fatigue", "Fatigue"), ("Tiredness", "Tiredness"), (LONG_FATIGUE_TERM, "Fatigue")),
              "POSSIBLE", "POSSIBLE", showcase=LONG_FATIGUE_TERM),
    EventSpec("ALT_INCREASED", "INFUSED", 0.15, (3, 28), (5, 21), (0.75, 0.25, 0, 0),
              (("ALT increased", "ALT increased"), ("Elevated ALT", "ALT increased"),
               ("Alanine aminotransferase increased", "Alanine aminotransferase increased")),
              "POSSIBLE", "POSSIBLE"),
    EventSpec("HYPOKALAEMIA", "INFUSED", 0.15, (1, 14), (2, 7), (0.6, 0.3, 0.1, 0),
              (("Hypokalaemia", "Hypokalaemia"), ("Hypokalemia", "Hypokalemia"),
               ("Low potassium", "Hypokalaemia")), "POSSIBLE", "UNLIKELY"),
    EventSpec("PYREXIA", "INFUSED", 0.08, (30, 300), (1, 3), (0.9, 0.1, 0, 0),
              (("Fever", "Fever"), ("Pyrexia", "Pyrexia")), "UNLIKELY", "NOT RELATED", skew=2.0),
    EventSpec("URTI", "INFUSED", 0.12, (14, 540), (5, 14), (0.6, 0.35, 0.05, 0),
              (("Upper respiratory tract infection", "Upper respiratory tract infection"), ("URTI", "URTI")),
              "POSSIBLE", "NOT RELATED", "INFECTION", p_serious=(0.0, 0.6), skew=2.0),
    EventSpec("UTI", "INFUSED", 0.06, (14, 540), (5, 10), (0.5, 0.4, 0.1, 0),
              (("Urinary tract infection", "Urinary tract infection"), ("UTI", "UTI")), "POSSIBLE",
              "NOT RELATED", "INFECTION", p_serious=(0.0, 0.6), skew=2.0),
    EventSpec("HERPES_ZOSTER", "INFUSED", 0.05, (60, 600), (10, 28), (0.3, 0.6, 0.1, 0),
              (("Herpes zoster", "Herpes zoster"), (ZOSTER_EN_DASH_TERM, "Herpes zoster"),
               ("Shingles", "Shingles")), "POSSIBLE", "NOT RELATED", "INFECTION", p_serious=(0.0, 0.6),
              skew=1.5, showcase=ZOSTER_EN_DASH_TERM),
    EventSpec("COVID19", "INFUSED", 0.1, (14, 540), (5, 14), (0.6, 0.3, 0.1, 0),
              (("COVID-19", "COVID-19"), ("COVID-19 infection", "COVID-19")), "UNLIKELY", "NOT RELATED",
              "INFECTION", p_serious=(0.05, 0.8), skew=1.5),
    EventSpec("PNEUMONIA", "INFUSED", 0.03, (14, 365), (7, 14), (0, 0.5, 0.5, 0),
              (("Pneumonia", "Pneumonia"), ("Community-acquired pneumonia", "Pneumonia")), "POSSIBLE",
              "NOT RELATED", "INFECTION", p_serious=(0.5, 1.0), skew=2.0),
    EventSpec("HYPOGAMMA", "INFUSED", 0.35, (30, 120), (90, 400), (0.3, 0.6, 0.1, 0),
              (("Hypogammaglobulinaemia", "Hypogammaglobulinaemia"),
               ("Hypogammaglobulinemia", "Hypogammaglobulinemia"), ("Low IgG", "Hypogammaglobulinaemia")),
              "RELATED", "NOT RELATED", "HYPOGAMMA", p_serious=(0.0, 0.0)),
)  # fmt: skip

# CRS / ICANS management (STUDY.md §4.2): tocilizumab in 10-25% of CRS, steroids in 5-10%.
P_TOCI = {1: 0.08, 2: 0.6, 3: 1.0, 4: 1.0}
P_CRS_STEROID = {1: 0.02, 2: 0.25, 3: 1.0, 4: 1.0}
P_ICANS_STEROID = {1: 0.2, 2: 1.0, 3: 1.0, 4: 1.0}
P_CRS_SERIOUS = {1: 0.0, 2: 0.2, 3: 1.0, 4: 1.0}
P_DLT_THROMBOCYTOPENIA = 0.25  # else the DLT is grade 4 neutropenia, both not recovered by D28
P_PARTIAL_START = 0.03
P_PARTIAL_END = 0.02
P_RECOVERING = 0.4  # of the events without an end date
P_SEQUELAE = 0.2  # herpes zoster: post-herpetic neuralgia
FIXTURE_MIN_SUBJECTS = 8  # from this size on, each showcase case is present


def _uniform_int(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, skew: np.ndarray | float = 1.0
) -> np.ndarray:
    """Integers in [lo, hi] per row; ``skew`` > 1 favours the low end (u ** skew)."""
    u = rng.uniform(size=len(lo)) ** skew
    return (lo + np.floor(u * (hi - lo + 1))).astype(int)


def _grade(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """A grade 1..k per row from a row-wise probability matrix."""
    cumulative = probs.cumsum(axis=1) / probs.sum(axis=1, keepdims=True)
    return 1 + (rng.uniform(size=(len(probs), 1)) > cumulative[:, :-1]).sum(axis=1)


def _populations(subjects: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "APHERESED": subjects[subjects["PATH"] != "SCREEN FAILURE"],
        "LD": subjects[subjects["PATH"].isin(["LD ONLY", "INFUSED"])],
        "INFUSED": subjects[subjects["PATH"] == "INFUSED"],
    }


def _values(x: object) -> object:
    """A Series as its values (event blocks are built positionally, never aligned on an index)."""
    return x.to_numpy() if isinstance(x, pd.Series) else x


def _event_frame(
    base: pd.DataFrame,
    kind: str | pd.Series,
    term: str | pd.Series,
    llt: str | pd.Series,
    start: pd.Series,
    end: pd.Series,
    grade: int | np.ndarray,
    **extra: object,
) -> pd.DataFrame:
    """An event block in the internal layout every AE block shares (missing flags get defaults)."""
    frame = pd.DataFrame(
        {
            "SITEID": base["SITEID"].to_numpy(),
            "SUBJID": base["SUBJID"].to_numpy(),
            "KIND": _values(kind),
            "AETERM": _values(term),
            "AELLT": _values(llt),
            "START": pd.to_datetime(_values(start)),
            "END": pd.to_datetime(_values(end)),
            "GRADE": _values(grade),
        }
    )
    defaults = {
        "STTIME": pd.NaT,
        "IS_CRS": False,
        "IS_ICANS": False,
        "ASTCTGR": np.nan,
        "SERIOUS": False,
        "REL_CART": "NOT RELATED",
        "REL_LD": "NOT RELATED",
        "AESI": None,
        "DLT": False,
        "TOCI": None,
        "STEROID": None,
        "ACN": None,
        "FATAL": False,
        "HAEM": False,
    }
    for column, value in {**defaults, **extra}.items():
        frame[column] = _values(value)
    return frame


def _force_showcases(ctx: SynthContext, rng: np.random.Generator, grid: pd.DataFrame) -> pd.DataFrame:
    """In a fixture-sized study, make sure each showcase verbatim occurs once (onset inside follow-up)."""
    if len(ctx.subjects) < FIXTURE_MIN_SUBJECTS:
        return grid
    for spec in (e for e in EVENTS if e.showcase):
        rows = grid.index[(grid["KIND"] == spec.kind) & (grid["LASTDAY"] >= spec.onset[1])]
        if not len(rows):
            continue
        occurring = rows[grid.loc[rows, "OCCURS"].to_numpy()]
        pick = occurring[0] if len(occurring) else rows[rng.integers(len(rows))]
        if not (grid.loc[occurring, "AETERM"] == spec.showcase).any():
            grid.loc[pick, ["OCCURS", "AETERM"]] = [True, spec.showcase]
    return grid


def _table_events(ctx: SynthContext) -> pd.DataFrame:
    """The expected toxicities of ``EVENTS``: every subject of a spec's population × spec, kept with the
    spec's probability; onset, duration, grade and verbatim drawn per row. A prolonged cytopenia lasts past
    D28 at grade <= 3. DLT subjects' own cytopenia comes from :func:`_dlt_events` instead."""
    rng = ctx.rng("ae-table")
    specs = pd.DataFrame(
        [
            {
                "KIND": e.kind,
                "population": e.population,
                "p": e.p,
                "n_terms": len(e.terms),
                "onset_lo": e.onset[0],
                "onset_hi": e.onset[1],
                "dur_lo": e.duration[0],
                "dur_hi": e.duration[1],
                **{f"g{i + 1}": g for i, g in enumerate(e.grades)},
                "serious_low": e.p_serious[0],
                "serious_high": e.p_serious[1],
                "rel_cart": e.rel_cart,
                "rel_ld": e.rel_ld,
                "aesi": e.aesi,
                "haem": e.haem,
                "p_prolonged": e.p_prolonged,
                "skew": e.skew,
            }
            for e in EVENTS
        ]
    )
    pops = _populations(ctx.subjects)
    grid = pd.concat(
        [pops[p].merge(specs[specs["population"] == p], how="cross") for p in specs["population"].unique()],
        ignore_index=True,
    )
    n = len(grid)
    grid["OCCURS"] = rng.uniform(size=n) < grid["p"].to_numpy()
    n_terms = grid["n_terms"].to_numpy()
    term_idx = np.floor(rng.uniform(size=n) * n_terms).astype(int)
    terms = pd.DataFrame(
        [(e.kind, i, verbatim, llt) for e in EVENTS for i, (verbatim, llt) in enumerate(e.terms)],
        columns=["KIND", "TERMIDX", "AETERM", "AELLT"],
    )
    grid = grid.assign(TERMIDX=term_idx).merge(terms, on=["KIND", "TERMIDX"], how="left")
    grid = _force_showcases(ctx, rng, grid)
    llt_of_term = terms.drop_duplicates("AETERM").set_index("AETERM")["AELLT"]
    grid["AELLT"] = grid["AETERM"].map(llt_of_term)
    dlt_cytopenia = grid["DLT"] & grid["KIND"].isin(["NEUTROPENIA", "THROMBOCYTOPENIA"])
    grid = grid[grid["OCCURS"] & ~dlt_cytopenia].reset_index(drop=True)

    n = len(grid)
    onset = _uniform_int(
        rng, grid["onset_lo"].to_numpy(), grid["onset_hi"].to_numpy(), grid["skew"].to_numpy()
    )
    duration = _uniform_int(rng, grid["dur_lo"].to_numpy(), grid["dur_hi"].to_numpy())
    grade = _grade(rng, grid[["g1", "g2", "g3", "g4"]].to_numpy(dtype=float))
    prolonged = rng.uniform(size=n) < grid["p_prolonged"].to_numpy()
    grade = np.where(prolonged, np.minimum(grade, 3), grade)
    duration = np.where(prolonged, rng.integers(25, 51, n), duration)
    p_serious = np.where(grade >= 3, grid["serious_high"], grid["serious_low"])
    serious = rng.uniform(size=n) < p_serious
    start = grid["D0"] + days(onset)
    return _event_frame(
        grid,
        grid["KIND"],
        grid["AETERM"],
        grid["AELLT"],
        start,
        start + days(duration),
        grade,
        SERIOUS=serious,
        REL_CART=grid["rel_cart"],
        REL_LD=grid["rel_ld"],
        AESI=np.where(prolonged, "CYTOPENIA", grid["aesi"].to_numpy()),
        HAEM=grid["haem"],
    )


def _onset_time(rng: np.random.Generator, start: pd.Series, infdtm: pd.Series) -> pd.Series:
    """A clock time on the onset date, never before one hour after the infusion start."""
    clock = start + pd.to_timedelta(rng.integers(0, 24 * 12, len(start)) * 5, unit="m")
    return clock.where(clock > infdtm + pd.Timedelta(hours=1), infdtm + pd.Timedelta(hours=1))


def _crs_icans_events(ctx: SynthContext) -> pd.DataFrame:
    """The backbone's CRS and ICANS as AEs: ASTCT grade (CTCAE grade also collected, equal here), onset
    D0 + CRSON/ICANSON, CRSDUR/ICANSDUR days; tocilizumab and steroids per STUDY.md §4.2; grade 4 CRS or
    grade >= 3 ICANS is a DLT by protocol rule. A fixture-sized study has at least one CRS treated with
    tocilizumab and one with a glucocorticoid."""
    rng = ctx.rng("ae-crs")
    s = ctx.subjects
    blocks = []
    for syndrome, (term, grade_col, onset_col, dur_col) in {
        "CRS": ("Cytokine release syndrome", "CRSGR", "CRSON", "CRSDUR"),
        "ICANS": ("Immune effector cell-associated neurotoxicity syndrome", "ICANSGR", "ICANSON", "ICANSDUR"),
    }.items():
        e = s[(s["PATH"] == "INFUSED") & (s[grade_col] > 0)]
        grade = e[grade_col].to_numpy()
        start = e["D0"] + days(e[onset_col])
        is_crs = syndrome == "CRS"
        toci = (
            rng.uniform(size=len(e)) < pd.Series(grade).map(P_TOCI).to_numpy(dtype=float)
            if is_crs
            else np.zeros(len(e), bool)
        )
        steroid_p = P_CRS_STEROID if is_crs else P_ICANS_STEROID
        steroid = rng.uniform(size=len(e)) < pd.Series(grade).map(steroid_p).to_numpy(dtype=float)
        if is_crs and len(s) >= FIXTURE_MIN_SUBJECTS and len(e):
            worst = int(np.argmax(grade))
            toci[worst] |= not toci.any()
            steroid[worst] |= not steroid.any()
        blocks.append(
            _event_frame(
                e,
                syndrome,
                term,
                term,
                start,
                start + days(e[dur_col] - 1),
                grade,
                STTIME=_onset_time(rng, start, e["INFDTM"]),
                IS_CRS=is_crs,
                IS_ICANS=not is_crs,
                ASTCTGR=grade,
                SERIOUS=rng.uniform(size=len(e)) < pd.Series(grade).map(P_CRS_SERIOUS).to_numpy(dtype=float),
                REL_CART="RELATED",
                DLT=grade >= (4 if is_crs else 3),
                TOCI=np.where(toci, "Y", "N"),
                STEROID=np.where(steroid, "Y", "N"),
            )
        )
    return pd.concat(blocks, ignore_index=True)


def _dlt_events(ctx: SynthContext) -> pd.DataFrame:
    """One investigator-reported DLT per backbone DLT subject (STUDY.md §3.2 rule 4): grade 4 neutropenia
    or thrombocytopenia from D4-D8 not recovered to grade <= 2 by D28 (resolves D35-D56)."""
    rng = ctx.rng("ae-dlt")
    e = ctx.subjects[(ctx.subjects["PATH"] == "INFUSED") & ctx.subjects["DLT"]]
    n = len(e)
    thrombo = rng.uniform(size=n) < P_DLT_THROMBOCYTOPENIA
    start = e["D0"] + days(rng.integers(4, 9, n))
    return _event_frame(
        e,
        np.where(thrombo, "THROMBOCYTOPENIA", "NEUTROPENIA"),
        np.where(
            thrombo,
            "Grade 4 thrombocytopenia not recovered by Day 28",
            "Grade 4 neutropenia not recovered by Day 28",
        ),
        np.where(thrombo, "Thrombocytopenia", "Neutropenia"),
        start,
        e["D0"] + days(rng.integers(35, 57, n)),
        4,
        SERIOUS=rng.uniform(size=n) < 0.5,
        REL_CART="PROBABLE",
        REL_LD="POSSIBLE",
        AESI="CYTOPENIA",
        DLT=True,
        HAEM=True,
    )


def _special_events(ctx: SynthContext) -> pd.DataFrame:
    """Events other forms depend on: the infusion-related reaction that interrupted an infusion (drug
    interrupted, grade 2), the fatal AE of each death (grade 5, cause as on the death page) and the
    serious pneumonia that stopped each LD ONLY subject before infusion (C-CAR168 withdrawn)."""
    rng = ctx.rng("ae-special")
    s = ctx.subjects
    conduct = infusion_conduct(ctx)
    irr = conduct[conduct["INFINT"]]
    reaction = _event_frame(
        irr,
        "INFUSION_REACTION",
        "Infusion reaction: chills and flushing",
        "Infusion related reaction",
        irr["INFSTART"].dt.normalize(),
        irr["INFSTART"].dt.normalize(),
        2,
        STTIME=irr["INFSTART"] + pd.to_timedelta(rng.integers(5, 11, len(irr)), unit="m"),
        REL_CART="RELATED",
        REL_LD="NOT RELATED",
        ACN="DRUG INTERRUPTED",
    )
    dead = death_details(ctx)
    fatal = _event_frame(
        dead,
        "FATAL",
        dead["FATAL_TERM"],
        dead["FATAL_LLT"],
        dead["DTHDT"] - days(rng.integers(5, 21, len(dead))),
        dead["DTHDT"],
        5,
        SERIOUS=True,
        REL_CART="UNLIKELY",
        AESI="INFECTION",
        FATAL=True,
    )
    ld_only = s[s["PATH"] == "LD ONLY"]
    start = ld_only["D0"] + days(rng.integers(-4, 0, len(ld_only)))
    stopped = _event_frame(
        ld_only,
        "LD_ONLY_INFECTION",
        "Pneumonia after lymphodepletion, infusion cancelled",
        "Pneumonia",
        start,
        start + days(rng.integers(10, 21, len(ld_only))),
        3,
        SERIOUS=True,
        REL_LD="POSSIBLE",
        AESI="INFECTION",
        ACN="DRUG WITHDRAWN",
    )
    return pd.concat([reaction, fatal, stopped], ignore_index=True)


def _seriousness(rng: np.random.Generator, ev: pd.DataFrame) -> pd.DataFrame:
    """The six SAE criteria, Y/N when AESER = Y (at least one Y: hospitalisation, or medically important
    when not hospitalised; life-threatening for some grade 4; death for grade 5), empty when AESER = N."""
    n = len(ev)
    serious = ev["SERIOUS"].to_numpy()
    hosp = rng.uniform(size=n) < 0.85
    criteria = {
        "AESDTH": ev["FATAL"].to_numpy(),
        "AESLIFE": (ev["GRADE"].to_numpy() == 4) & (rng.uniform(size=n) < 0.5),
        "AESHOSP": hosp | ev["FATAL"].to_numpy(),
        "AESDISAB": np.zeros(n, bool),
        "AESCONG": np.zeros(n, bool),
        "AESMIE": ~hosp & ~ev["FATAL"].to_numpy(),
    }
    return pd.DataFrame(
        {k: np.where(serious, np.where(v, "Y", "N"), None) for k, v in criteria.items()}, index=ev.index
    )


def adverse_events(ctx: SynthContext) -> pd.DataFrame:
    """All AEs of the study in the internal layout, made consistent with the backbone and the protocol.

    - nothing starts after the subject's last day; an end after it becomes "ongoing" (no end date);
    - C-CAR168 cannot cause what starts before the infusion (REL_CART NOT RELATED), LD nothing before LD;
    - DLT consistency (STUDY.md §3.2): apart from the flagged DLT events, a related grade >= 3
      non-haematological event starting in D0-D28 resolves within 7 days;
    - AEACN: DOSE NOT CHANGED before the infusion of an infused subject, NOT APPLICABLE after it
      (single dose) or for subjects never infused, unless the event set it (interrupted / withdrawn);
    - outcome follows the end date (FATAL only for the fatal AE); AESPID numbers the events of a
      subject in onset order (AE-001, ...), shared with crsdaily.csv.
    """
    s = ctx.subjects.assign(LAST=last_date(ctx.subjects))
    rng = ctx.rng("ae-finalise")
    ev = pd.concat(
        [_table_events(ctx), _crs_icans_events(ctx), _dlt_events(ctx), _special_events(ctx)],
        ignore_index=True,
    )
    ev = ev.merge(
        s[["SITEID", "SUBJID", "PATH", "D0", "LDSTDT", "LAST"]], on=["SITEID", "SUBJID"], how="left"
    )
    ev = ev[ev["START"] <= ev["LAST"]].reset_index(drop=True)
    day = (ev["START"] - ev["D0"]).dt.days
    cap = (
        ~ev["DLT"]
        & ~ev["HAEM"]
        & ~ev["IS_CRS"]
        & ~ev["IS_ICANS"]
        & (ev["GRADE"] >= 3)
        & day.between(0, 28)
        & ev["REL_CART"].isin(RELATED)
    )
    ev["END"] = ev["END"].where(~cap, np.minimum(ev["END"], ev["START"] + days(7)))
    ev["END"] = ev["END"].where(ev["END"] <= ev["LAST"])
    infused = ev["PATH"] == "INFUSED"
    ev["REL_CART"] = ev["REL_CART"].where(infused & (day >= 0), "NOT RELATED")
    ev["REL_LD"] = ev["REL_LD"].where(ev["START"] >= ev["LDSTDT"], None)
    default_acn = np.where(infused & (day < 0), "DOSE NOT CHANGED", "NOT APPLICABLE")
    ev["ACN"] = ev["ACN"].where(ev["ACN"].notna(), default_acn)
    ended = ev["END"].notna()
    sequelae = (ev["KIND"] == "HERPES_ZOSTER") & (rng.uniform(size=len(ev)) < P_SEQUELAE)
    ev["AEOUT"] = np.select(
        [ev["FATAL"], ended & sequelae, ended, rng.uniform(size=len(ev)) < P_RECOVERING],
        ["FATAL", "RECOVERED/RESOLVED WITH SEQUELAE", "RECOVERED/RESOLVED", "RECOVERING/RESOLVING"],
        "NOT RECOVERED/NOT RESOLVED",
    )
    ev["DLT_INV"] = np.where(ev["DLT"], "Y", np.where(infused & (day >= 0), "N", None))
    ev = pd.concat([ev, _seriousness(rng, ev)], axis=1)
    ev = ev.sort_values(["SITEID", "SUBJID", "START", "KIND"], kind="mergesort").reset_index(drop=True)
    ev["AESPID"] = "AE-" + (ev.groupby(["SITEID", "SUBJID"]).cumcount() + 1).astype(str).str.zfill(3)
    return ev


def _partial_dates(ctx: SynthContext, ev: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """AESTDT / AEENDT text with partial-date noise (STUDY.md §4.6): ~3% of start dates and ~2% of end
    dates lose their day. CRS/ICANS, the infusion reaction and the fatal AE keep full dates (other forms
    date them), and so do DLTs (the DLT window is judged on the exact date). A fixture-sized study has
    one partial start in the infusion month of an infused subject on or after the infusion (the TEAE
    imputation case: missing day → not before TRTSDT)."""
    rng = ctx.rng("ae-partial")
    n = len(ev)
    eligible = ~(ev["IS_CRS"] | ev["IS_ICANS"] | ev["FATAL"] | ev["DLT"]) & (
        ev["KIND"] != "INFUSION_REACTION"
    )
    start_partial = eligible & (rng.uniform(size=n) < P_PARTIAL_START)
    same_month = (
        eligible
        & (ev["PATH"] == "INFUSED")
        & (ev["START"] >= ev["D0"])
        & (ev["START"].dt.to_period("M") == ev["D0"].dt.to_period("M"))
    )
    if (
        len(ctx.subjects) >= FIXTURE_MIN_SUBJECTS
        and same_month.any()
        and not (start_partial & same_month).any()
    ):
        start_partial[same_month[same_month].index[rng.integers(same_month.sum())]] = True
    end_partial = eligible & ev["END"].notna() & (rng.uniform(size=n) < P_PARTIAL_END)
    return partial_month(ev["START"], start_partial), partial_month(ev["END"], end_partial)


def ae(ctx: SynthContext) -> pd.DataFrame:
    """Adverse events (STUDY.md §1 form 8, §2.9, §4.2) with the synthetic MedDRA coding columns; see
    :func:`adverse_events` for the consistency rules and :func:`_partial_dates` for the noise."""
    ev = adverse_events(ctx)
    aestdt, aeendt = _partial_dates(ctx, ev)
    coding = code_meddra(ev["AELLT"], load_coding(ctx.study)).drop(columns="AELLT")
    frame = pd.DataFrame(
        {
            "SITEID": ev["SITEID"],
            "SUBJID": ev["SUBJID"],
            "AESPID": ev["AESPID"],
            "AETERM": ev["AETERM"],
            "AELLT": ev["AELLT"],
            **coding,
            "AESTDT": aestdt,
            "AESTTM": iso_time(ev["STTIME"]),
            "AEENDT": aeendt,
            "AEONGO": np.where(ev["END"].isna(), "Y", "N"),
            "CTCAEGR": ev["GRADE"],
            "IS_CRS": np.where(ev["IS_CRS"], "Y", "N"),
            "IS_ICANS": np.where(ev["IS_ICANS"], "Y", "N"),
            "ASTCTGR": ev["ASTCTGR"],
            "AESER": np.where(ev["SERIOUS"], "Y", "N"),
            **{c: ev[c] for c in ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")},
            "REL_CART": ev["REL_CART"],
            "REL_LD": ev["REL_LD"],
            "AEACN": ev["ACN"],
            "AEOUT": ev["AEOUT"],
            "DLT_INV": ev["DLT_INV"],
            "TOCI": ev["TOCI"],
            "STEROID": ev["STEROID"],
            "AESI": ev["AESI"],
        }
    )
    return finish_form(frame, form_spec("ae"), ctx.study, sort_by=["AESPID"])


def _course_days(n_days: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand episodes into days: (episode index, day index, daily grade). The grade rises by one a day to
    the peak in the middle of the episode and falls again, never below 1 while the episode lasts: a
    grade-3 peak lasts one day, so a non-DLT grade 3 CRS improves within 72 h (STUDY.md §3.2 rule 1)."""
    episode = np.repeat(np.arange(len(n_days)), n_days)
    day = np.arange(len(episode)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    middle = ((n_days - 1) // 2)[episode]
    return episode, day, np.maximum(1, peak[episode] - np.abs(day - middle))


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), n)]


def _crs_components(rng: np.random.Generator, grade: np.ndarray) -> dict[str, np.ndarray]:
    """Daily CRS components realising an ASTCT 2019 grade: fever on every CRS day; grade 2 low-flow O2
    (LFNC <= 6 L/min); grade 3 one vasopressor (± vasopressin) or HFNC/facemask/NRB/Venturi; grade 4 two
    vasopressors or positive pressure (CPAP/BiPAP/MV)."""
    n = len(grade)
    pressor_route = rng.uniform(size=n) < 0.5  # hypotension drives the grade, else hypoxia
    vaso = np.select(
        [(grade >= 4) & pressor_route, (grade == 3) & pressor_route, grade >= 4],
        [2, 1, rng.integers(0, 2, n)],
        0,
    )
    device = np.select(
        [grade == 2, (grade == 3) & ~pressor_route, (grade == 4) & ~pressor_route, grade >= 3],
        [
            np.full(n, "LFNC", dtype=object),
            _pick(rng, ("HFNC", "FACEMASK", "NRB", "VENTURI"), n),
            _pick(rng, ("CPAP", "BIPAP", "MV"), n),
            _pick(rng, ("NONE", "LFNC"), n),
        ],
        "NONE",
    )
    flow = {
        "NONE": (0, 0),
        "LFNC": (2, 5),
        "HFNC": (30, 50),
        "FACEMASK": (6, 10),
        "NRB": (10, 15),
        "VENTURI": (8, 12),
        "CPAP": (10, 15),
        "BIPAP": (10, 15),
        "MV": (10, 15),
    }
    lo = pd.Series(device).map({k: v[0] for k, v in flow.items()}).to_numpy(dtype=int)
    hi = pd.Series(device).map({k: v[1] for k, v in flow.items()}).to_numpy(dtype=int)
    fever_lo = np.select([grade == 1, grade == 2], [38.0, 38.3], 38.6)
    fever_hi = np.select([grade == 1, grade == 2], [39.0, 39.6], 40.5)
    return {
        "TMAX_C": np.round(rng.uniform(fever_lo, fever_hi), 1),
        "VASOPRESSOR_N": vaso,
        "VASOPRESSIN": np.where((vaso >= 1) & (rng.uniform(size=n) < 0.2), "Y", "N"),
        "O2_LPM": rng.integers(lo, hi + 1).astype(float),
        "O2_DEVICE": device,
    }


def _icans_components(rng: np.random.Generator, grade: np.ndarray) -> dict[str, np.ndarray]:
    """Daily ICANS components realising an ASTCT 2019 grade: ICE 7-9 / 3-6 / 0-2 / 0 with the matching
    level of consciousness; grade 3 may add a rapidly resolving seizure, grade 4 deep motor weakness."""
    n = len(grade)
    ice_lo = np.select([grade == 1, grade == 2, grade == 3], [7, 3, 0], 0)
    ice_hi = np.select([grade == 1, grade == 2, grade == 3], [9, 6, 2], 0)
    consciousness = np.array(
        ["AWAKENS SPONTANEOUSLY", "AWAKENS TO VOICE", "AWAKENS TO TOUCH", "UNAROUSABLE"], dtype=object
    )
    return {
        "ICE_SCORE": rng.integers(ice_lo, ice_hi + 1),
        "CONSCIOUSNESS": consciousness[np.clip(grade, 1, 4) - 1],
        "SEIZURE": np.where((grade == 3) & (rng.uniform(size=n) < 0.2), "Y", "N"),
        "MOTOR": np.where((grade == 4) & (rng.uniform(size=n) < 0.3), "Y", "N"),
        "CEREB_EDEMA": "N",
    }


def cytokine_course(ctx: SynthContext) -> pd.DataFrame:
    """The day-by-day CRS/ICANS state of every infused subject with CRS or ICANS (crsdaily and vs read it).

    One row per subject and day on which CRS and/or ICANS is active (onset .. onset + duration - 1, as in
    ae.csv): the daily grades CRS_DAYGRADE / ICANS_DAYGRADE (NaN when that syndrome is not active) and all
    crsdaily components. On a day without CRS the subject is afebrile without support; without ICANS the
    ICE score is 10.
    """
    rng = ctx.rng("crsdaily")
    s = ctx.subjects[ctx.subjects["PATH"] == "INFUSED"]
    parts = []
    for syndrome, (grade_col, onset_col, dur_col, components) in {
        "CRS": ("CRSGR", "CRSON", "CRSDUR", _crs_components),
        "ICANS": ("ICANSGR", "ICANSON", "ICANSDUR", _icans_components),
    }.items():
        e = s[s[grade_col] > 0]
        episode, day, grade = _course_days(e[dur_col].to_numpy(), e[grade_col].to_numpy())
        rows = e.iloc[episode]
        parts.append(
            pd.DataFrame(
                {
                    "SITEID": rows["SITEID"].to_numpy(),
                    "SUBJID": rows["SUBJID"].to_numpy(),
                    "FADT": (rows["D0"] + days(rows[onset_col] + day)).to_numpy(),
                    f"{syndrome}_DAYGRADE": grade,
                    **components(rng, grade),
                }
            )
        )
    state = parts[0].merge(parts[1], on=["SITEID", "SUBJID", "FADT"], how="outer")
    n = len(state)
    no_crs = state["CRS_DAYGRADE"].isna()
    state["TMAX_C"] = state["TMAX_C"].where(~no_crs, np.round(rng.uniform(36.5, 37.4, n), 1))
    defaults = {
        "VASOPRESSOR_N": 0,
        "VASOPRESSIN": "N",
        "O2_LPM": 0.0,
        "O2_DEVICE": "NONE",
        "ICE_SCORE": 10,
        "SEIZURE": "N",
        "MOTOR": "N",
        "CEREB_EDEMA": "N",
    }
    return (
        state.fillna(defaults)
        .sort_values(["SITEID", "SUBJID", "FADT"], kind="mergesort")
        .reset_index(drop=True)
    )


def crsdaily(ctx: SynthContext) -> pd.DataFrame:
    """Daily CRS/ICANS components (STUDY.md §1 form 9): one row per day of each CRS or ICANS AE, linked
    by its AESPID; the worst day reproduces the AE's ASTCT grade. A day on which both syndromes are active
    appears under both AEs with the same measurements."""
    state = cytokine_course(ctx)
    ev = adverse_events(ctx)
    links = []
    for flag, grade_col in (("IS_CRS", "CRS_DAYGRADE"), ("IS_ICANS", "ICANS_DAYGRADE")):
        spid = ev.loc[ev[flag], ["SITEID", "SUBJID", "AESPID"]]
        links.append(state[state[grade_col].notna()].merge(spid, on=["SITEID", "SUBJID"]))
    frame = pd.concat(links, ignore_index=True)
    frame["FADT"] = iso_date(frame["FADT"])
    frame = frame.drop(columns=["CRS_DAYGRADE", "ICANS_DAYGRADE"])
    return finish_form(frame, form_spec("crsdaily"), ctx.study, sort_by=["AESPID", "FADT"])


# ----------------------------------------------------------------------------------------------------
# Concomitant medications (STUDY.md §1 form 10, §2.3 CM, §3.6, §4.5)

# Background glucocorticoid (probability per indication, baseline prednisone-equivalent mg/day range).
GC_USE = {"SLE": 0.95, "LN": 0.95, "IMNM": 0.9, "MG": 0.7, "NMOSD": 0.6, "RRMS": 0.0}
GC_BASELINE_MG = {
    "SLE": (10, 30),
    "LN": (10, 30),
    "IMNM": (15, 40),
    "MG": (10, 30),
    "NMOSD": (5, 15),
    "RRMS": (0, 0),
}
# Verbatim, prednisone-equivalent factor (STUDY.md §3.6), tablet step (mg), probability.
GC_PRODUCTS = (
    ("Prednisone", 1.0, 2.5, 0.45),
    ("Prednisone acetate tablets", 1.0, 2.5, 0.15),
    ("Prednisolone", 1.0, 2.5, 0.15),
    ("Methylprednisolone", 1.25, 2.0, 0.15),
    ("Medrol", 1.25, 2.0, 0.10),
)
P_GC_FREE_RESPONDER = 0.95  # GC taper to 0 by M3-M6 in > 80% (STUDY.md §4.5)


@dataclass(frozen=True)
class Medication:
    """One medication row template: verbatims (one drawn per record), EDC class, dose, unit, frequency,
    route, indication, probability that it applies, and timing in days (meaning depends on the table)."""

    verbatims: tuple[str, ...]
    cmclass: str
    dose: float | None  # None: not a dosed drug (plasma exchange)
    unit: str | None
    freq: str | None
    route: str | None
    indication: str
    p: float = 1.0
    start: tuple[int, int] = (0, 0)
    length: tuple[int, int] | None = (0, 0)  # None: ongoing
    applies_to: tuple[str, ...] = ()  # indications, or AE kinds for AE treatments
    courses: int = 1  # up to this many courses, 28 days apart
    p_continued: float = 0.0  # background therapy kept through LD and follow-up (else a washout)


IS = "IMMUNOSUPPRESSANT"
# Background disease therapy, started before consent; continued through the study with probability
# ``p_continued``, else stopped 7-28 days before lymphodepletion (IS washout).
BACKGROUND = (
    Medication(("Mycophenolate mofetil", "CellCept", "MMF"), IS, 1000, "mg", "BID", "ORAL", "DISEASE", 0.6,
               applies_to=("SLE", "LN")),
    Medication(("Tacrolimus", "Prograf"), IS, 2, "mg", "BID", "ORAL", "DISEASE", 0.3,
               applies_to=("SLE", "LN")),
    Medication(("Hydroxychloroquine", "Hydroxychloroquine sulfate", "Plaquenil"), "ANTIMALARIAL", 200, "mg",
               "BID", "ORAL", "DISEASE", 0.8, applies_to=("SLE", "LN"), p_continued=0.5),
    Medication(("Azathioprine",), IS, 100, "mg", "QD", "ORAL", "DISEASE", 0.4, applies_to=("NMOSD",)),
    Medication(("Mycophenolate mofetil",), IS, 750, "mg", "BID", "ORAL", "DISEASE", 0.4,
               applies_to=("NMOSD",)),
    Medication(("Pyridostigmine bromide", "Mestinon"), "OTHER", 60, "mg", "TID", "ORAL", "DISEASE", 0.95,
               applies_to=("MG",), p_continued=1.0),
    Medication(("Tacrolimus",), IS, 3, "mg", "QD", "ORAL", "DISEASE", 0.45, applies_to=("MG",)),
    Medication(("Azathioprine",), IS, 100, "mg", "QD", "ORAL", "DISEASE", 0.25, applies_to=("MG",)),
    Medication(("Methotrexate",), IS, 15, "mg", "QW", "ORAL", "DISEASE", 0.45, applies_to=("IMNM",)),
    Medication(("Tacrolimus",), IS, 2, "mg", "BID", "ORAL", "DISEASE", 0.35, applies_to=("IMNM",)),
    Medication(("IVIG",), "IVIG", 2, "g/kg", "Q4W", "INTRAVENOUS", "DISEASE", 0.45, applies_to=("IMNM",)),
    Medication(("Dimethyl fumarate", "Tecfidera"), IS, 240, "mg", "BID", "ORAL", "DISEASE", 0.6,
               applies_to=("RRMS",)),
)  # fmt: skip
# Lymphodepletion support (every lymphodepleted subject); ``start``/``length``: protocol day / days.
LD_SUPPORT = (
    Medication(("Aciclovir", "Acyclovir"), "ANTI-INFECTIVE", 400, "mg", "BID", "ORAL", "PROPHYLAXIS", 0.95,
               (-5, -5), (180, 365)),
    Medication(("TMP-SMX", "Sulfamethoxazole/trimethoprim", "Compound sulfamethoxazole"), "ANTI-INFECTIVE",
               960, "mg", "QD", "ORAL", "PROPHYLAXIS", 0.9, (0, 0), (90, 180)),
    Medication(("Ondansetron",), "OTHER", 8, "mg", "QD", "INTRAVENOUS", "PREMEDICATION", 1.0, (-5, -5),
               (2, 2)),
)  # fmt: skip
# Infusion premedication, one dose on D0 per drug named in infusion.PREMED.
PREMEDICATION = (
    Medication(("Paracetamol",), "OTHER", 500, "mg", "ONCE", "ORAL", "PREMEDICATION",
               applies_to=("PARACETAMOL",)),
    Medication(("Promethazine",), "OTHER", 25, "mg", "ONCE", "INTRAMUSCULAR", "PREMEDICATION",
               applies_to=("PROMETHAZINE",)),
    Medication(("Chlorphenamine",), "OTHER", 4, "mg", "ONCE", "ORAL", "PREMEDICATION",
               applies_to=("CHLORPHENAMINE",)),
)  # fmt: skip
# Treatment an AE calls for; ``start``: days after AE onset, ``length``: days.
ANTI_INFECTIVE = "ANTI-INFECTIVE"
PIP_TAZ = ("Piperacillin/tazobactam", "Piperacillin-tazobactam")
AE_TREATMENTS = (
    Medication(("Amoxicillin",), ANTI_INFECTIVE, 500, "mg", "TID", "ORAL", "AE", 0.4, (0, 1), (5, 7),
               ("URTI",)),
    Medication(("Levofloxacin",), ANTI_INFECTIVE, 500, "mg", "QD", "ORAL", "AE", 0.9, (0, 1), (5, 7),
               ("UTI",)),
    Medication(("Valaciclovir", "Valacyclovir"), ANTI_INFECTIVE, 1000, "mg", "TID", "ORAL", "AE", 0.95,
               (0, 2), (7, 7), ("HERPES_ZOSTER",)),
    Medication(("Nirmatrelvir/ritonavir", "Paxlovid"), ANTI_INFECTIVE, 300, "mg", "BID", "ORAL", "AE", 0.6,
               (0, 1), (4, 4), ("COVID19",)),
    Medication(PIP_TAZ, ANTI_INFECTIVE, 4.5, "g", "TID", "INTRAVENOUS", "AE", 1.0, (0, 0), (7, 10),
               ("PNEUMONIA", "LD_ONLY_INFECTION")),
    Medication(PIP_TAZ, ANTI_INFECTIVE, 4.5, "g", "TID", "INTRAVENOUS", "AE", 1.0, (0, 0), (3, 7),
               ("FEBRILE_NEUTROPENIA",)),
    Medication(("Meropenem",), ANTI_INFECTIVE, 1, "g", "TID", "INTRAVENOUS", "AE", 1.0, (0, 1), (5, 14),
               ("FATAL",)),
    Medication(("IVIG", "Intravenous immunoglobulin"), "IVIG", 0.4, "g/kg", "ONCE", "INTRAVENOUS", "AE", 0.75,
               (0, 14), (0, 0), ("HYPOGAMMA",), courses=3),
    Medication(("Filgrastim", "rhG-CSF"), "OTHER", 300, "ug", "QD", "SUBCUTANEOUS", "AE", 0.35, (1, 3),
               (2, 4), ("NEUTROPENIA",)),
    Medication(("Potassium chloride", "KCl"), "OTHER", 1, "g", "TID", "ORAL", "AE", 0.7, (0, 0), (2, 6),
               ("HYPOKALAEMIA",)),
)  # fmt: skip
# CRS / ICANS management (STUDY.md §2.3: glucocorticoids for CRS/ICANS carry CMINDC CRS/ICANS);
# ``start``: days after onset; ``length`` None = until the event resolves.
TOCILIZUMAB = Medication(
    ("Tocilizumab", "Actemra"), "CRS-TX", 8, "mg/kg", "ONCE", "INTRAVENOUS", "CRS", start=(0, 1)
)
CRS_STEROIDS = (
    Medication(("Dexamethasone", "Dexamethasone sodium phosphate"), "GLUCOCORTICOID", 10, "mg", "BID",
               "INTRAVENOUS", "CRS", 1.0, (0, 1), (0, 2), ("CRS-LOW",)),
    Medication(("Methylprednisolone sodium succinate",), "GLUCOCORTICOID", 1, "mg/kg", "BID", "INTRAVENOUS",
               "CRS", 1.0, (0, 1), (1, 3), ("CRS-HIGH",)),
)  # fmt: skip
CRS_ANTIPYRETIC = Medication(
    ("Paracetamol", "Acetaminophen"), "OTHER", 500, "mg", "PRN", "ORAL", "CRS", length=None
)
ICANS_STEROID = Medication(
    ("Dexamethasone",), "GLUCOCORTICOID", 10, "mg", "QID", "INTRAVENOUS", "ICANS", length=None
)
# Rescue therapy of a relapse, by flare type (disease_course.relapse_episodes; the relapse form's
# RESCUE_TX text says the same); ``start``: days after onset; ``length`` None = ongoing.
MP_PULSE = ("Methylprednisolone sodium succinate", "Solu-Medrol")
RESCUE = (
    Medication(("Prednisone",), "GLUCOCORTICOID", 30, "mg", "QD", "ORAL", "DISEASE", 1.0, (0, 1), (56, 56),
               ("ARTHRITIS",)),
    Medication(("Prednisone",), "GLUCOCORTICOID", 20, "mg", "QD", "ORAL", "DISEASE", 1.0, (0, 1), (42, 42),
               ("MUCOCUTANEOUS",)),
    Medication(("Prednisone",), "GLUCOCORTICOID", 0.5, "mg/kg", "QD", "ORAL", "DISEASE", 1.0, (0, 1),
               (56, 56), ("SEROSITIS",)),
    Medication(MP_PULSE, "GLUCOCORTICOID", 500, "mg", "QD", "INTRAVENOUS", "DISEASE", 1.0, (0, 0), (2, 2),
               ("RENAL", "MYOSITIS")),
    Medication(("Prednisone",), "GLUCOCORTICOID", 30, "mg", "QD", "ORAL", "DISEASE", 1.0, (3, 3), (56, 56),
               ("RENAL",)),
    Medication(("Mycophenolate mofetil",), IS, 1000, "mg", "BID", "ORAL", "DISEASE", 1.0, (3, 7), None,
               ("RENAL",)),
    Medication(("IVIG",), "IVIG", 0.4, "g/kg", "QD", "INTRAVENOUS", "DISEASE", 1.0, (0, 1), (4, 4),
               ("GENERALISED", "BULBAR", "MYOSITIS")),
    Medication(("Plasma exchange",), "PLEX", None, None, None, None, "DISEASE", 1.0, (0, 1), (8, 8),
               ("CRISIS",)),
    Medication(MP_PULSE, "GLUCOCORTICOID", 1000, "mg", "QD", "INTRAVENOUS", "DISEASE", 1.0, (0, 0), (4, 4),
               ("ATTACK",)),
    Medication(("Plasma exchange",), "PLEX", None, None, None, None, "DISEASE", 1.0, (5, 5), (8, 8),
               ("ATTACK",)),
    Medication(MP_PULSE, "GLUCOCORTICOID", 1000, "mg", "QD", "INTRAVENOUS", "DISEASE", 1.0, (0, 0), (2, 2),
               ("RELAPSE",)),
)  # fmt: skip
RITUXIMAB = Medication(("Rituximab",), "BIOLOGIC", 1000, "mg", "ONCE", "INTRAVENOUS", "DISEASE")
P_PARTIAL_OLD_START = 0.15  # start dates more than a year before consent often known to the month only


def _medications(
    rows: pd.DataFrame, meds: tuple[Medication, ...], rng: np.random.Generator, on: str | None = None
) -> pd.DataFrame:
    """``rows`` × medication templates (only the templates whose ``applies_to`` holds the row's ``on``
    value when ``on`` is given), each kept with its probability, with a verbatim drawn per record. Adds
    the template fields (prefixed M_), CMTRT, and the draws START_OFF and LENGTH (NaN = ongoing)."""
    table = pd.DataFrame(
        [{**vars(m), "ongoing": m.length is None, "length": m.length or (0, 0)} for m in meds]
    ).add_prefix("M_")
    table[["M_start_lo", "M_start_hi"]] = table["M_start"].tolist()
    table[["M_length_lo", "M_length_hi"]] = table["M_length"].tolist()
    table["M_ID"] = range(len(meds))
    if on is None:
        grid = rows.reset_index(drop=True).merge(table, how="cross")
    else:
        keyed = table.explode("M_applies_to").rename(columns={"M_applies_to": on})
        grid = rows.reset_index(drop=True).merge(keyed, on=on).sort_values("M_ID", kind="mergesort")
    grid = grid[rng.uniform(size=len(grid)) < grid["M_p"].to_numpy()].reset_index(drop=True)
    n = len(grid)
    verbatims = table[["M_ID", "M_verbatims"]].explode("M_verbatims")
    verbatims = verbatims.assign(VIDX=verbatims.groupby("M_ID").cumcount()).rename(
        columns={"M_verbatims": "CMTRT"}
    )
    grid["VIDX"] = np.floor(rng.uniform(size=n) * grid["M_verbatims"].map(len).to_numpy()).astype(int)
    grid = grid.merge(verbatims, on=["M_ID", "VIDX"], how="left")
    length = _uniform_int(rng, grid["M_length_lo"].to_numpy(), grid["M_length_hi"].to_numpy())
    return grid.assign(
        START_OFF=_uniform_int(rng, grid["M_start_lo"].to_numpy(), grid["M_start_hi"].to_numpy()),
        LENGTH=np.where(grid["M_ongoing"], np.nan, length),
    )


def _cm_records(grid: pd.DataFrame, start: pd.Series, end: pd.Series) -> pd.DataFrame:
    """The cm.csv content of medication records (dates still datetime64)."""
    return pd.DataFrame(
        {
            "SITEID": grid["SITEID"].to_numpy(),
            "SUBJID": grid["SUBJID"].to_numpy(),
            "CMTRT": grid["CMTRT"].to_numpy(),
            "CMCLASS": grid["M_cmclass"].to_numpy(),
            "CMDOSE": grid["M_dose"].astype(float).to_numpy(),
            "CMDOSU": grid["M_unit"].to_numpy(),
            "CMDOSFRQ": grid["M_freq"].to_numpy(),
            "CMROUTE": grid["M_route"].to_numpy(),
            "START": pd.to_datetime(_values(start)),
            "END": pd.to_datetime(_values(end)),
            "CMINDC": grid["M_indication"].to_numpy(),
        }
    )


def _relative(grid: pd.DataFrame, anchor: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Start = anchor + START_OFF days, end = start + LENGTH days (NaT when ongoing)."""
    start = anchor + days(grid["START_OFF"])
    return start, start + pd.to_timedelta(grid["LENGTH"], unit="D")


def _round_up_to(x: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Up to a multiple of the tablet step (at least one step)."""
    return np.maximum(step, np.ceil(x / step - 1e-9) * step)


def _glucocorticoid_courses(ctx: SynthContext, rng: np.random.Generator) -> pd.DataFrame:
    """Background oral glucocorticoid (STUDY.md §4.5): a stable dose started before consent; after
    infusion a taper in 3-5 steps from D14-D28, to 0 by M2-M6 in responders (most of them), to a low
    maintenance dose continued otherwise. Subjects never infused stay on their dose."""
    s = ctx.subjects
    uses_gc = rng.uniform(size=len(s)) < s["INDICAT"].map(GC_USE).to_numpy(dtype=float)
    s = s[(s["PATH"] != "SCREEN FAILURE") & uses_gc]
    s = s.merge(disease_history(ctx)[["SITEID", "SUBJID", "DIAGDT"]], on=["SITEID", "SUBJID"]).reset_index(
        drop=True
    )
    n = len(s)
    products = pd.DataFrame(GC_PRODUCTS, columns=["CMTRT", "FACTOR", "STEP", "P"])
    product = products.iloc[rng.choice(len(products), n, p=products["P"] / products["P"].sum())].reset_index(
        drop=True
    )
    lo = s["INDICAT"].map({k: v[0] for k, v in GC_BASELINE_MG.items()}).to_numpy(dtype=float)
    hi = s["INDICAT"].map({k: v[1] for k, v in GC_BASELINE_MG.items()}).to_numpy(dtype=float)
    step = product["STEP"].to_numpy()
    dose0 = _round_up_to(rng.uniform(lo, hi) / product["FACTOR"].to_numpy(), step)
    infused = (s["PATH"] == "INFUSED").to_numpy()
    # 3-5 steps, each at least one tablet step lower than the previous one
    steps = np.where(
        infused, np.clip(rng.integers(3, 6, n), 1, np.maximum(dose0 / step - 1, 1)).astype(int), 0
    )
    gc_free = s["RESPONDER"].to_numpy() & (rng.uniform(size=n) < P_GC_FREE_RESPONDER)
    taper_start = s["D0"] + days(rng.integers(14, 29, n))
    taper_end = s["D0"] + days(np.where(gc_free, rng.integers(60, 181, n), rng.integers(120, 181, n)))
    step_len = (taper_end - taper_start) / np.maximum(steps, 1)
    first_start = np.maximum(s["ICDT"] - days(rng.integers(90, 1500, n)), s["DIAGDT"] + days(14))

    k = np.repeat(np.arange(n), steps + 1)
    j = np.arange(len(k)) - np.repeat(np.cumsum(steps + 1) - (steps + 1), steps + 1)  # 0 = pre-study dose
    r = s.iloc[k].reset_index(drop=True).assign(CMTRT=product["CMTRT"].to_numpy()[k])
    stp = steps[k]
    dose = np.where(j == 0, dose0[k], _round_up_to(dose0[k] * (stp + 1 - j) / (stp + 1), step[k]))
    start = pd.Series(
        np.where(j == 0, first_start[k], taper_start.to_numpy()[k] + step_len.to_numpy()[k] * (j - 1))
    )
    end = pd.Series(
        np.where(j == 0, taper_start.to_numpy()[k], taper_start.to_numpy()[k] + step_len.to_numpy()[k] * j)
    )
    end = end.dt.normalize() - days(1)
    ongoing = (infused[k] & (j == stp) & ~gc_free[k]) | ~infused[k]
    grid = r.assign(
        M_cmclass="GLUCOCORTICOID",
        M_dose=dose,
        M_unit="mg",
        M_freq="QD",
        M_route="ORAL",
        M_indication="DISEASE",
    )
    return _cm_records(grid, start.dt.normalize(), end.where(~ongoing))


def concomitant_medications(ctx: SynthContext) -> pd.DataFrame:
    """Every medication record before the data-cut rules: background disease therapy (GC taper, IS stopped
    7-28 days before LD, antimalarials and pyridostigmine continued), prior rituximab, LD prophylaxis
    and antiemetic, infusion premedication, CRS/ICANS treatment (tocilizumab for TOCI=Y, dexamethasone
    or methylprednisolone for STEROID=Y, antipyretic), AE treatments and the rescue therapy of each
    relapse by flare type (GC pulse or course, IVIG, plasma exchange, a new immunosuppressant)."""
    rng = ctx.rng("cm")
    s = ctx.subjects
    history = disease_history(ctx)[["SITEID", "SUBJID", "DIAGDT", "PRIOR_RTX", "PRIOR_RTX_DT"]]
    on_study = s[s["PATH"] != "SCREEN FAILURE"].merge(history, on=["SITEID", "SUBJID"])
    blocks = [_glucocorticoid_courses(ctx, rng)]

    bg = _medications(on_study, BACKGROUND, rng, on="INDICAT")
    bg_start = np.maximum(bg["ICDT"] - days(rng.integers(90, 1500, len(bg))), bg["DIAGDT"] + days(14))
    washout = bg["D0"] - days(5 + rng.integers(7, 29, len(bg)))
    continued = rng.uniform(size=len(bg)) < bg["M_p_continued"].to_numpy()
    blocks.append(_cm_records(bg, bg_start, washout.where(~continued)))

    rtx = _medications(on_study[on_study["PRIOR_RTX"]], (RITUXIMAB,), rng)
    rtx = pd.concat([rtx, rtx.assign(PRIOR_RTX_DT=rtx["PRIOR_RTX_DT"] + days(14))], ignore_index=True)
    blocks.append(_cm_records(rtx, rtx["PRIOR_RTX_DT"], rtx["PRIOR_RTX_DT"]))

    ld_subjects = on_study[on_study["PATH"].isin(["LD ONLY", "INFUSED"])]
    support = _medications(ld_subjects, LD_SUPPORT, rng)
    blocks.append(_cm_records(support, *_relative(support, support["D0"])))

    conduct = infusion_conduct(ctx)
    premed = conduct.assign(PREMED=conduct["PREMED"].str.split("; ")).explode("PREMED")
    premed = _medications(premed, PREMEDICATION, rng, on="PREMED")
    blocks.append(_cm_records(premed, premed["INFSTART"].dt.normalize(), premed["INFSTART"].dt.normalize()))

    ev = adverse_events(ctx)
    blocks.extend(_syndrome_treatments(ev, rng))
    treated = _medications(ev, AE_TREATMENTS, rng, on="KIND")
    treated = treated.loc[treated.index.repeat(rng.integers(1, treated["M_courses"].to_numpy() + 1))]
    treated = treated.assign(START_OFF=treated["START_OFF"] + 28 * treated.groupby(level=0).cumcount())
    blocks.append(_cm_records(treated, *_relative(treated, treated["START"])))

    episodes = relapse_episodes(ctx)[["SITEID", "SUBJID", "ONSETDAY", "FLARETYPE"]]
    episodes = episodes.merge(on_study[["SITEID", "SUBJID", "D0"]], on=["SITEID", "SUBJID"])
    rescue = _medications(episodes, RESCUE, rng, on="FLARETYPE")
    blocks.append(_cm_records(rescue, *_relative(rescue, rescue["D0"] + days(rescue["ONSETDAY"]))))
    return pd.concat(blocks, ignore_index=True)


def _syndrome_treatments(ev: pd.DataFrame, rng: np.random.Generator) -> list[pd.DataFrame]:
    """CRS/ICANS management from the AEs: tocilizumab 8 mg/kg once on the onset day or the next (never
    after resolution) when TOCI = Y; a glucocorticoid when STEROID = Y (dexamethasone for grade <= 2,
    methylprednisolone for grade >= 3 CRS; dexamethasone for ICANS); an antipyretic during every CRS."""
    crs = ev[ev["IS_CRS"]].assign(STEROID_KEY=lambda e: np.where(e["GRADE"] >= 3, "CRS-HIGH", "CRS-LOW"))
    toci = _medications(crs[crs["TOCI"] == "Y"], (TOCILIZUMAB,), rng)
    toci_day = np.minimum(toci["START"] + days(toci["START_OFF"]), toci["END"])
    steroid = _medications(crs[crs["STEROID"] == "Y"], CRS_STEROIDS, rng, on="STEROID_KEY")
    steroid_start = np.minimum(steroid["START"] + days(steroid["START_OFF"]), steroid["END"])
    antipyretic = _medications(crs, (CRS_ANTIPYRETIC,), rng)
    icans = ev[ev["IS_ICANS"] & (ev["STEROID"] == "Y")]
    icans_steroid = _medications(icans, (ICANS_STEROID,), rng)
    return [
        _cm_records(toci, toci_day, toci_day),
        _cm_records(steroid, steroid_start, steroid_start + days(steroid["LENGTH"])),
        _cm_records(antipyretic, antipyretic["START"], antipyretic["END"]),
        _cm_records(icans_steroid, icans_steroid["START"], icans_steroid["END"]),
    ]


def cm(ctx: SynthContext) -> pd.DataFrame:
    """Concomitant and prior medications (STUDY.md §1 form 10) with the synthetic WHODrug/ATC coding.

    No record starts after the subject's last day; a medication still taken then has no end date and
    CMONGO = Y. Prior medications start before consent (~15% of those older than a year are known to the
    month only). Screen failures have no medication page.
    """
    s = ctx.subjects.assign(LAST=last_date(ctx.subjects))
    rng = ctx.rng("cm-finalise")
    records = concomitant_medications(ctx).merge(
        s[["SITEID", "SUBJID", "ICDT", "LAST"]], on=["SITEID", "SUBJID"]
    )
    records = records[records["START"] <= records["LAST"]].reset_index(drop=True)
    records["END"] = records["END"].where(records["END"] <= records["LAST"])
    old = records["START"] < records["ICDT"] - days(365)
    coding = code_whodrug(records["CMTRT"], load_coding(ctx.study))
    frame = records.assign(
        **coding,
        CMSTDT=partial_month(records["START"], old & (rng.uniform(size=len(records)) < P_PARTIAL_OLD_START)),
        CMENDT=iso_date(records["END"]),
        CMONGO=np.where(records["END"].isna(), "Y", "N"),
    ).drop(columns=["START", "END", "ICDT", "LAST"])
    return finish_form(frame, form_spec("cm"), ctx.study, sort_by=["CMSTDT", "CMTRT", "CMINDC"])


# ----------------------------------------------------------------------------------------------------
# Vital signs (STUDY.md §1 form 23)


def _vs_times(ctx: SynthContext, visits: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Clinic visits get one morning measurement; the infusion day two, 30-60 min before the start and
    one hour after the end of the infusion."""
    conduct = infusion_conduct(ctx)[["SITEID", "SUBJID", "INFSTART", "INFEND"]]
    morning = visits["VISDT"] + pd.to_timedelta(rng.integers(8 * 12, 11 * 12, len(visits)) * 5, unit="m")
    visits = visits.assign(VSDTM=morning)
    d0 = visits[visits["VISIT"] == "DAY 0 INFUSION"].merge(conduct, on=["SITEID", "SUBJID"])
    pre = d0.assign(VSDTM=d0["INFSTART"] - pd.to_timedelta(rng.integers(6, 13, len(d0)) * 5, unit="m"))
    post = d0.assign(VSDTM=d0["INFEND"] + pd.Timedelta(hours=1))
    others = visits[visits["VISIT"] != "DAY 0 INFUSION"]
    return pd.concat(
        [others, pre.drop(columns=["INFSTART", "INFEND"]), post.drop(columns=["INFSTART", "INFEND"])],
        ignore_index=True,
    )


def vs(ctx: SynthContext) -> pd.DataFrame:
    """Vital signs at every attended visit of subjects who were not screen failures (screen failures have
    screening forms only). Normal adult values, except on days with active CRS (cytokine_course): the
    temperature is that day's fever (at or below TMAX_C), with tachycardia, and with hypotension, tachypnoea
    and lower SpO2 on grade >= 2 days. Weight at screening (the backbone weight used for dosing) and at
    baseline."""
    rng = ctx.rng("vs")
    s = ctx.subjects
    visits = ctx.visits.merge(
        s.loc[s["PATH"] != "SCREEN FAILURE", ["SITEID", "SUBJID", "WEIGHT_KG"]], on=["SITEID", "SUBJID"]
    )
    v = _vs_times(ctx, visits, rng)
    state = cytokine_course(ctx)[["SITEID", "SUBJID", "FADT", "TMAX_C", "CRS_DAYGRADE"]]
    v = v.merge(
        state, left_on=["SITEID", "SUBJID", "VISDT"], right_on=["SITEID", "SUBJID", "FADT"], how="left"
    )
    n = len(v)
    crs = v["CRS_DAYGRADE"].fillna(0).to_numpy()
    unstable = crs >= 2
    normal_temp = np.round(np.clip(rng.normal(36.7, 0.25, n), 36.0, 37.3), 1)
    temp = np.where(crs >= 1, np.round(v["TMAX_C"].to_numpy() - rng.uniform(0, 0.4, n), 1), normal_temp)
    sysbp = np.where(unstable, rng.integers(82, 93, n), np.clip(rng.normal(118, 10, n), 95, 145))
    diabp = np.where(unstable, rng.integers(45, 56, n), np.clip(rng.normal(75, 7, n), 60, 90))
    hr = np.where(crs >= 1, rng.integers(100, 126, n), np.clip(rng.normal(78, 8, n), 58, 98))
    weight = np.select(
        [v["VISIT"] == "SCREENING", v["VISIT"] == "BASELINE"],
        [v["WEIGHT_KG"], np.round(v["WEIGHT_KG"] + rng.normal(0, 0.5, n), 1)],
        np.nan,
    )
    frame = pd.DataFrame(
        {
            "SITEID": v["SITEID"],
            "SUBJID": v["SUBJID"],
            "VISIT": v["VISIT"],
            "VSDT": iso_date(v["VSDTM"]),
            "VSTM": iso_time(v["VSDTM"]),
            "TEMP": temp,
            "SYSBP": np.round(sysbp),
            "DIABP": np.round(diabp),
            "HR": np.round(hr),
            "RR": np.where(unstable, rng.integers(20, 25, n), rng.integers(14, 21, n)),
            "SPO2": np.where(unstable, rng.integers(90, 95, n), rng.integers(96, 100, n)),
            "WEIGHT": weight,
        }
    )
    return finish_form(frame, form_spec("vs"), ctx.study, sort_by=["VSDT", "VSTM"])


GENERATORS: dict[str, Callable[[SynthContext], pd.DataFrame]] = {
    "ae": ae,
    "crsdaily": crsdaily,
    "cm": cm,
    "vs": vs,
}
