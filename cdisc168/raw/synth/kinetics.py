"""CAR-T cellular kinetics: the ``cartpk`` form (STUDY.md §2.7 and §4.3).

One latent expansion curve per infused subject (:func:`expansion_parameters`), also read by the lab
generator (IFN-γ and LDH follow CAR-T expansion):

- D1 level 10^2-10^3 copies/ug (the 0-2 day lag), exponential rise (doubling ~1-1.5 d) to Cmax at
  Tmax (log-normal, median D10, clipped to D4-D14: the observed peak sample is D4-D21 and D28 stays
  1-2 logs below the peak);
- qPCR Cmax log-normal, median 3x10^4 copies/ug gDNA at 1.5x10^6/kg, geometric CV ~120 %, scaled by
  (dose / 1.5)^0.65 (the mild positive dose-exposure slope);
- biphasic decline: early half-life 3-5 d, late half-life 20-40 d carrying 2-8 % of the peak, so
  D28 is 1-2 logs below the peak, M2-M3 is 10^2-10^3 and most subjects are below the LLOQ of 20 by
  M6-M9 (Tlast 60-270 days);
- flow CAR+ T cells: Cmax median ~40 cells/uL (5-300), correlated with qPCR, a smaller late phase
  (detectable to D28-M2); CAR+ % of CD3+ peaks at 5-40 %.

Samples: pre-LD baseline (NOMDAY -7, always below the LLOQ) and D1 ... M24 at the attended visits
(STUDY.md §0), dated on the visit date with the visit's collection time; a few D7-D28 samples are
drawn 1-2 days after their window (with the backbone's late visits, 2-5 % of post-infusion samples are
out of window, STUDY.md §4.6). NOMDAY stays nominal. Subjects who were never infused have no
post-infusion sample. Each sample gives three rows: QPCR (copies/ug gDNA), FLOW (cells/uL), FLOW (%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form
from cdisc168.raw.synth.specimens import (
    MINUTE_STEP,
    decimals_by_magnitude,
    hhmm,
    iso_dates,
    raw_forms,
    result_codes,
    sample_minutes,
    subject_index,
)

EXPANSION_STREAM = "cart-expansion"
PK_DAYS = (-7, 1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 270, 365, 545, 730)
LATE_SAMPLE_DAYS = (7, 10, 14, 21, 28)
P_LATE_SAMPLE = 0.03

CMAX_MEDIAN = 3.0e4  # copies/ug gDNA at the reference dose
REFERENCE_DOSE = 1.5  # x10^6 CAR+ T cells/kg
DOSE_EXPONENT = 0.65
CMAX_SIGMA = 0.94  # geometric CV = sqrt(exp(sigma^2) - 1) ~ 120 %
FLOW_CMAX_MEDIAN = 40.0  # cells/uL
PCT_CMAX_MEDIAN = 15.0  # % of CD3+

# (ASSAY, ORRESU, LLOQ, measurement sigma on the log scale)
ASSAYS = (
    ("QPCR", "copies/ug gDNA", 20.0, 0.25),
    ("FLOW", "cells/uL", 0.1, 0.3),
    ("FLOW", "%", 0.01, 0.3),
)


def expansion_parameters(ctx: SynthContext) -> pd.DataFrame:
    """Latent expansion of every subject (rows aligned with ``ctx.subjects``; NaN unless infused).

    Columns: CMAX (qPCR copies/ug gDNA), TMAX (day), R1 (D1 level / Cmax), K1, K2 (early and late
    elimination rate, 1/day), SLOW (late-phase fraction of the peak), CMAX_FLOW (cells/uL), SLOW_FLOW,
    CMAX_PCT (% of CD3+).
    """
    rng = ctx.rng(EXPANSION_STREAM)
    subjects = ctx.subjects
    n = len(subjects)
    dose = subjects["DOSE_ACT"].to_numpy(dtype=float)
    cmax = CMAX_MEDIAN * (dose / REFERENCE_DOSE) ** DOSE_EXPONENT * np.exp(rng.normal(0, CMAX_SIGMA, n))
    tmax = np.clip(10.0 * np.exp(rng.normal(0, 0.3, n)), 4, 14)
    c1 = 10 ** rng.uniform(2, 3, n) * (dose / REFERENCE_DOSE) ** DOSE_EXPONENT
    k1 = np.log(2) / rng.uniform(3, 5, n)
    k2 = np.log(2) / rng.uniform(20, 40, n)
    slow = np.exp(rng.uniform(np.log(0.02), np.log(0.08), n))
    cmax_flow = np.clip(
        FLOW_CMAX_MEDIAN * (cmax / CMAX_MEDIAN) ** 0.9 * np.exp(rng.normal(0, 0.35, n)), 3, 400
    )
    cmax_pct = np.clip(
        PCT_CMAX_MEDIAN * (cmax_flow / FLOW_CMAX_MEDIAN) ** 0.5 * np.exp(rng.normal(0, 0.25, n)), 3, 60
    )
    params = pd.DataFrame(
        {
            "CMAX": cmax,
            "TMAX": tmax,
            "R1": np.minimum(c1, cmax / 20) / cmax,
            "K1": k1,
            "K2": k2,
            "SLOW": slow,
            "CMAX_FLOW": cmax_flow,
            "SLOW_FLOW": slow * rng.uniform(0.2, 0.5, n),
            "CMAX_PCT": cmax_pct,
        },
        index=subjects.index,
    )
    return params.where(subjects["PATH"] == "INFUSED", axis=0)


def expansion_shape(day: np.ndarray, params: pd.DataFrame, slow_column: str = "SLOW") -> np.ndarray:
    """Level relative to Cmax at protocol ``day`` (rows of ``params`` aligned with ``day``): 0 before
    D1, exponential rise from R1 at D1 to 1 at TMAX, then the biphasic decline. NaN when not infused."""
    day = np.asarray(day, dtype=float)
    tmax = params["TMAX"].to_numpy()
    rising_day = np.clip(day, 1, tmax)
    rise = np.exp(np.log(params["R1"].to_numpy()) * (tmax - rising_day) / (tmax - 1))
    since = np.maximum(day - tmax, 0)
    slow = params[slow_column].to_numpy()
    early = np.exp(-params["K1"].to_numpy() * since)
    late = np.exp(-params["K2"].to_numpy() * since)
    shape = np.where(day < 1, 0.0, np.where(day <= tmax, rise, (1 - slow) * early + slow * late))
    return np.where(np.isnan(tmax), np.nan, shape)


def _pk_samples(ctx: SynthContext) -> pd.DataFrame:
    """Attended kinetics visits with the sample day (a few drawn late) and collection time."""
    rng = ctx.rng("cartpk")
    study = ctx.study
    pk_visits = [v.visit for v in study.visits if v.day in PK_DAYS]
    window_high = {v.visit: v.window[1] for v in study.visits}
    visits = ctx.visits.assign(SMPMIN=sample_minutes(ctx))
    visits = visits[visits["VISIT"].isin(pk_visits)].copy()
    sidx = subject_index(ctx.subjects, visits)
    infused = (ctx.subjects["PATH"] == "INFUSED").to_numpy()[sidx]
    keep = infused | (visits["NOMDAY"].to_numpy() == -7)
    visits = visits[keep].reset_index(drop=True)
    visits["SIDX"] = sidx[keep]

    day = visits["DAY"].to_numpy()
    next_day = visits.groupby("SIDX", sort=False)["DAY"].shift(-1).fillna(np.inf).to_numpy()
    lastday = ctx.subjects["LASTDAY"].to_numpy()[visits["SIDX"].to_numpy()]
    late_day = visits["VISIT"].map(window_high).to_numpy() + rng.integers(1, 3, len(visits))
    late = (
        visits["NOMDAY"].isin(LATE_SAMPLE_DAYS).to_numpy()
        & (rng.uniform(size=len(visits)) < P_LATE_SAMPLE)
        & (late_day < next_day)
        & (late_day <= lastday)
    )
    visits["SMPDAY"] = np.where(late, late_day, day)
    visits["SMPMIN"] = np.where(late, MINUTE_STEP * rng.integers(96, 132, len(visits)), visits["SMPMIN"])
    d0 = ctx.subjects["D0"].to_numpy()[visits["SIDX"].to_numpy()]
    visits["SMPDT"] = pd.DatetimeIndex(d0) + pd.to_timedelta(visits["SMPDAY"], unit="D")
    return visits


def make_cartpk(ctx: SynthContext) -> pd.DataFrame:
    """The ``cartpk`` form: qPCR and flow CAR-T levels at the kinetics visits (see the module docstring)."""
    rng = ctx.rng("cartpk-assay")
    samples = _pk_samples(ctx)
    params = expansion_parameters(ctx).iloc[samples["SIDX"].to_numpy()].reset_index(drop=True)
    day = samples["SMPDAY"].to_numpy(dtype=float)
    n = len(samples)
    latent = (
        params["CMAX"].to_numpy() * expansion_shape(day, params),
        params["CMAX_FLOW"].to_numpy() * expansion_shape(day, params, "SLOW_FLOW"),
        params["CMAX_PCT"].to_numpy() * expansion_shape(day, params, "SLOW_FLOW"),
    )
    n_assays = len(ASSAYS)
    value = np.empty(n * n_assays)
    for k, ((_, unit, _, sigma), level) in enumerate(zip(ASSAYS, latent, strict=True)):
        level = np.nan_to_num(level, nan=0.0)
        noise = np.exp(rng.normal(0, sigma, n))
        if unit == "%":  # a share of the CD3+ cells: noise on the odds keeps it below 100 %
            odds = level / (100 - level) * noise
            value[k::n_assays] = 100 * odds / (1 + odds)
        else:
            value[k::n_assays] = level * noise
    assay = np.tile(np.array([a[0] for a in ASSAYS], dtype=object), n)
    unit = np.tile(np.array([a[1] for a in ASSAYS], dtype=object), n)
    lloq = np.tile(np.array([a[2] for a in ASSAYS]), n)
    decimals = np.where(unit == "copies/ug gDNA", 0, decimals_by_magnitude(value, ((10, 2), (100, 1)), 0))
    text, blq = result_codes(value, decimals, lloq)
    rep = np.repeat(np.arange(n), n_assays)
    frame = pd.DataFrame(
        {
            "SITEID": samples["SITEID"].to_numpy()[rep],
            "SUBJID": samples["SUBJID"].to_numpy()[rep],
            "VISIT": samples["VISIT"].to_numpy()[rep],
            "SMPDT": iso_dates(samples["SMPDT"])[rep],
            "SMPTM": hhmm(samples["SMPMIN"].to_numpy())[rep],
            "NOMDAY": samples["NOMDAY"].to_numpy()[rep],
            "ASSAY": assay,
            "ORRES": text.decode(),
            "ORRESU": unit,
            "LLOQ": lloq,
            "BLQFL": np.where(blq, "Y", "N").astype(object),
            "SPEC": "BLOOD",
        }
    )
    return finish_form(frame, raw_forms()["cartpk"], ctx.study, sort_by=["SMPDT", "NOMDAY"])
