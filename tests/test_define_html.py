"""define.html: the study's XSLT 1.0 stylesheet applied to Define-XML 2.1 documents.

The SDTM document below is small but uses every part of Define-XML 2.1 the stylesheet renders: standards,
an annotated CRF and a reviewer's guide, three datasets (AE has no data), a SUPPDM QVAL value list, codelists
with decodes, C-codes and an extended value, an external dictionary, methods and comments. A reviewer
checks the rendered page the way they would read define.html: every dataset, variable, codelist term,
value-level item, method and comment is there, links go where they should and text is shown as written.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from cdisc168.adam_spec import load_adam_specs
from cdisc168.raw.forms import load_forms
from cdisc168.sdtm.build import load_specs
from cdisc168.standards.schemas import validate_define_xml
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.study import load_study
from cdisc168.write.analysis import write_analysis
from cdisc168.write.define import render_define
from cdisc168.write.define_html import DefineHtmlError, render_define_html
from cdisc168.write.define_model import SupplementalDocument, adam_define_model, sdtm_define_model
from cdisc168.write.tabulation import write_tabulations

STYLESHEET = Path(__file__).resolve().parent.parent / "define" / "define2-1.xsl"

ODM_NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
XLINK_NS = "http://www.w3.org/1999/xlink"

AGE_METHOD = 'AGE = floor((RFICDTC - BRTHDTC) / 365.25) when BRTHDTC < RFICDTC & both are "complete" dates'
SUPPDM_COMMENT = "QNAMs of DM collected on the CAR-T manufacturing form; see the reviewer's guide"

SDTM_DEFINE = f"""<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:def="http://www.cdisc.org/ns/def/v2.1" ODMVersion="1.3.2" FileType="Snapshot"
     FileOID="DEF.CCAR168.SDTM" CreationDateTime="2026-03-31T00:00:00" AsOfDateTime="2026-03-31T00:00:00"
     Originator="cdisc168" SourceSystem="cdisc168" SourceSystemVersion="0.1" def:Context="Submission">
  <Study OID="STDY.CCAR168">
    <GlobalVariables>
      <StudyName>CCAR168</StudyName>
      <StudyDescription>CD20xBCMA CAR-T in refractory autoimmune disease</StudyDescription>
      <ProtocolName>C-CAR168-101</ProtocolName>
    </GlobalVariables>
    <MetaDataVersion OID="MDV.CCAR168.SDTM" Name="CCAR168 SDTM" Description="SDTM data definitions"
                     def:DefineVersion="2.1.0">
      <def:Standards>
        <def:Standard OID="STD.SDTMIG.3.4" Name="SDTMIG" Type="IG" Version="3.4" Status="Final"/>
        <def:Standard OID="STD.CT.SDTM.2025-03-28" Name="CDISC/NCI" Type="CT" PublishingSet="SDTM"
                      Version="2025-03-28" Status="Final"/>
      </def:Standards>
      <def:AnnotatedCRF><def:DocumentRef leafID="LF.acrf"/></def:AnnotatedCRF>
      <def:SupplementalDoc><def:DocumentRef leafID="LF.csdrg"/></def:SupplementalDoc>
      <def:ValueListDef OID="VL.SUPPDM.QVAL">
        <ItemRef ItemOID="IT.SUPPDM.QVAL.CARTLOT" OrderNumber="1" Mandatory="Yes">
          <def:WhereClauseRef WhereClauseOID="WC.SUPPDM.QNAM.CARTLOT"/>
        </ItemRef>
        <ItemRef ItemOID="IT.SUPPDM.QVAL.RACEOTH" OrderNumber="2" Mandatory="No" MethodOID="MT.RACEOTH">
          <def:WhereClauseRef WhereClauseOID="WC.SUPPDM.QNAM.RACEOTH"/>
        </ItemRef>
      </def:ValueListDef>
      <def:WhereClauseDef OID="WC.SUPPDM.QNAM.CARTLOT">
        <RangeCheck Comparator="EQ" SoftHard="Soft" def:ItemOID="IT.SUPPDM.QNAM">
          <CheckValue>CARTLOT</CheckValue>
        </RangeCheck>
      </def:WhereClauseDef>
      <def:WhereClauseDef OID="WC.SUPPDM.QNAM.RACEOTH">
        <RangeCheck Comparator="EQ" SoftHard="Soft" def:ItemOID="IT.SUPPDM.QNAM">
          <CheckValue>RACEOTH</CheckValue>
        </RangeCheck>
        <RangeCheck Comparator="IN" SoftHard="Soft" def:ItemOID="IT.SUPPDM.IDVAR">
          <CheckValue>RACE</CheckValue>
          <CheckValue>ETHNIC</CheckValue>
        </RangeCheck>
      </def:WhereClauseDef>
      <ItemGroupDef OID="IG.DM" Domain="DM" Name="DM" Repeating="No" IsReferenceData="No"
                    SASDatasetName="DM" def:Structure="One record per subject" Purpose="Tabulation"
                    def:StandardOID="STD.SDTMIG.3.4" def:ArchiveLocationID="LF.DM">
        <Description><TranslatedText xml:lang="en">Demographics</TranslatedText></Description>
        <ItemRef ItemOID="IT.DM.STUDYID" OrderNumber="1" Mandatory="Yes" KeySequence="1" Role="Identifier"/>
        <ItemRef ItemOID="IT.DM.USUBJID" OrderNumber="2" Mandatory="Yes" KeySequence="2" Role="Identifier"
                 MethodOID="MT.USUBJID"/>
        <ItemRef ItemOID="IT.DM.AGE" OrderNumber="3" Mandatory="No" Role="Record Qualifier"
                 MethodOID="MT.AGE"/>
        <ItemRef ItemOID="IT.DM.SEX" OrderNumber="4" Mandatory="Yes" Role="Record Qualifier"/>
        <ItemRef ItemOID="IT.DM.RACE" OrderNumber="5" Mandatory="No" Role="Record Qualifier"/>
        <def:Class Name="SPECIAL PURPOSE"/>
        <def:leaf ID="LF.DM" xlink:href="dm.xpt"><def:title>dm.xpt</def:title></def:leaf>
      </ItemGroupDef>
      <ItemGroupDef OID="IG.SUPPDM" Domain="DM" Name="SUPPDM" Repeating="Yes" IsReferenceData="No"
                    SASDatasetName="SUPPDM" Purpose="Tabulation" def:CommentOID="COM.SUPPDM"
                    def:Structure="One record per IDVAR, IDVARVAL, and QNAM value per subject"
                    def:StandardOID="STD.SDTMIG.3.4" def:ArchiveLocationID="LF.SUPPDM">
        <Description><TranslatedText xml:lang="en">Supplemental Qualifiers for DM</TranslatedText></Description>
        <ItemRef ItemOID="IT.SUPPDM.STUDYID" OrderNumber="1" Mandatory="Yes" KeySequence="1"/>
        <ItemRef ItemOID="IT.SUPPDM.USUBJID" OrderNumber="2" Mandatory="Yes" KeySequence="2"/>
        <ItemRef ItemOID="IT.SUPPDM.IDVAR" OrderNumber="3" Mandatory="No" KeySequence="3"/>
        <ItemRef ItemOID="IT.SUPPDM.QNAM" OrderNumber="4" Mandatory="Yes" KeySequence="4"/>
        <ItemRef ItemOID="IT.SUPPDM.QVAL" OrderNumber="5" Mandatory="Yes"/>
        <def:Class Name="RELATIONSHIP"/>
        <def:leaf ID="LF.SUPPDM" xlink:href="suppdm.xpt"><def:title>suppdm.xpt</def:title></def:leaf>
      </ItemGroupDef>
      <ItemGroupDef OID="IG.AE" Domain="AE" Name="AE" Repeating="Yes" IsReferenceData="No"
                    SASDatasetName="AE" def:Structure="One record per adverse event per subject"
                    Purpose="Tabulation" def:StandardOID="STD.SDTMIG.3.4" def:HasNoData="Yes"
                    def:CommentOID="COM.AE">
        <Description><TranslatedText xml:lang="en">Adverse Events</TranslatedText></Description>
        <ItemRef ItemOID="IT.AE.STUDYID" OrderNumber="1" Mandatory="Yes" KeySequence="1"/>
        <ItemRef ItemOID="IT.AE.AEDECOD" OrderNumber="2" Mandatory="Yes" KeySequence="2"/>
        <def:Class Name="EVENTS"/>
      </ItemGroupDef>
      <ItemDef OID="IT.DM.STUDYID" Name="STUDYID" DataType="text" Length="7" SASFieldName="STUDYID">
        <Description><TranslatedText xml:lang="en">Study Identifier</TranslatedText></Description>
        <def:Origin Type="Protocol" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.DM.USUBJID" Name="USUBJID" DataType="text" Length="16" SASFieldName="USUBJID">
        <Description><TranslatedText xml:lang="en">Unique Subject Identifier</TranslatedText></Description>
        <def:Origin Type="Derived" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.DM.AGE" Name="AGE" DataType="integer" Length="8" SignificantDigits="0"
               SASFieldName="AGE" def:DisplayFormat="3.">
        <Description><TranslatedText xml:lang="en">Age</TranslatedText></Description>
        <def:Origin Type="Derived" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.DM.SEX" Name="SEX" DataType="text" Length="1" SASFieldName="SEX">
        <Description><TranslatedText xml:lang="en">Sex</TranslatedText></Description>
        <CodeListRef CodeListOID="CL.SEX"/>
        <def:Origin Type="Collected" Source="Investigator">
          <def:DocumentRef leafID="LF.acrf"><def:PDFPageRef PageRefs="3 7" Type="PhysicalRef"/></def:DocumentRef>
        </def:Origin>
      </ItemDef>
      <ItemDef OID="IT.DM.RACE" Name="RACE" DataType="text" Length="11" SASFieldName="RACE">
        <Description><TranslatedText xml:lang="en">Race</TranslatedText></Description>
        <CodeListRef CodeListOID="CL.RACE"/>
        <def:Origin Type="Collected" Source="Investigator"/>
      </ItemDef>
      <ItemDef OID="IT.SUPPDM.STUDYID" Name="STUDYID" DataType="text" Length="7" SASFieldName="STUDYID">
        <Description><TranslatedText xml:lang="en">Study Identifier</TranslatedText></Description>
        <def:Origin Type="Protocol" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.SUPPDM.USUBJID" Name="USUBJID" DataType="text" Length="16" SASFieldName="USUBJID">
        <Description><TranslatedText xml:lang="en">Unique Subject Identifier</TranslatedText></Description>
        <def:Origin Type="Predecessor"><Description><TranslatedText xml:lang="en">DM.USUBJID</TranslatedText></Description></def:Origin>
      </ItemDef>
      <ItemDef OID="IT.SUPPDM.IDVAR" Name="IDVAR" DataType="text" Length="8" SASFieldName="IDVAR">
        <Description><TranslatedText xml:lang="en">Identifying Variable</TranslatedText></Description>
        <def:Origin Type="Assigned" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.SUPPDM.QNAM" Name="QNAM" DataType="text" Length="8" SASFieldName="QNAM">
        <Description><TranslatedText xml:lang="en">Qualifier Variable Name</TranslatedText></Description>
        <def:Origin Type="Assigned" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.SUPPDM.QVAL" Name="QVAL" DataType="text" Length="40" SASFieldName="QVAL">
        <Description><TranslatedText xml:lang="en">Data Value</TranslatedText></Description>
        <def:Origin Type="Collected" Source="Investigator"/>
        <def:ValueListRef ValueListOID="VL.SUPPDM.QVAL"/>
      </ItemDef>
      <ItemDef OID="IT.SUPPDM.QVAL.CARTLOT" Name="CARTLOT" DataType="text" Length="12" SASFieldName="CARTLOT">
        <Description><TranslatedText xml:lang="en">CAR-T Product Lot Number</TranslatedText></Description>
        <def:Origin Type="Collected" Source="Vendor"/>
      </ItemDef>
      <ItemDef OID="IT.SUPPDM.QVAL.RACEOTH" Name="RACEOTH" DataType="text" Length="40" SASFieldName="RACEOTH">
        <Description><TranslatedText xml:lang="en">Race, Other</TranslatedText></Description>
        <CodeListRef CodeListOID="CL.RACE"/>
        <def:Origin Type="Derived" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.AE.STUDYID" Name="STUDYID" DataType="text" Length="7" SASFieldName="STUDYID">
        <Description><TranslatedText xml:lang="en">Study Identifier</TranslatedText></Description>
        <def:Origin Type="Protocol" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.AE.AEDECOD" Name="AEDECOD" DataType="text" Length="200" SASFieldName="AEDECOD">
        <Description><TranslatedText xml:lang="en">Dictionary-Derived Term</TranslatedText></Description>
        <CodeListRef CodeListOID="CL.MEDDRA"/>
        <def:Origin Type="Assigned" Source="Sponsor"/>
      </ItemDef>
      <CodeList OID="CL.SEX" Name="Sex" DataType="text" def:StandardOID="STD.CT.SDTM.2025-03-28">
        <CodeListItem CodedValue="F">
          <Decode><TranslatedText xml:lang="en">Female</TranslatedText></Decode>
          <Alias Context="nci:ExtCodeID" Name="C16576"/>
        </CodeListItem>
        <CodeListItem CodedValue="M">
          <Decode><TranslatedText xml:lang="en">Male</TranslatedText></Decode>
          <Alias Context="nci:ExtCodeID" Name="C20197"/>
        </CodeListItem>
        <Alias Context="nci:ExtCodeID" Name="C66731"/>
      </CodeList>
      <CodeList OID="CL.RACE" Name="Race" DataType="text" def:StandardOID="STD.CT.SDTM.2025-03-28">
        <EnumeratedItem CodedValue="ASIAN"><Alias Context="nci:ExtCodeID" Name="C41260"/></EnumeratedItem>
        <EnumeratedItem CodedValue="WHITE"><Alias Context="nci:ExtCodeID" Name="C41261"/></EnumeratedItem>
        <EnumeratedItem CodedValue="ASIAN &amp; WHITE &lt;MIXED&gt;" def:ExtendedValue="Yes"/>
        <Alias Context="nci:ExtCodeID" Name="C74457"/>
      </CodeList>
      <CodeList OID="CL.MEDDRA" Name="Adverse Event Dictionary" DataType="text">
        <ExternalCodeList Dictionary="MedDRA" Version="27.1" href="https://www.meddra.org/"/>
      </CodeList>
      <MethodDef OID="MT.USUBJID" Name="Algorithm to derive USUBJID" Type="Computation">
        <Description><TranslatedText xml:lang="en">STUDYID-SITEID-SUBJID</TranslatedText></Description>
      </MethodDef>
      <MethodDef OID="MT.AGE" Name="Algorithm to derive AGE" Type="Computation">
        <Description><TranslatedText xml:lang="en">{AGE_METHOD.replace("&", "&amp;").replace("<", "&lt;")}</TranslatedText></Description>
        <FormalExpression Context="Python 3.11">floor((rficdtc - brthdtc).days / 365.25)</FormalExpression>
      </MethodDef>
      <MethodDef OID="MT.RACEOTH" Name="Algorithm to assign RACEOTH" Type="Imputation">
        <Description><TranslatedText xml:lang="en">Free text of the "Other" race box, upper case</TranslatedText></Description>
        <def:DocumentRef leafID="LF.csdrg"><def:PDFPageRef Type="NamedDestination" PageRefs="Race"/></def:DocumentRef>
      </MethodDef>
      <def:CommentDef OID="COM.SUPPDM">
        <Description><TranslatedText xml:lang="en">{SUPPDM_COMMENT}</TranslatedText></Description>
        <def:DocumentRef leafID="LF.csdrg"><def:PDFPageRef Type="PhysicalRef" FirstPage="4" LastPage="5"/></def:DocumentRef>
      </def:CommentDef>
      <def:CommentDef OID="COM.AE">
        <Description><TranslatedText xml:lang="en">No adverse events were reported by the data cut.</TranslatedText></Description>
      </def:CommentDef>
      <def:leaf ID="LF.acrf" xlink:href="acrf.pdf"><def:title>Annotated CRF</def:title></def:leaf>
      <def:leaf ID="LF.csdrg" xlink:href="csdrg.pdf"><def:title>Clinical Study Data Reviewer's Guide</def:title></def:leaf>
    </MetaDataVersion>
  </Study>
</ODM>
"""

ADAM_DEFINE = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:def="http://www.cdisc.org/ns/def/v2.1" ODMVersion="1.3.2" FileType="Snapshot"
     FileOID="DEF.CCAR168.ADaM" CreationDateTime="2026-03-31T00:00:00" def:Context="Submission">
  <Study OID="STDY.CCAR168">
    <GlobalVariables>
      <StudyName>CCAR168</StudyName>
      <StudyDescription>CD20xBCMA CAR-T in refractory autoimmune disease</StudyDescription>
      <ProtocolName>C-CAR168-101</ProtocolName>
    </GlobalVariables>
    <MetaDataVersion OID="MDV.CCAR168.ADaM" Name="CCAR168 ADaM" def:DefineVersion="2.1.0">
      <def:Standards>
        <def:Standard OID="STD.ADAMIG.1.3" Name="ADaMIG" Type="IG" Version="1.3" Status="Final"/>
      </def:Standards>
      <def:ValueListDef OID="VL.ADTTE.AVAL">
        <ItemRef ItemOID="IT.ADTTE.AVAL.TTREM" OrderNumber="1" Mandatory="Yes" MethodOID="MT.ADTTE.TTREM">
          <def:WhereClauseRef WhereClauseOID="WC.ADTTE.PARAMCD.TTREM"/>
        </ItemRef>
      </def:ValueListDef>
      <def:WhereClauseDef OID="WC.ADTTE.PARAMCD.TTREM">
        <RangeCheck Comparator="EQ" SoftHard="Soft" def:ItemOID="IT.ADTTE.PARAMCD">
          <CheckValue>TTREM</CheckValue>
        </RangeCheck>
      </def:WhereClauseDef>
      <ItemGroupDef OID="IG.ADTTE" Name="ADTTE" Repeating="Yes" IsReferenceData="No" SASDatasetName="ADTTE"
                    def:Structure="One record per subject per parameter" Purpose="Analysis"
                    def:StandardOID="STD.ADAMIG.1.3" def:ArchiveLocationID="LF.ADTTE">
        <Description><TranslatedText xml:lang="en">Time-to-Event Analysis Dataset</TranslatedText></Description>
        <ItemRef ItemOID="IT.ADTTE.USUBJID" OrderNumber="1" Mandatory="Yes" KeySequence="1"/>
        <ItemRef ItemOID="IT.ADTTE.PARAMCD" OrderNumber="2" Mandatory="Yes" KeySequence="2"/>
        <ItemRef ItemOID="IT.ADTTE.AVAL" OrderNumber="3" Mandatory="Yes"/>
        <def:Class Name="BASIC DATA STRUCTURE"><def:SubClass Name="TIME-TO-EVENT"/></def:Class>
        <def:leaf ID="LF.ADTTE" xlink:href="adtte.xpt"><def:title>adtte.xpt</def:title></def:leaf>
      </ItemGroupDef>
      <ItemDef OID="IT.ADTTE.USUBJID" Name="USUBJID" DataType="text" Length="16">
        <Description><TranslatedText xml:lang="en">Unique Subject Identifier</TranslatedText></Description>
        <def:Origin Type="Predecessor"><Description><TranslatedText xml:lang="en">ADSL.USUBJID</TranslatedText></Description></def:Origin>
      </ItemDef>
      <ItemDef OID="IT.ADTTE.PARAMCD" Name="PARAMCD" DataType="text" Length="5">
        <Description><TranslatedText xml:lang="en">Parameter Code</TranslatedText></Description>
        <def:Origin Type="Assigned" Source="Sponsor"/>
      </ItemDef>
      <ItemDef OID="IT.ADTTE.AVAL" Name="AVAL" DataType="float" Length="8">
        <Description><TranslatedText xml:lang="en">Analysis Value</TranslatedText></Description>
        <def:Origin Type="Derived" Source="Sponsor"/>
        <def:ValueListRef ValueListOID="VL.ADTTE.AVAL"/>
      </ItemDef>
      <ItemDef OID="IT.ADTTE.AVAL.TTREM" Name="AVAL" DataType="float" Length="8" SignificantDigits="1">
        <Description><TranslatedText xml:lang="en">Time to Remission (Days)</TranslatedText></Description>
        <def:Origin Type="Derived" Source="Sponsor"/>
      </ItemDef>
      <MethodDef OID="MT.ADTTE.TTREM" Name="Algorithm to derive AVAL for TTREM" Type="Computation">
        <Description><TranslatedText xml:lang="en">ADT - STARTDT + 1</TranslatedText></Description>
      </MethodDef>
    </MetaDataVersion>
  </Study>
</ODM>
"""


def _render(document: str) -> bytes:
    return render_define_html(document.encode("utf-8"), STYLESHEET)


def _xml(document: str) -> etree._Element:
    return etree.fromstring(document.encode("utf-8"))


@pytest.fixture(scope="module")
def page() -> bytes:
    return _render(SDTM_DEFINE)


@pytest.fixture(scope="module")
def html(page: bytes) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(page)


def _text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _rows(table: lxml.html.HtmlElement) -> list[list[str]]:
    """The body rows of a table as lists of cell texts (white space collapsed)."""
    return [[_text(cell) for cell in row.xpath("td")] for row in table.xpath("tbody/tr")]


def _by_id(html: lxml.html.HtmlElement, oid: str) -> lxml.html.HtmlElement:
    found = html.xpath("//*[@id=$oid]", oid=oid)
    assert len(found) == 1, f"expected one anchor {oid}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("document", [SDTM_DEFINE, ADAM_DEFINE], ids=["sdtm", "adam"])
def test_hand_written_defines_are_valid_define_xml_21(document: str) -> None:
    assert validate_define_xml(etree.ElementTree(_xml(document))) == []


def test_header_shows_study_standards_documents_and_data_cut(html: lxml.html.HtmlElement) -> None:
    header = _by_id(html, "study")
    assert _text(header.xpath("h1")[0]) == "CCAR168"
    facts = {_text(r.xpath("th")[0]): _text(r.xpath("td")[0]) for r in header.xpath(".//tr")}
    assert facts["Protocol"] == "C-CAR168-101"
    assert facts["Define-XML version"] == "2.1.0"
    assert facts["Context"] == "Submission"
    assert facts["Created"] == "2026-03-31T00:00:00"
    assert facts["Data as of"] == "2026-03-31T00:00:00"
    standards = _rows(_by_id(html, "standards").xpath("table")[0])
    assert standards == [
        ["SDTMIG", "IG", "", "3.4", "Final", ""],
        ["CDISC/NCI", "CT", "SDTM", "2025-03-28", "Final", ""],
    ]
    documents = {a.get("href"): _text(a) for a in _by_id(html, "documents").xpath(".//a")}
    assert documents == {"acrf.pdf": "Annotated CRF", "csdrg.pdf": "Clinical Study Data Reviewer's Guide"}
    assert _text(html.xpath("//title")[0]) == "CCAR168 - CCAR168 SDTM"


def test_dataset_contents_link_every_dataset_and_its_file(html: lxml.html.HtmlElement) -> None:
    table = _by_id(html, "datasets").xpath("table")[0]
    rows = {row[0]: row for row in _rows(table)}
    # Dataset | Description | Class | Structure | Purpose | Keys | Standard | Location | Documentation
    assert rows["DM"][:8] == [
        "DM", "Demographics", "SPECIAL PURPOSE", "One record per subject", "Tabulation", "STUDYID, USUBJID",
        "SDTMIG 3.4", "dm.xpt",
    ]  # fmt: skip
    assert rows["SUPPDM"][5] == "STUDYID, USUBJID, IDVAR, QNAM"
    assert rows["SUPPDM"][8].startswith(SUPPDM_COMMENT)
    assert rows["AE No data"][7] == "No data"
    assert rows["AE No data"][8].startswith("No adverse events were reported by the data cut.")
    links = {_text(a): a.get("href") for a in table.xpath("tbody/tr/td[1]/a | tbody/tr/td[8]/a")}
    assert links == {
        "DM": "#IG.DM", "SUPPDM": "#IG.SUPPDM", "AE": "#IG.AE", "dm.xpt": "dm.xpt", "suppdm.xpt": "suppdm.xpt",
    }  # fmt: skip


def test_every_dataset_section_lists_its_variables_in_order(html: lxml.html.HtmlElement) -> None:
    define = _xml(SDTM_DEFINE)
    for group in define.iterfind(".//odm:ItemGroupDef", ODM_NS):
        refs = sorted(group.iterfind("odm:ItemRef", ODM_NS), key=lambda r: int(r.get("OrderNumber")))
        expected = [
            define.find(f".//odm:ItemDef[@OID='{r.get('ItemOID')}']", ODM_NS).get("Name") for r in refs
        ]
        section = _by_id(html, group.get("OID"))
        shown = [row[1].split(" ")[0] for row in _rows(section.xpath("table")[0])]
        assert shown == expected, group.get("Name")


def test_variable_rows_show_type_origin_codelist_and_derivation(html: lxml.html.HtmlElement) -> None:
    rows = {row[1]: row for row in _rows(_by_id(html, "IG.DM").xpath("table")[0])}
    # Order | Variable | Label | Type | Length | Sig. digits | Display format | Terms | Origin | Derivation | Role | Mandatory | Key
    assert rows["AGE"] == [
        "3", "AGE", "Age", "integer", "8", "0", "3.", "", "Derived (Sponsor)",
        f"Algorithm to derive AGE {AGE_METHOD}", "Record Qualifier", "No", "",
    ]  # fmt: skip
    assert rows["USUBJID"][-3:] == ["Identifier", "Yes", "2"]
    assert rows["SEX"][7:9] == ["Sex", "Collected (Investigator) Annotated CRF [page 3, 7]"]
    sex = _by_id(html, "IG.DM").xpath(".//tr[td[2]='SEX']")[0]
    assert [a.get("href") for a in sex.xpath(".//a")] == [
        "#CL.SEX",
        "acrf.pdf",
        "acrf.pdf#page=3",
        "acrf.pdf#page=7",
    ]
    suppdm = {row[1]: row for row in _rows(_by_id(html, "IG.SUPPDM").xpath("table")[0])}
    assert suppdm["USUBJID"][8] == "Predecessor: DM.USUBJID"
    assert suppdm["QVAL value-level metadata"][2] == "Data Value"
    assert _by_id(html, "IG.SUPPDM").xpath(".//a[.='value-level metadata']/@href") == ["#VL.SUPPDM.QVAL"]
    aedecod = _by_id(html, "IG.AE").xpath(".//tr[td[2]='AEDECOD']//a")[0]
    assert (_text(aedecod), aedecod.get("href")) == ("MedDRA 27.1", "#CL.MEDDRA")


def test_value_level_metadata_shows_where_clauses_and_item_metadata(html: lxml.html.HtmlElement) -> None:
    section = _by_id(html, "VL.SUPPDM.QVAL")
    assert _text(section.xpath("h3")[0]) == "Value-level metadata for SUPPDM.QVAL VL.SUPPDM.QVAL"
    # Where | Variable | Label | Type | Length | Sig. digits | Display format | Terms | Origin | Derivation | Mandatory
    assert _rows(section.xpath("table")[0]) == [
        ["QNAM EQ CARTLOT", "CARTLOT", "CAR-T Product Lot Number", "text", "12", "", "", "",
         "Collected (Vendor)", "", "Yes"],
        ["QNAM EQ RACEOTH and IDVAR IN (RACE, ETHNIC)", "RACEOTH", "Race, Other", "text", "40", "", "", "Race",
         "Derived (Sponsor)", 'Algorithm to assign RACEOTH Free text of the "Other" race box, upper case', "No"],
    ]  # fmt: skip
    assert section.xpath(".//a/@href") == ["#IG.SUPPDM", "#CL.RACE", "#MT.RACEOTH"]


def test_codelists_show_every_term_decode_and_c_code(html: lxml.html.HtmlElement) -> None:
    define = _xml(SDTM_DEFINE)
    for codelist in define.iterfind(".//odm:CodeList[odm:CodeListItem]", ODM_NS):
        section = _by_id(html, codelist.get("OID"))
        code = codelist.find("odm:Alias[@Context='nci:ExtCodeID']", ODM_NS).get("Name")
        assert f"NCI code: {code}" in _text(section)
        expected = [
            [
                item.get("CodedValue"),
                item.findtext("odm:Decode/odm:TranslatedText", namespaces=ODM_NS),
                item.find("odm:Alias", ODM_NS).get("Name"),
            ]
            for item in codelist.iterfind("odm:CodeListItem", ODM_NS)
        ]
        assert _rows(section.xpath("table")[0]) == expected
    assert _rows(_by_id(html, "CL.SEX").xpath("table")[0]) == [
        ["F", "Female", "C16576"],
        ["M", "Male", "C20197"],
    ]
    assert not _by_id(html, "CL.SEX").xpath(".//p[@class='footnote']")


def test_extended_value_is_starred_with_a_footnote(html: lxml.html.HtmlElement) -> None:
    race = _by_id(html, "CL.RACE")
    assert _rows(race.xpath("table")[0]) == [
        ["ASIAN", "C41260"],
        ["WHITE", "C41261"],
        ["ASIAN & WHITE <MIXED> *", ""],
    ]
    footnote = race.xpath(".//p[@class='footnote']")
    assert [_text(f) for f in footnote] == [
        "* Extended value: a term added by the sponsor to an extensible CDISC codelist."
    ]


def test_external_dictionary_shows_name_and_version(html: lxml.html.HtmlElement) -> None:
    assert _rows(_by_id(html, "dictionaries").xpath("table")[0]) == [
        ["Adverse Event Dictionary CL.MEDDRA", "MedDRA", "27.1", "https://www.meddra.org/", "text"]
    ]
    assert _by_id(html, "CL.MEDDRA").tag == "tr"
    assert not html.xpath("//section[@id='CL.MEDDRA']")


def test_every_method_and_comment_has_an_anchor_with_its_text(html: lxml.html.HtmlElement) -> None:
    define = _xml(SDTM_DEFINE)
    for method in define.iterfind(".//odm:MethodDef", ODM_NS):
        row = [_text(td) for td in _by_id(html, method.get("OID")).xpath("td")]
        description = method.findtext("odm:Description/odm:TranslatedText", namespaces=ODM_NS)
        assert row[:3] == [method.get("OID"), method.get("Name"), method.get("Type")]
        assert row[3].startswith(description)
    assert _text(_by_id(html, "MT.AGE").xpath(".//pre")[0]) == "floor((rficdtc - brthdtc).days / 365.25)"
    assert _by_id(html, "MT.RACEOTH").xpath(".//a/@href") == ["csdrg.pdf", "csdrg.pdf#Race"]
    for comment in define.iterfind(".//def:CommentDef", ODM_NS):
        row = [_text(td) for td in _by_id(html, comment.get("OID")).xpath("td")]
        assert row[0] == comment.get("OID")
        assert row[1].startswith(comment.findtext("odm:Description/odm:TranslatedText", namespaces=ODM_NS))
    assert _text(_by_id(html, "COM.SUPPDM").xpath("td")[1]).endswith(
        "Clinical Study Data Reviewer's Guide [pages 4-5]"
    )
    assert _by_id(html, "COM.SUPPDM").xpath(".//a/@href") == ["csdrg.pdf", "csdrg.pdf#page=4"]


def test_special_characters_are_escaped_and_shown_as_written(
    page: bytes, html: lxml.html.HtmlElement
) -> None:
    assert b'BRTHDTC &lt; RFICDTC &amp; both are "complete" dates' in page
    assert b"ASIAN &amp; WHITE &lt;MIXED&gt; *" in page
    assert b"<MIXED>" not in page
    method = _by_id(html, "MT.AGE").xpath("td[4]/div[@class='text']")[0]
    assert method.text_content() == AGE_METHOD


def test_page_is_self_contained_html5_with_resolvable_links(page: bytes, html: lxml.html.HtmlElement) -> None:
    assert page.startswith(b"<!DOCTYPE html>")
    assert b'charset=UTF-8"' in page
    assert not html.xpath(
        "//script | //link | //img | //iframe | //object | //embed | //*[@src] | //@*[starts-with(name(), 'on')]"
    )
    assert "url(" not in _text(html.xpath("//style")[0]) and "@import" not in _text(html.xpath("//style")[0])
    ids = html.xpath("//@id")
    assert len(ids) == len(set(ids))
    targets = {href[1:] for href in html.xpath("//a/@href") if href.startswith("#")}
    assert targets <= set(ids)
    assert _render(SDTM_DEFINE) == page


def test_script_urls_are_shown_as_text_not_links() -> None:
    hostile = SDTM_DEFINE.replace('xlink:href="csdrg.pdf"', 'xlink:href=" Java&#9;Script:alert(1)"')
    html = lxml.html.document_fromstring(_render(hostile))
    assert not [h for h in html.xpath("//a/@href") if "alert" in h]
    assert _text(_by_id(html, "documents").xpath(".//li")[1]) == "Clinical Study Data Reviewer's Guide"


def test_adam_define_shows_class_subclass_and_parameter_value_level() -> None:
    html = lxml.html.document_fromstring(_render(ADAM_DEFINE))
    assert _rows(_by_id(html, "datasets").xpath("table")[0]) == [
        ["ADTTE", "Time-to-Event Analysis Dataset", "BASIC DATA STRUCTURE / TIME-TO-EVENT",
         "One record per subject per parameter", "Analysis", "USUBJID, PARAMCD", "ADaMIG 1.3", "adtte.xpt", ""],
    ]  # fmt: skip
    variables = _rows(_by_id(html, "IG.ADTTE").xpath("table")[0])
    assert [row[1] for row in variables] == ["USUBJID", "PARAMCD", "AVAL value-level metadata"]
    assert variables[0][8] == "Predecessor: ADSL.USUBJID"
    assert _rows(_by_id(html, "VL.ADTTE.AVAL").xpath("table")[0]) == [
        ["PARAMCD EQ TTREM", "AVAL", "Time to Remission (Days)", "float", "8", "1", "", "", "Derived (Sponsor)",
         "Algorithm to derive AVAL for TTREM ADT - STARTDT + 1", "Yes"],
    ]  # fmt: skip
    assert not html.xpath("//*[@id='codelists' or @id='dictionaries' or @id='comments' or @id='documents']")


# --- the study's own define.xml files, rendered as the package ships them --------------------------------


@pytest.fixture(scope="module")
def fixture_defines(sdtm, adam_datasets, tmp_path_factory) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """The SDTM and ADaM define.xml of the fixture study, lengths taken from the XPT files written."""
    study = load_study()
    study_ct = load_study_ct()
    specs = load_specs(study.mappings_dir, load_forms())
    adam_specs = load_adam_specs(study.mappings_dir)
    folder = tmp_path_factory.mktemp("define_html")
    timestamp = dt.datetime.combine(study.data_cut, dt.time())
    sdtm_lengths = write_tabulations(sdtm.datasets, specs, folder / "sdtm", timestamp)
    adam_lengths = write_analysis(adam_datasets, adam_specs, folder / "adam", timestamp)
    guide = [SupplementalDocument("Reviewer's Guide", "guide.html")]
    models = {
        "sdtm": sdtm_define_model(sdtm.datasets, specs, sdtm_lengths, study, study_ct, guide),
        "adam": adam_define_model(adam_datasets, adam_specs, adam_lengths, study, study_ct, guide),
    }
    return {name: render_define(model, study.define_dir) for name, model in models.items()}


@pytest.mark.parametrize("model", ["sdtm", "adam"])
def test_fixture_define_shows_every_dataset_variable_codelist_method_and_comment(
    fixture_defines: dict[str, bytes], model: str
) -> None:
    define = etree.fromstring(fixture_defines[model])
    html = lxml.html.document_fromstring(render_define_html(fixture_defines[model], STYLESHEET))
    for group in define.iterfind(".//odm:ItemGroupDef", ODM_NS):
        section = _by_id(html, group.get("OID"))
        assert _text(section.xpath("h2")[0]).startswith(group.get("Name")), group.get("Name")
        shown = {cell.text.strip() for cell in section.xpath("table/tbody/tr/td[2]")}
        for ref in group.iterfind("odm:ItemRef", ODM_NS):
            name = define.find(f".//odm:ItemDef[@OID='{ref.get('ItemOID')}']", ODM_NS).get("Name")
            assert name in shown, f"{group.get('Name')}.{name}"
        leaf = group.find("def:leaf", ODM_NS)
        if leaf is not None:
            assert section.xpath(".//a/@href[.=$href]", href=leaf.get(f"{{{XLINK_NS}}}href"))
    variable_cells = html.xpath("//section[@class='dataset' or @class='valuelist']/table/tbody/tr/td[2]")
    item_names = {item.get("Name") for item in define.iterfind(".//odm:ItemDef", ODM_NS)}
    assert item_names <= {cell.text.strip() for cell in variable_cells}
    for value_list in define.iterfind(".//def:ValueListDef", ODM_NS):
        rows = _by_id(html, value_list.get("OID")).xpath("table/tbody/tr")
        assert len(rows) == len(value_list.findall("odm:ItemRef", ODM_NS)), value_list.get("OID")
    for codelist in define.iterfind(".//odm:CodeList", ODM_NS):
        anchor = _by_id(html, codelist.get("OID"))
        assert codelist.get("Name") in _text(anchor)
        shown = (
            [row[0].removesuffix(" *") for row in _rows(anchor.xpath("table")[0])]
            if anchor.tag == "section"
            else []
        )
        coded = [item.get("CodedValue") for item in codelist.iterfind("*[@CodedValue]", ODM_NS)]
        assert shown == coded, codelist.get("OID")
    for method in define.iterfind(".//odm:MethodDef", ODM_NS):
        assert _text(_by_id(html, method.get("OID")).xpath("td[2]")[0]) == method.get("Name")
    for comment in define.iterfind(".//def:CommentDef", ODM_NS):
        assert _by_id(html, comment.get("OID")).tag == "tr"
    assert html.xpath("//section[@id='documents']//a/@href") == ["guide.html"]
    targets = {href[1:] for href in html.xpath("//a/@href") if href.startswith("#")}
    assert targets <= set(html.xpath("//@id"))


# --- bad input: one clear DefineHtmlError naming the file, never a traceback from lxml -------------------


def test_malformed_define_names_the_source() -> None:
    with pytest.raises(DefineHtmlError, match=r"define\.xml \(in memory\): not well-formed XML"):
        render_define_html(b"<ODM><Study>", STYLESHEET)


def test_missing_define_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "define.xml"
    with pytest.raises(DefineHtmlError, match=re.escape(str(missing))):
        render_define_html(missing, STYLESHEET)


def test_define_file_path_is_rendered(tmp_path: Path, page: bytes) -> None:
    path = tmp_path / "define.xml"
    path.write_text(SDTM_DEFINE, encoding="utf-8")
    assert render_define_html(path, STYLESHEET) == page


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("<html/>", "not a Define-XML document: the root element is html, not ODM"),
        (
            SDTM_DEFINE.replace("http://www.cdisc.org/ns/def/v2.1", "http://www.cdisc.org/ns/def/v2.0"),
            "not a Define-XML 2.1 document",
        ),
        (SDTM_DEFINE.replace('def:DefineVersion="2.1.0"', 'def:DefineVersion="2.0.0"'), "found '2.0.0'"),
    ],
    ids=["not-odm", "define-2.0-namespace", "define-2.0-version"],
)
def test_documents_that_are_not_define_21_are_refused(document: str, message: str) -> None:
    with pytest.raises(DefineHtmlError, match=re.escape(message)):
        _render(document)


def _stylesheet(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.xsl"
    path.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f'<xsl:output method="html"/><xsl:template match="/">{body}</xsl:template></xsl:stylesheet>',
        encoding="utf-8",
    )
    return path


def test_transform_reading_a_file_is_denied(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text("<secret>do not show</secret>", encoding="utf-8")
    stylesheet = _stylesheet(tmp_path, f"<p><xsl:value-of select=\"document('{secret.as_uri()}')\"/></p>")
    with pytest.raises(DefineHtmlError, match=re.escape(f"rendering with {stylesheet} failed")) as error:
        render_define_html(SDTM_DEFINE.encode(), stylesheet)
    assert f"Local file read for {secret.as_uri()} refused" in str(error.value)


def test_transform_error_names_file_and_message(tmp_path: Path) -> None:
    stylesheet = _stylesheet(tmp_path, '<xsl:message terminate="yes">no MetaDataVersion</xsl:message>')
    with pytest.raises(
        DefineHtmlError,
        match=rf"^define\.xml \(in memory\): rendering with {re.escape(str(stylesheet))} failed: no MetaDataVersion",
    ):
        render_define_html(SDTM_DEFINE.encode(), stylesheet)


def test_stylesheet_that_is_not_xslt_names_the_stylesheet(tmp_path: Path) -> None:
    stylesheet = tmp_path / "bad.xsl"
    stylesheet.write_text("<not-xslt/>", encoding="utf-8")
    with pytest.raises(DefineHtmlError, match=re.escape(f"{stylesheet}: not a usable XSLT stylesheet")):
        render_define_html(SDTM_DEFINE.encode(), stylesheet)


# --- browsers implement XSLT 1.0 only: no 2.0 instructions, no extension functions ---------------------

XSLT_10_INSTRUCTIONS = frozenset(
    [
        "apply-imports",
        "apply-templates",
        "attribute",
        "attribute-set",
        "call-template",
        "choose",
        "comment",
        "copy",
        "copy-of",
        "decimal-format",
        "element",
        "fallback",
        "for-each",
        "if",
        "import",
        "include",
        "key",
        "message",
        "namespace-alias",
        "number",
        "otherwise",
        "output",
        "param",
        "preserve-space",
        "processing-instruction",
        "sort",
        "strip-space",
        "stylesheet",
        "template",
        "text",
        "transform",
        "value-of",
        "variable",
        "when",
        "with-param",
    ]
)
# XPath 1.0 core functions, XSLT 1.0 additional functions, node tests; document() left out on purpose
XPATH_10_FUNCTIONS = frozenset(
    [
        "last",
        "position",
        "count",
        "id",
        "local-name",
        "namespace-uri",
        "name",
        "string",
        "concat",
        "starts-with",
        "contains",
        "substring-before",
        "substring-after",
        "substring",
        "string-length",
        "normalize-space",
        "translate",
        "boolean",
        "not",
        "true",
        "false",
        "lang",
        "number",
        "sum",
        "floor",
        "ceiling",
        "round",
        "key",
        "format-number",
        "current",
        "generate-id",
        "system-property",
        "element-available",
        "function-available",
        "unparsed-entity-uri",
        "text",
        "node",
        "comment",
        "processing-instruction",
    ]
)
XSL_NS = "http://www.w3.org/1999/XSL/Transform"


def test_stylesheet_is_plain_xslt_10_for_browsers() -> None:
    root = etree.parse(str(STYLESHEET)).getroot()
    assert root.get("version") == "1.0"
    assert root.get("extension-element-prefixes") is None
    assert set(root.nsmap.values()) == {XSL_NS, *ODM_NS.values(), XLINK_NS}
    instructions = {
        etree.QName(e).localname for e in root.iter(etree.Element) if etree.QName(e).namespace == XSL_NS
    }
    assert instructions <= XSLT_10_INSTRUCTIONS
    assert not [e.tag for e in root.iter(etree.Element) if etree.QName(e).namespace not in (None, XSL_NS)]
    expressions = " ".join(
        value
        for element in root.iter(etree.Element)
        for name, value in element.attrib.items()
        if name in ("select", "test", "use", "match") or "{" in value
    )
    called = set(re.findall(r"([A-Za-z][\w.-]*(?::[\w.-]+)?)\s*\(", expressions))
    assert called <= XPATH_10_FUNCTIONS, called - XPATH_10_FUNCTIONS
    assert root.xpath("//xsl:*[@disable-output-escaping]", namespaces={"xsl": XSL_NS}) == []
