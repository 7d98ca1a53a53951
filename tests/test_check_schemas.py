"""pandera schemas generated from the specs: the fixture SDTM passes, and each rule has a failing example.

Fixture facts used below (fixtures/raw/ae.csv, AE sorted by STUDYID, USUBJID, AESTDTC, AEDECOD, AESPID):
subject CCAR168-AID-01-0017 (site 01, subject 0017) is the first subject of DM, and its AEs are the
first AE records: record 1 = AE-001 "Nausea" from 2024-11-16 (ae.csv line 2, AESEQ 1), record 2 =
AE-002 "Lymphocytopenia" from 2024-11-18 (line 3, AESEQ 2), record 3 = AE-003 "Cytokine release
syndrome" from 2024-11-20T21:10 (line 4, AESEQ 3, AESER "N", DLT_INV "N"), record 5 = AE-005
"Neutropenia" (line 6, AESEQ 5). Record 7 is the first AE of CCAR168-AID-01-0018: AE-001 "Nausea after
cyclophosphamide" (line 8, AESEQ 1). SUPPAE record 9 is AEDLT = "N" of that AE-003 (IDVARVAL 3).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from cdisc168.check.plan import RULE_ORDER, SCHEMA_RULES
from cdisc168.check.schemas import (
    check_sdtm,
    dataset_schema,
    study_identifier,
    supp_schema,
    timing_format,
    variable_codelists,
)
from cdisc168.findings import Finding, Findings, Severity
from cdisc168.raw.load import load_raw
from cdisc168.standards.study_ct import StudyCT, load_study_ct

FIXTURE_RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDYID = "CCAR168-AID"
SUBJECT_17 = "CCAR168-AID-01-0017"
SUBJECT_18 = "CCAR168-AID-01-0018"


@pytest.fixture(scope="module")
def study_ct() -> StudyCT:
    return load_study_ct()


@pytest.fixture(scope="module")
def raw_findings(study, forms) -> Findings:  # type: ignore[no-untyped-def]
    _, findings = load_raw(FIXTURE_RAW, study, forms)
    return findings


def _edited(sdtm, dataset: str, row: int, variable: str, value: object) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """A copy of a fixture dataset with one value replaced (``row`` is the 1-based record number)."""
    frame = sdtm.datasets[dataset].copy()
    frame[variable] = frame[variable].astype(object)
    frame.loc[row - 1, variable] = value
    return frame


def _check(sdtm, study_ct: StudyCT, dataset: str, frame: pd.DataFrame, reported=()) -> list[Finding]:  # type: ignore[no-untyped-def]
    """Findings on ``dataset`` when it is ``frame`` (DM stays as built, for the USUBJID check)."""
    result = replace(sdtm, datasets={"DM": sdtm.datasets["DM"], dataset: frame}, findings=Findings(reported))
    return [f for f in check_sdtm(result, study_ct) if f.dataset == dataset]


# --- the fixture -------------------------------------------------------------------------------------------


def test_fixture_sdtm_has_no_schema_errors(sdtm, study_ct, raw_findings) -> None:  # type: ignore[no-untyped-def]
    findings = check_sdtm(sdtm, study_ct, reported=[*raw_findings, *sdtm.findings])
    assert [str(f) for f in findings.errors] == []


def test_fixture_repeated_lab_results_are_the_raw_repeats(sdtm, study_ct, raw_findings) -> None:  # type: ignore[no-untyped-def]
    # lab.csv holds six results entered twice (RAW-REPEAT warnings, kept as collected). Mapped to LB they
    # repeat the natural key (STUDYID, USUBJID, LBCAT, LBTESTCD, LBSPEC, LBDTC): without the raw findings
    # the schema reports exactly those records, e.g. lab.csv line 4174 = potassium 4.20 mmol/L of
    # subject 02-0016 on 2024-10-02T08:15, the same as line 4153. Left out with skip_rules.
    lb = replace(sdtm, datasets={"DM": sdtm.datasets["DM"], "LB": sdtm.datasets["LB"]})
    findings = check_sdtm(lb, study_ct)
    assert {(f.rule, f.dataset) for f in findings} == {("SD-SCHEMA-KEY", "LB")}
    repeats = {f"{f.dataset}:{f.row}" for f in raw_findings if f.rule == "RAW-REPEAT"}
    assert {f.source for f in findings} == repeats
    assert len(findings) == 6
    first = next(f for f in findings if f.source == "lab.csv:4174")
    assert first.usubjid == "CCAR168-AID-02-0016"
    assert first.value == f"{STUDYID} | CCAR168-AID-02-0016 | CHEMISTRY | K | SERUM | 2024-10-02T08:15"
    assert first.message.endswith(f"(record {first.row - 1})")
    assert check_sdtm(lb, study_ct, skip_rules=["SD-SCHEMA-KEY"]).errors == []


def test_study_identifier_comes_from_dm(sdtm) -> None:  # type: ignore[no-untyped-def]
    assert study_identifier(sdtm) == STUDYID


# --- one failing example per rule -----------------------------------------------------------------------

CASES = [
    # (dataset, record, variable, new value, rule, value shown, USUBJID, --SEQ, raw source)
    ("AE", 2, "AETERM", "", "SD-SCHEMA-REQUIRED", "", SUBJECT_17, 2.0, "ae.csv:3"),
    ("AE", 2, "AETERM", "   ", "SD-SCHEMA-REQUIRED", "   ", SUBJECT_17, 2.0, "ae.csv:3"),
    ("AE", 2, "AETERM", None, "SD-SCHEMA-REQUIRED", "", SUBJECT_17, 2.0, "ae.csv:3"),
    ("AE", 1, "AESTDY", "day 1", "SD-SCHEMA-TYPE", "day 1", SUBJECT_17, 1.0, "ae.csv:2"),
    ("AE", 3, "AESER", "MAYBE", "SD-SCHEMA-CT", "MAYBE", SUBJECT_17, 3.0, "ae.csv:4"),
    # a number in a Char variable with a codelist: one finding (type), not two
    ("AE", 3, "AESER", 1.0, "SD-SCHEMA-TYPE", "1", SUBJECT_17, 3.0, "ae.csv:4"),
    ("AE", 1, "AESTDTC", "2024-02-30", "SD-SCHEMA-ISO8601", "2024-02-30", SUBJECT_17, 1.0, "ae.csv:2"),
    ("AE", 7, "AETERM", "A" * 201, "SD-SCHEMA-LENGTH", "A" * 201, SUBJECT_18, 1.0, "ae.csv:8"),
    ("AE", 2, "AESEQ", 1.0, "SD-SCHEMA-SEQ", "1", SUBJECT_17, 1.0, "ae.csv:3"),
    ("AE", 2, "AESEQ", 2.5, "SD-SCHEMA-SEQ", "2.5", SUBJECT_17, 2.5, "ae.csv:3"),
    ("AE", 5, "DOMAIN", "XX", "SD-SCHEMA-DOMAIN", "XX", SUBJECT_17, 5.0, "ae.csv:6"),
    ("AE", 5, "STUDYID", "CCAR999", "SD-SCHEMA-STUDYID", "CCAR999", SUBJECT_17, 5.0, "ae.csv:6"),
    (
        "AE",
        5,
        "USUBJID",
        "CCAR168-AID-09-9999",
        "SD-SCHEMA-USUBJID",
        "CCAR168-AID-09-9999",
        "CCAR168-AID-09-9999",
        5.0,
        "ae.csv:6",
    ),
    ("SUPPAE", 9, "QVAL", "MAYBE", "SD-SCHEMA-CT", "MAYBE", SUBJECT_17, 3.0, "ae.csv:4"),
    ("SUPPAE", 9, "QVAL", "", "SD-SCHEMA-REQUIRED", "", SUBJECT_17, 3.0, "ae.csv:4"),
    ("SUPPAE", 9, "QNAM", "1DLT", "SD-SCHEMA-QNAM", "1DLT", SUBJECT_17, 3.0, "ae.csv:4"),
    ("SUPPAE", 9, "QLABEL", "Q" * 41, "SD-SCHEMA-LENGTH", "Q" * 41, SUBJECT_17, 3.0, "ae.csv:4"),
    ("SUPPAE", 9, "QORIG", "CRF", "SD-SCHEMA-CT", "CRF", SUBJECT_17, 3.0, "ae.csv:4"),
    ("SUPPAE", 9, "RDOMAIN", "CM", "SD-SCHEMA-DOMAIN", "CM", SUBJECT_17, 3.0, "ae.csv:4"),
]


@pytest.mark.parametrize(
    ("dataset", "record", "variable", "new", "rule", "shown", "usubjid", "seq", "source"),
    CASES,
    ids=[f"{c[0]}.{c[2]}={str(c[3])[:12]!r}" for c in CASES],
)
def test_each_rule_reports_one_finding(  # type: ignore[no-untyped-def]
    sdtm, study_ct, dataset, record, variable, new, rule, shown, usubjid, seq, source
) -> None:
    findings = _check(sdtm, study_ct, dataset, _edited(sdtm, dataset, record, variable, new))
    assert len(findings) == 1, [str(f) for f in findings]
    (f,) = findings
    assert (f.rule, f.severity, f.dataset, f.row, f.variable, f.value) == (
        rule,
        Severity.ERROR,
        dataset,
        record,
        variable,
        shown,
    )
    assert (f.usubjid, f.seq, f.source) == (usubjid, seq, source)


def test_duplicate_natural_key_names_the_earlier_record(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    # Record 2 (AE-002, AESEQ 2) given the key values of record 1: AESTDTC 2024-11-16, AEDECOD Nausea, AESPID
    # AE-001. Its AESEQ stays 2, so only the natural key repeats.
    frame = sdtm.datasets["AE"].copy()
    frame.loc[1, ["AESTDTC", "AEDECOD", "AESPID"]] = ["2024-11-16", "Nausea", "AE-001"]
    (f,) = _check(sdtm, study_ct, "AE", frame)
    assert (f.rule, f.row, f.variable, f.seq, f.source) == (
        "SD-SCHEMA-KEY",
        2,
        "STUDYID, USUBJID, AESTDTC, AEDECOD, AESPID",
        2.0,
        "ae.csv:3",
    )
    assert f.value == f"{STUDYID} | {SUBJECT_17} | 2024-11-16 | Nausea | AE-001"
    assert f.message.endswith("(record 1)")


def test_a_record_entered_twice_is_reported_once(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    # An exact copy of record 1 appended as record 119 repeats both the natural key and AESEQ 1 of
    # CCAR168-AID-01-0017: one problem, reported once as the natural key.
    ae = sdtm.datasets["AE"]
    frame = pd.concat([ae, ae.iloc[[0]]], ignore_index=True)
    (f,) = _check(sdtm, study_ct, "AE", frame)
    assert (f.rule, f.row, f.seq, f.source) == ("SD-SCHEMA-KEY", len(ae) + 1, 1.0, "ae.csv:2")


def test_a_missing_variable_is_one_finding_without_a_row(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    frame = sdtm.datasets["AE"].drop(columns=["AEOUT"])
    (f,) = _check(sdtm, study_ct, "AE", frame)
    assert (f.rule, f.row, f.variable) == ("SD-SCHEMA-COLUMN", None, "AEOUT")


def test_a_negative_duration_is_refused_only_for_dur(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    # TE: TEDUR is a planned duration (P..): "-P7D" is not a length. PC: PCELTM may be negative (before
    # the reference time point), but "PT1.5H30M" puts a fraction on a component that is not the last.
    te = _check(sdtm, study_ct, "TE", _edited(sdtm, "TE", 1, "TEDUR", "-P7D"))
    assert [(f.rule, f.row, f.variable, f.value) for f in te] == [("SD-SCHEMA-ISO8601", 1, "TEDUR", "-P7D")]
    assert _check(sdtm, study_ct, "PC", _edited(sdtm, "PC", 1, "PCELTM", "-PT15M")) == []
    pc = _check(sdtm, study_ct, "PC", _edited(sdtm, "PC", 1, "PCELTM", "PT1.5H30M"))
    assert [(f.rule, f.variable, f.value) for f in pc] == [("SD-SCHEMA-ISO8601", "PCELTM", "PT1.5H30M")]


# --- one layer reports a problem once ---------------------------------------------------------------------


def test_a_value_the_engine_reported_is_not_reported_again(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    # The engine reports a collected AESER outside NY at the raw row: ae.csv line 4, column AESER.
    frame = _edited(sdtm, "AE", 3, "AESER", "MAYBE")
    engine = Finding(
        "SD-CT", Severity.ERROR, "AE.AESER: value not in codelist NY", "ae.csv", 4, "AESER", "MAYBE"
    )
    assert _check(sdtm, study_ct, "AE", frame, reported=[engine]) == []
    # ... but not a problem at another raw row or column
    elsewhere = replace(engine, row=5)
    assert [f.row for f in _check(sdtm, study_ct, "AE", frame, reported=[elsewhere])] == [3]
    # SUPPAE AEDLT comes from ae.csv DLT_INV
    supp = _edited(sdtm, "SUPPAE", 9, "QVAL", "MAYBE")
    engine_supp = replace(engine, variable="DLT_INV")
    assert _check(sdtm, study_ct, "SUPPAE", supp, reported=[engine_supp]) == []


def test_skip_rules(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    # Record 1 appended again: without SD-SCHEMA-KEY, the repeated AESEQ 1 of the subject reports it.
    ae = sdtm.datasets["AE"]
    result = replace(sdtm, datasets={"AE": pd.concat([ae, ae.iloc[[0]]], ignore_index=True)})
    findings = check_sdtm(result, study_ct, studyid=STUDYID, skip_rules=["SD-SCHEMA-KEY"])
    assert [(f.rule, f.row, f.value) for f in findings] == [("SD-SCHEMA-SEQ", len(ae) + 1, "1")]
    with pytest.raises(ValueError, match="unknown rule ids"):
        check_sdtm(sdtm, study_ct, skip_rules=["SD-NOPE"])


# --- the generated schemas -----------------------------------------------------------------------------------


def test_dataset_schema_is_generated_from_the_spec(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    ae = sdtm.specs["AE"]
    schema = dataset_schema(ae, study_ct, studyid=STUDYID)
    assert isinstance(schema, pa.DataFrameSchema)
    assert list(schema.columns) == list(ae.variable_names)
    # SDTMIG 3.4 core: AETERM Req (not nullable), AESER Exp (nullable)
    assert schema.columns["AETERM"].nullable is False
    assert schema.columns["AESER"].nullable is True
    checks = {name: [c.name for c in column.checks] for name, column in schema.columns.items()}
    assert checks["AESER"] == ["SD-SCHEMA-TYPE", "SD-SCHEMA-CT", "SD-SCHEMA-LENGTH"]
    assert checks["AESTDTC"] == ["SD-SCHEMA-TYPE", "SD-SCHEMA-ISO8601", "SD-SCHEMA-LENGTH"]
    assert checks["AEDECOD"] == [
        "SD-SCHEMA-TYPE",
        "SD-SCHEMA-REQUIRED",
        "SD-SCHEMA-LENGTH",
    ]  # MedDRA: external
    assert checks["AESEQ"] == ["SD-SCHEMA-TYPE", "SD-SCHEMA-REQUIRED", "SD-SCHEMA-SEQ"]
    assert [c.name for c in schema.checks] == ["SD-SCHEMA-KEY", "SD-SCHEMA-SEQ"]
    # usable on its own: the built AE passes
    schema.validate(sdtm.datasets["AE"][list(ae.variable_names)], lazy=True)


def test_supp_schema_follows_suppqual(sdtm, study_ct) -> None:  # type: ignore[no-untyped-def]
    schema = supp_schema(sdtm.specs["AE"], study_ct)
    assert list(schema.columns) == [
        "STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL",
    ]  # fmt: skip
    assert [n for n, c in schema.columns.items() if not c.nullable] == [
        "STUDYID", "RDOMAIN", "USUBJID", "QNAM", "QLABEL", "QVAL", "QORIG",
    ]  # fmt: skip
    schema.validate(sdtm.datasets["SUPPAE"][list(schema.columns)], lazy=True)


def test_codelists_and_timing_formats_come_from_the_specs_and_the_ig(sdtm) -> None:  # type: ignore[no-untyped-def]
    specs = sdtm.specs
    assert variable_codelists(specs["AE"], specs["AE"].variable("AESER")) == ("NY",)  # ct rule
    assert variable_codelists(specs["AE"], specs["AE"].variable("AETOXGR")) == ("TOXGR",)  # codelist:
    assert variable_codelists(specs["AE"], specs["AE"].variable("AETERM")) == ()  # verbatim
    # DS DSTERM is a ct-mapped milestone for eligibility but free text for disposition events
    assert variable_codelists(specs["DS"], specs["DS"].variable("DSTERM")) == ()
    assert timing_format("DM", "RFSTDTC") == "dtc"
    assert timing_format("PC", "PCELTM") == "duration"
    assert timing_format("TE", "TEDUR") == "duration"
    assert timing_format("AE", "AETERM") is None


def test_rule_table() -> None:
    assert tuple(SCHEMA_RULES) == RULE_ORDER
    assert all(r.id.startswith("SD-SCHEMA-") and r.description for r in SCHEMA_RULES.values())
