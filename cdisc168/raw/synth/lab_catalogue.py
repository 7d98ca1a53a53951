"""What the clinical laboratory of the synthetic C-CAR168 study measures: tests, units and reference
ranges as the site laboratories report them (STUDY.md §1 "Lab panels" and §2.4), panels, and which
panel is drawn at which visit.

Reference ranges are typical Chinese hospital laboratory ranges (adult; female/male where they
differ). Categories follow the raw contract's LBCAT: TBNK lymphocyte subsets and immunoglobulins are
IMMUNOLOGY; CRP, ferritin, CK and HCG are CHEMISTRY; fibrinogen and D-dimer are COAGULATION; UPCR is
URINALYSIS; cytokines are CYTOKINE and sBCMA is BIOMARKER, both measured by a central laboratory.
The pregnancy test is a quantitative serum β-hCG in IU/L (LLOQ 2, non-pregnant women "<2"), kept
numeric like every other result so LB can carry it in LBSTRESN.
"""

from __future__ import annotations

from dataclasses import dataclass

CENTRAL_LAB = "CENTRAL IMMUNOLOGY LABORATORY"
LOCAL_LAB = "SITE {site} HOSPITAL LABORATORY"


@dataclass(frozen=True)
class LabTest:
    """One test as collected. ``low``/``high`` is the reference range (female range first when
    ``low_m``/``high_m`` give a male one); ``lloq`` is the assay's lower limit of quantitation."""

    code: str
    category: str
    unit: str | None
    low: float | None
    high: float | None
    decimals: int
    specimen: str
    lloq: float | None = None
    central: bool = False
    low_m: float | None = None
    high_m: float | None = None


TESTS: tuple[LabTest, ...] = (
    LabTest("WBC", "HEMATOLOGY", "10^9/L", 3.5, 9.5, 2, "BLOOD"),
    LabTest("NEUT", "HEMATOLOGY", "10^9/L", 1.8, 6.3, 2, "BLOOD"),
    LabTest("LYM", "HEMATOLOGY", "10^9/L", 1.1, 3.2, 2, "BLOOD"),
    LabTest("HGB", "HEMATOLOGY", "g/L", 115, 150, 0, "BLOOD", low_m=130, high_m=175),
    LabTest("PLAT", "HEMATOLOGY", "10^9/L", 125, 350, 0, "BLOOD"),
    LabTest("BLYCE", "IMMUNOLOGY", "cells/uL", 90, 560, 0, "BLOOD"),
    LabTest("BLYCELY", "IMMUNOLOGY", "%", 5, 18, 1, "BLOOD"),
    LabTest("TLYCE", "IMMUNOLOGY", "cells/uL", 770, 2860, 0, "BLOOD"),
    LabTest("ALT", "CHEMISTRY", "U/L", 7, 40, 0, "SERUM", low_m=9, high_m=50),
    LabTest("AST", "CHEMISTRY", "U/L", 13, 35, 0, "SERUM", low_m=15, high_m=40),
    LabTest("BILI", "CHEMISTRY", "umol/L", 3.4, 20.5, 1, "SERUM"),
    LabTest("CREAT", "CHEMISTRY", "umol/L", 41, 81, 0, "SERUM", low_m=57, high_m=111),
    LabTest("GFRE", "CHEMISTRY", "mL/min/1.73 m2", 90, None, 0, "SERUM"),
    LabTest("UREA", "CHEMISTRY", "mmol/L", 2.6, 7.5, 2, "SERUM"),
    LabTest("K", "CHEMISTRY", "mmol/L", 3.5, 5.3, 2, "SERUM"),
    LabTest("SODIUM", "CHEMISTRY", "mmol/L", 137, 147, 1, "SERUM"),
    LabTest("ALB", "CHEMISTRY", "g/L", 40, 55, 1, "SERUM"),
    LabTest("LDH", "CHEMISTRY", "U/L", 120, 250, 0, "SERUM"),
    LabTest("URATE", "CHEMISTRY", "umol/L", 155, 357, 0, "SERUM", low_m=208, high_m=428),
    LabTest("CK", "CHEMISTRY", "U/L", 40, 200, 0, "SERUM", low_m=50, high_m=310),
    LabTest("ALDOLASE", "CHEMISTRY", "U/L", 0, 7.6, 1, "SERUM"),
    LabTest("MGB", "CHEMISTRY", "ug/L", 25, 58, 1, "SERUM", low_m=28, high_m=72),
    LabTest("CRP", "CHEMISTRY", "mg/L", 0, 10, 2, "SERUM", lloq=0.5),
    LabTest("FERRITIN", "CHEMISTRY", "ug/L", 13, 150, 1, "SERUM", low_m=30, high_m=400),
    LabTest("FIBRINO", "COAGULATION", "g/L", 2, 4, 2, "PLASMA"),
    LabTest("DDIMER", "COAGULATION", "mg/L FEU", 0, 0.55, 2, "PLASMA"),
    LabTest("PT", "COAGULATION", "s", 9.4, 12.5, 1, "PLASMA"),
    LabTest("INR", "COAGULATION", None, 0.8, 1.2, 2, "PLASMA"),
    LabTest("APTT", "COAGULATION", "s", 25.1, 36.5, 1, "PLASMA"),
    LabTest("PROTCRT", "URINALYSIS", "g/g", 0, 0.2, 2, "URINE"),
    LabTest("IGG", "IMMUNOLOGY", "g/L", 8.6, 17.4, 2, "SERUM"),
    LabTest("IGA", "IMMUNOLOGY", "g/L", 1.0, 4.2, 2, "SERUM"),
    LabTest("IGM", "IMMUNOLOGY", "g/L", 0.3, 2.2, 2, "SERUM"),
    LabTest("C3", "IMMUNOLOGY", "g/L", 0.9, 1.8, 2, "SERUM"),
    LabTest("C4", "IMMUNOLOGY", "g/L", 0.1, 0.4, 3, "SERUM"),
    LabTest("INTLK2", "CYTOKINE", "pg/mL", 0, 11.4, 2, "SERUM", lloq=1.0, central=True),
    LabTest("INTLK4", "CYTOKINE", "pg/mL", 0, 12.9, 2, "SERUM", lloq=1.0, central=True),
    LabTest("INTLK6", "CYTOKINE", "pg/mL", 0, 20.0, 2, "SERUM", lloq=1.0, central=True),
    LabTest("INTLK10", "CYTOKINE", "pg/mL", 0, 5.9, 2, "SERUM", lloq=1.0, central=True),
    LabTest("TNF", "CYTOKINE", "pg/mL", 0, 5.5, 2, "SERUM", lloq=1.0, central=True),
    LabTest("IFNG", "CYTOKINE", "pg/mL", 0, 17.3, 2, "SERUM", lloq=1.0, central=True),
    LabTest("BCMAS", "BIOMARKER", "ng/mL", None, None, 2, "SERUM", lloq=1.0, central=True),
    LabTest("HCG", "CHEMISTRY", "IU/L", 0, 5, 1, "SERUM", lloq=2.0),
)

# Tests whose decimals follow the magnitude of the value ((upper bound, decimals) steps).
MAGNITUDE_DECIMALS: dict[str, tuple[tuple[float, int], ...]] = {
    "BLYCE": ((10, 1),),
    "BLYCELY": ((1, 2),),
    "CRP": ((10, 2), (100, 1)),
    "INTLK2": ((100, 2), (1000, 1)),
    "INTLK6": ((100, 2), (1000, 1)),
    "INTLK10": ((100, 2), (1000, 1)),
    "IFNG": ((100, 2), (1000, 1)),
    "BCMAS": ((100, 2),),
}

PANELS: dict[str, tuple[str, ...]] = {
    "HAEM": ("WBC", "NEUT", "LYM", "HGB", "PLAT"),
    "CHEM": ("ALT", "AST", "BILI", "CREAT", "GFRE", "UREA", "K", "SODIUM", "ALB", "LDH", "URATE"),
    "CHEM_SHORT": ("ALT", "AST", "CREAT", "GFRE", "K", "LDH"),
    "RENAL": ("CREAT", "GFRE", "K", "URATE"),
    "INFLAM": ("CRP", "FERRITIN"),
    "COAG": ("FIBRINO", "DDIMER", "PT", "INR", "APTT"),
    "IMMUNO": ("IGG", "IGA", "IGM", "C3", "C4"),
    "TBNK": ("BLYCE", "BLYCELY", "TLYCE"),
    "CYTO": ("INTLK2", "INTLK4", "INTLK6", "INTLK10", "TNF", "IFNG"),
    "BCMA": ("BCMAS",),
    "MYO": ("CK", "ALDOLASE", "MGB"),
    "UPCR": ("PROTCRT",),
    "HCG": ("HCG",),
}

# Panels restricted to some subjects: IMNM muscle enzymes, lupus UPCR, pregnancy test for women.
PANEL_INDICATIONS: dict[str, tuple[str, ...]] = {"MYO": ("IMNM",), "UPCR": ("SLE", "LN")}
PANEL_SEX: dict[str, str] = {"HCG": "F"}

_ACUTE = ("HAEM", "CHEM", "INFLAM", "COAG", "TBNK", "CYTO")
_FOLLOW_UP = ("HAEM", "CHEM", "INFLAM", "IMMUNO", "TBNK", "BCMA", "MYO", "UPCR")
_INTERIM = ("HAEM", "CHEM_SHORT", "INFLAM", "IMMUNO", "TBNK", "BCMA", "MYO", "UPCR")

# Panels per visit (STUDY.md §0 schedule): full work-up at screening and baseline; blood counts on
# the LD days; dense CRS and cytopenia monitoring D0-D14 in hospital (cytokines D-7..D28, the peak
# window of STUDY.md §3.3); full chemistry at the quarterly/half-yearly visits and a short panel at
# the visits in between.
VISIT_PANELS: dict[str, tuple[str, ...]] = {
    "SCREENING": ("HAEM", "CHEM", "INFLAM", "COAG", "IMMUNO", "TBNK", "MYO", "UPCR", "HCG"),
    "LEUKAPHERESIS": ("HAEM", "TBNK"),
    "BASELINE": ("HAEM", "CHEM", "INFLAM", "COAG", "IMMUNO", "TBNK", "CYTO", "BCMA", "MYO", "UPCR", "HCG"),
    "LD DAY -5": ("HAEM", "RENAL"),
    "LD DAY -4": ("HAEM",),
    "LD DAY -3": ("HAEM", "RENAL"),
    "DAY 0 INFUSION": _ACUTE,
    "DAY 1": ("HAEM", "CHEM_SHORT", "INFLAM", "CYTO"),
    "DAY 4": _ACUTE,
    "DAY 7": (*_ACUTE, "BCMA"),
    "DAY 10": ("HAEM", "CHEM_SHORT", "INFLAM", "TBNK", "CYTO"),
    "DAY 14": (*_ACUTE, "BCMA", "MYO"),
    "DAY 21": ("HAEM", "CHEM_SHORT", "INFLAM", "TBNK", "CYTO"),
    "DAY 28": (*_ACUTE, "IMMUNO", "BCMA", "MYO", "UPCR"),
    "MONTH 2": _INTERIM,
    "MONTH 3": _FOLLOW_UP,
    "MONTH 6": _FOLLOW_UP,
    "MONTH 9": _INTERIM,
    "MONTH 12": _FOLLOW_UP,
    "MONTH 15": _INTERIM,
    "MONTH 18": _FOLLOW_UP,
    "MONTH 21": _INTERIM,
    "MONTH 24": _FOLLOW_UP,
    "EARLY TERMINATION": ("HAEM", "CHEM", "IMMUNO", "TBNK", "BCMA", "MYO", "UPCR"),
    "UNSCHEDULED": ("HAEM", "CHEM_SHORT", "INFLAM"),
}

# Unit mixing (STUDY.md §4.6): one site reports immunoglobulins and complement in mg/dL, another
# creatinine in mg/dL. (test, factor from the catalogue unit, unit, decimals)
IG_MGDL_SITE = "03"
CREAT_MGDL_SITE = "02"
SITE_UNITS: dict[str, tuple[tuple[str, float, str, int], ...]] = {
    IG_MGDL_SITE: (
        ("IGG", 100.0, "mg/dL", 0),
        ("IGA", 100.0, "mg/dL", 0),
        ("IGM", 100.0, "mg/dL", 0),
        ("C3", 100.0, "mg/dL", 0),
        ("C4", 100.0, "mg/dL", 1),
    ),
    CREAT_MGDL_SITE: (("CREAT", 1 / 88.42, "mg/dL", 2),),
}
