"""The visit backbone of the synthetic data: one row per subject and visit actually attended.

Scheduled visits come from ``study.yaml`` (nominal protocol day and window); the actual date is the
nominal date plus a jitter inside the window (a few per cent fall just outside it, as in real data).
A subject attends the visits that fall on or before their ``LASTDAY``; screen failures attend only
SCREENING, subjects never lymphodepleted stop after LEUKAPHERESIS / BASELINE, subjects with
lymphodepletion only stop after LD DAY -3. Some 5-10 % of follow-up visits after DAY 28 are missed
(STUDY.md §4.6). Discontinued subjects get an EARLY TERMINATION visit at their end-of-study date.
About 4 % of subjects also have an UNSCHEDULED visit between two scheduled ones.

Columns: SITEID, SUBJID, VISIT, VISITNUM (NaN for unscheduled), NOMDAY (nominal protocol day; the
actual day for unscheduled/early termination), DAY (actual protocol day), VISDT (``datetime64``).
Rows are sorted by subject and date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc168.study import Study

P_MISSED = 0.07
P_OUT_OF_WINDOW = 0.03
P_UNSCHEDULED = 0.04

# The last scheduled visit each not-infused path attends.
LAST_VISIT_BY_PATH = {"SCREEN FAILURE": "SCREENING", "NOT TREATED": "BASELINE", "LD ONLY": "LD DAY -3"}


def make_visits(rng: np.random.Generator, subjects: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Attended visits for every subject of the backbone (see the module docstring)."""
    sched = pd.DataFrame(
        {
            "VISIT": [v.visit for v in study.visits],
            "VISITNUM": [v.visitnum for v in study.visits],
            "NOMDAY": [v.day for v in study.visits],
            "LO": [v.window[0] for v in study.visits],
            "HI": [v.window[1] for v in study.visits],
        }
    )
    subj = subjects[["SITEID", "SUBJID", "PATH", "D0", "LASTDAY", "FATE", "EOSDT", "ICDT"]].reset_index(
        drop=True
    )
    grid = subj.merge(sched, how="cross")
    n = len(grid)

    # Jitter inside the window (triangular around the nominal day); a few land 1-3 days outside.
    lo = (grid["LO"] - grid["NOMDAY"]).to_numpy()
    hi = (grid["HI"] - grid["NOMDAY"]).to_numpy()
    jitter = np.rint(rng.triangular(lo - 0.49, 0, hi + 0.49 + 1e-9, n)).astype(int)
    outside = (rng.uniform(size=n) < P_OUT_OF_WINDOW) & (grid["NOMDAY"].to_numpy() > 28)
    jitter = np.where(outside, hi + rng.integers(1, 4, n), jitter)
    # Leukapheresis (the apher date), the LD days, the infusion and D1 are exact.
    fixed = (grid["NOMDAY"].between(-5, 1) | (grid["VISIT"] == "LEUKAPHERESIS")).to_numpy()
    jitter = np.where(fixed, 0, jitter)
    # A subject who completed attended the final visit within its window, on or before their last day.
    final = (grid["VISITNUM"] == study.visits[-1].visitnum).to_numpy() & (
        grid["FATE"] == "COMPLETED"
    ).to_numpy()
    jitter = np.where(
        final, np.minimum(jitter, grid["LASTDAY"].to_numpy() - grid["NOMDAY"].to_numpy()), jitter
    )
    grid["DAY"] = grid["NOMDAY"] + jitter
    # Screening happens at consent.
    screening = grid["VISIT"] == study.visits[0].visit
    grid["VISDT"] = grid["D0"] + pd.to_timedelta(grid["DAY"], unit="D")
    grid.loc[screening, "VISDT"] = grid.loc[screening, "ICDT"]
    grid.loc[screening, "DAY"] = (grid.loc[screening, "ICDT"] - grid.loc[screening, "D0"]).dt.days

    last_visitnum = subj["PATH"].map(
        {p: study.visit_by_name(v).visitnum for p, v in LAST_VISIT_BY_PATH.items()}
    )
    grid["LASTNUM"] = np.repeat(last_visitnum.to_numpy(), len(sched))
    keep = grid["LASTNUM"].isna() | (grid["VISITNUM"] <= grid["LASTNUM"])
    keep &= grid["DAY"] <= grid["LASTDAY"]
    missed = (rng.uniform(size=n) < P_MISSED) & (grid["NOMDAY"] > 28) & ~final
    keep &= ~missed
    visits = grid.loc[keep, ["SITEID", "SUBJID", "VISIT", "VISITNUM", "NOMDAY", "DAY", "VISDT"]]

    et_mask = subj["FATE"].isin(["DISCONTINUED"]) & ~subj["PATH"].isin(["SCREEN FAILURE"])
    et = subj.loc[et_mask, ["SITEID", "SUBJID", "D0", "EOSDT"]]
    early = pd.DataFrame(
        {
            "SITEID": et["SITEID"],
            "SUBJID": et["SUBJID"],
            "VISIT": study.early_termination_visit.visit,
            "VISITNUM": study.early_termination_visit.visitnum,
            "NOMDAY": (et["EOSDT"] - et["D0"]).dt.days,
            "DAY": (et["EOSDT"] - et["D0"]).dt.days,
            "VISDT": et["EOSDT"],
        }
    )

    # Unscheduled visits: halfway between two attended follow-up visits.
    followup = visits[visits["NOMDAY"] >= 7].copy()
    followup["NEXTDT"] = followup.groupby(["SITEID", "SUBJID"])["VISDT"].shift(-1)
    candidates = followup.dropna(subset=["NEXTDT"])
    shuffled = candidates.assign(_R=rng.uniform(size=len(candidates))).sort_values("_R", kind="mergesort")
    picked = shuffled.groupby(["SITEID", "SUBJID"]).head(1).sort_index()
    chosen = rng.uniform(size=len(picked)) < P_UNSCHEDULED
    if len(picked) and not chosen.any():
        chosen[rng.integers(len(picked))] = True
    picked = picked[chosen]
    mid = picked["VISDT"] + (picked["NEXTDT"] - picked["VISDT"]) / 2
    d0 = subj.set_index(["SITEID", "SUBJID"])["D0"]
    unsched_d0 = d0.reindex(pd.MultiIndex.from_frame(picked[["SITEID", "SUBJID"]])).to_numpy()
    unscheduled = pd.DataFrame(
        {
            "SITEID": picked["SITEID"],
            "SUBJID": picked["SUBJID"],
            "VISIT": study.unscheduled_visit,
            "VISITNUM": np.nan,
            "VISDT": mid.dt.normalize(),
        }
    )
    unscheduled["DAY"] = (unscheduled["VISDT"] - pd.Series(unsched_d0, index=unscheduled.index)).dt.days
    unscheduled["NOMDAY"] = unscheduled["DAY"]
    unscheduled = unscheduled[unscheduled["VISDT"] < picked["NEXTDT"]]

    out = pd.concat([visits, early, unscheduled], ignore_index=True)
    out["NOMDAY"] = out["NOMDAY"].astype(int)
    out["DAY"] = out["DAY"].astype(int)
    return out.sort_values(["SITEID", "SUBJID", "VISDT", "VISITNUM"], kind="mergesort").reset_index(drop=True)


def align_completion(subjects: pd.DataFrame, visits: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Completers end the study at their final (MONTH 24) visit: EOSDT becomes that visit's date."""
    final = visits.loc[visits["VISITNUM"] == study.visits[-1].visitnum, ["SITEID", "SUBJID", "VISDT"]]
    dates = subjects[["SITEID", "SUBJID"]].merge(final, how="left", on=["SITEID", "SUBJID"])["VISDT"]
    completed = (subjects["FATE"] == "COMPLETED").to_numpy() & dates.notna().to_numpy()
    out = subjects.copy()
    out.loc[completed, "EOSDT"] = dates[completed].to_numpy()
    return out
