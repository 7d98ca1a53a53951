"""ADaM rules (rules/adam.yaml): a passing and a failing example for every rule, exact findings.

The passing example is a tiny study ST01 with two subjects: DM, LB and SUPPLB (SDTM), ADSL, a lab BDS
ADLB traced to LB (one value to a SUPPLB QNAM) and a time-to-event ADTTE traced to ADLB (ASEQ) and ADSL.
Each failing example changes one fact and names the record a reviewer would point at.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from cdisc168.check import adam_rules  # noqa: F401  (registers the checks of the catalog file)
from cdisc168.check.catalog import RULES_DIR, load_rules_file
from cdisc168.check.run import run_rules
from cdisc168.check.submission import DatasetMetadata, Submission

CATALOG = load_rules_file(RULES_DIR / "adam.yaml")

ADAM_RULES = [r.id for r in CATALOG]

# ADaMIG 1.3 labels (EFFFL is a sponsor population flag; ANL01FL adds text after "Analysis Flag 01").
LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "AGE": "Age",
    "AGEU": "Age Units",
    "SEX": "Sex",
    "RACE": "Race",
    "ARM": "Description of Planned Arm",
    "TRT01P": "Planned Treatment for Period 01",
    "TRTSDT": "Date of First Exposure to Treatment",
    "TRTEDT": "Date of Last Exposure to Treatment",
    "TRTSDTM": "Datetime of First Exposure to Treatment",
    "TRTEDTM": "Datetime of Last Exposure to Treatment",
    "SAFFL": "Safety Population Flag",
    "EFFFL": "Efficacy Population Flag",
    "DTHFL": "Subject Death Flag",
    "ASEQ": "Analysis Sequence Number",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVAL": "Analysis Value",
    "AVALC": "Analysis Value (C)",
    "DTYPE": "Derivation Type",
    "BASETYPE": "Baseline Type",
    "ABLFL": "Baseline Record Flag",
    "ANL01FL": "Analysis Flag 01 Last Value in Window",
    "SRCDOM": "Source Data",
    "SRCVAR": "Source Variable",
    "SRCSEQ": "Source Sequence Number",
    "STARTDT": "Time-to-Event Origin Date for Subject",
    "ADT": "Analysis Date",
    "CNSR": "Censor",
}
S1, S2 = "ST01-1", "ST01-2"
DAY = 86400.0


def _frames() -> dict[str, pd.DataFrame]:
    dm = pd.DataFrame({"STUDYID": ["ST01"] * 2, "DOMAIN": ["DM"] * 2, "USUBJID": [S1, S2]})
    lb = pd.DataFrame(
        {
            "STUDYID": ["ST01"] * 3,
            "DOMAIN": ["LB"] * 3,
            "USUBJID": [S1, S1, S2],
            "LBSEQ": [1.0, 2.0, 1.0],
            "LBTESTCD": ["ALB", "ALB", "CRP"],
            "LBSTRESN": [40.0, 42.0, 5.0],
        }
    )
    supplb = pd.DataFrame(
        {
            "STUDYID": ["ST01"],
            "RDOMAIN": ["LB"],
            "USUBJID": [S1],
            "IDVAR": ["LBSEQ"],
            "IDVARVAL": ["1"],
            "QNAM": ["LBCLSIG"],
            "QLABEL": ["Clinically Significant"],
            "QVAL": ["N"],
        }
    )
    adsl = pd.DataFrame(
        {
            "STUDYID": ["ST01"] * 2,
            "USUBJID": [S1, S2],
            "SUBJID": ["1", "2"],
            "SITEID": ["01", "01"],
            "AGE": [34.0, 51.0],
            "AGEU": ["YEARS"] * 2,
            "SEX": ["F", "M"],
            "RACE": ["ASIAN"] * 2,
            "ARM": ["DOSE LEVEL 1"] * 2,
            "TRT01P": ["DOSE LEVEL 1"] * 2,
            "TRTSDT": [22000.0, 22005.0],  # one infusion each: first = last exposure
            "TRTEDT": [22000.0, 22005.0],
            "TRTSDTM": [22000.0 * DAY, 22005.0 * DAY],
            "TRTEDTM": [22000.0 * DAY, 22005.0 * DAY],
            "SAFFL": ["Y", "N"],
            "EFFFL": ["Y", "N"],
            "DTHFL": ["Y", None],  # not a population flag: Y or null is fine
        }
    )
    adlb = pd.DataFrame(
        {
            "STUDYID": ["ST01"] * 4,
            "USUBJID": [S1, S1, S1, S2],
            "ASEQ": [1.0, 2.0, 3.0, 1.0],
            "PARAMCD": ["ALB", "ALB", "ALB", "CRP"],
            "PARAM": ["Albumin (g/L)"] * 3 + ["C-Reactive Protein (mg/L)"],
            "AVAL": [40.0, 42.0, np.nan, 5.0],
            "AVALC": [None] * 4,
            "DTYPE": [None, None, "PHANTOM", None],  # a derived record may have no value
            "BASETYPE": ["LAST"] * 4,
            "ABLFL": ["Y", None, None, "Y"],
            "ANL01FL": ["Y", "Y", None, "Y"],
            "SRCDOM": ["LB", "LB", None, "LB"],
            "SRCVAR": ["LBSTRESN", "LBCLSIG", None, "LBSTRESN"],  # LBCLSIG: a SUPPLB QNAM
            "SRCSEQ": [1.0, 1.0, np.nan, 1.0],
        }
    )
    adtte = pd.DataFrame(
        {
            "STUDYID": ["ST01"] * 2,
            "USUBJID": [S1, S2],
            "PARAMCD": ["OS", "OS"],
            "PARAM": ["Overall Survival (days)"] * 2,
            "STARTDT": [22000.0, 22005.0],
            "ADT": [22029.0, 22049.0],
            "AVAL": [30.0, 45.0],
            "CNSR": [0.0, 2.0],  # 2: a coded censoring reason (positive integer)
            "SRCDOM": ["ADLB", "ADSL"],
            "SRCVAR": ["AVAL", "TRTSDT"],
            "SRCSEQ": [2.0, np.nan],  # ADLB ASEQ 2 of ST01-1; ADSL has no sequence
        }
    )
    return {"DM": dm, "LB": lb, "SUPPLB": supplb, "ADSL": adsl, "ADLB": adlb, "ADTTE": adtte}


def _metadata(name: str, frame: pd.DataFrame) -> DatasetMetadata:
    variables = {
        c: {
            "label": LABELS.get(c, c),
            "type": "Num" if pd.api.types.is_numeric_dtype(frame[c]) else "Char",
            "length": 8,
            "display_format": None,
        }
        for c in frame.columns
    }
    return DatasetMetadata(name, name, variables)


Example = dict[str, pd.DataFrame]


def _submission(
    frames: Example, labels: dict[tuple[str, str], str] | None = None, **options: object
) -> Submission:
    metadata = {n: _metadata(n, f) for n, f in frames.items() if n.startswith("AD")}
    for (name, variable), label in (labels or {}).items():
        metadata[name].variables[variable]["label"] = label
    return Submission.from_frames(frames, metadata, **options)  # type: ignore[arg-type]


Row = tuple[str, str, int | None, str, str]


def _findings(submission: Submission, rule_id: str) -> list[Row]:
    rule = next(r for r in CATALOG if r.id == rule_id)
    result = run_rules(submission, [rule])
    assert rule_id not in result.not_applied, result.not_applied
    assert len(result.counts), f"{rule_id} judged no dataset"
    assert not [f for f in result.findings if f.rule == "VAL-INTERNAL"], list(result.findings)
    found = [(f.rule, f.dataset, f.row, f.variable, f.value) for f in result.findings]
    return sorted(found, key=lambda r: (r[1], -1 if r[2] is None else r[2], r[3], r[4]))


def _set(name: str, row: int, variable: str, value: object) -> Callable[[Example], None]:
    """A change of one value: ``row`` is the 1-based record number."""

    def change(frames: Example) -> None:
        frames[name].loc[row - 1, variable] = value

    return change


def _repeat_subject(frames: Example) -> None:
    frames["ADSL"] = pd.concat([frames["ADSL"], frames["ADSL"].iloc[[1]]], ignore_index=True)


def _drop_dm_subject(frames: Example) -> None:
    frames["DM"] = frames["DM"].iloc[[0]]


def _last_exposure_first(frames: Example) -> None:
    frames["ADSL"].loc[1, ["TRTEDT", "TRTEDTM"]] = [22000.0, 22000.0 * DAY]


def _bad_population_flags(frames: Example) -> None:
    frames["ADSL"].loc[0, "SAFFL"] = "y"
    frames["ADSL"].loc[1, "EFFFL"] = None


def _long_paramcd(frames: Example) -> None:
    frames["ADTTE"]["PARAMCD"] = "OVERALLSV"


def _drop_required(frames: Example) -> None:
    frames["ADSL"] = frames["ADSL"].drop(columns="AGEU")
    frames["ADLB"] = frames["ADLB"].drop(columns=["AVAL", "AVALC"])


LONG_PARAM = "Overall Survival " + "x" * 184  # 201 characters

# rule id → (change making the example fail, expected (rule, dataset, row, variable, value) findings)
FAILING: dict[str, tuple[Callable[[Example], None], list[Row]]] = {
    "AD-ADSL-ONE": (_repeat_subject, [("AD-ADSL-ONE", "ADSL", 3, "USUBJID", S2)]),
    "AD-ADSL-DM": (_drop_dm_subject, [("AD-ADSL-DM", "ADSL", 2, "USUBJID", S2)]),
    "AD-SUBJ-ADSL": (
        _set("ADLB", 4, "USUBJID", "ST01-9"),
        [("AD-SUBJ-ADSL", "ADLB", 4, "USUBJID", "ST01-9")],
    ),
    "AD-TRTDT": (_last_exposure_first, [("AD-TRTDT", "ADSL", 2, "TRTSDT", "22005")]),
    "AD-TRTDTM": (_last_exposure_first, [("AD-TRTDTM", "ADSL", 2, "TRTSDTM", str(int(22005 * DAY)))]),
    "AD-POPFL": (
        _bad_population_flags,
        [("AD-POPFL", "ADSL", 1, "SAFFL", "y"), ("AD-POPFL", "ADSL", 2, "EFFFL", "")],
    ),
    "AD-FLAG": (_set("ADSL", 1, "DTHFL", "YES"), [("AD-FLAG", "ADSL", 1, "DTHFL", "YES")]),
    "AD-RECFL": (_set("ADLB", 3, "ANL01FL", "N"), [("AD-RECFL", "ADLB", 3, "ANL01FL", "N")]),
    "AD-PARAMCD-PARAM": (
        _set("ADLB", 2, "PARAM", "Albumin (mg/dL)"),
        [
            ("AD-PARAMCD-PARAM", "ADLB", 1, "PARAMCD", "ALB"),
            ("AD-PARAMCD-PARAM", "ADLB", 2, "PARAMCD", "ALB"),
        ],
    ),
    "AD-PARAMCD-LENGTH": (_long_paramcd, [("AD-PARAMCD-LENGTH", "ADTTE", 1, "PARAMCD", "OVERALLSV")]),
    "AD-PARAMCD-NAME": (
        _set("ADLB", 4, "PARAMCD", "1CRP"),
        [("AD-PARAMCD-NAME", "ADLB", 4, "PARAMCD", "1CRP")],
    ),
    "AD-PARAM-LENGTH": (
        _set("ADTTE", 2, "PARAM", LONG_PARAM),
        [("AD-PARAM-LENGTH", "ADTTE", 2, "PARAM", LONG_PARAM)],
    ),
    "AD-CNSR": (_set("ADTTE", 2, "CNSR", 0.5), [("AD-CNSR", "ADTTE", 2, "CNSR", "0.5")]),
    "AD-TTE-AVAL": (_set("ADTTE", 1, "AVAL", -3.0), [("AD-TTE-AVAL", "ADTTE", 1, "AVAL", "-3")]),
    "AD-ABLFL-ONE": (_set("ADLB", 2, "ABLFL", "Y"), [("AD-ABLFL-ONE", "ADLB", 2, "ABLFL", "Y")]),
    "AD-AVAL-AVALC": (_set("ADLB", 3, "DTYPE", None), [("AD-AVAL-AVALC", "ADLB", 3, "PARAMCD", "ALB")]),
    "AD-SRCDOM": (_set("ADLB", 4, "SRCDOM", "XX"), [("AD-SRCDOM", "ADLB", 4, "SRCDOM", "XX")]),
    "AD-SRCVAR": (_set("ADLB", 4, "SRCVAR", "LBSTRESX"), [("AD-SRCVAR", "ADLB", 4, "SRCVAR", "LB.LBSTRESX")]),
    "AD-SRCSEQ": (_set("ADLB", 4, "SRCSEQ", 7.0), [("AD-SRCSEQ", "ADLB", 4, "SRCSEQ", "7")]),
    "AD-REQ": (_drop_required, [("AD-REQ", "ADLB", None, "", ""), ("AD-REQ", "ADSL", None, "AGEU", "")]),
}
LABEL_CHANGES = {("ADSL", "SAFFL"): "Safety Flag", ("ADLB", "ANL01FL"): "Analysis Flag 1"}


def test_every_adam_rule_has_a_failing_example() -> None:
    assert sorted([*FAILING, "AD-LABEL"]) == sorted(ADAM_RULES)


@pytest.mark.parametrize("rule_id", ADAM_RULES)
def test_adam_rule_passes_on_the_conformant_example(rule_id: str) -> None:
    assert _findings(_submission(_frames()), rule_id) == []


@pytest.mark.parametrize("rule_id", sorted(FAILING))
def test_adam_rule_fails_on_its_example(rule_id: str) -> None:
    frames = _frames()
    change, expected = FAILING[rule_id]
    change(frames)
    assert _findings(_submission(frames), rule_id) == expected


def test_labels_differing_from_adamig_are_reported() -> None:
    # "Analysis Flag 1" is not "Analysis Flag 01" followed by sponsor text.
    assert _findings(_submission(_frames(), LABEL_CHANGES), "AD-LABEL") == [
        ("AD-LABEL", "ADLB", None, "ANL01FL", "Analysis Flag 1"),
        ("AD-LABEL", "ADSL", None, "SAFFL", "Safety Flag"),
    ]


def test_a_bad_population_flag_is_reported_once() -> None:
    # SAFFL "y" and EFFFL null break AD-POPFL; the general flag rule leaves population flags to it.
    frames = _frames()
    _bad_population_flags(frames)
    assert _findings(_submission(frames), "AD-FLAG") == []


def _messages(frames: Example, rule_id: str) -> list[str]:
    rule = next(r for r in CATALOG if r.id == rule_id)
    return [f.message for f in run_rules(_submission(frames), [rule]).findings]


def test_messages_say_what_is_wrong() -> None:
    frames = _frames()
    _bad_population_flags(frames)
    assert _messages(frames, "AD-POPFL") == [
        "SAFFL is 'y'; allowed: Y/N (1 record)",
        "EFFFL is null; allowed: Y/N (1 record)",
    ]
    frames = _frames()
    _set("ADLB", 2, "PARAM", "Albumin (mg/dL)")(frames)
    assert _messages(frames, "AD-PARAMCD-PARAM")[1] == (
        "PARAMCD ALB ↔ PARAM Albumin (mg/dL) is not one to one "
        "(PARAMCD ALB: PARAM Albumin (g/L), Albumin (mg/dL); PARAM Albumin (mg/dL): PARAMCD ALB)"
    )
    frames = _frames()
    _set("ADTTE", 1, "SRCSEQ", 9.0)(frames)
    assert _messages(frames, "AD-SRCSEQ") == ["no ADLB record with this USUBJID and ASEQ = SRCSEQ"]


def test_unknown_subject_is_reported_once_with_its_record_count() -> None:
    frames = _frames()
    frames["ADLB"].loc[[0, 1, 2], "USUBJID"] = "ST01-9"
    assert _messages(frames, "AD-SUBJ-ADSL") == ["USUBJID ST01-9 is not in ADSL (3 records)"]


def test_rules_needing_a_companion_or_the_ig_version_are_not_applied_without_them() -> None:
    frames = _frames()
    del frames["DM"]
    catalog = [r for r in CATALOG if r.id in ("AD-ADSL-DM", "AD-REQ")]
    result = run_rules(_submission(frames, ig_versions={"ADaM": "1.1"}), catalog)
    assert result.not_applied == {
        "AD-ADSL-DM": "companion dataset(s) DM missing",
        "AD-REQ": "judged against ADaMIG 1.3 metadata; the submission is ADaMIG 1.1",
    }


TRACEABILITY_RULES = ("AD-ADSL-ONE", "AD-ADSL-DM", "AD-SUBJ-ADSL", "AD-SRCDOM", "AD-SRCVAR", "AD-SRCSEQ")


def test_fixture_adam_traces_to_its_sdtm(sdtm, adam_datasets) -> None:  # type: ignore[no-untyped-def]
    # The built-in study: every ADaM subject is in ADSL and DM, and every SRCDOM/SRCVAR/SRCSEQ names an
    # existing SDTM record or ADaM row (ADTTE traces to ADRS/ADLB by ASEQ and to ADSL by variable).
    frames = {**sdtm.datasets, **adam_datasets}
    catalog = [r for r in CATALOG if r.id in TRACEABILITY_RULES]
    result = run_rules(Submission.from_frames(frames), catalog)
    assert [str(f) for f in result.findings] == []
    judged = result.counts.groupby("rule")["dataset"].nunique()
    assert judged["AD-SRCSEQ"] >= 6  # ADGC, ADLB, ADPC, ADPP, ADRS, ADTTE carry SRCSEQ
