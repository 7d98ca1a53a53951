"""Reviewer's guides (cSDRG, ADRG): what a reviewer checks in them, rendered from the fixture study."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from cdisc168.adam_spec import load_adam_specs
from cdisc168.findings import Finding, Findings, Severity
from cdisc168.sdtm.build import load_specs
from cdisc168.standards.study_ct import load_study_ct
from cdisc168.write.guides import (
    NOT_EXPLAINED,
    Explanations,
    ExplanationsError,
    Guide,
    GuideTemplateError,
    escape_markdown,
    load_explanations,
    render_adrg,
    render_csdrg,
)

HOSTILE_MESSAGE = "value <script>alert(1)</script> | not a term & more\nsecond line"
# Constructed findings: an unexplained error (it must come first), a message trying to inject HTML and
# break the table, and an ADaM finding (ADRG only).
CONSTRUCTED = (
    Finding(
        "SD-SCHEMA-REQUIRED", Severity.ERROR, "AEDECOD is required (core Req) but blank", "AE", 3, "AEDECOD"
    ),
    Finding("SD-SCHEMA-CT", Severity.WARNING, HOSTILE_MESSAGE, "CM", 7, "CMROUTE", "<script>"),
    Finding("AD-TRACE", Severity.WARNING, "SRCSEQ does not point to a source record", "ADLB", 5, "SRCSEQ"),
)


SDTM_RULES = {"SD-DY": "--DY is the day of --DTC counted from DM.RFSTDTC, without a day 0."}
ADAM_RULES = {
    "AD-TRACE": "SRCDOM/SRCSEQ point to an existing source record.",
    "AD-KEY": "The dataset's keys identify one record.",
}


@pytest.fixture(scope="module")
def specs(study, forms):  # type: ignore[no-untyped-def]
    return load_specs(study.mappings_dir, forms)


@pytest.fixture(scope="module")
def adam_specs(study):  # type: ignore[no-untyped-def]
    return load_adam_specs(study.mappings_dir)


@pytest.fixture(scope="module")
def explanations(study) -> Explanations:  # type: ignore[no-untyped-def]
    return load_explanations(study.mappings_dir / "explanations.yaml")


@pytest.fixture(scope="module")
def findings(sdtm) -> Findings:  # type: ignore[no-untyped-def]
    return Findings([*sdtm.findings, *CONSTRUCTED])


@pytest.fixture(scope="module")
def csdrg(study, specs, findings, explanations) -> Guide:  # type: ignore[no-untyped-def]
    return render_csdrg(
        study, specs, load_study_ct(), findings, explanations, study.define_dir, rule_catalogue=SDTM_RULES
    )


@pytest.fixture(scope="module")
def adrg(study, adam_specs, specs, findings, explanations, adam_datasets) -> Guide:  # type: ignore[no-untyped-def]
    return render_adrg(
        study,
        adam_specs,
        specs,
        findings,
        explanations,
        study.define_dir,
        adam_datasets,
        rule_catalogue=ADAM_RULES,
    )


def section(markdown: str, heading: str) -> str:
    """The text from ``heading`` (a whole heading line) to the next heading of the same or higher level."""
    level = heading.split(" ")[0]
    start = markdown.index(f"\n{heading}\n")
    end = re.search(rf"\n#{{1,{len(level)}}} ", markdown[start + len(heading) + 1 :])
    return markdown[start : start + len(heading) + 1 + end.start()] if end else markdown[start:]


def table_after(text: str, header: str) -> list[list[str]]:
    """Rows of the Markdown table whose header line is ``header`` (without the header)."""
    start = text.index(f"\n{header}\n")
    block = text[start + 1 :].split("\n\n", 1)[0]
    return table_rows(block)[1:]


def table_rows(text: str) -> list[list[str]]:
    """Cells of every Markdown table row in ``text`` (split at unescaped pipes)."""
    return [
        [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


# --- cSDRG ------------------------------------------------------------------------------------------------


def test_csdrg_lists_every_sdtm_dataset_in_the_subject_domains_table(csdrg, specs):
    rows = {r[0]: r for r in table_rows(section(csdrg.markdown, "### 3.3 SDTM Subject Domains"))}
    assert set(specs) <= set(rows)
    # AE: Events, its SUPPAE, and related to FA through RELREC (RELREC spec links AE.AESPID to FA.FASPID)
    assert rows["AE"][1:3] == ["Adverse Events", "Events"]
    assert rows["AE"][-2:] == ["SUPPAE", "Y"]
    assert rows["FA"][-1] == "Y"
    assert rows["CM"][-2:] == ["", ""]  # no SUPPCM, not in RELREC
    assert rows["DM"][4] == "STUDYID, USUBJID"


def test_csdrg_standards_inventory_comes_from_study_yaml(csdrg):
    rows = dict(
        r
        for r in table_rows(section(csdrg.markdown, "### 1.3 Study Data Standards and Dictionary Inventory"))
    )
    assert rows["SDTMIG"] == "3.4"
    assert rows["Medical Events Dictionary (MedDRA)"] == "27.1"
    assert rows["Medications Dictionary (WHODrug)"] == "GLOBAL B3 MARCH 1, 2025"
    assert rows["SDTM Controlled Terminology"] == "2025-03-28"
    assert rows["Define-XML"] == "2.1"
    assert "<td>27.1</td>" in csdrg.html


def test_csdrg_lists_sponsor_terms_and_sponsor_codelists(csdrg):
    notes = section(csdrg.markdown, "### 3.4 Domain-specific Notes")
    terms = table_rows(section(notes, "#### Sponsor-defined terms in CDISC codelists"))
    # terminology.yaml: PROTMLST (C114118) extended with the sponsor milestone CAR-T INFUSED
    assert ["PROTMLST", "C114118", "CAR-T INFUSED", "C-CAR168 infusion given", "DS.DSDECOD", ""] in terms
    codelists = {r[0]: r for r in table_rows(section(notes, "#### Sponsor-defined codelists"))}
    assert codelists["INDICAT"][3] == "SLE, LN, IMNM, NMOSD, RRMS, MG"
    # ADaM-only sponsor codelists belong to the ADRG, not to the cSDRG
    assert "TTEPARMCD" not in codelists


def test_csdrg_lists_supp_qualifiers_with_their_labels(csdrg):
    supp = table_rows(section(csdrg.markdown, "#### Supplemental qualifiers"))
    assert ["SUPPAE", "AEDLT", "Investigator-Assessed DLT", "Collected", ""] in supp
    assert ["SUPPDM", "INDICAT", "Indication", "Collected", ""] in supp


def test_csdrg_reference_dates_take_the_dm_spec_derivations(csdrg, specs):
    rows = {r[0]: r for r in table_rows(section(csdrg.markdown, "### 3.1 Overview"))}
    assert rows["RFXSTDTC"][3] == specs["DM"].variable("RFXSTDTC").method
    assert rows["RFXSTDTC"][3].startswith("First exposure to protocol treatment: first lymphodepletion dose")
    assert "Interim analysis data cut: 2026-03-31" in csdrg.markdown


def test_csdrg_source_data_name_excluded_forms_and_unmapped_columns(csdrg):
    source = section(csdrg.markdown, "### 1.4 Source Data Used for Dataset Creation")
    rows = {r[0]: r for r in table_rows(source)}
    assert rows["ae"][1] == "AE"
    assert rows[r"rnaseq\_manifest"][1].startswith("RNA-seq sample manifest")
    assert rows["infusion.PREMED"][1].startswith("the infusion premedications are collected one by one")


def test_csdrg_issues_explained_unexplained_and_errors_first(csdrg, sdtm):
    issues = table_rows(section(csdrg.markdown, "### 4.2 Issues Summary"))[1:]
    # the constructed error comes first, and nothing explains it
    assert issues[0][:5] == ["SD-SCHEMA-REQUIRED", "error", "AE", "AEDECOD", "1"]
    assert issues[0][6] == NOT_EXPLAINED
    datacut_lab = [r for r in issues if r[0] == "SD-DATACUT" and r[2] == "lab.csv"]
    expected = sum(1 for f in sdtm.findings if f.rule == "SD-DATACUT" and f.dataset == "lab.csv")
    assert expected > 0
    assert datacut_lab[0][4] == str(expected)
    assert datacut_lab[0][6].startswith("Expected. The datasets are cut at the interim analysis data cut")
    translit = next(r for r in issues if r[0] == "SD-TEXT-TRANSLIT")
    assert translit[2:4] == ["AE", "AETERM"] and "transliterated to its ASCII equivalent" in translit[6]
    # ADaM findings are left to the ADRG
    assert not [r for r in issues if r[2].startswith("AD")]


def test_csdrg_counts_findings_by_severity(csdrg, findings):
    sdtm_findings = [f for f in findings if not f.dataset.startswith("AD")]
    counts = {s: sum(1 for f in sdtm_findings if f.severity is s) for s in Severity}
    assert counts[Severity.ERROR] == 1
    expected = f"error 1, warning {counts[Severity.WARNING]}, notice {counts[Severity.NOTICE]}."
    assert f"Findings by severity: {expected}" in section(csdrg.markdown, "### 4.2 Issues Summary")


def test_csdrg_hostile_message_is_escaped_and_keeps_the_table_intact(csdrg):
    issues = section(csdrg.markdown, "### 4.2 Issues Summary")
    line = next(x for x in issues.splitlines() if x.startswith("| SD-SCHEMA-CT |"))
    assert len(re.findall(r"(?<!\\)\|", line)) == 8  # 7 cells
    assert "\\<script\\>" in line and "\\|" in line and "\\&" in line
    assert "<script>" not in csdrg.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | not a term &amp; more second line" in csdrg.html
    # the HTML table of the issues still has 7 cells in that row
    row = re.search(r"<tr>\s*<td>SD-SCHEMA-CT</td>\s*<td>warning</td>.*?</tr>", csdrg.html, re.S)
    assert row is not None and row.group(0).count("<td>") == 7


def test_csdrg_rules_run_lists_the_schema_rules_and_the_rules_with_findings(csdrg):
    rules = {r[0]: r for r in table_rows(section(csdrg.markdown, "### 4.1 Conformance Inputs"))}
    assert rules["SD-SCHEMA-KEY"][2] == "0"
    assert rules["SD-SCHEMA-REQUIRED"][2] == "1"
    assert rules["SD-DY"][1:] == [SDTM_RULES["SD-DY"], "0"]  # from the catalogue passed in
    assert rules["SD-DATACUT"][1] == "Reported by the build (see the Issues Summary)."


def test_csdrg_html_has_a_table_of_contents_linking_its_sections(csdrg):
    assert 'href="#sec-4-2-issues-summary"' in csdrg.html
    assert '<h3 id="sec-4-2-issues-summary">4.2 Issues Summary</h3>' in csdrg.html
    assert csdrg.html.startswith("<!DOCTYPE html>")
    assert "<title>CCAR168-AID Clinical Study Data Reviewer&#39;s Guide</title>" in csdrg.html


def test_guides_render_identically_twice(
    study, specs, adam_specs, findings, explanations, adam_datasets, csdrg, adrg
):
    again = render_csdrg(
        study, specs, load_study_ct(), findings, explanations, study.define_dir, rule_catalogue=SDTM_RULES
    )
    assert again == csdrg
    again_adrg = render_adrg(
        study,
        adam_specs,
        specs,
        findings,
        explanations,
        study.define_dir,
        adam_datasets,
        rule_catalogue=ADAM_RULES,
    )
    assert again_adrg == adrg


# --- ADRG -------------------------------------------------------------------------------------------------


def test_adrg_lists_the_adtte_parameters_of_the_data(adrg, adam_datasets):
    adtte = adam_datasets["ADTTE"]
    adtte_section = section(adrg.markdown, "#### ADTTE - Time-to-Event Analysis Dataset")
    rows = table_after(adtte_section, "| PARAMCD | PARAM | Records |")
    listed = {r[0]: r for r in rows}
    expected = adtte.groupby("PARAMCD").size()
    assert set(listed) == set(expected.index)
    assert {"TTR", "PFS", "OS"} <= set(listed)
    assert listed["OS"][1] == "Overall Survival (Days)"
    assert listed["OS"][2] == str(expected["OS"])


def test_adrg_overview_counts_records_and_names_classes(adrg, adam_datasets):
    rows = {r[0]: r for r in table_rows(section(adrg.markdown, "### 5.1 Overview"))}
    assert rows["ADSL"][2] == "SUBJECT LEVEL ANALYSIS DATASET"
    assert rows["ADAE"][2] == "OCCURRENCE DATA STRUCTURE"
    assert rows["ADTTE"][2] == "BASIC DATA STRUCTURE (TIME-TO-EVENT)"
    assert rows["ADSL"][4] == str(len(adam_datasets["ADSL"])) == "24"


def test_adrg_populations_count_subjects_from_adsl(adrg, adam_datasets):
    rows = {
        r[0]: r for r in table_rows(section(adrg.markdown, "### 3.3 Subject-Level Populations and Flags"))
    }
    adsl = adam_datasets["ADSL"]
    assert rows["SAFFL"][3] == str(int((adsl["SAFFL"] == "Y").sum()))
    assert rows["SAFFL"][2].startswith("'Y' when the subject received C-CAR168")


def test_adrg_data_dependencies_from_sources_texts_and_srcdom(adrg):
    rows = {r[0]: r for r in table_rows(section(adrg.markdown, "### 4.1 Data Dependencies"))}
    assert rows["ADLB"][1:] == ["CP, IS, LB, SUPPLB", "ADSL"]  # SRCDOM and "SUPPLB LBLLOQ"
    assert rows["ADTTE"][1:] == ["", "ADLB, ADRS, ADSL"]
    assert "ADGC" in rows["ADRS"][2]
    assert rows["ADAE"][1] == "AE, SUPPAE"


def test_adrg_endpoints_and_standards(adrg):
    assert "- Incidence of dose-limiting toxicities from the C-CAR168 infusion to day 28" in adrg.markdown
    rows = dict(
        r for r in table_rows(section(adrg.markdown, "### 1.3 Study Data Standards and Dictionary Inventory"))
    )
    assert rows["ADaMIG"] == "1.3"
    assert rows["ADaM Controlled Terminology"] == "2025-03-28"


def test_adrg_issues_hold_only_adam_findings(adrg):
    rules = table_rows(section(adrg.markdown, "### 6.1 Conformance Inputs"))[1:]
    assert rules == [["AD-KEY", ADAM_RULES["AD-KEY"], "0"], ["AD-TRACE", ADAM_RULES["AD-TRACE"], "1"]]
    issues = table_rows(section(adrg.markdown, "### 6.2 Issues Summary"))[1:]
    assert issues == [
        [
            "AD-TRACE",
            "warning",
            "ADLB",
            "SRCSEQ",
            "1",
            "SRCSEQ does not point to a source record",
            NOT_EXPLAINED,
        ]
    ]


# --- Markdown escaping and explanations.yaml ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("3.4", "3.4"),
        ("-5, -4", "-5, -4"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("a|b", "a\\|b"),
        ("<b>x</b> & y", "\\<b\\>x\\</b\\> \\& y"),
        ("two\nlines", "two lines"),
        ("(HEIGHTBL / 100)**2", "(HEIGHTBL / 100)\\*\\*2"),
        (None, ""),
        (pd.NA, ""),
        (float("nan"), ""),
    ],
)
def test_escape_markdown(text, escaped):
    assert escape_markdown(text) == escaped


def test_escaped_text_renders_as_the_literal_text():
    text = "- <i>x</i> | 1. *y* & [z](http://a)"
    html = MarkdownIt("commonmark", {"html": False}).render(escape_markdown(text))
    assert html == "<p>- &lt;i&gt;x&lt;/i&gt; | 1. *y* &amp; [z](http://a)</p>\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "explanations.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_most_specific_explanation_wins(tmp_path):
    path = write(
        tmp_path,
        "SD-CT:\n"
        "  - explanation: any dataset\n"
        "  - {dataset: CM, explanation: CM only}\n"
        "  - {dataset: CM, variable: CMROUTE, explanation: CM route only}\n",
    )
    explanations = load_explanations(path)
    assert explanations.explain("SD-CT", "CM", "CMROUTE") == "CM route only"
    assert explanations.explain("SD-CT", "CM", "CMDOSU") == "CM only"
    assert explanations.explain("SD-CT", "AE", "AESEV") == "any dataset"
    assert explanations.explain("SD-UNIT", "LB", "LBORRESU") is None


def test_empty_explanations_file_explains_nothing(tmp_path):
    assert load_explanations(write(tmp_path, "# none yet\n")).items == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "SD-CT:\n  - explanation: x\n    datset: CM\n",
            r"explanations\.yaml:2: SD-CT: unknown key 'datset'",
        ),
        ("sd ct:\n  - explanation: x\n", r"key 'sd ct' is not a rule id"),
        ("SD-CT:\n  - dataset: CM\n", r"explanations\.yaml:2: SD-CT: `explanation` must be non-empty text"),
        ("SD-CT:\n  - explanation: x\n  - explanation: y\n", r"SD-CT: two explanations for dataset None"),
        ("- SD-CT\n", r"expected a mapping of rule id to explanations"),
        ("SD-CT: just text\n", r"SD-CT: expected a mapping with `explanation`"),
        ("SD-CT: [\n", r"not readable YAML"),
    ],
)
def test_bad_explanations_file_is_a_clear_error(tmp_path, text, problem):
    with pytest.raises(ExplanationsError, match=problem):
        load_explanations(write(tmp_path, text))


def test_missing_explanations_file_is_a_clear_error(tmp_path):
    with pytest.raises(ExplanationsError, match=r"nowhere\.yaml: explanations file not found"):
        load_explanations(tmp_path / "nowhere.yaml")


def test_missing_template_is_a_clear_error(study, specs, tmp_path):
    with pytest.raises(GuideTemplateError, match=r"csdrg\.md\.j2: reviewer's guide template not found"):
        render_csdrg(study, specs, load_study_ct(), Findings(), Explanations(None), tmp_path)
