"""Non-compartmental analysis (cdisc168.nca) on small profiles worked out by hand.

Times are days since the infusion start; concentrations are in any unit (AUC in day x unit). The linear
trapezoid from (0, 0): Σ (t2 − t1) × (C1 + C2) / 2. Each test writes its arithmetic in the comments.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from cdisc168 import nca
from cdisc168.nca import AucInterval, compute_nca

BLQ = None  # a result below the LLOQ
DAY28 = AucInterval(end=28, min_end=25)  # AUC(0-28 d), partial allowed from the DAY 28 window start


def profile(points: list[tuple[float, float | None]], subject: str = "S1") -> pd.DataFrame:
    """One profile: (day, concentration or BLQ), record ids 1..n in the given order."""
    return pd.DataFrame(
        {
            "ID": subject,
            "TIME": [float(t) for t, _ in points],
            "CONC": [np.nan if c is None else float(c) for _, c in points],
            "BLQ": [c is None for _, c in points],
            "REC": np.arange(1, len(points) + 1),
        }
    )


def run(frame: pd.DataFrame, **options: object) -> tuple[dict, dict]:
    """{param or (AUCINT, end): parameter row} and {same key: list of records used}."""
    result = compute_nca(frame, ["ID"], record="REC", **options)  # type: ignore[arg-type]
    par = result.parameters
    keys = [p if p != nca.AUCINT else (p, e) for p, e in zip(par["param"], par["end"], strict=True)]
    rows = {k: par.iloc[i] for i, k in enumerate(keys)}
    used = {keys[r]: list(g["record"]) for r, g in result.used.groupby("row")}
    return rows, used


# Days 0 (BLQ, pre-infusion), 1, 4, 7, 10, 14, 21 (BLQ between quantifiable values), 27, 35.
# Cmax 1000 at days 7 and 10 (a tie: Tmax is the first); the last sample (day 35) is quantifiable.
MAIN = [(0, BLQ), (1, 100), (4, 400), (7, 1000), (10, 1000), (14, 600), (21, BLQ), (27, 200), (35, 50)]


def test_cmax_tmax_first_occurrence_tlast_clast() -> None:
    rows, used = run(profile(MAIN), intervals=[DAY28])
    assert rows[nca.CMAX]["value"] == 1000
    assert rows[nca.TMAX]["value"] == 7  # days 7 and 10 both 1000: the first occurrence
    assert rows[nca.TLAST]["value"] == 35
    assert rows[nca.CLAST]["value"] == 50
    assert bool(rows[nca.TLAST]["censored"])  # the last sample is quantifiable: persistence censored
    # every post-infusion sample was compared (records 2..9); the day-0 sample is pre-infusion
    assert used[nca.CMAX] == [2, 3, 4, 5, 6, 7, 8, 9]


def test_auclast_and_auc_0_28_interpolated_blq_between_as_zero() -> None:
    # Trapezoids from (0, 0), the day-21 BLQ as 0:
    #  0-1: 1*(0+100)/2 = 50        1-4: 3*(100+400)/2 = 750     4-7: 3*(400+1000)/2 = 2100
    #  7-10: 3*(1000+1000)/2 = 3000 10-14: 4*(1000+600)/2 = 3200 14-21: 7*(600+0)/2 = 2100
    #  21-27: 6*(0+200)/2 = 600     27-35: 8*(200+50)/2 = 1000
    # AUClast = 50+750+2100+3000+3200+2100+600+1000 = 12800.
    # AUC(0-28): the same up to day 27 = 11800; C(28) = 200 + (50-200)*(28-27)/(35-27) = 181.25;
    #  27-28: 1*(200+181.25)/2 = 190.625 → 11990.625 (the day-35 sample is used for the interpolation).
    rows, used = run(profile(MAIN), intervals=[DAY28])
    assert rows[nca.AUCLAST]["value"] == pytest.approx(12800)
    auc28 = rows[(nca.AUCINT, 28.0)]
    assert auc28["value"] == pytest.approx(11990.625)
    assert not auc28["partial"]
    assert auc28["reason"] is None or pd.isna(auc28["reason"])
    assert used[(nca.AUCINT, 28.0)] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert used[nca.AUCLAST] == [2, 3, 4, 5, 6, 7, 8, 9]


def test_blq_between_quantifiable_values_missing_under_the_sensitivity_option() -> None:
    # The day-21 BLQ is left out: 14-27 is one trapezoid 13*(600+200)/2 = 5200 instead of 2100 + 600.
    # AUClast = 12800 - 2700 + 5200 = 15300; AUC(0-28) = 11990.625 + 2500 = 14490.625.
    rows, used = run(profile(MAIN), intervals=[DAY28], blq_between="missing")
    assert rows[nca.AUCLAST]["value"] == pytest.approx(15300)
    assert rows[(nca.AUCINT, 28.0)]["value"] == pytest.approx(14490.625)
    assert 7 not in used[nca.AUCLAST]  # record 7 = the day-21 BLQ
    # Cmax/Tmax/Tlast do not depend on the option
    assert rows[nca.CMAX]["value"] == 1000 and rows[nca.TLAST]["value"] == 35


def test_partial_auc_when_the_profile_ends_in_the_day_28_window() -> None:
    # Pre-infusion quantifiable (day -7: 5000) is ignored; day 1 BLQ before the first quantifiable → 0;
    # last quantifiable day 26, then a trailing BLQ (day 35) that is excluded.
    #  0-1: 0   1-4: 3*(0+400)/2 = 600   4-7: 3*(400+1000)/2 = 2100   7-14: 7*(1000+500)/2 = 5250
    #  14-26: 12*(500+100)/2 = 3600 → AUClast = 11550; nothing quantifiable after day 26 and 26 >= 25:
    #  AUC(0-28) = AUC(0-26) = 11550, flagged partial.
    frame = profile([(-7, 5000), (1, BLQ), (4, 400), (7, 1000), (14, 500), (26, 100), (35, BLQ)])
    rows, used = run(frame, intervals=[DAY28])
    assert rows[nca.CMAX]["value"] == 1000  # not the pre-infusion 5000
    assert rows[nca.TLAST]["value"] == 26 and rows[nca.CLAST]["value"] == 100
    assert not rows[nca.TLAST]["censored"]  # a BLQ sample follows Tlast
    assert rows[nca.AUCLAST]["value"] == pytest.approx(11550)
    auc28 = rows[(nca.AUCINT, 28.0)]
    assert auc28["value"] == pytest.approx(11550) and bool(auc28["partial"])
    assert used[(nca.AUCINT, 28.0)] == [2, 3, 4, 5, 6]  # not the trailing BLQ (7) nor day -7 (1)
    assert used[nca.CMAX] == [2, 3, 4, 5, 6, 7]


def test_auc_not_evaluable_when_the_profile_ends_before_the_window() -> None:
    # Last quantifiable day 21 (< 25), then BLQ on day 28.5 (excluded as trailing): AUC(0-28) is missing.
    # AUClast: 0-1: 1*100/2 = 50; 1-7: 6*(100+1000)/2 = 3300; 7-21: 14*(1000+300)/2 = 9100 → 12450.
    rows, used = run(profile([(1, 100), (7, 1000), (21, 300), (28.5, BLQ)]), intervals=[DAY28])
    auc28 = rows[(nca.AUCINT, 28.0)]
    assert np.isnan(auc28["value"]) and not auc28["partial"]
    assert auc28["reason"] == nca.REASON_INTERVAL
    assert (nca.AUCINT, 28.0) not in used  # a parameter not computed uses no record
    assert rows[nca.AUCLAST]["value"] == pytest.approx(12450)
    # without a window (min_end None) a profile ending before T never gives a partial AUC
    rows, _ = run(profile([(1, 100), (7, 1000), (26, 300)]), intervals=[AucInterval(28)])
    assert rows[(nca.AUCINT, 28.0)]["reason"] == nca.REASON_INTERVAL


def test_partial_window_is_judged_on_the_window_time_scale() -> None:
    # The last sample is 24.9 days after the infusion start but on protocol day 25 (earlier clock time):
    # inside the DAY 28 window [25, 31] → partial AUC to 24.9. On actual time alone it would be missing.
    frame = profile([(1, 100), (7, 1000), (24.9, 300)]).assign(DAY=[1.0, 7.0, 25.0])
    rows, _ = run(frame, intervals=[DAY28], window_time="DAY")
    assert bool(rows[(nca.AUCINT, 28.0)]["partial"])
    rows, _ = run(frame, intervals=[DAY28])
    assert rows[(nca.AUCINT, 28.0)]["reason"] == nca.REASON_INTERVAL


def test_sample_exactly_at_the_interval_end_needs_no_interpolation() -> None:
    # 0-14: 14*(0+100)/2 = 700; 14-28: 14*(100+100)/2 = 1400 → 2100; the day-35 sample is not used.
    rows, used = run(profile([(14, 100), (28, 100), (35, 100)]), intervals=[DAY28])
    assert rows[(nca.AUCINT, 28.0)]["value"] == pytest.approx(2100)
    assert used[(nca.AUCINT, 28.0)] == [1, 2]


def test_no_quantifiable_sample_gives_every_parameter_missing_with_a_reason() -> None:
    frame = pd.concat([profile([(1, BLQ), (7, BLQ)], "S1"), profile(MAIN, "S2")], ignore_index=True)
    result = compute_nca(frame, ["ID"], record="REC", intervals=[DAY28])
    s1 = result.parameters[result.parameters["ID"] == "S1"]
    assert s1["param"].tolist() == [nca.CMAX, nca.TMAX, nca.TLAST, nca.CLAST, nca.AUCLAST, nca.AUCINT]
    assert s1["value"].isna().all()
    assert (s1["reason"] == nca.REASON_NO_QUANTIFIABLE).all()
    assert not result.used["row"].isin(s1["row"]).any()
    # the other profile is unaffected
    s2 = result.parameters[result.parameters["ID"] == "S2"].set_index("param")
    assert s2.loc[nca.AUCLAST, "value"] == pytest.approx(12800)


def test_inputs_are_validated_and_not_changed() -> None:
    frame = profile(MAIN)
    before = frame.copy()
    with pytest.raises(ValueError, match="blq_between"):
        compute_nca(frame, ["ID"], blq_between="half")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="conc: column 'AVAL'"):
        compute_nca(frame, ["ID"], conc="AVAL")
    with pytest.raises(ValueError, match="min_end"):
        AucInterval(end=28, min_end=30)
    compute_nca(frame, ["ID"], record="REC", intervals=[DAY28])
    pd.testing.assert_frame_equal(frame, before)


def _reference_auc(t: np.ndarray, c: np.ndarray, end: float) -> float:
    """The per-profile reference of STUDY.md §3.4 (all samples quantifiable, last one after ``end``)."""
    tt, cc = np.concatenate(([0.0], t)), np.concatenate(([0.0], c))
    c_end = np.interp(end, tt, cc)
    inside = tt < end
    return float(np.trapezoid(np.append(cc[inside], c_end), np.append(tt[inside], end)))


def test_vectorised_over_many_profiles_matches_the_reference_and_is_fast() -> None:
    # 10,000 subjects x 3 analytes x 15 samples (days -7 .. 730 with jitter): 450,000 rows.
    rng = np.random.default_rng(168)
    days = np.array([-7, 1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 270, 365, 545, 730], dtype=float)
    n_profiles = 30_000
    t = np.tile(days, n_profiles) + rng.uniform(-0.4, 0.4, days.size * n_profiles)
    c = np.exp(rng.normal(7.0, 1.5, t.size))
    frame = pd.DataFrame(
        {
            "ID": np.repeat(np.arange(n_profiles), days.size),
            "TIME": t,
            "CONC": c,
            "BLQ": False,
            "REC": np.arange(t.size),
        }
    )
    started = time.perf_counter()
    result = compute_nca(frame, ["ID"], record="REC", intervals=[DAY28, AucInterval(90, 85)])
    assert time.perf_counter() - started < 5.0
    par = result.parameters
    assert len(par) == n_profiles * 7
    for pid in rng.choice(n_profiles, size=25, replace=False):
        rows = frame[(frame["ID"] == pid) & (frame["TIME"] > 0)]
        mine = par[par["ID"] == pid]
        expected = _reference_auc(rows["TIME"].to_numpy(), rows["CONC"].to_numpy(), 28.0)
        auc28 = mine[(mine["param"] == nca.AUCINT) & (mine["end"] == 28.0)]["value"].item()
        assert auc28 == pytest.approx(expected, rel=1e-12)
        assert mine[mine["param"] == nca.CMAX]["value"].item() == rows["CONC"].max()
