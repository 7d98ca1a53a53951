"""Disease assessments at analysis visits: the common ground of the ADRS criteria (STUDY.md §3, §3.5).

Every criterion of STUDY.md §3.5 is evaluated "with all conditions at the same assessment". This module
collects the instrument results the criteria need (RS, QS, LB, NV), dates them (ADT, ADY relative to
TRTSDT), puts them in analysis visits and flags the record that represents each visit, then spreads
them into one row per subject and analysis visit (the *visit frame*) with the baseline and previous
values beside them.

- ADY = ADT − TRTSDT + 1 on or after TRTSDT, else ADT − TRTSDT (STUDY.md §3; admiral
  ``derive_vars_dy``).
- AVISIT (ADaMIG 1.3 §3.3.5): post-infusion records take the scheduled visit whose protocol window
  (study.yaml ``visits``, protocol days, ADY = day + 1) holds them; a post-infusion record in no window
  is "UNSCHEDULED" (AVISITN null). Pre-infusion records keep the nominal visit (VISIT/VISITNUM), as
  the screening and leukapheresis windows overlap.
- ANL01FL: per subject, measure and analysis visit the record closest to the visit's target day, ties
  to the later one (STUDY.md §3 Conventions), and the baseline record. Unscheduled post-infusion
  assessments are kept (the criteria are evaluated there too, e.g. a relapse found at an extra visit)
  but are not flagged.
- ABLFL (BASETYPE "PRE-LYMPHODEPLETION"): the last non-missing value dated on or before the first
  lymphodepletion dose (LDSTDT; TRTSDT when LDSTDT is missing), as ADSL and SDTM --LOBXFL do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc168.adam.derive import derive_var_extreme_flag, derive_vars_dt, derive_vars_dy, desc
from cdisc168.adam.remission_criteria import SLEDAI_ITEMS, SLEDAI_SEROLOGY, RemissionCriteria
from cdisc168.study import Study

KEYS = ["STUDYID", "USUBJID"]
BASETYPE = "PRE-LYMPHODEPLETION"  # BASETYPE codelist (mappings/terminology.yaml)
UNSCHEDULED = "UNSCHEDULED"
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class VisitCriterion:
    """A visit-level ADRS parameter evaluated on the visit frame (one value per row).

    ``evaluable`` selects the rows that get a record; ``met`` gives AVALC "Y"/"N" (AVAL 1/0), or, for a
    score, ``value`` gives AVAL and ``category`` AVALCAT1. The record is dated and traced by the
    ``primary`` measure's record at that visit (ADT, SRCDOM/SRCVAR/SRCSEQ).
    """

    paramcd: str
    primary: str
    evaluable: pd.Series
    met: pd.Series | None = None
    value: pd.Series | None = None
    category: pd.Series | None = None


@dataclass(frozen=True)
class Measure:
    """An instrument result the criteria read: SDTM ``domain`` test ``testcd`` (its name in the frame)."""

    domain: str
    testcd: str
    character: bool = False

    @property
    def srcvar(self) -> str:
        return f"{self.domain}STRESC" if self.character else f"{self.domain}STRESN"


MEASURES: tuple[Measure, ...] = (
    *(Measure("RS", code) for code in (*SLEDAI_ITEMS, "SLED0125", "PGA01", "BILAG01", "BILAG02")),
    *(Measure("RS", code) for code in ("EDSS0101", "QMG14", "MMT8TOT", "PHGA01", "MDAAT01")),
    Measure("RS", "MGPIS", character=True),
    *(Measure("QS", code) for code in ("MGADL09", "PTGA01", "HAQDI")),
    *(Measure("LB", code) for code in ("PROTCRT", "GFRE", "CK")),
    *(Measure("NV", code) for code in ("NEWT2LES", "ENLT2LES", "GDLES")),
)
#: Derived measure: clinical SLEDAI-2K = SLEDAI-2K total − low complement − increased DNA binding.
CSLEDAI = "CSLEDAI"
MEASURE_NAMES = (*(m.testcd for m in MEASURES), CSLEDAI)
#: Measures whose record dates and traces a visit-level criterion (its primary measure).
TRACED = ("SLED0125", "PROTCRT", "MMT8TOT", "EDSS0101", "MGADL09", "QMG14")
#: Visit-frame columns beyond the values: (long-frame field, column suffix, measures).
_DETAILS = (
    *((field, suffix, TRACED) for field, suffix in (("ADT", "_DT"), ("SRCDOM", "_DOM"), ("SRCVAR", "_VAR"))),
    ("SRCSEQ", "_SEQ", TRACED),
    ("VALC", "_C", ("MGPIS",)),
    ("LLN", "_LLN", ("GFRE",)),
    ("ULN", "_ULN", ("CK",)),
)
_UNSCHEDULED_KEY = 100000.0  # unscheduled assessments: one per date, after every scheduled AVISITN


def lookup(ids: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` (indexed by subject) for each subject of ``ids``, on the index of ``ids``; unlike
    ``Series.map`` it keeps the dtype of ``values`` when none or no subject matches (an empty date
    Series stays datetime)."""
    return pd.Series(values.reindex(ids.to_numpy()).to_numpy(), index=ids.index, dtype=values.dtype)


def collect_measures(
    sdtm: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    adlb: pd.DataFrame | None = None,
    measures: tuple[Measure, ...] = MEASURES,
) -> pd.DataFrame:
    """The instrument records of treated subjects (ADSL TRTSDT) dated on or before the data cut (DCUTDT).

    One row per record: USUBJID, MEASURE (= --TESTCD), VALN (--STRESN), VALC (--STRESC), LLN/ULN
    (--STNRLO/--STNRHI), ADT (date of --DTC; partial dates give no ADT and are dropped), VISIT,
    VISITNUM, SRCDOM/SRCVAR/SRCSEQ, and the clinical SLEDAI-2K (CSLEDAI) of each SLEDAI-2K assessment.
    Laboratory measures come from ADLB when given (DESIGN.md: ADRS uses ADLB): its PRE-LYMPHODEPLETION
    records of the same PARAMCD with DTYPE null, AVAL/ANRLO/ANRHI, ADT, AVISIT/AVISITN, traced to ADLB
    ASEQ; else from SDTM LB.
    """
    pieces = []
    for domain in dict.fromkeys(m.domain for m in measures):
        codes = {m.testcd: m for m in measures if m.domain == domain}
        if domain == "LB" and adlb is not None:
            pieces.append(_adlb_records(adlb, list(codes)))
            continue
        frame = sdtm.get(domain)
        if frame is None or frame.empty:
            continue
        rows = frame.loc[frame[f"{domain}TESTCD"].isin(list(codes))]
        piece = pd.DataFrame(
            {
                "STUDYID": rows["STUDYID"].to_numpy(),
                "USUBJID": rows["USUBJID"].to_numpy(),
                "MEASURE": rows[f"{domain}TESTCD"].to_numpy(),
                "VALN": pd.to_numeric(rows[f"{domain}STRESN"], errors="coerce").to_numpy(dtype=float),
                "VALC": rows[f"{domain}STRESC"].to_numpy(dtype=object),
                "LLN": _optional_number(rows, f"{domain}STNRLO"),
                "ULN": _optional_number(rows, f"{domain}STNRHI"),
                "DTC": rows[f"{domain}DTC"].to_numpy(dtype=object),
                "VISIT": rows["VISIT"].to_numpy(dtype=object),
                "VISITNUM": pd.to_numeric(rows["VISITNUM"], errors="coerce").to_numpy(dtype=float),
                "SRCDOM": domain,
                "SRCVAR": rows[f"{domain}TESTCD"].map({c: m.srcvar for c, m in codes.items()}).to_numpy(),
                "SRCSEQ": pd.to_numeric(rows[f"{domain}SEQ"], errors="coerce").to_numpy(dtype=float),
            }
        )
        piece = derive_vars_dt(piece, "A", "DTC").drop(columns="DTC")
        pieces.append(piece)
    long = pd.concat(pieces, ignore_index=True) if pieces else _empty_long()
    long["ADT"] = long["ADT"].astype("datetime64[us]")
    subjects = adsl.loc[adsl["TRTSDT"].notna(), [*KEYS, "INDICAT", "TRTSDT", "LDSTDT", "DCUTDT"]]
    long = long.merge(subjects, on=KEYS, how="inner")
    known = long["ADT"].notna() & (long["VALN"].notna() | long["VALC"].notna())
    within_cut = long["DCUTDT"].isna() | (long["ADT"] <= long["DCUTDT"])
    long = long.loc[known & within_cut].reset_index(drop=True)
    return pd.concat([long, _clinical_sledai(long)], ignore_index=True)


def _adlb_records(adlb: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    rows = adlb.loc[adlb["PARAMCD"].isin(codes) & (adlb["BASETYPE"] == BASETYPE) & adlb["DTYPE"].isna()]
    return pd.DataFrame(
        {
            "STUDYID": rows["STUDYID"].to_numpy(),
            "USUBJID": rows["USUBJID"].to_numpy(),
            "MEASURE": rows["PARAMCD"].to_numpy(),
            "VALN": rows["AVAL"].to_numpy(dtype=float),
            "VALC": rows["AVALC"].to_numpy(dtype=object),
            "LLN": rows["ANRLO"].to_numpy(dtype=float),
            "ULN": rows["ANRHI"].to_numpy(dtype=float),
            "ADT": rows["ADT"].to_numpy(),
            "VISIT": rows["AVISIT"].to_numpy(dtype=object),
            "VISITNUM": rows["AVISITN"].to_numpy(dtype=float),
            "SRCDOM": "ADLB",
            "SRCVAR": "AVAL",
            "SRCSEQ": rows["ASEQ"].to_numpy(dtype=float),
        }
    )


def _optional_number(rows: pd.DataFrame, column: str) -> np.ndarray:
    if column not in rows.columns:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)


def _empty_long() -> pd.DataFrame:
    columns = {c: pd.Series(dtype=object) for c in ("STUDYID", "USUBJID", "MEASURE", "VALC", "VISIT")}
    columns.update({c: pd.Series(dtype=float) for c in ("VALN", "LLN", "ULN", "VISITNUM", "SRCSEQ")})
    columns["ADT"] = pd.Series(dtype="datetime64[us]")
    columns.update(SRCDOM=pd.Series(dtype=object), SRCVAR=pd.Series(dtype=object))
    return pd.DataFrame(columns)


def _clinical_sledai(long: pd.DataFrame) -> pd.DataFrame:
    """CSLEDAI per SLEDAI-2K assessment (same subject, visit and date): total − serology descriptors
    (SLEDAI-2K without anti-dsDNA and low complement, as DORIS 2021 and LLDAS use it); traced to the
    total's RS record. A missing serology descriptor counts 0 (it was not scored)."""
    assessment = ["USUBJID", "VISITNUM", "ADT"]
    sled = long.loc[long["MEASURE"].isin(["SLED0125", *SLEDAI_SEROLOGY])]
    serology = sled.loc[sled["MEASURE"].isin(SLEDAI_SEROLOGY)].groupby(assessment, dropna=False)["VALN"].sum()
    total = sled.loc[sled["MEASURE"] == "SLED0125"].copy()
    index = pd.MultiIndex.from_frame(total[assessment])
    total["VALN"] = total["VALN"].to_numpy() - serology.reindex(index).fillna(0.0).to_numpy()
    return total.assign(MEASURE=CSLEDAI)


def derive_vars_avisit(long: pd.DataFrame, study: Study) -> pd.DataFrame:
    """ADY, AVISIT, AVISITN and the window target/distance (AWTARGET, AWTDIFF) per record (module doc)."""
    out = derive_vars_dy(long, "TRTSDT", ["ADT"])
    post = (out["ADY"] >= 1).to_numpy()
    avisit = np.where(post, UNSCHEDULED, out["VISIT"].to_numpy(dtype=object)).astype(object)
    avisitn = np.where(post, np.nan, out["VISITNUM"].to_numpy(dtype=float))
    target = np.full(len(out), np.nan)
    day = out["ADY"].to_numpy(dtype=float) - 1.0  # protocol day of a post-infusion record
    for visit in (v for v in study.visits if v.day >= 0):
        inside = post & (day >= visit.window[0]) & (day <= visit.window[1]) & np.isnan(avisitn)
        avisit[inside] = visit.visit
        avisitn[inside] = visit.visitnum
        target[inside] = visit.day + 1
    out["AVISIT"] = avisit
    out["AVISITN"] = avisitn
    out["AWTARGET"] = target
    out["AWTDIFF"] = np.abs(out["ADY"].to_numpy(dtype=float) - target)
    return out


def derive_var_ablfl(long: pd.DataFrame) -> pd.DataFrame:
    """ABLFL = "Y" on the last record per subject and measure on or before LDSTDT (module doc)."""
    reference = long["LDSTDT"].fillna(long["TRTSDT"])
    return derive_var_extreme_flag(
        long,
        ["USUBJID", "MEASURE"],
        ["ADT", "SRCSEQ"],
        "ABLFL",
        mode="last",
        filter=(long["ADT"] <= reference) & (long["VALN"].notna() | long["VALC"].notna()),
        check_unique=False,
    )


def derive_var_anl01fl(long: pd.DataFrame) -> pd.DataFrame:
    """``_VKEY`` (the assessment: AVISITN, or 100000 + ADY for an unscheduled post-infusion one),
    ``_PICK`` (the record per subject, measure and assessment closest to the target day, ties: the later
    date, then the higher SRCSEQ; for an unscheduled assessment the latest) and ANL01FL = "Y" on the
    picked records of scheduled analysis visits and on the baseline record."""
    post = (long["ADY"] >= 1).to_numpy()
    key = long["AVISITN"].where(long["AVISITN"].notna(), _UNSCHEDULED_KEY + long["ADY"])
    out = long.assign(_VKEY=np.where(post, key, np.nan))
    out = derive_var_extreme_flag(
        out,
        ["USUBJID", "MEASURE", "_VKEY"],
        ["AWTDIFF", desc("ADY"), desc("SRCSEQ")],
        "_PICK",
        mode="first",
        filter=out["_VKEY"].notna(),
        check_unique=False,
    )
    scheduled = (out["_PICK"] == "Y") & out["AVISITN"].notna()
    out["ANL01FL"] = pd.Series(
        np.where(scheduled | (out["ABLFL"] == "Y"), "Y", None), index=out.index, dtype="str"
    )
    return out


def create_visit_frame(long: pd.DataFrame, criteria: RemissionCriteria) -> pd.DataFrame:
    """One row per subject and post-infusion assessment (``_VKEY``: a scheduled analysis visit, or an
    unscheduled assessment with AVISIT "UNSCHEDULED" and AVISITN null) with, per measure ``m``, its value
    ``m`` (VALN), its baseline ``B_m`` and its value at the previous assessment ``P_m`` (the baseline
    for the first); for the measures that date and trace a criterion (:data:`TRACED`) also ``m_DT``
    (ADT), ``m_DOM``/``m_VAR``/``m_SEQ`` (SRCDOM/SRCVAR/SRCSEQ); and ``MGPIS_C`` (VALC), ``GFRE_LLN``,
    ``CK_ULN``. ADT of the row is the date of the indication's primary score
    (``criteria.primary_score``), else the earliest date of the row; rows are in ADT order per subject."""
    post = long.loc[(long["_PICK"] == "Y") & (long["ADY"] >= 1)]
    keyed = post.set_index(["STUDYID", "USUBJID", "_VKEY", "MEASURE"])
    measure = keyed.index.get_level_values("MEASURE")
    parts = [keyed["VALN"].unstack("MEASURE").reindex(columns=list(MEASURE_NAMES)).astype(float)]
    for field, suffix, measures in _DETAILS:
        part = keyed.loc[measure.isin(measures), field].unstack("MEASURE").reindex(columns=list(measures))
        parts.append(part.add_suffix(suffix))
    wide = pd.concat(parts, axis=1)
    for m in TRACED:
        wide[f"{m}_DT"] = wide[f"{m}_DT"].astype("datetime64[us]")
        wide[f"{m}_SEQ"] = wide[f"{m}_SEQ"].astype(float)
    for column in ("GFRE_LLN", "CK_ULN"):
        wide[column] = wide[column].astype(float)
    first_date = post.groupby(["STUDYID", "USUBJID", "_VKEY"])["ADT"].min().reindex(wide.index)
    keys = post.drop_duplicates(["USUBJID", "_VKEY"]).set_index(["STUDYID", "USUBJID", "_VKEY"])
    wide = wide.assign(AVISIT=keys["AVISIT"].reindex(wide.index), AVISITN=keys["AVISITN"].reindex(wide.index))
    wide = wide.reset_index()
    subject = long.drop_duplicates("USUBJID").set_index("USUBJID")
    extra = {c: lookup(wide["USUBJID"], subject[c]) for c in ("INDICAT", "TRTSDT", "LDSTDT", "DCUTDT")}
    primary = extra["INDICAT"].map(criteria.primary_score)
    primary_date = pd.Series(pd.NaT, index=wide.index, dtype="datetime64[us]")
    for code in set(criteria.primary_score.values()):
        primary_date = primary_date.where(primary != code, wide[f"{code}_DT"])
    extra["ADT"] = primary_date.fillna(pd.Series(first_date.to_numpy(), index=wide.index)).astype(
        "datetime64[us]"
    )
    extra["ADY"] = ((extra["ADT"] - extra["TRTSDT"]) / _DAY + 1).astype(float)

    baseline = long.loc[long["ABLFL"] == "Y"].pivot(index="USUBJID", columns="MEASURE", values="VALN")
    baseline = baseline.reindex(columns=list(MEASURE_NAMES)).add_prefix("B_")
    visits = pd.concat([wide, pd.DataFrame(extra)], axis=1)
    visits = pd.concat(
        [visits, baseline.reindex(visits["USUBJID"].to_numpy()).set_index(visits.index)], axis=1
    )
    visits = visits.sort_values(["USUBJID", "ADT", "_VKEY"], kind="mergesort").reset_index(drop=True)
    previous = visits.groupby("USUBJID", sort=False)[list(MEASURE_NAMES)].shift(1)
    first = ~visits["USUBJID"].duplicated()
    prior = {f"P_{m}": previous[m].where(~first, visits[f"B_{m}"]) for m in MEASURE_NAMES}
    return pd.concat([visits, pd.DataFrame(prior)], axis=1)
