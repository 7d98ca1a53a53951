"""Synthetic core and safety forms, read as a clinical reviewer would: each test is one check of the data
against the protocol, STUDY.md §4 or another form (the default fixture, 24 subjects, seed 168; rates on
500 subjects)."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from cdisc168.raw.contracts import check_form_contract
from cdisc168.raw.forms import load_forms
from cdisc168.raw.synth import core_forms, safety
from cdisc168.raw.synth.context import SynthContext, stream
from cdisc168.raw.synth.subjects import make_subjects
from cdisc168.raw.synth.visits import make_visits
from cdisc168.study import load_study

GENERATORS = {**core_forms.GENERATORS, **safety.GENERATORS}
CRITERIA = ["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"]
KEY = ["SITEID", "SUBJID"]
FAR_FUTURE = pd.Timestamp("2100-01-01")


def _context(n: int, seed: int = 168) -> SynthContext:
    study = load_study()
    subjects = make_subjects(stream(seed, "subjects"), n, study)
    return SynthContext(
        study=study, seed=seed, subjects=subjects, visits=make_visits(stream(seed, "visits"), subjects, study)
    )


def _generate(ctx: SynthContext) -> dict[str, pd.DataFrame]:
    return {name: fn(ctx) for name, fn in GENERATORS.items()}


@pytest.fixture(scope="module")
def fixture_ctx() -> SynthContext:
    return _context(24)


@pytest.fixture(scope="module")
def fx(fixture_ctx: SynthContext) -> dict[str, pd.DataFrame]:
    return _generate(fixture_ctx)


@pytest.fixture(scope="module")
def big_ctx() -> SynthContext:
    return _context(500)


@pytest.fixture(scope="module")
def big(big_ctx: SynthContext) -> dict[str, pd.DataFrame]:
    return _generate(big_ctx)


def _subjects(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["SITEID"], frame["SUBJID"], strict=True))


def _path(ctx: SynthContext, *paths: str) -> set[tuple[str, str]]:
    return _subjects(ctx.subjects[ctx.subjects["PATH"].isin(paths)])


def _with_backbone(frame: pd.DataFrame, ctx: SynthContext) -> pd.DataFrame:
    s = ctx.subjects.assign(LASTDT=ctx.subjects["D0"] + pd.to_timedelta(ctx.subjects["LASTDAY"], unit="D"))
    return frame.merge(s, on=KEY, how="left", suffixes=("", "_BB"))


def _full(dates: pd.Series) -> pd.Series:
    """ISO dates to datetime; a partial YYYY-MM date becomes NaT."""
    return pd.to_datetime(dates.where(dates.str.len() == 10), format="%Y-%m-%d")


def _month_start(dates: pd.Series) -> pd.Series:
    """The first day of each date's month (full or partial ISO dates)."""
    return pd.to_datetime(dates.str[:7] + "-01", format="%Y-%m-%d")


def _astct_crs_grade(day: pd.DataFrame) -> pd.Series:
    """ASTCT 2019 CRS grade of a day (Lee 2019, table in STUDY.md §2.9): the worse of hypotension and
    hypoxia, given fever; grade 1 is fever alone."""
    pressors = day["VASOPRESSOR_N"].astype(int)
    hypotension = np.select([pressors >= 2, pressors == 1], [4, 3], 0)
    hypoxia = day["O2_DEVICE"].map(
        {
            "NONE": 0,
            "LFNC": 2,
            "HFNC": 3,
            "FACEMASK": 3,
            "NRB": 3,
            "VENTURI": 3,
            "CPAP": 4,
            "BIPAP": 4,
            "MV": 4,
        }
    )
    fever = np.where(day["TMAX_C"] >= 38.0, 1, 0)
    return pd.Series(np.maximum.reduce([fever, hypotension, hypoxia.to_numpy()]), index=day.index)


def _astct_icans_grade(day: pd.DataFrame) -> pd.Series:
    """ASTCT 2019 ICANS grade of a day: the most severe of ICE score, consciousness, seizure, motor."""
    ice = day["ICE_SCORE"].astype(int)
    by_ice = np.select([ice >= 10, ice >= 7, ice >= 3], [0, 1, 2], 3)
    consciousness = day["CONSCIOUSNESS"].map(
        {"AWAKENS SPONTANEOUSLY": 1, "AWAKENS TO VOICE": 2, "AWAKENS TO TOUCH": 3, "UNAROUSABLE": 4}
    )
    seizure = np.where(day["SEIZURE"] == "Y", 3, 0)
    motor = np.where(day["MOTOR"] == "Y", 4, 0)
    return pd.Series(
        np.maximum.reduce([by_ice, consciousness.fillna(0).to_numpy(), seizure, motor]), index=day.index
    )


# --- contracts and text --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["fx", "big"])
def test_every_form_passes_its_input_contract(size: str, request: pytest.FixtureRequest) -> None:
    """Written to CSV and read back as text, every form meets mappings/raw/forms.yaml (columns, types,
    coded values, ranges, required values, visit names)."""
    frames = request.getfixturevalue(size)
    forms = load_forms()
    study = load_study()
    for name, frame in frames.items():
        text = pd.read_csv(io.StringIO(frame.to_csv(index=False)), dtype=str, keep_default_na=False)
        findings = check_form_contract(text.replace("", None), forms[name], study).findings
        assert findings == [], (name, [str(f) for f in findings[:5]])


def test_text_rules_are_exercised_without_cjk(fx: dict[str, pd.DataFrame]) -> None:
    """The SDTM text rules need a non-ASCII verbatim (transliterable) and one longer than 200 characters;
    the default fixture never holds CJK text (that would be an error finding downstream)."""
    terms = fx["ae"]["AETERM"]
    assert (terms.str.len() > 200).any()
    assert terms.map(lambda t: not t.isascii()).any()
    cjk = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
    for name, frame in fx.items():
        text = frame.select_dtypes(exclude="number").astype(str)
        assert not text.apply(lambda c: c.str.contains(cjk)).any().any(), name


# --- enrolment, demography, history --------------------------------------------------------------------


def test_screen_failures_have_screening_forms_only(
    fx: dict[str, pd.DataFrame], fixture_ctx: SynthContext
) -> None:
    failures = _path(fixture_ctx, "SCREEN FAILURE")
    assert failures
    screening_forms = {"enrol", "dm", "ds", "mh", "dxhist"}
    for name, frame in fx.items():
        if name not in screening_forms:
            assert not (_subjects(frame) & failures), name
    ds = fx["ds"][fx["ds"]["SUBJID"].isin({s for _, s in failures})]
    assert (ds["DSDECOD"] == "SCREEN FAILURE").all() and (ds["EPOCH_LEFT"] == "SCREENING").all()
    enrol = fx["enrol"].set_index("SUBJID")
    failed = enrol.loc[sorted(s for _, s in failures)]
    assert (failed["ELIGFL"] == "N").all() and failed["IEFAILCD"].str.fullmatch(r"(IN|EX)[0-9]{2}").all()
    assert failed["COHORT"].isna().all() and failed["SCRFDT"].notna().all()


def test_age_is_the_completed_years_between_birth_and_consent(big: dict[str, pd.DataFrame]) -> None:
    dm = big["dm"].merge(big["enrol"][[*KEY, "ICDT"]], on=KEY)
    dm = dm[dm["BRTHDT"].notna()]
    birth, consent = pd.to_datetime(dm["BRTHDT"]), pd.to_datetime(dm["ICDT"])
    before_birthday = (consent.dt.month * 100 + consent.dt.day) < (birth.dt.month * 100 + birth.dt.day)
    age = consent.dt.year - birth.dt.year - before_birthday.astype(int)
    assert (age == dm["AGE"]).all()
    assert big["dm"]["BRTHDT"].isna().mean() < 0.2, "age only for a few"
    assert (
        (big["dm"][["RACE", "ETHNIC", "COUNTRY"]] == ["ASIAN", "NOT HISPANIC OR LATINO", "CHN"]).all().all()
    )


def test_serostatus_and_classification_fit_the_indication(big: dict[str, pd.DataFrame]) -> None:
    dx = big["dxhist"].merge(big["enrol"][[*KEY, "INDICAT"]], on=KEY)
    expected = {
        "SLE": {"dsDNA+"},
        "LN": {"dsDNA+"},
        "NMOSD": {"AQP4+"},
        "MG": {"AChR+", "MuSK+"},
        "IMNM": {"HMGCR+", "SRP+"},
    }
    for indication, sero in expected.items():
        assert set(dx.loc[dx["INDICAT"] == indication, "SERO"]) <= sero, indication
    assert dx.loc[dx["INDICAT"] == "NMOSD", "CLASSCRIT"].str.contains("2015 IPND").all()
    assert dx.loc[dx["INDICAT"] == "RRMS", "CLASSCRIT"].str.contains("2017 McDonald").all()
    assert dx.loc[dx["INDICAT"].isin(["SLE", "LN"]), "CLASSCRIT"].str.contains("2019 EULAR/ACR SLE").all()
    assert dx["MGFA_CLASS"].notna().eq(dx["INDICAT"] == "MG").all()
    assert dx["LN_CLASS"].notna().eq(dx["INDICAT"] == "LN").all()
    assert (dx["N_PRIOR_IS"] >= 2).all(), "refractory population"
    rtx = dx[dx["PRIOR_RTX"] == "Y"].merge(big["enrol"][[*KEY, "ICDT"]], on=KEY)
    assert (pd.to_datetime(rtx["PRIOR_RTX_DT"]) < pd.to_datetime(rtx["ICDT"])).all()


def test_every_subject_has_the_primary_diagnosis_in_medical_history(big: dict[str, pd.DataFrame]) -> None:
    primary = big["enrol"]["INDICAT"].map(core_forms.PRIMARY_TERM)
    have = set(zip(big["mh"]["SUBJID"], big["mh"]["MHTERM"], strict=True))
    assert all((s, t) in have for s, t in zip(big["enrol"]["SUBJID"], primary, strict=True))


# --- treatment -----------------------------------------------------------------------------------------


def test_manufacturing_failed_exactly_for_the_never_treated(
    fx: dict[str, pd.DataFrame], fixture_ctx: SynthContext
) -> None:
    apher = fx["apher"]
    failed = apher[apher["MFGSTAT"] == "FAILED"]
    assert _subjects(failed) == _path(fixture_ctx, "NOT TREATED")
    assert (
        failed["MFGFAILRS"].notna().all()
        and apher.loc[apher["MFGSTAT"] == "RELEASED", "MFGFAILRS"].isna().all()
    )
    assert _subjects(apher) == _path(fixture_ctx, "NOT TREATED", "LD ONLY", "INFUSED")


def test_lymphodepletion_rows_on_days_minus5_to_minus3_with_mosteller_dose(
    big: dict[str, pd.DataFrame], big_ctx: SynthContext
) -> None:
    """Fludarabine 25 and cyclophosphamide 300 mg/m2 (study.yaml) on D-5..D-3; BSA by Mosteller
    sqrt(height × weight / 3600) from the screening demography; DOSE_MG = DOSE_MGM2 × BSA."""
    ld = _with_backbone(big["ld"], big_ctx).merge(
        big["dm"][[*KEY, "HEIGHT_CM", "WEIGHT_KG"]], on=KEY, suffixes=("", "_DM")
    )
    assert _subjects(ld) == _path(big_ctx, "LD ONLY", "INFUSED")
    assert (ld.groupby(KEY).size() == 6).all()
    assert ((pd.to_datetime(ld["LDDT"]) - ld["D0"]).dt.days == ld["PROTDAY"]).all()
    assert set(ld["PROTDAY"]) == {-5, -4, -3}
    bsa = np.sqrt(ld["HEIGHT_CM_DM"] * ld["WEIGHT_KG_DM"] / 3600)
    assert np.allclose(ld["BSA_M2"], bsa, atol=0.005)
    assert np.allclose(ld["DOSE_MG"], ld["DOSE_MGM2"] * ld["BSA_M2"], atol=0.05)
    planned = ld["LDTRT"].map({"FLUDARABINE": 25.0, "CYCLOPHOSPHAMIDE": 300.0})
    adjusted = ld["DOSE_MGM2"] != planned
    assert (ld.loc[adjusted, "LDTRT"] == "FLUDARABINE").all() and ld.loc[adjusted, "ADJUST_RS"].notna().all()
    assert ld.loc[~adjusted, "ADJUST_RS"].isna().all()


def test_infusion_only_for_infused_subjects_at_the_backbone_dose(
    fx: dict[str, pd.DataFrame], fixture_ctx: SynthContext
) -> None:
    inf = _with_backbone(fx["infusion"], fixture_ctx)
    assert _subjects(inf) == _path(fixture_ctx, "INFUSED")
    assert not _subjects(inf) & _path(fixture_ctx, "NOT TREATED", "LD ONLY", "SCREEN FAILURE")
    assert np.allclose(inf["DOSE_1E6KG"], inf["DOSE_ACT"])
    assert np.allclose(inf["CELLS_TOTAL_1E6"], inf["DOSE_1E6KG"] * inf["WEIGHT_KG"], atol=0.05)
    assert (inf["DOSELVL_PLAN"] == inf["COHORT"]).all()
    assert (pd.to_datetime(inf["INFDT"]) == inf["D0"]).all()
    assert (inf["INFENTM"] > inf["INFSTTM"]).all()
    assert (inf["INFINT"] == "Y").any() and inf.loc[inf["INFINT"] == "Y", "INFINTRS"].notna().all()


# --- adverse events ------------------------------------------------------------------------------------


def test_crs_onset_within_d0_d14_and_a_grade_2_crs(
    fx: dict[str, pd.DataFrame], fixture_ctx: SynthContext
) -> None:
    crs = _with_backbone(fx["ae"][fx["ae"]["IS_CRS"] == "Y"], fixture_ctx)
    onset = (pd.to_datetime(crs["AESTDT"]) - crs["D0"]).dt.days
    assert onset.between(0, 14).all()
    assert (crs["ASTCTGR"] >= 2).any()
    assert (crs["AEDECOD"] == "Cytokine release syndrome").all()
    assert (crs["ASTCTGR"] == crs["CRSGR"]).all(), "the backbone grade"


@pytest.mark.parametrize("size", ["fx", "big"])
def test_crsdaily_worst_day_reproduces_the_astct_grade(size: str, request: pytest.FixtureRequest) -> None:
    """Grading every crsdaily day with the ASTCT 2019 table gives the AE's grade as the worst day; the days
    run without a gap from AE onset to resolution; the ICE score is 10 on days without ICANS."""
    frames = request.getfixturevalue(size)
    ae, daily = frames["ae"], frames["crsdaily"]
    assert set(zip(daily["SUBJID"], daily["AESPID"], strict=True)) <= set(
        zip(ae["SUBJID"], ae["AESPID"], strict=True)
    )
    daily = daily.merge(
        ae[[*KEY, "AESPID", "IS_CRS", "IS_ICANS", "ASTCTGR", "AESTDT", "AEENDT"]], on=[*KEY, "AESPID"]
    )
    crs = daily[daily["IS_CRS"] == "Y"]
    worst = (
        crs.assign(G=_astct_crs_grade(crs))
        .groupby([*KEY, "AESPID"])
        .agg(G=("G", "max"), A=("ASTCTGR", "first"))
    )
    assert (worst["G"] == worst["A"]).all()
    assert (_astct_crs_grade(crs) >= 1).all(), "fever on every CRS day"
    icans = daily[daily["IS_ICANS"] == "Y"]
    if size == "big":
        assert len(icans)
    worst = (
        icans.assign(G=_astct_icans_grade(icans))
        .groupby([*KEY, "AESPID"])
        .agg(G=("G", "max"), A=("ASTCTGR", "first"))
    )
    assert (worst["G"] == worst["A"]).all()
    without_icans = daily[~daily.set_index([*KEY, "FADT"]).index.isin(icans.set_index([*KEY, "FADT"]).index)]
    assert (without_icans["ICE_SCORE"] == 10).all()
    span = daily.groupby([*KEY, "AESPID"]).agg(
        n=("FADT", "size"),
        first=("FADT", "min"),
        last=("FADT", "max"),
        st=("AESTDT", "first"),
        en=("AEENDT", "first"),
    )
    assert (span["first"] == span["st"]).all() and (span["last"] == span["en"]).all()
    assert ((pd.to_datetime(span["last"]) - pd.to_datetime(span["first"])).dt.days + 1 == span["n"]).all()


@pytest.mark.parametrize("size", ["fx", "big"])
def test_each_dlt_subject_has_an_investigator_dlt_in_d0_d28_and_no_one_else(
    size: str, request: pytest.FixtureRequest
) -> None:
    """STUDY.md §3.2: the backbone's DLT subjects have a DLT_INV=Y AE starting D0-D28 that meets the
    protocol rule (grade 4 cytopenia not recovered by D28); nobody else has a DLT_INV=Y AE."""
    frames, ctx = (
        request.getfixturevalue(size),
        request.getfixturevalue(f"{'fixture' if size == 'fx' else 'big'}_ctx"),
    )
    ae = _with_backbone(frames["ae"], ctx)
    dlt = ae[ae["DLT_INV"] == "Y"]
    day = (_full(dlt["AESTDT"]) - dlt["D0"]).dt.days
    assert day.between(0, 28).all()
    assert _subjects(dlt) == _subjects(
        ctx.subjects[ctx.subjects["DLT"] & (ctx.subjects["PATH"] == "INFUSED")]
    )
    assert (dlt["CTCAEGR"] == 4).all()
    assert ((_full(dlt["AEENDT"]) - dlt["D0"]).dt.days.gt(28) | dlt["AEENDT"].isna()).all()


def test_no_undeclared_dlt(big: dict[str, pd.DataFrame], big_ctx: SynthContext) -> None:
    """Without DLT_INV=Y, no AE meets the DLT definition: no grade 4 neutropenia/thrombocytopenia beyond
    D28, no related grade >= 3 non-haematological event in D0-D28 lasting more than 7 days."""
    ae = _with_backbone(big["ae"], big_ctx)
    ae = ae[
        (ae["DLT_INV"] == "N")
        & ae["AESTDT"].str.len().eq(10)
        & ae["AEENDT"].fillna("").str.len().isin([0, 10])
    ]
    start, end = _full(ae["AESTDT"]), _full(ae["AEENDT"]).fillna(ae["LASTDT"])
    cytopenia = ae["AEDECOD"].isin(["Neutropenia", "Thrombocytopenia"])
    assert not (cytopenia & (ae["CTCAEGR"] == 4) & ((end - ae["D0"]).dt.days > 28)).any()
    non_haem = ae["AEBODSYS"] != "Blood and lymphatic system disorders"
    window = (start - ae["D0"]).dt.days.between(0, 28)
    related = ae["REL_CART"].isin(["POSSIBLE", "PROBABLE", "RELATED"])
    long = (end - start).dt.days > 7
    assert not (non_haem & (ae["IS_CRS"] == "N") & window & related & (ae["CTCAEGR"] >= 3) & long).any()


@pytest.mark.parametrize("size", ["fx", "big"])
def test_seriousness_criteria_agree_with_aeser(size: str, request: pytest.FixtureRequest) -> None:
    ae = request.getfixturevalue(size)["ae"]
    serious = ae[ae["AESER"] == "Y"]
    assert len(serious) and (serious[CRITERIA] == "Y").any(axis=1).all()
    assert ae.loc[ae["AESER"] == "N", CRITERIA].isin(["N", None]).all().all()
    assert ae.loc[ae["AESER"] == "N", CRITERIA].fillna("N").eq("N").all().all()


def test_outcome_follows_the_end_date_and_fatal_only_for_the_death(big: dict[str, pd.DataFrame]) -> None:
    ae = big["ae"]
    ended = ae["AEENDT"].notna()
    assert ae.loc[~ended, "AEOUT"].isin(["NOT RECOVERED/NOT RESOLVED", "RECOVERING/RESOLVING"]).all()
    assert (ae.loc[~ended, "AEONGO"] == "Y").all() and (ae.loc[ended, "AEONGO"] == "N").all()
    assert (
        ae.loc[ended, "AEOUT"].isin(["RECOVERED/RESOLVED", "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL"]).all()
    )
    fatal = ae[ae["AEOUT"] == "FATAL"].merge(big["death"], on=KEY)
    assert len(fatal) == len(big["death"]) == (ae["AEOUT"] == "FATAL").sum()
    assert (
        (fatal["AEENDT"] == fatal["DTHDT"]).all()
        and (fatal["CTCAEGR"] == 5).all()
        and (fatal["AESDTH"] == "Y").all()
    )


def test_action_taken_for_a_single_dose_product(
    fx: dict[str, pd.DataFrame], fixture_ctx: SynthContext
) -> None:
    """After the infusion started, C-CAR168 cannot be changed: NOT APPLICABLE, except an infusion reaction
    during the infusion (DRUG INTERRUPTED, timed between infusion start and end, INFINT = Y)."""
    ae = _with_backbone(fx["ae"], fixture_ctx)
    after = ae[(ae["PATH"] == "INFUSED") & (_full(ae["AESTDT"]) >= ae["D0"])]
    interrupted = after[after["AEACN"] == "DRUG INTERRUPTED"]
    assert (
        len(interrupted)
        and (after.loc[after["AEACN"] != "DRUG INTERRUPTED", "AEACN"] == "NOT APPLICABLE").all()
    )
    inf = interrupted.merge(fx["infusion"], on=KEY)
    assert (inf["INFINT"] == "Y").all() and (inf["AESTDT"] == inf["INFDT"]).all()
    assert ((inf["AESTTM"] >= inf["INFSTTM"]) & (inf["AESTTM"] <= inf["INFENTM"])).all()
    assert (inf["AEDECOD"] == "Infusion related reaction").all()


@pytest.mark.parametrize("size", ["fx", "big"])
def test_no_ae_after_the_subjects_last_day_and_nothing_post_infusion_for_the_not_infused(
    size: str, request: pytest.FixtureRequest
) -> None:
    frames, ctx = (
        request.getfixturevalue(size),
        request.getfixturevalue(f"{'fixture' if size == 'fx' else 'big'}_ctx"),
    )
    ae = _with_backbone(frames["ae"], ctx)
    last_month = ae["LASTDT"].dt.strftime("%Y-%m")
    assert (ae["AESTDT"].str[:7] <= last_month).all() and (
        _full(ae["AESTDT"]).fillna(ae["LASTDT"]) <= ae["LASTDT"]
    ).all()
    ended = ae["AEENDT"].notna()
    assert (ae.loc[ended, "AEENDT"].str[:7] <= last_month[ended]).all()
    assert (_full(ae["AEENDT"]).fillna(ae["LASTDT"]) <= ae["LASTDT"]).all()
    not_infused = ae[ae["PATH"] != "INFUSED"]
    assert (not_infused["REL_CART"] == "NOT RELATED").all()
    assert (_full(not_infused["AESTDT"]) <= not_infused["D0"]).all()


def test_partial_dates_about_3_percent_and_one_in_the_infusion_month(
    fx: dict[str, pd.DataFrame], big: dict[str, pd.DataFrame], fixture_ctx: SynthContext
) -> None:
    """STUDY.md §4.6 noise; the fixture has a partial start in the infusion month of an infused subject
    (TEAE imputation: missing day → the 1st, but not before TRTSDT in the infusion month)."""
    assert 0.01 <= (big["ae"]["AESTDT"].str.len() == 7).mean() <= 0.06
    assert (big["ae"]["AEENDT"].str.len() == 7).any()
    ae = fx["ae"].merge(fx["infusion"][[*KEY, "INFDT"]], on=KEY)
    assert ((ae["AESTDT"].str.len() == 7) & (ae["AESTDT"] == ae["INFDT"].str[:7])).any()


def test_aespid_numbers_each_subjects_events_in_onset_order(big: dict[str, pd.DataFrame]) -> None:
    ae = big["ae"]
    assert not ae.duplicated([*KEY, "AESPID"]).any()
    assert ae["AESPID"].str.fullmatch(r"AE-[0-9]{3}").all()
    ordered = ae.sort_values([*KEY, "AESPID"])
    assert (ordered.groupby(KEY)["AESTDT"].apply(lambda d: d.str[:7].is_monotonic_increasing)).all()


def test_meddra_coding_is_consistent_synthetic_and_named_by_real_pts(big: dict[str, pd.DataFrame]) -> None:
    ae = big["ae"]
    levels = [("AELLT", "AELLTCD"), ("AEDECOD", "AEPTCD"), ("AEHLT", "AEHLTCD"), ("AEHLGT", "AEHLGTCD")]
    for name, code in [*levels, ("AESOC", "AESOCCD")]:
        assert (ae.groupby(name)[code].nunique() == 1).all(), name
        assert ae[code].astype(str).str.fullmatch(r"9[0-9]{8}").all(), f"{code}: synthetic 9-digit codes"
    assert (ae.groupby("AELLT")["AEDECOD"].nunique() == 1).all()
    assert (ae["AEBODSYS"] == ae["AESOC"]).all() and (ae["AEBDSYCD"] == ae["AESOCCD"]).all()
    real_pts = {
        "Cytokine release syndrome",
        "Immune effector cell-associated neurotoxicity syndrome",
        "Neutropenia",
        "Upper respiratory tract infection",
        "Hypogammaglobulinaemia",
        "Herpes zoster",
        "COVID-19",
    }
    assert real_pts <= set(ae["AEDECOD"])


def test_rates_match_study_md_section_4_2(big: dict[str, pd.DataFrame], big_ctx: SynthContext) -> None:
    """On 500 subjects: any CRS 50-70%, neutropenia grade >= 3 60-85%, infections 20-40%,
    hypogammaglobulinaemia 20-50%, SAEs 10-25% of infused subjects (a few points of sampling margin)."""
    infused = _path(big_ctx, "INFUSED")
    ae = big["ae"][[(s, j) in infused for s, j in zip(big["ae"]["SITEID"], big["ae"]["SUBJID"], strict=True)]]

    def share(mask: pd.Series) -> float:
        return len(_subjects(ae[mask])) / len(infused)

    assert 0.45 <= share(ae["IS_CRS"] == "Y") <= 0.75
    assert 0.55 <= share((ae["AEDECOD"] == "Neutropenia") & (ae["CTCAEGR"] >= 3)) <= 0.9
    assert 0.18 <= share(ae["AESI"] == "INFECTION") <= 0.42
    assert 0.18 <= share(ae["AEDECOD"] == "Hypogammaglobulinaemia") <= 0.52
    assert 0.08 <= share(ae["AESER"] == "Y") <= 0.27


# --- concomitant medications ---------------------------------------------------------------------------


def test_crs_treatment_matches_the_ae(fx: dict[str, pd.DataFrame]) -> None:
    """TOCI=Y → tocilizumab on or after onset and by resolution; STEROID=Y → a glucocorticoid with
    CMINDC CRS; the fixture holds at least one glucocorticoid given for CRS."""
    cm, ae = fx["cm"], fx["ae"]
    assert ((cm["CMCLASS"] == "GLUCOCORTICOID") & (cm["CMINDC"] == "CRS")).any()
    crs = ae[ae["IS_CRS"] == "Y"]
    assert (crs["TOCI"] == "Y").any()
    toci = crs[crs["TOCI"] == "Y"].merge(cm[cm["CMDECOD"] == "TOCILIZUMAB"], on=KEY)
    assert _subjects(toci) == _subjects(crs[crs["TOCI"] == "Y"])
    assert ((toci["CMSTDT"] >= toci["AESTDT"]) & (toci["CMSTDT"] <= toci["AEENDT"])).all()
    assert (toci[["CMCLASS", "CMINDC"]] == ["CRS-TX", "CRS"]).all().all()
    gc = crs[crs["STEROID"] == "Y"].merge(
        cm[(cm["CMCLASS"] == "GLUCOCORTICOID") & (cm["CMINDC"] == "CRS")], on=KEY
    )
    assert _subjects(gc) == _subjects(crs[crs["STEROID"] == "Y"]) and (gc["CMSTDT"] >= gc["AESTDT"]).all()


def test_background_therapy_prior_rituximab_and_washout(
    big: dict[str, pd.DataFrame], big_ctx: SynthContext
) -> None:
    """Prior medications start before consent; prior rituximab (dxhist) is in cm at its date; disease
    immunosuppressants are stopped before lymphodepletion; screen failures have no medication page."""
    cm = _with_backbone(big["cm"], big_ctx)
    assert not _subjects(cm) & _path(big_ctx, "SCREEN FAILURE")
    rtx = big["dxhist"][big["dxhist"]["PRIOR_RTX"] == "Y"].merge(
        big["enrol"][[*KEY, "ICDT", "ELIGFL"]], on=KEY
    )
    rtx = rtx[rtx["ELIGFL"] == "Y"].merge(cm[cm["CMDECOD"] == "RITUXIMAB"], on=KEY, suffixes=("", "_CM"))
    assert (rtx["CMSTDT"] < rtx["ICDT"]).all()
    same_month = rtx["CMSTDT"].str[:7] == rtx["PRIOR_RTX_DT"].str[:7]  # old start dates may be partial
    assert _subjects(rtx[same_month]) == _subjects(
        big["dxhist"][big["dxhist"]["PRIOR_RTX"] == "Y"].merge(big["apher"][KEY], on=KEY)
    )
    prior = cm[_month_start(cm["CMSTDT"]) < cm["ICDT"]]
    assert len(prior)
    washout = cm[(cm["CMCLASS"] == "IMMUNOSUPPRESSANT") & (cm["CMINDC"] == "DISEASE") & cm["LDSTDT"].notna()]
    washout = washout[_month_start(washout["CMSTDT"]) < washout["LDSTDT"]]
    assert len(washout) and (pd.to_datetime(washout["CMENDT"]) < washout["LDSTDT"]).all()


def test_rescue_therapy_starts_at_each_relapse(big: dict[str, pd.DataFrame], big_ctx: SynthContext) -> None:
    """Every backbone relapse inside follow-up is treated: a disease medication (GC pulse or course,
    IVIG, plasma exchange or a new immunosuppressant) starts within 7 days of its onset."""
    s = big_ctx.subjects
    relapses = s[(s["PATH"] == "INFUSED") & (s["RELAPSEDAY"] < s["LASTDAY"] - 7)]
    onset = (relapses["D0"] + pd.to_timedelta(relapses["RELAPSEDAY"], unit="D")).rename("ONSET")
    cm = big["cm"][big["cm"]["CMINDC"] == "DISEASE"].merge(relapses[KEY].assign(ONSET=onset), on=KEY)
    full = cm[cm["CMSTDT"].str.len() == 10]
    started = full[(pd.to_datetime(full["CMSTDT"]) - full["ONSET"]).dt.days.between(0, 7)]
    assert len(relapses) and _subjects(started) == _subjects(relapses)
    assert started["CMCLASS"].isin(["GLUCOCORTICOID", "IVIG", "PLEX", "IMMUNOSUPPRESSANT"]).all()


def test_glucocorticoid_tapered_to_zero_by_month_6_in_most_responders(
    big: dict[str, pd.DataFrame], big_ctx: SynthContext
) -> None:
    """STUDY.md §4.5: GC taper to 0 by M3-M6 in > 80% (here: of responders without relapse followed to
    D180, none of their disease glucocorticoid records is open on D180)."""
    s = big_ctx.subjects
    followed = s[(s["PATH"] == "INFUSED") & s["RESPONDER"] & s["RELAPSEDAY"].isna() & (s["LASTDAY"] > 200)]
    cm = big["cm"][(big["cm"]["CMCLASS"] == "GLUCOCORTICOID") & (big["cm"]["CMINDC"] == "DISEASE")]
    cm = _with_backbone(cm, big_ctx).merge(followed[KEY], on=KEY)
    d180 = cm["D0"] + pd.Timedelta(days=180)
    open_at_m6 = (_full(cm["CMSTDT"]).fillna(cm["D0"]) <= d180) & (
        pd.to_datetime(cm["CMENDT"]).fillna(FAR_FUTURE) >= d180
    )
    on_gc = _subjects(cm)
    assert len(on_gc) > 50
    assert 1 - len(_subjects(cm[open_at_m6])) / len(on_gc) > 0.8


def test_whodrug_style_coding_with_atc_classes(big: dict[str, pd.DataFrame]) -> None:
    cm = big["cm"]
    assert (cm.groupby("CMDECOD")["CMCLASCD"].nunique() == 1).all()
    assert cm["CMCLASCD"].str.fullmatch(r"[A-Z][0-9]{2}[A-Z]{2}").all()
    atc = cm.drop_duplicates("CMDECOD").set_index("CMDECOD")["CMCLASCD"]
    assert atc["PREDNISONE"] == "H02AB" and atc["TOCILIZUMAB"] == "L04AC" and atc["ACICLOVIR"] == "J05AB"
    assert atc["HYDROXYCHLOROQUINE SULFATE"] == "P01BA" and atc["MYCOPHENOLATE MOFETIL"] == "L04AA"
    assert (cm.loc[cm["CMDECOD"] == "PREDNISONE", "CMCLAS"] == "GLUCOCORTICOIDS").all()


def test_infusion_premedication_is_recorded_in_cm(fx: dict[str, pd.DataFrame]) -> None:
    premed = fx["cm"][fx["cm"]["CMINDC"] == "PREMEDICATION"].merge(
        fx["infusion"][[*KEY, "INFDT", "PREMED"]], on=KEY
    )
    on_d0 = premed[premed["CMSTDT"] == premed["INFDT"]]
    listed = on_d0.groupby(KEY).agg(
        DRUGS=("CMDECOD", lambda d: "; ".join(sorted(d.str.split().str[0]))), PREMED=("PREMED", "first")
    )
    assert len(listed) == len(fx["infusion"])
    assert (listed["DRUGS"] == listed["PREMED"].str.split("; ").map(lambda p: "; ".join(sorted(p)))).all()


# --- disposition, death, vital signs -------------------------------------------------------------------


def test_one_disposition_record_per_epoch_left(
    fx: dict[str, pd.DataFrame], fixture_ctx: SynthContext
) -> None:
    ds = _with_backbone(fx["ds"], fixture_ctx)
    epochs = ds.groupby(KEY)["EPOCH_LEFT"].agg(tuple)
    assert not ds.duplicated([*KEY, "EPOCH_LEFT"]).any()
    not_infused = {"SCREEN FAILURE": ("SCREENING",), "NOT TREATED": ("SCREENING", "TREATMENT")}
    not_infused["LD ONLY"] = not_infused["NOT TREATED"]
    for (site, subj), row in fixture_ctx.subjects.set_index(KEY).iterrows():
        expected = not_infused.get(row["PATH"])
        if expected is None:
            expected = ("SCREENING", "TREATMENT") + (() if row["FATE"] == "ONGOING" else ("FOLLOW-UP",))
        assert sorted(epochs[(site, subj)]) == sorted(expected), subj
    early = ds[(ds["VISIT"] == "EARLY TERMINATION") & (ds["DSDECOD"] != "COMPLETED")]
    assert len(early) and (early["DSDECOD"] == early["DCREAS"]).all()
    death = ds[ds["DSDECOD"] == "DEATH"].merge(fx["death"], on=KEY)
    assert len(death) == len(fx["death"]) and (death["DSSTDT"] == death["DTHDT"]).all()


def test_vital_signs_febrile_only_on_crs_days(big: dict[str, pd.DataFrame], big_ctx: SynthContext) -> None:
    vs = big["vs"]
    assert not _subjects(vs) & _path(big_ctx, "SCREEN FAILURE")
    days = big["crsdaily"].groupby([*KEY, "FADT"])["TMAX_C"].max().rename("TMAX").reset_index()
    vs = vs.merge(days, left_on=[*KEY, "VSDT"], right_on=[*KEY, "FADT"], how="left")
    assert (vs.loc[vs["TEMP"] >= 38.0, "TMAX"].notna()).all()
    on_crs = vs[vs["TMAX"] >= 38.0]
    assert len(on_crs) and (on_crs["TEMP"] <= on_crs["TMAX"]).all()
    weighed = vs[vs["WEIGHT"].notna()]
    assert set(weighed["VISIT"]) == {"SCREENING", "BASELINE"}
