"""Latent immune time courses shared by the clinical lab (TBNK, sBCMA, immunoglobulins) and the research
flow cytometry form, so both measure the same subject's cells (STUDY.md §4.4 and §5).

The courses are drawn once per subject from their own random stream and evaluated at any (subject,
protocol day); each form then adds its own measurement noise. Before protocol day -5 every course is
at its baseline; lymphodepletion (D-5..D-3) lowers all lymphocyte populations; the CD20×BCMA CAR-T
then depletes B cells, CD20-dim T cells, plasmablasts and plasma cells:

- B cells: baseline 20-250 /uL (lower in SLE), < 1 /uL from D2-D9 in ~96 % (D11-D18 in the rest),
  back to >= 10 /uL at day ``BREC10`` (log-normal, median ~105, 60-250: the 2-6 month reconstitution)
  and then rising to naive-dominated counts around or above baseline.
- Plasma cells and plasmablasts: undetectable by D4-D10; plasma cells (and sBCMA, their soluble
  surrogate) recover only after day ``PCREC`` (180-360, after M6); plasmablasts return with the B cells.
- CD20-dim T cells (2-6 % of T cells) are cleared by D7 and return with the B cells.
- Lymphocytes: grade 3-4 lymphopenia (< 0.5 x10^9/L) from D0 to D7, recovery by M1-M3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext
from cdisc168.raw.synth.specimens import SubjectDraws, loglinear

IMMUNE_STREAM = "immune-course"
LUPUS = ("SLE", "LN")


def prior_bcell_depleted(subjects: pd.DataFrame) -> np.ndarray:
    """The one subject whose B cells are already < 1 /uL before lymphodepletion (rituximab in the
    previous months; B-cell clearance is not evaluable for them, STUDY.md §6.6).

    Rule: the last infused SLE/LN subject in consent order (lupus is where recent rituximab is most
    common), or the last infused subject when no SLE/LN subject is infused.
    """
    infused = (subjects["PATH"] == "INFUSED").to_numpy()
    lupus = subjects["INDICAT"].isin(LUPUS).to_numpy()
    flag = np.zeros(len(subjects), dtype=bool)
    pool = np.flatnonzero(infused & lupus)
    if not len(pool):
        pool = np.flatnonzero(infused)
    if len(pool):
        flag[pool[-1]] = True
    return flag


def immune_course(ctx: SynthContext, sidx: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
    """Noise-free immune cell counts for subject rows ``sidx`` at protocol days ``day``.

    Returns arrays aligned with ``day``: LYM (lymphocytes, 10^9/L), TFRAC (T cells / lymphocytes),
    BCELL (CD19+ B cells /uL), CD20T (CD3+CD20dim T cells /uL), PC (blood plasma cells /uL), PB
    (plasmablasts /uL), NK (NK cells /uL), SBCMA (soluble BCMA, ng/mL), and the subject's BREC10 and
    PCREC days (B-cell reconstitution to >= 10 /uL, start of plasma-cell recovery).
    """
    subjects = ctx.subjects
    draw = SubjectDraws(ctx.rng(IMMUNE_STREAM), len(subjects), sidx)
    lupus = subjects["INDICAT"].isin(LUPUS).to_numpy()  # per subject: parameters of the draws
    depleted = draw.take(prior_bcell_depleted(subjects))
    day = np.asarray(day, dtype=float)

    lym0 = draw.lognormal(np.where(lupus, 1.0, 1.5), 0.3)
    lym = loglinear(
        day,
        [
            (-6, lym0),
            (-3, lym0 * draw.uniform(0.35, 0.6)),
            (0, np.minimum(lym0 * draw.uniform(0.12, 0.3), 0.35)),
            (draw.uniform(2, 5), draw.uniform(0.05, 0.3)),
            (7, draw.uniform(0.15, 0.42)),
            (draw.uniform(10, 14), draw.uniform(0.45, 1.2)),
            (28, draw.uniform(0.5, 1.0)),
            (90, lym0 * draw.uniform(0.6, 0.9)),
            (365, lym0 * draw.uniform(0.8, 1.05)),
        ],
    )

    brec10 = np.clip(draw.lognormal(105.0, 0.3), 60, 250) + np.where(depleted, 30, 0)
    tfrac0 = draw.uniform(0.62, 0.8)
    tfrac = loglinear(day, [(0, tfrac0), (14, draw.uniform(0.8, 0.92)), (brec10 + 90, tfrac0)])

    b0 = np.where(
        depleted, draw.uniform(0.2, 0.7), np.clip(draw.lognormal(np.where(lupus, 80.0, 140.0), 0.5), 20, 250)
    )
    clear_day = np.where(draw.chance(0.04), draw.uniform(11, 18), draw.uniform(2, 9))
    plateau = draw.uniform(0.1, 0.4)
    bcell = loglinear(
        day,
        [
            (-6, b0),
            (-3, b0 * draw.uniform(0.5, 0.8)),
            (0, b0 * draw.uniform(0.15, 0.45)),
            (clear_day, draw.uniform(0.4, 0.8)),
            (clear_day + 7, plateau),
            (brec10 - 25, plateau),
            (brec10 - 10, draw.uniform(0.8, 2.0)),
            (brec10, draw.uniform(10, 20)),
            (brec10 + 60, draw.uniform(40, 150)),
            (brec10 + 180, draw.uniform(60, 250)),
        ],
    )
    bcell = np.minimum(bcell, 0.3 * lym * 1000)

    cd20_fraction = loglinear(
        day,
        [
            (0, 1.0),
            (7, draw.uniform(0.003, 0.01)),
            (brec10, draw.uniform(0.02, 0.1)),
            (brec10 + 120, draw.uniform(0.5, 1.0)),
        ],
    )
    cd20t = lym * 1000 * tfrac * draw.uniform(0.02, 0.06) * cd20_fraction

    pcrec = draw.uniform(180, 360)
    pc0 = draw.loguniform(np.where(lupus, 2, 0.5), np.where(lupus, 25, 6))
    plasma = loglinear(
        day,
        [
            (-6, pc0),
            (0, pc0 * draw.uniform(0.6, 0.9)),
            (draw.uniform(5, 10), draw.uniform(0.01, 0.05)),
            (pcrec, draw.uniform(0.01, 0.05)),
            (pcrec + 120, pc0 * draw.uniform(0.2, 0.6)),
            (pcrec + 300, pc0 * draw.uniform(0.5, 1.0)),
        ],
    )
    pb0 = draw.loguniform(np.where(lupus, 3, 1), np.where(lupus, 40, 10))
    blasts = loglinear(
        day,
        [
            (-6, pb0),
            (0, pb0 * draw.uniform(0.3, 0.6)),
            (draw.uniform(4, 8), draw.uniform(0.01, 0.05)),
            (brec10 + 14, draw.uniform(0.01, 0.05)),
            (brec10 + 90, pb0 * draw.uniform(0.2, 0.6)),
            (brec10 + 240, pb0 * draw.uniform(0.5, 1.0)),
        ],
    )
    nk0 = draw.loguniform(80, 300)
    nk = loglinear(
        day,
        [
            (-6, nk0),
            (-3, nk0 * draw.uniform(0.5, 0.7)),
            (0, nk0 * draw.uniform(0.2, 0.35)),
            (7, nk0 * draw.uniform(0.3, 0.7)),
            (21, nk0 * draw.uniform(0.8, 1.3)),
            (90, nk0),
        ],
    )
    s0 = draw.loguniform(np.where(lupus, 30, 15), np.where(lupus, 100, 50))
    sbcma = loglinear(
        day,
        [
            (-3, s0),
            (0, s0 * draw.uniform(0.85, 1.0)),
            (7, s0 * draw.uniform(0.1, 0.3)),
            (draw.uniform(14, 28), draw.uniform(0.3, 0.9)),
            (pcrec, draw.uniform(0.3, 0.9)),
            (pcrec + 90, s0 * draw.uniform(0.08, 0.25)),
            (pcrec + 270, s0 * draw.uniform(0.3, 0.7)),
        ],
    )
    return {
        "LYM": lym,
        "TFRAC": tfrac,
        "BCELL": bcell,
        "CD20T": cd20t,
        "PC": plasma,
        "PB": blasts,
        "NK": nk,
        "SBCMA": sbcma,
        "BREC10": brec10,
        "PCREC": pcrec,
    }
