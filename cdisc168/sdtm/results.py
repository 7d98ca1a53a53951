"""Findings results: collected → standard result and unit, reference range and normal-range flag.

SDTMIG 3.4 §4.5.1 ("Original and Standardized Results"): --ORRES keeps the collected text; --STRESC
holds the standardised character result, --STRESN its numeric value, --STRESU the standard unit.
STUDY.md "Decisions": a result below the LLOQ keeps its collected text ("<20") in --ORRES, --STRESC is
"<20" in standard units (or "BLQ" when study.yaml ``blq.stresc`` says so) and --STRESN is null.
Units that cannot be converted (declared ``keep``) keep their own --STRESU; a unit neither standard,
convertible nor kept is an error finding and the result is not standardised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdisc168.findings import Finding, Severity, findings_from_mask
from cdisc168.raw.contracts import ROW
from cdisc168.spec import ResultsSpec

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_QUALIFIED = rf"^\s*([<>]=?)\s*({_NUMBER})\s*$"
_PLAIN = rf"^\s*{_NUMBER}\s*$"
DIGITS = (
    10  # significant digits kept after a unit conversion (removes binary noise such as 0.30000000000000004)
)


def number_text(values: pd.Series) -> pd.Series:
    """Numbers as text at :data:`DIGITS` significant digits, shortest form ("61.894", "20", not "20.0")."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    finite = np.isfinite(numbers) & (numbers != 0)
    magnitude = np.floor(np.log10(np.abs(numbers), where=finite, out=np.zeros_like(numbers)))
    scale = np.power(10.0, DIGITS - 1 - magnitude)
    rounded = np.where(finite, np.round(numbers * scale) / scale, numbers)
    text = pc.cast(pa.array(rounded, from_pandas=True), pa.string())
    return pd.Series(text.to_numpy(zero_copy_only=False), index=values.index, dtype="object")


def _round(values: pd.Series) -> pd.Series:
    return pd.to_numeric(number_text(values), errors="coerce")


def standardize(
    frame: pd.DataFrame, spec: ResultsSpec, blq_text: str, form: str, domain: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """Standard results of every row of ``frame``: columns stresc, stresn, stresu, stnrlo, stnrhi,
    nrind, std_lloq (the names of the ``derive:`` rules that read them)."""
    text = frame[spec.value].astype("object")
    text = text.where(text.notna() & (text.astype(str).str.strip() != ""), None)
    unit = (
        frame[spec.unit].astype("object") if spec.unit else pd.Series(None, index=frame.index, dtype="object")
    )
    test = frame[spec.test].astype("object")

    std_unit = test.map({t: s.unit for t, s in spec.standard.items()})
    known_test = test.isin(list(spec.standard))
    factor = pd.Series(np.nan, index=frame.index)
    same = known_test & ((unit == std_unit) | (unit.isna() & std_unit.isna()))
    factor[same] = 1.0
    for name, standard in spec.standard.items():
        rows = test == name
        for collected, f in standard.factors.items():
            factor[rows & (unit == collected)] = f
        kept = rows & unit.isin(standard.keep)
        factor[kept] = 1.0
        std_unit = std_unit.where(~kept, unit)

    qualified = text.astype("string").str.extract(_QUALIFIED)
    is_plain = text.astype("string").str.match(_PLAIN).fillna(False).astype(bool)
    number = pd.to_numeric(text.where(is_plain), errors="coerce")
    has_qualifier = qualified[0].notna()
    convertible = factor.notna()
    unusable = text.notna() & (is_plain | has_qualifier) & ~convertible
    findings = findings_from_mask(
        frame.assign(_V=unit.fillna("") + " (" + test.astype(str) + ")"),
        unusable,
        rule="SD-UNIT",
        severity=Severity.ERROR,
        message=f"{domain}: the collected unit of this test has no conversion to the standard unit in the spec",
        dataset=f"{form}.csv",
        variable=spec.unit or spec.value,
        row_column=ROW if ROW in frame.columns else None,
        value_column="_V",
    )

    stresn = _round(number * factor).where(convertible)
    bound = _round(pd.to_numeric(qualified[1], errors="coerce") * factor)
    stresc = number_text(stresn)
    qualified_text = (qualified[0].astype("object") + number_text(bound)).where(has_qualifier & convertible)
    if blq_text == "BLQ":
        qualified_text = qualified_text.where(~qualified[0].isin(["<", "<="]), "BLQ")
    stresc = stresc.where(stresc.notna(), qualified_text)
    other_text = text.notna() & ~is_plain & ~has_qualifier  # e.g. NEGATIVE, 1:320
    stresc = stresc.where(~other_text, text)
    stresu = std_unit.where(text.notna() & (convertible | other_text))

    def converted(column: str | None) -> pd.Series:
        if column is None:
            return pd.Series(np.nan, index=frame.index)
        return _round(pd.to_numeric(frame[column], errors="coerce") * factor)

    low, high = converted(spec.low), converted(spec.high)
    nrind = pd.Series(None, index=frame.index, dtype="object")
    nrind[stresn.notna() & low.notna() & high.notna()] = "NORMAL"
    nrind[stresn.notna() & low.notna() & (stresn < low)] = "LOW"
    nrind[stresn.notna() & high.notna() & (stresn > high)] = "HIGH"
    out = pd.DataFrame(
        {
            "stresc": stresc.astype("object"),
            "stresn": stresn.astype("float64"),
            "stresu": stresu.astype("object"),
            "stnrlo": low.astype("float64"),
            "stnrhi": high.astype("float64"),
            "nrind": nrind,
            "std_lloq": converted(spec.lloq).astype("float64"),
        },
        index=frame.index,
    )
    return out, findings
