"""CDISC Controlled Terminology shipped with the package, with cached lookups.

Three packages ship in full (``scripts/build_standards.py``; provenance in ``data/SOURCES.json``):

* ``"sdtm"`` - SDTM CT, package 2025-03-28 (NCI EVS ``SDTM Terminology.txt``: 1,158 codelists);
* ``"adam"`` - ADaM CT, package 2025-03-28 (DATEFL, DTYPE, PARAMTYP, SBJTSTAT, ...);
* ``"define-xml"`` - Define-XML CT, package 2026-03-27 (StandardName, ADaM subclasses, ...).

The frames keep the NCI EVS table layout with snake_case column names: ``code``, ``codelist_code``
(empty on a codelist's own row), ``extensible`` ("Yes"/"No" on codelist rows, empty on terms),
``codelist_name``, ``submission_value`` (for a codelist row: its short name, e.g. "SEX"), ``synonyms``
("; "-separated), ``definition``, ``preferred_term`` (NCI preferred term), ``package_date``. Empty cells
are ``""``. CDISC submission values are case-sensitive and so are all lookups here.

A term's C-code is not unique across codelists (C17998 "U"/"UNKNOWN" sits in many), so terms are always
looked up within a codelist. Extensible codelists (``Codelist.extensible``) may take sponsor terms; those
have no C-code (CDISC CT guidance: sponsor extensions never receive an NCI code).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from cdisc168.standards.files import ADAM_CT_FILE, DEFINE_XML_CT_FILE, SDTM_CT_FILE, read_table

Package = Literal["sdtm", "adam", "define-xml"]
PACKAGES: tuple[Package, ...] = get_args(Package)

C_CODE_RE = re.compile(r"^C\d{2,7}$")
"""An NCI Thesaurus concept code as used for CDISC codelists and terms (C66731, C16576, ...)."""

_FILES: dict[str, Path] = {"sdtm": SDTM_CT_FILE, "adam": ADAM_CT_FILE, "define-xml": DEFINE_XML_CT_FILE}
_COLUMNS = {
    "Code": "code",
    "Codelist Code": "codelist_code",
    "Codelist Extensible": "extensible",
    "Codelist Name": "codelist_name",
    "CDISC Submission Value": "submission_value",
    "CDISC Synonym(s)": "synonyms",
    "CDISC Definition": "definition",
    "NCI Preferred Term": "preferred_term",
    "package_date": "package_date",
}


class CTLookupError(KeyError):
    """A codelist or term is not in the controlled terminology (or a synonym is ambiguous)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Term:
    """One CT term: its C-code, the codelist it belongs to, and its CDISC submission value."""

    code: str
    codelist_code: str
    submission_value: str
    synonyms: tuple[str, ...]
    definition: str
    preferred_term: str


@dataclass(frozen=True, eq=False)
class Codelist:
    """One CT codelist with its terms (``short_name`` is the codelist's CDISC submission value)."""

    code: str
    short_name: str
    name: str
    extensible: bool
    synonyms: tuple[str, ...]
    definition: str
    preferred_term: str
    package: Package
    package_date: str
    terms: tuple[Term, ...] = field(repr=False)
    _by_value: dict[str, Term] = field(repr=False, default_factory=dict)
    _by_synonym: dict[str, tuple[Term, ...]] = field(repr=False, default_factory=dict)
    _by_code: dict[str, Term] = field(repr=False, default_factory=dict)

    @property
    def values(self) -> tuple[str, ...]:
        """The submission values of the terms, in CT order (sorted by value)."""
        return tuple(t.submission_value for t in self.terms)

    def find_term(self, value: str, *, synonyms: bool = True) -> Term | None:
        """The term whose submission value is ``value``, else (if ``synonyms``) whose synonym is.

        An exact submission value always wins over a synonym (in LBTESTCD, "ESR" is a term and also a
        synonym of ESTRCPT). A synonym shared by several terms raises :class:`CTLookupError`.
        """
        found = self._by_value.get(value)
        if found is not None or not synonyms:
            return found
        candidates = self._by_synonym.get(value, ())
        if len(candidates) > 1:
            codes = ", ".join(t.code for t in candidates)
            raise CTLookupError(f"{self.short_name} ({self.code}): synonym {value!r} is ambiguous ({codes})")
        return candidates[0] if candidates else None

    def term(self, value: str, *, synonyms: bool = True) -> Term:
        """Like :meth:`find_term`, but an unknown value raises :class:`CTLookupError`."""
        found = self.find_term(value, synonyms=synonyms)
        if found is None:
            raise CTLookupError(f"{self.short_name} ({self.code}): no term {value!r}")
        return found

    def term_by_code(self, code: str) -> Term:
        """The term with C-code ``code`` in this codelist."""
        try:
            return self._by_code[code]
        except KeyError:
            raise CTLookupError(f"{self.short_name} ({self.code}): no term with code {code}") from None

    def has_term_code(self, code: str) -> bool:
        return code in self._by_code


@dataclass(frozen=True)
class _Index:
    """Row positions per codelist; Codelist objects are built on first use (see :func:`_codelist`)."""

    columns: tuple[list[str], ...]
    heads: dict[str, int]
    members: dict[str, list[int]]
    short_names: dict[str, str]
    codes: frozenset[str]
    term_codelists: dict[str, tuple[str, ...]]


def as_package(name: object) -> Package | None:
    """``name`` as a CT package name ("sdtm", "adam", "define-xml"), or None if it is not one."""
    for package in PACKAGES:
        if name == package:
            return package
    return None


def _check_package(package: str) -> Package:
    checked = as_package(package)
    if checked is None:
        raise ValueError(f"package must be one of {PACKAGES}, got {package!r}")
    return checked


def _split(synonyms: str) -> tuple[str, ...]:
    if not synonyms:
        return ()
    return tuple(s for s in (part.strip() for part in synonyms.split(";")) if s)


@cache
def _frame(package: Package) -> pd.DataFrame:
    return read_table(_FILES[package]).rename(columns=_COLUMNS)


def ct_table(package: Package = "sdtm") -> pd.DataFrame:
    """The full CT package as a DataFrame, one row per codelist and one per term (cached)."""
    return _frame(_check_package(package)).copy(deep=False)


def sdtm_ct() -> pd.DataFrame:
    """The full CDISC SDTM CT, package 2025-03-28 (NCI EVS), one row per codelist and per term."""
    return ct_table("sdtm")


def adam_ct() -> pd.DataFrame:
    """The CDISC ADaM CT, package 2025-03-28, one row per codelist and per term."""
    return ct_table("adam")


def define_xml_ct() -> pd.DataFrame:
    """The CDISC Define-XML CT, package 2026-03-27, one row per codelist and per term."""
    return ct_table("define-xml")


@cache
def _index(package: Package) -> _Index:
    frame = _frame(package)
    columns = tuple(frame[c].tolist() for c in _COLUMNS.values())
    codes, cl_codes, values = columns[0], columns[1], columns[4]
    heads: dict[str, int] = {}
    members: dict[str, list[int]] = {}
    term_codelists: dict[str, list[str]] = {}
    for row, (code, cl_code) in enumerate(zip(codes, cl_codes, strict=True)):
        if cl_code:
            members.setdefault(cl_code, []).append(row)
            term_codelists.setdefault(code, []).append(cl_code)
        else:
            heads[code] = row
    orphans = sorted(set(members) - set(heads))
    if orphans:
        raise CTLookupError(f"{package} CT: terms refer to codelists without a codelist row: {orphans[:5]}")
    return _Index(
        columns=columns,
        heads=heads,
        members=members,
        short_names={values[row]: code for code, row in heads.items()},
        codes=frozenset(codes),
        term_codelists={k: tuple(v) for k, v in term_codelists.items()},
    )


@cache
def _codelist(package: Package, code: str) -> Codelist:
    index = _index(package)
    code_col, _, ext_col, name_col, value_col, syn_col, def_col, pref_col, date_col = index.columns
    head = index.heads[code]
    terms = tuple(
        Term(code_col[r], code, value_col[r], _split(syn_col[r]), def_col[r], pref_col[r])
        for r in index.members.get(code, ())
    )
    by_synonym: dict[str, list[Term]] = {}
    for t in terms:
        for synonym in t.synonyms:
            if synonym != t.submission_value:
                by_synonym.setdefault(synonym, []).append(t)
    return Codelist(
        code=code,
        short_name=value_col[head],
        name=name_col[head],
        extensible=ext_col[head] == "Yes",
        synonyms=_split(syn_col[head]),
        definition=def_col[head],
        preferred_term=pref_col[head],
        package=package,
        package_date=date_col[head],
        terms=terms,
        _by_value={t.submission_value: t for t in terms},
        _by_synonym={k: tuple(v) for k, v in by_synonym.items()},
        _by_code={t.code: t for t in terms},
    )


def find_codelist(key: str, package: Package = "sdtm") -> Codelist | None:
    """The codelist with C-code or short name ``key`` ("C66731" or "SEX"), or None."""
    index = _index(_check_package(package))
    code = key if C_CODE_RE.match(key) else index.short_names.get(key, "")
    return _codelist(package, code) if code in index.heads else None


def codelist(key: str, package: Package = "sdtm") -> Codelist:
    """The codelist with C-code or short name ``key``; :class:`CTLookupError` if it is not in ``package``."""
    found = find_codelist(key, package)
    if found is None:
        raise CTLookupError(f"{package} CT: no codelist {key!r}")
    return found


def codelists(package: Package = "sdtm") -> tuple[Codelist, ...]:
    """Every codelist of a CT package."""
    return tuple(_codelist(package, code) for code in _index(_check_package(package)).heads)


def codelist_terms(key: str, package: Package = "sdtm") -> tuple[Term, ...]:
    """The terms of codelist ``key`` (C-code or short name)."""
    return codelist(key, package).terms


def term(codelist_key: str, value: str, package: Package = "sdtm", *, synonyms: bool = True) -> Term:
    """The term of a codelist by submission value, else by CDISC synonym (``synonyms=True``).

    ``term("UNIT", "pg/mL")`` is ng/L (C67327): pg/mL is one of its synonyms (STUDY.md corrections).
    """
    return codelist(codelist_key, package).term(value, synonyms=synonyms)


def term_code(codelist_key: str, value: str, package: Package = "sdtm", *, synonyms: bool = True) -> str:
    """The C-code of a term given its codelist and submission value (or synonym)."""
    return term(codelist_key, value, package, synonyms=synonyms).code


def is_extensible(codelist_key: str, package: Package = "sdtm") -> bool:
    """Whether a codelist is extensible (Codelist Extensible = "Yes"), i.e. may take sponsor terms."""
    return codelist(codelist_key, package).extensible


def code_exists(code: str, packages: Iterable[Package] = PACKAGES) -> bool:
    """Whether ``code`` is the C-code of a codelist or of a term in any of ``packages``."""
    return any(code in _index(_check_package(p)).codes for p in packages)


def codelists_with_term(code: str, package: Package = "sdtm") -> tuple[str, ...]:
    """The C-codes of the codelists that contain a term with C-code ``code`` (empty if none)."""
    return _index(_check_package(package)).term_codelists.get(code, ())


def define_xml_terms(codelist_key: str) -> tuple[Term, ...]:
    """The terms of a Define-XML CT codelist, e.g. ``define_xml_terms("BDSSC")`` (ADaM BDS subclasses)."""
    return codelist_terms(codelist_key, "define-xml")
