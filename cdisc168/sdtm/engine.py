"""The declarative mapping engine: a dataset spec + the raw forms → the dataset's records.

For each source form of a spec the engine keeps the rows its ``when`` condition selects (the others
are reported exclusions with the spec's reason), unpivots wide findings forms (one row per test
column with a value), applies every variable's rule, and keeps each record's lineage (raw form, CSV
row, FORMSEQ) plus the raw VISIT and record date for the visit calendar. Dataset-level derivations
(--SEQ, --DY, EPOCH, VISITNUM, --LOBXFL, SUPP--) run afterwards in :mod:`cdisc168.sdtm.build`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cdisc168.findings import Finding
from cdisc168.raw.contracts import FORM, ROW
from cdisc168.raw.forms import FormCatalogue
from cdisc168.sdtm import conditions, dates, results, rules
from cdisc168.sdtm.derive import derive_usubjid
from cdisc168.spec import RESULT_DERIVATIONS, DatasetSpec, Rule, SourceSpec
from cdisc168.standards.study_ct import StudyCT
from cdisc168.study import Study

LINEAGE = [FORM, ROW, "FORMSEQ", "_VISIT", "_DATE"]
# Derivations computed after all records of a dataset exist (need other records or other datasets).
DATASET_LEVEL = frozenset(
    {"seq", "dy", "epoch", "visit", "visitnum", "visitdy", "lobxfl", "last_contact", "seendtc"}
)


@dataclass
class MappedDataset:
    """Row-level result of mapping one spec: records (spec variables + lineage) and SUPP values."""

    spec: DatasetSpec
    frame: pd.DataFrame
    supp_values: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    exclusions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[FORM, ROW, "reason"]))
    joined_lineage: pd.DataFrame | None = (
        None  # raw rows of joined forms that fed records (form, row, subject)
    )


def _unpivot(frame: pd.DataFrame, source: SourceSpec) -> tuple[pd.DataFrame, pd.Series]:
    """Wide form → one row per (record, test column) with a value (``_VALUE``, ``_COLUMN``, attributes).

    Returns the long frame and a mask of source rows that produced no record (no value collected).
    """
    parts = []
    for item in source.unpivot:
        part = frame.assign(_VALUE=frame[item.column], _COLUMN=item.column, **item.attributes)
        parts.append(part[part["_VALUE"].notna()])
    long = pd.concat(parts, ignore_index=False) if parts else frame.iloc[0:0]
    empty = ~frame.index.isin(long.index)
    long = long.sort_index(kind="mergesort").reset_index(drop=True)
    return long, pd.Series(empty, index=frame.index)


def pick_records(frame: pd.DataFrame, record_date: str | None, pick: str) -> pd.DataFrame:
    """The first or last record of each subject, by record date (earliest possible instant) then FORMSEQ."""
    order = frame.assign(
        _T=dates.earliest_possible(dates.to_dtc(frame[record_date])) if record_date else pd.NaT,
        _S=pd.to_numeric(frame["FORMSEQ"], errors="coerce"),
    ).sort_values(["SITEID", "SUBJID", "_T", "_S"], kind="mergesort", na_position="last")
    chosen = order.groupby(["SITEID", "SUBJID"], sort=False)
    picked = chosen.head(1) if pick == "first" else chosen.tail(1)
    return frame.loc[picked.index.sort_values()]


def _join(
    data: pd.DataFrame, source: SourceSpec, raw: Mapping[str, pd.DataFrame], forms: FormCatalogue
) -> pd.DataFrame:
    """Attach each joined form's columns as ``alias.COLUMN`` (one record per subject)."""
    for join in source.joins:
        other = (
            raw[join.form] if join.form in raw else pd.DataFrame(columns=list(forms[join.form].column_names))
        )
        if join.pick:
            other = pick_records(other, forms[join.form].record_date, join.pick)
        other = other.drop_duplicates(["SITEID", "SUBJID"])
        renamed = other[[*forms[join.form].column_names, FORM, ROW]].rename(
            columns=lambda c, alias=join.alias: f"{alias}.{c}"
        )
        data = data.merge(
            renamed,
            how="left",
            left_on=["SITEID", "SUBJID"],
            right_on=[f"{join.alias}.SITEID", f"{join.alias}.SUBJID"],
            validate="many_to_one",
        )
    return data


def _exclusions(frame: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str) -> pd.DataFrame:
    hit = frame.loc[np.asarray(mask, dtype=bool), [FORM, ROW]]
    return hit.assign(reason=reason)


def _apply(
    rule: Rule,
    frame: pd.DataFrame,
    out: pd.DataFrame,
    vtype: str,
    ctx: rules.RuleContext,
    name: str,
    study: Study,
    std: Callable[[], pd.DataFrame] | None = None,
) -> tuple[pd.Series | None, list[Finding]]:
    kind = rule.kind
    if kind == "case":
        result = pd.Series(None, index=frame.index, dtype="object")
        decided = pd.Series(False, index=frame.index)
        found_all: list[Finding] = []
        for when, branch in rule.params["branches"]:
            take = ~decided
            if when is not None:
                take &= conditions.evaluate(when, frame)
            if take.any():
                values, found = _apply(
                    branch,
                    frame.loc[take],
                    out.loc[take],
                    vtype,
                    ctx,
                    name,
                    study,
                    None if std is None else (lambda rows=take: std().loc[rows]),
                )
                result.loc[take] = values
                found_all.extend(found)
            decided |= take
        return (result.astype("float64") if vtype == "Num" else result), found_all
    if kind == "source":
        return rules.apply_source(rule, frame, vtype, ctx, name)
    if kind == "constant":
        return rules.apply_constant(rule, frame, vtype), []
    if kind == "ct":
        return rules.apply_ct(rule, frame, ctx, name)
    if kind == "dtc":
        return rules.apply_dtc(rule, frame), []
    if kind == "decode":
        return rules.apply_decode(rule, frame, out, ctx), []
    if kind == "template":
        return rules.apply_template(rule, frame), []
    if kind == "duration":
        return rules.apply_duration(rule, frame), []
    derivation = rule.params["name"]
    if derivation == "studyid":
        return pd.Series(study.studyid, index=frame.index, dtype="object"), []
    if derivation == "domain":
        return pd.Series(ctx.domain, index=frame.index, dtype="object"), []
    if derivation == "usubjid":
        return frame["USUBJID"], []
    if derivation in RESULT_DERIVATIONS and std is not None:
        return std()[derivation], []
    if derivation in DATASET_LEVEL:
        return None, []  # computed once every record of the dataset exists
    raise ValueError(f"{ctx.domain}.{name}: derivation {derivation!r} has no implementation")


def map_source(
    spec: DatasetSpec,
    source: SourceSpec,
    raw: Mapping[str, pd.DataFrame],
    study: Study,
    study_ct: StudyCT,
    forms: FormCatalogue,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[Finding]]:
    """Map one source form: (records, SUPP values, exclusions, findings)."""
    findings: list[Finding] = []
    exclusions = []
    record_date = forms[source.form].record_date if source.form in forms.forms else None
    data = raw[source.form]
    if source.pick:
        picked = pick_records(data, record_date, source.pick)
        exclusions.append(
            _exclusions(
                data, ~data.index.isin(picked.index), f"only the {source.pick} record per subject is used"
            )
        )
        data = picked
    data = _join(data.reset_index(drop=True), source, raw, forms)
    if "USUBJID" not in data.columns and "SITEID" not in data.columns:  # trial design: no subject
        data = data.assign(USUBJID=None)
    elif "USUBJID" not in data.columns:
        subject = data["SITEID"].notna() & data["SUBJID"].notna()
        data = data.assign(
            USUBJID=derive_usubjid(data["SITEID"], data["SUBJID"], study.studyid).where(subject, None)
        )
    if source.when is not None:
        keep = conditions.evaluate(source.when, data)
        reason = source.exclude_reason or f"not selected for {spec.name} by the spec condition"
        exclusions.append(_exclusions(data, ~keep, reason))
        data = data.loc[keep]
    if source.unpivot:
        wide = data
        data, empty = _unpivot(wide, source)
        exclusions.append(_exclusions(wide, empty, "no result collected in any test column"))
    data = data.reset_index(drop=True)
    ctx = rules.RuleContext(domain=spec.name, form=source.form, study_ct=study_ct)
    out = pd.DataFrame(index=data.index)
    cache: dict[str, pd.DataFrame] = {}

    def std() -> pd.DataFrame:
        """Standard results, computed once, after the variables they may key on (e.g. PCTESTCD)."""
        if "std" not in cache:
            assert spec.results is not None
            known = data.assign(**{c: out[c] for c in out.columns if c not in data.columns})
            cache["std"], found = results.standardize(
                known, spec.results, study.blq["stresc"], source.form, spec.name
            )
            findings.extend(found)
        return cache["std"]

    for variable in spec.variables:
        rule = source.overrides.get(variable.name, variable.rule)
        assert rule is not None  # guaranteed by the spec loader
        values, found = _apply(
            rule, data, out, variable.type, ctx, variable.name, study, std if spec.results else None
        )
        findings.extend(found)
        out[variable.name] = (
            values if values is not None else pd.Series(None, index=data.index, dtype="object")
        )
    supp = pd.DataFrame(index=data.index)
    for entry in spec.supp:
        if not entry.applies_to(source.form):
            supp[entry.qnam] = pd.Series(None, index=data.index, dtype="object")
            continue
        values, found = _apply(
            entry.rule, data, out, "Char", ctx, entry.qnam, study, std if spec.results else None
        )
        findings.extend(found)
        if values is not None and pd.api.types.is_numeric_dtype(values):
            values = results.number_text(values)  # QVAL is character
        supp[entry.qnam] = values
    for join in source.joins:
        out[f"{join.alias}.{FORM}"] = data[f"{join.alias}.{FORM}"]
        out[f"{join.alias}.{ROW}"] = data[f"{join.alias}.{ROW}"]
    out["USUBJID"] = data["USUBJID"] if "USUBJID" not in out.columns else out["USUBJID"]
    out[FORM] = data[FORM]
    out[ROW] = data[ROW]
    out["FORMSEQ"] = pd.to_numeric(data["FORMSEQ"], errors="coerce") if "FORMSEQ" in data.columns else None
    out["_VISIT"] = data["VISIT"] if "VISIT" in data.columns and not source.form.startswith("@") else None
    out["_DATE"] = dates.dtc_date(dates.to_dtc(data[record_date])) if record_date else pd.NaT
    excluded = (
        pd.concat(exclusions, ignore_index=True)
        if exclusions
        else pd.DataFrame(columns=[FORM, ROW, "reason"])
    )
    return out, supp, excluded, findings


def map_dataset(
    spec: DatasetSpec,
    raw: Mapping[str, pd.DataFrame],
    study: Study,
    study_ct: StudyCT,
    forms: FormCatalogue,
) -> MappedDataset:
    """Map every source of ``spec`` and stack the records (row-level rules only)."""
    frames, supps, excluded, findings, joined = [], [], [], [], []
    for source in spec.sources:
        if source.form not in raw:
            continue
        out, supp, exc, found = map_source(spec, source, raw, study, study_ct, forms)
        for join in source.joins:
            rows = out[[f"{join.alias}.{FORM}", f"{join.alias}.{ROW}", "USUBJID"]].dropna()
            joined.append(rows.set_axis([FORM, ROW, "USUBJID"], axis=1))
        out = out.drop(columns=[c for c in out.columns if "." in c])
        frames.append(out)
        supps.append(supp)
        excluded.append(exc)
        findings.extend(found)
    if not frames:
        empty = pd.DataFrame(columns=[*spec.variable_names, *LINEAGE])
        return MappedDataset(spec, empty, pd.DataFrame(columns=[s.qnam for s in spec.supp]), findings)
    frame = pd.concat(frames, ignore_index=True)
    supp_values = pd.concat(supps, ignore_index=True)
    exclusions = pd.concat(excluded, ignore_index=True)
    joined_lineage = pd.concat(joined, ignore_index=True) if joined else None
    return MappedDataset(spec, frame, supp_values, findings, exclusions, joined_lineage)
