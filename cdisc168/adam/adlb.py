"""ADLB: the laboratory analysis dataset (BDS; ADaMIG 1.3 §3.3, STUDY.md §3 and §3.3 with its Decisions).

One record per collected result of SDTM LB (clinical laboratory, incl. the clinical TBNK B-cell count
BLYCE, the B-cell clearance source), CP (research flow cytometry) and IS (autoantibodies, by binding
agent and unit) per BASETYPE, plus derived records (DTYPE): HALFLLOQ for cytokines reported below the
LLOQ, MINIMUM (post-infusion nadir) and MAXIMUM (post-infusion D0-D28 peak). Every record traces to
its SDTM record through SRCDOM/SRCVAR/SRCSEQ (a derived record to the record it was built from).

The builder reads top to bottom like a template, one derivation per step:

=====================  =========================================================================
step                   derives
=====================  =========================================================================
records                LB (+ SUPPLB LBLLOQ), CP and IS results; NOT DONE records are left out
parameters             PARAMCD, PARAM, PARAMN, PARCAT1 from :data:`PARAMETERS` (test, marker or
                       binding agent, unit, specimen); an unknown combination is an error
values                 AVAL, AVALC, ANRLO, ANRHI (ANATITER: log2(titer/40), STUDY.md §3.3)
reference dates        TRTSDT, TRTSDTM, LDSTDT of ADSL (working columns)
timing                 ADTM/ATMF, ADT, ADY (derive_vars_dtm, derive_vars_dy), ONTRTFL
HALFLLOQ               DTYPE records for BLQ cytokines: AVAL = LLOQ / 2
BASETYPE               one copy of each record per baseline definition of its category
ANL02FL                Ig values outside the 28 days after IVIG / plasma exchange (CM)
analysis visits        AVISIT/AVISITN, AWTARGET/AWTDIFF/AWLO/AWHI/AWU (protocol windows)
baseline               ABLFL per BASETYPE (derive_var_extreme_flag)
MINIMUM / MAXIMUM      nadir of Ig and haematology; D0-D28 peak of cytokines, CRP and ferritin
change                 BASE, CHG, PCHG (derive_vars_chg), R2BASE
reference ranges       ANRIND, BNRIND
toxicity grade         ATOXGR/ATOXGRN (CTCAE v5.0, :mod:`cdisc168.adam.ctcae`), BTOXGR/BTOXGRN
criteria               CRIT1-CRIT7 with CRITyFL (STUDY.md §3.3)
analysis record        ANL01FL: one record per AVISIT, closest to target, ties to the later
ADSL                   SUBJID, SITEID, TRTA/TRTAN (TRT01A/TRT01AN), SAFFL, INDICAT
sequence               ASEQ
=====================  =========================================================================

Baselines (STUDY.md §3 and Decisions; ADaMIG 1.3 §3.3.8, one ABLFL per subject, PARAMCD and
BASETYPE): PRE-LYMPHODEPLETION is the last non-missing value dated on or before the first LD dose
(LDSTDT, compared by date as SDTM --LOBXFL and ADSL do; a subject never lymphodepleted takes his last
value before the infusion, or his last value when never infused, as ADSL's baselines); PRE-INFUSION is
the last non-missing value at or before the infusion start date-time (TRTSDTM), D0 samples ordered by
their time (a sample without a time counts as drawn at 00:00, i.e. before the infusion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cdisc168.adam.ctcae import derive_var_atoxgr
from cdisc168.adam.derive import (
    derive_var_base,
    derive_var_extreme_flag,
    derive_vars_chg,
    derive_vars_dt,
    derive_vars_dtm,
    derive_vars_dy,
    derive_vars_merged,
    desc,
)
from cdisc168.adam.derive_support import (
    Condition,
    OrderItem,
    column_names,
    condition_mask,
    order_items,
    require_columns,
    require_frame,
    sort_records,
)
from cdisc168.adam_spec import conform, load_adam_spec
from cdisc168.study import Study

KEYS = ("STUDYID", "USUBJID")
#: ADaMIG 1.3 §3.3.8: one baseline per subject, PARAMCD and BASETYPE.
GROUP = ("STUDYID", "USUBJID", "PARAMCD", "BASETYPE")

#: BASETYPE values (terminology.yaml BASETYPE; STUDY.md Decisions).
PRE_LD = "PRE-LYMPHODEPLETION"
PRE_INFUSION = "PRE-INFUSION"
#: The baselines of each parameter category. STUDY.md: PRE-LYMPHODEPLETION for disease and immunology
#: parameters, a second PRE-INFUSION baseline for haematology safety shifts; the CTCAE-graded safety
#: panels (chemistry, coagulation) are treated like haematology, cytokines (CRS kinetics) are relative
#: to the pre-infusion sample only.
BASETYPES: dict[str, tuple[str, ...]] = {
    "HEMATOLOGY": (PRE_LD, PRE_INFUSION),
    "CHEMISTRY": (PRE_LD, PRE_INFUSION),
    "COAGULATION": (PRE_LD, PRE_INFUSION),
    "URINALYSIS": (PRE_LD,),
    "IMMUNOLOGY": (PRE_LD,),
    "BIOMARKER": (PRE_LD,),
    "FLOW": (PRE_LD,),
    "AUTOANTIBODY": (PRE_LD,),
    "CYTOKINE": (PRE_INFUSION,),
}

#: DTYPE values (ADaM CT DTYPE C81224).
MINIMUM, MAXIMUM, HALFLLOQ = "MINIMUM", "MAXIMUM", "HALFLLOQ"
#: Analysis visits of the derived nadir / peak records (AVISIT, AVISITN): outside the scheduled visits.
NADIR_VISIT = ("POST-INFUSION", 900.0)
PEAK_VISITN = 901.0
#: Defaults of the windows STUDY.md §3.3 names, used when study.yaml ``analysis_windows`` does not set
#: them: the cytokine peak window D0-D28 in ADY (no day 0: protocol D0 = ADY 1), and the days after an
#: IVIG / plasma exchange whose Ig values are left out of nadir analyses.
CYTOKINE_PEAK_ADY = (1, 29)
IVIG_EXCLUSION_DAYS = 28
#: CM records that change serum immunoglobulins from outside (STUDY.md §2.3 CMCAT).
IG_THERAPY_CATEGORY = "IVIG/PLEX"
#: ANA titres are analysed as dilution steps above the 1:40 screening dilution (STUDY.md §3.3).
ANA_REFERENCE_TITER = 40.0
AWU = "DAYS"

# Value scales of a parameter: the standard numeric result, a reciprocal titre ("1:320" → 320), or
# log2(titre / 40).
LINEAR, TITER, LOG2_TITER = "LINEAR", "TITER", "LOG2_TITER"


@dataclass(frozen=True)
class LabParameter:
    """One ADLB parameter: the SDTM results it comes from and the analyses it takes part in.

    Source: ``domain`` (LB, CP, IS), ``testcd`` (--TESTCD), ``qualifier`` (CP CPMRKSTR, IS ISBDAGNT),
    ``unit`` (--STRESU, "" when the test has none), ``spec`` (CP CPSPEC; LB and IS by test and unit).
    Analyses: ``nadir`` (DTYPE MINIMUM), ``peak`` (DTYPE MAXIMUM), ``halflloq`` (DTYPE HALFLLOQ),
    ``ig_therapy`` (ANL02FL: IVIG/PLEX confounds the value) and ``criteria`` (the CRITy numbers that
    apply). The CTCAE v5.0 graded parameters are :data:`CTCAE_TERMS`.
    """

    paramcd: str
    param: str
    parcat1: str
    domain: str
    testcd: str
    unit: str
    qualifier: str = ""
    spec: str = ""
    scale: str = LINEAR
    nadir: bool = False
    peak: bool = False
    halflloq: bool = False
    ig_therapy: bool = False
    criteria: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """PARAM without its unit, for criterion texts."""
        return self.param.rsplit(" (", 1)[0]


def _lb(paramcd: str, param: str, parcat1: str, testcd: str, unit: str, **kw: Any) -> LabParameter:
    return LabParameter(paramcd, param, parcat1, "LB", testcd, unit, **kw)


def _cp(paramcd: str, param: str, testcd: str, marker: str, unit: str, spec: str, **kw: Any) -> LabParameter:
    return LabParameter(paramcd, param, "FLOW", "CP", testcd, unit, marker, spec, **kw)


def _is(paramcd: str, param: str, agent: str, unit: str, **kw: Any) -> LabParameter:
    """An IS IgG autoantibody (ISTESTCD ATIGGAB) by binding agent; a titre unit reads "1:320" as 320."""
    scale = kw.pop("scale", TITER if unit == "titer" else LINEAR)
    return LabParameter(
        paramcd, param, "AUTOANTIBODY", "IS", "ATIGGAB", unit, agent, scale=scale, criteria=(5, 6), **kw
    )


_HAEM: dict[str, Any] = {"nadir": True}
_CRS_MARKER: dict[str, Any] = {"peak": True}
_CYTOKINE: dict[str, Any] = {"peak": True, "halflloq": True}
_IG: dict[str, Any] = {"nadir": True, "ig_therapy": True}

#: The ADLB parameters in PARAMN order (STUDY.md §2.4-2.6, §3.3). PARAMCD/PARAM are the sponsor codelists
#: ADLBPARMCD / ADLBPARM of mappings/terminology.yaml.
# fmt: off
PARAMETERS: tuple[LabParameter, ...] = (
    # --- haematology (CTCAE v5.0 graded, nadir) ---------------------------------------------------------
    _lb("WBC", "Leukocytes (10^9/L)", "HEMATOLOGY", "WBC", "10^9/L", **_HAEM),
    _lb("NEUT", "Neutrophils (10^9/L)", "HEMATOLOGY", "NEUT", "10^9/L", **_HAEM),
    _lb("LYM", "Lymphocytes (10^9/L)", "HEMATOLOGY", "LYM", "10^9/L", **_HAEM),
    _lb("HGB", "Hemoglobin (g/L)", "HEMATOLOGY", "HGB", "g/L", **_HAEM),
    _lb("PLAT", "Platelets (10^9/L)", "HEMATOLOGY", "PLAT", "10^9/L", **_HAEM),
    # --- chemistry (CRP and ferritin: CRS markers with a D0-D28 peak) -----------------------------------
    _lb("ALT", "Alanine Aminotransferase (U/L)", "CHEMISTRY", "ALT", "U/L"),
    _lb("AST", "Aspartate Aminotransferase (U/L)", "CHEMISTRY", "AST", "U/L"),
    _lb("BILI", "Bilirubin (umol/L)", "CHEMISTRY", "BILI", "umol/L"),
    _lb("CREAT", "Creatinine (umol/L)", "CHEMISTRY", "CREAT", "umol/L"),
    _lb("GFRE", "Glomerular Filtration Rate, Estimated (mL/min/1.73 m2)", "CHEMISTRY", "GFRE",
        "mL/min/1.73 m2"),
    _lb("UREA", "Urea (mmol/L)", "CHEMISTRY", "UREA", "mmol/L"),
    _lb("K", "Potassium (mmol/L)", "CHEMISTRY", "K", "mmol/L"),
    _lb("SODIUM", "Sodium (mmol/L)", "CHEMISTRY", "SODIUM", "mmol/L"),
    _lb("ALB", "Albumin (g/L)", "CHEMISTRY", "ALB", "g/L"),
    _lb("LDH", "Lactate Dehydrogenase (U/L)", "CHEMISTRY", "LDH", "U/L"),
    _lb("URATE", "Urate (umol/L)", "CHEMISTRY", "URATE", "umol/L"),
    _lb("CK", "Creatine Kinase (U/L)", "CHEMISTRY", "CK", "U/L"),
    _lb("ALDOLASE", "Aldolase (U/L)", "CHEMISTRY", "ALDOLASE", "U/L"),
    _lb("MGB", "Myoglobin (ug/L)", "CHEMISTRY", "MGB", "ug/L"),
    _lb("CRP", "C Reactive Protein (mg/L)", "CHEMISTRY", "CRP", "mg/L", **_CRS_MARKER),
    _lb("FERRITIN", "Ferritin (ug/L)", "CHEMISTRY", "FERRITIN", "ug/L", **_CRS_MARKER),
    _lb("HCG", "Choriogonadotropin Beta (IU/L)", "CHEMISTRY", "HCG", "IU/L"),
    # --- coagulation and urinalysis ---------------------------------------------------------------------
    _lb("PT", "Prothrombin Time (s)", "COAGULATION", "PT", "s"),
    _lb("INR", "Prothrombin Intl. Normalized Ratio", "COAGULATION", "INR", ""),
    _lb("APTT", "Activated Partial Thromboplastin Time (s)", "COAGULATION", "APTT", "s"),
    _lb("FIBRINO", "Fibrinogen (g/L)", "COAGULATION", "FIBRINO", "g/L"),
    _lb("DDIMER", "D-Dimer (mg/L FEU)", "COAGULATION", "DDIMER", "mg/L FEU"),
    _lb("PROTCRT", "Urine Protein/Creatinine (g/g)", "URINALYSIS", "PROTCRT", "g/g"),
    # --- immunology (Ig decline, complement, clinical TBNK: the B-cell clearance source) ----------------
    _lb("IGG", "Immunoglobulin G (g/L)", "IMMUNOLOGY", "IGG", "g/L", criteria=(2, 3), **_IG),
    _lb("IGA", "Immunoglobulin A (g/L)", "IMMUNOLOGY", "IGA", "g/L", **_IG),
    _lb("IGM", "Immunoglobulin M (g/L)", "IMMUNOLOGY", "IGM", "g/L", **_IG),
    _lb("C3", "Complement C3 (g/L)", "IMMUNOLOGY", "C3", "g/L", criteria=(4,)),
    _lb("C4", "Complement C4 (g/L)", "IMMUNOLOGY", "C4", "g/L", criteria=(4,)),
    _lb("CD19CNT", "CD19+ B Cells (10^6/L)", "IMMUNOLOGY", "BLYCE", "10^6/L", criteria=(1,)),
    _lb("CD19PCT", "CD19+ B Cells/Lymphocytes (%)", "IMMUNOLOGY", "BLYCELY", "%"),
    _lb("CD3CNT", "CD3+ T Cells (10^6/L)", "IMMUNOLOGY", "TLYCE", "10^6/L"),
    # --- cytokines (BLQ imputed as LLOQ/2, D0-D28 peak) and sBCMA ----------------------------------------
    _lb("INTLK2", "Interleukin 2 (ng/L)", "CYTOKINE", "INTLK2", "ng/L", **_CYTOKINE),
    _lb("INTLK4", "Interleukin 4 (ng/L)", "CYTOKINE", "INTLK4", "ng/L", **_CYTOKINE),
    _lb("INTLK6", "Interleukin 6 (ng/L)", "CYTOKINE", "INTLK6", "ng/L", **_CYTOKINE),
    _lb("INTLK10", "Interleukin 10 (ng/L)", "CYTOKINE", "INTLK10", "ng/L", **_CYTOKINE),
    _lb("TNF", "Tumor Necrosis Factor (ng/L)", "CYTOKINE", "TNF", "ng/L", **_CYTOKINE),
    _lb("IFNG", "Interferon Gamma (ng/L)", "CYTOKINE", "IFNG", "ng/L", **_CYTOKINE),
    _lb("BCMAS", "Soluble B Cell Maturation Antigen (ug/L)", "BIOMARKER", "BCMAS", "ug/L", criteria=(7,)),
    # --- research flow cytometry (CP): testcd, marker string, unit, specimen -----------------------------
    _cp("CD19FCNT", "CD19+ B Cells, Research Flow (10^6/L)", "BLYCE", "CD19+", "10^6/L", "BLOOD",
        criteria=(1,)),
    _cp("CD19FPCT", "CD19+ B Cells/Lymphocytes, Research Flow (%)", "BLYCELY", "CD19+", "%", "BLOOD"),
    _cp("CD19BMPC", "CD19+ B Cells/Lymphocytes, Bone Marrow (%)", "BLYCELY", "CD19+", "%", "BONE MARROW"),
    _cp("CD19KIPC", "CD19+ B Cells/Lymphocytes, Kidney (%)", "BLYCELY", "CD19+", "%", "KIDNEY"),
    _cp("CD19MUPC", "CD19+ B Cells/Lymphocytes, Muscle (%)", "BLYCELY", "CD19+", "%", "MUSCLE TISSUE"),
    _cp("CD20CNT", "CD20+ B Cells (10^6/L)", "BLYS", "CD20+", "10^6/L", "BLOOD", criteria=(1,)),
    _cp("CD20TCNT", "CD3+CD20dim T Cells (10^6/L)", "TLS", "CD3+CD20dim", "10^6/L", "BLOOD"),
    _cp("NKCNT", "CD3-CD56+ NK Cells (10^6/L)", "NKCE", "CD3-CD56+", "10^6/L", "BLOOD"),
    _cp("PBCNT", "Plasmablasts (10^6/L)", "PB", "CD19+CD27+CD38++", "10^6/L", "BLOOD"),
    _cp("PCCNT", "Plasma Cells (10^6/L)", "PC", "CD19-CD38++CD138+", "10^6/L", "BLOOD", criteria=(1,)),
    _cp("PCBMPCT", "Plasma Cells/Total Cells, Bone Marrow (%)", "PLSTCECE", "CD19-CD38++CD138+", "%",
        "BONE MARROW"),
    _cp("PCKIPCT", "Plasma Cells/Total Cells, Kidney (%)", "PLSTCECE", "CD19-CD38++CD138+", "%", "KIDNEY"),
    _cp("PCMUPCT", "Plasma Cells/Total Cells, Muscle (%)", "PLSTCECE", "CD19-CD38++CD138+", "%",
        "MUSCLE TISSUE"),
    # --- autoantibodies (IS, by binding agent; assay-specific units stay apart) -------------------------
    _is("DSDNAAB", "Anti-dsDNA IgG (IU/mL)", "DOUBLE STRANDED DNA", "IU/mL"),
    _is("DSDNAABU", "Anti-dsDNA IgG (U/mL)", "DOUBLE STRANDED DNA", "U/mL"),
    _is("SMAB", "Anti-Smith IgG (U/mL)", "SMITH ANTIGENS", "U/mL"),
    _is("C1QAB", "Anti-C1q IgG (U/mL)", "COMPLEMENT C1Q", "U/mL"),
    _is("ANATITER", "ANA Titer (log2 of titer/40)", "NUCLEAR AUTOANTIGENS", "titer", scale=LOG2_TITER),
    _is("AQP4AB", "Anti-AQP4 IgG (reciprocal titer)", "AQUAPORIN 4", "titer"),
    _is("MOGAB", "Anti-MOG IgG (reciprocal titer)", "MYELIN-OLIGODENDROCYTE GLYCOPROTEIN", "titer"),
    _is("ACHRAB", "Anti-AChR IgG (nmol/L)", "ACETYLCHOLINE RECEPTORS", "nmol/L"),
    _is("MUSKAB", "Anti-MuSK IgG (nmol/L)", "MUSCLE-SPECIFIC KINASE", "nmol/L"),
    _is("HMGCRAB", "Anti-HMGCR IgG (U/mL)", "HMG-COA REDUCTASE", "U/mL"),
    _is("SRPAB", "Anti-SRP IgG (U/mL)", "SIGNAL RECOGNITION PARTICLE", "U/mL"),
)
# fmt: on

#: The parameters graded by CTCAE v5.0 (ATOXGR) and their term (:data:`cdisc168.adam.ctcae.CTCAE_V5`).
CTCAE_TERMS: dict[str, str] = {
    "WBC": "White blood cell decreased",
    "NEUT": "Neutrophil count decreased",
    "LYM": "Lymphocyte count decreased",
    "HGB": "Anemia",
    "PLAT": "Platelet count decreased",
    "ALT": "Alanine aminotransferase increased",
    "AST": "Aspartate aminotransferase increased",
    "BILI": "Blood bilirubin increased",
    "CREAT": "Creatinine increased",
}

_SOURCE_KEY = ["_DOMAIN", "_TESTCD", "_QUAL", "_UNIT", "_SPEC"]
_ADSL_DATES = {"_TRTSDT": "TRTSDT", "_TRTSDTM": "TRTSDTM", "_LDSTDT": "LDSTDT"}
_ADSL_VARS = {
    "SUBJID": "SUBJID",
    "SITEID": "SITEID",
    "TRTA": "TRT01A",
    "TRTAN": "TRT01AN",
    "SAFFL": "SAFFL",
    "INDICAT": "INDICAT",
}


def build_adlb(
    sdtm: Mapping[str, pd.DataFrame], adam: Mapping[str, pd.DataFrame], study: Study
) -> pd.DataFrame:
    """Build ADLB from SDTM LB, SUPPLB, CP, IS and CM and ADaM ADSL (exactly the spec's variables)."""
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADLB.yaml")
    adlb = pd.concat(
        [lb_records(sdtm["LB"], sdtm.get("SUPPLB")), cp_records(sdtm["CP"]), is_records(sdtm["IS"])],
        ignore_index=True,
    )
    adlb = derive_vars_param(adlb)
    adlb = derive_vars_aval(adlb)
    adlb = derive_vars_reference_dates(adlb, adam["ADSL"])
    adlb = derive_vars_adtm(adlb)
    adlb = derive_var_ady(adlb)
    adlb = derive_var_ontrtfl(adlb)
    adlb = derive_records_halflloq(adlb)
    adlb = derive_var_basetype(adlb)
    adlb = derive_var_anl02fl(adlb, sdtm["CM"], study)
    adlb = derive_vars_avisit(adlb, study)
    adlb = derive_var_ablfl(adlb)
    adlb = derive_records_nadir(adlb)
    adlb = derive_records_peak(adlb, study)
    adlb = derive_var_post_baseline(adlb)
    adlb = derive_vars_base_chg(adlb)
    adlb = derive_var_r2base(adlb)
    adlb = derive_vars_anrind(adlb)
    adlb = derive_vars_toxgr(adlb)
    adlb = derive_vars_crit(adlb, study)
    adlb = derive_var_anl01fl(adlb)
    adlb = derive_vars_adsl(adlb, adam["ADSL"])
    adlb = derive_var_aseq(adlb, spec.keys)
    return conform(adlb, spec)


# --- helpers -------------------------------------------------------------------------------------------
# ADLB is long (about 800 records per subject): each step computes on the few columns it needs and adds
# its result to the dataset, so the wide frame is not copied or re-joined at every step.


def _text(values: object, index: pd.Index) -> pd.Series:
    """A text column (pandas ``str``; None and NaN become missing)."""
    return pd.Series(np.asarray(values, dtype=object), index=index, dtype="str")


def _choose(codes: np.ndarray, choices: Sequence[str], index: pd.Index) -> pd.Series:
    """A text column taking ``choices[code]``, missing where the code is -1 (fast for long columns)."""
    codes = np.where(codes < 0, len(choices), codes)
    return pd.Series(pd.array([*choices, None], dtype="str").take(codes), index=index)


def _flag(values: pd.Series | np.ndarray) -> np.ndarray:
    """A boolean array; missing counts as False."""
    return np.asarray(pd.Series(values).fillna(False).to_numpy(dtype=bool))


def _yes(condition: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    """Flag "Y" where the condition holds, else null (ADaM flags)."""
    return _choose(np.where(_flag(condition), 0, -1), ["Y"], index)


def _paramcds(attribute: str) -> list[str]:
    return [p.paramcd for p in PARAMETERS if getattr(p, attribute)]


def _add(adlb: pd.DataFrame, derived: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``adlb`` with the columns ``names`` of ``derived`` (same index) added or replaced."""
    out = adlb.copy(deep=False)
    for name in names:
        out[name] = derived[name]
    return out


# --- records ----------------------------------------------------------------------------------------


def _records(
    frame: pd.DataFrame,
    domain: str,
    qualifier: str | None,
    spec: str | None,
    lo: str | None,
    hi: str | None,
    lloq: pd.Series | None,
) -> pd.DataFrame:
    """The common record layout of the three source domains (``_`` columns are working columns)."""
    p = domain
    done = frame[f"{p}STRESC"].notna() | frame[f"{p}STRESN"].notna()
    src = frame.loc[done.to_numpy(dtype=bool)]
    out = pd.DataFrame(
        {
            "STUDYID": src["STUDYID"],
            "USUBJID": src["USUBJID"],
            "_DOMAIN": domain,
            "_TESTCD": src[f"{p}TESTCD"],
            "_QUAL": src[qualifier] if qualifier else "",
            "_UNIT": src[f"{p}STRESU"],
            "_SPEC": src[spec] if spec else "",
            "_NUM": src[f"{p}STRESN"].astype("float64"),
            "_CHAR": src[f"{p}STRESC"],
            "_LO": src[lo].astype("float64") if lo else np.nan,
            "_HI": src[hi].astype("float64") if hi else np.nan,
            "_LLOQ": lloq.loc[src.index].astype("float64") if lloq is not None else np.nan,
            "_DTC": src[f"{p}DTC"],
            "SRCDOM": domain,
            "SRCSEQ": src[f"{p}SEQ"].astype("float64"),
        }
    )
    for column in ("_QUAL", "_UNIT", "_SPEC"):
        out[column] = out[column].fillna("").astype("str")
    return out.reset_index(drop=True)


def lb_records(lb: pd.DataFrame, supplb: pd.DataFrame | None) -> pd.DataFrame:
    """LB results with their LLOQ (SUPPLB QNAM LBLLOQ: LB has no --LLOQ in SDTMIG 3.4, STUDY.md
    Decisions). Records without a result (LBSTAT NOT DONE) are left out."""
    if supplb is None or supplb.empty:
        supplb = pd.DataFrame({c: pd.Series(dtype="str") for c in ("USUBJID", "QNAM", "IDVARVAL", "QVAL")})
    qual = supplb.loc[supplb["QNAM"].eq("LBLLOQ").to_numpy(dtype=bool)]
    lloq = pd.DataFrame(
        {
            "USUBJID": qual["USUBJID"].astype("str"),
            "LBSEQ": pd.to_numeric(qual["IDVARVAL"], errors="coerce"),
            "_LLOQ": pd.to_numeric(qual["QVAL"], errors="coerce"),
        }
    )
    keyed = lb[["USUBJID", "LBSEQ"]].astype({"USUBJID": "str", "LBSEQ": "float64"})
    merged = derive_vars_merged(keyed, lloq, by_vars=["USUBJID", "LBSEQ"], new_vars=["_LLOQ"])
    return _records(lb, "LB", None, None, "LBSTNRLO", "LBSTNRHI", merged["_LLOQ"])


def cp_records(cp: pd.DataFrame) -> pd.DataFrame:
    """CP research flow results, told apart by marker string (CPMRKSTR) and specimen."""
    return _records(cp, "CP", "CPMRKSTR", "CPSPEC", None, None, None)


def is_records(is_: pd.DataFrame) -> pd.DataFrame:
    """IS autoantibody results, told apart by binding agent (ISBDAGNT); ISSTNRHI is the positivity
    cut-off, ISLLOQ the LLOQ."""
    return _records(is_, "IS", "ISBDAGNT", None, "ISSTNRLO", "ISSTNRHI", is_["ISLLOQ"])


# --- parameters and values ---------------------------------------------------------------------------


def _parameter_table() -> pd.DataFrame:
    rows = [
        {
            "_DOMAIN": p.domain,
            "_TESTCD": p.testcd,
            "_QUAL": p.qualifier,
            "_UNIT": p.unit,
            "_SPEC": p.spec,
            "PARAMCD": p.paramcd,
            "PARAM": p.param,
            "PARAMN": float(n),
            "PARCAT1": p.parcat1,
            "_SCALE": p.scale,
        }
        for n, p in enumerate(PARAMETERS, start=1)
    ]
    return pd.DataFrame(rows).astype({c: "str" for c in [*_SOURCE_KEY, "PARAMCD", "PARAM", "PARCAT1"]})


def derive_vars_param(records: pd.DataFrame) -> pd.DataFrame:
    """PARAMCD, PARAM, PARAMN, PARCAT1 by source test, marker/binding agent, unit and specimen.

    A result whose combination is not in :data:`PARAMETERS` is a ValueError listing the combinations:
    a new test, unit or assay needs its own parameter (units are never silently standardised).
    """
    table = _parameter_table()
    if table.duplicated(_SOURCE_KEY).any() or table["PARAMCD"].duplicated().any():
        raise ValueError("PARAMETERS: a source combination or PARAMCD is listed twice")
    key = records[_SOURCE_KEY].copy()
    key.loc[key["_DOMAIN"].isin(["LB", "IS"]).to_numpy(dtype=bool), "_SPEC"] = ""
    merged = key.merge(table, how="left", on=_SOURCE_KEY, sort=False, validate="many_to_one")
    unknown = merged["PARAMCD"].isna().to_numpy(dtype=bool)
    if unknown.any():
        combos = key.loc[unknown].drop_duplicates().astype(str).agg(" / ".join, axis=1).tolist()
        raise ValueError(f"records: no ADLB parameter for {', '.join(sorted(combos))}")
    merged.index = records.index
    return _add(records, merged, ["PARAMCD", "PARAM", "PARAMN", "PARCAT1", "_SCALE"])


def _number(text: pd.Series, rows: np.ndarray, pattern: str) -> pd.Series:
    """The number the regular expression ``pattern`` captures in ``text`` on ``rows``, else NaN."""
    found = pd.Series(np.nan, index=text.index)
    found[rows] = pd.to_numeric(text[rows].str.extract(pattern, expand=False), errors="coerce")
    return found


def derive_vars_aval(adlb: pd.DataFrame) -> pd.DataFrame:
    """AVAL, AVALC, ANRLO, ANRHI, SRCVAR and the working values of the criteria.

    ============  ===================================  ==========================================
    scale         AVAL                                 ANRLO / ANRHI
    ============  ===================================  ==========================================
    LINEAR        --STRESN                             --STNRLO / --STNRHI
    TITER         reciprocal titre of --STRESC         IS cut-off as is (ISSTNRHI)
                  ("1:320" → 320)
    LOG2_TITER    log2(titre / 40) (ANATITER,          log2(limit / 40)
                  STUDY.md §3.3)
    ============  ===================================  ==========================================

    A result below the LLOQ ("<1", "<1:10": --STRESN null) has AVAL null, AVALC the collected text
    and ``_BLQ`` True; ``_LLOQ`` is its LLOQ (SUPPLB LBLLOQ, ISLLOQ; for LB, the limit in the text
    when LBLLOQ is missing). AVALC also holds the titre text ("1:320"); otherwise it is null (AVAL
    carries the value). ``_LIN`` is the value on its linear scale (the titre for LOG2_TITER) and
    ``_CUT`` the positivity cut-off (IS only), used by CRIT5 and CRIT6. SRCVAR names the SDTM variable
    AVAL (or AVALC) comes from. The source columns are dropped once read.
    """
    out = adlb.copy(deep=False)
    scale = out["_SCALE"].to_numpy()
    text = out["_CHAR"].astype("str").str.strip()
    is_titer = scale != LINEAR
    below = text.str.startswith("<").fillna(False).to_numpy(dtype=bool) & out["_NUM"].isna().to_numpy()
    titer = _number(text, is_titer, r"^1:(\d+(?:\.\d+)?)$")
    stated = _number(text, below, r"^<\s*(?:1:)?(\d+(?:\.\d+)?)$")
    linear = np.where(is_titer, titer.to_numpy(dtype="float64"), out["_NUM"].to_numpy(dtype="float64"))
    log2 = scale == LOG2_TITER
    with np.errstate(divide="ignore", invalid="ignore"):
        out["AVAL"] = np.where(log2, np.log2(linear / ANA_REFERENCE_TITER), linear)
        for limit, name in (("_LO", "ANRLO"), ("_HI", "ANRHI")):
            values = out[limit].to_numpy(dtype="float64")
            out[name] = np.where(log2, np.log2(values / ANA_REFERENCE_TITER), values)
    out["AVALC"] = out["_CHAR"].astype("str").where(below | is_titer)
    out["_BLQ"] = below
    out["_LLOQ"] = out["_LLOQ"].fillna(stated.where(out["_DOMAIN"].eq("LB")))
    out["_LIN"] = linear
    out["_CUT"] = out["_HI"].where(out["_DOMAIN"].eq("IS"))
    out["_LOGSCALE"] = log2
    numeric = out["_NUM"].notna().to_numpy()
    out["SRCVAR"] = (out["_DOMAIN"] + np.where(numeric, "STRESN", "STRESC")).astype("str")
    return out.drop(columns=["_TESTCD", "_QUAL", "_SPEC", "_NUM", "_CHAR", "_LO", "_HI", "_SCALE", "_DOMAIN"])


# --- ADSL and timing ---------------------------------------------------------------------------------


def derive_vars_reference_dates(adlb: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """The reference dates of ADSL (working columns): TRTSDT, TRTSDTM (infusion start) and LDSTDT
    (first lymphodepletion dose). Every subject with results must be in ADSL (one record per DM
    subject); one who is not is an error."""
    merged = derive_vars_merged(
        adlb[list(KEYS)], adsl, by_vars=list(KEYS), new_vars=_ADSL_DATES, exist_flag="_INADSL"
    )
    missing = merged["_INADSL"].isna().to_numpy()
    if missing.any():
        raise ValueError(f"adsl: no ADSL record for {', '.join(sorted(set(merged.loc[missing, 'USUBJID'])))}")
    return _add(adlb, merged, list(_ADSL_DATES))


def derive_vars_adsl(adlb: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """SUBJID, SITEID, TRTA (ADSL.TRT01A: single period), TRTAN (TRT01AN), SAFFL and INDICAT."""
    merged = derive_vars_merged(adlb[list(KEYS)], adsl, by_vars=list(KEYS), new_vars=_ADSL_VARS)
    return _add(adlb, merged, list(_ADSL_VARS))


def derive_vars_adtm(adlb: pd.DataFrame) -> pd.DataFrame:
    """ADTM, ATMF (a missing time imputed 00:00; seconds are never collected, so not flagged) and ADT.

    Dates are complete in LB, CP and IS; a partial date leaves ADTM and ADT missing (no date imputation
    for results).
    """
    dtm = derive_vars_dtm(
        adlb[["_DTC"]], "A", "_DTC", highest_imputation="h", time_imputation="first", ignore_seconds_flag=True
    )
    dtm["ADT"] = dtm["ADTM"].dt.normalize()
    return _add(adlb, dtm, ["ADTM", "ATMF", "ADT"]).drop(columns="_DTC")


def derive_var_ady(adlb: pd.DataFrame) -> pd.DataFrame:
    """ADY relative to ADSL.TRTSDT, no day 0 (derive_vars_dy; STUDY.md §3)."""
    return _add(adlb, derive_vars_dy(adlb[["_TRTSDT", "ADT"]], "_TRTSDT", ["ADT"]), ["ADY"])


def derive_var_ontrtfl(adlb: pd.DataFrame) -> pd.DataFrame:
    """ONTRTFL = "Y" after the infusion start (ADTM > TRTSDTM; ADaMIG 1.3 §3.3.8). A single infusion with
    24 months' follow-up has no treatment end: every post-infusion record is on treatment, as TRTEMFL
    has no upper cut-off (STUDY.md §3.2)."""
    out = adlb.copy(deep=False)
    out["ONTRTFL"] = _yes(out["ADTM"] > out["_TRTSDTM"], out.index)
    return out


# --- derived records ------------------------------------------------------------------------------------


def derive_extreme_records(
    dataset: pd.DataFrame,
    by_vars: Sequence[str],
    order: Sequence[OrderItem],
    mode: str,
    filter_add: Condition,
    set_values_to: Mapping[str, object],
) -> pd.DataFrame:
    """Add per by group a copy of the first/last selected record (admiral ``derive_extreme_records``).

    Among the records selected by ``filter_add``, sorted by ``by_vars`` then ``order`` (missing values
    last), the first (``mode="first"``) or last record of each group is copied, ``set_values_to``
    overwrites variables of the copy (e.g. ``{"DTYPE": "MINIMUM"}``), and the copies are appended.
    The copy keeps the source record's timing and SRCDOM/SRCSEQ, so it traces to it.

    Example (the nadir of each subject as a DTYPE MINIMUM record):

    >>> import pandas as pd
    >>> adlb = pd.DataFrame({"USUBJID": ["S-1"] * 3, "AVAL": [8.7, 6.0, 6.4], "DTYPE": [None] * 3})
    >>> derive_extreme_records(adlb, ["USUBJID"], ["AVAL"], "first", lambda d: d["AVAL"].notna(),
    ...                        {"DTYPE": "MINIMUM"})["DTYPE"].tolist()
    [None, None, None, 'MINIMUM']
    """
    dataset = require_frame(dataset, "dataset")
    keys = list(column_names(by_vars, "by_vars"))
    items = order_items(order, "order")
    if mode not in ("first", "last"):
        raise ValueError(f"mode: expected 'first' or 'last', got {mode!r}")
    require_columns(dataset, keys, "by_vars")
    require_columns(dataset, [i if isinstance(i, str) else i.name for i in items], "order")
    selected = condition_mask(dataset, filter_add, "filter_add")
    records = dataset.loc[selected, [*keys, *(i if isinstance(i, str) else i.name for i in items)]]
    chosen = sort_records(records, keys, items).drop_duplicates(keys, keep=mode).index
    copies = dataset.loc[chosen].copy()
    for name, value in set_values_to.items():
        dtype = dataset[name].dtype if name in dataset.columns else None
        copies[name] = pd.Series([value] * len(copies), index=copies.index, dtype=dtype)
    return pd.concat([dataset, copies], ignore_index=True)


def derive_records_halflloq(adlb: pd.DataFrame) -> pd.DataFrame:
    """DTYPE HALFLLOQ records for cytokine results below the LLOQ (STUDY.md Decisions): a copy of the
    BLQ record with AVAL = LLOQ / 2 and AVALC null. The collected record keeps AVAL null and its text
    in AVALC (a collected value is never overwritten)."""
    out = adlb.copy(deep=False)
    out["DTYPE"] = _choose(np.full(len(out), -1), [HALFLLOQ], out.index)
    blq = (
        out["PARAMCD"].isin(_paramcds("halflloq")).to_numpy()
        & _flag(out["_BLQ"])
        & out["_LLOQ"].notna().to_numpy()
    )
    imputed = out.loc[blq].copy()
    imputed["AVAL"] = imputed["_LLOQ"] / 2.0
    imputed["AVALC"] = _text([None] * len(imputed), imputed.index)
    imputed["DTYPE"] = _text([HALFLLOQ] * len(imputed), imputed.index)
    return pd.concat([out, imputed], ignore_index=True)


def derive_var_basetype(adlb: pd.DataFrame) -> pd.DataFrame:
    """One copy of each record per baseline definition of its PARCAT1 (:data:`BASETYPES`)."""
    unknown = sorted(set(adlb["PARCAT1"]) - set(BASETYPES))
    if unknown:
        raise ValueError(f"BASETYPES: no baseline definition for PARCAT1 {', '.join(unknown)}")
    parts = []
    for basetype in (PRE_LD, PRE_INFUSION):
        categories = [c for c, types in BASETYPES.items() if basetype in types]
        part = adlb.loc[adlb["PARCAT1"].isin(categories).to_numpy()].copy(deep=False)
        part["BASETYPE"] = _choose(np.zeros(len(part), dtype=int), [basetype], part.index)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _ig_therapy_periods(cm: pd.DataFrame, study: Study, days: int) -> pd.DataFrame:
    """Per subject, the periods from an IVIG / plasma exchange start to ``days`` after its end."""
    rows = cm["CMCAT"].eq(IG_THERAPY_CATEGORY).fillna(False).to_numpy(dtype=bool)
    ig = cm.loc[rows, ["USUBJID", "CMSTDTC", "CMENDTC"]].reset_index(drop=True)
    ig = derive_vars_dt(ig, "AST", "CMSTDTC", highest_imputation="M", flag_imputation=False)
    ig = derive_vars_dt(
        ig, "AEN", "CMENDTC", highest_imputation="M", date_imputation="last", flag_imputation=False
    )
    # An ongoing or undated end keeps the exclusion open to the data cut.
    end = ig["AENDT"].fillna(pd.Timestamp(study.data_cut))
    return pd.DataFrame(
        {"USUBJID": ig["USUBJID"].astype("str"), "_FROM": ig["ASTDT"], "_TO": end + pd.Timedelta(days=days)}
    ).dropna(subset=["_FROM"])


def derive_var_anl02fl(adlb: pd.DataFrame, cm: pd.DataFrame, study: Study) -> pd.DataFrame:
    """ANL02FL = "Y" on immunoglobulin records usable for nadir analyses (STUDY.md §3.3): not dated from
    the start of an IVIG or plasma exchange (CM CMCAT "IVIG/PLEX"; both change serum Ig from outside)
    to 28 days after its end (study.yaml ``analysis_windows.ivig_exclusion_days`` when set). Other
    parameters and the excluded Ig records have ANL02FL null (ADaMIG 1.3: ANLzzFL is "Y" or null, so
    STUDY.md's ANL02FL "N" is represented by null)."""
    days = int(study.analysis_windows.get("ivig_exclusion_days", IVIG_EXCLUSION_DAYS))
    periods = _ig_therapy_periods(cm, study, days)
    ig = adlb["PARAMCD"].isin(_paramcds("ig_therapy")).to_numpy() & adlb["ADT"].notna().to_numpy()
    dates = adlb.loc[ig, ["USUBJID", "ADT"]].astype({"USUBJID": "str"}).drop_duplicates()
    pairs = dates.merge(periods, on="USUBJID", how="inner")
    inside = (pairs["ADT"] >= pairs["_FROM"]) & (pairs["ADT"] <= pairs["_TO"])
    confounded = pairs.loc[inside.to_numpy(), ["USUBJID", "ADT"]].drop_duplicates().assign(_IN=True)
    hit = (
        adlb[["USUBJID", "ADT"]]
        .astype({"USUBJID": "str"})
        .merge(confounded, on=["USUBJID", "ADT"], how="left")
    )
    out = adlb.copy(deep=False)
    out["ANL02FL"] = _yes(ig & ~_flag(hit["_IN"].to_numpy()), out.index)
    return out


def _ady(protocol_day: float) -> float:
    """ADY of a protocol day (no day 0: D0 → 1, D-7 → -7)."""
    return protocol_day + 1 if protocol_day >= 0 else protocol_day


def derive_vars_avisit(adlb: pd.DataFrame, study: Study) -> pd.DataFrame:
    """AVISIT, AVISITN and the window variables from the protocol windows of study.yaml ``visits``.

    The windows (protocol days) are taken to the ADY convention (study.yaml ``analysis_windows``
    ``day_convention: ADY``: day d ≥ 0 → d + 1), so month 6 is ADY 167-195. A record falls in the
    window(s) containing its ADY; where windows overlap (screening and leukapheresis) it goes to the
    visit whose target is closest, ties to the later visit. AWTARGET is the target ADY, AWTDIFF
    = |ADY − AWTARGET|, AWLO/AWHI the window, AWU DAYS. Records in no window (or of a subject never
    infused, without ADY) have AVISIT null and are not analysis-visit records (ANL01FL null).
    """
    if study.analysis_windows.get("day_convention") != "ADY":
        raise ValueError("study: analysis_windows.day_convention must be ADY (STUDY.md Decisions)")
    visits = study.visits
    target = np.array([_ady(v.day) for v in visits], dtype="float64")
    low = np.array([_ady(v.window[0]) for v in visits], dtype="float64")
    high = np.array([_ady(v.window[1]) for v in visits], dtype="float64")
    days, where = np.unique(adlb["ADY"].to_numpy(dtype="float64"), return_inverse=True)
    with np.errstate(invalid="ignore"):
        inside = (days[:, None] >= low) & (days[:, None] <= high)
    distance = np.where(inside, np.abs(days[:, None] - target), np.inf)
    # argmin over the reversed columns picks the later visit among equally close ones
    pick = len(visits) - 1 - np.argmin(distance[:, ::-1], axis=1)
    found = inside.any(axis=1)[where]
    index = pick[where]
    numbers = np.array([float(v.visitnum) for v in visits])
    out = adlb.copy(deep=False)
    out["AVISIT"] = _choose(np.where(found, index, -1), [v.visit for v in visits], out.index)
    out["AVISITN"] = np.where(found, numbers[index], np.nan)
    out["AWTARGET"] = np.where(found, target[index], np.nan)
    out["AWTDIFF"] = np.abs(out["ADY"] - out["AWTARGET"])
    out["AWLO"] = np.where(found, low[index], np.nan)
    out["AWHI"] = np.where(found, high[index], np.nan)
    out["AWU"] = _choose(np.where(found, 0, -1), [AWU], out.index)
    return out


def _analysable(adlb: pd.DataFrame) -> pd.Series:
    """Records with a value that may stand for their time point: collected, or a HALFLLOQ imputation."""
    return adlb["AVAL"].notna() & (adlb["DTYPE"].isna() | adlb["DTYPE"].eq(HALFLLOQ))


def _baseline_candidate(adlb: pd.DataFrame) -> pd.Series:
    """Records on or before the reference of their BASETYPE (module docstring)."""
    before_infusion = adlb["ADTM"] <= adlb["_TRTSDTM"]
    before_ld = adlb["ADT"] <= adlb["_LDSTDT"]
    never_ld = adlb["_LDSTDT"].isna()
    never_infused = adlb["_TRTSDTM"].isna()
    pre_ld = before_ld.where(~never_ld, before_infusion.where(~never_infused, adlb["ADTM"].notna()))
    return pd.Series(
        np.where(adlb["BASETYPE"].eq(PRE_LD), _flag(pre_ld), _flag(before_infusion)), index=adlb.index
    )


def derive_var_ablfl(adlb: pd.DataFrame) -> pd.DataFrame:
    """ABLFL = "Y" on the last analysable record on or before the BASETYPE's reference (ADTM, then
    SRCSEQ), one per subject, PARAMCD and BASETYPE (derive_var_extreme_flag)."""
    columns = [*GROUP, "ADTM", "ADT", "SRCSEQ", "AVAL", "DTYPE", "_TRTSDTM", "_LDSTDT"]
    flags = derive_var_extreme_flag(
        adlb[columns],
        list(GROUP),
        ["ADTM", "SRCSEQ"],
        "ABLFL",
        mode="last",
        filter=lambda d: _analysable(d) & _baseline_candidate(d),
    )
    return _add(adlb, flags, ["ABLFL"])


def _derived_record_values(dtype: str, avisit: str, avisitn: float) -> dict[str, object]:
    return {
        "DTYPE": dtype,
        "AVISIT": avisit,
        "AVISITN": avisitn,
        "ABLFL": None,
        "AWTARGET": np.nan,
        "AWTDIFF": np.nan,
        "AWLO": np.nan,
        "AWHI": np.nan,
        "AWU": None,
    }


def derive_records_nadir(adlb: pd.DataFrame) -> pd.DataFrame:
    """DTYPE MINIMUM: the post-infusion nadir per subject, PARAMCD and BASETYPE (STUDY.md §3.3: Ig
    decline as a DTYPE record; also haematology). The earliest of equal minima; Ig records need
    ANL02FL = "Y" (no IVIG / plasma exchange in the 28 days before)."""
    nadir = _paramcds("nadir")
    ig = _paramcds("ig_therapy")

    def candidates(d: pd.DataFrame) -> pd.Series:
        usable = ~d["PARAMCD"].isin(ig) | d["ANL02FL"].eq("Y")
        return d["PARAMCD"].isin(nadir) & d["ONTRTFL"].eq("Y") & _analysable(d) & usable

    return derive_extreme_records(
        adlb,
        list(GROUP),
        ["AVAL", "ADTM", "SRCSEQ"],
        "first",
        candidates,
        _derived_record_values(MINIMUM, *NADIR_VISIT),
    )


def derive_records_peak(adlb: pd.DataFrame, study: Study) -> pd.DataFrame:
    """DTYPE MAXIMUM: the post-infusion peak in D0-D28 (ADY 1-29; study.yaml
    ``analysis_windows.cytokine_peak`` when set) per subject, PARAMCD and BASETYPE for the cytokines
    (HALFLLOQ records standing for BLQ results), CRP and ferritin (STUDY.md §3.3, §4.4). The earliest
    of equal maxima. Its R2BASE is the fold change from baseline."""
    low, high = (float(d) for d in study.analysis_windows.get("cytokine_peak", CYTOKINE_PEAK_ADY))
    peak = _paramcds("peak")
    visit = f"DAY {int(low) - 1} TO DAY {int(high) - 1}"

    def candidates(d: pd.DataFrame) -> pd.Series:
        window = (d["ADY"] >= low) & (d["ADY"] <= high)
        return d["PARAMCD"].isin(peak) & d["ONTRTFL"].eq("Y") & window & _analysable(d)

    return derive_extreme_records(
        adlb,
        list(GROUP),
        [desc("AVAL"), "ADTM", "SRCSEQ"],
        "first",
        candidates,
        _derived_record_values(MAXIMUM, visit, PEAK_VISITN),
    )


# --- change from baseline, ranges, grades ---------------------------------------------------------------


def derive_var_post_baseline(adlb: pd.DataFrame) -> pd.DataFrame:
    """``_POSTBL``: the record is dated after its group's baseline record (CHG, PCHG, R2BASE, baseline
    CTCAE rules); baseline and earlier records are not."""
    narrow = adlb[[*GROUP, "ADTM", "ABLFL"]]
    baseline = narrow.loc[narrow["ABLFL"].eq("Y").fillna(False).to_numpy(dtype=bool), [*GROUP, "ADTM"]]
    merged = derive_vars_merged(narrow, baseline, by_vars=list(GROUP), new_vars={"_BLDTM": "ADTM"})
    out = adlb.copy(deep=False)
    out["_POSTBL"] = _flag(merged["ADTM"] > merged["_BLDTM"])
    return out


def derive_vars_base_chg(adlb: pd.DataFrame) -> pd.DataFrame:
    """BASE, CHG, PCHG (derive_vars_chg; ADaMIG 1.3 §3.3.4) per subject, PARAMCD and BASETYPE; CHG and
    PCHG on records dated after the baseline record only."""
    narrow = adlb[[*GROUP, "AVAL", "ABLFL", "_POSTBL"]]
    changes = derive_vars_chg(narrow, GROUP, filter=lambda d: d["_POSTBL"])
    return _add(adlb, changes, ["BASE", "CHG", "PCHG"])


def derive_var_r2base(adlb: pd.DataFrame) -> pd.DataFrame:
    """R2BASE = AVAL / BASE on post-baseline records (ADaMIG 1.3 §3.3.4; the fold change of the
    cytokine peak); null for BASE 0 and, like PCHG, for log-scale parameters (ANATITER), whose
    change is CHG in dilution steps."""
    out = adlb.copy(deep=False)
    base = out["BASE"].where(out["BASE"] != 0)
    linear = ~_flag(out["_LOGSCALE"])
    out["R2BASE"] = (out["AVAL"] / base).where(_flag(out["_POSTBL"]) & linear)
    out["PCHG"] = out["PCHG"].where(linear)
    return out


def derive_vars_anrind(adlb: pd.DataFrame) -> pd.DataFrame:
    """ANRIND (LOW < ANRLO, HIGH > ANRHI, else NORMAL; null without a value or any limit) and BNRIND
    (ANRIND of the baseline record, derive_var_base)."""
    value = adlb["AVAL"]
    has_range = adlb["ANRLO"].notna() | adlb["ANRHI"].notna()
    codes = np.select(
        [(value.isna() | ~has_range).to_numpy(), _flag(value < adlb["ANRLO"]), _flag(value > adlb["ANRHI"])],
        [-1, 0, 1],
        default=2,
    )
    out = adlb.copy(deep=False)
    out["ANRIND"] = _choose(codes, ["LOW", "HIGH", "NORMAL"], out.index)
    based = derive_var_base(out[[*GROUP, "ABLFL", "ANRIND"]], list(GROUP), "ANRIND", "BNRIND")
    return _add(out, based, ["BNRIND"])


def derive_vars_toxgr(adlb: pd.DataFrame) -> pd.DataFrame:
    """ATOXGR/ATOXGRN by CTCAE v5.0 (:mod:`cdisc168.adam.ctcae`) and BTOXGR/BTOXGRN of the baseline."""
    columns = ["PARAMCD", "AVAL", "ANRLO", "ANRHI", "BASE", "BNRIND", "_UNIT", "_POSTBL"]
    graded = derive_var_atoxgr(adlb[columns], CTCAE_TERMS)
    out = _add(adlb, graded, ["ATOXGR", "ATOXGRN"])
    narrow = out[[*GROUP, "ABLFL", "ATOXGR", "ATOXGRN"]]
    based = derive_var_base(narrow, list(GROUP), "ATOXGR", "BTOXGR")
    based = derive_var_base(based, list(GROUP), "ATOXGRN", "BTOXGRN")
    return _add(out, based, ["BTOXGR", "BTOXGRN"])


# --- criteria ---------------------------------------------------------------------------------------------


def _criterion(
    out: pd.DataFrame,
    number: int,
    text: pd.Series,
    applies: np.ndarray,
    evaluable: np.ndarray,
    met: np.ndarray,
) -> None:
    """CRITy = the text where the criterion applies; CRITyFL "Y"/"N" where also evaluable, else null."""
    out[f"CRIT{number}"] = text.astype("str").where(applies)
    codes = np.select([applies & evaluable & met, applies & evaluable], [0, 1], default=-1)
    out[f"CRIT{number}FL"] = _choose(codes, ["Y", "N"], out.index)


def derive_vars_crit(adlb: pd.DataFrame, study: Study) -> pd.DataFrame:
    """CRIT1-CRIT7 and CRIT1FL-CRIT7FL (STUDY.md §3.3; thresholds from study.yaml ``thresholds``).

    ====  ==========================  ==================================================================
    y     parameters                  CRITyFL "Y" / "N" (null: not applicable or not evaluable)
    ====  ==========================  ==================================================================
    1     CD19CNT, CD19FCNT,          B-cell (plasma-cell) clearance: a post-infusion AVAL below
          CD20CNT, PCCNT              ``bcell_clearance_per_ul``. Not evaluable (null on every record)
                                      when the PRE-LYMPHODEPLETION BASE is already below it or missing
                                      (STUDY.md §6.6): clearance cannot be attributed to treatment.
    2     IGG                         AVAL < ``igg_hypogamma_g_l`` (severe hypogammaglobulinaemia)
    3     IGG                         AVAL < ANRLO (LLN)
    4     C3, C4                      post-infusion AVAL ≥ LLN, among subjects with BASE < LLN
    5     autoantibodies              post-infusion decrease ≥ ``autoab_decline_pct`` % from baseline
                                      on the linear (titre) scale; a BLQ result counts when its LLOQ
                                      alone proves the decrease
    6     autoantibodies              seroconversion: post-infusion value < positivity cut-off
                                      (ISSTNRHI) given a baseline ≥ cut-off; a BLQ result counts when
                                      its LLOQ ≤ cut-off
    7     BCMAS                       below the LLOQ (BLQ, or AVAL < LLOQ)
    ====  ==========================  ==================================================================
    """
    t = study.thresholds
    narrow = adlb[[*GROUP, "ABLFL", "_LIN"]]
    linear_base = derive_var_base(narrow, list(GROUP), "_LIN", "_LINBASE")["_LINBASE"]
    out = adlb.copy(deep=False)
    paramcd = out["PARAMCD"]
    names = {p.paramcd: p.name for p in PARAMETERS}
    crit = {n: [p.paramcd for p in PARAMETERS if n in p.criteria] for n in range(1, 8)}
    value, base, lln = out["AVAL"], out["BASE"], out["ANRLO"]
    post = _flag(out["ONTRTFL"].eq("Y"))
    has_value = _flag(value.notna())
    blq = _flag(out["_BLQ"])
    lloq, linear, cutoff = out["_LLOQ"], out["_LIN"], out["_CUT"]

    def applies(n: int) -> np.ndarray:
        return _flag(paramcd.isin(crit[n]))

    def constant(text: str) -> pd.Series:
        return _choose(np.zeros(len(out), dtype=int), [text], out.index)

    clearance = t.bcell_clearance_per_ul
    evaluable = post & has_value & _flag(base >= clearance)
    _criterion(
        out, 1, paramcd.map(names) + f" < {clearance:g}/uL", applies(1), evaluable, _flag(value < clearance)
    )

    hypogamma = t.igg_hypogamma_g_l
    _criterion(out, 2, constant(f"IgG < {hypogamma:g} g/L"), applies(2), has_value, _flag(value < hypogamma))
    _criterion(out, 3, constant("IgG < LLN"), applies(3), has_value & _flag(lln.notna()), _flag(value < lln))

    evaluable = post & has_value & _flag(base < lln)
    text = paramcd.map(names) + " >= LLN given baseline < LLN"
    _criterion(out, 4, text, applies(4), evaluable, _flag(value >= lln))

    limit = (1.0 - t.autoab_decline_pct / 100.0) * linear_base
    blq_proves = blq & _flag(lloq <= limit)
    evaluable = post & _flag(linear_base > 0) & (_flag(linear.notna()) | blq_proves)
    text = constant(f"Decrease from baseline >= {t.autoab_decline_pct:g}%")
    _criterion(out, 5, text, applies(5), evaluable, _flag(linear <= limit) | blq_proves)

    blq_negative = blq & _flag(lloq <= cutoff)
    evaluable = post & _flag(linear_base >= cutoff) & (_flag(linear.notna()) | blq_negative)
    text = constant("Seroconversion: < positivity cut-off given baseline >= cut-off")
    _criterion(out, 6, text, applies(6), evaluable, _flag(linear < cutoff) | blq_negative)

    evaluable = blq | (has_value & _flag(lloq.notna()))
    _criterion(out, 7, constant("sBCMA < LLOQ"), applies(7), evaluable, blq | _flag(value < lloq))
    return out


# --- analysis records and sequence ------------------------------------------------------------------------


def derive_var_anl01fl(adlb: pd.DataFrame) -> pd.DataFrame:
    """ANL01FL = "Y" on the one analysable record per subject, PARAMCD, BASETYPE and AVISIT closest to
    the window target, ties to the later record (STUDY.md §3); derived MINIMUM/MAXIMUM records and
    records outside every window are not flagged."""
    columns = [*GROUP, "AVISITN", "AVISIT", "AWTDIFF", "ADTM", "SRCSEQ", "AVAL", "DTYPE"]
    flags = derive_var_extreme_flag(
        adlb[columns],
        [*GROUP, "AVISITN"],
        ["AWTDIFF", desc("ADTM"), desc("SRCSEQ")],
        "ANL01FL",
        mode="first",
        filter=lambda d: _analysable(d) & d["AVISIT"].notna() & d["AWTDIFF"].notna(),
    )
    return _add(adlb, flags, ["ANL01FL"])


def derive_var_aseq(adlb: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """ASEQ: 1, 2, … per subject in the order of the spec's keys (ADaMIG 1.3 §3.3.1), the order
    :func:`cdisc168.adam_spec.conform` sorts the dataset in."""
    order = adlb[list(keys)].sort_values(list(keys), kind="mergesort", na_position="first")
    sequence = order.groupby("USUBJID", sort=False).cumcount() + 1
    out = adlb.copy(deep=False)
    out["ASEQ"] = sequence.reindex(adlb.index).astype("float64")
    return out
