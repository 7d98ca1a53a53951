"""Research immunology forms of the synthetic C-CAR168 study: ``flow`` (research flow cytometry, CP)
and ``autoab`` (autoantibodies, IS).

``flow`` (STUDY.md §2.6 and §5): blood at baseline, D7, D14, D28, M3, M6, M12, M18 and M24 with B cells
(CD19+, CD20+, % of lymphocytes), CD20-dim T cells, plasma cells, plasmablasts and NK cells, read from
the same immune course as the clinical TBNK (:mod:`.courses`), so the research and clinical counts of
a visit agree within assay noise; bone marrow (B cells and plasma cells, % ) at baseline and M3 for
~30 % of infused subjects; muscle (IMNM) or kidney (LN) biopsy at baseline and M6 for ~40 % of those
subjects. After infusion B cells, CD20-dim T cells, plasmablasts and plasma cells are depleted
completely; bone-marrow B-cell precursors (CD19+, CD20-) persist.

``autoab`` (STUDY.md §2.5 and §4.4), by indication: SLE/LN anti-dsDNA (ELISA, 100-800 IU/mL, -70 to
-100 % by M3 in responders, seronegative in most responders by M6), anti-Sm (35 %), ANA (IIF, 1:320 to
1:1280, falling 0-2 dilutions), anti-C1q (LN 60 %, SLE 30 %); NMOSD AQP4-IgG (CBA titre 1:100-1:1000,
falling 1-4 dilutions in responders, ~1/3 seronegative) and MOG-IgG negative at screening; MG AChR
(RIA 5-50 nmol/L, -50 to -80 % by M6) or, in 10 %, MuSK; IMNM anti-HMGCR (60 %) or anti-SRP (ELISA
50-200 U/mL, -60 to -90 %); RRMS AQP4 and MOG negative at screening. A relapse brings antibody levels
back up over ~60 days. Noise: the site :data:`DSDNA_UML_SITE` measures anti-dsDNA with another ELISA
reporting U/mL on its own scale and cut-off (kept as collected, never converted); results under the
LLOQ are written "<10", negative titres "<1:10" / "<1:80".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form
from cdisc168.raw.synth.courses import LUPUS, immune_course
from cdisc168.raw.synth.specimens import (
    SubjectDraws,
    decimals_by_magnitude,
    format_codes,
    iso_dates,
    loglinear,
    ramp,
    raw_forms,
    result_codes,
    sampled_visits,
    subject_index,
    toward,
)

FLOW_VISITS = (
    "BASELINE",
    "DAY 7",
    "DAY 14",
    "DAY 28",
    "MONTH 3",
    "MONTH 6",
    "MONTH 12",
    "MONTH 18",
    "MONTH 24",
)
MARROW_VISITS = ("BASELINE", "MONTH 3")
BIOPSY_VISITS = ("BASELINE", "MONTH 6")
BIOPSY_TISSUE = {"IMNM": "MUSCLE TISSUE", "LN": "KIDNEY"}
P_MARROW = 0.3
P_BIOPSY = 0.4
FLOW_NOISE = 0.15

B_CD19 = ("BLYCE", "CD19+")
PLASMA = ("PC", "CD19-CD38++CD138+")
# (POP, MARKERS, ORRESU) of the blood panel, in reporting order.
BLOOD_PANEL = (
    (*B_CD19, "cells/uL"),
    ("BLYCE", "CD20+", "cells/uL"),
    ("BLYCELY", "CD19+", "%"),
    ("TLYCE", "CD3+CD20dim", "cells/uL"),
    (*PLASMA, "cells/uL"),
    ("PB", "CD19+CD27+CD38++", "cells/uL"),
    ("NKCE", "CD3-CD56+", "cells/uL"),
)
TISSUE_PANEL = (("BLYCELY", "CD19+", "%"), (*PLASMA, "%"))

AUTOAB_VISITS = (
    "SCREENING", "BASELINE", "DAY 28", "MONTH 2", "MONTH 3", "MONTH 6", "MONTH 9", "MONTH 12", "MONTH 15",
    "MONTH 18", "MONTH 21", "MONTH 24", "EARLY TERMINATION",
)  # fmt: skip
MAJOR_VISITS = (
    "SCREENING",
    "BASELINE",
    "MONTH 3",
    "MONTH 6",
    "MONTH 12",
    "MONTH 18",
    "MONTH 24",
    "EARLY TERMINATION",
)
DSDNA_UML_SITE = "04"
SEROSTATUS_STREAM = "serostatus"
AUTOAB_NOISE = 0.1
RELAPSE_DAYS = 60
# Baseline range of a positive subject (log-uniform) and, for responders, the M6 / baseline ratio range
# (log-uniform) with the exponent giving the M3 ratio (M3 = M6 ** exponent: most of the fall by M3).
POSITIVE_RANGE = {
    "DSDNA": (100, 800), "SM": (30, 200), "C1Q": (25, 150), "ACHR": (5, 50), "MUSK": (0.5, 10),
    "HMGCR": (50, 200), "SRP": (40, 150),
}  # fmt: skip
RESPONSE = {
    "DSDNA": (0.003, 0.25, 0.85), "SM": (0.05, 0.4, 0.7), "C1Q": (0.05, 0.4, 0.7), "ACHR": (0.2, 0.5, 0.6),
    "MUSK": (0.03, 0.3, 0.7), "HMGCR": (0.1, 0.4, 0.7), "SRP": (0.1, 0.4, 0.7),
}  # fmt: skip
# Titre at baseline (index into the series, with probabilities) and dilutions lost by M6.
TITRE_START = {"ANA": ((2, 3, 4), (0.4, 0.35, 0.25)), "AQP4": ((2, 3, 4), (0.45, 0.35, 0.2))}
TITRE_DROP = {"ANA": ((0, 1, 2), (0.4, 0.4, 0.2)), "AQP4": ((1, 2, 3, 4), (0.1, 0.2, 0.35, 0.35))}


@dataclass(frozen=True)
class Assay:
    """An autoantibody assay as collected: titres use ``series`` (reciprocal dilutions)."""

    analyte: str
    method: str
    unit: str
    poscut: float
    lloq: float
    series: tuple[int, ...] = ()


ASSAYS = {
    a.analyte: a
    for a in (
        Assay("DSDNA", "ELISA", "IU/mL", 30, 10),
        Assay("SM", "ELISA", "U/mL", 20, 10),
        Assay("C1Q", "ELISA", "U/mL", 20, 10),
        Assay("ANA", "IIF", "titer", 80, 80, (80, 160, 320, 640, 1280, 2560)),
        Assay("AQP4", "CBA", "titer", 10, 10, (10, 32, 100, 320, 1000, 3200)),
        Assay("MOG", "CBA", "titer", 10, 10, (10, 32, 100, 320, 1000)),
        Assay("ACHR", "RIA", "nmol/L", 0.5, 0.25),
        Assay("MUSK", "RIA", "nmol/L", 0.05, 0.02),
        Assay("HMGCR", "ELISA", "U/mL", 20, 10),
        Assay("SRP", "ELISA", "U/mL", 20, 10),
    )
}
DSDNA_UML = Assay("DSDNA", "ELISA", "U/mL", 20, 10)
DSDNA_UML_SCALE = 0.5  # the U/mL kit reads about half the IU/mL calibration

# Indication → (analyte, visits tested): the disease antibodies at every autoantibody visit (the one of
# MG / IMNM the subject does not carry only at screening), exclusion antibodies at screening.
PANEL: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "SLE": (("DSDNA", AUTOAB_VISITS), ("SM", AUTOAB_VISITS), ("ANA", MAJOR_VISITS), ("C1Q", MAJOR_VISITS)),
    "NMOSD": (("AQP4", AUTOAB_VISITS), ("MOG", ("SCREENING",))),
    "MG": (("ACHR", AUTOAB_VISITS), ("MUSK", AUTOAB_VISITS)),
    "IMNM": (("HMGCR", AUTOAB_VISITS), ("SRP", AUTOAB_VISITS)),
    "RRMS": (("AQP4", ("SCREENING",)), ("MOG", ("SCREENING",))),
}
PANEL["LN"] = PANEL["SLE"]
# Subject's defining antibody: the other antibody of MG / IMNM is only tested at screening.
SEROTYPE_ANALYTE = {
    "dsDNA+": "DSDNA",
    "AQP4+": "AQP4",
    "AChR+": "ACHR",
    "MuSK+": "MUSK",
    "HMGCR+": "HMGCR",
    "SRP+": "SRP",
}


def serostatus(subjects: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Defining autoantibody of each subject (dxhist SERO vocabulary; None for RRMS): SLE/LN dsDNA+,
    NMOSD AQP4+, MG AChR+ (MuSK+ in 10 %), IMNM HMGCR+ (SRP+ in 40 %)."""
    indicat = subjects["INDICAT"].to_numpy()
    u = rng.uniform(size=len(subjects))
    return np.select(
        [np.isin(indicat, LUPUS), indicat == "NMOSD", indicat == "MG", indicat == "IMNM"],
        [
            np.full(len(u), "dsDNA+"),
            np.full(len(u), "AQP4+"),
            np.where(u < 0.1, "MuSK+", "AChR+"),
            np.where(u < 0.4, "SRP+", "HMGCR+"),
        ],
        None,
    ).astype(object)


def subject_serostatus(ctx: SynthContext) -> pd.DataFrame:
    """SITEID, SUBJID, SERO: the seropositivity the autoab form realises (for dxhist SERO)."""
    sero = serostatus(ctx.subjects, ctx.rng(SEROSTATUS_STREAM))
    return pd.DataFrame({"SITEID": ctx.subjects["SITEID"], "SUBJID": ctx.subjects["SUBJID"], "SERO": sero})


def _visit_rows(ctx: SynthContext, names: tuple[str, ...]) -> pd.DataFrame:
    """Sampled visits (:func:`.specimens.sampled_visits`) among ``names``; after D0 only for infused
    subjects."""
    visits = ctx.visits[sampled_visits(ctx) & ctx.visits["VISIT"].isin(names).to_numpy()].reset_index(
        drop=True
    )
    sidx = subject_index(ctx.subjects, visits)
    infused = (ctx.subjects["PATH"] == "INFUSED").to_numpy()[sidx]
    keep = infused | (visits["DAY"].to_numpy() <= 0)
    return visits[keep].assign(SIDX=sidx[keep]).reset_index(drop=True)


def _flow_frame(rows: pd.DataFrame, spec: str, panel: tuple, values: list[np.ndarray]) -> pd.DataFrame:
    """Long flow rows: ``rows`` (one per sample) x ``panel`` entries with their values."""
    k = len(panel)
    rep = np.repeat(np.arange(len(rows)), k)
    value = np.column_stack(values).ravel()
    unit = np.tile(np.array([p[2] for p in panel], dtype=object), len(rows))
    decimals = np.where(
        unit == "%",
        decimals_by_magnitude(value, ((0.1, 3), (10, 2)), 1),
        decimals_by_magnitude(value, ((10, 2), (100, 1)), 0),
    )
    return pd.DataFrame(
        {
            "SITEID": rows["SITEID"].to_numpy()[rep],
            "SUBJID": rows["SUBJID"].to_numpy()[rep],
            "VISIT": rows["VISIT"].to_numpy()[rep],
            "FCDT": iso_dates(rows["VISDT"])[rep],
            "POP": np.tile(np.array([p[0] for p in panel], dtype=object), len(rows)),
            "MARKERS": np.tile(np.array([p[1] for p in panel], dtype=object), len(rows)),
            "SPEC": spec,
            "ORRES": format_codes(value, decimals).decode(),
            "ORRESU": unit,
        }
    )


def make_flow(ctx: SynthContext) -> pd.DataFrame:
    """The ``flow`` form (see the module docstring)."""
    rng = ctx.rng("flow")
    rows = _visit_rows(ctx, FLOW_VISITS)
    sidx = rows["SIDX"].to_numpy()
    day = rows["DAY"].to_numpy(dtype=float)
    course = immune_course(ctx, sidx, day)
    baseline = immune_course(ctx, sidx, np.full(len(rows), -7.0))
    n = len(rows)

    def noisy(level: np.ndarray) -> np.ndarray:
        return level * np.exp(rng.normal(0, FLOW_NOISE, n))

    bcell = noisy(course["BCELL"])
    lymphocytes = noisy(course["LYM"]) * 1000
    blood = [
        bcell,
        bcell * rng.uniform(0.85, 0.98, n),
        100 * bcell / lymphocytes,
        noisy(course["CD20T"]),
        noisy(course["PC"]),
        noisy(course["PB"]),
        noisy(course["NK"]),
    ]
    frames = [_flow_frame(rows, "BLOOD", BLOOD_PANEL, blood)]

    draw = SubjectDraws(rng, len(ctx.subjects), sidx)
    infused = (ctx.subjects["PATH"] == "INFUSED").to_numpy()[sidx]
    b_ratio = np.minimum(course["BCELL"] / baseline["BCELL"], 1.2)
    pc_ratio = np.minimum(course["PC"] / baseline["PC"], 1.2)
    marrow = infused & draw.chance(P_MARROW) & rows["VISIT"].isin(MARROW_VISITS).to_numpy()
    marrow_values = [
        draw.uniform(5, 20) * np.maximum(b_ratio, draw.uniform(0.05, 0.3)),  # CD19+ precursors persist
        draw.uniform(0.3, 2.0) * pc_ratio,
    ]
    frames.append(
        _flow_frame(rows[marrow], "BONE MARROW", TISSUE_PANEL, [noisy(v)[marrow] for v in marrow_values])
    )

    indicat = ctx.subjects["INDICAT"].to_numpy()[sidx]
    biopsied = infused & draw.chance(P_BIOPSY) & np.isin(indicat, list(BIOPSY_TISSUE))
    for code, tissue in BIOPSY_TISSUE.items():
        eligible = np.flatnonzero(infused & (indicat == code))
        chosen = biopsied & (indicat == code)
        if len(eligible) and not chosen.any():  # a few biopsies whenever the indication is present
            chosen = np.isin(sidx, sidx[eligible[0]])
        taken = chosen & rows["VISIT"].isin(BIOPSY_VISITS).to_numpy()
        post = day > 0
        tissue_values = [
            draw.uniform(5, 30) * np.where(post, draw.uniform(0.02, 0.3), 1.0),
            draw.uniform(1, 10) * np.where(post, draw.uniform(0.0, 0.15), 1.0),
        ]
        frames.append(
            _flow_frame(rows[taken], tissue, TISSUE_PANEL, [noisy(v)[taken] for v in tissue_values])
        )

    frame = pd.concat(frames, ignore_index=True)
    return finish_form(frame, raw_forms()["flow"], ctx.study, sort_by=["FCDT"])


@dataclass(frozen=True)
class _AutoabRows:
    """Autoantibody visit rows with the subject facts the courses need."""

    rows: pd.DataFrame
    draw: SubjectDraws
    day: np.ndarray
    indicat: np.ndarray
    own: np.ndarray
    responder: np.ndarray
    relapse: np.ndarray


def _carriers(a: _AutoabRows) -> dict[str, np.ndarray]:
    """Per analyte, the rows whose subject carries it: the defining antibody, plus in SLE/LN ANA,
    anti-Sm (35 %) and anti-C1q (LN 60 %, SLE 30 %)."""
    lupus = np.isin(a.indicat, LUPUS)
    extra = {
        "ANA": lupus,
        "SM": lupus & a.draw.chance(0.35),
        "C1Q": lupus & (a.draw.uniform(0, 1) < np.where(a.indicat == "LN", 0.6, 0.3)),
    }
    return {analyte: (a.own == analyte) | extra.get(analyte, False) for analyte in ASSAYS}


def _measured(a: _AutoabRows, analyte: str, positive: np.ndarray) -> np.ndarray:
    """Rows where ``analyte`` is tested: the indication panel's visits; another indication-defining
    antibody the subject does not carry (MG AChR/MuSK, IMNM HMGCR/SRP) only at screening."""
    visit = a.rows["VISIT"].to_numpy()
    measured = np.zeros(len(visit), dtype=bool)
    for indication, panel in PANEL.items():
        for name, visits in panel:
            if name == analyte:
                measured |= (a.indicat == indication) & np.isin(visit, visits)
    screening_only = (analyte in SEROTYPE_ANALYTE.values()) & ~positive
    return measured & (~screening_only | (visit == "SCREENING"))


def _quantitative(a: _AutoabRows, analyte: str, positive: np.ndarray) -> np.ndarray:
    """Level over time: positive subjects fall by the responder ratios (less without response) and
    climb back after a relapse; negative subjects stay under the cut-off."""
    assay = ASSAYS[analyte]
    draw = a.draw
    low6, high6, exponent = RESPONSE[analyte]
    r6 = np.where(a.responder, draw.loguniform(low6, high6), draw.uniform(0.55, 0.95))
    r3 = r6**exponent
    ratio = loglinear(
        a.day,
        [
            (0, 1.0),
            (28, 1 - 0.6 * (1 - r3)),
            (90, r3),
            (180, r6),
            (365, r6 * draw.uniform(0.7, 1.2)),
            (730, r6 * draw.uniform(0.6, 1.3)),
        ],
    )
    ratio = toward(ratio, draw.uniform(0.4, 0.9), a.relapse)
    level = np.where(
        positive,
        draw.loguniform(*POSITIVE_RANGE[analyte]) * ratio,
        draw.loguniform(assay.lloq * 0.2, assay.poscut * 0.8),
    )
    return level * np.exp(draw.rng.normal(0, AUTOAB_NOISE, len(a.day)))


def _titre_index(a: _AutoabRows, analyte: str, positive: np.ndarray) -> np.ndarray:
    """Index into the assay's dilution series (-1 = negative): the baseline titre loses its M6
    dilutions progressively from D0 (none without response for ANA, 0-1 for AQP4) and regains one after
    a relapse."""
    if analyte not in TITRE_START:  # tested only to exclude it (MOG-IgG): negative
        return np.full(len(a.day), -1)
    draw = a.draw
    starts, p_start = TITRE_START[analyte]
    drops, p_drop = TITRE_DROP[analyte]
    start = draw.take(draw.rng.choice(starts, draw.n, p=p_start))
    drop = np.where(
        a.responder,
        draw.take(draw.rng.choice(drops, draw.n, p=p_drop)),
        draw.integers(0, 1) * (analyte == "AQP4"),
    )
    lost = np.round(drop * np.clip(a.day / 180, 0, 1)) - (a.relapse >= 0.5)
    return np.where(positive, start - np.maximum(lost, 0), -1).astype(int)


def _autoab_frame(a: _AutoabRows, assay: Assay, rows: np.ndarray, orres: np.ndarray) -> pd.DataFrame:
    r = a.rows[rows]
    return pd.DataFrame(
        {
            "SITEID": r["SITEID"].to_numpy(),
            "SUBJID": r["SUBJID"].to_numpy(),
            "VISIT": r["VISIT"].to_numpy(),
            "AADT": iso_dates(r["VISDT"]),
            "ANALYTE": assay.analyte,
            "ISOTYPE": "IGG",
            "METHOD": assay.method,
            "ORRES": orres,
            "ORRESU": assay.unit,
            "POSCUT": assay.poscut,
            "LLOQ": assay.lloq,
        }
    )


def make_autoab(ctx: SynthContext) -> pd.DataFrame:
    """The ``autoab`` form (see the module docstring)."""
    rows = _visit_rows(ctx, AUTOAB_VISITS)
    sidx = rows["SIDX"].to_numpy()
    subjects = ctx.subjects.iloc[sidx]
    day = rows["DAY"].to_numpy(dtype=float)
    sero = serostatus(ctx.subjects, ctx.rng(SEROSTATUS_STREAM))[sidx]
    a = _AutoabRows(
        rows=rows,
        draw=SubjectDraws(ctx.rng("autoab"), len(ctx.subjects), sidx),
        day=day,
        indicat=subjects["INDICAT"].to_numpy(),
        own=pd.Series(sero).map(SEROTYPE_ANALYTE).to_numpy(dtype=object),
        responder=subjects["RESPONDER"].to_numpy(dtype=bool),
        relapse=ramp(day, subjects["RELAPSEDAY"].to_numpy(dtype=float), RELAPSE_DAYS),
    )
    other_kit = rows["SITEID"].to_numpy() == DSDNA_UML_SITE
    frames = []
    for analyte, positive in _carriers(a).items():
        assay = ASSAYS[analyte]
        measured = _measured(a, analyte, positive)
        if assay.series:
            index = _titre_index(a, analyte, positive)
            series = np.array([f"1:{d}" for d in assay.series], dtype=object)
            orres = np.where(index >= 0, series[np.maximum(index, 0)], f"<1:{assay.series[0]}")
            frames.append(_autoab_frame(a, assay, measured, orres[measured]))
            continue
        level = _quantitative(a, analyte, positive)
        kits = [(assay, measured, 1.0)]
        if analyte == "DSDNA":
            kits = [(assay, measured & ~other_kit, 1.0), (DSDNA_UML, measured & other_kit, DSDNA_UML_SCALE)]
        for kit, rows_of_kit, scale in kits:
            value = level[rows_of_kit] * scale
            orres, _ = result_codes(value, decimals_by_magnitude(value, ((1, 2), (100, 1)), 0), kit.lloq)
            frames.append(_autoab_frame(a, kit, rows_of_kit, orres.decode()))
    frame = pd.concat(frames, ignore_index=True)
    return finish_form(frame, raw_forms()["autoab"], ctx.study, sort_by=["AADT", "ANALYTE"])
