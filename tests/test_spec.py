"""The spec loader: specs are data, validated at load time with file and line in every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdisc168.raw.forms import load_forms
from cdisc168.spec import SpecError, load_spec
from cdisc168.study import DEFAULT_MAPPINGS

GOOD = """\
dataset: AE
keys: [STUDYID, USUBJID, AESTDTC]
sources:
  - form: ae
variables:
  - {name: STUDYID, derive: studyid}
  - {name: DOMAIN, derive: domain}
  - {name: USUBJID, derive: usubjid}
  - {name: AESEQ, derive: seq}
  - {name: AETERM, source: AETERM}
  - {name: AEDECOD, source: AEDECOD}
  - {name: AESTDTC, dtc: {date: AESTDT, time: AESTTM}}
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "AE.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path, load_forms()), path


def test_a_good_spec_takes_label_type_and_core_from_the_ig(tmp_path: Path) -> None:
    spec, _ = _load(tmp_path, GOOD)
    aeterm = spec.variable("AETERM")
    assert (aeterm.label, aeterm.type, aeterm.core, aeterm.origin) == (
        "Reported Term for the Adverse Event",
        "Char",
        "Req",
        "Collected",
    )
    assert spec.variable("AESEQ").origin == "Derived"
    assert spec.observation_class == "Events"


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("{name: AETERM, source: AETERM}", "{name: AETERM, lookup: AETERM}"), 10, "unknown keys ['lookup']"),
        (
            ("{name: AETERM, source: AETERM}", "{name: AETERM, source: AETERMX}"),
            10,
            "unknown column 'AETERMX'",
        ),
        (("{name: AEDECOD, source: AEDECOD}", "{name: AEDECODXY, source: AEDECOD}"), 11, "1-8 upper-case"),
        (("{name: AESEQ, derive: seq}", "{name: AESEQ, derive: magic}"), 9, "unknown derivation 'magic'"),
        (
            ("{name: AETERM, source: AETERM}", "{name: AETERM, source: AETERM, label: Term}"),
            10,
            "disagrees with SDTMIG",
        ),
        (("{name: AETERM, source: AETERM}", "{name: AEFOO, source: AETERM}"), 10, "go to SUPPAE"),
        (("  - form: ae", "  - form: adverse"), 4, "unknown raw form 'adverse'"),
    ],
)
def test_bad_specs_fail_at_load_with_file_and_line(tmp_path: Path, change, line: int, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError) as error:
        _load(tmp_path, GOOD.replace(*change))
    message = str(error.value)
    assert f"AE.yaml:{line}:" in message
    assert words in message


def test_a_missing_required_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"required variables missing from the spec: \['AETERM'\]"):
        _load(tmp_path, GOOD.replace("  - {name: AETERM, source: AETERM}\n", ""))


def test_nothing_in_a_spec_is_executed(tmp_path: Path) -> None:
    """A Python-looking value is just text: an unknown rule, never evaluated."""
    with pytest.raises(SpecError, match="unknown keys"):
        _load(
            tmp_path,
            GOOD.replace("{name: AETERM, source: AETERM}", "{name: AETERM, eval: \"__import__('os')\"}"),
        )


def test_every_shipped_spec_loads() -> None:
    forms = load_forms()
    paths = sorted((DEFAULT_MAPPINGS / "sdtm").glob("*.yaml"))
    assert {p.stem for p in paths} >= {"DM", "AE", "EX", "SE"}
    for path in paths:
        assert load_spec(path, forms).name == path.stem
