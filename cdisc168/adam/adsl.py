"""ADSL, the subject-level analysis dataset (ADaMIG 1.3 §3.2; STUDY.md §3.1 and its Decisions).

One record per subject in DM (screen failures included), built from DM, SUPPDM, MH/SUPPMH, EX/SUPPEX,
PR, DS, DD, AE/SUPPAE, PC, VS, LB, RS, QS and CM. The builder reads top to bottom like a template:
one derivation per step, each a small function named for what it derives.

Conventions (STUDY.md Decisions):

- TRTSDTM/TRTEDTM are the start/end of the C-CAR168 infusion (EX EXTRT "C-CAR168"); a subject who had
  lymphodepletion (LD) only has no TRTSDT, SAFFL "N" and LDSAFFL "Y".
- Population flags (ENRLFL, APHFL, LDSAFFL, SAFFL, DLTEVLFL, PKFL, EFFFL) are "Y" or "N" for every
  subject, never null (ADaMIG 1.3 §3.1.4 and §3.2).
- Baselines are pre-lymphodepletion: the last non-missing value dated on or before the first LD dose
  (LDSTDT, compared by date as SDTM --LOBXFL does); a subject never lymphodepleted takes the last value
  up to the data cut (all of his records are pre-treatment).
- Dates are ``datetime64`` (the XPT writer makes SAS dates from the spec's DATE9./DATETIME20.).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cdisc168.adam.derive import derive_vars_dt, derive_vars_dtm, derive_vars_merged
from cdisc168.adam_spec import conform, load_adam_spec
from cdisc168.study import Study

KEYS = ["STUDYID", "USUBJID"]
CAR_T = "C-CAR168"  # EXTRT of the CAR-T product (STUDY.md §2.3)
LEUKAPHERESIS = "LEUKAPHERESIS"  # PRTRT (STUDY.md Placement: apher → PR)
ELIGIBLE = "ELIGIBILITY CRITERIA MET"  # PROTMLST C132447
CONSENTED = "INFORMED CONSENT OBTAINED"  # PROTMLST C16735
DISPOSITION_EVENT = "DISPOSITION EVENT"  # DSCAT C74590
COMPLETED = "COMPLETED"  # NCOMPLT C25250
# The epochs whose completion ends the study (EPOCH C99079); completing an earlier epoch (screening,
# treatment) only moves the subject on.
FINAL_EPOCHS = ("FOLLOW-UP", "LONG-TERM FOLLOW-UP")
PRIMARY_DIAGNOSIS = "PRIMARY DIAGNOSIS"  # MHCAT
CAUSE_OF_DEATH = "PRCDTH"  # DDTESTCD
PHASE_LD = "LD"  # APHASE codelist (mappings/terminology.yaml)
PHASE_POST_INFUSION = "POST-INFUSION"
# AGEGR1 (codelist AGEGR1): (lower bound in years inclusive, label, AGEGR1N); sponsor grouping.
AGE_GROUPS = ((0, "<40", 1.0), (40, "40-64", 2.0), (65, ">=65", 3.0))
# Domains whose record dates (--DTC, --STDTC) show the subject alive on that date (LSTALVDT). DM (derived
# reference dates, birth date), SE and the derived PP are left out; end dates (--ENDTC) are not record
# dates (often planned or reported later), as for DM RFPENDTC.
ALIVE_DOMAINS = (
    "AE",
    "CE",
    "CM",
    "CP",
    "DS",
    "EX",
    "FA",
    "IE",
    "IS",
    "LB",
    "MH",
    "NV",
    "PC",
    "PR",
    "QS",
    "RS",
    "SV",
    "VS",
)
# Baseline disease and immunology values: ADSL variable → (domain, --TESTCD).
BASELINES = {
    "BSLEDAI": ("RS", "SLED0125"),
    "BEDSS": ("RS", "EDSS0101"),
    "BMGADL": ("QS", "MGADL09"),
    "BQMG": ("RS", "QMG14"),
    "BMMT8": ("RS", "MMT8TOT"),
    "BCK": ("LB", "CK"),
    "BIGG": ("LB", "IGG"),
    "BCD19": ("LB", "BLYCE"),
}
IMMUNOSUPPRESSANT_CATEGORIES = ("IMMUNOSUPPRESSANT", "BIOLOGIC")  # CMCAT (STUDY.md §2.3, §3.6 ISFREE)
NON_DISEASE_INDICATIONS = ("CRS", "ICANS", "PREMEDICATION", "PROPHYLAXIS", "AE")  # CMINDC


def build_adsl(
    sdtm: Mapping[str, pd.DataFrame], adam: Mapping[str, pd.DataFrame], study: Study
) -> pd.DataFrame:
    """ADSL from the SDTM datasets (``adam`` is not used: ADSL comes first in the ADaM order)."""
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADSL.yaml")
    cut = pd.Timestamp(study.data_cut)
    adsl = derive_vars_dm(sdtm["DM"])
    adsl = derive_vars_agegr1(adsl)
    adsl = derive_vars_indication(adsl, sdtm["SUPPDM"], study)
    adsl = derive_var_disdury(adsl, sdtm["MH"], sdtm["SUPPMH"])
    adsl = derive_vars_trt01(adsl, study)
    adsl = derive_vars_infusion(adsl, sdtm["EX"], sdtm["SUPPEX"])
    adsl = derive_vars_ld(adsl, sdtm["EX"], study)
    adsl = derive_var_aphdt(adsl, sdtm["PR"])
    adsl = derive_vars_death(adsl, sdtm["DM"], sdtm["DD"])
    adsl = derive_vars_disposition(adsl, sdtm["DS"])
    adsl = derive_var_lstalvdt(adsl, sdtm, cut)
    adsl = derive_vars_aphase(adsl)
    adsl = derive_vars_vs_baseline(adsl, sdtm["VS"], study, cut)
    adsl = derive_vars_disease_baseline(adsl, sdtm, cut)
    adsl = derive_var_bisn(adsl, sdtm["CM"])
    adsl = derive_var_lstdadt(adsl, sdtm, cut)
    adsl = derive_vars_populations(adsl, sdtm["DS"])
    adsl = derive_var_dltevlfl(adsl, sdtm["AE"], sdtm["SUPPAE"], study)
    adsl = derive_var_pkfl(adsl, sdtm["PC"])
    adsl = derive_var_efffl(adsl, sdtm, cut)
    adsl["DCUTDT"] = cut.as_unit("us")
    return conform(adsl, spec)


# --------------------------------------------------------------------------------------------------
# helpers


def _population_flag(condition: pd.Series) -> pd.Series:
    """Subject-level population flag: "Y" where true, "N" elsewhere (a missing condition is false);
    never null (ADaMIG 1.3 §3.1.4 and §3.2)."""
    values = condition.fillna(False).to_numpy(dtype=bool)
    return pd.Series(np.where(values, "Y", "N"), index=condition.index, dtype="str")


def _dates(frame: pd.DataFrame, dtc: str) -> pd.Series:
    """Complete dates of an ISO 8601 column (partial or missing values → NaT)."""
    return derive_vars_dt(frame[[dtc]], "_X", dtc)["_XDT"]


def _baseline_reference(adsl: pd.DataFrame, cut: pd.Timestamp) -> pd.Series:
    """Last day a pre-lymphodepletion baseline may come from: LDSTDT, else the data cut."""
    return adsl["LDSTDT"].fillna(cut)


# --------------------------------------------------------------------------------------------------
# identifiers, demographics, indication, treatment


def derive_vars_dm(dm: pd.DataFrame) -> pd.DataFrame:
    """Predecessors of DM: identifiers, demographics, arms, death flag, consent date (ADaMIG §3.2)."""
    columns = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "COUNTRY"]
    columns += ["ARM", "ARMCD", "ACTARM", "ACTARMCD", "DTHFL"]
    adsl = dm[columns].reset_index(drop=True).copy()
    adsl["AGE"] = adsl["AGE"].astype("float64")
    adsl["RFICDT"] = _dates(dm, "RFICDTC").to_numpy()
    return adsl


def derive_vars_agegr1(adsl: pd.DataFrame) -> pd.DataFrame:
    """AGEGR1/AGEGR1N: age groups <40, 40-64, >=65 years (sponsor grouping, codelist AGEGR1)."""
    out = adsl.copy()
    bounds = [low for low, _, _ in AGE_GROUPS]
    group = np.searchsorted(bounds, out["AGE"].to_numpy(dtype=float), side="right") - 1
    known = out["AGE"].notna().to_numpy()
    labels = np.array([label for _, label, _ in AGE_GROUPS], dtype=object)
    numbers = np.array([n for _, _, n in AGE_GROUPS])
    out["AGEGR1"] = pd.Series(np.where(known, labels[group.clip(0)], None), index=out.index, dtype="str")
    out["AGEGR1N"] = np.where(known, numbers[group.clip(0)], np.nan)
    return out


def derive_vars_indication(adsl: pd.DataFrame, suppdm: pd.DataFrame, study: Study) -> pd.DataFrame:
    """INDICAT from SUPPDM QNAM INDICAT; INDICATN its order in study.yaml ``indications``."""
    out = derive_vars_merged(
        adsl,
        suppdm,
        new_vars={"INDICAT": "QVAL"},
        filter_add=lambda d: d["QNAM"] == "INDICAT",
    )
    order = {i.code: float(i.order) for i in study.indications}
    out["INDICATN"] = out["INDICAT"].map(order).astype("float64")
    return out


def derive_var_disdury(adsl: pd.DataFrame, mh: pd.DataFrame, suppmh: pd.DataFrame) -> pd.DataFrame:
    """DISDURY: disease duration (years) at consent, SUPPMH DISDURY of the MHCAT PRIMARY DIAGNOSIS record."""
    primary = mh.loc[mh["MHCAT"] == PRIMARY_DIAGNOSIS, ["STUDYID", "USUBJID", "MHSEQ"]]
    supp = suppmh.loc[suppmh["QNAM"] == "DISDURY", ["STUDYID", "USUBJID", "IDVARVAL", "QVAL"]].copy()
    supp["MHSEQ"] = pd.to_numeric(supp["IDVARVAL"], errors="coerce")
    supp["DISDURY"] = pd.to_numeric(supp["QVAL"], errors="coerce")
    primary = primary.merge(
        supp[["STUDYID", "USUBJID", "MHSEQ", "DISDURY"]], on=["STUDYID", "USUBJID", "MHSEQ"]
    )
    return derive_vars_merged(adsl, primary, new_vars=["DISDURY"], order=["MHSEQ"], mode="first")


def derive_vars_trt01(adsl: pd.DataFrame, study: Study) -> pd.DataFrame:
    """TRT01P/TRT01PN from ARMCD, TRT01A/TRT01AN from ACTARMCD: the dose level's text and dose
    (×10^6 CAR+ T cells/kg) of study.yaml ``dose_levels``. Null without an (actual) arm."""
    out = adsl.copy()
    text = {d.armcd: d.arm for d in study.dose_levels}
    dose = {d.armcd: float(d.dose) for d in study.dose_levels}
    out["TRT01P"] = out["ARMCD"].map(text).astype("str")
    out["TRT01PN"] = out["ARMCD"].map(dose).astype("float64")
    out["TRT01A"] = out["ACTARMCD"].map(text).astype("str")
    out["TRT01AN"] = out["ACTARMCD"].map(dose).astype("float64")
    return out


def derive_vars_infusion(adsl: pd.DataFrame, ex: pd.DataFrame, suppex: pd.DataFrame) -> pd.DataFrame:
    """TRTSDTM/TRTEDTM: start/end of the C-CAR168 infusion (a missing time is imputed 00:00:00 for the
    start and 23:59:59 for the end, flagged in TRTSTMF/TRTETMF; uncollected seconds are not flagged);
    TRTSDT/TRTEDT their dates; DOSEKG = EXDOSE (x10^6/kg) and TOTCELL = SUPPEX TOTCELL (x10^6 CAR+ T
    cells) of that EX record."""
    car = ex.loc[ex["EXTRT"] == CAR_T].copy()
    times = {"flag_imputation": "time", "ignore_seconds_flag": True}  # seconds are never collected
    car = derive_vars_dtm(car, "TRTS", "EXSTDTC", **times)
    car = derive_vars_dtm(car, "TRTE", "EXENDTC", time_imputation="last", **times)
    car["DOSEKG"] = car["EXDOSE"].astype("float64")
    totcell = suppex.loc[suppex["QNAM"] == "TOTCELL", ["STUDYID", "USUBJID", "IDVARVAL", "QVAL"]].copy()
    totcell["EXSEQ"] = pd.to_numeric(totcell["IDVARVAL"], errors="coerce")
    totcell["TOTCELL"] = pd.to_numeric(totcell["QVAL"], errors="coerce")
    car = car.merge(
        totcell[["STUDYID", "USUBJID", "EXSEQ", "TOTCELL"]], on=["STUDYID", "USUBJID", "EXSEQ"], how="left"
    )
    new = ["TRTSDTM", "TRTSTMF", "TRTEDTM", "TRTETMF", "DOSEKG", "TOTCELL"]
    out = derive_vars_merged(adsl, car, new_vars=new, order=["TRTSDTM", "EXSEQ"], mode="first")
    out["TRTSDT"] = out["TRTSDTM"].dt.normalize()
    out["TRTEDT"] = out["TRTEDTM"].dt.normalize()
    return out


def derive_vars_ld(adsl: pd.DataFrame, ex: pd.DataFrame, study: Study) -> pd.DataFrame:
    """LDSTDT/LDENDT: first start and last end date of the lymphodepletion drugs (study.yaml
    ``lymphodepletion.drugs``) in EX."""
    drugs = {d.name for d in study.ld_drugs}
    ld = ex.loc[ex["EXTRT"].isin(drugs), ["STUDYID", "USUBJID", "EXSTDTC", "EXENDTC"]].copy()
    ld["LDSTDT"] = _dates(ld, "EXSTDTC")
    ld["LDENDT"] = _dates(ld, "EXENDTC").fillna(ld["LDSTDT"])
    first = ld.dropna(subset=["LDSTDT"])
    out = derive_vars_merged(
        adsl, first, new_vars=["LDSTDT"], order=["LDSTDT"], mode="first", check_unique=False
    )
    last = ld.dropna(subset=["LDENDT"])
    return derive_vars_merged(
        out, last, new_vars=["LDENDT"], order=["LDENDT"], mode="last", check_unique=False
    )


def derive_var_aphdt(adsl: pd.DataFrame, pr: pd.DataFrame) -> pd.DataFrame:
    """APHDT: date of the (first) leukapheresis, PR PRTRT LEUKAPHERESIS."""
    aph = pr.loc[pr["PRTRT"] == LEUKAPHERESIS, ["STUDYID", "USUBJID", "PRSTDTC"]].copy()
    aph["APHDT"] = _dates(aph, "PRSTDTC")
    aph = aph.dropna(subset=["APHDT"])
    return derive_vars_merged(
        adsl, aph, new_vars=["APHDT"], order=["APHDT"], mode="first", check_unique=False
    )


# --------------------------------------------------------------------------------------------------
# death, disposition, last contact, phases


def derive_vars_death(adsl: pd.DataFrame, dm: pd.DataFrame, dd: pd.DataFrame) -> pd.DataFrame:
    """DTHDT (DM DTHDTC; a partial date imputed to the first day of the month/year, DTHDTF) and
    DTHCAUS (DD primary cause of death, DDTESTCD PRCDTH)."""
    death = derive_vars_dt(dm[["STUDYID", "USUBJID", "DTHDTC"]], "DTH", "DTHDTC", highest_imputation="M")
    out = derive_vars_merged(adsl, death, new_vars=["DTHDT", "DTHDTF"])
    return derive_vars_merged(
        out,
        dd,
        new_vars={"DTHCAUS": "DDSTRESC"},
        filter_add=lambda d: d["DDTESTCD"] == CAUSE_OF_DEATH,
        order=["DDSEQ"],
        mode="first",
    )


def derive_vars_disposition(adsl: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """EOSSTT, EOSDT, DCSREAS from the end-of-study disposition event (ADaMIG §3.2, SBJTSTAT C124296).

    DS has one DISPOSITION EVENT per epoch (STUDY.md §2.11). The study ends with the last disposition
    event unless that event is the completion of an epoch before follow-up (completing screening or
    the treatment epoch moves the subject on):

    ======================================  ============  ======  ================
    last DISPOSITION EVENT                  EOSSTT        EOSDT   DCSREAS
    ======================================  ============  ======  ================
    COMPLETED in FOLLOW-UP                  COMPLETED     DSSTDT  (null)
    any other DSDECOD (incl. SCREEN         DISCONTINUED  DSSTDT  DSDECOD
    FAILURE, DEATH)
    COMPLETED of SCREENING / TREATMENT,     ONGOING       (null)  (null)
    or none (at the data cut)
    ======================================  ============  ======  ================
    """
    events = ds.loc[
        ds["DSCAT"] == DISPOSITION_EVENT, ["STUDYID", "USUBJID", "DSSEQ", "DSDECOD", "EPOCH", "DSSTDTC"]
    ]
    events = derive_vars_dt(events, "EOS", "DSSTDTC")
    last = events.sort_values(["USUBJID", "EOSDT", "DSSEQ"], kind="mergesort").drop_duplicates(
        "USUBJID", keep="last"
    )
    completed = last["DSDECOD"] == COMPLETED
    ends_study = ~completed | last["EPOCH"].isin(FINAL_EPOCHS)
    last = last.loc[ends_study].assign(
        EOSSTT=np.where(completed[ends_study], "COMPLETED", "DISCONTINUED"),
        DCSREAS=lambda d: d["DSDECOD"].where(d["DSDECOD"] != COMPLETED),
    )
    out = derive_vars_merged(adsl, last, new_vars=["EOSSTT", "EOSDT", "DCSREAS"])
    out["EOSSTT"] = out["EOSSTT"].fillna("ONGOING").astype("str")
    out["DCSREAS"] = out["DCSREAS"].astype("str")
    return out


def _record_days(frame: pd.DataFrame, dtc: str, cut: pd.Timestamp) -> pd.DataFrame:
    """(USUBJID, DAY) of the records whose ``dtc`` holds a complete date on or before the data cut; DAY
    is the ISO ``YYYY-MM-DD`` text, so per-subject extremes are taken on text before any parsing (fast
    on millions of records; SDTM --DTC values are validated ISO 8601)."""
    day = frame[dtc].astype("str").str.slice(0, 10)
    complete = (day.str.len() == 10) & (day.str.slice(4, 5) == "-") & (day.str.slice(7, 8) == "-")
    keep = complete & (day <= cut.strftime("%Y-%m-%d"))
    return pd.DataFrame({"USUBJID": frame.loc[keep, "USUBJID"], "DAY": day[keep]})


def _as_dates(days: pd.Series) -> pd.Series:
    return pd.to_datetime(days, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")


def derive_var_lstalvdt(
    adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame], cut: pd.Timestamp
) -> pd.DataFrame:
    """LSTALVDT: the last date the subject was known alive (ADaMIG §3.2): the death date for deaths,
    otherwise the latest complete record date (--DTC, --STDTC) of any record of :data:`ALIVE_DOMAINS` on
    or before the data cut (the SDTM last contact, DM RFPENDTC, is built the same way from the forms)."""
    pieces = [
        _record_days(frame, column, cut).groupby("USUBJID", as_index=False)["DAY"].max()
        for domain in ALIVE_DOMAINS
        if (frame := sdtm.get(domain)) is not None
        for column in (f"{domain}DTC", f"{domain}STDTC")
        if column in frame.columns
    ]
    days = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=["USUBJID", "DAY"])
    latest = _as_dates(days.groupby("USUBJID")["DAY"].max())
    out = adsl.copy()
    out["LSTALVDT"] = out["DTHDT"].fillna(out["USUBJID"].map(latest)).astype("datetime64[us]")
    return out


def derive_vars_aphase(adsl: pd.DataFrame) -> pd.DataFrame:
    """APHASE1 "LD" (PH1SDT = LDSTDT .. PH1EDT = the day before TRTSDT, or the end of study/last contact
    without an infusion) and APHASE2 "POST-INFUSION" (PH2SDT = TRTSDT .. PH2EDT = EOSDT, or LSTALVDT
    for subjects ongoing at the cut). STUDY.md Decisions: APHASE with PHwSDT/PHwEDT, not periods."""
    out = adsl.copy()
    end_of_study = out["EOSDT"].fillna(out["LSTALVDT"])
    has_ld = out["LDSTDT"].notna()
    out["APHASE1"] = pd.Series(np.where(has_ld, PHASE_LD, None), index=out.index, dtype="str")
    out["PH1SDT"] = out["LDSTDT"]
    out["PH1EDT"] = (out["TRTSDT"] - pd.Timedelta(days=1)).fillna(end_of_study).where(has_ld)
    infused = out["TRTSDT"].notna()
    out["APHASE2"] = pd.Series(np.where(infused, PHASE_POST_INFUSION, None), index=out.index, dtype="str")
    out["PH2SDT"] = out["TRTSDT"]
    out["PH2EDT"] = end_of_study.where(infused)
    return out


# --------------------------------------------------------------------------------------------------
# baselines


def _last_on_or_before(
    adsl: pd.DataFrame, records: pd.DataFrame, new_var: str, order: list[str]
) -> pd.DataFrame:
    """``new_var`` = AVAL of the last record (by ``order``) dated on or before the baseline reference;
    ``records`` has USUBJID, ADT (NaT allowed when ``_UNDATED_OK``), AVAL and the ``order`` columns."""
    ref = records["USUBJID"].map(adsl.set_index("USUBJID")["_BLREF"])
    eligible = records["AVAL"].notna() & ((records["ADT"] <= ref) | records["_UNDATED_OK"])
    chosen = records.loc[eligible.to_numpy()].assign(
        STUDYID=lambda d: d["USUBJID"].map(adsl.set_index("USUBJID")["STUDYID"])
    )
    return derive_vars_merged(
        adsl, chosen, new_vars={new_var: "AVAL"}, order=order, mode="last", check_unique=False
    )


def derive_vars_vs_baseline(
    adsl: pd.DataFrame, vs: pd.DataFrame, study: Study, cut: pd.Timestamp
) -> pd.DataFrame:
    """HEIGHTBL (cm), WEIGHTBL (kg): the last VS value on or before the first LD dose; the undated
    demography height/weight (VSDTC empty, VISIT SCREENING) counts as screening, before any dated value.
    BMIBL = WEIGHTBL / (HEIGHTBL/100)² (kg/m2)."""
    out = adsl.assign(_BLREF=_baseline_reference(adsl, cut))
    screening = study.visits[0].visit
    for new_var, testcd in (("HEIGHTBL", "HEIGHT"), ("WEIGHTBL", "WEIGHT")):
        rec = vs.loc[vs["VSTESTCD"] == testcd, ["USUBJID", "VISITNUM", "VISIT", "VSDTC", "VSSTRESN"]].copy()
        rec["ADT"] = _dates(rec, "VSDTC")
        rec["AVAL"] = rec["VSSTRESN"].astype("float64")
        rec["_UNDATED_OK"] = rec["ADT"].isna() & (rec["VISIT"] == screening)
        # undated screening values first, then dated values in time order
        rec["_DATED"] = rec["ADT"].notna().astype(int)
        out = _last_on_or_before(out, rec, new_var, ["_DATED", "ADT", "VISITNUM"])
    out["BMIBL"] = out["WEIGHTBL"] / (out["HEIGHTBL"] / 100.0) ** 2
    return out.drop(columns="_BLREF")


def derive_vars_disease_baseline(
    adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame], cut: pd.Timestamp
) -> pd.DataFrame:
    """BSLEDAI, BEDSS, BMGADL, BQMG, BMMT8 (RS/QS totals), BCK, BIGG, BCD19 (LB standard units):
    the last non-missing --STRESN dated on or before LDSTDT (STUDY.md §3 PRE-LYMPHODEPLETION)."""
    out = adsl.assign(_BLREF=_baseline_reference(adsl, cut))
    for new_var, (domain, testcd) in BASELINES.items():
        frame = sdtm[domain]
        rec = frame.loc[
            frame[f"{domain}TESTCD"] == testcd, ["USUBJID", f"{domain}DTC", f"{domain}STRESN"]
        ].copy()
        rec = derive_vars_dtm(rec, "A", f"{domain}DTC", flag_imputation="none")
        rec["ADT"] = rec["ADTM"].dt.normalize()
        rec["AVAL"] = rec[f"{domain}STRESN"].astype("float64")
        rec["_UNDATED_OK"] = False
        out = _last_on_or_before(out, rec, new_var, ["ADTM"])
    return out.drop(columns="_BLREF")


def _cm_dates(cm: pd.DataFrame) -> pd.DataFrame:
    """CM start (first day of a partial date) and end (last day of a partial date; null = ongoing)."""
    out = derive_vars_dt(cm, "CMS", "CMSTDTC", highest_imputation="M", flag_imputation=False)
    return derive_vars_dt(
        out, "CME", "CMENDTC", highest_imputation="M", date_imputation="last", flag_imputation=False
    )


def derive_var_bisn(adsl: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    """BISN: number of distinct immunosuppressants/biologics (CMCAT IMMUNOSUPPRESSANT or BIOLOGIC, given
    for the disease) ongoing at informed consent (CMSTDT <= RFICDT <= CMENDT, ongoing = open end).

    The protocol washes immunosuppressants out before lymphodepletion, so the background therapy the
    subject was refractory to is counted at consent, not at LDSTDT; subjects without one have 0."""
    treated = cm.loc[
        cm["CMCAT"].isin(IMMUNOSUPPRESSANT_CATEGORIES) & ~cm["CMINDC"].isin(NON_DISEASE_INDICATIONS)
    ]
    treated = _cm_dates(treated[["USUBJID", "CMDECOD", "CMTRT", "CMSTDTC", "CMENDTC"]])
    consent = treated["USUBJID"].map(adsl.set_index("USUBJID")["RFICDT"])
    ongoing = treated.loc[
        (treated["CMSDT"] <= consent) & ((treated["CMEDT"] >= consent) | treated["CMEDT"].isna())
    ]
    count = (
        ongoing.assign(_DRUG=ongoing["CMDECOD"].fillna(ongoing["CMTRT"]))
        .groupby("USUBJID")["_DRUG"]
        .nunique()
    )
    out = adsl.copy()
    out["BISN"] = out["USUBJID"].map(count).fillna(0.0).astype("float64")
    return out


def _assessment_range(sdtm: Mapping[str, pd.DataFrame], cut: pd.Timestamp) -> pd.DataFrame:
    """Per subject (index USUBJID): FIRST and LAST complete date of an RS/QS disease assessment with a
    result, on or before the data cut."""
    pieces = []
    for domain in ("RS", "QS"):
        frame = sdtm[domain]
        result = frame[f"{domain}STRESC"]
        has_result = result.notna() & result.astype("str").str.strip().ne("")
        pieces.append(_record_days(frame.loc[has_result], f"{domain}DTC", cut))
    days = pd.concat(pieces, ignore_index=True).groupby("USUBJID")["DAY"]
    return pd.DataFrame({"FIRST": _as_dates(days.min()), "LAST": _as_dates(days.max())})


def derive_var_lstdadt(
    adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame], cut: pd.Timestamp
) -> pd.DataFrame:
    """LSTDADT: date of the last RS/QS disease assessment with a result, on or before the data cut."""
    assessed = _assessment_range(sdtm, cut)
    out = adsl.copy()
    out["LSTDADT"] = out["USUBJID"].map(assessed["LAST"]).astype("datetime64[us]")
    return out


# --------------------------------------------------------------------------------------------------
# populations


def derive_vars_populations(adsl: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """ENRLFL (DS milestones INFORMED CONSENT OBTAINED and ELIGIBILITY CRITERIA MET), APHFL
    (leukapheresed: APHDT), SAFFL (received C-CAR168, any dose: TRTSDT), LDSAFFL (received any LD);
    each "Y" when met, else "N"."""
    out = adsl.copy()
    milestones = ds.loc[ds["DSDECOD"].isin([CONSENTED, ELIGIBLE]), ["USUBJID", "DSDECOD"]]
    reached = milestones.groupby("USUBJID")["DSDECOD"].nunique()
    out["ENRLFL"] = _population_flag(out["USUBJID"].map(reached).eq(2))
    out["APHFL"] = _population_flag(out["APHDT"].notna())
    out["SAFFL"] = _population_flag(out["TRTSDT"].notna())
    out["LDSAFFL"] = _population_flag(out["LDSTDT"].notna())
    return out


def derive_var_dltevlfl(
    adsl: pd.DataFrame, ae: pd.DataFrame, suppae: pd.DataFrame, study: Study
) -> pd.DataFrame:
    """DLTEVLFL (STUDY.md §3.1): SAFFL = "Y" and (followed up to protocol day 28, i.e. LSTALVDT −
    TRTSDT >= the end of study.thresholds.dlt_window_days, or an investigator-assessed DLT (SUPPAE AEDLT
    = "Y") starting within that window) and DOSEKG >= study.thresholds.dlt_evaluable_min_dose_fraction
    × TRT01PN; else "N". ADSL comes before ADAE, so the DLT here is the investigator's (SUPPAE AEDLT)."""
    low, high = study.thresholds.dlt_window_days
    out = adsl.copy()
    dlt = suppae.loc[(suppae["QNAM"] == "AEDLT") & (suppae["QVAL"] == "Y"), ["USUBJID", "IDVARVAL"]].copy()
    dlt["AESEQ"] = pd.to_numeric(dlt["IDVARVAL"], errors="coerce")
    events = ae[["USUBJID", "AESEQ", "AESTDTC"]].merge(dlt[["USUBJID", "AESEQ"]], on=["USUBJID", "AESEQ"])
    events = events.assign(TRTSDT=events["USUBJID"].map(out.set_index("USUBJID")["TRTSDT"]))
    events = derive_vars_dt(events, "AST", "AESTDTC", highest_imputation="M", min_dates=["TRTSDT"])
    day = (events["ASTDT"] - events["TRTSDT"]).dt.days
    in_window = events.loc[(day >= low) & (day <= high), "USUBJID"].unique()
    followed = (out["LSTALVDT"] - out["TRTSDT"]).dt.days >= high
    had_dlt = out["USUBJID"].isin(in_window)
    dosed = out["DOSEKG"] >= study.thresholds.dlt_evaluable_min_dose_fraction * out["TRT01PN"]
    out["DLTEVLFL"] = _population_flag((out["SAFFL"] == "Y") & (followed | had_dlt) & dosed.fillna(False))
    return out


def derive_var_pkfl(adsl: pd.DataFrame, pc: pd.DataFrame) -> pd.DataFrame:
    """PKFL: SAFFL = "Y" and >= 1 quantifiable PC value (PCSTRESN present) sampled after the start of
    the infusion (PCDTC > TRTSDTM; a sample without a time counts when dated after TRTSDT); else "N"."""
    out = adsl.copy()
    rec = pc.loc[pc["PCSTRESN"].notna(), ["USUBJID", "PCDTC"]]
    rec = derive_vars_dtm(rec, "A", "PCDTC", flag_imputation="none")
    rec = rec.assign(ADT=rec["ADTM"].dt.normalize())
    has_time = rec["PCDTC"].astype("str").str.len() > 10
    start = rec["USUBJID"].map(out.set_index("USUBJID")["TRTSDTM"])
    post = np.where(has_time, rec["ADTM"] > start, rec["ADT"] > start.dt.normalize())
    subjects = rec.loc[post, "USUBJID"].unique()
    out["PKFL"] = _population_flag((out["SAFFL"] == "Y") & out["USUBJID"].isin(subjects))
    return out


def derive_var_efffl(adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame], cut: pd.Timestamp) -> pd.DataFrame:
    """EFFFL: SAFFL = "Y" and a baseline (dated on or before LDSTDT) and >= 1 post-baseline (dated
    after TRTSDT, up to the data cut) RS/QS disease assessment with a result; else "N"."""
    out = adsl.copy()
    assessed = _assessment_range(sdtm, cut)
    baseline = out["USUBJID"].map(assessed["FIRST"]) <= out["LDSTDT"]
    post_baseline = out["USUBJID"].map(assessed["LAST"]) > out["TRTSDT"]
    out["EFFFL"] = _population_flag((out["SAFFL"] == "Y") & baseline & post_baseline)
    return out
