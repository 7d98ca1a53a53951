"""define.xml against the data it describes: the comparisons behind the ``DEF-*`` rules.

Define-XML 2.1 describes each dataset (``ItemGroupDef``), its variables in order (``ItemRef`` →
``ItemDef``: Name, DataType, Length, Description), the codelists of their values (``CodeList``) and
value-level metadata (``def:ValueListDef`` / ``def:WhereClauseDef``).
The data must agree with it: the same datasets and variables, the same order, labels and lengths,
compatible data types, and every value of a variable with a codelist in that codelist.

:func:`read_define` turns a parsed define.xml into a small :class:`DefineModel`; each comparison below
takes the model and one dataset's metadata (and frame) and returns failures in the shape of the rule
engine (``cdisc168.check.registry``: ``row``, ``variable``, ``value``, ``message``, ``dataset``).
:func:`compare_define_with_data` runs the ``define`` rules of the catalog that compare define.xml with
data, so ``cdisc168 build`` and ``cdisc168 validate`` report a mismatch the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
from lxml import etree

from cdisc168.check.registry import no_failures
from cdisc168.check.submission import ADAM, SDTM, DatasetMetadata, Submission
from cdisc168.findings import Finding

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
_NS = {"odm": ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
DEFINE_RULES_FILE = "define.yaml"

# Define-XML 2.1, ItemDef DataType (DataType): which data types a SAS transport character or numeric variable can hold.
CHAR_DATA_TYPES = frozenset(
    {
        "text",
        "date",
        "datetime",
        "time",
        "partialDate",
        "partialTime",
        "partialDatetime",
        "incompleteDatetime",
        "durationDatetime",
        "intervalDatetime",
        "URI",
    }
)
NUM_DATA_TYPES = frozenset({"integer", "float"})
_DATA_TYPES = {"Char": CHAR_DATA_TYPES, "Num": NUM_DATA_TYPES}
# The comparators a value-level condition may use to select records here (Define-XML 2.1, RangeCheck Comparator).
_SELECTING = frozenset({"EQ", "IN"})


@dataclass(frozen=True)
class DefineItem:
    """One ``ItemDef``: a variable (or a value-level item) as define.xml describes it."""

    oid: str
    name: str
    data_type: str
    length: int | None
    label: str
    codelist: str | None
    value_list: str | None


@dataclass(frozen=True)
class DefineDataset:
    """One ``ItemGroupDef``: a dataset, its label, its variables (ItemOIDs in order) and its file."""

    oid: str
    name: str
    label: str
    items: tuple[str, ...]
    has_no_data: bool
    leaf_href: str | None


@dataclass(frozen=True)
class Condition:
    """One ``RangeCheck`` of a ``def:WhereClauseDef``: variable ItemOID, comparator, check values."""

    item: str
    comparator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ValueLevelItem:
    """One ``ItemRef`` of a ``def:ValueListDef``: the item and its where clauses (any of them applies;
    all conditions of one clause must hold)."""

    item: str
    where: tuple[tuple[Condition, ...], ...]


@dataclass(frozen=True)
class DefineModel:
    """What the comparisons need from one define.xml.

    ``codelists`` maps a CodeList OID to its coded values, or to None for an ``ExternalCodeList``
    (a dictionary such as MedDRA, not checked here). ``folder`` is where the define.xml file lies
    (None when it was built in memory).
    """

    datasets: Mapping[str, DefineDataset]
    items: Mapping[str, DefineItem]
    codelists: Mapping[str, frozenset[str] | None]
    value_lists: Mapping[str, tuple[ValueLevelItem, ...]]
    folder: Path | None

    def variables(self, dataset: str) -> list[DefineItem]:
        """The ItemDefs of a dataset's ItemRefs, in define.xml order (unknown ItemOIDs left out)."""
        group = self.datasets.get(dataset)
        if group is None:
            return []
        return [self.items[oid] for oid in group.items if oid in self.items]


def _text(element: etree._Element | None) -> str:
    """The (first) TranslatedText of a Description-like element."""
    if element is None:
        return ""
    found = element.find("odm:TranslatedText", _NS)
    return (found.text or "").strip() if found is not None else ""


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _order(ref: etree._Element, position: int) -> tuple[int, int]:
    """ItemRef order: OrderNumber when given (Define-XML 2.1, ItemRef), else document order."""
    number = _int(ref.get("OrderNumber"))
    return (number if number is not None else position, position)


def _datasets(root: etree._Element) -> dict[str, DefineDataset]:
    out = {}
    for group in root.iterfind(".//odm:ItemGroupDef", _NS):
        refs = list(group.iterfind("odm:ItemRef", _NS))
        ordered = sorted(range(len(refs)), key=lambda i: _order(refs[i], i))
        leaf = group.find("def:leaf", _NS)
        name = (group.get("Name") or "").upper()
        out[name] = DefineDataset(
            oid=group.get("OID", ""),
            name=name,
            label=_text(group.find("odm:Description", _NS)),
            items=tuple(refs[i].get("ItemOID", "") for i in ordered),
            has_no_data=group.get(f"{{{DEF_NS}}}HasNoData") == "Yes",
            leaf_href=leaf.get(f"{{{XLINK_NS}}}href") if leaf is not None else None,
        )
    return out


def _items(root: etree._Element) -> dict[str, DefineItem]:
    out = {}
    for item in root.iterfind(".//odm:ItemDef", _NS):
        codelist = item.find("odm:CodeListRef", _NS)
        value_list = item.find("def:ValueListRef", _NS)
        oid = item.get("OID", "")
        out[oid] = DefineItem(
            oid=oid,
            name=item.get("Name", ""),
            data_type=item.get("DataType", ""),
            length=_int(item.get("Length")),
            label=_text(item.find("odm:Description", _NS)),
            codelist=codelist.get("CodeListOID") if codelist is not None else None,
            value_list=value_list.get("ValueListOID") if value_list is not None else None,
        )
    return out


def _codelists(root: etree._Element) -> dict[str, frozenset[str] | None]:
    out: dict[str, frozenset[str] | None] = {}
    for codelist in root.iterfind(".//odm:CodeList", _NS):
        if codelist.find("odm:ExternalCodeList", _NS) is not None:
            out[codelist.get("OID", "")] = None
            continue
        values = [
            term.get("CodedValue", "")
            for term in codelist
            if term.tag in (f"{{{ODM_NS}}}CodeListItem", f"{{{ODM_NS}}}EnumeratedItem")
        ]
        out[codelist.get("OID", "")] = frozenset(values)
    return out


def _where_clauses(root: etree._Element) -> dict[str, tuple[Condition, ...]]:
    return {
        clause.get("OID", ""): tuple(
            Condition(
                item=check.get(f"{{{DEF_NS}}}ItemOID", ""),
                comparator=check.get("Comparator", ""),
                values=tuple((v.text or "") for v in check.iterfind("odm:CheckValue", _NS)),
            )
            for check in clause.iterfind("odm:RangeCheck", _NS)
        )
        for clause in root.iterfind(".//def:WhereClauseDef", _NS)
    }


def _value_lists(root: etree._Element) -> dict[str, tuple[ValueLevelItem, ...]]:
    clauses = _where_clauses(root)
    return {
        value_list.get("OID", ""): tuple(
            ValueLevelItem(
                item=ref.get("ItemOID", ""),
                where=tuple(
                    clauses.get(w.get("WhereClauseOID", ""), ())
                    for w in ref.iterfind("def:WhereClauseRef", _NS)
                ),
            )
            for ref in value_list.iterfind("odm:ItemRef", _NS)
        )
        for value_list in root.iterfind(".//def:ValueListDef", _NS)
    }


def _folder(define: etree._ElementTree) -> Path | None:
    """The folder of the define.xml file, when the tree was parsed from a file."""
    url = define.docinfo.URL
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(unquote(parsed.path) if parsed.scheme == "file" else url)
    return path.parent if path.is_file() else None


@lru_cache(maxsize=8)
def read_define(define: etree._ElementTree) -> DefineModel:
    """The :class:`DefineModel` of a parsed define.xml (cached per tree: the rules read it many times)."""
    root = define.getroot()
    return DefineModel(
        datasets=_datasets(root),
        items=_items(root),
        codelists=_codelists(root),
        value_lists=_value_lists(root),
        folder=_folder(define),
    )


def define_standard(define: etree._ElementTree) -> str:
    """The standard a define.xml describes: "ADaM" when its datasets are analysis datasets (ItemGroupDef
    Purpose "Analysis", Define-XML 2.1), else "SDTM"."""
    purposes = {g.get("Purpose") for g in define.getroot().iterfind(".//odm:ItemGroupDef", _NS)}
    return ADAM if "Analysis" in purposes else SDTM


# ---------------------------------------------------------------------------------------------------
# The comparisons. Each takes (model, dataset name, metadata of the data, frames or None) and returns
# failures; a dataset name of "" asks for the document-level comparison.
# ---------------------------------------------------------------------------------------------------

Comparison = Callable[
    [DefineModel, str, Mapping[str, DatasetMetadata], Mapping[str, pd.DataFrame]], pd.DataFrame
]


def _file(name: str, metadata: Mapping[str, DatasetMetadata]) -> str:
    """How a message names the data side: the file read (``ae.xpt``), else "the data"."""
    meta = metadata.get(name)
    return meta.path.name if meta is not None and meta.path is not None else "the data"


def _failures(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows)) if rows else no_failures()


def dataset_not_in_define(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """A dataset of the data has no ItemGroupDef of that Name (Define-XML 2.1, ItemGroupDef)."""
    if name in model.datasets:
        return no_failures()
    return _failures(
        [
            {
                "row": None,
                "value": name,
                "message": f"{name}: {_file(name, metadata)} is not described in define.xml",
            }
        ]
    )


def define_dataset_without_data(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """An ItemGroupDef names a dataset the data lack, and does not say def:HasNoData="Yes"
    (Define-XML 2.1, ItemGroupDef: a described dataset without records carries def:HasNoData)."""
    missing = sorted(n for n, g in model.datasets.items() if n not in metadata and not g.has_no_data)
    return _failures(
        [
            {"row": None, "dataset": n, "value": n, "message": f"{n}: described in define.xml but no dataset"}
            for n in missing
        ]
    )


def variable_not_in_define(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """A variable of the data has no ItemRef in its dataset's ItemGroupDef (Define-XML 2.1, ItemRef)."""
    if name not in model.datasets or name not in metadata:
        return no_failures()
    described = {item.name for item in model.variables(name)}
    return _failures(
        [
            {
                "row": None,
                "variable": v,
                "value": v,
                "message": f"{name}.{v}: in {_file(name, metadata)} but not in define.xml",
            }
            for v in metadata[name].variables
            if v not in described
        ]
    )


def define_variable_without_data(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """An ItemRef of the dataset names a variable the data lack (Define-XML 2.1, ItemRef)."""
    if name not in model.datasets or name not in metadata:
        return no_failures()
    present = metadata[name].variables
    return _failures(
        [
            {
                "row": None,
                "variable": item.name,
                "value": item.name,
                "message": f"{name}.{item.name}: in define.xml but not in {_file(name, metadata)}",
            }
            for item in model.variables(name)
            if item.name not in present
        ]
    )


def variable_order_differs(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """The variables both sides know are not in the same order (Define-XML 2.1, ItemRef, ItemRef
    OrderNumber: the order of the variables in the dataset). One failure, at the first difference."""
    if name not in model.datasets or name not in metadata:
        return no_failures()
    data_order = list(metadata[name].variables)
    common = set(data_order)
    define_order = [item.name for item in model.variables(name) if item.name in common]
    data_order = [v for v in data_order if v in set(define_order)]
    for position, (defined, found) in enumerate(zip(define_order, data_order, strict=True), start=1):
        if defined != found:
            message = (
                f"{name}: variable order differs at position {position}: define.xml {defined}, "
                f"{_file(name, metadata)} {found}"
            )
            return _failures([{"row": None, "variable": found, "value": found, "message": message}])
    return no_failures()


def _attribute_failures(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    differs: Callable[[DefineItem, Mapping[str, object]], str | None],
) -> pd.DataFrame:
    """One failure per variable whose define.xml attribute ``differs`` from the data's (the callable
    returns the message, or None when they agree)."""
    if name not in model.datasets or name not in metadata:
        return no_failures()
    variables = metadata[name].variables
    rows = []
    for item in model.variables(name):
        if item.name in variables:
            message = differs(item, variables[item.name])
            if message:
                rows.append({"row": None, "variable": item.name, "value": "", "message": message})
    return _failures(rows)


def length_differs(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """ItemDef Length differs from the length of the character variable in the file (Define-XML 2.1
    ItemDef: Length is the variable length of a text item)."""
    where = _file(name, metadata)

    def differs(item: DefineItem, data: Mapping[str, object]) -> str | None:
        length = data.get("length")
        if data.get("type") != "Char" or item.length is None or length is None or item.length == length:
            return None
        return f"{name}.{item.name}: define.xml Length {item.length}, {where} length {length}"

    return _attribute_failures(model, name, metadata, differs)


def label_differs(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """ItemDef Description differs from the variable label in the file (Define-XML 2.1, ItemDef)."""
    where = _file(name, metadata)

    def differs(item: DefineItem, data: Mapping[str, object]) -> str | None:
        label = str(data.get("label") or "")
        if item.label == label:
            return None
        return f"{name}.{item.name}: define.xml label {item.label!r}, {where} label {label!r}"

    return _attribute_failures(model, name, metadata, differs)


def data_type_incompatible(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """ItemDef DataType cannot describe the variable's transport type: text and ISO 8601 types are
    character, integer and float numeric (Define-XML 2.1, ItemDef DataType)."""
    where = _file(name, metadata)

    def differs(item: DefineItem, data: Mapping[str, object]) -> str | None:
        kind = str(data.get("type") or "")
        if kind not in _DATA_TYPES or item.data_type in _DATA_TYPES[kind]:
            return None
        return f"{name}.{item.name}: define.xml DataType {item.data_type!r}, {where} type {kind}"

    return _attribute_failures(model, name, metadata, differs)


def dataset_label_differs(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """ItemGroupDef Description differs from the dataset label in the file (Define-XML 2.1, ItemGroupDef)."""
    group = model.datasets.get(name)
    if group is None or name not in metadata or group.label == metadata[name].label:
        return no_failures()
    message = f"{name}: define.xml dataset label {group.label!r}, {_file(name, metadata)} label {metadata[name].label!r}"
    return _failures([{"row": None, "message": message}])


def _comparable(values: pd.Series, allowed: frozenset[str]) -> tuple[pd.Series, list[object]]:
    """The data values and the allowed values in one comparable form: numbers as floats for a numeric
    column (define.xml holds "1" for 1.0), text as text."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = pd.to_numeric(pd.Series(sorted(allowed), dtype=object), errors="coerce").dropna()
        return values, numbers.tolist()
    return values, sorted(allowed)


def _outside(values: pd.Series, allowed: frozenset[str], rows: np.ndarray | None = None) -> pd.DataFrame:
    """Distinct values outside ``allowed`` with their count and first row (1-based), vectorised (isin);
    ``rows`` limits the search to those 0-based positions."""
    if rows is not None:
        values = values.iloc[rows]
    data, wanted = _comparable(values, allowed)
    bad = data.notna().to_numpy(dtype=bool) & ~data.isin(wanted).to_numpy(dtype=bool)
    positions = np.flatnonzero(bad) if rows is None else rows[bad]
    if not len(positions):
        return pd.DataFrame(columns=["value", "row", "count"])
    hits = pd.DataFrame({"value": data.to_numpy(dtype=object)[bad], "row": positions + 1})
    return (
        hits.groupby("value", sort=True)
        .agg(row=("row", "min"), count=("row", "size"))
        .reset_index()
        .sort_values("row", kind="mergesort")
    )


def _display(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _codelist_failures(
    name: str, variable: str, codelist: str, bad: pd.DataFrame, where: str = ""
) -> list[dict[str, object]]:
    return [
        {
            "row": int(r.row),
            "variable": variable,
            "value": _display(r.value),
            "message": (
                f"{name}.{variable}{where}: {_display(r.value)!r} is not in codelist {codelist} "
                f"({int(r.count)} record{'s' if r.count != 1 else ''}, first at row {int(r.row)})"
            ),
        }
        for r in bad.itertuples(index=False)
    ]


def value_not_in_codelist(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """A value of a variable whose ItemDef has a CodeListRef is not a CodedValue of that codelist
    (Define-XML 2.1, CodeList; an ExternalCodeList such as MedDRA is not checked). One failure per distinct
    value, at its first row, with its count."""
    frame = datasets.get(name)
    if frame is None or name not in model.datasets:
        return no_failures()
    rows: list[dict[str, object]] = []
    for item in model.variables(name):
        allowed = model.codelists.get(item.codelist) if item.codelist else None
        if allowed is None or item.name not in frame.columns:
            continue
        rows += _codelist_failures(name, item.name, item.codelist or "", _outside(frame[item.name], allowed))
    return _failures(rows)


def _variable_oids(model: DefineModel, name: str) -> dict[str, str]:
    """ItemOID → variable name for the variables of one dataset."""
    return {item.oid: item.name for item in model.variables(name)}


class _ValueIndex:
    """The variables of one dataset factorized once, so that each where clause selects its records by
    comparing small integer codes instead of the values themselves."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._codes: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def matching(self, column: str, values: Sequence[str]) -> np.ndarray:
        """True where ``column`` holds one of ``values`` (numbers compared as numbers)."""
        if column not in self._codes:
            codes, uniques = pd.factorize(self.frame[column])
            self._codes[column] = (codes, pd.Index(uniques))
        codes, uniques = self._codes[column]
        _, wanted = _comparable(self.frame[column].iloc[:0], frozenset(values))
        found = uniques.get_indexer(pd.Index(wanted, dtype=object))
        return np.isin(codes, found[found >= 0])

    def selected(self, clause: Sequence[Condition], names: Mapping[str, str]) -> np.ndarray | None:
        """Records a where clause selects (all its EQ/IN conditions hold), or None when the clause uses
        another comparator or a variable the data lack (then it cannot be applied here)."""
        mask = np.ones(len(self.frame), dtype=bool)
        for condition in clause:
            column = names.get(condition.item)
            if condition.comparator not in _SELECTING or column is None or column not in self.frame.columns:
                return None
            mask &= self.matching(column, condition.values)
        return mask


def value_level_not_in_codelist(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """For value-level metadata (Define-XML 2.1, def:ValueListDef) whose where clauses use EQ/IN
    conditions (def:WhereClauseDef), a value of the records a clause selects is not in the codelist of
    the value-level ItemDef."""
    frame = datasets.get(name)
    if frame is None or name not in model.datasets:
        return no_failures()
    names = _variable_oids(model, name)
    index = _ValueIndex(frame)
    rows: list[dict[str, object]] = []
    for parent in model.variables(name):
        if parent.value_list is None or parent.name not in frame.columns:
            continue
        for level in model.value_lists.get(parent.value_list, ()):
            item = model.items.get(level.item)
            allowed = model.codelists.get(item.codelist) if item is not None and item.codelist else None
            if allowed is None:
                continue
            for clause in level.where:
                subset = index.selected(clause, names)
                if subset is None or not subset.any():
                    continue
                where = " where " + " and ".join(
                    f"{names[c.item]} {c.comparator} {', '.join(c.values)}" for c in clause
                )
                bad = _outside(frame[parent.name], allowed, np.flatnonzero(subset))
                rows += _codelist_failures(name, parent.name, item.codelist or "", bad, where)
    return _failures(rows)


def leaf_file_missing(
    model: DefineModel,
    name: str,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """The def:leaf xlink:href of a dataset (Define-XML 2.1, def:leaf) names no file of the define.xml's
    folder. Judged only when define.xml was read from a file."""
    if model.folder is None:
        return no_failures()
    rows = []
    for group in sorted(model.datasets.values(), key=lambda g: g.name):
        if group.has_no_data and group.name not in metadata:
            continue
        href = group.leaf_href
        if not href:
            message = f"{group.name}: define.xml gives the dataset no def:leaf file"
        elif not (model.folder / unquote(href)).is_file():
            message = f"{group.name}: def:leaf xlink:href {href!r} is not a file in {model.folder}"
        else:
            continue
        rows.append({"row": None, "dataset": group.name, "value": href or "", "message": message})
    return _failures(rows)


# check name in the catalog → comparison; the document-level ones take the dataset name "".
COMPARISONS: dict[str, Comparison] = {
    "define_dataset_in_define": dataset_not_in_define,
    "define_dataset_has_data": define_dataset_without_data,
    "define_variable_in_define": variable_not_in_define,
    "define_variable_has_data": define_variable_without_data,
    "define_variable_order": variable_order_differs,
    "define_length": length_differs,
    "define_label": label_differs,
    "define_dataset_label": dataset_label_differs,
    "define_data_type": data_type_incompatible,
    "define_codelist_values": value_not_in_codelist,
    "define_value_level_codelist": value_level_not_in_codelist,
    "define_leaf_file": leaf_file_missing,
}


def compare_define_with_data(
    define: etree._ElementTree,
    metadata: Mapping[str, DatasetMetadata],
    datasets: Mapping[str, pd.DataFrame] | None = None,
) -> list[Finding]:
    """Every disagreement between a define.xml and the datasets it describes, as findings of the
    catalog's define rules that compare the two (``DEF-*`` in ``rules/define.yaml``).

    ``metadata`` describes the data (names, labels, types, lengths, files); ``datasets`` holds their
    records, needed only for the codelist comparisons (left out without them). The build stops (exit 2)
    when any of these findings is an error.
    """
    from cdisc168.check import define_rules  # noqa: F401  (registers the checks the rules name)
    from cdisc168.check.catalog import RULES_DIR, load_rules_file
    from cdisc168.check.run import run_rules

    frames = {n.upper(): f for n, f in (datasets or {}).items()}
    for name, meta in metadata.items():
        frames.setdefault(name.upper(), pd.DataFrame(columns=list(meta.variables)))
    rules = [r for r in load_rules_file(RULES_DIR / DEFINE_RULES_FILE) if r.check in COMPARISONS]
    submission = Submission.from_frames(
        frames, {n.upper(): m for n, m in metadata.items()}, define={define_standard(define): define}
    )
    if datasets is None:
        rules = [r for r in rules if r.check not in ("define_codelist_values", "define_value_level_codelist")]
    return list(run_rules(submission, rules, max_findings_per_rule=10**9).findings)
