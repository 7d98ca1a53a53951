"""ADAE: the adverse event analysis dataset (OCCDS; ADaM OCCDS v1.1 and ADAE v1.0, STUDY.md §3.2).

One record per AE record of SDTM AE (AESEQ kept, so AE is the traceable source and no SRCDOM/SRCVAR/
SRCSEQ are needed), with the ADSL variables of the spec, the SUPPAE qualifiers, analysis dates with
imputation flags, phase and treatment-emergence flags, CRS/ICANS (ASTCT 2019) variables, the DLT
window and the protocol DLT definition of ``study.yaml`` ``dlt_rules``, and the first-occurrence flags.

The builder reads top to bottom like a template, one derivation per step:

==================  ==============================================================================
step                derives
==================  ==============================================================================
qualifiers          AE + SUPPAE (AEDLT, AECRS, AEICANS, AESI, TOXGRSCL, AERELLD, AETOCI, AESTER)
ADSL                the ADSL variables of mappings/adam/ADAE.yaml (derive_vars_merged)
dates               AENDT/AENDTF, then ASTDT/ASTDTF (derive_vars_dt), ASTDY/AENDY, ADURN/ADURU
phase               APHASE from the ADSL phase dates; TRTEMFL (derive_var_trtemfl), LDTEMFL
grades              AETOXGRN, ATOXGR/ATOXGRN, AREL/RELGR1
CRS / ICANS         CRSFL, ICANSFL, ASTCTGRN, CRSONDAY
DLT                 DLTWFL, DLTFL + DLTCRIT (:class:`DltDefinition`), DLTINVFL
special interest    AESIFL, AESICAT
occurrence          AOCCFL/AOCCSFL/AOCCPFL (first by date), AOCCIFL/AOCCSIFL/AOCCPIFL (highest grade)
==================  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from cdisc168.adam.derive import (
    compute_duration,
    derive_var_extreme_flag,
    derive_var_trtemfl,
    derive_vars_dt,
    derive_vars_dy,
    derive_vars_merged,
    desc,
)
from cdisc168.adam.derive_support import (
    column_names,
    require_absent,
    require_columns,
    require_frame,
    text_series,
)
from cdisc168.adam_spec import AdamSpec, conform, load_adam_spec
from cdisc168.study import Study

#: SUPPAE qualifiers ADAE uses (STUDY.md §2.9).
SUPPAE_QNAMS = ("AEDLT", "AECRS", "AEICANS", "AESI", "TOXGRSCL", "AERELLD", "AETOCI", "AESTER")

#: MedDRA preferred terms of CRS and ICANS (STUDY.md §2.9; ASTCT 2019, Lee et al. 2019).
CRS_TERM = "Cytokine release syndrome"
ICANS_TERM = "Immune effector cell-associated neurotoxicity syndrome"

#: APHASE values (STUDY.md §3.2; terminology.yaml APHASE): before LD, LD to the infusion, after it.
PHASE_PRE_LD = "PRE-LD"
PHASE_LD = "LD"
PHASE_POST_INFUSION = "POST-INFUSION"

#: AEREL values pooled as related to C-CAR168 in RELGR1 and the DLT definition (terminology.yaml AEREL).
RELATED = "RELATED"
NOT_RELATED = "NOT RELATED"

_DATA_CUT = "_DCUTDT"
_DLT_INPUTS = (
    "DLTWFL",
    "AREL",
    "ATOXGRN",
    "CRSFL",
    "ICANSFL",
    "AEDECOD",
    "AEBODSYS",
    "ASTDT",
    "AENDT",
    "TRTSDT",
)


# --- the DLT definition -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DltDefinition:
    """The protocol DLT definition (STUDY.md §3.2, ASSUMPTION), from ``study.yaml`` ``dlt_rules``.

    Every key of ``dlt_rules`` overrides the field of the same name; the defaults are the typical
    definition of STUDY.md §3.2 for the keys study.yaml does not (yet) give. An event is a DLT when it
    starts in the DLT window (``thresholds.dlt_window_days``, protocol days), is related to C-CAR168
    (AREL in ``related_values``) and meets one criterion (DLTCRIT, the first that applies):

    ===================  ==========================================================================
    DLTCRIT              criterion
    ===================  ==========================================================================
    CRS                  CRS grade ≥ ``crs_grade_min`` (4), or grade ``crs_prolonged_grade`` (3) not
                         improved within ``crs_grade3_max_days`` (3 days = 72 h): AENDT − ASTDT > 3
    ICANS                ICANS grade ≥ ``icans_grade_min`` (3); optionally grade
                         ``icans_prolonged_grade`` (off by default; e.g. 2) lasting more than
                         ``icans_prolonged_max_days``
    HEMATOLOGIC          a term of ``heme_terms`` (neutropenia, thrombocytopenia) with grade ≥
                         ``heme_grade_min`` (4) not recovered by protocol day
                         ``heme_grade4_unrecovered_by_day`` (28): AENDT − TRTSDT > 28
    NON-HEMATOLOGIC      any other event (not CRS/ICANS, not haematological: SOC in
                         ``hematologic_socs`` or PT in ``hematologic_terms``; PT not in
                         ``nonheme_excluded_terms``, fever and fatigue) with grade ≥
                         ``nonheme_grade_min`` (3) lasting more than ``nonheme_min_days`` (7):
                         AENDT − ASTDT > 7 (so laboratory abnormalities resolving within 7 days are
                         excluded too)
    INFUSION REACTION    a term of ``infusion_reaction_terms`` with grade ≥ ``infusion_reaction_grade_min``
    GRADE 5              any grade 5 event (``grade5_any``)
    ===================  ==========================================================================

    "Lasting" is measured on the analysis dates: an event still ongoing (no AENDT) lasts (it has not
    resolved). The AE end date stands for recovery: the AE record ends when the toxicity resolves
    (a later change in grade is a new AE record). Confirmation by the safety review committee is a
    human decision outside the data; the investigator's own call is DLTINVFL.
    """

    window_days: tuple[int, int] = (0, 28)
    related_values: tuple[str, ...] = ("POSSIBLE", "PROBABLE", "RELATED")
    crs_grade_min: int = 4
    crs_prolonged_grade: int = 3
    crs_grade3_max_days: int = 3
    icans_grade_min: int = 3
    icans_prolonged_grade: int | None = None
    icans_prolonged_max_days: int = 3
    heme_terms: tuple[str, ...] = (
        "Neutropenia",
        "Neutrophil count decreased",
        "Thrombocytopenia",
        "Platelet count decreased",
    )
    heme_grade_min: int = 4
    heme_grade4_unrecovered_by_day: int = 28
    hematologic_socs: tuple[str, ...] = ("Blood and lymphatic system disorders",)
    hematologic_terms: tuple[str, ...] = (
        "Neutrophil count decreased",
        "Platelet count decreased",
        "White blood cell count decreased",
        "Lymphocyte count decreased",
        "Haemoglobin decreased",
    )
    nonheme_grade_min: int = 3
    nonheme_min_days: int = 7
    nonheme_excluded_terms: tuple[str, ...] = ("Pyrexia", "Fatigue")
    infusion_reaction_terms: tuple[str, ...] = ("Infusion related reaction",)
    infusion_reaction_grade_min: int = 3
    grade5_any: bool = True

    @classmethod
    def from_study(cls, study: Study) -> DltDefinition:
        """The definition of ``study.yaml``: ``dlt_rules`` keys and ``thresholds.dlt_window_days``."""
        known = {f.name for f in fields(cls)}
        rules: Mapping[str, Any] = study.dlt_rules
        unknown = sorted(set(rules) - known)
        if unknown:
            raise ValueError(f"{study.path}: dlt_rules: unknown keys {unknown}; known: {sorted(known)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in rules.items()}
        return cls(**{**values, "window_days": tuple(study.thresholds.dlt_window_days)})


# --- reusable steps ------------------------------------------------------------------------------------


def derive_vars_supp(
    dataset: pd.DataFrame,
    dataset_supp: pd.DataFrame,
    qnams: Sequence[str],
    by_vars: Sequence[str] = ("STUDYID", "USUBJID"),
    id_var: str = "AESEQ",
) -> pd.DataFrame:
    """Add SUPP-- qualifiers as variables named by their QNAM (SDTMIG 3.4 §8.4, supplemental qualifiers).

    The records of ``dataset_supp`` with IDVAR = ``id_var`` and QNAM in ``qnams`` are joined to the
    parent record by ``by_vars`` and IDVARVAL = ``id_var`` (compared as numbers for a numeric
    ``id_var`` such as AESEQ); QVAL becomes the value of the variable QNAM. A QNAM with no record
    gives an all-missing variable. Values are text (QVAL is Char). Each parent record takes at most
    one value per QNAM (SDTMIG: QNAM is unique per parent record), so the join never multiplies
    records.

    Example (the investigator's DLT call of AESEQ 2):

    >>> import pandas as pd
    >>> ae = pd.DataFrame({"STUDYID": ["S", "S"], "USUBJID": ["S-1", "S-1"], "AESEQ": [1.0, 2.0]})
    >>> suppae = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-1"], "IDVAR": ["AESEQ"],
    ...                        "IDVARVAL": ["2"], "QNAM": ["AEDLT"], "QVAL": ["Y"]})
    >>> derive_vars_supp(ae, suppae, ["AEDLT"])["AEDLT"].tolist()
    [nan, 'Y']
    """
    dataset = require_frame(dataset, "dataset")
    dataset_supp = require_frame(dataset_supp, "dataset_supp")
    names = list(column_names(qnams, "qnams"))
    keys = list(column_names(by_vars, "by_vars"))
    require_columns(dataset, [*keys, id_var], "by_vars")
    require_columns(dataset_supp, [*keys, "IDVAR", "IDVARVAL", "QNAM", "QVAL"], "dataset_supp")
    require_absent(dataset, names, "qnams")
    selected = dataset_supp.loc[
        (dataset_supp["IDVAR"] == id_var).to_numpy() & dataset_supp["QNAM"].isin(names).to_numpy()
    ]
    idvarval = selected["IDVARVAL"]
    if pd.api.types.is_numeric_dtype(dataset[id_var].dtype):
        idvarval = pd.to_numeric(idvarval, errors="coerce")
    long = selected[keys].assign(_ID=idvarval.to_numpy(), QNAM=selected["QNAM"], QVAL=selected["QVAL"])
    wide = long.pivot_table(index=[*keys, "_ID"], columns="QNAM", values="QVAL", aggfunc="first")
    wide = wide.reindex(columns=names).reset_index()
    wide.columns.name = None
    out = derive_vars_merged(dataset, wide, by_vars={**{k: k for k in keys}, id_var: "_ID"}, new_vars=names)
    for name in names:
        out[name] = out[name].astype("str")
    return out


def _flag(mask: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    """A "Y"/null flag from a boolean mask (missing counts as False)."""
    values = np.asarray(pd.Series(mask, index=index).fillna(False), dtype=bool)
    return text_series(np.where(values, "Y", None).tolist(), index)


def _days_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Whole days from ``start`` to ``end`` (end − start, no +1); NaN when either is missing."""
    return compute_duration(start, end, add_one=False)


# --- the derivations of ADAE, in build order -------------------------------------------------------------


def _ae_with_qualifiers(sdtm: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """SDTM AE with its SUPPAE qualifiers (lineage columns of the SDTM stage dropped)."""
    ae = sdtm["AE"]
    ae = ae.drop(columns=[c for c in ae.columns if c.startswith("_") or c == "FORMSEQ"])
    supp = sdtm.get("SUPPAE")
    if supp is None:
        supp = pd.DataFrame(columns=["STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL"])
    return derive_vars_supp(ae.reset_index(drop=True), supp, SUPPAE_QNAMS)


def _adsl_variables(spec: AdamSpec) -> list[str]:
    """The spec's variables that come from ADSL (``source: ADSL.<name>``), keys excluded."""
    return [
        v.name
        for v in spec.variables
        if (v.source or "").startswith("ADSL.") and v.name not in ("STUDYID", "USUBJID")
    ]


def _derive_data_cut(adae: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The data cut as a date column, to cap imputed end dates (STUDY.md Decisions: data cut)."""
    return adae.assign(**{_DATA_CUT: pd.Timestamp(study.data_cut)}).astype({_DATA_CUT: "datetime64[us]"})


def _derive_vars_aendt(adae: pd.DataFrame) -> pd.DataFrame:
    """AENDT/AENDTF: missing day → last day of the month, missing month → 31 December, never after
    death or the data cut (STUDY.md Decisions, AENDT imputation; ADaMIG 1.3 §3.1.3)."""
    return derive_vars_dt(
        adae,
        "AEN",
        "AEENDTC",
        highest_imputation="M",
        date_imputation="last",
        max_dates=["DTHDT", _DATA_CUT],
    )


def _derive_vars_astdt(adae: pd.DataFrame) -> pd.DataFrame:
    """ASTDT/ASTDTF: missing day → the 1st, missing month → 1 January, but not before TRTSDT when the
    infusion falls in the possible range (so an AE of the infusion month counts as treatment-emergent),
    and never after AENDT (STUDY.md §3.2; admiral ``min_dates``/``max_dates``)."""
    return derive_vars_dt(
        adae,
        "AST",
        "AESTDTC",
        highest_imputation="M",
        date_imputation="first",
        min_dates=["TRTSDT"],
        max_dates=["AENDT"],
    )


def _derive_vars_duration(adae: pd.DataFrame) -> pd.DataFrame:
    """ADURN = AENDT − ASTDT + 1 days (ADaM OCCDS; an AE starting and ending the same day lasts 1 day)."""
    out = adae.copy()
    out["ADURN"] = compute_duration(out["ASTDT"], out["AENDT"])
    out["ADURU"] = text_series(np.where(out["ADURN"].notna(), "DAYS", None).tolist(), out.index)
    return out


def _derive_var_aphase(adae: pd.DataFrame) -> pd.DataFrame:
    """APHASE from the ADSL phase dates (STUDY.md §3.2; ADaMIG 1.3 OCCDS APHASE with PHwSDT/PHwEDT).

    PH1 is lymphodepletion (PH1SDT = LDSTDT to PH1EDT, the day before the infusion), PH2 the
    post-infusion phase (PH2SDT = TRTSDT to PH2EDT). An AE starting before PH1SDT (or before PH2SDT
    without LD, or in a subject never treated) is PRE-LD; ASTDT missing → APHASE missing.
    """
    start = adae["ASTDT"]
    in_ld = (start >= adae["PH1SDT"]) & ((start <= adae["PH1EDT"]) | adae["PH1EDT"].isna())
    post = (start >= adae["PH2SDT"]) & ((start <= adae["PH2EDT"]) | adae["PH2EDT"].isna())
    first_phase = adae["PH1SDT"].fillna(adae["PH2SDT"])
    pre = start.notna() & (first_phase.isna() | (start < first_phase))
    phase = np.select(
        [post.to_numpy(), in_ld.to_numpy(), pre.to_numpy()],
        [PHASE_POST_INFUSION, PHASE_LD, PHASE_PRE_LD],
        default=None,
    )
    return adae.assign(APHASE=text_series(phase.tolist(), adae.index))


def _derive_var_trtemfl(adae: pd.DataFrame) -> pd.DataFrame:
    """TRTEMFL: ASTDT ≥ TRTSDT (the infusion date), no upper cut-off (STUDY.md §3.2).

    A pre-existing AE that worsens on treatment is a new AE record in SDTM (SDTMIG 3.4 AE: a change
    in grade starts a new record), so its ASTDT ≥ TRTSDT flags it; cases of
    :func:`~cdisc168.adam.derive.derive_var_trtemfl` apply (no start date → Y; ended before → null).
    """
    return derive_var_trtemfl(adae)


def _derive_var_ldtemfl(adae: pd.DataFrame) -> pd.DataFrame:
    """LDTEMFL: onset on or after LDSTDT and before TRTSDT (or no infusion), STUDY.md §3.2."""
    start = adae["ASTDT"]
    emergent = (start >= adae["LDSTDT"]) & (adae["TRTSDT"].isna() | (start < adae["TRTSDT"]))
    return adae.assign(LDTEMFL=_flag(emergent, adae.index))


def _derive_vars_grade(adae: pd.DataFrame) -> pd.DataFrame:
    """AETOXGRN, ATOXGR (= AETOXGR: CTCAE v5.0, or ASTCT 2019 for CRS/ICANS as TOXGRSCL says) and ATOXGRN."""
    grade = pd.to_numeric(adae["AETOXGR"], errors="coerce").astype("float64")
    atoxgr = adae["AETOXGR"].astype(object).where(grade.notna(), None)
    return adae.assign(AETOXGRN=grade, ATOXGR=atoxgr, ATOXGRN=grade)


def _derive_vars_relationship(adae: pd.DataFrame, dlt: DltDefinition) -> pd.DataFrame:
    """AREL = AEREL, a missing causality taken as RELATED (conservative); RELGR1 pools the values of
    ``dlt.related_values`` (POSSIBLE, PROBABLE, RELATED) as RELATED, the others as NOT RELATED."""
    arel = adae["AEREL"].astype(object).where(adae["AEREL"].notna(), RELATED)
    related = arel.isin(dlt.related_values).to_numpy()
    return adae.assign(
        AREL=arel, RELGR1=text_series(np.where(related, RELATED, NOT_RELATED).tolist(), adae.index)
    )


def _derive_vars_crs_icans(adae: pd.DataFrame, astct_scale: str) -> pd.DataFrame:
    """CRSFL/ICANSFL (SUPPAE AECRS/AEICANS = Y or the MedDRA PT), ASTCTGRN (the ASTCT 2019 grade of a
    CRS/ICANS record, AETOXGR unless TOXGRSCL names another scale) and CRSONDAY = ASTDT − TRTSDT
    (protocol day of CRS onset, day 0 = infusion; STUDY.md Decisions: …DAYS counts include day 0)."""
    term = adae["AEDECOD"].astype("str").str.casefold()
    crs = (adae["AECRS"] == "Y") | (term == CRS_TERM.casefold())
    icans = (adae["AEICANS"] == "Y") | (term == ICANS_TERM.casefold())
    astct = (crs | icans) & (adae["TOXGRSCL"].isna() | (adae["TOXGRSCL"] == astct_scale))
    onset = _days_between(adae["TRTSDT"], adae["ASTDT"])
    return adae.assign(
        CRSFL=_flag(crs, adae.index),
        ICANSFL=_flag(icans, adae.index),
        ASTCTGRN=adae["ATOXGRN"].where(astct),
        CRSONDAY=onset.where(crs),
    )


def derive_var_dltwfl(adae: pd.DataFrame, dlt: DltDefinition) -> pd.DataFrame:
    """DLTWFL: low ≤ ASTDT − TRTSDT ≤ high (protocol days, inclusive; study.yaml dlt_window_days),
    so with the window [0, 28] an AE starting on the infusion day (day 0) or on day 28 is in the
    window, one starting on day 29 is not."""
    adae = require_frame(adae, "adae")
    require_columns(adae, ["ASTDT", "TRTSDT"], "adae")
    require_absent(adae, ["DLTWFL"], "adae")
    low, high = dlt.window_days
    onset = _days_between(adae["TRTSDT"], adae["ASTDT"])
    return adae.assign(DLTWFL=_flag((onset >= low) & (onset <= high), adae.index))


def derive_vars_dltfl(adae: pd.DataFrame, dlt: DltDefinition) -> pd.DataFrame:
    """DLTFL and DLTCRIT per :class:`DltDefinition` (STUDY.md §3.2): in window, related, one criterion.

    Needs DLTWFL, AREL, ATOXGRN, CRSFL, ICANSFL, AEDECOD, AEBODSYS, ASTDT, AENDT and TRTSDT.
    """
    adae = require_frame(adae, "adae")
    require_columns(adae, _DLT_INPUTS, "adae")
    require_absent(adae, ["DLTFL", "DLTCRIT"], "adae")
    grade = adae["ATOXGRN"]
    crs = adae["CRSFL"] == "Y"
    icans = adae["ICANSFL"] == "Y"
    term = adae["AEDECOD"]
    lasting = _days_between(adae["ASTDT"], adae["AENDT"])
    ongoing = adae["AENDT"].isna()
    recovered_day = _days_between(adae["TRTSDT"], adae["AENDT"])

    def lasts_more_than(days: int) -> pd.Series:
        return ongoing | (lasting > days)

    crs_dlt = crs & (
        (grade >= dlt.crs_grade_min)
        | ((grade == dlt.crs_prolonged_grade) & lasts_more_than(dlt.crs_grade3_max_days))
    )
    icans_dlt = icans & (grade >= dlt.icans_grade_min)
    if dlt.icans_prolonged_grade is not None:
        icans_dlt |= (
            icans & (grade == dlt.icans_prolonged_grade) & lasts_more_than(dlt.icans_prolonged_max_days)
        )
    heme_dlt = (
        term.isin(dlt.heme_terms)
        & (grade >= dlt.heme_grade_min)
        & (ongoing | (recovered_day > dlt.heme_grade4_unrecovered_by_day))
    )
    hematologic = adae["AEBODSYS"].isin(dlt.hematologic_socs) | term.isin(dlt.hematologic_terms)
    nonheme_dlt = (
        ~crs
        & ~icans
        & ~hematologic
        & ~term.isin(dlt.nonheme_excluded_terms)
        & (grade >= dlt.nonheme_grade_min)
        & lasts_more_than(dlt.nonheme_min_days)
    )
    infusion_dlt = term.isin(dlt.infusion_reaction_terms) & (grade >= dlt.infusion_reaction_grade_min)
    grade5_dlt = (grade == 5) if dlt.grade5_any else pd.Series(False, index=adae.index)

    eligible = ((adae["DLTWFL"] == "Y") & adae["AREL"].isin(dlt.related_values)).to_numpy()
    criteria = [crs_dlt, icans_dlt, heme_dlt, nonheme_dlt, infusion_dlt, grade5_dlt]
    names = ["CRS", "ICANS", "HEMATOLOGIC", "NON-HEMATOLOGIC", "INFUSION REACTION", "GRADE 5"]
    conditions = [eligible & c.fillna(False).to_numpy(dtype=bool) for c in criteria]
    crit = np.select(conditions, names, default=None)
    return adae.assign(
        DLTFL=_flag(pd.Series(crit, index=adae.index).notna(), adae.index),
        DLTCRIT=text_series(crit.tolist(), adae.index),
    )


def _derive_var_dltinvfl(adae: pd.DataFrame) -> pd.DataFrame:
    """DLTINVFL: the investigator called the event a DLT (SUPPAE AEDLT = Y), kept apart from DLTFL."""
    return adae.assign(DLTINVFL=_flag(adae["AEDLT"] == "Y", adae.index))


def _derive_vars_aesi(adae: pd.DataFrame) -> pd.DataFrame:
    """AESICAT = SUPPAE AESI (infection, prolonged cytopenia, IEC-HS, hypogammaglobulinaemia, …);
    AESIFL = Y when a category is given (STUDY.md §3.2)."""
    return adae.assign(AESICAT=adae["AESI"], AESIFL=_flag(adae["AESI"].notna(), adae.index))


def _derive_occurrence_flags(adae: pd.DataFrame) -> pd.DataFrame:
    """First-occurrence flags among treatment-emergent AEs (ADaM OCCDS v1.1 AOCCxxFL).

    AOCCFL/AOCCSFL/AOCCPFL: the first TEAE by ASTDT (then AESEQ) per subject / SOC / SOC and PT.
    AOCCIFL/AOCCSIFL/AOCCPIFL: the TEAE of highest ATOXGRN per subject / SOC / PT, the earliest
    among ties (the "highest grade" occurrence of STUDY.md §3.2).
    """
    teae = lambda d: d["TRTEMFL"] == "Y"  # noqa: E731 - a record selection, as admiral's filter
    subject = ["STUDYID", "USUBJID"]
    groups = {"": subject, "S": [*subject, "AEBODSYS"], "P": [*subject, "AEBODSYS", "AEDECOD"]}
    out = adae
    for code, by_vars in groups.items():
        out = derive_var_extreme_flag(out, by_vars, ["ASTDT", "AESEQ"], f"AOCC{code}FL", filter=teae)
    for code, by_vars in groups.items():
        out = derive_var_extreme_flag(
            out, by_vars, [desc("ATOXGRN"), "ASTDT", "AESEQ"], f"AOCC{code}IFL", filter=teae
        )
    return out


# --- the dataset ------------------------------------------------------------------------------------------


def build_adae(
    sdtm: Mapping[str, pd.DataFrame], adam: Mapping[str, pd.DataFrame], study: Study
) -> pd.DataFrame:
    """ADAE from SDTM AE + SUPPAE and ADSL (``adam["ADSL"]``), exactly the variables of ADAE.yaml."""
    spec = load_adam_spec(study.mappings_dir / "adam" / "ADAE.yaml")
    dlt = DltDefinition.from_study(study)
    adae = _ae_with_qualifiers(sdtm)
    adae = derive_vars_merged(adae, adam["ADSL"], new_vars=_adsl_variables(spec))
    adae = _derive_data_cut(adae, study)
    adae = _derive_vars_aendt(adae)
    adae = _derive_vars_astdt(adae)
    adae = derive_vars_dy(adae, "TRTSDT", ["ASTDT", "AENDT"])
    adae = _derive_vars_duration(adae)
    adae = _derive_var_aphase(adae)
    adae = _derive_var_trtemfl(adae)
    adae = _derive_var_ldtemfl(adae)
    adae = _derive_vars_grade(adae)
    adae = _derive_vars_relationship(adae, dlt)
    adae = _derive_vars_crs_icans(adae, study.standards["astct"])
    adae = derive_var_dltwfl(adae, dlt)
    adae = derive_vars_dltfl(adae, dlt)
    adae = _derive_var_dltinvfl(adae)
    adae = _derive_vars_aesi(adae)
    adae = _derive_occurrence_flags(adae)
    return conform(adae.drop(columns=[c for c in adae.columns if c not in spec.variable_names]), spec)
