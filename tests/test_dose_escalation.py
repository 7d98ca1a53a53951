"""The 3+3 dose-escalation report (cdisc168.adam.dose_escalation), checked by hand.

Fixture (ADSL/ADAE of fixtures/raw): DL1 has 3 DLT-evaluable subjects and no DLT; DL2 6 with one DLT
(02-0006, grade 4 neutropenia not recovered by day 28); DL3 12 with one DLT (03-0019, grade 4
thrombocytopenia not recovered by day 28). Every level is tolerated, so the MTD is not reached and the
rule-based RP2D is DL3, the highest level with >= 6 evaluable subjects and <= 1/6 DLT.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cdisc168.adam.adae import build_adae
from cdisc168.adam.adsl import build_adsl
from cdisc168.adam.dose_escalation import (
    ESCALATE,
    EXPAND,
    INCOMPLETE,
    MTD_EXCEEDED,
    NOT_ENROLLED,
    TABLE_COLUMNS,
    ThreePlusThree,
    compute_clopper_pearson,
    create_dose_escalation,
    decide_3plus3,
    dose_escalation_csv,
    dose_escalation_html,
    dose_escalation_markdown,
)
from cdisc168.study import Study


@pytest.fixture(scope="module")
def adam(sdtm, study: Study) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    adsl = build_adsl(sdtm.datasets, {}, study)
    return {"ADSL": adsl, "ADAE": build_adae(sdtm.datasets, {"ADSL": adsl}, study)}


# --- the 3+3 decision table (STUDY.md §3.2), every row ---------------------------------------------------


@pytest.mark.parametrize(
    ("evaluable", "with_dlt", "decision"),
    [
        (0, 0, NOT_ENROLLED),
        (1, 0, INCOMPLETE),
        (2, 1, INCOMPLETE),  # 1 of 2 so far: wait for the third subject
        (2, 2, MTD_EXCEEDED),  # already >= 2 of 3
        (3, 0, ESCALATE),  # 0/3
        (3, 1, EXPAND),  # 1/3
        (3, 2, MTD_EXCEEDED),  # >= 2/3
        (3, 3, MTD_EXCEEDED),
        (4, 0, ESCALATE),  # 0/3 met, a 4th subject without DLT changes nothing
        (4, 1, EXPAND),  # expanding: 1 DLT, 6 needed
        (5, 1, EXPAND),
        (5, 2, MTD_EXCEEDED),
        (6, 0, ESCALATE),  # <= 1/6
        (6, 1, ESCALATE),  # <= 1/6
        (6, 2, MTD_EXCEEDED),  # >= 2/6
        (12, 2, ESCALATE),  # expansion cohort: 2/12 = 1/6 still tolerated
        (7, 2, MTD_EXCEEDED),  # 2/7 > 1/6
        (12, 3, MTD_EXCEEDED),  # 3/12 > 1/6
    ],
)
def test_3plus3_decision_table(evaluable: int, with_dlt: int, decision: str) -> None:
    assert decide_3plus3(np.array([evaluable]), np.array([with_dlt]))[0] == decision


def test_3plus3_refuses_more_dlts_than_subjects() -> None:
    with pytest.raises(ValueError, match="with_dlt"):
        decide_3plus3(np.array([3]), np.array([4]))
    with pytest.raises(ValueError, match="cohort_size"):
        ThreePlusThree(cohort_size=6, expanded_size=6)


# --- Clopper-Pearson -------------------------------------------------------------------------------------


def test_clopper_pearson_known_values() -> None:
    # 1/6: lower = 1 - 0.975^(1/6) = 0.0042 (Beta(0.025; 1, 6)); upper = Beta(0.975; 2, 5) = 0.6412.
    # 0/3: upper = 1 - 0.025^(1/3) = 0.7076. 3/3: lower = 0.025^(1/3) = 0.2924, upper 1. n = 0: NaN.
    low, high = compute_clopper_pearson(np.array([1, 0, 3, 0]), np.array([6, 3, 3, 0]))
    assert low[0] == pytest.approx(1 - 0.975 ** (1 / 6), abs=1e-12)
    assert (round(low[0], 4), round(high[0], 4)) == (0.0042, 0.6412)
    assert (low[1], round(high[1], 4)) == (0.0, 0.7076)
    assert high[1] == pytest.approx(1 - 0.025 ** (1 / 3), abs=1e-12)
    assert (round(low[2], 4), high[2]) == (0.2924, 1.0)
    assert np.isnan(low[3]) and np.isnan(high[3])


def test_clopper_pearson_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="events"):
        compute_clopper_pearson(np.array([4]), np.array([3]))
    with pytest.raises(ValueError, match="level"):
        compute_clopper_pearson(np.array([1]), np.array([3]), level=95)


# --- on the fixture ----------------------------------------------------------------------------------------


def test_fixture_dose_escalation(adam: dict[str, pd.DataFrame], study: Study) -> None:
    result = create_dose_escalation(adam["ADSL"], adam["ADAE"], study)
    table = result.table
    assert tuple(table.columns) == TABLE_COLUMNS
    assert table["dose_level"].tolist() == ["DL1", "DL2", "DL3"]
    assert table["dose"].tolist() == [0.5, 1.0, 2.0]
    assert table["treated"].tolist() == [3, 6, 12]
    assert table["evaluable"].tolist() == [3, 6, 12]
    assert table["with_dlt"].tolist() == [0, 1, 1]
    assert table["investigator_dlt"].tolist() == [0, 1, 1]
    assert table["decision"].tolist() == [ESCALATE, ESCALATE, ESCALATE]
    assert table["dlt_rate"].round(4).tolist() == [0.0, 0.1667, 0.0833]
    assert (round(table["ci_lower"][1], 4), round(table["ci_upper"][1], 4)) == (0.0042, 0.6412)
    assert table["dlt_events"][1] == "CCAR168-AID-02-0006: Neutropenia (grade 4, HEMATOLOGIC)"
    assert table["dlt_events"][0] == ""
    assert result.mtd is None and "not reached" in result.mtd_text
    assert result.rp2d == "DL3"
    assert result.dlt_window_days == (0, 28)


# --- synthetic escalations ----------------------------------------------------------------------------------


def synthetic(study: Study, levels: dict[str, tuple[int, int]], not_evaluable: int = 0):  # type: ignore[no-untyped-def]
    """ADSL/ADAE with, per dose level, (evaluable, with a DLT) subjects; plus subjects who are treated
    but not DLT-evaluable and have a DLT (they must not count)."""
    adsl_rows, adae_rows = [], []
    for armcd, (n, x) in levels.items():
        for i in range(n + not_evaluable):
            usubjid = f"S-{armcd}-{i:02d}"
            evaluable = i < n
            adsl_rows.append(
                {"USUBJID": usubjid, "ACTARMCD": armcd, "SAFFL": "Y", "DLTEVLFL": "Y" if evaluable else "N"}
            )
            dlt = i < x or not evaluable
            adae_rows.append(
                {
                    "USUBJID": usubjid,
                    "AESEQ": 1.0,
                    "AEDECOD": "Cytokine release syndrome",
                    "ATOXGRN": 4.0 if dlt else 1.0,
                    "DLTFL": "Y" if dlt else None,
                    "DLTWFL": "Y",
                    "DLTCRIT": "CRS" if dlt else None,
                    "DLTINVFL": "Y" if dlt else None,
                }
            )
    adsl_rows.append({"USUBJID": "S-NOTTREATED", "ACTARMCD": None, "SAFFL": "N", "DLTEVLFL": "N"})
    return create_dose_escalation(pd.DataFrame(adsl_rows), pd.DataFrame(adae_rows), study)


def test_mtd_exceeded_at_the_top_level(study: Study) -> None:
    # DL1 0/3, DL2 1/6, DL3 2/3: MTD exceeded at DL3, MTD = DL2, RP2D = DL2 (6 evaluable, 1/6).
    result = synthetic(study, {"DL1": (3, 0), "DL2": (6, 1), "DL3": (3, 2)})
    assert result.table["decision"].tolist() == [ESCALATE, ESCALATE, MTD_EXCEEDED]
    assert (result.mtd, result.rp2d) == ("DL2", "DL2")
    assert "MTD exceeded at DL3" in result.mtd_text


def test_the_mtd_level_needs_six_subjects_to_be_recommended(study: Study) -> None:
    # DL1 0/3, DL2 0/3, DL3 2/6: MTD = DL2, but with 3 evaluable it cannot be the RP2D yet.
    result = synthetic(study, {"DL1": (3, 0), "DL2": (3, 0), "DL3": (6, 2)})
    assert (result.mtd, result.rp2d) == ("DL2", None)
    assert "not determined" in result.rp2d_text


def test_mtd_exceeded_at_the_lowest_level(study: Study) -> None:
    result = synthetic(study, {"DL1": (3, 2)})
    assert result.table["decision"].tolist() == [MTD_EXCEEDED, NOT_ENROLLED, NOT_ENROLLED]
    assert (result.mtd, result.rp2d) == (None, None)
    assert "lowest dose level DL1" in result.mtd_text


def test_expanding_level_makes_the_rp2d_provisional(study: Study) -> None:
    # DL1 1/6 tolerated, DL2 1/3 expanding: RP2D DL1 for now.
    result = synthetic(study, {"DL1": (6, 1), "DL2": (3, 1)})
    assert result.table["decision"].tolist() == [ESCALATE, EXPAND, NOT_ENROLLED]
    assert result.rp2d == "DL1" and "Provisional: DL2" in result.rp2d_text


def test_only_dlt_evaluable_subjects_count(study: Study) -> None:
    # 2 treated but not DLT-evaluable subjects per level, both with a DLT: not counted.
    result = synthetic(study, {"DL1": (3, 0), "DL2": (6, 1), "DL3": (6, 0)}, not_evaluable=2)
    assert result.table["treated"].tolist() == [5, 8, 8]
    assert result.table["evaluable"].tolist() == [3, 6, 6]
    assert result.table["with_dlt"].tolist() == [0, 1, 0]
    assert result.rp2d == "DL3"


def test_an_unknown_dose_level_is_refused(study: Study) -> None:
    adsl = pd.DataFrame({"USUBJID": ["S-1"], "ACTARMCD": ["DL9"], "SAFFL": ["Y"], "DLTEVLFL": ["Y"]})
    adae = pd.DataFrame(
        columns=["USUBJID", "AESEQ", "AEDECOD", "ATOXGRN", "DLTFL", "DLTWFL", "DLTCRIT", "DLTINVFL"]
    )
    with pytest.raises(ValueError, match="DL9"):
        create_dose_escalation(adsl, adae, study)


# --- writers -----------------------------------------------------------------------------------------------


def test_writers(adam: dict[str, pd.DataFrame], study: Study) -> None:
    result = create_dose_escalation(adam["ADSL"], adam["ADAE"], study)
    csv = dose_escalation_csv(result)
    lines = csv.splitlines()
    assert lines[0] == ",".join(TABLE_COLUMNS)
    assert lines[2].startswith(
        "DL2,1,C-CAR168 1.0x10^6 CAR+ T cells/kg,6,6,1,0.1667,0.0042,0.6412,ESCALATE,1,"
    )
    markdown = dose_escalation_markdown(result)
    assert "| DL2 | 1 | 6 | 6 | 1/6 (16.7%) | 0.4% - 64.1% | ESCALATE | 1 |" in markdown
    assert "Rule-based RP2D: DL3" in markdown and "MTD not reached" in markdown
    assert "3+3 design" in markdown
    page = dose_escalation_html(result)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<td>1/6 (16.7%)</td>" in page
    # deterministic: the same input gives the same text
    assert dose_escalation_html(create_dose_escalation(adam["ADSL"], adam["ADAE"], study)) == page


def test_html_escapes_text(study: Study) -> None:
    result = synthetic(study, {"DL1": (3, 1)})
    table = result.table.assign(dlt_events=["<script>x</script> & more", "", ""])
    page = dose_escalation_html(dataclasses.replace(result, table=table))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_no_dlt_at_all(adam: dict[str, pd.DataFrame], study: Study) -> None:
    result = create_dose_escalation(adam["ADSL"], adam["ADAE"].iloc[0:0], study)
    assert result.table["with_dlt"].tolist() == [0, 0, 0]
    assert result.table["dlt_events"].tolist() == ["", "", ""]
    # 0/12 at DL3: exact upper bound 1 - 0.025^(1/12) = 1 - 0.73535 = 0.26465.
    assert result.table["ci_upper"][2] == pytest.approx(0.26465, abs=1e-5)
    assert result.rp2d == "DL3"
