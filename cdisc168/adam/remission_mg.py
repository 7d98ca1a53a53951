"""Myasthenia gravis visit-level criteria (STUDY.md §3.5; sources in remission_criteria).

=========  ==========================================================================================
PARAMCD    "Y" when (MG subjects)
=========  ==========================================================================================
MSE        minimal symptom expression: MG-ADL total (QS MGADL09) ≤ ``mse_mgadl_max``
MGADLR     MG-ADL decrease ≥ ``mgadl_response_drop`` points from baseline
QMGR       QMG total (RS QMG14) decrease ≥ ``qmg_response_drop`` points from baseline
MGREM      MGFA post-intervention status (RS MGPIS) complete stable or pharmacologic remission, or MSE
           with no immunosuppressant/biologic in the look-back window (ADGC ISFREE) (ASSUMPTION)
=========  ==========================================================================================

Activity worsening (STUDY.md §3.5 "MG"): after remission, an MG-ADL rise ≥ ``mg_worsening_rise`` from
the nadir since the first remission, sustained at the next analysis visit (dated at the first of the
two); in never-remitters (PFS progression, STUDY.md §3.7), a rise ≥ ``mg_worsening_rise`` from
baseline. IVIG/PLEX rescue and myasthenic crisis come from CM and CE (rescue therapy, adjudicated
events).
"""

from __future__ import annotations

import pandas as pd

from cdisc168.adam.remission_criteria import RemissionCriteria
from cdisc168.adam.remission_visits import VisitCriterion
from cdisc168.study import Study

MG_INDICATIONS = ("MG",)


def mg_criteria(visits: pd.DataFrame, criteria: RemissionCriteria, study: Study) -> list[VisitCriterion]:
    """MSE, MGADLR, QMGR, MGREM on the visit frame (module docstring)."""
    mg = visits["INDICAT"].isin(MG_INDICATIONS)
    adl, qmg = visits["MGADL09"], visits["QMG14"]
    mse = adl <= criteria.mse_mgadl_max
    is_free = visits["ISFREE"].astype("boolean")
    pis_remission = visits["MGPIS_C"].isin(criteria.mg_remission_pis)
    return [
        VisitCriterion("MSE", "MGADL09", mg & adl.notna(), met=mse),
        VisitCriterion(
            "MGADLR",
            "MGADL09",
            mg & adl.notna() & visits["B_MGADL09"].notna(),
            met=(visits["B_MGADL09"] - adl) >= criteria.mgadl_response_drop,
        ),
        VisitCriterion(
            "QMGR",
            "QMG14",
            mg & qmg.notna() & visits["B_QMG14"].notna(),
            met=(visits["B_QMG14"] - qmg) >= criteria.qmg_response_drop,
        ),
        VisitCriterion(
            "MGREM",
            "MGADL09",
            mg & adl.notna() & (is_free.notna() | pis_remission),
            met=pis_remission | (mse & is_free.fillna(False).astype(bool)),
        ),
    ]


def mg_worsening(visits: pd.DataFrame, reference: str, criteria: RemissionCriteria) -> pd.Series:
    """MG-ADL worsening (module docstring). ``reference`` "R_": relapse after the first remission
    (REMDT), sustained over two analysis visits from the nadir; "B_": rise from baseline."""
    mg = visits["INDICAT"].isin(MG_INDICATIONS)
    adl = visits["MGADL09"]
    if reference == "B_":
        return mg & ((adl - visits["B_MGADL09"]) >= criteria.mg_worsening_rise)
    since = visits["ADT"] >= visits["REMDT"]
    order = visits.sort_values(["USUBJID", "ADT"], kind="mergesort")
    tracked = order["MGADL09"].where(since.reindex(order.index))
    nadir = tracked.groupby(order["USUBJID"], sort=False).cummin()
    nadir = nadir.groupby(order["USUBJID"], sort=False).ffill()
    before = nadir.groupby(order["USUBJID"], sort=False).shift(1)
    following = order["MGADL09"].groupby(order["USUBJID"], sort=False).shift(-1)
    rise_now = (order["MGADL09"] - before) >= criteria.mg_worsening_rise
    rise_next = (following - before) >= criteria.mg_worsening_rise
    worse = (rise_now & rise_next & since.reindex(order.index)).reindex(visits.index)
    return mg & worse.fillna(False).astype(bool)
