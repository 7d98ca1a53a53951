"""The submission a validation run judges: datasets, their metadata, their standard and the IG versions.

A :class:`Submission` is built either by the ``validate`` folder reader (from XPT / Dataset-JSON files
and define.xml) or in memory by :meth:`Submission.from_frames` (the ``build`` command and the tests).
Rules only read it; nothing here writes files.

* Dataset names are upper case (file ``ae.xpt`` → ``AE``).
* Text is ``str`` or missing (``None``/``NaN``), numbers are float64 with ``NaN`` for missing.
* Each dataset belongs to one standard (:func:`standard_of`): ADaM when its name starts with ``AD``
  (ADaMIG 1.3 §2.3.1: ADaM dataset names begin with "AD"), or when it has the BDS ``PARAMCD`` and
  ``AVAL`` variables, or the ADSL treatment variables (``TRT01P``); otherwise SDTM.
* The IG versions are those the submission declares: define.xml ``def:Standard`` (Define-XML 2.1 §4.2.2,
  ``Type="IG"``) first, then TS ``SDTIGVER`` (SDTMIG 3.4 TS, Appendix C1); without a declaration the
  versions this package ships are assumed (SDTMIG 3.4, ADaMIG 1.3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc
from lxml import etree

from cdisc168.check import predicates as p
from cdisc168.standards import ig

SDTM = "SDTM"
ADAM = "ADaM"
STANDARDS: tuple[str, ...] = (SDTM, ADAM)
DEFAULT_IG_VERSIONS: dict[str, str] = {SDTM: ig.SDTMIG_VERSION, ADAM: ig.ADAMIG_VERSION}
DEFINE_NAMESPACE = "http://www.cdisc.org/ns/def/v2.1"
# def:Standard/@Name of an implementation guide → the standard it governs (Define-XML 2.1 CT "STANDARDNAME").
_IG_STANDARD_NAMES: dict[str, str] = {"SDTMIG": SDTM, "ADAMIG": ADAM}
_NUMERIC_LENGTH = 8


@dataclass
class DatasetMetadata:
    """What the file says about a dataset: its name, label and variables.

    ``variables`` maps a variable name to ``{"label", "type": "Char"|"Num", "length", "display_format"}``.
    """

    name: str
    label: str
    variables: dict[str, dict[str, Any]]
    path: Path | None = None


def standard_of(name: str, columns: Any) -> str:
    """``"ADaM"`` or ``"SDTM"`` for a dataset (see the module docstring for the decision)."""
    names = set(columns)
    if name.upper().startswith("AD") or {"PARAMCD", "AVAL"} <= names or {"USUBJID", "TRT01P"} <= names:
        return ADAM
    return SDTM


def _ig_label(name: str, standard: str) -> str:
    """The SDTMIG 3.4 dataset label; for SUPP-- "Supplemental Qualifiers for <parent>" (SDTMIG 3.4 §8.4)."""
    if standard != SDTM:
        return ""
    if ig.sdtmig_dataset_name(name) == ig.SUPPQUAL and name != ig.SUPPQUAL:
        return f"Supplemental Qualifiers for {name[len('SUPP') :]}"
    try:
        return ig.sdtmig_dataset(name).label
    except ig.IGLookupError:
        return ""


def _ig_variable_labels(name: str, standard: str) -> dict[str, str]:
    if standard != SDTM:
        return {}
    try:
        return {v.name: v.label for v in ig.sdtmig_domain_variables(name)}
    except ig.IGLookupError:
        return {}


def _char_length(values: pd.Series) -> int:
    """The longest text value in bytes (UTF-8), at least 1 (the XPT length of a Char variable)."""
    mask = p.text_mask(values)
    if not mask.any():
        return 1
    lengths = pc.binary_length(p.arrow_text(values, mask))
    return max(1, int(pc.max(lengths).as_py() or 0))


def metadata_from_frame(name: str, frame: pd.DataFrame, standard: str | None = None) -> DatasetMetadata:
    """Metadata of an in-memory dataset as an XPT writer would state it: numeric columns are Num of
    length 8, everything else Char with the longest value's length; labels from the SDTMIG 3.4 where the
    dataset and variable are in it (empty otherwise)."""
    standard = standard or standard_of(name, frame.columns)
    labels = _ig_variable_labels(name, standard)
    variables: dict[str, dict[str, Any]] = {}
    for column in frame.columns:
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
        variables[str(column)] = {
            "label": labels.get(str(column), ""),
            "type": "Num" if numeric else "Char",
            "length": _NUMERIC_LENGTH if numeric else _char_length(values),
            "display_format": None,
        }
    return DatasetMetadata(name=name, label=_ig_label(name, standard), variables=variables)


def _arrow_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    converted = {
        c: p.as_text(frame[c]) for c in frame.columns if pd.api.types.is_object_dtype(frame[c].dtype)
    }
    changed = {c: v for c, v in converted.items() if v is not frame[c]}
    return frame.assign(**changed) if changed else frame


def define_ig_versions(define: Mapping[str, etree._ElementTree]) -> dict[str, str]:
    """IG versions declared by define.xml documents: ``def:Standard Type="IG"`` (Define-XML 2.1 §4.2.2)."""
    found: dict[str, str] = {}
    for tree in define.values():
        for element in tree.iter(f"{{{DEFINE_NAMESPACE}}}Standard"):
            standard = _IG_STANDARD_NAMES.get(str(element.get("Name", "")).upper())
            version = element.get("Version")
            if standard and version and element.get("Type", "IG") == "IG":
                found.setdefault(standard, version)
    return found


def ts_ig_versions(ts: pd.DataFrame | None) -> dict[str, str]:
    """The SDTMIG version TS declares (TSPARMCD "SDTIGVER", SDTMIG 3.4 Appendix C1)."""
    if ts is None or not {"TSPARMCD", "TSVAL"} <= set(ts.columns):
        return {}
    values = ts.loc[ts["TSPARMCD"].astype(object) == "SDTIGVER", "TSVAL"].dropna().astype(str).str.strip()
    values = values[values != ""]
    return {SDTM: values.iloc[0]} if len(values) else {}


def declared_ig_versions(
    datasets: Mapping[str, pd.DataFrame], define: Mapping[str, etree._ElementTree]
) -> dict[str, str]:
    """IG versions per standard: define.xml, else TS, else the versions this package ships."""
    return {**DEFAULT_IG_VERSIONS, **ts_ig_versions(datasets.get("TS")), **define_ig_versions(define)}


@dataclass
class Submission:
    """Everything a validation run reads. Build it with :meth:`from_frames` or the folder reader."""

    datasets: dict[str, pd.DataFrame]
    metadata: dict[str, DatasetMetadata]
    standards: dict[str, str]
    ig_versions: dict[str, str]
    define: dict[str, etree._ElementTree] = field(default_factory=dict)
    define_paths: dict[str, Path] = field(default_factory=dict)
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Text held in object columns (as a file reader gives it) becomes pyarrow strings once, so that
        every rule reads it without converting it again."""
        self.datasets = {name: _arrow_text_columns(frame) for name, frame in self.datasets.items()}

    def memo(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """A value derived from the (unchanging) datasets, computed once per submission: rules share
        parsed dates and masks of the same columns instead of computing them again."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def get(self, name: str) -> pd.DataFrame | None:
        """The dataset called ``name`` (any case), or None when the submission has none."""
        return self.datasets.get(name.upper())

    def names(self, standard: str) -> list[str]:
        """The names of the datasets of one standard ("SDTM" or "ADaM"), sorted."""
        return sorted(n for n, s in self.standards.items() if s == standard)

    @classmethod
    def from_frames(
        cls,
        datasets: Mapping[str, pd.DataFrame],
        metadata: Mapping[str, DatasetMetadata] | None = None,
        *,
        ig_versions: Mapping[str, str] | None = None,
        define: Mapping[str, etree._ElementTree] | None = None,
    ) -> Submission:
        """A submission of in-memory frames. Names become upper case; metadata not given is derived
        from the frames (:func:`metadata_from_frame`); IG versions not given are the declared ones
        (:func:`declared_ig_versions`). Text columns held as pyarrow/pandas strings stay as they are."""
        frames = {name.upper(): frame for name, frame in datasets.items()}
        given = {name.upper(): m for name, m in (metadata or {}).items()}
        standards = {name: standard_of(name, frame.columns) for name, frame in frames.items()}
        meta = {
            name: given.get(name) or metadata_from_frame(name, frame, standards[name])
            for name, frame in frames.items()
        }
        documents = dict(define or {})
        versions = {**declared_ig_versions(frames, documents), **dict(ig_versions or {})}
        return cls(
            datasets=frames, metadata=meta, standards=standards, ig_versions=versions, define=documents
        )
