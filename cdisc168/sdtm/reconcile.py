"""Lineage and reconciliation: every raw record ends up in a dataset or in a reported exclusion.

Reconciliation per raw form: rows read = rows mapped + rows excluded (with their reason) + rows
unexplained. A row counts as mapped when at least one SDTM record came from it; an excluded row
carries the first reason recorded for it (the data cut, a spec condition, a declared out-of-scope
form, or a form whose domain is not mapped yet). The study is reconciled when nothing is unexplained.
"""

from __future__ import annotations

import pandas as pd

from cdisc168.raw.contracts import FORM, ROW
from cdisc168.raw.load import RawStudy

NOT_YET_MAPPED = "not yet mapped to SDTM (no spec reads this form)"


def spec_forms(specs: dict) -> set[str]:  # type: ignore[type-arg]
    """Raw forms read by any spec, as a source or a join."""
    return {s.form for spec in specs.values() for s in spec.sources} | {
        j.form for spec in specs.values() for s in spec.sources for j in s.joins
    }


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
