"""SLE and lupus nephritis visit-level criteria (STUDY.md §3.5; sources in remission_criteria).

All conditions are read at the same analysis visit (the visit frame of
:mod:`cdisc168.adam.remission_visits`); glucocorticoid (GC) and immunosuppressant (IS) status comes from
ADGC at that visit (:mod:`cdisc168.adam.remission_therapy`).

=========  ===============================================================================================
PARAMCD    "Y" when (SLE and LN subjects unless noted)
=========  ===============================================================================================
DORISREM   DORIS 2021 remission on therapy: clinical SLEDAI-2K = 0, PGA < ``doris_pga_max`` and mean
           prednisone-eq dose ≤ study ``gc_doris_dose_mg`` (ADGC GCLOW5); antimalarials, IS and biologics
           allowed, serology ignored
DORISOFF   DORIS remission off therapy: clinical SLEDAI-2K = 0, PGA < ``doris_pga_max``, no GC (ADGC
           GCFREE) and no IS/biologic (ADGC ISFREE) in the look-back window; antimalarials allowed
LLDAS      SLEDAI-2K ≤ ``lldas_sledai_max`` with no major-organ descriptor (CNS, vasculitis, renal,
           pleurisy/pericarditis, fever), no descriptor scored that was not scored at the previous
           analysis visit (baseline for the first), PGA ≤ ``lldas_pga_max``, dose ≤ study
           ``gc_low_dose_mg`` (ADGC GCLOW); IS/biologics allowed. Haemolytic anaemia and GI activity are
           not SLEDAI-2K descriptors and are not collected: not assessed
SRI4       SLEDAI-2K decrease ≥ ``sri4_sledai_drop`` from baseline, no new BILAG A domain and at most one
           new B domain (when collected), PGA increase < ``sri4_pga_rise_max`` from baseline
LNCR       (LN) UPCR < ``lncr_upcr_max`` g/g and stable eGFR (a decline from baseline below
           ``egfr_decline_max_pct`` %, or eGFR ≥ the lower limit of normal)
LNPR       (LN) not LNCR, UPCR reduced ≥ ``lnpr_upcr_drop_pct`` % from baseline and < ``lnpr_upcr_max``
           g/g, stable eGFR (KDIGO 2024 partial response)
=========  ===============================================================================================

Activity worsening (relapse after remission, progression in never-remitters; STUDY.md §3.5 "SLE
flare", §3.7 PFS): SLEDAI-2K rise ≥ ``sle_flare_sledai_rise`` from the reference with a clinical
descriptor not scored at the reference, or a new BILAG A domain; for LN also proteinuria back to
≥ ``lncr_upcr_max`` g/g from below it at the reference (loss of the complete renal response).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.adam.remission_criteria import (
    SLEDAI_ITEMS,
    SLEDAI_MAJOR_ORGAN,
    SLEDAI_SEROLOGY,
    RemissionCriteria,
)
from cdisc168.adam.remission_visits import CSLEDAI, VisitCriterion
from cdisc168.study import Study

SLE_INDICATIONS = ("SLE", "LN")
LN_INDICATIONS = ("LN",)
CLINICAL_ITEMS = tuple(i for i in SLEDAI_ITEMS if i not in SLEDAI_SEROLOGY)
_DECIMALS = 6  # score differences (PGA 0.7 - 0.4) compared without binary floating-point noise


def _true(values: pd.Series) -> pd.Series:
    """A nullable boolean column as plain booleans (unknown → False)."""
    return values.astype("boolean").fillna(False).astype(bool)


def _known(values: pd.Series) -> pd.Series:
    return values.notna()


def _scored(visits: pd.DataFrame, items: tuple[str, ...], prefix: str = "") -> pd.DataFrame:
    return visits[[f"{prefix}{item}" for item in items]].fillna(0.0).gt(0).set_axis(list(items), axis=1)


def egfr_stable(visits: pd.DataFrame, criteria: RemissionCriteria) -> pd.Series:
    """eGFR (GFRE) within normal range (≥ LBSTNRLO) or declined from baseline by less than the limit."""
    decline = 100.0 * (visits["B_GFRE"] - visits["GFRE"]) / visits["B_GFRE"]
    return (visits["GFRE"] >= visits["GFRE_LLN"]) | (
        np.round(decline, _DECIMALS) < criteria.egfr_decline_max_pct
    )


def sle_criteria(visits: pd.DataFrame, criteria: RemissionCriteria, study: Study) -> list[VisitCriterion]:
    """DORISREM, DORISOFF, LLDAS, SRI4, LNCR, LNPR on the visit frame (module docstring)."""
    sle = visits["INDICAT"].isin(SLE_INDICATIONS)
    ln = visits["INDICAT"].isin(LN_INDICATIONS)
    total, clinical, pga = visits["SLED0125"], visits[CSLEDAI], visits["PGA01"]
    doris_activity = (clinical == 0) & (pga < criteria.doris_pga_max)

    scored = _scored(visits, SLEDAI_ITEMS)
    before = _scored(visits, SLEDAI_ITEMS, "P_")
    major = scored[list(SLEDAI_MAJOR_ORGAN)].any(axis=1)
    new_activity = (scored[list(CLINICAL_ITEMS)] & ~before[list(CLINICAL_ITEMS)]).any(axis=1)
    lldas = (
        (total <= criteria.lldas_sledai_max)
        & ~major
        & ~new_activity
        & (pga <= criteria.lldas_pga_max)
        & _true(visits["GCLOW"])
    )

    drop = np.round(visits["B_SLED0125"] - total, _DECIMALS)
    pga_rise = np.round(pga - visits["B_PGA01"], _DECIMALS)
    bilag_ok = (visits["BILAG01"].isna() | (visits["BILAG01"] <= criteria.sri4_new_bilag_a_max)) & (
        visits["BILAG02"].isna() | (visits["BILAG02"] <= criteria.sri4_new_bilag_b_max)
    )
    sri4 = (drop >= criteria.sri4_sledai_drop) & bilag_ok & (pga_rise < criteria.sri4_pga_rise_max)

    upcr, stable = visits["PROTCRT"], egfr_stable(visits, criteria)
    lncr = (upcr < criteria.lncr_upcr_max) & stable
    reduction = 100.0 * (visits["B_PROTCRT"] - upcr) / visits["B_PROTCRT"]
    lnpr = (
        ~lncr
        & (np.round(reduction, _DECIMALS) >= criteria.lnpr_upcr_drop_pct)
        & (upcr < criteria.lnpr_upcr_max)
        & stable
    )
    renal_known = (
        _known(upcr) & _known(visits["GFRE"]) & (_known(visits["B_GFRE"]) | _known(visits["GFRE_LLN"]))
    )
    return [
        VisitCriterion(
            "DORISREM",
            "SLED0125",
            sle & _known(clinical) & _known(pga) & _known(visits["GCLOW5"]),
            met=doris_activity & _true(visits["GCLOW5"]),
        ),
        VisitCriterion(
            "DORISOFF",
            "SLED0125",
            sle & _known(clinical) & _known(pga) & _known(visits["GCFREE"]) & _known(visits["ISFREE"]),
            met=doris_activity & _true(visits["GCFREE"]) & _true(visits["ISFREE"]),
        ),
        VisitCriterion(
            "LLDAS", "SLED0125", sle & _known(total) & _known(pga) & _known(visits["GCLOW"]), met=lldas
        ),
        VisitCriterion(
            "SRI4",
            "SLED0125",
            sle & _known(total) & _known(visits["B_SLED0125"]) & _known(pga) & _known(visits["B_PGA01"]),
            met=sri4,
        ),
        VisitCriterion("LNCR", "PROTCRT", ln & renal_known, met=lncr),
        VisitCriterion("LNPR", "PROTCRT", ln & renal_known & _known(visits["B_PROTCRT"]), met=lnpr),
    ]


def sle_worsening(visits: pd.DataFrame, reference: str, criteria: RemissionCriteria) -> pd.Series:
    """SLE flare / LN renal flare against the reference columns ``{reference}<measure>`` (module doc)."""
    sle = visits["INDICAT"].isin(SLE_INDICATIONS)
    rise = np.round(visits["SLED0125"] - visits[f"{reference}SLED0125"], _DECIMALS)
    scored = _scored(visits, CLINICAL_ITEMS)
    at_reference = _scored(visits, CLINICAL_ITEMS, reference)
    new_activity = (scored & ~at_reference).any(axis=1)
    flare = (rise >= criteria.sle_flare_sledai_rise) & new_activity
    new_bilag_a = visits["BILAG01"] > criteria.sri4_new_bilag_a_max
    renal = (
        visits["INDICAT"].isin(LN_INDICATIONS)
        & (visits["PROTCRT"] >= criteria.lncr_upcr_max)
        & (visits[f"{reference}PROTCRT"] < criteria.lncr_upcr_max)
    )
    return sle & (flare | new_bilag_a | renal)
