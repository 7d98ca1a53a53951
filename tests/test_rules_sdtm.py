"""SDTM conformance rules: a passing and a failing example for every SDTM rule of the catalog, and the
project's own fixture SDTM judged by all of them.

Each example is a tiny submission built with ``Submission.from_frames``; the failing one names the exact
finding a reviewer would expect (dataset, record number, variable, value). A rule added to the catalog
without examples fails ``test_every_sdtm_rule_has_examples``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest
from lxml import etree

from cdisc168.check.catalog import RuleDef, load_catalog
from cdisc168.check.run import INTERNAL_RULE, run_rules
from cdisc168.check.submission import DatasetMetadata, Submission, metadata_from_frame
from cdisc168.findings import Severity
from cdisc168.standards.schemas import safe_xml_parser

STUDY = "S1"
S1, S2 = "S1-001", "S1-002"
Frames = dict[str, pd.DataFrame]


def sponsor_unit_define() -> etree._ElementTree:
    """A define.xml fragment declaring LB.LBORRESU with codelist UNIT extended by "units per litre"."""
    xml = b"""<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.1">
      <Study OID="S"><MetaDataVersion OID="M" Name="M">
        <ItemGroupDef OID="IG.LB" Name="LB" Purpose="Tabulation"><ItemRef ItemOID="IT.LB.LBORRESU"/></ItemGroupDef>
        <ItemDef OID="IT.LB.LBORRESU" Name="LBORRESU" DataType="text"><CodeListRef CodeListOID="CL.UNIT"/></ItemDef>
        <CodeList OID="CL.UNIT" Name="Unit" DataType="text">
          <EnumeratedItem CodedValue="U/L"/>
          <EnumeratedItem CodedValue="units per litre" def:ExtendedValue="Yes"/>
        </CodeList>
      </MetaDataVersion></Study></ODM>"""
    return etree.ElementTree(etree.fromstring(xml, safe_xml_parser()))


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def dm(**changes: object) -> pd.DataFrame:
    """Two treated subjects; ``changes`` = {column: [value for S1, value for S2]} (None drops a column)."""
    data: dict[str, list[object]] = {
        "STUDYID": [STUDY, STUDY],
        "DOMAIN": ["DM", "DM"],
        "USUBJID": [S1, S2],
        "SUBJID": ["001", "002"],
        "RFSTDTC": ["2024-03-01", "2024-04-01"],
        "RFENDTC": ["2024-06-01", "2024-07-01"],
        "RFXSTDTC": ["2024-03-01", "2024-04-01"],
        "RFXENDTC": ["2024-03-10", "2024-04-10"],
        "DTHDTC": [None, None],
        "DTHFL": [None, None],
        "SITEID": ["01", "01"],
        "SEX": ["F", "M"],
        "COUNTRY": ["CHN", "CHN"],
        "ARMCD": ["DL1", "DL1"],
        "ARM": ["Dose level 1", "Dose level 1"],
        "ACTARMCD": ["DL1", "DL1"],
        "ACTARM": ["Dose level 1", "Dose level 1"],
        "ARMNRS": [None, None],
    }
    for column, values in changes.items():
        if values is None:
            data.pop(column)
        else:
            data[column] = list(values)  # type: ignore[call-overload]
    return pd.DataFrame(data)


def ae(*rows: dict[str, object]) -> pd.DataFrame:
    """AE records of S1 with the Req variables filled; each row overrides or adds columns."""
    base = {"STUDYID": STUDY, "DOMAIN": "AE", "USUBJID": S1, "AETERM": "Headache", "AEDECOD": "Headache"}
    records = [{**base, "AESEQ": float(i + 1), **row} for i, row in enumerate(rows or ({},))]
    return pd.DataFrame(records)


def lb(*rows: dict[str, object]) -> pd.DataFrame:
    base = {
        "STUDYID": STUDY,
        "DOMAIN": "LB",
        "USUBJID": S1,
        "LBTESTCD": "ALT",
        "LBTEST": "Alanine Aminotransferase",
    }
    return pd.DataFrame([{**base, "LBSEQ": float(i + 1), **row} for i, row in enumerate(rows)])


def vs(*rows: dict[str, object]) -> pd.DataFrame:
    base = {"STUDYID": STUDY, "DOMAIN": "VS", "USUBJID": S1, "VSTESTCD": "TEMP", "VSTEST": "Temperature"}
    return pd.DataFrame([{**base, "VSSEQ": float(i + 1), **row} for i, row in enumerate(rows)])


def se() -> pd.DataFrame:
    """S1: screening 2024-02-20..2024-03-01, treatment 2024-03-01..2024-03-10, follow-up from 2024-03-10."""
    rows = [
        ("SCRN", "SCREENING", "2024-02-20", "2024-03-01"),
        ("TRT", "TREATMENT", "2024-03-01", "2024-03-10"),
        ("FU", "FOLLOW-UP", "2024-03-10", None),
    ]
    return pd.DataFrame(
        [
            {
                "STUDYID": STUDY,
                "DOMAIN": "SE",
                "USUBJID": S1,
                "SESEQ": float(i + 1),
                "ETCD": e,
                "EPOCH": p,
                "SESTDTC": a,
                "SEENDTC": b,
            }
            for i, (e, p, a, b) in enumerate(rows)
        ]
    )


def sv(*visits: float) -> pd.DataFrame:
    return pd.DataFrame(
        [{"STUDYID": STUDY, "DOMAIN": "SV", "USUBJID": S1, "VISITNUM": v, "VISIT": f"V{v:g}"} for v in visits]
    )


def tv(*visits: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "STUDYID": STUDY,
                "DOMAIN": "TV",
                "VISITNUM": v,
                "VISIT": f"V{v:g}",
                "TVSTRL": "start",
                "ARMCD": "DL1",
            }
            for v in visits
        ]
    )


def ts(*codes: str, **values: str) -> pd.DataFrame:
    rows = [(c, "x") for c in codes] + list(values.items())
    return pd.DataFrame(
        [
            {"STUDYID": STUDY, "DOMAIN": "TS", "TSSEQ": 1.0, "TSPARMCD": c, "TSPARM": c, "TSVAL": v}
            for c, v in rows
        ]
    )


def supp(
    rdomain: str, idvar: str | None, idvarval: str | None, qnam: str = "AETRTEM", n: int = 1, **extra: object
):
    row = {
        "STUDYID": STUDY,
        "RDOMAIN": rdomain,
        "USUBJID": S1,
        "IDVAR": idvar,
        "IDVARVAL": idvarval,
        "QNAM": qnam,
        "QLABEL": "Treatment Emergent Flag",
        "QVAL": "Y",
        "QORIG": "Derived",
        **extra,
    }
    return pd.DataFrame([row] * n)


# (dataset, row, variable, value) of each expected finding
Expected = list[tuple[str, int | None, str, str]]


@dataclass(frozen=True)
class Example:
    passing: Callable[[], Frames]
    failing: Callable[[], Frames]
    expected: Expected
    metadata: Callable[[Frames], dict[str, DatasetMetadata]] | None = None  # of the failing example
    define: bool = False  # both examples come with SPONSOR_UNIT_DEFINE as their define.xml


def relabelled(
    name: str, variable: str, **attributes: object
) -> Callable[[Frames], dict[str, DatasetMetadata]]:
    """Metadata as from_frames derives it, with ``attributes`` of one variable changed (as a file states it)."""

    def build(frames: Frames) -> dict[str, DatasetMetadata]:
        meta = metadata_from_frame(name, frames[name])
        meta.variables[variable] = {**meta.variables[variable], **attributes}
        return {name: meta}

    return build


CRITERIA_N = {
    c: "N" for c in ("AESCAN", "AESCONG", "AESDISAB", "AESDTH", "AESHOSP", "AESLIFE", "AESOD", "AESMIE")
}
LONG = "x" * 201

EXAMPLES: dict[str, Example] = {
    "SD-IG-REQ-VAR": Example(
        lambda: {"AE": ae()}, lambda: {"AE": ae().drop(columns="AEDECOD")}, [("AE", None, "AEDECOD", "")]
    ),
    "SD-IG-REQ-NULL": Example(
        lambda: {"AE": ae({}, {})}, lambda: {"AE": ae({}, {"AETERM": " "})}, [("AE", 2, "AETERM", " ")]
    ),
    "SD-IG-EXP-VAR": Example(
        lambda: {"TV": tv(1.0)}, lambda: {"TV": tv(1.0).drop(columns="ARMCD")}, [("TV", None, "ARMCD", "")]
    ),
    "SD-IG-TYPE": Example(
        lambda: {"AE": ae()}, lambda: {"AE": ae().astype({"AESEQ": str})}, [("AE", None, "AESEQ", "Char")]
    ),
    "SD-IG-LABEL": Example(
        lambda: {"AE": ae()},
        lambda: {"AE": ae()},
        [("AE", None, "AETERM", "AE term")],
        metadata=relabelled("AE", "AETERM", label="AE term"),
    ),
    "SD-CT-NONEXT": Example(
        lambda: {"DM": dm()}, lambda: {"DM": dm(SEX=["F", "X"])}, [("DM", 2, "SEX", "X")]
    ),
    "SD-CT-EXT": Example(
        # a numeric result is not judged against the LBSTRESC codelist; a unit outside UNIT is
        lambda: {"LB": lb({"LBSTRESC": "5.1", "LBORRESU": "U/L"})},
        # reported once per distinct value, at its first record
        lambda: {
            "LB": lb({"LBORRESU": "U/L"}, {"LBORRESU": "units per litre"}, {"LBORRESU": "units per litre"})
        },
        [("LB", 2, "LBORRESU", "units per litre")],
    ),
    "SD-CT-SPONSOR": Example(
        # a CDISC term is not a sponsor extension
        lambda: {"LB": lb({"LBORRESU": "U/L"})},
        # a value outside the CT that define.xml declares is listed once, as a notice
        lambda: {"LB": lb({"LBORRESU": "U/L"}, {"LBORRESU": "units per litre"})},
        [("LB", 2, "LBORRESU", "units per litre")],
        define=True,
    ),
    "SD-XPT-DATASET": Example(
        lambda: {"AE": ae()}, lambda: {"AEEXTENDED": ae()}, [("AEEXTENDED", None, "", "AEEXTENDED")]
    ),
    "SD-XPT-VARIABLE": Example(
        lambda: {"AE": ae()}, lambda: {"AE": ae({"_FORM": "ae"})}, [("AE", None, "_FORM", "_FORM")]
    ),
    "SD-LENGTH-200": Example(
        lambda: {"AE": ae({"AETERM": "x" * 200})},
        lambda: {"AE": ae({}, {"AETERM": LONG})},
        [("AE", 2, "AETERM", LONG)],
    ),
    "SD-LENGTH-FIT": Example(
        lambda: {"AE": ae()},
        lambda: {"AE": ae()},
        [("AE", None, "AETERM", "50")],
        metadata=relabelled("AE", "AETERM", length=50),
    ),
    "SD-ISO8601-DTC": Example(
        lambda: {"AE": ae({"AESTDTC": "2024-03"}, {"AESTDTC": "2024-03-05T10:30"})},
        lambda: {"AE": ae({"AESTDTC": "2024-03-05"}, {"AESTDTC": "2023-02-29"})},
        [("AE", 2, "AESTDTC", "2023-02-29")],
    ),
    "SD-ISO8601-DUR": Example(
        lambda: {"AE": ae({"AEDUR": "P3D"}, {"AEDUR": "PT2H30M"})},
        lambda: {"AE": ae({"AEDUR": "-P3D"})},
        [("AE", 1, "AEDUR", "-P3D")],
    ),
    "SD-SEQ-UNIQUE": Example(
        lambda: {"AE": ae({}, {"AESEQ": 2.0, "USUBJID": S2})},
        lambda: {"AE": ae({}, {"AETERM": "Nausea", "AESEQ": 1.0})},
        [("AE", 2, "AESEQ", "1")],
    ),
    "SD-DUPLICATE": Example(
        lambda: {"AE": ae({}, {"AETERM": "Nausea"})}, lambda: {"AE": ae({}, {})}, [("AE", 2, "", "")]
    ),
    "SD-START-END": Example(
        # 2024-03 may be on or after 2024-03-02: not certainly after, not reported
        lambda: {"AE": ae({"AESTDTC": "2024-03", "AEENDTC": "2024-03-02"})},
        lambda: {"AE": ae({"AESTDTC": "2024-03-05T10:00", "AEENDTC": "2024-03-05T09:00"})},
        [("AE", 1, "AESTDTC", "2024-03-05T10:00")],
    ),
    "SD-DM-RFDATES": Example(
        lambda: {"DM": dm()},
        lambda: {"DM": dm(RFENDTC=["2024-06-01", "2024-03-31"])},
        [("DM", 2, "RFSTDTC", "2024-04-01")],
    ),
    "SD-VISIT-ONE-TO-ONE": Example(
        lambda: {"VS": vs({"VISITNUM": 1.0, "VISIT": "SCREENING"}, {"VISITNUM": 1.0, "VISIT": "SCREENING"})},
        lambda: {"VS": vs({"VISITNUM": 1.0, "VISIT": "SCREENING"}, {"VISITNUM": 1.0, "VISIT": "BASELINE"})},
        [("VS", 1, "VISIT", "SCREENING"), ("VS", 2, "VISIT", "BASELINE")],
    ),
    "SD-DY": Example(
        # RFSTDTC 2024-03-01 is day 1; 2024-02-29 is day -1 (no day 0); 2024-03-05 is day 5
        lambda: {
            "DM": dm(),
            "AE": ae({"AESTDTC": "2024-02-29", "AESTDY": -1.0}, {"AESTDTC": "2024-03-05", "AESTDY": 5.0}),
        },
        lambda: {
            "DM": dm(),
            "AE": ae({"AESTDTC": "2024-03-05", "AESTDY": 4.0}, {"AESTDTC": "2024-03", "AESTDY": 1.0}),
        },
        [("AE", 1, "AESTDY", "4"), ("AE", 2, "AESTDY", "1")],
    ),
    "SD-EPOCH-VAR": Example(
        lambda: {"AE": ae({"AESTDTC": "2024-03-05", "EPOCH": "TREATMENT"})},
        lambda: {"AE": ae({"AESTDTC": "2024-03-05"})},
        [("AE", None, "EPOCH", "")],
    ),
    "SD-EPOCH-SE": Example(
        # 2024-03-10 ends TREATMENT and starts FOLLOW-UP: either epoch is right on that day
        lambda: {
            "DM": dm(),
            "SE": se(),
            "AE": ae(
                {"AESTDTC": "2024-03-10", "EPOCH": "TREATMENT"},
                {"AESTDTC": "2024-03-12", "EPOCH": "FOLLOW-UP"},
            ),
        },
        lambda: {"DM": dm(), "SE": se(), "AE": ae({"AESTDTC": "2024-03-05", "EPOCH": "SCREENING"})},
        [("AE", 1, "EPOCH", "SCREENING")],
    ),
    "SD-VISIT-SV": Example(
        lambda: {"SV": sv(1.0, 2.0), "VS": vs({"VISITNUM": 1.0}, {"VISITNUM": 2.0})},
        lambda: {"SV": sv(1.0), "VS": vs({"VISITNUM": 1.0}, {"VISITNUM": 2.0}, {"VISITNUM": 2.0})},
        [("VS", 2, "VISITNUM", "2")],
    ),
    "SD-VISIT-TV": Example(
        lambda: {
            "TV": tv(1.0, 2.0),
            "VS": vs({"VISITNUM": 1.0, "VISIT": "V1"}, {"VISITNUM": 1.01, "VISIT": "UNSCHEDULED 1.01"}),
        },
        # VISITNUM 99 first appears on an unscheduled record; its scheduled record is still judged
        lambda: {
            "TV": tv(1.0),
            "VS": vs(
                {"VISITNUM": 1.0, "VISIT": "V1"},
                {"VISITNUM": 99.0, "VISIT": "UNSCHEDULED 99"},
                {"VISITNUM": 99.0, "VISIT": "EARLY TERMINATION"},
            ),
        },
        [("VS", 3, "VISITNUM", "99")],
    ),
    "SD-DM-ONE": Example(
        lambda: {"DM": dm()}, lambda: {"DM": dm(USUBJID=[S1, S1])}, [("DM", 2, "USUBJID", S1)]
    ),
    "SD-DM-ARMVARS": Example(
        lambda: {"DM": dm()}, lambda: {"DM": dm(ACTARM=None)}, [("DM", None, "ACTARM", "")]
    ),
    "SD-DM-ARMNRS-MISSING": Example(
        lambda: {
            "DM": dm(
                ACTARMCD=["DL1", None], ACTARM=["Dose level 1", None], ARMNRS=[None, "ASSIGNED, NOT TREATED"]
            )
        },
        lambda: {"DM": dm(ACTARMCD=["DL1", None], ACTARM=["Dose level 1", None])},
        [("DM", 2, "ARMNRS", "")],
    ),
    "SD-DM-ARMNRS-EXTRA": Example(
        lambda: {"DM": dm(ARMCD=["DL1", None], ARMNRS=[None, "SCREEN FAILURE"], ACTARMCD=["DL1", None])},
        lambda: {"DM": dm(ARMNRS=[None, "SCREEN FAILURE"])},
        [("DM", 2, "ARMNRS", "SCREEN FAILURE")],
    ),
    "SD-DM-DTHDTC-DTHFL": Example(
        lambda: {"DM": dm(DTHDTC=[None, "2024-05-01"], DTHFL=[None, "Y"])},
        lambda: {"DM": dm(DTHDTC=[None, "2024-05-01"])},
        [("DM", 2, "DTHFL", "")],
    ),
    "SD-DM-DTHFL-DTHDTC": Example(
        lambda: {"DM": dm(DTHDTC=[None, "2024-05"], DTHFL=[None, "Y"])},
        lambda: {"DM": dm(DTHFL=["Y", None])},
        [("DM", 1, "DTHDTC", "")],
    ),
    "SD-AE-SER-CRIT": Example(
        lambda: {"AE": ae({"AESER": "Y", **CRITERIA_N, "AESHOSP": "Y"}, {"AESER": "N", **CRITERIA_N})},
        lambda: {"AE": ae({"AESER": "Y", **CRITERIA_N})},
        [("AE", 1, "AESCAN", "N")],
    ),
    "SD-AE-CRIT-SER": Example(
        lambda: {"AE": ae({"AESER": "Y", **CRITERIA_N, "AESLIFE": "Y"})},
        lambda: {"AE": ae({"AESER": "N", **CRITERIA_N, "AESLIFE": "Y"})},
        [("AE", 1, "AESER", "N")],
    ),
    "SD-AE-OUT-FATAL": Example(
        lambda: {"AE": ae({"AEOUT": "FATAL", "AESDTH": "Y"})},
        lambda: {"AE": ae({"AEOUT": "FATAL", "AESDTH": "N"})},
        [("AE", 1, "AESDTH", "N")],
    ),
    "SD-AE-SDTH-FATAL": Example(
        lambda: {"AE": ae({"AEOUT": "FATAL", "AESDTH": "Y"})},
        lambda: {"AE": ae({"AEOUT": "RECOVERED/RESOLVED", "AESDTH": "Y"})},
        [("AE", 1, "AEOUT", "RECOVERED/RESOLVED")],
    ),
    "SD-AE-ENDTC-RESOLVED": Example(
        lambda: {"AE": ae({"AEOUT": "RECOVERED/RESOLVED", "AEENDTC": "2024-03-09"})},
        lambda: {"AE": ae({"AEOUT": "RECOVERED/RESOLVED WITH SEQUELAE", "AEENDTC": None})},
        [("AE", 1, "AEENDTC", "")],
    ),
    "SD-AE-ENDTC-ONGOING": Example(
        lambda: {"AE": ae({"AEOUT": "NOT RECOVERED/NOT RESOLVED", "AEENDTC": None})},
        lambda: {"AE": ae({"AEOUT": "RECOVERING/RESOLVING", "AEENDTC": "2024-03-09"})},
        [("AE", 1, "AEENDTC", "2024-03-09")],
    ),
    "SD-EX-RFX": Example(
        lambda: {
            "DM": dm(),
            "EX": frame([{"USUBJID": S1, "EXSEQ": 1.0, "EXTRT": "C", "EXSTDTC": "2024-03-10T09:00"}]),
        },
        lambda: {
            "DM": dm(),
            "EX": frame([{"USUBJID": S2, "EXSEQ": 1.0, "EXTRT": "C", "EXSTDTC": "2024-03-31"}]),
        },
        [("EX", 1, "EXSTDTC", "2024-03-31")],
    ),
    "SD-ORRESU": Example(
        lambda: {"LB": lb({"LBORRES": "40", "LBORRESU": "U/L"}, {"LBORRES": "NOT DONE"})},
        lambda: {"LB": lb({"LBORRES": "40", "LBORRESU": "U/L"}, {"LBORRES": "41"})},
        [("LB", 2, "LBORRESU", "")],
    ),
    "SD-STRESN": Example(
        lambda: {"LB": lb({"LBSTRESC": "5.10", "LBSTRESN": 5.1}, {"LBSTRESC": "<1", "LBSTRESN": None})},
        lambda: {"LB": lb({"LBSTRESC": "5.1", "LBSTRESN": 5.2}, {"LBSTRESC": "POSITIVE", "LBSTRESN": 1.0})},
        [("LB", 1, "LBSTRESN", "5.2"), ("LB", 2, "LBSTRESN", "1")],
    ),
    "SD-STRESC": Example(
        lambda: {"LB": lb({"LBORRES": "40", "LBSTRESC": "40"}, {"LBORRES": None, "LBSTRESC": None})},
        lambda: {"LB": lb({"LBORRES": "40", "LBSTRESC": None})},
        [("LB", 1, "LBSTRESC", "")],
    ),
    "SD-NRIND": Example(
        lambda: {
            "LB": lb(
                {"LBSTRESN": 10.0, "LBSTNRLO": 0.0, "LBSTNRHI": 40.0, "LBNRIND": "NORMAL"},
                {"LBSTRESN": 50.0, "LBSTNRLO": 0.0, "LBSTNRHI": 40.0, "LBNRIND": "HIGH"},
            )
        },
        lambda: {"LB": lb({"LBSTRESN": 50.0, "LBSTNRLO": 0.0, "LBSTNRHI": 40.0, "LBNRIND": "NORMAL"})},
        [("LB", 1, "LBNRIND", "NORMAL")],
    ),
    "SD-LLOQ": Example(
        lambda: {"PC": frame([{"USUBJID": S1, "PCTESTCD": "CAR", "PCSTRESC": "<0.1", "PCLLOQ": 0.1}])},
        lambda: {"PC": frame([{"USUBJID": S1, "PCTESTCD": "CAR", "PCSTRESC": "BLQ", "PCLLOQ": None}])},
        [("PC", 1, "PCLLOQ", "")],
    ),
    "SD-SUPP-PARENT": Example(
        lambda: {
            "AE": ae(),
            "DM": dm(),
            "SUPPAE": supp("AE", "AESEQ", "1"),
            "SUPPDM": supp("DM", None, None, "RACEOTH"),
        },
        lambda: {"AE": ae(), "SUPPAE": supp("AE", "AESEQ", "3")},
        [("SUPPAE", 1, "IDVARVAL", "3")],
    ),
    "SD-SUPP-QNAM-UNIQUE": Example(
        lambda: {
            "SUPPAE": pd.concat([supp("AE", "AESEQ", "1"), supp("AE", "AESEQ", "2")], ignore_index=True)
        },
        lambda: {"SUPPAE": supp("AE", "AESEQ", "1", n=2)},
        [("SUPPAE", 2, "QNAM", "AETRTEM")],
    ),
    "SD-SUPP-QNAM": Example(
        lambda: {"SUPPAE": supp("AE", "AESEQ", "1", qnam="AE_X1")},
        lambda: {"SUPPAE": supp("AE", "AESEQ", "1", qnam="1AETRTEM")},
        [("SUPPAE", 1, "QNAM", "1AETRTEM")],
    ),
    "SD-DATASETS": Example(
        lambda: {"DM": dm(), "TS": ts("SSTDTC")}, lambda: {"AE": ae(), "DM": dm()}, [("TS", None, "", "")]
    ),
    "SD-TS-SSTDTC": Example(
        lambda: {"TS": ts("SSTDTC")}, lambda: {"TS": ts("TITLE")}, [("TS", None, "TSPARMCD", "SSTDTC")]
    ),
    "SD-TS-PARAMS": Example(
        lambda: {"TS": ts(*EXPECTED_TS)},
        lambda: {"TS": ts(*(c for c in EXPECTED_TS if c != "TCNTRL"))},
        [("TS", None, "TSPARMCD", "TCNTRL")],
    ),
    "SD-TS-TDIGRP": Example(
        lambda: {"TS": ts(HLTSUBJI="Y")},
        lambda: {"TS": ts(HLTSUBJI="N")},
        [("TS", None, "TSPARMCD", "TDIGRP")],
    ),
}


def sdtm_rules() -> dict[str, RuleDef]:
    return {r.id: r for r in load_catalog() if r.scope == "SDTM"}


EXPECTED_TS = tuple(sdtm_rules()["SD-TS-PARAMS"].params["parameters"])


def _run(rule: RuleDef, example: Example, *, failing: bool):  # type: ignore[no-untyped-def]
    """Run one rule on an example; ``metadata`` (what the file states) belongs to the failing one."""
    frames = example.failing() if failing else example.passing()
    metadata = example.metadata(frames) if failing and example.metadata else None
    define = {"SDTM": sponsor_unit_define()} if example.define else None
    return run_rules(Submission.from_frames(frames, metadata, define=define), [rule])


def _found(result, rule: RuleDef) -> Expected:  # type: ignore[no-untyped-def]
    assert not [f for f in result.findings if f.rule == INTERNAL_RULE], [str(f) for f in result.findings]
    assert result.not_applied == {}, result.not_applied
    return [(f.dataset, f.row, f.variable, f.value) for f in result.findings if f.rule == rule.id]


def test_every_sdtm_rule_has_examples() -> None:
    assert sorted(sdtm_rules()) == sorted(EXAMPLES)


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_rule_passes_its_positive_example(rule_id: str) -> None:
    rule = sdtm_rules()[rule_id]
    example = EXAMPLES[rule_id]
    assert _found(_run(rule, example, failing=False), rule) == []


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_rule_reports_its_negative_example(rule_id: str) -> None:
    rule = sdtm_rules()[rule_id]
    example = EXAMPLES[rule_id]
    assert _found(_run(rule, example, failing=True), rule) == example.expected


def test_findings_carry_subject_seq_and_message() -> None:
    """The engine reads USUBJID and --SEQ from the failing record; the message names the computed day."""
    rule = sdtm_rules()["SD-DY"]
    frames = {"DM": dm(), "AE": ae({"AESTDTC": "2024-03-05", "AESTDY": 4.0})}
    (finding,) = run_rules(Submission.from_frames(frames), [rule]).findings
    assert (finding.usubjid, finding.seq, finding.severity) == (S1, 1.0, Severity.ERROR)
    assert finding.message == "AESTDY should be 5 from AESTDTC and DM.RFSTDTC 2024-03-01"


def test_sponsor_term_is_reported_once_with_its_record_count() -> None:
    rule = sdtm_rules()["SD-CT-EXT"]
    frames = {"LB": lb(*({"LBORRESU": "units per litre"} for _ in range(3)))}
    (finding,) = run_rules(Submission.from_frames(frames), [rule]).findings
    assert finding.message == "LBORRESU value is not a term of codelist UNIT (C71620) (3 records)"


def test_combined_suppqual_is_split_by_rdomain() -> None:
    """A combined SUPPQUAL (one dataset for every parent) is judged record by record against RDOMAIN."""
    rule = sdtm_rules()["SD-SUPP-PARENT"]
    combined = pd.concat(
        [
            supp("AE", "AESEQ", "1"),
            supp("DM", None, None, "RACEOTH"),
            supp("AE", "AESEQ", "7"),
            supp("XX", None, None),
        ],
        ignore_index=True,
    )
    result = run_rules(Submission.from_frames({"AE": ae(), "DM": dm(), "SUPPQUAL": combined}), [rule])
    assert [(f.row, f.variable, f.value) for f in result.findings] == [
        (3, "IDVARVAL", "7"),
        (4, "RDOMAIN", "XX"),
    ]


def test_companion_missing_is_not_applied_with_reason() -> None:
    result = run_rules(
        Submission.from_frames({"AE": ae({"AESTDTC": "2024-03-05", "AESTDY": 5.0})}), [sdtm_rules()["SD-DY"]]
    )
    assert result.not_applied == {"SD-DY": "companion dataset(s) DM missing"}
    assert not result.findings


def test_ig_rules_are_not_applied_to_another_ig_version() -> None:
    """TS declares SDTMIG 3.3: rules judged against the shipped 3.4 metadata are not applied; others are."""
    frames = {"AE": ae().drop(columns="AEDECOD"), "TS": ts("SSTDTC", SDTIGVER="3.3")}
    rules = [sdtm_rules()["SD-IG-REQ-VAR"], sdtm_rules()["SD-TS-SSTDTC"]]
    result = run_rules(Submission.from_frames(frames), rules)
    assert result.ig_versions["SDTM"] == "3.3"
    assert result.not_applied == {
        "SD-IG-REQ-VAR": "judged against SDTMIG 3.4 metadata; the submission is SDTMIG 3.3"
    }
    assert [r.id for r in result.applied] == ["SD-TS-SSTDTC"]


def test_odd_data_never_raises() -> None:
    """Missing variables, empty datasets and wrong types give findings or nothing, never VAL-INTERNAL."""
    odd = {
        "DM": pd.DataFrame({"USUBJID": [S1]}),
        "AE": pd.DataFrame({"AESTDTC": [3.5, None], "AESTDY": ["x", None], "AESEQ": ["a", "a"]}),
        "LB": pd.DataFrame(columns=["USUBJID", "LBSTRESC", "LBSTRESN"]),
        "SE": pd.DataFrame({"USUBJID": [S1], "SESTDTC": ["bad"], "SEENDTC": [None], "EPOCH": [None]}),
        "SUPPAE": pd.DataFrame({"RDOMAIN": ["AE"], "QNAM": [None]}),
        "TS": pd.DataFrame({"TSVAL": ["x"]}),
    }
    result = run_rules(Submission.from_frames(odd), list(sdtm_rules().values()))
    assert [f for f in result.findings if f.rule == INTERNAL_RULE] == []


@pytest.fixture(scope="module")
def fixture_result(sdtm, study, forms):  # type: ignore[no-untyped-def]
    """All SDTM rules on the project's fixture SDTM, as the XPT files hold it (spec variables only)."""
    from cdisc168.sdtm.build import load_specs
    from cdisc168.write.tabulation import dataset_metadata

    specs = load_specs(study.mappings_dir, forms)
    frames = {
        name: frame[[v.name for v in dataset_metadata(name, specs, list(frame.columns))[1]]]
        for name, frame in sdtm.datasets.items()
    }
    return run_rules(Submission.from_frames(frames), list(sdtm_rules().values()))


def test_fixture_sdtm_has_no_error_findings(fixture_result) -> None:  # type: ignore[no-untyped-def]
    assert [str(f) for f in fixture_result.findings if f.severity is Severity.ERROR] == []
    assert fixture_result.not_applied == {}


def test_a_sponsor_term_declared_in_define_xml_is_not_a_ct_warning() -> None:
    """Define-XML 2.1 def:ExtendedValue: the sponsor term is documented, so SD-CT-EXT leaves it to SD-CT-SPONSOR."""
    frames = {"LB": lb({"LBORRESU": "units per litre"}, {"LBORRESU": "per fortnight"})}
    submission = Submission.from_frames(frames, define={"SDTM": sponsor_unit_define()})
    rules = [sdtm_rules()["SD-CT-EXT"], sdtm_rules()["SD-CT-SPONSOR"]]
    found = sorted((f.rule, f.severity, f.value) for f in run_rules(submission, rules).findings)
    assert found == [
        ("SD-CT-EXT", Severity.WARNING, "per fortnight"),
        ("SD-CT-SPONSOR", Severity.NOTICE, "units per litre"),
    ]
    sponsor = next(f for f in run_rules(submission, rules).findings if f.rule == "SD-CT-SPONSOR")
    assert sponsor.message == (
        "LBORRESU value is a sponsor extension of codelist UNIT (C71620), declared in define.xml (1 record)"
    )
