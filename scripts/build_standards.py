"""Build the CDISC standards data shipped in ``cdisc168/standards/`` from the public reference files.

Usage::

    python scripts/build_standards.py [--reference DIR] [--out DIR]

``--reference`` defaults to ``../shared/reference`` next to the repository; ``--out`` defaults to the
package folder ``cdisc168/standards``. The output is deterministic: rerunning the command on the same
inputs writes byte-identical files (gzip with mtime 0 and no file name, rows sorted on a fixed key,
``\\n`` line ends), so a test can rebuild into a temporary folder and compare bytes.

Sources (each named again, with the SHA-256 of the input file, in ``data/SOURCES.json``):

* ``ct/sdtm_ct.csv`` - CDISC SDTM Controlled Terminology, package 2025-03-28 (all codelists and terms),
  NCI EVS ``SDTM Terminology.txt`` as carried by patterninstitute/sdtm.terminology (``data-raw/``).
  Attribution: "CDISC Controlled Terminology, NCI EVS".
* ``ct/adam_ct_2025-03-28.csv`` - CDISC ADaM Controlled Terminology, package 2025-03-28, from the CDISC
  Library cache in cdisc-org/cdisc-rules-engine (``resources/cache/``), flattened to the NCI EVS layout.
* ``ct/define_xml_ct.csv`` - CDISC Define-XML Controlled Terminology, package 2026-03-27, same origin.
* ``ig/sdtmig_variables.csv``, ``ig/sdtmig_datasets.csv`` - SDTMIG v3.4 variable and dataset metadata,
  CDISC Library CSV exports carried by rubentalstra/Trial-Submission-Studio.
* ``ig/adamig_variables.csv``, ``ig/adamig_datastructures.csv`` - ADaMIG v1.3 (ADSL, BDS incl.
  time-to-event) and ADaM OCCDS v1.0 (ADAE) variable and data-structure metadata, same origin.
* ``schemas/define-xml-2.1/schema/`` - the Define-XML 2.1.10 XSD set (with the ODM 1.3.2 and ARM 1.0
  imports), from the CDISC Define-XML 2.1 release package; copied byte for byte with its folder layout
  so every ``xs:import``/``xs:include`` resolves locally.
* ``schemas/dataset-json-1.1/schema/`` and ``LICENSE`` - the Dataset-JSON 1.1 JSON schemas from
  cdisc-org/DataExchange-DatasetJson (MIT), copied byte for byte.

Generated layout (``data/`` is flat because the package data glob is ``standards/data/*``)::

    data/sdtm_ct.csv.gz  data/adam_ct_2025-03-28.csv.gz  data/define_xml_ct.csv.gz
    data/sdtmig_variables.csv.gz  data/sdtmig_datasets.csv.gz
    data/adamig_variables.csv.gz  data/adamig_datastructures.csv.gz  data/SOURCES.json
    schemas/define-xml-2.1/...     schemas/dataset-json-1.1/...

The CSV files keep the source columns unchanged (the CT files keep the NCI EVS table layout); the
``data/`` folder and the two schema folders are replaced wholesale on every run.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
DEFAULT_OUT = REPO_ROOT / "cdisc168" / "standards"

CT_COLUMNS = (
    "Code",
    "Codelist Code",
    "Codelist Extensible",
    "Codelist Name",
    "CDISC Submission Value",
    "CDISC Synonym(s)",
    "CDISC Definition",
    "NCI Preferred Term",
    "package_date",
)
SDTMIG_VARIABLE_COLUMNS = (
    "ig_version",
    "class",
    "dataset",
    "order",
    "variable",
    "label",
    "type",
    "codelist_codes",
    "codelist_submission_values",
    "described_value_domain",
    "value_list",
    "role",
    "core",
    "cdisc_notes",
)
SDTMIG_DATASET_COLUMNS = ("ig_version", "class", "dataset", "label", "structure")
ADAMIG_VARIABLE_COLUMNS = (
    "ig_version",
    "structure",
    "data_structure_name",
    "variable_set",
    "order",
    "variable",
    "label",
    "type",
    "codelist_codes",
    "codelist_submission_values",
    "described_value_domain",
    "value_list",
    "core",
    "cdisc_notes",
    "tte_specific",
)
ADAMIG_STRUCTURE_COLUMNS = (
    "Version",
    "Data Structure Name",
    "Data Structure Description",
    "Class",
    "Subclass",
    "CDISC Notes",
)

_CT_ORIGIN = (
    "NCI EVS 'SDTM Terminology.txt' as carried by the public repository patterninstitute/sdtm.terminology "
    "(data-raw/)"
)
_LIBRARY_CACHE = (
    "CDISC Library cache in the public repository cdisc-org/cdisc-rules-engine (resources/cache/), "
    "flattened to the NCI EVS table layout"
)
_IG_ORIGIN = "CDISC Library CSV exports carried by the public repository rubentalstra/Trial-Submission-Studio"
_CT_LICENSE = (
    "CDISC Controlled Terminology via NCI EVS: free to use; attribute 'CDISC Controlled Terminology, NCI EVS'"
)
_CDISC_LICENSE = "CDISC standards content; attribute CDISC"

Row = dict[str, str]


def _ct_sort_key(row: Row) -> tuple[str, str, int, str, str]:
    """Codelists by name (the NCI EVS order), the codelist row first, then its terms by value."""
    codelist = row["Codelist Code"] or row["Code"]
    return (
        row["Codelist Name"],
        codelist,
        1 if row["Codelist Code"] else 0,
        row["CDISC Submission Value"],
        row["Code"],
    )


def _ct_unique_key(row: Row) -> tuple[str, str]:
    return (row["Codelist Code"], row["Code"])


@dataclass(frozen=True)
class TableSpec:
    """One reference CSV turned into one shipped ``.csv.gz``."""

    input: str
    output: str
    columns: tuple[str, ...]
    sort_key: Callable[[Row], tuple[object, ...]]
    unique_key: Callable[[Row], tuple[str, ...]]
    kind: str
    standard: str
    source: str
    license: str
    package_date: str | None = None
    version: str | None = None
    expect: tuple[str, str] | None = None  # (column, value) every input row must carry


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        input="ct/sdtm_ct.csv",
        output="data/sdtm_ct.csv.gz",
        columns=CT_COLUMNS,
        sort_key=_ct_sort_key,
        unique_key=_ct_unique_key,
        kind="controlled terminology",
        standard="CDISC SDTM Controlled Terminology",
        source=_CT_ORIGIN,
        license=_CT_LICENSE,
        package_date="2025-03-28",
        expect=("package_date", "2025-03-28"),
    ),
    TableSpec(
        input="ct/adam_ct_2025-03-28.csv",
        output="data/adam_ct_2025-03-28.csv.gz",
        columns=CT_COLUMNS,
        sort_key=_ct_sort_key,
        unique_key=_ct_unique_key,
        kind="controlled terminology",
        standard="CDISC ADaM Controlled Terminology",
        source=_LIBRARY_CACHE,
        license=_CT_LICENSE,
        package_date="2025-03-28",
        expect=("package_date", "2025-03-28"),
    ),
    TableSpec(
        input="ct/define_xml_ct.csv",
        output="data/define_xml_ct.csv.gz",
        columns=CT_COLUMNS,
        sort_key=_ct_sort_key,
        unique_key=_ct_unique_key,
        kind="controlled terminology",
        standard="CDISC Define-XML Controlled Terminology",
        source=_LIBRARY_CACHE,
        license=_CT_LICENSE,
        package_date="2026-03-27",
        expect=("package_date", "2026-03-27"),
    ),
    TableSpec(
        input="ig/sdtmig_variables.csv",
        output="data/sdtmig_variables.csv.gz",
        columns=SDTMIG_VARIABLE_COLUMNS,
        sort_key=lambda r: (r["dataset"], int(r["order"])),
        unique_key=lambda r: (r["dataset"], r["variable"]),
        kind="implementation guide variable metadata",
        standard="SDTMIG",
        source=_IG_ORIGIN,
        license=_CDISC_LICENSE,
        version="3.4",
        expect=("ig_version", "SDTMIG v3.4"),
    ),
    TableSpec(
        input="ig/sdtmig_datasets.csv",
        output="data/sdtmig_datasets.csv.gz",
        columns=SDTMIG_DATASET_COLUMNS,
        sort_key=lambda r: (r["dataset"],),
        unique_key=lambda r: (r["dataset"],),
        kind="implementation guide dataset metadata",
        standard="SDTMIG",
        source=_IG_ORIGIN,
        license=_CDISC_LICENSE,
        version="3.4",
        expect=("ig_version", "SDTMIG v3.4"),
    ),
    TableSpec(
        input="ig/adamig_variables.csv",
        output="data/adamig_variables.csv.gz",
        columns=ADAMIG_VARIABLE_COLUMNS,
        sort_key=lambda r: (r["structure"], int(r["order"])),
        unique_key=lambda r: (r["structure"], r["variable"]),
        kind="implementation guide variable metadata",
        standard="ADaMIG (ADSL, BDS incl. time-to-event) and ADaM OCCDS (ADAE)",
        source=_IG_ORIGIN,
        license=_CDISC_LICENSE,
        version="ADaMIG 1.3; ADaM OCCDS 1.0",
    ),
    TableSpec(
        input="ig/adamig_datastructures.csv",
        output="data/adamig_datastructures.csv.gz",
        columns=ADAMIG_STRUCTURE_COLUMNS,
        sort_key=lambda r: (r["Data Structure Name"],),
        unique_key=lambda r: (r["Data Structure Name"],),
        kind="implementation guide data structure metadata",
        standard="ADaMIG",
        source=_IG_ORIGIN,
        license=_CDISC_LICENSE,
        version="1.3",
        expect=("Version", "ADaMIG v1.3"),
    ),
)


@dataclass(frozen=True)
class SchemaSpec:
    """A schema folder copied byte for byte (relative layout kept), plus an optional licence file."""

    input_dir: str
    output_dir: str
    standard: str
    version: str
    source: str
    license: str
    license_file: str | None = None


SCHEMAS: tuple[SchemaSpec, ...] = (
    SchemaSpec(
        input_dir="schemas/define-xml-2.1/schema",
        output_dir="schemas/define-xml-2.1",
        standard="CDISC Define-XML (with ODM 1.3.2 and ARM 1.0 imports)",
        version="2.1.10",
        source="CDISC Define-XML 2.1 release package",
        license=_CDISC_LICENSE,
    ),
    SchemaSpec(
        input_dir="schemas/dataset-json-1.1/schema",
        output_dir="schemas/dataset-json-1.1",
        standard="CDISC Dataset-JSON",
        version="1.1",
        source="public repository cdisc-org/DataExchange-DatasetJson",
        license="MIT (see LICENSE)",
        license_file="schemas/dataset-json-1.1/LICENSE",
    ),
)


class BuildError(RuntimeError):
    """A reference file is missing or does not have the expected layout."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a fixed header (no file name, mtime 0) so the output depends on the content only."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def read_table(path: Path, columns: Sequence[str]) -> list[Row]:
    """Read a reference CSV as text, refusing a header other than ``columns`` and ragged rows."""
    if not path.is_file():
        raise BuildError(f"{path}: reference file not found")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != tuple(columns):
            raise BuildError(f"{path}: unexpected header {header!r}; expected {list(columns)!r}")
        rows: list[Row] = []
        for line_no, values in enumerate(reader, start=2):
            if len(values) != len(columns):
                raise BuildError(f"{path}:{line_no}: {len(values)} fields, expected {len(columns)}")
            rows.append(dict(zip(columns, values, strict=True)))
    return rows


def table_csv(rows: list[Row], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows([row[c] for c in columns] for row in rows)
    return buffer.getvalue().encode("utf-8")


def build_table(spec: TableSpec, reference: Path, out: Path) -> dict[str, object]:
    source_path = reference / spec.input
    rows = read_table(source_path, spec.columns)
    raw = source_path.read_bytes()
    if spec.expect is not None:
        column, value = spec.expect
        others = sorted({row[column] for row in rows} - {value})
        if others:
            raise BuildError(f"{source_path}: {column} must be {value!r} on every row, found {others!r}")
    seen: set[tuple[str, ...]] = set()
    for row in rows:
        key = spec.unique_key(row)
        if key in seen:
            raise BuildError(f"{source_path}: duplicate row for key {key!r}")
        seen.add(key)
    rows.sort(key=spec.sort_key)
    payload = gzip_bytes(table_csv(rows, spec.columns))
    target = out / spec.output
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)
    entry: dict[str, object] = {
        "file": spec.output,
        "kind": spec.kind,
        "standard": spec.standard,
        "input": spec.input,
        "input_sha256": sha256(raw),
        "rows": len(rows),
        "source": spec.source,
        "license": spec.license,
        "sha256": sha256(payload),
    }
    if spec.package_date is not None:
        entry["package_date"] = spec.package_date
    if spec.version is not None:
        entry["version"] = spec.version
    return entry


def copy_schema(spec: SchemaSpec, reference: Path, out: Path) -> list[dict[str, object]]:
    source_dir = reference / spec.input_dir
    if not source_dir.is_dir():
        raise BuildError(f"{source_dir}: schema folder not found")
    target_dir = out / spec.output_dir
    if target_dir.exists():
        shutil.rmtree(target_dir)
    pairs = [
        (p, target_dir / p.relative_to(source_dir)) for p in sorted(source_dir.rglob("*")) if p.is_file()
    ]
    if spec.license_file is not None:
        license_path = reference / spec.license_file
        if not license_path.is_file():
            raise BuildError(f"{license_path}: licence file not found")
        pairs.append((license_path, target_dir / license_path.name))
    entries: list[dict[str, object]] = []
    for source, target in pairs:
        data = source.read_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written anew (not copied with metadata): the reference files are read-only.
        target.write_bytes(data)
        entries.append(
            {
                "file": target.relative_to(out).as_posix(),
                "kind": "schema" if source.name != "LICENSE" else "licence",
                "standard": spec.standard,
                "version": spec.version,
                "input": source.relative_to(reference).as_posix(),
                "input_sha256": sha256(data),
                "source": spec.source,
                "license": spec.license,
                "sha256": sha256(data),
            }
        )
    return entries


def build(reference: Path, out: Path) -> list[dict[str, object]]:
    """Write every shipped standards file under ``out`` and return the SOURCES.json entries."""
    reference = reference.resolve()
    if not reference.is_dir():
        raise BuildError(f"{reference}: reference folder not found")
    # Check every input before anything is replaced, so a failed build leaves the old files in place.
    required = [reference / t.input for t in TABLES] + [reference / s.input_dir for s in SCHEMAS]
    missing = [str(p) for p in required if not p.exists()]
    if missing:
        raise BuildError(f"reference files not found: {', '.join(missing)}")
    data_dir = out / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    entries = [build_table(spec, reference, out) for spec in TABLES]
    for spec in SCHEMAS:
        entries.extend(copy_schema(spec, reference, out))
    manifest = {
        "description": (
            "CDISC standards data shipped with cdisc168, generated by scripts/build_standards.py from the "
            "public reference files listed here (see also the script's docstring)."
        ),
        "generated_by": "scripts/build_standards.py",
        "files": entries,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    (data_dir / "SOURCES.json").write_text(text, encoding="utf-8", newline="\n")
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_REFERENCE,
        help=f"reference folder (default {DEFAULT_REFERENCE})",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    try:
        entries = build(args.reference, args.out)
    except BuildError as exc:
        print(f"build_standards: {exc}", file=sys.stderr)
        return 2
    total = sum((args.out / str(e["file"])).stat().st_size for e in entries)
    print(f"build_standards: wrote {len(entries)} files ({total / 1e6:.2f} MB) under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
