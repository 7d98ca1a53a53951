"""Clinical laboratory values of the synthetic C-CAR168 subjects: one value per test for every attended
visit, following the subject backbone (CRS grade/onset/duration, DLT, response, relapse) and the
shared immune and CAR-T courses. The lab generator picks the tests each visit's panels contain.

Clinical rules (STUDY.md §4.2, §4.4, §4.5):

- Haematology after lymphodepletion: neutropenia grade >= 3 (< 1.0 x10^9/L) in ~75 % with the nadir on
  D5-D10 and recovery to grade <= 2 by D11-D22; 7 % prolonged beyond D28; thrombocytopenia and anaemia
  grade >= 3 in ~13 % each. A DLT subject has grade 4 neutropenia and thrombocytopenia not recovered by
  D28 (DLT rule 4, STUDY.md §3.2). Lymphopenia grade 3-4 from D0 to D7 (shared course).
- CRS markers: IL-6 peaks on the CRS onset day (20-100 pg/mL grade 1, 60-300 grade 2, 200-800 grade
  >= 3, 1.5-4x baseline without CRS); CRP a day later (20-150 mg/L); ferritin and D-dimer on D5-D10;
  IFN-γ on D4-D10 tracking CAR-T expansion (scaled by the qPCR Cmax); IL-10 in between.
- Immunoglobulins: IgG nadir 30-65 % below baseline at M2-M4, IgA/IgM 50-90 %, recovery once plasma
  cells return (after M6); complement low in 65 % of SLE/LN and normal by M1-M3 in responders.
- Disease markers: IMNM CK 2,000-10,000 U/L falling to normal by the remission day (aldolase, myoglobin
  and the muscle share of AST/ALT/LDH follow CK); LN UPCR 1-5 g/g falling to < 0.5 g/g by the
  remission day (KDIGO complete renal response), with albumin and creatinine improving; relapse
  reverses these over ~60 days.
- eGFR is computed from the reported creatinine with CKD-EPI 2021 (race-free); INR from PT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext
from cdisc168.raw.synth.courses import LUPUS, immune_course
from cdisc168.raw.synth.kinetics import CMAX_MEDIAN, expansion_parameters, expansion_shape
from cdisc168.raw.synth.specimens import SubjectDraws, loglinear, ramp, toward

LAB_STREAM = "lab-values"
RELAPSE_DAYS = 60  # time for a relapse to bring a marker back to its active-disease level

# Measurement variability (analytical + within-subject) as a log-scale SD per test.
NOISE = {
    "NEUT": 0.08, "LYM": 0.08, "OTHER": 0.1, "HGB": 0.03, "PLAT": 0.06,
    "ALT": 0.1, "AST": 0.1, "BILI": 0.12, "CREAT": 0.06, "UREA": 0.1, "K": 0.03, "SODIUM": 0.008,
    "ALB": 0.04, "LDH": 0.08, "URATE": 0.08, "CK": 0.1, "ALDOLASE": 0.12, "MGB": 0.12,
    "CRP": 0.12, "FERRITIN": 0.1, "FIBRINO": 0.08, "DDIMER": 0.12, "PT": 0.03, "APTT": 0.04,
    "PROTCRT": 0.15, "IGG": 0.05, "IGA": 0.06, "IGM": 0.07, "C3": 0.05, "C4": 0.07,
    "BLYCE": 0.12, "TFRAC": 0.06, "INTLK2": 0.2, "INTLK4": 0.2, "INTLK6": 0.2, "INTLK10": 0.2,
    "TNF": 0.2, "IFNG": 0.2, "BCMAS": 0.12, "HCG": 0.1,
}  # fmt: skip


@dataclass(frozen=True)
class Facts:
    """Backbone facts for each sample row (arrays aligned with the sample rows)."""

    day: np.ndarray
    lupus: np.ndarray
    ln: np.ndarray
    imnm: np.ndarray
    female: np.ndarray
    age: np.ndarray
    crsgr: np.ndarray
    crson: np.ndarray
    crsdur: np.ndarray
    dlt: np.ndarray
    responder: np.ndarray
    remday: np.ndarray
    relapseday: np.ndarray

    @classmethod
    def of(cls, subjects: pd.DataFrame, sidx: np.ndarray, day: np.ndarray) -> Facts:
        s = subjects.iloc[sidx]
        indicat = s["INDICAT"].to_numpy()
        return cls(
            day=np.asarray(day, dtype=float),
            lupus=np.isin(indicat, LUPUS),
            ln=indicat == "LN",
            imnm=indicat == "IMNM",
            female=(s["SEX"] == "F").to_numpy(),
            age=s["AGE"].to_numpy(dtype=float),
            crsgr=np.minimum(s["CRSGR"].to_numpy(dtype=int), 3),
            crson=s["CRSON"].to_numpy(dtype=float),
            crsdur=s["CRSDUR"].to_numpy(dtype=float),
            dlt=s["DLT"].to_numpy(dtype=bool),
            responder=s["RESPONDER"].to_numpy(dtype=bool),
            remday=s["REMDAY"].fillna(90).to_numpy(dtype=float),
            relapseday=s["RELAPSEDAY"].to_numpy(dtype=float),
        )

    def by_grade(self, options: list[np.ndarray]) -> np.ndarray:
        """Pick the option of each row's CRS grade (0, 1, 2, >= 3)."""
        return np.choose(self.crsgr, options)

    def relapse(self) -> np.ndarray:
        return ramp(self.day, self.relapseday, RELAPSE_DAYS)


def _haematology(f: Facts, draw: SubjectDraws, lym: np.ndarray) -> dict[str, np.ndarray]:
    """Latent neutrophils, platelets, haemoglobin and the remaining leukocytes after lymphodepletion."""
    n0 = np.where(f.lupus, draw.lognormal(3.2, 0.28), draw.lognormal(3.8, 0.28))
    severe = draw.chance(0.74) | f.dlt
    nadir = np.where(
        f.dlt,
        draw.loguniform(0.05, 0.3),
        np.where(severe, draw.loguniform(0.05, 0.95), draw.uniform(1.05, 1.8)),
    )
    nadir_day = draw.uniform(5, 10)
    prolonged = draw.chance(0.07) | f.dlt
    recovery_day = np.where(prolonged, draw.uniform(36, 55), nadir_day + draw.uniform(6, 12))
    plateau = np.where(f.dlt, np.minimum(nadir * 1.5, 0.45), np.minimum(nadir * draw.uniform(1.2, 1.8), 0.95))
    neut = loglinear(
        f.day,
        [
            (-6, n0),
            (-3, n0 * draw.uniform(1.0, 1.3)),
            (0, n0 * draw.uniform(0.6, 0.95)),
            (nadir_day, nadir),
            (np.where(prolonged, recovery_day - 5, nadir_day), np.where(prolonged, plateau, nadir)),
            (recovery_day, draw.uniform(1.3, 2.2)),
            (recovery_day + 21, n0 * draw.uniform(0.6, 0.9)),
            (180, n0 * draw.uniform(0.85, 1.05)),
        ],
    )
    p0 = np.clip(np.where(f.lupus, draw.lognormal(185, 0.28), draw.lognormal(220, 0.28)), 100, 450)
    plat_nadir_day = draw.uniform(7, 14)
    plat_nadir = np.where(
        draw.chance(0.12) | f.dlt, draw.uniform(15, 48), np.maximum(p0 * draw.uniform(0.35, 0.75), 52)
    )
    plat_recovery = np.where(f.dlt, draw.uniform(40, 60), plat_nadir_day + draw.uniform(10, 20))
    plat = loglinear(
        f.day,
        [
            (-3, p0),
            (0, p0 * draw.uniform(0.8, 1.0)),
            (plat_nadir_day, plat_nadir),
            (plat_recovery, p0 * draw.uniform(0.7, 1.0)),
            (120, p0 * draw.uniform(0.9, 1.05)),
        ],
    )
    h0 = np.where(
        f.female, np.where(f.lupus, draw.normal(112, 13), draw.normal(122, 11)), draw.normal(142, 11)
    )
    h0 = np.clip(h0, 85, 170)
    hgb_nadir = np.where(
        draw.chance(0.13), draw.uniform(70, 79), np.maximum(h0 * draw.uniform(0.82, 0.93), 81)
    )
    hgb = loglinear(
        f.day,
        [
            (-3, h0),
            (0, h0 * draw.uniform(0.95, 1.0)),
            (draw.uniform(10, 21), hgb_nadir),
            (75, h0 * draw.uniform(0.95, 1.02)),
        ],
    )
    other = draw.uniform(0.3, 0.7) * np.sqrt(neut / n0)
    return {"NEUT": neut, "LYM": lym, "OTHER": other, "PLAT": plat, "HGB": hgb}


def _muscle(f: Facts, draw: SubjectDraws) -> np.ndarray:
    """CK (U/L): IMNM 2,000-10,000 falling to normal by the remission day (log-linearly from D0),
    partial fall without remission, back toward active levels after a relapse; stable otherwise."""
    ck0 = np.where(
        f.imnm,
        draw.loguniform(2000, 10000),
        np.where(f.female, draw.lognormal(80, 0.35), draw.lognormal(110, 0.35)),
    )
    normal = draw.uniform(60, 180)
    remission = loglinear(
        f.day,
        [
            (0, ck0),
            (f.remday / 2, np.sqrt(ck0 * normal)),
            (f.remday, normal),
            (730, normal * draw.uniform(0.8, 1.2)),
        ],
    )
    partial = loglinear(
        f.day, [(0, ck0), (60, ck0 * draw.uniform(0.3, 0.6)), (730, ck0 * draw.uniform(0.4, 0.8))]
    )
    ck = np.where(f.responder, remission, partial)
    ck = toward(ck, ck0 * draw.uniform(0.3, 0.7), f.relapse())
    return np.where(f.imnm, ck, ck0)


def _crs_factor(f: Facts, bump: np.ndarray, rise: float, settle: float) -> np.ndarray:
    """Multiplicative CRS effect: 1 until onset, 1 + ``bump`` ``rise`` days after onset, back to 1
    ``settle`` days after the CRS ends."""
    return loglinear(
        f.day, [(f.crson, 1.0), (f.crson + rise, 1.0 + bump), (f.crson + f.crsdur + settle, 1.0)]
    )


def _chemistry(f: Facts, draw: SubjectDraws, ck: np.ndarray, expansion: np.ndarray) -> dict[str, np.ndarray]:
    """Liver, renal, electrolytes, albumin, LDH and urate (latent values)."""
    alt0 = np.where(f.female, draw.lognormal(16, 0.35), draw.lognormal(22, 0.35))
    ast0 = np.where(f.female, draw.lognormal(18, 0.3), draw.lognormal(22, 0.3))
    p_elevated = np.where(f.crsgr >= 2, 0.5, 0.25)  # grade 1-2 ALT increase, more often after CRS >= 2
    elevated = draw.uniform(0, 1) < p_elevated
    peak_day = draw.uniform(7, 14)
    peak = np.where(elevated, np.maximum(40 * draw.uniform(1.1, 3.5) / alt0, 1.0), draw.uniform(1.0, 1.4))
    liver = loglinear(f.day, [(0, 1.0), (peak_day, peak), (peak_day + 21, 1.0)])
    muscle = np.where(f.imnm, ck, 0.0)

    renal_target = np.where(f.ln & f.responder, draw.uniform(0.8, 0.95), 1.0)
    renal = toward(loglinear(f.day, [(0, 1.0), (f.remday, renal_target)]), 1.2, f.relapse() * f.ln)
    crs_renal = _crs_factor(f, np.where(f.crsgr >= 2, draw.uniform(0.15, 0.35), 0.0), 2, 4)
    creat0 = np.where(
        f.ln, draw.lognormal(85, 0.3), np.where(f.female, draw.lognormal(58, 0.15), draw.lognormal(74, 0.15))
    )
    urea0 = np.where(f.ln, draw.lognormal(6.5, 0.25), draw.lognormal(4.8, 0.25))
    urate0 = np.where(f.female, draw.lognormal(290, 0.2), draw.lognormal(360, 0.2))
    hypokalaemia = draw.chance(0.3)
    potassium = draw.normal(4.2, 0.25) * loglinear(
        f.day,
        [(0, 1.0), (draw.uniform(2, 6), 1 - np.where(hypokalaemia, draw.uniform(0.1, 0.2), 0.0)), (12, 1.0)],
    )
    sodium = draw.normal(140.5, 1.8) * _crs_factor(
        f, -np.where(f.crsgr > 0, draw.uniform(0.01, 0.03), 0.0), 1, 3
    )

    alb0 = np.where(f.ln, draw.uniform(22, 34), draw.normal(42, 3))
    alb_course = loglinear(
        f.day, [(0, alb0), (f.remday, np.where(f.ln & f.responder, draw.uniform(36, 42), alb0))]
    )
    alb_course = toward(alb_course, alb0, f.relapse() * f.ln)
    alb_dip = np.where(f.crsgr > 0, draw.uniform(0.06, 0.14), draw.uniform(0.0, 0.04))
    albumin = alb_course * loglinear(
        f.day, [(0, 1.0), (np.maximum(f.crson, 1) + 3, 1 - alb_dip), (f.crson + 12, 1.0)]
    )
    ldh0 = draw.lognormal(175, 0.18)
    return {
        "ALT": alt0 * liver + 0.01 * muscle,
        "AST": ast0 * (1 + 0.7 * (liver - 1)) + 0.015 * muscle,
        "BILI": draw.lognormal(9, 0.35),
        "CREAT": creat0 * renal * crs_renal,
        "UREA": urea0 * renal * crs_renal,
        "K": potassium,
        "SODIUM": sodium,
        "ALB": albumin,
        "LDH": ldh0 * (1 + draw.uniform(0.2, 0.8) * expansion) + 0.04 * muscle,
        "URATE": urate0 * np.sqrt(crs_renal),
        "CK": ck,
        "ALDOLASE": 4.0 * (ck / 100) ** 0.5,
        "MGB": 30.0 * (ck / 100) ** 0.8,
    }


def _inflammation(f: Facts, draw: SubjectDraws, il6_day: np.ndarray) -> dict[str, np.ndarray]:
    """CRP (peak the day after IL-6), ferritin and D-dimer (peak D5-D10), fibrinogen, PT and APTT."""
    crp0 = draw.loguniform(0.6, 6)
    crp_day = il6_day + 1
    crp_peak = f.by_grade(
        [draw.loguniform(5, 25), draw.loguniform(20, 80), draw.loguniform(50, 150), draw.loguniform(100, 250)]
    )
    crp = loglinear(
        f.day,
        [
            (0, crp0),
            (crp_day, crp_peak),
            (crp_day + f.crsdur + 2, crp_peak * 0.3),
            (crp_day + f.crsdur + 10, crp0 * draw.uniform(1.0, 1.5)),
            (28, crp0),
        ],
    )
    late_day = np.clip(
        np.where(f.crsgr > 0, f.crson + f.crsdur + draw.uniform(1, 4), draw.uniform(5, 10)), 5, 10
    )
    ferritin0 = np.where(f.lupus, draw.loguniform(80, 500), draw.loguniform(40, 250))
    ferritin_peak = f.by_grade(
        [
            ferritin0 * draw.uniform(1.5, 3),
            draw.loguniform(500, 1500),
            draw.loguniform(1000, 3000),
            draw.loguniform(2000, 5000),
        ]
    )
    ferritin = loglinear(
        f.day,
        [
            (0, ferritin0),
            (late_day, np.maximum(ferritin_peak, ferritin0 * 1.2)),
            (late_day + 14, ferritin0 * draw.uniform(1.2, 2.0)),
            (60, ferritin0),
        ],
    )
    ddimer0 = np.where(f.lupus, draw.loguniform(0.3, 1.2), draw.loguniform(0.15, 0.6))
    ddimer_peak = f.by_grade(
        [
            ddimer0 * draw.uniform(1.2, 2.5),
            draw.loguniform(1, 3),
            draw.loguniform(2, 6),
            draw.loguniform(4, 10),
        ]
    )
    ddimer = loglinear(f.day, [(0, ddimer0), (late_day, ddimer_peak), (28, ddimer0 * 1.2), (60, ddimer0)])
    fibrinogen = np.clip(draw.normal(3.0, 0.5), 1.8, 4.5) * loglinear(
        f.day, [(0, 1.0), (crp_day + 2, (1.1 + 0.25 * f.crsgr) * draw.uniform(0.8, 1.2)), (21, 1.0)]
    )
    pt0 = draw.normal(11.3, 0.6)
    aptt0 = draw.normal(30, 2.5)
    severe = f.crsgr >= 2
    return {
        "CRP": crp,
        "FERRITIN": ferritin,
        "DDIMER": ddimer,
        "FIBRINO": fibrinogen,
        "PT": pt0 * _crs_factor(f, np.where(severe, draw.uniform(0.5, 2.0), 0.0) / pt0, 2, 5),
        "APTT": aptt0 * _crs_factor(f, np.where(severe, draw.uniform(1, 5), 0.0) / aptt0, 2, 5),
    }


def _proteinuria(f: Facts, draw: SubjectDraws) -> np.ndarray:
    """UPCR (g/g): LN 1-5 at baseline, < 0.5 from the remission day in responders (KDIGO complete renal
    response), a 20-65 % fall otherwise, rising again after a relapse; SLE without LN 0.05-0.35."""
    upcr0 = np.where(f.ln, draw.loguniform(1.0, 5.0), draw.loguniform(0.05, 0.35))
    response = loglinear(
        f.day, [(0, upcr0), (f.remday, draw.uniform(0.15, 0.45)), (f.remday + 180, draw.uniform(0.08, 0.3))]
    )
    partial = loglinear(f.day, [(0, upcr0), (180, upcr0 * draw.uniform(0.35, 0.8))])
    upcr = toward(np.where(f.responder, response, partial), upcr0 * draw.uniform(0.4, 0.9), f.relapse())
    return np.where(f.ln, upcr, upcr0)


def _immunology(f: Facts, draw: SubjectDraws, brec10: np.ndarray, pcrec: np.ndarray) -> dict[str, np.ndarray]:
    """Immunoglobulins (fall after B-cell/plasma-cell depletion, recover with plasma cells after M6;
    IgM with the B cells) and complement (low in SLE/LN, normal by M1-M3 in responders)."""
    igg0 = np.clip(np.where(f.lupus, draw.lognormal(10.5, 0.3), draw.lognormal(9.0, 0.3)), 5, 25)
    depth = draw.uniform(0.3, 0.65)
    igg_nadir_day = draw.uniform(60, 120)
    igg = loglinear(
        f.day,
        [
            (0, igg0),
            (28, igg0 * (1 - 0.5 * depth)),
            (igg_nadir_day, igg0 * (1 - depth)),
            (np.maximum(pcrec, igg_nadir_day), igg0 * (1 - depth) * draw.uniform(1.0, 1.1)),
            (pcrec + 180, igg0 * (1 - 0.4 * depth)),
            (pcrec + 365, igg0 * (1 - 0.2 * depth)),
        ],
    )
    iga0 = draw.lognormal(2.2, 0.35)
    iga_depth = draw.uniform(0.5, 0.9)
    iga = loglinear(
        f.day,
        [
            (0, iga0),
            (28, iga0 * (1 - 0.5 * iga_depth)),
            (draw.uniform(60, 100), iga0 * (1 - iga_depth)),
            (pcrec, iga0 * (1 - iga_depth)),
            (pcrec + 180, iga0 * (1 - 0.4 * iga_depth)),
            (pcrec + 365, iga0 * (1 - 0.2 * iga_depth)),
        ],
    )
    igm0 = draw.lognormal(1.0, 0.4)
    igm_depth = draw.uniform(0.5, 0.9)
    igm = loglinear(
        f.day,
        [
            (0, igm0),
            (14, igm0 * (1 - 0.6 * igm_depth)),
            (45, igm0 * (1 - igm_depth)),
            (brec10 + 30, igm0 * (1 - igm_depth)),
            (brec10 + 150, igm0 * (1 - 0.3 * igm_depth)),
        ],
    )
    low = draw.chance(0.65)
    c3_0 = np.where(
        f.lupus, np.where(low, draw.uniform(0.4, 0.8), draw.uniform(0.85, 1.3)), draw.uniform(0.9, 1.5)
    )
    c4_0 = np.where(
        f.lupus, np.where(low, draw.uniform(0.04, 0.1), draw.uniform(0.12, 0.3)), draw.uniform(0.15, 0.35)
    )
    normalises = f.lupus & f.responder & draw.chance(0.9)
    normal_day = draw.uniform(28, 90)
    improvement = draw.uniform(1.05, 1.3)
    c3_target = np.where(
        normalises, np.maximum(draw.uniform(0.9, 1.4), c3_0), c3_0 * np.where(f.lupus, improvement, 1)
    )
    c4_target = np.where(
        normalises, np.maximum(draw.uniform(0.12, 0.3), c4_0), c4_0 * np.where(f.lupus, improvement, 1)
    )
    flare = f.relapse() * f.lupus
    c3 = toward(loglinear(f.day, [(0, c3_0), (normal_day, c3_target)]), c3_0, flare)
    c4 = toward(loglinear(f.day, [(0, c4_0), (normal_day, c4_target)]), c4_0, flare)
    return {"IGG": igg, "IGA": iga, "IGM": igm, "C3": c3, "C4": c4}


def _cytokines(
    f: Facts, draw: SubjectDraws, il6_day: np.ndarray, tmax: np.ndarray, cmax: np.ndarray
) -> dict[str, np.ndarray]:
    """Serum cytokines (pg/mL): IL-6 with CRS, IFN-γ with CAR-T expansion, IL-10 between the two;
    IL-2, IL-4 and TNF-α at most 2-3x baseline."""
    il6_0 = draw.loguniform(2, 10)
    il6_peak = f.by_grade(
        [
            il6_0 * draw.uniform(1.5, 4),
            draw.loguniform(20, 100),
            draw.loguniform(60, 300),
            draw.loguniform(200, 800),
        ]
    )
    il6 = loglinear(
        f.day,
        [
            (0, il6_0),
            (il6_day, il6_peak),
            (il6_day + f.crsdur + 2, il6_0 * draw.uniform(1.5, 3)),
            (28, il6_0),
        ],
    )
    ifng0 = draw.loguniform(1, 10)
    ifng_day = np.clip(tmax - draw.uniform(0, 3), 4, 10)
    ifng_peak = np.clip(
        30 * np.sqrt(cmax / CMAX_MEDIAN) * (1 + 0.5 * f.crsgr) * draw.lognormal(1, 0.4), 10, 400
    )
    ifng = loglinear(
        f.day,
        [(0, ifng0), (ifng_day, np.maximum(ifng_peak, 1.5 * ifng0)), (ifng_day + 7, 2 * ifng0), (28, ifng0)],
    )
    il10_0 = draw.loguniform(1, 5)
    il10_day = (il6_day + ifng_day) / 2
    il10_peak = np.clip(draw.loguniform(5, 30) * (1 + 0.6 * f.crsgr), 5, 150)
    il10 = loglinear(f.day, [(0, il10_0), (il10_day, il10_peak), (il10_day + 7, 1.5 * il10_0), (28, il10_0)])
    out = {"INTLK6": il6, "IFNG": ifng, "INTLK10": il10}
    for code in ("INTLK2", "INTLK4", "TNF"):
        base = draw.loguniform(0.5, 5)
        fold = draw.uniform(1.2, 2.5) * np.where(f.crsgr >= 2, 1.3, 1.0)
        out[code] = loglinear(f.day, [(0, base), (il6_day, base * fold), (il6_day + 5, base)])
    return out


def ckd_epi_2021(creat_umol: np.ndarray, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """eGFR (mL/min/1.73 m2), CKD-EPI 2021 creatinine equation without race (Inker, NEJM 2021)."""
    scr = creat_umol / 88.42
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.241, -0.302)
    ratio = scr / kappa
    egfr = 142 * np.minimum(ratio, 1) ** alpha * np.maximum(ratio, 1) ** -1.2 * 0.9938**age
    return egfr * np.where(female, 1.012, 1.0)


def lab_values(ctx: SynthContext, sidx: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
    """Measured value of every catalogue test for sample rows (subject ``sidx`` at protocol ``day``).

    Latent courses get a per-measurement log-normal variability; derived tests are computed from the
    reported values of their inputs (WBC from the differential, BLYCELY and TLYCE from the lymphocyte
    count, eGFR from creatinine, INR from PT).
    """
    rng = ctx.rng(LAB_STREAM)
    draw = SubjectDraws(rng, len(ctx.subjects), sidx)
    f = Facts.of(ctx.subjects, sidx, day)
    course = immune_course(ctx, sidx, f.day)
    kinetics = expansion_parameters(ctx).iloc[sidx]
    expansion = np.nan_to_num(expansion_shape(f.day, kinetics))
    tmax = kinetics["TMAX"].fillna(10).to_numpy()
    cmax = kinetics["CMAX"].fillna(CMAX_MEDIAN).to_numpy()
    il6_day = np.where(f.crsgr > 0, f.crson + draw.integers(0, 1), draw.uniform(1, 4))

    ck = _muscle(f, draw)
    latent = _haematology(f, draw, course["LYM"])
    latent |= _chemistry(f, draw, ck, expansion)
    latent |= _inflammation(f, draw, il6_day)
    latent["PROTCRT"] = _proteinuria(f, draw)
    latent |= _immunology(f, draw, course["BREC10"], course["PCREC"])
    latent |= _cytokines(f, draw, il6_day, tmax, cmax)
    latent["BLYCE"] = course["BCELL"]
    latent["BCMAS"] = course["SBCMA"]
    latent["HCG"] = np.where(draw.chance(0.05), draw.uniform(2.0, 4.5), draw.loguniform(0.3, 1.8))
    latent["TFRAC"] = course["TFRAC"]

    n = len(f.day)
    value = {code: latent[code] * np.exp(rng.normal(0, sd, n)) for code, sd in NOISE.items()}
    lymphocytes = value["LYM"] * 1000  # cells/uL
    value["WBC"] = value["NEUT"] + value["LYM"] + value.pop("OTHER")
    value["BLYCE"] = np.minimum(value["BLYCE"], 0.35 * lymphocytes)
    value["BLYCELY"] = 100 * value["BLYCE"] / lymphocytes
    value["TLYCE"] = (lymphocytes - value["BLYCE"]) * value.pop("TFRAC")
    value["GFRE"] = ckd_epi_2021(np.round(value["CREAT"]), f.age, f.female)
    value["INR"] = (np.round(value["PT"], 1) / 11.3) ** 1.05
    return value
