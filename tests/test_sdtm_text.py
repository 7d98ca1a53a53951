"""SDTM text rules: ASCII transliteration (FDA TCG, XPT v5) and long text (SDTMIG 3.4 §4.5.3.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc168.findings import Severity
from cdisc168.sdtm.text import (
    RULE_NONASCII,
    RULE_TRANSLIT,
    TRANSLITERATION,
    ascii_check,
    continuation_columns,
    split_long_text,
    split_to_supp,
    supp_qlabels,
    supp_qnams,
    text_findings,
    transliterate,
    transliteration_table,
    ts_value_columns,
)

AETERM_LABEL = "Reported Term for the Adverse Event"


def _one(text: str) -> str:
    return transliterate(pd.Series([text])).values.iloc[0]


def _parts(row: pd.Series) -> list[str]:
    return [part for part in row.tolist() if isinstance(part, str)]


# --- transliteration -------------------------------------------------------------------------------


def test_sjogren_is_transliterated_with_one_warning_naming_where_and_both_values() -> None:
    # Subject CCAR168-AID-01-0003, MH record 4: the investigator typed the eponym with its umlaut.
    terms = pd.Series(["SYSTEMIC LUPUS ERYTHEMATOSUS", "Sjögren-like sicca"], name="MHTERM")
    result = transliterate(terms)

    assert result.values.tolist() == ["SYSTEMIC LUPUS ERYTHEMATOSUS", "Sjogren-like sicca"]
    assert result.changed.tolist() == [False, True]
    assert result.untransliterable.tolist() == [False, False]

    findings = text_findings(
        result, "MH", "MHTERM", rows=[3, 4], usubjid=["CCAR168-AID-01-0003"] * 2, seq=[3.0, 4.0]
    )
    assert len(findings) == 1
    (f,) = findings
    assert (f.rule, f.severity) == (RULE_TRANSLIT, Severity.WARNING)
    assert (f.dataset, f.variable, f.row, f.usubjid, f.seq) == ("MH", "MHTERM", 4, "CCAR168-AID-01-0003", 4.0)
    assert f.value == "Sjögren-like sicca"
    assert f.message == (
        "non-ASCII text transliterated to ASCII: 'Sjögren-like sicca' -> 'Sjogren-like sicca'"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Herpes zoster – thoracic", "Herpes zoster - thoracic"),  # en dash
        ("CRS — grade 2", "CRS - grade 2"),  # em dash
        ("IL-6 ≥ 40 pg/mL", "IL-6 >= 40 pg/mL"),
        ("CRP ≤ 5 mg/L", "CRP <= 5 mg/L"),
        ("µg", "ug"),  # U+00B5 micro sign
        ("\u03bcg/L", "ug/L"),  # U+03BC Greek small mu
        ("\u039cG", "UG"),  # "µg".upper(): Greek capital mu
        ("β2-microglobulin", "beta2-microglobulin"),
        ("IFN-γ", "IFN-gamma"),
        ("TNF-Α", "TNF-ALPHA"),  # Greek capital alpha in upper-case text
        ("κ/λ ratio", "kappa/lambda ratio"),
        ("naïve café", "naive cafe"),  # NFKD: combining marks dropped
        ("Straße", "Strasse"),
        ("Bjørn Łukasz", "Bjorn Lukasz"),
        ("‘single’ “double”", "'single' \"double\""),
        ("wait…", "wait..."),
        ("38\u00a0kg", "38 kg"),  # no-break space
        ("x\u200by", "xy"),  # zero-width space removed
        ("• rash", "- rash"),
        ("3×/day", "3x/day"),
        ("5 ± 2", "5 +/- 2"),
        ("WBC 4.5×10⁹/L", "WBC 4.5x10^9/L"),  # superscript power after 10
        ("10⁻³", "10^-3"),
        ("BSA 1.8 m²", "BSA 1.8 m2"),  # superscript elsewhere: plain digits (UNIT "kg/m2")
        ("38.5°C", "38.5C"),  # degree sign before C is dropped (UNIT "C")
        ("37 ℃", "37 C"),
        ("flexion 90°", "flexion 90deg"),
        ("1½ tablets", "1 1/2 tablets"),
        ("ﬁbrosis", "fibrosis"),  # ligature, NFKD
        ("ＣＲＳ", "CRS"),  # fullwidth letters, NFKD
        ("line one\r\nline two\tend", "line one line two end"),
    ],
)
def test_transliteration_rules(raw: str, expected: str) -> None:
    assert _one(raw) == expected


def test_cjk_text_is_kept_and_reported_as_an_error_naming_the_code_points() -> None:
    # 头痛 = "headache" typed in Chinese: there is no ASCII spelling, so the value is not touched.
    terms = pd.Series(["HEADACHE", "头痛", "头痛 (headache) – severe"], name="AETERM")
    result = transliterate(terms)

    assert result.values.tolist() == terms.tolist()  # not even the en dash of row 3 is converted
    assert result.untransliterable.tolist() == [False, True, True]
    assert result.changed.tolist() == [False, False, False]
    assert not result.values.str.contains("?", regex=False).any()

    findings = text_findings(result, "AE", "AETERM", rows=[1, 2, 3])
    assert [(f.rule, f.severity, f.row) for f in findings] == [
        (RULE_NONASCII, Severity.ERROR, 2),
        (RULE_NONASCII, Severity.ERROR, 3),
    ]
    assert findings[0].value == "头痛"
    assert findings[0].message == (
        "text cannot be transliterated to ASCII (characters U+5934 U+75DB); it is not replaced"
    )
    assert "U+2013" not in findings[1].message  # the en dash could be transliterated


def test_emoji_and_control_characters_cannot_be_transliterated() -> None:
    result = transliterate(pd.Series(["feels 😀", "bell\x07"]))
    assert result.untransliterable.tolist() == [True, True]
    messages = [f.message for f in text_findings(result, "AE", "AETERM")]
    assert "U+1F600" in messages[0]
    assert "U+0007" in messages[1]


def test_tab_is_replaced_with_a_message_about_control_characters() -> None:
    result = transliterate(pd.Series(["NAUSEA\tVOMITING"]))
    (f,) = text_findings(result, "AE", "AETERM")
    assert result.values.iloc[0] == "NAUSEA VOMITING"
    assert f.message == "control characters replaced by spaces: 'NAUSEA\\tVOMITING' -> 'NAUSEA VOMITING'"


def test_missing_values_stay_missing_and_are_not_flagged() -> None:
    result = transliterate(pd.Series(["é", None, np.nan], dtype=object))
    assert result.values.iloc[0] == "e"
    assert result.values.iloc[1:].isna().all()
    assert result.changed.tolist() == [True, False, False]
    assert result.untransliterable.tolist() == [False, False, False]


def test_input_is_not_modified_and_index_and_dtype_are_kept() -> None:
    terms = pd.Series(["Sjögren", "ok"], index=[10, 20], name="MHTERM")
    before = terms.copy()
    result = transliterate(terms)
    pd.testing.assert_series_equal(terms, before)
    assert result.values.index.tolist() == [10, 20]
    assert result.values.dtype == terms.dtype
    assert result.changed.index.tolist() == [10, 20]

    as_object = transliterate(terms.astype(object))
    assert as_object.values.dtype == object
    assert as_object.values.tolist() == ["Sjogren", "ok"]


def test_rows_default_to_record_number_and_must_align() -> None:
    result = transliterate(pd.Series(["ok", "Sjögren"]))
    assert [f.row for f in result.findings("MH", "MHTERM")] == [2]
    with pytest.raises(ValueError, match="rows has 1 items, expected 2"):
        text_findings(result, "MH", "MHTERM", rows=[1])


def test_non_text_values_are_refused() -> None:
    with pytest.raises(TypeError, match="values must hold text"):
        transliterate(pd.Series([1, 2]))
    with pytest.raises(TypeError, match="values must be a pandas Series"):
        transliterate(["a"])  # type: ignore[arg-type]


def test_table_gives_printable_ascii_and_never_a_question_mark() -> None:
    for char, ascii_text in TRANSLITERATION.items():
        assert ord(char) > 0x7E, char
        assert all(" " <= c <= "~" for c in ascii_text), char
        assert "?" not in ascii_text, char
    table = transliteration_table()
    assert len(table) == len(TRANSLITERATION)
    assert table.set_index("code_point").loc["U+2264", "ascii"] == "<="


def test_one_million_mostly_ascii_rows() -> None:
    # The realistic shape of a large domain: nearly all plain ASCII, a few typed on a foreign keyboard.
    n = 1_000_000
    values = pd.Series(np.where(np.arange(n) % 2 == 0, "HEADACHE", "PYREXIA"), dtype="str")
    values.iloc[[7, 500_001]] = "Sjögren"
    values.iloc[999_999] = "头痛"
    result = transliterate(values)
    assert int(result.changed.sum()) == 2
    assert int(result.untransliterable.sum()) == 1
    assert result.values.iloc[500_001] == "Sjogren"
    assert result.values.iloc[0] == "HEADACHE"
    findings = text_findings(result, "AE", "AETERM")
    assert [f.row for f in findings] == [8, 500_002, 1_000_000]


# --- ascii_check -----------------------------------------------------------------------------------


def test_ascii_check_is_printable_ascii_only() -> None:
    values = pd.Series(["plain ~ text", "tab\there", "del\x7f", "é", "", None], index=list("abcdef"))
    assert ascii_check(values).tolist() == [True, False, False, False, True, True]
    assert ascii_check(values).index.tolist() == list("abcdef")
    assert ascii_check(values.astype(object)).tolist() == [True, False, False, False, True, True]
    assert ascii_check(pd.Series([1.5, 2.0])).all()


# --- long text -------------------------------------------------------------------------------------

# 450 characters of words: "word000 word001 ... " (8 characters per word with its space)
LONG_450 = " ".join(f"word{i:03d}" for i in range(57))[:450]


def test_450_characters_split_into_three_parts_between_words_and_rejoin_exactly() -> None:
    parts = split_long_text(pd.Series([LONG_450]))
    row = _parts(parts.iloc[0])

    assert len(LONG_450) == 450
    assert len(row) == 3
    assert all(len(part) <= 200 for part in row)
    # Words are 7 characters + a space: the last space at or before position 200 is at 199, so the
    # first part is characters 0..198 ("... word024") and the space opens the continuation.
    assert row[0].endswith("word024")
    assert LONG_450[len(row[0])] == " "
    assert row[1].startswith(" word025")
    assert "".join(row) == LONG_450


def test_200_characters_are_not_split() -> None:
    parts = split_long_text(pd.Series(["x" * 200, "short"]))
    assert list(parts.columns) == [0]
    assert parts[0].tolist() == ["x" * 200, "short"]


def test_a_single_250_character_word_is_split_hard_at_200() -> None:
    parts = split_long_text(pd.Series(["y" * 250]))
    assert _parts(parts.iloc[0]) == ["y" * 200, "y" * 50]


def test_runs_of_spaces_and_short_values_rejoin_exactly() -> None:
    values = pd.Series(["a" * 199 + "   " + "b" * 300, "short", None, "c " * 300])
    parts = split_long_text(values)
    assert parts.index.equals(values.index)
    for i, original in values.items():
        row = _parts(parts.loc[i])
        if pd.isna(original):
            assert row == []
            continue
        assert "".join(row) == original
        assert all(len(part) <= 200 for part in row)
    # the run of three spaces opens the continuation, the first part ends on the word
    assert parts.loc[0, 0] == "a" * 199
    assert parts.loc[0, 1].startswith("   b")
    assert parts.loc[1, 1] is None or pd.isna(parts.loc[1, 1])


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        split_long_text(pd.Series(["a"]), limit=0)


def test_aeterm_continuations_are_named_aeterm1_aeterm2_with_the_parent_label() -> None:
    # SDTMIG 3.4 §4.5.3.2: QNAM = variable name + 1-digit integer; QLABEL = the variable's label.
    assert supp_qnams("AETERM", 2) == ["AETERM1", "AETERM2"]
    assert supp_qlabels(AETERM_LABEL, 2) == [AETERM_LABEL, AETERM_LABEL]
    assert supp_qnams("AETERM", 0) == []


def test_eight_character_names_replace_their_last_character() -> None:
    assert supp_qnams("AEACNOTH", 2) == ["AEACNOT1", "AEACNOT2"]
    # beyond the IG's single digit the name is shortened to keep 8 characters
    assert supp_qnams("AEACNOTH", 10)[-1] == "AEACNO10"
    assert supp_qnams("AETERM", 10)[-1] == "AETERM10"


def test_bad_names_and_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="SDTM variable name"):
        supp_qnams("aeterm", 1)
    with pytest.raises(ValueError, match="SDTM variable name"):
        supp_qnams("AETERMLONG", 1)
    with pytest.raises(ValueError, match="at most 40 characters"):
        supp_qlabels("x" * 41, 1)


def test_split_to_supp_builds_one_record_per_continuation() -> None:
    # AE record 2 of subject 01-0002 has a 450-character verbatim term; record 1 is short.
    terms = pd.Series(["CYTOKINE RELEASE SYNDROME", LONG_450], index=[11, 12], name="AETERM")
    split = split_to_supp(terms, "AETERM", AETERM_LABEL)

    assert split.parent.tolist() == ["CYTOKINE RELEASE SYNDROME", LONG_450[:199]]
    assert split.parent.index.tolist() == [11, 12]
    assert split.supp.index.tolist() == [12, 12]
    assert split.supp["QNAM"].tolist() == ["AETERM1", "AETERM2"]
    assert split.supp["QLABEL"].tolist() == [AETERM_LABEL, AETERM_LABEL]
    assert split.parent.loc[12] + "".join(split.supp["QVAL"]) == LONG_450


def test_split_to_supp_without_long_text_has_no_records() -> None:
    split = split_to_supp(pd.Series(["SHORT"]), "AETERM", AETERM_LABEL)
    assert split.supp.empty
    assert list(split.supp.columns) == ["QNAM", "QLABEL", "QVAL"]


def test_tsval_of_a_500_character_objective_continues_in_tsval1_and_tsval2() -> None:
    # TS assumption 4: TSVAL over 200 characters continues in TSVAL1..TSVALn columns of TS itself.
    objective = ("To assess the safety and tolerability of C-CAR168 in refractory autoimmune disease. " * 6)[
        :500
    ]
    values = pd.Series(["Phase I", objective])
    columns = ts_value_columns(values)

    assert list(columns.columns) == ["TSVAL", "TSVAL1", "TSVAL2"]
    assert columns.loc[0, "TSVAL"] == "Phase I"
    assert columns.loc[0, ["TSVAL1", "TSVAL2"]].isna().all()
    row = _parts(columns.loc[1])
    assert all(len(part) <= 200 for part in row)
    assert "".join(row) == objective


def test_ts_value_columns_only_as_many_as_needed() -> None:
    assert list(ts_value_columns(pd.Series(["x" * 201])).columns) == ["TSVAL", "TSVAL1"]
    assert list(ts_value_columns(pd.Series(["x"])).columns) == ["TSVAL"]
    assert list(continuation_columns(pd.Series(["c" * 401]), "COVAL").columns) == [
        "COVAL",
        "COVAL1",
        "COVAL2",
    ]
