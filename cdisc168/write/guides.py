"""Reviewer's guides generated from the specs: the clinical Study Data Reviewer's Guide (cSDRG, SDTM) and
the Analysis Data Reviewer's Guide (ADRG, ADaM), following the sections of the PHUSE templates.

The study's narrative lives in the study's Markdown templates (``define/csdrg.md.j2``,
``define/adrg.md.j2`` and the shared partials ``define/guide_*.md.j2``); every fact comes from the inputs:
study.yaml (standards, design, data cut, exclusions), the dataset specs (labels, keys, methods, SUPP--
qualifiers, comments), the study terminology (sponsor codelists and terms), the findings of the build
with the study's explanations (``mappings/explanations.yaml``) and, for the ADRG, the ADaM datasets
(record counts, parameters, population counts).

Markdown is the master; the HTML is rendered from it by markdown-it-py with raw HTML disabled and
wrapped in a self-contained page with a table of contents (``define/guide.html.j2``). Every value a
template prints is escaped for Markdown (the Jinja ``finalize`` hook), so text from specs or data
(``|``, ``<``, ``&``, ``*``, newlines) can neither break a table nor inject markup. Nothing depends on the clock: the data cut is the only date besides the standards' versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from cdisc168.adam_spec import DATE_FORMATS, AdamSpec, AdamVariable
from cdisc168.check.plan import SCHEMA_RULES
from cdisc168.findings import Findings, Severity
from cdisc168.spec import DatasetSpec, _LineLoader
from cdisc168.standards.study_ct import StudyCT
from cdisc168.study import Study

CSDRG_TEMPLATE = "csdrg.md.j2"
ADRG_TEMPLATE = "adrg.md.j2"
HTML_TEMPLATE = "guide.html.j2"
NOT_EXPLAINED = "Not explained"
TRIAL_DESIGN = ("TA", "TE", "TV", "TI", "TS")
# Define-XML 2.1 def:Class of each ADaMIG 1.3 structure (Define-XML CT class values; TTE is the
# BDS subclass TIME-TO-EVENT).
ADAM_CLASSES: dict[str, str] = {
    "ADSL": "SUBJECT LEVEL ANALYSIS DATASET",
    "BDS": "BASIC DATA STRUCTURE",
    "TTE": "BASIC DATA STRUCTURE (TIME-TO-EVENT)",
    "OCCDS": "OCCURRENCE DATA STRUCTURE",
}
_SEVERITY_RANK = {Severity.ERROR.value: 0, Severity.WARNING.value: 1, Severity.NOTICE.value: 2}
_RULE_ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_ADAM_NAME_RE = re.compile(r"AD[A-Z0-9]{0,6}")  # ADaMIG 1.3 §2.3.1: ADaM dataset names begin with "AD"
# A dataset named in derivation text: "LB.LBSTRESN", "VS VSSTRESN", "ADGC GCLOW5" (name, then a name).
_DATASET_REFERENCE_RE = re.compile(r"\b([A-Z][A-Z0-9]{1,7})(?:\.|\s+)[A-Z][A-Z0-9]{1,7}\b")
_TREATMENT_RE = re.compile(r"^(ARM|ARMCD|ACTARM|ACTARMCD|TRT\d\d[PA]N?|TRT[SE]DTM?|TRT[SE]TMF|TRTDURD)$")
_MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>|&~#!])")
# Text that would open a block at the start of a line: a list item ("- x", "+ x", "1. x", "1) x"), a
# thematic break or a setext underline ("---", "==="). Ordinary text such as "-5" or "3.4" is left alone.
_ORDERED_ITEM_RE = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_BULLET_OR_RULE_RE = re.compile(r"^(?=[-+](?:\s|$)|[-=]+$)")


class GuideTemplateError(ValueError):
    """A reviewer's guide template is missing or broken; the message names the template and line."""


class ExplanationsError(ValueError):
    """explanations.yaml is malformed; the message names the file, line and key."""


def escape_markdown(value: object) -> str:
    """``value`` as literal Markdown inline text: one line, every markup character backslash-escaped.

    CommonMark §2.4: any ASCII punctuation may be backslash-escaped. ``|`` must be (GFM tables), ``<``
    and ``&`` must be (raw HTML and entities), newlines would end a table row. A leading ``-``, ``+`` or
    ``1.`` would start a list.
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    text = " ".join(str(value).split())
    text = _MARKDOWN_SPECIAL_RE.sub(r"\\\1", text)
    text = _ORDERED_ITEM_RE.sub(r"\1\\\2", text, count=1)
    return _BULLET_OR_RULE_RE.sub(r"\\", text, count=1)


# --- explanations of findings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Why the study expects a finding of ``rule`` (optionally only in one dataset and/or variable)."""

    rule: str
    text: str
    dataset: str | None = None
    variable: str | None = None

    def matches(self, rule: str, dataset: str, variable: str) -> bool:
        return (
            self.rule == rule
            and (self.dataset is None or self.dataset == dataset)
            and (self.variable is None or self.variable == variable)
        )

    @property
    def specificity(self) -> int:
        return 2 * (self.dataset is not None) + (self.variable is not None)


@dataclass(frozen=True)
class Explanations:
    """The study's explanations of validation findings (``mappings/explanations.yaml``)."""

    path: Path | None
    items: tuple[Explanation, ...] = ()

    def explain(self, rule: str, dataset: str = "", variable: str = "") -> str | None:
        """The most specific explanation of a finding (dataset and variable > dataset > variable > rule)."""
        found = [e for e in self.items if e.matches(rule, dataset, variable)]
        return max(found, key=lambda e: e.specificity).text if found else None


_EXPLANATION_KEYS = frozenset({"explanation", "dataset", "variable"})


def _explanation(rule: str, raw: Any, file: Path) -> Explanation:
    line = raw.get("__line__", "?") if isinstance(raw, dict) else "?"
    where = f"{file}:{line}: {rule}"
    if not isinstance(raw, dict):
        raise ExplanationsError(f"{where}: expected a mapping with `explanation`, got {raw!r}")
    unknown = sorted(set(raw) - _EXPLANATION_KEYS - {"__line__"})
    if unknown:
        raise ExplanationsError(f"{where}: unknown key {unknown[0]!r} (allowed: {sorted(_EXPLANATION_KEYS)})")
    text = raw.get("explanation")
    if not isinstance(text, str) or not text.strip():
        raise ExplanationsError(f"{where}: `explanation` must be non-empty text, got {text!r}")
    narrowed = {}
    for key in ("dataset", "variable"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ExplanationsError(f"{where}: `{key}` must be non-empty text, got {value!r}")
        narrowed[key] = value
    return Explanation(rule=rule, text=" ".join(text.split()), **narrowed)


def load_explanations(path: Path) -> Explanations:
    """Load ``explanations.yaml``: rule id → an entry or a list of entries (``explanation``, optional
    ``dataset`` / ``variable`` narrowing it). Safe YAML, no code; any problem is an
    :class:`ExplanationsError` naming the file, line and key."""
    file = Path(path)
    try:
        raw = yaml.load(file.read_text(encoding="utf-8"), Loader=_LineLoader)
    except FileNotFoundError as exc:
        raise ExplanationsError(f"{file}: explanations file not found") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ExplanationsError(f"{file}: not readable YAML: {exc}") from exc
    if raw is None:
        return Explanations(file)
    if not isinstance(raw, dict):
        raise ExplanationsError(f"{file}: expected a mapping of rule id to explanations, got {raw!r}")
    items: list[Explanation] = []
    for rule, entries in raw.items():
        if rule == "__line__":
            continue
        if not isinstance(rule, str) or not _RULE_ID_RE.match(rule):
            raise ExplanationsError(f"{file}: key {rule!r} is not a rule id (e.g. SD-DATACUT)")
        for entry in entries if isinstance(entries, list) else [entries]:
            items.append(_explanation(rule, entry, file))
    seen: set[tuple[str, str | None, str | None]] = set()
    for e in items:
        key = (e.rule, e.dataset, e.variable)
        if key in seen:
            raise ExplanationsError(
                f"{file}: {e.rule}: two explanations for dataset {e.dataset!r}, variable {e.variable!r}"
            )
        seen.add(key)
    return Explanations(file, tuple(items))


# --- findings --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueRow:
    """One line of the Issues Summary (PHUSE cSDRG §4.2 / ADRG §6.2): a rule in one dataset/variable."""

    rule: str
    severity: str
    dataset: str
    variable: str
    count: int
    message: str
    explanation: str


def summarise_findings(
    findings: Findings, explanations: Explanations, keep: Callable[[pd.Series], pd.Series]
) -> list[IssueRow]:
    """One row per (rule, severity, dataset, variable) of the findings whose dataset ``keep`` accepts
    (a Series of dataset names in, a boolean Series out), errors first, with the count, one message (the
    alphabetically first, and how many others there are) and the study's explanation."""
    frame = findings.to_frame()
    frame = frame[keep(frame["dataset"]).astype(bool)]
    if frame.empty:
        return []
    keys = ["rule", "severity", "dataset", "variable"]
    grouped = (
        frame.groupby(keys, sort=False)["message"]
        .agg(count="size", message="min", messages="nunique")
        .reset_index()
    )
    grouped["rank"] = grouped["severity"].map(_SEVERITY_RANK)
    grouped = grouped.sort_values(["rank", "rule", "dataset", "variable"], kind="mergesort")
    rows = []
    for g in grouped.itertuples(index=False):
        others = f" (and {g.messages - 1} other messages)" if g.messages > 1 else ""
        rows.append(
            IssueRow(
                rule=g.rule,
                severity=g.severity,
                dataset=g.dataset,
                variable=g.variable,
                count=int(g.count),
                message=f"{g.message}{others}",
                explanation=explanations.explain(g.rule, g.dataset, g.variable) or NOT_EXPLAINED,
            )
        )
    return rows


def rule_inventory(issues: Iterable[IssueRow], catalogue: Mapping[str, str]) -> list[dict[str, Any]]:
    """The rules run (PHUSE cSDRG §4.1 Conformance Inputs): every rule of the catalogue and every rule
    with findings, with its description and number of findings."""
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue.rule] = counts.get(issue.rule, 0) + issue.count
    return [
        {
            "rule": rule,
            "description": catalogue.get(rule, "Reported by the build (see the Issues Summary)."),
            "findings": counts.get(rule, 0),
        }
        for rule in sorted(set(catalogue) | set(counts))
    ]


def is_adam_dataset(names: pd.Series) -> pd.Series:
    """ADaMIG 1.3 §2.3.1: an ADaM dataset name begins with "AD" (raw files and SDTM datasets do not)."""
    return names.str.fullmatch(_ADAM_NAME_RE.pattern).fillna(False).astype(bool)


# --- cSDRG facts ------------------------------------------------------------------------------------------


def source_forms(specs: Mapping[str, DatasetSpec]) -> list[dict[str, str]]:
    """Raw EDC forms and the SDTM datasets each one feeds (sources and joined forms of the specs)."""
    feeds: dict[str, set[str]] = {}
    for name, spec in specs.items():
        for source in spec.sources:
            for form in (source.form, *(j.form for j in source.joins)):
                if not form.startswith("@"):
                    feeds.setdefault(form, set()).add(name)
    return [{"form": form, "datasets": ", ".join(sorted(feeds[form]))} for form in sorted(feeds)]


def dataset_inventory(specs: Mapping[str, DatasetSpec]) -> list[dict[str, Any]]:
    """Every SDTM dataset (cSDRG §3.3): name, label, class, structure, keys, SUPP-- and RELREC links."""
    related: set[str] = set()
    for spec in specs.values():
        for link in spec.links:
            related |= {link.get("from", ""), link.get("to", "")}
    return [
        {
            "name": name,
            "label": spec.label,
            "observation_class": spec.observation_class,
            "structure": spec.structure,
            "key_variables": ", ".join(spec.keys),
            "supp": f"SUPP{name}" if spec.supp else "",
            "relrec": "Y" if name in related else "",
        }
        for name, spec in sorted(specs.items())
    ]


def reference_variables(dm: DatasetSpec | None) -> list[dict[str, str]]:
    """DM reference dates (RF--, DTHDTC) with the derivation or comment text of the DM spec."""
    if dm is None:
        return []
    return [
        {"name": v.name, "label": v.label, "origin": v.origin, "text": v.method or v.comment or ""}
        for v in dm.variables
        if v.name.startswith("RF") or v.name == "DTHDTC"
    ]


def spec_rows(spec: DatasetSpec | None, columns: Iterable[str]) -> list[dict[str, Any]]:
    """The literal rows of a trial design spec (``rows:``), restricted to ``columns``."""
    if spec is None:
        return []
    return [{c: row.get(c) for c in columns} for row in spec.rows]


def epochs(ta: DatasetSpec | None, te: DatasetSpec | None) -> list[dict[str, Any]]:
    """The planned elements in order with their epoch (TA) and start/end rules (TE)."""
    rules = {row.get("ETCD"): row for row in (te.rows if te is not None else ())}
    seen: dict[str, dict[str, Any]] = {}
    for row in sorted(ta.rows if ta is not None else (), key=lambda r: r.get("TAETORD", 0)):
        etcd = row.get("ETCD")
        if etcd not in seen:
            te_row = rules.get(etcd, {})
            seen[etcd] = {
                "taetord": row.get("TAETORD"),
                "etcd": etcd,
                "element": row.get("ELEMENT"),
                "epoch": row.get("EPOCH"),
                "start": te_row.get("TESTRL", ""),
                "end": te_row.get("TEENRL", ""),
                "duration": te_row.get("TEDUR", ""),
            }
    return list(seen.values())


def ts_values(ts: DatasetSpec | None, parmcd: str) -> list[str]:
    """The literal TSVAL texts of one TS parameter in the TS spec (objectives, outcome measures, ...)."""
    if ts is None:
        return []
    rows = [r for r in ts.rows if r.get("TSPARMCD") == parmcd and isinstance(r.get("TSVAL"), str)]
    return [r["TSVAL"] for r in sorted(rows, key=lambda r: r.get("TSSEQ", 0))]


def _only_adam(used_by: Iterable[str]) -> bool:
    """True when every dataset of a codelist's ``used_by`` (DATASET.VARIABLE) is an ADaM dataset."""
    datasets = {u.split(".")[0] for u in used_by}
    return bool(datasets) and all(_ADAM_NAME_RE.fullmatch(d) for d in datasets)


def sponsor_terminology(study_ct: StudyCT) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sponsor-defined codelists and sponsor terms in CDISC codelists (Define-XML 2.1 def:ExtendedValue)
    of the SDTM datasets, i.e. all but those only ADaM datasets use: (codelists, extension terms)."""
    codelists, terms = [], []
    for c in study_ct:
        if _only_adam(c.used_by):
            continue
        used_by = ", ".join(c.used_by)
        if c.sponsor:
            codelists.append({"id": c.id, "name": c.name, "used_by": used_by, "terms": ", ".join(c.values)})
        else:
            terms.extend(
                {
                    "codelist": c.id,
                    "code": c.code or "",
                    "value": t.value,
                    "decode": t.decode or "",
                    "used_by": used_by,
                    "reason": t.exception or t.note or "",
                }
                for t in c.terms
                if t.sponsor
            )
    return codelists, terms


def supp_qualifiers(specs: Mapping[str, DatasetSpec]) -> list[dict[str, str]]:
    """Every SUPP-- QNAM of the specs (SDTMIG 3.4 §8.4): dataset, QNAM, QLABEL, origin, QEVAL."""
    return [
        {
            "dataset": f"SUPP{name}",
            "qnam": q.qnam,
            "qlabel": q.qlabel,
            "origin": q.origin,
            "qeval": q.qeval or "",
        }
        for name, spec in sorted(specs.items())
        for q in spec.supp
    ]


def spec_comments(specs: Mapping[str, DatasetSpec]) -> list[dict[str, str]]:
    """Every variable comment of the specs (non-standard choices declared where the variable is)."""
    return [
        {"dataset": name, "variable": v.name, "comment": v.comment}
        for name, spec in sorted(specs.items())
        for v in spec.variables
        if v.comment
    ]


def standards_inventory(study: Study, *, adam: bool) -> list[dict[str, str]]:
    """Study Data Standards and Dictionary Inventory (cSDRG/ADRG §1.3), all from study.yaml ``standards``."""
    s = study.standards
    rows = [("SDTM", s.get("sdtm", "")), ("SDTMIG", s["sdtmig"])]
    if adam:
        rows += [("ADaMIG", s["adamig"]), ("ADaM Controlled Terminology", s["ct_adam"])]
    rows += [
        ("SDTM Controlled Terminology", s["ct_sdtm"]),
        ("Define-XML", s["define_xml"]),
        ("Define-XML Controlled Terminology", s.get("ct_define", "")),
        ("Dataset-JSON", s.get("dataset_json", "")),
        ("Medical Events Dictionary (MedDRA)", s["meddra"]),
        ("Medications Dictionary (WHODrug)", s["whodrug"]),
        ("Toxicity grading (CTCAE)", s.get("ctcae", "")),
        ("CRS/ICANS grading", s.get("astct", "")),
    ]
    return [{"standard": name, "version": version} for name, version in rows if version]


def study_context(study: Study) -> dict[str, Any]:
    """Study-level facts shared by both guides."""
    low, high = study.thresholds.dlt_window_days
    return {
        "study": study,
        "dose_levels": study.dose_levels,
        "indications": study.indications,
        "ld_drugs": study.ld_drugs,
        "ld_days": ", ".join(str(d) for d in study.ld_days),
        "dlt_window": f"{low} to {high}",
        "data_cut": study.data_cut.isoformat(),
    }


# --- ADRG facts -------------------------------------------------------------------------------------------


def adsl_carried(specs: Mapping[str, AdamSpec]) -> tuple[list[str], list[dict[str, Any]]]:
    """ADSL variables carried to each other ADaM dataset (source ``ADSL.X``): (datasets, rows of
    variable → the datasets carrying it), in ADSL order."""
    adsl = specs.get("ADSL")
    others = [n for n in sorted(specs) if n != "ADSL"]
    carried = {
        n: {v.source.split(".", 1)[1] for v in specs[n].variables if (v.source or "").startswith("ADSL.")}
        for n in others
    }
    order = list(adsl.variable_names) if adsl else []
    names = sorted(
        set().union(*carried.values()), key=lambda x: (order.index(x) if x in order else len(order), x)
    )
    datasets = [n for n in others if carried[n]]
    rows = [{"variable": v, "in": ["X" if v in carried[d] else "" for d in datasets]} for v in names]
    return datasets, rows


def _variable_text(v: AdamVariable) -> str:
    if v.method:
        return v.method
    if v.source:
        return v.source + (f" ({v.comment})" if v.comment else "")
    return v.comment or ""


def adsl_variables(
    adsl: AdamSpec | None, select: Callable[[AdamVariable], bool], frame: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """ADSL variables chosen by ``select`` with label, derivation and, for flags, the number of 'Y'."""
    if adsl is None:
        return []
    rows = []
    for v in adsl.variables:
        if not select(v):
            continue
        count = ""
        if frame is not None and v.name in frame.columns and v.name.endswith("FL"):
            count = str(int((frame[v.name] == "Y").sum()))
        rows.append({"name": v.name, "label": v.label, "text": _variable_text(v), "count": count})
    return rows


def treatment_counts(adsl: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Subjects per planned and actual treatment (TRT01P/TRT01A with their numeric codes) in ADSL."""
    if adsl is None or not {"TRT01P", "TRT01PN", "TRT01A", "TRT01AN"} <= set(adsl.columns):
        return []
    planned = adsl.groupby(["TRT01PN", "TRT01P"], dropna=False).size().rename("planned")
    actual = adsl.groupby(["TRT01AN", "TRT01A"], dropna=False).size().rename("actual")
    planned.index.names = actual.index.names = ["n", "text"]
    table = pd.concat([planned, actual], axis=1).fillna(0).astype(int).reset_index()
    table = table.sort_values("n", kind="mergesort", na_position="last")
    return [
        {
            "n": "" if pd.isna(r.n) else f"{r.n:g}",
            "text": "" if pd.isna(r.text) else r.text,
            "planned": int(r.planned),
            "actual": int(r.actual),
        }
        for r in table.itertuples(index=False)
    ]


def adam_dependencies(
    specs: Mapping[str, AdamSpec], sdtm_specs: Mapping[str, DatasetSpec], datasets: Mapping[str, pd.DataFrame]
) -> list[dict[str, str]]:
    """Data dependencies (ADRG §4.1): the SDTM and ADaM datasets each ADaM dataset reads, from the
    Predecessor sources (``DM.AGE``), the datasets named in derivation texts (``LB.LBSTRESN``,
    ``VS VSSTRESN``) and the SRCDOM values of the built data (ADaMIG 1.3 §3.3.8 traceability)."""
    sdtm_names = set(sdtm_specs) | {f"SUPP{n}" for n, s in sdtm_specs.items() if s.supp}
    known = sdtm_names | set(specs)
    rows = []
    for name, spec in sorted(specs.items()):
        found = {(v.source or "").split(".")[0] for v in spec.variables if v.origin == "Predecessor"}
        for text in (spec.description, *(t for v in spec.variables for t in (v.method, v.comment) if t)):
            found |= {m.group(1) for m in _DATASET_REFERENCE_RE.finditer(text)}
        frame = datasets.get(name)
        if frame is not None and "SRCDOM" in frame.columns:
            found |= {str(d) for d in frame["SRCDOM"].dropna().unique()}
        found = (found & known) - {name}
        rows.append(
            {
                "dataset": name,
                "sdtm": ", ".join(sorted(found & sdtm_names)),
                "adam": ", ".join(sorted(found - sdtm_names)),
            }
        )
    return rows


def imputation_methods(specs: Mapping[str, AdamSpec]) -> list[dict[str, str]]:
    """Variables whose derivation or comment text describes an imputation (ADRG §4.2)."""
    return [
        {"dataset": name, "variable": v.name, "text": " ".join(t for t in (v.method, v.comment) if t)}
        for name, spec in sorted(specs.items())
        for v in spec.variables
        if "imput" in f"{v.method or ''} {v.comment or ''}".lower()
    ]


def adam_overview(
    specs: Mapping[str, AdamSpec], datasets: Mapping[str, pd.DataFrame]
) -> list[dict[str, Any]]:
    """ADRG §5.1: name, label, class, keys and number of records of every ADaM dataset; for §5.2 its
    description, its parameters (PARAMCD, PARAM, records) from the data and its variable comments."""
    order = {"ADSL": 0}
    rows = []
    for name, spec in sorted(specs.items(), key=lambda kv: (order.get(kv[0], 1), kv[0])):
        frame = datasets.get(name)
        rows.append(
            {
                "name": name,
                "label": spec.label,
                "structure": spec.structure,
                "class": ADAM_CLASSES.get(spec.structure, spec.structure),
                "key_variables": ", ".join(spec.keys),
                "records": "" if frame is None else str(len(frame)),
                "description": spec.description,
                "parameters": parameters(frame),
                "comments": [{"variable": v.name, "comment": v.comment} for v in spec.variables if v.comment],
            }
        )
    return rows


def parameters(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The parameters of a BDS dataset: PARAMCD, PARAM and number of records, in PARAMN order when the
    dataset has PARAMN (ADaMIG 1.3 §3.3.4), else by PARAMCD."""
    if frame is None or not {"PARAMCD", "PARAM"} <= set(frame.columns):
        return []
    order = frame["PARAMN"] if "PARAMN" in frame.columns else pd.Series(0, index=frame.index)
    counts = (
        frame.assign(_ORDER=order)
        .groupby(["PARAMCD", "PARAM"], dropna=False)
        .agg(records=("PARAMCD", "size"), order=("_ORDER", "min"))
        .reset_index()
        .sort_values(["order", "PARAMCD"], kind="mergesort")
    )
    return [
        {"paramcd": r.PARAMCD, "param": r.PARAM, "records": int(r.records)}
        for r in counts.itertuples(index=False)
    ]


# --- rendering --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guide:
    """A reviewer's guide as Markdown (the master) and as a self-contained HTML page."""

    markdown: str
    html: str


def _environment(template_dir: Path, *, html: bool) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(template_dir))
    if html:
        return jinja2.Environment(
            loader=loader,
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return jinja2.Environment(
        loader=loader,
        autoescape=False,  # Markdown, not HTML: every printed value goes through escape_markdown instead
        finalize=escape_markdown,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template_dir: Path, template: str, context: Mapping[str, Any], *, html: bool) -> str:
    """Render one template; a missing or broken template is a :class:`GuideTemplateError`."""
    try:
        return _environment(Path(template_dir), html=html).get_template(template).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise GuideTemplateError(
            f"{Path(template_dir) / exc.name}: reviewer's guide template not found"
        ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise GuideTemplateError(
            f"{exc.filename or template}:{exc.lineno}: template syntax error: {exc.message}"
        ) from exc
    except jinja2.TemplateError as exc:
        raise GuideTemplateError(f"{Path(template_dir) / template}: cannot be rendered: {exc}") from exc


def render_markdown(template_dir: Path, template: str, context: Mapping[str, Any]) -> str:
    """Render a Markdown template of ``template_dir`` (every ``{{ value }}`` is Markdown-escaped)."""
    return re.sub(r"\n{3,}", "\n\n", _render(template_dir, template, context, html=False))


def _slug(text: str, used: set[str]) -> str:
    base = "sec-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x")
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    used.add(slug)
    return slug


def _inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or () if c.type in ("text", "code_inline"))


def markdown_to_html(markdown: str, title: str, template_dir: Path) -> str:
    """The guide as one self-contained HTML page: markdown-it-py (CommonMark + tables, raw HTML off, so
    text can never become markup) inside ``guide.html.j2``, with a table of contents of levels 2-4."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown)
    used: set[str] = set()
    toc = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h2", "h3", "h4"):
            text = _inline_text(tokens[i + 1])
            slug = _slug(text, used)
            token.attrSet("id", slug)
            toc.append({"level": int(token.tag[1]), "id": slug, "text": text})
    body = md.renderer.render(tokens, md.options, {})
    return _render(template_dir, HTML_TEMPLATE, {"title": title, "toc": toc, "body": Markup(body)}, html=True)


def _guide(template_dir: Path, template: str, context: Mapping[str, Any], title: str) -> Guide:
    markdown = render_markdown(template_dir, template, context)
    return Guide(markdown=markdown, html=markdown_to_html(markdown, title, template_dir))


def render_csdrg(
    study: Study,
    specs: dict[str, DatasetSpec],
    study_ct: StudyCT,
    findings: Findings,
    explanations: Explanations,
    template_dir: Path,
    *,
    rule_catalogue: Mapping[str, str] | None = None,
) -> Guide:
    """The clinical Study Data Reviewer's Guide (PHUSE cSDRG template, sections 1-5) of the SDTM package.

    The rules run are the SDTM schema rules plus ``rule_catalogue`` (rule id → description: the
    conformance rules of the build, e.g. the SDTM and define rules of the rule catalog). Findings of ADaM
    datasets are left to the ADRG.
    """
    schema_rules = {r.id: r.description for r in SCHEMA_RULES.values()}
    issues = summarise_findings(findings, explanations, lambda names: ~is_adam_dataset(names))
    codelists, terms = sponsor_terminology(study_ct)
    context = {
        **study_context(study),
        "standards": standards_inventory(study, adam=False),
        "forms": source_forms(specs),
        "excluded_forms": sorted(study.excluded_forms.items()),
        "unmapped_columns": sorted(study.unmapped_columns.items()),
        "trial_design": [n for n in TRIAL_DESIGN if n in specs],
        "visits": study.visits,
        "epochs": epochs(specs.get("TA"), specs.get("TE")),
        "arms": spec_rows(specs.get("TA"), ("ARMCD", "TAETORD", "ETCD", "EPOCH", "TABRANCH", "TATRANS")),
        "phase": ts_values(specs.get("TS"), "TPHASE"),
        "stop_rule": ts_values(specs.get("TS"), "STOPRULE"),
        "reference_dates": reference_variables(specs.get("DM")),
        "datasets": dataset_inventory(specs),
        "sponsor_codelists": codelists,
        "sponsor_terms": terms,
        "supp": supp_qualifiers(specs),
        "comments": spec_comments(specs),
        "rules": rule_inventory(issues, {**schema_rules, **(rule_catalogue or {})}),
        "issues": issues,
    }
    return _guide(
        template_dir, CSDRG_TEMPLATE, context, f"{study.studyid} Clinical Study Data Reviewer's Guide"
    )


def render_adrg(
    study: Study,
    specs: dict[str, AdamSpec],
    sdtm_specs: dict[str, DatasetSpec],
    findings: Findings,
    explanations: Explanations,
    template_dir: Path,
    datasets: dict[str, pd.DataFrame],
    *,
    rule_catalogue: Mapping[str, str] | None = None,
) -> Guide:
    """The Analysis Data Reviewer's Guide (PHUSE ADRG template, sections 1-7) of the ADaM package.

    ``datasets`` are the built ADaM datasets (record counts, parameters, population counts);
    ``rule_catalogue`` lists the ADaM conformance rules run (none by default).
    """
    adam_names = set(specs)
    issues = summarise_findings(findings, explanations, lambda names: names.isin(adam_names))
    adsl_spec = specs.get("ADSL")
    adsl = datasets.get("ADSL")
    carried_in, carried = adsl_carried(specs)
    ts = sdtm_specs.get("TS")
    context = {
        **study_context(study),
        "standards": standards_inventory(study, adam=True),
        "phase": ts_values(ts, "TPHASE"),
        "stop_rule": ts_values(ts, "STOPRULE"),
        "objectives_primary": ts_values(ts, "OBJPRIM"),
        "objectives_secondary": ts_values(ts, "OBJSEC"),
        "endpoints_primary": ts_values(ts, "OUTMSPRI"),
        "endpoints_secondary": ts_values(ts, "OUTMSSEC"),
        "endpoints_exploratory": ts_values(ts, "OUTMSEXP"),
        "carried_in": carried_in,
        "carried": carried,
        "treatment_variables": adsl_variables(adsl_spec, lambda v: bool(_TREATMENT_RE.match(v.name))),
        "treatment_counts": treatment_counts(adsl),
        "populations": adsl_variables(adsl_spec, lambda v: v.name.endswith("FL"), adsl),
        "dates": adsl_variables(adsl_spec, lambda v: v.display_format in DATE_FORMATS),
        "baseline": adsl_spec.description if adsl_spec else "",
        "analysis_windows": study.analysis_windows,
        "dependencies": adam_dependencies(specs, sdtm_specs, datasets),
        "imputations": imputation_methods(specs),
        "overview": adam_overview(specs, datasets),
        "rules": rule_inventory(issues, rule_catalogue or {}),
        "issues": issues,
    }
    return _guide(template_dir, ADRG_TEMPLATE, context, f"{study.studyid} Analysis Data Reviewer's Guide")
