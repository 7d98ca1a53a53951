"""MG-ADL, QMG and MGFA class / post-intervention status (MG), STUDY.md §4.5 and §3.5.

Totals follow the disease course of :mod:`disease_course`; items are the total spread over the
instrument's items (0-3 each) with subject-specific weights (ocular and limb items most often, bulbar
items more in MGFA class B), and post-baseline items never exceed the subject's baseline item score
(improvement removes points from existing symptoms). Each total is the sum of its items.

- Baseline MG-ADL 8-14, QMG 15-22 (screening the same or one point lower).
- Responders: MG-ADL falls towards its remission value (0 or 1: minimal symptom expression, MSE) and
  reaches it at REMDAY; the change by month 3 is about -5 to -8 or more. QMG falls by 6-10 at
  remission and by a further 2-8 during the following year.
- Non-responders: MG-ADL -2 to -5 and QMG -2 to -5 by month 3, MG-ADL never below 2.
- Exacerbation: MG-ADL +3 to +6 from the remission value (+2 more in a crisis), still ≥ nadir + 2 at
  the following assessment (the MG relapse rule: an increase ≥2 from nadir sustained over 2 visits).

MGFA class (I-V, A/B) is recorded at screening and baseline; MGFA post-intervention status (Jaretzki
et al., Neurology 2000;55:16-23) after infusion: I (improved) on the way to remission and for
non-responders with a ≥3-point MG-ADL decrease, U (unchanged) otherwise, MM (minimal manifestations)
in remission, PR (pharmacological remission) after a year of remission with MG-ADL 0 and QMG ≤3,
E (exacerbation) from a flare on. CSR needs a year without any MG therapy, which this form does not
know, so it is never given.
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
    allocate_points,
    assessments,
    draw_categories,
    raw_forms,
    subject_position,
)

ADL_ITEMS = tuple(f"MGADL{i}" for i in range(1, 9))
QMG_ITEMS = tuple(f"QMG{i}" for i in range(1, 14))
# Relative frequency of each item being affected: MG-ADL talking, chewing, swallowing, breathing,
# brushing teeth/combing hair, rising from a chair, double vision, eyelid droop.
ADL_WEIGHTS = np.array([1.0, 0.9, 0.9, 0.5, 1.0, 1.2, 1.6, 1.8])
ADL_BULBAR = np.array([True, True, True, True, False, False, False, False])
# QMG double vision, ptosis, facial muscles, swallowing, speech, right/left arm outstretched, vital
# capacity, right/left hand grip, head lift, right/left leg outstretched.
QMG_WEIGHTS = np.array([1.6, 1.6, 1.0, 0.8, 0.9, 1.4, 1.4, 0.8, 0.7, 0.7, 1.3, 1.1, 1.1])
QMG_BULBAR = np.isin(np.arange(13), (2, 3, 4, 7))
MGFA_CLASSES = (("IIA", "IIB", "IIIA", "IIIB", "IVA", "IVB"), (0.2, 0.15, 0.25, 0.2, 0.1, 0.1))
P_MSE_ZERO = 0.55
PR_AFTER_DAYS = 365
MEANINGFUL_ADL_CHANGE = -3


def _subject_parameters(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Per-subject baseline scores, remission levels and flare sizes (see the module docstring)."""
    return pd.DataFrame(
        {
            "ADL_BL": rng.integers(8, 15, n),
            "QMG_BL": rng.integers(15, 23, n),
            "MGFA_CLASS": draw_categories(rng, n, *MGFA_CLASSES),
            "ADL_REM": (rng.uniform(size=n) >= P_MSE_ZERO).astype(int),
            "QMG_DROP": rng.integers(6, 11, n),
            "QMG_LATE": rng.integers(2, 9, n),
            "ADL_NR_DROP": rng.integers(2, 6, n),
            "QMG_NR_DROP": rng.integers(2, 6, n),
            "ADL_FLARE": rng.integers(3, 7, n),
            "ADL_POST": rng.integers(2, 5, n),
            "QMG_FLARE": rng.integers(4, 8, n),
            "QMG_POST": rng.integers(2, 5, n),
        }
    )


def _totals(
    rng: np.random.Generator, rows: pd.DataFrame, par: pd.DataFrame, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Target MG-ADL and QMG totals per assessment row, by phase."""
    m = len(rows)
    phase = rows["PHASE"].to_numpy()
    p = rows["PROGRESS"].to_numpy()
    nomday = rows["NOMDAY"].to_numpy(dtype=float)
    remday = rows["REMDAY"].to_numpy(dtype=float)
    g = np.minimum(0.85, 0.3 + 0.7 * p)
    screening_noise = np.where(rows["VISIT"].to_numpy() == "SCREENING", rng.integers(-1, 2, m), 0)
    crisis = rows["FLARETYPE"].to_numpy() == "CRISIS"

    def col(name: str) -> np.ndarray:
        return par[name].to_numpy()[pos]

    adl_bl, adl_rem, qmg_bl, qmg_drop = col("ADL_BL"), col("ADL_REM"), col("QMG_BL"), col("QMG_DROP")
    with np.errstate(invalid="ignore"):
        late = np.nan_to_num(np.clip((nomday - remday) / PR_AFTER_DAYS, 0, 1))
    conditions = [phase == PRE, phase == IMPROVING, phase == REMISSION, phase == PARTIAL, phase == FLARE]
    adl = np.select(
        conditions,
        [
            adl_bl + screening_noise,
            np.maximum(2, adl_bl - np.rint((adl_bl - adl_rem) * g)),
            adl_rem,
            np.maximum(2, adl_bl - np.rint(col("ADL_NR_DROP") * p)),
            adl_rem + col("ADL_FLARE") + 2 * crisis,
        ],
        default=adl_rem + col("ADL_POST"),
    )
    qmg = np.select(
        conditions,
        [
            qmg_bl + screening_noise,
            qmg_bl - np.rint(qmg_drop * g),
            qmg_bl - qmg_drop - np.rint(col("QMG_LATE") * late),
            qmg_bl - np.rint(col("QMG_NR_DROP") * p),
            qmg_bl - qmg_drop + col("QMG_FLARE"),
        ],
        default=qmg_bl - qmg_drop + col("QMG_POST"),
    )
    return np.clip(adl, 0, 24).astype(int), np.clip(qmg, 0, 39).astype(int)


def _items(
    rng: np.random.Generator, rows: pd.DataFrame, totals: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Items for every row: baseline capped at 3 per item; every other row (screening included) at the
    subject's baseline item scores, so symptoms improve or flare where they were at entry."""
    m, k = len(rows), weights.shape[1]
    baseline = rows["VISIT"].to_numpy() == "BASELINE"
    items = np.zeros((m, k), dtype=int)
    items[baseline] = allocate_points(
        rng, totals[baseline], weights[baseline], np.full((baseline.sum(), k), 3)
    )
    by_subject = pd.DataFrame(
        items[baseline], index=pd.MultiIndex.from_frame(rows.loc[baseline, ["SITEID", "SUBJID"]])
    )
    others = pd.MultiIndex.from_frame(rows.loc[~baseline, ["SITEID", "SUBJID"]])
    caps = by_subject.reindex(others).fillna(3).to_numpy(dtype=int)
    items[~baseline] = allocate_points(rng, totals[~baseline], weights[~baseline], caps)
    return items


def _weights(
    rng: np.random.Generator, base: np.ndarray, bulbar: np.ndarray, b_class: np.ndarray
) -> np.ndarray:
    """Subject item weights: the instrument's pattern, bulbar items doubled in class B, some scatter."""
    n = len(b_class)
    w = np.tile(base, (n, 1)) * np.where(b_class[:, None] & bulbar, 2.0, 1.0)
    return w * rng.lognormal(0.0, 0.3, size=w.shape)


def _pis(rows: pd.DataFrame, adl: np.ndarray, qmg: np.ndarray, adl_bl: np.ndarray) -> np.ndarray:
    """MGFA post-intervention status per row (None before infusion)."""
    phase = rows["PHASE"].to_numpy()
    since_rem = rows["NOMDAY"].to_numpy(dtype=float) - rows["REMDAY"].to_numpy(dtype=float)
    pr = (since_rem >= PR_AFTER_DAYS) & (adl == 0) & (qmg <= 3)
    return np.select(
        [phase == PRE, phase == IMPROVING, phase == REMISSION, phase == PARTIAL],
        [None, "I", np.where(pr, "PR", "MM"), np.where(adl - adl_bl <= MEANINGFUL_ADL_CHANGE, "I", "U")],
        default="E",
    )


def make_mg(ctx: SynthContext) -> pd.DataFrame:
    """mg.csv: MG-ADL, QMG, MGFA class and post-intervention status at each MG assessment."""
    rng = ctx.rng("mg")
    rows = assessments(ctx, ("MG",))
    subj = rows.drop_duplicates(["SITEID", "SUBJID"]).reset_index(drop=True)
    par = _subject_parameters(rng, len(subj))
    pos = subject_position(rows, subj)
    b_class = par["MGFA_CLASS"].str.endswith("B").to_numpy(dtype=bool)
    adl_w = _weights(rng, ADL_WEIGHTS, ADL_BULBAR, b_class)[pos]
    qmg_w = _weights(rng, QMG_WEIGHTS, QMG_BULBAR, b_class)[pos]
    adl_total, qmg_total = _totals(rng, rows, par, pos)
    adl = _items(rng, rows, adl_total, adl_w)
    qmg = _items(rng, rows, qmg_total, qmg_w)
    frame = pd.concat(
        [pd.DataFrame(adl, columns=list(ADL_ITEMS)), pd.DataFrame(qmg, columns=list(QMG_ITEMS))], axis=1
    )
    frame["MGADL_TOTAL"] = adl.sum(axis=1)
    frame["QMG_TOTAL"] = qmg.sum(axis=1)
    pre = rows["PHASE"].to_numpy() == PRE
    frame["MGFA_CLASS"] = np.where(pre, par["MGFA_CLASS"].to_numpy()[pos], None)
    frame["MGFA_PIS"] = _pis(
        rows, frame["MGADL_TOTAL"].to_numpy(), frame["QMG_TOTAL"].to_numpy(), par["ADL_BL"].to_numpy()[pos]
    )
    frame.insert(0, "MGDT", iso_date(rows["VISDT"]))
    frame.insert(0, "VISIT", rows["VISIT"].to_numpy())
    frame.insert(0, "SUBJID", rows["SUBJID"].to_numpy())
    frame.insert(0, "SITEID", rows["SITEID"].to_numpy())
    return finish_form(frame, raw_forms()["mg"], ctx.study, sort_by=["MGDT"])
