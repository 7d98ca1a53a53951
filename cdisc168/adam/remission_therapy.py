"""Glucocorticoid and immunosuppressant status at disease assessments, and rescue therapy (ADRS).

The remission criteria of STUDY.md §3.5 read the treatment at the assessment: prednisone-equivalent
dose (DORIS ≤ 5 mg/day, LLDAS ≤ 7.5 mg/day), no glucocorticoid (GC) and no immunosuppressant or
biologic (IS) in the look-back window (DORIS off therapy, MG and NMOSD remission), no GC escalation and
no new IS (IMNM remission). They come from ADGC (STUDY.md §3.6; DESIGN.md: ADRS uses ADGC) at the same
analysis visit (AVISITN): its observed records (DTYPE null) summarise the ``gc_free_window_days`` days
ending on the visit date. ADGC is built here when the caller did not pass it in ``adam``. An
unscheduled assessment (no ADGC visit) takes the same summary of the ADGC daily exposure series
(:func:`cdisc168.adam.adgc.create_gc_exposure_series`, built once by the ADRS builder) over the window
ending on its date.

Rescue therapy (STUDY.md §3.5 RELAPSE; §3.7 PFS "new disease-modifying therapy") is the first after the
infusion of: a new IS/biologic record for the disease (ADGC definitions); IVIG or plasma exchange for
the disease (CMCAT ``rescue_cmcat`` with CMINDC ``rescue_cmindc``); a disease GC record raising the daily
prednisone-equivalent dose by more than ``rescue_gc_rise_mg`` over the day before and lasting at least
``rescue_gc_min_days`` days (so CRS/ICANS use, premedication, stress dosing and short IV pulses do not
count); a further C-CAR168 infusion (EX).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cdisc168.adam.adgc import (
    build_adgc,
    derive_vars_cm_exposure,
    derive_vars_followup,
    load_gc_config,
)
from cdisc168.adam.derive import derive_vars_dt
from cdisc168.adam.remission_criteria import RemissionCriteria
from cdisc168.adam.remission_visits import lookup
from cdisc168.study import Study

CAR_T = "C-CAR168"  # EXTRT of the CAR-T product (STUDY.md §2.3)
_DAY = pd.Timedelta(days=1)
#: ADGC parameter → visit-frame column (AVALC "Y" → True); GCDOSE AVAL and CHG are numbers.
_ADGC_FLAGS = {"GCFREE": "GCFREE", "GCLOW": "GCLOW", "GCLOW5": "GCLOW5", "ISFREE": "ISFREE"}


def derive_vars_therapy_status(
    visits: pd.DataFrame,
    sdtm: Mapping[str, pd.DataFrame],
    adam: Mapping[str, pd.DataFrame],
    study: Study,
    series: pd.DataFrame,
) -> pd.DataFrame:
    """Add GCDOSE, GCCHG (change from the pre-lymphodepletion dose), GCFREE, GCLOW, GCLOW5, ISFREE
    (booleans, null when unknown) and ISNEW (an IS/biologic started after TRTSDT, on or before ADT).
    ``series`` is the ADGC daily exposure series (:func:`create_gc_exposure_series`)."""
    adgc = adam["ADGC"] if "ADGC" in adam else build_adgc(sdtm, adam, study)
    status = _status_from_adgc(adgc)
    key = pd.MultiIndex.from_arrays([visits["USUBJID"], visits["AVISITN"]])
    columns = status.reindex(key).set_axis(visits.index)
    unscheduled = visits["AVISITN"].isna().to_numpy()
    if unscheduled.any():
        columns = columns.astype(object)
        columns.loc[unscheduled] = _status_from_series(visits.loc[unscheduled], series, study)
    config = load_gc_config(study)
    subjects = derive_vars_followup(adam["ADSL"], study, config)
    records = derive_vars_cm_exposure(sdtm["CM"], subjects, config)
    new_is = records.loc[records["_KIND"] == "IS"]
    new_is = new_is.loc[
        (new_is["ASTDT"] > lookup(new_is["USUBJID"], subjects.set_index("USUBJID")["TRTSDT"])).to_numpy()
    ]
    first = new_is.groupby("USUBJID")["ASTDT"].min()
    columns["ISNEW"] = (lookup(visits["USUBJID"], first) <= visits["ADT"]).fillna(False).astype(bool)
    for name in ("GCDOSE", "GCCHG"):
        columns[name] = columns[name].astype(float)
    return pd.concat([visits, columns], axis=1)


def _status_from_adgc(adgc: pd.DataFrame) -> pd.DataFrame:
    """GCDOSE (AVAL), GCCHG (CHG) and the flags (AVALC "Y" → True) of the observed ADGC records, indexed
    by USUBJID and AVISITN."""
    observed = adgc.loc[adgc["DTYPE"].isna() & adgc["AVISITN"].notna()]
    wide = observed.pivot(index=["USUBJID", "AVISITN"], columns="PARAMCD", values=["AVAL", "AVALC", "CHG"])
    status = pd.DataFrame(index=wide.index)
    status["GCDOSE"] = wide[("AVAL", "GCDOSE")].astype(float)
    status["GCCHG"] = wide[("CHG", "GCDOSE")].astype(float)
    for paramcd in _ADGC_FLAGS:
        status[paramcd] = wide[("AVALC", paramcd)].map({"Y": True, "N": False})
    return status


def _status_from_series(rows: pd.DataFrame, series: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The ADGC definitions at an unscheduled assessment (no ADGC visit): the ``gc_free_window_days``
    days ending on ADT of the daily series, clipped to the series as ADGC does; GCCHG against the window
    ending on LDSTDT (TRTSDT without LD). The series holds one row per subject and day, in date order."""
    t = study.thresholds
    first = series.groupby("USUBJID", sort=False)["ADT"].agg(["min", "size"])
    offset = pd.Series(np.concatenate([[0], np.cumsum(first["size"].to_numpy())[:-1]]), index=first.index)
    dose = series["PREDEQ"].to_numpy(dtype=float)
    prefix = {
        "dose": np.concatenate([[0.0], np.cumsum(np.nan_to_num(dose))]),
        "unknown": np.concatenate([[0.0], np.cumsum(np.isnan(dose))]),
        "gc": np.concatenate([[0.0], np.cumsum(series["GCN"].to_numpy() > 0)]),
        "is": np.concatenate([[0.0], np.cumsum(series["ISN"].to_numpy() > 0)]),
    }
    start = lookup(rows["USUBJID"], offset).to_numpy(dtype=float)
    size = lookup(rows["USUBJID"], first["size"]).to_numpy(dtype=float)
    known = ~np.isnan(start)

    def window(end: pd.Series) -> dict[str, np.ndarray]:
        day = ((end - lookup(rows["USUBJID"], first["min"])) / _DAY).to_numpy(dtype=float)
        last = np.clip(np.nan_to_num(day), 0, np.nan_to_num(size) - 1)
        a = (np.nan_to_num(start) + np.maximum(last - (t.gc_free_window_days - 1), 0)).astype("int64")
        b = (np.nan_to_num(start) + last).astype("int64")
        sums = {name: values[b + 1] - values[a] for name, values in prefix.items()}
        mean = np.where(sums["unknown"] > 0, np.nan, np.round(sums["dose"] / (b - a + 1), 4))
        return {**sums, "mean": np.where(known, mean, np.nan)}

    now = window(rows["ADT"])
    base = window(rows["LDSTDT"].fillna(rows["TRTSDT"]))
    out = pd.DataFrame(index=rows.index)
    out["GCDOSE"] = now["mean"]
    out["GCCHG"] = now["mean"] - base["mean"]
    out["GCFREE"] = np.where(known, now["gc"] == 0, None)
    out["GCLOW"] = np.where(np.isnan(now["mean"]), None, now["mean"] <= t.gc_low_dose_mg)
    out["GCLOW5"] = np.where(np.isnan(now["mean"]), None, now["mean"] <= t.gc_doris_dose_mg)
    out["ISFREE"] = np.where(known, now["is"] == 0, None)
    return out


def create_rescue_events(
    sdtm: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    study: Study,
    criteria: RemissionCriteria,
    series: pd.DataFrame,
) -> pd.DataFrame:
    """All rescue-therapy starts after TRTSDT and on or before DCUTDT (module docstring), one row each:
    USUBJID, ADT, SRCDOM, SRCVAR, SRCSEQ, ``RESCUE`` (NEW IMMUNOSUPPRESSANT, GLUCOCORTICOID INCREASE,
    IVIG OR PLASMA EXCHANGE, RE-INFUSION). ``series``: the ADGC daily exposure series."""
    config = load_gc_config(study)
    subjects = derive_vars_followup(adsl, study, config)
    records = derive_vars_cm_exposure(sdtm["CM"], subjects, config).merge(
        subjects[["USUBJID", "TRTSDT"]], on="USUBJID"
    )
    after = records.loc[records["ASTDT"] > records["TRTSDT"]]
    new_is = after.loc[after["_KIND"] == "IS"].assign(RESCUE="NEW IMMUNOSUPPRESSANT")
    cm = derive_vars_dt(sdtm["CM"], "AST", "CMSTDTC").merge(subjects[["USUBJID", "TRTSDT"]], on="USUBJID")
    exchange = cm.loc[
        cm["CMCAT"].isin(criteria.rescue_cmcat)
        & cm["CMINDC"].isin(criteria.rescue_cmindc)
        & (cm["ASTDT"] > cm["TRTSDT"])
    ].assign(RESCUE="IVIG OR PLASMA EXCHANGE")

    daily = series.set_index(["USUBJID", "ADT"])["PREDEQ"]
    gc = after.loc[after["_KIND"] == "GC"].copy()
    before = pd.MultiIndex.from_arrays([gc["USUBJID"], gc["ASTDT"] - _DAY])
    on_start = pd.MultiIndex.from_arrays([gc["USUBJID"], gc["ASTDT"]])
    rise = daily.reindex(on_start).to_numpy() - daily.reindex(before).fillna(0.0).to_numpy()
    days = ((gc["AENDT"] - gc["ASTDT"]) / _DAY).to_numpy() + 1
    escalation = gc.loc[(rise > criteria.rescue_gc_rise_mg) & (days >= criteria.rescue_gc_min_days)]
    escalation = escalation.assign(RESCUE="GLUCOCORTICOID INCREASE")
    cm_events = pd.concat([new_is, escalation, exchange], ignore_index=True)
    cm_events = pd.DataFrame(
        {
            "USUBJID": cm_events["USUBJID"].to_numpy(),
            "ADT": cm_events["ASTDT"].to_numpy(),
            "SRCDOM": "CM",
            "SRCVAR": "CMSTDTC",
            "SRCSEQ": cm_events["CMSEQ"].astype(float).to_numpy(),
            "RESCUE": cm_events["RESCUE"].to_numpy(),
        }
    )
    ex = sdtm["EX"]
    car = derive_vars_dt(ex.loc[ex["EXTRT"] == CAR_T, ["USUBJID", "EXSEQ", "EXSTDTC"]], "A", "EXSTDTC")
    car = car.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID")
    car = car.loc[car["ADT"] > car["TRTSDT"]]
    reinfusion = pd.DataFrame(
        {
            "USUBJID": car["USUBJID"].to_numpy(),
            "ADT": car["ADT"].to_numpy(),
            "SRCDOM": "EX",
            "SRCVAR": "EXSTDTC",
            "SRCSEQ": car["EXSEQ"].astype(float).to_numpy(),
            "RESCUE": "RE-INFUSION",
        }
    )
    events = pd.concat([cm_events, reinfusion], ignore_index=True)
    events["ADT"] = pd.to_datetime(events["ADT"]).astype("datetime64[us]")
    cut = lookup(events["USUBJID"], adsl.set_index("USUBJID")["DCUTDT"])
    events = events.loc[(cut.isna() | (events["ADT"] <= cut)).to_numpy(dtype=bool)]
    return events.sort_values(["USUBJID", "ADT", "SRCSEQ"], kind="mergesort").reset_index(drop=True)
