"""Read a folder (or one file) of submission datasets into a :class:`Submission` for validation.

What is read, and how (the ``validate`` command):

* every SAS transport file ``*.xpt`` (any case) with :func:`cdisc168.write.xpt.read_xpt`, text decoded
  as Latin-1 so every byte decodes and the rules can report non-ASCII text; values are kept as read;
* every Dataset-JSON 1.1 file ``*.json`` / ``*.ndjson`` with
  :func:`cdisc168.datasetjson.read_dataset_json`; JSON that is not Dataset-JSON (``manifest.json``) is
  skipped with a notice; numeric dates (``targetDataType`` integer, ISO 8601 text in the file) become
  SAS numbers again, as in the XPT (:func:`cdisc168.datasetjson.to_sas_numbers`);
* every ``*.xml`` that is a Define-XML document (ODM root), its standard taken from ``def:Standards``
  (``Type="IG"``), the ItemGroupDef ``Purpose`` ("Tabulation" / "Analysis") or the Define-XML
  2.0 ``def:StandardName``; and the define.xml a Dataset-JSON file names in ``metaDataRef`` (a relative
  path), so ``datasetjson/`` of a package is judged with the define.xml of its eCTD folder;
* subfolders too, so an eCTD module 5 tree (``tabulations/sdtm``, ``analysis/adam/datasets``) reads as one
  submission. The dataset name is the upper-case file name without extension (FDA TCG: the file name is
  the dataset name); a combined ``suppqual.xpt`` stays SUPPQUAL.

When a dataset comes twice (``ae.xpt`` and ``ae.json``, or the same name in two folders) the XPT is
preferred, then the first path in sorted order, and the others are named in a notice. A file that cannot
be read (not XPT v5, XPT v8, broken JSON) gives one ``VAL-READ`` error naming the file, and the rest is
still read. The IG versions follow the order ``ig`` argument → define.xml → TS ``SDTIGVER`` → the
versions the package ships (SDTMIG 3.4, ADaMIG 1.3); a ``VAL-IG`` notice says which applied and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from cdisc168.check.submission import (
    ADAM,
    DEFAULT_IG_VERSIONS,
    SDTM,
    DatasetMetadata,
    Submission,
    define_ig_versions,
    ts_ig_versions,
)
from cdisc168.datasetjson import read_dataset_json, to_sas_numbers
from cdisc168.findings import Finding, Findings, Severity
from cdisc168.standards import ig
from cdisc168.standards.schemas import UnsafeXmlError, parse_xml
from cdisc168.write.xpt import read_xpt

__all__ = [
    "FolderReading",
    "ValidateInputError",
    "define_20_ig_version",
    "define_standard",
    "parse_ig_option",
    "read_folder",
    "read_submission",
]

XPT_SUFFIX = ".xpt"
JSON_SUFFIXES = (".json", ".ndjson")
XML_SUFFIX = ".xml"
ODM_NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
DEFINE_NAMESPACES = ("http://www.cdisc.org/ns/def/v2.1", "http://www.cdisc.org/ns/def/v2.0")
# ItemGroupDef Purpose → standard (Define-XML 2.1 ItemGroupDef: "Tabulation" for SDTM/SEND, "Analysis" for ADaM).
_PURPOSE_STANDARDS = {"TABULATION": SDTM, "ANALYSIS": ADAM}
# An IG version on the command line: "3.3", "SDTMIG 3.3", "sdtmig=3.3", "ADaMIG:1.1"; several comma-separated.
_IG_OPTION = re.compile(r"(?:(?P<name>SDTMIG|SDTM|ADAMIG|ADAM)\s*[ =:]?\s*)?(?P<version>\d+(?:\.\d+)+)", re.I)


class ValidateInputError(ValueError):
    """The path or the options given to ``validate`` cannot be used at all (exit 2)."""


@dataclass
class FolderReading:
    """The submission read from a folder, and what the reader itself found.

    ``findings`` holds ``VAL-READ`` (a file that could not be read), ``VAL-SKIP`` (a file that is not a
    dataset or define.xml, or a duplicate), ``VAL-NAME`` (member name differs from the file name) and
    ``VAL-IG`` (where each IG version came from); ``files`` maps each dataset to the file it was read
    from; ``ig_sources`` says, per standard, where its IG version came from.
    """

    submission: Submission
    findings: Findings
    files: dict[str, Path] = field(default_factory=dict)
    ig_sources: dict[str, str] = field(default_factory=dict)


@dataclass
class _Dataset:
    frame: pd.DataFrame
    metadata: DatasetMetadata
    member: str
    define_ref: Path | None = None  # the define.xml a Dataset-JSON file names (metaDataRef)


def _finding(rule: str, severity: Severity, path: Path, message: str, dataset: str = "") -> Finding:
    return Finding(rule=rule, severity=severity, message=message, dataset=dataset, source=str(path))


def parse_ig_option(text: str | None) -> dict[str, str]:
    """``--ig`` text → ``{"SDTM": "3.3", "ADaM": "1.1"}``.

    A bare version is SDTMIG when its major number is 3 or more (SDTMIG 3.1.2 … 3.4), ADaMIG otherwise
    (ADaMIG 1.0 … 1.3). Anything else raises :class:`ValidateInputError` quoting the text.
    """
    if not text or not text.strip():
        return {}
    versions: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        match = _IG_OPTION.fullmatch(part)
        if match is None:
            raise ValidateInputError(
                f"--ig {text!r}: {part!r} is not an IG version such as '3.3', 'SDTMIG 3.3' or 'ADaMIG 1.1'"
            )
        name = (match["name"] or "").upper()
        version = match["version"]
        if name:
            standard = ADAM if name.startswith("ADAM") else SDTM
        else:
            standard = SDTM if int(version.split(".")[0]) >= 3 else ADAM
        versions[standard] = version
    return versions


# --- finding the files ----------------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    """The files under ``path`` (or ``path`` itself) in sorted path order, hidden files and folders left out."""
    if path.is_file():
        return [path]
    try:
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    except OSError as error:
        raise ValidateInputError(f"{path}: cannot list the folder: {error}") from None


def _dataset_name(path: Path) -> str:
    return path.name.split(".")[0].upper()


def _preference(path: Path, root: Path) -> tuple[int, int, str]:
    """XPT before Dataset-JSON, then the shallower path, then the path in sorted order."""
    relative = path.relative_to(root) if path.is_relative_to(root) else path
    return (0 if path.suffix.lower() == XPT_SUFFIX else 1, len(relative.parts), str(relative).lower())


# --- reading one dataset --------------------------------------------------------------------------


def _normalise(frame: pd.DataFrame, variables: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Num variables as float64 with ``NaN`` (integers of Dataset-JSON included); text stays as read."""
    for name in frame.columns:
        values = frame[name]
        if variables.get(name, {}).get("type") == "Num" and values.dtype != "float64":
            frame[name] = pd.to_numeric(values, errors="coerce").astype("float64")
    return frame


def _read_xpt(path: Path) -> _Dataset:
    frame, meta = read_xpt(path)
    name = _dataset_name(path)
    metadata = DatasetMetadata(name=name, label=meta["label"], variables=meta["variables"], path=path)
    return _Dataset(_normalise(frame, meta["variables"]), metadata, str(meta["dataset"]).upper())


def _read_dataset_json(path: Path) -> _Dataset:
    frame, meta = read_dataset_json(path)
    variables = meta["variables"]
    name = _dataset_name(path)
    metadata = DatasetMetadata(name=name, label=str(meta.get("label") or ""), variables=variables, path=path)
    frame = _normalise(to_sas_numbers(frame, meta), variables)
    return _Dataset(frame, metadata, str(meta.get("dataset") or name).upper(), _define_ref(path, meta))


def _define_ref(path: Path, meta: dict[str, Any]) -> Path | None:
    """The define.xml a Dataset-JSON file names in ``metaDataRef`` (Dataset-JSON 1.1), when it is a
    relative path to an existing ``.xml`` file (a URL or an absolute path is not followed)."""
    ref = str(meta.get("metadata_ref") or "")
    if not ref.lower().endswith(XML_SUFFIX) or "://" in ref or Path(ref).is_absolute():
        return None
    target = (path.parent / ref).resolve()
    return target if target.is_file() else None


def _is_other_json(path: Path) -> bool:
    """Whether a file that failed as Dataset-JSON is well-formed JSON of another kind (``manifest.json``):
    an object without ``datasetJSONVersion`` (NDJSON: its first line)."""
    if path.suffix.lower() == XPT_SUFFIX:
        return False
    try:
        with path.open(encoding="utf-8") as stream:
            text = stream.readline() if path.suffix.lower() == ".ndjson" else stream.read()
        document = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return not (isinstance(document, dict) and "datasetJSONVersion" in document)


def _read_dataset(path: Path) -> _Dataset:
    return _read_xpt(path) if path.suffix.lower() == XPT_SUFFIX else _read_dataset_json(path)


def _read_failure(path: Path, root: Path, error: Exception) -> Finding:
    kind = "SAS XPORT v5" if path.suffix.lower() == XPT_SUFFIX else "Dataset-JSON 1.1"
    return _finding(
        "VAL-READ",
        Severity.ERROR,
        path,
        f"{_shown(path, root)}: cannot be read as {kind} ({type(error).__name__}: {error}); "
        "the dataset is not validated",
        _dataset_name(path),
    )


def _shown(path: Path, root: Path) -> str:
    """The path as the user knows it: relative to the folder given, or the file name given."""
    base = root if root.is_dir() else root.parent
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


# Files read at the same time: the XPT and JSON readers spend their time in numpy and Arrow, which
# release the GIL, so two threads use both cores of a small machine on a package of large datasets.
READ_WORKERS = 2


def _attempt(path: Path) -> _Dataset | Exception:
    """The dataset of a file, or what went wrong reading it."""
    try:
        return _read_dataset(path)
    # A file from outside is untrusted input: whatever its parser raises, the file is unreadable.
    except Exception as error:
        return error


def _read_datasets(candidates: Iterable[Path], root: Path, found: Findings) -> dict[str, _Dataset]:
    """Read one file per dataset name, trying the preferred file first (module docstring); the preferred
    files are read in parallel, largest first."""
    by_name: dict[str, list[Path]] = {}
    for path in candidates:
        by_name.setdefault(_dataset_name(path), []).append(path)
    ordered = {name: sorted(paths, key=lambda p: _preference(p, root)) for name, paths in by_name.items()}
    largest_first = sorted(ordered, key=lambda n: (-ordered[n][0].stat().st_size, n))
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        first = dict(
            zip(largest_first, pool.map(lambda n: _attempt(ordered[n][0]), largest_first), strict=True)
        )
    datasets: dict[str, _Dataset] = {}
    for name in sorted(ordered):
        paths = ordered[name]
        for index, path in enumerate(paths):
            result = first[name] if index == 0 else _attempt(path)
            if isinstance(result, Exception):
                if _is_other_json(path):
                    message = f"{_shown(path, root)}: JSON but not Dataset-JSON, skipped"
                    found.add(_finding("VAL-SKIP", Severity.NOTICE, path, message))
                else:
                    found.add(_read_failure(path, root, result))
                continue
            _note_duplicates(name, path, paths[index + 1 :], root, found)
            validated_as = _validated_name(result, name, ordered)
            _note_member_name(result, validated_as, path, root, found)
            result.metadata.name = validated_as
            datasets[validated_as] = result
            break
    return datasets


def _known_dataset(name: str) -> bool:
    """A name the rules know: an SDTMIG 3.4 dataset, a SUPP-- or an ADaM (AD*) dataset."""
    if name.startswith(("SUPP", "AD")):
        return True
    try:
        ig.sdtmig_dataset(name)
    except ig.IGLookupError:
        return False
    return True


def _validated_name(dataset: _Dataset, name: str, names: Mapping[str, object]) -> str:
    """The name a dataset is judged by: its file name, unless the file holds a known dataset under
    another name (``ae2.xpt`` holding member AE) and no other file is called that; then the member name,
    so the rules of that domain still apply."""
    member = dataset.member
    if (
        member
        and member != name
        and not _known_dataset(name)
        and _known_dataset(member)
        and member not in names
    ):
        return member
    return name


def _note_duplicates(name: str, used: Path, others: list[Path], root: Path, found: Findings) -> None:
    if others:
        skipped = ", ".join(_shown(p, root) for p in others)
        found.add(
            _finding(
                "VAL-SKIP",
                Severity.NOTICE,
                used,
                f"{name} read from {_shown(used, root)}; not read: {skipped} (XPT preferred, then the "
                "shallower path)",
                name,
            )
        )


def _note_member_name(dataset: _Dataset, validated_as: str, path: Path, root: Path, found: Findings) -> None:
    name = _dataset_name(path)
    if dataset.member and dataset.member != name:
        found.add(
            _finding(
                "VAL-NAME",
                Severity.WARNING,
                path,
                f"{_shown(path, root)}: the file holds dataset {dataset.member!r}, its name says {name!r} "
                f"(FDA TCG: file name = dataset name); validated as {validated_as}",
                validated_as,
            )
        )


# --- define.xml -----------------------------------------------------------------------------------


def _define_attribute(element: etree._Element, name: str) -> str:
    for namespace in DEFINE_NAMESPACES:
        value = element.get(f"{{{namespace}}}{name}")
        if value:
            return value
    return ""


def define_standard(tree: etree._ElementTree) -> str:
    """ "SDTM" or "ADaM" for a define.xml, "" when it says neither (module docstring for the order)."""
    versions = define_ig_versions({"": tree})
    if len(versions) == 1:
        return next(iter(versions))
    for group in tree.iter(f"{{{ODM_NAMESPACE}}}ItemGroupDef"):
        standard = _PURPOSE_STANDARDS.get(str(group.get("Purpose", "")).upper())
        if standard:
            return standard
    for version in tree.iter(f"{{{ODM_NAMESPACE}}}MetaDataVersion"):
        name = _define_attribute(version, "StandardName").upper()
        if name:
            return ADAM if "ADAM" in name else SDTM
    return ""


def define_20_ig_version(tree: etree._ElementTree) -> str:
    """The IG version of a Define-XML 2.0 document (MetaDataVersion ``def:StandardVersion``), or ""."""
    for version in tree.iter(f"{{{ODM_NAMESPACE}}}MetaDataVersion"):
        return _define_attribute(version, "StandardVersion")
    return ""


def _read_defines(candidates: Iterable[Path], root: Path, found: Findings) -> dict[str, tuple[Path, Any]]:
    documents: dict[str, tuple[Path, Any]] = {}
    for path in candidates:
        try:
            tree = parse_xml(path)
        except (OSError, etree.XMLSyntaxError, UnsafeXmlError) as error:
            found.add(
                _finding(
                    "VAL-READ",
                    Severity.ERROR,
                    path,
                    f"{_shown(path, root)}: not well-formed or unsafe XML ({error})",
                )
            )
            continue
        if tree.getroot().tag != f"{{{ODM_NAMESPACE}}}ODM":
            found.add(
                _finding("VAL-SKIP", Severity.NOTICE, path, f"{_shown(path, root)}: not define.xml, skipped")
            )
            continue
        standard = define_standard(tree)
        if not standard or standard in documents:
            reason = "declares no SDTM/ADaM standard" if not standard else f"a second {standard} define.xml"
            found.add(_finding("VAL-SKIP", Severity.NOTICE, path, f"{_shown(path, root)}: {reason}, skipped"))
            continue
        documents[standard] = (path, tree)
    return documents


# --- IG versions ----------------------------------------------------------------------------------


def _ig_versions(
    option: Mapping[str, str],
    datasets: Mapping[str, pd.DataFrame],
    defines: Mapping[str, tuple[Path, Any]],
    root: Path,
) -> tuple[dict[str, str], dict[str, str]]:
    """(version, source) per standard, in the order --ig → define.xml → TS → shipped default."""
    versions: dict[str, str] = {}
    sources: dict[str, str] = {}
    define_versions = define_ig_versions({s: tree for s, (_, tree) in defines.items()})
    for standard, (_, tree) in defines.items():
        define_versions.setdefault(standard, define_20_ig_version(tree))
    declared = [
        (option, "given with --ig"),
        ({s: v for s, v in define_versions.items() if v}, "declared by {define}"),
        (ts_ig_versions(datasets.get("TS")), "declared by TS (TSPARMCD SDTIGVER)"),
        (
            {SDTM: DEFAULT_IG_VERSIONS[SDTM]},
            "assumed: neither a define.xml nor TS (TSPARMCD SDTIGVER) declares it",
        ),
        ({ADAM: DEFAULT_IG_VERSIONS[ADAM]}, "assumed: no define.xml declares it"),
    ]
    for standard in DEFAULT_IG_VERSIONS:
        for found, source in declared:
            if standard in found:
                versions[standard] = found[standard]
                define = defines.get(standard)
                sources[standard] = source.format(define=_shown(define[0], root) if define else "")
                break
    return versions, sources


def _ig_notices(submission: Submission, sources: Mapping[str, str]) -> list[Finding]:
    names = {SDTM: "SDTMIG", ADAM: "ADaMIG"}
    return [
        Finding(
            rule="VAL-IG",
            severity=Severity.NOTICE,
            message=f"{names[standard]} {submission.ig_versions[standard]}: {sources[standard]}",
        )
        for standard in DEFAULT_IG_VERSIONS
        if submission.names(standard)
    ]


# --- the folder -----------------------------------------------------------------------------------


def read_folder(path: Path | str, *, ig: str | None = None) -> FolderReading:
    """Read every dataset and define.xml under ``path`` (a folder, or one file) — see the module docstring.

    Raises :class:`ValidateInputError` when ``path`` does not exist or ``ig`` is not an IG version;
    an unreadable file is a ``VAL-READ`` finding instead. The submission may hold no dataset at all
    (the caller decides that nothing could be validated).
    """
    root = Path(path)
    if not root.exists():
        raise ValidateInputError(f"{root}: no such file or folder")
    option = parse_ig_option(ig)
    found = Findings()
    files = _files(root)
    dataset_files = [p for p in files if p.suffix.lower() in (XPT_SUFFIX, *JSON_SUFFIXES)]
    datasets = _read_datasets(dataset_files, root, found)
    beside = [p for p in files if p.suffix.lower() == XML_SUFFIX]
    referenced = {d.define_ref for d in datasets.values() if d.define_ref is not None}
    known = {p.resolve() for p in beside}
    defines = _read_defines([*beside, *sorted(r for r in referenced if r not in known)], root, found)
    frames = {name: d.frame for name, d in datasets.items()}
    versions, sources = _ig_versions(option, frames, defines, root)
    submission = Submission.from_frames(
        frames,
        {name: d.metadata for name, d in datasets.items()},
        ig_versions=versions,
        define={standard: tree for standard, (_, tree) in defines.items()},
    )
    submission = replace(submission, define_paths={s: p for s, (p, _) in defines.items()})
    found.extend(_ig_notices(submission, sources))
    return FolderReading(
        submission=submission,
        findings=found,
        files={name: d.metadata.path for name, d in datasets.items() if d.metadata.path is not None},
        ig_sources={s: sources[s] for s in sources if submission.names(s)},
    )


def read_submission(path: Path | str, *, ig: str | None = None) -> Submission:
    """The :class:`Submission` in ``path`` (:func:`read_folder` without the reader's own findings)."""
    return read_folder(path, ig=ig).submission
