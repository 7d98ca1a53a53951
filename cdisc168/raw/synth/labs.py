"""Laboratory-type forms of the synthetic C-CAR168 study: clinical lab (``lab``), CAR-T kinetics
(``cartpk``, :mod:`.kinetics`), research flow cytometry and autoantibodies (``flow``, ``autoab``,
:mod:`.immunology`).

The ``lab`` form is long (one row per test): each attended visit of the visit backbone draws the
panels :data:`.lab_catalogue.VISIT_PANELS` names (indication- and sex-restricted panels only for
those subjects), dated on the visit date with the visit's collection time (the D0 sample before the
infusion start). Values come from :func:`.lab_values.lab_values`. Data-quality noise (STUDY.md §4.6):

- unit mixing: one site reports IgG/IgA/IgM/C3/C4 in mg/dL, another creatinine in mg/dL, values and
  reference ranges consistent with the unit;
- below-LLOQ results as collected ("<0.5" CRP, "<1" cytokines and sBCMA, "<2" HCG);
- ~0.4 % of tests not done (empty result, NOTDONE_RS given);
- ~0.05 % of results entered twice (an exact repeat on the repeat key: a warning, not a key error);
- ~2 % of outpatient visits (M2 onward) without a collection time;
- labs at the backbone's UNSCHEDULED visits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from cdisc168.raw.synth.context import SynthContext, finish_form
from cdisc168.raw.synth.immunology import make_autoab, make_flow
from cdisc168.raw.synth.kinetics import make_cartpk
from cdisc168.raw.synth.lab_catalogue import (
    CENTRAL_LAB,
    LOCAL_LAB,
    MAGNITUDE_DECIMALS,
    PANEL_INDICATIONS,
    PANEL_SEX,
    PANELS,
    SITE_UNITS,
    TESTS,
    VISIT_PANELS,
)
from cdisc168.raw.synth.lab_values import lab_values
from cdisc168.raw.synth.specimens import (
    Coded,
    decimals_by_magnitude,
    hhmm,
    iso_dates,
    raw_forms,
    result_codes,
    sample_minutes,
    sampled_visits,
    subject_index,
    text_take,
)

P_NOT_DONE = 0.004
P_REPEAT = 0.0005
P_NO_TIME = 0.02
NOT_DONE_REASONS = (
    "SAMPLE HAEMOLYSED",
    "INSUFFICIENT SAMPLE",
    "SAMPLE NOT RECEIVED BY LAB",
    "SAMPLE CLOTTED",
)
CODES = [t.code for t in TESTS]


def _planned(ctx: SynthContext, visits: pd.DataFrame, sidx: np.ndarray) -> np.ndarray:
    """Boolean matrix (visit row x catalogue test): the test is drawn at that visit."""
    column = {code: j for j, code in enumerate(CODES)}
    planned = np.zeros((len(visits), len(CODES)), dtype=bool)
    visit = visits["VISIT"].to_numpy()
    indicat = ctx.subjects["INDICAT"].to_numpy()[sidx]
    sex = ctx.subjects["SEX"].to_numpy()[sidx]
    for panel, tests in PANELS.items():
        drawn = np.isin(visit, [v for v, panels in VISIT_PANELS.items() if panel in panels])
        if panel in PANEL_INDICATIONS:
            drawn &= np.isin(indicat, PANEL_INDICATIONS[panel])
        if panel in PANEL_SEX:
            drawn &= sex == PANEL_SEX[panel]
        for code in tests:
            planned[:, column[code]] |= drawn
    return planned


def _reference_ranges(ti: np.ndarray, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collected reference range of each row (male range where the catalogue has one)."""

    def limits(female: str, male_: str) -> np.ndarray:
        table = np.array(
            [[getattr(t, female), getattr(t, male_) or getattr(t, female)] for t in TESTS], dtype=float
        )
        return table[ti, male.astype(int)]

    return limits("low", "low_m"), limits("high", "high_m")


def _results(
    ctx: SynthContext, visits: pd.DataFrame, sidx: np.ndarray, vi: np.ndarray, ti: np.ndarray
) -> tuple[Coded, Coded, np.ndarray, np.ndarray, np.ndarray]:
    """Collected result of each (visit row ``vi``, test ``ti``) in the site's own unit where the site
    reports another one: result text, unit, reference range low and high, LLOQ."""
    values = lab_values(ctx, sidx, visits["DAY"].to_numpy())
    value = np.column_stack([values[code] for code in CODES])[vi, ti]
    sites, site_of_visit = np.unique(visits["SITEID"].to_numpy(), return_inverse=True)
    site = site_of_visit[vi]
    low, high = _reference_ranges(ti, ctx.subjects["SEX"].to_numpy()[sidx][vi] == "M")
    units = list(
        dict.fromkeys([t.unit for t in TESTS] + [c[2] for conv in SITE_UNITS.values() for c in conv])
    )
    unit = np.array([units.index(t.unit) for t in TESTS])[ti]
    decimals = np.array([t.decimals for t in TESTS])[ti]
    for code, steps in MAGNITUDE_DECIMALS.items():
        rows = ti == CODES.index(code)
        decimals[rows] = decimals_by_magnitude(value[rows], steps, decimals[rows])
    for site_id, conversions in SITE_UNITS.items():
        if site_id not in sites:
            continue
        at_site = site == np.searchsorted(sites, site_id)
        for code, factor, site_unit, site_decimals in conversions:
            rows = at_site & (ti == CODES.index(code))
            value[rows] *= factor
            low[rows] = np.round(low[rows] * factor, site_decimals)
            high[rows] = np.round(high[rows] * factor, site_decimals)
            unit[rows] = units.index(site_unit)
            decimals[rows] = site_decimals
    lloq = np.array([np.nan if t.lloq is None else t.lloq for t in TESTS])[ti]
    orres, _ = result_codes(value, decimals, lloq)
    return orres, Coded(np.array(units, dtype=object), unit), low, high, lloq


def _record_order(visits: pd.DataFrame, vi: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Permutation putting records in the form's order (subject, date, time, then as generated), so
    the finishing sort finds them already in place on forms of millions of rows."""
    time = np.where(minutes < 0, 24 * 60, minutes)
    keys = pd.DataFrame({"S": visits["SITEID"], "U": visits["SUBJID"], "D": visits["VISDT"], "T": time})
    visit_rank = np.empty(len(visits), dtype=np.int64)
    visit_rank[keys.sort_values(["S", "U", "D", "T"], kind="mergesort").index.to_numpy()] = np.arange(
        len(visits)
    )
    return np.argsort(visit_rank[vi], kind="stable")  # records arrive almost sorted: a linear-time merge


def make_lab(ctx: SynthContext) -> pd.DataFrame:
    """The ``lab`` form (see the module docstring)."""
    rng = ctx.rng("lab")
    sampled = sampled_visits(ctx)
    visits = ctx.visits[sampled].reset_index(drop=True)
    outpatient = visits["NOMDAY"].to_numpy() >= 60
    no_time = outpatient & (rng.uniform(size=len(visits)) < P_NO_TIME)
    minutes = np.where(no_time, -1, sample_minutes(ctx)[sampled])
    sidx = subject_index(ctx.subjects, visits)
    vi, ti = np.nonzero(_planned(ctx, visits, sidx))
    n = len(vi)
    orres, unit, low, high, lloq = _results(ctx, visits, sidx, vi, ti)
    not_done = rng.uniform(size=n) < P_NOT_DONE
    orres.codes[not_done] = unit.codes[not_done] = -1
    low[not_done] = high[not_done] = lloq[not_done] = np.nan
    reason = Coded(
        np.array(NOT_DONE_REASONS, dtype=object),
        np.where(not_done, rng.integers(0, len(NOT_DONE_REASONS), n), -1),
    )

    repeats = np.flatnonzero(rng.uniform(size=n) < P_REPEAT)
    if not len(repeats):
        repeats = rng.integers(0, n, 1)
    rows = np.concatenate([np.arange(n), repeats])
    rows = rows[_record_order(visits, vi[rows], minutes)]
    vi, ti = vi[rows], ti[rows]

    category = np.array([t.category for t in TESTS], dtype=object)
    chemistry = (category == "CHEMISTRY")[ti]
    pre_treatment = visits["VISIT"].isin(["SCREENING", "BASELINE"]).to_numpy()[vi]
    sites = np.unique(visits["SITEID"].to_numpy())
    site_code = np.searchsorted(sites, visits["SITEID"].to_numpy())
    central = np.array([t.central for t in TESTS])[ti]
    frame = pd.DataFrame(
        {
            "SITEID": text_take(visits["SITEID"].to_numpy(), vi),
            "SUBJID": text_take(visits["SUBJID"].to_numpy(), vi),
            "VISIT": text_take(visits["VISIT"].to_numpy(), vi),
            "LBDT": text_take(iso_dates(visits["VISDT"]), vi),
            "LBTM": text_take(hhmm(minutes), vi),
            "LBCAT": text_take(category, ti),
            "LBTESTCD": text_take(np.array(CODES, dtype=object), ti),
            "ORRES": orres.column(rows),
            "ORRESU": unit.column(rows),
            "ORNRLO": low[rows],
            "ORNRHI": high[rows],
            "LLOQ": lloq[rows],
            "SPEC": text_take(np.array([t.specimen for t in TESTS], dtype=object), ti),
            "FAST": text_take(
                np.array([None, "Y", "N"], dtype=object),
                np.where(chemistry, np.where(pre_treatment, 1, 2), 0),
            ),
            "LABNAME": text_take(
                np.array([CENTRAL_LAB, *(LOCAL_LAB.format(site=s) for s in sites)], dtype=object),
                np.where(central, 0, 1 + site_code[vi]),
            ),
            "NOTDONE_RS": reason.column(rows),
        }
    )
    return finish_form(frame, raw_forms()["lab"], ctx.study, sort_by=["LBDT", "LBTM"])


GENERATORS: dict[str, Callable[[SynthContext], pd.DataFrame]] = {
    "lab": make_lab,
    "cartpk": make_cartpk,
    "flow": make_flow,
    "autoab": make_autoab,
}
