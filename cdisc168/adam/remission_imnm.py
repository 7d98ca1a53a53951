"""IMNM visit-level criteria: IMACS total improvement score and remission (STUDY.md §3.5).

Core set measures (IMACS): physician global activity (RS PHGA01, 0-10 cm), patient global activity (QS
PTGA01, 0-10 cm), MMT-8 (RS MMT8TOT, 0-150), HAQ-DI (QS HAQDI, 0-3), CK (LB, the muscle enzyme
collected) and extramuscular global activity (RS MDAAT01, 0-10 cm).

=========  ==========================================================================================
PARAMCD    value
=========  ==========================================================================================
TIS        2016 ACR/EULAR total improvement score (0-100): per measure the absolute per cent
           improvement from baseline (MMT-8 an increase, the others a decrease; a baseline of 0 allows no
           improvement) scored by :data:`~cdisc168.adam.remission_criteria.TIS_LEVELS`, summed;
           all six measures and their baselines required. AVALCAT1: MAJOR (≥ ``tis_major``), MODERATE
           (≥ ``tis_moderate``), MINIMAL (≥ ``tis_minimal``) or NO IMPROVEMENT
IMNMREM    "Y" when TIS ≥ ``imnm_tis_min``, CK ≤ ULN, MMT-8 ≥ ``imnm_mmt8_min`` and no GC/IS
           escalation: the mean prednisone-eq dose not above the pre-lymphodepletion dose (ADGC GCDOSE
           CHG ≤ 0) and no IS/biologic started after the infusion (ASSUMPTION)
=========  ==========================================================================================

Activity worsening (IMACS, Oddis 2005) against a reference: PhGA worse by ≥ ``imacs_phga_worse_cm`` cm
with MMT-8 worse by ≥ ``imacs_mmt8_worse_pct`` %; or extramuscular activity worse by ≥
``imacs_extramuscular_worse_cm`` cm; or any three of the six measures worse by ≥
``imacs_any3_worse_pct`` % (from a reference of 0, any rise counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.adam.remission_criteria import (
    IMACS_CORE_SET,
    IMACS_HIGHER_IS_BETTER,
    TIS_LEVELS,
    RemissionCriteria,
)
from cdisc168.adam.remission_visits import VisitCriterion
from cdisc168.study import Study

IMNM_INDICATIONS = ("IMNM",)
_DECIMALS = 6


def _improvement_pct(visits: pd.DataFrame, measure: str, reference: str) -> pd.Series:
    """Per cent improvement from ``{reference}<measure>`` (negative = worsening; reference 0 → 0)."""
    base = visits[f"{reference}{measure}"]
    change = visits[measure] - base
    if measure not in IMACS_HIGHER_IS_BETTER:
        change = -change
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * change / base
    return pd.Series(np.round(pct.where(base != 0, 0.0).where(base.notna()), _DECIMALS), index=visits.index)


def compute_tis(visits: pd.DataFrame) -> pd.Series:
    """The total improvement score per visit row (null when a measure or its baseline is missing)."""
    total = pd.Series(0.0, index=visits.index)
    for measure in IMACS_CORE_SET:
        bounds, points = TIS_LEVELS[measure]
        pct = _improvement_pct(visits, measure, "B_")
        score = np.select([pct > bound for bound in reversed(bounds)], list(reversed(points)), default=0.0)
        total = total + pd.Series(score, index=visits.index).where(pct.notna())
    return total


def imnm_criteria(visits: pd.DataFrame, criteria: RemissionCriteria, study: Study) -> list[VisitCriterion]:
    """TIS and IMNMREM on the visit frame (module docstring)."""
    imnm = visits["INDICAT"].isin(IMNM_INDICATIONS)
    tis = compute_tis(visits)
    category = pd.Series(
        np.select(
            [tis >= criteria.tis_major, tis >= criteria.tis_moderate, tis >= criteria.tis_minimal],
            ["MAJOR IMPROVEMENT", "MODERATE IMPROVEMENT", "MINIMAL IMPROVEMENT"],
            default="NO IMPROVEMENT",
        ),
        index=visits.index,
    ).where(tis.notna())
    ck, uln, mmt8 = visits["CK"], visits["CK_ULN"], visits["MMT8TOT"]
    no_escalation = (visits["GCCHG"] <= 0) & ~visits["ISNEW"].astype(bool)
    remission = (
        (tis >= criteria.imnm_tis_min) & (ck <= uln) & (mmt8 >= criteria.imnm_mmt8_min) & no_escalation
    )
    evaluable = imnm & tis.notna() & ck.notna() & uln.notna() & visits["GCCHG"].notna()
    return [
        VisitCriterion("TIS", "MMT8TOT", imnm & tis.notna(), value=tis, category=category),
        VisitCriterion("IMNMREM", "MMT8TOT", evaluable, met=remission),
    ]


def imnm_worsening(visits: pd.DataFrame, reference: str, criteria: RemissionCriteria) -> pd.Series:
    """IMACS disease worsening against the ``{reference}`` columns (module docstring)."""
    imnm = visits["INDICAT"].isin(IMNM_INDICATIONS)
    worse_pct = {m: -_improvement_pct(visits, m, reference) for m in IMACS_CORE_SET}
    for measure in IMACS_CORE_SET:  # from a reference of 0 any rise is a worsening
        rise = (visits[measure] > visits[f"{reference}{measure}"]) & (visits[f"{reference}{measure}"] == 0)
        worse_pct[measure] = worse_pct[measure].where(~rise, np.inf)
    phga = (
        np.round(visits["PHGA01"] - visits[f"{reference}PHGA01"], _DECIMALS) >= criteria.imacs_phga_worse_cm
    )
    mmt8 = worse_pct["MMT8TOT"] >= criteria.imacs_mmt8_worse_pct
    extra = (
        np.round(visits["MDAAT01"] - visits[f"{reference}MDAAT01"], _DECIMALS)
        >= criteria.imacs_extramuscular_worse_cm
    )
    any3 = sum((worse_pct[m] >= criteria.imacs_any3_worse_pct).astype(int) for m in IMACS_CORE_SET) >= 3
    return imnm & ((phga & mmt8) | extra | any3)
