"""ADPP, the cellular kinetic parameters (ADaM BDS; STUDY.md §3.4 "ADPP").

One record per subject × analyte × parameter, computed from ADPC with actual times (AFRLT, days from
the infusion start) by :func:`cdisc168.nca.compute_nca`, the computation SDTM PP uses
(:mod:`cdisc168.sdtm.pp`): the same samples, BLQ rules and AUC intervals, so ADPP and SDTM PP agree, and
each ADPP value names its PP record (SRCDOM "PP", SRCVAR "PPSTRESN", SRCSEQ = PPSEQ). AVAL keeps the
precision PP reports (10 significant digits), so AVAL = PPSTRESN exactly.

NCA input: the ADPC records with NCAXFL null (re-treatment, unknown time or no result are left out);
quantifiable results (BLQFL null) as concentrations and BLQFL = "Y" records as below the LLOQ, to which
the nca module applies the ADPC rules (leading and intermediate BLQ 0, trailing BLQ excluded; a trailing
BLQ also shows that Tlast is not censored).

Parameters. BDS needs one PARAM per PARAMCD and a PARAM that states the analyte and the unit of AVAL
(ADaMIG 1.3 §3.3.4), so the PK parameter code (CDISC PKPARMCD, as in SDTM PP) is prefixed with a letter
per analyte (:data:`ANALYTE_PREFIX`: D = CARTDNA, C = CARTCELL, P = CARTPCT); PARCAT1 is the analyte. The
AUC intervals are separate parameters (AUC28, AUC90) rather than one AUCINT with interval variables:

==========  ==============  ==========================================  ==============================
PARAMCD     nca / PP        PARAM (before " of <analyte> in Blood")     AVALU
==========  ==============  ==========================================  ==============================
xCMAX       CMAX            Max Conc                                    PCSTRESU (DNA copies/ug ...)
xTMAX       TMAX            Time of CMAX Observation                    day
xTLST       TLAST / TLST    Time of Last Nonzero Conc                   day
xCLST       CLAST / CLST    Last Nonzero Conc                           PCSTRESU
xAUCLST     AUCLAST/AUCLST  AUC to Last Nonzero Conc                    day*<PCSTRESU>
xAUC28      AUCINT P0D-P28D AUC from 0 to 28 days                       day*<PCSTRESU>
xAUC90      AUCINT P0D-P90D AUC from 0 to 90 days                       day*<PCSTRESU>
xAUC28DW    (ADaM only)     AUC from 0 to 28 days Norm by Dose/kg       (day*<PCSTRESU>)/(10^6/kg)
==========  ==============  ==========================================  ==============================

xAUC28DW is STUDY.md's optional dose-normalised exposure ("TAUC28RT"; PKPARMCD AUCINTDW concept):
AUC0-28 / DOSEA (ADSL DOSEKG, 10^6 CAR+ T cells/kg). Flags: TLSTCNSR = "Y" on xTLST when the last sample
is quantifiable (persistence censored); PPPARTFL = "Y" on an AUC ending at the last sample before the
interval's end but inside its visit window (and on the dose-normalised AUC made from it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cdisc168 import nca
from cdisc168.adam.adpc import ANALYTES, PK_ADSL_VARS, protocol_day
from cdisc168.adam.derive import derive_vars_merged
from cdisc168.adam_spec import conform, load_adam_spec
from cdisc168.sdtm.pp import PPTESTCD, TIME_UNIT, auc_intervals
from cdisc168.sdtm.results import number_text
from cdisc168.study import Study

KEYS = ["STUDYID", "USUBJID"]
#: The profile of one analyte of one subject (ADPC PARAMCD = PCTESTCD).
PROFILE = ["STUDYID", "USUBJID", "PARAMCD"]
#: PARAMCD prefix of each analyte (ADPC PARAMCD).
ANALYTE_PREFIX = {"CARTDNA": "D", "CARTCELL": "C", "CARTPCT": "P"}
#: nca parameter → (PARAMCD stem, PARAM name, unit kind); AUCINT stem and name take the interval end.
PARAMETERS = {
    nca.CMAX: ("CMAX", "Max Conc", "conc"),
    nca.TMAX: ("TMAX", "Time of CMAX Observation", "time"),
    nca.TLAST: ("TLST", "Time of Last Nonzero Conc", "time"),
    nca.CLAST: ("CLST", "Last Nonzero Conc", "conc"),
    nca.AUCLAST: ("AUCLST", "AUC to Last Nonzero Conc", "auc"),
    nca.AUCINT: ("AUC{end:g}", "AUC from 0 to {end:g} days", "auc"),
}
#: STUDY.md §3.4 "TAUC28RT": the AUC interval (days) normalised by the dose per kg.
DOSE_NORMALISED_AUC_END = 28.0
#: ADSL variables of ADPP: {ADPP name: ADSL name}, the same as ADPC's.
ADSL_VARS = PK_ADSL_VARS


def build_adpp(
    sdtm: Mapping[str, pd.DataFrame], adam: Mapping[str, pd.DataFrame], study: Study
) -> pd.DataFrame:
    """ADPP from ADaM ADPC and ADSL (``adam["ADPC"]``, ``adam["ADSL"]``), traced to SDTM PP."""
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADPP.yaml")
    adpp = compute_kinetic_parameters(adam["ADPC"], study)
    adpp = derive_vars_param(adpp, adam["ADPC"], study)
    adpp = derive_var_aval(adpp)
    adpp = derive_vars_nca_flags(adpp)
    adpp = derive_vars_source(adpp, sdtm["PP"])
    adpp = derive_vars_merged(adpp, adam["ADSL"], new_vars=ADSL_VARS)
    adpp = derive_var_doseu(adpp, study)
    adpp = derive_param_auc_per_dose(adpp, study)
    adpp = derive_var_anl01fl(adpp)
    return conform(adpp, spec)


def _flag(condition: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    """ADaM flag: "Y" where true, null elsewhere."""
    return pd.Series(np.where(np.asarray(condition, dtype=bool), "Y", None), index=index, dtype="str")


def nca_samples(adpc: pd.DataFrame) -> pd.DataFrame:
    """The NCA input of every ADPC profile (one row per ADPC record, in AFRLT then PCSEQ order): _TIME =
    AFRLT (null when NCAXFL = "Y", so the nca ignores the record but keeps the profile), _DAY = protocol
    day (the scale of the AUC visit windows), _CONC = AVAL of quantifiable results, _BLQ = BLQFL = "Y"."""
    samples = adpc.sort_values([*PROFILE, "AFRLT", "SRCSEQ"], kind="mergesort", na_position="last")
    return pd.DataFrame(
        {
            **{key: samples[key].astype("object") for key in PROFILE},
            "_TIME": samples["AFRLT"].where(samples["NCAXFL"].isna()),
            "_DAY": protocol_day(samples["ADT"], samples["FANLDTM"]),
            "_CONC": samples["AVAL"].where(samples["BLQFL"].isna()),
            "_BLQ": samples["BLQFL"].eq("Y"),
        }
    ).reset_index(drop=True)


def compute_kinetic_parameters(adpc: pd.DataFrame, study: Study) -> pd.DataFrame:
    """One row per profile and nca parameter (:func:`cdisc168.nca.compute_nca`, the AUC intervals of
    SDTM PP: :func:`cdisc168.sdtm.pp.auc_intervals`), with the working columns _PARAM, _END, _VALUE,
    _PARTIAL and _CENSORED."""
    result = nca.compute_nca(
        nca_samples(adpc),
        PROFILE,
        time="_TIME",
        conc="_CONC",
        blq="_BLQ",
        window_time="_DAY",
        intervals=auc_intervals(study),
    )
    par = result.parameters
    return pd.DataFrame(
        {
            **{key: par[key] for key in PROFILE},
            "_PARAM": par["param"],
            "_END": par["end"],
            "_VALUE": par["value"].astype("float64"),
            "_PARTIAL": par["partial"].astype(bool),
            "_CENSORED": par["censored"].astype(bool),
        }
    )


def parameter_table(study: Study) -> pd.DataFrame:
    """The ADPP parameters of one analyte in PARAMN order: nca parameter (_PARAM), interval end (_END,
    "" when none), PARAMCD stem, PARAM name, unit kind, number; and the PP record (_PPTESTCD, _PPENINT)."""
    rows = []
    for param, (stem, name, kind) in PARAMETERS.items():
        ends = [i.end for i in auc_intervals(study)] if param == nca.AUCINT else [None]
        for end in ends:
            rows.append(
                {
                    "_PARAM": param,
                    "_END": "" if end is None else f"{end:g}",
                    "_STEM": stem.format(end=end),
                    "_NAME": name.format(end=end),
                    "_KIND": kind,
                    "_PPTESTCD": PPTESTCD[param],
                    "_PPENINT": "" if end is None else f"P{end:g}D",
                }
            )
    table = pd.DataFrame(rows)
    table["_NUMBER"] = np.arange(1, len(table) + 1, dtype="float64")
    return table


def derive_vars_param(adpp: pd.DataFrame, adpc: pd.DataFrame, study: Study) -> pd.DataFrame:
    """PARAMCD (analyte prefix + PK parameter code), PARAM ("<name> of <analyte> in <specimen>
    (<unit>)"), PARAMN (10 × analyte number + parameter number), PARCAT1 (the analyte) and AVALU (see the
    module docstring); the working columns _ANALYTE (the ADPC PARAMCD) and _PPTESTCD/_PPENINT (the PP
    record of the value)."""
    unknown = sorted(set(adpp["PARAMCD"]) - set(ANALYTE_PREFIX))
    if unknown:
        raise ValueError(f"ADPC: analytes {unknown} have no ADPP prefix (cdisc168.adam.adpp.ANALYTE_PREFIX)")
    analyte = adpc.groupby("PARAMCD", sort=False).agg(
        _PARCAT1=("PARCAT1", "first"), _SPEC=("PCSPEC", "first"), _UNIT=("AVALU", "first")
    )
    out = adpp.rename(columns={"PARAMCD": "_ANALYTE"}).join(analyte, on="_ANALYTE")
    out["_END"] = out["_END"].map("{:g}".format).where(out["_END"].notna(), "")
    out = out.merge(parameter_table(study), on=["_PARAM", "_END"], how="left", validate="many_to_one")
    unit = out["_UNIT"].astype("str")
    kind = out["_KIND"]
    out["PARAMCD"] = (out["_ANALYTE"].map(ANALYTE_PREFIX) + out["_STEM"]).astype("str")
    out["AVALU"] = unit.where(kind == "conc", TIME_UNIT).where(kind != "auc", TIME_UNIT + "*" + unit)
    out["PARCAT1"] = out["_PARCAT1"].astype("str")
    specimen = out["_SPEC"].astype("str").str.capitalize()
    out["PARAM"] = (
        out["_NAME"] + " of " + out["PARCAT1"] + " in " + specimen + " (" + out["AVALU"] + ")"
    ).astype("str")
    analyte_number = out["_ANALYTE"].map({a: float(i) for i, a in enumerate(ANALYTES, start=1)})
    out["PARAMN"] = (10.0 * analyte_number + out["_NUMBER"]).astype("float64")
    return out


def derive_var_aval(adpp: pd.DataFrame) -> pd.DataFrame:
    """AVAL: the nca value at the precision SDTM PP reports (10 significant digits), null when the
    parameter cannot be computed (no quantifiable result; AUC interval not covered)."""
    out = adpp.copy()
    value = out["_VALUE"]
    out["AVAL"] = pd.to_numeric(number_text(value).where(value.notna(), None), errors="coerce").astype(
        "float64"
    )
    return out


def derive_vars_nca_flags(adpp: pd.DataFrame) -> pd.DataFrame:
    """TLSTCNSR ("Y": Tlast with a quantifiable last sample, persistence censored) and PPPARTFL ("Y":
    the AUC ends at the last sample, before the interval's end but inside its visit window)."""
    out = adpp.copy()
    out["TLSTCNSR"] = _flag(out["_CENSORED"], out.index)
    out["PPPARTFL"] = _flag(out["_PARTIAL"], out.index)
    return out


def derive_vars_source(adpp: pd.DataFrame, pp: pd.DataFrame) -> pd.DataFrame:
    """SRCDOM "PP", SRCVAR "PPSTRESN", SRCSEQ = PPSEQ of the SDTM PP record of the same subject, analyte
    (PPCAT), specimen, PPTESTCD and interval (PPENINT); null when PP has no such record."""
    records = pp[["STUDYID", "USUBJID", "PPCAT", "PPSPEC", "PPTESTCD", "PPENINT", "PPSEQ"]].copy()
    records["PPENINT"] = records["PPENINT"].astype("object").fillna("")
    out = adpp.assign(_PPSPEC=adpp["_SPEC"])
    out = derive_vars_merged(
        out,
        records,
        by_vars={
            "STUDYID": "STUDYID",
            "USUBJID": "USUBJID",
            "_ANALYTE": "PPCAT",
            "_PPSPEC": "PPSPEC",
            "_PPTESTCD": "PPTESTCD",
            "_PPENINT": "PPENINT",
        },
        new_vars={"SRCSEQ": "PPSEQ"},
    )
    found = out["SRCSEQ"].notna()
    out["SRCSEQ"] = out["SRCSEQ"].astype("float64")
    out["SRCDOM"] = pd.Series(np.where(found, "PP", None), index=out.index, dtype="str")
    out["SRCVAR"] = pd.Series(np.where(found, "PPSTRESN", None), index=out.index, dtype="str")
    return out


def derive_var_doseu(adpp: pd.DataFrame, study: Study) -> pd.DataFrame:
    """DOSEU: the unit of DOSEA (study.yaml ``dose_unit``, 10^6 CAR+ T cells/kg)."""
    out = adpp.copy()
    out["DOSEU"] = pd.Series(study.dose_unit, index=out.index, dtype="str")
    return out


def derive_param_auc_per_dose(adpp: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Add xAUC28DW rows: AUC(0-28 d) / DOSEA per analyte (STUDY.md §3.4 "TAUC28RT", dose-normalised
    exposure; AVALU "(<AUC unit>)/(<dose unit>)"), with the AUC's PPPARTFL; no SDTM PP record (SRC*
    null). Null when the AUC or the dose is missing."""
    end = f"{DOSE_NORMALISED_AUC_END:g}"
    auc = adpp.loc[(adpp["_PARAM"] == nca.AUCINT) & (adpp["_END"] == end)].copy()
    auc["PARAMCD"] = (auc["PARAMCD"] + "DW").astype("str")
    auc["AVALU"] = ("(" + auc["AVALU"] + ")/(" + study.dose_unit + ")").astype("str")
    auc["PARAM"] = (
        auc["_NAME"]
        + " Norm by Dose/kg of "
        + auc["PARCAT1"]
        + " in "
        + auc["_SPEC"].astype("str").str.capitalize()
        + " ("
        + auc["AVALU"]
        + ")"
    ).astype("str")
    auc["PARAMN"] = auc["_ANALYTE"].map(adpp.groupby("_ANALYTE")["PARAMN"].max() + 1.0).astype("float64")
    auc["AVAL"] = (auc["AVAL"] / auc["DOSEA"]).astype("float64")
    auc["TLSTCNSR"] = pd.Series(None, index=auc.index, dtype="str")
    for column in ("SRCDOM", "SRCVAR"):
        auc[column] = pd.Series(None, index=auc.index, dtype="str")
    auc["SRCSEQ"] = np.nan
    return pd.concat([adpp, auc], ignore_index=True)


def derive_var_anl01fl(adpp: pd.DataFrame) -> pd.DataFrame:
    """ANL01FL: "Y" for the values of the primary analysis (AVAL present, subject in the PK population
    PKFL = "Y")."""
    out = adpp.copy()
    out["ANL01FL"] = _flag(out["AVAL"].notna() & (out["PKFL"] == "Y"), out.index)
    return out
