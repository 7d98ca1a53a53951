"""Cut-offs of the published response and remission criteria that ADRS applies (STUDY.md §3.5).

The study-level thresholds (glucocorticoid ceilings, the GC/IS-free look-back, the month-6 window, the
remission map) come from ``mappings/study.yaml`` through :class:`cdisc168.study.Study`. What is here are
the cut-offs that belong to each published definition, and the ASSUMPTION rules of STUDY.md §3.5 (IMNM
remission, NMOSD remission, MG remission), kept in one frozen object so an analysis can change them
(``build_adrs(..., criteria=RemissionCriteria(imnm_mmt8_min=140))``) and never as literals in the code.

References:

- SLEDAI-2K: Gladman et al., J Rheumatol 2002;29:288-91 (24 descriptors, total 0-105).
- DORIS 2021: van Vollenhoven et al., Lupus Sci Med 2021;8:e000538 (clinical SLEDAI-2K = 0, PGA < 0.5,
  prednisone ≤ 5 mg/day; antimalarials, immunosuppressants and biologics allowed).
- LLDAS: Franklyn et al., Ann Rheum Dis 2016;75:1615-21.
- SRI-4: Furie et al., Arthritis Rheum 2009;61:1143-51.
- KDIGO 2024 lupus nephritis guideline, Kidney Int 2024;105(1S):S1-S69 (complete / partial response).
- IMACS total improvement score: Aggarwal et al., Ann Rheum Dis 2017;76:792-801 (2016 ACR/EULAR
  conjoint-analysis model, absolute per cent change); IMACS disease worsening: Oddis et al., Arthritis
  Rheum 2005;52:2607-15.
- MG-ADL minimal symptom expression: Vissing et al., J Neurol 2020;267:1991-2001; MGFA post-intervention
  status: Jaretzki et al., Neurology 2000;55:16-23.
- NEDA-3 and confirmed disability progression: Giovannoni et al., Mult Scler Relat Disord 2015;4:329-33;
  Kappos et al., Neurology 2016;87:2046-54.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: IMACS 2016 adult total improvement score: per core set measure, the upper bounds (absolute per cent
#: improvement from baseline, exclusive lower / inclusive upper) of the improvement levels and the
#: points of each level above the first. Improvement ≤ the first bound (including any worsening) scores 0
#: (Aggarwal et al. 2017, Table 3 "conjoint analysis-based continuous model").
TIS_LEVELS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "PHGA01": ((5.0, 15.0, 25.0, 40.0), (7.5, 15.0, 17.5, 20.0)),  # physician global activity
    "PTGA01": ((5.0, 15.0, 25.0, 40.0), (2.5, 5.0, 7.5, 10.0)),  # patient global activity
    "MMT8TOT": ((2.0, 10.0, 20.0, 30.0), (10.0, 20.0, 27.5, 32.5)),  # manual muscle testing (MMT-8)
    "HAQDI": ((5.0, 15.0, 25.0, 40.0), (5.0, 7.5, 7.5, 10.0)),  # HAQ disability index
    "CK": ((5.0, 15.0, 25.0, 40.0), (2.5, 5.0, 7.5, 7.5)),  # most abnormal muscle enzyme (CK)
    "MDAAT01": ((5.0, 15.0, 25.0, 40.0), (7.5, 12.5, 15.0, 20.0)),  # extramuscular global activity
}

#: The six IMACS core set measures; MMT-8 is the one where a higher value is better.
IMACS_CORE_SET = ("PHGA01", "PTGA01", "MMT8TOT", "HAQDI", "CK", "MDAAT01")
IMACS_HIGHER_IS_BETTER = ("MMT8TOT",)

#: SLEDAI-2K descriptors (RS SLED0101..SLED0124) by organ system, for LLDAS and the clinical SLEDAI.
SLEDAI_ITEMS = tuple(f"SLED01{n:02d}" for n in range(1, 25))
SLEDAI_SEROLOGY = ("SLED0120", "SLED0121")  # low complement, increased DNA binding
SLEDAI_MAJOR_ORGAN = (
    *(f"SLED01{n:02d}" for n in range(1, 8)),  # CNS: seizure .. cerebrovascular accident
    "SLED0108",  # vasculitis
    "SLED0111",  # renal: urinary casts, haematuria, proteinuria, pyuria
    "SLED0112",
    "SLED0113",
    "SLED0114",
    "SLED0118",  # cardiopulmonary: pleurisy, pericarditis
    "SLED0119",
    "SLED0122",  # fever
)


@dataclass(frozen=True)
class RemissionCriteria:
    """Cut-offs of the ADRS criteria (module docstring for the sources); units as collected in SDTM."""

    # SLE / LN
    doris_pga_max: float = 0.5  # PGA (0-3) strictly below
    lldas_sledai_max: float = 4.0
    lldas_pga_max: float = 1.0
    sri4_sledai_drop: float = 4.0
    sri4_new_bilag_a_max: float = 0.0
    sri4_new_bilag_b_max: float = 1.0
    sri4_pga_rise_max: float = 0.3  # PGA increase strictly below
    sle_flare_sledai_rise: float = 4.0  # SLE flare: SLEDAI-2K rise from the reference with new activity
    lncr_upcr_max: float = 0.5  # g/g, strictly below
    lnpr_upcr_max: float = 3.0  # g/g, strictly below
    lnpr_upcr_drop_pct: float = 50.0  # reduction from baseline, at least
    egfr_decline_max_pct: float = 15.0  # stable eGFR: a decline from baseline below this, or ≥ LLN
    # IMNM (IMACS)
    tis_minimal: float = 20.0
    tis_moderate: float = 40.0
    tis_major: float = 60.0
    imnm_tis_min: float = 60.0  # IMNM remission (ASSUMPTION)
    imnm_mmt8_min: float = 142.0  # of 150 (ASSUMPTION)
    imacs_phga_worse_cm: float = 2.0
    imacs_mmt8_worse_pct: float = 20.0
    imacs_extramuscular_worse_cm: float = 2.0
    imacs_any3_worse_pct: float = 30.0
    # NMOSD / RRMS
    nmorem_edss_rise_max: float = 0.5  # EDSS ≤ baseline + this (ASSUMPTION)
    nmorem_requires_is_free: bool = True  # "off attack-preventive IS (if the protocol requires)"
    # NMOSD attack EDSS worsening: (baseline upper bound, rise) - baseline 0 → 2.0, ≤ 5.0 → 1.0, else 0.5
    nmosd_edss_worsening: tuple[tuple[float, float], ...] = ((0.0, 2.0), (5.0, 1.0), (99.0, 0.5))
    # Confirmed disability progression: (baseline upper bound, rise) - 0 → 1.5, ≤ 5.5 → 1.0, else 0.5
    cdp_edss_worsening: tuple[tuple[float, float], ...] = ((0.0, 1.5), (5.5, 1.0), (99.0, 0.5))
    cdp_confirmation_days: int = 84  # CDP12: confirmed at >= 12 weeks
    # MG
    mse_mgadl_max: float = 1.0
    mgadl_response_drop: float = 2.0
    qmg_response_drop: float = 3.0
    mg_worsening_rise: float = 2.0  # MG-ADL rise from the nadir, sustained over 2 assessments
    mg_remission_pis: tuple[str, ...] = ("COMPLETE STABLE REMISSION", "PHARMACOLOGIC REMISSION")
    # Relapse and progression sources (STUDY.md §2.10 CE, §3.5 RELAPSE)
    relapse_cecat: str = "DISEASE RELAPSE"
    rescue_cmcat: tuple[str, ...] = ("IVIG/PLEX",)  # CMCAT of IVIG/plasma exchange given as rescue ...
    rescue_cmindc: tuple[str, ...] = ("DISEASE",)  # ... for the disease (not IVIG replacement for an AE)
    rescue_gc_rise_mg: float = 7.5  # prednisone-equivalent rise per day, strictly above ...
    rescue_gc_min_days: int = 15  # ... for more than 14 days
    # Score that dates a visit and proves a baseline assessment, by indication
    primary_score: dict[str, str] = field(
        default_factory=lambda: {
            "SLE": "SLED0125",
            "LN": "SLED0125",
            "IMNM": "MMT8TOT",
            "NMOSD": "EDSS0101",
            "RRMS": "EDSS0101",
            "MG": "MGADL09",
        }
    )
    # BESTRESP: per indication, the categories below REMISSION (REMIS = Y) best first, each with the
    # ADRS parameters whose "Y" reaches it (TIS: the minimal-improvement threshold).
    best_response: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(
        default_factory=lambda: {
            "SLE": (("LOW DISEASE ACTIVITY", ("DORISREM", "LLDAS")), ("RESPONSE", ("SRI4",))),
            "LN": (("LOW DISEASE ACTIVITY", ("DORISREM", "LLDAS")), ("RESPONSE", ("LNPR", "SRI4"))),
            "IMNM": (("RESPONSE", ("TIS",)),),
            "NMOSD": (),
            "RRMS": (),
            "MG": (("LOW DISEASE ACTIVITY", ("MSE",)), ("RESPONSE", ("MGADLR", "QMGR"))),
        }
    )
