"""Writing the submission package: the eCTD module 5 dataset folders, Dataset-JSON and the manifest.

Layout (DESIGN.md "Outputs"; FDA Study Data Technical Conformance Guide §7, eCTD module 5 folders)::

    m5/datasets/<submission_folder>/tabulations/sdtm/       *.xpt, define.xml, define2-1.xsl, define.html,
                                                            csdrg.md, csdrg.html
    m5/datasets/<submission_folder>/analysis/adam/datasets/ *.xpt, define.xml, define2-1.xsl, define.html,
                                                            adrg.md, adrg.html
    datasetjson/{sdtm,adam}/*.json                          Dataset-JSON 1.1 (OIDs of the define.xml)

Empty datasets are not written (FDA TCG §4.1.1.3: no empty datasets); define.xml lists them with
``def:HasNoData="Yes"``. The define.xml of each folder is generated from the same specs as the data and then
checked against what was written (XSD validity, datasets, variables, lengths, labels, codelist values): any
disagreement raises :class:`DefineMismatchError` — the build stops with exit 2 and, as the package is
written inside :func:`cdisc168.write.package.atomic_folder`, nothing is left behind.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from lxml import etree

from cdisc168.adam_spec import AdamSpec
from cdisc168.check.define_data import compare_define_with_data
from cdisc168.check.submission import DatasetMetadata
from cdisc168.datasetjson import write_dataset_json
from cdisc168.findings import Finding, Severity
from cdisc168.spec import DatasetSpec
from cdisc168.standards.schemas import parse_xml, validate_define_xml
from cdisc168.standards.study_ct import StudyCT
from cdisc168.study import Study
from cdisc168.write import oids
from cdisc168.write.analysis import to_sas_values, write_analysis
from cdisc168.write.define import render_define
from cdisc168.write.define_html import render_define_html
from cdisc168.write.define_model import (
    DefineModel,
    SupplementalDocument,
    adam_define_model,
    dataset_columns,
    sdtm_define_model,
)
from cdisc168.write.tabulation import tabulation_frame, write_tabulations
from cdisc168.write.xpt_header import header_variables, read_xpt_header_file

DEFINE_NAME = "define.xml"
STYLESHEET_NAME = "define2-1.xsl"
DEFINE_HTML_NAME = "define.html"
SOURCE_SYSTEM = "cdisc168"
DEFINE_XSD_RULE = "DEF-XSD"


class DefineMismatchError(Exception):
    """define.xml and the written data disagree (or define.xml is not valid); ``findings`` say where."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("; ".join(f.message for f in self.findings[:5]))


@dataclass(frozen=True)
class Layout:
    """The folders of one package (all under ``root``)."""

    root: Path
    submission_folder: str

    @property
    def study(self) -> Path:
        return self.root / "m5" / "datasets" / self.submission_folder

    @property
    def sdtm(self) -> Path:
        return self.study / "tabulations" / "sdtm"

    @property
    def adam(self) -> Path:
        return self.study / "analysis" / "adam" / "datasets"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def datasetjson(self, model: str) -> Path:
        return self.root / "datasetjson" / model.lower()


def data_cut_timestamp(study: Study) -> dt.datetime:
    """The one moment every output carries: the data cut date at 00:00:00 (no wall-clock time)."""
    return dt.datetime.combine(study.data_cut, dt.time())


def non_empty(datasets: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The datasets that have records (FDA TCG: empty datasets are not submitted)."""
    return {name: frame for name, frame in datasets.items() if len(frame)}


def written_metadata(folder: Path, names: Sequence[str]) -> dict[str, DatasetMetadata]:
    """What the XPT files in ``folder`` state about themselves (member header and NAMESTR records)."""
    found = {}
    for name in names:
        path = folder / f"{name.lower()}.xpt"
        header = read_xpt_header_file(path)
        found[name] = DatasetMetadata(name, header.label, header_variables(header), path)
    return found


@dataclass(frozen=True)
class DefinePart:
    """One define.xml to write: its model, its folder, the datasets written there and what their files
    state about themselves."""

    model: DefineModel
    folder: Path
    datasets: dict[str, pd.DataFrame]
    metadata: dict[str, DatasetMetadata]


def write_define(part: DefinePart, template_dir: Path) -> tuple[etree._ElementTree, list[Finding]]:
    """Write define.xml, the stylesheet and define.html into the part's folder; return the parsed
    define.xml and every disagreement between it and the written data (XSD validity included)."""
    xml = render_define(part.model, template_dir)
    define_path = part.folder / DEFINE_NAME
    define_path.write_bytes(xml)
    stylesheet = part.folder / STYLESHEET_NAME
    shutil.copyfile(template_dir / STYLESHEET_NAME, stylesheet)
    (part.folder / DEFINE_HTML_NAME).write_bytes(render_define_html(xml, stylesheet))
    tree = parse_xml(define_path)
    problems = [
        Finding(
            DEFINE_XSD_RULE,
            Severity.ERROR,
            f"{define_path.name} is not valid Define-XML 2.1: {message}",
            dataset=f"{part.folder.name}/{define_path.name}",
        )
        for message in validate_define_xml(tree)
    ]
    compared = compare_define_with_data(tree, part.metadata, part.datasets)
    return tree, problems + [f for f in compared if f.severity is Severity.ERROR]


def write_dataset_jsons(part: DefinePart, folder: Path, study: Study, define_href: str) -> None:
    """Dataset-JSON 1.1 of every written dataset, its metadata taken from the define model (same OIDs)."""
    folder.mkdir(parents=True, exist_ok=True)
    created = data_cut_timestamp(study)
    for name, frame in part.datasets.items():
        write_dataset_json(
            frame,
            folder / f"{name.lower()}.json",
            name=name,
            label=part.model.item_group(name).label,
            columns=dataset_columns(part.model, name),
            item_group_oid=oids.item_group_oid(name),
            study_oid=oids.study_oid(study.studyid),
            metadata_version_oid=part.model.mdv_oid,
            metadata_ref=define_href,
            file_oid=oids.dataset_json_file_oid(study.studyid, name),
            created=created,
            originator=study.sponsor,
            source_system=SOURCE_SYSTEM,
            source_system_version=part.model.source_system_version,
        )


@dataclass(frozen=True)
class PackageInput:
    """Everything the package is written from (all built in memory before anything is written)."""

    study: Study
    study_ct: StudyCT
    sdtm: Mapping[str, pd.DataFrame]
    sdtm_specs: dict[str, DatasetSpec]
    adam: Mapping[str, pd.DataFrame]
    adam_specs: dict[str, AdamSpec]


@dataclass(frozen=True)
class WrittenPackage:
    """The datasets as written (SDTM without lineage columns, ADaM dates as SAS numbers), their file
    metadata and the parsed define.xml of each standard."""

    datasets: dict[str, pd.DataFrame]
    metadata: dict[str, DatasetMetadata]
    define: dict[str, etree._ElementTree]


CSDRG = SupplementalDocument("Clinical Study Data Reviewer's Guide", "csdrg.html")
ADRG = SupplementalDocument("Analysis Data Reviewer's Guide", "adrg.html")


def write_data_and_define(layout: Layout, package: PackageInput) -> WrittenPackage:
    """XPT files, define.xml (+ stylesheet, define.html) and Dataset-JSON of both standards.

    Raises :class:`DefineMismatchError` when a define.xml is not valid or disagrees with the data.
    """
    study, timestamp = package.study, data_cut_timestamp(package.study)
    sdtm_all = {
        name: tabulation_frame(name, frame, package.sdtm_specs) for name, frame in package.sdtm.items()
    }
    sdtm, adam = non_empty(sdtm_all), non_empty(package.adam)
    sdtm_lengths = write_tabulations(sdtm, package.sdtm_specs, layout.sdtm, timestamp)
    adam_lengths = write_analysis(adam, package.adam_specs, layout.adam, timestamp)
    parts = {
        oids.SDTM: DefinePart(
            sdtm_define_model(sdtm_all, package.sdtm_specs, sdtm_lengths, study, package.study_ct, [CSDRG]),
            layout.sdtm,
            sdtm,
            written_metadata(layout.sdtm, list(sdtm)),
        ),
        oids.ADAM: DefinePart(
            adam_define_model(
                dict(package.adam), package.adam_specs, adam_lengths, study, package.study_ct, [ADRG]
            ),
            layout.adam,
            adam,
            written_metadata(layout.adam, list(adam)),
        ),
    }
    trees, problems = {}, []
    for model, part in parts.items():
        trees[model], found = write_define(part, study.define_dir)
        problems += found
    if problems:
        raise DefineMismatchError(problems)
    for model, part in parts.items():
        href = Path(os.path.relpath(part.folder / DEFINE_NAME, layout.datasetjson(model))).as_posix()
        write_dataset_jsons(part, layout.datasetjson(model), study, href)
    written = {**sdtm, **{n: to_sas_values(f, package.adam_specs[n]) for n, f in adam.items()}}
    metadata = {**parts[oids.SDTM].metadata, **parts[oids.ADAM].metadata}
    return WrittenPackage(written, metadata, trees)
