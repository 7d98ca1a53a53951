"""The shipped CDISC standards (CT, SDTMIG/ADaMIG metadata, Define-XML and Dataset-JSON schemas) and the
study terminology built on them: a reviewer's checklist of known facts, plus proofs that every C-code the
project writes exists in the shipped CT and that the shipped data are reproducible from their sources.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from cdisc168.standards import ct, files, ig, schemas
from cdisc168.standards.study_ct import (
    C_CODE_SEARCH_RE,
    StudyCT,
    StudyCTError,
    check_ct_references,
    load_study_ct,
)
from cdisc168.study import DEFAULT_MAPPINGS, Study

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT.parent / "shared" / "reference"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_standards.py"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"{REFERENCE} is absent")


@pytest.fixture(scope="module")
def study_ct() -> StudyCT:
    return load_study_ct()


# --- controlled terminology --------------------------------------------------------------------------


def test_sex_codelist_has_female_and_male_with_their_nci_codes() -> None:
    sex = ct.codelist("C66731")
    assert sex is ct.codelist("SEX")
    assert sex.short_name == "SEX" and sex.name == "Sex" and not sex.extensible
    assert sex.term("F").code == "C16576"
    assert sex.term("M").code == "C20197"
    assert ct.term_code("SEX", "M") == "C20197"


def test_unit_is_extensible_and_holds_10e9_per_litre() -> None:
    assert ct.is_extensible("C71620") and ct.is_extensible("UNIT")
    assert ct.term("UNIT", "10^9/L").code == "C67255"


def test_gfre_is_the_estimated_gfr_and_egfr_the_receptor() -> None:
    """STUDY.md §2.4: GFRE (C110935) is the estimated GFR; EGFR (C112273) is the receptor."""
    assert ct.term_code("LBTESTCD", "GFRE") == "C110935"
    assert ct.term("LBTEST", "Glomerular Filtration Rate, Estimated").code == "C110935"
    assert ct.term_code("LBTESTCD", "EGFR") == "C112273"


def test_term_lookup_by_synonym_and_exact_value_wins() -> None:
    """pg/mL is only a synonym of ng/L (STUDY.md corrections); a submission value beats a synonym."""
    assert ct.term("UNIT", "pg/mL").submission_value == "ng/L"
    assert ct.term("UNIT", "pg/mL").code == "C67327"
    with pytest.raises(ct.CTLookupError):
        ct.term("UNIT", "pg/mL", synonyms=False)
    # "ESR" is an LBTESTCD term (C74611) and also a synonym of ESTRCPT.
    assert ct.term_code("LBTESTCD", "ESR") == "C74611"


def test_ambiguous_synonym_and_unknown_names_raise() -> None:
    with pytest.raises(ct.CTLookupError, match="ambiguous"):
        ct.term("ISBDAGT", "IA-2")
    with pytest.raises(ct.CTLookupError, match="no codelist"):
        ct.codelist("NOSUCHCL")
    with pytest.raises(ct.CTLookupError, match="no term"):
        ct.term("SEX", "FEMALE")
    with pytest.raises(ValueError, match="package"):
        ct.codelist("SEX", "send")  # type: ignore[arg-type]


def test_full_sdtm_ct_ships_every_codelist_and_term() -> None:
    """The whole 2025-03-28 package ships (1,158 codelists, 43,698 terms; reference/SOURCES.md)."""
    frame = ct.sdtm_ct()
    assert len(ct.codelists("sdtm")) == 1158
    assert (frame["codelist_code"] != "").sum() == 43698
    assert set(frame["package_date"]) == {"2025-03-28"}
    assert list(frame.columns) == [
        "code",
        "codelist_code",
        "extensible",
        "codelist_name",
        "submission_value",
        "synonyms",
        "definition",
        "preferred_term",
        "package_date",
    ]


def test_returned_frames_do_not_change_the_cache() -> None:
    frame = ct.sdtm_ct()
    frame.loc[frame.index[0], "submission_value"] = "CHANGED"
    assert "CHANGED" not in set(ct.sdtm_ct()["submission_value"].head(3))


def test_reading_the_full_ct_is_fast() -> None:
    files.read_table.cache_clear()
    ct._frame.cache_clear()
    ct._index.cache_clear()
    ct._codelist.cache_clear()
    start = time.perf_counter()
    ct.codelist("SEX")
    assert time.perf_counter() - start < 2.0
    start = time.perf_counter()
    for _ in range(1000):
        ct.term("UNIT", "10^9/L")
    assert time.perf_counter() - start < 0.1


def test_adam_and_define_xml_ct() -> None:
    assert ct.codelist("DTYPE", "adam").extensible
    assert ct.term_code("DTYPE", "HALFLLOQ", "adam") == "C170546"
    bdssc = [t.submission_value for t in ct.define_xml_terms("BDSSC")]
    assert "NON-COMPARTMENTAL ANALYSIS" in bdssc
    assert set(ct.define_xml_ct()["package_date"]) == {"2026-03-27"}
    assert set(ct.adam_ct()["package_date"]) == {"2025-03-28"}
    # Short names are per package: DICTNAM exists in the SDTM and in the Define-XML CT.
    assert ct.codelist("DICTNAM", "define-xml").package == "define-xml"


def test_code_exists_for_codelists_and_terms_only() -> None:
    assert ct.code_exists("C66731") and ct.code_exists("C16576") and ct.code_exists("C172452")
    assert not ct.code_exists("C9999999")
    assert set(ct.codelists_with_term("C16576")) >= {"C66731", "C66732"}


# --- implementation guides ---------------------------------------------------------------------------


def test_sdtmig_ae_has_aeterm_required_and_aeseq_numeric() -> None:
    aeterm = ig.sdtmig_variable("AE", "AETERM")
    assert aeterm.core == "Req" and aeterm.role == "Topic" and aeterm.type == "Char"
    assert ig.sdtmig_variable("AE", "AESEQ").type == "Num"
    assert ig.sdtmig_variable("AE", "AESER").codelist_codes == ("C66742",)
    ae = ig.sdtmig_variables("AE")
    assert list(ae["variable"][:3]) == ["STUDYID", "DOMAIN", "USUBJID"]
    assert ae["order"].is_monotonic_increasing


def test_sdtmig_variables_are_listed_per_domain_with_the_prefix_filled_in() -> None:
    """SDTMIG 3.4: only PC, IS, MS and GF define --LLOQ; LB has none (STUDY.md corrections)."""
    lb = {v.name for v in ig.sdtmig_domain_variables("LB")}
    assert {"LBTESTCD", "LBSTRESU", "LBLOBXFL"} <= lb
    assert "LBLLOQ" not in lb
    assert "PCLLOQ" in {v.name for v in ig.sdtmig_domain_variables("PC")}
    assert ig.sdtmig_variable("DS", "DSDECOD").codelist_codes == ("C66727", "C114118", "C150811")


def test_supp_and_relrec_metadata() -> None:
    """Every SUPP-- dataset has the SUPPQUAL structure (SDTMIG 3.4 §8.4)."""
    supp = [v.name for v in ig.sdtmig_domain_variables("SUPPAE")]
    assert supp == [
        "STUDYID",
        "RDOMAIN",
        "USUBJID",
        "IDVAR",
        "IDVARVAL",
        "QNAM",
        "QLABEL",
        "QVAL",
        "QORIG",
        "QEVAL",
    ]
    assert ig.sdtmig_dataset("SUPPLB").observation_class == "Relationship"
    assert ig.sdtmig_variable("RELREC", "RELTYPE").codelist_codes == ("C78737",)
    with pytest.raises(ig.IGLookupError):
        ig.sdtmig_variables("XX")


def test_sdtmig_dataset_metadata() -> None:
    ae = ig.sdtmig_dataset("AE")
    assert (ae.observation_class, ae.label) == ("Events", "Adverse Events")
    assert ig.sdtmig_dataset("CP").label == "Cell Phenotype Findings"
    assert "MO" not in set(ig.sdtmig_datasets()["dataset"])  # STUDY.md: MRI goes to NV


def test_adamig_structures() -> None:
    assert ig.adamig_variable("ADSL", "TRTSDT").type == "Num"
    tte = {v.name for v in ig.adamig_structure_variables("TTE")}
    bds = {v.name for v in ig.adamig_structure_variables("BDS")}
    assert {"CNSR", "STARTDT"} <= tte and "CNSR" not in bds and bds < tte
    assert "TRTEMFL" in {v.name for v in ig.adamig_structure_variables("OCCDS")}
    structure = ig.adamig_structure("TTE")
    assert (structure.adam_class, structure.subclass) == ("BASIC DATA STRUCTURE", "TIME-TO-EVENT")
    with pytest.raises(ig.IGLookupError):
        ig.adamig_variables("ADXX")


# --- schemas -----------------------------------------------------------------------------------------


def test_define_xml_xsd_is_vendored_in_the_package() -> None:
    xsd = schemas.define_xml_xsd_path()
    assert xsd.is_file() and xsd.is_relative_to(files.STANDARDS_DIR)
    assert xsd.relative_to(files.SCHEMAS_DIR).as_posix() == "define-xml-2.1/cdisc-define-2.1/define2-1-0.xsd"
    assert isinstance(schemas.define_xml_schema(), etree.XMLSchema)
    assert isinstance(schemas.define_xml_schema(arm=True), etree.XMLSchema)
    invalid = etree.ElementTree(etree.fromstring(b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"/>'))
    assert schemas.validate_define_xml(invalid)


@needs_reference
def test_cdisc_example_defines_validate_against_the_vendored_xsd() -> None:
    examples = REFERENCE / "schemas" / "define-xml-2.1" / "examples"
    sdtm = examples / "DefineXML-2-1-SDTM" / "defineV21-SDTM.xml"
    adam = examples / "Define-XML-2-1-ADaM" / "adam" / "defineV21-ADaM.xml"
    assert schemas.validate_define_xml(sdtm) == []
    # The ADaM example carries Analysis Results Metadata: it needs the ARM 1.0 entry point.
    assert schemas.validate_define_xml(adam, arm=True) == []


def test_dataset_json_schema_is_vendored_and_rejects_an_empty_object() -> None:
    path = schemas.dataset_json_schema_path()
    assert path.is_file() and path.is_relative_to(files.STANDARDS_DIR)
    assert schemas.dataset_json_schema()["$schema"] == "https://json-schema.org/draft/2019-09/schema"
    assert any("datasetJSONVersion" in e for e in schemas.validate_dataset_json({}))
    assert (files.SCHEMAS_DIR / "dataset-json-1.1" / "LICENSE").is_file()


@needs_reference
def test_official_dataset_json_examples_validate() -> None:
    examples = REFERENCE / "schemas" / "dataset-json-1.1" / "examples"
    documents = sorted(examples.rglob("*.json"))
    assert len(documents) >= 5
    for document in documents:
        assert schemas.validate_dataset_json(json.loads(document.read_text(encoding="utf-8"))) == [], document
    # NDJSON: the first line is the metadata, each further line a row.
    lines = (examples / "sdtm" / "dm.ndjson").read_text(encoding="utf-8").splitlines()
    assembled = {**json.loads(lines[0]), "rows": [json.loads(line) for line in lines[1:] if line.strip()]}
    assert schemas.validate_dataset_json(assembled) == []


# --- provenance and reproducibility --------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for sub in ("data", "schemas")
        for p in sorted((root / sub).rglob("*"))
        if p.is_file()
    }


def test_sources_json_names_every_shipped_file() -> None:
    entries = {e["file"]: e for e in files.sources()}
    shipped = set(_tree(files.STANDARDS_DIR)) - {"data/SOURCES.json"}
    assert set(entries) == shipped
    for name, entry in entries.items():
        assert entry["source"] and len(entry["input_sha256"]) == 64
        assert hashlib.sha256((files.STANDARDS_DIR / name).read_bytes()).hexdigest() == entry["sha256"]
    assert entries["data/sdtm_ct.csv.gz"]["package_date"] == "2025-03-28"
    total = sum((files.STANDARDS_DIR / name).stat().st_size for name in shipped)
    assert total < 3_000_000


@needs_reference
def test_build_standards_reproduces_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--reference", str(REFERENCE), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rebuilt, shipped = _tree(tmp_path), _tree(files.STANDARDS_DIR)
    assert sorted(rebuilt) == sorted(shipped)
    assert [name for name in rebuilt if rebuilt[name] != shipped[name]] == []
    for entry in files.sources():
        source = REFERENCE / entry["input"]
        assert hashlib.sha256(source.read_bytes()).hexdigest() == entry["input_sha256"], entry["input"]


def test_build_standards_refuses_a_missing_reference_folder(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--reference", str(tmp_path / "absent"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "not found" in result.stderr


# --- the study terminology -----------------------------------------------------------------------------


def test_study_ct_view_for_define_xml(study_ct: StudyCT) -> None:
    sex = study_ct.codelist("SEX")
    assert (sex.code, sex.name, sex.extensible, sex.sponsor) == ("C66731", "Sex", False, False)
    assert [(t.value, t.code) for t in sex.terms][:2] == [("F", "C16576"), ("M", "C20197")]
    assert sex.term("F").decode == "Female"
    assert study_ct.codelist("C71620").id == "UNIT"
    lbtestcd = study_ct.codelist("LBTESTCD")
    assert lbtestcd.term("GFRE").decode == "Glomerular Filtration Rate, Estimated"
    assert lbtestcd.term("GFRE").code == "C110935"


def test_sponsor_terms_never_carry_a_c_code(study_ct: StudyCT) -> None:
    sponsor_terms = [(c.id, t) for c in study_ct for t in c.terms if t.sponsor]
    assert len(sponsor_terms) > 30
    assert [(cid, t.value) for cid, t in sponsor_terms if t.code is not None] == []
    pctestcd = study_ct.codelist("PCTESTCD")
    assert pctestcd.sponsor and pctestcd.code is None
    assert pctestcd.values == ("CARTDNA", "CARTCELL", "CARTPCT")
    hmgcr = study_ct.codelist("ISBDAGT").term("HMG-COA REDUCTASE")
    assert hmgcr.sponsor and hmgcr.code is None and study_ct.codelist("ISBDAGT").extensible
    pkunit = study_ct.codelist("PKUNIT")
    assert pkunit.term("day*DNA copies/ug").sponsor and pkunit.term("10^6/L").code is None
    assert study_ct.codelist("AEREL").values == ("NOT RELATED", "UNLIKELY", "POSSIBLE", "PROBABLE", "RELATED")
    assert {t.value for t in study_ct.codelist("FATESTCD").terms} >= {
        "TEMPMAX",
        "VASOPN",
        "O2FLOW",
        "ICESCORE",
    }


def test_sponsor_terms_extend_only_extensible_codelists_unless_the_ig_prescribes_them(
    study_ct: StudyCT,
) -> None:
    for cl in study_ct:
        for t in cl.terms:
            if t.sponsor and cl.code is not None and not cl.extensible:
                assert t.exception, f"{cl.id} {t.value}"


def test_every_cdisc_term_belongs_to_its_codelist_with_its_submission_value(study_ct: StudyCT) -> None:
    for cl in study_ct:
        if cl.code is None:
            assert all(t.code is None for t in cl.terms), cl.id
            continue
        cdisc = ct.codelist(cl.code, cl.package or "sdtm")
        for t in cl.terms:
            if t.code is not None:
                assert cdisc.term_by_code(t.code).submission_value == t.value, (cl.id, t.value)


def test_study_ct_agrees_with_study_yaml(study_ct: StudyCT, study: Study) -> None:
    armcd = study_ct.codelist("ARMCD")
    assert [(t.value, t.decode) for t in armcd.terms] == [(d.armcd, d.arm) for d in study.dose_levels]
    indicat = study_ct.codelist("INDICAT")
    assert [(t.value, t.decode) for t in indicat.terms] == [(i.code, i.name) for i in study.indications]
    assert study_ct.ct_versions == {
        "sdtm": study.standards["ct_sdtm"],
        "adam": study.standards["ct_adam"],
        "define-xml": study.standards["ct_define"],
    }
    meddra = study_ct.codelist("MEDDRA")
    assert meddra.external and meddra.version == study.standards["meddra"]


def _ig_codelists(dataset: str, variable: str) -> tuple[str, ...] | None:
    try:
        return ig.sdtmig_variable(dataset, variable).codelist_codes
    except ig.IGLookupError:
        return None


_QRS_TEST_CODELIST = re.compile(r"^[A-Z0-9]+T[CN]$")


def test_used_by_agrees_with_the_sdtmig_codelist_of_each_variable(study_ct: StudyCT) -> None:
    """Where SDTMIG 3.4 names a codelist for a variable, the study codelist used there is that one.

    The one exception is CDISC's own: a QRS instrument (EDSS, KFSS) brings its test code/name codelists
    (``EDSS01TC``/``EDSS01TN``) for RSTESTCD/RSTEST and QSTESTCD/QSTEST (QRS supplements).
    """
    mismatches = []
    for cl in study_ct:
        if cl.code is None or cl.package != "sdtm":
            continue
        for use in cl.used_by:
            dataset, _, variable = use.partition(".")
            expected = _ig_codelists(dataset, variable)
            qrs = dataset in {"RS", "QS", "FT"} and variable.endswith(("TESTCD", "TEST"))
            if qrs and _QRS_TEST_CODELIST.match(cl.short_name):
                continue
            if expected and cl.code not in expected:
                mismatches.append((cl.id, use, expected))
    assert mismatches == []


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


_HEADER = 'ct_versions: {sdtm: "2025-03-28", adam: "2025-03-28", define-xml: "2026-03-27"}\ncodelists:\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('  SEX: {code: C66731, terms: [{value: "F", code: C20197}]}', "is 'M' in SEX"),
        ('  SEX: {code: C66731, terms: [{value: "F", code: C12345}]}', "not a term of SEX"),
        ('  SEX: {code: C66731, terms: [{value: "X", code: C16576, sponsor: true}]}', "must not carry"),
        ('  SEX: {code: C66731, terms: [{value: "OTHER", sponsor: true}]}', "not extensible"),
        ('  UNIT: {code: C71620, terms: [{value: "pg/mL", sponsor: true}]}', "already UNIT term 'ng/L'"),
        ('  SEX: {code: C66731, color: red, terms: [{value: "F", code: C16576}]}', "unknown keys"),
        ('  XX: {sponsor: true, name: "X", terms: [{value: "A", code: C16576}]}', "must not carry|no C-code"),
        ('  NY: {code: C66731, terms: [{value: "F", code: C16576}]}', "short name of C66742"),
    ],
)
def test_bad_terminology_is_refused_with_the_key(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "terminology.yaml", _HEADER + body + "\n")
    with pytest.raises(StudyCTError, match=message):
        load_study_ct(path)


# --- every C-code and codelist the project uses exists in the shipped CT ---------------------------------


def test_every_c_code_and_codelist_in_the_mappings_exists_in_the_shipped_ct(study_ct: StudyCT) -> None:
    """Scans every YAML file under mappings/ (specs added later are covered automatically)."""
    yaml_files = sorted(DEFAULT_MAPPINGS.rglob("*.y*ml"))
    assert DEFAULT_MAPPINGS / "terminology.yaml" in yaml_files
    codes = {c for f in yaml_files for c in C_CODE_SEARCH_RE.findall(f.read_text(encoding="utf-8"))}
    assert len(codes) > 300  # the scan is not vacuous
    assert check_ct_references(DEFAULT_MAPPINGS, study_ct) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("variables:\n  SEX: {codelist: SEX, code: C9999999}\n", "C9999999 is neither"),
        ("variables:\n  X: {codelist: NOSUCH}\n", "'NOSUCH' is neither"),
        ("cl:\n  code: C66731\n  terms:\n    - {value: M, code: C67255}\n", "C67255 is not a term of SEX"),
        ("term: {value: X, sponsor: true, code: C16576}\n", "sponsor-defined entry carries"),
        ("SEX:\n  ct: {codelist: SEX, from: dm.SEX, map: {female: FEMALE}}\n", "'FEMALE' is not a term"),
        ("x:\n  codelist: {id: SEX}\n", "must name a codelist"),
    ],
)
def test_the_mapping_scan_catches_each_kind_of_error(
    tmp_path: Path, study_ct: StudyCT, text: str, message: str
) -> None:
    folder = tmp_path / "mappings" / "sdtm"
    folder.mkdir(parents=True)
    _write(folder / "XX.yaml", text)
    problems = check_ct_references(tmp_path / "mappings", study_ct)
    assert len(problems) == 1 and message in problems[0], problems
    assert problems[0].startswith(str(folder / "XX.yaml") + ":")


def test_the_mapping_scan_accepts_a_correct_spec(tmp_path: Path, study_ct: StudyCT) -> None:
    text = (
        "variables:\n"
        "  SEX: {codelist: SEX, rule: {ct: {codelist: SEX, from: dm.SEX, map: {female: F, male: M, x: null}}}}\n"
        "  LBSTRESU: {codelist: C71620}\n"
        "  PCTESTCD: {codelist: PCTESTCD}\n"
        "  AVALCAT: {codelist: DTYPE}\n"
    )
    _write(tmp_path / "LB.yaml", text)
    assert check_ct_references(tmp_path, study_ct) == []
