"""ADPC, the cellular kinetics concentrations (ADaM BDS, Define subclass NON-COMPARTMENTAL ANALYSIS).

One record per PC record of an infused subject (SDTM PC: qPCR CAR transgene DNA, flow CAR+ T cells and
CAR+ T cells/T cells), with the ADaM NCA input variables (CDISC ADaMIG for Non-compartmental Analysis
Input Data v1.0, "ADNCA"; STUDY.md §3.4 and its Decisions: AFRLT, ARRLT, NFRLT, NRRLT with RRLTU, not
ARELTM). ADPP (:mod:`cdisc168.adam.adpp`) computes the kinetic parameters from it.

Relative times are in days from the start of the C-CAR168 infusion (ADSL TRTSDTM = FANLDTM; PC PCRFTDTC
= PCRFTDTM): AFRLT = (ADTM − FANLDTM) / 86400 s. A sample or an infusion without a time counts in whole
days (date − infusion date), as SDTM PP does, so that ADPP and SDTM PP agree. NFRLT/NRRLT are the
nominal times (PCELTM).

AVAL = PCSTRESN, with the below-LLOQ (BLQ) rules of STUDY.md §3.4 applied per subject and analyte to the
samples of the NCA profile (NCAXFL null), ordered by AFRLT:

==========================================  =======  =======  =======  =====================
BLQ sample                                  AVAL     ANL01FL  ANL02FL  other
==========================================  =======  =======  =======  =====================
before the infusion (AFRLT <= 0)            0        Y        Y
after it, before the first quantifiable     0        Y        Y        (also: profile with
                                                                        no quantifiable value)
between two quantifiable samples            0        Y        (null)   sensitivity: missing
after the last quantifiable (Tlast)         (null)   (null)   (null)   trailing: excluded
==========================================  =======  =======  =======  =====================

ANL01FL marks the primary (conservative) analysis records, ANL02FL the sensitivity analysis (BLQ
between quantifiable samples left out). The NCA of ADPP applies the same rules (:mod:`cdisc168.nca`).

Exclusions (ADNCA flags; STUDY.md §3.4 "EXCLFL with reason"):

- NCAXFL/NCA1XRS: the record is not part of the NCA profile: taken after a re-treatment (a later
  C-CAR168 infusion in EX), without a usable sample time, or without a result.
- PKSUMXF/PKSUMXRS: the record is left out of the summaries by nominal time point: taken after a
  re-treatment, taken more than 50% outside its visit window (:data:`WINDOW_EXCESS_FRACTION`), or
  without a nominal time (unscheduled). The NCA uses actual times, so a late sample stays in the NCA.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cdisc168.adam.derive import (
    derive_vars_dtm,
    derive_vars_dy,
    derive_vars_merged,
    derive_vars_relative_time,
)
from cdisc168.adam_spec import conform, load_adam_spec
from cdisc168.study import Study

KEYS = ["STUDYID", "USUBJID"]
CAR_T = "C-CAR168"  # EXTRT of the CAR-T product (STUDY.md §2.3)
#: The analytes (PCTESTCD, STUDY.md §2.7) in PARAMN order.
ANALYTES = ("CARTDNA", "CARTCELL", "CARTPCT")
RELATIVE_TIME_UNIT = "DAYS"  # UNIT C25301 (STUDY.md §3.4: RRLTU = DAYS)
#: STUDY.md §3.4: a sample more than 50% outside its visit window is excluded from the summaries by
#: nominal time, i.e. its deviation from the visit's target day exceeds the window's allowance on that
#: side by more than this fraction of the allowance (DAY 21, window [18, 24]: excluded before protocol
#: day 16.5 or after day 25.5; a visit without an allowance, DAY 1: any other day).
WINDOW_EXCESS_FRACTION = 0.5

REASON_RETREATMENT = "SAMPLE AFTER RE-TREATMENT"
REASON_NO_TIME = "ACTUAL SAMPLE TIME UNKNOWN"
REASON_NO_RESULT = "NO RESULT"
REASON_WINDOW = f"SAMPLED MORE THAN {WINDOW_EXCESS_FRACTION:.0%} OUTSIDE THE VISIT WINDOW"
REASON_NO_NOMINAL = "NO NOMINAL TIME (UNSCHEDULED SAMPLE)"

#: ADSL variables both kinetics datasets (ADPC, ADPP) carry: {ADaM name: ADSL name}.
PK_ADSL_VARS = {
    "SUBJID": "SUBJID",
    "SITEID": "SITEID",
    "AGE": "AGE",
    "AGEU": "AGEU",
    "SEX": "SEX",
    "RACE": "RACE",
    "SAFFL": "SAFFL",
    "PKFL": "PKFL",
    "TRTP": "TRT01P",
    "TRTPN": "TRT01PN",
    "TRTA": "TRT01A",
    "TRTAN": "TRT01AN",
    "DOSEA": "DOSEKG",
}
#: ADSL variables of ADPC; names starting with "_" are working columns.
ADSL_VARS = {**PK_ADSL_VARS, "FANLDTM": "TRTSDTM", "_FANLTMF": "TRTSTMF", "_TRTSDT": "TRTSDT"}
_PC_VARS = [
    "STUDYID",
    "USUBJID",
    "PCSEQ",
    "PCTESTCD",
    "PCTEST",
    "PCSTRESC",
    "PCSTRESN",
    "PCSTRESU",
    "PCSPEC",
    "PCLLOQ",
    "VISITNUM",
    "VISIT",
    "PCDTC",
    "PCTPT",
    "PCTPTNUM",
    "PCELTM",
    "PCTPTREF",
    "PCRFTDTC",
]


def build_adpc(
    sdtm: Mapping[str, pd.DataFrame], adam: Mapping[str, pd.DataFrame], study: Study
) -> pd.DataFrame:
    """ADPC from SDTM PC and EX and ADaM ADSL (``adam["ADSL"]``)."""
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADPC.yaml")
    adsl = adam["ADSL"]
    adpc = select_infused_pc(sdtm["PC"], adsl)
    adpc = derive_vars_merged(adpc, adsl, new_vars=ADSL_VARS)
    adpc = derive_vars_dose(adpc, study)
    adpc = derive_vars_adtm(adpc)
    adpc = derive_var_pcrftdtm(adpc)
    adpc = derive_vars_dy(adpc, reference_date="_TRTSDT", source_vars=["ADT"])
    adpc = derive_var_retreatment(adpc, sdtm["EX"])
    adpc = derive_vars_nca_times(adpc)
    adpc = derive_vars_param(adpc)
    adpc = derive_vars_visit(adpc)
    adpc = derive_vars_blq(adpc)
    adpc = derive_vars_ncaxfl(adpc)
    adpc = derive_var_aval(adpc)
    adpc = derive_vars_pksumxf(adpc, study)
    adpc = derive_vars_anl_flags(adpc)
    adpc = derive_vars_source(adpc)
    return conform(adpc.drop(columns=[c for c in _PC_VARS if c not in spec.variable_names]), spec)


# --------------------------------------------------------------------------------------------------
# helpers


def _flag(condition: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    """ADaM flag: "Y" where true, null elsewhere."""
    return pd.Series(np.where(np.asarray(condition, dtype=bool), "Y", None), index=index, dtype="str")


def _text(values: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype="str")


def protocol_day(adt: pd.Series, fanldtm: pd.Series) -> pd.Series:
    """Protocol day of a sample: its date − the infusion date (D0 = 0), the scale of the visit windows."""
    return (adt - fanldtm.dt.normalize()) / pd.Timedelta(days=1)


def quantifiable(value: pd.Series, lloq: pd.Series) -> pd.Series:
    """A result at or above the LLOQ (PCSTRESN present and not below PCLLOQ), as SDTM PP reads PC."""
    return value.notna() & ~(value < lloq)


# --------------------------------------------------------------------------------------------------
# records, subject-level variables, dates


def select_infused_pc(pc: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """The PC records of the subjects with a C-CAR168 infusion (ADSL TRTSDTM): the NCA needs the
    reference dose; the pre-lymphodepletion samples of a subject never infused are not analysable."""
    infused = adsl.loc[adsl["TRTSDTM"].notna(), "USUBJID"]
    records = pc.loc[pc["USUBJID"].isin(infused), _PC_VARS]
    return records.reset_index(drop=True)


def derive_vars_dose(adpc: pd.DataFrame, study: Study) -> pd.DataFrame:
    """DOSEP = TRTPN (the dose of the planned dose level) and DOSEU, the unit of DOSEA/DOSEP (study.yaml
    ``dose_unit``, 10^6 CAR+ T cells/kg)."""
    out = adpc.copy()
    out["DOSEP"] = out["TRTPN"]
    out["DOSEU"] = pd.Series(study.dose_unit, index=out.index, dtype="str")
    return out


def derive_vars_adtm(adpc: pd.DataFrame) -> pd.DataFrame:
    """ADTM/ATMF from PCDTC (a missing time imputed 00:00, ATMF "H"; uncollected seconds not flagged)
    and ADT, its date."""
    out = derive_vars_dtm(adpc, "A", "PCDTC", flag_imputation="time", ignore_seconds_flag=True)
    out["ADT"] = out["ADTM"].dt.normalize()
    return out


def derive_var_pcrftdtm(adpc: pd.DataFrame) -> pd.DataFrame:
    """PCRFTDTM: the reference dose date-time (PC PCRFTDTC, the infusion start)."""
    out = derive_vars_dtm(adpc, "PCRFT", "PCRFTDTC", flag_imputation="time", ignore_seconds_flag=True)
    return out.rename(columns={"PCRFTTMF": "_PCRFTTMF"})


def derive_var_retreatment(adpc: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """_RETRTDTM: start of a re-treatment, the first C-CAR168 EX record starting on a later day than
    the subject's first infusion (a second bag on the infusion day is the same infusion)."""
    car = ex.loc[ex["EXTRT"] == CAR_T, ["STUDYID", "USUBJID", "EXSEQ", "EXSTDTC"]]
    car = derive_vars_dtm(car, "AST", "EXSTDTC", flag_imputation="none").dropna(subset=["ASTDTM"])
    first_day = car.groupby("USUBJID")["ASTDTM"].transform("min").dt.normalize()
    later = car.loc[car["ASTDTM"].dt.normalize() > first_day]
    return derive_vars_merged(
        adpc, later, new_vars={"_RETRTDTM": "ASTDTM"}, order=["ASTDTM", "EXSEQ"], mode="first"
    )


def derive_vars_nca_times(adpc: pd.DataFrame) -> pd.DataFrame:
    """AFRLT, ARRLT, NFRLT, NRRLT, RRLTU (ADNCA v1.0; :func:`derive_vars_relative_time`) in days.

    Actual times are exact when the sample, FANLDTM and PCRFTDTM all carry a time; otherwise they are
    whole days between the dates (the time is unknown, so a date is not taken as 00:00 of a timed
    infusion): the SDTM PP convention. Nominal times come from PCELTM (ISO 8601 durations).
    """
    exact = adpc["ATMF"].isna() & adpc["_FANLTMF"].isna() & adpc["_PCRFTTMF"].isna()

    def basis(column: str) -> pd.Series:
        return adpc[column].where(exact, adpc[column].dt.normalize())

    timed = adpc.assign(_ADTM_T=basis("ADTM"), _FANLDTM_T=basis("FANLDTM"), _PCRFTDTM_T=basis("PCRFTDTM"))
    return derive_vars_relative_time(
        timed,
        dtm="_ADTM_T",
        first_dose_dtm="_FANLDTM_T",
        ref_dose_dtm="_PCRFTDTM_T",
        nominal="PCELTM",
        unit=RELATIVE_TIME_UNIT,
    )


# --------------------------------------------------------------------------------------------------
# parameter, visit, result


def derive_vars_param(adpc: pd.DataFrame) -> pd.DataFrame:
    """PARAMCD = PCTESTCD, PARAMN its place in :data:`ANALYTES`, PARCAT1 = PCTEST (the analyte),
    AVALU = PCSTRESU and PARAM = "<PCTEST> in <specimen> (<unit>)" (ADNCA: PARAM names the analyte,
    specimen and unit).

    One PARAM per PARAMCD: an analyte reported in two units or specimens is a loud error (it would need
    its own PARAMCD).
    """
    unknown = sorted(set(adpc["PCTESTCD"].dropna()) - set(ANALYTES))
    if unknown:
        raise ValueError(f"PC: analytes {unknown} have no ADPC parameter (cdisc168.adam.adpc.ANALYTES)")
    out = adpc.copy()
    out["PARAMCD"] = out["PCTESTCD"].astype("str")
    out["PARAMN"] = (
        out["PCTESTCD"].map({a: float(i) for i, a in enumerate(ANALYTES, start=1)}).astype("float64")
    )
    out["PARCAT1"] = out["PCTEST"].astype("str")
    out["AVALU"] = out["PCSTRESU"].astype("str")
    specimen = out["PCSPEC"].astype("str").str.capitalize()
    out["PARAM"] = (out["PARCAT1"] + " in " + specimen + " (" + out["AVALU"] + ")").astype("str")
    per_code = out.groupby("PARAMCD")["PARAM"].nunique()
    if (per_code > 1).any():
        raise ValueError(
            f"PC: analytes {sorted(per_code[per_code > 1].index)} have several units or specimens"
        )
    return out


def derive_vars_visit(adpc: pd.DataFrame) -> pd.DataFrame:
    """AVISIT/AVISITN = the nominal visit (VISIT/VISITNUM; STUDY.md §3: AVISIT mirrors the nominal
    visits) and ATPT/ATPTN/ATPTREF = PCTPT/PCTPTNUM/PCTPTREF (nominal protocol day)."""
    out = adpc.copy()
    out["AVISIT"] = out["VISIT"].astype("str")
    out["AVISITN"] = out["VISITNUM"].astype("float64")
    out["ATPT"] = out["PCTPT"].astype("str")
    out["ATPTN"] = out["PCTPTNUM"].astype("float64")
    out["ATPTREF"] = out["PCTPTREF"].astype("str")
    return out


def derive_vars_blq(adpc: pd.DataFrame) -> pd.DataFrame:
    """ALLOQ = PCLLOQ and BLQFL = "Y" for a result below the LLOQ: PCSTRESC "<20"/"BLQ" with PCSTRESN
    null, or PCSTRESN < PCLLOQ (the SDTM PP reading of PC)."""
    out = adpc.copy()
    value = out["PCSTRESN"].astype("float64")
    lloq = out["PCLLOQ"].astype("float64")
    text = out["PCSTRESC"].astype("object").fillna("").astype(str).str.strip()
    below = ~quantifiable(value, lloq) & ((value < lloq) | text.str.startswith("<") | (text == "BLQ"))
    out["ALLOQ"] = lloq
    out["BLQFL"] = _flag(below, out.index)
    return out


def derive_vars_ncaxfl(adpc: pd.DataFrame) -> pd.DataFrame:
    """NCAXFL/NCA1XRS: records outside the NCA profile, the first reason that applies:

    =================================================  ==========================
    condition                                          NCA1XRS
    =================================================  ==========================
    ADTM after a re-treatment start                    SAMPLE AFTER RE-TREATMENT
    AFRLT missing (partial or missing PCDTC)           ACTUAL SAMPLE TIME UNKNOWN
    neither quantifiable nor BLQ (not done)            NO RESULT
    =================================================  ==========================
    """
    out = adpc.copy()
    value = out["PCSTRESN"].astype("float64")
    has_result = quantifiable(value, out["ALLOQ"]) | (out["BLQFL"] == "Y")
    after = (out["ADTM"] > out["_RETRTDTM"]).fillna(False).to_numpy(dtype=bool)
    reason = np.select(
        [after, out["AFRLT"].isna().to_numpy(), ~has_result.to_numpy()],
        [REASON_RETREATMENT, REASON_NO_TIME, REASON_NO_RESULT],
        default=None,
    )
    out["NCA1XRS"] = _text(reason, out.index)
    out["NCAXFL"] = _flag(out["NCA1XRS"].notna(), out.index)
    return out


def derive_var_aval(adpc: pd.DataFrame) -> pd.DataFrame:
    """AVAL = PCSTRESN with the BLQ rules of the module docstring, and the working column _BLQPOS (the
    position of a BLQ sample in its profile: PRE, LEADING, BETWEEN, TRAILING).

    Positions are counted, as in :func:`cdisc168.nca.compute_nca`, over the post-infusion records of the
    profile (NCAXFL null, AFRLT > 0) ordered by AFRLT then PCSEQ.
    """
    out = adpc.copy()
    value = out["PCSTRESN"].astype("float64")
    quant = quantifiable(value, out["ALLOQ"])
    blq = out["BLQFL"] == "Y"
    in_profile = out["NCAXFL"].isna()
    post = in_profile & (out["AFRLT"] > 0)

    profile = out.loc[post, ["USUBJID", "PARAMCD", "AFRLT", "PCSEQ"]].assign(_Q=quant[post])
    profile = profile.sort_values(["USUBJID", "PARAMCD", "AFRLT", "PCSEQ"], kind="mergesort")
    groups = [profile["USUBJID"], profile["PARAMCD"]]
    pos = profile.groupby(groups, sort=False).cumcount().astype("float64")
    quant_pos = pos.where(profile["_Q"])
    first_q = quant_pos.groupby(groups, sort=False).transform("min")
    last_q = quant_pos.groupby(groups, sort=False).transform("max")
    position = pd.Series(
        np.select(
            [first_q.isna() | (pos < first_q), pos > last_q, pos > first_q],
            ["LEADING", "TRAILING", "BETWEEN"],
            default=None,
        ),
        index=profile.index,
        dtype="object",
    )
    blq_position = pd.Series(None, index=out.index, dtype="object")
    blq_position.loc[position.index] = position
    blq_position = blq_position.where(blq & post, None)
    blq_position[(blq & in_profile & (out["AFRLT"] <= 0)).to_numpy()] = "PRE"

    set_to_zero = blq_position.isin(["PRE", "LEADING", "BETWEEN"])
    out["AVAL"] = value.where(quant).mask(set_to_zero, 0.0).astype("float64")
    out["_BLQPOS"] = blq_position
    return out


def derive_vars_pksumxf(adpc: pd.DataFrame, study: Study) -> pd.DataFrame:
    """PKSUMXF/PKSUMXRS: records left out of the summaries by nominal time, the first reason that applies:

    =======================================================  ============================================
    condition                                                PKSUMXRS
    =======================================================  ============================================
    after a re-treatment (NCA1XRS)                           SAMPLE AFTER RE-TREATMENT
    AVISIT is no scheduled visit of study.yaml               NO NOMINAL TIME (UNSCHEDULED SAMPLE)
    protocol day − target < −(1 + f) × (target − low) or     SAMPLED MORE THAN 50% OUTSIDE THE VISIT
    > (1 + f) × (high − target), f =                         WINDOW
    :data:`WINDOW_EXCESS_FRACTION`, window [low, high]
    =======================================================  ============================================

    Protocol day = ADT − infusion date (the day scale of the study.yaml windows).
    """
    out = adpc.copy()
    target = out["AVISIT"].map({v.visit: float(v.day) for v in study.visits}).astype("float64")
    low = out["AVISIT"].map({v.visit: float(v.window[0]) for v in study.visits}).astype("float64")
    high = out["AVISIT"].map({v.visit: float(v.window[1]) for v in study.visits}).astype("float64")
    deviation = protocol_day(out["ADT"], out["FANLDTM"]) - target
    factor = 1.0 + WINDOW_EXCESS_FRACTION
    outside = (deviation < -factor * (target - low)) | (deviation > factor * (high - target))
    reason = np.select(
        [
            (out["NCA1XRS"] == REASON_RETREATMENT).to_numpy(),
            target.isna().to_numpy(),
            outside.fillna(False).to_numpy(dtype=bool),
        ],
        [REASON_RETREATMENT, REASON_NO_NOMINAL, REASON_WINDOW],
        default=None,
    )
    out["PKSUMXRS"] = _text(reason, out.index)
    out["PKSUMXF"] = _flag(out["PKSUMXRS"].notna(), out.index)
    return out


def derive_vars_anl_flags(adpc: pd.DataFrame) -> pd.DataFrame:
    """ANL01FL: records of the primary analysis (AVAL present, NCAXFL null); ANL02FL: the sensitivity
    analysis, the same without the BLQ samples between quantifiable ones (STUDY.md §3.4)."""
    out = adpc.copy()
    primary = out["AVAL"].notna() & out["NCAXFL"].isna()
    out["ANL01FL"] = _flag(primary, out.index)
    out["ANL02FL"] = _flag(primary & (out["_BLQPOS"] != "BETWEEN"), out.index)
    return out


def derive_vars_source(adpc: pd.DataFrame) -> pd.DataFrame:
    """SRCDOM/SRCVAR/SRCSEQ: the PC record (PCSEQ) and variable (PCSTRESN) AVAL comes from."""
    out = adpc.copy()
    out["SRCDOM"] = pd.Series("PC", index=out.index, dtype="str")
    out["SRCVAR"] = pd.Series("PCSTRESN", index=out.index, dtype="str")
    out["SRCSEQ"] = out["PCSEQ"].astype("float64")
    return out
