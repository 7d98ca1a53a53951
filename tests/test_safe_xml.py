"""XML from outside (another sponsor's define.xml) is parsed without expanding entities or DTDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdisc168.standards.schemas import UnsafeXmlError, parse_xml
from cdisc168.validate import validate

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">&lol2;</ODM>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]><x>&secret;</x>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_declarations_are_refused(document: bytes) -> None:
    with pytest.raises(UnsafeXmlError, match="refused"):
        parse_xml(document)


def test_a_plain_document_parses_and_a_file_keeps_its_path(tmp_path: Path) -> None:
    path = tmp_path / "define.xml"
    path.write_bytes(b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F"/>')
    tree = parse_xml(path)
    assert tree.getroot().get("FileOID") == "F"
    assert Path(tree.docinfo.URL) == path


def test_validate_reports_an_unsafe_define_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "define.xml").write_bytes(BILLION_LAUGHS)
    sample = Path(__file__).resolve().parents[2] / "shared" / "reference" / "xpt_samples" / "ae.xpt"
    if not sample.exists():
        pytest.skip("../shared/reference is not available")
    (tmp_path / "ae.xpt").write_bytes(sample.read_bytes())
    outcome = validate(tmp_path)
    assert outcome.exit_code == 1
    read = [f for f in outcome.result.findings if f.rule == "VAL-READ"]
    assert len(read) == 1 and "define.xml" in read[0].message and "refused" in read[0].message
