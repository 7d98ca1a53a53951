"""define.xml 2.1 for SDTM and ADaM: what a define.xml reviewer checks by hand on the fixture study.

The datasets are the session fixtures (24 subjects), written once per module to XPT so that the
lengths are exactly those of the files (``write_tabulations`` / ``write_analysis``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd
import pytest
from lxml import etree

from cdisc168.adam_spec import load_adam_specs
from cdisc168.raw.forms import load_forms
from cdisc168.sdtm.build import load_specs
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study
from cdisc168.write.analysis import write_analysis
from cdisc168.write.define import parse_define, render_define, validate_define
from cdisc168.write.define_model import (
    DefineModel,
    DefineModelError,
    SupplementalDocument,
    adam_define_model,
    byte_length,
    checked_class,
    dataset_columns,
    numeric_type,
    sdtm_define_model,
    text_value_type,
)
from cdisc168.write.tabulation import write_tabulations

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}
DEF = "{http://www.cdisc.org/ns/def/v2.1}"
XLINK = "{http://www.w3.org/1999/xlink}"
CSDRG = SupplementalDocument("Clinical Study Data Reviewer's Guide", "csdrg.html")
ADRG = SupplementalDocument("Analysis Data Reviewer's Guide", "adrg.html")


@pytest.fixture(scope="module")
def inputs(sdtm, adam_datasets, tmp_path_factory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    study = load_study()
    specs = load_specs(study.mappings_dir, load_forms())
    adam_specs = load_adam_specs(study.mappings_dir)
    folder = tmp_path_factory.mktemp("define")
    timestamp = dt.datetime.combine(study.data_cut, dt.time())
    return {
        "study": study,
        "study_ct": load_study_ct(),
        "specs": specs,
        "adam_specs": adam_specs,
        "sdtm_lengths": write_tabulations(sdtm.datasets, specs, folder / "sdtm", timestamp),
        "adam_lengths": write_analysis(adam_datasets, adam_specs, folder / "adam", timestamp),
    }


def _sdtm_model(sdtm, inputs, datasets=None, lengths=None):  # type: ignore[no-untyped-def]
    return sdtm_define_model(
        sdtm.datasets if datasets is None else datasets,
        inputs["specs"],
        inputs["sdtm_lengths"] if lengths is None else lengths,
        inputs["study"],
        inputs["study_ct"],
        [CSDRG],
    )


@pytest.fixture(scope="module")
def sdtm_model(sdtm, inputs) -> DefineModel:  # type: ignore[no-untyped-def]
    return _sdtm_model(sdtm, inputs)


@pytest.fixture(scope="module")
def sdtm_xml(sdtm_model: DefineModel, inputs) -> bytes:  # type: ignore[no-untyped-def]
    return render_define(sdtm_model, inputs["study"].define_dir)


@pytest.fixture(scope="module")
def adam_xml(adam_datasets, inputs) -> bytes:  # type: ignore[no-untyped-def]
    model = adam_define_model(
        adam_datasets,
        inputs["adam_specs"],
        inputs["adam_lengths"],
        inputs["study"],
        inputs["study_ct"],
        [ADRG],
    )
    return render_define(model, inputs["study"].define_dir)


@pytest.fixture(scope="module")
def sdtm_tree(sdtm_xml: bytes) -> etree._ElementTree:
    return parse_define(sdtm_xml)


@pytest.fixture(scope="module")
def adam_tree(adam_xml: bytes) -> etree._ElementTree:
    return parse_define(adam_xml)


def _one(tree: etree._ElementTree, xpath: str) -> etree._Element:
    found = tree.xpath(xpath, namespaces=NS)
    assert len(found) == 1, f"{xpath}: {len(found)} matches"
    return found[0]


def _text(element: etree._Element) -> str:
    return element.findtext("odm:Description/odm:TranslatedText", namespaces=NS)


def _where(tree: etree._ElementTree, oid: str) -> list[tuple[str, str, list[str]]]:
    clause = _one(tree, f"//def:WhereClauseDef[@OID='{oid}']")
    return [
        (
            check.get(DEF + "ItemOID"),
            check.get("Comparator"),
            [v.text for v in check.findall("odm:CheckValue", NS)],
        )
        for check in clause.findall("odm:RangeCheck", NS)
    ]


# --- schema, header, determinism ------------------------------------------------------------------------


def test_both_defines_are_valid_against_the_define_xml_2_1_xsd(sdtm_xml: bytes, adam_xml: bytes) -> None:
    assert validate_define(sdtm_xml) == []
    assert validate_define(adam_xml) == []


def test_header_stylesheet_and_data_cut_timestamps(sdtm_xml: bytes, sdtm_tree: etree._ElementTree) -> None:
    lines = sdtm_xml.decode("utf-8").splitlines()
    assert lines[0] == '<?xml version="1.0" encoding="UTF-8"?>'
    assert lines[1] == '<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>'
    root = sdtm_tree.getroot()
    assert root.get("FileOID") == "DEF.CCAR168-AID.SDTM"
    assert root.get("CreationDateTime") == root.get("AsOfDateTime") == "2026-03-31T00:00:00"
    assert root.get(DEF + "Context") == "Submission"
    mdv = _one(sdtm_tree, "//odm:MetaDataVersion")
    assert mdv.get("OID") == "MDV.CCAR168-AID.SDTM"
    assert mdv.get(DEF + "DefineVersion") == "2.1.0"
    standards = {
        (s.get("Name"), s.get("Version"), s.get("PublishingSet")) for s in mdv.iterfind(".//def:Standard", NS)
    }
    assert standards == {("SDTMIG", "3.4", None), ("CDISC/NCI", "2025-03-28", "SDTM")}
    leaf = _one(sdtm_tree, "//def:leaf[@ID='LF.csdrg.html']")
    assert leaf.get(XLINK + "href") == "csdrg.html"
    assert leaf.findtext("def:title", namespaces=NS) == "Clinical Study Data Reviewer's Guide"


def test_two_renders_are_byte_identical(sdtm, inputs, sdtm_xml: bytes) -> None:  # type: ignore[no-untyped-def]
    again = render_define(_sdtm_model(sdtm, inputs), inputs["study"].define_dir)
    assert again == sdtm_xml


def test_every_oid_reference_resolves(sdtm_tree: etree._ElementTree, adam_tree: etree._ElementTree) -> None:
    """The XSD does not check OID references (ODM oidref is plain text): every reference must resolve."""
    for tree in (sdtm_tree, adam_tree):
        defined = set(tree.xpath("//@OID"))
        references = {
            "ItemOID": "//odm:ItemRef/@ItemOID",
            "def:ItemOID": "//odm:RangeCheck/@def:ItemOID",
            "CodeListOID": "//odm:CodeListRef/@CodeListOID",
            "MethodOID": "//odm:ItemRef/@MethodOID",
            "CommentOID": "//@def:CommentOID",
            "ValueListOID": "//def:ValueListRef/@ValueListOID",
            "WhereClauseOID": "//def:WhereClauseRef/@WhereClauseOID",
            "StandardOID": "//@def:StandardOID",
        }
        for kind, xpath in references.items():
            dangling = set(tree.xpath(xpath, namespaces=NS)) - defined
            assert not dangling, f"{kind} without definition: {sorted(dangling)[:5]}"
        referenced = set(tree.xpath("//odm:CodeListRef/@CodeListOID", namespaces=NS))
        assert set(tree.xpath("//odm:CodeList/@OID", namespaces=NS)) == referenced


# --- SDTM -----------------------------------------------------------------------------------------------


def test_ae_item_group_class_keys_roles_and_leaf(sdtm_tree: etree._ElementTree) -> None:
    group = _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.AE']")
    assert group.get("Purpose") == "Tabulation"
    assert group.get("Repeating") == "Yes"
    assert group.get("IsReferenceData") == "No"
    assert group.get(DEF + "Structure") == "One record per adverse event per subject"
    assert _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.AE']/def:Class").get("Name") == "EVENTS"
    keys = {
        ref.get("ItemOID"): int(ref.get("KeySequence"))
        for ref in group.iterfind("odm:ItemRef", NS)
        if ref.get("KeySequence")
    }
    # AE.yaml keys: STUDYID, USUBJID, AESTDTC, AEDECOD, AESPID
    assert keys == {
        "IT.AE.STUDYID": 1,
        "IT.AE.USUBJID": 2,
        "IT.AE.AESTDTC": 3,
        "IT.AE.AEDECOD": 4,
        "IT.AE.AESPID": 5,
    }
    aeterm = _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.AE']/odm:ItemRef[@ItemOID='IT.AE.AETERM']")
    assert (aeterm.get("Role"), aeterm.get("Mandatory")) == ("Topic", "Yes")
    aestdy = _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.AE']/odm:ItemRef[@ItemOID='IT.AE.AESTDY']")
    assert aestdy.get("MethodOID") == "MT.DY"
    assert "RFSTDTC" in _text(_one(sdtm_tree, "//odm:MethodDef[@OID='MT.DY']"))
    leaf = _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.AE']/def:leaf")
    assert (leaf.get("ID"), leaf.get(XLINK + "href")) == ("LF.AE", "ae.xpt")
    assert group.get(DEF + "ArchiveLocationID") == "LF.AE"


def test_dataset_order_trial_design_first_and_supp_after_parent(sdtm_tree: etree._ElementTree) -> None:
    names = sdtm_tree.xpath("//odm:ItemGroupDef/@Name", namespaces=NS)
    assert names[:6] == ["TA", "TE", "TI", "TS", "TV", "DM"]
    assert names[names.index("AE") + 1] == "SUPPAE"
    assert names[-1] == "RELREC"
    ts = _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.TS']")
    assert (ts.get("IsReferenceData"), ts.get("Repeating")) == ("Yes", "No")
    assert _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.DM']").get("Repeating") == "No"


def test_lengths_equal_the_written_xpt_lengths(sdtm, inputs, sdtm_tree: etree._ElementTree) -> None:  # type: ignore[no-untyped-def]
    aeterm = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.AE.AETERM']")
    longest = int(sdtm.datasets["AE"]["AETERM"].str.len().max())
    assert int(aeterm.get("Length")) == inputs["sdtm_lengths"]["AE"]["AETERM"] == longest
    for dataset, lengths in inputs["sdtm_lengths"].items():
        for variable, length in lengths.items():
            item = _one(sdtm_tree, f"//odm:ItemDef[@OID='IT.{dataset}.{variable}']")
            assert int(item.get("Length")) == length, f"{dataset}.{variable}"


def test_a_key_with_missing_values_is_not_mandatory(sdtm, sdtm_tree: etree._ElementTree) -> None:  # type: ignore[no-untyped-def]
    """VS keys include VSDTC, which is missing on the undated demography height and weight (VS.yaml)."""
    assert sdtm.datasets["VS"]["VSDTC"].isna().any()
    ref = _one(sdtm_tree, "//odm:ItemGroupDef[@OID='IG.VS']/odm:ItemRef[@ItemOID='IT.VS.VSDTC']")
    assert (ref.get("KeySequence"), ref.get("Mandatory")) == ("4", "No")


def test_aeser_codelist_ny_with_nci_codes(sdtm_tree: etree._ElementTree) -> None:
    aeser = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.AE.AESER']")
    assert aeser.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.NY"
    assert aeser.find("def:Origin", NS).get("Type") == "Collected"
    assert aeser.find("def:Origin", NS).get("Source") == "Investigator"
    ny = _one(sdtm_tree, "//odm:CodeList[@OID='CL.NY']")
    assert ny.get(DEF + "StandardOID") == "STD.CT.SDTM.2025-03-28"
    assert ny.find("odm:Alias", NS).attrib == {"Context": "nci:ExtCodeID", "Name": "C66742"}
    terms = {
        item.get("CodedValue"): item.find("odm:Alias", NS).get("Name")
        for item in ny.iterfind("odm:EnumeratedItem", NS)
    }
    assert terms == {"N": "C49487", "Y": "C49488"}


def test_sponsor_extension_and_sponsor_codelist(sdtm_tree: etree._ElementTree) -> None:
    protmlst = _one(sdtm_tree, "//odm:CodeList[@OID='CL.PROTMLST']")
    leukapheresis = _one(sdtm_tree, "//odm:CodeList[@OID='CL.PROTMLST']/*[@CodedValue='LEUKAPHERESIS']")
    assert leukapheresis.get(DEF + "ExtendedValue") == "Yes"
    assert leukapheresis.find("odm:Alias", NS) is None
    assert protmlst.get(DEF + "IsNonStandard") is None
    armcd = _one(sdtm_tree, "//odm:CodeList[@OID='CL.ARMCD']")
    assert armcd.get(DEF + "IsNonStandard") == "Yes"
    assert armcd.get(DEF + "StandardOID") is None
    dl1 = armcd.find("odm:CodeListItem[@CodedValue='DL1']", NS)
    assert dl1.findtext("odm:Decode/odm:TranslatedText", namespaces=NS) == "C-CAR168 0.5x10^6 CAR+ T cells/kg"


def test_meddra_is_an_external_codelist_with_the_study_version(sdtm_tree: etree._ElementTree) -> None:
    external = _one(sdtm_tree, "//odm:CodeList[@OID='CL.MEDDRA']/odm:ExternalCodeList")
    assert (external.get("Dictionary"), external.get("Version")) == ("MedDRA", "27.1")
    decod = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.AE.AEDECOD']")
    assert decod.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.MEDDRA"
    assert decod.find("def:Origin", NS).attrib == {"Type": "Assigned", "Source": "Sponsor"}


def test_lb_results_value_level_metadata_by_test(sdtm, sdtm_tree: etree._ElementTree) -> None:  # type: ignore[no-untyped-def]
    lb = sdtm.datasets["LB"]
    testcd, test = lb[["LBTESTCD", "LBTEST"]].iloc[0]
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.LB.LBORRES']/def:ValueListRef").get("ValueListOID") == (
        "VL.LB.LBORRES"
    )
    ref = _one(
        sdtm_tree, f"//def:ValueListDef[@OID='VL.LB.LBORRES']/odm:ItemRef[@ItemOID='IT.LB.LBORRES.{testcd}']"
    )
    where_oid = ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
    assert where_oid == f"WC.LB.LBTESTCD.{testcd}"
    assert _where(sdtm_tree, where_oid) == [("IT.LB.LBTESTCD", "EQ", [testcd])]
    item = _one(sdtm_tree, f"//odm:ItemDef[@OID='IT.LB.LBORRES.{testcd}']")
    assert _text(item) == test
    subset = lb.loc[lb["LBTESTCD"] == testcd, "LBORRES"].dropna()
    assert int(item.get("Length")) == int(subset.str.len().max())
    assert len(sdtm_tree.xpath("//def:ValueListDef[@OID='VL.LB.LBSTRESN']/odm:ItemRef", namespaces=NS)) == (
        lb.loc[lb["LBSTRESN"].notna(), "LBTESTCD"].nunique()
    )


def test_suppae_qval_value_level_item_for_aedlt(sdtm_tree: etree._ElementTree) -> None:
    item = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.SUPPAE.QVAL.AEDLT']")
    assert _text(item) == "Investigator-Assessed DLT"
    assert item.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.NY"
    assert _where(sdtm_tree, "WC.SUPPAE.QNAM.AEDLT") == [("IT.SUPPAE.QNAM", "EQ", ["AEDLT"])]
    toxgrscl = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.SUPPAE.QVAL.TOXGRSCL']")
    assert toxgrscl.find("def:Origin", NS).get("Type") == "Assigned"


def test_codelist_depends_on_category_ds_and_rs(sdtm_tree: etree._ElementTree) -> None:
    """DSDECOD takes NCOMPLT for disposition events and PROTMLST for milestones (DS.yaml); RSTESTCD
    the CDISC EDSS01TC code and the sponsor EDSSAMB code within RSCAT EDSS (RS.yaml)."""
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.DS.DSDECOD']").find("odm:CodeListRef", NS) is None
    milestone = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.DS.DSDECOD.PROTOCOL_MILESTONE']")
    assert milestone.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.PROTMLST"
    disposition = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.DS.DSDECOD.DISPOSITION_EVENT']")
    assert disposition.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.NCOMPLT"
    assert _where(sdtm_tree, "WC.DS.DSCAT.PROTOCOL_MILESTONE") == [
        ("IT.DS.DSCAT", "EQ", ["PROTOCOL MILESTONE"])
    ]
    assert _where(sdtm_tree, "WC.RS.RSCAT.EDSS.RSTESTCD.EDSS01TC") == [
        ("IT.RS.RSCAT", "EQ", ["EDSS"]),
        ("IT.RS.RSTESTCD", "IN", ["EDSS0101"]),
    ]
    edss = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.RS.RSTESTCD.EDSS.RSTESTCD.EDSS01TC']")
    assert edss.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.EDSS01TC"
    # DSTERM is the reported term: the PROTMLST rule of the eligibility source holds for those records only
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.DS.DSTERM']").find("odm:CodeListRef", NS) is None
    mgpis = _one(sdtm_tree, "//odm:ItemDef[@OID='IT.RS.RSSTRESC.MGPIS']")
    assert mgpis.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.MGFAPIS"


def test_data_types_of_dates_and_numbers(sdtm_tree: etree._ElementTree) -> None:
    # AESTDTC holds dates, dates with hh:mm and year-months: partial; BRTHDTC only complete dates
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.AE.AESTDTC']").get("DataType") == "partialDatetime"
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.DM.BRTHDTC']").get("DataType") == "date"
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.AE.AESTDY']").get("DataType") == "integer"
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.AE.AESEQ']").get("Length") == "8"
    assert _one(sdtm_tree, "//odm:ItemDef[@OID='IT.AE.AETERM']").get("DataType") == "text"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 2.0, None], ("integer", None)),
        ([1.5, 2.25, None, 3.0], ("float", 2)),
        ([0.1 + 0.2, 7.0], ("float", 1)),  # 0.30000000000000004 is 0.3
        ([], ("integer", None)),
    ],
)
def test_numeric_type_from_the_data(values: list[float | None], expected: tuple[str, int | None]) -> None:
    assert numeric_type(pd.Series(values, dtype="float64")) == expected


def test_value_level_type_and_length_of_character_results() -> None:
    assert text_value_type(pd.Series(["5.25", "20", None, ""])) == ("float", 2)
    assert text_value_type(pd.Series(["<20", "5"])) == ("text", None)
    assert byte_length(pd.Series(["ab", None, "abcd", ""])) == 4
    assert byte_length(pd.Series([None, ""])) == 1


def test_empty_dataset_has_no_data_comment_and_no_leaf(sdtm, inputs) -> None:  # type: ignore[no-untyped-def]
    datasets = dict(sdtm.datasets)
    datasets["DD"] = sdtm.datasets["DD"].iloc[0:0]
    lengths = {k: v for k, v in inputs["sdtm_lengths"].items() if k != "DD"}
    model = _sdtm_model(sdtm, inputs, datasets, lengths)
    xml = render_define(model, inputs["study"].define_dir)
    assert validate_define(xml) == []
    tree = parse_define(xml)
    group = _one(tree, "//odm:ItemGroupDef[@OID='IG.DD']")
    assert group.get(DEF + "HasNoData") == "Yes"
    assert group.get(DEF + "ArchiveLocationID") is None
    assert group.find("def:leaf", NS) is None
    comment = _one(tree, f"//def:CommentDef[@OID='{group.get(DEF + 'CommentOID')}']")
    assert "No records for DD" in _text(comment)
    assert _one(tree, "//odm:ItemDef[@OID='IT.DD.DDORRES']").get("Length") == "1"
    assert tree.xpath("//def:leaf[@ID='LF.DD']", namespaces=NS) == []


def test_special_characters_survive_a_parse_round_trip(sdtm_model: DefineModel, inputs) -> None:  # type: ignore[no-untyped-def]
    nasty = """Rash <grade 3> & "itchy" 'skin'"""
    model = sdtm_model
    groups = tuple(dataclasses.replace(g, label=nasty) if g.name == "AE" else g for g in model.item_groups)
    comments = (*model.comments, dataclasses.replace(model.comments[0], oid="COM.NASTY", text=nasty))
    xml = render_define(
        dataclasses.replace(model, item_groups=groups, comments=comments), inputs["study"].define_dir
    )
    tree = parse_define(xml)
    assert _text(_one(tree, "//odm:ItemGroupDef[@OID='IG.AE']")) == nasty
    assert _text(_one(tree, "//def:CommentDef[@OID='COM.NASTY']")) == nasty
    assert b"<grade 3>" not in xml


def test_dataset_columns_for_dataset_json(sdtm_model: DefineModel, inputs) -> None:  # type: ignore[no-untyped-def]
    columns = dataset_columns(sdtm_model, "AE")
    assert [c.name for c in columns] == list(inputs["specs"]["AE"].variable_names)
    first = columns[0]
    assert (first.item_oid, first.label, first.data_type, first.key_sequence) == (
        "IT.AE.STUDYID",
        "Study Identifier",
        "text",
        1,
    )
    aestdy = next(c for c in columns if c.name == "AESTDY")
    assert (aestdy.data_type, aestdy.length, aestdy.key_sequence) == ("integer", 8, None)


def test_a_class_outside_the_define_xml_ct_is_refused() -> None:
    assert checked_class("ADTTE", "BASIC DATA STRUCTURE", "TIME-TO-EVENT") == (
        "BASIC DATA STRUCTURE",
        "TIME-TO-EVENT",
    )
    with pytest.raises(DefineModelError, match="XX: class 'EVENT' / None is not in the Define-XML CT"):
        checked_class("XX", "EVENT")


def test_missing_spec_variable_is_a_clear_error(sdtm, inputs) -> None:  # type: ignore[no-untyped-def]
    datasets = dict(sdtm.datasets)
    datasets["AE"] = sdtm.datasets["AE"].drop(columns=["AETERM"])
    with pytest.raises(
        DefineModelError, match=r"AE: variables of the spec missing from the data: \['AETERM'\]"
    ):
        _sdtm_model(sdtm, inputs, datasets)


# --- ADaM -----------------------------------------------------------------------------------------------


def test_adam_classes_and_standards(adam_tree: etree._ElementTree) -> None:
    classes = {
        g.get("Name"): (
            g.find("def:Class", NS).get("Name"),
            [s.get("Name") for s in g.iterfind("def:Class/def:SubClass", NS)],
        )
        for g in adam_tree.xpath("//odm:ItemGroupDef", namespaces=NS)
    }
    assert classes["ADSL"] == ("SUBJECT LEVEL ANALYSIS DATASET", [])
    assert classes["ADTTE"] == ("BASIC DATA STRUCTURE", ["TIME-TO-EVENT"])
    assert classes["ADAE"] == ("OCCURRENCE DATA STRUCTURE", ["ADVERSE EVENT"])
    assert classes["ADLB"] == ("BASIC DATA STRUCTURE", [])
    assert next(iter(classes)) == "ADSL"
    adsl = _one(adam_tree, "//odm:ItemGroupDef[@OID='IG.ADSL']")
    assert (adsl.get("Purpose"), adsl.get("Repeating")) == ("Analysis", "No")
    assert "One record per subject in DM" in _text(
        _one(adam_tree, f"//def:CommentDef[@OID='{adsl.get(DEF + 'CommentOID')}']")
    )
    names = {s.get("Name") for s in adam_tree.xpath("//def:Standard", namespaces=NS)}
    assert names == {"ADaMIG", "CDISC/NCI"}


def test_adsl_age_predecessor_and_derived_method(adam_tree: etree._ElementTree) -> None:
    origin = _one(adam_tree, "//odm:ItemDef[@OID='IT.ADSL.AGE']/def:Origin")
    assert origin.get("Type") == "Predecessor"
    assert _text(origin) == "DM.AGE"
    ref = _one(adam_tree, "//odm:ItemGroupDef[@OID='IG.ADSL']/odm:ItemRef[@ItemOID='IT.ADSL.AGEGR1']")
    assert ref.get("Role") is None
    method = _one(adam_tree, f"//odm:MethodDef[@OID='{ref.get('MethodOID')}']")
    assert "'<40' if AGE < 40" in _text(method)
    assert _one(adam_tree, "//odm:MethodDef[@OID='MT.ADSL.DTHDT']").get("Type") == "Imputation"
    assert _one(adam_tree, "//odm:MethodDef[@OID='MT.ADSL.AGEGR1']").get("Type") == "Computation"
    trtsdt = _one(adam_tree, "//odm:ItemDef[@OID='IT.ADSL.TRTSDT']")
    assert (trtsdt.get("DataType"), trtsdt.get(DEF + "DisplayFormat"), trtsdt.get("Length")) == (
        "integer",
        "DATE9.",
        "8",
    )


def test_adtte_aval_value_level_metadata_by_paramcd(adam_datasets, adam_tree: etree._ElementTree) -> None:  # type: ignore[no-untyped-def]
    adtte = adam_datasets["ADTTE"]
    params = adtte.loc[adtte["AVAL"].notna(), ["PARAMCD", "PARAM"]].drop_duplicates()
    refs = adam_tree.xpath("//def:ValueListDef[@OID='VL.ADTTE.AVAL']/odm:ItemRef", namespaces=NS)
    assert len(refs) == len(params)
    for paramcd, param in zip(params["PARAMCD"], params["PARAM"], strict=True):
        item = _one(adam_tree, f"//odm:ItemDef[@OID='IT.ADTTE.AVAL.{paramcd}']")
        assert _text(item) == param
        assert _where(adam_tree, f"WC.ADTTE.PARAMCD.{paramcd}") == [("IT.ADTTE.PARAMCD", "EQ", [paramcd])]
    key_refs = adam_tree.xpath("//odm:ItemGroupDef[@OID='IG.ADTTE']/odm:ItemRef[@KeySequence]", namespaces=NS)
    assert [r.get("ItemOID") for r in key_refs] == [
        "IT.ADTTE.STUDYID",
        "IT.ADTTE.USUBJID",
        "IT.ADTTE.PARAMCD",
    ]


def test_adam_lengths_equal_the_written_xpt_lengths(inputs, adam_tree: etree._ElementTree) -> None:  # type: ignore[no-untyped-def]
    for dataset, lengths in inputs["adam_lengths"].items():
        for variable, length in lengths.items():
            item = _one(adam_tree, f"//odm:ItemDef[@OID='IT.{dataset}.{variable}']")
            assert int(item.get("Length")) == length, f"{dataset}.{variable}"


@pytest.mark.parametrize(
    ("values", "data_type"),
    [
        (["2024-11-19T09:10:00", "2024-11-20T21:10:05.5", None], "datetime"),
        (["2024-11-19", "2024-11-20"], "date"),
        (["2024-11-19", "2024-11-20T21:10"], "partialDatetime"),
        (["2024-11", "2024-11-20"], "partialDate"),
        ([None, None], "datetime"),
    ],
)
def test_iso_text_data_type_follows_the_precision_of_the_values(
    values: list[str | None], data_type: str
) -> None:
    from cdisc168.write.define_model import iso_datetime_type

    assert iso_datetime_type(pd.Series(values, dtype=object)) == data_type
