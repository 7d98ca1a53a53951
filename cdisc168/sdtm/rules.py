"""The row-level mapping rules of the spec vocabulary, each vectorised over a source frame.

A rule takes the source frame (raw columns as collected text, plus lineage) and returns the values of
one variable and the findings it raised. Nothing is dropped or changed silently: a value that cannot
be mapped keeps its collected text and raises an error finding naming form, row, column and value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from cdisc168.findings import Finding, Severity, findings_from_mask
from cdisc168.raw.contracts import ROW
from cdisc168.sdtm import dates
from cdisc168.spec import Rule
from cdisc168.standards.study_ct import StudyCT


@dataclass(frozen=True)
class RuleContext:
    """What a row-level rule may read besides the source frame."""

    domain: str
    form: str
    study_ct: StudyCT


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype("object")
    return text.where(text.notna() & (text.astype(str).str.strip() != ""), None)


def apply_source(
    rule: Rule, frame: pd.DataFrame, vtype: str, ctx: RuleContext, variable: str
) -> tuple[pd.Series, list[Finding]]:
    """``source``: copy a raw column (the first non-missing of several); a Num variable is parsed as a
    number (unparseable → error)."""
    columns = rule.params["columns"]
    column = columns[0]
    values = _blank_to_na(frame[column])
    for other in columns[1:]:
        values = values.where(values.notna(), _blank_to_na(frame[other]))
    if vtype != "Num":
        return values, []
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    found = findings_from_mask(
        frame.assign(_V=values),
        bad,
        rule="SD-NUM",
        severity=Severity.ERROR,
        message=f"{ctx.domain}.{variable}: collected value is not a number",
        dataset=f"{ctx.form}.csv",
        variable=column,
        row_column=ROW,
        value_column="_V",
    )
    return numbers.astype("float64"), found


def apply_constant(rule: Rule, frame: pd.DataFrame, vtype: str) -> pd.Series:
    """``constant``: the same value on every record (numbers for Num variables)."""
    value = rule.params["value"]
    if value is None:
        return pd.Series(None, index=frame.index, dtype="float64" if vtype == "Num" else "object")
    if vtype == "Num":
        return pd.Series(float(value), index=frame.index, dtype="float64")
    return pd.Series(str(value), index=frame.index, dtype="object")


def apply_ct(
    rule: Rule, frame: pd.DataFrame, ctx: RuleContext, variable: str
) -> tuple[pd.Series, list[Finding]]:
    """``ct``: collected value → controlled-terminology submission value (SDTMIG 3.4 §4.3).

    Collected texts a study term declares as ``collected_as`` (identity unit synonyms such as ng/mL for
    ug/L in terminology.yaml) become its submission value and the spec's ``map`` translates other
    collected values; a value then outside the study codelist is an error finding (also for extensible codelists: sponsor terms must be declared in
    ``mappings/terminology.yaml``). The value is kept as mapped, never dropped.
    """
    column = rule.params["from"]
    codelist = ctx.study_ct.codelist(str(rule.params["codelist"]))
    collected = _blank_to_na(frame[column])
    mapping = {text: term.value for term in codelist.terms for text in term.collected_as}
    mapping.update(rule.params.get("map") or {})
    mapped = collected.replace(mapping) if mapping else collected
    unknown = mapped.notna() & ~mapped.isin(codelist.values)
    found = []
    if codelist.external:
        unknown = pd.Series(False, index=frame.index)
    found = findings_from_mask(
        frame.assign(_V=collected),
        unknown,
        rule="SD-CT",
        severity=Severity.ERROR,
        message=f"{ctx.domain}.{variable}: value not in codelist {codelist.id}"
        + (
            " (extensible: declare sponsor terms in mappings/terminology.yaml)" if codelist.extensible else ""
        ),
        dataset=f"{ctx.form}.csv",
        variable=column,
        row_column=ROW,
        value_column="_V",
    )
    return mapped, found


def apply_dtc(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    """``dtc``: raw date (+ time) → ISO 8601 with partial precision kept (SDTMIG 3.4 §4.4.2).

    ``add_days`` shifts a full date (e.g. the day after the infusion); partial dates stay missing then.
    """
    date = frame[rule.params["date"]]
    time = frame[rule.params["time"]] if rule.params.get("time") else None
    days = rule.params.get("add_days")
    if days:
        shifted = dates.dtc_date(dates.to_dtc(date)) + pd.Timedelta(days=int(days))
        return shifted.dt.strftime("%Y-%m-%d").astype("object").where(shifted.notna(), None)
    return dates.to_dtc(date, time).astype("object")


def apply_decode(rule: Rule, frame: pd.DataFrame, out: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """``decode``: the decode of a code already mapped (e.g. LBTEST from LBTESTCD, ARM from ARMCD)."""
    source = str(rule.params["from"])
    codelist = ctx.study_ct.codelist(str(rule.params["codelist"]))
    decodes = {t.value: t.decode for t in codelist.terms}
    values = out[source] if source in out.columns else _blank_to_na(frame[source])
    return values.map(decodes).astype("object")


def apply_template(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    """``template``: literal text with raw values put in place of ``{COLUMN}`` (missing if any is missing)."""
    pieces = re.split(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}", rule.params["text"])
    result = pd.Series("", index=frame.index, dtype="object")
    missing = pd.Series(False, index=frame.index)
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            result = result + piece
        else:
            values = _blank_to_na(frame[piece])
            missing |= values.isna()
            result = result + values.fillna("").astype(str)
    return result.where(~missing, None)


def apply_duration(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    """``duration``: a whole number of days → ISO 8601 duration ("P7D", "-P7D", "P0D"; SDTMIG 3.4 §4.4.3)."""
    days = pd.to_numeric(_blank_to_na(frame[rule.params["days"]]), errors="coerce")
    return dates.elapsed_iso_duration(days).astype("object")
