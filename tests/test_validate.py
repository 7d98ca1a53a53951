"""`validate` on folders we did not write: a SAS-written AE, another sponsor's package, broken files.

The "other sponsor" package is built from the fixture SDTM the way many sponsors deliver it: SDTMIG 3.3
declared in TS, no EPOCH, one combined SUPPQUAL instead of SUPP--, upper/mixed-case file names, Latin-1
text ("Sjögren" as the single byte 0xF6), no define.xml.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from cdisc168.check.catalog import load_catalog
from cdisc168.check.folder import define_standard, parse_ig_option, read_folder
from cdisc168.check.run import rule_targets
from cdisc168.check.submission import ADAM, SDTM
from cdisc168.datasetjson import ColumnDefinition, write_dataset_json
from cdisc168.findings import Severity
from cdisc168.sdtm.build import load_specs
from cdisc168.standards.schemas import safe_xml_parser
from cdisc168.validate import EXIT_CLEAN, EXIT_ERRORS, EXIT_UNUSABLE, validate
from cdisc168.write.tabulation import dataset_metadata, supp_variables

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SAMPLE_AE = REFERENCE / "xpt_samples" / "ae.xpt"
DEFINE_EXAMPLES = REFERENCE / "schemas" / "define-xml-2.1" / "examples"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"{REFERENCE} is absent")
PLACEHOLDER, LATIN1 = b"Sj#gren", "Sjögren".encode("latin-1")


def _sponsor_frame(frame: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    """The spec's variables, text as object with "" for missing, numbers float64 (as SAS holds them)."""
    out = {}
    for name in variables:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            out[name] = values.astype("float64")
        else:
            out[name] = values.astype(object).where(values.notna(), "").astype(str)
    return pd.DataFrame(out)


def _write_sas(
    frame: pd.DataFrame, path: Path, name: str, label: str, version: int = 5, labels: list[str] | None = None
) -> Path:
    pyreadstat.write_xport(
        frame, str(path), file_label=label, column_labels=labels, table_name=name, file_format_version=version
    )
    data = path.read_bytes()
    if PLACEHOLDER in data:  # pyreadstat writes UTF-8 only: put the Latin-1 byte in by hand
        path.write_bytes(data.replace(PLACEHOLDER, LATIN1))
    return path


def _small_ae(path: Path) -> Path:
    """A two-record AE written by SAS-compatible software (pyreadstat), for tests that need any AE file."""
    frame = pd.DataFrame(
        {
            "STUDYID": ["S1", "S1"],
            "DOMAIN": ["AE", "AE"],
            "USUBJID": ["S1-001", "S1-001"],
            "AESEQ": [1.0, 2.0],
            "AETERM": ["Headache", "Nausea"],
            "AEDECOD": ["Headache", "Nausea"],
        }
    )
    return _write_sas(frame, path, "AE", "Adverse Events")


def _write_dataset_json(
    frame: pd.DataFrame, path: Path, name: str, columns: list[ColumnDefinition], label: str = ""
) -> None:
    write_dataset_json(
        frame,
        path,
        name=name,
        label=label or name,
        columns=columns,
        item_group_oid=f"IG.{name}",
        study_oid="S",
        metadata_version_oid="MDV",
        metadata_ref="define.xml",
        file_oid=f"F.{name}",
        created=dt.datetime(2026, 3, 31),
        originator="another sponsor",
        source_system="SAS",
        source_system_version="9.4",
    )


@pytest.fixture(scope="module")
def specs(study, forms):  # type: ignore[no-untyped-def]
    return load_specs(study.mappings_dir, forms)


def _domain(sdtm, specs, name: str, drop: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str]:  # type: ignore[no-untyped-def]
    frame = sdtm.datasets[name]
    label, variables = dataset_metadata(name, specs, list(frame.columns))
    return _sponsor_frame(frame, [v.name for v in variables if v.name not in drop]), label


@pytest.fixture(scope="module")
def sponsor_folder(tmp_path_factory: pytest.TempPathFactory, sdtm, specs) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("sponsor")
    dm, dm_label = _domain(sdtm, specs, "DM")
    ae, ae_label = _domain(sdtm, specs, "AE", drop=("EPOCH",))
    ae.loc[0, "AETERM"] = "Sj#gren syndrome flare"
    ex, ex_label = _domain(sdtm, specs, "EX", drop=("EPOCH",))
    ts, ts_label = _domain(sdtm, specs, "TS")
    ts.loc[ts["TSPARMCD"] == "SDTIGVER", "TSVAL"] = "3.3"
    supp_names = [v.name for v in supp_variables()]
    suppqual = pd.concat(
        [_sponsor_frame(sdtm.datasets[n], supp_names) for n in ("SUPPAE", "SUPPDM")], ignore_index=True
    )
    _write_sas(dm, folder / "DM.XPT", "DM", dm_label)
    _write_sas(ae, folder / "ae.xpt", "AE", ae_label)
    _write_sas(ex, folder / "Ex.Xpt", "EX", ex_label)
    _write_sas(ts, folder / "ts.xpt", "TS", ts_label)
    _write_sas(suppqual, folder / "suppqual.xpt", "SUPPQUAL", "Supplemental Qualifiers")
    return folder


# --- a SAS-written AE on its own -------------------------------------------------------------------


@needs_reference
def test_sample_ae_alone_is_validated_with_companion_rules_not_applied(tmp_path: Path) -> None:
    outcome = validate(SAMPLE_AE, tmp_path / "out")
    assert outcome.exit_code in (EXIT_CLEAN, EXIT_ERRORS), outcome.summary_text()
    submission = outcome.reading.submission
    assert list(submission.datasets) == ["AE"]
    assert (len(submission.datasets["AE"]), submission.metadata["AE"].label) == (74, "Adverse Events")
    assert submission.datasets["AE"]["AETERM"].iloc[0] == "INJECTION SITE REACTION"
    assert outcome.reading.ig_sources == {
        SDTM: "assumed: neither a define.xml nor TS (TSPARMCD SDTIGVER) declares it"
    }
    # Rules on AE that need DM (e.g. --DY from DM.RFSTDTC) are not applied, and say why.
    companion = [r for r in load_catalog() if "DM" in r.requires and rule_targets(submission, r)]
    assert "SD-DY" in [r.id for r in companion]
    for rule in companion:
        missing = ", ".join(r for r in rule.requires if submission.get(r) is None)
        assert outcome.result.not_applied[rule.id] == f"companion dataset(s) {missing} missing"
    assert not [f for f in outcome.result.findings if f.rule == "VAL-INTERNAL"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "validation.html",
        "validation.json",
        "validation.xlsx",
    ]
    assert "Validated 1 dataset(s), 74 records" in outcome.summary_text()


# --- another sponsor's package ---------------------------------------------------------------------


def test_sponsor_folder_reads_every_file_whatever_the_case_of_its_name(sponsor_folder: Path) -> None:
    reading = read_folder(sponsor_folder)
    submission = reading.submission
    assert sorted(submission.datasets) == ["AE", "DM", "EX", "SUPPQUAL", "TS"]
    assert submission.standards["SUPPQUAL"] == SDTM
    assert reading.files["EX"].name == "Ex.Xpt"
    # Latin-1 byte 0xF6 decodes as "ö"; the text is kept as read.
    assert submission.datasets["AE"]["AETERM"].iloc[0] == "Sjögren syndrome flare"
    assert "EPOCH" not in submission.datasets["AE"].columns
    assert submission.ig_versions[SDTM] == "3.3"
    assert [f.message for f in reading.findings if f.rule == "VAL-IG"] == [
        "SDTMIG 3.3: declared by TS (TSPARMCD SDTIGVER)"
    ]


def test_sponsor_folder_with_sdtmig_33_says_which_rules_were_not_applied(
    sponsor_folder: Path, tmp_path: Path
) -> None:
    outcome = validate(sponsor_folder, tmp_path)
    assert outcome.exit_code in (EXIT_CLEAN, EXIT_ERRORS), outcome.summary_text()
    version_bound = [r.id for r in load_catalog() if r.scope == SDTM and not r.version_independent]
    assert version_bound
    for rule_id in version_bound:
        assert outcome.result.not_applied[rule_id] == (
            "judged against SDTMIG 3.4 metadata; the submission is SDTMIG 3.3"
        )
    assert not [f for f in outcome.result.findings if f.rule == "VAL-INTERNAL"], outcome.summary_text()
    summary = outcome.summary_text()
    assert "Standards: SDTMIG 3.3 (declared by TS (TSPARMCD SDTIGVER))" in summary
    assert (
        "  not applied, judged against SDTMIG 3.4 metadata; the submission is SDTMIG 3.3: "
        + ", ".join(sorted(version_bound)[:8])
    ) in summary
    report = json.loads((tmp_path / "validation.json").read_text(encoding="utf-8"))
    reasons = {r["rule"]: r["reason"] for r in report["summary"]["not_applied"]}
    assert reasons[version_bound[0]].endswith("the submission is SDTMIG 3.3")


def test_ig_option_overrides_the_declared_version(sponsor_folder: Path) -> None:
    outcome = validate(sponsor_folder, ig="3.4")
    assert outcome.reading.submission.ig_versions[SDTM] == "3.4"
    assert outcome.reading.ig_sources[SDTM] == "given with --ig"
    applied = {r.id for r in outcome.result.applied}
    assert {r.id for r in load_catalog() if r.scope == SDTM and not r.version_independent} <= applied


# --- a folder without DM ---------------------------------------------------------------------------


def test_folder_without_dm_does_not_apply_companion_rules_and_does_not_flood(
    tmp_path: Path,
    sdtm,
    specs,
    adam_datasets,  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path / "no_dm"
    folder.mkdir()
    for name in ("AE", "EX"):
        frame, label = _domain(sdtm, specs, name)
        labels = {v.name: v.label for v in dataset_metadata(name, specs, list(frame.columns))[1]}
        _write_sas(frame, folder / f"{name.lower()}.xpt", name, label, labels=[labels[c] for c in frame])
    adsl = adam_datasets["ADSL"]
    _write_sas(
        _sponsor_frame(adsl, [c for c in adsl.columns if not c.startswith("_")]),
        folder / "adsl.xpt",
        "ADSL",
        "ADSL",
    )
    outcome = validate(folder, tmp_path / "out")
    assert outcome.exit_code in (EXIT_CLEAN, EXIT_ERRORS), outcome.summary_text()
    submission = outcome.reading.submission
    companion = [r for r in load_catalog() if "DM" in r.requires and rule_targets(submission, r)]
    assert {"SD-DY", "SD-EX-RFX", "AD-ADSL-DM"} <= {r.id for r in companion}
    for rule in companion:
        missing = ", ".join(r for r in rule.requires if submission.get(r) is None)
        assert outcome.result.not_applied[rule.id] == f"companion dataset(s) {missing} missing"
    # A missing DM is said once per rule, not once per record of AE (118) or EX (153).
    per_rule = Counter((f.rule, f.dataset) for f in outcome.result.findings if f.dataset in ("AE", "EX"))
    assert all(n < len(submission.datasets[dataset]) for (_, dataset), n in per_rule.items()), per_rule
    assert len(outcome.result.findings) < 100
    assert (tmp_path / "out" / "validation.json").stat().st_size < 100_000


# --- files that cannot be read ---------------------------------------------------------------------


def test_corrupt_and_version_8_files_are_reported_and_the_rest_validated(tmp_path: Path) -> None:
    _small_ae(tmp_path / "ae.xpt")
    (tmp_path / "cm.xpt").write_bytes(b"HEADER RECORD" + b"\0" * 147)
    _write_sas(
        pd.DataFrame({"STUDYID": ["S1"], "MHSEQ": [1.0]}),
        tmp_path / "mh.xpt",
        "MH",
        "Medical History",
        version=8,
    )
    (tmp_path / "vs.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "manifest.json").write_text('{"files": []}', encoding="utf-8")
    outcome = validate(tmp_path)
    assert outcome.exit_code == EXIT_ERRORS
    assert list(outcome.reading.submission.datasets) == ["AE"]
    read = {f.dataset: f for f in outcome.result.findings if f.rule == "VAL-READ"}
    assert sorted(read) == ["CM", "MH", "VS"]
    assert all(f.severity is Severity.ERROR for f in read.values())
    assert read["MH"].message.startswith("mh.xpt: cannot be read as SAS XPORT v5")
    assert "version 8" in read["MH"].message
    assert read["VS"].message.startswith("vs.json: cannot be read as Dataset-JSON 1.1")
    skipped = [f.message for f in outcome.result.findings if f.rule == "VAL-SKIP"]
    assert skipped == ["manifest.json: JSON but not Dataset-JSON, skipped"]


def test_empty_folder_cannot_be_validated(tmp_path: Path) -> None:
    outcome = validate(tmp_path, tmp_path / "out")
    assert outcome.exit_code == EXIT_UNUSABLE
    assert outcome.problem == (
        f"nothing to validate: no readable SAS XPORT (.xpt) or Dataset-JSON (.json/.ndjson) dataset in {tmp_path}"
    )
    assert not (tmp_path / "out").exists()
    assert "could not run" in outcome.summary_text()


def test_folder_of_unreadable_files_names_them(tmp_path: Path) -> None:
    (tmp_path / "dm.xpt").write_bytes(b"not a transport file".ljust(80))
    (tmp_path / "manifest.json").write_text('{"files": []}', encoding="utf-8")
    outcome = validate(tmp_path)
    assert outcome.exit_code == EXIT_UNUSABLE
    assert outcome.problem.startswith(
        f"nothing to validate: no readable SAS XPORT (.xpt) or Dataset-JSON (.json/.ndjson) dataset in {tmp_path}: "
        "dm.xpt: cannot be read as SAS XPORT v5 (XptLayoutError: "
    )
    assert outcome.problem.endswith("; manifest.json: JSON but not Dataset-JSON, skipped")


def test_missing_path_and_bad_ig_option_exit_2(tmp_path: Path) -> None:
    assert validate(tmp_path / "nowhere").problem == f"{tmp_path / 'nowhere'}: no such file or folder"
    outcome = validate(_small_ae(tmp_path / "ae.xpt"), ig="latest")
    assert outcome.exit_code == EXIT_UNUSABLE
    assert "'latest' is not an IG version" in outcome.problem


# --- XPT and Dataset-JSON together, define.xml ------------------------------------------------------


def test_xpt_is_preferred_to_dataset_json_of_the_same_dataset(tmp_path: Path, sdtm, specs) -> None:  # type: ignore[no-untyped-def]
    frame, label = _domain(sdtm, specs, "DM")
    _write_sas(frame, tmp_path / "dm.xpt", "DM", label)
    columns = [
        ColumnDefinition(f"IT.DM.{c}", c, c, "float" if frame[c].dtype == "float64" else "text")
        for c in frame
    ]
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    _write_dataset_json(frame.head(2), json_dir / "dm.json", "DM", columns, label)
    reading = read_folder(tmp_path)
    assert len(reading.submission.datasets["DM"]) == len(frame)  # the XPT's 24 subjects, not the JSON's 2
    assert [f.message for f in reading.findings if f.rule == "VAL-SKIP"] == [
        "DM read from dm.xpt; not read: json/dm.json (XPT preferred, then the shallower path)"
    ]
    alone = read_folder(json_dir / "dm.json").submission
    assert alone.datasets["DM"]["USUBJID"].tolist() == frame["USUBJID"].head(2).tolist()


def test_dataset_json_numeric_dates_come_back_as_sas_numbers(tmp_path: Path) -> None:
    # TRTSDT 2024-03-05 is SAS day 23440 (days since 1960-01-01); the file holds "2024-03-05".
    adsl = pd.DataFrame({"USUBJID": ["S1-001", "S1-002"], "AGE": [34, None], "TRTSDT": [23440.0, None]})
    columns = [
        ColumnDefinition("IT.ADSL.USUBJID", "USUBJID", "Unique Subject Identifier", "text", 6),
        ColumnDefinition("IT.ADSL.AGE", "AGE", "Age", "integer"),
        ColumnDefinition(
            "IT.ADSL.TRTSDT", "TRTSDT", "Date of First Exposure to Treatment", "date", None, "DATE9."
        ),
    ]
    _write_dataset_json(adsl.astype({"AGE": "Int64"}), tmp_path / "adsl.json", "ADSL", columns)
    assert '"2024-03-05"' in (tmp_path / "adsl.json").read_text(encoding="utf-8")
    submission = read_folder(tmp_path).submission
    frame = submission.datasets["ADSL"]
    assert frame["TRTSDT"].tolist()[0] == 23440.0 and pd.isna(frame["TRTSDT"].iloc[1])
    assert frame["AGE"].dtype == "float64" and frame["AGE"].iloc[0] == 34.0
    assert submission.standards["ADSL"] == ADAM
    assert submission.metadata["ADSL"].variables["TRTSDT"]["display_format"] == "DATE9."


def test_member_name_differing_from_the_file_name_is_a_warning(tmp_path: Path) -> None:
    _small_ae(tmp_path / "events.xpt")
    reading = read_folder(tmp_path)
    # EVENTS is no dataset the rules know, AE is: the AE rules still apply
    assert list(reading.submission.datasets) == ["AE"]
    assert reading.submission.metadata["AE"].name == "AE"
    [finding] = [f for f in reading.findings if f.rule == "VAL-NAME"]
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "events.xpt: the file holds dataset 'AE', its name says 'EVENTS' (FDA TCG: file name = dataset name); "
        "validated as AE"
    )


def test_a_file_named_for_another_known_dataset_is_judged_by_its_file_name(tmp_path: Path) -> None:
    _small_ae(tmp_path / "cm.xpt")
    reading = read_folder(tmp_path)
    assert list(reading.submission.datasets) == ["CM"]
    [finding] = [f for f in reading.findings if f.rule == "VAL-NAME"]
    assert finding.message.endswith("validated as CM")


@needs_reference
def test_define_xml_beside_the_datasets_gives_standard_and_ig_version(tmp_path: Path) -> None:
    (tmp_path / "tabulations").mkdir()
    (tmp_path / "analysis").mkdir()
    shutil.copy(SAMPLE_AE, tmp_path / "tabulations" / "ae.xpt")
    shutil.copy(
        DEFINE_EXAMPLES / "DefineXML-2-1-SDTM" / "defineV21-SDTM.xml", tmp_path / "tabulations" / "define.xml"
    )
    shutil.copy(
        DEFINE_EXAMPLES / "Define-XML-2-1-ADaM" / "adam" / "defineV21-ADaM.xml",
        tmp_path / "analysis" / "define.xml",
    )
    reading = read_folder(tmp_path)
    assert reading.submission.define_paths == {
        SDTM: tmp_path / "tabulations" / "define.xml",
        ADAM: tmp_path / "analysis" / "define.xml",
    }
    # CDISC's sample SDTM define.xml lists SDTMIG 3.1.2 first (and 3.2 for some domains).
    assert reading.submission.ig_versions[SDTM] == "3.1.2"
    assert reading.ig_sources == {SDTM: "declared by tabulations/define.xml"}


def test_define_standard_from_purpose_when_no_ig_is_declared() -> None:
    from lxml import etree

    text = (
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study><MetaDataVersion>'
        '<ItemGroupDef OID="IG.ADSL" Name="ADSL" Purpose="Analysis"/></MetaDataVersion></Study></ODM>'
    )
    assert define_standard(etree.ElementTree(etree.fromstring(text.encode(), safe_xml_parser()))) == ADAM


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.3", {SDTM: "3.3"}),
        ("1.1", {ADAM: "1.1"}),
        ("SDTMIG 3.2, ADaMIG=1.0", {SDTM: "3.2", ADAM: "1.0"}),
        ("sdtmig:3.1.2", {SDTM: "3.1.2"}),
        (None, {}),
    ],
)
def test_parse_ig_option(text: str | None, expected: dict[str, str]) -> None:
    assert parse_ig_option(text) == expected
