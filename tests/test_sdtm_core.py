"""SDTM core domains on the built-in fixture, checked the way a reviewer checks them by hand.

Each test finds its subject in the raw CSVs by what makes it special (the screen failure has ELIGFL N,
the LD-only subject has ld.csv rows but no infusion, ...) and works out the expected SDTM values from the
raw values, then compares.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cdisc168.standards.ig import sdtmig_domain_variables
from cdisc168.study import load_study

RAW = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
STUDY = load_study()


def raw(form: str) -> pd.DataFrame:
    return pd.read_csv(RAW / f"{form}.csv", dtype=str, keep_default_na=False)


def usubjid(row: pd.Series) -> str:
    return f"{STUDY.studyid}-{row['SITEID']}-{row['SUBJID']}"


@pytest.fixture(scope="module")
def dm(sdtm) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return sdtm.datasets["DM"].set_index("USUBJID")


def test_dm_reference_dates_of_an_infused_subject(dm: pd.DataFrame) -> None:
    """RFSTDTC = infusion start date-time; RFXSTDTC = first LD day; RFXENDTC = infusion (STUDY.md)."""
    infusion = raw("infusion").iloc[0]
    ld = raw("ld")
    first_ld = ld.loc[
        (ld["SITEID"] == infusion["SITEID"]) & (ld["SUBJID"] == infusion["SUBJID"]), "LDDT"
    ].min()
    record = dm.loc[usubjid(infusion)]
    assert record["RFSTDTC"] == f"{infusion['INFDT']}T{infusion['INFSTTM']}"
    assert record["RFXSTDTC"] == first_ld
    assert record["RFXENDTC"] == f"{infusion['INFDT']}T{infusion['INFSTTM']}"
    assert record["ACTARMCD"] == record["ARMCD"] == infusion["DOSELVL_PLAN"]
    assert pd.isna(record["ARMNRS"])


def test_dm_special_subjects_arms_and_armnrs(dm: pd.DataFrame) -> None:
    enrol = raw("enrol")
    infused = set(raw("infusion")["SUBJID"])
    lymphodepleted = set(raw("ld")["SUBJID"])

    screen_failure = enrol[enrol["ELIGFL"] == "N"].iloc[0]
    sf = dm.loc[usubjid(screen_failure)]
    assert sf["ARMNRS"] == "SCREEN FAILURE"
    assert pd.isna(sf["ARMCD"]) and pd.isna(sf["ACTARMCD"]) and pd.isna(sf["RFSTDTC"])

    ld_only = enrol[enrol["SUBJID"].isin(lymphodepleted - infused)].iloc[0]
    record = dm.loc[usubjid(ld_only)]
    first_ld = raw("ld").loc[raw("ld")["SUBJID"] == ld_only["SUBJID"], "LDDT"].min()
    assert record["ARMNRS"] == "UNPLANNED TREATMENT"
    assert record["ACTARMUD"] == "LYMPHODEPLETION ONLY"
    assert pd.isna(record["ACTARMCD"])
    assert record["RFSTDTC"] == first_ld  # no infusion: study day 1 is the first LD day
    assert record["ARMCD"] == ld_only["COHORT"]

    never = enrol[(enrol["ELIGFL"] == "Y") & ~enrol["SUBJID"].isin(lymphodepleted)].iloc[0]
    record = dm.loc[usubjid(never)]
    assert record["ARMNRS"] == "ASSIGNED, NOT TREATED"
    assert pd.isna(record["RFSTDTC"]) and pd.isna(record["RFXSTDTC"])
    assert record["ARMCD"] == never["COHORT"]


def test_dm_death_and_reference_end_dates_never_pass_the_data_cut(dm: pd.DataFrame) -> None:
    death = raw("death").iloc[0]
    record = dm.loc[usubjid(death)]
    assert record["DTHFL"] == "Y" and record["DTHDTC"] == death["DTHDT"]
    assert dm["DTHFL"].eq("Y").sum() == len(raw("death"))
    cut = STUDY.data_cut.isoformat()
    assert (dm["RFENDTC"].dropna() <= cut).all() and (dm["RFPENDTC"].dropna() <= cut).all()
    assert len(dm) == len(raw("enrol"))


def test_ae_count_equals_raw_aes_starting_within_the_cut(sdtm) -> None:  # type: ignore[no-untyped-def]
    ae_raw = raw("ae")
    after = ae_raw["AESTDT"].str.len().eq(10) & (ae_raw["AESTDT"] > STUDY.data_cut.isoformat())
    after |= ae_raw["AESTDT"].str.len().eq(7) & (ae_raw["AESTDT"] > STUDY.data_cut.isoformat()[:7])
    ae = sdtm.datasets["AE"]
    assert len(ae) == int((~after).sum())
    assert not ae.duplicated(["USUBJID", "AESEQ"]).any()
    assert (ae.groupby("USUBJID")["AESEQ"].min() == 1).all()


def test_partial_dates_are_kept_partial_and_have_no_study_day(sdtm) -> None:  # type: ignore[no-untyped-def]
    ae = sdtm.datasets["AE"]
    ae_raw = raw("ae")
    partial = ae_raw[ae_raw["AESTDT"].str.len() == 7].iloc[0]
    record = ae[(ae["USUBJID"] == usubjid(partial)) & (ae["AESPID"] == partial["AESPID"])].iloc[0]
    assert record["AESTDTC"] == partial["AESTDT"]  # e.g. "2024-05", never imputed
    assert pd.isna(record["AESTDY"])


def test_study_day_has_no_day_zero(sdtm, dm: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """AEDY/LBDY: day of infusion = 1, the day before = -1 (SDTMIG 3.4 §4.4.4)."""
    lb = sdtm.datasets["LB"]
    assert not (lb["LBDY"] == 0).any() and not (sdtm.datasets["AE"]["AESTDY"] == 0).any()
    subject = dm[dm["RFSTDTC"].str.len() > 10].index[0]
    start = dt.date.fromisoformat(dm.loc[subject, "RFSTDTC"][:10])
    rows = lb[(lb["USUBJID"] == subject) & lb["LBDTC"].notna()]
    for dtc, dy in zip(rows["LBDTC"], rows["LBDY"], strict=True):
        days = (dt.date.fromisoformat(dtc[:10]) - start).days
        assert dy == (days + 1 if days >= 0 else days)


def test_visitdy_is_the_planned_study_day(sdtm) -> None:  # type: ignore[no-untyped-def]
    tv = sdtm.datasets["TV"].set_index("VISIT")
    assert tv.loc["DAY 0 INFUSION", "VISITDY"] == 1
    assert tv.loc["DAY 7", "VISITDY"] == 8
    assert tv.loc["BASELINE", "VISITDY"] == -7
    lb = sdtm.datasets["LB"]
    day7 = lb[lb["VISIT"] == "DAY 7"]
    assert set(day7["VISITDY"]) == {8.0} and set(day7["VISITNUM"]) == {10.0}


def test_unscheduled_visits_follow_the_previous_scheduled_visit(sdtm) -> None:  # type: ignore[no-untyped-def]
    sv = sdtm.datasets["SV"]
    unscheduled = sv[sv["VISIT"].str.startswith("UNSCHEDULED")]
    assert len(unscheduled) >= 1
    for row in unscheduled.itertuples():
        before = sv[
            (sv["USUBJID"] == row.USUBJID) & (sv["SVSTDTC"] <= row.SVSTDTC) & (sv["VISITNUM"] % 1 == 0)
        ]
        assert round(row.VISITNUM - before["VISITNUM"].max(), 2) in (0.01, 0.02, 0.03)
    assert not sv.duplicated(["USUBJID", "VISITNUM"]).any()
    assert sv.groupby("VISIT")["VISITNUM"].nunique().max() == 1  # VISIT and VISITNUM one-to-one


def test_sv_presp_and_occur_mark_the_planned_visits(sdtm) -> None:  # type: ignore[no-untyped-def]
    """SDTMIG 3.4 SV assumption 4: SVPRESP "Y" for the planned visits (those of TV), SVOCCUR "Y" as they
    took place; both null for unplanned visits (unscheduled, early termination)."""
    sv = sdtm.datasets["SV"].set_index(["USUBJID", "VISITNUM"])
    s0006 = f"{STUDY.studyid}-02-0006"
    # 02-0006: DAY 7 (VISITNUM 10) as planned; unscheduled labs 2024-04-06 (lab.csv VISIT UNSCHEDULED)
    assert sv.loc[(s0006, 10.0), ["VISIT", "SVPRESP", "SVOCCUR"]].tolist() == ["DAY 7", "Y", "Y"]
    unscheduled = sv.loc[(s0006, 10.01)]
    assert (unscheduled["SVSTDTC"], unscheduled["SVUPDES"]) == ("2024-04-06", "Unscheduled visit")
    assert pd.isna(unscheduled["SVPRESP"]) and pd.isna(unscheduled["SVOCCUR"])
    # 02-0022: EARLY TERMINATION (VISITNUM 99, ds.csv 2025-01-31) is not a TV visit
    early = sv.loc[(f"{STUDY.studyid}-02-0022", 99.0)]
    assert early["SVSTDTC"] == "2025-01-31" and pd.isna(early["SVPRESP"]) and pd.isna(early["SVOCCUR"])
    # the screen failure 01-0021 attended SCREENING only
    assert sv.loc[f"{STUDY.studyid}-01-0021", ["SVPRESP", "SVOCCUR"]].values.tolist() == [["Y", "Y"]]
    planned = sv.index.get_level_values("VISITNUM").isin(sdtm.datasets["TV"]["VISITNUM"])
    assert set(sv.loc[planned, "SVPRESP"]) == set(sv.loc[planned, "SVOCCUR"]) == {"Y"}
    assert sv.loc[~planned, ["SVPRESP", "SVOCCUR"]].isna().all().all()


def test_tv_armcd_is_null_as_the_schedule_is_the_same_for_all_arms(sdtm) -> None:  # type: ignore[no-untyped-def]
    tv = sdtm.datasets["TV"]
    assert len(tv) == len(STUDY.visits) and tv["ARMCD"].isna().all()


def test_pcnam_is_present_and_null_as_the_form_does_not_collect_the_lab(sdtm) -> None:  # type: ignore[no-untyped-def]
    pc = sdtm.datasets["PC"]
    # 01-0017 BASELINE qPCR sample 2024-11-12T07:20, "<20" copies/ug gDNA (cartpk.csv line 2)
    first = pc[(pc["USUBJID"] == f"{STUDY.studyid}-01-0017") & (pc["PCTESTCD"] == "CARTDNA")].iloc[0]
    assert (first["PCDTC"], first["PCORRES"]) == ("2024-11-12T07:20", "<20")
    assert pd.isna(first["PCNAM"]) and pc["PCNAM"].isna().all()


@pytest.mark.parametrize("domain", ["SV", "TV", "PC"])
def test_variables_follow_the_sdtmig_order(sdtm, domain: str) -> None:  # type: ignore[no-untyped-def]
    """Standard variables in SDTMIG 3.4 order (class variables such as EPOCH are not in the domain list)."""
    order = {v.name: v.order for v in sdtmig_domain_variables(domain)}
    positions = [order[c] for c in sdtm.datasets[domain].columns if c in order]
    assert positions == sorted(positions)
    expected = {"SV": ("SVPRESP", "SVOCCUR"), "TV": ("ARMCD",), "PC": ("PCNAM",)}[domain]
    assert set(expected) <= set(sdtm.datasets[domain].columns)


def test_epoch_on_every_dated_record_from_the_first_element(sdtm) -> None:  # type: ignore[no-untyped-def]
    se = sdtm.datasets["SE"]
    first = se.groupby("USUBJID")["SESTDTC"].min()
    for name in ("AE", "EX", "LB", "PC"):
        data = sdtm.datasets[name]
        dtc = data[f"{name}STDTC" if name in ("AE", "EX") else f"{name}DTC"]
        dated = dtc.str.len().ge(10) & (dtc.str[:10] >= data["USUBJID"].map(first).str[:10])
        assert data.loc[dated, "EPOCH"].notna().all(), name
    ex = sdtm.datasets["EX"]
    assert set(ex.loc[ex["EXTRT"] == "C-CAR168", "EPOCH"]) == {"TREATMENT"}


def test_lb_standard_units_after_conversion(sdtm) -> None:  # type: ignore[no-untyped-def]
    """IgG in mg/dL -> g/L (x 0.01); creatinine mg/dL -> umol/L (x 88.42); pg/mL -> ng/L (STUDY.md §6.5)."""
    lb = sdtm.datasets["LB"]
    creat = lb[(lb["LBTESTCD"] == "CREAT") & (lb["LBORRESU"] == "mg/dL")].iloc[0]
    assert creat["LBSTRESU"] == "umol/L"
    assert creat["LBSTRESN"] == pytest.approx(float(creat["LBORRES"]) * 88.42)
    ig = lb[lb["LBTESTCD"].isin(["IGG", "IGA", "IGM", "C3", "C4"]) & (lb["LBORRESU"] == "mg/dL")].iloc[0]
    assert ig["LBSTRESU"] == "g/L"
    assert ig["LBSTRESN"] == pytest.approx(float(ig["LBORRES"]) / 100)
    il6 = lb[(lb["LBTESTCD"] == "INTLK6") & lb["LBSTRESN"].notna()].iloc[0]
    assert il6["LBORRESU"] == "ng/L" and il6["LBSTRESU"] == "ng/L"  # collected as pg/mL (a synonym of ng/L)
    assert il6["LBSTRESN"] == pytest.approx(float(il6["LBORRES"]))


def test_below_lloq_keeps_the_collected_text(sdtm) -> None:  # type: ignore[no-untyped-def]
    """PCORRES "<20" stays; PCSTRESC "<20"; PCSTRESN null; PCLLOQ 20 (STUDY.md "Decisions")."""
    pc = sdtm.datasets["PC"]
    blq = pc[(pc["PCTESTCD"] == "CARTDNA") & pc["PCORRES"].str.startswith("<")].iloc[0]
    assert blq["PCORRES"] == "<20" and blq["PCSTRESC"] == "<20"
    assert pd.isna(blq["PCSTRESN"]) and blq["PCLLOQ"] == 20
    assert blq["PCSTRESU"] == "DNA copies/ug"
    assert (pc.loc[pc["PCTESTCD"] == "CARTDNA", "PCTPTREF"] == "C-CAR168 INFUSION").all()


def test_supp_records_resolve_to_their_parent(sdtm) -> None:  # type: ignore[no-untyped-def]
    for parent in ("AE", "EX", "LB"):
        supp = sdtm.datasets[f"SUPP{parent}"]
        data = sdtm.datasets[parent]
        keys = set(zip(data["USUBJID"], data[f"{parent}SEQ"].map("{:.0f}".format), strict=True))
        assert set(zip(supp["USUBJID"], supp["IDVARVAL"], strict=True)) <= keys, parent
        assert set(supp["IDVAR"]) == {f"{parent}SEQ"}
    suppae = sdtm.datasets["SUPPAE"]
    scale = suppae[suppae["QNAM"] == "TOXGRSCL"]
    crs = sdtm.datasets["AE"][sdtm.datasets["AE"]["AEDECOD"] == "Cytokine release syndrome"]
    crs_keys = set(zip(crs["USUBJID"], crs["AESEQ"].map("{:.0f}".format), strict=True))
    assert (
        set(
            scale.loc[scale["QVAL"] == "ASTCT 2019", ["USUBJID", "IDVARVAL"]].itertuples(
                index=False, name=None
            )
        )
        >= crs_keys
    )


def test_long_verbatim_term_continues_in_suppae(sdtm) -> None:  # type: ignore[no-untyped-def]
    """SDTMIG 3.4 §4.5.3.2: the first part stays in AETERM, the rest in SUPPAE AETERM1.."""
    long_raw = raw("ae")
    long_raw = long_raw[long_raw["AETERM"].str.len() > 200].iloc[0]
    ae = sdtm.datasets["AE"]
    record = ae[(ae["USUBJID"] == usubjid(long_raw)) & (ae["AESPID"] == long_raw["AESPID"])].iloc[0]
    suppae = sdtm.datasets["SUPPAE"]
    rest = suppae[
        (suppae["USUBJID"] == record["USUBJID"])
        & (suppae["IDVARVAL"] == f"{record['AESEQ']:.0f}")
        & suppae["QNAM"].str.match(r"^AETERM\d$")
    ].sort_values("QNAM")
    assert len(record["AETERM"]) <= 200
    assert record["AETERM"] + "".join(rest["QVAL"]) == long_raw["AETERM"]
