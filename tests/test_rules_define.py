"""define.xml rules (rules/define.yaml): a passing and a failing example for every rule, exact findings.

The example is a small SDTM define.xml written by hand (valid against the Define-XML 2.1 XSD, which the
first test asserts): DM (codelist SEX, external ISO 3166 COUNTRY), LB (codelist LBTESTCD, numeric
codelist VISITNUM, value-level codelist POSNEG for LBORRES where LBTESTCD = HCG) and AE described with
def:HasNoData="Yes". The data agree with it; each failing example changes one fact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from cdisc168.check import define_rules  # noqa: F401  (registers the checks of the catalog file)
from cdisc168.check.catalog import RULES_DIR, load_rules_file
from cdisc168.check.define_data import compare_define_with_data, define_standard, read_define
from cdisc168.check.run import run_rules
from cdisc168.check.submission import DatasetMetadata, Submission
from cdisc168.findings import Severity
from cdisc168.standards.schemas import safe_xml_parser, validate_define_xml

CATALOG = load_rules_file(RULES_DIR / "define.yaml")


def _item(
    dataset: str, name: str, data_type: str, label: str, length: int, extra: str = "", oid: str = ""
) -> str:
    return (
        f'<ItemDef OID="{oid or f"IT.{dataset}.{name}"}" Name="{name}" DataType="{data_type}" Length="{length}" '
        f'SASFieldName="{name}">'
        f'<Description><TranslatedText xml:lang="en">{label}</TranslatedText></Description>{extra}'
        '<def:Origin Type="Collected" Source="Investigator"/></ItemDef>'
    )


def _refs(dataset: str, names: list[str]) -> str:
    return "".join(
        f'<ItemRef ItemOID="IT.{dataset}.{n}" OrderNumber="{i}" Mandatory="No"/>'
        for i, n in enumerate(names, 1)
    )


def _codelist(oid: str, data_type: str, values: list[str]) -> str:
    items = "".join(f'<EnumeratedItem CodedValue="{v}"/>' for v in values)
    return f'<CodeList OID="{oid}" Name="{oid}" DataType="{data_type}">{items}</CodeList>'


DM_VARIABLES = ["STUDYID", "USUBJID", "SEX", "AGE", "COUNTRY"]
LB_VARIABLES = ["STUDYID", "USUBJID", "LBSEQ", "LBTESTCD", "LBORRES", "LBSTRESN", "VISITNUM"]
LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SEX": "Sex",
    "AGE": "Age",
    "COUNTRY": "Country",
    "LBSEQ": "Sequence Number",
    "LBTESTCD": "Lab Test or Examination Short Name",
    "LBORRES": "Result or Finding in Original Units",
    "LBSTRESN": "Numeric Result/Finding in Standard Units",
    "VISITNUM": "Visit Number",
    "AETERM": "Reported Term for the Adverse Event",
}
DATASET_LABELS = {"DM": "Demographics", "LB": "Laboratory Test Results"}


def _group(name: str, label: str, names: list[str], structure: str, class_name: str) -> str:
    return (
        f'<ItemGroupDef OID="IG.{name}" Name="{name}" Domain="{name}" SASDatasetName="{name}" Repeating="Yes" '
        f'IsReferenceData="No" Purpose="Tabulation" def:Structure="{structure}" def:StandardOID="STD.1" '
        f'def:ArchiveLocationID="LF.{name}"><Description><TranslatedText xml:lang="en">{label}</TranslatedText>'
        f'</Description>{_refs(name, names)}<def:Class Name="{class_name}"/>'
        f'<def:leaf ID="LF.{name}" xlink:href="{name.lower()}.xpt"><def:title>{name.lower()}.xpt</def:title>'
        "</def:leaf></ItemGroupDef>"
    )


DEFINE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:def="http://www.cdisc.org/ns/def/v2.1" ODMVersion="1.3.2" FileOID="DEF.ST01.SDTM" '
    'FileType="Snapshot" CreationDateTime="2026-03-31T00:00:00" def:Context="Submission">\n'
    '<Study OID="STDY.ST01"><GlobalVariables><StudyName>ST01</StudyName><StudyDescription>ST01'
    "</StudyDescription><ProtocolName>ST01</ProtocolName></GlobalVariables>\n"
    '<MetaDataVersion OID="MDV.ST01.SDTM" Name="ST01 SDTM" def:DefineVersion="2.1.0">\n'
    '<def:Standards><def:Standard OID="STD.1" Name="SDTMIG" Type="IG" Version="3.4" Status="Final"/>'
    "</def:Standards>\n"
    '<def:ValueListDef OID="VL.LB.LBORRES"><ItemRef ItemOID="IT.LB.LBORRES.HCG" OrderNumber="1" Mandatory="No">'
    '<def:WhereClauseRef WhereClauseOID="WC.LB.LBTESTCD.HCG"/></ItemRef></def:ValueListDef>\n'
    '<def:WhereClauseDef OID="WC.LB.LBTESTCD.HCG"><RangeCheck Comparator="EQ" SoftHard="Soft" '
    'def:ItemOID="IT.LB.LBTESTCD"><CheckValue>HCG</CheckValue></RangeCheck></def:WhereClauseDef>\n'
    + _group("DM", "Demographics", DM_VARIABLES, "One record per subject", "SPECIAL PURPOSE")
    + "\n"
    + _group(
        "LB", "Laboratory Test Results", LB_VARIABLES, "One record per test per visit per subject", "FINDINGS"
    )
    + "\n"
    '<ItemGroupDef OID="IG.AE" Name="AE" Domain="AE" SASDatasetName="AE" Repeating="Yes" IsReferenceData="No" '
    'Purpose="Tabulation" def:Structure="One record per adverse event per subject" def:StandardOID="STD.1" '
    'def:HasNoData="Yes"><Description><TranslatedText xml:lang="en">Adverse Events</TranslatedText></Description>'
    + _refs("AE", ["AETERM"])
    + '<def:Class Name="EVENTS"/></ItemGroupDef>\n'
    + _item("DM", "STUDYID", "text", LABELS["STUDYID"], 4)
    + _item("DM", "USUBJID", "text", LABELS["USUBJID"], 6)
    + _item("DM", "SEX", "text", LABELS["SEX"], 1, '<CodeListRef CodeListOID="CL.SEX"/>')
    + _item("DM", "AGE", "integer", LABELS["AGE"], 3)
    + _item("DM", "COUNTRY", "text", LABELS["COUNTRY"], 3, '<CodeListRef CodeListOID="CL.COUNTRY"/>')
    + "\n"
    + _item("LB", "STUDYID", "text", LABELS["STUDYID"], 4)
    + _item("LB", "USUBJID", "text", LABELS["USUBJID"], 6)
    + _item("LB", "LBSEQ", "integer", LABELS["LBSEQ"], 8)
    + _item("LB", "LBTESTCD", "text", LABELS["LBTESTCD"], 3, '<CodeListRef CodeListOID="CL.LBTESTCD"/>')
    + _item("LB", "LBORRES", "text", LABELS["LBORRES"], 8, '<def:ValueListRef ValueListOID="VL.LB.LBORRES"/>')
    + _item(
        "LB",
        "LBORRES",
        "text",
        "HCG result",
        8,
        '<CodeListRef CodeListOID="CL.POSNEG"/>',
        "IT.LB.LBORRES.HCG",
    )
    + _item("LB", "LBSTRESN", "float", LABELS["LBSTRESN"], 8)
    + _item("LB", "VISITNUM", "float", LABELS["VISITNUM"], 8, '<CodeListRef CodeListOID="CL.VISITNUM"/>')
    + _item("AE", "AETERM", "text", LABELS["AETERM"], 200)
    + "\n"
    + _codelist("CL.SEX", "text", ["F", "M"])
    + _codelist("CL.LBTESTCD", "text", ["ALB", "HCG"])
    + _codelist("CL.POSNEG", "text", ["NEGATIVE", "POSITIVE"])
    + _codelist("CL.VISITNUM", "float", ["1", "2"])
    + '<CodeList OID="CL.COUNTRY" Name="Country" DataType="text"><ExternalCodeList Dictionary="ISO 3166-1 alpha-3" '
    'Version="2020-08"/></CodeList>\n'
    "</MetaDataVersion></Study></ODM>\n"
)


def _frames() -> dict[str, pd.DataFrame]:
    return {
        "DM": pd.DataFrame(
            {
                "STUDYID": ["ST01", "ST01"],
                "USUBJID": ["ST01-1", "ST01-2"],
                "SEX": ["F", "M"],
                "AGE": [34.0, 51.0],
                "COUNTRY": ["CHN", "XYZ"],  # external dictionary: not judged
            }
        ),
        "LB": pd.DataFrame(
            {
                "STUDYID": ["ST01"] * 3,
                "USUBJID": ["ST01-1", "ST01-1", "ST01-2"],
                "LBSEQ": [1.0, 2.0, 1.0],
                "LBTESTCD": ["ALB", "HCG", "HCG"],
                "LBORRES": ["41", "NEGATIVE", "POSITIVE"],  # "41" is outside POSNEG but LBTESTCD is ALB
                "LBSTRESN": [41.0, np.nan, np.nan],
                "VISITNUM": [1.0, 1.0, 2.0],
            }
        ),
    }


def _metadata(name: str, frame: pd.DataFrame, folder: Path) -> DatasetMetadata:
    variables = {
        c: {
            "label": LABELS.get(c, c),
            "type": "Num" if pd.api.types.is_numeric_dtype(frame[c]) else "Char",
            "length": 8 if pd.api.types.is_numeric_dtype(frame[c]) else int(frame[c].str.len().max()),
            "display_format": None,
        }
        for c in frame.columns
    }
    return DatasetMetadata(name, DATASET_LABELS.get(name, name), variables, folder / f"{name.lower()}.xpt")


@dataclass
class Example:
    """A define.xml (text) and the data it describes, written to a folder like a submission."""

    folder: Path
    xml: str = DEFINE_XML
    frames: dict[str, pd.DataFrame] = field(default_factory=_frames)
    metadata: dict[str, DatasetMetadata] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metadata = {n: _metadata(n, f, self.folder) for n, f in self.frames.items()}
        for name in self.frames:
            (self.folder / f"{name.lower()}.xpt").write_bytes(b"")

    def tree(self) -> etree._ElementTree:
        path = self.folder / "define.xml"
        path.write_text(self.xml, encoding="utf-8")
        return etree.parse(str(path), safe_xml_parser())

    def submission(self) -> Submission:
        return Submission.from_frames(self.frames, self.metadata, define={"SDTM": self.tree()})


def _findings(example: Example, rule_id: str) -> list[tuple[str, str, int | None, str, str]]:
    rule = next(r for r in CATALOG if r.id == rule_id)
    result = run_rules(example.submission(), [rule])
    assert rule_id not in result.not_applied
    assert not [f for f in result.findings if f.rule == "VAL-INTERNAL"], list(result.findings)
    return sorted((f.rule, f.dataset, f.row, f.variable, f.value) for f in result.findings)


def _set_meta(example: Example, name: str, variable: str, **attributes: object) -> None:
    example.metadata[name].variables[variable].update(attributes)


def _add_dataset(example: Example) -> None:
    vs = pd.DataFrame({"STUDYID": ["ST01"], "USUBJID": ["ST01-1"]})
    example.frames["VS"] = vs
    example.metadata["VS"] = _metadata("VS", vs, example.folder)


def _drop_dataset(example: Example) -> None:
    del example.frames["LB"], example.metadata["LB"]


def _add_variable(example: Example) -> None:
    example.frames["LB"]["LBNAM"] = "LAB A"
    example.metadata["LB"] = _metadata("LB", example.frames["LB"], example.folder)


def _drop_variable(example: Example) -> None:
    example.frames["LB"] = example.frames["LB"].drop(columns="VISITNUM")
    example.metadata["LB"] = _metadata("LB", example.frames["LB"], example.folder)


def _reorder(example: Example) -> None:
    order = ["STUDYID", "USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBORRES", "VISITNUM"]
    example.frames["LB"] = example.frames["LB"][order]
    example.metadata["LB"] = _metadata("LB", example.frames["LB"], example.folder)


def _schema_error(example: Example) -> None:
    example.xml = example.xml.replace(' Repeating="Yes"', "", 1)


def _age_as_text(example: Example) -> None:
    example.xml = example.xml.replace('Name="AGE" DataType="integer"', 'Name="AGE" DataType="text"')


def _sex_unknown(example: Example) -> None:
    example.frames["DM"].loc[1, "SEX"] = "U"


def _hcg_abbreviated(example: Example) -> None:
    example.frames["LB"].loc[2, "LBORRES"] = "POS"
    example.metadata["LB"] = _metadata("LB", example.frames["LB"], example.folder)


def _visit_unplanned(example: Example) -> None:
    example.frames["LB"].loc[[1, 2], "VISITNUM"] = 2.5


def _lb_file_missing(example: Example) -> None:
    (example.folder / "lb.xpt").unlink()


# rule id → (change making the example fail, the expected (rule, dataset, row, variable, value) findings)
FAILING: dict[str, tuple[Callable[[Example], None], list[tuple[str, str, int | None, str, str]]]] = {
    "DEF-SCHEMA": (_schema_error, [("DEF-SCHEMA", "SDTM", None, "", "")]),
    "DEF-DATASET": (_add_dataset, [("DEF-DATASET", "VS", None, "", "VS")]),
    "DEF-DATASET-NODATA": (_drop_dataset, [("DEF-DATASET-NODATA", "LB", None, "", "LB")]),
    "DEF-VARIABLE": (_add_variable, [("DEF-VARIABLE", "LB", None, "LBNAM", "LBNAM")]),
    "DEF-VARIABLE-NODATA": (_drop_variable, [("DEF-VARIABLE-NODATA", "LB", None, "VISITNUM", "VISITNUM")]),
    "DEF-ORDER": (_reorder, [("DEF-ORDER", "LB", None, "LBSTRESN", "LBSTRESN")]),
    "DEF-LENGTH": (
        lambda e: _set_meta(e, "LB", "LBORRES", length=10),
        [("DEF-LENGTH", "LB", None, "LBORRES", "")],
    ),
    "DEF-LABEL": (
        lambda e: _set_meta(e, "DM", "SEX", label="Gender"),
        [("DEF-LABEL", "DM", None, "SEX", "")],
    ),
    "DEF-DATASET-LABEL": (
        lambda e: setattr(e.metadata["DM"], "label", "Demography"),
        [("DEF-DATASET-LABEL", "DM", None, "", "")],
    ),
    "DEF-DATATYPE": (_age_as_text, [("DEF-DATATYPE", "DM", None, "AGE", "")]),
    "DEF-CODELIST": (_sex_unknown, [("DEF-CODELIST", "DM", 2, "SEX", "U")]),
    "DEF-VLM-CODELIST": (_hcg_abbreviated, [("DEF-VLM-CODELIST", "LB", 3, "LBORRES", "POS")]),
    "DEF-LEAF": (_lb_file_missing, [("DEF-LEAF", "LB", None, "", "lb.xpt")]),
}
DEFINE_RULES = [r.id for r in CATALOG]


def test_the_example_define_is_valid_define_xml_2_1(tmp_path: Path) -> None:
    tree = Example(tmp_path).tree()
    assert validate_define_xml(tree) == []
    assert define_standard(tree) == "SDTM"


def test_every_define_rule_has_a_failing_example() -> None:
    assert sorted(FAILING) == sorted(DEFINE_RULES)


@pytest.mark.parametrize("rule_id", DEFINE_RULES)
def test_define_rule_passes_when_define_and_data_agree(rule_id: str, tmp_path: Path) -> None:
    assert _findings(Example(tmp_path), rule_id) == []


@pytest.mark.parametrize("rule_id", DEFINE_RULES)
def test_define_rule_fails_on_its_example(rule_id: str, tmp_path: Path) -> None:
    example = Example(tmp_path)
    change, expected = FAILING[rule_id]
    change(example)
    assert _findings(example, rule_id) == expected


def _messages(example: Example) -> list[str]:
    return [f.message for f in compare_define_with_data(example.tree(), example.metadata, example.frames)]


def test_compare_define_with_data_is_empty_when_they_agree(tmp_path: Path) -> None:
    example = Example(tmp_path)
    assert compare_define_with_data(example.tree(), example.metadata, example.frames) == []


def test_length_mismatch_names_both_sides(tmp_path: Path) -> None:
    example = Example(tmp_path)
    _set_meta(example, "LB", "LBORRES", length=10)
    findings = compare_define_with_data(example.tree(), example.metadata, example.frames)
    assert [(f.rule, f.severity) for f in findings] == [("DEF-LENGTH", Severity.ERROR)]
    assert findings[0].message == "LB.LBORRES: define.xml Length 8, lb.xpt length 10"


def test_codelist_finding_counts_each_bad_value_once_at_its_first_row(tmp_path: Path) -> None:
    # VISITNUM 2.5 on LB rows 2 and 3: one finding at row 2 for two records; 1 and 2 match "1" and "2".
    example = Example(tmp_path)
    _visit_unplanned(example)
    findings = compare_define_with_data(example.tree(), example.metadata, example.frames)
    assert [(f.rule, f.dataset, f.row, f.variable, f.value, f.usubjid) for f in findings] == [
        ("DEF-CODELIST", "LB", 2, "VISITNUM", "2.5", "ST01-1")
    ]
    assert (
        findings[0].message == "LB.VISITNUM: '2.5' is not in codelist CL.VISITNUM (2 records, first at row 2)"
    )


def test_value_level_codelist_applies_only_to_the_selected_records(tmp_path: Path) -> None:
    example = Example(tmp_path)
    _hcg_abbreviated(example)
    assert _messages(example) == [
        "LB.LBORRES where LBTESTCD EQ HCG: 'POS' is not in codelist CL.POSNEG (1 record, first at row 3)"
    ]


def test_without_records_only_metadata_is_compared(tmp_path: Path) -> None:
    example = Example(tmp_path)
    _sex_unknown(example)
    _set_meta(example, "DM", "SEX", label="Gender")
    findings = compare_define_with_data(example.tree(), example.metadata)
    assert [(f.rule, f.message) for f in findings] == [
        ("DEF-LABEL", "DM.SEX: define.xml label 'Sex', dm.xpt label 'Gender'")
    ]


def test_dataset_described_as_having_no_data_needs_no_file(tmp_path: Path) -> None:
    model = read_define(Example(tmp_path).tree())
    assert model.datasets["AE"].has_no_data
    assert model.codelists["CL.COUNTRY"] is None
    assert model.folder == tmp_path


def test_define_built_in_memory_skips_the_leaf_check(tmp_path: Path) -> None:
    example = Example(tmp_path)
    _lb_file_missing(example)
    tree = etree.fromstring(example.xml.encode("utf-8"), safe_xml_parser()).getroottree()
    assert compare_define_with_data(tree, example.metadata, example.frames) == []


def test_fixture_adam_define_agrees_with_the_written_data(adam_datasets, study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The define.xml the package generator writes for the built-in study's ADaM datasets, checked against
    # the XPT files written beside it: valid, and in agreement; a changed ADSL.SEX is then caught.
    from cdisc168.adam_spec import load_adam_specs
    from cdisc168.standards.study_ct import load_study_ct
    from cdisc168.write.analysis import write_analysis
    from cdisc168.write.define import render_define
    from cdisc168.write.define_model import adam_define_model
    from cdisc168.write.xpt import read_xpt

    specs = load_adam_specs(study.mappings_dir)
    lengths = write_analysis(adam_datasets, specs, tmp_path, pd.Timestamp(study.data_cut).to_pydatetime())
    model = adam_define_model(adam_datasets, specs, lengths, study, load_study_ct())
    (tmp_path / "define.xml").write_bytes(render_define(model, study.define_dir))
    tree = etree.parse(str(tmp_path / "define.xml"), safe_xml_parser())
    metadata = {}
    for name in adam_datasets:
        path = tmp_path / f"{name.lower()}.xpt"
        _, meta = read_xpt(path)
        metadata[name] = DatasetMetadata(name, meta["label"], meta["variables"], path)
    assert validate_define_xml(tree) == []
    assert compare_define_with_data(tree, metadata, adam_datasets) == []

    changed = dict(adam_datasets, ADSL=adam_datasets["ADSL"].assign(SEX="X"))
    findings = compare_define_with_data(tree, metadata, changed)
    assert [(f.rule, f.dataset, f.row, f.variable, f.value) for f in findings] == [
        ("DEF-CODELIST", "ADSL", 1, "SEX", "X")
    ]


def test_value_level_condition_on_a_numeric_variable_compares_numbers(tmp_path: Path) -> None:
    # where VISITNUM EQ "2" selects LB row 3 (VISITNUM 2.0), whose LBORRES must then be in POSNEG.
    example = Example(tmp_path)
    example.xml = example.xml.replace(
        'def:ItemOID="IT.LB.LBTESTCD"><CheckValue>HCG</CheckValue>',
        'def:ItemOID="IT.LB.VISITNUM"><CheckValue>2</CheckValue>',
    )
    assert _messages(example) == []
    _hcg_abbreviated(example)
    assert _messages(example) == [
        "LB.LBORRES where VISITNUM EQ 2: 'POS' is not in codelist CL.POSNEG (1 record, first at row 3)"
    ]


def test_leaf_files_are_looked_for_beside_the_define_path_of_the_submission(tmp_path: Path) -> None:
    # A define.xml parsed from bytes has no file of its own; the submission's define_paths says where it lies.
    example = Example(tmp_path)
    _lb_file_missing(example)
    tree = etree.fromstring(example.xml.encode("utf-8"), safe_xml_parser()).getroottree()
    submission = Submission.from_frames(example.frames, example.metadata, define={"SDTM": tree})
    submission.define_paths["SDTM"] = tmp_path / "define.xml"
    rule = next(r for r in CATALOG if r.id == "DEF-LEAF")
    assert [(f.dataset, f.value) for f in run_rules(submission, [rule]).findings] == [("LB", "lb.xpt")]


def test_codelist_comparison_of_a_large_dataset_aggregates_by_value(tmp_path: Path) -> None:
    # 300,000 LB records (the size of LB at about 700 subjects); every HCG result is abbreviated "POS":
    # one finding per distinct bad value with its count, computed by set membership, not record by record.
    import time

    example = Example(tmp_path)
    lb = example.frames["LB"].iloc[np.tile(np.arange(3), 100_000)].reset_index(drop=True)
    lb.loc[lb["LBTESTCD"] == "HCG", "LBORRES"] = "POS"
    example.frames["LB"] = lb  # the metadata (lengths, labels) stay those of the file
    started = time.perf_counter()
    findings = compare_define_with_data(example.tree(), example.metadata, example.frames)
    elapsed = time.perf_counter() - started
    assert [f.message for f in findings] == [
        "LB.LBORRES where LBTESTCD EQ HCG: 'POS' is not in codelist CL.POSNEG (200000 records, first at row 2)"
    ]
    assert elapsed < 5
