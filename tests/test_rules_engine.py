"""The validation rule engine: catalog loading, the registry, the submission model and how rules are run
(scopes, patterns, companions, IG versions, capping, internal errors, what the engine fills in)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from cdisc168.check.catalog import CatalogError, RuleDef, load_catalog, load_rules_file
from cdisc168.check.registry import (
    UnknownCheckError,
    check,
    check_function,
    failures_at,
    registered_checks,
)
from cdisc168.check.run import CAPPED_RULE, INTERNAL_RULE, rule_targets, run_rules
from cdisc168.check.submission import (
    ADAM,
    SDTM,
    Submission,
    declared_ig_versions,
    metadata_from_frame,
    standard_of,
)
from cdisc168.findings import Severity

AE = pd.DataFrame(
    {
        "STUDYID": ["S1"] * 5,
        "DOMAIN": ["AE"] * 5,
        "USUBJID": ["S1-001", "S1-001", "S1-002", "S1-002", "S1-003"],
        "AESEQ": [1.0, 2.0, 1.0, 2.0, 1.0],
        "AETERM": ["Headache", "Nausea", "Fever", "Rash", "Cough"],
    }
)


@check("test_every_record_fails")
def _every_record_fails(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Test check: every record fails on AETERM (the engine fills value, USUBJID and --SEQ)."""
    return failures_at(np.arange(len(submission.datasets[name])), variable="AETERM")


@check("test_raises")
def _raises(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    raise ValueError("odd data")


@check("test_returns_list")
def _returns_list(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    return []  # type: ignore[return-value]


@check("test_define_document")
def _define_document(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Test check: one document-level failure naming the define.xml it was called for."""
    return pd.DataFrame({"row": [None], "message": [f"called for {name}"]})


@check("test_names_other_datasets")
def _names_other_datasets(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """Test check: run on one dataset, it reports two others as missing (as SD-DATASETS does)."""
    return pd.DataFrame({"row": [None, None], "dataset": ["DM", "TS"], "message": ["no DM", "no TS"]})


def rule(check_name: str = "test_every_record_fails", **fields: object) -> RuleDef:
    base: dict[str, object] = {
        "id": "T-RULE",
        "severity": Severity.WARNING,
        "message": "{variable} in {dataset} fails",
        "scope": "SDTM",
        "check": check_name,
        "description": "test rule",
    }
    return RuleDef(**{**base, **fields})  # type: ignore[arg-type]


def write_catalog(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(text, encoding="utf-8")
    return folder


GOOD_RULE = """rules:
  - id: X-1
    severity: error
    scope: SDTM
    check: test_every_record_fails
    description: test
    message: fails
"""


# --- catalog -------------------------------------------------------------------------------------


def test_shipped_catalog_loads_with_unique_ids_and_citations() -> None:
    rules = load_catalog()
    assert len({r.id for r in rules}) == len(rules)
    assert {"SD-DY", "SD-SEQ-UNIQUE", "SD-SUPP-PARENT"} <= {r.id for r in rules}
    assert all(r.citation for r in rules if r.core_id or r.fda_id)
    assert all(not r.version_independent for r in rules if r.id.startswith(("SD-IG-", "SD-CT-")))


def test_catalog_entry_becomes_a_ruledef(tmp_path: Path) -> None:
    (loaded,) = load_catalog(
        write_catalog(tmp_path, GOOD_RULE + "    datasets: [AE, 'SUPP*']\n    requires: [DM]\n")
    )
    assert loaded == RuleDef(
        id="X-1",
        severity=Severity.ERROR,
        message="fails",
        scope="SDTM",
        check="test_every_record_fails",
        description="test",
        datasets=("AE", "SUPP*"),
        requires=("DM",),
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("check: test_every_record_fails", "no check function 'no_such_check' is registered"),
        ("severity: error", "severity 'fatal' is not one of"),
        ("scope: SDTM", "scope 'SEND' is not one of"),
        ("message: fails", "unknown key(s) ['mesage']"),
    ],
)
def test_bad_catalog_entry_is_a_clear_error(tmp_path: Path, change: str, error: str) -> None:
    bad = {
        "check: test_every_record_fails": "check: no_such_check",
        "severity: error": "severity: fatal",
        "scope: SDTM": "scope: SEND",
        "message: fails": "mesage: fails",
    }[change]
    folder = write_catalog(tmp_path, GOOD_RULE.replace(change, bad))
    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    assert "rules.yaml rule 1 (X-1)" in str(raised.value)
    assert error in str(raised.value)


def test_repeated_rule_id_and_uncited_core_id_are_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"defined more than once: \['X-1'\]"):
        load_catalog(write_catalog(tmp_path / "a", GOOD_RULE + GOOD_RULE.removeprefix("rules:\n")))
    with pytest.raises(CatalogError, match="core_id/fda_id need a citation"):
        load_rules_file(
            write_catalog(tmp_path / "b", GOOD_RULE + "    core_id: CORE-000001\n") / "rules.yaml"
        )


def test_unknown_check_name_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownCheckError, match="no check function 'nope'"):
        check_function("nope")
    assert {"study_day", "implies", "test_raises"} <= set(registered_checks())


def test_registering_two_functions_under_one_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        check("test_raises")(_returns_list)


# --- submission ----------------------------------------------------------------------------------


def test_from_frames_names_standards_and_metadata() -> None:
    adsl = pd.DataFrame({"USUBJID": ["S1-001"], "TRT01P": ["DL1"]})
    bds = pd.DataFrame({"USUBJID": ["S1-001"], "PARAMCD": ["X"], "AVAL": [1.0]})
    submission = Submission.from_frames({"ae": AE, "ADSL": adsl, "XLB": bds, "SUPPAE": AE.head(0)})
    assert submission.standards == {"AE": SDTM, "ADSL": ADAM, "XLB": ADAM, "SUPPAE": SDTM}
    assert submission.names(SDTM) == ["AE", "SUPPAE"] and submission.get("ae") is submission.datasets["AE"]
    meta = submission.metadata["AE"]
    assert (meta.label, meta.variables["AETERM"]) == (
        "Adverse Events",
        {"label": "Reported Term for the Adverse Event", "type": "Char", "length": 8, "display_format": None},
    )
    assert meta.variables["AESEQ"]["type"] == "Num" and meta.variables["AESEQ"]["length"] == 8
    assert submission.metadata["SUPPAE"].label == "Supplemental Qualifiers for AE"
    assert standard_of("ADAE", ["USUBJID"]) == ADAM and standard_of("LB", ["PARAMCD"]) == SDTM


def test_object_text_becomes_arrow_strings_once() -> None:
    frame = pd.DataFrame({"AETERM": pd.Series(["Rash", None], dtype=object), "AESEQ": [1.0, 2.0]})
    submission = Submission.from_frames({"AE": frame})
    assert str(submission.datasets["AE"]["AETERM"].dtype) == "str"
    assert frame["AETERM"].dtype == object  # the caller's frame is not changed


def test_ig_versions_come_from_define_then_ts_then_defaults() -> None:
    ts = pd.DataFrame({"TSPARMCD": ["SDTIGVER"], "TSVAL": ["3.3"]})
    define = etree.fromstring(
        b'<ODM xmlns:def="http://www.cdisc.org/ns/def/v2.1"><def:Standards>'
        b'<def:Standard OID="S1" Name="ADaMIG" Type="IG" Version="1.1"/></def:Standards></ODM>'
    ).getroottree()
    assert declared_ig_versions({}, {}) == {SDTM: "3.4", ADAM: "1.3"}
    assert declared_ig_versions({"TS": ts}, {ADAM: define}) == {SDTM: "3.3", ADAM: "1.1"}


def test_metadata_of_an_all_missing_column_is_char_of_length_one() -> None:
    meta = metadata_from_frame("XX", pd.DataFrame({"A": [None, None]}))
    assert (meta.label, meta.variables["A"]["type"], meta.variables["A"]["length"]) == ("", "Char", 1)


# --- running rules -------------------------------------------------------------------------------


def test_engine_fills_value_subject_and_seq_and_message() -> None:
    result = run_rules(Submission.from_frames({"AE": AE}), [rule()])
    first = next(iter(result.findings))
    assert (first.rule, first.dataset, first.row, first.variable, first.value) == (
        "T-RULE",
        "AE",
        1,
        "AETERM",
        "Headache",
    )
    assert (first.usubjid, first.seq, first.severity, first.message) == (
        "S1-001",
        1.0,
        Severity.WARNING,
        "AETERM in AE fails",
    )
    assert result.counts.to_dict("records") == [
        {"rule": "T-RULE", "dataset": "AE", "severity": "warning", "failures": 5}
    ]


def test_findings_beyond_the_cap_are_counted_with_one_notice() -> None:
    result = run_rules(Submission.from_frames({"AE": AE}), [rule()], max_findings_per_rule=2)
    findings = list(result.findings)
    assert [f.row for f in findings if f.rule == "T-RULE"] == [1, 2]
    (notice,) = [f for f in findings if f.rule == CAPPED_RULE]
    assert notice.severity is Severity.NOTICE and notice.dataset == "AE"
    assert notice.message == "rule T-RULE: 5 failures, the first 2 listed, 3 counted only"
    assert int(result.counts["failures"].iloc[0]) == 5


def test_failures_are_counted_under_the_dataset_they_name() -> None:
    """A rule run on AE that reports DM and TS missing counts one failure each for DM and TS, none for AE,
    so the report's totals equal what it lists."""
    result = run_rules(Submission.from_frames({"AE": AE}), [rule("test_names_other_datasets")])
    assert sorted((f.dataset, f.message) for f in result.findings) == [("DM", "no DM"), ("TS", "no TS")]
    counts = result.counts.set_index("dataset")["failures"].to_dict()
    assert counts == {"DM": 1, "TS": 1}


@pytest.mark.parametrize(
    ("check_name", "problem"),
    [
        ("test_raises", "ValueError: odd data"),
        ("test_returns_list", "the check returned list, not a DataFrame"),
    ],
)
def test_a_failing_check_becomes_one_internal_error(check_name: str, problem: str) -> None:
    result = run_rules(Submission.from_frames({"AE": AE, "DM": AE.head(0)}), [rule(check_name)])
    assert [(f.rule, f.severity, f.dataset, f.message) for f in result.findings] == [
        (
            INTERNAL_RULE,
            Severity.ERROR,
            name,
            f"rule T-RULE (check {check_name}) could not judge {name}: {problem}",
        )
        for name in ("AE", "DM")
    ]


def test_not_applied_reasons() -> None:
    submission = Submission.from_frames({"AE": AE}, ig_versions={SDTM: "3.2"})
    rules = [
        rule(id="R-COMPANION", requires=("DM",)),
        rule(id="R-VERSION", version_independent=False),
        rule(id="R-PATTERN", datasets=("SUPP*",)),
        rule(id="R-ADAM", scope="ADaM"),
        rule("test_define_document", id="R-DEFINE", scope="define"),
    ]
    result = run_rules(submission, rules)
    assert result.not_applied == {
        "R-COMPANION": "companion dataset(s) DM missing",
        "R-VERSION": "judged against SDTMIG 3.4 metadata; the submission is SDTMIG 3.2",
        "R-PATTERN": "no SDTM dataset matches SUPP*",
        "R-ADAM": "no ADaM dataset matches *",
        "R-DEFINE": "no define.xml for the datasets in its scope",
    }
    assert not result.findings and result.applied == ()


def test_dataset_patterns_and_define_targets() -> None:
    define = etree.fromstring(b"<ODM/>").getroottree()
    submission = Submission.from_frames(
        {"AE": AE, "SUPPAE": AE, "SUPPDM": AE, "DM": AE}, define={SDTM: define}
    )
    assert rule_targets(submission, rule(datasets=("SUPP*",))) == [("SUPPAE", SDTM), ("SUPPDM", SDTM)]
    assert rule_targets(submission, rule(scope="define")) == [(SDTM, SDTM)]
    assert rule_targets(submission, rule(scope="define", datasets=("DM",))) == [("DM", SDTM)]
    result = run_rules(submission, [rule("test_define_document", scope="define")])
    assert [(f.dataset, f.row, f.message) for f in result.findings] == [("SDTM", None, "called for SDTM")]
