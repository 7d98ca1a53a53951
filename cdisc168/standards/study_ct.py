"""The study's controlled terminology: ``mappings/terminology.yaml`` checked against the shipped CT.

The file lists every codelist the study uses with the terms it uses (see its header for the layout).
:func:`load_study_ct` validates it against the CDISC CT packages (:mod:`cdisc168.standards.ct`) and
returns the view define.xml and the specs need: per codelist its C-code, name, extensible flag and terms
(submission value, C-code or None for a sponsor term, decode).

Rules enforced (CDISC CT conventions; Define-XML 2.1 §4.3.2 CodeList, def:ExtendedValue):

* a CDISC term's C-code must belong to its codelist and its value must be the CT submission value;
* a sponsor term never carries a C-code, is not already a term (or synonym) of its codelist, and may only
  extend an extensible codelist unless an ``exception`` says why the IG prescribes it;
* sponsor-defined codelists have no C-code; every term of a ``paired_with`` codelist has its partner.

:func:`check_ct_references` scans every YAML file under a mappings folder for C-codes and codelist
references and returns the problems (used by the test suite so that later specs are covered as well).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from cdisc168.standards import ct
from cdisc168.study import DEFAULT_MAPPINGS, StudyConfigError, load_study

DEFAULT_TERMINOLOGY_FILE = DEFAULT_MAPPINGS / "terminology.yaml"
C_CODE_SEARCH_RE = re.compile(r"\bC\d{2,7}\b")
_YAML_TRUE = frozenset({"true", "yes", "on"})
_YAML_NULL_TAG = "tag:yaml.org,2002:null"

_CODELIST_KEYS = frozenset(
    {"code", "package", "sponsor", "name", "external", "paired_with", "used_by", "note", "terms"}
)
_TERM_KEYS = frozenset({"value", "code", "sponsor", "decode", "exception", "collected_as", "note"})
_EXTERNAL_KEYS = frozenset({"dictionary", "version", "version_key"})


class StudyCTError(ValueError):
    """terminology.yaml is malformed or disagrees with the CDISC CT; the message names file and key."""


@dataclass(frozen=True)
class StudyTerm:
    """One term of a study codelist.

    ``code`` is None for sponsor and external-dictionary terms. ``decode`` is the define.xml decode: the
    file's ``decode``, else the paired --TEST value, else the NCI preferred term (None for sponsor terms
    without a decode).
    """

    value: str
    code: str | None
    decode: str | None
    preferred_term: str | None
    sponsor: bool
    exception: str | None = None
    collected_as: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class StudyCodelist:
    """One codelist as the study uses it.

    ``code``/``package``/``extensible`` describe the CDISC codelist (None for sponsor-defined and external
    codelists); ``short_name`` is the CT short name (or the study id); ``dictionary``/``version`` describe
    an external dictionary.
    """

    id: str
    code: str | None
    short_name: str
    name: str
    package: ct.Package | None
    extensible: bool | None
    sponsor: bool
    terms: tuple[StudyTerm, ...]
    dictionary: str | None = None
    version: str | None = None
    paired_with: str | None = None
    used_by: tuple[str, ...] = ()
    note: str | None = None

    @property
    def external(self) -> bool:
        return self.dictionary is not None

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(t.value for t in self.terms)

    @property
    def has_sponsor_terms(self) -> bool:
        return any(t.sponsor for t in self.terms)

    def term(self, value: str) -> StudyTerm:
        for t in self.terms:
            if t.value == value:
                return t
        raise KeyError(f"study codelist {self.id}: no term {value!r}")


@dataclass(frozen=True)
class StudyCT:
    """The study terminology: codelists by id (the names specs use), plus the CT package dates."""

    path: Path
    ct_versions: dict[str, str]
    codelists: dict[str, StudyCodelist] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.codelists

    def __iter__(self) -> Iterator[StudyCodelist]:
        return iter(self.codelists.values())

    def codelist(self, key: str) -> StudyCodelist:
        """A study codelist by id (``SEX``) or by the C-code of its CDISC codelist (``C66731``)."""
        if key in self.codelists:
            return self.codelists[key]
        for c in self.codelists.values():
            if c.code == key:
                return c
        raise KeyError(f"{self.path}: no study codelist {key!r}")


def _fail(file: Path, where: str, problem: str) -> StudyCTError:
    return StudyCTError(f"{file}: {where}: {problem}")


def _text(file: Path, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(file, where, f"expected non-empty text, got {value!r}")
    return value


def _optional_text(file: Path, where: str, value: Any) -> str | None:
    return None if value is None else _text(file, where, value)


def _flag(file: Path, where: str, value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _fail(file, where, f"expected true or false, got {value!r}")
    return value


def _check_keys(file: Path, where: str, data: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(file, where, f"expected a mapping, got {data!r}")
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise _fail(file, where, f"unknown keys {unknown}; allowed: {sorted(allowed)}")
    return data


def _external_version(file: Path, where: str, external: dict[str, Any]) -> str | None:
    version = _optional_text(file, f"{where}.version", external.get("version"))
    key = external.get("version_key")
    if key is None:
        return version
    study_file = file.parent / "study.yaml"
    try:
        standards = load_study(study_file).standards
    except StudyConfigError as exc:
        raise _fail(
            file, f"{where}.version_key", f"cannot read the version from {study_file}: {exc}"
        ) from exc
    if key not in standards:
        raise _fail(file, f"{where}.version_key", f"{key!r} is not a key of study.yaml standards")
    return standards[key]


def _term(
    file: Path, where: str, raw: Any, codelist: ct.Codelist | None, sponsor_list: bool, external: bool
) -> StudyTerm:
    data = _check_keys(file, where, raw, _TERM_KEYS)
    value = _text(file, f"{where}.value", data.get("value"))
    code = data.get("code")
    sponsor = _flag(file, f"{where}.sponsor", data.get("sponsor")) or sponsor_list
    decode = _optional_text(file, f"{where}.decode", data.get("decode"))
    exception = _optional_text(file, f"{where}.exception", data.get("exception"))
    note = _optional_text(file, f"{where}.note", data.get("note"))
    collected = data.get("collected_as") or []
    if not isinstance(collected, list) or not all(isinstance(c, str) and c for c in collected):
        raise _fail(file, f"{where}.collected_as", f"expected a list of texts, got {collected!r}")
    if sponsor and code is not None:
        raise _fail(file, where, f"sponsor term {value!r} must not carry a C-code ({code})")
    preferred: str | None = None
    if codelist is None:
        if code is not None:
            raise _fail(file, where, f"{value!r}: a term of a sponsor or external codelist has no C-code")
        if not (sponsor or external):
            raise _fail(file, where, f"{value!r}: expected sponsor: true")
    elif sponsor:
        existing = codelist.find_term(value)
        if existing is not None:
            raise _fail(
                file,
                where,
                f"{value!r} is already {codelist.short_name} term {existing.submission_value!r} "
                f"({existing.code}); use it instead of a sponsor term",
            )
        if not codelist.extensible and exception is None:
            raise _fail(
                file,
                where,
                f"{codelist.short_name} ({codelist.code}) is not extensible: sponsor term {value!r} "
                "needs an `exception` naming the IG rule that prescribes it",
            )
    else:
        if not isinstance(code, str) or not ct.C_CODE_RE.match(code):
            raise _fail(file, f"{where}.code", f"{value!r}: expected the term's C-code or sponsor: true")
        if not codelist.has_term_code(code):
            raise _fail(
                file, f"{where}.code", f"{code} is not a term of {codelist.short_name} ({codelist.code})"
            )
        term = codelist.term_by_code(code)
        if term.submission_value != value:
            raise _fail(
                file,
                where,
                f"{code} is {term.submission_value!r} in {codelist.short_name} ({codelist.code}), not {value!r}",
            )
        preferred = term.preferred_term
    return StudyTerm(
        value=value,
        code=code if not sponsor else None,
        decode=decode,
        preferred_term=preferred,
        sponsor=sponsor and not external,
        exception=exception,
        collected_as=tuple(collected),
        note=note,
    )


def _codelist(file: Path, key: str, raw: Any) -> StudyCodelist:
    where = f"codelists.{key}"
    data = _check_keys(file, where, raw, _CODELIST_KEYS)
    sponsor = _flag(file, f"{where}.sponsor", data.get("sponsor"))
    code = data.get("code")
    package_name = ct.as_package(data.get("package", "sdtm"))
    if package_name is None:
        raise _fail(file, f"{where}.package", f"must be one of {ct.PACKAGES}, got {data.get('package')!r}")
    external_raw = data.get("external")
    external = external_raw is not None
    dictionary = version = None
    if external:
        ext = _check_keys(file, f"{where}.external", external_raw, _EXTERNAL_KEYS)
        dictionary = _text(file, f"{where}.external.dictionary", ext.get("dictionary"))
        version = _external_version(file, f"{where}.external", ext)
    cdisc: ct.Codelist | None = None
    if sponsor or external:
        if code is not None:
            raise _fail(file, f"{where}.code", "a sponsor-defined or external codelist has no C-code")
        if external:
            name = _optional_text(file, f"{where}.name", data.get("name")) or dictionary or key
        else:
            name = _text(file, f"{where}.name", data.get("name"))
    else:
        if not isinstance(code, str) or not ct.C_CODE_RE.match(code):
            raise _fail(
                file, f"{where}.code", f"expected the codelist C-code (or sponsor: true), got {code!r}"
            )
        cdisc = ct.find_codelist(code, package_name)
        if cdisc is None:
            raise _fail(file, f"{where}.code", f"{code} is not a codelist of the {package_name} CT")
        other = ct.find_codelist(key, package_name)
        if other is not None and other.code != code:
            raise _fail(file, where, f"id {key!r} is the CT short name of {other.code}, not of {code}")
        if data.get("name") is not None:
            raise _fail(file, f"{where}.name", "a CDISC codelist takes its name from the CT")
        name = cdisc.name
    raw_terms = data.get("terms")
    if raw_terms is None and external:
        raw_terms = []
    if not isinstance(raw_terms, list) or (not raw_terms and not external):
        raise _fail(file, f"{where}.terms", "expected a non-empty list of terms")
    terms = tuple(
        _term(file, f"{where}.terms[{i}]", t, cdisc, sponsor, external) for i, t in enumerate(raw_terms)
    )
    seen: set[str] = set()
    for t in terms:
        if t.value in seen:
            raise _fail(file, f"{where}.terms", f"duplicate value {t.value!r}")
        seen.add(t.value)
    used_by = data.get("used_by") or []
    if not isinstance(used_by, list) or not all(isinstance(u, str) for u in used_by):
        raise _fail(file, f"{where}.used_by", f"expected a list of DATASET.VARIABLE texts, got {used_by!r}")
    return StudyCodelist(
        id=key,
        code=code if cdisc is not None else None,
        short_name=cdisc.short_name if cdisc is not None else key,
        name=name,
        package=package_name if cdisc is not None else None,
        extensible=cdisc.extensible if cdisc is not None else None,
        sponsor=sponsor,
        terms=terms,
        dictionary=dictionary,
        version=version,
        paired_with=_optional_text(file, f"{where}.paired_with", data.get("paired_with")),
        used_by=tuple(used_by),
        note=_optional_text(file, f"{where}.note", data.get("note")),
    )


def _resolve_pairs(file: Path, codelists: dict[str, StudyCodelist]) -> dict[str, StudyCodelist]:
    """Check each ``paired_with`` and take the decodes of --TESTCD terms from their --TEST partner."""
    resolved = dict(codelists)
    for key, cl in codelists.items():
        if cl.paired_with is None:
            continue
        where = f"codelists.{key}.paired_with"
        partner = codelists.get(cl.paired_with)
        if partner is None:
            raise _fail(file, where, f"{cl.paired_with!r} is not a codelist of this file")
        if len(partner.terms) != len(cl.terms):
            raise _fail(
                file, where, f"{key} has {len(cl.terms)} terms, {cl.paired_with} has {len(partner.terms)}"
            )
        terms = []
        for mine, theirs in zip(cl.terms, partner.terms, strict=True):
            if mine.code != theirs.code:
                raise _fail(
                    file,
                    where,
                    f"{key} {mine.value!r} ({mine.code}) and {cl.paired_with} {theirs.value!r} "
                    f"({theirs.code}) are not the same concept; keep both lists in the same order",
                )
            decode = mine.decode if mine.decode is not None else theirs.value
            if mine.sponsor and mine.decode is not None and mine.decode != theirs.value:
                raise _fail(file, where, f"{key} {mine.value!r}: decode {mine.decode!r} != {theirs.value!r}")
            terms.append(replace(mine, decode=decode))
        resolved[key] = replace(cl, terms=tuple(terms))
    return resolved


def _with_default_decodes(cl: StudyCodelist) -> StudyCodelist:
    terms = tuple(
        t if t.decode is not None or t.preferred_term is None else replace(t, decode=t.preferred_term)
        for t in cl.terms
    )
    return replace(cl, terms=terms)


def load_study_ct(path: Path | str | None = None) -> StudyCT:
    """Load and validate the study terminology (default: the repository's ``mappings/terminology.yaml``)."""
    file = Path(path) if path is not None else DEFAULT_TERMINOLOGY_FILE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StudyCTError(f"{file}: study terminology not found") from exc
    except yaml.YAMLError as exc:
        raise StudyCTError(f"{file}: not valid YAML: {exc}") from exc
    top = _check_keys(file, "top level", data, frozenset({"ct_versions", "codelists"}))
    versions = _check_keys(file, "ct_versions", top.get("ct_versions"), frozenset(ct.PACKAGES))
    for package in ct.PACKAGES:
        shipped = ct.codelists(package)[0].package_date
        if str(versions.get(package)) != shipped:
            raise _fail(
                file, f"ct_versions.{package}", f"{versions.get(package)!r} but the shipped CT is {shipped}"
            )
    raw = top.get("codelists")
    if not isinstance(raw, dict) or not raw:
        raise _fail(file, "codelists", "expected a non-empty mapping of codelist id to codelist")
    codelists = {str(k): _codelist(file, str(k), v) for k, v in raw.items()}
    codelists = _resolve_pairs(file, codelists)
    codelists = {k: _with_default_decodes(v) for k, v in codelists.items()}
    return StudyCT(path=file, ct_versions={k: str(v) for k, v in versions.items()}, codelists=codelists)


# --- scanning every mapping file for C-codes and codelist references ---------------------------------


@dataclass(frozen=True)
class _Context:
    """The codelist a ``terms`` list or ``map`` belongs to, once resolved."""

    label: str
    cdisc: ct.Codelist | None
    study: StudyCodelist | None


def _scalar_text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _resolve_reference(name: str, study_ct: StudyCT | None, package: ct.Package | None) -> _Context | None:
    if study_ct is not None:
        try:
            study = study_ct.codelist(name)
        except KeyError:
            study = None
        if study is not None:
            cdisc = ct.find_codelist(study.code, study.package) if study.code and study.package else None
            return _Context(name, cdisc, study)
    for p in (package,) if package is not None else ct.PACKAGES:
        found = ct.find_codelist(name, p)
        if found is not None:
            return _Context(name, found, None)
    return None


def check_ct_references(mappings_dir: Path | str | None = None, study_ct: StudyCT | None = None) -> list[str]:
    """Every problem with the C-codes and codelist references in the YAML files under ``mappings_dir``.

    Checked in every file (recursively), on the parsed content (comments are not data):

    1. every C-code (``\\bC\\d{2,7}\\b``) in a key or value exists in the shipped CT, as a codelist or a term;
    2. every ``codelist: X`` names a study codelist (terminology.yaml) or a CT codelist (short name or C-code);
    3. in a mapping with ``terms`` and a codelist identity (``code: C...`` or ``codelist: X``), each term's
       ``code`` belongs to that codelist;
    4. a mapping with ``sponsor: true`` carries no C-code in ``code``;
    5. in a mapping with ``codelist: X`` and a ``map``, each mapped value is a term of X (the study codelist
       when X is one, else the CT codelist).

    Returns ``"file:line: message"`` texts (empty when all is well).
    """
    root = Path(mappings_dir) if mappings_dir is not None else DEFAULT_MAPPINGS
    if study_ct is None:
        terminology = root / "terminology.yaml"
        study_ct = load_study_ct(terminology) if terminology.is_file() else None
    problems: list[str] = []
    for file in sorted(root.rglob("*.y*ml")):
        try:
            document = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            problems.append(f"{file}: not valid YAML: {exc}")
            continue
        if document is not None:
            _scan(document, file, study_ct, problems, depth=0)
    return problems


def _scan(node: yaml.Node, file: Path, study_ct: StudyCT | None, problems: list[str], depth: int) -> None:
    if depth > 200:
        return
    where = f"{file}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.ScalarNode):
        for code in C_CODE_SEARCH_RE.findall(node.value):
            if not ct.code_exists(code):
                problems.append(f"{where}: {code} is neither a codelist nor a term in the shipped CT")
        return
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _scan(item, file, study_ct, problems, depth + 1)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    items = {_scalar_text(k): v for k, v in node.value if _scalar_text(k) is not None}
    for key_node, value_node in node.value:
        _scan(key_node, file, study_ct, problems, depth + 1)
        _scan(value_node, file, study_ct, problems, depth + 1)
    package = ct.as_package(_scalar_text(items["package"])) if "package" in items else None
    context: _Context | None = None
    if "codelist" in items:
        name = _scalar_text(items["codelist"])
        if not name:
            problems.append(f"{where}: `codelist` must name a codelist, got a {items['codelist'].tag} node")
        else:
            context = _resolve_reference(name, study_ct, package)
            if context is None:
                problems.append(f"{where}: codelist {name!r} is neither in terminology.yaml nor in the CT")
    elif "terms" in items and "code" in items:
        code = _scalar_text(items["code"]) or ""
        cdisc = ct.find_codelist(code, package or "sdtm") if ct.C_CODE_RE.match(code) else None
        if cdisc is None and ct.C_CODE_RE.match(code):
            problems.append(f"{where}: {code} is not a codelist of the {package or 'sdtm'} CT")
        context = _Context(code, cdisc, None)
    sponsor = _scalar_text(items["sponsor"]) if "sponsor" in items else None
    code_text = _scalar_text(items["code"]) if "code" in items else None
    if (sponsor or "").lower() in _YAML_TRUE and code_text and C_CODE_SEARCH_RE.search(code_text):
        problems.append(f"{where}: a sponsor-defined entry carries the C-code {code_text}")
    if context is None:
        return
    terms = items.get("terms")
    if isinstance(terms, yaml.SequenceNode):
        for term in terms.value:
            _check_term_code(term, context, file, problems)
    mapping = items.get("map")
    if isinstance(mapping, yaml.MappingNode):
        allowed = (
            set(context.study.values)
            if context.study is not None
            else set(context.cdisc.values)
            if context.cdisc is not None
            else None
        )
        for _, target in mapping.value:
            value = _scalar_text(target) if target.tag != _YAML_NULL_TAG else None
            if allowed is not None and value is not None and value not in allowed:
                problems.append(
                    f"{file}:{target.start_mark.line + 1}: {value!r} is not a term of codelist {context.label}"
                )


def _check_term_code(term: yaml.Node, context: _Context, file: Path, problems: list[str]) -> None:
    if not isinstance(term, yaml.MappingNode):
        return
    fields = {_scalar_text(k): v for k, v in term.value}
    code = _scalar_text(fields["code"]) if "code" in fields else None
    if code is None or not ct.code_exists(code):
        return  # an unknown code is reported once, by the scalar check
    where = f"{file}:{term.start_mark.line + 1}"
    if context.cdisc is None:
        problems.append(f"{where}: term code {code} given in sponsor-defined codelist {context.label}")
    elif not context.cdisc.has_term_code(code):
        problems.append(f"{where}: {code} is not a term of {context.cdisc.short_name} ({context.cdisc.code})")
