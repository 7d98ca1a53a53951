"""The rule catalog: conformance rules as data (``cdisc168/check/rules/*.yaml``), checked when loaded.

Each YAML file holds ``rules:``, a list of mappings with the fields of :class:`RuleDef`::

    rules:
      - id: SD-DY
        severity: error
        scope: SDTM
        check: study_day
        description: --DY is the day of --DTC counted from DM.RFSTDTC, without a day 0 (SDTMIG 3.4 §4.4.4).
        message: "{variable} is not the study day of the date"
        datasets: ["*"]
        requires: [DM]
        params: {date: DTC, day: DY}
        version_independent: true
        core_id: CORE-000xxx                   # only with a citable source:
        citation: https://...                  # URL or file of the published rule

An unknown key, a missing field, a bad severity or scope, a repeated id or a check function that no check
module registers is a :class:`CatalogError` naming the file, the rule and the problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from cdisc168.check.registry import UnknownCheckError, check_function
from cdisc168.findings import Severity

RULES_DIR = Path(__file__).resolve().parent / "rules"
SCOPES: tuple[str, ...] = ("SDTM", "ADaM", "define")


class CatalogError(ValueError):
    """The rule catalog cannot be used (the message names the file and rule)."""


@dataclass(frozen=True)
class RuleDef:
    """One conformance rule.

    ``message`` may use the placeholders ``{dataset}``, ``{variable}`` and ``{value}`` (filled by the
    engine, no expressions). ``datasets`` lists names or patterns (``*``, ``SUPP*``); empty means every
    dataset of the scope. ``version_independent=False`` marks a rule judged against SDTMIG 3.4 /
    ADaMIG 1.3 metadata, not applied when the data declare another IG version. ``requires`` names
    companion datasets (e.g. DM) without which the rule is not applied. ``core_id``/``fda_id`` are the
    equivalent CDISC CORE / FDA validator rules, recorded only with the ``citation`` they come from.
    """

    id: str
    severity: Severity
    message: str
    scope: str
    check: str
    description: str
    datasets: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    version_independent: bool = True
    requires: tuple[str, ...] = ()
    core_id: str = ""
    fda_id: str = ""
    citation: str = ""


_FIELDS = {f.name for f in fields(RuleDef)}
_REQUIRED = ("id", "severity", "message", "scope", "check", "description")
_TEXT = ("id", "message", "scope", "check", "description", "core_id", "fda_id", "citation")


def _names(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogError(f"{where}: {key} must be a list of names, got {value!r}")
    return tuple(value)


def _frozen(value: Any) -> Any:
    """Params as read-only data (mappings and lists become immutable)."""
    if isinstance(value, dict):
        return MappingProxyType({str(k): _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def rule_from_mapping(entry: Any, where: str) -> RuleDef:
    """A :class:`RuleDef` from one catalog entry; ``where`` names it in errors (file and position)."""
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: a rule must be a mapping, got {type(entry).__name__}")
    where = f"{where} ({entry.get('id', '?')})"
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_FIELDS)}")
    missing = [k for k in _REQUIRED if entry.get(k) in (None, "")]
    if missing:
        raise CatalogError(f"{where}: missing {missing}")
    for key in _TEXT:
        if key in entry and not isinstance(entry[key], str):
            raise CatalogError(f"{where}: {key} must be text, got {entry[key]!r}")
    try:
        severity = Severity(entry["severity"])
    except ValueError:
        raise CatalogError(
            f"{where}: severity {entry['severity']!r} is not one of {[s.value for s in Severity]}"
        ) from None
    if entry["scope"] not in SCOPES:
        raise CatalogError(f"{where}: scope {entry['scope']!r} is not one of {list(SCOPES)}")
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise CatalogError(f"{where}: params must be a mapping, got {params!r}")
    independent = entry.get("version_independent", True)
    if not isinstance(independent, bool):
        raise CatalogError(f"{where}: version_independent must be true or false, got {independent!r}")
    if (entry.get("core_id") or entry.get("fda_id")) and not entry.get("citation"):
        raise CatalogError(f"{where}: core_id/fda_id need a citation (URL or file of the published rule)")
    try:
        check_function(entry["check"])
    except UnknownCheckError as exc:
        raise CatalogError(f"{where}: {exc}") from None
    return RuleDef(
        id=entry["id"],
        severity=severity,
        message=entry["message"],
        scope=entry["scope"],
        check=entry["check"],
        description=entry["description"],
        datasets=_names(entry.get("datasets", []), where, "datasets"),
        params=_frozen(params),
        version_independent=independent,
        requires=_names(entry.get("requires", []), where, "requires"),
        core_id=entry.get("core_id", ""),
        fda_id=entry.get("fda_id", ""),
        citation=entry.get("citation", ""),
    )


def load_rules_file(path: Path) -> tuple[RuleDef, ...]:
    """The rules of one catalog file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read the rule catalog: {exc}") from None
    if (
        not isinstance(document, dict)
        or set(document) != {"rules"}
        or not isinstance(document["rules"], list)
    ):
        raise CatalogError(f"{path}: a rule catalog is a mapping with one key, 'rules', holding a list")
    return tuple(rule_from_mapping(e, f"{path.name} rule {i + 1}") for i, e in enumerate(document["rules"]))


def check_unique_ids(rules: Sequence[RuleDef]) -> None:
    """Rule ids are unique across the catalog."""
    repeated = sorted(rule_id for rule_id, n in Counter(r.id for r in rules).items() if n > 1)
    if repeated:
        raise CatalogError(f"rule id(s) defined more than once: {repeated}")


def load_catalog(folder: Path | None = None) -> tuple[RuleDef, ...]:
    """Every rule of the ``*.yaml`` files of ``folder`` (default: the package's ``check/rules``), in file
    name order then file order."""
    folder = folder or RULES_DIR
    if not folder.is_dir():
        raise CatalogError(f"{folder}: no rule catalog folder")
    rules = tuple(r for path in sorted(folder.glob("*.yaml")) for r in load_rules_file(path))
    check_unique_ids(rules)
    return rules
