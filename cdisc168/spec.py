"""The spec model: one YAML file per dataset (``mappings/sdtm/<DOMAIN>.yaml``) loaded into typed specs.

A spec is data, never code. It names the raw form(s) a dataset comes from, an optional row filter
(``when``, a condition written as data), an optional ``unpivot`` (one column per test → one row per
test), and for every variable its metadata and exactly one *rule* from a closed vocabulary:

==========  ======================================================================================
source      copy a raw column: ``{source: AETERM}``; a list takes the first non-missing value
            (``{source: [ASTCTGR, CTCAEGR]}``)
constant    a fixed value: ``{constant: INTRAVENOUS}``
ct          collected value → CT submission value: ``{ct: {codelist: NY, from: AESER, map: {...}}}``
dtc         raw date (+ time) → ISO 8601, partial precision kept: ``{dtc: {date: AESTDT, time: AESTTM}}``
derive      a named engine derivation: ``{derive: seq}``, ``{derive: dy, of: AESTDTC}``
decode      the paired name of a code: ``{decode: {codelist: LBTESTCD, from: LBTESTCD}}``
case        the first branch whose ``when`` holds: ``{case: [{when: {...}, constant: X}, {constant: Y}]}``
template    text with raw values put in: ``{template: "DAY {NOMDAY}"}`` (column names only, no expressions)
duration    a day count as an ISO 8601 duration: ``{duration: {days: NOMDAY}}`` → "P7D", "-P7D"
==========  ======================================================================================

Standard variables take label, type, core and role from the SDTMIG 3.4 metadata; a spec may repeat
them, and then they must agree. Non-standard variables go to SUPP-- (``supp:`` entries). Every problem
is a :class:`SpecError` naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cdisc168.raw.forms import FormCatalogue
from cdisc168.standards import ig

ORIGIN_TYPES = frozenset(
    {"Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available", "Other"}
)
RULES = ("source", "constant", "ct", "dtc", "derive", "decode", "case", "template", "duration")
DERIVATIONS = frozenset(
    {
        "studyid",
        "domain",
        "usubjid",
        "seq",
        "dy",
        "epoch",
        "visit",
        "visitnum",
        "visitdy",
        "lobxfl",
        "last_contact",
        "seendtc",
        "stresc",
        "stresn",
        "stresu",
        "stnrlo",
        "stnrhi",
        "nrind",
        "std_lloq",
    }
)
RESULT_DERIVATIONS = frozenset({"stresc", "stresn", "stresu", "stnrlo", "stnrhi", "nrind", "std_lloq"})
_META = frozenset(
    {
        "only",
        "qnam",
        "qlabel",
        "qeval",
        "name",
        "label",
        "type",
        "length",
        "origin",
        "origin_source",
        "core",
        "role",
        "codelist",
        "comment",
        "method",
        "display_format",
        "significant_digits",
        "of",
        "by",
    }
)
_GENERAL_CLASSES = ("Interventions", "Events", "Findings", "Findings About")
# Virtual sources: records that do not come from a raw form. "@rows" are the spec's own literal rows
# (trial design), "@visits" the planned schedule of study.yaml, "@calendar" the subject visit calendar
# built from every mapped record (SV).
VIRTUAL_FORMS: dict[str, tuple[str, ...]] = {
    "@visits": ("VISITNUM", "VISIT", "VISITDY", "DAY", "WINDOW_LO", "WINDOW_HI"),
    "@calendar": ("USUBJID", "VISITNUM", "VISIT", "VISITDY", "SVSTDTC", "SVENDTC", "SVUPDES"),
    # PP: non-compartmental parameters computed from the mapped PC (cdisc168/sdtm/pp.py, cdisc168/nca.py)
    # RELREC: record relationships between finished datasets, declared by the spec's `links`
    "@relrec": ("USUBJID", "RDOMAIN", "IDVAR", "IDVARVAL", "RELTYPE", "RELID"),
    "@nca": (
        "USUBJID",
        "PPCAT",
        "PPTESTCD",
        "PPORRES",
        "PPORRESU",
        "PPSTRESC",
        "PPSTRESN",
        "PPSTRESU",
        "PPSPEC",
        "PPSTINT",
        "PPENINT",
        "PPRFTDTC",
        "PPREASND",
        "PPSTAT",
        "PCSEQS",
        "TLSTCNSR",
        "PPPARTFL",
    ),
}
STUDY_VALUES = frozenset(
    {
        "studyid",
        "title",
        "sponsor",
        "registry_id",
        "data_cut",
        "data_cut_description",
        "standards.sdtmig",
        "standards.sdtm",
        "standards.ct_sdtm",
        "standards.meddra",
        "standards.whodrug",
    }
)
SUMMARIES = frozenset(
    {"first_consent", "last_contact", "subjects_screened", "subjects_enrolled", "subjects_treated"}
)
_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_CONDITION_KEYS = frozenset({"column", "in", "not_in", "empty", "all", "any"})


class SpecError(ValueError):
    """A spec is malformed; the message names the file and line."""


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader whose mappings remember the line they start on (``__line__``)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Where:
    file: Path
    line: int

    def error(self, message: str) -> SpecError:
        return SpecError(f"{self.file}:{self.line}: {message}")


@dataclass(frozen=True)
class Condition:
    """A row condition written as data: ``{column: X, in: [...]}``, ``{column: X, empty: true}``,
    ``{all: [...]}``, ``{any: [...]}``."""

    column: str | None = None
    in_values: tuple[str, ...] | None = None
    not_in_values: tuple[str, ...] | None = None
    empty: bool | None = None
    all_of: tuple[Condition, ...] = ()
    any_of: tuple[Condition, ...] = ()

    def columns(self) -> set[str]:
        own = {self.column} if self.column else set()
        for child in (*self.all_of, *self.any_of):
            own |= child.columns()
        return own


@dataclass(frozen=True)
class Rule:
    """One mapping rule: ``kind`` in :data:`RULES` and its parameters."""

    kind: str
    params: dict[str, Any]
    where: Where

    def columns(self) -> set[str]:
        """Raw columns this rule reads (checked against the form catalogue at load time)."""
        p = self.params
        if self.kind == "source":
            return set(p["columns"])
        if self.kind == "case":
            found: set[str] = set()
            for when, rule in p["branches"]:
                found |= rule.columns() | (when.columns() if when else set())
            return found
        if self.kind == "ct":
            return {p["from"]}
        if self.kind == "dtc":
            return {c for c in (p.get("date"), p.get("time")) if c}
        if self.kind == "template":
            return set(p["columns"])
        if self.kind == "duration":
            return {p["days"]}
        return set()


@dataclass(frozen=True)
class VariableSpec:
    """One variable of a dataset: metadata (define.xml) plus the rule that produces it."""

    name: str
    label: str
    type: str
    core: str
    role: str
    origin: str
    rule: Rule | None
    length: int | None = None
    codelist: str | None = None
    origin_source: str | None = None
    comment: str | None = None
    method: str | None = None
    display_format: str | None = None
    significant_digits: int | None = None
    of: str | None = None
    where: Where | None = None


@dataclass(frozen=True)
class SuppSpec:
    """A supplemental qualifier (SUPP-- record per parent record with a value)."""

    qnam: str
    qlabel: str
    origin: str
    rule: Rule
    qeval: str | None = None
    only: tuple[str, ...] = ()
    where: Where | None = None

    def applies_to(self, form: str) -> bool:
        """A SUPP entry may be limited to some source forms (``only: [infusion]``)."""
        return not self.only or form in self.only


@dataclass(frozen=True)
class UnpivotItem:
    """One raw column of a wide findings form and the test attributes its row gets."""

    column: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class JoinSpec:
    """Another form joined to each source record by subject, its columns read as ``alias.COLUMN``.

    ``pick`` (first / last, by the form's record date then FORMSEQ) makes a repeating form one record
    per subject; without it the form must be one record per subject.
    """

    alias: str
    form: str
    pick: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """A raw form feeding the dataset, with its filter, unpivot and per-source rule overrides.

    ``pick`` keeps only the first or last record of each subject (by record date, then FORMSEQ).
    """

    form: str
    pick: str | None = None
    joins: tuple[JoinSpec, ...] = ()
    when: Condition | None = None
    exclude_reason: str | None = None
    unpivot: tuple[UnpivotItem, ...] = ()
    overrides: dict[str, Rule] = field(default_factory=dict)
    where: Where | None = None

    def virtual_columns(self) -> set[str]:
        """Columns an unpivot adds: ``_VALUE``, ``_COLUMN`` and every attribute name."""
        if not self.unpivot:
            return set()
        names = {"_VALUE", "_COLUMN"}
        for item in self.unpivot:
            names |= set(item.attributes)
        return names

    def joined_columns(self, forms: FormCatalogue) -> set[str]:
        """``alias.COLUMN`` for every column of every joined form."""
        return {f"{j.alias}.{c}" for j in self.joins for c in forms[j.form].column_names}


@dataclass(frozen=True)
class StandardUnit:
    """The standard unit of one test and how collected units convert to it (result = value × factor).

    ``keep`` lists collected units that are not convertible (assay-specific, e.g. IU/mL vs U/mL for an
    autoantibody): such results keep their own --STRESU, never silently standardised.
    """

    unit: str | None
    factors: dict[str, float]
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResultsSpec:
    """Where a findings dataset's results are and how to standardise them (SDTMIG 3.4 §4.5.1)."""

    value: str
    unit: str | None
    test: str
    standard: dict[str, StandardUnit]
    lloq: str | None = None
    low: str | None = None
    high: str | None = None

    def columns(self) -> set[str]:
        return {c for c in (self.value, self.unit, self.test, self.lloq, self.low, self.high) if c}


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset spec: name, IG class/label/structure, keys, sources, variables and SUPP-- entries."""

    name: str
    label: str
    observation_class: str
    structure: str
    keys: tuple[str, ...]
    sources: tuple[SourceSpec, ...]
    variables: tuple[VariableSpec, ...]
    supp: tuple[SuppSpec, ...]
    path: Path
    results: ResultsSpec | None = None
    rows: tuple[dict[str, Any], ...] = ()
    links: tuple[dict[str, str], ...] = ()

    @property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> VariableSpec:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)


def _condition(raw: Any, where: Where) -> Condition:
    if not isinstance(raw, dict):
        raise where.error(f"a condition must be a mapping, got {raw!r}")
    here = Where(where.file, raw.get("__line__", where.line))
    keys = set(raw) - {"__line__"}
    unknown = keys - _CONDITION_KEYS
    if unknown:
        raise here.error(f"unknown condition keys {sorted(unknown)}; allowed: {sorted(_CONDITION_KEYS)}")
    if "all" in raw or "any" in raw:
        return Condition(
            all_of=tuple(_condition(c, here) for c in raw.get("all", ())),
            any_of=tuple(_condition(c, here) for c in raw.get("any", ())),
        )
    if "column" not in raw or len(keys & {"in", "not_in", "empty"}) != 1:
        raise here.error("a condition needs `column` and exactly one of `in`, `not_in`, `empty`")
    return Condition(
        column=str(raw["column"]),
        in_values=tuple(str(v) for v in raw["in"]) if "in" in raw else None,
        not_in_values=tuple(str(v) for v in raw["not_in"]) if "not_in" in raw else None,
        empty=bool(raw["empty"]) if "empty" in raw else None,
    )


def _rule(raw: dict[str, Any], where: Where, *, required: bool) -> Rule | None:
    kinds = [k for k in RULES if k in raw]
    if len(kinds) > 1:
        raise where.error(f"exactly one rule allowed, found {kinds}")
    if not kinds:
        if required:
            raise where.error(f"no rule: give one of {list(RULES)}")
        return None
    kind = kinds[0]
    value = raw[kind]
    if kind == "source":
        columns = [str(c) for c in value] if isinstance(value, list) else [str(value)]
        params: dict[str, Any] = {"columns": columns}
    elif kind == "case":
        if not isinstance(value, list) or not value:
            raise where.error("`case` takes a non-empty list of branches")
        branches = []
        for branch in value:
            branch_where = Where(
                where.file, branch.get("__line__", where.line) if isinstance(branch, dict) else where.line
            )
            if not isinstance(branch, dict):
                raise branch_where.error("a case branch is a mapping with an optional `when` and one rule")
            when = _condition(branch["when"], branch_where) if "when" in branch else None
            inner = _rule({k: v for k, v in branch.items() if k != "when"}, branch_where, required=True)
            if inner is not None and inner.kind == "case":
                raise branch_where.error("a case branch cannot hold another case")
            branches.append((when, inner))
        params = {"branches": branches}
    elif kind == "constant":
        params = {"value": value}
    elif kind == "template":
        columns = _TEMPLATE_FIELD.findall(str(value))
        if not columns:
            raise where.error("`template` needs at least one {COLUMN} placeholder")
        params = {"text": str(value), "columns": columns}
    elif kind == "duration":
        if not isinstance(value, dict) or "days" not in value:
            raise where.error("`duration` takes {days: COLUMN}")
        params = {"days": str(value["days"])}
    elif kind == "derive":
        if value not in DERIVATIONS:
            raise where.error(f"unknown derivation {value!r}; known: {sorted(DERIVATIONS)}")
        by = raw.get("by") or []
        params = {
            "name": value,
            "of": raw.get("of"),
            "by": [str(b) for b in ([by] if isinstance(by, str) else by)],
        }
    elif kind in ("ct", "dtc", "decode"):
        if not isinstance(value, dict):
            raise where.error(f"`{kind}` takes a mapping, got {value!r}")
        params = {k: v for k, v in value.items() if k != "__line__"}
        needed = {"ct": ("codelist", "from"), "dtc": ("date",), "decode": ("codelist", "from")}[kind]
        missing = [k for k in needed if k not in params]
        if missing:
            raise where.error(f"`{kind}` needs {missing}")
        if kind == "ct" and "map" in params:
            params["map"] = {str(k): str(v) for k, v in params["map"].items() if k != "__line__"}
    else:  # pragma: no cover - RULES is closed
        raise where.error(f"unknown rule {kind!r}")
    return Rule(kind=kind, params=params, where=where)


def _variable(raw: Any, domain: str, file: Path) -> VariableSpec:
    if not isinstance(raw, dict) or "name" not in raw:
        raise SpecError(f"{file}: every variable needs a `name`, got {raw!r}")
    where = Where(file, raw["__line__"])
    unknown = set(raw) - _META - set(RULES) - {"__line__"}
    if unknown:
        raise where.error(f"unknown keys {sorted(unknown)}")
    name = str(raw["name"])
    if not _NAME_RE.match(name):
        raise where.error(f"variable name {name!r} must be 1-8 upper-case letters, digits or _")
    std = _standard_variable(domain, name)
    if std is None:
        raise where.error(
            f"{name} is not a SDTMIG 3.4 {domain} variable: non-standard variables go to SUPP{domain} (`supp:`)"
        )
    label = str(raw.get("label", std.label))
    if label != std.label:
        raise where.error(f"{name}: label {label!r} disagrees with SDTMIG 3.4 {std.label!r}")
    vtype = str(raw.get("type", std.type))
    if vtype != std.type:
        raise where.error(f"{name}: type {vtype!r} disagrees with SDTMIG 3.4 {std.type!r}")
    if len(label) > 40:
        raise where.error(f"{name}: label longer than 40 characters")
    origin = str(raw.get("origin", _default_origin(raw)))
    if origin not in ORIGIN_TYPES:
        raise where.error(
            f"{name}: origin {origin!r} is not a Define-XML 2.1 origin type {sorted(ORIGIN_TYPES)}"
        )
    length = raw.get("length")
    if length is not None and (not isinstance(length, int) or not 1 <= length <= 200):
        raise where.error(f"{name}: length must be an integer 1..200, got {length!r}")
    return VariableSpec(
        name=name,
        label=label,
        type=vtype,
        core=str(raw.get("core", std.core)),
        role=str(raw.get("role", std.role)),
        origin=origin,
        rule=_rule(raw, where, required=False),
        length=length,
        codelist=raw.get("codelist"),
        origin_source=raw.get("origin_source"),
        comment=raw.get("comment"),
        method=raw.get("method"),
        display_format=raw.get("display_format"),
        significant_digits=raw.get("significant_digits"),
        of=raw.get("of"),
        where=where,
    )


def _standard_variable(domain: str, name: str) -> ig.IGVariable | None:
    """The IG metadata of ``name`` in ``domain``; else the same --variable of another dataset of the same
    observation class (the SDTM model lets a general-class domain add its class's variables, e.g.
    VISITNUM or --LOT), which is then Permissible (SDTMIG 3.4 §2.7)."""
    try:
        return ig.sdtmig_variable(domain, name)
    except ig.IGLookupError:
        pass
    datasets = ig.sdtmig_datasets()
    observation_class = ig.sdtmig_dataset(domain).observation_class
    same_class = datasets.loc[datasets["class"] == observation_class, "dataset"].tolist()
    general = datasets.loc[datasets["class"].isin(_GENERAL_CLASSES), "dataset"].tolist()
    generic = "--" + name[2:] if name.startswith(domain) else name
    found = None
    for other in [*same_class, *general]:
        if other == domain:
            continue
        candidate = generic.replace("--", other, 1) if generic.startswith("--") else generic
        try:
            found = ig.sdtmig_variable(other, candidate)
            break
        except ig.IGLookupError:
            continue
    if found is None:
        return None
    return ig.IGVariable(
        dataset=domain,
        order=999,
        name=name,
        label=found.label,
        type=found.type,
        role=found.role,
        core="Perm",
        codelist_codes=found.codelist_codes,
        described_value_domain=found.described_value_domain,
        value_list=(),
        notes=f"class variable, as in {found.dataset}",
    )


def _default_origin(raw: dict[str, Any]) -> str:
    """Origin implied by the rule: collected for raw copies and dates, derived for derivations."""
    if "derive" in raw or "decode" in raw:
        return "Derived"
    if "constant" in raw:
        return "Assigned"
    return "Collected"


def _supp(raw: Any, file: Path) -> SuppSpec:
    where = Where(file, raw.get("__line__", 0) if isinstance(raw, dict) else 0)
    if not isinstance(raw, dict) or "qnam" not in raw or "qlabel" not in raw:
        raise where.error("a supp entry needs `qnam` and `qlabel`")
    qnam = str(raw["qnam"])
    if not _NAME_RE.match(qnam):
        raise where.error(f"QNAM {qnam!r} must be 1-8 upper-case letters, digits or _")
    qlabel = str(raw["qlabel"])
    if len(qlabel) > 40:
        raise where.error(f"QLABEL of {qnam} longer than 40 characters")
    origin = str(raw.get("origin", _default_origin(raw)))
    if origin not in ORIGIN_TYPES:
        raise where.error(f"{qnam}: origin {origin!r} is not a Define-XML 2.1 origin type")
    rule = _rule(raw, where, required=True)
    assert rule is not None
    only = raw.get("only") or ()
    only = (only,) if isinstance(only, str) else tuple(str(f) for f in only)
    return SuppSpec(
        qnam=qnam, qlabel=qlabel, origin=origin, rule=rule, qeval=raw.get("qeval"), only=only, where=where
    )


def _source(raw: Any, file: Path, domain: str, forms: FormCatalogue | None) -> SourceSpec:
    if not isinstance(raw, dict) or "form" not in raw:
        raise SpecError(f"{file}: every source needs a `form`, got {raw!r}")
    where = Where(file, raw["__line__"])
    form = str(raw["form"])
    if forms is not None and form not in forms.forms and form not in (*VIRTUAL_FORMS, "@rows"):
        raise where.error(f"unknown raw form {form!r}; known: {list(forms.names)} or a virtual source")
    unpivot = tuple(
        UnpivotItem(column=str(col), attributes={k: str(v) for k, v in attrs.items() if k != "__line__"})
        for col, attrs in (raw.get("unpivot") or {}).items()
        if col != "__line__"
    )
    overrides = {}
    for name, rule_raw in (raw.get("set") or {}).items():
        if name == "__line__":
            continue
        rule_where = Where(
            file, rule_raw.get("__line__", where.line) if isinstance(rule_raw, dict) else where.line
        )
        if not isinstance(rule_raw, dict):
            raise rule_where.error(f"set.{name}: expected a rule mapping")
        overrides[str(name)] = _rule(rule_raw, rule_where, required=True)
    pick = raw.get("pick")
    if pick not in (None, "first", "last"):
        raise where.error(f"pick must be first or last, got {pick!r}")
    joins = []
    for join in raw.get("join") or ():
        join_where = Where(file, join.get("__line__", where.line) if isinstance(join, dict) else where.line)
        if not isinstance(join, dict) or "form" not in join:
            raise join_where.error("a join needs `form` (and optionally `alias`, `pick`)")
        join_form = str(join["form"])
        if forms is not None and join_form not in forms.forms:
            raise join_where.error(f"unknown raw form {join_form!r}")
        join_pick = join.get("pick")
        if join_pick not in (None, "first", "last"):
            raise join_where.error(f"pick must be first or last, got {join_pick!r}")
        if forms is not None and join_pick is None and not forms[join_form].one_per_subject:
            raise join_where.error(f"{join_form} has several records per subject: give `pick: first|last`")
        joins.append(JoinSpec(alias=str(join.get("alias", join_form)), form=join_form, pick=join_pick))
    return SourceSpec(
        form=form,
        pick=pick,
        joins=tuple(joins),
        when=_condition(raw["when"], where) if raw.get("when") is not None else None,
        exclude_reason=raw.get("exclude_reason"),
        unpivot=unpivot,
        overrides=overrides,  # type: ignore[arg-type]
        where=where,
    )


def _check_columns(spec: DatasetSpec, forms: FormCatalogue) -> None:
    """Every raw column a rule or condition names exists in its form (or the unpivot's virtual columns)."""
    for source in spec.sources:
        if source.form == "@rows":
            row_columns = {k for row in spec.rows for k in row}
            columns = (*row_columns, "SITEID", "SUBJID")
        else:
            columns = VIRTUAL_FORMS.get(source.form) or forms[source.form].column_names
        known = set(columns) | source.virtual_columns() | source.joined_columns(forms)
        for item in source.unpivot:
            if item.column not in columns:
                raise source.where.error(f"unpivot column {item.column!r} is not in {source.form}.csv")  # type: ignore[union-attr]
        if source.when is not None:
            for column in source.when.columns() - known:
                raise source.where.error(f"condition column {column!r} is not in {source.form}.csv")  # type: ignore[union-attr]
        rules = [(v.name, v.rule) for v in spec.variables if v.rule and v.name not in source.overrides]
        rules += list(source.overrides.items())
        rules += [(s.qnam, s.rule) for s in spec.supp if s.applies_to(source.form)]
        if spec.results is not None:
            for column in spec.results.columns() - known - set(spec.variable_names):
                raise source.where.error(f"results: unknown column {column!r} of raw form {source.form}.csv")  # type: ignore[union-attr]
        for name, rule in rules:
            if rule is None:
                continue
            for column in rule.columns() - known:
                raise rule.where.error(f"{name}: unknown column {column!r} of raw form {source.form}.csv")


def _literal_row(raw: Any, file: Path) -> dict[str, Any]:
    """One literal row: column → text, number, null, ``{study: KEY}`` or ``{summary: NAME}``."""
    where = Where(file, raw.get("__line__", 0) if isinstance(raw, dict) else 0)
    if not isinstance(raw, dict):
        raise where.error("a literal row is a mapping of column to value")
    row = {}
    for key, value in raw.items():
        if key == "__line__":
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "__line__"}
            if (value.keys() == {"study"} and value["study"] in STUDY_VALUES) or (
                value.keys() == {"summary"} and value["summary"] in SUMMARIES
            ):
                pass
            else:
                raise where.error(
                    f"{key}: a computed value is {{study: one of {sorted(STUDY_VALUES)}}} "
                    f"or {{summary: one of {sorted(SUMMARIES)}}}"
                )
        row[str(key)] = value
    return row


def _link(raw: Any, file: Path) -> dict[str, str]:
    """A record relationship for RELREC: records of ``from`` and ``to`` sharing a key value per subject."""
    where = Where(file, raw.get("__line__", 0) if isinstance(raw, dict) else 0)
    needed = {"relid", "from", "key", "to", "to_key"}
    if not isinstance(raw, dict) or not needed <= set(raw):
        raise where.error(f"a link needs {sorted(needed)}")
    return {k: str(raw[k]) for k in needed}


def _results(raw: Any, file: Path) -> ResultsSpec | None:
    if raw is None:
        return None
    where = Where(file, raw.get("__line__", 0) if isinstance(raw, dict) else 0)
    if not isinstance(raw, dict) or not {"value", "test", "standard"} <= set(raw):
        raise where.error(
            "`results` needs `value`, `test` and `standard` (and optionally unit, lloq, low, high)"
        )
    standard = {}
    for test, entry in raw["standard"].items():
        if test == "__line__":
            continue
        if not isinstance(entry, dict) or "unit" not in entry:
            raise where.error(f"results.standard.{test}: needs `unit` (null for a unitless test)")
        factors = {str(k): float(v) for k, v in (entry.get("from") or {}).items() if k != "__line__"}
        keep = tuple(str(u) for u in entry.get("keep") or ())
        standard[str(test)] = StandardUnit(unit=entry["unit"], factors=factors, keep=keep)
    return ResultsSpec(
        value=str(raw["value"]),
        unit=raw.get("unit"),
        test=str(raw["test"]),
        standard=standard,
        lloq=raw.get("lloq"),
        low=raw.get("low"),
        high=raw.get("high"),
    )


def load_spec(path: Path | str, forms: FormCatalogue | None = None) -> DatasetSpec:
    """Load and validate one dataset spec (SDTM). ``forms`` enables the raw-column checks."""
    file = Path(path)
    try:
        raw = yaml.load(file.read_text(encoding="utf-8"), Loader=_LineLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{file}: cannot read the spec: {exc}") from exc
    if not isinstance(raw, dict) or "dataset" not in raw:
        raise SpecError(f"{file}:1: a spec needs `dataset`")
    top = Where(file, raw["__line__"])
    name = str(raw["dataset"])
    if not _NAME_RE.match(name):
        raise top.error(f"dataset name {name!r} must be 1-8 upper-case letters or digits")
    try:
        ig_dataset = ig.sdtmig_dataset(name)
    except ig.IGLookupError:
        raise top.error(f"{name} is not a SDTMIG 3.4 dataset") from None
    variables = tuple(_variable(v, name, file) for v in raw.get("variables") or ())
    names = [v.name for v in variables]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise top.error(f"duplicate variables {duplicates}")
    required = [v.name for v in ig.sdtmig_domain_variables(name) if v.core == "Req"]
    missing = [n for n in required if n not in names]
    if missing:
        raise top.error(f"{name}: SDTMIG 3.4 required variables missing from the spec: {missing}")
    keys = tuple(str(k) for k in raw.get("keys") or ())
    unknown_keys = [k for k in keys if k not in names]
    if unknown_keys:
        raise top.error(f"keys {unknown_keys} are not variables of the spec")
    sources = tuple(_source(s, file, name, forms) for s in raw.get("sources") or ())
    supp = tuple(_supp(s, file) for s in raw.get("supp") or ())
    for source in sources:
        for var in source.overrides:
            if var not in names:
                raise source.where.error(f"set.{var}: not a variable of the spec")  # type: ignore[union-attr]
    for v in variables:
        if v.rule is None and not all(v.name in s.overrides for s in sources):
            raise v.where.error(f"{v.name}: no rule, and not every source sets it")  # type: ignore[union-attr]
    rows = tuple(_literal_row(r, file) for r in raw.get("rows") or ())
    links = tuple(_link(r, file) for r in raw.get("links") or ())
    for v in variables:
        for by in (v.rule.params.get("by") or []) if v.rule is not None and v.rule.kind == "derive" else []:
            if by not in names:
                raise v.where.error(f"{v.name}: `by` names {by!r}, which is not a variable of the spec")  # type: ignore[union-attr]
    spec = DatasetSpec(
        name=name,
        rows=rows,
        links=links,
        label=str(raw.get("label", ig_dataset.label)),
        observation_class=ig_dataset.observation_class,
        structure=str(raw.get("structure", ig_dataset.structure)),
        keys=keys,
        sources=sources,
        variables=variables,
        supp=supp,
        path=file,
        results=_results(raw.get("results"), file),
    )
    if spec.results is None and any(
        v.rule is not None and v.rule.kind == "derive" and v.rule.params["name"] in RESULT_DERIVATIONS
        for v in variables
    ):
        raise top.error("result derivations (stresc, stresn, ...) need a `results` block")
    if forms is not None:
        _check_columns(spec, forms)
    return spec
