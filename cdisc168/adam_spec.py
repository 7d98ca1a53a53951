"""ADaM dataset specs: ``mappings/adam/<DATASET>.yaml`` loaded into typed metadata (beside
:mod:`cdisc168.spec`, so that ``write/`` never imports from ``adam/``).

An ADaM spec is the metadata of a dataset the ADaM modules build (the data come from Python
derivations in :mod:`cdisc168.adam`; the spec holds what define.xml and the XPT need): structure
(ADSL, BDS, TTE, OCCDS), keys, and per variable its label, type, length, SAS display format, origin,
source (for predecessors) and derivation text. Standard ADaMIG 1.3 variables (including the xx/y/zz
patterns such as TRT01P from TRTxxP) take their label and type from the IG; sponsor variables must
give both. A dataset built by the code must have exactly its spec's variables, in spec order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from cdisc168.spec import ORIGIN_TYPES, SpecError, Where, _LineLoader
from cdisc168.standards import ig

STRUCTURES = ("ADSL", "BDS", "TTE", "OCCDS")  # ADaMIG 1.3 structures (TTE = BDS with the TTE variables)
DATE_FORMATS = frozenset({"DATE9.", "DATETIME20.", "TIME8."})
_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_KEYS = frozenset(
    {"name", "label", "type", "length", "display_format", "origin", "source", "method", "codelist", "comment"}
)


@dataclass(frozen=True)
class AdamVariable:
    name: str
    label: str
    type: str
    origin: str
    length: int | None = None
    display_format: str | None = None
    source: str | None = None
    method: str | None = None
    codelist: str | None = None
    comment: str | None = None
    standard: bool = False
    where: Where | None = None


@dataclass(frozen=True)
class AdamSpec:
    name: str
    label: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[AdamVariable, ...]
    path: Path
    description: str = ""

    @property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> AdamVariable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)


@cache
def _ig_patterns(structure: str) -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(name pattern, label, type) for every ADaMIG variable of a structure; xx → two digits, y/zz → digits."""
    frame = ig.adamig_variables(structure)
    patterns = []
    for name, label, vtype in zip(frame["variable"], frame["label"], frame["type"], strict=True):
        regex = (
            re.escape(name)
            .replace("xx", r"(?P<xx>\d\d)")
            .replace("zz", r"(?P<zz>\d\d)")
            .replace("y", r"(?P<y>\d)")
        )
        patterns.append((re.compile(f"^{regex}$"), label, vtype))
    return tuple(patterns)


def standard_variable(structure: str, name: str) -> tuple[str, str] | None:
    """(label, type) of an ADaMIG 1.3 variable matching ``name``, else None; the label's xx/y/zz
    placeholders are filled from the name (TRT01P → "Planned Treatment for Period 01")."""
    for pattern, label, vtype in _ig_patterns(structure):
        match = pattern.match(name)
        if match:
            for placeholder, value in match.groupdict().items():
                label = re.sub(rf"\b{placeholder}\b", value, label)
            return label, vtype
    return None


def _variable(raw: Any, structure: str, file: Path) -> AdamVariable:
    if not isinstance(raw, dict) or "name" not in raw:
        raise SpecError(f"{file}: every variable needs a `name`, got {raw!r}")
    where = Where(file, raw["__line__"])
    unknown = set(raw) - _KEYS - {"__line__"}
    if unknown:
        raise where.error(f"unknown keys {sorted(unknown)}")
    name = str(raw["name"])
    if not _NAME_RE.match(name):
        raise where.error(f"variable name {name!r} must be 1-8 upper-case letters, digits or _")
    std = standard_variable(structure, name)
    if std is None and ("label" not in raw or "type" not in raw):
        raise where.error(f"{name} is not an ADaMIG 1.3 {structure} variable: give its `label` and `type`")
    label = str(raw.get("label", std[0] if std else ""))
    vtype = str(raw.get("type", std[1] if std else ""))
    if std is not None and vtype != std[1]:
        raise where.error(f"{name}: type {vtype!r} disagrees with ADaMIG 1.3 {std[1]!r}")
    if vtype not in ("Char", "Num"):
        raise where.error(f"{name}: type must be Char or Num, got {vtype!r}")
    if not label or len(label) > 40:
        raise where.error(f"{name}: label must have 1-40 characters, got {label!r}")
    display_format = raw.get("display_format")
    if name.endswith(("DT", "DTM", "TM")) and vtype == "Num" and display_format not in DATE_FORMATS:
        raise where.error(f"{name}: a numeric date/time needs display_format DATE9., DATETIME20. or TIME8.")
    origin = str(raw.get("origin", "Derived"))
    if origin not in ORIGIN_TYPES:
        raise where.error(f"{name}: origin {origin!r} is not a Define-XML 2.1 origin type")
    if origin == "Predecessor" and not raw.get("source"):
        raise where.error(f"{name}: a Predecessor variable names its `source` (e.g. DM.AGE)")
    if origin == "Derived" and not raw.get("method"):
        raise where.error(f"{name}: a Derived variable needs its derivation text in `method`")
    length = raw.get("length")
    if length is not None and (not isinstance(length, int) or not 1 <= length <= 200):
        raise where.error(f"{name}: length must be an integer 1..200")
    return AdamVariable(
        name=name,
        label=label,
        type=vtype,
        origin=origin,
        length=length,
        display_format=display_format,
        source=raw.get("source"),
        method=raw.get("method"),
        codelist=raw.get("codelist"),
        comment=raw.get("comment"),
        standard=std is not None,
        where=where,
    )


def load_adam_spec(path: Path | str) -> AdamSpec:
    """Load and validate one ADaM dataset spec; errors name the file and line."""
    file = Path(path)
    try:
        raw = yaml.load(file.read_text(encoding="utf-8"), Loader=_LineLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{file}: cannot read the spec: {exc}") from exc
    if not isinstance(raw, dict) or "dataset" not in raw or "structure" not in raw:
        raise SpecError(f"{file}:1: an ADaM spec needs `dataset` and `structure`")
    top = Where(file, raw["__line__"])
    name = str(raw["dataset"])
    if not _NAME_RE.match(name) or not name.startswith("AD"):
        raise top.error(f"ADaM dataset name {name!r} must start with AD and have at most 8 characters")
    structure = str(raw["structure"])
    if structure not in STRUCTURES:
        raise top.error(f"structure must be one of {sorted(STRUCTURES)}, got {structure!r}")
    label = str(raw.get("label", ""))
    if not label or len(label) > 40:
        raise top.error("the dataset `label` must have 1-40 characters")
    variables = tuple(_variable(v, structure, file) for v in raw.get("variables") or ())
    names = [v.name for v in variables]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise top.error(f"duplicate variables {duplicates}")
    keys = tuple(str(k) for k in raw.get("keys") or ())
    missing = [k for k in keys if k not in names]
    if missing:
        raise top.error(f"keys {missing} are not variables of the spec")
    return AdamSpec(
        name=name,
        label=label,
        structure=structure,
        keys=keys,
        variables=variables,
        path=file,
        description=str(raw.get("description", "")),
    )


def load_adam_specs(mappings_dir: Path) -> dict[str, AdamSpec]:
    """Every ``mappings/adam/*.yaml`` spec by dataset name."""
    specs = {}
    for path in sorted((mappings_dir / "adam").glob("*.yaml")):
        spec = load_adam_spec(path)
        specs[spec.name] = spec
    return specs


def conform(frame: Any, spec: AdamSpec) -> Any:
    """The built dataset with exactly the spec's variables in spec order, sorted by the spec's keys.

    A variable the code did not build, or a column the spec does not declare, is a loud error: the
    spec and the data cannot disagree.
    """
    missing = [v for v in spec.variable_names if v not in frame.columns]
    extra = [c for c in frame.columns if c not in spec.variable_names and not str(c).startswith("_")]
    if missing or extra:
        raise SpecError(f"{spec.path}: {spec.name} built without {missing}; not in the spec: {extra}")
    out = frame[list(spec.variable_names)]
    if spec.keys:
        out = out.sort_values(list(spec.keys), kind="mergesort", na_position="first")
    return out.reset_index(drop=True)
