"""Study configuration: ``mappings/study.yaml`` loaded and validated into a typed, immutable object.

Every study-level fact (STUDYID, data cut, dose levels, visit schedule, standards versions) and every
configurable threshold of STUDY.md §6.4 lives in that one file. A bad value is a
:class:`StudyConfigError` naming the file and the key path (``visits[3].window``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MAPPINGS = REPO_ROOT / "mappings"
DEFAULT_STUDY_FILE = DEFAULT_MAPPINGS / "study.yaml"

_FOLDER_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_STUDYID_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")


class _TextDatesLoader(yaml.SafeLoader):
    """Safe YAML loading that keeps dates as text, so a bad date is reported with its key."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class StudyConfigError(ValueError):
    """A study.yaml value is missing or invalid; the message names the file and key."""


@dataclass(frozen=True)
class Indication:
    code: str
    name: str
    order: int


@dataclass(frozen=True)
class DoseLevel:
    armcd: str
    arm: str
    dose: float


@dataclass(frozen=True)
class Visit:
    """A scheduled visit. ``day`` is the nominal protocol day (D0 = infusion)."""

    visitnum: float
    visit: str
    day: int
    window: tuple[int, int]

    @property
    def visitdy(self) -> int:
        """Planned study day, SDTM convention with no day 0 (STUDY.md: D0 -> 1, D7 -> 8, D-7 -> -7)."""
        return self.day + 1 if self.day >= 0 else self.day


@dataclass(frozen=True)
class LymphodepletionDrug:
    name: str
    dose_mgm2: float


@dataclass(frozen=True)
class Thresholds:
    bcell_clearance_per_ul: float
    bcell_recovery_per_ul: float
    igg_hypogamma_g_l: float
    gc_low_dose_mg: float
    gc_doris_dose_mg: float
    gc_free_window_days: int
    autoab_decline_pct: float
    dlt_window_days: tuple[int, int]
    dlt_evaluable_min_dose_fraction: float


@dataclass(frozen=True)
class Study:
    """The typed content of study.yaml (see that file for the meaning of each key)."""

    path: Path
    studyid: str
    title: str
    sponsor: str
    submission_folder: str
    registry_id: str
    data_cut: dt.date
    data_cut_description: str
    standards: dict[str, str]
    indications: tuple[Indication, ...]
    dose_levels: tuple[DoseLevel, ...]
    dose_unit: str
    ld_days: tuple[int, ...]
    ld_drugs: tuple[LymphodepletionDrug, ...]
    visits: tuple[Visit, ...]
    early_termination_visit: Visit
    disease_assessment_visits: tuple[str, ...]
    unscheduled_visit: str
    analysis_windows: dict[str, Any]
    thresholds: Thresholds
    remission_map: dict[str, str]
    dlt_rules: dict[str, Any]
    blq: dict[str, str]
    excluded_forms: dict[str, str]
    unmapped_columns: dict[str, str]

    @property
    def mappings_dir(self) -> Path:
        return self.path.parent

    @property
    def define_dir(self) -> Path:
        """The study's define.xml templates, XSL stylesheet and reviewer's guide templates (beside mappings/)."""
        return self.path.parent.parent / "define"

    @property
    def indication_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.indications)

    @property
    def armcds(self) -> tuple[str, ...]:
        return tuple(d.armcd for d in self.dose_levels)

    def dose_level(self, armcd: str) -> DoseLevel:
        for level in self.dose_levels:
            if level.armcd == armcd:
                return level
        raise KeyError(armcd)

    @property
    def visit_names(self) -> tuple[str, ...]:
        """Every VISIT value a raw form may carry: scheduled, early termination, unscheduled."""
        return (
            *(v.visit for v in self.visits),
            self.early_termination_visit.visit,
            self.unscheduled_visit,
        )

    def visit_by_name(self, name: str) -> Visit:
        for v in (*self.visits, self.early_termination_visit):
            if v.visit == name:
                return v
        raise KeyError(name)


class _Reader:
    """Typed access to a YAML mapping that names the key path in every error."""

    def __init__(self, data: Any, where: str, file: Path) -> None:
        if not isinstance(data, dict):
            raise StudyConfigError(f"{file}: {where or 'top level'}: expected a mapping, got {data!r}")
        self.data = data
        self.where = where
        self.file = file

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, problem: str) -> StudyConfigError:
        return StudyConfigError(f"{self.file}: {self._key(key)}: {problem}")

    def raw(self, key: str) -> Any:
        if key not in self.data or self.data[key] is None:
            raise self.fail(key, "is required")
        return self.data[key]

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected non-empty text, got {value!r}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, f"{value!r} does not match {pattern.pattern}")
        return value

    def number(self, key: str, *, positive: bool = False) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be > 0, got {value!r}")
        return float(value)

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {value!r}")
        return value

    def date(self, key: str) -> dt.date:
        value = self.raw(key)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"expected an ISO 8601 date YYYY-MM-DD, got {value!r}")

    def int_pair(self, key: str) -> tuple[int, int]:
        value = self.raw(key)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or value[0] > value[1]
        ):
            raise self.fail(key, f"expected [low, high] integers with low <= high, got {value!r}")
        return (value[0], value[1])

    def items(self, key: str) -> list[_Reader]:
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "expected a non-empty list")
        return [_Reader(v, f"{self._key(key)}[{i}]", self.file) for i, v in enumerate(value)]

    def sub(self, key: str) -> _Reader:
        return _Reader(self.raw(key), self._key(key), self.file)

    def str_map(self, key: str) -> dict[str, str]:
        reader = self.sub(key)
        return {str(k): reader.text(str(k)) for k in reader.data}


def _visit(r: _Reader) -> Visit:
    visitnum = r.number("visitnum", positive=True)
    day = r.integer("day")
    window = r.int_pair("window")
    if not window[0] <= day <= window[1]:
        raise r.fail("window", f"nominal day {day} lies outside the window {list(window)}")
    return Visit(visitnum=visitnum, visit=r.text("visit"), day=day, window=window)


def _thresholds(r: _Reader) -> Thresholds:
    fraction = r.number("dlt_evaluable_min_dose_fraction", positive=True)
    if fraction > 1:
        raise r.fail("dlt_evaluable_min_dose_fraction", f"must be <= 1, got {fraction}")
    return Thresholds(
        bcell_clearance_per_ul=r.number("bcell_clearance_per_ul", positive=True),
        bcell_recovery_per_ul=r.number("bcell_recovery_per_ul", positive=True),
        igg_hypogamma_g_l=r.number("igg_hypogamma_g_l", positive=True),
        gc_low_dose_mg=r.number("gc_low_dose_mg", positive=True),
        gc_doris_dose_mg=r.number("gc_doris_dose_mg", positive=True),
        gc_free_window_days=r.integer("gc_free_window_days"),
        autoab_decline_pct=r.number("autoab_decline_pct", positive=True),
        dlt_window_days=r.int_pair("dlt_window_days"),
        dlt_evaluable_min_dose_fraction=fraction,
    )


def _check_unique(r: _Reader, key: str, values: list[Any]) -> None:
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise r.fail(key, f"duplicate value {v!r}")
        seen.add(v)


def load_study(path: Path | str | None = None) -> Study:
    """Load and validate ``study.yaml`` (default: the repository's ``mappings/study.yaml``)."""
    file = Path(path) if path is not None else DEFAULT_STUDY_FILE
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_TextDatesLoader)
    except FileNotFoundError as exc:
        raise StudyConfigError(f"{file}: study configuration not found") from exc
    except yaml.YAMLError as exc:
        raise StudyConfigError(f"{file}: not valid YAML: {exc}") from exc
    r = _Reader(data, "", file)

    indications = tuple(
        Indication(code=i.text("code", _STUDYID_RE), name=i.text("name"), order=i.integer("order"))
        for i in r.items("indications")
    )
    _check_unique(r, "indications", [i.code for i in indications])
    dose_levels = tuple(
        DoseLevel(armcd=d.text("armcd", _STUDYID_RE), arm=d.text("arm"), dose=d.number("dose", positive=True))
        for d in r.items("dose_levels")
    )
    _check_unique(r, "dose_levels", [d.armcd for d in dose_levels])
    visits = tuple(_visit(v) for v in r.items("visits"))
    _check_unique(r, "visits", [v.visitnum for v in visits])
    _check_unique(r, "visits", [v.visit for v in visits])
    for earlier, later in itertools.pairwise(visits):
        if later.visitnum <= earlier.visitnum or later.day < earlier.day:
            raise r.fail("visits", f"{later.visit!r} must follow {earlier.visit!r} in VISITNUM and day")
    et = r.sub("early_termination_visit")
    early_termination = Visit(
        visitnum=et.number("visitnum", positive=True), visit=et.text("visit"), day=0, window=(0, 0)
    )
    assessment_visits = r.raw("disease_assessment_visits")
    scheduled = {v.visit for v in visits}
    if not isinstance(assessment_visits, list) or not assessment_visits:
        raise r.fail("disease_assessment_visits", "expected a non-empty list of visit names")
    unknown_visits = [v for v in assessment_visits if v not in scheduled]
    if unknown_visits:
        raise r.fail("disease_assessment_visits", f"not scheduled visits of 'visits': {unknown_visits}")
    ld = r.sub("lymphodepletion")
    ld_days = tuple(int(d) for d in ld.raw("days"))
    ld_drugs = tuple(
        LymphodepletionDrug(name=d.text("name"), dose_mgm2=d.number("dose_mgm2", positive=True))
        for d in ld.items("drugs")
    )
    remission_map = r.str_map("remission_map")
    unknown = sorted(set(remission_map) - {i.code for i in indications})
    if unknown:
        raise r.fail("remission_map", f"names indications not in 'indications': {unknown}")
    missing = sorted({i.code for i in indications} - set(remission_map))
    if missing:
        raise r.fail("remission_map", f"has no remission parameter for {missing}")
    blq = r.str_map("blq")
    if blq.get("stresc") not in {"ORIGINAL", "BLQ"}:
        raise r.fail("blq.stresc", f"must be ORIGINAL or BLQ, got {blq.get('stresc')!r}")
    standards = r.str_map("standards")
    for required in ("sdtmig", "adamig", "define_xml", "ct_sdtm", "ct_adam", "meddra", "whodrug"):
        if required not in standards:
            raise r.fail(f"standards.{required}", "is required")

    return Study(
        path=file,
        studyid=r.text("studyid", _STUDYID_RE),
        title=r.text("title"),
        sponsor=r.text("sponsor"),
        submission_folder=r.text("submission_folder", _FOLDER_RE),
        registry_id=r.text("registry_id"),
        data_cut=r.date("data_cut"),
        data_cut_description=r.text("data_cut_description"),
        standards=standards,
        indications=indications,
        dose_levels=dose_levels,
        dose_unit=r.text("dose_unit"),
        ld_days=ld_days,
        ld_drugs=ld_drugs,
        visits=visits,
        early_termination_visit=early_termination,
        disease_assessment_visits=tuple(assessment_visits),
        unscheduled_visit=r.text("unscheduled_visit"),
        analysis_windows=dict(r.sub("analysis_windows").data),
        thresholds=_thresholds(r.sub("thresholds")),
        remission_map=remission_map,
        dlt_rules=dict(r.sub("dlt_rules").data),
        blq=blq,
        excluded_forms=r.str_map("excluded_forms"),
        unmapped_columns=r.str_map("unmapped_columns"),
    )
