"""The define.xml metadata model (Define-XML 2.1) and its builders from the SDTM and ADaM specs and data.

A :class:`DefineModel` holds exactly what one define.xml says, already resolved (OIDs, lengths, data
types, codelists, origins, methods, comments), so that the template (``define/define.xml.j2``) only
prints it. Everything is derived from three inputs: the specs (``mappings/``), the study terminology
(``mappings/terminology.yaml``) and the datasets as written to XPT (with the lengths ``write_xpt``
returned). Every OID comes from :mod:`cdisc168.write.oids`.

Decisions (Define-XML 2.1 specification, CDISC 2019; section numbers below are of that document):

* ItemGroupDef order, SDTM: by observation class (trial design, study reference, special purpose,
  interventions, events, findings, findings about, relationship), alphabetically within a class, each
  SUPP-- right after its parent. ADaM: ADSL first, then alphabetically.
* A variable takes the codelist that holds all its values among those its spec and the terminology's
  ``used_by`` name; failing that the one declared for it (the data checks then report the values
  outside it). A codelist named only by one source's rule (DS DSTERM of the eligibility milestone)
  holds for some records and is not given to the variable.
* ``Length`` of a dataset variable is the XPT length (character: the written byte length; numeric: 8);
  a value-level item's ``Length`` is the longest value of its subset in bytes.
* Numeric ``DataType`` comes from the data: all values integral → ``integer``, else ``float`` with
  ``SignificantDigits`` = the largest number of decimals. ADaM numeric dates, datetimes and times
  (DATE9., DATETIME20., TIME8.) are ``integer`` with their ``def:DisplayFormat``. SDTM ISO 8601
  variables (SDTMIG 3.4 described value domain) are ``datetime`` (--DTC) or ``durationDatetime``
  (--DUR, --ELTM, intervals).
* A variable whose values come from several codelists (RS RSTESTCD, DS DSDECOD) is described by
  value-level metadata by its --CAT; findings results (--ORRES, --STRESC, --STRESN) by --TESTCD, TSVAL
  by TSPARMCD, SUPP-- QVAL by QNAM, ADaM AVAL/AVALC by PARAMCD (§5.3.6, §5.3.7).
* A dataset with no records is kept with ``def:HasNoData="Yes"``, a comment saying why, and no
  ``def:leaf`` (§5.3.4, conformance rules 0119, 0125, 0240).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import pandas as pd

import cdisc168
from cdisc168.adam_spec import AdamSpec, AdamVariable
from cdisc168.datasetjson import ISO_PATTERNS, ColumnDefinition
from cdisc168.spec import Condition, DatasetSpec, Rule, VariableSpec
from cdisc168.standards import ct, ig
from cdisc168.standards.study_ct import StudyCodelist, StudyCT
from cdisc168.study import Study
from cdisc168.write import oids
from cdisc168.write.tabulation import SUPP_PREFIX, dataset_metadata

DEFINE_VERSION = "2.1.0"
MAX_SIGNIFICANT_DIGITS = 10
NUMERIC_LENGTH = 8
DATE_FORMATS = frozenset({"DATE9.", "DATETIME20.", "TIME8."})
TRIAL_DESIGN = frozenset({"TA", "TE", "TV", "TI", "TS", "TD", "TM"})
SUBJECT_LEVEL = frozenset({"DM", "ADSL"})
SDTM_CLASS_ORDER = (
    "Trial Design",
    "Study Reference",
    "Special-Purpose",
    "Interventions",
    "Events",
    "Findings",
    "Findings About",
    "Relationship",
)
# Define-XML CT "General Observation Class" (GNRLOBSC) submission values per SDTMIG class.
SDTM_DEFINE_CLASS = {
    "Trial Design": "TRIAL DESIGN",
    "Study Reference": "STUDY REFERENCE",
    "Special-Purpose": "SPECIAL PURPOSE",
    "Interventions": "INTERVENTIONS",
    "Events": "EVENTS",
    "Findings": "FINDINGS",
    "Findings About": "FINDINGS ABOUT",
    "Relationship": "RELATIONSHIP",
}
# Topic code → result variables described by value-level metadata (SDTMIG 3.4 §4.5.1, TS §7.4).
RESULT_VARIABLES = {"--TESTCD": ("--ORRES", "--STRESC", "--STRESN"), "TSPARMCD": ("TSVAL",)}
ADAM_RESULT_VARIABLES = ("AVAL", "AVALC")
# Engine derivations (cdisc168.sdtm.derive) and what they compute; --VAR is the variable's own prefix.
SDTM_DERIVATIONS = {
    "usubjid": "STUDYID, SITEID and SUBJID joined with '-' (unique subject identifier).",
    "seq": "Sequence number 1..n per USUBJID in the order of the dataset keys (SDTMIG 3.4 §4.1.5).",
    "dy": (
        "Study day of the date relative to DM.RFSTDTC: date - RFSTDTC + 1 on or after RFSTDTC, "
        "date - RFSTDTC before it (no day 0); missing for partial dates (SDTMIG 3.4 §4.4.4)."
    ),
    "epoch": "EPOCH of the subject's SE element whose start/end interval contains the date (SDTMIG 3.4 §4.1.3.1).",
    "visit": "Planned visit name of the visit schedule (TV); unscheduled visits 'UNSCHEDULED n.nn'.",
    "visitnum": "Planned VISITNUM of the visit (TV); unscheduled visits: previous VISITNUM + .01.",
    "visitdy": "Planned study day of the visit (TV VISITDY).",
    "lobxfl": (
        "'Y' on the last non-missing result per USUBJID and test on or before the first "
        "lymphodepletion dose (DM.RFXSTDTC), SDTMIG 3.4 §4.5.9."
    ),
    "last_contact": "Last contact date of the subject on or before the data cut (every dated record).",
    "seendtc": "End of the element: the start of the subject's next element, or the last contact date.",
    "stresc": "The result in standard format: --ORRES converted to the standard unit (SDTMIG 3.4 §4.5.1).",
    "stresn": "--STRESC as a number when it is numeric.",
    "stresu": "The standard unit of the test (mapping spec conversion table).",
    "stnrlo": "Reference range lower limit converted to the standard unit.",
    "stnrhi": "Reference range upper limit converted to the standard unit.",
    "nrind": "LOW / HIGH / NORMAL: the standard result compared with the standard reference range.",
    "std_lloq": "Lower limit of quantitation converted to the standard unit.",
    "decode": "The decode (--TEST / --PARM name) of the code in the paired codelist of the study CT.",
}
_ASSIGNED_DERIVATIONS = frozenset({"studyid", "domain"})


class DefineModelError(ValueError):
    """The specs, terminology and data cannot be described consistently (names dataset and variable)."""


@dataclass(frozen=True)
class SupplementalDocument:
    """A document the define.xml links to (def:SupplementalDoc), e.g. the reviewer's guide."""

    title: str
    href: str

    @property
    def leaf_id(self) -> str:
        return oids.leaf_id(self.href)


@dataclass(frozen=True)
class Standard:
    """def:Standard (§4.2.3): an IG or a CT package."""

    oid: str
    name: str
    type: str
    version: str
    publishing_set: str | None = None
    status: str = "Final"


@dataclass(frozen=True)
class Origin:
    """def:Origin (§5.3.11.4): Type, Source and, for a predecessor, the source variable as text."""

    type: str
    source: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ItemRef:
    item_oid: str
    order: int
    mandatory: bool
    key_sequence: int | None = None
    role: str | None = None
    method_oid: str | None = None
    where_clause_oid: str | None = None


@dataclass(frozen=True)
class ItemDef:
    oid: str
    name: str
    label: str
    data_type: str
    length: int | None
    significant_digits: int | None = None
    display_format: str | None = None
    codelist_oid: str | None = None
    origin: Origin | None = None
    value_list_oid: str | None = None
    comment_oid: str | None = None

    @property
    def sas_field_name(self) -> str:
        return self.name


@dataclass(frozen=True)
class ItemGroupDef:
    oid: str
    name: str
    label: str
    domain: str | None
    repeating: bool
    is_reference_data: bool
    purpose: str
    structure: str
    class_name: str
    subclass: str | None
    standard_oid: str
    item_refs: tuple[ItemRef, ...]
    has_no_data: bool = False
    comment_oid: str | None = None

    @property
    def leaf_id(self) -> str:
        return oids.leaf_id(self.name)

    @property
    def href(self) -> str:
        return f"{self.name.lower()}.xpt"


@dataclass(frozen=True)
class RangeCheck:
    item_oid: str
    comparator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class WhereClauseDef:
    oid: str
    checks: tuple[RangeCheck, ...]


@dataclass(frozen=True)
class ValueListDef:
    oid: str
    item_refs: tuple[ItemRef, ...]


@dataclass(frozen=True)
class CodeListTerm:
    value: str
    decode: str | None
    code: str | None
    extended: bool


@dataclass(frozen=True)
class CodeList:
    """CodeList (§5.3.12): CDISC (StandardOID + C-code alias), sponsor (IsNonStandard) or external."""

    oid: str
    name: str
    data_type: str
    terms: tuple[CodeListTerm, ...]
    code: str | None = None
    standard_oid: str | None = None
    is_non_standard: bool = False
    dictionary: str | None = None
    version: str | None = None

    @property
    def has_decodes(self) -> bool:
        return any(t.decode is not None for t in self.terms)


@dataclass(frozen=True)
class MethodDef:
    oid: str
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class CommentDef:
    oid: str
    text: str


@dataclass(frozen=True)
class DefineModel:
    """Everything one define.xml 2.1 states, in document order."""

    file_oid: str
    creation_datetime: str
    originator: str
    source_system: str
    source_system_version: str
    study_oid: str
    study_name: str
    study_description: str
    protocol_name: str
    mdv_oid: str
    mdv_name: str
    mdv_description: str
    standards: tuple[Standard, ...]
    documents: tuple[SupplementalDocument, ...]
    value_lists: tuple[ValueListDef, ...]
    where_clauses: tuple[WhereClauseDef, ...]
    item_groups: tuple[ItemGroupDef, ...]
    item_defs: tuple[ItemDef, ...]
    codelists: tuple[CodeList, ...]
    methods: tuple[MethodDef, ...]
    comments: tuple[CommentDef, ...]

    def item_group(self, name: str) -> ItemGroupDef:
        for group in self.item_groups:
            if group.name == name:
                return group
        raise KeyError(f"define.xml {self.mdv_oid}: no dataset {name!r}")


def dataset_columns(model: DefineModel, dataset: str) -> list[ColumnDefinition]:
    """The columns of ``dataset`` in ItemRef order, with the define.xml ItemDef metadata (Dataset-JSON 1.1
    ``columns``: itemOID, name, label, dataType source, length, displayFormat, keySequence)."""
    items = {item.oid: item for item in model.item_defs}
    columns = []
    for ref in model.item_group(dataset).item_refs:
        item = items[ref.item_oid]
        columns.append(
            ColumnDefinition(
                item_oid=item.oid,
                name=item.name,
                label=item.label,
                data_type=item.data_type,
                length=item.length,
                display_format=item.display_format,
                key_sequence=ref.key_sequence,
            )
        )
    return columns


# --- values of the data --------------------------------------------------------------------------------


def has_value(values: pd.Series) -> pd.Series:
    """True where a value is present (NaN, None and empty text are missing, as in XPT)."""
    present = values.notna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        present &= values.ne("")
    return present


def distinct(values: pd.Series) -> pd.Series:
    """The distinct present values (every property below depends on them only: fast on big domains)."""
    return pd.Series(pd.unique(values[has_value(values)]))


def compute_decimals(values: np.ndarray) -> np.ndarray:
    """Per value, the fewest decimals (0..10) that represent it (float noise of 1e-9 relative ignored)."""
    decimals = np.full(values.shape, MAX_SIGNIFICANT_DIGITS, dtype=np.int64)
    for digits in range(MAX_SIGNIFICANT_DIGITS, -1, -1):
        scaled = values * 10.0**digits
        exact = np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))
        decimals[exact] = digits
    return decimals


def numeric_type(values: pd.Series) -> tuple[str, int | None]:
    """(``integer``, None) when every value is integral, else (``float``, largest decimal count), the
    Define-XML 2.1 DataType and SignificantDigits of numbers (§5.3.11)."""
    numbers = pd.to_numeric(distinct(values), errors="coerce").dropna().to_numpy(dtype=float)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return "integer", None
    digits = int(compute_decimals(numbers).max())
    return ("integer", None) if digits == 0 else ("float", digits)


def text_value_type(values: pd.Series) -> tuple[str, int | None]:
    """Value-level DataType of character results: numeric when every value is a number, else text."""
    texts = distinct(values).astype(str)
    if texts.empty or pd.to_numeric(texts, errors="coerce").isna().any():
        return "text", None
    return numeric_type(texts)


def byte_length(values: pd.Series) -> int:
    """Longest value in bytes (UTF-8), at least 1."""
    texts = distinct(values).astype(str)
    if texts.empty:
        return 1
    return max(1, int(texts.str.encode("utf-8").str.len().max()))


def _texts(values: pd.Series) -> list[str]:
    return [str(v) for v in distinct(values)]


def _covering_codelist(values: Iterable[str], candidates: Sequence[StudyCodelist]) -> StudyCodelist | None:
    """The first candidate codelist holding every value (an external dictionary without listed terms,
    such as MedDRA or WHODrug, holds any value)."""
    wanted = {str(v) for v in values}
    for candidate in candidates:
        if (candidate.external and not candidate.terms) or wanted <= set(candidate.values):
            return candidate
    return None


# --- the builder ---------------------------------------------------------------------------------------


@dataclass
class _Collected:
    """Definitions collected while walking the datasets (dicts keep first-seen order)."""

    study_ct: StudyCT
    ct_standards: dict[str, str]
    item_defs: dict[str, ItemDef] = field(default_factory=dict)
    codelists: dict[str, StudyCodelist] = field(default_factory=dict)
    methods: dict[str, MethodDef] = field(default_factory=dict)
    comments: dict[str, CommentDef] = field(default_factory=dict)
    value_lists: dict[str, ValueListDef] = field(default_factory=dict)
    where_clauses: dict[str, WhereClauseDef] = field(default_factory=dict)

    def codelist_oid(self, codelist: StudyCodelist | None) -> str | None:
        if codelist is None:
            return None
        self.codelists.setdefault(codelist.id, codelist)
        return oids.codelist_oid(codelist.id)

    def comment(self, oid: str, text: str | None) -> str | None:
        if not text:
            return None
        self.comments.setdefault(oid, CommentDef(oid, " ".join(text.split())))
        return oid

    def method(self, oid: str, name: str, text: str) -> str:
        """A MethodDef (§5.3.10); Type Imputation when the algorithm imputes, else Computation."""
        kind = "Imputation" if re.search(r"\bimputed\b", text, re.IGNORECASE) else "Computation"
        self.methods.setdefault(oid, MethodDef(oid, name, kind, " ".join(text.split())))
        return oid

    def add_item(self, item: ItemDef) -> str:
        self.item_defs[item.oid] = item
        return item.oid

    def candidates(self, dataset: str, variable: str, named: Iterable[str | None]) -> list[StudyCodelist]:
        """Study codelists a variable may take: those named by its spec, then those whose ``used_by``
        lists it (``SUPPQUAL.QVAL`` for any SUPP--, ``*.DOMAIN`` for every DOMAIN)."""
        generic = ig.sdtmig_dataset_name(dataset)
        keys = {f"{dataset}.{variable}", f"{generic}.{variable}", f"*.{variable}"}
        found: dict[str, StudyCodelist] = {}
        for name in named:
            if name:
                codelist = self._lookup(name, dataset, variable)
                found.setdefault(codelist.id, codelist)
        for codelist in self.study_ct:
            if keys & set(codelist.used_by):
                found.setdefault(codelist.id, codelist)
        return list(found.values())

    def _lookup(self, name: str, dataset: str, variable: str) -> StudyCodelist:
        try:
            return self.study_ct.codelist(name)
        except KeyError:
            raise DefineModelError(
                f"{dataset}.{variable}: codelist {name!r} is not in the study terminology {self.study_ct.path}"
            ) from None

    def codelist_model(self, codelist: StudyCodelist, data_type: str) -> CodeList:
        """CodeList of a study codelist (§5.3.12): decodes for --TESTCD/sponsor decodes, C-code aliases."""
        real_decodes = codelist.paired_with is not None or any(
            t.decode is not None and t.decode != t.preferred_term for t in codelist.terms
        )
        terms = tuple(
            CodeListTerm(
                value=t.value,
                decode=(t.decode or t.value) if real_decodes else None,
                code=t.code,
                # def:ExtendedValue only extends an extensible CDISC codelist (Define-XML 2.1 §5.3.12.1);
                # an IG-prescribed value of a non-extensible one (RACE "MULTIPLE") is listed as it is
                extended=t.sponsor and not codelist.sponsor and bool(codelist.extensible),
            )
            for t in codelist.terms
        )
        return CodeList(
            oid=oids.codelist_oid(codelist.id),
            name=codelist.name,
            data_type=data_type,
            terms=terms,
            code=codelist.code,
            standard_oid=self.ct_standards.get(codelist.package) if codelist.package else None,
            is_non_standard=codelist.sponsor,
            dictionary=codelist.dictionary,
            version=codelist.version,
        )

    def codelist_models(self) -> tuple[CodeList, ...]:
        """Every referenced codelist; its DataType is that of the items using it (text if any is text)."""
        types: dict[str, set[str]] = {}
        for item in self.item_defs.values():
            if item.codelist_oid:
                types.setdefault(item.codelist_oid, set()).add(item.data_type)
        models = []
        for codelist in sorted(self.codelists.values(), key=lambda c: c.id):
            used = types.get(oids.codelist_oid(codelist.id), {"text"})
            data_type = next(iter(used)) if len(used) == 1 and used <= {"integer", "float"} else "text"
            models.append(self.codelist_model(codelist, data_type))
        return tuple(models)


def _origin(origin_type: str, source: str | None = None, description: str | None = None) -> Origin:
    """def:Origin with its Source (Define-XML 2.1 §5.3.11.4 and CT ORIGINS): collected data come from
    the investigator, assigned/derived/protocol values from the sponsor unless the spec says otherwise."""
    default = {
        "Collected": "Investigator",
        "Assigned": "Sponsor",
        "Derived": "Sponsor",
        "Protocol": "Sponsor",
    }
    return Origin(origin_type, source or default.get(origin_type), description)


_PUBLISHING_SETS = {"sdtm": "SDTM", "adam": "ADaM", "define-xml": "DEFINE-XML"}


_CT_VERSION_KEYS = {"sdtm": "ct_sdtm", "adam": "ct_adam", "define-xml": "ct_define"}


def _ct_standard(study: Study, study_ct: StudyCT, package: str) -> Standard:
    """def:Standard of a CT package (Define-XML CT STDNAM "CDISC/NCI", publishing set, package date from
    study.yaml ``standards``, else the package date the study terminology was checked against)."""
    version = study.standards.get(_CT_VERSION_KEYS[package]) or study_ct.ct_versions[package]
    publishing = _PUBLISHING_SETS[package]
    return Standard(oids.standard_oid("CT", publishing, version), "CDISC/NCI", "CT", version, publishing)


def _standards(
    study: Study, study_ct: StudyCT, ig_name: str, ig_version: str, packages: Iterable[str]
) -> tuple[Standard, ...]:
    """def:Standards (§4.2.3): the IG, then the CT packages in :data:`ct.PACKAGES` order."""
    wanted = set(packages)
    ct_standards = [_ct_standard(study, study_ct, p) for p in ct.PACKAGES if p in wanted]
    return (Standard(oids.standard_oid(ig_name, ig_version), ig_name, "IG", ig_version), *ct_standards)


def _source_system_version() -> str:
    version = getattr(cdisc168, "__version__", None)
    return str(version) if version else metadata.version("cdisc168")


def _where_clause(collected: _Collected, oid: str, checks: Sequence[RangeCheck]) -> str:
    collected.where_clauses.setdefault(oid, WhereClauseDef(oid, tuple(checks)))
    return oid


def _value_item(
    collected: _Collected,
    *,
    oid: str,
    name: str,
    label: str,
    values: pd.Series,
    numeric: bool,
    candidates: Sequence[StudyCodelist],
    origin: Origin | None,
) -> ItemDef:
    """A value-level ItemDef for one subset: its own DataType, Length and (covering) codelist."""
    data_type, digits = numeric_type(values) if numeric else text_value_type(values)
    codelist = _covering_codelist(_texts(values), candidates) if data_type == "text" else None
    item = ItemDef(
        oid=oid,
        name=name,
        label=label,
        data_type=data_type,
        length=NUMERIC_LENGTH if numeric else byte_length(values),
        significant_digits=digits,
        codelist_oid=collected.codelist_oid(codelist),
        origin=origin,
    )
    collected.add_item(item)
    return item


def _value_list(
    collected: _Collected,
    dataset: str,
    variable: str,
    frame: pd.DataFrame,
    by: Sequence[str],
    *,
    numeric: bool,
    candidates: Sequence[StudyCodelist],
    origin: Origin | None,
    labels: dict[tuple[str, ...], str] | None = None,
    method_oid: str | None = None,
) -> str | None:
    """ValueListDef of ``variable`` by the values of ``by`` (one where clause per subset with data)."""
    refs = []
    present = frame.loc[has_value(frame[variable]), [*by, variable]]
    if present.empty:
        return None
    for key, subset in present.groupby(list(by), sort=True, dropna=False):
        values = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        checks = [
            RangeCheck(oids.item_oid(dataset, column), "EQ", (value,))
            for column, value in zip(by, values, strict=True)
        ]
        where = _where_clause(collected, oids.where_clause_oid(dataset, "_".join(by), *values), checks)
        label = (labels or {}).get(
            values
        ) or f"{variable} where {' and '.join(f'{b} = {v}' for b, v in zip(by, values, strict=True))}"
        item = _value_item(
            collected,
            oid=oids.value_item_oid(dataset, variable, *values),
            name=variable,
            label=label,
            values=subset[variable],
            numeric=numeric,
            candidates=candidates,
            origin=origin,
        )
        refs.append(
            ItemRef(item.oid, len(refs) + 1, mandatory=False, method_oid=method_oid, where_clause_oid=where)
        )
    oid = oids.value_list_oid(dataset, variable)
    collected.value_lists[oid] = ValueListDef(oid, tuple(refs))
    return oid


def _codelists_by_category(
    collected: _Collected,
    dataset: str,
    variable: str,
    frame: pd.DataFrame,
    category: str,
    candidates: Sequence[StudyCodelist],
    origin: Origin | None,
    method_oid: str | None,
) -> str | None:
    """Value-level metadata for a variable that takes different codelists by ``category`` (RS RSTESTCD by
    RSCAT, DS DSDECOD by DSCAT): one where clause per category and codelist (with ``IN`` the values of
    that codelist when a category mixes codelists)."""
    refs = []
    present = frame.loc[has_value(frame[variable]), [category, variable]]
    for cat, subset in present.groupby(category, sort=True):
        values = _texts(subset[variable])
        whole = _covering_codelist(values, candidates)
        parts: dict[str, list[str]] = {whole.id: values} if whole is not None else {}
        if whole is None:
            for value in values:
                owner = _covering_codelist([value], candidates)
                parts.setdefault(owner.id if owner else "", []).append(value)
        for codelist_id, part in sorted(parts.items()):
            codelist = collected.study_ct.codelists.get(codelist_id)
            checks = [RangeCheck(oids.item_oid(dataset, category), "EQ", (str(cat),))]
            suffix: tuple[str, ...] = (str(cat),)
            if len(parts) > 1:
                checks.append(RangeCheck(oids.item_oid(dataset, variable), "IN", tuple(sorted(part))))
                suffix = (str(cat), variable, codelist_id or "OTHER")
            where = _where_clause(collected, oids.where_clause_oid(dataset, category, *suffix), checks)
            item = ItemDef(
                oid=oids.value_item_oid(dataset, variable, *suffix),
                name=variable,
                label=f"{variable} where {category} = {cat}",
                data_type="text",
                length=byte_length(pd.Series(part)),
                codelist_oid=collected.codelist_oid(codelist),
                origin=origin,
            )
            collected.add_item(item)
            refs.append(
                ItemRef(
                    item.oid, len(refs) + 1, mandatory=False, method_oid=method_oid, where_clause_oid=where
                )
            )
    if not refs:
        return None
    oid = oids.value_list_oid(dataset, variable)
    collected.value_lists[oid] = ValueListDef(oid, tuple(refs))
    return oid


def _category_variable(dataset: str, columns: Iterable[str]) -> str | None:
    """The --CAT of a dataset (the grouping that decides which codelist a value belongs to)."""
    name = f"{dataset}CAT"
    return name if name in set(columns) else None


# --- SDTM ----------------------------------------------------------------------------------------------


def _rule_codelists(rule: Rule | None, study_ct: StudyCT) -> list[str]:
    """Codelists named by a mapping rule: ``ct`` codelists, the paired name list of a ``decode``, and
    those of every ``case`` branch."""
    if rule is None:
        return []
    if rule.kind == "ct":
        return [rule.params["codelist"]]
    if rule.kind == "decode":
        source = rule.params["codelist"]
        paired = study_ct.codelists[source].paired_with if source in study_ct else None
        return [paired] if paired else []
    if rule.kind == "case":
        return [name for _, branch in rule.params["branches"] for name in _rule_codelists(branch, study_ct)]
    return []


def _variable_rules(spec: DatasetSpec, variable: VariableSpec) -> list[Rule]:
    rules = [variable.rule] if variable.rule is not None else []
    return rules + [s.overrides[variable.name] for s in spec.sources if variable.name in s.overrides]


def _sdtm_data_type(dataset: str, variable: str, declared: str, values: pd.Series) -> tuple[str, int | None]:
    """DataType of an SDTM variable: ISO 8601 text by its SDTMIG value domain, numbers from the data."""
    if declared == "Num":
        return numeric_type(values)
    try:
        domain = ig.sdtmig_variable(ig.sdtmig_dataset_name(dataset), variable).described_value_domain
    except ig.IGLookupError:
        domain = ""
    if "duration" in domain:
        return "durationDatetime", None
    if "datetime" in domain or variable.endswith("DTC"):
        return iso_datetime_type(values), None
    return "text", None


def iso_datetime_type(values: pd.Series) -> str:
    """Define-XML 2.1 DataType of ISO 8601 date/time text by the precision the data hold: ``datetime`` when
    every value is a complete date and time, ``date`` when every value is a complete date, otherwise
    ``partialDatetime`` (some values with a time) or ``partialDate`` (SDTMIG 3.4 §4.4.2 keeps the collected
    precision). A variable without values is ``datetime``. Dataset-JSON takes its dataType from this, so a
    reader is never told "datetime" for "2024-11" or "2024-11-20".
    """
    distinct = pd.Series(values.dropna().astype(str).unique(), dtype=object)
    distinct = distinct[distinct != ""]
    if distinct.empty or distinct.str.fullmatch(ISO_PATTERNS["datetime"]).all():
        return "datetime"
    if distinct.str.fullmatch(ISO_PATTERNS["date"]).all():
        return "date"
    return "partialDatetime" if distinct.str.contains("T", regex=False).any() else "partialDate"


# Virtual sources of the mapping engine (cdisc168.spec.VIRTUAL_FORMS) as a define.xml reader knows them.
VIRTUAL_SOURCES = {
    "@rows": "the spec's literal rows",
    "@visits": "the planned visit schedule (study.yaml)",
    "@calendar": "the subject visit calendar (the VISIT and date of every mapped record)",
    "@nca": "the non-compartmental analysis of PC (cdisc168.nca)",
    "@relrec": "the record relationships declared by the spec's links",
}


def describe_condition(condition: Condition) -> str:
    """A ``when`` condition of a spec in words: ``DLT_INV is one of Y``, ``INFDT is missing``."""
    if condition.all_of or condition.any_of:
        joined = [describe_condition(c) for c in (*condition.all_of, *condition.any_of)]
        return (" and " if condition.all_of else " or ").join(joined)
    if condition.in_values is not None:
        return f"{condition.column} is one of {', '.join(condition.in_values)}"
    if condition.not_in_values is not None:
        return f"{condition.column} is none of {', '.join(condition.not_in_values)}"
    return f"{condition.column} is {'missing' if condition.empty else 'present'}"


def describe_rule(rule: Rule) -> str:
    """A mapping rule in words, for a MethodDef of a derived variable that has no ``method`` text."""
    p = rule.params
    if rule.kind == "constant":
        return "null" if p["value"] is None else f"'{p['value']}'"
    if rule.kind == "source":
        return " else ".join(p["columns"])
    if rule.kind == "dtc":
        return f"ISO 8601 date of {p['date']}" + (f" with the time {p['time']}" if p.get("time") else "")
    if rule.kind in ("ct", "decode"):
        return f"{p['from']} as a term of codelist {p['codelist']}"
    if rule.kind == "template":
        return f"the text '{p['text']}'"
    if rule.kind == "duration":
        return f"{p['days']} days as an ISO 8601 duration"
    if rule.kind == "derive":
        return SDTM_DERIVATIONS.get(p["name"], p["name"])
    branches = [
        f"{describe_rule(branch)} when {describe_condition(when)}"
        if when
        else f"otherwise {describe_rule(branch)}"
        for when, branch in p["branches"]
    ]
    return "; ".join(branches)


def describe_variable(spec: DatasetSpec, variable: VariableSpec) -> str:
    """How the engine fills a variable, per source where sources set it differently."""
    parts = []
    for source in spec.sources:
        rule = source.overrides.get(variable.name, variable.rule)
        if rule is not None:
            where = VIRTUAL_SOURCES.get(source.form, f"raw form {source.form}")
            parts.append(f"from {where}: {describe_rule(rule)}")
    if not parts and variable.rule is not None:
        parts.append(describe_rule(variable.rule))
    text = "; ".join(dict.fromkeys(parts))
    return f"{text[:1].upper()}{text[1:]}." if text else f"See {spec.path.name}, variable {variable.name}."


def _sdtm_method(collected: _Collected, spec: DatasetSpec, variable: VariableSpec) -> str | None:
    """MethodDef of a derived SDTM variable: the spec's own ``method`` text, else the engine derivation
    it uses (one MethodDef per derivation kind), else its mapping rules in words."""
    if variable.origin != "Derived":
        return None
    if variable.method:
        oid = oids.method_oid(spec.name, variable.name)
        return collected.method(oid, f"Algorithm for {spec.name}.{variable.name}", variable.method)
    kinds = [r.params["name"] if r.kind == "derive" else r.kind for r in _variable_rules(spec, variable)]
    for kind in kinds:
        if kind in SDTM_DERIVATIONS:
            text = SDTM_DERIVATIONS[kind]
            return collected.method(oids.method_oid(kind.upper()), f"Algorithm {kind.upper()}", text)
    return collected.method(
        oids.method_oid(spec.name, variable.name),
        f"Algorithm for {spec.name}.{variable.name}",
        variable.comment or describe_variable(spec, variable),
    )


def _topic_results(dataset: str, columns: Sequence[str]) -> tuple[str, tuple[str, ...]] | None:
    """(topic code, result variables) for a findings-like dataset (LB → LBTESTCD, LBORRES...; TS)."""
    for topic, results in RESULT_VARIABLES.items():
        name = topic.replace("--", dataset, 1)
        if name in columns:
            found = tuple(
                r.replace("--", dataset, 1) for r in results if r.replace("--", dataset, 1) in columns
            )
            return (name, found) if found else None
    return None


def _topic_labels(frame: pd.DataFrame, topic: str) -> dict[tuple[str, ...], str]:
    """Label of each test code: its --TEST (TSPARM) name from the data."""
    name_column = topic[:-2] if topic.endswith("CD") else topic
    if name_column not in frame.columns or frame.empty:
        return {}
    pairs = frame[[topic, name_column]].dropna().drop_duplicates(topic)
    return {(str(code),): str(name) for code, name in zip(pairs[topic], pairs[name_column], strict=True)}


def _sdtm_group(
    collected: _Collected,
    name: str,
    frame: pd.DataFrame,
    specs: dict[str, DatasetSpec],
    lengths: dict[str, int],
    standard_oid: str,
) -> ItemGroupDef:
    """ItemGroupDef of one SDTM dataset (or SUPP--) with its ItemDefs, value lists, methods, comments."""
    label, xpt_variables = dataset_metadata(name, specs, list(frame.columns))
    is_supp = name.startswith(SUPP_PREFIX) and name not in specs
    parent = name[len(SUPP_PREFIX) :] if is_supp else name
    spec = specs.get(parent)
    if spec is None:
        raise DefineModelError(f"{name}: no SDTM spec for the dataset (mappings/sdtm/{parent}.yaml)")
    ig_dataset = ig.sdtmig_dataset(ig.sdtmig_dataset_name(name))
    columns = [v.name for v in xpt_variables]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DefineModelError(f"{name}: variables of the spec missing from the data: {missing}")
    keys = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM") if is_supp else spec.keys
    refs = []
    for order, xpt_variable in enumerate(xpt_variables, start=1):
        var_name = xpt_variable.name
        values = frame[var_name]
        variable = None if is_supp else _spec_variable(spec, var_name)
        ig_variable = _ig_variable(name, var_name)
        core = variable.core if variable else (ig_variable.core if ig_variable else "Perm")
        role = variable.role if variable else (ig_variable.role if ig_variable else None)
        data_type, digits = _sdtm_data_type(name, var_name, xpt_variable.type, values)
        length = NUMERIC_LENGTH if xpt_variable.type == "Num" else lengths.get(var_name, 1)
        origin, method_oid, comment_oid = _sdtm_origin_method(
            collected, spec, name, var_name, variable, is_supp
        )
        explicit, overrides = _spec_codelists(spec, variable, collected.study_ct) if variable else ([], [])
        codelist_oid, value_list_oid = _sdtm_value_domain(
            collected,
            spec,
            name,
            frame,
            var_name,
            candidates=collected.candidates(name, var_name, [*explicit, *overrides]),
            declared=collected.candidates(name, var_name, explicit),
            numeric=xpt_variable.type == "Num",
            topic=None if is_supp else _topic_results(name, columns),
            origin=origin,
            method_oid=method_oid,
        )
        item = ItemDef(
            oid=oids.item_oid(name, var_name),
            name=var_name,
            label=xpt_variable.label,
            data_type=data_type,
            length=length,
            significant_digits=digits,
            codelist_oid=codelist_oid,
            origin=origin,
            value_list_oid=value_list_oid,
            comment_oid=comment_oid,
        )
        collected.add_item(item)
        key_sequence = keys.index(var_name) + 1 if var_name in keys else None
        refs.append(
            ItemRef(
                item.oid,
                order,
                mandatory=_mandatory(core, key_sequence, values),
                key_sequence=key_sequence,
                role=role or None,
                method_oid=method_oid,
            )
        )
    has_no_data = frame.empty
    return ItemGroupDef(
        oid=oids.item_group_oid(name),
        name=name,
        label=label,
        domain=parent,
        repeating=name not in SUBJECT_LEVEL and name not in TRIAL_DESIGN,
        is_reference_data=name in TRIAL_DESIGN,
        purpose="Tabulation",
        structure=ig_dataset.structure if is_supp else spec.structure,
        class_name=checked_class(name, SDTM_DEFINE_CLASS[ig_dataset.observation_class])[0],
        subclass=None,
        standard_oid=standard_oid,
        item_refs=tuple(refs),
        has_no_data=has_no_data,
        comment_oid=_no_data_comment(collected, name) if has_no_data else None,
    )


def _spec_codelists(
    spec: DatasetSpec, variable: VariableSpec, study_ct: StudyCT
) -> tuple[list[str | None], list[str]]:
    """Codelists a spec names for a variable: (declared: ``codelist:`` and its own rule; those of source
    overrides, which hold for some records only, e.g. the milestone terms of DS DSTERM)."""
    overrides = [s.overrides[variable.name] for s in spec.sources if variable.name in s.overrides]
    declared = [variable.codelist, *_rule_codelists(variable.rule, study_ct)]
    return declared, [c for rule in overrides for c in _rule_codelists(rule, study_ct)]


def _sdtm_value_domain(
    collected: _Collected,
    spec: DatasetSpec,
    dataset: str,
    frame: pd.DataFrame,
    variable: str,
    *,
    candidates: Sequence[StudyCodelist],
    declared: Sequence[StudyCodelist],
    numeric: bool,
    topic: tuple[str, tuple[str, ...]] | None,
    origin: Origin,
    method_oid: str | None,
) -> tuple[str | None, str | None]:
    """(CodeListOID, ValueListOID) of an SDTM variable: QVAL by QNAM, results by test code, a variable
    whose values span several codelists by its --CAT, else the codelist covering its values, else the
    codelist declared for it (spec or terminology ``used_by``; the data checks report the values outside
    it). ``candidates`` are every codelist the variable may take, ``declared`` those that hold for all
    of its records."""
    columns = list(frame.columns)
    if dataset != spec.name and variable == "QVAL":
        return None, _supp_value_list(collected, dataset, frame, spec)
    if topic and variable in topic[1]:
        value_list = _value_list(
            collected,
            dataset,
            variable,
            frame,
            [topic[0]],
            numeric=numeric,
            candidates=candidates,
            origin=origin,
            labels=_topic_labels(frame, topic[0]),
            method_oid=method_oid,
        )
        return None, value_list
    if numeric or not candidates:
        return None, None
    whole = _covering_codelist(_texts(frame[variable]), candidates)
    category = _category_variable(dataset, columns)
    if whole is None and category and len(candidates) > 1:
        return None, _codelists_by_category(
            collected, dataset, variable, frame, category, candidates, origin, method_oid
        )
    return collected.codelist_oid(whole or (declared[0] if declared else None)), None


def _mandatory(core: str | None, key_sequence: int | None, values: pd.Series) -> bool:
    """ItemRef Mandatory (§5.3.4.1): Yes for a required variable, and for a key variable that is never
    missing in the data; a key allowed to be null (e.g. a time point) stays No."""
    return core == "Req" or (key_sequence is not None and bool(has_value(values).all()))


def _spec_variable(spec: DatasetSpec, name: str) -> VariableSpec | None:
    """The spec variable, or for a continuation column (TSVAL1) its parent's spec."""
    try:
        return spec.variable(name)
    except KeyError:
        stem = name.rstrip("0123456789")
        return spec.variable(stem) if stem != name and stem in spec.variable_names else None


def _ig_variable(dataset: str, name: str) -> ig.IGVariable | None:
    try:
        return ig.sdtmig_variable(ig.sdtmig_dataset_name(dataset), name)
    except ig.IGLookupError:
        return None


def _sdtm_origin_method(
    collected: _Collected,
    spec: DatasetSpec,
    dataset: str,
    name: str,
    variable: VariableSpec | None,
    is_supp: bool,
) -> tuple[Origin, str | None, str | None]:
    """(origin, MethodOID, CommentOID) of an SDTM variable; SUPP-- structure variables are assigned."""
    if variable is None:
        return _origin("Assigned" if is_supp else "Derived"), None, None
    derive = (
        variable.rule.params["name"] if variable.rule is not None and variable.rule.kind == "derive" else None
    )
    origin_type = "Assigned" if derive in _ASSIGNED_DERIVATIONS else variable.origin
    # Collected and assigned values name where they come from (the raw form and column), so a reviewer
    # can trace them without an annotated CRF (Define-XML 2.1 §5.3.11.4, def:Origin Description).
    traced = describe_variable(spec, variable) if origin_type in ("Collected", "Assigned") else None
    origin = _origin(origin_type, variable.origin_source, traced)
    method_oid = _sdtm_method(collected, spec, variable) if origin_type == "Derived" else None
    comment_oid = collected.comment(oids.comment_oid(dataset, name), variable.comment)
    return origin, method_oid, comment_oid


def _supp_value_list(collected: _Collected, name: str, frame: pd.DataFrame, spec: DatasetSpec) -> str | None:
    """QVAL by QNAM (SDTMIG 3.4 §8.4.1): label QLABEL, origin and codelist from the SUPP entry."""
    supp = {s.qnam: s for s in spec.supp}
    refs = []
    present = frame[has_value(frame["QVAL"])]
    for qnam, subset in present.groupby("QNAM", sort=True):
        entry = supp.get(str(qnam)) or supp.get(str(qnam).rstrip("0123456789"))
        if entry is None:
            parent = str(qnam).rstrip("0123456789")
            label = str(subset["QLABEL"].iloc[0])
            origin = _origin("Collected") if parent in spec.variable_names else _origin("Derived")
            named: list[str] = []
        else:
            label, origin = entry.qlabel, _origin(entry.origin)
            named = _rule_codelists(entry.rule, collected.study_ct)
        method_oid = (
            collected.method(
                oids.method_oid(name, qnam),
                f"Algorithm for {name}.QVAL ({qnam})",
                f"{label}: {describe_rule(entry.rule)}." if entry else f"{label}: see {spec.path.name}.",
            )
            if origin.type == "Derived"
            else None
        )
        where = _where_clause(
            collected,
            oids.where_clause_oid(name, "QNAM", qnam),
            [RangeCheck(oids.item_oid(name, "QNAM"), "EQ", (str(qnam),))],
        )
        item = _value_item(
            collected,
            oid=oids.value_item_oid(name, "QVAL", qnam),
            name="QVAL",
            label=label,
            values=subset["QVAL"],
            numeric=False,
            candidates=collected.candidates(name, "QVAL", named),
            origin=origin,
        )
        refs.append(
            ItemRef(item.oid, len(refs) + 1, mandatory=False, method_oid=method_oid, where_clause_oid=where)
        )
    if not refs:
        return None
    oid = oids.value_list_oid(name, "QVAL")
    collected.value_lists[oid] = ValueListDef(oid, tuple(refs))
    return oid


def _no_data_comment(collected: _Collected, name: str) -> str:
    oid = oids.comment_oid(name, "NODATA")
    text = (
        f"No records for {name} at the data cut; the dataset is described here but no file is submitted "
        "(FDA Study Data Technical Conformance Guide: no empty datasets)."
    )
    collected.comment(oid, text)
    return oid


def sdtm_dataset_order(names: Iterable[str], specs: dict[str, DatasetSpec]) -> list[str]:
    """SDTM datasets in define.xml order: observation class (:data:`SDTM_CLASS_ORDER`), then name, each
    SUPP-- right after its parent (a SUPP-- without its parent among ``names`` goes with the parent's class)."""

    def key(name: str) -> tuple[int, str, int]:
        parent = name[len(SUPP_PREFIX) :] if name.startswith(SUPP_PREFIX) and name not in specs else name
        observation_class = ig.sdtmig_dataset(ig.sdtmig_dataset_name(parent)).observation_class
        return (SDTM_CLASS_ORDER.index(observation_class), parent, 0 if parent == name else 1)

    return sorted(names, key=key)


def _used_packages(collected: _Collected) -> list[str]:
    used = {c.package for c in collected.codelists.values() if c.package}
    return [p for p in ct.PACKAGES if p in used]


def _finish(
    collected: _Collected,
    study: Study,
    model: str,
    standards: tuple[Standard, ...],
    groups: list[ItemGroupDef],
    documents: Sequence[SupplementalDocument],
) -> DefineModel:
    """The DefineModel of ``model`` (:data:`oids.SDTM` or :data:`oids.ADAM`): ODM header (the data cut as
    CreationDateTime and AsOfDateTime, so rebuilds are byte-identical) and the collected definitions."""
    what = "SDTM tabulation" if model == oids.SDTM else "ADaM analysis"
    guide = standards[0].name + " " + standards[0].version
    timestamp = dt.datetime.combine(study.data_cut, dt.time()).isoformat()
    return DefineModel(
        file_oid=oids.define_file_oid(study.studyid, model),
        creation_datetime=timestamp,
        originator=study.sponsor,
        source_system="cdisc168",
        source_system_version=_source_system_version(),
        study_oid=oids.study_oid(study.studyid),
        study_name=study.studyid,
        study_description=study.title,
        protocol_name=study.studyid,
        mdv_oid=oids.metadata_version_oid(study.studyid, model),
        mdv_name=f"{study.studyid} {model} define.xml",
        mdv_description=f"{what} datasets of study {study.studyid} ({guide}), data cut {study.data_cut}",
        standards=standards,
        documents=tuple(documents),
        value_lists=tuple(collected.value_lists.values()),
        where_clauses=tuple(collected.where_clauses.values()),
        item_groups=tuple(groups),
        item_defs=tuple(collected.item_defs.values()),
        codelists=collected.codelist_models(),
        methods=tuple(collected.methods.values()),
        comments=tuple(collected.comments.values()),
    )


def _ct_standard_oids(study: Study, study_ct: StudyCT) -> dict[str, str]:
    return {package: _ct_standard(study, study_ct, package).oid for package in ct.PACKAGES}


def sdtm_define_model(
    datasets: dict[str, pd.DataFrame],
    specs: dict[str, DatasetSpec],
    lengths: dict[str, dict[str, int]],
    study: Study,
    study_ct: StudyCT,
    documents: Sequence[SupplementalDocument] = (),
) -> DefineModel:
    """The SDTM define.xml model of ``datasets`` (as written to XPT; ``lengths`` as ``write_xpt`` returned
    them; a dataset with no rows is described with def:HasNoData)."""
    ig_version = study.standards["sdtmig"]
    ig_oid = oids.standard_oid("SDTMIG", ig_version)
    collected = _Collected(study_ct, _ct_standard_oids(study, study_ct))
    groups = [
        _sdtm_group(collected, name, datasets[name], specs, lengths.get(name, {}), ig_oid)
        for name in sdtm_dataset_order(datasets, specs)
    ]
    standards = _standards(study, study_ct, "SDTMIG", ig_version, ["sdtm", *_used_packages(collected)])
    return _finish(collected, study, oids.SDTM, standards, groups, documents)


# --- ADaM ----------------------------------------------------------------------------------------------


def _adam_class(spec: AdamSpec) -> tuple[str, str | None]:
    """(def:Class, def:SubClass) of an ADaM dataset (ADaMIG 1.3 structures; Define-XML CT GNRLOBSC,
    BDSSC, OCCSC): TTE → BASIC DATA STRUCTURE / TIME-TO-EVENT, OCCDS of adverse events → OCCURRENCE DATA
    STRUCTURE / ADVERSE EVENT."""
    if spec.structure == "OCCDS":
        subclass = (
            "ADVERSE EVENT" if "AETERM" in spec.variable_names or "AEDECOD" in spec.variable_names else None
        )
        pair = ("OCCURRENCE DATA STRUCTURE", subclass)
    else:
        structure = ig.adamig_structure(spec.structure)
        pair = (structure.adam_class, structure.subclass or None)
    return checked_class(spec.name, *pair)


def checked_class(dataset: str, class_name: str, subclass: str | None = None) -> tuple[str, str | None]:
    """(def:Class, def:SubClass) after checking both are submission values of the shipped Define-XML CT
    (GNRLOBSC; BDSSC, OCCSC for subclasses)."""
    classes = {t.submission_value for t in ct.define_xml_terms("GNRLOBSC")}
    subclasses = {t.submission_value for key in ("BDSSC", "OCCSC") for t in ct.define_xml_terms(key)}
    if class_name not in classes or (subclass is not None and subclass not in subclasses):
        raise DefineModelError(f"{dataset}: class {class_name!r} / {subclass!r} is not in the Define-XML CT")
    return class_name, subclass


def _adam_core(structure: str, name: str) -> str | None:
    """ADaMIG 1.3 core of a standard variable of the structure (None for sponsor variables)."""
    try:
        return ig.adamig_variable("BDS" if structure == "TTE" else structure, name).core
    except (ig.IGLookupError, ValueError):
        return None


def _adam_item(
    collected: _Collected,
    spec: AdamSpec,
    variable: AdamVariable,
    frame: pd.DataFrame,
    lengths: dict[str, int],
) -> tuple[ItemDef, str | None]:
    """ItemDef of an ADaM variable and its MethodOID (every Derived variable has its spec method)."""
    name, values = variable.name, frame[variable.name]
    if variable.type == "Num":
        data_type, digits = (
            ("integer", None) if variable.display_format in DATE_FORMATS else numeric_type(values)
        )
        length = NUMERIC_LENGTH
    else:
        data_type, digits, length = "text", None, lengths.get(name, 1)
    if variable.origin == "Predecessor":
        origin = Origin("Predecessor", None, variable.source)
    else:
        origin = _origin(variable.origin)
    method_oid = None
    if variable.origin == "Derived":
        text = variable.method or variable.comment or f"Derived in {spec.name} (see {spec.path.name})."
        method_oid = collected.method(
            oids.method_oid(spec.name, name), f"Algorithm for {spec.name}.{name}", text
        )
    candidates = collected.candidates(spec.name, name, [variable.codelist])
    codelist_oid = value_list_oid = None
    if "PARAMCD" in frame.columns and name in ADAM_RESULT_VARIABLES:
        labels = {}
        if "PARAM" in frame.columns:
            pairs = frame[["PARAMCD", "PARAM"]].dropna().drop_duplicates("PARAMCD")
            labels = {(str(c),): str(p) for c, p in zip(pairs["PARAMCD"], pairs["PARAM"], strict=True)}
        value_list_oid = _value_list(
            collected,
            spec.name,
            name,
            frame,
            ["PARAMCD"],
            numeric=variable.type == "Num",
            candidates=candidates,
            origin=origin,
            labels=labels,
            method_oid=method_oid,
        )
    elif candidates:
        codelist_oid = collected.codelist_oid(_covering_codelist(_texts(values), candidates) or candidates[0])
    item = ItemDef(
        oid=oids.item_oid(spec.name, name),
        name=name,
        label=variable.label,
        data_type=data_type,
        length=length,
        significant_digits=digits,
        display_format=variable.display_format,
        codelist_oid=codelist_oid,
        origin=origin,
        value_list_oid=value_list_oid,
        comment_oid=collected.comment(oids.comment_oid(spec.name, name), variable.comment),
    )
    collected.add_item(item)
    return item, method_oid


def _adam_group(
    collected: _Collected, spec: AdamSpec, frame: pd.DataFrame, lengths: dict[str, int], standard_oid: str
) -> ItemGroupDef:
    missing = [v for v in spec.variable_names if v not in frame.columns]
    if missing:
        raise DefineModelError(f"{spec.name}: variables of the spec missing from the data: {missing}")
    refs = []
    for order, variable in enumerate(spec.variables, start=1):
        item, method_oid = _adam_item(collected, spec, variable, frame, lengths)
        key_sequence = spec.keys.index(variable.name) + 1 if variable.name in spec.keys else None
        refs.append(
            ItemRef(
                item.oid,
                order,
                mandatory=_mandatory(
                    _adam_core(spec.structure, variable.name), key_sequence, frame[variable.name]
                ),
                key_sequence=key_sequence,
                method_oid=method_oid,
            )
        )
    class_name, subclass = _adam_class(spec)
    has_no_data = frame.empty
    comment_oid = (
        _no_data_comment(collected, spec.name)
        if has_no_data
        else collected.comment(oids.comment_oid(spec.name), spec.description)
    )
    return ItemGroupDef(
        oid=oids.item_group_oid(spec.name),
        name=spec.name,
        label=spec.label,
        domain=None,
        repeating=spec.name not in SUBJECT_LEVEL,
        is_reference_data=False,
        purpose="Analysis",
        structure=_adam_structure_text(spec),
        class_name=class_name,
        subclass=subclass,
        standard_oid=standard_oid,
        item_refs=tuple(refs),
        has_no_data=has_no_data,
        comment_oid=comment_oid,
    )


def _adam_structure_text(spec: AdamSpec) -> str:
    """def:Structure: the record granularity (one record per ... ), from the ADaM keys."""
    if spec.structure == "ADSL":
        return "One record per subject"
    by = [k for k in spec.keys if k not in ("STUDYID", "USUBJID")]
    return "One record per subject" + "".join(f" per {k}" for k in by)


def adam_dataset_order(names: Iterable[str]) -> list[str]:
    """ADaM datasets in define.xml order: ADSL first, then by name."""
    return sorted(names, key=lambda n: (n != "ADSL", n))


def adam_define_model(
    datasets: dict[str, pd.DataFrame],
    specs: dict[str, AdamSpec],
    lengths: dict[str, dict[str, int]],
    study: Study,
    study_ct: StudyCT,
    documents: Sequence[SupplementalDocument] = (),
) -> DefineModel:
    """The ADaM define.xml model of ``datasets`` (the frames of build_adam; ``lengths`` from write_xpt)."""
    ig_version = study.standards["adamig"]
    ig_oid = oids.standard_oid("ADaMIG", ig_version)
    collected = _Collected(study_ct, _ct_standard_oids(study, study_ct))
    groups = []
    for name in adam_dataset_order(datasets):
        if name not in specs:
            raise DefineModelError(f"{name}: no ADaM spec for the dataset (mappings/adam/{name}.yaml)")
        groups.append(_adam_group(collected, specs[name], datasets[name], lengths.get(name, {}), ig_oid))
    standards = _standards(
        study, study_ct, "ADaMIG", ig_version, ["sdtm", "adam", *_used_packages(collected)]
    )
    return _finish(collected, study, oids.ADAM, standards, groups, documents)
