"""Lineage and reconciliation: every raw record ends up in a dataset or in a reported exclusion.

Reconciliation per raw form: rows read = rows mapped + rows excluded (with their reason) + rows
unexplained. A row counts as mapped when at least one SDTM record came from it; an excluded row
carries the first reason recorded for it (the data cut, a spec condition, a declared out-of-scope
form, or a form whose domain is not mapped yet). The study is reconciled when nothing is unexplained.
"""

from __future__ import annotations

import pandas as pd

from cdisc168.raw.contracts import FORM, ROW
from cdisc168.raw.forms import FormCatalogue
from cdisc168.raw.load import RawStudy

NOT_YET_MAPPED = "not yet mapped to SDTM (no spec reads this form)"


def spec_forms(specs: dict) -> set[str]:  # type: ignore[type-arg]
    """Raw forms read by any spec, as a source or a join."""
    return {s.form for spec in specs.values() for s in spec.sources} | {
        j.form for spec in specs.values() for s in spec.sources for j in s.joins
    }


def used_columns(specs: dict) -> dict[str, set[str]]:  # type: ignore[type-arg]
    """Raw columns each spec reads, per form: rules, conditions, joins, unpivot and results blocks."""
    used: dict[str, set[str]] = {}
    for spec in specs.values():
        for source in spec.sources:
            mine = used.setdefault(source.form, set())
            rules = [v.rule for v in spec.variables if v.rule is not None]
            rules += list(source.overrides.values()) + [
                s.rule for s in spec.supp if s.applies_to(source.form)
            ]
            for rule in rules:
                for column in rule.columns():
                    alias, _, name = column.rpartition(".")
                    if alias:
                        for join in source.joins:
                            if join.alias == alias:
                                used.setdefault(join.form, set()).add(name)
                    else:
                        mine.add(column)
            if source.when is not None:
                mine |= source.when.columns()
            mine |= {item.column for item in source.unpivot}
            if spec.results is not None:
                mine |= spec.results.columns()
    return used


def column_coverage(specs: dict, forms: FormCatalogue, declared: dict[str, str]) -> pd.DataFrame:  # type: ignore[type-arg]
    """Every raw column with the specs that read it; ``declared`` ("form.COLUMN" → reason) lists
    columns deliberately not mapped. Key and lineage columns are always accounted for."""
    used = used_columns(specs)
    rows = []
    for form in forms:
        for column in form.column_names:
            if column in ("STUDYID", "SITEID", "SUBJID", "VISIT", "FORMSEQ"):
                status = "key"
            elif column in used.get(form.name, set()):
                status = "mapped"
            elif f"{form.name}.{column}" in declared:
                status = "declared"
            else:
                status = "unmapped"
            rows.append(
                {
                    "form": form.name,
                    "column": column,
                    "status": status,
                    "reason": declared.get(f"{form.name}.{column}"),
                }
            )
    return pd.DataFrame(rows)


def reconcile(
    raw: RawStudy,
    lineage: pd.DataFrame,
    exclusions: pd.DataFrame,
    forms_read_by_specs: set[str],
    excluded_forms: dict[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (per-form summary, per-row exclusion listing).

    ``excluded_forms`` maps a form declared out of scope to its reason (e.g. RNA-seq manifest).
    """
    read = pd.concat(
        [frame[[FORM, ROW]] for frame in raw.values() if not frame.empty], ignore_index=True
    ).drop_duplicates()
    mapped = lineage[[FORM, ROW]].drop_duplicates().assign(_MAPPED=True)
    declared = read[read[FORM].isin(excluded_forms)].assign(reason=lambda f: f[FORM].map(excluded_forms))
    unmapped_forms = read[~read[FORM].isin(forms_read_by_specs) & ~read[FORM].isin(excluded_forms)]
    pending = unmapped_forms.assign(reason=NOT_YET_MAPPED)
    reasons = pd.concat([exclusions[[FORM, ROW, "reason"]], declared, pending], ignore_index=True)
    reasons = reasons.drop_duplicates([FORM, ROW], keep="first")

    rows = read.merge(mapped, on=[FORM, ROW], how="left").merge(reasons, on=[FORM, ROW], how="left")
    rows["_MAPPED"] = rows["_MAPPED"].fillna(False).astype(bool)
    rows["status"] = "unexplained"
    rows.loc[rows["reason"].notna(), "status"] = "excluded"
    rows.loc[rows["_MAPPED"], "status"] = "mapped"
    counts = rows.groupby([FORM, "status"]).size().unstack(fill_value=0)
    for status in ("mapped", "excluded", "unexplained"):
        if status not in counts.columns:
            counts[status] = 0
    summary = pd.DataFrame(
        {
            "form": counts.index,
            "rows_read": counts.sum(axis=1).to_numpy(),
            "rows_mapped": counts["mapped"].to_numpy(),
            "rows_excluded": counts["excluded"].to_numpy(),
            "rows_unexplained": counts["unexplained"].to_numpy(),
        }
    )
    order = {name: i for i, name in enumerate(raw.forms.names)}
    summary = summary.sort_values("form", key=lambda s: s.map(order)).reset_index(drop=True)
    listing = rows.loc[rows["status"] != "mapped", [FORM, ROW, "status", "reason"]]
    listing = listing.sort_values([FORM, ROW], key=lambda s: s.map(order) if s.name == FORM else s)
    return summary, listing.rename(columns={FORM: "form", ROW: "row"}).reset_index(drop=True)
