"""The SDTM stage: raw forms + specs → SDTM datasets, lineage and exclusions (DESIGN.md data flow).

Order of work:

1. the data cut: raw records whose record date starts after ``data_cut`` are excluded and reported;
2. every spec is mapped row by row (:mod:`cdisc168.sdtm.engine`);
3. the subject reference dates come from DM (RFSTDTC for --DY, RFXSTDTC for --LOBXFL);
4. the subject visit calendar is built from every record's raw VISIT and date (VISITNUM, VISIT,
   VISITDY; unscheduled visits numbered previous + .01);
5. the dataset-level derivations run: EPOCH (from SE), --DY, --LOBXFL, --SEQ;
6. SUPP-- datasets are assembled from the SUPP values, keyed on --SEQ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cdisc168.findings import Findings, Severity, findings_from_mask
from cdisc168.raw.contracts import FORM, ROW
from cdisc168.raw.forms import FormCatalogue
from cdisc168.raw.load import RawStudy
from cdisc168.sdtm import dates, derive, text
from cdisc168.sdtm.engine import MappedDataset, map_dataset
from cdisc168.spec import VIRTUAL_FORMS, DatasetSpec, load_spec
from cdisc168.standards.study_ct import StudyCT
from cdisc168.study import Study

SPEC_ORDER_FIRST = ("DM", "SE")
# Text over 200 characters continues in the same record for these (SDTMIG 3.4 TS assumption 4, CO §5.1)
IN_RECORD_CONTINUATION = frozenset(
    {("TS", "TSVAL"), ("CO", "COVAL")}
)  # reference dates and elements are needed by every other domain


@dataclass
class SdtmResult:
    """SDTM datasets (spec variables in spec order, sorted by keys), their SUPP--, lineage, exclusions."""

    datasets: dict[str, pd.DataFrame]
    specs: dict[str, DatasetSpec]
    lineage: pd.DataFrame
    exclusions: pd.DataFrame
    findings: Findings = field(default_factory=Findings)


def load_specs(mappings_dir: Path, forms: FormCatalogue) -> dict[str, DatasetSpec]:
    """Every ``mappings/sdtm/*.yaml`` spec, DM and SE first, then alphabetical."""
    specs = {}
    for path in sorted((mappings_dir / "sdtm").glob("*.yaml")):
        spec = load_spec(path, forms)
        specs[spec.name] = spec
    first = [n for n in SPEC_ORDER_FIRST if n in specs]
    return {n: specs[n] for n in first + sorted(set(specs) - set(first))}


def apply_data_cut(raw: RawStudy, study: Study) -> tuple[RawStudy, pd.DataFrame]:
    """Exclude raw records that start after the data cut (partial dates: only when certainly after)."""
    kept, excluded = {}, []
    for name, frame in raw.items():
        column = raw.forms[name].record_date
        if column is None or frame.empty:
            kept[name] = frame
            continue
        after = dates.starts_after(dates.to_dtc(frame[column]), study.data_cut)
        excluded.append(
            frame.loc[after.to_numpy(), [FORM, ROW]].assign(
                reason=f"starts after the data cut {study.data_cut.isoformat()} ({column})"
            )
        )
        kept[name] = frame.loc[~after.to_numpy()]
    exclusions = (
        pd.concat(excluded, ignore_index=True) if excluded else pd.DataFrame(columns=[FORM, ROW, "reason"])
    )
    return RawStudy(raw.raw_dir, kept, raw.forms), exclusions


def _derivations(mapped: MappedDataset, name: str) -> list[tuple[str, str | None]]:
    """(variable, of) for the variables of ``mapped`` that use the dataset-level derivation ``name``."""
    return [
        (v.name, v.of)
        for v in mapped.spec.variables
        if v.rule is not None and v.rule.kind == "derive" and v.rule.params["name"] == name
    ]


def _visit_calendar(raw: RawStudy, study: Study) -> pd.DataFrame:
    """The subject visit calendar from every raw record with a VISIT and a record date (all forms, so
    that SV and every domain agree on VISITNUM, whichever domains are mapped)."""
    parts = []
    for name, frame in raw.items():
        column = raw.forms[name].record_date
        if column is None or frame.empty:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "USUBJID": derive.derive_usubjid(frame["SITEID"], frame["SUBJID"], study.studyid),
                    "VISIT": frame["VISIT"],
                    "_DATE": dates.dtc_date(dates.to_dtc(frame[column])),
                }
            )
        )
    return derive.build_visit_calendar(pd.concat(parts, ignore_index=True), study)


def _apply_visits(m: MappedDataset, calendar: pd.DataFrame, study: Study) -> None:
    wanted = {k: _derivations(m, k) for k in ("visit", "visitnum", "visitdy")}
    if not any(wanted.values()) or m.frame.empty:
        return
    keyed = m.frame[["USUBJID", "_VISIT", "_DATE"]].merge(
        calendar, how="left", left_on=["USUBJID", "_VISIT", "_DATE"], right_on=["USUBJID", "VISIT", "_DATE"]
    )
    # A record without a date (a form with no record date) still has its collected scheduled visit.
    undated = keyed["VISITNUM"].isna() & keyed["_VISIT"].notna()
    if undated.any():
        scheduled = {v.visit: v for v in (*study.visits, study.early_termination_visit)}
        planned = keyed.loc[undated, "_VISIT"].map(scheduled)
        known = planned.notna()
        rows = planned[known].index
        keyed.loc[rows, "VISITNUM"] = planned[known].map(lambda v: v.visitnum)
        keyed.loc[rows, "VISIT_SDTM"] = planned[known].map(lambda v: v.visit)
        planned_days = {v.visit: float(v.visitdy) for v in study.visits}  # no VISITDY for early termination
        keyed.loc[rows, "VISITDY"] = keyed.loc[rows, "VISIT_SDTM"].map(planned_days)
    source = {"visit": "VISIT_SDTM", "visitnum": "VISITNUM", "visitdy": "VISITDY"}
    for kind, variables in wanted.items():
        for variable, _ in variables:
            m.frame[variable] = keyed[source[kind]].to_numpy()


def _finish(m: MappedDataset, study: Study, ref: pd.DataFrame, elements: pd.DataFrame | None) -> None:
    frame = m.frame
    for variable, of in _derivations(m, "dy"):
        frame[variable] = derive.derive_dy(frame[of], frame["USUBJID"], ref["RFSTDTC"])
    if elements is not None:
        for variable, of in _derivations(m, "epoch"):
            frame[variable] = derive.derive_epoch(frame[of], frame["USUBJID"], elements)
    for variable, of in _derivations(m, "lobxfl"):
        # per test by default; a spec may name more grouping variables (e.g. IS: ISTESTCD + ISBDAGNT)
        by = m.spec.variable(variable).rule.params.get("by") or [f"{m.spec.name}TESTCD"]  # type: ignore[union-attr]
        result = f"{m.spec.name}ORRES"
        frame[variable] = derive.derive_lobxfl(frame, by, of, result, ref["RFXSTDTC"])
    for variable, _ in _derivations(m, "seq"):
        keys = [k for k in m.spec.keys if k not in ("STUDYID", "USUBJID", variable)]
        frame[variable] = derive.derive_seq(frame, [*keys, FORM, ROW])


def _apply_text_rules(m: MappedDataset) -> tuple[list[pd.DataFrame], list]:
    """ASCII and 200-character rules on every character variable and SUPP value (STUDY.md "Decisions").

    Non-ASCII text is transliterated by the documented table (a warning per value); text that cannot
    be transliterated is an error and stays as collected. Values over 200 characters keep their first
    part and continue in SUPP-- ``<VAR>1..n`` (SDTMIG 3.4 §4.5.3.2). Returns the continuation records
    (QNAM, QLABEL, QVAL, QORIG indexed by parent record) and the findings.
    """
    findings: list = []
    continuations = []
    frame = m.frame
    seq = f"{m.spec.name}SEQ"
    seqs = frame[seq] if seq in frame.columns else None
    targets = [(v.name, v.label, v.origin, frame) for v in m.spec.variables if v.type == "Char"]
    targets += [(s.qnam, s.qlabel, s.origin, m.supp_values) for s in m.spec.supp]
    for name, label, origin, holder in targets:
        values = holder[name]
        if values.isna().all() or pd.api.types.is_numeric_dtype(values):
            continue
        result = text.transliterate(values)
        if result.changed.any() or result.untransliterable.any():
            findings.extend(result.findings(m.spec.name, name, rows=None, usubjid=frame["USUBJID"], seq=seqs))
            holder[name] = result.values
        if holder is frame and (holder[name].str.len() > text.SAS_V5_MAX_CHAR).any():
            if (m.spec.name, name) in IN_RECORD_CONTINUATION:  # TSVAL1..n, COVAL1..n in the dataset
                extra = text.continuation_columns(holder[name], name)
                for column in extra.columns:
                    holder[column] = extra[column]
                continue
            split = text.split_to_supp(holder[name], name, label)
            holder[name] = split.parent
            continuations.append(split.supp.assign(QORIG=origin))
    return continuations, findings


def _supp(m: MappedDataset, study: Study, continuations: list[pd.DataFrame]) -> pd.DataFrame | None:
    """SUPP-- records: one per parent record and QNAM with a value (SDTMIG 3.4 §8.4), plus the
    continuations of long text (§4.5.3.2)."""
    if (not m.spec.supp and not continuations) or m.frame.empty:
        return None
    seq = f"{m.spec.name}SEQ"
    keyed = seq in m.frame.columns  # DM has one record per subject: SUPPDM has no IDVAR (§8.4.1)
    parts = []
    for entry in m.spec.supp:
        values = m.supp_values[entry.qnam]
        has = values.notna().to_numpy()
        parent = m.frame.loc[has]
        parts.append(
            pd.DataFrame(
                {
                    "STUDYID": study.studyid,
                    "RDOMAIN": m.spec.name,
                    "USUBJID": parent["USUBJID"].to_numpy(),
                    "IDVAR": seq if keyed else None,
                    "IDVARVAL": parent[seq].map("{:.0f}".format).to_numpy() if keyed else None,
                    "QNAM": entry.qnam,
                    "QLABEL": entry.qlabel,
                    "QVAL": values[has].astype(str).to_numpy(),
                    "QORIG": entry.origin,
                    "QEVAL": entry.qeval,
                    FORM: parent[FORM].to_numpy(),
                    ROW: parent[ROW].to_numpy(),
                    "_SEQ": parent[seq].to_numpy() if keyed else 0,
                }
            )
        )
    for extra in continuations:
        parent = m.frame.loc[extra.index]
        parts.append(
            pd.DataFrame(
                {
                    "STUDYID": study.studyid,
                    "RDOMAIN": m.spec.name,
                    "USUBJID": parent["USUBJID"].to_numpy(),
                    "IDVAR": seq if keyed else None,
                    "IDVARVAL": parent[seq].map("{:.0f}".format).to_numpy() if keyed else None,
                    "QNAM": extra["QNAM"].to_numpy(),
                    "QLABEL": extra["QLABEL"].to_numpy(),
                    "QVAL": extra["QVAL"].to_numpy(),
                    "QORIG": extra["QORIG"].to_numpy(),
                    "QEVAL": None,
                    FORM: parent[FORM].to_numpy(),
                    ROW: parent[ROW].to_numpy(),
                    "_SEQ": parent[seq].to_numpy() if keyed else 0,
                }
            )
        )
    supp = pd.concat(parts, ignore_index=True)
    order = {e.qnam: i for i, e in enumerate(m.spec.supp)}
    order.update({q: len(order) + i for i, q in enumerate(sorted(set(supp["QNAM"]) - set(order)))})
    supp = supp.assign(_Q=supp["QNAM"].map(order)).sort_values(["USUBJID", "_SEQ", "_Q"], kind="mergesort")
    return supp.drop(columns=["_Q", "_SEQ"]).reset_index(drop=True)


def _last_contact(raw: RawStudy, study: Study) -> pd.Series:
    """Last contact per subject (USUBJID → date): the latest full record date of any raw form, never
    after the data cut (STUDY.md: RFENDTC/RFPENDTC <= the cut). ``raw`` is already cut."""
    parts = []
    for name, frame in raw.items():
        column = raw.forms[name].record_date
        if column is None or frame.empty:
            continue
        usubjid = derive.derive_usubjid(frame["SITEID"], frame["SUBJID"], study.studyid)
        parts.append(pd.DataFrame({"USUBJID": usubjid, "_DATE": dates.dtc_date(dates.to_dtc(frame[column]))}))
    dated = pd.concat(parts, ignore_index=True).dropna(subset=["_DATE"])
    last = dated.groupby("USUBJID")["_DATE"].max().clip(upper=pd.Timestamp(study.data_cut))
    return last.dt.strftime("%Y-%m-%d")


def _apply_reference_dates(m: MappedDataset, last_contact: pd.Series) -> None:
    for variable, _ in _derivations(m, "last_contact"):
        m.frame[variable] = m.frame["USUBJID"].map(last_contact).astype("object")


def _apply_element_ends(m: MappedDataset, rfpendtc: pd.Series) -> None:
    """SEENDTC = the start of the subject's next element; the last element ends at RFPENDTC
    (SDTMIG 3.4 SE assumptions: elements are contiguous)."""
    for variable, _ in _derivations(m, "seendtc"):
        frame = m.frame
        start = dates.earliest_possible(frame["SESTDTC"])
        order = frame.assign(_T=start).sort_values(["USUBJID", "_T"], kind="mergesort")
        following = order.groupby("USUBJID")["SESTDTC"].shift(-1)
        following = following.where(following.notna(), order["USUBJID"].map(rfpendtc))
        frame[variable] = following.reindex(frame.index).astype("object")


def planned_visits(study: Study) -> pd.DataFrame:
    """The ``@visits`` virtual source: study.yaml's scheduled visits (for TV)."""
    visits = study.visits
    return pd.DataFrame(
        {
            "VISITNUM": [v.visitnum for v in visits],
            "VISIT": [v.visit for v in visits],
            "VISITDY": [float(v.visitdy) for v in visits],
            "DAY": [v.day for v in visits],
            "WINDOW_LO": [v.window[0] for v in visits],
            "WINDOW_HI": [v.window[1] for v in visits],
            FORM: "@visits",
            ROW: range(1, len(visits) + 1),
        }
    )


def subject_visits(calendar: pd.DataFrame) -> pd.DataFrame:
    """The ``@calendar`` virtual source: one row per subject and visit, with its first and last date (SV)."""
    grouped = calendar.groupby(["USUBJID", "VISITNUM"], as_index=False).agg(
        VISIT=("VISIT_SDTM", "first"),
        VISITDY=("VISITDY", "first"),
        _START=("_DATE", "min"),
        _END=("_DATE", "max"),
    )
    unscheduled = grouped["VISITDY"].isna() & (grouped["VISITNUM"] % 1 > 0)
    return pd.DataFrame(
        {
            "USUBJID": grouped["USUBJID"],
            "VISITNUM": grouped["VISITNUM"],
            "VISIT": grouped["VISIT"],
            "VISITDY": grouped["VISITDY"],
            "SVSTDTC": grouped["_START"].dt.strftime("%Y-%m-%d"),
            "SVENDTC": grouped["_END"].dt.strftime("%Y-%m-%d"),
            "SVUPDES": pd.Series("Unscheduled visit", index=grouped.index).where(unscheduled, None),
            FORM: "@calendar",
            ROW: range(1, len(grouped) + 1),
        }
    )


def record_relations(spec: DatasetSpec, mapped: dict[str, MappedDataset]) -> pd.DataFrame:
    """The ``@relrec`` virtual source: for each link, the records of both datasets sharing a key value
    within a subject are related under one RELID (SDTMIG 3.4 §8.2, record-level relationships; a
    --SPID-style IDVAR relates every record carrying that value)."""
    parts = []
    for link in spec.links:
        left = mapped[link["from"]].frame[["USUBJID", link["key"]]].dropna().drop_duplicates()
        right = mapped[link["to"]].frame[["USUBJID", link["to_key"]]].dropna().drop_duplicates()
        pairs = left.merge(right, left_on=["USUBJID", link["key"]], right_on=["USUBJID", link["to_key"]])
        value = pairs[link["key"]].astype(str)
        relid = link["relid"] + "-" + value
        for domain, idvar in ((link["from"], link["key"]), (link["to"], link["to_key"])):
            parts.append(
                pd.DataFrame(
                    {
                        "USUBJID": pairs["USUBJID"],
                        "RDOMAIN": domain,
                        "IDVAR": idvar,
                        "IDVARVAL": value,
                        "RELTYPE": None,
                        "RELID": relid,
                    }
                )
            )
    frame = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(VIRTUAL_FORMS["@relrec"]))
    )
    return frame.assign(**{FORM: "@relrec", ROW: range(1, len(frame) + 1)})


def study_summaries(dm: pd.DataFrame) -> dict[str, object]:
    """Values trial-summary rows may take from the data (``{summary: NAME}``)."""
    consent = dates.dtc_date(dm["RFICDTC"]) if not dm.empty else pd.Series(dtype="datetime64[us]")
    contact = dates.dtc_date(dm["RFPENDTC"]) if not dm.empty else pd.Series(dtype="datetime64[us]")
    return {
        "first_consent": consent.min().strftime("%Y-%m-%d") if consent.notna().any() else None,
        "last_contact": contact.max().strftime("%Y-%m-%d") if contact.notna().any() else None,
        "subjects_screened": len(dm),
        "subjects_enrolled": int(dm["ARMCD"].notna().sum()) if not dm.empty else 0,
        "subjects_treated": int(dm["RFXSTDTC"].notna().sum()) if not dm.empty else 0,
    }


def literal_rows(spec: DatasetSpec, study: Study, summaries: dict[str, object]) -> pd.DataFrame:
    """The ``@rows`` virtual source: the spec's literal rows with study and summary values put in."""

    def resolve(value: object) -> object:
        if isinstance(value, dict) and "study" in value:
            key = value["study"]
            found = (
                study.standards[key.split(".", 1)[1]] if key.startswith("standards.") else getattr(study, key)
            )
            return found.isoformat() if hasattr(found, "isoformat") else found
        if isinstance(value, dict) and "summary" in value:
            return summaries[value["summary"]]
        return value

    rows = [{k: resolve(v) for k, v in row.items()} for row in spec.rows]
    frame = pd.DataFrame(rows).astype("object")
    frame = frame.where(frame.notna(), None).map(lambda v: v if v is None else str(v))
    return frame.assign(**{FORM: "@rows", ROW: range(1, len(frame) + 1), "SITEID": None, "SUBJID": None})


def _final(m: MappedDataset) -> pd.DataFrame:
    """The records sorted by the spec's keys."""
    keys = list(m.spec.keys)
    frame = m.frame.sort_values(keys, kind="mergesort", na_position="first") if keys else m.frame
    return frame.reset_index(drop=True)


def _as_arrow_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Arrow strings, converted once: a quarter of the memory of Python objects for the
    big findings domains (DESIGN.md conventions) and vectorised string checks."""
    text = [c for c in frame.columns if frame[c].dtype == object and not c.startswith("_")]
    return frame.astype(dict.fromkeys(text, "str")) if text else frame


def build_sdtm(
    raw: RawStudy, study: Study, forms: FormCatalogue, specs: dict[str, DatasetSpec], study_ct: StudyCT
) -> SdtmResult:
    """Run the SDTM stage on raw forms already checked against their contracts."""
    findings = Findings()
    cut_raw, cut_exclusions = apply_data_cut(raw, study)

    def virtual(spec: DatasetSpec) -> set[str]:
        return {s.form for s in spec.sources if s.form.startswith("@")}

    mapped = {
        name: map_dataset(spec, cut_raw, study, study_ct, forms)
        for name, spec in specs.items()
        if not virtual(spec)
    }
    summaries = study_summaries(mapped["DM"].frame if "DM" in mapped else pd.DataFrame())
    for name, spec in specs.items():
        if virtual(spec) - {"@rows", "@visits"} or not virtual(spec):
            continue
        sources = {"@rows": literal_rows(spec, study, summaries), "@visits": planned_visits(study)}
        mapped[name] = map_dataset(spec, sources, study, study_ct, forms)
    last_contact = _last_contact(cut_raw, study)
    for m in mapped.values():
        _apply_reference_dates(m, last_contact)
    dm = (
        mapped["DM"].frame.set_index("USUBJID")
        if "DM" in mapped
        else pd.DataFrame(columns=["RFSTDTC", "RFXSTDTC", "RFPENDTC"])
    )
    ref = dm[["RFSTDTC", "RFXSTDTC"]]
    for m in mapped.values():
        _apply_element_ends(m, dm["RFPENDTC"])
    calendar = _visit_calendar(cut_raw, study)
    for m in mapped.values():
        _apply_visits(m, calendar, study)
    for name, spec in specs.items():
        if "@calendar" in virtual(spec):
            mapped[name] = map_dataset(spec, {"@calendar": subject_visits(calendar)}, study, study_ct, forms)
    elements = mapped["SE"].frame if "SE" in mapped else None
    for m in mapped.values():
        _finish(m, study, ref, elements)
    for name, spec in specs.items():
        if "@nca" in virtual(spec):  # PP: parameters computed from the finished PC records
            from cdisc168.sdtm.pp import nca_source

            mapped[name] = map_dataset(
                spec, {"@nca": nca_source(mapped["PC"].frame, study)}, study, study_ct, forms
            )
            _finish(mapped[name], study, ref, elements)
    for name, spec in specs.items():
        if "@relrec" in virtual(spec):  # RELREC: relationships between the finished datasets
            source = record_relations(spec, mapped)
            mapped[name] = map_dataset(spec, {"@relrec": source}, study, study_ct, forms)
    mapped = {name: mapped[name] for name in specs}
    for m in mapped.values():
        findings.extend(m.findings)

    datasets: dict[str, pd.DataFrame] = {}
    lineage_parts = []
    for name, m in mapped.items():
        m.frame = _as_arrow_text(m.frame)
        m.supp_values = _as_arrow_text(m.supp_values)
        continuations, text_findings = _apply_text_rules(m)
        findings.extend(text_findings)
        final = _final(m)
        datasets[name] = final
        seq = f"{name}SEQ"
        lineage_parts.append(
            final[[FORM, ROW]].assign(DOMAIN=name, USUBJID=final["USUBJID"], SEQ=final.get(seq, None))
        )
        if m.joined_lineage is not None:
            lineage_parts.append(m.joined_lineage.assign(DOMAIN=name, SEQ=None))
        supp = _supp(m, study, continuations)
        if supp is not None:
            datasets[f"SUPP{name}"] = supp
    lineage = pd.concat(lineage_parts, ignore_index=True) if lineage_parts else pd.DataFrame()
    exclusions = pd.concat(
        [cut_exclusions.assign(dataset="")]
        + [m.exclusions.assign(dataset=n) for n, m in mapped.items() if not m.exclusions.empty],
        ignore_index=True,
    )
    for (form, reason), group in cut_exclusions.groupby([FORM, "reason"], sort=True):
        findings.extend(
            findings_from_mask(
                group,
                pd.Series(True, index=group.index),
                rule="SD-DATACUT",
                severity=Severity.NOTICE,
                message=f"record excluded: {reason}",
                dataset=f"{form}.csv",
                row_column=ROW,
            )
        )
    return SdtmResult(datasets, specs, lineage, exclusions, findings)
