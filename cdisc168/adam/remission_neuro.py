"""NMOSD and relapsing-remitting MS visit-level criteria (STUDY.md §3.5; sources in remission_criteria).

Subject-level event dates put beside every visit (all after TRTSDT, on or before the data cut):

- CEFSTDT: the first adjudicated disease relapse/attack (CE; :func:`create_disease_events`);
- MRIDT: the first MRI with activity, i.e. a new or enlarging T2 or a Gd-enhancing lesion (NV
  NEWT2LES, ENLT2LES, GDLES > 0; the counts are already relative to the previous scan);
- CDPDT: the onset of the first confirmed disability progression: an EDSS rise from baseline of at
  least ``cdp_edss_worsening`` (1.5 from 0, 1.0 up to 5.5, 0.5 above), present at every analysis visit
  from the onset to one at least ``cdp_confirmation_days`` days later (CDP12).

=========  ==========================================================================================
PARAMCD    "Y" when
=========  ==========================================================================================
NMOREM     (NMOSD) no adjudicated attack since the infusion (CEFSTDT after ADT or none), EDSS ≤
           baseline + ``nmorem_edss_rise_max``, and, when ``nmorem_requires_is_free``, no IS/biologic
           in the look-back window (ADGC ISFREE) (ASSUMPTION)
NEDA3      (RRMS) no relapse, no MRI activity and no confirmed disability progression since the
           infusion up to the visit (NEDA-3; MRI status = every scan up to the visit)
=========  ==========================================================================================

Activity worsening: NMOSD, an EDSS rise from the reference of ``nmosd_edss_worsening`` (2.0 from 0,
1.0 up to 5.0, 0.5 above) or a confirmed progression; RRMS, after remission any loss of NEDA-3 by MRI
activity or progression, before it a confirmed progression. Attacks and relapses come from CE.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cdisc168.adam.derive import derive_vars_dt
from cdisc168.adam.remission_criteria import RemissionCriteria
from cdisc168.adam.remission_visits import VisitCriterion, lookup
from cdisc168.study import Study

NMOSD_INDICATIONS = ("NMOSD",)
RRMS_INDICATIONS = ("RRMS",)
MRI_ACTIVITY = ("NEWT2LES", "ENLT2LES", "GDLES")


def create_disease_events(
    sdtm: Mapping[str, pd.DataFrame], adsl: pd.DataFrame, criteria: RemissionCriteria
) -> pd.DataFrame:
    """Adjudicated disease relapses/attacks/flares (STUDY.md §2.10): CE records of CECAT
    ``relapse_cecat`` with SUPPCE CEADJ = "Y" and not at fever or infection (SUPPCE CEFEVINF ≠ "Y",
    a pseudo-relapse), starting after TRTSDT and on or before DCUTDT. One row each: USUBJID, ADT,
    SRCDOM "CE", SRCVAR "CESTDTC", SRCSEQ (CESEQ)."""
    ce = sdtm.get("CE")
    columns = ["USUBJID", "ADT", "SRCDOM", "SRCVAR", "SRCSEQ"]
    if ce is None or ce.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c == "ADT" else object) for c in columns})
    supp = sdtm.get("SUPPCE", pd.DataFrame(columns=["USUBJID", "IDVARVAL", "QNAM", "QVAL"]))
    qual = supp.loc[supp["QNAM"].isin(["CEADJ", "CEFEVINF"])].pivot_table(
        index=["USUBJID", "IDVARVAL"], columns="QNAM", values="QVAL", aggfunc="first"
    )
    events = ce.loc[ce["CECAT"] == criteria.relapse_cecat, ["USUBJID", "CESEQ", "CESTDTC"]].copy()
    key = pd.MultiIndex.from_arrays([events["USUBJID"], events["CESEQ"].astype(int).astype(str)])
    qual = qual.reindex(columns=["CEADJ", "CEFEVINF"])
    events["CEADJ"] = qual["CEADJ"].reindex(key).to_numpy()
    events["CEFEVINF"] = qual["CEFEVINF"].reindex(key).to_numpy()
    events = derive_vars_dt(events, "A", "CESTDTC").merge(adsl[["USUBJID", "TRTSDT", "DCUTDT"]], on="USUBJID")
    keep = (
        (events["CEADJ"] == "Y")
        & (events["CEFEVINF"] != "Y")
        & (events["ADT"] > events["TRTSDT"])
        & (events["DCUTDT"].isna() | (events["ADT"] <= events["DCUTDT"]))
    )
    events = events.loc[keep]
    return pd.DataFrame(
        {
            "USUBJID": events["USUBJID"].to_numpy(),
            "ADT": events["ADT"].astype("datetime64[us]").to_numpy(),
            "SRCDOM": "CE",
            "SRCVAR": "CESTDTC",
            "SRCSEQ": events["CESEQ"].astype(float).to_numpy(),
        }
    )


def _rise(baseline: pd.Series, table: tuple[tuple[float, float], ...]) -> np.ndarray:
    """The EDSS rise that counts as worsening for each baseline (first row whose bound ≥ baseline)."""
    values = baseline.to_numpy(dtype=float)
    return np.select([values <= bound for bound, _ in table], [rise for _, rise in table], default=np.nan)


def derive_var_cdpdt(long: pd.DataFrame, criteria: RemissionCriteria) -> pd.Series:
    """Onset date of the first confirmed disability progression per subject (module docstring)."""
    edss = long.loc[(long["MEASURE"] == "EDSS0101") & (long["ANL01FL"] == "Y")]
    baseline = edss.loc[edss["ABLFL"] == "Y"].set_index("USUBJID")["VALN"]
    post = edss.loc[edss["ADY"] >= 1, ["USUBJID", "ADT", "VALN"]].sort_values(
        ["USUBJID", "ADT"], kind="mergesort"
    )
    base = lookup(post["USUBJID"], baseline)
    worse = (post["VALN"] - base) >= _rise(base, criteria.cdp_edss_worsening)
    run = (~worse).groupby(post["USUBJID"], sort=False).cumsum()
    spells = (
        post.loc[worse]
        .assign(_RUN=run[worse])
        .groupby(["USUBJID", "_RUN"], sort=False)["ADT"]
        .agg(["min", "max"])
    )
    confirmed = spells.loc[
        (spells["max"] - spells["min"]) >= pd.Timedelta(days=criteria.cdp_confirmation_days)
    ]
    return confirmed.groupby(level="USUBJID")["min"].min()


def derive_vars_neuro_events(
    visits: pd.DataFrame, long: pd.DataFrame, events: pd.DataFrame, criteria: RemissionCriteria
) -> pd.DataFrame:
    """Add CEFSTDT, MRIDT and CDPDT (module docstring) to every row of the visit frame."""
    out = visits.copy()
    out["CEFSTDT"] = lookup(out["USUBJID"], events.groupby("USUBJID")["ADT"].min())
    mri = long.loc[long["MEASURE"].isin(MRI_ACTIVITY) & (long["ADY"] >= 1) & (long["VALN"] > 0)]
    out["MRIDT"] = lookup(out["USUBJID"], mri.groupby("USUBJID")["ADT"].min())
    out["CDPDT"] = lookup(out["USUBJID"], derive_var_cdpdt(long, criteria))
    for column in ("CEFSTDT", "MRIDT", "CDPDT"):
        out[column] = out[column].astype("datetime64[us]")
    return out


def _before(event: pd.Series, date: pd.Series) -> pd.Series:
    """The event happened on or before the date."""
    return (event <= date).fillna(False).astype(bool)


def neuro_criteria(visits: pd.DataFrame, criteria: RemissionCriteria, study: Study) -> list[VisitCriterion]:
    """NMOREM and NEDA3 on the visit frame (module docstring)."""
    nmo = visits["INDICAT"].isin(NMOSD_INDICATIONS)
    ms = visits["INDICAT"].isin(RRMS_INDICATIONS)
    edss, date = visits["EDSS0101"], visits["ADT"]
    attack = _before(visits["CEFSTDT"], date)
    stable = edss <= visits["B_EDSS0101"] + criteria.nmorem_edss_rise_max
    evaluable = nmo & edss.notna() & visits["B_EDSS0101"].notna()
    is_free = visits["ISFREE"].astype("boolean")
    if criteria.nmorem_requires_is_free:
        evaluable &= is_free.notna()
        nmorem = ~attack & stable & is_free.fillna(False).astype(bool)
    else:
        nmorem = ~attack & stable
    neda = ~attack & ~_before(visits["MRIDT"], date) & ~_before(visits["CDPDT"], date)
    return [
        VisitCriterion("NMOREM", "EDSS0101", evaluable, met=nmorem),
        VisitCriterion("NEDA3", "EDSS0101", ms & edss.notna(), met=neda),
    ]


def neuro_worsening(visits: pd.DataFrame, reference: str, criteria: RemissionCriteria) -> pd.Series:
    """NMOSD/RRMS activity worsening against ``{reference}EDSS0101`` (module docstring); "R_" looks
    at events after the first remission (REMDT), "B_" at progression only."""
    nmo = visits["INDICAT"].isin(NMOSD_INDICATIONS)
    ms = visits["INDICAT"].isin(RRMS_INDICATIONS)
    date = visits["ADT"]
    progression = _before(visits["CDPDT"], date)
    if reference == "B_":
        return (nmo | ms) & progression
    base = visits[f"{reference}EDSS0101"]
    edss_worse = (visits["EDSS0101"] - base) >= _rise(base, criteria.nmosd_edss_worsening)
    after = visits["REMDT"]
    mri = _before(visits["MRIDT"], date) & (visits["MRIDT"] > after).fillna(False)
    recent_progression = progression & (visits["CDPDT"] > after).fillna(False)
    return (nmo & (edss_worse | recent_progression)) | (ms & (mri | recent_progression))
