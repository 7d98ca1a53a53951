"""The submission package: eCTD module 5 layout, define.xml that agrees with the data (or stops the
build), Dataset-JSON, reviewer's guides and the manifest. One build of the fixture whose first AE term
carries the XML special characters ``<``, ``&`` and both quotes."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from cdisc168 import api
from cdisc168.datasetjson import read_dataset_json, validate_dataset_json_file
from cdisc168.standards.schemas import safe_xml_parser, validate_define_xml
from cdisc168.study import load_study
from cdisc168.write import ectd, oids
from cdisc168.write.manifest import verify_manifest
from cdisc168.write.xpt import read_xpt

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()
SPECIAL_TERM = """Rash <grade 2> & "itchy" 'face'"""
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[api.BuildResult, ectd.Layout]:
    work = tmp_path_factory.mktemp("ectd")
    raw = work / "raw"
    shutil.copytree(FIXTURE, raw)
    ae = pd.read_csv(raw / "ae.csv", dtype=str, keep_default_na=False)
    ae.loc[0, "AETERM"] = SPECIAL_TERM
    ae.to_csv(raw / "ae.csv", index=False, lineterminator="\n")
    out = work / "submission"
    return api.build(raw, out), ectd.Layout(out, STUDY.submission_folder)


def _define(folder: Path) -> etree._ElementTree:
    return etree.parse(str(folder / "define.xml"), safe_xml_parser())


def test_the_package_has_the_ectd_module_5_layout(package: tuple[api.BuildResult, ectd.Layout]) -> None:
    result, layout = package
    assert result.exit_code == api.EXIT_OK, [str(f) for f in result.findings.errors[:5]]
    for folder, guide in ((layout.sdtm, "csdrg"), (layout.adam, "adrg")):
        names = {p.name for p in folder.iterdir()}
        assert {"define.xml", "define2-1.xsl", "define.html", f"{guide}.html"} <= names
        assert not list(folder.glob("*.md")), "Markdown is not an eCTD file type"
        assert (layout.reports / f"{guide}.md").is_file()
    assert {p.name for p in layout.adam.glob("*.xpt")} == {
        f"{n.lower()}.xpt" for n in ("ADSL", "ADLB", "ADGC", "ADAE", "ADPC", "ADPP", "ADRS", "ADTTE")
    }
    sdtm_xpts = {p.stem.upper() for p in layout.sdtm.glob("*.xpt")}
    assert sdtm_xpts == {p.stem.upper() for p in layout.datasetjson("SDTM").glob("*.json")}
    assert {"DM", "AE", "SUPPAE", "LB", "TS", "RELREC"} <= sdtm_xpts
    assert {"validation.xlsx", "validation.html", "validation.json", "findings.csv"} <= {
        p.name for p in layout.reports.iterdir()
    }


def test_both_defines_are_valid_define_xml_2_1_and_reference_the_stylesheet_and_guide(
    package: tuple[api.BuildResult, ectd.Layout],
) -> None:
    _, layout = package
    for folder, guide in ((layout.sdtm, "csdrg.html"), (layout.adam, "adrg.html")):
        tree = _define(folder)
        assert validate_define_xml(tree) == []
        assert (
            (folder / "define.xml")
            .read_bytes()
            .startswith(
                b'<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>'
            )
        )
        root = tree.getroot()
        assert root.get("CreationDateTime") == root.get("AsOfDateTime") == "2026-03-31T00:00:00"
        leaves = {
            leaf.get("{http://www.w3.org/1999/xlink}href") for leaf in root.iter(f"{{{NS['def']}}}leaf")
        }
        assert guide in leaves
        assert all((folder / href).is_file() for href in leaves), "every def:leaf names a file of the folder"


def test_the_special_characters_of_an_ae_term_survive_xpt_dataset_json_and_define(
    package: tuple[api.BuildResult, ectd.Layout],
) -> None:
    _, layout = package
    ae, metadata = read_xpt(layout.sdtm / "ae.xpt")
    assert (ae["AETERM"] == SPECIAL_TERM).sum() == 1
    frame, _ = read_dataset_json(layout.datasetjson("SDTM") / "ae.json")
    assert (frame["AETERM"] == SPECIAL_TERM).sum() == 1
    tree = _define(layout.sdtm)  # parses: the text in it is escaped
    length = tree.find(".//odm:ItemDef[@OID='IT.AE.AETERM']", NS).get("Length")
    assert int(length) == metadata["variables"]["AETERM"]["length"] >= len(SPECIAL_TERM)
    html = (layout.sdtm / "define.html").read_text(encoding="utf-8")
    assert "<grade 2>" not in html


def test_dataset_json_is_valid_and_carries_the_define_oids(
    package: tuple[api.BuildResult, ectd.Layout],
) -> None:
    _, layout = package
    for model, folder in (("SDTM", layout.sdtm), ("ADaM", layout.adam)):
        define = _define(folder)
        items = {item.get("OID") for item in define.iter(f"{{{NS['odm']}}}ItemDef")}
        mdv = define.find(".//odm:MetaDataVersion", NS).get("OID")
        for path in sorted(layout.datasetjson(model).glob("*.json")):
            assert validate_dataset_json_file(path) == [], path.name
            document = json.loads(path.read_text(encoding="utf-8"))
            assert document["metaDataVersionOID"] == mdv == oids.metadata_version_oid(STUDY.studyid, model)
            assert document["itemGroupOID"] == oids.item_group_oid(path.stem.upper())
            assert {c["itemOID"] for c in document["columns"]} <= items
            assert (path.parent / document["metaDataRef"]).resolve() == (folder / "define.xml").resolve()
    adsl = json.loads((layout.datasetjson("ADaM") / "adsl.json").read_text(encoding="utf-8"))
    trtsdt = next(c for c in adsl["columns"] if c["name"] == "TRTSDT")
    assert (trtsdt["dataType"], trtsdt["targetDataType"], trtsdt["displayFormat"]) == (
        "date",
        "integer",
        "DATE9.",
    )


def test_the_manifest_lists_every_file_with_its_sha256(package: tuple[api.BuildResult, ectd.Layout]) -> None:
    _, layout = package
    manifest = json.loads((layout.root / "manifest.json").read_text(encoding="utf-8"))
    paths = [entry["path"] for entry in manifest["files"]]
    files = (p for p in layout.root.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert paths == sorted(p.relative_to(layout.root).as_posix() for p in files)
    assert (manifest["study"], manifest["data_cut"]) == ("CCAR168-AID", "2026-03-31")
    assert all(re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]) for entry in manifest["files"])
    assert verify_manifest(layout.root) == []


def test_a_changed_file_no_longer_matches_the_manifest(
    package: tuple[api.BuildResult, ectd.Layout], tmp_path: Path
) -> None:
    _, layout = package
    copy = tmp_path / "copy"
    shutil.copytree(layout.root, copy)
    (copy / "reports" / "findings.csv").write_text("tampered\n", encoding="utf-8")
    assert verify_manifest(copy) == ["reports/findings.csv: size or SHA-256 differs from the manifest"]


def _edit_define(monkeypatch: pytest.MonkeyPatch, edit: Callable[[bytes], bytes]) -> None:
    """Make define.xml disagree with the data the way a hand-edited or stale define would."""
    original = ectd.render_define

    def render(model, template_dir):  # type: ignore[no-untyped-def]
        xml = original(model, template_dir)
        return edit(xml) if model.mdv_oid == oids.metadata_version_oid(STUDY.studyid, oids.SDTM) else xml

    monkeypatch.setattr(ectd, "render_define", render)


def test_a_define_that_lacks_a_variable_of_the_data_stops_the_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def drop_aeterm(xml: bytes) -> bytes:
        return re.sub(rb'\s*<ItemRef ItemOID="IT\.AE\.AETERM"[^>]*/>', b"", xml, count=1)

    _edit_define(monkeypatch, drop_aeterm)
    out = tmp_path / "submission"
    result = api.build(FIXTURE, out)
    assert result.exit_code == api.EXIT_UNUSABLE
    assert not out.exists() and not list(tmp_path.glob(".submission.*"))
    problem = [f for f in result.findings if f.rule == "DEF-VARIABLE"]
    assert [(f.dataset, f.variable) for f in problem] == [("AE", "AETERM")]
    assert "AE.AETERM" in result.problem and "define.xml" in result.problem


def test_a_define_length_that_differs_from_the_xpt_stops_the_build_naming_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lengths: dict[str, str] = {}

    def shorten_aeterm(xml: bytes) -> bytes:
        match = re.search(rb'(<ItemDef OID="IT\.AE\.AETERM"[^>]*Length=")(\d+)(")', xml)
        assert match is not None
        lengths["xpt"] = match.group(2).decode()
        return xml[: match.start(2)] + b"199" + xml[match.end(2) :]

    _edit_define(monkeypatch, shorten_aeterm)
    result = api.build(FIXTURE, tmp_path / "submission")
    assert result.exit_code == api.EXIT_UNUSABLE
    [finding] = [f for f in result.findings if f.rule == "DEF-LENGTH"]
    assert finding.message == f"AE.AETERM: define.xml Length 199, ae.xpt length {lengths['xpt']}"


def test_validate_follows_the_dataset_json_metadata_reference_to_define_xml(
    package: tuple[api.BuildResult, ectd.Layout],
) -> None:
    """datasetjson/ holds no define.xml; each file's metaDataRef names the one of its eCTD folder."""
    _, layout = package
    outcome = api.validate(layout.root / "datasetjson")
    assert outcome.exit_code == api.EXIT_OK, outcome.summary_text()
    sources = outcome.reading.ig_sources
    assert sources["SDTM"].startswith("declared by") and sources["SDTM"].endswith(
        "tabulations/sdtm/define.xml"
    )
    assert sources["ADaM"].startswith("declared by") and sources["ADaM"].endswith(
        "analysis/adam/datasets/define.xml"
    )
    rules = {f.rule for f in outcome.result.findings}
    assert "SD-CT-SPONSOR" in rules and "SD-CT-EXT" not in rules  # sponsor terms found declared in define.xml
