"""ADTTE: time-to-event analysis dataset (ADaMIG 1.3 BDS-TTE; STUDY.md §3.7 and its Decisions).

One record per treated subject (ADSL SAFFL = "Y") and parameter, built from ADSL, ADRS (DESIGN.md:
ADTTE uses ADRS) and ADLB with :func:`cdisc168.adam.derive.derive_param_tte`: STARTDT = TRTSDT
(DOREM: the first remission), AVAL = ADT − STARTDT + 1 days, CNSR 0 for events and one positive code
per censoring reason, EVNTDESC/CNSDTDSC, SRCDOM/SRCVAR/SRCSEQ (ADRS ASEQ, ADLB ASEQ or the ADSL date
variable), censoring at the data cut (ADSL DCUTDT) at the latest.

*Adequate disease assessment* = an ADRS REMIS record (every condition of the indication's remission
criterion known at an assessment). The disease-assessment schedule (:class:`TteOptions`) decides the
missed-assessment rule: the scheduled windows lying wholly between the last adequate assessment before
an event (day 1 without one) and the event count as missed.

========  ==========================================  ==========================================================
PARAMCD   event (CNSR 0)                              censoring (CNSR)
========  ==========================================  ==========================================================
TTR       first REMIS = "Y" before any PROG or death  1 last adequate assessment; 2 day 1, no post-baseline
                                                      assessment; 3 progression/relapse (ADRS PROG) or death
                                                      before remission, at that date
PFS       earliest of ADRS PROG = "Y" and death       1 last adequate assessment; 2 day 1, no baseline score or
                                                      no adequate assessment; 3 new anti-disease therapy (ADRS
                                                      RESCUE) before the event: last adequate assessment before
                                                      it; 4 event after ≥ ``missed_assessments`` consecutive
                                                      missed assessments: last adequate assessment before them
DOREM     (REMANY responders; STARTDT = first         as PFS, except that rescue therapy is a relapse (ADRS
          remission) ADRS RELAPSE = "Y" or death      RELAPSE, STUDY.md §3.5), so only a re-infusion (RESCUE
                                                      from EX) censors (3)
TTRELAP   (REMANY responders) ADRS RELAPSE = "Y"      as DOREM; a death without relapse is censored at the last
                                                      adequate assessment (1)
OS        death (ADSL DTHDT)                          1 last known alive date (ADSL LSTALVDT)
TTBCLR    first post-infusion CD19+ B-cell count      1 last post-infusion count; 2 day 1, no post-infusion
          below study ``bcell_clearance_per_ul``      count; 3 not evaluable: pre-lymphodepletion count missing
          (ADLB CD19CNT CRIT1FL = "Y")                or already below the threshold (STUDY.md §6.6), at day 1
                                                      with ANL01FL null (excluded from analysis)
========  ==========================================  ==========================================================

Events after the data cut are not known at the cut; a censoring date after it becomes the cut
(derive_param_tte ``data_cut_date_var``; EVNTDESC/CNSDTDSC "DATA CUT-OFF").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.adam.adlb import build_adlb
from cdisc168.adam.derive import CensorSource, EventSource, Var, derive_param_tte, derive_vars_merged
from cdisc168.adam.remission_visits import lookup
from cdisc168.adam_spec import conform, load_adam_spec
from cdisc168.study import Study

ADSL_VARS = {
    "SUBJID": "SUBJID",
    "SITEID": "SITEID",
    "INDICAT": "INDICAT",
    "TRTA": "TRT01A",
    "SAFFL": "SAFFL",
    "EFFFL": "EFFFL",
}
#: PARAMCD → (PARAM, PARAMN)
PARAMETERS = {
    "TTR": ("Time to First Remission (Days)", 1.0),
    "PFS": ("Progression-Free Survival (Days)", 2.0),
    "DOREM": ("Duration of Remission (Days)", 3.0),
    "TTRELAP": ("Time to Relapse Among Responders (Days)", 4.0),
    "OS": ("Overall Survival (Days)", 5.0),
    "TTBCLR": ("Time to CD19+ B-Cell Clearance (Days)", 6.0),
}
#: ADRS score that proves a baseline disease assessment, by indication (PFS "no baseline").
BASELINE_SCORE = {
    "SLE": "SLEDAI",
    "LN": "SLEDAI",
    "IMNM": "MMT8",
    "NMOSD": "EDSS",
    "RRMS": "EDSS",
    "MG": "MGADL",
}
BCELL_PARAMCD = "CD19CNT"  # ADLB clinical TBNK CD19+ B cells (LB BLYCE), STUDY.md Decisions
_TRACE_ADRS = {"SRCDOM": "ADRS", "SRCVAR": "ADT", "SRCSEQ": Var("ASEQ")}
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class TteOptions:
    """The disease-assessment schedule (study.yaml ``disease_assessment_visits``; their protocol
    windows) and the number of consecutive missed assessments before an event that censors it
    (FDA-style PFS, STUDY.md §3.7)."""

    assessment_visits: tuple[str, ...]
    missed_assessments: int = 2

    @classmethod
    def for_study(cls, study: Study) -> TteOptions:
        return cls(assessment_visits=study.disease_assessment_visits)


def build_adtte(
    sdtm: Mapping[str, pd.DataFrame],
    adam: Mapping[str, pd.DataFrame],
    study: Study,
    options: TteOptions | None = None,
) -> pd.DataFrame:
    """ADTTE (needs ``adam["ADSL"]`` and ``adam["ADRS"]``; uses ``adam["ADLB"]``, built here if absent)."""
    options = options or TteOptions.for_study(study)
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADTTE.yaml")
    adsl = adam["ADSL"]
    treated = adsl.loc[adsl["SAFFL"].eq("Y").fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)
    course = derive_vars_disease_course(treated, adam["ADRS"])
    assessments = create_assessments(adam["ADRS"], course)
    windows = assessment_windows(study, options)

    adtte = pd.concat(
        [
            derive_param_ttr(course, assessments, adam["ADRS"]),
            derive_param_pfs(course, assessments, adam["ADRS"], windows, options),
            derive_param_dorem(course, assessments, adam["ADRS"], windows, options),
            derive_param_ttrelap(course, assessments, adam["ADRS"], windows, options),
            derive_param_os(treated),
            derive_param_ttbclr(
                treated, adam["ADLB"] if "ADLB" in adam else build_adlb(sdtm, adam, study), study
            ),
        ],
        ignore_index=True,
    )
    adtte = derive_vars_merged(adtte, adsl, by_vars=["STUDYID", "USUBJID"], new_vars=ADSL_VARS)
    adtte["PARAM"] = adtte["PARAMCD"].map({k: v[0] for k, v in PARAMETERS.items()})
    adtte["PARAMN"] = adtte["PARAMCD"].map({k: v[1] for k, v in PARAMETERS.items()})
    adtte["ANL01FL"] = adtte["ANL01FL"].where(adtte["PARAMCD"] == "TTBCLR", "Y")
    for column in ("EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "ANL01FL"):
        adtte[column] = adtte[column].where(adtte[column].notna(), None).astype("str")
    return conform(adtte, spec)


# --------------------------------------------------------------------------------------------------
# the disease course of each subject (from ADRS)


def _first(adrs: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """Per subject the ADRS record of ``paramcd`` with AVALC "Y" (ADT, ASEQ)."""
    rows = adrs.loc[(adrs["PARAMCD"] == paramcd) & (adrs["AVALC"] == "Y") & adrs["ADT"].notna()]
    return rows.sort_values(["USUBJID", "ADT", "ASEQ"], kind="mergesort").drop_duplicates("USUBJID")


def derive_vars_disease_course(adsl: pd.DataFrame, adrs: pd.DataFrame) -> pd.DataFrame:
    """One row per treated subject: STUDYID, USUBJID, TRTSDT, DTHDT, LSTALVDT, DCUTDT, INDICAT and, from
    ADRS (on or before DCUTDT): REMDT (first REMIS "Y"), PROGDT (PROG "Y"), RELDT (RELAPSE "Y"), RESCDT
    (RESCUE "Y"), REINFDT (RESCUE "Y" from EX, a re-infusion), REMSEQ (ASEQ of the first remission
    record), BASEFL (a baseline score: ABLFL on the
    indication's score of :data:`BASELINE_SCORE`)."""
    columns = ["STUDYID", "USUBJID", "TRTSDT", "DTHDT", "LSTALVDT", "DCUTDT", "INDICAT"]
    course = adsl[columns].copy()
    cut = course.set_index("USUBJID")["DCUTDT"]
    known = adrs.loc[(adrs["ADT"] <= lookup(adrs["USUBJID"], cut)).fillna(False).to_numpy(dtype=bool)]
    dates = {"REMDT": "REMIS", "PROGDT": "PROG", "RELDT": "RELAPSE", "RESCDT": "RESCUE"}
    for name, paramcd in dates.items():
        course[name] = lookup(course["USUBJID"], _first(known, paramcd).set_index("USUBJID")["ADT"])
    course["REMSEQ"] = lookup(course["USUBJID"], _first(known, "REMIS").set_index("USUBJID")["ASEQ"])
    reinfusion = _first(known.loc[known["SRCDOM"] == "EX"], "RESCUE")
    course["REINFDT"] = lookup(course["USUBJID"], reinfusion.set_index("USUBJID")["ADT"])
    score = course["INDICAT"].map(BASELINE_SCORE)
    baseline = adrs.loc[adrs["ABLFL"] == "Y", ["USUBJID", "PARAMCD"]]
    course["BASEFL"] = pd.MultiIndex.from_arrays([course["USUBJID"], score]).isin(
        pd.MultiIndex.from_frame(baseline)
    )
    course["DTHDT"] = course["DTHDT"].where(course["DTHDT"] <= course["DCUTDT"])
    for name in ("TRTSDT", "DTHDT", "LSTALVDT", "DCUTDT", *dates, "REINFDT"):
        course[name] = course[name].astype("datetime64[us]")
    return course


def create_assessments(adrs: pd.DataFrame, course: pd.DataFrame) -> pd.DataFrame:
    """The adequate disease assessments: ADRS REMIS records on or before the data cut, with ASEQ, ADT,
    AVALC and the subject's course dates."""
    remis = adrs.loc[adrs["PARAMCD"] == "REMIS", ["STUDYID", "USUBJID", "ADT", "AVALC", "ASEQ"]]
    out = remis.merge(course.drop(columns=["STUDYID"]), on="USUBJID", how="inner")
    return out.loc[(out["ADT"] <= out["DCUTDT"]).fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)


def assessment_windows(study: Study, options: TteOptions) -> np.ndarray:
    """The scheduled disease-assessment windows in study days (ADY = protocol day + 1): rows [low, high]."""
    visits = [study.visit_by_name(name) for name in options.assessment_visits]
    return np.array([[v.window[0] + 1, v.window[1] + 1] for v in visits], dtype=float)


def compute_missed_assessments(last: pd.Series, event: pd.Series, windows: np.ndarray) -> pd.Series:
    """Number of assessment windows lying wholly after study day ``last`` and before study day ``event``
    (vector in, vector out; null when either day is missing)."""
    low, high = windows[:, 0], windows[:, 1]
    before = last.to_numpy(dtype=float)[:, None]
    after = event.to_numpy(dtype=float)[:, None]
    count = ((low[None, :] > before) & (high[None, :] < after)).sum(axis=1).astype(float)
    count[np.isnan(before[:, 0]) | np.isnan(after[:, 0])] = np.nan
    return pd.Series(count, index=last.index)


def _study_day(date: pd.Series, start: pd.Series) -> pd.Series:
    return (date - start) / _DAY + 1


def _last_before(assessments: pd.DataFrame, limit: pd.Series, inclusive: bool = False) -> pd.Series:
    """Per subject the last assessment date before (or on) the subject's ``limit`` (USUBJID index)."""
    bound = lookup(assessments["USUBJID"], limit)
    keep = (assessments["ADT"] <= bound) if inclusive else (assessments["ADT"] < bound)
    keep |= bound.isna()
    return assessments.loc[keep.to_numpy(dtype=bool)].groupby("USUBJID")["ADT"].max()


def derive_vars_censoring_rule(
    course: pd.DataFrame,
    assessments: pd.DataFrame,
    event: pd.Series,
    new_therapy: pd.Series,
    start: pd.Series,
    windows: np.ndarray,
    options: TteOptions,
) -> pd.DataFrame:
    """The PFS-type decision per subject (STUDY.md §3.7 table), as ``_RULE``:

    ================  ====================================================================  ======
    _RULE             condition (first that applies)                                        CNSR
    ================  ====================================================================  ======
    NOBASE            no baseline score (BASEFL false)                                      2
    NEWTHER           ``new_therapy`` before the event (or with no event)                   3
    GAP               event after ≥ ``missed_assessments`` missed scheduled assessments     4
    EVENT             ``event`` date present                                                0
    NONE              no event                                                              1 (2)
    ================  ====================================================================  ======

    ``_LIMIT`` is the date the censoring assessments must lie before (NEWTHER: the new therapy; GAP:
    the event). ``event``, ``new_therapy`` and ``start`` are Series aligned with ``course``.
    """
    out = course[["USUBJID"]].copy()
    out["_EVENTDT"] = event.to_numpy()
    ids = course["USUBJID"]
    last = lookup(ids, _last_before(assessments, pd.Series(event.to_numpy(), index=ids)))
    last = last.fillna(start)
    missed = compute_missed_assessments(
        _study_day(last, course["TRTSDT"]), _study_day(event, course["TRTSDT"]), windows
    )
    therapy_first = new_therapy.notna() & (event.isna() | (new_therapy < event))
    out["_RULE"] = np.select(
        [
            ~course["BASEFL"].to_numpy(dtype=bool),
            therapy_first.to_numpy(dtype=bool),
            (missed >= options.missed_assessments).to_numpy(dtype=bool),
            event.notna().to_numpy(dtype=bool),
        ],
        ["NOBASE", "NEWTHER", "GAP", "EVENT"],
        default="NONE",
    )
    limit = pd.Series(pd.NaT, index=course.index, dtype="datetime64[us]")
    limit = limit.where(out["_RULE"] != "NEWTHER", new_therapy).where(out["_RULE"] != "GAP", event)
    out["_LIMIT"] = limit.astype("datetime64[us]")
    return out


def _rule_column(frame: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(rules, on="USUBJID", how="left")


# --------------------------------------------------------------------------------------------------
# parameters


def _day_one(description: str) -> CensorSource:
    """Censoring at day 1 (TRTSDT) when nothing later applies."""
    return CensorSource(
        "adsl",
        "TRTSDT",
        censor=2,
        set_values_to={
            "EVNTDESC": description,
            "CNSDTDSC": "TREATMENT START (DAY 1)",
            "SRCDOM": "ADSL",
            "SRCVAR": "TRTSDT",
        },
    )


def create_competing_events(course: pd.DataFrame, adrs: pd.DataFrame) -> pd.DataFrame:
    """Per subject the earlier of ADRS PROG = "Y" and death when it comes before the first remission
    (or without one): STUDYID, USUBJID, ADT and the description and source of the censoring (TTR)."""
    progression = _first(adrs, "PROG").set_index("USUBJID")
    prog = lookup(course["USUBJID"], progression["ADT"]).astype("datetime64[us]")
    death = course["DTHDT"]
    use_death = death.notna() & (prog.isna() | (death < prog))
    date = prog.where(~use_death, death)
    keep = date.notna() & (course["REMDT"].isna() | (date < course["REMDT"]))
    out = pd.DataFrame(
        {
            "STUDYID": course["STUDYID"],
            "USUBJID": course["USUBJID"],
            "ADT": date,
            "_DESC": np.where(use_death, "DEATH BEFORE REMISSION", "PROGRESSION OR RELAPSE BEFORE REMISSION"),
            "_DTDESC": np.where(use_death, "DATE OF DEATH", "DATE OF PROGRESSION OR RELAPSE"),
            "_DOM": np.where(use_death, "ADSL", "ADRS"),
            "_VAR": np.where(use_death, "DTHDT", "ADT"),
            "_SEQ": np.where(
                use_death, np.nan, lookup(course["USUBJID"], progression["ASEQ"]).to_numpy(dtype=float)
            ),
        }
    )
    return out.loc[keep.to_numpy(dtype=bool)].reset_index(drop=True)


def derive_param_ttr(course: pd.DataFrame, assessments: pd.DataFrame, adrs: pd.DataFrame) -> pd.DataFrame:
    """TTR (module docstring): remission before the competing event, else censored (1, 2 or 3)."""
    competing = create_competing_events(course, adrs)
    cut = lookup(assessments["USUBJID"], competing.set_index("USUBJID")["ADT"])
    return derive_param_tte(
        course,
        {"assess": assessments, "competing": competing, "adsl": course},
        [
            EventSource(
                "assess",
                "ADT",
                filter=(assessments["AVALC"] == "Y") & (cut.isna() | (assessments["ADT"] < cut)),
                set_values_to={"EVNTDESC": "REMISSION", **_TRACE_ADRS},
            )
        ],
        [
            _day_one("NO ADEQUATE POST-BASELINE DISEASE ASSESSMENT"),
            CensorSource(
                "assess",
                "ADT",
                censor=1,
                filter=cut.isna() | (assessments["ADT"] <= cut),
                set_values_to={
                    "EVNTDESC": "NO REMISSION",
                    "CNSDTDSC": "LAST ADEQUATE DISEASE ASSESSMENT",
                    **_TRACE_ADRS,
                },
            ),
            CensorSource(
                "competing",
                "ADT",
                censor=3,
                set_values_to={
                    "EVNTDESC": Var("_DESC"),
                    "CNSDTDSC": Var("_DTDESC"),
                    "SRCDOM": Var("_DOM"),
                    "SRCVAR": Var("_VAR"),
                    "SRCSEQ": Var("_SEQ"),
                },
            ),
        ],
        set_values_to={"PARAMCD": "TTR"},
        data_cut_date_var="DCUTDT",
    )


def _pfs_like(
    paramcd: str,
    subjects: pd.DataFrame,
    assessments: pd.DataFrame,
    adrs: pd.DataFrame,
    event_param: str,
    death_is_event: bool,
    new_therapy: str,
    start_date: str,
    windows: np.ndarray,
    options: TteOptions,
) -> pd.DataFrame:
    """PFS, DOREM and TTRELAP: event ``event_param`` (ADRS "Y") and, if ``death_is_event``, death;
    censoring by :func:`derive_vars_censoring_rule` with the ``new_therapy`` course date."""
    event_date = subjects["PROGDT" if event_param == "PROG" else "RELDT"]
    if death_is_event:
        event_date = pd.concat([event_date, subjects["DTHDT"]], axis=1).min(axis=1)
    rules = derive_vars_censoring_rule(
        subjects, assessments, event_date, subjects[new_therapy], subjects[start_date], windows, options
    )
    mine = assessments.loc[assessments["USUBJID"].isin(subjects["USUBJID"])]
    mine = mine.loc[
        (mine["ADT"] >= lookup(mine["USUBJID"], subjects.set_index("USUBJID")[start_date])).to_numpy()
    ]
    mine = _rule_column(mine.reset_index(drop=True), rules)
    first_event = _first(adrs, event_param)[["STUDYID", "USUBJID", "ADT", "ASEQ"]].reset_index(drop=True)
    first_event = _rule_column(first_event.loc[first_event["USUBJID"].isin(subjects["USUBJID"])], rules)
    people = _rule_column(subjects.reset_index(drop=True), rules)
    is_event = people["_RULE"] == "EVENT"
    described = "DISEASE PROGRESSION OR RELAPSE" if event_param == "PROG" else "RELAPSE"
    events = [
        EventSource(
            "event",
            "ADT",
            filter=first_event["_RULE"] == "EVENT",
            set_values_to={"EVNTDESC": described, **_TRACE_ADRS},
        )
    ]
    if death_is_event:
        events.append(
            EventSource(
                "people",
                "DTHDT",
                filter=is_event,
                set_values_to={"EVNTDESC": "DEATH", "SRCDOM": "ADSL", "SRCVAR": "DTHDT"},
            )
        )
    before_limit = mine["_LIMIT"].isna() | (mine["ADT"] < mine["_LIMIT"])
    no_event = "NO DISEASE PROGRESSION, RELAPSE OR DEATH" if event_param == "PROG" else "NO RELAPSE"
    if start_date == "TRTSDT":
        day_one = _day_one("NO BASELINE OR NO ADEQUATE POST-BASELINE DISEASE ASSESSMENT")
    else:
        day_one = CensorSource(
            "adsl",
            start_date,
            censor=2,
            set_values_to={
                "EVNTDESC": "NO BASELINE DISEASE ASSESSMENT",
                "CNSDTDSC": "FIRST REMISSION (DAY 1)",
                "SRCDOM": "ADRS",
                "SRCVAR": "ADT",
                "SRCSEQ": Var("REMSEQ"),
            },
        )
    censors = [
        day_one,
        CensorSource(
            "assess",
            "ADT",
            censor=1,
            filter=mine["_RULE"].isin(["NONE", "EVENT"]),
            set_values_to={
                "EVNTDESC": no_event,
                "CNSDTDSC": "LAST ADEQUATE DISEASE ASSESSMENT",
                **_TRACE_ADRS,
            },
        ),
        CensorSource(
            "assess",
            "ADT",
            censor=3,
            filter=(mine["_RULE"] == "NEWTHER") & before_limit,
            set_values_to={
                "EVNTDESC": "NEW ANTI-DISEASE THERAPY BEFORE EVENT",
                "CNSDTDSC": "LAST ADEQUATE ASSESSMENT BEFORE NEW THERAPY",
                **_TRACE_ADRS,
            },
        ),
        CensorSource(
            "assess",
            "ADT",
            censor=4,
            filter=(mine["_RULE"] == "GAP") & before_limit,
            set_values_to={
                "EVNTDESC": f"EVENT AFTER {options.missed_assessments} OR MORE MISSED ASSESSMENTS",
                "CNSDTDSC": "LAST ADEQUATE ASSESSMENT BEFORE MISSED ASSESSMENTS",
                **_TRACE_ADRS,
            },
        ),
    ]
    return derive_param_tte(
        people,
        {"event": first_event, "people": people, "assess": mine, "adsl": people},
        events,
        censors,
        start_date=start_date,
        set_values_to={"PARAMCD": paramcd},
        data_cut_date_var="DCUTDT",
    )


def derive_param_pfs(
    course: pd.DataFrame,
    assessments: pd.DataFrame,
    adrs: pd.DataFrame,
    windows: np.ndarray,
    options: TteOptions,
) -> pd.DataFrame:
    """PFS (module docstring): new anti-disease therapy = ADRS RESCUE (rescue IS, GC increase, re-infusion)."""
    return _pfs_like("PFS", course, assessments, adrs, "PROG", True, "RESCDT", "TRTSDT", windows, options)


def derive_param_dorem(
    course: pd.DataFrame,
    assessments: pd.DataFrame,
    adrs: pd.DataFrame,
    windows: np.ndarray,
    options: TteOptions,
) -> pd.DataFrame:
    """DOREM (module docstring): responders, from the first remission (STARTDT) to relapse or death."""
    responders = course.loc[course["REMDT"].notna()]
    return _pfs_like(
        "DOREM", responders, assessments, adrs, "RELAPSE", True, "REINFDT", "REMDT", windows, options
    )


def derive_param_ttrelap(
    course: pd.DataFrame,
    assessments: pd.DataFrame,
    adrs: pd.DataFrame,
    windows: np.ndarray,
    options: TteOptions,
) -> pd.DataFrame:
    """TTRELAP (module docstring): responders, from the infusion to relapse."""
    responders = course.loc[course["REMDT"].notna()]
    return _pfs_like(
        "TTRELAP", responders, assessments, adrs, "RELAPSE", False, "REINFDT", "TRTSDT", windows, options
    )


def derive_param_os(adsl: pd.DataFrame) -> pd.DataFrame:
    """OS: death (ADSL DTHDT), else censored at the last known alive date (ADSL LSTALVDT)."""
    return derive_param_tte(
        adsl,
        {"adsl": adsl},
        [
            EventSource(
                "adsl", "DTHDT", set_values_to={"EVNTDESC": "DEATH", "SRCDOM": "ADSL", "SRCVAR": "DTHDT"}
            )
        ],
        [
            CensorSource(
                "adsl",
                "LSTALVDT",
                censor=1,
                set_values_to={
                    "EVNTDESC": "ALIVE",
                    "CNSDTDSC": "LAST KNOWN ALIVE DATE",
                    "SRCDOM": "ADSL",
                    "SRCVAR": "LSTALVDT",
                },
            )
        ],
        set_values_to={"PARAMCD": "OS"},
        data_cut_date_var="DCUTDT",
    )


def derive_param_ttbclr(adsl: pd.DataFrame, adlb: pd.DataFrame, study: Study) -> pd.DataFrame:
    """TTBCLR (module docstring) from ADLB CD19CNT, BASETYPE PRE-LYMPHODEPLETION, DTYPE null, post-infusion
    (ONTRTFL "Y") records; ANL01FL "Y" unless not evaluable."""
    threshold = study.thresholds.bcell_clearance_per_ul
    cells = adlb.loc[
        (adlb["PARAMCD"] == BCELL_PARAMCD)
        & (adlb["BASETYPE"] == "PRE-LYMPHODEPLETION")
        & adlb["DTYPE"].isna()
        & adlb["USUBJID"].isin(adsl["USUBJID"])
    ]
    base = cells.groupby("USUBJID")["BASE"].first()
    subjects = adsl.assign(_NE=~(lookup(adsl["USUBJID"], base) >= threshold))
    post = cells.loc[(cells["ONTRTFL"] == "Y") & cells["AVAL"].notna() & cells["ADT"].notna()].reset_index(
        drop=True
    )
    post = post.assign(_NE=lookup(post["USUBJID"], subjects.set_index("USUBJID")["_NE"]).astype(bool))
    trace = {"SRCDOM": "ADLB", "SRCVAR": "AVAL", "SRCSEQ": Var("ASEQ")}
    out = derive_param_tte(
        subjects,
        {"cells": post, "adsl": subjects},
        [
            EventSource(
                "cells",
                "ADT",
                filter=~post["_NE"] & (post["AVAL"] < threshold),
                set_values_to={"EVNTDESC": f"CD19+ B CELLS < {threshold:g}/UL", **trace},
            )
        ],
        [
            _day_one("NO POST-INFUSION B-CELL COUNT"),
            CensorSource(
                "cells",
                "ADT",
                censor=1,
                filter=~post["_NE"],
                set_values_to={"EVNTDESC": "NO B-CELL CLEARANCE", "CNSDTDSC": "LAST B-CELL COUNT", **trace},
            ),
            CensorSource(
                "adsl",
                "TRTSDT",
                censor=3,
                filter=subjects["_NE"],
                set_values_to={
                    "EVNTDESC": "NOT EVALUABLE: BASELINE MISSING OR ALREADY BELOW THRESHOLD",
                    "CNSDTDSC": "TREATMENT START (DAY 1)",
                    "SRCDOM": "ADSL",
                    "SRCVAR": "TRTSDT",
                },
            ),
        ],
        set_values_to={"PARAMCD": "TTBCLR"},
        data_cut_date_var="DCUTDT",
    )
    evaluable = ~lookup(out["USUBJID"], subjects.set_index("USUBJID")["_NE"]).astype(bool)
    return out.assign(ANL01FL=np.where(evaluable, "Y", None))
