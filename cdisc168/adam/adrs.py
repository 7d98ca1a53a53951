"""ADRS: disease response and remission (BDS; ADaMIG 1.3 §3.3; STUDY.md §3.5 and its Decisions).

One record per subject × parameter × analysis visit for the disease scores and the visit-level
criteria, plus subject-level "best/any" parameters. Built from RS, QS, LB, NV, CE, CM and EX with ADSL
and ADGC (DESIGN.md: ADRS uses ADGC); the template below reads top to bottom, one derivation per step.
The criteria live in one module per indication (``remission_sle``, ``remission_mg``,
``remission_neuro``, ``remission_imnm``); their cut-offs in :class:`RemissionCriteria`.

Parameters (treated subjects, ADSL SAFFL = "Y"):

- Scores with BASETYPE "PRE-LYMPHODEPLETION", ABLFL, BASE, CHG: SLEDAI, CSLEDAI, MGADL, QMG, EDSS, MMT8
  (every record; ANL01FL marks the one per analysis visit and the baseline).
- Visit-level criteria, AVALC "Y"/"N" (AVAL 1/0): DORISREM, DORISOFF, LLDAS, SRI4, LNCR, LNPR, IMNMREM,
  NMOREM, NEDA3, MSE, MGADLR, QMGR, MGREM; TIS (AVAL score, AVALCAT1 category); REMIS = the
  indication's parameter of study.yaml ``remission_map``.
- Subject-level: REM6M (REMIS at the month-6 window, NRI), REMANY, RELAPSE, PROG, RESCUE, BESTRESP.

==========  =================================================================================================
PARAMCD     subject-level derivation
==========  =================================================================================================
REM6M       REMIS at the assessment in study ``analysis_windows.month6`` (ADY) closest to the window's middle,
            ties to the later; none → "N" with DTYPE "WC" (non-responder imputation, STUDY.md §3.5)
REMANY      "Y" if REMIS = "Y" at an assessment up to the end of the MONTH 24 window (ADT = the first);
            else "N" (ADT = the last assessment; no assessment: DTYPE "WC", ADT null)
RELAPSE     (REMANY = "Y") earliest after the first remission of: an assessment failing REMIS with disease
            activity worsening against the first-remission values (indication rules, module docstrings);
            an adjudicated CE relapse/attack/flare; rescue therapy. Else "N" at the last assessment
PROG        earliest of: activity worsening against baseline before the first remission (never-remitters'
            protocol progression, STUDY.md §3.7 PFS), the relapse assessments above, an adjudicated CE
            event after the infusion. Rescue therapy is not progression (PFS censors at it)
RESCUE      first rescue therapy after the infusion (new IS/biologic for the disease, sustained GC increase,
            re-infusion; :mod:`cdisc168.adam.remission_therapy`); "N" with ADT null if none
BESTRESP    best category over the study: 1 REMISSION (REMIS "Y"), 2 LOW DISEASE ACTIVITY, 3 RESPONSE
            (``RemissionCriteria.best_response`` per indication), 4 NO RESPONSE (assessed), 5 NOT EVALUABLE;
            AVAL = the rank, ADT = the first date the category was reached (else the last assessment)
==========  =================================================================================================

Traceability: score and criterion records carry SRCDOM/SRCVAR/SRCSEQ of the instrument record that
dates them (SLEDAI-2K total, UPCR, MMT-8, EDSS, MG-ADL, QMG); subject-level records those of the
record that decided them (ADRS-internal REMIS records are traced to their instrument record too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.adam.adgc import create_gc_exposure_series
from cdisc168.adam.derive import derive_vars_chg, derive_vars_dy, derive_vars_merged
from cdisc168.adam.remission_criteria import RemissionCriteria
from cdisc168.adam.remission_imnm import imnm_criteria, imnm_worsening
from cdisc168.adam.remission_mg import mg_criteria, mg_worsening
from cdisc168.adam.remission_neuro import (
    create_disease_events,
    derive_vars_neuro_events,
    neuro_criteria,
    neuro_worsening,
)
from cdisc168.adam.remission_sle import sle_criteria, sle_worsening
from cdisc168.adam.remission_therapy import create_rescue_events, derive_vars_therapy_status
from cdisc168.adam.remission_visits import (
    BASETYPE,
    CSLEDAI,
    MEASURE_NAMES,
    VisitCriterion,
    collect_measures,
    create_visit_frame,
    derive_var_ablfl,
    derive_var_anl01fl,
    derive_vars_avisit,
    lookup,
)
from cdisc168.adam_spec import AdamSpec, conform, load_adam_spec
from cdisc168.study import Study

DTYPE_NRI = "WC"  # DTYPE C81203 worst case: non-responder imputation
ADSL_VARS = {
    "SUBJID": "SUBJID",
    "SITEID": "SITEID",
    "INDICAT": "INDICAT",
    "TRTA": "TRT01A",
    "TRTSDT": "TRTSDT",
    "SAFFL": "SAFFL",
    "EFFFL": "EFFFL",
}
#: Score parameters: PARAMCD → measure of the visit frame.
SCORES = {
    "SLEDAI": "SLED0125",
    "CSLEDAI": CSLEDAI,
    "MGADL": "MGADL09",
    "QMG": "QMG14",
    "EDSS": "EDSS0101",
    "MMT8": "MMT8TOT",
}
CRITERIA: tuple[Callable[..., list[VisitCriterion]], ...] = (
    sle_criteria,
    mg_criteria,
    neuro_criteria,
    imnm_criteria,
)
WORSENING: tuple[Callable[[pd.DataFrame, str, RemissionCriteria], pd.Series], ...] = (
    sle_worsening,
    mg_worsening,
    neuro_worsening,
    imnm_worsening,
)
BEST_RANK = {
    "REMISSION": 1.0,
    "LOW DISEASE ACTIVITY": 2.0,
    "RESPONSE": 3.0,
    "NO RESPONSE": 4.0,
    "NOT EVALUABLE": 5.0,
}
_TRACE = ["SRCDOM", "SRCVAR", "SRCSEQ"]


@dataclass(frozen=True)
class Parameter:
    paramcd: str
    param: str
    parcat1: str


def parameters(study: Study, criteria: RemissionCriteria) -> tuple[Parameter, ...]:
    """PARAMCD, PARAM and PARCAT1 in display order (PARAMN = position); texts carry the thresholds."""
    t, c = study.thresholds, criteria
    low, high = study.analysis_windows["month6"]
    return (
        Parameter("SLEDAI", "SLEDAI-2K Total Score", "SLE/LN"),
        Parameter("CSLEDAI", "Clinical SLEDAI-2K Score (Excluding Serology)", "SLE/LN"),
        Parameter(
            "DORISREM",
            f"DORIS 2021 Remission on Therapy (Pred-Eq <= {t.gc_doris_dose_mg:g} mg/day)",
            "SLE/LN",
        ),
        Parameter("DORISOFF", "DORIS Remission off Therapy (No GC, No IS/Biologic)", "SLE/LN"),
        Parameter("LLDAS", "Lupus Low Disease Activity State", "SLE/LN"),
        Parameter("SRI4", "SLE Responder Index 4", "SLE/LN"),
        Parameter("LNCR", "KDIGO 2024 LN Complete Renal Response", "LN"),
        Parameter("LNPR", "KDIGO 2024 LN Partial Renal Response", "LN"),
        Parameter("MMT8", "MMT-8 Total Score", "IMNM"),
        Parameter("TIS", "IMACS Total Improvement Score (2016 ACR/EULAR)", "IMNM"),
        Parameter(
            "IMNMREM",
            f"IMNM Remission (TIS >= {c.imnm_tis_min:g}, CK <= ULN, MMT-8 >= {c.imnm_mmt8_min:g})",
            "IMNM",
        ),
        Parameter("EDSS", "EDSS Score", "NMOSD/RRMS"),
        Parameter("NMOREM", "NMOSD Remission", "NMOSD"),
        Parameter("NEDA3", "No Evidence of Disease Activity (NEDA-3)", "RRMS"),
        Parameter("MGADL", "MG-ADL Total Score", "MG"),
        Parameter("QMG", "QMG Total Score", "MG"),
        Parameter("MSE", f"MG Minimal Symptom Expression (MG-ADL <= {c.mse_mgadl_max:g})", "MG"),
        Parameter("MGADLR", f"MG-ADL Decrease >= {c.mgadl_response_drop:g} Points from Baseline", "MG"),
        Parameter("QMGR", f"QMG Decrease >= {c.qmg_response_drop:g} Points from Baseline", "MG"),
        Parameter("MGREM", "MG Remission (MGFA-PIS CSR/PR or MSE without IS)", "MG"),
        Parameter("REMIS", "Indication-Specific Remission", "ALL INDICATIONS"),
        Parameter("REM6M", f"Remission at Month 6 (Study Day {low}-{high}, NRI)", "ALL INDICATIONS"),
        Parameter("REMANY", "Remission at Any Assessment up to Month 24", "ALL INDICATIONS"),
        Parameter("RELAPSE", "Relapse After First Remission", "ALL INDICATIONS"),
        Parameter("PROG", "Disease Progression or Relapse", "ALL INDICATIONS"),
        Parameter("RESCUE", "Rescue Therapy for Disease Activity", "ALL INDICATIONS"),
        Parameter("BESTRESP", "Best Overall Response", "ALL INDICATIONS"),
    )


def build_adrs(
    sdtm: Mapping[str, pd.DataFrame],
    adam: Mapping[str, pd.DataFrame],
    study: Study,
    criteria: RemissionCriteria | None = None,
) -> pd.DataFrame:
    """ADRS (needs ``adam["ADSL"]``; uses ``adam["ADGC"]`` (built here if absent) and
    ``adam["ADLB"]`` for UPCR, eGFR and CK (SDTM LB if absent))."""
    criteria = criteria or RemissionCriteria()
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADRS.yaml")
    adsl = adam["ADSL"]
    treated = adsl.loc[adsl["SAFFL"].eq("Y").fillna(False).to_numpy(dtype=bool)]

    long = collect_measures(sdtm, treated, adam.get("ADLB"))
    long = derive_vars_avisit(long, study)
    long = derive_var_ablfl(long)
    long = derive_var_anl01fl(long)
    visits = create_visit_frame(long, criteria)
    exposure = create_gc_exposure_series(sdtm["CM"], treated, study)
    visits = derive_vars_therapy_status(visits, sdtm, adam, study, exposure)
    events = create_disease_events(sdtm, treated, criteria)
    visits = derive_vars_neuro_events(visits, long, events, criteria)

    scores = derive_param_scores(long)
    assessed = derive_param_visit_criteria(visits, [c for f in CRITERIA for c in f(visits, criteria, study)])
    remis = derive_param_remis(assessed, study)
    visits = derive_vars_remission_reference(visits, remis)
    rescue = create_rescue_events(sdtm, treated, study, criteria, exposure)
    relapse_visits = derive_var_relapse_assessment(visits, remis, criteria)
    subject_level = [
        derive_param_rem6m(remis, treated, study),
        derive_param_remany(remis, treated, study),
        derive_param_relapse(relapse_visits, events, rescue, remis, treated),
        derive_param_prog(visits, relapse_visits, events, remis, treated, criteria),
        derive_param_rescue(rescue, treated),
        derive_param_bestresp(assessed, remis, treated, criteria),
    ]
    adrs = pd.concat([scores, assessed, remis, *subject_level], ignore_index=True)
    adrs = derive_vars_merged(adrs.drop(columns="INDICAT", errors="ignore"), adsl, new_vars=ADSL_VARS)
    adrs = derive_vars_dy(adrs, "TRTSDT", ["ADT"])
    adrs = derive_vars_parameter(adrs, parameters(study, criteria))
    adrs = derive_var_aseq(adrs, spec)
    return conform(adrs, spec)


# --------------------------------------------------------------------------------------------------
# scores and visit-level criteria


def derive_param_scores(long: pd.DataFrame) -> pd.DataFrame:
    """SLEDAI, CSLEDAI, MGADL, QMG, EDSS, MMT8: every record with ABLFL, ANL01FL, BASETYPE, BASE and CHG
    (post-infusion records, ADY ≥ 1; ADaMIG 1.3 §3.3.4)."""
    measure_to_param = {measure: paramcd for paramcd, measure in SCORES.items()}
    rows = long.loc[long["MEASURE"].isin(list(measure_to_param))]
    out = pd.DataFrame(
        {
            "STUDYID": rows["STUDYID"].to_numpy(),
            "USUBJID": rows["USUBJID"].to_numpy(),
            "PARAMCD": rows["MEASURE"].map(measure_to_param).to_numpy(),
            "AVAL": rows["VALN"].to_numpy(dtype=float),
            "ADT": rows["ADT"].to_numpy(),
            "AVISIT": rows["AVISIT"].to_numpy(dtype=object),
            "AVISITN": rows["AVISITN"].to_numpy(dtype=float),
            "ABLFL": rows["ABLFL"].to_numpy(dtype=object),
            "ANL01FL": rows["ANL01FL"].to_numpy(dtype=object),
            "BASETYPE": BASETYPE,
            "_POST": (rows["ADY"] >= 1).to_numpy(),
            **{name: rows[name].to_numpy() for name in _TRACE},
        }
    )
    out = derive_vars_chg(out, by_vars=["USUBJID", "PARAMCD", "BASETYPE"], filter=out["_POST"])
    return out.drop(columns=["PCHG", "_POST"])


def derive_param_visit_criteria(visits: pd.DataFrame, results: list[VisitCriterion]) -> pd.DataFrame:
    """One record per criterion and evaluable visit row: AVALC "Y"/"N" and AVAL 1/0, or the score in
    AVAL with AVALCAT1; dated (ADT) and traced by the criterion's primary measure at the visit;
    ANL01FL "Y" at scheduled analysis visits (null at unscheduled assessments)."""
    pieces = []
    for result in results:
        rows = visits.loc[result.evaluable.fillna(False).to_numpy(dtype=bool)]
        piece = pd.DataFrame(
            {
                "STUDYID": rows["STUDYID"].to_numpy(),
                "USUBJID": rows["USUBJID"].to_numpy(),
                "INDICAT": rows["INDICAT"].to_numpy(),
                "PARAMCD": result.paramcd,
                "ADT": rows[f"{result.primary}_DT"].to_numpy(),
                "AVISIT": rows["AVISIT"].to_numpy(dtype=object),
                "AVISITN": rows["AVISITN"].to_numpy(dtype=float),
                "_VKEY": rows["_VKEY"].to_numpy(dtype=float),
                "SRCDOM": rows[f"{result.primary}_DOM"].to_numpy(dtype=object),
                "SRCVAR": rows[f"{result.primary}_VAR"].to_numpy(dtype=object),
                "SRCSEQ": rows[f"{result.primary}_SEQ"].to_numpy(dtype=float),
                "ANL01FL": np.where(rows["AVISITN"].notna(), "Y", None),
            }
        )
        if result.met is not None:
            met = result.met.loc[rows.index].fillna(False).to_numpy(dtype=bool)
            piece["AVALC"] = np.where(met, "Y", "N")
            piece["AVAL"] = met.astype(float)
        else:
            piece["AVAL"] = result.value.loc[rows.index].to_numpy(dtype=float)  # type: ignore[union-attr]
            if result.category is not None:
                piece["AVALCAT1"] = result.category.loc[rows.index].to_numpy(dtype=object)
        pieces.append(piece)
    return pd.concat(pieces, ignore_index=True)


def derive_param_remis(assessed: pd.DataFrame, study: Study) -> pd.DataFrame:
    """REMIS: a copy of each visit record of the subject's indication parameter (study.yaml
    ``remission_map``), PARAMCD "REMIS", same ADT, AVISIT and source."""
    chosen = assessed["PARAMCD"] == assessed["INDICAT"].map(study.remission_map)
    return assessed.loc[chosen & assessed["AVALC"].notna()].assign(PARAMCD="REMIS").reset_index(drop=True)


def derive_vars_remission_reference(visits: pd.DataFrame, remis: pd.DataFrame) -> pd.DataFrame:
    """REMDT (first REMIS = "Y" date) and ``R_<measure>``, the values at that first remission visit,
    on every visit row of the subject; REMIS (AVALC at the visit) beside them."""
    out = visits.merge(
        remis[["USUBJID", "_VKEY", "AVALC"]].rename(columns={"AVALC": "REMIS"}),
        on=["USUBJID", "_VKEY"],
        how="left",
    )
    first = (
        remis.loc[remis["AVALC"] == "Y"]
        .sort_values(["USUBJID", "ADT"], kind="mergesort")
        .drop_duplicates("USUBJID")
    )
    reference = out.merge(first[["USUBJID", "_VKEY"]], on=["USUBJID", "_VKEY"], how="inner")
    reference = reference.set_index("USUBJID")[list(MEASURE_NAMES)].add_prefix("R_")
    out = out.merge(reference, left_on="USUBJID", right_index=True, how="left")
    out["REMDT"] = lookup(out["USUBJID"], first.set_index("USUBJID")["ADT"]).astype("datetime64[us]")
    return out


def _worsening(visits: pd.DataFrame, reference: str, criteria: RemissionCriteria) -> pd.Series:
    worse = pd.Series(False, index=visits.index)
    for rule in WORSENING:
        worse |= rule(visits, reference, criteria).fillna(False).astype(bool)
    return worse


def derive_var_relapse_assessment(
    visits: pd.DataFrame, remis: pd.DataFrame, criteria: RemissionCriteria
) -> pd.DataFrame:
    """The assessments after the first remission that fail REMIS with activity worsening against the
    first-remission values (not for a missing value): USUBJID, ADT, SRCDOM/SRCVAR/SRCSEQ of REMIS."""
    failing = (visits["ADT"] > visits["REMDT"]) & (visits["REMIS"] == "N")
    worse = visits.loc[
        (failing & _worsening(visits, "R_", criteria)).to_numpy(dtype=bool), ["USUBJID", "_VKEY"]
    ]
    return remis.merge(worse, on=["USUBJID", "_VKEY"])[["USUBJID", "ADT", *_TRACE]]


# --------------------------------------------------------------------------------------------------
# subject-level parameters


def _subject_records(subjects: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": subjects["STUDYID"].to_numpy(),
            "USUBJID": subjects["USUBJID"].to_numpy(),
            "PARAMCD": paramcd,
        }
    )


def _with_trace(records: pd.DataFrame, chosen: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Add ``columns`` of the chosen record per subject (left join on USUBJID)."""
    return records.merge(chosen.drop_duplicates("USUBJID")[["USUBJID", *columns]], on="USUBJID", how="left")


def _yes_no(flag: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = flag.fillna(False).to_numpy(dtype=bool)
    return np.where(values, "Y", "N"), values.astype(float)


def _last_assessment(remis: pd.DataFrame) -> pd.DataFrame:
    return remis.sort_values(["USUBJID", "ADT", "SRCSEQ"], kind="mergesort").drop_duplicates(
        "USUBJID", keep="last"
    )


def derive_param_rem6m(remis: pd.DataFrame, subjects: pd.DataFrame, study: Study) -> pd.DataFrame:
    """REM6M (module docstring): the REMIS record with ADY in the month-6 window closest to its middle."""
    low, high = study.analysis_windows["month6"]
    target = (low + high) / 2.0
    ady = (remis["ADT"] - lookup(remis["USUBJID"], subjects.set_index("USUBJID")["TRTSDT"])) / pd.Timedelta(
        days=1
    ) + 1
    window = remis.loc[(ady >= low) & (ady <= high)].assign(_DIFF=np.abs(ady - target), _ADY=ady)
    chosen = window.sort_values(["USUBJID", "_DIFF", "_ADY"], ascending=[True, True, False], kind="mergesort")
    out = _with_trace(
        _subject_records(subjects, "REM6M"), chosen, ["ADT", "AVALC", "AVISIT", "AVISITN", *_TRACE]
    )
    month6 = next(v for v in study.visits if v.day >= 0 and v.window[0] + 1 <= target <= v.window[1] + 1)
    missing = out["AVALC"].isna()
    out["AVALC"] = out["AVALC"].fillna("N")
    out["AVAL"] = (out["AVALC"] == "Y").astype(float)
    out["AVISIT"] = out["AVISIT"].fillna(month6.visit)
    out["AVISITN"] = out["AVISITN"].fillna(month6.visitnum)
    out["DTYPE"] = np.where(missing, DTYPE_NRI, None)
    return out


def derive_param_remany(remis: pd.DataFrame, subjects: pd.DataFrame, study: Study) -> pd.DataFrame:
    """REMANY (module docstring); the main study ends with the last scheduled visit window (MONTH 24,
    study day = protocol day + 1)."""
    last_day = max(v.window[1] for v in study.visits) + 1
    trtsdt = lookup(remis["USUBJID"], subjects.set_index("USUBJID")["TRTSDT"])
    main = remis.loc[((remis["ADT"] - trtsdt) / pd.Timedelta(days=1) + 1) <= last_day]
    first = main.loc[main["AVALC"] == "Y"].sort_values(["USUBJID", "ADT"], kind="mergesort")
    chosen = pd.concat([first.drop_duplicates("USUBJID"), _last_assessment(main)], ignore_index=True)
    out = _with_trace(_subject_records(subjects, "REMANY"), chosen, ["ADT", *_TRACE])
    out["AVALC"], out["AVAL"] = _yes_no(out["USUBJID"].isin(first["USUBJID"]))
    out["DTYPE"] = np.where(out["ADT"].isna(), DTYPE_NRI, None)
    return out


def _earliest(candidates: list[pd.DataFrame]) -> pd.DataFrame:
    """Per subject the earliest candidate event; on the same date the candidate listed first wins."""
    stacked = pd.concat(
        [c[["USUBJID", "ADT", *_TRACE]].assign(_ORDER=i) for i, c in enumerate(candidates)], ignore_index=True
    )
    stacked = stacked.sort_values(["USUBJID", "ADT", "_ORDER"], kind="mergesort")
    return stacked.drop_duplicates("USUBJID").drop(columns="_ORDER")


def _event_param(
    subjects: pd.DataFrame, paramcd: str, event: pd.DataFrame, remis: pd.DataFrame
) -> pd.DataFrame:
    """AVALC "Y" at the event; "N" at the last REMIS assessment (ADT null without one)."""
    has_event = subjects["USUBJID"].isin(event["USUBJID"])
    chosen = pd.concat([event, _last_assessment(remis)[["USUBJID", "ADT", *_TRACE]]], ignore_index=True)
    out = _with_trace(_subject_records(subjects, paramcd), chosen, ["ADT", *_TRACE])
    out["AVALC"], out["AVAL"] = _yes_no(pd.Series(has_event.to_numpy()))
    return out


def _after(frame: pd.DataFrame, dates: pd.Series) -> pd.DataFrame:
    """Rows dated after the subject's date in ``dates`` (indexed by USUBJID)."""
    return frame.loc[(frame["ADT"] > lookup(frame["USUBJID"], dates)).fillna(False).to_numpy(dtype=bool)]


def derive_param_relapse(
    relapse_visits: pd.DataFrame,
    events: pd.DataFrame,
    rescue: pd.DataFrame,
    remis: pd.DataFrame,
    subjects: pd.DataFrame,
) -> pd.DataFrame:
    """RELAPSE for subjects with a remission (module docstring)."""
    first = remis.loc[remis["AVALC"] == "Y"].groupby("USUBJID")["ADT"].min()
    responders = subjects.loc[subjects["USUBJID"].isin(first.index)]
    event = _earliest([_after(events, first), relapse_visits, _after(rescue, first)])
    return _event_param(responders, "RELAPSE", event, remis)


def derive_param_prog(
    visits: pd.DataFrame,
    relapse_visits: pd.DataFrame,
    events: pd.DataFrame,
    remis: pd.DataFrame,
    subjects: pd.DataFrame,
    criteria: RemissionCriteria,
) -> pd.DataFrame:
    """PROG (module docstring): worsening from baseline before the first remission, relapse
    assessments, adjudicated events."""
    before_remission = visits["REMDT"].isna() | (visits["ADT"] < visits["REMDT"])
    worse = visits.loc[(before_remission & _worsening(visits, "B_", criteria)).to_numpy(dtype=bool)]
    primary = worse["INDICAT"].map(criteria.primary_score)
    trace = {name: pd.Series(np.nan, index=worse.index, dtype=object) for name in ("_DOM", "_VAR", "_SEQ")}
    for measure in primary.unique():
        mine = primary == measure
        for suffix in trace:
            trace[suffix] = trace[suffix].where(~mine, worse[f"{measure}{suffix}"])
    progression = pd.DataFrame(
        {
            "USUBJID": worse["USUBJID"].to_numpy(),
            "ADT": worse["ADT"].to_numpy(),
            "SRCDOM": trace["_DOM"].to_numpy(),
            "SRCVAR": trace["_VAR"].to_numpy(),
            "SRCSEQ": trace["_SEQ"].astype(float).to_numpy(),
        }
    )
    event = _earliest([events, progression, relapse_visits])
    return _event_param(subjects, "PROG", event, remis)


def derive_param_rescue(rescue: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """RESCUE: the first rescue therapy (AVALC "Y", its start date and CM/EX record), else "N"."""
    out = _with_trace(_subject_records(subjects, "RESCUE"), rescue, ["ADT", *_TRACE])
    out["AVALC"], out["AVAL"] = _yes_no(out["ADT"].notna())
    return out


def derive_param_bestresp(
    assessed: pd.DataFrame, remis: pd.DataFrame, subjects: pd.DataFrame, criteria: RemissionCriteria
) -> pd.DataFrame:
    """BESTRESP (module docstring)."""
    reached = [remis.loc[remis["AVALC"] == "Y"].assign(_CAT="REMISSION")]
    for indication, levels in criteria.best_response.items():
        for category, codes in levels:
            rows = assessed.loc[(assessed["INDICAT"] == indication) & assessed["PARAMCD"].isin(codes)]
            tis = rows["PARAMCD"] == "TIS"
            yes = (rows["AVALC"] == "Y") | (tis & (rows["AVAL"] >= criteria.tis_minimal))
            reached.append(rows.loc[yes].assign(_CAT=category))
    reached.append(_last_assessment(remis).assign(_CAT="NO RESPONSE"))
    best = pd.concat(reached, ignore_index=True).assign(_RANK=lambda d: d["_CAT"].map(BEST_RANK))
    best = best.sort_values(["USUBJID", "_RANK", "ADT"], kind="mergesort").drop_duplicates("USUBJID")
    out = _with_trace(_subject_records(subjects, "BESTRESP"), best, ["ADT", "_CAT", *_TRACE])
    out["AVALC"] = out.pop("_CAT").fillna("NOT EVALUABLE")
    out["AVAL"] = out["AVALC"].map(BEST_RANK)
    return out


# --------------------------------------------------------------------------------------------------
# parameter metadata and sequence


def derive_vars_parameter(adrs: pd.DataFrame, params: tuple[Parameter, ...]) -> pd.DataFrame:
    """PARAM, PARAMN (display order) and PARCAT1 (the indication group) from PARAMCD."""
    table = pd.DataFrame(
        {
            "PARAMCD": [p.paramcd for p in params],
            "PARAM": [p.param for p in params],
            "PARAMN": np.arange(1, len(params) + 1, dtype=float),
            "PARCAT1": [p.parcat1 for p in params],
        }
    )
    unknown = sorted(set(adrs["PARAMCD"]) - set(table["PARAMCD"]))
    if unknown:
        raise ValueError(f"ADRS parameters without metadata: {unknown}")
    out = adrs.merge(table, on="PARAMCD", how="left")
    out.index = adrs.index
    return out


def derive_var_aseq(adrs: pd.DataFrame, spec: AdamSpec) -> pd.DataFrame:
    """ASEQ: 1, 2, … per subject in the order of the spec's keys (the order conform writes)."""
    keys = [k for k in spec.keys if k != "ASEQ"]
    out = adrs.sort_values(keys, kind="mergesort", na_position="first").reset_index(drop=True)
    out["ASEQ"] = (out.groupby("USUBJID", sort=False).cumcount() + 1).astype(float)
    for column in ("AVALC", "AVALCAT1", "ABLFL", "ANL01FL", "BASETYPE", "DTYPE", "AVISIT", *_TRACE[:2]):
        if column in out.columns:
            out[column] = out[column].where(out[column].notna(), None).astype("str")
    return out
